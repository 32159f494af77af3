#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag decode` end to end on a hand-written DBC and log: the exact --json lines
(integers, shortest floats, "nan"/"inf" strings, uint64, choices, error key, unknown ids,
remote and error frames left out, Windows-1252 labels) and the text form (values rounded
to 15 digits for people).

Usage: test-decode-cli.py BODYDIAG
"""
import json
import os
import subprocess
import sys
import tempfile

DBC = b"""VERSION ""
BU_: ECU
BO_ 291 Msg: 8 ECU
 SG_ Mode : 0|8@1+ (1,0) [0|0] "" ECU
 SG_ Speed : 8|16@1+ (0.5,0) [0|0] "km/h" ECU
 SG_ Neg : 24|8@1- (1,-100) [0|0] "" ECU
BO_ 2147484160 Dbl: 8 ECU
 SG_ D : 0|64@1- (1,0) [0|0] "" ECU
BO_ 512 F: 4 ECU
 SG_ F32 : 0|32@1+ (1,0) [0|0] "" ECU
BO_ 513 U: 8 ECU
 SG_ Big : 0|64@1+ (1,0) [0|0] "" ECU
SIG_VALTYPE_ 2147484160 D : 2;
SIG_VALTYPE_ 512 F32 : 1;
VAL_ 291 Mode 1 "On" 2 "Gr\xfcn \\"2\\"" ;
"""

LOG = """(0000000012.000100) can0 123#0164000A00000000
(12.000200) can0 123#02
(12.000300) can0 123#R
(12.000400) can0 20000004#0000000000000000
(12.000500) can0 00000200#000000000000F87F
(12.000600) can0 200#0000807F
(12.000700) can0 200#000080FF
(12.000800) can0 201#FFFFFFFFFFFFFFFF
(12.000900) can0 7FF#00
not a log line
(12.001000) can0 201##1FFFFFFFFFFFFFFFF
"""

EXPECTED = [
    '{"t": 12.000100, "iface": "can0", "id": 291, "ext": false, "len": 8, "msg": "Msg", '
    '"signals": {"Mode": 1, "Speed": 50.0, "Neg": -90}, "choices": {"Mode": "On"}}',
    '{"t": 12.000200, "iface": "can0", "id": 291, "ext": false, "len": 1, "msg": "Msg", '
    '"signals": {"Mode": 2}, "choices": {"Mode": "Gr\u00fcn \\"2\\""}, '
    '"error": "frame is 1 bytes, message is 8 bytes"}',
    '{"t": 12.000500, "iface": "can0", "id": 512, "ext": true, "len": 8, "msg": "Dbl", '
    '"signals": {"D": "nan"}}',
    '{"t": 12.000600, "iface": "can0", "id": 512, "ext": false, "len": 4, "msg": "F", '
    '"signals": {"F32": "inf"}}',
    '{"t": 12.000700, "iface": "can0", "id": 512, "ext": false, "len": 4, "msg": "F", '
    '"signals": {"F32": "-inf"}}',
    '{"t": 12.000800, "iface": "can0", "id": 513, "ext": false, "len": 8, "msg": "U", '
    '"signals": {"Big": 18446744073709551615}}',
    '{"t": 12.000900, "iface": "can0", "id": 2047, "ext": false, "len": 1, "msg": null, '
    '"signals": {}}',
    '{"t": 12.001000, "iface": "can0", "id": 513, "ext": false, "len": 8, "msg": "U", '
    '"signals": {"Big": 18446744073709551615}}',
]


def run(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True, encoding="utf-8")


def screen_and_wrong_files(exe, tmp):
    """candump's screen format with a timestamp decodes like the log format; without one
    the reason says how to record (once per file, then a count); a DBC with no messages
    and a DBC that matches no frame of the capture are warned about without --verbose."""
    failures = 0
    dbc = os.path.join(tmp, "s.dbc")
    with open(dbc, "wb") as f:
        f.write(b'BO_ 291 Msg: 2 X\n SG_ A : 0|8@1+ (1,0) [0|0] "" X\n')
    ta = os.path.join(tmp, "ta.log")
    with open(ta, "w") as f:
        f.write(" (1700000000.000100)  can0  123   [2]  07 00\n"
                " (1700000000.000200)  can0  00000123   [2]  08 00\n")
    p = run(exe, "decode", "--json", "--dbc", dbc, ta)
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    if p.returncode != 0 or len(lines) != 2 or lines[0]["signals"] != {"A": 7} \
            or lines[1]["ext"] is not True or lines[1]["signals"] != {"A": 8}:
        print(f"candump -ta screen lines: exit {p.returncode}, {p.stdout!r} {p.stderr!r}")
        failures += 1
    plain = os.path.join(tmp, "plain.log")
    with open(plain, "w") as f:
        f.write("  can0  123   [2]  07 00\n" * 40)
    p = run(exe, "decode", "--dbc", dbc, plain)
    if p.returncode == 0 or "candump -L" not in p.stderr or \
            p.stderr.count(": bad line: ") != 5 or "35 more bad lines" not in p.stderr:
        print(f"plain candump output: exit {p.returncode}, {p.stderr!r}")
        failures += 1
    garbage = os.path.join(tmp, "garbage.dbc")
    with open(garbage, "w") as f:
        f.write("hello world\nthis is not a DBC\n")
    p = run(exe, "decode", "--dbc", garbage, ta)
    if "no messages" not in p.stderr or "unknown statement 'hello'" not in p.stderr:
        print(f"garbage DBC not warned about: {p.stderr!r}")
        failures += 1
    other = os.path.join(tmp, "other.dbc")
    with open(other, "wb") as f:
        f.write(b'BO_ 1024 Other: 8 X\n SG_ B : 0|8@1+ (1,0) [0|0] "" X\n')
    p = run(exe, "decode", "--dbc", other, ta)
    if p.returncode != 0 or "none of the 2 frames" not in p.stderr:
        print(f"DBC of another vehicle not warned about: {p.returncode} {p.stderr!r}")
        failures += 1
    return failures


def readable_text(exe, tmp):
    """--json keeps the exact double (what cantools gives); the text form rounds to 15
    digits for people: 23 * 0.1 is 2.3000000000000003 there and 2.3 here."""
    dbc = os.path.join(tmp, "tenth.dbc")
    with open(dbc, "wb") as f:
        f.write(b'BO_ 291 Msg: 1 X\n SG_ Tenth : 0|8@1+ (0.1,0) [0|0] "V" X\n')
    log = os.path.join(tmp, "tenth.log")
    with open(log, "w") as f:
        f.write("(1.000000) can0 123#17\n")
    p = run(exe, "decode", "--json", "--dbc", dbc, log)
    if '"Tenth": 2.3000000000000003}' not in p.stdout:
        print(f"--json float: {p.stdout!r}")
        return 1
    p = run(exe, "decode", "--dbc", dbc, log)
    # one clock: seconds from the first frame; 1 s since 1970 is no wall clock, so no
    # UTC time is named
    if p.stdout.strip() != ("# times are seconds from the first frame\n"
                            "(0.000000) can0 123#17 :: Msg(Tenth: 2.3 V)"):
        print(f"text float: {p.stdout!r}")
        return 1
    return 0


def main():
    exe = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        dbc = os.path.join(tmp, "t.dbc")
        log = os.path.join(tmp, "t.log")
        with open(dbc, "wb") as f:
            f.write(DBC)
        with open(log, "w") as f:
            f.write(LOG)
        p = subprocess.run([exe, "decode", "--json", "--dbc", dbc, log], capture_output=True,
                           text=True, encoding="utf-8")
        got = p.stdout.splitlines()
        if p.returncode != 0:
            print(f"exit {p.returncode}: {p.stderr}")
            failures += 1
        if "t.log:10: bad line: missing '(' timestamp" not in p.stderr:
            print(f"bad line not reported: {p.stderr!r}")
            failures += 1
        for i, want in enumerate(EXPECTED):
            line = got[i] if i < len(got) else None
            if line != want:
                print(f"line {i + 1}:\n  want {want}\n  got  {line}")
                failures += 1
            else:
                json.loads(line)
        if len(got) != len(EXPECTED):
            print(f"{len(got)} lines, want {len(EXPECTED)}")
            failures += 1

        p = subprocess.run([exe, "decode", "--strict", "--json", "--dbc", dbc, log],
                           capture_output=True, text=True)
        if p.returncode == 0 or len(p.stdout.splitlines()) != 7:
            print(f"--strict: exit {p.returncode}, {len(p.stdout.splitlines())} lines")
            failures += 1

        p = subprocess.run([exe, "decode", "--dbc", dbc, log], capture_output=True, text=True,
                           encoding="utf-8")
        lines = p.stdout.splitlines()
        first = lines[1] if len(lines) > 1 else ""
        want = "(0.000000) can0 123#0164000A00000000 :: Msg(Mode: 'On', Speed: 50.0 km/h, Neg: -90)"
        if first != want or lines[0] != "# times are seconds from the first frame":
            print(f"text form:\n  want {want}\n  got  {first}")
            failures += 1

        with open(dbc, "wb") as f:
            f.write(b"BO_ 1 M: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" X\n SG_ T : 0|8@3+\n")
        p = subprocess.run([exe, "decode", "--json", "--dbc", dbc, log], capture_output=True,
                           text=True)
        if p.returncode == 0 or f"{dbc}:3:14: error: expected byte order 0 or 1" not in p.stderr:
            print(f"DBC error not reported with file:line:column: {p.stderr!r}")
            failures += 1
        failures += screen_and_wrong_files(exe, tmp)
        failures += readable_text(exe, tmp)
    print("decode-cli:", "ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
