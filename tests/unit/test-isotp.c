/* SPDX-License-Identifier: MIT */
/* ISO 15765-2 state machines: byte-exact frames, every N_Result path, a simulated clock,
 * and a loopback of two links over every BS/STmin/padding/length combination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/isotp.h"

#define MAXF 2048

struct link {
	struct isotp *tp;
	struct bd_frame out[MAXF];
	int64_t out_t[MAXF];
	size_t n_out;
	int64_t now;
	int busy;          /* send_frame returns -EAGAIN this many times */
	int hard_error;    /* send_frame returns this when non-zero */
	bool echo;         /* answer every PDU from inside the received callback */
	/* receive side */
	uint8_t pdu[70000];
	size_t pdu_len;
	unsigned n_rx_ok;
	enum isotp_n_result rx_res[16];
	unsigned n_rx_res;
	size_t ff_len;
	/* send side */
	enum isotp_n_result tx_res[16];
	unsigned n_tx_res;
};

static int send_frame(void *ud, const struct bd_frame *f)
{
	struct link *l = ud;

	if (l->hard_error)
		return l->hard_error;
	if (l->busy > 0) {
		l->busy--;
		return -EAGAIN;
	}
	assert_true(l->n_out < MAXF);
	assert_true(bd_frame_is_valid(f));
	l->out_t[l->n_out] = l->now;
	l->out[l->n_out++] = *f;
	return 0;
}

static void received(void *ud, enum isotp_n_result r, const uint8_t *pdu, size_t len)
{
	struct link *l = ud;

	assert_true(l->n_rx_res < 16);
	l->rx_res[l->n_rx_res++] = r;
	if (r == ISOTP_N_OK) {
		assert_non_null(pdu);
		memcpy(l->pdu, pdu, len);
		l->pdu_len = len;
		l->n_rx_ok++;
		/* re-entrancy: sending from the callback, as a simulated ECU does */
		if (l->echo)
			assert_int_equal(isotp_send(l->tp, pdu, len, l->now), 0);
	} else {
		assert_null(pdu);
	}
}

static void first_frame(void *ud, size_t len)
{
	((struct link *)ud)->ff_len = len;
}

static void sent(void *ud, enum isotp_n_result r)
{
	struct link *l = ud;
	assert_true(l->n_tx_res < 16);
	l->tx_res[l->n_tx_res++] = r;
}

static const struct isotp_ops ops = {
	.send_frame = send_frame,
	.received = received,
	.first_frame = first_frame,
	.sent = sent,
};

static struct link *link_new(const struct isotp_config *c)
{
	struct link *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	assert_int_equal(isotp_new(c, &ops, l, &l->tp), 0);
	return l;
}

static void link_free(struct link *l)
{
	isotp_free(l->tp);
	free(l);
}

static struct bd_frame mkf(uint32_t id, size_t n, ...)
{
	struct bd_frame f = {.id = id, .len = (uint8_t)n};
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		f.data[i] = (uint8_t)va_arg(ap, int);
	va_end(ap);
	return f;
}

static void feed(struct link *l, struct bd_frame f)
{
	assert_int_equal(isotp_on_frame(l->tp, &f, l->now), 1);
}

static void assert_frame(const struct bd_frame *f, size_t n, const uint8_t *bytes)
{
	assert_int_equal(f->len, n);
	assert_memory_equal(f->data, bytes, n);
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

/* ---- sender ---- */

static void stmin_coding(void **state)
{
	assert_int_equal(isotp_stmin_to_us(0x00), 0);
	assert_int_equal(isotp_stmin_to_us(0x01), 1000);
	assert_int_equal(isotp_stmin_to_us(0x7f), 127000);
	assert_int_equal(isotp_stmin_to_us(0xf1), 100);
	assert_int_equal(isotp_stmin_to_us(0xf5), 500);
	assert_int_equal(isotp_stmin_to_us(0xf9), 900);
	/* reserved values: the longest STmin, 127 ms */
	assert_int_equal(isotp_stmin_to_us(0x80), 127000);
	assert_int_equal(isotp_stmin_to_us(0xf0), 127000);
	assert_int_equal(isotp_stmin_to_us(0xfa), 127000);
	assert_int_equal(isotp_stmin_to_us(0xff), 127000);
	assert_string_equal(isotp_n_result_name(ISOTP_N_TIMEOUT_BS), "N_TIMEOUT_Bs");
	assert_string_equal(isotp_n_result_name(ISOTP_N_WRONG_SN), "N_WRONG_SN");
	assert_string_equal(isotp_n_result_name(ISOTP_N_RESULT_MAX), "?");
}

static void config_validation(void **state)
{
	struct isotp_config c;
	struct isotp *tp;

	isotp_config_init(&c, 0x7e0, 0x7e8);
	c.tx_dl = 12; /* FD length without fd */
	assert_int_equal(isotp_new(&c, &ops, NULL, &tp), -EINVAL);
	c.fd = true;
	c.tx_dl = 13; /* not a CAN FD length */
	assert_int_equal(isotp_new(&c, &ops, NULL, &tp), -EINVAL);
	isotp_config_init(&c, 0x800, 0x7e8);
	c.tx_ext_id = false;
	assert_int_equal(isotp_new(&c, &ops, NULL, &tp), -EINVAL);
	isotp_config_init(&c, 0x7e0, 0x7e8);
	struct isotp_ops no_send = {0};
	assert_int_equal(isotp_new(&c, &no_send, NULL, &tp), -EINVAL);
	assert_null(isotp_free(NULL));
}

static void send_single_frame(void **state)
{
	struct isotp_config c;
	struct link *l;
	const uint8_t req[] = {0x22, 0xf1, 0x90};

	isotp_config_init(&c, 0x7e0, 0x7e8);
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, req, 3, 0), 0);
	assert_int_equal(l->n_out, 1);
	assert_frame(&l->out[0], 4, (const uint8_t[]){0x03, 0x22, 0xf1, 0x90});
	assert_int_equal(l->out[0].id, 0x7e0);
	assert_int_equal(l->out[0].flags, 0);
	assert_int_equal(l->n_tx_res, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_OK);
	assert_false(isotp_tx_busy(l->tp));
	assert_int_equal(isotp_send(l->tp, req, 0, 0), -EMSGSIZE);
	link_free(l);

	/* padded to 8 with the pad byte (9.4.2.1) */
	c.tx_pad = 0x55;
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, req, 3, 0), 0);
	assert_frame(&l->out[0], 8, (const uint8_t[]){0x03, 0x22, 0xf1, 0x90, 0x55, 0x55, 0x55, 0x55});
	link_free(l);

	/* 7 bytes: still a SF; 8 bytes: FF */
	isotp_config_init(&c, 0x7e0, 0x7e8);
	l = link_new(&c);
	uint8_t d[8];
	fill(d, 8);
	assert_int_equal(isotp_send(l->tp, d, 7, 0), 0);
	assert_int_equal(l->out[0].data[0], 0x07);
	assert_int_equal(l->out[0].len, 8);
	assert_int_equal(isotp_send(l->tp, d, 8, 0), 0);
	assert_frame(&l->out[1], 8, (const uint8_t[]){0x10, 0x08, d[0], d[1], d[2], d[3], d[4], d[5]});
	assert_true(isotp_tx_busy(l->tp));
	assert_int_equal(isotp_send(l->tp, d, 8, 0), -EBUSY);
	link_free(l);
}

