/* SPDX-License-Identifier: MIT */
/*
 * rules_compile: a rule set compiled for one vehicle into an engine (rules_engine_new):
 * names interned into the timeline's symbols, the rules in the vehicle's scope, actions
 * and their sources, each atom's users as compressed rows; freeing. The evaluation is in
 * rules.c, the structures in rules-private.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bodydiag/rules.h"
#include "rules-private.h"

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
	free(e->inst_pool);
	free(e->step_pool);
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
	/* one per role some action's `source` names: at most the clauses, at most the roles */
	size_t n_src = 0;
	for (size_t k = 0; k < set->n_actions; k++)
		n_src += set->actions[k].n_sources;
	e->sources = calloc(n_src < n_roles ? (n_src ? n_src : 1) : n_roles, sizeof(*e->sources));
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
	size_t n_atoms = 0, n_nodes = 0, n_ring = 0, n_inst = 0, n_steps = 0;
	int r;

	/* the state of counts and sequences, sized by what each one needs */
	for (size_t k = 0; k < n_items; k++) {
		const struct rule_src *rs = item(set, k);
		n_atoms += rs->n_atoms;
		n_nodes += rs->n_nodes;
		for (size_t j = 0; j < rs->n_nodes; j++) {
			if (rs->nodes[j].kind == NODE_COUNT)
				n_ring += rs->nodes[j].count_n;
			if (rs->nodes[j].kind == NODE_SEQ) {
				n_inst += RULES_MAX_INSTANCES + 1;
				n_steps += (RULES_MAX_INSTANCES + 1) * rs->nodes[j].n_steps;
			}
		}
	}
	e->atoms = calloc(n_atoms ? n_atoms : 1, sizeof(*e->atoms));
	e->nodes = calloc(n_nodes ? n_nodes : 1, sizeof(*e->nodes));
	e->rules = calloc(n_items ? n_items : 1, sizeof(*e->rules));
	e->ring_pool = calloc(n_ring ? n_ring : 1, sizeof(*e->ring_pool));
	e->inst_pool = calloc(n_inst ? n_inst : 1, sizeof(*e->inst_pool));
	e->step_pool = calloc(n_steps ? n_steps : 1, sizeof(*e->step_pool));
	e->findings = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->findings));
	e->order = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->order));
	e->fstate = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->fstate));
	e->fby = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->fby));
	e->question_marks = calloc(set->n_questions ? set->n_questions : 1, sizeof(uint32_t));
	e->role_provided = calloc(n_roles, sizeof(*e->role_provided));
	e->role_sym = calloc(n_roles, sizeof(*e->role_sym));
	if (!e->atoms || !e->nodes || !e->rules || !e->ring_pool || !e->inst_pool ||
	    !e->step_pool || !e->findings || !e->order || !e->fstate || !e->fby ||
	    !e->question_marks || !e->role_provided || !e->role_sym)
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

	size_t abase = 0, nbase = 0, rbase = 0, ibase = 0, sbase = 0;
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
				/* the windows, then won: rules_reset clears them in one go */
				n->inst = e->inst_pool + ibase;
				n->won = n->inst + RULES_MAX_INSTANCES;
				for (unsigned w = 0; w <= RULES_MAX_INSTANCES; w++) {
					n->inst[w].step = e->step_pool + sbase;
					sbase += ns->n_steps;
				}
				ibase += RULES_MAX_INSTANCES + 1;
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
