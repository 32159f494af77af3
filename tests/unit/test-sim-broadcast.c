/* SPDX-License-Identifier: MIT */
/*
 * The simulator's broadcast: frames of dbc/bodydiag-sim.dbc on the DBC's schedule,
 * decoded back with lib/dbc and compared with the model, counters and checksums
 * checked, event frames on change, the aftermarket node only while installed, jitter
 * and noise from the seed.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/dbc.h"
#include "broadcast.h"
#include "config.h"
#include "model.h"
#include "runner.h"

#define MS 1000LL
#define S 1000000LL

static struct dbc *load_dbc(void)
{
	char path[4096];
	static char buf[1 << 18];
	struct dbc *db = NULL;
	struct dbc_error err;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/dbc/bodydiag-sim.dbc", BODYDIAG_SOURCE_ROOT);
	f = fopen(path, "re");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (dbc_parse(buf, n, path, NULL, NULL, &err, &db) < 0)
		fail_msg("%u:%u %s", err.line, err.column, err.message);
	return db;
}

struct capture {
	struct bd_timed_frame *f;
	size_t n, cap;
	int64_t clock; /* where the last run ended (exclusive) */
	struct sim_runner *runner;
};

static void push(struct capture *c, const struct bd_timed_frame *f)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->f = realloc(c->f, c->cap * sizeof(*c->f));
		assert_non_null(c->f);
	}
	c->f[c->n++] = *f;
}

static void on_frame(void *userdata, const struct bd_timed_frame *f)
{
	push(userdata, f);
}

/* Runs model and broadcaster together for dur_us, the way the simulator does: its one
 * runner, resumed where the last run left off. */
static void run(struct sim_model *m, struct sim_broadcast *b, int64_t dur_us,
		struct capture *c)
{
	static const struct sim_runner_ops ops = {.frame = on_frame};
	int64_t t = c->clock > sim_model_now(m) ? c->clock : sim_model_now(m);

	if (!c->runner)
		assert_int_equal(sim_runner_new(&(struct sim_runner_config){.model = m, .broadcast = b},
						&ops, c, &c->runner),
				 0);
	assert_int_equal(sim_runner_run_until(c->runner, t + dur_us - 1), 0);
	c->clock = t + dur_us;
}

static size_t count_id(const struct capture *c, uint32_t id)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->f[i].frame.id == id;
	return n;
}

static double decoded(const struct dbc *db, const struct bd_frame *f, const char *name)
{
	const struct dbc_message *m = dbc_find_message(db, f->id, false);
	struct dbc_sample out[16];
	int n;

	assert_non_null(m);
	n = dbc_decode(m, f->data, f->len, out, 16, NULL);
	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		if (strcmp(dbc_signal_name(out[i].signal), name) == 0)
			return dbc_value_as_double(out[i].value);
	fail_msg("%s not in frame 0x%x", name, f->id);
	return 0.0;
}

static void schedule_and_content(void **state)
{
	struct dbc *db = load_dbc();
	struct sim_broadcast_config cfg = {.seed = 1};
	struct sim_broadcast *b = NULL;
	struct sim_model *m = NULL;
	struct capture c = {0};
	uint8_t last_counter[0x800];
	bool seen[0x800] = {0};

	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b), 0);
	run(m, b, 2 * S, &c);
	/* GenMsgCycleTime: 20, 10, 100, 100 ms; the alarm is not installed. */
	assert_in_range(count_id(&c, 0x1F0), 99, 101);
	assert_in_range(count_id(&c, 0x3A0), 199, 201);
	assert_in_range(count_id(&c, 0x3B0), 19, 21);
	assert_in_range(count_id(&c, 0x3C0), 19, 21);
	assert_int_equal(count_id(&c, 0x5A0), 0);
	assert_int_equal(count_id(&c, 0x5A1), 0);
	assert_int_equal(sim_broadcast_noise_count(b), 0);
	for (size_t i = 0; i < c.n; i++) {
		const struct bd_frame *f = &c.f[i].frame;
		uint8_t ctr = (uint8_t)(f->data[6] & 0x0F);
		assert_int_equal(f->len, 8);
		/* CRC-8 SAE J1850 of bytes 0..6 in byte 7. */
		assert_int_equal(f->data[7], sim_crc8_j1850(f->data, 7));
		if (seen[f->id])
			assert_int_equal(ctr, (last_counter[f->id] + 1) & 0x0F);
		seen[f->id] = true;
		last_counter[f->id] = ctr;
	}
	/* Content decodes back to the model's values. */
	for (size_t i = 0; i < c.n; i++) {
		const struct bd_frame *f = &c.f[i].frame;
		if (f->id == 0x3C0)
			assert_true(fabs(decoded(db, f, "TrunkFuseVoltage") - 12.4) < 0.03);
		if (f->id == 0x3B0)
			assert_true(decoded(db, f, "RkeRssi") == -150.0);
		if (f->id == 0x1F0)
			assert_true(decoded(db, f, "GearPosition") == SIM_GEAR_P);
	}
	free(c.f);
	sim_runner_free(c.runner);
	sim_broadcast_free(b);
	sim_model_free(m);
	dbc_free(db);
}

