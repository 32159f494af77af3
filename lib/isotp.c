/* SPDX-License-Identifier: MIT */
/*
 * ISO 15765-2 transport: sender and receiver state machines and a passive observer.
 * Clause numbers refer to ISO 15765-2:2016 unless stated otherwise; where the standard
 * leaves room, we behave like the Linux kernel's net/can/isotp.c, our interop peer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/isotp.h"

enum pci {
	PCI_SF = 0x0,
	PCI_FF = 0x1,
	PCI_CF = 0x2,
	PCI_FC = 0x3,
};

/* Retry interval for a frame the link refused (-EAGAIN): the link gives no readiness
 * event we could wait for (a full CAN tx queue shows as ENOBUFS), so we poll. */
#define RETRY_US 1000

/* 9.6.5.5 and Table 20: STmin. */
uint32_t isotp_stmin_to_us(uint8_t stmin)
{
	if (stmin <= 0x7f)
		return (uint32_t)stmin * 1000u;
	if (stmin >= 0xf1 && stmin <= 0xf9)
		return (uint32_t)(stmin - 0xf0) * 100u;
	/* 9.6.5.5: a reserved STmin value shall make the sender use the longest STmin
	 * defined (0x7F = 127 ms). */
	return 127000u;
}

const char *isotp_n_result_name(enum isotp_n_result r)
{
	switch (r) {
	case ISOTP_N_OK:
		return "N_OK";
	case ISOTP_N_TIMEOUT_A:
		return "N_TIMEOUT_A";
	case ISOTP_N_TIMEOUT_BS:
		return "N_TIMEOUT_Bs";
	case ISOTP_N_TIMEOUT_CR:
		return "N_TIMEOUT_Cr";
	case ISOTP_N_WRONG_SN:
		return "N_WRONG_SN";
	case ISOTP_N_INVALID_FS:
		return "N_INVALID_FS";
	case ISOTP_N_UNEXP_PDU:
		return "N_UNEXP_PDU";
	case ISOTP_N_WFT_OVRN:
		return "N_WFT_OVRN";
	case ISOTP_N_BUFFER_OVFLW:
		return "N_BUFFER_OVFLW";
	case ISOTP_N_ERROR:
		return "N_ERROR";
	case ISOTP_N_RESULT_MAX:
		break;
	}
	return "?";
}

static bool is_fd_len(unsigned len)
{
	return len <= 64 && bd_frame_round_len((uint8_t)len) == len;
}

static unsigned addr_len(enum isotp_addressing a)
{
	switch (a) {
	case ISOTP_ADDRESSING_NORMAL:
		return 0;
	case ISOTP_ADDRESSING_EXTENDED:
	case ISOTP_ADDRESSING_MIXED:
		return 1;
	case ISOTP_ADDRESSING_MAX:
		break;
	}
	return 0;
}

static bool id_matches(const struct bd_frame *f, uint32_t id, bool ext)
{
	if (f->flags & (BD_FRAME_RTR | BD_FRAME_ERR))
		return false;
	return f->id == id && !!(f->flags & BD_FRAME_EXT) == ext;
}

/* ---------------------------------------------------------------------------------- */
/* Reassembly, shared by the receiver and the observer. */

struct rx {
	uint8_t *buf;
	uint32_t cap;
	uint32_t len;      /* announced PDU length */
	uint32_t idx;      /* bytes received */
	uint8_t sn;        /* next expected sequence number */
	uint8_t ll_dl;     /* RX_DL, from the first frame's CAN_DL (9.6.3.1) */
	bool active;
	bool wait_fc;      /* observer: a block ended, FC expected */
	unsigned block;    /* CFs received in the current block */
	int64_t deadline;
	int64_t t_first;
};

enum rx_verdict {
	RXV_IGNORE,
	RXV_SF,        /* complete single-frame PDU in buf[0..len) */
	RXV_FF,        /* reception started */
	RXV_FF_OVFLW,  /* FF announced more than we can take */
	RXV_CF_MORE,
	RXV_CF_DONE,
	RXV_WRONG_SN,
};

/*
 * Interprets one frame's N_PCI and payload (p/n: the frame data after the address byte,
 * can_dl: the whole frame's length). *unexp is set when a valid SF or FF interrupts a
 * reception in progress (9.8.3 Table 23: the old reception ends with N_UNEXP_PDU and the
 * new frame starts a new one). FC frames are not handled here.
 */
