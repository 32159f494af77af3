/* SPDX-License-Identifier: MIT */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actuator.h"
#include "bodydiag/profile.h"
#include "api.h"
#include "bus.h"
#include "diagnosis.h"
#include "discovery.h"
#include "identity.h"
#include "live.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "obd_request.h"
#include "policy.h"
#include "records.h"
#include "router.h"
#include "scan.h"
#include "uds_broker.h"
#include "vehicle.h"

/* ---- the router: every frame, exchange and mark ---- */

static int router_module_new(struct core *c)
{
	int r = router_new(&c->router);

	if (r >= 0)
		r = router_set_vehicle(c->router, c->vehicle);
	return r;
}

static void router_module_set_vehicle(struct core *c, struct vehicle *v)
{
	int r = router_set_vehicle(c->router, v);

	if (r < 0)
		log_error_errno(-r, "reload: frames still classified with the old vehicle data");
}

static void router_module_free(struct core *c)
{
	c->router = router_free(c->router);
}

const struct module router_module = {
	.name = "router",
	.new = router_module_new,
	.set_vehicle = router_module_set_vehicle,
	.free = router_module_free,
};

/* ---- the bus: frames into the router ---- */

static void on_bus_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct core *c = userdata;

	router_feed(c->router, f);
}

static void on_bus_event(void *userdata, enum bus_event ev, const char *detail)
{
	struct core *c = userdata;
	char field[64];
	const char *const fields[] = {field, NULL};

	snprintf(field, sizeof(field), "BODYDIAG_BUS_EVENT=%s", bus_event_name(ev));
	log_full(ev == BUS_EVENT_DETACHED || ev == BUS_EVENT_CONFIG_FAILED ? LOG_WARNING : LOG_INFO,
		 0, fields, "%s: %s: %s", c->cfg.can.interface, bus_event_name(ev), detail);
	if (c->records)
		records_bus_event(c->records, c->cfg.can.interface, ev, detail);
	if (ev == BUS_EVENT_ATTACHED || ev == BUS_EVENT_DETACHED) {
		live_bus_event(c->live, ev == BUS_EVENT_ATTACHED, detail);
		identity_bus_event(c->identity, ev == BUS_EVENT_ATTACHED);
	}
}

static int bus_module_new(struct core *c)
{
	static const struct bus_ops ops = {.frame = on_bus_frame, .event = on_bus_event};
	bool detect = c->cfg.can.bitrate == CONFIG_BITRATE_AUTO;
	const struct profile *prof = vehicle_profile(c->vehicle);
	struct bus_opts o = {
		.ifname = c->cfg.can.interface,
		.configure_link = (c->cfg.can.bitrate != 0 && !detect) || c->cfg.can.restart_ms != 0,
		.bitrate = detect ? 0 : c->cfg.can.bitrate,
		.restart_ms = c->cfg.can.restart_ms ? (int)c->cfg.can.restart_ms : -1,
		.restart_bus_off = true,
		.restart_holdoff_s = 1.0,
		.error_frames = true,
		.can_fd = c->cfg.can.fd,
		.listen_only = policy_bus_listen_only(&c->cfg),
		.detect_bitrate = detect,
		.detect_first = prof ? profile_bitrate(prof) : 0,
	};
	char why[256];
	int r;

	/* A wrong interface is a configuration error, not an adapter still to come. */
	if (bus_check_interface(c->cfg.can.interface, why, sizeof(why)) == -EMEDIUMTYPE) {
		log_error("%s", why);
		return -EMEDIUMTYPE;
	}
	vehicle_filters(c->vehicle, &o.filters, &o.n_filters);
	r = bus_new(c->loop, &o, &ops, c, &c->bus);
	if (r < 0) {
		/* Without netlink there is no bus; the API and the broker still work. */
		log_warning_errno(-r, "cannot watch %s, live data unavailable", c->cfg.can.interface);
		c->bus = NULL;
	}
	return 0;
}

static void bus_module_set_vehicle(struct core *c, struct vehicle *v)
{
	const struct can_raw_filter *f;
	size_t n;
	int r;

	if (!c->bus)
		return;
	vehicle_filters(v, &f, &n);
	r = bus_set_filters(c->bus, f, n);
	if (r < 0)
		log_warning_errno(-r, "reload: bus filters not changed");
}

static void bus_module_free(struct core *c)
{
	c->bus = bus_free(c->bus);
}

const struct module bus_module = {
	.name = "bus",
	.new = bus_module_new,
	.set_vehicle = bus_module_set_vehicle,
	.free = bus_module_free,
};

/* ---- the UDS broker: requests out, exchanges into the router ---- */

static int broker_gate(void *userdata, char *why, size_t size)
{
	return policy_transmit(userdata, why, size);
}

