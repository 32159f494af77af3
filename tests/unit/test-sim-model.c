/* SPDX-License-Identifier: MIT */
/*
 * The simulator's physical model against the table of ../shared/docs/trunk-domain.md:
 * for every fault (and healthy) a person presses the fob's trunk button, then the
 * interior button, then turns the key blade, and the test checks what each link of the
 * chain showed. Plus the DTC status byte life cycle, the inhibits and lockouts, and the
 * scenario/command parsers with every error message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>
#include <strings.h>

#include "bodydiag/dbc.h"
#include "config.h"
#include "faults.h"
#include "model.h"
#include "scenario.h"

#define MS 1000LL
#define S 1000000LL

/* What a person and a scan tool would have seen during one observation window. */
struct obs {
	bool tg_valid, tg_crc, tg_unknown, tg_lost;
	bool button_trunk;
	bool battery_low_flag;
	unsigned request_mask; /* bit per enum sim_release_source */
	bool cmd;
	unsigned cmd_ticks;
	unsigned cmd_zero_ticks; /* ticks commanded with zero current */
	unsigned nonzero_ticks;
	double max_current;
	double sum_current; /* while commanded, after 20 ms */
	unsigned n_current;
	bool opened;        /* ajar rose */
	unsigned inhibit_mask;
	double min_fuse_v;
	unsigned tf_rises[_SIM_DTC_MAX];
	bool key_moved, key_seen;
};

static struct sim_model *model_with(uint64_t seed, const struct sim_model_config *base)
{
	struct sim_model_config cfg;
	struct sim_model *m = NULL;

	if (base)
		cfg = *base;
	else
		sim_model_config_init(&cfg);
	cfg.seed = seed;
	assert_int_equal(sim_model_new(&cfg, &m), 0);
	assert_non_null(m);
	/* Let the power-up tests (off-state diagnosis, self-test) settle. */
	assert_int_equal(sim_model_step(m, 500 * MS), 0);
	return m;
}

static void drain(struct sim_model *m, struct obs *o)
{
	struct sim_event e;

	while (sim_model_pop_event(m, &e) > 0) {
		if (e.type == SIM_EVENT_TELEGRAM) {
			if (e.a == SIM_TELEGRAM_VALID)
				o->tg_valid = true;
			if (e.a == SIM_TELEGRAM_CRC_ERROR)
				o->tg_crc = true;
			if (e.a == SIM_TELEGRAM_UNKNOWN_FOB)
				o->tg_unknown = true;
			if (e.a == SIM_TELEGRAM_VALID && e.b == SIM_RKE_BUTTON_TRUNK)
				o->button_trunk = true;
		} else if (e.type == SIM_EVENT_TELEGRAM_LOST) {
			o->tg_lost = true;
		} else if (e.type == SIM_EVENT_DTC_STATUS) {
			if (!(e.b & SIM_DTC_TF) && (e.c & SIM_DTC_TF))
				o->tf_rises[e.a]++;
		} else if (e.type == SIM_EVENT_KEY_BLADE) {
			o->key_seen = true;
			o->key_moved = e.a;
		}
	}
}

/* Steps the model for dur_us one tick at a time, watching the signals as a bus would. */
static void watch(struct sim_model *m, int64_t dur_us, struct obs *o)
{
	int64_t end = sim_model_now(m) + dur_us;
	bool was_ajar = sim_model_signals(m)->ajar;
	int64_t cmd_since = -1;

	o->min_fuse_v = 99.0;
	drain(m, o);
	while (sim_model_now(m) < end) {
		const struct sim_signals *s;
		assert_int_equal(sim_model_step(m, sim_model_now(m) + SIM_MODEL_TICK_US), 0);
		s = sim_model_signals(m);
		if (s->rke_battery_low)
			o->battery_low_flag = true;
		if (s->release_request != SIM_RELEASE_NONE)
			o->request_mask |= 1u << s->release_request;
		if (s->inhibit != SIM_INHIBIT_NONE)
			o->inhibit_mask |= 1u << s->inhibit;
		if (s->actuator_current_a > o->max_current)
			o->max_current = s->actuator_current_a;
		if (s->actuator_current_a > 0.0)
			o->nonzero_ticks++;
		if (s->actuator_cmd) {
			if (cmd_since < 0)
				cmd_since = sim_model_now(m);
			o->cmd = true;
			o->cmd_ticks++;
			if (s->actuator_current_a == 0.0)
				o->cmd_zero_ticks++;
			if (sim_model_now(m) - cmd_since >= 20 * MS) {
				o->sum_current += s->actuator_current_a;
				o->n_current++;
			}
		} else {
			cmd_since = -1;
		}
		if (s->ajar && !was_ajar)
			o->opened = true;
		was_ajar = s->ajar;
		if (s->fuse_v < o->min_fuse_v)
			o->min_fuse_v = s->fuse_v;
		drain(m, o);
	}
}

static double mean_current(const struct obs *o)
{
	return o->n_current ? o->sum_current / o->n_current : 0.0;
}

static void close_lid(struct sim_model *m)
{
	struct obs o = {0};
	assert_int_equal(sim_model_close_lid(m), 0);
	watch(m, 1500 * MS, &o);
	assert_false(sim_model_signals(m)->ajar);
}

/* The guided test of trunk-domain.md: fob, then interior, then key blade. */
struct chain {
	struct obs fob, interior, key;
};

static void run_chain(struct sim_model *m, struct chain *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 0, 0.0, 0), 0);
	watch(m, 1500 * MS, &c->fob);
	if (sim_model_signals(m)->ajar)
		close_lid(m);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_INTERIOR, 0, 0.0, 0), 0);
	watch(m, 1500 * MS, &c->interior);
	if (sim_model_signals(m)->ajar)
		close_lid(m);
	assert_false(sim_model_signals(m)->ajar);
	assert_int_equal(sim_model_key_blade(m), 0);
	/* The key moves the latch at once: the lid is ajar before the watch begins. */
	c->key.opened = sim_model_signals(m)->ajar;
	watch(m, 500 * MS, &c->key);
	assert_true(c->key.key_seen);
	if (sim_model_signals(m)->ajar)
		close_lid(m);
}

static uint8_t dtc_status(const struct sim_model *m, enum sim_dtc_id id)
{
	return sim_model_dtc(m, id)->status;
}

static void assert_no_dtc_failed(const struct sim_model *m)
{
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
		if (dtc_status(m, (enum sim_dtc_id)i) & (SIM_DTC_TF | SIM_DTC_TFSLC)) {
			char code[9];
			sim_dtc_format(sim_model_dtc(m, (enum sim_dtc_id)i)->code, code);
			fail_msg("DTC %s failed: status 0x%02X", code, dtc_status(m, (enum sim_dtc_id)i));
		}
	}
}

static void add_fault(struct sim_model *m, enum sim_fault f, const struct sim_fault_opts *o)
{
	assert_int_equal(sim_model_fault_add(m, f, o), 0);
}

/* The actuator worked: request, command, inrush then plateau, latch released. */
static void assert_release_worked(const struct obs *o, enum sim_release_source src)
{
	assert_true(o->request_mask & (1u << src));
	assert_true(o->cmd);
	assert_true(o->max_current > 5.0);          /* inrush towards 7.75 A stall */
	assert_in_range((long)(mean_current(o) * 100), 200, 350); /* ~2.6 A plateau */
	assert_true(o->opened);
}

/* --- the table, one row per test ----------------------------------------------------- */
static void healthy(void **state)
{
	struct sim_model *m = model_with(1, NULL);
	struct chain c;

	run_chain(m, &c);
	assert_true(c.fob.tg_valid && c.fob.button_trunk);
	assert_false(c.fob.battery_low_flag);
	assert_release_worked(&c.fob, SIM_RELEASE_FOB);
	assert_release_worked(&c.interior, SIM_RELEASE_INTERIOR);
	assert_true(c.key.key_moved && c.key.opened);
	assert_true(c.fob.min_fuse_v > 11.5);
	assert_no_dtc_failed(m);
	/* Every output test ran and passed. */
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_OPEN), 0x00);
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_SHORT_GND), 0x00);
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_PERF), 0x00);
	assert_int_equal(sim_model_signals(m)->output_status, SIM_OUTPUT_STATUS_OK);
	assert_int_equal(sim_model_signals(m)->last_fob, 0);
	assert_int_equal(sim_model_signals(m)->fob_count, 2);
	sim_model_free(m);
}

static void fob_battery_weak(void **state)
{
	struct sim_model *m = model_with(2, NULL);
	struct chain c;
	unsigned far_opens = 0, near_opens = 0, far_any_carrier = 0;

	add_fault(m, SIM_FAULT_FOB_BATTERY_WEAK, NULL);
	run_chain(m, &c);
	/* At the default 3 m: weak or absent signal, nothing downstream. */
	assert_false(c.fob.request_mask);
	assert_false(c.fob.cmd);
	assert_true(c.fob.max_current == 0.0);
	assert_false(c.fob.opened);
	assert_release_worked(&c.interior, SIM_RELEASE_INTERIOR);
	assert_true(c.key.opened);

	/* Statistically, with a fixed seed: far presses (almost) never work ... */
	for (int i = 0; i < 10; i++) {
		struct obs o = {0};
		assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 0, 3.0, 0), 0);
		watch(m, 1200 * MS, &o);
		if (o.tg_crc || o.tg_valid)
			far_any_carrier++;
		if (o.opened) {
			far_opens++;
			close_lid(m);
		}
	}
	assert_true(far_opens <= 2);
	assert_true(far_any_carrier >= 1); /* "weak": some carrier, corrupt telegrams */
	/* ... and right next to the car they do, with the battery-low flag. */
	for (int i = 0; i < 5; i++) {
		struct obs o = {0};
		assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 0, 0.3, 0), 0);
		watch(m, 1200 * MS, &o);
		assert_true(o.tg_valid);
		assert_true(o.battery_low_flag);
		if (o.opened) {
			near_opens++;
			close_lid(m);
		}
	}
	assert_int_equal(near_opens, 5);
	/* GM B3109 style: after 3 low-battery telegrams from the same fob. */
	assert_true(dtc_status(m, SIM_DTC_FOB1_BATTERY) & SIM_DTC_TF);
	assert_true(dtc_status(m, SIM_DTC_FOB1_BATTERY) & SIM_DTC_CDTC);
	assert_true(sim_model_signals(m)->fob_battery_low_mask & 1);
	assert_false(dtc_status(m, SIM_DTC_FOB2_BATTERY) & SIM_DTC_TF);
	assert_false(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_TF);
	sim_model_free(m);
}

