#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag report` of a session recorded before results were stored, in headless Chromium.

A history with one guided-test session written the old way (powercut-writer
report-fixture: findings, DTC rows and a timeline of the simulator's old signal names, no
stored result) goes through `bodydiag report`; Chromium (Debian's chromium,
tools/install-deps) renders it at 1280 px through the DevTools pipe (cdp.py). Checked:
the page says the chain was not stored instead of making one up ("No link of the chain
reacted" was the old report's wrong answer for this case), the findings ranked with their
advice and no JSON in any text (the old report printed the evidence as JSON), the lanes
that have values drawn with a unit and an axis and the mark across them, no horizontal
scroll, a screenshot that is not blank. The sessions with stored results are the report
test's (test-report.py, in the CAN bench). A missing chromium is a failure.

Usage: test-report-render.py BODYDIAG POWERCUT_WRITER
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402
import pngread  # noqa: E402

failures = []

# What tests/fleet/test-fleet.py takes from this file to draw its own page: the PNG reader
# and a plain headless run (window 1200x2000, no protocol needed there).
decode_png, blobs = pngread.decode_png, pngread.blobs
WIDTH, HEIGHT = 1200, 2000


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


MEASURE = r"""
(() => JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
  scrollHeight: document.documentElement.scrollHeight,
  text: document.body.textContent,
  chain: (document.querySelector('#chain') || {}).textContent || '',
  causes: [...document.querySelectorAll('article.cause')].map(a => [a.dataset.id,
      !!a.querySelector('.todo')]),
  lanes: [...document.querySelectorAll('#timeline g.lane')].map(g => [g.dataset.series,
      (g.querySelector('text.unit') || {}).textContent || '', !!g.querySelector('line.axis'),
      g.querySelectorAll('polyline.step').length]),
  marks: document.querySelectorAll('#timeline line.mark').length,
  dtcs: [...document.querySelectorAll('table.dtcs tbody tr .code')].map(c => c.textContent),
}))()
"""


def check(cond, what):
    print(('ok' if cond else 'FAIL') + ' - ' + what)
    if not cond:
        failures.append(what)


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
        t0 = time.monotonic()
        b = cdp.Browser(exe, os.path.join(tmp, 'profile'))
        try:
            b.open('file://' + report, 1280)
            m = json.loads(b.evaluate(MEASURE))
            b.screenshot(shot, 1280, min(m['scrollHeight'], 8000))
        finally:
            b.close()
        t1 = time.monotonic()
        check('no stored chain' in m['chain'] and 'reacted' not in m['chain'],
              'the chain is said not to be stored, not made up')
        check('rebuilt from the findings alone' in m['text'], 'the page says what it lacks')
        check([c[0] for c in m['causes']] == ['latch_motor_open', 'fob_battery_weak'] and
              all(c[1] for c in m['causes']), f'findings ranked, each with its advice ({m["causes"]})')
        check(not re.search(r'\{\s*"|"\s*:\s*[\[{"\d]|TrunkLatchSw', m['text']),
              'no JSON in the page (the old evidence is not printed)')
        check(m['scrollWidth'] <= m['clientWidth'], f'no horizontal scroll ({m["scrollWidth"]})')
        names = sorted(l[0] for l in m['lanes'])
        check(names == ['actuator_command', 'actuator_current', 'ajar_switch', 'release_request'],
              f'the series with values as lanes ({names})')
        check(all(l[1] and l[2] and l[3] == 1 for l in m['lanes']),
              f'each lane with its unit, an axis and its step line ({m["lanes"]})')
        check(m['marks'] == 1, 'the action as a mark across the lanes')
        check(m['dtcs'] == ['B1A40-13'], f'the DTC listed ({m["dtcs"]})')
        w, h, bpp, rows = pngread.decode_png(open(shot, 'rb').read())
        check(w == 1280 and len(pngread.colours(rows, bpp)) >= 16 and pngread.ink(rows, bpp) > 0.02,
              f'screenshot {w}x{h} is not blank')
        print(f'# wall: chromium {t1 - t0:.1f}s')
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
