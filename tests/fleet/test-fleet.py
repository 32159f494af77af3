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
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetenv  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

UNITS, RECORDS, BAD_UNITS = 50, 60, 3


# What the tables say over each column (the --json keys and the page's data-key stay the SQL
# names): a person reads words, and a time column says UTC once, in its header.
HEADERS = {
    'vans': [('van', 'Van'), ('vin', 'VIN'), ('open_faults', 'Open faults'),
             ('codes', 'Fault codes'), ('last_verdict', 'Last verdict'),
             ('top_cause', 'Top cause'), ('last_session', 'Last session (UTC)'),
             ('last_heard', 'Last heard (UTC)')],
    'causes': [('cause', 'Cause'), ('findings', 'Findings'), ('vans', 'Vans'),
               ('last', 'Last held (UTC)')],
    'history': [('time', 'Time (UTC)'), ('kind', 'Record'), ('cause', 'Cause'),
                ('state_or_verdict', 'State or verdict'), ('confidence', 'Confidence'),
                ('session', 'Session'), ('advice', 'Advice')],
    'silent': [('van', 'Van'), ('vin', 'VIN'), ('last_heard', 'Last heard (UTC)'),
               ('hours_silent', 'Hours silent'), ('state', 'State'), ('reason', 'Reason')],
}
NUMERIC = {'open_faults', 'findings', 'vans', 'confidence', 'session', 'hours_silent'}
UNKNOWN = 'retrofit_relay_stuck'  # a cause no rule file names: shown by its id


def rule_titles(path):
    """id -> title of every rule, inhibit and normal of a rule file, read here on its own
    (the view uses the library's parser)."""
    titles = {}
    for line in open(path):
        m = re.match(r'\s*(rule|inhibit|normal)\s+(\w+)\s+"((?:[^"\\]|\\.)*)"', line)
        if m:
            titles[m.group(2)] = re.sub(r'\\(.)', r'\1', m.group(3))
    return titles


def fleet(bodydiag, pg, *args, env=None, stderr=None):
    r = subprocess.run([bodydiag, 'fleet', '--db', pg.conninfo] + list(args),
                       capture_output=True, text=True, env=env)
    if r.returncode:
        raise RuntimeError(f'bodydiag fleet {args}: {r.stderr}')
    if stderr is not None:
        stderr.append(r.stderr)
    return r.stdout


def text_table(table):
    """A text table: its headers (two spaces apart; a header has single spaces at most) and
    a function giving each row's cell under a left-aligned header (it starts where its
    header starts: '' for an empty cell)."""
    lines = table.rstrip('\n').split('\n')
    heads = {m.group(): m.start() for m in re.finditer(r'\S+(?: \S+)*', lines[0])}

    def column(header):
        return [re.match(r'(\S+(?: \S+)*)?', line[heads[header]:]).group(1) or ''
                for line in lines[1:]]
    return list(heads), column


# The page as the browser laid it out: each table's header cells (data-key, text, alignment),
# its row count, the cause cells, the numbers' alignment, the width of the rows.
MEASURE = r"""
(() => {
  const tables = {};
  for (const t of document.querySelectorAll('table[id], p[id][data-rows]')) {
    const id = t.id.startsWith('history-') ? 'history' : t.id;
    if (id === 'history' && tables.history) continue;
    tables[id] = {rows: +t.dataset.rows,
      th: [...t.querySelectorAll('th[data-key]')].map(th => [th.dataset.key,
          th.textContent, getComputedStyle(th).textAlign])};
  }
  const numbers = [];
  for (const t of document.querySelectorAll('table')) {
    const keys = [...t.querySelectorAll('thead th')].map(th => th.dataset.key || '');
    for (const tr of t.querySelectorAll('tbody tr'))
      [...tr.children].forEach((td, i) => { if (td.textContent)
        numbers.push([keys[i], getComputedStyle(td).textAlign]); });
  }
  const de = document.documentElement;
  return JSON.stringify({tables, numbers,
    causes: [...document.querySelectorAll('td[data-cause]')].map(td => [td.dataset.cause,
        td.textContent, td.closest('table').id]),
    vans: [...document.querySelectorAll('details')].map(d => d.dataset.van),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    records: (document.querySelector('#t-records b') || {}).textContent || '',
    scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, height: de.scrollHeight,
    widest: Math.max(...[...document.querySelectorAll('tr')].map(tr =>
        tr.getBoundingClientRect().right)),
    cards: getComputedStyle(document.querySelector('#open-faults tr')).display,
    footnote: (document.querySelector('#rules') || {}).textContent || ''});
})()
"""


