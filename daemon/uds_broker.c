/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <ev.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/frame.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "router.h"
#include "uds_broker.h"
#include "uds_port.h"

/* PDUs read per wakeup, so that a chattering ECU cannot starve the rest of the loop. */
#define READ_BATCH 16

struct functional;

struct uds_broker_request {
	struct list_head link;
	struct ecu *ecu;
	enum uds_broker_priority prio;
	uds_broker_done_fn done; /* NULL once cancelled, or for internal requests */
	void *userdata;
	bool internal;		 /* tester present: bypasses the rate limit */
	struct functional *func; /* a part of a functional request */
	bool ready;		 /* functional part: waiting for the broadcast */
	struct uds_wait wait;
	int64_t sent_us;
	bool answered; /* a first PDU came: latency recorded */
	unsigned pending, busy;
	size_t len;
	uint8_t pdu[];
};

struct ecu {
	struct uds_broker *b;
	size_t index;
	char name[UDS_BROKER_MAX_NAME];
	struct uds_broker_ecu_config cfg; /* cfg.name points at name */
	int fd;
	ev_io io;
	ev_timer timer; /* P2 / P2* / resend delay of the active request */
	ev_timer tester_present;
	struct list_head queue[UDS_BROKER_PRIORITY_MAX];
	unsigned queued;
	struct uds_broker_request *active;
	uint8_t session;
	uint32_t p2_ms, p2star_ms;
	struct uds_broker_stats stats;
};

struct functional {
	uds_broker_functional_fn done;
	void *userdata;
	size_t n, n_ready, n_done;
	uint8_t req[8];
	size_t len;
	struct uds_broker_request **parts;
	struct uds_broker_functional_answer *answers;
	uint8_t *resp_buf; /* n * UDS_BROKER_MAX_PDU */
};

struct uds_broker {
	struct ev_loop *loop;
	struct uds_broker_config cfg;
	char ifname[32];
	struct ecu **ecus; /* each allocated alone: a reload keeps the unchanged ones */
	size_t n_ecus;
	struct uds_broker_bucket bucket;
	ev_timer kick; /* start what can start, from the loop */
	bool rate_wait;
	bool freeing;
	int raw_fd;    /* functional broadcast, send-only */
	struct functional *func;
	struct router_watch *watch; /* the responses' frames as they arrive (cfg.router) */
	uint8_t buf[UDS_BROKER_MAX_PDU + 1];
};

/* ---- pure parts ---- */

void uds_broker_config_init(struct uds_broker_config *c)
{
	*c = (struct uds_broker_config){
		.ifname = "can0",
		.p2_cap_ms = 1000,
		.p2star_cap_ms = 10000,
		.margin_ms = 10,
		.max_pending = 20,
		.max_busy = 3,
		.busy_delay_ms = 100,
		.busy_delay_max_ms = 2000,
		.max_queue = 64,
		.n_cr_ms = 1000,
	};
}

void uds_broker_stats_add_latency(struct uds_broker_stats *s, uint64_t us)
{
	if (s->latency_n == 0 || us < s->latency_min_us)
		s->latency_min_us = us;
	if (us > s->latency_max_us)
		s->latency_max_us = us;
	s->latency_n++;
	s->latency_sum_us += us;
	s->latency_last_us = us;
}

double uds_broker_stats_mean_ms(const struct uds_broker_stats *s)
{
	return s->latency_n ? (double)s->latency_sum_us / (double)s->latency_n / 1000.0 : 0.0;
}

void uds_broker_bucket_init(struct uds_broker_bucket *b, double rate, double burst, int64_t now)
{
	if (!(rate > 0) || !isfinite(rate))
		rate = 0;
	if (!(burst >= 1) || !isfinite(burst))
		burst = rate > 1 ? rate : 1;
	*b = (struct uds_broker_bucket){.rate = rate, .burst = burst, .tokens = burst, .last_us = now};
}

int64_t uds_broker_bucket_take(struct uds_broker_bucket *b, int64_t now)
{
	if (b->rate <= 0)
		return 0;
	if (now > b->last_us) {
		b->tokens += (double)(now - b->last_us) * b->rate / 1e6;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_us = now;
	}
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	return (int64_t)ceil((1.0 - b->tokens) * 1e6 / b->rate);
}

void uds_broker_timing_from_session(const struct uds_broker_config *c,
				    const struct uds_session_response *s, uint32_t *p2_ms,
				    uint32_t *p2star_ms)
{
	uint64_t p2, p2star;

	if (!s->has_timing)
		return;
	/* A server may announce anything up to 65 s / 655 s; the caps keep one silent ECU
	 * from holding its queue (and the clients behind it) that long. */
	p2 = (uint64_t)s->p2_us / 1000 + c->margin_ms;
	p2star = (uint64_t)s->p2star_us / 1000 + c->margin_ms;
	if (c->p2_cap_ms && p2 > c->p2_cap_ms)
		p2 = c->p2_cap_ms;
	if (c->p2star_cap_ms && p2star > c->p2star_cap_ms)
		p2star = c->p2star_cap_ms;
	*p2_ms = (uint32_t)p2;
	*p2star_ms = (uint32_t)p2star;
}

