/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/discover.h"
#include "bodydiag/obd.h"
#include "bytes.h"
#include "discover-private.h"

#define FLIGHTS 32u			      /* probes remembered for attributing answers */
#define EXT_SLOTS (2u * DISCOVER_MAX_EXT_IDS) /* open addressing, at most half full */
#define RETRY_US 10000	 /* a send the link refused is offered again after this */
#define GARBAGE_MAX 3u	 /* answers that are no answers before an ECU is given up */
#define NO_ANSWER_MAX 2u /* unanswered UDS reads before the rest are skipped */

#define FIXED_BASE 0x18DA0000u

/* Offsets between a physical request id and its response id that are common in the field:
 * +8 (ISO 15765-4 and most makers), +0x20 (Renault/Nissan 0x745 -> 0x765), +0x6A (VW
 * group 0x70E -> 0x778). Used only to choose between several probes in flight. */
static const uint32_t usual_offsets[] = {8, 0x20, 0x6A};

enum phase {
	PHASE_QUIET,
	PHASE_PROBE,
	PHASE_IDENT,
	PHASE_DONE,
};

enum read_state {
	READ_NEED_SEND,
	READ_WAIT,    /* P2 / P2* running */
	READ_BACKOFF, /* 0x21: resend at the deadline */
};

struct flight {
	bool used;
	int64_t t;
	enum discover_range_kind kind;
	uint32_t tx_id;
	uint8_t ta;
	bool obd; /* functional OBD mode 01 probe */
};

struct discover {
	struct discover_config cfg;
	enum phase phase;
	enum discover_status status;
	int64_t t_end, quiet_end, next_slot, last_probe, spacing;

	/* the probe cursor: range, position, sub-probe (functional: OBD, then UDS) */
	size_t ri;
	uint32_t pos;
	unsigned sub;

	struct flight flights[FLIGHTS];
	size_t fnext;

	uint8_t used11[2048 / 8];
	uint32_t ext_ids[EXT_SLOTS]; /* id | 0x80000000, 0 = empty */
	size_t n_ext;

	struct discover_ecu ecus[DISCOVER_MAX_ECUS];
	size_t n_ecus;

	/* identification */
	size_t cur;
	enum discover_ident_id rid;
	enum read_state rstate;
	struct uds_wait wait;
	uint8_t req[8];
	size_t req_len;
	int64_t ecu_start;
	bool ecu_started;
	bool resend; /* the wait machine asked for the same request again (0x21) */
	unsigned no_answer;
	bool uds_off;

	/* a send the caller could not do, offered again */
	bool retry;
	int64_t retry_at;
	struct discover_action last;

	unsigned sent, skipped;
	struct bd_frame stop_frame;
	int stop_errno;
};

static uint32_t ext_hash(uint32_t id)
{
	id ^= id >> 15;
	id *= 0x2c1b3c6du;
	id ^= id >> 12;
	return id;
}

static bool ext_seen(const struct discover *d, uint32_t id)
{
	uint32_t key = id | 0x80000000u;
	for (uint32_t h = ext_hash(id) % EXT_SLOTS;; h = (h + 1) % EXT_SLOTS) {
		if (d->ext_ids[h] == 0)
			return false;
		if (d->ext_ids[h] == key)
			return true;
	}
}

static void mark_seen(struct discover *d, const struct bd_frame *f)
{
	if (!(f->flags & BD_FRAME_EXT)) {
		if (f->id < 2048)
			d->used11[f->id / 8] |= (uint8_t)(1u << (f->id % 8));
		return;
	}
	if (ext_seen(d, f->id) || d->n_ext >= DISCOVER_MAX_EXT_IDS)
		return;
	uint32_t h = ext_hash(f->id) % EXT_SLOTS;
	while (d->ext_ids[h])
		h = (h + 1) % EXT_SLOTS;
	d->ext_ids[h] = f->id | 0x80000000u;
	d->n_ext++;
}

static bool id_in_use(const struct discover *d, uint32_t id, bool ext)
{
	if (!ext)
		return id < 2048 && (d->used11[id / 8] & (1u << (id % 8)));
	return ext_seen(d, id);
}

/* ---- lifecycle ---- */

