/* SPDX-License-Identifier: MIT */
/*
 * rules_cond: the conditions of the rule language (rules_lang.c reads the statements):
 * atoms over roles, DTCs, marks and transport events, sequences of steps with their
 * windows, and/or/not trees, each built into the set's arena as it is read, with the
 * line and column of every mistake.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/rules_lang.h"
#include "bytes.h"
#include "rules_syntax-private.h"

/* ---- rule building ---- */

static int new_atom(struct parse *p, uint32_t *ret)
{
	struct rule_src *r = p->rule;
	if (r->n_atoms == r->cap_atoms) {
		size_t cap = r->cap_atoms ? r->cap_atoms * 2 : 8;
		struct atom_src *a = realloc(r->atoms, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		r->atoms = a;
		r->cap_atoms = cap;
	}
	r->atoms[r->n_atoms] = (struct atom_src){.nrc = -1, .role = {NONE, NONE}};
	*ret = (uint32_t)r->n_atoms++;
	return 0;
}

int rules_new_node(struct parse *p, enum node_kind kind, size_t tok, uint32_t *ret)
{
	struct rule_src *r = p->rule;
	if (r->n_nodes == RULES_MAX_CONDITIONS)
		return rules_fail(p, rules_col_at(p, tok),
				  "too many conditions in one rule (limit %u)",
				  RULES_MAX_CONDITIONS);
	if (r->n_nodes == r->cap_nodes) {
		size_t cap = r->cap_nodes ? r->cap_nodes * 2 : 8;
		struct node_src *n = realloc(r->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->nodes = n;
		r->cap_nodes = cap;
	}
	r->nodes[r->n_nodes] = (struct node_src){
	    .kind = kind,
	    .first_child = NONE,
	    .next_sibling = NONE,
	    .atom = NONE,
	    .line = p->line,
	    .column = rules_col_at(p, tok),
	};
	*ret = (uint32_t)r->n_nodes++;
	return 0;
}

void rules_add_child(struct rule_src *r, uint32_t parent, uint32_t child)
{
	uint32_t *link = &r->nodes[parent].first_child;
	while (*link != NONE)
		link = &r->nodes[*link].next_sibling;
	*link = child;
}

static const char *const status_words[] = {
    "active",
    "thiscycle",
    "pending",
    "confirmed",
    "notcompleted",
    "failedsinceclear",
    "notcompletedthiscycle",
    "warning",
};

static bool is_keyword_stop(const struct token *t)
{
	/* words that end an atom inside a longer condition */
	return rules_tok_is(t, "within") || rules_tok_is(t, "and") || rules_tok_is(t, "then") ||
	       rules_tok_is(t, "for") || rules_tok_is(t, "while") || rules_tok_is(t, ">=") ||
	       rules_tok_is(t, ":");
}

/* A role name, checked against the registry. */
int rules_want_role(struct parse *p, size_t *i, const char *what, uint32_t *ret)
{
	char d[64];
	unsigned idx;
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
		return rules_fail(p, rules_col_at(p, *i), "expected %s, got %s", what,
				  rules_tok_desc(p, *i, d, sizeof(d)));
	const struct token *t = &p->toks[*i];
	if (role_find(t->s, t->len, &idx) < 0)
		return rules_fail(
		    p, t->column,
		    "unknown role %s (rules name chain roles, not vehicle signals: see "
		    "the roles in rules/README.md)",
		    rules_tok_desc(p, *i, d, sizeof(d)));
	*ret = idx;
	(*i)++;
	return 0;
}

/* The labels of a role, for messages: "closed, open". */
const char *rules_label_list(const struct role *ro, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < ro->n_labels && n < size; k++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? ", " : "", ro->labels[k]);
	return buf;
}

/* ROLE CMP VALUE into slot k of an atom: a number for a number role, one of its labels
 * (with == or !=) for a bool or enumeration role. */
static int want_comparison(struct parse *p, size_t *i, const char *what, struct atom_src *a,
			   unsigned k)
{
	char d[64], labels[160];
	int r;
	if ((r = rules_want_role(p, i, what, &a->role[k])) < 0)
		return r;
	const struct role *ro = role_at(a->role[k]);
	size_t at = *i;
	if ((r = rules_want_cmp(p, i, &a->op[k])) < 0)
		return r;
	if (ro->kind == ROLE_KIND_NUMBER)
		return rules_want_number(p, i, "a value to compare with", &a->x[k]);
	if (a->op[k] != CMP_EQ && a->op[k] != CMP_NE)
		return rules_fail(p, p->toks[at].column,
				  "role '%s' has labels (%s): compare it with == or !=", ro->name,
				  rules_label_list(ro, labels, sizeof(labels)));
	unsigned v;
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD ||
	    role_label_find(ro, p->toks[*i].s, p->toks[*i].len, &v) < 0)
		return rules_fail(p, rules_col_at(p, *i), "unknown value %s of role '%s' (%s)",
				  rules_tok_desc(p, *i, d, sizeof(d)), ro->name,
				  rules_label_list(ro, labels, sizeof(labels)));
	a->x[k] = v;
	(*i)++;
	return 0;
}

