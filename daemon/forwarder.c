/* SPDX-License-Identifier: MIT */
#include "forwarder.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history_outbox.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"

#define MISC_INTERVAL_S 1.0
#define STATUS_ONLINE "online"
#define STATUS_OFFLINE "offline"
#define MAX_VIN 32

struct inflight {
	int mid;
	int64_t qid;
};

struct forwarder {
	struct ev_loop *loop;
	struct history *history;
	struct mosquitto *mosq;

	char *host, *cafile, *certfile, *keyfile, *username, *password, *client_id, *prefix;
	int port;
	bool tls;
	unsigned keepalive, max_inflight, queue_max;
	double reconnect_min, reconnect_max, backoff;
	char vin[MAX_VIN + 1];

	ev_io io;
	int io_fd;
	bool io_write;
	ev_timer misc_timer, reconnect_timer;

	bool connected; /* CONNACK accepted */
	bool lost;      /* set by callbacks; acted on after the libmosquitto call returns */
	bool reconnect_for_vin;
	bool lib_ref;
	bool forwarding_history; /* history_forward_enable points at us */

	struct inflight *inflight;
	size_t n_inflight;
	int64_t last_sent; /* queue id of the last row handed to libmosquitto on this connection */

	uint64_t dropped, acked;
};

static int lib_refs;

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void schedule_reconnect(struct forwarder *f);

static bool topic_part_valid(const char *s, bool vin)
{
	size_t n = strlen(s);

	if (n == 0 || n > (vin ? MAX_VIN : 64))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* MQTT wildcards and separators would change the topic's meaning. */
		if (c <= ' ' || c > '~' || c == '/' || c == '+' || c == '#')
			return false;
	}
	return true;
}

static void status_topic(const struct forwarder *f, const char *vin, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/status", f->prefix, vin);
}

static void io_update(struct forwarder *f)
{
	int fd = f->mosq ? mosquitto_socket(f->mosq) : -1;
	bool want_write = fd >= 0 && mosquitto_want_write(f->mosq);

	if (fd == f->io_fd && want_write == f->io_write)
		return;
	if (f->io_fd >= 0)
		ev_io_stop(f->loop, &f->io);
	f->io_fd = fd;
	f->io_write = want_write;
	if (fd < 0)
		return;
	ev_io_init(&f->io, io_cb, fd, EV_READ | (want_write ? EV_WRITE : 0));
	ev_io_start(f->loop, &f->io);
}

static void drop_client(struct forwarder *f)
{
	if (f->io_fd >= 0)
		ev_io_stop(f->loop, &f->io);
	f->io_fd = -1;
	f->io_write = false;
	ev_timer_stop(f->loop, &f->misc_timer);
	if (f->mosq) {
		mosquitto_destroy(f->mosq);
		f->mosq = NULL;
	}
	f->connected = false;
	f->lost = false;
	/*
	 * libmosquitto's own out-queue died with the client: the database is the only
	 * queue, and everything unacknowledged goes out again on the next connection.
	 */
	f->n_inflight = 0;
	f->last_sent = 0;
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	struct forwarder *f = userdata;
	char topic[256];

	if (rc != 0) {
		log_warning("mqtt: %s:%d refused the connection: %s", f->host, f->port,
			    mosquitto_connack_string(rc));
		f->lost = true;
		return;
	}
	log_info("mqtt: connected to %s:%d", f->host, f->port);
	f->connected = true;
	f->backoff = f->reconnect_min;
	status_topic(f, f->vin, topic, sizeof(topic));
	rc = mosquitto_publish(mosq, NULL, topic, (int)strlen(STATUS_ONLINE), STATUS_ONLINE, 1, true);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warning("mqtt: publishing status: %s", mosquitto_strerror(rc));
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	struct forwarder *f = userdata;

	f->lost = true;
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	struct forwarder *f = userdata;

	for (size_t i = 0; i < f->n_inflight; i++) {
		if (f->inflight[i].mid != mid)
			continue;
		int r = history_queue_remove(f->history, f->inflight[i].qid);
		if (r < 0)
			/* It goes out again after a restart: a repeat, never a loss. */
			log_warning_errno(r, "mqtt: removing acknowledged record %lld: %s",
					  (long long)f->inflight[i].qid, strerror(-r));
		f->acked++;
		memmove(&f->inflight[i], &f->inflight[i + 1],
			(f->n_inflight - i - 1) * sizeof(f->inflight[0]));
		f->n_inflight--;
		return;
	}
	/* The status message, or a publish of a connection already given up. */
}

