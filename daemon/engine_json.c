/* SPDX-License-Identifier: MIT */
#include "engine_json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/rules.h"

static double seconds(int64_t us)
{
	return (double)us / 1e6;
}

/* Members: a key and its value. */
static void str(struct json_text *w, const char *key, const char *v)
{
	json_text_key(w, key);
	json_text_string(w, v);
}

static void real(struct json_text *w, const char *key, double v)
{
	json_text_key(w, key);
	json_text_real(w, v);
}

static void integer(struct json_text *w, const char *key, int64_t v)
{
	json_text_key(w, key);
	json_text_integer(w, v);
}

static void boolean(struct json_text *w, const char *key, bool v)
{
	json_text_key(w, key);
	json_text_bool(w, v);
}

/* A role's value: its label, or the number. */
static void value(struct json_text *w, const char *key, unsigned role, double v)
{
	const char *l = role_label(role_at(role), v);
	json_text_key(w, key);
	if (l)
		json_text_string(w, l);
	else
		json_text_real(w, v);
}

static void strings(struct json_text *w, const char *key, const char *const *v, size_t n)
{
	json_text_key(w, key);
	json_text_array_begin(w);
	for (size_t i = 0; i < n; i++)
		json_text_string(w, v[i]);
	json_text_array_end(w);
}

static const char *module_name(const struct engine *e, uint32_t module)
{
	const char *m =
	    module == TIMELINE_MODULE_NONE
		? NULL
		: timeline_symbols_name(engine_symbols(e), TIMELINE_SYMBOL_MODULE, module);
	return m ? m : "";
}

/* An evidence entry's event, taken apart: what a sentence about it needs. */
static void event_json(struct json_text *w, const struct engine *e, const struct timeline_event *ev)
{
	const struct timeline_symbols *sy = engine_symbols(e);
	char code[DTC_TEXT_MAX];

	json_text_object_begin(w);
	switch (ev->type) {
	case TIMELINE_EVENT_SIGNAL: {
		const char *n = timeline_symbols_name(sy, TIMELINE_SYMBOL_SIGNAL, ev->signal.index);
		unsigned role;
		str(w, "type", "signal");
		if (n && role_find(n, strlen(n), &role) == 0) {
			str(w, "role", n);
			value(w, "value", role, ev->signal.value);
			if (role_at(role)->unit[0] && !role_label(role_at(role), ev->signal.value))
				str(w, "unit", role_at(role)->unit);
		} else {
			str(w, "signal", n ? n : "");
			real(w, "value", ev->signal.value);
		}
		break;
	}
	case TIMELINE_EVENT_MARK: {
		const char *n = timeline_symbols_name(sy, TIMELINE_SYMBOL_MARK, ev->mark.index);
		str(w, "type", "mark");
		str(w, "mark", n ? n : "");
		break;
	}
	case TIMELINE_EVENT_DTC:
		if (dtc_format(ev->dtc.code, code, sizeof(code)) < 0)
			code[0] = '\0';
		str(w, "type", "dtc");
		str(w, "ecu", module_name(e, ev->dtc.module));
		str(w, "code", code);
		integer(w, "status", ev->dtc.status);
		break;
	case TIMELINE_EVENT_DTC_READ:
		str(w, "type", "dtc_read");
		str(w, "ecu", module_name(e, ev->dtc_read.module));
		break;
	case TIMELINE_EVENT_TRANSPORT: {
		const char *n = timeline_transport_name(ev->transport.kind);
		str(w, "type", "transport");
		str(w, "transport", n ? n : "");
		if (ev->transport.kind == TIMELINE_TRANSPORT_NRC) {
			integer(w, "service", ev->transport.service);
			integer(w, "nrc", ev->transport.nrc);
		}
		break;
	}
	case TIMELINE_EVENT_TYPE_MAX:
		str(w, "type", "?");
		break;
	}
	json_text_object_end(w);
}

/*
 * Evidence: `t`, `from`, `until` on the engine's clock, exact; `at` (the event, or the
 * anchor of an absent window) in seconds from t0, `window` (held, absent) its length;
 * `text` one line with times from t0; `event` taken apart.
 */
