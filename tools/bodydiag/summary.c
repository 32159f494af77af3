/* SPDX-License-Identifier: MIT */
#include "summary.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bodydiag/dtc.h"
#include "bodydiag/numfmt.h"
#include "bodydiag/role.h"
#include "out.h"

#define TEXT 512

/* snprintf for sentences: a long name cuts the sentence, which is all it can do (and
 * keeps GCC's truncation analysis, which cannot know our lengths, quiet) */
static int fmt(char *buf, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	return n;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static bool is(json_t *o, const char *key, const char *value)
{
	return strcmp(str(o, key), value) == 0;
}

/* What the words of the chain's links are: the chain is lib/role.h's, fixed. */
static const struct {
	const char *link, *label, *working, *failing;
} LINKS[] = {
    {"fob", "Fob", "the fob's telegram reached the car",
     "no telegram from the fob reached the car"},
    {"receiver", "Receiver", "the receiver accepted the telegram",
     "the receiver did not accept the telegram"},
    {"request", "BCM request", "the BCM asked for the release",
     "the BCM did not ask for the release"},
    {"output", "Output command", "the BCM commanded the release output",
     "the BCM did not command the release output"},
    {"current", "Current", "the actuator drew its working current",
     "the actuator did not draw its working current"},
    {"latch", "Latch", "the latch released", "the latch did not release"},
    {"ajar", "Ajar switch", "the lid was seen open", "the lid was not seen open"},
};

static int link_index(const char *link)
{
	for (size_t i = 0; i < sizeof(LINKS) / sizeof(LINKS[0]); i++)
		if (!strcmp(LINKS[i].link, link))
			return (int)i;
	return -1;
}

const char *summary_link_label(const char *link)
{
	int i = link_index(link);
	return i < 0 ? link : LINKS[i].label;
}

const char *summary_link_state(const char *state)
{
	if (!strcmp(state, "working"))
		return "seen working";
	if (!strcmp(state, "failing"))
		return "seen failing";
	if (!strcmp(state, "not exercised"))
		return "not tested";
	if (!strcmp(state, "not observable"))
		return "not observable on this car";
	return state;
}

void summary_link_clause(json_t *l, char *buf, size_t size)
{
	int i = link_index(str(l, "link"));

	if (is(l, "state", "working") && i >= 0)
		fmt(buf, size, "%s", LINKS[i].working);
	else if (is(l, "state", "failing") && i >= 0)
		fmt(buf, size, "%s", LINKS[i].failing);
	else if (is(l, "state", "not exercised"))
		fmt(buf, size, "nothing that tests it happened");
	else
		fmt(buf, size, "%s", *str(l, "why") ? str(l, "why") : str(l, "state"));
}

void summary_seconds(double s, char *buf, size_t size)
{
	char num[NUMFMT_DOUBLE_MAX];
	double r = round(s * 100) / 100;

	numfmt_double_text(num, r == 0 ? 0 : r);
	fmt(buf, size, "%s s", num);
}

bool summary_utc(int64_t t_us, char *buf, size_t size)
{
	time_t s = (time_t)(t_us / 1000000);
	struct tm tm;
	char day[32];

	if (size)
		buf[0] = '\0';
	if (t_us < INT64_C(978307200000000) || !gmtime_r(&s, &tm) ||
	    !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm))
		return false;
	fmt(buf, size, "%s.%03dZ", day, (int)(t_us / 1000 % 1000));
	return true;
}

void summary_clock_line(struct out *o, const char *what, int64_t t0_us)
{
	char utc[40];
	if (summary_utc(t0_us, utc, sizeof(utc)))
		out_printf(o, "times are seconds from the start of %s, %s (UTC)\n", what, utc);
	else
		out_printf(o,
			   "times are seconds from the start of %s (its clock is not a wall "
			   "clock)\n",
			   what);
}

const char *summary_stop(const char *text)
{
	size_t n = strlen(text);
	return n && strchr(".!?", text[n - 1]) ? "" : ".";
}

void summary_words(const char *name, char *buf, size_t size)
{
	size_t i = 0;
	for (; name[i] && i + 1 < size; i++)
		buf[i] = name[i] == '_' ? ' ' : name[i];
	if (size)
		buf[i < size ? i : size - 1] = '\0';
}

