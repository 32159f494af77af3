/* SPDX-License-Identifier: MIT */
/*
 * The daemon's modules in-process, for the tests of daemon modules (header-only, like
 * api-client.h): a core (daemon/core.h) of the modules a test names, on a fake clock
 * that the test advances by hand, with a scripted ECU behind the UDS port that answers
 * after a delay on that clock and publishes every exchange to the router as the broker
 * does, and API clients over a real Unix socket for the methods.
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
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/clock.h"
#include "daemon/core.h"
#include "daemon/router.h"
#include "daemon/uds_port.h"
#include "daemon/vehicle.h"

/* ---- the fake clock ---- */

struct fake_clock {
	struct clock clock;
	int64_t now;
	struct list_head timers; /* armed ones */
};

static inline int64_t fake_clock_now(void *impl)
{
	return ((struct fake_clock *)impl)->now;
}

static inline void fake_clock_start(void *impl, struct timer *t, int64_t delay_us)
{
	struct fake_clock *fc = impl;

	list_del(&t->link);
	t->due_us = fc->now + (delay_us > 0 ? delay_us : 0);
	list_add_tail(&fc->timers, &t->link);
}

static inline void fake_clock_stop(void *impl, struct timer *t)
{
	list_del(&t->link);
}

/* Fires the earliest timer due by until (time moves to it); false when none is. */
static inline bool fake_clock_fire_one(struct fake_clock *fc, int64_t until)
{
	struct timer *first = NULL;

	for (struct list_head *i = fc->timers.next; i != &fc->timers; i = i->next) {
		struct timer *t = list_entry(i, struct timer, link);
		if (!first || t->due_us < first->due_us)
			first = t;
	}
	if (!first || first->due_us > until)
		return false;
	if (first->due_us > fc->now)
		fc->now = first->due_us;
	list_del(&first->link);
	first->active = false;
	first->fn(first);
	return true;
}

static inline void fake_clock_run_once(void *impl)
{
	(void)fake_clock_fire_one(impl, INT64_MAX);
}

static inline void fake_clock_init(struct fake_clock *fc, int64_t start_us)
{
	static const struct clock_ops ops = {
		.now = fake_clock_now,
		.start = fake_clock_start,
		.stop = fake_clock_stop,
		.run_once = fake_clock_run_once,
	};

	fc->clock = (struct clock){.ops = &ops, .impl = fc};
	fc->now = start_us;
	list_init(&fc->timers);
}

/* Time passes by us: every timer due meanwhile fires, in order. */
static inline void fake_clock_advance(struct fake_clock *fc, int64_t us)
{
	int64_t until = fc->now + us;

	while (fake_clock_fire_one(fc, until))
		;
	fc->now = until;
}

/* ---- the scripted ECU ---- */

#define FAKE_ECU_MAX_LOG 256

/* What the scripted ECU does with one request. */
struct fake_answer {
	int submit_error;		 /* < 0: uds_port_submit fails with it, nothing sent */
	enum uds_broker_outcome outcome; /* RESPONSE with resp, or a failure outcome */
	uint8_t resp[512];
	size_t resp_len;
	int64_t delay_us;		 /* 0: 10 ms */
};

struct fake_ecu;
typedef void (*fake_answer_fn)(struct fake_ecu *fe, const char *ecu, const uint8_t *req,
			       size_t len, struct fake_answer *ret);

struct fake_sent {
	char ecu[UDS_BROKER_MAX_NAME];
	uint8_t req[64];
	size_t len;
	int64_t t_us;
	bool cancelled;
	bool answered;
};

struct fake_request {
	struct list_head link;
	struct fake_ecu *fe;
	struct fake_sent *sent;
	uds_broker_done_fn done; /* NULL once cancelled: the answer is dropped */
	void *userdata;
	struct fake_answer a;
	struct timer timer;
};

struct fake_ecu {
	struct fake_clock *fc;
	struct router *router; /* exchanges published here, as the broker does */
	fake_answer_fn answer;
	void *userdata;
	struct list_head pending;
	struct fake_sent log[FAKE_ECU_MAX_LOG];
	size_t n_log;
};

static inline void fake_request_fire(struct timer *t)
{
	struct fake_request *r = container_of(t, struct fake_request, timer);
	struct fake_ecu *fe = r->fe;
	struct uds_broker_result res = {
		.outcome = r->a.outcome,
		.resp = r->a.outcome == UDS_BROKER_RESPONSE ? r->a.resp : NULL,
		.resp_len = r->a.outcome == UDS_BROKER_RESPONSE ? r->a.resp_len : 0,
		.elapsed_us = (uint64_t)r->a.delay_us,
		.p2_ms = 50,
		.p2star_ms = 5000,
		.transport_errno = r->a.outcome == UDS_BROKER_TRANSPORT_ERROR ? -ETIMEDOUT : 0,
	};
	struct router_exchange x = {
		.origin = ROUTER_ORIGIN_DAEMON,
		.ecu_name = r->sent->ecu,
		.req = r->sent->req,
		.req_len = r->sent->len,
		.outcome = res.outcome,
		.resp = res.resp,
		.resp_len = res.resp_len,
		.t_us = fe->fc->now,
		.elapsed_us = res.elapsed_us,
	};

	list_del(&r->link);
	r->sent->answered = true;
	if (fe->router)
		router_publish_exchange(fe->router, &x);
	if (r->done)
		r->done(r->userdata, &res);
	free(r);
}

