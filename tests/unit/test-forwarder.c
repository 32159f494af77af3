/* SPDX-License-Identifier: MIT */
/*
 * daemon/forwarder against a real broker: Debian's mosquitto binary, started by the test
 * on a free loopback port with a temporary config. A libmosquitto subscriber in the same
 * process (QoS 1) counts what arrives. Checked: every record
 * exactly once and in order across a broker outage, the queue empty afterwards, records
 * queued by one forwarder and sent by the next (daemon restart), the retained
 * online/offline status with the last will on a SIGKILLed forwarder, and the
 * credentials file parser. A missing mosquitto binary is a failure, not a skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/forwarder.h"
#include "daemon/history_outbox.h"

#define VIN "WVWZZZ1KZ6W000001"
#define MAX_MSGS 512

struct msg {
	char topic[128];
	char payload[512];
	bool retained;
};

struct fx {
	char dir[64], db[128], conf[128], log[128];
	int port;
	pid_t broker;
	struct ev_loop *loop;
	ev_timer tick;
	struct mosquitto *sub;
	bool sub_ready;
	double sub_retry_at;
	struct msg msgs[MAX_MSGS];
	int n_msgs;
};

static const char *mosquitto_path(void)
{
	const char *p = getenv("MOSQUITTO");

	return p ? p : "/usr/sbin/mosquitto";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static bool port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

	close(fd);
	return ok;
}

static void broker_start(struct fx *f)
{
	if (access(mosquitto_path(), X_OK) != 0)
		fail_msg("%s not found: install Debian's mosquitto package (or set MOSQUITTO)",
			 mosquitto_path());
	f->broker = fork();
	assert_true(f->broker >= 0);
	if (f->broker == 0) {
		int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(mosquitto_path(), "mosquitto", "-c", f->conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (port_open(f->port))
			return;
		int status;
		if (waitpid(f->broker, &status, WNOHANG) == f->broker)
			fail_msg("mosquitto exited at start (status %d), see %s", status, f->log);
		usleep(10000);
	}
	fail_msg("mosquitto did not listen on port %d within 5 s", f->port);
}

static void broker_stop(struct fx *f)
{
	int status;

	if (f->broker <= 0)
		return;
	/* SIGTERM: a clean service stop. */
	kill(f->broker, SIGTERM);
	waitpid(f->broker, &status, 0);
	f->broker = 0;
}

/* --- the subscriber --- */

static void sub_on_connect(struct mosquitto *m, void *userdata, int rc)
{
	if (rc == 0)
		mosquitto_subscribe(m, NULL, "bodydiag/#", 1);
}

static void sub_on_subscribe(struct mosquitto *m, void *userdata, int mid, int n, const int *qos)
{
	struct fx *f = userdata;

	f->sub_ready = true;
}

static void sub_on_message(struct mosquitto *m, void *userdata, const struct mosquitto_message *msg)
{
	struct fx *f = userdata;

	if (f->n_msgs >= MAX_MSGS)
		return;
	struct msg *out = &f->msgs[f->n_msgs++];
	snprintf(out->topic, sizeof(out->topic), "%s", msg->topic);
	snprintf(out->payload, sizeof(out->payload), "%.*s", msg->payloadlen,
		 (const char *)msg->payload);
	out->retained = msg->retain;
}

static void sub_start(struct fx *f, const char *id)
{
	if (f->sub) {
		mosquitto_disconnect(f->sub);
		mosquitto_destroy(f->sub);
	}
	f->sub = mosquitto_new(id, true, f);
	assert_non_null(f->sub);
	mosquitto_connect_callback_set(f->sub, sub_on_connect);
	mosquitto_subscribe_callback_set(f->sub, sub_on_subscribe);
	mosquitto_message_callback_set(f->sub, sub_on_message);
	f->sub_ready = false;
	assert_int_equal(mosquitto_connect(f->sub, "127.0.0.1", f->port, 60), MOSQ_ERR_SUCCESS);
	/*
	 * Subscribed before the loop runs again: the forwarder's timers only fire inside
	 * ev_run, so it cannot publish before the subscription is in place.
	 */
	for (double end = now_s() + 5; !f->sub_ready && now_s() < end;)
		mosquitto_loop(f->sub, 50, 1);
	assert_true(f->sub_ready);
}

