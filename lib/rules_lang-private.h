/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The layout of a parsed rule set, shared by the front end (rules_lang.c) that builds it
 * and the evaluator (rules.c, rules_verdict.c) that compiles it. Not installed.
 *
 * A rule's condition is a tree of nodes (all / any / not / atom / count / sequence) in
 * a rule-local array; atoms (a role comparison, an edge, an update, a mark, a DTC
 * pattern, a transport event) in another, each used by exactly one node or step. Roles
 * are already resolved to registry indices and labels to values.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/dtc.h"
#include "bodydiag/role.h"
#include "bodydiag/rules_lang.h"
#include "bodydiag/timeline.h"

#define NONE UINT32_MAX

/* An action's mark may come this late when its `late` clause does not say. */
#define RULES_DEFAULT_LATE_US (5LL * 1000000)

/* The set's strings live and die together. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

struct arena {
	struct arena_block *head;
};

enum cmp {
	CMP_EQ,
	CMP_NE,
	CMP_LT,
	CMP_LE,
	CMP_GT,
	CMP_GE,
	CMP_MAX,
};

enum atom_kind {
	ATOM_LEVEL,	/* signal A op x [while B op y] [for D] */
	ATOM_EDGE,	/* rises / falls: the comparison becomes true on a sample */
	ATOM_UPDATE,	/* any sample of a role */
	ATOM_MARK,	/* one of a list of marks */
	ATOM_DTC,	/* a DTC matching pattern + status (+ flapping) */
	ATOM_TRANSPORT, /* a transport event of a kind (+ NRC) */
	ATOM_KIND_MAX,
};

/* Status words of `dtc`: a set of required bits, or "stored" (any of TF, PDTC, CDTC). */
#define ST_TF (1u << DTC_STATUS_TEST_FAILED)
#define ST_PDTC (1u << DTC_STATUS_PENDING_DTC)
#define ST_CDTC (1u << DTC_STATUS_CONFIRMED_DTC)
#define ST_STORED_ANY (ST_TF | ST_PDTC | ST_CDTC)

struct atom_src {
	enum atom_kind kind;
	uint32_t role[2]; /* LEVEL: A, B (while); EDGE, UPDATE: A; registry index or NONE */
	enum cmp op[2];
	double x[2]; /* the number, or the label's value */
	bool has_while;
	int64_t for_us;	    /* LEVEL */
	const char **marks; /* MARK */
	size_t n_marks;
	struct dtc_pattern pattern; /* DTC */
	uint8_t status_all;	    /* DTC: bits that must all be set */
	bool stored;		    /* DTC: any of TF/PDTC/CDTC (no status word given) */
	unsigned flapping;	    /* DTC: testFailed toggles needed, 0 = not asked */
	enum timeline_transport transport;
	int nrc;	  /* TRANSPORT NRC: -1 any */
	const char *text; /* source text of the atom */
};

enum node_kind {
	NODE_ALL,
	NODE_ANY,
	NODE_NOT,
	NODE_ATOM,  /* latched: held at some time since the reset */
	NODE_COUNT, /* atom fired n times within a window */
	NODE_SEQ,   /* after ANCHOR: steps */
	NODE_KIND_MAX,
};

struct step_src {
	uint32_t atom;
	bool absent;
	bool then; /* window starts when the previous step is met, not at the anchor */
	int64_t within_us;
};

struct node_src {
	enum node_kind kind;
	uint32_t first_child, next_sibling;	/* rule-local node indices, NONE */
	uint32_t atom;				/* ATOM, COUNT; SEQ: the anchor atom */
	unsigned count_n;			/* COUNT */
	int64_t within_us;			/* COUNT */
	struct step_src steps[RULES_MAX_STEPS]; /* SEQ */
	unsigned n_steps;
	unsigned line, column;
};

/* A rule, inhibit or normal; or, with is_link, a `link` item (root = works, root2 =
 * fails). */
struct rule_src {
	enum rules_kind kind;
	bool is_link;
	enum role_link link;
	const char *id, *title, *advice;
	double weight;
	unsigned cost;
	const char *scope_make, *scope_platform, *scope_module;
	const char **rules_out;
	size_t n_rules_out;
	const char **covers;
	size_t n_covers;
	uint32_t *evidence; /* role indices */
	size_t n_evidence;
	uint32_t *rules_out_idx; /* resolved at the end of parsing */
	uint32_t *covers_idx;
	bool covers_all;
	struct node_src *nodes;
	size_t n_nodes, cap_nodes;
	struct atom_src *atoms;
	size_t n_atoms, cap_atoms;
	uint32_t root, root2;
	unsigned line;
	/* positions of list entries, for errors found once the whole file is read */
	unsigned *rules_out_col, *covers_col, rules_out_line, covers_line;
	bool has_weight, has_cost, has_advice, has_scope[3];
};

/* `source ROLE == LABEL {, LABEL} [within D]` of an action: the car names it as the cause. */
struct source_src {
	uint32_t role;	   /* a bool or enumeration role */
	uint64_t labels;   /* bit v: label value v (never the first, "nothing happening") */
	int64_t within_us; /* effects up to this long after the role last showed a label */
};

/* `action MARK`: what a person's action can bring about, and how the car names it. */
struct action_src {
	const char *mark;
	uint32_t *causes; /* role indices */
	size_t n_causes;
	struct source_src sources[RULES_MAX_SOURCES];
	size_t n_sources;
	int64_t late_us; /* how late its mark may be recorded */
	unsigned line;
	bool has_late;
};

struct question_src {
	const char *mark, *prompt;
	unsigned cost;
	unsigned line;
	bool has_cost;
};

struct rules_set {
	struct arena arena;
	struct rule_src *rules;
	size_t n_rules, cap_rules;
	struct rule_src *links;
	size_t n_links, cap_links;
	struct question_src *questions;
	size_t n_questions, cap_questions;
	struct action_src *actions;
	size_t n_actions, cap_actions;
};
