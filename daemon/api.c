/* SPDX-License-Identifier: MIT */
/*
 * The API server: listening sockets, clients with bounded buffers and rate limits,
 * SO_PEERCRED authorisation, the method table, asynchronous requests, subscriptions.
 * The protocol's pure half (parsing, formatting, names) is api_protocol.c.
 */
#include "api.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-build.h"
#include "json_text.h"
#include "list.h"
#include "log.h"
#include "macro.h"

#define MAX_LISTENERS 4
#define READ_CHUNK 16384 /* room a read asks for once a client's line outgrew IN_KEEP */
/*
 * What a client keeps between requests (issue 19, bench/memory-bench.sh): a request line
 * is a few hundred bytes and most replies under 4 KiB, so a connection holds a 1 KiB input
 * and a 4 KiB output buffer while idle. A bigger one (a long line, a history or findings
 * reply) is freed as soon as it is empty again: kept for the connection's life, 16-64
 * KiB per client sat in the middle of the heap, between the replies' freed objects, and
 * held pages around them that malloc_trim() could not return.
 */
#define IN_KEEP 1024
/*
 * Room kept free at the end of every output queue for the final "dropped" event, so a
 * slow consumer can still be told why it is disconnected when the kernel takes it.
 */
#define DROP_RESERVE 256
#define OUT_KEEP 4096 /* bytes of output buffer a client keeps between replies (IN_KEEP) */
#define ACCEPT_PAUSE 0.1 /* seconds without accepting after EMFILE and friends */
#define ACCEPT_BATCH 64  /* connections accepted per wakeup: the loop stays fair */

/* --- the server --- */

struct method_entry {
	struct api_method m; /* name and summary point to our own copies */
	char *name, *summary;
};

struct listener {
	struct api_server *server;
	ev_io io;
	int fd;
};

struct client {
	struct api_server *server;
	struct list_head link; /* server->clients, then server->zombies */
	int fd;
	ev_io read_io;
	ev_io write_io;
	struct api_peer peer;
	unsigned long serial; /* for log lines */

	char *in;
	size_t in_len, in_cap;
	bool discarding; /* inside an oversized line: drop bytes until the newline */
	bool read_eof;

	char *out;
	size_t out_start, out_len, out_cap; /* queued bytes are out[out_start, +out_len) */

	double tokens;
	ev_tstamp refill_at;

	unsigned n_pending;
	struct list_head requests;
	struct list_head subscriptions;
	bool closing;
};

struct api_request {
	struct client *client; /* NULL once orphaned */
	struct list_head link;
	json_t *id;
	char method[API_MAX_METHOD_NAME + 1];
	struct api_peer peer;
	api_cancel_fn cancel;
	void *cancel_data;
};

struct api_subscription {
	struct client *client; /* NULL once orphaned */
	struct list_head link;
	struct api_peer peer;
	api_cancel_fn on_close;
	void *data;
};

struct api_server {
	struct ev_loop *loop;
	struct api_limits limits;
	struct api_groups groups;
	struct listener listeners[MAX_LISTENERS];
	size_t n_listeners;
	char *owned_path; /* socket file we created and unlink on free */
	ev_timer accept_pause;
	ev_prepare reaper;
	struct list_head clients;
	struct list_head zombies; /* closed, freed from the reaper once no frame uses them */
	size_t n_clients;
	unsigned long next_serial;
	unsigned long rejected;      /* too_many_clients since the last log line */
	ev_tstamp reject_logged_at;
	bool groups_from_db; /* said once: SO_PEERGROUPS missing, api_user_groups() instead */
	struct method_entry *methods;
	size_t n_methods;
};

static void client_close(struct client *c, const char *reason);
static void client_maybe_finish(struct client *c);

static void client_free(struct client *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

static void reaper_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct api_server *s = container_of(w, struct api_server, reaper);

	while (!list_empty(&s->zombies)) {
		struct client *c = list_first_entry(&s->zombies, struct client, link);
		list_del(&c->link);
		client_free(c);
	}
	ev_prepare_stop(loop, w);
}

