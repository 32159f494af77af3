/* SPDX-License-Identifier: MIT */
/*
 * The MQTT publisher of bodydiag-forward: outbox -> broker, receipts -> outbox deletes.
 * See publisher.h for the contract it keeps.
 */
#include "publisher.h"

#include <errno.h>
#include <ev.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/history_outbox.h"
#include "daemon/log.h"
#include "daemon/macro.h"
#include "payload.h"
#include "wire.h"

#define MISC_INTERVAL_S 1.0    /* mosquitto_loop_misc: keepalive */
#define STOP_WAIT_MS 2000      /* for the broker's PUBACK of offline/stop */
#define CONNECT_TIMEOUT_S 30.0 /* TCP, TLS and CONNACK together; then the next attempt */

/* A record published and awaiting its receipt. */
struct pending {
	int64_t seq;
	char topic[FORWARD_MAX_TOPIC];
	char *payload;
	size_t len;
	unsigned sends;
	double due; /* ev_now() of the next resend */
};

struct publisher {
	struct ev_loop *loop;
	struct history *h;
	char *host, *ca_file, *cert_file, *key_file, *username, *password, *unit, *client_id,
		*prefix, *software, *state_file;
	uint16_t port;
	bool tls;
	unsigned keepalive, session_expiry, window;
	double resend, resend_max, reconnect_min, reconnect_max, backoff;
	struct forward_identity id;
	char receipt_topic[FORWARD_MAX_TOPIC];

	struct mosquitto *mosq;
	bool lib_ref;
	ev_io io;
	int io_fd;
	bool io_write;
	ev_timer tick, reconnect;
	double misc_at, state_at;

	double connect_at; /* ev_now() of the current attempt */
	bool connected; /* CONNACK accepted on the current client */
	bool lost;      /* noted by a callback, acted on after the libmosquitto call */
	char lost_why[256];
	char lib_error[200]; /* libmosquitto's last error line (TLS, socket) */
	int64_t conn_us;     /* this connection's CONNECT time (wall clock) */
	int stop_mid;	     /* the goodbye's message id, 0 = none */
	bool stop_acked;

	struct pending *win;
	size_t n_win;
	int64_t last_seq;      /* highest seq taken into the window */
	int64_t max_published; /* highest seq published by this process */

	struct forward_state st, st_written; /* now, and as last written */
	void (*on_link)(void *userdata, const struct forward_state *st);
	void *userdata;
};

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void connection_over(struct publisher *p);
static void note_failure(struct publisher *p, int rc, int err);

static int64_t wall_us(void)
{
	return clock_now_us(CLOCK_REALTIME);
}

/* --- the state file --- */

static void state_write(struct publisher *p)
{
	int r;

	p->state_at = ev_now(p->loop);
	p->st_written = p->st;
	if (!p->state_file)
		return;
	p->st.updated_us = wall_us();
	p->st.updated_boot_us = clock_now_us(CLOCK_BOOTTIME);
	r = forward_state_write(p->state_file, &p->st);
	if (r < 0)
		log_warning_errno(-r, "mqtt: cannot write the state file %s", p->state_file);
}

static bool counters_moved(const struct publisher *p)
{
	const struct forward_state *a = &p->st, *b = &p->st_written;

	return a->published != b->published || a->resent != b->resent ||
	       a->receipted != b->receipted || a->rejected != b->rejected;
}

static void set_link(struct publisher *p, enum forward_link l)
{
	if (p->st.link != l) {
		p->st.link = l;
		p->st.since_us = wall_us();
	}
	if (l != FORWARD_LINK_WAITING)
		p->st.retry_us = 0;
	state_write(p);
	if (p->on_link)
		p->on_link(p->userdata, &p->st);
}

/* --- the window --- */

static void pending_drop(struct publisher *p, size_t i)
{
	free(p->win[i].payload);
	memmove(&p->win[i], &p->win[i + 1], (p->n_win - i - 1) * sizeof(p->win[0]));
	p->n_win--;
}

