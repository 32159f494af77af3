/* SPDX-License-Identifier: MIT */
/*
 * Retention: records older than [history] retention, or the oldest while the file is
 * above max_size_mb, deleted in small steps (history_prune_step) so that pruning never
 * blocks the daemon's loop for long; freed pages given back a few at a time
 * (incremental vacuum). history_pruner runs the steps from a libev timer.
 */
#include "history_retention.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history_private.h"
#include "log.h"
#include "macro.h"

#define PRUNE_AGAIN_S 0.05   /* next step soon while a step reported more work */
#define VACUUM_PAGES_PER_STEP 64
#define PRUNE_STEP_US 1000   /* a step's aim, well under the 5 ms the loop may be held */
#define PRUNE_ROWS_START 128
#define PRUNE_ROWS_MIN 8
#define PRUNE_ROWS_MAX 4096

/* Tables pruned by age/size, with their time column. */
static const struct {
	const char *table, *t;
} PRUNED[] = {
	{"dtc_snapshots", "t_us"}, {"dtc_transitions", "t_us"}, {"findings", "t_us"},
	{"bus_events", "t_us"},    {"timeline", "t_us"},       {"sessions", "start_us"},
};

int history_used_bytes(struct history *h, uint64_t *ret)
{
	int64_t pages = 0, free_pages = 0, size = 0;
	int r;

	r = history_pragma_int(h, "PRAGMA page_count", &pages);
	if (r >= 0)
		r = history_pragma_int(h, "PRAGMA freelist_count", &free_pages);
	if (r >= 0)
		r = history_pragma_int(h, "PRAGMA page_size", &size);
	if (r < 0)
		return r;
	*ret = (uint64_t)(pages - free_pages) * (uint64_t)size;
	return 0;
}

/* Deletes up to max_rows of table's rows older than cutoff, oldest first; the count. */
static int delete_batch(struct history *h, const char *table, const char *tcol, int64_t cutoff,
			unsigned max_rows, unsigned *ret_deleted)
{
	char sql[256];
	sqlite3_stmt *st;
	int r;

	/* Only closed sessions go; an open one is still being written to. The time index
	 * gives the oldest first without reading the rest. */
	snprintf(sql, sizeof(sql),
		 "DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE %s < ?1 %s ORDER BY %s LIMIT ?2)",
		 table, table, tcol, strcmp(table, "sessions") == 0 ? "AND end_us IS NOT NULL" : "",
		 tcol);
	r = history_prepare(h, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, (int)max_rows);
	r = history_step_done(h, st);
	if (r >= 0)
		*ret_deleted = (unsigned)sqlite3_changes(h->db);
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
		r = history_prepare(h, sql, &st);
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

/*
 * The step's writes: the deletes and a few pages given back, in one transaction. Under
 * synchronous=NORMAL whatever the [history] durable setting: a prune lost to a power cut
 * is done again at the next step, so it need not wait for an fsync (the next durable
 * commit syncs the WAL, this transaction's frames with it).
 */
static int prune_tx(struct history *h, int64_t cutoff, unsigned max_rows, bool *ret_more,
		    unsigned *ret_deleted, int64_t *ret_free_pages)
{
	unsigned left = max_rows;
	int r;

	if (h->durable)
		history_exec(h, "PRAGMA synchronous = NORMAL");
	r = history_exec(h, "BEGIN IMMEDIATE");
	for (size_t i = 0; r >= 0 && cutoff != INT64_MIN && i < ARRAY_SIZE(PRUNED) && left; i++) {
		unsigned n = 0;
		r = delete_batch(h, PRUNED[i].table, PRUNED[i].t, cutoff, left, &n);
		left -= n;
	}
	if (cutoff != INT64_MIN && left == 0)
		*ret_more = true;
	*ret_deleted = max_rows - left;
	if (r >= 0)
		r = history_pragma_int(h, "PRAGMA freelist_count", ret_free_pages);
	if (r >= 0 && *ret_free_pages > 0) {
		char sql[64];
		/* A bounded number of pages per step: freeing them all at once could take
		 * seconds. */
		snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", VACUUM_PAGES_PER_STEP);
		r = history_exec(h, sql);
		if (*ret_free_pages > VACUUM_PAGES_PER_STEP)
			*ret_more = true;
	}
	if (r >= 0)
		r = history_exec(h, "COMMIT");
	if (r < 0)
		history_exec(h, "ROLLBACK");
	if (h->durable)
		history_exec(h, "PRAGMA synchronous = FULL");
	return r;
}

int history_prune_step(struct history *h, int64_t now_us, unsigned max_rows)
{
	bool more = false, over = false;
	int64_t cutoff = INT64_MIN, free_pages = 0;
	unsigned deleted = 0;
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
			over = true;
		}
	}
	r = prune_tx(h, cutoff, max_rows, &more, &deleted, &free_pages);
	if (r < 0)
		return r;
	/* Over the size: measure again after this step, unless it found nothing to delete
	 * and nothing to free (e.g. only the queue is big): do not spin. Rows deleted do
	 * not always free a page at once, so the size alone cannot tell. */
	if (over && (deleted > 0 || free_pages > 0))
		more = true;
	return more ? 1 : 0;
}

int history_prune_paced(struct history *h, int64_t now_us, struct history_prune_pace *pace)
{
	int64_t t0 = clock_now_us(CLOCK_MONOTONIC), took;
	unsigned rows = pace->rows ? pace->rows : PRUNE_ROWS_START;
	int r = history_prune_step(h, now_us, rows);

	/*
	 * The next step's size from this one's time per row, aiming at PRUNE_STEP_US and
	 * growing at most twofold: a row costs a few microseconds on a PC and ten times that
	 * on an SD card's Raspberry Pi, and more where a table has more indexes.
	 */
	took = clock_now_us(CLOCK_MONOTONIC) - t0;
	if (took < 1)
		took = 1;
	uint64_t next = (uint64_t)rows * PRUNE_STEP_US / (uint64_t)took;
	if (next > 2ull * rows)
		next = 2ull * rows;
	pace->rows = (unsigned)(next < PRUNE_ROWS_MIN ? PRUNE_ROWS_MIN
				: next > PRUNE_ROWS_MAX ? PRUNE_ROWS_MAX
							: next);
	pace->last_us = took;
	return r;
}

struct history_pruner {
	struct history *h;
	struct ev_loop *loop;
	ev_timer timer;
	double interval_s;
	struct history_prune_pace pace;
};

static void prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct history_pruner *p = container_of(w, struct history_pruner, timer);
	int r = history_prune_paced(p->h, clock_now_us(CLOCK_REALTIME), &p->pace);

	if (r < 0)
		log_warning_errno(-r, "history: pruning failed: %s", history_last_error(p->h));
	ev_timer_stop(loop, w);
	ev_timer_set(w, r > 0 ? PRUNE_AGAIN_S : p->interval_s, 0);
	ev_timer_start(loop, w);
}

int history_pruner_new(struct history *h, struct ev_loop *loop, double interval_s,
		       struct history_pruner **ret)
{
	struct history_pruner *p;

	if (h->read_only || interval_s <= 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct history_pruner){.h = h, .loop = loop, .interval_s = interval_s};
	ev_timer_init(&p->timer, prune_cb, 1.0, 0);
	ev_timer_start(loop, &p->timer);
	*ret = p;
	return 0;
}

struct history_pruner *history_pruner_free(struct history_pruner *p)
{
	if (!p)
		return NULL;
	ev_timer_stop(p->loop, &p->timer);
	free(p);
	return NULL;
}
