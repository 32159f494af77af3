/* SPDX-License-Identifier: MIT */
/*
 * A fleet's year of history at scale (issue 19): generates a history database of about
 * 5 M rows the way a fleet van's bodydiagd writes it, times the three usual queries (by
 * VIN, by code, by time range) against the query as it was before the indexes of
 * migration 6 (one view over all tables, every filter outside it), and runs the retention
 * pruning step by step as the daemon's timer does, printing the longest step: how long
 * pruning holds the daemon's loop.
 *
 *   history-scale [DIR] [ROWS]      the benchmark (meson benchmark history-scale); DIR
 *                                   default $TMPDIR or /tmp, ROWS default 5000000
 *   history-scale gen DB [ROWS] [SCHEMA]   only the database (SCHEMA: migrate only up to
 *                                   that version, rows without what later ones add)
 *   history-scale queries DB        only the queries, on a database gen made
 *
 * The year (2026, generator seed fixed: the same file every time): one logger that rides
 * in one of a fleet's 5 vans at a time and is moved every 3 to 8 weeks; the van is driven
 * 6 days a week, 2 to 5 drives a day, about 10 hours; a background DTC scan of its 5 ECUs
 * every SCAN seconds while it drives (SCAN chosen to reach ROWS, ~50 s for 5 M) records
 * the 12 to 30 stored DTCs of the van, a few of them intermittent (their testFailed bit
 * flips from one scan to the next: a transition row); bus events at every drive's start
 * and end, a bus-off now and then; a guided test on 2 days in 5 (a session with a DTC
 * read, 3 to 8 findings with evidence and ~100 timeline points). The rows are inserted
 * with SQL on a second connection, in one transaction per day, into the schema that
 * history_open() creates, with exactly the columns the daemon's record functions fill.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bodydiag/dtc.h>

#include "daemon/history.h"
#include "daemon/history_private.h"
#include "daemon/history_retention.h"
#include "../tests/common/prng.h"

#define T0 INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */
#define SEC INT64_C(1000000)
#define DAY (86400 * SEC)
#define N_VANS 5
#define VIN_QUERIED "WF0EXXTTRE0004137" /* the second van's (make_vans()) */
#define MAX_DTCS 32

static const char *const ECUS[] = {"bcm", "pcm", "abs", "srs", "ipc"};
static const char *const CAUSES[] = {
    "latch_motor_open",	 "fob_battery_weak",	"hinge_wiring_intermittent", "release_fuse_blown",
    "ajar_switch_stuck", "release_output_open", "fob_unprogrammed",	     "alarm_inhibit",
};
static const char *const SERIES[] = {"fob_telegram",	 "release_request", "actuator_command",
				     "actuator_current", "ajar_switch",	    "mark"};

/* deterministic, so every run generates the same year */
static uint64_t rng_state = PRNG_SEED_DEFAULT;

static uint64_t rnd(void)
{
	return prng_next(&rng_state);
}

static int rnd_in(int lo, int hi) /* inclusive */
{
	return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static double rnd_unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct dtc_def {
	int ecu;
	uint32_t code;
	uint8_t failed, passed; /* status while failing, while not failing now */
	double flip;		/* chance per scan that the fault comes or goes */
	bool on;
};

struct van {
	char vin[18];
	int64_t id;
	struct dtc_def d[MAX_DTCS];
	int n;
	uint8_t state[MAX_DTCS]; /* last status recorded (dtc_state), 0 = never seen */
};

struct gen {
	sqlite3 *db;
	bool vehicle_col; /* schema >= HISTORY_SCHEMA_ROW_VEHICLE */
	sqlite3_stmt *snap, *trans, *finding, *bus, *session, *session_end, *timeline;
	struct van vans[N_VANS];
	int64_t scan_us;
	uint64_t rows[7]; /* snapshots, transitions, findings, bus events, sessions, timeline */
};

enum { R_SNAP, R_TRANS, R_FIND, R_BUS, R_SESS, R_TL, R_MAX };
static const char *const ROW_NAMES[R_MAX] = {"dtc_snapshots", "dtc_transitions", "findings",
					     "bus_events",    "sessions",	 "timeline"};

static int check(struct gen *g, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "history-scale: %s: %s\n", what, sqlite3_errmsg(g->db));
		exit(1);
	}
	return rc;
}