static void capitalize(char *s)
{
	s[0] = (char)toupper((unsigned char)s[0]);
}

/* ---- conditions in words ---- */

/* A rule condition's source text taken apart (rules/README.md's grammar, the forms the
 * evidence carries): `signal R op V [while R2 op2 V2] [for D]`, `rises R [above X]`,
 * `falls R [below X]`, `mark A|B`, `dtc ...`, a bare role (an `evidence` entry). */
struct cond {
	enum { COND_OTHER, COND_LEVEL, COND_RISES, COND_FALLS, COND_ROLE } kind;
	char role[48], op[4], value[48];
	bool has_while;
	char role2[48], op2[4], value2[48];
	char dur[24];
};

static size_t words_of(const char *s, char w[][48], size_t max)
{
	size_t n = 0;
	while (*s && n < max) {
		while (*s == ' ')
			s++;
		size_t k = strcspn(s, " ");
		if (!k)
			break;
		fmt(w[n++], 48, "%.*s", (int)(k < 47 ? k : 47), s);
		s += k;
	}
	return n;
}

static void cond_parse(const char *text, struct cond *c)
{
	char w[12][48];
	size_t n = words_of(text, w, 12);
	unsigned role;

	memset(c, 0, sizeof(*c));
	if (n == 1 && role_find(w[0], strlen(w[0]), &role) == 0) {
		c->kind = COND_ROLE;
		fmt(c->role, sizeof(c->role), "%s", w[0]);
	} else if (n >= 4 && !strcmp(w[0], "signal")) {
		c->kind = COND_LEVEL;
		fmt(c->role, sizeof(c->role), "%s", w[1]);
		fmt(c->op, sizeof(c->op), "%s", w[2]);
		fmt(c->value, sizeof(c->value), "%s", w[3]);
		size_t i = 4;
		if (i + 3 < n + 0 && !strcmp(w[i], "while")) {
			c->has_while = true;
			fmt(c->role2, sizeof(c->role2), "%s", w[i + 1]);
			fmt(c->op2, sizeof(c->op2), "%s", w[i + 2]);
			fmt(c->value2, sizeof(c->value2), "%s", w[i + 3]);
			i += 4;
		}
		if (i + 1 < n + 0 && !strcmp(w[i], "for"))
			fmt(c->dur, sizeof(c->dur), "%s", w[i + 1]);
	} else if (n >= 2 && (!strcmp(w[0], "rises") || !strcmp(w[0], "falls"))) {
		c->kind = !strcmp(w[0], "rises") ? COND_RISES : COND_FALLS;
		fmt(c->role, sizeof(c->role), "%s", w[1]);
		if (n >= 4)
			fmt(c->value, sizeof(c->value), "%s", w[3]);
	}
	if (c->kind != COND_OTHER && role_find(c->role, strlen(c->role), &role) < 0)
		c->kind = COND_OTHER;
}

static const struct role *role_named(const char *name)
{
	unsigned i;
	return role_find(name, strlen(name), &i) == 0 ? role_at(i) : NULL;
}

/* The role's noun ("actuator current"), or its name in words. */
static void role_noun(const char *name, char *buf, size_t size)
{
	const struct role *r = role_named(name);
	if (r && r->title)
		fmt(buf, size, "%s", r->title);
	else
		summary_words(name, buf, size);
}

/* A value of the condition text with its unit ("0.5 A"), a label in words. */
static void cond_value(const char *role, const char *value, char *buf, size_t size)
{
	const struct role *r = role_named(role);
	if (r && r->kind == ROLE_KIND_NUMBER && r->unit[0])
		fmt(buf, size, "%s %s", value, r->unit);
	else
		summary_words(value, buf, size);
}

/* "above 0.5 A", "on", "not none"... for `op value`: the state a level condition asks. */
static void cond_state(const char *role, const char *op, const char *value, char *buf, size_t size)
{
	char v[64];
	cond_value(role, value, v, sizeof(v));
	if (!strcmp(op, ">"))
		fmt(buf, size, "above %s", v);
	else if (!strcmp(op, ">="))
		fmt(buf, size, "at %s or more", v);
	else if (!strcmp(op, "<"))
		fmt(buf, size, "below %s", v);
	else if (!strcmp(op, "<="))
		fmt(buf, size, "at %s or less", v);
	else if (!strcmp(op, "!="))
		fmt(buf, size, "other than %s", v);
	else
		fmt(buf, size, "%s", v);
}

