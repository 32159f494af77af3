/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rules: the diagnosis rule language (rules/README.md has the grammar), its compiler and
 * an incremental evaluator over timeline events.
 *
 * Three stages:
 *  1. Parse (pure: bytes in, no file I/O): struct rules_set, names still as text. Every
 *     mistake is reported with file, line, column and a plain message.
 *  2. Compile: rules_engine_new() binds a set to a symbol table and a vehicle (make,
 *     platform, modules: `scope` clauses decide which rules are active), interning every
 *     signal, mark and module name, so evaluation compares integers only. Conditions
 *     are indexed by the signal, mark and event kind they read: an event that no rule
 *     reads costs one array lookup.
 *  3. Evaluate: rules_feed() with every timeline event in time order, rules_advance()
 *     when time passes without events (windows, absences and durations expire), and
 *     rules_evaluate() to get ranked findings, a verdict and (rules_next_question()) the
 *     next splitting action for the guided test. Time is injected; nothing reads a clock.
 *
 * The same engine serves the daemon (live) and the offline analyzer: both produce
 * timeline events and feed them here.
 *
 * Memory is bounded and allocated at rules_engine_new(): per-signal state for the
 * signals known to the symbol table at that time (signals interned later are ignored),
 * RULES_MAX_INSTANCES open windows per sequence, RULES_MAX_DTCS DTCs remembered,
 * RULES_MAX_EVIDENCE evidence entries per finding.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/timeline.h"

#define RULES_MAX_SOURCE (1u << 20) /* bytes of one rule file */
#define RULES_MAX_RULES 512u	    /* rules + inhibits + normals + questions per file */
#define RULES_MAX_CONDITIONS 128u   /* condition nodes per rule */
#define RULES_MAX_DEPTH 8u	    /* nesting of any/all groups */
#define RULES_MAX_STEPS 8u	    /* steps of one `after mark` sequence */
#define RULES_MAX_COUNT 64u	    /* N of `count ... >= N` and of `flapping N` */
#define RULES_MAX_LIST 32u	    /* entries of rules_out / covers / evidence / marks */
#define RULES_MAX_DURATION_US (24LL * 3600 * 1000000) /* longest window: one day */
#define RULES_MAX_INSTANCES 4u /* open windows per sequence; older ones dropped */
#define RULES_MAX_DTCS 128u    /* DTCs whose status history the engine keeps */
#define RULES_MAX_EVIDENCE 16u /* evidence entries per finding */

struct rules_error {
	char file[256];
	unsigned line;	 /* 1-based */
	unsigned column; /* 1-based, bytes */
	char message[192];
};

/* ---- parsing ---- */

struct rules_set;
struct rules_parser;

/*
 * Streaming parser over memory. filename (may be NULL: "<memory>") is used in errors
 * only. _feed appends bytes (-EFBIG past RULES_MAX_SOURCE, -ENOMEM). _finish parses all
 * that was fed: 0 and *ret_set (owned by the caller); -EINVAL on a mistake, with err
 * (may be NULL) filled; -ENOMEM. The parser is freed, not reused, after _finish.
 */
struct rules_parser *rules_parser_new(const char *filename);
int rules_parser_feed(struct rules_parser *p, const void *buf, size_t len);
int rules_parser_finish(struct rules_parser *p, struct rules_error *err,
			struct rules_set **ret_set);
struct rules_parser *rules_parser_free(struct rules_parser *p);

/* One-shot form. */
int rules_parse(const void *buf, size_t len, const char *filename, struct rules_error *err,
		struct rules_set **ret_set);

/* Accepts NULL, returns NULL. A set must outlive the engines made from it. */
struct rules_set *rules_set_free(struct rules_set *set);

enum rules_kind {
	RULES_KIND_CAUSE,   /* `rule`: a failed part or a fault */
	RULES_KIND_INHIBIT, /* `inhibit`: a lockout that blocks the release on purpose */
	RULES_KIND_NORMAL,  /* `normal`: the chain worked end to end */
	RULES_KIND_MAX,
};

