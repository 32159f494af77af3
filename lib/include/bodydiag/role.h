/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * role: the registry of chain roles, the one table that rules, profiles and reports
 * share (rules/README.md "Roles", profiles/README.md "[role]").
 *
 * A role is what a value *means* in the trunk release chain, independent of any one
 * vehicle: `release_request`, `actuator_current`, `ajar`, `speed`... Rules read roles;
 * a vehicle profile maps the roles its car can show to its own DBC signals or DIDs,
 * with a value map into the role's normalised values. A role the profile does not map
 * is not observable on that vehicle.
 *
 * Every role has a kind:
 *  - ROLE_KIND_NUMBER: a physical value in the role's unit ("km/h", "V", "A", "s",
 *    "dBm"; "" for a count), compared with numbers;
 *  - ROLE_KIND_BOOL: two labels, false first ("closed"/"open", "off"/"on"); the value
 *    is 0 or 1;
 *  - ROLE_KIND_ENUM: labels, the value is the label's index ("none", "fob", ...).
 * Labels are lower-case words; rules and profiles name values by label, never by
 * number, so `release_request == fob` means the same on every car.
 *
 * Every role belongs to one link of the release chain (fob -> receiver -> request ->
 * output -> current -> latch -> ajar) or to the context (speed, gear, doors...).
 *
 * The table is constant data: indices are stable within a build, names across builds.
 */

#include <stdbool.h>
#include <stddef.h>

enum role_kind {
	ROLE_KIND_NUMBER,
	ROLE_KIND_BOOL,
	ROLE_KIND_ENUM,
	ROLE_KIND_MAX,
};

/* The links of the release chain, in chain order, then the context. */
enum role_link {
	ROLE_LINK_FOB,	    /* the fob and its buttons, as the car saw them */
	ROLE_LINK_RECEIVER, /* the BCM's RKE receiver: telegram status, signal strength */
	ROLE_LINK_REQUEST,  /* BCM logic: release request, inhibit, switches */
	ROLE_LINK_OUTPUT,   /* the BCM's output command, lockout */
	ROLE_LINK_CURRENT,  /* fuse, wiring, actuator current, output diagnosis */
	ROLE_LINK_LATCH,    /* the mechanical latch */
	ROLE_LINK_AJAR,	    /* the ajar switch: the lid opened */
	ROLE_LINK_CONTEXT,  /* not a link: vehicle state, doors, locks, add-ons */
	ROLE_LINK_MAX,
};

struct role {
	const char *name;
	const char *title; /* a short noun for sentences: "actuator current", "trunk lid" */
	enum role_kind kind;
	enum role_link link;
	const char *unit;	   /* NUMBER: the unit of the value; "" otherwise */
	const char *const *labels; /* BOOL (2), ENUM: value i is labels[i]; NULL for NUMBER */
	unsigned n_labels;
	bool body_event; /* its transitions are body events (doors, locks, fob, requests) */
	const char *what; /* one line for documentation and reports */
};

/* Number of roles; role_at(i) for i below it (NULL out of range). */
size_t role_count(void);
const struct role *role_at(size_t index);

/* Index of a role by name (len bytes, need not be NUL-terminated): 0, or -ENOENT. */
int role_find(const char *name, size_t len, unsigned *ret_index);

/* Value of a label of a BOOL or ENUM role: 0 and *ret_value, or -ENOENT (also for a
 * NUMBER role). */
int role_label_find(const struct role *r, const char *label, size_t len, unsigned *ret_value);

/* Label of a value of a BOOL or ENUM role; NULL for a NUMBER role or a value that is no
 * label's. */
const char *role_label(const struct role *r, double value);

/* "fob", "receiver", "request", "output", "current", "latch", "ajar", "context"; NULL
 * out of range. */
const char *role_link_name(enum role_link link);

/* A value for people: the label ("open"), or the number with its unit ("12.4 V", "3").
 * Returns snprintf's result. */
int role_value_format(const struct role *r, double value, char *buf, size_t size);

/*
 * The factor that turns a value in unit `from` into the role unit `to`, for the units
 * DBC files commonly use: km/h (also written kph, kmh, KPH), m/s, mph; V, mV; A, mA; s,
 * ms, min. 0 and *ret_factor (1 when both name the same unit); -ENOENT when either is
 * unknown or they measure different things.
 */
int role_unit_factor(const char *from, const char *to, double *ret_factor);
