/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-ingest: MQTT (shared subscription) -> validation -> bounded queue -> PostgreSQL,
 * then a commit receipt to each unit. docs/fleet.md has the contract and the design.
 *
 * Two threads. The main thread owns the libmosquitto client (no libmosquitto thread):
 * it polls the socket, validates each PUBLISH into the queue and publishes the receipts.
 * The database thread takes batches off the queue, writes each in one transaction and
 * hands the receipts back. When the queue is full the main thread stops reading the
 * socket, so TCP (and the broker's per-client queue) pushes back on the publishers.
 *
 * libmosquitto 2.0.11 (Debian 12) acknowledges a QoS 1 PUBLISH before its message callback
 * runs (lib/handle_publish.c) and has no manual acknowledgement, so the broker's PUBACK
 * cannot wait for our commit. The guarantee is end to end instead: a unit keeps a record
 * in its outbox until a receipt from here says it is committed, and sends it again
 * otherwise; the database's unique key makes the repeat harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ingest-config.h"
#include "sdproto.h"
#include "store.h"
#include "wire.h"

#include "config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/*
 * Room beyond queue_max: the read stops at queue_max, but one mosquitto_loop_read() call
 * reads as many packets as the client has messages in flight (our receipts awaiting their
 * PUBACK), so a few more can arrive after the queue is "full". Past the slack a message is
 * dropped unreceipted (counted; the unit sends it again).
 */
#define QUEUE_SLACK 1024

struct receipt {
	struct receipt *next;
	char topic[256];
	char *payload;
};

struct ingest {
	struct ingest_config cfg;
	char password[257];
	struct mosquitto *mosq;
	bool connected;
	double backoff;
	int64_t reconnect_at;

	pthread_t db_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake_fd; /* eventfd: the database thread wakes the main thread */
	struct ingest_msg **queue; /* ring of cfg.ingest.queue_max + QUEUE_SLACK */
	size_t ring;
	size_t head, count;
	struct receipt *receipts, **receipts_tail;
	bool stopping, db_done;

	/* statistics, under lock */
	uint64_t received, invalid, dropped, committed_msgs, batches, db_errors, receipts_sent;
	uint64_t db_busy_us, full_us;
	uint64_t mqtt_cpu_us, db_cpu_us; /* each thread's user + system time, at its end */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	/* <N> prefixes: journald takes them as the priority of the line. */
	fprintf(stderr, "%s", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
#define LOG_ERR_ "<3>"
#define LOG_WARN_ "<4>"
#define LOG_INFO_ "<6>"

static uint64_t thread_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void wake_main(struct ingest *g)
{
	uint64_t one = 1;

	if (write(g->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the main thread will wake anyway. */
	}
}

/* --- receipts --- */

static int cmp_seq(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Receipts for the messages of one committed batch: one per unit and epoch. */
static void build_receipts(struct ingest *g, struct ingest_msg *const *msgs, size_t n)
{
	bool *done = calloc(n, sizeof(*done));
	int64_t *seqs = calloc(n, sizeof(*seqs));
	char tbuf[32];
	int64_t now = now_us(CLOCK_REALTIME);

	if (!done || !seqs)
		goto out;
	fleet_format_time(now, tbuf, sizeof(tbuf));
	for (size_t i = 0; i < n; i++) {
		const struct ingest_msg *m = msgs[i];
		const char *unit = m->valid ? m->rec.unit : m->unit;
		int64_t epoch = m->valid ? m->rec.epoch : m->epoch;
		bool is_record = m->valid ? fleet_kind_is_record(m->rec.kind) : m->have_ident;
		size_t ns = 0;

		if (done[i] || !is_record)
			continue;
		json_t *committed = json_array(), *rejected = json_array();
		for (size_t j = i; j < n; j++) {
			const struct ingest_msg *o = msgs[j];
			const char *u = o->valid ? o->rec.unit : o->unit;
			int64_t e = o->valid ? o->rec.epoch : o->epoch;
			bool rec = o->valid ? fleet_kind_is_record(o->rec.kind) : o->have_ident;
			if (done[j] || !rec || e != epoch || strcmp(u, unit) != 0)
				continue;
			done[j] = true;
			if (o->valid)
				seqs[ns++] = o->rec.seq;
			else if (json_array_size(rejected) < FLEET_MAX_RANGES)
				json_array_append_new(rejected, json_pack("{s:I,s:s}", "seq",
									  (json_int_t)o->seq,
									  "reason", o->reason));
		}
		qsort(seqs, ns, sizeof(*seqs), cmp_seq);
		for (size_t k = 0; k < ns && json_array_size(committed) < FLEET_MAX_RANGES;) {
			size_t e = k;
			while (e + 1 < ns && seqs[e + 1] <= seqs[e] + 1)
				e++;
			json_array_append_new(committed, json_pack("[I,I]", (json_int_t)seqs[k],
								   (json_int_t)seqs[e]));
			k = e + 1;
		}
		json_t *o = json_pack("{s:i,s:s,s:s,s:I,s:o,s:o,s:s,s:I,s:s}", "v", FLEET_WIRE_VERSION,
				      "kind", "receipt", "unit", unit, "epoch", (json_int_t)epoch,
				      "committed", committed, "rejected", rejected, "time", tbuf,
				      "t_us", (json_int_t)now, "ingest", g->cfg.ingest.name);
		struct receipt *rc = calloc(1, sizeof(*rc));
		if (!o || !rc) {
			json_decref(o);
			free(rc);
			continue;
		}
		rc->payload = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!rc->payload ||
		    fleet_topic_format(g->cfg.mqtt.prefix, unit, NULL, FLEET_KIND_RECEIPT, rc->topic,
				       sizeof(rc->topic)) < 0) {
			free(rc->payload);
			free(rc);
			continue;
		}
		*g->receipts_tail = rc;
		g->receipts_tail = &rc->next;
	}
out:
	free(done);
	free(seqs);
}

/* --- database thread --- */

static void db_sleep(struct ingest *g, double seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&g->lock);
	if (!g->stopping || g->count)
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	pthread_mutex_unlock(&g->lock);
}

/* Writes a batch; on a data error (the database refused a value) one by one, and a message
 * the database refuses alone becomes a reject, so one bad payload cannot stall the rest. */
static int write_batch(struct ingest *g, struct store *st, struct ingest_msg **msgs, size_t n,
		       char *err, size_t err_size)
{
	int r = store_write(st, msgs, n, err, err_size);

	if (r != -EINVAL)
		return r;
	if (n == 1) {
		struct ingest_msg *m = msgs[0];
		log_msg(LOG_WARN_, "ingest: the database refused %s: %s", m->topic, err);
		if (!m->valid)
			return r; /* a reject the database refuses: nothing more to try */
		m->have_ident = true;
		snprintf(m->unit, sizeof(m->unit), "%s", m->rec.unit);
		m->epoch = m->rec.epoch;
		m->seq = m->rec.seq;
		fleet_record_finish(&m->rec);
		m->valid = false;
		snprintf(m->reason, sizeof(m->reason), "database: %.200s", err);
		return store_write(st, msgs, 1, err, err_size);
	}
	for (size_t i = 0; i < n; i++) {
		r = write_batch(g, st, msgs + i, 1, err, err_size);
		if (r < 0 && r != -EINVAL)
			return r;
	}
	return 0;
}

static void *db_main(void *arg)
{
	struct ingest *g = arg;
	struct store *st = NULL;
	struct ingest_msg **batch = calloc(g->cfg.ingest.batch_max, sizeof(*batch));
	double backoff = 0.2;
	char err[512];
	size_t n = 0;

	if (!batch)
		abort();
	for (;;) {
		if (!st) {
			int r = store_connect(g->cfg.database.conninfo, g->cfg.ingest.name, &st, err,
					      sizeof(err));
			if (r >= 0)
				r = store_migrate(st, err, sizeof(err));
			if (r == -EPROTO) {
				log_msg(LOG_ERR_, "ingest: %s", err);
				exit(1);
			}
			if (r < 0) {
				st = store_free(st);
				log_msg(LOG_WARN_, "ingest: database: %s (again in %.1f s)", err,
					backoff);
				pthread_mutex_lock(&g->lock);
				g->db_errors++;
				bool give_up = g->stopping;
				pthread_mutex_unlock(&g->lock);
				if (give_up)
					break;
				db_sleep(g, backoff);
				backoff = backoff * 2 < g->cfg.ingest.retry_max_s ? backoff * 2
										  : g->cfg.ingest.retry_max_s;
				continue;
			}
			log_msg(LOG_INFO_, "ingest: database connected, schema version %d", r);
			backoff = 0.2;
		}
		if (n == 0) {
			pthread_mutex_lock(&g->lock);
			while (!g->count && !g->stopping)
				pthread_cond_wait(&g->cond, &g->lock);
			if (!g->count && g->stopping) {
				pthread_mutex_unlock(&g->lock);
				break;
			}
			bool was_full = g->count >= g->cfg.ingest.queue_max;
			while (n < g->cfg.ingest.batch_max && g->count) {
				batch[n++] = g->queue[g->head];
				g->head = (g->head + 1) % g->ring;
				g->count--;
			}
			pthread_mutex_unlock(&g->lock);
			if (was_full)
				wake_main(g); /* room again: the main thread may read */
		}
		int64_t t0 = now_us(CLOCK_MONOTONIC);
		int r = write_batch(g, st, batch, n, err, sizeof(err));
		int64_t busy = now_us(CLOCK_MONOTONIC) - t0;
		if (r < 0) {
			log_msg(LOG_WARN_, "ingest: writing %zu messages: %s%s", n, err,
				r == -ECONNRESET ? " (reconnecting)" : " (trying again)");
			pthread_mutex_lock(&g->lock);
			g->db_errors++;
			g->db_busy_us += (uint64_t)busy;
			pthread_mutex_unlock(&g->lock);
			if (r == -ECONNRESET || !store_ok(st))
				st = store_free(st);
			else
				db_sleep(g, 0.05);
			continue;
		}
		pthread_mutex_lock(&g->lock);
		build_receipts(g, batch, n);
		g->committed_msgs += n;
		g->batches++;
		g->db_busy_us += (uint64_t)busy;
		pthread_mutex_unlock(&g->lock);
		wake_main(g);
		for (size_t i = 0; i < n; i++)
			ingest_msg_free(batch[i]);
		n = 0;
	}
	/* Stopping with a batch in hand and no database: nothing was receipted, units resend. */
	for (size_t i = 0; i < n; i++)
		ingest_msg_free(batch[i]);
	store_free(st);
	free(batch);
	pthread_mutex_lock(&g->lock);
	g->db_done = true;
	g->db_cpu_us = thread_cpu_us();
	pthread_mutex_unlock(&g->lock);
	wake_main(g);
	return NULL;
}

/* --- MQTT (main thread) --- */

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
		       const mosquitto_property *props)
{
	struct ingest *g = userdata;
	char records[200], status[200];

	if (rc != 0) {
		log_msg(LOG_WARN_, "ingest: broker refused the connection: %s",
			mosquitto_reason_string(rc));
		return;
	}
	g->connected = true;
	g->backoff = 1;
	/*
	 * Subscribe on every connection, also when the broker kept our session: a broker that
	 * was killed may have lost it. One shared group: each message goes to one member.
	 */
	snprintf(records, sizeof(records), "$share/%s/%s/v1/+/+/+", g->cfg.mqtt.group,
		 g->cfg.mqtt.prefix);
	snprintf(status, sizeof(status), "$share/%s/%s/v1/+/status", g->cfg.mqtt.group,
		 g->cfg.mqtt.prefix);
	char *subs[2] = {records, status};
	rc = mosquitto_subscribe_multiple(mosq, NULL, 2, subs, 1, 0, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		log_msg(LOG_WARN_, "ingest: subscribe: %s", mosquitto_strerror(rc));
	log_msg(LOG_INFO_, "ingest: connected to %s:%u (%s), subscribed to %s and %s",
		g->cfg.mqtt.host, g->cfg.mqtt.port, g->cfg.mqtt.client_id, records, status);
	sdproto_notify("STATUS=connected to the broker");
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc,
			  const mosquitto_property *props)
{
	struct ingest *g = userdata;

	if (g->connected)
		log_msg(LOG_WARN_, "ingest: disconnected from the broker (%s)",
			rc ? mosquitto_strerror(rc) : "clean");
	g->connected = false;
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct ingest *g = userdata;
	struct ingest_msg *m = calloc(1, sizeof(*m));
	struct fleet_topic topic;
	char err[FLEET_MAX_ERROR];

	if (!m)
		return; /* not receipted: the unit sends it again */
	m->topic = strdup(msg->topic);
	m->len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	m->payload = malloc(m->len ? m->len : 1);
	m->received_us = now_us(CLOCK_REALTIME);
	if (!m->topic || !m->payload) {
		ingest_msg_free(m);
		return;
	}
	memcpy(m->payload, msg->payload, m->len);
	int r = fleet_topic_parse(g->cfg.mqtt.prefix, msg->topic, strlen(msg->topic), &topic, err,
				  sizeof(err));
	if (r >= 0)
		r = fleet_record_parse(m->payload, m->len, &m->rec, err, sizeof(err));
	if (r >= 0) {
		m->valid = true;
		r = fleet_record_check_topic(&m->rec, &topic, err, sizeof(err));
		if (r < 0) {
			fleet_record_finish(&m->rec);
			m->valid = false;
		}
	}
	if (!m->valid) {
		snprintf(m->reason, sizeof(m->reason), "%s", err);
		m->have_ident = fleet_payload_ident(m->payload, m->len, m->unit, &m->epoch,
						    &m->seq) >= 0;
		log_msg(LOG_WARN_, "ingest: refused %s: %s", msg->topic, err);
	}
	pthread_mutex_lock(&g->lock);
	g->received++;
	g->invalid += !m->valid;
	if (g->count < g->ring) {
		g->queue[(g->head + g->count) % g->ring] = m;
		g->count++;
		m = NULL;
		pthread_cond_signal(&g->cond);
	} else {
		g->dropped++;
	}
	pthread_mutex_unlock(&g->lock);
	ingest_msg_free(m); /* dropped: not receipted, so the unit sends it again */
}

static void publish_receipts(struct ingest *g)
{
	struct receipt *list;

	pthread_mutex_lock(&g->lock);
	list = g->receipts;
	g->receipts = NULL;
	g->receipts_tail = &g->receipts;
	pthread_mutex_unlock(&g->lock);
	while (list) {
		struct receipt *next = list->next;
		/* Not connected: dropped; the unit's resend brings a new receipt. */
		if (g->connected &&
		    mosquitto_publish(g->mosq, NULL, list->topic, (int)strlen(list->payload),
				      list->payload, 1, false) == MOSQ_ERR_SUCCESS)
			g->receipts_sent++;
		free(list->payload);
		free(list);
		list = next;
	}
}

static int read_password(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n ? 0 : -EINVAL;
}

static int mqtt_setup(struct ingest *g)
{
	struct ingest_config *c = &g->cfg;
	int rc;

	g->mosq = mosquitto_new(c->mqtt.client_id, false /* keep the session */, g);
	if (!g->mosq)
		return -ENOMEM;
	mosquitto_int_option(g->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(g->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(g->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(g->mosq, on_message);
	rc = MOSQ_ERR_SUCCESS;
	if (c->mqtt.username[0])
		rc = mosquitto_username_pw_set(g->mosq, c->mqtt.username,
					       c->mqtt.password_file[0] ? g->password : NULL);
	if (rc == MOSQ_ERR_SUCCESS && c->mqtt.tls) {
		rc = mosquitto_tls_set(g->mosq, c->mqtt.ca_file[0] ? c->mqtt.ca_file : NULL,
				       c->mqtt.ca_file[0] ? NULL : "/etc/ssl/certs",
				       c->mqtt.cert_file[0] ? c->mqtt.cert_file : NULL,
				       c->mqtt.key_file[0] ? c->mqtt.key_file : NULL, NULL);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_opts_set(g->mosq, 1, NULL, NULL);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		log_msg(LOG_ERR_, "ingest: MQTT settings: %s", mosquitto_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

static void mqtt_connect(struct ingest *g)
{
	mosquitto_property *props = NULL;
	int rc;

	/*
	 * MQTT v5: the broker keeps our session (and what it queued for us) this long. libmosquitto
	 * keeps these properties for every reconnect; only this first connect blocks (the TCP
	 * connect), there is no asynchronous v5 variant in 2.0.11.
	 */
	rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					  g->cfg.mqtt.session_expiry_s);
	/*
	 * The broker sends nothing larger (it drops it for us): bounds the memory a queued
	 * message can take. Between FLEET_MAX_PAYLOAD and this, a payload is refused with a
	 * receipt; beyond it a unit would resend in vain, which a forwarder never does.
	 */
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, 1u << 20);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect_bind_v5(g->mosq, g->cfg.mqtt.host, (int)g->cfg.mqtt.port,
					       (int)g->cfg.mqtt.keepalive_s, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_msg(LOG_WARN_, "ingest: connecting to %s:%u: %s (again in %.0f s)",
			g->cfg.mqtt.host, g->cfg.mqtt.port,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), g->backoff);
		g->reconnect_at = now_us(CLOCK_MONOTONIC) + (int64_t)(g->backoff * 1e6);
		g->backoff = g->backoff * 2 > 30 ? 30 : g->backoff * 2;
	}
}

static void print_stats(struct ingest *g)
{
	pthread_mutex_lock(&g->lock);
	fprintf(stderr,
		LOG_INFO_ "ingest: stats name=%s received=%" PRIu64 " invalid=%" PRIu64
			  " dropped=%" PRIu64 " committed=%" PRIu64 " batches=%" PRIu64 " db_errors=%" PRIu64
			  " receipts=%" PRIu64 " db_busy_ms=%" PRIu64 " queue_full_ms=%" PRIu64
			  " mqtt_cpu_ms=%" PRIu64 " db_cpu_ms=%" PRIu64 "\n",
		g->cfg.ingest.name, g->received, g->invalid, g->dropped, g->committed_msgs, g->batches,
		g->db_errors, g->receipts_sent, g->db_busy_us / 1000, g->full_us / 1000,
		g->mqtt_cpu_us / 1000, g->db_cpu_us / 1000);
	pthread_mutex_unlock(&g->lock);
}

static int run(struct ingest *g)
{
	int64_t full_since = 0, stop_deadline = 0;
	bool was_connected = false;

	mqtt_connect(g);
	sdproto_notify("READY=1\nSTATUS=connecting");
	for (;;) {
		struct pollfd p[2] = {{.fd = g->wake_fd, .events = POLLIN}, {.fd = -1}};
		int64_t now = now_us(CLOCK_MONOTONIC);
		int fd = mosquitto_socket(g->mosq);

		pthread_mutex_lock(&g->lock);
		bool full = g->count >= g->cfg.ingest.queue_max;
		bool drained = g->db_done || (g->stopping && g->count == 0 && !g->receipts);
		pthread_mutex_unlock(&g->lock);
		if (full && !full_since)
			full_since = now;
		if (!full && full_since) {
			g->full_us += (uint64_t)(now - full_since);
			full_since = 0;
		}
		if (stop_signal && !stop_deadline) {
			log_msg(LOG_INFO_, "ingest: stopping (signal %d), writing what is queued",
				(int)stop_signal);
			sdproto_notify("STOPPING=1");
			stop_deadline = now + 10000000;
			pthread_mutex_lock(&g->lock);
			g->stopping = true;
			pthread_cond_broadcast(&g->cond);
			pthread_mutex_unlock(&g->lock);
		}
		if (stop_deadline && (drained || now > stop_deadline))
			break;
		if (fd >= 0) {
			p[1].fd = fd;
			/* Back-pressure: no reading while the queue is full, nor once stopping. */
			p[1].events = (full || stop_deadline ? 0 : POLLIN) |
				      (mosquitto_want_write(g->mosq) ? POLLOUT : 0);
		}
		if (poll(p, 2, 200) < 0 && errno != EINTR) {
			log_msg(LOG_ERR_, "ingest: poll: %s", strerror(errno));
			return 1;
		}
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(g->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: a spurious wake-up */
			}
		}
		int rc = MOSQ_ERR_SUCCESS;
		/*
		 * mosquitto_loop_read() reads one packet when nothing of ours is in flight; read
		 * until the socket is drained (the library leaves EAGAIN in errno) or the queue
		 * fills, instead of one poll() per message.
		 */
		for (int k = 0; fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && k < 256; k++) {
			errno = 0;
			rc = mosquitto_loop_read(g->mosq, 1);
			if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK ||
			    mosquitto_socket(g->mosq) < 0)
				break;
			pthread_mutex_lock(&g->lock);
			full = g->count >= g->cfg.ingest.queue_max;
			pthread_mutex_unlock(&g->lock);
			if (full)
				break;
		}
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(g->mosq) >= 0)
			publish_receipts(g);
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(g->mosq) >= 0 &&
		    mosquitto_want_write(g->mosq))
			rc = mosquitto_loop_write(g->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(g->mosq) >= 0)
			rc = mosquitto_loop_misc(g->mosq);
		if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(g->mosq) < 0) {
			if (g->connected || was_connected)
				log_msg(LOG_WARN_, "ingest: connection lost (%s), reconnecting",
					mosquitto_strerror(rc));
			g->connected = false;
			was_connected = false;
			if (!g->reconnect_at)
				g->reconnect_at = now + (int64_t)(g->backoff * 1e6);
		}
		was_connected = g->connected;
		if (!g->connected && mosquitto_socket(g->mosq) < 0) {
			/* Receipts made while disconnected cannot go: drop them (units resend). */
			publish_receipts(g);
			if (g->reconnect_at && now_us(CLOCK_MONOTONIC) >= g->reconnect_at &&
			    !stop_deadline) {
				g->reconnect_at = 0;
				rc = mosquitto_reconnect_async(g->mosq);
				if (rc != MOSQ_ERR_SUCCESS) {
					g->reconnect_at = now_us(CLOCK_MONOTONIC) +
							  (int64_t)(g->backoff * 1e6);
					g->backoff = g->backoff * 2 > 30 ? 30 : g->backoff * 2;
				}
			}
		}
	}
	if (g->connected) {
		publish_receipts(g);
		mosquitto_loop_write(g->mosq, 1);
		mosquitto_disconnect_v5(g->mosq, 0, NULL);
	}
	return 0;
}

/* --validate: one payload per line from a file (or -): ok or the reason, per line. */
static int validate_file(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0, bad = 0;

	if (!f) {
		fprintf(stderr, "bodydiag-ingest: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct fleet_record r;
		char err[FLEET_MAX_ERROR];
		lineno++;
		if (n && line[n - 1] == '\n')
			n--;
		if (fleet_record_parse(line, (size_t)n, &r, err, sizeof(err)) < 0) {
			printf("%u: %s\n", lineno, err);
			bad++;
		} else {
			printf("%u: ok %s\n", lineno, fleet_kind_name(r.kind));
			fleet_record_finish(&r);
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return bad ? 1 : 0;
}

static int load_config(const char *path, struct ingest_config *cfg)
{
	struct ingest_config_error e;
	char *buf = NULL, err[256];
	size_t cap = 0, len = 0, n;
	FILE *f = fopen(path, "re");

	ingest_config_defaults(cfg);
	if (!f) {
		fprintf(stderr, "bodydiag-ingest: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	do {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 4096);
			if (!nb || cap > (1u << 20)) {
				free(nb);
				fclose(f);
				fprintf(stderr, "bodydiag-ingest: %s: larger than 1 MiB\n", path);
				return -EFBIG;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	int r = ingest_config_parse(buf, len, cfg, &e);
	free(buf);
	if (r < 0) {
		fprintf(stderr, "bodydiag-ingest: %s:%u:%u: %s\n", path, e.line, e.column, e.message);
		return r;
	}
	if (ingest_config_check(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bodydiag-ingest: %s: %s\n", path, err);
		return -EINVAL;
	}
	if (!cfg->mqtt.client_id[0])
		snprintf(cfg->mqtt.client_id, sizeof(cfg->mqtt.client_id), "bodydiag-ingest-%.40s",
			 cfg->ingest.name);
	if (!cfg->mqtt.port)
		cfg->mqtt.port = cfg->mqtt.tls ? 8883 : 1883;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bodydiag-ingest [-c CONFIG] [--check-config] [--migrate]\n"
		   "       bodydiag-ingest --validate FILE|-\n\n"
		   "Receives the fleet's records from an MQTT broker (shared subscription) and\n"
		   "writes them to PostgreSQL once each; docs/fleet.md. Default config: %s\n",
		   INGEST_CONFIG_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"validate", required_argument, NULL, 'V'},
		{"check-config", no_argument, NULL, 'C'}, {"migrate", no_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'v'},
		{},
	};
	const char *config_path = INGEST_CONFIG_DEFAULT_PATH;
	bool check_only = false, migrate_only = false;
	struct ingest *g;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'V':
			return validate_file(optarg);
		case 'C':
			check_only = true;
			break;
		case 'M':
			migrate_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("bodydiag-ingest %s (wire format v%d)\n", BODYDIAG_VERSION,
			       FLEET_WIRE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	g = calloc(1, sizeof(*g));
	if (!g || load_config(config_path, &g->cfg) < 0) {
		free(g);
		return 1;
	}
	if (check_only) {
		printf("%s: ok\n", config_path);
		free(g);
		return 0;
	}
	if (migrate_only) {
		struct store *st = NULL;
		char err[512];
		int r = store_connect(g->cfg.database.conninfo, g->cfg.ingest.name, &st, err,
				      sizeof(err));
		if (r >= 0)
			r = store_migrate(st, err, sizeof(err));
		store_free(st);
		free(g);
		if (r < 0) {
			fprintf(stderr, "bodydiag-ingest: %s\n", err);
			return 1;
		}
		printf("schema version %d\n", r);
		return 0;
	}
	if (g->cfg.mqtt.password_file[0]) {
		int r = read_password(g->cfg.mqtt.password_file, g->password, sizeof(g->password));
		if (r < 0) {
			fprintf(stderr, "bodydiag-ingest: %s: %s\n", g->cfg.mqtt.password_file,
				r == -EINVAL ? "no password on the first line" : strerror(-r));
			return 1;
		}
	}
	g->ring = g->cfg.ingest.queue_max + QUEUE_SLACK;
	g->queue = calloc(g->ring, sizeof(*g->queue));
	g->receipts_tail = &g->receipts;
	g->backoff = 1;
	g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!g->queue || g->wake_fd < 0) {
		fprintf(stderr, "bodydiag-ingest: out of resources\n");
		return 1;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	mosquitto_lib_init();
	if (mqtt_setup(g) < 0)
		return 1;
	/* The database thread blocks no signal handling of ours: it never sees one. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&g->db_thread, NULL, db_main, g) != 0) {
		fprintf(stderr, "bodydiag-ingest: cannot start the database thread\n");
		return 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_msg(LOG_INFO_, "ingest: %s starting: broker %s:%u group %s, queue %u, batch %u",
		g->cfg.ingest.name, g->cfg.mqtt.host, g->cfg.mqtt.port, g->cfg.mqtt.group,
		g->cfg.ingest.queue_max, g->cfg.ingest.batch_max);
	int status = run(g);
	g->mqtt_cpu_us = thread_cpu_us();
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->db_thread, NULL);
	print_stats(g);
	mosquitto_destroy(g->mosq);
	mosquitto_lib_cleanup();
	while (g->count) {
		ingest_msg_free(g->queue[g->head]);
		g->head = (g->head + 1) % g->ring;
		g->count--;
	}
	free(g->queue);
	close(g->wake_fd);
	explicit_bzero(g->password, sizeof(g->password));
	free(g);
	return status;
}
