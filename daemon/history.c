/* SPDX-License-Identifier: MIT */
/*
 * The history store: the schema and its migrations, the records (each one committed
 * transaction), the queries. No event loop and no logging: errors are returned (and
 * history_last_error() has SQLite's text), so `bodydiag history` links the store alone.
 */
#include "history.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bodydiag/dtc.h>

#include "history_private.h"
#include "macro.h"

#define BUSY_TIMEOUT_MS 250 /* a reader checkpointing; longer would stall the loop */
#define CACHE_KIB_TEXT "256" /* KiB of page cache per connection (SQLite's default: 2000) */
#define LOOKASIDE_SLOT 256   /* bytes per lookaside slot (default 1200) */
#define LOOKASIDE_SLOTS 64   /* (default 100: 120 KB; now 16 KB) */

/*
 * Migrations: MIGRATIONS[i] takes the schema from version i to i + 1, each in one
 * transaction together with the new user_version, so a crash mid-migration leaves the
 * old version intact. Never edit a released step; append a new one.
 */
static const char *const MIGRATIONS[] = {
	/* 0 -> 1: the history proper */
	"CREATE TABLE vehicles ("
	"  id INTEGER PRIMARY KEY,"
	"  vin TEXT NOT NULL UNIQUE,"
	"  first_seen_us INTEGER NOT NULL,"
	"  last_seen_us INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  vehicle_id INTEGER REFERENCES vehicles(id),"
	"  start_us INTEGER NOT NULL,"
	"  end_us INTEGER,"
	"  label TEXT);"
	"CREATE INDEX sessions_t ON sessions(start_us);"
	"CREATE TABLE dtc_snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER,"
	"  t_us INTEGER NOT NULL,"
	"  ecu TEXT NOT NULL,"
	"  code INTEGER NOT NULL,"
	"  status INTEGER NOT NULL);"
	"CREATE INDEX dtc_snapshots_t ON dtc_snapshots(t_us);"
	"CREATE TABLE dtc_transitions ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER,"
	"  t_us INTEGER NOT NULL,"
	"  ecu TEXT NOT NULL,"
	"  code INTEGER NOT NULL,"
	"  old_status INTEGER,"
	"  new_status INTEGER NOT NULL);"
	"CREATE INDEX dtc_transitions_t ON dtc_transitions(t_us);"
	/* Last status per vehicle (0 = unknown)/ECU/code: survives restarts and pruning. */
	"CREATE TABLE dtc_state ("
	"  vehicle_id INTEGER NOT NULL,"
	"  ecu TEXT NOT NULL,"
	"  code INTEGER NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  PRIMARY KEY (vehicle_id, ecu, code)) WITHOUT ROWID;"
	"CREATE TABLE findings ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER,"
	"  t_us INTEGER NOT NULL,"
	"  cause TEXT NOT NULL,"
	"  confidence REAL,"
	"  state TEXT,"
	"  advice TEXT,"
	"  evidence TEXT CHECK (evidence IS NULL OR json_valid(evidence)));"
	"CREATE INDEX findings_t ON findings(t_us);"
	"CREATE TABLE bus_events ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER,"
	"  t_us INTEGER NOT NULL,"
	"  interface TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX bus_events_t ON bus_events(t_us);",
	/* 1 -> 2: the forwarder's store-and-forward queue */
	"CREATE TABLE forward_queue ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," /* ids never reused: the order is the send order */
	"  t_us INTEGER NOT NULL,"
	"  topic TEXT NOT NULL,"
	"  payload BLOB NOT NULL);",
	/* 2 -> 3: the guided test's signal timeline, for reports */
	"CREATE TABLE timeline ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL,"
	"  t_us INTEGER NOT NULL,"
	"  series TEXT NOT NULL,"
	"  value REAL,"
	"  label TEXT);"
	"CREATE INDEX timeline_session ON timeline(session_id, t_us);"
	"CREATE INDEX timeline_t ON timeline(t_us);",
	/*
	 * 3 -> 4: the outbox of the fleet wire format v1 (docs/fleet.md), read by
	 * bodydiag-forward. Its epoch: the creation time in microseconds, or a random value
	 * when the clock is not set yet (a Raspberry Pi without RTC before NTP), so that a
	 * new outbox is never taken for an old one. A row's id is the record's seq; the
	 * body holds the record's own members, the forwarder adds the common ones. Sessions
	 * keep their verdict and leading cause for the summary. Rows still queued in the
	 * earlier format become outbox rows of the same records, in the same order.
	 */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta (key, value) SELECT 'outbox_epoch', CASE WHEN t > 946684800000000 "
	"  THEN t ELSE 1 + abs(random() % 9007199254740990) END "
	"  FROM (SELECT CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER) AS t);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," /* the seq: never reused, in record order */
	"  t_us INTEGER NOT NULL,"
	"  kind TEXT NOT NULL," /* finding, dtc, bus, session */
	"  vin TEXT,"
	"  body TEXT NOT NULL CHECK (json_valid(body)));"
	"ALTER TABLE sessions ADD COLUMN verdict TEXT;"
	"ALTER TABLE sessions ADD COLUMN top_cause TEXT;"
	"INSERT INTO outbox (t_us, kind, vin, body) SELECT t_us, kind, vin, body FROM ("
	"  SELECT q.id AS qid, f.t_us, 'finding' AS kind, v.vin,"
	"    json_object('session', f.session_id, 'id', f.id, 'cause', f.cause,"
	"      'confidence', f.confidence, 'state', f.state, 'advice', f.advice,"
	"      'evidence', json(f.evidence)) AS body"
	"  FROM forward_queue q JOIN findings f ON f.id = json_extract(q.payload, '$.id')"
	"  LEFT JOIN sessions s ON s.id = f.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"
	"  WHERE json_valid(q.payload) AND json_extract(q.payload, '$.kind') = 'finding'"
	"  UNION ALL"
	"  SELECT q.id, d.t_us, 'dtc', v.vin,"
	"    json_object('session', d.session_id, 'id', d.id, 'ecu', d.ecu, 'dtc', d.code,"
	"      'status', d.new_status, 'old_status', d.old_status)"
	"  FROM forward_queue q JOIN dtc_transitions d ON d.id = json_extract(q.payload, '$.id')"
	"  LEFT JOIN sessions s ON s.id = d.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"
	"  WHERE json_valid(q.payload) AND json_extract(q.payload, '$.kind') = 'transition'"
	") ORDER BY qid;"
	"DROP TABLE forward_queue;",
	/* 4 -> 5: a guided test's result (daemon/engine_json.c: verdict, chain, findings,
	 * DTCs with their texts), what `bodydiag report` draws from the history alone */
	"ALTER TABLE sessions ADD COLUMN result TEXT CHECK (result IS NULL OR json_valid(result));",
	/*
	 * 5 -> 6: a fleet's year of history found by vehicle, code and session without a
	 * full scan. Each row carries the vehicle known when it was recorded (the
	 * session's, else the one the unit is attached to: history_set_vin), so that
	 * background scans, which have no session, are found by VIN too; rows of a session
	 * are attributed from their session. Indexes ordered by time behind each filter, so a
	 * query with a limit reads only the rows it returns (docs/history.md, Scale);
	 * partial where most rows have no value (no session, no vehicle known); the code's
	 * carries the vehicle, so that a query by code and VIN skips the other vehicles'
	 * rows in the index without reading them.
	 */
	"ALTER TABLE dtc_snapshots ADD COLUMN vehicle_id INTEGER;"
	"ALTER TABLE dtc_transitions ADD COLUMN vehicle_id INTEGER;"
	"ALTER TABLE findings ADD COLUMN vehicle_id INTEGER;"
	"ALTER TABLE bus_events ADD COLUMN vehicle_id INTEGER;"
	"UPDATE dtc_snapshots SET vehicle_id = (SELECT vehicle_id FROM sessions WHERE id = session_id)"
	"  WHERE session_id IS NOT NULL;"
	"UPDATE dtc_transitions SET vehicle_id = (SELECT vehicle_id FROM sessions WHERE id = session_id)"
	"  WHERE session_id IS NOT NULL;"
	"UPDATE findings SET vehicle_id = (SELECT vehicle_id FROM sessions WHERE id = session_id)"
	"  WHERE session_id IS NOT NULL;"
	"UPDATE bus_events SET vehicle_id = (SELECT vehicle_id FROM sessions WHERE id = session_id)"
	"  WHERE session_id IS NOT NULL;"
	"CREATE INDEX sessions_vehicle ON sessions(vehicle_id, start_us) WHERE vehicle_id IS NOT NULL;"
	"CREATE INDEX dtc_snapshots_vehicle ON dtc_snapshots(vehicle_id, t_us) WHERE vehicle_id IS NOT NULL;"
	"CREATE INDEX dtc_snapshots_code ON dtc_snapshots(code, t_us, vehicle_id);"
	"CREATE INDEX dtc_snapshots_session ON dtc_snapshots(session_id, t_us) WHERE session_id IS NOT NULL;"
	"CREATE INDEX dtc_transitions_vehicle ON dtc_transitions(vehicle_id, t_us) WHERE vehicle_id IS NOT NULL;"
	"CREATE INDEX dtc_transitions_code ON dtc_transitions(code, t_us, vehicle_id);"
	"CREATE INDEX dtc_transitions_session ON dtc_transitions(session_id, t_us) WHERE session_id IS NOT NULL;"
	"CREATE INDEX findings_vehicle ON findings(vehicle_id, t_us) WHERE vehicle_id IS NOT NULL;"
	"CREATE INDEX findings_cause ON findings(cause, t_us);"
	"CREATE INDEX findings_session ON findings(session_id, t_us) WHERE session_id IS NOT NULL;"
	"CREATE INDEX bus_events_vehicle ON bus_events(vehicle_id, t_us) WHERE vehicle_id IS NOT NULL;"
	"CREATE INDEX bus_events_session ON bus_events(session_id, t_us) WHERE session_id IS NOT NULL;",
};

