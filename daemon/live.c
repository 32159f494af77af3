/* SPDX-License-Identifier: MIT */
#include "live.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bus.h"
#include "bodydiag/role.h"
#include "core.h"
#include "list.h"
#include "macro.h"
#include "role_watch.h"
#include "router.h"
#include "vehicle.h"

#define MAX_SUBSCRIBED_SIGNALS 64

/* One name subscribed to: a DBC signal, or a chain role read through the profile. */
struct live_signal {
	size_t msg; /* DBC message index */
	const struct dbc_signal *sig;
	bool has_last;
	struct dbc_value last;
	bool is_role;
	struct role_watch role; /* is_role */
	double last_role;
};

struct live_sub {
	struct list_head link;
	struct live *l;
	struct api_subscription *sub;
	bool closed;
	size_t n;
	struct live_signal sigs[];
};

struct live {
	struct core *c;
	struct vehicle *vehicle;
	struct router_watch *watch;
	struct list_head subs;
};

static json_t *value_json(struct dbc_value v)
{
	switch (v.type) {
	case DBC_VALUE_INT:
		return json_integer(v.i);
	case DBC_VALUE_UINT:
		return v.u <= INT64_MAX ? json_integer((json_int_t)v.u) : json_real((double)v.u);
	case DBC_VALUE_FLOAT:
		return json_real(v.f);
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return json_null();
}

static bool value_equal(struct dbc_value a, struct dbc_value b)
{
	if (a.type != b.type)
		return false;
	switch (a.type) {
	case DBC_VALUE_INT:
		return a.i == b.i;
	case DBC_VALUE_UINT:
		return a.u == b.u;
	case DBC_VALUE_FLOAT:
		return a.f == b.f || (a.f != a.f && b.f != b.f);
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return true;
}

static void live_close(void *data)
{
	struct live_sub *s = data;

	/* May run inside api_subscription_send(): only mark it, the sweep frees it. */
	s->closed = true;
}

static void sub_free(struct live_sub *s)
{
	list_del(&s->link);
	for (size_t k = 0; k < s->n; k++) {
		if (s->sigs[k].is_role)
			role_watch_unbind(&s->sigs[k].role, s->l->vehicle, s->l->watch);
		else
			(void)router_watch_want(s->l->watch, s->l->vehicle, s->sigs[k].msg, false);
	}
	api_subscription_free(s->sub);
	free(s);
}

static void sweep(struct live *l)
{
	struct list_head *i = l->subs.next;

	while (i != &l->subs) {
		struct live_sub *s = list_entry(i, struct live_sub, link);
		i = i->next;
		if (s->closed)
			sub_free(s);
	}
}

static void send_change(struct live_sub *s, struct live_signal *ls, int64_t t_us,
			const struct dbc_sample *smp)
{
	json_t *data;

	if (ls->has_last && value_equal(ls->last, smp->value))
		return;
	ls->has_last = true;
	ls->last = smp->value;
	data = json_pack("{s:I,s:s,s:o,s:s*,s:s*}", "t_us", (json_int_t)t_us, "signal",
			 dbc_signal_name(ls->sig), "value", value_json(smp->value), "label",
			 smp->choice, "unit",
			 *dbc_signal_unit(ls->sig) ? dbc_signal_unit(ls->sig) : NULL);
	/* A slow subscriber is sent "dropped" and closed by the server; live_close marks
	 * it and the sweep frees it. */
	api_subscription_send(s->sub, "live", data);
}

/* A role's value changed: its role value, label and unit, and the signal it came from. */
static void send_role_change(struct live_sub *s, struct live_signal *ls, int64_t t_us)
{
	const struct role *ro = role_at(ls->role.role);
	json_t *data;

	if (ls->has_last && ls->last_role == ls->role.value)
		return;
	ls->has_last = true;
	ls->last_role = ls->role.value;
	data = json_pack("{s:I,s:s,s:s,s:f,s:s*,s:s*,s:s}", "t_us", (json_int_t)t_us, "signal",
			 ro->name, "role", ro->name, "value", ls->role.value, "label",
			 role_label(ro, ls->role.value), "unit", *ro->unit ? ro->unit : NULL,
			 "source", ls->role.name);
	api_subscription_send(s->sub, "live", data);
}

static void on_frame(void *userdata, const struct router_frame *f)
{
	struct live *l = userdata;

	if (!f->samples)
		return;
	for (struct list_head *i = l->subs.next; i != &l->subs; i = i->next) {
		struct live_sub *s = list_entry(i, struct live_sub, link);

		for (size_t k = 0; k < s->n && !s->closed; k++) {
			if (s->sigs[k].is_role) {
				if (role_watch_take(&s->sigs[k].role, f))
					send_role_change(s, &s->sigs[k], f->tf->t_us);
				continue;
			}
			if (s->sigs[k].msg != f->hit.index)
				continue;
			for (size_t j = 0; j < f->n_samples; j++)
				if (f->samples[j].signal == s->sigs[k].sig) {
					send_change(s, &s->sigs[k], f->tf->t_us, &f->samples[j]);
					break;
				}
		}
	}
	sweep(l);
}

/* The bus as a subscriber needs to know it: changes come only while it is attached. */
static json_t *bus_json(const struct live *l)
{
	struct bus_stats st = {0};

	if (l->c->bus)
		bus_get_stats(l->c->bus, &st);
	return json_pack("{s:s,s:b,s:I}", "interface", l->c->cfg.can.interface, "attached",
			 st.attached, "frames", (json_int_t)st.frames);
}

void live_bus_event(struct live *l, bool attached, const char *detail)
{
	if (!l)
		return;
	for (struct list_head *i = l->subs.next; i != &l->subs; i = i->next) {
		struct live_sub *s = list_entry(i, struct live_sub, link);

		if (!s->closed)
			api_subscription_send(s->sub, "live_bus",
					      json_pack("{s:s,s:b,s:s}", "interface",
							l->c->cfg.can.interface, "attached", attached,
							"detail", detail));
	}
	sweep(l);
}

static void method_live_subscribe(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"signals", NULL};
	struct live *l = ((struct core *)userdata)->live;
	json_t *sigs = json_object_get(params, "signals"), *v, *names;
	struct live_sub *s;
	size_t i, n;
	int r;

	/* Subscribers that left while the bus was silent are still listed: free them now,
	 * so that subscribing and leaving in a loop cannot grow the list. */
	sweep(l);
	if (api_params_check(req, params, allowed) < 0)
		return;
	if (!json_is_array(sigs) || json_array_size(sigs) == 0 ||
	    json_array_size(sigs) > MAX_SUBSCRIBED_SIGNALS) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"signals\" must be an array of 1..%d signal or role names",
				 MAX_SUBSCRIBED_SIGNALS);
		return;
	}
	json_array_foreach(sigs, i, v) {
		if (!json_is_string(v)) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"signals\"[%zu] is not a string", i);
			return;
		}
	}
	if (!vehicle_dbc(l->vehicle)) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no DBC loaded");
		return;
	}
	n = json_array_size(sigs);
	s = calloc(1, sizeof(*s) + n * sizeof(s->sigs[0]));
	names = json_array();
	if (!s || !names) {
		free(s);
		json_decref(names);
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	s->l = l;
	json_array_foreach(sigs, i, v) {
		const char *name = json_string_value(v);
		unsigned role;
		/* a DBC signal by its name, else a chain role of the profile */
		if (vehicle_find_signal(l->vehicle, name, &s->sigs[i].msg, &s->sigs[i].sig) == 0) {
			json_array_append_new(names, json_string(dbc_signal_name(s->sigs[i].sig)));
			continue;
		}
		if (role_find(name, strlen(name), &role) < 0) {
			api_request_fail(req, API_ERROR_NOT_FOUND,
					 "no signal \"%s\" in the DBC, and no role of that name",
					 name);
			json_decref(names);
			free(s);
			return;
		}
		s->sigs[i].is_role = true;
		s->sigs[i].role.role = role;
		json_array_append_new(names, json_string(name));
	}
	r = api_request_subscribe(req, live_close, s, &s->sub);
	for (i = 0; r >= 0 && i < n; i++, s->n++) {
		struct live_signal *ls = &s->sigs[i];
		if (!ls->is_role) {
			r = router_watch_want(l->watch, l->vehicle, ls->msg, true);
			continue;
		}
		enum role_watch_via via = role_watch_bind(&ls->role, ls->role.role, NULL, l->vehicle,
							  l->watch);
		if (via != ROLE_WATCH_PROFILE) {
			const char *name = role_at(ls->role.role)->name;
			s->n++; /* its wants are given back with the others' */
			json_decref(names);
			list_init(&s->link);
			sub_free(s);
			api_request_fail(req, API_ERROR_NOT_FOUND, "role \"%s\": %s", name,
					 via == ROLE_WATCH_DID_ONLY
						 ? "the profile shows it only by DID, not on the bus"
						 : "the profile maps no signal to it");
			return;
		}
	}
	if (r < 0) {
		json_decref(names);
		list_init(&s->link);
		sub_free(s);
		api_request_fail(req, API_ERROR_INTERNAL, "cannot subscribe: %s", strerror(-r));
		return;
	}
	list_add_tail(&l->subs, &s->link);
	api_request_reply(req, json_pack("{s:o,s:o}", "subscribed", names, "bus", bus_json(l)));
}

