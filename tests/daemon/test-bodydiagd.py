#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bodydiagd as a process (suite daemon): sd_notify READY/WATCHDOG/RELOADING/STOPPING,
SIGHUP reload that keeps the old configuration when the new one is bad, max_clients
applied on reload, socket activation, --check-config, clean exit on SIGTERM; with [mqtt]
enabled the forwarder's state in status and metrics, and no MQTT or TLS library mapped.

usage: test-bodydiagd.py PATH-TO-BODYDIAGD"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import json

DAEMON = sys.argv[1]
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def notify_wait(ns, want, timeout=5.0):
    """Reads sd_notify datagrams until one contains `want`; returns it (or None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ns.settimeout(max(0.01, end - time.monotonic()))
        try:
            msg = ns.recv(4096).decode()
        except socket.timeout:
            break
        if want in msg:
            return msg
    return None


def request(path, method, rid=1):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(json.dumps({"v": 1, "id": rid, "method": method}).encode() + b"\n")
    line = s.makefile().readline()
    s.close()
    return json.loads(line)


def check_config(tmp, text):
    path = os.path.join(tmp, "data.conf")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([DAEMON, "-c", path, "--check-config"], capture_output=True, text=True)


def check_data(tmp, sock):
    """--check-config checks the files the configuration names and the interface; data.rules
    may be a directory; a non-CAN interface is refused at once."""
    src = os.environ["BODYDIAG_SOURCE_ROOT"]
    profile = os.path.join(src, "profiles", "sim-2026.profile")
    rules = os.path.join(src, "rules", "trunk.rules")
    base = "[api]\nsocket = %s\n[can]\ninterface = bdnone0\n" % sock

    r = check_config(tmp, base + "[data]\nprofile = %s\nrules = %s\n" % (profile, rules))
    check(r.returncode == 0, "--check-config: profile, its DBC and the rules load (%s)"
          % r.stderr.strip()[-200:])
    r = check_config(tmp, base + "[data]\ndbc = %s/nope.dbc\n" % tmp)
    check(r.returncode == 1 and "nope.dbc" in r.stderr, "--check-config: a missing DBC fails")
    with open(rules) as f:
        lines = f.read().split("\n")
    fmt = next(l for l in lines if l.startswith("format"))
    bad_rules = os.path.join(tmp, "bad.rules")
    with open(bad_rules, "w") as f:
        f.write(fmt + "\n\nrule x \"X\"\n\twhen frobnicate\n")
    r = check_config(tmp, base + "[data]\nrules = %s\n" % bad_rules)
    check(r.returncode == 1 and bad_rules + ":4:" in r.stderr,
          "--check-config: a bad rule file fails with file:line:column (%s)" % r.stderr.strip())
    bad_profile = os.path.join(tmp, "bad.profile")
    with open(bad_profile, "w") as f:
        f.write("format = 1\n[vehicle]\nmake = x\n[ecu bcm]\nrequest = 0x726\nresponse = 0x726\n")
    r = check_config(tmp, base + "[data]\nprofile = %s\n" % bad_profile)
    check(r.returncode == 1 and bad_profile + ":" in r.stderr,
          "--check-config: a bad profile fails with its position (%s)" % r.stderr.strip())

    # A directory of rule files: trunk.rules split in two at a rule, read in name order.
    starts = [i for i, l in enumerate(lines) if l.startswith("rule ")]
    cut = starts[len(starts) // 2]
    rdir = os.path.join(tmp, "rules.d")
    os.mkdir(rdir)
    with open(os.path.join(rdir, "10-first.rules"), "w") as f:
        f.write("\n".join(lines[:cut]) + "\n")
    with open(os.path.join(rdir, "20-second.rules"), "w") as f:
        f.write("# the second half\n" + fmt + "\n" + "\n".join(lines[cut:]))
    with open(os.path.join(rdir, "README"), "w") as f:
        f.write("not a rule file\n")
    conf_dir = base + "[data]\nprofile = %s\nrules = %s\n" % (profile, rdir)
    r = check_config(tmp, conf_dir)
    check(r.returncode == 0, "data.rules: a directory of *.rules files loads (%s)"
          % r.stderr.strip()[-300:])
    # An error in the second file is reported in that file, on its own line.
    with open(os.path.join(rdir, "20-second.rules"), "a") as f:
        f.write("\nrule broken \"B\"\n\twhen frobnicate\n")
    n_second = sum(1 for _ in open(os.path.join(rdir, "20-second.rules")))
    r = check_config(tmp, conf_dir)
    want = "%s/20-second.rules:%d:" % (rdir, n_second)
    check(r.returncode == 1 and want in r.stderr,
          "data.rules directory: the error names its file and line (%s in %s)" % (want, r.stderr.strip()))
    os.unlink(os.path.join(rdir, "20-second.rules"))
    with open(os.path.join(rdir, "30-dup.rules"), "w") as f:
        f.write(fmt + "\n" + "\n".join(lines[starts[0]:starts[1]]) + "\n")
    r = check_config(tmp, conf_dir)
    check(r.returncode == 1 and "30-dup.rules:2:" in r.stderr and "duplicate" in r.stderr,
          "data.rules directory: a rule defined in two files is refused where it repeats (%s)"
          % r.stderr.strip())
    for name in os.listdir(rdir):
        os.unlink(os.path.join(rdir, name))
    r = check_config(tmp, conf_dir)
    check(r.returncode == 1 and "no *.rules file" in r.stderr, "data.rules: an empty directory fails")
    os.rmdir(rdir)

    # lo is no CAN interface: said at once, by --check-config and at start.
    lo = "[api]\nsocket = %s\n[can]\ninterface = lo\n" % sock
    r = check_config(tmp, lo)
    check(r.returncode == 1 and "lo is not a CAN interface" in r.stderr,
          "--check-config: can.interface = lo is not a CAN interface (%s)" % r.stderr.strip())
    path = os.path.join(tmp, "data.conf")
    try:
        r = subprocess.run([DAEMON, "-c", path], capture_output=True, text=True, timeout=10)
        check(r.returncode == 1 and "lo is not a CAN interface" in r.stderr,
              "bodydiagd with can.interface = lo exits saying it is not a CAN interface")
    except subprocess.TimeoutExpired:
        check(False, "bodydiagd with can.interface = lo waited instead of refusing")
    for name in ("data.conf", "bad.rules", "bad.profile"):
        os.unlink(os.path.join(tmp, name))


def forwarder_state(tmp):
    """[mqtt] enabled: the daemon queues for bodydiag-forward and reports its state file in
    status and metrics, and has no MQTT or TLS library in its address space."""
    sock = os.path.join(tmp, "mqtt.sock")
    state = os.path.join(tmp, "forward.state")
    conf = os.path.join(tmp, "mqtt.conf")
    with open(conf, "w") as f:
        f.write("[api]\nsocket = %s\n[history]\npath = %s/h.db\n[mqtt]\nenabled = yes\n"
                "host = broker.example\ntls = yes\nstate_file = %s\n" % (sock, tmp, state))
    p = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < end:
        time.sleep(0.05)
    mq = request(sock, "status")["result"]["mqtt"]
    check(mq["state"] == "not running" and mq["broker"] == "broker.example:8883" and
          mq["backlog"] == 0, "status: mqtt not running without a state file (%s)" % mq)
    boot = int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1e6)
    st = {"link": "connected", "pid": 1, "updated_boot_us": boot, "updated_us": 1767225600000000,
          "since_us": 1767225500000000, "retry_us": 0, "broker": "broker.example:8883",
          "tls": True, "unit": "van-0042", "epoch": 1, "error": "", "published": 5,
          "resent": 1, "receipted": 4, "rejected": 0, "connects": 1, "failures": 2,
          "last_receipt_us": 1767225600000000}
    with open(state, "w") as f:
        json.dump(st, f)
    mq = request(sock, "status")["result"]["mqtt"]
    check(mq["state"] == "connected" and mq["unit"] == "van-0042" and mq["receipted"] == 4 and
          mq["since"] == "2025-12-31T23:58:20.000000Z", "status: the forwarder's state (%s)" % mq)
    metrics = request(sock, "metrics")["result"]["text"]
    check("bodydiag_forward_connected 1" in metrics and
          "bodydiag_forward_connect_failures_total 2" in metrics and
          "bodydiag_forward_queue_depth 0" in metrics, "metrics: the forwarder's series")
    st["updated_boot_us"] = boot - 31000000
    with open(state, "w") as f:
        json.dump(st, f)
    mq = request(sock, "status")["result"]["mqtt"]
    check(mq["state"] == "not running" and mq["unit"] == "van-0042",
          "status: a state file older than 30 s: not running (%s)" % mq["state"])
    maps = open("/proc/%d/maps" % p.pid).read()
    libs = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps.splitlines()
                   if ".so" in line})
    check(not [lib for lib in libs if lib.startswith(("libmosquitto", "libssl", "libcrypto."))],
          "no MQTT or TLS library mapped in bodydiagd (%d libraries)" % len(libs))
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=10) == 0, "exit 0")


def main():
    tmp = tempfile.mkdtemp(prefix="test-bodydiagd-")
    conf = os.path.join(tmp, "bodydiag.conf")
    sock = os.path.join(tmp, "api.sock")
    good = "[api]\nsocket = %s\n[log]\nlevel = debug\n" % sock
    with open(conf, "w") as f:
        f.write(good)

    # --check-config
    r = subprocess.run([DAEMON, "-c", conf, "--check-config"], capture_output=True, text=True)
    check(r.returncode == 0 and "socket = " + sock in r.stdout, "--check-config prints the config")
    r = subprocess.run([DAEMON, "-c", conf, "--check-config", "--set", "can.bitrate=fast"],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "--set can.bitrate=fast" in r.stderr, "--set errors are reported")
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[api]\nsockett = /x\n")
    r = subprocess.run([DAEMON, "-c", bad, "--check-config"], capture_output=True, text=True)
    check(r.returncode == 1 and bad + ":2:1: unknown key 'sockett'" in r.stderr,
          "config errors carry file:line:column")
    r = subprocess.run([DAEMON, "-c", os.path.join(tmp, "missing.conf")], capture_output=True)
    check(r.returncode == 1, "a missing explicit config file is fatal")
    # Started by hand on a fresh host: no /run/bodydiag yet. The message says what to do.
    nodir = os.path.join(tmp, "nodir.conf")
    with open(nodir, "w") as f:
        f.write("[api]\nsocket = %s/missing/api.sock\n" % tmp)
    r = subprocess.run([DAEMON, "-c", nodir], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "systemctl start bodydiagd" in r.stderr and
          "install -d -m 0750 -g bodydiag %s/missing" % tmp in r.stderr,
          "a missing socket folder: the error says how to get one")
    check_data(tmp, sock)

    # A supervised run.
    ns_path = os.path.join(tmp, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(ns_path)
    env = dict(os.environ, NOTIFY_SOCKET=ns_path, WATCHDOG_USEC="200000")
    env.pop("LISTEN_FDS", None)
    env.pop("JOURNAL_STREAM", None)
    log = open(os.path.join(tmp, "stderr"), "w+")
    p = subprocess.Popen([DAEMON, "-c", conf], env=env, stderr=log)
    check(notify_wait(ns, "READY=1") is not None, "READY=1")
    check(os.stat(sock).st_mode & 0o777 == 0o660, "socket mode 0660")
    rep = request(sock, "ping")
    check(rep.get("result", {}).get("pong") is True, "ping")
    rep = request(sock, "version", 2)
    check(rep.get("id") == 2 and rep["result"]["api"] == 1, "version")
    n = 0
    end = time.monotonic() + 2
    while n < 3 and time.monotonic() < end:
        if notify_wait(ns, "WATCHDOG=1", end - time.monotonic()):
            n += 1
    check(n >= 3, "WATCHDOG=1 at half of WatchdogSec")

    # A bad reload keeps the old configuration.
    with open(conf, "w") as f:
        f.write("[api]\nmax_clients = 0\n")
    p.send_signal(signal.SIGHUP)
    check(notify_wait(ns, "RELOADING=1") is not None, "RELOADING=1")
    msg = notify_wait(ns, "READY=1")
    check(msg is not None and "Reload failed" in msg, "bad reload reported")
    check(request(sock, "ping").get("result") is not None, "still serving after a bad reload")
    log.seek(0)
    check(conf + ":2:15:" in log.read(), "reload error logged with line:column")

    # A good reload applies max_clients to new connections.
    with open(conf, "w") as f:
        f.write(good + "[api]\nmax_clients = 1\n")
    p.send_signal(signal.SIGHUP)
    msg = notify_wait(ns, "READY=1")
    check(msg is not None and "reloaded" in msg, "good reload")
    first = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    first.connect(sock)
    time.sleep(0.2)
    second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    second.settimeout(5)
    second.connect(sock)
    line = second.makefile().readline()
    check('"too_many_clients"' in line, "max_clients from the reloaded config")
    first.close()
    second.close()

    p.send_signal(signal.SIGTERM)
    check(notify_wait(ns, "STOPPING=1") is not None, "STOPPING=1")
    check(p.wait(timeout=10) == 0, "exit status 0 on SIGTERM")
    check(not os.path.exists(sock), "socket file removed on exit")

    # Socket activation: the daemon serves the passed fd and binds nothing itself.
    act = os.path.join(tmp, "activated.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(act)
    ls.listen(16)
    lfd = ls.fileno()

    def to_fd3():
        os.dup2(lfd, 3)

    env2 = dict(env)
    env2["LISTEN_FDS"] = "1"
    env2.pop("WATCHDOG_USEC")
    # LISTEN_PID must be the daemon's pid: the shell's $$, which exec keeps.
    p = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', DAEMON, "-c", conf],
                         env=env2, stderr=log, pass_fds=(lfd, 3), preexec_fn=to_fd3)
    check(notify_wait(ns, "READY=1") is not None, "READY=1 when socket-activated")
    check(request(act, "ping").get("result") is not None, "ping over the passed socket")
    check(not os.path.exists(sock), "no socket of its own when activated")
    p.send_signal(signal.SIGINT)
    check(p.wait(timeout=10) == 0, "exit status 0 on SIGINT")
    check(os.path.exists(act), "a passed socket's file is left to systemd")
    ls.close()

    # LISTEN_FDS naming an fd that is not a socket: refuse to start, touch nothing.
    p = subprocess.run(["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@" 3</dev/null', DAEMON,
                        "-c", conf], env=env2, stderr=subprocess.PIPE, text=True, timeout=10)
    check(p.returncode == 1 and "not a listening Unix stream socket" in p.stderr,
          "a bogus passed fd is refused")
    log.close()

    forwarder_state(tmp)
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


sys.exit(main())