static void evidence_json(struct json_text *w, const struct engine *e,
			  const struct rules_evidence *ev, size_t n, int64_t t0_us)
{
	static const char *const kind[] = {"event", "held", "absent"};
	char buf[1024];

	json_text_key(w, "evidence");
	json_text_array_begin(w);
	for (size_t k = 0; k < n; k++) {
		struct rules_evidence rel = ev[k];
		rel.event.t_us -= t0_us;
		if (engine_evidence_format(e, &rel, buf, sizeof(buf)) < 0)
			buf[0] = '\0';
		json_text_object_begin(w);
		str(w, "kind", (unsigned)ev[k].kind < 3 ? kind[ev[k].kind] : "?");
		real(w, "t", seconds(ev[k].event.t_us));
		real(w, "from", seconds(ev[k].from_us));
		real(w, "until", seconds(ev[k].until_us));
		real(w, "at", seconds(ev[k].event.t_us - t0_us));
		str(w, "condition", ev[k].condition ? ev[k].condition : "");
		str(w, "text", buf);
		json_text_key(w, "event");
		event_json(w, e, &ev[k].event);
		if (ev[k].kind != RULES_EVIDENCE_EVENT)
			real(w, "window", seconds(ev[k].until_us - ev[k].from_us));
		json_text_object_end(w);
	}
	json_text_array_end(w);
}

/* Every DTC the engine knows, with its last status (a read that repeats a status adds no
 * event, so the list is the timeline's memory, not its events), in the order first seen,
 * with the profile's text; `t`: its last change since opts->since_us, null when none. */
static void dtcs_json(struct json_text *w, const struct engine *e, const struct engine_json_opts *o)
{
	const struct timeline *tl = engine_timeline(e);
	const struct profile *p = engine_profile(e);
	char code[DTC_TEXT_MAX];
	uint32_t module, dtc;
	uint8_t status;

	json_text_key(w, "dtcs");
	json_text_array_begin(w);
	for (size_t i = 0; timeline_dtc_at(tl, i, &module, &dtc, &status) == 0; i++) {
		const char *ecu = module_name(e, module);
		const struct profile_dtc *pd =
		    p ? profile_dtc_find(p, ecu[0] ? ecu : NULL, dtc) : NULL;
		const char *ftb = dtc_ftb_name((uint8_t)(dtc & 0xff));
		bool changed = false;
		double t = 0;
		/* the newest change of it in the window, if any */
		for (size_t k = timeline_count(tl); k-- > 0;) {
			struct timeline_event ev;
			if (timeline_get(tl, k, &ev) < 0 ||
			    (o->since_us != INT64_MIN && ev.t_us < o->since_us))
				break;
			if (ev.type == TIMELINE_EVENT_DTC && ev.dtc.code == dtc &&
			    ev.dtc.module == module) {
				t = seconds(ev.t_us - o->t0_us);
				changed = true;
				break;
			}
		}
		if (dtc_format(dtc, code, sizeof(code)) < 0)
			code[0] = '\0';
		json_text_object_begin(w);
		str(w, "ecu", ecu);
		str(w, "code", code);
		integer(w, "dtc", dtc);
		integer(w, "status", status);
		json_text_key(w, "t");
		if (changed)
			json_text_real(w, t);
		else
			json_text_null(w);
		str(w, "text", pd ? pd->text : NULL);
		str(w, "failure_type", ftb);
		json_text_object_end(w);
	}
	json_text_array_end(w);
}

/* Per number role with samples or thresholds: the numbers the rules compare it with. */
static void thresholds_json(struct json_text *w, const struct engine *e)
{
	double x[32];

	json_text_key(w, "thresholds");
	json_text_object_begin(w);
	for (size_t i = 0; i < role_count(); i++) {
		size_t n = rules_engine_thresholds(engine_rules(e), (unsigned)i, x, 32);
		if (!n)
			continue;
		json_text_key(w, role_at(i)->name);
		json_text_array_begin(w);
		for (size_t k = 0; k < n && k < 32; k++)
			json_text_real(w, x[k]);
		json_text_array_end(w);
	}
	json_text_object_end(w);
}

