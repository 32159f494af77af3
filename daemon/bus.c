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

#include <jansson.h>

#include "bodydiag/linux/link_watch.h"
#include "bus.h"
#include "log.h"
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

	/* the controller's mode */
	bool orig_known;	/* orig_listen_only read at the first attach */
	bool orig_listen_only;
	bool mode_changed;	/* we changed it: bus_free puts it back */
	bool expect_down;	/* our own down/up: the socket's ENETDOWN is no outage */
	bool mode_failed_said;	/* CONFIG_FAILED about the mode emitted once */
	bool mode_fixed;	/* the mode cannot be changed (no such mode, no permission):
				 * never tried again, for every try is a down and up */

	/* bitrate detection */
	struct bus_detect detect;
	struct bitrate_detect *detector;
	struct can_link_saved before_detect;
	int detect_fd;
	ev_io detect_io;
	ev_timer detect_timer; /* the listening window, then the retry */
	int64_t detect_t0;
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
	case BUS_EVENT_BITRATE:
		return "bitrate";
	case _BUS_EVENT_MAX:
		break;
	}
	return "?";
}

const char *bus_detect_state_name(enum bus_detect_state s)
{
	static const char *const names[BUS_DETECT_STATE_MAX] = {
		[BUS_DETECT_OFF] = "off",	    [BUS_DETECT_RUNNING] = "running",
		[BUS_DETECT_FOUND] = "found",	    [BUS_DETECT_FAILED] = "failed",
		[BUS_DETECT_VIRTUAL] = "virtual", [BUS_DETECT_REFUSED] = "refused",
	};
	return (unsigned)s < BUS_DETECT_STATE_MAX ? names[s] : "?";
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
static uint32_t bitrate_wanted(const struct bus *b)
{
	return b->opts.detect_bitrate ? b->detect.bitrate : b->opts.bitrate;
}

static bool link_matches(struct bus *b)
{
	struct can_link_info info;

	if (link_watch_query(b->ifname) != 1 || can_link_get_info(b->ifname, &info) < 0)
		return false;
	if (bitrate_wanted(b) > 0 && info.bitrate != bitrate_wanted(b))
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
	if (r == -EINPROGRESS) {
		snprintf(buf, size, "bitrate detection: %s", b->detect.text);
		return buf;
	}
	if (r == -EPERM)
		return b->stats.mode_error[0] ? b->stats.mode_error
					      : "the controller cannot be put in listen-only mode";
	snprintf(buf, size, "waiting for the interface (%s)", strerror(-r));
	return buf;
}

/* ---- the controller's listen-only mode ---- */

/* Our own change of the controller's mode: down, set, up. The kernel refuses mode
 * changes on a running link; the link comes back up whatever happened (a failed change
 * must not leave the car's bus without us). */
static int switch_mode(struct bus *b, bool listen_only)
{
	int r;

	if (b->mode_fixed)
		return -EPERM;
	b->expect_down = true;
	r = can_link_set_mode(b->ifname, 0, CAN_LINK_CTRLMODE_LISTENONLY,
			      listen_only ? CAN_LINK_CTRLMODE_LISTENONLY : 0, true);
	if (r < 0) {
		(void)can_link_start(b->ifname);
		b->mode_fixed = r == -EOPNOTSUPP || r == -EPERM;
		snprintf(b->stats.mode_error, sizeof(b->stats.mode_error),
			 "%s: cannot %s listen-only mode: %s", b->ifname,
			 listen_only ? "put the controller in" : "take the controller out of",
			 r == -EPERM ? "not permitted (CAP_NET_ADMIN)" : strerror(-r));
		return r;
	}
	b->mode_changed = b->orig_known && listen_only != b->orig_listen_only;
	b->stats.listen_only = listen_only;
	b->stats.mode_error[0] = '\0';
	log_debug("%s: controller %s listen-only mode", b->ifname, listen_only ? "in" : "out of");
	return 0;
}

/* At attach: the mode the policy wants while the daemon only listens. -EPERM when it is
 * required (ALWAYS) and cannot be had: the bus then stays detached. */
static int attach_mode(struct bus *b)
{
	uint32_t mode = 0;
	int r;

	if (b->opts.listen_only == BUS_LISTEN_ONLY_LEAVE)
		return 0;
	r = can_link_get_ctrlmode(b->ifname, &mode);
	if (r == -EOPNOTSUPP) {
		/* vcan and the like: no controller, no wire to drive */
		b->stats.controller = false;
		return 0;
	}
	b->stats.controller = r >= 0;
	if (r >= 0 && !b->orig_known) {
		b->orig_known = true;
		b->orig_listen_only = mode & CAN_LINK_CTRLMODE_LISTENONLY;
	}
	if (r >= 0 && (mode & CAN_LINK_CTRLMODE_LISTENONLY)) {
		b->stats.listen_only = true;
		return 0;
	}
	if (r >= 0)
		r = switch_mode(b, true);
	else
		snprintf(b->stats.mode_error, sizeof(b->stats.mode_error),
			 "%s: controller mode unreadable: %s", b->ifname, strerror(-r));
	if (r >= 0) {
		b->mode_failed_said = false;
		return 0;
	}
	if (!b->mode_failed_said)
		emit(b, BUS_EVENT_CONFIG_FAILED, "%s%s", b->stats.mode_error,
		     b->opts.listen_only == BUS_LISTEN_ONLY_ALWAYS
			     ? "; [can] listen_only = hard: not listening until it can be set"
			     : "; the controller acknowledges frames while the daemon listens");
	b->mode_failed_said = true;
	return b->opts.listen_only == BUS_LISTEN_ONLY_ALWAYS ? -EPERM : 0;
}

int bus_set_listen_only(struct bus *b, bool on)
{
	if (b->opts.listen_only == BUS_LISTEN_ONLY_LEAVE || !b->stats.controller)
		return 0;
	if (!on && b->opts.listen_only == BUS_LISTEN_ONLY_ALWAYS)
		return -EPERM;
	if (b->fd < 0)
		return -ENETDOWN;
	if (b->stats.listen_only == on)
		return 0;
	return switch_mode(b, on);
}

/* ---- bitrate detection ---- */

static void detect_step(struct bus *b);
static int attach(struct bus *b);

static void detect_stop(struct bus *b)
{
	if (b->detect_fd >= 0) {
		ev_io_stop(b->loop, &b->detect_io);
		close(b->detect_fd);
		b->detect_fd = -1;
	}
	ev_timer_stop(b->loop, &b->detect_timer);
	b->detector = bitrate_detect_free(b->detector);
}

static void detect_frames(struct bus *b)
{
	for (int i = 0; i < READ_BATCH; i++) {
		struct bd_timed_frame f;
		int r = can_raw_recv(b->detect_fd, &f, NULL, NULL);

		if (r == -ENETDOWN)
			continue; /* our own change of bitrate */
		if (r <= 0)
			return;
		if (b->detector)
			bitrate_detect_on_frame(b->detector, &f.frame, clock_now_us(CLOCK_MONOTONIC));
	}
}

static void on_detect_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bus *b = container_of(w, struct bus, detect_io);

	detect_frames(b);
	/* enough clean frames (or an error frame) decide before the window ends */
	detect_step(b);
	(void)loop;
	(void)revents;
}

