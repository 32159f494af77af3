/* SPDX-License-Identifier: MIT */
/*
 * rules: the evaluator's compiler and its event-driven core (rules.h). The structures
 * are in rules-private.h; truth values, ranking, links and questions in rules_verdict.c.
 *
 * Evaluation is event driven. An atom "fires" when what it describes happens (an edge,
 * a level becoming true or having held long enough, a DTC starting to match, a mark) and
 * hands the fire to its one user. A sequence's window that closes decides its step:
 * met (an absence), failed (a presence that did not come), or not observable (the role
 * it reads has never been seen, or the vehicle does not provide it): a press whose
 * outcome the car cannot show proves nothing either way.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bodydiag/rules.h"
#include "rules-private.h"

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static bool cmp_eval(enum cmp op, double v, double x)
{
	switch (op) {
	case CMP_EQ:
		return v == x;
	case CMP_NE:
		return v != x;
	case CMP_LT:
		return v < x;
	case CMP_LE:
		return v <= x;
	case CMP_GT:
		return v > x;
	case CMP_GE:
		return v >= x;
	case CMP_MAX:
		break;
	}
	return false;
}

static bool str_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], s))
			return true;
	return false;
}

static bool scope_active(const struct rule_src *r, const struct rules_vehicle *v)
{
	if (r->scope_make && (!v || !v->make || strcmp(v->make, r->scope_make)))
		return false;
	if (r->scope_platform && (!v || !v->platform || strcmp(v->platform, r->scope_platform)))
		return false;
	if (r->scope_module && v && v->n_modules &&
	    !str_in(r->scope_module, v->modules, v->n_modules))
		return false;
	return true;
}

static int intern(struct rules_engine *e, enum timeline_symbol_kind k, const char *name,
		  struct rules_error *err, uint32_t *ret)
{
	int r = timeline_symbols_intern(e->syms, k, name, strlen(name), ret);
	if (r < 0 && err)
		snprintf(err->message, sizeof(err->message), "cannot add name '%s': %s", name,
			 strerror(-r));
	return r;
}

/* Builds a CSR index: for each key, the atoms in key order. */
static int build_csr(size_t nkeys, size_t nitems, const uint32_t *item_key, const uint32_t *item,
		     uint32_t **ret_off, uint32_t **ret_items)
{
	uint32_t *off = calloc(nkeys + 1, sizeof(*off));
	uint32_t *items = calloc(nitems ? nitems : 1, sizeof(*items));
	if (!off || !items) {
		free(off);
		free(items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nitems; i++)
		off[item_key[i] + 1]++;
	for (size_t k = 0; k < nkeys; k++)
		off[k + 1] += off[k];
	uint32_t *fill = calloc(nkeys + 1, sizeof(*fill));
	if (!fill) {
		free(off);
		free(items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nitems; i++)
		items[off[item_key[i]] + fill[item_key[i]]++] = item[i];
	free(fill);
	*ret_off = off;
	*ret_items = items;
	return 0;
}

struct rules_engine *rules_engine_free(struct rules_engine *e)
{
	if (!e)
		return NULL;
	for (size_t i = 0; i < e->n_atoms; i++)
		free(e->atoms[i].marks);
	for (size_t i = 0; e->rules && i < e->n_rules + e->n_links; i++) {
		free(e->rules[i].evidence_sigs);
		free(e->rules[i].reads_question);
	}
	free(e->role_provided);
	free(e->role_sym);
	free(e->atoms);
	free(e->nodes);
	free(e->rules);
	free(e->ring_pool);
	free(e->val);
	free(e->val_t);
	free(e->have);
	free(e->reads);
	free(e->sig_off);
	free(e->sig_atoms);
	free(e->mark_off);
	free(e->mark_atoms);
	free(e->mark_seen);
	free(e->dtc_atoms);
	free(e->transport_atoms);
	free(e->timed_atoms);
	free(e->seq_nodes);
	free(e->question_marks);
	free(e->mark_action);
	free(e->action_late);
	free(e->role_causers);
	free(e->role_source);
	free(e->sig_role);
	free(e->sources);
	free(e->findings);
	free(e->order);
	free(e->fstate);
	free(e->fby);
	free(e);
	return NULL;
}

/* The set's rules, then its links: one numbering for the engine. */
static const struct rule_src *item(const struct rules_set *set, size_t k)
{
	return k < set->n_rules ? &set->rules[k] : &set->links[k - set->n_rules];
}

/*
 * The actions' attribution tables: which mark records which action, which roles each
 * action causes, which roles name a source and which actions claim each of their labels.
 * Marks are interned by then (rules and questions), and so are the roles.
 */
static int compile_actions(struct rules_engine *e)
{
	const struct rules_set *set = e->set;
	size_t n_roles = role_count(), nm = e->n_marks ? e->n_marks : 1;
	int r;

	e->n_actions = set->n_actions;
	e->mark_action = malloc(nm * sizeof(*e->mark_action));
	e->action_late = calloc(set->n_actions ? set->n_actions : 1, sizeof(*e->action_late));
	e->role_causers = calloc(n_roles, sizeof(*e->role_causers));
	e->role_source = malloc(n_roles * sizeof(*e->role_source));
	e->sig_role = malloc((e->n_sigs ? e->n_sigs : 1) * sizeof(*e->sig_role));
	e->sources = calloc(n_roles, sizeof(*e->sources));
	if (!e->mark_action || !e->action_late || !e->role_causers || !e->role_source ||
	    !e->sig_role || !e->sources)
		return -ENOMEM;
	for (size_t m = 0; m < nm; m++)
		e->mark_action[m] = NONE;
	for (size_t k = 0; k < n_roles; k++)
		e->role_source[k] = NONE;
	for (size_t s = 0; s < (e->n_sigs ? e->n_sigs : 1); s++)
		e->sig_role[s] = NONE;
	for (size_t k = 0; k < n_roles; k++)
		if (e->role_sym[k] < e->n_sigs)
			e->sig_role[e->role_sym[k]] = (uint32_t)k;
	for (size_t k = 0; k < set->n_actions; k++) {
		const struct action_src *as = &set->actions[k];
		uint32_t m, bit = 1u << k;
		/* interned by compile() already: this finds it */
		if ((r = timeline_symbols_intern(e->syms, TIMELINE_SYMBOL_MARK, as->mark,
						 strlen(as->mark), &m)) < 0)
			return r;
		if (m < e->n_marks)
			e->mark_action[m] = (uint32_t)k;
		e->action_late[k] = as->late_us;
		for (size_t j = 0; j < as->n_causes; j++)
			e->role_causers[as->causes[j]] |= bit;
		for (size_t j = 0; j < as->n_sources; j++) {
			const struct source_src *ss = &as->sources[j];
			uint32_t si = e->role_source[ss->role];
			if (si == NONE) {
				si = (uint32_t)e->n_sources++;
				e->role_source[ss->role] = si;
				e->sources[si].role = ss->role;
				e->sources[si].sig = e->role_sym[ss->role];
			}
			struct esource *src = &e->sources[si];
			for (unsigned v = 0; v < 64; v++)
				if (ss->labels & (1ull << v))
					src->claim[v] |= bit;
			if (ss->within_us > src->within_us)
				src->within_us = ss->within_us;
		}
	}
	for (size_t i = 0; i < e->n_atoms; i++) {
		struct eatom *a = &e->atoms[i];
		if (a->kind != ATOM_LEVEL && a->kind != ATOM_EDGE && a->kind != ATOM_UPDATE)
			continue;
		for (unsigned s = 0; s < 2; s++)
			if (a->src->role[s] != NONE && e->role_causers[a->src->role[s]])
				a->effect = true;
	}
	return 0;
}

static int compile(struct rules_engine *e, const struct rules_vehicle *vehicle,
		   struct rules_error *err)
{
	const struct rules_set *set = e->set;
	size_t n_items = set->n_rules + set->n_links, n_roles = role_count();
	size_t n_atoms = 0, n_nodes = 0, n_ring = 0;
	int r;

	for (size_t k = 0; k < n_items; k++) {
		const struct rule_src *rs = item(set, k);
		n_atoms += rs->n_atoms;
		n_nodes += rs->n_nodes;
		for (size_t j = 0; j < rs->n_nodes; j++)
			if (rs->nodes[j].kind == NODE_COUNT)
				n_ring += rs->nodes[j].count_n;
	}
	e->atoms = calloc(n_atoms ? n_atoms : 1, sizeof(*e->atoms));
	e->nodes = calloc(n_nodes ? n_nodes : 1, sizeof(*e->nodes));
	e->rules = calloc(n_items ? n_items : 1, sizeof(*e->rules));
	e->ring_pool = calloc(n_ring ? n_ring : 1, sizeof(*e->ring_pool));
	e->findings = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->findings));
	e->order = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->order));
	e->fstate = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->fstate));
	e->fby = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->fby));
	e->question_marks = calloc(set->n_questions ? set->n_questions : 1, sizeof(uint32_t));
	e->role_provided = calloc(n_roles, sizeof(*e->role_provided));
	e->role_sym = calloc(n_roles, sizeof(*e->role_sym));
	if (!e->atoms || !e->nodes || !e->rules || !e->ring_pool || !e->findings || !e->order ||
	    !e->fstate || !e->fby || !e->question_marks || !e->role_provided || !e->role_sym)
		return -ENOMEM;
	e->n_atoms = n_atoms;
	e->n_nodes = n_nodes;
	e->n_rules = set->n_rules;
	e->n_links = set->n_links;

	/* every role has a symbol, so that samples of roles no rule reads still say "seen" */
	for (size_t k = 0; k < n_roles; k++) {
		e->role_provided[k] = !vehicle || !vehicle->roles || vehicle->roles[k];
		if ((r = intern(e, TIMELINE_SYMBOL_SIGNAL, role_at(k)->name, err,
				&e->role_sym[k])) < 0)
			return r;
	}
	for (size_t q = 0; q < set->n_questions; q++)
		if ((r = intern(e, TIMELINE_SYMBOL_MARK, set->questions[q].mark, err,
				&e->question_marks[q])) < 0)
			return r;
	/* an action's mark has a symbol even when no rule reads it: it still owns effects */
	for (size_t k = 0; k < set->n_actions; k++) {
		uint32_t m;
		if ((r = intern(e, TIMELINE_SYMBOL_MARK, set->actions[k].mark, err, &m)) < 0)
			return r;
	}

	size_t abase = 0, nbase = 0, rbase = 0;
	for (size_t k = 0; k < n_items; k++) {
		const struct rule_src *rs = item(set, k);
		struct erule *er = &e->rules[k];
		er->src = rs;
		er->active = scope_active(rs, vehicle);
		er->root = (uint32_t)(nbase + rs->root);
		er->root2 = rs->root2 == NONE ? NONE : (uint32_t)(nbase + rs->root2);
		if (rs->root == NONE)
			er->root = NONE;
		if (er->active && k < set->n_rules)
			e->n_active++;
		uint32_t module = NONE;
		if (rs->scope_module &&
		    (r = intern(e, TIMELINE_SYMBOL_MODULE, rs->scope_module, err, &module)) < 0)
			return r;
		if (rs->n_evidence) {
			er->evidence_sigs = calloc(rs->n_evidence, sizeof(uint32_t));
			if (!er->evidence_sigs)
				return -ENOMEM;
			for (size_t j = 0; j < rs->n_evidence; j++)
				er->evidence_sigs[j] = e->role_sym[rs->evidence[j]];
		}
		er->reads_question = calloc(set->n_questions ? set->n_questions : 1, sizeof(bool));
		if (!er->reads_question)
			return -ENOMEM;

		for (size_t j = 0; j < rs->n_atoms; j++) {
			const struct atom_src *as = &rs->atoms[j];
			struct eatom *a = &e->atoms[abase + j];
			a->src = as;
			a->kind = as->kind;
			a->rule = (uint32_t)k;
			a->module = module;
			for (unsigned s = 0; s < 2; s++)
				a->sig[s] = as->role[s] == NONE ? NONE : e->role_sym[as->role[s]];
			if (as->n_marks) {
				a->marks = calloc(as->n_marks, sizeof(uint32_t));
				if (!a->marks)
					return -ENOMEM;
				a->n_marks = as->n_marks;
				for (size_t m = 0; m < as->n_marks; m++) {
					if ((r = intern(e, TIMELINE_SYMBOL_MARK, as->marks[m], err,
							&a->marks[m])) < 0)
						return r;
					for (size_t q = 0; q < set->n_questions; q++)
						if (e->question_marks[q] == a->marks[m])
							er->reads_question[q] = true;
				}
			}
		}
		for (size_t j = 0; j < rs->n_nodes; j++) {
			const struct node_src *ns = &rs->nodes[j];
			struct enode *n = &e->nodes[nbase + j];
			n->src = ns;
			n->kind = ns->kind;
			n->rule = (uint32_t)k;
			n->first_child =
			    ns->first_child == NONE ? NONE : (uint32_t)(nbase + ns->first_child);
			n->next_sibling =
			    ns->next_sibling == NONE ? NONE : (uint32_t)(nbase + ns->next_sibling);
			n->atom = ns->atom == NONE ? NONE : (uint32_t)(abase + ns->atom);
			switch (ns->kind) {
			case NODE_ATOM:
				e->atoms[n->atom].user = USER_LATCH;
				e->atoms[n->atom].node = (uint32_t)(nbase + j);
				break;
			case NODE_COUNT:
				e->atoms[n->atom].user = USER_COUNT;
				e->atoms[n->atom].node = (uint32_t)(nbase + j);
				n->ring = e->ring_pool + rbase;
				rbase += ns->count_n;
				break;
			case NODE_SEQ:
				e->atoms[n->atom].user = USER_ANCHOR;
				e->atoms[n->atom].node = (uint32_t)(nbase + j);
				for (unsigned s = 0; s < ns->n_steps; s++) {
					struct eatom *sa = &e->atoms[abase + ns->steps[s].atom];
					sa->user = USER_STEP;
					sa->node = (uint32_t)(nbase + j);
					sa->step = s;
				}
				break;
			case NODE_ALL:
			case NODE_ANY:
			case NODE_NOT:
			case NODE_KIND_MAX:
				break;
			}
		}
		abase += rs->n_atoms;
		nbase += rs->n_nodes;
	}

	/* per-signal state sized by what the table holds now (decoders interned theirs) */
	e->n_sigs = timeline_symbols_count(e->syms, TIMELINE_SYMBOL_SIGNAL);
	e->n_marks = timeline_symbols_count(e->syms, TIMELINE_SYMBOL_MARK);
	size_t ns = e->n_sigs ? e->n_sigs : 1, nm = e->n_marks ? e->n_marks : 1;
	e->val = calloc(ns, sizeof(*e->val));
	e->val_t = calloc(ns, sizeof(*e->val_t));
	e->have = calloc(ns, sizeof(*e->have));
	e->reads = calloc(ns, sizeof(*e->reads));
	e->mark_seen = calloc(nm, sizeof(*e->mark_seen));
	if (!e->val || !e->val_t || !e->have || !e->reads || !e->mark_seen)
		return -ENOMEM;
	for (size_t k = 0; k < n_items; k++)
		for (size_t j = 0; e->rules[k].active && j < e->rules[k].src->n_evidence; j++)
			e->reads[e->rules[k].evidence_sigs[j]] = 1;
	if ((r = compile_actions(e)) < 0)
		return r;

	/* indexes over active rules' atoms */
	size_t cap = n_atoms * 2 + 1;
	uint32_t *keys = calloc(cap, sizeof(*keys)), *items = calloc(cap, sizeof(*items));
	uint32_t *mkeys = NULL, *mitems = NULL;
	size_t nsig_items = 0, nmark_items = 0, mcap = 1;
	for (size_t i = 0; i < n_atoms; i++)
		mcap += e->atoms[i].n_marks;
	mkeys = calloc(mcap, sizeof(*mkeys));
	mitems = calloc(mcap, sizeof(*mitems));
	e->dtc_atoms = calloc(n_atoms + 1, sizeof(uint32_t));
	e->transport_atoms = calloc(n_atoms + 1, sizeof(uint32_t));
	e->timed_atoms = calloc(n_atoms + 1, sizeof(uint32_t));
	e->seq_nodes = calloc(n_nodes + 1, sizeof(uint32_t));
	if (!keys || !items || !mkeys || !mitems || !e->dtc_atoms || !e->transport_atoms ||
	    !e->timed_atoms || !e->seq_nodes) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_atoms; i++) {
		struct eatom *a = &e->atoms[i];
		if (!e->rules[a->rule].active)
			continue;
		for (unsigned s = 0; s < 2; s++) {
			if (a->sig[s] == NONE || (s == 1 && a->sig[1] == a->sig[0]))
				continue;
			e->reads[a->sig[s]] = 1;
			keys[nsig_items] = a->sig[s];
			items[nsig_items++] = (uint32_t)i;
		}
		for (size_t m = 0; m < a->n_marks; m++) {
			mkeys[nmark_items] = a->marks[m];
			mitems[nmark_items++] = (uint32_t)i;
		}
		if (a->kind == ATOM_DTC)
			e->dtc_atoms[e->n_dtc_atoms++] = (uint32_t)i;
		if (a->kind == ATOM_TRANSPORT)
			e->transport_atoms[e->n_transport_atoms++] = (uint32_t)i;
		if (a->kind == ATOM_LEVEL && a->src->for_us > 0)
			e->timed_atoms[e->n_timed_atoms++] = (uint32_t)i;
	}
	for (size_t i = 0; i < n_nodes; i++)
		if (e->nodes[i].kind == NODE_SEQ && e->rules[e->nodes[i].rule].active)
			e->seq_nodes[e->n_seq_nodes++] = (uint32_t)i;
	if ((r = build_csr(e->n_sigs, nsig_items, keys, items, &e->sig_off, &e->sig_atoms)) < 0 ||
	    (r = build_csr(e->n_marks, nmark_items, mkeys, mitems, &e->mark_off, &e->mark_atoms)) <
		0)
		goto out;
	r = 0;
