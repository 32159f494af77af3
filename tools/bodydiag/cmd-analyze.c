/* SPDX-License-Identifier: MIT */
/*
 * bodydiag analyze (--profile P | --vehicle NAME) [--dbc F] [--rules R] [--marks FILE]
 *                  [--json] [--strict] CAPTURE.log|-
 *
 * The offline half of the diagnosis: a can-utils capture (and what the person did, from a
 * side file or from `# mark` lines in the capture) through the same lib/engine the daemon
 * runs. It reports what the capture shows of the car (the body events: doors, lid, locks,
 * fob, requests, with their times), the state of each link of the release chain (seen
 * working, seen failing, not exercised, not observable on this car with this
 * connection), the ranked causes with their evidence and advice, and the next check the
 * car can answer.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/rules.h"
#include "capture.h"
#include "out.h"
#include "vehicle.h"

#define MAX_WARNINGS 4u

struct analyze {
	struct engine *e;
	struct vehicle_data v;
	const char *capture;
	struct capture_result cr;
	char warnings[MAX_WARNINGS][512];
	size_t n_warnings;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag analyze (--profile FILE | --vehicle NAME) [--dbc FILE] [--rules FILE]\n"
		"                        [--marks FILE] [--json] [--strict] CAPTURE.log|-\n"
		"%s"
		"  --rules FILE    rule file (default: trunk.rules beside the profile's ../rules/, then\n"
		"                  in the data directory)\n"
		"  --marks FILE    what the person did, one 'SECONDS.MICROS mark NAME' per line\n"
		"                  (the format bodydiag-sim --marks writes; '#' comments)\n"
		"  --json          one JSON object for machines\n"
		"  --strict        stop at the first malformed capture line (default: report, skip)\n"
		"Marks may also be lines of the capture itself: '# mark SECONDS.MICROS NAME'; other\n"
		"lines starting with '#' are comments. The data directory is $BODYDIAG_DATADIR, else\n"
		"%s.\n",
		vehicle_usage, vehicle_datadir());
}

static int on_frame(void *userdata, const struct bd_timed_frame *tf)
{
	struct analyze *a = userdata;
	(void)engine_feed_frame(a->e, tf); /* capture.c checked the frame */
	return 0;
}

static int on_mark(void *userdata, int64_t t_us, const char *name, const char *file,
		   unsigned line)
{
	struct analyze *a = userdata;
	int r = engine_mark(a->e, t_us, name, strlen(name));
	if (r < 0)
		fprintf(stderr, "%s:%u: error: mark '%s': %s\n", file, line, name, strerror(-r));
	return r;
}

