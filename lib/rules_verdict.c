/* SPDX-License-Identifier: MIT */
/*
 * rules_verdict: truth values, ranked findings, the verdict, the chain links and the
 * next question (rules_verdict.h), computed from the evaluator's state (rules.c).
 *
 * Four truth values (Kleene's three plus "not observable"): `all` is false if any part
 * is false, else not observable if any part is (it can never hold), else undecided if
 * any part is, else true; `any` is true if any part is, else undecided if any part is
 * (it may still hold), else not observable if any part is, else false; `not` swaps true
 * and false only.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bodydiag/rules.h"
#include "rules-private.h"

/* A SEQ node: true once an instance met every step. */
static enum tv eval_seq(const struct rules_engine *e, const struct enode *n)
{
	const struct eatom *anchor = &e->atoms[n->atom];
	if (n->latched)
		return TV_TRUE;
	/* a step or an anchor this vehicle cannot show at all: it will never hold */
	if (!rules_atom_observable(e, anchor, false))
		return TV_NOBS;
	for (unsigned s = 0; s < n->src->n_steps; s++)
		if (!rules_atom_observable(e, &e->atoms[n->atom - n->src->atom + n->src->steps[s].atom],
					   false))
			return TV_NOBS;
	for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++)
		if (n->inst[k].open)
			return TV_UNKNOWN;
	/* one press whose outcome could not be seen may have been the one that held */
	if (n->n_nobs)
		return TV_NOBS;
	if (n->n_failed)
		return TV_FALSE;
	/* a mark is an action someone may still do: undecided until then, if the car has
	 * shown the roles its steps read (DTCs are read after the action); an event of the
	 * vehicle that has not happened is simply not there, if the vehicle could show it */
	if (!n->opened && anchor->kind == ATOM_MARK) {
		for (unsigned s = 0; s < n->src->n_steps; s++) {
			const struct eatom *a = &e->atoms[n->atom - n->src->atom + n->src->steps[s].atom];
			if (a->kind != ATOM_DTC && !rules_atom_observable(e, a, true))
				return TV_NOBS;
		}
		return TV_UNKNOWN;
	}
	if (!n->opened)
		return rules_atom_observable(e, anchor, true) ? TV_FALSE : TV_NOBS;
	return TV_UNKNOWN;
}

enum tv rules_eval_node(const struct rules_engine *e, uint32_t ni, int64_t *ret_since)
{
	const struct enode *n = &e->nodes[ni];
	int64_t since = INT64_MIN;
	bool nobs = false;
	switch (n->kind) {
	case NODE_ATOM:
	case NODE_COUNT:
		*ret_since = n->latched_t;
		if (n->latched)
			return TV_TRUE;
		return rules_atom_observable(e, &e->atoms[n->atom], true) ? TV_FALSE : TV_NOBS;
	case NODE_SEQ:
		*ret_since = n->latched_t;
		return eval_seq(e, n);
	case NODE_NOT: {
		int64_t s;
		enum tv v = rules_eval_node(e, n->first_child, &s);
		*ret_since = e->now;
		return v == TV_TRUE ? TV_FALSE : v == TV_FALSE ? TV_TRUE : v;
	}
	case NODE_ALL: {
		enum tv acc = TV_TRUE;
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling) {
			int64_t s;
			enum tv v = rules_eval_node(e, c, &s);
			if (v == TV_FALSE)
				return TV_FALSE;
			if (v == TV_NOBS)
				nobs = true;
			else if (v == TV_UNKNOWN)
				acc = TV_UNKNOWN;
			else if (s > since)
				since = s;
		}
		*ret_since = since;
		return nobs ? TV_NOBS : acc;
	}
	case NODE_ANY: {
		enum tv acc = TV_FALSE;
		since = INT64_MAX;
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling) {
			int64_t s;
			enum tv v = rules_eval_node(e, c, &s);
			if (v == TV_TRUE) {
				acc = TV_TRUE;
				if (s < since)
					since = s;
			} else if (v == TV_UNKNOWN && acc != TV_TRUE) {
				acc = TV_UNKNOWN;
			} else if (v == TV_NOBS) {
				nobs = true;
			}
		}
		*ret_since = since;
		return acc == TV_FALSE && nobs ? TV_NOBS : acc;
	}
	case NODE_KIND_MAX:
		break;
	}
	*ret_since = INT64_MIN;
	return TV_FALSE;
}

