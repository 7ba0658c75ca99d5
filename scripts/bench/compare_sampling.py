"""Small-UNet sampling: a 300-step class-conditioned generate with CFG, Darkroom beside PyTorch CPU.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/bench/compare_sampling.py [--hidden 32] [--batch 1 64] [--threads 2] [--runs 2]
Both run the course's sampler on a random-weight model of the same shape: at every step one forward of the batch
twice over (conditional and unconditional halves), ε = ε_u + γ(ε_c − ε_u), x̂₀, the posterior mean and σ = √β noise.
Prints the wall time of each (best of --runs) and the ratio Darkroom time / PyTorch time.
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


def torch_generate(model, batch, classes, steps=300, guidance=5.0):
    betas = torch.linspace(1e-4, 0.02, steps)
    alphas = 1 - betas
    bars = torch.cat([torch.ones(1), torch.cumprod(alphas, 0)])  # ᾱ₀ = 1, ᾱ_t for t = 1…T
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=g)
    c = torch.nn.functional.one_hot(torch.zeros(batch, dtype=torch.long), classes).float()
    cc = torch.cat([c, torch.zeros_like(c)])
    with torch.inference_mode():
        for t in range(steps, 0, -1):
            tt = torch.full((2 * batch, 1), t / steps)
            eps_c, eps_u = model(torch.cat([x, x]), tt, cc).chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
            a, ap = bars[t], bars[t - 1]
            beta = 1 - a / ap
            x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
            mean = ap.sqrt() * beta / (1 - a) * x0 + (a / ap).sqrt() * (1 - ap) / (1 - a) * x
            x = mean + (beta.sqrt() * torch.randn(x.shape, generator=g) if t > 1 else 0)
    return x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--darkroom", default=".build/release/darkroom")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = tiny_unet.TinyUNet(1, a.hidden, a.classes).eval()
    tiny_unet.randomize(model, torch.Generator().manual_seed(0))
    print(f"300-step generate with CFG, small UNet D={a.hidden} K={a.classes}, {a.threads} threads, torch {torch.__version__}")
    print(f"{'batch':>6} {'PyTorch s':>10} {'Darkroom s':>11} {'ratio':>7}")
    for b in a.batch:
        theirs = []
        for _ in range(a.runs):
            start = time.perf_counter()
            torch_generate(model, b, a.classes)
            theirs.append(time.perf_counter() - start)
        ours = []
        for _ in range(a.runs):
            out = subprocess.run([a.darkroom, "bench", "--generate", "--json", "--hidden", str(a.hidden), "--classes", str(a.classes),
                                  "--threads", str(a.threads), "--batch", str(b)], check=True, capture_output=True, text=True)
            ours.append(json.loads(out.stdout)["generate"][0]["seconds"])
        print(f"{b:>6} {min(theirs):>10.3f} {min(ours):>11.3f} {min(ours) / min(theirs):>6.2f}x")


if __name__ == "__main__":
    main()
