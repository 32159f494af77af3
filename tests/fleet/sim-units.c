/* SPDX-License-Identifier: MIT */
/*
 * Simulated units: N publishers that follow the fleet wire format (docs/fleet.md) the way a
 * unit's forwarder must, fed from generated histories. It is the test publisher of the
 * integration test and the load of the benchmark, and a reference for the forwarder:
 *
 *  - every record carries unit, epoch, seq (1, 2, 3... per unit), VIN, time and t_us;
 *  - status "online" (retained) on every connection, the will "offline"/"will" set at
 *    CONNECT with the same conn, "offline"/"stop" on a clean stop;
 *  - QoS 1, a persistent session (clean start off, session expiry), the receipt topic
 *    subscribed on every connection;
 *  - a record stays in the outbox until a receipt covers it (committed or rejected); one
 *    without a receipt after --resend seconds is published again. At most --window records
 *    per unit are awaiting receipts.
 *
 * Each unit's history: diagnosis sessions with bus events, DTC transitions (first
 * sighting, confirmed, sometimes cleared), findings of the trunk rules and a session
 * summary, spread over --days days from --start (so several monthly partitions).
 *
 * Prints one summary line: sent, resent, receipted, rejected, latency (first publish to
 * receipt) percentiles, records/s. Exit 0 when every record was receipted, 1 otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bodydiag/dtc.h>

#include "wire.h"

#define MAX_UNITS 1000

enum rec_state {
	REC_STATE_UNSENT,
	REC_STATE_SENT,
	REC_STATE_DONE,
	REC_STATE_MAX,
};

struct rec {
	char *payload;
	char topic[160];
	enum rec_state state;
	bool bad; /* made invalid on purpose: must come back as rejected */
	int mid;  /* of the last publish (--puback-only) */
	int64_t first_us, sent_us, done_us;
};

struct unit {
	char name[32], vin[18];
	int64_t epoch;
	struct mosquitto *mosq;
	struct rec *recs;
	size_t n, next, inflight, done;
	bool connected;
	int64_t conn_us, retry_at;
	int stop_mid;	/* the "offline"/"stop" message in flight, 0 = none */
	bool stop_acked;
};

static struct {
	const char *host, *prefix;
	int port;
	unsigned units, records, window, bad_units;
	double rate, resend_s, deadline_s, days;
	int64_t start_us;
	unsigned seed;
	bool puback_only; /* benchmark reference: the broker's PUBACK counts as done */
	FILE *expected;
	uint64_t sent, resent, receipts, rejected, dup_receipts;
} opt = {
	.host = "127.0.0.1", .prefix = "bodydiag", .port = 1883, .units = 50, .records = 60,
	.window = 20, .rate = 0, .resend_s = 5, .deadline_s = 100, .days = 80,
	.start_us = 1767225600000000ll, /* 2026-01-01 */
	.seed = 1,
};

static struct unit *units;
static volatile sig_atomic_t interrupted;

static int64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void make_vin(unsigned i, char vin[18])
{
	static const char ok[] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
	uint32_t s = 2654435761u * (i + 1);

	memcpy(vin, "WV1ZZZ7H", 8);
	for (int k = 8; k < 17; k++)
		vin[k] = ok[rnd(&s) % (sizeof(ok) - 1)];
	vin[17] = '\0';
}

static const char *const CAUSES[] = {
	"fuse_blown", "hinge_wiring_intermittent", "actuator_worn", "latch_jammed",
	"fob_battery_weak", "hinge_wiring_open", "release_blocked_speed", "bcm_fault",
};
static const uint32_t DTCS[] = {0x9A4013, 0x9A4011, 0x9A4512, 0x9A4613, 0xD10000};

/* Appends a record to u's history: the common members, then kind's. */
static json_t *head(struct unit *u, const char *kind, int64_t t_us, int64_t session, size_t id)
{
	char t[32];

	fleet_format_time(t_us, t, sizeof(t));
	return json_pack("{s:i,s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:o,s:I}", "v", 1, "kind", kind, "unit",
			 u->name, "epoch", (json_int_t)u->epoch, "seq", (json_int_t)(u->n + 1),
			 "vin", u->vin, "time", t, "t_us", (json_int_t)t_us, "session",
			 session ? json_integer(session) : json_null(), "id", (json_int_t)id);
}

