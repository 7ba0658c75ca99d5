#!/usr/bin/env bash
# Installs the Debian packages Darkroom builds against, when any is missing. Safe to run repeatedly.
set -euo pipefail
# postgresql and iproute2: the tests' throwaway PostgreSQL cluster and their second host in a network namespace;
# qemu-user: the process test that runs darkroom as an older CPU (Nehalem, Haswell) would; faketime: the one that gives
# a worker a clock two minutes fast.
packages=(libopenblas-dev libdnnl-dev libpng-dev libgif-dev libjpeg62-turbo-dev zlib1g-dev libsqlite3-dev dataset-fashion-mnist postgresql iproute2 qemu-user faketime rsync)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present (${packages[*]})"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