static int send_item(const struct history_queue_item *it, void *userdata)
{
	struct forwarder *f = userdata;
	int mid = 0, rc;

	rc = mosquitto_publish(f->mosq, &mid, it->topic, (int)it->len, it->payload, 1, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warning("mqtt: publish: %s", mosquitto_strerror(rc));
		f->lost = true;
		return -EIO;
	}
	f->inflight[f->n_inflight++] = (struct inflight){mid, it->id};
	f->last_sent = it->id;
	return 0;
}

/* Hands queued rows to libmosquitto while the in-flight window has room. */
static void pump(struct forwarder *f)
{
	int r;

	if (!f->connected || f->lost || f->n_inflight >= f->max_inflight)
		return;
	r = history_queue_peek(f->history, f->last_sent, f->max_inflight - (unsigned)f->n_inflight,
			       send_item, f);
	if (r < 0 && r != -EIO)
		log_warning_errno(r, "mqtt: reading the queue: %s", strerror(-r));
}

/* After every libmosquitto call: act on what the callbacks noted, then refill. */
static void after_call(struct forwarder *f, int rc)
{
	if (rc != MOSQ_ERR_SUCCESS)
		f->lost = true;
	if (!f->lost)
		pump(f);
	if (f->lost) {
		if (f->connected)
			log_warning("mqtt: connection to %s:%d lost (%s)", f->host, f->port,
				    mosquitto_strerror(rc));
		drop_client(f);
		schedule_reconnect(f);
		return;
	}
	io_update(f);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct forwarder *f = container_of(w, struct forwarder, io);
	int rc = MOSQ_ERR_SUCCESS;

	if (revents & EV_READ)
		rc = mosquitto_loop_read(f->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && f->mosq && !f->lost && (revents & EV_WRITE) &&
	    mosquitto_want_write(f->mosq))
		rc = mosquitto_loop_write(f->mosq, 1);
	after_call(f, rc);
}

static void misc_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct forwarder *f = container_of(w, struct forwarder, misc_timer);

	if (!f->mosq)
		return;
	after_call(f, mosquitto_loop_misc(f->mosq));
}

static int client_new(struct forwarder *f)
{
	char topic[256];
	int rc;

	f->mosq = mosquitto_new(f->client_id, false /* persistent session */, f);
	if (!f->mosq)
		return -ENOMEM;
	mosquitto_connect_callback_set(f->mosq, on_connect);
	mosquitto_disconnect_callback_set(f->mosq, on_disconnect);
	mosquitto_publish_callback_set(f->mosq, on_publish);
	rc = mosquitto_max_inflight_messages_set(f->mosq, f->max_inflight);
	status_topic(f, f->vin, topic, sizeof(topic));
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_will_set(f->mosq, topic, (int)strlen(STATUS_OFFLINE), STATUS_OFFLINE,
					1, true);
	if (rc == MOSQ_ERR_SUCCESS && f->username)
		rc = mosquitto_username_pw_set(f->mosq, f->username, f->password);
	if (rc == MOSQ_ERR_SUCCESS && f->tls) {
		rc = mosquitto_tls_set(f->mosq, f->cafile, f->cafile ? NULL : "/etc/ssl/certs",
				       f->certfile, f->keyfile, NULL);
		/* Verify the broker's certificate and host name (insecure stays false). */
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_opts_set(f->mosq, 1, NULL, NULL);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		log_error("mqtt: client settings: %s", mosquitto_strerror(rc));
		mosquitto_destroy(f->mosq);
		f->mosq = NULL;
		return -EIO;
	}
	return 0;
}

