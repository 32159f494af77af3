#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag report` rendered by headless Chromium (issue 8 proof).

A history with one guided-test session (powercut-writer report-fixture: the records of
tests/unit/test-history.c's cli_and_report) goes through `bodydiag report`; Chromium
(Debian's chromium, tools/install-deps) loads the file with the network off, dumps the
DOM it built and takes a 1200x2000 screenshot. Checked: the parsed document has the SVG
with one lane per expected series and its number of points; the PNG (decoded here with
zlib, no PIL) is not blank, and its red point markers, counted as blobs, fall into the
lanes in the same order and numbers as the SVG says. A missing chromium is a failure.

Usage: test-report-render.py BODYDIAG POWERCUT_WRITER
"""
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

# Lanes top to bottom, with their points (the fixture's records).
EXPECTED = [('fob_telegram', 1), ('release_request', 1), ('actuator_command', 1),
            ('actuator_current', 5), ('ajar_switch', 1), ('mark', 1), ('dtc', 2),
            ('bus', 1), ('finding', 2)]
POINT_RGB = (0xcc, 0x33, 0x33)  # .pt{fill:#c33} in cmd-report.c
WIDTH, HEIGHT = 1200, 2000

failures = []


def check(cond, what):
    print(('ok' if cond else 'FAIL') + ' - ' + what)
    if not cond:
        failures.append(what)


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


class SvgLanes(html.parser.HTMLParser):
    """The <g data-series> lanes inside the <svg> of the DOM Chromium built."""

    def __init__(self):
        super().__init__()
        self.svg_depth = 0
        self.svgs = 0
        self.lanes = []  # [name, data-points, circles seen, polylines seen]
        self.cur = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'svg':
            self.svgs += 1
            self.svg_depth += 1
        elif self.svg_depth and tag == 'g' and 'data-series' in a:
            self.cur = [a['data-series'], int(a.get('data-points', -1)), 0, 0]
            self.lanes.append(self.cur)
        elif self.cur and tag == 'circle':
            self.cur[2] += 1
        elif self.cur and tag == 'polyline':
            self.cur[3] += 1

    def handle_endtag(self, tag):
        if tag == 'svg':
            self.svg_depth -= 1
        elif tag == 'g':
            self.cur = None


def chromium(exe, profile, args, url):
    # --no-sandbox: the tests run as root; the profile in the temporary directory keeps
    # $HOME untouched; the proxy to nowhere makes any network fetch fail visibly.
    cmd = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--user-data-dir=' + profile, '--proxy-server=127.0.0.1:9',
           '--window-size=%d,%d' % (WIDTH, HEIGHT), '--hide-scrollbars'] + args + [url]
    return subprocess.run(cmd, capture_output=True, timeout=120)


def why(r):
    """The exit status and the end of stderr of a failed run (chromium is chatty)."""
    if r.returncode == 0:
        return ''
    return f' (status {r.returncode}): ' + r.stderr.decode('utf-8', 'replace')[-600:].replace('\n', ' | ')


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bodydiag, writer = sys.argv[1], sys.argv[2]
    exe = shutil.which('chromium')
    if not exe:
        print('FAIL - chromium is not installed (tools/install-deps installs Debian\'s chromium)')
        return 1
    for p in (bodydiag, writer):
        if not os.access(p, os.X_OK):
            print(f'FAIL - {p} is not built')
            return 1
    with tempfile.TemporaryDirectory(prefix='bodydiag-render.') as tmp:
        db = os.path.join(tmp, 'history.db')
        report = os.path.join(tmp, 'report.html')
        shot = os.path.join(tmp, 'report.png')
        r = subprocess.run([writer, 'report-fixture', db], capture_output=True, text=True)
        check(r.returncode == 0, f'history fixture written ({r.stderr.strip()})')
        session = r.stdout.strip()
        r = subprocess.run([bodydiag, 'report', '--db', db, '--session', session, '-o', report],
                           capture_output=True, text=True)
        check(r.returncode == 0 and os.path.getsize(report) > 1000,
              f'bodydiag report -o report.html ({r.stderr.strip()})')
        if failures:
            return 1
        url = 'file://' + report

        t0 = time.monotonic()
        r = chromium(exe, os.path.join(tmp, 'profile'), ['--dump-dom'], url)
        t1 = time.monotonic()
        dom = r.stdout.decode('utf-8', 'replace')
        check(r.returncode == 0 and '</html>' in dom, 'chromium --dump-dom' + why(r))
        p = SvgLanes()
        p.feed(dom)
        check(p.svgs == 1, f'one <svg> in the rendered DOM ({p.svgs})')
        got = [(name, pts) for name, pts, _, _ in p.lanes]
        check(got == EXPECTED, f'SVG lanes and their points: {got}')
        for name, pts, circles, polylines in p.lanes:
            check(circles == pts, f'lane {name}: {circles} <circle> for {pts} points')
        valued = sorted(name for name, _, _, poly in p.lanes if poly)
        check(valued == ['actuator_command', 'actuator_current', 'ajar_switch', 'release_request'],
              f'step lines in the lanes with values: {valued}')
        check('Last link to react: <b>actuator_current</b>' in dom, 'verdict in the rendered page')

        t2 = time.monotonic()
        r = chromium(exe, os.path.join(tmp, 'profile'), ['--screenshot=' + shot], url)
        t3 = time.monotonic()
        ok = r.returncode == 0 and os.path.exists(shot)
        check(ok, 'chromium --screenshot' + why(r))
        if not ok:
            return 1
        data = open(shot, 'rb').read()
        check(len(data) > 20000, f'screenshot is {len(data)} bytes')
        w, h, bpp, rows = decode_png(data)
        check((w, h) == (WIDTH, HEIGHT), f'screenshot is {w}x{h}')
        colours = set()
        for row in rows[::10]:
            for x in range(0, len(row), bpp * 5):
                colours.add(row[x:x + 3])
        check(len(colours) >= 16, f'screenshot is not blank: {len(colours)} colours sampled')
        # The point markers as drawn: r=4 circles, so blobs about 8 px across.
        marks = [b for b in blobs(rows, bpp, POINT_RGB)
                 if 4 <= b[2] - b[0] <= 12 and 4 <= b[3] - b[1] <= 12]
        total = sum(n for _, n in EXPECTED)
        check(len(marks) == total, f'{len(marks)} point markers in the picture, {total} expected')
        # Group the markers into lanes by their vertical centre (lanes are 44 px apart).
        centres = sorted((b[1] + b[3]) / 2 for b in marks)
        groups = []
        for c in centres:
            if groups and c - groups[-1][-1] < 22:
                groups[-1].append(c)
            else:
                groups.append([c])
        check([len(g) for g in groups] == [n for _, n in EXPECTED],
              f'markers per lane in the picture, top to bottom: {[len(g) for g in groups]}')
        t4 = time.monotonic()
        print(f'# wall: chromium --dump-dom {t1 - t0:.1f}s, --screenshot {t3 - t2:.1f}s, '
              f'PNG checks {t4 - t3:.1f}s')
        if failures:
            keep = os.path.join(os.environ.get('MESON_BUILD_ROOT', tempfile.gettempdir()),
                                'report-render-failed.png')
            shutil.copy(shot, keep)
            print(f'# screenshot kept in {keep}')
    if failures:
        print(f'{len(failures)} check(s) failed')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