/* Rules (causes, inhibits, normals) in file order; questions apart. */
size_t rules_set_rule_count(const struct rules_set *set);
const char *rules_set_rule_id(const struct rules_set *set, size_t i);	    /* NULL out of range */
enum rules_kind rules_set_rule_kind(const struct rules_set *set, size_t i); /* CAUSE out of range */
size_t rules_set_question_count(const struct rules_set *set);

/* ---- compiling ---- */

/* What `scope` clauses are checked against. Every field may be NULL / empty. */
struct rules_vehicle {
	const char *make;
	const char *platform;
	const char *const *modules; /* modules of the profile ("bcm", ...) */
	size_t n_modules;
};

struct rules_engine;

/*
 * Compiles set for a vehicle. Rules whose scope names a make or platform other than the
 * vehicle's (or one the vehicle leaves unset: the same DTC means different things on
 * different platforms) are inactive; a `scope module M` rule is inactive when the
 * vehicle lists modules and M is not among them, and its DTC conditions only match DTCs
 * reported by module M. syms (shared with the decoders; must outlive the engine) gets
 * every name the rules use. vehicle may be NULL (nothing known).
 * Returns 0 and *ret_engine; -ENOMEM, -E2BIG (symbol table full) with err filled.
 */
int rules_engine_new(const struct rules_set *set, struct timeline_symbols *syms,
		     const struct rules_vehicle *vehicle, struct rules_error *err,
		     struct rules_engine **ret_engine);
/* Accepts NULL, returns NULL. */
struct rules_engine *rules_engine_free(struct rules_engine *e);

static inline void rules_set_freep(struct rules_set **s)
{
	rules_set_free(*s);
}
static inline void rules_engine_freep(struct rules_engine **e)
{
	rules_engine_free(*e);
}
static inline void rules_parser_freep(struct rules_parser **p)
{
	rules_parser_free(*p);
}

/* Rules active for the vehicle (scope), of those in the set. */
size_t rules_engine_active_count(const struct rules_engine *e);
/*
 * True when an active rule reads signal index (TIMELINE_SYMBOL_SIGNAL) in a condition or
 * lists it as `evidence`: what the daemon must decode, and which profile DIDs the guided
 * test should read after each action.
 */
bool rules_engine_reads_signal(const struct rules_engine *e, uint32_t index);

/* ---- evaluating ---- */

/*
 * Starts a new diagnosis session at now_us: forgets every finding, window, count and
 * DTC toggle history, keeps what is known about the vehicle's state (last signal
 * values, DTC statuses), so that a condition true right now holds from now_us on.
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

/* ---- findings ---- */

enum rules_state {
	RULES_STATE_HOLDS,	/* all its conditions are met */
	RULES_STATE_POSSIBLE,	/* none failed, some still undecided (an action not yet done,
				 * a window still open) */
	RULES_STATE_SUPPRESSED, /* it holds, but an active inhibit covering it explains it */
	RULES_STATE_RULED_OUT,	/* it holds or is possible, but a stronger finding rules it out */
	RULES_STATE_MAX,
};

enum rules_evidence_kind {
	RULES_EVIDENCE_EVENT,  /* event matched a condition */
	RULES_EVIDENCE_HELD,   /* event started a level that held for the asked duration */
	RULES_EVIDENCE_ABSENT, /* nothing matched between from_us and until_us */
	RULES_EVIDENCE_KIND_MAX,
};

struct rules_evidence {
	enum rules_evidence_kind kind;
	struct timeline_event event; /* EVENT, HELD: the event (a copy); ABSENT: the anchor */
	int64_t from_us, until_us;   /* HELD: start and when the duration was reached; ABSENT:
				      * the window searched; EVENT: both event.t_us */
	const char *condition;	     /* the condition's source text, owned by the set */
};

