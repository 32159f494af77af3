/* SPDX-License-Identifier: MIT */
/* lib/discover against a modelled bus: fake ECUs at every addressing mode answer probes
 * with frames and identification reads with PDUs after a latency, some of them badly
 * (garbage, 0x78 for ever, silence). Time is simulated, so a full default scan costs
 * nothing, and the rate limit is checked on every request sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/discover.h"
#include "bodydiag/profile.h"

enum behaviour {
	GOOD,	  /* answers the probe and every identification read */
	OBD_ONLY, /* OBD mode 01/09 only, on the functional id; no UDS (the simulator's stand-in) */
	GARBAGE,  /* answers the probe, then nonsense */
	PENDING,  /* answers the probe, then 0x78 every 40 ms for ever */
	FUNC_ONLY,    /* answers only functional TesterPresent */
	SILENT_READS, /* answers the probe, never a read */
};

struct fake {
	struct isotp_addr a;
	enum behaviour b;
	const char *name; /* F197 */
	const char *vin;
	bool functional;    /* takes functional UDS requests on 0x7DF */
	int64_t latency_us; /* probe answers; 0 = 3 ms */
};

#define EVENTS 4096

struct event {
	int64_t t;
	bool is_pdu;
	struct bd_frame f;
	size_t ecu; /* the discover index the PDU goes to */
	uint8_t pdu[64];
	size_t len;
	int fake; /* PENDING chain: which fake keeps sending */
};

struct bench {
	const struct fake *fakes;
	size_t n;
	struct event ev[EVENTS];
	size_t nev;
	int64_t sends[8192];
	size_t nsends;
	unsigned frames_sent, pdus_sent;
	struct bd_frame inject; /* delivered once at inject_t when inject_t > 0 */
	int64_t inject_t;
	int fail_next; /* -errno for the next send */
};

static void schedule(struct bench *b, const struct event *e)
{
	assert_true(b->nev < EVENTS);
	b->ev[b->nev++] = *e;
}

static void put_sf(struct bd_frame *f, const struct isotp_addr *a, const uint8_t *p, size_t n)
{
	size_t o = 0;
	*f = (struct bd_frame){.id = a->rx_id, .flags = a->ext_ids ? BD_FRAME_EXT : 0, .len = 8};
	memset(f->data, 0xAA, 8);
	if (a->mode == ISOTP_ADDR_EXTENDED || a->mode == ISOTP_ADDR_MIXED)
		f->data[o++] = a->rx_ea;
	f->data[o++] = (uint8_t)n;
	memcpy(f->data + o, p, n);
}

/* The probe frame as the fake ECU at a sees it: the payload after its address byte. */
static const uint8_t *addressed(const struct isotp_addr *a, const struct bd_frame *f, bool *func)
{
	bool ext = f->flags & BD_FRAME_EXT;
	*func = false;
	if (!a->ext_ids && !ext && f->id == 0x7DF) {
		*func = true;
		return f->data;
	}
	if (a->ext_ids && ext && f->id == 0x18DB33F1) {
		*func = true;
		return f->data;
	}
	if (ext != a->ext_ids || f->id != a->tx_id)
		return NULL;
	if (a->mode == ISOTP_ADDR_EXTENDED)
		return f->data[0] == a->tx_ea ? f->data + 1 : NULL;
	return f->data;
}

static void on_probe(struct bench *b, const struct bd_frame *f, int64_t now)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct fake *k = &b->fakes[i];
		bool func;
		const uint8_t *p = addressed(&k->a, f, &func);
		struct event e = {.t = now + (k->latency_us ? k->latency_us : 3000) +
				       (int64_t)i * 500};
		if (!p || p[0] != 2)
			continue;
		if (p[1] == 0x01 && p[2] == 0x00 && func && k->b == OBD_ONLY) {
			const uint8_t ans[] = {0x41, 0x00, 0xBE, 0x1F, 0xA8, 0x13};
			put_sf(&e.f, &k->a, ans, sizeof(ans));
			schedule(b, &e);
		} else if (p[1] == 0x3E && p[2] == 0x00 && k->b != OBD_ONLY &&
			   (!func || k->functional || k->b == FUNC_ONLY) &&
			   (func || k->b != FUNC_ONLY)) {
			const uint8_t ans[] = {0x7E, 0x00};
			put_sf(&e.f, &k->a, ans, sizeof(ans));
			schedule(b, &e);
		}
	}
}

static int fake_of(const struct bench *b, const struct discover_ecu *e)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->fakes[i].a.rx_id == e->addr.rx_id &&
		    b->fakes[i].a.ext_ids == e->addr.ext_ids &&
		    (e->addr.mode != ISOTP_ADDR_EXTENDED || b->fakes[i].a.rx_ea == e->addr.rx_ea))
			return (int)i;
	return -1;
}

