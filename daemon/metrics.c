/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/numfmt.h"
#include "api.h"
#include "log.h"
#include "macro.h"

struct series {
	char *values[METRICS_MAX_LABELS];
	double value;     /* counter, gauge */
	uint64_t *counts; /* histogram: per bucket, not cumulative */
	uint64_t count;
	double sum;
};

struct metrics_family {
	char *name, *help;
	enum metrics_type type;
	size_t n_labels;
	char *labels[METRICS_MAX_LABELS];
	double *buckets;
	size_t n_buckets;
	struct series *series;
	size_t n_series, cap_series;
};

struct collector {
	metrics_collect_fn fn;
	void *userdata;
};

struct metrics {
	struct metrics_family **families;
	size_t n_families;
	struct collector *collectors;
	size_t n_collectors;
	struct ev_loop *loop;
	ev_timer textfile_timer;
	bool timer_started;
	char *textfile;
};

static const char *const TYPE_NAMES[METRICS_TYPE_MAX] = {"counter", "gauge", "histogram"};

int metrics_new(struct metrics **ret)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	*ret = m;
	return 0;
}

static void family_free(struct metrics_family *f)
{
	for (size_t i = 0; i < f->n_series; i++) {
		for (size_t j = 0; j < f->n_labels; j++)
			free(f->series[i].values[j]);
		free(f->series[i].counts);
	}
	for (size_t j = 0; j < f->n_labels; j++)
		free(f->labels[j]);
	free(f->series);
	free(f->buckets);
	free(f->name);
	free(f->help);
	free(f);
}

struct metrics *metrics_free(struct metrics *m)
{
	if (!m)
		return NULL;
	if (m->timer_started)
		ev_timer_stop(m->loop, &m->textfile_timer);
	for (size_t i = 0; i < m->n_families; i++)
		family_free(m->families[i]);
	free(m->families);
	free(m->collectors);
	free(m->textfile);
	free(m);
	return NULL;
}