def page_checks(exe, env, page, got, vans, silent, titles, shots):
    """The page in Chromium at a desk's and a phone's width: headers, causes, numbers,
    layout, and a screenshot of each looked at for ink and the cause bars."""
    tools = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools')
    sys.path.insert(0, tools)
    import cdp  # noqa: E402
    import pngread  # noqa: E402
    b = cdp.Browser(exe, os.path.join(env.dir, 'profile'))
    try:
        for width in (1280, 390):
            b.open('file://' + page, width)
            m = json.loads(b.evaluate(MEASURE))
            shot = os.path.join(env.dir, f'fleet-{width}.png')
            b.screenshot(shot, width, min(m['height'], 12000))
            shots.append(shot)
            at = f'at {width} px'
            rows = {k: v['rows'] for k, v in m['tables'].items() if k != 'history'}
            check(rows == {'open-faults': len(vans), 'causes': len(got),
                           'silent': len(silent)}, f'{at}: rendered tables {rows}')
            dup = sorted({i for i in m['ids'] if m['ids'].count(i) > 1})
            check(not dup, f'{at}: every id once in the page (twice: {dup})')
            check(re.fullmatch(r'\d{1,3}(,\d{3})*', m['records']) is not None,
                  f'{at}: the records tile in thousands ({m["records"]!r})')
            check(m['vans'] == [v['van'] for v in vans],
                  f'{at}: one findings history per van with faults ({len(m["vans"])})')
            for tid, name in (('open-faults', 'vans'), ('causes', 'causes'),
                              ('history', 'history'), ('silent', 'silent')):
                th = [(k, text) for k, text, _ in m['tables'][tid]['th']]
                check(th == HEADERS[name], f'{at}: #{tid} headers in words, data-key the '
                      f'column names: {[t for _, t in th]}')
            wrong = [c for c in m['causes'] if c[1] != titles.get(c[0], c[0])]
            check(m['causes'] and not wrong, f'{at}: {len(m["causes"])} cause cells, each '
                  f'the title of its rule (the id when no rule names it); wrong: {wrong[:3]}')
            check([UNKNOWN, UNKNOWN, 'causes'] in m['causes'],
                  f'{at}: the cause no rule names shown by its id')
            check('trunk.rules' in m['footnote'] and 'UTC' in m['footnote'],
                  f'{at}: the footnote names the rule file: {m["footnote"]!r}')
            check(m['scrollWidth'] <= m['clientWidth'] and m['widest'] <= m['clientWidth'],
                  f'{at}: no horizontal scroll (page {m["scrollWidth"]} px, widest row '
                  f'{m["widest"]:.0f} px)')
            if width == 1280:
                bad = {k for k, align in m['numbers'] if (k in NUMERIC) != (align == 'right')}
                check(m['numbers'] and not bad, f'{at}: numbers right-aligned, the rest left '
                      f'({len(m["numbers"])} cells; wrong: {sorted(bad)})')
                heads = [(k, a) for t in m['tables'].values() for k, _, a in t['th']]
                check(all((k in NUMERIC) == (a == 'right') for k, a in heads),
                      f'{at}: the numbers\' headers over them, right-aligned')
                check(m['cards'] == 'table-row', f'{at}: tables as tables')
            else:
                check(m['cards'] == 'block', f'{at}: each row a card (a table does not fit)')
            w, h, bpp, png = pngread.decode_png(open(shot, 'rb').read())
            check(w == width and len(pngread.colours(png, bpp)) >= 16 and
                  pngread.ink(png, bpp) > 0.02, f'{at}: screenshot {w}x{h} not blank')
            # The cause bars: #c33 boxes 10 px high, one per cause, the first the longest
            # (on a phone the number alone: no bars).
            bars = sorted((x for x in pngread.blobs(png, bpp, (0xcc, 0x33, 0x33))
                           if 9 <= x[3] - x[1] + 1 <= 11 and x[2] - x[0] >= 8),
                          key=lambda x: x[1])
            if width == 1280:
                # 200 px for the most frequent; those under 9 px are not told from other red
                top = max(c['findings'] for c in got)
                long = [c for c in got if 200 * c['findings'] / top >= 9.5]
                check(len(bars) == len(long) and
                      bars[0][2] - bars[0][0] >= bars[-1][2] - bars[-1][0],
                      f'{at}: {len(bars)} cause bars of 9 px or more drawn for {len(long)} '
                      f'causes, longest first')
            else:
                check(not bars, f'{at}: no bars in the cards ({len(bars)})')
    finally:
        b.close()


