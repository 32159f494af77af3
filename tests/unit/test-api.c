/* SPDX-License-Identifier: MIT */
/*
 * The API server in-process: a real Unix socket in a temporary directory, a private
 * libev loop pumped by the test between client writes and reads (EVRUN_NOWAIT), so
 * every test is single-threaded and deterministic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/json_text.h"
#include "daemon/log.h"

#define TIMEOUT_MS 5000

struct fixture {
	char dir[64];
	char path[128];
	struct ev_loop *loop;
	struct api_server *server;
	struct api_request *held[8];
	size_t n_held;
	int cancels;
	bool complete_in_cancel;
	struct api_subscription *subs[8];
	size_t n_subs;
	int sub_closes;
};

/* A test client: non-blocking fd and a line buffer. */
struct conn {
	int fd;
	char buf[128 * 1024];
	size_t len;
	bool eof;
};

static struct fixture *F;

static void set_sun_path(struct sockaddr_un *sa, const char *path)
{
	assert_true(strlen(path) < sizeof(sa->sun_path));
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void pump(struct fixture *f)
{
	ev_run(f->loop, EVRUN_NOWAIT);
}

/* Pumps until the server has read and dispatched what clients sent (accept, then read). */
#define pump_until(f, cond)                                                                        \
	do {                                                                                       \
		long long end_ = now_ms() + TIMEOUT_MS;                                            \
		while (!(cond)) {                                                                  \
			if (now_ms() > end_)                                                       \
				fail_msg("timeout waiting for %s", #cond);                          \
			pump(f);                                                                   \
			usleep(100);                                                               \
		}                                                                                  \
	} while (0)

/* --- test methods --- */

static void on_cancel(void *data)
{
	struct api_request **slot = data;

	F->cancels++;
	if (F->complete_in_cancel) {
		/* What an actuator test does: clean up, then complete the orphan. */
		assert_true(api_request_is_orphan(*slot));
		assert_int_equal(api_request_reply(*slot, NULL), -EPIPE);
		*slot = NULL;
	}
}

static void method_hold(struct api_request *req, json_t *params, void *userdata)
{
	struct fixture *f = userdata;
	struct api_request **slot = &f->held[f->n_held++];

	*slot = req;
	api_request_set_cancel(req, on_cancel, slot);
}

static void on_sub_close(void *data)
{
	F->sub_closes++;
}

static void method_subscribe(struct api_request *req, json_t *params, void *userdata)
{
	struct fixture *f = userdata;
	struct api_subscription *sub;
	int r = api_request_subscribe(req, on_sub_close, f, &sub);

	if (r < 0) {
		api_request_fail(req, API_ERROR_INTERNAL, "subscribe: %s", strerror(-r));
		return;
	}
	f->subs[f->n_subs++] = sub;
	api_request_reply(req, json_pack("{s:b}", "subscribed", 1));
}

static void method_echo(struct api_request *req, json_t *params, void *userdata)
{
	api_request_reply(req, json_incref(params));
}

/* The result written as text: params {"n": N} gives N strings "item-00000"...; "broken":
 * a writer that fails (a value in an object without its key). */
static void method_text(struct api_request *req, json_t *params, void *userdata)
{
	struct json_text *w = api_request_reply_begin(req);
	json_int_t n = json_integer_value(json_object_get(params, "n"));
	char item[16];

	assert_non_null(w);
	json_text_array_begin(w);
	for (json_int_t i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "item-%05d", (int)i);
		json_text_string(w, item);
	}
	json_text_array_end(w);
	if (json_is_true(json_object_get(params, "broken"))) {
		json_text_object_begin(w);
		json_text_string(w, "no key");
		json_text_object_end(w);
	}
	api_request_reply_end(req, w);
}

static void method_invalid(struct api_request *req, json_t *params, void *userdata)
{
	api_request_fail(req, API_ERROR_INVALID_PARAMS, "bad %s", "params");
}

static void start_server(struct fixture *f, const struct api_limits *limits,
			 const struct api_groups *groups)
{
	const struct api_method methods[] = {
		{"test.hold", API_PRIVILEGE_NONE, method_hold, f, "holds the request"},
		{"test.subscribe", API_PRIVILEGE_READ, method_subscribe, f, NULL},
		{"test.echo", API_PRIVILEGE_NONE, method_echo, NULL, "echoes params"},
		{"test.read", API_PRIVILEGE_READ, method_echo, NULL, NULL},
		{"test.admin", API_PRIVILEGE_ADMIN, method_echo, NULL, NULL},
		{"test.invalid", API_PRIVILEGE_NONE, method_invalid, NULL, NULL},
		{"test.text", API_PRIVILEGE_NONE, method_text, NULL, NULL},
	};

	assert_int_equal(api_server_new(f->loop, limits, groups, &f->server), 0);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		assert_int_equal(api_server_register(f->server, &methods[i]), 0);
	assert_int_equal(api_server_listen_path(f->server, f->path), 0);
}

static struct api_groups no_groups(void)
{
	return (struct api_groups){0};
}

static int setup_limits(void **state, const struct api_limits *limits)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct api_groups g = no_groups();

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	start_server(f, limits, &g);
	F = f;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	struct api_limits l;

	api_limits_default(&l);
	l.rate_limit = 0;
	return setup_limits(state, &l);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->server = api_server_free(f->server);
	for (size_t i = 0; i < f->n_held; i++)
		if (f->held[i])
			api_request_reply(f->held[i], NULL);
	for (size_t i = 0; i < f->n_subs; i++)
		api_subscription_free(f->subs[i]);
	/* The server removed its socket file. */
	assert_int_equal(access(f->path, F_OK), -1);
	ev_loop_destroy(f->loop);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* --- client helpers --- */

static struct conn *conn_open(struct fixture *f)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	assert_non_null(c);
	set_sun_path(&sa, f->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(c->fd >= 0);
	for (long long end = now_ms() + TIMEOUT_MS;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		/* A full backlog: let the server accept, then retry. */
		assert_int_equal(errno, EAGAIN);
		assert_true(now_ms() < end);
		pump(f);
	}
	return c;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void conn_send(struct fixture *f, struct conn *c, const char *data, size_t len)
{
	long long end = now_ms() + TIMEOUT_MS;

	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			assert_true(now_ms() < end);
			pump(f);
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
	pump(f);
}

static void conn_sends(struct fixture *f, struct conn *c, const char *s)
{
	conn_send(f, c, s, strlen(s));
}

/* Reads what is there now; returns bytes read, 0 at EOF, -1 when nothing is ready. */
static ssize_t conn_fill(struct conn *c)
{
	ssize_t n;

	assert_true(c->len < sizeof(c->buf));
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n < 0) {
		assert_true(errno == EAGAIN || errno == ECONNRESET);
		if (errno == ECONNRESET) {
			c->eof = true;
			return 0;
		}
		return -1;
	}
	if (n == 0)
		c->eof = true;
	c->len += (size_t)n;
	return n;
}

/* Takes one complete line from the buffer (malloc'd, without newline) or NULL. */
static char *conn_take_line(struct conn *c)
{
	char *nl = memchr(c->buf, '\n', c->len);
	char *line;
	size_t n;

	if (!nl)
		return NULL;
	n = (size_t)(nl - c->buf);
	line = strndup(c->buf, n);
	assert_non_null(line);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	return line;
}

/* Waits for a line, pumping the server; NULL at EOF. Fails the test on timeout. */
static char *conn_read_line(struct fixture *f, struct conn *c)
{
	long long end = now_ms() + TIMEOUT_MS;

	for (;;) {
		char *line = conn_take_line(c);
		if (line)
			return line;
		if (c->eof)
			return NULL;
		pump(f);
		if (conn_fill(c) < 0) {
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			poll(&p, 1, 1);
		}
		if (now_ms() > end)
			fail_msg("timeout waiting for a line");
	}
}

static json_t *conn_read_json(struct fixture *f, struct conn *c)
{
	char *line = conn_read_line(f, c);
	json_error_t e;
	json_t *j;

	if (!line)
		fail_msg("EOF instead of a line");
	j = json_loads(line, 0, &e);
	if (!j)
		fail_msg("not JSON: %s", line);
	assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
	free(line);
	return j;
}

static void assert_eof(struct fixture *f, struct conn *c)
{
	char *line = conn_read_line(f, c);
	if (line)
		fail_msg("expected EOF, got %s", line);
}

/* The next line is an error with this code; id < 0: no id expected. */
static void expect_error(struct fixture *f, struct conn *c, const char *code, long long id)
{
	json_t *j = conn_read_json(f, c);
	json_t *e = json_object_get(j, "error");

	if (!e || strcmp(json_string_value(json_object_get(e, "code")), code) != 0)
		fail_msg("expected error %s, got %s", code, json_dumps(j, 0));
	assert_true(json_is_string(json_object_get(e, "message")));
	if (id < 0)
		assert_null(json_object_get(j, "id"));
	else
		assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
	json_decref(j);
}

/* The next line is a result for id; returns the result (caller decrefs). */
static json_t *expect_result(struct fixture *f, struct conn *c, long long id)
{
	json_t *j = conn_read_json(f, c);
	json_t *r = json_object_get(j, "result");

	if (!r)
		fail_msg("expected a result, got %s", json_dumps(j, 0));
	assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
	json_incref(r);
	json_decref(j);
	return r;
}

static void ping(struct fixture *f, struct conn *c, int id)
{
	char buf[64];
	json_t *r;

	snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%d,\"method\":\"ping\"}\n", id);
	conn_sends(f, c, buf);
	r = expect_result(f, c, id);
	assert_true(json_is_true(json_object_get(r, "pong")));
	json_decref(r);
}