static void fob_battery_weak_dtc_needs_three(void **state)
{
	struct sim_model *m = model_with(3, NULL);

	add_fault(m, SIM_FAULT_FOB_BATTERY_WEAK, NULL);
	for (int i = 0; i < 3; i++) {
		struct obs o = {0};
		assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_LOCK, 0, 0.2, 0), 0);
		watch(m, 500 * MS, &o);
		assert_true(o.tg_valid);
		if (i < 2)
			assert_false(dtc_status(m, SIM_DTC_FOB1_BATTERY) & SIM_DTC_TF);
	}
	assert_true(dtc_status(m, SIM_DTC_FOB1_BATTERY) & SIM_DTC_TF);
	/* A new cell: the next telegram passes the test. */
	assert_int_equal(sim_model_fault_remove(m, SIM_FAULT_FOB_BATTERY_WEAK), 0);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_UNLOCK, 0, 0.2, 0), 0);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 500 * MS), 0);
	assert_false(dtc_status(m, SIM_DTC_FOB1_BATTERY) & SIM_DTC_TF);
	assert_true(dtc_status(m, SIM_DTC_FOB1_BATTERY) & SIM_DTC_CDTC);
	sim_model_free(m);
}

static void fob_unprogrammed(void **state)
{
	struct sim_model *m = model_with(4, NULL);
	struct chain c;
	struct obs o = {0};

	add_fault(m, SIM_FAULT_FOB_UNPROGRAMMED, NULL);
	run_chain(m, &c);
	assert_true(c.fob.tg_valid && c.fob.button_trunk); /* signal present */
	assert_false(c.fob.request_mask);                   /* trunk button ignored */
	assert_false(c.fob.cmd);
	assert_false(c.fob.opened);
	assert_release_worked(&c.interior, SIM_RELEASE_INTERIOR);
	assert_true(c.key.opened);
	assert_no_dtc_failed(m);
	assert_int_equal(sim_model_signals(m)->fob_trunk_enabled_mask, 0x2);
	assert_int_equal(sim_model_signals(m)->fob_programmed_mask, 0x3);
	/* Lock and unlock still work with the same fob. */
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_LOCK, 0, 0.0, 0), 0);
	watch(m, 500 * MS, &o);
	assert_int_equal(sim_model_signals(m)->lock_state, SIM_LOCK_LOCKED);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_UNLOCK, 0, 0.0, 0), 0);
	watch(m, 500 * MS, &o);
	assert_int_equal(sim_model_signals(m)->lock_state, SIM_LOCK_UNLOCKED);
	/* The second fob still has its trunk function. */
	close_lid(m);
	memset(&o, 0, sizeof(o));
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 1, 0.0, 0), 0);
	watch(m, 1500 * MS, &o);
	assert_true(o.opened);
	sim_model_free(m);
}

static void unknown_fob(void **state)
{
	struct sim_model *m = model_with(5, NULL);
	struct obs o = {0};

	/* Slot 3 is not programmed with the default two fobs. */
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 3, 1.0, 0), 0);
	watch(m, 1000 * MS, &o);
	assert_true(o.tg_unknown);
	assert_false(o.request_mask);
	assert_false(o.opened);
	sim_model_free(m);
}

static void fuse_blown(void **state)
{
	struct sim_model *m = model_with(6, NULL);
	struct chain c;

	add_fault(m, SIM_FAULT_FUSE_BLOWN, NULL);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	/* No supply: the off-state check cannot run; the last result (passed at power-up,
	 * before the fuse went) stands until the output is commanded. */
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_OPEN), 0x00);
	run_chain(m, &c);
	assert_true(c.fob.request_mask & (1u << SIM_RELEASE_FOB));
	assert_true(c.fob.cmd);
	assert_true(c.fob.max_current < 0.25);
	assert_false(c.fob.opened);
	assert_true(c.fob.min_fuse_v < 0.5);
	assert_true(c.interior.request_mask & (1u << SIM_RELEASE_INTERIOR));
	assert_true(c.interior.cmd);
	assert_false(c.interior.opened); /* fails too */
	assert_true(c.key.opened);
	/* "output circuit open (-13) possible": set by the on-state check. */
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_OPEN), 0x2F);
	assert_false(dtc_status(m, SIM_DTC_RELEASE_SHORT_GND) & SIM_DTC_TF);
	assert_int_equal(sim_model_signals(m)->output_status, SIM_OUTPUT_STATUS_OPEN);
	sim_model_free(m);
}

static void hinge_wiring_open(void **state)
{
	struct sim_model *m = model_with(7, NULL);
	struct chain c;

	add_fault(m, SIM_FAULT_HINGE_WIRING_OPEN, NULL);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 500 * MS), 0);
	/* The off-state open-load check finds it before anyone presses anything. */
	assert_true(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_TF);
	run_chain(m, &c);
	assert_true(c.fob.request_mask & (1u << SIM_RELEASE_FOB));
	assert_true(c.fob.cmd);
	assert_true(c.fob.max_current < 0.25);
	assert_false(c.fob.opened);
	assert_true(c.fob.min_fuse_v > 11.5); /* the fuse is fine */
	assert_true(c.interior.cmd);
	assert_false(c.interior.opened);
	assert_true(c.key.opened);
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_OPEN), 0x2F);
	sim_model_free(m);
}

static void hinge_wiring_intermittent(void **state)
{
	struct sim_model *m = model_with(8, NULL);
	struct sim_fault_opts o;
	unsigned opens = 0, tf_rises = 0, tries = 24;

	sim_fault_opts_init(&o, SIM_FAULT_HINGE_WIRING_INTERMITTENT);
	o.contact_p = 0.5;
	add_fault(m, SIM_FAULT_HINGE_WIRING_INTERMITTENT, &o);
	for (unsigned i = 0; i < tries; i++) {
		struct obs ob = {0};
		assert_int_equal(sim_model_press(m, SIM_BUTTON_INTERIOR, 0, 0.0, 0), 0);
		watch(m, 1500 * MS, &ob);
		assert_true(ob.cmd); /* always commanded */
		tf_rises += ob.tf_rises[SIM_DTC_RELEASE_OPEN];
		if (ob.opened) {
			opens++;
			/* The lid moving flexes the hinge: contact comes and goes. */
			memset(&ob, 0, sizeof(ob));
			assert_int_equal(sim_model_close_lid(m), 0);
			watch(m, 1500 * MS, &ob);
			tf_rises += ob.tf_rises[SIM_DTC_RELEASE_OPEN];
		}
	}
	/* "no / sometimes" */
	assert_true(opens > 0);
	assert_true(opens < tries);
	/* testFailed flaps: the DTC failed and passed again several times. */
	assert_true(tf_rises >= 2);
	assert_true(sim_model_dtc(m, SIM_DTC_RELEASE_OPEN)->occurrence >= 2);
	assert_true(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_CDTC);
	sim_model_free(m);
}

static void hinge_wiring_short(void **state)
{
	struct sim_model_config cfg;
	struct sim_model *m;
	struct chain c;
	struct obs o = {0};

	sim_model_config_init(&cfg);
	cfg.lockout_ms = 30000;
	m = model_with(9, &cfg);
	add_fault(m, SIM_FAULT_HINGE_WIRING_SHORT, NULL);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	/* A short to ground looks like a load in the off state: nothing yet. */
	assert_false(dtc_status(m, SIM_DTC_RELEASE_SHORT_GND) & SIM_DTC_TF);
	assert_false(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_TF);
	run_chain(m, &c);
	assert_true(c.fob.request_mask & (1u << SIM_RELEASE_FOB));
	assert_true(c.fob.cmd);
	assert_true(c.fob.nonzero_ticks <= 1); /* one trip sample at most: "0" */
	assert_false(c.fob.opened);
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_SHORT_GND), 0x2F);
	/* The interior press falls into the output lockout. */
	assert_true(c.interior.request_mask & (1u << SIM_RELEASE_INTERIOR));
	assert_false(c.interior.cmd);
	assert_true(c.interior.inhibit_mask & (1u << SIM_INHIBIT_OUTPUT_LOCKOUT));
	assert_false(c.interior.opened);
	assert_true(c.key.opened);
	assert_true(sim_model_signals(m)->lockout_remaining_ms > 20000);
	assert_true(sim_model_signals(m)->lockout_remaining_ms <= 30000);
	assert_int_equal(sim_model_output_control(m, true), -EBUSY);
	/* After the lockout the output is tried again, and trips again. */
	close_lid(m);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 30 * S), 0);
	assert_int_equal(sim_model_signals(m)->lockout_remaining_ms, 0);
	assert_int_equal(sim_model_signals(m)->inhibit, SIM_INHIBIT_NONE);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_INTERIOR, 0, 0.0, 0), 0);
	watch(m, 1500 * MS, &o);
	assert_true(o.cmd);
	assert_false(o.opened);
	assert_true(sim_model_signals(m)->lockout_remaining_ms > 25000);
	assert_int_equal(sim_model_dtc(m, SIM_DTC_RELEASE_SHORT_GND)->occurrence, 1);
	assert_true(sim_model_signals(m)->fuse_v > 11.5);
	assert_int_equal(sim_model_signals(m)->output_status, SIM_OUTPUT_STATUS_SHORT_TO_GROUND);
	sim_model_free(m);
}