static void on_pdu(struct bench *b, struct discover *d, size_t ecu, const uint8_t *p, size_t n,
		   int64_t now)
{
	const struct discover_ecu *e = discover_ecu_at(d, ecu);
	int fi = fake_of(b, e);
	struct event ev = {.t = now + 4000, .is_pdu = true, .ecu = ecu, .fake = -1};
	const struct fake *k;

	assert_non_null(e);
	if (fi < 0)
		return;
	k = &b->fakes[fi];
	/* the read went to the request id the ECU listens on */
	assert_int_equal(e->addr.tx_id, k->a.tx_id);
	switch (k->b) {
	case GOOD:
	case OBD_ONLY: {
		if (p[0] == 0x09 && k->b == OBD_ONLY) {
			ev.pdu[0] = 0x49;
			ev.pdu[1] = 0x02;
			ev.pdu[2] = 0x01;
			memcpy(ev.pdu + 3, k->vin, 17);
			ev.len = 20;
			break;
		}
		if (p[0] != 0x22 || k->b == OBD_ONLY)
			return; /* OBD_ONLY: no UDS answers at all */
		uint16_t did = (uint16_t)(p[1] << 8 | p[2]);
		const char *v = did == 0xF187	? "PN-12345"
				: did == 0xF18A ? "ACME"
				: did == 0xF190 ? k->vin
				: did == 0xF195 ? "SW 2.1"
				: did == 0xF197 ? k->name
						: NULL;
		if (!v) {
			const uint8_t neg[] = {0x7F, 0x22, 0x31};
			memcpy(ev.pdu, neg, 3);
			ev.len = 3;
			break;
		}
		ev.pdu[0] = 0x62;
		ev.pdu[1] = p[1];
		ev.pdu[2] = p[2];
		memcpy(ev.pdu + 3, v, strlen(v));
		ev.len = 3 + strlen(v);
		break;
	}
	case GARBAGE: {
		/* not a response at all, then a positive answer for another DID */
		const uint8_t g1[] = {0x12, 0x34, 0x56};
		memcpy(ev.pdu, g1, 3);
		ev.len = 3;
		schedule(b, &ev);
		ev.t += 1000;
		const uint8_t g2[] = {0x62, 0x00, 0x01, 0x99};
		memcpy(ev.pdu, g2, 4);
		ev.len = 4;
		break;
	}
	case PENDING: {
		const uint8_t pend[] = {0x7F, p[0], 0x78};
		memcpy(ev.pdu, pend, 3);
		ev.len = 3;
		ev.fake = fi; /* re-sent every 40 ms, for ever */
		break;
	}
	case FUNC_ONLY:
	case SILENT_READS:
		return;
	}
	schedule(b, &ev);
}

struct run_result {
	int64_t end;
	enum discover_status status;
};

static struct run_result run(struct bench *b, struct discover *d, int64_t t, int64_t limit)
{
	struct discover_action a;

	for (;;) {
		assert_true(t < limit);
		/* deliver what is due */
		for (bool again = true; again;) {
			again = false;
			for (size_t i = 0; i < b->nev; i++) {
				if (b->ev[i].t > t)
					continue;
				struct event e = b->ev[i];
				b->ev[i] = b->ev[--b->nev];
				again = true;
				if (e.is_pdu) {
					discover_on_pdu(d, e.ecu, e.pdu, e.len, e.t);
					if (e.fake >= 0 && discover_status(d) == DISCOVER_RUNNING) {
						e.t += 40000;
						schedule(b, &e);
					}
				} else {
					discover_on_frame(d, &e.f, e.t);
				}
				break;
			}
		}
		if (b->inject_t > 0 && t >= b->inject_t) {
			discover_on_frame(d, &b->inject, t);
			b->inject_t = 0;
		}
		discover_next(d, t, &a);
		switch (a.kind) {
		case DISCOVER_ACTION_DONE:
			return (struct run_result){.end = t, .status = discover_status(d)};
		case DISCOVER_ACTION_WAIT: {
			int64_t next = a.at_us;
			assert_true(next > t);
			for (size_t i = 0; i < b->nev; i++)
				if (b->ev[i].t < next)
					next = b->ev[i].t > t ? b->ev[i].t : t + 1;
			if (b->inject_t > 0 && b->inject_t < next)
				next = b->inject_t;
			t = next;
			break;
		}
		case DISCOVER_ACTION_SEND_FRAME:
		case DISCOVER_ACTION_SEND_PDU:
			if (b->fail_next) {
				discover_send_failed(d, b->fail_next, t);
				b->fail_next = 0;
				break;
			}
			if (b->nsends < sizeof(b->sends) / sizeof(b->sends[0]))
				b->sends[b->nsends++] = t;
			if (a.kind == DISCOVER_ACTION_SEND_FRAME) {
				b->frames_sent++;
				assert_true(bd_frame_is_valid(&a.frame));
				on_probe(b, &a.frame, t);
			} else {
				b->pdus_sent++;
				on_pdu(b, d, a.ecu, a.pdu, a.pdu_len, t);
			}
			break;
		case DISCOVER_ACTION_KIND_MAX:
			fail();
		}
	}
}

