/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * prng: the one pseudo-random generator of the tests and benchmarks (xorshift64*,
 * Vigna 2016). Not for anything secret: it is here so that a seed printed by a failing
 * run, or a benchmark's generated data, is the same on every machine and every run.
 * The caller keeps the state (no globals), any non-zero start value.
 *
 * Not used by scenarios/random-scenario.h (splitmix64) nor by unit/test-rules.c's car
 * (an LCG): their seeds are printed by failures and written in notes, and another
 * generator would turn every recorded seed into a different scenario.
 */

#include <stdint.h>

#define PRNG_SEED_DEFAULT 0x9E3779B97F4A7C15ull

static inline uint64_t prng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}