static void refill_tokens(struct client *c)
{
	const struct api_limits *l = &c->server->limits;
	double burst = l->rate_burst > 0 ? l->rate_burst : (l->rate_limit > 1 ? l->rate_limit : 1);
	ev_tstamp now = ev_now(c->server->loop);

	c->tokens += (now - c->refill_at) * l->rate_limit;
	if (c->tokens > burst)
		c->tokens = burst;
	c->refill_at = now;
}

/* Tries to write queued output now; returns 0, or -errno after closing the client. */
static int client_flush(struct client *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out + c->out_start, c->out_len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			int r = -errno;
			client_close(c, "write failed");
			return r;
		}
		c->out_start += (size_t)n;
		c->out_len -= (size_t)n;
	}
	if (c->out_len == 0) {
		c->out_start = 0;
		/* a big reply's buffer goes back now, not when the client leaves */
		if (c->out_cap > OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		ev_io_stop(c->server->loop, &c->write_io);
	} else {
		ev_io_start(c->server->loop, &c->write_io);
	}
	return 0;
}

static bool out_append(struct client *c, const char *data, size_t len)
{
	size_t need = c->out_len + len;

	if (c->out_start > 0 && c->out_start + need > c->out_cap) {
		memmove(c->out, c->out + c->out_start, c->out_len);
		c->out_start = 0;
	}
	if (c->out_start + need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : OUT_KEEP;
		char *p;
		while (cap < c->out_start + need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_start + c->out_len, data, len);
	c->out_len += len;
	return true;
}

/*
 * Queues one line (the caller keeps line). A line that does not fit in the bound makes
 * the client a slow consumer: it is told, if the reserve takes the notice, and dropped.
 * Returns 0 or -EPIPE (client closed now or before) / -ENOMEM.
 */
static int client_queue(struct client *c, const char *line, size_t len)
{
	size_t limit = c->server->limits.max_output;

	if (c->closing)
		return -EPIPE;
	if (c->out_len + len + DROP_RESERVE > limit) {
		size_t dlen;
		_cleanup_free_ char *drop = NULL;

		drop = api_format_event("dropped", json_pack("{s:s,s:I}", "reason", "slow consumer",
							     "queued_bytes",
							     (json_int_t)c->out_len),
					&dlen);
		if (drop && dlen <= DROP_RESERVE && out_append(c, drop, dlen))
			(void)client_flush(c); /* best effort: the peer is not reading */
		client_close(c, "slow consumer");
		return -EPIPE;
	}
	if (!out_append(c, line, len)) {
		client_close(c, "out of memory");
		return -ENOMEM;
	}
	if (!ev_is_active(&c->write_io))
		ev_io_start(c->server->loop, &c->write_io);
	return 0;
}

/* Queues a line we formatted (freed here); NULL means formatting ran out of memory. A
 * line bigger than what is buffered becomes the buffer itself when nothing waits in it:
 * a big reply is never held twice. */
static int client_queue_owned(struct client *c, char *line, size_t len)
{
	int r;

	if (!line) {
		client_close(c, "out of memory");
		return -ENOMEM;
	}
	if (!c->closing && c->out_len == 0 && len > c->out_cap &&
	    len + DROP_RESERVE <= c->server->limits.max_output) {
		free(c->out);
		c->out = line;
		c->out_start = 0;
		c->out_len = c->out_cap = len;
		if (!ev_is_active(&c->write_io))
			ev_io_start(c->server->loop, &c->write_io);
		return 0;
	}
	r = client_queue(c, line, len);
	free(line);
	return r;
}

static int client_error(struct client *c, const json_t *id, enum api_error err,
			const char *message)
{
	size_t len;
	char *line = api_format_error(id, err, message, &len);

	return client_queue_owned(c, line, len);
}

static struct method_entry *find_method(struct api_server *s, const char *name)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i].name, name) == 0)
			return &s->methods[i];
	return NULL;
}

static void request_free(struct api_request *req)
{
	list_del(&req->link);
	if (req->client)
		req->client->n_pending--;
	json_decref(req->id);
	free(req);
}