static void detect_start(struct bus *b);

static void on_detect_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bus *b = container_of(w, struct bus, detect_timer);

	/* What came during the window counts, also when the loop runs the timer before the
	 * socket's readiness (a daemon still starting, a busy host). */
	if (b->detector) {
		detect_frames(b);
		detect_step(b);
	}
	else if (b->detect.state == BUS_DETECT_FAILED)
		detect_start(b); /* the retry */
	(void)loop;
	(void)revents;
}

/* The verdict per bitrate, as one line: "500k: 12 frames; 250k: error frames". */
static void detect_summary(const struct bus *b, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->detect.n && off < size; i++) {
		const struct bitrate_detect_result *x = &b->detect.results[i];
		char rate[24];

		if (x->verdict == BITRATE_DETECT_NOT_TRIED)
			continue;
		bitrate_detect_format(x->bitrate, rate, sizeof(rate));
		off += (size_t)snprintf(buf + off, size - off, "%s%s %s (%u frames, %u errors)",
					off ? "; " : "", rate,
					bitrate_detect_verdict_name(x->verdict), x->frames,
					x->error_frames);
	}
}

static void detect_finish(struct bus *b)
{
	uint32_t found = 0;
	enum bitrate_detect_outcome o = bitrate_detect_outcome(b->detector, &found);
	double secs = (double)(clock_now_us(CLOCK_MONOTONIC) - b->detect_t0) / 1e6;
	char rate[24], summary[512];
	int r = 0;

	b->detect.n = bitrate_detect_result_count(b->detector);
	if (b->detect.n > BITRATE_DETECT_MAX)
		b->detect.n = BITRATE_DETECT_MAX;
	for (size_t i = 0; i < b->detect.n; i++)
		b->detect.results[i] = *bitrate_detect_result_at(b->detector, i);
	b->detect.t_us = clock_now_us(CLOCK_MONOTONIC);
	detect_stop(b);
	detect_summary(b, summary, sizeof(summary));
	if (o == BITRATE_DETECT_FOUND) {
		/* The bitrate found, bus-error reporting as it was; listen-only stays until
		 * attach_mode() says what the policy wants. */
		r = can_link_set_mode(b->ifname, found, CAN_LINK_CTRLMODE_BERR_REPORTING,
				      b->before_detect.ctrlmode, true);
		if (r < 0)
			(void)can_link_start(b->ifname);
	}
	if (o == BITRATE_DETECT_FOUND && r >= 0) {
		b->detect.state = BUS_DETECT_FOUND;
		b->detect.bitrate = found;
		bitrate_detect_format(found, rate, sizeof(rate));
		snprintf(b->detect.text, sizeof(b->detect.text), "%s found in %.1f s, listen-only",
			 rate, secs);
		emit(b, BUS_EVENT_BITRATE, "%s: bitrate %s (%s)", b->ifname, b->detect.text, summary);
		(void)attach(b);
		return;
	}
	/* Nothing found: the controller as it was, but never out of listen-only mode if it
	 * was put there for a reason (the policy's attach puts it where it must be). */
	b->detect.state = BUS_DETECT_FAILED;
	snprintf(b->detect.text, sizeof(b->detect.text), "%s after %.1f s; trying again in %.0f s",
		 r < 0 ? "the bitrate found could not be set"
		       : o == BITRATE_DETECT_NO_TRAFFIC ? "no traffic at any bitrate (bus asleep?)"
		       : o == BITRATE_DETECT_TIMEOUT	? "no bitrate matched within the bound"
							: "no bitrate matched",
		 secs, BUS_DETECT_RETRY_S);
	b->expect_down = true;
	(void)can_link_restore(b->ifname, &b->before_detect);
	emit(b, BUS_EVENT_BITRATE, "%s: bitrate detection: %s (%s)", b->ifname, b->detect.text,
	     summary);
	ev_timer_set(&b->detect_timer, BUS_DETECT_RETRY_S, 0.);
	ev_timer_start(b->loop, &b->detect_timer);
}