/* --- tests --- */

/* An /etc/group line (name:password:gid:member,...): its gid and members, or false. */
static bool group_line(char *line, char **ret_gid, char **ret_members)
{
	char *field[4];

	line[strcspn(line, "\n")] = 0;
	for (int i = 0; i < 4; i++)
		field[i] = strsep(&line, ":");
	if (!field[3])
		return false;
	*ret_gid = field[2];
	*ret_members = field[3];
	return true;
}

/*
 * api_user_groups() (the SO_PEERGROUPS fallback) against /etc/group read here: for a user
 * listed as a member somewhere (else root), the given primary gid and exactly the groups
 * that list it; for a uid without a user, the primary gid alone.
 */
static void user_groups_fallback(void **state)
{
	char line[4096], name[256] = "root";
	gid_t want[256], *got = NULL;
	size_t n_want = 0, n_got = 0;
	struct passwd *pw;
	uid_t uid;
	FILE *f = fopen("/etc/group", "re");

	assert_non_null(f);
	/* The first member of a group who is a user. */
	while (fgets(line, sizeof(line), f)) {
		char *gid, *members, *m;

		if (!group_line(line, &gid, &members))
			continue;
		m = strsep(&members, ",");
		if (*m && getpwnam(m)) {
			snprintf(name, sizeof(name), "%s", m);
			break;
		}
	}
	pw = getpwnam(name);
	assert_non_null(pw);
	uid = pw->pw_uid;
	want[n_want++] = 54321;
	rewind(f);
	while (fgets(line, sizeof(line), f) && n_want < sizeof(want) / sizeof(want[0])) {
		char *gid, *members, *m;

		if (!group_line(line, &gid, &members))
			continue;
		while ((m = strsep(&members, ",")))
			if (strcmp(m, name) == 0)
				want[n_want++] = (gid_t)strtoul(gid, NULL, 10);
	}
	fclose(f);

	assert_int_equal(api_user_groups(uid, 54321, &got, &n_got), 0);
	print_message("user %s (uid %u): %zu groups\n", name, (unsigned)uid, n_got);
	assert_int_equal(n_got, n_want);
	for (size_t i = 0; i < n_want; i++) {
		bool found = false;

		for (size_t j = 0; j < n_got; j++)
			found |= got[j] == want[i];
		assert_true(found);
	}
	free(got);

	/* No such user (nobody has uid 4000000000 here): the primary group only. */
	assert_null(getpwuid(4000000000u));
	assert_int_equal(api_user_groups(4000000000u, 777, &got, &n_got), 0);
	assert_int_equal(n_got, 1);
	assert_int_equal(got[0], 777);
	free(got);
}

