/* SPDX-License-Identifier: MIT */
/*
 * daemon/history: schema and migrations, recording and DTC transitions, filtered
 * queries, JSON lines / CSV export, retention and size pruning in steps, read-only
 * access beside a writer, the API method, the outbox for bodydiag-forward (records,
 * bus events and session summaries queued in their own transaction, epoch, bound,
 * removal, the migration of the old forward queue), and crash safety: a child writing findings is
 * SIGKILLed mid-stream and every record it reported as committed must be there, with
 * PRAGMA integrity_check clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bodydiag/dtc.h>

#include "daemon/history.h"
#include "daemon/history_api.h"
#include "daemon/history_outbox.h"
#include "daemon/history_private.h"
#include "daemon/history_retention.h"
#include "daemon/macro.h"
#include "api-client.h"

#define T0 1767225600000000ll /* 2026-01-01T00:00:00Z */
#define HOUR 3600000000ll

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/bodydiag-history-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/history.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct history *open_rw(const char *path, const struct history_options *o)
{
	struct history *h = NULL;
	char err[256] = "";
	int r = history_open(path, o, &h, err, sizeof(err));

	if (r < 0)
		fail_msg("history_open(%s): %s (%s)", path, strerror(-r), err);
	return h;
}

static int count_cb(const struct history_row *row, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static int count(struct history *h, const struct history_filter *flt)
{
	int n = 0;
	int r = history_query(h, flt, count_cb, &n);

	assert_int_equal(r, n);
	return n;
}

static void schema(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	char msg[128];
	sqlite3 *db;

	assert_int_equal(history_schema_version(h), HISTORY_SCHEMA_VERSION);
	assert_int_equal(history_check(h, msg, sizeof(msg)), 0);
	history_free(h);

	/* WAL mode is a property of the file: a plain connection sees it. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* A newer schema than this build knows is refused, not "migrated" downwards. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	char err[256] = "";
	struct history *h2 = NULL;
	assert_int_equal(history_open(f->path, NULL, &h2, err, sizeof(err)), -EPROTO);
	assert_null(h2);
	assert_non_null(strstr(err, "newer"));
	err[0] = '\0';
	assert_int_equal(history_open(f->path, &(struct history_options){.read_only = true}, &h2,
				      err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "known version"));
}

static void not_a_database(void **state)
{
	struct fx *f = *state;
	struct history *h = NULL;
	char err[256] = "";
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, just text\n", fp);
	fclose(fp);
	assert_int_equal(history_open(f->path, NULL, &h, err, sizeof(err)), -EPROTO);
	assert_true(err[0]);
	/* Missing file, read-only: no silent creation. */
	assert_int_equal(history_open("/nonexistent/dir/h.db",
				      &(struct history_options){.read_only = true}, &h, err,
				      sizeof(err)),
			 -ENOENT);
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

struct outbox_rows {
	int64_t seq[8];
	char kind[8][16], vin[8][24];
	json_t *body[8];
	int n;
};

static int outbox_cb(const struct history_outbox_item *it, void *userdata)
{
	struct outbox_rows *q = userdata;

	if (q->n < 8) {
		q->seq[q->n] = it->seq;
		snprintf(q->kind[q->n], sizeof(q->kind[0]), "%s", it->kind);
		snprintf(q->vin[q->n], sizeof(q->vin[0]), "%s", it->vin ? it->vin : "");
		q->body[q->n] = json_loadb(it->body, it->len, 0, NULL);
		assert_non_null(q->body[q->n]);
	}
	q->n++;
	return 0;
}

static void outbox_rows_free(struct outbox_rows *q)
{
	for (int i = 0; i < q->n && i < 8; i++)
		json_decref(q->body[i]);
	memset(q, 0, sizeof(*q));
}

static json_int_t body_int(const struct outbox_rows *q, int i, const char *key)
{
	json_t *v = json_object_get(q->body[i], key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void migration(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.schema_version = 1});
	struct outbox_rows q = {0};
	int64_t s, fid, epoch;

	assert_int_equal(history_schema_version(h), 1);
	assert_int_equal(history_session_begin(h, T0, "WVWZZZ1KZ6W000001", "old", &s), 0);
	assert_int_equal(history_record_dtc(h, s, T0 + 1, "bcm", 0x9a4013, 0x2f, NULL), 0);
	history_free(h);
	/* Version 3: what the forwarder inside the daemon left queued, in its format. */
	h = open_rw(f->path, &(struct history_options){.schema_version = 3});
	assert_int_equal(history_record_finding(h, s, T0 + 2, "fuse_blown", 0.9, "holds", "F23",
						"[{\"t\":1}]", &fid),
			 0);
	history_free(h);
	exec_sql(f->path,
		 "INSERT INTO forward_queue (t_us, topic, payload) VALUES "
		 "(1, 'bodydiag/WVWZZZ1KZ6W000001/dtc', '{\"kind\":\"transition\",\"id\":1}'),"
		 "(2, 'bodydiag/x/status', 'online'),"
		 "(3, 'bodydiag/WVWZZZ1KZ6W000001/findings', '{\"kind\":\"finding\",\"id\":1}')");

	h = open_rw(f->path, NULL);
	assert_int_equal(history_schema_version(h), HISTORY_SCHEMA_VERSION);
	assert_int_equal(count(h, &(struct history_filter){.vin = "WVWZZZ1KZ6W000001"}), 4);
	/* The queued records became outbox rows of the same records, in the same order; the
	 * bare status string was never a record. */
	assert_int_equal(history_outbox_peek(h, 0, 10, outbox_cb, &q), 2);
	assert_string_equal(q.kind[0], "dtc");
	assert_string_equal(q.kind[1], "finding");
	assert_string_equal(q.vin[0], "WVWZZZ1KZ6W000001");
	assert_true(q.seq[0] < q.seq[1]);
	assert_int_equal(body_int(&q, 0, "dtc"), 0x9a4013);
	assert_int_equal(body_int(&q, 0, "status"), 0x2f);
	assert_true(json_is_null(json_object_get(q.body[0], "old_status")));
	assert_int_equal(body_int(&q, 1, "id"), fid);
	assert_int_equal(body_int(&q, 1, "session"), s);
	assert_true(json_is_array(json_object_get(q.body[1], "evidence")));
	assert_string_equal(json_string_value(json_object_get(q.body[1], "advice")), "F23");
	outbox_rows_free(&q);
	assert_int_equal(history_outbox_epoch(h, &epoch), 0);
	assert_true(epoch > T0);
	history_free(h);
	/* The old queue is gone. */
	assert_int_equal(history_open(f->path, &(struct history_options){.read_only = true}, &h,
				      NULL, 0),
			 0);
	assert_int_equal(history_latest_vin(h, (char[32]){0}, 32), 0);
	history_free(h);
}

/* Version 4: a session keeps its diagnosis result (JSON) for `bodydiag report`. */
static void session_result(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.schema_version = 3});
	char err[256], *text = NULL;
	int64_t s;

	assert_int_equal(history_session_begin(h, T0, NULL, "diagnose trunk", &s), 0);
	/* before the migration there is no column: said as "none stored" */
	assert_int_equal(history_session_result(h, s, &text), -ENOENT);
	assert_true(history_session_set_result(h, s, "{}") < 0);
	history_free(h);

	h = open_rw(f->path, NULL);
	assert_int_equal(history_session_result(h, s, &text), -ENOENT); /* kept, none yet */
	assert_int_equal(history_session_set_result(h, s, "{\"verdict\":\"fault\",\"t0\":2.3}"), 0);
	assert_int_equal(history_session_set_result(h, s, "not json"), -EINVAL); /* CHECK */
	assert_int_equal(history_session_set_result(h, s + 1, "{}"), -ENOENT);
	history_free(h);

	assert_int_equal(history_open(f->path, &(struct history_options){.read_only = true}, &h,
				      err, sizeof(err)),
			 0);
	assert_int_equal(history_session_result(h, s, &text), 0);
	assert_string_equal(text, "{\"verdict\":\"fault\",\"t0\":2.3}");
	free(text);
	assert_int_equal(history_session_result(h, s + 1, &text), -ENOENT);
	assert_int_equal(history_session_set_result(h, s, "{}"), -EROFS);
	history_free(h);
}