/* The fixture of the running test, for the subscriber's poll timer. */
static struct fx *FX;

static void sub_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fx *f = FX;

	if (!f->sub)
		return;
	int rc = mosquitto_loop(f->sub, 0, 1);
	if (rc != MOSQ_ERR_SUCCESS && now_s() >= f->sub_retry_at) {
		f->sub_retry_at = now_s() + 0.1;
		mosquitto_reconnect(f->sub);
	}
}

static bool run_until(struct fx *f, bool (*cond)(struct fx *f, void *arg), void *arg,
		      double timeout_s)
{
	double end = now_s() + timeout_s;

	while (now_s() < end) {
		if (cond(f, arg))
			return true;
		ev_run(f->loop, EVRUN_ONCE);
	}
	return cond(f, arg);
}

static void run_for(struct fx *f, double s)
{
	double end = now_s() + s;

	while (now_s() < end)
		ev_run(f->loop, EVRUN_ONCE);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/bodydiag-fwd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/history.db", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/mosquitto.conf", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/mosquitto.log", f->dir);
	f->port = free_port();
	fp = fopen(f->conf, "w");
	assert_non_null(fp);
	fprintf(fp,
		"listener %d 127.0.0.1\n"
		"allow_anonymous true\n"
		"log_dest stderr\n"
		"log_type error\nlog_type warning\nlog_type notice\n",
		f->port);
	/* As root, mosquitto drops to user "mosquitto", who may not write our temp dir. */
	if (geteuid() == 0)
		fprintf(fp, "user root\n");
	fclose(fp);
	mosquitto_lib_init();
	f->loop = ev_loop_new(EVFLAG_AUTO);
	FX = f;
	ev_timer_init(&f->tick, sub_poll, 0.002, 0.002);
	ev_timer_start(f->loop, &f->tick);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	if (f->sub) {
		mosquitto_disconnect(f->sub);
		mosquitto_destroy(f->sub);
	}
	broker_stop(f);
	ev_timer_stop(f->loop, &f->tick);
	ev_loop_destroy(f->loop);
	mosquitto_lib_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct history *open_history(struct fx *f)
{
	struct history *h = NULL;
	char err[256] = "";

	if (history_open(f->db, NULL, &h, err, sizeof(err)) < 0)
		fail_msg("history_open: %s", err);
	return h;
}

static struct forwarder *new_forwarder(struct fx *f, struct history *h)
{
	struct forwarder_options o = {
		.host = "127.0.0.1",
		.port = (uint16_t)f->port,
		.client_id = "bodydiag-test",
		.vin = VIN,
		.keepalive_s = 5,
		.reconnect_min_s = 0.05,
		.reconnect_max_s = 0.2,
	};
	struct forwarder *fw = NULL;

	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), 0);
	return fw;
}

static void publish_range(struct forwarder *fw, int from, int to)
{
	for (int i = from; i < to; i++) {
		char p[64];
		int n = snprintf(p, sizeof(p), "{\"seq\":%d}", i);
		assert_int_equal(forwarder_publish(fw, "findings", p, (size_t)n, 1000 + i), 0);
	}
}

static int findings_count(struct fx *f)
{
	int n = 0;

	for (int i = 0; i < f->n_msgs; i++)
		if (strcmp(f->msgs[i].topic, "bodydiag/" VIN "/findings") == 0)
			n++;
	return n;
}

static bool got_findings(struct fx *f, void *arg)
{
	return findings_count(f) >= *(int *)arg;
}

