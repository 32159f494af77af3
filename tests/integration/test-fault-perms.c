/* SPDX-License-Identifier: MIT */
/*
 * API permissions with real uids and groups: the test writes /etc/passwd and /etc/group
 * of the guest (only there: it refuses to run outside the VM bench), starts bodydiagd
 * (which resolves bodydiag and bodydiag-admin through NSS) and bodydiag-sim, and runs
 * clients in forked children that drop to a user with setgroups/setgid/setuid:
 * no group -> permission_denied for did.read and dtc.clear; group bodydiag -> did.read
 * answered, dtc.clear denied; group bodydiag-admin -> dtc.clear answered. The daemon
 * decides from SO_PEERCRED and SO_PEERGROUPS, so supplementary groups are what counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <grp.h>
#include <sys/stat.h>

#include "itest-daemon.h"

#define SOCK "/tmp/bd-fault-perms.sock"
#define CONF "/tmp/bd-fault-perms.conf"
#define LOG "/tmp/bd-fault-perms.log"
#define SIM_CTL "/tmp/bd-fault-perms-sim.sock"
#define SIM_LOG "/tmp/bd-fault-perms-sim.log"

#define GID_READ 2001
#define GID_ADMIN 2002
#define GID_USERS 100

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* What a call answered: "ok" for a result, else the error code ("?" for no answer). */
static const char *outcome(json_t *r, char *buf, size_t cap)
{
	const char *e = itd_error(r);

	snprintf(buf, cap, "%s", !r ? "?" : e ? e : json_object_get(r, "result") ? "ok" : "?");
	json_decref(r);
	return buf;
}

/*
 * In a child: becomes uid with primary group GID_USERS and the supplementary group
 * extra (0 = none), calls did.read and dtc.clear, exits 0 when the answers are the
 * expected ones (NULL expected = "ok"), else 1.
 */
static int as_user(uid_t uid, gid_t extra, const char *want_read, const char *want_clear)
{
	gid_t groups[] = {GID_USERS, extra};
	int st;
	pid_t pid;

	fflush(stdout); /* nothing buffered twice */
	pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		static struct itd_client c;
		char a[64], b[64], w[64];
		json_t *r;
		bool good;

		if (setgroups(extra ? 2 : 1, groups) < 0 || setgid(GID_USERS) < 0 ||
		    setuid(uid) < 0) {
			print_message("uid %u: cannot drop privileges: %s\n", (unsigned)uid,
				      strerror(errno));
			fflush(stdout);
			_exit(2);
		}
		c.fd = itd_connect(SOCK);
		if (c.fd < 0) {
			print_message("uid %u: connect: %s\n", (unsigned)uid, strerror(-c.fd));
			fflush(stdout);
			_exit(3);
		}
		r = itd_call(&c, "whoami", NULL, 5000);
		snprintf(w, sizeof(w), "%s",
			 json_string_value(json_object_get(json_object_get(r, "result"),
							   "privilege")) ?: "?");
		json_decref(r);
		outcome(itd_call(&c, "did.read",
				 json_pack("{s:s}", "did", "TrunkFuseVoltage"), 10000),
			a, sizeof(a));
		outcome(itd_call(&c, "dtc.clear", json_pack("{s:s}", "ecu", "bcm"), 10000), b,
			sizeof(b));
		good = !strcmp(a, want_read ?: "ok") && !strcmp(b, want_clear ?: "ok");
		print_message("uid %u groups %u,%u: privilege %s, did.read %s, dtc.clear %s%s\n",
			      (unsigned)uid, GID_USERS, (unsigned)extra, w, a, b,
			      good ? "" : "  <- unexpected");
		fflush(stdout); /* _exit does not */
		_exit(good ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void real_uids_and_groups(void **state)
{
	const char *guest = getenv("BDVM_GUEST");
	struct itd_client root = {.fd = -1};
	pid_t pid, sim;
	json_t *r;

	if (!guest || strcmp(guest, "1") != 0)
		fail_msg("writes /etc/passwd and /etc/group: runs only inside the VM bench");
	write_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
				  "nogroup-user:x:1001:100::/tmp:/bin/sh\n"
				  "reader:x:1002:100::/tmp:/bin/sh\n"
				  "admin:x:1003:100::/tmp:/bin/sh\n");
	write_file("/etc/group", "root:x:0:\nusers:x:100:\n"
				 "bodydiag:x:2001:reader\nbodydiag-admin:x:2002:admin\n");
	write_file("/etc/nsswitch.conf", "passwd: files\ngroup: files\n");

	itd_write_conf(CONF, SOCK, NULL, NULL, NULL);
	sim = itd_start_sim(NULL, SIM_CTL, SIM_LOG);
	root.fd = itd_start_daemon(CONF, SOCK, LOG, &pid);
	/* What a deployment's socket unit would do: everyone may connect, the groups
	 * decide what they may call. */
	assert_int_equal(chmod(SOCK, 0666), 0);
	r = itd_call(&root, "whoami", NULL, 20000);
	itd_print_json("root", r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"),
							      "privilege")) ?: "?",
			    "admin");
	json_decref(r);

	assert_int_equal(as_user(1001, 0, "permission_denied", "permission_denied"), 0);
	assert_int_equal(as_user(1002, GID_READ, NULL, "permission_denied"), 0);
	assert_int_equal(as_user(1003, GID_ADMIN, NULL, NULL), 0);

	close(root.fd);
	itd_stop(&sim, SIM_LOG);
	assert_int_equal(itd_stop(&pid, LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_uids_and_groups),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
