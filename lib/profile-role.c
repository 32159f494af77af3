/* SPDX-License-Identifier: MIT */
/*
 * profile-role: a profile's [role NAME] sections (profiles/README.md): where a chain
 * role is read on this car, and the check of roles read from DIDs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bytes.h"
#include "profile-private.h"

/* ---- [role NAME] ---- */

int profile_start_role(struct profile_parser *p, unsigned column, const char *name, size_t len,
		       unsigned col)
{
	struct profile *pr = p->prof;
	unsigned idx;
	if (role_find(name, len, &idx) < 0)
		return profile_fail(p, p->lineno, col,
				    "unknown role '%.*s' (the roles are listed in rules/README.md)",
				    (int)len, name);
	if (pr->nroles == PROFILE_MAX_ROLES)
		return profile_fail(p, p->lineno, column, "more than %u [role] sections",
				    PROFILE_MAX_ROLES);
	struct role_entry *e = calloc(1, sizeof(*e));
	if (!e || !PUSH(pr->roles, pr->nroles)) {
		free(e);
		return -ENOMEM;
	}
	pr->roles[pr->nroles++] = e;
	e->pub.role = idx;
	e->pub.default_value = -1;
	e->pub.scale = 1;
	e->pub.line = p->lineno;
	e->pub.column = column;
	p->role = e;
	return 0;
}

int profile_end_role(struct profile_parser *p)
{
	struct role_entry *e = p->role;
	const struct role *ro = role_at(e->pub.role);
	if (!e->pub.message && !e->pub.ecu)
		return profile_fail(
		    p, p->sec_line, p->sec_column,
		    "[role %s] needs 'dbc_signal' (a DBC signal) or 'did' (a DID of this "
		    "profile)",
		    ro->name);
	if (ro->kind == ROLE_KIND_NUMBER && e->pub.n_map)
		return profile_fail(
		    p, e->pub.map[0].line, e->pub.map[0].column,
		    "role '%s' is a number (%s): it takes 'scale' and 'offset', not 'map'",
		    ro->name, ro->unit[0] ? ro->unit : "no unit");
	if (ro->kind == ROLE_KIND_NUMBER && e->pub.default_value >= 0)
		return profile_fail(p, e->default_line, e->default_column,
				    "role '%s' is a number: 'default' names a label", ro->name);
	if (ro->kind != ROLE_KIND_NUMBER && (e->pub.has_scale || e->has_offset))
		return profile_fail(
		    p, e->scale_line, e->scale_column,
		    "role '%s' has labels: 'scale' and 'offset' are for number roles", ro->name);
	if (ro->kind == ROLE_KIND_ENUM && !e->pub.n_map)
		return profile_fail(
		    p, p->sec_line, p->sec_column,
		    "role '%s' has labels: its source needs a 'map' (raw value or source "
		    "label ':' role label)",
		    ro->name);
	return 0;
}

/* A role label at v (n bytes): its value, or a failure naming the labels. */
static int want_role_label(struct profile_parser *p, const struct role *ro, const char *v, size_t n,
			   unsigned col, unsigned *ret)
{
	char list[200];
	size_t k = 0;
	if (role_label_find(ro, v, n, ret) == 0)
		return 0;
	list[0] = 0;
	for (unsigned i = 0; i < ro->n_labels && k < sizeof(list); i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "",
				      ro->labels[i]);
	return profile_fail(p, p->lineno, col, "unknown value '%.*s' of role '%s' (%s)", (int)n, v,
			    ro->name, list);
}

/*
 * `map = FROM:LABEL {, FROM:LABEL}`: FROM is a raw integer (decimal, or 0x hex, maybe
 * negative) or a label of the source signal, bare or in double quotes; LABEL a label of
 * the role.
 */