static void hinge_wiring_short_blows_fuse(void **state)
{
	struct sim_model *m = model_with(10, NULL);
	struct sim_fault_opts o;
	struct obs ob = {0};

	sim_fault_opts_init(&o, SIM_FAULT_HINGE_WIRING_SHORT);
	o.blow_fuse = true;
	add_fault(m, SIM_FAULT_HINGE_WIRING_SHORT, &o);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 0, 0.0, 0), 0);
	watch(m, 1000 * MS, &ob);
	assert_true(ob.min_fuse_v < 0.5);
	assert_true(dtc_status(m, SIM_DTC_RELEASE_SHORT_GND) & SIM_DTC_TF);
	/* "healthy" replaces the fuse too. */
	sim_model_fault_clear(m);
	assert_true(sim_model_signals(m)->fuse_v > 11.5);
	sim_model_free(m);
}

static void actuator_worn(void **state)
{
	struct sim_model *m = model_with(11, NULL);
	struct chain c;

	add_fault(m, SIM_FAULT_ACTUATOR_WORN, NULL);
	run_chain(m, &c);
	assert_true(c.fob.request_mask & (1u << SIM_RELEASE_FOB));
	assert_true(c.fob.cmd);
	/* Abnormal: low and erratic, no healthy inrush. */
	assert_true(mean_current(&c.fob) > 0.5);
	assert_true(mean_current(&c.fob) < 1.5);
	assert_true(c.fob.max_current < 2.5);
	assert_true(c.fob.cmd_zero_ticks >= 5); /* brush dropouts */
	assert_false(c.fob.opened);
	assert_true(c.interior.cmd);
	assert_false(c.interior.opened);
	assert_true(c.key.opened);
	assert_true(dtc_status(m, SIM_DTC_RELEASE_PERF) & SIM_DTC_TF);
	assert_false(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_TF);
	assert_false(dtc_status(m, SIM_DTC_RELEASE_SHORT_GND) & SIM_DTC_TF);
	assert_int_equal(sim_model_signals(m)->output_status, SIM_OUTPUT_STATUS_LOW_CURRENT);
	sim_model_free(m);
}

static void latch_jammed(void **state)
{
	struct sim_model *m = model_with(12, NULL);
	struct chain c;

	add_fault(m, SIM_FAULT_LATCH_JAMMED, NULL);
	run_chain(m, &c);
	assert_true(c.fob.cmd);
	assert_true(mean_current(&c.fob) > 6.5); /* stall current, the click is heard */
	assert_false(c.fob.opened);
	assert_true(c.interior.cmd);
	assert_false(c.interior.opened);
	/* The key blade fails too: the mechanical split. */
	assert_false(c.key.key_moved);
	assert_false(c.key.opened);
	assert_no_dtc_failed(m);
	sim_model_free(m);
}

static void bcm_fault_no_command(void **state)
{
	struct sim_model *m = model_with(13, NULL);
	struct chain c;

	add_fault(m, SIM_FAULT_BCM_FAULT, NULL);
	run_chain(m, &c);
	assert_true(c.fob.tg_valid && c.fob.button_trunk);
	assert_true(c.fob.request_mask & (1u << SIM_RELEASE_FOB));
	assert_false(c.fob.cmd);
	assert_true(c.fob.max_current == 0.0);
	assert_false(c.fob.opened);
	assert_true(c.interior.request_mask & (1u << SIM_RELEASE_INTERIOR));
	assert_false(c.interior.cmd);
	assert_false(c.interior.opened);
	assert_true(c.key.opened);
	assert_true(dtc_status(m, SIM_DTC_BCM_INTERNAL) & SIM_DTC_TF);
	assert_false(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_TF);
	sim_model_free(m);
}

static void bcm_fault_no_request(void **state)
{
	struct sim_model *m = model_with(14, NULL);
	struct sim_fault_opts o;
	struct chain c;

	sim_fault_opts_init(&o, SIM_FAULT_BCM_FAULT);
	o.bcm_mode = SIM_BCM_FAULT_MODE_NO_REQUEST;
	add_fault(m, SIM_FAULT_BCM_FAULT, &o);
	run_chain(m, &c);
	assert_true(c.fob.tg_valid && c.fob.button_trunk);
	assert_false(c.fob.request_mask);
	assert_false(c.fob.cmd);
	assert_false(c.fob.opened);
	assert_release_worked(&c.interior, SIM_RELEASE_INTERIOR);
	assert_true(c.key.opened);
	assert_no_dtc_failed(m);
	/* What tells it from a lost fob programming: the fob still has the function. */
	assert_int_equal(sim_model_signals(m)->fob_trunk_enabled_mask & 1, 1);
	sim_model_free(m);
}

static void aftermarket_alarm_inhibit(void **state)
{
	struct sim_model *m = model_with(15, NULL);
	const struct sim_signals *s;
	struct chain c;
	struct obs o = {0};
	uint32_t seq;

	add_fault(m, SIM_FAULT_AFTERMARKET_ALARM, NULL);
	s = sim_model_signals(m);
	assert_true(s->alarm_present && s->alarm_armed && s->alarm_inhibit_request);
	assert_false(s->alarm_cut_active);
	assert_true(s->alarm_cmd_seq > 0);
	run_chain(m, &c);
	assert_true(c.fob.tg_valid);
	assert_true(c.fob.request_mask & (1u << SIM_RELEASE_FOB));
	assert_true(c.fob.inhibit_mask & (1u << SIM_INHIBIT_EXTERNAL));
	assert_false(c.fob.cmd);
	assert_false(c.fob.opened);
	assert_false(c.interior.cmd);
	assert_true(c.key.opened);
	assert_no_dtc_failed(m);
	/* Disarmed with its own remote, the car works again. */
	close_lid(m);
	seq = s->alarm_cmd_seq;
	assert_int_equal(sim_model_set_aftermarket_armed(m, false), 0);
	assert_true(s->alarm_cmd_seq > seq);
	assert_false(s->alarm_inhibit_request);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 0, 0.0, 0), 0);
	watch(m, 1500 * MS, &o);
	assert_release_worked(&o, SIM_RELEASE_FOB);
	sim_model_free(m);
}

static void aftermarket_alarm_splice(void **state)
{
	struct sim_model *m = model_with(16, NULL);
	struct sim_fault_opts o;
	struct chain c;

	sim_fault_opts_init(&o, SIM_FAULT_AFTERMARKET_ALARM);
	o.alarm_mode = SIM_ALARM_MODE_SPLICE;
	add_fault(m, SIM_FAULT_AFTERMARKET_ALARM, &o);
	run_chain(m, &c);
	assert_true(sim_model_signals(m)->alarm_cut_active);
	assert_true(c.fob.cmd);
	assert_true(c.fob.max_current < 0.25);
	assert_false(c.fob.opened);
	assert_true(c.key.opened);
	assert_true(dtc_status(m, SIM_DTC_RELEASE_OPEN) & SIM_DTC_TF);
	assert_int_equal(sim_model_set_aftermarket_armed(m, false), 0);
	sim_model_fault_remove(m, SIM_FAULT_AFTERMARKET_ALARM);
	assert_int_equal(sim_model_set_aftermarket_armed(m, true), -ENODEV);
	sim_model_free(m);
}

static void two_faults(void **state)
{
	struct sim_model *m = model_with(17, NULL);
	struct chain c;

	add_fault(m, SIM_FAULT_FOB_BATTERY_WEAK, NULL);
	add_fault(m, SIM_FAULT_LATCH_JAMMED, NULL);
	run_chain(m, &c);
	assert_false(c.fob.cmd);
	assert_true(c.interior.cmd);
	assert_true(mean_current(&c.interior) > 6.5);
	assert_false(c.interior.opened);
	assert_false(c.key.opened);
	assert_true(sim_model_fault_active(m, SIM_FAULT_LATCH_JAMMED));
	sim_model_fault_clear(m);
	assert_false(sim_model_fault_active(m, SIM_FAULT_LATCH_JAMMED));
	assert_int_equal(sim_model_fault_remove(m, SIM_FAULT_LATCH_JAMMED), -ENOENT);
	sim_model_free(m);
}

/* --- inhibits ------------------------------------------------------------------------ */
static void press_and_watch(struct sim_model *m, enum sim_button b, struct obs *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(sim_model_press(m, b, 0, 0.0, 0), 0);
	watch(m, 1500 * MS, o);
}

static void inhibits(void **state)
{
	struct sim_model *m = model_with(18, NULL);
	struct obs o;

	assert_int_equal(sim_model_set_speed(m, 12.5), 0);
	press_and_watch(m, SIM_BUTTON_FOB_TRUNK, &o);
	assert_true(o.request_mask & (1u << SIM_RELEASE_FOB));
	assert_false(o.cmd);
	assert_true(o.inhibit_mask & (1u << SIM_INHIBIT_SPEED));
	assert_int_equal(sim_model_output_control(m, true), -EPERM);
	assert_int_equal(sim_model_set_speed(m, 0.0), 0);

	assert_int_equal(sim_model_set_gear(m, SIM_GEAR_D), 0);
	press_and_watch(m, SIM_BUTTON_INTERIOR, &o);
	assert_false(o.cmd);
	assert_true(o.inhibit_mask & (1u << SIM_INHIBIT_GEAR));
	assert_int_equal(sim_model_set_gear(m, SIM_GEAR_P), 0);

	/* Perimeter alarm armed: the cabin button is refused, the fob is not. */
	assert_int_equal(sim_model_set_perimeter_alarm(m, true), 0);
	press_and_watch(m, SIM_BUTTON_INTERIOR, &o);
	assert_false(o.cmd);
	assert_true(o.inhibit_mask & (1u << SIM_INHIBIT_ALARM_ARMED));
	press_and_watch(m, SIM_BUTTON_FOB_TRUNK, &o);
	assert_true(o.opened);
	close_lid(m);
	assert_int_equal(sim_model_set_perimeter_alarm(m, false), 0);

	assert_int_equal(sim_model_set_valet(m, true), 0);
	press_and_watch(m, SIM_BUTTON_INTERIOR, &o);
	assert_true(o.inhibit_mask & (1u << SIM_INHIBIT_VALET));
	assert_false(o.cmd);
	press_and_watch(m, SIM_BUTTON_FOB_TRUNK, &o);
	assert_true(o.opened);
	close_lid(m);
	assert_int_equal(sim_model_set_valet(m, false), 0);

	assert_int_equal(sim_model_set_battery(m, 8.5), 0);
	press_and_watch(m, SIM_BUTTON_INTERIOR, &o);
	assert_true(o.inhibit_mask & (1u << SIM_INHIBIT_LOW_VOLTAGE));
	assert_false(o.cmd);
	assert_int_equal(sim_model_set_battery(m, 12.6), 0);

	/* Exterior switch: works unlocked, refused locked; lock arms the alarm later. */
	press_and_watch(m, SIM_BUTTON_EXTERIOR, &o);
	assert_true(o.opened);
	close_lid(m);
	press_and_watch(m, SIM_BUTTON_FOB_LOCK, &o);
	assert_int_equal(sim_model_signals(m)->perimeter_alarm, SIM_ALARM_ARMING);
	press_and_watch(m, SIM_BUTTON_EXTERIOR, &o);
	assert_true(o.inhibit_mask & (1u << SIM_INHIBIT_LOCKED));
	assert_false(o.cmd);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 20 * S), 0);
	assert_int_equal(sim_model_signals(m)->perimeter_alarm, SIM_ALARM_ARMED);
	press_and_watch(m, SIM_BUTTON_FOB_UNLOCK, &o);
	assert_int_equal(sim_model_signals(m)->perimeter_alarm, SIM_ALARM_DISARMED);

	/* UDS 0x2F when allowed: the tester is the source. */
	assert_int_equal(sim_model_output_control(m, true), 0);
	memset(&o, 0, sizeof(o));
	watch(m, 1500 * MS, &o);
	assert_release_worked(&o, SIM_RELEASE_TESTER);
	assert_int_equal(sim_model_output_control(m, false), 0);
	assert_no_dtc_failed(m);
	sim_model_free(m);
}

