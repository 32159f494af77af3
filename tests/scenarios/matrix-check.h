/* SPDX-License-Identifier: MIT */
/*
 * The scenario matrices' verdict on one result (header-only, jansson): the object of
 * `bodydiag analyze --json`, of the daemon's `findings` and `diagnose` replies
 * (daemon/engine_json.c). tests/unit/test-rules-random.c checks its offline cases with it,
 * tests/scenarios/matrix-tool (`check`) the live ones in the CAN bench; the Python
 * matrix (tests/tools/test-analyze-matrix.py) applies the same two checks.
 *
 *  - matrix_check(): the injected fault is the first finding, with the case's verdict;
 *    healthy: no cause holds.
 *  - matrix_check_passive(): a car seen only passively need not find the fault, but no
 *    wrong cause may hold (only the injected fault, the second fault, or what a fault makes
 *    the BCM do: the output lockout after a short), "fault" only on one of those, and a
 *    fault not found is reported as not observable with what it needs (or "no fault found"
 *    when every press worked, with the fault listed as not observable).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct matrix_expect {
	const char *expect;	   /* the finding that must come first */
	const char *verdict;	   /* and the verdict */
	const char *also;	   /* a second finding that may hold too; NULL or "" */
	const char *const *faults; /* scenario syntax; none = healthy */
	size_t n_faults;
};

static inline const char *matrix_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static inline bool matrix_holds_cause(json_t *res)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(res, "findings"), i,
			   f) if (!strcmp(matrix_str(f, "kind"), "cause") &&
				  !strcmp(matrix_str(f, "state"), "holds")) return true;
	return false;
}

/* The first finding's id, "-" when none. */
static inline const char *matrix_top(json_t *res)
{
	json_t *f = json_array_get(json_object_get(res, "findings"), 0);
	return f ? matrix_str(f, "id") : "-";
}

static inline bool matrix_check(json_t *res, const struct matrix_expect *x, char *why, size_t size)
{
	const char *verdict = matrix_str(res, "verdict");

	snprintf(why, size, "%s (%s)", matrix_top(res), verdict);
	if (!x->n_faults)
		return !matrix_holds_cause(res);
	return !strcmp(matrix_top(res), x->expect) && !strcmp(verdict, x->verdict);
}

static inline json_t *matrix_finding(json_t *res, const char *id)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(res, "findings"), i,
			   f) if (!strcmp(matrix_str(f, "id"), id)) return f;
	return NULL;
}

static inline bool matrix_allowed(const struct matrix_expect *x, const char *id)
{
	if (x->n_faults && !strcmp(id, x->expect))
		return true;
	if (x->also && x->also[0] && !strcmp(id, x->also))
		return true;
	/* what a fault makes the BCM do beside it */
	for (size_t i = 0; i < x->n_faults; i++)
		if (!strncmp(x->faults[i], "hinge_wiring_short", 18) &&
		    !strcmp(id, "release_blocked_lockout"))
			return true;
	return false;
}

static inline bool matrix_check_passive(json_t *res, const struct matrix_expect *x, char *why,
					size_t size)
{
	const char *verdict = matrix_str(res, "verdict");
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(res, "findings"), i, f)
	{
		if (strcmp(matrix_str(f, "state"), "holds") ||
		    !strcmp(matrix_str(f, "kind"), "normal") ||
		    matrix_allowed(x, matrix_str(f, "id")))
			continue;
		snprintf(why, size, "wrong cause %s (%s)", matrix_str(f, "id"), verdict);
		return false;
	}
	if (!strcmp(verdict, "fault") && !matrix_allowed(x, matrix_top(res))) {
		snprintf(why, size, "verdict fault on %s", matrix_top(res));
		return false;
	}
	if (!x->n_faults) {
		snprintf(why, size, "healthy: %s", verdict);
		return true;
	}
	f = matrix_finding(res, x->expect);
	if (f && !strcmp(matrix_str(f, "state"), "holds")) {
		snprintf(why, size, "found (%s)", verdict);
		return true;
	}
	/* not found: it must be said what cannot be seen */
	bool nobs = f && !strcmp(matrix_str(f, "state"), "not observable");
	if (!f || (nobs && !json_array_size(json_object_get(f, "missing"))) ||
	    (!strncmp(verdict, "no fault", 8) && !nobs)) {
		snprintf(why, size, "%s %s, not said to be unobservable (%s)", x->expect,
			 f ? matrix_str(f, "state") : "dropped", verdict);
		return false;
	}
	snprintf(why, size, "%s %s (%s)", x->expect, matrix_str(f, "state"), verdict);
	return true;
}
