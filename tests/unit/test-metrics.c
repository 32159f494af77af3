/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics: the output is checked by a strict parser of the Prometheus text
 * format 0.0.4 written here (HELP/TYPE before the family's samples, each once, families
 * not interleaved, valid metric and label names, only the escapes the format defines,
 * values that parse, histogram buckets cumulative with +Inf equal to _count), so a
 * formatting slip fails here rather than in node_exporter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/macro.h"
#include "daemon/metrics.h"
#include "api-client.h"

/* --- strict parser --- */

struct parsed_sample {
	char name[128];
	char labels[METRICS_MAX_LABELS + 1][2][256]; /* name, unescaped value */
	int n_labels;
	double value;
};

struct parsed {
	struct parsed_sample s[512];
	int n;
	char error[256];
};

static bool valid_name(const char *s, size_t n, bool colon)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (colon && c == ':') || (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static bool parse_value(const char *s, double *ret)
{
	char *end;

	if (strcmp(s, "+Inf") == 0) {
		*ret = INFINITY;
		return true;
	}
	if (strcmp(s, "-Inf") == 0) {
		*ret = -INFINITY;
		return true;
	}
	if (strcmp(s, "NaN") == 0) {
		*ret = NAN;
		return true;
	}
	if (!*s || strchr(s, 'n') || strchr(s, 'N') || strchr(s, 'x'))
		return false;
	*ret = strtod(s, &end);
	return *end == '\0';
}

static bool family_of(const char *sample, const char *family, const char *type)
{
	size_t n = strlen(family);

	if (strcmp(sample, family) == 0)
		return strcmp(type, "histogram") != 0;
	if (strcmp(type, "histogram") != 0 || strncmp(sample, family, n) != 0)
		return false;
	return strcmp(sample + n, "_bucket") == 0 || strcmp(sample + n, "_sum") == 0 ||
	       strcmp(sample + n, "_count") == 0;
}

#define PFAIL(...)                                                                                 \
	do {                                                                                       \
		snprintf(p->error, sizeof(p->error), __VA_ARGS__);                                 \
		return -1;                                                                         \
	} while (0)

static int parse_exposition(const char *text, struct parsed *p)
{
	char help_seen[64][128], type_seen[64][128], cur_family[128] = "", cur_type[16] = "";
	int n_help = 0, n_type = 0, lineno = 0;
	const char *line = text;

	p->n = 0;
	if (*text && text[strlen(text) - 1] != '\n')
		PFAIL("no final newline");
	while (*line) {
		const char *nl = strchr(line, '\n');
		char buf[2048];
		size_t len = (size_t)(nl - line);

		lineno++;
		if (len >= sizeof(buf))
			PFAIL("line %d too long", lineno);
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = nl + 1;

		if (strncmp(buf, "# HELP ", 7) == 0 || strncmp(buf, "# TYPE ", 7) == 0) {
			bool help = buf[2] == 'H';
			char *name = buf + 7, *sp = strchr(name, ' ');
			if (!sp)
				PFAIL("line %d: no text after the name", lineno);
			*sp = '\0';
			if (!valid_name(name, strlen(name), true))
				PFAIL("line %d: bad metric name '%.64s'", lineno, name);
			char (*seen)[128] = help ? help_seen : type_seen;
			int *n_seen = help ? &n_help : &n_type;
			for (int i = 0; i < *n_seen; i++)
				if (strcmp(seen[i], name) == 0)
					PFAIL("line %d: second %s for %.64s", lineno, help ? "HELP" : "TYPE", name);
			snprintf(seen[(*n_seen)++], 128, "%.127s", name);
			if (help) {
				for (const char *c = sp + 1; *c; c++)
					if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
						PFAIL("line %d: bad escape in HELP", lineno);
					else if (*c == '\\')
						c++;
			} else {
				const char *t = sp + 1;
				if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
				    strcmp(t, "summary") && strcmp(t, "untyped"))
					PFAIL("line %d: bad type '%.64s'", lineno, t);
				for (int i = 0; i < p->n; i++)
					if (family_of(p->s[i].name, name, t))
						PFAIL("line %d: TYPE after samples of %.64s", lineno, name);
				snprintf(cur_family, sizeof(cur_family), "%s", name);
				snprintf(cur_type, sizeof(cur_type), "%s", t);
			}
			continue;
		}
		if (buf[0] == '#' || buf[0] == '\0')
			PFAIL("line %d: unexpected comment or empty line", lineno);

		struct parsed_sample *s = &p->s[p->n];
		memset(s, 0, sizeof(*s));
		char *c = buf;
		size_t nlen = strcspn(c, "{ ");
		if (!valid_name(c, nlen, true) || nlen >= sizeof(s->name))
			PFAIL("line %d: bad sample name", lineno);
		memcpy(s->name, c, nlen);
		c += nlen;
		if (!*cur_family || !family_of(s->name, cur_family, cur_type))
			PFAIL("line %d: sample %.64s outside its family (current %.64s)", lineno, s->name,
			      cur_family);
		if (*c == '{') {
			c++;
			while (*c != '}') {
				size_t ln = strcspn(c, "=");
				if (!valid_name(c, ln, false) || c[ln] != '=' || c[ln + 1] != '"')
					PFAIL("line %d: bad label", lineno);
				if (s->n_labels > METRICS_MAX_LABELS)
					PFAIL("line %d: too many labels", lineno);
				memcpy(s->labels[s->n_labels][0], c, ln);
				c += ln + 2;
				char *v = s->labels[s->n_labels][1];
				size_t vn = 0;
				for (; *c != '"'; c++) {
					if (!*c)
						PFAIL("line %d: unterminated label value", lineno);
					char ch = *c;
					if (ch == '\\') {
						c++;
						if (*c == 'n')
							ch = '\n';
						else if (*c == '\\' || *c == '"')
							ch = *c;
						else
							PFAIL("line %d: bad escape \\%c", lineno, *c);
					}
					if (vn < 255)
						v[vn++] = ch;
				}
				c++;
				s->n_labels++;
				if (*c == ',')
					c++;
				else if (*c != '}')
					PFAIL("line %d: expected , or }", lineno);
			}
			c++;
		}
		if (*c != ' ')
			PFAIL("line %d: no space before the value", lineno);
		c++;
		if (strchr(c, ' '))
			PFAIL("line %d: timestamps are not expected", lineno);
		if (!parse_value(c, &s->value))
			PFAIL("line %d: bad value '%.64s'", lineno, c);
		p->n++;
	}
	return 0;
}