static bool publish_one(struct publisher *p, struct pending *e)
{
	double wait;
	int rc = mosquitto_publish_v5(p->mosq, NULL, e->topic, (int)e->len, e->payload, 1, false,
				      NULL);

	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(p->lost_why, sizeof(p->lost_why), "publish: %s", mosquitto_strerror(rc));
		p->lost = true;
		return false;
	}
	if (e->seq > p->max_published) {
		p->max_published = e->seq;
		p->st.published++;
	} else {
		p->st.resent++;
	}
	/* 5 s, 10 s, 20 s ... up to resend_max: a long outage of the fleet side is not
	 * answered with a flood of repeats. */
	wait = p->resend;
	for (unsigned i = 0; i < e->sends && wait < p->resend_max; i++)
		wait *= 2;
	e->sends++;
	e->due = ev_now(p->loop) + (wait < p->resend_max ? wait : p->resend_max);
	return true;
}

static int take_row(const struct history_outbox_item *it, void *userdata)
{
	struct publisher *p = userdata;
	struct pending *e = &p->win[p->n_win];
	char err[160];
	int r;

	p->last_seq = it->seq;
	*e = (struct pending){.seq = it->seq};
	r = forward_payload_record(&p->id, it, e->topic, &e->payload, &e->len, err, sizeof(err));
	if (r == -EINVAL || r == -ENOSPC) {
		/* Not a row the history writes: it can never be sent, and keeping it would stop
		 * nothing but fill the window. Gone, with the reason in the journal. */
		log_error("mqtt: outbox record seq %lld (%s) cannot be sent: %s; dropped",
			  (long long)it->seq, it->kind ? it->kind : "?",
			  r == -ENOSPC ? "topic too long" : err);
		history_outbox_remove(p->h, it->seq, it->seq, NULL);
		p->st.rejected++;
		return 0;
	}
	if (r < 0)
		return r;
	p->n_win++;
	return publish_one(p, e) ? 0 : -EIO;
}

/* Resends what is due, then fills the window from the outbox. */
static void pump(struct publisher *p)
{
	double now = ev_now(p->loop);
	int r;

	if (!p->connected || p->lost)
		return;
	for (size_t i = 0; i < p->n_win && !p->lost; i++)
		if (p->win[i].due <= now)
			publish_one(p, &p->win[i]);
	if (p->lost || p->n_win >= p->window)
		return;
	r = history_outbox_peek(p->h, p->last_seq, p->window - (unsigned)p->n_win, take_row, p);
	if (r < 0 && r != -EIO)
		log_warning_errno(-r, "mqtt: reading the outbox: %s", history_last_error(p->h));
}

/* --- receipts --- */

static void receipted(struct publisher *p, int64_t first, int64_t last, const char *rejected)
{
	unsigned n = 0;
	int r = history_outbox_remove(p->h, first, last, &n);

	if (r < 0) {
		/* The rows stay and go out again: a repeat the ingest receipts once more. */
		log_warning_errno(-r, "mqtt: removing receipted records %lld-%lld: %s",
				  (long long)first, (long long)last, history_last_error(p->h));
		return;
	}
	for (size_t i = p->n_win; i-- > 0;)
		if (p->win[i].seq >= first && p->win[i].seq <= last)
			pending_drop(p, i);
	p->st.receipted += n;
	if (rejected && n) {
		p->st.rejected += n;
		log_warning("mqtt: the fleet refused record seq %lld for good: %s", (long long)first,
			    rejected);
	}
}

