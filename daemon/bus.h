/* SPDX-License-Identifier: MIT */
/*
 * The daemon's hold on one CAN interface: a CAN_RAW listener with kernel ID filters,
 * kernel receive timestamps turned into monotonic time, drop and error counters, link
 * control through libsocketcan (bitrate, restart-ms, restart after bus-off), and a
 * netlink watch that detaches when the link goes down or the adapter disappears and
 * reattaches when it comes back, without restarting the daemon.
 *
 * Listen-only: the bus never transmits by itself. Frames go to the frame router
 * (daemon/router.h), which classifies and decodes them once for every module.
 *
 * The controller's own listen-only mode (CAN_CTRLMODE_LISTENONLY: no ACK, no error flag,
 * nothing sent) is set here, as the transmit policy (policy.c) asks: for good, while the
 * daemon only listens (bus_set_listen_only() takes it out and puts it back), or never.
 * Changing it means taking the link down and up again; the bus swallows the outage that
 * makes on its own socket, so it shows in no history.
 *
 * Bitrate detection ([can] bitrate = auto): before the first attach the controller is put
 * in listen-only mode with bus-error reporting and lib/bitrate_detect tries the usual
 * bitrates (the profile's first), bounded in time; the bitrate found is kept, and a run
 * that finds none is tried again after BUS_DETECT_RETRY_S while the bus stays detached.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/bitrate_detect.h"
#include "bodydiag/frame.h"
#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/can_raw.h"

struct ev_loop;
struct bus;

enum bus_event {
	BUS_EVENT_ATTACHED,   /* listening (at start, or after an outage: detail says how long) */
	BUS_EVENT_DETACHED,   /* outage begins: link down, adapter gone, or read error */
	BUS_EVENT_STATE,      /* controller state changed (ERROR-WARNING, ERROR-PASSIVE, BUS-OFF...) */
	BUS_EVENT_RESTARTED,  /* we restarted the controller after bus-off */
	BUS_EVENT_DROPS,      /* the kernel dropped frames because we were too slow */
	BUS_EVENT_CONFIG_FAILED, /* bitrate/restart-ms/controller mode could not be applied */
	BUS_EVENT_BITRATE,    /* bitrate detection ended (detail: what it found, per bitrate) */
	_BUS_EVENT_MAX,
};

/* The controller's listen-only mode, as the transmit policy wants it. */
enum bus_listen_only {
	BUS_LISTEN_ONLY_LEAVE,	/* never touched: as the system configured it */
	BUS_LISTEN_ONLY_IDLE,	/* set at attach; bus_set_listen_only() switches it */
	BUS_LISTEN_ONLY_ALWAYS, /* set at attach and kept; no attach when it cannot be set */
	BUS_LISTEN_ONLY_MAX,
};

enum bus_detect_state {
	BUS_DETECT_OFF,	      /* a fixed bitrate (or none) */
	BUS_DETECT_RUNNING,   /* listening through the bitrates */
	BUS_DETECT_FOUND,     /* the bus runs at detect.bitrate */
	BUS_DETECT_FAILED,    /* none found (detail in detect.text); tried again later */
	BUS_DETECT_VIRTUAL,   /* the device has no bit timing (vcan): nothing to detect */
	BUS_DETECT_REFUSED,   /* the controller has no listen-only mode: never tried */
	BUS_DETECT_STATE_MAX,
};

#define BUS_DETECT_RETRY_S 30.0

/* What the last detection saw; per bitrate as lib/bitrate_detect reports it. */
struct bus_detect {
	enum bus_detect_state state;
	uint32_t bitrate; /* FOUND */
	bool bus_error_reporting;
	size_t n;
	struct bitrate_detect_result results[BITRATE_DETECT_MAX];
	int64_t t_us; /* when it ended (monotonic), 0 = not yet */
	char text[160]; /* one line: "500k found in 1.6 s", "no traffic at any bitrate" */
};