static inline int fake_submit(void *impl, const char *ecu, enum uds_broker_priority prio,
		       const uint8_t *req, size_t len, uds_broker_done_fn done, void *userdata,
		       struct uds_port_request **ret_req)
{
	struct fake_ecu *fe = impl;
	struct fake_answer a = {.outcome = UDS_BROKER_RESPONSE};
	struct fake_request *r;
	struct fake_sent *s;

	fe->answer(fe, ecu, req, len, &a);
	if (a.submit_error < 0)
		return a.submit_error;
	if (fe->n_log == FAKE_ECU_MAX_LOG || len > sizeof(s->req))
		return -ENOBUFS;
	s = &fe->log[fe->n_log++];
	*s = (struct fake_sent){.len = len, .t_us = fe->fc->now};
	snprintf(s->ecu, sizeof(s->ecu), "%s", ecu);
	memcpy(s->req, req, len);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct fake_request){.fe = fe, .sent = s, .done = done, .userdata = userdata, .a = a};
	if (!r->a.delay_us)
		r->a.delay_us = 10000;
	timer_init(&r->timer, &fe->fc->clock, fake_request_fire);
	timer_start(&r->timer, r->a.delay_us);
	list_add_tail(&fe->pending, &r->link);
	if (ret_req)
		*ret_req = (struct uds_port_request *)r;
	(void)prio;
	return 0;
}

static inline void fake_cancel(void *impl, struct uds_port_request *handle)
{
	struct fake_request *r = (struct fake_request *)handle;

	/* As the broker: the request on the wire is still waited for, its answer dropped. */
	r->done = NULL;
	r->sent->cancelled = true;
}

static inline int fake_functional(void *impl, const uint8_t *req, size_t len,
			   uds_broker_functional_fn done, void *userdata)
{
	return -ENOENT;
}

static inline void fake_ecu_init(struct fake_ecu *fe, struct fake_clock *fc, struct router *router,
			  fake_answer_fn answer, void *userdata, struct uds_port *ret_port)
{
	static const struct uds_port_ops ops = {
		.submit = fake_submit, .cancel = fake_cancel, .functional = fake_functional};

	*fe = (struct fake_ecu){.fc = fc, .router = router, .answer = answer, .userdata = userdata};
	list_init(&fe->pending);
	*ret_port = (struct uds_port){.ops = &ops, .impl = fe};
}

/* Drops what is still pending (after the modules are gone). */
static inline void fake_ecu_finish(struct fake_ecu *fe)
{
	while (!list_empty(&fe->pending)) {
		struct fake_request *r = list_first_entry(&fe->pending, struct fake_request, link);
		timer_stop(&r->timer);
		list_del(&r->link);
		free(r);
	}
}

/* How many requests with exactly these bytes went out. */
static inline size_t fake_ecu_count(const struct fake_ecu *fe, const uint8_t *req, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < fe->n_log; i++)
		n += fe->log[i].len == len && memcmp(fe->log[i].req, req, len) == 0;
	return n;
}

/* ---- API clients over a real socket ---- */

struct fixture_client {
	int fd;
	char buf[1 << 18];
	size_t len;
};

static inline int fixture_client_open(struct fixture_client *cl, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cl->len = 0;
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cl->fd < 0)
		return -errno;
	if (connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(cl->fd);
		return r;
	}
	return 0;
}

static inline void fixture_client_close(struct fixture_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
}

static inline int fixture_client_send(struct fixture_client *cl, const char *line)
{
	size_t n = strlen(line);

	if (write(cl->fd, line, n) != (ssize_t)n || write(cl->fd, "\n", 1) != 1)
		return -EIO;
	return 0;
}

/* The next line the daemon sent, or NULL when none is there after pumping loop (the
 * server's socket I/O runs on libev, the modules' timers on the fake clock). */
static inline json_t *fixture_client_next(struct fixture_client *cl, struct ev_loop *loop)
{
	for (int i = 0; i < 20; i++) {
		char *nl = memchr(cl->buf, '\n', cl->len);
		ssize_t n;

		if (nl) {
			json_t *j = json_loadb(cl->buf, (size_t)(nl - cl->buf), 0, NULL);
			size_t used = (size_t)(nl - cl->buf) + 1;
			memmove(cl->buf, nl + 1, cl->len - used);
			cl->len -= used;
			return j;
		}
		ev_run(loop, EVRUN_NOWAIT);
		n = read(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len);
		if (n > 0)
			cl->len += (size_t)n;
		else
			poll(&(struct pollfd){.fd = cl->fd, .events = POLLIN}, 1, 1);
	}
	return NULL;
}

/* One turn of the server's loop and one read: the next line, or NULL at once. */
static inline json_t *fixture_client_try(struct fixture_client *cl, struct ev_loop *loop)
{
	char *nl;
	ssize_t n;

	ev_run(loop, EVRUN_NOWAIT);
	n = read(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len);
	if (n > 0)
		cl->len += (size_t)n;
	nl = memchr(cl->buf, '\n', cl->len);
	if (!nl)
		return NULL;
	json_t *j = json_loadb(cl->buf, (size_t)(nl - cl->buf), 0, NULL);
	size_t used = (size_t)(nl - cl->buf) + 1;
	memmove(cl->buf, nl + 1, cl->len - used);
	cl->len -= used;
	return j;
}
