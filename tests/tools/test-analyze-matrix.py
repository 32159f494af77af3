#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The offline scenario matrix: for every fault bodydiag-sim lists (and its variants),
healthy, and two-fault combinations, over several seeds (the seed drives the model's
latencies, the broadcast jitter and the bus noise), the simulator writes a capture and
the marks of a scripted test (fob press, interior button, key blade, the lid closed in
between), `bodydiag analyze` reads them back, and the top cause must be the injected
fault ("no fault found" when healthy). Marks go once through the side file and once as
`# mark` lines inside the capture. Prints the matrix and `N/N correct`; fails on any miss.

With --passive the same cases run against a car seen only passively: a profile made from
sim-2026.profile without its ECUs, DIDs, DTCs, the roles read by UDS, and without
actuator_current (the car does not broadcast the release current; most real cars do not).
The engine may then not be able to name the fault, but it must never name a wrong one:
every cause that holds is the injected fault (or the second fault of a two-fault case,
or the lockout of a refused press), "no fault found" only when healthy, and an injected
fault that is not found is reported with what cannot be seen (not observable, never
ruled out). "No fault found" with a fault injected passes only when every press
worked end to end and the fault is listed as not observable with what it needs.

Usage: test-analyze-matrix.py [--passive] BODYDIAG_SIM BODYDIAG [SEEDS]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ARGS = [a for a in sys.argv[1:] if a != "--passive"]
PASSIVE = "--passive" in sys.argv[1:]
SIM, BODYDIAG = ARGS[0], ARGS[1]
SEEDS = int(ARGS[2]) if len(ARGS) > 2 else 6
ROOT = os.environ.get("BODYDIAG_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
FILES = ["--profile", os.path.join(ROOT, "profiles/sim-2026.profile")]


def load_matrix():
    """The cases of tests/scenarios/matrix (the one list every matrix reads)."""
    cases, limits, masked = [], {}, {}
    with open(os.path.join(ROOT, "tests/scenarios/matrix")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            label, faults, expect, verdict, also, script, sets, note = line.split("|", 7)
            faults = [x for x in faults.split(",") if x]
            sets = sets.split(",")
            also = None if also == "-" else also
            if "limit" in sets:
                limits[label] = (faults, expect, note)
            if "offline" not in sets:
                continue
            if note.startswith("masked:"):
                masked[label] = note[len("masked:"):].strip()
            case = (label, faults, expect, verdict, also)
            cases.append(case + ("MOVING",) if script == "moving" else case)
    return cases, limits, masked


# (label, [fault statements], expected top finding, verdict, also: a second finding that
# must hold, or be explained as masked (MASKED)); LIMITS: label -> (faults, the top
# finding a broadcast-only capture supports, why), run and printed apart (not counted).
CASES, LIMITS, MASKED = load_matrix()

# Scripts other than the standard test: the first press while driving at 20 km/h, then
# the car stops and the interior button is pressed.
SCRIPTS = {
    "MOVING": """format 1
seed {seed}
{faults}
jitter {jitter}ms
noise {noise}/s
at 1s set speed 20
at 2s press fob_trunk
at 4s set speed 0
at 6s press interior
end 12s
""",
}

SCRIPT = """format 1
seed {seed}
{faults}
jitter {jitter}ms
noise {noise}/s
at 2s press fob_trunk
at 4.5s close_lid
at 6s press interior
at 8.5s close_lid
at 10s key_blade
end 16s
"""


def passive_profile(tmp):
    """sim-2026.profile as a car seen only passively: no [ecu]/[did]/[dtc] sections, no
    role read by UDS (`did =`), no actuator_current; its DBC named by absolute path."""
    with open(os.path.join(ROOT, "profiles/sim-2026.profile")) as f:
        text = f.read()
    sections = re.split(r"(?m)^(?=\[)", text)
    keep = []
    for sec in sections:
        head = sec.split("\n", 1)[0].strip()
        if re.match(r"\[(ecu|did|dtc)\b", head):
            continue
        if head.startswith("[role") and (re.search(r"(?m)^did\s*=", sec)
                                         or head == "[role actuator_current]"):
            continue
        keep.append(sec)
    text = re.sub(r"(?m)^dbc\s*=.*$", "dbc = " + os.path.join(ROOT, "dbc/bodydiag-sim.dbc"),
                  "".join(keep))
    path = os.path.join(tmp, "passive.profile")
    with open(path, "w") as f:
        f.write(text)
    return ["--profile", path, "--rules", os.path.join(ROOT, "rules/trunk.rules")]


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def analyze(tmp, label, faults, seed, inline, script=None):
    scn = os.path.join(tmp, "case.scn")
    log = os.path.join(tmp, "case.log")
    marks = os.path.join(tmp, "case.marks")
    lines = "\n".join("fault " + f for f in faults) or "fault healthy"
    with open(scn, "w") as f:
        f.write((SCRIPTS[script] if script else SCRIPT).format(seed=seed, faults=lines, jitter=2 + (seed * 7) % 19,
                              noise=20 + (seed * 37) % 181))
    p = run([SIM, "--scenario", scn, "--candump", log, "--marks", marks])
    if p.returncode != 0:
        sys.exit(f"bodydiag-sim failed for {label} seed {seed}: {p.stderr}")
    args = [BODYDIAG, "analyze", *(FILES_PASSIVE or FILES), "--json"]
    if inline:
        # the marks as `# mark` lines of the capture, each before the first later frame
        with open(marks) as f:
            ms = [(float(l.split()[0]), l.split()[0], l.split()[2]) for l in f if l.strip()]
        with open(log) as f:
            frames = f.readlines()
        out, k = [], 0
        for line in frames:
            t = float(line[1:line.index(")")])
            while k < len(ms) and ms[k][0] <= t:
                out.append(f"# mark {ms[k][1]} {ms[k][2]}\n")
                k += 1
            out.append(line)
        out += [f"# mark {m[1]} {m[2]}\n" for m in ms[k:]]
        with open(log, "w") as f:
            f.writelines(out)
        args.append(log)
    else:
        args += ["--marks", marks, log]
    p = run(args)
    if p.returncode != 0:
        sys.exit(f"bodydiag analyze failed for {label} seed {seed}: {p.stderr}")
    return json.loads(p.stdout)


def check(case, res):
    label, faults, expect, verdict, also = case[:5]
    fs = res["findings"]
    top = fs[0]["id"] if fs else "-"
    if top != expect or res["verdict"] != verdict:
        return False, f"top {top} ({res['verdict']})"
    if also:
        # a suppressed finding would be a part failure explained away by a lockout
        held = [f["id"] for f in fs if f["state"] in ("holds", "ruled_out")]
        if also not in held:
            if label not in MASKED:
                return False, f"{also} not found: {held}"
            return True, f"{also} masked"
        return True, f"{also} also found ({fs[[f['id'] for f in fs].index(also)]['state']})"
    return True, top


FILES_PASSIVE = None
# the lockouts a scripted press may meet: a refusal, not a cause
LOCKOUTS = {"MOVING": "release_blocked_speed"}
# what a fault makes the BCM do, true beside it: the output lockout after a short
CONSEQUENCES = {"hinge_wiring_short": {"release_blocked_lockout"}}


def check_passive(case, res):
    """No wrong cause, and an honest word about a fault that cannot be seen."""
    label, faults, expect, verdict, also = case[:5]
    allowed = {expect, also} - {None}
    if len(case) > 5 and case[5] in LOCKOUTS:
        allowed.add(LOCKOUTS[case[5]])
    for fault in faults:
        allowed |= CONSEQUENCES.get(fault.split()[0], set())
    fs = {f["id"]: f for f in res["findings"]}
    held = [i for i, f in fs.items() if f["state"] == "holds" and f["kind"] != "normal"]
    wrong = [i for i in held if i not in allowed]
    if wrong:
        return False, f"wrong cause {wrong} ({res['verdict']})"
    if res["verdict"] == "fault" and (not res["findings"]
                                      or res["findings"][0]["id"] not in allowed):
        return False, f"verdict fault on {res['findings'][0]['id'] if res['findings'] else '-'}"
    if faults and res["verdict"].startswith("no fault found"):
        # every press worked end to end and the fault shows only in what the car does
        # not broadcast: allowed only when the fault is named as not observable
        f = fs.get(expect)
        if not f or f["state"] != "not observable" or not f.get("missing"):
            return False, "no fault found with a fault injected, not said to be unobservable"
        why = ", ".join(sorted({m["what"] for m in f["missing"]}))
        return True, f"chain worked; {expect} not observable (needs {why})"
    if not faults:
        return True, "healthy: " + res["verdict"]
    if expect in held:
        return True, "found"
    f = fs.get(expect)
    if not f:
        return False, f"{expect} silently dropped ({res['verdict']})"
    if f["state"] == "not observable" and not f.get("missing"):
        return False, f"{expect} not observable without saying what is missing"
    why = ", ".join(sorted({m["what"] for m in f.get("missing", [])}))
    return True, f"{f['state']}" + (f" (needs {why})" if why else "")


def main_passive():
    global FILES_PASSIVE
    total = good = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        FILES_PASSIVE = passive_profile(tmp)
        for case in CASES:
            ok = 0
            outcomes = set()
            miss = ""
            for seed in range(1, SEEDS + 1):
                res = analyze(tmp, case[0], case[1], seed, False,
                              case[5] if len(case) > 5 else None)
                passed, what = check_passive(case, res)
                ok += passed
                if passed:
                    outcomes.add(what)
                elif not miss:
                    miss = f"  seed {seed}: {what}"
            total += SEEDS
            good += ok
            rows.append(f"  {case[0]:<36} {ok}/{SEEDS}{miss}  [{'; '.join(sorted(outcomes))}]")
    print(f"offline scenario matrix, car seen passively ({SEEDS} seeds; no UDS, no "
          "actuator_current): no wrong cause, the rest said to be not observable")
    print("\n".join(rows))
    print(f"passive matrix: {good}/{total} correct")
    return 0 if good == total else 1


def main():
    if PASSIVE:
        return main_passive()
    total = good = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            for inline in (False, True):
                ok = 0
                miss = ""
                notes = set()
                for seed in range(1, SEEDS + 1):
                    res = analyze(tmp, case[0], case[1], seed, inline,
                                  case[5] if len(case) > 5 else None)
                    passed, what = check(case, res)
                    ok += passed
                    if passed and case[4]:
                        notes.add(what)
                    if not passed and not miss:
                        miss = f"  seed {seed}: {what}"
                        if os.environ.get("BODYDIAG_MATRIX_VERBOSE"):
                            for f in res["findings"]:
                                print(f"      {f['id']} {f['state']} {f['score']}")
                                for e in f["evidence"]:
                                    print(f"         {e['text']}")
                total += SEEDS
                good += ok
                where = "# mark lines" if inline else "--marks file"
                rows.append(f"  {case[0]:<36} {where:<13} {ok}/{SEEDS}{miss}"
                            + (f"  [{'; '.join(sorted(notes))}]" if notes else ""))
        for label, (faults, broadcast_top, why) in LIMITS.items():
            tops = set()
            for seed in range(1, SEEDS + 1):
                res = analyze(tmp, label, faults, seed, False)
                tops.add(res["findings"][0]["id"] if res["findings"] else "-")
            same = tops == {broadcast_top}
            rows.append(f"  {label:<36} {'(limit)':<13} top {'/'.join(sorted(tops))}"
                        f"{'' if same else ' (changed: update LIMITS)'}: {why}")
            if not same:
                total += 1
    print(f"offline scenario matrix ({SEEDS} seeds, jitter 2-20 ms, noise 20-200 frames/s):")
    print("\n".join(rows))
    for k, v in MASKED.items():
        print(f"  masked: {k}: {v}")
    print(f"offline matrix: {good}/{total} correct")
    return 0 if good == total else 1


if __name__ == "__main__":
    sys.exit(main())