static const struct api_method method_table[] = {
	{.name = "live.subscribe", .privilege = API_PRIVILEGE_READ,
	 .handler = method_live_subscribe, .summary = "DBC signal and chain role changes as events"},
};

static void end_all(struct live *l, const char *why)
{
	while (!list_empty(&l->subs)) {
		struct live_sub *s = list_first_entry(&l->subs, struct live_sub, link);

		if (!s->closed)
			api_subscription_send(s->sub, "live_end", json_pack("{s:s}", "reason", why));
		sub_free(s);
	}
}

static int live_new(struct core *c)
{
	static const struct router_watch_ops ops = {.frame = on_frame};
	struct live *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->c = c;
	l->vehicle = vehicle_ref(c->vehicle);
	list_init(&l->subs);
	c->live = l;
	return router_watch_new(c->router, &ops, l, &l->watch);
}

static void live_set_vehicle(struct core *c, struct vehicle *v)
{
	struct live *l = c->live;

	end_all(l, "configuration reloaded");
	router_watch_want_none(l->watch);
	vehicle_set(&l->vehicle, v);
}

static void live_free(struct core *c)
{
	struct live *l = c->live;

	if (!l)
		return;
	end_all(l, "daemon stopping");
	router_watch_free(l->watch);
	vehicle_unref(l->vehicle);
	free(l);
	c->live = NULL;
}

const struct module live_module = {
	.name = "live subscriptions",
	.new = live_new,
	.set_vehicle = live_set_vehicle,
	.free = live_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};
