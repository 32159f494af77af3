/* SPDX-License-Identifier: MIT */
/*
 * The history store: one SQLite database (WAL mode) with vehicles, diagnosis sessions,
 * DTC snapshots, every DTC status transition, findings with their evidence, bus health
 * events, and the outbox that bodydiag-forward sends to the fleet (history_outbox.h).
 *
 * Times are wall-clock microseconds since the Unix epoch, passed in by the caller (the
 * history outlives reboots, so monotonic time would be meaningless here). Every record
 * function is one transaction (or a part of a batch's, history_batch_begin): when it
 * (or the batch) returns 0 the record is committed, and a crash of the process afterwards
 * cannot lose it; with durable (the daemon's default) a power cut cannot either (see the
 * synchronous= comment in history.c).
 *
 * The daemon opens it read-write (migrating the schema); `bodydiag history` opens the
 * same file read-only while the daemon runs, which WAL allows without blocking either.
 *
 * The parts, one idea each: this header is the store (history.c: schema, records,
 * queries) and its export (history_export.c: JSON, CSV, table, times), which is all
 * the CLI links (no event loop, no logging, no MQTT); history_outbox.h is the
 * outbox for the fleet, history_retention.h the pruning, history_api.h the API method.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


#define HISTORY_SCHEMA_VERSION 6  /* PRAGMA user_version after migrating */
#define HISTORY_DEFAULT_LIMIT 1000 /* rows of an API query without "limit" */
#define HISTORY_MAX_LIMIT 10000    /* rows of one API query at most (and 512 KiB) */

struct history;

struct history_options {
	bool read_only;        /* no migration, no writes; fails on a missing file */
	bool durable;          /* synchronous=FULL instead of NORMAL (see history.c); the
				* daemon's [history] durable defaults to true */
	uint64_t retention_ms; /* records older than this are pruned; 0 = keep */
	uint64_t max_bytes;    /* pruning keeps the used pages under this; 0 = no bound */
	unsigned schema_version; /* migrate only up to this version; 0 = latest (tests) */
};

/*
 * Opens (creating when writable) the database at path. Returns 0, -EPROTO when the file
 * is not a history database or has a newer schema than this build knows, -ENOENT,
 * -EACCES, -EIO, -ENOMEM. ret_error (may be NULL) gets a one-line reason on failure.
 */
int history_open(const char *path, const struct history_options *opt, struct history **ret,
		 char *ret_error, size_t error_size);
struct history *history_free(struct history *h);

/* SQLite's text for the last failure on this connection. */
const char *history_last_error(struct history *h);
/* The session begun through this connection and not ended yet (a guided test's), 0 when
 * none: where what happens meanwhile (a DTC read by anyone) is recorded. */
int64_t history_open_session(const struct history *h);
/* The VIN of the vehicle seen last (vehicles.last_seen_us); -ENOENT when none yet. */
int history_latest_vin(struct history *h, char *buf, size_t size);

/* The schema version of the open database (PRAGMA user_version). */
int history_schema_version(struct history *h);
/* PRAGMA integrity_check: 0 when "ok", -EBADMSG otherwise (first message in buf). */
int history_check(struct history *h, char *buf, size_t size);
/* New retention settings (SIGHUP). */
void history_set_retention(struct history *h, uint64_t retention_ms, uint64_t max_bytes);

/* --- Recording (each call one committed transaction; -EROFS when read-only) --- */

/*
 * Groups the records that follow, until history_batch_end(), into one transaction: with
 * durable (synchronous=FULL) one fsync for all of them instead of one each, which is
 * what keeps a 1,023-DTC answer or a guided test's timeline from stalling the daemon's
 * loop. Inside a batch a record call that returns 0 is not committed yet; one that fails
 * is undone alone (a savepoint), the others stay. Not nested. Returns 0, -EBUSY (a batch
 * is open), -EROFS, -errno.
 */
int history_batch_begin(struct history *h);
/* Commits the batch (the rows are then durable as one); on failure all of them are
 * rolled back and -errno returned. -EINVAL without an open batch. */
int history_batch_end(struct history *h);

/*
 * The vehicle the unit is attached to (the VIN the identity module learned, or NULL/""
 * when not known), t_us its wall-clock time: a session begun without a VIN gets it, an
 * open session without one is given it, and the rows recorded outside a session (a
 * scan's, a client's dtc.read) belong to it: they carry its vehicles.id (a fleet
 * logger's background scans are found by VIN), count their DTC states for it and are
 * forwarded on its topics. Writes the vehicle's row (first and last seen) unless
 * read-only; the VIN is kept even when that write fails (then each record writes it).
 * Returns 0, -EINVAL (not a VIN: 1..32 printable characters), -errno.
 */
int history_set_vin(struct history *h, int64_t t_us, const char *vin);
/* What history_set_vin() set, "" when nothing. */
const char *history_vin(const struct history *h);

/* Starts a session; vin may be NULL/"" when not known yet (then history_set_vin()'s). */
int history_session_begin(struct history *h, int64_t t_us, const char *vin, const char *label,
			  int64_t *ret_id);
/* Sets the VIN once read (UDS 0xF190 / OBD mode 09); the session's rows recorded so far
 * are that vehicle's too. */
int history_session_set_vin(struct history *h, int64_t session, const char *vin);
/*
 * The guided test's verdict (rules_verdict_name) and the leading cause that held (NULL
 * when none) for the session's summary; before history_session_end().
 */
