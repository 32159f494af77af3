/* SPDX-License-Identifier: MIT */
/*
 * What the daemon keeps and reports beyond a client's request, set up from the config in
 * one place: the history database ([history], daemon/history.h), the MQTT forwarder
 * fed from it ([mqtt], daemon/forwarder.h, when built with libmosquitto) and the metrics
 * ([metrics], daemon/metrics.h) with a collector over the bus and the UDS broker.
 *
 * A history that cannot be opened is logged and left out (the daemon still diagnoses;
 * `status` says so) rather than stopping a daemon that somebody's car depends on for
 * nothing else. Recording failures are logged, never fatal.
 */
#pragma once

#include "bus.h"

struct api_server;
struct config;
struct ev_loop;
struct history;
struct metrics;
struct uds_broker;
struct records;

/* Returns 0 or -ENOMEM / -EEXIST (method names taken). */
int records_new(struct ev_loop *loop, struct api_server *api, const struct config *cfg,
		struct records **ret);
/* Forwarder, history, metrics, in that order. NULL-safe. */
struct records *records_free(struct records *r);
static inline void records_freep(struct records **r)
{
	records_free(*r);
}

/* NULL when there is no history (none configured, or it failed to open). */
struct history *records_history(struct records *r);

/* What the metrics collector reads (borrowed, may be NULL; set again after a reload). */
void records_set_sources(struct records *r, struct bus *bus, struct uds_broker *broker);

/* A bus event into the history (outages, bus-off, restarts) and the metrics. */
void records_bus_event(struct records *r, const char *ifname, enum bus_event ev, const char *detail);

/* The vehicle's VIN once read: MQTT topics become bodydiag/<vin>/... */
void records_set_vin(struct records *r, const char *vin);

/* SIGHUP: the retention settings of the new config. */
void records_reload(struct records *r, const struct config *cfg);