/* Why a role or a fault memory a rule needs could not be seen, for people. */
static const char *missing_why(const struct engine *e, const struct rules_missing *m,
			       enum engine_json_input input)
{
	struct engine_role_stats rs;
	if (m->dtc)
		return "the fault memory was not read (needs the diagnostic connection)";
	engine_role_stats(e, m->role, &rs);
	if (!rs.provides)
		return "not shown by this vehicle";
	if (!rs.samples && !(rs.provides & ROLEMAP_BROADCAST))
		return "diagnostic connection only, not read";
	if (!rs.samples)
		return input == ENGINE_JSON_BUS ? "its messages were not seen on the bus"
						: "its messages are not in the capture";
	return "not seen when it mattered";
}

static void missing_json(struct json_text *w, const struct engine *e, const struct rules_missing *m,
			 size_t n, enum engine_json_input input)
{
	char buf[64];

	json_text_key(w, "missing");
	json_text_array_begin(w);
	for (size_t k = 0; k < n; k++) {
		rules_missing_format(&m[k], buf, sizeof(buf));
		json_text_object_begin(w);
		str(w, "what", buf);
		str(w, "why", missing_why(e, &m[k], input));
		json_text_object_end(w);
	}
	json_text_array_end(w);
}

static const char *link_why(const struct engine_link *l, enum engine_json_input input)
{
	if (l->state == RULES_LINK_NOT_OBSERVABLE) {
		if (l->observability == ENGINE_OBS_NONE)
			return "this vehicle does not show it";
		if (l->observability == ENGINE_OBS_DIAGNOSTIC && !l->seen)
			return "only through the diagnostic connection, not read";
		if (!l->seen)
			return input == ENGINE_JSON_BUS ? "its messages were not seen on the bus"
							: "its messages are not in the capture";
		return "what tests it cannot be seen";
	}
	if (l->state == RULES_LINK_NOT_EXERCISED)
		return "nothing that tests it happened";
	return "";
}

/* The body events: up to ENGINE_MAX_TRANSITIONS, the bulk of a reply after a long time on
 * the bus, so written as text one by one. */
static void events_json(struct json_text *w, const struct engine *e,
			const struct engine_json_opts *o)
{
	char src[160];

	json_text_key(w, "body_events");
	json_text_array_begin(w);
	for (size_t i = 0; i < engine_transition_count(e); i++) {
		const struct engine_transition *t = engine_transition_at(e, i);
		if (t->t_us < o->since_us)
			continue;
		char grade[2] = {t->source->pr->grade, '\0'};
		rolemap_source_format(t->source, src, sizeof(src));
		json_text_object_begin(w);
		real(w, "t", seconds(t->t_us - o->t0_us));
		real(w, "time", seconds(t->t_us));
		str(w, "role", role_at(t->role)->name);
		str(w, "link", role_link_name(role_at(t->role)->link));
		if (isnan(t->from)) {
			json_text_key(w, "from");
			json_text_null(w);
		} else {
			value(w, "from", t->role, t->from);
		}
		value(w, "to", t->role, t->to);
		str(w, "source", src);
		str(w, "grade", grade);
		json_text_object_end(w);
	}
	json_text_array_end(w);
}

static void roles_json(struct json_text *w, const struct engine *e)
{
	json_text_key(w, "roles");
	json_text_object_begin(w);
	for (size_t i = 0; i < role_count(); i++) {
		struct engine_role_stats rs;
		engine_role_stats(e, (unsigned)i, &rs);
		if (!rs.provides)
			continue;
		json_text_key(w, role_at(i)->name);
		json_text_object_begin(w);
		str(w, "link", role_link_name(role_at(i)->link));
		boolean(w, "broadcast", (rs.provides & ROLEMAP_BROADCAST) != 0);
		boolean(w, "did", (rs.provides & ROLEMAP_DID) != 0);
		integer(w, "samples", (int64_t)rs.samples);
		if (rs.samples) {
			value(w, "min", (unsigned)i, rs.min);
			value(w, "max", (unsigned)i, rs.max);
			value(w, "last", (unsigned)i, rs.last);
		}
		json_text_object_end(w);
	}
	json_text_object_end(w);
}

