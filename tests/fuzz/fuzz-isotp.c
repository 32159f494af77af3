/* SPDX-License-Identifier: MIT */
/*
 * ISO-TP receiver (and the sender's flow-control handling) and the passive observer fed
 * with arbitrary frames. Input: one configuration byte, then frames as
 * [flags][time step][len][data...]: flags bit 0 = response id, bit 1 = CAN FD,
 * bit 2 = start a send first, bit 3 = poll at the new time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bodydiag/isotp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	size_t frames;
	size_t pdus;
	uint8_t check;
};

static int send_frame(void *ud, const struct bd_frame *f)
{
	struct sink *s = ud;
	s->frames++;
	/* every frame we emit must be a valid frame */
	if (!bd_frame_is_valid(f))
		__builtin_trap();
	return (s->frames % 7 == 3) ? -11 /* -EAGAIN */ : 0;
}

static void received(void *ud, enum isotp_n_result r, const uint8_t *pdu, size_t len)
{
	struct sink *s = ud;
	if (r == ISOTP_N_OK) {
		for (size_t i = 0; i < len; i++)
			s->check ^= pdu[i];
		s->pdus++;
	}
}

static void obs_pdu(void *ud, enum isotp_dir d, const uint8_t *pdu, size_t len, int64_t t0, int64_t t1)
{
	struct sink *s = ud;
	for (size_t i = 0; i < len; i++)
		s->check ^= pdu[i];
}

static void obs_err(void *ud, enum isotp_dir d, enum isotp_n_result r, const uint8_t *partial, size_t got,
		    size_t len, int64_t t)
{
	struct sink *s = ud;
	for (size_t i = 0; partial && i < got; i++)
		s->check ^= partial[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct isotp_ops ops = {.send_frame = send_frame, .received = received};
	static const struct isotp_observer_ops oops = {.pdu = obs_pdu, .error = obs_err};
	struct isotp_config c;
	struct isotp_observer_config oc;
	struct isotp *tp = NULL;
	struct isotp_observer *o = NULL;
	struct sink s = {0};
	uint8_t cfg, payload[300];
	int64_t now = 0;
	size_t i = 1;

	if (size < 1)
		return 0;
	cfg = data[0];
	isotp_config_init(&c, 0x7e0, 0x7e8);
	c.addressing = (enum isotp_addressing)(cfg % ISOTP_ADDRESSING_MAX);
	c.tx_addr = 0x11;
	c.rx_addr = 0x22;
	c.fd = cfg & 0x04;
	c.tx_pad = (cfg & 0x08) ? 0xaa : -1;
	c.bs = (cfg >> 4) & 3;
	c.stmin = (cfg & 0x40) ? 0xf5 : 0;
	c.wftmax = 2;
	c.rx_max = (cfg & 0x80) ? 100 : 5000;
	c.tx_max = sizeof(payload);
	if (isotp_new(&c, &ops, &s, &tp) < 0)
		return 0;
	isotp_observer_config_init(&oc, 0x7e0, 0x7e8);
	oc.addressing = c.addressing;
	oc.req_addr = 0x11;
	oc.resp_addr = 0x22;
	oc.max_pdu = c.rx_max;
	if (isotp_observer_new(&oc, &oops, &s, &o) < 0)
		goto out;
	memset(payload, 0x5a, sizeof(payload));

	while (i + 3 <= size) {
		uint8_t flags = data[i], step = data[i + 1], len = data[i + 2];
		struct bd_frame f = {0};

		i += 3;
		if (len > 64)
			len = 64;
		if (len > size - i)
			len = (uint8_t)(size - i);
		f.id = (flags & 1) ? 0x7e8 : 0x7e0;
		f.len = len;
		if (flags & 2)
			f.flags = BD_FRAME_FD;
		memcpy(f.data, data + i, len);
		i += len;
		now += (int64_t)step * 10000;
		if (flags & 4)
			isotp_send(tp, payload, 1 + (size_t)step, now);
		isotp_on_frame(tp, &f, now);
		isotp_observer_feed(o, &f, now);
		if (flags & 8) {
			isotp_poll(tp, now);
			isotp_poll(tp, isotp_next_deadline(tp));
		}
	}
	isotp_observer_poll(o, INT64_MAX);
out:
	isotp_observer_free(o);
	isotp_free(tp);
	return 0;
}
