"""A fresh random DeepFloyd IF-shaped UNet made by diffusers, run through `darkroom forward`, compared with PyTorch.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/reference/check_if_forward.py --widths 32 64 96 128 --cross 64 --encoder 4096 --batch 2 --size 32 --seed 11
    python3 scripts/reference/check_if_forward.py --stage 2 --widths 32 32 64 64 96 --layers 1 2 1 2 3 --size 64 48
Stage 2 makes a stage II UNet (six input channels, the noise level as class label, per-level layers, attention in the
last two levels, resnet outputs scaled).
Prints the largest absolute difference; exits non-zero above --tolerance (1e-4).
"""
import argparse
import os
import subprocess
import sys
import tempfile

from safetensors.torch import save_file

from if_unet import forward, if2_config, if_config, parameter_count, random_inputs, random_unet, save_unet

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 96, 128])
    p.add_argument("--cross", type=int, default=64, help="cross_attention_dim D (a multiple of 32)")
    p.add_argument("--encoder", type=int, default=4096, help="encoder_hid_dim E")
    p.add_argument("--stage", type=int, choices=[1, 2], default=1)
    p.add_argument("--layers", type=int, nargs="+", default=[2], help="one count, or (stage 2) one per level")
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
    if args.stage == 1:
        config = if_config(args.widths, args.cross, args.encoder, layers=args.layers[0], head_dim=args.head_dim,
                           groups=args.groups, pool_heads=args.pool_heads, sample_size=h)
    else:
        layers = args.layers * len(args.widths) if len(args.layers) == 1 else args.layers
        config = if2_config(args.widths, args.cross, args.encoder, layers=layers, head_dim=args.head_dim,
                            groups=args.groups, pool_heads=args.pool_heads, sample_size=h)
    model = random_unet(config, seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        save_unet(model, folder, fp16=args.fp16)
        inputs = random_inputs(args.batch, h, w, args.encoder, seed=args.seed + 1, channels=config["in_channels"],
                               class_labels=args.stage == 2)
        out = forward(model, inputs)
        io = os.path.join(folder, "io.safetensors")
        save_file({**{k: v.contiguous() for k, v in inputs.items()}, "out": out.contiguous()}, io)
        print(f"stage {args.stage} model: {parameter_count(model):,} parameters, widths {args.widths}, D={args.cross}, E={args.encoder}, "
              f"batch {args.batch}, {h}x{w}{', fp16 weights' if args.fp16 else ''}")
        darkroom = os.path.join(ROOT, ".build", "release", "darkroom")
        result = subprocess.run([darkroom, "forward", "--model", folder, "--input", io, "--output",
                                 os.path.join(folder, "ours.safetensors"), "--expect", io, "--tolerance", str(args.tolerance)],
                                capture_output=True, text=True)
        print(result.stdout.strip() or result.stderr.strip())
        sys.exit(result.returncode)


if __name__ == "__main__":
    main()
