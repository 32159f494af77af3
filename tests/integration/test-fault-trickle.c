/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, a slow client: one connection sends its request one byte per second;
 * meanwhile another client's pings are answered within 100 ms each, and the slow request
 * is still answered once its line is complete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest-daemon.h"

#define SOCK "/tmp/bd-fault-trickle.sock"
#define CONF "/tmp/bd-fault-trickle.conf"
#define LOG "/tmp/bd-fault-trickle.log"
#define TRICKLE_S 6

static struct itd_client slow, fast;

static void one_byte_per_second(void **state)
{
	static const char line[] = "{\"v\":1,\"id\":7,\"method\":\"ping\"}\n";
	int64_t worst = 0, next_byte;
	size_t sent = 0;
	int pings = 0;
	pid_t pid;
	json_t *r;

	itd_write_conf(CONF, SOCK, NULL, NULL, NULL);
	fast.fd = itd_start_daemon(CONF, SOCK, LOG, &pid);
	/* Once served, the daemon is past its start-up (slow under ASan in the emulator). */
	r = itd_call(&fast, "ping", NULL, 20000);
	assert_non_null(json_object_get(r, "result"));
	json_decref(r);
	slow.fd = itd_connect(SOCK);
	assert_true(slow.fd >= 0);

	next_byte = itd_mono_us();
	while (sent < TRICKLE_S) {
		int64_t t0;

		if (itd_mono_us() >= next_byte) {
			assert_int_equal(write(slow.fd, line + sent, 1), 1);
			sent++;
			next_byte += 1000000;
		}
		t0 = itd_mono_us();
		r = itd_call(&fast, "ping", NULL, 2000);
		if (!json_is_true(json_object_get(json_object_get(r, "result"), "pong"))) {
			itd_print_json("ping", r);
			fail_msg("no pong while a client trickles");
		}
		json_decref(r);
		if (itd_mono_us() - t0 > worst)
			worst = itd_mono_us() - t0;
		pings++;
		usleep(50000);
	}
	print_message("%zu bytes at 1/s: %d pings of another client, slowest %.1f ms\n", sent,
		      pings, (double)worst / 1000);
	assert_true(worst < 100000);

	/* The rest at once: the slow client's request is answered. */
	assert_int_equal(write(slow.fd, line + sent, strlen(line) - sent),
			 (ssize_t)(strlen(line) - sent));
	r = itd_read(&slow, 5000);
	itd_print_json("slow client", r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "pong")));
	json_decref(r);
	close(slow.fd);
	close(fast.fd);
	assert_int_equal(itd_stop(&pid, LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_byte_per_second),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
