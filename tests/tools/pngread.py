# SPDX-License-Identifier: MIT
"""PNG reading for the report tests (Chromium's screenshots, pdftoppm's pages): no PIL on
the build machines, so zlib and struct do it."""
import struct
import zlib


def decode_png(data):
    """8-bit RGB/RGBA, non-interlaced PNG -> (width, height, bytes per pixel, rows)."""
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG file')
    p, idat, w, h, bpp = 8, [], 0, 0, 0
    while p + 8 <= len(data):
        length, ctype = struct.unpack('>I4s', data[p:p + 8])
        body = data[p + 8:p + 8 + length]
        if ctype == b'IHDR':
            w, h, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f'unsupported PNG: depth {depth}, colour type {colour}, '
                                 f'interlace {interlace}')
            bpp = 3 if colour == 2 else 4
        elif ctype == b'IDAT':
            idat.append(body)
        p += 12 + length
    raw = zlib.decompress(b''.join(idat))
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError(f'PNG data is {len(raw)} bytes, expected {h * (stride + 1)}')
    lo = int.from_bytes(b'\x7f' * stride, 'big')
    hi = int.from_bytes(b'\x80' * stride, 'big')
    prev = bytes(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        if f == 0:
            out = bytes(cur)
        elif f == 2:
            # Up, the filter of most rows: a bytewise add without carries, on big ints
            # (a Python loop over 7 MB would take seconds).
            a, b = int.from_bytes(cur, 'big'), int.from_bytes(prev, 'big')
            out = (((a & lo) + (b & lo)) ^ ((a ^ b) & hi)).to_bytes(stride, 'big')
        else:
            o = bytearray(cur)
            for i in range(stride):
                left = o[i - bpp] if i >= bpp else 0
                up = prev[i]
                if f == 1:
                    o[i] = (o[i] + left) & 255
                elif f == 3:
                    o[i] = (o[i] + ((left + up) >> 1)) & 255
                elif f == 4:
                    ul = prev[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                    o[i] = (o[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
                else:
                    raise ValueError(f'bad PNG filter type {f} in row {y}')
            out = bytes(o)
        rows.append(out)
        prev = out
    return w, h, bpp, rows


def blobs(rows, bpp, rgb):
    """Connected regions (4-neighbour) of pixels of exactly rgb: list of bounding boxes."""
    want = bytes(rgb)
    pix = set()
    for y, row in enumerate(rows):
        x = row.find(want)
        while x >= 0:
            if x % bpp == 0:
                pix.add((x // bpp, y))
            x = row.find(want, x + 1)
    boxes = []
    while pix:
        stack = [pix.pop()]
        x0 = x1 = stack[0][0]
        y0 = y1 = stack[0][1]
        while stack:
            x, y = stack.pop()
            x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
            for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if n in pix:
                    pix.remove(n)
                    stack.append(n)
        boxes.append((x0, y0, x1, y1))
    return boxes


def colours(rows, bpp, step=5):
    """Distinct RGB colours of a sample of the pixels (every 10th row, every step-th column)."""
    seen = set()
    for row in rows[::10]:
        for x in range(0, len(row), bpp * step):
            seen.add(row[x:x + 3])
    return seen


def ink(rows, bpp):
    """The share of sampled pixels that are not near-white: 0 for a blank page."""
    n = dark = 0
    for row in rows[::4]:
        for x in range(0, len(row), bpp * 4):
            n += 1
            dark += row[x] < 230 or row[x + 1] < 230 or row[x + 2] < 230
    return dark / n if n else 0.0
