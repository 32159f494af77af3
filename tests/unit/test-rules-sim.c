/* SPDX-License-Identifier: MIT */
/*
 * rules/trunk.rules against the simulator's own model, end to end but without a bus:
 * tools/bodydiag-sim's model (faults injected as the simulator does) -> its DBC broadcast
 * scheduler (cyclic jitter, random unknown-id frames) -> DBC decode -> timeline -> rules,
 * with the guided test's loop (next question -> press -> watch -> DTC and DID reads).
 * For every fault the simulator offers, a few variants, healthy and two faults at once,
 * over several seeds, the top finding must be the injected fault.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/dbc.h"
#include "bodydiag/rules.h"
#include "bodydiag/timeline.h"
#include "broadcast.h"
#include "faults.h"
#include "model.h"

#define MS 1000LL
#define S 1000000LL
#define SEEDS 12u

static char *slurp(const char *rel, size_t *ret_len)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	FILE *fp = fopen(path, "rbe");
	if (!fp)
		fail_msg("cannot open %s (set BODYDIAG_SOURCE_ROOT)", path);
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	*ret_len = n;
	return buf;
}

struct bench {
	struct dbc *db;
	struct rules_set *set;
};

struct run {
	const struct bench *b;
	struct sim_model *m;
	struct sim_broadcast *bc;
	struct timeline_symbols *syms;
	struct timeline *tl;
	struct rules_engine *e;
	uint32_t bcm;
	int64_t now, next_frame;
	int64_t mark_delay; /* the mark is recorded this long after the action */
};

static void push(struct run *r, const struct timeline_event *ev)
{
	const struct timeline_event *st;
	int k = timeline_push(r->tl, ev, &st);
	assert_true(k >= 0);
	if (k == 1)
		assert_int_equal(rules_feed(r->e, st), 0);
}

static void sample(struct run *r, int64_t t, const char *name, double v)
{
	uint32_t i;
	if (timeline_symbols_lookup(r->syms, TIMELINE_SYMBOL_SIGNAL, name, strlen(name), &i) < 0)
		return;
	struct timeline_event ev = timeline_event_signal(t, i, v);
	push(r, &ev);
}

/* Runs the car until `until`, decoding every frame it broadcasts. */
static void run_until(struct run *r, int64_t until)
{
	struct bd_timed_frame frames[SIM_BROADCAST_MAX_BURST];
	struct dbc_sample samples[64];
	struct sim_event sev;
	while (r->now < until) {
		int64_t step = r->next_frame < until ? r->next_frame : until;
		if (step <= r->now)
			step = r->now + SIM_MODEL_TICK_US;
		assert_int_equal(sim_model_step(r->m, step), 0);
		r->now = step;
		while (sim_model_pop_event(r->m, &sev) > 0)
			;
		if (r->now < r->next_frame)
			continue;
		int64_t next;
		int n = sim_broadcast_poll(r->bc, sim_model_signals(r->m), r->now, frames,
					   SIM_BROADCAST_MAX_BURST, &next);
		assert_true(n >= 0);
		r->next_frame = next;
		for (int k = 0; k < n; k++) {
			const struct bd_frame *fr = &frames[k].frame;
			const struct dbc_message *msg =
			    dbc_find_message(r->b->db, fr->id, (fr->flags & BD_FRAME_EXT) != 0);
			if (!msg) {
				struct timeline_event ev = timeline_event_transport(
				    frames[k].t_us, TIMELINE_TRANSPORT_UNKNOWN_ID, fr->id, 0, 0);
				push(r, &ev);
				continue;
			}
			int ns = dbc_decode(msg, fr->data, fr->len, samples, 64, NULL);
			assert_true(ns >= 0);
			for (int j = 0; j < ns; j++) {
				uint32_t idx;
				const char *name = dbc_signal_name(samples[j].signal);
				if (timeline_symbols_lookup(r->syms, TIMELINE_SYMBOL_SIGNAL, name,
							    strlen(name), &idx) < 0)
					continue;
				struct timeline_event ev = timeline_event_signal(
				    frames[k].t_us, idx, dbc_value_as_double(samples[j].value));
				push(r, &ev);
			}
		}
	}
	rules_advance(r->e, r->now);
}

