/* SPDX-License-Identifier: MIT */
/*
 * The protocol half of the API (docs/api.md): error codes and names, limits, the
 * authorisation decision, request parsing, reply formatting and method-parameter
 * checks. Pure functions, no sockets, no loop: fuzzed (tests/fuzz/fuzz-api-request.c)
 * and shared by every module that serves methods. The server is api.c.
 */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-build.h"
#include "json_text.h"
#include "macro.h"

static const struct {
	const char *code;
	const char *description;
} errors[API_ERROR_MAX] = {
	[API_ERROR_PARSE_ERROR] = {"parse_error", "the line is not valid JSON (or not UTF-8)"},
	[API_ERROR_INVALID_REQUEST] = {"invalid_request",
				       "valid JSON, but not a request envelope"},
	[API_ERROR_UNSUPPORTED_VERSION] = {"unsupported_version",
					   "the envelope's \"v\" is not a version this daemon "
					   "speaks"},
	[API_ERROR_LINE_TOO_LONG] = {"line_too_long",
				     "the line exceeded the maximum line size and was discarded"},
	[API_ERROR_UNKNOWN_METHOD] = {"unknown_method", "no such method"},
	[API_ERROR_INVALID_PARAMS] = {"invalid_params", "the method's params are not valid"},
	[API_ERROR_PERMISSION_DENIED] = {"permission_denied",
					 "the peer lacks the privilege the method needs"},
	[API_ERROR_RATE_LIMITED] = {"rate_limited", "the client exceeded its request rate"},
	[API_ERROR_TOO_MANY_REQUESTS] = {"too_many_requests",
					 "the client has too many unanswered requests"},
	[API_ERROR_TOO_MANY_CLIENTS] = {"too_many_clients",
					"the daemon serves its maximum number of clients"},
	[API_ERROR_NOT_FOUND] = {"not_found", "the named ECU, DID, signal or item is unknown"},
	[API_ERROR_UNAVAILABLE] = {"unavailable",
				   "the service cannot be provided now (bus down, disabled)"},
	[API_ERROR_TIMEOUT] = {"timeout", "the operation did not complete in time"},
	[API_ERROR_INTERNAL] = {"internal_error", "the daemon failed (out of memory, bug)"},
	[API_ERROR_RESPONSE_PENDING_LIMIT] = {"response_pending_limit",
					      "the ECU kept answering responsePending (0x78) "
					      "beyond the limit"},
	[API_ERROR_BUSY_LIMIT] = {"busy_limit",
				  "the ECU still answered busyRepeatRequest (0x21) after the "
				  "resends"},
	[API_ERROR_TRANSPORT_TIMEOUT] = {"transport_timeout",
					 "ISO-TP timeout: the ECU's answer stopped mid-transfer "
					 "(N_Cr) or its flow control did not come (N_Bs)"},
	[API_ERROR_ISOTP_ERROR] = {"isotp_error",
				   "ISO-TP failure: bad or missing flow control, wrong sequence, "
				   "malformed frame, PDU too long"},
	[API_ERROR_LINK_DOWN] = {"link_down", "the CAN interface is down or gone"},
	[API_ERROR_TRANSPORT_ERROR] = {"transport_error",
				       "the CAN socket failed otherwise (transmit queue full, ...)"},
	[API_ERROR_INVALID_RESPONSE] = {"invalid_response",
					"the ECU's answer does not fit the request"},
};

static const char *const privilege_names[API_PRIVILEGE_MAX] = {
	[API_PRIVILEGE_NONE] = "none",
	[API_PRIVILEGE_READ] = "read",
	[API_PRIVILEGE_ADMIN] = "admin",
};

const char *api_error_code(enum api_error err)
{
	if ((unsigned)err >= API_ERROR_MAX)
		return NULL;
	return errors[err].code;
}

const char *api_error_description(enum api_error err)
{
	if ((unsigned)err >= API_ERROR_MAX)
		return NULL;
	return errors[err].description;
}

const char *api_privilege_name(enum api_privilege p)
{
	if ((unsigned)p >= API_PRIVILEGE_MAX)
		return NULL;
	return privilege_names[p];
}

void api_limits_default(struct api_limits *limits)
{
	*limits = (struct api_limits){
		.max_clients = 64,
		.max_line = 64 * 1024,
		.max_output = 1024 * 1024,
		.max_pending = 16,
		.rate_limit = 20,
		.rate_burst = 0,
	};
}

int api_groups_resolve(const char *admin_group, const char *read_group,
		       struct api_groups *ret_groups)
{
	struct api_groups g = {0};
	struct group *gr;