out:
	free(keys);
	free(items);
	free(mkeys);
	free(mitems);
	return r;
}

int rules_engine_new(const struct rules_set *set, struct timeline_symbols *syms,
		     const struct rules_vehicle *vehicle, struct rules_error *err,
		     struct rules_engine **ret_engine)
{
	if (!set || !syms)
		return -EINVAL;
	struct rules_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->set = set;
	e->syms = syms;
	if (err)
		*err = (struct rules_error){0};
	int r = compile(e, vehicle, err);
	if (r < 0) {
		if (err && !err->message[0])
			snprintf(err->message, sizeof(err->message), "%s", strerror(-r));
		rules_engine_free(e);
		return r;
	}
	e->now = INT64_MIN;
	e->last_action_t = INT64_MIN;
	rules_reset(e, INT64_MIN);
	*ret_engine = e;
	return 0;
}

size_t rules_engine_active_count(const struct rules_engine *e)
{
	return e->n_active;
}

bool rules_engine_reads_signal(const struct rules_engine *e, uint32_t index)
{
	return index < e->n_sigs && e->reads[index];
}

/* ---- evaluation ---- */

struct rules_evidence rules_ev_event(const struct eatom *a, const struct timeline_event *ev)
{
	return (struct rules_evidence){
	    .kind = RULES_EVIDENCE_EVENT,
	    .event = *ev,
	    .from_us = ev->t_us,
	    .until_us = ev->t_us,
	    .condition = a->src->text,
	};
}

