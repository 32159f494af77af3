/* SPDX-License-Identifier: MIT */
/*
 * What the daemon keeps and reports beyond a client's request, set up from the config in
 * one place: the history database ([history], daemon/history.h) with its pruning, its
 * outbox for bodydiag-forward ([mqtt], daemon/history_outbox.h; the daemon itself has no
 * network: the forwarder is a service of its own, forward/) and the metrics ([metrics],
 * daemon/metrics.h) with a collector over the bus, the UDS broker, the outbox and the
 * forwarder's state file (daemon/forward_state.h); the API methods "history" and
 * "metrics".
 *
 * It records from the router what every module's exchanges showed: the DTC lists of
 * every answer to 0x19 (a client's dtc.read, a scan, a guided test, another tester on
 * the bus), into the history session open at the time (a guided test's) or none. The
 * vehicle's VIN comes from the identity module (records_set_vin: history, MQTT topics).
 * Bus events come from the bus module (records_bus_event).
 *
 * A history that cannot be opened is logged and left out (the daemon still diagnoses;
 * `history` answers `unavailable`) rather than stopping a daemon that somebody's car
 * depends on for nothing else. Recording failures are logged, never fatal.
 */
#pragma once

#include <jansson.h>

#include "bus.h"

struct history;
struct metrics;
struct records;

/*
 * The `mqtt` member of `status`: {"state": "disabled"} without [mqtt] enabled, else the
 * forwarder's state ("not running" when its state file is missing or stale), the broker,
 * the outbox's backlog (docs/api.md).
 */
json_t *records_mqtt_status(struct records *r);

/* NULL when there is no history (none configured, or it failed to open). */
struct history *records_history(struct records *r);

/* The vehicle's VIN, checked (identity.c): the history's sessions and records and the
 * forwarder's topics carry it from now on. NULL/"": unknown again. Accepts r NULL. */
void records_set_vin(struct records *r, const char *vin);

/* A bus event into the history (outages, bus-off, restarts) and the metrics. */
void records_bus_event(struct records *r, const char *ifname, enum bus_event ev, const char *detail);

extern const struct module records_module;
