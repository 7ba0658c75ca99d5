"""A fresh random DeepFloyd IF-shaped UNet made by diffusers, run through `darkroom forward`, compared with PyTorch.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/reference/check_if_forward.py --widths 32 64 96 128 --cross 64 --encoder 4096 --batch 2 --size 32 --seed 11
Prints the largest absolute difference; exits non-zero above --tolerance (1e-4).
"""
import argparse
import os
import subprocess
import sys
import tempfile

from safetensors.torch import save_file

from if_unet import forward, if_config, parameter_count, random_inputs, random_unet, save_unet

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 96, 128])
    p.add_argument("--cross", type=int, default=64, help="cross_attention_dim D (a multiple of 32)")
    p.add_argument("--encoder", type=int, default=4096, help="encoder_hid_dim E")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=32)
    p.add_argument("--groups", type=int, default=32)
    p.add_argument("--pool-heads", type=int, default=64)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", type=int, nargs="+", default=[32])
    p.add_argument("--fp16", action="store_true")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args()
    h, w = (args.size * 2)[:2]
    config = if_config(args.widths, args.cross, args.encoder, layers=args.layers, head_dim=args.head_dim,
                       groups=args.groups, pool_heads=args.pool_heads, sample_size=h)
    model = random_unet(config, seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        save_unet(model, folder, fp16=args.fp16)
        inputs = random_inputs(args.batch, h, w, args.encoder, seed=args.seed + 1)
        out = forward(model, inputs)
        io = os.path.join(folder, "io.safetensors")
        save_file({**{k: v.contiguous() for k, v in inputs.items()}, "out": out.contiguous()}, io)
        print(f"model: {parameter_count(model):,} parameters, widths {args.widths}, D={args.cross}, E={args.encoder}, "
              f"batch {args.batch}, {h}x{w}{', fp16 weights' if args.fp16 else ''}")
        darkroom = os.path.join(ROOT, ".build", "release", "darkroom")
        result = subprocess.run([darkroom, "forward", "--model", folder, "--input", io, "--output",
                                 os.path.join(folder, "ours.safetensors"), "--expect", io, "--tolerance", str(args.tolerance)],
                                capture_output=True, text=True)
        print(result.stdout.strip() or result.stderr.strip())
        sys.exit(result.returncode)


if __name__ == "__main__":
    main()
