#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""actuator.test of bodydiagd without a bus (suite daemon): argument errors, privilege
errors by SO_PEERCRED (read group -> permission_denied, admin group allowed), the speed
interlock with no frames at all ("vehicle speed unknown", nothing sent), and the exit
codes of `bodydiag actuator`. The test on a real bus is tests/integration/test-actuator.c.

usage: test-actuator.py PATH-TO-BODYDIAGD PATH-TO-BODYDIAG"""
import json
import os
import subprocess
import sys
import tempfile
import time

from apiclient import as_user, call, code, message

DAEMON, CLI = sys.argv[1], sys.argv[2]
SRC = os.environ.get("BODYDIAG_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
PROFILE = os.path.join(SRC, "profiles", "sim-2026.profile")
NOBODY, NOGROUP, ADMGROUP = 65534, 65534, 4  # nobody, nogroup, adm (Debian base-passwd)
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def main():
    tmp = tempfile.mkdtemp(prefix="test-actuator-")
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "api.sock")
    conf = os.path.join(tmp, "bodydiag.conf")
    with open(conf, "w") as f:
        f.write("[can]\ninterface = bdnone0\n[data]\nprofile = %s\n"
                "[api]\nsocket = %s\nread_group = nogroup\nadmin_group = adm\n"
                "rate_limit = 0\n" % (PROFILE, sock))
    log = open(os.path.join(tmp, "log"), "w")
    p = subprocess.Popen([DAEMON, "-c", conf], stderr=log)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    check(os.path.exists(sock), "daemon listens")
    os.chmod(sock, 0o666)

    methods = call(sock, "methods")["result"]["methods"]
    m = [x for x in methods if x["name"] == "actuator.test"]
    check(len(m) == 1 and m[0]["privilege"] == "admin", "actuator.test registered, admin")

    bad = [
        ({"duration_ms": 99}, "invalid_params"),
        ({"duration_ms": 3001}, "invalid_params"),
        ({"duration_ms": "500"}, "invalid_params"),
        ({"duration_ms": 1.5}, "invalid_params"),
        ({"ecu": 5}, "invalid_params"),
        ({"did": "trunk_release"}, "invalid_params"),
        ({"ecu": "nope"}, "not_found"),
        ({"ecu": "obd"}, "not_found"),  # no output_control_did
    ]
    for params, want in bad:
        got = code(call(sock, "actuator.test", params))
        check(got == want, "actuator.test %s -> %s (got %s)" % (json.dumps(params), want, got))

    # No bus: no speed frame within 1 s, so the interlock refuses before anything is sent.
    for params in [{}, {"ecu": "bcm", "duration_ms": 500}]:
        r = call(sock, "actuator.test", params)
        check(code(r) == "unavailable" and "vehicle speed unknown" in message(r),
              "actuator.test %s without a bus: unavailable, vehicle speed unknown (%s)"
              % (json.dumps(params), message(r)))
    ecus = call(sock, "ecus")["result"]["ecus"]
    check(ecus[0]["requests"] == 0, "nothing was sent to the BCM")

    if os.geteuid() == 0:
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "actuator.test")
        check(code(r) == "permission_denied" and "admin" in message(r),
              "read group: actuator.test -> permission_denied")
        r = as_user(sock, NOBODY, 54321, [], "actuator.test")
        check(code(r) == "permission_denied", "no group: actuator.test -> permission_denied")
        # Admin as the primary group, two supplementary ones: under qemu-user (no
        # SO_PEERGROUPS for two groups) the daemon takes the group database's, where
        # nobody has only the primary; the next call: admin as the one supplementary.
        r = as_user(sock, NOBODY, ADMGROUP, [NOGROUP, ADMGROUP], "actuator.test")
        check(code(r) == "unavailable" and "speed unknown" in message(r),
              "admin group: actuator.test allowed (reaches the interlock)")
        r = as_user(sock, NOBODY, NOGROUP, [ADMGROUP], "actuator.test",
                    {"duration_ms": 5})
        check(code(r) == "invalid_params", "admin group: arguments checked")
    else:
        check(False, "privilege checks need root (./run test runs as root)")

    env = dict(os.environ, BODYDIAG_SOCKET=sock)

    def cli(*args, **kw):
        return subprocess.run([CLI, "actuator"] + list(args), env=env, capture_output=True,
                              text=True, **kw)

    r = cli("--help")
    check(r.returncode == 0 and "--duration-ms" in r.stdout, "bodydiag actuator --help: 0")
    check(cli("--duration-ms", "50").returncode == 1, "bodydiag actuator --duration-ms 50: exit 1")
    check(cli("--duration-ms", "x").returncode == 1, "bodydiag actuator --duration-ms x: exit 1")
    check(cli("extra").returncode == 1, "bodydiag actuator extra: exit 1")
    check(cli("--ecu", "nope").returncode == 4, "bodydiag actuator --ecu nope: exit 4")
    r = cli()
    check(r.returncode == 7 and "vehicle speed unknown" in r.stderr,
          "bodydiag actuator without a bus: exit 7, reason shown")
    check(cli("--socket", os.path.join(tmp, "none.sock")).returncode == 2,
          "bodydiag actuator, no daemon: exit 2")
    if os.geteuid() == 0:
        def as_nobody():
            os.setgroups([NOGROUP])
            os.setgid(NOGROUP)
            os.setuid(NOBODY)
        r = cli(preexec_fn=as_nobody)
        check(r.returncode == 3 and "permission_denied" in r.stderr,
              "bodydiag actuator as a reader: exit 3")

    p.terminate()
    check(p.wait(timeout=10) == 0, "daemon exits cleanly on SIGTERM")
    log.close()
    if failures:
        print(open(os.path.join(tmp, "log")).read())
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
