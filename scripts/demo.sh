#!/usr/bin/env bash
# The main job on a fresh Debian machine with Swift: install packages, build, run the example.
# (Until the trained default model ships, the example is one forward pass of a small UNet checked
# against the PyTorch output committed beside it.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
mkdir -p gallery
.build/release/darkroom forward --model examples/forward/model \
  --input examples/forward/input.safetensors --output gallery/forward-out.safetensors \
  --expect examples/forward/expected.safetensors