static void events_follow_the_model(void **state)
{
	struct dbc *db = load_dbc();
	struct sim_broadcast_config cfg = {.seed = 2};
	struct sim_broadcast *b = NULL;
	struct sim_model *m = NULL;
	struct capture c = {0};
	bool trunk_seen = false, cmd_seen = false, current_seen = false, ajar_seen = false;
	size_t rke = 0;

	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b), 0);
	run(m, b, 500 * MS, &c);
	c.n = 0;
	assert_int_equal(sim_model_press(m, SIM_BUTTON_FOB_TRUNK, 0, 1.0, 0), 0);
	run(m, b, 1500 * MS, &c);
	for (size_t i = 0; i < c.n; i++) {
		const struct bd_frame *f = &c.f[i].frame;
		if (f->id == 0x3B0) {
			rke++;
			if (decoded(db, f, "RkeButton") == SIM_RKE_BUTTON_TRUNK) {
				trunk_seen = true;
				assert_true(decoded(db, f, "RkeRssi") > -80.0);
			}
		}
		if (f->id == 0x3A0) {
			if (decoded(db, f, "TrunkActuatorCmd") == 1.0)
				cmd_seen = true;
			if (decoded(db, f, "TrunkActuatorCurrent") > 2.0)
				current_seen = true;
			if (decoded(db, f, "TrunkAjar") == 1.0)
				ajar_seen = true;
		}
	}
	assert_true(trunk_seen);
	assert_true(cmd_seen && current_seen && ajar_seen);
	/* 15 cyclic + at least one event frame for the telegram and one when it clears. */
	assert_true(rke >= 16);
	/* The event frame goes out in the same millisecond as the telegram. */
	{
		bool first = false;
		for (size_t i = 0; i < c.n && !first; i++) {
			const struct bd_frame *f = &c.f[i].frame;
			if (f->id == 0x3B0 && decoded(db, f, "RkeButton") == SIM_RKE_BUTTON_TRUNK) {
				first = true;
				assert_int_equal(c.f[i].t_us % SIM_MODEL_TICK_US, 0);
			}
		}
	}
	free(c.f);
	sim_runner_free(c.runner);
	sim_broadcast_free(b);
	sim_model_free(m);
	dbc_free(db);
}

