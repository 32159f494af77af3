/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * discover_json: an ECU discovery (lib/discover) as JSON, one shape for `bodydiag
 * discover --json` run standalone and the daemon's `discover` method (docs/api.md), and
 * the table the CLI prints from it either way:
 *
 *   {"iface":"can0","status":"done","requests":312,"skipped":4,"seconds":17.2,"rate":20,
 *    "stop":null,"ecus":[{"address":"normal:0x726/0x72E,pad=0xCC","addressing":"normal",
 *    "request":1830,"response":1838,"ext_ids":false,"found_by":"physical",
 *    "request_guessed":false,"uds":true,"obd":false,"probe_nrc":null,"latency_ms":3.1,
 *    "status":"identified","role":"bcm","identification":{"F190":{"state":"ok",
 *    "value":"1BD..."},"F18A":{"state":"negative","nrc":49},...},
 *    "vin":{"vin":"1BD...","valid":true,"maker":null,"make":null}}]}
 */

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct discover;
struct discover_ecu;

/* One ECU found. A new reference, NULL when out of memory. */
json_t *discover_json_ecu(const struct discover_ecu *e);

/* The whole run: status is the planner's (or "interrupted"), seconds the time it took.
 * A new reference, NULL when out of memory. */
json_t *discover_json_run(const struct discover *d, const char *iface, const char *status,
			  double seconds, unsigned rate);

/* The run (discover_json_run()'s shape) as the table a person reads. */
void discover_json_print(FILE *f, const json_t *run);
