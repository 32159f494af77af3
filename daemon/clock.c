/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <time.h>

#include "macro.h"

static int64_t ev_clock_now(void *impl)
{
	return clock_now_us(CLOCK_MONOTONIC);
}

static void on_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct timer *t = container_of(w, struct timer, ev);

	t->active = false;
	t->fn(t);
}

static void ev_clock_start(void *impl, struct timer *t, int64_t delay_us)
{
	struct ev_loop *loop = impl;

	ev_timer_stop(loop, &t->ev);
	ev_timer_init(&t->ev, on_ev_timer, delay_us > 0 ? (double)delay_us / 1e6 : 0., 0.);
	ev_timer_start(loop, &t->ev);
}

static void ev_clock_stop(void *impl, struct timer *t)
{
	ev_timer_stop(impl, &t->ev);
}

static void ev_clock_run_once(void *impl)
{
	ev_run(impl, EVRUN_ONCE);
}

void clock_ev_init(struct clock *c, struct ev_loop *loop)
{
	static const struct clock_ops ops = {
		.now = ev_clock_now,
		.start = ev_clock_start,
		.stop = ev_clock_stop,
		.run_once = ev_clock_run_once,
	};

	c->ops = &ops;
	c->impl = loop;
}

void timer_init(struct timer *t, const struct clock *c, timer_fn fn)
{
	*t = (struct timer){.clock = c, .fn = fn};
	ev_timer_init(&t->ev, on_ev_timer, 0., 0.);
	list_init(&t->link);
}

void timer_start(struct timer *t, int64_t delay_us)
{
	t->active = true;
	t->clock->ops->start(t->clock->impl, t, delay_us);
}

void timer_stop(struct timer *t)
{
	if (!t->active)
		return;
	t->active = false;
	t->clock->ops->stop(t->clock->impl, t);
}
