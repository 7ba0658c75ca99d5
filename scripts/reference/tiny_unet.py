"""The small UNet of ../shared/spec/tiny-unet.md in PyTorch: the reference Darkroom is checked against.

Used by make_fixtures.py (committed test fixtures), check_forward.py (a fresh random model through
`darkroom forward`) and the benchmark scripts. Never needed to run Darkroom itself.
"""
import json
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file


class Conv(nn.Module):
    def __init__(self, i, o, kind="same"):
        super().__init__()
        if kind == "same":
            self.conv = nn.Conv2d(i, o, 3, 1, 1)
        elif kind == "down":
            self.conv = nn.Conv2d(i, o, 3, 2, 1)
        elif kind == "up":
            self.conv = nn.ConvTranspose2d(i, o, 4, 2, 1)
        elif kind == "unflatten":
            self.conv = nn.ConvTranspose2d(i, o, 7, 7, 0)
        self.norm = nn.BatchNorm2d(o)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class ConvBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.first = Conv(i, o)
        self.second = Conv(o, o)

    def forward(self, x):
        return self.second(self.first(x))


class DownBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.down = Conv(i, o, "down")
        self.block = ConvBlock(o, o)

    def forward(self, x):
        return self.block(self.down(x))


class UpBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.up = Conv(i, o, "up")
        self.block = ConvBlock(o, o)

    def forward(self, x):
        return self.block(self.up(x))


class Flatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(7)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.pool(x))


class FCBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.fc1 = nn.Linear(i, o)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(o, o)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TinyUNet(nn.Module):
    def __init__(self, channels=1, hidden=64, classes=0):
        super().__init__()
        D = hidden
        self.classes = classes
        self.in_block = ConvBlock(channels, D)
        self.down1 = DownBlock(D, D)
        self.down2 = DownBlock(D, 2 * D)
        self.flatten = Flatten()
        self.unflatten = Conv(2 * D, 2 * D, "unflatten")
        self.up1 = UpBlock(4 * D, D)
        self.up2 = UpBlock(2 * D, D)
        self.out_block = ConvBlock(2 * D, D)
        self.out_conv = nn.Conv2d(D, channels, 3, 1, 1)
        self.t_embed1 = FCBlock(1, 2 * D)
        self.t_embed2 = FCBlock(1, D)
        if classes > 0:
            self.c_embed1 = FCBlock(classes, 2 * D)
            self.c_embed2 = FCBlock(classes, D)

    def forward(self, x, t, c=None):
        x0 = self.in_block(x)
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        z = self.unflatten(self.flatten(x2))
        t1 = self.t_embed1(t)[:, :, None, None]
        t2 = self.t_embed2(t)[:, :, None, None]
        if self.classes > 0:
            c1 = self.c_embed1(c)[:, :, None, None]
            c2 = self.c_embed2(c)[:, :, None, None]
            z = c1 * z + t1
        else:
            z = z + t1
        u = self.up1(torch.cat([z, x2], 1))
        u = c2 * u + t2 if self.classes > 0 else u + t2
        u = self.up2(torch.cat([u, x1], 1))
        u = self.out_block(torch.cat([u, x0], 1))
        return self.out_conv(u)


def randomize(model, generator):
    """Random weights at a sane scale and non-trivial BatchNorm statistics."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            if name.endswith("norm.weight"):
                p.copy_(0.5 + torch.rand(p.shape, generator=generator))
            elif name.endswith("norm.bias") or name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=generator))
            elif name.endswith("running_var"):
                b.copy_(0.5 + 1.5 * torch.rand(b.shape, generator=generator))
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)


def config_for(channels, hidden, classes, objective="ddpm"):
    return {
        "architecture": "cs180-unet",
        "channels": channels,
        "hidden": hidden,
        "classes": [f"class{i}" for i in range(classes)],
        "objective": objective,
        "timesteps": 300,
        "beta_start": 1e-4,
        "beta_end": 0.02,
        "image_size": 28,
        "pixel_range": [0, 1],
    }


def save_checkpoint(model, config, folder):
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def random_inputs(batch, channels, classes, generator):
    x = torch.randn(batch, channels, 28, 28, generator=generator)
    t = torch.rand(batch, 1, generator=generator)
    inputs = {"x": x, "t": t}
    if classes > 0:
        c = torch.zeros(batch, classes)
        for b in range(batch):
            if b % 3 != 2:  # every third sample has no class (all zeros), as with CFG
                c[b, torch.randint(0, classes, (1,), generator=generator).item()] = 1
        inputs["c"] = c
    return inputs
