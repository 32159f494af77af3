/* SPDX-License-Identifier: MIT */
#include "runner.h"

#include <errno.h>
#include <stdlib.h>

#include "broadcast.h"
#include "model.h"
#include "scenario.h"

struct sim_runner {
	struct sim_runner_config cfg;
	struct sim_runner_ops ops;
	void *userdata;
	int64_t next_us; /* the next time to process */
	int64_t now_us;	 /* the last time processed */
	size_t cursor;	 /* the next scenario step */
	bool failed;
};

int sim_runner_new(const struct sim_runner_config *cfg, const struct sim_runner_ops *ops,
		   void *userdata, struct sim_runner **ret)
{
	struct sim_runner *r;

	if (!cfg || !cfg->model)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	if (ops)
		r->ops = *ops;
	r->userdata = userdata;
	r->now_us = r->next_us = sim_model_now(cfg->model);
	*ret = r;
	return 0;
}

struct sim_runner *sim_runner_free(struct sim_runner *r)
{
	free(r);
	return NULL;
}

/* The model (and scenario) to t; every step applied on the way is reported. */
static int step_model(struct sim_runner *r, int64_t t)
{
	const struct sim_scenario *sc = r->cfg.scenario;
	size_t before = r->cursor;
	int k;

	if (!sc)
		return sim_model_step(r->cfg.model, t);
	k = sim_scenario_advance(sc, r->cfg.model, &r->cursor, t);
	for (size_t i = before; r->ops.step && i < r->cursor; i++)
		r->ops.step(r->userdata, sim_scenario_step(sc, i));
	r->failed = k < 0;
	return k;
}

/* The model (and scenario) to t, and its events out. */
static int advance(struct sim_runner *r, int64_t t)
{
	struct sim_event e;
	int k = step_model(r, t);

	if (k < 0)
		return k;
	while (sim_model_pop_event(r->cfg.model, &e) > 0)
		if (r->ops.event)
			r->ops.event(r->userdata, &e);
	r->now_us = t;
	return 0;
}

int sim_runner_run_until(struct sim_runner *r, int64_t until_us)
{
	struct bd_timed_frame frames[SIM_BROADCAST_MAX_BURST];
	int k;

	while (r->next_us <= until_us) {
		int64_t t = r->next_us, next = (t / SIM_MODEL_TICK_US + 1) * SIM_MODEL_TICK_US;

		k = advance(r, t);
		if (k < 0)
			return k;
		if (r->ops.tick)
			r->ops.tick(r->userdata, t);
		if (r->cfg.broadcast) {
			/* Frames go out between model ticks too, at their jittered times. */
			int64_t due;
			int n = sim_broadcast_poll(r->cfg.broadcast, sim_model_signals(r->cfg.model), t,
						   frames, SIM_BROADCAST_MAX_BURST, &due);
			if (n < 0)
				return n;
			for (int i = 0; r->ops.frame && i < n; i++)
				r->ops.frame(r->userdata, &frames[i]);
			if (due > t && due < next)
				next = due;
		}
		r->next_us = next;
	}
	/* The model stands at until itself: a button pressed now is pressed at that time. */
	return r->now_us < until_us ? advance(r, until_us) : 0;
}

const struct sim_scenario_step *sim_runner_failed_step(const struct sim_runner *r)
{
	return r->failed && r->cfg.scenario ? sim_scenario_step(r->cfg.scenario, r->cursor) : NULL;
}
