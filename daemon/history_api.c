/* SPDX-License-Identifier: MIT */
/*
 * The API method "history" (docs/api.md): the filter parameters, a reply bounded to
 * fit the client's output buffer. Registered by the records module.
 */
#include "history_api.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bodydiag/dtc.h>

#include "api.h"
#include "json_text.h"

/* Fills f from the method's params; on failure *ret_msg says why. */
static int filter_from_params(json_t *params, struct history_filter *f, const char **ret_msg)
{
	const char *key;
	json_t *v;

	memset(f, 0, sizeof(*f));
	f->limit = HISTORY_DEFAULT_LIMIT;
	json_object_foreach(params, key, v) {
		if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
			int64_t t;
			if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			    json_integer_value(v) < 100000000000ll)
				t = json_integer_value(v) * 1000000;
			else if (json_is_real(v) && json_real_value(v) >= 0 &&
				 json_real_value(v) < 1e11)
				t = (int64_t)llround(json_real_value(v) * 1e6);
			else if (!json_is_string(v) ||
				 history_parse_time(json_string_value(v), &t) < 0) {
				*ret_msg = "\"since\"/\"until\": Unix seconds or an ISO 8601 UTC time";
				return -EINVAL;
			}
			if (key[0] == 's')
				f->since_us = t;
			else
				f->until_us = t;
		} else if (strcmp(key, "vin") == 0) {
			if (!json_is_string(v)) {
				*ret_msg = "\"vin\" must be a string";
				return -EINVAL;
			}
			f->vin = json_string_value(v);
		} else if (strcmp(key, "code") == 0) {
			if (!json_is_string(v) || dtc_parse(json_string_value(v), &f->code) < 0) {
				*ret_msg = "\"code\" must be a DTC such as \"B1A40-13\"";
				return -EINVAL;
			}
			f->have_code = true;
		} else if (strcmp(key, "cause") == 0) {
			if (!json_is_string(v)) {
				*ret_msg = "\"cause\" must be a string";
				return -EINVAL;
			}
			f->cause = json_string_value(v);
		} else if (strcmp(key, "session") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				*ret_msg = "\"session\" must be a positive integer";
				return -EINVAL;
			}
			f->session = json_integer_value(v);
		} else if (strcmp(key, "kind") == 0) {
			enum history_kind k;
			if (!json_is_string(v) || history_kind_from_name(json_string_value(v), &k) < 0) {
				*ret_msg = "\"kind\" must be session, dtc, transition, finding or bus";
				return -EINVAL;
			}
			f->kinds = 1u << k;
		} else if (strcmp(key, "limit") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > HISTORY_MAX_LIMIT) {
				*ret_msg = "\"limit\" must be an integer from 1 to 10000";
				return -EINVAL;
			}
			f->limit = (unsigned)json_integer_value(v);
		} else {
			*ret_msg = "unknown parameter (since, until, vin, code, cause, session, kind, limit)";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A reply has to fit the API's per-client output bound (1 MiB by default) with room to
 * spare, or the client would be dropped instead of answered. The rows are written as text
 * straight into the reply line: as jansson objects (a dozen allocations per row, two
 * hundred rows a reply) they were the churn that left the heap fragmented a little more
 * after every few thousand requests (issue 19, bench/memory-bench.sh).
 */
#define API_REPLY_BUDGET (512u * 1024)

struct collect {
	struct json_text *w;
	size_t start;	 /* bytes before the first row */
	unsigned n, max; /* rows written, rows asked for */
	bool truncated;
};

static int collect_row(const struct history_row *row, void *userdata)
{
	struct collect *c = userdata;
	struct json_text_mark m;

	if (c->n == c->max) { /* the one more than asked for: the result was cut */
		c->truncated = true;
		return -ENOSPC;
	}
	m = json_text_mark(c->w);
	history_row_write_json(c->w, row);
	if (json_text_failed(c->w))
		return -ENOMEM;
	if (json_text_length(c->w) - c->start > API_REPLY_BUDGET) {
		json_text_rewind(c->w, m);
		c->truncated = true;
		return -ENOSPC;
	}
	c->n++;
	return 0;
}

void history_api_query(struct history *h, struct api_request *req, json_t *params)
{
	struct history_filter f;
	const char *msg = NULL;
	struct collect c = {0};
	int n;

	if (filter_from_params(params, &f, &msg) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "%s", msg);
		return;
	}
	c.w = api_request_reply_begin(req);
	if (!c.w) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	json_text_object_begin(c.w);
	json_text_key(c.w, "records");
	json_text_array_begin(c.w);
	c.start = json_text_length(c.w);
	c.max = f.limit;
	f.limit++;
	n = history_query(h, &f, collect_row, &c);
	if (n < 0 && !c.truncated) {
		json_text_free(c.w);
		api_request_fail(req, API_ERROR_INTERNAL, "history query failed: %s", strerror(-n));
		return;
	}
	json_text_array_end(c.w);
	json_text_key(c.w, "truncated");
	json_text_bool(c.w, c.truncated);
	json_text_object_end(c.w);
	api_request_reply_end(req, c.w);
}
