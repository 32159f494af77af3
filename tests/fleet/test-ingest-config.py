#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bodydiag-ingest's configuration errors: FILE:LINE:COLUMN: reason, exit 1; a good file
passes --check-config. Output is TAP. Usage: test-ingest-config.py BODYDIAG_INGEST"""
import os
import subprocess
import sys
import tempfile

CASES = [
    ('[mqtt]\nhost = broker\nport = 1883\n', None),
    ('[database]\nconninfo = host=/run/postgresql dbname=bodydiag user=ingest\n', None),
    ('# comment\r\n[ingest]\r\nname = ingest-2\r\nqueue_max = 100\r\n', None),
    ('[mqtt]\nport = 65536\n', ':2:8: port: out of range'),
    ('[mqtt]\nport = -1\n', ':2:8: port: expects a decimal integer'),
    ('[mqtt]\nport = 1883\nport = 1884\n', ":3:1: 'port' set twice"),
    ('[mqtt]\n  colour = red\n', ":2:3: unknown key 'colour' in [mqtt]"),
    ('[broker]\n', ':1:2: unknown section [broker]'),
    ('host = x\n', ':1:1: key before the first [section]'),
    ('[mqtt]\nhost\n', ':2:1: expected key = value'),
    ('[mqtt]\nhost = a b\n', ':2:8: host: a host name has no blanks'),
    ('[mqtt]\ngroup = $share\n', ':2:9: group: expects 1-64 of'),
    ('[mqtt]\ntls = maybe\n', ':2:7: tls: expects yes or no'),
    ('[mqtt]\nca_file = certs/ca.pem\n', ':2:11: ca_file: expects an absolute path'),
    ('[ingest]\nbatch_max = 0\n', ':2:13: batch_max: out of range'),
    ('[mqtt]\nhost = x\x01\n', ':2:9: control character'),
    ('[mqtt]\ncert_file = /a.pem\ntls = yes\n', ': [mqtt] cert_file and key_file go together'),
    ('[mqtt]\nca_file = /ca.pem\n', ': [mqtt] ca_file/cert_file need tls = yes'),
    ('[mqtt]\n' + 'x' * 5000 + '\n', ':2:4097: line longer than 4096 bytes'),
]


def main():
    exe = sys.argv[1]
    n = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'ingest.conf')
        for text, want in CASES:
            open(path, 'w', newline='').write(text)
            r = subprocess.run([exe, '-c', path, '--check-config'], capture_output=True,
                               text=True)
            n += 1
            if want is None:
                ok = r.returncode == 0 and r.stdout.strip() == f'{path}: ok'
            else:
                ok = r.returncode == 1 and r.stderr.startswith(f'bodydiag-ingest: {path}{want}')
            failed += not ok
            print(f'{"ok" if ok else "not ok"} {n} - {text[:30]!r}: '
                  f'{(r.stderr or r.stdout).strip()[:120]}')
    print(f'1..{n}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