const char *uds_broker_outcome_name(enum uds_broker_outcome o)
{
	switch (o) {
	case UDS_BROKER_RESPONSE:
		return "response";
	case UDS_BROKER_NO_RESPONSE:
		return "no_response";
	case UDS_BROKER_TIMEOUT:
		return "timeout";
	case UDS_BROKER_TOO_MANY_PENDING:
		return "response_pending_limit";
	case UDS_BROKER_TOO_MANY_BUSY:
		return "busy_limit";
	case UDS_BROKER_TRANSPORT_ERROR:
		return "transport_error";
	case UDS_BROKER_CANCELLED:
		return "cancelled";
	case UDS_BROKER_OUTCOME_MAX:
		break;
	}
	return NULL;
}

const char *uds_broker_transport_name(int neg_errno)
{
	switch (-neg_errno) {
	case ETIMEDOUT:
		return "isotp_timeout";
	case ECOMM:
		return "isotp_no_flow_control";
	case EILSEQ:
		return "isotp_wrong_sequence";
	case EBADMSG:
		return "isotp_malformed";
	case EMSGSIZE:
		return "isotp_overflow";
	case EOVERFLOW:
		return "isotp_wait_limit";
	case ENETDOWN:
	case ENODEV:
	case ENXIO:
		return "link_down";
	case ENOBUFS:
		return "tx_queue_full";
	case EPERM:
		return "not_permitted";
	default:
		return "transport_error";
	}
}

/* ---- the engine ---- */

static void schedule_kick(struct uds_broker *b)
{
	if (!ev_is_active(&b->kick) && !b->rate_wait) {
		ev_timer_set(&b->kick, 0., 0.);
		ev_timer_start(b->loop, &b->kick);
	}
}

static void close_socket(struct ecu *e)
{
	if (e->fd < 0)
		return;
	ev_io_stop(e->b->loop, &e->io);
	close(e->fd);
	e->fd = -1;
	e->stats.open = false;
}

static bool is_link_error(int r)
{
	return r == -ENETDOWN || r == -ENODEV || r == -ENXIO || r == -EBADF;
}

static int open_socket(struct ecu *e)
{
	struct isotp_socket_opts o;
	int r;

	if (e->fd >= 0)
		return 0;
	/* The profile's addressing as a whole: 29-bit ids, the address byte of extended and
	 * mixed addressing both ways, padding, and the BS/STmin of our flow control. */
	isotp_socket_opts_from_addr(&o, &e->cfg.addr);
	/* Padding is what we send; ECUs that pad do not all pad with the same byte, and a
	 * strict check would turn a harmless difference into EBADMSG. */
	o.rx_pad_check = -1;
	o.wait_tx_done = true;
	r = isotp_socket_open(e->b->ifname, &o, &e->fd);
	if (r < 0)
		return r;
	ev_io_set(&e->io, e->fd, EV_READ);
	ev_io_start(e->b->loop, &e->io);
	e->stats.open = true;
	return 0;
}

static void arm_timer(struct ecu *e, int64_t deadline)
{
	int64_t d = deadline - clock_now_us(CLOCK_MONOTONIC);

	ev_timer_stop(e->b->loop, &e->timer);
	ev_timer_set(&e->timer, d > 0 ? (double)d / 1e6 : 0., 0.);
	ev_timer_start(e->b->loop, &e->timer);
}

static void tester_present_update(struct ecu *e)
{
	uint32_t s3 = e->cfg.s3_ms ? e->cfg.s3_ms : 5000;
	double period = (double)s3 / 2 / 1000.0;

	if (e->session > 1) {
		if (!ev_is_active(&e->tester_present)) {
			ev_timer_set(&e->tester_present, period, period);
			ev_timer_start(e->b->loop, &e->tester_present);
		}
	} else
		ev_timer_stop(e->b->loop, &e->tester_present);
}

/* Notes what a final positive 0x10 response means for this ECU. */
static void session_update(struct ecu *e, const struct uds_broker_request *r, const uint8_t *resp,
			   size_t len)
{
	struct uds_session_response s;

	if (r->len < 2 || r->pdu[0] != UDS_SID_DIAGNOSTIC_SESSION_CONTROL)
		return;
	if (uds_parse_session_control(r->pdu, r->len, resp, len, &s) < 0 ||
	    s.r.result != UDS_RESULT_OK)
		return;
	e->session = s.session;
	uds_broker_timing_from_session(&e->b->cfg, &s, &e->p2_ms, &e->p2star_ms);
	tester_present_update(e);
	log_debug("%s: session 0x%02x, P2 %u ms, P2* %u ms", e->name, e->session, e->p2_ms,
		  e->p2star_ms);
}

static void functional_part_done(struct functional *f, struct uds_broker_request *r,
				 const struct uds_broker_result *res, struct uds_broker *b);
static void functional_broadcast(struct uds_broker *b, struct functional *f);

/* Every exchange that happened on the bus goes to the router, also one whose client has
 * cancelled it: the ECU answered, and its DTCs are news for the engine and the history. */
static void publish(struct ecu *e, const struct uds_broker_request *r,
		    const struct uds_broker_result *res)
{
	struct router_exchange x = {
		.origin = ROUTER_ORIGIN_DAEMON,
		.ecu = e->index,
		.ecu_name = e->name,
		.req = r->pdu,
		.req_len = r->len,
		.outcome = res->outcome,
		.resp = res->resp,
		.resp_len = res->resp_len,
		.transport_errno = res->transport_errno,
		.t_us = clock_now_us(CLOCK_MONOTONIC),
		.elapsed_us = res->elapsed_us,
	};

	if (!e->b->cfg.router || r->internal || res->outcome == UDS_BROKER_CANCELLED)
		return;
	router_publish_exchange(e->b->cfg.router, &x);
}

