/* SPDX-License-Identifier: MIT */
/*
 * The closed-loop actuator check (docs/api.md "actuator.test"): InputOutputControl on an
 * ECU's release output while the bus is watched, then the verdict "commanded / current
 * flowed / latch released".
 *
 * Before anything is transmitted: admin privilege (the method's registration), one test
 * at a time, and the transmit policy's yes (daemon/policy.h): listen-only, no scan or
 * guided test running, at most one start per 5 s, and the vehicle known to be
 * stationary. The ECU's own rules stay in force: an NRC (0x22 at speed, lockout) is data
 * in the result, not a daemon error.
 *
 * Once 0x10 0x03 went out, ReturnControlToECU (0x2F DID 0x00) and 0x10 0x01 are always
 * sent: after the watch window, after a refused 0x2F, when the client disconnects
 * mid-test (the window is cut short, the answer discarded), after a reload (to the ECU
 * of the same name) and at stop (the loop turned up to 1.5 s more for it).
 *
 * Which signals are watched (decoded once by the router): the command signal is the
 * first signal of the profile's DID whose id is the ECU's `output_control_did` (the DID
 * read back is what the output does); current and ajar are [safety] current_signal and
 * ajar_signal.
 *
 * The test runs on the core's clock and UDS port, so the in-process tests drive every
 * phase and exit path with a fake clock and a scripted ECU.
 */
#pragma once

struct actuator;

#define ACTUATOR_MIN_DURATION_MS 100
#define ACTUATOR_MAX_DURATION_MS 3000
#define ACTUATOR_DEFAULT_DURATION_MS 500
#define ACTUATOR_CURRENT_FLOWED_A 0.5 /* peak above: current flowed */

enum actuator_phase {
	ACTUATOR_IDLE,
	ACTUATOR_SESSION_EXTENDED, /* 0x10 0x03 on its way */
	ACTUATOR_OUTPUT_ON,	   /* 0x2F DID 0x03 0x01 on its way */
	ACTUATOR_WATCH,		   /* the window: the bus is watched */
	ACTUATOR_RETURN_CONTROL,   /* 0x2F DID 0x00 on its way */
	ACTUATOR_SESSION_DEFAULT,  /* 0x10 0x01 on its way */
	ACTUATOR_DONE,
	ACTUATOR_PHASE_MAX,
};

/* The phase of the running test (tests); IDLE for NULL. */
enum actuator_phase actuator_phase(const struct actuator *a);

extern const struct module actuator_module;
