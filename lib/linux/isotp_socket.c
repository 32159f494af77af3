/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/isotp.h>

#include "bodydiag/linux/isotp_socket.h"

/* Largest PDU the kernel's ISO-TP accepts on classic CAN is 4095 bytes; with the
 * FD escape first frame recent kernels allow more (MAX_MSG_LENGTH is 66000 since 6.0). */
#define PDU_MAX 66000

void isotp_socket_opts_init(struct isotp_socket_opts *o, uint32_t tx_id, uint32_t rx_id)
{
	*o = (struct isotp_socket_opts){
		.tx_id = tx_id,
		.rx_id = rx_id,
		.tx_pad = -1,
		.rx_pad_check = -1,
		.ext_address = -1,
		.rx_ext_address = -1,
		.wait_tx_done = true,
		.ll_mtu = 0,
	};
}

void isotp_socket_opts_from_addr(struct isotp_socket_opts *o, const struct isotp_addr *a)
{
	isotp_socket_opts_init(o, a->tx_id, a->rx_id);
	o->ext_ids = a->ext_ids;
	o->tx_pad = a->padding;
	o->block_size = a->bs;
	o->stmin = a->stmin;
	switch (a->mode) {
	case ISOTP_ADDR_MIXED:
	case ISOTP_ADDR_EXTENDED:
		/* The kernel does not tell mixed from extended: both are one byte in front of
		 * the N_PCI of every frame (net/can/isotp.c, ae = 1). */
		o->ext_address = a->tx_ea;
		if (a->rx_ea != a->tx_ea)
			o->rx_ext_address = a->rx_ea;
		break;
	case ISOTP_ADDR_NORMAL:
	case ISOTP_ADDR_NORMAL_FIXED:
	case ISOTP_ADDR_MODE_MAX:
		break;
	}
}

int isotp_socket_open(const char *ifname, const struct isotp_socket_opts *o, int *ret_fd)
{
	struct sockaddr_can addr = {.can_family = AF_CAN};
	struct can_isotp_options opts = {
		.frame_txtime = CAN_ISOTP_DEFAULT_FRAME_TXTIME,
		.txpad_content = CAN_ISOTP_DEFAULT_PAD_CONTENT,
		.rxpad_content = CAN_ISOTP_DEFAULT_PAD_CONTENT,
	};
	struct can_isotp_fc_options fc = {.bs = o->block_size, .stmin = o->stmin, .wftmax = o->wftmax};
	int fd, r;

	if (!ifname || !*ifname)
		return -EINVAL;
	addr.can_ifindex = (int)if_nametoindex(ifname);
	if (addr.can_ifindex == 0)
		return -ENODEV;
	addr.can_addr.tp.tx_id = o->tx_id | (o->ext_ids ? CAN_EFF_FLAG : 0);
	addr.can_addr.tp.rx_id = o->rx_id | (o->ext_ids ? CAN_EFF_FLAG : 0);

	if (o->tx_pad >= 0) {
		opts.flags |= CAN_ISOTP_TX_PADDING;
		opts.txpad_content = (uint8_t)o->tx_pad;
	}
	if (o->rx_pad_check >= 0) {
		opts.flags |= CAN_ISOTP_RX_PADDING | CAN_ISOTP_CHK_PAD_LEN | CAN_ISOTP_CHK_PAD_DATA;
		opts.rxpad_content = (uint8_t)o->rx_pad_check;
	}
	if (o->ext_address >= 0) {
		opts.flags |= CAN_ISOTP_EXTEND_ADDR;
		opts.ext_address = (uint8_t)o->ext_address;
		/* Without CAN_ISOTP_RX_EXT_ADDR the kernel expects ext_address in what it
		 * receives too (isotp_setsockopt copies it into rx_ext_address). */
		if (o->rx_ext_address >= 0 && o->rx_ext_address != o->ext_address) {
			opts.flags |= CAN_ISOTP_RX_EXT_ADDR;
			opts.rx_ext_address = (uint8_t)o->rx_ext_address;
		}
	} else if (o->rx_ext_address >= 0) {
		return -EINVAL;
	}
	if (o->wait_tx_done)
		opts.flags |= CAN_ISOTP_WAIT_TX_DONE;
	if (o->listen_only)
		opts.flags |= CAN_ISOTP_LISTEN_MODE;
	if (o->force_tx_stmin_ns)
		opts.flags |= CAN_ISOTP_FORCE_TXSTMIN;
	if (o->force_rx_stmin_ns)
		opts.flags |= CAN_ISOTP_FORCE_RXSTMIN;

	fd = socket(PF_CAN, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, CAN_ISOTP);
	if (fd < 0)
		return -errno;

	if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_OPTS, &opts, sizeof(opts)) < 0)
		goto fail_errno;
	if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_RECV_FC, &fc, sizeof(fc)) < 0)
		goto fail_errno;
	if (o->force_tx_stmin_ns &&
	    setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_TX_STMIN, &o->force_tx_stmin_ns,
		       sizeof(o->force_tx_stmin_ns)) < 0)
		goto fail_errno;
	if (o->force_rx_stmin_ns &&
	    setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_RX_STMIN, &o->force_rx_stmin_ns,
		       sizeof(o->force_rx_stmin_ns)) < 0)
		goto fail_errno;
	if (o->ll_mtu == CANFD_MTU) {
		struct can_isotp_ll_options ll = {
			.mtu = CANFD_MTU,
			.tx_dl = o->tx_dl ? o->tx_dl : CANFD_MAX_DLEN,
			.tx_flags = CANFD_BRS,
		};
		if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_LL_OPTS, &ll, sizeof(ll)) < 0)
			goto fail_errno;
	} else if (o->ll_mtu != 0 && o->ll_mtu != CAN_MTU) {
		r = -EINVAL;
		goto fail;
	}

	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto fail_errno;
	*ret_fd = fd;
	return 0;
fail_errno:
	r = -errno;
fail:
	close(fd);
	return r;
}

int isotp_socket_send(int fd, const void *buf, size_t len)
{
	ssize_t n;

	if (len == 0 || len > PDU_MAX)
		return -EMSGSIZE;
	n = write(fd, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int isotp_socket_recv(int fd, void *buf, size_t cap, size_t *ret_len)
{
	ssize_t n;

	/* MSG_TRUNC makes the kernel return the real PDU length so that a too-small buffer is
	 * reported instead of silently handing back a truncated PDU. */
	n = recv(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
	if ((size_t)n > cap)
		return -EMSGSIZE;
	*ret_len = (size_t)n;
	return 1;
}

const char *isotp_socket_error_name(int neg_errno)
{
	/* What the kernel's net/can/isotp.c puts into sk_err for each ISO 15765-2 N_Result. */
	switch (-neg_errno) {
	case ETIMEDOUT:
		return "N_TIMEOUT_Cr: consecutive frame not received in time";
	case ECOMM:
		return "N_TIMEOUT_Bs: no flow control from the peer";
	case EILSEQ:
		return "N_WRONG_SN: consecutive frame out of sequence";
	case EBADMSG:
		return "N_UNEXP_PDU/N_INVALID_FS: malformed frame or padding";
	case EMSGSIZE:
		return "N_BUFFER_OVFLW: PDU too large";
	case EOVERFLOW:
		return "N_WFT_OVRN: too many flow control WAIT frames";
	case ENETDOWN:
		return "network down";
	case ENODEV:
	case ENXIO:
		return "interface gone";
	case ENOBUFS:
		return "CAN tx queue full";
	case EAGAIN:
		return "busy";
	default:
		return "transport error";
	}
}
