/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * can_link: CAN interface control through libsocketcan (netlink): bitrate, restart
 * after bus-off, start/stop, state and error counters.
 */

#include <stdbool.h>
#include <stdint.h>

enum can_link_state {
	CAN_LINK_STATE_ERROR_ACTIVE,
	CAN_LINK_STATE_ERROR_WARNING,
	CAN_LINK_STATE_ERROR_PASSIVE,
	CAN_LINK_STATE_BUS_OFF,
	CAN_LINK_STATE_STOPPED,
	CAN_LINK_STATE_SLEEPING,
	CAN_LINK_STATE_UNKNOWN,
	_CAN_LINK_STATE_MAX,
};

/* Controller mode bits: the kernel's CAN_CTRLMODE_* values (linux/can/netlink.h). */
enum can_link_ctrlmode {
	CAN_LINK_CTRLMODE_LOOPBACK = 0x01,
	CAN_LINK_CTRLMODE_LISTENONLY = 0x02,	 /* never drives the bus: no ACK, no error flags, no tx */
	CAN_LINK_CTRLMODE_3_SAMPLES = 0x04,
	CAN_LINK_CTRLMODE_ONE_SHOT = 0x08,
	CAN_LINK_CTRLMODE_BERR_REPORTING = 0x10, /* bus errors as error frames (CAN_ERR_PROT) */
};

struct can_link_info {
	enum can_link_state state;
	uint32_t ctrlmode;   /* enum can_link_ctrlmode bits; 0 when the device has none (vcan) */
	uint32_t bitrate;    /* 0 when the device has no bit timing (vcan) */
	uint32_t sample_point_permille;
	uint32_t restart_ms;
	uint16_t txerr;      /* transmit error counter */
	uint16_t rxerr;      /* receive error counter */
	uint32_t bus_error;  /* cumulative device statistics */
	uint32_t error_warning;
	uint32_t error_passive;
	uint32_t bus_off;
	uint32_t restarts;
	uint32_t arbitration_lost;
};

/* "ERROR-ACTIVE", ... as `ip -details link` prints them; never NULL. */
const char *can_link_state_name(enum can_link_state s);

/*
 * Stops the link, sets bitrate (0 keeps the current one) and restart-ms (negative keeps
 * the current value), then starts it again. The kernel refuses restart-ms changes on a
 * running link, which is why the stop comes first. Returns 0 or -errno.
 */
int can_link_configure(const char *ifname, uint32_t bitrate, int restart_ms);

/* Brings the link up and waits (at most 1 s) until the kernel sends on it (IFF_RUNNING:
 * frames sent before that are dropped silently). */
int can_link_start(const char *ifname);
int can_link_stop(const char *ifname);
/* Manual restart after bus-off (only valid in BUS-OFF with restart-ms 0). */
int can_link_restart(const char *ifname);

/* Reads state, bit timing and counters. Devices without bit timing (vcan) report
 * bitrate 0 and state UNKNOWN rather than failing. Returns 0 or -errno. */
int can_link_get_info(const char *ifname, struct can_link_info *ret);

/* The controller mode bits (enum can_link_ctrlmode) as the kernel reports them.
 * 0 and *ret_flags; -ENODEV no such interface; -EOPNOTSUPP a device without CAN netlink
 * data (vcan); -errno. */
int can_link_get_ctrlmode(const char *ifname, uint32_t *ret_flags);

/* 1 when the interface is administratively up, 0 when down, -errno. */
int can_link_is_up(const char *ifname);

/*
 * Reconfigures the controller: stops the link (the kernel refuses bit timing and ctrlmode
 * changes on a running link), sets the bitrate (0 keeps it), sets the ctrlmode bits in mask
 * to their value in flags (mask 0 leaves the mode alone), and starts the link again when
 * start is true. The result is read back: -EIO when the kernel did not take the bitrate or
 * the mode. Returns 0 or -errno (-EOPNOTSUPP: the driver lacks that mode).
 */
int can_link_set_mode(const char *ifname, uint32_t bitrate, uint32_t mask, uint32_t flags,
		      bool start);

/*
 * Puts the controller at bitrate (0 keeps it) in listen-only mode and starts it, with
 * bus-error reporting when the driver has it (*ret_berr, may be NULL, says whether it
 * does): a wrong bitrate then shows as error frames at once, else as silence. 0 or -errno
 * (-EOPNOTSUPP: no listen-only mode at all).
 */
int can_link_set_listen_only(const char *ifname, uint32_t bitrate, bool *ret_berr);

/* What can_link_restore() puts back: up or down, bitrate, controller mode. */
struct can_link_saved {
	bool up;
	uint32_t bitrate;  /* 0: the device had no bit timing (nothing to restore) */
	uint32_t ctrlmode;
};

/* Records the link's configuration. 0 or -errno. */
int can_link_save(const char *ifname, struct can_link_saved *ret);
/* Puts it back: bitrate and the listen-only and bus-error-reporting bits, then up or down
 * as it was. 0 or -errno. */
int can_link_restore(const char *ifname, const struct can_link_saved *s);
