#!/usr/bin/env python3
"""png_check.py - is a screenshot non-trivial?  (standard library only)

    png_check.py FILE [--min-bytes N] [--min-colours N] [--min-ink F]
                      [--expect-colour RRGGBB:MIN_PIXELS]...

Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) and fails (exit 1,
with the reason) when the file is small, the image has few distinct
colours, too little of it differs from the background (the colour of the
top-left pixel), or an expected colour (a chart's bar colour, +-24 per
channel) covers fewer pixels than asked.  Prints the figures it found.
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows, len(data)


def main(argv):
    path = argv[1]
    min_bytes, min_colours, min_ink, expect = 20000, 16, 0.02, []
    i = 2
    while i < len(argv):
        opt, val = argv[i], argv[i + 1]
        if opt == "--min-bytes":
            min_bytes = int(val)
        elif opt == "--min-colours":
            min_colours = int(val)
        elif opt == "--min-ink":
            min_ink = float(val)
        elif opt == "--expect-colour":
            rgb, n = val.split(":")
            expect.append((tuple(int(rgb[k:k + 2], 16) for k in (0, 2, 4)), int(n)))
        else:
            raise SystemExit("png_check: unknown option " + opt)
        i += 2
    w, h, bpp, rows, size = decode(path)
    bg = tuple(rows[0][0:3])
    colours, ink = set(), 0
    hits = [0] * len(expect)
    # Every second pixel of every second row: plenty, and fast in Python.
    sampled = 0
    for y in range(0, h, 2):
        r = rows[y]
        for x in range(0, w * bpp, 2 * bpp):
            px = (r[x], r[x + 1], r[x + 2])
            sampled += 1
            colours.add((px[0] >> 3, px[1] >> 3, px[2] >> 3))
            if max(abs(px[k] - bg[k]) for k in range(3)) > 16:
                ink += 1
            for j, (c, _) in enumerate(expect):
                if max(abs(px[k] - c[k]) for k in range(3)) <= 24:
                    hits[j] += 1
    ink_frac = ink / sampled
    print("%s: %dx%d, %d bytes, %d colours, %.1f %% ink%s" % (
        path, w, h, size, len(colours), 100 * ink_frac,
        "".join(", #%02x%02x%02x: %d px" % (c + (4 * n,)) for (c, _), n in zip(expect, hits))))
    problems = []
    if size < min_bytes:
        problems.append("file is %d bytes (< %d)" % (size, min_bytes))
    if len(colours) < min_colours:
        problems.append("%d distinct colours (< %d): blank or flat" % (len(colours), min_colours))
    if ink_frac < min_ink:
        problems.append("only %.2f %% of the image differs from the background" % (100 * ink_frac))
    for (c, n), got in zip(expect, hits):
        if 4 * got < n:
            problems.append("colour #%02x%02x%02x covers ~%d px (< %d): chart missing?" % (c + (4 * got, n)))
    if problems:
        print("png_check: FAIL: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
