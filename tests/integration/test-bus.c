/* SPDX-License-Identifier: MIT */
/* The daemon's bus module on can0 in the VM, driven by a real libev loop: it receives
 * what can1 sends through its kernel filter, reports a link taken down and an adapter
 * unbound from its driver as outages, and resumes listening when they come back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/bus.h"
#include "itest.h"

struct ctx {
	struct ev_loop *loop;
	unsigned frames;
	unsigned attached, detached;
	char last_detail[256];
	uint32_t last_id;
	int64_t last_t;
	bool monotonic_ok;
};

static void on_frame(void *ud, const struct bd_timed_frame *f)
{
	struct ctx *c = ud;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	/* the kernel stamp, moved to CLOCK_MONOTONIC, lies shortly before now */
	c->monotonic_ok = f->t_us <= now + 1000 && now - f->t_us < 2000000;
	c->frames++;
	c->last_id = f->frame.id;
	c->last_t = f->t_us;
}

static void on_event(void *ud, enum bus_event ev, const char *detail)
{
	struct ctx *c = ud;
	if (ev == BUS_EVENT_ATTACHED)
		c->attached++;
	if (ev == BUS_EVENT_DETACHED)
		c->detached++;
	snprintf(c->last_detail, sizeof(c->last_detail), "%s", detail);
	printf("# bus event %s: %s\n", bus_event_name(ev), detail);
}

/* Runs the loop until cond holds or ms pass. */
#define RUN_UNTIL(c, cond, ms)                                                                     \
	do {                                                                                       \
		for (int _i = 0; _i < (ms) / 10 && !(cond); _i++) {                               \
			ev_run((c)->loop, EVRUN_NOWAIT);                                           \
			usleep(10000);                                                             \
		}                                                                                  \
		assert_true(cond);                                                                 \
	} while (0)

static void send_on_can1(uint32_t id)
{
	struct bd_frame f = {.id = id, .len = 2, .data = {0xde, 0xad}};
	int fd;
	assert_int_equal(can_raw_open(ITEST_CAN1, NULL, 0, 0, &fd), 0);
	assert_int_equal(can_raw_send(fd, &f), 0);
	close(fd);
}

static void receive_outage_resume(void **state)
{
	const struct can_raw_filter flt[] = {{.id = 0x300, .mask = 0x700}};
	const struct bus_opts opts = {
		.ifname = ITEST_CAN0,
		.filters = flt,
		.n_filters = 1,
		.configure_link = true,
		.bitrate = 500000,
		.restart_ms = 100,
		.poll_interval_s = 0.1,
	};
	const struct bus_ops ops = {.frame = on_frame, .event = on_event};
	struct ctx c = {.loop = ev_loop_new(EVFLAG_AUTO)};
	struct bus *b;
	struct bus_stats st;

	assert_int_equal(bus_new(c.loop, &opts, &ops, &c, &b), 0);
	RUN_UNTIL(&c, c.attached == 1, 2000);

	send_on_can1(0x123); /* outside the filter */
	send_on_can1(0x345);
	RUN_UNTIL(&c, c.frames == 1, 2000);
	assert_int_equal(c.last_id, 0x345);
	assert_true(c.monotonic_ok);

	/* link down: an outage, then back */
	assert_int_equal(can_link_stop(ITEST_CAN0), 0);
	RUN_UNTIL(&c, c.detached == 1, 3000);
	assert_non_null(strstr(c.last_detail, "link down"));
	bus_get_stats(b, &st);
	assert_false(st.attached);
	/* configure_link: the bus brings the link up itself with the configured bitrate */
	RUN_UNTIL(&c, c.attached == 2, 3000);
	assert_non_null(strstr(c.last_detail, "after"));
	send_on_can1(0x301);
	RUN_UNTIL(&c, c.frames == 2, 2000);
	assert_int_equal(c.last_id, 0x301);

	/* the adapter disappears (driver unbound) and comes back */
	char dev[64] = "";
	FILE *f = popen("basename $(readlink -f /sys/class/net/can0/device)", "r");
	assert_non_null(f);
	assert_non_null(fgets(dev, sizeof(dev), f));
	pclose(f);
	dev[strcspn(dev, "\n")] = 0;
	f = fopen("/sys/bus/pci/drivers/kvaser_pci/unbind", "we");
	assert_non_null(f);
	fputs(dev, f);
	assert_int_equal(fclose(f), 0);
	RUN_UNTIL(&c, c.detached == 2, 3000);
	assert_non_null(strstr(c.last_detail, "removed"));
	f = fopen("/sys/bus/pci/drivers/kvaser_pci/bind", "we");
	assert_non_null(f);
	fputs(dev, f);
	assert_int_equal(fclose(f), 0);
	RUN_UNTIL(&c, c.attached == 3, 5000);
	send_on_can1(0x3ff);
	RUN_UNTIL(&c, c.frames == 3, 2000);
	assert_int_equal(c.last_id, 0x3ff);

	bus_get_stats(b, &st);
	assert_true(st.attached);
	assert_int_equal(st.frames, 3);
	assert_int_equal(st.outages, 2);
	assert_true(st.outage_us > 0);
	assert_int_equal(st.link.bitrate, 500000);
	assert_int_equal(st.link.restart_ms, 100);
	bus_free(b);
	ev_loop_destroy(c.loop);
}

