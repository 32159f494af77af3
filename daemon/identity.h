/* SPDX-License-Identifier: MIT */
/*
 * The vehicle's identity: its VIN and what follows from it.
 *
 *  - Learned passively from every exchange the router publishes (a client's did.read of
 *    F190, a guided test's reads, another tester's OBD mode 09 on the bus), from the OBD
 *    ids it watches itself (0x7E8-0x7EF, 0x18DAF1xx: a tester's VIN read while there is no
 *    profile yet), and, with
 *    [data] profile = auto, read at attach: functional requests (OBD mode 09 PID 02 and
 *    the UDS probe on 0x7DF / 0x18DB33F1), then F190 of every ECU that answered, through
 *    a discovery run (discovery.h) held as POLICY_IDENTIFY (only when the policy lets the
 *    daemon transmit: never in listen-only, not on a sleeping bus, at most
 *    IDENTITY_ATTEMPTS runs per attachment).
 *  - Checked with lib/vin (ISO 3779, the North American check digit): a VIN that fails
 *    is reported in status with the reason, never used.
 *  - A valid VIN names the history's sessions and records and the MQTT topics
 *    (records_set_vin), and with profile = auto chooses the installed profile whose
 *    `wmi` matches it ([data] profile_dir, default the data directory's profiles/; the
 *    longest match wins), which is then loaded as on a reload. No match: the daemon
 *    stays passive, and status says so.
 *  - The fleet unit id ([fleet] unit_id, else the machine id) is shown beside it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct identity;

#define IDENTITY_ATTEMPTS 3	   /* VIN reads per attachment */
#define IDENTITY_RETRY_US 30000000 /* between two of them */

/* The profile the VIN chose (profile = auto), NULL when none (yet): what a reload
 * loads. Accepts NULL. */
const char *identity_profile(const struct identity *id);

/* The bus attached (true) or went away: a new attachment may be another vehicle. */
void identity_bus_event(struct identity *id, bool attached);

/* For `status`: {"vin":null|"...","valid":..,"source":"read at attach"|"seen on the
 * bus"|..,"maker":..,"model_year":..,"wmi":..,"profile":"auto"|"configured",
 * "chosen":null|path,"state":..,"text":"...","unit_id":"..."}. */
json_t *identity_status_json(const struct identity *id);

extern const struct module identity_module;
