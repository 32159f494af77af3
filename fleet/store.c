/* SPDX-License-Identifier: MIT */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KNOWN_MONTHS 64

struct store {
	PGconn *conn;
	char *name;
	/* Months (year * 12 + month - 1) whose partition is known to exist. */
	int known[KNOWN_MONTHS];
	size_t n_known;
};

void ingest_msg_free(struct ingest_msg *m)
{
	if (!m)
		return;
	if (m->valid)
		fleet_record_finish(&m->rec);
	free(m->topic);
	free(m->payload);
	free(m);
}

static void seterr(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!err || !size)
		return;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	/* libpq messages end in a newline; a log line should not. */
	size_t n = strlen(err);
	while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

static void notice_quiet(void *arg, const char *message)
{
	/* "relation already exists, skipping" and the like: nothing an operator needs. */
}

int store_connect(const char *conninfo, const char *ingest_name, struct store **ret, char *err,
		  size_t err_size)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->name = strdup(ingest_name);
	s->conn = PQconnectdb(conninfo);
	if (!s->name || !s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		seterr(err, err_size, "%s", s->conn ? PQerrorMessage(s->conn) : "out of memory");
		store_free(s);
		return -ECONNREFUSED;
	}
	PQsetNoticeProcessor(s->conn, notice_quiet, NULL);
	*ret = s;
	return 0;
}

struct store *store_free(struct store *s)
{
	if (!s)
		return NULL;
	PQfinish(s->conn);
	free(s->name);
	free(s);
	return NULL;
}

bool store_ok(const struct store *s)
{
	return s && PQstatus(s->conn) == CONNECTION_OK;
}

/* Maps a failed result to the contract of store_write. */
static int classify(struct store *s, PGresult *res, char *err, size_t err_size)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	seterr(err, err_size, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
	if (PQstatus(s->conn) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0)
		return -ECONNRESET;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strncmp(state, "53", 2) == 0 || strcmp(state, "55P03") == 0)
		return -EAGAIN;
	return -EINVAL;
}

/* Runs SQL with text parameters; 0 or a classified error. */
static int run(struct store *s, const char *sql, int n, const char *const *params, char *err,
	       size_t err_size)
{
	PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	int r = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		r = classify(s, res, err, err_size);
	PQclear(res);
	return r;
}

int store_migrate(struct store *s, char *err, size_t err_size)
{
	PGresult *res;
	int have = 0, r;

	/* A session lock: a second instance waits here until the first has migrated. */
	r = run(s, "SELECT pg_advisory_lock(hashtext('bodydiag.migrate'))", 0, NULL, err, err_size);
	if (r < 0)
		return r;
	r = run(s,
		"CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
		"name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		0, NULL, err, err_size);
	if (r < 0)
		goto unlock;
	res = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = classify(s, res, err, err_size);
		PQclear(res);
		goto unlock;
	}
	have = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (have > (int)STORE_MIGRATIONS_COUNT) {
		seterr(err, err_size, "database schema version %d is newer than this build's %zu",
		       have, STORE_MIGRATIONS_COUNT);
		r = -EPROTO;
		goto unlock;
	}
	for (size_t i = (size_t)have; i < STORE_MIGRATIONS_COUNT; i++) {
		char version[16];
		const char *p[2] = {version, STORE_MIGRATIONS[i].name};

		snprintf(version, sizeof(version), "%d", STORE_MIGRATIONS[i].version);
		r = run(s, "BEGIN", 0, NULL, err, err_size);
		if (r >= 0) {
			res = PQexec(s->conn, STORE_MIGRATIONS[i].sql);
			if (PQresultStatus(res) != PGRES_COMMAND_OK &&
			    PQresultStatus(res) != PGRES_TUPLES_OK)
				r = classify(s, res, err, err_size);
			PQclear(res);
		}
		if (r >= 0)
			r = run(s, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
				p, err, err_size);
		if (r >= 0)
			r = run(s, "COMMIT", 0, NULL, err, err_size);
		if (r < 0) {
			char why[200];
			snprintf(why, sizeof(why), "%s", err ? err : "");
			seterr(err, err_size, "migration %s: %s", STORE_MIGRATIONS[i].name, why);
			PQclear(PQexec(s->conn, "ROLLBACK"));
			goto unlock;
		}
	}
	r = (int)STORE_MIGRATIONS_COUNT;
unlock:
	PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(hashtext('bodydiag.migrate'))"));
	return r;
}

/* --- batches --- */