static bool role_observable(const struct rules_engine *e, uint32_t role, uint32_t sig,
			    bool dynamic)
{
	if (role == NONE)
		return true;
	if (!e->role_provided[role])
		return false;
	return !dynamic || (sig < e->n_sigs && e->have[sig]);
}

static bool module_read(const struct rules_engine *e, uint32_t module)
{
	if (module == NONE)
		return e->read_any;
	for (size_t i = 0; i < e->n_read_modules; i++)
		if (e->read_modules[i] == module)
			return true;
	return false;
}

bool rules_atom_observable(const struct rules_engine *e, const struct eatom *a, bool dynamic)
{
	switch (a->kind) {
	case ATOM_LEVEL:
	case ATOM_EDGE:
	case ATOM_UPDATE:
		return role_observable(e, a->src->role[0], a->sig[0], dynamic) &&
		       role_observable(e, a->src->role[1], a->sig[1], dynamic);
	case ATOM_DTC:
		/* a fault memory that was never read says nothing; one DTC of it is a read */
		return !dynamic || a->cur || module_read(e, a->module);
	case ATOM_MARK:
	case ATOM_TRANSPORT:
	case ATOM_KIND_MAX:
		break;
	}
	return true;
}

static bool level_now(const struct rules_engine *e, const struct eatom *a)
{
	for (unsigned s = 0; s < (a->src->has_while ? 2u : 1u); s++) {
		uint32_t sig = a->sig[s];
		if (sig >= e->n_sigs || !e->have[sig] ||
		    !cmp_eval(a->src->op[s], e->val[sig], a->src->x[s]))
			return false;
	}
	return true;
}

