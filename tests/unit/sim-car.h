/* SPDX-License-Identifier: MIT */
/*
 * The simulated car for in-process daemon tests (header-only; with core-fixture.h): the
 * simulator's model, broadcast and UDS server, driven by its runner on the fake clock.
 * Every frame the car broadcasts goes into the core's router at its time; the scripted
 * ECU behind the core's UDS port answers with the simulator's UDS server, unless the
 * test scripts an answer for a service (an NRC, a timeout, a submit error).
 */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "broadcast.h"
#include "core-fixture.h"
#include "daemon/config.h"
#include "model.h"
#include "runner.h"
#include "scenario.h"
#include "uds_server.h"

#define SIMCAR_MAX_SCRIPT 8

/* A scripted answer for requests that start with these bytes. */
struct simcar_script {
	uint8_t prefix[4];
	size_t prefix_len;
	struct fake_answer answer;
	unsigned times; /* how many requests it answers; 0 = every one */
};

struct simcar {
	struct fake_clock fc;
	struct fake_ecu fe;
	struct core c;
	struct sim_model *m;
	struct sim_broadcast *bc;
	struct sim_uds *uds;
	struct sim_runner *runner;
	struct simcar_script script[SIMCAR_MAX_SCRIPT];
	size_t n_script;
	struct ev_loop *loop;
	char dir[64], sock[96];
};

static inline void simcar_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct simcar *s = userdata;

	if (s->c.router)
		router_feed(s->c.router, f);
}

/* The model stands where the clock is (the UDS server answers from its state). */
static inline void simcar_catch_up(struct simcar *s)
{
	assert_int_equal(sim_runner_run_until(s->runner, s->fc.now), 0);
}

static inline void simcar_answer(struct fake_ecu *fe, const char *ecu, const uint8_t *req,
				 size_t len, struct fake_answer *ret)
{
	struct simcar *s = fe->userdata;
	int r;

	for (size_t i = 0; i < s->n_script; i++) {
		struct simcar_script *sc = &s->script[i];
		if (len < sc->prefix_len || memcmp(req, sc->prefix, sc->prefix_len) != 0 ||
		    sc->times == UINT32_MAX)
			continue;
		*ret = sc->answer;
		if (sc->times && --sc->times == 0)
			sc->times = UINT32_MAX; /* used up */
		return;
	}
	simcar_catch_up(s);
	r = sim_uds_request(s->uds, s->fc.now, false, req, len, ret->resp, sizeof(ret->resp),
			    &ret->resp_len);
	assert_int_equal(r, 0);
	ret->outcome = ret->resp_len ? UDS_BROKER_RESPONSE : UDS_BROKER_NO_RESPONSE;
	ret->delay_us = 2000;
}

/* Scripts the answer to requests starting with prefix (times 0: every one). */
static inline void simcar_script(struct simcar *s, const uint8_t *prefix, size_t prefix_len,
				 const struct fake_answer *a, unsigned times)
{
	struct simcar_script *sc = &s->script[s->n_script++];

	assert_true(s->n_script <= SIMCAR_MAX_SCRIPT && prefix_len <= sizeof(sc->prefix));
	*sc = (struct simcar_script){.prefix_len = prefix_len, .answer = *a, .times = times};
	memcpy(sc->prefix, prefix, prefix_len);
}

/* Another profile than the simulator's for the next simcar_start() (a path; NULL: its
 * own), e.g. the car seen only passively. */
static const char *simcar_profile_path;

/* A vehicle of the simulator's files; rules optional. */
static inline struct vehicle *simcar_vehicle(bool rules)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	struct config cfg;
	struct vehicle *v;

	config_init_defaults(&cfg);
	snprintf(cfg.data.dbc, sizeof(cfg.data.dbc), "%s/dbc/bodydiag-sim.dbc", root ? root : ".");
	if (simcar_profile_path)
		snprintf(cfg.data.profile, sizeof(cfg.data.profile), "%s", simcar_profile_path);
	else
		snprintf(cfg.data.profile, sizeof(cfg.data.profile), "%s/profiles/sim-2026.profile",
			 root ? root : ".");
	if (rules)
		snprintf(cfg.data.rules, sizeof(cfg.data.rules), "%s/rules/trunk.rules",
			 root ? root : ".");
	assert_int_equal(vehicle_load(&cfg, &v), 0);
	return v;
}

