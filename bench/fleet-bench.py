#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fleet ingest benchmark (issue 20): sustained records/s into PostgreSQL and end-to-end
latency, against references measured in the same run, with the bottleneck named.

One PostgreSQL 15 and one mosquitto, started here on loopback in a temporary directory
(tests/fleet/fleetenv.py), and the simulated units of tests/fleet/sim-units:

  broker   the units publish as fast as their window allows and count the broker's PUBACK:
           what the broker and the publishers manage with no ingest at all (reference);
  ingest   the same load through one bodydiag-ingest into PostgreSQL, done = receipted:
           the sustained rate (rows / span of their commit times) and the latency from first
           publish to receipt; the ingest's own split of its time (database busy, queue full);
  copy     the same rows copied from one table to another partitioned the same way inside
           PostgreSQL (INSERT ... SELECT ... ON CONFLICT DO NOTHING, one statement): the
           database's own ceiling for this table (reference);
  latency  a light load (a tenth of the measured rate): the latency without queueing.

Printed: each rate, the ratios ingest/broker and ingest/copy, the ingest's database busy
share, and the bottleneck: the stage whose ratio is nearest 1 and the database busy share.
Use a release build (meson setup build-rel --buildtype=release): the ASan build of ./run
measures the sanitizers.

Usage: fleet-bench.py BODYDIAG_INGEST SIM_UNITS [UNITS] [RECORDS_PER_UNIT] [WINDOW]
"""
import glob
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'fleet'))
import fleetenv  # noqa: E402


def sim(exe, broker, args, log):
    r = subprocess.run([exe, '--port', str(broker.port)] + args, capture_output=True,
                       text=True, timeout=600)
    open(log, 'a').write(r.stdout + r.stderr)
    line = [x for x in r.stdout.splitlines() if x.startswith('sim-units:')]
    if r.returncode or not line:
        raise RuntimeError(f'sim-units {args}: {r.stderr[-500:]}')
    return dict(kv.split('=', 1) for kv in line[0].split()[1:] if '=' in kv)


def tree_cpu(pid):
    """User + system seconds of a process and its children (PostgreSQL's backends call
    setsid(), so not by process group), with what their ended children used, from /proc."""
    total = 0
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            f = open(stat).read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(stat.split('/')[2]) == pid or int(f[1]) == pid:
            total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    return total / os.sysconf('SC_CLK_TCK')


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ingest_exe, sim_exe = sys.argv[1], sys.argv[2]
    units = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    per_unit = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
    window = int(sys.argv[5]) if len(sys.argv) > 5 else 400
    total = units * per_unit
    env = fleetenv.Env('fleet-bench')
    log = os.path.join(env.dir, 'sim.log')
    try:
        pg = fleetenv.Postgres(env)
        pg.start(create_db=True)
        broker = fleetenv.Broker(env)
        broker.start()
        load = ['--units', str(units), '--records', str(per_unit), '--window', str(window),
                '--resend', '60', '--deadline', '500']

        ref = sim(sim_exe, broker, load + ['--puback-only', '--seed', '7'], log)
        broker_rate = float(ref['rate'].rstrip('/s'))

        ing = fleetenv.Ingest(env, ingest_exe, 'bench', broker, pg,
                              extra='queue_max = 20000\nbatch_max = 500\n')
        ing.start()
        cpu0 = (tree_cpu(pg.proc.pid), tree_cpu(broker.proc.pid), children_cpu())
        run = sim(sim_exe, broker, load + ['--seed', '8'], log)
        cpu = (tree_cpu(pg.proc.pid) - cpu0[0], tree_cpu(broker.proc.pid) - cpu0[1],
               children_cpu() - cpu0[2])
        span = pg.psql('SELECT count(*), extract(epoch FROM max(received_at) - '
                       'min(received_at)) FROM records')[0]
        rows, secs = int(span[0]), float(span[1])
        ingest_rate = rows / secs if secs > 0 else float('nan')

        ing.stop()
        st = ing.stats()
        ing.start()  # fresh statistics are not needed; only the latency below
        light = max(1.0, ingest_rate / 10 / units)
        lat = sim(sim_exe, broker, ['--units', str(units), '--records', '40', '--rate',
                                    f'{light:.2f}', '--window', '50', '--resend', '60',
                                    '--seed', '9'], log)
        ing.stop()
        busy_ms = int(st.get('db_busy_ms', 0))
        full_ms = int(st.get('queue_full_ms', 0))
        elapsed = float(run['elapsed_s'])

        # The database's own ceiling for this table: the same rows, copied inside it.
        pg.psql('CREATE TABLE bench_copy (LIKE records INCLUDING DEFAULTS INCLUDING '
                'CONSTRAINTS) PARTITION BY RANGE (t)')
        pg.psql("ALTER TABLE bench_copy ADD PRIMARY KEY (unit, epoch, seq, t)")
        for m in range(1, 13):
            pg.psql(f"CREATE TABLE bench_copy_{m} PARTITION OF bench_copy FOR VALUES FROM "
                    f"('2026-{m:02d}-01') TO ('{2026 + m // 12}-{m % 12 + 1:02d}-01')")
        pg.psql('CREATE INDEX ON bench_copy (unit, t)')
        pg.psql('CREATE INDEX ON bench_copy (kind, t)')
        t0 = time.monotonic()
        pg.psql('INSERT INTO bench_copy SELECT * FROM records ON CONFLICT DO NOTHING')
        copy_rate = rows / (time.monotonic() - t0)

        print(f'fleet-bench: {units} units x {per_unit} records = {total} '
              f'(plus {units * 40} for the latency run), window {window} per unit')
        print(f'  broker alone (PUBACK):      {broker_rate:9.0f} records/s')
        print(f'  through bodydiag-ingest:    {ingest_rate:9.0f} records/s into PostgreSQL '
              f'({rows} rows in {secs:.2f} s; receipted {run["rate"]})')
        print(f'  PostgreSQL alone (copy):    {copy_rate:9.0f} records/s')
        print(f'  ratio ingest/broker {ingest_rate / broker_rate:.2f}, '
              f'ingest/PostgreSQL-alone {ingest_rate / copy_rate:.2f}')
        print(f'  ingest: database busy {busy_ms / 1000:.2f} s of {elapsed:.2f} s '
              f'({100 * busy_ms / 1000 / elapsed:.0f} %), queue full {full_ms / 1000:.2f} s, '
              f'{st.get("batches")} batches ({int(st.get("committed", 0)) / max(1, int(st.get("batches", 1))):.0f} per batch), '
              f'{1000 * busy_ms / max(1, int(st.get("committed", 1))):.0f} us of database time per record')
        print(f'  ingest CPU: MQTT thread {int(st.get("mqtt_cpu_ms", 0)) / 1000:.2f} s '
              f'({100 * int(st.get("mqtt_cpu_ms", 0)) / 1000 / elapsed:.0f} % of the run), '
              f'database thread {int(st.get("db_cpu_ms", 0)) / 1000:.2f} s '
              f'({100 * int(st.get("db_cpu_ms", 0)) / 1000 / elapsed:.0f} %); '
              f'the machine has {os.cpu_count()} cores for broker, units, ingest and PostgreSQL')
        ingest_cpu = (int(st.get('mqtt_cpu_ms', 0)) + int(st.get('db_cpu_ms', 0))) / 1000
        shares = {'PostgreSQL': cpu[0], 'mosquitto': cpu[1], 'simulated units': cpu[2],
                  'bodydiag-ingest': ingest_cpu}
        used = sum(shares.values())
        print('  CPU during the run: ' + ', '.join(f'{k} {v:.2f} s' for k, v in shares.items()) +
              f'; {used:.2f} s of {elapsed * os.cpu_count():.2f} s available '
              f'({100 * used / (elapsed * os.cpu_count()):.0f} %)')
        print(f'  latency under full load (publish -> receipt): p50 {run["p50"]} ms, '
              f'p90 {run["p90"]} ms, p99 {run["p99"]} ms')
        print(f'  latency at {light * units:.0f} records/s: p50 {lat["p50"]} ms, '
              f'p90 {lat["p90"]} ms, p99 {lat["p99"]} ms')
        busy = busy_ms / 1000 / elapsed
        top = max(shares, key=shares.get)
        if used > 0.85 * elapsed * os.cpu_count():
            neck = (f'the CPU: the {os.cpu_count()} cores are {100 * used / (elapsed * os.cpu_count()):.0f} % '
                    f'used by the four programs together; the largest share is {top}\'s '
                    f'({100 * shares[top] / used:.0f} %), so on one machine it is what a faster '
                    f'core or a second machine would relieve first')
        elif busy > 0.8:
            neck = ('the database thread: PostgreSQL is busy {:.0f} % of the run with the batch '
                    'inserts'.format(100 * busy))
        elif ingest_rate > 0.8 * broker_rate:
            neck = 'the broker and the publishers (the ingest keeps up with what they deliver)'
        else:
            neck = ('the ingest\'s MQTT thread (receive, validate, queue) and the round trips: '
                    'the database is busy only {:.0f} %'.format(100 * busy))
        print(f'  bottleneck: {neck}')
    finally:
        env.cleanup()


if __name__ == '__main__':
    main()
