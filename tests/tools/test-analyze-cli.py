#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag analyze` end to end: the text and --json reports of a simulator capture,
marks from a side file and from `# mark` lines, diagnostic traffic in a capture (an
ISO-TP DTC read turned into DTC events), the vehicle's data found from the profile alone
(its own `dbc =`, the rules beside it) or by name in the data directory, never a silent
default, and a clear error (file:line:column where there is one) or warning for every
kind of bad input: a missing or mismatching profile, a rule naming an unknown role, an
empty capture, a capture from another car; and issue 17's report (the key blade turned
2 s after the interior button) diagnosed right.

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
FILES = ["--profile", PROFILE]
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
              and "signal fuse_voltage = 0 V" in p.stdout
              and "\nrelease chain:\n" in p.stdout
              and "current   failing" in p.stdout
              and "ajar             closed -> open" in p.stdout, p.stdout + p.stderr)
        # the top section first, in sentences: what `diagnose` ends with and the report
        # begins with; one clock (the capture's start once, in UTC)
        check("text summary", p.stdout.index("\nanswer: Most likely cause: Trunk release fuse "
                                              "blown (the BCM commanded the release output, but "
                                              "the actuator did not draw its working current).")
              < p.stdout.index("---- details ----")
              and "times are seconds from the start of the capture, 2026-01-01T00:00:00" in p.stdout
              and "  Current         seen failing" in p.stdout
              and "  1. Trunk release fuse blown (fuse_blown): found\n" in p.stdout
              and "the actuator current never rose above 0.5 A." in p.stdout
              and "what to do: Check the trunk release fuse" in p.stdout
              and "1767225" not in p.stdout, p.stdout)
        q = run(*FILES, "--marks", marks, "--summary", log)
        check("--summary", q.returncode == 0 and "answer: Most likely cause" in q.stdout
              and "details" not in q.stdout and "body events" not in q.stdout, q.stdout)
        p = run(*FILES, "--marks", marks, "--json", log)
        res = json.loads(p.stdout)
        top = res["findings"][0]
        chain = {l["link"]: l for l in res["chain"]}
        events = [(e["role"], e["from"], e["to"]) for e in res["body_events"]]
        check("json report", res["verdict"] == "fault" and top["id"] == "fuse_blown"
              and top["state"] == "holds" and top["kind"] == "cause"
              and res["marks"] == 3 and res["frames"] > 1000
              and any(e["kind"] == "absent" for e in top["evidence"])
              and all("t" in e and "text" in e and "at" in e and "event" in e
                      for e in top["evidence"])
              and any(e["event"] == {"type": "mark", "mark": "fob_trunk_pressed"}
                      for e in top["evidence"])
              and res["thresholds"]["actuator_current"][:2] == [0.25, 0.5]
              and res["t0"] > 1.7e9 and res["dtcs"] == []
              and res["vehicle"]["dbc"].endswith("bodydiag-sim.dbc")
              and res["vehicle"]["rules"].endswith("trunk.rules")
              and res["warnings"] == []
              and list(chain) == ["fob", "receiver", "request", "output", "current", "latch",
                                  "ajar"]
              and chain["current"]["state"] == "failing"
              and chain["output"]["state"] == "working"
              and chain["ajar"]["state"] == "working"   # the key blade opened it
              and ("release_request", "none", "fob") in events
              and ("actuator_cmd", "off", "on") in events
              and ("ajar", "closed", "open") in events
              and res["roles"]["fuse_voltage"]["max"] < 1
              and res["roles"]["lockout_timer"] == {"link": "output", "broadcast": False,
                                                   "did": True, "samples": 0}, p.stdout)
        # the DID-only roles were never read: what needs them cannot be told
        nobs = {f["id"]: f for f in res["findings"] if f["state"] == "not observable"}
        check("not observable findings name what they need",
              "release_blocked_lockout" in nobs
              and {"what": "lockout_timer", "why": "diagnostic connection only, not read"}
              in nobs["release_blocked_lockout"]["missing"]
              and all(f["score"] == 0 for f in nobs.values()), p.stdout)
        # no silent default: the vehicle must be named
        p = run("--marks", marks, log)
        check("no profile: an error, not the simulator", p.returncode == 1
              and "which vehicle? Give --profile FILE" in p.stderr and not p.stdout, p.stderr)
        # by name, from the data directory ($BODYDIAG_DATADIR here: the source tree has the
        # installed layout)
        p = subprocess.run([BODYDIAG, "analyze", "--vehicle", "sim", "--marks", marks, log],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, BODYDIAG_DATADIR=ROOT))
        check("--vehicle sim", p.returncode == 0 and "1. fuse_blown" in p.stdout, p.stderr)
        p = subprocess.run([BODYDIAG, "analyze", "--vehicle", "nosuchcar", log],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, BODYDIAG_DATADIR=ROOT))
        check("--vehicle unknown", p.returncode == 1
              and "no vehicle 'nosuchcar'" in p.stderr, p.stderr)
        expect_error("--profile and --vehicle", ["--profile", PROFILE, "--vehicle", "sim", log], 1,
                     "give --profile or --vehicle, not both")
        # a profile whose DBC is not where it says: no fallback
        lone = os.path.join(tmp, "lone.profile")
        write(lone, open(PROFILE).read())
        expect_error("profile's DBC missing", ["--profile", lone, log], 1,
                     "its DBC 'bodydiag-sim.dbc' is not in " + os.path.join(tmp, "bodydiag-sim.dbc"))
        p = run("--profile", lone, "--dbc", DBC, "--rules", RULES, "--json", "--marks", marks, log)
        check("--dbc and --rules override", p.returncode == 0
              and json.loads(p.stdout)["findings"][0]["id"] == "fuse_blown", p.stderr)
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
              p.returncode == 0 and "bad.log:2: bad line: " in p.stderr
              and "bad.log:4: bad line: longer than 512 bytes" in p.stderr
              and "2 bad lines skipped" in p.stdout, p.stdout + p.stderr)
        # a wrong file must not flood the terminal: five shown, the rest counted
        write(badlog, lines[0] + "garbage\n" * 12 + lines[1])
        p = run(*FILES, badlog)
        check("bad capture lines: the first five shown, then a count",
              p.returncode == 0 and p.stderr.count(": bad line: ") == 5
              and "bad.log: 7 more bad lines not shown (12 in all)" in p.stderr
              and "12 bad lines skipped" in p.stdout, p.stdout + p.stderr)
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
        # a profile that maps a role to a signal its DBC does not have
        text = open(PROFILE).read().replace("dbc_signal = BCM_TrunkStatus.TrunkAjar",
                                            "dbc_signal = BCM_TrunkStatus.TrunkAjr")
        write(badprof, text)
        line = text[:text.index("TrunkAjr")].count("\n") + 1
        expect_error("profile and DBC mismatch",
                     ["--dbc", DBC, "--profile", badprof, "--rules", RULES, log], 1,
                     f"bad.profile:{line}:14: error: message 'BCM_TrunkStatus' of the DBC has no "
                     "signal 'TrunkAjr'")
        write(badprof, open(PROFILE).read() + "[role ajar]\ndbc_signal = BCM_TrunkStatus.TrunkAjar\n"
              "map = closed:closed, open:open\nsource = x\ngrade = A\n")
        expect_error("profile maps a label the DBC lacks",
                     ["--dbc", DBC, "--profile", badprof, "--rules", RULES, log], 1,
                     "signal 'TrunkAjar' has no value label 'open'")
        write(badprof, open(PROFILE).read() + "[role trunk_ajar]\n")
        expect_error("profile names an unknown role", ["--dbc", DBC, "--profile", badprof, log], 1,
                     "unknown role 'trunk_ajar'")
        badrules = os.path.join(tmp, "bad.rules")
        write(badrules, "format 2\nrule a \"A\"\n\twhen signal TrunkAjar == 1\n")
        expect_error("rule with an unknown signal", ["--profile", PROFILE, "--rules", badrules, log],
                     1, "bad.rules:3:14: error: unknown role 'TrunkAjar' (rules name chain roles, "
                     "not vehicle signals")
        write(badrules, "format 2\nrule a \"A\"\n\twhen signal ajar == ajar\n")
        expect_error("rule with an unknown label", ["--profile", PROFILE, "--rules", badrules, log],
                     1, "bad.rules:3:22: error: unknown value 'ajar' of role 'ajar' (closed, open)")
        write(badrules, "format 1\nrule a \"A\"\n\twhen signal TrunkAjar == 1\n")
        expect_error("a format 1 rule file", ["--profile", PROFILE, "--rules", badrules, log], 1,
                     "bad.rules:1:8: error: format 1 names vehicle signals")
        # an empty capture is an error, not a list of causes
        empty = os.path.join(tmp, "empty.log")
        write(empty, "")
        expect_error("empty capture", [*FILES, empty], 1, "empty.log: no CAN frames")
        write(empty, "# only a comment\nnot a frame\n")
        expect_error("capture without frames", [*FILES, empty], 1,
                     "empty.log: no CAN frames (2 lines, all bad)")
        # a capture from another car: few frames decode, none carries a role
        other = os.path.join(tmp, "other.log")
        write(other, "".join(f"(1700000000.{i:06d}) can0 {0x100 + i % 7:03X}#0011223344556677\n"
                             for i in range(200)) + "(1700000000.500000) can0 3A0#0000000000000000\n")
        p = run(*FILES, "--json", other)
        res = json.loads(p.stdout)
        check("capture from another vehicle: a warning naming the mismatch",
              p.returncode == 0 and "only 0 % of the frames (1 of 201)" in p.stderr
              and "is the capture from this vehicle (bodydiag sim-2026)" in p.stderr
              and len(res["warnings"]) == 1, p.stdout + p.stderr)
        write(other, "".join(f"(1700000000.{i:06d}) can0 123#00000000\n" for i in range(20)))
        p = run(*FILES, "--json", other)
        res = json.loads(p.stdout)
        chain = {l["link"]: l for l in res["chain"]}
        check("none of the role messages in the capture",
              p.returncode == 0 and "none of the 6 messages that carry this profile's roles" in p.stderr
              and "BCM_TrunkStatus 0x3A0" in p.stderr and len(res["warnings"]) == 2
              and res["body_events"] == []
              and all(l["state"] == "not observable" for l in chain.values())
              and chain["ajar"]["why"] == "its messages are not in the capture"
              and not any(f["state"] == "possible" for f in res["findings"]),
              p.stdout + p.stderr)
        # issue 17, as a user found it: a person does not wait 4 s between tries. The key
        # blade opens the lid 2 s after the interior press, inside its window; that
        # opening is the key blade's (no request shown), so the interior press failed.
        for fault in ("hinge_wiring_open", "actuator_worn"):
            write(scn, f"format 1\nseed 3\nfault {fault}\nat 1.5s press fob_trunk\n"
                       "at 3s close_lid\nat 4s press interior\nat 6s key_blade\nend 12s\n")
            subprocess.run([SIM, "--scenario", scn, "--candump", log, "--marks", marks],
                           check=True)
            p = run(*FILES, "--marks", marks, "--json", log)
            res = json.loads(p.stdout)
            check(f"{fault}: the key blade's opening is not the interior button's",
                  p.returncode == 0 and res["verdict"] == "fault"
                  and res["findings"][0]["id"] == fault, p.stdout + p.stderr)
        expect_error("no capture", FILES, 1, "Usage: bodydiag analyze")
        p = run("--help")
        check("--help names the options", p.returncode == 0 and "--vehicle NAME" in p.stdout
              and "# mark SECONDS.MICROS NAME" in p.stdout, p.stdout)

    print(f"{'FAILED' if failures else 'all passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