/* "never rose above 0.5 A", "was never open", "never changed": what did not happen. */
static void cond_never(const char *role, const char *op, const char *value, char *buf, size_t size)
{
	const struct role *r = role_named(role);
	char v[64];
	cond_value(role, value, v, sizeof(v));
	if (!strcmp(op, ">"))
		fmt(buf, size, "never rose above %s", v);
	else if (!strcmp(op, ">="))
		fmt(buf, size, "never reached %s", v);
	else if (!strcmp(op, "<"))
		fmt(buf, size, "never fell below %s", v);
	else if (!strcmp(op, "<="))
		fmt(buf, size, "never fell to %s", v);
	else if (!strcmp(op, "!=") && r && r->n_labels && !strcmp(r->labels[0], value))
		fmt(buf, size, "never changed");
	else if (!strcmp(op, "!="))
		fmt(buf, size, "never left %s", v);
	else
		fmt(buf, size, "was never %s", v);
}

/* An event's value as people read it ("on", "0 V", "12.24 V"). */
static void event_value(json_t *ev, char *buf, size_t size)
{
	json_t *v = json_object_get(ev, "value");
	char num[NUMFMT_DOUBLE_MAX];
	if (json_is_string(v)) {
		summary_words(json_string_value(v), buf, size);
		return;
	}
	numfmt_double_text(num, json_number_value(v));
	if (*str(ev, "unit"))
		fmt(buf, size, "%s %s", num, str(ev, "unit"));
	else
		fmt(buf, size, "%s", num);
}

/* ---- why we think so ---- */

#define WHY_MAX 32 /* sentences remembered, so that one said twice is said once */

struct why {
	summary_fn fn;
	void *userdata;
	bool have_anchor;
	double anchor;	      /* the last action's time */
	char anchor_name[64]; /* and its name in words */
	char readings[TEXT];
	char said[WHY_MAX][TEXT]; /* an `any` of two `all`s can bring the same event twice */
	size_t n_said;
};

static void emit(struct why *w, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct why *w, const char *f, ...)
{
	char s[TEXT];
	va_list ap;
	va_start(ap, f);
	vsnprintf(s, sizeof(s), f, ap);
	va_end(ap);
	capitalize(s);
	for (size_t i = 0; i < w->n_said; i++)
		if (!strcmp(w->said[i], s))
			return;
	if (w->n_said < WHY_MAX)
		memcpy(w->said[w->n_said++], s, sizeof(s));
	w->fn(w->userdata, s);
}

/* "0.06 s after it, " or "at 2 s, " */
static void when(struct why *w, double at, char *buf, size_t size)
{
	char t[32];
	if (w->have_anchor && at >= w->anchor) {
		summary_seconds(at - w->anchor, t, sizeof(t));
		fmt(buf, size, "%s after %s, ", t, w->anchor_name);
	} else if (at < 0) {
		/* known from before the test began (the engine keeps the last values) */
		summary_seconds(-at, t, sizeof(t));
		fmt(buf, size, "already before the test (%s earlier), ", t);
	} else {
		summary_seconds(at, t, sizeof(t));
		fmt(buf, size, "at %s, ", t);
	}
}

static void dtc_status_text(int status, char *buf, size_t size)
{
	const char *words[8];
	bool faint[8];
	size_t n = summary_dtc_words(status, words, faint, 8), k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		k += (size_t)fmt(buf + k, k < size ? size - k : 0, "%s%s", i ? ", " : "", words[i]);
	if (!n)
		fmt(buf, size, "not failed");
}

/* An event for its own sake: an action, a DTC, a transport event. */
static bool plain_event(struct why *w, json_t *ev, double at)
{
	char a[128], b[128], t[32];
	summary_seconds(at, t, sizeof(t));
	if (is(ev, "type", "mark")) {
		summary_words(str(ev, "mark"), a, sizeof(a));
		emit(w, "%s at %s.", a, t);
		w->have_anchor = true;
		w->anchor = at;
		fmt(w->anchor_name, sizeof(w->anchor_name), "%s", a);
		return true;
	}
	if (is(ev, "type", "dtc")) {
		dtc_status_text((int)json_integer_value(json_object_get(ev, "status")), b,
				sizeof(b));
		emit(w, "the %s reported DTC %s (%s) at %s.",
		     *str(ev, "ecu") ? str(ev, "ecu") : "ECU", str(ev, "code"), b, t);
		return true;
	}
	if (is(ev, "type", "transport")) {
		summary_words(str(ev, "transport"), a, sizeof(a));
		emit(w, "the bus showed %s at %s.", a, t);
		return true;
	}
	return false;
}

