"""Fixtures for DeepFloyd IF's scheduler step: diffusers' DDPMScheduler (IF stage I config) on random inputs.

Run from the repository root:  python3 scripts/reference/make_scheduler_fixtures.py
Writes Tests/DarkroomDiffusionTests/Fixtures/if_step.safetensors: per case the model output [2,6,8,8], the sample
[2,3,8,8], the noise z the step drew, and the previous sample diffusers computed; plus ᾱ for every timestep.
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


if __name__ == "__main__":
    main()