static void detect_step(struct bus *b)
{
	struct bitrate_detect_step st;
	struct can_link_info info;

	for (;;) {
		int64_t now = clock_now_us(CLOCK_MONOTONIC);

		bitrate_detect_next(b->detector, now, &st);
		switch (st.action) {
		case BITRATE_DETECT_SET: {
			int r = can_link_set_listen_only(b->ifname, st.bitrate,
							 &b->detect.bus_error_reporting);

			if (r == -EOPNOTSUPP) {
				/* Trying bitrates without listen-only mode means error frames on
				 * the car's bus at every wrong one: never. */
				detect_stop(b);
				(void)can_link_restore(b->ifname, &b->before_detect);
				b->detect.state = BUS_DETECT_REFUSED;
				snprintf(b->detect.text, sizeof(b->detect.text),
					 "the controller has no listen-only mode: not tried; set "
					 "[can] bitrate");
				emit(b, BUS_EVENT_CONFIG_FAILED, "%s: bitrate detection: %s", b->ifname,
				     b->detect.text);
				return;
			}
			if (r < 0) {
				(void)can_link_start(b->ifname);
				bitrate_detect_set_failed(b->detector, r, clock_now_us(CLOCK_MONOTONIC));
				continue;
			}
			if (can_link_get_info(b->ifname, &info) < 0)
				info.bitrate = 0;
			/* what arrived before the switch belongs to the old bitrate */
			{
				struct bitrate_detect *d = b->detector;
				b->detector = NULL;
				detect_frames(b);
				b->detector = d;
			}
			bitrate_detect_applied(b->detector, info.bitrate, clock_now_us(CLOCK_MONOTONIC));
			continue;
		}
		case BITRATE_DETECT_LISTEN: {
			double wait = (double)(st.until_us - now) / 1e6;

			ev_timer_stop(b->loop, &b->detect_timer);
			ev_timer_set(&b->detect_timer, wait > 0 ? wait : 0., 0.);
			ev_timer_start(b->loop, &b->detect_timer);
			return;
		}
		case BITRATE_DETECT_DONE:
			detect_finish(b);
			return;
		case BITRATE_DETECT_ACTION_MAX:
			return;
		}
	}
}