static void send_multi_frame_bs0(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[20];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 20, 1000), 0);
	assert_int_equal(l->n_out, 1);
	assert_frame(&l->out[0], 8, (const uint8_t[]){0x10, 0x14, d[0], d[1], d[2], d[3], d[4], d[5]});
	/* waiting for FC: N_Bs deadline 1 s after the FF */
	assert_int_equal(isotp_next_deadline(l->tp), 1000 + 1000000);
	/* an FC on another id is not ours */
	struct bd_frame other = mkf(0x7e9, 3, 0x30, 0, 0);
	assert_int_equal(isotp_on_frame(l->tp, &other, 1000), 0);
	l->now = 2000;
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0x00));
	assert_int_equal(l->n_out, 3);
	assert_frame(&l->out[1], 8, (const uint8_t[]){0x21, d[6], d[7], d[8], d[9], d[10], d[11], d[12]});
	/* last CF without padding carries only what is left */
	assert_frame(&l->out[2], 8, (const uint8_t[]){0x22, d[13], d[14], d[15], d[16], d[17], d[18], d[19]});
	assert_int_equal(l->n_tx_res, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_OK);
	assert_int_equal(isotp_next_deadline(l->tp), INT64_MAX);
	link_free(l);

	/* 15 bytes: last CF holds 2 bytes, 3 bytes long unpadded / 8 padded */
	isotp_config_init(&c, 0x7e0, 0x7e8);
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 15, 0), 0);
	feed(l, mkf(0x7e8, 8, 0x30, 0x00, 0x00, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa));
	assert_int_equal(l->n_out, 3);
	assert_frame(&l->out[2], 3, (const uint8_t[]){0x22, d[13], d[14]});
	link_free(l);
	c.tx_pad = 0xcc;
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 15, 0), 0);
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0x00));
	assert_frame(&l->out[2], 8, (const uint8_t[]){0x22, d[13], d[14], 0xcc, 0xcc, 0xcc, 0xcc, 0xcc});
	link_free(l);
}

static void send_block_size_and_stmin(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[40];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);
	l = link_new(&c);
	/* 40 bytes: FF 6 + 5 CFs (7,7,7,7,6) */
	assert_int_equal(isotp_send(l->tp, d, 40, 0), 0);
	l->now = 100;
	feed(l, mkf(0x7e8, 3, 0x30, 0x02, 0x0a)); /* BS 2, STmin 10 ms */
	assert_int_equal(l->n_out, 2);            /* first CF at once */
	assert_int_equal(l->out[1].data[0], 0x21);
	assert_int_equal(isotp_next_deadline(l->tp), 100 + 10000);
	l->now = 100 + 9999;
	isotp_poll(l->tp, l->now);
	assert_int_equal(l->n_out, 2); /* STmin not yet over */
	l->now = 100 + 10000;
	isotp_poll(l->tp, l->now);
	assert_int_equal(l->n_out, 3);
	assert_int_equal(l->out[2].data[0], 0x22);
	/* block of 2 done: waiting for FC (N_Bs) */
	assert_int_equal(isotp_next_deadline(l->tp), l->now + 1000000);
	isotp_poll(l->tp, l->now + 50000);
	assert_int_equal(l->n_out, 3);
	/* the second FC's BS/STmin are ignored: the first FC's stay (net/can/isotp.c) */
	l->now = 200000;
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0x00));
	assert_int_equal(l->n_out, 4);
	assert_int_equal(l->out[3].data[0], 0x23);
	assert_int_equal(isotp_next_deadline(l->tp), 200000 + 10000);
	l->now = 210000;
	isotp_poll(l->tp, l->now);
	assert_int_equal(l->n_out, 5);
	assert_int_equal(l->out[4].data[0], 0x24);
	/* block done again */
	feed(l, mkf(0x7e8, 3, 0x30, 0x02, 0x0a));
	assert_int_equal(l->n_out, 6);
	assert_int_equal(l->out[5].data[0], 0x25);
	assert_int_equal(l->out[5].len, 7);
	assert_int_equal(l->n_tx_res, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_OK);
	link_free(l);
}

static void send_stmin_microseconds_and_reserved(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[30];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 30, 0), 0);
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0xf3)); /* 300 µs */
	assert_int_equal(isotp_next_deadline(l->tp), 300);
	link_free(l);

	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 30, 0), 0);
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0xfb)); /* reserved -> 127 ms */
	assert_int_equal(isotp_next_deadline(l->tp), 127000);
	link_free(l);
}

