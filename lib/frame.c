/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "bodydiag/frame.h"

static const uint8_t dlc_len[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};

uint8_t bd_frame_dlc_to_len(uint8_t dlc)
{
	return dlc_len[dlc & 0x0f];
}

uint8_t bd_frame_len_to_dlc(uint8_t len)
{
	for (uint8_t dlc = 0; dlc < 16; dlc++)
		if (dlc_len[dlc] >= len)
			return dlc;
	return 15;
}

uint8_t bd_frame_round_len(uint8_t len)
{
	return dlc_len[bd_frame_len_to_dlc(len)];
}

bool bd_frame_is_valid(const struct bd_frame *f)
{
	if (f->flags & BD_FRAME_EXT) {
		if (f->id > 0x1fffffffu)
			return false;
	} else if (!(f->flags & BD_FRAME_ERR) && f->id > 0x7ffu) {
		return false;
	}
	if (f->flags & BD_FRAME_FD) {
		if (f->flags & BD_FRAME_RTR)
			return false; /* CAN FD has no remote frames */
		return f->len <= 64 && bd_frame_round_len(f->len) == f->len;
	}
	if (f->flags & (BD_FRAME_BRS | BD_FRAME_ESI))
		return false;
	return f->len <= 8;
}

bool bd_frame_err_is_bus_fault(const struct bd_frame *f)
{
	uint32_t c;

	if (!(f->flags & BD_FRAME_ERR))
		return false;
	c = f->id & ~(uint32_t)BD_FRAME_ERR_RESTARTED;
	if (c == BD_FRAME_ERR_CRTL && f->len > 1 && (f->data[1] & ~BD_FRAME_ERR_CRTL_OVERFLOW) == 0 &&
	    f->data[1] != 0)
		return false;
	return c != 0;
}

int bd_frame_err_format(const struct bd_frame *f, char *buf, size_t size)
{
	static const char *const names[] = {
	    "tx timeout", "lost arbitration", "controller problem", "protocol violation",
	    "transceiver problem", "no ACK", "bus-off", "bus error", "restarted",
	};
	size_t o = 0;

	if (size)
		buf[0] = '\0';
	if (!(f->flags & BD_FRAME_ERR))
		return 0;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(f->id & (1u << i)))
			continue;
		int n = snprintf(o < size ? buf + o : NULL, o < size ? size - o : 0, "%s%s",
				 o ? ", " : "", names[i]);
		if (n > 0)
			o += (size_t)n;
	}
	return (int)o;
}
