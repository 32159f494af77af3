/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * faults: the causes of ../shared/docs/trunk-domain.md that the simulator can inject,
 * their names, help texts and options. The behaviour of each fault lives in model.c;
 * this module is only the catalogue, so that the CLI help, the scenario parser and the
 * control channel cannot drift apart.
 */

#include <stdbool.h>
#include <stddef.h>

/* "healthy" is not a fault: it is the empty fault set (see sim_fault_from_name()). */
enum sim_fault {
	SIM_FAULT_FOB_BATTERY_WEAK,
	SIM_FAULT_FOB_UNPROGRAMMED,
	SIM_FAULT_FUSE_BLOWN,
	SIM_FAULT_HINGE_WIRING_OPEN,
	SIM_FAULT_HINGE_WIRING_INTERMITTENT,
	SIM_FAULT_HINGE_WIRING_SHORT,
	SIM_FAULT_ACTUATOR_WORN,
	SIM_FAULT_LATCH_JAMMED,
	SIM_FAULT_BCM_FAULT,
	SIM_FAULT_AFTERMARKET_ALARM,
	_SIM_FAULT_MAX,
};

/* bcm_fault mode=... */
enum sim_bcm_fault_mode {
	SIM_BCM_FAULT_MODE_NO_COMMAND, /* request seen, output never driven, internal DTC */
	SIM_BCM_FAULT_MODE_NO_REQUEST, /* fob telegram received, no request, no DTC */
	_SIM_BCM_FAULT_MODE_MAX,
};

/* aftermarket_alarm mode=... */
enum sim_alarm_mode {
	SIM_ALARM_MODE_INHIBIT, /* asks the BCM over CAN to inhibit the release while armed */
	SIM_ALARM_MODE_SPLICE,  /* its relay is spliced into the release wire, open while armed */
	_SIM_ALARM_MODE_MAX,
};

/*
 * Options of one fault, as given after its name (`fault add fob_battery_weak fob=1
 * volts=2.3`). sim_fault_opts_init() fills the defaults of that fault; only the
 * fields that fault documents are read.
 */
struct sim_fault_opts {
	unsigned fob;                   /* fob_battery_weak, fob_unprogrammed: slot 0..3 */
	double cell_v;                  /* fob_battery_weak: unloaded cell voltage, 1.5..2.8 V */
	double contact_p;               /* hinge_wiring_intermittent: contact probability 0..1 */
	bool blow_fuse;                 /* hinge_wiring_short: the short also blows the fuse */
	enum sim_bcm_fault_mode bcm_mode; /* bcm_fault */
	enum sim_alarm_mode alarm_mode; /* aftermarket_alarm */
	bool alarm_armed;               /* aftermarket_alarm: armed when injected */
};

/* Stable lower-case name ("fob_battery_weak"); NULL for values out of range. */
const char *sim_fault_name(enum sim_fault f);
/* One-line description for --list-faults and `faults`; NULL out of range. */
const char *sim_fault_help(enum sim_fault f);
/* Option summary ("fob=N volts=V"), "" when the fault has none; NULL out of range. */
const char *sim_fault_opts_help(enum sim_fault f);

/*
 * Looks a fault up by name. Returns 0 and writes *ret_fault, 1 for "healthy" (the
 * empty set, *ret_fault untouched), -ENOENT for unknown names.
 */
int sim_fault_from_name(const char *name, size_t len, enum sim_fault *ret_fault);

/* Defaults of fault f's options. */
void sim_fault_opts_init(struct sim_fault_opts *opts, enum sim_fault f);

/*
 * Applies one `key=value` option of fault f to opts. Returns 0, -ENOENT when f has
 * no option key, -EINVAL when value is malformed, -ERANGE when it is out of range.
 * *ret_why is set to a static message on failure (never on success).
 */
int sim_fault_opts_set(struct sim_fault_opts *opts, enum sim_fault f, const char *key,
		       size_t key_len, const char *value, size_t value_len,
		       const char **ret_why);