static void send_fc_wait_and_wft_overrun(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[20];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);
	c.wftmax = 2;
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 20, 0), 0);
	l->now = 500000;
	feed(l, mkf(0x7e8, 3, 0x31, 0x00, 0x00)); /* WAIT restarts N_Bs */
	assert_int_equal(isotp_next_deadline(l->tp), 1500000);
	feed(l, mkf(0x7e8, 3, 0x31, 0x00, 0x00));
	assert_int_equal(l->n_tx_res, 0);
	feed(l, mkf(0x7e8, 3, 0x31, 0x00, 0x00)); /* third WAIT > N_WFTmax 2 */
	assert_int_equal(l->n_tx_res, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_WFT_OVRN);
	assert_false(isotp_tx_busy(l->tp));
	link_free(l);

	/* WAIT then CTS completes */
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 20, 0), 0);
	feed(l, mkf(0x7e8, 3, 0x31, 0x00, 0x00));
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0x00));
	assert_int_equal(l->tx_res[0], ISOTP_N_OK);
	link_free(l);
}

static void send_fc_overflow_invalid_and_timeout(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[20];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);

	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 20, 0), 0);
	feed(l, mkf(0x7e8, 3, 0x32, 0x00, 0x00));
	assert_int_equal(l->tx_res[0], ISOTP_N_BUFFER_OVFLW);
	link_free(l);

	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 20, 0), 0);
	feed(l, mkf(0x7e8, 3, 0x35, 0x00, 0x00));
	assert_int_equal(l->tx_res[0], ISOTP_N_INVALID_FS);
	link_free(l);

	/* a too-short FC is ignored, then N_Bs expires */
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 20, 0), 0);
	feed(l, mkf(0x7e8, 2, 0x30, 0x00));
	assert_int_equal(l->n_out, 1);
	isotp_poll(l->tp, 999999);
	assert_int_equal(l->n_tx_res, 0);
	isotp_poll(l->tp, 1000000);
	assert_int_equal(l->n_tx_res, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_TIMEOUT_BS);
	/* an FC now is unexpected and ignored */
	feed(l, mkf(0x7e8, 3, 0x30, 0x00, 0x00));
	assert_int_equal(l->n_out, 1);
	link_free(l);
}

static void send_link_busy_then_n_as(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[20];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);
	c.n_as_us = 5000;
	l = link_new(&c);
	l->busy = 2;
	assert_int_equal(isotp_send(l->tp, d, 3, 0), 0);
	assert_true(isotp_tx_busy(l->tp));
	assert_int_equal(l->n_out, 0);
	assert_int_equal(isotp_next_deadline(l->tp), 1000);
	isotp_poll(l->tp, 1000);
	assert_int_equal(l->n_out, 0);
	isotp_poll(l->tp, 2000);
	assert_int_equal(l->n_out, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_OK);
	link_free(l);

	l = link_new(&c);
	l->busy = 1000;
	assert_int_equal(isotp_send(l->tp, d, 20, 0), 0);
	for (int64_t t = 1000; t <= 6000; t += 1000)
		isotp_poll(l->tp, t);
	assert_int_equal(l->n_tx_res, 1);
	assert_int_equal(l->tx_res[0], ISOTP_N_TIMEOUT_A);
	link_free(l);

	/* a hard link error: the first frame fails synchronously */
	l = link_new(&c);
	l->hard_error = -ENETDOWN;
	assert_int_equal(isotp_send(l->tp, d, 20, 0), -ENETDOWN);
	assert_false(isotp_tx_busy(l->tp));
	link_free(l);
}

static void send_extended_addressing_and_29bit(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[10];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x18da40f1, 0x18daf140);
	assert_true(c.tx_ext_id);
	c.addressing = ISOTP_ADDRESSING_EXTENDED;
	c.tx_addr = 0x40;
	c.rx_addr = 0xf1;
	l = link_new(&c);
	/* 6 bytes max in an extended SF */
	assert_int_equal(isotp_send(l->tp, d, 6, 0), 0);
	assert_frame(&l->out[0], 8, (const uint8_t[]){0x40, 0x06, d[0], d[1], d[2], d[3], d[4], d[5]});
	assert_int_equal(l->out[0].flags, BD_FRAME_EXT);
	assert_int_equal(l->out[0].id, 0x18da40f1);
	assert_int_equal(isotp_send(l->tp, d, 10, 0), 0);
	assert_frame(&l->out[1], 8, (const uint8_t[]){0x40, 0x10, 0x0a, d[0], d[1], d[2], d[3], d[4]});
	/* FC with the wrong address byte is not for us; 11-bit id same number neither */
	struct bd_frame f = mkf(0x18daf140, 4, 0x99, 0x30, 0x00, 0x00);
	f.flags = BD_FRAME_EXT;
	assert_int_equal(isotp_on_frame(l->tp, &f, 0), 0);
	f = mkf(0x18daf140, 4, 0xf1, 0x30, 0x00, 0x00);
	assert_int_equal(isotp_on_frame(l->tp, &f, 0), 0);
	f.flags = BD_FRAME_EXT;
	assert_int_equal(isotp_on_frame(l->tp, &f, 0), 1);
	assert_int_equal(l->n_out, 3);
	assert_frame(&l->out[2], 7, (const uint8_t[]){0x40, 0x21, d[5], d[6], d[7], d[8], d[9]});
	link_free(l);
}

