# SPDX-License-Identifier: MIT
"""A listener on a broker for the forwarder's tests: an MQTT 3.1.1 client on a plain socket
(Debian has no Python MQTT package in the test's dependencies, and the test should see the
bytes the broker passes on, not a library's idea of them). It subscribes to one filter at
QoS 0 and keeps every PUBLISH (topic, payload, retain flag) in arrival order, reconnecting
when the broker goes away (a broker restart is part of the tests; what is published while
it is down is not seen, which the tests allow for).
"""
import socket
import struct
import threading
import time


def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(s):
    b = s.encode()
    return struct.pack('!H', len(b)) + b


class Capture:
    def __init__(self, port, topic_filter, client_id='bdtest-capture', host='127.0.0.1'):
        self.addr = (host, port)
        self.filter = topic_filter
        self.client_id = client_id
        self.messages = []  # (topic, payload bytes, retained)
        self.lock = threading.Lock()
        self.stop = False
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _packet(self, sock):
        """One MQTT packet: (type, flags, body) or None when the connection ended."""
        head = sock.recv(1)
        if not head:
            return None
        n, mult = 0, 1
        while True:
            b = sock.recv(1)
            if not b:
                return None
            n += (b[0] & 0x7f) * mult
            mult *= 128
            if not b[0] & 0x80:
                break
        body = b''
        while len(body) < n:
            chunk = sock.recv(n - len(body))
            if not chunk:
                return None
            body += chunk
        return head[0] >> 4, head[0] & 0x0f, body

    def _session(self):
        sock = socket.create_connection(self.addr, timeout=2)
        sock.settimeout(0.5)
        var = _utf8('MQTT') + bytes([4, 0x02]) + struct.pack('!H', 30)
        payload = _utf8(self.client_id)
        sock.sendall(bytes([0x10]) + _varint(len(var + payload)) + var + payload)
        sub = struct.pack('!H', 1) + _utf8(self.filter) + bytes([0])
        sock.sendall(bytes([0x82]) + _varint(len(sub)) + sub)
        last_ping = time.monotonic()
        while not self.stop:
            if time.monotonic() - last_ping > 10:
                sock.sendall(bytes([0xc0, 0]))
                last_ping = time.monotonic()
            try:
                p = self._packet(sock)
            except socket.timeout:
                continue
            if p is None:
                break
            kind, flags, body = p
            if kind == 9:  # SUBACK
                self.connected.set()
            elif kind == 3:  # PUBLISH, QoS 0 as subscribed: no packet id
                tlen = struct.unpack('!H', body[:2])[0]
                topic = body[2:2 + tlen].decode()
                off = 2 + tlen + (2 if flags & 0x06 else 0)
                with self.lock:
                    self.messages.append((topic, body[off:], bool(flags & 1)))
        sock.close()

    def _run(self):
        while not self.stop:
            try:
                self._session()
            except OSError:
                pass
            self.connected.clear()
            time.sleep(0.1)

    def wait_connected(self, timeout=10):
        return self.connected.wait(timeout)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        self.stop = True
        self.thread.join(3)
