/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * frame: one CAN or CAN FD frame as the rest of libbodydiag sees it, independent of
 * the kernel's struct can_frame / canfd_frame so that lib/ core never includes
 * socket headers. lib/linux converts at the edge.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BD_FRAME_MAX_DATA 64u

enum bd_frame_flag {
	BD_FRAME_EXT = 1u << 0, /* 29-bit identifier */
	BD_FRAME_RTR = 1u << 1, /* remote transmission request (classic CAN only) */
	BD_FRAME_ERR = 1u << 2, /* error frame: id holds the CAN_ERR_* class bits */
	BD_FRAME_FD = 1u << 3,  /* CAN FD frame */
	BD_FRAME_BRS = 1u << 4, /* CAN FD bit rate switch */
	BD_FRAME_ESI = 1u << 5, /* CAN FD error state indicator */
	BD_FRAME_LOCAL = 1u << 6, /* received: sent by a socket of this host (the kernel's
				   * loopback), e.g. our own ISO-TP requests; never sent */
};

/* Classes of an error frame (BD_FRAME_ERR), held in its id: the values of linux/can/error.h's
 * CAN_ERR_*, repeated because lib core includes no kernel header. data[1] details a
 * CRTL error, data[2] a PROT error. */
enum bd_frame_err_class {
	BD_FRAME_ERR_TX_TIMEOUT = 0x001,
	BD_FRAME_ERR_LOSTARB = 0x002,
	BD_FRAME_ERR_CRTL = 0x004,	/* controller: warning/passive levels, overflows */
	BD_FRAME_ERR_PROT = 0x008,	/* protocol violation: bit, stuff, form errors */
	BD_FRAME_ERR_TRX = 0x010,
	BD_FRAME_ERR_ACK = 0x020,	/* our frame was not acknowledged */
	BD_FRAME_ERR_BUSOFF = 0x040,
	BD_FRAME_ERR_BUSERROR = 0x080,
	BD_FRAME_ERR_RESTARTED = 0x100, /* the controller restarted after bus-off */
};
/* data[1] bits of a CRTL error frame that only say a queue overflowed (no bus fault). */
#define BD_FRAME_ERR_CRTL_OVERFLOW 0x03u

struct bd_frame {
	uint32_t id;   /* identifier without any flag bits: 11 or 29 bits */
	uint8_t flags; /* enum bd_frame_flag */
	uint8_t len;   /* payload bytes: 0..8 classic, 0..64 FD; for RTR the requested DLC */
	uint8_t data[BD_FRAME_MAX_DATA];
};

/* A frame with the time it was seen, monotonic or wall-clock microseconds as the source says. */
struct bd_timed_frame {
	int64_t t_us;
	struct bd_frame frame;
};

/* CAN FD data length code <-> payload length (ISO 11898-1:2015 table). */
uint8_t bd_frame_dlc_to_len(uint8_t dlc);
/* Smallest DLC whose length is >= len (len <= 64). */
uint8_t bd_frame_len_to_dlc(uint8_t len);
/* Rounds a payload length up to the next valid CAN FD length (0..8,12,16,20,24,32,48,64). */
uint8_t bd_frame_round_len(uint8_t len);
/* True when id and flags are consistent: 11-bit id unless EXT, len within limits. */
bool bd_frame_is_valid(const struct bd_frame *f);

/* True for an error frame that says something about the bus (a wrong bitrate, a fault,
 * bus-off): every class but a bare restart notice or a queue overflow. */
bool bd_frame_err_is_bus_fault(const struct bd_frame *f);
/* "protocol violation, bus error", the classes of an error frame joined by ", "; "" for a
 * data frame. Returns snprintf's result. */
int bd_frame_err_format(const struct bd_frame *f, char *buf, size_t size);
