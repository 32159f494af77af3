/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bus.h"
#include "core.h"
#include "log.h"
#include "macro.h"
#include "role_watch.h"
#include "router.h"
#include "uds_broker.h"
#include "vehicle.h"

static const char *const verdict_names[POLICY_VERDICT_MAX] = {
	[POLICY_GO] = "scanning",
	[POLICY_LISTEN_ONLY] = "listen_only",
	[POLICY_DISABLED] = "disabled",
	[POLICY_NOTHING] = "nothing_to_scan",
	[POLICY_BUSY] = "busy",
	[POLICY_DETACHED] = "detached",
	[POLICY_BUS_QUIET] = "bus_quiet",
	[POLICY_BATTERY_UNKNOWN] = "battery_unknown",
	[POLICY_BATTERY_LOW] = "battery_low",
	[POLICY_READ_BATTERY] = "reading_battery",
	[POLICY_NOT_DUE] = "waiting",
	[POLICY_RATE_LIMITED] = "rate_limited",
	[POLICY_NOT_STATIONARY] = "not_stationary",
};

static const char *const activity_names[POLICY_ACTIVITY_MAX] = {
	[POLICY_CLIENT] = "client",
	[POLICY_GUIDED_TEST] = "guided_test",
	[POLICY_ACTUATOR_TEST] = "actuator_test",
	[POLICY_SCAN] = "scan",
	[POLICY_FUNCTIONAL] = "functional",
	[POLICY_DISCOVERY] = "discovery",
	[POLICY_IDENTIFY] = "identify",
};

/* What an activity that holds the bus is doing, for the reasons of a refusal. */
static const char *running_text(enum policy_activity a)
{
	static const char *const text[POLICY_ACTIVITY_MAX] = {
		[POLICY_GUIDED_TEST] = "a guided test is running",
		[POLICY_ACTUATOR_TEST] = "an actuator test is running",
		[POLICY_SCAN] = "a background scan is running",
		[POLICY_DISCOVERY] = "an ECU discovery is running",
		[POLICY_IDENTIFY] = "the VIN is being read",
	};
	return (unsigned)a < POLICY_ACTIVITY_MAX && text[a] ? text[a] : "another activity is running";
}

const char *policy_verdict_name(enum policy_verdict v)
{
	return (unsigned)v < POLICY_VERDICT_MAX ? verdict_names[v] : NULL;
}

const char *policy_activity_name(enum policy_activity a)
{
	return (unsigned)a < POLICY_ACTIVITY_MAX ? activity_names[a] : NULL;
}

enum policy_verdict policy_decide_scan(const struct policy_inputs *in)
{
	int64_t interval_us = (int64_t)in->interval_ms * 1000;
	int64_t quiet_us = (int64_t)in->bus_quiet_ms * 1000;
	bool due = !in->last_scan_us || in->now_us - in->last_scan_us >= interval_us;

	if (in->listen_only)
		return POLICY_LISTEN_ONLY;
	if (!in->enabled)
		return POLICY_DISABLED;
	if (!in->n_targets)
		return POLICY_NOTHING;
	if (in->busy)
		return POLICY_BUSY;
	if (!in->attached)
		return POLICY_DETACHED;
	/* A bus never heard is asleep (or empty): a request would be the first frame on it. */
	if (!in->last_frame_us || in->now_us - in->last_frame_us >= quiet_us)
		return POLICY_BUS_QUIET;
	if (in->battery_low_v > 0) {
		/* A broadcast signal is refreshed all the time; a value read on demand is
		 * as current as the scans it guards. */
		int64_t valid_us = in->battery_on_demand ? interval_us : quiet_us;
		bool fresh = in->battery_known && in->now_us - in->battery_us < valid_us &&
			     isfinite(in->battery_v);

		if (!fresh) {
			if (!in->battery_on_demand)
				return POLICY_BATTERY_UNKNOWN;
			if (!due)
				return POLICY_NOT_DUE;
			if (in->last_battery_request_us &&
			    in->now_us - in->last_battery_request_us < interval_us)
				return POLICY_BATTERY_UNKNOWN;
			return POLICY_READ_BATTERY;
		}
		if (in->battery_v < in->battery_low_v)
			return POLICY_BATTERY_LOW;
	}
	return due ? POLICY_GO : POLICY_NOT_DUE;
}

