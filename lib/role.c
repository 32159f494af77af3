/* SPDX-License-Identifier: MIT */
/*
 * role: the chain role registry (role.h). Constant data and lookups over it.
 *
 * The labels are what rules and reports say; each list is ordered so that the
 * "nothing happening" value comes first (value 0), as a profile's default and a bool's
 * false. Labels are shared between roles where the meaning is shared.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bodydiag/numfmt.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const closed_open[] = {"closed", "open"};
static const char *const off_on[] = {"off", "on"};
static const char *const released_pressed[] = {"released", "pressed"};
static const char *const ok_low[] = {"ok", "low"};
static const char *const disabled_enabled[] = {"disabled", "enabled"};
static const char *const latched_released[] = {"latched", "released"};

static const char *const fob_event[] = {"none",	 "lock",	 "unlock", "trunk",
					"panic", "remote_start", "other"};
static const char *const fob_status[] = {"idle", "valid", "crc_error", "unknown_fob"};
/* who asked for the release: source_unknown when the car says a request came but not
 * from where (Ford's Power_Decklid_Rqst) */
static const char *const release_request[] = {"none",	"fob", "interior", "exterior",	   "tester",
					      "passive", "key", "app",	    "source_unknown"};
static const char *const release_inhibit[] = {
    "none",	      "speed",		"gear",		   "alarm_armed",    "valet", "output_lockout",
    "switch_stuck", "low_voltage", "external_request", "vehicle_locked", "other"};
static const char *const output_status[] = {"not_tested",	"ok",		     "open",
					    "short_to_ground", "short_to_battery", "low_current"};
static const char *const gear[] = {"park", "reverse", "neutral", "drive", "other"};
static const char *const ignition[] = {"off", "accessory", "run", "start", "other"};
static const char *const lock_state[] = {"unlocked", "locked", "double_locked", "partly_unlocked"};
static const char *const lock_request[] = {"none",	   "fob",  "interior",	   "keypad",
					   "passive",	   "key_cylinder", "tester", "auto",
					   "remote_start", "app",	   "other"};
static const char *const alarm_state[] = {"disarmed", "arming", "armed", "triggered"};

#define NUM(n, t, l, u, w)                                                                         \
	{.name = n, .title = t, .kind = ROLE_KIND_NUMBER, .link = l, .unit = u, .what = w}
#define BOOL(n, t, l, lab, ev, w)                                                                     \
	{.name = n,                                                                                \
	 .title = t,                                                                               \
	 .kind = ROLE_KIND_BOOL,                                                                   \
	 .link = l,                                                                                \
	 .unit = "",                                                                               \
	 .labels = lab,                                                                            \
	 .n_labels = 2,                                                                            \
	 .body_event = ev,                                                                         \
	 .what = w}
#define ENUM(n, t, l, lab, ev, w)                                                                     \
	{.name = n,                                                                                \
	 .title = t,                                                                               \
	 .kind = ROLE_KIND_ENUM,                                                                   \
	 .link = l,                                                                                \
	 .unit = "",                                                                               \
	 .labels = lab,                                                                            \
	 .n_labels = N(lab),                                                                       \
	 .body_event = ev,                                                                         \
	 .what = w}

