/* SPDX-License-Identifier: MIT */
/*
 * profile: vehicle profile parser (profiles/README.md, format 1).
 *
 * Line oriented and streaming: bytes are buffered up to the next newline only, so a
 * profile of any size costs one line of buffer plus what it declares. Each line is
 * checked as soon as it is complete; section-level checks (required keys, a DID's
 * signals) run when the next section starts or at finish.
 *
 * DID signals are lib/dbc signals. `values` labels must become VAL_ choices, and lib/dbc
 * attaches choices only while parsing a whole database, so each DID is compiled as a
 * one-message DBC ("BO_ 1 D: ...", its SG_ lines, its VAL_ lines): the profile decodes
 * with exactly the engine and the number rules the bus decoder uses. Each `signal` is
 * first checked alone with dbc_signal_parse() and each `values` by check_values(), so
 * mistakes are reported on their own line (a signal's with the DBC parser's message and
 * column).
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

/* ---- the profile ---- */

void profile_text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->oom)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->oom = true;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *b = realloc(t->s, cap);
		if (!b) {
			t->oom = true;
			return;
		}
		t->s = b;
		t->cap = cap;
		va_start(ap, fmt);
		vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
}

/* ---- freeing ---- */

struct profile *profile_free(struct profile *p)
{
	if (!p)
		return NULL;
	free(p->make);
	free(p->platform);
	free(p->name);
	free(p->bus);
	free(p->dbc);
	for (size_t i = 0; i < p->necus; i++) {
		free((char *)p->ecus[i]->pub.id);
		free((char *)p->ecus[i]->pub.name);
		free(p->ecus[i]);
	}
	free(p->ecus);
	for (size_t i = 0; i < p->ndids; i++)
		profile_did_free(p->dids[i]);
	free(p->dids);
	for (size_t i = 0; i < p->ndtcs; i++) {
		free((char *)p->dtcs[i]->pub.text);
		free((char *)p->dtcs[i]->pub.source);
		free((char *)p->dtcs[i]->pub.set);
		free(p->dtcs[i]);
	}
	free(p->dtcs);
	for (size_t i = 0; i < p->nroles; i++) {
		struct role_entry *e = p->roles[i];
		for (size_t k = 0; k < e->pub.n_map; k++)
			free((char *)e->map[k].from_label);
		free(e->map);
		free((char *)e->pub.message);
		free((char *)e->pub.signal);
		free((char *)e->pub.ecu);
		free((char *)e->pub.source);
		free((char *)e->pub.note);
		free(e);
	}
	free(p->roles);
	free(p->filename);
	free(p);
	return NULL;
}

/* ---- accessors ---- */

const char *profile_make(const struct profile *p)
{
	return p->make;
}
const char *profile_platform(const struct profile *p)
{
	return p->platform;
}
const char *profile_vehicle_name(const struct profile *p)
{
	return p->name;
}
const char *profile_bus(const struct profile *p)
{
	return p->bus;
}
size_t profile_wmi_count(const struct profile *p)
{
	return p->nwmi;
}

const char *profile_wmi_at(const struct profile *p, size_t i)
{
	return i < p->nwmi ? p->wmi[i] : NULL;
}

unsigned profile_vin_match(const struct profile *p, const char *vin)
{
	unsigned best = 0;

	for (size_t i = 0; vin && i < p->nwmi; i++) {
		size_t n = strlen(p->wmi[i]);

		if (strncmp(vin, p->wmi[i], n) == 0 && n > best)
			best = (unsigned)n;
	}
	return best;
}

uint32_t profile_bitrate(const struct profile *p)
{
	return p->bitrate;
}
const char *profile_dbc(const struct profile *p)
{
	return p->dbc;
}

size_t profile_ecu_count(const struct profile *p)
{
	return p->necus;
}

const struct profile_ecu *profile_ecu_at(const struct profile *p, size_t i)
{
	return i < p->necus ? &p->ecus[i]->pub : NULL;
}

const struct profile_ecu *profile_ecu_find(const struct profile *p, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < p->necus; i++)
		if (strcmp(p->ecus[i]->pub.id, id) == 0)
			return &p->ecus[i]->pub;
	return NULL;
}

/* ---- DTCs ---- */

size_t profile_dtc_count(const struct profile *p)
{
	return p->ndtcs;
}

const struct profile_dtc *profile_dtc_at(const struct profile *p, size_t i)
{
	return i < p->ndtcs ? &p->dtcs[i]->pub : NULL;
}

const struct profile_dtc *profile_dtc_find(const struct profile *p, const char *ecu, uint32_t code)
{
	for (size_t i = 0; i < p->ndtcs; i++)
		if (p->dtcs[i]->pub.code == (code & 0xFFFFFF) &&
		    (!ecu || strcmp(p->dtcs[i]->pub.ecu, ecu) == 0))
			return &p->dtcs[i]->pub;
	return NULL;
}

/* ---- roles ---- */

size_t profile_role_count(const struct profile *p)
{
	return p ? p->nroles : 0;
}

const struct profile_role *profile_role_at(const struct profile *p, size_t i)
{
	return p && i < p->nroles ? &p->roles[i]->pub : NULL;
}

const char *profile_filename(const struct profile *p)
{
	return p && p->filename ? p->filename : "<memory>";
}

int profile_dbc_path(const struct profile *p, const char *profile_path, const char *datadir,
		     char *buf, size_t size)
{
	char dir[4096], cand[3][4096];
	size_t n = 0, used = 0;
	if (!p || !p->dbc) {
		snprintf(buf, size, "the profile names no dbc");
		return -ENOENT;
	}
	if (p->dbc[0] == '/') {
		if (snprintf(cand[n++], sizeof(cand[0]), "%s", p->dbc) >= (int)sizeof(cand[0]))
			return -ENAMETOOLONG;
	} else {
		const char *slash = profile_path ? strrchr(profile_path, '/') : NULL;
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - profile_path),
				 profile_path);
		else
			snprintf(dir, sizeof(dir), ".");
		if (slash == profile_path)
			snprintf(dir, sizeof(dir), "/");
		if (snprintf(cand[n++], sizeof(cand[0]), "%s/%s", dir, p->dbc) >=
			(int)sizeof(cand[0]) ||
		    snprintf(cand[n++], sizeof(cand[0]), "%s/../dbc/%s", dir, p->dbc) >=
			(int)sizeof(cand[0]))
			return -ENAMETOOLONG;
		if (datadir && snprintf(cand[n++], sizeof(cand[0]), "%s/dbc/%s", datadir, p->dbc) >=
				   (int)sizeof(cand[0]))
			return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < n; i++) {
		if (access(cand[i], R_OK) == 0) {
			if (snprintf(buf, size, "%s", cand[i]) >= (int)size)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	buf[0] = 0;
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", cand[i]);
	return -ENOENT;
}
