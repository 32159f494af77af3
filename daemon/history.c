/* SPDX-License-Identifier: MIT */
#include "history.h"

#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bodydiag/dtc.h>

#include "api.h"
#include "log.h"
#include "macro.h"

#define PRUNE_AGAIN_S 0.05   /* next step soon while a step reported more work */
#define VACUUM_PAGES_PER_STEP 64
#define BUSY_TIMEOUT_MS 250 /* a reader checkpointing; longer would stall the loop */

struct history {
	sqlite3 *db;
	bool read_only;
	uint64_t retention_ms, max_bytes;
	struct ev_loop *loop;
	ev_timer prune_timer;
	double prune_interval;
	bool timer_started;
	/* Forwarding (history_forward_enable): queue rows in the record's own transaction. */
	char *forward_prefix;
	unsigned forward_max;
	uint64_t forward_dropped;
	void (*forward_notify)(void *userdata);
	void *forward_userdata;
};

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
};

_Static_assert(ARRAY_SIZE(MIGRATIONS) == HISTORY_SCHEMA_VERSION, "one migration per version");

/* Tables pruned by age/size, with their time column. */
static const struct {
	const char *table, *t;
} PRUNED[] = {
	{"dtc_snapshots", "t_us"}, {"dtc_transitions", "t_us"}, {"findings", "t_us"},
	{"bus_events", "t_us"},    {"timeline", "t_us"},       {"sessions", "start_us"},
};

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

static int sqlite_errno(int rc)
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

