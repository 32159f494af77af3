/* SPDX-License-Identifier: MIT */
/*
 * The diagnostic API methods (docs/api.md): status, ecus, dtc.read, dtc.clear, did.read,
 * mark. They read the vehicle snapshot and reach the ECUs by name through the UDS port
 * (the broker), after asking the transmit policy; every exchange they cause reaches the
 * engine and the history through the router, not through them. A mark is published on
 * the router for whoever reads marks (the diagnosis engine).
 *
 * A reload (set_vehicle) fails the requests still waiting with `unavailable`
 * ("configuration reloaded").
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

struct methods;

/* A number parameter given as a JSON integer or as a string ("0x1A2B", "6699"): 0,
 * -ERANGE above max, -EINVAL otherwise. */
int methods_number_param(json_t *v, uint64_t max, uint64_t *ret);

extern const struct module methods_module;
