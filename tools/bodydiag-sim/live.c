/* SPDX-License-Identifier: MIT */
/*
 * live: the event loop around the pure simulator parts (model, broadcast, uds_server,
 * scenario). Everything happens in one thread: a 1 ms tick steps the model to the
 * monotonic clock, sends the frames that came due and the UDS answers whose time came
 * (final answers after 0x78, S3), and retries what the kernel refused for want of
 * queue space. Nothing ever blocks: sockets are non-blocking, the ISO-TP sockets do
 * not wait for the end of a transmission, and slow services answer from the tick.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/profile.h"
#include "broadcast.h"
#include "live.h"
#include "model.h"
#include "runner.h"
#include "scenario.h"
#include "uds_server.h"

#define TICK_S 0.001
/* Frames the kernel refused (tx queue full) wait here for the next tick; beyond this
 * the oldest go, as a real ECU's transmit buffer would overwrite them. */
#define TXQ_FRAMES 64u
/* ISO-TP PDUs waiting per socket while the previous one is still being sent. */
#define PDUQ_MAX 4u
/* A control client that does not read its replies is dropped past this. */
#define CLIENT_OUT_MAX (64u * 1024)
#define REPLY_MAX 2048u

struct pdu_queue {
	uint8_t data[PDUQ_MAX][SIM_UDS_RESPONSE_MAX];
	size_t len[PDUQ_MAX];
	size_t head, n;
};

struct isotp_chan {
	struct sim_live *l;
	int fd;
	ev_io io;
	const char *name;
	struct pdu_queue q;
};

struct client {
	struct sim_live *l;
	struct client *next;
	int fd; /* for stdin: the fd we read; replies go to stdout */
	bool is_stdin;
	bool discarding; /* rest of a too long line */
	bool closing;	 /* close once the replies are out */
	ev_io rio, wio;
	char in[SIM_SCENARIO_LINE_MAX + 1];
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
};

struct sim_live {
	struct ev_loop *loop;
	struct sim_live_config cfg;
	struct sim_model *m;
	struct sim_broadcast *bc;
	struct sim_uds *uds;
	struct sim_runner *runner;
	int64_t t0_us; /* monotonic time of model time 0 */
	int64_t uds_next;
	int status; /* exit status of the run: 0 or -errno */

	int can_fd;
	struct bd_frame txq[TXQ_FRAMES];
	size_t txq_head, txq_n;
	uint64_t tx_frames, tx_dropped;
	int last_tx_error;

	struct isotp_chan bcm, obd_phys, obd_func;

	int listen_fd;
	char *control_path; /* set once we own the socket file */
	ev_io accept_io;
	struct client *clients;
	unsigned n_clients;
	struct client *stdin_client;

