/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The evaluator's state, shared by rules.c (compile, feed, advance, reset) and
 * rules_verdict.c (truth values, findings, links, questions). Not installed.
 *
 * The engine copies every rule's (and link's) node and atom arrays into flat global
 * arrays with names resolved to symbol indices. Each atom has exactly one user, which
 * its fires are handed to: a latch (the condition held at some time since the reset),
 * a counter (N fires within a window) or a step of a sequence (checked against the
 * windows of that sequence's open instances).
 */

#include "bodydiag/rules.h"
#include "rules_lang-private.h"

/* Functions shared between the evaluator's files, never exported by the library. */
#define RULES_HIDDEN __attribute__((visibility("hidden")))

/* Four truth values; the order matters nowhere. */
enum tv {
	TV_FALSE,
	TV_UNKNOWN,
	TV_TRUE,
	TV_NOBS, /* cannot be decided on this vehicle with this connection */
};

enum user_kind {
	USER_LATCH,
	USER_COUNT,
	USER_STEP,
	USER_ANCHOR,
	USER_KIND_MAX,
};

struct eatom {
	const struct atom_src *src;
	enum atom_kind kind;
	uint32_t sig[2]; /* symbol indices of the roles read */
	uint32_t *marks;
	size_t n_marks;
	uint32_t module; /* DTC: NONE = any module */
	enum user_kind user;
	uint32_t node; /* LATCH, COUNT, ANCHOR: global node index; STEP: the SEQ node */
	unsigned step; /* STEP */
	uint32_t rule;
	/* level state (LEVEL, DTC) */
	bool cur;   /* the comparison / match holds now */
	bool fired; /* this run of cur has fired (reached its duration) */
	int64_t since;
	struct timeline_event start_ev;
	/* attribution (LEVEL, EDGE, UPDATE reading a role some action causes): the actions
	 * that could have caused its latest onset or fire, and the mark that owns it */
	bool effect, on_seen;
	uint32_t on_mask;
	uint32_t on_owner; /* mark serial, 0 = none */
	int64_t on_owner_t, on_t;
	struct timeline_event on_ev;
};

enum step_state {
	STEP_PENDING,
	STEP_MET,
	STEP_FAILED,
	STEP_NOBS, /* the window closed, and what it looked for could not be seen */
	STEP_STATE_MAX,
};

/* One step of one window of a sequence. */
struct istep {
	uint8_t state; /* enum step_state */
	int64_t t;     /* when the step was met */
	struct rules_evidence ev;
};

/* One window of a sequence. Its steps are the sequence's n_steps entries of the engine's
 * step pool: most sequences have one step of RULES_MAX_STEPS, and every window of every
 * sequence sized for the most was 90% of the engine's memory. */
struct instance {
	bool open;
	uint8_t masked; /* bit s: step s's level was already true, by another action's doing */
	uint32_t serial; /* the action mark that opened it; 0: not an action (no attribution) */
	uint32_t action;
	int64_t t0;
	struct timeline_event anchor_ev;
	struct istep *step;
};

struct enode {
	const struct node_src *src;
	enum node_kind kind;
	uint32_t first_child, next_sibling; /* global */
	uint32_t atom;			    /* global */
	uint32_t rule;
	/* ATOM, COUNT: latch */
	bool latched;
	int64_t latched_t;
	struct rules_evidence ev;
	/* COUNT: ring of fire times, count_n entries from the engine's pool */
	int64_t *ring;
	unsigned ring_len, ring_head;
	/* SEQ: RULES_MAX_INSTANCES windows and won (the first instance that met every
	 * step), from the engine's instance pool; NULL for other kinds */
	struct instance *inst, *won;
	unsigned n_failed, n_nobs;
	bool opened; /* the anchor fired since the reset */
};

/* A rule, inhibit or normal (the set's rules, first), or a link (after them). */
struct erule {
	const struct rule_src *src;
	bool active;
	uint32_t root, root2; /* root2: a link's `fails`; NONE when absent */
	uint32_t *evidence_sigs;
	bool *reads_question; /* per question: a mark atom of this rule names its mark */
	/* evaluation results */
	enum tv value, value2;
	int64_t since, since2;
};

/* A role that names the source of what happens on the chain (an action's `source`). */
struct esource {
	uint32_t role, sig;
	uint32_t claim[64]; /* per label value: the actions that claim it */
	int64_t within_us;  /* the longest `within` of its clauses */
	int64_t active_t;   /* last sample away from the rest value */
	double active_v;
	bool active_seen;
};

/* The last action marks, newest last: who owns an effect. */
#define RULES_MARK_LOG 32u
struct emark {
	int64_t t;
	uint32_t action, serial;
};

struct edtc {
	uint32_t module, code;
	uint8_t status;
	unsigned toggles;
};

struct rules_engine {
	const struct rules_set *set;
	struct timeline_symbols *syms;
	struct eatom *atoms;
	size_t n_atoms;
	struct enode *nodes;
	size_t n_nodes;
	struct erule *rules; /* n_rules of the set, then n_links */
	size_t n_rules, n_links, n_active;
	int64_t *ring_pool;
	struct instance *inst_pool; /* RULES_MAX_INSTANCES + 1 per SEQ node */
	struct istep *step_pool;    /* n_steps per instance */
	/* per registry role */
	uint8_t *role_provided;
	uint32_t *role_sym; /* the symbol of the role's name */
	/* per signal symbol */
	size_t n_sigs;
	double *val;
	int64_t *val_t;
	uint8_t *have;
	uint8_t *reads; /* an active rule reads the signal (conditions or `evidence`) */
	uint32_t *sig_off, *sig_atoms; /* CSR: atoms reading signal s */
	/* per mark */
	size_t n_marks;
	uint32_t *mark_off, *mark_atoms;
	unsigned *mark_seen;
	uint32_t *mark_action; /* the action a mark records, NONE */
	/* actions (attribution) */
	size_t n_actions;
	int64_t *action_late;
	uint32_t *role_causers; /* per registry role: actions whose `causes` list it */
	uint32_t *role_source;	/* per registry role: index into sources, NONE */
	uint32_t *sig_role;	/* per signal symbol: registry role, NONE */
	struct esource *sources;
	size_t n_sources;
	struct emark mark_log[RULES_MARK_LOG];
	size_t n_mark_log;
	uint32_t mark_serial;
	int64_t last_action_t;
	/* atoms by event kind */
	uint32_t *dtc_atoms, *transport_atoms, *timed_atoms, *seq_nodes;
	size_t n_dtc_atoms, n_transport_atoms, n_timed_atoms, n_seq_nodes;
	struct edtc dtcs[RULES_MAX_DTCS];
	size_t n_dtcs;
	/* modules whose fault memory was read (a DTC list or a DTC status arrived) */
	uint32_t read_modules[RULES_MAX_READ_MODULES];
	size_t n_read_modules;
	bool read_any;
	int64_t now;
	int64_t deadline;
	bool dirty; /* something that can move the deadline earlier happened */
	/* questions */
	uint32_t *question_marks;
	/* ranking */
	struct rules_finding *findings;
	size_t n_findings;
	enum rules_verdict verdict;
	struct rules_link links[RULES_CHAIN_LINKS];
	uint32_t *order;
	uint8_t *fstate;
	uint32_t *fby;
};

/* An evidence entry for atom a fired by event ev. */
RULES_HIDDEN struct rules_evidence rules_ev_event(const struct eatom *a,
						  const struct timeline_event *ev);

/*
 * Whether what atom a reads can be seen on this vehicle: statically (the vehicle
 * provides its roles) or, with dynamic, right now (a sample of each role has arrived; for
 * a DTC atom, the module's fault memory was read or the atom matched).
 */
RULES_HIDDEN bool rules_atom_observable(const struct rules_engine *e, const struct eatom *a,
					bool dynamic);

/* The evaluator's truth value of node ni at the engine's time; *ret_since: when it
 * became true. */
RULES_HIDDEN enum tv rules_eval_node(const struct rules_engine *e, uint32_t ni,
				     int64_t *ret_since);
