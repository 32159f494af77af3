#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Exit statuses of the offline commands, as bodydiag(1) documents them: a usage error is
1 (2 is reserved for "the daemon cannot be reached"), a file that cannot be read is 1,
and every one prints one line that says what was wrong.

Usage: test-cli-exit.py BODYDIAG
"""
import os
import subprocess
import sys
import tempfile


def main():
    exe = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "none.db")
        cases = [
            (["history", "--since", "yesterday-ish", "--db", db], 1, "--since"),
            (["history", "--code", "XYZ", "--db", db], 1, "--code"),
            (["history", "--kind", "banana", "--db", db], 1, "--kind"),
            (["history", "--limit", "0", "--db", db], 1, "--limit"),
            (["history", "--format", "xml", "--db", db], 1, "--format"),
            (["history", "--db", db, "extra"], 1, "unexpected argument"),
            (["history", "--no-such-option"], 1, ""),
            (["report", "--db", db], 1, "Usage"),
            (["report", "--session", "-3", "-o", "x.html", "--db", db], 1, "--session"),
            (["report", "--bogus"], 1, ""),
            (["decode", "--dbc"], 1, ""),
            (["decode", "--dbc", os.path.join(tmp, "missing.dbc"), "x.log"], 1, "missing.dbc"),
        ]
        for args, want, text in cases:
            p = subprocess.run([exe, *args], capture_output=True, text=True)
            if p.returncode != want or text not in p.stderr:
                print(f"bodydiag {' '.join(args)}: exit {p.returncode} (want {want}), "
                      f"stderr {p.stderr.strip()[:200]!r}")
                failures += 1
    print("cli-exit:", "ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