static void send_can_fd(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[200];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e0, 0x7e8);
	c.fd = true;
	c.fd_brs = true;
	l = link_new(&c);
	/* 7 bytes: classic SF layout in an FD frame */
	assert_int_equal(isotp_send(l->tp, d, 7, 0), 0);
	assert_int_equal(l->out[0].flags, BD_FRAME_FD | BD_FRAME_BRS);
	assert_int_equal(l->out[0].len, 8);
	assert_int_equal(l->out[0].data[0], 0x07);
	/* 40 bytes: SF escape, SF_DL in byte 1, CAN_DL 48 padded with 0xCC */
	assert_int_equal(isotp_send(l->tp, d, 40, 0), 0);
	assert_int_equal(l->out[1].len, 48);
	assert_int_equal(l->out[1].data[0], 0x00);
	assert_int_equal(l->out[1].data[1], 40);
	assert_memory_equal(l->out[1].data + 2, d, 40);
	for (int i = 42; i < 48; i++)
		assert_int_equal(l->out[1].data[i], 0xcc);
	/* 62 bytes: the largest SF; 63: FF */
	assert_int_equal(isotp_send(l->tp, d, 62, 0), 0);
	assert_int_equal(l->out[2].len, 64);
	assert_int_equal(l->out[2].data[1], 62);
	assert_int_equal(isotp_send(l->tp, d, 100, 0), 0);
	assert_int_equal(l->out[3].len, 64);
	assert_int_equal(l->out[3].data[0], 0x10);
	assert_int_equal(l->out[3].data[1], 100);
	assert_memory_equal(l->out[3].data + 2, d, 62);
	feed(l, mkf(0x7e8, 3, 0x30, 0, 0));
	/* 38 left: one CF of 39 bytes, rounded to 48 */
	assert_int_equal(l->n_out, 5);
	assert_int_equal(l->out[4].len, 48);
	assert_int_equal(l->out[4].data[0], 0x21);
	assert_memory_equal(l->out[4].data + 1, d + 62, 38);
	assert_int_equal(l->out[4].data[40], 0xcc);
	link_free(l);
}

static void send_ff_escape(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t *d = malloc(5000);

	fill(d, 5000);
	isotp_config_init(&c, 0x7e0, 0x7e8);
	c.tx_max = 5000;
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 5000, 0), 0);
	/* 9.6.3.2: 0x10 0x00 then 32-bit FF_DL, 2 data bytes in a classic frame */
	assert_frame(&l->out[0], 8, (const uint8_t[]){0x10, 0x00, 0x00, 0x00, 0x13, 0x88, d[0], d[1]});
	assert_int_equal(isotp_send(l->tp, d, 5001, 0), -EBUSY);
	link_free(l);
	l = link_new(&c);
	assert_int_equal(isotp_send(l->tp, d, 5001, 0), -EMSGSIZE);
	link_free(l);
	free(d);
}

/* ---- receiver ---- */

static void receive_single_frame(void **state)
{
	struct isotp_config c;
	struct link *l;

	isotp_config_init(&c, 0x7e8, 0x7e0);
	l = link_new(&c);
	feed(l, mkf(0x7e0, 8, 0x03, 0x22, 0xf1, 0x90, 0xaa, 0xaa, 0xaa, 0xaa));
	assert_int_equal(l->n_rx_ok, 1);
	assert_int_equal(l->pdu_len, 3);
	assert_memory_equal(l->pdu, ((const uint8_t[]){0x22, 0xf1, 0x90}), 3);
	/* invalid SFs are ignored (9.6.2.1): SF_DL 0, SF_DL beyond the frame, escape in a
	 * classic frame */
	feed(l, mkf(0x7e0, 8, 0x00, 0x22, 0xf1, 0x90, 0, 0, 0, 0));
	feed(l, mkf(0x7e0, 4, 0x05, 0x22, 0xf1, 0x90));
	feed(l, mkf(0x7e0, 8, 0x08, 1, 2, 3, 4, 5, 6, 7));
	feed(l, mkf(0x7e0, 0));
	/* a CF with nothing in progress is ignored */
	feed(l, mkf(0x7e0, 8, 0x21, 1, 2, 3, 4, 5, 6, 7));
	assert_int_equal(l->n_rx_res, 1);
	/* RTR with our id is not ours */
	struct bd_frame rtr = mkf(0x7e0, 8, 0x03, 0, 0, 0, 0, 0, 0, 0);
	rtr.flags = BD_FRAME_RTR;
	assert_int_equal(isotp_on_frame(l->tp, &rtr, 0), 0);
	link_free(l);
}

static void receive_multi_frame_with_blocks(void **state)
{
	struct isotp_config c;
	struct link *l;
	uint8_t d[30];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e8, 0x7e0);
	c.bs = 2;
	c.stmin = 0x05;
	c.tx_pad = 0x00;
	l = link_new(&c);
	/* 30 bytes: FF(6) + CF 7,7,7,3 */
	feed(l, mkf(0x7e0, 8, 0x10, 30, d[0], d[1], d[2], d[3], d[4], d[5]));
	assert_int_equal(l->ff_len, 30);
	assert_true(isotp_rx_busy(l->tp));
	assert_int_equal(l->n_out, 1);
	assert_frame(&l->out[0], 8, (const uint8_t[]){0x30, 0x02, 0x05, 0, 0, 0, 0, 0});
	assert_int_equal(isotp_next_deadline(l->tp), 1000000); /* N_Cr */
	l->now = 10;
	feed(l, mkf(0x7e0, 8, 0x21, d[6], d[7], d[8], d[9], d[10], d[11], d[12]));
	assert_int_equal(l->n_out, 1);
	feed(l, mkf(0x7e0, 8, 0x22, d[13], d[14], d[15], d[16], d[17], d[18], d[19]));
	assert_int_equal(l->n_out, 2); /* BS 2 reached: next FC */
	assert_int_equal(l->out[1].data[0], 0x30);
	feed(l, mkf(0x7e0, 8, 0x23, d[20], d[21], d[22], d[23], d[24], d[25], d[26]));
	feed(l, mkf(0x7e0, 4, 0x24, d[27], d[28], d[29]));
	assert_int_equal(l->n_rx_ok, 1);
	assert_int_equal(l->pdu_len, 30);
	assert_memory_equal(l->pdu, d, 30);
	assert_false(isotp_rx_busy(l->tp));
	assert_int_equal(l->n_out, 2);
	link_free(l);
}