int discover_new(const struct discover_config *cfg, int64_t now_us, struct discover **ret)
{
	struct discover *d;

	if (!cfg || cfg->rate == 0 || cfg->rate > 1000 || cfg->max_time_us <= 0 ||
	    cfg->quiet_us < 0 || cfg->listen_us <= 0 || cfg->ecu_budget_us <= 0 ||
	    cfg->n_ranges > DISCOVER_MAX_RANGES || cfg->padding < -1 || cfg->padding > 0xFF ||
	    (unsigned)cfg->probe >= DISCOVER_PROBE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_ranges; i++)
		if ((unsigned)cfg->ranges[i].kind >= DISCOVER_RANGE_KIND_MAX ||
		    cfg->ranges[i].last < cfg->ranges[i].first)
			return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	if (d->cfg.n_ranges == 0)
		d->cfg.n_ranges = discover_default_ranges(d->cfg.ranges);
	d->spacing = (1000000 + (int64_t)d->cfg.rate - 1) / (int64_t)d->cfg.rate;
	d->t_end = now_us + d->cfg.max_time_us;
	d->quiet_end = now_us + d->cfg.quiet_us;
	d->next_slot = d->quiet_end;
	d->last_probe = INT64_MIN / 2;
	d->phase = PHASE_QUIET;
	d->status = DISCOVER_RUNNING;
	d->pos = d->cfg.ranges[0].first;
	*ret = d;
	return 0;
}

struct discover *discover_free(struct discover *d)
{
	free(d);
	return NULL;
}

static void stop(struct discover *d, enum discover_status s)
{
	d->phase = PHASE_DONE;
	d->status = s;
	d->retry = false;
}

/* ---- probes ---- */

struct probe {
	enum discover_range_kind kind;
	uint32_t tx_id;
	bool ext;
	bool has_ta;
	uint8_t ta;
	bool obd;
};

/* The probe at the cursor; false when every range is done. */
static bool cursor_probe(const struct discover *d, struct probe *p)
{
	if (d->ri >= d->cfg.n_ranges)
		return false;
	const struct discover_range *r = &d->cfg.ranges[d->ri];
	*p = (struct probe){.kind = r->kind};
	switch (r->kind) {
	case DISCOVER_RANGE_FUNCTIONAL:
		p->tx_id = OBD_FUNC_11;
		p->obd = d->sub == 0;
		break;
	case DISCOVER_RANGE_FUNCTIONAL29:
		p->tx_id = 0x18DB3300u | d->cfg.tester;
		p->ext = true;
		p->obd = d->sub == 0;
		break;
	case DISCOVER_RANGE_11BIT:
		p->tx_id = d->pos;
		break;
	case DISCOVER_RANGE_29BIT:
		p->tx_id = FIXED_BASE | d->pos << 8 | d->cfg.tester;
		p->ext = true;
		p->ta = (uint8_t)d->pos;
		break;
	case DISCOVER_RANGE_EXT_ECHO:
	case DISCOVER_RANGE_EXT_TESTER:
		p->tx_id = r->tx_id;
		p->has_ta = true;
		p->ta = (uint8_t)d->pos;
		break;
	case DISCOVER_RANGE_KIND_MAX:
		return false;
	}
	return true;
}

static void cursor_advance(struct discover *d)
{
	const struct discover_range *r = &d->cfg.ranges[d->ri];
	bool functional =
	    r->kind == DISCOVER_RANGE_FUNCTIONAL || r->kind == DISCOVER_RANGE_FUNCTIONAL29;

	if (functional && d->sub == 0) {
		d->sub = 1;
		return;
	}
	if (!functional && d->pos < r->last) {
		d->pos++;
		return;
	}
	d->ri++;
	d->sub = 0;
	if (d->ri < d->cfg.n_ranges)
		d->pos = d->cfg.ranges[d->ri].first;
}

/* Would this probe address ourselves, or send on an id someone else uses? */
static bool probe_skipped(const struct discover *d, const struct probe *p)
{
	if ((p->kind == DISCOVER_RANGE_29BIT || p->kind == DISCOVER_RANGE_EXT_TESTER) &&
	    p->ta == d->cfg.tester)
		return true;
	return id_in_use(d, p->tx_id, p->ext);
}

static void probe_pdu(const struct discover *d, bool obd, uint8_t *pdu, size_t *len)
{
	if (obd) {
		pdu[0] = 0x01; /* mode 01 PID 00: supported PIDs, every OBD ECU answers */
		pdu[1] = 0x00;
	} else if (d->cfg.probe == DISCOVER_PROBE_SESSION) {
		pdu[0] = 0x10;
		pdu[1] = 0x01;
	} else {
		pdu[0] = 0x3E; /* TesterPresent, zeroSubFunction: answered (0x80 would not be) */
		pdu[1] = 0x00;
	}
	*len = 2;
}

