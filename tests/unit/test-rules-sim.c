/* SPDX-License-Identifier: MIT */
/*
 * rules/trunk.rules against the simulator's own model, end to end but without a bus,
 * through the real engine (lib/engine): the simulator's runner steps the model (faults
 * injected as the simulator does) and its DBC broadcast (cyclic jitter, random
 * unknown-id frames) into engine_feed_frame(); the guided test's DTC and DID reads are
 * answered by the simulator's UDS server and handed to engine_uds(), as the daemon hands
 * over its broker's exchanges; the guided test's loop (next question -> press -> watch
 * -> reads). For every case of tests/scenarios/matrix marked rules-sim, over several
 * seeds and with the mark on time and late, the top finding must be the injected fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim-matrix.h"

#define SEEDS 12u

/* The exchange as the daemon's broker hands it over: request and answer, no frames. */
static void read_direct(struct drive *d, const uint8_t *req, size_t len)
{
	uint8_t resp[4096];
	size_t n = 0;

	assert_int_equal(sim_uds_request(d->uds, d->now, false, req, len, resp, sizeof(resp), &n), 0);
	assert_true(n > 0);
	assert_int_equal(engine_uds(d->e, "bcm", d->now, req, len, resp, n), 0);
}

static void simulator_matrix(void **state)
{
	static const int64_t delays[] = {0, 150 * MS};
	struct matrix_case cases[MATRIX_MAX_CASES];
	size_t n_cases = matrix_load(MATRIX_RULES_SIM, cases, MATRIX_MAX_CASES);
	struct drive_bench b = {0};
	unsigned ok = 0, total = 0;

	assert_true(n_cases >= 16);
	drive_bench_load(&b);
	for (size_t k = 0; k < sizeof(delays) / sizeof(delays[0]); k++) {
		print_message("marks %lld ms after the action:\n", (long long)(delays[k] / MS));
		for (size_t i = 0; i < n_cases; i++) {
			unsigned good = 0;
			char trail[256], top[128], first_miss[512] = "";

			for (uint64_t seed = 1; seed <= SEEDS; seed++) {
				struct drive d = {.mark_delay = delays[k], .read = read_direct};

				if (drive_diagnose(&b, &cases[i], seed, &d, trail, sizeof(trail), top,
						   sizeof(top)))
					good++;
				else if (!first_miss[0])
					snprintf(first_miss, sizeof(first_miss),
						 "  seed %llu: asked %s -> %s",
						 (unsigned long long)seed, trail, top);
				drive_free(&d);
			}
			print_message("  %-34s %u/%u%s\n", cases[i].label, good, SEEDS, first_miss);
			ok += good;
			total += SEEDS;
		}
	}
	print_message("simulator matrix: %u/%u correct\n", ok, total);
	drive_bench_free(&b);
	assert_int_equal(ok, total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(simulator_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
