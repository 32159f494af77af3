/* SPDX-License-Identifier: MIT */
/*
 * Monotonic time and one-shot timers behind an ops table: the daemon runs them on
 * libev (clock_ev_init), and the in-process tests of the guided test and the actuator
 * test run the same modules on a fake clock they advance by hand, so every state and
 * every exit path (timeouts included) is tested without waiting and without a VM.
 */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"

struct timer;
typedef void (*timer_fn)(struct timer *t);

struct clock_ops {
	int64_t (*now)(void *impl); /* CLOCK_MONOTONIC µs */
	void (*start)(void *impl, struct timer *t, int64_t delay_us);
	void (*stop)(void *impl, struct timer *t);
	/* Lets time pass up to the next event (a timer, an fd): used only where a stopping
	 * daemon must finish a clean-up outside its main loop. */
	void (*run_once)(void *impl);
};

struct clock {
	const struct clock_ops *ops;
	void *impl;
};

/* Embedded in its owner (recover the owner with container_of in fn). */
struct timer {
	const struct clock *clock;
	timer_fn fn;
	bool active;
	ev_timer ev;		/* the libev clock's */
	int64_t due_us;		/* a fake clock's */
	struct list_head link;	/* a fake clock's */
};

/* The daemon's clock: CLOCK_MONOTONIC and ev_timer on loop. */
void clock_ev_init(struct clock *c, struct ev_loop *loop);

static inline int64_t clock_now(const struct clock *c)
{
	return c->ops->now(c->impl);
}

static inline void clock_run_once(const struct clock *c)
{
	c->ops->run_once(c->impl);
}

void timer_init(struct timer *t, const struct clock *c, timer_fn fn);
/* (Re)arms t to fire once after delay_us (0 and negative: at the next turn). */
void timer_start(struct timer *t, int64_t delay_us);
/* Disarms t; harmless when it is not armed. */
void timer_stop(struct timer *t);
