#!/usr/bin/env bash
# The main job on a fresh Debian machine with Swift: install packages, build, then run every example job
# (examples/inbox: one sidecar per edit mode) on the shipped default model and write the results to gallery/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
mkdir -p gallery/runs
status=0
for sidecar in examples/inbox/*.json; do
  name=$(basename "$sidecar" .json)
  echo "== $name"
  if ! .build/release/darkroom run "$sidecar" --config config.json --out "gallery/runs/$name" > "gallery/runs/$name.json"; then
    status=1
  fi
  grep -E '"(status|error)"' "gallery/runs/$name.json" | tr -d ' ,'
done
echo
echo "results: $(pwd)/gallery/runs/<job>/ (result PNGs, comparison.png, progress.gif); summaries in gallery/runs/<job>.json"
exit $status
