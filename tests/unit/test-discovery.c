/* SPDX-License-Identifier: MIT */
/*
 * daemon/discovery's method `discover` while a background scan holds the bus, on a core
 * of the router, the policy and the discovery on the fake clock with the API on a real
 * socket: the request waits for the scan's end (woken by the policy, not refused, not
 * answered before), a second discover meanwhile is refused at once, the wait ends at 10 s
 * with the reason, and a client that goes away while waiting is forgotten. The interface
 * is one that exists nowhere, so a discover that is let through ends in "cannot start":
 * that answer is how the test sees it was let through, and when.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "daemon/discovery.h"
#include "daemon/policy.h"
#include "sim-car.h"

#define MS 1000LL

static const struct module *const modules[] = {&router_module, &policy_module, &discovery_module,
					       NULL};

struct run {
	struct simcar s;
	struct fixture_client a;
};

static void no_such_bus(struct config *cfg)
{
	snprintf(cfg->can.interface, sizeof(cfg->can.interface), "bdtest-none");
}

static void start(struct run *r)
{
	char why[192];

	simcar_start(&r->s, modules, NULL, false, true, no_such_bus);
	assert_int_equal(fixture_client_open(&r->a, r->s.sock), 0);
	simcar_run(&r->s, 200 * MS);
	assert_int_equal(policy_begin(r->s.c.policy, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
}

static void stop(struct run *r)
{
	fixture_client_close(&r->a);
	simcar_stop(&r->s);
}

static void ask(struct fixture_client *a, int id)
{
	char line[128];

	snprintf(line, sizeof(line),
		 "{\"v\":1,\"id\":%d,\"method\":\"discover\",\"params\":{\"max_time\":1}}", id);
	assert_int_equal(fixture_client_send(a, line), 0);
}

/* The reply to id within us of simulated time (NULL when none), its time in *ret_at. */
static json_t *reply(struct run *r, struct fixture_client *a, int id, int64_t us, int64_t *ret_at)
{
	for (int64_t t = 0; t <= us; t += MS) {
		json_t *j;

		while ((j = fixture_client_try(a, r->s.loop))) {
			if (json_integer_value(json_object_get(j, "id")) == id) {
				if (ret_at)
					*ret_at = r->s.fc.now;
				return j;
			}
			json_decref(j);
		}
		simcar_run(&r->s, MS);
	}
	return NULL;
}

static const char *message(const json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

static void waits_for_the_scan(void **state)
{
	struct run r;
	json_t *j;
	int64_t ended, at;
	(void)state;

	start(&r);
	ask(&r.a, 1);
	assert_null(reply(&r, &r.a, 1, 2000 * MS, NULL)); /* waiting, not refused */
	ask(&r.a, 2);
	j = reply(&r, &r.a, 2, 100 * MS, NULL);
	assert_non_null(j);
	assert_string_equal(message(j), "another discover waits for the background scan's end");
	json_decref(j);
	ended = r.s.fc.now;
	policy_end(r.s.c.policy, POLICY_SCAN);
	j = reply(&r, &r.a, 1, 1000 * MS, &at);
	assert_non_null(j);
	/* let through at the scan's end (the next turn), then no CAN on this host */
	assert_true(at - ended <= 2 * MS);
	assert_non_null(strstr(message(j), "cannot start"));
	json_decref(j);
	assert_false(policy_running(r.s.c.policy, POLICY_DISCOVERY));
	stop(&r);
}

static void deadline(void **state)
{
	struct run r;
	json_t *j;
	int64_t asked, at;
	(void)state;

	start(&r);
	asked = r.s.fc.now;
	ask(&r.a, 1);
	j = reply(&r, &r.a, 1, 12000 * MS, &at);
	assert_non_null(j);
	assert_string_equal(message(j), "a background scan is running");
	assert_true(at - asked >= 10000 * MS && at - asked <= 10050 * MS);
	json_decref(j);
	/* the scan ends later: nobody is woken any more */
	policy_end(r.s.c.policy, POLICY_SCAN);
	simcar_run(&r.s, 100 * MS);
	assert_false(policy_running(r.s.c.policy, POLICY_DISCOVERY));
	stop(&r);
}

static void client_gone(void **state)
{
	struct run r;
	struct fixture_client b;
	json_t *j;
	(void)state;

	start(&r);
	assert_int_equal(fixture_client_open(&b, r.s.sock), 0);
	ask(&b, 1);
	assert_null(reply(&r, &b, 1, 100 * MS, NULL)); /* read by the daemon, waiting */
	fixture_client_close(&b);
	assert_null(reply(&r, &r.a, 99, 100 * MS, NULL)); /* the daemon sees it go */
	policy_end(r.s.c.policy, POLICY_SCAN);
	simcar_run(&r.s, 100 * MS);
	/* the forgotten request did not start anything */
	assert_false(policy_running(r.s.c.policy, POLICY_DISCOVERY));
	/* and the next one is not told another waits */
	assert_int_equal(policy_begin(r.s.c.policy, POLICY_SCAN, (char[192]){0}, 192), POLICY_GO);
	ask(&r.a, 3);
	j = reply(&r, &r.a, 3, 200 * MS, NULL);
	if (j)
		fail_msg("answered while the scan runs: %s", message(j));
	policy_end(r.s.c.policy, POLICY_SCAN);
	j = reply(&r, &r.a, 3, 1000 * MS, NULL);
	assert_non_null(j);
	assert_non_null(strstr(message(j), "cannot start"));
	json_decref(j);
	stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(waits_for_the_scan),
	    cmocka_unit_test(deadline),
	    cmocka_unit_test(client_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