static void aftermarket_node(void **state)
{
	struct dbc *db = load_dbc();
	struct sim_broadcast_config cfg = {.seed = 3};
	struct sim_broadcast *b = NULL;
	struct sim_model *m = NULL;
	struct capture c = {0};
	size_t cmd_frames = 0;

	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b), 0);
	run(m, b, 300 * MS, &c);
	assert_int_equal(count_id(&c, 0x5A0) + count_id(&c, 0x5A1), 0);
	assert_int_equal(sim_model_fault_add(m, SIM_FAULT_AFTERMARKET_ALARM, NULL), 0);
	c.n = 0;
	run(m, b, 1 * S, &c);
	assert_in_range(count_id(&c, 0x5A0), 9, 11);
	/* Event-only command frame: once plus two repetitions. */
	cmd_frames = count_id(&c, 0x5A1);
	assert_int_equal(cmd_frames, 3);
	for (size_t i = 0; i < c.n; i++)
		if (c.f[i].frame.id == 0x5A1) {
			assert_int_equal(c.f[i].frame.len, 2);
			assert_true(decoded(db, &c.f[i].frame, "AmTrunkInhibitRequest") == 1.0);
		}
	c.n = 0;
	assert_int_equal(sim_model_set_aftermarket_armed(m, false), 0);
	run(m, b, 1 * S, &c);
	assert_int_equal(count_id(&c, 0x5A1), 3);
	for (size_t i = 0; i < c.n; i++)
		if (c.f[i].frame.id == 0x5A1)
			assert_true(decoded(db, &c.f[i].frame, "AmTrunkInhibitRequest") == 0.0);
	c.n = 0;
	assert_int_equal(sim_model_fault_remove(m, SIM_FAULT_AFTERMARKET_ALARM), 0);
	run(m, b, 1 * S, &c);
	assert_int_equal(count_id(&c, 0x5A0) + count_id(&c, 0x5A1), 0);
	free(c.f);
	sim_runner_free(c.runner);
	sim_broadcast_free(b);
	sim_model_free(m);
	dbc_free(db);
}

static void jitter_and_noise(void **state)
{
	struct dbc *db = load_dbc();
	struct sim_broadcast_config cfg = {.seed = 4, .jitter_us = 5 * MS, .noise_per_s = 50.0};
	struct sim_broadcast *b = NULL, *b2 = NULL;
	struct sim_model *m = NULL, *m2 = NULL;
	struct capture c = {0}, c2 = {0};
	int64_t prev = -1, min_gap = INT64_MAX, max_gap = 0;
	size_t noise = 0;

	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_model_new(NULL, &m2), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b2), 0);
	run(m, b, 10 * S, &c);
	run(m2, b2, 10 * S, &c2);
	/* Same seed, same bus. */
	assert_int_equal(c.n, c2.n);
	assert_memory_equal(c.f, c2.f, c.n * sizeof(*c.f));
	for (size_t i = 0; i < c.n; i++) {
		const struct bd_timed_frame *f = &c.f[i];
		if (f->frame.id == 0x3A0) {
			if (prev >= 0) {
				int64_t gap = f->t_us - prev;
				if (gap < min_gap)
					min_gap = gap;
				if (gap > max_gap)
					max_gap = gap;
			}
			prev = f->t_us;
		}
		if (!dbc_find_message(db, f->frame.id, false)) {
			noise++;
			assert_true(f->frame.id < 0x700); /* never in the diagnostic range */
			assert_true(f->frame.len <= 8);
		}
	}
	/* 10 ms +- 5 ms, and it does vary. */
	assert_true(min_gap >= 5 * MS && min_gap < 9 * MS);
	assert_true(max_gap <= 15 * MS && max_gap > 11 * MS);
	assert_in_range(count_id(&c, 0x3A0), 995, 1001);
	assert_int_equal(noise, sim_broadcast_noise_count(b));
	assert_in_range(noise, 400, 600); /* Poisson, 50/s over 10 s */
	free(c.f);
	sim_runner_free(c.runner);
	free(c2.f);
	sim_runner_free(c2.runner);
	sim_broadcast_free(b);
	sim_broadcast_free(b2);
	sim_model_free(m);
	sim_model_free(m2);
	dbc_free(db);
}

