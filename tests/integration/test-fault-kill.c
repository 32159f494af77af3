/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, kill -9 under load: bodydiagd with a history database, bodydiag-sim
 * with a wiring fault on can1, a child process hammering did.read on its own connection,
 * and guided tests (diagnose without questions: DTC and DID reads, recorded as a session
 * with DTC snapshots) one after another. The daemon is SIGKILLed while a guided test is
 * in flight, then restarted as systemd would (same config, stale socket left behind),
 * three rounds. After each: PRAGMA integrity_check says ok, every session the API
 * acknowledged is in the database with its DTC snapshots (when its result reports a
 * positive 0x19 answer), the restarted daemon serves did.read and lists the sessions
 * through the history method.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "itest-daemon.h"

#define DIR "/tmp/bd-fault-kill"
#define SOCK DIR "/api.sock"
#define CONF DIR "/bodydiag.conf"
#define LOG DIR "/daemon.log"
#define DB DIR "/history.db"
#define SIM_CTL DIR "/sim.sock"
#define SIM_LOG DIR "/sim.log"
#define ROUNDS 3
#define MAX_ACKED 64

static struct itd_client api;
static int64_t acked[MAX_ACKED];
static bool acked_dtcs[MAX_ACKED]; /* its result reports a positive DTC read */
static size_t n_acked;

/* In a child: did.read as fast as answers come, until the daemon goes away. */
static pid_t hammer(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		static struct itd_client c;
		int n = 0;

		c.fd = itd_connect(SOCK);
		for (;;) {
			json_t *r = itd_call(&c, "did.read",
					     json_pack("{s:s}", "did", "TrunkFuseVoltage"), 5000);
			if (!r)
				_exit(n > 0 ? 0 : 1);
			json_decref(r);
			n++;
		}
	}
	return pid;
}

static void check_db(int round)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int r, snapshots = 0;

	/* Read-write: the WAL the killed daemon left is what a restart recovers from. */
	assert_int_equal(sqlite3_open_v2(DB, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	print_message("round %d: integrity_check %s\n", round, sqlite3_column_text(st, 0));
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT (SELECT count(*) FROM sessions WHERE id = ?1), "
					    "(SELECT count(*) FROM dtc_snapshots WHERE session_id = ?1)",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < n_acked; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, acked[i]);
		r = sqlite3_step(st);
		assert_int_equal(r, SQLITE_ROW);
		if (sqlite3_column_int(st, 0) != 1 ||
		    (acked_dtcs[i] && sqlite3_column_int(st, 1) < 1))
			fail_msg("acknowledged session %lld: %d session rows, %d DTC snapshots",
				 (long long)acked[i], sqlite3_column_int(st, 0),
				 sqlite3_column_int(st, 1));
		snapshots += sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	print_message("round %d: %zu acknowledged sessions all there, with %d DTC snapshots\n",
		      round, n_acked, snapshots);
	sqlite3_close(db);
}

/*
 * One guided test; its session id (acknowledged), or 0 when it gave none. *ret_dtcs:
 * whether it reports a positive answer to 0x19 (under load a read may time out, and
 * then there is no snapshot to expect; the simulator's fault always sets one DTC).
 */
static int64_t diagnose(bool *ret_dtcs)
{
	json_t *r = itd_call(&api, "diagnose", json_pack("{s:b}", "questions", 0), 60000);
	json_t *res = json_object_get(r, "result"), *read;
	json_t *s = json_object_get(res, "session");
	int64_t id = json_is_integer(s) ? json_integer_value(s) : 0;
	size_t i;

	*ret_dtcs = false;
	json_array_foreach(json_object_get(res, "reads"), i, read)
		if (!strncmp(json_string_value(json_object_get(read, "request")) ?: "", "19", 2) &&
		    !strcmp(json_string_value(json_object_get(read, "outcome")) ?: "", "response") &&
		    !json_object_get(read, "nrc"))
			*ret_dtcs = true;
	if (!id)
		itd_print_json("diagnose", r);
	json_decref(r);
	return id;
}

static void kill9_under_load(void **state)
{
	char rules[1024], data[1100], extra[1100];
	pid_t pid, sim, load;
	json_t *r;
	int st;

	itd_path(rules, sizeof(rules), "BODYDIAG_SOURCE_ROOT", "rules/trunk.rules");
	snprintf(data, sizeof(data), "rules = %s\n", rules);
	assert_int_equal(system("rm -rf " DIR " && mkdir -p " DIR), 0);
	snprintf(extra, sizeof(extra), "[history]\npath = %s\n", DB);
	itd_write_conf(CONF, SOCK, data, NULL, extra);
	sim = itd_start_sim("hinge_wiring_open", SIM_CTL, SIM_LOG);

	for (int round = 1; round <= ROUNDS; round++) {
		int64_t t0, t_ready;
		size_t before = n_acked;

		t0 = itd_mono_us();
		api.fd = itd_start_daemon(CONF, SOCK, LOG, &pid);
		api.len = 0;
		t_ready = itd_mono_us();
		if (round > 1) {
			check_db(round - 1);
			r = itd_call(&api, "history", json_pack("{s:s}", "kind", "session"), 10000);
			assert_true(json_array_size(json_object_get(json_object_get(r, "result"),
								    "records")) >= n_acked);
			json_decref(r);
		}
		load = hammer();
		for (int i = 0; i < 3; i++) {
			bool dtcs;
			int64_t id = diagnose(&dtcs);
			assert_true(id > 0);
			assert_true(n_acked < MAX_ACKED);
			acked_dtcs[n_acked] = dtcs;
			acked[n_acked++] = id;
		}
		/* One more in flight, then the kill. */
		assert_true(itd_send(&api, "diagnose", json_pack("{s:b}", "questions", 0)) > 0);
		usleep(30000 * (unsigned)round);
		itd_forget(pid);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
		close(api.fd);
		assert_int_equal(waitpid(load, &st, 0), load);
		print_message("round %d: up in %.0f ms, %zu sessions acknowledged, killed "
			      "(hammer exit %d)\n",
			      round, (double)(t_ready - t0) / 1000, n_acked - before,
			      WEXITSTATUS(st));
	}
	/* The restart after the last kill: intact, complete, serving. */
	api.fd = itd_start_daemon(CONF, SOCK, LOG, &pid);
	api.len = 0;
	check_db(ROUNDS);
	r = itd_call(&api, "did.read", json_pack("{s:s}", "did", "TrunkFuseVoltage"), 10000);
	if (!json_object_get(r, "result"))
		itd_print_json("did.read after restart", r);
	assert_non_null(json_object_get(r, "result"));
	json_decref(r);
	close(api.fd);
	itd_stop(&sim, SIM_LOG);
	assert_int_equal(itd_stop(&pid, LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill9_under_load),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