static void on_receipt(struct publisher *p, const struct mosquitto_message *msg)
{
	struct fleet_record rec;
	char err[FLEET_MAX_ERROR];
	size_t i;
	json_t *e;

	if (fleet_record_parse(msg->payload, (size_t)msg->payloadlen, &rec, err, sizeof(err)) < 0) {
		log_warning("mqtt: a message on %s that is not a receipt: %s", msg->topic, err);
		return;
	}
	if (rec.kind != FLEET_KIND_RECEIPT || strcmp(rec.unit, p->id.unit) != 0 ||
	    rec.epoch != p->id.epoch) {
		/* Another epoch's (a reinstalled unit's old outbox) or another unit's. */
		log_debug("mqtt: ignoring a %s for %s epoch %lld", fleet_kind_name(rec.kind),
			  rec.unit ? rec.unit : "?", (long long)rec.epoch);
		fleet_record_finish(&rec);
		return;
	}
	json_array_foreach(json_object_get(rec.root, "committed"), i, e)
		receipted(p, json_integer_value(json_array_get(e, 0)),
			  json_integer_value(json_array_get(e, 1)), NULL);
	json_array_foreach(json_object_get(rec.root, "rejected"), i, e) {
		int64_t seq = json_integer_value(json_object_get(e, "seq"));
		receipted(p, seq, seq, json_string_value(json_object_get(e, "reason")));
	}
	p->st.last_receipt_us = wall_us();
	fleet_record_finish(&rec);
}

/* --- libmosquitto callbacks (they note; the caller acts after the call returns) --- */

static void publish_status(struct publisher *p, const char *state, const char *reason,
			   int64_t t_us)
{
	char topic[FORWARD_MAX_TOPIC], vin[40];
	char *payload;
	int rc, mid = 0;

	if (history_latest_vin(p->h, vin, sizeof(vin)) < 0)
		vin[0] = 0;
	payload = forward_payload_status(&p->id, state, reason, p->conn_us, t_us,
					 vin[0] ? vin : NULL, p->software, topic);
	if (!payload) {
		log_warning("mqtt: out of memory for the status");
		return;
	}
	rc = mosquitto_publish_v5(p->mosq, &mid, topic, (int)strlen(payload), payload, 1, true, NULL);
	free(payload);
	if (rc == MOSQ_ERR_SUCCESS && strcmp(reason, "stop") == 0)
		p->stop_mid = mid;
	if (rc != MOSQ_ERR_SUCCESS)
		log_warning("mqtt: publishing the status: %s", mosquitto_strerror(rc));
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
		       const mosquitto_property *props)
{
	struct publisher *p = userdata;
	int r;

	if (rc != MQTT_RC_SUCCESS) {
		snprintf(p->lost_why, sizeof(p->lost_why), "refused: %s", mosquitto_reason_string(rc));
		p->lost = true;
		return;
	}
	p->connected = true;
	p->backoff = p->reconnect_min;
	p->st.connects++;
	p->st.error[0] = 0;
	/* Also when the broker kept the session: a broker that crashed may not have. */
	r = mosquitto_subscribe_v5(mosq, NULL, p->receipt_topic, 1, 0, NULL);
	if (r != MOSQ_ERR_SUCCESS)
		log_warning("mqtt: subscribing to %s: %s", p->receipt_topic, mosquitto_strerror(r));
	publish_status(p, "online", "connect", p->conn_us);
	log_notice("mqtt: connected to %s:%u%s as unit %s (%s session)", p->host, p->port,
		   p->tls ? " with TLS" : "", p->id.unit, flags & 1 ? "resumed" : "new");
	/* What the last connection left without a receipt goes out again now. */
	for (size_t i = 0; i < p->n_win; i++)
		p->win[i].due = 0;
	set_link(p, FORWARD_LINK_CONNECTED);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc,
			  const mosquitto_property *props)
{
	struct publisher *p = userdata;

	/* rc: the broker's DISCONNECT reason (128 and up), else libmosquitto's error. */
	if (!p->lost_why[0] && rc >= 128)
		snprintf(p->lost_why, sizeof(p->lost_why), "the broker disconnected: %s",
			 mosquitto_reason_string(rc));
	else
		note_failure(p, rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc, errno);
	p->lost = true;
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid, int reason,
		       const mosquitto_property *props)
{
	struct publisher *p = userdata;

	/* Records wait for receipts, not PUBACKs: only the goodbye's matters. */
	if (p->stop_mid && mid == p->stop_mid)
		p->stop_acked = true;
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct publisher *p = userdata;

	if (strcmp(msg->topic, p->receipt_topic) == 0)
		on_receipt(p, msg);
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
	struct publisher *p = userdata;

	/* TLS verification and socket errors arrive here before the call fails. */
	if (level == MOSQ_LOG_ERR)
		snprintf(p->lib_error, sizeof(p->lib_error), "%s", str);
}