int policy_verdict_format(enum policy_verdict v, const struct policy_inputs *in, char *buf,
			  size_t size)
{
	switch (v) {
	case POLICY_GO:
		return snprintf(buf, size, "scanning");
	case POLICY_LISTEN_ONLY:
		return snprintf(buf, size, "listen-only ([can] listen_only)");
	case POLICY_DISABLED:
		return snprintf(buf, size, "background scans disabled");
	case POLICY_NOTHING:
		return snprintf(buf, size, "no profile ECU with DTCs");
	case POLICY_BUSY:
		return snprintf(buf, size, "%s", running_text(in->busy_with));
	case POLICY_DETACHED:
		return snprintf(buf, size, "bus detached");
	case POLICY_BUS_QUIET:
		if (!in->last_frame_us)
			return snprintf(buf, size, "bus quiet (no frame seen)");
		return snprintf(buf, size, "bus quiet for %lld s",
				(long long)((in->now_us - in->last_frame_us) / 1000000));
	case POLICY_BATTERY_UNKNOWN:
		return snprintf(buf, size, "battery voltage unknown");
	case POLICY_BATTERY_LOW:
		return snprintf(buf, size, "battery %.2f V below %.2f V", in->battery_v,
				in->battery_low_v);
	case POLICY_READ_BATTERY:
		return snprintf(buf, size, "reading the battery voltage (OBD PID 0x42)");
	case POLICY_NOT_DUE:
		return snprintf(buf, size, "waiting for the next scan");
	case POLICY_RATE_LIMITED:
		return snprintf(buf, size, "one actuator test per %.0f s",
				ACTUATOR_MIN_INTERVAL_US / 1e6);
	case POLICY_NOT_STATIONARY:
		return snprintf(buf, size, "vehicle not known to be stationary");
	case POLICY_VERDICT_MAX:
		break;
	}
	return snprintf(buf, size, "?");
}

/* ---- the runtime ---- */

enum {
	W_SPEED,
	W_GEAR,
	W_BATTERY,
	W_MAX,
};

/* The roles the policy reads, and the configuration keys that may name a DBC signal for
 * them instead of the profile's mapping. */
static const char *const watch_role[W_MAX] = {"speed", "gear", "battery_voltage"};
static const char *const watch_key[W_MAX] = {"[safety] speed_signal", "[safety] gear_signal",
					     "[scan] battery_signal"};

struct policy {
	struct core *c;
	struct router_watch *watch;
	struct vehicle *vehicle;
	unsigned running[POLICY_ACTIVITY_MAX];
	int64_t last_foreign_us; /* the last data frame not sent by this host */
	struct role_watch w[W_MAX];
	bool overridden[W_MAX]; /* the configuration names a signal */
	bool obd_known;		 /* battery read on demand */
	double obd_v;
	int64_t obd_us;
	int64_t last_actuator_us; /* 0 = never */
	int64_t last_functional_us; /* 0 = never */
	struct timer idle;	    /* back to listen-only mode after the last transmission */
	struct list_head waiters;   /* policy_waiter: for an activity's end */
	struct timer wake;	    /* runs the waiters whose activity ended, at the next turn */
};

static void on_idle(struct timer *t);
static void on_wake(struct timer *t);

static void on_frame(void *userdata, const struct router_frame *f)
{
	struct policy *p = userdata;

	/* Our own requests come back to the bus listener; they must not count as the car
	 * being awake, or a scan would keep a sleeping bus "awake" by itself. */
	if (!f->local && f->hit.kind != ROUTE_ERROR && f->tf->t_us > p->last_foreign_us)
		p->last_foreign_us = f->tf->t_us;
	for (size_t k = 0; k < W_MAX; k++)
		role_watch_take(&p->w[k], f);
}

static void resolve(struct policy *p, struct vehicle *v)
{
	const struct config *cfg = &p->c->cfg;
	const char *override[W_MAX] = {cfg->safety.speed_signal, cfg->safety.gear_signal,
				       cfg->scan.battery_signal};

	router_watch_want_none(p->watch);
	for (size_t k = 0; k < W_MAX; k++) {
		unsigned role;
		if (role_find(watch_role[k], strlen(watch_role[k]), &role) < 0)
			continue;
		p->overridden[k] = override[k][0] != '\0';
		if (role_watch_bind(&p->w[k], role, override[k], v, p->watch) == ROLE_WATCH_NONE &&
		    p->overridden[k] && vehicle_dbc(v))
			log_warning("%s %s is not in the DBC: %s unknown", watch_key[k], override[k],
				    watch_role[k]);
	}
	/* Values of the old data source do not carry over. */
	p->obd_known = false;
}