/* What the guided test reads over UDS after each action: the DTCs and the DIDs. */
static void read_bcm(struct run *r)
{
	const struct sim_signals *s = sim_model_signals(r->m);
	for (int id = 0; id < _SIM_DTC_MAX; id++) {
		const struct sim_dtc *d = sim_model_dtc(r->m, (enum sim_dtc_id)id);
		struct timeline_event ev = timeline_event_dtc(r->now, r->bcm, d->code, d->status);
		push(r, &ev);
	}
	static const char *const en[4] = {"Fob1TrunkEnabled", "Fob2TrunkEnabled",
					  "Fob3TrunkEnabled", "Fob4TrunkEnabled"};
	for (unsigned i = 0; i < 4; i++)
		sample(r, r->now, en[i], (s->fob_trunk_enabled_mask >> i) & 1);
	sample(r, r->now, "RkeLastFobUsed", s->last_fob);
	sample(r, r->now, "TrunkOutputLockoutTimer", s->lockout_remaining_ms / 1000.0);
	sample(r, r->now, "TrunkOutputCircuitStatus", s->output_status);
}

static void do_action(struct run *r, const char *mark)
{
	uint32_t i;
	assert_int_equal(
	    timeline_symbols_intern(r->syms, TIMELINE_SYMBOL_MARK, mark, strlen(mark), &i), 0);
	struct timeline_event ev = timeline_event_mark(r->now, i);
	if (!r->mark_delay)
		push(r, &ev);
	if (!strcmp(mark, "fob_trunk_pressed"))
		assert_int_equal(sim_model_press(r->m, SIM_BUTTON_FOB_TRUNK, 0, 0, 0), 0);
	else if (!strcmp(mark, "interior_pressed"))
		assert_int_equal(sim_model_press(r->m, SIM_BUTTON_INTERIOR, 0, 0, 0), 0);
	else if (!strcmp(mark, "key_blade_turned"))
		assert_int_equal(sim_model_key_blade(r->m), 0);
	else
		fail_msg("unknown action %s", mark);
	if (r->mark_delay) {
		/* a person confirming "done", or a side file: the mark comes late */
		run_until(r, r->now + r->mark_delay);
		ev.t_us = r->now;
		push(r, &ev);
	}
	run_until(r, r->now + 2500 * MS);
	read_bcm(r);
	run_until(r, r->now + 500 * MS);
}

struct injected {
	const char *name; /* fault name, or "healthy" */
	const char *opts; /* "key=value" or NULL */
};

struct case_ {
	const char *label;
	struct injected faults[2];
	const char *expect; /* top finding */
	enum rules_verdict verdict;
};

static void inject(struct sim_model *m, const struct injected *in)
{
	enum sim_fault f;
	struct sim_fault_opts o;
	const char *why;
	if (!in->name || !strcmp(in->name, "healthy"))
		return;
	assert_int_equal(sim_fault_from_name(in->name, strlen(in->name), &f), 0);
	sim_fault_opts_init(&o, f);
	if (in->opts) {
		const char *eq = strchr(in->opts, '=');
		assert_non_null(eq);
		assert_int_equal(sim_fault_opts_set(&o, f, in->opts, (size_t)(eq - in->opts),
						    eq + 1, strlen(eq + 1), &why),
				 0);
	}
	assert_int_equal(sim_model_fault_add(m, f, &o), 0);
}