/* --- the connection --- */

static void io_update(struct publisher *p)
{
	int fd = p->mosq ? mosquitto_socket(p->mosq) : -1;
	bool want_write = fd >= 0 && mosquitto_want_write(p->mosq);

	if (fd == p->io_fd && want_write == p->io_write)
		return;
	if (p->io_fd >= 0)
		ev_io_stop(p->loop, &p->io);
	p->io_fd = fd;
	p->io_write = want_write;
	if (fd < 0)
		return;
	ev_io_init(&p->io, io_cb, fd, EV_READ | (want_write ? EV_WRITE : 0));
	ev_io_start(p->loop, &p->io);
}

static void drop_client(struct publisher *p)
{
	if (p->io_fd >= 0)
		ev_io_stop(p->loop, &p->io);
	p->io_fd = -1;
	p->io_write = false;
	if (p->mosq) {
		mosquitto_destroy(p->mosq);
		p->mosq = NULL;
	}
	p->connected = false;
	p->lost = false;
	p->lost_why[0] = 0;
	p->lib_error[0] = 0;
}

/* The reason of a failed libmosquitto call, with its logged detail when there is one. */
static void note_failure(struct publisher *p, int rc, int err)
{
	if (p->lost_why[0])
		return;
	snprintf(p->lost_why, sizeof(p->lost_why), "%s%s%s",
		 rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc),
		 p->lib_error[0] ? ": " : "", p->lib_error);
}

/* After every libmosquitto call: act on what the callbacks noted, then send more. */
static void after_call(struct publisher *p, int rc, int err)
{
	if (rc != MOSQ_ERR_SUCCESS) {
		note_failure(p, rc, err);
		p->lost = true;
	}
	if (!p->lost)
		pump(p);
	if (p->lost) {
		connection_over(p);
		return;
	}
	io_update(p);
}

/*
 * Before the CONNACK, a readable socket may be a failed one: libmosquitto 2.0 takes OpenSSL's
 * SSL_ERROR_SYSCALL during the TLS handshake for "try again" (net__socket_connect_tls), so a
 * refused TCP connection or a broker that closes during the handshake would leave the client
 * "connecting" for ever, woken by the readable socket in a busy loop. The socket tells:
 * a pending error (SO_ERROR), or end of file under a peek that leaves the bytes to OpenSSL.
 */
static bool attempt_failed(struct publisher *p)
{
	int fd = mosquitto_socket(p->mosq), err = 0;
	socklen_t len = sizeof(err);
	char c;
	ssize_t n;

	if (fd < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err) {
		n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0) {
			struct sockaddr_storage sa;
			socklen_t sl = sizeof(sa);

			/* OpenSSL's failed read or write may have taken the error already: a
			 * socket without a peer was refused or reset. */
			snprintf(p->lost_why, sizeof(p->lost_why), "%s",
				 getpeername(fd, (struct sockaddr *)&sa, &sl) < 0
					 ? "connection refused or reset"
					 : "the broker closed the connection before the CONNACK");
			return true;
		}
		if (n > 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return false;
		err = errno;
	}
	snprintf(p->lost_why, sizeof(p->lost_why), "%s", strerror(err));
	return true;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct publisher *p = container_of(w, struct publisher, io);
	int rc = MOSQ_ERR_SUCCESS;

	if (!p->connected && (revents & EV_READ) && attempt_failed(p))
		p->lost = true;
	else if (revents & EV_READ)
		rc = mosquitto_loop_read(p->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && !p->lost && (revents & EV_WRITE) &&
	    mosquitto_want_write(p->mosq))
		rc = mosquitto_loop_write(p->mosq, 1);
	after_call(p, rc, errno);
}