static void receive_wrong_sn(void **state)
{
	struct isotp_config c;
	struct link *l;

	isotp_config_init(&c, 0x7e8, 0x7e0);
	l = link_new(&c);
	feed(l, mkf(0x7e0, 8, 0x10, 20, 1, 2, 3, 4, 5, 6));
	feed(l, mkf(0x7e0, 8, 0x22, 1, 2, 3, 4, 5, 6, 7));
	assert_int_equal(l->n_rx_res, 1);
	assert_int_equal(l->rx_res[0], ISOTP_N_WRONG_SN);
	assert_false(isotp_rx_busy(l->tp));
	/* the remaining CFs are ignored */
	feed(l, mkf(0x7e0, 8, 0x21, 1, 2, 3, 4, 5, 6, 7));
	assert_int_equal(l->n_rx_res, 1);
	link_free(l);
}

static void receive_timeout_and_unexpected_pdu(void **state)
{
	struct isotp_config c;
	struct link *l;

	isotp_config_init(&c, 0x7e8, 0x7e0);
	l = link_new(&c);
	feed(l, mkf(0x7e0, 8, 0x10, 20, 1, 2, 3, 4, 5, 6));
	isotp_poll(l->tp, 999999);
	assert_int_equal(l->n_rx_res, 0);
	isotp_poll(l->tp, 1000000);
	assert_int_equal(l->n_rx_res, 1);
	assert_int_equal(l->rx_res[0], ISOTP_N_TIMEOUT_CR);

	/* a SF in the middle of a reception: N_UNEXP_PDU, then the SF is delivered */
	feed(l, mkf(0x7e0, 8, 0x10, 20, 1, 2, 3, 4, 5, 6));
	feed(l, mkf(0x7e0, 8, 0x21, 1, 2, 3, 4, 5, 6, 7));
	feed(l, mkf(0x7e0, 3, 0x02, 0x3e, 0x00));
	assert_int_equal(l->n_rx_res, 3);
	assert_int_equal(l->rx_res[1], ISOTP_N_UNEXP_PDU);
	assert_int_equal(l->rx_res[2], ISOTP_N_OK);
	assert_int_equal(l->pdu_len, 2);
	/* and an FF in the middle restarts */
	feed(l, mkf(0x7e0, 8, 0x10, 9, 1, 2, 3, 4, 5, 6));
	feed(l, mkf(0x7e0, 8, 0x10, 9, 9, 8, 7, 6, 5, 4));
	feed(l, mkf(0x7e0, 4, 0x21, 3, 2, 1));
	assert_int_equal(l->rx_res[3], ISOTP_N_UNEXP_PDU);
	assert_int_equal(l->rx_res[4], ISOTP_N_OK);
	assert_memory_equal(l->pdu, ((const uint8_t[]){9, 8, 7, 6, 5, 4, 3, 2, 1}), 9);
	link_free(l);
}

static void receive_overflow_and_invalid_ff(void **state)
{
	struct isotp_config c;
	struct link *l;

	isotp_config_init(&c, 0x7e8, 0x7e0);
	c.rx_max = 100;
	l = link_new(&c);
	feed(l, mkf(0x7e0, 8, 0x10, 101, 1, 2, 3, 4, 5, 6));
	assert_int_equal(l->n_out, 1);
	assert_frame(&l->out[0], 3, (const uint8_t[]){0x32, 0x00, 0x00});
	assert_int_equal(l->rx_res[0], ISOTP_N_BUFFER_OVFLW);
	assert_false(isotp_rx_busy(l->tp));
	/* invalid FFs are ignored (9.6.3): shorter than 8 bytes, FF_DL below 8, escape with
	 * FF_DL <= 4095, escape in a too-short frame */
	feed(l, mkf(0x7e0, 7, 0x10, 20, 1, 2, 3, 4, 5));
	feed(l, mkf(0x7e0, 8, 0x10, 7, 1, 2, 3, 4, 5, 6));
	feed(l, mkf(0x7e0, 8, 0x10, 0, 0, 0, 0x0f, 0xff, 1, 2));
	assert_int_equal(l->n_out, 1);
	assert_int_equal(l->n_rx_res, 1);
	/* a length lie: FF says 20, a middle CF shorter than the frame must be is ignored */
	feed(l, mkf(0x7e0, 8, 0x10, 20, 1, 2, 3, 4, 5, 6));
	feed(l, mkf(0x7e0, 5, 0x21, 1, 2, 3, 4));
	assert_true(isotp_rx_busy(l->tp));
	/* the last CF too short for what is left is ignored as well */
	feed(l, mkf(0x7e0, 8, 0x21, 1, 2, 3, 4, 5, 6, 7));
	feed(l, mkf(0x7e0, 4, 0x22, 1, 2, 3));
	assert_true(isotp_rx_busy(l->tp));
	feed(l, mkf(0x7e0, 8, 0x22, 1, 2, 3, 4, 5, 6, 7));
	assert_int_equal(l->n_rx_ok, 1);
	assert_int_equal(l->pdu_len, 20);
	link_free(l);
}

static void receive_fc_link_busy_n_ar(void **state)
{
	struct isotp_config c;
	struct link *l;

	isotp_config_init(&c, 0x7e8, 0x7e0);
	c.n_ar_us = 3000;
	l = link_new(&c);
	l->busy = 100;
	feed(l, mkf(0x7e0, 8, 0x10, 20, 1, 2, 3, 4, 5, 6));
	assert_int_equal(l->n_out, 0);
	for (int64_t t = 1000; t <= 3000; t += 1000)
		isotp_poll(l->tp, t);
	assert_int_equal(l->n_rx_res, 1);
	assert_int_equal(l->rx_res[0], ISOTP_N_TIMEOUT_A);
	link_free(l);
}

