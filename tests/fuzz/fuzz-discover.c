/* SPDX-License-Identifier: MIT */
/*
 * The discovery planner fed by a hostile bus: the input is a script of events (frames on
 * any id, PDUs for any ECU index, transport errors, send failures, time steps) played
 * against discover_next(). The planner must never send faster than its rate, never run
 * past its time bound, and write a profile skeleton that lib/profile accepts.
 * Event: [op][payload...]; op % 5: 0 frame (id 2 bytes, flags, len, data), 1 PDU (ecu,
 * len, data), 2 transport error, 3 time step (2 bytes, ms), 4 send failure.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/discover.h"
#include "bodydiag/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct discover_config c;
	struct discover *d = NULL;
	struct discover_action a;
	int64_t now = 0, last_send = INT64_MIN / 2;
	size_t i = 0;
	char *text = NULL;

	discover_config_init(&c);
	c.quiet_us = 10000;
	c.rate = 100;
	c.max_time_us = 20000000;
	c.n_ranges = 4;
	discover_range_parse("functional", 10, &c.ranges[0], NULL, 0);
	discover_range_parse("11bit:0x7E0-0x7EF", 17, &c.ranges[1], NULL, 0);
	discover_range_parse("29bit:0x00-0x0F", 15, &c.ranges[2], NULL, 0);
	discover_range_parse("bmw:0x40-0x4F", 13, &c.ranges[3], NULL, 0);
	if (discover_new(&c, 0, &d) < 0)
		return 0;
	for (unsigned steps = 0; steps < 20000; steps++) {
		discover_next(d, now, &a);
		if (a.kind == DISCOVER_ACTION_DONE)
			break;
		if (a.kind == DISCOVER_ACTION_SEND_FRAME || a.kind == DISCOVER_ACTION_SEND_PDU) {
			if (now - last_send < 10000)
				__builtin_trap(); /* faster than 100 requests per second */
			last_send = now;
		}
		if (now > c.max_time_us)
			__builtin_trap();
		if (i >= size) {
			/* script over: let time run out */
			now = a.kind == DISCOVER_ACTION_WAIT ? a.at_us : now + 1000;
			continue;
		}
		uint8_t op = data[i++];
		switch (op % 5) {
		case 0: {
			struct bd_frame f = {0};
			if (i + 4 > size)
				break;
			f.id = (uint32_t)data[i] << 8 | data[i + 1];
			f.flags = data[i + 2] & (BD_FRAME_EXT | BD_FRAME_ERR | BD_FRAME_RTR);
			if (f.flags & BD_FRAME_EXT)
				f.id |= 0x18DA0000u;
			else if (!(f.flags & BD_FRAME_ERR))
				f.id &= 0x7FF;
			f.len = data[i + 3] % 9;
			i += 4;
			for (unsigned k = 0; k < f.len && i < size; k++)
				f.data[k] = data[i++];
			discover_on_frame(d, &f, now);
			break;
		}
		case 1: {
			if (i + 2 > size)
				break;
			size_t ecu = data[i] % 8, len = data[i + 1] % 70;
			i += 2;
			if (len > size - i)
				len = size - i;
			discover_on_pdu(d, ecu, data + i, len, now);
			i += len;
			break;
		}
		case 2:
			if (i < size)
				discover_on_transport_error(d, data[i++] % 8, -ETIMEDOUT, now);
			break;
		case 3:
			if (i + 2 > size)
				break;
			now += ((int64_t)data[i] << 8 | data[i + 1]) * 1000;
			i += 2;
			break;
		case 4:
			discover_send_failed(d, (op & 8) ? -EAGAIN : -ENETDOWN, now);
			break;
		}
	}
	if (discover_write_profile(d, NULL, &text) == 0) {
		struct profile *p = NULL;
		struct profile_error e;
		if (profile_parse(text, strlen(text), "skeleton", &p, &e) < 0)
			__builtin_trap();
		profile_free(p);
		free(text);
	}
	discover_free(d);
	return 0;
}
