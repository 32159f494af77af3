/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the history store share (history.c: schema and records and
 * queries; history_outbox.c: the forwarding queue; history_retention.c: pruning;
 * history_export.c; history_api.c). Not installed, not for other modules.
 */
#pragma once

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>

#include "history.h"

#define HISTORY_SCHEMA_ROW_VEHICLE 6 /* from this version rows carry their vehicle_id */

struct history {
	sqlite3 *db;
	bool read_only;
	bool durable; /* synchronous=FULL (history_options.durable) */
	uint64_t retention_ms, max_bytes;
	int64_t open_session; /* begun and not ended through this connection, 0 = none */
	char vin[33];	      /* history_set_vin(): the vehicle attached, "" = unknown */
	int64_t vehicle;      /* its vehicles.id (history_set_vin), 0 = unknown or read-only */
	int schema;	      /* user_version after opening (a read-only file may be older) */
	bool batch;	      /* history_batch_begin: records are savepoints of one transaction */
	/* The checkpointer (history.c): a thread with its own connection copies the WAL
	 * back into the file, so that its writes and fsyncs never hold the caller. */
	struct {
		sqlite3 *db;
		pthread_t thread;
		pthread_mutex_t lock;
		pthread_cond_t wake;
		bool running, pending, stop;
		unsigned runs; /* checkpoints done (tests) */
	} ckpt;
	/* The outbox (history_outbox_enable): records queue a row in their own transaction. */
	bool outbox_on;
	unsigned outbox_max;
	uint64_t outbox_dropped;
};


int history_sqlite_errno(int rc);
/* Checkpoints the background thread has run (tests), -ENOTCONN without the thread. */
int history_checkpoints(struct history *h);
void history_seterr(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int history_exec(struct history *h, const char *sql);
int history_pragma_int(struct history *h, const char *sql, int64_t *ret);
int history_prepare(struct history *h, const char *sql, sqlite3_stmt **ret);
/* Calls row for each result row of st (stops at its first negative return, which is
 * returned), finalizes st; the number of rows, or -errno. */
int history_each_row(sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *userdata),
		     void *userdata);
/* Runs a statement without result rows and finalizes it. */
int history_step_done(struct history *h, sqlite3_stmt *st);
/*
 * The statement of history_query() for f, its parameters bound (the unit test reads its
 * plan); *ret NULL when no row can match (a code with only findings asked for). 0, -errno.
 */
int history_query_prepare(struct history *h, const struct history_filter *f, sqlite3_stmt **ret);
/* Binds f's members to the query's parameters: ?1 since, ?2 until, ?3 vin, ?4 code,
 * ?5 cause, ?6 session, ?8 limit (-1: none); a member not set stays NULL. */
void history_bind_filter(sqlite3_stmt *st, const struct history_filter *f);
/*
 * Inside a record's transaction, when the outbox is on: queues the record for the
 * forwarder (history_outbox.c). kind: "finding", "dtc", "bus", "session"; body: the
 * record's members from "session" and "id" on (taken over, may be NULL: -ENOMEM).
 */
int history_outbox_add(struct history *h, const char *kind, int64_t t_us, int64_t session,
		       json_t *body);
