/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * can_link: CAN interface control through libsocketcan (netlink): bitrate, restart
 * after bus-off, start/stop, state and error counters.
 */

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

struct can_link_info {
	enum can_link_state state;
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

int can_link_start(const char *ifname);
int can_link_stop(const char *ifname);
/* Manual restart after bus-off (only valid in BUS-OFF with restart-ms 0). */
int can_link_restart(const char *ifname);

/* Reads state, bit timing and counters. Devices without bit timing (vcan) report
 * bitrate 0 and state UNKNOWN rather than failing. Returns 0 or -errno. */
int can_link_get_info(const char *ifname, struct can_link_info *ret);