/* Completes the active request of e, then lets the next one start. */
static void finish(struct ecu *e, enum uds_broker_outcome outcome, int transport_errno,
		   const uint8_t *resp, size_t resp_len)
{
	struct uds_broker_request *r = e->active;
	struct uds_broker_result res = {
		.outcome = outcome,
		.transport_errno = transport_errno,
		.resp = resp,
		.resp_len = resp_len,
		.p2_ms = e->p2_ms,
		.p2star_ms = e->p2star_ms,
	};

	if (!r)
		return;
	e->active = NULL;
	ev_timer_stop(e->b->loop, &e->timer);
	res.pending = r->pending;
	res.busy = r->busy;
	res.elapsed_us = r->sent_us ? (uint64_t)(clock_now_us(CLOCK_MONOTONIC) - r->sent_us) : 0;
	e->stats.active = false;
	switch (outcome) {
	case UDS_BROKER_RESPONSE:
		e->stats.responses++;
		if (resp_len > 0 && resp[0] == UDS_SID_NEGATIVE_RESPONSE)
			e->stats.negative++;
		else
			session_update(e, r, resp, resp_len);
		break;
	case UDS_BROKER_TIMEOUT:
	case UDS_BROKER_TOO_MANY_PENDING:
	case UDS_BROKER_TOO_MANY_BUSY:
		e->stats.timeouts++;
		break;
	case UDS_BROKER_TRANSPORT_ERROR:
		e->stats.transport_errors++;
		if (is_link_error(transport_errno))
			close_socket(e);
		break;
	case UDS_BROKER_NO_RESPONSE:
	case UDS_BROKER_CANCELLED:
	case UDS_BROKER_OUTCOME_MAX:
		break;
	}
	publish(e, r, &res);
	if (r->func)
		functional_part_done(r->func, r, &res, e->b);
	else if (r->done)
		r->done(r->userdata, &res);
	free(r);
	schedule_kick(e->b);
}

/* The transmit policy's word before anything goes out. */
static int gate(struct uds_broker *b, const char *what)
{
	char why[192] = "";
	int r;

	if (!b->cfg.gate)
		return 0;
	r = b->cfg.gate(b->cfg.gate_userdata, why, sizeof(why));
	if (r < 0)
		log_debug("%s: not sent: %s", what, why);
	return r;
}

static int send_pdu(struct ecu *e, const uint8_t *pdu, size_t len)
{
	int r = gate(e->b, e->name);

	if (r >= 0)
		r = open_socket(e);
	if (r < 0)
		return r;
	/* With CAN_ISOTP_WAIT_TX_DONE the write returns once the PDU is on the bus (and
	 * reports N_Bs / tx errors of this PDU); requests are single frames in practice, so
	 * this holds the loop for one frame time. */
	return isotp_socket_send(e->fd, pdu, len);
}

static void uds_timing_for(const struct ecu *e, struct uds_timing *t)
{
	const struct uds_broker_config *c = &e->b->cfg;

	uds_timing_init(t);
	t->p2_us = e->p2_ms * 1000;
	t->p2star_us = e->p2star_ms * 1000;
	t->max_pending = c->max_pending;
	t->max_busy = c->max_busy;
	t->busy_delay_us = c->busy_delay_ms * 1000;
	t->busy_delay_max_us = c->busy_delay_max_ms * 1000;
	if (c->n_cr_ms)
		t->n_cr_us = c->n_cr_ms * 1000;
}

/* Puts r on the wire (first time or a resend after 0x21). */
static void transmit(struct ecu *e, struct uds_broker_request *r)
{
	int64_t now;
	int s = send_pdu(e, r->pdu, r->len);

	if (s < 0) {
		log_debug("%s: send failed: %s", e->name, isotp_socket_error_name(s));
		finish(e, UDS_BROKER_TRANSPORT_ERROR, s, NULL, 0);
		return;
	}
	now = clock_now_us(CLOCK_MONOTONIC);
	if (!r->sent_us)
		r->sent_us = now;
	uds_wait_sent(&r->wait, now);
	arm_timer(e, uds_wait_deadline(&r->wait));
}

static void start(struct ecu *e, struct uds_broker_request *r)
{
	struct uds_timing t;

	list_del(&r->link);
	e->queued--;
	e->active = r;
	e->stats.active = true;
	e->stats.requests++;
	uds_timing_for(e, &t);
	uds_wait_init(&r->wait, &t, r->pdu, r->len);
	if (r->func) {
		/* The broadcast goes out once every responder is free to listen. The gate
		 * first: the controller leaving listen-only mode (a down and up) would be an
		 * error on a socket opened before it. */
		int s = gate(e->b, "functional request");

		if (s >= 0)
			s = open_socket(e);

		if (s < 0) {
			finish(e, UDS_BROKER_TRANSPORT_ERROR, s, NULL, 0);
			return;
		}
		r->ready = true;
		if (++r->func->n_ready == r->func->n)
			functional_broadcast(e->b, r->func);
		return;
	}
	transmit(e, r);
}