/* ---- attribution: which action an effect belongs to ---- */

static uint32_t claim_of(const struct esource *src, double v)
{
	return v >= 1 && v < 64 ? src->claim[(unsigned)v] : 0;
}

/*
 * Whether a source role carries what happens at t: it shows a source now, or showed one
 * no longer than its `within` ago and no action was marked since (the next action ends
 * the carry). *ret_v: the source it showed.
 */
static bool source_carried(const struct rules_engine *e, const struct esource *src, int64_t t,
			   double *ret_v)
{
	if (e->val[src->sig] != 0) {
		*ret_v = e->val[src->sig];
		return true;
	}
	if (src->active_seen && src->active_t >= e->last_action_t &&
	    t - src->active_t <= src->within_us) {
		*ret_v = src->active_v;
		return true;
	}
	return false;
}

/*
 * The actions that can have caused a change of role to value at t: those whose `causes`
 * list the role; narrowed by what the car says (a source role showing a label claimed by
 * an action names that action; upstream of the role, a source role showing a source
 * keeps the actions that pass through it, and one at rest keeps the actions that bypass
 * it, when any does: the key blade's mechanical path).
 */
static uint32_t effect_mask(const struct rules_engine *e, uint32_t role, double value, int64_t t)
{
	uint32_t mask = e->role_causers[role];
	uint32_t si = e->role_source[role];
	if (si != NONE && value != 0) {
		uint32_t c = claim_of(&e->sources[si], value);
		if (c)
			mask = c;
	}
	enum role_link lr = role_at(role)->link;
	if (lr == ROLE_LINK_CONTEXT)
		return mask;
	for (size_t k = 0; k < e->n_sources; k++) {
		const struct esource *src = &e->sources[k];
		enum role_link ls = role_at(src->role)->link;
		double v;
		if (src->role == role || ls >= lr || !e->role_provided[src->role] ||
		    src->sig >= e->n_sigs || !e->have[src->sig])
			continue; /* not upstream, or the car does not show it: it says nothing */
		if (source_carried(e, src, t, &v)) {
			uint32_t c = claim_of(src, v);
			mask &= c ? c : e->role_causers[src->role];
		} else {
			uint32_t bypass = mask & ~e->role_causers[src->role];
			if (bypass)
				mask = bypass;
		}
	}
	return mask;
}

/* The latest action mark at or before t among the actions in mask, else NULL. */
static const struct emark *owner_of(const struct rules_engine *e, uint32_t mask, int64_t t)
{
	for (size_t k = e->n_mark_log; k-- > 0;) {
		const struct emark *m = &e->mark_log[k];
		if (m->t <= t && (mask & (1u << m->action)))
			return m;
	}
	return NULL;
}

/* Atom a fires or starts to hold at event ev: which actions could have caused it, and
 * which mark owns it. */