static void handle_line(struct client *c, const char *line, size_t len)
{
	struct api_server *s = c->server;
	struct api_parsed_request p;
	struct method_entry *m;
	struct api_request *req;
	char msg[160];
	int r;

	if (s->limits.rate_limit > 0) {
		refill_tokens(c);
		if (c->tokens < 1) {
			/* The id is unknown without parsing, and parsing is what we ration. */
			client_error(c, NULL, API_ERROR_RATE_LIMITED, "request rate exceeded");
			return;
		}
		c->tokens -= 1;
	}

	r = api_request_parse(line, len, &p);
	if (r < 0) {
		api_parsed_request_finish(&p);
		client_error(c, NULL, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	if (r > 0) {
		client_error(c, p.id, p.error, p.message);
		api_parsed_request_finish(&p);
		return;
	}
	m = find_method(s, p.method);
	if (!m) {
		snprintf(msg, sizeof(msg), "no method \"%s\"", p.method);
		client_error(c, p.id, API_ERROR_UNKNOWN_METHOD, msg);
		goto out;
	}
	if (c->peer.privilege < m->m.privilege) {
		snprintf(msg, sizeof(msg), "\"%s\" needs the %s privilege (you have %s)", p.method,
			 api_privilege_name(m->m.privilege), api_privilege_name(c->peer.privilege));
		client_error(c, p.id, API_ERROR_PERMISSION_DENIED, msg);
		goto out;
	}
	if (c->n_pending >= s->limits.max_pending) {
		snprintf(msg, sizeof(msg), "at most %u unanswered requests per client",
			 s->limits.max_pending);
		client_error(c, p.id, API_ERROR_TOO_MANY_REQUESTS, msg);
		goto out;
	}
	req = calloc(1, sizeof(*req));
	if (!req) {
		client_error(c, p.id, API_ERROR_INTERNAL, "out of memory");
		goto out;
	}
	req->client = c;
	req->id = p.id ? json_incref(p.id) : NULL;
	snprintf(req->method, sizeof(req->method), "%s", p.method);
	req->peer = c->peer;
	list_add_tail(&c->requests, &req->link);
	c->n_pending++;
	m->m.handler(req, p.params, m->m.userdata);
out:
	api_parsed_request_finish(&p);
}

/* Handles the complete lines in the input buffer and keeps the partial rest. */
static void process_input(struct client *c)
{
	size_t start = 0;

	while (!c->closing && start < c->in_len) {
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		size_t len;

		if (c->discarding) {
			if (!nl) {
				start = c->in_len;
				break;
			}
			c->discarding = false;
			start = (size_t)(nl - c->in) + 1;
			continue;
		}
		if (!nl)
			break;
		len = (size_t)(nl - (c->in + start));
		if (len > c->server->limits.max_line) {
			client_error(c, NULL, API_ERROR_LINE_TOO_LONG, "line too long");
		} else {
			if (len > 0 && c->in[start + len - 1] == '\r')
				len--; /* tolerate CRLF from terminal tools */
			if (len > 0)
				handle_line(c, c->in + start, len);
		}
		start = (size_t)(nl - c->in) + 1;
	}
	if (c->closing)
		return;
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (!c->discarding && c->in_len > c->server->limits.max_line) {
		/* No newline within max_line bytes: answer now, drop the rest of the line. */
		char msg[96];
		snprintf(msg, sizeof(msg), "line longer than %zu bytes discarded",
			 c->server->limits.max_line);
		client_error(c, NULL, API_ERROR_LINE_TOO_LONG, msg);
		c->in_len = 0;
		c->discarding = true;
	}
}

/* Reading resumes once the queue drained below half the bound (backpressure). */
static void update_read_interest(struct client *c)
{
	bool want = !c->closing && !c->read_eof && c->out_len < c->server->limits.max_output / 2;

	if (want && !ev_is_active(&c->read_io))
		ev_io_start(c->server->loop, &c->read_io);
	else if (!want && ev_is_active(&c->read_io))
		ev_io_stop(c->server->loop, &c->read_io);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = container_of(w, struct client, read_io);
	size_t want = c->server->limits.max_line + 1 + READ_CHUNK;
	ssize_t n;

	/* Grown only when full: IN_KEEP first, then by READ_CHUNK's doubling up to a line. */
	if (c->in_len == c->in_cap && c->in_cap < want) {
		size_t cap = !c->in_cap ? IN_KEEP : c->in_cap < READ_CHUNK ? READ_CHUNK : c->in_cap * 2;
		char *p;
		if (cap > want)
			cap = want;
		p = realloc(c->in, cap);
		if (!p) {
			client_close(c, "out of memory");
			return;
		}
		c->in = p;
		c->in_cap = cap;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		client_close(c, "read failed");
		return;
	}
	if (n == 0) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};

		/*
		 * EOF is either a close or a shutdown(SHUT_WR). Unix sockets report POLLHUP only
		 * when both directions are shut, i.e. the peer is gone: then pending requests are
		 * cancelled now rather than when a late answer fails to be written.
		 */
		if (poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLHUP | POLLERR))) {
			client_close(c, NULL);
			return;
		}
		/* Half-close: answer what was asked, then close (client_maybe_finish). */
		c->read_eof = true;
		ev_io_stop(loop, &c->read_io);
		if (c->in_len > 0 && !c->discarding && c->in_len <= c->server->limits.max_line) {
			c->in[c->in_len++] = '\n';
			process_input(c);
		}
		c->in_len = 0;
		client_maybe_finish(c);
		return;
	}
	c->in_len += (size_t)n;
	process_input(c);
	if (c->closing)
		return;
	if (c->in_len == 0 && c->in_cap > IN_KEEP) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	update_read_interest(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = container_of(w, struct client, write_io);

	if (client_flush(c) < 0)
		return;
	update_read_interest(c);
	client_maybe_finish(c);
}

