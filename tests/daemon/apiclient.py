# SPDX-License-Identifier: MIT
"""A small client of bodydiagd's JSON-lines API (docs/api.md) for the host-side daemon
tests: one connection with numbered requests, one-shot calls, error accessors, and a call
made from a child process with other credentials (SO_PEERCRED is decided at connect)."""
import json
import os
import socket


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(path)
        self.f = self.s.makefile("r")
        self.id = 0

    def call(self, method, params=None):
        """Sends one request and returns its reply (events in between are skipped), or
        None when the daemon closed the connection."""
        self.id += 1
        req = {"v": 1, "id": self.id, "method": method}
        if params is not None:
            req["params"] = params
        self.s.sendall(json.dumps(req).encode() + b"\n")
        while True:
            line = self.f.readline()
            if not line:
                return None
            j = json.loads(line)
            if j.get("id") == self.id:
                return j

    def close(self):
        self.s.close()


def call(path, method, params=None):
    """One request on its own connection."""
    c = Client(path)
    try:
        return c.call(method, params)
    finally:
        c.close()


def code(reply):
    return (reply or {}).get("error", {}).get("code")


def message(reply):
    return (reply or {}).get("error", {}).get("message", "")


def as_user(sock, uid, gid, groups, method, params=None):
    """Runs one call in a child with other credentials and returns its reply."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            out = json.dumps(call(sock, method, params))
        except Exception as e:  # noqa: BLE001 - reported to the parent
            out = json.dumps({"exception": str(e)})
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)