static void event_min_gap(void **state)
{
	struct dbc *db = load_dbc();
	struct sim_broadcast_config cfg = {.seed = 5};
	struct sim_broadcast *b = NULL;
	struct sim_model *m = NULL;
	struct sim_signals s;
	struct bd_timed_frame out[SIM_BROADCAST_MAX_BURST];
	int64_t next;
	int n;
	bool sent_at_3500 = false, fob_seen = false;

	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b), 0);
	s = *sim_model_signals(m);
	assert_true(sim_broadcast_poll(b, &s, 0, out, SIM_BROADCAST_MAX_BURST, &next) >= 0);
	/* First change: out at once. */
	s.trunk_seq++;
	s.interior_switch = true;
	n = sim_broadcast_poll(b, &s, 3000, out, SIM_BROADCAST_MAX_BURST, &next);
	assert_true(n >= 1);
	{
		bool found = false;
		for (int i = 0; i < n; i++)
			found |= out[i].frame.id == 0x3A0;
		assert_true(found);
	}
	/* Second change 0.5 ms later: held back to GenMsgDelayTime (2 ms) unless the
	 * cyclic frame happens to be due, which carries it as well. */
	s.trunk_seq++;
	s.release_request = SIM_RELEASE_FOB;
	n = sim_broadcast_poll(b, &s, 3500, out, SIM_BROADCAST_MAX_BURST, &next);
	for (int i = 0; i < n; i++)
		if (out[i].frame.id == 0x3A0) {
			sent_at_3500 = true;
			fob_seen |= decoded(db, &out[i].frame, "TrunkReleaseRequest") == 1.0;
		}
	if (!sent_at_3500) {
		assert_true(next <= 5000);
		n = sim_broadcast_poll(b, &s, 5000, out, SIM_BROADCAST_MAX_BURST, &next);
		for (int i = 0; i < n; i++)
			if (out[i].frame.id == 0x3A0)
				fob_seen |= decoded(db, &out[i].frame, "TrunkReleaseRequest") == 1.0;
	}
	assert_true(fob_seen);
	sim_broadcast_free(b);
	sim_model_free(m);
	dbc_free(db);
}

static void setup_errors(void **state)
{
	static const char small[] = "VERSION \"\"\nBU_: BCM\n"
				    "BO_ 496 BCM_VehicleState: 8 BCM\n"
				    " SG_ VehicleSpeed : 0|16@1+ (0.01,0) [0|300] \"km/h\" X\n";
	struct dbc *db = NULL, *real = load_dbc();
	struct sim_broadcast_config cfg = {0};
	struct sim_broadcast *b = NULL;
	struct sim_model *m = NULL;
	struct bd_timed_frame out[SIM_BROADCAST_MAX_BURST];
	int64_t next;

	assert_int_equal(dbc_parse(small, sizeof(small) - 1, "small", NULL, NULL, NULL, &db), 0);
	assert_int_equal(sim_broadcast_new(db, &cfg, &b), -ENOENT);
	assert_null(b);
	cfg.jitter_us = 200 * MS;
	assert_int_equal(sim_broadcast_new(real, &cfg, &b), -EINVAL);
	cfg.jitter_us = 0;
	cfg.noise_per_s = -1;
	assert_int_equal(sim_broadcast_new(real, &cfg, &b), -EINVAL);
	assert_int_equal(sim_broadcast_new(real, NULL, &b), -EINVAL);
	cfg.noise_per_s = 0;
	assert_int_equal(sim_broadcast_new(real, &cfg, &b), 0);
	assert_int_equal(sim_model_new(NULL, &m), 0);
	assert_int_equal(sim_broadcast_poll(b, sim_model_signals(m), 0, out, 3, &next), -ENOBUFS);
	assert_true(sim_broadcast_poll(b, sim_model_signals(m), 5000, out,
				       SIM_BROADCAST_MAX_BURST, &next) >= 0);
	assert_int_equal(sim_broadcast_poll(b, sim_model_signals(m), 4000, out,
					    SIM_BROADCAST_MAX_BURST, &next), -EINVAL);
	assert_null(sim_broadcast_free(NULL));
	sim_broadcast_free(b);
	sim_model_free(m);
	dbc_free(db);
	dbc_free(real);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schedule_and_content),
		cmocka_unit_test(events_follow_the_model),
		cmocka_unit_test(aftermarket_node),
		cmocka_unit_test(jitter_and_noise),
		cmocka_unit_test(event_min_gap),
		cmocka_unit_test(setup_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
