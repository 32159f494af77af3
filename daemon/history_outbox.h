/* SPDX-License-Identifier: MIT */
/*
 * The outbox of the history database: what is to be forwarded to an MQTT broker, in
 * the table forward_queue (id INTEGER PRIMARY KEY AUTOINCREMENT: the send order; t_us;
 * topic TEXT; payload BLOB: JSON). Records queue themselves in their own transaction;
 * a sender peeks in id order and removes what the broker acknowledged. The sender
 * needs only this header and its own connection to the database (history_open), so it
 * may run in another process than the daemon that records: SQLite's WAL lets the two
 * write the same file in turns.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "history.h"

struct history_queue_item {
	int64_t id;
	const char *topic;
	const void *payload;
	size_t len;
};

/* Appends; drops the oldest rows beyond max_rows (0 = unbounded), counted in *ret_dropped. */
int history_queue_push(struct history *h, const char *topic, const void *payload, size_t len,
		       int64_t t_us, unsigned max_rows, unsigned *ret_dropped, int64_t *ret_id);
/*
 * Forwarding: from now on every finding and every DTC transition also queues its JSON
 * (history_row_to_json) on <prefix>/<vin>/findings or <prefix>/<vin>/dtc ("unknown"
 * while the session has no VIN) in the same transaction as the record, so a record is
 * never stored without being queued or queued without being stored. queue_max bounds
 * the queue (0 = unbounded; the oldest rows go first). notify (may be NULL) runs after
 * each commit that queued something, in the recording process. prefix NULL turns
 * forwarding off.
 */
int history_forward_enable(struct history *h, const char *prefix, unsigned queue_max,
			   void (*notify)(void *userdata), void *userdata);
/* Queue rows dropped by forwarding because the queue was full. */
uint64_t history_forward_dropped(const struct history *h);
/* Calls cb for up to max items with id > after_id in id order; returns the count or -errno. */
int history_queue_peek(struct history *h, int64_t after_id, unsigned max,
		       int (*cb)(const struct history_queue_item *it, void *userdata), void *userdata);
int history_queue_remove(struct history *h, int64_t id);
int history_queue_depth(struct history *h, uint64_t *ret);