static struct uds_broker_request *next_request(struct ecu *e, enum uds_broker_priority prio)
{
	if (e->active || list_empty(&e->queue[prio]))
		return NULL;
	return list_first_entry(&e->queue[prio], struct uds_broker_request, link);
}

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct uds_broker *b = container_of(w, struct uds_broker, kick);

	b->rate_wait = false;
	/* Interactive requests of every ECU take tokens before any background one. */
	for (int p = 0; p < UDS_BROKER_PRIORITY_MAX; p++) {
		for (size_t i = 0; i < b->n_ecus; i++) {
			struct ecu *e = b->ecus[i];
			struct uds_broker_request *r = next_request(e, (enum uds_broker_priority)p);
			int64_t wait;

			if (!r)
				continue;
			if (!r->internal && !r->func) {
				wait = uds_broker_bucket_take(&b->bucket, clock_now_us(CLOCK_MONOTONIC));
				if (wait > 0) {
					ev_timer_stop(loop, &b->kick);
					ev_timer_set(&b->kick, (double)wait / 1e6, 0.);
					ev_timer_start(loop, &b->kick);
					b->rate_wait = true;
					return;
				}
			}
			start(e, r);
		}
	}
}

static void on_pdu(struct ecu *e, const uint8_t *pdu, size_t len)
{
	struct uds_broker_request *r = e->active;
	enum uds_wait_action a;
	int64_t now = clock_now_us(CLOCK_MONOTONIC);

	if (!r || (r->func && !r->sent_us)) {
		/* A late answer to a request that timed out, or the answer to a suppressed
		 * tester present's NRC: nobody waits for it. */
		log_debug("%s: unsolicited response (%zu bytes) dropped", e->name, len);
		return;
	}
	if (!r->answered) {
		r->answered = true;
		uds_broker_stats_add_latency(&e->stats, (uint64_t)(now - r->sent_us));
	}
	a = uds_wait_response(&r->wait, pdu, len, now);
	switch (a) {
	case UDS_WAIT_ARM:
		r->pending++;
		e->stats.pending++;
		arm_timer(e, uds_wait_deadline(&r->wait));
		break;
	case UDS_WAIT_RESEND:
		r->busy++;
		e->stats.busy++;
		arm_timer(e, uds_wait_deadline(&r->wait));
		break;
	case UDS_WAIT_DONE:
		finish(e, UDS_BROKER_RESPONSE, 0, pdu, len);
		break;
	case UDS_WAIT_TOO_MANY_PENDING:
		r->pending++;
		e->stats.pending++;
		finish(e, UDS_BROKER_TOO_MANY_PENDING, 0, pdu, len);
		break;
	case UDS_WAIT_TOO_MANY_BUSY:
		r->busy++;
		e->stats.busy++;
		finish(e, UDS_BROKER_TOO_MANY_BUSY, 0, pdu, len);
		break;
	case UDS_WAIT_IGNORE:
		log_debug("%s: response not for the request on the wire, ignored", e->name);
		/* It may have come segmented: the wait goes back from N_Cr to P2/P2*. */
		arm_timer(e, uds_wait_deadline(&r->wait));
		break;
	case UDS_WAIT_DONE_NO_RESPONSE:
	case UDS_WAIT_TIMEOUT:
	case UDS_WAIT_TRANSFER_TIMEOUT:
	case UDS_WAIT_ACTION_MAX:
		break;
	}
}

/*
 * A frame on the bus (the router's): the first frame of a segmented answer on an ECU's
 * response id is the start of the response, which is what P2/P2* are measured to (ISO
 * 14229-2); the kernel's ISO-TP socket hands us the PDU only once all of it has come,
 * which for a 4095-byte DTC list is far beyond P2. From there each consecutive frame
 * must come within N_Cr. Our own frames (flow control, requests) are not the ECU's.
 */