/* The battery is read on demand (OBD PID 0x42) when nothing on the bus shows it. */
static bool battery_on_demand(const struct policy *p)
{
	return !p->overridden[W_BATTERY] && p->w[W_BATTERY].via != ROLE_WATCH_PROFILE;
}

static int policy_new(struct core *c)
{
	static const struct router_watch_ops ops = {.frame = on_frame};
	struct policy *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->c = c;
	c->policy = p;
	timer_init(&p->idle, &c->clock, on_idle);
	timer_init(&p->wake, &c->clock, on_wake);
	list_init(&p->waiters);
	r = router_watch_new(c->router, &ops, p, &p->watch);
	if (r < 0)
		return r;
	resolve(p, c->vehicle);
	return 0;
}

static void policy_set_vehicle(struct core *c, struct vehicle *v)
{
	struct policy *p = c->policy;

	resolve(p, v);
}

static void policy_free(struct core *c)
{
	struct policy *p = c->policy;

	if (!p)
		return;
	timer_stop(&p->idle);
	timer_stop(&p->wake);
	/* owners cancel their waiters before the policy goes; unlink what is left */
	while (!list_empty(&p->waiters))
		list_del(p->waiters.next);
	router_watch_free(p->watch);
	free(p);
	c->policy = NULL;
}

static bool listen_only(const struct policy *p)
{
	return config_never_transmit(&p->c->cfg);
}

enum bus_listen_only policy_bus_listen_only(const struct config *cfg)
{
	switch (cfg->can.listen_only) {
	case CONFIG_LISTEN_ONLY_HARD:
		return BUS_LISTEN_ONLY_ALWAYS;
	case CONFIG_LISTEN_ONLY_YES:
		/* nothing is sent anyway; the controller stays as the system set it */
		return BUS_LISTEN_ONLY_LEAVE;
	case CONFIG_LISTEN_ONLY_NO:
	case CONFIG_LISTEN_ONLY_MAX:
		break;
	}
	return cfg->can.idle_listen_only ? BUS_LISTEN_ONLY_IDLE : BUS_LISTEN_ONLY_LEAVE;
}

/* Does something still transmit or hold the bus (a session, a test, a scan)? */
static bool transmitting(const struct policy *p)
{
	for (int k = 0; k < POLICY_ACTIVITY_MAX; k++)
		if (p->running[k])
			return true;
	return p->c->broker && !uds_broker_idle(p->c->broker);
}

static void on_idle(struct timer *t)
{
	struct policy *p = container_of(t, struct policy, idle);
	int r;

	if (policy_bus_listen_only(&p->c->cfg) != BUS_LISTEN_ONLY_IDLE || !p->c->bus)
		return;
	if (transmitting(p)) {
		timer_start(&p->idle, (int64_t)p->c->cfg.can.idle_after_ms * 1000);
		return;
	}
	/* The broker's sockets first: a socket bound on a link that goes down and up
	 * reports it as an error, and nothing will be sent on them until the next request
	 * opens them again. */
	if (p->c->broker)
		uds_broker_close_idle(p->c->broker);
	r = bus_set_listen_only(p->c->bus, true);
	if (r < 0)
		log_warning_errno(-r, "the controller stays out of listen-only mode");
	else
		log_debug("controller back in listen-only mode");
}

int policy_transmit(struct policy *p, char *why, size_t size)
{
	int r;

	if (listen_only(p)) {
		snprintf(why, size, "listen-only: [can] listen_only = %s, nothing is sent",
			 config_listen_only_name(p->c->cfg.can.listen_only));
		return -EPERM;
	}
	if (!p->c->bus)
		return 0;
	r = bus_set_listen_only(p->c->bus, false);
	if (r < 0 && r != -ENETDOWN) {
		struct bus_stats st;

		bus_get_stats(p->c->bus, &st);
		snprintf(why, size, "%s", st.mode_error[0] ? st.mode_error : strerror(-r));
		return r;
	}
	if (policy_bus_listen_only(&p->c->cfg) == BUS_LISTEN_ONLY_IDLE)
		timer_start(&p->idle, (int64_t)p->c->cfg.can.idle_after_ms * 1000);
	return 0;
}