	errno = 0;
	gr = admin_group ? getgrnam(admin_group) : NULL;
	if (gr) {
		g.have_admin = true;
		g.admin_gid = gr->gr_gid;
	} else if (errno != 0 && errno != ENOENT && errno != ESRCH && errno != EBADF &&
		   errno != EPERM) {
		/* getgrnam() reports "not found" with any of these, or with 0. */
		return -errno;
	}
	errno = 0;
	gr = read_group ? getgrnam(read_group) : NULL;
	if (gr) {
		g.have_read = true;
		g.read_gid = gr->gr_gid;
	} else if (errno != 0 && errno != ENOENT && errno != ESRCH && errno != EBADF &&
		   errno != EPERM) {
		return -errno;
	}
	*ret_groups = g;
	return 0;
}

int api_user_groups(uid_t uid, gid_t gid, gid_t **ret_gids, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ gid_t *gids = NULL;
	struct passwd pw, *found = NULL;
	size_t size = 1024;
	int n = 16, r;

	for (;;) {
		char *b = realloc(buf, size);

		if (!b)
			return -ENOMEM;
		buf = b;
		r = getpwuid_r(uid, &pw, buf, size, &found);
		if (r != ERANGE || size >= 1 << 20)
			break;
		size *= 2;
	}
	/* "Not found" comes as 0 with no entry or as one of these, as with getgrnam(). */
	if (r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM)
		return -r;
	for (;;) {
		int room = found ? n : 1;
		gid_t *g = realloc(gids, (size_t)room * sizeof(gid_t));

		if (!g)
			return -ENOMEM;
		gids = g;
		if (!found) { /* a uid without a user: its primary group, as a kernel would say */
			gids[0] = gid;
			n = 1;
			break;
		}
		/* Too small: -1, and glibc sets n to the number needed. */
		if (getgrouplist(pw.pw_name, gid, gids, &n) >= 0)
			break;
		if (n <= room)
			n = room * 2;
		if (n > 65536) /* NGROUPS_MAX */
			return -E2BIG;
	}
	*ret_gids = steal_ptr(gids);
	*ret_n = (size_t)n;
	return 0;
}

enum api_privilege api_peer_privilege(uid_t uid, const gid_t *gids, size_t n_gids,
				      const struct api_groups *groups)
{
	bool read = false;

	if (uid == 0)
		return API_PRIVILEGE_ADMIN;
	for (size_t i = 0; i < n_gids; i++) {
		if (groups->have_admin && gids[i] == groups->admin_gid)
			return API_PRIVILEGE_ADMIN;
		if (groups->have_read && gids[i] == groups->read_gid)
			read = true;
	}
	return read ? API_PRIVILEGE_READ : API_PRIVILEGE_NONE;
}

/* --- parsing and formatting --- */

static int invalid(struct api_parsed_request *r, enum api_error err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int invalid(struct api_parsed_request *r, enum api_error err, const char *fmt, ...)
{
	va_list ap;

	r->error = err;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return 1;
}

bool api_method_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > API_MAX_METHOD_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int api_request_parse(const char *line, size_t len, struct api_parsed_request *ret)
{
	json_error_t jerr;
	json_t *v, *id, *method, *params;
	const char *key;
	json_t *value;

	memset(ret, 0, sizeof(*ret));
	ret->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!ret->root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return -ENOMEM;
		return invalid(ret, API_ERROR_PARSE_ERROR, "column %d: %s", jerr.column,
			       jerr.text);
	}
	if (!json_is_object(ret->root))
		return invalid(ret, API_ERROR_INVALID_REQUEST, "a request is a JSON object");

	/* The id first, so that every later error can be matched to the request. */
	id = json_object_get(ret->root, "id");
	if (id) {
		if (json_is_string(id) && json_string_length(id) > API_MAX_ID_STRING)
			return invalid(ret, API_ERROR_INVALID_REQUEST,
				       "\"id\" longer than %d bytes", API_MAX_ID_STRING);
		if (!json_is_integer(id) && !json_is_string(id))
			return invalid(ret, API_ERROR_INVALID_REQUEST,
				       "\"id\" must be an integer or a string");
		ret->id = id;
	}
	json_object_foreach(ret->root, key, value) {
		if (strcmp(key, "v") != 0 && strcmp(key, "id") != 0 &&
		    strcmp(key, "method") != 0 && strcmp(key, "params") != 0)
			return invalid(ret, API_ERROR_INVALID_REQUEST, "unknown member \"%.64s\"",
				       key);
	}
	v = json_object_get(ret->root, "v");
	if (!v)
		return invalid(ret, API_ERROR_INVALID_REQUEST, "missing \"v\" (API version)");
	if (!json_is_integer(v))
		return invalid(ret, API_ERROR_INVALID_REQUEST, "\"v\" must be an integer");
	if (json_integer_value(v) != API_VERSION)
		return invalid(ret, API_ERROR_UNSUPPORTED_VERSION,
			       "API version %" JSON_INTEGER_FORMAT " not supported (this is %d)",
			       json_integer_value(v), API_VERSION);
	method = json_object_get(ret->root, "method");
	if (!method)
		return invalid(ret, API_ERROR_INVALID_REQUEST, "missing \"method\"");
	if (!json_is_string(method))
		return invalid(ret, API_ERROR_INVALID_REQUEST, "\"method\" must be a string");
	if (!api_method_name_valid(json_string_value(method), json_string_length(method)))
		return invalid(ret, API_ERROR_INVALID_REQUEST,
			       "\"method\" must be 1-%d characters of a-z 0-9 . _ -",
			       API_MAX_METHOD_NAME);
	params = json_object_get(ret->root, "params");
	if (params && !json_is_object(params))
		return invalid(ret, API_ERROR_INVALID_REQUEST, "\"params\" must be an object");
	if (!params) {
		if (json_object_set_new(ret->root, "params", json_object()) < 0)
			return -ENOMEM;
		params = json_object_get(ret->root, "params");
		if (!params)
			return -ENOMEM;
	}
	ret->method = json_string_value(method);
	ret->params = params;
	return 0;
}

