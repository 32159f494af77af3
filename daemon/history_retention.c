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
	r = history_prepare(h, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, (int)max_rows);
	r = history_step_done(h, st);
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
		r = history_exec(h, "BEGIN IMMEDIATE");
		if (r < 0)
			return r;
		for (size_t i = 0; i < ARRAY_SIZE(PRUNED) && r >= 0; i++)
			r = delete_batch(h, PRUNED[i].table, PRUNED[i].t, cutoff, max_rows, &more);
		if (r >= 0)
			r = history_exec(h, "COMMIT");
		if (r < 0) {
			history_exec(h, "ROLLBACK");
			return r;
		}
	}
	/* A bounded number of pages per step: freeing them all at once could take seconds. */
	int64_t free_pages = 0;
	r = history_pragma_int(h, "PRAGMA freelist_count", &free_pages);
	if (r < 0)
		return r;
	if (free_pages > 0) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", VACUUM_PAGES_PER_STEP);
		r = history_exec(h, sql);
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

struct history_pruner {
	struct history *h;
	struct ev_loop *loop;
	ev_timer timer;
	double interval_s;
};

static void prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct history_pruner *p = container_of(w, struct history_pruner, timer);
	int r = history_prune_step(p->h, clock_now_us(CLOCK_REALTIME), 200);

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
