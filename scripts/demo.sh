#!/usr/bin/env bash
# The main job on a fresh Debian machine with Swift: install packages, build, drop every example job
# (examples/inbox: one per edit mode) into inbox/, and let the daemon process them once on the shipped
# default model. Results land in gallery/jobs/<id>/; `darkroom status` lists the jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
mkdir -p inbox
cp examples/inbox/* inbox/
.build/release/darkroom watch --once --config config.json
.build/release/darkroom status --config config.json --limit 20
echo
echo "gallery: file://$(pwd)/gallery/index.html (job folders: gallery/jobs/<id>/ with the result PNGs, comparison.png, progress.gif)"
