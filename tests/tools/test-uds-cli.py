#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`bodydiag uds` end to end on the hand-written capture tests/tools/uds-capture.log (the
simulator writes no UDS traffic offline) with profiles/sim-2026.profile: the exact text
lines (multi-frame 0x19 response with the profile's DTC texts, 0x78 then the positive
response, negative responses, DIDs scaled by the profile, an ASCII DID, OBD over the
functional 0x7DF with the flow control on 0x7E0, a functional UDS request answered by the
BCM, a broken sequence, a missing consecutive
frame, a late response, unanswered requests), selected --json lines, --ecu, --pair, and
the errors of the command line and of a bad profile, and extended and mixed addressing
(ECUs sharing CAN ids told apart by their address byte). The --json lines carry the decoded
values, labels and DTCs as data.

Usage: test-uds-cli.py BODYDIAG
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("BODYDIAG_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
CAPTURE = os.path.join(ROOT, "tests", "tools", "uds-capture.log")
PROFILE = os.path.join(ROOT, "profiles", "sim-2026.profile")

EXPECTED_TEXT = [
    '1767225601.000000 can0 bcm REQ 726 - ReadDTCInformation reportDTCByStatusMask (0x02) mask 0x09 testFailed|confirmedDTC',
    '1767225601.010000 can0 bcm RSP 72E 10.0ms PR ReadDTCInformation reportDTCByStatusMask (0x02) availability 0xFF, 4 DTCs: B1A40-13 (circuit open) status 0x09 testFailed|confirmedDTC; B1A40-92 (performance or incorrect operation) status 0x08 confirmedDTC; U3000-49 (internal electronic failure) status 0x2F testFailed|testFailedThisOperationCycle|pendingDTC|confirmedDTC|testFailedSinceLastClear; B1A51-16 (circuit voltage below threshold) status 0x09 testFailed|confirmedDTC | B1A40-13 Trunk release output circuit open; B1A40-92 Trunk release actuator performance (current too low); U3000-49 Body control module internal electronic failure; B1A51-16 Keyless entry transmitter 1 battery low',
    '1767225602.000000 can0 bcm REQ 726 - RoutineControl startRoutine (0x01) RID 0x0201',
    '1767225602.020000 can0 bcm RSP 72E 20.0ms NR RoutineControl (0x31): requestCorrectlyReceivedResponsePending (0x78)',
    '1767225602.520000 can0 bcm RSP 72E 520.0ms PR RoutineControl startRoutine (0x01) RID 0x0201 status 00 01',
    '1767225603.000000 can0 bcm REQ 726 - ReadDataByIdentifier DID 0xD102 | TrunkActuatorCurrent',
    '1767225603.004000 can0 bcm RSP 72E 4.0ms PR ReadDataByIdentifier DID 0xD102 = 01 2C | TrunkActuatorCurrent=3 A',
    '1767225603.100000 can0 bcm REQ 726 - ReadDataByIdentifier DID 0xF190 (VIN) | VIN',
    '1767225603.103000 can0 bcm RSP 72E 3.0ms PR ReadDataByIdentifier DID 0xF190 (VIN) = 31 42 44 53 4D 32 36 54 34 54 52 30 30 30 30 34 32 "1BDSM26T4TR000042" | VIN="1BDSM26T4TR000042"',
    '1767225604.000000 can0 bcm REQ 726 - InputOutputControlByIdentifier DID 0xD101 shortTermAdjustment 01 | TrunkActuatorCmd=1 (on)',
    '1767225604.003000 can0 bcm RSP 72E 3.0ms NR InputOutputControlByIdentifier (0x2F): conditionsNotCorrect (0x22)',
    '1767225605.000000 can0 bcm REQ 726 - ReadDTCInformation reportDTCByStatusMask (0x02) mask 0x09 testFailed|confirmedDTC',
    '1767225605.011000 can0 bcm ERR 72E - N_WRONG_SN: consecutive frame out of sequence in the response after 6 of 19 bytes',
    '1767225606.000000 can0 functional REQ 7DF - OBD mode 01 PID 0x0D (vehicle speed)',
    '1767225606.004000 can0 obd RSP 7E8 4.0ms PR OBD mode 01 PID 0x0D (vehicle speed) = 0 km/h',
    '1767225606.500000 can0 functional REQ 7DF - OBD mode 09 PID 0x02 (VIN)',
    '1767225606.510000 can0 obd RSP 7E8 10.0ms PR OBD mode 09 VIN "1BDSM26T4TR000042"',
    '1767225606.800000 can0 functional REQ 7DF - DiagnosticSessionControl defaultSession (0x01)',
    '1767225606.806800 can0 bcm RSP 72E 6.8ms PR DiagnosticSessionControl defaultSession (0x01) P2 50 ms P2* 5000 ms',
    '1767225607.000000 can0 bcm REQ 726 - ReadDataByIdentifier DID 0xF190 (VIN) | VIN',
    '1767225608.006000 can0 bcm ERR 72E - N_TIMEOUT_Cr: consecutive frame missing (N_Cr expired) in the response after 13 of 20 bytes',
    '1767225608.100000 can0 bcm REQ 726 - ReadDataByIdentifier DID 0xD10A | VehicleSpeed',
    '1767225608.180000 can0 bcm RSP 72E 80.0ms PR ReadDataByIdentifier DID 0xD10A = 03 E8 | VehicleSpeed=10 km/h (over P2 50 ms)',
    '1767225609.000000 can0 bcm REQ 726 - DiagnosticSessionControl extendedDiagnosticSession (0x03)',
    '1767225614.000000 can0 bcm ERR 72E - NO_RESPONSE: no response to DiagnosticSessionControl (0x10) within 5000 ms',
    '1767225615.050000 can0 bcm REQ 726 - TesterPresent [suppressPosRsp]',
    '1767225615.100000 can0 bcm REQ 726 - TesterPresent',
    '1767225615.200000 can0 bcm ERR 72E - NO_RESPONSE: no response to TesterPresent (0x3E) before the end of the capture',
]

# 1-based line number of the --json output -> the exact line
EXPECTED_JSON = {
    2: '{"t": 1767225601.010000, "iface": "can0", "ecu": "bcm", "dir": "response", "id": 1838, "ext": false, "latency_ms": 10.0, "sid": 89, "service": "ReadDTCInformation", "data": "5902FF9A4013099A409208F000492F9A511609", "text": "PR ReadDTCInformation reportDTCByStatusMask (0x02) availability 0xFF, 4 DTCs: B1A40-13 (circuit open) status 0x09 testFailed|confirmedDTC; B1A40-92 (performance or incorrect operation) status 0x08 confirmedDTC; U3000-49 (internal electronic failure) status 0x2F testFailed|testFailedThisOperationCycle|pendingDTC|confirmedDTC|testFailedSinceLastClear; B1A51-16 (circuit voltage below threshold) status 0x09 testFailed|confirmedDTC", "profile": "B1A40-13 Trunk release output circuit open; B1A40-92 Trunk release actuator performance (current too low); U3000-49 Body control module internal electronic failure; B1A51-16 Keyless entry transmitter 1 battery low", "dtcs": [{"dtc": "B1A40-13", "status": 9, "status_bits": "testFailed|confirmedDTC", "text": "Trunk release output circuit open"}, {"dtc": "B1A40-92", "status": 8, "status_bits": "confirmedDTC", "text": "Trunk release actuator performance (current too low)"}, {"dtc": "U3000-49", "status": 47, "status_bits": "testFailed|testFailedThisOperationCycle|pendingDTC|confirmedDTC|testFailedSinceLastClear", "text": "Body control module internal electronic failure"}, {"dtc": "B1A51-16", "status": 9, "status_bits": "testFailed|confirmedDTC", "text": "Keyless entry transmitter 1 battery low"}]}',
    4: '{"t": 1767225602.020000, "iface": "can0", "ecu": "bcm", "dir": "response", "id": 1838, "ext": false, "latency_ms": 20.0, "sid": 49, "service": "RoutineControl", "nrc": 120, "nrc_name": "requestCorrectlyReceivedResponsePending", "data": "7F3178", "text": "NR RoutineControl (0x31): requestCorrectlyReceivedResponsePending (0x78)"}',
    7: '{"t": 1767225603.004000, "iface": "can0", "ecu": "bcm", "dir": "response", "id": 1838, "ext": false, "latency_ms": 4.0, "sid": 98, "service": "ReadDataByIdentifier", "data": "62D102012C", "text": "PR ReadDataByIdentifier DID 0xD102 = 01 2C", "profile": "TrunkActuatorCurrent=3 A", "values": {"TrunkActuatorCurrent": 3.0}}',
    9: '{"t": 1767225603.103000, "iface": "can0", "ecu": "bcm", "dir": "response", "id": 1838, "ext": false, "latency_ms": 3.0, "sid": 98, "service": "ReadDataByIdentifier", "data": "62F190314244534D323654345452303030303432", "text": "PR ReadDataByIdentifier DID 0xF190 (VIN) = 31 42 44 53 4D 32 36 54 34 54 52 30 30 30 30 34 32 \\"1BDSM26T4TR000042\\"", "profile": "VIN=\\"1BDSM26T4TR000042\\"", "values": {"VIN": "1BDSM26T4TR000042"}}',
    10: '{"t": 1767225604.000000, "iface": "can0", "ecu": "bcm", "dir": "request", "id": 1830, "ext": false, "sid": 47, "service": "InputOutputControlByIdentifier", "data": "2FD1010301", "text": "InputOutputControlByIdentifier DID 0xD101 shortTermAdjustment 01", "profile": "TrunkActuatorCmd=1 (on)", "values": {"TrunkActuatorCmd": 1}, "labels": {"TrunkActuatorCmd": "on"}}',
    13: '{"t": 1767225605.011000, "iface": "can0", "ecu": "bcm", "dir": "error", "id": 1838, "ext": false, "error": "N_WRONG_SN", "text": "consecutive frame out of sequence in the response after 6 of 19 bytes"}',
    16: '{"t": 1767225606.500000, "iface": "can0", "ecu": "functional", "dir": "request", "id": 2015, "ext": false, "sid": 9, "service": null, "data": "0902", "text": "OBD mode 09 PID 0x02 (VIN)"}',
    19: '{"t": 1767225606.806800, "iface": "can0", "ecu": "bcm", "dir": "response", "id": 1838, "ext": false, "latency_ms": 6.8, "sid": 80, "service": "DiagnosticSessionControl", "data": "5001003201F4", "text": "PR DiagnosticSessionControl defaultSession (0x01) P2 50 ms P2* 5000 ms"}',
    23: '{"t": 1767225608.180000, "iface": "can0", "ecu": "bcm", "dir": "response", "id": 1838, "ext": false, "latency_ms": 80.0, "sid": 98, "service": "ReadDataByIdentifier", "data": "62D10A03E8", "text": "PR ReadDataByIdentifier DID 0xD10A = 03 E8", "profile": "VehicleSpeed=10 km/h", "values": {"VehicleSpeed": 10.0}, "note": "over P2 50 ms"}',
    25: '{"t": 1767225614.000000, "iface": "can0", "ecu": "bcm", "dir": "error", "id": 1838, "ext": false, "error": "NO_RESPONSE", "text": "no response to DiagnosticSessionControl (0x10) within 5000 ms"}',
}

# --pair without a profile: no ECU names, no profile column, DIDs as raw bytes
EXPECTED_PAIR = [
    "1767225603.000000 can0 - REQ 726 - ReadDataByIdentifier DID 0xD102",
    "1767225603.004000 can0 - RSP 72E 4.0ms PR ReadDataByIdentifier DID 0xD102 = 01 2C",
]

EXPECTED_ECU_OBD = [
    "1767225606.000000 can0 functional REQ 7DF - OBD mode 01 PID 0x0D (vehicle speed)",
    "1767225606.004000 can0 obd RSP 7E8 4.0ms PR OBD mode 01 PID 0x0D (vehicle speed) = 0 km/h",
    "1767225606.500000 can0 functional REQ 7DF - OBD mode 09 PID 0x02 (VIN)",
    '1767225606.510000 can0 obd RSP 7E8 10.0ms PR OBD mode 09 VIN "1BDSM26T4TR000042"',
    # the BCM's answer is not shown: --ecu obd follows 7E0/7E8 and 7DF only
    "1767225606.800000 can0 functional REQ 7DF - DiagnosticSessionControl defaultSession (0x01)",
]


def run(exe, *args):
    return subprocess.run([exe, "uds", *args], capture_output=True, text=True, encoding="utf-8")


# The text form counts seconds from the capture's first frame (one clock for people),
# named once in a first comment line with its UTC time; the lines above are written with
# the capture's own times, which --json keeps.
FIRST_FRAME_US = 1767225601000000
CLOCK_LINE = "# times are seconds from the first frame, 2026-01-01T00:00:01.000Z (UTC)"


def relative(line):
    t, rest = line.split(" ", 1)
    s, us = t.split(".")
    rel = int(s) * 1000000 + int(us) - FIRST_FRAME_US
    return f"{'-' if rel < 0 else '+'}{abs(rel) // 1000000}.{abs(rel) % 1000000:06d} {rest}"


def text_lines(lines):
    return [CLOCK_LINE] + [relative(l) for l in lines]


def compare(name, got, want):
    bad = 0
    for i, w in enumerate(want):
        g = got[i] if i < len(got) else None
        if g != w:
            print(f"{name} line {i + 1}:\n  want {w}\n  got  {g}")
            bad += 1
    if len(got) != len(want):
        print(f"{name}: {len(got)} lines, want {len(want)}")
        bad += 1
    return bad


# Extended addressing: a BMW-style ECU (requests on 0x6F1 with its N_TA 0x40, answers on
# 0x640 carrying the tester's 0xF1) and two ECUs behind a Toyota-style gateway sharing
# 0x750 -> 0x758, told apart only by the byte in front of the N_PCI (0x40, 0x41); a
# multi-frame answer with the tester's flow control on 0x6F1; a frame for an address no
# ECU has. Mixed addressing through --pair.
EXT_PROFILE = """format = 1
[vehicle]
make = test
platform = addressing
[ecu fem]
addressing = extended
request = 0x6F1
response = 0x640
target = 0x40
source = 0xF1
[ecu body]
request = 0x750
response = 0x758
target = 0x40
[ecu door]
request = 0x750
response = 0x758
target = 0x41
"""
EXT_CAPTURE = """(1767225601.000000) can0 6F1#400322F190
(1767225601.005000) can0 640#F1100B62F1903141
(1767225601.006000) can0 6F1#40300000
(1767225601.008000) can0 640#F121424344454647
(1767225602.000000) can0 750#4003220D07
(1767225602.001000) can0 750#4103220D08
(1767225602.004000) can0 758#4004620D07AB
(1767225602.009000) can0 758#41037F2231
(1767225602.500000) can0 750#5702100300000000
(1767225603.000000) can0 18CE40F1#05021001
(1767225603.003000) can0 18CEF140#05065001003201F4
"""
EXPECTED_EXT = [
    "1767225601.000000 can0 fem REQ 6F1 - ReadDataByIdentifier DID 0xF190 (VIN)",
    '1767225601.005000 can0 fem RSP 640 5.0ms PR ReadDataByIdentifier DID 0xF190 (VIN) = 31 41 42 43 44 45 46 47 "1ABCDEFG"',
    "1767225602.000000 can0 body REQ 750 - ReadDataByIdentifier DID 0x0D07",
    "1767225602.001000 can0 door REQ 750 - ReadDataByIdentifier DID 0x0D08",
    "1767225602.004000 can0 body RSP 758 4.0ms PR ReadDataByIdentifier DID 0x0D07 = AB",
    "1767225602.009000 can0 door RSP 758 8.0ms NR ReadDataByIdentifier (0x22): requestOutOfRange (0x31)",
    "1767225603.000000 can0 - REQ 18CE40F1 - DiagnosticSessionControl defaultSession (0x01)",
    "1767225603.003000 can0 - RSP 18CEF140 3.0ms PR DiagnosticSessionControl defaultSession (0x01) P2 50 ms P2* 5000 ms",
]


def addressing(exe):
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        prof = os.path.join(tmp, "ext.profile")
        cap = os.path.join(tmp, "ext.log")
        with open(prof, "w") as f:
            f.write(EXT_PROFILE)
        with open(cap, "w") as f:
            f.write(EXT_CAPTURE)
        p = run(exe, "--profile", prof, "--pair", "mixed:18CE40F1/18CEF140,ae=05", cap)
        want = ["# times are seconds from the first frame, 2026-01-01T00:00:01.000Z (UTC)"]
        want += [relative(l) for l in EXPECTED_EXT]
        got = [l for l in p.stdout.splitlines() if " 7E" not in l]
        if p.returncode != 0:
            print(f"addressing: exit {p.returncode}, stderr {p.stderr!r}")
            bad += 1
        bad += compare("addressing", got, want)
        p = run(exe, "--pair", "ext:6F1/640", cap)
        if p.returncode == 0 or "bad --pair 'ext:6F1/640'" not in p.stderr:
            print(f"--pair ext without ta=: exit {p.returncode}, stderr {p.stderr!r}")
            bad += 1
    return bad


def main():
    exe = sys.argv[1]
    failures = 0

    p = run(exe, "--profile", PROFILE, CAPTURE)
    if p.returncode != 0 or p.stderr:
        print(f"text: exit {p.returncode}, stderr {p.stderr!r}")
        failures += 1
    failures += compare("text", p.stdout.splitlines(), text_lines(EXPECTED_TEXT))

    p = run(exe, "--json", "--profile", PROFILE, CAPTURE)
    got = p.stdout.splitlines()
    if p.returncode != 0 or len(got) != len(EXPECTED_TEXT):
        print(f"json: exit {p.returncode}, {len(got)} lines, want {len(EXPECTED_TEXT)}")
        failures += 1
    for i, line in enumerate(got):
        try:
            obj = json.loads(line)
        except ValueError as e:
            print(f"json line {i + 1} does not parse: {e}: {line}")
            failures += 1
            continue
        if obj["dir"] not in ("request", "response", "error"):
            print(f"json line {i + 1}: dir {obj['dir']!r}")
            failures += 1
    for n, want in EXPECTED_JSON.items():
        g = got[n - 1] if n <= len(got) else None
        if g != want:
            print(f"json line {n}:\n  want {want}\n  got  {g}")
            failures += 1

    p = run(exe, "--pair", "726:72E", CAPTURE)
    pair = [l for l in p.stdout.splitlines() if " 726 " in l or " 72E " in l]
    failures += compare("--pair", pair[5:7], [relative(l) for l in EXPECTED_PAIR])

    p = run(exe, "--profile", PROFILE, "--ecu", "obd", CAPTURE)
    failures += compare("--ecu obd", p.stdout.splitlines(), text_lines(EXPECTED_ECU_OBD))

    for args, err in [
        (["--ecu", "bcm", CAPTURE], "--ecu needs --profile"),
        (["--profile", PROFILE, "--ecu", "abs", CAPTURE], "no [ecu abs] in the profile"),
        (["--pair", "726", CAPTURE], "bad --pair '726'"),
        (["--pair", "726:726", CAPTURE], "bad --pair '726:726'"),
        (["--pair", "72G:72E", CAPTURE], "bad --pair '72G:72E'"),
        (["/nonexistent.log"], "/nonexistent.log: No such file or directory"),
        (["--profile", "/nonexistent.profile", CAPTURE],
         "bodydiag uds: /nonexistent.profile: No such file or directory"),
    ]:
        p = run(exe, *args)
        if p.returncode == 0 or err not in p.stderr:
            print(f"{args}: exit {p.returncode}, stderr {p.stderr!r}, want {err!r}")
            failures += 1

    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.profile")
        with open(bad, "w") as f:
            f.write("format = 1\n[vehicle]\nmake = m\nplatform = p\n[did bcm 0xD100]\n")
        p = run(exe, "--profile", bad, CAPTURE)
        want = f"{bad}:5:6: error: undeclared ECU 'bcm'"
        if p.returncode == 0 or want not in p.stderr or p.stdout:
            print(f"bad profile: exit {p.returncode}, stderr {p.stderr!r}, want {want!r}")
            failures += 1

    failures += addressing(exe)
    print("uds-cli:", "ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
