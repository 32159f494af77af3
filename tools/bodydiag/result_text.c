/* SPDX-License-Identifier: MIT */
#include "result_text.h"

#include <string.h>

#include "bodydiag/numfmt.h"
#include "bodydiag/role.h"
#include "out.h"
#include "summary.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* A role's value as people read it: its label, or the number with the role's unit. */
static const char *value_text(const char *role, json_t *v, char *buf, size_t size)
{
	unsigned r;
	if (json_is_string(v))
		return json_string_value(v);
	if (role_find(role, strlen(role), &r) < 0)
		numfmt_double_text(buf, json_number_value(v)); /* size >= NUMFMT_DOUBLE_MAX */
	else
		role_value_format(role_at(r), json_number_value(v), buf, size);
	return buf;
}

static void print_events(struct out *o, json_t *res, const char *from)
{
	json_t *events = json_object_get(res, "body_events"), *t;
	char a[64], b[64];
	size_t i;

	out_printf(o, "\nbody events (seconds from %s):\n", from);
	json_array_foreach(events, i, t)
	{
		const char *role = str(t, "role");
		json_t *f = json_object_get(t, "from");
		if (json_is_null(f))
			out_printf(o, "  %+9.3f  %-16s %s (state when first seen)  [%s]\n",
				   num(t, "t"), role,
				   value_text(role, json_object_get(t, "to"), b, sizeof(b)),
				   str(t, "source"));
		else
			out_printf(o, "  %+9.3f  %-16s %s -> %s  [%s]\n", num(t, "t"), role,
				   value_text(role, f, a, sizeof(a)),
				   value_text(role, json_object_get(t, "to"), b, sizeof(b)),
				   str(t, "source"));
	}
	if (!json_array_size(events))
		out_str(
		    o, "  none: no door, lid, lock, fob or request role of the profile was seen\n");
	if (json_integer_value(json_object_get(res, "body_events_dropped")))
		out_printf(
		    o, "  (%lld more not kept)\n",
		    (long long)json_integer_value(json_object_get(res, "body_events_dropped")));
}

static void print_roles(struct out *o, json_t *res)
{
	const char *name;
	json_t *r;
	char lo[64], hi[64];

	out_str(o, "\nroles of this vehicle:\n");
	json_object_foreach(json_object_get(res, "roles"), name, r)
	{
		long long n = (long long)json_integer_value(json_object_get(r, "samples"));
		out_printf(o, "  %-20s %-10s ", name,
			   json_is_true(json_object_get(r, "broadcast")) ? "broadcast" : "did");
		if (!n) {
			out_str(o, "not seen\n");
			continue;
		}
		const char *l = value_text(name, json_object_get(r, "min"), lo, sizeof(lo));
		const char *h = value_text(name, json_object_get(r, "max"), hi, sizeof(hi));
		if (!strcmp(l, h))
			out_printf(o, "%s (%lld samples)\n", l, n);
		else
			out_printf(o, "%s .. %s (%lld samples)\n", l, h, n);
	}
	if (!json_object_size(json_object_get(res, "roles")))
		out_str(o, "  none\n");
}

static void print_chain(struct out *o, json_t *res)
{
	json_t *l;
	size_t i;

	out_str(o, "\nrelease chain, link by link:\n");
	json_array_foreach(json_object_get(res, "chain"), i, l)
	{
		const char *state = str(l, "state");
		json_t *ev = json_array_get(json_object_get(l, "evidence"), 0);
		out_printf(o, "  %-9s %-15s", str(l, "link"), state);
		if (json_object_get(l, "since"))
			out_printf(o, " since %+.3f s", num(l, "since"));
		else
			out_printf(o, " (%s)", str(l, "why"));
		out_printf(o, "  %s\n", str(l, "title"));
		if (ev)
			out_printf(o, "            - %s\n", str(ev, "text"));
	}
}

static void print_list(struct out *o, const char *title, json_t *list)
{
	json_t *v;
	size_t k;

	if (!json_array_size(list))
		return;
	out_str(o, title);
	json_array_foreach(list, k, v) out_printf(o, "%s %s", k ? "," : "", json_string_value(v));
	out_char(o, '\n');
}

static void print_finding(struct out *o, json_t *res, json_t *f, size_t n)
{
	json_t *ev;
	size_t k;
	const char *state = str(f, "state");

	out_printf(o, "\n%zu. %s: %s\n   %s %s, weight %.2f, score %.2f, cost %lld", n,
		   str(f, "id"), str(f, "title"), str(f, "kind"), state, num(f, "weight"),
		   num(f, "score"), (long long)json_integer_value(json_object_get(f, "cost")));
	if (json_is_string(json_object_get(f, "by")))
		out_printf(o, " (by %s)", str(f, "by"));
	/* since: the engine's clock; people get it from the result's zero */
	if (json_object_get(f, "since"))
		out_printf(o, ", since %+.3f s", num(f, "since") - num(res, "t0"));
	out_char(o, '\n');
	json_array_foreach(json_object_get(f, "evidence"), k, ev)
	    out_printf(o, "   - %s\n", str(ev, "text"));
	if (*str(f, "advice"))
		out_printf(o, "   advice: %s\n", str(f, "advice"));
	print_list(o, "   rules out:", json_object_get(f, "rules_out"));
	if (!strcmp(str(f, "kind"), "inhibit"))
		print_list(o, "   explains:", json_object_get(f, "covers"));
}

void result_text_print(struct out *o, json_t *res, const char *events_from)
{
	summary_print(o, res);
	out_str(o, "\n---- details ----\n");
	result_text_details(o, res, events_from);
}

void result_text_details(struct out *o, json_t *res, const char *events_from)
{
	json_t *findings = json_object_get(res, "findings"), *f, *m, *q;
	size_t i, k, shown = 0, nobs = 0;

	print_events(o, res, events_from);
	print_roles(o, res);
	out_printf(o, "\nverdict: %s\n", str(res, "verdict"));
	print_chain(o, res);
	json_array_foreach(findings, i, f)
	{
		if (!strcmp(str(f, "state"), "not observable"))
			nobs++;
		else
			print_finding(o, res, f, ++shown);
	}
	if (nobs) {
		out_str(
		    o, "\nnot observable on this vehicle with this connection (cannot be told):\n");
		json_array_foreach(findings, i, f)
		{
			if (strcmp(str(f, "state"), "not observable"))
				continue;
			out_printf(o, "  - %s: %s; needs ", str(f, "id"), str(f, "title"));
			json_array_foreach(json_object_get(f, "missing"), k, m) out_printf(
			    o, "%s%s (%s)", k ? ", " : "", str(m, "what"), str(m, "why"));
			out_char(o, '\n');
		}
	}
	if (!json_array_size(findings))
		out_str(o, "no rule holds or is possible\n");
	q = json_object_get(res, "next_question");
	if (json_is_object(q))
		out_printf(o, "\nnext check: %s (mark %s)\n", str(q, "prompt"), str(q, "mark"));
}
