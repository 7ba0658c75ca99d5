"""Fixtures for DeepFloyd IF stage II parity: small random stage II-shaped UNets made by diffusers, and one run of
diffusers' IFSuperResolutionPipeline with every random draw recorded.

Run from the repository root:  python3 scripts/reference/make_if_stage2_fixtures.py
Writes Tests/DarkroomModelsTests/Fixtures/if2_<name>/:
- if2_a, if2_b, if2_up: unet/config.json, the weights (fp32, or the fp16 variant) and io.safetensors holding sample
  [B,6,H,W], timestep [B] (int64), class_labels [B] (int64, the noise level), encoder_hidden_states [B,77,E] and
  out [B,6,H,W];
- if2_pipe: a stage II folder as diffusers saves a pipeline's unet, and pipeline.safetensors holding the stage I
  images [B,3,h,w] in [-1, 1], the prompt embeddings (positive and negative [B,77,E]), the draws in the order the
  pipeline made them (noise_0: x_T, noise_1: the augmentation noise, noise_2…: each step's variance noise) and the
  pipeline's output [B,3,H,W] (output_type="pt"); its metadata holds the settings.
"""
import os
import shutil

import torch
from safetensors.torch import save_file

import diffusers.pipelines.deepfloyd_if.pipeline_if_superresolution as sr_module
import diffusers.schedulers.scheduling_ddpm as ddpm_module
from diffusers import DDPMScheduler, IFSuperResolutionPipeline

from if_unet import forward, if2_config, parameter_count, random_inputs, random_unet, save_unet

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DarkroomModelsTests", "Fixtures")

# name: (config, batch, height, width, fp16 weights)
CASES = {
    # Four levels with 1, 2, 1, 2 layers (up blocks one more), attention in the last two, batch 2 at 32×32 where the
    # first level's 3×3 convolutions switch to Winograd; a time embedding wider than 4× the first width; a mid-block
    # scale unlike the resnets' (IF-II-L has √2 for both), so that a swap of the two shows.
    "if2_a": (if2_config([8, 16, 24, 32], 32, 24, layers=[1, 2, 1, 2], head_dim=8, groups=8, pool_heads=4,
                         sample_size=32, time_dim=48, mid_scale=1.25), 2, 32, 32, False),
    # Three levels with 2, 1, 3 layers, attention in the middle and last, non-square, batch 1, fp16 weight file.
    "if2_b": (if2_config([16, 24, 32], 32, 40, layers=[2, 1, 3], head_dim=8, groups=8, pool_heads=8, sample_size=16,
                         attention_blocks=[False, True, True], time_dim=64), 1, 16, 24, True),
    # IF-II-L's five levels at sample size 256 (attention only at 32² and 16² there), tiny widths: the upscaler of the
    # daemon's end-to-end test (stage I if_a at 64²). Checked at 32×32 here.
    "if2_up": (if2_config([8, 8, 16, 16, 24], 32, 24, layers=[1, 1, 1, 1, 1], head_dim=8, groups=8, pool_heads=4,
                          sample_size=256, time_dim=32), 1, 32, 32, False),
}

PIPELINE = dict(steps=4, guidance=4.0, noise_level=250, batch=2, low=8)


def unet_fixtures():
    for i, (name, (config, batch, height, width, fp16)) in enumerate(CASES.items()):
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        model = random_unet(config, seed=300 + i)
        save_unet(model, folder, fp16=fp16)
        inputs = random_inputs(batch, height, width, config["encoder_hid_dim"], seed=400 + i, channels=6, class_labels=True)
        out = forward(model, inputs)
        save_file({**{k: v.contiguous() for k, v in inputs.items()}, "out": out.contiguous()},
                  os.path.join(folder, "io.safetensors"))
        print(f"{name}: {parameter_count(model):,} parameters, out {tuple(out.shape)}, |out| max {out.abs().max():.3f}")


def pipeline_fixture():
    """One IFSuperResolutionPipeline run on a tiny random stage II UNet with stage II's scheduler settings."""
    name, p = "if2_pipe", PIPELINE
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    config = if2_config([8, 16, 24], 32, 24, layers=[1, 2, 1], head_dim=8, groups=8, pool_heads=4, sample_size=32,
                        attention_blocks=[False, True, True], time_dim=32)
    model = random_unet(config, seed=500)
    save_unet(model, folder)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", variance_type="learned_range",
                              prediction_type="epsilon", thresholding=True, dynamic_thresholding_ratio=0.95,
                              sample_max_value=1.0, clip_sample=True, timestep_spacing="leading")
    noising = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    pipe = IFSuperResolutionPipeline(tokenizer=None, text_encoder=None, unet=model, scheduler=scheduler,
                                     image_noising_scheduler=noising, safety_checker=None, feature_extractor=None,
                                     watermarker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)

    g = torch.Generator().manual_seed(600)
    low = (torch.rand(p["batch"], 3, p["low"], p["low"], generator=g) * 2 - 1)
    positive = torch.randn(p["batch"], 77, 24, generator=g)
    negative = torch.randn(1, 77, 24, generator=g).expand(p["batch"], -1, -1).contiguous()

    draws = []
    original = sr_module.randn_tensor

    def recording(*args, **kwargs):
        value = original(*args, **kwargs)
        draws.append(value.clone())
        return value

    sr_module.randn_tensor = recording
    ddpm_module.randn_tensor = recording
    try:
        with torch.no_grad():
            out = pipe(image=low, prompt_embeds=positive, negative_prompt_embeds=negative, num_inference_steps=p["steps"],
                       guidance_scale=p["guidance"], noise_level=p["noise_level"], output_type="pt",
                       generator=torch.Generator().manual_seed(700)).images
    finally:
        sr_module.randn_tensor = original
        ddpm_module.randn_tensor = original
    tensors = {"image": low, "prompt_embeds": positive, "negative_prompt_embeds": negative, "out": out.contiguous()}
    tensors.update({f"noise_{i}": d.contiguous() for i, d in enumerate(draws)})
    metadata = {k: str(v) for k, v in p.items()}
    metadata["timesteps"] = ",".join(str(int(t)) for t in scheduler.timesteps)
    save_file(tensors, os.path.join(folder, "pipeline.safetensors"), metadata=metadata)
    print(f"{name}: {parameter_count(model):,} parameters, {len(draws)} draws, timesteps {metadata['timesteps']}, "
          f"out {tuple(out.shape)}, |out| max {out.abs().max():.3f}")


def main():
    torch.set_num_threads(1)
    unet_fixtures()
    pipeline_fixture()


if __name__ == "__main__":
    main()