static void attribute(struct rules_engine *e, struct eatom *a, const struct timeline_event *ev)
{
	uint32_t role = NONE, er = NONE;
	if (!a->effect)
		return;
	if (ev->type == TIMELINE_EVENT_SIGNAL && ev->signal.index < e->n_sigs)
		er = e->sig_role[ev->signal.index];
	/* the role whose sample made it happen, if an action causes it; else the other */
	for (unsigned s = 0; s < 2; s++)
		if (er != NONE && a->src->role[s] == er && e->role_causers[er])
			role = er;
	for (unsigned s = 0; s < 2 && role == NONE; s++)
		if (a->src->role[s] != NONE && e->role_causers[a->src->role[s]])
			role = a->src->role[s];
	uint32_t sig = e->role_sym[role];
	a->on_seen = true;
	a->on_ev = *ev;
	a->on_t = ev->t_us;
	a->on_mask = effect_mask(e, role, sig < e->n_sigs ? e->val[sig] : 0, ev->t_us);
	const struct emark *m = owner_of(e, a->on_mask, ev->t_us);
	a->on_owner = m ? m->serial : 0;
	a->on_owner_t = m ? m->t : INT64_MIN;
}

/*
 * Whether the onset of atom a belongs to instance in: its own mark owns it, or the mark
 * came late: the onset was before the mark, by no more than the action's `late`, an
 * action of this kind could have caused it, and no such action was marked shortly
 * before it.
 */
static bool claimed_late(const struct rules_engine *e, const struct instance *in,
			 const struct eatom *a)
{
	int64_t late = e->action_late[in->action];
	if (!a->on_seen || !(a->on_mask & (1u << in->action)) || a->on_t > in->t0 ||
	    in->t0 - a->on_t > late)
		return false;
	return !a->on_owner || a->on_owner_t < a->on_t - late;
}

static bool owns(const struct rules_engine *e, const struct instance *in, const struct eatom *a)
{
	if (!in->serial || !a->effect || a->on_owner == in->serial)
		return true;
	return claimed_late(e, in, a);
}

static void log_mark(struct rules_engine *e, uint32_t action, int64_t t)
{
	if (e->n_mark_log == RULES_MARK_LOG) {
		memmove(e->mark_log, e->mark_log + 1, (RULES_MARK_LOG - 1) * sizeof(e->mark_log[0]));
		e->n_mark_log--;
	}
	if (++e->mark_serial == 0)
		e->mark_serial = 1;
	e->mark_log[e->n_mark_log++] = (struct emark){.t = t, .action = action, .serial = e->mark_serial};
	e->last_action_t = t;
}

/* The level (or DTC match) is satisfied now, duration included. */
static bool atom_satisfied(const struct eatom *a)
{
	if (a->kind == ATOM_LEVEL)
		return a->cur && (a->src->for_us == 0 || a->fired);
	if (a->kind == ATOM_DTC)
		return a->cur;
	return false;
}

static struct rules_evidence atom_current_evidence(const struct eatom *a)
{
	struct rules_evidence ev = rules_ev_event(a, &a->start_ev);
	if (a->kind == ATOM_LEVEL && a->src->for_us > 0) {
		ev.kind = RULES_EVIDENCE_HELD;
		ev.from_us = a->since;
		ev.until_us = sat_add(a->since, a->src->for_us);
	}
	return ev;
}

static void fire(struct rules_engine *e, struct eatom *a, int64_t t,
		 const struct rules_evidence *ev);

/* Step s can still be decided: its window is open, or will open once the steps before it
 * are met. */
static bool step_reachable(const struct enode *n, const struct instance *in, unsigned s)
{
	for (;;) {
		if (s == 0 || !n->src->steps[s].then)
			return true;
		if (in->state[s - 1] == STEP_MET)
			return true;
		if (in->state[s - 1] != STEP_PENDING)
			return false;
		s--;
	}
}

static void instance_check(struct rules_engine *e, struct enode *n, struct instance *in)
{
	unsigned steps = n->src->n_steps;
	bool all = true, nobs = false, pending = false;
	for (unsigned s = 0; s < steps; s++) {
		if (in->state[s] == STEP_FAILED) {
			in->open = false;
			n->n_failed++;
			return;
		}
		if (in->state[s] == STEP_NOBS)
			nobs = true;
		else if (in->state[s] == STEP_PENDING && step_reachable(n, in, s))
			pending = true;
		if (in->state[s] != STEP_MET)
			all = false;
	}
	/* an undecidable step: wait for the others (a failure still says no), then give up */
	if (nobs && !pending) {
		in->open = false;
		n->n_nobs++;
		return;
	}
	if (all) {
		in->open = false;
		if (!n->latched) {
			n->latched = true;
			n->latched_t = in->t[steps - 1];
			for (unsigned s = 0; s < steps; s++)
				if (in->t[s] > n->latched_t)
					n->latched_t = in->t[s];
			n->won = *in;
		}
	}
}

/* Anchor time of step s of an instance, or INT64_MIN when its window is not open yet. */
static int64_t step_anchor(const struct enode *n, const struct instance *in, unsigned s)
{
	if (s == 0 || !n->src->steps[s].then)
		return in->t0;
	if (in->state[s - 1] != STEP_MET)
		return INT64_MIN;
	return in->t[s - 1];
}

static void step_met(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		     int64_t t, const struct rules_evidence *ev);

/* A window opens at time a: a level already true meets (or, absent, fails) it at once. */
static void step_open(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		      int64_t a)
{
	const struct step_src *st = &n->src->steps[s];
	const struct eatom *atom = &e->atoms[n->atom - n->src->atom + st->atom];
	if (in->state[s] != STEP_PENDING)
		return;
	/* The mark came late (the person acted, then said so): this action's effect that came
	 * before it counts as in its window, also when it is over by now (an inrush, a
	 * request pulse). Not for holds: whether a past run lasted long enough is not kept. */
	if (a == in->t0 && in->serial && atom->effect && atom->on_owner != in->serial &&
	    !(atom->kind == ATOM_LEVEL && atom->src->for_us > 0) && claimed_late(e, in, atom)) {
		if (st->absent) {
			in->state[s] = STEP_FAILED;
		} else {
			struct rules_evidence ev = rules_ev_event(atom, &atom->on_ev);
			step_met(e, n, in, s, a, &ev);
		}
		return;
	}
	/* already true by another action's doing (the lid left open): this action's effect
	 * cannot show until it changes again. (An absence fails all the same: what it must
	 * not see is there, whoever did it.) */
	if (!st->absent && atom->kind == ATOM_LEVEL && atom->cur && !owns(e, in, atom)) {
		in->masked |= (uint8_t)(1u << s);
		return;
	}
	if (!atom_satisfied(atom))
		return;
	if (st->absent) {
		in->state[s] = STEP_FAILED;
		return;
	}
	struct rules_evidence ev = atom_current_evidence(atom);
	step_met(e, n, in, s, a, &ev);
}

