/* SPDX-License-Identifier: MIT */
/*
 * The simulator's one stepping loop: the model stepped (through a scenario when there is
 * one, each step at its exact time), its events drained, the broadcast polled and the
 * frames delivered at their own times, in time order, up to a given time. bodydiag-sim
 * offline (candump) and live (real time), and every test that drives the simulated car,
 * use it; what they do with the frames and events is theirs (callbacks).
 *
 * No clock, no sockets: the caller says up to when.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

struct sim_broadcast;
struct sim_event;
struct sim_model;
struct sim_runner;
struct sim_scenario;
struct sim_scenario_step;

struct sim_runner_ops {
	/* A frame the car broadcast (t_us its own, jittered, time). May be NULL. */
	void (*frame)(void *userdata, const struct bd_timed_frame *f);
	/* A model event (sim_model_pop_event). May be NULL (drained anyway). */
	void (*event)(void *userdata, const struct sim_event *e);
	/* A scenario step, just applied. May be NULL. */
	void (*step)(void *userdata, const struct sim_scenario_step *s);
	/* The model has reached t_us (each model tick, and each frame time between). May be
	 * NULL. */
	void (*tick)(void *userdata, int64_t t_us);
};

struct sim_runner_config {
	struct sim_model *model;	     /* required, borrowed */
	struct sim_broadcast *broadcast;     /* borrowed; NULL: no frames */
	const struct sim_scenario *scenario; /* borrowed; NULL: the model runs alone */
};

/* Starts at the model's time. Returns 0, -EINVAL, -ENOMEM. */
int sim_runner_new(const struct sim_runner_config *cfg, const struct sim_runner_ops *ops,
		   void *userdata, struct sim_runner **ret);
/* Accepts NULL, returns NULL. */
struct sim_runner *sim_runner_free(struct sim_runner *r);

/* Runs every time up to until_us (inclusive); the model then stands at until_us. Returns
 * 0, or the first -errno of the model, the scenario (sim_runner_failed_step() says which
 * step) or the broadcast. */
int sim_runner_run_until(struct sim_runner *r, int64_t until_us);

/* The scenario step that failed (after -errno from run_until), else NULL. */
const struct sim_scenario_step *sim_runner_failed_step(const struct sim_runner *r);