static void chain_json(struct json_text *w, const struct engine *e,
		       const struct engine_json_opts *o)
{
	struct engine_chain c;

	engine_chain(e, &c);
	json_text_key(w, "chain");
	json_text_array_begin(w);
	for (size_t i = 0; i < RULES_CHAIN_LINKS; i++) {
		const struct engine_link *l = &c.links[i];
		json_text_object_begin(w);
		str(w, "link", l->name);
		str(w, "title", l->title);
		str(w, "state", rules_link_state_name(l->state));
		str(w, "observability", engine_observability_name(l->observability));
		boolean(w, "seen", l->seen);
		str(w, "why", link_why(l, o->input));
		if (l->state == RULES_LINK_WORKING || l->state == RULES_LINK_FAILING)
			real(w, "since", seconds(l->judged->since_us - o->t0_us));
		json_text_key(w, "roles");
		json_text_array_begin(w);
		for (size_t k = 0; k < l->n_roles; k++)
			json_text_string(w, role_at(l->roles[k])->name);
		json_text_array_end(w);
		evidence_json(w, e, l->judged->evidence, l->judged->n_evidence, o->t0_us);
		missing_json(w, e, l->judged->missing, l->judged->n_missing, o->input);
		json_text_object_end(w);
	}
	json_text_array_end(w);
}

static void finding_json(struct json_text *w, const struct engine *e, const struct rules_finding *f,
			 const struct engine_json_opts *opts)
{
	json_text_object_begin(w);
	str(w, "id", f->id);
	str(w, "title", f->title);
	str(w, "kind", rules_kind_name(f->kind));
	str(w, "state", rules_state_name(f->state));
	real(w, "weight", f->weight);
	real(w, "score", f->score);
	integer(w, "cost", f->cost);
	if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED)
		real(w, "since", seconds(f->since_us));
	str(w, "by", f->by);
	str(w, "advice", f->advice);
	strings(w, "rules_out", f->rules_out, f->n_rules_out);
	strings(w, "covers", f->covers, f->n_covers);
	missing_json(w, e, f->missing, f->n_missing, opts->input);
	evidence_json(w, e, f->evidence, f->n_evidence, opts->t0_us);
	json_text_object_end(w);
}

int engine_json_write(struct json_text *w, struct engine *e, const struct engine_json_opts *opts)
{
	struct rules_question q;
	/* it ranks as engine_evaluate() does: one ranking gives the findings and the
	 * question */
	int q_r = engine_next_question(e, &q);

	if (q_r == -ENOMEM)
		return -ENOMEM;
	real(w, "t0", seconds(opts->t0_us));
	events_json(w, e, opts);
	integer(w, "body_events_dropped", (int64_t)engine_transitions_dropped(e));
	roles_json(w, e);
	str(w, "verdict", rules_verdict_name(engine_verdict(e)));
	chain_json(w, e, opts);
	json_text_key(w, "findings");
	json_text_array_begin(w);
	for (size_t i = 0; i < engine_finding_count(e); i++)
		finding_json(w, e, engine_finding_at(e, i), opts);
	json_text_array_end(w);
	dtcs_json(w, e, opts);
	thresholds_json(w, e);
	json_text_key(w, "next_question");
	if (q_r == 0) {
		json_text_object_begin(w);
		str(w, "mark", q.mark);
		str(w, "prompt", q.prompt);
		integer(w, "cost", q.cost);
		json_text_object_end(w);
	} else {
		json_text_null(w);
	}
	return json_text_failed(w) ? -ENOMEM : 0;
}

json_t *engine_json_result(struct engine *e, const struct engine_json_opts *opts)
{
	struct json_text *w = json_text_new(JSON_TEXT_COMPACT);

	if (!w)
		return NULL;
	json_text_object_begin(w);
	if (engine_json_write(w, e, opts) < 0) {
		json_text_free(w);
		return NULL;
	}
	json_text_object_end(w);
	return json_text_finish_value(w);
}
