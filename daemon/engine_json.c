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

/* Appends v (stolen) to array a; a failure marks the whole result as failed. */
static void add(json_t *a, json_t *v, bool *ok)
{
	if (!v || json_array_append_new(a, v) < 0)
		*ok = false;
}

static void set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*ok = false;
}

/* A role's value: its label, or the number. */
static json_t *value_json(unsigned role, double v)
{
	const char *l = role_label(role_at(role), v);
	return l ? json_string(l) : json_real(v);
}

static json_t *strings(const char *const *v, size_t n, bool *ok)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		add(a, json_string(v[i]), ok);
	if (!a)
		*ok = false;
	return a;
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
static json_t *event_json(const struct engine *e, const struct timeline_event *ev, bool *ok)
{
	const struct timeline_symbols *sy = engine_symbols(e);
	char code[DTC_TEXT_MAX];
	json_t *o = NULL;

	switch (ev->type) {
	case TIMELINE_EVENT_SIGNAL: {
		const char *n = timeline_symbols_name(sy, TIMELINE_SYMBOL_SIGNAL, ev->signal.index);
		unsigned role;
		if (n && role_find(n, strlen(n), &role) == 0) {
			o = json_pack("{s:s, s:s, s:o}", "type", "signal", "role", n, "value",
				      value_json(role, ev->signal.value));
			if (o && role_at(role)->unit[0] &&
			    !role_label(role_at(role), ev->signal.value))
				set(o, "unit", json_string(role_at(role)->unit), ok);
		} else {
			o = json_pack("{s:s, s:s, s:f}", "type", "signal", "signal", n ? n : "",
				      "value", ev->signal.value);
		}
		break;
	}
	case TIMELINE_EVENT_MARK: {
		const char *n = timeline_symbols_name(sy, TIMELINE_SYMBOL_MARK, ev->mark.index);
		o = json_pack("{s:s, s:s}", "type", "mark", "mark", n ? n : "");
		break;
	}
	case TIMELINE_EVENT_DTC:
		if (dtc_format(ev->dtc.code, code, sizeof(code)) < 0)
			code[0] = '\0';
		o = json_pack("{s:s, s:s, s:s, s:i}", "type", "dtc", "ecu",
			      module_name(e, ev->dtc.module), "code", code, "status",
			      ev->dtc.status);
		break;
	case TIMELINE_EVENT_DTC_READ:
		o = json_pack("{s:s, s:s}", "type", "dtc_read", "ecu",
			      module_name(e, ev->dtc_read.module));
		break;
	case TIMELINE_EVENT_TRANSPORT: {
		const char *n = timeline_transport_name(ev->transport.kind);
		o = json_pack("{s:s, s:s}", "type", "transport", "transport", n ? n : "");
		if (o && ev->transport.kind == TIMELINE_TRANSPORT_NRC) {
			set(o, "service", json_integer(ev->transport.service), ok);
			set(o, "nrc", json_integer(ev->transport.nrc), ok);
		}
		break;
	}
	case TIMELINE_EVENT_TYPE_MAX:
		break;
	}
	if (!o)
		o = json_pack("{s:s}", "type", "?");
	return o;
}

/*
 * Evidence: `t`, `from`, `until` on the engine's clock, exact; `at` (the event, or the
 * anchor of an absent window) in seconds from t0, `window` (held, absent) its length;
 * `text` one line with times from t0; `event` taken apart.
 */
static json_t *evidence_json(const struct engine *e, const struct rules_evidence *ev, size_t n,
			     int64_t t0_us, bool *ok)
{
	static const char *const kind[] = {"event", "held", "absent"};
	json_t *a = json_array();
	char buf[1024];

	for (size_t k = 0; a && k < n; k++) {
		struct rules_evidence rel = ev[k];
		rel.event.t_us -= t0_us;
		if (engine_evidence_format(e, &rel, buf, sizeof(buf)) < 0)
			buf[0] = '\0';
		json_t *x =
		    json_pack("{s:s, s:f, s:f, s:f, s:f, s:s, s:s, s:o}", "kind",
			      (unsigned)ev[k].kind < 3 ? kind[ev[k].kind] : "?", "t",
			      seconds(ev[k].event.t_us), "from", seconds(ev[k].from_us), "until",
			      seconds(ev[k].until_us), "at", seconds(ev[k].event.t_us - t0_us),
			      "condition", ev[k].condition ? ev[k].condition : "", "text", buf,
			      "event", event_json(e, &ev[k].event, ok));
		if (x && ev[k].kind != RULES_EVIDENCE_EVENT)
			set(x, "window", json_real(seconds(ev[k].until_us - ev[k].from_us)), ok);
		add(a, x, ok);
	}
	if (!a)
		*ok = false;
	return a;
}