static void add_evidence(struct rules_evidence *v, size_t *n, const struct rules_evidence *ev)
{
	if (*n < RULES_MAX_EVIDENCE)
		v[(*n)++] = *ev;
}

/* The evidence of the parts of node ni that hold. */
static void collect(const struct rules_engine *e, uint32_t ni, struct rules_evidence *v, size_t *nv)
{
	const struct enode *n = &e->nodes[ni];
	int64_t s;
	switch (n->kind) {
	case NODE_ATOM:
	case NODE_COUNT:
		if (n->latched)
			add_evidence(v, nv, &n->ev);
		break;
	case NODE_SEQ:
		if (n->latched) {
			const struct eatom *anchor = &e->atoms[n->atom];
			struct rules_evidence a = rules_ev_event(anchor, &n->won->anchor_ev);
			add_evidence(v, nv, &a);
			for (unsigned k = 0; k < n->src->n_steps; k++)
				add_evidence(v, nv, &n->won->step[k].ev);
		}
		break;
	case NODE_NOT:
		break;
	case NODE_ALL:
	case NODE_ANY:
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling)
			if (rules_eval_node(e, c, &s) == TV_TRUE)
				collect(e, c, v, nv);
		break;
	case NODE_KIND_MAX:
		break;
	}
}

static void add_missing(struct rules_missing *v, size_t *n, const struct rules_missing *m)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].dtc == m->dtc && (m->dtc ? !strcmp(v[i].module, m->module)
						  : v[i].role == m->role))
			return;
	if (*n < RULES_MAX_MISSING)
		v[(*n)++] = *m;
}

/* What atom a cannot see, into v. */
static void atom_missing(const struct rules_engine *e, const struct eatom *a,
			 struct rules_missing *v, size_t *n)
{
	if (rules_atom_observable(e, a, true))
		return;
	if (a->kind == ATOM_DTC) {
		const char *m = a->module == NONE
				    ? ""
				    : timeline_symbols_name(e->syms, TIMELINE_SYMBOL_MODULE, a->module);
		struct rules_missing x = {.dtc = true, .module = m ? m : ""};
		add_missing(v, n, &x);
		return;
	}
	for (unsigned k = 0; k < 2; k++) {
		uint32_t role = a->src->role[k];
		if (role == NONE)
			continue;
		uint32_t sig = e->role_sym[role];
		if (e->role_provided[role] && sig < e->n_sigs && e->have[sig])
			continue;
		struct rules_missing x = {.role = role};
		add_missing(v, n, &x);
	}
}

/* What the parts of node ni that cannot be decided need, into v. */
static void collect_missing(const struct rules_engine *e, uint32_t ni, struct rules_missing *v,
			    size_t *nv)
{
	const struct enode *n = &e->nodes[ni];
	int64_t s;
	if (rules_eval_node(e, ni, &s) != TV_NOBS)
		return;
	switch (n->kind) {
	case NODE_ATOM:
	case NODE_COUNT:
		atom_missing(e, &e->atoms[n->atom], v, nv);
		break;
	case NODE_SEQ:
		atom_missing(e, &e->atoms[n->atom], v, nv);
		for (unsigned k = 0; k < n->src->n_steps; k++)
			atom_missing(e, &e->atoms[n->atom - n->src->atom + n->src->steps[k].atom], v,
				     nv);
		break;
	case NODE_NOT:
	case NODE_ALL:
	case NODE_ANY:
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling)
			collect_missing(e, c, v, nv);
		break;
	case NODE_KIND_MAX:
		break;
	}
}

/* what a finding of an inhibit with `covers *` lists */
static const char *const covers_all_list[1] = {"*"};

