#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""png_stats.py: is a screenshot blank? Decode a PNG with the standard library only.

Reads the chunks (IHDR, IDAT, IEND; others skipped, CRCs checked), inflates the image data
with zlib, undoes the per-row filters (None, Sub, Up, Average, Paeth; PNG spec section 9)
and prints one JSON object: width, height, distinct colours, the share of pixels that are
not (near) white, and how many pixels are close to each colour given with --color. For
8-bit greyscale, RGB, grey+alpha and RGBA images without interlacing, which is what
Chromium's --screenshot writes; anything else is refused with exit 2.

usage: png_stats.py FILE.png [--color RRGGBB]... [--min-colors N] [--min-nonwhite F]
                    [--min-color-pixels N]
With the --min-* options it also exits 1 when the image falls short (the reason on stderr).
"""
import argparse
import json
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel


def fail(msg, code=2):
    print("png_stats: " + msg, file=sys.stderr)
    sys.exit(code)


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s: not a PNG file" % path)
    pos, ihdr, idat = 8, None, []
    while pos + 12 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            fail("%s: bad CRC in chunk %r" % (path, kind))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if not ihdr or not idat:
        fail("%s: no IHDR or IDAT chunk" % path)
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in CHANNELS or interlace:
        fail("%s: unsupported PNG (bit depth %d, colour type %d, interlace %d)" % (path, depth, ctype, interlace))
    return w, h, CHANNELS[ctype], zlib.decompress(b"".join(idat))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(w, h, bpp, raw):
    stride = w * bpp
    if len(raw) < h * (stride + 1):
        fail("image data too short")
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 0xFF
        elif f == 2:
            for i in range(stride):
                cur[i] = (cur[i] + prev[i]) & 0xFF
        elif f == 3:
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + paeth(left, prev[i], upleft)) & 0xFF
        elif f != 0:
            fail("bad filter type %d on row %d" % (f, y))
        rows.append(bytes(cur))
        prev = cur
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("png")
    ap.add_argument("--color", action="append", default=[], help="RRGGBB to count (within 24 per channel)")
    ap.add_argument("--min-colors", type=int, default=0)
    ap.add_argument("--min-nonwhite", type=float, default=0.0)
    ap.add_argument("--min-color-pixels", type=int, default=0)
    a = ap.parse_args()
    w, h, bpp, raw = read_png(a.png)
    rows = unfilter(w, h, bpp, raw)
    targets = [tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in a.color]
    hits = [0] * len(targets)
    colours, nonwhite = set(), 0
    for r in rows:
        for x in range(0, len(r), bpp):
            if bpp >= 3:
                px = (r[x], r[x + 1], r[x + 2])
            else:
                px = (r[x], r[x], r[x])
            colours.add(px)
            if min(px) < 240:
                nonwhite += 1
            for k, t in enumerate(targets):
                if abs(px[0] - t[0]) <= 24 and abs(px[1] - t[1]) <= 24 and abs(px[2] - t[2]) <= 24:
                    hits[k] += 1
    out = {"width": w, "height": h, "distinct_colors": len(colours),
           "nonwhite_share": round(nonwhite / float(w * h), 4),
           "color_pixels": dict(zip(a.color, hits))}
    print(json.dumps(out))
    short = []
    if len(colours) < a.min_colors:
        short.append("%d distinct colours < %d" % (len(colours), a.min_colors))
    if out["nonwhite_share"] < a.min_nonwhite:
        short.append("non-white share %.4f < %.4f" % (out["nonwhite_share"], a.min_nonwhite))
    for c, n in zip(a.color, hits):
        if n < a.min_color_pixels:
            short.append("%d pixels near #%s < %d" % (n, c, a.min_color_pixels))
    if short:
        fail("; ".join(short), 1)


if __name__ == "__main__":
    main()