static void privilege_decision(void **state)
{
	struct api_groups g = {.have_admin = true, .admin_gid = 900, .have_read = true,
			       .read_gid = 901};
	struct api_groups none = {0};
	gid_t a[] = {100, 900}, r[] = {901, 5}, both[] = {901, 900}, neither[] = {0, 5};

	assert_int_equal(api_peer_privilege(0, NULL, 0, &none), API_PRIVILEGE_ADMIN);
	assert_int_equal(api_peer_privilege(0, neither, 2, &g), API_PRIVILEGE_ADMIN);
	assert_int_equal(api_peer_privilege(1000, a, 2, &g), API_PRIVILEGE_ADMIN);
	assert_int_equal(api_peer_privilege(1000, r, 2, &g), API_PRIVILEGE_READ);
	assert_int_equal(api_peer_privilege(1000, both, 2, &g), API_PRIVILEGE_ADMIN);
	/* gid 0 is not root: only uid 0 is. */
	assert_int_equal(api_peer_privilege(1000, neither, 2, &g), API_PRIVILEGE_NONE);
	assert_int_equal(api_peer_privilege(1000, NULL, 0, &g), API_PRIVILEGE_NONE);
	/* A group that does not exist grants nothing, even if its gid field matches. */
	none.admin_gid = 900;
	none.read_gid = 901;
	assert_int_equal(api_peer_privilege(1000, both, 2, &none), API_PRIVILEGE_NONE);

	assert_string_equal(api_privilege_name(API_PRIVILEGE_NONE), "none");
	assert_string_equal(api_privilege_name(API_PRIVILEGE_READ), "read");
	assert_string_equal(api_privilege_name(API_PRIVILEGE_ADMIN), "admin");
	assert_null(api_privilege_name(API_PRIVILEGE_MAX));
}