static enum rx_verdict rx_feed(struct rx *rx, const uint8_t *p, size_t n, size_t can_dl, unsigned ae,
			       bool *unexp)
{
	uint32_t ff_dl, ffmin, hdr, take;

	*unexp = false;
	if (n < 1)
		return RXV_IGNORE;

	switch ((enum pci)(p[0] >> 4)) {
	case PCI_SF: {
		uint32_t sf_dl;
		const uint8_t *data;

		if (can_dl <= 8) {
			/* 9.6.2.1 Table 10: with CAN_DL <= 8 the length is the low nibble; 0 (the
			 * escape) is only valid in frames longer than 8 bytes. */
			sf_dl = p[0] & 0x0f;
			if (sf_dl == 0 || sf_dl > n - 1)
				return RXV_IGNORE;
			data = p + 1;
		} else {
			if ((p[0] & 0x0f) != 0 || n < 2)
				return RXV_IGNORE;
			sf_dl = p[1];
			if (sf_dl == 0 || sf_dl > n - 2)
				return RXV_IGNORE;
			data = p + 2;
		}
		if (sf_dl > rx->cap)
			return RXV_IGNORE;
		*unexp = rx->active;
		memcpy(rx->buf, data, sf_dl);
		rx->len = rx->idx = sf_dl;
		rx->active = false;
		return RXV_SF;
	}
	case PCI_FF:
		/* 9.6.3.1: the FF uses the full frame; its CAN_DL sets RX_DL for the CFs. */
		if (can_dl < 8 || !is_fd_len((unsigned)can_dl) || n < 2)
			return RXV_IGNORE;
		ff_dl = ((uint32_t)(p[0] & 0x0f) << 8) | p[1];
		hdr = 2;
		if (ff_dl == 0) {
			/* 9.6.3.2: escape sequence, 32-bit FF_DL; only for FF_DL > 4095. */
			if (n < 6)
				return RXV_IGNORE;
			ff_dl = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
			if (ff_dl <= ISOTP_PDU_MAX_12BIT)
				return RXV_IGNORE;
			hdr = 6;
		}
		/* 9.6.3.2 Table 14: FF_DLmin is one more than a SF of this RX_DL can carry;
		 * a smaller FF_DL is an invalid FF and is ignored. */
		ffmin = can_dl == 8 ? 8 - ae : (uint32_t)can_dl - 1 - ae;
		if (ff_dl < ffmin)
			return RXV_IGNORE;
		*unexp = rx->active;
		rx->active = false;
		if (ff_dl > rx->cap) {
			rx->len = ff_dl;
			rx->idx = 0;
			return RXV_FF_OVFLW;
		}
		take = (uint32_t)(n - hdr);
		memcpy(rx->buf, p + hdr, take);
		rx->len = ff_dl;
		rx->idx = take;
		rx->sn = 1;
		rx->ll_dl = (uint8_t)can_dl;
		rx->block = 0;
		rx->wait_fc = false;
		rx->active = true;
		return RXV_FF;
	case PCI_CF: {
		uint32_t remaining, per_cf;

		/* 9.8.3: a CF while no reception is in progress is ignored. */
		if (!rx->active)
			return RXV_IGNORE;
		remaining = rx->len - rx->idx;
		per_cf = rx->ll_dl - ae - 1;
		/* 9.6.4.1 (and net/can/isotp.c): CFs are never longer than the FF, and only
		 * the last one may be shorter. */
		if (can_dl > rx->ll_dl)
			return RXV_IGNORE;
		if (can_dl < rx->ll_dl && remaining > per_cf)
			return RXV_IGNORE;
		take = remaining < per_cf ? remaining : per_cf;
		if (n - 1 < take)
			return RXV_IGNORE; /* the frame is too short for what it must carry */
		if ((p[0] & 0x0f) != rx->sn) {
			rx->active = false;
			return RXV_WRONG_SN;
		}
		memcpy(rx->buf + rx->idx, p + 1, take);
		rx->idx += take;
		rx->sn = (rx->sn + 1) & 0x0f;
		if (rx->idx == rx->len) {
			rx->active = false;
			return RXV_CF_DONE;
		}
		return RXV_CF_MORE;
	}
	case PCI_FC:
		break;
	}
	return RXV_IGNORE;
}

/* ---------------------------------------------------------------------------------- */
/* The link: sender + receiver. */

enum tx_state {
	TX_IDLE,
	TX_WAIT_FC,
	TX_SEND_CF,
};

enum frame_kind {
	KIND_SF,
	KIND_FF,
	KIND_CF,
};

struct isotp {
	struct isotp_config cfg;
	struct isotp_ops ops;
	void *userdata;
	unsigned ae;     /* address bytes in front of the N_PCI */
	uint8_t tx_dl;

	struct {
		enum tx_state state;
		uint8_t *buf;
		uint32_t len, idx;
		uint8_t sn;
		bool fc_seen;
		uint8_t bs;
		unsigned block_left;
		uint32_t stmin_us;
		unsigned wft;
		int64_t deadline; /* N_Bs in TX_WAIT_FC, next CF time in TX_SEND_CF */
		bool pending;     /* a frame the link refused, to retry */
		enum frame_kind pending_kind;
		struct bd_frame frame;
		int64_t as_deadline, retry_at;
	} tx;

