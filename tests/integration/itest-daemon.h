/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Helpers of the integration tests that run the real binaries in the guest (test-fault-*.c,
 * test-broker.c, test-actuator.c, test-scan.c): bodydiagd and bodydiag-sim as child
 * processes, the simulator's control socket, and a minimal API client with its own buffer
 * so a test can hold many connections. Include after cmocka.h. Paths: BODYDIAG_BUILD_ROOT
 * and BODYDIAG_SOURCE_ROOT (meson test sets them, the VM bench passes them on).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/linux/can_raw.h"
#include "itest.h"

static inline int64_t itd_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline const char *itd_root(const char *env)
{
	const char *r = getenv(env);

	if (!r || !*r)
		fail_msg("%s is not set (run through meson test)", env);
	return r;
}

static inline void itd_dump(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		print_message("# %s: %s", path, line);
	fclose(f);
}

/* Children not yet reaped: a failed test must not leave a daemon or a simulator on the
 * bus for the next test binary (itd_group_end kills them). */
static pid_t itd_children[16];

static inline void itd_forget(pid_t pid)
{
	for (size_t i = 0; i < sizeof(itd_children) / sizeof(itd_children[0]); i++)
		if (itd_children[i] == pid)
			itd_children[i] = 0;
}

/* Runs argv[0] with stdin from /dev/null and stdout/stderr into log. */
static inline pid_t itd_spawn(const char *const *argv, const char *log)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	for (size_t i = 0; pid > 0 && i < sizeof(itd_children) / sizeof(itd_children[0]); i++)
		if (itd_children[i] == 0) {
			itd_children[i] = pid;
			break;
		}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (null < 0 || fd < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* A connected AF_UNIX stream socket, or -errno. */
static inline int itd_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Connects to the socket a child creates, for up to 20 s (ASan under TCG is slow); child
 * <= 0: no child to watch. */
static inline int itd_connect_wait(const char *path, pid_t child, const char *log)
{
	int64_t end = itd_mono_us() + 20000000;

	for (;;) {
		int st, fd = itd_connect(path);

		if (fd >= 0)
			return fd;
		if (child > 0 && waitpid(child, &st, WNOHANG) == child) {
			itd_dump(log);
			fail_msg("%s exited (status 0x%x) before %s appeared", log, st, path);
		}
		if (itd_mono_us() > end) {
			itd_dump(log);
			fail_msg("%s did not appear within 20 s", path);
		}
		usleep(20000);
	}
}

/* SIGTERM, up to 5 s; 0 for a clean exit, -1 otherwise (then killed, log shown). */
static inline int itd_stop(pid_t *pid, const char *log)
{
	bool exited = false;
	int st = 0;

	if (*pid <= 0)
		return -1;
	itd_forget(*pid);
	kill(*pid, SIGTERM);
	for (int i = 0; i < 500 && !exited; i++) {
		exited = waitpid(*pid, &st, WNOHANG) == *pid;
		if (!exited)
			usleep(10000);
	}
	if (!exited) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &st, 0);
	}
	*pid = -1;
	if (!exited || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_message("# %s: %s, status 0x%x\n", log, exited ? "exited" : "killed", st);
		itd_dump(log);
		return -1;
	}
	return 0;
}

/* cmocka group setup/teardown that print how long the group took (bench time budget). */
static int64_t itd_group_t0;

static inline int itd_group_start(void **state)
{
	itd_group_t0 = itd_mono_us();
	return 0;
}

/* Kills every child still running: after a case, failed or not, nothing of it stays on
 * the bus for the next. */
static inline void itd_kill_children(void)
{
	for (size_t i = 0; i < sizeof(itd_children) / sizeof(itd_children[0]); i++)
		if (itd_children[i] > 0) {
			kill(itd_children[i], SIGKILL);
			waitpid(itd_children[i], NULL, 0);
			itd_children[i] = 0;
		}
}

/* A cmocka teardown of one case: itd_kill_children(). */
static inline int itd_case_end(void **state)
{
	itd_kill_children();
	return 0;
}

static inline int itd_group_end(void **state)
{
	itd_kill_children();
	print_message("time: %.1f s\n", (double)(itd_mono_us() - itd_group_t0) / 1e6);
	return 0;
}

/* The daemon's binary, the simulator's, and a file of the source tree. */
static inline void itd_path(char *buf, size_t cap, const char *env, const char *rel)
{
	snprintf(buf, cap, "%s/%s", itd_root(env), rel);
}

