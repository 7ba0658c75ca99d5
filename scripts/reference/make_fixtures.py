"""Writes the committed parity fixtures: every engine layer and the small UNet, from PyTorch.

Run from the repository root:  python3 scripts/reference/make_fixtures.py
Needs torch and safetensors (see scripts/reference/README.md). Deterministic: seeded generators.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import tiny_unet  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAYERS = os.path.join(ROOT, "Tests", "DarkroomTensorTests", "Fixtures", "layers")
UNETS = os.path.join(ROOT, "Tests", "DarkroomModelsTests", "Fixtures")
STEPS = os.path.join(ROOT, "Tests", "DarkroomTrainingTests", "Fixtures")

g = torch.Generator().manual_seed(180)


def rnd(*shape, scale=1.0):
    return scale * torch.randn(*shape, generator=g)


def save(name, tensors, **meta):
    os.makedirs(LAYERS, exist_ok=True)
    tensors = {k: v.detach().float().contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(LAYERS, name + ".safetensors"), metadata={k: str(v) for k, v in meta.items()})


def conv(name, x, w, stride, padding, bias=True):
    b = rnd(w.shape[0]) if bias else None
    out = F.conv2d(x, w, b, stride=stride, padding=padding)
    t = {"x": x, "weight": w, "out": out}
    if b is not None:
        t["bias"] = b
    save(name, t, stride=stride, padding=padding)


def conv_t(name, x, w, stride, padding):
    b = rnd(w.shape[1])
    out = F.conv_transpose2d(x, w, b, stride=stride, padding=padding)
    save(name, {"x": x, "weight": w, "bias": b, "out": out}, stride=stride, padding=padding)


def gaussian_reference(x, size, sigma):
    # torchvision.transforms.functional.gaussian_blur: normalised exp kernel, reflect padding.
    half = (size - 1) * 0.5
    k = torch.exp(-0.5 * (torch.linspace(-half, half, size) / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    k2 = (k[:, None] * k[None, :]).expand(c, 1, size, size)
    xp = F.pad(x, [size // 2] * 4, mode="reflect")
    return F.conv2d(xp, k2, groups=c)


def layers():
    conv("conv2d_3x3_s1_p1", rnd(2, 3, 9, 9), rnd(5, 3, 3, 3, scale=0.3), 1, 1)
    conv("conv2d_3x3_s2_p1", rnd(2, 4, 14, 14), rnd(6, 4, 3, 3, scale=0.3), 2, 1)
    conv("conv2d_1x1", rnd(2, 6, 5, 5), rnd(4, 6, 1, 1, scale=0.3), 1, 0)
    conv("conv2d_5x3_s2_p2", rnd(1, 2, 11, 8), rnd(3, 2, 5, 3, scale=0.3), 2, 2)
    conv("conv2d_batch6_nobias", rnd(6, 4, 7, 7), rnd(8, 4, 3, 3, scale=0.3), 1, 1, bias=False)
    conv("conv2d_3x3_s1_p0", rnd(3, 2, 6, 6), rnd(3, 2, 3, 3, scale=0.3), 1, 0)
    conv_t("convt_4x4_s2_p1", rnd(2, 6, 7, 7), rnd(6, 4, 4, 4, scale=0.3), 2, 1)
    conv_t("convt_7x7_s7_p0", rnd(3, 8, 1, 1), rnd(8, 8, 7, 7, scale=0.3), 7, 0)
    conv_t("convt_3x3_s1_p1", rnd(1, 3, 5, 5), rnd(3, 2, 3, 3, scale=0.3), 1, 1)

    x, w, b = rnd(3, 7), rnd(5, 7), rnd(5)
    save("linear_2d", {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})
    x = rnd(2, 4, 7)
    save("linear_3d", {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})

    x = rnd(2, 5, 4, 4)
    mean, var = rnd(5, scale=0.3), 0.5 + torch.rand(5, generator=g)
    w, b = 0.5 + torch.rand(5, generator=g), rnd(5, scale=0.2)
    out = F.batch_norm(x, mean, var, w, b, training=False, eps=1e-5)
    save("batchnorm", {"x": x, "mean": mean, "var": var, "weight": w, "bias": b, "out": out})

    x = rnd(2, 8, 5, 5, scale=2.0) + 1.0
    w, b = 0.5 + torch.rand(8, generator=g), rnd(8, scale=0.2)
    save("groupnorm", {"x": x, "weight": w, "bias": b, "out": F.group_norm(x, 4, w, b, eps=1e-5)}, groups=4, eps=1e-5)
    x = rnd(2, 3, 10, scale=3.0)
    w, b = 0.5 + torch.rand(10, generator=g), rnd(10, scale=0.2)
    save("layernorm", {"x": x, "weight": w, "bias": b, "out": F.layer_norm(x, (10,), w, b, eps=1e-6)}, eps=1e-6)

    x = torch.linspace(-8, 8, 1001)
    save("gelu", {"x": x, "out": F.gelu(x)})
    save("silu", {"x": x, "out": F.silu(x)})

    x = rnd(2, 3, 7, 7)
    save("avgpool_7", {"x": x, "out": F.avg_pool2d(x, 7)}, kernel=7)
    x = rnd(1, 2, 8, 8)
    save("avgpool_2", {"x": x, "out": F.avg_pool2d(x, 2)}, kernel=2)
    x = rnd(2, 3, 4, 5)
    save("upsample_nearest2x", {"x": x, "out": F.interpolate(x, scale_factor=2, mode="nearest")})

    a, b = rnd(2, 3, 4, 4), rnd(2, 5, 4, 4)
    save("concat", {"a": a, "b": b, "out": torch.cat([a, b], 1)})
    a, b = rnd(2, 3, 4, 4), rnd(2, 3, 1, 1)
    save("add_broadcast", {"a": a, "b": b, "out": a + b})
    a, b = rnd(2, 3, 4, 4), rnd(1, 3, 1, 1)
    save("mul_broadcast", {"a": a, "b": b, "out": a * b})
    a, b = rnd(2, 3, 4, 6), rnd(6)
    save("mul_lastdim", {"a": a, "b": b, "out": a * b})

    x = rnd(4, 9, scale=4.0)
    save("softmax", {"x": x, "out": F.softmax(x, -1)})

    q, k, v = rnd(2, 5, 12), rnd(2, 7, 12), rnd(2, 7, 12)
    heads = 3

    def split(t):
        return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)

    o = F.scaled_dot_product_attention(split(q), split(k), split(v))
    o = o.transpose(1, 2).reshape(2, 5, 12)
    save("attention", {"q": q, "k": k, "v": v, "out": o}, heads=heads)

    x = rnd(1, 2, 16, 16)
    save("gaussian_5_2", {"x": x, "out": gaussian_reference(x, 5, 2.0)}, size=5, sigma=2.0)
    x = rnd(2, 1, 28, 28)
    save("gaussian_33_2", {"x": x, "out": gaussian_reference(x, 33, 2.0)}, size=33, sigma=2.0)


def unets():
    for name, channels, hidden, classes, batch in [
        ("unet_class_c1_d8_k10", 1, 8, 10, 3),
        ("unet_time_c3_d6", 3, 6, 0, 2),
    ]:
        model = tiny_unet.TinyUNet(channels, hidden, classes)
        tiny_unet.randomize(model, g)
        model.eval()
        folder = os.path.join(UNETS, name)
        tiny_unet.save_checkpoint(model, tiny_unet.config_for(channels, hidden, classes), folder)
        inputs = tiny_unet.random_inputs(batch, channels, classes, g)
        with torch.no_grad():
            out = model(inputs["x"], inputs["t"], inputs.get("c"))
        save_file({**inputs, "out": out}, os.path.join(folder, "io.safetensors"))


def training_steps():
    """Two Adam steps of MSE training (BatchNorm in training mode) on one random batch."""
    for name, channels, hidden, classes, batch, lr in [
        ("step_class_c1_d6_k3", 1, 6, 3, 5, 1e-2),
        ("step_time_c3_d4", 3, 4, 0, 3, 1e-3),
    ]:
        model = tiny_unet.TinyUNet(channels, hidden, classes)
        tiny_unet.randomize(model, g)
        folder = os.path.join(STEPS, name)
        tiny_unet.save_checkpoint(model, tiny_unet.config_for(channels, hidden, classes), folder)
        inputs = tiny_unet.random_inputs(batch, channels, classes, g)
        target = torch.randn(batch, channels, 28, 28, generator=g)
        model.train()
        # A conv bias that feeds a training-mode BatchNorm has an exactly zero gradient; in float32 it is rounding
        # noise, which Adam would turn into lr-sized steps in arbitrary directions. Darkroom freezes those biases,
        # and so does the reference.
        for n, p in model.named_parameters():
            if n.endswith("conv.bias") and not n.startswith("out_conv"):
                p.requires_grad_(False)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
        record = dict(inputs)
        record["target"] = target
        for step in (1, 2):
            opt.zero_grad()
            loss = F.mse_loss(model(inputs["x"], inputs["t"], inputs.get("c")), target)
            loss.backward()
            opt.step()
            record[f"loss{step}"] = loss.detach().reshape(1)
            if step == 1:
                for n, p in model.named_parameters():
                    if p.requires_grad:
                        record["grad." + n] = p.grad.detach().clone()
            for n, v in model.state_dict().items():
                if not n.endswith("num_batches_tracked"):
                    record[f"after{step}." + n] = v.detach().clone()
        save_file({k: v.float().contiguous() for k, v in record.items()}, os.path.join(folder, "step.safetensors"),
                  metadata={"lr": str(lr)})


if __name__ == "__main__":
    torch.manual_seed(0)
    layers()
    unets()
    training_steps()
    print("fixtures written under", os.path.relpath(LAYERS, ROOT), "and", os.path.relpath(UNETS, ROOT))
