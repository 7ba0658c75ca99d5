"""Writes examples/inbox/: an input image and a sidecar for every mode, made for the default Fashion-MNIST model.

Standard library only (gzip, zlib, struct). Inputs are Fashion-MNIST test images from Debian's
dataset-fashion-mnist, a hand-drawn-style boot sketch and an inpainting mask.
Run from the repository root:  python3 scripts/make_examples.py
"""
import gzip
import json
import os
import struct
import zlib

DATA = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(__file__), "..", "examples", "inbox")
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def png(path, pixels, size=28):
    raw = b"".join(b"\x00" + bytes(pixels[y * size:(y + 1) * size]) for y in range(size))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def sidecar(name, fields):
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(fields, f, indent=2)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    (n, h, w), images = idx("t10k-images-idx3-ubyte.gz")
    _, labels = idx("t10k-labels-idx1-ubyte.gz")
    first = {}
    for i in range(n):
        first.setdefault(labels[i], i)

    def image(label):
        i = first[CLASSES.index(label)]
        return list(images[i * 784:(i + 1) * 784])

    png(os.path.join(OUT, "noise-trouser.png"), image("trouser"))
    sidecar("noise-trouser", {"mode": "noise", "t": [75, 150, 225], "seed": 2})
    png(os.path.join(OUT, "denoise-bag.png"), image("bag"))
    sidecar("denoise-bag", {"mode": "denoise", "t": [75, 150, 225], "prompt": "a bag", "seed": 3})
    # The single-step denoiser (models/fashion-denoise): the image plus σ·noise, denoised in one pass.
    png(os.path.join(OUT, "denoise-one-step-dress.png"), image("dress"))
    sidecar("denoise-one-step-dress", {"mode": "denoise", "model": "fashion-denoise", "sigma": [0.25, 0.5, 0.75], "seed": 9})
    png(os.path.join(OUT, "sdedit-pullover.png"), image("pullover"))
    sidecar("sdedit-pullover", {"mode": "sdedit", "prompt": "a coat", "stride": 10, "noise_levels": [1, 3, 5, 7, 10, 20], "seed": 4})

    # A hand-drawn-style sketch: the outline of a boot in thick strokes.
    sketch = [0] * 784
    def stroke(x0, y0, x1, y1):
        steps = max(abs(x1 - x0), abs(y1 - y0)) * 2 + 1
        for s in range(steps + 1):
            x = round(x0 + (x1 - x0) * s / steps)
            y = round(y0 + (y1 - y0) * s / steps)
            for dy in (0, 1):
                for dx in (0, 1):
                    if 0 <= x + dx < 28 and 0 <= y + dy < 28:
                        sketch[(y + dy) * 28 + x + dx] = 230
    for a, b in [((9, 4), (17, 4)), ((9, 4), (9, 17)), ((17, 4), (17, 14)), ((17, 14), (24, 17)), ((24, 17), (24, 22)),
                 ((24, 22), (5, 22)), ((5, 22), (5, 17)), ((5, 17), (9, 17))]:
        stroke(*a, *b)
    png(os.path.join(OUT, "sdedit-sketch.png"), sketch)
    sidecar("sdedit-sketch", {"mode": "sdedit", "prompt": "an ankle boot", "strength": 0.6, "count": 1, "seed": 5})

    png(os.path.join(OUT, "inpaint-tshirt.png"), image("t-shirt"))
    mask = [255 if 4 <= y < 14 else 0 for y in range(28) for x in range(28)]
    png(os.path.join(OUT, "inpaint-tshirt-mask.png"), mask)
    sidecar("inpaint-tshirt", {"mode": "inpaint", "mask": "inpaint-tshirt-mask.png", "prompt": "a dress", "count": 3, "seed": 6})

    sidecar("generate-sneaker", {"prompt": "a photo of a sneaker", "count": 4, "seed": 1})
    sidecar("anagram-boot-bag", {"mode": "anagram", "prompts": ["an ankle boot", "a bag"], "view": "flip", "seed": 7})
    sidecar("hybrid-sneaker-sandal", {"mode": "hybrid", "prompts": ["a sneaker", "a sandal"], "seed": 8})
    print("examples written to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