struct rules_finding {
	const char *id; /* owned by the set, like every string here */
	const char *title;
	const char *advice; /* "" when none */
	enum rules_kind kind;
	enum rules_state state;
	double weight;		      /* the rule's weight, 0..1 */
	double score;		      /* ranking score: weight, halved when POSSIBLE */
	unsigned cost;		      /* order of the manual check: lower = cheaper */
	int64_t since_us;	      /* when it started to hold (HOLDS, SUPPRESSED) */
	const char *by;		      /* SUPPRESSED / RULED_OUT: the finding's id, else NULL */
	const char *const *rules_out; /* ids this finding rules out */
	size_t n_rules_out;
	const char *const *covers; /* inhibit: ids it explains; "*" = every cause */
	size_t n_covers;
	struct rules_evidence evidence[RULES_MAX_EVIDENCE];
	size_t n_evidence;
};

enum rules_verdict {
	RULES_VERDICT_INCONCLUSIVE, /* nothing holds and the chain was not seen working */
	RULES_VERDICT_FAULT,	    /* a cause leads */
	RULES_VERDICT_BLOCKED,	    /* an inhibit explains what happened; no part failed */
	RULES_VERDICT_NO_FAULT,	    /* "no fault found in the release chain": a normal rule
				     * holds and no cause or inhibit does */
	RULES_VERDICT_MAX,
};

/*
 * Evaluates every active rule at the engine's current time and ranks the findings:
 * HOLDS causes, then HOLDS inhibits (inhibits covering a cause suppress it; within each,
 * by score, then cost, then file order, a finding ruled out by one ranked above it drops
 * to RULED_OUT), then normals (only when nothing else holds),
 * then POSSIBLE causes, then SUPPRESSED and RULED_OUT ones (to explain what was
 * considered). Rules that are false, and inhibits or normals that are only possible,
 * are not listed. A sequence anchored on a mark is possible until the mark happens; one
 * anchored on a vehicle event that never happened is false. Returns the number of findings
 * (>= 0), or -ENOMEM. Findings stay valid until the next feed/advance/reset/evaluate.
 */
int rules_evaluate(struct rules_engine *e);
size_t rules_finding_count(const struct rules_engine *e);
/* i-th ranked finding (0 = top); NULL out of range. */
const struct rules_finding *rules_finding_at(const struct rules_engine *e, size_t i);
/* Verdict of the last rules_evaluate(). */
enum rules_verdict rules_verdict(const struct rules_engine *e);
/* "fault", "blocked", "no fault found in the release chain", "inconclusive". */
const char *rules_verdict_name(enum rules_verdict v);
const char *rules_state_name(enum rules_state s);
const char *rules_kind_name(enum rules_kind k);

/*
 * One line for an evidence entry: "12.345678 rises TrunkActuatorCommand: signal
 * TrunkActuatorCommand = 1". Returns snprintf's result.
 */
int rules_evidence_format(const struct rules_engine *e, const struct rules_evidence *ev, char *buf,
			  size_t size);

/* ---- the guided test ---- */

struct rules_question {
	const char *mark;   /* the mark to record when the person has done it */
	const char *prompt; /* what to ask the person */
	unsigned cost;
	uint32_t mark_index; /* TIMELINE_SYMBOL_MARK index of mark */
	unsigned waiting;    /* rules that stay undecided until it is answered */
};

/*
 * The next splitting action to ask for, from the file's `question` entries, given the
 * evidence so far (evaluates like rules_evaluate(), whose results it replaces). A
 * question is useful when its mark has not happened since the reset and some cause or
 * normal rule that reads it is still POSSIBLE and could still lead (its weight is not
 * below the leading finding's); inhibits waiting for a press are no reason to ask. Among the useful
 * ones the cheapest wins, then the one more rules wait for, then file order. Returns 0 and
 * *ret_question; -EAGAIN while a window is still open (advance to rules_next_deadline() first);
 * -ENOENT when no question would help (the evidence is complete, or has run out: the verdict says
 * which); -ENOMEM.
 */
int rules_next_question(struct rules_engine *e, struct rules_question *ret_question);
