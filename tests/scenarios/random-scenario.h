/* SPDX-License-Identifier: MIT */
/*
 * The randomised scenario matrix's generator (header-only, no dependencies): one seed
 * gives one bodydiag-sim scenario (tools/bodydiag-sim/README.md) of a person trying the
 * trunk the way people do: the fob, the interior button and the key blade, each at least
 * once, in a random order with repeats, 0.5-4 s apart, the lid closed in between or left
 * open, with seeded broadcast jitter and bus noise. The same seed gives the same text on
 * every machine (integer arithmetic only), so a failure is reproduced from its seed:
 * `matrix-tool scenario SEED FAULT... > case.scn`, then `bodydiag-sim --scenario case.scn
 * --candump case.log --marks case.marks` and `bodydiag analyze`.
 *
 * Used by tests/unit/test-rules-random.c (offline, in-process) and
 * tests/scenarios/matrix-tool.c (the command, for the live sample in the CAN bench).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RANDOM_SCENARIO_MAX_ACTIONS 7u
#define RANDOM_SCENARIO_MAX_TEXT 2048u

/* splitmix64: small, seedable, the same everywhere */
static inline uint64_t random_scenario_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* An integer in [lo, hi]. */
static inline unsigned random_scenario_range(uint64_t *s, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(random_scenario_next(s) % (uint64_t)(hi - lo + 1));
}

static inline int random_scenario_append(char *buf, size_t size, size_t *len, const char *line)
{
	int n = snprintf(buf + *len, size - *len, "%s", line);
	if (n < 0 || (size_t)n >= size - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

/*
 * The scenario of seed with faults (scenario syntax, "hinge_wiring_short blow_fuse=1"; none:
 * healthy) into buf. Returns its length, or -1 when buf is too small
 * (RANDOM_SCENARIO_MAX_TEXT always suffices).
 */
static inline int random_scenario(uint64_t seed, const char *const *faults, size_t n_faults,
				  char *buf, size_t size)
{
	static const char *const action[] = {"press fob_trunk", "press interior", "key_blade"};
	uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
	unsigned kinds[RANDOM_SCENARIO_MAX_ACTIONS];
	unsigned n = random_scenario_range(&s, 3, RANDOM_SCENARIO_MAX_ACTIONS);
	unsigned t_ms = random_scenario_range(&s, 1500, 2000);
	char line[160];
	size_t len = 0;

	/* every action at least once, then repeats, in a random order */
	for (unsigned i = 0; i < n; i++)
		kinds[i] = i < 3 ? i : random_scenario_range(&s, 0, 2);
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = random_scenario_range(&s, 0, i), k = kinds[i];
		kinds[i] = kinds[j];
		kinds[j] = k;
	}
	snprintf(line, sizeof(line), "format 1\nseed %llu\n", (unsigned long long)seed);
	if (random_scenario_append(buf, size, &len, line) < 0)
		return -1;
	for (size_t i = 0; i < n_faults; i++) {
		snprintf(line, sizeof(line), "fault %s\n", faults[i]);
		if (random_scenario_append(buf, size, &len, line) < 0)
			return -1;
	}
	if (!n_faults && random_scenario_append(buf, size, &len, "fault healthy\n") < 0)
		return -1;
	snprintf(line, sizeof(line), "jitter %ums\nnoise %u/s\n", random_scenario_range(&s, 2, 20),
		 random_scenario_range(&s, 20, 200));
	if (random_scenario_append(buf, size, &len, line) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		unsigned gap = random_scenario_range(&s, 500, 4000);
		snprintf(line, sizeof(line), "at %u.%03us %s\n", t_ms / 1000, t_ms % 1000,
			 action[kinds[i]]);
		if (random_scenario_append(buf, size, &len, line) < 0)
			return -1;
		/* half the time the person shuts the lid before the next try (a no-op when it
		 * did not open), else it stays as it is */
		if (gap >= 1000 && random_scenario_range(&s, 0, 1)) {
			unsigned c = t_ms + random_scenario_range(&s, 300, gap - 200);
			snprintf(line, sizeof(line), "at %u.%03us close_lid\n", c / 1000, c % 1000);
			if (random_scenario_append(buf, size, &len, line) < 0)
				return -1;
		}
		if (i + 1 < n)
			t_ms += gap;
	}
	/* past the longest window (the key blade's 5 s) */
	t_ms += 6000;
	snprintf(line, sizeof(line), "end %u.%03us\n", t_ms / 1000, t_ms % 1000);
	if (random_scenario_append(buf, size, &len, line) < 0)
		return -1;
	return (int)len;
}
