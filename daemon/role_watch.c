/* SPDX-License-Identifier: MIT */
#include "role_watch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bodydiag/dbc.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"
#include "router.h"
#include "vehicle.h"

/* The DBC message index of m (router watches are by index). */
static bool message_index(const struct vehicle *v, const struct dbc_message *m, size_t *ret)
{
	const struct dbc *db = vehicle_dbc(v);

	for (size_t i = 0; db && i < dbc_message_count(db); i++)
		if (dbc_message_at(db, i) == m) {
			*ret = i;
			return true;
		}
	return false;
}

enum role_watch_via role_watch_bind(struct role_watch *w, unsigned role, const char *override,
				    struct vehicle *v, struct router_watch *rw)
{
	const struct rolemap *rm = vehicle_rolemap(v);
	size_t msg;

	*w = (struct role_watch){.role = role};
	if (override && override[0]) {
		snprintf(w->name, sizeof(w->name), "%s", override);
		if (vehicle_find_signal(v, override, &msg, &w->sig) == 0 &&
		    router_watch_want(rw, v, msg, true) == 0) {
			w->via = ROLE_WATCH_SIGNAL;
			w->msg[w->n_msg++] = msg;
		} else {
			w->sig = NULL;
		}
		return w->via;
	}
	for (size_t i = 0; rm && i < rolemap_source_count(rm); i++) {
		const struct rolemap_source *s = rolemap_source_at(rm, i);
		if (s->role != role)
			continue;
		if (!s->msg) {
			if (w->via == ROLE_WATCH_NONE)
				w->via = ROLE_WATCH_DID_ONLY;
			continue;
		}
		if (w->n_src == ROLE_WATCH_MAX_SOURCES || !message_index(v, s->msg, &msg) ||
		    router_watch_want(rw, v, msg, true) < 0)
			continue;
		if (!w->n_src)
			rolemap_source_format(s, w->name, sizeof(w->name));
		w->src[w->n_src++] = s;
		w->msg[w->n_msg++] = msg;
		w->via = ROLE_WATCH_PROFILE;
	}
	if (w->via == ROLE_WATCH_DID_ONLY)
		snprintf(w->name, sizeof(w->name), "%s (DID only)", role_at(role)->name);
	return w->via;
}

void role_watch_unbind(struct role_watch *w, struct vehicle *v, struct router_watch *rw)
{
	for (size_t k = 0; k < w->n_msg; k++)
		(void)router_watch_want(rw, v, w->msg[k], false);
	w->n_msg = 0;
}

/* A label of the override's signal named as the role's: equal ignoring case, or its first
 * letters ("P" for park); -1 when none. */
static int label_of(const struct role *ro, const char *choice)
{
	size_t n = strlen(choice);

	for (unsigned k = 0; n && k < ro->n_labels; k++)
		if (!strncasecmp(ro->labels[k], choice, n) && (!ro->labels[k][n] || n < 3))
			return (int)k;
	return -1;
}

/* The role value of an override's sample. */
static double override_value(const struct role *ro, const struct dbc_sample *s)
{
	double phys = dbc_value_as_double(s->value);
	int k;

	if (ro->kind == ROLE_KIND_NUMBER)
		return phys;
	if (s->choice && (k = label_of(ro, s->choice)) >= 0)
		return k;
	if (phys == 0)
		return 0;
	k = label_of(ro, "other");
	return k >= 0 ? k : 1;
}

bool role_watch_take(struct role_watch *w, const struct router_frame *f)
{
	bool took = false;

	for (size_t j = 0; j < f->n_samples; j++) {
		const struct dbc_sample *s = &f->samples[j];
		double v;

		if (w->via == ROLE_WATCH_SIGNAL && s->signal == w->sig) {
			v = override_value(role_at(w->role), s);
		} else {
			const struct rolemap_source *src = NULL;
			for (size_t k = 0; k < w->n_src && !src; k++)
				if (w->src[k]->sig == s->signal)
					src = w->src[k];
			if (!src)
				continue;
			/* value maps read the raw value: undo the scaling (raw values are
			 * integers), as lib/engine does with samples it did not decode */
			double phys = dbc_value_as_double(s->value);
			double fa = dbc_signal_factor(s->signal), o = dbc_signal_offset(s->signal);
			double raw = fa != 0 ? nearbyint((phys - o) / fa) : phys;
			if (rolemap_convert(src, raw, phys, &v) < 0 || !isfinite(v))
				continue;
		}
		w->seen = true;
		w->t_us = f->tf->t_us;
		w->value = v;
		took = true;
	}
	return took;
}

int role_watch_format(const struct role_watch *w, char *buf, size_t size)
{
	return role_value_format(role_at(w->role), w->value, buf, size);
}