static struct discover *make(const struct discover_config *c, int64_t t)
{
	struct discover *d = NULL;
	assert_int_equal(discover_new(c, t, &d), 0);
	return d;
}

static const struct discover_ecu *find(const struct discover *d, uint32_t rx, int rx_ea)
{
	for (size_t i = 0; i < discover_ecu_count(d); i++) {
		const struct discover_ecu *e = discover_ecu_at(d, i);
		if (e->addr.rx_id == rx && (rx_ea < 0 || e->addr.rx_ea == rx_ea))
			return e;
	}
	return NULL;
}

static void ident(const struct discover_ecu *e, enum discover_ident_id id, const char *want)
{
	char buf[200];
	assert_int_equal(e->ident[id].state, DISCOVER_IDENT_OK);
	discover_ident_format(&e->ident[id], buf, sizeof(buf));
	assert_string_equal(buf, want);
}

#define VIN "1HGCM82633A004352"

static void every_mode_default_ranges(void **state)
{
	static struct fake fakes[6];
	static struct bench b;
	struct discover_config c;
	struct discover *d;
	struct isotp_addr a;

	memset(&b, 0, sizeof(b));
	isotp_addr_init_normal(&a, 0x726, 0x72E);
	fakes[0] = (struct fake){a, GOOD, "Body Control Module", VIN, true};
	isotp_addr_init_normal(&a, 0x7E0, 0x7E8);
	fakes[1] = (struct fake){a, OBD_ONLY, NULL, VIN, false};
	isotp_addr_init_fixed(&a, 0x10, 0xF1);
	fakes[2] = (struct fake){a, GOOD, "Central Gateway", VIN, false};
	isotp_addr_init_extended(&a, 0x6F1, 0x640, 0x40, 0xF1);
	fakes[3] = (struct fake){a, GOOD, "FEM", VIN, false};
	isotp_addr_init_extended(&a, 0x750, 0x758, 0x90, -1);
	fakes[4] = (struct fake){a, GOOD, "Power Liftgate", VIN, false};
	isotp_addr_init_normal(&a, 0x745, 0x765); /* an unusual offset: +0x20 */
	fakes[5] = (struct fake){a, GOOD, "Airbag", VIN, false};
	b.fakes = fakes;
	b.n = 6;

	discover_config_init(&c);
	d = make(&c, 1000);
	struct run_result r = run(&b, d, 1000, 1000 + c.max_time_us + 1);
	assert_int_equal(r.status, DISCOVER_DONE);
	assert_int_equal(discover_ecu_count(d), 6);
	/* about 1018 probes at 20/s plus the reads: about a minute, inside the 2 min bound */
	assert_true(r.end - 1000 > 50000000 && r.end - 1000 < 70000000);
	assert_int_equal(discover_requests_sent(d), b.frames_sent + b.pdus_sent);
	/* TA 0xF1 (ourselves) twice; 0x72E, 0x765 and 0x7E8 already answered as responses */
	assert_int_equal(discover_probes_skipped(d), 5);

	const struct discover_ecu *e = find(d, 0x72E, -1);
	assert_non_null(e);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_NORMAL);
	assert_int_equal(e->addr.tx_id, 0x726);
	assert_false(e->request_guessed);
	assert_int_equal(e->found_by, DISCOVER_FOUND_PHYSICAL);
	assert_true(e->uds);
	assert_int_equal(e->status, DISCOVER_ECU_IDENTIFIED);
	ident(e, DISCOVER_ID_SPARE_PART, "PN-12345");
	ident(e, DISCOVER_ID_SUPPLIER, "ACME");
	ident(e, DISCOVER_ID_VIN, VIN);
	ident(e, DISCOVER_ID_SOFTWARE, "SW 2.1");
	ident(e, DISCOVER_ID_SYSTEM_NAME, "Body Control Module");
	assert_int_equal(e->ident[DISCOVER_ID_SERIAL].state, DISCOVER_IDENT_NEGATIVE);
	assert_int_equal(e->ident[DISCOVER_ID_SERIAL].nrc, 0x31);
	assert_int_equal(e->ident[DISCOVER_ID_OBD_VIN].state, DISCOVER_IDENT_NOT_ASKED);
	assert_string_equal(discover_guess_role(e), "bcm");

	e = find(d, 0x7E8, -1);
	assert_non_null(e);
	assert_true(e->obd);
	assert_false(e->uds);
	assert_int_equal(e->addr.tx_id, 0x7E0);
	assert_int_equal(e->addr.functional_id, 0x7DF);
	assert_false(e->request_guessed);
	ident(e, DISCOVER_ID_OBD_VIN, VIN);
	/* two unanswered UDS reads end the UDS reads */
	assert_int_equal(e->ident[DISCOVER_ID_SPARE_PART].state, DISCOVER_IDENT_NO_ANSWER);
	assert_int_equal(e->ident[DISCOVER_ID_SUPPLIER].state, DISCOVER_IDENT_NO_ANSWER);
	assert_int_equal(e->ident[DISCOVER_ID_SERIAL].state, DISCOVER_IDENT_NOT_ASKED);
	assert_string_equal(discover_guess_role(e), "engine");

	e = find(d, 0x18DAF110, -1);
	assert_non_null(e);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_NORMAL_FIXED);
	assert_int_equal(e->addr.target, 0x10);
	assert_string_equal(discover_guess_role(e), "gateway");

	e = find(d, 0x640, 0xF1);
	assert_non_null(e);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_EXTENDED);
	assert_int_equal(e->addr.tx_id, 0x6F1);
	assert_int_equal(e->addr.tx_ea, 0x40);
	ident(e, DISCOVER_ID_SYSTEM_NAME, "FEM");
	assert_string_equal(discover_guess_role(e), "bcm");

	e = find(d, 0x758, 0x90);
	assert_non_null(e);
	assert_int_equal(e->addr.tx_id, 0x750);
	assert_int_equal(e->addr.tx_ea, 0x90);
	assert_string_equal(discover_guess_role(e), "tailgate");

	e = find(d, 0x765, -1);
	assert_non_null(e);
	assert_int_equal(e->addr.tx_id, 0x745);
	assert_string_equal(discover_guess_role(e), "airbag");

	struct vin_info v;
	assert_int_equal(discover_ecu_vin(find(d, 0x7E8, -1), &v), 0);
	assert_string_equal(v.vin, VIN);

	/* the profile skeleton parses, and gives every ECU back with its address */
	char *text = NULL;
	struct discover_profile_opts po = {.bus = "can0", .bitrate = 500000, .header = "test; run"};
	assert_int_equal(discover_write_profile(d, &po, &text), 0);
	struct profile *pr = NULL;
	struct profile_error pe;
	if (profile_parse(text, strlen(text), "skeleton", &pr, &pe) != 0) {
		char m[400];
		profile_error_format(&pe, m, sizeof(m));
		fail_msg("%s\n%s", m, text);
	}
	assert_string_equal(profile_make(pr), "honda");
	assert_string_equal(profile_bus(pr), "can0");
	assert_int_equal(profile_bitrate(pr), 500000);
	assert_int_equal(profile_ecu_count(pr), 6);
	for (size_t i = 0; i < discover_ecu_count(d); i++) {
		const struct discover_ecu *x = discover_ecu_at(d, i);
		const struct profile_ecu *pe2 = profile_ecu_at(pr, i);
		assert_true(isotp_addr_equal(&pe2->addr, &x->addr));
	}
	assert_non_null(profile_ecu_find(pr, "bcm"));	/* FEM on 0x640 sorts first */
	assert_non_null(profile_ecu_find(pr, "bcm_2")); /* the BCM on 0x72E */
	assert_non_null(profile_ecu_find(pr, "tailgate"));
	assert_non_null(strstr(text, "; test_ run\n"));
	assert_non_null(strstr(text, "; spare part (F187): PN-12345\n"));
	assert_non_null(strstr(text, "; serial (F18C): NRC 0x31 requestOutOfRange\n"));
	profile_free(pr);
	free(text);
	discover_free(d);
}