/* Starts a detection run; false when there is nothing to detect (no bit timing). */
static void detect_start(struct bus *b)
{
	struct bitrate_detect_config cfg;
	int r;

	if (b->detector)
		return;
	r = can_link_save(b->ifname, &b->before_detect);
	if (r >= 0 && b->before_detect.bitrate == 0) {
		b->detect.state = BUS_DETECT_VIRTUAL;
		snprintf(b->detect.text, sizeof(b->detect.text),
			 "no bit timing (a virtual CAN device): nothing to detect");
		emit(b, BUS_EVENT_BITRATE, "%s: %s", b->ifname, b->detect.text);
		(void)attach(b);
		return;
	}
	bitrate_detect_config_init(&cfg);
	cfg.first = b->opts.detect_first;
	/* the socket first: it stays bound across the link's down and up */
	if (r >= 0)
		r = can_raw_open(b->ifname, NULL, 0, CAN_RAW_OPEN_ERR_FRAMES, &b->detect_fd);
	if (r >= 0)
		r = bitrate_detect_new(&cfg, clock_now_us(CLOCK_MONOTONIC), &b->detector);
	if (r < 0) {
		detect_stop(b);
		b->detect.state = BUS_DETECT_FAILED;
		snprintf(b->detect.text, sizeof(b->detect.text), "cannot start: %s; trying again in %.0f s",
			 strerror(-r), BUS_DETECT_RETRY_S);
		emit(b, BUS_EVENT_CONFIG_FAILED, "%s: bitrate detection %s", b->ifname, b->detect.text);
		ev_timer_set(&b->detect_timer, BUS_DETECT_RETRY_S, 0.);
		ev_timer_start(b->loop, &b->detect_timer);
		return;
	}
	(void)can_raw_set_rcvbuf(b->detect_fd, 1 << 20); /* best effort: fewer frames counted */
	b->detect_t0 = clock_now_us(CLOCK_MONOTONIC);
	b->detect.state = BUS_DETECT_RUNNING;
	snprintf(b->detect.text, sizeof(b->detect.text), "listening, controller in listen-only mode");
	ev_io_init(&b->detect_io, on_detect_readable, b->detect_fd, EV_READ);
	ev_io_start(b->loop, &b->detect_io);
	detect_step(b);
}

const struct bus_detect *bus_detect_info(const struct bus *b)
{
	return &b->detect;
}

