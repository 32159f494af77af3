/* SPDX-License-Identifier: MIT */
/*
 * The publisher of bodydiag-forward: the unit's side of the fleet contract (docs/fleet.md,
 * section 2) over MQTT 5 with libmosquitto, driven by libev (no libmosquitto thread).
 *
 *  - One connection at a time to the configured broker, a stable client id, clean start
 *    off and a session expiry; every CONNECT carries the will "offline"/"will" of that
 *    connection (retained, QoS 1, conn = the CONNECT's time). The libmosquitto client is
 *    made anew for every connection, so its own queue never sends next to the outbox.
 *  - On every CONNACK: subscribe <prefix>/v1/<unit>/receipt (QoS 1), publish the retained
 *    "online"/"connect" status, and send again whatever awaits a receipt.
 *  - Records: the outbox rows in seq order (payload.h), QoS 1, not retained, at most
 *    `window` awaiting receipts. A row is deleted from the outbox only when a receipt of
 *    the unit's epoch covers its seq (committed or rejected); a PUBACK means nothing. A
 *    record without receipt after `resend_s` is published again, the wait doubling up to
 *    `resend_max_s` while the fleet side stays silent.
 *  - A failed attempt or a lost connection is logged at warning level and retried after
 *    a back-off from reconnect_min_s doubling to reconnect_max_s. An attempt (TCP, TLS,
 *    CONNACK) that takes 30 s has failed; a refused or reset socket during the TLS
 *    handshake fails at once (libmosquitto 2.0 alone would keep it "connecting").
 *  - publisher_stop(): "offline"/"stop" (retained), then DISCONNECT, which suppresses the
 *    will.
 *  - The state file (daemon/forward_state.h) on every change of the link and every
 *    FORWARD_STATE_HEARTBEAT_S seconds, for the daemon's status and metrics.
 *
 * Host names are resolved by libmosquitto with a blocking getaddrinfo: this process has
 * nothing else to serve meanwhile.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/forward_state.h"

struct ev_loop;
struct history;

struct publisher_options {
	const char *host;      /* required */
	uint16_t port;         /* 0 = 1883, or 8883 with TLS */
	bool tls;              /* verify the broker's certificate and host name */
	const char *ca_file;   /* NULL = the system store /etc/ssl/certs */
	const char *cert_file, *key_file; /* client certificate: both or neither */
	const char *username, *password;  /* NULL = anonymous */
	const char *unit;      /* required, fleet_unit_valid */
	const char *client_id; /* NULL = unit */
	const char *prefix;    /* NULL = "bodydiag" */
	const char *software;  /* the status' "software", e.g. "bodydiag 0.1.0" */
	unsigned keepalive_s;  /* 0 = 60 */
	unsigned session_expiry_s; /* the broker keeps the session after a disconnect */
	unsigned window;       /* records awaiting receipts at most; 0 = 20 */
	double resend_s;       /* 0 = 5 */
	double resend_max_s;   /* 0 = 300 */
	double reconnect_min_s, reconnect_max_s; /* 0 = 1 and 60 */
	double poll_s;         /* how often the outbox is looked at; 0 = 0.5 */
	const char *state_file; /* NULL = none */
	/* Called on every change of the link state (may be NULL): sd_notify STATUS=. */
	void (*on_link)(void *userdata, const struct forward_state *st);
	void *userdata;
};

struct publisher;

/*
 * Starts connecting (a broker that is down is not an error: the outbox waits). h must
 * outlive the publisher; its outbox must have an epoch. Returns 0, -EINVAL, -ENOMEM, -EIO
 * when libmosquitto refuses the settings (e.g. an unreadable CA, certificate or key).
 */
int publisher_new(struct ev_loop *loop, struct history *h, const struct publisher_options *o,
		  struct publisher **ret);
/* The clean stop: offline/stop and DISCONNECT when connected, the state file "stopped". */
void publisher_stop(struct publisher *p);
struct publisher *publisher_free(struct publisher *p);

const struct forward_state *publisher_state(const struct publisher *p);