static void fill_finding(const struct rules_engine *e, size_t k, struct rules_finding *f,
			 enum rules_state state, const char *by)
{
	const struct erule *er = &e->rules[k];
	const struct rule_src *rs = er->src;
	*f = (struct rules_finding){
	    .id = rs->id,
	    .title = rs->title,
	    .advice = rs->advice,
	    .kind = rs->kind,
	    .state = state,
	    .weight = rs->weight,
	    .score = state == RULES_STATE_POSSIBLE	    ? rs->weight / 2
		     : state == RULES_STATE_NOT_OBSERVABLE ? 0
							   : rs->weight,
	    .cost = rs->cost,
	    .since_us = er->value == TV_TRUE ? er->since : 0,
	    .by = by,
	    .rules_out = (const char *const *)rs->rules_out,
	    .n_rules_out = rs->n_rules_out,
	    .covers = rs->covers_all ? covers_all_list : (const char *const *)rs->covers,
	    .n_covers = rs->covers_all ? 1 : rs->n_covers,
	};
	if (er->value == TV_NOBS)
		collect_missing(e, er->root, f->missing, &f->n_missing);
	if (er->value != TV_TRUE)
		return;
	collect(e, er->root, f->evidence, &f->n_evidence);
	/* the rule's `evidence` signals: their last sample, as context */
	for (size_t j = 0; j < rs->n_evidence; j++) {
		uint32_t s = er->evidence_sigs[j];
		if (s >= e->n_sigs || !e->have[s])
			continue;
		struct timeline_event ev = timeline_event_signal(e->val_t[s], s, e->val[s]);
		struct rules_evidence r = {
		    .kind = RULES_EVIDENCE_EVENT,
		    .event = ev,
		    .from_us = ev.t_us,
		    .until_us = ev.t_us,
		    .condition = role_at(rs->evidence[j])->name,
		};
		add_evidence(f->evidence, &f->n_evidence, &r);
	}
}

static bool inhibit_covers(const struct rule_src *inh, uint32_t k)
{
	if (inh->covers_all)
		return true;
	for (size_t j = 0; j < inh->n_covers; j++)
		if (inh->covers_idx[j] == k)
			return true;
	return false;
}

static bool rules_out_has(const struct rule_src *r, uint32_t k)
{
	for (size_t j = 0; j < r->n_rules_out; j++)
		if (r->rules_out_idx[j] == k)
			return true;
	return false;
}

enum fstate {
	FS_NONE, /* false or inactive: not listed */
	FS_HOLDS,
	FS_POSSIBLE,
	FS_SUPPRESSED,
	FS_RULED_OUT,
	FS_NOBS,
};

static int by_rank(const struct rules_engine *e, uint32_t a, uint32_t b)
{
	const struct rule_src *ra = e->rules[a].src, *rb = e->rules[b].src;
	if (ra->weight != rb->weight)
		return ra->weight > rb->weight ? -1 : 1;
	if (ra->cost != rb->cost)
		return ra->cost < rb->cost ? -1 : 1;
	return a < b ? -1 : a > b ? 1 : 0;
}