/* Why watch k has no fresh value now (NULL: it has one). */
static const char *unknown(const struct policy *p, size_t k, int64_t now, char *buf, size_t cap)
{
	const struct role_watch *w = &p->w[k];
	const char *role = watch_role[k];

	switch (w->via) {
	case ROLE_WATCH_NONE:
		if (p->overridden[k])
			snprintf(buf, cap, "vehicle %s unknown: no signal %s in the DBC (%s)", role,
				 w->name, watch_key[k]);
		else
			snprintf(buf, cap,
				 "vehicle %s unknown: the profile maps no %s role ([role %s]) and %s "
				 "is not set",
				 role, role, role, watch_key[k]);
		return buf;
	case ROLE_WATCH_DID_ONLY:
		snprintf(buf, cap,
			 "vehicle %s unknown: the profile shows %s only by DID, not on the bus", role,
			 role);
		return buf;
	case ROLE_WATCH_PROFILE:
	case ROLE_WATCH_SIGNAL:
	case ROLE_WATCH_VIA_MAX:
		break;
	}
	if (!w->seen || now - w->t_us > ACTUATOR_SPEED_MAX_AGE_US) {
		snprintf(buf, cap, "vehicle %s unknown: no %s on the bus within the last %.0f s", role,
			 w->name, ACTUATOR_SPEED_MAX_AGE_US / 1e6);
		return buf;
	}
	return NULL;
}

/*
 * Why the vehicle is not known to be stationary now, or NULL when it is: the speed and
 * the gear, read through the profile's roles (or the [safety] signals), both fresh, 0
 * and park.
 */
static const char *stationary(const struct policy *p, int64_t now, char *buf, size_t cap)
{
	const struct role_watch *s = &p->w[W_SPEED], *g = &p->w[W_GEAR];
	char v[64];

	if (unknown(p, W_SPEED, now, buf, cap))
		return buf;
	if (s->value != 0.0) {
		role_watch_format(s, v, sizeof(v));
		snprintf(buf, cap, "vehicle not stationary: speed = %s (%s)", v, s->name);
		return buf;
	}
	if (unknown(p, W_GEAR, now, buf, cap))
		return buf;
	if (g->value != 0.0) { /* the first label of gear is park */
		role_watch_format(g, v, sizeof(v));
		snprintf(buf, cap, "vehicle not in park: gear = %s (%s)", v, g->name);
		return buf;
	}
	return NULL;
}

/* Which running activity stops a from starting, or -1. */
static int interlock(const struct policy *p, enum policy_activity a)
{
	static const bool blocks[POLICY_ACTIVITY_MAX][POLICY_ACTIVITY_MAX] = {
		/* [a][running]: a may not start while running holds the bus */
		[POLICY_CLIENT] = {[POLICY_DISCOVERY] = true},
		[POLICY_GUIDED_TEST] = {[POLICY_ACTUATOR_TEST] = true, [POLICY_DISCOVERY] = true},
		[POLICY_ACTUATOR_TEST] = {[POLICY_GUIDED_TEST] = true, [POLICY_SCAN] = true,
					  [POLICY_DISCOVERY] = true, [POLICY_IDENTIFY] = true},
		[POLICY_SCAN] = {[POLICY_GUIDED_TEST] = true, [POLICY_ACTUATOR_TEST] = true,
				 [POLICY_DISCOVERY] = true, [POLICY_IDENTIFY] = true},
		[POLICY_FUNCTIONAL] = {[POLICY_ACTUATOR_TEST] = true, [POLICY_DISCOVERY] = true},
		/* probes on every id: alone on the bus */
		[POLICY_DISCOVERY] = {[POLICY_GUIDED_TEST] = true, [POLICY_ACTUATOR_TEST] = true,
				      [POLICY_SCAN] = true, [POLICY_DISCOVERY] = true,
				      [POLICY_IDENTIFY] = true},
		[POLICY_IDENTIFY] = {[POLICY_ACTUATOR_TEST] = true, [POLICY_DISCOVERY] = true,
				     [POLICY_IDENTIFY] = true},
	};

	for (int k = 0; k < POLICY_ACTIVITY_MAX; k++)
		if (blocks[a][k] && p->running[k])
			return k;
	return -1;
}

