/* SPDX-License-Identifier: MIT */
/*
 * A minimal in-process API client for module tests (history, metrics): one request line
 * over a real Unix socket, the server's libev loop pumped until the reply line arrives.
 * Header-only so each test binary stays one .c file.
 */
#pragma once

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/api.h"

struct test_api {
	char dir[48], path[96];
	struct ev_loop *loop;
	struct api_server *server;
};

static inline int test_api_start(struct test_api *t, struct ev_loop *loop)
{
	struct api_limits limits;
	struct api_groups groups = {0};
	int r;

	snprintf(t->dir, sizeof(t->dir), "/tmp/bodydiag-api-XXXXXX");
	if (!mkdtemp(t->dir))
		return -errno;
	snprintf(t->path, sizeof(t->path), "%s/api.sock", t->dir);
	t->loop = loop;
	api_limits_default(&limits);
	limits.rate_limit = 0;
	r = api_server_new(loop, &limits, &groups, &t->server);
	if (r < 0)
		return r;
	return api_server_listen_path(t->server, t->path);
}

static inline void test_api_stop(struct test_api *t)
{
	t->server = api_server_free(t->server);
	rmdir(t->dir);
}

/* Sends one request line, returns the parsed reply (caller decrefs) or NULL after 10 s. */
static inline json_t *test_api_call(struct test_api *t, const char *line)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[1 << 20];
	size_t len = 0;
	json_t *reply = NULL;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		close(fd);
		return NULL;
	}
	for (int i = 0; i < 10000 && !reply; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ev_run(t->loop, EVRUN_NOWAIT);
		if (poll(&p, 1, 1) > 0) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			char *nl = strchr(buf, '\n');
			if (nl)
				reply = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
		}
	}
	close(fd);
	return reply;
}