/* Every DTC the engine knows, with its last status (a read that repeats a status adds no
 * event, so the list is the timeline's memory, not its events), in the order first seen,
 * with the profile's text; `t`: its last change since opts->since_us, null when none. */
static json_t *dtcs_json(const struct engine *e, const struct engine_json_opts *o, bool *ok)
{
	const struct timeline *tl = engine_timeline(e);
	const struct profile *p = engine_profile(e);
	json_t *a = json_array();
	char code[DTC_TEXT_MAX];
	uint32_t module, dtc;
	uint8_t status;

	for (size_t i = 0; a && timeline_dtc_at(tl, i, &module, &dtc, &status) == 0; i++) {
		const char *ecu = module_name(e, module);
		const struct profile_dtc *pd =
		    p ? profile_dtc_find(p, ecu[0] ? ecu : NULL, dtc) : NULL;
		const char *ftb = dtc_ftb_name((uint8_t)(dtc & 0xff));
		json_t *t = json_null();
		/* the newest change of it in the window, if any */
		for (size_t k = timeline_count(tl); k-- > 0;) {
			struct timeline_event ev;
			if (timeline_get(tl, k, &ev) < 0 ||
			    (o->since_us != INT64_MIN && ev.t_us < o->since_us))
				break;
			if (ev.type == TIMELINE_EVENT_DTC && ev.dtc.code == dtc &&
			    ev.dtc.module == module) {
				json_decref(t);
				t = json_real(seconds(ev.t_us - o->t0_us));
				break;
			}
		}
		if (dtc_format(dtc, code, sizeof(code)) < 0)
			code[0] = '\0';
		add(a,
		    json_pack("{s:s, s:s, s:I, s:i, s:o, s:o, s:o}", "ecu", ecu, "code", code,
			      "dtc", (json_int_t)dtc, "status", status, "t", t, "text",
			      pd ? json_string(pd->text) : json_null(), "failure_type",
			      ftb ? json_string(ftb) : json_null()),
		    ok);
	}
	if (!a)
		*ok = false;
	return a;
}

/* Per number role with samples or thresholds: the numbers the rules compare it with. */
static json_t *thresholds_json(const struct engine *e, bool *ok)
{
	json_t *o = json_object();
	double x[32];

	for (size_t i = 0; o && i < role_count(); i++) {
		size_t n = rules_engine_thresholds(engine_rules(e), (unsigned)i, x, 32);
		json_t *a;
		if (!n)
			continue;
		a = json_array();
		for (size_t k = 0; a && k < n && k < 32; k++)
			add(a, json_real(x[k]), ok);
		set(o, role_at(i)->name, a, ok);
	}
	if (!o)
		*ok = false;
	return o;
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

static json_t *missing_json(const struct engine *e, const struct rules_missing *m, size_t n,
			    enum engine_json_input input, bool *ok)
{
	json_t *a = json_array();
	char buf[64];

	for (size_t k = 0; a && k < n; k++) {
		rules_missing_format(&m[k], buf, sizeof(buf));
		add(a, json_pack("{s:s, s:s}", "what", buf, "why", missing_why(e, &m[k], input)),
		    ok);
	}
	if (!a)
		*ok = false;
	return a;
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

static json_t *events_json(const struct engine *e, const struct engine_json_opts *o, bool *ok)
{
	json_t *a = json_array();
	char src[160];

	for (size_t i = 0; a && i < engine_transition_count(e); i++) {
		const struct engine_transition *t = engine_transition_at(e, i);
		if (t->t_us < o->since_us)
			continue;
		char grade[2] = {t->source->pr->grade, '\0'};
		rolemap_source_format(t->source, src, sizeof(src));
		add(a,
		    json_pack("{s:f, s:f, s:s, s:s, s:o, s:o, s:s, s:s}", "t",
			      seconds(t->t_us - o->t0_us), "time", seconds(t->t_us), "role",
			      role_at(t->role)->name, "link",
			      role_link_name(role_at(t->role)->link), "from",
			      isnan(t->from) ? json_null() : value_json(t->role, t->from), "to",
			      value_json(t->role, t->to), "source", src, "grade", grade),
		    ok);
	}
	if (!a)
		*ok = false;
	return a;
}

static json_t *roles_json(const struct engine *e, bool *ok)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < role_count(); i++) {
		struct engine_role_stats rs;
		engine_role_stats(e, (unsigned)i, &rs);
		if (!rs.provides)
			continue;
		json_t *r =
		    json_pack("{s:s, s:b, s:b, s:I}", "link", role_link_name(role_at(i)->link),
			      "broadcast", (rs.provides & ROLEMAP_BROADCAST) != 0, "did",
			      (rs.provides & ROLEMAP_DID) != 0, "samples", (json_int_t)rs.samples);
		if (r && rs.samples) {
			set(r, "min", value_json((unsigned)i, rs.min), ok);
			set(r, "max", value_json((unsigned)i, rs.max), ok);
			set(r, "last", value_json((unsigned)i, rs.last), ok);
		}
		set(o, role_at(i)->name, r, ok);
	}
	if (!o)
		*ok = false;
	return o;
}

