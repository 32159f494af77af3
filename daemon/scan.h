/* SPDX-License-Identifier: MIT */
/*
 * Background DTC scans ([scan] in bodydiag.conf): every interval, the fault memory
 * (0x19 0x02 0xFF) of each profile ECU that has DTCs is read at BACKGROUND priority
 * through the UDS port; the records module puts every DTC of the answers into the
 * history (from the router, like any exchange).
 *
 * Whether a scan may go now is the transmit policy's decision (daemon/policy.h): never
 * on a detached or quiet bus, with the battery low or unknown, during an actuator test
 * or a guided test. Without a battery signal the voltage is OBD PID 0x42, read here by a
 * functional request when the policy says so (just before a scan, at most once per
 * interval) and handed to the policy. The state and the reason of a pause are in
 * scan_status_json() and are logged once per change, not per tick.
 */
#pragma once

#include <jansson.h>

struct scan;

/* {"enabled":..,"state":..,"reason":..,"last_scan":..,"next_scan":..,"battery_v":..,
 * "battery_source":..,"interval_s":..,"bus_quiet_s":..,"battery_signal":..,"ecus":..,
 * "scans":..,"dtcs":..,"failures":..}; times in Unix seconds, null when none. NULL on out
 * of memory. */
json_t *scan_status_json(struct scan *s);

extern const struct module scan_module;