	ev_timer tick;
	ev_signal sigint, sigterm;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t model_now(const struct sim_live *l)
{
	return mono_us() - l->t0_us;
}

static void logf_(const struct sim_live *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(const struct sim_live *l, const char *fmt, ...)
{
	va_list ap;
	int64_t t = sim_model_now(l->m);

	fprintf(stderr, "%10.3f  ", (double)t / 1e6);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void hex(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%02X", i ? " " : "", p[i]);
}

/* --- CAN_RAW broadcast ---------------------------------------------------------- */

static void txq_push(struct sim_live *l, const struct bd_frame *f)
{
	if (l->txq_n == TXQ_FRAMES) {
		l->txq_head = (l->txq_head + 1) % TXQ_FRAMES;
		l->txq_n--;
		l->tx_dropped++;
	}
	l->txq[(l->txq_head + l->txq_n) % TXQ_FRAMES] = *f;
	l->txq_n++;
}

static void txq_flush(struct sim_live *l)
{
	while (l->txq_n > 0) {
		int r = can_raw_send(l->can_fd, &l->txq[l->txq_head]);
		if (r == -EAGAIN)
			return; /* the driver's queue is full: next tick */
		if (r < 0) {
			/* Bus-off or link down: a real ECU keeps running and its frames are
			 * lost; say so once per kind of error. */
			if (r != l->last_tx_error)
				fprintf(stderr, "bodydiag-sim: %s: send: %s\n", l->cfg.iface,
					strerror(-r));
			l->last_tx_error = r;
			l->tx_dropped++;
		} else {
			l->last_tx_error = 0;
			l->tx_frames++;
		}
		l->txq_head = (l->txq_head + 1) % TXQ_FRAMES;
		l->txq_n--;
	}
}

/* --- ISO-TP ---------------------------------------------------------------------- */

static void pdu_flush(struct isotp_chan *c)
{
	while (c->q.n > 0) {
		int r = isotp_socket_send(c->fd, c->q.data[c->q.head], c->q.len[c->q.head]);
		if (r == -EAGAIN)
			return; /* previous PDU still on the wire */
		if (r < 0)
			fprintf(stderr, "bodydiag-sim: %s: send: %s\n", c->name,
				isotp_socket_error_name(r));
		c->q.head = (c->q.head + 1) % PDUQ_MAX;
		c->q.n--;
	}
}

static void pdu_send(struct isotp_chan *c, const uint8_t *p, size_t n)
{
	struct sim_live *l = c->l;

	if (l->cfg.verbose) {
		char h[3 * 32 + 8];
		hex(p, n < 32 ? n : 32, h, sizeof(h));
		logf_(l, "uds %s > %s%s", c->name, h, n > 32 ? " ..." : "");
	}
	if (c->q.n == PDUQ_MAX) {
		fprintf(stderr, "bodydiag-sim: %s: tester not taking answers, one dropped\n",
			c->name);
		c->q.head = (c->q.head + 1) % PDUQ_MAX;
		c->q.n--;
	}
	size_t i = (c->q.head + c->q.n) % PDUQ_MAX;
	memcpy(c->q.data[i], p, n);
	c->q.len[i] = n;
	c->q.n++;
	pdu_flush(c);
}

static void step(struct sim_live *l);

static void isotp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct isotp_chan *c = w->data;
	struct sim_live *l = c->l;
	uint8_t req[4096], resp[SIM_UDS_RESPONSE_MAX];

	for (;;) {
		size_t len = 0, n = 0;
		int r = isotp_socket_recv(c->fd, req, sizeof(req), &len);
		if (r == 0)
			return;
		if (r < 0) {
			/* Transport errors (a tester that stopped sending flow control,
			 * a PDU too long) end that exchange, not the simulator. */
			fprintf(stderr, "bodydiag-sim: %s: %s\n", c->name,
				isotp_socket_error_name(r));
			if (r == -EMSGSIZE || r == -ECOMM || r == -ETIMEDOUT || r == -EILSEQ ||
			    r == -EBADMSG || r == -EPROTO || r == -ENOMSG || r == -EOVERFLOW)
				continue;
			if (r == -ENODEV) {
				/* The adapter is gone (unplugged, driver unbound): every
				 * socket on it is dead, so is the simulator. */
				l->status = r;
				ev_break(l->loop, EVBREAK_ALL);
			}
			return;
		}
		if (len == 0)
			continue;
		/* Requests see the model as of now, not as of the last tick. */
		step(l);
		if (l->cfg.verbose) {
			char h[3 * 32 + 8];
			hex(req, len < 32 ? len : 32, h, sizeof(h));
			logf_(l, "uds %s < %s%s", c->name, h, len > 32 ? " ..." : "");
		}
		if (c == &l->bcm) {
			r = sim_uds_request(l->uds, sim_model_now(l->m), false, req, len, resp,
					    sizeof(resp), &n);
			if (r == 0 && n > 0)
				pdu_send(&l->bcm, resp, n);
		} else if (c == &l->obd_func && req[0] >= 0x10) {
			/* UDS on the functional address (tester present, session control to
			 * every ECU): the BCM answers on its own response id. */
			r = sim_uds_request(l->uds, sim_model_now(l->m), true, req, len, resp,
					    sizeof(resp), &n);
			if (r == 0 && n > 0)
				pdu_send(&l->bcm, resp, n);
		} else {
			r = sim_uds_obd_request(l->uds, req, len, resp, sizeof(resp), &n);
			/* The tester's flow control for a multi-frame answer comes on the
			 * physical request id, so answers always leave from that socket. */
			if (r == 0 && n > 0)
				pdu_send(&l->obd_phys, resp, n);
		}
		if (r < 0)
			fprintf(stderr, "bodydiag-sim: %s: %s\n", c->name, strerror(-r));
		/* A 0x78 set a timer inside the server: poll it at the next tick. */
		l->uds_next = 0;
	}
}

/* The ECU's socket for the tester's address `a` of the profile (any addressing mode:
 * ids, address bytes and padding reversed to the ECU's side); rx_id 0 keeps the physical
 * request id, another value listens there instead (the functional id). */
static int isotp_chan_open(struct sim_live *l, struct isotp_chan *c, const char *name,
			   const struct isotp_addr *a, uint32_t rx_id)
{
	struct isotp_socket_opts o;
	struct isotp_addr srv;
	int r;

	isotp_addr_reverse(a, &srv);
	if (rx_id)
		srv.rx_id = rx_id;
	isotp_socket_opts_from_addr(&o, &srv);
	/* WAIT_TX_DONE would block the loop for the length of a multi-frame answer. */
	o.wait_tx_done = false;
	c->l = l;
	c->name = name;
	r = isotp_socket_open(l->cfg.iface, &o, &c->fd);
	if (r < 0) {
		c->fd = -1;
		fprintf(stderr, "bodydiag-sim: %s: ISO-TP socket %03X/%03X: %s\n", l->cfg.iface,
			o.rx_id, o.tx_id, strerror(-r));
		return r;
	}
	ev_io_init(&c->io, isotp_cb, c->fd, EV_READ);
	c->io.data = c;
	ev_io_start(l->loop, &c->io);
	return 0;
}

static void isotp_chan_close(struct sim_live *l, struct isotp_chan *c)
{
	if (c->fd < 0)
		return;
	ev_io_stop(l->loop, &c->io);
	close(c->fd);
	c->fd = -1;
}

/* --- the tick ---------------------------------------------------------------------- */

static void on_frame(void *userdata, const struct bd_timed_frame *f)
{
	txq_push(userdata, &f->frame);
}

static void on_event(void *userdata, const struct sim_event *e)
{
	struct sim_live *l = userdata;
	char buf[160];

	if (!l->cfg.verbose)
		return;
	sim_event_format(e, buf, sizeof(buf));
	logf_(l, "# %s", buf);
}

static int runner_start(struct sim_live *l, const struct sim_scenario *sc)
{
	static const struct sim_runner_ops ops = {.frame = on_frame, .event = on_event};

	l->runner = sim_runner_free(l->runner);
	return sim_runner_new(&(struct sim_runner_config){.model = l->m, .broadcast = l->bc,
							  .scenario = sc},
			      &ops, l, &l->runner);
}

/* Runs the car (and the scenario) to the clock and sends what came due. */
static void step(struct sim_live *l)
{
	const struct sim_scenario_step *st;
	uint8_t resp[SIM_UDS_RESPONSE_MAX];
	size_t n;
	int r = sim_runner_run_until(l->runner, model_now(l));

	if (r < 0) {
		st = sim_runner_failed_step(l->runner);
		if (st)
			fprintf(stderr, "bodydiag-sim: scenario line %u: %s (scenario stopped)\n",
				st->line, strerror(-r));
		else
			fprintf(stderr, "bodydiag-sim: %s\n", strerror(-r));
		/* The car goes on without the rest of the scenario. */
		if (runner_start(l, NULL) < 0)
			ev_break(l->loop, EVBREAK_ALL);
	}
	txq_flush(l);

	if (sim_model_now(l->m) >= l->uds_next) {
		r = sim_uds_poll(l->uds, sim_model_now(l->m), resp, sizeof(resp), &n, &l->uds_next);
		if (r == 0 && n > 0)
			pdu_send(&l->bcm, resp, n);
	}
	pdu_flush(&l->bcm);
	pdu_flush(&l->obd_phys);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	step(w->data);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* --- control commands ----------------------------------------------------------- */

/* A reply line being built; output past cap is cut, never overrun. */
struct reply {
	char *p;
	size_t cap, len;
};

static void reply_addf(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_addf(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len + 1 >= r->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->p + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len = r->len + (size_t)n < r->cap ? r->len + (size_t)n : r->cap - 1;
}

/* The active faults joined by sep, or "healthy". */
static void reply_add_faults(struct reply *r, const struct sim_live *l, const char *sep)
{
	bool any = false;

	for (unsigned i = 0; i < _SIM_FAULT_MAX; i++) {
		if (!sim_model_fault_active(l->m, (enum sim_fault)i))
			continue;
		reply_addf(r, "%s%s", any ? sep : "", sim_fault_name((enum sim_fault)i));
		any = true;
	}
	if (!any)
		reply_addf(r, "healthy");
}

static void status_reply(struct sim_live *l, struct reply *r)
{
	const struct sim_signals *s = sim_model_signals(l->m);

	reply_addf(
	    r,
	    "ok t=%.3f session=%s request=%s cmd=%d current=%.2f ajar=%d inhibit=%s "
	    "rke=%s/%s rssi=%d battery_low=%d speed=%.1f gear=%s ignition=%s "
	    "battery=%.2f fuse=%.2f lockout_ms=%" PRIu32 " lid=%.2f tx=%" PRIu64
	    " tx_dropped=%" PRIu64 " faults=",
	    (double)sim_model_now(l->m) / 1e6,
	    sim_uds_session(l->uds) == 0x03 ? "extended" : "default",
	    sim_release_source_name(s->release_request), s->actuator_cmd, s->actuator_current_a,
	    s->ajar, sim_inhibit_name(s->inhibit), sim_rke_button_name(s->rke_button),
	    sim_telegram_status_name(s->rke_telegram_status), s->rke_rssi_dbm, s->rke_battery_low,
	    s->speed_kmh, sim_gear_name(s->gear), sim_ignition_name(s->ignition), s->battery_v,
	    s->fuse_v, s->lockout_remaining_ms, s->lid_position, l->tx_frames, l->tx_dropped);
	reply_add_faults(r, l, ",");
}

/* DTCs that have been tested as failed since the last clear, with their status. */
static void dtc_reply(struct sim_live *l, struct reply *r)
{
	bool any = false;

	reply_addf(r, "ok");
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
		const struct sim_dtc *d = sim_model_dtc(l->m, (enum sim_dtc_id)i);
		char code[9];
		if (!(d->status & (SIM_DTC_TF | SIM_DTC_PDTC | SIM_DTC_CDTC | SIM_DTC_TFSLC)))
			continue;
		sim_dtc_format(d->code, code);
		reply_addf(r, " %s=0x%02X", code, d->status);
		any = true;
	}
	if (!any)
		reply_addf(r, " none");
}

static const char *apply_error(int r, const struct sim_command *c)
{
	switch (r) {
	case -ENOENT:
		return c->type == SIM_COMMAND_DTC_CLEAR ? "no DTC to clear" : "fault not active";
	case -ENODEV:
		return "no aftermarket alarm installed (fault add aftermarket_alarm)";
	case -EBUSY:
		return "that switch is already held";
	case -EINVAL:
		return "argument out of range";
	default:
		return strerror(-r);
	}
}

void sim_live_command(struct sim_live *l, const char *line, size_t len, char *reply, size_t cap,
		      bool *ret_quit)
{
	struct sim_command c;
	struct sim_parse_error err;
	struct reply rb = {.p = reply, .cap = cap};
	int r;

	*ret_quit = false;
	if (cap == 0)
		return;
	reply[0] = '\0';
	r = sim_command_parse(line, len, &c, &err);
	if (r == -ENODATA) {
		/* A blank or comment line still gets its reply, so that replies stay
		 * paired with lines. */
		snprintf(reply, cap, "ok");
		return;
	}
	if (r < 0) {
		snprintf(reply, cap, "error %u:%u: %s", err.line, err.column, err.message);
		return;
	}
	/* The command acts at the present moment, not at the last tick. */
	step(l);
	switch (c.type) {
	case SIM_COMMAND_STATUS:
		status_reply(l, &rb);
		return;
	case SIM_COMMAND_DTC:
		dtc_reply(l, &rb);
		return;
	case SIM_COMMAND_FAULTS:
		reply_addf(&rb, "ok ");
		reply_add_faults(&rb, l, " ");
		return;
	case SIM_COMMAND_HELP:
		/* One reply line per command: the help's lines joined with " | ". */
		reply_addf(&rb, "ok");
		for (const char *h = sim_command_help(); *h;) {
			size_t k = strcspn(h, "\n");
			reply_addf(&rb, "%s%.*s", h == sim_command_help() ? " " : " | ", (int)k, h);
			h += k + (h[k] == '\n');
		}
		return;
	case SIM_COMMAND_QUIT:
		snprintf(reply, cap, "ok bye");
		*ret_quit = true;
		return;
	default:
		break;
	}
	r = sim_command_apply(&c, l->m);
	if (r < 0) {
		snprintf(reply, cap, "error %s", apply_error(r, &c));
		return;
	}
	if (l->cfg.verbose)
		logf_(l, "control: %.*s", (int)(len && line[len - 1] == '\n' ? len - 1 : len),
		      line);
	/* Frames that changed go out now rather than at the next tick. */
	step(l);
	snprintf(reply, cap, "ok");
}

/* --- control clients: the Unix socket and stdin -------------------------------------- */

static void client_free(struct client *c)
{
	struct sim_live *l = c->l;

	ev_io_stop(l->loop, &c->rio);
	ev_io_stop(l->loop, &c->wio);
	if (c->is_stdin) {
		l->stdin_client = NULL;
		if (c->fd != STDIN_FILENO)
			close(c->fd);
	} else {
		for (struct client **p = &l->clients; *p; p = &(*p)->next)
			if (*p == c) {
				*p = c->next;
				break;
			}
		l->n_clients--;
		close(c->fd);
	}
	free(c->out);
	free(c);
}

static void client_write(struct client *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(c->l->loop, &c->wio);
			return;
		}
		if (n <= 0) {
			client_free(c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	ev_io_stop(c->l->loop, &c->wio);
	if (c->closing)
		client_free(c);
}

/* Queues a reply line. Returns false when the client was dropped for not reading. */
static bool client_reply(struct client *c, const char *reply)
{
	size_t n = strlen(reply);

	if (c->is_stdin) {
		fprintf(stdout, "%s\n", reply);
		fflush(stdout);
		return true;
	}
	if (c->out_len + n + 1 > CLIENT_OUT_MAX) {
		fprintf(stderr,
			"bodydiag-sim: control client does not read its replies, dropped\n");
		client_free(c);
		return false;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;
		while (cap < c->out_len + n + 1)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			client_free(c);
			return false;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, reply, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	return true;
}

/* Handles every complete line in the input buffer. Returns false when c is gone. */
static bool client_lines(struct client *c)
{
	struct sim_live *l = c->l;
	char reply[REPLY_MAX];
	size_t start = 0;

	for (size_t i = 0; i < c->in_len; i++) {
		bool quit = false;
		if (c->in[i] != '\n')
			continue;
		if (c->discarding) {
			c->discarding = false;
		} else {
			sim_live_command(l, c->in + start, i - start, reply, sizeof(reply), &quit);
			if (!client_reply(c, reply))
				return false;
		}
		start = i + 1;
		if (quit) {
			l->status = 0;
			ev_break(l->loop, EVBREAK_ALL);
		}
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == sizeof(c->in)) {
		/* No newline within the longest allowed line. */
		if (!c->discarding) {
			snprintf(reply, sizeof(reply),
				 "error 1:%u: line too long (at most %u bytes)",
				 SIM_SCENARIO_LINE_MAX + 1, SIM_SCENARIO_LINE_MAX);
			if (!client_reply(c, reply))
				return false;
		}
		c->discarding = true;
		c->in_len = 0;
	}
	return true;
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;
	ssize_t n;

	/* One read per wakeup: stdin may be a blocking fd we could not reopen. */
	n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF: a last line without newline still counts. */
		if (c->in_len > 0 && !c->discarding && c->in_len < sizeof(c->in)) {
			c->in[c->in_len++] = '\n';
			if (!client_lines(c))
				return;
		}
		if (c->is_stdin) {
			/* `bodydiag-sim < /dev/null &` must keep running. */
			client_free(c);
			return;
		}
		c->closing = true;
		ev_io_stop(loop, &c->rio);
		client_write(c);
		return;
	}
	c->in_len += (size_t)n;
	if (!client_lines(c))
		return;
	if (!c->is_stdin)
		client_write(c);
}

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	client_write(w->data);
}

static struct client *client_new(struct sim_live *l, int fd, bool is_stdin)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->l = l;
	c->fd = fd;
	c->is_stdin = is_stdin;
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(l->loop, &c->rio);
	return c;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sim_live *l = w->data;

	for (;;) {
		int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct client *c;
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "bodydiag-sim: control: accept: %m\n");
			return;
		}
		if (l->n_clients >= SIM_LIVE_CLIENTS_MAX) {
			static const char busy[] = "error too many control clients\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		c = client_new(l, fd, false);
		if (!c) {
			close(fd);
			continue;
		}
		c->next = l->clients;
		l->clients = c;
		l->n_clients++;
	}
}

static int control_open(struct sim_live *l, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bodydiag-sim: --control %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r == -EADDRINUSE && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			/* A socket file left by an earlier run, unless someone answers on it. */
			int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
			bool alive =
			    probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
			if (probe >= 0)
				close(probe);
			if (alive) {
				fprintf(stderr,
					"bodydiag-sim: --control %s: another simulator is "
					"using it\n",
					path);
				close(fd);
				return -EADDRINUSE;
			}
			r = unlink(path) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
				? -errno
				: 0;
		}
		if (r < 0) {
			fprintf(stderr, "bodydiag-sim: --control %s: %s\n", path, strerror(-r));
			close(fd);
			return r;
		}
	}
	if (listen(fd, 8) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	l->control_path = strdup(path);
	if (!l->control_path) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	l->listen_fd = fd;
	ev_io_init(&l->accept_io, accept_cb, fd, EV_READ);
	l->accept_io.data = l;
	ev_io_start(l->loop, &l->accept_io);
	return 0;
}