static void build_frame(const struct discover *d, const struct probe *p, struct bd_frame *f)
{
	uint8_t pdu[2];
	size_t n, o = 0;

	probe_pdu(d, p->obd, pdu, &n);
	*f = (struct bd_frame){.id = p->tx_id, .flags = p->ext ? BD_FRAME_EXT : 0};
	if (p->has_ta)
		f->data[o++] = p->ta;
	f->data[o++] = (uint8_t)n; /* single frame, SF_DL */
	memcpy(f->data + o, pdu, n);
	o += n;
	if (d->cfg.padding >= 0) {
		memset(f->data + o, d->cfg.padding, 8 - o);
		o = 8;
	}
	f->len = (uint8_t)o;
}

/* ---- answers to probes ---- */

/* The single-frame payload at offset `at`, or NULL. */
static const uint8_t *sf_payload(const struct bd_frame *f, size_t at, size_t *ret_len)
{
	if (f->len <= at || (f->flags & (BD_FRAME_FD | BD_FRAME_RTR | BD_FRAME_ERR)))
		return NULL;
	uint8_t pci = f->data[at];
	size_t n = pci & 0x0F;
	if ((pci >> 4) != 0 || n == 0 || at + 1 + n > f->len)
		return NULL;
	*ret_len = n;
	return f->data + at + 1;
}

/* 1 positive answer to the UDS probe, 2 negative (NRC in *nrc), 0 not an answer. */
static int uds_answer(const struct discover *d, const uint8_t *p, size_t n, uint8_t *nrc)
{
	uint8_t sid = d->cfg.probe == DISCOVER_PROBE_SESSION ? 0x10 : 0x3E;

	if (n >= 2 && p[0] == sid + 0x40 && p[1] == (sid == 0x10 ? 0x01 : 0x00))
		return 1;
	if (n == 3 && p[0] == 0x7F && p[1] == sid) {
		*nrc = p[2];
		return 2;
	}
	return 0;
}

static bool obd_answer(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x41 && p[1] == 0x00;
}

static struct discover_ecu *find_ecu(struct discover *d, const struct isotp_addr *a)
{
	for (size_t i = 0; i < d->n_ecus; i++) {
		const struct isotp_addr *b = &d->ecus[i].addr;
		if (b->rx_id == a->rx_id && b->ext_ids == a->ext_ids && b->mode == a->mode &&
		    (a->mode != ISOTP_ADDR_EXTENDED || b->rx_ea == a->rx_ea))
			return &d->ecus[i];
	}
	return NULL;
}

/* An ECU answered at a (request_known: the request id is certain, not response - 8). */
static struct discover_ecu *add_ecu(struct discover *d, const struct isotp_addr *a,
				    enum discover_found_by by, bool request_known, int64_t latency)
{
	struct discover_ecu *e = find_ecu(d, a);

	if (e) {
		/* Known from a functional answer: a physical probe tells the real request id. */
		if (request_known && e->request_guessed) {
			uint32_t func = e->addr.functional_id;
			e->addr = *a;
			if (!e->addr.functional_id)
				e->addr.functional_id = func;
			e->addr.padding = d->cfg.padding;
			e->request_guessed = false;
		}
		if (by == DISCOVER_FOUND_PHYSICAL && e->found_by != DISCOVER_FOUND_PHYSICAL) {
			e->found_by = DISCOVER_FOUND_PHYSICAL;
			e->latency_us = latency;
		}
		return e;
	}
	if (d->n_ecus == DISCOVER_MAX_ECUS)
		return NULL;
	e = &d->ecus[d->n_ecus++];
	*e = (struct discover_ecu){
	    .addr = *a,
	    .found_by = by,
	    .request_guessed = !request_known,
	    .latency_us = latency,
	};
	e->addr.padding = d->cfg.padding;
	return e;
}

static bool response_known(const struct discover *d, uint32_t rx, bool ext)
{
	for (size_t i = 0; i < d->n_ecus; i++)
		if (d->ecus[i].addr.rx_id == rx && d->ecus[i].addr.ext_ids == ext)
			return true;
	return false;
}

static void note_uds(struct discover_ecu *e, int kind, uint8_t nrc)
{
	if (!e)
		return;
	e->uds = true;
	e->probe_nrc = kind == 2 ? nrc : 0;
}

