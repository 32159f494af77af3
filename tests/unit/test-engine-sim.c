/* SPDX-License-Identifier: MIT */
/*
 * lib/engine as the daemon uses it, against the simulator's own model: the car's
 * broadcast (with jitter and unknown-id noise) and the guided test's UDS traffic (0x19 02
 * DTC reads and 0x22 reads of the DIDs the rules want, engine_did_at()) go through the
 * engine only as CAN frames on the bus: ISO-TP segmentation by lib/isotp on both sides
 * (tester and BCM, flow control, padding 0xAA), the simulator's UDS server answering.
 * So the engine's observer, its 0x59/0x62 decoding with the profile and the rules see
 * exactly what a capture of a guided test holds. bcm_fault mode=no_request, which a
 * broadcast-only capture cannot tell from fob_unprogrammed, must be found here.
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
#include "bodydiag/engine.h"
#include "bodydiag/isotp.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "bodydiag/uds.h"
#include "broadcast.h"
#include "faults.h"
#include "model.h"
#include "uds_server.h"

#define MS 1000LL
#define S 1000000LL
#define SEEDS 4u
#define MAX_QUEUE 512u

static char *slurp(const char *rel, size_t *ret_len)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	FILE *fp = fopen(path, "rbe");
	if (!fp)
		fail_msg("cannot open %s (set BODYDIAG_SOURCE_ROOT)", path);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	*ret_len = fread(buf, 1, cap, fp);
	fclose(fp);
	return buf;
}

struct bench {
	struct dbc *db;
	struct profile *profile;
	struct rules_set *set;
};

/* One side of the diagnostic link; its frames go onto the bus queue. */
struct side {
	struct run *r;
	struct isotp *tp;
	bool is_bcm;
};

struct run {
	struct sim_model *m;
	struct sim_broadcast *bc;
	struct sim_uds *uds;
	struct engine *e;
	int64_t now, next_frame;
	struct side tester, bcm;
	struct {
		struct bd_frame f;
		bool to_bcm;
	} q[MAX_QUEUE];
	size_t qn;
	bool answered;
};

static void feed(struct run *r, int64_t t, const struct bd_frame *f)
{
	struct bd_timed_frame tf = {.t_us = t, .frame = *f};
	assert_int_equal(engine_feed_frame(r->e, &tf), 0);
}

static int send_frame(void *userdata, const struct bd_frame *f)
{
	struct side *s = userdata;
	struct run *r = s->r;
	assert_true(r->qn < MAX_QUEUE);
	r->q[r->qn].f = *f;
	r->q[r->qn].to_bcm = !s->is_bcm;
	r->qn++;
	return 0;
}

static void received(void *userdata, enum isotp_n_result res, const uint8_t *pdu, size_t len)
{
	struct side *s = userdata;
	struct run *r = s->r;
	assert_int_equal(res, ISOTP_N_OK);
	if (!s->is_bcm) {
		r->answered = true;
		return;
	}
	uint8_t resp[4096];
	size_t n = 0;
	assert_int_equal(sim_uds_request(r->uds, r->now, false, pdu, len, resp, sizeof(resp), &n), 0);
	if (n)
		assert_int_equal(isotp_send(r->bcm.tp, resp, n, r->now), 0);
	else
		r->answered = true;
}

/* One request on the bus, until its answer: every frame is what a capture records. */
static void exchange(struct run *r, const uint8_t *req, size_t len)
{
	r->answered = false;
	assert_int_equal(isotp_send(r->tester.tp, req, len, r->now), 0);
	for (int guard = 0; !r->answered; guard++) {
		assert_true(guard < 10000);
		if (r->qn) {
			struct bd_frame f = r->q[0].f;
			bool to_bcm = r->q[0].to_bcm;
			memmove(r->q, r->q + 1, (r->qn - 1) * sizeof(r->q[0]));
			r->qn--;
			r->now += 200; /* a frame at 500 kbit/s, plus the other side's turn */
			feed(r, r->now, &f);
			isotp_on_frame(to_bcm ? r->bcm.tp : r->tester.tp, &f, r->now);
			continue;
		}
		r->now += 100;
		isotp_poll(r->tester.tp, r->now);
		isotp_poll(r->bcm.tp, r->now);
	}
}

static void run_until(struct run *r, int64_t until)
{
	struct bd_timed_frame frames[SIM_BROADCAST_MAX_BURST];
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
		for (int k = 0; k < n; k++)
			feed(r, frames[k].t_us, &frames[k].frame);
	}
	engine_advance(r->e, r->now);
}

