/* SPDX-License-Identifier: MIT */
/*
 * The fault matrix in-process (header-only, for tests/unit/test-rules-sim.c and
 * test-engine-sim.c): the cases of tests/scenarios/matrix, the one list every matrix
 * reads, and the guided test on the simulated car through the real engine: the
 * simulator's runner delivers the car's broadcast, the guided test's UDS reads are put
 * to the engine the way each test chooses (`read`), the questions are answered with the
 * simulator's buttons until the engine has none left.
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "bodydiag/uds.h"
#include "broadcast.h"
#include "model.h"
#include "runner.h"
#include "scenario.h"
#include "uds_server.h"

#define MS 1000LL
#define S 1000000LL
#define MATRIX_MAX_CASES 64

enum matrix_set {
	MATRIX_RULES_SIM = 1u << 0,
	MATRIX_ENGINE_SIM = 1u << 1,
	MATRIX_OFFLINE = 1u << 2,
	MATRIX_LIMIT = 1u << 3,
	MATRIX_LIVE = 1u << 4,
};

struct matrix_case {
	char label[96];
	char faults[2][96]; /* scenario syntax: "hinge_wiring_short blow_fuse=1" */
	size_t n_faults;
	char expect[64];
	char verdict[64];
	char also[64];	    /* "" = none */
	bool moving;
	unsigned sets;
};

static char *matrix_slurp(const char *rel, size_t *ret_len)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[4096];
	size_t cap = 1 << 20;
	char *buf = malloc(cap + 1);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	fp = fopen(path, "rbe");
	if (!fp || !buf)
		fail_msg("cannot open %s (set BODYDIAG_SOURCE_ROOT)", path);
	*ret_len = fread(buf, 1, cap, fp);
	buf[*ret_len] = '\0';
	fclose(fp);
	return buf;
}

/* Field i of a '|'-separated line into out (trimmed). */
static void matrix_field(const char *line, unsigned i, char *out, size_t size)
{
	const char *p = line, *end;
	size_t n;

	while (i-- > 0 && p)
		p = (p = strchr(p, '|')) ? p + 1 : NULL;
	if (!p)
		fail_msg("matrix: too few fields in \"%s\"", line);
	end = strchr(p, '|');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= size)
		fail_msg("matrix: field too long in \"%s\"", line);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The cases of one matrix, in file order. */
static size_t matrix_load(enum matrix_set set, struct matrix_case *cases, size_t cap)
{
	static const char *const names[] = {"rules-sim", "engine-sim", "offline", "limit", "live"};
	size_t len, n = 0;
	char *text = matrix_slurp("tests/scenarios/matrix", &len), *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct matrix_case c = {0};
		char faults[200], sets[200], script[32], *f, *fs = NULL;

		if (line[0] == '#' || !line[0])
			continue;
		matrix_field(line, 0, c.label, sizeof(c.label));
		matrix_field(line, 1, faults, sizeof(faults));
		matrix_field(line, 2, c.expect, sizeof(c.expect));
		matrix_field(line, 3, c.verdict, sizeof(c.verdict));
		matrix_field(line, 4, c.also, sizeof(c.also));
		matrix_field(line, 5, script, sizeof(script));
		matrix_field(line, 6, sets, sizeof(sets));
		if (!strcmp(c.also, "-"))
			c.also[0] = '\0';
		c.moving = !strcmp(script, "moving");
		for (f = strtok_r(faults, ",", &fs); f && c.n_faults < 2; f = strtok_r(NULL, ",", &fs))
			snprintf(c.faults[c.n_faults++], sizeof(c.faults[0]), "%s", f);
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strstr(sets, names[k]))
				c.sets |= 1u << k;
		if (!(c.sets & set))
			continue;
		if (n == cap)
			fail_msg("matrix: more than %zu cases", cap);
		cases[n++] = c;
	}
	free(text);
	return n;
}

/* ---- the guided test on the simulated car ---- */

struct drive_bench {
	struct dbc *db;
	struct profile *profile;
	struct rules_set *set;
};

static void drive_bench_load(struct drive_bench *b)
{
	struct dbc_error derr;
	struct profile_error perr;
	struct rules_error rerr;
	size_t len;
	char *src = matrix_slurp("dbc/bodydiag-sim.dbc", &len);

	assert_int_equal(dbc_parse(src, len, "bodydiag-sim.dbc", NULL, NULL, &derr, &b->db), 0);
	free(src);
	src = matrix_slurp("profiles/sim-2026.profile", &len);
	assert_int_equal(profile_parse(src, len, "sim-2026.profile", &b->profile, &perr), 0);
	free(src);
	src = matrix_slurp("rules/trunk.rules", &len);
	if (rules_parse(src, len, "trunk.rules", &rerr, &b->set) < 0)
		fail_msg("trunk.rules:%u:%u: %s", rerr.line, rerr.column, rerr.message);
	free(src);
}

static void drive_bench_free(struct drive_bench *b)
{
	rules_set_free(b->set);
	profile_free(b->profile);
	dbc_free(b->db);
}

struct drive;
/* One UDS request of the guided test, put to the engine (d->now is the time). */
typedef void (*drive_read_fn)(struct drive *d, const uint8_t *req, size_t len);

struct drive {
	struct sim_model *m;
	struct sim_broadcast *bc;
	struct sim_runner *runner;
	struct sim_uds *uds;
	struct engine *e;
	int64_t now;
	int64_t mark_delay; /* the mark is recorded this long after the action */
	drive_read_fn read;
	void *userdata;
};

static void drive_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct drive *d = userdata;

	assert_int_equal(engine_feed_frame(d->e, f), 0);
}