/* An 11-bit answer on any id: which of the physical probes in flight does it belong to? */
static const struct flight *attribute_11bit(const struct discover *d, uint32_t rx, int64_t now)
{
	const struct flight *best = NULL;
	unsigned best_score = ~0u;

	for (size_t k = 0; k < FLIGHTS; k++) {
		/* newest first */
		const struct flight *fl = &d->flights[(d->fnext + FLIGHTS - 1 - k) % FLIGHTS];
		if (!fl->used || fl->kind != DISCOVER_RANGE_11BIT || fl->tx_id == rx)
			continue;
		int64_t age = now - fl->t;
		if (age < 0 || age > 2 * d->cfg.listen_us)
			continue;
		unsigned score = 100;
		for (unsigned o = 0; o < sizeof(usual_offsets) / sizeof(usual_offsets[0]); o++)
			if (rx == fl->tx_id + usual_offsets[o])
				score = o;
		/* An unusual offset only within the listen window and only for an id no ECU
		 * answered on before: a late answer of an ECU already found must not be
		 * credited to the probe that happens to be in flight. */
		if (score == 100 && (age > d->cfg.listen_us || response_known(d, rx, false)))
			continue;
		if (score < best_score) {
			best_score = score;
			best = fl;
		}
	}
	return best;
}

static void match_probe_answer(struct discover *d, const struct bd_frame *f, int64_t now)
{
	const uint8_t *p;
	size_t n;
	uint8_t nrc = 0;
	bool ext = f->flags & BD_FRAME_EXT;
	struct isotp_addr a;

	for (size_t k = 0; k < FLIGHTS; k++) {
		const struct flight *fl = &d->flights[(d->fnext + FLIGHTS - 1 - k) % FLIGHTS];
		int64_t age = now - fl->t;
		if (!fl->used || age < 0 || age > 2 * d->cfg.listen_us)
			continue;
		switch (fl->kind) {
		case DISCOVER_RANGE_FUNCTIONAL:
			if (ext || !(p = sf_payload(f, 0, &n)))
				break;
			if (fl->obd && obd_answer(p, n) && f->id >= 0x7E8 && f->id <= 0x7EF) {
				isotp_addr_init_normal(&a, f->id - 8, f->id);
				a.functional_id = OBD_FUNC_11;
				struct discover_ecu *e =
				    add_ecu(d, &a, DISCOVER_FOUND_FUNCTIONAL, true, age);
				if (e)
					e->obd = true;
				return;
			}
			if (!fl->obd) {
				int kind = uds_answer(d, p, n, &nrc);
				if (!kind || f->id < 8 || response_known(d, f->id, false))
					break;
				/* Only the response id is known: the request id is guessed
				 * (ISO 15765-4's -8) until a physical probe confirms it. */
				isotp_addr_init_normal(&a, f->id - 8, f->id);
				a.functional_id = OBD_FUNC_11;
				note_uds(add_ecu(d, &a, DISCOVER_FOUND_FUNCTIONAL, false, age),
					 kind, nrc);
				return;
			}
			break;
		case DISCOVER_RANGE_FUNCTIONAL29:
			if (!ext || (f->id >> 16) != (FIXED_BASE >> 16) ||
			    ((f->id >> 8) & 0xFF) != d->cfg.tester || !(p = sf_payload(f, 0, &n)))
				break;
			if ((fl->obd && obd_answer(p, n)) ||
			    (!fl->obd && uds_answer(d, p, n, &nrc))) {
				isotp_addr_init_fixed(&a, (uint8_t)f->id, d->cfg.tester);
				a.functional_id = fl->tx_id;
				struct discover_ecu *e =
				    add_ecu(d, &a, DISCOVER_FOUND_FUNCTIONAL, true, age);
				if (e && fl->obd)
					e->obd = true;
				else if (e)
					note_uds(e, uds_answer(d, p, n, &nrc), nrc);
				return;
			}
			break;
		case DISCOVER_RANGE_11BIT: {
			int kind;
			if (ext || !(p = sf_payload(f, 0, &n)) ||
			    !(kind = uds_answer(d, p, n, &nrc)))
				break;
			const struct flight *best = attribute_11bit(d, f->id, now);
			if (!best)
				return;
			isotp_addr_init_normal(&a, best->tx_id, f->id);
			note_uds(add_ecu(d, &a, DISCOVER_FOUND_PHYSICAL, true, now - best->t), kind,
				 nrc);
			return;
		}
		case DISCOVER_RANGE_29BIT: {
			int kind;
			if (!ext || f->id != (FIXED_BASE | (uint32_t)d->cfg.tester << 8 | fl->ta) ||
			    !(p = sf_payload(f, 0, &n)) || !(kind = uds_answer(d, p, n, &nrc)))
				break;
			isotp_addr_init_fixed(&a, fl->ta, d->cfg.tester);
			note_uds(add_ecu(d, &a, DISCOVER_FOUND_PHYSICAL, true, age), kind, nrc);
			return;
		}
		case DISCOVER_RANGE_EXT_ECHO:
		case DISCOVER_RANGE_EXT_TESTER: {
			const struct discover_range *r = NULL;
			int kind;
			for (size_t i = 0; i < d->cfg.n_ranges && !r; i++)
				if (d->cfg.ranges[i].kind == fl->kind &&
				    d->cfg.ranges[i].tx_id == fl->tx_id)
					r = &d->cfg.ranges[i];
			if (!r || ext)
				break;
			bool echo = fl->kind == DISCOVER_RANGE_EXT_ECHO;
			uint32_t rx = echo ? r->rx_id : r->rx_id + fl->ta;
			uint8_t byte = echo ? fl->ta : d->cfg.tester;
			if (f->id != rx || f->len < 2 || f->data[0] != byte ||
			    !(p = sf_payload(f, 1, &n)) || !(kind = uds_answer(d, p, n, &nrc)))
				break;
			isotp_addr_init_extended(&a, fl->tx_id, rx, fl->ta,
						 echo ? -1 : d->cfg.tester);
			note_uds(add_ecu(d, &a, DISCOVER_FOUND_PHYSICAL, true, age), kind, nrc);
			return;
		}
		case DISCOVER_RANGE_KIND_MAX:
			break;
		}
	}
}