static void receive_can_fd(void **state)
{
	struct isotp_config c;
	struct link *l;
	struct bd_frame f = {.id = 0x7e0, .flags = BD_FRAME_FD, .len = 64};
	uint8_t d[100];

	fill(d, sizeof(d));
	isotp_config_init(&c, 0x7e8, 0x7e0);
	c.fd = true;
	l = link_new(&c);
	/* SF escape */
	f.len = 12;
	f.data[0] = 0x00;
	f.data[1] = 10;
	memcpy(f.data + 2, d, 10);
	feed(l, f);
	assert_int_equal(l->pdu_len, 10);
	/* a low nibble in a long SF is invalid */
	f.data[0] = 0x05;
	feed(l, f);
	assert_int_equal(l->n_rx_res, 1);
	/* FF in 64 bytes: RX_DL 64 */
	f.len = 64;
	f.data[0] = 0x10;
	f.data[1] = 100;
	memcpy(f.data + 2, d, 62);
	feed(l, f);
	assert_int_equal(l->out[0].flags, BD_FRAME_FD);
	/* a CF longer than RX_DL would be invalid; one of 48 holds the remaining 38 */
	f.len = 48;
	f.data[0] = 0x21;
	memcpy(f.data + 1, d + 62, 38);
	memset(f.data + 39, 0xcc, 9);
	feed(l, f);
	assert_int_equal(l->n_rx_ok, 2);
	assert_int_equal(l->pdu_len, 100);
	assert_memory_equal(l->pdu, d, 100);
	/* FF with FF_DL below the FD minimum (RX_DL - 1 = 63) is ignored */
	f.len = 64;
	f.data[0] = 0x10;
	f.data[1] = 62;
	feed(l, f);
	assert_false(isotp_rx_busy(l->tp));
	link_free(l);
}

/* ---- loopback: two links, a simulated bus and clock ---- */

struct bus {
	struct link *a, *b;
};

static void deliver(struct bus *bus, struct link *from, size_t *cursor, struct link *to)
{
	while (*cursor < from->n_out) {
		struct bd_frame f = from->out[(*cursor)++];
		to->now = from->now;
		assert_int_equal(isotp_on_frame(to->tp, &f, to->now), 1);
	}
}

static void run_loopback(uint8_t bs, uint8_t stmin, int pad, size_t len, bool fd, enum isotp_addressing ad)
{
	struct isotp_config ca, cb;
	struct bus bus;
	size_t ca_cur = 0, cb_cur = 0;
	uint8_t *d = malloc(len);
	int64_t now = 0;
	uint32_t gap = isotp_stmin_to_us(stmin);

	fill(d, len);
	isotp_config_init(&ca, 0x7e0, 0x7e8);
	isotp_config_init(&cb, 0x7e8, 0x7e0);
	ca.tx_pad = cb.tx_pad = pad;
	ca.fd = cb.fd = fd;
	ca.addressing = cb.addressing = ad;
	ca.tx_addr = cb.rx_addr = 0x11;
	ca.rx_addr = cb.tx_addr = 0x22;
	cb.bs = bs;
	cb.stmin = stmin;
	ca.tx_max = cb.rx_max = 70000;
	bus.a = link_new(&ca);
	bus.b = link_new(&cb);

	assert_int_equal(isotp_send(bus.a->tp, d, len, now), 0);
	for (int guard = 0; guard < 200000 && bus.b->n_rx_res == 0; guard++) {
		int64_t next;

		deliver(&bus, bus.a, &ca_cur, bus.b);
		deliver(&bus, bus.b, &cb_cur, bus.a);
		if (ca_cur < bus.a->n_out || cb_cur < bus.b->n_out)
			continue;
		next = isotp_next_deadline(bus.a->tp);
		if (isotp_next_deadline(bus.b->tp) < next)
			next = isotp_next_deadline(bus.b->tp);
		if (next == INT64_MAX)
			break;
		now = next > now ? next : now;
		bus.a->now = bus.b->now = now;
		isotp_poll(bus.a->tp, now);
		isotp_poll(bus.b->tp, now);
	}
	deliver(&bus, bus.a, &ca_cur, bus.b);
	assert_int_equal(bus.b->n_rx_res, 1);
	assert_int_equal(bus.b->rx_res[0], ISOTP_N_OK);
	assert_int_equal(bus.b->pdu_len, len);
	assert_memory_equal(bus.b->pdu, d, len);
	assert_int_equal(bus.a->n_tx_res, 1);
	assert_int_equal(bus.a->tx_res[0], ISOTP_N_OK);
	/* STmin respected between consecutive CFs of a block; FC count from BS */
	{
		unsigned ae = ad == ISOTP_ADDRESSING_NORMAL ? 0 : 1, cfs = 0, fcs = 0;
		int64_t last = -1;
		for (size_t i = 0; i < bus.a->n_out; i++) {
			const struct bd_frame *f = &bus.a->out[i];
			if (pad >= 0)
				assert_true(f->len >= 8);
			if (f->data[ae] >> 4 == 2) {
				if (last >= 0 && !(bs && cfs % bs == 0))
					assert_true(bus.a->out_t[i] - last >= gap);
				last = bus.a->out_t[i];
				cfs++;
			}
		}
		for (size_t i = 0; i < bus.b->n_out; i++)
			if (bus.b->out[i].data[ae] >> 4 == 3)
				fcs++;
		if (cfs)
			assert_int_equal(fcs, bs ? 1 + (cfs - 1) / bs : 1);
	}
	link_free(bus.a);
	link_free(bus.b);
	free(d);
}