json_t *bus_status_json(const struct bus *b)
{
	static const char *const modes[BUS_LISTEN_ONLY_MAX] = {
		[BUS_LISTEN_ONLY_LEAVE] = "leave",
		[BUS_LISTEN_ONLY_IDLE] = "idle",
		[BUS_LISTEN_ONLY_ALWAYS] = "always",
	};
	json_t *o = json_pack("{s:b,s:s,s:b,s:s?,s:s}", "present", b->stats.controller, "mode",
			      modes[b->opts.listen_only], "listen_only", b->stats.listen_only,
			      "error", b->stats.mode_error[0] ? b->stats.mode_error : NULL,
			      "bitrate", b->opts.detect_bitrate ? "auto" : "fixed");
	json_t *res, *d;

	if (!o || !b->opts.detect_bitrate)
		return o;
	res = json_array();
	for (size_t i = 0; i < b->detect.n; i++) {
		const struct bitrate_detect_result *x = &b->detect.results[i];

		if (x->verdict == BITRATE_DETECT_NOT_TRIED)
			continue;
		json_array_append_new(res, json_pack("{s:I,s:s,s:I,s:I,s:f}", "bitrate",
						     (json_int_t)x->bitrate, "verdict",
						     bitrate_detect_verdict_name(x->verdict), "frames",
						     (json_int_t)x->frames, "error_frames",
						     (json_int_t)x->error_frames, "listened_s",
						     (double)x->listened_us / 1e6));
	}
	d = json_pack("{s:s,s:o,s:s,s:b,s:o}", "state", bus_detect_state_name(b->detect.state),
		      "bitrate",
		      b->detect.state == BUS_DETECT_FOUND ? json_integer(b->detect.bitrate)
							  : json_null(),
		      "text", b->detect.text, "bus_error_reporting", b->detect.bus_error_reporting,
		      "results", res);
	json_object_set_new(o, "detection", d);
	return o;
}

/* ---- attaching ---- */

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
	if (b->opts.detect_bitrate) {
		switch (b->detect.state) {
		case BUS_DETECT_OFF:
			if (link_watch_query(b->ifname) != 1)
				return -ENETDOWN;
			detect_start(b); /* attaches when it is done */
			return -EINPROGRESS;
		case BUS_DETECT_RUNNING:
		case BUS_DETECT_FAILED:
		case BUS_DETECT_REFUSED:
			return -EINPROGRESS;
		case BUS_DETECT_FOUND:
		case BUS_DETECT_VIRTUAL:
		case BUS_DETECT_STATE_MAX:
			break;
		}
	}
	if (b->opts.configure_link && !link_matches(b)) {
		r = can_link_configure(b->ifname, bitrate_wanted(b), b->opts.restart_ms);
		if (r < 0)
			emit(b, BUS_EVENT_CONFIG_FAILED, "%s: bitrate %u restart-ms %d: %s", b->ifname,
			     bitrate_wanted(b), b->opts.restart_ms, strerror(-r));
	}
	if (link_watch_query(b->ifname) != 1)
		return -ENETDOWN;
	r = attach_mode(b);
	if (r < 0)
		return r;
	if (b->opts.can_fd)
		flags |= CAN_RAW_OPEN_FD;
	if (b->opts.error_frames)
		flags |= CAN_RAW_OPEN_ERR_FRAMES;
	r = can_raw_open(b->ifname, b->filters, b->n_filters, flags, &fd);
	if (r < 0)
		return r;
	b->expect_down = false; /* a socket opened after our mode change has no error of it */
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
		if (r == -ENETDOWN && b->expect_down && link_watch_query(b->ifname) == 1) {
			/* our own down and up (a controller mode change): no outage */
			b->expect_down = false;
			continue;
		}
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
	b->detect_fd = -1;
	b->detect.state = BUS_DETECT_OFF;
	ev_timer_init(&b->detect_timer, on_detect_timer, 0., 0.);
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
	/* stopped mid-detection: the controller as it was found */
	if (b->detector) {
		detect_stop(b);
		(void)can_link_restore(b->ifname, &b->before_detect);
	}
	ev_timer_stop(b->loop, &b->detect_timer);
	/* The controller's mode as it was found; [can] listen_only = hard leaves it in
	 * listen-only mode, which is the safe way for a car's bus. */
	if (b->mode_changed && b->opts.listen_only == BUS_LISTEN_ONLY_IDLE && b->stats.controller &&
	    link_watch_query(b->ifname) == 1)
		(void)switch_mode(b, b->orig_listen_only);
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
