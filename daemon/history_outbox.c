/* SPDX-License-Identifier: MIT */
/*
 * The outbox: what bodydiag-forward sends to the fleet (docs/fleet.md), a table of the
 * history database. Records add their row in their own transaction (history_outbox_add,
 * called by history.c); the forwarder, with its own connection to the same file, reads
 * it with history_outbox_peek() and deletes what a receipt covers with
 * history_outbox_remove(). See history_outbox.h.
 */
#include "history_outbox.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_private.h"

int history_outbox_enable(struct history *h, bool enable, unsigned queue_max)
{
	if (h->read_only)
		return -EROFS;
	h->outbox_on = enable;
	h->outbox_max = queue_max;
	return 0;
}

uint64_t history_outbox_dropped(const struct history *h)
{
	return h->outbox_dropped;
}

int history_outbox_epoch(struct history *h, int64_t *ret)
{
	return history_pragma_int(h, "SELECT value FROM meta WHERE key = 'outbox_epoch'", ret);
}

/* The VIN of a session's vehicle as recorded, else of the vehicle attached; NULL when
 * neither is known (yet). */
static char *session_vin(struct history *h, int64_t session)
{
	sqlite3_stmt *st;
	char *vin = NULL;

	if (session && history_prepare(h,
				       "SELECT v.vin FROM sessions s JOIN vehicles v ON v.id = s.vehicle_id "
				       "WHERE s.id = ?",
				       &st) >= 0) {
		sqlite3_bind_int64(st, 1, session);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			vin = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	/* outside a session (or in one without a VIN): the vehicle attached, when known */
	if (!vin && h->vin[0])
		vin = strdup(h->vin);
	return vin;
}

int history_outbox_add(struct history *h, const char *kind, int64_t t_us, int64_t session,
		       json_t *body)
{
	sqlite3_stmt *st;
	char *json, *vin;
	int r;

	if (!h->outbox_on) {
		json_decref(body);
		return 0;
	}
	if (!body)
		return -ENOMEM;
	json = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	if (!json)
		return -ENOMEM;
	vin = session_vin(h, session);
	r = history_prepare(h, "INSERT INTO outbox (t_us, kind, vin, body) VALUES (?, ?, ?, ?)", &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, t_us);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		if (vin)
			sqlite3_bind_text(st, 3, vin, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, json, -1, SQLITE_TRANSIENT);
		r = history_step_done(h, st);
	}
	free(vin);
	free(json);
	if (r < 0 || !h->outbox_max)
		return r;
	/*
	 * The bound, the oldest rows first: what is kept are the newest outbox_max seqs, one
	 * range of the primary key. Counting them instead ("ORDER BY id DESC OFFSET max")
	 * walks up to outbox_max rows at every record once the outbox is full, a forwarder
	 * offline for a day: 3-11 ms at the default 100,000 on the build host. Seqs only
	 * grow and leave from the oldest end, so the two agree; a seq removed out of order (a
	 * record the forwarder could not send) is a gap that counts in the bound.
	 */
	r = history_prepare(h, "DELETE FROM outbox WHERE id <= ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(h->db) - (int64_t)h->outbox_max);
	r = history_step_done(h, st);
	if (r >= 0)
		h->outbox_dropped += (unsigned)sqlite3_changes(h->db);
	return r;
}

struct peek_ctx {
	int (*cb)(const struct history_outbox_item *it, void *userdata);
	void *userdata;
};

static int peek_row(sqlite3_stmt *st, void *userdata)
{
	struct peek_ctx *p = userdata;
	struct history_outbox_item it = {
		.seq = sqlite3_column_int64(st, 0),
		.t_us = sqlite3_column_int64(st, 1),
		.kind = (const char *)sqlite3_column_text(st, 2),
		.vin = (const char *)sqlite3_column_text(st, 3),
		.body = (const char *)sqlite3_column_text(st, 4),
		.len = (size_t)sqlite3_column_bytes(st, 4),
	};

	return p->cb(&it, p->userdata);
}

int history_outbox_peek(struct history *h, int64_t after, unsigned max,
			int (*cb)(const struct history_outbox_item *it, void *userdata),
			void *userdata)
{
	struct peek_ctx ctx = {.cb = cb, .userdata = userdata};
	sqlite3_stmt *st;
	int r = history_prepare(
		h, "SELECT id, t_us, kind, vin, body FROM outbox WHERE id > ? ORDER BY id LIMIT ?", &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, (int)max);
	return history_each_row(st, peek_row, &ctx);
}

int history_outbox_remove(struct history *h, int64_t first, int64_t last, unsigned *ret_removed)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	if (first > last)
		return -EINVAL;
	r = history_prepare(h, "DELETE FROM outbox WHERE id BETWEEN ? AND ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	r = history_step_done(h, st);
	if (r >= 0 && ret_removed)
		*ret_removed = (unsigned)sqlite3_changes(h->db);
	return r;
}

int history_outbox_stats(struct history *h, struct history_outbox_stats *ret)
{
	struct history_outbox_stats s = {0};
	sqlite3_stmt *st;
	int r, rc;

	r = history_prepare(h,
		    "SELECT count(*), ifnull(min(id), 0), "
		    "ifnull((SELECT t_us FROM outbox ORDER BY id LIMIT 1), 0), "
		    "ifnull((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0) + 1 "
		    "FROM outbox",
		    &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s.depth = (uint64_t)sqlite3_column_int64(st, 0);
		s.first_seq = sqlite3_column_int64(st, 1);
		s.oldest_t_us = sqlite3_column_int64(st, 2);
		s.next_seq = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -EIO : history_sqlite_errno(rc);
	*ret = s;
	return 0;
}