static const struct role roles[] = {
    /* fob */
    ENUM("fob_event", "fob button", ROLE_LINK_FOB, fob_event, true,
	 "the button of a key fob telegram, as the car received it"),
    BOOL("fob_battery_low", "fob battery flag", ROLE_LINK_FOB, ok_low, false,
	 "the battery-low flag of the last fob telegram"),
    NUM("fob_index", "fob slot", ROLE_LINK_FOB, "", "the fob slot (0-based) of the last telegram"),
    BOOL("fob1_trunk_enabled", "fob 1 trunk permission", ROLE_LINK_FOB, disabled_enabled, false,
	 "the BCM's record that fob slot 1 may open the trunk"),
    BOOL("fob2_trunk_enabled", "fob 2 trunk permission", ROLE_LINK_FOB, disabled_enabled, false,
	 "the BCM's record that fob slot 2 may open the trunk"),
    BOOL("fob3_trunk_enabled", "fob 3 trunk permission", ROLE_LINK_FOB, disabled_enabled, false,
	 "the BCM's record that fob slot 3 may open the trunk"),
    BOOL("fob4_trunk_enabled", "fob 4 trunk permission", ROLE_LINK_FOB, disabled_enabled, false,
	 "the BCM's record that fob slot 4 may open the trunk"),
    /* receiver */
    ENUM("fob_status", "fob telegram status", ROLE_LINK_RECEIVER, fob_status, true,
	 "the receiver's verdict on the last telegram"),
    NUM("fob_rssi", "fob signal strength", ROLE_LINK_RECEIVER, "dBm", "signal strength of the last telegram"),
    /* request */
    ENUM("release_request", "release request", ROLE_LINK_REQUEST, release_request, true,
	 "a trunk/decklid/liftgate release request and who made it"),
    ENUM("release_inhibit", "release inhibit", ROLE_LINK_REQUEST, release_inhibit, true,
	 "why the BCM refused a release, where the car says it"),
    BOOL("interior_switch", "interior release switch", ROLE_LINK_REQUEST, released_pressed, true,
	 "the interior (cabin) release switch"),
    BOOL("exterior_switch", "exterior release switch", ROLE_LINK_REQUEST, released_pressed, true,
	 "the exterior lid release switch"),
    /* output */
    BOOL("actuator_cmd", "release output command", ROLE_LINK_OUTPUT, off_on, true, "the BCM's release output command"),
    NUM("lockout_timer", "output lockout time", ROLE_LINK_OUTPUT, "s",
	"time left of the release output's lockout after a short"),
    /* current */
    NUM("actuator_current", "actuator current", ROLE_LINK_CURRENT, "A", "current through the release actuator"),
    NUM("fuse_voltage", "release fuse voltage", ROLE_LINK_CURRENT, "V", "voltage on the load side of the release fuse"),
    ENUM("output_status", "output self-test", ROLE_LINK_CURRENT, output_status, false,
	 "the output driver's own diagnosis of the release circuit"),
    /* latch, ajar */
    BOOL("latch", "latch", ROLE_LINK_LATCH, latched_released, true, "the rear closure's latch"),
    BOOL("ajar", "trunk lid", ROLE_LINK_AJAR, closed_open, true,
	 "the rear closure (trunk, decklid, liftgate, hatch) is open"),
    /* context */
    NUM("speed", "vehicle speed", ROLE_LINK_CONTEXT, "km/h", "vehicle speed"),
    ENUM("gear", "gear", ROLE_LINK_CONTEXT, gear, false, "selected gear or range"),
    ENUM("ignition", "ignition", ROLE_LINK_CONTEXT, ignition, true, "ignition / power mode"),
    NUM("battery_voltage", "battery voltage", ROLE_LINK_CONTEXT, "V", "12 V system voltage"),
    NUM("bcm_supply_voltage", "BCM supply voltage", ROLE_LINK_CONTEXT, "V", "the BCM's own supply voltage"),
    ENUM("lock_state", "door locks", ROLE_LINK_CONTEXT, lock_state, true, "the doors' central lock state"),
    ENUM("lock_request", "lock request", ROLE_LINK_CONTEXT, lock_request, true,
	 "a lock or unlock request and who made it"),
    BOOL("door_fl", "front left door", ROLE_LINK_CONTEXT, closed_open, true,
	 "front left door (the driver's on a left-hand-drive car)"),
    BOOL("door_fr", "front right door", ROLE_LINK_CONTEXT, closed_open, true, "front right door"),
    BOOL("door_rl", "rear left door", ROLE_LINK_CONTEXT, closed_open, true, "rear left door"),
    BOOL("door_rr", "rear right door", ROLE_LINK_CONTEXT, closed_open, true, "rear right door"),
    BOOL("door_any", "doors", ROLE_LINK_CONTEXT, closed_open, true,
	 "some door is open (cars that only say that)"),
    BOOL("hood", "hood", ROLE_LINK_CONTEXT, closed_open, true, "the hood (bonnet)"),
    ENUM("alarm_state", "alarm", ROLE_LINK_CONTEXT, alarm_state, true, "the factory perimeter alarm"),
    BOOL("valet_mode", "valet mode", ROLE_LINK_CONTEXT, off_on, false, "valet mode (release switches disabled)"),
    BOOL("addon_alarm_armed", "add-on alarm", ROLE_LINK_CONTEXT, off_on, false,
	 "an aftermarket alarm or remote starter says it is armed"),
    BOOL("addon_release_cut", "add-on release cut", ROLE_LINK_CONTEXT, off_on, true,
	 "an aftermarket unit says it cuts the release wire"),
    BOOL("addon_inhibit", "add-on inhibit", ROLE_LINK_CONTEXT, off_on, true,
	 "an aftermarket unit asks for, or applies, a release inhibit"),
};

