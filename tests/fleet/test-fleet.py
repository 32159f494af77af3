#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 20's proof: 50 simulated units -> mosquitto -> two bodydiag-ingest instances on one
shared subscription -> PostgreSQL, with the ingest, the broker and the database each
SIGKILLed once mid-stream (and started again). Instance b has a queue of 40 messages, so
it fills while the database is down and b must stop reading from the broker (back-pressure).
Every record must be stored exactly once,
the invalid ones refused and receipted as such, both instances must have taken a share.

All services are Debian's binaries started here, on loopback, in a temporary directory.
Then the operator's view on that database: `bodydiag fleet vans|causes|history|silent`
against the same questions answered here in Python from the raw rows, and `bodydiag fleet
html` rendered in Debian's headless chromium (DOM and screenshot checked). A missing
chromium is a failure.

Output is TAP. Usage: test-fleet.py BODYDIAG_INGEST SIM_UNITS BODYDIAG
"""
import collections
import html.parser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetenv  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

UNITS, RECORDS, BAD_UNITS = 50, 60, 3


def render_module():
    """tests/tools/test-report-render.py: its chromium runner and PNG reader."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools',
                        'test-report-render.py')
    spec = importlib.util.spec_from_file_location('report_render', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Tables(html.parser.HTMLParser):
    """id -> data-rows of every <table>/<p> with an id, and the <details> per van."""

    def __init__(self):
        super().__init__()
        self.rows, self.vans = {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'data-rows' in a and a.get('id') != 'history':
            self.rows[a['id']] = int(a['data-rows'])
        if tag == 'details':
            self.vans.append(a.get('data-van'))


def fleet(bodydiag, pg, *args):
    r = subprocess.run([bodydiag, 'fleet', '--db', pg.conninfo] + list(args),
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f'bodydiag fleet {args}: {r.stderr}')
    return r.stdout


def view_checks(bodydiag, pg, env):
    # Two vans silent for three days, one whose connection died (the will).
    pg.psql("UPDATE units SET last_seen = now() - interval '3 days' "
            "WHERE unit IN ('van-049', 'van-050')")
    pg.psql("UPDATE units SET state = 'offline', state_reason = 'will' WHERE unit = 'van-048'")
    rows = pg.psql("SELECT unit, kind, t_us, seq, code, status, cause, state FROM records")
    latest = {}
    causes = collections.Counter()
    history = collections.Counter()
    for unit, kind, t_us, seq, code, status, cause, state in rows:
        if kind == 'dtc':
            key = (unit, code)
            if key not in latest or (int(t_us), int(seq)) > latest[key][0]:
                latest[key] = ((int(t_us), int(seq)), code, int(status))
        elif kind == 'finding' and state == 'holds':
            causes[cause] += 1
        if kind in ('finding', 'session'):
            history[unit] += 1
    open_faults = collections.Counter(k[0] for k, v in latest.items()
                                      if v[1].startswith('B') and v[2] & 9)
    vans = [json.loads(line) for line in fleet(bodydiag, pg, 'vans', '--json').splitlines()]
    check({v['van']: v['open_faults'] for v in vans} == dict(open_faults),
          f'fleet vans: {len(vans)} vans with open body faults, as counted from the records')
    check(all(v['last_verdict'] for v in vans), 'fleet vans: each has its last verdict')
    got = [json.loads(line) for line in fleet(bodydiag, pg, 'causes', '--json').splitlines()]
    check([(c['cause'], c['findings']) for c in got] ==
          sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])),
          f'fleet causes: {[(c["cause"], c["findings"]) for c in got[:3]]}... by frequency')
    h = fleet(bodydiag, pg, 'history', 'van-007', '--limit', '1000', '--json').splitlines()
    check(len(h) == history['van-007'] and json.loads(h[0])['time'] >= json.loads(h[-1])['time'],
          f'fleet history van-007: {len(h)} findings and sessions, newest first')
    silent = [json.loads(line)['van'] for line in
              fleet(bodydiag, pg, 'silent', '--json').splitlines()]
    check(silent == ['van-049', 'van-050', 'van-048'] or
          sorted(silent) == ['van-048', 'van-049', 'van-050'],
          f'fleet silent: {silent}')
    table = fleet(bodydiag, pg, 'vans')
    check(table.startswith('van ') and 'B1A40-13' in table, 'fleet vans as a table')

    page = os.path.join(env.dir, 'fleet.html')
    fleet(bodydiag, pg, 'html', '-o', page)
    rr = render_module()
    exe = shutil.which('chromium')
    check(exe is not None, 'chromium installed (tools/install-deps)')
    if not exe:
        return
    t0 = time.monotonic()
    r = rr.chromium(exe, os.path.join(env.dir, 'profile'), ['--dump-dom'], 'file://' + page)
    dom = r.stdout.decode('utf-8', 'replace')
    check(r.returncode == 0 and '</html>' in dom, 'chromium --dump-dom of the fleet page' +
          rr.why(r))
    t = Tables()
    t.feed(dom)
    check(t.rows == {'open-faults': len(vans), 'causes': len(got), 'silent': len(silent)},
          f'rendered tables: {t.rows}')
    check(t.vans == [v['van'] for v in vans], f'one findings history per van with faults '
          f'({len(t.vans)})')
    shot = os.path.join(env.dir, 'fleet.png')
    r = rr.chromium(exe, os.path.join(env.dir, 'profile'), ['--screenshot=' + shot],
                    'file://' + page)
    check(r.returncode == 0 and os.path.exists(shot), 'chromium --screenshot' + rr.why(r))
    if not os.path.exists(shot):
        return
    w, h_, bpp, png = rr.decode_png(open(shot, 'rb').read())
    colours = {row[x:x + 3] for row in png[::10] for x in range(0, len(row), bpp * 5)}
    check(len(colours) >= 16, f'screenshot not blank: {len(colours)} colours sampled')
    # The cause bars: #c33 boxes 10 px high, one per cause, the first the longest.
    bars = sorted((b for b in rr.blobs(png, bpp, (0xcc, 0x33, 0x33))
                   if 9 <= b[3] - b[1] + 1 <= 11 and b[2] - b[0] >= 8), key=lambda b: b[1])
    check(len(bars) == len(got) and bars[0][2] - bars[0][0] >= bars[-1][2] - bars[-1][0],
          f'{len(bars)} cause bars drawn for {len(got)} causes, longest first')
    keep = os.environ.get('BODYDIAG_FLEET_SCREENSHOT')
    if keep:
        shutil.copy(shot, keep)
        shutil.copy(page, os.path.splitext(keep)[0] + '.html')
    print(f'# chromium: {time.monotonic() - t0:.1f} s')


