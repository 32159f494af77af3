/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libsocketcan.h>
#include <linux/can/netlink.h>

#include "bodydiag/linux/can_link.h"

/* libsocketcan returns -1 without errno on most failures; keep errno when it set one. */
static int fail_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

const char *can_link_state_name(enum can_link_state s)
{
	switch (s) {
	case CAN_LINK_STATE_ERROR_ACTIVE:
		return "ERROR-ACTIVE";
	case CAN_LINK_STATE_ERROR_WARNING:
		return "ERROR-WARNING";
	case CAN_LINK_STATE_ERROR_PASSIVE:
		return "ERROR-PASSIVE";
	case CAN_LINK_STATE_BUS_OFF:
		return "BUS-OFF";
	case CAN_LINK_STATE_STOPPED:
		return "STOPPED";
	case CAN_LINK_STATE_SLEEPING:
		return "SLEEPING";
	case CAN_LINK_STATE_UNKNOWN:
	case _CAN_LINK_STATE_MAX:
		break;
	}
	return "UNKNOWN";
}

static enum can_link_state map_state(int s)
{
	switch (s) {
	case CAN_STATE_ERROR_ACTIVE:
		return CAN_LINK_STATE_ERROR_ACTIVE;
	case CAN_STATE_ERROR_WARNING:
		return CAN_LINK_STATE_ERROR_WARNING;
	case CAN_STATE_ERROR_PASSIVE:
		return CAN_LINK_STATE_ERROR_PASSIVE;
	case CAN_STATE_BUS_OFF:
		return CAN_LINK_STATE_BUS_OFF;
	case CAN_STATE_STOPPED:
		return CAN_LINK_STATE_STOPPED;
	case CAN_STATE_SLEEPING:
		return CAN_LINK_STATE_SLEEPING;
	default:
		return CAN_LINK_STATE_UNKNOWN;
	}
}

/* Whether ifname has flag (IFF_UP, IFF_RUNNING): 1, 0, or -errno. */
static int link_flag(const char *ifname, int flag)
{
	struct ifreq ifr = {0};
	int fd, r;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENODEV;
	/* Any socket reaches the generic device ioctls; AF_UNIX exists everywhere. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	r = ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -errno : !!(ifr.ifr_flags & flag);
	close(fd);
	return r;
}

int can_link_start(const char *ifname)
{
	struct timespec ms = {.tv_nsec = 1000000};

	errno = 0;
	if (can_do_start(ifname) < 0)
		return fail_errno();
	/* Up is not yet ready: the kernel's linkwatch work attaches the device's queueing
	 * discipline once the carrier is seen, asynchronously, and until then every frame
	 * sent is dropped without an error (the noop qdisc). IFF_RUNNING is set in the same
	 * step; wait for it, at most 1 s (a device that never gets a carrier is still up). */
	for (int i = 0; i < 1000 && link_flag(ifname, IFF_RUNNING) == 0; i++)
		nanosleep(&ms, NULL);
	return 0;
}

int can_link_stop(const char *ifname)
{
	errno = 0;
	if (can_do_stop(ifname) < 0)
		return fail_errno();
	return 0;
}

int can_link_restart(const char *ifname)
{
	errno = 0;
	if (can_do_restart(ifname) < 0)
		return fail_errno();
	return 0;
}

/* Stops the link (bit timing and ctrlmode can only change on a stopped link) and sets the
 * bitrate when not 0. */
static int stop_with_bitrate(const char *ifname, uint32_t bitrate)
{
	int r = can_link_stop(ifname);

	if (r < 0)
		return r;
	if (bitrate > 0) {
		errno = 0;
		if (can_set_bitrate(ifname, bitrate) < 0)
			return fail_errno();
	}
	return 0;
}

int can_link_configure(const char *ifname, uint32_t bitrate, int restart_ms)
{
	int r;

	r = stop_with_bitrate(ifname, bitrate);
	if (r < 0)
		return r;
	if (restart_ms >= 0) {
		/* Must happen while the link is down: the kernel answers EBUSY otherwise. */
		errno = 0;
		if (can_set_restart_ms(ifname, (uint32_t)restart_ms) < 0)
			return fail_errno();
	}
	return can_link_start(ifname);
}