static void add(struct unit *u, json_t *o, enum fleet_kind kind)
{
	struct rec *r = &u->recs[u->n++];

	r->payload = json_dumps(o, JSON_COMPACT);
	fleet_topic_format(opt.prefix, u->name, u->vin, kind, r->topic, sizeof(r->topic));
	if (opt.expected && !r->bad)
		fprintf(opt.expected,
			"{\"unit\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%zu,\"kind\":\"%s\","
			"\"t_us\":%" PRId64 "}\n",
			u->name, u->epoch, u->n, fleet_kind_name(kind),
			(int64_t)json_integer_value(json_object_get(o, "t_us")));
	json_decref(o);
}

static void generate(struct unit *u, unsigned index)
{
	uint32_t s = opt.seed * 7919u + index * 104729u + 1;
	int64_t span = (int64_t)(opt.days * 86400e6), t = opt.start_us;
	int64_t step = span / (opt.records + 1);
	int64_t session = 0;
	int dtc_status[5] = {-1, -1, -1, -1, -1};
	unsigned findings = 0, dtcs = 0;
	const char *top = NULL;
	int64_t session_start = 0;

	u->recs = calloc(opt.records, sizeof(*u->recs));
	for (unsigned i = 0; i < opt.records; i++) {
		uint64_t r64 = (uint64_t)rnd(&s) << 32 | rnd(&s);
		t += step / 2 + (int64_t)(r64 % (uint64_t)(step > 1 ? step : 1));
		unsigned left = opt.records - i;
		unsigned pick = rnd(&s) % 10;
		bool make_bad = index < opt.bad_units && i == 3;

		if (make_bad)
			pick = 9; /* a finding */
		json_t *o;

		if (!session) {
			session = (int64_t)i + 1;
			session_start = t;
			findings = dtcs = 0;
			top = NULL;
		}
		if (left == 1 || pick == 0) {
			/* the session ends */
			static const char *const verdicts[] = {"fault", "blocked", "inconclusive",
							       "no fault found in the release chain"};
			char st[32];
			o = head(u, "session", t, session, (size_t)session);
			fleet_format_time(session_start, st, sizeof(st));
			json_object_set_new(o, "start", json_string(st));
			json_object_set_new(o, "start_us", json_integer(session_start));
			json_object_set_new(o, "label", json_string("trunk"));
			json_object_set_new(o, "verdict", json_string(top ? verdicts[0] : verdicts[2 + rnd(&s) % 2]));
			json_object_set_new(o, "top_cause", top ? json_string(top) : json_null());
			json_object_set_new(o, "findings", json_integer(findings));
			json_object_set_new(o, "dtcs", json_integer(dtcs));
			add(u, o, FLEET_KIND_SESSION);
			session = 0;
		} else if (pick <= 2) {
			o = head(u, "bus", t, session, i + 1);
			json_object_set_new(o, "interface", json_string("can0"));
			json_object_set_new(o, "event", json_string(pick == 1 ? "state" : "adapter-lost"));
			json_object_set_new(o, "detail", pick == 1 ? json_string("ERROR-ACTIVE -> ERROR-PASSIVE") : json_null());
			add(u, o, FLEET_KIND_BUS);
		} else if (pick <= 5) {
			/* Two vans in three only ever see the network DTC (U1100-00), not a body one. */
			unsigned d = index % 3 ? 4 : (index + rnd(&s)) % 5;
			int old = dtc_status[d];
			int now = old < 0 ? 0x2f : old == 0x2f ? 0x2e : (rnd(&s) % 3 ? 0x2f : 0x00);
			char code[16];
			dtc_format(DTCS[d], code, sizeof(code));
			o = head(u, "dtc", t, session, i + 1);
			json_object_set_new(o, "ecu", json_string("bcm"));
			json_object_set_new(o, "dtc", json_integer(DTCS[d]));
			json_object_set_new(o, "code", json_string(code));
			json_object_set_new(o, "status", json_integer(now));
			json_object_set_new(o, "old_status", old < 0 ? json_null() : json_integer(old));
			dtc_status[d] = now;
			dtcs++;
			add(u, o, FLEET_KIND_DTC);
		} else {
			/* Causes skewed per unit, so the fleet has a most frequent one. */
			unsigned c = (rnd(&s) % 3 == 0) ? rnd(&s) % 8 : (index % 3);
			bool holds = rnd(&s) % 4 != 0;
			o = head(u, "finding", t, session, i + 1);
			json_object_set_new(o, "cause", json_string(CAUSES[c]));
			json_object_set_new(o, "confidence", json_real(holds ? 0.9 : 0.45));
			json_object_set_new(o, "state", json_string(holds ? "holds" : "possible"));
			json_object_set_new(o, "advice", json_string("Check the trunk release chain"));
			json_object_set_new(o, "evidence",
					    json_pack("[{s:s,s:f}]", "kind", "signal", "t", 1.5));
			if (make_bad) {
				/* out of the schema: comes back as rejected, never stored */
				json_object_set_new(o, "confidence", json_real(1.5));
				u->recs[u->n].bad = true;
			} else if (holds && !top) {
				top = CAUSES[c];
			}
			findings++;
			add(u, o, FLEET_KIND_FINDING);
		}
	}
}

