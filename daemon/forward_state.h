/* SPDX-License-Identifier: MIT */
/*
 * The forwarder's state file ([mqtt] state_file, default /run/bodydiag/forward.state):
 * how bodydiag-forward (forward/) tells the daemon, which has no network, whether it is
 * connected to the broker and what it sent. One JSON object, written atomically (a
 * temporary file in the same folder, then rename) on every change of the link and at
 * least every FORWARD_STATE_HEARTBEAT_S seconds; the daemon reads it for `status` and the
 * metrics and calls it stale (the forwarder is not running) when the last write is older
 * than FORWARD_STATE_STALE_S by CLOCK_BOOTTIME, which a wall-clock step cannot fool.
 * Format and parsing are pure (fuzz target forward-state).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FORWARD_STATE_HEARTBEAT_S 10
#define FORWARD_STATE_STALE_S 30
#define FORWARD_STATE_MAX_BYTES 16384

enum forward_link {
	FORWARD_LINK_STARTING,   /* started, no attempt made yet */
	FORWARD_LINK_CONNECTING, /* an attempt under way (TCP, TLS, CONNECT) */
	FORWARD_LINK_CONNECTED,  /* the broker accepted the connection */
	FORWARD_LINK_WAITING,    /* refused or lost: the next attempt at retry_us */
	FORWARD_LINK_STOPPED,    /* a clean stop (offline/stop sent when connected) */
	FORWARD_LINK_MAX,
};

struct forward_state {
	enum forward_link link;
	int64_t pid;
	int64_t updated_boot_us; /* CLOCK_BOOTTIME of the write: freshness */
	int64_t updated_us;      /* wall clock of the write */
	int64_t since_us;        /* wall clock: when the link state began */
	int64_t retry_us;        /* wall clock of the next attempt (waiting), else 0 */
	char broker[300];        /* host:port */
	bool tls;
	char unit[65];
	int64_t epoch;
	char error[256];         /* the last failure ("" none): refused, lost, TLS, ... */
	uint64_t published;      /* records published, first sends */
	uint64_t resent;         /* records published again (no receipt in time, reconnect) */
	uint64_t receipted;      /* records a receipt covered (removed from the outbox) */
	uint64_t rejected;       /* of those, refused by the ingest for good */
	uint64_t connects;       /* connections the broker accepted */
	uint64_t failures;       /* attempts refused or failed, connections lost */
	int64_t last_receipt_us; /* wall clock of the last receipt, 0 = none yet */
};

/* "starting", "connecting", "connected", "waiting", "stopped"; NULL out of range. */
const char *forward_link_name(enum forward_link l);

/* The state as one line of JSON (malloc'd) or NULL on out of memory. */
char *forward_state_format(const struct forward_state *s);
/*
 * Parses a state file's contents; unknown members are ignored (a newer forwarder). Returns
 * 0 or -EINVAL with the reason in err (JSON position or the member).
 */
int forward_state_parse(const char *buf, size_t len, struct forward_state *ret, char *err,
			size_t err_size);

/* Writes path atomically (path.tmp, fsync-free: it lives in /run). Returns 0 or -errno. */
int forward_state_write(const char *path, const struct forward_state *s);
/* Reads and parses path: 0, -ENOENT (no forwarder ran since boot), -EFBIG, -EINVAL, -errno. */
int forward_state_read(const char *path, struct forward_state *ret, char *err, size_t err_size);

/* Written within FORWARD_STATE_STALE_S of boot_now_us (CLOCK_BOOTTIME). */
bool forward_state_fresh(const struct forward_state *s, int64_t boot_now_us);

/*
 * The `mqtt` member of the daemon's status: the forwarder's state (s NULL, or not fresh:
 * "not running"), the broker it names (else broker, the config's), the outbox's backlog
 * and oldest record from the history, and the rows the outbox bound dropped.
 */
json_t *forward_state_status_json(const struct forward_state *s, bool fresh, const char *broker,
				  uint64_t backlog, int64_t oldest_us, uint64_t dropped);