static void connect_now(struct forwarder *f)
{
	int rc;

	if (!f->mosq && client_new(f) < 0) {
		schedule_reconnect(f);
		return;
	}
	/* Non-blocking TCP connect; CONNECT goes out when the socket becomes writable. */
	rc = mosquitto_connect_async(f->mosq, f->host, f->port, (int)f->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("mqtt: connecting to %s:%d: %s", f->host, f->port,
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		drop_client(f);
		schedule_reconnect(f);
		return;
	}
	ev_timer_again(f->loop, &f->misc_timer);
	io_update(f);
}

static void reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct forwarder *f = container_of(w, struct forwarder, reconnect_timer);

	connect_now(f);
}

static void schedule_reconnect(struct forwarder *f)
{
	double delay = f->backoff;

	f->backoff = f->backoff * 2 < f->reconnect_max ? f->backoff * 2 : f->reconnect_max;
	if (f->reconnect_for_vin) {
		f->reconnect_for_vin = false;
		delay = 0;
	}
	ev_timer_stop(f->loop, &f->reconnect_timer);
	ev_timer_set(&f->reconnect_timer, delay, 0);
	ev_timer_start(f->loop, &f->reconnect_timer);
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int forwarder_new(struct ev_loop *loop, struct history *h, const struct forwarder_options *opt,
		  struct forwarder **ret)
{
	struct forwarder *f;
	int r = 0;

	if (!loop || !h || !opt || !opt->host || !*opt->host || !opt->client_id ||
	    !topic_part_valid(opt->client_id, false) || strlen(opt->client_id) > 23 ||
	    (opt->prefix && !topic_part_valid(opt->prefix, false)) ||
	    (opt->vin && *opt->vin && !topic_part_valid(opt->vin, true)) ||
	    (!opt->certfile != !opt->keyfile) || (opt->password && !opt->username))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->loop = loop;
	f->history = h;
	f->io_fd = -1;
	f->tls = opt->tls;
	f->port = opt->port ? opt->port : opt->tls ? 8883 : 1883;
	f->keepalive = opt->keepalive_s ? opt->keepalive_s : 60;
	f->max_inflight = opt->max_inflight ? opt->max_inflight : 20;
	f->queue_max = opt->queue_max ? opt->queue_max : 100000;
	f->reconnect_min = opt->reconnect_min_s > 0 ? opt->reconnect_min_s : 1;
	f->reconnect_max = opt->reconnect_max_s > 0 ? opt->reconnect_max_s : 60;
	if (f->reconnect_max < f->reconnect_min)
		f->reconnect_max = f->reconnect_min;
	f->backoff = f->reconnect_min;
	snprintf(f->vin, sizeof(f->vin), "%s", opt->vin && *opt->vin ? opt->vin : "unknown");
	r |= dup_opt(&f->host, opt->host);
	r |= dup_opt(&f->cafile, opt->cafile);
	r |= dup_opt(&f->certfile, opt->certfile);
	r |= dup_opt(&f->keyfile, opt->keyfile);
	r |= dup_opt(&f->username, opt->username);
	r |= dup_opt(&f->password, opt->password);
	r |= dup_opt(&f->client_id, opt->client_id);
	r |= dup_opt(&f->prefix, opt->prefix ? opt->prefix : "bodydiag");
	f->inflight = calloc(f->max_inflight, sizeof(*f->inflight));
	if (r < 0 || !f->inflight) {
		forwarder_free(f);
		return -ENOMEM;
	}
	if (lib_refs++ == 0)
		mosquitto_lib_init();
	f->lib_ref = true;
	ev_init(&f->misc_timer, misc_cb);
	f->misc_timer.repeat = MISC_INTERVAL_S;
	ev_init(&f->reconnect_timer, reconnect_cb);

	/* Settings errors (a missing CA file) are configuration errors: report them now. */
	r = client_new(f);
	if (r < 0) {
		forwarder_free(f);
		return r;
	}
	connect_now(f);
	*ret = f;
	return 0;
}

struct forwarder *forwarder_free(struct forwarder *f)
{
	if (!f)
		return NULL;
	if (f->mosq && f->connected && !f->lost) {
		char topic[256];
		/*
		 * A clean DISCONNECT suppresses the will, so say "offline" ourselves. Both
		 * packets are written straight away (no thread: libmosquitto writes in the
		 * call); best effort, the will covers the rest.
		 */
		status_topic(f, f->vin, topic, sizeof(topic));
		mosquitto_publish(f->mosq, NULL, topic, (int)strlen(STATUS_OFFLINE), STATUS_OFFLINE,
				  1, true);
		mosquitto_disconnect(f->mosq);
	}
	if (f->forwarding_history)
		history_forward_enable(f->history, NULL, 0, NULL, NULL);
	if (f->loop) {
		ev_timer_stop(f->loop, &f->reconnect_timer);
		drop_client(f);
	}
	if (f->lib_ref && --lib_refs == 0)
		mosquitto_lib_cleanup();
	free(f->inflight);
	free(f->host);
	free(f->cafile);
	free(f->certfile);
	free(f->keyfile);
	free(f->username);
	if (f->password)
		explicit_bzero(f->password, strlen(f->password));
	free(f->password);
	free(f->client_id);
	free(f->prefix);
	free(f);
	return NULL;
}

int forwarder_publish(struct forwarder *f, const char *kind, const char *payload, size_t len,
		      int64_t t_us)
{
	char topic[256];
	unsigned dropped = 0;
	int r;

	if (!kind || !topic_part_valid(kind, false) || (!payload && len))
		return -EINVAL;
	snprintf(topic, sizeof(topic), "%s/%s/%s", f->prefix, f->vin, kind);
	r = history_queue_push(f->history, topic, payload, len, t_us, f->queue_max, &dropped, NULL);
	if (r < 0)
		return r;
	if (dropped) {
		f->dropped += dropped;
		log_warning("mqtt: queue full (%u rows), dropped the %u oldest", f->queue_max, dropped);
	}
	if (f->connected && !f->lost) {
		pump(f);
		after_call(f, MOSQ_ERR_SUCCESS);
	}
	return 0;
}

int forwarder_set_vin(struct forwarder *f, const char *vin)
{
	char topic[256];

	if (!vin || !topic_part_valid(vin, true))
		return -EINVAL;
	if (strcmp(vin, f->vin) == 0)
		return 0;
	if (f->mosq && f->connected && !f->lost) {
		status_topic(f, f->vin, topic, sizeof(topic));
		mosquitto_publish(f->mosq, NULL, topic, (int)strlen(STATUS_OFFLINE), STATUS_OFFLINE,
				  1, true);
		mosquitto_disconnect(f->mosq);
		snprintf(f->vin, sizeof(f->vin), "%s", vin);
		drop_client(f);
		f->reconnect_for_vin = true;
		schedule_reconnect(f);
		return 0;
	}
	snprintf(f->vin, sizeof(f->vin), "%s", vin);
	/* Not connected: the next client gets the new will. */
	if (f->mosq && !f->connected) {
		drop_client(f);
		f->reconnect_for_vin = true;
		schedule_reconnect(f);
	}
	return 0;
}

bool forwarder_connected(const struct forwarder *f)
{
	return f->connected && !f->lost;
}

int forwarder_queue_depth(struct forwarder *f, uint64_t *ret)
{
	return history_queue_depth(f->history, ret);
}

uint64_t forwarder_dropped(const struct forwarder *f)
{
	return f->dropped + (f->forwarding_history ? history_forward_dropped(f->history) : 0);
}

/* A record was queued by the history itself: send it now when connected. */
static void history_queued(void *userdata)
{
	struct forwarder *f = userdata;

	if (f->connected && !f->lost) {
		pump(f);
		after_call(f, MOSQ_ERR_SUCCESS);
	}
}

int forwarder_forward_history(struct forwarder *f)
{
	int r = history_forward_enable(f->history, f->prefix, f->queue_max, history_queued, f);

	if (r >= 0)
		f->forwarding_history = true;
	return r;
}

uint64_t forwarder_acked(const struct forwarder *f)
{
	return f->acked;
}

static void collect(struct metrics *m, void *userdata)
{
	struct forwarder *f = userdata;
	uint64_t depth;

	if (forwarder_queue_depth(f, &depth) >= 0)
		metrics_forward_queue(m, depth, forwarder_dropped(f));
}

int forwarder_metrics_register(struct forwarder *f, struct metrics *m)
{
	return metrics_add_collector(m, collect, f);
}

static int cred_line(const char *buf, size_t len, size_t *pos, unsigned lineno, char **ret,
		     char *err, size_t err_size)
{
	size_t start = *pos, end = start;

	while (end < len && buf[end] != '\n')
		end++;
	size_t n = end - start;
	if (n > 0 && buf[start + n - 1] == '\r')
		n--;
	if (n == 0 || n > 256) {
		snprintf(err, err_size, "line %u, column 1: %s", lineno,
			 n ? "longer than 256 bytes" : lineno == 1 ? "empty user name" : "empty password");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (buf[start + i] == '\0' || buf[start + i] == '\r') {
			snprintf(err, err_size, "line %u, column %zu: %s", lineno, i + 1,
				 buf[start + i] ? "stray carriage return" : "NUL byte");
			return -EINVAL;
		}
	*ret = strndup(buf + start, n);
	if (!*ret)
		return -ENOMEM;
	*pos = end < len ? end + 1 : end;
	return 0;
}

int forwarder_parse_credentials(const char *buf, size_t len, char **ret_user, char **ret_pass,
				char *ret_error, size_t error_size)
{
	char scratch[1];
	char *user = NULL, *pass = NULL;
	size_t pos = 0;
	int r;

	if (!ret_error) {
		ret_error = scratch;
		error_size = sizeof(scratch);
	}
	r = cred_line(buf, len, &pos, 1, &user, ret_error, error_size);
	if (r >= 0 && pos >= len && (len == 0 || buf[len - 1] != '\n')) {
		snprintf(ret_error, error_size, "line 2, column 1: the password line is missing");
		r = -EINVAL;
	}
	if (r >= 0)
		r = cred_line(buf, len, &pos, 2, &pass, ret_error, error_size);
	if (r >= 0 && pos < len) {
		snprintf(ret_error, error_size, "line 3, column 1: nothing may follow the password");
		r = -EINVAL;
	}
	if (r < 0) {
		free(user);
		if (pass)
			explicit_bzero(pass, strlen(pass));
		free(pass);
		return r;
	}
	*ret_user = user;
	*ret_pass = pass;
	return 0;
}

int forwarder_load_credentials(const char *path, char **ret_user, char **ret_pass,
			       char *ret_error, size_t error_size)
{
	char buf[4097], msg[160];
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(ret_error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r == 0 && len == sizeof(buf))
		r = -EFBIG;
	if (r < 0) {
		snprintf(ret_error, error_size, "%s: %s", path,
			 r == -EFBIG ? "larger than 4 KiB" : strerror(-r));
		explicit_bzero(buf, sizeof(buf));
		return r;
	}
	r = forwarder_parse_credentials(buf, len, ret_user, ret_pass, msg, sizeof(msg));
	explicit_bzero(buf, sizeof(buf));
	if (r < 0)
		snprintf(ret_error, error_size, "%s: %s", path, msg);
	return r;
}
