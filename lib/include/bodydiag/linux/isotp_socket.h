/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * isotp_socket: kernel ISO-TP (CAN_ISOTP, ISO 15765-2) sockets with their options set
 * and checked, and the kernel's transport errors mapped to names.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bodydiag/isotp_addr.h"

struct isotp_socket_opts {
	uint32_t tx_id;        /* CAN id we send on */
	uint32_t rx_id;        /* CAN id we receive on */
	bool ext_ids;          /* 29-bit identifiers */
	int tx_pad;            /* padding byte for sent frames, -1 = no padding */
	int rx_pad_check;      /* require received frames padded with this byte, -1 = don't */
	uint8_t block_size;    /* our flow control: BS (0 = no limit) */
	uint8_t stmin;         /* our flow control: STmin as coded on the wire (0xF1-0xF9 = 100-900 µs) */
	uint8_t wftmax;        /* max wait frames accepted */
	int ext_address;       /* extended/mixed addressing byte we send, -1 = normal addressing */
	int rx_ext_address;    /* the byte received frames carry when it differs (extended
				* addressing behind BMW-style testers), -1 = ext_address */
	bool wait_tx_done;     /* write() returns only after the PDU is on the bus (CAN_ISOTP_WAIT_TX_DONE) */
	bool listen_only;      /* never send flow control (passive) */
	uint8_t ll_mtu;        /* 16 = classic CAN (CAN_MTU), 72 = CAN FD (CANFD_MTU); 0 = classic */
	uint8_t tx_dl;         /* CAN FD payload length for sent frames (8..64), 0 = 8 */
	uint32_t force_tx_stmin_ns; /* 0 = honour the peer's STmin */
	uint32_t force_rx_stmin_ns; /* 0 = accept every CF */
};

/* Options with the defaults the daemon starts from: no padding, BS 0, STmin 0,
 * WAIT_TX_DONE on, classic CAN. */
void isotp_socket_opts_init(struct isotp_socket_opts *o, uint32_t tx_id, uint32_t rx_id);

/* The tester's socket for an ECU address (lib/isotp_addr): ids, 29-bit flag, address
 * bytes (CAN_ISOTP_EXTEND_ADDR, and CAN_ISOTP_RX_EXT_ADDR when the answers carry another
 * byte), padding and our flow control; the other fields keep isotp_socket_opts_init()'s
 * defaults. For the ECU's side pass isotp_addr_reverse()'s result. */
void isotp_socket_opts_from_addr(struct isotp_socket_opts *o, const struct isotp_addr *a);

/* Opens and binds a CAN_ISOTP socket (CLOEXEC|NONBLOCK). Every option is set and checked.
 * Returns 0 and the fd, or -errno (-EPROTONOSUPPORT: can-isotp module missing). */
int isotp_socket_open(const char *ifname, const struct isotp_socket_opts *o, int *ret_fd);

/* Sends one PDU. Returns 0, -EAGAIN if the socket is busy, or a transport error as -errno
 * (see isotp_socket_error_name). */
int isotp_socket_send(int fd, const void *buf, size_t len);

/* Receives one PDU into buf. Returns 1 and its length in *ret_len, 0 when none is
 * pending, -EMSGSIZE when cap is too small (the PDU is dropped), or -errno. */
int isotp_socket_recv(int fd, void *buf, size_t cap, size_t *ret_len);

/* Named transport error for a -errno coming from a CAN_ISOTP socket:
 * ETIMEDOUT -> "N_Bs/N_Cr timeout", ECOMM -> "flow control overflow / bad FC", ...
 * Returns a static string; never NULL. */
const char *isotp_socket_error_name(int neg_errno);