static void on_bus_frame(void *userdata, const struct router_frame *f)
{
	struct uds_broker *b = userdata;
	const struct bd_frame *fr = &f->tf->frame;
	bool ext = fr->flags & BD_FRAME_EXT;
	uint8_t pci;

	if (f->local || fr->len < 2 || (fr->flags & (BD_FRAME_ERR | BD_FRAME_RTR)) ||
	    (f->hit.kind != ROUTE_DIAG_RESPONSE && f->hit.kind != ROUTE_UNKNOWN))
		return;
	for (size_t i = 0; i < b->n_ecus; i++) {
		struct ecu *e = b->ecus[i];
		struct uds_broker_request *r = e->active;
		const struct isotp_addr *a = &e->cfg.addr;
		size_t off = isotp_addr_pci_offset(a);

		if (a->rx_id != fr->id || a->ext_ids != ext || !r || !r->sent_us ||
		    fr->len < off + 2 || (off && fr->data[0] != a->rx_ea))
			continue;
		/* The PCI follows the address byte of extended and mixed addressing. */
		pci = fr->data[off] >> 4;
		if (pci != 1 && pci != 2) /* ISO 15765-2: 1 first frame, 2 consecutive frame */
			continue;
		if (uds_wait_frame(&r->wait, pci == 1, f->tf->t_us) != UDS_WAIT_ARM)
			continue;
		if (pci == 1 && !r->answered) {
			r->answered = true;
			uds_broker_stats_add_latency(&e->stats, (uint64_t)(f->tf->t_us > r->sent_us
										? f->tf->t_us - r->sent_us
										: 0));
		}
		arm_timer(e, uds_wait_deadline(&r->wait));
	}
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ecu *e = container_of(w, struct ecu, io);
	struct uds_broker *b = e->b;

	for (int i = 0; i < READ_BATCH && e->fd >= 0; i++) {
		size_t len = 0;
		int r = isotp_socket_recv(e->fd, b->buf, sizeof(b->buf), &len);

		if (r == 0)
			return;
		if (r < 0) {
			/* The kernel reports N_Cr, wrong SN, FC errors of a reception (and of
			 * a transmission it finished asynchronously) on the next recv. */
			log_debug("%s: %s", e->name, isotp_socket_error_name(r));
			if (e->active && (!e->active->func || e->active->sent_us))
				finish(e, UDS_BROKER_TRANSPORT_ERROR, r, NULL, 0);
			else {
				e->stats.transport_errors++;
				if (is_link_error(r))
					close_socket(e);
			}
			if (r == -EMSGSIZE)
				continue; /* the oversized PDU is gone; the socket is fine */
			return;
		}
		on_pdu(e, b->buf, len);
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ecu *e = container_of(w, struct ecu, timer);
	struct uds_broker_request *r = e->active;

	if (!r)
		return;
	switch (uds_wait_timer_expired(&r->wait, clock_now_us(CLOCK_MONOTONIC))) {
	case UDS_WAIT_TIMEOUT:
		finish(e, UDS_BROKER_TIMEOUT, 0, NULL, 0);
		break;
	case UDS_WAIT_TRANSFER_TIMEOUT:
		/* The ECU began its answer and stopped. The kernel's own N_Cr timer (1 s too)
		 * would report ETIMEDOUT on the socket later, where it could be taken for the
		 * next request's failure: closing abandons that reception with the socket. */
		log_debug("%s: the response stopped mid-transfer (N_Cr)", e->name);
		close_socket(e);
		finish(e, UDS_BROKER_TRANSPORT_ERROR, -ETIMEDOUT, NULL, 0);
		break;
	case UDS_WAIT_DONE_NO_RESPONSE:
		finish(e, UDS_BROKER_NO_RESPONSE, 0, NULL, 0);
		break;
	case UDS_WAIT_RESEND:
		transmit(e, r);
		break;
	case UDS_WAIT_ARM:
		arm_timer(e, uds_wait_deadline(&r->wait));
		break;
	case UDS_WAIT_DONE:
	case UDS_WAIT_IGNORE:
	case UDS_WAIT_TOO_MANY_PENDING:
	case UDS_WAIT_TOO_MANY_BUSY:
	case UDS_WAIT_ACTION_MAX:
		break;
	}
}

static struct uds_broker_request *request_new(struct ecu *e, enum uds_broker_priority prio,
					      const uint8_t *pdu, size_t len)
{
	struct uds_broker_request *r = calloc(1, sizeof(*r) + len);

	if (!r)
		return NULL;
	r->ecu = e;
	r->prio = prio;
	r->len = len;
	memcpy(r->pdu, pdu, len);
	list_init(&r->link);
	return r;
}

static void enqueue(struct ecu *e, struct uds_broker_request *r)
{
	list_add_tail(&e->queue[r->prio], &r->link);
	e->queued++;
	schedule_kick(e->b);
}

static void on_tester_present(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ecu *e = container_of(w, struct ecu, tester_present);
	/* 0x3E with suppressPosRspMsgIndicationBit: keeps the session, no answer expected. */
	static const uint8_t tp[] = {UDS_SID_TESTER_PRESENT, UDS_SPRMIB};
	struct uds_broker_request *r;

	/* Any request resets the server's S3 timer, so traffic makes tester present moot. */
	if (e->active || e->queued || e->session <= 1)
		return;
	r = request_new(e, UDS_BROKER_PRIORITY_INTERACTIVE, tp, sizeof(tp));
	if (!r)
		return;
	r->internal = true;
	enqueue(e, r);
}

static int check_ecus(const struct uds_broker_ecu_config *ecus, size_t n_ecus)
{
	if (n_ecus > UDS_BROKER_MAX_ECUS || (n_ecus && !ecus))
		return -EINVAL;
	for (size_t i = 0; i < n_ecus; i++) {
		if (!ecus[i].name || !*ecus[i].name || strlen(ecus[i].name) >= UDS_BROKER_MAX_NAME)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ecus[i].name, ecus[j].name) == 0)
				return -EINVAL;
	}
	return 0;
}

static struct ecu *ecu_new(struct uds_broker *b, const struct uds_broker_ecu_config *c)
{
	struct ecu *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->b = b;
	e->cfg = *c;
	strcpy(e->name, c->name);
	e->cfg.name = e->name;
	e->fd = -1;
	e->session = 1;
	e->p2_ms = e->cfg.p2_ms ? e->cfg.p2_ms : 50;
	e->p2star_ms = e->cfg.p2star_ms ? e->cfg.p2star_ms : 5000;
	for (int p = 0; p < UDS_BROKER_PRIORITY_MAX; p++)
		list_init(&e->queue[p]);
	ev_io_init(&e->io, on_readable, -1, EV_READ);
	ev_timer_init(&e->timer, on_timer, 0., 0.);
	/* When the loop wakes late with the bus readable and P2 (or N_Cr) due at once, the
	 * bus goes first: the frame that met the deadline decides, not the order libev
	 * happens to invoke them in. */
	ev_set_priority(&e->timer, EV_MINPRI);
	ev_timer_init(&e->tester_present, on_tester_present, 0., 0.);
	return e;
}