static int client_new(struct publisher *p)
{
	mosquitto_property *props = NULL;
	char topic[FORWARD_MAX_TOPIC], *will;
	int rc;

	p->mosq = mosquitto_new(p->client_id, false /* clean start off */, p);
	if (!p->mosq)
		return -ENOMEM;
	mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(p->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(p->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(p->mosq, on_message);
	mosquitto_publish_v5_callback_set(p->mosq, on_publish);
	mosquitto_log_callback_set(p->mosq, on_log);
	/* The will of this connection: offline with the conn its online will carry. */
	p->conn_us = wall_us();
	will = forward_payload_status(&p->id, "offline", "will", p->conn_us, p->conn_us, NULL,
				      p->software, topic);
	rc = will ? mosquitto_will_set_v5(p->mosq, topic, (int)strlen(will), will, 1, true, NULL)
		  : MOSQ_ERR_NOMEM;
	free(will);
	if (rc == MOSQ_ERR_SUCCESS && p->username)
		rc = mosquitto_username_pw_set(p->mosq, p->username, p->password);
	if (rc == MOSQ_ERR_SUCCESS && p->tls) {
		rc = mosquitto_tls_set(p->mosq, p->ca_file, p->ca_file ? NULL : "/etc/ssl/certs",
				       p->cert_file, p->key_file, NULL);
		/* Verify the broker's certificate (SSL_VERIFY_PEER) and, as insecure stays
		 * false, its host name. */
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_opts_set(p->mosq, 1, NULL, NULL);
	}
	/*
	 * The session expiry is a CONNECT property, which libmosquitto 2.0 takes only through
	 * the blocking mosquitto_connect_bind_v5(): it stores the properties before it checks
	 * the port, so a call with port -1 stores them and fails without touching the
	 * network, and the non-blocking connect below sends them. The test checks that the
	 * broker keeps the session (tests/forward/test-forward.py).
	 */
	if (rc == MOSQ_ERR_SUCCESS && p->session_expiry) {
		rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
						  p->session_expiry);
		if (rc == MOSQ_ERR_SUCCESS &&
		    mosquitto_connect_bind_v5(p->mosq, p->host, -1, (int)p->keepalive, NULL, props) !=
			    MOSQ_ERR_INVAL)
			rc = MOSQ_ERR_UNKNOWN;
		mosquitto_property_free_all(&props);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		log_error("mqtt: client settings: %s%s%s", mosquitto_strerror(rc),
			  p->lib_error[0] ? ": " : "", p->lib_error);
		mosquitto_destroy(p->mosq);
		p->mosq = NULL;
		return -EIO;
	}
	return 0;
}

static void schedule_reconnect(struct publisher *p)
{
	double delay = p->backoff;

	p->backoff = p->backoff * 2 < p->reconnect_max ? p->backoff * 2 : p->reconnect_max;
	ev_timer_stop(p->loop, &p->reconnect);
	ev_timer_set(&p->reconnect, delay, 0);
	ev_timer_start(p->loop, &p->reconnect);
	p->st.retry_us = wall_us() + (int64_t)(delay * 1e6);
	set_link(p, FORWARD_LINK_WAITING);
}

/* The attempt failed or the connection ended: say why at warning level, back off. */
static void connection_over(struct publisher *p)
{
	const char *why = p->lost_why[0] ? p->lost_why : "connection closed";

	if (p->connected)
		log_warning("mqtt: connection to %s:%u lost: %s; again in %.0f s", p->host, p->port,
			    why, p->backoff);
	else
		log_warning("mqtt: cannot connect to %s:%u: %s; again in %.0f s", p->host, p->port,
			    why, p->backoff);
	snprintf(p->st.error, sizeof(p->st.error), "%s", why);
	p->st.failures++;
	drop_client(p);
	schedule_reconnect(p);
}

static void connect_now(struct publisher *p)
{
	int rc;

	if (client_new(p) < 0) {
		snprintf(p->lost_why, sizeof(p->lost_why), "client settings refused");
		connection_over(p);
		return;
	}
	set_link(p, FORWARD_LINK_CONNECTING);
	p->connect_at = ev_now(p->loop);
	/* Non-blocking TCP connect; CONNECT goes out once the socket is writable. */
	rc = mosquitto_connect_bind_async(p->mosq, p->host, p->port, (int)p->keepalive, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		note_failure(p, rc, errno);
		connection_over(p);
		return;
	}
	p->misc_at = ev_now(p->loop) + MISC_INTERVAL_S;
	io_update(p);
}

static void reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	connect_now(container_of(w, struct publisher, reconnect));
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct publisher *p = container_of(w, struct publisher, tick);
	double now = ev_now(loop);

	if (p->mosq && !p->connected && now - p->connect_at >= CONNECT_TIMEOUT_S) {
		/* A broker behind a firewall that drops the SYN, or one that never answers. */
		snprintf(p->lost_why, sizeof(p->lost_why), "no answer within %.0f s",
			 CONNECT_TIMEOUT_S);
		p->lost = true;
		after_call(p, MOSQ_ERR_SUCCESS, 0);
	} else if (p->mosq && now >= p->misc_at) {
		p->misc_at = now + MISC_INTERVAL_S;
		after_call(p, mosquitto_loop_misc(p->mosq), errno);
	} else if (p->connected) {
		after_call(p, MOSQ_ERR_SUCCESS, 0); /* new outbox rows, resends due */
	}
	/* Counters that moved go out within a second (the file is in /run: no wear). */
	if (now - p->state_at >= FORWARD_STATE_HEARTBEAT_S ||
	    (now - p->state_at >= 1.0 && counters_moved(p)))
		state_write(p);
}

