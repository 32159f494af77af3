/* SPDX-License-Identifier: MIT */
/*
 * The closed-loop actuator check (docs/api.md "actuator.test"): InputOutputControl on an
 * ECU's release output while the bus is watched, then the verdict "commanded / current
 * flowed / latch released".
 *
 * Safety policy, in this order, before anything is transmitted: admin privilege (the
 * method's registration), one test at a time and at most one start per 5 s, and the
 * vehicle known to be stationary: the DBC speed signal decoded from a bus frame within
 * the last second is 0 (no such frame = "vehicle speed unknown": refused), and the gear
 * signal, when the DBC has one and it was seen, reads P (or raw 0 without labels).
 *
 * Once 0x10 0x03 went out, ReturnControlToECU (0x2F DID 0x00) and 0x10 0x01 are always
 * sent: after the watch window, after a refused 0x2F, and when the client disconnects
 * mid-test (the window is cut short, the answer discarded). The ECU's own rules stay in
 * force: an NRC (0x22 at speed, lockout) is data in the result, not a daemon error.
 *
 * Which signals are watched: the command signal is the first signal of the profile's DID
 * whose id is the ECU's `output_control_did` (the DID read back is what the output
 * does); speed, gear, current and ajar come from actuator_data (NULL = the simulator's
 * names "VehicleSpeed", "GearPosition", "TrunkActuatorCurrent", "TrunkAjar").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bodydiag/frame.h"

struct api_server;
struct dbc;
struct ev_loop;
struct profile;
struct uds_broker;
struct actuator;

/* Borrowed; any may be NULL (the method then answers `unavailable`). */
struct actuator_data {
	const struct dbc *dbc;
	const struct profile *profile;
	struct uds_broker *broker; /* ECU i is the profile's ECU i */
	const char *speed_signal;  /* NULL = "VehicleSpeed"; copied */
	const char *gear_signal;   /* NULL = "GearPosition", "" = no gear check; copied */
	const char *current_signal; /* NULL = "TrunkActuatorCurrent"; copied */
	const char *ajar_signal;   /* NULL = "TrunkAjar"; copied */
};

#define ACTUATOR_MIN_DURATION_MS 100
#define ACTUATOR_MAX_DURATION_MS 3000
#define ACTUATOR_DEFAULT_DURATION_MS 500
#define ACTUATOR_MIN_INTERVAL_US 5000000 /* between two test starts */
#define ACTUATOR_SPEED_MAX_AGE_US 1000000 /* older speed samples count as unknown */
#define ACTUATOR_CURRENT_FLOWED_A 0.5	  /* peak above: current flowed */

/* Registers `actuator.test` on api. Returns 0, -EEXIST, -ENOMEM. */
int actuator_new(struct ev_loop *loop, struct api_server *api, const struct actuator_data *data,
		 struct actuator **ret);
/*
 * Ends a running test (its client gets `unavailable`), then, when something was sent,
 * turns the (stopped) loop for at most 1.5 s to send ReturnControlToECU and 0x10 0x01;
 * call it while the broker is alive. Unregisters. NULL-safe.
 */
struct actuator *actuator_free(struct actuator *a);
static inline void actuator_freep(struct actuator **a)
{
	actuator_free(*a);
}

/* New data (SIGHUP), before the old broker is freed: a running test ends with
 * `unavailable`, and its ReturnControlToECU and 0x10 0x01 go out through the new broker
 * (an ECU the new profile lacks returns control at its S3 timeout). Returns 0. */
int actuator_set_data(struct actuator *a, const struct actuator_data *data);

/* A bus frame, t_us monotonic (the speed interlock and the watch window). */
void actuator_bus_frame(struct actuator *a, const struct bd_timed_frame *f);

/* True while a test runs. */
bool actuator_running(const struct actuator *a);