/* Insertion sort: a few dozen rules, and qsort has no context pointer in C17. */
static void sort_rules(const struct rules_engine *e, uint32_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;
		while (j > 0 && by_rank(e, v[j - 1], x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Whether the vehicle can show any role of a link (statically). */
static bool link_provided(const struct rules_engine *e, enum role_link link)
{
	for (size_t r = 0; r < role_count(); r++)
		if (role_at(r)->link == link && e->role_provided[r])
			return true;
	return false;
}

static void judge_links(struct rules_engine *e)
{
	for (size_t i = 0; i < RULES_CHAIN_LINKS; i++) {
		struct rules_link *l = &e->links[i];
		*l = (struct rules_link){
		    .link = (enum role_link)i,
		    .title = role_link_name((enum role_link)i),
		    .state = link_provided(e, (enum role_link)i) ? RULES_LINK_NOT_EXERCISED
								 : RULES_LINK_NOT_OBSERVABLE,
		};
	}
	for (size_t k = e->n_rules; k < e->n_rules + e->n_links; k++) {
		struct erule *er = &e->rules[k];
		struct rules_link *l = &e->links[er->src->link];
		int64_t s1 = 0, s2 = 0;
		er->value = er->root == NONE ? TV_FALSE : rules_eval_node(e, er->root, &s1);
		er->value2 = er->root2 == NONE ? TV_FALSE : rules_eval_node(e, er->root2, &s2);
		l->title = er->src->title;
		l->judged = true;
		/* a failure seen outweighs a success seen (an intermittent link fails) */
		if (er->value2 == TV_TRUE) {
			l->state = RULES_LINK_FAILING;
			l->since_us = s2;
			collect(e, er->root2, l->evidence, &l->n_evidence);
		} else if (er->value == TV_TRUE) {
			l->state = RULES_LINK_WORKING;
			l->since_us = s1;
			collect(e, er->root, l->evidence, &l->n_evidence);
		} else if ((er->root == NONE || er->value == TV_NOBS) &&
			   (er->root2 == NONE || er->value2 == TV_NOBS)) {
			l->state = RULES_LINK_NOT_OBSERVABLE;
			if (er->root != NONE)
				collect_missing(e, er->root, l->missing, &l->n_missing);
			if (er->root2 != NONE)
				collect_missing(e, er->root2, l->missing, &l->n_missing);
		} else {
			l->state = RULES_LINK_NOT_EXERCISED;
		}
	}
}

static void rank(struct rules_engine *e)
{
	size_t n = e->n_rules;
	for (size_t k = 0; k < n; k++) {
		struct erule *er = &e->rules[k];
		e->fstate[k] = FS_NONE;
		e->fby[k] = NONE;
		if (!er->active) {
			er->value = TV_FALSE;
			continue;
		}
		er->value = rules_eval_node(e, er->root, &er->since);
		if (er->value == TV_TRUE)
			e->fstate[k] = FS_HOLDS;
		else if (er->value == TV_UNKNOWN)
			e->fstate[k] = FS_POSSIBLE;
		else if (er->value == TV_NOBS)
			e->fstate[k] = FS_NOBS;
	}
	/* inhibits that hold explain the causes they cover */
	for (size_t i = 0; i < n; i++) {
		const struct rule_src *ri = e->rules[i].src;
		if (ri->kind != RULES_KIND_INHIBIT || e->fstate[i] != FS_HOLDS)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (e->rules[k].src->kind != RULES_KIND_CAUSE ||
			    (e->fstate[k] != FS_HOLDS && e->fstate[k] != FS_POSSIBLE &&
			     e->fstate[k] != FS_NOBS) ||
			    !inhibit_covers(ri, (uint32_t)k))
				continue;
			e->fstate[k] = FS_SUPPRESSED;
			e->fby[k] = (uint32_t)i;
		}
	}
	/* rules_out, strongest first among those that hold */
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (e->fstate[k] == FS_HOLDS)
			e->order[m++] = (uint32_t)k;
	sort_rules(e, e->order, m);
	for (size_t i = 0; i < m; i++) {
		uint32_t k = e->order[i];
		if (e->fstate[k] != FS_HOLDS)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (j == k || !rules_out_has(e->rules[k].src, (uint32_t)j))
				continue;
			if (e->fstate[j] == FS_HOLDS || e->fstate[j] == FS_POSSIBLE ||
			    e->fstate[j] == FS_NOBS) {
				/* a weaker finding cannot rule out one ranked above it */
				bool above = false;
				for (size_t q = 0; q < i; q++)
					if (e->order[q] == j)
						above = true;
				if (above)
					continue;
				e->fstate[j] = FS_RULED_OUT;
				e->fby[j] = k;
			}
		}
	}

	/* output order */
	e->n_findings = 0;
	bool cause_or_inhibit = false;
	e->verdict = RULES_VERDICT_INCONCLUSIVE;
	/* A failed part proven by one action comes first and makes the verdict a fault even
	 * when an inhibit explains another action (a press while moving, then one after
	 * stopping); inhibits that hold follow it, and make the verdict only alone. */
	static const enum rules_kind holding[] = {RULES_KIND_CAUSE, RULES_KIND_INHIBIT};
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m; i++) {
			uint32_t k = e->order[i];
			if (e->fstate[k] != FS_HOLDS || e->rules[k].src->kind != holding[pass])
				continue;
			if (!cause_or_inhibit)
				e->verdict = holding[pass] == RULES_KIND_CAUSE ? RULES_VERDICT_FAULT
									       : RULES_VERDICT_BLOCKED;
			cause_or_inhibit = true;
			fill_finding(e, k, &e->findings[e->n_findings++], RULES_STATE_HOLDS, NULL);
		}
	for (size_t i = 0; i < m && !cause_or_inhibit; i++) {
		uint32_t k = e->order[i];
		if (e->fstate[k] != FS_HOLDS || e->rules[k].src->kind != RULES_KIND_NORMAL)
			continue;
		e->verdict = RULES_VERDICT_NO_FAULT;
		fill_finding(e, k, &e->findings[e->n_findings++], RULES_STATE_HOLDS, NULL);
	}
	/* then what is undecided, what cannot be told here, and what was explained away */
	static const uint8_t later[] = {FS_POSSIBLE, FS_NOBS, FS_SUPPRESSED, FS_RULED_OUT};
	static const enum rules_state later_state[] = {
	    RULES_STATE_POSSIBLE, RULES_STATE_NOT_OBSERVABLE, RULES_STATE_SUPPRESSED,
	    RULES_STATE_RULED_OUT};
	bool possible = false, nobs = false;
	for (size_t pass = 0; pass < 4; pass++) {
		size_t mm = 0;
		for (size_t k = 0; k < n; k++) {
			enum rules_kind kind = e->rules[k].src->kind;
			if (e->fstate[k] != later[pass])
				continue;
			/* possible inhibits and normals wait for a press: no finding; inhibits
			 * that cannot be told are (a lockout the car does not show) */
			if ((pass == 0 && kind != RULES_KIND_CAUSE) ||
			    (pass == 1 && kind == RULES_KIND_NORMAL))
				continue;
			possible |= pass == 0;
			nobs |= pass == 1 && kind == RULES_KIND_CAUSE;
			e->order[mm++] = (uint32_t)k;
		}
		sort_rules(e, e->order, mm);
		for (size_t i = 0; i < mm; i++) {
			uint32_t k = e->order[i];
			const char *by = e->fby[k] == NONE ? NULL : e->rules[e->fby[k]].src->id;
			fill_finding(e, k, &e->findings[e->n_findings++], later_state[pass], by);
		}
	}
	if (e->verdict == RULES_VERDICT_INCONCLUSIVE && !possible && nobs)
		e->verdict = RULES_VERDICT_NOT_OBSERVABLE;
	judge_links(e);
}

