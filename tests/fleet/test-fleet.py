#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 20's proof: 50 simulated units -> mosquitto -> two bodydiag-ingest instances on one
shared subscription -> PostgreSQL, with the ingest, the broker and the database each
SIGKILLed once mid-stream (and started again). Every record must be stored exactly once,
the invalid ones refused and receipted as such, both instances must have taken a share.

All services are Debian's binaries started here, on loopback, in a temporary directory.
Output is TAP. Usage: test-fleet.py BODYDIAG_INGEST SIM_UNITS
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetenv  # noqa: E402

UNITS, RECORDS, BAD_UNITS = 50, 60, 3

n = 0
failed = 0


def check(cond, what):
    global n, failed
    n += 1
    print(('ok' if cond else 'not ok') + f' {n} - {what}', flush=True)
    if not cond:
        failed += 1


def main():
    ingest_exe, sim_exe = sys.argv[1], sys.argv[2]
    env = fleetenv.Env('fleet-test')
    t_start = time.monotonic()
    try:
        pg = fleetenv.Postgres(env)
        pg.start(create_db=True)
        broker = fleetenv.Broker(env)
        broker.start()
        a = fleetenv.Ingest(env, ingest_exe, 'a', broker, pg)
        b = fleetenv.Ingest(env, ingest_exe, 'b', broker, pg)
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
        time.sleep(1.0)  # the units' "offline"/"stop" messages
        for ing in (a, b):
            check(ing.stop() == 0, f'ingest {ing.name} stops cleanly on SIGTERM')
            print(f'# ingest {ing.name}: {ing.stats()}')

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
    print(f'1..{n}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
