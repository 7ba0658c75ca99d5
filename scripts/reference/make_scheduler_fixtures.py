"""Fixtures for the scheduler step: diffusers' DDPMScheduler on random inputs.

Run from the repository root:  python3 scripts/reference/make_scheduler_fixtures.py
Writes Tests/DarkroomDiffusionTests/Fixtures/
- if_step.safetensors (IF stage I config): per case the model output [2,6,8,8], the sample [2,3,8,8], the noise z the
  step drew, and the previous sample diffusers computed; plus ᾱ for every timestep;
- tiny_step.safetensors (the small UNet's linear schedule, T = 300, indexed as the spec: ᾱ₀ = 1 and
  ᾱ_t = Π_{s≤t}(1 − β_s), given to diffusers as trained_betas [0, β₁…β₃₀₀]): per case ε [2,1,8,8], the sample, the
  noise and the previous sample with variance_type fixed_large (σ² = β of the stride) and fixed_small (σ² = β̃), at
  strides 1 and 10.
"""
import os

import torch
from diffusers import DDPMScheduler
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DarkroomDiffusionTests", "Fixtures")


def scheduler(thresholding):
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", variance_type="learned_range",
                         prediction_type="epsilon", thresholding=thresholding, dynamic_thresholding_ratio=0.95,
                         sample_max_value=1.5, clip_sample=thresholding)  # IF ships clip_sample=True, which thresholding overrides; the course loop clips nothing


def main():
    os.makedirs(OUT, exist_ok=True)
    strided = list(range(990, -1, -30))
    if strided[-1] != 0:
        strided.append(0)
    g = torch.Generator().manual_seed(5)
    tensors = {"alphas_cumprod": scheduler(False).alphas_cumprod.float()}
    meta = {}
    case = 0
    for thresholding in (False, True):
        s = scheduler(thresholding)
        s.set_timesteps(timesteps=strided)
        for t in (990, 690, 300, 30):
            out = torch.randn(2, 6, 8, 8, generator=g) * 1.5
            out[:, 3:] = out[:, 3:].clamp(-1.2, 1.2)
            sample = torch.randn(2, 3, 8, 8, generator=g) * 2
            seed = 1000 + case
            prev = s.step(out, t, sample, generator=torch.Generator().manual_seed(seed)).prev_sample
            z = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
            i = strided.index(t)
            meta[f"case{case}"] = f"{t},{strided[i + 1]},{int(thresholding)}"
            tensors.update({f"case{case}.model_output": out, f"case{case}.sample": sample,
                            f"case{case}.noise": z, f"case{case}.prev_sample": prev})
            case += 1
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "if_step.safetensors"), metadata=meta)
    print("wrote", os.path.relpath(os.path.join(OUT, "if_step.safetensors"), ROOT))


def tiny_steps():
    g = torch.Generator().manual_seed(9)
    tensors, meta = {}, {}
    case = 0
    for variance in ("fixed_large", "fixed_small"):
        betas = [0.0] + torch.linspace(1e-4, 0.02, 300, dtype=torch.float64).tolist()
        s = DDPMScheduler(num_train_timesteps=301, trained_betas=betas, variance_type=variance,
                          prediction_type="epsilon", clip_sample=False)
        for t, prev in ((300, 299), (20, 19), (1, 0), (300, 290), (30, 20), (10, 0)):
            s.set_timesteps(timesteps=[t, prev])
            eps = torch.randn(2, 1, 8, 8, generator=g)
            sample = torch.randn(2, 1, 8, 8, generator=g) * 1.3
            seed = 2000 + case
            out = s.step(eps, t, sample, generator=torch.Generator().manual_seed(seed)).prev_sample
            z = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
            meta[f"case{case}"] = f"{t},{prev},{variance}"
            tensors.update({f"case{case}.epsilon": eps, f"case{case}.sample": sample,
                            f"case{case}.noise": z, f"case{case}.prev_sample": out})
            case += 1
    path = os.path.join(OUT, "tiny_step.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
    tiny_steps()