int rules_evaluate(struct rules_engine *e)
{
	rank(e);
	return (int)e->n_findings;
}

size_t rules_finding_count(const struct rules_engine *e)
{
	return e->n_findings;
}

const struct rules_finding *rules_finding_at(const struct rules_engine *e, size_t i)
{
	return i < e->n_findings ? &e->findings[i] : NULL;
}

enum rules_verdict rules_verdict(const struct rules_engine *e)
{
	return e->verdict;
}

const char *rules_verdict_name(enum rules_verdict v)
{
	switch (v) {
	case RULES_VERDICT_INCONCLUSIVE:
		return "inconclusive";
	case RULES_VERDICT_FAULT:
		return "fault";
	case RULES_VERDICT_BLOCKED:
		return "blocked";
	case RULES_VERDICT_NO_FAULT:
		return "no fault found in the release chain";
	case RULES_VERDICT_NOT_OBSERVABLE:
		return "not observable on this vehicle";
	case RULES_VERDICT_MAX:
		break;
	}
	return "?";
}

const char *rules_state_name(enum rules_state s)
{
	switch (s) {
	case RULES_STATE_HOLDS:
		return "holds";
	case RULES_STATE_POSSIBLE:
		return "possible";
	case RULES_STATE_SUPPRESSED:
		return "suppressed";
	case RULES_STATE_RULED_OUT:
		return "ruled out";
	case RULES_STATE_NOT_OBSERVABLE:
		return "not observable";
	case RULES_STATE_MAX:
		break;
	}
	return "?";
}