/* A flood of random frames (ids, lengths, data, remote frames) at the bus's full speed:
 * the loop keeps up or counts what the kernel dropped, and every frame is accounted for. */
static void flood_of_garbage(void **state)
{
	const struct bus_opts opts = {.ifname = ITEST_CAN0, .poll_interval_s = 0.1, .error_frames = true};
	const struct bus_ops ops = {.frame = on_frame, .event = on_event};
	struct ctx c = {.loop = ev_loop_new(EVFLAG_AUTO)};
	struct bus *b;
	struct bus_stats st;
	const unsigned n = 3000;
	char cmd[160];

	assert_int_equal(bus_new(c.loop, &opts, &ops, &c, &b), 0);
	RUN_UNTIL(&c, c.attached == 1, 2000);
	/* -g 0: back to back, as fast as the controller sends; random ids, lengths and data.
	 * Runs in the background while our loop reads. */
	snprintf(cmd, sizeof(cmd), "cangen %s -g 0 -I r -L r -D r -n %u -i &", ITEST_CAN1, n);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < 3000 && c.frames < n; i++) {
		bus_get_stats(b, &st);
		if (st.frames + st.drops >= n)
			break;
		ev_run(c.loop, EVRUN_NOWAIT);
		usleep(5000);
	}
	bus_get_stats(b, &st);
	printf("# flood: %llu frames received, %llu dropped by the kernel, %llu error frames\n",
	       (unsigned long long)st.frames, (unsigned long long)st.drops,
	       (unsigned long long)st.error_frames);
	assert_int_equal(st.frames + st.drops, n);
	assert_true(st.attached);
	assert_int_equal(st.outages, 0);
	bus_free(b);
	ev_loop_destroy(c.loop);
	(void)state;
}

/* The controller's driver module is unloaded and loaded again (every kvaser_pci
 * interface disappears and comes back unconfigured): the bus reattaches and sets its
 * bitrate itself. The other interfaces are put back as the bench had them. */
static void module_reload(void **state)
{
	const struct bus_opts opts = {
		.ifname = ITEST_CAN0, .configure_link = true, .bitrate = 500000, .restart_ms = 100,
		.poll_interval_s = 0.1,
	};
	const struct bus_ops ops = {.frame = on_frame, .event = on_event};
	struct ctx c = {.loop = ev_loop_new(EVFLAG_AUTO)};
	struct bus *b;
	struct bus_stats st;

	assert_int_equal(bus_new(c.loop, &opts, &ops, &c, &b), 0);
	RUN_UNTIL(&c, c.attached == 1, 2000);
	assert_int_equal(system("rmmod kvaser_pci"), 0);
	RUN_UNTIL(&c, c.detached == 1, 3000);
	assert_int_equal(system("insmod /modules/kvaser_pci.ko"), 0);
	RUN_UNTIL(&c, c.attached == 2, 5000);
	assert_int_equal(can_link_configure(ITEST_CAN1, 500000, 0), 0);
	assert_int_equal(can_link_configure("can2", 500000, 0), 0);
	send_on_can1(0x7ff);
	RUN_UNTIL(&c, c.frames == 1, 2000);
	bus_get_stats(b, &st);
	assert_int_equal(st.outages, 1);
	assert_int_equal(st.link.bitrate, 500000);
	bus_free(b);
	ev_loop_destroy(c.loop);
	(void)state;
}

static void starts_detached_without_interface(void **state)
{
	const struct bus_opts opts = {.ifname = "nosuchcan3"};
	const struct bus_ops ops = {.frame = on_frame, .event = on_event};
	struct ctx c = {.loop = ev_loop_new(EVFLAG_AUTO)};
	struct bus *b;
	struct bus_stats st;

	assert_int_equal(bus_new(c.loop, &opts, &ops, &c, &b), 0);
	assert_int_equal(c.detached, 1);
	assert_non_null(strstr(c.last_detail, "waiting"));
	bus_get_stats(b, &st);
	assert_false(st.attached);
	bus_free(b);
	ev_loop_destroy(c.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(receive_outage_resume),
		cmocka_unit_test(flood_of_garbage),
		cmocka_unit_test(module_reload),
		cmocka_unit_test(starts_detached_without_interface),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
