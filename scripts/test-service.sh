#!/usr/bin/env bash
# First installs dist/darkroom_*.deb into a plain chroot of that root (no /proc, no systemd: as a bare chroot or an image
# build step may), which must leave it configured, its user made and its unit enabled.
# Proof under a real systemd: boots a bare Debian bookworm (debootstrap minbase + systemd) with systemd-nspawn, installs
# dist/darkroom_*.deb with apt-get and checks, inside: the service is active (Type=notify reached READY) and runs a
# dropped job; StatusText names a running job and its step; after kill -9 systemd restarts it and the interrupted
# job completes exactly once; a SIGSTOPped daemon is killed by the watchdog and restarted; `systemctl stop` exits
# cleanly within the timeout; `systemd-analyze security` scores the unit at most 2.0; a preset folder takes a photo
# alone; a webhook target stops watch at start under the strict unit (naming the drop-in) and, with the shipped
# drop-in, receives a job's end from inside the container (python3 on the host plays the receiver).
#
# Needs root, debootstrap, systemd-container and network access to the Debian mirror (or a cached root).
# The root is cached in $DARKROOM_TEST_CACHE (default /var/cache/darkroom-test); each run boots a fresh copy.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${DARKROOM_TEST_CACHE:-/var/cache/darkroom-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
current="setup"
work=""
nspawn_pid=""
leader=""
fail() { echo "test-service: FAILED at step '$current': $*" >&2; exit 1; }
step() { current="$1"; echo "test-service: $1"; }
cleanup() {
    if [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null; then
        nsenter -t "$leader" -a systemctl poweroff >/dev/null 2>&1 || true
        for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    fi
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then kill -9 "$nspawn_pid" 2>/dev/null || true; fi
    if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap 'status=$?; if [ $status -ne 0 ]; then echo "test-service: FAILED at step '"'"'$current'"'"' (command: $BASH_COMMAND, status $status)" >&2; fi; cleanup' EXIT

[ "$(id -u)" -eq 0 ] || fail "needs root (systemd-nspawn boots a container)"
for tool in debootstrap systemd-nspawn nsenter; do command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install debootstrap systemd-container)"; done
deb=$(ls -t dist/darkroom_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || fail "no dist/darkroom_*.deb: run bash scripts/build-deb.sh first"

work=$(mktemp -d /var/tmp/darkroom-service-test.XXXXXX)

step "a bare Debian bookworm root (debootstrap --variant=minbase, cached in $cache)"
if [ ! -x "$cache/bookworm/lib/systemd/systemd" ]; then
    mkdir -p "$cache"
    rm -rf "$cache/bookworm.partial"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$cache/bookworm.partial" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap could not build the root (network or mirror $mirror?)"; }
    mv "$cache/bookworm.partial" "$cache/bookworm"
fi

step "install into a plain chroot (no /proc, no systemd), as a bare image-build step may"
cp -a "$cache/bookworm" "$work/chroot"
cp "$deb" "$work/chroot/root/"
cp /etc/resolv.conf "$work/chroot/etc/resolv.conf" 2>/dev/null || true
[ ! -e "$work/chroot/proc/self" ] || fail "the chroot has a /proc"
in_chroot() { chroot "$work/chroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
in_chroot apt-get update -q >"$work/chroot-apt.log" 2>&1 || { tail -5 "$work/chroot-apt.log" >&2; fail "apt-get update failed in the chroot (network?)"; }
in_chroot apt-get install -y -q "/root/$(basename "$deb")" >>"$work/chroot-apt.log" 2>&1 \
    || { tail -20 "$work/chroot-apt.log" >&2; fail "apt-get install of the package failed in a chroot without /proc"; }
[ "$(in_chroot dpkg-query -W -f='${Status}' darkroom)" = "install ok installed" ] \
    || { tail -20 "$work/chroot-apt.log" >&2; fail "dpkg left darkroom unconfigured in the chroot: $(in_chroot dpkg-query -W -f='${Status}' darkroom)"; }
in_chroot getent passwd darkroom >/dev/null || fail "the chroot install created no darkroom user"
# Either tmpfiles could not run (and postinst said the folders come at first boot) or it made them.
grep "created at first boot" "$work/chroot-apt.log" >/dev/null || [ -d "$work/chroot/srv/darkroom/inbox" ] \
    || { tail -20 "$work/chroot-apt.log" >&2; fail "postinst neither made the folders nor said they come at first boot"; }
[ -L "$work/chroot/etc/systemd/system/multi-user.target.wants/darkroom.service" ] || fail "the chroot install did not enable darkroom.service"
rm -rf "$work/chroot"

cp -a "$cache/bookworm" "$work/root"
cp "$deb" "$work/root/root/"
echo "darkroom-test" > "$work/root/etc/hostname"

step "boot it with systemd-nspawn --boot"
systemd-nspawn -D "$work/root" --boot --register=no --keep-unit -M darkroom-test >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!
# The container's init is nspawn's child once it has exec'd systemd (before that it is nspawn setting up).
for _ in $(seq 300); do
    leader=$(pgrep -P "$nspawn_pid" | head -1 || true)
    if [ -n "$leader" ] && [ "$(cat /proc/"$leader"/comm 2>/dev/null)" = systemd ]; then break; fi
    leader=""
    kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/nspawn.log" >&2; fail "systemd-nspawn exited"; }
    sleep 0.1
done
[ -n "$leader" ] || { tail -20 "$work/nspawn.log" >&2; fail "no systemd appeared as the container's init under systemd-nspawn (pid $nspawn_pid)"; }
inside() { nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# Until its bus is up systemctl cannot even ask; then is-system-running says starting, and at last running.
state=""
for _ in $(seq 240); do
    state=$(inside systemctl is-system-running 2>"$work/boot.err" || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.5
done
case "$state" in
    running) ;;
    degraded) echo "test-service: note: the container is degraded: $(inside systemctl --failed --no-legend --plain | awk '{print $1}' | paste -sd' ')" ;;
    *) cat "$work/boot.err" >&2; tail -20 "$work/nspawn.log" >&2; fail "the container's systemd did not finish booting (is-system-running: '$state')" ;;
esac

step "apt-get install ./$(basename "$deb") on the bare system"
inside apt-get update -q >"$work/apt.log" 2>&1 || { tail -5 "$work/apt.log" >&2; fail "apt-get update failed inside the container (network?)"; }
start=$(date +%s%N)
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/root/$(basename "$deb")" >>"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; fail "apt-get install of the package failed"; }
install_seconds=$(awk -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%.1f", ns / 1e9 }')

status() { inside runuser -u darkroom -- darkroom status --config /etc/darkroom/config.json --limit 100 "$@"; }
show() { inside systemctl show -p "$1" --value darkroom.service; }
wait_for() {  # seconds, description, command...
    local seconds=$1 what=$2; shift 2
    for _ in $(seq $((seconds * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    inside systemctl status darkroom.service --no-pager -l >&2 || true
    inside journalctl -u darkroom.service --no-pager -n 30 >&2 || true
    fail "timed out after ${seconds}s waiting for $what"
}
drop() {  # name, json: written under a dot name and renamed, as a careful copy does
    inside sh -c "printf '%s' '$2' > /srv/darkroom/inbox/.$1.part && mv /srv/darkroom/inbox/.$1.part /srv/darkroom/inbox/$1"
}
done_count() { status | tail -1 | sed -n 's/.*done \([0-9]*\).*/\1/p'; }
done_is() { [ "$(done_count)" = "$1" ]; }
restarted_since() { [ "$(show NRestarts)" -gt "$1" ] && inside systemctl is-active --quiet darkroom.service; }

step "the service is active (Type=notify reached READY) with no other step"
wait_for 30 "darkroom.service to be active" inside systemctl is-active --quiet darkroom.service
[ "$(show Type)" = notify ] || fail "the unit is not Type=notify"
[ "$(show SubState)" = running ] || fail "darkroom.service is $(show SubState), not running"

step "a dropped job completes"
drop one.json '{"prompt": "a photo of a sneaker", "count": 2, "seed": 1}'
wait_for 120 "job one to be done" done_is 1
inside test -f /srv/darkroom/gallery/jobs/1/result-1.png || fail "job 1 has no result-1.png"
inside test -f /srv/darkroom/gallery/index.html || fail "no gallery index"
# Under the unit's sandbox oneDNN's JIT may run (no MemoryDenyWriteExecute): the daemon's start line names its version.
inside journalctl -u darkroom.service --no-pager | grep -E "oneDNN [0-9]+\.[0-9]+\.[0-9]+ \(" >/dev/null \
    || { inside journalctl -u darkroom.service --no-pager | grep -i "onednn" >&2; fail "the daemon did not load oneDNN under the unit"; }

step "while a long job runs, StatusText names the job and its step"
drop long.json '{"prompt": "a bag", "count": 20, "seed": 2}'
for _ in $(seq 240); do
    text=$(show StatusText)
    case "$text" in *"job 2 'long'"*step*) break ;; esac
    sleep 0.25
done
case "$text" in *"job 2 'long'"*step*) echo "test-service: StatusText: $text" ;; *) fail "StatusText never named job 2 and its step (last: '$text')" ;; esac

step "kill -9 of the main PID: systemd restarts it and the job completes exactly once"
restarts=$(show NRestarts)
main=$(show MainPID)
inside sh -c "kill -9 $main"   # the shell's own kill: minbase has no procps
wait_for 30 "a restart after kill -9" restarted_since "$restarts"
wait_for 240 "job 2 to be done after the restart" done_is 2
json=$(status --json)
echo "$json" | tr -d ' \n' | grep '"attempts":2,' >/dev/null || fail "job 2 did not run a second time after the kill (status: $json)"
[ "$(inside sh -c 'ls /srv/darkroom/gallery/jobs/2/ | grep -c "^result-"')" = 20 ] || fail "job 2 does not have exactly its 20 results"
[ "$(status | tail -1 | sed -n 's/^queued \([0-9]*\), running \([0-9]*\), done \([0-9]*\).*/\1 \2 \3/p')" = "0 0 2" ] || fail "expected 2 jobs done and none queued or running: $(status | tail -1)"

step "SIGSTOP: the watchdog kills and restarts it"
restarts=$(show NRestarts)
main=$(show MainPID)
inside sh -c "kill -STOP $main"
wait_for 90 "the watchdog to restart the stopped daemon" restarted_since "$restarts"
# (grep without -q reads everything: an early exit would break the pipe under pipefail)
watchdog_fired() { inside journalctl -u darkroom.service --no-pager | grep -i "watchdog timeout" >/dev/null; }
for _ in $(seq 40); do watchdog_fired && break; sleep 0.25; done
watchdog_fired || { inside journalctl -u darkroom.service --no-pager -n 40 >&2; fail "the restart was not the watchdog's (no 'Watchdog timeout' in the journal)"; }
[ "$(show MainPID)" != "$main" ] || fail "the main PID did not change"

step "systemctl stop during a job: STOPPING, the job back in the queue, a clean exit within the timeout"
running_is() { status | tail -1 | grep "running $1," >/dev/null; }
drop third.json '{"prompt": "a coat", "count": 20, "seed": 3}'
wait_for 60 "job 3 to run" running_is 1
start=$(date +%s%N)
inside systemctl stop darkroom.service
stop_seconds=$(awk -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%.1f", ns / 1e9 }')
[ "$(show Result)" = success ] || fail "the service stopped with Result=$(show Result)"
[ "$(show ExecMainStatus)" = 0 ] || fail "the daemon exited with status $(show ExecMainStatus)"
inside journalctl -u darkroom.service --no-pager | grep "stopping: finishing or returning the running job" >/dev/null || fail "no STOPPING line in the journal"
status | tail -1 | grep "^queued 1, running 0" >/dev/null || fail "the interrupted job did not return to the queue: $(status | tail -1)"

step "systemd-analyze security darkroom.service"
exposure=$(inside systemd-analyze security darkroom.service --no-pager 2>/dev/null | sed -n 's/.*Overall exposure level for darkroom.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze printed no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure is above 2.0"

step "a worker unit (darkroom-worker@1) runs the queued job; the daemon writes its files when it starts again"
inside sh -c 'echo "{\"database\": \"/var/lib/darkroom/darkroom.sqlite\", \"models\": {\"fashion\": \"/usr/share/darkroom/models/fashion-mnist\"}}" > /etc/darkroom/worker.json'
inside systemctl start darkroom-worker@1.service
wait_for 30 "darkroom-worker@1 to be active" inside systemctl is-active --quiet darkroom-worker@1.service
[ "$(inside systemctl show -p Type --value darkroom-worker@1.service)" = notify ] || fail "the worker unit is not Type=notify"
wait_for 240 "job 3 to be done by the worker" done_is 3
status --json | tr -d ' \n' | grep '"worker":"[^"]*1"' >/dev/null || fail "job 3 was not run by worker 1: $(status --json | head -c 600)"
inside systemctl stop darkroom-worker@1.service
[ "$(inside systemctl show -p Result --value darkroom-worker@1.service)" = success ] || fail "the worker stopped with Result=$(inside systemctl show -p Result --value darkroom-worker@1.service)"
inside systemctl start darkroom.service
wait_for 60 "job 3's results in the gallery" inside test -f /srv/darkroom/gallery/jobs/3/result-20.png

step "a photo dropped alone into a shipped preset folder (inbox/ladder/) becomes a job with the preset's fields"
inside test -d /srv/darkroom/inbox/ladder || fail "watch did not create inbox/ladder/ for the shipped preset"
inside sh -c "cp /srv/darkroom/gallery/jobs/1/result-1.png /srv/darkroom/inbox/ladder/.coat.png.part && mv /srv/darkroom/inbox/ladder/.coat.png.part /srv/darkroom/inbox/ladder/coat.png"
wait_for 240 "the preset's job to be done" done_is 4
inside grep '<h1>#4 coat ' /srv/darkroom/gallery/jobs/4/index.html >/dev/null || fail "job 4 is not 'coat'"
inside grep '<th>preset</th><td>ladder</td>' /srv/darkroom/gallery/jobs/4/index.html >/dev/null || fail "job 4's page does not name preset 'ladder'"
[ "$(inside sh -c 'ls /srv/darkroom/gallery/jobs/4/ | grep -c "^result-"')" = 6 ] || fail "the ladder preset's job does not have its 6 results"

step "notices: under the strict unit a URL target stops watch at start, naming the drop-in"
receiver_pid=""
stop_receiver() { if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null || true; fi; }
trap 'status=$?; stop_receiver; if [ $status -ne 0 ]; then echo "test-service: FAILED at step '"'"'$current'"'"' (command: $BASH_COMMAND, status $status)" >&2; fi; cleanup' EXIT
command -v python3 >/dev/null || fail "python3 is needed on the host for the webhook receiver"
# The receiver runs on the host's loopback, which the container shares (no --private-network): one line per POST.
python3 - "$work/hook.port" "$work/hook.log" <<'PY' &
import http.server, json, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"key": self.headers.get("Idempotency-Key"), "event": json.loads(body)}) + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
open(sys.argv[1], "w").write(str(server.server_port))
server.serve_forever()
PY
receiver_pid=$!
for _ in $(seq 40); do [ -s "$work/hook.port" ] && break; sleep 0.25; done
port=$(cat "$work/hook.port")
inside sed -i "0,/{/s//{\"notify\": [{\"url\": \"http:\/\/127.0.0.1:$port\/hook\", \"on\": [\"done\"]}],/" /etc/darkroom/config.json
inside grep '"notify"' /etc/darkroom/config.json >/dev/null || fail "could not add a notify target to config.json"
inside systemctl restart darkroom.service 2>/dev/null || true   # fails, as it should: the journal says why
names_dropin() { inside journalctl -u darkroom.service --no-pager | grep "darkroom.service.d-notify.conf" >/dev/null; }
wait_for 30 "watch to say which drop-in to install" names_dropin
inside systemctl stop darkroom.service
inside systemctl reset-failed darkroom.service 2>/dev/null || true

step "notices: with the shipped drop-in, a job's end is posted to the webhook from inside the container"
inside install -D -m 0644 /usr/share/doc/darkroom/examples/darkroom.service.d-notify.conf /etc/systemd/system/darkroom.service.d/notify.conf
inside systemctl daemon-reload
inside systemctl start darkroom.service
wait_for 30 "darkroom.service to be active with the drop-in" inside systemctl is-active --quiet darkroom.service
drop fifth.json '{"prompt": "a dress", "count": 2, "seed": 5}'
wait_for 240 "job 5 to be done" done_is 5
hook_has_job5() { grep '"event": "job.done"' "$work/hook.log" | grep '"id": 5,' >/dev/null; }
wait_for 60 "the webhook to receive job 5's job.done" hook_has_job5
[ "$(grep -c . "$work/hook.log")" = 1 ] || fail "expected one POST (job 5's; jobs before the target was added are not sent): $(cat "$work/hook.log")"
grep '"outputs": \["jobs/5/result-1.png"' "$work/hook.log" >/dev/null || fail "the event does not list job 5's results: $(cat "$work/hook.log")"
key=$(sed -n 's/.*"key": "\([0-9a-f]*\)".*/\1/p' "$work/hook.log")
grep "\"event_id\": \"$key\"" "$work/hook.log" >/dev/null || fail "the Idempotency-Key is not the event_id: $(cat "$work/hook.log")"
inside runuser -u darkroom -- darkroom status --notices --config /etc/darkroom/config.json | grep "notices: 0 pending, 0 failed" >/dev/null \
    || fail "status --notices shows deliveries left: $(inside runuser -u darkroom -- darkroom status --notices --config /etc/darkroom/config.json)"
stop_receiver

echo "test-service: passed: package $(du -h "$deb" | cut -f1), installed in ${install_seconds}s, stopped in ${stop_seconds}s, exposure $exposure"