static bool name_valid(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static bool label_name_valid(const char *s)
{
	/* "le" belongs to histograms, and "__" names are reserved by Prometheus. */
	return name_valid(s, false) && strncmp(s, "__", 2) != 0 && strcmp(s, "le") != 0;
}

static bool same_shape(const struct metrics_family *f, enum metrics_type type,
		       const char *const *labels, size_t n_labels, const double *buckets,
		       size_t n_buckets)
{
	if (f->type != type || f->n_labels != n_labels || f->n_buckets != n_buckets)
		return false;
	for (size_t i = 0; i < n_labels; i++)
		if (strcmp(f->labels[i], labels[i]) != 0)
			return false;
	for (size_t i = 0; i < n_buckets; i++)
		if (f->buckets[i] != buckets[i])
			return false;
	return true;
}

int metrics_family(struct metrics *m, const char *name, const char *help, enum metrics_type type,
		   const char *const *labels, const double *buckets, size_t n_buckets,
		   struct metrics_family **ret)
{
	struct metrics_family *f, **nf;
	size_t n_labels = 0;

	if (!name_valid(name, true) || (unsigned)type >= METRICS_TYPE_MAX)
		return -EINVAL;
	for (; labels && labels[n_labels]; n_labels++)
		if (n_labels >= METRICS_MAX_LABELS || !label_name_valid(labels[n_labels]))
			return -EINVAL;
	if (type != METRICS_HISTOGRAM && n_buckets)
		return -EINVAL;
	for (size_t i = 0; i < n_buckets; i++)
		if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
			return -EINVAL;

	for (size_t i = 0; i < m->n_families; i++)
		if (strcmp(m->families[i]->name, name) == 0) {
			if (!same_shape(m->families[i], type, labels, n_labels, buckets, n_buckets))
				return -EEXIST;
			*ret = m->families[i];
			return 0;
		}

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->n_labels = n_labels;
	for (size_t i = 0; i < n_labels; i++)
		if (!(f->labels[i] = strdup(labels[i])))
			goto oom;
	if (n_buckets) {
		f->buckets = malloc(n_buckets * sizeof(double));
		if (!f->buckets)
			goto oom;
		memcpy(f->buckets, buckets, n_buckets * sizeof(double));
		f->n_buckets = n_buckets;
	}
	nf = realloc(m->families, (m->n_families + 1) * sizeof(*nf));
	if (!f->name || !f->help || !nf)
		goto oom_nf;
	m->families = nf;
	m->families[m->n_families++] = f;
	*ret = f;
	return 0;
oom_nf:
	if (nf)
		m->families = nf;
oom:
	family_free(f);
	return -ENOMEM;
}

static int series_get(struct metrics_family *f, const char *const *values, struct series **ret)
{
	struct series *s;

	for (size_t j = 0; j < f->n_labels; j++)
		if (!values || !values[j])
			return -EINVAL;
	for (size_t i = 0; i < f->n_series; i++) {
		size_t j = 0;
		for (; j < f->n_labels; j++)
			if (strcmp(f->series[i].values[j], values[j]) != 0)
				break;
		if (j == f->n_labels) {
			*ret = &f->series[i];
			return 0;
		}
	}
	if (f->n_series == f->cap_series) {
		size_t cap = f->cap_series ? f->cap_series * 2 : 4;
		struct series *ns = realloc(f->series, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		f->series = ns;
		f->cap_series = cap;
	}
	s = &f->series[f->n_series];
	memset(s, 0, sizeof(*s));
	if (f->type == METRICS_HISTOGRAM) {
		s->counts = calloc(f->n_buckets + 1, sizeof(uint64_t));
		if (!s->counts)
			return -ENOMEM;
	}
	for (size_t j = 0; j < f->n_labels; j++)
		if (!(s->values[j] = strdup(values[j]))) {
			for (size_t k = 0; k < j; k++)
				free(s->values[k]);
			free(s->counts);
			return -ENOMEM;
		}
	f->n_series++;
	*ret = s;
	return 0;
}

int metrics_set(struct metrics_family *f, const char *const *label_values, double value)
{
	struct series *s;
	int r;

	if (f->type == METRICS_HISTOGRAM)
		return -EINVAL;
	r = series_get(f, label_values, &s);
	if (r < 0)
		return r;
	if (f->type == METRICS_COUNTER && value < s->value)
		return -EINVAL;
	s->value = value;
	return 0;
}

int metrics_add(struct metrics_family *f, const char *const *label_values, double delta)
{
	struct series *s;
	int r;

	if (f->type == METRICS_HISTOGRAM || (f->type == METRICS_COUNTER && !(delta >= 0)))
		return -EINVAL;
	r = series_get(f, label_values, &s);
	if (r < 0)
		return r;
	s->value += delta;
	return 0;
}

int metrics_observe(struct metrics_family *f, const char *const *label_values, double value)
{
	struct series *s;
	size_t i;
	int r;

	if (f->type != METRICS_HISTOGRAM || isnan(value))
		return -EINVAL;
	r = series_get(f, label_values, &s);
	if (r < 0)
		return r;
	for (i = 0; i < f->n_buckets && value > f->buckets[i]; i++)
		;
	s->counts[i]++;
	s->count++;
	s->sum += value;
	return 0;
}

int metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *userdata)
{
	struct collector *nc = realloc(m->collectors, (m->n_collectors + 1) * sizeof(*nc));

	if (!nc)
		return -ENOMEM;
	m->collectors = nc;
	m->collectors[m->n_collectors++] = (struct collector){fn, userdata};
	return 0;
}

size_t metrics_escape_label(const char *in, char *buf, size_t size)
{
	size_t n = 0;

	for (; *in; in++) {
		char e[3] = {*in, 0, 0};
		if (*in == '\\' || *in == '"')
			e[0] = '\\', e[1] = *in;
		else if (*in == '\n')
			e[0] = '\\', e[1] = 'n';
		for (size_t k = 0; e[k]; k++, n++)
			if (n + 1 < size)
				buf[n] = e[k];
	}
	if (size)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

static void put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* The shortest text that reads back to v, integers without ".0" (5, 0.25, 1e-05). */
static void number(char buf[NUMFMT_DOUBLE_MAX], double v)
{
	size_t n = numfmt_double(buf, v);
	if (n > 2 && buf[n - 2] == '.' && buf[n - 1] == '0')
		buf[n - 2] = '\0';
}

static void put_value(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else {
		/* shortest round-trip: 0.25, not %.17g's noise */
		char num[NUMFMT_DOUBLE_MAX];
		number(num, v);
		fputs(num, out);
	}
}

/* {a="x",b="y"[,le="..."]}; nothing when there are no labels. */
static void put_labels(FILE *out, const struct metrics_family *f, const struct series *s,
		       const char *le)
{
	if (f->n_labels == 0 && !le)
		return;
	fputc('{', out);
	for (size_t j = 0; j < f->n_labels; j++) {
		fprintf(out, "%s%s=\"", j ? "," : "", f->labels[j]);
		put_escaped(out, s->values[j], true);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	fputc('}', out);
}

int metrics_format(struct metrics *m, char **ret_text, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	for (size_t i = 0; i < m->n_collectors; i++)
		m->collectors[i].fn(m, m->collectors[i].userdata);
	out = open_memstream(&text, &len);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_families; i++) {
		const struct metrics_family *f = m->families[i];

		fprintf(out, "# HELP %s ", f->name);
		put_escaped(out, f->help, false);
		fprintf(out, "\n# TYPE %s %s\n", f->name, TYPE_NAMES[f->type]);
		for (size_t k = 0; k < f->n_series; k++) {
			const struct series *s = &f->series[k];
			if (f->type != METRICS_HISTOGRAM) {
				fputs(f->name, out);
				put_labels(out, f, s, NULL);
				fputc(' ', out);
				put_value(out, s->value);
				fputc('\n', out);
				continue;
			}
			uint64_t cum = 0;
			for (size_t b = 0; b <= f->n_buckets; b++) {
				char le[32];
				cum += s->counts[b];
				if (b < f->n_buckets)
					number(le, f->buckets[b]);
				else
					snprintf(le, sizeof(le), "+Inf");
				fprintf(out, "%s_bucket", f->name);
				put_labels(out, f, s, le);
				fprintf(out, " %llu\n", (unsigned long long)cum);
			}
			fprintf(out, "%s_sum", f->name);
			put_labels(out, f, s, NULL);
			fputc(' ', out);
			put_value(out, s->sum);
			fprintf(out, "\n%s_count", f->name);
			put_labels(out, f, s, NULL);
			fprintf(out, " %llu\n", (unsigned long long)s->count);
		}
	}
	if (fclose(out) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int metrics_write_textfile(struct metrics *m, const char *path)
{
	_cleanup_free_ char *text = NULL, *tmp = NULL;
	const char *slash = strrchr(path, '/');
	size_t len;
	int fd, r;

	r = metrics_format(m, &text, &len);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%.*s.%s.%d.tmp", slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path, (int)getpid()) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, len);
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	/* No fsync: the file is rewritten every few seconds; a power cut only loses a sample. */
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static void textfile_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct metrics *m = container_of(w, struct metrics, textfile_timer);
	int r = metrics_write_textfile(m, m->textfile);

	if (r < 0)
		log_warning_errno(r, "metrics: writing %s: %s", m->textfile, strerror(-r));
}

int metrics_start_textfile(struct metrics *m, struct ev_loop *loop, const char *path,
			   double interval_s)
{
	char *p;

	if (!path || path[0] != '/' || !(interval_s > 0))
		return -EINVAL;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	if (m->timer_started)
		ev_timer_stop(m->loop, &m->textfile_timer);
	free(m->textfile);
	m->textfile = p;
	m->loop = loop;
	ev_timer_init(&m->textfile_timer, textfile_cb, 0, interval_s);
	ev_timer_start(loop, &m->textfile_timer);
	m->timer_started = true;
	return 0;
}

void metrics_api_query(struct metrics *m, struct api_request *req, json_t *params)
{
	char *text = NULL;
	size_t len;
	int r;

	if (json_object_size(params) != 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "\"metrics\" takes no parameters");
		return;
	}
	r = metrics_format(m, &text, &len);
	if (r < 0) {
		api_request_fail(req, API_ERROR_INTERNAL, "formatting metrics: %s", strerror(-r));
		return;
	}
	json_t *result = json_pack("{s:s,s:s%}", "format", "prometheus-text-0.0.4", "text", text, len);
	free(text);
	if (!result) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply(req, result);
}

/* --- bodydiag series --- */

static const char *const BUS_STATES[] = {
	"error-active", "error-warning", "error-passive", "bus-off", "stopped", "down",
};

/* Latency buckets in seconds: UDS P2 is 50 ms, P2* 5 s; the tail covers slow ECUs. */
static const double LATENCY_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

int metrics_bus_state(struct metrics *m, const char *interface, const char *state)
{
	struct metrics_family *f;
	bool known = false;
	int r;

	r = metrics_family(m, "bodydiag_bus_state",
			   "CAN controller state: 1 for the current state, 0 for the others",
			   METRICS_GAUGE, (const char *const[]){"interface", "state", NULL}, NULL, 0,
			   &f);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(BUS_STATES); i++) {
		bool cur = strcmp(BUS_STATES[i], state) == 0;
		known |= cur;
		r = metrics_set(f, (const char *const[]){interface, BUS_STATES[i]}, cur);
	}
	if (r >= 0 && !known)
		r = metrics_set(f, (const char *const[]){interface, state}, 1);
	return r;
}

int metrics_bus_errors(struct metrics *m, const char *interface, const char *kind, uint64_t n)
{
	struct metrics_family *f;
	int r = metrics_family(m, "bodydiag_bus_errors_total",
			       "CAN error events by kind since the daemon started", METRICS_COUNTER,
			       (const char *const[]){"interface", "kind", NULL}, NULL, 0, &f);

	return r < 0 ? r : metrics_add(f, (const char *const[]){interface, kind}, (double)n);
}

int metrics_bus_frame_rate(struct metrics *m, const char *interface, double fps)
{
	struct metrics_family *f;
	int r = metrics_family(m, "bodydiag_bus_frames_per_second",
			       "Received CAN frames per second over the last interval", METRICS_GAUGE,
			       (const char *const[]){"interface", NULL}, NULL, 0, &f);

	return r < 0 ? r : metrics_set(f, (const char *const[]){interface}, fps);
}

int metrics_request(struct metrics *m, const char *ecu, uint8_t service, double seconds, int nrc,
		    bool timeout)
{
	struct metrics_family *f;
	char sid[8], code[8];
	int r;

	snprintf(sid, sizeof(sid), "0x%02x", service);
	if (timeout) {
		r = metrics_family(m, "bodydiag_request_timeouts_total",
				   "Diagnostic requests that got no response in time", METRICS_COUNTER,
				   (const char *const[]){"ecu", "service", NULL}, NULL, 0, &f);
		return r < 0 ? r : metrics_add(f, (const char *const[]){ecu, sid}, 1);
	}
	r = metrics_family(m, "bodydiag_request_duration_seconds",
			   "Diagnostic request latency, request sent to final response",
			   METRICS_HISTOGRAM, (const char *const[]){"ecu", "service", NULL},
			   LATENCY_BUCKETS, ARRAY_SIZE(LATENCY_BUCKETS), &f);
	if (r >= 0)
		r = metrics_observe(f, (const char *const[]){ecu, sid}, seconds);
	if (r >= 0 && nrc >= 0) {
		snprintf(code, sizeof(code), "0x%02x", (unsigned)nrc & 0xff);
		r = metrics_family(m, "bodydiag_nrc_total", "Negative responses by code",
				   METRICS_COUNTER, (const char *const[]){"ecu", "service", "nrc", NULL},
				   NULL, 0, &f);
		if (r >= 0)
			r = metrics_add(f, (const char *const[]){ecu, sid, code}, 1);
	}
	return r;
}

int metrics_forward_queue(struct metrics *m, uint64_t depth, uint64_t dropped_total)
{
	struct metrics_family *f;
	int r = metrics_family(m, "bodydiag_forward_queue_depth",
			       "Records waiting in the MQTT store-and-forward queue", METRICS_GAUGE,
			       NULL, NULL, 0, &f);

	if (r >= 0)
		r = metrics_set(f, NULL, (double)depth);
	if (r >= 0)
		r = metrics_family(m, "bodydiag_forward_dropped_total",
				   "Queued records dropped because the queue was full",
				   METRICS_COUNTER, NULL, NULL, 0, &f);
	if (r >= 0)
		r = metrics_set(f, NULL, (double)dropped_total);
	return r;
}
