/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_client.h"

int api_client_connect(struct api_client *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	*c = (struct api_client){.fd = -1, .next_id = 1};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* Blocking on purpose: the CLI does one thing at a time. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	c->fd = fd;
	return 0;
}

void api_client_close(struct api_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the next line into a parsed JSON object (owned by the caller). */
static int read_line(struct api_client *c, json_t **ret)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

		if (nl) {
			size_t line = (size_t)(nl - c->buf);
			json_t *j = json_loadb(c->buf, line, JSON_REJECT_DUPLICATES, NULL);

			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
			if (!json_is_object(j)) {
				json_decref(j);
				return -EPROTO;
			}
			*ret = j;
			return 0;
		}
		if (c->len == c->cap) {
			size_t ncap = c->cap ? c->cap * 2 : 8192;
			char *nb;

			if (ncap > API_CLIENT_MAX_LINE)
				return -EMSGSIZE;
			nb = realloc(c->buf, ncap);
			if (!nb)
				return -ENOMEM;
			c->buf = nb;
			c->cap = ncap;
		}
		if (c->tick) {
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			int k = poll(&p, 1, c->tick_ms);
			if (k < 0 && errno != EINTR)
				return -errno;
			if (k <= 0) {
				c->tick(c->tick_userdata);
				continue;
			}
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		c->len += (size_t)n;
	}
}

static int handle_event(json_t *j, api_client_event_fn on_event, void *userdata)
{
	json_t *ev = json_object_get(j, "event");

	if (!json_is_string(ev) || !on_event)
		return 0;
	return on_event(userdata, json_string_value(ev), json_object_get(j, "data"));
}

int api_client_call(struct api_client *c, const char *method, json_t *params,
		    api_client_event_fn on_event, void *userdata, json_t **ret_result,
		    json_t **ret_error)
{
	long id = c->next_id++;
	json_t *req = json_pack("{s:i,s:I,s:s}", "v", 1, "id", (json_int_t)id, "method", method);
	char *line;
	int r;

	if (!req) {
		json_decref(params);
		return -ENOMEM;
	}
	if (params)
		json_object_set_new(req, "params", params);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return -ENOMEM;
	r = send_all(c->fd, line, strlen(line));
	if (r == 0)
		r = send_all(c->fd, "\n", 1);
	free(line);
	if (r < 0)
		return r;
	for (;;) {
		json_t *j = NULL, *rid, *res, *err;

		r = read_line(c, &j);
		if (r < 0)
			return r;
		rid = json_object_get(j, "id");
		if (!rid) {
			err = json_object_get(j, "error");
			if (err) {
				/* An error without id (rate_limited, too_many_clients) is ours. */
				*ret_error = json_incref(err);
				json_decref(j);
				return 0;
			}
			r = handle_event(j, on_event, userdata);
			json_decref(j);
			if (r < 0)
				return r;
			continue;
		}
		if (!json_is_integer(rid) || json_integer_value(rid) != id) {
			json_decref(j);
			continue;
		}
		res = json_object_get(j, "result");
		err = json_object_get(j, "error");
		if (res)
			*ret_result = json_incref(res);
		else if (err)
			*ret_error = json_incref(err);
		else {
			json_decref(j);
			return -EPROTO;
		}
		json_decref(j);
		return 0;
	}
}

int api_client_events(struct api_client *c, api_client_event_fn on_event, void *userdata)
{
	for (;;) {
		json_t *j = NULL;
		int r = read_line(c, &j);

		if (r == -ECONNRESET)
			return 0;
		if (r < 0)
			return r;
		r = handle_event(j, on_event, userdata);
		json_decref(j);
		if (r < 0)
			return r;
	}
}

void api_client_set_tick(struct api_client *c, int ms, void (*tick)(void *userdata),
			 void *userdata)
{
	c->tick = tick;
	c->tick_userdata = userdata;
	c->tick_ms = ms > 0 ? ms : 1000;
}

enum api_client_exit api_client_exit_for(const char *code)
{
	static const struct {
		const char *code;
		enum api_client_exit exit;
	} map[] = {
		{"invalid_params", API_EXIT_USAGE},
		{"permission_denied", API_EXIT_PERMISSION},
		{"not_found", API_EXIT_NOT_FOUND},
		{"timeout", API_EXIT_TIMEOUT},
		{"unavailable", API_EXIT_UNAVAILABLE},
		/* The failures on the way to an ECU keep the statuses they had as "timeout"
		 * and "unavailable" (bodydiag(1)), so scripts need not change. */
		{"response_pending_limit", API_EXIT_TIMEOUT},
		{"busy_limit", API_EXIT_TIMEOUT},
		{"transport_timeout", API_EXIT_TIMEOUT},
		{"isotp_error", API_EXIT_UNAVAILABLE},
		{"link_down", API_EXIT_UNAVAILABLE},
		{"transport_error", API_EXIT_UNAVAILABLE},
		{"invalid_response", API_EXIT_UNAVAILABLE},
	};

	for (size_t i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].exit;
	return API_EXIT_DAEMON;
}