/* What an absent window was anchored on, as a phrase ("fob trunk pressed"). */
static void anchor_phrase(json_t *ev, char *buf, size_t size)
{
	char v[64], n[64];
	if (is(ev, "type", "mark")) {
		summary_words(str(ev, "mark"), buf, size);
	} else if (is(ev, "type", "signal")) {
		role_noun(str(ev, "role"), n, sizeof(n));
		event_value(ev, v, sizeof(v));
		fmt(buf, size, "the %s became %s", n, v);
	} else {
		fmt(buf, size, "it");
	}
}

static void why_one(struct why *w, json_t *e)
{
	json_t *ev = json_object_get(e, "event");
	double at = json_number_value(json_object_get(e, "at"));
	double window = json_number_value(json_object_get(e, "window"));
	struct cond c;
	char noun[64], v[64], st[96], pre[64], t[32], tail[160] = "";

	cond_parse(str(e, "condition"), &c);
	if (c.kind != COND_OTHER)
		role_noun(c.role, noun, sizeof(noun));
	if (c.has_while) {
		char n2[64], s2[96];
		role_noun(c.role2, n2, sizeof(n2));
		cond_state(c.role2, c.op2, c.value2, s2, sizeof(s2));
		fmt(tail, sizeof(tail), " while the %s was %s", n2, s2);
	}
	if (is(e, "kind", "absent")) {
		char anchor[128];
		anchor_phrase(ev, anchor, sizeof(anchor));
		summary_seconds(window, t, sizeof(t));
		if (c.kind == COND_LEVEL) {
			cond_never(c.role, c.op, c.value, st, sizeof(st));
			emit(w, "within %s after %s, the %s %s%s.", t, anchor, noun, st, tail);
		} else if (c.kind == COND_RISES || c.kind == COND_FALLS) {
			emit(w, "within %s after %s, the %s never %s%s%s.", t, anchor, noun,
			     c.kind == COND_RISES ? "rose" : "fell", c.value[0] ? " past " : "",
			     c.value);
		} else {
			emit(w, "within %s after %s, nothing showed %s.", t, anchor,
			     str(e, "condition"));
		}
		return;
	}
	if (plain_event(w, ev, at))
		return;
	if (c.kind == COND_ROLE && is(ev, "type", "signal")) {
		/* `evidence` entries: the readings, said once at the end */
		size_t k = strlen(w->readings);
		event_value(ev, v, sizeof(v));
		fmt(w->readings + k, sizeof(w->readings) - k, "%s%s %s", k ? "; " : "", noun, v);
		return;
	}
	when(w, at, pre, sizeof(pre));
	if (c.kind == COND_OTHER || !is(ev, "type", "signal")) {
		emit(w, "%s%s.", pre, *str(e, "text") ? str(e, "text") : str(e, "condition"));
		return;
	}
	event_value(ev, v, sizeof(v));
	const struct role *ro = role_named(c.role);
	size_t rl = strlen(c.role);
	bool labels = ro && ro->kind != ROLE_KIND_NUMBER;
	if (labels && rl > 8 && !strcmp(c.role + rl - 8, "_request") &&
	    json_is_string(json_object_get(ev, "value")) &&
	    strcmp(json_string_value(json_object_get(ev, "value")), ro->labels[0]) != 0 &&
	    !is(e, "kind", "held")) {
		/* a request's label names who asked: "the release request came from the fob" */
		emit(w, "%sthe %s came from the %s%s.", pre, noun, v, tail);
	} else if (labels && (c.kind == COND_RISES || c.kind == COND_FALLS)) {
		emit(w, "%sthe %s became %s%s.", pre, noun, v, tail);
	} else if (is(e, "kind", "held")) {
		cond_state(c.role, c.op, c.value, st, sizeof(st));
		summary_seconds(window, t, sizeof(t));
		emit(w, "%sthe %s stayed %s for %s%s.", pre, noun, st, t, tail);
	} else if (c.kind == COND_RISES || c.kind == COND_FALLS) {
		char thr[64] = "";
		if (c.value[0])
			cond_value(c.role, c.value, thr, sizeof(thr));
		emit(w, "%sthe %s %s to %s%s%s.", pre, noun, c.kind == COND_RISES ? "rose" : "fell",
		     v, thr[0] ? (c.kind == COND_RISES ? ", above " : ", below ") : "", thr);
	} else if (!strcmp(c.op, "==") || !strcmp(c.op, "!=")) {
		emit(w, "%sthe %s was %s%s.", pre, noun, v, tail);
	} else {
		cond_state(c.role, c.op, c.value, st, sizeof(st));
		emit(w, "%sthe %s was %s (%s)%s.", pre, noun, v, st, tail);
	}
}