/* Completes everything of e with CANCELLED, closes its socket, frees it. */
static void ecu_free(struct ecu *e)
{
	/* Queued functional parts are started as cancelled so the functional request
	 * completes once; everything else just gets CANCELLED. */
	for (int p = 0; p < UDS_BROKER_PRIORITY_MAX; p++)
		while (!list_empty(&e->queue[p])) {
			struct uds_broker_request *r =
				list_first_entry(&e->queue[p], struct uds_broker_request, link);
			list_del(&r->link);
			e->queued--;
			if (e->active)
				finish(e, UDS_BROKER_CANCELLED, 0, NULL, 0);
			e->active = r;
		}
	finish(e, UDS_BROKER_CANCELLED, 0, NULL, 0);
	ev_timer_stop(e->b->loop, &e->timer);
	ev_timer_stop(e->b->loop, &e->tester_present);
	close_socket(e);
	free(e);
}

/* The same ECU as far as the wire is concerned: its queue and session may carry on. */
static bool ecu_same(const struct ecu *e, const struct uds_broker_ecu_config *c)
{
	return strcmp(e->name, c->name) == 0 && isotp_addr_equal(&e->cfg.addr, &c->addr) &&
	       e->cfg.p2_ms == c->p2_ms && e->cfg.p2star_ms == c->p2star_ms &&
	       e->cfg.s3_ms == c->s3_ms;
}

int uds_broker_set_ecus(struct uds_broker *b, const struct uds_broker_ecu_config *ecus,
			size_t n_ecus)
{
	struct ecu **next, **old = b->ecus;
	size_t n_old = b->n_ecus, from[UDS_BROKER_MAX_ECUS];
	int r = check_ecus(ecus, n_ecus);

	if (r < 0)
		return r;
	next = calloc(n_ecus ? n_ecus : 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < n_ecus; i++) {
		from[i] = SIZE_MAX;
		for (size_t j = 0; j < n_old && !next[i]; j++)
			if (old[j] && ecu_same(old[j], &ecus[i])) {
				next[i] = old[j];
				old[j] = NULL;
				from[i] = j;
			}
		if (!next[i])
			next[i] = ecu_new(b, &ecus[i]);
		if (next[i])
			continue;
		/* Out of memory: everything back as it was. */
		for (size_t k = 0; k < i; k++) {
			if (from[k] != SIZE_MAX)
				old[from[k]] = next[k];
			else
				free(next[k]);
		}
		free(next);
		return -ENOMEM;
	}
	b->ecus = next;
	b->n_ecus = n_ecus;
	for (size_t i = 0; i < n_ecus; i++)
		next[i]->index = i;
	for (size_t j = 0; j < n_old; j++)
		if (old[j])
			ecu_free(old[j]);
	free(old);
	return 0;
}

int uds_broker_new(struct ev_loop *loop, const struct uds_broker_config *c,
		   const struct uds_broker_ecu_config *ecus, size_t n_ecus,
		   struct uds_broker **ret)
{
	struct uds_broker *b;
	int r;

	if (!loop || !c || !c->ifname || !*c->ifname || strlen(c->ifname) >= sizeof(b->ifname))
		return -EINVAL;
	r = check_ecus(ecus, n_ecus);
	if (r < 0)
		return r;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = loop;
	b->cfg = *c;
	strcpy(b->ifname, c->ifname);
	b->cfg.ifname = b->ifname;
	if (!b->cfg.max_queue)
		b->cfg.max_queue = 64;
	b->raw_fd = -1;
	uds_broker_bucket_init(&b->bucket, c->rate_limit, c->rate_burst, clock_now_us(CLOCK_MONOTONIC));
	ev_timer_init(&b->kick, on_kick, 0., 0.);
	r = uds_broker_set_ecus(b, ecus, n_ecus);
	if (r >= 0 && c->router) {
		static const struct router_watch_ops ops = {.frame = on_bus_frame};

		r = router_watch_new(c->router, &ops, b, &b->watch);
		if (r < 0)
			uds_broker_free(b);
		else
			*ret = b;
		return r;
	}
	if (r < 0) {
		free(b);
		return r;
	}
	*ret = b;
	return 0;
}

void uds_broker_set_tuning(struct uds_broker *b, const struct uds_broker_config *c)
{
	b->cfg.p2_cap_ms = c->p2_cap_ms;
	b->cfg.p2star_cap_ms = c->p2star_cap_ms;
	b->cfg.max_pending = c->max_pending;
	b->cfg.max_busy = c->max_busy;
	if (c->rate_limit != b->cfg.rate_limit || c->rate_burst != b->cfg.rate_burst)
		uds_broker_bucket_init(&b->bucket, c->rate_limit, c->rate_burst,
				       clock_now_us(CLOCK_MONOTONIC));
	b->cfg.rate_limit = c->rate_limit;
	b->cfg.rate_burst = c->rate_burst;
}

