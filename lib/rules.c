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

static bool role_observable(const struct rules_engine *e, uint32_t role, uint32_t sig, bool dynamic)
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
		memmove(e->mark_log, e->mark_log + 1,
			(RULES_MARK_LOG - 1) * sizeof(e->mark_log[0]));
		e->n_mark_log--;
	}
	if (++e->mark_serial == 0)
		e->mark_serial = 1;
	e->mark_log[e->n_mark_log++] =
	    (struct emark){.t = t, .action = action, .serial = e->mark_serial};
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
		if (in->step[s - 1].state == STEP_MET)
			return true;
		if (in->step[s - 1].state != STEP_PENDING)
			return false;
		s--;
	}
}

/* Forgets a window, steps included; it keeps its place in the pool. */
static void instance_clear(struct instance *in, unsigned steps)
{
	struct istep *step = in->step;
	memset(step, 0, steps * sizeof(*step));
	*in = (struct instance){.step = step};
}

static void instance_copy(struct instance *to, const struct instance *from, unsigned steps)
{
	struct istep *step = to->step;
	memcpy(step, from->step, steps * sizeof(*step));
	*to = *from;
	to->step = step;
}

static void instance_check(struct rules_engine *e, struct enode *n, struct instance *in)
{
	unsigned steps = n->src->n_steps;
	bool all = true, nobs = false, pending = false;
	for (unsigned s = 0; s < steps; s++) {
		if (in->step[s].state == STEP_FAILED) {
			in->open = false;
			n->n_failed++;
			return;
		}
		if (in->step[s].state == STEP_NOBS)
			nobs = true;
		else if (in->step[s].state == STEP_PENDING && step_reachable(n, in, s))
			pending = true;
		if (in->step[s].state != STEP_MET)
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
			n->latched_t = in->step[steps - 1].t;
			for (unsigned s = 0; s < steps; s++)
				if (in->step[s].t > n->latched_t)
					n->latched_t = in->step[s].t;
			instance_copy(n->won, in, steps);
		}
	}
}

/* Anchor time of step s of an instance, or INT64_MIN when its window is not open yet. */
static int64_t step_anchor(const struct enode *n, const struct instance *in, unsigned s)
{
	if (s == 0 || !n->src->steps[s].then)
		return in->t0;
	if (in->step[s - 1].state != STEP_MET)
		return INT64_MIN;
	return in->step[s - 1].t;
}

static void step_met(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		     int64_t t, const struct rules_evidence *ev);

/* A window opens at time a: a level already true meets (or, absent, fails) it at once. */
static void step_open(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		      int64_t a)
{
	const struct step_src *st = &n->src->steps[s];
	const struct eatom *atom = &e->atoms[n->atom - n->src->atom + st->atom];
	if (in->step[s].state != STEP_PENDING)
		return;
	/* The mark came late (the person acted, then said so): this action's effect that came
	 * before it counts as in its window, also when it is over by now (an inrush, a
	 * request pulse). Not for holds: whether a past run lasted long enough is not kept. */
	if (a == in->t0 && in->serial && atom->effect && atom->on_owner != in->serial &&
	    !(atom->kind == ATOM_LEVEL && atom->src->for_us > 0) && claimed_late(e, in, atom)) {
		if (st->absent) {
			in->step[s].state = STEP_FAILED;
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
		in->step[s].state = STEP_FAILED;
		return;
	}
	struct rules_evidence ev = atom_current_evidence(atom);
	step_met(e, n, in, s, a, &ev);
}

static void step_met(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		     int64_t t, const struct rules_evidence *ev)
{
	in->step[s].state = STEP_MET;
	in->step[s].t = t;
	in->step[s].ev = *ev;
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
	instance_clear(slot, n->src->n_steps);
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
		if (!rules_atom_observable(
			e, &e->atoms[n->atom - n->src->atom + n->src->steps[s].atom], false))
			slot->step[s].state = STEP_NOBS;
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
			if (!in->open || in->step[a->step].state != STEP_PENDING)
				continue;
			int64_t anchor = step_anchor(n, in, a->step);
			if (anchor == INT64_MIN || t < anchor || t > sat_add(anchor, st->within_us))
				continue;
			if (!owns(e, in, a))
				continue; /* another action's effect */
			if (st->absent)
				in->step[a->step].state = STEP_FAILED;
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
				if (in->step[s].state != STEP_PENDING || a == INT64_MIN)
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
					if (in->step[s].state != STEP_PENDING || a == INT64_MIN ||
					    sat_add(a, st->within_us) >= now)
						continue;
					changed = true;
					const struct eatom *atom =
					    &e->atoms[n->atom - n->src->atom + st->atom];
					/* true all along by another action's doing: cannot tell */
					if (in->masked & (1u << s)) {
						in->step[s].state = STEP_NOBS;
						continue;
					}
					/* nothing was heard of what the step looks for: the
					 * window proves neither presence nor absence */
					if (!rules_atom_observable(e, atom, true)) {
						in->step[s].state = STEP_NOBS;
						continue;
					}
					if (!st->absent) {
						in->step[s].state = STEP_FAILED;
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
		for (unsigned k = 0; n->inst && k <= RULES_MAX_INSTANCES; k++)
			instance_clear(&n->inst[k], n->src->n_steps); /* the windows and won */
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

size_t rules_engine_thresholds(const struct rules_engine *e, unsigned role, double *ret, size_t max)
{
	const struct role *r = role_at(role);
	size_t n = 0;

	if (!r || r->kind != ROLE_KIND_NUMBER)
		return 0;
	for (size_t k = 0; k < e->n_rules + e->n_links; k++) {
		const struct rule_src *src = e->rules[k].src;
		if (!e->rules[k].active)
			continue;
		for (size_t a = 0; a < src->n_atoms; a++) {
			const struct atom_src *at = &src->atoms[a];
			if (at->kind != ATOM_LEVEL && at->kind != ATOM_EDGE)
				continue;
			for (unsigned side = 0; side < (at->has_while ? 2u : 1u); side++) {
				double x = at->x[side];
				bool dup = false;
				/* an order, not an equality (`fob_index == 1`); 0 is `rises R`
				 * alone, or the axis itself: nothing to draw */
				if (at->role[side] != role || x == 0 || at->op[side] == CMP_EQ ||
				    at->op[side] == CMP_NE)
					continue;
				for (size_t i = 0; i < n && i < max; i++)
					dup |= ret[i] == x;
				if (dup)
					continue;
				/* sorted insertion into the first max */
				size_t i = n < max ? n : max;
				while (i > 0 && ret[i - 1] > x) {
					if (i < max)
						ret[i] = ret[i - 1];
					i--;
				}
				if (i < max)
					ret[i] = x;
				n++;
			}
		}
	}
	return n;
}
