#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The CLI reads the history through the store alone: `bodydiag` must not need the
daemon's event loop, journald or MQTT libraries (it runs where only the database is,
and `history`/`report` must not pull the daemon in). Checks the dynamic dependencies.

Usage: test-cli-links.py BODYDIAG BODYDIAGD
"""
import subprocess
import sys

FORBIDDEN = ("libev.so", "libsystemd.so", "libmosquitto.so")


def needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return [l.split("[")[1].rstrip("]") for l in out.splitlines() if "(NEEDED)" in l]


cli, daemon = sys.argv[1], sys.argv[2]
libs = needed(cli)
bad = [l for l in libs if l.startswith(FORBIDDEN)]
print(f"bodydiag needs: {' '.join(libs)}")
# The check can fail: the daemon itself does need them.
dlibs = needed(daemon)
if not any(l.startswith("libev.so") for l in dlibs):
    sys.exit("bodydiagd does not link libev: the check would prove nothing")
if bad:
    sys.exit(f"bodydiag links daemon libraries: {' '.join(bad)}")
print("ok: no event loop, journald or MQTT library in the CLI")
