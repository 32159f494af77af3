/* SPDX-License-Identifier: MIT */
/*
 * The daemon's modules and what they share.
 *
 * struct core holds the services every module may use (the loop, the clock, the API
 * server, the configuration and the vehicle snapshot in force) and one member per
 * module. The module table (core.c) lists the modules in the order they are created;
 * each module's `new` finds the ones it needs before it in the table, `set_vehicle`
 * hands it a reloaded configuration and snapshot (each module copes with the others
 * being before or after it: it holds its own snapshot reference and reaches the ECUs by
 * name), `free` runs in the reverse order. A module's API methods are a table in its
 * struct module, registered here with the core as userdata: the one way methods are
 * registered.
 *
 * main.c creates a core with core_new(), reloads with core_set_vehicle() and ends with
 * core_free(); the in-process tests build a core of the modules they test, with a fake
 * clock and a scripted ECU behind `uds`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "uds_port.h"

struct actuator;
struct api_method;
struct api_server;
struct bus;
struct diagnosis;
struct discovery;
struct identity;
struct ev_loop;
struct live;
struct methods;
struct obd_requests;
struct policy;
struct records;
struct router;
struct scan;
struct uds_broker;
struct vehicle;

struct module;

struct core {
	struct ev_loop *loop;
	struct clock clock;
	struct api_server *api;
	struct config cfg;	  /* in force; a module's set_vehicle sees the new one */
	struct vehicle *vehicle;  /* in force (a reference) */
	int64_t start_us;	  /* monotonic */
	const struct module *const *modules; /* what core_new_modules created */

	/* the modules, in table order; NULL when absent or failed (each says so) */
	struct router *router;
	struct bus *bus;
	struct policy *policy;
	struct uds_broker *broker;
	struct uds_port uds;	  /* the broker as a port (tests: a scripted ECU) */
	struct records *records;  /* history, forwarder, metrics */
	struct methods *methods;
	struct obd_requests *obd;
	struct live *live;
	struct diagnosis *diagnosis;
	struct actuator *actuator;
	struct scan *scan;
	struct discovery *discovery;
	struct identity *identity;
};

struct module {
	const char *name;
	/* Creates the module's member of c; < 0 only when the daemon cannot run without it
	 * (a module that is merely unavailable logs why and returns 0). */
	int (*new)(struct core *c);
	/* A new snapshot, c->cfg already the new configuration. Never fails: a module that
	 * cannot use the new data logs why and serves `unavailable`. */
	void (*set_vehicle)(struct core *c, struct vehicle *v);
	/* Frees the member and clears it; also when new failed halfway. */
	void (*free)(struct core *c);
	const struct api_method *methods; /* userdata: the core */
	size_t n_methods;
};

/* The infrastructure modules (core.c); the others are declared in their headers. */
extern const struct module router_module, bus_module, broker_module;

/* The modules of the daemon, in order (NULL-terminated). */
extern const struct module *const core_modules[];

/* Every module of core_modules in order, with c->loop, clock, api (may be NULL: no
 * methods) and cfg set; c->vehicle becomes a reference of its own to v. On failure the
 * modules created are freed. Returns 0 or -errno. */
int core_new(struct core *c, struct vehicle *v);
/* Only the given modules (tests), same contract. */
int core_new_modules(struct core *c, const struct module *const *modules, struct vehicle *v);
/* A reload: c->cfg = *cfg, then every module's set_vehicle, then c->vehicle = v. */
void core_set_vehicle(struct core *c, const struct config *cfg, struct vehicle *v);
/* Reverse order; drops c->vehicle. */
void core_free(struct core *c);

/* Wall-clock µs of a monotonic time (the history outlives reboots). */
int64_t core_wall_of(const struct core *c, int64_t mono_us);