static void error_table(void **state)
{
	/* Every code has a unique wire name and a description. */
	for (int i = 0; i < API_ERROR_MAX; i++) {
		assert_non_null(api_error_code(i));
		assert_non_null(api_error_description(i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(api_error_code(i), api_error_code(j));
	}
	assert_null(api_error_code(API_ERROR_MAX));
	assert_string_equal(api_error_code(API_ERROR_PERMISSION_DENIED), "permission_denied");
}

static void groups_resolve(void **state)
{
	struct api_groups g;
	struct group *root = getgrgid(0);

	assert_non_null(root);
	assert_int_equal(api_groups_resolve("bodydiag-test-no-such-group", root->gr_name, &g), 0);
	assert_false(g.have_admin);
	assert_true(g.have_read);
	assert_int_equal(g.read_gid, 0);
}

static void parse_pure(void **state)
{
	struct api_parsed_request p;
	static const char ok[] = "{\"v\":1,\"id\":\"a\",\"method\":\"dtc.read\"}";

	assert_int_equal(api_request_parse(ok, strlen(ok), &p), 0);
	assert_string_equal(p.method, "dtc.read");
	assert_string_equal(json_string_value(p.id), "a");
	assert_true(json_is_object(p.params));
	assert_int_equal(json_object_size(p.params), 0);
	api_parsed_request_finish(&p);

	/* A NUL inside the line is not JSON. */
	assert_int_equal(api_request_parse("{\"v\":1,\0}", 9, &p), 1);
	assert_int_equal(p.error, API_ERROR_PARSE_ERROR);
	api_parsed_request_finish(&p);
}

static void builtins(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	json_t *r, *list;
	bool saw_admin = false;
	size_t i;
	json_t *m;

	conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"version\"}\n");
	r = expect_result(f, c, 1);
	assert_int_equal(json_integer_value(json_object_get(r, "api")), API_VERSION);
	assert_true(json_string_length(json_object_get(r, "daemon")) > 0);
	json_decref(r);

	ping(f, c, 2);

	conn_sends(f, c, "{\"v\":1,\"id\":3,\"method\":\"methods\"}\n");
	r = expect_result(f, c, 3);
	list = json_object_get(r, "methods");
	assert_true(json_array_size(list) >= 10);
	json_array_foreach(list, i, m) {
		if (strcmp(json_string_value(json_object_get(m, "name")), "test.admin") == 0) {
			assert_string_equal(json_string_value(json_object_get(m, "privilege")),
					    "admin");
			saw_admin = true;
		}
	}
	assert_true(saw_admin);
	json_decref(r);

	conn_sends(f, c, "{\"v\":1,\"id\":4,\"method\":\"whoami\"}\n");
	r = expect_result(f, c, 4);
	assert_int_equal(json_integer_value(json_object_get(r, "uid")), getuid());
	assert_int_equal(json_integer_value(json_object_get(r, "pid")), getpid());
	assert_string_equal(json_string_value(json_object_get(r, "privilege")),
			    getuid() == 0 ? "admin" : "none");
	json_decref(r);

	/* String ids are echoed; params reach the handler; handler errors carry the id. */
	conn_sends(f, c, "{\"v\":1,\"id\":\"x-7\",\"method\":\"test.echo\",\"params\":{\"a\":[1]}}\n");
	{
		json_t *j = conn_read_json(f, c);
		assert_string_equal(json_string_value(json_object_get(j, "id")), "x-7");
		assert_int_equal(json_integer_value(json_array_get(
					 json_object_get(json_object_get(j, "result"), "a"), 0)),
				 1);
		json_decref(j);
	}
	conn_sends(f, c, "{\"v\":1,\"id\":5,\"method\":\"test.invalid\"}\n");
	expect_error(f, c, "invalid_params", 5);
	/* No id: the reply has none either. */
	conn_sends(f, c, "{\"v\":1,\"method\":\"ping\"}\r\n\n\n");
	{
		json_t *j = conn_read_json(f, c);
		assert_null(json_object_get(j, "id"));
		assert_non_null(json_object_get(j, "result"));
		json_decref(j);
	}
	conn_close(c);
}

static void malformed(void **state)
{
	static const struct {
		const char *line;
		const char *code;
		long long id;
	} cases[] = {
		{"not json", "parse_error", -1},
		{"{\"v\":1,\"id\":1,\"method\":\"ping\"", "parse_error", -1},
		{"{\"v\":1,\"id\":1,\"method\":\"ping\"} trailing", "parse_error", -1},
		{"{\"v\":1,\"v\":1,\"id\":1,\"method\":\"ping\"}", "parse_error", -1},
		{"\"just a string\"", "parse_error", -1},
		{"{\"v\":1,\"id\":1,\"method\":\"ping\",\"x\":\"\xff\"}", "parse_error", -1},
		{"[1,2,3]", "invalid_request", -1},
		{"{}", "invalid_request", -1},
		{"{\"id\":11,\"method\":\"ping\"}", "invalid_request", 11},
		{"{\"v\":\"1\",\"id\":12,\"method\":\"ping\"}", "invalid_request", 12},
		{"{\"v\":2,\"id\":13,\"method\":\"ping\"}", "unsupported_version", 13},
		{"{\"v\":1,\"id\":14}", "invalid_request", 14},
		{"{\"v\":1,\"id\":15,\"method\":7}", "invalid_request", 15},
		{"{\"v\":1,\"id\":16,\"method\":\"Ping\"}", "invalid_request", 16},
		{"{\"v\":1,\"id\":17,\"method\":\"\"}", "invalid_request", 17},
		{"{\"v\":1,\"id\":18,\"method\":\"ping\",\"params\":[]}", "invalid_request", 18},
		{"{\"v\":1,\"id\":19,\"method\":\"ping\",\"extra\":1}", "invalid_request", 19},
		{"{\"v\":1,\"id\":1.5,\"method\":\"ping\"}", "invalid_request", -1},
		{"{\"v\":1,\"id\":{},\"method\":\"ping\"}", "invalid_request", -1},
		{"{\"v\":1,\"id\":20,\"method\":\"no.such\"}", "unknown_method", 20},
	};
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\n", cases[i].line);
		conn_sends(f, c, buf);
		expect_error(f, c, cases[i].code, cases[i].id);
	}
	/* The connection survived all of it. */
	ping(f, c, 99);
	assert_int_equal(api_server_client_count(f->server), 1);
	conn_close(c);
}

static int setup_small_lines(void **state)
{
	struct api_limits l;

	api_limits_default(&l);
	l.rate_limit = 0;
	l.max_line = 1024;
	return setup_limits(state, &l);
}

static void oversized(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	char big[3000], exact[1025];
	static const char head[] = "{\"v\":1,\"id\":5,\"method\":\"ping\"";

	/* No newline yet, but already over the limit: answered at once. */
	memset(big, 'x', sizeof(big));
	conn_send(f, c, big, sizeof(big));
	expect_error(f, c, "line_too_long", -1);
	/* The rest of that line is discarded, not parsed as a new request. */
	conn_sends(f, c, "yyyy\n");
	ping(f, c, 1);

	/* An oversized line that arrives complete in one write. */
	memset(big, 'z', 2000);
	big[2000] = '\n';
	conn_send(f, c, big, 2001);
	expect_error(f, c, "line_too_long", -1);
	ping(f, c, 2);

	/* Exactly max_line bytes is still a request. */
	memset(exact, ' ', sizeof(exact));
	memcpy(exact, head, strlen(head));
	exact[1022] = '}';
	exact[1023] = ' ';
	exact[1024] = '\n';
	conn_send(f, c, exact, sizeof(exact));
	json_decref(expect_result(f, c, 5));

	/* One byte more is not. */
	{
		char over[1026];
		memcpy(over, exact, 1024);
		over[1024] = ' ';
		over[1025] = '\n';
		conn_send(f, c, over, sizeof(over));
		expect_error(f, c, "line_too_long", -1);
	}
	ping(f, c, 3);
	conn_close(c);
}

static void one_byte_at_a_time(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	static const char req[] = "{\"v\":1,\"id\":42,\"method\":\"ping\"}\n"
				  "{\"v\":1,\"id\":43,\"method\":\"version\"}\n";
	json_t *r;

	for (size_t i = 0; i < strlen(req); i++) {
		conn_send(f, c, req + i, 1);
		pump(f);
		/* Nothing comes back before the first newline. */
		if (i < 31)
			assert_int_equal(conn_fill(c), -1);
	}
	r = expect_result(f, c, 42);
	json_decref(r);
	r = expect_result(f, c, 43);
	json_decref(r);
	conn_close(c);
}

