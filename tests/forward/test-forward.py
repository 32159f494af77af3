#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bodydiag-forward against the fleet side (issue 15 phase 2; docs/fleet.md section 2).

End to end: outbox-writer records into a history what bodydiagd would (findings, DTC
transitions, bus events, session summaries; with and without a VIN) while bodydiag-forward
publishes it to Debian's mosquitto and bodydiag-ingest stores it in PostgreSQL (both started
here on loopback with tests/fleet/fleetenv.py). The broker is SIGKILLed and started again
mid-stream, then the ingest. Checked: every record reached the database exactly once (seq
1..N, each once, the unit's epoch), as the history has it (kind, id, time), in record order
(seq order is history order); the outbox is empty (each row deleted on its receipt);
nothing was refused; every payload the forwarder published, as a listener on the broker
saw it, passes `bodydiag-ingest --validate` (fleet/wire.c) and the JSON Schemas
(docs/schema); the status: online per connection, the retained offline/stop after SIGTERM;
a restart resumes the broker's session (clean start off, session expiry).

TLS (no database): a port nobody listens on (the broker down) is refused without a busy
loop; a CA the broker's certificate does not chain to, and a certificate for another host
name, are refused, logged and retried with a back-off; a wrong password is refused; the
right CA with user and password, and a client certificate where the broker requires one,
connect and publish.

Output is TAP. Usage: test-forward.py BODYDIAG_FORWARD OUTBOX_WRITER BODYDIAG_INGEST
"""
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'fleet'))
sys.path.insert(0, HERE)
import fleetenv  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import mqttcapture  # noqa: E402

FORWARD, WRITER, INGEST = sys.argv[1:4]
UNIT = 'van-0042'
RECORDS = 240


class Forwarder:
    def __init__(self, env, name, db, port, extra=''):
        self.env, self.name = env, name
        self.conf = os.path.join(env.dir, f'forward-{name}.conf')
        self.log = os.path.join(env.dir, f'forward-{name}.log')
        self.state_file = os.path.join(env.dir, f'forward-{name}.state')
        open(self.conf, 'w').write(
            f'[history]\npath = {db}\n[mqtt]\nenabled = yes\nhost = 127.0.0.1\n'
            f'port = {port}\nresend = 1s\nkeepalive = 5\n'
            f'state_file = {self.state_file}\n' + extra + f'\n[fleet]\nunit_id = {UNIT}\n')
        self.proc = None

    def start(self):
        open(self.log, 'a').write('--- start\n')
        self.proc = self.env.spawn([FORWARD, '-c', self.conf], self.log)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)

    def state(self):
        try:
            return json.load(open(self.state_file))
        except (OSError, ValueError):
            return {}

    def wait(self, what, cond, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond(self.state()):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        print(f'# {self.name}: not {what} within {timeout} s: {self.state()}')
        return False

    def text(self):
        return open(self.log).read()


def outbox_count(db):
    with sqlite3.connect(db, timeout=5) as c:
        return c.execute('SELECT count(*) FROM outbox').fetchone()[0]


def history_records(db):
    """(kind, id, t_us) of every record the history queued: what the fleet must hold."""
    with sqlite3.connect(db, timeout=5) as c:
        rows = [('finding', i, t) for i, t in c.execute('SELECT id, t_us FROM findings')]
        rows += [('dtc', i, t) for i, t in c.execute('SELECT id, t_us FROM dtc_transitions')]
        rows += [('bus', i, t) for i, t in c.execute('SELECT id, t_us FROM bus_events')]
        rows += [('session', i, t) for i, t in
                 c.execute('SELECT id, end_us FROM sessions WHERE end_us IS NOT NULL')]
        epoch = c.execute("SELECT value FROM meta WHERE key = 'outbox_epoch'").fetchone()[0]
    return rows, epoch


def schema_validators():
    """tests/fleet/test-wire.py's JSON Schema validators (python3-jsonschema)."""
    spec = importlib.util.spec_from_file_location(
        'test_wire', os.path.join(HERE, '..', 'fleet', 'test-wire.py'))
    mod = importlib.util.module_from_spec(spec)
    saved = sys.argv
    sys.argv = [saved[0], INGEST]
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.argv = saved
    return mod.validators()


def conformance(messages):
    """Every payload seen on the broker: the ingest's validator and the JSON Schemas."""
    payloads = [p for t, p, r in messages]
    lines = b''.join(p + b'\n' for p in payloads)
    r = subprocess.run([INGEST, '--validate', '-'], input=lines, capture_output=True)
    verdicts = r.stdout.decode().splitlines()
    bad = [v for v in verdicts if ': ok ' not in v]
    kinds = sorted({v.split(': ok ')[1] for v in verdicts if ': ok ' in v})
    check(len(verdicts) == len(payloads) and not bad and payloads,
          f'bodydiag-ingest --validate: {len(payloads)} published payloads, all ok '
          f'(kinds {", ".join(kinds)})' + (f'; first refusal {bad[0]}' if bad else ''))
    check(kinds == ['bus', 'dtc', 'finding', 'session', 'status'], 'every kind was published')
    vals = schema_validators()
    errors = []
    for topic, p, retained in messages:
        o = json.loads(p)
        errs = list(vals[o['kind']].iter_errors(o))
        if errs:
            errors.append(f'{topic}: {errs[0].message}')
        kind = o['kind']
        want = (f'bodydiag/v1/{UNIT}/status' if kind == 'status' else
                f'bodydiag/v1/{UNIT}/{o["vin"] or "unknown"}/{kind}')
        if topic != want:
            errors.append(f'{topic}: expected {want}')
        if retained and kind != 'status':  # the status is retained (a resubscription shows it)
            errors.append(f'{topic}: a retained record')
    check(not errors, 'the JSON Schemas (docs/schema) accept every payload, on its topic'
          + (f': {errors[:3]}' if errors else ''))


def end_to_end(env):
    t0 = time.monotonic()
    db = os.path.join(env.dir, 'history.db')
    pg = fleetenv.Postgres(env)
    pg.start(create_db=True)
    broker = fleetenv.Broker(env)
    broker.start()
    ingest = fleetenv.Ingest(env, INGEST, 'a', broker, pg)
    ingest.start()
    cap = mqttcapture.Capture(broker.port, 'bodydiag/#')
    cap.wait_connected()
    t_up = time.monotonic()

    def stored():
        return int(pg.psql(f"SELECT count(*) FROM records WHERE unit = '{UNIT}'")[0][0])

    writer_log = os.path.join(env.dir, 'writer.log')
    writer = env.spawn([WRITER, db, '--records', str(RECORDS), '--rate', '40'], writer_log)
    fleetenv.wait_for('the history database', lambda: os.path.exists(db), 10, writer, writer_log)
    fwd = Forwarder(env, 'e2e', db, broker.port)
    fwd.start()
    check(fwd.wait('connected', lambda s: s.get('link') == 'connected'),
          'connected to the broker (state file)')
    fleetenv.wait_for('records stored', lambda: stored() >= 40, 20)
    at_kill = stored()
    broker.kill()
    time.sleep(1.0)
    broker.start()
    fleetenv.wait_for('records stored after the broker restart', lambda: stored() >= at_kill + 40, 30)
    at_kill2 = stored()
    ingest.kill()
    time.sleep(1.0)
    ingest.start()
    check(writer.wait(60) == 0, f'outbox-writer queued {RECORDS} records at 40/s')
    check(0 < at_kill < at_kill2 < RECORDS,
          f'the broker died with {at_kill} of {RECORDS} stored, the ingest with {at_kill2}')
    try:
        fleetenv.wait_for('every record receipted',
                          lambda: outbox_count(db) == 0 and stored() >= RECORDS, 60)
        drained = True
    except RuntimeError as e:
        print(f'# {e}: outbox {outbox_count(db)}, stored {stored()}')
        drained = False
    t_done = time.monotonic()
    check(drained, 'the outbox is empty: every row was deleted on a receipt')
    check(fwd.stop() == 0, 'SIGTERM: exit status 0')
    st = fwd.state()
    time.sleep(0.5)

    rows, epoch = history_records(db)
    db_rows = pg.psql(f"SELECT seq, kind, unit_record_id, t_us, epoch FROM records "
                      f"WHERE unit = '{UNIT}' ORDER BY seq")
    seqs = [int(r[0]) for r in db_rows]
    check(seqs == list(range(1, RECORDS + 1)),
          f'PostgreSQL holds seq 1..{RECORDS}, each once ({len(seqs)} rows)')
    check({int(r[4]) for r in db_rows} == {epoch}, "with the outbox's epoch")
    fleet_set = {(r[1], int(r[2]), int(r[3])) for r in db_rows}
    check(fleet_set == set(rows) and len(rows) == RECORDS,
          'the same records as the history: kind, id and time of each')
    order_ok = all(int(a[3]) <= int(b[3]) for a, b in zip(db_rows, db_rows[1:]))
    per_kind = {}
    for r in db_rows:
        per_kind.setdefault(r[1], []).append(int(r[2]))
    check(order_ok and all(v == sorted(v) for v in per_kind.values()),
          'in order: seq order is the history\'s order (time, and ids within each kind)')
    rejects = pg.psql('SELECT count(*) FROM rejects')[0][0]
    check(rejects == '0', 'nothing refused by the ingest (rejects empty)')
    conns = pg.psql(f"SELECT state, reason FROM status_events WHERE unit = '{UNIT}' ORDER BY t")
    online = sum(1 for c in conns if c == ['online', 'connect'])
    check(online >= 2 and ['offline', 'stop'] in conns,
          f'status: online on {online} connections, offline/stop at the end')
    unit_row = pg.psql(f"SELECT state, state_reason, last_seq FROM units WHERE unit = '{UNIT}'")
    check(unit_row == [['offline', 'stop', str(RECORDS)]],
          f'units: offline/stop, last seq {RECORDS}')
    check(st.get('link') == 'stopped' and st.get('receipted') == RECORDS and
          st.get('rejected') == 0 and
          st.get('connects', 0) >= 2 and st.get('failures', 0) >= 1,
          f'state file counters: {st.get("published")} published, {st.get("resent")} resent, '
          f'{st.get("receipted")} receipted, {st.get("connects")} connections, '
          f'{st.get("failures")} failures')
    log = fwd.text()
    check('connection to 127.0.0.1' in log and 'lost' in log,
          'the lost connection is logged (warning) with the back-off')

    # The broker keeps the session between connections (clean start off, session expiry).
    fwd.start()
    check(fwd.wait('connected', lambda s: s.get('link') == 'connected'), 'started again')
    time.sleep(0.3)
    check(fwd.stop() == 0 and '(resumed session)' in fwd.text().split('--- start')[-1],
          'the restart resumed the broker\'s session')
    time.sleep(0.3)
    msgs = [m for m in cap.snapshot() if not m[0].endswith('/receipt')]  # the ingest's
    cap.close()
    conformance(msgs)
    # A new subscriber gets the retained status: offline/stop.
    late = mqttcapture.Capture(broker.port, f'bodydiag/v1/{UNIT}/status', 'bdtest-late')
    late.wait_connected()
    fleetenv.wait_for('the retained status', lambda: late.snapshot(), 5)
    t, p, retained = late.snapshot()[0]
    late.close()
    status = json.loads(p)
    check(retained and status['state'] == 'offline' and status['reason'] == 'stop',
          'the retained status on the broker: offline/stop')
    records = [json.loads(p) for t, p, r in msgs if not t.endswith('/status')]
    repeats = len(records) - len({r['seq'] for r in records})
    print(f'# end to end: {RECORDS} records, writer 40/s; broker killed at {at_kill} stored, '
          f'ingest at {at_kill2}; all receipted {t_done - t_up:.1f} s after the start, '
          f'{st.get("resent")} resends by the forwarder, {repeats} repeats seen on the broker; '
          f'set-up {t_up - t0:.1f} s, wall {time.monotonic() - t0:.1f} s')
    ingest.stop()
    pg.stop()
    broker.kill()


def tls(env):
    t0 = time.monotonic()
    certs = os.path.join(env.dir, 'certs')
    subprocess.run([os.path.join(HERE, 'make-certs'), certs], check=True)
    pw = os.path.join(env.dir, 'passwords')
    subprocess.run(['mosquitto_passwd', '-b', '-c', pw, 'van', 's3cret'], check=True,
                   capture_output=True)
    os.chmod(pw, 0o600)
    broker = fleetenv.Broker(env)
    ports = {k: fleetenv.free_port() for k in ('pw', 'cert', 'wrongname')}
    c = f'{certs}/'
    conf = open(broker.conf).read().replace('allow_anonymous true\n', '')
    conf = ('per_listener_settings true\n' + conf +
            'allow_anonymous true\n'
            f'listener {ports["pw"]} 127.0.0.1\ncafile {c}ca.pem\ncertfile {c}server.pem\n'
            f'keyfile {c}server.key\npassword_file {pw}\nallow_anonymous false\n'
            f'listener {ports["cert"]} 127.0.0.1\ncafile {c}ca.pem\ncertfile {c}server.pem\n'
            f'keyfile {c}server.key\nrequire_certificate true\nuse_identity_as_username true\n'
            'allow_anonymous false\n'
            f'listener {ports["wrongname"]} 127.0.0.1\ncafile {c}ca.pem\n'
            f'certfile {c}wrongname.pem\nkeyfile {c}wrongname.key\nallow_anonymous true\n')
    open(broker.conf, 'w').write(conf)
    broker.start()
    cap = mqttcapture.Capture(broker.port, 'bodydiag/#', 'bdtest-tls-capture')
    cap.wait_connected()
    db = os.path.join(env.dir, 'tls.db')
    subprocess.run([WRITER, db, '--records', '3'], check=True, capture_output=True)
    creds = os.path.join(env.dir, 'credentials')

    def run(name, port, extra, user='van', password='s3cret'):
        open(creds, 'w').write(f'{user}\n{password}\n')
        f = Forwarder(env, name, db, port, 'tls = yes\n' + extra)
        f.start()
        return f

    def failing(f, what, needle):
        t = time.monotonic()
        ok = f.wait('failing', lambda s: s.get('failures', 0) >= 2 and s.get('link') == 'waiting')
        st = f.state()
        print(f'# {what}: {time.monotonic() - t:.1f} s to 2 failures')
        f.stop()
        check(ok and needle in st.get('error', '') and f'cannot connect to 127.0.0.1' in f.text(),
              f'{what}: refused, logged, retried after a back-off ({st.get("error")})')

    # Nothing listening (the broker down): refused and retried, not "connecting" for ever in
    # a busy loop (libmosquitto 2.0 takes a failed read in the TLS handshake for "try again").
    f = run('no-broker', fleetenv.free_port(), f'ca_file = {c}ca.pem\n')
    ok = f.wait('failing', lambda s: s.get('failures', 0) >= 3 and s.get('link') == 'waiting')
    stat = open(f'/proc/{f.proc.pid}/stat').read().rsplit(')', 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf('SC_CLK_TCK')
    st = f.state()
    f.stop()
    check(ok and 'refused' in st.get('error', '') and cpu < 1.0,
          f'TLS to a port nobody listens on: refused, retried after a back-off, '
          f'{cpu:.2f} s of CPU for 3 attempts ({st.get("error")})')
    failing(run('wrong-ca', ports['pw'], f'ca_file = {c}other-ca.pem\ncredentials = {creds}\n'),
            'a broker certificate from another CA', 'certificate verify failed')
    failing(run('wrong-name', ports['wrongname'], f'ca_file = {c}ca.pem\n'),
            'a broker certificate for another host name', 'certificate verify failed')
    failing(run('wrong-pw', ports['pw'], f'ca_file = {c}ca.pem\ncredentials = {creds}\n',
                password='guess'),
            'a wrong password', 'refused')
    for name, port, extra in (
            ('password', ports['pw'], f'ca_file = {c}ca.pem\ncredentials = {creds}\n'),
            ('client-cert', ports['cert'],
             f'ca_file = {c}ca.pem\ncert_file = {c}client.pem\nkey_file = {c}client.key\n')):
        f = run(name, port, extra)
        ok = f.wait('connected', lambda s: s.get('link') == 'connected' and s.get('published') == 3)
        f.stop()
        check(ok, f'TLS with the right CA and {name.replace("-", " ")}: connected, '
              'the outbox published')
    f = run('no-client-cert', ports['cert'], f'ca_file = {c}ca.pem\n')
    ok = f.wait('failing', lambda s: s.get('failures', 0) >= 1)
    f.stop()
    check(ok, 'no client certificate where the broker requires one: refused')
    time.sleep(0.3)
    seen = {json.loads(p)['seq'] for t, p, r in cap.snapshot() if not t.endswith('/status')}
    cap.close()
    check(seen == {1, 2, 3}, 'the records went through the TLS listeners')
    r = subprocess.run([FORWARD, '-c', os.path.join(env.dir, 'forward-password.conf'),
                        '--set', 'mqtt.ca_file=/nonexistent/ca.pem', '--check-config'],
                       capture_output=True, text=True)
    check(r.returncode == 2 and '/nonexistent/ca.pem' in r.stderr,
          'a missing CA file is a configuration error (exit 2)')
    print(f'# TLS part: wall {time.monotonic() - t0:.1f} s')
    broker.kill()


def config_errors(env):
    conf = os.path.join(env.dir, 'plain.conf')
    open(conf, 'w').write('[mqtt]\nenabled = no\n')
    r = subprocess.run([FORWARD, '-c', conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and 'enabled' in r.stderr, '[mqtt] enabled = no: exit 2, says why')
    open(conf, 'w').write('[mqtt]\nenabled = yes\n[fleet]\nunit_id = -bad\n')
    r = subprocess.run([FORWARD, '-c', conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and ('not a fleet unit id' in r.stderr or 'unit_id' in r.stderr),
          'a bad unit id: exit 2')
    open(conf, 'w').write('[mqtt]\nenabled = yes\n')
    r = subprocess.run([FORWARD, '-c', conf, '--check-config'], capture_output=True, text=True,
                       timeout=10)
    machine_id = open('/etc/machine-id').read().strip() if os.path.exists('/etc/machine-id') else ''
    check(r.returncode == 0 and f'unit = {machine_id}' in r.stdout and len(machine_id) == 32 and
          f'client_id = bd-{machine_id[:20]}' in r.stdout,
          'no [fleet] unit_id: the machine id as unit, bd- and its first 20 characters as client id')


def main():
    env = fleetenv.Env('forward')
    try:
        config_errors(env)
        end_to_end(env)
        tls(env)
    finally:
        env.cleanup()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