/* --- life cycle --- */

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int publisher_new(struct ev_loop *loop, struct history *h, const struct publisher_options *o,
		  struct publisher **ret)
{
	struct publisher *p;
	int64_t epoch;
	int r = 0;

	if (!loop || !h || !o || !o->host || !*o->host || !o->unit ||
	    !fleet_unit_valid(o->unit, strlen(o->unit)) || (!o->cert_file != !o->key_file) ||
	    (o->password && !o->username) || (o->client_id && !*o->client_id) ||
	    (o->prefix && (!*o->prefix || strpbrk(o->prefix, "/+#"))))
		return -EINVAL;
	r = history_outbox_epoch(h, &epoch);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->loop = loop;
	p->h = h;
	p->io_fd = -1;
	p->tls = o->tls;
	p->port = o->port ? o->port : o->tls ? 8883 : 1883;
	p->keepalive = o->keepalive_s ? o->keepalive_s : 60;
	p->session_expiry = o->session_expiry_s;
	p->window = o->window ? o->window : 20;
	p->resend = o->resend_s > 0 ? o->resend_s : 5;
	p->resend_max = o->resend_max_s > 0 ? o->resend_max_s : 300;
	p->reconnect_min = o->reconnect_min_s > 0 ? o->reconnect_min_s : 1;
	p->reconnect_max = o->reconnect_max_s > 0 ? o->reconnect_max_s : 60;
	if (p->reconnect_max < p->reconnect_min)
		p->reconnect_max = p->reconnect_min;
	p->backoff = p->reconnect_min;
	p->on_link = o->on_link;
	p->userdata = o->userdata;
	r |= dup_opt(&p->host, o->host);
	r |= dup_opt(&p->ca_file, o->ca_file);
	r |= dup_opt(&p->cert_file, o->cert_file);
	r |= dup_opt(&p->key_file, o->key_file);
	r |= dup_opt(&p->username, o->username);
	r |= dup_opt(&p->password, o->password);
	r |= dup_opt(&p->unit, o->unit);
	r |= dup_opt(&p->client_id, o->client_id ? o->client_id : o->unit);
	r |= dup_opt(&p->prefix, o->prefix ? o->prefix : "bodydiag");
	r |= dup_opt(&p->software, o->software ? o->software : "bodydiag");
	r |= dup_opt(&p->state_file, o->state_file);
	p->win = calloc(p->window, sizeof(*p->win));
	if (r < 0 || !p->win) {
		publisher_free(p);
		return -ENOMEM;
	}
	p->id = (struct forward_identity){.prefix = p->prefix, .unit = p->unit, .epoch = epoch};
	if (fleet_topic_format(p->prefix, p->unit, NULL, FLEET_KIND_RECEIPT, p->receipt_topic,
			       sizeof(p->receipt_topic)) < 0) {
		publisher_free(p);
		return -EINVAL;
	}
	mosquitto_lib_init(); /* reference-counted by libmosquitto */
	p->lib_ref = true;
	p->st = (struct forward_state){.link = FORWARD_LINK_STARTING, .pid = getpid(),
				       .since_us = wall_us(), .tls = p->tls, .epoch = epoch};
	snprintf(p->st.broker, sizeof(p->st.broker), "%s:%u", p->host, p->port);
	snprintf(p->st.unit, sizeof(p->st.unit), "%s", p->unit);
	/* Settings libmosquitto refuses (a missing CA file) are configuration errors: now. */
	if (client_new(p) < 0) {
		publisher_free(p);
		return -EIO;
	}
	drop_client(p);
	ev_init(&p->reconnect, reconnect_cb);
	ev_timer_init(&p->tick, tick_cb, o->poll_s > 0 ? o->poll_s : 0.5,
		      o->poll_s > 0 ? o->poll_s : 0.5);
	ev_timer_start(loop, &p->tick);
	state_write(p);
	connect_now(p);
	*ret = p;
	return 0;
}