struct rows {
	struct history_row r[64];
	char text[64][128];
	int n;
};

static int keep_cb(const struct history_row *row, void *userdata)
{
	struct rows *rs = userdata;

	if (rs->n < 64) {
		rs->r[rs->n] = *row;
		snprintf(rs->text[rs->n], sizeof(rs->text[0]), "%s",
			 row->cause ? row->cause : row->event ? row->event : row->ecu ? row->ecu : "");
		rs->r[rs->n].cause = rs->r[rs->n].event = rs->r[rs->n].ecu = NULL;
		rs->r[rs->n].vin = rs->r[rs->n].state = rs->r[rs->n].advice = NULL;
		rs->r[rs->n].evidence = rs->r[rs->n].interface = rs->r[rs->n].detail = NULL;
	}
	rs->n++;
	return 0;
}

static void fill(struct history *h, int64_t *ret_s1, int64_t *ret_s2)
{
	int64_t s1, s2, fid;
	bool tr;

	assert_int_equal(history_session_begin(h, T0, NULL, "shop visit", &s1), 0);
	/* The VIN arrives after the first reads. */
	assert_int_equal(history_record_dtc(h, s1, T0 + 10, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_true(tr);
	assert_int_equal(history_session_set_vin(h, s1, "WVWZZZ1KZ6W000001"), 0);
	assert_int_equal(history_record_dtc(h, s1, T0 + 20, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_false(tr); /* same status: snapshot only */
	assert_int_equal(history_record_dtc(h, s1, T0 + 30, "bcm", 0x9a4013, 0x2e, &tr), 0);
	assert_true(tr);
	assert_int_equal(history_record_finding(h, s1, T0 + 40, "latch_motor_open", 0.82, "holds",
						"Check the latch motor connector, pin 3",
						"[{\"signal\":\"TrunkLatchSw\",\"value\":0}]", &fid),
			 0);
	assert_true(fid > 0);
	assert_int_equal(history_record_bus_event(h, s1, T0 + 50, "can0", "bus-off", "tx errors"), 0);
	assert_int_equal(history_session_end(h, s1, T0 + 60), 0);

	assert_int_equal(history_session_begin(h, T0 + 2 * HOUR, "WVWZZZ1KZ6W000002", NULL, &s2), 0);
	assert_int_equal(history_record_dtc(h, s2, T0 + 2 * HOUR + 1, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_true(tr); /* another vehicle: its own state */
	assert_int_equal(history_record_finding(h, s2, T0 + 2 * HOUR + 2, "fob_battery", 0.4, NULL,
						NULL, NULL, NULL),
			 0);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 3 * HOUR, "can0", "adapter-lost", NULL), 0);
	*ret_s1 = s1;
	*ret_s2 = s2;
}

struct timeline {
	char series[4][32], label[4][32];
	double value[4];
	int n;
};

static int timeline_cb(int64_t t_us, const char *series, double value, const char *label,
		       void *userdata)
{
	struct timeline *tl = userdata;

	if (tl->n < 4) {
		snprintf(tl->series[tl->n], 32, "%s", series);
		snprintf(tl->label[tl->n], 32, "%s", label ? label : "");
		tl->value[tl->n] = value;
	}
	tl->n++;
	return 0;
}

static void record_and_query(void **state)
{
	struct timeline tl;
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	struct rows rs = {0};
	int64_t s1, s2;
	uint32_t code;

	fill(h, &s1, &s2);
	/* Invalid input is refused, not stored. */
	assert_int_equal(history_record_dtc(h, s1, T0, "", 1, 0, NULL), -EINVAL);
	assert_int_equal(history_record_dtc(h, s1, T0, "bcm", 0x1000000, 0, NULL), -EINVAL);
	assert_int_equal(history_record_finding(h, s1, T0, "x", 1, NULL, NULL, "{not json", NULL),
			 -EINVAL);
	assert_int_equal(history_session_set_vin(h, s1, "bad vin"), -EINVAL);
	assert_int_equal(history_session_end(h, 9999, T0), -ENOENT);

	/* Everything: 2 sessions, 4 snapshots, 3 transitions, 2 findings, 2 bus events. */
	assert_int_equal(count(h, NULL), 13);
	assert_int_equal(history_query(h, &(struct history_filter){0}, keep_cb, &rs), 13);
	for (int i = 1; i < rs.n; i++)
		assert_true(rs.r[i].t_us >= rs.r[i - 1].t_us);

	/* By VIN (the first session's VIN was set late: its earlier rows follow). */
	assert_int_equal(count(h, &(struct history_filter){.vin = "WVWZZZ1KZ6W000001"}), 8);
	assert_int_equal(count(h, &(struct history_filter){.vin = "NOPE"}), 0);
	/* By code: snapshots and transitions only. */
	assert_int_equal(dtc_parse("B1A40-13", &code), 0);
	assert_int_equal(count(h, &(struct history_filter){.have_code = true, .code = code}), 7);
	assert_int_equal(count(h, &(struct history_filter){.have_code = true,
							  .code = code,
							  .kinds = 1u << HISTORY_KIND_TRANSITION}),
			 3);
	/* By cause, time window, session, limit. */
	assert_int_equal(count(h, &(struct history_filter){.cause = "fob_battery"}), 1);
	assert_int_equal(count(h, &(struct history_filter){.since_us = T0 + HOUR}), 5);
	assert_int_equal(count(h, &(struct history_filter){.until_us = T0 + 30}), 6);
	assert_int_equal(count(h, &(struct history_filter){.session = s2}), 4);
	assert_int_equal(count(h, &(struct history_filter){.limit = 2}), 2);

	/* The first sighting of a code has no old status; the change keeps the old one. */
	memset(&rs, 0, sizeof(rs));
	history_query(h, &(struct history_filter){.kinds = 1u << HISTORY_KIND_TRANSITION}, keep_cb,
		      &rs);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.r[0].old_status, -1);
	assert_int_equal(rs.r[0].status, 0x2f);
	assert_int_equal(rs.r[1].old_status, 0x2f);
	assert_int_equal(rs.r[1].status, 0x2e);

	/* The guided-test timeline of a session, in time order. */
	assert_int_equal(history_record_timeline(h, s1, T0 + 3, "actuator_current", 4.2, NULL), 0);
	assert_int_equal(history_record_timeline(h, s1, T0 + 1, "fob_telegram", NAN, "unlock"), 0);
	assert_int_equal(history_record_timeline(h, 0, T0, "x", 1, NULL), -EINVAL);
	memset(&tl, 0, sizeof(tl));
	assert_int_equal(history_timeline(h, s1, timeline_cb, &tl), 2);
	assert_string_equal(tl.series[0], "fob_telegram");
	assert_true(isnan(tl.value[0]));
	assert_string_equal(tl.label[0], "unlock");
	assert_string_equal(tl.series[1], "actuator_current");
	assert_true(tl.value[1] == 4.2);
	assert_int_equal(history_timeline(h, s2, timeline_cb, &tl), 0);
	history_free(h);

	/* Transitions are detected against the stored state also after a restart. */
	h = open_rw(f->path, NULL);
	bool tr = true;
	assert_int_equal(history_record_dtc(h, s1, T0 + 70, "bcm", 0x9a4013, 0x2e, &tr), 0);
	assert_false(tr);
	history_free(h);
}

static void export_formats(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	char *buf = NULL;
	size_t len = 0;
	int64_t s1, s2;
	FILE *out;

	fill(h, &s1, &s2);
	assert_int_equal(history_record_finding(h, s1, T0 + 45, "quoting", NAN, NULL,
						"say \"hi\", then\r\nleave", NULL, NULL),
			 0);

	/* CSV field quoting per RFC 4180. */
	out = open_memstream(&buf, &len);
	history_csv_field(out, "plain");
	fputc('|', out);
	history_csv_field(out, "a,b");
	fputc('|', out);
	history_csv_field(out, "say \"x\"");
	fputc('|', out);
	history_csv_field(out, "two\nlines");
	fputc('|', out);
	history_csv_field(out, "");
	fclose(out);
	assert_string_equal(buf, "plain|\"a,b\"|\"say \"\"x\"\"\"|\"two\nlines\"|");
	free(buf);

	out = open_memstream(&buf, &len);
	assert_int_equal(history_export(h, &(struct history_filter){.cause = "quoting"},
					HISTORY_FORMAT_CSV, out),
			 1);
	fclose(out);
	assert_string_equal(buf,
			    "kind,id,time,t_us,session,vin,ecu,code,status,old_status,cause,"
			    "confidence,state,advice,evidence,interface,event,detail\r\n"
			    "finding,3,2026-01-01T00:00:00.000045Z,1767225600000045,1,"
			    "WVWZZZ1KZ6W000001,,,,,quoting,,,\"say \"\"hi\"\", then\r\nleave\",,,,\r\n");
	free(buf);

	/* JSON lines: one object per line, every line parses, DTCs spelled out. */
	out = open_memstream(&buf, &len);
	assert_int_equal(history_export(h, NULL, HISTORY_FORMAT_JSONL, out), 14);
	fclose(out);
	int lines = 0;
	bool saw_transition = false;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"), lines++) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		if (!o)
			fail_msg("line %d: %s", lines + 1, jerr.text);
		const char *kind = json_string_value(json_object_get(o, "kind"));
		assert_non_null(kind);
		if (strcmp(kind, "transition") == 0 && !saw_transition) {
			saw_transition = true;
			assert_string_equal(json_string_value(json_object_get(o, "code")), "B1A40-13");
			assert_string_equal(json_string_value(json_object_get(o, "status")), "0x2f");
			assert_true(json_is_null(json_object_get(o, "old_status")));
		}
		if (strcmp(kind, "finding") == 0 &&
		    strcmp(json_string_value(json_object_get(o, "cause")), "latch_motor_open") == 0)
			assert_true(json_is_array(json_object_get(o, "evidence")));
		json_decref(o);
	}
	assert_int_equal(lines, 14);
	assert_true(saw_transition);
	free(buf);

	out = open_memstream(&buf, &len);
	assert_true(history_export(h, NULL, HISTORY_FORMAT_TABLE, out) == 14);
	fclose(out);
	assert_non_null(strstr(buf, "B1A40-13"));
	free(buf);
	history_free(h);
}

static void parse_time(void **state)
{
	int64_t t;

	assert_int_equal(history_parse_time("1767225600", &t), 0);
	assert_true(t == T0);
	assert_int_equal(history_parse_time("1767225600.5", &t), 0);
	assert_true(t == T0 + 500000);
	assert_int_equal(history_parse_time("2026-01-01", &t), 0);
	assert_true(t == T0);
	assert_int_equal(history_parse_time("2026-01-01T01:00:00Z", &t), 0);
	assert_true(t == T0 + HOUR);
	assert_int_equal(history_parse_time("2026-01-01 00:01", &t), 0);
	assert_true(t == T0 + 60000000);
	assert_int_equal(history_parse_time("", &t), -EINVAL);
	assert_int_equal(history_parse_time("-5", &t), -EINVAL);
	assert_int_equal(history_parse_time("2026-13-01", &t), -EINVAL);
	assert_int_equal(history_parse_time("2026-01-01Tnoon", &t), -EINVAL);
	assert_int_equal(history_parse_time("yesterday", &t), -EINVAL);
}

static void retention(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.retention_ms = 3600000});
	int64_t now = T0 + 10 * HOUR;
	int steps = 0, r;

	for (int i = 0; i < 250; i++)
		assert_int_equal(history_record_bus_event(h, 0, now - 2 * HOUR + i, "can0", "old", NULL), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(history_record_bus_event(h, 0, now - HOUR / 2 + i, "can0", "new", NULL), 0);
	/* 100 rows per step: three steps with work, then done. */
	while ((r = history_prune_step(h, now, 100)) == 1)
		steps++;
	assert_int_equal(r, 0);
	assert_in_range(steps, 2, 10);
	assert_int_equal(count(h, NULL), 20);
	assert_int_equal(count(h, &(struct history_filter){.since_us = now - HOUR}), 20);
	history_free(h);
}

static void size_bound(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	char advice[2000];
	uint64_t used, before;
	int r, steps = 0;
	struct stat st;

	memset(advice, 'a', sizeof(advice) - 1);
	advice[sizeof(advice) - 1] = '\0';
	for (int i = 0; i < 1000; i++)
		assert_int_equal(history_record_finding(h, 0, T0 + i, "big", 0.5, NULL, advice, NULL, NULL),
				 0);
	assert_int_equal(history_used_bytes(h, &before), 0);
	assert_true(before > 2000000);
	history_set_retention(h, 0, 500000);
	while ((r = history_prune_step(h, T0 + 1000, 50)) == 1)
		assert_true(++steps < 1000);
	assert_int_equal(r, 0);
	assert_int_equal(history_used_bytes(h, &used), 0);
	assert_true(used <= 500000);
	int n = count(h, NULL);
	assert_in_range(n, 100, 260);
	/* The newest survive. */
	assert_int_equal(count(h, &(struct history_filter){.since_us = T0 + 1000 - n}), n);
	/* Incremental vacuum gave the pages back to the file system. */
	history_free(h);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true((uint64_t)st.st_size < before);
}

static void read_only_beside_writer(void **state)
{
	struct fx *f = *state;
	struct history *w = open_rw(f->path, NULL);
	struct history *ro = NULL;
	char err[256];
	int64_t s1, s2;

	fill(w, &s1, &s2);
	assert_int_equal(history_open(f->path, &(struct history_options){.read_only = true}, &ro,
				      err, sizeof(err)),
			 0);
	assert_int_equal(count(ro, NULL), 13);
	/* The writer keeps writing (WAL: no lock conflict with the reader)... */
	assert_int_equal(history_record_bus_event(w, 0, T0 + 4 * HOUR, "can0", "bus-off", NULL), 0);
	/* ...and the reader sees it with its next query. */
	assert_int_equal(count(ro, NULL), 14);
	assert_int_equal(history_record_bus_event(ro, 0, T0, "can0", "x", NULL), -EROFS);
	assert_int_equal(history_prune_step(ro, T0, 10), -EROFS);
	history_free(ro);
	history_free(w);
}

static void serve_history(struct api_request *req, json_t *params, void *userdata)
{
	history_api_query(userdata, req, params);
}

static void api_method(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct test_api t;
	int64_t s1, s2;
	json_t *reply, *recs;

	fill(h, &s1, &s2);
	assert_int_equal(test_api_start(&t, loop), 0);
	assert_int_equal(api_server_register(t.server, &(struct api_method){.name = "history",
				.privilege = API_PRIVILEGE_NONE, .handler = serve_history, .userdata = h}), 0);

	reply = test_api_call(&t, "{\"v\":1,\"id\":1,\"method\":\"history\",\"params\":"
				  "{\"code\":\"B1A40-13\",\"vin\":\"WVWZZZ1KZ6W000001\"}}");
	assert_non_null(reply);
	recs = json_object_get(json_object_get(reply, "result"), "records");
	assert_true(json_is_array(recs));
	assert_int_equal(json_array_size(recs), 5);
	assert_false(json_is_true(json_object_get(json_object_get(reply, "result"), "truncated")));
	/* written as text row by row (history_row_write_json) */
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *r = json_array_get(recs, i);
		assert_string_equal(json_string_value(json_object_get(r, "code")), "B1A40-13");
		assert_string_equal(json_string_value(json_object_get(r, "vin")), "WVWZZZ1KZ6W000001");
		assert_true(json_is_integer(json_object_get(r, "t_us")));
		assert_non_null(json_object_get(r, "kind"));
	}
	json_decref(reply);

	reply = test_api_call(&t, "{\"v\":1,\"id\":2,\"method\":\"history\",\"params\":"
				  "{\"since\":\"2026-01-01T01:00:00Z\",\"limit\":2}}");
	recs = json_object_get(json_object_get(reply, "result"), "records");
	assert_int_equal(json_array_size(recs), 2);
	assert_true(json_is_true(json_object_get(json_object_get(reply, "result"), "truncated")));
	json_decref(reply);

	reply = test_api_call(&t, "{\"v\":1,\"id\":3,\"method\":\"history\",\"params\":"
				  "{\"cause\":\"fob_battery\",\"kind\":\"finding\"}}");
	recs = json_object_get(json_object_get(reply, "result"), "records");
	assert_int_equal(json_array_size(recs), 1);
	json_decref(reply);

	static const char *const bad[] = {
		"{\"code\":\"nonsense\"}", "{\"since\":\"yesterday\"}", "{\"limit\":0}",
		"{\"limit\":1000000}",    "{\"vin\":5}",              "{\"colour\":\"red\"}",
		"{\"kind\":\"everything\"}", "{\"since\":9223372036854775807}", "{\"until\":-1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line), "{\"v\":1,\"id\":9,\"method\":\"history\",\"params\":%s}",
			 bad[i]);
		reply = test_api_call(&t, line);
		assert_non_null(reply);
		assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "error"),
								      "code")),
				    "invalid_params");
		json_decref(reply);
	}

	/* A reply stays far below the API's output bound: cut at 512 KiB, marked truncated. */
	char advice[1024];
	memset(advice, 'x', sizeof(advice) - 1);
	advice[sizeof(advice) - 1] = '\0';
	for (int i = 0; i < 700; i++)
		assert_int_equal(history_record_finding(h, 0, T0 + 5 * HOUR + i, "big", 0.5, NULL, advice,
							NULL, NULL),
				 0);
	reply = test_api_call(&t, "{\"v\":1,\"id\":4,\"method\":\"history\",\"params\":"
				  "{\"cause\":\"big\",\"limit\":10000}}");
	assert_non_null(reply);
	recs = json_object_get(json_object_get(reply, "result"), "records");
	assert_in_range(json_array_size(recs), 300, 520);
	assert_true(json_is_true(json_object_get(json_object_get(reply, "result"), "truncated")));
	json_decref(reply);

	test_api_stop(&t);
	ev_loop_destroy(loop);
	history_free(h);
}