static bool fw_connected(struct fx *f, void *arg)
{
	return forwarder_connected(arg);
}

static bool fw_disconnected(struct fx *f, void *arg)
{
	return !forwarder_connected(arg);
}

static bool queue_empty(struct fx *f, void *arg)
{
	uint64_t d = 1;

	return history_queue_depth(arg, &d) >= 0 && d == 0;
}

/* Every seq in [0, n) exactly once and in order. */
static void assert_exactly_once_in_order(struct fx *f, int n)
{
	int next = 0;

	for (int i = 0; i < f->n_msgs; i++) {
		int seq;
		if (strcmp(f->msgs[i].topic, "bodydiag/" VIN "/findings") != 0)
			continue;
		assert_int_equal(sscanf(f->msgs[i].payload, "{\"seq\":%d}", &seq), 1);
		if (seq != next) {
			for (int k = 0; k < f->n_msgs; k++)
				print_message("%d %s %s%s\n", k, f->msgs[k].topic, f->msgs[k].payload,
					      f->msgs[k].retained ? " (retained)" : "");
		}
		if (seq != next)
			fail_msg("message %d: seq %d where %d was expected (duplicate or reordered)", i,
				 seq, next);
		next++;
	}
	assert_int_equal(next, n);
}

static void broker_outage(void **state)
{
	struct fx *f = *state;
	struct history *h = open_history(f);
	struct forwarder *fw;
	int want;
	uint64_t depth;

	broker_start(f);
	sub_start(f, "test-sub");
	fw = new_forwarder(f, h);
	assert_true(run_until(f, fw_connected, fw, 5));

	/* Broker up. */
	publish_range(fw, 0, 20);
	want = 20;
	assert_true(run_until(f, got_findings, &want, 10));
	assert_true(run_until(f, queue_empty, h, 5));

	/* Broker down: records queue up in SQLite. */
	broker_stop(f);
	assert_true(run_until(f, fw_disconnected, fw, 5));
	publish_range(fw, 20, 50);
	run_for(f, 0.3); /* reconnect attempts fail meanwhile */
	assert_int_equal(forwarder_queue_depth(fw, &depth), 0);
	assert_int_equal(depth, 30);

	/*
	 * Broker back: everything arrives, exactly once, in order; the queue drains. The
	 * broker keeps no state (no persistence), so a fresh subscriber takes over; it is
	 * subscribed before the forwarder gets a chance to reconnect.
	 */
	broker_start(f);
	sub_start(f, "test-sub-2");
	want = 50;
	assert_true(run_until(f, got_findings, &want, 15));
	assert_true(run_until(f, queue_empty, h, 5));
	run_for(f, 0.3); /* a late duplicate would show up now */
	assert_exactly_once_in_order(f, 50);
	assert_int_equal(forwarder_acked(fw), 50);

	/* The retained status said online. */
	bool online = false;
	for (int i = 0; i < f->n_msgs; i++)
		if (strcmp(f->msgs[i].topic, "bodydiag/" VIN "/status") == 0)
			online = strcmp(f->msgs[i].payload, "online") == 0;
	assert_true(online);

	forwarder_free(fw);
	history_free(h);
}

static void restart_with_unacked(void **state)
{
	struct fx *f = *state;
	struct history *h = open_history(f);
	struct forwarder *fw;
	uint64_t depth;
	int want = 25;

	/* The first daemon queues while the broker is down, then stops. */
	fw = new_forwarder(f, h);
	publish_range(fw, 0, 25);
	run_for(f, 0.2);
	assert_false(forwarder_connected(fw));
	forwarder_free(fw);
	history_free(h);

	/* The next one finds the queue on disk and sends it once the broker is there. */
	broker_start(f);
	sub_start(f, "test-sub");
	h = open_history(f);
	assert_int_equal(history_queue_depth(h, &depth), 0);
	assert_int_equal(depth, 25);
	fw = new_forwarder(f, h);
	assert_true(run_until(f, got_findings, &want, 10));
	assert_true(run_until(f, queue_empty, h, 5));
	run_for(f, 0.3);
	assert_exactly_once_in_order(f, 25);
	forwarder_free(fw);
	history_free(h);
}