static void status_payload(struct unit *u, const char *state, const char *reason, int64_t t,
			   char **ret)
{
	char ts[32];

	fleet_format_time(t, ts, sizeof(ts));
	json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:s}", "v", 1, "kind",
			      "status", "unit", u->name, "state", state, "reason", reason, "conn",
			      (json_int_t)u->conn_us, "vin", u->vin, "time", ts, "t_us",
			      (json_int_t)t, "software", "bodydiag sim-units");
	*ret = json_dumps(o, JSON_COMPACT);
	json_decref(o);
}

static void on_connect(struct mosquitto *m, void *userdata, int rc, int flags,
		       const mosquitto_property *props)
{
	struct unit *u = userdata;
	char topic[160], *payload;

	if (rc)
		return;
	u->connected = true;
	fleet_topic_format(opt.prefix, u->name, NULL, FLEET_KIND_RECEIPT, topic, sizeof(topic));
	mosquitto_subscribe(m, NULL, topic, 1);
	fleet_topic_format(opt.prefix, u->name, NULL, FLEET_KIND_STATUS, topic, sizeof(topic));
	status_payload(u, "online", "connect", u->conn_us, &payload);
	mosquitto_publish(m, NULL, topic, (int)strlen(payload), payload, 1, true);
	free(payload);
}

static void on_disconnect(struct mosquitto *m, void *userdata, int rc,
			  const mosquitto_property *props)
{
	struct unit *u = userdata;

	u->connected = false;
	if (!u->stop_acked)
		u->stop_mid = 0;
}

static void mark_done(struct unit *u, int64_t seq, bool rejected)
{
	struct rec *r;

	if (seq < 1 || (size_t)seq > u->n)
		return;
	r = &u->recs[seq - 1];
	if (r->state == REC_STATE_DONE) {
		opt.dup_receipts++;
		return;
	}
	if (r->state == REC_STATE_SENT)
		u->inflight--;
	r->state = REC_STATE_DONE;
	r->done_us = now_us(CLOCK_MONOTONIC);
	u->done++;
	opt.receipts++;
	if (rejected)
		opt.rejected++;
	if (rejected != r->bad)
		fprintf(stderr, "sim-units: %s seq %" PRId64 " %s\n", u->name, seq,
			rejected ? "rejected but valid" : "committed but invalid");
}