struct uds_broker *uds_broker_free(struct uds_broker *b)
{
	if (!b)
		return NULL;
	ev_timer_stop(b->loop, &b->kick);
	b->rate_wait = true; /* finish() must not schedule more work */
	b->freeing = true;
	for (size_t i = 0; i < b->n_ecus; i++)
		ecu_free(b->ecus[i]);
	router_watch_free(b->watch);
	if (b->raw_fd >= 0)
		close(b->raw_fd);
	free(b->ecus);
	free(b);
	return NULL;
}

bool uds_broker_idle(const struct uds_broker *b)
{
	if (b->func)
		return false;
	for (size_t i = 0; i < b->n_ecus; i++) {
		const struct ecu *e = b->ecus[i];

		if (e->active || e->queued || e->session > 1)
			return false;
	}
	return true;
}

void uds_broker_close_idle(struct uds_broker *b)
{
	if (!uds_broker_idle(b))
		return;
	for (size_t i = 0; i < b->n_ecus; i++)
		close_socket(b->ecus[i]);
	if (b->raw_fd >= 0) {
		close(b->raw_fd);
		b->raw_fd = -1;
	}
}

size_t uds_broker_ecu_count(const struct uds_broker *b)
{
	return b->n_ecus;
}

int uds_broker_ecu_find(const struct uds_broker *b, const char *name)
{
	for (size_t i = 0; i < b->n_ecus; i++)
		if (strcmp(b->ecus[i]->name, name) == 0)
			return (int)i;
	return -ENOENT;
}

const char *uds_broker_ecu_name(const struct uds_broker *b, size_t i)
{
	return i < b->n_ecus ? b->ecus[i]->name : NULL;
}

const struct uds_broker_ecu_config *uds_broker_ecu_config(const struct uds_broker *b, size_t i)
{
	return i < b->n_ecus ? &b->ecus[i]->cfg : NULL;
}

int uds_broker_ecu_stats(const struct uds_broker *b, size_t i, struct uds_broker_stats *ret)
{
	const struct ecu *e;

	if (i >= b->n_ecus)
		return -ENOENT;
	e = b->ecus[i];
	*ret = e->stats;
	ret->queued = e->queued;
	ret->session = e->session;
	ret->p2_ms = e->p2_ms;
	ret->p2star_ms = e->p2star_ms;
	return 0;
}

int uds_broker_submit(struct uds_broker *b, size_t ecu, enum uds_broker_priority prio,
		      const uint8_t *req, size_t len, uds_broker_done_fn done, void *userdata,
		      struct uds_broker_request **ret_req)
{
	struct uds_broker_request *r;
	struct ecu *e;

	if (ecu >= b->n_ecus)
		return -ENOENT;
	if (!req || len == 0 || len > UDS_BROKER_MAX_PDU || (unsigned)prio >= UDS_BROKER_PRIORITY_MAX)
		return -EINVAL;
	e = b->ecus[ecu];
	if (e->queued >= b->cfg.max_queue)
		return -ENOBUFS;
	r = request_new(e, prio, req, len);
	if (!r)
		return -ENOMEM;
	r->done = done;
	r->userdata = userdata;
	enqueue(e, r);
	if (ret_req)
		*ret_req = r;
	return 0;
}

void uds_broker_request_cancel(struct uds_broker_request *r)
{
	struct ecu *e;

	if (!r)
		return;
	e = r->ecu;
	if (e->active == r) {
		r->done = NULL;
		return;
	}
	list_del(&r->link);
	e->queued--;
	free(r);
}

/* ---- functional requests ---- */

static void functional_free(struct functional *f)
{
	free(f->parts);
	free(f->answers);
	free(f->resp_buf);
	free(f);
}

static void functional_part_done(struct functional *f, struct uds_broker_request *r,
				 const struct uds_broker_result *res, struct uds_broker *b)
{
	size_t k;

	for (k = 0; k < f->n && f->parts[k] != r; k++)
		;
	if (k == f->n)
		return;
	f->parts[k] = NULL;
	if (res->outcome == UDS_BROKER_RESPONSE && res->resp_len <= UDS_BROKER_MAX_PDU) {
		uint8_t *dst = f->resp_buf + k * UDS_BROKER_MAX_PDU;

		memcpy(dst, res->resp, res->resp_len);
		f->answers[k].resp = dst;
		f->answers[k].resp_len = res->resp_len;
	}
	if (res->outcome == UDS_BROKER_TRANSPORT_ERROR)
		f->answers[k].transport_errno = res->transport_errno;
	if (++f->n_done == f->n) {
		if (b->func == f)
			b->func = NULL;
		if (f->done)
			f->done(f->userdata, f->answers, f->n);
		functional_free(f);
		return;
	}
	/* A part that failed before it could listen: the others need not wait for it. */
	if (!r->ready && ++f->n_ready == f->n && !b->freeing)
		functional_broadcast(b, f);
}