static void switch_stuck(void **state)
{
	struct sim_model *m = model_with(19, NULL);
	struct obs o = {0};

	assert_int_equal(sim_model_press(m, SIM_BUTTON_INTERIOR, 0, 0.0, 130 * S), 0);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_INTERIOR, 0, 0.0, 0), -EBUSY);
	watch(m, 1500 * MS, &o);
	assert_true(o.opened); /* the first press works */
	close_lid(m);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 119 * S), 0);
	assert_true(dtc_status(m, SIM_DTC_INTERIOR_STUCK) & SIM_DTC_TF);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 10 * S), 0);
	assert_false(sim_model_signals(m)->interior_switch);
	assert_false(dtc_status(m, SIM_DTC_INTERIOR_STUCK) & SIM_DTC_TF);
	assert_true(dtc_status(m, SIM_DTC_INTERIOR_STUCK) & SIM_DTC_CDTC);
	sim_model_free(m);
}

/* --- DTC life cycle ------------------------------------------------------------------- */
static void ignition_cycle(struct sim_model *m)
{
	assert_int_equal(sim_model_set_ignition(m, SIM_IGNITION_OFF), 0);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 2 * S), 0);
	assert_int_equal(sim_model_set_ignition(m, SIM_IGNITION_RUN), 0);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
}

static void dtc_life_cycle(void **state)
{
	struct sim_model_config cfg;
	struct sim_model *m;
	const struct sim_dtc *d;

	sim_model_config_init(&cfg);
	cfg.confirm_cycles = 2;
	cfg.aging_cycles = 3;
	m = model_with(20, &cfg);
	d = sim_model_dtc(m, SIM_DTC_RELEASE_OPEN);
	assert_int_equal(d->status, 0x00); /* tested and passed at power-up */
	assert_int_equal(sim_model_dtc(m, SIM_DTC_RELEASE_SHORT_GND)->status, 0x50);

	add_fault(m, SIM_FAULT_HINGE_WIRING_OPEN, NULL);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	/* Cycle 1: failed, pending, not yet confirmed. */
	assert_int_equal(d->status, SIM_DTC_TF | SIM_DTC_TFTOC | SIM_DTC_PDTC | SIM_DTC_TFSLC);
	assert_int_equal(d->failed_cycles, 1);
	assert_true(d->has_first);
	assert_true(d->first.fuse_v > 11.5);
	assert_int_equal(d->first.operation_cycle, 1);
	assert_int_equal(sim_model_set_ignition(m, SIM_IGNITION_OFF), 0);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	assert_int_equal(sim_model_set_ignition(m, SIM_IGNITION_RUN), 0);
	/* Cycle 2 begins: this-cycle bits reset, the result stays. */
	assert_int_equal(d->status,
			 SIM_DTC_TF | SIM_DTC_PDTC | SIM_DTC_TFSLC | SIM_DTC_TNCTOC);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	/* Failed in a second cycle: confirmed. */
	assert_int_equal(d->status, 0x2F);
	assert_int_equal(d->failed_cycles, 2);
	assert_int_equal(d->occurrence, 1); /* testFailed never dropped */

	/* Repaired: the test passes, pending goes after a clean cycle, confirmed ages out
	 * after aging_cycles clean cycles; the history bit stays. */
	sim_model_fault_remove(m, SIM_FAULT_HINGE_WIRING_OPEN);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	assert_int_equal(d->status, SIM_DTC_TFTOC | SIM_DTC_PDTC | SIM_DTC_CDTC | SIM_DTC_TFSLC);
	ignition_cycle(m); /* ends the cycle that failed: nothing ages */
	assert_int_equal(d->status, SIM_DTC_PDTC | SIM_DTC_CDTC | SIM_DTC_TFSLC);
	ignition_cycle(m);
	assert_int_equal(d->status, SIM_DTC_CDTC | SIM_DTC_TFSLC);
	assert_int_equal(d->aging, 1);
	ignition_cycle(m);
	assert_int_equal(d->aging, 2);
	assert_true(d->status & SIM_DTC_CDTC);
	ignition_cycle(m);
	assert_int_equal(d->status, SIM_DTC_TFSLC);
	assert_int_equal(d->aging, 0);

	/* 0x14: back to never tested. */
	assert_int_equal(sim_model_dtc_clear(m, 0x9A4013), 1);
	assert_int_equal(d->status, 0x50);
	assert_false(d->has_first);
	assert_int_equal(sim_model_dtc_clear(m, 0x123456), -ENOENT);
	assert_int_equal(sim_model_dtc_clear(m, 0xFFFFFF), _SIM_DTC_MAX);
	sim_model_free(m);
}

static void dtc_confirm_first_cycle_by_default(void **state)
{
	struct sim_model *m = model_with(21, NULL);

	add_fault(m, SIM_FAULT_HINGE_WIRING_OPEN, NULL);
	assert_int_equal(sim_model_step(m, sim_model_now(m) + 1 * S), 0);
	assert_int_equal(dtc_status(m, SIM_DTC_RELEASE_OPEN), 0x2F);
	sim_model_free(m);
}

static void dtc_codes_and_format(void **state)
{
	char buf[9];

	sim_dtc_format(sim_dtc_code(SIM_DTC_RELEASE_OPEN), buf);
	assert_string_equal(buf, "B1A40-13");
	sim_dtc_format(sim_dtc_code(SIM_DTC_RELEASE_SHORT_GND), buf);
	assert_string_equal(buf, "B1A40-11");
	sim_dtc_format(sim_dtc_code(SIM_DTC_FOB1_BATTERY), buf);
	assert_string_equal(buf, "B1A51-16");
	sim_dtc_format(sim_dtc_code(SIM_DTC_BCM_INTERNAL), buf);
	assert_string_equal(buf, "U3000-49");
	sim_dtc_format(0x012345, buf);
	assert_string_equal(buf, "P0123-45");
	assert_int_equal(sim_dtc_code(_SIM_DTC_MAX), 0);
}

/* --- determinism, API edges ---------------------------------------------------------- */
static void determinism(void **state)
{
	struct sim_model *a = model_with(42, NULL), *b = model_with(42, NULL);
	struct sim_model *c = model_with(43, NULL);
	struct sim_event ea, eb;
	bool rssi_differs = false;

	for (int i = 0; i < 8; i++) {
		sim_model_press(a, SIM_BUTTON_FOB_LOCK, 0, 5.0, 0);
		sim_model_press(b, SIM_BUTTON_FOB_LOCK, 0, 5.0, 0);
		sim_model_press(c, SIM_BUTTON_FOB_LOCK, 0, 5.0, 0);
		for (int t = 0; t < 400; t++) {
			int64_t now = sim_model_now(a) + MS;
			sim_model_step(a, now);
			sim_model_step(b, now);
			sim_model_step(c, now);
			assert_memory_equal(sim_model_signals(a), sim_model_signals(b),
					    sizeof(struct sim_signals));
			if (sim_model_signals(a)->rke_rssi_dbm != sim_model_signals(c)->rke_rssi_dbm)
				rssi_differs = true;
		}
	}
	while (sim_model_pop_event(a, &ea) > 0) {
		assert_int_equal(sim_model_pop_event(b, &eb), 1);
		assert_memory_equal(&ea, &eb, sizeof(ea));
	}
	assert_int_equal(sim_model_pop_event(b, &eb), 0);
	assert_true(rssi_differs);
	sim_model_free(a);
	sim_model_free(b);
	sim_model_free(c);
}

