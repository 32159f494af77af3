/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * engine_json: a diagnosis engine's result (lib/engine) as JSON, one shape for
 * `bodydiag analyze --json`, the daemon's `findings` and `diagnose` replies (docs/api.md)
 * and what the CLI prints as text from them: the body events, the roles the vehicle
 * showed, the verdict, the chain link by link, the findings (with what the ones that
 * cannot be told need) and the next question.
 *
 * Times are the engine's clock in seconds (a capture's own time offline, CLOCK_MONOTONIC
 * live); body events' `t` and the chain's `since` count from opts->t0_us.
 */

#include <jansson.h>
#include <stdint.h>

#include "json_text.h"

struct engine;

/* Where the input came from, for the words on what did not arrive. */
enum engine_json_input {
	ENGINE_JSON_CAPTURE, /* "its messages are not in the capture" */
	ENGINE_JSON_BUS,     /* "its messages were not seen on the bus" */
	ENGINE_JSON_INPUT_MAX,
};

struct engine_json_opts {
	int64_t t0_us;	  /* relative times count from here */
	int64_t since_us; /* body events before this are left out; INT64_MIN: all */
	enum engine_json_input input;
};

/*
 * Ranks the findings now (engine_next_question(), which evaluates) and describes them:
 * the members t0, body_events, body_events_dropped, roles, verdict, chain, findings,
 * dtcs, thresholds and next_question (null when none), written into the object w has
 * open (the caller may add members after them). The reply of `findings` is written so,
 * as text: the body events alone (up to ENGINE_MAX_TRANSITIONS) would be megabytes as
 * jansson objects. Returns 0, -ENOMEM.
 */
int engine_json_write(struct json_text *w, struct engine *e, const struct engine_json_opts *opts);

/* The same as an object of its own (the text read back: the same values, reals stay
 * reals). Returns a new reference; NULL when out of memory. */
json_t *engine_json_result(struct engine *e, const struct engine_json_opts *opts);
