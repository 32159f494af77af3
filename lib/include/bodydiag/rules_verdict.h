/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rules_verdict: what the evaluator (bodydiag/rules.h) concludes at a moment: ranked
 * findings with their evidence, the verdict, the state of each link of the release
 * chain, and the next splitting action of the guided test.
 *
 * Everything here is recomputed by rules_evaluate() (or rules_next_question()) from the
 * engine's state; pointers stay valid until the next feed, advance, reset or evaluate.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/role.h"
#include "bodydiag/rules_lang.h"
#include "bodydiag/timeline.h"

#define RULES_MAX_EVIDENCE 16u /* evidence entries per finding */
#define RULES_MAX_MISSING 8u   /* roles named as missing per finding */
#define RULES_CHAIN_LINKS ((size_t)ROLE_LINK_CONTEXT) /* fob .. ajar */

struct rules_engine;

enum rules_state {
	RULES_STATE_HOLDS,	/* all its conditions are met */
	RULES_STATE_POSSIBLE,	/* none failed, some still undecided (an action not yet done,
				 * a window still open) and the vehicle can show them */
	RULES_STATE_SUPPRESSED, /* it holds, but an active inhibit covering it explains it */
	RULES_STATE_RULED_OUT,	/* it holds or is possible, but a stronger finding rules it out */
	RULES_STATE_NOT_OBSERVABLE, /* it cannot be decided: it needs a role this vehicle does
				     * not show (or that never arrived), or a fault memory that
				     * was not read; `missing` says which */
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

/* What a finding or link could not see: a role (its registry name), or the fault memory
 * of a module ("dtc" with the module's name, "" when any module would do). */
struct rules_missing {
	bool dtc;	    /* false: a role */
	unsigned role;	    /* registry index, when !dtc */
	const char *module; /* when dtc: the scope module, "" for any */
};

struct rules_finding {
	const char *id; /* owned by the set, like every string here */
	const char *title;
	const char *advice; /* "" when none */
	enum rules_kind kind;
	enum rules_state state;
	double weight;		      /* the rule's weight, 0..1 */
	double score;		      /* ranking score: weight, halved when POSSIBLE, 0 when NOT_OBSERVABLE */
	unsigned cost;		      /* order of the manual check: lower = cheaper */
	int64_t since_us;	      /* when it started to hold (HOLDS, SUPPRESSED) */
	const char *by;		      /* SUPPRESSED / RULED_OUT: the finding's id, else NULL */
	const char *const *rules_out; /* ids this finding rules out */
	size_t n_rules_out;
	const char *const *covers; /* inhibit: ids it explains; "*" = every cause */
	size_t n_covers;
	struct rules_evidence evidence[RULES_MAX_EVIDENCE];
	size_t n_evidence;
	struct rules_missing missing[RULES_MAX_MISSING]; /* NOT_OBSERVABLE: what it needs */
	size_t n_missing;
};

enum rules_verdict {
	RULES_VERDICT_INCONCLUSIVE, /* nothing holds and the chain was not seen working; an
				     * action could still decide */
	RULES_VERDICT_FAULT,	    /* a cause leads */
	RULES_VERDICT_BLOCKED,	    /* an inhibit explains what happened; no part failed */
	RULES_VERDICT_NO_FAULT,	    /* "no fault found in the release chain": a normal rule
				     * holds and no cause or inhibit does */
	RULES_VERDICT_NOT_OBSERVABLE, /* nothing holds, nothing is possible, and what could
				       * tell cannot be seen on this vehicle with this
				       * connection */
	RULES_VERDICT_MAX,
};

/* The state of one link of the release chain. */
enum rules_link_state {
	RULES_LINK_NOT_EXERCISED,  /* nothing that tests it happened (or reached it) yet */
	RULES_LINK_WORKING,	   /* its `works` condition holds (and `fails` does not) */
	RULES_LINK_FAILING,	   /* its `fails` condition holds */
	RULES_LINK_NOT_OBSERVABLE, /* this vehicle, with this connection, cannot show it */
	RULES_LINK_STATE_MAX,
};

struct rules_link {
	enum role_link link;
	const char *title; /* the rule file's `link` title, or the link's name */
	bool judged;	   /* the rule file has a `link` item for it */
	enum rules_link_state state;
	int64_t since_us; /* WORKING, FAILING: when it began to hold */
	struct rules_evidence evidence[RULES_MAX_EVIDENCE];
	size_t n_evidence;
	struct rules_missing missing[RULES_MAX_MISSING]; /* NOT_OBSERVABLE: what it needs */
	size_t n_missing;
};

/*
 * Evaluates every active rule and link at the engine's current time and ranks the
 * findings: HOLDS causes, then HOLDS inhibits (inhibits covering a cause suppress it;
 * within each, by score, then cost, then file order, a finding ruled out by one ranked
 * above it drops to RULED_OUT), then normals (only when nothing else holds), then
 * POSSIBLE causes, then NOT_OBSERVABLE causes and inhibits, then SUPPRESSED and
 * RULED_OUT ones (to explain what was considered). Rules that are false, and inhibits or
 * normals that are only possible, are not listed. A sequence anchored on a mark is
 * possible until the mark happens; one anchored on a vehicle event that never happened
 * is false. Returns the number of findings (>= 0), or -ENOMEM.
 */
int rules_evaluate(struct rules_engine *e);
size_t rules_finding_count(const struct rules_engine *e);
/* i-th ranked finding (0 = top); NULL out of range. */
const struct rules_finding *rules_finding_at(const struct rules_engine *e, size_t i);
/* Verdict of the last rules_evaluate(). */
enum rules_verdict rules_verdict(const struct rules_engine *e);

/* The links of the chain in chain order (RULES_CHAIN_LINKS of them), as the last
 * rules_evaluate() judged them; NULL out of range. A link the rule file does not judge
 * is NOT_OBSERVABLE when none of its roles can be shown, else NOT_EXERCISED. */
const struct rules_link *rules_link_at(const struct rules_engine *e, size_t i);

/* "fault", "blocked", "no fault found in the release chain", "inconclusive", "not
 * observable on this vehicle". */
const char *rules_verdict_name(enum rules_verdict v);
/* "holds", "possible", "suppressed", "ruled out", "not observable" */
const char *rules_state_name(enum rules_state s);
const char *rules_kind_name(enum rules_kind k);
/* "not exercised", "working", "failing", "not observable" */
const char *rules_link_state_name(enum rules_link_state s);

/*
 * One line for an evidence entry: "rises actuator_cmd: 12.345678 signal actuator_cmd =
 * on". Returns snprintf's result.
 */
int rules_evidence_format(const struct rules_engine *e, const struct rules_evidence *ev, char *buf,
			  size_t size);
/* "actuator_current", "dtc of bcm", "dtc". Returns snprintf's result. */
int rules_missing_format(const struct rules_missing *m, char *buf, size_t size);

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
 * normal rule that reads it is still POSSIBLE (not merely not observable: the car must
 * be able to answer) and could still lead (its weight is not below the leading
 * finding's); inhibits waiting for a press are no reason to ask. Among the useful ones
 * the cheapest wins, then the one more rules wait for, then file order. Returns 0 and
 * *ret_question; -EAGAIN while a window is still open (advance to rules_next_deadline()
 * first); -ENOENT when no question would help (the evidence is complete, or has run out:
 * the verdict says which); -ENOMEM.
 */
int rules_next_question(struct rules_engine *e, struct rules_question *ret_question);