/* --- permissions with real other uids (we are root) or as ourselves (we are not) --- */

/* Child side: blocking I/O, no cmocka (it would longjmp into the parent's stack). */
static int child_check(const char *path, const char *expect_read, const char *expect_admin)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[512];
	FILE *in;
	int fd;
	static const char reqs[] = "{\"v\":1,\"id\":1,\"method\":\"test.read\"}\n"
				   "{\"v\":1,\"id\":2,\"method\":\"test.admin\"}\n"
				   "{\"v\":1,\"id\":3,\"method\":\"ping\"}\n";

	if (strlen(path) >= sizeof(sa.sun_path))
		return 9;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 10;
	if (write(fd, reqs, strlen(reqs)) != (ssize_t)strlen(reqs))
		return 11;
	in = fdopen(fd, "r");
	if (!in)
		return 12;
	if (!fgets(line, sizeof(line), in) || !strstr(line, expect_read))
		return 13;
	if (!fgets(line, sizeof(line), in) || !strstr(line, expect_admin))
		return 14;
	if (!fgets(line, sizeof(line), in) || !strstr(line, "\"pong\":true"))
		return 15;
	fclose(in);
	return 0;
}

static void run_child_as(struct fixture *f, uid_t uid, gid_t gid, const char *expect_read,
			 const char *expect_admin)
{
	pid_t pid = fork();
	int status;
	long long end = now_ms() + TIMEOUT_MS;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(20);
		_exit(child_check(f->path, expect_read, expect_admin));
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		assert_true(w >= 0);
		if (w == pid)
			break;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			fail_msg("child timed out");
		}
		pump(f);
		usleep(1000);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void permission_denied(void **state)
{
	struct fixture *f = *state;
	struct api_groups g = {.have_read = true, .read_gid = 65534};

	if (geteuid() != 0) {
		/* Not root and in no configured group: privilege NONE. */
		struct conn *c = conn_open(f);
		conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"test.read\"}\n");
		expect_error(f, c, "permission_denied", 1);
		conn_sends(f, c, "{\"v\":1,\"id\":2,\"method\":\"test.admin\"}\n");
		expect_error(f, c, "permission_denied", 2);
		ping(f, c, 3);
		conn_close(c);
		return;
	}
	/* The coarse gate is the file mode; open it up so that other uids get to the check. */
	assert_int_equal(chmod(f->dir, 0711), 0);
	assert_int_equal(chmod(f->path, 0666), 0);
	run_child_as(f, 65534, 65534, "permission_denied", "permission_denied");
	/* Membership of the read group (here the primary gid) grants READ, not ADMIN. */
	api_server_set_groups(f->server, &g);
	run_child_as(f, 65534, 65534, "\"result\"", "permission_denied");
	g = (struct api_groups){.have_admin = true, .admin_gid = 65534};
	api_server_set_groups(f->server, &g);
	run_child_as(f, 65534, 65534, "\"result\"", "\"result\"");
}

/* --- many clients --- */

static int setup_max100(void **state)
{
	struct api_limits l;
	struct rlimit rl;

	/* 500 test fds + 100 server fds must fit. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2048) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	api_limits_default(&l);
	l.rate_limit = 0;
	l.max_clients = 100;
	return setup_limits(state, &l);
}

static void many_clients(void **state)
{
	enum { N = 500, MAX = 100 };
	struct fixture *f = *state;
	struct conn **c = calloc(N, sizeof(*c));
	bool *rejected = calloc(N, sizeof(bool));
	size_t n_rejected = 0, n_accepted = 0;
	long long end = now_ms() + TIMEOUT_MS;

	assert_non_null(c);
	assert_non_null(rejected);
	for (int i = 0; i < N; i++)
		c[i] = conn_open(f);
	/* Let the server accept or turn away every one of them. */
	while (n_rejected < N - MAX) {
		assert_true(now_ms() < end);
		pump(f);
		for (int i = 0; i < N; i++) {
			char *line;
			if (rejected[i])
				continue;
			conn_fill(c[i]);
			line = conn_take_line(c[i]);
			if (!line)
				continue;
			assert_non_null(strstr(line, "\"code\":\"too_many_clients\""));
			assert_null(strstr(line, "\"id\""));
			free(line);
			rejected[i] = true;
			n_rejected++;
		}
	}
	assert_int_equal(api_server_client_count(f->server), MAX);
	for (int i = 0; i < N; i++) {
		if (rejected[i]) {
			assert_eof(f, c[i]);
			continue;
		}
		ping(f, c[i], i);
		n_accepted++;
	}
	assert_int_equal(n_accepted, MAX);
	assert_int_equal(n_rejected, N - MAX);

	/* Places freed by leaving clients are given to new ones. */
	for (int i = 0, closed = 0; i < N && closed < 10; i++) {
		if (!rejected[i]) {
			close(c[i]->fd);
			c[i]->fd = -1;
			closed++;
		}
	}
	while (api_server_client_count(f->server) > MAX - 10) {
		assert_true(now_ms() < end + TIMEOUT_MS);
		pump(f);
	}
	{
		struct conn *extra = conn_open(f);
		ping(f, extra, 1000);
		conn_close(extra);
	}
	for (int i = 0; i < N; i++)
		conn_close(c[i]);
	free(c);
	free(rejected);
}

/* --- slow consumer --- */

static int setup_small_output(void **state)
{
	struct api_limits l;

	api_limits_default(&l);
	l.rate_limit = 0;
	l.max_output = 64 * 1024;
	return setup_limits(state, &l);
}