static void on_message(struct mosquitto *m, void *userdata, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct unit *u = userdata;
	struct fleet_record rec;
	char err[FLEET_MAX_ERROR];
	size_t i;
	json_t *e;

	if (fleet_record_parse(msg->payload, (size_t)msg->payloadlen, &rec, err, sizeof(err)) < 0 ||
	    rec.kind != FLEET_KIND_RECEIPT) {
		fprintf(stderr, "sim-units: %s: bad receipt: %s\n", u->name, err);
		if (rec.kind == FLEET_KIND_RECEIPT)
			fleet_record_finish(&rec);
		return;
	}
	if (rec.epoch == u->epoch && strcmp(rec.unit, u->name) == 0) {
		json_array_foreach(json_object_get(rec.root, "committed"), i, e) {
			int64_t lo = json_integer_value(json_array_get(e, 0));
			int64_t hi = json_integer_value(json_array_get(e, 1));
			for (int64_t s = lo; s <= hi && s <= (int64_t)u->n; s++)
				mark_done(u, s, false);
		}
		json_array_foreach(json_object_get(rec.root, "rejected"), i, e)
			mark_done(u, json_integer_value(json_object_get(e, "seq")), true);
	}
	fleet_record_finish(&rec);
}

/* --puback-only: the broker alone, no ingest (the benchmark's reference); and the clean
 * stop's "offline"/"stop", which must reach the broker before the DISCONNECT. */
static void on_publish(struct mosquitto *m, void *userdata, int mid, int reason,
		       const mosquitto_property *props)
{
	struct unit *u = userdata;

	if (u->stop_mid && mid == u->stop_mid) {
		u->stop_acked = true;
		return;
	}
	if (!opt.puback_only)
		return;
	for (size_t i = 0; i < u->next; i++)
		if (u->recs[i].state == REC_STATE_SENT && u->recs[i].mid == mid) {
			mark_done(u, (int64_t)i + 1, u->recs[i].bad);
			return;
		}
}

static int connect_unit(struct unit *u)
{
	mosquitto_property *props = NULL;
	char topic[160], *will;
	int rc;

	u->conn_us = now_us(CLOCK_REALTIME);
	fleet_topic_format(opt.prefix, u->name, NULL, FLEET_KIND_STATUS, topic, sizeof(topic));
	status_payload(u, "offline", "will", u->conn_us, &will);
	rc = mosquitto_will_set(u->mosq, topic, (int)strlen(will), will, 1, true);
	free(will);
	if (rc)
		return rc;
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
	rc = mosquitto_connect_bind_v5(u->mosq, opt.host, opt.port, 10, NULL, props);
	mosquitto_property_free_all(&props);
	return rc;
}

