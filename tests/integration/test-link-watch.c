/* SPDX-License-Identifier: MIT */
/* link_watch in the VM: a CAN link taken down and up, a vcan added and deleted, and a
 * whole controller driver unbound and rebound (what an unplugged USB adapter looks like
 * to the daemon) are each reported as transitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/link_watch.h"
#include "itest.h"

struct seen {
	char log[1024];
};

static void on_event(const char *ifname, int ifindex, enum link_watch_event ev, void *userdata)
{
	struct seen *s = userdata;
	size_t n = strlen(s->log);
	snprintf(s->log + n, sizeof(s->log) - n, "%s:%s ", ifname, link_watch_event_name(ev));
}

/* Dispatches until the log contains want or 3 s pass. */
static void wait_for(struct link_watch *w, const char *filter, struct seen *s, const char *want)
{
	for (int i = 0; i < 30 && !strstr(s->log, want); i++) {
		if (itest_wait_readable(link_watch_fd(w), 100))
			assert_true(link_watch_dispatch(w, filter, on_event, s) >= 0);
	}
	if (!strstr(s->log, want))
		fail_msg("expected '%s', saw '%s'", want, s->log);
}

static int ip(const char *args)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s %s", itest_if("BD_IP", "/usr/sbin/ip"), args);
	return system(cmd);
}

static void down_and_up(void **state)
{
	struct link_watch *w;
	struct seen s = {""};

	assert_int_equal(link_watch_new(&w), 0);
	assert_int_equal(link_watch_query(ITEST_CAN1), 1);
	assert_int_equal(can_link_stop(ITEST_CAN1), 0);
	wait_for(w, ITEST_CAN1, &s, "can1:down");
	assert_int_equal(link_watch_query(ITEST_CAN1), 0);
	assert_int_equal(can_link_start(ITEST_CAN1), 0);
	wait_for(w, ITEST_CAN1, &s, "can1:up");
	assert_string_equal(s.log, "can1:down can1:up ");
	link_watch_free(w);
}

static void added_and_removed(void **state)
{
	struct link_watch *w;
	struct seen s = {""};

	assert_int_equal(link_watch_new(&w), 0);
	assert_int_equal(link_watch_query("vcan7"), -ENODEV);
	assert_int_equal(ip("link add dev vcan7 type vcan"), 0);
	wait_for(w, NULL, &s, "vcan7:added");
	assert_int_equal(ip("link set vcan7 up"), 0);
	wait_for(w, NULL, &s, "vcan7:up");
	assert_int_equal(ip("link del vcan7"), 0);
	wait_for(w, NULL, &s, "vcan7:removed");
	link_watch_free(w);
}

/* Unbinding the kvaser_pci driver from the PCI device that carries can2 removes the
 * interface, as pulling a USB adapter does; binding it again brings it back. */
static void driver_unbind_rebind(void **state)
{
	struct link_watch *w;
	struct seen s = {""};
	char dev[64] = "";
	FILE *f;

	/* find the PCI address of can2's controller card */
	f = popen("basename $(readlink -f /sys/class/net/can2/device)", "r");
	assert_non_null(f);
	assert_non_null(fgets(dev, sizeof(dev), f));
	pclose(f);
	dev[strcspn(dev, "\n")] = 0;
	assert_true(strlen(dev) > 0);

	assert_int_equal(link_watch_new(&w), 0);
	f = fopen("/sys/bus/pci/drivers/kvaser_pci/unbind", "we");
	assert_non_null(f);
	fputs(dev, f);
	assert_int_equal(fclose(f), 0);
	wait_for(w, "can2", &s, "can2:removed");

	f = fopen("/sys/bus/pci/drivers/kvaser_pci/bind", "we");
	assert_non_null(f);
	fputs(dev, f);
	assert_int_equal(fclose(f), 0);
	wait_for(w, "can2", &s, "can2:added");
	assert_int_equal(can_link_configure("can2", 500000, -1), 0);
	wait_for(w, "can2", &s, "can2:up");
	link_watch_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(down_and_up),
		cmocka_unit_test(added_and_removed),
		cmocka_unit_test(driver_unbind_rebind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
