#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The diagnostic API methods of bodydiagd (suite daemon): argument errors of status, ecus,
dtc.read, dtc.clear, did.read, live.subscribe and mark; privilege errors by SO_PEERCRED
(a client of another uid without the groups, with the read group, with the admin group);
and the bodydiag CLI's exit codes. The CAN interface does not exist here, so nothing is
sent: requests that reach the broker end in `unavailable` (link_down).

usage: test-methods.py PATH-TO-BODYDIAGD PATH-TO-BODYDIAG"""
import json
import os
import select
import subprocess
import sys
import tempfile
import time

from apiclient import Client, as_user, code

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
    tmp = tempfile.mkdtemp(prefix="test-methods-")
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "api.sock")
    # the simulated car's profile and a door module on 29-bit ids (a wider table column)
    profile = os.path.join(tmp, "sim.profile")
    with open(PROFILE) as f:
        text = f.read().replace("dbc = bodydiag-sim.dbc",
                                "dbc = " + os.path.join(SRC, "dbc", "bodydiag-sim.dbc"))
    with open(profile, "w") as f:
        f.write(text + "\n[ecu door]\nname = Driver door module\nrequest = 0x18DA40F1\n"
                "response = 0x18DAF140\n")
    conf = os.path.join(tmp, "bodydiag.conf")
    with open(conf, "w") as f:
        f.write("[can]\ninterface = bdnone0\n[data]\nprofile = %s\n"
                "[api]\nsocket = %s\nread_group = nogroup\nadmin_group = adm\n"
                "rate_limit = 0\n" % (profile, sock))
    log = open(os.path.join(tmp, "log"), "w")
    p = subprocess.Popen([DAEMON, "-c", conf], stderr=log)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    check(os.path.exists(sock), "daemon listens")
    os.chmod(sock, 0o666)  # the coarse gate is tested by the unit file, not here
    c = Client(sock)

    # methods registered
    names = [m["name"] for m in c.call("methods")["result"]["methods"]]
    for m in ["status", "ecus", "dtc.read", "dtc.clear", "did.read", "live.subscribe", "mark",
              "obd.request", "discover"]:
        check(m in names, "method %s registered" % m)

    st = c.call("status")["result"]
    check(st["interface"] == "bdnone0" and st["attached"] is False and st["listen_only"] is True
          and st["ecus"] == 3, "status: interface, attached, listen_only, ecus")
    check(code(c.call("status", {"x": 1})) == "invalid_params", "status: unknown parameter")
    ecus = c.call("ecus")["result"]["ecus"]
    check([e["name"] for e in ecus] == ["bcm", "obd", "door"] and ecus[0]["tx"] == "0x726"
          and ecus[0]["rx"] == "0x72e" and ecus[1]["functional"] == "0x7df"
          and ecus[2]["tx"] == "0x18da40f1",
          "ecus: names and ids from the profile")

    bad = [
        ("dtc.read", {"mask": 256}, "invalid_params"),
        ("dtc.read", {"mask": -1}, "invalid_params"),
        ("dtc.read", {"mask": "zz"}, "invalid_params"),
        ("dtc.read", {"mask": 1.5}, "invalid_params"),
        ("dtc.read", {"ecu": 5}, "invalid_params"),
        ("dtc.read", {"ecu": "nope"}, "not_found"),
        ("dtc.read", {"ecus": "bcm"}, "invalid_params"),
        ("dtc.clear", {"group": "0x1000000"}, "invalid_params"),
        ("dtc.clear", {"group": []}, "invalid_params"),
        ("dtc.clear", {"ecu": "nope"}, "not_found"),
        ("did.read", {}, "invalid_params"),
        ("did.read", {"did": -1}, "invalid_params"),
        ("did.read", {"did": 65536}, "invalid_params"),
        ("did.read", {"did": None}, "invalid_params"),
        ("did.read", {"did": "NoSuchDid"}, "not_found"),
        ("did.read", {"did": "TrunkAjar", "ecu": "obd"}, "not_found"),
        ("did.read", {"did": 61840, "ecu": "nope"}, "not_found"),
        ("live.subscribe", {}, "invalid_params"),
        ("live.subscribe", {"signals": []}, "invalid_params"),
        ("live.subscribe", {"signals": "TrunkAjar"}, "invalid_params"),
        ("live.subscribe", {"signals": [1]}, "invalid_params"),
        ("live.subscribe", {"signals": ["x"] * 65}, "invalid_params"),
        ("live.subscribe", {"signals": ["NoSuchSignal"]}, "not_found"),
        ("mark", {}, "invalid_params"),
        ("mark", {"label": ""}, "invalid_params"),
        ("mark", {"label": 3}, "invalid_params"),
        ("mark", {"label": "x" * 200}, "invalid_params"),
        ("mark", {"label": "a", "t": 1}, "invalid_params"),
        ("obd.request", {}, "invalid_params"),
        ("obd.request", {"mode": 1}, "invalid_params"),
        ("obd.request", {"mode": 1, "pids": [1, 2, 3, 4, 5, 6, 7]}, "invalid_params"),
        ("obd.request", {"mode": 1, "pid": 256}, "invalid_params"),
        ("obd.request", {"mode": 1, "pid": 1, "pids": [2]}, "invalid_params"),
        ("obd.request", {"mode": 3, "pid": 1}, "invalid_params"),
        ("obd.request", {"mode": 9, "pids": [1, 2]}, "invalid_params"),
        ("obd.request", {"mode": 0x22, "pid": 1}, "invalid_params"),
        ("obd.request", {"mode": 1, "pid": 13, "ecu": "obd"}, "invalid_params"),
        ("discover", {"x": 1}, "invalid_params"),
        ("discover", {"ranges": ["nope"]}, "invalid_params"),
        ("discover", {"ranges": []}, "invalid_params"),
        ("discover", {"ranges": "functional"}, "invalid_params"),
        ("discover", {"rate": 0}, "invalid_params"),
        ("discover", {"rate": 21}, "invalid_params"),  # above [discover] rate
        ("discover", {"max_time": 0}, "invalid_params"),
        ("discover", {"max_time": 121}, "invalid_params"),  # above [discover] max_time
        ("discover", {"probe": "ping"}, "invalid_params"),
        ("discover", {"padding": 256}, "invalid_params"),
        ("discover", {"identify": 1}, "invalid_params"),
    ]
    for method, params, want in bad:
        got = code(c.call(method, params))
        check(got == want, "%s %s -> %s (got %s)" % (method, json.dumps(params)[:60], want, got))

    # Valid requests reach the broker; with no such interface they end in a named error.
    r = c.call("did.read", {"did": "TrunkAjar"})
    check(code(r) == "link_down" and "bcm: link_down: " in r["error"]["message"],
          "did.read by name reaches the broker: link_down, the reason in the message")
    r = c.call("dtc.read", {"ecu": "bcm", "mask": "0x09"})
    check(code(r) == "link_down", "dtc.read with a hex mask reaches the broker")
    r = c.call("did.read", {"did": "0xF190"})
    check(code(r) == "link_down", "did.read by number reaches the broker")
    # A functional request reaches the broker and every profile ECU with a functional id,
    # here without a bus: each responder's transport error in the result; the policy's
    # rate limit on the next one.
    r = c.call("obd.request", {"mode": "0x01", "pid": "0x0d"})
    res = r.get("result", {})
    check(res.get("request") == "010d" and res.get("answers")
          and res["answers"][0]["ecu"] == "obd" and res["answers"][0]["transport"] == "link_down",
          "obd.request reaches the broker: the obd ECU's link_down in the result (%s)" % r)
    r = c.call("obd.request", {"mode": 1, "pid": 13})
    check(code(r) == "rate_limited" and "one functional request per 0.5 s" in r["error"]["message"],
          "obd.request right after: rate_limited by the policy")
    time.sleep(0.6)
    # A discovery needs the bus: without the interface it cannot start, and says why.
    r = c.call("discover", {"ranges": ["functional"], "max_time": 2})
    check(code(r) == "unavailable" and "cannot start" in r["error"]["message"],
          "discover without the interface: unavailable (%s)" % r)
    st = c.call("status")["result"]
    check(st["identity"]["state"] == "waiting" and st["identity"]["profile"] == "configured"
          and st["identity"]["vin"] is None and st["identity"]["unit_id"],
          "status: identity, no VIN yet")
    r = c.call("mark", {"label": "fob pressed"})
    check("result" in r and r["result"]["label"] == "fob pressed" and r["result"]["seq"] == 1
          and r["result"]["t_us"] > 0, "mark: time-stamped into the timeline")
    check(c.call("status")["result"]["marks"] == 1, "status counts marks")
    c.close()

    # Privileges (SO_PEERCRED at connect): needs root to take another uid.
    if os.geteuid() == 0:
        r = as_user(sock, NOBODY, 54321, [], "status")  # a gid that is no group
        check(code(r) == "permission_denied", "no group: status -> permission_denied")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "status")
        check("result" in r, "read group: status allowed")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "dtc.read", {"ecu": "nope"})
        check(code(r) == "not_found", "read group: dtc.read allowed (argument checked)")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "dtc.clear")
        check(code(r) == "permission_denied" and "admin" in r["error"]["message"],
              "read group: dtc.clear -> permission_denied")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "mark", {"label": "x"})
        check("result" in r, "read group: mark allowed")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "discover")
        check(code(r) == "permission_denied" and "admin" in r["error"]["message"],
              "read group: discover -> permission_denied")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "obd.request", {"mode": 4})
        check(code(r) == "permission_denied" and "admin" in r["error"]["message"],
              "read group: obd.request mode 04 (clear) -> permission_denied")
        r = as_user(sock, NOBODY, NOGROUP, [NOGROUP], "obd.request", {"mode": 9, "pid": 2})
        check("result" in r, "read group: obd.request mode 09 allowed (%s)" % r)
        time.sleep(0.6)
        # Admin as the primary group, two supplementary ones: under qemu-user (no
        # SO_PEERGROUPS for two groups) the daemon takes the group database's, where
        # nobody has only the primary; the other calls: admin as the one supplementary.
        r = as_user(sock, NOBODY, ADMGROUP, [NOGROUP, ADMGROUP], "obd.request", {"mode": 4})
        check("result" in r, "admin group: obd.request mode 04 allowed (%s)" % r)
        r = as_user(sock, NOBODY, NOGROUP, [ADMGROUP], "dtc.clear")
        check(code(r) == "link_down", "admin group: dtc.clear allowed (reaches the broker)")
        r = as_user(sock, NOBODY, NOGROUP, [ADMGROUP], "dtc.clear", {"group": "x"})
        check(code(r) == "invalid_params", "admin group: dtc.clear argument checked")
    else:
        print("note: not root, privilege checks need another uid and were not run")
        check(False, "privilege checks need root (./run test runs as root)")

    # The CLI's exit codes (bodydiag(1)).
    env = dict(os.environ, BODYDIAG_SOCKET=sock)

    def cli(*args):
        return subprocess.run([CLI] + list(args), env=env, capture_output=True, text=True)

    r = cli("status")
    check(r.returncode == 0 and "listen_only" in r.stdout, "bodydiag status: 0")
    r = cli("status", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["interface"] == "bdnone0",
          "bodydiag status --json")
    r = cli("ecus")
    check(r.returncode == 0 and "bcm" in r.stdout and "0x726" in r.stdout, "bodydiag ecus")
    rows = r.stdout.splitlines()
    col = rows[0].find("SESSION") if rows else -1
    check(len(rows) == 4 and col > 0 and all(row[col:col + 2] == "0x" for row in rows[1:]),
          "bodydiag ecus: the SESSION column lines up under 29-bit ids:\n" + r.stdout)
    check(cli("did", "NoSuchDid").returncode == 4, "bodydiag did unknown: exit 4")
    check(cli("did", "TrunkAjar").returncode == 7, "bodydiag did without a bus: exit 7 (link_down)")
    check(cli("dtc", "--ecu", "nope").returncode == 4, "bodydiag dtc --ecu unknown: exit 4")
    check(cli("dtc", "--mask", "300").returncode == 1, "bodydiag dtc --mask 300: exit 1")
    check(cli("dtc", "frobnicate").returncode == 1, "bodydiag dtc frobnicate: exit 1")
    check(cli("live", "NoSuchSignal").returncode == 4, "bodydiag live unknown: exit 4")
    check(cli("live").returncode == 1, "bodydiag live without signals: exit 1")
    # On a detached bus live says so at once instead of waiting silently.
    lv = subprocess.Popen([CLI, "live", "TrunkAjar"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([lv.stderr], [], [], 10)
        note = lv.stderr.readline() if ready else ""
    finally:
        lv.kill()
        lv.wait()
    check("bdnone0 is detached" in note, "bodydiag live on a detached bus says so (%r)" % note)
    r = cli("mark", "fob_trunk_pressed")
    check(r.returncode == 0 and "fob_trunk_pressed" in r.stdout, "bodydiag mark: 0")
    check(cli("status", "--socket", os.path.join(tmp, "none.sock")).returncode == 2,
          "bodydiag status, no daemon: exit 2")
    if os.geteuid() == 0:
        def as_nobody():
            os.setgroups([NOGROUP])
            os.setgid(NOGROUP)
            os.setuid(NOBODY)
        r = subprocess.run([CLI, "dtc", "clear"], env=env, capture_output=True, text=True,
                           preexec_fn=as_nobody)
        check(r.returncode == 3 and "permission_denied" in r.stderr,
              "bodydiag dtc clear as a reader: exit 3")

    p.terminate()
    check(p.wait(timeout=10) == 0, "daemon exits cleanly on SIGTERM")
    log.close()
    if failures:
        print(open(os.path.join(tmp, "log")).read())
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