void api_parsed_request_finish(struct api_parsed_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

/* Serialises obj (stolen) as one compact line with a newline. */
static char *dump_line(json_t *obj, size_t *ret_len)
{
	char *s, *line;
	size_t n;

	if (!obj)
		return NULL;
	/* Compact output escapes control characters, so the line holds no raw newline;
	 * reals in their shortest round-trip form. */
	s = json_text_dumps(obj, JSON_TEXT_COMPACT, &n);
	json_decref(obj);
	if (!s)
		return NULL;
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (ret_len)
		*ret_len = n + 1;
	return line;
}

static json_t *envelope(const json_t *id)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "v", json_integer(API_VERSION)) < 0 ||
	    (id && json_object_set_new(o, "id", json_deep_copy(id)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct json_text *api_result_begin(const json_t *id)
{
	struct json_text *w = json_text_new(JSON_TEXT_COMPACT);

	if (!w)
		return NULL;
	/* envelope()'s members, in its order */
	json_text_object_begin(w);
	json_text_key(w, "v");
	json_text_integer(w, API_VERSION);
	if (id) {
		json_text_key(w, "id");
		json_text_value(w, id);
	}
	json_text_key(w, "result");
	return w;
}

char *api_result_end(struct json_text *w, size_t *ret_len)
{
	size_t n;
	char *line;

	if (!w)
		return NULL;
	json_text_object_end(w);
	json_text_raw(w, "\n", 1);
	line = json_text_finish(w, &n);
	if (line && ret_len)
		*ret_len = n;
	return line;
}

char *api_format_result(const json_t *id, json_t *result, size_t *ret_len)
{
	struct json_text *w = api_result_begin(id);

	if (w && result) {
		json_text_value(w, result);
	} else if (w) {
		json_text_object_begin(w); /* {} */
		json_text_object_end(w);
	}
	json_decref(result);
	return api_result_end(w, ret_len);
}

char *api_format_error(const json_t *id, enum api_error err, const char *message,
		       size_t *ret_len)
{
	json_t *o = envelope(id), *e;
	const char *code = api_error_code(err);

	if (!o)
		return NULL;
	e = json_pack("{s:s,s:s}", "code", code ? code : "internal_error", "message",
		      message ? message : "");
	/*
	 * message may be a jansson error text quoting invalid input; json_pack refuses
	 * invalid UTF-8, so fall back to the fixed description.
	 */
	if (!e)
		e = json_pack("{s:s,s:s}", "code", code ? code : "internal_error", "message",
			      api_error_description(err) ? api_error_description(err) : "");
	if (!e || json_object_set_new(o, "error", e) < 0) {
		json_decref(o);
		return NULL;
	}
	return dump_line(o, ret_len);
}

char *api_format_event(const char *event, json_t *data, size_t *ret_len)
{
	json_t *o = envelope(NULL);

	if (!data)
		data = json_object();
	if (!o || !data || json_object_set_new(o, "event", json_string(event)) < 0 ||
	    json_object_set_new(o, "data", data) < 0) {
		if (!o)
			json_decref(data);
		json_decref(o);
		return NULL;
	}
	return dump_line(o, ret_len);
}

int api_params_check(struct api_request *req, json_t *params, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS, "unknown parameter \"%s\"",
					 key);
			return -EINVAL;
		}
	}
	return 0;
}
