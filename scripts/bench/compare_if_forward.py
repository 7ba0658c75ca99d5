"""DeepFloyd IF stage I UNet forward: Darkroom beside PyTorch CPU on an IF-I-M-sized model with random weights.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/bench/compare_if_forward.py [--threads 2] [--batch 1 2] [--fp16] [--profile]

The model (block widths [192, 384, 576, 768], cross-attention 768, E = 4096, 372 M parameters) is made once by
diffusers with PyTorch's default initialisation and saved under --cache (a temporary folder). PyTorch and Darkroom
then run in separate processes, so each peak RSS is its own. Also checks Darkroom's output against PyTorch's on
the same input through `darkroom forward --expect`. Prints per batch size both times, the ratio
(Darkroom time / PyTorch time: below 1 means Darkroom is faster) and the peak RSS of each.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))


def make_model(args):
    import torch
    from safetensors.torch import save_file
    from if_unet import forward, if_config, parameter_count, random_inputs, random_unet, save_unet

    c = args.width
    config = if_config([c, 2 * c, 3 * c, 4 * c], 4 * c, 4096)
    model = random_unet(config, seed=7, spread_norms=False)
    save_unet(model, args.cache, fp16=args.fp16)
    inputs = random_inputs(1, 64, 64, 4096, seed=8)
    torch.set_num_threads(args.threads)
    out = forward(model, inputs)
    save_file({**{k: v.contiguous() for k, v in inputs.items()}, "out": out.contiguous()}, os.path.join(args.cache, "io.safetensors"))
    print(f"made an IF-shaped UNet with {parameter_count(model):,} parameters in {args.cache}", flush=True)


def time_torch(args):
    import torch
    from diffusers import UNet2DConditionModel

    torch.set_num_threads(args.threads)
    model = UNet2DConditionModel.from_pretrained(os.path.join(args.cache, "unet"),
                                                 variant="fp16" if args.fp16 else None, torch_dtype=torch.float32).eval()
    results = {}
    for b in args.batch:
        x, e = torch.randn(b, 3, 64, 64), torch.randn(b, 77, 4096)
        t = torch.tensor([990 - 30 * i for i in range(b)])
        times = []
        with torch.inference_mode():
            model(x, t, encoder_hidden_states=e)
            start = time.perf_counter()
            while len(times) < 2 or (time.perf_counter() - start < args.seconds and len(times) < 50):
                t0 = time.perf_counter()
                model(x, t, encoder_hidden_states=e)
                times.append(time.perf_counter() - t0)
        times.sort()
        results[b] = times[len(times) // 2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"times": results, "peak_rss_bytes": peak}))


def child(args, mode):
    cmd = [sys.executable, __file__, mode, "--cache", args.cache, "--threads", str(args.threads), "--width", str(args.width),
           "--seconds", str(args.seconds), "--batch", *map(str, args.batch)] + (["--fp16"] if args.fp16 else [])
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", nargs="?", default="compare", choices=["compare", "make", "torch"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 2])
    p.add_argument("--width", type=int, default=192, help="C: block widths are C, 2C, 3C, 4C; cross-attention 4C (IF-I-M: 192)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--fp16", action="store_true", help="save and load the fp16 weight variant")
    p.add_argument("--profile", action="store_true", help="print Darkroom's time per layer type")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "darkroom-if-bench"))
    args = p.parse_args()
    if args.mode == "make":
        return make_model(args)
    if args.mode == "torch":
        return time_torch(args)

    args.cache = os.path.join(args.cache, f"c{args.width}" + ("-fp16" if args.fp16 else ""))
    if not os.path.exists(os.path.join(args.cache, "io.safetensors")):
        print(child(args, "make"), end="")
    darkroom = os.path.join(ROOT, ".build", "release", "darkroom")
    if not os.path.exists(darkroom):
        sys.exit("build first: swift build -c release")

    out = subprocess.run([darkroom, "forward", "--model", args.cache, "--input", os.path.join(args.cache, "io.safetensors"),
                          "--output", os.path.join(args.cache, "darkroom-out.safetensors"),
                          "--expect", os.path.join(args.cache, "io.safetensors"), "--threads", str(args.threads)],
                         capture_output=True, text=True)
    print("parity with PyTorch on the same weights and input (batch 1): " + (out.stdout.strip().splitlines() or [out.stderr])[-1])

    torch_result = json.loads(child(args, "torch").strip().splitlines()[-1])
    cmd = [darkroom, "bench", "--model", args.cache, "--batch", *map(str, args.batch), "--seconds", str(args.seconds),
           "--threads", str(args.threads), "--json"] + (["--profile"] if args.profile else [])
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])

    machine = ours.get("machine", {})
    cpu, blas = machine.get("cpu", {}), machine.get("blas", {})
    print(f"CPU: {cpu.get('name')} (family {cpu.get('family')} model {cpu.get('model')}); OpenBLAS {blas.get('core')} "
          f"(chosen by {blas.get('chosen_by')}), sgemm peak {blas.get('sgemm_peak_gflops', 0):.1f} GFLOP/s")
    print(f"IF-shaped UNet C={args.width} ({'fp16' if args.fp16 else 'fp32'} weights), 64x64, {args.threads} threads")
    print(f"{'batch':>5} {'PyTorch s':>10} {'Darkroom s':>11} {'ratio':>7}")
    for row in ours["forward"]:
        b = row["batch"]
        theirs = torch_result["times"][str(b)]
        print(f"{b:>5} {theirs:>10.3f} {row['median_s']:>11.3f} {row['median_s'] / theirs:>6.2f}x")
        for item in row.get("profile", []):
            rate = f" {item['gflop_per_s']:7.1f} GFLOP/s" if "gflop_per_s" in item else ""
            print(f"        {item['kind']:<42} {item['seconds_per_forward']:7.3f} s {100 * item['seconds_per_forward'] / row['median_s']:5.1f}%{rate}")
    tp, dp = torch_result["peak_rss_bytes"], ours["peak_rss_bytes"]
    print(f"peak RSS: PyTorch {tp / 1e9:.2f} GB, Darkroom {dp / 1e9:.2f} GB, ratio {dp / tp:.2f}x")


if __name__ == "__main__":
    main()
