#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag changes`: the signals that changed around each mark, ranked, so a person can
find their own car's fob, lock, door and trunk signals (docs/vehicle-profiles.md).

On a bodydiag-sim capture of the standard test (fob press, interior button, key blade)
the signals the simulator drives at each action must rank above the rolling counters and
checksums; without marks every changed signal is listed, the rarest first; a real capture
(the Civic Type R drive, in-tree) is read with a profile that annotates the roles; and
every usage mistake is a clear error.

Usage: test-changes-cli.py BODYDIAG BODYDIAG_SIM
"""
import json
import os
import subprocess
import sys
import tempfile

BODYDIAG, SIM = sys.argv[1], sys.argv[2]
ROOT = os.environ.get("BODYDIAG_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
PROFILE = os.path.join(ROOT, "profiles/sim-2026.profile")
DBC = os.path.join(ROOT, "dbc/bodydiag-sim.dbc")
failures = 0

SCENARIO = """format 1
seed 4
fault healthy
at 2s press fob_trunk
at 4.5s close_lid
at 6s press interior
at 8.5s close_lid
at 10s key_blade
end 16s
"""


def check(what, cond, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL: {what}\n{detail}")
    else:
        print(f"ok: {what}")


def run(*args):
    return subprocess.run([BODYDIAG, "changes", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def error(what, args, needle):
    p = run(*args)
    check(what, p.returncode == 1 and needle in p.stderr, p.stdout + p.stderr)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        scn, log, marks = (os.path.join(tmp, n) for n in ("t.scn", "t.log", "t.marks"))
        with open(scn, "w") as f:
            f.write(SCENARIO)
        p = subprocess.run([SIM, "--scenario", scn, "--candump", log, "--marks", marks],
                           stderr=subprocess.PIPE, text=True)
        if p.returncode:
            sys.exit(f"bodydiag-sim: {p.stderr}")

        p = run("--profile", PROFILE, "--marks", marks, "--limit", "0", "--json", log)
        check("changes --json runs", p.returncode == 0, p.stderr)
        res = json.loads(p.stdout)
        by_mark = {m["name"]: m for m in res["marks"]}
        check("three marks", sorted(by_mark) == ["fob_trunk_pressed", "interior_pressed",
                                                 "key_blade_turned"], str(sorted(by_mark)))

        def rank(mark, name):
            sigs = [s["message"] + "." + s["signal"] for s in by_mark[mark]["signals"]]
            return sigs.index(name) if name in sigs else None, sigs

        def counters_below(mark, name):
            r, sigs = rank(mark, name)
            noise = [i for i, s in enumerate(sigs) if "Counter" in s or "Checksum" in s]
            return r is not None and all(r < i for i in noise)

        # what the simulator drives at each action (bodydiag-sim's model): the fob's
        # button and telegram status at the press, the cabin switch at the interior
        # button, the ajar switch at the key blade; each above every counter/checksum
        for mark, name in [("fob_trunk_pressed", "BCM_RkeStatus.RkeButton"),
                           ("fob_trunk_pressed", "BCM_RkeStatus.RkeTelegramStatus"),
                           ("fob_trunk_pressed", "BCM_TrunkStatus.TrunkActuatorCmd"),
                           ("interior_pressed", "BCM_TrunkStatus.TrunkInteriorSwitch"),
                           ("interior_pressed", "BCM_TrunkStatus.TrunkReleaseRequest"),
                           ("key_blade_turned", "BCM_TrunkStatus.TrunkAjar")]:
            check(f"{name} ranks above the counters around {mark}", counters_below(mark, name),
                  str(rank(mark, name)))
        r, sigs = rank("key_blade_turned", "BCM_TrunkStatus.TrunkAjar")
        check("the lid is the first change at the key blade", r == 0, str(sigs))
        fob = {s["signal"]: s for s in by_mark["fob_trunk_pressed"]["signals"]}
        b = fob.get("RkeButton", {})
        check("the fob button change reads NONE -> TRUNK, with its role",
              b.get("nearest", {}).get("from", {}).get("text") == "NONE"
              and b.get("nearest", {}).get("to", {}).get("text") == "TRUNK"
              and b.get("role") == "fob_event" and 0 < b["nearest"]["dt"] < 0.5, str(b))
        check("a signal no profile maps has no role",
              fob.get("RkeTelegramCounter", {}).get("role", "x") is None, str(fob.get("RkeTelegramCounter")))

        # the text form says the same, the counters further down
        p = run("--dbc", DBC, "--marks", marks, log)
        check("text output with --dbc alone", p.returncode == 0
              and "around mark fob_trunk_pressed at +" in p.stdout
              and "BCM_RkeStatus.RkeButton" in p.stdout and "NONE -> TRUNK" in p.stdout
              and "[role" not in p.stdout, p.stdout + p.stderr)

        # without marks: every changed signal, the rarest first
        p = run("--dbc", DBC, "--json", "--limit", "0", log)
        res = json.loads(p.stdout)
        counts = [s["changes"] for s in res["changed"]]
        check("without marks: changed signals, the rarest first",
              p.returncode == 0 and res["marks"] == [] and counts == sorted(counts)
              and counts and counts[0] >= 1, str(counts))
        names = [s["signal"] for s in res["changed"]]
        check("the fob button and the lid are among the rare changes, before the counters",
              "RkeButton" in names and "TrunkAjar" in names
              and names.index("TrunkAjar") < names.index("TrunkStatus_Counter"), str(names))

        # marks inside the capture count the same as a side file
        inline = os.path.join(tmp, "inline.log")
        with open(marks) as f:
            ms = [l.split() for l in f if l.strip()]
        with open(log) as f, open(inline, "w") as g:
            frames = f.readlines()
            k = 0
            for line in frames:
                t = float(line[1:line.index(")")])
                while k < len(ms) and float(ms[k][0]) <= t:
                    g.write(f"# mark {ms[k][0]} {ms[k][2]}\n")
                    k += 1
                g.write(line)
        p = run("--dbc", DBC, "--json", inline)
        check("# mark lines in the capture", p.returncode == 0
              and [m["name"] for m in json.loads(p.stdout)["marks"]]
              == ["fob_trunk_pressed", "interior_pressed", "key_blade_turned"], p.stderr)

        # a narrow window: only what happens within 50 ms of the mark
        p = run("--dbc", DBC, "--marks", marks, "--window", "0.05", "--json", "--limit", "0", log)
        res = json.loads(p.stdout)
        near = [s for m in res["marks"] for s in m["signals"]]
        check("--window bounds the changes listed",
              p.returncode == 0 and res["window"] == 0.05
              and all(abs(s["nearest"]["dt"]) <= 0.05 for s in near), str(near[:3]))
        # (+-1.5 s would reach back to the lid closed at 9.3 s, after the interior press)
        key = [s for s in res["marks"][2]["signals"] if s["signal"] == "TrunkAjar"]
        check("the lid stays open after the key blade (before closed, after ajar)",
              len(key) == 1 and key[0]["before"]["text"] == "closed"
              and key[0]["after"]["text"] == "ajar", str(key))

        # a real capture: the Civic Type R drive read with the Honda profile, the speed
        # role annotated; CAR_SPEED goes from 0 to 8.95 kph in this capture (its frames
        # 0x309, bytes 0-1 big-endian * 0.01, read by hand in test-analyze-real.py)
        real = os.path.join(ROOT, "tests/corpus/data/candump/real/civic_19_type_r-turnonanddrive.log")
        p = run("--profile", os.path.join(ROOT, "profiles/honda-civic-2017.profile"), "--json",
                "--limit", "0", real)
        res = json.loads(p.stdout) if p.returncode == 0 else {"changed": []}
        speed = [s for s in res["changed"] if s["signal"] == "CAR_SPEED"]
        check("a real capture: the speed signal with its role and range",
              len(speed) == 1 and speed[0]["role"] == "speed"
              and speed[0]["min"]["value"] == 0 and abs(speed[0]["max"]["value"] - 8.95) < 1e-9,
              str(speed) + p.stderr)

        # mistakes
        empty = os.path.join(tmp, "empty.log")
        open(empty, "w").close()
        error("no DBC at all", [log], "which DBC?")
        error("empty capture", ["--dbc", DBC, empty], "no CAN frames")
        error("missing capture", ["--dbc", DBC, os.path.join(tmp, "nope.log")], "nope.log")
        error("missing DBC", ["--dbc", os.path.join(tmp, "nope.dbc"), log], "nope.dbc")
        error("--window 0", ["--dbc", DBC, "--window", "0", log], "--window")
        error("--window junk", ["--dbc", DBC, "--window", "1s", log], "--window")
        error("--limit -1", ["--dbc", DBC, "--limit", "-1", log], "--limit")
        error("two captures", ["--dbc", DBC, log, log], "Usage")
        other = os.path.join(tmp, "other.log")
        with open(other, "w") as f:
            f.write("(1.000000) can0 7E8#0102030405060708\n")
        p = run("--dbc", DBC, other)
        check("a capture the DBC does not decode: a warning naming the mismatch",
              p.returncode == 0 and "none of its 1 frames is a message of the DBC" in p.stderr,
              p.stdout + p.stderr)
    print("changes-cli:", "ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
