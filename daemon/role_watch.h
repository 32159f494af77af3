/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * role_watch: the latest value of one chain role (rules/README.md "The roles") as the bus
 * shows it, read through the vehicle profile's role mappings: the transmit policy's
 * speed, gear and battery voltage, the actuator test's command, current and lid. The
 * profile says which broadcast signal carries the role on this car and how its values
 * map to the role's (km/h, park, open...), so a car whose DBC calls its speed
 * VEHICLE_SPEED needs no configuration.
 *
 * A DBC signal named in the configuration (the older [safety] and [scan] keys) overrides
 * the profile: its physical value is taken as the role's, and for a bool or enumeration
 * role its VAL_ label is matched to the role's labels (`P` is park, `Ajar` is open),
 * else raw 0 is the first label and anything else the second.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dbc_signal;
struct rolemap_source;
struct router_frame;
struct router_watch;
struct vehicle;

#define ROLE_WATCH_MAX_SOURCES 4u

enum role_watch_via {
	ROLE_WATCH_NONE,     /* neither the profile nor the configuration shows it */
	ROLE_WATCH_DID_ONLY, /* the profile maps it to a DID only: not by listening */
	ROLE_WATCH_PROFILE,  /* the profile's broadcast sources */
	ROLE_WATCH_SIGNAL,   /* the configuration's DBC signal (override) */
	ROLE_WATCH_VIA_MAX,
};

struct role_watch {
	unsigned role; /* registry index */
	enum role_watch_via via;
	const struct rolemap_source *src[ROLE_WATCH_MAX_SOURCES];
	size_t n_src;
	const struct dbc_signal *sig;	    /* SIGNAL */
	size_t msg[ROLE_WATCH_MAX_SOURCES]; /* the DBC messages asked of the router watch */
	size_t n_msg;
	char name[160]; /* where it comes from: "MSG.SIGNAL", or the override */
	bool seen;
	int64_t t_us;
	double value; /* the role's value (a label index for bool/enum roles) */
};

/*
 * Binds w to registry role `role` on vehicle v: the configuration's signal `override`
 * when not empty (the DBC must have it; else via NONE), else the profile's broadcast
 * sources; asks router watch rw to decode their messages. Forgets the last value.
 * Returns w->via.
 */
enum role_watch_via role_watch_bind(struct role_watch *w, unsigned role, const char *override,
				    struct vehicle *v, struct router_watch *rw);

/* Gives back to rw the messages role_watch_bind() asked for (rw's wants are counted). */
void role_watch_unbind(struct role_watch *w, struct vehicle *v, struct router_watch *rw);

/* Takes a sample of the role from a frame the router decoded. Returns true when the
 * frame carried one (w->value, w->t_us updated). */
bool role_watch_take(struct role_watch *w, const struct router_frame *f);

/* The value as people read it: "30 km/h", "drive", "open". */
int role_watch_format(const struct role_watch *w, char *buf, size_t size);