static void step_met(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		     int64_t t, const struct rules_evidence *ev)
{
	in->state[s] = STEP_MET;
	in->t[s] = t;
	in->ev[s] = *ev;
	if (s + 1 < n->src->n_steps && n->src->steps[s + 1].then)
		step_open(e, n, in, s + 1, t);
}

static void open_instance(struct rules_engine *e, struct enode *n, int64_t t,
			  const struct timeline_event *anchor)
{
	struct instance *slot = NULL;
	for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
		if (!n->inst[k].open) {
			slot = &n->inst[k];
			break;
		}
	}
	if (!slot) {
		/* bounded memory: the oldest open window is given up, undecided */
		slot = &n->inst[0];
		for (unsigned k = 1; k < RULES_MAX_INSTANCES; k++)
			if (n->inst[k].t0 < slot->t0)
				slot = &n->inst[k];
	}
	memset(slot, 0, sizeof(*slot));
	n->opened = true;
	slot->open = true;
	slot->t0 = t;
	slot->anchor_ev = *anchor;
	/* an action's window sees only the effects that belong to it */
	if (anchor->type == TIMELINE_EVENT_MARK && anchor->mark.index < e->n_marks &&
	    e->mark_action[anchor->mark.index] != NONE) {
		slot->serial = e->mark_serial;
		slot->action = e->mark_action[anchor->mark.index];
	}
	/* a step this vehicle cannot show at all is decided now */
	for (unsigned s = 0; s < n->src->n_steps; s++)
		if (!rules_atom_observable(e, &e->atoms[n->atom - n->src->atom + n->src->steps[s].atom],
					   false))
			slot->state[s] = STEP_NOBS;
	for (unsigned s = 0; s < n->src->n_steps; s++)
		if (s == 0 || !n->src->steps[s].then)
			step_open(e, n, slot, s, t);
	instance_check(e, n, slot);
}

static void latch(struct enode *n, int64_t t, const struct rules_evidence *ev)
{
	if (n->latched)
		return;
	n->latched = true;
	n->latched_t = t;
	n->ev = *ev;
}

static void fire(struct rules_engine *e, struct eatom *a, int64_t t,
		 const struct rules_evidence *ev)
{
	struct enode *n = &e->nodes[a->node];
	e->dirty = true;
	switch (a->user) {
	case USER_LATCH:
		latch(n, t, ev);
		break;
	case USER_COUNT: {
		unsigned cap = n->src->count_n;
		n->ring[n->ring_head] = t;
		n->ring_head = (n->ring_head + 1) % cap;
		if (n->ring_len < cap)
			n->ring_len++;
		/* full ring: the oldest of the last N fires is at ring_head */
		if (n->ring_len == cap &&
		    t <= sat_add(n->ring[n->ring_head % cap], n->src->within_us))
			latch(n, t, ev);
		break;
	}
	case USER_ANCHOR: {
		open_instance(e, n, t, &ev->event);
		break;
	}
	case USER_STEP: {
		const struct step_src *st = &n->src->steps[a->step];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
			struct instance *in = &n->inst[k];
			if (!in->open || in->state[a->step] != STEP_PENDING)
				continue;
			int64_t anchor = step_anchor(n, in, a->step);
			if (anchor == INT64_MIN || t < anchor || t > sat_add(anchor, st->within_us))
				continue;
			if (!owns(e, in, a))
				continue; /* another action's effect */
			if (st->absent)
				in->state[a->step] = STEP_FAILED;
			else
				step_met(e, n, in, a->step, t, ev);
			instance_check(e, n, in);
		}
		break;
	}
	case USER_KIND_MAX:
		break;
	}
}

/* A level atom's inputs changed at event ev. */
static void level_update(struct rules_engine *e, struct eatom *a, const struct timeline_event *ev)
{
	bool now = level_now(e, a);
	if (now && !a->cur) {
		e->dirty = true; /* a hold starts: its end is a deadline */
		attribute(e, a, ev);
		a->cur = true;
		a->since = ev->t_us;
		a->start_ev = *ev;
		a->fired = false;
		if (a->src->for_us == 0) {
			a->fired = true;
			struct rules_evidence evd = rules_ev_event(a, ev);
			fire(e, a, ev->t_us, &evd);
		}
	} else if (!now && a->cur) {
		a->cur = false;
		a->fired = false;
	}
}

static void recompute_deadline(struct rules_engine *e)
{
	int64_t d = INT64_MAX;
	for (size_t i = 0; i < e->n_timed_atoms; i++) {
		const struct eatom *a = &e->atoms[e->timed_atoms[i]];
		if (a->cur && !a->fired && sat_add(a->since, a->src->for_us) < d)
			d = sat_add(a->since, a->src->for_us);
	}
	for (size_t i = 0; i < e->n_seq_nodes; i++) {
		const struct enode *n = &e->nodes[e->seq_nodes[i]];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
			const struct instance *in = &n->inst[k];
			if (!in->open)
				continue;
			for (unsigned s = 0; s < n->src->n_steps; s++) {
				int64_t a = step_anchor(n, in, s);
				if (in->state[s] != STEP_PENDING || a == INT64_MIN)
					continue;
				/* the window closes once time is past its end */
				int64_t end = sat_add(sat_add(a, n->src->steps[s].within_us), 1);
				if (end < d)
					d = end;
			}
		}
	}
	e->deadline = d;
	e->dirty = false;
}