void discover_on_frame(struct discover *d, const struct bd_frame *f, int64_t now_us)
{
	if (d->phase == PHASE_DONE)
		return;
	if (f->flags & BD_FRAME_ERR) {
		if (bd_frame_err_is_bus_fault(f)) {
			d->stop_frame = *f;
			stop(d, DISCOVER_BUS_ERROR);
		}
		return;
	}
	if (d->phase == PHASE_PROBE)
		match_probe_answer(d, f, now_us);
	mark_seen(d, f);
}

/* ---- identification ---- */

static bool read_wanted(const struct discover *d, const struct discover_ecu *e,
			enum discover_ident_id id)
{
	if (d->cfg.ident_only && !(d->cfg.ident_only & (1u << id)))
		return false;
	if (id == DISCOVER_ID_OBD_VIN)
		return e->obd;
	return !d->uds_off;
}

/* Moves to the next read to make (from d->rid on, in the current ECU, else the next ECU);
 * false when every ECU is done. */
static bool seek_read(struct discover *d)
{
	while (d->cur < d->n_ecus) {
		struct discover_ecu *e = &d->ecus[d->cur];
		while (d->rid < DISCOVER_ID_MAX && !read_wanted(d, e, d->rid))
			d->rid++;
		if (d->rid < DISCOVER_ID_MAX) {
			d->rstate = READ_NEED_SEND;
			d->resend = false;
			return true;
		}
		if (e->status == DISCOVER_ECU_FOUND)
			e->status = DISCOVER_ECU_IDENTIFIED;
		d->cur++;
		d->rid = 0;
		d->no_answer = 0;
		d->uds_off = false;
		d->ecu_started = false;
	}
	return false;
}

static void next_read(struct discover *d)
{
	d->rid++;
	if (!seek_read(d))
		stop(d, DISCOVER_DONE);
}

static void give_up(struct discover *d, enum discover_ecu_status s)
{
	d->ecus[d->cur].status = s;
	d->rid = DISCOVER_ID_MAX;
	if (!seek_read(d))
		stop(d, DISCOVER_DONE);
}

static int cmp_ecu(const void *a, const void *b)
{
	const struct discover_ecu *x = a, *y = b;

	if (x->addr.ext_ids != y->addr.ext_ids)
		return x->addr.ext_ids ? 1 : -1;
	if (x->addr.rx_id != y->addr.rx_id)
		return x->addr.rx_id < y->addr.rx_id ? -1 : 1;
	return (int)x->addr.rx_ea - (int)y->addr.rx_ea;
}