/* Publishes what is due: unsent records within the window and rate, resends after timeout. */
static void pump(struct unit *u, int64_t now, int64_t started)
{
	int64_t resend = (int64_t)(opt.resend_s * 1e6);

	if (!u->connected)
		return;
	for (size_t i = 0; i < u->next; i++) {
		struct rec *r = &u->recs[i];
		if (r->state != REC_STATE_SENT || now - r->sent_us < resend)
			continue;
		if (mosquitto_publish(u->mosq, &r->mid, r->topic, (int)strlen(r->payload),
				      r->payload, 1, false) == MOSQ_ERR_SUCCESS) {
			r->sent_us = now;
			opt.resent++;
		}
	}
	while (u->next < u->n && u->inflight < opt.window) {
		if (opt.rate > 0 && (double)(now - started) / 1e6 * opt.rate < (double)u->next)
			break;
		struct rec *r = &u->recs[u->next];
		if (mosquitto_publish(u->mosq, &r->mid, r->topic, (int)strlen(r->payload),
				      r->payload, 1, false) != MOSQ_ERR_SUCCESS)
			break;
		r->state = REC_STATE_SENT;
		r->first_us = r->sent_us = now;
		u->next++;
		u->inflight++;
		opt.sent++;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void on_signal(int sig)
{
	interrupted = 1;
}

/* One round of socket work for every unit after poll(); reconnects the ones that lost
 * their connection, 300 ms apart. */
static void io_all(struct unit *all, const struct pollfd *p)
{
	int64_t now = now_us(CLOCK_MONOTONIC);

	for (unsigned i = 0; i < opt.units; i++) {
		struct unit *u = &all[i];
		int rc = MOSQ_ERR_SUCCESS;
		if (p[i].fd >= 0) {
			if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
				rc = mosquitto_loop_read(u->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(u->mosq))
				rc = mosquitto_loop_write(u->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS)
				rc = mosquitto_loop_misc(u->mosq);
		}
		if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(u->mosq) < 0) {
			u->connected = false;
			u->stop_mid = 0; /* a stop lost with the connection is sent again */
			if (!u->retry_at)
				u->retry_at = now + 300000;
		}
		if (u->retry_at && now >= u->retry_at) {
			u->retry_at = 0;
			if (connect_unit(u) != MOSQ_ERR_SUCCESS)
				u->retry_at = now + 300000;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'},    {"port", required_argument, NULL, 'p'},
		{"prefix", required_argument, NULL, 'P'},  {"units", required_argument, NULL, 'u'},
		{"records", required_argument, NULL, 'r'}, {"rate", required_argument, NULL, 'R'},
		{"window", required_argument, NULL, 'w'},  {"resend", required_argument, NULL, 's'},
		{"deadline", required_argument, NULL, 'd'}, {"seed", required_argument, NULL, 'S'},
		{"expected", required_argument, NULL, 'e'}, {"bad-units", required_argument, NULL, 'b'},
		{"days", required_argument, NULL, 'D'},    {"puback-only", no_argument, NULL, 'A'},
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'P': opt.prefix = optarg; break;
		case 'u': opt.units = (unsigned)atoi(optarg); break;
		case 'r': opt.records = (unsigned)atoi(optarg); break;
		case 'R': opt.rate = atof(optarg); break;
		case 'w': opt.window = (unsigned)atoi(optarg); break;
		case 's': opt.resend_s = atof(optarg); break;
		case 'd': opt.deadline_s = atof(optarg); break;
		case 'S': opt.seed = (unsigned)atoi(optarg); break;
		case 'b': opt.bad_units = (unsigned)atoi(optarg); break;
		case 'D': opt.days = atof(optarg); break;
		case 'A': opt.puback_only = true; break;
		case 'e':
			opt.expected = fopen(optarg, "we");
			if (!opt.expected) {
				perror(optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: sim-units [--host H] [--port P] [--units N] "
					"[--records M] [--rate R/s/unit] [--window W] [--resend S] "
					"[--deadline S] [--seed N] [--bad-units K] [--days D] "
					"[--expected FILE] [--puback-only]\n");
			return 2;
		}
	}
	if (!opt.units || opt.units > MAX_UNITS || !opt.records || !opt.window)
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mosquitto_lib_init();
	units = calloc(opt.units, sizeof(*units));
	int64_t epoch0 = now_us(CLOCK_REALTIME);
	for (unsigned i = 0; i < opt.units; i++) {
		struct unit *u = &units[i];
		snprintf(u->name, sizeof(u->name), "van-%03u", i + 1);
		make_vin(i, u->vin);
		u->epoch = epoch0 + i;
		generate(u, i);
		char id[64];
		snprintf(id, sizeof(id), "sim-%s", u->name);
		u->mosq = mosquitto_new(id, false, u);
		mosquitto_int_option(u->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
		mosquitto_max_inflight_messages_set(u->mosq, opt.window);
		mosquitto_connect_v5_callback_set(u->mosq, on_connect);
		mosquitto_disconnect_v5_callback_set(u->mosq, on_disconnect);
		mosquitto_message_v5_callback_set(u->mosq, on_message);
		mosquitto_publish_v5_callback_set(u->mosq, on_publish);
		if (connect_unit(u) != MOSQ_ERR_SUCCESS)
			u->retry_at = now_us(CLOCK_MONOTONIC) + 500000;
	}
	if (opt.expected)
		fclose(opt.expected);

	int64_t started = now_us(CLOCK_MONOTONIC), deadline = started + (int64_t)(opt.deadline_s * 1e6);
	struct pollfd *p = calloc(opt.units, sizeof(*p));
	size_t total = 0, done = 0;
	for (unsigned i = 0; i < opt.units; i++)
		total += units[i].n;
	while (!interrupted) {
		int64_t now = now_us(CLOCK_MONOTONIC);
		done = 0;
		for (unsigned i = 0; i < opt.units; i++) {
			struct unit *u = &units[i];
			done += u->done;
			pump(u, now, started);
			p[i].fd = mosquitto_socket(u->mosq);
			p[i].events = POLLIN | (mosquitto_want_write(u->mosq) ? POLLOUT : 0);
			p[i].revents = 0;
		}
		if (done == total || now > deadline)
			break;
		poll(p, opt.units, 20);
		io_all(units, p);
	}
	double elapsed = (double)(now_us(CLOCK_MONOTONIC) - started) / 1e6;

	/* Latency: first publish to receipt, every receipted record. */
	int64_t *lat = calloc(total ? total : 1, sizeof(*lat));
	size_t nl = 0;
	for (unsigned i = 0; i < opt.units; i++)
		for (size_t k = 0; k < units[i].n; k++)
			if (units[i].recs[k].state == REC_STATE_DONE)
				lat[nl++] = units[i].recs[k].done_us - units[i].recs[k].first_us;
	qsort(lat, nl, sizeof(*lat), cmp_i64);
#define PCT(q) (nl ? (double)lat[(size_t)((double)(nl - 1) * (q))] / 1000.0 : NAN)
	printf("sim-units: units=%u records=%zu receipted=%zu rejected=%" PRIu64 " sent=%" PRIu64
	       " resent=%" PRIu64 " dup_receipts=%" PRIu64 " elapsed_s=%.2f rate=%.0f/s"
	       " latency_ms p50=%.1f p90=%.1f p99=%.1f max=%.1f\n",
	       opt.units, total, done, opt.rejected, opt.sent, opt.resent, opt.dup_receipts, elapsed,
	       (double)done / elapsed, PCT(0.5), PCT(0.9), PCT(0.99), PCT(1.0));
	if (done != total)
		for (unsigned i = 0; i < opt.units; i++)
			if (units[i].done != units[i].n)
				fprintf(stderr, "sim-units: %s: %zu of %zu receipted\n", units[i].name,
					units[i].done, units[i].n);

	/* A clean stop, as a forwarder stopping does it: every unit connected (one still
	 * reconnecting after the broker's restart waits for it), "offline"/"stop" published
	 * and its PUBACK received, then DISCONNECT (which suppresses the will). A unit that
	 * left without the goodbye would show as offline by its will. */
	int64_t stop_deadline = now_us(CLOCK_MONOTONIC) + 15000000;
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < opt.units; i++) {
			struct unit *u = &units[i];
			char topic[160], *payload;
			if (u->connected && !u->stop_mid) {
				fleet_topic_format(opt.prefix, u->name, NULL, FLEET_KIND_STATUS, topic,
						   sizeof(topic));
				status_payload(u, "offline", "stop", now_us(CLOCK_REALTIME), &payload);
				if (mosquitto_publish(u->mosq, &u->stop_mid, topic, (int)strlen(payload),
						      payload, 1, true) != MOSQ_ERR_SUCCESS)
					u->stop_mid = 0;
				free(payload);
			}
			all = all && u->stop_acked;
			p[i].fd = mosquitto_socket(u->mosq);
			p[i].events = POLLIN | (mosquitto_want_write(u->mosq) ? POLLOUT : 0);
			p[i].revents = 0;
		}
		if (all || interrupted || now_us(CLOCK_MONOTONIC) > stop_deadline)
			break;
		poll(p, opt.units, 20);
		io_all(units, p);
	}
	for (unsigned i = 0; i < opt.units; i++) {
		struct unit *u = &units[i];
		if (!u->stop_acked)
			fprintf(stderr, "sim-units: %s: no PUBACK for its offline/stop\n", u->name);
		if (u->connected) {
			mosquitto_disconnect(u->mosq);
			for (int k = 0; k < 50 && mosquitto_want_write(u->mosq); k++)
				mosquitto_loop_write(u->mosq, 1);
		}
		mosquitto_destroy(u->mosq);
		for (size_t k = 0; k < u->n; k++)
			free(u->recs[k].payload);
		free(u->recs);
	}
	free(units);
	free(p);
	free(lat);
	mosquitto_lib_cleanup();
	return done == total ? 0 : 1;
}