/* What the guided test reads after each action: the DTCs, then the DIDs the rules want. */
static void read_bcm(struct run *r)
{
	uint8_t req[64];
	size_t len;
	assert_int_equal(uds_build_rdtci_status_mask(UDS_RDTCI_DTC_BY_STATUS_MASK, 0xff, req,
						     sizeof(req), &len),
			 0);
	exchange(r, req, len);
	size_t n = engine_did_count(r->e);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i += 8) {
		uint16_t dids[8];
		size_t k = 0;
		for (; k < 8 && i + k < n; k++)
			dids[k] = profile_did_id(engine_did_at(r->e, i + k));
		assert_int_equal(uds_build_read_did(dids, k, req, sizeof(req), &len), 0);
		exchange(r, req, len);
	}
}

static void do_action(struct run *r, const char *mark)
{
	assert_int_equal(engine_mark(r->e, r->now, mark, strlen(mark)), 0);
	if (!strcmp(mark, "fob_trunk_pressed"))
		assert_int_equal(sim_model_press(r->m, SIM_BUTTON_FOB_TRUNK, 0, 0, 0), 0);
	else if (!strcmp(mark, "interior_pressed"))
		assert_int_equal(sim_model_press(r->m, SIM_BUTTON_INTERIOR, 0, 0, 0), 0);
	else if (!strcmp(mark, "key_blade_turned"))
		assert_int_equal(sim_model_key_blade(r->m), 0);
	else
		fail_msg("unknown action %s", mark);
	run_until(r, r->now + 2500 * MS);
	read_bcm(r);
	run_until(r, r->now + 500 * MS);
}

struct case_ {
	const char *label, *fault, *opt; /* fault NULL: healthy */
	const char *expect;
	enum rules_verdict verdict;
};

static void inject(struct sim_model *m, const struct case_ *c)
{
	enum sim_fault f;
	struct sim_fault_opts o;
	const char *why;
	if (!c->fault)
		return;
	assert_int_equal(sim_fault_from_name(c->fault, strlen(c->fault), &f), 0);
	sim_fault_opts_init(&o, f);
	if (c->opt) {
		const char *eq = strchr(c->opt, '=');
		assert_int_equal(sim_fault_opts_set(&o, f, c->opt, (size_t)(eq - c->opt), eq + 1,
						    strlen(eq + 1), &why),
				 0);
	}
	assert_int_equal(sim_model_fault_add(m, f, &o), 0);
}

static bool diagnose(const struct bench *b, const struct case_ *c, uint64_t seed, char *top,
		     size_t top_size)
{
	static const struct isotp_ops ops = {.send_frame = send_frame, .received = received};
	struct run r = {0};
	struct sim_model_config mcfg;
	struct rules_error err;
	struct engine_config ecfg;
	struct isotp_config tc;

	sim_model_config_init(&mcfg);
	mcfg.seed = seed;
	assert_int_equal(sim_model_new(&mcfg, &r.m), 0);
	struct sim_broadcast_config bcfg = {.seed = seed * 31, .jitter_us = 20 * MS, .noise_per_s = 100};
	assert_int_equal(sim_broadcast_new(b->db, &bcfg, &r.bc), 0);
	assert_int_equal(sim_uds_new(r.m, NULL, &r.uds), 0);
	engine_config_init(&ecfg);
	ecfg.rules = b->set;
	ecfg.dbc = b->db;
	ecfg.profile = b->profile;
	assert_int_equal(engine_new(&ecfg, &err, &r.e), 0);
	r.tester = (struct side){.r = &r, .is_bcm = false};
	r.bcm = (struct side){.r = &r, .is_bcm = true};
	isotp_config_init(&tc, 0x726, 0x72e);
	tc.tx_pad = 0xaa;
	assert_int_equal(isotp_new(&tc, &ops, &r.tester, &r.tester.tp), 0);
	isotp_config_init(&tc, 0x72e, 0x726);
	tc.tx_pad = 0xaa;
	assert_int_equal(isotp_new(&tc, &ops, &r.bcm, &r.bcm.tp), 0);

	inject(r.m, c);
	run_until(&r, 2 * S);
	read_bcm(&r);
	run_until(&r, r.now + 100 * MS);
	engine_reset(r.e, r.now);

	struct rules_question q;
	int k, asked = 0;
	do_action(&r, "fob_trunk_pressed");
	while ((k = engine_next_question(r.e, &q)) != -ENOENT) {
		if (k == -EAGAIN) {
			run_until(&r, engine_next_deadline(r.e));
			continue;
		}
		assert_int_equal(k, 0);
		assert_true(++asked <= 3);
		do_action(&r, q.mark);
	}
	engine_evaluate(r.e);
	const struct rules_finding *f = engine_finding_at(r.e, 0);
	struct engine_stats st;
	engine_stats(r.e, &st);
	snprintf(top, top_size, "%s (%s), %llu PDUs, %llu DTC events", f ? f->id : "-",
		 rules_verdict_name(engine_verdict(r.e)), (unsigned long long)st.pdus,
		 (unsigned long long)st.dtc_events);
	bool good = f && !strcmp(f->id, c->expect) && engine_verdict(r.e) == c->verdict &&
		    st.pdus > 0 && st.isotp_errors == 0;
	isotp_free(r.tester.tp);
	isotp_free(r.bcm.tp);
	engine_free(r.e);
	sim_uds_free(r.uds);
	sim_broadcast_free(r.bc);
	sim_model_free(r.m);
	return good;
}