/* Every request is at least 1/rate after the one before, and no second holds more. */
static void rate_limit(void **state)
{
	static const unsigned rates[] = {20, 7, 100};
	static struct bench b;
	static struct fake fakes[1];
	struct isotp_addr a;

	isotp_addr_init_normal(&a, 0x710, 0x718);
	fakes[0] = (struct fake){a, GOOD, "Gateway", VIN, false};
	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		struct discover_config c;
		memset(&b, 0, sizeof(b));
		b.fakes = fakes;
		b.n = 1;
		discover_config_init(&c);
		c.rate = rates[k];
		c.n_ranges = 2;
		assert_int_equal(discover_range_parse("functional", 10, &c.ranges[0], NULL, 0), 0);
		assert_int_equal(
		    discover_range_parse("11bit:0x700-0x77F", 17, &c.ranges[1], NULL, 0), 0);
		struct discover *d = make(&c, 0);
		struct run_result r = run(&b, d, 0, c.max_time_us + 1);
		assert_int_equal(r.status, DISCOVER_DONE);
		/* 0x718 is skipped: the gateway answered on it before the scan got there */
		assert_int_equal(b.frames_sent, 2 + 128 - 1);
		assert_int_equal(discover_probes_skipped(d), 1);
		assert_int_equal(b.pdus_sent, 7);
		int64_t gap = (1000000 + rates[k] - 1) / rates[k];
		for (size_t i = 1; i < b.nsends; i++)
			assert_true(b.sends[i] - b.sends[i - 1] >= gap);
		for (size_t i = 0; i < b.nsends; i++) {
			size_t j = i;
			while (j < b.nsends && b.sends[j] < b.sends[i] + 1000000)
				j++;
			assert_true(j - i <= rates[k]);
		}
		/* the first request waits for the quiet phase */
		assert_true(b.sends[0] >= c.quiet_us);
		assert_non_null(find(d, 0x718, -1));
		discover_free(d);
	}
}

