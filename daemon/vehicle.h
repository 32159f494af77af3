/* SPDX-License-Identifier: MIT */
/*
 * The vehicle snapshot: what one load of the configuration's data files yields (the DBC,
 * the vehicle profile, the rule set) and what is derived from them once (the route
 * table that classifies every frame, the kernel ID filters), in one immutable,
 * reference-counted object.
 *
 * Modules hold a reference to the snapshot they work with and never borrow its pieces
 * beyond it: a reload (SIGHUP) loads a new snapshot and hands it to every module
 * (struct module's set_vehicle), each of which drops its old reference when it is done
 * with it, in any order. Any piece may be absent (no DBC, no profile, no rules); a
 * snapshot itself always exists, possibly empty.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct can_raw_filter;
struct config;
struct dbc;
struct dbc_signal;
struct profile;
struct profile_ecu;
struct rolemap;
struct route_table;
struct rules_set;
struct uds_broker_ecu_config;
struct vehicle;

/*
 * Loads [data] dbc, profile and rules of cfg (a profile names its DBC relative to dbc/
 * beside profiles/, an explicit dbc wins). Logs what failed (file:line:column). Returns
 * 0 and a snapshot with one reference, or -errno; all or nothing.
 */
int vehicle_load(const struct config *cfg, struct vehicle **ret);
/* The same with another profile than [data] profile (NULL: the configuration's; with
 * profile = auto, which loads none, the one the VIN chose). */
int vehicle_load_profile(const struct config *cfg, const char *profile, struct vehicle **ret);

/* A snapshot of pieces already in memory (tests, tools): takes ownership of all three,
 * any may be NULL, also on failure. Returns 0, -ENOMEM, -EINVAL (a profile role source the
 * DBC does not have; logged with its position). */
int vehicle_new(struct dbc *db, struct profile *p, struct rules_set *rules, struct vehicle **ret);

struct vehicle *vehicle_ref(struct vehicle *v);
/* Drops a reference; the last one frees. Accepts NULL, returns NULL. */
struct vehicle *vehicle_unref(struct vehicle *v);
/* *slot holds a reference to v from now on (v may be NULL), the old one is dropped. */
void vehicle_set(struct vehicle **slot, struct vehicle *v);

/* The pieces, valid while the caller holds a reference; NULL when absent. */
const struct dbc *vehicle_dbc(const struct vehicle *v);
const struct profile *vehicle_profile(const struct vehicle *v);
const struct rules_set *vehicle_rules(const struct vehicle *v);
/* The file the profile was loaded from; NULL without profile or for vehicle_new(). */
const char *vehicle_profile_path(const struct vehicle *v);
/* Never NULL (an empty table classifies every data frame as unknown). */
const struct route_table *vehicle_routes(const struct vehicle *v);
/* The profile's [role] sections bound to the DBC (rolemap.h); NULL without a profile. A
 * profile that does not fit its DBC is refused at load. */
const struct rolemap *vehicle_rolemap(const struct vehicle *v);

/* The most samples any DBC message decodes to (dbc_decode's buffer size); 0 without DBC. */
size_t vehicle_max_samples(const struct vehicle *v);
/* The DBC message index (dbc_message_at) that carries signal name, or -ENOENT. */
int vehicle_find_signal(const struct vehicle *v, const char *name, size_t *ret_msg_index,
			const struct dbc_signal **ret_signal);

/* Profile ECUs: count, i-th, index by name (-ENOENT). The broker's ECU i is profile ECU i. */
size_t vehicle_ecu_count(const struct vehicle *v);
const struct profile_ecu *vehicle_ecu_at(const struct vehicle *v, size_t i);
int vehicle_ecu_find(const struct vehicle *v, const char *name);
/* Whether the profile lists DTC texts for ECU i (it is worth reading its fault memory). */
bool vehicle_ecu_has_dtcs(const struct vehicle *v, size_t i);
/* The broker's view of ECU i (names point into the profile). */
void vehicle_broker_ecu(const struct vehicle *v, size_t i, struct uds_broker_ecu_config *ret);

/*
 * Kernel ID filters for the bus: the DBC's messages and the profile ECUs' diagnostic
 * ids, so that a busy bus costs only the frames we route. *ret NULL (receive
 * everything) when there is neither, or more than the kernel's 512. Borrowed from the
 * snapshot.
 */
void vehicle_filters(const struct vehicle *v, const struct can_raw_filter **ret, size_t *ret_n);
