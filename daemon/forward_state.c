/* SPDX-License-Identifier: MIT */
/*
 * The forwarder's state file: written by bodydiag-forward, read by bodydiagd (status,
 * metrics). See forward_state.h.
 */
#include "forward_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "macro.h"
#include "small_file.h"

static const char *const LINK_NAMES[FORWARD_LINK_MAX] = {
	[FORWARD_LINK_STARTING] = "starting",	[FORWARD_LINK_CONNECTING] = "connecting",
	[FORWARD_LINK_CONNECTED] = "connected", [FORWARD_LINK_WAITING] = "waiting",
	[FORWARD_LINK_STOPPED] = "stopped",
};

const char *forward_link_name(enum forward_link l)
{
	return (unsigned)l < FORWARD_LINK_MAX ? LINK_NAMES[l] : NULL;
}

char *forward_state_format(const struct forward_state *s)
{
	json_t *o = json_pack(
		"{s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:b,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "link",
		forward_link_name(s->link) ? forward_link_name(s->link) : "starting", "pid",
		(json_int_t)s->pid, "updated_boot_us", (json_int_t)s->updated_boot_us, "updated_us",
		(json_int_t)s->updated_us, "since_us", (json_int_t)s->since_us, "retry_us",
		(json_int_t)s->retry_us, "broker", s->broker, "tls", s->tls, "unit", s->unit, "epoch",
		(json_int_t)s->epoch, "error", s->error, "published", (json_int_t)s->published,
		"resent", (json_int_t)s->resent, "receipted", (json_int_t)s->receipted, "rejected",
		(json_int_t)s->rejected, "connects", (json_int_t)s->connects, "failures",
		(json_int_t)s->failures, "last_receipt_us", (json_int_t)s->last_receipt_us);
	char *out;

	if (!o)
		return NULL;
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static int fail(char *err, size_t size, const char *fmt, const char *what)
{
	if (err && size)
		snprintf(err, size, fmt, what);
	return -EINVAL;
}

/* A string member into buf, which it must fit. */
static int get_string(json_t *o, const char *key, char *buf, size_t size, char *err,
		      size_t err_size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, err_size, "/%s: a string without NUL of limited length is required",
			    key);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_int(json_t *o, const char *key, int64_t *ret, char *err, size_t err_size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(err, err_size, "/%s: a non-negative integer is required", key);
	*ret = json_integer_value(v);
	return 0;
}

int forward_state_parse(const char *buf, size_t len, struct forward_state *ret, char *err,
			size_t err_size)
{
	static const struct {
		const char *key;
		size_t off;
	} ints[] = {
#define I(m) {#m, offsetof(struct forward_state, m)}
		I(pid),	     I(updated_boot_us), I(updated_us), I(since_us), I(retry_us),
		I(epoch),    I(last_receipt_us),
#undef I
	}, counters[] = {
#define C(m) {#m, offsetof(struct forward_state, m)}
		C(published), C(resent), C(receipted), C(rejected), C(connects), C(failures),
#undef C
	};
	struct forward_state s = {0};
	json_error_t jerr;
	json_t *o, *v;
	int64_t n;
	int r = 0;

	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		if (err && err_size)
			snprintf(err, err_size, "line %d, column %d: %s", jerr.line, jerr.column,
				 jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return fail(err, err_size, "%s: an object is required", "/");
	}
	v = json_object_get(o, "link");
	s.link = FORWARD_LINK_MAX;
	for (unsigned i = 0; json_is_string(v) && i < FORWARD_LINK_MAX; i++)
		if (strcmp(json_string_value(v), LINK_NAMES[i]) == 0)
			s.link = (enum forward_link)i;
	if (s.link == FORWARD_LINK_MAX)
		r = fail(err, err_size, "/%s: not a known link state", "link");
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(ints); i++)
		r = get_int(o, ints[i].key, (int64_t *)((char *)&s + ints[i].off), err, err_size);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(counters); i++) {
		r = get_int(o, counters[i].key, &n, err, err_size);
		if (r >= 0)
			*(uint64_t *)((char *)&s + counters[i].off) = (uint64_t)n;
	}
	if (r >= 0)
		r = get_string(o, "broker", s.broker, sizeof(s.broker), err, err_size);
	if (r >= 0)
		r = get_string(o, "unit", s.unit, sizeof(s.unit), err, err_size);
	if (r >= 0)
		r = get_string(o, "error", s.error, sizeof(s.error), err, err_size);
	v = json_object_get(o, "tls");
	if (r >= 0 && !json_is_boolean(v))
		r = fail(err, err_size, "/%s: true or false is required", "tls");
	s.tls = json_is_true(v);
	json_decref(o);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

int forward_state_write(const char *path, const struct forward_state *s)
{
	char tmp[4200];
	char *json = forward_state_format(s);
	size_t len, off = 0;
	int fd, r = 0;

	if (!json)
		return -ENOMEM;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		free(json);
		return -ENAMETOOLONG;
	}
	len = strlen(json);
	json[len++] = '\n'; /* json_dumps' NUL becomes the line's end */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		free(json);
		return r;
	}
	while (off < len) {
		ssize_t n = write(fd, json + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(json);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int forward_state_read(const char *path, struct forward_state *ret, char *err, size_t err_size)
{
	char buf[FORWARD_STATE_MAX_BYTES + 1];
	size_t len;
	int r = small_file_read(path, buf, sizeof(buf), &len);

	if (r < 0)
		return r;
	return forward_state_parse(buf, len, ret, err, err_size);
}

bool forward_state_fresh(const struct forward_state *s, int64_t boot_now_us)
{
	return s->updated_boot_us <= boot_now_us &&
	       boot_now_us - s->updated_boot_us <= (int64_t)FORWARD_STATE_STALE_S * 1000000;
}

static json_t *time_or_null(int64_t t_us)
{
	char buf[40];

	if (!t_us)
		return json_null();
	history_format_time(t_us, buf, sizeof(buf));
	return json_string(buf);
}

json_t *forward_state_status_json(const struct forward_state *s, bool fresh, const char *broker,
				  uint64_t backlog, int64_t oldest_us, uint64_t dropped)
{
	json_t *o;

	o = json_pack("{s:s,s:s,s:I,s:o,s:I}", "state",
		      s && fresh ? forward_link_name(s->link) : "not running", "broker",
		      s && s->broker[0] ? s->broker : broker, "backlog", (json_int_t)backlog,
		      "oldest", time_or_null(oldest_us), "dropped", (json_int_t)dropped);
	if (!o || !s)
		return o;
	/* A stale file still tells when the forwarder was last heard of and what went wrong. */
	json_object_set_new(o, "since", time_or_null(fresh ? s->since_us : s->updated_us));
	json_object_set_new(o, "tls", json_boolean(s->tls));
	json_object_set_new(o, "unit", json_string(s->unit));
	json_object_set_new(o, "error", s->error[0] ? json_string(s->error) : json_null());
	if (fresh && s->link == FORWARD_LINK_WAITING)
		json_object_set_new(o, "retry", time_or_null(s->retry_us));
	json_object_set_new(o, "published", json_integer((json_int_t)s->published));
	json_object_set_new(o, "resent", json_integer((json_int_t)s->resent));
	json_object_set_new(o, "receipted", json_integer((json_int_t)s->receipted));
	json_object_set_new(o, "rejected", json_integer((json_int_t)s->rejected));
	json_object_set_new(o, "last_receipt", time_or_null(s->last_receipt_us));
	return o;
}
