/* SPDX-License-Identifier: MIT */
/*
 * The outbox of the history database: the records that bodydiag-forward (forward/)
 * publishes in the fleet wire format v1 (docs/fleet.md), in the table outbox (id INTEGER
 * PRIMARY KEY AUTOINCREMENT: the record's seq; t_us; kind; vin; body: JSON) beside the
 * outbox's epoch (table meta). The daemon turns queueing on (history_outbox_enable):
 * every finding, DTC transition, bus event and session end then adds its row in the
 * record's own transaction, so a record is never stored without being queued nor queued
 * without being stored. The forwarder, another process with its own connection to the
 * same file (SQLite's WAL lets both write in turns), peeks in seq order and removes what
 * the fleet's receipts cover.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"

struct history_outbox_item {
	int64_t seq;      /* the row id: 1, 2, 3... in record order, never reused */
	int64_t t_us;     /* the record's time (a session: its end) */
	const char *kind; /* "finding", "dtc", "bus", "session" */
	const char *vin;  /* the session's VIN as recorded, NULL when none */
	const char *body; /* JSON object: "session", "id" and the kind's own members */
	size_t len;
};

/*
 * From now on (enable) every finding, DTC transition, bus event and ended session is
 * queued in the record's transaction; queue_max bounds the outbox (0 = unbounded): beyond
 * it the oldest rows are dropped (a gap in seq the fleet can see) and counted.
 */
int history_outbox_enable(struct history *h, bool enable, unsigned queue_max);
/* Rows dropped through this connection because the outbox was full. */
uint64_t history_outbox_dropped(const struct history *h);
/* The outbox's epoch (docs/fleet.md: set once when the outbox was created). */
int history_outbox_epoch(struct history *h, int64_t *ret);

/* Calls cb for up to max rows with seq > after in seq order; the count or -errno (or cb's). */
int history_outbox_peek(struct history *h, int64_t after, unsigned max,
			int (*cb)(const struct history_outbox_item *it, void *userdata),
			void *userdata);
/* Deletes the rows with first <= seq <= last (one transaction); ret_removed may be NULL. */
int history_outbox_remove(struct history *h, int64_t first, int64_t last, unsigned *ret_removed);

struct history_outbox_stats {
	uint64_t depth;      /* rows waiting */
	int64_t first_seq;   /* 0 when empty */
	int64_t oldest_t_us; /* record time of the oldest row, 0 when empty */
	int64_t next_seq;    /* the seq the next record will get */
};
int history_outbox_stats(struct history *h, struct history_outbox_stats *ret);