static void do_advance(struct rules_engine *e, int64_t now)
{
	if (now < e->deadline)
		return;
	/* durations reached by now, at the time they were reached */
	for (size_t i = 0; i < e->n_timed_atoms; i++) {
		struct eatom *a = &e->atoms[e->timed_atoms[i]];
		if (a->cur && !a->fired && sat_add(a->since, a->src->for_us) <= now) {
			a->fired = true;
			struct rules_evidence ev = atom_current_evidence(a);
			fire(e, a, sat_add(a->since, a->src->for_us), &ev);
		}
	}
	/* windows ended before now; an absence met opens a `then` window at its end,
	 * which may itself have ended: loop until nothing changes */
	for (size_t i = 0; i < e->n_seq_nodes; i++) {
		struct enode *n = &e->nodes[e->seq_nodes[i]];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
			struct instance *in = &n->inst[k];
			bool changed = true;
			while (in->open && changed) {
				changed = false;
				for (unsigned s = 0; s < n->src->n_steps; s++) {
					const struct step_src *st = &n->src->steps[s];
					int64_t a = step_anchor(n, in, s);
					if (in->state[s] != STEP_PENDING || a == INT64_MIN ||
					    sat_add(a, st->within_us) >= now)
						continue;
					changed = true;
					const struct eatom *atom =
					    &e->atoms[n->atom - n->src->atom + st->atom];
					/* true all along by another action's doing: cannot tell */
					if (in->masked & (1u << s)) {
						in->state[s] = STEP_NOBS;
						continue;
					}
					/* nothing was heard of what the step looks for: the
					 * window proves neither presence nor absence */
					if (!rules_atom_observable(e, atom, true)) {
						in->state[s] = STEP_NOBS;
						continue;
					}
					if (!st->absent) {
						in->state[s] = STEP_FAILED;
						continue;
					}
					struct rules_evidence ev = {
					    .kind = RULES_EVIDENCE_ABSENT,
					    .event = in->anchor_ev,
					    .from_us = a,
					    .until_us = sat_add(a, st->within_us),
					    .condition = atom->src->text,
					};
					step_met(e, n, in, s, sat_add(a, st->within_us), &ev);
				}
				instance_check(e, n, in);
			}
		}
	}
	recompute_deadline(e);
}

void rules_advance(struct rules_engine *e, int64_t now_us)
{
	/* advancing to rules_next_deadline() when nothing is pending changes nothing */
	if (now_us == INT64_MAX)
		return;
	if (now_us < e->now)
		now_us = e->now;
	e->now = now_us;
	do_advance(e, now_us);
}

int64_t rules_next_deadline(const struct rules_engine *e)
{
	return e->deadline;
}

int64_t rules_now(const struct rules_engine *e)
{
	return e->now;
}

static bool dtc_matches(const struct eatom *a, const struct edtc *d)
{
	const struct atom_src *s = a->src;
	if (a->module != NONE && d->module != TIMELINE_MODULE_NONE && d->module != a->module)
		return false;
	if (!dtc_pattern_match(&s->pattern, d->code))
		return false;
	if ((d->status & s->status_all) != s->status_all)
		return false;
	if (s->stored && !(d->status & ST_STORED_ANY))
		return false;
	if (s->flapping && d->toggles < s->flapping)
		return false;
	return true;
}

/* The fault memory of a module was read (a DTC list arrived, possibly empty). */
static void dtc_read(struct rules_engine *e, uint32_t module)
{
	e->read_any = true;
	if (module == TIMELINE_MODULE_NONE || module_read(e, module) ||
	    e->n_read_modules == RULES_MAX_READ_MODULES)
		return;
	e->read_modules[e->n_read_modules++] = module;
}

static void feed_dtc(struct rules_engine *e, const struct timeline_event *ev)
{
	dtc_read(e, ev->dtc.module);
	struct edtc *d = NULL;
	for (size_t i = 0; i < e->n_dtcs && !d; i++)
		if (e->dtcs[i].code == ev->dtc.code && e->dtcs[i].module == ev->dtc.module)
			d = &e->dtcs[i];
	/* the status before this event: ours, else what the timeline remembered */
	bool prev_known;
	uint8_t prev = 0;
	if (d) {
		if (d->status == ev->dtc.status)
			return;
		prev_known = true;
		prev = d->status;
	} else {
		if (e->n_dtcs == RULES_MAX_DTCS)
			return; /* beyond the bound: ignored, as documented */
		d = &e->dtcs[e->n_dtcs++];
		*d = (struct edtc){.module = ev->dtc.module, .code = ev->dtc.code};
		prev_known = !ev->dtc.first_seen;
		prev = ev->dtc.previous;
	}
	struct edtc before = *d;
	before.status = prev;
	/* testFailed toggling is the intermittent signature: count every change of bit 0 */
	if (prev_known && ((prev ^ ev->dtc.status) & ST_TF))
		d->toggles++;
	d->status = ev->dtc.status;

	for (size_t i = 0; i < e->n_dtc_atoms; i++) {
		struct eatom *a = &e->atoms[e->dtc_atoms[i]];
		bool was = prev_known && dtc_matches(a, &before);
		bool is = dtc_matches(a, d);
		if (is && !was) {
			if (!a->cur) {
				a->cur = true;
				a->since = ev->t_us;
				a->start_ev = *ev;
			}
			struct rules_evidence evd = rules_ev_event(a, ev);
			fire(e, a, ev->t_us, &evd);
		} else if (was && !is) {
			bool any = false;
			for (size_t j = 0; j < e->n_dtcs && !any; j++)
				any = dtc_matches(a, &e->dtcs[j]);
			a->cur = any;
		}
	}
}