static void start_ident(struct discover *d)
{
	qsort(d->ecus, d->n_ecus, sizeof(d->ecus[0]), cmp_ecu);
	d->phase = PHASE_IDENT;
	d->cur = 0;
	d->rid = 0;
	if (!d->cfg.identify || !seek_read(d))
		stop(d, DISCOVER_DONE);
}

static void build_read(struct discover *d)
{
	uint16_t did = discover_ident_did(d->rid);

	if (d->rid == DISCOVER_ID_OBD_VIN) {
		d->req[0] = 0x09;
		d->req[1] = 0x02;
		d->req_len = 2;
	} else {
		d->req[0] = 0x22;
		d->req[1] = (uint8_t)(did >> 8);
		d->req[2] = (uint8_t)did;
		d->req_len = 3;
	}
	uds_wait_init(&d->wait, &d->cfg.timing, d->req, d->req_len);
}

static void record(struct discover *d, enum discover_ident_state s, uint8_t nrc,
		   const uint8_t *data, size_t len)
{
	struct discover_ident *id = &d->ecus[d->cur].ident[d->rid];

	id->state = s;
	id->nrc = nrc;
	id->len = len < DISCOVER_IDENT_BYTES ? len : DISCOVER_IDENT_BYTES;
	if (id->len)
		memcpy(id->data, data, id->len);
}

static void garbage(struct discover *d, enum discover_ident_state s)
{
	struct discover_ecu *e = &d->ecus[d->cur];

	if (++e->garbage_seen >= GARBAGE_MAX) {
		record(d, s, 0, NULL, 0);
		give_up(d, DISCOVER_ECU_GAVE_UP_GARBAGE);
	}
}

void discover_on_pdu(struct discover *d, size_t ecu, const uint8_t *pdu, size_t len, int64_t now_us)
{
	struct discover_ecu *e;

	if (d->phase != PHASE_IDENT || ecu != d->cur || d->rstate != READ_WAIT || !pdu)
		return;
	e = &d->ecus[d->cur];
	switch (uds_wait_response(&d->wait, pdu, len, now_us)) {
	case UDS_WAIT_ARM:
		e->pending_seen++;
		return;
	case UDS_WAIT_RESEND:
		d->rstate = READ_BACKOFF; /* plan_read resends at the wait machine's deadline */
		return;
	case UDS_WAIT_TOO_MANY_PENDING:
		e->pending_seen++;
		record(d, DISCOVER_IDENT_PENDING, 0x78, NULL, 0);
		give_up(d, DISCOVER_ECU_GAVE_UP_PENDING);
		return;
	case UDS_WAIT_TOO_MANY_BUSY:
		record(d, DISCOVER_IDENT_NEGATIVE, 0x21, NULL, 0);
		next_read(d);
		return;
	case UDS_WAIT_IGNORE:
		garbage(d, DISCOVER_IDENT_GARBAGE);
		return;
	case UDS_WAIT_DONE:
		break;
	case UDS_WAIT_DONE_NO_RESPONSE:
	case UDS_WAIT_TIMEOUT:
	case UDS_WAIT_TRANSFER_TIMEOUT: /* only after uds_wait_frame, which discovery does not use
					 */
	case UDS_WAIT_ACTION_MAX:
		return;
	}
	if (pdu[0] == 0x7F) {
		uint8_t nrc = len >= 3 ? pdu[2] : 0;
		record(d, DISCOVER_IDENT_NEGATIVE, nrc, NULL, 0);
		/* serviceNotSupported: no further 0x22 will be answered either */
		if (nrc == 0x11 && d->rid != DISCOVER_ID_OBD_VIN)
			d->uds_off = true;
		next_read(d);
		return;
	}
	if (d->rid == DISCOVER_ID_OBD_VIN) {
		struct obd_vin v;
		if (obd_parse_vin(pdu, len, &v) < 0 || v.result != OBD_RESULT_OK) {
			record(d, DISCOVER_IDENT_GARBAGE, 0, pdu, len);
			garbage(d, DISCOVER_IDENT_GARBAGE);
			if (d->phase == PHASE_IDENT && d->cur < d->n_ecus && &d->ecus[d->cur] == e)
				next_read(d);
			return;
		}
		record(d, DISCOVER_IDENT_OK, 0, (const uint8_t *)v.vin, strlen(v.vin));
		next_read(d);
		return;
	}
	if (len < 3 || pdu[1] != d->req[1] || pdu[2] != d->req[2]) {
		/* a positive 0x62 for another DID: not the answer to this read */
		record(d, DISCOVER_IDENT_GARBAGE, 0, pdu, len);
		garbage(d, DISCOVER_IDENT_GARBAGE);
		if (d->phase == PHASE_IDENT && d->cur < d->n_ecus && &d->ecus[d->cur] == e)
			next_read(d);
		return;
	}
	record(d, DISCOVER_IDENT_OK, 0, pdu + 3, len - 3);
	next_read(d);
}

