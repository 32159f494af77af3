/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, many clients: the bodydiagd binary with its default limit (64) turns
 * the 65th and later connections away with too_many_clients and keeps serving the others;
 * with max_clients raised to 1100 it holds 1000 connected clients at once, each answers
 * a ping, and a new client is still served while they are all connected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>

#include "itest-daemon.h"

#define SOCK "/tmp/bd-fault-clients.sock"
#define CONF "/tmp/bd-fault-clients.conf"
#define LOG "/tmp/bd-fault-clients.log"
#define N_MANY 1000

static struct itd_client *clients;

static int setup(void **state)
{
	/* 1000 connections on our side, 1000 in the daemon (which inherits the limit). */
	struct rlimit rl = {.rlim_cur = 4096, .rlim_max = 4096};

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	clients = calloc(N_MANY + 1, sizeof(*clients));
	return clients ? itd_group_start(state) : -1;
}

static int teardown(void **state)
{
	free(clients);
	return itd_group_end(state);
}

static void ping_ok(struct itd_client *c, int ms)
{
	json_t *r = itd_call(c, "ping", NULL, ms);

	if (!json_is_true(json_object_get(json_object_get(r, "result"), "pong"))) {
		itd_print_json("ping", r);
		fail_msg("client fd %d: no pong", c->fd);
	}
	json_decref(r);
}

static void default_limit_refuses_extra(void **state)
{
	struct itd_client extra = {.fd = -1};
	pid_t pid;
	json_t *r;
	int refused = 0;

	itd_write_conf(CONF, SOCK, NULL, NULL, NULL);
	clients[0].fd = itd_start_daemon(CONF, SOCK, LOG, &pid);
	ping_ok(&clients[0], 20000);
	for (int i = 1; i < 64; i++) {
		clients[i].fd = itd_connect(SOCK);
		assert_true(clients[i].fd >= 0);
		clients[i].len = 0;
		clients[i].id = 0;
	}
	for (int i = 1; i < 64; i++)
		ping_ok(&clients[i], 5000);
	/* Six more: each gets too_many_clients, then EOF. */
	for (int i = 0; i < 6; i++) {
		extra.fd = itd_connect(SOCK);
		extra.len = 0;
		assert_true(extra.fd >= 0);
		r = itd_read(&extra, 5000);
		if (r && itd_error(r) && !strcmp(itd_error(r), "too_many_clients"))
			refused++;
		else
			itd_print_json("65th client", r);
		json_decref(r);
		r = itd_read(&extra, 2000);
		assert_null(r); /* closed */
		close(extra.fd);
	}
	assert_int_equal(refused, 6);
	/* The 64 are still served; after one leaves, a newcomer is too. */
	ping_ok(&clients[63], 5000);
	close(clients[63].fd);
	usleep(100000);
	clients[63].fd = itd_connect(SOCK);
	clients[63].len = 0;
	ping_ok(&clients[63], 5000);
	for (int i = 0; i < 64; i++)
		close(clients[i].fd);
	print_message("default limit: 64 served, %d refused with too_many_clients\n", refused);
	assert_int_equal(itd_stop(&pid, LOG), 0);
}

static void thousand_clients(void **state)
{
	struct itd_client *late = &clients[N_MANY];
	int64_t t0, t_conn, t_ping;
	pid_t pid;

	itd_write_conf(CONF, SOCK, NULL, "max_clients = 1100\n", NULL);
	clients[0].fd = itd_start_daemon(CONF, SOCK, LOG, &pid);
	clients[0].len = 0;
	clients[0].id = 0;
	t0 = itd_mono_us();
	for (int i = 1; i < N_MANY; i++) {
		clients[i].fd = itd_connect(SOCK);
		if (clients[i].fd < 0)
			fail_msg("connection %d: %s", i, strerror(-clients[i].fd));
		clients[i].len = 0;
		clients[i].id = 0;
	}
	t_conn = itd_mono_us();
	/* All requests first, then all answers: the daemon has 1000 live clients at once. */
	for (int i = 0; i < N_MANY; i++)
		assert_true(itd_send(&clients[i], "ping", NULL) > 0);
	for (int i = 0; i < N_MANY; i++) {
		json_t *r = itd_read(&clients[i], 60000);
		if (!json_is_true(json_object_get(json_object_get(r, "result"), "pong"))) {
			itd_print_json("ping", r);
			fail_msg("client %d: no pong", i);
		}
		json_decref(r);
	}
	t_ping = itd_mono_us();
	late->fd = itd_connect(SOCK);
	late->len = 0;
	late->id = 0;
	{
		json_t *r = itd_call(late, "status", NULL, 10000);
		json_t *res = json_object_get(r, "result");
		if (!res)
			itd_print_json("status", r);
		assert_non_null(res);
		assert_int_equal(json_integer_value(json_object_get(res, "clients")), N_MANY + 1);
		json_decref(r);
	}
	print_message("%d clients: connected in %.0f ms, all pinged in %.0f ms\n", N_MANY,
		      (double)(t_conn - t0) / 1000, (double)(t_ping - t_conn) / 1000);
	for (int i = 0; i <= N_MANY; i++)
		close(clients[i].fd);
	assert_int_equal(itd_stop(&pid, LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_limit_refuses_extra),
		cmocka_unit_test(thousand_clients),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
