"""Random DeepFloyd IF UNets (stage I and stage II) built by diffusers, shared by the fixture, check and benchmark
scripts.

Stage I's config is IF-I-XL's (../shared/spec/deepfloyd-if-stage1.md §1.1), stage II's IF-II-L's
(../shared/spec/deepfloyd-if-stage2.md §1.1), with widths, text sizes and depth made small.
"""
import json
import os

import torch
from diffusers import UNet2DConditionModel


def if_config(widths, cross_dim, encoder_dim, *, layers=3, head_dim=64, groups=32, pool_heads=64, sample_size=64,
              attention_blocks=None):
    """A diffusers UNet2DConditionModel config in IF stage I's shape. `attention_blocks` marks which down blocks
    (mirrored for the up blocks) are SimpleCrossAttn blocks; IF has all but the first."""
    n = len(widths)
    attention_blocks = attention_blocks or [i > 0 for i in range(n)]
    down = ["SimpleCrossAttnDownBlock2D" if a else "ResnetDownsampleBlock2D" for a in attention_blocks]
    up = ["SimpleCrossAttnUpBlock2D" if a else "ResnetUpsampleBlock2D" for a in reversed(attention_blocks)]
    return dict(
        sample_size=sample_size, in_channels=3, out_channels=6, layers_per_block=layers,
        block_out_channels=list(widths), down_block_types=down, up_block_types=up,
        mid_block_type="UNetMidBlock2DSimpleCrossAttn", cross_attention_dim=cross_dim, attention_head_dim=head_dim,
        norm_num_groups=groups, norm_eps=1e-5, act_fn="gelu", resnet_time_scale_shift="scale_shift",
        addition_embed_type="text", addition_embed_type_num_heads=pool_heads, encoder_hid_dim=encoder_dim,
        encoder_hid_dim_type="text_proj", cross_attention_norm="group_norm", flip_sin_to_cos=True, freq_shift=0,
        resnet_skip_time_act=False, resnet_out_scale_factor=1.0, mid_block_scale_factor=1,
    )


# IF-II-L's resnet_out_scale_factor and mid_block_scale_factor (√2, as convert_if.py writes it).
STAGE2_SCALE = 1.4142271248762552


def if2_config(widths, cross_dim, encoder_dim, *, layers, head_dim=64, groups=32, pool_heads=64, sample_size=256,
               attention_blocks=None, time_dim=None, mid_scale=STAGE2_SCALE):
    """A diffusers UNet2DConditionModel config in IF stage II's shape: 6 input channels (x_t, then the upscaled
    image), `layers` per level (a list; up blocks take one more), the noise level as a timestep class embedding, the
    activation once on the summed embedding, scaled resnet outputs. IF-II-L has attention in its last two levels."""
    n = len(widths)
    attention_blocks = attention_blocks or [i >= n - 2 for i in range(n)]
    config = if_config(widths, cross_dim, encoder_dim, layers=list(layers), head_dim=head_dim, groups=groups,
                       pool_heads=pool_heads, sample_size=sample_size, attention_blocks=attention_blocks)
    config.update(in_channels=6, out_channels=6, class_embed_type="timestep", time_embedding_dim=time_dim or 8 * widths[0],
                  time_embedding_act_fn="gelu", resnet_skip_time_act=True, resnet_out_scale_factor=STAGE2_SCALE,
                  mid_block_scale_factor=mid_scale)
    return config


def random_unet(config, seed, spread_norms=True):
    """The model with PyTorch's default initialisation from `seed`; norm scales and shifts are spread around 1 and 0
    so that a mix-up of norm parameters cannot go unnoticed."""
    torch.manual_seed(seed)
    model = UNet2DConditionModel(**config).eval()
    if spread_norms:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" in name and name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                elif "norm" in name and name.endswith("bias"):
                    p.copy_(0.2 * torch.randn_like(p))
    return model


def save_unet(model, folder, fp16=False):
    """Writes `folder/unet/config.json` and the weights as diffusers does (fp16: the `.fp16.safetensors` variant,
    and the model's own weights are rounded to fp16 so that its outputs are those of the file)."""
    if fp16:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
        model.half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
        model.float()
    else:
        model.save_pretrained(os.path.join(folder, "unet"))


def random_inputs(batch, height, width, encoder_dim, seed, tokens=77, channels=3, class_labels=False):
    """Inputs for one forward; stage II (`channels` 6, `class_labels`) adds a noise level per sample."""
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, channels, height, width, generator=g)
    timestep = torch.randint(0, 1000, (batch,), generator=g, dtype=torch.int64)
    states = torch.randn(batch, tokens, encoder_dim, generator=g)
    inputs = {"sample": sample, "timestep": timestep, "encoder_hidden_states": states}
    if class_labels:
        inputs["class_labels"] = torch.randint(0, 1000, (batch,), generator=g, dtype=torch.int64)
    return inputs


def forward(model, inputs):
    with torch.no_grad():
        return model(inputs["sample"], inputs["timestep"], encoder_hidden_states=inputs["encoder_hidden_states"],
                     class_labels=inputs.get("class_labels")).sample


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
