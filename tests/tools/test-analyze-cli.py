#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag analyze` end to end: the text and --json reports of a simulator capture,
marks from a side file and from `# mark` lines, diagnostic traffic in a capture (an
ISO-TP DTC read turned into DTC events), and a clear file:line[:column] error for every
kind of bad input.

Usage: test-analyze-cli.py BODYDIAG BODYDIAG_SIM
"""
import json
import os
import subprocess
import sys
import tempfile

BODYDIAG, SIM = sys.argv[1], sys.argv[2]
ROOT = os.environ.get("BODYDIAG_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DBC = os.path.join(ROOT, "dbc/bodydiag-sim.dbc")
PROFILE = os.path.join(ROOT, "profiles/sim-2026.profile")
RULES = os.path.join(ROOT, "rules/trunk.rules")
FILES = ["--dbc", DBC, "--profile", PROFILE, "--rules", RULES]
failures = 0


def run(*args):
    return subprocess.run([BODYDIAG, "analyze", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def check(what, cond, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL: {what}\n{detail}")
    else:
        print(f"ok: {what}")


def expect_error(what, args, status, needle):
    p = run(*args)
    check(what, p.returncode == status and needle in p.stderr,
          f"status {p.returncode}, stderr:\n{p.stderr}")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        scn, log, marks = (os.path.join(tmp, n) for n in ("f.scn", "f.log", "f.marks"))
        write(scn, "format 1\nseed 2\nfault fuse_blown\njitter 5ms\nnoise 20/s\n"
                   "at 2s press fob_trunk\nat 5s press interior\nat 8s key_blade\nend 14s\n")
        subprocess.run([SIM, "--scenario", scn, "--candump", log, "--marks", marks], check=True)

        p = run(*FILES, "--marks", marks, log)
        check("text report", p.returncode == 0 and "verdict: fault" in p.stdout
              and "\n1. fuse_blown: Trunk release fuse blown" in p.stdout
              and "advice: Check the trunk release fuse" in p.stdout
              and "rules out: hinge_wiring_open" in p.stdout
              and "signal TrunkFuseVoltage = 0" in p.stdout, p.stdout + p.stderr)
        p = run(*FILES, "--marks", marks, "--json", log)
        res = json.loads(p.stdout)
        top = res["findings"][0]
        check("json report", res["verdict"] == "fault" and top["id"] == "fuse_blown"
              and top["state"] == "holds" and top["kind"] == "cause"
              and res["marks"] == 3 and res["frames"] > 1000
              and any(e["kind"] == "absent" for e in top["evidence"])
              and all("t" in e and "text" in e for e in top["evidence"]), p.stdout)
        # defaults: the source tree's simulated car
        p = run("--marks", marks, log)
        check("default files", p.returncode == 0 and "1. fuse_blown" in p.stdout, p.stderr)
        # without marks nothing was pressed: the fob question comes first
        p = run(*FILES, "--json", log)
        res = json.loads(p.stdout)
        check("no marks: inconclusive, asks for the fob",
              res["verdict"] == "inconclusive" and res["next_question"]
              and res["next_question"]["mark"] == "fob_trunk_pressed", p.stdout)
        # `# mark` lines and comments inside the capture
        inline = os.path.join(tmp, "inline.log")
        ms = [l.split() for l in open(marks) if l.strip()]
        lines = open(log).readlines()
        out = ["# recorded by the test\n"]
        k = 0
        for line in lines:
            t = float(line[1:line.index(")")])
            while k < len(ms) and float(ms[k][0]) <= t:
                out.append(f"#  mark {ms[k][0]} {ms[k][2]}   # pressed\n")
                k += 1
            out.append(line)
        write(inline, "".join(out))
        p = run(*FILES, "--json", inline)
        res = json.loads(p.stdout)
        check("marks inside the capture", res["marks"] == 3
              and res["findings"][0]["id"] == "fuse_blown", p.stdout + p.stderr)
        p = subprocess.run([BODYDIAG, "analyze", *FILES, "-"], input="".join(out),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check("capture on stdin", "1. fuse_blown" in p.stdout, p.stderr)

        # diagnostic traffic: the guided test read the BCM's DTCs (19 02 FF, multi-frame
        # answer with flow control) during the capture
        diag = os.path.join(tmp, "diag.log")
        write(diag,
              "(1767225600.000000) can0 726#031902FFAAAAAAAA\n"
              "(1767225600.010000) can0 72E#100B59027F9A4011\n"
              "(1767225600.011000) can0 726#300000AAAAAAAAAA\n"
              "(1767225600.012000) can0 72E#2109F00049082AAA\n")
        p = run(*FILES, "--json", diag)
        res = json.loads(p.stdout)
        check("ISO-TP DTC read in the capture", res["diagnostic_frames"] == 4
              and res["findings"][0]["id"] == "hinge_wiring_short"
              and res["findings"][0]["state"] == "holds", p.stdout + p.stderr)

        # ---- errors ----
        expect_error("missing capture", [*FILES, os.path.join(tmp, "nope.log")], 1,
                     "nope.log: No such file or directory")
        expect_error("missing marks file", [*FILES, "--marks", os.path.join(tmp, "nope"), log],
                     1, "nope: No such file or directory")
        bad = os.path.join(tmp, "bad.marks")
        for text, needle in [
            ("1767225602.0 mark fob_trunk_pressed\nx mark a\n",
             "bad.marks:2:1: error: expected a time"),
            ("# c\n\n1767225602.5x mark a\n", "bad.marks:3:13: error: malformed time"),
            ("1767225602 press a\n", "bad.marks:1:12: error: expected 'mark' after the time"),
            ("1767225602 mark\n", "bad.marks:1:16: error: missing mark name"),
            ("1767225602 mark 9a\n", "bad.marks:1:17: error: invalid mark name"),
            ("1767225602 mark a-b\n", "bad.marks:1:18: error: invalid mark name"),
            ("1767225602 mark a b\n", "bad.marks:1:19: error: unexpected text after the mark"),
            ("1767225602 mark " + "a" * 128 + "\n", "bad.marks:1:17: error: mark name longer"),
            ("1767225602 mark a\x00\n", "bad.marks:1:18: error: NUL byte"),
        ]:
            write(bad, text)
            expect_error(f"marks file: {needle}", [*FILES, "--marks", bad, log], 1, needle)
        write(bad, "1767225602 mark a\r\n")
        p = run(*FILES, "--marks", bad, log)
        check("marks file with CRLF", p.returncode == 0, p.stderr)

        badlog = os.path.join(tmp, "bad.log")
        write(badlog, lines[0] + "# mark 12x fob_trunk_pressed\n" + lines[1])
        expect_error("bad # mark line", [*FILES, badlog], 1, "bad.log:2:10: error: malformed time")
        write(badlog, lines[0] + "(1767225600.5) can0 12G#00\n" + lines[1] + "x" * 600 + "\n")
        p = run(*FILES, badlog)
        check("bad capture lines are reported and skipped",
              p.returncode == 0 and "bad.log:2: warning: bad line" in p.stderr
              and "bad.log:4: warning: bad line: longer than 512 bytes" in p.stderr
              and "2 bad lines skipped" in p.stdout, p.stdout + p.stderr)
        expect_error("--strict stops at the first bad line", [*FILES, "--strict", badlog], 1,
                     "bad.log:2: error: bad line")
        write(badlog, "(1767225600.5) can0 800#00\n")
        expect_error("invalid frame", [*FILES, "--strict", badlog], 1, "bad.log:1: error: bad line")

        baddbc = os.path.join(tmp, "bad.dbc")
        write(baddbc, 'VERSION ""\nBO_ x\n')
        expect_error("bad DBC", ["--dbc", baddbc, "--profile", PROFILE, "--rules", RULES, log], 1,
                     "bad.dbc:2:")
        badprof = os.path.join(tmp, "bad.profile")
        write(badprof, "format = 1\n[vehicle]\nmake = x\nplatform = y\n[ecu 9]\n")
        expect_error("bad profile", ["--dbc", DBC, "--profile", badprof, "--rules", RULES, log], 1,
                     "bad.profile:5:")
        badrules = os.path.join(tmp, "bad.rules")
        write(badrules, "format 1\nrule a \"A\"\n\twhen signal X > \n")
        expect_error("bad rules", ["--dbc", DBC, "--profile", PROFILE, "--rules", badrules, log], 1,
                     "bad.rules:3:")
        expect_error("no capture", FILES, 1, "Usage: bodydiag analyze")
        p = run("--help")
        check("--help names the defaults", p.returncode == 0 and "source tree" in p.stdout
              and "# mark SECONDS.MICROS NAME" in p.stdout, p.stdout)

    print(f"{'FAILED' if failures else 'all passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