static void warn(struct analyze *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct analyze *a, const char *fmt, ...)
{
	va_list ap;
	if (a->n_warnings == MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(a->warnings[a->n_warnings++], sizeof(a->warnings[0]), fmt, ap);
	va_end(ap);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* A capture from another car or bus decodes little, or none of the profile's roles. */
static void check_capture(struct analyze *a)
{
	struct engine_stats st;
	const struct rolemap *rm = engine_rolemap(a->e);
	char ids[256];
	size_t n = 0, n_msgs = 0;
	engine_stats(a->e, &st);
	if (!rolemap_source_count(rm)) {
		warn(a, "the profile %s maps no role of the release chain: nothing of it can be "
			"observed",
		     base_name(a->v.profile_path));
		return;
	}
	if (st.decoded * 5 < st.frames)
		warn(a,
		     "only %.0f %% of the frames (%llu of %llu) are messages of %s: is the capture "
		     "from this vehicle (%s %s) and this bus?",
		     100.0 * (double)st.decoded / (double)st.frames, (unsigned long long)st.decoded,
		     (unsigned long long)st.frames, base_name(a->v.dbc_path),
		     profile_make(a->v.profile), profile_platform(a->v.profile));
	if (st.role_frames)
		return;
	ids[0] = 0;
	for (size_t i = 0; i < rolemap_source_count(rm); i++) {
		const struct rolemap_source *s = rolemap_source_at(rm, i);
		bool dup = false;
		if (!s->msg)
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= rolemap_source_at(rm, k)->msg == s->msg;
		if (dup)
			continue;
		n_msgs++;
		if (n < sizeof(ids) - 64)
			n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%s 0x%X", n ? ", " : "",
					      dbc_message_name(s->msg), dbc_message_id(s->msg));
	}
	if (n_msgs)
		warn(a,
		     "none of the %zu messages that carry this profile's roles (%s) is in the "
		     "capture: wrong bus, or another vehicle than %s %s?",
		     n_msgs, ids, profile_make(a->v.profile), profile_platform(a->v.profile));
}

/* ---- output ---- */

static double seconds(int64_t t_us)
{
	return (double)t_us / 1e6;
}

static void value_text(unsigned role, double v, char *buf, size_t size)
{
	role_value_format(role_at(role), v, buf, size);
}

/* What a missing role needs, for people. */
static const char *missing_why(const struct analyze *a, const struct rules_missing *m)
{
	struct engine_role_stats rs;
	if (m->dtc)
		return "the fault memory was not read (needs the diagnostic connection)";
	engine_role_stats(a->e, m->role, &rs);
	if (!rs.provides)
		return "not shown by this vehicle";
	if (!rs.samples && !(rs.provides & ROLEMAP_BROADCAST))
		return "diagnostic connection only, not read";
	if (!rs.samples)
		return "its messages are not in the capture";
	return "not seen when it mattered";
}

static const char *link_why(const struct engine_link *l)
{
	if (l->state == RULES_LINK_NOT_OBSERVABLE) {
		if (l->observability == ENGINE_OBS_NONE)
			return "this vehicle does not show it";
		if (l->observability == ENGINE_OBS_DIAGNOSTIC && !l->seen)
			return "only through the diagnostic connection, not read";
		if (!l->seen)
			return "its messages are not in the capture";
		return "what tests it cannot be seen";
	}
	if (l->state == RULES_LINK_NOT_EXERCISED)
		return "nothing that tests it happened";
	return "";
}

static void print_events_text(struct analyze *a, struct out *o, int64_t t0)
{
	char from[64], to[64], src[160];
	size_t n = engine_transition_count(a->e);
	out_str(o, "\nbody events (seconds from the start of the capture):\n");
	for (size_t i = 0; i < n; i++) {
		const struct engine_transition *t = engine_transition_at(a->e, i);
		rolemap_source_format(t->source, src, sizeof(src));
		value_text(t->role, t->to, to, sizeof(to));
		if (isnan(t->from)) {
			out_printf(o, "  %+9.3f  %-16s %s (state when first seen)  [%s]\n",
				   seconds(t->t_us - t0), role_at(t->role)->name, to, src);
			continue;
		}
		value_text(t->role, t->from, from, sizeof(from));
		out_printf(o, "  %+9.3f  %-16s %s -> %s  [%s]\n", seconds(t->t_us - t0),
			   role_at(t->role)->name, from, to, src);
	}
	if (!n)
		out_str(o, "  none: no door, lid, lock, fob or request role of the profile was seen\n");
	if (engine_transitions_dropped(a->e))
		out_printf(o, "  (%llu more not kept)\n",
			   (unsigned long long)engine_transitions_dropped(a->e));
}

static void print_roles_text(struct analyze *a, struct out *o)
{
	char lo[64], hi[64];
	bool any = false;
	out_str(o, "\nroles of this vehicle:\n");
	for (size_t i = 0; i < role_count(); i++) {
		struct engine_role_stats rs;
		engine_role_stats(a->e, (unsigned)i, &rs);
		if (!rs.provides)
			continue;
		any = true;
		out_printf(o, "  %-20s %-10s ", role_at(i)->name,
			   rs.provides & ROLEMAP_BROADCAST ? "broadcast" : "did");
		if (!rs.samples) {
			out_str(o, "not seen\n");
			continue;
		}
		value_text((unsigned)i, rs.min, lo, sizeof(lo));
		value_text((unsigned)i, rs.max, hi, sizeof(hi));
		if (rs.min == rs.max)
			out_printf(o, "%s (%llu samples)\n", lo, (unsigned long long)rs.samples);
		else
			out_printf(o, "%s .. %s (%llu samples)\n", lo, hi,
				   (unsigned long long)rs.samples);
	}
	if (!any)
		out_str(o, "  none\n");
}

static void print_chain_text(struct analyze *a, struct out *o, int64_t t0)
{
	struct engine_chain c;
	char buf[512];
	engine_chain(a->e, &c);
	out_str(o, "\nrelease chain:\n");
	for (size_t i = 0; i < RULES_CHAIN_LINKS; i++) {
		const struct engine_link *l = &c.links[i];
		out_printf(o, "  %-9s %-15s", l->name, rules_link_state_name(l->state));
		if (l->state == RULES_LINK_WORKING || l->state == RULES_LINK_FAILING)
			out_printf(o, " since %+.3f s", seconds(l->judged->since_us - t0));
		else
			out_printf(o, " (%s)", link_why(l));
		out_printf(o, "  %s\n", l->title);
		if (l->judged->n_evidence) {
			engine_evidence_format(a->e, &l->judged->evidence[0], buf, sizeof(buf));
			out_printf(o, "            - %s\n", buf);
		}
	}
}

static void print_missing(struct analyze *a, struct out *o, const struct rules_finding *f)
{
	char buf[64];
	for (size_t k = 0; k < f->n_missing; k++) {
		rules_missing_format(&f->missing[k], buf, sizeof(buf));
		out_printf(o, "%s%s (%s)", k ? ", " : "", buf, missing_why(a, &f->missing[k]));
	}
}

static void print_text(struct analyze *a, struct out *o, int q_r, const struct rules_question *q)
{
	struct engine_stats st;
	char buf[1024];
	size_t n_nobs = 0;
	engine_stats(a->e, &st);
	out_printf(o,
		   "%s: %llu frames (%llu of DBC messages, %llu with roles, %llu unknown ids, "
		   "%llu diagnostic), %llu marks",
		   a->capture, (unsigned long long)st.frames, (unsigned long long)st.decoded,
		   (unsigned long long)st.role_frames, (unsigned long long)st.unknown_ids,
		   (unsigned long long)st.diag_frames, (unsigned long long)st.marks);
	if (st.first_us != INT64_MIN)
		out_printf(o, ", %.3f s", seconds(st.last_us - st.first_us));
	if (a->cr.bad_lines)
		out_printf(o, ", %u bad lines skipped", a->cr.bad_lines);
	out_printf(o, "\nvehicle: %s %s", profile_make(a->v.profile), profile_platform(a->v.profile));
	if (profile_vehicle_name(a->v.profile))
		out_printf(o, " (%s)", profile_vehicle_name(a->v.profile));
	out_printf(o, ", profile %s, DBC %s, rules %s\n", a->v.profile_path, a->v.dbc_path,
		   a->v.rules_path);
	for (size_t i = 0; i < a->n_warnings; i++)
		out_printf(o, "warning: %s\n", a->warnings[i]);
	print_events_text(a, o, st.first_us);
	print_roles_text(a, o);
	out_printf(o, "\nverdict: %s\n", rules_verdict_name(engine_verdict(a->e)));
	print_chain_text(a, o, st.first_us);
	size_t n = engine_finding_count(a->e), shown = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rules_finding *f = engine_finding_at(a->e, i);
		if (f->state == RULES_STATE_NOT_OBSERVABLE) {
			n_nobs++;
			continue;
		}
		out_printf(o, "\n%zu. %s: %s\n   %s %s, weight %.2f, score %.2f, cost %u", ++shown,
			   f->id, f->title, rules_kind_name(f->kind), rules_state_name(f->state),
			   f->weight, f->score, f->cost);
		if (f->by)
			out_printf(o, " (by %s)", f->by);
		if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED)
			out_printf(o, ", since %.6f", seconds(f->since_us));
		out_char(o, '\n');
		for (size_t k = 0; k < f->n_evidence; k++) {
			engine_evidence_format(a->e, &f->evidence[k], buf, sizeof(buf));
			out_printf(o, "   - %s\n", buf);
		}
		if (f->advice[0])
			out_printf(o, "   advice: %s\n", f->advice);
		if (f->n_rules_out) {
			out_str(o, "   rules out:");
			for (size_t k = 0; k < f->n_rules_out; k++)
				out_printf(o, "%s %s", k ? "," : "", f->rules_out[k]);
			out_char(o, '\n');
		}
		if (f->kind == RULES_KIND_INHIBIT && f->n_covers) {
			out_str(o, "   explains:");
			for (size_t k = 0; k < f->n_covers; k++)
				out_printf(o, "%s %s", k ? "," : "", f->covers[k]);
			out_char(o, '\n');
		}
	}
	if (n_nobs) {
		out_str(o, "\nnot observable on this vehicle with this connection (cannot be told):\n");
		for (size_t i = 0; i < n; i++) {
			const struct rules_finding *f = engine_finding_at(a->e, i);
			if (f->state != RULES_STATE_NOT_OBSERVABLE)
				continue;
			out_printf(o, "  - %s: %s; needs ", f->id, f->title);
			print_missing(a, o, f);
			out_char(o, '\n');
		}
	}
	if (!n)
		out_str(o, "no rule holds or is possible\n");
	if (q_r == 0)
		out_printf(o, "\nnext check: %s (mark %s)\n", q->prompt, q->mark);
}