/* --- the outbox: records queue a row in their own transaction --- */

static void outbox(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	struct history_outbox_stats st;
	struct outbox_rows q = {0};
	int64_t s, s_novin, fid, epoch, epoch2, first;
	char vin[32];
	unsigned n;

	assert_int_equal(history_latest_vin(h, vin, sizeof(vin)), -ENOENT);
	assert_int_equal(history_outbox_enable(h, true, 6), 0);
	assert_int_equal(history_session_begin(h, T0, "WVWZZZ1KZ6W000001", "diagnose trunk", &s), 0);
	assert_int_equal(history_session_begin(h, T0, NULL, NULL, &s_novin), 0);
	assert_int_equal(history_record_finding(h, s, T0 + 1, "latch_motor_open", 0.8, "holds",
						"check X12", "[1,2]", &fid),
			 0);
	assert_int_equal(history_record_dtc(h, s, T0 + 2, "bcm", 0x9a4013, 0x2f, NULL), 0);
	assert_int_equal(history_record_dtc(h, s, T0 + 3, "bcm", 0x9a4013, 0x2f, NULL), 0); /* no change */
	assert_int_equal(history_record_finding(h, s_novin, T0 + 4, "x", NAN, NULL, NULL, NULL, NULL), 0);
	/* A record that fails queues nothing: one transaction. */
	assert_int_equal(history_record_finding(h, s, T0 + 5, "y", 1, NULL, NULL, "{bad", NULL), -EINVAL);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 6, "can0", "state", "ERROR-ACTIVE -> BUS-OFF"), 0);
	assert_int_equal(history_session_set_verdict(h, s, "fault", "latch_motor_open"), 0);
	assert_int_equal(history_session_set_verdict(h, 999, "fault", NULL), -ENOENT);
	assert_int_equal(history_session_end(h, s, T0 + 7), 0);

	assert_int_equal(history_outbox_peek(h, 0, 10, outbox_cb, &q), 5);
	assert_string_equal(q.kind[0], "finding");
	assert_string_equal(q.kind[1], "dtc");
	assert_string_equal(q.kind[2], "finding");
	assert_string_equal(q.kind[3], "bus");
	assert_string_equal(q.kind[4], "session");
	for (int i = 1; i < 5; i++)
		assert_int_equal(q.seq[i], q.seq[i - 1] + 1);
	assert_string_equal(q.vin[0], "WVWZZZ1KZ6W000001");
	assert_string_equal(q.vin[2], ""); /* its session has no VIN */
	assert_int_equal(body_int(&q, 0, "id"), fid);
	assert_int_equal(body_int(&q, 0, "session"), s);
	assert_true(json_is_array(json_object_get(q.body[0], "evidence")));
	assert_true(json_real_value(json_object_get(q.body[0], "confidence")) == 0.8);
	assert_int_equal(body_int(&q, 1, "dtc"), 0x9a4013);
	assert_int_equal(body_int(&q, 1, "status"), 0x2f);
	assert_true(json_is_null(json_object_get(q.body[1], "old_status")));
	assert_true(json_is_null(json_object_get(q.body[2], "confidence")));
	assert_true(json_is_null(json_object_get(q.body[2], "state")));
	assert_true(json_is_null(json_object_get(q.body[3], "session")));
	assert_string_equal(json_string_value(json_object_get(q.body[3], "event")), "state");
	assert_int_equal(body_int(&q, 4, "id"), s);
	assert_int_equal(body_int(&q, 4, "start_us"), T0);
	assert_int_equal(body_int(&q, 4, "findings"), 1);
	assert_int_equal(body_int(&q, 4, "dtcs"), 1);
	assert_string_equal(json_string_value(json_object_get(q.body[4], "verdict")), "fault");
	assert_string_equal(json_string_value(json_object_get(q.body[4], "top_cause")),
			    "latch_motor_open");
	assert_string_equal(json_string_value(json_object_get(q.body[4], "label")), "diagnose trunk");
	first = q.seq[0];
	outbox_rows_free(&q);
	/* From a seq on, at most max. */
	assert_int_equal(history_outbox_peek(h, first + 2, 2, outbox_cb, &q), 2);
	assert_int_equal(q.seq[0], first + 3);
	outbox_rows_free(&q);
	assert_int_equal(history_outbox_stats(h, &st), 0);
	assert_int_equal(st.depth, 5);
	assert_int_equal(st.oldest_t_us, T0 + 1);
	assert_int_equal(st.next_seq, st.first_seq + 5);

	/* The bound: 6 rows, the oldest dropped and counted. */
	assert_int_equal(history_record_finding(h, s, T0 + 8, "z", 1, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(history_record_finding(h, s, T0 + 9, "z", 1, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(history_outbox_stats(h, &st), 0);
	assert_int_equal(st.depth, 6);
	assert_int_equal(history_outbox_dropped(h), 1);
	/* What a receipt covers goes; a range, then a single row. */
	assert_int_equal(history_outbox_remove(h, st.first_seq, st.first_seq + 2, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(history_outbox_remove(h, st.first_seq, st.first_seq + 2, &n), 0);
	assert_int_equal(n, 0); /* a repeated receipt */
	assert_int_equal(history_outbox_remove(h, 5, 4, &n), -EINVAL);
	/* Off again. */
	assert_int_equal(history_outbox_enable(h, false, 0), 0);
	assert_int_equal(history_record_finding(h, s, T0 + 10, "w", 1, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(history_outbox_stats(h, &st), 0);
	assert_int_equal(st.depth, 3);
	assert_int_equal(history_latest_vin(h, vin, sizeof(vin)), 0);
	assert_string_equal(vin, "WVWZZZ1KZ6W000001");
	assert_int_equal(history_outbox_epoch(h, &epoch), 0);
	history_free(h);
	/* The epoch belongs to the outbox: the same file keeps it, a new file gets another. */
	h = open_rw(f->path, NULL);
	assert_int_equal(history_outbox_epoch(h, &epoch2), 0);
	assert_int_equal(epoch, epoch2);
	history_free(h);
	unlink(f->path);
	h = open_rw(f->path, NULL);
	assert_int_equal(history_outbox_epoch(h, &epoch2), 0);
	assert_true(epoch2 != epoch && epoch2 > 0);
	history_free(h);
}

/* The VIN learned at attach: a session begun without one gets it, an open one is given it,
 * records outside a session are forwarded on its topics and count their states for it. */
static void attached_vin(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	struct outbox_rows q = {0};
	int64_t s;
	bool tr;

	assert_int_equal(history_outbox_enable(h, true, 100), 0);
	assert_int_equal(history_session_begin(h, T0, NULL, "guided", &s), 0);
	assert_int_equal(history_set_vin(h, T0, "bad vin"), -EINVAL);
	assert_int_equal(history_set_vin(h, T0, "1BDSM2AT5TR000042"), 0);
	assert_string_equal(history_vin(h), "1BDSM2AT5TR000042");
	assert_int_equal(history_record_dtc(h, s, T0 + 1, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_true(tr);
	assert_int_equal(history_session_end(h, s, T0 + 2), 0);
	/* outside a session: the same vehicle, so the same status is no transition */
	assert_int_equal(history_record_dtc(h, 0, T0 + 3, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_false(tr);
	assert_int_equal(history_record_dtc(h, 0, T0 + 4, "bcm", 0x9a4013, 0x2e, &tr), 0);
	assert_true(tr);
	assert_int_equal(history_session_begin(h, T0 + 5, NULL, "next", &s), 0);
	assert_int_equal(history_record_finding(h, s, T0 + 6, "x", 1, NULL, NULL, NULL, NULL), 0);
	/* the outbox's records carry the vehicle's VIN, in a session or not (the fleet topics) */
	assert_true(history_outbox_peek(h, 0, 10, outbox_cb, &q) >= 3);
	assert_string_equal(q.kind[0], "dtc");
	assert_string_equal(q.vin[0], "1BDSM2AT5TR000042");
	assert_string_equal(q.kind[2], "dtc");
	assert_string_equal(q.vin[2], "1BDSM2AT5TR000042");
	assert_string_equal(q.kind[3], "finding");
	assert_string_equal(q.vin[3], "1BDSM2AT5TR000042");
	outbox_rows_free(&q);
	assert_int_equal(history_set_vin(h, T0 + 7, NULL), 0);
	assert_string_equal(history_vin(h), "");
	history_free(h);
}

/* A batch: one transaction, each record a savepoint; the sender hears of it at the end. */
/* A reader's view of the outbox: rows waiting. */
static uint64_t outbox_depth(struct history *h)
{
	struct history_outbox_stats st;

	assert_int_equal(history_outbox_stats(h, &st), 0);
	return st.depth;
}

static void batch(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.durable = true});
	struct history *ro;
	struct history_filter tr = {.kinds = 1u << HISTORY_KIND_TRANSITION};
	struct history_filter fi = {.kinds = 1u << HISTORY_KIND_FINDING};
	int64_t s;

	assert_int_equal(history_batch_end(h), -EINVAL);
	assert_int_equal(history_outbox_enable(h, true, 10000), 0);
	assert_int_equal(history_session_begin(h, T0, NULL, "batch", &s), 0);
	ro = open_rw(f->path, &(struct history_options){.read_only = true});
	assert_int_equal(outbox_depth(ro), 0);

	assert_int_equal(history_batch_begin(h), 0);
	assert_int_equal(history_batch_begin(h), -EBUSY);
	for (uint32_t i = 0; i < 1023; i++)
		assert_int_equal(history_record_dtc(h, s, T0 + i, "bcm", 0x800013 | i << 8, 0x2f, NULL),
				 0);
	/* one record fails: undone alone, its outbox row with it */
	assert_int_equal(history_record_finding(h, s, T0 + 2000, "y", 1, NULL, NULL, "{bad", NULL),
			 -EINVAL);
	assert_int_equal(history_record_finding(h, s, T0 + 2001, "x", 1, "holds", NULL, NULL, NULL),
			 0);
	assert_int_equal(history_record_timeline(h, s, T0 + 2002, "mark", NAN, "fob"), 0);
	assert_int_equal(history_session_end(h, s, T0 + 3000), 0);
	/* nothing committed yet: another reader (the forwarder) sees none of it */
	assert_int_equal(count(ro, &tr), 0);
	assert_int_equal(outbox_depth(ro), 0);
	assert_int_equal(history_batch_end(h), 0);
	assert_int_equal(count(ro, &tr), 1023);
	assert_int_equal(count(ro, &fi), 1);
	/* 1023 transitions, the finding, the session's summary */
	assert_int_equal(outbox_depth(ro), 1025);
	assert_int_equal(history_batch_end(h), -EINVAL);

	/* the same DTCs again in a second batch: no transitions, nothing queued */
	assert_int_equal(history_batch_begin(h), 0);
	for (uint32_t i = 0; i < 1023; i++)
		assert_int_equal(history_record_dtc(h, s, T0 + 5000 + i, "bcm", 0x800013 | i << 8,
						    0x2f, NULL),
				 0);
	assert_int_equal(history_batch_end(h), 0);
	assert_int_equal(count(ro, &tr), 1023);
	assert_int_equal(outbox_depth(ro), 1025);
	history_free(ro);
	history_free(h);
}

/* --- the CLI: bodydiag history and bodydiag report on a database made here --- */

static char *run(const char *cmd, int *ret_status)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	FILE *p = popen(cmd, "r");
	char chunk[4096];
	size_t n;

	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		fwrite(chunk, 1, n, out);
	*ret_status = pclose(p);
	fclose(out);
	return buf;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void cli_and_report(void **state)
{
	struct fx *f = *state;
	const char *root = getenv("BODYDIAG_BUILD_ROOT");
	struct history *h = open_rw(f->path, NULL);
	char exe[512], cmd[1024], html_path[160];
	int64_t s1, s2;
	int status;
	char *out;

	if (!root)
		fail_msg("BODYDIAG_BUILD_ROOT is not set (run through meson test)");
	snprintf(exe, sizeof(exe), "%s/tools/bodydiag/bodydiag", root);
	if (access(exe, X_OK) != 0)
		fail_msg("%s is missing: build it first", exe);
	fill(h, &s1, &s2);
	/* an older session's own signal names, with values: lanes; the mark: a vertical line */
	static const char *const series[] = {"release_request", "actuator_command",
					     "actuator_current", "ajar_switch"};
	assert_int_equal(history_record_timeline(h, s1, T0 + 1, "mark", NAN, "fob pressed"), 0);
	assert_int_equal(history_record_timeline(h, s1, T0 + 2, "fob_telegram", NAN, "unlock"), 0);
	assert_int_equal(history_record_timeline(h, s1, T0 + 3, "release_request", 1, NULL), 0);
	assert_int_equal(history_record_timeline(h, s1, T0 + 4, "actuator_command", 1, NULL), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(history_record_timeline(h, s1, T0 + 5 + i, "actuator_current", 0.1 * i, NULL), 0);
	assert_int_equal(history_record_timeline(h, s1, T0 + 12, "ajar_switch", 0, "stayed closed"), 0);
	/* Earlier but less likely: ranked below latch_motor_open (0.82). */
	assert_int_equal(history_record_finding(h, s1, T0 + 35, "fob_battery_weak", 0.2, NULL,
						"Replace the <CR2032> & retry", NULL, NULL),
			 0);

	/* history: CSV with a filter, read-only while the writer has the file open. */
	snprintf(cmd, sizeof(cmd), "%s history --db %s --format csv --code B1A40-13 --vin WVWZZZ1KZ6W000001",
		 exe, f->path);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	assert_int_equal(count_str(out, "\r\n"), 1 + 5);
	assert_true(strncmp(out, "kind,id,time,t_us,session,vin,ecu,code,", 39) == 0);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s history --db %s --format jsonl --cause latch_motor_open", exe,
		 f->path);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	assert_int_equal(count_str(out, "\n"), 1);
	assert_non_null(strstr(out, "\"evidence\":[{\"signal\":\"TrunkLatchSw\""));
	free(out);
	/* a usage error is 1; bodydiag(1) keeps 2 for "the daemon cannot be reached" */
	snprintf(cmd, sizeof(cmd), "%s history --db %s --since 2026-13-01 2>&1", exe, f->path);
	free(run(cmd, &status));
	assert_int_equal(WEXITSTATUS(status), 1);
	snprintf(cmd, sizeof(cmd), "%s history --db %s/missing.db 2>&1", exe, f->dir);
	free(run(cmd, &status));
	assert_int_equal(WEXITSTATUS(status), 1);

	/* report: one self-contained page with the expected timeline series. */
	snprintf(html_path, sizeof(html_path), "%s/report.html", f->dir);
	snprintf(cmd, sizeof(cmd), "%s report --db %s --session %lld -o %s", exe, f->path,
		 (long long)s1, html_path);
	free(run(cmd, &status));
	assert_int_equal(status, 0);
	size_t len;
	FILE *fp = fopen(html_path, "r");
	assert_non_null(fp);
	out = calloc(1, 1 << 20);
	len = fread(out, 1, (1 << 20) - 1, fp);
	fclose(fp);
	assert_true(len > 1000);
	assert_non_null(strstr(out, "WVWZZZ1KZ6W000001"));
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "data-series=\"%s\"", series[i]);
		if (!strstr(out, want))
			fail_msg("the report's SVG has no %s lane", series[i]);
	}
	assert_non_null(strstr(out, "data-series=\"actuator_current\" data-unit=\"A\" "
				    "data-points=\"5\""));
	assert_null(strstr(out, "data-series=\"fob_telegram\"")); /* no value, nothing to draw */
	assert_int_equal(count_str(out, "<polyline"), 4); /* the four lanes with values */
	assert_int_equal(count_str(out, "class=\"mark\""), 1);  /* the action across them */
	assert_int_equal(count_str(out, "<svg"), 1);
	assert_int_equal(count_str(out, "</svg>"), 1);
	/* recorded before results were stored: said so, the chain not made up */
	assert_non_null(strstr(out, "has no stored chain"));
	assert_non_null(strstr(out, "rebuilt from the findings alone"));
	/* DTC status bits in words, causes ranked, text escaped, no JSON shown. */
	assert_non_null(strstr(out, "B1A40-13"));
	assert_non_null(strstr(out, ">confirmed<")); /* 0x2e: not failed now */
	assert_null(strstr(out, ">failed now<"));
	assert_non_null(strstr(out, "fob_battery_weak"));
	assert_true(strstr(out, "latch_motor_open") < strstr(out, "fob_battery_weak"));
	assert_non_null(strstr(out, "Replace the &lt;CR2032&gt; &amp; retry"));
	assert_null(strstr(out, "TrunkLatchSw"));
	/* Nothing fetched: no src, no link out of the page, no url()/@import, the only URL is
	 * the SVG namespace. */
	assert_null(strstr(out, "src="));
	assert_null(strstr(out, "href=\"h"));
	assert_int_equal(count_str(out, "href=\"#"), count_str(out, "href="));
	assert_null(strstr(out, "url("));
	assert_null(strstr(out, "@import"));
	assert_int_equal(count_str(out, "http"), 1);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s report --db %s --session 999 -o %s 2>&1", exe, f->path,
		 html_path);
	free(run(cmd, &status));
	assert_int_equal(WEXITSTATUS(status), 1);
	history_free(h);
}

/* --- crash safety --- */

static void child_writer(const char *path, int fd)
{
	struct history *h = NULL;
	char err[256];

	if (history_open(path, NULL, &h, err, sizeof(err)) < 0)
		_exit(2);
	for (int64_t i = 0;; i++) {
		int64_t id;
		char ev[256];
		snprintf(ev, sizeof(ev), "{\"seq\":%lld,\"pad\":\"%0100d\"}", (long long)i, 0);
		if (history_record_finding(h, 0, T0 + i, "crash_test", 0.5, "holds", "advice", ev,
					   &id) < 0)
			_exit(3);
		/* Acknowledge only after the commit returned, as the daemon acknowledges a client. */
		if (write(fd, &id, sizeof(id)) != sizeof(id))
			_exit(4);
	}
}

static int collect_ids(const struct history_row *row, void *userdata)
{
	uint8_t *seen = userdata;

	if (row->id > 0 && row->id < 1000000)
		seen[row->id] = 1;
	return 0;
}

static void crash_safety(void **state)
{
	struct fx *f = *state;
	uint8_t *seen = calloc(1000000, 1);
	int64_t *acked = calloc(1000000, sizeof(int64_t));
	size_t n_acked = 0;

	for (int round = 0; round < 3; round++) {
		int p[2];
		pid_t pid;

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child_writer(f->path, p[1]);
		}
		close(p[1]);
		/* Kill at a different point each round, mid-stream. */
		size_t target = n_acked + 200 + (size_t)round * 137;
		int64_t id;
		while (n_acked < target && read(p[0], &id, sizeof(id)) == sizeof(id))
			acked[n_acked++] = id;
		assert_int_equal(kill(pid, SIGKILL), 0);
		/* Whatever was acknowledged before the kill landed is committed too. */
		while (read(p[0], &id, sizeof(id)) == sizeof(id))
			acked[n_acked++] = id;
		close(p[0]);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		struct history *h = open_rw(f->path, NULL);
		char msg[256] = "";
		if (history_check(h, msg, sizeof(msg)) != 0)
			fail_msg("integrity_check after SIGKILL: %s", msg);
		memset(seen, 0, 1000000);
		assert_true(history_query(h, &(struct history_filter){.cause = "crash_test"},
					  collect_ids, seen) >= (int)n_acked);
		for (size_t i = 0; i < n_acked; i++)
			if (!seen[acked[i]])
				fail_msg("round %d: acknowledged finding %lld is missing", round,
					 (long long)acked[i]);
		history_free(h);
	}
	print_message("crash safety: %zu acknowledged findings over 3 SIGKILLs, all present\n",
		      n_acked);
	free(seen);
	free(acked);
}


/*
 * The plan of every query shape: each arm of the big tables is read through an index
 * (SEARCH, never a full SCAN), in time order (at most the partial sort of rows with the
 * same time, never a sort of the whole result), so a query with a limit reads about the
 * rows it returns (bench/history-scale times it on 5 M rows). Only the unfiltered query
 * walks the time indexes from the oldest row, which is what it asks for.
 */
static void query_plans(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	int64_t s1, s2;
	const struct {
		const char *name;
		struct history_filter f;
		int arms; /* SEARCH / SCAN lines of the tables of rows expected */
	} cases[] = {
		{"all", {.limit = 1000}, 5},
		{"vin", {.vin = "WVWZZZ1KZ6W000001"}, 5},
		{"vin since", {.vin = "WVWZZZ1KZ6W000001", .since_us = T0}, 5},
		{"code", {.have_code = true, .code = 0x9a4013, .limit = 1000}, 2},
		{"code until", {.have_code = true, .code = 0x9a4013, .until_us = T0 + HOUR}, 2},
		{"transitions of a code", {.have_code = true, .code = 1, .kinds = 1u << HISTORY_KIND_TRANSITION}, 1},
		{"range", {.since_us = T0, .until_us = T0 + HOUR, .limit = 10000}, 5},
		{"since", {.since_us = T0}, 5},
		{"until", {.until_us = T0}, 5},
		{"session", {.session = 1}, 5},
		{"cause", {.cause = "latch_motor_open"}, 1},
		{"vin code range", {.vin = "V", .have_code = true, .code = 1, .since_us = T0, .until_us = T0 + HOUR}, 2},
		{"kind bus since", {.kinds = 1u << HISTORY_KIND_BUS, .since_us = T0}, 1},
	};

	fill(h, &s1, &s2);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool filtered = cases[i].f.since_us || cases[i].f.until_us || cases[i].f.vin ||
				cases[i].f.have_code || cases[i].f.cause || cases[i].f.session;
		sqlite3_stmt *st = NULL, *e = NULL;
		int arms = 0;

		assert_int_equal(history_query_prepare(h, &cases[i].f, &st), 0);
		assert_non_null(st);
		char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
		assert_int_equal(sqlite3_prepare_v2(h->db, sql, -1, &e, NULL), SQLITE_OK);
		while (sqlite3_step(e) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(e, 3);
			bool row_table = strncmp(d, "SEARCH x ", 9) == 0 || strncmp(d, "SCAN x", 6) == 0;

			if (strstr(d, "TEMP B-TREE") && !strstr(d, "RIGHT PART OF ORDER BY"))
				fail_msg("%s: the whole result is sorted: %s", cases[i].name, d);
			if (!row_table)
				continue;
			arms++;
			if (strncmp(d, "SCAN x", 6) == 0 && (filtered || !strstr(d, " USING INDEX ")))
				fail_msg("%s: full scan: %s", cases[i].name, d);
			if (filtered && cases[i].f.session && !strstr(d, "session") &&
			    !strstr(d, "PRIMARY KEY"))
				fail_msg("%s: not through the session: %s", cases[i].name, d);
		}
		assert_int_equal(arms, cases[i].arms);
		sqlite3_finalize(e);
		sqlite3_finalize(st);
		sqlite3_free(sql);
	}
	/* Nothing can match: no statement at all. */
	sqlite3_stmt *none = NULL;
	assert_int_equal(history_query_prepare(h, &(struct history_filter){.have_code = true, .code = 1, .kinds = 1u << HISTORY_KIND_FINDING}, &none), 0);
	assert_null(none);
	history_free(h);
}

/* Rows outside a session belong to the vehicle attached once its VIN is known. */
static void vehicle_of_rows(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, NULL);
	const char *van1 = "WF0EXXTTRE0004100", *van2 = "WF0EXXTTRE0004137";
	bool tr;

	/* Unknown vehicle: a scan's DTCs belong to nobody. */
	assert_int_equal(history_record_dtc(h, 0, T0, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_true(tr);
	assert_int_equal(history_set_vin(h, T0 + 1, "bad vin"), -EINVAL);
	assert_int_equal(history_set_vin(h, T0 + 1, van1), 0);
	assert_int_equal(history_record_dtc(h, 0, T0 + 2, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_true(tr); /* the first of this vehicle */
	assert_int_equal(history_record_dtc(h, 0, T0 + 3, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_false(tr);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 4, "can0", "bus-off", NULL), 0);
	assert_int_equal(history_record_finding(h, 0, T0 + 5, "x", 0.5, NULL, NULL, NULL, NULL), 0);
	/* The logger moved to another van: its own statuses, its own rows. */
	assert_int_equal(history_set_vin(h, T0 + 10, van2), 0);
	assert_int_equal(history_record_dtc(h, 0, T0 + 11, "bcm", 0x9a4013, 0x2f, &tr), 0);
	assert_true(tr);
	assert_int_equal(count(h, &(struct history_filter){.vin = van1}), 5);
	assert_int_equal(count(h, &(struct history_filter){.vin = van2}), 2);
	assert_int_equal(count(h, NULL), 9);
	/* A session's vehicle wins over the one attached. */
	int64_t s;
	assert_int_equal(history_session_begin(h, T0 + 20, van1, NULL, &s), 0);
	assert_int_equal(history_record_dtc(h, s, T0 + 21, "bcm", 0x9a4013, 0x2e, &tr), 0);
	assert_true(tr);
	assert_int_equal(count(h, &(struct history_filter){.vin = van1}), 8);
	assert_int_equal(history_session_end(h, s, T0 + 22), 0);
	/* Not known any more. */
	assert_int_equal(history_set_vin(h, T0 + 30, NULL), 0);
	assert_string_equal(history_vin(h), "");
	assert_int_equal(history_record_bus_event(h, 0, T0 + 31, "can0", "adapter-lost", NULL), 0);
	assert_int_equal(count(h, &(struct history_filter){.vin = van2}), 2);
	/* Set inside a batch, the vehicle's id is not kept (the batch might roll back): each
	 * record finds it itself, in the batch and after it. */
	const char *van3 = "WF0EXXTTRE0004199";
	assert_int_equal(history_batch_begin(h), 0);
	assert_int_equal(history_set_vin(h, T0 + 40, van3), 0);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 41, "can0", "bus-off", NULL), 0);
	assert_int_equal(history_batch_end(h), 0);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 42, "can0", "bus-off", NULL), 0);
	assert_int_equal(count(h, &(struct history_filter){.vin = van3}), 2);
	/* The same VIN again: its row is kept, its last sighting moves. */
	assert_int_equal(history_set_vin(h, T0 + 50, van3), 0);
	char latest[32];
	assert_int_equal(history_latest_vin(h, latest, sizeof(latest)), 0);
	assert_string_equal(latest, van3);
	history_free(h);
}

/* The rows of a table whose vehicle_id is vid (0: NULL). */
static int rows_of_vehicle(struct history *h, const char *table, int64_t vid)
{
	char sql[160];
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE vehicle_id IS %s", table,
		 vid ? "?1" : "NULL");
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(h->db, sql, -1, &st, NULL), SQLITE_OK);
	if (vid)
		sqlite3_bind_int64(st, 1, vid);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (int)n;
}

/*
 * Migration 5 -> 6 on a file the old migrations built: the rows of a session get the
 * session's vehicle (also one whose VIN was read after its rows), rows no session
 * attributed stay without one; the outbox's queued records are untouched. A version 5
 * file read-only still answers a query by VIN through the sessions.
 */
static void migration_vehicles(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.schema_version = 5});
	const char *vin = "WVWZZZ1KZ6W000001", *other = "WF0EXXTTRE0004100";
	struct outbox_rows q = {0};
	int64_t s, late, anon;
	int64_t vid, vid_other;

	assert_int_equal(history_outbox_enable(h, true, 100), 0);
	assert_int_equal(history_session_begin(h, T0, vin, "old", &s), 0);
	assert_int_equal(history_record_dtc(h, s, T0 + 1, "bcm", 0x9a4013, 0x2f, NULL), 0);
	assert_int_equal(history_record_finding(h, s, T0 + 2, "x", 0.5, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(history_record_bus_event(h, s, T0 + 3, "can0", "bus-off", NULL), 0);
	assert_int_equal(history_session_end(h, s, T0 + 4), 0);
	/* a session whose VIN was read after its first rows */
	assert_int_equal(history_session_begin(h, T0 + 10, NULL, "late", &late), 0);
	assert_int_equal(history_record_dtc(h, late, T0 + 11, "bcm", 0x9a4014, 0x2f, NULL), 0);
	assert_int_equal(history_session_set_vin(h, late, other), 0);
	assert_int_equal(history_session_end(h, late, T0 + 12), 0);
	/* a session that never knew its vehicle, and a scan outside any session */
	assert_int_equal(history_session_begin(h, T0 + 20, NULL, "anon", &anon), 0);
	assert_int_equal(history_record_dtc(h, anon, T0 + 21, "bcm", 0x9a4015, 0x2f, NULL), 0);
	assert_int_equal(history_session_end(h, anon, T0 + 22), 0);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 30, "can0", "adapter-lost", NULL), 0);
	assert_int_equal(history_outbox_peek(h, 0, 10, outbox_cb, &q), 9);
	outbox_rows_free(&q);
	history_free(h);

	h = NULL;
	assert_int_equal(history_open(f->path, &(struct history_options){.read_only = true}, &h, NULL, 0), 0);
	assert_int_equal(history_schema_version(h), 5);
	assert_int_equal(count(h, &(struct history_filter){.vin = vin}), 5); /* session + 4 rows */
	assert_int_equal(count(h, &(struct history_filter){.vin = other}), 3);
	assert_int_equal(count(h, &(struct history_filter){.have_code = true, .code = 0x9a4013}), 2);
	history_free(h);

	h = open_rw(f->path, NULL);
	assert_int_equal(history_schema_version(h), HISTORY_SCHEMA_VERSION);
	assert_int_equal(history_pragma_int(h, "SELECT id FROM vehicles WHERE vin = 'WVWZZZ1KZ6W000001'", &vid), 0);
	assert_int_equal(history_pragma_int(h, "SELECT id FROM vehicles WHERE vin = 'WF0EXXTTRE0004100'", &vid_other), 0);
	/* the rows themselves carry the vehicle now */
	assert_int_equal(rows_of_vehicle(h, "dtc_snapshots", vid), 1);
	assert_int_equal(rows_of_vehicle(h, "dtc_transitions", vid), 1);
	assert_int_equal(rows_of_vehicle(h, "findings", vid), 1);
	assert_int_equal(rows_of_vehicle(h, "bus_events", vid), 1);
	assert_int_equal(rows_of_vehicle(h, "dtc_snapshots", vid_other), 1);
	assert_int_equal(rows_of_vehicle(h, "dtc_transitions", vid_other), 1);
	assert_int_equal(rows_of_vehicle(h, "dtc_snapshots", 0), 1); /* the anonymous session */
	assert_int_equal(rows_of_vehicle(h, "bus_events", 0), 1);    /* the scan outside */
	assert_int_equal(count(h, &(struct history_filter){.vin = vin}), 5);
	assert_int_equal(count(h, &(struct history_filter){.vin = other}), 3);
	assert_int_equal(count(h, NULL), 12);
	/* the outbox's records still wait, in their order */
	assert_int_equal(history_outbox_peek(h, 0, 10, outbox_cb, &q), 9);
	assert_string_equal(q.kind[0], "dtc");
	assert_string_equal(q.vin[0], vin);
	outbox_rows_free(&q);
	/* and new rows carry the attached vehicle */
	assert_int_equal(history_set_vin(h, T0 + 40, other), 0);
	assert_int_equal(history_record_bus_event(h, 0, T0 + 41, "can0", "adapter-returned", NULL), 0);
	assert_int_equal(rows_of_vehicle(h, "bus_events", vid_other), 1);
	assert_int_equal(count(h, &(struct history_filter){.vin = other}), 4);
	char msg[128];
	assert_int_equal(history_check(h, msg, sizeof(msg)), 0);
	history_free(h);
}