int rules_feed(struct rules_engine *e, const struct timeline_event *ev)
{
	if (!e || !ev)
		return -EINVAL;
	struct timeline_event evc = *ev;
	if (evc.t_us < e->now)
		evc.t_us = e->now;
	e->now = evc.t_us;
	do_advance(e, evc.t_us);

	switch (evc.type) {
	case TIMELINE_EVENT_SIGNAL: {
		uint32_t s = evc.signal.index;
		if (!isfinite(evc.signal.value))
			return -EINVAL;
		if (s >= e->n_sigs)
			return 0;
		double prev = e->val[s];
		bool had = e->have[s];
		e->val[s] = evc.signal.value;
		e->val_t[s] = evc.t_us;
		e->have[s] = 1;
		uint32_t role = e->sig_role[s];
		if (role != NONE && e->role_source[role] != NONE &&
		    (evc.signal.value != 0 || (had && prev != 0))) {
			/* it shows a source until this sample (which may end it) */
			struct esource *src = &e->sources[e->role_source[role]];
			src->active_t = evc.t_us;
			if (evc.signal.value != 0)
				src->active_v = evc.signal.value;
			src->active_seen = true;
		}
		for (uint32_t k = e->sig_off[s]; k < e->sig_off[s + 1]; k++) {
			struct eatom *a = &e->atoms[e->sig_atoms[k]];
			switch (a->kind) {
			case ATOM_LEVEL:
				level_update(e, a, &evc);
				break;
			case ATOM_EDGE:
				if (had && !cmp_eval(a->src->op[0], prev, a->src->x[0]) &&
				    cmp_eval(a->src->op[0], evc.signal.value, a->src->x[0])) {
					attribute(e, a, &evc);
					struct rules_evidence evd = rules_ev_event(a, &evc);
					fire(e, a, evc.t_us, &evd);
				}
				break;
			case ATOM_UPDATE: {
				attribute(e, a, &evc);
				struct rules_evidence evd = rules_ev_event(a, &evc);
				fire(e, a, evc.t_us, &evd);
				break;
			}
			case ATOM_MARK:
			case ATOM_DTC:
			case ATOM_TRANSPORT:
			case ATOM_KIND_MAX:
				break;
			}
		}
		break;
	}
	case TIMELINE_EVENT_MARK: {
		uint32_t m = evc.mark.index;
		if (m >= e->n_marks)
			return 0;
		e->mark_seen[m]++;
		if (e->mark_action[m] != NONE)
			log_mark(e, e->mark_action[m], evc.t_us);
		/* mark atoms that are steps first, anchors last: a mark must not meet a step
		 * of the window it opens itself */
		for (int pass = 0; pass < 2; pass++) {
			for (uint32_t k = e->mark_off[m]; k < e->mark_off[m + 1]; k++) {
				struct eatom *a = &e->atoms[e->mark_atoms[k]];
				if ((a->user == USER_ANCHOR) != (pass == 1))
					continue;
				struct rules_evidence evd = rules_ev_event(a, &evc);
				fire(e, a, evc.t_us, &evd);
			}
		}
		break;
	}
	case TIMELINE_EVENT_DTC:
		if (evc.dtc.code > 0xFFFFFFu)
			return -EINVAL;
		feed_dtc(e, &evc);
		break;
	case TIMELINE_EVENT_DTC_READ:
		dtc_read(e, evc.dtc_read.module);
		break;
	case TIMELINE_EVENT_TRANSPORT:
		if ((unsigned)evc.transport.kind >= TIMELINE_TRANSPORT_MAX)
			return -EINVAL;
		for (size_t i = 0; i < e->n_transport_atoms; i++) {
			struct eatom *a = &e->atoms[e->transport_atoms[i]];
			if (a->src->transport != evc.transport.kind ||
			    (a->src->nrc >= 0 && a->src->nrc != evc.transport.nrc))
				continue;
			struct rules_evidence evd = rules_ev_event(a, &evc);
			fire(e, a, evc.t_us, &evd);
		}
		break;
	case TIMELINE_EVENT_TYPE_MAX:
		return -EINVAL;
	}
	/* an event no rule reads changed nothing: keep the per-event cost at the lookup */
	if (e->dirty)
		recompute_deadline(e);
	return 0;
}

void rules_reset(struct rules_engine *e, int64_t now_us)
{
	if (now_us > e->now || e->now == INT64_MIN)
		e->now = now_us;
	for (size_t i = 0; i < e->n_nodes; i++) {
		struct enode *n = &e->nodes[i];
		n->latched = false;
		n->latched_t = 0;
		n->ring_len = n->ring_head = 0;
		n->n_failed = n->n_nobs = 0;
		n->opened = false;
		memset(n->inst, 0, sizeof(n->inst));
		memset(&n->won, 0, sizeof(n->won));
	}
	for (size_t i = 0; i < e->n_dtcs; i++)
		e->dtcs[i].toggles = 0;
	/* without their toggle history, `flapping` atoms may no longer match */
	for (size_t i = 0; i < e->n_dtc_atoms; i++) {
		struct eatom *a = &e->atoms[e->dtc_atoms[i]];
		bool any = false;
		for (size_t j = 0; j < e->n_dtcs && !any; j++)
			any = dtc_matches(a, &e->dtcs[j]);
		a->cur = any;
	}
	e->n_mark_log = 0; /* serials go on: effects before the reset own no new window */
	if (e->mark_seen)
		memset(e->mark_seen, 0, (e->n_marks ? e->n_marks : 1) * sizeof(*e->mark_seen));
	/* what is true now holds from now on: re-latch current levels and DTC matches */
	for (size_t i = 0; i < e->n_atoms; i++) {
		struct eatom *a = &e->atoms[i];
		if (!e->rules[a->rule].active || a->user != USER_LATCH)
			continue;
		if (a->kind == ATOM_LEVEL && a->cur && a->src->for_us > 0 && a->fired) {
			/* restart the hold so its duration is measured in this session */
			a->fired = false;
			a->since = e->now;
		} else if (atom_satisfied(a)) {
			struct rules_evidence ev = atom_current_evidence(a);
			latch(&e->nodes[a->node], e->now, &ev);
		}
	}
	for (size_t i = 0; i < e->n_findings; i++)
		e->findings[i] = (struct rules_finding){0};
	e->n_findings = 0;
	e->verdict = RULES_VERDICT_INCONCLUSIVE;
	recompute_deadline(e);
}

bool rules_role_seen(const struct rules_engine *e, unsigned role)
{
	if (role >= role_count())
		return false;
	uint32_t s = e->role_sym[role];
	return s < e->n_sigs && e->have[s];
}
