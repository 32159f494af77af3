#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The wire format's two implementations against each other (issue 20).

docs/schema/*.json are the contract; fleet/wire.c implements their rules by hand. Checked:
every schema is a valid draft 2020-12 schema; every example in docs/schema/examples/ and
every payload shown in docs/fleet.md passes both; and for a few hundred mutants of the
examples (members removed, replaced by values of other types and ranges, added) the schema
(python3-jsonschema) and `bodydiag-ingest --validate` give the same verdict. The only
disagreements allowed are the rules the schema cannot say (docs/fleet.md, "Rules beyond
the schema"), where the C side is stricter and says which rule.

Output is TAP. Usage: test-wire.py BODYDIAG_INGEST
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check  # noqa: E402

# RefResolver: Debian 12's jsonschema (4.10) has nothing newer; later ones warn about it.
warnings.filterwarnings('ignore', category=DeprecationWarning)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
SCHEMA_DIR = os.path.join(ROOT, 'docs', 'schema')
CROSS = ('is not the instant of', 'is not the J2012 text', 'after t_us',
         'online goes with connect')


def validators():
    store = {}
    for path in glob.glob(os.path.join(SCHEMA_DIR, '*.json')):
        s = json.load(open(path))
        jsonschema.Draft202012Validator.check_schema(s)
        store[s['$id']] = s
    out = {}
    for sid, s in store.items():
        if sid == 'common.json':
            continue
        resolver = jsonschema.RefResolver(base_uri=sid, referrer=s, store=store)
        out[s['properties']['kind']['const']] = jsonschema.Draft202012Validator(
            s, resolver=resolver)
    return out


def schema_ok(vals, payload):
    kind = payload.get('kind') if isinstance(payload, dict) else None
    v = vals.get(kind) if isinstance(kind, str) else None
    return v is not None and v.is_valid(payload)


def c_verdicts(ingest, payloads):
    with tempfile.NamedTemporaryFile('w', suffix='.jsonl', delete=False) as f:
        for p in payloads:
            f.write(json.dumps(p, separators=(',', ':')) + '\n')
    r = subprocess.run([ingest, '--validate', f.name], capture_output=True, text=True)
    os.unlink(f.name)
    out = []
    for line in r.stdout.splitlines():
        _, rest = line.split(': ', 1)
        out.append((rest.startswith('ok '), rest))
    return out


BAD_VALUES = [None, 'x', '', -1, 0, 1, 1.5, 2 ** 53, 256, 16777216, [], {}, True,
              'A' * 300, 'ok value', 'holds', 'WVWZZZ7HZ6W00000I', 'van 1', 'B1A40-1G',
              '2026-13-01T00:00:00.000000Z', '2026-01-01T00:00:00Z', 946684799999999,
              [[1, 2]], [{'seq': 1, 'reason': 'x'}], [[0, 1]], 'offline', 'will', 'stop']


def mutants(example):
    for key in example:
        m = copy.deepcopy(example)
        del m[key]
        yield f'without {key}', m
        for v in BAD_VALUES:
            m = copy.deepcopy(example)
            m[key] = v
            yield f'{key} = {json.dumps(v)[:30]}', m
    m = copy.deepcopy(example)
    m['extra'] = 1
    yield 'extra member', m
    # Valid for the schema, wrong for the rules beyond it.
    for key, delta in (('t_us', 1), ('dtc', 1), ('start_us', 10 ** 12)):
        if key in example:
            m = copy.deepcopy(example)
            m[key] += delta
            yield f'{key} moved by {delta}', m


def main():
    ingest = sys.argv[1]
    vals = validators()
    check(sorted(vals) == ['bus', 'dtc', 'finding', 'receipt', 'session', 'status'],
          f'one schema per payload kind: {sorted(vals)}')
    examples = {os.path.basename(p): json.load(open(p))
                for p in sorted(glob.glob(os.path.join(SCHEMA_DIR, 'examples', '*.json')))}
    doc = open(os.path.join(ROOT, 'docs', 'fleet.md')).read()
    shown = [json.loads(b) for b in re.findall(r'```json\n(.*?)\n```', doc, re.S)]
    shown = [s for s in shown if isinstance(s, dict) and 'kind' in s]
    check(len(shown) >= 6, f'{len(shown)} payloads shown in docs/fleet.md')
    every = list(examples.items()) + [(f'docs/fleet.md #{i + 1}', s) for i, s in enumerate(shown)]
    verdicts = c_verdicts(ingest, [p for _, p in every])
    for (name, p), (c_ok, msg) in zip(every, verdicts):
        check(schema_ok(vals, p) and c_ok, f'{name} passes the schema and the C validator ({msg})')

    cases = [(f'{name}: {what}', m) for name, ex in examples.items() for what, m in mutants(ex)]
    verdicts = c_verdicts(ingest, [m for _, m in cases])
    agree = cross = 0
    wrong = []
    for (what, m), (c_ok, msg) in zip(cases, verdicts):
        s_ok = schema_ok(vals, m)
        if s_ok == c_ok:
            agree += 1
        elif s_ok and not c_ok and any(c in msg for c in CROSS):
            cross += 1
        else:
            wrong.append(f'{what}: schema {"accepts" if s_ok else "refuses"}, C says {msg}')
    check(not wrong, f'{len(cases)} mutants: {agree} same verdict, {cross} refused only by '
          f'a rule beyond the schema, {len(wrong)} disagreements' +
          ''.join('\n# ' + w for w in wrong[:20]))
    check(cross > 0 and agree > 10 * cross, 'the rules beyond the schema were exercised')
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
