/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rolemap: a vehicle profile's [role] sections bound to its DBC and DIDs, checked, and
 * ready to turn a decoded signal into a role sample.
 *
 * Binding checks what the profile parser cannot: that the message and the signal a
 * `dbc_signal = MESSAGE.SIGNAL` source names exist in the DBC (by name, or the message by
 * its 0x id), that every source label of a `map` is one of the signal's VAL_ labels, and
 * that every raw value fits the signal. Each mistake is an error with the profile's file,
 * line and column, like the parser's.
 *
 * Values: a number role takes the physical value times the source's scale (or, without
 * one, the factor from the DBC signal's unit to the role's unit when both are known, see
 * role_unit_factor()) plus its offset; a bool or enumeration role takes the label the map
 * gives the raw value, else the source's default, else no sample; a bool role without a
 * map takes raw 0 as its first label and anything else as its second.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"

struct rolemap;

/* One source of a role, bound. */
struct rolemap_source {
	const struct profile_role *pr; /* the [role] section (owned by the profile) */
	unsigned role;		       /* registry index */
	const struct dbc_message *msg; /* DBC sources: the message (owned by the DBC) */
	const struct dbc_signal *sig;  /* the signal: of the DBC, or of the DID */
	const struct profile_did *did; /* DID sources */
	double factor, offset;	       /* number roles: value = physical * factor + offset */
	const int64_t *map_raw;	       /* bool/enum: raw values ... */
	const unsigned *map_value;     /* ... and the role values they mean */
	size_t n_map;
	int default_value; /* -1: values not in the map give no sample */
};

/* How a vehicle can show a role (bits). */
#define ROLEMAP_BROADCAST 1u /* a DBC signal: seen by listening */
#define ROLEMAP_DID 2u	     /* a DID: seen only when a tester reads it (UDS 0x22) */

/*
 * Binds every [role] source of profile p to db (may be NULL: then a DBC source is an
 * error). Returns 0 and *ret (owned by the caller; p and db must outlive it); -EINVAL with
 * *err filled (the profile's file, the line and column of the source); -ENOMEM.
 */
int rolemap_new(const struct profile *p, const struct dbc *db, struct profile_error *err,
		struct rolemap **ret);
/* Accepts NULL, returns NULL. */
struct rolemap *rolemap_free(struct rolemap *m);

static inline void rolemap_freep(struct rolemap **m)
{
	rolemap_free(*m);
}

size_t rolemap_source_count(const struct rolemap *m);
const struct rolemap_source *rolemap_source_at(const struct rolemap *m, size_t i); /* NULL out of range */

/* ROLEMAP_* bits: how the vehicle shows registry role `role`; 0 when it does not. */
unsigned rolemap_provides(const struct rolemap *m, unsigned role);

/*
 * The role value of one decoded source value (raw: the integer in the frame or payload;
 * phys: its physical value). Returns 0 and *ret_value; -ENOENT when a bool/enum source's
 * map does not name raw and it has no default (no sample).
 */
int rolemap_convert(const struct rolemap_source *s, double raw, double phys, double *ret_value);

/* "BodyInfo_3_FD1.DrStatTgate_B_Actl" or "did bcm 0xD103 TrunkAjar": where a sample of
 * this source comes from. Returns snprintf's result. */
int rolemap_source_format(const struct rolemap_source *s, char *buf, size_t size);
