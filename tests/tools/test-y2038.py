#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Dates past January 2038 (signed 32-bit time_t ends 2038-01-19T03:14:07Z).

The history fixture of powercut-writer (one guided-test session on 2026-01-01) is moved
13 years on, to 2039-01-01, by adding the same offset to every *_us column. Then
`bodydiag history` must take --since/--until past 2038 (ISO dates and Unix seconds above
2^31) and print the 2039 times, and `bodydiag report` must print them too. On a 32-bit
target built without 64-bit time_t, timegm() refuses these dates and gmtime_r() wraps:
this is the check the armhf run under qemu-user exists for.

Usage: test-y2038.py BODYDIAG POWERCUT_WRITER
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

SHIFT_US = (2177452800 - 1767225600) * 1000000  # 2026-01-01 -> 2039-01-01, UTC
failures = []


def check(cond, what):
    print(('ok' if cond else 'FAIL') + ' - ' + what)
    if not cond:
        failures.append(what)


def shift(db):
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    n = 0
    for t in tables:
        for col in con.execute(f'PRAGMA table_info("{t}")').fetchall():
            if col[1].endswith('_us'):
                con.execute(f'UPDATE "{t}" SET "{col[1]}" = "{col[1]}" + ? '
                            f'WHERE "{col[1]}" IS NOT NULL', (SHIFT_US,))
                n += 1
    con.commit()
    con.close()
    return n


def history(bodydiag, db, *args):
    r = subprocess.run([bodydiag, 'history', '--db', db, '--format', 'jsonl', *args],
                       capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return r, rows


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bodydiag, writer = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix='bodydiag-y2038.') as tmp:
        db = os.path.join(tmp, 'history.db')
        r = subprocess.run([writer, 'report-fixture', db], capture_output=True, text=True)
        check(r.returncode == 0, f'history fixture written ({r.stderr.strip()})')
        if failures:
            return 1
        session = r.stdout.strip()
        _, before = history(bodydiag, db)
        check(shift(db) >= 5, 'time columns moved to 2039')

        r, rows = history(bodydiag, db, '--since', '2038-01-20')
        check(r.returncode == 0 and len(rows) == len(before) > 0,
              f'--since 2038-01-20: all {len(before)} records ({len(rows)}, {r.stderr.strip()})')
        check(len(rows) == len(before) and all(b['time'].startswith('2026-01-01T') and
                  row['time'] == '2039' + b['time'][4:] for row, b in zip(rows, before)),
              'times printed as 2039-01-01Thh:mm:ss.uuuuuuZ, the fixture\'s times of day')
        check(all(row['t_us'] == b['t_us'] + SHIFT_US for row, b in zip(rows, before)),
              't_us kept exactly')
        r, rows = history(bodydiag, db, '--since', '2147483648')  # 2^31 s: 2038-01-19T03:14:08Z
        check(r.returncode == 0 and len(rows) == len(before),
              f'--since 2147483648 (Unix seconds past 2^31) ({r.stderr.strip()})')
        r, rows = history(bodydiag, db, '--until', '2038-01-19T03:14:08Z')
        check(r.returncode == 0 and rows == [], f'--until 2038-01-19T03:14:08Z: none ({r.stderr.strip()})')
        r, rows = history(bodydiag, db, '--since', '2039-01-01T00:00:00Z', '--until', '2039-01-02')
        check(r.returncode == 0 and len(rows) == len(before), '--since/--until around 2039-01-01')

        report = os.path.join(tmp, 'report.html')
        r = subprocess.run([bodydiag, 'report', '--db', db, '--session', session, '-o', report],
                           capture_output=True, text=True, timeout=60)
        text = open(report, encoding='utf-8').read() if r.returncode == 0 else ''
        check('2039-01-01T00:00:00.000Z' in text and '1902-' not in text and '1970-' not in text,
              f'report shows 2039-01-01T00:00:00.000Z ({r.stderr.strip()})')
    print(f'{"FAIL" if failures else "ok"}: {len(failures)} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
