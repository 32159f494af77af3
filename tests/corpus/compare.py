#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare `bodydiag decode --json` with the reference decoder's answers.

Usage: compare.py BODYDIAG CORPUS_DIR [FILTER]

For every row of CORPUS_DIR/manifest.tsv, decodes the capture with the DBC and compares
line by line as CORPUS_DIR/README.md says: same number of lines, same id, ext and msg;
for reference lines without "error" the same signal names, integers equal, floats
within 1e-9 relative (integers and floats may not stand in for each other), the same
choices; for lines with "error" any well-formed object. Prints one line per difference,
then "N/M files" and exits non-zero unless every file matched.
"""
import json
import math
import os
import subprocess
import sys

REL = 1e-9
MAX_REPORT = 5


def special(v):
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def same_value(exp, got, typed):
    exp, got = special(exp), special(got)
    if isinstance(exp, bool) or isinstance(got, bool):
        return exp is got
    if not isinstance(exp, (int, float)) or not isinstance(got, (int, float)):
        return False
    if typed and type(exp) is not type(got):
        return False
    if isinstance(exp, int) and isinstance(got, int):
        return exp == got
    exp, got = float(exp), float(got)
    if math.isnan(exp) or math.isnan(got):
        return math.isnan(exp) and math.isnan(got)
    if math.isinf(exp) or math.isinf(got):
        return exp == got
    return abs(exp - got) <= REL * max(abs(exp), abs(got)) or exp == got


def compare_line(exp, got):
    for key in ("id", "ext", "msg", "iface", "len"):
        if exp.get(key) != got.get(key):
            return f"{key}: expected {exp.get(key)!r}, got {got.get(key)!r}"
    if not same_value(exp.get("t"), got.get("t"), False) or abs(
            float(exp["t"]) - float(got["t"])) > 1e-6:
        return f"t: expected {exp.get('t')!r}, got {got.get('t')!r}"
    if not isinstance(got.get("signals"), dict):
        return "signals missing"
    if "error" in exp:
        return None
    es, gs = exp["signals"], got["signals"]
    if set(es) != set(gs):
        missing = sorted(set(es) - set(gs))
        extra = sorted(set(gs) - set(es))
        return f"signals differ: missing {missing}, extra {extra}, error {got.get('error')!r}"
    # the canmatrix fallback lines ("decoder") do not follow cantools' int/float typing
    typed = "decoder" not in exp
    for name, v in es.items():
        if not same_value(v, gs[name], typed):
            return f"signal {name}: expected {v!r}, got {gs[name]!r}"
    if exp.get("choices", {}) != got.get("choices", {}):
        return f"choices: expected {exp.get('choices', {})!r}, got {got.get('choices', {})!r}"
    return None


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    exe, corpus = sys.argv[1], sys.argv[2]
    filt = sys.argv[3] if len(sys.argv) > 3 else None
    manifest = os.path.join(corpus, "manifest.tsv")
    if not os.path.exists(manifest):
        print(f"corpus missing: {manifest} not found (expected ../shared/corpus beside the source tree)")
        return 1
    rows = []
    with open(manifest, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    if filt:
        rows = [r for r in rows if filt in r["dbc"] or filt in r["capture"]]
    ok = 0
    for row in rows:
        paths = [os.path.join(corpus, row[k]) for k in ("dbc", "capture", "expected")]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            print(f"FAIL {row['expected']}: corpus file missing: {', '.join(missing)}")
            continue
        proc = subprocess.run([exe, "decode", "--json", "--dbc", paths[0], paths[1]],
                              capture_output=True, text=True, encoding="utf-8")
        if proc.returncode != 0:
            print(f"FAIL {row['expected']}: exit {proc.returncode}: {proc.stderr.strip()[:500]}")
            continue
        got = proc.stdout.splitlines()
        with open(paths[2], encoding="utf-8") as f:
            exp = [line for line in f.read().splitlines() if line.strip()]
        problems = []
        if len(got) != len(exp):
            problems.append(f"{len(got)} lines, expected {len(exp)}")
        for i, (e, g) in enumerate(zip(exp, got), 1):
            try:
                gj = json.loads(g)
            except ValueError as err:
                problems.append(f"line {i}: not JSON ({err}): {g[:200]}")
                continue
            why = compare_line(json.loads(e), gj)
            if why:
                problems.append(f"line {i}: {why}")
            if len(problems) >= MAX_REPORT:
                break
        if problems:
            print(f"FAIL {row['expected']} ({row['reference_load']}):")
            for p in problems:
                print(f"    {p}")
        else:
            ok += 1
    print(f"{ok}/{len(rows)} files")
    return 0 if ok == len(rows) and rows else 1


if __name__ == "__main__":
    sys.exit(main())
