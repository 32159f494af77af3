/* SPDX-License-Identifier: MIT */
/*
 * The simulated car seen only passively (header-only): profiles/sim-2026.profile without
 * its [ecu], [did] and [dtc] sections, without the roles it reads by UDS (`did =`) and
 * without actuator_current, which most real cars do not broadcast. The same cut as
 * tests/tools/test-analyze-matrix.py's passive_profile() and tests/scenarios/vm-matrix's.
 */
#pragma once

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The passive profile of the profile text in (len bytes): a malloc'd copy of what stays,
 * *ret_len bytes, or NULL when out of memory. */
static inline char *passive_profile_text(const char *in, size_t len, size_t *ret_len)
{
	char *keep = malloc(len + 1);
	const char *sec = in;
	size_t out = 0;

	if (!keep)
		return NULL;
	while (sec < in + len) {
		/* one section: from a line starting with '[' to the next one */
		const char *end = sec;
		do {
			const char *nl = memchr(end, '\n', (size_t)(in + len - end));
			end = nl ? nl + 1 : in + len;
		} while (end < in + len && *end != '[');
		bool drop = !strncmp(sec, "[ecu ", 5) || !strncmp(sec, "[did ", 5) ||
			    !strncmp(sec, "[dtc ", 5) ||
			    !strncmp(sec, "[role actuator_current]", 23);
		for (const char *l = sec; !drop && l < end;) {
			drop = !strncmp(sec, "[role ", 6) && !strncmp(l, "did =", 5);
			const char *nl = memchr(l, '\n', (size_t)(end - l));
			l = nl ? nl + 1 : end;
		}
		if (!drop) {
			memcpy(keep + out, sec, (size_t)(end - sec));
			out += (size_t)(end - sec);
		}
		sec = end;
	}
	keep[out] = '\0';
	*ret_len = out;
	return keep;
}