void summary_why(json_t *evidence, summary_fn fn, void *userdata)
{
	struct why *w = calloc(1, sizeof(*w));
	json_t *e;
	size_t i;

	if (!w)
		return;
	w->fn = fn;
	w->userdata = userdata;
	json_array_foreach(evidence, i, e) why_one(w, e);
	if (w->readings[0])
		emit(w, "readings: %s.", w->readings);
	free(w);
}

/* ---- findings ---- */

bool summary_finding_main(json_t *f)
{
	return is(f, "state", "holds") || is(f, "state", "possible");
}

static const char *title_of(json_t *res, const char *id)
{
	json_t *f;
	size_t i;
	json_array_foreach(json_object_get(res, "findings"), i,
			   f) if (!strcmp(str(f, "id"), id)) return str(f, "title");
	return id;
}

static void missing_list(json_t *f, char *buf, size_t size)
{
	json_t *m;
	size_t i, k = 0;
	char n[64];
	buf[0] = '\0';
	json_array_foreach(json_object_get(f, "missing"), i, m)
	{
		const char *what = str(m, "what"), *sep = i ? "; " : "";
		if (!strncmp(what, "dtc", 3)) {
			/* "dtc of bcm": a module's fault memory, which only a read shows */
			const char *mod = !strncmp(what, "dtc of ", 7) ? what + 7 : "";
			size_t j = 0;
			for (; mod[j] && j + 1 < sizeof(n); j++)
				n[j] = (char)toupper((unsigned char)mod[j]);
			n[j] = '\0';
			k +=
			    (size_t)fmt(buf + k, k < size ? size - k : 0,
					"%sthe %s%sfault memory (not read: it needs the diagnostic "
					"connection)",
					sep, n, j ? " " : "");
			continue;
		}
		if (role_named(what))
			role_noun(what, n, sizeof(n));
		else
			summary_words(what, n, sizeof(n));
		k += (size_t)fmt(buf + k, k < size ? size - k : 0, "%sthe %s (%s)", sep, n,
				 str(m, "why"));
	}
}

void summary_finding_state(json_t *res, json_t *f, char *buf, size_t size)
{
	char m[TEXT];
	if (is(f, "state", "holds"))
		fmt(buf, size, "%s",
		    is(f, "kind", "inhibit")  ? "the release was refused on purpose"
		    : is(f, "kind", "normal") ? "the chain worked"
					      : "found");
	else if (is(f, "state", "possible"))
		fmt(buf, size, "possible: not decided yet");
	else if (is(f, "state", "ruled out"))
		fmt(buf, size, "ruled out by %s", title_of(res, str(f, "by")));
	else if (is(f, "state", "suppressed"))
		fmt(buf, size, "explained by %s", title_of(res, str(f, "by")));
	else if (is(f, "state", "not observable")) {
		missing_list(f, m, sizeof(m));
		fmt(buf, size, "cannot be told on this car%s%s", m[0] ? "; needs " : "", m);
	} else
		fmt(buf, size, "%s", str(f, "state"));
}

/* ---- the answer ---- */

static json_t *first_holding(json_t *res, const char *kind)
{
	json_t *f;
	size_t i;
	json_array_foreach(json_object_get(res, "findings"), i,
			   f) if (is(f, "state", "holds") &&
				  (!kind || is(f, "kind", kind))) return f;
	return NULL;
}