def view_checks(bodydiag, pg, env):
    # Two vans silent for three days, one whose connection died (the will).
    pg.psql("UPDATE units SET last_seen = now() - interval '3 days' "
            "WHERE unit IN ('van-049', 'van-050')")
    pg.psql("UPDATE units SET state = 'offline', state_reason = 'will' WHERE unit = 'van-048'")
    # A finding of a cause no rule file names (a unit running newer rules than the server):
    # a copy of van-007's newest finding, in the same partition.
    pg.psql(f"INSERT INTO records (unit, epoch, seq, t, t_us, kind, vin, session, "
            f"unit_record_id, cause, confidence, state, advice, ingest) "
            f"SELECT unit, epoch, seq + 1000000, t, t_us, kind, vin, session, unit_record_id, "
            f"'{UNKNOWN}', 0.8, 'holds', advice, 'test' FROM records WHERE unit = 'van-007' "
            f"AND kind = 'finding' ORDER BY t DESC LIMIT 1")
    src = os.environ.get('BODYDIAG_SOURCE_ROOT',
                         os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    rules = os.path.join(src, 'rules', 'trunk.rules')
    titles = rule_titles(rules)
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
    check(all(list(v) == [k for k, _ in HEADERS['vans']] for v in vans),
          'fleet vans --json: the keys are the column names, as before')
    got = [json.loads(line) for line in fleet(bodydiag, pg, 'causes', '--json').splitlines()]
    check([(c['cause'], c['findings']) for c in got] ==
          sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])),
          f'fleet causes: {[(c["cause"], c["findings"]) for c in got[:3]]}... by frequency')
    check(all(list(c) == [k for k, _ in HEADERS['causes']] for c in got) and
          UNKNOWN in [c['cause'] for c in got], 'fleet causes --json: keys and ids as before')
    h = fleet(bodydiag, pg, 'history', 'van-007', '--limit', '1000', '--json').splitlines()
    check(len(h) == history['van-007'] and json.loads(h[0])['time'] >= json.loads(h[-1])['time'],
          f'fleet history van-007: {len(h)} findings and sessions, newest first')
    silent = [json.loads(line)['van'] for line in
              fleet(bodydiag, pg, 'silent', '--json').splitlines()]
    check(silent == ['van-049', 'van-050', 'van-048'] or
          sorted(silent) == ['van-048', 'van-049', 'van-050'],
          f'fleet silent: {silent}')

    # The text tables: headers in words, causes by their titles.
    heads, column = text_table(fleet(bodydiag, pg, '--rules', rules, 'vans'))
    check(heads == [t for _, t in HEADERS['vans']] and
          any('B1A40-13' in codes for codes in column('Fault codes')),
          f'fleet vans as a table: {heads}')
    want = [titles.get(v['top_cause'], v['top_cause']) for v in vans]
    check(column('Van') == [v['van'] for v in vans] and column('Top cause') == want,
          f'fleet vans: each top cause by its rule\'s title ({sorted(set(want))[:3]}...)')
    heads, column = text_table(fleet(bodydiag, pg, '--rules', rules, 'causes'))
    want = [titles.get(c['cause'], c['cause']) for c in got]
    check(heads == [t for _, t in HEADERS['causes']] and column('Cause') == want,
          f'fleet causes as a table: {want[:2]}..., {UNKNOWN} by its id')
    check(all(c['cause'] in titles for c in got if c['cause'] != UNKNOWN),
          f'every other cause has a title in {rules}')
    heads, column = text_table(fleet(bodydiag, pg, '--rules', rules, 'history', 'van-007'))
    shown = [c for c in column('Cause') if c]
    check(heads == [t for _, t in HEADERS['history']] and UNKNOWN in shown and
          all(c in titles.values() for c in shown if c != UNKNOWN),
          f'fleet history as a table: causes {sorted(set(shown))[:3]}...')
    heads, _ = text_table(fleet(bodydiag, pg, 'silent'))
    check(heads == [t for _, t in HEADERS['silent']], f'fleet silent as a table: {heads}')
    # The installed rules by default (the data directory, $BODYDIAG_DATADIR).
    errs = []
    _, column = text_table(fleet(bodydiag, pg, 'causes', env=dict(os.environ,
                                 BODYDIAG_DATADIR=src), stderr=errs))
    check(column('Cause') == want and not errs[0],
          'fleet causes: titles from $BODYDIAG_DATADIR/rules/ by default, nothing on stderr')
    # A rule file that does not parse: said with its line, and the view still shows ids.
    bad = os.path.join(env.dir, 'bad.rules')
    open(bad, 'w').write('format 2\n\nrule fuse_blown "Fuse"\n\twhen signal no_such_role > 1\n')
    errs = []
    _, column = text_table(fleet(bodydiag, pg, '--rules', bad, 'causes', stderr=errs))
    check(re.search(r'bad\.rules:4:\d+: error: .*no_such_role', errs[0]) and
          column('Cause') == [c['cause'] for c in got],
          f'a bad rule file: {errs[0].strip()!r}, the causes by their ids')
    errs = []
    fleet(bodydiag, pg, '--rules', bad, 'html', '-o', os.path.join(env.dir, 'bad.html'),
          stderr=errs)
    check('bad.rules:4:' in errs[0] and re.search(r'data-cause="fuse_blown"[^>]*>fuse_blown<',
                                                  open(os.path.join(env.dir, 'bad.html')).read()),
          'fleet html with a bad rule file: the page, with the ids')

    page = os.path.join(env.dir, 'fleet.html')
    fleet(bodydiag, pg, '--rules', rules, 'html', '-o', page)
    exe = shutil.which('chromium')
    check(exe is not None, 'chromium installed (tools/install-deps)')
    if not exe:
        return
    t0 = time.monotonic()
    shots = []
    page_checks(exe, env, page, got, vans, silent, titles, shots)
    keep = os.environ.get('BODYDIAG_FLEET_SCREENSHOT')
    if keep:
        # FILE.png: the page at 1280 px there, at 390 px in FILE-390.png, the HTML beside
        base = os.path.splitext(keep)[0]
        shutil.copy(page, base + '.html')
        for shot in shots:
            shutil.copy(shot, keep if shot.endswith('-1280.png') else base + '-390.png')
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
