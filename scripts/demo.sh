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
# Plain files, no sidecar: each preset folder of config.json gives them its fields (`darkroom presets` lists them).
mkdir -p inbox/ladder inbox/hand-drawn inbox/inpaint-dress inbox/anagram inbox/hybrid
cp examples/inbox/sdedit-pullover.png inbox/ladder/pullover.png
cp examples/inbox/sdedit-sketch.png inbox/hand-drawn/sketch.png
cp examples/inbox/inpaint-tshirt.png inbox/inpaint-dress/tshirt.png
cp examples/inbox/inpaint-tshirt-mask.png inbox/inpaint-dress/tshirt.mask.png
cp examples/presets/anagram/prompts.txt inbox/anagram/
cp examples/presets/hybrid/prompts.txt inbox/hybrid/
.build/release/darkroom watch --once --config config.json
.build/release/darkroom status --config config.json --limit 20
echo
echo "gallery: file://$(pwd)/gallery/index.html (job folders: gallery/jobs/<id>/ with the result PNGs, comparison.png, progress.gif)"