/* One guided diagnosis; returns true when the top finding is the expected one. */
static bool diagnose(const struct bench *b, const struct case_ *c, uint64_t seed,
		     int64_t mark_delay, char *trail, size_t trail_size, char *top, size_t top_size)
{
	struct run r = {.b = b, .mark_delay = mark_delay};
	struct sim_model_config cfg;
	struct rules_error err;
	sim_model_config_init(&cfg);
	cfg.seed = seed;
	assert_int_equal(sim_model_new(&cfg, &r.m), 0);
	struct sim_broadcast_config bcfg = {
	    .seed = seed * 31, .jitter_us = 20 * MS, .noise_per_s = 100};
	assert_int_equal(sim_broadcast_new(b->db, &bcfg, &r.bc), 0);
	r.syms = timeline_symbols_new();
	r.tl = timeline_new(1 << 16);
	/* the decoder's names first, as the daemon interns them at load */
	for (size_t i = 0; i < dbc_message_count(b->db); i++) {
		const struct dbc_message *msg = dbc_message_at(b->db, i);
		for (size_t j = 0; j < dbc_message_signal_count(msg); j++) {
			const char *n = dbc_signal_name(dbc_message_signal_at(msg, j));
			uint32_t idx;
			assert_int_equal(timeline_symbols_intern(r.syms, TIMELINE_SYMBOL_SIGNAL, n,
								 strlen(n), &idx),
					 0);
		}
	}
	assert_int_equal(timeline_symbols_intern(r.syms, TIMELINE_SYMBOL_MODULE, "bcm", 3, &r.bcm),
			 0);
	const char *mods[] = {"bcm"};
	struct rules_vehicle v = {
	    .make = "bodydiag", .platform = "sim-2026", .modules = mods, .n_modules = 1};
	assert_int_equal(rules_engine_new(b->set, r.syms, &v, &err, &r.e), 0);

	/* the car wakes up; the fault is there before anyone touches it */
	for (int k = 0; k < 2; k++)
		inject(r.m, &c->faults[k]);
	run_until(&r, 2 * S);
	read_bcm(&r);
	run_until(&r, r.now + 100 * MS);
	rules_reset(r.e, r.now);

	struct rules_question q;
	int k, asked = 0;
	trail[0] = '\0';
	/* The guided test always starts with the fob: that is the complaint. */
	do_action(&r, "fob_trunk_pressed");
	snprintf(trail, trail_size, "fob_trunk_pressed");
	while ((k = rules_next_question(r.e, &q)) != -ENOENT) {
		if (k == -EAGAIN) {
			run_until(&r, rules_next_deadline(r.e));
			continue;
		}
		assert_int_equal(k, 0);
		assert_true(++asked <= 3);
		size_t l = strlen(trail);
		snprintf(trail + l, trail_size - l, " %s", q.mark);
		do_action(&r, q.mark);
	}
	rules_evaluate(r.e);
	const struct rules_finding *f = rules_finding_at(r.e, 0);
	snprintf(top, top_size, "%s (%s)", f ? f->id : "-", rules_verdict_name(rules_verdict(r.e)));
	bool good = f && !strcmp(f->id, c->expect) && rules_verdict(r.e) == c->verdict;
	if (!good && getenv("BODYDIAG_RULES_VERBOSE")) {
		char buf[512];
		for (size_t i = 0; i < rules_finding_count(r.e); i++) {
			const struct rules_finding *x = rules_finding_at(r.e, i);
			print_message("    %zu. %s [%s] %.2f%s%s\n", i + 1, x->id,
				      rules_state_name(x->state), x->score, x->by ? " by " : "",
				      x->by ? x->by : "");
			for (size_t j = 0; j < x->n_evidence; j++) {
				rules_evidence_format(r.e, &x->evidence[j], buf, sizeof(buf));
				print_message("         %s\n", buf);
			}
		}
	}
	rules_engine_free(r.e);
	timeline_free(r.tl);
	timeline_symbols_free(r.syms);
	sim_broadcast_free(r.bc);
	sim_model_free(r.m);
	return good;
}