static void echo_from_callback(void **state)
{
	struct isotp_config ca, cb;
	struct link *a, *b;
	size_t ca_cur = 0, cb_cur = 0;
	uint8_t d[100];

	fill(d, sizeof(d));
	isotp_config_init(&ca, 0x7e0, 0x7e8);
	isotp_config_init(&cb, 0x7e8, 0x7e0);
	cb.bs = 3;
	a = link_new(&ca);
	b = link_new(&cb);
	b->echo = true;
	assert_int_equal(isotp_send(a->tp, d, sizeof(d), 0), 0);
	for (int guard = 0; guard < 1000 && a->n_rx_res == 0; guard++) {
		deliver(NULL, a, &ca_cur, b);
		deliver(NULL, b, &cb_cur, a);
	}
	assert_int_equal(b->n_rx_ok, 1);
	assert_int_equal(b->n_tx_res, 1);
	assert_int_equal(b->tx_res[0], ISOTP_N_OK);
	assert_int_equal(a->n_rx_ok, 1);
	assert_int_equal(a->pdu_len, sizeof(d));
	assert_memory_equal(a->pdu, d, sizeof(d));
	link_free(a);
	link_free(b);
}

static void loopback_matrix(void **state)
{
	static const uint8_t bss[] = {0, 1, 8};
	static const uint8_t stmins[] = {0, 1, 0xf5};
	static const size_t lens[] = {1, 6, 7, 8, 13, 14, 62, 63, 4095};

	for (size_t i = 0; i < sizeof(bss); i++)
		for (size_t j = 0; j < sizeof(stmins); j++)
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
				for (int pad = -1; pad <= 0xaa; pad += 0xab) {
					run_loopback(bss[i], stmins[j], pad, lens[k], false, ISOTP_ADDRESSING_NORMAL);
					run_loopback(bss[i], stmins[j], pad, lens[k], false, ISOTP_ADDRESSING_EXTENDED);
				}
}

static void loopback_fd_and_escape(void **state)
{
	static const size_t lens[] = {1, 7, 8, 62, 63, 64, 200, 4095, 4096, 9000};

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		run_loopback(0, 0, -1, lens[k], true, ISOTP_ADDRESSING_NORMAL);
		run_loopback(8, 0xf1, 0x00, lens[k], true, ISOTP_ADDRESSING_MIXED);
	}
	run_loopback(0, 0, -1, 5000, false, ISOTP_ADDRESSING_NORMAL);
	run_loopback(2, 0, 0x55, 20000, true, ISOTP_ADDRESSING_NORMAL);
}

/* ---- observer ---- */

struct obs_log {
	unsigned n_pdu[ISOTP_DIR_MAX];
	uint8_t last[ISOTP_DIR_MAX][5000];
	size_t last_len[ISOTP_DIR_MAX];
	int64_t t_first, t_last;
	enum isotp_n_result err[8];
	enum isotp_dir err_dir[8];
	size_t err_got[8];
	unsigned n_err;
};

static void obs_pdu(void *ud, enum isotp_dir d, const uint8_t *pdu, size_t len, int64_t t0, int64_t t1)
{
	struct obs_log *o = ud;
	o->n_pdu[d]++;
	memcpy(o->last[d], pdu, len);
	o->last_len[d] = len;
	o->t_first = t0;
	o->t_last = t1;
}

static void obs_err(void *ud, enum isotp_dir d, enum isotp_n_result r, const uint8_t *partial, size_t got,
		    size_t len, int64_t t)
{
	struct obs_log *o = ud;
	assert_true(o->n_err < 8);
	o->err[o->n_err] = r;
	o->err_dir[o->n_err] = d;
	o->err_got[o->n_err++] = got;
}

static const struct isotp_observer_ops obs_ops = {.pdu = obs_pdu, .error = obs_err};

static void obs_feed(struct isotp_observer *o, struct bd_frame f, int64_t t)
{
	assert_int_equal(isotp_observer_feed(o, &f, t), 1);
}

static void observer_conversation(void **state)
{
	struct isotp_observer_config c;
	struct isotp_observer *o _isotp_observer_cleanup_ = NULL;
	struct obs_log log = {0};

	isotp_observer_config_init(&c, 0x7e0, 0x7e8);
	assert_int_equal(isotp_observer_new(&c, &obs_ops, &log, &o), 0);
	/* tester: 22 F1 90; ECU: 62 F1 90 + 17-char VIN over FF/FC/CF */
	obs_feed(o, mkf(0x7e0, 8, 0x03, 0x22, 0xf1, 0x90, 0x55, 0x55, 0x55, 0x55), 1000);
	assert_int_equal(log.n_pdu[ISOTP_DIR_REQUEST], 1);
	assert_int_equal(log.last_len[ISOTP_DIR_REQUEST], 3);
	obs_feed(o, mkf(0x7e8, 8, 0x10, 0x14, 0x62, 0xf1, 0x90, 'W', '0', 'L'), 5000);
	obs_feed(o, mkf(0x7e0, 8, 0x30, 0x00, 0x00, 0x55, 0x55, 0x55, 0x55, 0x55), 6000);
	obs_feed(o, mkf(0x7e8, 8, 0x21, '0', '0', '0', '0', '4', '3', 'M'), 7000);
	obs_feed(o, mkf(0x7e8, 8, 0x22, 'B', '5', '2', '2', '4', '4', '5'), 8000);
	assert_int_equal(log.n_pdu[ISOTP_DIR_RESPONSE], 1);
	assert_int_equal(log.last_len[ISOTP_DIR_RESPONSE], 20);
	assert_memory_equal(log.last[ISOTP_DIR_RESPONSE], "\x62\xf1\x90W0L000043MB522445", 20);
	assert_int_equal(log.t_first, 5000);
	assert_int_equal(log.t_last, 8000);
	assert_int_equal(log.n_err, 0);
	/* other ids are not part of it */
	struct bd_frame f = mkf(0x7e9, 3, 0x02, 0x50, 0x01);
	assert_int_equal(isotp_observer_feed(o, &f, 9000), 0);
	/* freed by _isotp_observer_cleanup_ */
}