static void drain_events(struct conn *c, int *next_seq)
{
	char *line;

	while (conn_fill(c) > 0)
		;
	while ((line = conn_take_line(c))) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "event")), "live");
		assert_int_equal(
			json_integer_value(json_object_get(json_object_get(j, "data"), "seq")),
			*next_seq);
		(*next_seq)++;
		json_decref(j);
		free(line);
	}
}

static void slow_consumer(void **state)
{
	enum { N = 3000 };
	struct fixture *f = *state;
	struct conn *slow = conn_open(f), *fast = conn_open(f);
	char pad[901];
	int fast_seq = 0, slow_seq = 0, dropped = 0;
	long long end = now_ms() + 4 * TIMEOUT_MS;
	char *line;

	/* As root we are READ-capable; otherwise grant READ through our own gid. */
	if (geteuid() != 0) {
		struct api_groups g = {.have_read = true, .read_gid = getgid()};
		api_server_set_groups(f->server, &g);
		conn_close(slow);
		conn_close(fast);
		slow = conn_open(f);
		fast = conn_open(f);
	}
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	conn_sends(f, slow, "{\"v\":1,\"id\":1,\"method\":\"test.subscribe\"}\n");
	json_decref(expect_result(f, slow, 1));
	conn_sends(f, fast, "{\"v\":1,\"id\":1,\"method\":\"test.subscribe\"}\n");
	json_decref(expect_result(f, fast, 1));
	assert_int_equal(f->n_subs, 2);

	for (int i = 0; i < N; i++) {
		for (size_t s = 0; s < f->n_subs; s++) {
			int r = api_subscription_send(f->subs[s], "live",
						      json_pack("{s:i,s:s}", "seq", i, "pad", pad));
			if (s == 0)
				assert_true(r == 0 || r == -EPIPE);
			else
				assert_int_equal(r, 0);
		}
		pump(f);
		drain_events(fast, &fast_seq);
	}
	while (fast_seq < N) {
		assert_true(now_ms() < end);
		pump(f);
		drain_events(fast, &fast_seq);
	}
	/* The slow one was dropped and told its subscription is gone; the fast one stays. */
	assert_int_equal(f->sub_closes, 1);
	assert_true(api_subscription_is_orphan(f->subs[0]));
	assert_false(api_subscription_is_orphan(f->subs[1]));
	assert_int_equal(api_server_client_count(f->server), 1);
	assert_int_equal(api_subscription_send(f->subs[0], "live", NULL), -EPIPE);

	/* What the slow one gets: a gap-free prefix, maybe the notice, then EOF. */
	conn_fill(slow);
	while ((line = conn_read_line(f, slow))) {
		json_t *j = json_loads(line, 0, NULL);
		const char *ev;
		assert_non_null(j);
		ev = json_string_value(json_object_get(j, "event"));
		assert_non_null(ev);
		if (strcmp(ev, "dropped") == 0) {
			assert_string_equal(json_string_value(json_object_get(
						    json_object_get(j, "data"), "reason")),
					    "slow consumer");
			dropped++;
		} else {
			assert_int_equal(dropped, 0);
			assert_int_equal(json_integer_value(json_object_get(
						 json_object_get(j, "data"), "seq")),
					 slow_seq);
			slow_seq++;
		}
		json_decref(j);
		free(line);
	}
	assert_true(slow_seq > 0 && slow_seq < N);
	assert_true(dropped <= 1);
	print_message("slow consumer got %d of %d events before the drop (notice: %d)\n",
		      slow_seq, N, dropped);

	/* The fast client still gets answers. */
	ping(f, fast, 2);
	conn_close(slow);
	conn_close(fast);
}

/*
 * A result written as text (api_request_reply_begin/_end, what `findings` uses) is the
 * line api_format_result() makes of the same value; a big one (over what a client's
 * buffer keeps between replies) goes out whole and the next request is answered; a
 * writer that failed drops the client like any reply that ran out of memory.
 */
static void text_replies(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	json_t *id = json_string("x"),
	       *want = json_pack("[s, s, s]", "item-00000", "item-00001", "item-00002");
	size_t len;
	char *line, *same = api_format_result(id, want, &len);

	assert_non_null(same);
	assert_string_equal(same, "{\"v\":1,\"id\":\"x\",\"result\":"
				  "[\"item-00000\",\"item-00001\",\"item-00002\"]}\n");
	conn_sends(f, c, "{\"v\":1,\"id\":\"x\",\"method\":\"test.text\",\"params\":{\"n\":3}}\n");
	line = conn_read_line(f, c);
	assert_non_null(line);
	assert_int_equal(strlen(line) + 1, len);
	assert_memory_equal(line, same, len - 1);
	free(line);
	free(same);
	json_decref(id);

	/* ~110 KB, twice, the second asked before the first is read */
	conn_sends(f, c,
		   "{\"v\":1,\"id\":1,\"method\":\"test.text\",\"params\":{\"n\":8500}}\n"
		   "{\"v\":1,\"id\":2,\"method\":\"test.text\",\"params\":{\"n\":8500}}\n");
	for (int k = 1; k <= 2; k++) {
		json_t *r = expect_result(f, c, k);
		assert_int_equal(json_array_size(r), 8500);
		assert_string_equal(json_string_value(json_array_get(r, 8499)), "item-08499");
		json_decref(r);
	}
	ping(f, c, 3);

	conn_sends(f, c,
		   "{\"v\":1,\"id\":4,\"method\":\"test.text\",\"params\":{\"broken\":true}}\n");
	assert_eof(f, c);
	conn_close(c);
	assert_int_equal(api_server_client_count(f->server), 0);
}

/*
 * Issue 19: an idle client holds small buffers (daemon/api.c's IN_KEEP and OUT_KEEP, 1 and
 * 4 KiB). A long line's and a big reply's buffers go back once empty: kept for the
 * connection's life they held tens of KB each in the heap (bench/memory-bench.sh).
 */
