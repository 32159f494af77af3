/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rules: the evaluator of the rule language. A parsed set (bodydiag/rules_lang.h) is
 * compiled for one vehicle, then fed timeline events; the findings, the verdict, the
 * chain links and the next question are in bodydiag/rules_verdict.h.
 *
 *  1. Compile: rules_engine_new() binds a set to a symbol table and a vehicle (make,
 *     platform, modules: `scope` clauses decide which rules are active; the roles the
 *     vehicle provides), interning every role, mark and module name, so evaluation
 *     compares integers only. Timeline signal events carry role samples (the symbol of a
 *     role's name, its normalised value). Conditions are indexed by the role, mark and
 *     event kind they read: an event that no rule reads costs one array lookup.
 *  2. Evaluate: rules_feed() with every timeline event in time order, rules_advance()
 *     when time passes without events (windows, absences and durations expire).
 *
 * Truth has four values: a condition holds, fails, is undecided (an action not yet
 * done, a window still open) or is not observable: it reads a role the vehicle does not
 * provide, or one not a single sample of which has arrived, or DTCs of a module whose
 * fault memory was never read. A rule that cannot be decided for that reason is
 * reported as not observable on this vehicle, never as possible.
 *
 * Effects are attributed to actions (`action` items, rules/README.md "Actions"): a
 * sequence anchored on an action's mark sees only the effects that belong to that mark,
 * by what the car says caused them (a source role), the mechanical path and the order of
 * the actions, so presses may follow each other at a person's pace.
 *
 * The same engine serves the daemon (live) and the offline analyzer: both produce
 * timeline events and feed them here.
 *
 * Memory is bounded and allocated at rules_engine_new(): per-signal state for the
 * symbols known to the symbol table at that time (signals interned later are ignored),
 * RULES_MAX_INSTANCES open windows per sequence, the last 32 action marks, RULES_MAX_DTCS
 * DTCs remembered, RULES_MAX_EVIDENCE evidence entries per finding.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/rules_lang.h"
#include "bodydiag/rules_verdict.h"
#include "bodydiag/timeline.h"

#define RULES_MAX_INSTANCES 8u /* open windows per sequence; older ones dropped */
#define RULES_MAX_DTCS 128u    /* DTCs whose status history the engine keeps */
#define RULES_MAX_READ_MODULES 64u /* modules whose DTC reads are remembered */

/* What `scope` clauses and observability are checked against. Every field may be NULL /
 * empty. */
struct rules_vehicle {
	const char *make;
	const char *platform;
	const char *const *modules; /* modules of the profile ("bcm", ...) */
	size_t n_modules;
	/* per registry role (role_count() entries): nonzero when the vehicle can show it
	 * (a profile maps it); NULL: every role may be shown */
	const uint8_t *roles;
};

struct rules_engine;

/*
 * Compiles set for a vehicle. Rules whose scope names a make or platform other than the
 * vehicle's (or one the vehicle leaves unset: the same DTC means different things on
 * different platforms) are inactive; a `scope module M` rule is inactive when the
 * vehicle lists modules and M is not among them, and its DTC conditions only match DTCs
 * reported by module M. syms (shared with the decoders; must outlive the engine) gets
 * every name the rules use. vehicle may be NULL (nothing known: every role may show).
 * Returns 0 and *ret_engine; -ENOMEM, -E2BIG (symbol table full) with err filled.
 */
int rules_engine_new(const struct rules_set *set, struct timeline_symbols *syms,
		     const struct rules_vehicle *vehicle, struct rules_error *err,
		     struct rules_engine **ret_engine);
/* Accepts NULL, returns NULL. */
struct rules_engine *rules_engine_free(struct rules_engine *e);

static inline void rules_engine_freep(struct rules_engine **e)
{
	rules_engine_free(*e);
}

/* Rules active for the vehicle (scope), of those in the set. */
size_t rules_engine_active_count(const struct rules_engine *e);
/*
 * True when an active rule or link reads signal symbol index (TIMELINE_SYMBOL_SIGNAL: a
 * role's name) in a condition or lists it as `evidence`: what the daemon must decode,
 * and which profile DIDs the guided test should read after each action.
 */
bool rules_engine_reads_signal(const struct rules_engine *e, uint32_t index);

/* ---- evaluating ---- */

/*
 * Starts a new diagnosis session at now_us: forgets every finding, window, count and
 * DTC toggle history, keeps what is known about the vehicle's state (last values, which
 * roles were ever seen, DTC statuses and which fault memories were read), so that a
 * condition true right now holds from now_us on.
 */
void rules_reset(struct rules_engine *e, int64_t now_us);

/*
 * Feeds one event (in time order; an older time is taken as the newest time seen).
 * Closes windows that ended before ev->t_us first. Returns 0, -EINVAL for a malformed
 * event. Events for indices the engine does not know are ignored (0).
 */
int rules_feed(struct rules_engine *e, const struct timeline_event *ev);

/* Time passed without events: closes windows ending before now_us and completes
 * `for DURATION` holds reached by now_us. INT64_MAX (the deadline when nothing is
 * pending) changes nothing. */
void rules_advance(struct rules_engine *e, int64_t now_us);

/* Earliest time at which rules_advance() could change a result without new events
 * (a window closing, a hold completing); INT64_MAX when none. */
int64_t rules_next_deadline(const struct rules_engine *e);

/* Newest time the engine has seen (feed or advance); INT64_MIN before any. */
int64_t rules_now(const struct rules_engine *e);

/*
 * The numbers the active rules and links compare registry role `role` with in an order
 * (`signal actuator_current > 0.5`, `rises actuator_current above 3.5`, `<`, `<=`, `>=`,
 * also in a `while` clause; not `==`, `!=`), without 0 and without repeats, ascending: what a report draws on the role's lane. Writes the
 * first min(count, max) into ret and returns the count; 0 for a role without a number.
 */
size_t rules_engine_thresholds(const struct rules_engine *e, unsigned role, double *ret,
			       size_t max);

/* True when at least one sample of the registry role has arrived since the engine was
 * made. */
bool rules_role_seen(const struct rules_engine *e, unsigned role);
