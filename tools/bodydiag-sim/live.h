/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * live: the simulator on a real CAN interface. A libev loop runs the model against the
 * monotonic clock, writes the broadcast frames to a CAN_RAW socket, serves UDS and OBD
 * over kernel ISO-TP sockets through uds_server, and takes control commands (the
 * scenario command language plus status/dtc/faults/help/quit) on stdin and on a Unix
 * stream socket, one command per line and one reply line per command.
 *
 * Reply lines: "ok" or "ok <answer>" for a command carried out or a query, and
 * "error <line>:<column>: <message>" or "error <reason>" otherwise.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/dbc.h"
#include "scenario.h"

struct ev_loop;

struct profile;

/* Most control-socket clients at once; more are accepted and told so, then closed. */
#define SIM_LIVE_CLIENTS_MAX 8u

struct sim_live_config {
	const char *iface;	  /* CAN interface: can1, vcan0, ... */
	const char *control_path; /* Unix socket path, NULL = none */
	bool control_stdin;	  /* read commands on stdin, replies on stdout */
	bool verbose;		  /* model events and UDS traffic on stderr */
	const struct dbc *db;	  /* the broadcast DBC; must outlive the simulator */
	/* CAN ids and padding of its [ecu bcm] (request/response) and [ecu obd]
	 * (functional, request, response); must outlive the simulator. */
	const struct profile *profile;
	const struct sim_scenario *sc;	  /* NULL = none; must outlive the simulator */
	const struct sim_command *faults; /* --fault options, applied at start */
	size_t n_faults;
	bool has_seed;
	uint64_t seed; /* overrides the scenario's when has_seed */
};

struct sim_live;

/*
 * Opens the sockets on loop (the default loop: SIGINT and SIGTERM end the run) and
 * starts the model at time 0. Returns 0 and *ret, or -errno: -ENODEV no such interface,
 * -EPROTONOSUPPORT no ISO-TP in the kernel, -EADDRINUSE control path taken by a live
 * socket, -EINVAL bad config (also a profile without the bcm or obd ECU), -ENOMEM.
 * Messages for the user go to stderr.
 */
int sim_live_new(struct ev_loop *loop, const struct sim_live_config *cfg, struct sim_live **ret);
/* Closes everything and removes the control socket. Accepts NULL; returns NULL. */
struct sim_live *sim_live_free(struct sim_live *l);

/* Runs until quit, SIGINT/SIGTERM or a fatal socket error. 0 or -errno. */
int sim_live_run(struct sim_live *l);

/*
 * One control line, as the socket and stdin handlers use it: carries the command out
 * and writes the reply line (without the newline) into reply. Sets *ret_quit for
 * `quit`. Never fails: errors are reply text.
 */
void sim_live_command(struct sim_live *l, const char *line, size_t len, char *reply, size_t cap,
		      bool *ret_quit);
