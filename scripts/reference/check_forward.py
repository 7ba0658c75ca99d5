"""Builds a fresh random small UNet in PyTorch, runs it through `darkroom forward`, and compares the outputs.

Usage (repository root, after `swift build -c release`):
    python3 scripts/reference/check_forward.py --hidden 12 --classes 3 --channels 3 --batch 5 [--seed 7] [--keep DIR]
Prints the max absolute difference and exits non-zero above --tolerance (default 1e-4).
With --keep DIR the checkpoint (DIR/model), input.safetensors and expected.safetensors stay in DIR.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
import tiny_unet  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=12)
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--batch", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--keep", help="folder to keep the model and tensors in")
    p.add_argument("--darkroom", default=".build/release/darkroom")
    a = p.parse_args()

    g = torch.Generator().manual_seed(a.seed)
    model = tiny_unet.TinyUNet(a.channels, a.hidden, a.classes)
    tiny_unet.randomize(model, g)
    model.eval()
    folder = a.keep or tempfile.mkdtemp(prefix="darkroom-check-")
    os.makedirs(folder, exist_ok=True)
    tiny_unet.save_checkpoint(model, tiny_unet.config_for(a.channels, a.hidden, a.classes), os.path.join(folder, "model"))
    inputs = tiny_unet.random_inputs(a.batch, a.channels, a.classes, g)
    save_file(inputs, os.path.join(folder, "input.safetensors"))
    with torch.no_grad():
        expected = model(inputs["x"], inputs["t"], inputs.get("c"))
    save_file({"out": expected}, os.path.join(folder, "expected.safetensors"))

    out_path = os.path.join(folder, "output.safetensors")
    subprocess.run([a.darkroom, "forward", "--model", os.path.join(folder, "model"),
                    "--input", os.path.join(folder, "input.safetensors"), "--output", out_path], check=True)
    ours = load_file(out_path)["out"]
    diff = (ours - expected).abs().max().item()
    print(f"D={a.hidden} K={a.classes} C={a.channels} B={a.batch}: max |darkroom - pytorch| = {diff:.3g}")
    if not a.keep:
        os.remove(out_path)
    sys.exit(0 if diff <= a.tolerance else 1)


if __name__ == "__main__":
    main()