static void misbehaving_ecus_are_bounded(void **state)
{
	static struct bench b;
	static struct fake fakes[4];
	struct discover_config c;
	struct isotp_addr a;

	memset(&b, 0, sizeof(b));
	isotp_addr_init_normal(&a, 0x720, 0x728);
	fakes[0] = (struct fake){a, GARBAGE, NULL, NULL, false};
	isotp_addr_init_normal(&a, 0x730, 0x738);
	fakes[1] = (struct fake){a, PENDING, NULL, NULL, false};
	isotp_addr_init_normal(&a, 0x740, 0x748);
	fakes[2] = (struct fake){a, SILENT_READS, NULL, NULL, false};
	isotp_addr_init_normal(&a, 0x750, 0x758);
	fakes[3] = (struct fake){a, GOOD, "BCM", VIN, false};
	b.fakes = fakes;
	b.n = 4;
	discover_config_init(&c);
	c.n_ranges = 1;
	assert_int_equal(discover_range_parse("11bit:0x700-0x77F", 17, &c.ranges[0], NULL, 0), 0);
	struct discover *d = make(&c, 0);
	struct run_result r = run(&b, d, 0, 60000000);
	assert_int_equal(r.status, DISCOVER_DONE);
	assert_int_equal(discover_ecu_count(d), 4);

	const struct discover_ecu *e = find(d, 0x728, -1);
	assert_int_equal(e->status, DISCOVER_ECU_GAVE_UP_GARBAGE);
	e = find(d, 0x738, -1);
	assert_int_equal(e->status, DISCOVER_ECU_GAVE_UP_PENDING);
	assert_int_equal(e->ident[DISCOVER_ID_SPARE_PART].state, DISCOVER_IDENT_PENDING);
	assert_int_equal(e->pending_seen, c.timing.max_pending + 1);
	e = find(d, 0x748, -1);
	assert_int_equal(e->status, DISCOVER_ECU_IDENTIFIED); /* two silent reads end it quickly */
	assert_int_equal(e->ident[DISCOVER_ID_SUPPLIER].state, DISCOVER_IDENT_NO_ANSWER);
	assert_int_equal(e->ident[DISCOVER_ID_SERIAL].state, DISCOVER_IDENT_NOT_ASKED);
	e = find(d, 0x758, -1);
	assert_int_equal(e->status, DISCOVER_ECU_IDENTIFIED);
	/* quiet + 128 probes at 50 ms + ~0.5 s of 0x78 + the rest */
	assert_true(r.end < 10000000);

	/* 0x78 every 40 ms with a long P2*-budget: the time per ECU ends it */
	c.timing.max_pending = 1000;
	c.ecu_budget_us = 2000000;
	memset(&b, 0, sizeof(b));
	b.fakes = &fakes[1];
	b.n = 1;
	discover_free(d);
	d = make(&c, 0);
	r = run(&b, d, 0, 60000000);
	assert_int_equal(r.status, DISCOVER_DONE);
	e = find(d, 0x738, -1);
	assert_int_equal(e->status, DISCOVER_ECU_GAVE_UP_BUDGET);
	assert_int_equal(e->ident[DISCOVER_ID_SPARE_PART].state, DISCOVER_IDENT_PENDING);
	assert_true(r.end < 0 + c.quiet_us + 128 * 50000 + 2000000 + 200000);

	/* and the total bound ends everything */
	c.ecu_budget_us = 60000000;
	c.max_time_us = 8000000;
	memset(&b, 0, sizeof(b));
	b.fakes = &fakes[1];
	b.n = 1;
	discover_free(d);
	d = make(&c, 0);
	r = run(&b, d, 0, 60000000);
	assert_int_equal(r.status, DISCOVER_TIMEOUT);
	assert_int_equal(r.end, 8000000);
	assert_int_equal(find(d, 0x738, -1)->status, DISCOVER_ECU_FOUND);
	discover_free(d);
}