static void json_time(struct out *o, int64_t t_us)
{
	out_printf(o, "%s%lld.%06lld", t_us < 0 ? "-" : "", llabs((long long)(t_us / 1000000)),
		   llabs((long long)(t_us % 1000000)));
}

static void json_list(struct out *o, const char *key, const char *const *v, size_t n)
{
	out_printf(o, ", \"%s\": [", key);
	for (size_t k = 0; k < n; k++) {
		if (k)
			out_str(o, ", ");
		out_json_string(o, v[k]);
	}
	out_char(o, ']');
}

static void json_value(struct out *o, unsigned role, double v)
{
	const char *l = role_label(role_at(role), v);
	if (l)
		out_json_string(o, l);
	else
		out_double(o, v, true);
}

static void json_evidence(struct analyze *a, struct out *o, const struct rules_evidence *ev,
			  size_t n)
{
	static const char *const ev_kind[] = {"event", "held", "absent"};
	char buf[1024];
	out_str(o, "[");
	for (size_t k = 0; k < n; k++) {
		out_str(o, k ? ", {\"kind\": " : "{\"kind\": ");
		out_json_string(o, (unsigned)ev[k].kind < 3 ? ev_kind[ev[k].kind] : "?");
		out_str(o, ", \"t\": ");
		json_time(o, ev[k].event.t_us);
		out_str(o, ", \"from\": ");
		json_time(o, ev[k].from_us);
		out_str(o, ", \"until\": ");
		json_time(o, ev[k].until_us);
		out_str(o, ", \"condition\": ");
		out_json_string(o, ev[k].condition ? ev[k].condition : "");
		engine_evidence_format(a->e, &ev[k], buf, sizeof(buf));
		out_str(o, ", \"text\": ");
		out_json_string(o, buf);
		out_char(o, '}');
	}
	out_str(o, "]");
}

