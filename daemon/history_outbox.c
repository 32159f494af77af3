/* SPDX-License-Identifier: MIT */
/*
 * The outbox: the store-and-forward queue of what goes to the MQTT broker, a table of
 * the history database (forward_queue: id, t_us, topic, payload). Records queue their
 * JSON in their own transaction (history_forward_enable); a sender, in this process
 * (daemon/forwarder.c) or in another one with its own connection to the same file,
 * reads it with history_queue_peek() and deletes what the broker acknowledged with
 * history_queue_remove(). See history_outbox.h.
 */
#include "history_outbox.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_private.h"

/* Inside a transaction: appends and drops the oldest beyond max_rows. */
static int queue_insert(struct history *h, const char *topic, const void *payload, size_t len,
			int64_t t_us, unsigned max_rows, unsigned *ret_dropped, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int r;

	*ret_dropped = 0;
	r = history_prepare(h, "INSERT INTO forward_queue (t_us, topic, payload) VALUES (?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, t_us);
	sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, payload ? payload : "", (int)len, SQLITE_TRANSIENT);
	r = history_step_done(h, st);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(h->db);
	if (!max_rows)
		return 0;
	r = history_prepare(h,
		    "DELETE FROM forward_queue WHERE id <= "
		    "(SELECT id FROM forward_queue ORDER BY id DESC LIMIT 1 OFFSET ?)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, (int)max_rows);
	r = history_step_done(h, st);
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
	r = history_exec(h, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = queue_insert(h, topic, payload, len, t_us, max_rows, &dropped, &id);
	if (r >= 0)
		r = history_exec(h, "COMMIT");
	if (r < 0) {
		history_exec(h, "ROLLBACK");
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

	/* outside a session (or in one without a VIN): the vehicle attached */
	snprintf(buf, size, "%s", h->vin[0] ? h->vin : "unknown");
	if (!session || history_prepare(h,
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
int history_forward_row(struct history *h, struct history_row *row, const char *kind)
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

void history_forward_notify(struct history *h)
{
	/* A batch's rows exist only once the batch commits: the sender hears of them then. */
	if (h->batch)
		h->batch_notify = true;
	else if (h->forward_prefix && h->forward_notify)
		h->forward_notify(h->forward_userdata);
}

struct peek_ctx {
	int (*cb)(const struct history_queue_item *it, void *userdata);
	void *userdata;
};

static int peek_row(sqlite3_stmt *st, void *userdata)
{
	struct peek_ctx *p = userdata;
	struct history_queue_item it = {
		.id = sqlite3_column_int64(st, 0),
		.topic = (const char *)sqlite3_column_text(st, 1),
		.payload = sqlite3_column_blob(st, 2),
		.len = (size_t)sqlite3_column_bytes(st, 2),
	};

	return p->cb(&it, p->userdata);
}

int history_queue_peek(struct history *h, int64_t after_id, unsigned max,
		       int (*cb)(const struct history_queue_item *it, void *userdata), void *userdata)
{
	struct peek_ctx ctx = {.cb = cb, .userdata = userdata};
	sqlite3_stmt *st;
	int r = history_prepare(
		h, "SELECT id, topic, payload FROM forward_queue WHERE id > ? ORDER BY id LIMIT ?", &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int(st, 2, (int)max);
	return history_each_row(st, peek_row, &ctx);
}

int history_queue_remove(struct history *h, int64_t id)
{
	sqlite3_stmt *st;
	int r;

	if (h->read_only)
		return -EROFS;
	r = history_prepare(h, "DELETE FROM forward_queue WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	return history_step_done(h, st);
}

int history_queue_depth(struct history *h, uint64_t *ret)
{
	int64_t n = 0;
	int r = history_pragma_int(h, "SELECT count(*) FROM forward_queue", &n);

	if (r < 0)
		return r;
	*ret = (uint64_t)n;
	return 0;
}