void discover_on_transport_error(struct discover *d, size_t ecu, int neg_errno, int64_t now_us)
{
	struct discover_ecu *e;

	(void)neg_errno;
	(void)now_us;
	if (d->phase != PHASE_IDENT || ecu != d->cur || d->rstate != READ_WAIT)
		return;
	e = &d->ecus[d->cur];
	record(d, DISCOVER_IDENT_TRANSPORT, 0, NULL, 0);
	garbage(d, DISCOVER_IDENT_TRANSPORT);
	if (d->phase == PHASE_IDENT && d->cur < d->n_ecus && &d->ecus[d->cur] == e)
		next_read(d);
}

void discover_send_failed(struct discover *d, int neg_errno, int64_t now_us)
{
	if (d->phase == PHASE_DONE)
		return;
	if (neg_errno == -EAGAIN || neg_errno == -ENOBUFS) {
		if (d->sent)
			d->sent--;
		d->retry = true;
		d->retry_at = now_us + RETRY_US;
		return;
	}
	if (d->sent)
		d->sent--;
	d->stop_errno = neg_errno;
	stop(d, DISCOVER_SEND_ERROR);
}

/* ---- the plan ---- */

static void wait_until(struct discover *d, int64_t at, struct discover_action *ret)
{
	ret->kind = DISCOVER_ACTION_WAIT;
	ret->at_us = at < d->t_end ? at : d->t_end;
}

static void emit(struct discover *d, struct discover_action *ret, int64_t now)
{
	d->last = *ret;
	d->sent++;
	d->next_slot = now + d->spacing;
}

static void plan_probe(struct discover *d, int64_t now, struct discover_action *ret)
{
	struct probe p;

	for (;;) {
		if (!cursor_probe(d, &p)) {
			/* answers to the last probe may still come */
			if (now < d->last_probe + d->cfg.listen_us) {
				wait_until(d, d->last_probe + d->cfg.listen_us, ret);
				return;
			}
			start_ident(d);
			return;
		}
		if (!probe_skipped(d, &p))
			break;
		d->skipped++;
		cursor_advance(d);
	}
	/* Answers to a functional probe come on any response id: no other probe may be in
	 * flight while they can still arrive, or an answer would be credited to it. */
	const struct flight *prev = &d->flights[(d->fnext + FLIGHTS - 1) % FLIGHTS];
	int64_t slot = d->next_slot;
	if (prev->used && prev->kind != p.kind &&
	    (prev->kind == DISCOVER_RANGE_FUNCTIONAL ||
	     prev->kind == DISCOVER_RANGE_FUNCTIONAL29) &&
	    slot < prev->t + d->cfg.listen_us)
		slot = prev->t + d->cfg.listen_us;
	if (now < slot) {
		wait_until(d, slot, ret);
		return;
	}
	ret->kind = DISCOVER_ACTION_SEND_FRAME;
	build_frame(d, &p, &ret->frame);
	d->flights[d->fnext] = (struct flight){
	    .used = true,
	    .t = now,
	    .kind = p.kind,
	    .tx_id = p.tx_id,
	    .ta = p.ta,
	    .obd = p.obd,
	};
	d->fnext = (d->fnext + 1) % FLIGHTS;
	d->last_probe = now;
	cursor_advance(d);
	emit(d, ret, now);
}