static void bus_error_stops_everything(void **state)
{
	static struct bench b;
	struct discover_config c;

	memset(&b, 0, sizeof(b));
	discover_config_init(&c);
	b.inject = (struct bd_frame){.id = BD_FRAME_ERR_ACK, .flags = BD_FRAME_ERR, .len = 8};
	b.inject_t = 2000000;
	struct discover *d = make(&c, 0);
	struct run_result r = run(&b, d, 0, 200000000);
	assert_int_equal(r.status, DISCOVER_BUS_ERROR);
	assert_int_equal(r.end, 2000000);
	/* probes went out from 0.5 s to 2 s, nothing after */
	assert_true(b.frames_sent >= 29 && b.frames_sent <= 31);
	assert_int_equal(b.sends[b.nsends - 1] < 2000000, 1);
	assert_int_equal(discover_stop_frame(d)->id, BD_FRAME_ERR_ACK);
	discover_free(d);

	/* an error frame during the quiet phase: not one frame sent */
	memset(&b, 0, sizeof(b));
	b.inject = (struct bd_frame){.id = BD_FRAME_ERR_BUSOFF, .flags = BD_FRAME_ERR, .len = 8};
	b.inject_t = 100000;
	d = make(&c, 0);
	r = run(&b, d, 0, 200000000);
	assert_int_equal(r.status, DISCOVER_BUS_ERROR);
	assert_int_equal(b.nsends, 0);
	discover_free(d);
}

static void ids_in_use_are_never_sent_on(void **state)
{
	static struct bench b;
	struct discover_config c;
	struct discover_action a;

	memset(&b, 0, sizeof(b));
	discover_config_init(&c);
	c.n_ranges = 2;
	assert_int_equal(discover_range_parse("11bit:0x7A0-0x7A3", 17, &c.ranges[0], NULL, 0), 0);
	assert_int_equal(discover_range_parse("toyota", 6, &c.ranges[1], NULL, 0), 0);
	struct discover *d = make(&c, 0);
	/* another node sends on 0x7A1 and on the Toyota gateway id */
	discover_on_frame(d, &(struct bd_frame){.id = 0x7A1, .len = 8}, 1000);
	discover_on_frame(d, &(struct bd_frame){.id = 0x750, .len = 8}, 2000);
	discover_next(d, 3000, &a);
	assert_int_equal(a.kind, DISCOVER_ACTION_WAIT);
	assert_int_equal(a.at_us, c.quiet_us);
	struct run_result r = run(&b, d, c.quiet_us, 10000000);
	assert_int_equal(r.status, DISCOVER_DONE);
	assert_int_equal(b.frames_sent, 3);
	assert_int_equal(discover_probes_skipped(d), 1 + 256);
	discover_free(d);
}

static void functional_only_and_send_failures(void **state)
{
	static struct bench b;
	static struct fake fakes[1];
	struct discover_config c;
	struct isotp_addr a;

	memset(&b, 0, sizeof(b));
	isotp_addr_init_normal(&a, 0x7B0, 0x7B8);
	fakes[0] = (struct fake){a, FUNC_ONLY, NULL, NULL, true};
	b.fakes = fakes;
	b.n = 1;
	discover_config_init(&c);
	c.identify = false;
	c.n_ranges = 2;
	assert_int_equal(discover_range_parse("functional", 10, &c.ranges[0], NULL, 0), 0);
	assert_int_equal(discover_range_parse("11bit:0x700-0x70F", 17, &c.ranges[1], NULL, 0), 0);
	struct discover *d = make(&c, 0);
	b.fail_next = -EAGAIN; /* the first probe: the queue is full, offered again */
	struct run_result r = run(&b, d, 0, 10000000);
	assert_int_equal(r.status, DISCOVER_DONE);
	assert_int_equal(b.frames_sent, 2 + 16);
	const struct discover_ecu *e = find(d, 0x7B8, -1);
	assert_non_null(e);
	assert_true(e->request_guessed);
	assert_int_equal(e->addr.tx_id, 0x7B0);
	assert_int_equal(e->found_by, DISCOVER_FOUND_FUNCTIONAL);
	assert_int_equal(e->status, DISCOVER_ECU_FOUND); /* identify off */
	char *text = NULL;
	assert_int_equal(discover_write_profile(d, NULL, &text), 0);
	assert_non_null(strstr(text, "make = unknown\n"));
	assert_non_null(strstr(text, "[ecu ecu_7b8]\n"));
	assert_non_null(strstr(text, "request id guessed"));
	free(text);
	discover_free(d);

	memset(&b, 0, sizeof(b));
	d = make(&c, 0);
	b.fail_next = -ENETDOWN;
	r = run(&b, d, 0, 10000000);
	assert_int_equal(r.status, DISCOVER_SEND_ERROR);
	assert_int_equal(discover_stop_errno(d), -ENETDOWN);
	assert_int_equal(discover_requests_sent(d), 0);
	assert_int_equal(discover_write_profile(d, NULL, &text), -ENOENT);
	discover_free(d);
}