/*
 * The WAL is copied back by the checkpointer thread, not in the commit that fills it:
 * after writing several times SQLite's threshold of pages, checkpoints have run, the WAL
 * stayed bounded and nothing was lost.
 */
static void checkpointer(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.durable = true});
	char advice[3000], wal[160];
	struct stat st;
	int n = 0;

	memset(advice, 'a', sizeof(advice) - 1);
	advice[sizeof(advice) - 1] = '\0';
	assert_int_equal(history_checkpoints(h), 0);
	for (int round = 0; round < 4; round++) {
		assert_int_equal(history_batch_begin(h), 0);
		for (int i = 0; i < 1500; i++, n++)
			assert_int_equal(history_record_finding(h, 0, T0 + n, "big", 0.5, NULL, advice,
								NULL, NULL),
					 0);
		assert_int_equal(history_batch_end(h), 0);
		/* The thread runs beside us: wait for it (SCHED_IDLE: when we sleep). */
		for (int k = 0; k < 500 && history_checkpoints(h) <= round; k++)
			usleep(10000);
	}
	assert_true(history_checkpoints(h) >= 2);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &st), 0);
	/* One batch is ~1,200 pages (4.7 MB): the WAL is reused once checkpointed. */
	assert_true(st.st_size < 3 * 1500 * 4096);
	assert_int_equal(count(h, NULL), n);
	char msg[128];
	assert_int_equal(history_check(h, msg, sizeof(msg)), 0);
	history_free(h);
	/* The read-only never starts one. */
	h = NULL;
	assert_int_equal(history_open(f->path, &(struct history_options){.read_only = true}, &h, NULL, 0), 0);
	assert_int_equal(history_checkpoints(h), -ENOTCONN);
	assert_int_equal(count(h, NULL), n);
	history_free(h);
}