static int topic_count(struct fx *f, const char *topic)
{
	int n = 0;

	for (int i = 0; i < f->n_msgs; i++)
		n += strcmp(f->msgs[i].topic, topic) == 0;
	return n;
}

static bool got_history(struct fx *f, void *arg)
{
	return topic_count(f, "bodydiag/" VIN "/findings") >= 10 &&
	       topic_count(f, "bodydiag/" VIN "/dtc") >= 3;
}

/* The daemon's path: records written to the history go out without another call. */
static void history_records(void **state)
{
	struct fx *f = *state;
	struct history *h = open_history(f);
	struct forwarder *fw;
	int64_t s;

	broker_start(f);
	sub_start(f, "test-sub");
	fw = new_forwarder(f, h);
	assert_int_equal(forwarder_forward_history(fw), 0);
	assert_true(run_until(f, fw_connected, fw, 5));
	assert_int_equal(history_session_begin(h, 1000, VIN, "test", &s), 0);
	for (int i = 0; i < 10; i++) {
		char ev[64];
		snprintf(ev, sizeof(ev), "{\"seq\":%d}", i);
		assert_int_equal(history_record_finding(h, s, 2000 + i, "latch_motor_open", 0.5, NULL,
							NULL, ev, NULL),
				 0);
	}
	static const uint8_t statuses[] = {0x2f, 0x2f, 0x2e, 0x2e, 0x2f};
	for (int i = 0; i < 5; i++)
		assert_int_equal(history_record_dtc(h, s, 3000 + i, "bcm", 0x9a4013, statuses[i], NULL), 0);
	assert_true(run_until(f, got_history, NULL, 10));
	assert_true(run_until(f, queue_empty, h, 5));
	run_for(f, 0.2);
	assert_int_equal(topic_count(f, "bodydiag/" VIN "/findings"), 10);
	assert_int_equal(topic_count(f, "bodydiag/" VIN "/dtc"), 3);
	/* Payloads are the history's JSON, in order, with their ids. */
	int next = 1;
	for (int i = 0; i < f->n_msgs; i++) {
		if (strcmp(f->msgs[i].topic, "bodydiag/" VIN "/findings") != 0)
			continue;
		json_t *o = json_loads(f->msgs[i].payload, 0, NULL);
		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "id")), next);
		assert_string_equal(json_string_value(json_object_get(o, "kind")), "finding");
		json_decref(o);
		next++;
	}
	forwarder_free(fw);
	/* Freed: the history no longer queues for it. */
	assert_int_equal(history_record_finding(h, s, 5000, "x", 1, NULL, NULL, NULL, NULL), 0);
	uint64_t depth;
	assert_int_equal(history_queue_depth(h, &depth), 0);
	assert_int_equal(depth, 0);
	history_free(h);
}

static bool status_is(struct fx *f, void *arg)
{
	const char *last = NULL;

	for (int i = 0; i < f->n_msgs; i++)
		if (strcmp(f->msgs[i].topic, "bodydiag/" VIN "/status") == 0)
			last = f->msgs[i].payload;
	return last && strcmp(last, arg) == 0;
}

static void last_will(void **state)
{
	struct fx *f = *state;
	pid_t child;

	broker_start(f);
	sub_start(f, "test-sub");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
		struct history *h = NULL;
		struct forwarder *fw = NULL;
		struct forwarder_options o = {.host = "127.0.0.1", .port = (uint16_t)f->port,
					      .client_id = "bodydiag-will", .vin = VIN};
		if (history_open(f->db, NULL, &h, NULL, 0) < 0 || forwarder_new(loop, h, &o, &fw) < 0)
			_exit(1);
		ev_run(loop, 0);
		_exit(0);
	}
	assert_true(run_until(f, status_is, "online", 5));
	/* A crash: no DISCONNECT, so the broker publishes the will. */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_true(run_until(f, status_is, "offline", 5));
}