/* ---- a minimal API client ---- */

struct itd_client {
	int fd;
	int id;
	size_t len;
	char buf[1 << 16];
};

/* Sends one request line; returns its id, or -errno. */
static inline int itd_send(struct itd_client *c, const char *method, json_t *params)
{
	json_t *req = json_pack("{s:i,s:i,s:s,s:o}", "v", 1, "id", ++c->id, "method", method,
				"params", params ? params : json_object());
	char *line = json_dumps(req, JSON_COMPACT);
	size_t n;
	int r = c->id;

	json_decref(req);
	if (!line)
		return -ENOMEM;
	n = strlen(line);
	line[n] = '\n'; /* the dump's NUL, replaced; only n + 1 bytes are written */
	if (write(c->fd, line, n + 1) != (ssize_t)(n + 1))
		r = -EIO;
	free(line);
	return r;
}

/* The next line as JSON within ms; NULL on timeout, EOF or a bad line. */
static inline json_t *itd_read(struct itd_client *c, int ms)
{
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;
		int left;

		if (nl) {
			json_t *j = json_loadb(c->buf, (size_t)(nl - c->buf), 0, NULL);
			c->len -= (size_t)(nl - c->buf) + 1;
			memmove(c->buf, nl + 1, c->len);
			return j;
		}
		left = (int)((end - itd_mono_us()) / 1000);
		if (left < 0 || c->len == sizeof(c->buf) || !itest_wait_readable(c->fd, left))
			return NULL;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

/* One call; the reply (events before it skipped), or NULL after ms. */
static inline json_t *itd_call(struct itd_client *c, const char *method, json_t *params, int ms)
{
	int id = itd_send(c, method, params);
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;

	if (id < 0)
		return NULL;
	while (itd_mono_us() < end) {
		json_t *j = itd_read(c, (int)((end - itd_mono_us()) / 1000) + 1);
		if (!j)
			return NULL;
		if (json_integer_value(json_object_get(j, "id")) == id)
			return j;
		json_decref(j);
	}
	return NULL;
}

/* itd_call, and the test fails when no reply came. */
static inline json_t *itd_call_or_fail(struct itd_client *c, const char *method, json_t *params,
				       int ms)
{
	json_t *r = itd_call(c, method, params, ms);

	if (!r)
		fail_msg("no reply to %s", method);
	return r;
}

/* The error code of a reply ("permission_denied"), or NULL when it is a result. */
static inline const char *itd_error(const json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static inline void itd_print_json(const char *what, const json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

	print_message("%s: %s\n", what, t ? t : "(none)");
	free(t);
}

/* The interface the configs below name (NULL: can0). */
static const char *itd_conf_iface;
/* The profile they name (NULL: the simulator's). */
static const char *itd_conf_profile;

/*
 * Writes a daemon config: can0 (or itd_conf_iface), the simulator's profile, the socket, no
 * rate limit, the log level, plus lines for [data] and [api], and extra sections (e.g.
 * "[history]\npath = ...\n").
 */
static inline void itd_write_conf_level(const char *conf, const char *sock, const char *level,
					const char *data_extra, const char *api_extra,
					const char *extra)
{
	char profile[1024];
	FILE *f = fopen(conf, "we");

	if (itd_conf_profile)
		snprintf(profile, sizeof(profile), "%s", itd_conf_profile);
	else
		itd_path(profile, sizeof(profile), "BODYDIAG_SOURCE_ROOT", "profiles/sim-2026.profile");
	assert_non_null(f);
	fprintf(f, "[can]\ninterface = %s\n[data]\nprofile = %s\n%s[api]\nsocket = %s\n"
		   "rate_limit = 0\n%s[log]\nlevel = %s\n%s",
		itd_conf_iface ? itd_conf_iface : ITEST_CAN0, profile, data_extra ? data_extra : "",
		sock, api_extra ? api_extra : "",
		level, extra ? extra : "");
	fclose(f);
}

/* itd_write_conf_level at level info. */
static inline void itd_write_conf(const char *conf, const char *sock, const char *data_extra,
				  const char *api_extra, const char *extra)
{
	itd_write_conf_level(conf, sock, "info", data_extra, api_extra, extra);
}

/* Starts bodydiagd -c conf and connects to sock; the connection's fd. */
static inline int itd_start_daemon(const char *conf, const char *sock, const char *log,
				   pid_t *ret_pid)
{
	char bin[1024];
	const char *argv[] = {bin, "-c", conf, NULL};

	itd_path(bin, sizeof(bin), "BODYDIAG_BUILD_ROOT", "daemon/bodydiagd");
	unlink(sock);
	*ret_pid = itd_spawn(argv, log);
	return itd_connect_wait(sock, *ret_pid, log);
}

/* Starts bodydiag-sim on can1 with a fault (NULL = healthy); its pid. */
static inline pid_t itd_start_sim(const char *fault, const char *ctl, const char *log)
{
	char sim[1024];
	const char *argv[] = {sim, "--iface", ITEST_CAN1, "--control", ctl, "--no-stdin",
			      "--seed", "7", fault ? "--fault" : NULL, fault, NULL};
	pid_t pid;

	itd_path(sim, sizeof(sim), "BODYDIAG_BUILD_ROOT", "tools/bodydiag-sim/bodydiag-sim");
	unlink(ctl);
	pid = itd_spawn(argv, log);
	close(itd_connect_wait(ctl, pid, log));
	return pid;
}

/* ---- a scripted ECU of raw frames ---- */

/* The next frame with id on the CAN_RAW socket fd (the daemon's request, its flow
 * control) within ms; false on timeout. */
static inline bool itd_wait_frame(int fd, uint32_t id, struct bd_frame *ret, int ms)
{
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;
	struct bd_timed_frame tf;

	while (itd_mono_us() < end) {
		if (!itest_wait_readable(fd, (int)((end - itd_mono_us()) / 1000) + 1))
			continue;
		while (can_raw_recv(fd, &tf, NULL, NULL) == 1)
			if (tf.frame.id == id) {
				*ret = tf.frame;
				return true;
			}
	}
	return false;
}

/* ---- the simulator's control socket ---- */

/* Sends one command line to the simulator on ctl; its reply into buf (the test fails
 * unless it starts with "ok"). */
static inline void itd_sim_cmd_reply(int ctl, const char *cmd, char *buf, size_t size)
{
	ssize_t n;

	snprintf(buf, size, "%s\n", cmd);
	assert_int_equal(write(ctl, buf, strlen(buf)), (ssize_t)strlen(buf));
	assert_true(itest_wait_readable(ctl, 5000));
	n = read(ctl, buf, size - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	if (strncmp(buf, "ok", 2) != 0)
		fail_msg("simulator: '%s' -> '%s'", cmd, buf);
}

static inline void itd_sim_cmd(int ctl, const char *cmd)
{
	char buf[1024];

	itd_sim_cmd_reply(ctl, cmd, buf, sizeof(buf));
}

/* ---- the guided test, driven by the simulator ---- */

/* The simulator's action for a question's mark ("fob_trunk_pressed" -> "press fob_trunk"). */
static inline const char *itd_action_for(const char *mark)
{
	if (!strcmp(mark, "interior_pressed"))
		return "press interior";
	if (!strcmp(mark, "key_blade_turned"))
		return "key_blade";
	return "press fob_trunk";
}

/*
 * Runs `diagnose` on api (params stolen, NULL: answer_timeout 30 s) to its end: each
 * question's action done by the simulator on sim_ctl, then its mark sent on marks (a
 * second connection, as `bodydiag diagnose` does). before_action (may be NULL) runs before
 * each action. Returns the reply (the test fails when none comes within 120 s).
 */
static inline json_t *itd_diagnose(struct itd_client *api, struct itd_client *marks, int sim_ctl,
				   json_t *params, void (*before_action)(void *userdata),
				   void *userdata)
{
	int id = itd_send(api, "diagnose", params ? params : json_pack("{s:f}", "answer_timeout", 30.0));

	assert_true(id > 0);
	for (;;) {
		json_t *j = itd_read(api, 120000);
		const char *ev;

		if (!j)
			fail_msg("no reply to diagnose");
		if (json_integer_value(json_object_get(j, "id")) == id)
			return j;
		ev = json_string_value(json_object_get(j, "event"));
		if (ev && !strcmp(ev, "diagnose.question")) {
			const char *mark =
				json_string_value(json_object_get(json_object_get(j, "data"), "mark"));

			if (before_action)
				before_action(userdata);
			itd_sim_cmd(sim_ctl, itd_action_for(mark));
			json_decref(itd_call_or_fail(marks, "mark", json_pack("{s:s}", "label", mark),
						     10000));
		}
		json_decref(j);
	}
}