/* Where the chain stopped: "the BCM commanded the release output, but the actuator did
 * not draw its working current"; "" when no link was seen failing. */
static void chain_clause(json_t *res, char *buf, size_t size)
{
	json_t *l, *work = NULL, *fail = NULL;
	size_t i;
	char a[128], b[128];

	buf[0] = '\0';
	json_array_foreach(json_object_get(res, "chain"), i, l)
	{
		if (is(l, "state", "failing")) {
			fail = l;
			break;
		}
		if (is(l, "state", "working"))
			work = l;
	}
	if (!fail)
		return;
	summary_link_clause(fail, b, sizeof(b));
	if (work) {
		summary_link_clause(work, a, sizeof(a));
		fmt(buf, size, "%s, but %s", a, b);
	} else {
		fmt(buf, size, "%s", b);
	}
}

void summary_answer(json_t *res, char *buf, size_t size)
{
	const char *verdict = str(res, "verdict");
	char clause[300];
	json_t *f;

	chain_clause(res, clause, sizeof(clause));
	if (!strcmp(verdict, "fault") && (f = first_holding(res, "cause"))) {
		if (clause[0])
			fmt(buf, size, "Most likely cause: %s (%s).", str(f, "title"), clause);
		else
			fmt(buf, size, "Most likely cause: %s.", str(f, "title"));
	} else if (!strcmp(verdict, "blocked") && (f = first_holding(res, "inhibit"))) {
		fmt(buf, size, "%s: the BCM refused the release on purpose, no part is broken.",
		    str(f, "title"));
	} else if (!strncmp(verdict, "no fault", 8)) {
		json_t *l = json_array_get(json_object_get(res, "chain"), 6);
		fmt(buf, size, "No fault found in the release chain: %s.",
		    is(l, "state", "working")
			? "every link the car shows reacted, and the lid opened"
			: "every link the car shows reacted");
	} else if (!strncmp(verdict, "not observable", 14)) {
		fmt(buf, size,
		    "The cause cannot be told: this car, with this connection, does "
		    "not show the links that would tell it.");
	} else if (clause[0]) {
		fmt(buf, size, "No cause can be named yet, but %s.", clause);
	} else {
		fmt(buf, size, "No cause can be named yet: the evidence is not complete.");
	}
}

bool summary_next_check(json_t *res, char *buf, size_t size)
{
	const char *verdict = str(res, "verdict");
	json_t *q = json_object_get(res, "next_question"), *f = NULL;

	buf[0] = '\0';
	if (!strcmp(verdict, "fault"))
		f = first_holding(res, "cause");
	else if (!strcmp(verdict, "blocked"))
		f = first_holding(res, "inhibit");
	if (f && *str(f, "advice")) {
		fmt(buf, size, "%s%s", str(f, "advice"), summary_stop(str(f, "advice")));
	} else if (json_is_object(q)) {
		fmt(buf, size, "%s%s", str(q, "prompt"), summary_stop(str(q, "prompt")));
	} else if (!strncmp(verdict, "no fault", 8)) {
		fmt(buf, size,
		    "Nothing to repair in the release chain; if the trunk fails "
		    "again, run the test while it fails.");
	} else if (!strncmp(verdict, "not observable", 14)) {
		fmt(buf, size,
		    "Connect to the BCM's diagnostic port, or check the links by "
		    "hand: the fuse, the actuator's click, the key blade.");
	} else {
		return false;
	}
	return true;
}

/* ---- DTCs ---- */

size_t summary_dtc_words(int status, const char **words, bool *faint, size_t max)
{
	static const struct {
		int bit;
		const char *word;
		bool faint;
	} bits[] = {
	    {DTC_STATUS_TEST_FAILED, "failed now", false},
	    {DTC_STATUS_CONFIRMED_DTC, "confirmed", false},
	    {DTC_STATUS_PENDING_DTC, "pending", false},
	    {DTC_STATUS_TEST_FAILED_SINCE_LAST_CLEAR, "failed since the last clear", false},
	    {DTC_STATUS_WARNING_INDICATOR_REQUESTED, "warning lamp on", false},
	    {DTC_STATUS_TEST_NOT_COMPLETED_SINCE_LAST_CLEAR, "not tested since clear", true},
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]) && n < max; i++)
		if (status & (1 << bits[i].bit)) {
			words[n] = bits[i].word;
			faint[n++] = bits[i].faint;
		}
	return n;
}