static void functional_broadcast(struct uds_broker *b, struct functional *f)
{
	struct bd_frame frame = {0};
	int64_t now;
	int padding = -1, s = 0;
	uint32_t fid = 0;

	for (size_t k = 0; k < f->n; k++) {
		const struct ecu *e = f->parts[k] ? f->parts[k]->ecu : NULL;
		if (e && !fid) {
			fid = e->cfg.addr.functional_id;
			padding = e->cfg.addr.padding;
		}
	}
	s = gate(b, "functional request");
	if (s == 0 && b->raw_fd < 0) {
		static const struct can_raw_filter none[1];
		/* Send-only: an empty filter list receives nothing. */
		s = can_raw_open(b->ifname, none, 0, CAN_RAW_OPEN_NO_LOOPBACK, &b->raw_fd);
	}
	if (s == 0) {
		/* ISO 15765-2 single frame: PCI 0x0N then the PDU. */
		frame.id = fid;
		/* ISO 15765-4: 0x18DB33F1 is the 29-bit functional id */
		frame.flags = fid > 0x7ff ? BD_FRAME_EXT : 0;
		frame.data[0] = (uint8_t)f->len;
		memcpy(frame.data + 1, f->req, f->len);
		frame.len = (uint8_t)(1 + f->len);
		if (padding >= 0) {
			memset(frame.data + frame.len, padding, 8 - frame.len);
			frame.len = 8;
		}
		s = can_raw_send(b->raw_fd, &frame);
	}
	now = clock_now_us(CLOCK_MONOTONIC);
	if (s < 0) {
		/* finish() frees f with its last part: walk a copy. */
		struct ecu *ecus[UDS_BROKER_MAX_ECUS];
		size_t n = 0;

		for (size_t k = 0; k < f->n; k++)
			if (f->parts[k])
				ecus[n++] = f->parts[k]->ecu;
		for (size_t k = 0; k < n; k++)
			finish(ecus[k], UDS_BROKER_TRANSPORT_ERROR, s, NULL, 0);
		return;
	}
	for (size_t k = 0; k < f->n; k++) {
		struct uds_broker_request *r = f->parts[k];
		if (!r)
			continue;
		r->sent_us = now;
		uds_wait_sent(&r->wait, now);
		arm_timer(r->ecu, uds_wait_deadline(&r->wait));
	}
}

/*
 * Does ECU e take part in a functional request on fid (0: the first one found)? It needs
 * a functional id, the same for all (one frame is sent), and no address byte: extended
 * and mixed addressing put one in front of the N_PCI of functional frames too, a byte
 * the profile does not give, and a frame without it would be read as garbage.
 */
static bool takes_functional(const struct ecu *e, uint32_t fid)
{
	const struct isotp_addr *a = &e->cfg.addr;
	return a->functional_id && (!fid || a->functional_id == fid) &&
	       isotp_addr_pci_offset(a) == 0;
}

int uds_broker_functional(struct uds_broker *b, const uint8_t *req, size_t len,
			  uds_broker_functional_fn done, void *userdata)
{
	struct functional *f;
	uint32_t fid = 0;
	size_t n = 0;

	if (!req || len == 0 || len > 7)
		return -EINVAL;
	if (b->func)
		return -EBUSY;
	for (size_t i = 0; i < b->n_ecus; i++)
		if (takes_functional(b->ecus[i], fid)) {
			fid = b->ecus[i]->cfg.addr.functional_id;
			n++;
		}
	if (n == 0)
		return -ENOENT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->parts = calloc(n, sizeof(*f->parts));
	f->answers = calloc(n, sizeof(*f->answers));
	f->resp_buf = malloc(n * UDS_BROKER_MAX_PDU);
	if (!f->parts || !f->answers || !f->resp_buf)
		goto fail;
	f->n = n;
	f->done = done;
	f->userdata = userdata;
	f->len = len;
	memcpy(f->req, req, len);
	n = 0;
	for (size_t i = 0; i < b->n_ecus; i++) {
		struct uds_broker_request *r;

		if (!takes_functional(b->ecus[i], fid))
			continue;
		r = request_new(b->ecus[i], UDS_BROKER_PRIORITY_INTERACTIVE, req, len);
		if (!r)
			goto fail_parts;
		r->func = f;
		f->parts[n] = r;
		f->answers[n].ecu = i;
		n++;
	}
	for (size_t k = 0; k < f->n; k++)
		enqueue(f->parts[k]->ecu, f->parts[k]);
	b->func = f;
	return 0;
fail_parts:
	for (size_t k = 0; k < n; k++)
		free(f->parts[k]);
fail:
	functional_free(f);
	return -ENOMEM;
}

/* ---- the broker as a uds_port ---- */

static int port_submit(void *impl, const char *ecu, enum uds_broker_priority prio,
		       const uint8_t *req, size_t len, uds_broker_done_fn done, void *userdata,
		       struct uds_port_request **ret_req)
{
	struct uds_broker_request *r = NULL;
	int i = uds_broker_ecu_find(impl, ecu), k;

	if (i < 0)
		return i;
	k = uds_broker_submit(impl, (size_t)i, prio, req, len, done, userdata, &r);
	if (k >= 0 && ret_req)
		*ret_req = (struct uds_port_request *)r;
	return k;
}

static void port_cancel(void *impl, struct uds_port_request *r)
{
	uds_broker_request_cancel((struct uds_broker_request *)r);
}

static int port_functional(void *impl, const uint8_t *req, size_t len,
			   uds_broker_functional_fn done, void *userdata)
{
	return uds_broker_functional(impl, req, len, done, userdata);
}

void uds_broker_port(struct uds_broker *b, struct uds_port *ret)
{
	static const struct uds_port_ops ops = {
		.submit = port_submit,
		.cancel = port_cancel,
		.functional = port_functional,
	};

	ret->ops = b ? &ops : NULL;
	ret->impl = b;
}
