"""Small-UNet forward latency: Darkroom beside PyTorch CPU, same model shape and thread count, one run.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/bench/compare_unet_forward.py [--hidden 64] [--threads 2] [--seconds 3]
Prints PyTorch and Darkroom figures per batch size and the speed-up (PyTorch time / Darkroom time).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import tiny_unet  # noqa: E402


def time_torch(model, batch, channels, classes, seconds):
    x = torch.randn(batch, channels, 28, 28)
    t = torch.rand(batch, 1)
    c = torch.nn.functional.one_hot(torch.arange(batch) % classes, classes).float() if classes else None
    times = []
    with torch.inference_mode():
        model(x, t, c)
        start = time.perf_counter()
        while len(times) < 3 or time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            model(x, t, c)
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    p.add_argument("--darkroom", default=".build/release/darkroom")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    model = tiny_unet.TinyUNet(a.channels, a.hidden, a.classes).eval()
    tiny_unet.randomize(model, torch.Generator().manual_seed(0))
    torch_ms = {b: time_torch(model, b, a.channels, a.classes, a.seconds) for b in a.batch}

    cmd = [a.darkroom, "bench", "--json", "--hidden", str(a.hidden), "--classes", str(a.classes),
           "--channels", str(a.channels), "--threads", str(a.threads), "--seconds", str(a.seconds),
           "--batch", *map(str, a.batch)]
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    ours_ms = {r["batch"]: r["median_ms"] for r in ours["forward"]}

    print(f"small UNet D={a.hidden} K={a.classes} C={a.channels}, {a.threads} threads, torch {torch.__version__}")
    print(f"{'batch':>6} {'PyTorch ms':>11} {'Darkroom ms':>12} {'speed-up':>9}")
    for b in a.batch:
        print(f"{b:>6} {torch_ms[b]:>11.3f} {ours_ms[b]:>12.3f} {torch_ms[b] / ours_ms[b]:>8.2f}x")
    print(f"Darkroom conv path {ours['conv_gflops']:.1f} GFLOP/s, raw sgemm {ours['sgemm_gflops']:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