/* Runs the car until `until`, every broadcast frame into the engine. */
static void drive_run_until(struct drive *d, int64_t until)
{
	assert_int_equal(sim_runner_run_until(d->runner, until), 0);
	if (until > d->now)
		d->now = until;
	engine_advance(d->e, d->now);
}

/* What the guided test reads after each action: the DTCs, then the DIDs the rules want. */
static void drive_read_bcm(struct drive *d)
{
	uint8_t req[64];
	size_t len, n = engine_did_count(d->e);

	assert_int_equal(uds_build_rdtci_status_mask(UDS_RDTCI_DTC_BY_STATUS_MASK, 0xff, req,
						     sizeof(req), &len),
			 0);
	d->read(d, req, len);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i += 8) {
		uint16_t dids[8];
		size_t k = 0;
		for (; k < 8 && i + k < n; k++)
			dids[k] = profile_did_id(engine_did_at(d->e, i + k));
		assert_int_equal(uds_build_read_did(dids, k, req, sizeof(req), &len), 0);
		d->read(d, req, len);
	}
}

static void drive_action(struct drive *d, const char *mark)
{
	if (!d->mark_delay)
		assert_int_equal(engine_mark(d->e, d->now, mark, strlen(mark)), 0);
	if (!strcmp(mark, "fob_trunk_pressed"))
		assert_int_equal(sim_model_press(d->m, SIM_BUTTON_FOB_TRUNK, 0, 0, 0), 0);
	else if (!strcmp(mark, "interior_pressed"))
		assert_int_equal(sim_model_press(d->m, SIM_BUTTON_INTERIOR, 0, 0, 0), 0);
	else if (!strcmp(mark, "key_blade_turned"))
		assert_int_equal(sim_model_key_blade(d->m), 0);
	else
		fail_msg("unknown action %s", mark);
	if (d->mark_delay) {
		/* a person confirming "done", or a side file: the mark comes late */
		drive_run_until(d, d->now + d->mark_delay);
		assert_int_equal(engine_mark(d->e, d->now, mark, strlen(mark)), 0);
	}
	drive_run_until(d, d->now + 2500 * MS);
	drive_read_bcm(d);
	drive_run_until(d, d->now + 500 * MS);
}

static void drive_inject(struct sim_model *m, const char *fault)
{
	char line[160];
	struct sim_command cmd;
	struct sim_parse_error err;

	snprintf(line, sizeof(line), "fault add %s", fault);
	if (sim_command_parse(line, strlen(line), &cmd, &err) < 0)
		fail_msg("%s: %s", line, err.message);
	assert_int_equal(sim_command_apply(&cmd, m), 0);
}

/*
 * One guided diagnosis of case c with seed; top gets "<first finding> (<verdict>)" and
 * trail the actions asked. Returns true when the first finding and the verdict are the
 * case's.
 */
static inline bool drive_diagnose(const struct drive_bench *b, const struct matrix_case *c, uint64_t seed,
			   struct drive *d, char *trail, size_t trail_size, char *top,
			   size_t top_size)
{
	static const struct sim_runner_ops ops = {.frame = drive_frame};
	struct sim_model_config mcfg;
	struct engine_config ecfg;
	struct rules_error err;
	struct rules_question q;
	const struct rules_finding *f;
	int k, asked = 0;
	bool good;

	sim_model_config_init(&mcfg);
	mcfg.seed = seed;
	assert_int_equal(sim_model_new(&mcfg, &d->m), 0);
	struct sim_broadcast_config bcfg = {.seed = seed * 31, .jitter_us = 20 * MS, .noise_per_s = 100};
	assert_int_equal(sim_broadcast_new(b->db, &bcfg, &d->bc), 0);
	assert_int_equal(sim_uds_new(d->m, NULL, &d->uds), 0);
	assert_int_equal(sim_runner_new(&(struct sim_runner_config){.model = d->m, .broadcast = d->bc},
					&ops, d, &d->runner),
			 0);
	engine_config_init(&ecfg);
	ecfg.rules = b->set;
	ecfg.dbc = b->db;
	ecfg.profile = b->profile;
	assert_int_equal(engine_new(&ecfg, &err, &d->e), 0);

	/* the car wakes up; the fault is there before anyone touches it */
	for (size_t i = 0; i < c->n_faults; i++)
		drive_inject(d->m, c->faults[i]);
	drive_run_until(d, 2 * S);
	drive_read_bcm(d);
	drive_run_until(d, d->now + 100 * MS);
	engine_reset(d->e, d->now);

	/* The guided test always starts with the fob: that is the complaint. */
	drive_action(d, "fob_trunk_pressed");
	snprintf(trail, trail_size, "fob_trunk_pressed");
	while ((k = engine_next_question(d->e, &q)) != -ENOENT) {
		if (k == -EAGAIN) {
			drive_run_until(d, engine_next_deadline(d->e));
			continue;
		}
		assert_int_equal(k, 0);
		assert_true(++asked <= 3);
		size_t l = strlen(trail);
		snprintf(trail + l, trail_size - l, " %s", q.mark);
		drive_action(d, q.mark);
	}
	engine_evaluate(d->e);
	f = engine_finding_at(d->e, 0);
	snprintf(top, top_size, "%s (%s)", f ? f->id : "-", rules_verdict_name(engine_verdict(d->e)));
	good = f && !strcmp(f->id, c->expect) &&
	       !strcmp(rules_verdict_name(engine_verdict(d->e)), c->verdict);
	return good;
}

static inline void drive_free(struct drive *d)
{
	engine_free(d->e);
	sim_runner_free(d->runner);
	sim_uds_free(d->uds);
	sim_broadcast_free(d->bc);
	sim_model_free(d->m);
}