static void plan_read(struct discover *d, int64_t now, struct discover_action *ret)
{
	struct discover_ecu *e = &d->ecus[d->cur];

	if (d->ecu_started && now >= d->ecu_start + d->cfg.ecu_budget_us) {
		if (d->rstate != READ_NEED_SEND)
			record(d,
			       e->pending_seen ? DISCOVER_IDENT_PENDING : DISCOVER_IDENT_NO_ANSWER,
			       0, NULL, 0);
		give_up(d, DISCOVER_ECU_GAVE_UP_BUDGET);
		return;
	}
	if (d->rstate == READ_WAIT || d->rstate == READ_BACKOFF) {
		int64_t dl = uds_wait_deadline(&d->wait);
		if (now < dl) {
			int64_t at = dl;
			if (d->ecu_started && d->ecu_start + d->cfg.ecu_budget_us < at)
				at = d->ecu_start + d->cfg.ecu_budget_us;
			wait_until(d, at, ret);
			return;
		}
		switch (uds_wait_timer_expired(&d->wait, now)) {
		case UDS_WAIT_RESEND:
			d->rstate = READ_NEED_SEND;
			d->resend = true;
			break;
		case UDS_WAIT_TIMEOUT:
		case UDS_WAIT_DONE_NO_RESPONSE:
			record(d, DISCOVER_IDENT_NO_ANSWER, 0, NULL, 0);
			if (d->rid != DISCOVER_ID_OBD_VIN && ++d->no_answer >= NO_ANSWER_MAX)
				d->uds_off = true;
			next_read(d);
			return;
		case UDS_WAIT_ARM:
		case UDS_WAIT_DONE:
		case UDS_WAIT_IGNORE:
		case UDS_WAIT_TOO_MANY_PENDING:
		case UDS_WAIT_TOO_MANY_BUSY:
		case UDS_WAIT_TRANSFER_TIMEOUT:
		case UDS_WAIT_ACTION_MAX:
			/* cannot happen past the deadline: treat as no answer */
			record(d, DISCOVER_IDENT_NO_ANSWER, 0, NULL, 0);
			next_read(d);
			return;
		}
	}
	/* READ_NEED_SEND: a first send builds the request; a resend keeps the wait machine */
	if (now < d->next_slot) {
		wait_until(d, d->next_slot, ret);
		return;
	}
	if (!d->resend)
		build_read(d);
	d->resend = false;
	if (!d->ecu_started) {
		d->ecu_started = true;
		d->ecu_start = now;
	}
	ret->kind = DISCOVER_ACTION_SEND_PDU;
	ret->ecu = d->cur;
	memcpy(ret->pdu, d->req, d->req_len);
	ret->pdu_len = d->req_len;
	uds_wait_sent(&d->wait, now);
	d->rstate = READ_WAIT;
	emit(d, ret, now);
}

void discover_next(struct discover *d, int64_t now_us, struct discover_action *ret)
{
	for (;;) {
		*ret = (struct discover_action){.kind = DISCOVER_ACTION_DONE};
		if (d->phase == PHASE_DONE)
			return;
		if (now_us >= d->t_end) {
			stop(d, DISCOVER_TIMEOUT);
			return;
		}
		if (d->retry) {
			if (now_us < d->retry_at) {
				wait_until(d, d->retry_at, ret);
				return;
			}
			d->retry = false;
			*ret = d->last;
			if (ret->kind == DISCOVER_ACTION_SEND_FRAME)
				d->flights[(d->fnext + FLIGHTS - 1) % FLIGHTS].t = now_us;
			else if (ret->kind == DISCOVER_ACTION_SEND_PDU)
				uds_wait_sent(&d->wait, now_us);
			emit(d, ret, now_us);
			return;
		}
		switch (d->phase) {
		case PHASE_QUIET:
			if (now_us < d->quiet_end) {
				wait_until(d, d->quiet_end, ret);
				return;
			}
			d->phase = PHASE_PROBE;
			continue;
		case PHASE_PROBE:
			plan_probe(d, now_us, ret);
			break;
		case PHASE_IDENT:
			plan_read(d, now_us, ret);
			break;
		case PHASE_DONE:
			return;
		}
		if (ret->kind != DISCOVER_ACTION_DONE || d->phase == PHASE_DONE)
			return;
		/* a phase changed without an action: plan again */
	}
}

/* ---- results ---- */

enum discover_status discover_status(const struct discover *d)
{
	return d->status;
}

const struct bd_frame *discover_stop_frame(const struct discover *d)
{
	return d->status == DISCOVER_BUS_ERROR ? &d->stop_frame : NULL;
}

int discover_stop_errno(const struct discover *d)
{
	return d->status == DISCOVER_SEND_ERROR ? d->stop_errno : 0;
}

unsigned discover_requests_sent(const struct discover *d)
{
	return d->sent;
}

unsigned discover_probes_skipped(const struct discover *d)
{
	return d->skipped;
}

size_t discover_ecu_count(const struct discover *d)
{
	return d->n_ecus;
}

const struct discover_ecu *discover_ecu_at(const struct discover *d, size_t i)
{
	return i < d->n_ecus ? &d->ecus[i] : NULL;
}