int summary_dtc_rank(int status)
{
	return (status & (1 << DTC_STATUS_TEST_FAILED) ? 8 : 0) |
	       (status & (1 << DTC_STATUS_CONFIRMED_DTC) ? 4 : 0) |
	       (status & (1 << DTC_STATUS_PENDING_DTC) ? 2 : 0) |
	       (status & (1 << DTC_STATUS_TEST_FAILED_SINCE_LAST_CLEAR) ? 1 : 0);
}

/* ---- as text ---- */

struct text_sink {
	struct out *o;
	const char *indent;
};

static void print_sentence(void *userdata, const char *s)
{
	struct text_sink *t = userdata;
	out_printf(t->o, "%s- %s\n", t->indent, s);
}

static void print_dtcs(struct out *o, json_t *res)
{
	json_t *d;
	size_t i, quiet = 0;
	out_str(o, "\ntrouble codes:\n");
	/* the failed ones first, highest rank down; the rest counted */
	for (int rank = 15; rank >= 1; rank--)
		json_array_foreach(json_object_get(res, "dtcs"), i, d)
		{
			int st = (int)json_integer_value(json_object_get(d, "status"));
			char words[160];
			if (summary_dtc_rank(st) != rank)
				continue;
			dtc_status_text(st, words, sizeof(words));
			out_printf(o, "  %s %-9s %s (%s)\n", str(d, "ecu"), str(d, "code"),
				   json_is_string(json_object_get(d, "text")) ? str(d, "text")
				   : *str(d, "failure_type") ? str(d, "failure_type")
							     : "no text",
				   words);
		}
	json_array_foreach(json_object_get(res, "dtcs"), i, d) quiet +=
	    summary_dtc_rank((int)json_integer_value(json_object_get(d, "status"))) == 0;
	if (quiet)
		out_printf(o, "  %zu more stored without a failure (not tested since clear)\n",
			   quiet);
	if (!json_array_size(json_object_get(res, "dtcs")))
		out_str(o, "  none read\n");
}

void summary_print(struct out *o, json_t *res)
{
	struct text_sink sink = {.o = o, .indent = "       "};
	char buf[1024];
	json_t *l, *f;
	size_t i, n = 0, folded = 0;

	summary_answer(res, buf, sizeof(buf));
	out_printf(o, "\nanswer: %s\n", buf);
	if (summary_next_check(res, buf, sizeof(buf)))
		out_printf(o, "next check: %s\n", buf);
	out_str(o, "\nrelease chain:\n");
	json_array_foreach(json_object_get(res, "chain"), i, l)
	{
		summary_link_clause(l, buf, sizeof(buf));
		out_printf(o, "  %-15s %-27s %s\n", summary_link_label(str(l, "link")),
			   summary_link_state(str(l, "state")), buf);
	}
	out_str(o, "\ncauses:\n");
	json_array_foreach(json_object_get(res, "findings"), i, f)
	{
		if (!summary_finding_main(f)) {
			folded++;
			continue;
		}
		summary_finding_state(res, f, buf, sizeof(buf));
		out_printf(o, "  %zu. %s (%s): %s\n", ++n, str(f, "title"), str(f, "id"), buf);
		if (json_array_size(json_object_get(f, "evidence"))) {
			out_str(o, "     why we think so:\n");
			summary_why(json_object_get(f, "evidence"), print_sentence, &sink);
		}
		if (*str(f, "advice") && !is(f, "kind", "normal"))
			out_printf(o, "     what to do: %s%s\n", str(f, "advice"),
				   summary_stop(str(f, "advice")));
	}
	if (!n)
		out_str(o, "  none holds or is possible\n");
	if (folded) {
		out_printf(o, "  ruled out or not decidable (%zu):\n", folded);
		json_array_foreach(json_object_get(res, "findings"), i, f)
		{
			if (summary_finding_main(f))
				continue;
			summary_finding_state(res, f, buf, sizeof(buf));
			out_printf(o, "    - %s: %s\n", str(f, "title"), buf);
		}
	}
	print_dtcs(o, res);
}
