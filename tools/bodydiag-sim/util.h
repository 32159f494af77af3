/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * util: number parsing shared by the fault options and the scenario/command parser.
 * Input is a (pointer, length) token that is not NUL-terminated; numbers are parsed
 * with an end pointer and range checks, never atoi (style.md rule 5).
 */

#include <stddef.h>
#include <stdint.h>

/* Whole token must be a finite decimal number. 0, -EINVAL. */
int sim_util_parse_double(const char *s, size_t len, double *ret);
/* Whole token must be an unsigned integer (decimal or 0x hex) <= max. 0, -EINVAL, -ERANGE. */
int sim_util_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret);
/*
 * A number followed by a unit from units[] (NULL-terminated names, scale[] the factor of
 * each to the base unit). A bare number is accepted only when allow_bare is nonzero and
 * is taken in units[0]. 0, -EINVAL (malformed or unknown unit).
 */
int sim_util_parse_unit(const char *s, size_t len, const char *const *units,
			const double *scale, int allow_bare, double *ret);
