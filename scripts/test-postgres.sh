#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for Darkroom's tests: its own folder, port and socket, run as a non-root user.
#   test-postgres.sh start DIR [PORT]   initdb into DIR/data, start, print the admin URL (postgresql://darkroom@127.0.0.1:PORT/postgres)
#   test-postgres.sh restart DIR        restart it (the process tests do this mid-run)
#   test-postgres.sh stop DIR           stop it (DIR stays; remove it yourself)
#   test-postgres.sh up DIR             start it again after a stop (the outage tests)
# Local and 127.0.0.1 connections are trusted; other addresses (a test host in a network namespace) must log in with a
# scram-sha-256 password, which `start` sets for the role darkroom to "darkroom-test" and prints on stderr.
set -euo pipefail
cmd=${1:?start, restart or stop}
dir=${2:?the cluster folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "test-postgres: PostgreSQL's server is not installed (apt-get install postgresql)" >&2; exit 1; }
# The server must not inherit the caller's descriptors (a test runner's output pipe would then never reach its end).
for fd in $(ls /proc/$$/fd); do
  if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U darkroom --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >"$dir/initdb.log" 2>&1
    # TLS with a self-signed certificate, so that sslmode=require can be tested (plain connections still work).
    if command -v openssl >/dev/null 2>&1; then
      openssl req -new -x509 -days 7 -nodes -subj /CN=localhost -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >/dev/null 2>&1
      chmod 0600 "$dir/data/server.key"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/data/server.key" "$dir/data/server.crt"
      echo "ssl = on" >>"$dir/data/postgresql.conf"
    fi
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '*'
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
    # 127.0.0.1 is trusted like the socket; any other address needs the password.
    sed -i '0,/^host/s//host    all             all             127.0.0.1\/32            trust\nhost/' "$dir/data/pg_hba.conf"
    echo "host    all             all             0.0.0.0/0               scram-sha-256" >>"$dir/data/pg_hba.conf"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    as_owner "$bin/psql" -h "$dir" -p "$port" -U darkroom -d postgres -q -c "ALTER ROLE darkroom PASSWORD 'darkroom-test'" >/dev/null
    echo "$port" >"$dir/port"
    echo "test-postgres: cluster in $dir on port $port (password for other hosts: darkroom-test)" >&2
    echo "postgresql://darkroom@127.0.0.1:$port/postgres"
    ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast restart >/dev/null
    ;;
  up)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null || true
    ;;
  *) echo "test-postgres: unknown command $cmd (start, restart, stop, up)" >&2; exit 2 ;;
esac
