"""How Pillow reads input images, as references for Darkroom's decoder (Tests/DarkroomImagingTests/Fixtures/pillow).

For every PNG fixture of make_png_fixtures.py (every colour type and depth), two PNGs with a gAMA chunk, and small
JPEGs (colour 4:2:0, gray, progressive, the eight EXIF orientations, and CMYK and YCCK as Adobe writes them, with
inverted samples), writes NAME.safetensors holding
  gray [1,1,H,W]  = np.asarray(ImageOps.exif_transpose(Image.open(f)).convert("L")) / 255
  rgb  [1,3,H,W]  = the same with convert("RGB"), channels first.
16-bit PNGs get the references of their 8-bit twins (Pillow itself truncates 16-bit data to 8 bits or clips it), so
the test checks that both depths read alike. Needs Pillow only (pip install pillow); run from the repository root:
  python3 scripts/reference/make_pillow_fixtures.py
"""
import json
import os
import struct
import subprocess
import tempfile
import zlib

from PIL import Image, ImageDraw, ImageOps

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "DarkroomImagingTests", "Fixtures")
PNG = os.path.join(ROOT, "png")
OUT = os.path.join(ROOT, "pillow")


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def references(image):
    image = ImageOps.exif_transpose(image)
    w, h = image.size
    gray = [v / 255 for v in image.convert("L").get_flattened_data()]
    rgb = list(image.convert("RGB").get_flattened_data())
    planes = [[p[c] / 255 for p in rgb] for c in range(3)]
    return {"gray": ([1, 1, h, w], gray), "rgb": ([1, 3, h, w], planes[0] + planes[1] + planes[2])}


def with_gamma(source, target, gamma):
    """Copies a PNG, inserting a gAMA chunk after IHDR."""
    data = open(os.path.join(PNG, source), "rb").read()
    body = struct.pack(">I", gamma)
    chunk = struct.pack(">I", 4) + b"gAMA" + body + struct.pack(">I", zlib.crc32(b"gAMA" + body))
    open(os.path.join(PNG, target), "wb").write(data[:33] + chunk + data[33:])


def photo():
    """A 40x24 colour test picture: gradients, a disc and a bar, asymmetric so every orientation differs."""
    im = Image.new("RGB", (40, 24))
    im.putdata([((x * 6) % 256, (y * 10) % 256, ((x + y) * 4) % 256) for y in range(24) for x in range(40)])
    d = ImageDraw.Draw(im)
    d.ellipse((4, 4, 16, 16), fill=(250, 40, 30))
    d.rectangle((22, 2, 26, 20), fill=(20, 200, 90))
    return im


def ycck(cmyk, path):
    """A YCCK JPEG of a CMYK image (Pillow writes CMYK JPEGs as CMYK only): write_ycck_jpeg.c, built here, given the
    samples as Pillow's encoder stores them (inverted, "CMYK;I")."""
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "write_ycck_jpeg")
        subprocess.run(["cc", "-O1", "-o", tool, os.path.join(here, "write_ycck_jpeg.c"), "-ljpeg"], check=True)
        raw = cmyk.tobytes("raw", "CMYK;I")
        subprocess.run([tool, str(cmyk.width), str(cmyk.height), path], input=raw, check=True)
    data = open(path, "rb").read()
    adobe = data.find(b"Adobe")
    assert adobe > 0 and data[adobe + 11] == 2, "expected an Adobe marker with transform 2 (YCCK)"


def main():
    os.makedirs(OUT, exist_ok=True)
    with_gamma("rgb8.png", "rgb8_gamma.png", 100000)    # gAMA 1.0: Pillow ignores it
    with_gamma("rgb16.png", "rgb16_gamma.png", 100000)
    twins = {"gray16": "gray8", "gray_alpha16": "gray_alpha8", "rgb16": "rgb8", "rgba16": "rgba8", "rgb16_gamma": "rgb8"}
    for name in sorted(os.listdir(PNG)):
        stem = name[:-4]
        if stem in ("truncated", "huge"):
            continue
        source = twins.get(stem, stem)
        write_safetensors(os.path.join(OUT, stem + ".safetensors"), references(Image.open(os.path.join(PNG, source + ".png"))))
    im = photo()
    jpegs = {
        "photo": lambda f: im.save(f, quality=90),
        "gray": lambda f: im.convert("L").save(f, quality=90),
        "progressive": lambda f: im.save(f, quality=85, progressive=True),
    }
    for k in range(1, 9):
        def save(f, k=k):
            exif = Image.Exif()
            exif[0x0112] = k
            im.save(f, quality=90, exif=exif.tobytes())
        jpegs["orient%d" % k] = save
    jpegs["cmyk"] = lambda f: im.convert("CMYK").save(f, quality=92)   # Adobe APP14, transform 0, inverted samples
    jpegs["ycck"] = lambda f: ycck(im.convert("CMYK"), f)
    for stem, save in jpegs.items():
        path = os.path.join(OUT, stem + ".jpg")
        save(path)
        write_safetensors(os.path.join(OUT, stem + ".safetensors"), references(Image.open(path)))


if __name__ == "__main__":
    main()
