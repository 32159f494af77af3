/* SPDX-License-Identifier: MIT */
/*
 * ECU discovery in the daemon: lib/discover's planner (the same as `bodydiag discover`)
 * over the daemon's loop, on the daemon's interface. A run owns its sockets: a CAN_RAW
 * socket with error frames (the probes out, everything the bus says in) and one kernel
 * ISO-TP socket for the ECU being identified. Every frame and PDU it sends is first let
 * through by the transmit policy (policy_transmit(): listen-only refuses, the controller
 * leaves listen-only mode); the planner bounds the rate and the time and stops at the
 * first error frame that speaks of the bus (bus error, bus-off, no ACK).
 *
 * Two users: the admin method `discover` (a person asked; held as POLICY_DISCOVERY, so
 * nothing else transmits meanwhile, never started by the daemon on its own), and the VIN
 * read at attach (identity.c: functional ranges only, the VIN reads only, held as
 * POLICY_IDENTIFY). The caller holds the policy's activity for the run's life.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "bodydiag/discover.h"

struct core;
struct discovery_run;

/* The run is over (done, time bound, bus error, send error); the planner's results stay
 * readable through discovery_run_plan() until the run is freed (which the callback may
 * do). */
typedef void (*discovery_done_fn)(void *userdata, struct discovery_run *run);

/* Starts a run of cfg (copied) on c's interface. Returns 0, -EINVAL (a bad config),
 * -errno (the sockets). */
int discovery_run_new(struct core *c, const struct discover_config *cfg, discovery_done_fn done,
		      void *userdata, struct discovery_run **ret);
/* Stops a run (done does not run) and closes its sockets. Accepts NULL, returns NULL. */
struct discovery_run *discovery_run_free(struct discovery_run *r);

const struct discover *discovery_run_plan(const struct discovery_run *r);
/* Seconds from start to the end (or to now while running). */
double discovery_run_seconds(const struct discovery_run *r);

/* The run as JSON (daemon/discover_json.h), "interrupted" as status when stopped early. */
json_t *discovery_run_json(const struct discovery_run *r);

/* The `discover` method. */
extern const struct module discovery_module;