static void credentials(void **state)
{
	char *u = NULL, *p = NULL, err[128];

	assert_int_equal(forwarder_parse_credentials("car42\nsecret\n", 13, &u, &p, err, sizeof(err)), 0);
	assert_string_equal(u, "car42");
	assert_string_equal(p, "secret");
	free(u);
	free(p);
	assert_int_equal(forwarder_parse_credentials("car42\r\nsecret", 13, &u, &p, err, sizeof(err)), 0);
	assert_string_equal(p, "secret");
	free(u);
	free(p);

	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{"", "line 1, column 1: empty user name"},
		{"\nsecret\n", "line 1, column 1: empty user name"},
		{"car42", "line 2, column 1: the password line is missing"},
		{"car42\n", "line 2, column 1: empty password"},
		{"car42\nsecret\nmore\n", "line 3, column 1: nothing may follow the password"},
		{"ca\rr\nsecret\n", "line 1, column 3: stray carriage return"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = p = NULL;
		assert_int_equal(forwarder_parse_credentials(bad[i].in, strlen(bad[i].in), &u, &p,
							     err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, bad[i].msg);
		assert_null(u);
		assert_null(p);
	}
	assert_int_equal(forwarder_parse_credentials("a\0b\nc\n", 6, &u, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1, column 2: NUL byte");

	/* From a file, with the path in the message. */
	char path[] = "/tmp/bodydiag-cred-XXXXXX", msg[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "car42\nsecret\n", 13), 13);
	close(fd);
	assert_int_equal(forwarder_load_credentials(path, &u, &p, msg, sizeof(msg)), 0);
	assert_string_equal(u, "car42");
	assert_string_equal(p, "secret");
	free(u);
	free(p);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "car42\n", 6), 6);
	close(fd);
	assert_int_equal(forwarder_load_credentials(path, &u, &p, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ": line 2, column 1: empty password"));
	unlink(path);
	assert_int_equal(forwarder_load_credentials(path, &u, &p, msg, sizeof(msg)), -ENOENT);
}

static void bad_options(void **state)
{
	struct fx *f = *state;
	struct history *h = open_history(f);
	struct forwarder *fw = NULL;
	struct forwarder_options o = {.host = "127.0.0.1", .client_id = "x"};

	o.client_id = "has/slash";
	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), -EINVAL);
	o.client_id = "a-client-id-longer-than-23";
	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), -EINVAL);
	o.client_id = "ok";
	o.vin = "WILD#CARD";
	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), -EINVAL);
	o.vin = NULL;
	o.certfile = "/x.pem"; /* without keyfile */
	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), -EINVAL);
	o.certfile = NULL;
	o.tls = true;
	o.cafile = "/nonexistent/ca.pem";
	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), -EIO);
	assert_null(fw);
	o.tls = false;
	o.cafile = NULL;
	assert_int_equal(forwarder_new(f->loop, h, &o, &fw), 0);
	assert_int_equal(forwarder_publish(fw, "find/ings", "x", 1, 0), -EINVAL);
	assert_int_equal(forwarder_set_vin(fw, "bad vin"), -EINVAL);
	assert_int_equal(forwarder_set_vin(fw, VIN), 0);
	forwarder_free(fw);
	history_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(credentials),
		cmocka_unit_test_setup_teardown(bad_options, setup, teardown),
		cmocka_unit_test_setup_teardown(broker_outage, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_with_unacked, setup, teardown),
		cmocka_unit_test_setup_teardown(history_records, setup, teardown),
		cmocka_unit_test_setup_teardown(last_will, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