static const struct case_ cases[] = {
    {"healthy", {{"healthy", NULL}}, "release_chain_ok", RULES_VERDICT_NO_FAULT},
    {"fob_battery_weak", {{"fob_battery_weak", NULL}}, "fob_battery_weak", RULES_VERDICT_FAULT},
    {"fob_unprogrammed", {{"fob_unprogrammed", NULL}}, "fob_unprogrammed", RULES_VERDICT_FAULT},
    {"fuse_blown", {{"fuse_blown", NULL}}, "fuse_blown", RULES_VERDICT_FAULT},
    {"hinge_wiring_open", {{"hinge_wiring_open", NULL}}, "hinge_wiring_open", RULES_VERDICT_FAULT},
    {"hinge_wiring_intermittent",
     {{"hinge_wiring_intermittent", NULL}},
     "hinge_wiring_intermittent",
     RULES_VERDICT_FAULT},
    {"hinge_wiring_short",
     {{"hinge_wiring_short", NULL}},
     "hinge_wiring_short",
     RULES_VERDICT_FAULT},
    {"hinge_wiring_short blow_fuse=1",
     {{"hinge_wiring_short", "blow_fuse=1"}},
     "hinge_wiring_short",
     RULES_VERDICT_FAULT},
    {"actuator_worn", {{"actuator_worn", NULL}}, "actuator_worn", RULES_VERDICT_FAULT},
    {"latch_jammed", {{"latch_jammed", NULL}}, "latch_jammed", RULES_VERDICT_FAULT},
    {"bcm_fault", {{"bcm_fault", NULL}}, "bcm_fault", RULES_VERDICT_FAULT},
    {"bcm_fault mode=no_request",
     {{"bcm_fault", "mode=no_request"}},
     "bcm_fault",
     RULES_VERDICT_FAULT},
    {"aftermarket_alarm", {{"aftermarket_alarm", NULL}}, "aftermarket_alarm", RULES_VERDICT_FAULT},
    {"aftermarket_alarm mode=splice",
     {{"aftermarket_alarm", "mode=splice"}},
     "aftermarket_alarm",
     RULES_VERDICT_FAULT},
    {"fob_battery_weak + fuse_blown",
     {{"fob_battery_weak", NULL}, {"fuse_blown", NULL}},
     "fuse_blown",
     RULES_VERDICT_FAULT},
    {"fob_unprogrammed + latch_jammed",
     {{"fob_unprogrammed", NULL}, {"latch_jammed", NULL}},
     "latch_jammed",
     RULES_VERDICT_FAULT},
};

static void simulator_matrix(void **state)
{
	struct bench b = {0};
	struct dbc_error derr;
	struct rules_error rerr;
	size_t len;
	char *src = slurp("dbc/bodydiag-sim.dbc", &len);
	assert_int_equal(dbc_parse(src, len, "bodydiag-sim.dbc", NULL, NULL, &derr, &b.db), 0);
	free(src);
	src = slurp("rules/trunk.rules", &len);
	if (rules_parse(src, len, "trunk.rules", &rerr, &b.set) < 0)
		fail_msg("trunk.rules:%u:%u: %s", rerr.line, rerr.column, rerr.message);
	free(src);

	unsigned ok = 0, total = 0;
	static const int64_t delays[] = {0, 150 * MS};
	for (size_t d = 0; d < sizeof(delays) / sizeof(delays[0]); d++) {
		print_message("marks %lld ms after the action:\n", (long long)(delays[d] / MS));
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			unsigned good = 0;
			char trail[256], top[128], first_miss[512] = "";
			for (uint64_t seed = 1; seed <= SEEDS; seed++) {
				if (diagnose(&b, &cases[i], seed, delays[d], trail, sizeof(trail),
					     top, sizeof(top)))
					good++;
				else if (!first_miss[0])
					snprintf(first_miss, sizeof(first_miss),
						 "  seed %llu: asked %s -> %s",
						 (unsigned long long)seed, trail, top);
			}
			print_message("  %-34s %u/%u%s\n", cases[i].label, good, SEEDS, first_miss);
			ok += good;
			total += SEEDS;
		}
	}
	print_message("simulator matrix: %u/%u correct\n", ok, total);
	rules_set_free(b.set);
	dbc_free(b.db);
	assert_int_equal(ok, total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(simulator_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