static void json_missing(struct analyze *a, struct out *o, const struct rules_missing *m,
			 size_t n)
{
	char buf[64];
	out_str(o, ", \"missing\": [");
	for (size_t k = 0; k < n; k++) {
		rules_missing_format(&m[k], buf, sizeof(buf));
		out_str(o, k ? ", {\"what\": " : "{\"what\": ");
		out_json_string(o, buf);
		out_str(o, ", \"why\": ");
		out_json_string(o, missing_why(a, &m[k]));
		out_char(o, '}');
	}
	out_char(o, ']');
}

static void json_events(struct analyze *a, struct out *o, int64_t t0)
{
	char src[160];
	out_str(o, ",\n \"body_events\": [");
	for (size_t i = 0; i < engine_transition_count(a->e); i++) {
		const struct engine_transition *t = engine_transition_at(a->e, i);
		out_str(o, i ? ",\n  {\"t\": " : "\n  {\"t\": ");
		out_double(o, seconds(t->t_us - t0), true);
		out_str(o, ", \"time\": ");
		json_time(o, t->t_us);
		out_str(o, ", \"role\": ");
		out_json_string(o, role_at(t->role)->name);
		out_str(o, ", \"link\": ");
		out_json_string(o, role_link_name(role_at(t->role)->link));
		out_str(o, ", \"from\": ");
		if (isnan(t->from))
			out_str(o, "null");
		else
			json_value(o, t->role, t->from);
		out_str(o, ", \"to\": ");
		json_value(o, t->role, t->to);
		rolemap_source_format(t->source, src, sizeof(src));
		out_str(o, ", \"source\": ");
		out_json_string(o, src);
		out_printf(o, ", \"grade\": \"%c\"}", t->source->pr->grade);
	}
	out_printf(o, "], \"body_events_dropped\": %llu",
		   (unsigned long long)engine_transitions_dropped(a->e));
}