/* A client that closed its sending side is closed once nothing is left for it. */
static void client_maybe_finish(struct client *c)
{
	if (c->closing || !c->read_eof)
		return;
	if (c->out_len == 0 && list_empty(&c->requests) && list_empty(&c->subscriptions))
		client_close(c, NULL);
}

static void client_close(struct client *c, const char *reason)
{
	struct api_server *s = c->server;

	if (c->closing)
		return;
	c->closing = true;
	ev_io_stop(s->loop, &c->read_io);
	ev_io_stop(s->loop, &c->write_io);
	close(c->fd);
	c->fd = -1;
	list_del(&c->link);
	s->n_clients--;
	{
		char uid[48], pid[48];
		const char *const fields[] = {uid, pid, NULL};

		snprintf(uid, sizeof(uid), "BODYDIAG_CLIENT_UID=%u", (unsigned)c->peer.uid);
		snprintf(pid, sizeof(pid), "BODYDIAG_CLIENT_PID=%d", (int)c->peer.pid);
		/* Ordinary goodbyes at debug level; being dropped is worth a journal line. */
		log_full(reason ? LOG_INFO : LOG_DEBUG, 0, fields,
			 "API client %lu (uid %u pid %d) disconnected%s%s", c->serial,
			 (unsigned)c->peer.uid, (int)c->peer.pid, reason ? ": " : "",
			 reason ? reason : "");
	}

	/* Detach each handle before its callback, which may complete or free it. */
	while (!list_empty(&c->requests)) {
		struct api_request *req = list_first_entry(&c->requests, struct api_request, link);
		list_del(&req->link);
		req->client = NULL;
		c->n_pending--;
		if (req->cancel)
			req->cancel(req->cancel_data);
	}
	while (!list_empty(&c->subscriptions)) {
		struct api_subscription *sub =
			list_first_entry(&c->subscriptions, struct api_subscription, link);
		list_del(&sub->link);
		sub->client = NULL;
		if (sub->on_close)
			sub->on_close(sub->data);
	}
	list_add_tail(&s->zombies, &c->link);
	ev_prepare_start(s->loop, &s->reaper);
}

/*
 * The peer's groups, its primary group (SO_PEERCRED's) first, as a malloc'd array. Returns 0
 * with the kernel's answer, 1 with the group database's (see below), or -errno.
 */