static void step(struct gen *g, sqlite3_stmt *st, const char *what)
{
	check(g, sqlite3_step(st), what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static sqlite3_stmt *prep(struct gen *g, const char *sql)
{
	sqlite3_stmt *st = NULL;

	check(g, sqlite3_prepare_v2(g->db, sql, -1, &st, NULL), sql);
	return st;
}

static void make_vans(struct gen *g)
{
	for (int v = 0; v < N_VANS; v++) {
		struct van *van = &g->vans[v];

		snprintf(van->vin, sizeof(van->vin), "WF0EXXTTRE%07d", 4100 + v * 37);
		van->n = rnd_in(12, 30);
		for (int i = 0; i < van->n; i++) {
			struct dtc_def *d = &van->d[i];
			static const uint8_t ftb[] = {0x00, 0x11, 0x12, 0x13,
						      0x1c, 0x29, 0x87, 0x64};
			/* system letter in the top bits: P 00, C 01, B 10, U 11 */
			d->ecu = rnd_in(0, 4);
			d->code = (uint32_t)(rnd_in(0, 3) << 22 | rnd_in(0, 0x3fff) << 8 |
					     ftb[rnd() % 8]);
			d->failed = 0x2f;
			d->passed = rnd() % 2 ? 0x28 : 0x08;
			d->flip = i < 3 ? 0.05 + 0.4 * rnd_unit() : 0; /* three intermittent ones */
			d->on = rnd() % 2;
		}
		/* Every van has the trunk release circuit fault of this project's domain. */
		if (dtc_parse("B1A40-13", &van->d[0].code) < 0)
			exit(1);
		van->d[0].ecu = 0;
	}
}

static double rows_per_scan(const struct gen *g)
{
	double n = 0;

	for (int v = 0; v < N_VANS; v++)
		for (int i = 0; i < g->vans[v].n; i++)
			n += 1 + g->vans[v].d[i].flip;
	return n / N_VANS;
}

static void bind_vehicle(struct gen *g, sqlite3_stmt *st, int i, const struct van *van)
{
	if (g->vehicle_col)
		sqlite3_bind_int64(st, i, van->id);
}

/* One DTC list of ecu (-1: every ECU) into the tables, as history_record_dtc() does. */
static void scan(struct gen *g, struct van *van, int64_t t, int64_t session, int ecu)
{
	for (int i = 0; i < van->n; i++) {
		struct dtc_def *d = &van->d[i];
		uint8_t st;

		if (ecu >= 0 && d->ecu != ecu)
			continue;
		if (d->flip > 0 && rnd_unit() < d->flip)
			d->on = !d->on;
		st = d->on ? d->failed : d->passed;
		if (session)
			sqlite3_bind_int64(g->snap, 1, session);
		sqlite3_bind_int64(g->snap, 2, t);
		sqlite3_bind_text(g->snap, 3, ECUS[d->ecu], -1, SQLITE_STATIC);
		sqlite3_bind_int64(g->snap, 4, d->code);
		sqlite3_bind_int(g->snap, 5, st);
		bind_vehicle(g, g->snap, 6, van);
		step(g, g->snap, "snapshot");
		g->rows[R_SNAP]++;
		if (van->state[i] == st)
			continue;
		if (session)
			sqlite3_bind_int64(g->trans, 1, session);
		sqlite3_bind_int64(g->trans, 2, t);
		sqlite3_bind_text(g->trans, 3, ECUS[d->ecu], -1, SQLITE_STATIC);
		sqlite3_bind_int64(g->trans, 4, d->code);
		if (van->state[i])
			sqlite3_bind_int(g->trans, 5, van->state[i]);
		sqlite3_bind_int(g->trans, 6, st);
		bind_vehicle(g, g->trans, 7, van);
		step(g, g->trans, "transition");
		g->rows[R_TRANS]++;
		van->state[i] = st;
	}
}

static void bus_event(struct gen *g, struct van *van, int64_t t, const char *event,
		      const char *detail)
{
	sqlite3_bind_int64(g->bus, 2, t);
	sqlite3_bind_text(g->bus, 3, "can0", -1, SQLITE_STATIC);
	sqlite3_bind_text(g->bus, 4, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(g->bus, 5, detail, -1, SQLITE_STATIC);
	bind_vehicle(g, g->bus, 6, van);
	step(g, g->bus, "bus event");
	g->rows[R_BUS]++;
}

/* A guided test: session, a DTC read of the BCM, findings, its timeline; 5 minutes. */
static void guided_test(struct gen *g, struct van *van, int64_t t)
{
	int64_t s;
	char evidence[256];

	sqlite3_bind_int64(g->session, 1, van->id);
	sqlite3_bind_int64(g->session, 2, t);
	sqlite3_bind_text(g->session, 3, "guided test: trunk does not open", -1, SQLITE_STATIC);
	step(g, g->session, "session");
	s = sqlite3_last_insert_rowid(g->db);
	g->rows[R_SESS]++;
	scan(g, van, t + 2 * SEC, s, 0);
	for (int i = 0, n = rnd_in(80, 120); i < n; i++) {
		sqlite3_bind_int64(g->timeline, 1, s);
		sqlite3_bind_int64(g->timeline, 2, t + 10 * SEC + i * 2 * SEC + rnd_in(0, 999999));
		sqlite3_bind_text(g->timeline, 3, SERIES[rnd() % 6], -1, SQLITE_STATIC);
		if (rnd() % 3)
			sqlite3_bind_double(g->timeline, 4, (double)rnd_in(0, 5000) / 1000.0);
		step(g, g->timeline, "timeline");
		g->rows[R_TL]++;
	}
	for (int i = 0, n = rnd_in(3, 8); i < n; i++) {
		int64_t ft = t + 280 * SEC + i;
		snprintf(evidence, sizeof(evidence),
			 "[{\"signal\":\"TrunkReleaseRequest\",\"t_us\":%" PRId64 ",\"value\":1},"
			 "{\"signal\":\"TrunkAjar\",\"t_us\":%" PRId64 ",\"value\":0}]",
			 (int64_t)(ft - 5 * SEC), (int64_t)(ft - 4 * SEC));
		sqlite3_bind_int64(g->finding, 1, s);
		sqlite3_bind_int64(g->finding, 2, ft);
		sqlite3_bind_text(g->finding, 3, CAUSES[rnd() % 8], -1, SQLITE_STATIC);
		sqlite3_bind_double(g->finding, 4, (double)rnd_in(5, 95) / 100.0);
		sqlite3_bind_text(g->finding, 5, i == 0 ? "holds" : "possible", -1, SQLITE_STATIC);
		sqlite3_bind_text(g->finding, 6,
				  "Check the release output circuit at the latch connector", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(g->finding, 7, evidence, -1, SQLITE_TRANSIENT);
		bind_vehicle(g, g->finding, 8, van);
		step(g, g->finding, "finding");
		g->rows[R_FIND]++;
	}
	sqlite3_bind_int64(g->session_end, 1, t + 300 * SEC);
	sqlite3_bind_int64(g->session_end, 2, s);
	step(g, g->session_end, "session end");
}

static void exec(struct gen *g, const char *sql)
{
	check(g, sqlite3_exec(g->db, sql, NULL, NULL, NULL), sql);
}

/* The year into path; prints what it made. 0 or exits. */
static int generate(const char *path, uint64_t target_rows, unsigned schema)
{
	struct history_options o = {.schema_version = schema};
	struct history *h = NULL;
	struct gen g = {0};
	char err[256] = "";
	double t0 = now_ms();
	int van = 0, r;
	int64_t next_move = T0;
	uint64_t total = 0;

	unlink(path);
	r = history_open(path, &o, &h, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "history-scale: %s: %s\n", path, err);
		return r;
	}
	g.vehicle_col = history_schema_version(h) >= HISTORY_SCHEMA_ROW_VEHICLE;
	history_free(h);
	check(&g, sqlite3_open(path, &g.db), path);
	/* Generation speed only: the daemon's own settings come back at history_open. */
	exec(&g, "PRAGMA synchronous = OFF; PRAGMA cache_size = -131072");
	make_vans(&g);
	for (int v = 0; v < N_VANS; v++) {
		char sql[160];
		snprintf(
		    sql, sizeof(sql),
		    "INSERT INTO vehicles (vin, first_seen_us, last_seen_us) VALUES ('%s', %" PRId64
		    ", %" PRId64 ")",
		    g.vans[v].vin, T0, T0 + 365 * DAY);
		exec(&g, sql);
		g.vans[v].id = sqlite3_last_insert_rowid(g.db);
	}
	if (g.vehicle_col) {
		g.snap = prep(&g, "INSERT INTO dtc_snapshots (session_id, t_us, ecu, code, status, "
				  "vehicle_id) VALUES (?, ?, ?, ?, ?, ?)");
		g.trans =
		    prep(&g, "INSERT INTO dtc_transitions (session_id, t_us, ecu, code, "
			     "old_status, new_status, vehicle_id) VALUES (?, ?, ?, ?, ?, ?, ?)");
		g.finding =
		    prep(&g, "INSERT INTO findings (session_id, t_us, cause, confidence, state, "
			     "advice, evidence, vehicle_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
		g.bus = prep(&g, "INSERT INTO bus_events (session_id, t_us, interface, event, "
				 "detail, vehicle_id) VALUES (?, ?, ?, ?, ?, ?)");
	} else {
		g.snap = prep(&g, "INSERT INTO dtc_snapshots (session_id, t_us, ecu, code, status) "
				  "VALUES (?, ?, ?, ?, ?)");
		g.trans = prep(&g, "INSERT INTO dtc_transitions (session_id, t_us, ecu, code, "
				   "old_status, new_status) VALUES (?, ?, ?, ?, ?, ?)");
		g.finding = prep(&g, "INSERT INTO findings (session_id, t_us, cause, confidence, "
				     "state, advice, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)");
		g.bus = prep(&g, "INSERT INTO bus_events (session_id, t_us, interface, event, "
				 "detail) VALUES (?, ?, ?, ?, ?)");
	}
	g.session = prep(&g, "INSERT INTO sessions (vehicle_id, start_us, label) VALUES (?, ?, ?)");
	g.session_end = prep(&g, "UPDATE sessions SET end_us = ? WHERE id = ?");
	g.timeline =
	    prep(&g, "INSERT INTO timeline (session_id, t_us, series, value) VALUES (?, ?, ?, ?)");
	/* 313 driving days of ~10 h */
	g.scan_us = (int64_t)(313.0 * 10 * 3600 * rows_per_scan(&g) / (double)target_rows * 1e6);
	if (g.scan_us < SEC)
		g.scan_us = SEC;

	for (int day = 0; day < 365; day++) {
		int64_t d0 = T0 + day * DAY, t;
		int drives;

		exec(&g, "BEGIN");
		if (d0 >= next_move) {
			van = (van + rnd_in(1, N_VANS - 1)) % N_VANS;
			next_move = d0 + rnd_in(21, 56) * DAY;
		}
		if (day % 7 == 6) { /* Sunday: the van stands */
			exec(&g, "COMMIT");
			continue;
		}
		drives = rnd_in(2, 5);
		t = d0 + rnd_in(6 * 3600, 8 * 3600) * SEC;
		bool test = rnd() % 5 < 2;
		for (int k = 0; k < drives; k++) {
			int64_t end =
			    t + (int64_t)(10.0 * 3600 / drives * (0.7 + 0.6 * rnd_unit())) * SEC;
			bus_event(&g, &g.vans[van], t, "state", "can0: STOPPED -> ERROR-ACTIVE");
			if (rnd() % 100 == 0)
				bus_event(&g, &g.vans[van], t + rnd_in(60, 3000) * SEC, "bus-off",
					  "tx errors");
			for (int64_t s = t + g.scan_us; s < end; s += g.scan_us)
				scan(&g, &g.vans[van], s, 0, -1);
			if (test && k == drives / 2)
				guided_test(&g, &g.vans[van], t + (end - t) / 2);
			bus_event(&g, &g.vans[van], end, "adapter-lost", NULL);
			t = end + rnd_in(600, 5400) * SEC;
		}
		exec(&g, "COMMIT");
	}
	/* The last statuses, as dtc_state holds them for the next reads. */
	sqlite3_stmt *state =
	    prep(&g, "INSERT INTO dtc_state (vehicle_id, ecu, code, status) VALUES (?, ?, ?, ?) ON "
		     "CONFLICT DO UPDATE SET status = excluded.status");
	exec(&g, "BEGIN");
	for (int v = 0; v < N_VANS; v++)
		for (int i = 0; i < g.vans[v].n; i++) {
			if (!g.vans[v].state[i])
				continue;
			sqlite3_bind_int64(state, 1, g.vans[v].id);
			sqlite3_bind_text(state, 2, ECUS[g.vans[v].d[i].ecu], -1, SQLITE_STATIC);
			sqlite3_bind_int64(state, 3, g.vans[v].d[i].code);
			sqlite3_bind_int(state, 4, g.vans[v].state[i]);
			step(&g, state, "state");
		}
	exec(&g, "COMMIT");
	sqlite3_finalize(state);
	sqlite3_stmt *all[] = {g.snap,	  g.trans,	 g.finding, g.bus,
			       g.session, g.session_end, g.timeline};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	exec(&g, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(g.db);

	struct stat sb;
	for (int i = 0; i < R_MAX; i++)
		total += g.rows[i];
	printf("GEN %" PRIu64 " rows in %.1f s (schema %d, scan every %.1f s while driving):",
	       total, (now_ms() - t0) / 1e3, g.vehicle_col ? HISTORY_SCHEMA_VERSION : (int)schema,
	       (double)g.scan_us / 1e6);
	for (int i = 0; i < R_MAX; i++)
		printf(" %s %" PRIu64 "%s", ROW_NAMES[i], g.rows[i], i + 1 < R_MAX ? "," : "");
	printf("; file %.0f MB\n", stat(path, &sb) == 0 ? (double)sb.st_size / 1048576 : -1.0);
	return 0;
}

/* --- the benchmark --- */

/*
 * The query as it was before migration 6 (history.c until then): one view over every
 * table, the vehicle through the session, each filter outside the view as "?N IS NULL
 * OR ...". The reference the new query is measured against, on the same file.
 */
static const char OLD_QUERY[] =
    "SELECT * FROM ("
    "SELECT 0 AS kind, s.id, s.start_us AS t_us, s.id AS session, v.vin, NULL AS ecu,"
    " NULL AS code, NULL AS status, NULL AS old_status, NULL AS cause, NULL AS confidence,"
    " NULL AS state, NULL AS advice, NULL AS evidence, NULL AS interface, NULL AS event,"
    " s.label AS detail, s.end_us FROM sessions s LEFT JOIN vehicles v ON v.id = s.vehicle_id"
    " UNION ALL "
    "SELECT 1, d.id, d.t_us, d.session_id, v.vin, d.ecu, d.code, d.status, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM dtc_snapshots d"
    " LEFT JOIN sessions s ON s.id = d.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"
    " UNION ALL "
    "SELECT 2, d.id, d.t_us, d.session_id, v.vin, d.ecu, d.code, d.new_status, d.old_status,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM dtc_transitions d"
    " LEFT JOIN sessions s ON s.id = d.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"
    " UNION ALL "
    "SELECT 3, f.id, f.t_us, f.session_id, v.vin, NULL, NULL, NULL, NULL, f.cause,"
    " f.confidence, f.state, f.advice, f.evidence, NULL, NULL, NULL, NULL FROM findings f"
    " LEFT JOIN sessions s ON s.id = f.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"
    " UNION ALL "
    "SELECT 4, b.id, b.t_us, b.session_id, v.vin, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, b.interface, b.event, b.detail, NULL FROM bus_events b"
    " LEFT JOIN sessions s ON s.id = b.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"
    ") WHERE"
    " (?1 IS NULL OR t_us >= ?1) AND (?2 IS NULL OR t_us <= ?2)"
    " AND (?3 IS NULL OR vin = ?3) AND (?4 IS NULL OR code = ?4)"
    " AND (?5 IS NULL OR cause = ?5) AND (?6 IS NULL OR session = ?6)"
    " AND ((?7 >> kind) & 1)"
    " ORDER BY t_us, kind, id LIMIT ?8";

static int progress_stop(void *userdata)
{
	return now_ms() > *(double *)userdata; /* non-zero interrupts */
}

/* The old query on its own connection; ms, or -1 when it ran longer than cap_ms. */
static double old_query(const char *path, const struct history_filter *f, int *ret_rows,
			double cap_ms)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0, deadline;
	int rc, n = 0;
	unsigned kinds = f->kinds ? f->kinds : 31;

	if (f->have_code)
		kinds &= 6;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, OLD_QUERY, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "history-scale: old query: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	history_bind_filter(st, f); /* the same numbers as history_query()'s */
	sqlite3_bind_int(st, 7, (int)kinds);
	t0 = now_ms();
	deadline = t0 + cap_ms;
	sqlite3_progress_handler(db, 10000, progress_stop, &deadline);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n++;
	t0 = now_ms() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	*ret_rows = n;
	return rc == SQLITE_DONE ? t0 : -1;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int count_row(const struct history_row *row, void *userdata)
{
	(void)row;
	(*(int *)userdata)++;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct query_case {
	const char *name;
	struct history_filter f;
};

/* Runs each query on a fresh connection (first: the cold SQLite cache), then 9 more times;
 * prints first, median and worst, and the old query's time. Returns the worst median. */
static double queries(const char *path, const char *vin, uint32_t code)
{
	int64_t mid = T0 + 180 * DAY, end = T0 + 365 * DAY;
	struct query_case q[] = {
	    {"vin", {.vin = vin, .limit = HISTORY_DEFAULT_LIMIT}},
	    {"vin, last 30 days",
	     {.vin = vin, .since_us = end - 30 * DAY, .limit = HISTORY_DEFAULT_LIMIT}},
	    {"code", {.have_code = true, .code = code, .limit = HISTORY_DEFAULT_LIMIT}},
	    {"code, last 30 days",
	     {.have_code = true,
	      .code = code,
	      .since_us = end - 30 * DAY,
	      .limit = HISTORY_DEFAULT_LIMIT}},
	    {"time range (a day)",
	     {.since_us = mid, .until_us = mid + DAY, .limit = HISTORY_DEFAULT_LIMIT}},
	    {"time range (a week), limit 10000",
	     {.since_us = mid, .until_us = mid + 7 * DAY, .limit = HISTORY_MAX_LIMIT}},
	    {"vin + code + 90 days",
	     {.vin = vin,
	      .have_code = true,
	      .code = code,
	      .since_us = end - 90 * DAY,
	      .limit = HISTORY_DEFAULT_LIMIT}},
	};
	double worst = 0;

	printf("QUERY %-34s %6s %8s %8s %8s %8s %10s %8s\n", "(history_query, callback counts)",
	       "rows", "first", "median", "max", "CPU med", "before", "ratio");
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		struct history_options o = {.read_only = true};
		double t[10], c[10], old;
		int rows = 0, old_rows = 0;
		struct history *h = NULL;

		if (history_open(path, &o, &h, NULL, 0) < 0)
			exit(1);
		for (int k = 0; k < 10; k++) {
			rows = 0;
			double t0 = now_ms(), c0 = cpu_ms();
			int n = history_query(h, &q[i].f, count_row, &rows);
			c[k] = cpu_ms() - c0;
			t[k] = now_ms() - t0;
			if (n < 0) {
				fprintf(stderr, "history-scale: query %s: %s\n", q[i].name,
					strerror(-n));
				exit(1);
			}
		}
		history_free(h);
		double first = t[0];
		qsort(t, 10, sizeof(t[0]), cmp_double);
		qsort(c, 10, sizeof(c[0]), cmp_double);
		old = old_query(path, &q[i].f, &old_rows, 60000);
		char oldbuf[32], ratio[32];
		if (old < 0) {
			snprintf(oldbuf, sizeof(oldbuf), "> 60000");
			snprintf(ratio, sizeof(ratio), "> %.0fx", 60000 / t[5]);
		} else {
			snprintf(oldbuf, sizeof(oldbuf), "%.1f", old);
			snprintf(ratio, sizeof(ratio), "%.0fx", old / t[5]);
		}
		printf("QUERY %-34s %6d %8.2f %8.2f %8.2f %8.2f %10s %8s%s\n", q[i].name, rows, first,
		       t[5], t[9], c[5], oldbuf, ratio, old >= 0 && old_rows != rows ? " (*)" : "");
		if (t[5] > worst)
			worst = t[5];
	}
	printf("QUERY times in ms, wall-clock (the median of 10 on one connection, the first one "
	       "cold) and the thread's CPU; before: the query before migration 6, once\n"
	       "QUERY (*) the query before saw fewer rows: it knew a row's VIN only through a "
	       "session, and a background scan has none\n");
	return worst;
}

/*
 * Pruning as the daemon's timer runs it (history_prune_paced), step after step; prints
 * what the steps cost in wall-clock time (what the loop waits; on a loaded machine it
 * includes being preempted) and in CPU time of the step's thread (its own work). Returns
 * the longest step's wall time, and its CPU time in *ret_cpu.
 */
static double prune(const char *path, const char *what, uint64_t retention_ms, uint64_t max_bytes,
		    int64_t now, double *ret_cpu)
{
	struct history_options o = {
	    .durable = true, .retention_ms = retention_ms, .max_bytes = max_bytes};
	struct history *h = NULL;
	struct history_prune_pace ps = {0};
	double *wall = NULL, *cpu = NULL, total = 0;
	size_t n = 0, cap = 0;
	int r;
	char err[256];

	if (history_open(path, &o, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "history-scale: %s\n", err);
		exit(1);
	}
	int rows_before = history_query(h, &(struct history_filter){0}, NULL, NULL);
	do {
		double w0 = now_ms(), c0 = cpu_ms();
		r = history_prune_paced(h, now, &ps);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			wall = realloc(wall, cap * sizeof(*wall));
			cpu = realloc(cpu, cap * sizeof(*cpu));
			if (!wall || !cpu)
				exit(1);
		}
		cpu[n] = cpu_ms() - c0;
		wall[n] = now_ms() - w0;
		total += wall[n++];
	} while (r > 0);
	if (r < 0) {
		fprintf(stderr, "history-scale: pruning: %s (%s)\n", strerror(-r),
			history_last_error(h));
		exit(1);
	}
	int rows_after = history_query(h, &(struct history_filter){0}, NULL, NULL);
	uint64_t used = 0;
	history_used_bytes(h, &used);
	history_free(h);
	qsort(wall, n, sizeof(*wall), cmp_double);
	qsort(cpu, n, sizeof(*cpu), cmp_double);
	size_t over = 0, cpu_over = 0;
	for (size_t i = 0; i < n; i++) {
		over += wall[i] > 5;
		cpu_over += cpu[i] > 5;
	}
	printf("PRUNE %s: %d rows deleted in %zu steps (%.1f s); per step wall median %.2f, p99 "
	       "%.2f, longest %.2f ms (%zu over 5 ms); CPU median %.2f, p99 %.2f, longest %.2f ms (%zu "
	       "over 5 ms); "
	       "%.0f MB used after\n",
	       what, rows_before - rows_after, n, total / 1e3, wall[n / 2], wall[n * 99 / 100],
	       wall[n - 1], over, cpu[n / 2], cpu[n * 99 / 100], cpu[n - 1], cpu_over,
	       (double)used / 1048576);
	double longest = wall[n - 1];
	*ret_cpu = cpu[n - 1];
	free(wall);
	free(cpu);
	return longest;
}

int main(int argc, char **argv)
{
	uint64_t rows = 5000000;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512];
	uint32_t code;

	if (argc >= 3 && strcmp(argv[1], "gen") == 0) {
		if (argc > 3)
			rows = strtoull(argv[3], NULL, 10);
		return generate(argv[2], rows, argc > 4 ? (unsigned)atoi(argv[4]) : 0) < 0;
	}
	if (argc >= 3 && strcmp(argv[1], "queries") == 0) {
		if (dtc_parse("B1A40-13", &code) < 0)
			return 1;
		queries(argv[2], VIN_QUERIED, code);
		return 0;
	}
	if (argc > 1)
		dir = argv[1];
	if (argc > 2)
		rows = strtoull(argv[2], NULL, 10);
	if (rows < 10000) {
		fprintf(stderr,
			"usage: history-scale [DIR] [ROWS >= 10000] | gen DB [ROWS] [SCHEMA]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/history-scale-%d.db", dir, (int)getpid());
	if (generate(path, rows, 0) < 0)
		return 1;
	if (dtc_parse("B1A40-13", &code) < 0)
		return 1;
	double worst = queries(path, VIN_QUERIED, code);
	/* Retention: keep 300 of the 365 days; then the size bound at 80 % of what is left. */
	int64_t end = T0 + 365 * DAY;
	double c1, c2;
	double l1 = prune(path, "retention 300 d", 300ull * 86400000, 0, end, &c1);
	struct history *h = NULL;
	uint64_t used = 0;
	if (history_open(path, &(struct history_options){.read_only = true}, &h, NULL, 0) < 0 ||
	    history_used_bytes(h, &used) < 0)
		return 1;
	history_free(h);
	double l2 = prune(path, "size bound 80 %", 0, used / 10 * 8, end, &c2);
	printf("RESULT rows=%" PRIu64 " worst_query_median_ms=%.2f longest_prune_step_ms=%.2f wall, "
	       "%.2f CPU (targets: 50 ms, 5 ms)\n",
	       rows, worst, l1 > l2 ? l1 : l2, c1 > c2 ? c1 : c2);
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	unlink(path);
	return 0;
}