/*
 * Starts the car (faults in scenario syntax, NULL = healthy) and a core of the given
 * modules on the fake clock, with an API server on a fresh socket when api is true.
 * cfg_edit (may be NULL) adjusts the configuration before the modules start.
 */
static inline void simcar_start(struct simcar *s, const struct module *const *modules,
				const char *fault, bool rules, bool api,
				void (*cfg_edit)(struct config *cfg))
{
	static const struct sim_runner_ops ops = {.frame = simcar_frame};
	struct sim_model_config mcfg;
	struct sim_broadcast_config bcfg = {.seed = 7, .jitter_us = 2000};
	struct vehicle *v = simcar_vehicle(rules);

	memset(s, 0, sizeof(*s));
	fake_clock_init(&s->fc, 0);
	sim_model_config_init(&mcfg);
	mcfg.seed = 3;
	assert_int_equal(sim_model_new(&mcfg, &s->m), 0);
	if (fault) {
		char line[160];
		struct sim_command cmd;
		struct sim_parse_error err;

		snprintf(line, sizeof(line), "fault add %s", fault);
		assert_int_equal(sim_command_parse(line, strlen(line), &cmd, &err), 0);
		assert_int_equal(sim_command_apply(&cmd, s->m), 0);
	}
	assert_int_equal(sim_broadcast_new(vehicle_dbc(v), &bcfg, &s->bc), 0);
	assert_int_equal(sim_uds_new(s->m, NULL, &s->uds), 0);
	assert_int_equal(sim_runner_new(&(struct sim_runner_config){.model = s->m, .broadcast = s->bc},
					&ops, s, &s->runner),
			 0);
	s->c = (struct core){.clock = s->fc.clock};
	config_init_defaults(&s->c.cfg);
	s->c.cfg.history.path[0] = '\0';
	if (cfg_edit)
		cfg_edit(&s->c.cfg);
	fake_ecu_init(&s->fe, &s->fc, NULL, simcar_answer, s, &s->c.uds);
	if (api) {
		struct api_limits limits;
		struct api_groups groups = {0};

		s->loop = ev_loop_new(EVFLAG_AUTO);
		snprintf(s->dir, sizeof(s->dir), "/tmp/bodydiag-core-XXXXXX");
		assert_non_null(mkdtemp(s->dir));
		snprintf(s->sock, sizeof(s->sock), "%s/api.sock", s->dir);
		api_limits_default(&limits);
		limits.rate_limit = 0;
		assert_int_equal(api_server_new(s->loop, &limits, &groups, &s->c.api), 0);
		assert_int_equal(api_server_listen_path(s->c.api, s->sock), 0);
		s->c.loop = s->loop;
	}
	assert_int_equal(core_new_modules(&s->c, modules, v), 0);
	s->fe.router = s->c.router;
	vehicle_unref(v);
}

/* Time passes by us for the car and the daemon alike, in 1 ms steps. */
static inline void simcar_run(struct simcar *s, int64_t us)
{
	int64_t end = s->fc.now + us;

	while (s->fc.now < end) {
		int64_t step = end - s->fc.now < 1000 ? end - s->fc.now : 1000;
		int64_t to = s->fc.now + step;

		/* the car's frames up to to, then the daemon's timers due by then */
		assert_int_equal(sim_runner_run_until(s->runner, to), 0);
		fake_clock_advance(&s->fc, step);
	}
}

static inline void simcar_stop(struct simcar *s)
{
	core_free(&s->c);
	fake_ecu_finish(&s->fe);
	if (s->c.api) {
		s->c.api = api_server_free(s->c.api);
		ev_loop_destroy(s->loop);
		rmdir(s->dir);
	}
	sim_runner_free(s->runner);
	sim_uds_free(s->uds);
	sim_broadcast_free(s->bc);
	sim_model_free(s->m);
}
