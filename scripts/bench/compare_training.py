"""Training throughput of the small UNet: Darkroom beside PyTorch CPU, same shapes and threads, one run.

Usage (repository root, after `swift build -c release`):
    python3 scripts/bench/compare_training.py [--hidden 64 32] [--batch 128] [--threads 2] [--steps 5]
One step = forward (BatchNorm in training mode), MSE loss, backward, Adam update, on random data.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import tiny_unet  # noqa: E402


def torch_images_per_second(hidden, batch, steps):
    model = tiny_unet.TinyUNet(1, hidden, 10).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, t = torch.randn(batch, 1, 28, 28), torch.rand(batch, 1)
    c = F.one_hot(torch.arange(batch) % 10, 10).float()
    target = torch.randn(batch, 1, 28, 28)

    def step():
        opt.zero_grad()
        F.mse_loss(model(x, t, c), target).backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 32])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--darkroom", default=".build/release/darkroom")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"training step, batch {a.batch}, {a.threads} threads, torch {torch.__version__}")
    print(f"{'D':>4} {'PyTorch img/s':>14} {'Darkroom img/s':>15} {'speed-up':>9}")
    for d in a.hidden:
        theirs = torch_images_per_second(d, a.batch, a.steps)
        out = subprocess.run([a.darkroom, "bench", "--train", "--json", "--hidden", str(d), "--batch", str(a.batch),
                              "--threads", str(a.threads), "--steps", str(a.steps)], check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)["train_images_per_s"]
        print(f"{d:>4} {theirs:>14.1f} {ours:>15.1f} {ours / theirs:>8.2f}x")


if __name__ == "__main__":
    main()
