/* SPDX-License-Identifier: MIT */
/*
 * random-scenario SEED [FAULT...]: prints the scenario of the randomised matrix's seed
 * (random-scenario.h) for bodydiag-sim, with the faults given (scenario syntax, one
 * argument each: "hinge_wiring_short blow_fuse=1"; none: healthy). A failure that
 * tests/unit/test-rules-random.c lists with its seed is reproduced with
 *   random-scenario 37 hinge_wiring_open > case.scn
 *   bodydiag-sim --scenario case.scn --candump case.log --marks case.marks
 *   bodydiag analyze --profile profiles/sim-2026.profile --marks case.marks case.log
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "random-scenario.h"

int main(int argc, char **argv)
{
	char text[RANDOM_SCENARIO_MAX_TEXT], *end;
	unsigned long long seed;
	int n;

	if (argc < 2) {
		fprintf(stderr, "usage: random-scenario SEED [FAULT...]\n");
		return 2;
	}
	errno = 0;
	seed = strtoull(argv[1], &end, 10);
	if (errno || *end || end == argv[1]) {
		fprintf(stderr, "random-scenario: bad seed '%s'\n", argv[1]);
		return 2;
	}
	n = random_scenario(seed, (const char *const *)argv + 2, (size_t)argc - 2, text,
			    sizeof(text));
	if (n < 0) {
		fprintf(stderr, "random-scenario: scenario too long\n");
		return 1;
	}
	fwrite(text, 1, (size_t)n, stdout);
	return 0;
}
