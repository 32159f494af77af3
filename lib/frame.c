/* SPDX-License-Identifier: MIT */
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
