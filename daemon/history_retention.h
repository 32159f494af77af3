/* SPDX-License-Identifier: MIT */
/*
 * Retention of the history store: small pruning steps, never a long block of the
 * caller, and a libev timer that runs them (the daemon's; the CLI never prunes).
 */
#pragma once

#include <stdint.h>

#include "history.h"

struct ev_loop;
struct history_pruner;

/*
 * Deletes at most max_rows rows (all tables together, oldest first) that are older than
 * the retention or, while the used size exceeds max_bytes, the oldest rows; then frees a
 * few pages (incremental vacuum). One transaction, committed without waiting for an
 * fsync (a prune lost to a power cut is done again). Returns 1 when more remains to be
 * pruned, 0 when done, -errno.
 */
int history_prune_step(struct history *h, int64_t now_us, unsigned max_rows);

/* The pacing of history_prune_paced(): zero-initialise. */
struct history_prune_pace {
	unsigned rows;	 /* the next step's max_rows (0: not started) */
	int64_t last_us; /* how long the last step took */
};
/*
 * One step as the daemon's timer runs it: history_prune_step() with pace->rows, then the
 * next step's size set from this one's time per row so that a step holds the caller
 * about 1 ms (bench/history-scale prints the longest). Returns as history_prune_step().
 */
int history_prune_paced(struct history *h, int64_t now_us, struct history_prune_pace *pace);
/* Used bytes: (page_count - freelist_count) * page_size. */
int history_used_bytes(struct history *h, uint64_t *ret);

/*
 * Runs history_prune_step from a libev timer on loop: every interval_s, and again soon
 * while a step reports more work. h must outlive the pruner. Returns 0, -EINVAL
 * (read-only, bad interval), -ENOMEM.
 */
int history_pruner_new(struct history *h, struct ev_loop *loop, double interval_s,
		       struct history_pruner **ret);
/* Accepts NULL, returns NULL. */
struct history_pruner *history_pruner_free(struct history_pruner *p);