/* The timer's steps: each deletes what its time allows; together, all that is due. */
static void prune_paced(void **state)
{
	struct fx *f = *state;
	struct history *h = open_rw(f->path, &(struct history_options){.retention_ms = 3600000, .durable = true});
	struct history_prune_pace pace = {0};
	int64_t now = T0 + 10 * HOUR;
	int steps = 0, r;

	assert_int_equal(history_set_vin(h, T0, "WF0EXXTTRE0004100"), 0);
	assert_int_equal(history_batch_begin(h), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(history_record_dtc(h, 0, now - 5 * HOUR + i, "bcm", (uint32_t)i % 50,
						    (uint8_t)(i % 2 ? 0x2f : 0x28), NULL),
				 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(history_record_dtc(h, 0, now - HOUR / 2 + i, "abs", 7, 0x08, NULL), 0);
	assert_int_equal(history_batch_end(h), 0);
	while ((r = history_prune_paced(h, now, &pace)) == 1) {
		assert_true(pace.rows >= 8 && pace.rows <= 4096);
		assert_true(pace.last_us > 0);
		assert_true(++steps < 2000);
	}
	assert_int_equal(r, 0);
	assert_true(steps >= 1);
	/* What is newer than the retention stays: 20 snapshots and their one transition. */
	assert_int_equal(count(h, NULL), 21);
	assert_int_equal(count(h, &(struct history_filter){.vin = "WF0EXXTTRE0004100"}), 21);
	history_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(schema, setup, teardown),
		cmocka_unit_test_setup_teardown(session_result, setup, teardown),
		cmocka_unit_test_setup_teardown(not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(migration, setup, teardown),
		cmocka_unit_test_setup_teardown(record_and_query, setup, teardown),
		cmocka_unit_test_setup_teardown(export_formats, setup, teardown),
		cmocka_unit_test(parse_time),
		cmocka_unit_test_setup_teardown(retention, setup, teardown),
		cmocka_unit_test_setup_teardown(size_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_beside_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(api_method, setup, teardown),
		cmocka_unit_test_setup_teardown(outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(attached_vin, setup, teardown),
		cmocka_unit_test_setup_teardown(batch, setup, teardown),
		cmocka_unit_test_setup_teardown(cli_and_report, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_safety, setup, teardown),
		cmocka_unit_test_setup_teardown(query_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(vehicle_of_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(migration_vehicles, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpointer, setup, teardown),
		cmocka_unit_test_setup_teardown(prune_paced, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