#define IDLE_BUFFER_BYTES (1024 + 4096)

static void buffers_shrink(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	char *line;
	json_t *r;
	int n;

	ping(f, c, 1);
	assert_in_range(api_server_buffer_bytes(f->server), 1, IDLE_BUFFER_BYTES);

	/* ~40 KB: under 64 KiB, the size malloc maps on its own (daemon/startup.c) */
	conn_sends(f, c, "{\"v\":1,\"id\":2,\"method\":\"test.text\",\"params\":{\"n\":3000}}\n");
	r = expect_result(f, c, 2);
	assert_int_equal(json_array_size(r), 3000);
	json_decref(r);
	assert_in_range(api_server_buffer_bytes(f->server), 1, IDLE_BUFFER_BYTES);

	/* a 20 KB request line, sent in one piece */
	line = malloc(21000);
	assert_non_null(line);
	n = snprintf(line, 21000, "{\"v\":1,\"id\":3,\"method\":\"test.text\",\"params\":{\"n\":1,"
				  "\"pad\":\"%020000d\"}}\n", 0);
	assert_in_range(n, 20000, 20999);
	conn_send(f, c, line, (size_t)n);
	free(line);
	r = expect_result(f, c, 3);
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	assert_in_range(api_server_buffer_bytes(f->server), 1, IDLE_BUFFER_BYTES);

	ping(f, c, 4);
	conn_close(c);
}

/* A result written as text that does not fit the client's bound: a slow consumer, as a
 * reply built the other way. */
static void text_reply_too_big(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);

	conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"test.text\",\"params\":{\"n\":6000}}\n");
	for (char *line; (line = conn_read_line(f, c));) {
		/* at most the notice: the reply itself never fits */
		assert_non_null(strstr(line, "\"dropped\""));
		free(line);
	}
	conn_close(c);
	assert_int_equal(api_server_client_count(f->server), 0);
}

/* --- asynchronous requests --- */

static void async_and_cancel(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	struct api_request *req;

	conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"test.hold\"}\n"
			 "{\"v\":1,\"id\":2,\"method\":\"test.hold\"}\n");
	pump_until(f, f->n_held == 2);
	assert_string_equal(api_request_method(f->held[0]), "test.hold");
	assert_int_equal(api_request_peer(f->held[0])->pid, getpid());
	/* Other requests are served while those are pending. */
	ping(f, c, 3);
	/* A later answer reaches the client, with its id. */
	req = f->held[0];
	f->held[0] = NULL;
	assert_int_equal(api_request_reply(req, json_pack("{s:i}", "late", 1)), 0);
	json_decref(expect_result(f, c, 1));

	/* The client leaves with request 2 open: the handler is told once. */
	conn_close(c);
	pump_until(f, api_server_client_count(f->server) == 0);
	assert_int_equal(f->cancels, 1);
	assert_true(api_request_is_orphan(f->held[1]));
	req = f->held[1];
	f->held[1] = NULL;
	assert_int_equal(api_request_fail(req, API_ERROR_TIMEOUT, "too late"), -EPIPE);

	/* A cancel callback may complete the orphan itself (actuator test clean-up). */
	f->complete_in_cancel = true;
	c = conn_open(f);
	conn_sends(f, c, "{\"v\":1,\"id\":4,\"method\":\"test.hold\"}\n");
	pump_until(f, f->n_held == 3);
	conn_close(c);
	pump_until(f, api_server_client_count(f->server) == 0);
	assert_int_equal(f->cancels, 2);
	assert_null(f->held[2]);
}

static int setup_pending2(void **state)
{
	struct api_limits l;

	api_limits_default(&l);
	l.rate_limit = 0;
	l.max_pending = 2;
	return setup_limits(state, &l);
}

static void too_many_requests(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);

	conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"test.hold\"}\n"
			 "{\"v\":1,\"id\":2,\"method\":\"test.hold\"}\n"
			 "{\"v\":1,\"id\":3,\"method\":\"test.hold\"}\n");
	expect_error(f, c, "too_many_requests", 3);
	assert_int_equal(f->n_held, 2);
	api_request_reply(f->held[0], NULL);
	f->held[0] = NULL;
	json_decref(expect_result(f, c, 1));
	ping(f, c, 4); /* a slot is free again */
	conn_close(c);
}

static int setup_rate5(void **state)
{
	struct api_limits l;

	api_limits_default(&l);
	l.rate_limit = 5;
	return setup_limits(state, &l);
}

static void rate_limited(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	char buf[1024] = "";
	int results = 0, limited = 0;

	/* Ten requests in one write: the same ev_now() for all, so exactly the burst passes. */
	for (int i = 0; i < 10; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, "{\"v\":1,\"id\":%d,\"method\":\"ping\"}\n", i);
	}
	conn_sends(f, c, buf);
	for (int i = 0; i < 10; i++) {
		json_t *j = conn_read_json(f, c);
		if (json_object_get(j, "result"))
			results++;
		else if (strcmp(json_string_value(json_object_get(json_object_get(j, "error"),
								  "code")),
				"rate_limited") == 0)
			limited++;
		json_decref(j);
	}
	assert_int_equal(results, 5);
	assert_int_equal(limited, 5);
	conn_close(c);
}

