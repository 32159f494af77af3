/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_arp.h>

#include "bodydiag/linux/link_watch.h"
#include "bus.h"
#include "macro.h"

/* Frames read per wakeup before returning to the loop, so a flooded bus cannot starve
 * the API clients and timers. */
#define READ_BATCH 256

struct bus {
	struct ev_loop *loop;
	struct bus_opts opts;
	char ifname[32];
	struct can_raw_filter *filters; /* NULL: receive everything */
	size_t n_filters;
	struct bus_ops ops;
	void *userdata;

	int fd; /* CAN_RAW, -1 while detached */
	ev_io io;
	struct link_watch *watch;
	ev_io watch_io;
	ev_timer poll;

	uint32_t kernel_drops; /* last SO_RXQ_OVFL value of the current socket */
	int64_t detached_since_us;
	int64_t bus_off_since_us;
	enum can_link_state last_state;
	struct bus_stats stats;
};

const char *bus_event_name(enum bus_event ev)
{
	switch (ev) {
	case BUS_EVENT_ATTACHED:
		return "attached";
	case BUS_EVENT_DETACHED:
		return "detached";
	case BUS_EVENT_STATE:
		return "state";
	case BUS_EVENT_RESTARTED:
		return "restarted";
	case BUS_EVENT_DROPS:
		return "drops";
	case BUS_EVENT_CONFIG_FAILED:
		return "config_failed";
	case _BUS_EVENT_MAX:
		break;
	}
	return "?";
}