size_t role_count(void)
{
	return N(roles);
}

const struct role *role_at(size_t index)
{
	return index < N(roles) ? &roles[index] : NULL;
}

static bool same(const char *a, const char *b, size_t len)
{
	return strlen(a) == len && memcmp(a, b, len) == 0;
}

int role_find(const char *name, size_t len, unsigned *ret_index)
{
	for (size_t i = 0; name && i < N(roles); i++) {
		if (same(roles[i].name, name, len)) {
			*ret_index = (unsigned)i;
			return 0;
		}
	}
	return -ENOENT;
}

int role_label_find(const struct role *r, const char *label, size_t len, unsigned *ret_value)
{
	for (unsigned i = 0; r && label && i < r->n_labels; i++) {
		if (same(r->labels[i], label, len)) {
			*ret_value = i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *role_label(const struct role *r, double value)
{
	if (!r || !r->n_labels || !(value >= 0) || value != floor(value) || value >= r->n_labels)
		return NULL;
	return r->labels[(unsigned)value];
}

const char *role_link_name(enum role_link link)
{
	switch (link) {
	case ROLE_LINK_FOB:
		return "fob";
	case ROLE_LINK_RECEIVER:
		return "receiver";
	case ROLE_LINK_REQUEST:
		return "request";
	case ROLE_LINK_OUTPUT:
		return "output";
	case ROLE_LINK_CURRENT:
		return "current";
	case ROLE_LINK_LATCH:
		return "latch";
	case ROLE_LINK_AJAR:
		return "ajar";
	case ROLE_LINK_CONTEXT:
		return "context";
	case ROLE_LINK_MAX:
		break;
	}
	return NULL;
}

int role_value_format(const struct role *r, double value, char *buf, size_t size)
{
	const char *l = role_label(r, value);
	if (l)
		return snprintf(buf, size, "%s", l);
	char num[NUMFMT_DOUBLE_MAX];
	numfmt_double_text(num, value); /* 12.24, not 12.240000000000002 */
	if (r && r->unit[0])
		return snprintf(buf, size, "%s %s", num, r->unit);
	return snprintf(buf, size, "%s", num);
}

/* A unit as a dimension and the factor to that dimension's base unit. */
struct unit {
	const char *name;
	char dim; /* 'v' speed, 'u' voltage, 'i' current, 't' time */
	double to_base;
};

static const struct unit units[] = {
    {"km/h", 'v', 1},	     {"kph", 'v', 1},  {"kmh", 'v', 1},	  {"KPH", 'v', 1},
    {"km / h", 'v', 1},     {"km/hr", 'v', 1}, {"Unit_KiloMeterPerHour", 'v', 1},
    {"Km/h", 'v', 1},	     {"KMH", 'v', 1},  {"m/s", 'v', 3.6}, {"mph", 'v', 1.609344},
    {"MPH", 'v', 1.609344}, {"V", 'u', 1},    {"volt", 'u', 1},  {"Volt", 'u', 1},
    {"mV", 'u', 1e-3},	     {"A", 'i', 1},    {"ampere", 'i', 1}, {"mA", 'i', 1e-3},
    {"s", 't', 1},	     {"second", 't', 1}, {"sec", 't', 1}, {"ms", 't', 1e-3},
    {"min", 't', 60},	     {"dBm", 'p', 1},
};

static const struct unit *find_unit(const char *name)
{
	for (size_t i = 0; name && i < N(units); i++)
		if (!strcmp(units[i].name, name))
			return &units[i];
	return NULL;
}

int role_unit_factor(const char *from, const char *to, double *ret_factor)
{
	const struct unit *f = find_unit(from), *t = find_unit(to);
	if (!f || !t || f->dim != t->dim)
		return -ENOENT;
	*ret_factor = f->to_base / t->to_base;
	return 0;
}