static const struct case_ cases[] = {
    {"healthy", NULL, NULL, "release_chain_ok", RULES_VERDICT_NO_FAULT},
    {"bcm_fault mode=no_request", "bcm_fault", "mode=no_request", "bcm_fault", RULES_VERDICT_FAULT},
    {"fob_unprogrammed", "fob_unprogrammed", NULL, "fob_unprogrammed", RULES_VERDICT_FAULT},
    {"hinge_wiring_short", "hinge_wiring_short", NULL, "hinge_wiring_short", RULES_VERDICT_FAULT},
    {"hinge_wiring_intermittent", "hinge_wiring_intermittent", NULL, "hinge_wiring_intermittent",
     RULES_VERDICT_FAULT},
    {"fob_battery_weak", "fob_battery_weak", NULL, "fob_battery_weak", RULES_VERDICT_FAULT},
    {"bcm_fault", "bcm_fault", NULL, "bcm_fault", RULES_VERDICT_FAULT},
    {"actuator_worn", "actuator_worn", NULL, "actuator_worn", RULES_VERDICT_FAULT},
    {"fuse_blown", "fuse_blown", NULL, "fuse_blown", RULES_VERDICT_FAULT},
    {"hinge_wiring_open", "hinge_wiring_open", NULL, "hinge_wiring_open", RULES_VERDICT_FAULT},
    {"hinge_wiring_short blow_fuse=1", "hinge_wiring_short", "blow_fuse=1", "hinge_wiring_short",
     RULES_VERDICT_FAULT},
    {"latch_jammed", "latch_jammed", NULL, "latch_jammed", RULES_VERDICT_FAULT},
    {"aftermarket_alarm", "aftermarket_alarm", NULL, "aftermarket_alarm", RULES_VERDICT_FAULT},
    {"aftermarket_alarm mode=splice", "aftermarket_alarm", "mode=splice", "aftermarket_alarm",
     RULES_VERDICT_FAULT},
};

static void guided_over_the_bus(void **state)
{
	struct bench b = {0};
	struct dbc_error derr;
	struct profile_error perr;
	struct rules_error rerr;
	size_t len;
	char *src = slurp("dbc/bodydiag-sim.dbc", &len);
	assert_int_equal(dbc_parse(src, len, "bodydiag-sim.dbc", NULL, NULL, &derr, &b.db), 0);
	free(src);
	src = slurp("profiles/sim-2026.profile", &len);
	assert_int_equal(profile_parse(src, len, "sim-2026.profile", &b.profile, &perr), 0);
	free(src);
	src = slurp("rules/trunk.rules", &len);
	if (rules_parse(src, len, "trunk.rules", &rerr, &b.set) < 0)
		fail_msg("trunk.rules:%u:%u: %s", rerr.line, rerr.column, rerr.message);
	free(src);

	unsigned ok = 0, total = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned good = 0;
		char top[160], miss[200] = "";
		for (uint64_t seed = 1; seed <= SEEDS; seed++) {
			if (diagnose(&b, &cases[i], seed, top, sizeof(top)))
				good++;
			else if (!miss[0])
				snprintf(miss, sizeof(miss), "  seed %llu: %s", (unsigned long long)seed,
					 top);
		}
		print_message("  %-32s %u/%u  [%s]%s\n", cases[i].label, good, SEEDS, top, miss);
		ok += good;
		total += SEEDS;
	}
	print_message("engine over the bus, with UDS reads: %u/%u correct\n", ok, total);
	rules_set_free(b.set);
	profile_free(b.profile);
	dbc_free(b.db);
	assert_int_equal(ok, total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(guided_over_the_bus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