static int parse_map(struct profile_parser *p, struct role_entry *e, const char *v, size_t vn,
		     unsigned vcol)
{
	const struct role *ro = role_at(e->pub.role);
	size_t i = 0;
	if (vn == 0)
		return profile_fail(p, p->lineno, vcol, "empty value");
	for (;;) {
		struct profile_role_map m = {.line = p->lineno};
		while (i < vn && profile_is_ws(v[i]))
			i++;
		size_t a = i;
		m.column = vcol + (unsigned)a;
		if (i < vn && v[i] == '"') {
			size_t b = ++i;
			while (i < vn && v[i] != '"')
				i++;
			if (i >= vn || i == b)
				return profile_fail(p, p->lineno, m.column,
						    "expected a quoted source label");
			if (!(m.from_label = profile_dup_n(v + b, i - b)))
				return -ENOMEM;
			i++;
		} else {
			while (i < vn && v[i] != ':' && v[i] != ',' && !profile_is_ws(v[i]))
				i++;
			if (i == a)
				return profile_fail(
				    p, p->lineno, m.column,
				    "expected a source value (a raw number or a label) before "
				    "':'");
			char num[32], *endp;
			long long x = 0;
			bool numeric = false;
			if (i - a < sizeof(num)) {
				memcpy(num, v + a, i - a);
				num[i - a] = 0;
				errno = 0;
				x = strtoll(num, &endp, 0);
				numeric = endp != num && !*endp && errno != ERANGE &&
					  (profile_is_digit(num[0]) ||
					   (num[0] == '-' && profile_is_digit(num[1])));
			}
			if (numeric)
				m.from_raw = x;
			else if (!(m.from_label = profile_dup_n(v + a, i - a)))
				return -ENOMEM;
		}
		while (i < vn && profile_is_ws(v[i]))
			i++;
		if (i >= vn || v[i] != ':') {
			free((char *)m.from_label);
			return profile_fail(p, p->lineno, vcol + (unsigned)i,
					    "expected ':' and a label of role '%s'", ro->name);
		}
		i++;
		while (i < vn && profile_is_ws(v[i]))
			i++;
		size_t b = i;
		while (i < vn && v[i] != ',' && !profile_is_ws(v[i]))
			i++;
		int r = want_role_label(p, ro, v + b, i - b, vcol + (unsigned)b, &m.value);
		if (r == 0 && e->pub.n_map == PROFILE_MAX_ROLE_MAP)
			r = profile_fail(p, p->lineno, m.column, "more than %u map entries",
					 PROFILE_MAX_ROLE_MAP);
		if (r == 0 && !PUSH(e->map, e->pub.n_map))
			r = -ENOMEM;
		if (r < 0) {
			free((char *)m.from_label);
			return r;
		}
		e->map[e->pub.n_map++] = m;
		e->pub.map = e->map;
		while (i < vn && profile_is_ws(v[i]))
			i++;
		if (i == vn)
			return 0;
		if (v[i] != ',')
			return profile_fail(p, p->lineno, vcol + (unsigned)i,
					    "expected ',' or the end");
		i++;
	}
}

static int parse_double(struct profile_parser *p, const char *v, size_t vn, unsigned vcol,
			double *ret)
{
	char num[64], *endp;
	if (vn == 0 || vn >= sizeof(num))
		return profile_fail(p, p->lineno, vcol, "expected a number");
	memcpy(num, v, vn);
	num[vn] = 0;
	errno = 0;
	double x = strtod(num, &endp);
	if (endp == num || *endp || errno == ERANGE || x != x || x - x != 0)
		return profile_fail(p, p->lineno, vcol, "expected a number, got '%.*s'", (int)vn,
				    v);
	*ret = x;
	return 0;
}