static int parse_atom(struct parse *p, size_t *i, uint32_t *ret_atom)
{
	char d[64];
	size_t start = *i;
	uint32_t ai;
	int r;

	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
		return rules_fail(p, rules_col_at(p, *i),
				  "expected a condition (signal, rises, falls, update, mark, dtc, "
				  "transport, count, after, not, any, all), got %s",
				  rules_tok_desc(p, *i, d, sizeof(d)));
	r = new_atom(p, &ai);
	if (r < 0)
		return r;
	struct atom_src *a = &p->rule->atoms[ai];
	const struct token *kw = &p->toks[(*i)++];

	if (rules_tok_is(kw, "signal")) {
		a->kind = ATOM_LEVEL;
		if ((r = want_comparison(p, i, "a role", a, 0)) < 0)
			return r;
		if (*i < p->ntok && rules_tok_is(&p->toks[*i], "while")) {
			(*i)++;
			a->has_while = true;
			if ((r = want_comparison(p, i, "a role after 'while'", a, 1)) < 0)
				return r;
		}
		if (*i < p->ntok && rules_tok_is(&p->toks[*i], "for")) {
			(*i)++;
			if ((r = rules_want_duration(p, i, &a->for_us)) < 0)
				return r;
		}
	} else if (rules_tok_is(kw, "rises") || rules_tok_is(kw, "falls")) {
		bool rises = rules_tok_is(kw, "rises");
		a->kind = ATOM_EDGE;
		if ((r = rules_want_role(p, i, "a role", &a->role[0])) < 0)
			return r;
		/* rises X [above v]: into X > v (v = 0); falls X [below v]: into X < v, and
		 * without a threshold into X <= 0, so on a bool or enumeration role they mean
		 * "leaves / returns to its first label" (closed, off, none). */
		a->op[0] = rises ? CMP_GT : CMP_LE;
		a->x[0] = 0;
		const char *thr = rises ? "above" : "below";
		if (*i < p->ntok && rules_tok_is(&p->toks[*i], thr)) {
			const struct role *ro = role_at(a->role[0]);
			if (ro->kind != ROLE_KIND_NUMBER)
				return rules_fail(
				    p, p->toks[*i].column,
				    "'%s' needs a number role; '%s' has labels: write '%s "
				    "%s' alone",
				    thr, ro->name, rises ? "rises" : "falls", ro->name);
			(*i)++;
			if ((r = rules_want_number(p, i,
						   rises ? "a threshold after 'above'"
							 : "a threshold after 'below'",
						   &a->x[0])) < 0)
				return r;
			if (!rises)
				a->op[0] = CMP_LT;
		}
	} else if (rules_tok_is(kw, "update")) {
		a->kind = ATOM_UPDATE;
		if ((r = rules_want_role(p, i, "a role", &a->role[0])) < 0)
			return r;
	} else if (rules_tok_is(kw, "mark")) {
		a->kind = ATOM_MARK;
		a->marks = calloc(RULES_MAX_LIST, sizeof(*a->marks));
		if (!a->marks)
			return -ENOMEM;
		for (;;) {
			if (a->n_marks == RULES_MAX_LIST)
				return rules_fail(p, rules_col_at(p, *i),
						  "too many marks (limit %u)", RULES_MAX_LIST);
			if ((r = rules_want_ident(p, i, "a mark name", &a->marks[a->n_marks])) < 0)
				return r;
			a->n_marks++;
			if (*i >= p->ntok || !rules_tok_is(&p->toks[*i], "|"))
				break;
			(*i)++;
		}
	} else if (rules_tok_is(kw, "dtc")) {
		a->kind = ATOM_DTC;
		if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
			return rules_fail(p, rules_col_at(p, *i),
					  "expected a DTC or pattern (like B1A40-13 "
					  "or B1A4?-*), got %s",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		char pat[32];
		const struct token *t = &p->toks[*i];
		if (t->len >= sizeof(pat))
			return rules_fail(p, t->column, "invalid DTC pattern %s",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		memcpy(pat, t->s, t->len);
		pat[t->len] = '\0';
		if (dtc_pattern_compile(pat, &a->pattern) < 0)
			return rules_fail(p, t->column,
					  "invalid DTC pattern %s (like B1A40-13, B1A40-*, B1A4?)",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		while (*i < p->ntok && p->toks[*i].type == TOK_WORD &&
		       !is_keyword_stop(&p->toks[*i])) {
			t = &p->toks[*i];
			if (rules_tok_is(t, "flapping")) {
				(*i)++;
				if ((r = rules_want_uint(p, i, "flapping count", 2, RULES_MAX_COUNT,
							 &a->flapping)) < 0)
					return r;
				continue;
			}
			if (rules_tok_is(t, "stored")) {
				a->stored = true;
				(*i)++;
				continue;
			}
			bool found = false;
			for (unsigned k = 0; k < 8; k++) {
				if (rules_tok_is(t, status_words[k])) {
					a->status_all |= (uint8_t)(1u << k);
					found = true;
				}
			}
			if (!found)
				return rules_fail(
				    p, t->column,
				    "unknown DTC status %s (active, thiscycle, pending, "
				    "confirmed, stored, failedsinceclear, warning, "
				    "notcompleted, notcompletedthiscycle, flapping N)",
				    rules_tok_desc(p, *i, d, sizeof(d)));
			(*i)++;
		}
		if (!a->status_all && !a->flapping)
			a->stored = true;
	} else if (rules_tok_is(kw, "transport")) {
		a->kind = ATOM_TRANSPORT;
		if (*i >= p->ntok || p->toks[*i].type != TOK_WORD ||
		    timeline_transport_from_name(p->toks[*i].s, p->toks[*i].len, &a->transport) < 0)
			return rules_fail(p, rules_col_at(p, *i),
					  "expected a transport event (timeout, nrc, busoff, "
					  "unknown_id), got %s",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		if (a->transport == TIMELINE_TRANSPORT_NRC && *i < p->ntok &&
		    p->toks[*i].type == TOK_WORD && !is_keyword_stop(&p->toks[*i])) {
			unsigned nrc;
			if ((r = rules_want_uint(p, i, "NRC", 0, 0xFF, &nrc)) < 0)
				return r;
			a->nrc = (int)nrc;
		}
	} else {
		return rules_fail(p, kw->column,
				  "expected a condition (signal, rises, falls, update, mark, dtc, "
				  "transport, count, after, not, any, all), got %s",
				  rules_tok_desc(p, start, d, sizeof(d)));
	}
	const struct token *last = &p->toks[*i - 1];
	a->text = rules_arena_strndup(&p->set->arena, p->toks[start].src_start,
				      (size_t)(last->src_end - p->toks[start].src_start));
	if (!a->text)
		return -ENOMEM;
	*ret_atom = ai;
	return 0;
}

/* [absent] ATOM within DURATION, appended to sequence node seq. */
int rules_parse_step(struct parse *p, size_t *i, uint32_t seq, bool then)
{
	struct node_src *n = &p->rule->nodes[seq];
	struct step_src st = {.then = then};
	int r;
	if (n->n_steps == RULES_MAX_STEPS)
		return rules_fail(p, rules_col_at(p, *i),
				  "too many steps in one sequence (limit %u)", RULES_MAX_STEPS);
	if (*i < p->ntok && rules_tok_is(&p->toks[*i], "absent")) {
		st.absent = true;
		(*i)++;
	}
	if ((r = parse_atom(p, i, &st.atom)) < 0)
		return r;
	if (*i >= p->ntok || !rules_tok_is(&p->toks[*i], "within")) {
		char d[64];
		return rules_fail(p, rules_col_at(p, *i), "a step needs 'within DURATION', got %s",
				  rules_tok_desc(p, *i, d, sizeof(d)));
	}
	(*i)++;
	if ((r = rules_want_duration(p, i, &st.within_us)) < 0)
		return r;
	n = &p->rule->nodes[seq]; /* parse_atom does not move nodes, but stay safe */
	n->steps[n->n_steps++] = st;
	return 0;
}

/* Steps joined by `and` / `then` until the end of the line. */
int rules_parse_more_steps(struct parse *p, size_t *i, uint32_t seq)
{
	while (*i < p->ntok) {
		bool then;
		if (rules_tok_is(&p->toks[*i], "and"))
			then = false;
		else if (rules_tok_is(&p->toks[*i], "then"))
			then = true;
		else
			return rules_expect_end(p, *i);
		(*i)++;
		int r = rules_parse_step(p, i, seq, then);
		if (r < 0)
			return r;
	}
	return 0;
}

int rules_parse_cond(struct parse *p, size_t *i, unsigned depth, uint32_t *ret_node)
{
	char d[64];
	uint32_t ni;
	int r;
	if (*i >= p->ntok)
		return rules_fail(p, rules_col_at(p, *i), "expected a condition, got end of line");
	const struct token *t = &p->toks[*i];
	size_t at = *i;

	if (rules_tok_is(t, "not")) {
		if (depth >= RULES_MAX_DEPTH)
			return rules_fail(p, t->column, "conditions nested too deep (limit %u)",
					  RULES_MAX_DEPTH);
		(*i)++;
		uint32_t child;
		if ((r = rules_new_node(p, NODE_NOT, at, &ni)) < 0 ||
		    (r = rules_parse_cond(p, i, depth + 1, &child)) < 0)
			return r;
		rules_add_child(p->rule, ni, child);
		*ret_node = ni;
		return 0;
	}
	if (rules_tok_is(t, "count")) {
		(*i)++;
		if ((r = rules_new_node(p, NODE_COUNT, at, &ni)) < 0)
			return r;
		uint32_t atom;
		unsigned n;
		int64_t within;
		if ((r = parse_atom(p, i, &atom)) < 0)
			return r;
		if (*i >= p->ntok || !rules_tok_is(&p->toks[*i], ">="))
			return rules_fail(p, rules_col_at(p, *i),
					  "'count' needs '>= N within DURATION', got %s",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		if ((r = rules_want_uint(p, i, "count", 1, RULES_MAX_COUNT, &n)) < 0)
			return r;
		if (*i >= p->ntok || !rules_tok_is(&p->toks[*i], "within"))
			return rules_fail(p, rules_col_at(p, *i),
					  "'count' needs 'within DURATION', got %s",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		if ((r = rules_want_duration(p, i, &within)) < 0)
			return r;
		struct node_src *node = &p->rule->nodes[ni];
		node->atom = atom;
		node->count_n = n;
		node->within_us = within;
		*ret_node = ni;
		return 0;
	}
	if (rules_tok_is(t, "after")) {
		(*i)++;
		if ((r = rules_new_node(p, NODE_SEQ, at, &ni)) < 0)
			return r;
		uint32_t anchor;
		if ((r = parse_atom(p, i, &anchor)) < 0)
			return r;
		p->rule->nodes[ni].atom = anchor;
		if (*i >= p->ntok || !rules_tok_is(&p->toks[*i], ":"))
			return rules_fail(p, rules_col_at(p, *i),
					  "expected ':' after the event of 'after', got %s",
					  rules_tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		p->cont_seq = ni;
		if (*i >= p->ntok) {
			/* steps follow on the next lines */
			p->want_first_step = true;
		} else {
			if ((r = rules_parse_step(p, i, ni, false)) < 0 ||
			    (r = rules_parse_more_steps(p, i, ni)) < 0)
				return r;
		}
		*ret_node = ni;
		return 0;
	}
	if (rules_tok_is(t, "absent"))
		return rules_fail(p, t->column,
				  "'absent' is only allowed in a step of 'after EVENT:'");
	if (rules_tok_is(t, "within"))
		return rules_fail(p, t->column,
				  "'within' is only allowed in 'after' steps and 'count'");
	if ((r = rules_new_node(p, NODE_ATOM, at, &ni)) < 0)
		return r;
	uint32_t atom;
	if ((r = parse_atom(p, i, &atom)) < 0)
		return r;
	p->rule->nodes[ni].atom = atom;
	*ret_node = ni;
	return 0;
}

/* ---- statements ---- */
