"""PNG files of every colour type and bit depth (and Adam7-interlaced ones) for the image reader's tests.

Standard library only. Every file holds the same 7x5 pattern: red = (37·x + 11·y) mod 256, green = 255 − red,
blue = (50·y) mod 256, and (where there is alpha) alpha = 0 in column 0, 255 elsewhere. Gray files hold the red
value. Lower bit depths keep the top bits; 16-bit files hold v·257. Palette files use a palette of the distinct
colours. Run from the repository root:  python3 scripts/reference/make_png_fixtures.py
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "DarkroomImagingTests", "Fixtures", "png")
W, H = 7, 5


def rgb(x, y):
    r = (37 * x + 11 * y) % 256
    return r, 255 - r, (50 * y) % 256


def alpha(x, y):
    return 0 if x == 0 else 255


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        for j in range(per):
            s = samples[i + j] if i + j < len(samples) else 0
            byte |= s << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def samples_at(x, y, color_type, depth, palette):
    r, g, b = rgb(x, y)
    a = alpha(x, y)
    scale = (lambda v: v * 257) if depth == 16 else (lambda v: v >> (8 - depth))
    if color_type == 0:
        return [scale(r)]
    if color_type == 4:
        return [scale(r), scale(a)]
    if color_type == 2:
        return [scale(r), scale(g), scale(b)]
    if color_type == 6:
        return [scale(r), scale(g), scale(b), scale(a)]
    return [palette.index((r >> (8 - depth), g, b))]


def write(name, color_type, depth, interlace=False):
    palette = []
    if color_type == 3:
        for y in range(H):
            for x in range(W):
                r, g, b = rgb(x, y)
                key = (r >> (8 - depth), g, b)
                if key not in palette:
                    palette.append(key)
        assert len(palette) <= 2 ** depth, name
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, W, dx))
        for y in range(y0, H, dy):
            if not xs:
                continue
            row = []
            for x in xs:
                row += samples_at(x, y, color_type, depth, palette)
            raw += b"\x00" + pack_row(row, depth)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, depth, color_type, 0, 0, 1 if interlace else 0))
    if color_type == 3:
        # Scale reduced red back to 8 bits in the palette entry, as a reader would see it.
        entries = b"".join(bytes([min(255, r << (8 - depth)) if depth < 8 else r, g, b]) for r, g, b in palette)
        data += chunk(b"PLTE", entries)
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(os.path.join(OUT, name + ".png"), "wb") as f:
        f.write(data)


def palette_color(k):
    return (k * 37) % 256, 255 - (k * 37) % 256, (k * 50) % 256


def write_small_palette(depth):
    """Palette files of 1, 2 and 4 bits: pixel (x, y) uses entry (x + 2y) mod 2^depth, entry k = palette_color(k)."""
    n = 2 ** depth
    raw = b""
    for y in range(H):
        raw += b"\x00" + pack_row([(x + 2 * y) % n for x in range(W)], depth)
    entries = b"".join(bytes(palette_color(k)) for k in range(n))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, depth, 3, 0, 0, 0)) + chunk(b"PLTE", entries)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(os.path.join(OUT, f"palette{depth}.png"), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for depth in (1, 2, 4, 8, 16):
        write(f"gray{depth}", 0, depth)
    for depth in (8, 16):
        write(f"gray_alpha{depth}", 4, depth)
        write(f"rgb{depth}", 2, depth)
        write(f"rgba{depth}", 6, depth)
    write("palette8", 3, 8)
    for depth in (1, 2, 4):
        write_small_palette(depth)
    write("rgb8_interlaced", 2, 8, interlace=True)
    write("gray8_interlaced", 0, 8, interlace=True)
    with open(os.path.join(OUT, "truncated.png"), "wb") as f, open(os.path.join(OUT, "rgb8.png"), "rb") as src:
        f.write(src.read()[:60])
    with open(os.path.join(OUT, "huge.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