static void json_roles(struct analyze *a, struct out *o)
{
	bool first = true;
	out_str(o, ",\n \"roles\": {");
	for (size_t i = 0; i < role_count(); i++) {
		struct engine_role_stats rs;
		engine_role_stats(a->e, (unsigned)i, &rs);
		if (!rs.provides)
			continue;
		out_str(o, first ? "\n  " : ",\n  ");
		first = false;
		out_json_string(o, role_at(i)->name);
		out_printf(o, ": {\"link\": \"%s\", \"broadcast\": %s, \"did\": %s, \"samples\": %llu",
			   role_link_name(role_at(i)->link),
			   rs.provides & ROLEMAP_BROADCAST ? "true" : "false",
			   rs.provides & ROLEMAP_DID ? "true" : "false",
			   (unsigned long long)rs.samples);
		if (rs.samples) {
			out_str(o, ", \"min\": ");
			json_value(o, (unsigned)i, rs.min);
			out_str(o, ", \"max\": ");
			json_value(o, (unsigned)i, rs.max);
			out_str(o, ", \"last\": ");
			json_value(o, (unsigned)i, rs.last);
		}
		out_char(o, '}');
	}
	out_str(o, "}");
}

static void json_chain(struct analyze *a, struct out *o, int64_t t0)
{
	struct engine_chain c;
	engine_chain(a->e, &c);
	out_str(o, ",\n \"chain\": [");
	for (size_t i = 0; i < RULES_CHAIN_LINKS; i++) {
		const struct engine_link *l = &c.links[i];
		out_str(o, i ? ",\n  {\"link\": " : "\n  {\"link\": ");
		out_json_string(o, l->name);
		out_str(o, ", \"title\": ");
		out_json_string(o, l->title);
		out_str(o, ", \"state\": ");
		out_json_string(o, rules_link_state_name(l->state));
		out_str(o, ", \"observability\": ");
		out_json_string(o, engine_observability_name(l->observability));
		out_printf(o, ", \"seen\": %s, \"why\": ", l->seen ? "true" : "false");
		out_json_string(o, link_why(l));
		if (l->state == RULES_LINK_WORKING || l->state == RULES_LINK_FAILING) {
			out_str(o, ", \"since\": ");
			out_double(o, seconds(l->judged->since_us - t0), true);
		}
		out_str(o, ", \"roles\": [");
		for (size_t k = 0; k < l->n_roles; k++) {
			out_str(o, k ? ", " : "");
			out_json_string(o, role_at(l->roles[k])->name);
		}
		out_str(o, "], \"evidence\": ");
		json_evidence(a, o, l->judged->evidence, l->judged->n_evidence);
		json_missing(a, o, l->judged->missing, l->judged->n_missing);
		out_char(o, '}');
	}
	out_str(o, "]");
}