	struct {
		struct rx r;
		bool fc_pending;
		bool fc_ovflw;
		struct bd_frame fc;
		int64_t ar_deadline, retry_at;
	} rx;
};

void isotp_config_init(struct isotp_config *c, uint32_t tx_id, uint32_t rx_id)
{
	*c = (struct isotp_config){
		.tx_id = tx_id,
		.rx_id = rx_id,
		.tx_ext_id = tx_id > 0x7ff,
		.rx_ext_id = rx_id > 0x7ff,
		.addressing = ISOTP_ADDRESSING_NORMAL,
		.tx_pad = -1,
	};
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

int isotp_new(const struct isotp_config *cfg, const struct isotp_ops *ops, void *userdata,
	      struct isotp **ret)
{
	struct isotp *tp;

	if (!cfg || !ops || !ops->send_frame || !ret)
		return -EINVAL;
	if ((unsigned)cfg->addressing >= ISOTP_ADDRESSING_MAX)
		return -EINVAL;
	if (cfg->tx_id > (cfg->tx_ext_id ? 0x1fffffffu : 0x7ffu) ||
	    cfg->rx_id > (cfg->rx_ext_id ? 0x1fffffffu : 0x7ffu))
		return -EINVAL;
	if (cfg->tx_pad > 0xff || cfg->tx_pad < -1)
		return -EINVAL;
	if (cfg->tx_dl && (cfg->tx_dl < 8 || !is_fd_len(cfg->tx_dl) || (!cfg->fd && cfg->tx_dl != 8)))
		return -EINVAL;

	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->cfg = *cfg;
	tp->ops = *ops;
	tp->userdata = userdata;
	tp->ae = addr_len(cfg->addressing);
	tp->tx_dl = cfg->tx_dl ? cfg->tx_dl : (cfg->fd ? 64 : 8);
	tp->cfg.rx_max = or_default(cfg->rx_max, ISOTP_PDU_MAX_12BIT);
	tp->cfg.tx_max = or_default(cfg->tx_max, ISOTP_PDU_MAX_12BIT);
	tp->cfg.n_as_us = or_default(cfg->n_as_us, ISOTP_DEFAULT_TIMEOUT_US);
	tp->cfg.n_ar_us = or_default(cfg->n_ar_us, ISOTP_DEFAULT_TIMEOUT_US);
	tp->cfg.n_bs_us = or_default(cfg->n_bs_us, ISOTP_DEFAULT_TIMEOUT_US);
	tp->cfg.n_cr_us = or_default(cfg->n_cr_us, ISOTP_DEFAULT_TIMEOUT_US);
	/* A SF can always be received (up to 62 bytes) even with a tiny rx_max. */
	tp->rx.r.cap = tp->cfg.rx_max;
	tp->rx.r.buf = malloc(tp->cfg.rx_max > 64 ? tp->cfg.rx_max : 64);
	tp->tx.buf = malloc(tp->cfg.tx_max);
	if (!tp->rx.r.buf || !tp->tx.buf) {
		isotp_free(tp);
		return -ENOMEM;
	}
	*ret = tp;
	return 0;
}

struct isotp *isotp_free(struct isotp *tp)
{
	if (!tp)
		return NULL;
	free(tp->rx.r.buf);
	free(tp->tx.buf);
	free(tp);
	return NULL;
}

/* Sets id/flags and the final length: padded to 8 when padding is on (9.4.2.1), and in
 * CAN FD rounded up to the next valid DLC length with the pad byte, 0xCC when padding is
 * off (9.4.2.2 mandates padding there and recommends 0xCC). */
static void finish_frame(const struct isotp *tp, struct bd_frame *f, unsigned used)
{
	unsigned len = used;
	uint8_t pad;

	f->id = tp->cfg.tx_id;
	f->flags = (uint8_t)((tp->cfg.tx_ext_id ? BD_FRAME_EXT : 0) |
			     (tp->cfg.fd ? BD_FRAME_FD | (tp->cfg.fd_brs ? BD_FRAME_BRS : 0) : 0));
	if (len <= 8) {
		if (tp->cfg.tx_pad >= 0)
			len = 8;
		pad = (uint8_t)tp->cfg.tx_pad;
	} else {
		len = bd_frame_round_len((uint8_t)len);
		pad = tp->cfg.tx_pad >= 0 ? (uint8_t)tp->cfg.tx_pad : 0xcc;
	}
	if (len > used)
		memset(f->data + used, pad, len - used);
	f->len = (uint8_t)len;
}

static unsigned put_addr(const struct isotp *tp, struct bd_frame *f)
{
	if (tp->ae)
		f->data[0] = tp->cfg.tx_addr;
	return tp->ae;
}

static void tx_reset(struct isotp *tp)
{
	tp->tx.state = TX_IDLE;
	tp->tx.pending = false;
}

static void tx_finish(struct isotp *tp, enum isotp_n_result r)
{
	tx_reset(tp);
	if (tp->ops.sent)
		tp->ops.sent(tp->userdata, r);
}

static void rx_fail(struct isotp *tp, enum isotp_n_result r)
{
	size_t len = tp->rx.r.len;

	tp->rx.r.active = false;
	tp->rx.fc_pending = false;
	if (tp->ops.received)
		tp->ops.received(tp->userdata, r, NULL, len);
}

/* What follows once a tx frame is on its way. */
static void tx_frame_accepted(struct isotp *tp, enum frame_kind kind, int64_t now)
{
	tp->tx.pending = false;
	switch (kind) {
	case KIND_SF:
		tx_finish(tp, ISOTP_N_OK);
		return;
	case KIND_FF:
		tp->tx.state = TX_WAIT_FC;
		tp->tx.deadline = now + tp->cfg.n_bs_us;
		return;
	case KIND_CF:
		if (tp->tx.idx >= tp->tx.len) {
			tx_finish(tp, ISOTP_N_OK);
			return;
		}
		if (tp->tx.bs && --tp->tx.block_left == 0) {
			/* 9.6.5.4: after BS consecutive frames the sender waits for the next FC. */
			tp->tx.state = TX_WAIT_FC;
			tp->tx.deadline = now + tp->cfg.n_bs_us;
			return;
		}
		tp->tx.state = TX_SEND_CF;
		tp->tx.deadline = now + tp->tx.stmin_us;
		return;
	}
}

/* Offers tp->tx.frame to the link. Returns 0 when accepted or queued for retry, -errno
 * when the link failed hard (the caller ends the transfer). */
static int tx_emit(struct isotp *tp, enum frame_kind kind, int64_t now)
{
	int r = tp->ops.send_frame(tp->userdata, &tp->tx.frame);

	if (r == -EAGAIN || r == -ENOBUFS) {
		if (!tp->tx.pending) {
			tp->tx.pending = true;
			tp->tx.pending_kind = kind;
			/* N_As: time for the link to transmit the frame (Table 16). */
			tp->tx.as_deadline = now + tp->cfg.n_as_us;
		}
		tp->tx.retry_at = now + RETRY_US;
		return 0;
	}
	if (r < 0)
		return r;
	tx_frame_accepted(tp, kind, now);
	return 0;
}

static void build_cf(struct isotp *tp)
{
	struct bd_frame *f = &tp->tx.frame;
	unsigned o = put_addr(tp, f);
	uint32_t room = tp->tx_dl - tp->ae - 1u, left = tp->tx.len - tp->tx.idx;
	uint32_t take = left < room ? left : room;

	f->data[o++] = (uint8_t)(PCI_CF << 4 | tp->tx.sn);
	memcpy(f->data + o, tp->tx.buf + tp->tx.idx, take);
	tp->tx.idx += take;
	tp->tx.sn = (tp->tx.sn + 1) & 0x0f;
	finish_frame(tp, f, o + take);
}

/* Sends every CF that is due now (STmin 0 sends a whole block in one go). */
static void tx_send_due_cfs(struct isotp *tp, int64_t now)
{
	while (tp->tx.state == TX_SEND_CF && !tp->tx.pending && tp->tx.deadline <= now) {
		int r;

		build_cf(tp);
		r = tx_emit(tp, KIND_CF, now);
		if (r < 0) {
			tx_finish(tp, ISOTP_N_ERROR);
			return;
		}
	}
}

int isotp_send(struct isotp *tp, const uint8_t *pdu, size_t len, int64_t now_us)
{
	struct bd_frame *f;
	unsigned o;
	enum frame_kind kind;
	int r;

	if (!tp || (!pdu && len))
		return -EINVAL;
	if (tp->tx.state != TX_IDLE || tp->tx.pending)
		return -EBUSY;
	if (len == 0 || len > tp->cfg.tx_max)
		return -EMSGSIZE;

	memcpy(tp->tx.buf, pdu, len);
	tp->tx.len = (uint32_t)len;
	tp->tx.fc_seen = false;
	tp->tx.wft = 0;
	f = &tp->tx.frame;
	o = put_addr(tp, f);

	if (len <= 7 - tp->ae) {
		/* 9.6.2.1: SF with the length in the low nibble. */
		f->data[o++] = (uint8_t)(PCI_SF << 4 | len);
		memcpy(f->data + o, pdu, len);
		finish_frame(tp, f, o + (unsigned)len);
		kind = KIND_SF;
	} else if (tp->cfg.fd && tp->tx_dl > 8 && len <= tp->tx_dl - 2u - tp->ae) {
		/* 9.6.2.1 Table 10: CAN FD SF escape, SF_DL in the second byte. */
		f->data[o++] = PCI_SF << 4;
		f->data[o++] = (uint8_t)len;
		memcpy(f->data + o, pdu, len);
		finish_frame(tp, f, o + (unsigned)len);
		kind = KIND_SF;
	} else {
		uint32_t take;

		if (len <= ISOTP_PDU_MAX_12BIT) {
			f->data[o++] = (uint8_t)(PCI_FF << 4 | len >> 8);
			f->data[o++] = (uint8_t)len;
		} else {
			/* 9.6.3.2: FF_DL escape for PDUs above 4095 bytes. */
			f->data[o++] = PCI_FF << 4;
			f->data[o++] = 0;
			f->data[o++] = (uint8_t)(len >> 24);
			f->data[o++] = (uint8_t)(len >> 16);
			f->data[o++] = (uint8_t)(len >> 8);
			f->data[o++] = (uint8_t)len;
		}
		take = tp->tx_dl - o;
		memcpy(f->data + o, pdu, take);
		finish_frame(tp, f, tp->tx_dl);
		tp->tx.idx = take;
		tp->tx.sn = 1;
		kind = KIND_FF;
		/* So that isotp_tx_busy() is true while the FF waits for the link. */
		tp->tx.state = TX_WAIT_FC;
		tp->tx.deadline = INT64_MAX;
	}
	r = tx_emit(tp, kind, now_us);
	if (r < 0) {
		tx_reset(tp);
		return r;
	}
	return 0;
}

void isotp_cancel_send(struct isotp *tp)
{
	if (tp)
		tx_reset(tp);
}

/* Sends our flow control for the reception in progress (or OVFLW for a refused FF). */
static void rx_send_fc(struct isotp *tp, enum isotp_flow_status fs, int64_t now)
{
	struct bd_frame *f = &tp->rx.fc;
	unsigned o = put_addr(tp, f);
	int r;

	f->data[o++] = (uint8_t)(PCI_FC << 4 | fs);
	f->data[o++] = tp->cfg.bs;
	f->data[o++] = tp->cfg.stmin;
	finish_frame(tp, f, o);
	tp->rx.fc_ovflw = fs == ISOTP_FS_OVFLW;

	r = tp->ops.send_frame(tp->userdata, f);
	if (r == -EAGAIN || r == -ENOBUFS) {
		if (!tp->rx.fc_pending) {
			tp->rx.fc_pending = true;
			/* N_Ar: time for the link to transmit our FC (Table 16). */
			tp->rx.ar_deadline = now + tp->cfg.n_ar_us;
		}
		tp->rx.retry_at = now + RETRY_US;
		return;
	}
	tp->rx.fc_pending = false;
	if (r < 0) {
		if (!tp->rx.fc_ovflw)
			rx_fail(tp, ISOTP_N_ERROR);
		return;
	}
	/* N_Cr runs from the FC we sent to the next CF. */
	if (!tp->rx.fc_ovflw)
		tp->rx.r.deadline = now + tp->cfg.n_cr_us;
}

static void on_fc(struct isotp *tp, const uint8_t *p, size_t n, int64_t now)
{
	/* 9.8.3: an FC while not waiting for one is ignored; so is one too short. */
	if (tp->tx.state != TX_WAIT_FC || tp->tx.pending || n < 3)
		return;
	switch (p[0] & 0x0f) {
	case ISOTP_FS_CTS:
		/* BS and STmin are taken from the first FC of a transfer and kept, as
		 * net/can/isotp.c does (9.6.5.1: the values shall not change within one
		 * segmented message). */
		if (!tp->tx.fc_seen) {
			tp->tx.bs = p[1];
			tp->tx.stmin_us = isotp_stmin_to_us(p[2]);
			tp->tx.fc_seen = true;
		}
		tp->tx.block_left = tp->tx.bs;
		tp->tx.wft = 0;
		tp->tx.state = TX_SEND_CF;
		tp->tx.deadline = now; /* the first CF of a block goes out at once */
		tx_send_due_cfs(tp, now);
		return;
	case ISOTP_FS_WAIT:
		/* 9.6.5.2: WAIT restarts N_Bs; N_WFTmax bounds how many we accept. */
		tp->tx.wft++;
		if (tp->cfg.wftmax && tp->tx.wft > tp->cfg.wftmax) {
			tx_finish(tp, ISOTP_N_WFT_OVRN);
			return;
		}
		tp->tx.deadline = now + tp->cfg.n_bs_us;
		return;
	case ISOTP_FS_OVFLW:
		tx_finish(tp, ISOTP_N_BUFFER_OVFLW);
		return;
	default:
		/* 9.6.5.2: reserved flow status -> abort with N_INVALID_FS. */
		tx_finish(tp, ISOTP_N_INVALID_FS);
		return;
	}
}

int isotp_on_frame(struct isotp *tp, const struct bd_frame *f, int64_t now_us)
{
	const uint8_t *p;
	size_t n, prev_len;
	bool unexp;
	enum rx_verdict v;

	if (!tp || !f)
		return -EINVAL;
	if (!id_matches(f, tp->cfg.rx_id, tp->cfg.rx_ext_id) || f->len > BD_FRAME_MAX_DATA)
		return 0;
	if (tp->ae && (f->len < 1 || f->data[0] != tp->cfg.rx_addr))
		return 0;
	p = f->data + tp->ae;
	n = f->len - tp->ae;
	if (n < 1)
		return 1;

	if (p[0] >> 4 == PCI_FC) {
		on_fc(tp, p, n, now_us);
		return 1;
	}

	prev_len = tp->rx.r.len;
	v = rx_feed(&tp->rx.r, p, n, f->len, tp->ae, &unexp);
	if (unexp) {
		tp->rx.fc_pending = false;
		if (tp->ops.received)
			tp->ops.received(tp->userdata, ISOTP_N_UNEXP_PDU, NULL, prev_len);
	}
	switch (v) {
	case RXV_IGNORE:
		break;
	case RXV_SF:
		if (tp->ops.received)
			tp->ops.received(tp->userdata, ISOTP_N_OK, tp->rx.r.buf, tp->rx.r.len);
		break;
	case RXV_FF_OVFLW:
		/* 9.6.5.2: FF_DL larger than our buffer: FC OVFLW, no reception. */
		rx_send_fc(tp, ISOTP_FS_OVFLW, now_us);
		if (tp->ops.received)
			tp->ops.received(tp->userdata, ISOTP_N_BUFFER_OVFLW, NULL, tp->rx.r.len);
		break;
	case RXV_FF:
		if (tp->ops.first_frame)
			tp->ops.first_frame(tp->userdata, tp->rx.r.len);
		tp->rx.r.deadline = now_us + tp->cfg.n_cr_us;
		rx_send_fc(tp, ISOTP_FS_CTS, now_us);
		break;
	case RXV_CF_MORE:
		tp->rx.r.deadline = now_us + tp->cfg.n_cr_us;
		if (tp->cfg.bs && ++tp->rx.r.block == tp->cfg.bs) {
			tp->rx.r.block = 0;
			rx_send_fc(tp, ISOTP_FS_CTS, now_us);
		}
		break;
	case RXV_CF_DONE:
		tp->rx.fc_pending = false;
		if (tp->ops.received)
			tp->ops.received(tp->userdata, ISOTP_N_OK, tp->rx.r.buf, tp->rx.r.len);
		break;
	case RXV_WRONG_SN:
		/* 9.6.4.3: wrong SN aborts the reception with N_WRONG_SN. */
		rx_fail(tp, ISOTP_N_WRONG_SN);
		break;
	}
	return 1;
}

void isotp_poll(struct isotp *tp, int64_t now_us)
{
	if (!tp)
		return;

	/* Receiver: our FC still waiting for the link, then N_Cr. */
	if (tp->rx.fc_pending && now_us >= tp->rx.retry_at) {
		int r = tp->ops.send_frame(tp->userdata, &tp->rx.fc);
		if (r == 0) {
			tp->rx.fc_pending = false;
			if (!tp->rx.fc_ovflw)
				tp->rx.r.deadline = now_us + tp->cfg.n_cr_us;
		} else if (r != -EAGAIN && r != -ENOBUFS) {
			tp->rx.fc_pending = false;
			if (!tp->rx.fc_ovflw && tp->rx.r.active)
				rx_fail(tp, ISOTP_N_ERROR);
		} else if (now_us >= tp->rx.ar_deadline) {
			tp->rx.fc_pending = false;
			if (!tp->rx.fc_ovflw && tp->rx.r.active)
				rx_fail(tp, ISOTP_N_TIMEOUT_A);
		} else {
			tp->rx.retry_at = now_us + RETRY_US;
		}
	}
	if (tp->rx.r.active && !tp->rx.fc_pending && now_us >= tp->rx.r.deadline)
		rx_fail(tp, ISOTP_N_TIMEOUT_CR);

	/* Sender: refused frame, N_Bs, STmin pacing. */
	if (tp->tx.pending && now_us >= tp->tx.retry_at) {
		enum frame_kind kind = tp->tx.pending_kind;
		int r = tp->ops.send_frame(tp->userdata, &tp->tx.frame);
		if (r == 0) {
			tx_frame_accepted(tp, kind, now_us);
		} else if (r != -EAGAIN && r != -ENOBUFS) {
			tx_finish(tp, ISOTP_N_ERROR);
		} else if (now_us >= tp->tx.as_deadline) {
			tx_finish(tp, ISOTP_N_TIMEOUT_A);
		} else {
			tp->tx.retry_at = now_us + RETRY_US;
		}
	}
	if (tp->tx.pending)
		return;
	switch (tp->tx.state) {
	case TX_IDLE:
		break;
	case TX_WAIT_FC:
		if (now_us >= tp->tx.deadline)
			tx_finish(tp, ISOTP_N_TIMEOUT_BS);
		break;
	case TX_SEND_CF:
		tx_send_due_cfs(tp, now_us);
		break;
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t isotp_next_deadline(const struct isotp *tp)
{
	int64_t d = INT64_MAX;

	if (!tp)
		return d;
	if (tp->rx.fc_pending)
		d = min64(d, min64(tp->rx.retry_at, tp->rx.ar_deadline));
	else if (tp->rx.r.active)
		d = min64(d, tp->rx.r.deadline);
	if (tp->tx.pending)
		d = min64(d, min64(tp->tx.retry_at, tp->tx.as_deadline));
	else if (tp->tx.state != TX_IDLE)
		d = min64(d, tp->tx.deadline);
	return d;
}

bool isotp_tx_busy(const struct isotp *tp)
{
	return tp && (tp->tx.state != TX_IDLE || tp->tx.pending);
}

bool isotp_rx_busy(const struct isotp *tp)
{
	return tp && tp->rx.r.active;
}

/* ---------------------------------------------------------------------------------- */
/* Passive observer. */

struct isotp_observer {
	struct isotp_observer_config cfg;
	struct isotp_observer_ops ops;
	void *userdata;
	unsigned ae;
	struct {
		struct rx r;
		uint8_t bs; /* from the first FC of the other side */
		bool fc_seen;
	} dir[ISOTP_DIR_MAX];
};

void isotp_observer_config_init(struct isotp_observer_config *c, uint32_t req_id, uint32_t resp_id)
{
	*c = (struct isotp_observer_config){
		.req_id = req_id,
		.resp_id = resp_id,
		.ext_ids = req_id > 0x7ff || resp_id > 0x7ff,
		.addressing = ISOTP_ADDRESSING_NORMAL,
	};
}

int isotp_observer_new(const struct isotp_observer_config *cfg, const struct isotp_observer_ops *ops,
		       void *userdata, struct isotp_observer **ret)
{
	struct isotp_observer *o;

	if (!cfg || !ops || !ret || (unsigned)cfg->addressing >= ISOTP_ADDRESSING_MAX)
		return -EINVAL;
	/* Same id both ways works only when the address bytes tell the directions apart. */
	if (cfg->req_id == cfg->resp_id &&
	    (cfg->addressing == ISOTP_ADDRESSING_NORMAL || cfg->req_addr == cfg->resp_addr))
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->cfg = *cfg;
	o->ops = *ops;
	o->userdata = userdata;
	o->ae = addr_len(cfg->addressing);
	o->cfg.max_pdu = or_default(cfg->max_pdu, ISOTP_PDU_MAX_12BIT);
	o->cfg.n_cr_us = or_default(cfg->n_cr_us, ISOTP_DEFAULT_TIMEOUT_US);
	o->cfg.n_bs_us = or_default(cfg->n_bs_us, ISOTP_DEFAULT_TIMEOUT_US);
	for (int d = 0; d < ISOTP_DIR_MAX; d++) {
		o->dir[d].r.cap = o->cfg.max_pdu;
		o->dir[d].r.buf = malloc(o->cfg.max_pdu > 64 ? o->cfg.max_pdu : 64);
		if (!o->dir[d].r.buf) {
			isotp_observer_free(o);
			return -ENOMEM;
		}
	}
	*ret = o;
	return 0;
}

struct isotp_observer *isotp_observer_free(struct isotp_observer *o)
{
	if (!o)
		return NULL;
	for (int d = 0; d < ISOTP_DIR_MAX; d++)
		free(o->dir[d].r.buf);
	free(o);
	return NULL;
}

static void obs_fail(struct isotp_observer *o, enum isotp_dir d, enum isotp_n_result r, int64_t t)
{
	struct rx *rx = &o->dir[d].r;
	bool kept = rx->idx <= rx->cap && rx->idx > 0;

	rx->active = false;
	if (o->ops.error)
		o->ops.error(o->userdata, d, r, kept ? rx->buf : NULL, rx->idx, rx->len, t);
}

void isotp_observer_poll(struct isotp_observer *o, int64_t now_us)
{
	if (!o)
		return;
	for (int d = 0; d < ISOTP_DIR_MAX; d++) {
		struct rx *rx = &o->dir[d].r;
		if (rx->active && now_us > rx->deadline)
			obs_fail(o, (enum isotp_dir)d, rx->wait_fc ? ISOTP_N_TIMEOUT_BS : ISOTP_N_TIMEOUT_CR,
				 rx->deadline);
	}
}

int64_t isotp_observer_next_deadline(const struct isotp_observer *o)
{
	int64_t d = INT64_MAX;

	if (!o)
		return d;
	for (int i = 0; i < ISOTP_DIR_MAX; i++)
		if (o->dir[i].r.active)
			d = min64(d, o->dir[i].r.deadline);
	return d;
}

/* An FC seen on the other direction's id steers the reassembly it controls. */
static void obs_fc(struct isotp_observer *o, enum isotp_dir d, const uint8_t *p, size_t n, int64_t t)
{
	struct rx *rx = &o->dir[d].r;

	if (!rx->active || n < 3)
		return;
	switch (p[0] & 0x0f) {
	case ISOTP_FS_CTS:
		if (!o->dir[d].fc_seen) {
			o->dir[d].bs = p[1];
			o->dir[d].fc_seen = true;
		}
		rx->wait_fc = false;
		rx->block = 0;
		rx->deadline = t + o->cfg.n_cr_us;
		return;
	case ISOTP_FS_WAIT:
		rx->wait_fc = true;
		rx->deadline = t + o->cfg.n_bs_us;
		return;
	case ISOTP_FS_OVFLW:
		obs_fail(o, d, ISOTP_N_BUFFER_OVFLW, t);
		return;
	default:
		obs_fail(o, d, ISOTP_N_INVALID_FS, t);
		return;
	}
}

int isotp_observer_feed(struct isotp_observer *o, const struct bd_frame *f, int64_t t_us)
{
	enum isotp_dir d;
	const uint8_t *p;
	size_t n;
	bool unexp;
	struct rx *rx;
	size_t prev_len, prev_got;

	if (!o || !f)
		return -EINVAL;
	if (f->len > BD_FRAME_MAX_DATA)
		return 0;
	if (id_matches(f, o->cfg.req_id, o->cfg.ext_ids) &&
	    (!o->ae || (f->len >= 1 && f->data[0] == o->cfg.req_addr)))
		d = ISOTP_DIR_REQUEST;
	else if (id_matches(f, o->cfg.resp_id, o->cfg.ext_ids) &&
		 (!o->ae || (f->len >= 1 && f->data[0] == o->cfg.resp_addr)))
		d = ISOTP_DIR_RESPONSE;
	else
		return 0;

	/* Time moves with the capture: report what expired before this frame. */
	isotp_observer_poll(o, t_us);

	p = f->data + o->ae;
	n = f->len - o->ae;
	if (n < 1)
		return 1;
	if (p[0] >> 4 == PCI_FC) {
		obs_fc(o, d == ISOTP_DIR_REQUEST ? ISOTP_DIR_RESPONSE : ISOTP_DIR_REQUEST, p, n, t_us);
		return 1;
	}

	rx = &o->dir[d].r;
	prev_len = rx->len;
	prev_got = rx->idx;
	switch (rx_feed(rx, p, n, f->len, o->ae, &unexp)) {
	case RXV_IGNORE:
		break;
	case RXV_SF:
		if (unexp && o->ops.error)
			o->ops.error(o->userdata, d, ISOTP_N_UNEXP_PDU, NULL, prev_got, prev_len, t_us);
		if (o->ops.pdu)
			o->ops.pdu(o->userdata, d, rx->buf, rx->len, t_us, t_us);
		break;
	case RXV_FF:
		if (unexp && o->ops.error)
			o->ops.error(o->userdata, d, ISOTP_N_UNEXP_PDU, NULL, prev_got, prev_len, t_us);
		o->dir[d].fc_seen = false;
		rx->t_first = t_us;
		rx->wait_fc = true;
		rx->deadline = t_us + o->cfg.n_bs_us;
		break;
	case RXV_FF_OVFLW:
		if (unexp && o->ops.error)
			o->ops.error(o->userdata, d, ISOTP_N_UNEXP_PDU, NULL, prev_got, prev_len, t_us);
		obs_fail(o, d, ISOTP_N_BUFFER_OVFLW, t_us);
		break;
	case RXV_CF_MORE:
		rx->wait_fc = false; /* a CF means the FC was sent even if the capture missed it */
		rx->deadline = t_us + o->cfg.n_cr_us;
		if (o->dir[d].bs && ++rx->block == o->dir[d].bs) {
			rx->wait_fc = true;
			rx->deadline = t_us + o->cfg.n_bs_us;
		}
		break;
	case RXV_CF_DONE:
		if (o->ops.pdu)
			o->ops.pdu(o->userdata, d, rx->buf, rx->len, rx->t_first, t_us);
		break;
	case RXV_WRONG_SN:
		obs_fail(o, d, ISOTP_N_WRONG_SN, t_us);
		break;
	}
	return 1;
}
