"""Fixtures for DeepFloyd IF stage I parity: small random IF-shaped UNets made by diffusers, inputs, and outputs.

Run from the repository root:  python3 scripts/reference/make_if_fixtures.py
Writes Tests/DarkroomModelsTests/Fixtures/if_<name>/: unet/config.json, the weights (fp32, or the fp16 variant),
and io.safetensors holding sample [B,3,H,W], timestep [B] (int64), encoder_hidden_states [B,77,E] and out [B,6,H,W].
"""
import os
import shutil

import torch
from safetensors.torch import save_file

from if_unet import forward, if_config, parameter_count, random_inputs, random_unet, save_unet

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DarkroomModelsTests", "Fixtures")

# name: (config, batch, height, width, fp16 weights)
CASES = {
    # IF's four-block layout, one layer per block, one channel per group, batch 2 with two timesteps.
    "if_a": (if_config([8, 16, 24, 32], 32, 24, layers=1, head_dim=8, groups=8, pool_heads=4, sample_size=16), 2, 16, 16, False),
    # Two layers per block, four channels per group, non-square input, batch 1, fp16 weight file.
    "if_b": (if_config([8, 16, 24, 32], 32, 64, layers=2, head_dim=8, groups=4, pool_heads=8, sample_size=24), 1, 16, 24, True),
    # Three blocks, attention in the middle one only, IF's three layers per block, batch 2, at 32×32 where Darkroom
    # switches its 3×3 convolutions to Winograd.
    "if_c": (if_config([16, 24, 32], 32, 32, layers=3, head_dim=8, groups=8, pool_heads=2, sample_size=32,
                       attention_blocks=[False, True, False]), 2, 32, 32, False),
}


def main():
    torch.set_num_threads(1)
    for i, (name, (config, batch, height, width, fp16)) in enumerate(CASES.items()):
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        model = random_unet(config, seed=100 + i)
        save_unet(model, folder, fp16=fp16)
        inputs = random_inputs(batch, height, width, config["encoder_hid_dim"], seed=200 + i)
        out = forward(model, inputs)
        save_file({**{k: v.contiguous() for k, v in inputs.items()}, "out": out.contiguous()},
                  os.path.join(folder, "io.safetensors"))
        print(f"{name}: {parameter_count(model):,} parameters, out {tuple(out.shape)}, |out| max {out.abs().max():.3f}")


if __name__ == "__main__":
    main()
