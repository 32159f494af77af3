/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "faults.h"
#include "util.h"

struct fault_info {
	const char *name;
	const char *help;
	const char *opts;
};

/* Indexed by enum sim_fault; the order is the order of the table in trunk-domain.md. */
static const struct fault_info faults[_SIM_FAULT_MAX] = {
	[SIM_FAULT_FOB_BATTERY_WEAK] = {
		"fob_battery_weak",
		"fob coin cell weak: low RF power, telegrams lost beyond ~1 m, battery-low flag",
		"fob=N volts=V",
	},
	[SIM_FAULT_FOB_UNPROGRAMMED] = {
		"fob_unprogrammed",
		"fob lost its trunk function: lock/unlock work, the trunk button is ignored",
		"fob=N",
	},
	[SIM_FAULT_FUSE_BLOWN] = {
		"fuse_blown",
		"trunk release fuse blown: output commanded, no supply, no current",
		"",
	},
	[SIM_FAULT_HINGE_WIRING_OPEN] = {
		"hinge_wiring_open",
		"release wire broken at the trunk hinge: output commanded, no current, open DTC",
		"",
	},
	[SIM_FAULT_HINGE_WIRING_INTERMITTENT] = {
		"hinge_wiring_intermittent",
		"cracked strand at the hinge: contact comes and goes with lid movement",
		"p=P",
	},
	[SIM_FAULT_HINGE_WIRING_SHORT] = {
		"hinge_wiring_short",
		"release wire chafed to body ground at the hinge: short DTC, output lockout",
		"blow_fuse=0|1",
	},
	[SIM_FAULT_ACTUATOR_WORN] = {
		"actuator_worn",
		"release actuator worn: low, erratic current, too weak to pull the latch",
		"",
	},
	[SIM_FAULT_LATCH_JAMMED] = {
		"latch_jammed",
		"latch seized: stall current, no release, the key blade fails too",
		"",
	},
	[SIM_FAULT_BCM_FAULT] = {
		"bcm_fault",
		"BCM fault: request without output command (internal DTC) or no request at all",
		"mode=no_command|no_request",
	},
	[SIM_FAULT_AFTERMARKET_ALARM] = {
		"aftermarket_alarm",
		"aftermarket alarm on the bus: own frames, inhibits or cuts the release while armed",
		"mode=inhibit|splice armed=0|1",
	},
};

const char *sim_fault_name(enum sim_fault f)
{
	if ((unsigned)f >= _SIM_FAULT_MAX)
		return NULL;
	return faults[f].name;
}

const char *sim_fault_help(enum sim_fault f)
{
	if ((unsigned)f >= _SIM_FAULT_MAX)
		return NULL;
	return faults[f].help;
}

const char *sim_fault_opts_help(enum sim_fault f)
{
	if ((unsigned)f >= _SIM_FAULT_MAX)
		return NULL;
	return faults[f].opts;
}

static int token_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

int sim_fault_from_name(const char *name, size_t len, enum sim_fault *ret_fault)
{
	if (token_is(name, len, "healthy"))
		return 1;
	for (unsigned i = 0; i < _SIM_FAULT_MAX; i++) {
		if (token_is(name, len, faults[i].name)) {
			*ret_fault = (enum sim_fault)i;
			return 0;
		}
	}
	return -ENOENT;
}

void sim_fault_opts_init(struct sim_fault_opts *opts, enum sim_fault f)
{
	*opts = (struct sim_fault_opts){
		.fob = 0,
		/* A CR2032 reads ~3.0 V new; fobs flag "low" below ~2.5 V and the RF stage
		 * sags badly under load well before that (see model.c rf_tx_power()). */
		.cell_v = 2.2,
		.contact_p = 0.4,
		.blow_fuse = false,
		.bcm_mode = SIM_BCM_FAULT_MODE_NO_COMMAND,
		.alarm_mode = SIM_ALARM_MODE_INHIBIT,
		.alarm_armed = true,
	};
	(void)f; /* the defaults happen to be the same for every fault */
}