const char *rules_kind_name(enum rules_kind k)
{
	switch (k) {
	case RULES_KIND_CAUSE:
		return "cause";
	case RULES_KIND_INHIBIT:
		return "inhibit";
	case RULES_KIND_NORMAL:
		return "normal";
	case RULES_KIND_MAX:
		break;
	}
	return "?";
}

const char *rules_link_state_name(enum rules_link_state s)
{
	switch (s) {
	case RULES_LINK_NOT_EXERCISED:
		return "not exercised";
	case RULES_LINK_WORKING:
		return "working";
	case RULES_LINK_FAILING:
		return "failing";
	case RULES_LINK_NOT_OBSERVABLE:
		return "not observable";
	case RULES_LINK_STATE_MAX:
		break;
	}
	return "?";
}

const struct rules_link *rules_link_at(const struct rules_engine *e, size_t i)
{
	return i < RULES_CHAIN_LINKS ? &e->links[i] : NULL;
}

int rules_missing_format(const struct rules_missing *m, char *buf, size_t size)
{
	if (m->dtc)
		return m->module && m->module[0] ? snprintf(buf, size, "dtc of %s", m->module)
						 : snprintf(buf, size, "dtc");
	const struct role *r = role_at(m->role);
	return snprintf(buf, size, "%s", r ? r->name : "?");
}

int rules_evidence_format(const struct rules_engine *e, const struct rules_evidence *ev, char *buf,
			  size_t size)
{
	char what[160];
	timeline_event_format(&ev->event, e->syms, what, sizeof(what));
	switch (ev->kind) {
	case RULES_EVIDENCE_EVENT:
		return snprintf(buf, size, "%s: %s", ev->condition ? ev->condition : "", what);
	case RULES_EVIDENCE_HELD:
		return snprintf(buf, size, "%s: held %.3f s from %s", ev->condition,
				(double)(ev->until_us - ev->from_us) / 1e6, what);
	case RULES_EVIDENCE_ABSENT:
		return snprintf(buf, size, "no '%s' within %.3f s after %s", ev->condition,
				(double)(ev->until_us - ev->from_us) / 1e6, what);
	case RULES_EVIDENCE_KIND_MAX:
		break;
	}
	return snprintf(buf, size, "?");
}

int rules_next_question(struct rules_engine *e, struct rules_question *ret_question)
{
	const struct rules_set *set = e->set;
	rank(e);
	for (size_t i = 0; i < e->n_seq_nodes; i++) {
		const struct enode *n = &e->nodes[e->seq_nodes[i]];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++)
			if (n->inst[k].open)
				return -EAGAIN;
	}
	double lead = -1;
	if (e->verdict == RULES_VERDICT_FAULT || e->verdict == RULES_VERDICT_BLOCKED)
		lead = e->findings[0].weight;

	size_t best = SIZE_MAX;
	unsigned best_waiting = 0;
	for (size_t q = 0; q < set->n_questions; q++) {
		uint32_t m = e->question_marks[q];
		if (m < e->n_marks && e->mark_seen[m])
			continue;
		unsigned waiting = 0;
		for (size_t k = 0; k < e->n_rules; k++) {
			/* only what a part or the whole chain does is worth an action: an inhibit
			 * waiting for a press is no reason to ask for one */
			if (e->fstate[k] != FS_POSSIBLE || !e->rules[k].reads_question[q] ||
			    e->rules[k].src->kind == RULES_KIND_INHIBIT)
				continue;
			if (e->rules[k].src->weight < lead)
				continue;
			waiting++;
		}
		if (!waiting)
			continue;
		if (best == SIZE_MAX || set->questions[q].cost < set->questions[best].cost ||
		    (set->questions[q].cost == set->questions[best].cost &&
		     waiting > best_waiting)) {
			best = q;
			best_waiting = waiting;
		}
	}
	if (best == SIZE_MAX)
		return -ENOENT;
	*ret_question = (struct rules_question){
	    .mark = set->questions[best].mark,
	    .prompt = set->questions[best].prompt,
	    .cost = set->questions[best].cost,
	    .mark_index = e->question_marks[best],
	    .waiting = best_waiting,
	};
	return 0;
}