int can_link_get_info(const char *ifname, struct can_link_info *ret)
{
	struct can_link_info info = {.state = CAN_LINK_STATE_UNKNOWN};
	struct can_bittiming bt;
	struct can_berr_counter bec;
	struct can_device_stats st;
	int state;
	uint32_t restart_ms;

	if (if_nametoindex(ifname) == 0)
		return -ENODEV;
	/* vcan and other devices without a CAN controller have no IFLA_CAN_* data at all;
	 * that is not an error for the caller, just "no bit timing". */
	if (can_get_state(ifname, &state) == 0)
		info.state = map_state(state);

	memset(&bt, 0, sizeof(bt));
	if (can_get_bittiming(ifname, &bt) == 0) {
		info.bitrate = bt.bitrate;
		info.sample_point_permille = bt.sample_point;
	}
	if (can_get_restart_ms(ifname, &restart_ms) == 0)
		info.restart_ms = restart_ms;
	info.ctrlmode = 0;
	(void)can_link_get_ctrlmode(ifname, &info.ctrlmode);
	memset(&bec, 0, sizeof(bec));
	if (can_get_berr_counter(ifname, &bec) == 0) {
		info.txerr = bec.txerr;
		info.rxerr = bec.rxerr;
	}
	memset(&st, 0, sizeof(st));
	if (can_get_device_stats(ifname, &st) == 0) {
		info.bus_error = st.bus_error;
		info.error_warning = st.error_warning;
		info.error_passive = st.error_passive;
		info.bus_off = st.bus_off;
		info.restarts = st.restarts;
		info.arbitration_lost = st.arbitration_lost;
	}
	*ret = info;
	return 0;
}

int can_link_get_ctrlmode(const char *ifname, uint32_t *ret_flags)
{
	struct can_ctrlmode cm = {0};

	if (if_nametoindex(ifname) == 0)
		return -ENODEV;
	errno = 0;
	if (can_get_ctrlmode(ifname, &cm) < 0)
		return errno > 0 ? -errno : -EOPNOTSUPP;
	*ret_flags = cm.flags;
	return 0;
}

int can_link_is_up(const char *ifname)
{
	return link_flag(ifname, IFF_UP);
}

int can_link_set_mode(const char *ifname, uint32_t bitrate, uint32_t mask, uint32_t flags,
		      bool start)
{
	struct can_bittiming bt = {0};
	uint32_t now;
	int r;

	r = stop_with_bitrate(ifname, bitrate);
	if (r < 0)
		return r;
	if (mask) {
		struct can_ctrlmode cm = {.mask = mask, .flags = flags & mask};
		errno = 0;
		if (can_set_ctrlmode(ifname, &cm) < 0)
			return fail_errno();
	}
	/* Read back: a driver may round the bitrate or keep a mode it cannot change, and
	 * a caller that promised listen-only must know it really is. */
	if (bitrate > 0) {
		if (can_get_bittiming(ifname, &bt) < 0)
			return fail_errno();
		if (bt.bitrate == 0 || bt.bitrate > bitrate + bitrate / 100 ||
		    bt.bitrate < bitrate - bitrate / 100)
			return -EIO;
	}
	if (mask) {
		r = can_link_get_ctrlmode(ifname, &now);
		if (r < 0)
			return r;
		if ((now & mask) != (flags & mask))
			return -EIO;
	}
	return start ? can_link_start(ifname) : 0;
}

int can_link_set_listen_only(const char *ifname, uint32_t bitrate, bool *ret_berr)
{
	const uint32_t bits = CAN_LINK_CTRLMODE_LISTENONLY | CAN_LINK_CTRLMODE_BERR_REPORTING;
	int r = can_link_set_mode(ifname, bitrate, bits, bits, true);
	bool berr = true;

	if (r == -EOPNOTSUPP) {
		berr = false;
		r = can_link_set_mode(ifname, bitrate, CAN_LINK_CTRLMODE_LISTENONLY,
				      CAN_LINK_CTRLMODE_LISTENONLY, true);
	}
	if (r >= 0 && ret_berr)
		*ret_berr = berr;
	return r;
}

int can_link_save(const char *ifname, struct can_link_saved *ret)
{
	struct can_link_saved s = {0};
	struct can_bittiming bt = {0};
	int r;

	r = can_link_is_up(ifname);
	if (r < 0)
		return r;
	s.up = r;
	if (can_get_bittiming(ifname, &bt) == 0)
		s.bitrate = bt.bitrate;
	r = can_link_get_ctrlmode(ifname, &s.ctrlmode);
	if (r < 0 && r != -EOPNOTSUPP)
		return r;
	*ret = s;
	return 0;
}

int can_link_restore(const char *ifname, const struct can_link_saved *s)
{
	int r;

	if (s->bitrate == 0)
		return 0; /* no controller (vcan): nothing was changed */
	r = can_link_set_mode(ifname, s->bitrate,
			      CAN_LINK_CTRLMODE_LISTENONLY | CAN_LINK_CTRLMODE_BERR_REPORTING,
			      s->ctrlmode, s->up);
	return r;
}