int history_session_set_verdict(struct history *h, int64_t session, const char *verdict,
				const char *top_cause);
/* Ends a session; with the outbox on (history_outbox.h) its summary is queued with it. */
int history_session_end(struct history *h, int64_t session, int64_t t_us);
/* The session's diagnosis result as JSON text (a guided test's reply: verdict, chain,
 * findings, DTCs with texts), for reports; NULL clears it. -ENOENT: no such session. */
int history_session_set_result(struct history *h, int64_t session, const char *result_json);
/* Its stored result (malloc'ed) into *ret_json: 0, -ENOENT when none was stored (or the
 * file predates results), -errno. */
int history_session_result(struct history *h, int64_t session, char **ret_json);

/*
 * Records a DTC as read (a snapshot row) and, when its status byte differs from the last
 * one recorded for the same vehicle/ECU/code (also across sessions and restarts), a
 * transition row; ret_transition (may be NULL) tells which. session may be 0.
 */
int history_record_dtc(struct history *h, int64_t session, int64_t t_us, const char *ecu,
		       uint32_t code, uint8_t status, bool *ret_transition);

/* A finding; evidence_json must be valid JSON (an array or object) or NULL. */
int history_record_finding(struct history *h, int64_t session, int64_t t_us, const char *cause,
			   double confidence, const char *state, const char *advice,
			   const char *evidence_json, int64_t *ret_id);

/* Bus health: event is "bus-off", "error-passive", "adapter-lost", "adapter-returned", ... */
int history_record_bus_event(struct history *h, int64_t session, int64_t t_us,
			     const char *interface, const char *event, const char *detail);

/*
 * One point of a session's guided-test timeline (report SVG): series is e.g.
 * "fob_telegram", "release_request", "actuator_command", "actuator_current",
 * "ajar_switch", "mark"; value NaN for pure events; label may be NULL.
 */
int history_record_timeline(struct history *h, int64_t session, int64_t t_us, const char *series,
			    double value, const char *label);
/* Calls cb for the session's timeline points in time order; returns the count or -errno. */
int history_timeline(struct history *h, int64_t session,
		     int (*cb)(int64_t t_us, const char *series, double value, const char *label,
			       void *userdata),
		     void *userdata);

/* --- Queries --- */

enum history_kind {
	HISTORY_KIND_SESSION,
	HISTORY_KIND_DTC,        /* snapshot */
	HISTORY_KIND_TRANSITION, /* DTC status change */
	HISTORY_KIND_FINDING,
	HISTORY_KIND_BUS,
	HISTORY_KIND_MAX,
};

/* "session", "dtc", "transition", "finding", "bus"; NULL out of range. */
const char *history_kind_name(enum history_kind k);
int history_kind_from_name(const char *name, enum history_kind *ret);

/* Zero-initialise, then set what you filter on. */
struct history_filter {
	int64_t since_us, until_us; /* inclusive bounds; 0 = open */
	const char *vin;            /* NULL = any */
	bool have_code;
	uint32_t code;              /* 24-bit UDS DTC; only DTC rows then */
	const char *cause;          /* only findings of this cause */
	int64_t session;            /* 0 = any */
	unsigned kinds;             /* bitmask of 1u << HISTORY_KIND_*; 0 = all */
	unsigned limit;             /* 0 = unlimited; the oldest rows first */
};

/* One row of any kind; unused members are NULL / -1. Strings valid during the callback. */
struct history_row {
	enum history_kind kind;
	int64_t id, t_us, session;
	const char *vin;
	const char *ecu;
	int64_t code;             /* -1 = none */
	int status, old_status;   /* -1 = none (old_status -1 on a first sighting) */
	const char *cause, *state, *advice, *evidence; /* evidence: JSON text */
	double confidence;        /* NaN = none */
	const char *interface, *event, *detail;        /* bus events; sessions: label */
	int64_t end_us;           /* sessions: 0 = still open */
};

typedef int (*history_row_fn)(const struct history_row *row, void *userdata);

/*
 * Calls cb for every matching row in time order. A negative return from cb stops the
 * query and is returned. Returns the number of rows, or -errno.
 */
int history_query(struct history *h, const struct history_filter *f, history_row_fn cb,
		  void *userdata);

struct json_text;
/* The row as a JSON object (only the members that apply), written into w: the API's
 * `history` reply and `bodydiag history --format jsonl`, no jansson object per row. */
void history_row_write_json(struct json_text *w, const struct history_row *row);

enum history_format {
	HISTORY_FORMAT_JSONL,
	HISTORY_FORMAT_CSV, /* RFC 4180: CRLF, header line, quoted when needed */
	HISTORY_FORMAT_TABLE,
};
/* Writes the matching rows to out; returns the number of rows or -errno. */
int history_export(struct history *h, const struct history_filter *f, enum history_format fmt,
		   FILE *out);
/* "2026-01-01T00:00:02.000000Z" (UTC, ISO 8601, microseconds); the number when out of range. */
void history_format_time(int64_t t_us, char *buf, size_t size);
/* One CSV field with RFC 4180 quoting (only when it holds , " CR or LF). */
void history_csv_field(FILE *out, const char *s);

/*
 * Parses the common filter parameters of the API method and the CLI: a time as Unix
 * seconds ("1767225600", fractions allowed) or ISO 8601 UTC ("2026-01-01",
 * "2026-01-01T12:00:00Z"). Returns 0 or -EINVAL.
 */
int history_parse_time(const char *s, int64_t *ret_us);