static int month_of(int64_t t_us)
{
	time_t t = (time_t)(t_us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static int ensure_partition(struct store *s, int64_t t_us, char *err, size_t err_size)
{
	int month = month_of(t_us);
	char buf[32];
	const char *p[1] = {buf};
	int r;

	for (size_t i = 0; i < s->n_known; i++)
		if (s->known[i] == month)
			return 0;
	snprintf(buf, sizeof(buf), "%" PRId64, t_us);
	r = run(s, "SELECT fleet_ensure_partition(timestamptz 'epoch' + $1::bigint * interval '1 microsecond')",
		1, p, err, err_size);
	if (r < 0)
		return r;
	if (s->n_known == KNOWN_MONTHS)
		s->n_known = 0; /* forget; asking again is cheap */
	s->known[s->n_known++] = month;
	return 0;
}

static json_t *int_or_null(bool have, int64_t v)
{
	return have ? json_integer(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A record as the columns of jsonb_to_recordset below (exact integers, nulls as null). */
static json_t *record_json(const struct fleet_record *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "unit", json_string(r->unit));
	json_object_set_new(o, "epoch", json_integer(r->epoch));
	json_object_set_new(o, "seq", json_integer(r->seq));
	json_object_set_new(o, "t_us", json_integer(r->t_us));
	json_object_set_new(o, "kind", json_string(fleet_kind_name(r->kind)));
	json_object_set_new(o, "vin", str_or_null(r->vin));
	json_object_set_new(o, "session", int_or_null(r->session > 0, r->session));
	json_object_set_new(o, "id", json_integer(r->id));
	switch (r->kind) {
	case FLEET_KIND_FINDING:
		json_object_set_new(o, "cause", json_string(r->cause));
		json_object_set_new(o, "confidence",
				    isnan(r->confidence) ? json_null() : json_real(r->confidence));
		json_object_set_new(o, "state", str_or_null(r->state));
		json_object_set_new(o, "advice", str_or_null(r->advice));
		json_object_set(o, "evidence", r->evidence ? r->evidence : json_null());
		break;
	case FLEET_KIND_DTC:
		json_object_set_new(o, "ecu", json_string(r->ecu));
		json_object_set_new(o, "dtc", json_integer(r->dtc));
		json_object_set_new(o, "code", json_string(r->code));
		json_object_set_new(o, "status", json_integer(r->status));
		json_object_set_new(o, "old_status", int_or_null(r->old_status >= 0, r->old_status));
		break;
	case FLEET_KIND_BUS:
		json_object_set_new(o, "interface", json_string(r->interface));
		json_object_set_new(o, "event", json_string(r->event));
		json_object_set_new(o, "detail", str_or_null(r->detail));
		break;
	case FLEET_KIND_SESSION:
		json_object_set_new(o, "start_us", json_integer(r->start_us));
		json_object_set_new(o, "label", str_or_null(r->label));
		json_object_set_new(o, "verdict", str_or_null(r->verdict));
		json_object_set_new(o, "top_cause", str_or_null(r->top_cause));
		json_object_set_new(o, "findings", json_integer(r->findings));
		json_object_set_new(o, "dtcs", json_integer(r->dtcs));
		break;
	case FLEET_KIND_STATUS:
	case FLEET_KIND_RECEIPT:
	case FLEET_KIND_MAX:
		break;
	}
	return o;
}

#define TS(x) "CASE WHEN " x " IS NULL THEN NULL ELSE timestamptz 'epoch' + " x " * interval '1 microsecond' END"

static const char INSERT_RECORDS[] =
	"INSERT INTO records (unit, epoch, seq, t, t_us, kind, vin, session, unit_record_id, cause,"
	" confidence, state, advice, evidence, ecu, dtc, code, status, old_status, interface, event,"
	" detail, start_t, label, verdict, top_cause, findings, dtcs, ingest) "
	"SELECT unit, epoch, seq, " TS("t_us") ", t_us, kind, vin, session, id, cause, confidence,"
	" state, advice, evidence, ecu, dtc, code, status, old_status, interface, event, detail, "
	TS("start_us") ", label, verdict, top_cause, findings, dtcs, $2 "
	"FROM jsonb_to_recordset($1::jsonb) AS x(unit text, epoch bigint, seq bigint, t_us bigint,"
	" kind text, vin text, session bigint, id bigint, cause text, confidence float8, state text,"
	" advice text, evidence jsonb, ecu text, dtc integer, code text, status smallint,"
	" old_status smallint, interface text, event text, detail text, start_us bigint, label text,"
	" verdict text, top_cause text, findings integer, dtcs integer) "
	"ON CONFLICT DO NOTHING";

static const char INSERT_STATUS[] =
	"INSERT INTO status_events (unit, conn, state, reason, t, vin, software, ingest) "
	"SELECT unit, conn, state, reason, " TS("t_us") ", vin, software, $2 "
	"FROM jsonb_to_recordset($1::jsonb) AS x(unit text, conn bigint, state text, reason text,"
	" t_us bigint, vin text, software text) "
	"ON CONFLICT DO NOTHING";

static const char INSERT_REJECTS[] =
	"INSERT INTO rejects (topic, unit, epoch, seq, reason, payload, ingest) "
	"SELECT topic, unit, epoch, seq, reason, decode(payload, 'hex'), $2 "
	"FROM jsonb_to_recordset($1::jsonb) AS x(topic text, unit text, epoch bigint, seq bigint,"
	" reason text, payload text)";

/* Sorted by unit, so two instances lock unit rows in the same order. The unit's state is
 * that of its newest connection (conn); within one connection "offline" wins over
 * "online", and a clean "stop" over the will: a unit that said goodbye and whose socket
 * then closed before the broker read its DISCONNECT has both, in either order. */
static const char UPSERT_UNITS[] =
	"INSERT INTO units AS u (unit, vin, epoch, last_seq, first_seen, last_seen, last_record,"
	" state, state_reason, state_time, conn, software) "
	"SELECT unit, vin, epoch, last_seq, now(), now(), " TS("t_us") ", state, reason, "
	TS("state_us") ", conn, software "
	"FROM jsonb_to_recordset($1::jsonb) AS x(unit text, vin text, epoch bigint, last_seq bigint,"
	" t_us bigint, state text, reason text, state_us bigint, conn bigint, software text) "
	"ORDER BY unit "
	"ON CONFLICT (unit) DO UPDATE SET last_seen = now(),"
	" vin = CASE WHEN excluded.last_record >= coalesce(u.last_record, '-infinity')"
	"  THEN coalesce(excluded.vin, u.vin) ELSE coalesce(u.vin, excluded.vin) END,"
	" last_record = greatest(u.last_record, excluded.last_record),"
	" epoch = CASE WHEN excluded.epoch IS NOT NULL AND (excluded.epoch, excluded.last_seq) >"
	"  (coalesce(u.epoch, 0), coalesce(u.last_seq, 0)) THEN excluded.epoch ELSE u.epoch END,"
	" last_seq = CASE WHEN excluded.epoch IS NOT NULL AND (excluded.epoch, excluded.last_seq) >"
	"  (coalesce(u.epoch, 0), coalesce(u.last_seq, 0)) THEN excluded.last_seq ELSE u.last_seq END,"
	" (state, state_reason, state_time, conn, software) = (SELECT * FROM (VALUES"
	"  (excluded.state, excluded.state_reason, excluded.state_time, excluded.conn, excluded.software),"
	"  (u.state, u.state_reason, u.state_time, u.conn, u.software)) AS c(a, b, t, n, sw)"
	"  ORDER BY n DESC NULLS LAST, a = 'offline' DESC NULLS LAST, b = 'stop' DESC NULLS LAST"
	"  LIMIT 1)";

/* Per-unit summary of a batch for UPSERT_UNITS. */
static void unit_merge(json_t *units, const struct ingest_msg *m)
{
	const struct fleet_record *r = &m->rec;
	const char *name = m->valid ? r->unit : m->unit;
	json_t *u = json_object_get(units, name);

	if (!u) {
		u = json_pack("{s:s,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "unit", name, "vin",
			      "epoch", "last_seq", "t_us", "state", "reason", "state_us", "conn",
			      "software");
		json_object_set_new(units, name, u);
	}
	if (!m->valid)
		return;
	if (fleet_kind_is_record(r->kind)) {
		json_t *t = json_object_get(u, "t_us");
		if (json_is_null(t) || json_integer_value(t) <= r->t_us) {
			json_object_set_new(u, "t_us", json_integer(r->t_us));
			json_object_set_new(u, "vin", str_or_null(r->vin));
		}
		json_t *e = json_object_get(u, "epoch");
		if (json_is_null(e) || json_integer_value(e) < r->epoch ||
		    (json_integer_value(e) == r->epoch &&
		     json_integer_value(json_object_get(u, "last_seq")) < r->seq)) {
			json_object_set_new(u, "epoch", json_integer(r->epoch));
			json_object_set_new(u, "last_seq", json_integer(r->seq));
		}
	} else if (r->kind == FLEET_KIND_STATUS) {
		json_t *c = json_object_get(u, "conn");
		bool offline = strcmp(r->state, "offline") == 0;
		if (json_is_null(c) || json_integer_value(c) < r->conn ||
		    (json_integer_value(c) == r->conn && offline)) {
			json_object_set_new(u, "conn", json_integer(r->conn));
			json_object_set_new(u, "state", json_string(r->state));
			json_object_set_new(u, "reason", json_string(r->reason));
			json_object_set_new(u, "state_us", json_integer(r->t_us));
			json_object_set_new(u, "software", json_string(r->software));
		}
	}
}

static json_t *reject_json(const struct ingest_msg *m)
{
	static const char hex[] = "0123456789abcdef";
	char *h = malloc(m->len * 2 + 1);
	json_t *o;

	if (!h)
		return NULL;
	for (size_t i = 0; i < m->len; i++) {
		h[2 * i] = hex[((const unsigned char *)m->payload)[i] >> 4];
		h[2 * i + 1] = hex[((const unsigned char *)m->payload)[i] & 15];
	}
	h[m->len * 2] = '\0';
	o = json_pack("{s:s,s:s,s:s}", "topic", m->topic, "reason", m->reason, "payload", h);
	free(h);
	if (o && m->have_ident) {
		json_object_set_new(o, "unit", json_string(m->unit));
		json_object_set_new(o, "epoch", json_integer(m->epoch));
		json_object_set_new(o, "seq", json_integer(m->seq));
	}
	return o;
}

/* Runs sql with $1 = the array as JSON text and, when with_name, $2 = the ingest's name. */
static int run_json(struct store *s, const char *sql, json_t *arr, bool with_name, char *err,
		    size_t err_size)
{
	char *text;
	int r;

	if (json_array_size(arr) == 0)
		return 0;
	text = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (!text)
		return -ENOMEM;
	const char *p[2] = {text, s->name};
	r = run(s, sql, with_name ? 2 : 1, p, err, err_size);
	free(text);
	return r;
}

int store_write(struct store *s, struct ingest_msg *const *msgs, size_t n, char *err,
		size_t err_size)
{
	json_t *records = json_array(), *status = json_array(), *rejects = json_array();
	json_t *units = json_object(), *unit_rows = json_array(), *v;
	const char *key;
	int r = 0;

	if (!records || !status || !rejects || !units || !unit_rows) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct ingest_msg *m = msgs[i];
		if (!m->valid) {
			v = reject_json(m);
			if (!v) {
				r = -ENOMEM;
				break;
			}
			json_array_append_new(rejects, v);
			if (m->have_ident)
				unit_merge(units, m);
			continue;
		}
		unit_merge(units, m);
		if (fleet_kind_is_record(m->rec.kind)) {
			r = ensure_partition(s, m->rec.t_us, err, err_size);
			json_array_append_new(records, record_json(&m->rec));
		} else {
			const struct fleet_record *rec = &m->rec;
			json_array_append_new(status,
					      json_pack("{s:s,s:I,s:s,s:s,s:I,s:o,s:s}", "unit",
							rec->unit, "conn", (json_int_t)rec->conn,
							"state", rec->state, "reason", rec->reason,
							"t_us", (json_int_t)rec->t_us, "vin",
							str_or_null(rec->vin), "software", rec->software));
		}
	}
	if (r < 0)
		goto out;
	json_object_foreach(units, key, v)
		json_array_append(unit_rows, v);

	r = run(s, "BEGIN", 0, NULL, err, err_size);
	if (r >= 0)
		r = run_json(s, INSERT_RECORDS, records, true, err, err_size);
	if (r >= 0)
		r = run_json(s, INSERT_STATUS, status, true, err, err_size);
	if (r >= 0)
		r = run_json(s, INSERT_REJECTS, rejects, true, err, err_size);
	if (r >= 0)
		r = run_json(s, UPSERT_UNITS, unit_rows, false, err, err_size);
	if (r >= 0)
		r = run(s, "COMMIT", 0, NULL, err, err_size);
	if (r < 0 && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
out:
	json_decref(records);
	json_decref(status);
	json_decref(rejects);
	json_decref(units);
	json_decref(unit_rows);
	return r;
}