static void api_edges(void **state)
{
	struct sim_model_config cfg;
	struct sim_model *m = NULL;
	struct sim_event e;

	sim_model_config_init(&cfg);
	cfg.lockout_ms = 10000;
	assert_int_equal(sim_model_new(&cfg, &m), -EINVAL);
	assert_null(m);
	sim_model_config_init(&cfg);
	cfg.fob_count = 5;
	assert_int_equal(sim_model_new(&cfg, &m), -EINVAL);
	assert_null(sim_model_free(NULL));

	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_model_step(m, 1500), 0);
	assert_int_equal(sim_model_now(m), 1000); /* remainder carried */
	assert_int_equal(sim_model_step(m, 1200), 0); /* before the requested time: no-op */
	assert_int_equal(sim_model_step(m, 2000), 0);
	assert_int_equal(sim_model_now(m), 2000);
	assert_int_equal(sim_model_step(m, 500), -EINVAL);
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 4, 0.0, 0), -EINVAL);
	assert_int_equal(sim_model_press(m, _SIM_BUTTON_MAX, 0, 0.0, 0), -EINVAL);
	assert_int_equal(sim_model_set_speed(m, -1.0), -EINVAL);
	assert_int_equal(sim_model_set_gear(m, _SIM_GEAR_MAX), -EINVAL);
	assert_int_equal(sim_model_set_ignition(m, _SIM_IGNITION_MAX), -EINVAL);
	assert_int_equal(sim_model_set_battery(m, 20.0), -EINVAL);
	assert_int_equal(sim_model_fault_add(m, _SIM_FAULT_MAX, NULL), -EINVAL);
	assert_null(sim_model_dtc(m, _SIM_DTC_MAX));

	/* The event queue keeps the newest and counts what it dropped. */
	for (unsigned i = 0; i < SIM_MODEL_EVENT_QUEUE + 10; i++)
		sim_model_set_valet(m, i % 2 == 0), sim_model_set_perimeter_alarm(m, i % 2 == 0);
	assert_true(sim_model_events_dropped(m) > 0);
	for (unsigned i = 0; i < SIM_MODEL_EVENT_QUEUE; i++)
		assert_int_equal(sim_model_pop_event(m, &e), 1);
	assert_int_equal(sim_model_pop_event(m, &e), 0);
	sim_model_free(m);
}

static void event_texts(void **state)
{
	char buf[160];

	for (int t = 0; t <= _SIM_EVENT_MAX; t++) {
		struct sim_event e = {.type = (enum sim_event_type)t, .a = 1, .b = 2, .c = 3};
		sim_event_format(&e, buf, sizeof(buf));
		assert_true(strlen(buf) > 0);
	}
	assert_string_equal(sim_inhibit_name(SIM_INHIBIT_OUTPUT_LOCKOUT), "output_lockout");
	assert_null(sim_inhibit_name(_SIM_INHIBIT_MAX));
	assert_string_equal(sim_release_source_name(SIM_RELEASE_INTERIOR), "interior");
	assert_string_equal(sim_rke_button_name(SIM_RKE_BUTTON_TRUNK), "trunk");
	assert_string_equal(sim_button_name(SIM_BUTTON_FOB_TRUNK), "fob_trunk");
}

static void crc(void **state)
{
	assert_int_equal(sim_crc8_j1850((const uint8_t *)"123456789", 9), 0x4B);
	assert_int_equal(sim_crc8_j1850(NULL, 0), 0x00);
}

