/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * route: what a CAN frame is, for one vehicle load (a DBC and a vehicle profile),
 * decided by one hash lookup: a frame of a DBC message (and which), a frame on a profile
 * ECU's physical request or response id (and which ECU), a functional request (0x7DF),
 * an error frame, a remote frame, or an identifier nobody knows.
 *
 * The table is built once per load and is read-only afterwards, so any number of
 * readers (the engine, the daemon's frame router) may share it. Indices are those of
 * dbc_message_at() and profile_ecu_at(). Diagnostic ids win over a DBC message with the
 * same id (a DBC that lists the diagnostic frames must not make them "messages"); of
 * two messages with one id the later wins, as in the DBC itself. A frame whose id is
 * not known in its own format (11 or 29 bit) is looked up in the other one, as cantools
 * keys messages by number alone. An ECU reached with extended or mixed addressing
 * (isotp_addr.h) is keyed by its id and the address byte its frames start with, so that
 * the ECUs behind one gateway id (Toyota-style 0x750, a BMW tester's 0x6F1) are told
 * apart; a frame on such an id with another first byte is what the id alone says.
 */

#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

struct dbc;
struct profile;
struct route_table;

enum route_kind {
	ROUTE_UNKNOWN,	     /* no DBC message, no diagnostic id */
	ROUTE_MESSAGE,	     /* a DBC message: index = dbc_message_at() index */
	ROUTE_DIAG_REQUEST,  /* an ECU's physical request id: index = profile_ecu_at() index */
	ROUTE_DIAG_RESPONSE, /* an ECU's response id: index = profile_ecu_at() index */
	ROUTE_FUNCTIONAL,    /* a functional request id (0x7DF): index = the last ECU on it */
	ROUTE_ERROR,	     /* an error frame (id = CAN_ERR_* class bits) */
	ROUTE_REMOTE,	     /* a remote transmission request */
	ROUTE_KIND_MAX,
};

struct route_hit {
	enum route_kind kind;
	uint32_t index; /* see enum route_kind; 0 for the kinds without an index */
};

/*
 * Builds the table of db (may be NULL: no messages) and p (may be NULL: no diagnostic
 * ids); both must outlive it. Returns 0, -ENOMEM.
 */
int route_table_new(const struct dbc *db, const struct profile *p, struct route_table **ret);
/* Accepts NULL, returns NULL. */
struct route_table *route_table_free(struct route_table *t);

/* What f is. t may be NULL (every data frame is then ROUTE_UNKNOWN). Pure, O(1). */
struct route_hit route_classify(const struct route_table *t, const struct bd_frame *f);

/* The sizes the indices range over. */
size_t route_table_message_count(const struct route_table *t);
size_t route_table_ecu_count(const struct route_table *t);

/* "unknown", "message", "diag_request", "diag_response", "functional", "error",
 * "remote"; NULL out of range. */
const char *route_kind_name(enum route_kind k);

/* The error class bit a controller sets when it went bus-off (linux/can/error.h's
 * CAN_ERR_BUSOFF; lib core includes no kernel headers). */
#define ROUTE_CAN_ERR_BUSOFF 0x40u