static void observer_errors(void **state)
{
	struct isotp_observer_config c;
	struct isotp_observer *o;
	struct obs_log log = {0};

	isotp_observer_config_init(&c, 0x7e0, 0x7e8);
	assert_int_equal(isotp_observer_new(&c, &obs_ops, &log, &o), 0);
	/* wrong SN */
	obs_feed(o, mkf(0x7e8, 8, 0x10, 0x14, 1, 2, 3, 4, 5, 6), 0);
	obs_feed(o, mkf(0x7e0, 3, 0x30, 0x00, 0x00), 10);
	obs_feed(o, mkf(0x7e8, 8, 0x21, 1, 2, 3, 4, 5, 6, 7), 20);
	obs_feed(o, mkf(0x7e8, 8, 0x23, 1, 2, 3, 4, 5, 6, 7), 30);
	assert_int_equal(log.n_err, 1);
	assert_int_equal(log.err[0], ISOTP_N_WRONG_SN);
	assert_int_equal(log.err_dir[0], ISOTP_DIR_RESPONSE);
	assert_int_equal(log.err_got[0], 13);
	/* the receiver refuses: FC OVFLW ends the reassembly */
	obs_feed(o, mkf(0x7e8, 8, 0x10, 0x14, 1, 2, 3, 4, 5, 6), 100);
	obs_feed(o, mkf(0x7e0, 3, 0x32, 0x00, 0x00), 110);
	assert_int_equal(log.err[1], ISOTP_N_BUFFER_OVFLW);
	/* no FC after an FF: N_Bs; FC then a gap in CFs: N_Cr (reported by the next frame
	 * or by poll) */
	obs_feed(o, mkf(0x7e8, 8, 0x10, 0x14, 1, 2, 3, 4, 5, 6), 1000);
	assert_int_equal(isotp_observer_next_deadline(o), 1000 + 1000000);
	isotp_observer_poll(o, 2000000);
	assert_int_equal(log.err[2], ISOTP_N_TIMEOUT_BS);
	obs_feed(o, mkf(0x7e0, 8, 0x10, 0x14, 1, 2, 3, 4, 5, 6), 3000000);
	obs_feed(o, mkf(0x7e8, 3, 0x30, 0x00, 0x00), 3000010);
	obs_feed(o, mkf(0x7e0, 3, 0x02, 0x3e, 0x00), 5000000);
	assert_int_equal(log.err[3], ISOTP_N_TIMEOUT_CR);
	assert_int_equal(log.err_dir[3], ISOTP_DIR_REQUEST);
	assert_int_equal(log.n_pdu[ISOTP_DIR_REQUEST], 1);
	/* SF during a reassembly: N_UNEXP_PDU, SF kept */
	obs_feed(o, mkf(0x7e8, 8, 0x10, 0x14, 1, 2, 3, 4, 5, 6), 6000000);
	obs_feed(o, mkf(0x7e8, 3, 0x02, 0x7e, 0x00), 6000010);
	assert_int_equal(log.err[4], ISOTP_N_UNEXP_PDU);
	assert_int_equal(log.err_got[4], 6); /* what the interrupted FF had brought */
	assert_int_equal(log.n_pdu[ISOTP_DIR_RESPONSE], 1);
	/* a reserved flow status ends it with N_INVALID_FS */
	obs_feed(o, mkf(0x7e8, 8, 0x10, 0x14, 1, 2, 3, 4, 5, 6), 7000000);
	obs_feed(o, mkf(0x7e0, 3, 0x3f, 0x00, 0x00), 7000010);
	assert_int_equal(log.err[5], ISOTP_N_INVALID_FS);
	assert_int_equal(log.n_err, 6);
	isotp_observer_free(o);

	/* same id both ways only with distinct address bytes */
	isotp_observer_config_init(&c, 0x700, 0x700);
	assert_int_equal(isotp_observer_new(&c, &obs_ops, &log, &o), -EINVAL);
	c.addressing = ISOTP_ADDRESSING_EXTENDED;
	c.req_addr = 1;
	c.resp_addr = 2;
	assert_int_equal(isotp_observer_new(&c, &obs_ops, &log, &o), 0);
	memset(&log, 0, sizeof(log));
	obs_feed(o, mkf(0x700, 4, 0x02, 0x02, 0x50, 0x03), 0);
	assert_int_equal(log.n_pdu[ISOTP_DIR_RESPONSE], 1);
	assert_int_equal(log.last_len[ISOTP_DIR_RESPONSE], 2);
	isotp_observer_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stmin_coding),
		cmocka_unit_test(config_validation),
		cmocka_unit_test(send_single_frame),
		cmocka_unit_test(send_multi_frame_bs0),
		cmocka_unit_test(send_block_size_and_stmin),
		cmocka_unit_test(send_stmin_microseconds_and_reserved),
		cmocka_unit_test(send_fc_wait_and_wft_overrun),
		cmocka_unit_test(send_fc_overflow_invalid_and_timeout),
		cmocka_unit_test(send_link_busy_then_n_as),
		cmocka_unit_test(send_extended_addressing_and_29bit),
		cmocka_unit_test(send_can_fd),
		cmocka_unit_test(send_ff_escape),
		cmocka_unit_test(receive_single_frame),
		cmocka_unit_test(receive_multi_frame_with_blocks),
		cmocka_unit_test(receive_wrong_sn),
		cmocka_unit_test(receive_timeout_and_unexpected_pdu),
		cmocka_unit_test(receive_overflow_and_invalid_ff),
		cmocka_unit_test(receive_fc_link_busy_n_ar),
		cmocka_unit_test(receive_can_fd),
		cmocka_unit_test(echo_from_callback),
		cmocka_unit_test(loopback_matrix),
		cmocka_unit_test(loopback_fd_and_escape),
		cmocka_unit_test(observer_conversation),
		cmocka_unit_test(observer_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
