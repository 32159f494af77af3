/* SPDX-License-Identifier: MIT */
/*
 * rolemap: binds a profile's [role] sections to its DBC and DIDs (rolemap.h).
 *
 * Everything is resolved once: messages and signals to pointers, source labels to raw
 * values, units to one factor; converting a sample is then a multiply-add or a short
 * scan of the map (a handful of entries).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"

struct rolemap {
	struct rolemap_source *src;
	size_t n;
	int64_t *raw_pool;
	unsigned *value_pool;
	unsigned *provides; /* per registry role, ROLEMAP_* bits */
};

static int fail(struct profile_error *err, const struct profile *p, unsigned line,
		unsigned column, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct profile_error *err, const struct profile *p, unsigned line,
		unsigned column, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		snprintf(err->file, sizeof(err->file), "%s", profile_filename(p));
		err->line = line;
		err->column = column;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

struct rolemap *rolemap_free(struct rolemap *m)
{
	if (!m)
		return NULL;
	free(m->src);
	free(m->raw_pool);
	free(m->value_pool);
	free(m->provides);
	free(m);
	return NULL;
}

/* A message by name, or by its id written "0x3A0". */
static const struct dbc_message *find_message(const struct dbc *db, const char *name)
{
	const struct dbc_message *m = dbc_find_message_by_name(db, name);
	if (m || strncmp(name, "0x", 2) != 0)
		return m;
	char *end;
	unsigned long id = strtoul(name + 2, &end, 16);
	if (*end || end == name + 2 || id > 0x1FFFFFFFul)
		return NULL;
	m = dbc_find_message(db, (uint32_t)id, id > 0x7FF);
	return m ? m : dbc_find_message(db, (uint32_t)id, id <= 0x7FF);
}

/* Whether raw fits an integer signal's bits. */
static bool raw_fits(const struct dbc_signal *s, int64_t raw)
{
	unsigned len = dbc_signal_length(s);
	if (dbc_signal_type(s) != DBC_SIGNAL_TYPE_INTEGER || len >= 64)
		return true;
	if (dbc_signal_is_signed(s))
		return raw >= -((int64_t)1 << (len - 1)) && raw < ((int64_t)1 << (len - 1));
	return raw >= 0 && raw < ((int64_t)1 << len);
}

static int bind_source(const struct profile *p, const struct dbc *db,
		       const struct profile_role *pr, struct rolemap_source *s, int64_t *raw,
		       unsigned *value, struct profile_error *err)
{
	const struct role *ro = role_at(pr->role);
	*s = (struct rolemap_source){.pr = pr, .role = pr->role, .factor = 1,
				     .default_value = pr->default_value};
	if (pr->from == PROFILE_ROLE_FROM_DBC) {
		if (!db)
			return fail(err, p, pr->from_line, pr->from_column,
				    "[role %s] names a DBC signal, but no DBC is loaded", ro->name);
		s->msg = find_message(db, pr->message);
		if (!s->msg)
			return fail(err, p, pr->from_line, pr->from_column,
				    "the DBC has no message '%s'", pr->message);
		s->sig = dbc_message_find_signal(s->msg, pr->signal);
		if (!s->sig)
			return fail(err, p, pr->from_line, pr->from_column,
				    "message '%s' of the DBC has no signal '%s'",
				    dbc_message_name(s->msg), pr->signal);
	} else {
		s->did = profile_did_find(p, pr->ecu, pr->did);
		for (size_t k = 0; s->did && k < profile_did_signal_count(s->did); k++) {
			const struct dbc_signal *g = profile_did_signal_at(s->did, k);
			if (pr->signal ? !strcmp(dbc_signal_name(g), pr->signal)
				       : profile_did_signal_count(s->did) == 1)
				s->sig = g;
		}
		/* the profile parser checked both; an ASCII DID has no signal */
		if (!s->sig)
			return fail(err, p, pr->from_line, pr->from_column,
				    "DID 0x%04X of %s has no such signal", pr->did, pr->ecu);
	}
	if (ro->kind == ROLE_KIND_NUMBER) {
		double f = 1;
		if (pr->has_scale)
			f = pr->scale;
		else if (role_unit_factor(dbc_signal_unit(s->sig), ro->unit, &f) < 0)
			f = 1; /* unknown or absent unit: taken as the role's own */
		s->factor = f;
		s->offset = pr->offset;
		return 0;
	}
	for (size_t k = 0; k < pr->n_map; k++) {
		const struct profile_role_map *m = &pr->map[k];
		int64_t r = m->from_raw;
		if (m->from_label) {
			bool found = false;
			for (size_t c = 0; c < dbc_signal_choice_count(s->sig) && !found; c++) {
				const char *label;
				if (dbc_signal_choice_at(s->sig, c, &r, &label) &&
				    !strcmp(label, m->from_label))
					found = true;
			}
			if (!found)
				return fail(err, p, m->line, m->column,
					    "signal '%s' has no value label '%s'",
					    dbc_signal_name(s->sig), m->from_label);
		} else if (!raw_fits(s->sig, r)) {
			return fail(err, p, m->line, m->column,
				    "raw value %lld does not fit the %u-bit signal '%s'",
				    (long long)r, dbc_signal_length(s->sig), dbc_signal_name(s->sig));
		}
		raw[k] = r;
		value[k] = m->value;
	}
	s->map_raw = raw;
	s->map_value = value;
	s->n_map = pr->n_map;
	return 0;
}

int rolemap_new(const struct profile *p, const struct dbc *db, struct profile_error *err,
		struct rolemap **ret)
{
	size_t n = profile_role_count(p), n_map = 0;
	int r;
	struct rolemap *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		n_map += profile_role_at(p, i)->n_map;
	m->src = calloc(n ? n : 1, sizeof(*m->src));
	m->raw_pool = calloc(n_map ? n_map : 1, sizeof(*m->raw_pool));
	m->value_pool = calloc(n_map ? n_map : 1, sizeof(*m->value_pool));
	m->provides = calloc(role_count(), sizeof(*m->provides));
	if (!m->src || !m->raw_pool || !m->value_pool || !m->provides) {
		rolemap_free(m);
		return -ENOMEM;
	}
	size_t base = 0;
	for (size_t i = 0; i < n; i++) {
		const struct profile_role *pr = profile_role_at(p, i);
		r = bind_source(p, db, pr, &m->src[i], m->raw_pool + base, m->value_pool + base, err);
		if (r < 0) {
			rolemap_free(m);
			return r;
		}
		base += pr->n_map;
		m->provides[pr->role] |= pr->from == PROFILE_ROLE_FROM_DBC ? ROLEMAP_BROADCAST
									   : ROLEMAP_DID;
		m->n++;
	}
	*ret = m;
	return 0;
}

size_t rolemap_source_count(const struct rolemap *m)
{
	return m ? m->n : 0;
}

const struct rolemap_source *rolemap_source_at(const struct rolemap *m, size_t i)
{
	return m && i < m->n ? &m->src[i] : NULL;
}

unsigned rolemap_provides(const struct rolemap *m, unsigned role)
{
	return m && role < role_count() ? m->provides[role] : 0;
}

int rolemap_convert(const struct rolemap_source *s, double raw, double phys, double *ret_value)
{
	const struct role *ro = role_at(s->role);
	if (ro->kind == ROLE_KIND_NUMBER) {
		*ret_value = phys * s->factor + s->offset;
		return 0;
	}
	for (size_t k = 0; k < s->n_map; k++) {
		if ((double)s->map_raw[k] == raw) {
			*ret_value = s->map_value[k];
			return 0;
		}
	}
	if (s->default_value >= 0) {
		*ret_value = s->default_value;
		return 0;
	}
	if (ro->kind == ROLE_KIND_BOOL && !s->n_map) {
		*ret_value = raw != 0;
		return 0;
	}
	return -ENOENT;
}

int rolemap_source_format(const struct rolemap_source *s, char *buf, size_t size)
{
	if (s->msg)
		return snprintf(buf, size, "%s.%s", dbc_message_name(s->msg), dbc_signal_name(s->sig));
	return snprintf(buf, size, "did %s 0x%04X %s", profile_did_ecu(s->did),
			profile_did_id(s->did), dbc_signal_name(s->sig));
}