static enum policy_verdict check(const struct policy *p, enum policy_activity a, int64_t now,
				 char *why, size_t size)
{
	int k;

	if (listen_only(p)) {
		snprintf(why, size,
			 "refused: listen-only ([can] listen_only = %s): the daemon never transmits; "
			 "nothing was sent",
			 config_listen_only_name(p->c->cfg.can.listen_only));
		return POLICY_LISTEN_ONLY;
	}
	k = interlock(p, a);
	if (k >= 0) {
		snprintf(why, size, "%s", running_text((enum policy_activity)k));
		return POLICY_BUSY;
	}
	if (a == POLICY_CLIENT)
		return POLICY_GO;
	/* The daemon's own VIN read must not be what wakes a sleeping car. */
	if (a == POLICY_IDENTIFY) {
		struct bus_stats st = {0};
		int64_t quiet_us = (int64_t)p->c->cfg.scan.bus_quiet_ms * 1000;

		if (p->c->bus)
			bus_get_stats(p->c->bus, &st);
		if (!st.attached) {
			snprintf(why, size, "bus detached");
			return POLICY_DETACHED;
		}
		if (!p->last_foreign_us || now - p->last_foreign_us >= quiet_us) {
			snprintf(why, size, "bus quiet: waiting for the car to talk first");
			return POLICY_BUS_QUIET;
		}
	}
	if (a == POLICY_FUNCTIONAL && p->last_functional_us &&
	    now - p->last_functional_us < FUNCTIONAL_MIN_INTERVAL_US) {
		snprintf(why, size, "one functional request per %.1f s: retry in %.1f s",
			 FUNCTIONAL_MIN_INTERVAL_US / 1e6,
			 (double)(p->last_functional_us + FUNCTIONAL_MIN_INTERVAL_US - now) / 1e6);
		return POLICY_RATE_LIMITED;
	}
	if (a != POLICY_ACTUATOR_TEST)
		return POLICY_GO;
	if (p->last_actuator_us && now - p->last_actuator_us < ACTUATOR_MIN_INTERVAL_US) {
		snprintf(why, size, "one actuator test per %.0f s: retry in %.1f s",
			 ACTUATOR_MIN_INTERVAL_US / 1e6,
			 (double)(p->last_actuator_us + ACTUATOR_MIN_INTERVAL_US - now) / 1e6);
		return POLICY_RATE_LIMITED;
	}
	if (stationary(p, now, why, size))
		return POLICY_NOT_STATIONARY;
	return POLICY_GO;
}

enum policy_verdict policy_begin(struct policy *p, enum policy_activity a, char *why, size_t size)
{
	int64_t now = clock_now(&p->c->clock);
	enum policy_verdict v = check(p, a, now, why, size);

	if (v != POLICY_GO || a == POLICY_CLIENT)
		return v;
	if (a == POLICY_FUNCTIONAL) {
		/* one shot: nothing is held until a policy_end */
		p->last_functional_us = now;
		return v;
	}
	if (a == POLICY_ACTUATOR_TEST)
		p->last_actuator_us = now;
	p->running[a]++;
	return POLICY_GO;
}

void policy_end(struct policy *p, enum policy_activity a)
{
	if ((unsigned)a < POLICY_ACTIVITY_MAX && p->running[a] > 0 && --p->running[a] == 0 &&
	    !list_empty(&p->waiters))
		timer_start(&p->wake, 0);
}

void policy_waiter_init(struct policy_waiter *w, void (*fn)(struct policy_waiter *w))
{
	w->fn = fn;
	w->activity = POLICY_ACTIVITY_MAX;
	list_init(&w->link);
}

void policy_wait_end(struct policy *p, enum policy_activity a, struct policy_waiter *w)
{
	list_del(&w->link);
	w->activity = a;
	list_add_tail(&p->waiters, &w->link);
	if (!policy_running(p, a))
		timer_start(&p->wake, 0);
}

void policy_wait_cancel(struct policy_waiter *w)
{
	list_del(&w->link);
}

bool policy_waiting(const struct policy_waiter *w)
{
	return !list_empty(&w->link);
}

static void on_wake(struct timer *t)
{
	struct policy *p = container_of(t, struct policy, wake);
	struct list_head ready;

	/* Move the ready ones out first: a callback may queue itself (or another) again,
	 * or start the activity that others still wait for. */
	list_init(&ready);
	for (struct list_head *n = p->waiters.next, *next; n != &p->waiters; n = next) {
		struct policy_waiter *w = list_entry(n, struct policy_waiter, link);
		next = n->next;
		if (!policy_running(p, w->activity)) {
			list_del(n);
			list_add_tail(&ready, n);
		}
	}
	while (!list_empty(&ready)) {
		struct policy_waiter *w = list_first_entry(&ready, struct policy_waiter, link);
		list_del(&w->link);
		w->fn(w);
	}
}