int profile_pair_role(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct role_entry *e = p->role;
	const struct role *ro = role_at(e->pub.role);
	switch (key) {
	case 0: { /* dbc_signal = MESSAGE.SIGNAL */
		const char *dot = memchr(v, '.', vn);
		if (e->pub.ecu)
			return profile_fail(p, p->lineno, vcol,
					    "'dbc_signal' and 'did' in the same [role]");
		if (!dot || dot == v || dot == v + vn - 1 ||
		    memchr(dot + 1, '.', vn - (size_t)(dot + 1 - v)))
			return profile_fail(
			    p, p->lineno, vcol,
			    "expected MESSAGE.SIGNAL (a message name or 0x id, a dot, a "
			    "signal name), got '%.*s'",
			    (int)vn, v);
		for (size_t k = 0; k < vn; k++)
			if (profile_is_ws(v[k]))
				return profile_fail(p, p->lineno, vcol + (unsigned)k,
						    "blank in MESSAGE.SIGNAL");
		e->pub.from = PROFILE_ROLE_FROM_DBC;
		e->pub.message = profile_dup_n(v, (size_t)(dot - v));
		e->pub.signal = profile_dup_n(dot + 1, vn - (size_t)(dot + 1 - v));
		e->pub.from_line = p->lineno;
		e->pub.from_column = vcol;
		return e->pub.message && e->pub.signal ? 0 : -ENOMEM;
	}
	case 1: { /* did = ECU 0xDID [SIGNAL] */
		const char *w[4];
		size_t wl[4];
		unsigned n = 0;
		uint32_t id;
		if (e->pub.message)
			return profile_fail(p, p->lineno, vcol,
					    "'dbc_signal' and 'did' in the same [role]");
		for (size_t k = 0; k < vn && n < 4;) {
			while (k < vn && profile_is_ws(v[k]))
				k++;
			if (k == vn)
				break;
			w[n] = v + k;
			while (k < vn && !profile_is_ws(v[k]))
				k++;
			wl[n] = (size_t)(v + k - w[n]);
			n++;
		}
		if (n < 2 || n > 3)
			return profile_fail(p, p->lineno, vcol,
					    "expected 'ECU 0xDID' or 'ECU 0xDID SIGNAL'");
		const struct ecu_entry *ecu = NULL;
		for (size_t i = 0; i < p->prof->necus; i++)
			if (strlen(p->prof->ecus[i]->pub.id) == wl[0] &&
			    !memcmp(p->prof->ecus[i]->pub.id, w[0], wl[0]))
				ecu = p->prof->ecus[i];
		if (!ecu)
			return profile_fail(p, p->lineno, vcol, "undeclared ECU '%.*s'", (int)wl[0],
					    w[0]);
		if (wl[1] != 6 || !profile_parse_hex(w[1], wl[1], 0xFFFF, &id))
			return profile_fail(p, p->lineno, vcol + (unsigned)(w[1] - v),
					    "bad DID '%.*s' (expected 0x and 4 hex digits)",
					    (int)wl[1], w[1]);
		e->pub.from = PROFILE_ROLE_FROM_DID;
		e->pub.ecu = profile_dup_n(w[0], wl[0]);
		e->pub.did = (uint16_t)id;
		if (n == 3 && !(e->pub.signal = profile_dup_n(w[2], wl[2])))
			return -ENOMEM;
		e->pub.from_line = p->lineno;
		e->pub.from_column = vcol;
		return e->pub.ecu ? 0 : -ENOMEM;
	}
	case 2: /* map */
		return parse_map(p, e, v, vn, vcol);
	case 3: { /* default */
		unsigned val;
		int r;
		e->default_line = p->lineno;
		e->default_column = vcol;
		if (ro->kind == ROLE_KIND_NUMBER)
			return profile_fail(p, p->lineno, vcol,
					    "role '%s' is a number: 'default' names a label",
					    ro->name);
		if ((r = want_role_label(p, ro, v, vn, vcol, &val)) < 0)
			return r;
		e->pub.default_value = (int)val;
		return 0;
	}
	case 4: /* scale */
	case 5: /* offset */
		e->scale_line = p->lineno;
		e->scale_column = vcol;
		if (key == 4) {
			e->pub.has_scale = true;
			return parse_double(p, v, vn, vcol, &e->pub.scale);
		}
		e->has_offset = true;
		return parse_double(p, v, vn, vcol, &e->pub.offset);
	case 6: /* source */
		return profile_set_string(p, (char **)&e->pub.source, v, vn, vcol);
	case 7: /* grade */
		if (vn != 1 || (v[0] != 'A' && v[0] != 'B' && v[0] != 'C'))
			return profile_fail(p, p->lineno, vcol,
					    "grade must be A, B or C, got '%.*s'", (int)vn, v);
		e->pub.grade = v[0];
		return 0;
	case 8: /* note */
		return profile_set_string(p, (char **)&e->pub.note, v, vn, vcol);
	}
	return 0;
}

/* A `did` source names a DID of this profile (declared anywhere in the file), one of its
 * signals, and labels that signal has. */
int profile_check_role_dids(struct profile_parser *p)
{
	struct profile *pr = p->prof;
	for (size_t i = 0; i < pr->nroles; i++) {
		const struct role_entry *e = pr->roles[i];
		const struct profile_role *r = &e->pub;
		if (r->from != PROFILE_ROLE_FROM_DID)
			continue;
		const struct profile_did *d = profile_did_find(pr, r->ecu, r->did);
		if (!d)
			return profile_fail(p, r->from_line, r->from_column,
					    "[did %s 0x%04X] is not in this profile", r->ecu,
					    r->did);
		const struct dbc_signal *sig = NULL;
		for (size_t k = 0; k < d->nsignals; k++)
			if (r->signal ? !strcmp(dbc_signal_name(d->signals[k]), r->signal)
				      : d->nsignals == 1)
				sig = d->signals[k];
		if (!sig && r->signal)
			return profile_fail(p, r->from_line, r->from_column,
					    "DID 0x%04X has no signal '%s'", r->did, r->signal);
		if (!sig)
			return profile_fail(
			    p, r->from_line, r->from_column,
			    "DID 0x%04X has %zu signals: name one (did = ECU 0xDID SIGNAL)", r->did,
			    d->nsignals);
		for (size_t k = 0; k < r->n_map; k++) {
			const struct profile_role_map *m = &r->map[k];
			bool found = !m->from_label;
			for (size_t c = 0; m->from_label && c < dbc_signal_choice_count(sig); c++) {
				int64_t raw;
				const char *label;
				if (dbc_signal_choice_at(sig, c, &raw, &label) &&
				    !strcmp(label, m->from_label))
					found = true;
			}
			if (!found)
				return profile_fail(p, m->line, m->column,
						    "signal '%s' has no value '%s'",
						    dbc_signal_name(sig), m->from_label);
		}
	}
	return 0;
}