/* The VIN read at attach (the daemon's [data] profile = auto): functional probes only, the
 * VIN reads only (F190, OBD mode 09), nothing else asked. */
static void vin_only(void **state)
{
	static struct bench b;
	static struct fake fakes[2];
	struct discover_config c;
	struct isotp_addr a;
	struct vin_info v;

	memset(&b, 0, sizeof(b));
	isotp_addr_init_normal(&a, 0x7E0, 0x7E8);
	a.functional_id = 0x7DF;
	fakes[0] = (struct fake){a, OBD_ONLY, NULL, "1BDSM2AT5TR000042", true};
	isotp_addr_init_normal(&a, 0x726, 0x72E);
	fakes[1] = (struct fake){a, GOOD, "Body Control Module", "1BDSM2AT5TR000042", true};
	b.fakes = fakes;
	b.n = 2;
	discover_config_init(&c);
	c.ident_only = DISCOVER_IDENT_ONLY_VIN;
	c.n_ranges = 1;
	assert_int_equal(discover_range_parse("functional", 10, &c.ranges[0], NULL, 0), 0);
	struct discover *d = make(&c, 0);
	struct run_result r = run(&b, d, 0, 20000000);
	assert_int_equal(r.status, DISCOVER_DONE);
	assert_int_equal(discover_ecu_count(d), 2);
	for (size_t i = 0; i < 2; i++) {
		const struct discover_ecu *e = discover_ecu_at(d, i);
		for (enum discover_ident_id k = 0; k < DISCOVER_ID_MAX; k++)
			if (k != DISCOVER_ID_VIN && k != DISCOVER_ID_OBD_VIN)
				assert_int_equal(e->ident[k].state, DISCOVER_IDENT_NOT_ASKED);
		assert_int_equal(discover_ecu_vin(e, &v), 0);
		assert_string_equal(v.vin, "1BDSM2AT5TR000042");
	}
	/* 2 functional probes (OBD, UDS), F190 of each (the OBD ECU leaves it unanswered),
	 * the OBD ECU's mode 09 */
	assert_int_equal(discover_requests_sent(d), 5);
	discover_free(d);
}

/* At 200 requests/s probes are 5 ms apart; a functional answer 8 ms late must not be
 * credited to the first physical probe. */
static void functional_answers_keep_their_window(void **state)
{
	static struct bench b;
	static struct fake fakes[1];
	struct discover_config c;
	struct isotp_addr a;

	memset(&b, 0, sizeof(b));
	isotp_addr_init_normal(&a, 0x726, 0x72E);
	fakes[0] = (struct fake){a, GOOD, "BCM", VIN, true, 8000};
	b.fakes = fakes;
	b.n = 1;
	discover_config_init(&c);
	c.rate = 200;
	c.n_ranges = 2;
	assert_int_equal(discover_range_parse("functional", 10, &c.ranges[0], NULL, 0), 0);
	assert_int_equal(discover_range_parse("11bit:0x700-0x7F7", 17, &c.ranges[1], NULL, 0), 0);
	struct discover *d = make(&c, 0);
	struct run_result r = run(&b, d, 0, 10000000);
	assert_int_equal(r.status, DISCOVER_DONE);
	assert_int_equal(discover_ecu_count(d), 1);
	const struct discover_ecu *e = discover_ecu_at(d, 0);
	assert_int_equal(e->addr.tx_id, 0x726);
	assert_false(e->request_guessed);
	assert_int_equal(e->found_by, DISCOVER_FOUND_PHYSICAL);
	assert_int_equal(e->status, DISCOVER_ECU_IDENTIFIED);
	/* the first physical probe waited for the functional window */
	assert_true(b.sends[2] - b.sends[1] >= c.listen_us);
	discover_free(d);
}