static void emit(struct bus *b, enum bus_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void emit(struct bus *b, enum bus_event ev, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	if (!b->ops.event)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	b->ops.event(b->userdata, ev, detail);
}

static void detach(struct bus *b, const char *why)
{
	if (b->fd < 0)
		return;
	ev_io_stop(b->loop, &b->io);
	close(b->fd);
	b->fd = -1;
	b->stats.attached = false;
	b->stats.outages++;
	b->detached_since_us = clock_now_us(CLOCK_MONOTONIC);
	emit(b, BUS_EVENT_DETACHED, "%s: %s", b->ifname, why);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents);

/* True when the link is up with the configured bit timing already. Reconfiguring means
 * down/up, which the link watch reports back to us: doing it on every attach made the
 * bus detach and reattach forever. */
static bool link_matches(struct bus *b)
{
	struct can_link_info info;

	if (link_watch_query(b->ifname) != 1 || can_link_get_info(b->ifname, &info) < 0)
		return false;
	if (b->opts.bitrate > 0 && info.bitrate != b->opts.bitrate)
		return false;
	if (b->opts.restart_ms >= 0 && info.restart_ms != (uint32_t)b->opts.restart_ms)
		return false;
	return true;
}

int bus_check_interface(const char *ifname, char *why, size_t size)
{
	int t = link_watch_link_type(ifname);

	if (t == -ENODEV)
		return 0;
	if (t < 0)
		return t;
	if (t == ARPHRD_CAN)
		return 1;
	snprintf(why, size, "%s is not a CAN interface (link type %d%s): set [can] interface to "
		 "one that `ip -details link show type can` (or type vcan) lists",
		 ifname, t, t == ARPHRD_LOOPBACK ? ", loopback" : t == ARPHRD_ETHER ? ", Ethernet" : "");
	return -EMEDIUMTYPE;
}

/* Why attaching failed, for the log: a kernel without CAN says so in its own words. */
static const char *attach_error(struct bus *b, int r, char *buf, size_t size)
{
	if (r == -EMEDIUMTYPE && bus_check_interface(b->ifname, buf, size) == -EMEDIUMTYPE)
		return buf;
	if (r == -EAFNOSUPPORT)
		return "this kernel has no CAN support (AF_CAN): modprobe can-raw";
	snprintf(buf, size, "waiting for the interface (%s)", strerror(-r));
	return buf;
}

static int attach(struct bus *b)
{
	unsigned flags = CAN_RAW_OPEN_TIMESTAMP;
	char why[256];
	int r, fd;

	if (b->fd >= 0)
		return 0;
	/* Binding a CAN socket to lo fails with ENODEV, which reads like a missing adapter
	 * and would be retried forever: a link of another type is named as such. */
	if (bus_check_interface(b->ifname, why, sizeof(why)) == -EMEDIUMTYPE)
		return -EMEDIUMTYPE;
	if (b->opts.configure_link && !link_matches(b)) {
		r = can_link_configure(b->ifname, b->opts.bitrate, b->opts.restart_ms);
		if (r < 0)
			emit(b, BUS_EVENT_CONFIG_FAILED, "%s: bitrate %u restart-ms %d: %s", b->ifname,
			     b->opts.bitrate, b->opts.restart_ms, strerror(-r));
	}
	if (link_watch_query(b->ifname) != 1)
		return -ENETDOWN;
	if (b->opts.can_fd)
		flags |= CAN_RAW_OPEN_FD;
	if (b->opts.error_frames)
		flags |= CAN_RAW_OPEN_ERR_FRAMES;
	r = can_raw_open(b->ifname, b->filters, b->n_filters, flags, &fd);
	if (r < 0)
		return r;
	r = can_raw_set_rcvbuf(fd, b->opts.rcvbuf > 0 ? b->opts.rcvbuf : 1 << 20);
	if (r < 0) {
		close(fd);
		return r;
	}
	b->fd = fd;
	b->kernel_drops = 0;
	ev_io_init(&b->io, on_readable, fd, EV_READ);
	ev_io_start(b->loop, &b->io);
	b->stats.attached = true;
	/* The link's figures are refreshed by the poll timer only while attached; a stale
	 * reading from before the outage (or from a device that was being removed) would
	 * otherwise be shown until the next tick. */
	struct can_link_info info;
	if (can_link_get_info(b->ifname, &info) == 0)
		b->stats.link = info;
	if (b->detached_since_us) {
		int64_t gone = clock_now_us(CLOCK_MONOTONIC) - b->detached_since_us;
		b->stats.outage_us += gone;
		b->detached_since_us = 0;
		emit(b, BUS_EVENT_ATTACHED, "%s: listening again after %.1f s outage", b->ifname,
		     (double)gone / 1e6);
	} else {
		emit(b, BUS_EVENT_ATTACHED, "%s: listening", b->ifname);
	}
	return 0;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bus *b = container_of(w, struct bus, io);
	/* Kernel stamps are CLOCK_REALTIME; the timeline runs on CLOCK_MONOTONIC. The offset
	 * is taken once per batch: a wall-clock step between two batches moves only the
	 * frames of one batch, never the order. */
	int64_t offset = clock_now_us(CLOCK_MONOTONIC) - clock_now_us(CLOCK_REALTIME);

	for (int i = 0; i < READ_BATCH; i++) {
		struct bd_timed_frame f;
		uint32_t drops = b->kernel_drops;
		int r = can_raw_recv(b->fd, &f, NULL, &drops);

		if (r == 0)
			return;
		if (r < 0) {
			char why[96];
			/* The socket often learns of a downed link before the netlink watch does. */
			if (r == -ENETDOWN)
				snprintf(why, sizeof(why), "link down");
			else if (r == -ENODEV)
				snprintf(why, sizeof(why), "adapter removed");
			else
				snprintf(why, sizeof(why), "read failed: %s", strerror(-r));
			detach(b, why);
			return;
		}
		if (drops != b->kernel_drops) {
			/* SO_RXQ_OVFL is cumulative per socket. */
			uint32_t lost = drops - b->kernel_drops;
			b->kernel_drops = drops;
			b->stats.drops += lost;
			emit(b, BUS_EVENT_DROPS, "%s: kernel dropped %u frames (%llu in all)", b->ifname,
			     lost, (unsigned long long)b->stats.drops);
		}
		f.t_us = f.t_us ? f.t_us + offset : clock_now_us(CLOCK_MONOTONIC);
		if (f.frame.flags & BD_FRAME_ERR) {
			/* Error frames go on too: bus-off and error bursts are evidence. */
			b->stats.error_frames++;
		} else {
			b->stats.frames++;
			b->stats.last_frame_us = f.t_us;
		}
		if (b->ops.frame)
			b->ops.frame(b->userdata, &f);
	}
	(void)loop;
	(void)revents;
}

static void on_link(const char *ifname, int ifindex, enum link_watch_event ev, void *userdata)
{
	struct bus *b = userdata;

	switch (ev) {
	case LINK_WATCH_ADDED:
	case LINK_WATCH_UP:
		(void)attach(b); /* not up yet after ADDED: UP follows, or configure brings it up */
		break;
	case LINK_WATCH_DOWN:
		/* Notifications queue up: a DOWN read now may be from a reconfiguration that
		 * is already over. The link's present state decides. */
		if (link_watch_query(b->ifname) != 1)
			detach(b, "link down");
		break;
	case LINK_WATCH_REMOVED:
		detach(b, "adapter removed");
		break;
	case _LINK_WATCH_EVENT_MAX:
		break;
	}
	(void)ifindex;
	(void)ifname;
}

static void on_watch(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bus *b = container_of(w, struct bus, watch_io);
	int r = link_watch_dispatch(b->watch, b->ifname, on_link, b);

	if (r < 0)
		emit(b, BUS_EVENT_STATE, "%s: link watch failed: %s", b->ifname, strerror(-r));
	(void)loop;
	(void)revents;
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bus *b = container_of(w, struct bus, poll);
	struct can_link_info info;
	int64_t now = clock_now_us(CLOCK_MONOTONIC);

	if (b->fd < 0) {
		/* A link that came up while no notification reached us (or whose bitrate
		 * must be set before it can come up) is picked up here. */
		if (b->opts.configure_link || link_watch_query(b->ifname) == 1)
			(void)attach(b);
		return;
	}
	if (can_link_get_info(b->ifname, &info) < 0)
		return;
	b->stats.link = info;
	if (info.state != b->last_state) {
		emit(b, BUS_EVENT_STATE, "%s: %s -> %s (tx errors %u, rx errors %u)", b->ifname,
		     can_link_state_name(b->last_state), can_link_state_name(info.state), info.txerr,
		     info.rxerr);
		b->last_state = info.state;
		b->bus_off_since_us = info.state == CAN_LINK_STATE_BUS_OFF ? now : 0;
	}
	if (info.state == CAN_LINK_STATE_BUS_OFF && b->opts.restart_bus_off && info.restart_ms == 0 &&
	    now - b->bus_off_since_us >= (int64_t)(b->opts.restart_holdoff_s * 1e6)) {
		int r = can_link_restart(b->ifname);
		if (r == 0) {
			b->stats.restarts++;
			b->bus_off_since_us = now;
			emit(b, BUS_EVENT_RESTARTED, "%s: restarted after bus-off", b->ifname);
		}
	}
	(void)loop;
	(void)revents;
}

int bus_new(struct ev_loop *loop, const struct bus_opts *opts, const struct bus_ops *ops,
	    void *userdata, struct bus **ret)
{
	struct bus *b;
	int r;

	if (!opts->ifname || strlen(opts->ifname) >= sizeof(b->ifname) || !*opts->ifname)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = loop;
	b->opts = *opts;
	b->opts.filters = NULL;
	if (b->opts.poll_interval_s <= 0)
		b->opts.poll_interval_s = 1.0;
	if (b->opts.restart_holdoff_s <= 0)
		b->opts.restart_holdoff_s = 1.0;
	snprintf(b->ifname, sizeof(b->ifname), "%s", opts->ifname);
	b->opts.ifname = b->ifname;
	b->fd = -1;
	b->last_state = CAN_LINK_STATE_UNKNOWN;
	if (ops)
		b->ops = *ops;
	b->userdata = userdata;
	if (opts->filters) {
		b->filters = calloc(opts->n_filters ? opts->n_filters : 1, sizeof(*b->filters));
		if (!b->filters) {
			free(b);
			return -ENOMEM;
		}
		memcpy(b->filters, opts->filters, opts->n_filters * sizeof(*b->filters));
		b->n_filters = opts->n_filters;
	}

	r = link_watch_new(&b->watch);
	if (r < 0) {
		free(b->filters);
		free(b);
		return r;
	}
	ev_io_init(&b->watch_io, on_watch, link_watch_fd(b->watch), EV_READ);
	ev_io_start(loop, &b->watch_io);
	ev_timer_init(&b->poll, on_poll, 0., b->opts.poll_interval_s);
	ev_timer_again(loop, &b->poll);

	r = attach(b);
	if (r < 0) {
		char why[256];

		/* Not fatal: the adapter may be plugged in later. */
		b->detached_since_us = clock_now_us(CLOCK_MONOTONIC);
		emit(b, BUS_EVENT_DETACHED, "%s: %s", b->ifname, attach_error(b, r, why, sizeof(why)));
	}
	*ret = b;
	return 0;
}

struct bus *bus_free(struct bus *b)
{
	if (!b)
		return NULL;
	if (b->fd >= 0) {
		ev_io_stop(b->loop, &b->io);
		close(b->fd);
	}
	ev_io_stop(b->loop, &b->watch_io);
	ev_timer_stop(b->loop, &b->poll);
	link_watch_free(b->watch);
	free(b->filters);
	free(b);
	return NULL;
}

int bus_set_filters(struct bus *b, const struct can_raw_filter *filters, size_t n_filters)
{
	struct can_raw_filter *copy = NULL;
	int r;

	if (filters) {
		copy = calloc(n_filters ? n_filters : 1, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, filters, n_filters * sizeof(*copy));
	}
	if (b->fd >= 0) {
		r = can_raw_set_filters(b->fd, copy, n_filters);
		if (r < 0) {
			free(copy);
			return r;
		}
	}
	free(b->filters);
	b->filters = copy;
	b->n_filters = filters ? n_filters : 0;
	return 0;
}

void bus_get_stats(const struct bus *b, struct bus_stats *ret)
{
	*ret = b->stats;
	if (b->detached_since_us)
		ret->outage_us += clock_now_us(CLOCK_MONOTONIC) - b->detached_since_us;
}