_Static_assert(ARRAY_SIZE(MIGRATIONS) == HISTORY_SCHEMA_VERSION, "one migration per version");

static const char *const KIND_NAMES[HISTORY_KIND_MAX] = {
	[HISTORY_KIND_SESSION] = "session",  [HISTORY_KIND_DTC] = "dtc",
	[HISTORY_KIND_TRANSITION] = "transition", [HISTORY_KIND_FINDING] = "finding",
	[HISTORY_KIND_BUS] = "bus",
};

const char *history_kind_name(enum history_kind k)
{
	return (unsigned)k < HISTORY_KIND_MAX ? KIND_NAMES[k] : NULL;
}

int history_kind_from_name(const char *name, enum history_kind *ret)
{
	for (unsigned i = 0; i < HISTORY_KIND_MAX; i++)
		if (strcmp(name, KIND_NAMES[i]) == 0) {
			*ret = (enum history_kind)i;
			return 0;
		}
	return -EINVAL;
}

int history_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return -EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EPROTO;
	default:
		return -EIO;
	}
}

void history_seterr(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

int history_exec(struct history *h, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		sqlite3_free(msg); /* sqlite3_errmsg() still has it: history_last_error() */
		return history_sqlite_errno(rc);
	}
	return 0;
}

int history_pragma_int(struct history *h, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return history_sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -EIO : history_sqlite_errno(rc);
	return 0;
}

int history_schema_version(struct history *h)
{
	int64_t v = 0;
	int r = history_pragma_int(h, "PRAGMA user_version", &v);

	return r < 0 ? r : (int)v;
}