static void fault_catalogue(void **state)
{
	enum sim_fault f = _SIM_FAULT_MAX;

	for (unsigned i = 0; i < _SIM_FAULT_MAX; i++) {
		const char *n = sim_fault_name((enum sim_fault)i);
		assert_non_null(n);
		assert_non_null(sim_fault_help((enum sim_fault)i));
		assert_non_null(sim_fault_opts_help((enum sim_fault)i));
		assert_int_equal(sim_fault_from_name(n, strlen(n), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(sim_fault_from_name("healthy", 7, &f), 1);
	assert_int_equal(sim_fault_from_name("nope", 4, &f), -ENOENT);
	assert_null(sim_fault_name(_SIM_FAULT_MAX));
	assert_null(sim_fault_help(_SIM_FAULT_MAX));
	assert_null(sim_fault_opts_help(_SIM_FAULT_MAX));
}

/* --- command parser ------------------------------------------------------------------- */
static void cmd_ok(const char *line, struct sim_command *c)
{
	struct sim_parse_error err = {0};
	int r = sim_command_parse(line, strlen(line), c, &err);
	if (r != 0)
		fail_msg("'%s': %d %u:%u %s", line, r, err.line, err.column, err.message);
}

static void cmd_err(const char *line, unsigned col, const char *msg)
{
	struct sim_parse_error err = {0};
	struct sim_command c;

	assert_int_equal(sim_command_parse(line, strlen(line), &c, &err), -EINVAL);
	if (strstr(err.message, msg) == NULL || err.column != col || err.line != 1)
		fail_msg("'%s': got %u:%u '%s', want col %u '%s'", line, err.line, err.column,
			 err.message, col, msg);
}

static void commands(void **state)
{
	struct sim_command c;

	cmd_ok("press fob_trunk", &c);
	assert_int_equal(c.type, SIM_COMMAND_PRESS);
	assert_int_equal(c.button, SIM_BUTTON_FOB_TRUNK);
	assert_int_equal(c.fob, 0);
	assert_true(c.distance_m == 0.0);
	cmd_ok("  press fob_lock fob=1 distance=30cm  # note\r\n", &c);
	assert_int_equal(c.button, SIM_BUTTON_FOB_LOCK);
	assert_int_equal(c.fob, 1);
	assert_true(c.distance_m > 0.299 && c.distance_m < 0.301);
	cmd_ok("press interior for=2min", &c);
	assert_int_equal(c.hold_us, 120 * S);
	cmd_ok("press exterior", &c);
	assert_int_equal(c.button, SIM_BUTTON_EXTERIOR);
	cmd_ok("key_blade", &c);
	assert_int_equal(c.type, SIM_COMMAND_KEY_BLADE);
	cmd_ok("close_lid", &c);
	assert_int_equal(c.type, SIM_COMMAND_CLOSE_LID);
	cmd_ok("ignition on", &c);
	assert_int_equal(c.ignition, SIM_IGNITION_RUN);
	cmd_ok("ignition off", &c);
	assert_int_equal(c.ignition, SIM_IGNITION_OFF);
	cmd_ok("set speed 30kmh", &c);
	assert_int_equal(c.type, SIM_COMMAND_SET_SPEED);
	assert_true(c.value == 30.0);
	cmd_ok("set speed 12.5", &c);
	cmd_ok("set gear D", &c);
	assert_int_equal(c.gear, SIM_GEAR_D);
	cmd_ok("set battery 11.8V", &c);
	assert_true(c.value == 11.8);
	cmd_ok("alarm arm", &c);
	assert_true(c.type == SIM_COMMAND_ALARM && c.on);
	cmd_ok("aftermarket disarm", &c);
	assert_true(c.type == SIM_COMMAND_AFTERMARKET && !c.on);
	cmd_ok("valet on", &c);
	assert_true(c.type == SIM_COMMAND_VALET && c.on);
	cmd_ok("fault add fob_battery_weak fob=1 volts=2.3V", &c);
	assert_int_equal(c.type, SIM_COMMAND_FAULT_ADD);
	assert_int_equal(c.fault, SIM_FAULT_FOB_BATTERY_WEAK);
	assert_int_equal(c.opts.fob, 1);
	assert_true(c.opts.cell_v == 2.3);
	cmd_ok("fault add hinge_wiring_intermittent p=0.7", &c);
	assert_true(c.opts.contact_p == 0.7);
	cmd_ok("fault add hinge_wiring_short blow_fuse=yes", &c);
	assert_true(c.opts.blow_fuse);
	cmd_ok("fault add bcm_fault mode=no_request", &c);
	assert_int_equal(c.opts.bcm_mode, SIM_BCM_FAULT_MODE_NO_REQUEST);
	cmd_ok("fault add aftermarket_alarm mode=splice armed=0", &c);
	assert_int_equal(c.opts.alarm_mode, SIM_ALARM_MODE_SPLICE);
	assert_false(c.opts.alarm_armed);
	cmd_ok("fault add fob_unprogrammed fob=3", &c);
	assert_int_equal(c.opts.fob, 3);
	cmd_ok("fault add healthy", &c);
	assert_int_equal(c.type, SIM_COMMAND_FAULT_CLEAR);
	cmd_ok("fault remove latch_jammed", &c);
	assert_int_equal(c.type, SIM_COMMAND_FAULT_REMOVE);
	cmd_ok("fault clear", &c);
	cmd_ok("dtc", &c);
	assert_int_equal(c.type, SIM_COMMAND_DTC);
	cmd_ok("dtc clear", &c);
	assert_int_equal(c.type, SIM_COMMAND_DTC_CLEAR);
	cmd_ok("status", &c);
	assert_true(sim_command_is_query(c.type));
	cmd_ok("faults", &c);
	cmd_ok("help", &c);
	cmd_ok("quit", &c);
	assert_int_equal(c.type, SIM_COMMAND_QUIT);
	assert_int_equal(sim_command_parse("  # only a comment\n", 19, &c, NULL), -ENODATA);
	assert_int_equal(sim_command_parse("", 0, &c, NULL), -ENODATA);
	assert_non_null(strstr(sim_command_help(), "press fob_trunk"));
}

static void command_errors(void **state)
{
	char longline[SIM_SCENARIO_LINE_MAX + 2];

	cmd_err("jump", 1, "unknown command 'jump'");
	cmd_err("press", 6, "missing button");
	cmd_err("press trunk", 7, "unknown button 'trunk'");
	cmd_err("press fob_trunk fob", 17, "expected key=value, got 'fob'");
	cmd_err("press fob_trunk =1", 17, "expected key=value");
	cmd_err("press fob_trunk fob=", 17, "expected key=value");
	cmd_err("press fob_trunk fob=9", 21, "fob slot '9' out of range (0 .. 3)");
	cmd_err("press fob_trunk fob=x", 21, "'x' is not a valid fob slot");
	cmd_err("press fob_trunk distance=3", 26, "'3' is not a distance");
	cmd_err("press fob_trunk distance=500m", 26, "distance '500m' out of range");
	cmd_err("press fob_trunk for=1s", 17, "press fob_trunk takes no option 'for'");
	cmd_err("press interior fob=1", 16, "press interior takes no option 'fob'");
	cmd_err("press interior for=1", 20, "'1' is not a duration");
	cmd_err("press interior for=2h", 20, "'2h' is not a duration");
	cmd_err("press interior for=-1s", 20, "duration '-1s' out of range");
	cmd_err("press interior for=10us", 20, "a press lasts at least 1ms");
	cmd_err("press interior for=inf", 20, "is not a duration");
	cmd_err("key_blade now", 11, "unexpected 'now' at end of command");
	cmd_err("close_lid x", 11, "unexpected 'x'");
	cmd_err("ignition", 9, "missing ignition state");
	cmd_err("ignition sideways", 10, "unknown ignition state 'sideways'");
	cmd_err("ignition on now", 13, "unexpected 'now'");
	cmd_err("set", 4, "missing what to set");
	cmd_err("set colour red", 5, "cannot set 'colour'");
	cmd_err("set speed", 10, "missing speed in km/h");
	cmd_err("set speed fast", 11, "'fast' is not a valid speed");
	cmd_err("set speed 400", 11, "speed '400' out of range");
	cmd_err("set speed 0x10", 11, "is not a valid speed");
	cmd_err("set battery 3V", 13, "battery voltage '3V' out of range");
	cmd_err("set battery", 12, "missing battery voltage");
	cmd_err("set gear", 9, "missing gear");
	cmd_err("set gear X", 10, "unknown gear 'X'");
	cmd_err("set gear P now", 12, "unexpected 'now'");
	cmd_err("alarm", 6, "missing arm or disarm");
	cmd_err("alarm on", 7, "expected arm or disarm, got 'on'");
	cmd_err("valet arm", 7, "expected on or off, got 'arm'");
	cmd_err("aftermarket", 12, "missing arm or disarm");
	cmd_err("fault", 6, "missing add, remove or clear");
	cmd_err("fault fix", 7, "expected add, remove or clear, got 'fix'");
	cmd_err("fault add", 10, "missing fault name");
	cmd_err("fault add gremlins", 11, "unknown fault 'gremlins'");
	cmd_err("fault remove healthy", 14, "'healthy' is no fault to remove");
	cmd_err("fault remove latch_jammed now", 27, "unexpected 'now'");
	cmd_err("fault clear all", 13, "unexpected 'all'");
	cmd_err("fault add healthy x", 19, "unexpected 'x'");
	cmd_err("fault add latch_jammed force=1", 24, "fault latch_jammed has no option 'force' (none)");
	cmd_err("fault add fob_unprogrammed volts=2", 28,
		"fault fob_unprogrammed has no option 'volts' (fob=N)");
	cmd_err("fault add fob_battery_weak fob=7", 32, "fob slot must be 0..3");
	cmd_err("fault add fob_battery_weak fob=a", 32, "fob slot must be a number");
	cmd_err("fault add fob_battery_weak volts=x", 34, "volts must be a voltage");
	cmd_err("fault add fob_battery_weak volts=3.0", 34, "volts must be 1.5..2.8");
	cmd_err("fault add hinge_wiring_intermittent p=x", 39, "p must be a probability");
	cmd_err("fault add hinge_wiring_intermittent p=2", 39, "p must be 0..1");
	cmd_err("fault add hinge_wiring_short blow_fuse=maybe", 40, "blow_fuse must be 0 or 1");
	cmd_err("fault add bcm_fault mode=x", 26, "mode must be no_command or no_request");
	cmd_err("fault add aftermarket_alarm mode=x", 34, "mode must be inhibit or splice");
	cmd_err("fault add aftermarket_alarm armed=x", 35, "armed must be 0 or 1");
	cmd_err("fault add latch_jammed x", 24, "expected key=value, got 'x'");
	cmd_err("dtc clear now", 11, "unexpected 'now'");
	cmd_err("status now", 8, "unexpected 'now'");
	cmd_err("faults x", 8, "unexpected 'x'");
	cmd_err("help me", 6, "unexpected 'me'");
	cmd_err("quit now", 6, "unexpected 'now'");
	cmd_err("a b c d e f g h i j k l m n o p q", 33, "too many words (at most 16)");
	cmd_err("press\x01 fob_trunk", 6, "control character in input");
	cmd_err("\x02press", 1, "control character 0x02 in input");
	{
		struct sim_parse_error err;
		struct sim_command c;
		assert_int_equal(sim_command_parse("pr\0ess", 6, &c, &err), -EINVAL);
		assert_string_equal(err.message, "NUL byte in input");
		assert_int_equal(err.column, 3);
		assert_int_equal(sim_command_parse("\0press", 6, &c, &err), -EINVAL);
		assert_string_equal(err.message, "NUL byte in input");
		assert_int_equal(err.column, 1);
		memset(longline, 'a', sizeof(longline));
		assert_int_equal(sim_command_parse(longline, sizeof(longline), &c, &err), -EINVAL);
		assert_non_null(strstr(err.message, "line too long"));
	}
}

static void command_apply(void **state)
{
	struct sim_model *m = model_with(30, NULL);
	struct sim_command c;

	cmd_ok("fault add latch_jammed", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	assert_true(sim_model_fault_active(m, SIM_FAULT_LATCH_JAMMED));
	cmd_ok("fault remove latch_jammed", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	assert_int_equal(sim_command_apply(&c, m), -ENOENT);
	cmd_ok("aftermarket arm", &c);
	assert_int_equal(sim_command_apply(&c, m), -ENODEV);
	cmd_ok("status", &c);
	assert_int_equal(sim_command_apply(&c, m), -EINVAL);
	cmd_ok("set speed 20", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	assert_true(sim_model_signals(m)->speed_kmh == 20.0);
	cmd_ok("set gear R", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("set battery 13", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("alarm arm", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("valet on", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("ignition off", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("key_blade", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("close_lid", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("dtc clear", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("fault clear", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	cmd_ok("press interior", &c);
	assert_int_equal(sim_command_apply(&c, m), 0);
	assert_int_equal(sim_command_apply(&c, m), -EBUSY);
	sim_model_free(m);
}

/* --- scenario parser ----------------------------------------------------------------- */
static const char example[] =
	"# weak fob, then the interior button\n"
	"format 1\n"
	"seed 42\n"
	"fault fob_battery_weak volts=2.2\n"
	"fault latch_jammed\n"
	"jitter 5ms\n"
	"noise 10/s\n"
	"lockout 45s\n"
	"confirm_cycles 2\n"
	"aging_cycles 3\n"
	"fobs 3\n"
	"battery 12.2V\n"
	"distance 2m\n"
	"at 1.5s press fob_trunk\n"
	"at 3s press interior\n"
	"at 3s key_blade   # same time is fine\n"
	"at 4500ms fault clear\n"
	"end 10s\n";

static void scenario_ok(void **state)
{
	struct sim_scenario *sc = NULL;
	struct sim_parse_error err;
	struct sim_model_config cfg;
	const struct sim_scenario_step *st;

	assert_int_equal(sim_scenario_parse(example, sizeof(example) - 1, &sc, &err), 0);
	assert_int_equal(sim_scenario_n_steps(sc), 4);
	st = sim_scenario_step(sc, 0);
	assert_int_equal(st->t_us, 1500 * MS);
	assert_int_equal(st->line, 14);
	assert_int_equal(st->cmd.type, SIM_COMMAND_PRESS);
	assert_int_equal(sim_scenario_step(sc, 2)->cmd.type, SIM_COMMAND_KEY_BLADE);
	assert_null(sim_scenario_step(sc, 4));
	assert_int_equal(sim_scenario_jitter_us(sc), 5 * MS);
	assert_true(sim_scenario_noise_per_s(sc) == 10.0);
	assert_int_equal(sim_scenario_end_us(sc), 10 * S);
	sim_model_config_init(&cfg);
	sim_scenario_model_config(sc, &cfg);
	assert_int_equal(cfg.seed, 42);
	assert_int_equal(cfg.lockout_ms, 45000);
	assert_int_equal(cfg.confirm_cycles, 2);
	assert_int_equal(cfg.aging_cycles, 3);
	assert_int_equal(cfg.fob_count, 3);
	assert_true(cfg.battery_v == 12.2);
	assert_true(cfg.fob_distance_m == 2.0);
	sim_scenario_free(sc);

	/* Minimal file, no trailing newline; end defaults to the last step + 5 s. */
	assert_int_equal(sim_scenario_parse("at 2s key_blade", 15, &sc, &err), 0);
	assert_int_equal(sim_scenario_end_us(sc), 7 * S);
	sim_scenario_free(sc);
	assert_int_equal(sim_scenario_parse("", 0, &sc, &err), 0);
	assert_int_equal(sim_scenario_end_us(sc), 5 * S);
	sim_scenario_free(sc);
	assert_int_equal(sim_scenario_parse("fault healthy\n", 14, &sc, &err), 0);
	sim_scenario_free(sc);
	assert_null(sim_scenario_free(NULL));
	assert_null(sim_scenario_parser_free(NULL));
}

static void scenario_streaming(void **state)
{
	struct sim_scenario_parser *p;
	struct sim_scenario *sc = NULL, *whole = NULL;
	struct sim_parse_error err;

	assert_int_equal(sim_scenario_parse(example, sizeof(example) - 1, &whole, &err), 0);
	assert_int_equal(sim_scenario_parser_new(&p), 0);
	for (size_t i = 0; i < sizeof(example) - 1; i++)
		assert_int_equal(sim_scenario_parser_feed(p, example + i, 1, &err), 0);
	assert_int_equal(sim_scenario_parser_finish(p, &sc, &err), 0);
	assert_int_equal(sim_scenario_n_steps(sc), sim_scenario_n_steps(whole));
	for (size_t i = 0; i < sim_scenario_n_steps(sc); i++)
		assert_memory_equal(sim_scenario_step(sc, i), sim_scenario_step(whole, i),
				    sizeof(struct sim_scenario_step));
	/* The parser is spent after finish. */
	assert_int_equal(sim_scenario_parser_feed(p, "x", 1, &err), -EALREADY);
	assert_string_equal(err.message, "parser already finished");
	sim_scenario_parser_free(p);
	sim_scenario_free(sc);
	sim_scenario_free(whole);
}

static void scen_err(const char *text, unsigned line, unsigned col, const char *msg)
{
	struct sim_scenario *sc = NULL;
	struct sim_parse_error err = {0};

	assert_int_equal(sim_scenario_parse(text, strlen(text), &sc, &err), -EINVAL);
	assert_null(sc);
	if (strstr(err.message, msg) == NULL || err.line != line || err.column != col)
		fail_msg("got %u:%u '%s', want %u:%u '%s'", err.line, err.column, err.message,
			 line, col, msg);
}

static void scenario_errors(void **state)
{
	scen_err("seed 1\nformat 1\n", 2, 1, "format must be the first statement");
	scen_err("format\n", 1, 7, "missing format version");
	scen_err("format 2\n", 1, 8, "unsupported format '2'");
	scen_err("format 1 x\n", 1, 10, "unexpected 'x'");
	scen_err("seed 1\nseed 2\n", 2, 1, "seed given twice (first on line 1)");
	scen_err("seed\n", 1, 5, "missing seed value");
	scen_err("seed -1\n", 1, 6, "'-1' is not a valid seed");
	scen_err("seed 99999999999999999999\n", 1, 6, "seed '99999999999999999999' out of range");
	scen_err("lockout 10s\n", 1, 9, "lockout must be 30s .. 3min");
	scen_err("lockout 4min\n", 1, 9, "duration '4min' out of range (0 .. 180s)");
	scen_err("lockout 60s\nlockout 60s\n", 2, 1, "lockout given twice");
	scen_err("lockout\n", 1, 8, "missing lockout duration");
	scen_err("confirm_cycles 0\n", 1, 16, "confirm_cycles '0' out of range (1 .. 255)");
	scen_err("aging_cycles 256\n", 1, 14, "aging_cycles '256' out of range (1 .. 255)");
	scen_err("fobs 5\n", 1, 6, "fobs '5' out of range (1 .. 4)");
	scen_err("fobs\n", 1, 5, "missing a number");
	scen_err("fobs 2\nfobs 2\n", 2, 1, "fobs given twice");
	scen_err("battery 20\n", 1, 9, "battery voltage '20' out of range");
	scen_err("battery\n", 1, 8, "missing battery voltage");
	scen_err("battery 12\nbattery 12\n", 2, 1, "battery given twice");
	scen_err("distance 3\n", 1, 10, "'3' is not a distance");
	scen_err("distance\n", 1, 9, "missing fob distance");
	scen_err("distance 3m\ndistance 3m\n", 2, 1, "distance given twice");
	scen_err("jitter 5\n", 1, 8, "'5' is not a duration");
	scen_err("jitter 1s\n", 1, 8, "duration '1s' out of range (0 .. 0s)");
	scen_err("jitter 5ms\njitter 5ms\n", 2, 1, "jitter given twice (first on line 1)");
	scen_err("jitter\n", 1, 7, "missing jitter duration");
	scen_err("noise 10\n", 1, 7, "'10' is not a rate (like 10/s)");
	scen_err("noise x/s\n", 1, 7, "'x/s' is not a rate");
	scen_err("noise 5000/s\n", 1, 7, "noise rate '5000/s' out of range (0 .. 1000/s)");
	scen_err("noise 1/s\nnoise 1/s\n", 2, 1, "noise given twice");
	scen_err("noise\n", 1, 6, "missing noise rate");
	scen_err("end\n", 1, 4, "missing end time");
	scen_err("end 1s\nend 2s\n", 2, 1, "end given twice");
	scen_err("at 5s key_blade\nend 1s\n", 2, 1, "end is before the last step (line 1)");
	scen_err("fault\n", 1, 6, "missing fault name");
	scen_err("fault gremlins\n", 1, 7, "unknown fault 'gremlins'");
	scen_err("fault latch_jammed\nfault latch_jammed\n", 2, 7,
		 "fault latch_jammed given twice (first on line 1)");
	scen_err("fault latch_jammed\nfault healthy\n", 2, 7,
		 "'healthy' cannot be combined with faults (line 1)");
	scen_err("fault healthy\nfault latch_jammed\n", 2, 7,
		 "faults cannot be combined with 'healthy' (line 1)");
	scen_err("fault healthy now\n", 1, 15, "unexpected 'now'");
	scen_err("fault bcm_fault mode=x\n", 1, 22, "mode must be no_command or no_request");
	scen_err("at\n", 1, 3, "missing time");
	scen_err("at 1\n", 1, 4, "'1' is not a duration");
	scen_err("at 25h key_blade\n", 1, 4, "is not a duration");
	scen_err("at 2000min key_blade\n", 1, 4, "duration '2000min' out of range");
	scen_err("at 1s\n", 1, 6, "missing command after the time");
	scen_err("at 2s key_blade\nat 1s key_blade\n", 2, 4,
		 "time goes backwards (line 1 is at 2.000s)");
	scen_err("at 1s status\n", 1, 7, "'status' is a control-channel query");
	scen_err("at 1s dtc\n", 1, 7, "'dtc' is a control-channel query");
	scen_err("at 1s jump\n", 1, 7, "unknown command 'jump'");
	scen_err("\n\n  at 1s press fob_trunk fob=8\n", 3, 29, "fob slot '8' out of range");
	scen_err("wait 1s\n", 1, 1, "unknown statement 'wait'");
	scen_err("seed 1 2\n", 1, 8, "unexpected '2'");
	{
		struct sim_scenario *sc = NULL;
		struct sim_parse_error err;
		assert_int_equal(sim_scenario_parse("at 1s key\0blade\n", 16, &sc, &err), -EINVAL);
		assert_int_equal(err.column, 10);
		assert_string_equal(err.message, "NUL byte in input");
	}
	{
		/* A line longer than the limit, through the streaming path. */
		struct sim_scenario_parser *p;
		struct sim_scenario *sc = NULL;
		struct sim_parse_error err;
		char buf[SIM_SCENARIO_LINE_MAX + 10];

		memset(buf, ' ', sizeof(buf));
		buf[0] = '#';
		assert_int_equal(sim_scenario_parser_new(&p), 0);
		assert_int_equal(sim_scenario_parser_feed(p, "\n", 1, &err), 0);
		assert_int_equal(sim_scenario_parser_feed(p, buf, sizeof(buf), &err), -EINVAL);
		assert_int_equal(err.line, 2);
		assert_non_null(strstr(err.message, "line too long (at most 1024 bytes)"));
		/* Sticky. */
		assert_int_equal(sim_scenario_parser_finish(p, &sc, &err), -EINVAL);
		assert_null(sc);
		sim_scenario_parser_free(p);
	}
	{
		/* Too many steps. */
		size_t n = SIM_SCENARIO_STEPS_MAX + 1, len = 0;
		char *text = malloc(n * 16 + 1);
		struct sim_scenario *sc = NULL;
		struct sim_parse_error err;
		assert_non_null(text);
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(text + len, "at 1s key_blade\n");
		assert_int_equal(sim_scenario_parse(text, len, &sc, &err), -EINVAL);
		assert_int_equal(err.line, n);
		assert_non_null(strstr(err.message, "too many steps (at most 10000)"));
		free(text);
	}
}

static void scenario_runs(void **state)
{
	static const char text[] = "seed 7\n"
				   "fault hinge_wiring_open\n"
				   "at 1s press fob_trunk distance=1m\n"
				   "at 3s press interior\n"
				   "at 3.5s key_blade\n"
				   "at 5s close_lid\n"
				   "at 5s fault clear\n"
				   "at 7s press interior\n"
				   "end 9s\n";
	struct sim_scenario *sc;
	struct sim_parse_error err;
	struct sim_model_config cfg;
	struct sim_model *m;
	struct sim_event e;
	size_t cursor = 0;
	int64_t key_at = -1, fault_cleared_at = -1;
	unsigned outputs = 0, latch_releases = 0;

	assert_int_equal(sim_scenario_parse(text, sizeof(text) - 1, &sc, &err), 0);
	sim_model_config_init(&cfg);
	sim_scenario_model_config(sc, &cfg);
	assert_int_equal(sim_model_new(&cfg, &m), 0);
	assert_int_equal(sim_scenario_start(sc, m), 0);
	assert_true(sim_model_fault_active(m, SIM_FAULT_HINGE_WIRING_OPEN));
	/* Coarse steps: every action still happens at its exact time. */
	for (int64_t t = 0; t <= sim_scenario_end_us(sc); t += 333 * MS)
		assert_int_equal(sim_scenario_advance(sc, m, &cursor, t), 0);
	assert_int_equal(cursor, sim_scenario_n_steps(sc));
	while (sim_model_pop_event(m, &e) > 0) {
		if (e.type == SIM_EVENT_KEY_BLADE)
			key_at = e.t_us;
		if (e.type == SIM_EVENT_FAULT && e.b == 0)
			fault_cleared_at = e.t_us;
		if (e.type == SIM_EVENT_OUTPUT_ON)
			outputs++;
		if (e.type == SIM_EVENT_LATCH_RELEASED)
			latch_releases++;
	}
	assert_int_equal(key_at, 3500 * MS);
	assert_int_equal(fault_cleared_at, 5 * S);
	assert_int_equal(outputs, 3);
	assert_int_equal(latch_releases, 2); /* key blade, then the repaired interior release */
	assert_true(sim_model_signals(m)->ajar);
	sim_model_free(m);
	sim_scenario_free(sc);
}

static void scenario_failing_step(void **state)
{
	static const char text[] = "at 1s fault remove latch_jammed\n";
	struct sim_scenario *sc;
	struct sim_parse_error err;
	struct sim_model *m;
	size_t cursor = 0;

	assert_int_equal(sim_scenario_parse(text, sizeof(text) - 1, &sc, &err), 0);
	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_scenario_advance(sc, m, &cursor, 2 * S), -ENOENT);
	assert_int_equal(cursor, 0);
	assert_int_equal(sim_scenario_step(sc, cursor)->line, 1);
	sim_model_free(m);
	sim_scenario_free(sc);
}


/* --- the shipped data agree with the model ------------------------------------------ */
static char *slurp(const char *rel, size_t *ret_len)
{
	char path[4096];
	FILE *f;
	char *buf;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", BODYDIAG_SOURCE_ROOT, rel);
	f = fopen(path, "re");
	assert_non_null(f);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

static void count_warning(void *userdata, const char *file, unsigned line, unsigned column,
			  const char *message)
{
	(*(unsigned *)userdata)++;
	print_message("%s:%u:%u: %s\n", file, line, column, message);
}

static const struct dbc_signal *sig(const struct dbc *db, const char *msg, const char *name)
{
	const struct dbc_message *m = dbc_find_message_by_name(db, msg);
	const struct dbc_signal *s;

	assert_non_null(m);
	s = dbc_message_find_signal(m, name);
	if (!s)
		fail_msg("%s.%s missing", msg, name);
	return s;
}

typedef const char *(*name_fn)(unsigned v);
static const char *n_inhibit(unsigned v) { return sim_inhibit_name((enum sim_inhibit)v); }
static const char *n_source(unsigned v) { return sim_release_source_name((enum sim_release_source)v); }
static const char *n_tg(unsigned v) { return sim_telegram_status_name((enum sim_telegram_status)v); }
static const char *n_button(unsigned v) { return sim_rke_button_name((enum sim_rke_button)v); }
static const char *n_gear(unsigned v) { return sim_gear_name((enum sim_gear)v); }
static const char *n_ign(unsigned v) { return sim_ignition_name((enum sim_ignition)v); }

static void assert_labels(const struct dbc_signal *s, unsigned max, name_fn fn)
{
	for (unsigned v = 0; v < max; v++) {
		const char *label = dbc_signal_choice_label(s, v);
		if (!label || strcasecmp(label, fn(v)) != 0)
			fail_msg("%s value %u: DBC '%s', model '%s'", dbc_signal_name(s), v,
				 label ? label : "(none)", fn(v));
	}
}

static double roundtrip(const struct dbc *db, const char *msg, const char *name, double v)
{
	const struct dbc_message *m = dbc_find_message_by_name(db, msg);
	struct dbc_value vals[16] = {0};
	struct dbc_sample out[16];
	uint8_t data[8];
	size_t n = dbc_message_signal_count(m);
	int k;

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		vals[i].type = DBC_VALUE_FLOAT;
		vals[i].f = strcmp(dbc_signal_name(dbc_message_signal_at(m, i)), name) == 0 ? v : 0.0;
		/* The RSSI's zero is -150 dBm, anything else encodes raw 0 as 0. */
		if (strcmp(dbc_signal_name(dbc_message_signal_at(m, i)), "RkeRssi") == 0 &&
		    strcmp(name, "RkeRssi") != 0)
			vals[i].f = -150.0;
	}
	assert_int_equal(dbc_encode(m, vals, data, sizeof(data)), dbc_message_length(m));
	k = dbc_decode(m, data, dbc_message_length(m), out, 16, NULL);
	assert_true(k > 0);
	for (int i = 0; i < k; i++)
		if (strcmp(dbc_signal_name(out[i].signal), name) == 0)
			return dbc_value_as_double(out[i].value);
	fail_msg("%s not decoded", name);
	return 0.0;
}

static void data_dbc(void **state)
{
	struct dbc *db = NULL;
	struct dbc_error err;
	unsigned warnings = 0;
	size_t len;
	char *text = slurp("dbc/bodydiag-sim.dbc", &len);

	if (dbc_parse(text, len, "bodydiag-sim.dbc", count_warning, &warnings, &err, &db) < 0)
		fail_msg("%u:%u: %s", err.line, err.column, err.message);
	free(text);
	assert_int_equal(warnings, 0);
	assert_labels(sig(db, "BCM_TrunkStatus", "TrunkInhibitReason"), _SIM_INHIBIT_MAX, n_inhibit);
	assert_labels(sig(db, "BCM_TrunkStatus", "TrunkReleaseRequest"), _SIM_RELEASE_MAX, n_source);
	assert_labels(sig(db, "BCM_RkeStatus", "RkeTelegramStatus"), _SIM_TELEGRAM_MAX, n_tg);
	assert_labels(sig(db, "BCM_RkeStatus", "RkeButton"), _SIM_RKE_BUTTON_MAX, n_button);
	assert_labels(sig(db, "BCM_VehicleState", "GearPosition"), _SIM_GEAR_MAX, n_gear);
	assert_labels(sig(db, "BCM_VehicleState", "IgnitionState"), _SIM_IGNITION_MAX, n_ign);
	assert_string_equal(dbc_signal_choice_label(sig(db, "BCM_RkeStatus", "RkeButton"), 3),
			    "TRUNK");

	for (size_t i = 0; i < dbc_message_count(db); i++) {
		const struct dbc_message *m = dbc_message_at(db, i);
		unsigned ct = dbc_message_cycle_time(m);
		assert_false(dbc_message_is_extended(m));
		assert_true(dbc_message_id(m) <= 0x7FF);
		/* Cyclic frames 10-100 ms; the alarm's command frame is event-only. */
		if (strcmp(dbc_message_name(m), "ALARM_Command") == 0)
			assert_int_equal(ct, 0);
		else
			assert_in_range(ct, 10, 100);
		for (size_t j = 0; j < dbc_message_signal_count(m); j++) {
			const struct dbc_signal *s = dbc_message_signal_at(m, j);
			const char *n = dbc_signal_name(s);
			size_t nl = strlen(n);
			if (nl > 8 && strcmp(n + nl - 8, "_Counter") == 0)
				assert_int_equal(dbc_signal_length(s), 4);
			if (nl > 9 && strcmp(n + nl - 9, "_Checksum") == 0) {
				/* CRC over bytes 0..6, itself in byte 7. */
				assert_int_equal(dbc_signal_start(s), 56);
				assert_int_equal(dbc_signal_length(s), 8);
				assert_non_null(strstr(dbc_signal_comment(s), "J1850"));
			}
		}
	}

	/* What the model produces fits the DBC's ranges and resolution. */
	assert_true(fabs(roundtrip(db, "BCM_TrunkStatus", "TrunkActuatorCurrent", 28.0) - 28.0) < 0.006);
	assert_true(fabs(roundtrip(db, "BCM_TrunkStatus", "TrunkActuatorCurrent", 2.57) - 2.57) < 0.006);
	assert_true(roundtrip(db, "BCM_RkeStatus", "RkeRssi", -150) == -150);
	assert_true(roundtrip(db, "BCM_RkeStatus", "RkeRssi", -61) == -61);
	assert_true(fabs(roundtrip(db, "BCM_Power", "TrunkFuseVoltage", 12.4) - 12.4) < 0.011);
	assert_true(fabs(roundtrip(db, "BCM_VehicleState", "VehicleSpeed", 12.5) - 12.5) < 0.006);
	assert_true(roundtrip(db, "BCM_TrunkStatus", "TrunkInhibitReason", SIM_INHIBIT_LOCKED) ==
		    SIM_INHIBIT_LOCKED);
	dbc_free(db);
}

static void data_profile(void **state)
{
	size_t len;
	char *text = slurp("profiles/sim-2026.profile", &len);
	bool seen[_SIM_DTC_MAX] = {0};
	unsigned signals = 0, dtcs = 0, sources = 0;
	char *save = NULL;

	bool in_dtc = false;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '[')
			in_dtc = strncmp(line, "[dtc ", 5) == 0; /* [role] sections have sources too */
		if (strncmp(line, "signal = ", 9) == 0) {
			struct dbc_signal *s = NULL;
			struct dbc_error err;
			if (dbc_signal_parse(line + 9, strlen(line + 9), &err, &s) < 0)
				fail_msg("'%s': %s", line, err.message);
			dbc_signal_free(s);
			signals++;
		} else if (strncmp(line, "[dtc bcm ", 9) == 0) {
			bool known = false;
			for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
				char code[9];
				sim_dtc_format(sim_dtc_code((enum sim_dtc_id)i), code);
				if (strncmp(line + 9, code, 8) == 0 && line[17] == ']') {
					seen[i] = true;
					known = true;
				}
			}
			if (!known)
				fail_msg("profile DTC %s is not one the model sets", line);
			dtcs++;
		} else if (in_dtc && strncmp(line, "source = ", 9) == 0) {
			assert_true(strstr(line, "modelled on") || strstr(line, "no single OEM"));
			assert_non_null(strstr(line, "grade "));
			sources++;
		}
	}
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++)
		if (!seen[i])
			fail_msg("model DTC %u has no profile entry", i);
	assert_int_equal(sources, dtcs);
	assert_true(signals >= 30);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy),
		cmocka_unit_test(fob_battery_weak),
		cmocka_unit_test(fob_battery_weak_dtc_needs_three),
		cmocka_unit_test(fob_unprogrammed),
		cmocka_unit_test(unknown_fob),
		cmocka_unit_test(fuse_blown),
		cmocka_unit_test(hinge_wiring_open),
		cmocka_unit_test(hinge_wiring_intermittent),
		cmocka_unit_test(hinge_wiring_short),
		cmocka_unit_test(hinge_wiring_short_blows_fuse),
		cmocka_unit_test(actuator_worn),
		cmocka_unit_test(latch_jammed),
		cmocka_unit_test(bcm_fault_no_command),
		cmocka_unit_test(bcm_fault_no_request),
		cmocka_unit_test(aftermarket_alarm_inhibit),
		cmocka_unit_test(aftermarket_alarm_splice),
		cmocka_unit_test(two_faults),
		cmocka_unit_test(inhibits),
		cmocka_unit_test(switch_stuck),
		cmocka_unit_test(dtc_life_cycle),
		cmocka_unit_test(dtc_confirm_first_cycle_by_default),
		cmocka_unit_test(dtc_codes_and_format),
		cmocka_unit_test(determinism),
		cmocka_unit_test(api_edges),
		cmocka_unit_test(event_texts),
		cmocka_unit_test(crc),
		cmocka_unit_test(fault_catalogue),
		cmocka_unit_test(commands),
		cmocka_unit_test(command_errors),
		cmocka_unit_test(command_apply),
		cmocka_unit_test(scenario_ok),
		cmocka_unit_test(scenario_streaming),
		cmocka_unit_test(scenario_errors),
		cmocka_unit_test(scenario_runs),
		cmocka_unit_test(scenario_failing_step),
		cmocka_unit_test(data_dbc),
		cmocka_unit_test(data_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
