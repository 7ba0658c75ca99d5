"""Fixtures for the Fréchet distance: two feature sets per case and the distance pytorch-fid's formula gives
(numpy covariances, scipy.linalg.sqrtm).

Run from the repository root:  python3 scripts/reference/make_frechet_fixtures.py
Writes Tests/DarkroomTrainingTests/Fixtures/frechet.safetensors: per case `a` [N,d], `b` [M,d] (float32) and the
distance in the metadata.
"""
import os

import numpy as np
import torch
from safetensors.torch import save_file
from scipy import linalg

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DarkroomTrainingTests", "Fixtures")


def frechet(a, b):
    """pytorch-fid's calculate_frechet_distance on the features' means and covariances."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main():
    rng = np.random.default_rng(11)
    tensors, meta = {}, {}
    for name, (n, m, d) in {"small": (300, 200, 16), "wide": (400, 250, 64), "same": (300, 300, 8)}.items():
        mix_a = rng.normal(size=(d, d)) / np.sqrt(d)
        mix_b = mix_a + 0.3 * rng.normal(size=(d, d)) / np.sqrt(d)
        a = rng.normal(size=(n, d)) @ mix_a + 0.5
        b = rng.normal(size=(m, d)) @ mix_b + (0.5 if name == "same" else rng.normal(size=d) * 0.2)
        if name == "same":
            b = a.copy()
        a, b = a.astype(np.float32), b.astype(np.float32)
        tensors[f"{name}.a"], tensors[f"{name}.b"] = torch.from_numpy(a), torch.from_numpy(b)
        meta[name] = repr(frechet(a.astype(np.float64), b.astype(np.float64)))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "frechet.safetensors")
    save_file(tensors, path, metadata=meta)
    print("wrote", os.path.relpath(path, ROOT), meta)


if __name__ == "__main__":
    main()