static json_t *chain_json(const struct engine *e, const struct engine_json_opts *o, bool *ok)
{
	struct engine_chain c;
	json_t *a = json_array();

	engine_chain(e, &c);
	for (size_t i = 0; a && i < RULES_CHAIN_LINKS; i++) {
		const struct engine_link *l = &c.links[i];
		json_t *roles = json_array();
		for (size_t k = 0; roles && k < l->n_roles; k++)
			add(roles, json_string(role_at(l->roles[k])->name), ok);
		json_t *x = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "link", l->name, "title",
				      l->title, "state", rules_link_state_name(l->state),
				      "observability", engine_observability_name(l->observability),
				      "seen", l->seen, "why", link_why(l, o->input));
		if (x && (l->state == RULES_LINK_WORKING || l->state == RULES_LINK_FAILING))
			set(x, "since", json_real(seconds(l->judged->since_us - o->t0_us)), ok);
		if (x) {
			set(x, "roles", roles, ok);
			set(x, "evidence",
			    evidence_json(e, l->judged->evidence, l->judged->n_evidence, o->t0_us,
					  ok),
			    ok);
			set(x, "missing",
			    missing_json(e, l->judged->missing, l->judged->n_missing, o->input, ok),
			    ok);
		} else {
			json_decref(roles);
		}
		add(a, x, ok);
	}
	if (!a)
		*ok = false;
	return a;
}

static json_t *finding_json(const struct engine *e, const struct rules_finding *f,
			    const struct engine_json_opts *opts, bool *ok)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:I}", "id", f->id, "title", f->title,
			      "kind", rules_kind_name(f->kind), "state", rules_state_name(f->state),
			      "weight", f->weight, "score", f->score, "cost", (json_int_t)f->cost);
	if (!o) {
		*ok = false;
		return NULL;
	}
	if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED)
		set(o, "since", json_real(seconds(f->since_us)), ok);
	set(o, "by", f->by ? json_string(f->by) : json_null(), ok);
	set(o, "advice", json_string(f->advice), ok);
	set(o, "rules_out", strings(f->rules_out, f->n_rules_out, ok), ok);
	set(o, "covers", strings(f->covers, f->n_covers, ok), ok);
	set(o, "missing", missing_json(e, f->missing, f->n_missing, opts->input, ok), ok);
	set(o, "evidence", evidence_json(e, f->evidence, f->n_evidence, opts->t0_us, ok), ok);
	return o;
}

json_t *engine_json_result(struct engine *e, const struct engine_json_opts *opts)
{
	struct rules_question q;
	bool ok = true;
	/* it ranks as engine_evaluate() does: one ranking gives the findings and the
	 * question */
	int q_r = engine_next_question(e, &q);
	json_t *o, *findings;

	if (q_r == -ENOMEM)
		return NULL;
	o = json_object();
	findings = json_array();
	if (!o || !findings) {
		json_decref(o);
		json_decref(findings);
		return NULL;
	}
	set(o, "t0", json_real(seconds(opts->t0_us)), &ok);
	set(o, "body_events", events_json(e, opts, &ok), &ok);
	set(o, "body_events_dropped", json_integer((json_int_t)engine_transitions_dropped(e)), &ok);
	set(o, "roles", roles_json(e, &ok), &ok);
	set(o, "verdict", json_string(rules_verdict_name(engine_verdict(e))), &ok);
	set(o, "chain", chain_json(e, opts, &ok), &ok);
	for (size_t i = 0; i < engine_finding_count(e); i++)
		add(findings, finding_json(e, engine_finding_at(e, i), opts, &ok), &ok);
	set(o, "findings", findings, &ok);
	set(o, "dtcs", dtcs_json(e, opts, &ok), &ok);
	set(o, "thresholds", thresholds_json(e, &ok), &ok);
	set(o, "next_question",
	    q_r == 0 ? json_pack("{s:s, s:s, s:I}", "mark", q.mark, "prompt", q.prompt, "cost",
				 (json_int_t)q.cost)
		     : json_null(),
	    &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