static void print_json(struct analyze *a, struct out *o, int q_r, const struct rules_question *q)
{
	struct engine_stats st;
	engine_stats(a->e, &st);
	out_str(o, "{\"capture\": ");
	out_json_string(o, a->capture);
	out_printf(o,
		   ", \"frames\": %llu, \"decoded\": %llu, \"role_frames\": %llu, "
		   "\"unknown_ids\": %llu, \"diagnostic_frames\": %llu, \"marks\": %llu, "
		   "\"bad_lines\": %u",
		   (unsigned long long)st.frames, (unsigned long long)st.decoded,
		   (unsigned long long)st.role_frames, (unsigned long long)st.unknown_ids,
		   (unsigned long long)st.diag_frames, (unsigned long long)st.marks,
		   a->cr.bad_lines);
	if (st.first_us != INT64_MIN) {
		out_str(o, ", \"start\": ");
		json_time(o, st.first_us);
		out_str(o, ", \"end\": ");
		json_time(o, st.last_us);
	}
	out_str(o, ",\n \"vehicle\": {\"make\": ");
	out_json_string(o, profile_make(a->v.profile));
	out_str(o, ", \"platform\": ");
	out_json_string(o, profile_platform(a->v.profile));
	out_str(o, ", \"profile\": ");
	out_json_string(o, a->v.profile_path);
	out_str(o, ", \"dbc\": ");
	out_json_string(o, a->v.dbc_path);
	out_str(o, ", \"rules\": ");
	out_json_string(o, a->v.rules_path);
	out_str(o, "}, \"warnings\": [");
	for (size_t i = 0; i < a->n_warnings; i++) {
		out_str(o, i ? ", " : "");
		out_json_string(o, a->warnings[i]);
	}
	out_char(o, ']');
	json_events(a, o, st.first_us);
	json_roles(a, o);
	out_str(o, ",\n \"verdict\": ");
	out_json_string(o, rules_verdict_name(engine_verdict(a->e)));
	json_chain(a, o, st.first_us);
	out_str(o, ",\n \"findings\": [");
	for (size_t i = 0; i < engine_finding_count(a->e); i++) {
		const struct rules_finding *f = engine_finding_at(a->e, i);
		out_str(o, i ? ",\n  {\"id\": " : "\n  {\"id\": ");
		out_json_string(o, f->id);
		out_str(o, ", \"title\": ");
		out_json_string(o, f->title);
		out_str(o, ", \"kind\": ");
		out_json_string(o, rules_kind_name(f->kind));
		out_str(o, ", \"state\": ");
		out_json_string(o, rules_state_name(f->state));
		out_str(o, ", \"weight\": ");
		out_double(o, f->weight, true);
		out_str(o, ", \"score\": ");
		out_double(o, f->score, true);
		out_printf(o, ", \"cost\": %u", f->cost);
		if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED) {
			out_str(o, ", \"since\": ");
			json_time(o, f->since_us);
		}
		out_str(o, ", \"by\": ");
		if (f->by)
			out_json_string(o, f->by);
		else
			out_str(o, "null");
		out_str(o, ", \"advice\": ");
		out_json_string(o, f->advice);
		json_list(o, "rules_out", f->rules_out, f->n_rules_out);
		json_list(o, "covers", f->covers, f->n_covers);
		json_missing(a, o, f->missing, f->n_missing);
		out_str(o, ", \"evidence\": ");
		json_evidence(a, o, f->evidence, f->n_evidence);
		out_str(o, "}");
	}
	out_str(o, "],\n \"next_question\": ");
	if (q_r == 0) {
		out_str(o, "{\"mark\": ");
		out_json_string(o, q->mark);
		out_str(o, ", \"prompt\": ");
		out_json_string(o, q->prompt);
		out_printf(o, ", \"cost\": %u}", q->cost);
	} else {
		out_str(o, "null");
	}
	out_str(o, "}\n");
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dbc", required_argument, NULL, 'd'},   {"profile", required_argument, NULL, 'p'},
	    {"rules", required_argument, NULL, 'r'}, {"marks", required_argument, NULL, 'm'},
	    {"vehicle", required_argument, NULL, 'v'}, {"json", no_argument, NULL, 'j'},
	    {"strict", no_argument, NULL, 's'},	     {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct vehicle_args va = {0};
	const char *marks_path = NULL;
	bool json = false, strict = false;
	struct analyze a = {0};
	struct out *o = NULL;
	int c, r, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:p:r:m:v:jsh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			va.dbc = optarg;
			break;
		case 'p':
			va.profile = optarg;
			break;
		case 'r':
			va.rules = optarg;
			break;
		case 'm':
			marks_path = optarg;
			break;
		case 'v':
			va.vehicle = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			strict = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	a.capture = argv[optind];

	if (vehicle_load(&va, true, &a.v) < 0)
		goto out;

	struct engine_config cfg;
	struct rules_error rerr = {0};
	engine_config_init(&cfg);
	cfg.rules = a.v.rules;
	cfg.dbc = a.v.dbc;
	cfg.profile = a.v.profile;
	r = engine_new(&cfg, &rerr, &a.e);
	if (r < 0) {
		if (rerr.message[0])
			fprintf(stderr, "%s:%u:%u: error: %s\n",
				rerr.file[0] ? rerr.file : a.v.rules_path, rerr.line, rerr.column,
				rerr.message);
		else
			fprintf(stderr, "bodydiag: %s\n", strerror(-r));
		goto out;
	}

	static const struct capture_ops ops = {.frame = on_frame, .mark = on_mark};
	if (capture_read(a.capture, marks_path, strict, &ops, &a, &a.cr) < 0)
		goto out;

	struct engine_stats st;
	engine_stats(a.e, &st);
	if (!st.frames) {
		fprintf(stderr,
			"bodydiag: %s: no CAN frames (%u lines%s): an empty capture shows nothing "
			"to diagnose\n",
			a.capture, a.cr.lines, a.cr.bad_lines ? ", all bad" : "");
		goto out;
	}
	check_capture(&a);
	for (size_t i = 0; i < a.n_warnings; i++)
		fprintf(stderr, "bodydiag: warning: %s\n", a.warnings[i]);
	/* the capture ends here: windows still open stay undecided (possible), they are
	 * not closed on behalf of a recording that stopped */
	engine_advance(a.e, st.last_us);
	/* rules_next_question() ranks the findings as rules_evaluate() does: one ranking
	 * gives both the findings and the next check */
	struct rules_question q;
	int q_r = engine_next_question(a.e, &q);
	if (q_r == -ENOMEM) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	o = malloc(sizeof(*o));
	if (!o) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	out_init(o, STDOUT_FILENO);
	if (json)
		print_json(&a, o, q_r, &q);
	else
		print_text(&a, o, q_r, &q);
	out_flush(o);
	if (o->error) {
		fprintf(stderr, "bodydiag: write: %s\n", strerror(-o->error));
		goto out;
	}
	ret = 0;
out:
	free(o);
	engine_free(a.e);
	vehicle_data_clear(&a.v);
	return ret;
}