bool policy_running(const struct policy *p, enum policy_activity a)
{
	return (unsigned)a < POLICY_ACTIVITY_MAX && p->running[a] > 0;
}

void policy_note_battery(struct policy *p, double volts, int64_t t_us)
{
	p->obd_known = true;
	p->obd_v = volts;
	p->obd_us = t_us;
}

double policy_battery(const struct policy *p, const char **ret_source, const char **ret_name)
{
	const struct role_watch *b = &p->w[W_BATTERY];
	bool on_demand = battery_on_demand(p);

	if (ret_source)
		*ret_source = on_demand ? "obd" : "signal";
	if (ret_name)
		*ret_name = on_demand ? NULL : b->name;
	if (on_demand)
		return p->obd_known ? p->obd_v : NAN;
	return b->via != ROLE_WATCH_NONE && b->seen ? b->value : NAN;
}

enum policy_verdict policy_scan_check(struct policy *p, const struct policy_scan_state *s,
				      struct policy_inputs *ret_in)
{
	const struct config *cfg = &p->c->cfg;
	const struct role_watch *b = &p->w[W_BATTERY];
	struct bus_stats st = {0};
	bool on_demand = battery_on_demand(p);
	int busy = interlock(p, POLICY_SCAN);

	if (p->c->bus)
		bus_get_stats(p->c->bus, &st);
	*ret_in = (struct policy_inputs){
		.listen_only = listen_only(p),
		.enabled = cfg->scan.enabled,
		.busy = busy >= 0,
		.busy_with = busy >= 0 ? (enum policy_activity)busy : POLICY_CLIENT,
		.attached = p->c->bus && st.attached,
		.now_us = clock_now(&p->c->clock),
		.last_frame_us = p->last_foreign_us,
		.last_scan_us = s->last_scan_us,
		.interval_ms = cfg->scan.interval_ms,
		.bus_quiet_ms = cfg->scan.bus_quiet_ms,
		.battery_low_v = cfg->scan.battery_low_v,
		.battery_on_demand = on_demand,
		.battery_known = on_demand ? p->obd_known : b->via != ROLE_WATCH_NONE && b->seen,
		.battery_v = on_demand ? p->obd_v : b->value,
		.battery_us = on_demand ? p->obd_us : b->t_us,
		.last_battery_request_us = s->last_battery_request_us,
		.n_targets = s->n_targets,
	};
	return policy_decide_scan(ret_in);
}

json_t *policy_status_json(struct policy *p)
{
	static const enum policy_activity shown[] = {POLICY_GUIDED_TEST, POLICY_ACTUATOR_TEST};
	const struct config *cfg = &p->c->cfg;
	int64_t now = clock_now(&p->c->clock);
	int64_t quiet_us = (int64_t)cfg->scan.bus_quiet_ms * 1000;
	struct bus_stats st = {0};
	json_t *o, *running = json_array(), *refused = json_object();
	const char *bus;

	if (p->c->bus)
		bus_get_stats(p->c->bus, &st);
	if (!st.attached)
		bus = "detached";
	else if (!p->last_foreign_us || now - p->last_foreign_us >= quiet_us)
		bus = "quiet";
	else
		bus = "awake";
	for (int k = 0; k < POLICY_ACTIVITY_MAX; k++)
		if (p->running[k])
			json_array_append_new(running, json_string(activity_names[k]));
	for (size_t i = 0; i < ARRAY_SIZE(shown); i++) {
		char why[192];

		json_object_set_new(refused, activity_names[shown[i]],
				    check(p, shown[i], now, why, sizeof(why)) == POLICY_GO
					    ? json_null()
					    : json_string(why));
	}
	o = json_pack("{s:b, s:s, s:o, s:s, s:o}", "listen_only", listen_only(p), "transmit",
		      listen_only(p) ? "never" : cfg->scan.enabled ? "clients_and_scans" : "clients",
		      "running", running, "bus", bus, "refused", refused);
	return o;
}

const struct module policy_module = {
	.name = "transmit policy",
	.new = policy_new,
	.set_vehicle = policy_set_vehicle,
	.free = policy_free,
};