static void broker_config_of(const struct core *c, struct uds_broker_config *ret)
{
	uds_broker_config_init(ret);
	ret->ifname = c->cfg.can.interface;
	ret->p2_cap_ms = (uint32_t)c->cfg.uds.p2_cap_ms;
	ret->p2star_cap_ms = (uint32_t)c->cfg.uds.p2star_cap_ms;
	ret->max_pending = c->cfg.uds.max_pending;
	ret->max_busy = c->cfg.uds.max_busy;
	ret->rate_limit = c->cfg.uds.rate_limit;
	ret->router = c->router;
	if (c->policy) {
		ret->gate = broker_gate;
		ret->gate_userdata = c->policy;
	}
}

static int broker_ecus(struct vehicle *v, struct uds_broker_ecu_config *ecus)
{
	size_t n = vehicle_ecu_count(v);

	for (size_t i = 0; i < n; i++)
		vehicle_broker_ecu(v, i, &ecus[i]);
	return (int)n;
}

static int broker_module_new(struct core *c)
{
	struct uds_broker_ecu_config ecus[UDS_BROKER_MAX_ECUS];
	struct uds_broker_config bc;
	int n = broker_ecus(c->vehicle, ecus), r;

	broker_config_of(c, &bc);
	r = uds_broker_new(c->loop, &bc, ecus, (size_t)n, &c->broker);
	if (r < 0) {
		log_error_errno(-r, "cannot create the UDS broker");
		return r;
	}
	uds_broker_port(c->broker, &c->uds);
	return 0;
}

static void broker_module_set_vehicle(struct core *c, struct vehicle *v)
{
	struct uds_broker_ecu_config ecus[UDS_BROKER_MAX_ECUS];
	struct uds_broker_config bc;
	int n = broker_ecus(v, ecus), r;

	broker_config_of(c, &bc);
	uds_broker_set_tuning(c->broker, &bc);
	r = uds_broker_set_ecus(c->broker, ecus, (size_t)n);
	if (r < 0)
		log_error_errno(-r, "reload: the broker keeps the old ECUs");
}

static void broker_module_free(struct core *c)
{
	c->broker = uds_broker_free(c->broker);
	uds_broker_port(NULL, &c->uds);
}

const struct module broker_module = {
	.name = "broker",
	.new = broker_module_new,
	.set_vehicle = broker_module_set_vehicle,
	.free = broker_module_free,
};

/* ---- the table ---- */

const struct module *const core_modules[] = {
	&router_module,	 &bus_module,	      &policy_module,	&broker_module,
	&records_module, &methods_module,     &obd_module,	&live_module,	&diagnosis_module,
	&actuator_module, &scan_module,	      &discovery_module, &identity_module, NULL,
};

static void free_from(struct core *c, size_t n)
{
	while (n-- > 0) {
		const struct module *m = c->modules[n];

		for (size_t k = 0; c->api && k < m->n_methods; k++)
			api_server_unregister(c->api, m->methods[k].name);
		m->free(c);
	}
}

static int register_methods(struct core *c, const struct module *m)
{
	for (size_t k = 0; k < m->n_methods; k++) {
		struct api_method am = m->methods[k];
		int r;

		am.userdata = c;
		r = api_server_register(c->api, &am);
		if (r < 0) {
			log_error_errno(-r, "%s: cannot register the method %s", m->name, am.name);
			while (k-- > 0)
				api_server_unregister(c->api, m->methods[k].name);
			return r;
		}
	}
	return 0;
}

int core_new_modules(struct core *c, const struct module *const *modules, struct vehicle *v)
{
	size_t i;
	int r = 0;

	c->modules = modules;
	c->vehicle = vehicle_ref(v);
	c->start_us = clock_now(&c->clock);
	for (i = 0; modules[i]; i++) {
		r = modules[i]->new(c);
		if (r >= 0 && c->api)
			r = register_methods(c, modules[i]);
		else if (r < 0)
			log_error_errno(-r, "cannot start the %s", modules[i]->name);
		if (r < 0) {
			modules[i]->free(c);
			break;
		}
	}
	if (r < 0) {
		free_from(c, i);
		c->vehicle = vehicle_unref(c->vehicle);
	}
	return r;
}

int core_new(struct core *c, struct vehicle *v)
{
	return core_new_modules(c, core_modules, v);
}

void core_set_vehicle(struct core *c, const struct config *cfg, struct vehicle *v)
{
	c->cfg = *cfg;
	for (size_t i = 0; c->modules[i]; i++)
		c->modules[i]->set_vehicle(c, v);
	vehicle_set(&c->vehicle, v);
}

void core_free(struct core *c)
{
	size_t n = 0;

	while (c->modules && c->modules[n])
		n++;
	free_from(c, n);
	c->vehicle = vehicle_unref(c->vehicle);
}

int64_t core_wall_of(const struct core *c, int64_t mono_us)
{
	return mono_us + clock_now_us(CLOCK_REALTIME) - clock_now(&c->clock);
}