static void half_close(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);

	/* The last request may lack its newline when the client shuts its side down. */
	conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"ping\"}\n{\"v\":1,\"id\":2,\"method\":\"ping\"}");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	json_decref(expect_result(f, c, 1));
	json_decref(expect_result(f, c, 2));
	assert_eof(f, c);
	conn_close(c);

	/* With a held request, the connection waits for the answer. */
	c = conn_open(f);
	conn_sends(f, c, "{\"v\":1,\"id\":3,\"method\":\"test.hold\"}\n");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	pump_until(f, f->n_held == 1);
	for (int i = 0; i < 20; i++)
		pump(f);
	assert_int_equal(api_server_client_count(f->server), 1);
	api_request_reply(f->held[0], NULL);
	f->held[0] = NULL;
	json_decref(expect_result(f, c, 3));
	assert_eof(f, c);
	conn_close(c);
}

/* Out of fds: the listener pauses instead of spinning on EMFILE, then recovers. */
static void accept_emfile(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_open(f);
	struct rlimit old, rl;
	long long end;
	int wakeups = 0;

	/* c->fd was the lowest free fd, so no fd can be created above this limit. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)c->fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	pump(f);
	assert_int_equal(api_server_client_count(f->server), 0);
	/*
	 * A listener left active would wake the loop thousands of times in 300 ms; a paused
	 * one retries every 100 ms (plus the odd wakeup internal to libev).
	 */
	for (end = now_ms() + 300; now_ms() < end; wakeups++)
		ev_run(f->loop, EVRUN_ONCE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (wakeups > 30)
		fail_msg("%d loop wakeups in 300 ms: accept() is spinning", wakeups);
	assert_int_equal(api_server_client_count(f->server), 0);
	ping(f, c, 1);
	assert_int_equal(api_server_client_count(f->server), 1);
	conn_close(c);
}

static void registration(void **state)
{
	struct fixture *f = *state;
	struct api_method m = {"ping", API_PRIVILEGE_NONE, method_echo, NULL, NULL};
	struct conn *c;

	assert_int_equal(api_server_register(f->server, &m), -EEXIST);
	m.name = "Bad";
	assert_int_equal(api_server_register(f->server, &m), -EINVAL);
	m.name = "ok";
	m.handler = NULL;
	assert_int_equal(api_server_register(f->server, &m), -EINVAL);
	m.handler = method_echo;
	m.privilege = API_PRIVILEGE_MAX;
	assert_int_equal(api_server_register(f->server, &m), -EINVAL);

	assert_int_equal(api_server_unregister(f->server, "ping"), 0);
	assert_int_equal(api_server_unregister(f->server, "ping"), -ENOENT);
	c = conn_open(f);
	conn_sends(f, c, "{\"v\":1,\"id\":1,\"method\":\"ping\"}\n");
	expect_error(f, c, "unknown_method", 1);
	conn_close(c);
}

static void listen_paths(void **state)
{
	struct fixture *f = *state;
	struct api_server *other;
	struct api_limits l;
	struct api_groups g = no_groups();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[160];
	int fd;

	api_limits_default(&l);
	assert_int_equal(api_server_new(f->loop, &l, &g, &other), 0);
	/* A live daemon's socket is not stolen. */
	assert_int_equal(api_server_listen_path(other, f->path), -EADDRINUSE);
	/* A regular file is not replaced. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(api_server_listen_path(other, path), -EEXIST);
	unlink(path);
	/* A stale socket (bound, never served, closed) is replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", f->dir);
	set_sun_path(&sa, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(api_server_listen_path(other, path), 0);
	{
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0660);
	}
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(api_server_listen_path(other, path), -ENAMETOOLONG);
	other = api_server_free(other);
	assert_null(other);
	assert_null(api_server_free(NULL));
}

/*
 * Started by hand, the daemon gives its socket to the read group (as the socket unit's
 * SocketGroup= does), so that group's members can connect. Root may give any gid; others
 * any group they are in.
 */
static void listen_path_group(void **state)
{
	struct fixture *f = *state;
	struct api_server *other;
	struct api_limits l;
	struct api_groups g = no_groups();
	gid_t list[64];
	int n = getgroups(64, list);
	char path[160];
	struct stat st;

	g.have_read = true;
	g.read_gid = getegid();
	if (geteuid() == 0) {
		g.read_gid = 4242; /* a gid nobody uses: only the chown can put it there */
	} else {
		for (int i = 0; i < n; i++)
			if (list[i] != getegid())
				g.read_gid = list[i];
	}
	api_limits_default(&l);
	assert_int_equal(api_server_new(f->loop, &l, &g, &other), 0);
	snprintf(path, sizeof(path), "%s/group.sock", f->dir);
	assert_int_equal(api_server_listen_path(other, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, g.read_gid);
	other = api_server_free(other);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(privilege_decision),
		cmocka_unit_test(error_table),
		cmocka_unit_test(groups_resolve),
		cmocka_unit_test(user_groups_fallback),
		cmocka_unit_test(parse_pure),
		cmocka_unit_test_setup_teardown(builtins, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized, setup_small_lines, teardown),
		cmocka_unit_test_setup_teardown(one_byte_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(permission_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(many_clients, setup_max100, teardown),
		cmocka_unit_test_setup_teardown(slow_consumer, setup_small_output, teardown),
		cmocka_unit_test_setup_teardown(text_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(text_reply_too_big, setup_small_output, teardown),
		cmocka_unit_test_setup_teardown(buffers_shrink, setup, teardown),
		cmocka_unit_test_setup_teardown(async_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(too_many_requests, setup_pending2, teardown),
		cmocka_unit_test_setup_teardown(rate_limited, setup_rate5, teardown),
		cmocka_unit_test_setup_teardown(half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(accept_emfile, setup, teardown),
		cmocka_unit_test_setup_teardown(registration, setup, teardown),
		cmocka_unit_test_setup_teardown(listen_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(listen_path_group, setup, teardown),
	};
	/* The daemon's log lines (400 rejected clients...) would drown the test output. */
	log_set_max_priority(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