/* A clean DISCONNECT suppresses the will, so "offline"/"stop" goes first, and the DISCONNECT
 * only once the broker acknowledged it (at most STOP_WAIT_MS): the loop is over, so the
 * socket is served here. */
static void say_goodbye(struct publisher *p)
{
	int64_t end = clock_now_us(CLOCK_MONOTONIC) + STOP_WAIT_MS * 1000;
	struct pollfd pfd = {.fd = mosquitto_socket(p->mosq)};
	int rc = MOSQ_ERR_SUCCESS;

	p->stop_mid = 0;
	p->stop_acked = false;
	publish_status(p, "offline", "stop", wall_us());
	while (p->stop_mid && !p->stop_acked && !p->lost && rc == MOSQ_ERR_SUCCESS &&
	       clock_now_us(CLOCK_MONOTONIC) < end) {
		pfd.events = POLLIN | (mosquitto_want_write(p->mosq) ? POLLOUT : 0);
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			break;
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP))
			rc = mosquitto_loop_read(p->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(p->mosq))
			rc = mosquitto_loop_write(p->mosq, 1);
	}
	if (!p->stop_acked)
		log_warning("mqtt: the broker did not acknowledge offline/stop; the will may say "
			    "offline instead");
	mosquitto_disconnect_v5(p->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
	for (int i = 0; i < 50 && mosquitto_want_write(p->mosq); i++)
		if (mosquitto_loop_write(p->mosq, 1) != MOSQ_ERR_SUCCESS)
			break;
	log_notice("mqtt: disconnected from %s:%u (stop)", p->host, p->port);
}

void publisher_stop(struct publisher *p)
{
	if (!p)
		return;
	if (p->mosq && p->connected && !p->lost)
		say_goodbye(p);
	ev_timer_stop(p->loop, &p->reconnect);
	ev_timer_stop(p->loop, &p->tick);
	drop_client(p);
	set_link(p, FORWARD_LINK_STOPPED);
}

struct publisher *publisher_free(struct publisher *p)
{
	if (!p)
		return NULL;
	if (p->loop) {
		ev_timer_stop(p->loop, &p->reconnect);
		ev_timer_stop(p->loop, &p->tick);
	}
	drop_client(p);
	if (p->lib_ref)
		mosquitto_lib_cleanup();
	for (size_t i = 0; i < p->n_win; i++)
		free(p->win[i].payload);
	free(p->win);
	free(p->host);
	free(p->ca_file);
	free(p->cert_file);
	free(p->key_file);
	free(p->username);
	if (p->password)
		explicit_bzero(p->password, strlen(p->password));
	free(p->password);
	free(p->unit);
	free(p->client_id);
	free(p->prefix);
	free(p->software);
	free(p->state_file);
	free(p);
	return NULL;
}

const struct forward_state *publisher_state(const struct publisher *p)
{
	return &p->st;
}