struct bus_opts {
	const char *ifname;
	bool configure_link;   /* apply bitrate/restart_ms when attaching (needs CAP_NET_ADMIN) */
	uint32_t bitrate;      /* with configure_link; 0 keeps the current one */
	int restart_ms;        /* with configure_link; < 0 keeps the current one */
	bool restart_bus_off;  /* restart the controller ourselves after bus-off when the
				* kernel's restart-ms is 0 (after restart_holdoff_s) */
	double restart_holdoff_s;
	bool can_fd;           /* receive CAN FD frames */
	enum bus_listen_only listen_only;
	bool detect_bitrate;   /* [can] bitrate = auto (configure_link's bitrate ignored) */
	uint32_t detect_first; /* tried first (the profile's bitrate); 0 = the usual order */
	bool error_frames;     /* receive error frames (counted, and passed to ops.frame) */
	const struct can_raw_filter *filters; /* copied; NULL/0: everything */
	size_t n_filters;
	double poll_interval_s; /* how often the controller state and counters are read; default 1 */
	int rcvbuf;            /* socket receive buffer in bytes; 0: 1 MiB */
};

struct bus_stats {
	bool attached;
	uint64_t frames;
	uint64_t error_frames;
	uint64_t drops;          /* kernel's drop count, summed over reattachments */
	uint64_t outages;
	uint64_t restarts;       /* by us, after bus-off */
	int64_t last_frame_us;   /* monotonic µs of the last frame, 0 = none yet */
	int64_t outage_us;       /* total time detached */
	struct can_link_info link; /* last poll */
	bool controller;	   /* a controller with a mode (not vcan) */
	bool listen_only;	   /* it is in listen-only mode now */
	char mode_error[128];	   /* why the mode could not be set, "" = fine */
};

struct bus_ops {
	/* Every received frame (data, remote, and error frames when error_frames is set),
	 * t_us in CLOCK_MONOTONIC µs. Must not free the bus. */
	void (*frame)(void *userdata, const struct bd_timed_frame *f);
	/* Attachment, state and counter events; detail is a short human-readable text. */
	void (*event)(void *userdata, enum bus_event ev, const char *detail);
};

/*
 * Whether ifname can be the daemon's CAN interface: 1 when it is a CAN interface (link
 * type ARPHRD_CAN), 0 when it does not exist (yet: an adapter may be plugged in later),
 * -EMEDIUMTYPE when it exists and is something else (lo, an Ethernet port), with why
 * ("lo is not a CAN interface (link type 772, loopback)"), other -errno.
 */
int bus_check_interface(const char *ifname, char *why, size_t size);

/* Starts watching opts->ifname. The interface need not exist yet: the bus then starts
 * detached and attaches when it appears. Returns 0 or -errno (netlink unavailable,
 * out of memory). */
int bus_new(struct ev_loop *loop, const struct bus_opts *opts, const struct bus_ops *ops,
	    void *userdata, struct bus **ret);
/* Stops every watcher and closes the sockets. Accepts NULL, returns NULL. */
struct bus *bus_free(struct bus *b);

/* New kernel ID filters (copied; NULL = everything), applied to the open socket at once
 * and kept for reattachments (SIGHUP with a new DBC or profile). Returns 0, -E2BIG (over
 * the kernel's 512), -ENOMEM, -errno; the old filters stay on failure. */
int bus_set_filters(struct bus *b, const struct can_raw_filter *filters, size_t n_filters);
void bus_get_stats(const struct bus *b, struct bus_stats *ret);
const char *bus_event_name(enum bus_event ev);

/*
 * Puts the controller in listen-only mode (on) or takes it out (off), as the transmit
 * policy decides; returns at once when it is so already, when the device has no
 * controller mode (vcan), or with BUS_LISTEN_ONLY_LEAVE. Returns 0; -EPERM for off with
 * BUS_LISTEN_ONLY_ALWAYS; -ENETDOWN while detached; -errno from the kernel (why in
 * stats.mode_error).
 */
int bus_set_listen_only(struct bus *b, bool on);
/* The last bitrate detection (state BUS_DETECT_OFF without [can] bitrate = auto). */
const struct bus_detect *bus_detect_info(const struct bus *b);
/* "off", "running", "found", "failed", "virtual", "refused". */
const char *bus_detect_state_name(enum bus_detect_state s);

/* For `status`: {"present":..,"mode":"idle"|"always"|"leave","listen_only":..,
 * "error":null|"...","bitrate":"auto"|"fixed","detection":null|{"state":..,"bitrate":..,
 * "text":..,"bus_error_reporting":..,"results":[{"bitrate":..,"verdict":..,"frames":..,
 * "error_frames":..,"listened_s":..}]}}. */
json_t *bus_status_json(const struct bus *b);