def main():
    ingest_exe, sim_exe, bodydiag = sys.argv[1], sys.argv[2], sys.argv[3]
    env = fleetenv.Env('fleet-test')
    t_start = time.monotonic()
    try:
        pg = fleetenv.Postgres(env)
        pg.start(create_db=True)
        broker = fleetenv.Broker(env)
        broker.start()
        a = fleetenv.Ingest(env, ingest_exe, 'a', broker, pg)
        # b with a small queue: while the database is down it fills, and b stops reading.
        b = fleetenv.Ingest(env, ingest_exe, 'b', broker, pg,
                            extra='queue_max = 40\nbatch_max = 20\n')
        a.start()
        b.start()
        expected_path = os.path.join(env.dir, 'expected.jsonl')
        sim_log = os.path.join(env.dir, 'sim.log')
        sim = env.spawn([sim_exe, '--port', str(broker.port), '--units', str(UNITS),
                         '--records', str(RECORDS), '--rate', '4', '--resend', '3',
                         '--deadline', '100', '--bad-units', str(BAD_UNITS),
                         '--expected', expected_path], sim_log)

        def stored():
            return int(pg.psql('SELECT count(*) FROM records')[0][0])

        # Kill each once while records flow; each comes back a second later.
        events = []
        time.sleep(3)
        events.append(('ingest a', stored()))
        a.kill()
        time.sleep(1)
        a.start()
        time.sleep(2.5)
        events.append(('broker', stored()))
        broker.kill()
        time.sleep(1)
        broker.start()
        time.sleep(2.5)
        events.append(('database', stored()))
        pg.kill()
        time.sleep(1)
        pg.start()
        for what, count in events:
            print(f'# SIGKILL {what} with {count} records stored')
        check(all(0 < c < UNITS * RECORDS - UNITS for _, c in events),
              'every kill came mid-stream (records stored before it, more to come)')

        rc = sim.wait(120)
        print('# ' + open(sim_log).read().strip().replace('\n', '\n# '))
        check(rc == 0, 'every simulated unit got a receipt for every record')
        # The units' "offline"/"stop" messages, on their way through the broker.
        fleetenv.wait_for('offline status of every unit', lambda: pg.psql(
            "SELECT count(*) FROM units WHERE state = 'offline'")[0][0] == str(UNITS), 20)
        for ing in (a, b):
            check(ing.stop() == 0, f'ingest {ing.name} stops cleanly on SIGTERM')
            print(f'# ingest {ing.name}: {ing.stats()}')
        full_ms = int(b.stats().get('queue_full_ms', 0))
        check(full_ms > 0, f'back-pressure: ingest b\'s queue (40) was full {full_ms} ms '
              'while the database was down, and nothing was lost (below)')
        check(a.stats().get('dropped') == '0' and b.stats().get('dropped') == '0',
              'no message dropped by a full queue: reading stopped instead')

        expected = fleetenv.read_expected(expected_path)
        want = {(e['unit'], e['epoch'], e['seq'], e['kind'], e['t_us']) for e in expected}
        rows = pg.psql('SELECT unit, epoch, seq, kind, t_us FROM records')
        got = [(r[0], int(r[1]), int(r[2]), r[3], int(r[4])) for r in rows]
        check(len(expected) == UNITS * RECORDS - BAD_UNITS,
              f'{len(expected)} valid records generated')
        check(len(got) == len(set(got)), f'no record stored twice ({len(got)} rows)')
        check(set(got) == want, f'every record stored: {len(set(got) & want)} of {len(want)}, '
              f'{len(set(got) - want)} unexpected')
        dup = pg.psql('SELECT count(*) FROM (SELECT unit, epoch, seq FROM records '
                      'GROUP BY 1, 2, 3 HAVING count(*) > 1) d')[0][0]
        check(dup == '0', 'unit + epoch + seq unique across partitions')
        rej = pg.psql("SELECT DISTINCT unit, seq, reason FROM rejects ORDER BY 1")
        check(len(rej) == BAD_UNITS and all('/confidence' in r[2] for r in rej),
              f'the {BAD_UNITS} invalid records are in rejects with the reason: {rej}')
        shares = dict(pg.psql('SELECT ingest, count(*) FROM records GROUP BY 1'))
        check(int(shares.get('a', 0)) > 0 and int(shares.get('b', 0)) > 0,
              f'both instances stored records from the shared subscription: {shares}')
        parts = pg.psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'records'::regclass")
        check(int(parts[0][0]) >= 3, f'monthly partitions created: {parts[0][0]}')
        units = pg.psql('SELECT count(*), count(vin), sum(last_seq) FROM units')[0]
        check(units[0] == str(UNITS) and units[1] == str(UNITS) and
              units[2] == str(UNITS * RECORDS),
              f'units: {units[0]} rows, {units[1]} with a VIN, last_seq sum {units[2]}')
        online = pg.psql("SELECT count(DISTINCT unit) FROM status_events WHERE state = 'online'")
        check(online[0][0] == str(UNITS), f'online status of every unit: {online[0][0]}')
        stopped = pg.psql("SELECT count(*) FROM units WHERE state = 'offline' "
                          "AND state_reason = 'stop'")
        check(stopped[0][0] == str(UNITS), f'clean offline of every unit: {stopped[0][0]}')
        version = pg.psql('SELECT max(version) FROM schema_migrations')
        check(version[0][0] == '2', 'schema at version 2')
        view_checks(bodydiag, pg, env)
        print(f'# wall time {time.monotonic() - t_start:.1f} s')
    except Exception as e:  # noqa: BLE001 - report any failure as a TAP line
        check(False, f'harness: {e}')
        for name in ('postgres.log', 'mosquitto.log', 'ingest-a.log', 'ingest-b.log',
                     'sim.log'):
            path = os.path.join(env.dir, name)
            if os.path.exists(path):
                print(f'# --- {name}\n# ' + open(path, errors='replace').read()[-3000:]
                      .replace('\n', '\n# '))
    finally:
        env.cleanup()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