static int peer_groups(int fd, const struct ucred *cred, gid_t **ret_gids, size_t *ret_n)
{
	_cleanup_free_ gid_t *gids = NULL;
	socklen_t glen = 64 * sizeof(gid_t);
	int r;

	/*
	 * SO_PEERGROUPS (Linux 4.13) gives the supplementary groups as they were at
	 * connect() time, without an NSS lookup or a /proc race against pid reuse. A buffer
	 * too small fails with ERANGE and the size needed in glen: the second try fits (the
	 * peer's groups are fixed since its connect()).
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		socklen_t room = glen;
		gid_t *g = realloc(gids, sizeof(gid_t) + room);

		if (!g)
			return -ENOMEM;
		gids = g;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids + 1, &glen) == 0) {
			gids[0] = cred->gid;
			*ret_n = 1 + glen / sizeof(gid_t);
			*ret_gids = steal_ptr(gids);
			return 0;
		}
		if (errno != ERANGE || glen <= room)
			break;
	}
	/*
	 * ENOPROTOOPT: a kernel before 4.13. ERANGE without a larger size: qemu-user (7.2),
	 * which passes SO_PEERGROUPS on as an int-sized option, so a peer with two or more
	 * groups fails and the size needed never comes back. Then the group database's
	 * groups of the peer's uid: what a login gives that user, which may differ from the
	 * process's own (a group joined since, or one dropped with setgroups()).
	 */
	if (errno != ENOPROTOOPT && errno != ERANGE && errno != EOPNOTSUPP)
		return -errno;
	r = api_user_groups(cred->uid, cred->gid, ret_gids, ret_n);
	return r < 0 ? r : 1;
}

static int peer_credentials(struct api_server *s, int fd, struct api_peer *ret_peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_free_ gid_t *gids = NULL;
	size_t n_gids;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	r = peer_groups(fd, &cred, &gids, &n_gids);
	if (r < 0)
		return r;
	if (r == 1 && !s->groups_from_db) {
		s->groups_from_db = true;
		log_notice("API: no SO_PEERGROUPS from the kernel here; clients' supplementary "
			   "groups come from the group database");
	}
	*ret_peer = (struct api_peer){
		.uid = cred.uid,
		.gid = cred.gid,
		.pid = cred.pid,
		.privilege = api_peer_privilege(cred.uid, gids, n_gids, &s->groups),
	};
	return 0;
}

static void reject(struct api_server *s, int fd, enum api_error err, const char *message)
{
	size_t len;
	_cleanup_free_ char *line = api_format_error(NULL, err, message, &len);

	/* A fresh socket has an empty send buffer: this does not block and rarely fails. */
	if (line && send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("API: cannot tell rejected client: %m");
	close(fd);
}

static void accept_one(struct api_server *s, int fd)
{
	struct client *c;
	struct api_peer peer;
	int r;

	if (s->n_clients >= s->limits.max_clients) {
		char msg[96];
		snprintf(msg, sizeof(msg), "at most %u clients", s->limits.max_clients);
		/* Clients control how often this happens: one line per second at most. */
		s->rejected++;
		if (ev_now(s->loop) - s->reject_logged_at >= 1.0) {
			log_warning("API: turned away %lu connection(s): %s", s->rejected, msg);
			s->rejected = 0;
			s->reject_logged_at = ev_now(s->loop);
		}
		reject(s, fd, API_ERROR_TOO_MANY_CLIENTS, msg);
		return;
	}
	r = peer_credentials(s, fd, &peer);
	if (r < 0) {
		log_warning_errno(-r, "API: cannot read peer credentials, closing");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		reject(s, fd, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	c->server = s;
	c->fd = fd;
	c->peer = peer;
	c->serial = ++s->next_serial;
	c->refill_at = ev_now(s->loop);
	c->tokens = s->limits.rate_burst > 0 ? s->limits.rate_burst
					     : (s->limits.rate_limit > 1 ? s->limits.rate_limit : 1);
	list_init(&c->requests);
	list_init(&c->subscriptions);
	ev_io_init(&c->read_io, read_cb, fd, EV_READ);
	ev_io_init(&c->write_io, write_cb, fd, EV_WRITE);
	list_add_tail(&s->clients, &c->link);
	s->n_clients++;
	ev_io_start(s->loop, &c->read_io);
	log_debug("API client %lu connected: uid %u gid %u pid %d privilege %s", c->serial,
		  (unsigned)peer.uid, (unsigned)peer.gid, (int)peer.pid,
		  api_privilege_name(peer.privilege));
}

static void accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct api_server *s = container_of(w, struct api_server, accept_pause);

	for (size_t i = 0; i < s->n_listeners; i++)
		ev_io_start(loop, &s->listeners[i].io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = container_of(w, struct listener, io);
	struct api_server *s = l->server;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/*
				 * The pending connection stays queued and the listener stays
				 * readable: pause instead of spinning on the error.
				 */
				log_warning_errno(errno, "API: accept paused");
				for (size_t j = 0; j < s->n_listeners; j++)
					ev_io_stop(loop, &s->listeners[j].io);
				ev_timer_set(&s->accept_pause, ACCEPT_PAUSE, 0);
				ev_timer_start(loop, &s->accept_pause);
				return;
			default:
				log_warning_errno(errno, "API: accept failed");
				return;
			}
		}
		accept_one(s, fd);
	}
}