static void assert_parses(const char *text, struct parsed *p)
{
	if (parse_exposition(text, p) < 0)
		fail_msg("exposition rejected: %s\n---\n%s", p->error, text);
}

static const struct parsed_sample *find(const struct parsed *p, const char *name,
					const char *label, const char *value)
{
	for (int i = 0; i < p->n; i++) {
		if (strcmp(p->s[i].name, name) != 0)
			continue;
		if (!label)
			return &p->s[i];
		for (int j = 0; j < p->s[i].n_labels; j++)
			if (strcmp(p->s[i].labels[j][0], label) == 0 &&
			    strcmp(p->s[i].labels[j][1], value) == 0)
				return &p->s[i];
	}
	return NULL;
}

static char *format(struct metrics *m)
{
	char *text = NULL;
	size_t len;

	assert_int_equal(metrics_format(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

/* --- tests --- */

static void the_parser_can_fail(void **state)
{
	struct parsed p;

	assert_int_equal(parse_exposition("a 1\n", &p), -1);                   /* no TYPE */
	assert_int_equal(parse_exposition("# TYPE a gauge\na{x=\"\\t\"} 1\n", &p), -1);
	assert_int_equal(parse_exposition("# TYPE a gauge\na 1\n# TYPE a gauge\n", &p), -1);
	assert_int_equal(parse_exposition("# TYPE a gauge\na one\n", &p), -1);
	assert_int_equal(parse_exposition("# TYPE a gauge\nb 1\n", &p), -1);
	assert_int_equal(parse_exposition("# TYPE a gauge\na 1", &p), -1);
	assert_int_equal(parse_exposition("# TYPE a gauge\na{x=\"1\"} 1\n", &p), 0);
}

static void families_and_names(void **state)
{
	_metrics_cleanup_ struct metrics *m = NULL;
	struct metrics_family *c, *c2, *g;

	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family(m, "9lives", "", METRICS_GAUGE, NULL, NULL, 0, &g), -EINVAL);
	assert_int_equal(metrics_family(m, "a-b", "", METRICS_GAUGE, NULL, NULL, 0, &g), -EINVAL);
	assert_int_equal(metrics_family(m, "x", "", METRICS_GAUGE,
					(const char *const[]){"__reserved", NULL}, NULL, 0, &g),
			 -EINVAL);
	assert_int_equal(metrics_family(m, "x", "", METRICS_GAUGE, (const char *const[]){"le", NULL},
					NULL, 0, &g),
			 -EINVAL);
	assert_int_equal(metrics_family(m, "h", "", METRICS_HISTOGRAM, NULL, (double[]){2, 1}, 2, &g),
			 -EINVAL);
	assert_int_equal(metrics_family(m, "ns:c_total", "help", METRICS_COUNTER,
					(const char *const[]){"k", NULL}, NULL, 0, &c),
			 0);
	/* The same declaration again is the same family; a different shape is refused. */
	assert_int_equal(metrics_family(m, "ns:c_total", "help", METRICS_COUNTER,
					(const char *const[]){"k", NULL}, NULL, 0, &c2),
			 0);
	assert_ptr_equal(c, c2);
	assert_int_equal(metrics_family(m, "ns:c_total", "help", METRICS_GAUGE,
					(const char *const[]){"k", NULL}, NULL, 0, &c2),
			 -EEXIST);
	assert_int_equal(metrics_add(c, (const char *const[]){"a"}, 2), 0);
	assert_int_equal(metrics_add(c, (const char *const[]){"a"}, -1), -EINVAL);
	assert_int_equal(metrics_set(c, (const char *const[]){"a"}, 1), -EINVAL); /* goes down */
	assert_int_equal(metrics_set(c, (const char *const[]){"a"}, 5), 0);
	assert_int_equal(metrics_observe(c, (const char *const[]){"a"}, 5), -EINVAL);
	assert_int_equal(metrics_add(c, NULL, 1), -EINVAL); /* labels missing */

	_cleanup_free_ char *text = format(m);
	struct parsed p;
	assert_parses(text, &p);
	assert_string_equal(text, "# HELP ns:c_total help\n# TYPE ns:c_total counter\n"
				  "ns:c_total{k=\"a\"} 5\n");
}

static void escaping(void **state)
{
	_metrics_cleanup_ struct metrics *m = NULL;
	struct metrics_family *g;
	const char *nasty = "back\\slash \"quoted\"\nnew line, {braces}=";
	struct parsed p;
	char buf[128];

	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family(m, "esc", "help with \\ and\nnewline", METRICS_GAUGE,
					(const char *const[]){"v", "w", NULL}, NULL, 0, &g),
			 0);
	assert_int_equal(metrics_set(g, (const char *const[]){nasty, ""}, -0.5), 0);
	assert_int_equal(metrics_set(g, (const char *const[]){"inf", "x"}, INFINITY), 0);
	assert_int_equal(metrics_set(g, (const char *const[]){"nan", "x"}, NAN), 0);
	_cleanup_free_ char *text = format(m);
	assert_parses(text, &p);
	assert_non_null(strstr(text, "# HELP esc help with \\\\ and\\nnewline\n"));
	assert_non_null(strstr(text, "esc{v=\"back\\\\slash \\\"quoted\\\"\\nnew line, {braces}=\",w=\"\"} -0.5\n"));
	assert_non_null(strstr(text, "esc{v=\"inf\",w=\"x\"} +Inf\n"));
	assert_non_null(strstr(text, "esc{v=\"nan\",w=\"x\"} NaN\n"));
	/* Round trip through the parser gives the original bytes. */
	assert_int_equal(p.n, 3);
	assert_string_equal(p.s[0].labels[0][1], nasty);

	assert_int_equal(metrics_escape_label("a\"b", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "a\\\"b");
	assert_int_equal(metrics_escape_label("\\\\", buf, 3), 4); /* truncated, NUL-terminated */
	assert_string_equal(buf, "\\\\");
}

static void histogram(void **state)
{
	_metrics_cleanup_ struct metrics *m = NULL;
	struct metrics_family *h;
	struct parsed p;

	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family(m, "lat_seconds", "latency", METRICS_HISTOGRAM,
					(const char *const[]){"ecu", NULL}, (double[]){0.01, 0.1, 1}, 3,
					&h),
			 0);
	static const double obs[] = {0.005, 0.01, 0.05, 0.5, 0.7, 3};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(metrics_observe(h, (const char *const[]){"bcm"}, obs[i]), 0);
	assert_int_equal(metrics_observe(h, (const char *const[]){"bcm"}, NAN), -EINVAL);
	_cleanup_free_ char *text = format(m);
	assert_parses(text, &p);
	assert_string_equal(text, "# HELP lat_seconds latency\n# TYPE lat_seconds histogram\n"
				  "lat_seconds_bucket{ecu=\"bcm\",le=\"0.01\"} 2\n"
				  "lat_seconds_bucket{ecu=\"bcm\",le=\"0.1\"} 3\n"
				  "lat_seconds_bucket{ecu=\"bcm\",le=\"1\"} 5\n"
				  "lat_seconds_bucket{ecu=\"bcm\",le=\"+Inf\"} 6\n"
				  "lat_seconds_sum{ecu=\"bcm\"} 4.265\n"
				  "lat_seconds_count{ecu=\"bcm\"} 6\n");
}

static void bodydiag_series(void **state)
{
	_metrics_cleanup_ struct metrics *m = NULL;
	const struct parsed_sample *s;
	struct parsed p;

	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_bus_state(m, "can0", "error-active"), 0);
	assert_int_equal(metrics_bus_state(m, "can0", "bus-off"), 0);
	assert_int_equal(metrics_bus_errors(m, "can0", "bus-off", 1), 0);
	assert_int_equal(metrics_bus_errors(m, "can0", "bus-off", 2), 0);
	assert_int_equal(metrics_bus_frame_rate(m, "can0", 812.5), 0);
	assert_int_equal(metrics_request(m, "bcm", 0x22, 0.012, -1, false), 0);
	assert_int_equal(metrics_request(m, "bcm", 0x2f, 0.030, 0x22, false), 0);
	assert_int_equal(metrics_request(m, "bcm", 0x22, 0, -1, true), 0);
	assert_int_equal(metrics_forward_queue(m, 17, 3), 0);
	_cleanup_free_ char *text = format(m);
	assert_parses(text, &p);

	s = find(&p, "bodydiag_bus_state", "state", "bus-off");
	assert_non_null(s);
	assert_true(s->value == 1);
	s = find(&p, "bodydiag_bus_state", "state", "error-active");
	assert_true(s && s->value == 0);
	s = find(&p, "bodydiag_bus_errors_total", "kind", "bus-off");
	assert_true(s && s->value == 3);
	s = find(&p, "bodydiag_bus_frames_per_second", "interface", "can0");
	assert_true(s && s->value == 812.5);
	s = find(&p, "bodydiag_nrc_total", "nrc", "0x22");
	assert_true(s && s->value == 1);
	s = find(&p, "bodydiag_request_timeouts_total", "service", "0x22");
	assert_true(s && s->value == 1);
	s = find(&p, "bodydiag_request_duration_seconds_count", "service", "0x22");
	assert_true(s && s->value == 1);
	s = find(&p, "bodydiag_forward_queue_depth", NULL, NULL);
	assert_true(s && s->value == 17);
	s = find(&p, "bodydiag_forward_dropped_total", NULL, NULL);
	assert_true(s && s->value == 3);
}

