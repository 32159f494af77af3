/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the history store share (history.c: schema and records and
 * queries; history_outbox.c: the forwarding queue; history_retention.c: pruning;
 * history_export.c; history_api.c). Not installed, not for other modules.
 */
#pragma once

#include <sqlite3.h>
#include <stdarg.h>

#include "history.h"

struct history {
	sqlite3 *db;
	bool read_only;
	uint64_t retention_ms, max_bytes;
	int64_t open_session; /* begun and not ended through this connection, 0 = none */
	char vin[33];	      /* history_set_vin(): the vehicle attached, "" = unknown */
	bool batch;	      /* history_batch_begin: records are savepoints of one transaction */
	bool batch_notify;    /* a record of the batch queued a row for forwarding */
	/* Forwarding (history_forward_enable): queue rows in the record's own transaction. */
	char *forward_prefix;
	unsigned forward_max;
	uint64_t forward_dropped;
	void (*forward_notify)(void *userdata);
	void *forward_userdata;
};


int history_sqlite_errno(int rc);
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
/* Inside a record's transaction: queues the row for forwarding (history_outbox.c). */
int history_forward_row(struct history *h, struct history_row *row, const char *kind);
/* After the record's commit: tells the forwarder. */
void history_forward_notify(struct history *h);
