# SPDX-License-Identifier: MIT
"""TAP for the Python suites (meson `protocol: 'tap'`): one numbered line per check, the
plan at the end, the exit status from the failures."""
import sys

_count = _failed = 0


def check(cond, what):
    """One test point; `what` may carry '\\n# ' lines of diagnostics."""
    global _count, _failed
    _count += 1
    print(('ok' if cond else 'not ok') + f' {_count} - {what}', flush=True)
    if not cond:
        _failed += 1
    return bool(cond)


def done():
    """Prints the plan; returns the exit status (1 when any check failed)."""
    print(f'1..{_count}', flush=True)
    sys.stdout.flush()
    return 1 if _failed else 0