static void ranges_and_config(void **state)
{
	static const struct {
		const char *in, *out;
		unsigned probes;
	} ok[] = {
	    {"functional", "functional", 2},
	    {"functional29", "functional29", 2},
	    {"11bit", "11bit:0x700-0x7F7", 248},
	    {"11bit:0x7E0-0x7E7", "11bit:0x7E0-0x7E7", 8},
	    {"29bit", "29bit:0x00-0xFF", 256},
	    {"29bit:10-1f", "29bit:0x10-0x1F", 16},
	    {"toyota", "toyota:0x00-0xFF", 256},
	    {"bmw:0x40-0x40", "bmw:0x40-0x40", 1},
	    {"ext:0x7D0/0x7D8:0x00-0x0F", "ext:0x7D0/0x7D8:0x00-0x0F", 16},
	};
	static const char *const bad[] = {
	    "",
	    "car",
	    "11bit:",
	    "11bit:0x700",
	    "11bit:0x700-",
	    "11bit:0x7F0-0x700",
	    "11bit:0x700-0x800",
	    "29bit:0-0x100",
	    "functional:1-2",
	    "ext",
	    "ext:0x750",
	    "ext:0x750/0x750",
	    "ext:0x800/0x1",
	    "toyota:0-1x",
	    "bmw;",
	};
	struct discover_range r;
	char buf[64], err[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(
		    discover_range_parse(ok[i].in, strlen(ok[i].in), &r, err, sizeof(err)), 0);
		discover_range_format(&r, buf, sizeof(buf));
		assert_string_equal(buf, ok[i].out);
		assert_int_equal(discover_range_probes(&r), ok[i].probes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (discover_range_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)) != -EINVAL)
			fail_msg("%s accepted", bad[i]);
		assert_true(err[0] != 0);
	}

	struct discover_config c;
	struct discover *d = NULL;
	discover_config_init(&c);
	assert_int_equal(c.rate, 20);
	c.rate = 0;
	assert_int_equal(discover_new(&c, 0, &d), -EINVAL);
	discover_config_init(&c);
	c.padding = 300;
	assert_int_equal(discover_new(&c, 0, &d), -EINVAL);
	assert_null(discover_free(NULL));
	for (unsigned x = 0; x < DISCOVER_STATUS_MAX; x++)
		assert_string_not_equal(discover_status_name((enum discover_status)x), "?");
	for (unsigned x = 0; x < DISCOVER_ECU_STATUS_MAX; x++)
		assert_string_not_equal(discover_ecu_status_name((enum discover_ecu_status)x), "?");
	for (unsigned x = 0; x < DISCOVER_IDENT_STATE_MAX; x++)
		assert_string_not_equal(discover_ident_state_name((enum discover_ident_state)x),
					"?");
	for (unsigned x = 0; x < DISCOVER_ID_MAX; x++)
		assert_string_not_equal(discover_ident_name((enum discover_ident_id)x), "?");

	/* the probe frames themselves */
	discover_config_init(&c);
	c.quiet_us = 0;
	c.n_ranges = 3;
	discover_range_parse("bmw:0x12-0x12", 13, &c.ranges[0], NULL, 0);
	discover_range_parse("29bit:0x33-0x33", 15, &c.ranges[1], NULL, 0);
	discover_range_parse("11bit:0x7E0-0x7E0", 17, &c.ranges[2], NULL, 0);
	c.probe = DISCOVER_PROBE_SESSION;
	d = make(&c, 0);
	struct discover_action a;
	discover_next(d, 0, &a);
	assert_int_equal(a.kind, DISCOVER_ACTION_SEND_FRAME);
	const uint8_t bmw[] = {0x12, 0x02, 0x10, 0x01, 0xCC, 0xCC, 0xCC, 0xCC};
	assert_int_equal(a.frame.id, 0x6F1);
	assert_memory_equal(a.frame.data, bmw, 8);
	discover_next(d, 50000, &a);
	assert_int_equal(a.frame.id, 0x18DA33F1);
	assert_true(a.frame.flags & BD_FRAME_EXT);
	discover_next(d, 100000, &a);
	assert_int_equal(a.frame.id, 0x7E0);
	const uint8_t sess[] = {0x02, 0x10, 0x01, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC};
	assert_memory_equal(a.frame.data, sess, 8);
	/* the answer to a session probe */
	const struct bd_frame ans = {
	    .id = 0x7E8, .len = 8, .data = {0x06, 0x50, 0x01, 0x00, 0x32, 0x01, 0xF4}};
	discover_on_frame(d, &ans, 110000);
	assert_int_equal(discover_ecu_count(d), 1);
	discover_free(d);

	/* no padding: short frames */
	discover_config_init(&c);
	c.quiet_us = 0;
	c.padding = -1;
	c.n_ranges = 1;
	discover_range_parse("11bit:0x7E0-0x7E0", 17, &c.ranges[0], NULL, 0);
	d = make(&c, 0);
	discover_next(d, 0, &a);
	assert_int_equal(a.frame.len, 3);
	discover_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_mode_default_ranges),
	    cmocka_unit_test(rate_limit),
	    cmocka_unit_test(misbehaving_ecus_are_bounded),
	    cmocka_unit_test(bus_error_stops_everything),
	    cmocka_unit_test(ids_in_use_are_never_sent_on),
	    cmocka_unit_test(functional_only_and_send_failures),
	    cmocka_unit_test(vin_only),
	    cmocka_unit_test(functional_answers_keep_their_window),
	    cmocka_unit_test(ranges_and_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