/* --- built-in methods --- */

static void method_version(struct api_request *req, json_t *params, void *userdata)
{
	api_request_reply(req, json_pack("{s:i,s:s}", "api", API_VERSION, "daemon",
					 BODYDIAG_VERSION));
}

static void method_ping(struct api_request *req, json_t *params, void *userdata)
{
	api_request_reply(req, json_pack("{s:b}", "pong", 1));
}

static void method_whoami(struct api_request *req, json_t *params, void *userdata)
{
	const struct api_peer *p = api_request_peer(req);

	api_request_reply(req, json_pack("{s:I,s:I,s:I,s:s}", "uid", (json_int_t)p->uid, "gid",
					 (json_int_t)p->gid, "pid", (json_int_t)p->pid,
					 "privilege", api_privilege_name(p->privilege)));
}

static void method_methods(struct api_request *req, json_t *params, void *userdata)
{
	struct api_server *s = userdata;
	json_t *list = json_array();

	for (size_t i = 0; list && i < s->n_methods; i++) {
		const struct method_entry *m = &s->methods[i];
		json_t *o = json_pack("{s:s,s:s,s:s}", "name", m->name, "privilege",
				      api_privilege_name(m->m.privilege), "summary",
				      m->summary ? m->summary : "");
		if (!o || json_array_append_new(list, o) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply(req, json_pack("{s:o}", "methods", list));
}

/* --- server lifecycle --- */

int api_server_new(struct ev_loop *loop, const struct api_limits *limits,
		   const struct api_groups *groups, struct api_server **ret_server)
{
	struct api_server *s;
	const struct api_method builtins[] = {
		{"version", API_PRIVILEGE_NONE, method_version, NULL,
		 "API and daemon versions"},
		{"methods", API_PRIVILEGE_NONE, method_methods, NULL,
		 "the methods and the privilege each needs"},
		{"ping", API_PRIVILEGE_NONE, method_ping, NULL, "liveness check"},
		{"whoami", API_PRIVILEGE_NONE, method_whoami, NULL,
		 "the caller's uid, gid, pid and privilege"},
	};
	int r;

	if (!loop || !limits || !groups || limits->max_clients == 0 || limits->max_line == 0 ||
	    limits->max_output < DROP_RESERVE * 2 || limits->rate_limit < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->limits = *limits;
	s->groups = *groups;
	list_init(&s->clients);
	list_init(&s->zombies);
	ev_timer_init(&s->accept_pause, accept_pause_cb, ACCEPT_PAUSE, 0);
	ev_prepare_init(&s->reaper, reaper_cb);
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++) {
		struct api_method m = builtins[i];
		if (m.handler == method_methods)
			m.userdata = s;
		r = api_server_register(s, &m);
		if (r < 0) {
			api_server_free(s);
			return r;
		}
	}
	*ret_server = s;
	return 0;
}

struct api_server *api_server_free(struct api_server *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_listeners; i++) {
		ev_io_stop(s->loop, &s->listeners[i].io);
		close(s->listeners[i].fd);
	}
	ev_timer_stop(s->loop, &s->accept_pause);
	while (!list_empty(&s->clients))
		client_close(list_first_entry(&s->clients, struct client, link), NULL);
	ev_prepare_stop(s->loop, &s->reaper);
	while (!list_empty(&s->zombies)) {
		struct client *c = list_first_entry(&s->zombies, struct client, link);
		list_del(&c->link);
		client_free(c);
	}
	if (s->owned_path) {
		unlink(s->owned_path);
		free(s->owned_path);
	}
	for (size_t i = 0; i < s->n_methods; i++) {
		free(s->methods[i].name);
		free(s->methods[i].summary);
	}
	free(s->methods);
	free(s);
	return NULL;
}

int api_server_listen_fd(struct api_server *s, int fd)
{
	struct listener *l;
	int flags;

	if (s->n_listeners >= MAX_LISTENERS) {
		close(fd);
		return -EBUSY;
	}
	/* systemd passes sockets in blocking mode; accept4 must never block the loop. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	l = &s->listeners[s->n_listeners++];
	l->server = s;
	l->fd = fd;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	ev_io_start(s->loop, &l->io);
	return 0;
}

int api_server_listen_path(struct api_server *s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *copy = NULL;
	socklen_t salen;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (s->owned_path)
		return -EBUSY; /* one owned path is all the daemon needs */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		_cleanup_close_ int probe = -1;
		struct stat st;

		if (errno != EADDRINUSE)
			return -errno;
		/* A socket file is there: replace it only if nobody answers on it. */
		if (lstat(path, &st) < 0)
			return -errno;
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (probe < 0)
			return -errno;
		if (connect(probe, (struct sockaddr *)&sa, salen) == 0 || errno == EAGAIN)
			return -EADDRINUSE;
		if (errno != ECONNREFUSED)
			return -errno;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		if (bind(fd, (struct sockaddr *)&sa, salen) < 0)
			return -errno;
	}
	/* The coarse gate: owner and group only (docs/api.md, Authorisation). */
	if (chmod(path, 0660) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		unlink(path);
		return r;
	}
	/*
	 * The group is the read group, as bodydiagd.socket's SocketGroup= makes it; a
	 * daemon started by hand would leave its own (root's) and lock the group out. Not
	 * being allowed to (a non-root daemon outside the group) only costs those clients.
	 */
	if (s->groups.have_read && chown(path, (uid_t)-1, s->groups.read_gid) < 0) {
		if (errno != EPERM) {
			r = -errno;
			unlink(path);
			return r;
		}
		log_warning("API socket %s: not allowed to give it to gid %u, only its owner "
			    "can connect", path, (unsigned)s->groups.read_gid);
	}
	r = api_server_listen_fd(s, steal_fd(fd));
	if (r < 0) {
		unlink(path);
		return r;
	}
	s->owned_path = steal_ptr(copy);
	return 0;
}

