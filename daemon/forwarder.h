/* SPDX-License-Identifier: MIT */
/*
 * MQTT forwarder (libmosquitto, built only with -Dmqtt=enabled/auto and the library
 * present: HAVE_MOSQUITTO in config.h).
 *
 * Records go to <prefix>/<vin>/findings and <prefix>/<vin>/dtc with QoS 1 through a
 * store-and-forward queue in the history database: forwarder_publish() commits the
 * record to the queue first, and a row is deleted only when the broker's PUBACK for it
 * arrived. After a reconnect or a daemon restart every row still in the queue is sent
 * again, oldest first. <prefix>/<vin>/status holds "online" (retained), and the broker
 * publishes the retained last will "offline" when the connection dies.
 *
 * Delivery is at least once on the wire (a PUBACK lost with the connection means that
 * record is sent again) and exactly once from the queue's point of view: each row is
 * removed once, on its acknowledgement. Receivers that must not see a repeat can dedupe
 * on a record id inside the payload.
 *
 * Driven entirely by libev: the client's socket is watched with ev_io
 * (mosquitto_loop_read/_write), a 1 s timer runs mosquitto_loop_misc (keepalive), and
 * reconnects back off from reconnect_min_s to reconnect_max_s. No libmosquitto thread.
 * Host names are resolved with getaddrinfo in the loop: use an IP address or a name in
 * /etc/hosts where a slow resolver would stall the daemon.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct history;
struct metrics;

struct forwarder_options {
	const char *host;      /* required */
	uint16_t port;         /* 0 = 1883, or 8883 with TLS */
	bool tls;
	const char *cafile;    /* TLS: NULL = the system store /etc/ssl/certs */
	const char *certfile, *keyfile; /* TLS client certificate, both or neither */
	const char *username, *password; /* NULL = anonymous */
	const char *client_id; /* required; stable across restarts (persistent session) */
	const char *prefix;    /* topic prefix; NULL = "bodydiag" */
	const char *vin;       /* NULL/"" = "unknown" until forwarder_set_vin */
	unsigned keepalive_s;  /* 0 = 60 */
	unsigned max_inflight; /* unacknowledged publishes at once; 0 = 20 */
	unsigned queue_max;    /* queue rows kept at most, oldest dropped; 0 = 100000 */
	double reconnect_min_s, reconnect_max_s; /* 0 = 1 and 60 */
};

struct forwarder;

/*
 * Creates the forwarder and starts connecting (in the background: a broker that is down
 * is not an error, records queue up). h must outlive the forwarder. Returns 0, -EINVAL,
 * -ENOMEM, or -EIO when libmosquitto refused the settings (e.g. unreadable TLS files).
 */
int forwarder_new(struct ev_loop *loop, struct history *h, const struct forwarder_options *opt,
		  struct forwarder **ret);
/* Publishes "offline" and disconnects cleanly when connected. Accepts NULL, returns NULL. */
struct forwarder *forwarder_free(struct forwarder *f);

/*
 * Queues payload for <prefix>/<vin>/<kind> (kind: "findings", "dtc"; [a-z0-9_-]) and
 * sends it when connected. Returns 0 once committed to the queue, -EINVAL, -errno.
 */
int forwarder_publish(struct forwarder *f, const char *kind, const char *payload, size_t len,
		      int64_t t_us);

/*
 * Makes the history queue every finding and DTC transition it records, in the record's
 * own transaction (history_forward_enable), on <prefix>/<vin>/findings and .../dtc with
 * the record's JSON (docs/api.md, "history") as payload, and sends them from there.
 * This is how the daemon forwards; forwarder_publish() is for anything else. Undone by
 * forwarder_free(). Returns 0 or -errno.
 */
int forwarder_forward_history(struct forwarder *f);

/*
 * The vehicle changed: later records go to the new VIN's topics; the status topic and
 * the last will follow on the next connection (the current one is closed cleanly after
 * "offline" on the old status topic). Returns 0, -EINVAL (not a printable VIN).
 */
int forwarder_set_vin(struct forwarder *f, const char *vin);

bool forwarder_connected(const struct forwarder *f);
/* Rows in the queue, and rows dropped because it was full since forwarder_new. */
int forwarder_queue_depth(struct forwarder *f, uint64_t *ret);
uint64_t forwarder_dropped(const struct forwarder *f);
/* Acknowledged publishes since forwarder_new. */
uint64_t forwarder_acked(const struct forwarder *f);

/* Adds a collector that reports the queue depth to metrics. */
int forwarder_metrics_register(struct forwarder *f, struct metrics *m);

/*
 * Parses a credentials file: the first line is the user name, the second the password
 * (both without the newline; a trailing \r is dropped; nothing may follow). Pure; the
 * strings are malloc'd. Returns 0, -EINVAL with line/column/reason in ret_error, -ENOMEM.
 */
int forwarder_parse_credentials(const char *buf, size_t len, char **ret_user, char **ret_pass,
				char *ret_error, size_t error_size);

/*
 * Reads and parses the credentials file at path ([mqtt] credentials): at most 4 KiB.
 * Returns 0, -errno from open/read, -EFBIG, or -EINVAL with "path: line L, column C:
 * reason" in ret_error.
 */
int forwarder_load_credentials(const char *path, char **ret_user, char **ret_pass,
			       char *ret_error, size_t error_size);