static int stdin_open(struct sim_live *l)
{
	/* Started in the background (`bodydiag-sim --iface can1 &`): reading the terminal
	 * would stop us with SIGTTIN, so the terminal is left to the shell. */
	if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) != getpgrp())
		return 0;
	/* A fresh open file description of the pipe or terminal can be non-blocking
	 * without changing the shell's stdin; for anything else (a socket, an inherited
	 * file) we read fd 0 itself, once per readiness. */
	int fd = open("/proc/self/fd/0", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		fd = STDIN_FILENO;
	}
	l->stdin_client = client_new(l, fd, true);
	if (!l->stdin_client) {
		if (fd != STDIN_FILENO)
			close(fd);
		return -ENOMEM;
	}
	return 0;
}

/* --- setup ------------------------------------------------------------------------ */

int sim_live_new(struct ev_loop *loop, const struct sim_live_config *cfg, struct sim_live **ret)
{
	struct sim_model_config mcfg;
	struct sim_broadcast_config bcfg = {0};
	struct sim_live *l;
	const struct can_raw_filter none = {0};
	const struct profile_ecu *bcm, *obd;
	int r;

	if (!loop || !cfg || !cfg->iface || !cfg->db || !cfg->profile)
		return -EINVAL;
	bcm = profile_ecu_find(cfg->profile, "bcm");
	obd = profile_ecu_find(cfg->profile, "obd");
	if (!bcm || !obd || !obd->functional_id) {
		fprintf(stderr, "bodydiag-sim: the profile needs [ecu bcm] and [ecu obd] with "
				"a functional id\n");
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->loop = loop;
	l->cfg = *cfg;
	l->can_fd = l->listen_fd = -1;
	l->bcm.fd = l->obd_phys.fd = l->obd_func.fd = -1;

	sim_model_config_init(&mcfg);
	if (cfg->sc)
		sim_scenario_model_config(cfg->sc, &mcfg);
	if (cfg->has_seed)
		mcfg.seed = cfg->seed;
	bcfg.seed = mcfg.seed;
	if (cfg->sc) {
		bcfg.jitter_us = sim_scenario_jitter_us(cfg->sc);
		bcfg.noise_per_s = sim_scenario_noise_per_s(cfg->sc);
	}
	r = sim_model_new(&mcfg, &l->m);
	if (r < 0)
		goto fail;
	if (cfg->sc)
		r = sim_scenario_start(cfg->sc, l->m);
	for (size_t i = 0; r >= 0 && i < cfg->n_faults; i++)
		r = sim_command_apply(&cfg->faults[i], l->m);
	if (r < 0) {
		fprintf(stderr, "bodydiag-sim: fault: %s\n", strerror(-r));
		goto fail;
	}
	r = sim_broadcast_new(cfg->db, &bcfg, &l->bc);
	if (r < 0) {
		fprintf(stderr, "bodydiag-sim: not the simulator's DBC: %s\n", strerror(-r));
		goto fail;
	}
	r = sim_uds_new(l->m, NULL, &l->uds);
	if (r >= 0)
		r = runner_start(l, cfg->sc);
	if (r < 0)
		goto fail;

	/* Send only: an empty filter list keeps the bus traffic out of our queue. */
	r = can_raw_open(cfg->iface, &none, 0, 0, &l->can_fd);
	if (r < 0) {
		fprintf(stderr, "bodydiag-sim: %s: CAN_RAW socket: %s\n", cfg->iface, strerror(-r));
		goto fail;
	}
	r = isotp_chan_open(l, &l->bcm, "bcm", &bcm->addr, 0);
	if (r >= 0)
		r = isotp_chan_open(l, &l->obd_phys, "obd", &obd->addr, 0);
	if (r >= 0)
		r = isotp_chan_open(l, &l->obd_func, "obd-functional", &obd->addr, obd->functional_id);
	if (r < 0)
		goto fail;
	if (cfg->control_path) {
		r = control_open(l, cfg->control_path);
		if (r < 0)
			goto fail;
	}
	if (cfg->control_stdin) {
		r = stdin_open(l);
		if (r < 0)
			goto fail;
	}

	ev_timer_init(&l->tick, tick_cb, TICK_S, TICK_S);
	l->tick.data = l;
	ev_timer_start(loop, &l->tick);
	ev_signal_init(&l->sigint, signal_cb, SIGINT);
	ev_signal_init(&l->sigterm, signal_cb, SIGTERM);
	ev_signal_start(loop, &l->sigint);
	ev_signal_start(loop, &l->sigterm);
	l->t0_us = mono_us();
	*ret = l;
	return 0;
fail:
	sim_live_free(l);
	return r;
}

struct sim_live *sim_live_free(struct sim_live *l)
{
	if (!l)
		return NULL;
	while (l->clients)
		client_free(l->clients);
	if (l->stdin_client)
		client_free(l->stdin_client);
	if (l->listen_fd >= 0) {
		ev_io_stop(l->loop, &l->accept_io);
		close(l->listen_fd);
	}
	if (l->control_path) {
		unlink(l->control_path);
		free(l->control_path);
	}
	isotp_chan_close(l, &l->bcm);
	isotp_chan_close(l, &l->obd_phys);
	isotp_chan_close(l, &l->obd_func);
	if (l->can_fd >= 0)
		close(l->can_fd);
	ev_timer_stop(l->loop, &l->tick);
	ev_signal_stop(l->loop, &l->sigint);
	ev_signal_stop(l->loop, &l->sigterm);
	sim_uds_free(l->uds);
	sim_runner_free(l->runner);
	sim_broadcast_free(l->bc);
	sim_model_free(l->m);
	free(l);
	return NULL;
}

int sim_live_run(struct sim_live *l)
{
	l->status = 0;
	ev_run(l->loop, 0);
	return l->status;
}