void api_server_set_limits(struct api_server *s, const struct api_limits *limits)
{
	if (limits->max_clients == 0 || limits->max_line == 0 ||
	    limits->max_output < DROP_RESERVE * 2 || limits->rate_limit < 0)
		return;
	s->limits = *limits;
}

void api_server_set_groups(struct api_server *s, const struct api_groups *groups)
{
	s->groups = *groups;
}

int api_server_register(struct api_server *s, const struct api_method *method)
{
	struct method_entry *e, *p;

	if (!method || !method->name || !method->handler ||
	    !api_method_name_valid(method->name, strlen(method->name)) ||
	    (unsigned)method->privilege >= API_PRIVILEGE_MAX)
		return -EINVAL;
	if (find_method(s, method->name))
		return -EEXIST;
	p = realloc(s->methods, (s->n_methods + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->methods = p;
	e = &s->methods[s->n_methods];
	*e = (struct method_entry){.m = *method};
	e->name = strdup(method->name);
	e->summary = method->summary ? strdup(method->summary) : NULL;
	if (!e->name || (method->summary && !e->summary)) {
		free(e->name);
		free(e->summary);
		return -ENOMEM;
	}
	e->m.name = e->name;
	e->m.summary = e->summary;
	s->n_methods++;
	return 0;
}

int api_server_unregister(struct api_server *s, const char *name)
{
	struct method_entry *e = find_method(s, name);
	size_t i;

	if (!e)
		return -ENOENT;
	i = (size_t)(e - s->methods);
	free(e->name);
	free(e->summary);
	memmove(e, e + 1, (s->n_methods - i - 1) * sizeof(*e));
	s->n_methods--;
	return 0;
}

size_t api_server_client_count(const struct api_server *s)
{
	return s->n_clients;
}

size_t api_server_buffer_bytes(const struct api_server *s)
{
	size_t n = 0;

	for (const struct list_head *p = s->clients.next; p != &s->clients; p = p->next) {
		const struct client *c = list_entry(p, const struct client, link);
		n += c->in_cap + c->out_cap;
	}
	return n;
}

/* --- requests and subscriptions --- */

const struct api_peer *api_request_peer(const struct api_request *req)
{
	return &req->peer;
}

const char *api_request_method(const struct api_request *req)
{
	return req->method;
}

bool api_request_is_orphan(const struct api_request *req)
{
	return !req->client;
}

void api_request_set_cancel(struct api_request *req, api_cancel_fn cancel, void *data)
{
	req->cancel = cancel;
	req->cancel_data = data;
}

static int complete(struct api_request *req, char *line, size_t len)
{
	struct client *c = req->client;
	int r;

	request_free(req);
	if (!c) {
		free(line);
		return -EPIPE;
	}
	r = client_queue_owned(c, line, len);
	if (r == 0)
		client_maybe_finish(c);
	return r;
}

int api_request_reply(struct api_request *req, json_t *result)
{
	size_t len = 0;
	char *line;

	if (!req->client) {
		json_decref(result);
		request_free(req);
		return -EPIPE;
	}
	line = api_format_result(req->id, result, &len);
	return complete(req, line, len);
}

struct json_text *api_request_reply_begin(struct api_request *req)
{
	return api_result_begin(req->id);
}

int api_request_reply_end(struct api_request *req, struct json_text *w)
{
	size_t len = 0;
	char *line;

	if (!req->client) {
		json_text_free(w);
		request_free(req);
		return -EPIPE;
	}
	line = api_result_end(w, &len);
	return complete(req, line, len);
}

int api_request_fail(struct api_request *req, enum api_error err, const char *fmt, ...)
{
	char msg[512], *line;
	size_t len = 0;
	va_list ap;

	if (!req->client) {
		request_free(req);
		return -EPIPE;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Two statements: the order in which arguments are evaluated is unspecified. */
	line = api_format_error(req->id, err, msg, &len);
	return complete(req, line, len);
}

int api_request_subscribe(struct api_request *req, api_cancel_fn on_close, void *data,
			  struct api_subscription **ret_sub)
{
	struct api_subscription *sub;

	if (!req->client || req->client->closing)
		return -EPIPE;
	sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -ENOMEM;
	sub->client = req->client;
	sub->peer = req->peer;
	sub->on_close = on_close;
	sub->data = data;
	list_add_tail(&req->client->subscriptions, &sub->link);
	*ret_sub = sub;
	return 0;
}

int api_subscription_send(struct api_subscription *sub, const char *event, json_t *data)
{
	size_t len = 0;
	char *line;

	if (!sub->client) {
		json_decref(data);
		return -EPIPE;
	}
	line = api_format_event(event, data, &len);
	return client_queue_owned(sub->client, line, len);
}

bool api_subscription_is_orphan(const struct api_subscription *sub)
{
	return !sub->client;
}

struct api_subscription *api_subscription_free(struct api_subscription *sub)
{
	struct client *c;

	if (!sub)
		return NULL;
	c = sub->client;
	list_del(&sub->link);
	free(sub);
	if (c)
		client_maybe_finish(c);
	return NULL;
}