static int parse_bool(const char *v, size_t len, bool *ret)
{
	if (token_is(v, len, "1") || token_is(v, len, "yes") || token_is(v, len, "on")) {
		*ret = true;
		return 0;
	}
	if (token_is(v, len, "0") || token_is(v, len, "no") || token_is(v, len, "off")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

int sim_fault_opts_set(struct sim_fault_opts *opts, enum sim_fault f, const char *key,
		       size_t key_len, const char *value, size_t value_len,
		       const char **ret_why)
{
	uint64_t u;
	double d;
	bool b;
	int r;

	switch (f) {
	case SIM_FAULT_FOB_BATTERY_WEAK:
	case SIM_FAULT_FOB_UNPROGRAMMED:
		if (token_is(key, key_len, "fob")) {
			r = sim_util_parse_u64(value, value_len, 3, &u);
			if (r < 0) {
				*ret_why = r == -ERANGE ? "fob slot must be 0..3" :
							  "fob slot must be a number";
				return r;
			}
			opts->fob = (unsigned)u;
			return 0;
		}
		if (f == SIM_FAULT_FOB_BATTERY_WEAK && token_is(key, key_len, "volts")) {
			static const char *const units[] = {"V", NULL};
			static const double scale[] = {1.0};
			if (sim_util_parse_unit(value, value_len, units, scale, 1, &d) < 0) {
				*ret_why = "volts must be a voltage like 2.3 or 2.3V";
				return -EINVAL;
			}
			if (d < 1.5 || d > 2.8) {
				*ret_why = "volts must be 1.5..2.8 (a weak cell; 3.0 is a new one)";
				return -ERANGE;
			}
			opts->cell_v = d;
			return 0;
		}
		break;
	case SIM_FAULT_HINGE_WIRING_INTERMITTENT:
		if (token_is(key, key_len, "p")) {
			if (sim_util_parse_double(value, value_len, &d) < 0) {
				*ret_why = "p must be a probability like 0.4";
				return -EINVAL;
			}
			if (d < 0.0 || d > 1.0) {
				*ret_why = "p must be 0..1";
				return -ERANGE;
			}
			opts->contact_p = d;
			return 0;
		}
		break;
	case SIM_FAULT_HINGE_WIRING_SHORT:
		if (token_is(key, key_len, "blow_fuse")) {
			if (parse_bool(value, value_len, &b) < 0) {
				*ret_why = "blow_fuse must be 0 or 1";
				return -EINVAL;
			}
			opts->blow_fuse = b;
			return 0;
		}
		break;
	case SIM_FAULT_BCM_FAULT:
		if (token_is(key, key_len, "mode")) {
			if (token_is(value, value_len, "no_command"))
				opts->bcm_mode = SIM_BCM_FAULT_MODE_NO_COMMAND;
			else if (token_is(value, value_len, "no_request"))
				opts->bcm_mode = SIM_BCM_FAULT_MODE_NO_REQUEST;
			else {
				*ret_why = "mode must be no_command or no_request";
				return -EINVAL;
			}
			return 0;
		}
		break;
	case SIM_FAULT_AFTERMARKET_ALARM:
		if (token_is(key, key_len, "mode")) {
			if (token_is(value, value_len, "inhibit"))
				opts->alarm_mode = SIM_ALARM_MODE_INHIBIT;
			else if (token_is(value, value_len, "splice"))
				opts->alarm_mode = SIM_ALARM_MODE_SPLICE;
			else {
				*ret_why = "mode must be inhibit or splice";
				return -EINVAL;
			}
			return 0;
		}
		if (token_is(key, key_len, "armed")) {
			if (parse_bool(value, value_len, &b) < 0) {
				*ret_why = "armed must be 0 or 1";
				return -EINVAL;
			}
			opts->alarm_armed = b;
			return 0;
		}
		break;
	case SIM_FAULT_FUSE_BLOWN:
	case SIM_FAULT_HINGE_WIRING_OPEN:
	case SIM_FAULT_ACTUATOR_WORN:
	case SIM_FAULT_LATCH_JAMMED:
		break;
	case _SIM_FAULT_MAX:
		break;
	}
	*ret_why = "unknown option for this fault";
	return -ENOENT;
}