static void seterr(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static int exec(struct history *h, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_debug("history: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sqlite_errno(rc);
	}
	return 0;
}

static int pragma_int(struct history *h, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -EIO : sqlite_errno(rc);
	return 0;
}

int history_schema_version(struct history *h)
{
	int64_t v = 0;
	int r = pragma_int(h, "PRAGMA user_version", &v);

	return r < 0 ? r : (int)v;
}

static int migrate(struct history *h, unsigned target, char *err, size_t err_size)
{
	int64_t v;
	int r = pragma_int(h, "PRAGMA user_version", &v);

	if (r < 0) {
		seterr(err, err_size, "reading the schema version: %s", sqlite3_errmsg(h->db));
		return r;
	}
	if (v > HISTORY_SCHEMA_VERSION) {
		seterr(err, err_size, "schema version %" PRId64 " is newer than this build's %d",
		       v, HISTORY_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (unsigned i = (unsigned)v; i < target; i++) {
		char set[64];

		/* IMMEDIATE: a second writer waits here instead of failing mid-migration. */
		r = exec(h, "BEGIN IMMEDIATE");
		if (r >= 0)
			r = exec(h, MIGRATIONS[i]);
		if (r >= 0) {
			snprintf(set, sizeof(set), "PRAGMA user_version = %u", i + 1);
			r = exec(h, set);
		}
		if (r >= 0)
			r = exec(h, "COMMIT");
		if (r < 0) {
			seterr(err, err_size, "migrating the schema to version %u: %s", i + 1,
			       sqlite3_errmsg(h->db));
			exec(h, "ROLLBACK");
			return r;
		}
	}
	return 0;
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
		seterr(ret_error, error_size, "invalid arguments");
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->read_only = opt->read_only;
	h->retention_ms = opt->retention_ms;
	h->max_bytes = opt->max_bytes;

	/* NOMUTEX: one thread per connection; the library's mutexes would be pure cost. */
	flags = SQLITE_OPEN_NOMUTEX |
		(opt->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	rc = sqlite3_open_v2(path, &h->db, flags, NULL);
	if (rc != SQLITE_OK) {
		seterr(ret_error, error_size, "%s: %s", path,
		       h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
		r = sqlite_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);

	if (opt->read_only) {
		int64_t v;

		r = pragma_int(h, "PRAGMA user_version", &v);
		if (r < 0) {
			seterr(ret_error, error_size, "%s: %s", path, sqlite3_errmsg(h->db));
			goto fail;
		}
		if (v < 1 || v > HISTORY_SCHEMA_VERSION) {
			seterr(ret_error, error_size,
			       "%s: not a bodydiag history database of a known version (schema %" PRId64
			       ", this build knows 1-%d)",
			       path, v, HISTORY_SCHEMA_VERSION);
			r = -EPROTO;
			goto fail;
		}
		*ret = h;
		return 0;
	}

	/*
	 * auto_vacuum must be chosen before the first table exists; INCREMENTAL lets pruning
	 * give pages back to the file system a few at a time (history_prune_step) instead of
	 * one long VACUUM.
	 */
	r = exec(h, "PRAGMA auto_vacuum = INCREMENTAL");
	if (r >= 0)
		r = exec(h, "PRAGMA journal_mode = WAL");
	/*
	 * synchronous=NORMAL in WAL mode: a commit is appended to the WAL with write(), and
	 * fsync happens only at checkpoints. A crash of the process (or the daemon being
	 * killed) loses nothing committed, because the data is in the kernel's page cache;
	 * a power cut keeps the database consistent (never corrupt: the WAL is
	 * checksummed and replayed up to the last complete commit) but may roll back the
	 * last commits since the previous checkpoint. That trade is right for a logger on
	 * an SD card: FULL would fsync every finding and wear the card. Installations that
	 * must never lose an acknowledged record across a power cut set
	 * [history] durable = yes, which selects FULL (an fsync per commit).
	 */
	if (r >= 0)
		r = exec(h, opt->durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
	if (r >= 0)
		r = exec(h, "PRAGMA foreign_keys = ON");
	if (r < 0) {
		seterr(ret_error, error_size, "%s: %s", path, sqlite3_errmsg(h->db));
		goto fail;
	}
	r = migrate(h, opt->schema_version ? opt->schema_version : HISTORY_SCHEMA_VERSION,
		    ret_error, error_size);
	if (r < 0)
		goto fail;
	*ret = h;
	return 0;
fail:
	if (r == -EPROTO && ret_error && !*ret_error)
		seterr(ret_error, error_size, "%s: not a database", path);
	history_free(h);
	return r;
}

struct history *history_free(struct history *h)
{
	if (!h)
		return NULL;
	if (h->timer_started)
		ev_timer_stop(h->loop, &h->prune_timer);
	if (h->db) {
		/* Lets the last connection fold the WAL back into the main file. */
		sqlite3_close_v2(h->db);
	}
	free(h->forward_prefix);
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
		return sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);
		if (!msg || strcmp(msg, "ok") != 0) {
			seterr(buf, size, "%s", msg ? msg : "(null)");
			r = -EBADMSG;
		}
	} else {
		r = sqlite_errno(rc);
		seterr(buf, size, "%s", sqlite3_errmsg(h->db));
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

static int prepare(struct history *h, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(h->db, sql, -1, ret, NULL);

	if (rc != SQLITE_OK) {
		log_error("history: preparing %s: %s", sql, sqlite3_errmsg(h->db));
		return sqlite_errno(rc);
	}
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Runs a statement without result rows and finalizes it. */
static int step_done(struct history *h, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : sqlite_errno(rc);

	if (rc != SQLITE_DONE) {
		log_debug("history: %s: %s", sqlite3_sql(st), sqlite3_errmsg(h->db));
		if (r == 0)
			r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

static int forward_row(struct history *h, struct history_row *row, const char *kind);
static void forward_notify(struct history *h);

static int vehicle_id(struct history *h, const char *vin, int64_t t_us, int64_t *ret)
{
	sqlite3_stmt *st;
	int r, rc;

	r = prepare(h,
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
		r = rc == SQLITE_DONE ? -EIO : sqlite_errno(rc);
	/* RETURNING: the statement has to run to completion before the change commits. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return r;
}

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

int history_session_begin(struct history *h, int64_t t_us, const char *vin, const char *label,
			  int64_t *ret_id)
{
	sqlite3_stmt *st;
	int64_t vid = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (vin && *vin && !vin_valid(vin))
		return -EINVAL;
	r = exec(h, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	if (vin && *vin)
		r = vehicle_id(h, vin, t_us, &vid);
	if (r >= 0)
		r = prepare(h, "INSERT INTO sessions (vehicle_id, start_us, label) VALUES (?, ?, ?)",
			    &st);
	if (r >= 0) {
		if (vid)
			sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int64(st, 2, t_us);
		bind_text_or_null(st, 3, label);
		r = step_done(h, st);
	}
	if (r >= 0) {
		int64_t id = sqlite3_last_insert_rowid(h->db);
		r = exec(h, "COMMIT");
		if (r >= 0 && ret_id)
			*ret_id = id;
	}
	if (r < 0)
		exec(h, "ROLLBACK");
	return r;
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
	r = exec(h, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = prepare(h, "SELECT start_us FROM sessions WHERE id = ?", &st);
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
		r = prepare(h, "UPDATE sessions SET vehicle_id = ? WHERE id = ?", &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int64(st, 2, session);
		r = step_done(h, st);
	}
	/*
	 * DTCs read before the VIN was known carry their last status over to the vehicle,
	 * so the next read of the same status is not taken for a transition.
	 */
	if (r >= 0)
		r = prepare(h,
			    "INSERT INTO dtc_state (vehicle_id, ecu, code, status) "
			    "SELECT ?1, ecu, code, status FROM dtc_snapshots d WHERE session_id = ?2 "
			    "AND id = (SELECT max(id) FROM dtc_snapshots "
			    "WHERE session_id = ?2 AND ecu = d.ecu AND code = d.code) "
			    "ON CONFLICT DO UPDATE SET status = excluded.status",
			    &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int64(st, 2, session);
		r = step_done(h, st);
	}
	if (r >= 0)
		r = exec(h, "COMMIT");
	if (r < 0)
		exec(h, "ROLLBACK");
	return r;
}

int history_session_end(struct history *h, int64_t session, int64_t t_us)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	r = prepare(h, "UPDATE sessions SET end_us = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, t_us);
	sqlite3_bind_int64(st, 2, session);
	r = step_done(h, st);
	if (r >= 0 && sqlite3_changes(h->db) == 0)
		r = -ENOENT;
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
	r = exec(h, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	if (session) {
		r = prepare(h, "SELECT ifnull(vehicle_id, 0) FROM sessions WHERE id = ?", &st);
		if (r >= 0) {
			sqlite3_bind_int64(st, 1, session);
			if (sqlite3_step(st) == SQLITE_ROW)
				vid = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
	}
	if (r >= 0)
		r = prepare(h, "SELECT status FROM dtc_state WHERE vehicle_id = ? AND ecu = ? AND code = ?",
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
		r = prepare(h,
			    "INSERT INTO dtc_snapshots (session_id, t_us, ecu, code, status) "
			    "VALUES (?, ?, ?, ?, ?)",
			    &st);
	if (r >= 0) {
		if (session)
			sqlite3_bind_int64(st, 1, session);
		sqlite3_bind_int64(st, 2, t_us);
		sqlite3_bind_text(st, 3, ecu, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, code);
		sqlite3_bind_int(st, 5, status);
		r = step_done(h, st);
	}
	if (r >= 0 && changed) {
		r = prepare(h,
			    "INSERT INTO dtc_transitions "
			    "(session_id, t_us, ecu, code, old_status, new_status) "
			    "VALUES (?, ?, ?, ?, ?, ?)",
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
			r = step_done(h, st);
		}
		if (r >= 0) {
			struct history_row row = {
				.kind = HISTORY_KIND_TRANSITION, .id = sqlite3_last_insert_rowid(h->db),
				.t_us = t_us, .session = session, .ecu = ecu, .code = code,
				.status = status, .old_status = old, .confidence = NAN,
			};
			r = forward_row(h, &row, "dtc");
		}
		if (r >= 0)
			r = prepare(h,
				    "INSERT INTO dtc_state (vehicle_id, ecu, code, status) "
				    "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET status = excluded.status",
				    &st);
		if (r >= 0) {
			sqlite3_bind_int64(st, 1, vid);
			sqlite3_bind_text(st, 2, ecu, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 3, code);
			sqlite3_bind_int(st, 4, status);
			r = step_done(h, st);
		}
	}
	if (r >= 0)
		r = exec(h, "COMMIT");
	if (r < 0) {
		exec(h, "ROLLBACK");
		return r;
	}
	if (changed)
		forward_notify(h);
	if (ret_transition)
		*ret_transition = changed;
	return 0;
}

int history_record_finding(struct history *h, int64_t session, int64_t t_us, const char *cause,
			   double confidence, const char *state, const char *advice,
			   const char *evidence_json, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (!cause || !*cause)
		return -EINVAL;
	r = exec(h, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO findings (session_id, t_us, cause, confidence, state, advice, evidence) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?)",
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
		r = step_done(h, st);
		id = sqlite3_last_insert_rowid(h->db);
	}
	if (r >= 0) {
		struct history_row row = {
			.kind = HISTORY_KIND_FINDING, .id = id, .t_us = t_us, .session = session,
			.code = -1, .status = -1, .old_status = -1, .cause = cause, .state = state,
			.advice = advice, .evidence = evidence_json, .confidence = confidence,
		};
		r = forward_row(h, &row, "findings");
	}
	if (r >= 0)
		r = exec(h, "COMMIT");
	if (r < 0) {
		exec(h, "ROLLBACK");
		return r;
	}
	forward_notify(h);
	if (ret_id)
		*ret_id = id;
	return 0;
}

int history_record_bus_event(struct history *h, int64_t session, int64_t t_us,
			     const char *interface, const char *event, const char *detail)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	if (!interface || !*interface || !event || !*event)
		return -EINVAL;
	r = prepare(h,
		    "INSERT INTO bus_events (session_id, t_us, interface, event, detail) "
		    "VALUES (?, ?, ?, ?, ?)",
		    &st);
	if (r < 0)
		return r;
	if (session)
		sqlite3_bind_int64(st, 1, session);
	sqlite3_bind_int64(st, 2, t_us);
	sqlite3_bind_text(st, 3, interface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, event, -1, SQLITE_TRANSIENT);
	bind_text_or_null(st, 5, detail);
	return step_done(h, st);
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
	r = prepare(h, "INSERT INTO timeline (session_id, t_us, series, value, label) VALUES (?, ?, ?, ?, ?)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	sqlite3_bind_int64(st, 2, t_us);
	sqlite3_bind_text(st, 3, series, -1, SQLITE_TRANSIENT);
	if (isfinite(value))
		sqlite3_bind_double(st, 4, value);
	bind_text_or_null(st, 5, label);
	return step_done(h, st);
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
	r = prepare(h, "SELECT t_us, series, value, label FROM timeline WHERE session_id = ? "
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
	r = rc == SQLITE_DONE ? n : sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

/* --- queries --- */

/*
 * One row shape over every table; the filters go on the outside, and SQLite pushes them
 * down into each arm of the UNION ALL so the t_us indexes are used.
 * Columns: kind id t_us session vin ecu code status old_status cause confidence state
 * advice evidence interface event detail end_us.
 */
#define ROWS_SQL                                                                                   \
	"SELECT 0 AS kind, s.id, s.start_us AS t_us, s.id AS session, v.vin, NULL AS ecu,"         \
	" NULL AS code, NULL AS status, NULL AS old_status, NULL AS cause, NULL AS confidence,"   \
	" NULL AS state, NULL AS advice, NULL AS evidence, NULL AS interface, NULL AS event,"     \
	" s.label AS detail, s.end_us FROM sessions s LEFT JOIN vehicles v ON v.id = s.vehicle_id" \
	" UNION ALL "                                                                              \
	"SELECT 1, d.id, d.t_us, d.session_id, v.vin, d.ecu, d.code, d.status, NULL, NULL, NULL,"  \
	" NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM dtc_snapshots d"                           \
	" LEFT JOIN sessions s ON s.id = d.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id" \
	" UNION ALL "                                                                              \
	"SELECT 2, d.id, d.t_us, d.session_id, v.vin, d.ecu, d.code, d.new_status, d.old_status,"  \
	" NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM dtc_transitions d"             \
	" LEFT JOIN sessions s ON s.id = d.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id" \
	" UNION ALL "                                                                              \
	"SELECT 3, f.id, f.t_us, f.session_id, v.vin, NULL, NULL, NULL, NULL, f.cause,"            \
	" f.confidence, f.state, f.advice, f.evidence, NULL, NULL, NULL, NULL FROM findings f"     \
	" LEFT JOIN sessions s ON s.id = f.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id" \
	" UNION ALL "                                                                              \
	"SELECT 4, b.id, b.t_us, b.session_id, v.vin, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"   \
	" NULL, NULL, b.interface, b.event, b.detail, NULL FROM bus_events b"                      \
	" LEFT JOIN sessions s ON s.id = b.session_id LEFT JOIN vehicles v ON v.id = s.vehicle_id"

static int col_int(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int(st, i);
}

int history_query(struct history *h, const struct history_filter *f, history_row_fn cb,
		  void *userdata)
{
	static const char sql[] =
		"SELECT * FROM (" ROWS_SQL ") WHERE"
		" (?1 IS NULL OR t_us >= ?1) AND (?2 IS NULL OR t_us <= ?2)"
		" AND (?3 IS NULL OR vin = ?3) AND (?4 IS NULL OR code = ?4)"
		" AND (?5 IS NULL OR cause = ?5) AND (?6 IS NULL OR session = ?6)"
		" AND ((?7 >> kind) & 1)"
		" ORDER BY t_us, kind, id LIMIT ?8";
	struct history_filter none = {0};
	sqlite3_stmt *st;
	unsigned kinds;
	int r, rc, n = 0;

	if (!f)
		f = &none;
	kinds = f->kinds ? f->kinds : (1u << HISTORY_KIND_MAX) - 1;
	/* A code only exists on DTC rows and a cause only on findings. */
	if (f->have_code)
		kinds &= (1u << HISTORY_KIND_DTC) | (1u << HISTORY_KIND_TRANSITION);
	if (f->cause)
		kinds &= 1u << HISTORY_KIND_FINDING;
	r = prepare(h, sql, &st);
	if (r < 0)
		return r;
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
	sqlite3_bind_int(st, 7, (int)kinds);
	sqlite3_bind_int64(st, 8, f->limit ? (int64_t)f->limit : -1);

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
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
		if (cb) {
			r = cb(&row, userdata);
			if (r < 0) {
				sqlite3_finalize(st);
				return r;
			}
		}
		n++;
	}
	r = rc == SQLITE_DONE ? n : sqlite_errno(rc);
	if (rc != SQLITE_DONE)
		log_debug("history: query: %s", sqlite3_errmsg(h->db));
	sqlite3_finalize(st);
	return r;
}

static void format_time(int64_t t_us, char *buf, size_t size)
{
	time_t s = (time_t)(t_us >= 0 ? t_us / 1000000 : (t_us - 999999) / 1000000);
	long us = (long)(t_us - (int64_t)s * 1000000);
	struct tm tm;

	if (!gmtime_r(&s, &tm)) {
		snprintf(buf, size, "%" PRId64, t_us);
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

static void format_code(int64_t code, char *buf, size_t size)
{
	if (code < 0 || dtc_format((uint32_t)code, buf, size) < 0)
		snprintf(buf, size, "%s", code < 0 ? "" : "?");
}

static int json_set_str(json_t *o, const char *k, const char *v)
{
	return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

json_t *history_row_to_json(const struct history_row *row)
{
	json_t *o = json_object();
	char buf[64];
	int r = 0;

	if (!o)
		return NULL;
	format_time(row->t_us, buf, sizeof(buf));
	r |= json_set_str(o, "kind", history_kind_name(row->kind));
	r |= json_object_set_new(o, "id", json_integer(row->id));
	r |= json_object_set_new(o, "t_us", json_integer(row->t_us));
	r |= json_set_str(o, "time", buf);
	if (row->session)
		r |= json_object_set_new(o, "session", json_integer(row->session));
	r |= json_set_str(o, "vin", row->vin);
	r |= json_set_str(o, "ecu", row->ecu);
	if (row->code >= 0) {
		format_code(row->code, buf, sizeof(buf));
		r |= json_set_str(o, "code", buf);
	}
	if (row->status >= 0) {
		char flags[256];
		snprintf(buf, sizeof(buf), "0x%02x", (unsigned)row->status);
		r |= json_set_str(o, "status", buf);
		if (dtc_status_format((uint8_t)row->status, flags, sizeof(flags)) >= 0)
			r |= json_set_str(o, "flags", flags);
	}
	if (row->kind == HISTORY_KIND_TRANSITION) {
		if (row->old_status >= 0) {
			snprintf(buf, sizeof(buf), "0x%02x", (unsigned)row->old_status);
			r |= json_set_str(o, "old_status", buf);
		} else {
			r |= json_object_set_new(o, "old_status", json_null());
		}
	}
	r |= json_set_str(o, "cause", row->cause);
	if (!isnan(row->confidence))
		r |= json_object_set_new(o, "confidence", json_real(row->confidence));
	r |= json_set_str(o, "state", row->state);
	r |= json_set_str(o, "advice", row->advice);
	if (row->evidence) {
		json_t *ev = json_loads(row->evidence, JSON_DECODE_ANY, NULL);
		/* The column has a json_valid CHECK; a string keeps it readable regardless. */
		r |= json_object_set_new(o, "evidence", ev ? ev : json_string(row->evidence));
	}
	r |= json_set_str(o, "interface", row->interface);
	r |= json_set_str(o, "event", row->event);
	if (row->kind == HISTORY_KIND_SESSION) {
		r |= json_set_str(o, "label", row->detail);
		if (row->end_us)
			r |= json_object_set_new(o, "end_us", json_integer(row->end_us));
	} else {
		r |= json_set_str(o, "detail", row->detail);
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void history_csv_field(FILE *out, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static const char *const CSV_COLUMNS[] = {
	"kind",   "id",	    "time",	 "t_us",   "session", "vin",	    "ecu",
	"code",	  "status", "old_status", "cause", "confidence", "state", "advice",
	"evidence", "interface", "event", "detail",
};

struct export_ctx {
	FILE *out;
	enum history_format fmt;
};

static int export_row(const struct history_row *row, void *userdata)
{
	struct export_ctx *x = userdata;
	char t[64], code[32] = "", st[16] = "", old[16] = "", num[2][32], conf[32] = "";

	if (x->fmt == HISTORY_FORMAT_JSONL) {
		json_t *o = history_row_to_json(row);
		if (!o)
			return -ENOMEM;
		int r = json_dumpf(o, x->out, JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(o);
		if (r < 0)
			return -EIO;
		fputc('\n', x->out);
		return ferror(x->out) ? -EIO : 0;
	}
	format_time(row->t_us, t, sizeof(t));
	format_code(row->code, code, sizeof(code));
	if (row->status >= 0)
		snprintf(st, sizeof(st), "0x%02x", (unsigned)row->status);
	if (row->old_status >= 0)
		snprintf(old, sizeof(old), "0x%02x", (unsigned)row->old_status);
	if (!isnan(row->confidence))
		snprintf(conf, sizeof(conf), "%.3g", row->confidence);
	snprintf(num[0], sizeof(num[0]), "%" PRId64, row->id);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, row->t_us);

	if (x->fmt == HISTORY_FORMAT_TABLE) {
		const char *what = row->cause ? row->cause : row->event ? row->event : "";
		const char *more = row->kind == HISTORY_KIND_FINDING ? row->advice : row->detail;
		char flags[200] = "";

		if (row->status >= 0)
			dtc_status_format((uint8_t)row->status, flags, sizeof(flags));
		fprintf(x->out, "%-27s %-10s %-17s %-6s %-9s %-4s %-4s %s%s%s%s%s\n", t,
			history_kind_name(row->kind), row->vin ? row->vin : "-",
			row->ecu ? row->ecu : row->interface ? row->interface : "-",
			code[0] ? code : "-", st[0] ? st : "-", old[0] ? old : "-", what,
			conf[0] ? " " : "", conf, flags[0] ? " " : "", flags);
		if (more && *more)
			fprintf(x->out, "%-27s   %s\n", "", more);
		return ferror(x->out) ? -EIO : 0;
	}

	/* CSV */
	const char *fields[ARRAY_SIZE(CSV_COLUMNS)] = {
		history_kind_name(row->kind),
		num[0],
		t,
		num[1],
		NULL,
		row->vin,
		row->ecu,
		code,
		st,
		old,
		row->cause,
		conf,
		row->state,
		row->advice,
		row->evidence,
		row->interface,
		row->event,
		row->detail,
	};
	char sess[32] = "";
	if (row->session)
		snprintf(sess, sizeof(sess), "%" PRId64, row->session);
	fields[4] = sess;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (i)
			fputc(',', x->out);
		history_csv_field(x->out, fields[i]);
	}
	fputs("\r\n", x->out);
	return ferror(x->out) ? -EIO : 0;
}

int history_export(struct history *h, const struct history_filter *f, enum history_format fmt,
		   FILE *out)
{
	struct export_ctx x = {.out = out, .fmt = fmt};

	if (fmt == HISTORY_FORMAT_CSV) {
		for (size_t i = 0; i < ARRAY_SIZE(CSV_COLUMNS); i++)
			fprintf(out, "%s%s", i ? "," : "", CSV_COLUMNS[i]);
		fputs("\r\n", out);
	} else if (fmt == HISTORY_FORMAT_TABLE) {
		fprintf(out, "%-27s %-10s %-17s %-6s %-9s %-4s %-4s %s\n", "TIME", "KIND", "VIN",
			"ECU/IF", "CODE", "ST", "OLD", "CAUSE/EVENT");
	}
	return history_query(h, f, export_row, &x);
}

int history_parse_time(const char *s, int64_t *ret_us)
{
	struct tm tm = {0};
	const char *p;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	/* Unix seconds, optionally with a fraction. */
	errno = 0;
	double d = strtod(s, &end);
	if (*end == '\0' && errno == 0 && isfinite(d) && d >= 0 && d < 1e11) {
		*ret_us = (int64_t)llround(d * 1e6);
		return 0;
	}
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p = strptime(p + 1, "%H:%M", &tm);
		if (!p)
			return -EINVAL;
		if (*p == ':') {
			p = strptime(p + 1, "%S", &tm);
			if (!p)
				return -EINVAL;
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0')
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_us = (int64_t)t * 1000000;
	return 0;
}

/* --- pruning --- */

int history_used_bytes(struct history *h, uint64_t *ret)
{
	int64_t pages = 0, free_pages = 0, size = 0;
	int r;

	r = pragma_int(h, "PRAGMA page_count", &pages);
	if (r >= 0)
		r = pragma_int(h, "PRAGMA freelist_count", &free_pages);
	if (r >= 0)
		r = pragma_int(h, "PRAGMA page_size", &size);
	if (r < 0)
		return r;
	*ret = (uint64_t)(pages - free_pages) * (uint64_t)size;
	return 0;
}

static int delete_batch(struct history *h, const char *table, const char *tcol, int64_t cutoff,
			unsigned max_rows, bool *ret_more)
{
	char sql[256];
	sqlite3_stmt *st;
	int r;

	/* Only closed sessions go; an open one is still being written to. */
	snprintf(sql, sizeof(sql),
		 "DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE %s < ?1 %s ORDER BY %s LIMIT ?2)",
		 table, table, tcol, strcmp(table, "sessions") == 0 ? "AND end_us IS NOT NULL" : "",
		 tcol);
	r = prepare(h, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, (int)max_rows);
	r = step_done(h, st);
	if (r >= 0 && (unsigned)sqlite3_changes(h->db) >= max_rows)
		*ret_more = true;
	return r;
}

/* A cut-off that removes about max_rows of the oldest rows, to cut by size. */
static int oldest_plus(struct history *h, unsigned max_rows, int64_t *ret_cutoff)
{
	int64_t best = INT64_MAX;

	for (size_t i = 0; i < ARRAY_SIZE(PRUNED); i++) {
		char sql[256];
		sqlite3_stmt *st;
		int r;

		/* The max_rows-th oldest time, or the newest when the table holds fewer. */
		snprintf(sql, sizeof(sql),
			 "SELECT t FROM (SELECT %s AS t FROM %s ORDER BY %s LIMIT ?) ORDER BY t DESC LIMIT 1",
			 PRUNED[i].t, PRUNED[i].table, PRUNED[i].t);
		r = prepare(h, sql, &st);
		if (r < 0)
			return r;
		sqlite3_bind_int(st, 1, (int)max_rows);
		if (sqlite3_step(st) == SQLITE_ROW) {
			int64_t t = sqlite3_column_int64(st, 0);
			if (t < best)
				best = t;
		}
		sqlite3_finalize(st);
	}
	*ret_cutoff = best == INT64_MAX ? INT64_MIN : best + 1;
	return 0;
}

int history_prune_step(struct history *h, int64_t now_us, unsigned max_rows)
{
	bool more = false;
	int64_t cutoff = INT64_MIN;
	uint64_t used = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (max_rows == 0)
		max_rows = 1;
	if (h->retention_ms)
		cutoff = now_us - (int64_t)(h->retention_ms * 1000);
	if (h->max_bytes) {
		r = history_used_bytes(h, &used);
		if (r < 0)
			return r;
		if (used > h->max_bytes) {
			int64_t c;
			r = oldest_plus(h, max_rows, &c);
			if (r < 0)
				return r;
			if (c > cutoff)
				cutoff = c;
			more = true; /* measure again after this step */
		}
	}
	if (cutoff != INT64_MIN) {
		r = exec(h, "BEGIN IMMEDIATE");
		if (r < 0)
			return r;
		for (size_t i = 0; i < ARRAY_SIZE(PRUNED) && r >= 0; i++)
			r = delete_batch(h, PRUNED[i].table, PRUNED[i].t, cutoff, max_rows, &more);
		if (r >= 0)
			r = exec(h, "COMMIT");
		if (r < 0) {
			exec(h, "ROLLBACK");
			return r;
		}
	}
	/* A bounded number of pages per step: freeing them all at once could take seconds. */
	int64_t free_pages = 0;
	r = pragma_int(h, "PRAGMA freelist_count", &free_pages);
	if (r < 0)
		return r;
	if (free_pages > 0) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", VACUUM_PAGES_PER_STEP);
		r = exec(h, sql);
		if (r < 0)
			return r;
		if (free_pages > VACUUM_PAGES_PER_STEP)
			more = true;
	}
	if (more && h->max_bytes && used > h->max_bytes) {
		uint64_t now_used;
		/* Nothing left to delete (e.g. only the queue is big): do not spin. */
		if (history_used_bytes(h, &now_used) >= 0 && now_used >= used && free_pages == 0)
			more = false;
	}
	return more ? 1 : 0;
}

static void prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct history *h = container_of(w, struct history, prune_timer);
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	r = history_prune_step(h, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, 200);
	if (r < 0)
		log_warning_errno(r, "history: pruning failed: %s", sqlite3_errmsg(h->db));
	ev_timer_stop(loop, w);
	ev_timer_set(w, r > 0 ? PRUNE_AGAIN_S : h->prune_interval, 0);
	ev_timer_start(loop, w);
}

int history_start_pruning(struct history *h, struct ev_loop *loop, double interval_s)
{
	if (h->read_only || interval_s <= 0)
		return -EINVAL;
	if (h->timer_started)
		ev_timer_stop(h->loop, &h->prune_timer);
	h->loop = loop;
	h->prune_interval = interval_s;
	ev_timer_init(&h->prune_timer, prune_cb, 1.0, 0);
	ev_timer_start(loop, &h->prune_timer);
	h->timer_started = true;
	return 0;
}

/* --- forward queue --- */

/* Inside a transaction: appends and drops the oldest beyond max_rows. */
static int queue_insert(struct history *h, const char *topic, const void *payload, size_t len,
			int64_t t_us, unsigned max_rows, unsigned *ret_dropped, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int r;

	*ret_dropped = 0;
	r = prepare(h, "INSERT INTO forward_queue (t_us, topic, payload) VALUES (?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, t_us);
	sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, payload ? payload : "", (int)len, SQLITE_TRANSIENT);
	r = step_done(h, st);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(h->db);
	if (!max_rows)
		return 0;
	r = prepare(h,
		    "DELETE FROM forward_queue WHERE id <= "
		    "(SELECT id FROM forward_queue ORDER BY id DESC LIMIT 1 OFFSET ?)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, (int)max_rows);
	r = step_done(h, st);
	if (r >= 0)
		*ret_dropped = (unsigned)sqlite3_changes(h->db);
	return r;
}

int history_queue_push(struct history *h, const char *topic, const void *payload, size_t len,
		       int64_t t_us, unsigned max_rows, unsigned *ret_dropped, int64_t *ret_id)
{
	unsigned dropped = 0;
	int64_t id = 0;
	int r;

	if (h->read_only)
		return -EROFS;
	if (!topic || !*topic || (!payload && len))
		return -EINVAL;
	r = exec(h, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = queue_insert(h, topic, payload, len, t_us, max_rows, &dropped, &id);
	if (r >= 0)
		r = exec(h, "COMMIT");
	if (r < 0) {
		exec(h, "ROLLBACK");
		return r;
	}
	if (ret_dropped)
		*ret_dropped = dropped;
	if (ret_id)
		*ret_id = id;
	return 0;
}

int history_forward_enable(struct history *h, const char *prefix, unsigned queue_max,
			   void (*notify)(void *userdata), void *userdata)
{
	char *p = NULL;

	if (h->read_only)
		return -EROFS;
	if (prefix) {
		if (!*prefix || strpbrk(prefix, "/+#"))
			return -EINVAL;
		p = strdup(prefix);
		if (!p)
			return -ENOMEM;
	}
	free(h->forward_prefix);
	h->forward_prefix = p;
	h->forward_max = queue_max;
	h->forward_notify = notify;
	h->forward_userdata = userdata;
	return 0;
}

uint64_t history_forward_dropped(const struct history *h)
{
	return h->forward_dropped;
}

/* The VIN of a session's vehicle, for the topic; "unknown" when not known (yet). */
static void session_vin(struct history *h, int64_t session, char *buf, size_t size)
{
	sqlite3_stmt *st;

	snprintf(buf, size, "unknown");
	if (!session || prepare(h,
				"SELECT v.vin FROM sessions s JOIN vehicles v ON v.id = s.vehicle_id "
				"WHERE s.id = ?",
				&st) < 0)
		return;
	sqlite3_bind_int64(st, 1, session);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/*
 * Inside the record's transaction: queues the row as JSON on <prefix>/<vin>/<kind>, so
 * the record and its forwarding commit or fail together.
 */
static int forward_row(struct history *h, struct history_row *row, const char *kind)
{
	char vin[64], topic[256];
	unsigned dropped;
	int64_t qid;
	char *json;
	int r;

	if (!h->forward_prefix)
		return 0;
	session_vin(h, row->session, vin, sizeof(vin));
	row->vin = strcmp(vin, "unknown") ? vin : NULL;
	json_t *o = history_row_to_json(row);
	if (!o)
		return -ENOMEM;
	json = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	if (!json)
		return -ENOMEM;
	snprintf(topic, sizeof(topic), "%s/%s/%s", h->forward_prefix, vin, kind);
	r = queue_insert(h, topic, json, strlen(json), row->t_us, h->forward_max, &dropped, &qid);
	free(json);
	if (r >= 0)
		h->forward_dropped += dropped;
	return r;
}

static void forward_notify(struct history *h)
{
	if (h->forward_prefix && h->forward_notify)
		h->forward_notify(h->forward_userdata);
}

int history_queue_peek(struct history *h, int64_t after_id, unsigned max,
		       int (*cb)(const struct history_queue_item *it, void *userdata), void *userdata)
{
	sqlite3_stmt *st;
	int r, rc, n = 0;

	r = prepare(h, "SELECT id, topic, payload FROM forward_queue WHERE id > ? ORDER BY id LIMIT ?",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int(st, 2, (int)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_queue_item it = {
			.id = sqlite3_column_int64(st, 0),
			.topic = (const char *)sqlite3_column_text(st, 1),
			.payload = sqlite3_column_blob(st, 2),
			.len = (size_t)sqlite3_column_bytes(st, 2),
		};
		r = cb(&it, userdata);
		if (r < 0) {
			sqlite3_finalize(st);
			return r;
		}
		n++;
	}
	r = rc == SQLITE_DONE ? n : sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

int history_queue_remove(struct history *h, int64_t id)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	r = prepare(h, "DELETE FROM forward_queue WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	return step_done(h, st);
}

int history_queue_depth(struct history *h, uint64_t *ret)
{
	int64_t n = 0;
	int r = pragma_int(h, "SELECT count(*) FROM forward_queue", &n);

	if (r < 0)
		return r;
	*ret = (uint64_t)n;
	return 0;
}

/* --- API --- */

/* Fills f from the method's params; on failure *ret_msg says why. */
static int filter_from_params(json_t *params, struct history_filter *f, const char **ret_msg)
{
	const char *key;
	json_t *v;

	memset(f, 0, sizeof(*f));
	f->limit = HISTORY_DEFAULT_LIMIT;
	json_object_foreach(params, key, v) {
		if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
			int64_t t;
			if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			    json_integer_value(v) < 100000000000ll)
				t = json_integer_value(v) * 1000000;
			else if (json_is_real(v) && json_real_value(v) >= 0 &&
				 json_real_value(v) < 1e11)
				t = (int64_t)llround(json_real_value(v) * 1e6);
			else if (!json_is_string(v) ||
				 history_parse_time(json_string_value(v), &t) < 0) {
				*ret_msg = "\"since\"/\"until\": Unix seconds or an ISO 8601 UTC time";
				return -EINVAL;
			}
			if (key[0] == 's')
				f->since_us = t;
			else
				f->until_us = t;
		} else if (strcmp(key, "vin") == 0) {
			if (!json_is_string(v)) {
				*ret_msg = "\"vin\" must be a string";
				return -EINVAL;
			}
			f->vin = json_string_value(v);
		} else if (strcmp(key, "code") == 0) {
			if (!json_is_string(v) || dtc_parse(json_string_value(v), &f->code) < 0) {
				*ret_msg = "\"code\" must be a DTC such as \"B1A40-13\"";
				return -EINVAL;
			}
			f->have_code = true;
		} else if (strcmp(key, "cause") == 0) {
			if (!json_is_string(v)) {
				*ret_msg = "\"cause\" must be a string";
				return -EINVAL;
			}
			f->cause = json_string_value(v);
		} else if (strcmp(key, "session") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				*ret_msg = "\"session\" must be a positive integer";
				return -EINVAL;
			}
			f->session = json_integer_value(v);
		} else if (strcmp(key, "kind") == 0) {
			enum history_kind k;
			if (!json_is_string(v) || history_kind_from_name(json_string_value(v), &k) < 0) {
				*ret_msg = "\"kind\" must be session, dtc, transition, finding or bus";
				return -EINVAL;
			}
			f->kinds = 1u << k;
		} else if (strcmp(key, "limit") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > HISTORY_MAX_LIMIT) {
				*ret_msg = "\"limit\" must be an integer from 1 to 10000";
				return -EINVAL;
			}
			f->limit = (unsigned)json_integer_value(v);
		} else {
			*ret_msg = "unknown parameter (since, until, vin, code, cause, session, kind, limit)";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A reply has to fit the API's per-client output bound (1 MiB by default) with room to
 * spare, or the client would be dropped instead of answered.
 */
#define API_REPLY_BUDGET (512u * 1024)

struct collect {
	json_t *rows;
	size_t bytes;
	bool full;
};

static int collect_row(const struct history_row *row, void *userdata)
{
	struct collect *c = userdata;
	json_t *o = history_row_to_json(row);
	size_t n;

	if (!o)
		return -ENOMEM;
	n = json_dumpb(o, NULL, 0, JSON_COMPACT) + 1;
	if (c->bytes + n > API_REPLY_BUDGET) {
		json_decref(o);
		c->full = true;
		return -ENOSPC;
	}
	c->bytes += n;
	return json_array_append_new(c->rows, o) < 0 ? -ENOMEM : 0;
}

static void api_history(struct api_request *req, json_t *params, void *userdata)
{
	struct history *h = userdata;
	struct history_filter f;
	const char *msg = NULL;
	json_t *rows, *result;
	int n;

	if (filter_from_params(params, &f, &msg) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "%s", msg);
		return;
	}
	struct collect c = {.rows = json_array()};
	rows = c.rows;
	if (!rows) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	/* One more than asked for tells whether the result was cut. */
	f.limit++;
	n = history_query(h, &f, collect_row, &c);
	if (n < 0 && !c.full) {
		json_decref(rows);
		api_request_fail(req, API_ERROR_INTERNAL, "history query failed: %s", strerror(-n));
		return;
	}
	bool truncated = c.full || json_array_size(rows) == f.limit;
	if (json_array_size(rows) == f.limit)
		json_array_remove(rows, json_array_size(rows) - 1);
	result = json_pack("{s:o,s:b}", "records", rows, "truncated", truncated);
	if (!result) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply(req, result);
}

int history_api_register(struct api_server *server, struct history *h)
{
	const struct api_method m = {
		.name = "history",
		.privilege = API_PRIVILEGE_READ,
		.handler = api_history,
		.userdata = h,
		.summary = "stored DTC transitions, findings and bus events (filters: since, until, "
			   "vin, code, cause, session, kind, limit)",
	};
	return api_server_register(server, &m);
}