static int collector_runs;
static void collector(struct metrics *m, void *userdata)
{
	collector_runs++;
	metrics_forward_queue(m, (uint64_t)collector_runs, 0);
}

static void serve_metrics(struct api_request *req, json_t *params, void *userdata)
{
	metrics_api_query(userdata, req, params);
}

static void textfile_and_api(void **state)
{
	_metrics_cleanup_ struct metrics *m = NULL;
	char dir[64], path[128], *content = NULL;
	struct parsed p;
	size_t n = 0;
	FILE *fp;

	snprintf(dir, sizeof(dir), "/tmp/bodydiag-metrics-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bodydiag.prom", dir);
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_add_collector(m, collector, NULL), 0);
	assert_int_equal(metrics_write_textfile(m, path), 0);
	assert_int_equal(metrics_write_textfile(m, path), 0); /* replaces */
	assert_int_equal(collector_runs, 2);

	fp = fopen(path, "r");
	assert_non_null(fp);
	content = calloc(1, 65536);
	n = fread(content, 1, 65535, fp);
	fclose(fp);
	assert_true(n > 0);
	assert_parses(content, &p);
	assert_true(find(&p, "bodydiag_forward_queue_depth", NULL, NULL)->value == 2);
	free(content);

	/* Only the final file is left: the temp file was renamed, not copied. */
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")))
			files++;
	closedir(d);
	assert_int_equal(files, 1);
	assert_int_equal(metrics_write_textfile(m, "/nonexistent-dir/x.prom"), -ENOENT);

	/* The same text through the API. */
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct test_api t;
	assert_int_equal(test_api_start(&t, loop), 0);
	assert_int_equal(api_server_register(t.server, &(struct api_method){.name = "metrics",
				.privilege = API_PRIVILEGE_NONE, .handler = serve_metrics, .userdata = m}), 0);
	json_t *reply = test_api_call(&t, "{\"v\":1,\"id\":1,\"method\":\"metrics\"}");
	assert_non_null(reply);
	const char *text = json_string_value(json_object_get(json_object_get(reply, "result"), "text"));
	assert_non_null(text);
	assert_parses(text, &p);
	assert_true(find(&p, "bodydiag_forward_queue_depth", NULL, NULL)->value == 4);
	json_decref(reply);
	reply = test_api_call(&t, "{\"v\":1,\"id\":2,\"method\":\"metrics\",\"params\":{\"x\":1}}");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
		"invalid_params");
	json_decref(reply);
	test_api_stop(&t);
	ev_loop_destroy(loop);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_parser_can_fail),
		cmocka_unit_test(families_and_names),
		cmocka_unit_test(escaping),
		cmocka_unit_test(histogram),
		cmocka_unit_test(bodydiag_series),
		cmocka_unit_test(textfile_and_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