static int migrate(struct history *h, unsigned target, char *err, size_t err_size)
{
	int64_t v;
	int r = history_pragma_int(h, "PRAGMA user_version", &v);

	if (r < 0) {
		history_seterr(err, err_size, "reading the schema version: %s", sqlite3_errmsg(h->db));
		return r;
	}
	if (v > HISTORY_SCHEMA_VERSION) {
		history_seterr(err, err_size, "schema version %" PRId64 " is newer than this build's %d",
		       v, HISTORY_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (unsigned i = (unsigned)v; i < target; i++) {
		char set[64];

		/* IMMEDIATE: a second writer waits here instead of failing mid-migration. The
		 * other process (bodydiagd and bodydiag-forward start together on a fresh
		 * install) may have migrated meanwhile: look again inside the transaction. */
		r = history_exec(h, "BEGIN IMMEDIATE");
		if (r >= 0)
			r = history_pragma_int(h, "PRAGMA user_version", &v);
		if (r >= 0 && v > (int64_t)i) {
			r = history_exec(h, "COMMIT");
			if (r >= 0)
				continue;
		}
		if (r >= 0)
			r = history_exec(h, MIGRATIONS[i]);
		if (r >= 0) {
			snprintf(set, sizeof(set), "PRAGMA user_version = %u", i + 1);
			r = history_exec(h, set);
		}
		if (r >= 0)
			r = history_exec(h, "COMMIT");
		if (r < 0) {
			history_seterr(err, err_size, "migrating the schema to version %u: %s", i + 1,
			       sqlite3_errmsg(h->db));
			history_exec(h, "ROLLBACK");
			return r;
		}
	}
	return 0;
}

/*
 * Checkpoints off the caller's thread. In WAL mode every commit appends to the -wal file
 * and a checkpoint copies those pages back into the database file, then fsyncs it; SQLite
 * runs one inside the commit that takes the WAL past 1000 pages, which holds the
 * daemon's loop for the copy of 4 MB and two fsyncs: 15-35 ms on the build host's disk
 * (bench/history-scale), far more on an SD card. Instead, a commit that leaves the WAL at
 * CHECKPOINT_PAGES or more wakes a thread that checkpoints on a connection of its own
 * (PASSIVE: it never waits for, nor blocks, this connection's readers and writers; WAL
 * allows a checkpoint beside a writer). Durability is untouched: a commit still fsyncs
 * the WAL itself (synchronous=FULL) before it returns, and the checkpointer syncs the WAL
 * before it copies from it. Without the thread (it could not start) SQLite's own
 * automatic checkpoint is kept.
 */
#define CHECKPOINT_PAGES 1000 /* SQLite's own default threshold */

static void *checkpointer(void *userdata)
{
	struct history *h = userdata;
	struct sched_param idle = {.sched_priority = 0};

	/* Runs only when nothing else wants the CPU: on a one-core Raspberry Pi it must not
	 * preempt the loop it relieves. Failing that (a kernel without it), a normal thread. */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);

	pthread_mutex_lock(&h->ckpt.lock);
	for (;;) {
		while (!h->ckpt.pending && !h->ckpt.stop)
			pthread_cond_wait(&h->ckpt.wake, &h->ckpt.lock);
		if (h->ckpt.stop)
			break;
		h->ckpt.pending = false;
		pthread_mutex_unlock(&h->ckpt.lock);
		/* SQLITE_BUSY (another checkpointer: a CLI's last close) is harmless: the
		 * next commit asks again. */
		sqlite3_wal_checkpoint_v2(h->ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&h->ckpt.lock);
		h->ckpt.runs++;
	}
	pthread_mutex_unlock(&h->ckpt.lock);
	return NULL;
}

/* sqlite3_wal_hook: after each commit, with the number of pages in the WAL. */
static int wal_committed(void *userdata, sqlite3 *db, const char *name, int pages)
{
	struct history *h = userdata;

	(void)db;
	(void)name;
	if (pages >= CHECKPOINT_PAGES) {
		pthread_mutex_lock(&h->ckpt.lock);
		h->ckpt.pending = true;
		pthread_cond_signal(&h->ckpt.wake);
		pthread_mutex_unlock(&h->ckpt.lock);
	}
	return SQLITE_OK;
}

static void checkpointer_start(struct history *h, const char *path)
{
	pthread_attr_t attr;
	int r;

	if (sqlite3_open_v2(path, &h->ckpt.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto fail;
	/* It reads no tables: no lookaside, the smallest page cache. A first read of the
	 * header makes the connection see the WAL (a checkpoint before that does nothing). */
	sqlite3_db_config(h->ckpt.db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
	if (sqlite3_exec(h->ckpt.db, "PRAGMA cache_size = 10; PRAGMA user_version", NULL, NULL,
			 NULL) != SQLITE_OK)
		goto fail;
	if (pthread_mutex_init(&h->ckpt.lock, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&h->ckpt.wake, NULL) != 0) {
		pthread_mutex_destroy(&h->ckpt.lock);
		goto fail;
	}
	/* A checkpoint needs little stack; glibc's default would reserve 8 MiB. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&h->ckpt.thread, &attr, checkpointer, h);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		pthread_cond_destroy(&h->ckpt.wake);
		pthread_mutex_destroy(&h->ckpt.lock);
		goto fail;
	}
	h->ckpt.running = true;
	sqlite3_wal_hook(h->db, wal_committed, h); /* replaces the automatic checkpoint */
	return;
fail:
	sqlite3_close_v2(h->ckpt.db);
	h->ckpt.db = NULL;
}

static void checkpointer_stop(struct history *h)
{
	if (!h->ckpt.running)
		return;
	pthread_mutex_lock(&h->ckpt.lock);
	h->ckpt.stop = true;
	pthread_cond_signal(&h->ckpt.wake);
	pthread_mutex_unlock(&h->ckpt.lock);
	pthread_join(h->ckpt.thread, NULL);
	pthread_cond_destroy(&h->ckpt.wake);
	pthread_mutex_destroy(&h->ckpt.lock);
	sqlite3_close_v2(h->ckpt.db);
	h->ckpt.db = NULL;
	h->ckpt.running = false;
}

int history_checkpoints(struct history *h)
{
	unsigned n;

	if (!h->ckpt.running)
		return -ENOTCONN;
	pthread_mutex_lock(&h->ckpt.lock);
	n = h->ckpt.runs;
	pthread_mutex_unlock(&h->ckpt.lock);
	return (int)n;
}

int history_open(const char *path, const struct history_options *opt, struct history **ret,
		 char *ret_error, size_t error_size)
{
	struct history_options defaults = {0};
	struct history *h;
	int flags, rc, r;

	if (!opt)
		opt = &defaults;
	if (!path || !*path || opt->schema_version > HISTORY_SCHEMA_VERSION) {
		history_seterr(ret_error, error_size, "invalid arguments");
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->read_only = opt->read_only;
	h->durable = opt->durable;
	h->retention_ms = opt->retention_ms;
	h->max_bytes = opt->max_bytes;

	/* NOMUTEX: one thread per connection; the library's mutexes would be pure cost. */
	flags = SQLITE_OPEN_NOMUTEX |
		(opt->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	rc = sqlite3_open_v2(path, &h->db, flags, NULL);
	if (rc != SQLITE_OK) {
		history_seterr(ret_error, error_size, "%s: %s", path,
		       h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
		r = history_sqlite_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
	/*
	 * Memory (issue 19: the daemon fits a Pi Zero). SQLite's defaults are sized for a
	 * desktop: a 2 MB page cache per connection, which a daemon that writes a DTC list
	 * now and then fills over the hours and keeps, and 120 KB of lookaside slots. What the
	 * history reads comes through the kernel's page cache either way, and its queries
	 * read about the rows they return (the indexes of migration 6): CACHE_KIB_TEXT KiB of
	 * pages and a small lookaside (bench/memory-bench.sh, bench/history-scale have the figures).
	 */
	sqlite3_db_config(h->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, LOOKASIDE_SLOT, LOOKASIDE_SLOTS);
	r = history_exec(h, "PRAGMA cache_size = -" CACHE_KIB_TEXT);
	if (r < 0) {
		history_seterr(ret_error, error_size, "%s: %s", path, sqlite3_errmsg(h->db));
		goto fail;
	}

	if (opt->read_only) {
		int64_t v;

		r = history_pragma_int(h, "PRAGMA user_version", &v);
		if (r < 0) {
			history_seterr(ret_error, error_size, "%s: %s", path, sqlite3_errmsg(h->db));
			goto fail;
		}
		if (v < 1 || v > HISTORY_SCHEMA_VERSION) {
			history_seterr(ret_error, error_size,
			       "%s: not a bodydiag history database of a known version (schema %" PRId64
			       ", this build knows 1-%d)",
			       path, v, HISTORY_SCHEMA_VERSION);
			r = -EPROTO;
			goto fail;
		}
		h->schema = (int)v;
		*ret = h;
		return 0;
	}

	/*
	 * auto_vacuum must be chosen before the first table exists; INCREMENTAL lets pruning
	 * give pages back to the file system a few at a time (history_prune_step) instead of
	 * one long VACUUM.
	 */
	r = history_exec(h, "PRAGMA auto_vacuum = INCREMENTAL");
	if (r >= 0)
		r = history_exec(h, "PRAGMA journal_mode = WAL");
	/*
	 * WAL mode. synchronous=FULL (durable, the daemon's default): every commit fsyncs the
	 * WAL before it returns, so a record acknowledged to anyone survives a power cut,
	 * which for a Pi in the OBD port comes at every ignition-off. It costs one fsync per
	 * transaction: callers that write many rows at once (a DTC list, a guided test's
	 * timeline) batch them (history_batch_begin), and body-fault records are rare.
	 * synchronous=NORMAL (durable = no): commits are written to the WAL without fsync,
	 * which happens only at checkpoints; a crash of the process loses nothing, a power
	 * cut keeps the database consistent (the WAL is checksummed and replayed up to the
	 * last complete commit) but may roll back every commit since the last checkpoint
	 * (docs/history.md has the power-cut test's figures).
	 */
	if (r >= 0)
		r = history_exec(h, opt->durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
	if (r >= 0)
		r = history_exec(h, "PRAGMA foreign_keys = ON");
	if (r < 0) {
		history_seterr(ret_error, error_size, "%s: %s", path, sqlite3_errmsg(h->db));
		goto fail;
	}
	r = migrate(h, opt->schema_version ? opt->schema_version : HISTORY_SCHEMA_VERSION,
		    ret_error, error_size);
	if (r >= 0)
		r = h->schema = history_schema_version(h);
	if (r < 0)
		goto fail;
	checkpointer_start(h, path);
	*ret = h;
	return 0;
fail:
	if (r == -EPROTO && ret_error && !*ret_error)
		history_seterr(ret_error, error_size, "%s: not a database", path);
	history_free(h);
	return r;
}

struct history *history_free(struct history *h)
{
	if (!h)
		return NULL;
	checkpointer_stop(h);
	if (h->db) {
		/* Lets the last connection fold the WAL back into the main file. */
		sqlite3_close_v2(h->db);
	}
	free(h);
	return NULL;
}

void history_set_retention(struct history *h, uint64_t retention_ms, uint64_t max_bytes)
{
	h->retention_ms = retention_ms;
	h->max_bytes = max_bytes;
}

int history_check(struct history *h, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(h->db, "PRAGMA integrity_check", -1, &st, NULL);
	int r = 0;

	if (rc != SQLITE_OK)
		return history_sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);
		if (!msg || strcmp(msg, "ok") != 0) {
			history_seterr(buf, size, "%s", msg ? msg : "(null)");
			r = -EBADMSG;
		}
	} else {
		r = history_sqlite_errno(rc);
		history_seterr(buf, size, "%s", sqlite3_errmsg(h->db));
		if (r == 0)
			r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

/* --- statements --- */

static const char *col_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL
							 : (const char *)sqlite3_column_text(st, i);
}

int history_prepare(struct history *h, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(h->db, sql, -1, ret, NULL);

	return rc == SQLITE_OK ? 0 : history_sqlite_errno(rc);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int history_step_done(struct history *h, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : history_sqlite_errno(rc);

	if (rc != SQLITE_DONE && r == 0)
		r = -EIO;
	sqlite3_finalize(st);
	return r;
}

static int vehicle_id(struct history *h, const char *vin, int64_t t_us, int64_t *ret)
{
	sqlite3_stmt *st;
	int r, rc;

	r = history_prepare(h,
		    "INSERT INTO vehicles (vin, first_seen_us, last_seen_us) VALUES (?1, ?2, ?2) "
		    "ON CONFLICT (vin) DO UPDATE SET last_seen_us = max(last_seen_us, ?2) "
		    "RETURNING id",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, vin, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, t_us);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else
		r = rc == SQLITE_DONE ? -EIO : history_sqlite_errno(rc);
	/* RETURNING: the statement has to run to completion before the change commits. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return r;
}

/* The vehicle of a session (0 when not known yet); -errno. */
static int session_vehicle(struct history *h, int64_t session, int64_t *ret)
{
	sqlite3_stmt *st;
	int r = history_prepare(h, "SELECT ifnull(vehicle_id, 0) FROM sessions WHERE id = ?", &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	*ret = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

/*
 * The vehicle a row recorded now (inside its transaction) belongs to: its session's, else
 * the one the unit is attached to (history_set_vin), else 0.
 */
static int row_vehicle(struct history *h, int64_t session, int64_t t_us, int64_t *ret)
{
	int64_t vid = 0;
	int r = session ? session_vehicle(h, session, &vid) : 0;

	if (r < 0)
		return r;
	if (!vid && h->vin[0]) {
		vid = h->vehicle;
		/* history_set_vin() could not write the vehicle's row: this record does, and
		 * keeps no id (its transaction may yet roll back) */
		if (!vid)
			r = vehicle_id(h, h->vin, t_us, &vid);
	}
	if (r < 0)
		return r;
	*ret = vid;
	return 0;
}

/*
 * An INSERT of a row with its vehicle_id as the last column where the schema has it (a
 * file opened at an older version, tests' schema_version, has not): COLS and VALS are
 * the statement up to its last column and value, without the closing parentheses.
 */
#define ROW_SQL(h, cols, vals)                                                                     \
	((h)->schema >= HISTORY_SCHEMA_ROW_VEHICLE ? cols ", vehicle_id) " vals ", ?)"             \
						   : cols ") " vals ")")

static void bind_row_vehicle(struct history *h, sqlite3_stmt *st, int i, int64_t vid)
{
	if (h->schema >= HISTORY_SCHEMA_ROW_VEHICLE && vid)
		sqlite3_bind_int64(st, i, vid);
}

/*
 * A record's transaction: its own (BEGIN IMMEDIATE ... COMMIT: with durable, one fsync),
 * or, inside a batch (history_batch_begin), a savepoint of the batch's transaction, so
 * that one failed record leaves the others of the batch alone.
 */
static int tx_begin(struct history *h)
{
	return history_exec(h, h->batch ? "SAVEPOINT record" : "BEGIN IMMEDIATE");
}

/* Ends what tx_begin began: committed (released) when r >= 0, else rolled back; r or
 * the commit's error. */
static int tx_end(struct history *h, int r)
{
	if (r >= 0)
		r = history_exec(h, h->batch ? "RELEASE record" : "COMMIT");
	if (r >= 0)
		return r;
	if (h->batch) {
		history_exec(h, "ROLLBACK TO record");
		history_exec(h, "RELEASE record");
	} else {
		history_exec(h, "ROLLBACK");
	}
	return r;
}

int history_batch_begin(struct history *h)
{
	int r;

	if (h->read_only)
		return -EROFS;
	if (h->batch)
		return -EBUSY;
	r = history_exec(h, "BEGIN IMMEDIATE");
	if (r >= 0)
		h->batch = true;
	return r;
}

int history_batch_end(struct history *h)
{
	int r;

	if (!h->batch)
		return -EINVAL;
	h->batch = false;
	r = history_exec(h, "COMMIT");
	if (r < 0) {
		history_exec(h, "ROLLBACK");
		return r;
	}
	return 0;
}

/* The tables of rows that belong to a session and a vehicle. */
static const char *const ROW_TABLES[] = {"dtc_snapshots", "dtc_transitions", "findings",
					 "bus_events"};

static bool vin_valid(const char *vin)
{
	size_t n = strlen(vin);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (vin[i] <= ' ' || vin[i] > '~')
			return false;
	return true;
}

int history_set_vin(struct history *h, int64_t t_us, const char *vin)
{
	int64_t vid = 0;
	int r;

	if (!vin || !*vin) {
		h->vin[0] = '\0';
		h->vehicle = 0;
		return 0;
	}
	if (!vin_valid(vin))
		return -EINVAL;
	if (strcmp(h->vin, vin) != 0) {
		snprintf(h->vin, sizeof(h->vin), "%s", vin);
		h->vehicle = 0;
	}
	if (h->read_only)
		return 0;
	/*
	 * Its vehicles row (first and last seen) and the id every row recorded from now on
	 * carries, looked up once here instead of at each record. Should this fail, the VIN
	 * still holds and each record resolves the id itself (row_vehicle).
	 */
	r = tx_begin(h);
	if (r >= 0)
		r = tx_end(h, vehicle_id(h, vin, t_us, &vid));
	/* Inside a batch the id is not committed yet: the batch's records resolve it. */
	if (r >= 0 && !h->batch)
		h->vehicle = vid;
	/* a guided test that began before the VIN was known belongs to it too */
	if (r >= 0 && h->open_session)
		r = history_session_set_vin(h, h->open_session, vin);
	return r;
}

const char *history_vin(const struct history *h)
{
	return h->vin;
}

int history_session_begin(struct history *h, int64_t t_us, const char *vin, const char *label,
			  int64_t *ret_id)
{
	sqlite3_stmt *st;
	int64_t vid = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if ((!vin || !*vin) && h->vin[0])
		vin = h->vin;
	if (vin && *vin && !vin_valid(vin))
		return -EINVAL;
	r = tx_begin(h);
	if (r < 0)
		return r;
	if (vin && *vin)
		r = vehicle_id(h, vin, t_us, &vid);
	if (r >= 0)
		r = history_prepare(h, "INSERT INTO sessions (vehicle_id, start_us, label) VALUES (?, ?, ?)",
			    &st);
	if (r >= 0) {
		if (vid)
			sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int64(st, 2, t_us);
		bind_text_or_null(st, 3, label);
		r = history_step_done(h, st);
	}
	if (r >= 0) {
		int64_t id = sqlite3_last_insert_rowid(h->db);
		r = tx_end(h, r);
		if (r >= 0)
			h->open_session = id;
		if (r >= 0 && ret_id)
			*ret_id = id;
		return r;
	}
	return tx_end(h, r);
}

int history_session_set_vin(struct history *h, int64_t session, const char *vin)
{
	sqlite3_stmt *st;
	int64_t vid, start = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (!vin || !vin_valid(vin))
		return -EINVAL;
	r = tx_begin(h);
	if (r < 0)
		return r;
	r = history_prepare(h, "SELECT start_us FROM sessions WHERE id = ?", &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, session);
		if (sqlite3_step(st) == SQLITE_ROW)
			start = sqlite3_column_int64(st, 0);
		else
			r = -ENOENT;
		sqlite3_finalize(st);
	}
	if (r >= 0)
		r = vehicle_id(h, vin, start, &vid);
	if (r >= 0)
		r = history_prepare(h, "UPDATE sessions SET vehicle_id = ? WHERE id = ?", &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int64(st, 2, session);
		r = history_step_done(h, st);
	}
	/*
	 * DTCs read before the VIN was known carry their last status over to the vehicle,
	 * so the next read of the same status is not taken for a transition.
	 */
	if (r >= 0)
		r = history_prepare(h,
			    "INSERT INTO dtc_state (vehicle_id, ecu, code, status) "
			    "SELECT ?1, ecu, code, status FROM dtc_snapshots d WHERE session_id = ?2 "
			    "AND id = (SELECT max(id) FROM dtc_snapshots "
			    "WHERE session_id = ?2 AND ecu = d.ecu AND code = d.code) "
			    "ON CONFLICT DO UPDATE SET status = excluded.status",
			    &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int64(st, 2, session);
		r = history_step_done(h, st);
	}
	/* What the session recorded before its VIN was read is that vehicle's too. */
	for (size_t i = 0;
	     r >= 0 && h->schema >= HISTORY_SCHEMA_ROW_VEHICLE && i < ARRAY_SIZE(ROW_TABLES); i++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "UPDATE %s SET vehicle_id = ?1 WHERE session_id = ?2",
			 ROW_TABLES[i]);
		r = history_prepare(h, sql, &st);
		if (r >= 0) {
			sqlite3_bind_int64(st, 1, vid);
			sqlite3_bind_int64(st, 2, session);
			r = history_step_done(h, st);
		}
	}
	return tx_end(h, r);
}

/* JSON null for 0 (no session), else the session id. */
static json_t *session_json(int64_t session)
{
	return session ? json_integer(session) : json_null();
}

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int history_session_set_verdict(struct history *h, int64_t session, const char *verdict,
				const char *top_cause)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	r = history_prepare(h, "UPDATE sessions SET verdict = ?, top_cause = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	bind_text_or_null(st, 1, verdict);
	bind_text_or_null(st, 2, top_cause);
	sqlite3_bind_int64(st, 3, session);
	r = history_step_done(h, st);
	if (r >= 0 && sqlite3_changes(h->db) == 0)
		r = -ENOENT;
	return r;
}

/* Inside the session end's transaction: its summary into the outbox. */
static int queue_session_summary(struct history *h, int64_t session, int64_t t_us)
{
	sqlite3_stmt *st;
	json_t *body = NULL;
	int r, rc;

	if (!h->outbox_on)
		return 0;
	r = history_prepare(h,
		    "SELECT start_us, label, verdict, top_cause,"
		    " (SELECT count(*) FROM findings WHERE session_id = s.id),"
		    " (SELECT count(*) FROM dtc_transitions WHERE session_id = s.id)"
		    " FROM sessions s WHERE id = ?",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		body = json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:I,s:I}", "session", (json_int_t)session,
				 "id", (json_int_t)session, "start_us",
				 (json_int_t)sqlite3_column_int64(st, 0), "label",
				 text_or_null(col_text(st, 1)), "verdict",
				 text_or_null(col_text(st, 2)), "top_cause",
				 text_or_null(col_text(st, 3)), "findings",
				 (json_int_t)sqlite3_column_int64(st, 4), "dtcs",
				 (json_int_t)sqlite3_column_int64(st, 5));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : history_sqlite_errno(rc);
	return history_outbox_add(h, "session", t_us, session, body);
}

int history_session_end(struct history *h, int64_t session, int64_t t_us)
{
	sqlite3_stmt *st;
	int r;

	if (h->open_session == session)
		h->open_session = 0;
	if (h->read_only)
		return -EROFS;
	r = tx_begin(h);
	if (r < 0)
		return r;
	r = history_prepare(h, "UPDATE sessions SET end_us = ? WHERE id = ?", &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, t_us);
		sqlite3_bind_int64(st, 2, session);
		r = history_step_done(h, st);
	}
	if (r >= 0 && sqlite3_changes(h->db) == 0)
		r = -ENOENT;
	if (r >= 0)
		r = queue_session_summary(h, session, t_us);
	return tx_end(h, r);
}

int history_session_set_result(struct history *h, int64_t session, const char *result_json)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	r = history_prepare(h, "UPDATE sessions SET result = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	bind_text_or_null(st, 1, result_json);
	sqlite3_bind_int64(st, 2, session);
	r = history_step_done(h, st);
	if (r >= 0 && sqlite3_changes(h->db) == 0)
		r = -ENOENT;
	return r;
}

int history_session_result(struct history *h, int64_t session, char **ret_json)
{
	sqlite3_stmt *st;
	int r, rc;

	if (history_schema_version(h) < 5)
		return -ENOENT; /* an older file read-only: no results stored yet */
	r = history_prepare(h, "SELECT result FROM sessions WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		char *s = strdup((const char *)sqlite3_column_text(st, 0));
		r = s ? 0 : -ENOMEM;
		if (s)
			*ret_json = s;
	} else {
		r = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : history_sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int history_record_dtc(struct history *h, int64_t session, int64_t t_us, const char *ecu,
		       uint32_t code, uint8_t status, bool *ret_transition)
{
	sqlite3_stmt *st;
	int64_t vid = 0;
	int old = -1, r;
	bool changed;

	if (h->read_only)
		return -EROFS;
	if (!ecu || !*ecu || code > 0xffffff)
		return -EINVAL;
	r = tx_begin(h);
	if (r < 0)
		return r;
	/* The status is compared with the last one of the same vehicle, known or not (0). */
	r = row_vehicle(h, session, t_us, &vid);
	if (r >= 0)
		r = history_prepare(h, "SELECT status FROM dtc_state WHERE vehicle_id = ? AND ecu = ? AND code = ?",
			    &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_text(st, 2, ecu, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, code);
		if (sqlite3_step(st) == SQLITE_ROW)
			old = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	changed = old != status;
	if (r >= 0)
		r = history_prepare(h,
			    ROW_SQL(h, "INSERT INTO dtc_snapshots (session_id, t_us, ecu, code, status",
				    "VALUES (?, ?, ?, ?, ?"),
			    &st);
	if (r >= 0) {
		if (session)
			sqlite3_bind_int64(st, 1, session);
		sqlite3_bind_int64(st, 2, t_us);
		sqlite3_bind_text(st, 3, ecu, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, code);
		sqlite3_bind_int(st, 5, status);
		bind_row_vehicle(h, st, 6, vid);
		r = history_step_done(h, st);
	}
	if (r >= 0 && changed) {
		r = history_prepare(h,
			    ROW_SQL(h, "INSERT INTO dtc_transitions "
				       "(session_id, t_us, ecu, code, old_status, new_status",
				    "VALUES (?, ?, ?, ?, ?, ?"),
			    &st);
		if (r >= 0) {
			if (session)
				sqlite3_bind_int64(st, 1, session);
			sqlite3_bind_int64(st, 2, t_us);
			sqlite3_bind_text(st, 3, ecu, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 4, code);
			if (old >= 0)
				sqlite3_bind_int(st, 5, old);
			sqlite3_bind_int(st, 6, status);
			bind_row_vehicle(h, st, 7, vid);
			r = history_step_done(h, st);
		}
		if (r >= 0)
			r = history_outbox_add(
				h, "dtc", t_us, session,
				json_pack("{s:o,s:I,s:s,s:I,s:i,s:o}", "session", session_json(session),
					  "id", (json_int_t)sqlite3_last_insert_rowid(h->db), "ecu",
					  ecu, "dtc", (json_int_t)code, "status", status,
					  "old_status", old >= 0 ? json_integer(old) : json_null()));
		if (r >= 0)
			r = history_prepare(h,
				    "INSERT INTO dtc_state (vehicle_id, ecu, code, status) "
				    "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET status = excluded.status",
				    &st);
		if (r >= 0) {
			sqlite3_bind_int64(st, 1, vid);
			sqlite3_bind_text(st, 2, ecu, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 3, code);
			sqlite3_bind_int(st, 4, status);
			r = history_step_done(h, st);
		}
	}
	r = tx_end(h, r);
	if (r < 0)
		return r;
	if (ret_transition)
		*ret_transition = changed;
	return 0;
}

int history_record_finding(struct history *h, int64_t session, int64_t t_us, const char *cause,
			   double confidence, const char *state, const char *advice,
			   const char *evidence_json, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int64_t id = 0, vid = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (!cause || !*cause)
		return -EINVAL;
	r = tx_begin(h);
	if (r < 0)
		return r;
	r = row_vehicle(h, session, t_us, &vid);
	if (r >= 0)
		r = history_prepare(h,
			    ROW_SQL(h, "INSERT INTO findings "
				       "(session_id, t_us, cause, confidence, state, advice, evidence",
				    "VALUES (?, ?, ?, ?, ?, ?, ?"),
			    &st);
	if (r >= 0) {
		if (session)
			sqlite3_bind_int64(st, 1, session);
		sqlite3_bind_int64(st, 2, t_us);
		sqlite3_bind_text(st, 3, cause, -1, SQLITE_TRANSIENT);
		if (isfinite(confidence))
			sqlite3_bind_double(st, 4, confidence);
		bind_text_or_null(st, 5, state);
		bind_text_or_null(st, 6, advice);
		bind_text_or_null(st, 7, evidence_json);
		bind_row_vehicle(h, st, 8, vid);
		r = history_step_done(h, st);
		id = sqlite3_last_insert_rowid(h->db);
	}
	if (r >= 0 && h->outbox_on) {
		/* evidence_json was just accepted by json_valid(): it parses. */
		json_t *ev = evidence_json ? json_loads(evidence_json, JSON_DECODE_ANY, NULL) : json_null();
		r = history_outbox_add(
			h, "finding", t_us, session,
			json_pack("{s:o,s:I,s:s,s:o,s:o,s:o,s:o}", "session", session_json(session), "id",
				  (json_int_t)id, "cause", cause, "confidence",
				  isfinite(confidence) ? json_real(confidence) : json_null(), "state",
				  text_or_null(state && *state ? state : NULL), "advice",
				  text_or_null(advice && *advice ? advice : NULL), "evidence",
				  ev ? ev : json_null()));
	}
	r = tx_end(h, r);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = id;
	return 0;
}

int history_record_bus_event(struct history *h, int64_t session, int64_t t_us,
			     const char *interface, const char *event, const char *detail)
{
	sqlite3_stmt *st;
	int64_t vid = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (!interface || !*interface || !event || !*event)
		return -EINVAL;
	r = tx_begin(h);
	if (r < 0)
		return r;
	r = row_vehicle(h, session, t_us, &vid);
	if (r >= 0)
		r = history_prepare(h,
			    ROW_SQL(h, "INSERT INTO bus_events (session_id, t_us, interface, event, detail",
				    "VALUES (?, ?, ?, ?, ?"),
			    &st);
	if (r >= 0) {
		if (session)
			sqlite3_bind_int64(st, 1, session);
		sqlite3_bind_int64(st, 2, t_us);
		sqlite3_bind_text(st, 3, interface, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, event, -1, SQLITE_TRANSIENT);
		bind_text_or_null(st, 5, detail);
		bind_row_vehicle(h, st, 6, vid);
		r = history_step_done(h, st);
	}
	if (r >= 0)
		r = history_outbox_add(
			h, "bus", t_us, session,
			json_pack("{s:o,s:I,s:s,s:s,s:o}", "session", session_json(session), "id",
				  (json_int_t)sqlite3_last_insert_rowid(h->db), "interface", interface,
				  "event", event, "detail", text_or_null(detail && *detail ? detail : NULL)));
	return tx_end(h, r);
}

int history_record_timeline(struct history *h, int64_t session, int64_t t_us, const char *series,
			    double value, const char *label)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	if (session <= 0 || !series || !*series)
		return -EINVAL;
	r = history_prepare(h, "INSERT INTO timeline (session_id, t_us, series, value, label) VALUES (?, ?, ?, ?, ?)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	sqlite3_bind_int64(st, 2, t_us);
	sqlite3_bind_text(st, 3, series, -1, SQLITE_TRANSIENT);
	if (isfinite(value))
		sqlite3_bind_double(st, 4, value);
	bind_text_or_null(st, 5, label);
	return history_step_done(h, st);
}

int history_timeline(struct history *h, int64_t session,
		     int (*cb)(int64_t t_us, const char *series, double value, const char *label,
			       void *userdata),
		     void *userdata)
{
	sqlite3_stmt *st;
	int r, rc, n = 0;

	if (history_schema_version(h) < 3)
		return 0; /* an older file read-only: no timeline yet */
	r = history_prepare(h, "SELECT t_us, series, value, label FROM timeline WHERE session_id = ? "
		       "ORDER BY t_us, id",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = cb(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		       sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2),
		       col_text(st, 3), userdata);
		if (r < 0) {
			sqlite3_finalize(st);
			return r;
		}
		n++;
	}
	r = rc == SQLITE_DONE ? n : history_sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

/* --- queries --- */

/*
 * The query: one arm per kind of row, each with only the filters that were given, as
 * plain terms on its own columns (never "?1 IS NULL OR ...", which no index can serve),
 * joined with UNION ALL under one ORDER BY and LIMIT. SQLite runs such a compound as a
 * merge of the arms, each read in time order from the index behind its filter (time,
 * vehicle + time, code + time, session + time: migration 5 -> 6), and stops at the
 * limit: a query reads about the rows it returns, not the table
 * (tests/unit/test-history.c checks the plans; bench/history-scale the times).
 * Columns: kind id t_us session vin ecu code status old_status cause confidence state
 * advice evidence interface event detail end_us.
 */
static const struct query_arm {
	const char *select; /* its columns FROM its table as x */
	const char *t;	    /* time column */
	const char *session, *code, *cause; /* NULL: the kind has none */
	bool own_vehicle;   /* sessions: vehicle_id in every schema */
} ARMS[HISTORY_KIND_MAX] = {
	[HISTORY_KIND_SESSION] = {
		"SELECT 0, x.id, x.start_us, x.id, v.vin, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
		" NULL, NULL, NULL, NULL, x.label, x.end_us FROM sessions x",
		"x.start_us", "x.id", NULL, NULL, true},
	[HISTORY_KIND_DTC] = {
		"SELECT 1, x.id, x.t_us, x.session_id, v.vin, x.ecu, x.code, x.status, NULL, NULL,"
		" NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM dtc_snapshots x",
		"x.t_us", "x.session_id", "x.code", NULL, false},
	[HISTORY_KIND_TRANSITION] = {
		"SELECT 2, x.id, x.t_us, x.session_id, v.vin, x.ecu, x.code, x.new_status,"
		" x.old_status, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
		" FROM dtc_transitions x",
		"x.t_us", "x.session_id", "x.code", NULL, false},
	[HISTORY_KIND_FINDING] = {
		"SELECT 3, x.id, x.t_us, x.session_id, v.vin, NULL, NULL, NULL, NULL, x.cause,"
		" x.confidence, x.state, x.advice, x.evidence, NULL, NULL, NULL, NULL FROM findings x",
		"x.t_us", "x.session_id", NULL, "x.cause", false},
	[HISTORY_KIND_BUS] = {
		"SELECT 4, x.id, x.t_us, x.session_id, v.vin, NULL, NULL, NULL, NULL, NULL, NULL,"
		" NULL, NULL, NULL, x.interface, x.event, x.detail, NULL FROM bus_events x",
		"x.t_us", "x.session_id", NULL, NULL, false},
};

struct sql_buf {
	char s[4096];
	size_t n;
};

static void sql_add(struct sql_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql_add(struct sql_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->n >= sizeof(b->s))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	b->n = n < 0 ? sizeof(b->s) : b->n + (size_t)n; /* cut: caught by the caller */
}

int history_query_prepare(struct history *h, const struct history_filter *f, sqlite3_stmt **ret)
{
	struct sql_buf b = {.n = 0};
	unsigned kinds = f->kinds ? f->kinds : (1u << HISTORY_KIND_MAX) - 1;
	sqlite3_stmt *st;
	int r;

	/* A code only exists on DTC rows and a cause only on findings. */
	if (f->have_code)
		kinds &= (1u << HISTORY_KIND_DTC) | (1u << HISTORY_KIND_TRANSITION);
	if (f->cause)
		kinds &= 1u << HISTORY_KIND_FINDING;
	for (unsigned k = 0; k < HISTORY_KIND_MAX; k++) {
		const struct query_arm *a = &ARMS[k];
		/* Files older than migration 6 (read-only) know a row's vehicle by its session. */
		const char *veh = a->own_vehicle || h->schema >= HISTORY_SCHEMA_ROW_VEHICLE
					  ? "x.vehicle_id"
					  : "(SELECT vehicle_id FROM sessions WHERE id = x.session_id)";

		if (!(kinds & (1u << k)))
			continue;
		sql_add(&b, "%s%s LEFT JOIN vehicles v ON v.id = %s WHERE 1", b.n ? " UNION ALL " : "",
			a->select, veh);
		if (f->since_us)
			sql_add(&b, " AND %s >= ?1", a->t);
		if (f->until_us)
			sql_add(&b, " AND %s <= ?2", a->t);
		if (f->vin)
			sql_add(&b, " AND %s = (SELECT id FROM vehicles WHERE vin = ?3)", veh);
		if (f->have_code)
			sql_add(&b, " AND %s = ?4", a->code);
		if (f->cause)
			sql_add(&b, " AND %s = ?5", a->cause);
		if (f->session)
			sql_add(&b, " AND %s = ?6", a->session);
	}
	if (!b.n) {
		*ret = NULL; /* nothing can match */
		return 0;
	}
	/* ?7 is never used: the numbers stay those of the filter's members. */
	sql_add(&b, " ORDER BY 3, 1, 2 LIMIT ?8");
	if (b.n >= sizeof(b.s))
		return -E2BIG;
	r = history_prepare(h, b.s, &st);
	if (r < 0)
		return r;
	history_bind_filter(st, f);
	*ret = st;
	return 0;
}

void history_bind_filter(sqlite3_stmt *st, const struct history_filter *f)
{
	if (f->since_us)
		sqlite3_bind_int64(st, 1, f->since_us);
	if (f->until_us)
		sqlite3_bind_int64(st, 2, f->until_us);
	if (f->vin)
		sqlite3_bind_text(st, 3, f->vin, -1, SQLITE_TRANSIENT);
	if (f->have_code)
		sqlite3_bind_int64(st, 4, f->code);
	if (f->cause)
		sqlite3_bind_text(st, 5, f->cause, -1, SQLITE_TRANSIENT);
	if (f->session)
		sqlite3_bind_int64(st, 6, f->session);
	sqlite3_bind_int64(st, 8, f->limit ? (int64_t)f->limit : -1);
}

static int col_int(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int(st, i);
}

int history_each_row(sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *userdata),
		     void *userdata)
{
	int r = 0, rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = row(st, userdata);
		if (r < 0)
			break;
		n++;
	}
	if (r >= 0)
		r = rc == SQLITE_DONE ? n : history_sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

struct query_ctx {
	history_row_fn cb;
	void *userdata;
};

static int query_row(sqlite3_stmt *st, void *userdata)
{
	struct query_ctx *q = userdata;
	struct history_row row = {
		.kind = (enum history_kind)sqlite3_column_int(st, 0),
		.id = sqlite3_column_int64(st, 1),
		.t_us = sqlite3_column_int64(st, 2),
		.session = sqlite3_column_int64(st, 3),
		.vin = col_text(st, 4),
		.ecu = col_text(st, 5),
		.code = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1
								   : sqlite3_column_int64(st, 6),
		.status = col_int(st, 7),
		.old_status = col_int(st, 8),
		.cause = col_text(st, 9),
		.confidence = sqlite3_column_type(st, 10) == SQLITE_NULL
				      ? NAN
				      : sqlite3_column_double(st, 10),
		.state = col_text(st, 11),
		.advice = col_text(st, 12),
		.evidence = col_text(st, 13),
		.interface = col_text(st, 14),
		.event = col_text(st, 15),
		.detail = col_text(st, 16),
		.end_us = sqlite3_column_type(st, 17) == SQLITE_NULL
				  ? 0
				  : sqlite3_column_int64(st, 17),
	};

	return q->cb ? q->cb(&row, q->userdata) : 0;
}

int history_query(struct history *h, const struct history_filter *f, history_row_fn cb,
		  void *userdata)
{
	struct history_filter none = {0};
	struct query_ctx ctx = {.cb = cb, .userdata = userdata};
	sqlite3_stmt *st;
	int r;

	r = history_query_prepare(h, f ? f : &none, &st);
	if (r < 0 || !st)
		return r;
	return history_each_row(st, query_row, &ctx);
}

const char *history_last_error(struct history *h)
{
	return sqlite3_errmsg(h->db);
}

int64_t history_open_session(const struct history *h)
{
	return h->open_session;
}

int history_latest_vin(struct history *h, char *buf, size_t size)
{
	sqlite3_stmt *st;
	int r = history_prepare(h, "SELECT vin FROM vehicles ORDER BY last_seen_us DESC, id DESC LIMIT 1",
				&st);
	int rc;

	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = history_sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}
