/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * isotp: ISO 15765-2 (ISO-TP) segmentation and reassembly as pure state machines.
 *
 * No sockets and no clock: frames come in through isotp_on_frame(), frames go out through
 * the caller's send_frame callback, time is the caller's monotonic microseconds (now_us),
 * and isotp_next_deadline() says when isotp_poll() must be called next (STmin pacing of
 * consecutive frames, N_As/N_Ar/N_Bs/N_Cr supervision). Outcomes are ISO 15765-2
 * N_Result values handed to callbacks as data, never -errno.
 *
 * struct isotp is one full-duplex link (one tx id, one rx id): it can send one PDU and
 * receive one PDU at the same time, as the standard allows.
 *
 * struct isotp_observer reassembles both directions of a conversation (request id /
 * response id) from captured frames and never sends anything: the passive decoder.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

/* Largest PDU ISO 15765-2:2016 can announce: FF_DL is 32 bits with the escape sequence. */
#define ISOTP_PDU_MAX_ESCAPE 0xffffffffu
/* Largest PDU with a 12-bit FF_DL (the classic limit). */
#define ISOTP_PDU_MAX_12BIT 4095u
/* Default timeouts, ISO 15765-2:2016 Table 16: N_As, N_Ar, N_Bs, N_Cr = 1000 ms. */
#define ISOTP_DEFAULT_TIMEOUT_US 1000000u

/* N_Result, ISO 15765-2:2016 8.3.7. */
enum isotp_n_result {
	ISOTP_N_OK,             /* service execution completed successfully */
	ISOTP_N_TIMEOUT_A,      /* N_As / N_Ar: a frame could not be handed to the link in time */
	ISOTP_N_TIMEOUT_BS,     /* N_Bs: no flow control from the receiver in time */
	ISOTP_N_TIMEOUT_CR,     /* N_Cr: no consecutive frame from the sender in time */
	ISOTP_N_WRONG_SN,       /* consecutive frame with an unexpected sequence number */
	ISOTP_N_INVALID_FS,     /* flow control with an invalid flow status */
	ISOTP_N_UNEXP_PDU,      /* SF or FF arrived while a reception was in progress */
	ISOTP_N_WFT_OVRN,       /* more FC WAIT frames than N_WFTmax */
	ISOTP_N_BUFFER_OVFLW,   /* receiver answered FF with FC OVFLW, or our buffer is too small */
	ISOTP_N_ERROR,          /* general error: the link refused a frame (-errno from send_frame) */
	ISOTP_N_RESULT_MAX,
};

/* "N_OK", "N_TIMEOUT_Bs", ... as the standard spells them; "?" for out-of-range values. */
const char *isotp_n_result_name(enum isotp_n_result r);

/* Addressing formats, ISO 15765-2:2016 10.3. Extended and mixed both put one address byte
 * (N_TA resp. N_AE) in front of the N_PCI of every frame; they differ in meaning only. */
enum isotp_addressing {
	ISOTP_ADDRESSING_NORMAL,
	ISOTP_ADDRESSING_EXTENDED,
	ISOTP_ADDRESSING_MIXED,
	ISOTP_ADDRESSING_MAX,
};

/* Flow status of a flow control frame, ISO 15765-2:2016 9.6.5.2. */
enum isotp_flow_status {
	ISOTP_FS_CTS = 0,
	ISOTP_FS_WAIT = 1,
	ISOTP_FS_OVFLW = 2,
	ISOTP_FS_MAX,
};

/* STmin byte as coded in a flow control frame -> microseconds, ISO 15765-2:2016 9.6.5.5:
 * 0x00-0x7F = 0-127 ms, 0xF1-0xF9 = 100-900 µs, reserved values = 127 ms (the sender
 * shall use the longest STmin). */
uint32_t isotp_stmin_to_us(uint8_t stmin);

struct isotp_config {
	uint32_t tx_id;               /* CAN id of frames we send */
	uint32_t rx_id;               /* CAN id of frames we receive */
	bool tx_ext_id;               /* tx_id is a 29-bit id */
	bool rx_ext_id;               /* rx_id is a 29-bit id */
	enum isotp_addressing addressing;
	uint8_t tx_addr;              /* extended/mixed: first byte of every frame we send */
	uint8_t rx_addr;              /* extended/mixed: first byte of frames for us */
	int tx_pad;                   /* pad byte for sent frames, -1 = no padding (classic CAN) */
	bool fd;                      /* send CAN FD frames */
	bool fd_brs;                  /* with the bit rate switch */
	uint8_t tx_dl;                /* TX_DL: 8, 12, 16, 20, 24, 32, 48 or 64; 0 = 8 classic / 64 FD */
	uint8_t bs;                   /* BS we send in our flow control (0 = no further FC) */
	uint8_t stmin;                /* STmin we send in our flow control, coded as on the wire */
	uint8_t wftmax;               /* FC WAIT frames we accept per transfer; 0 = no limit */
	uint32_t rx_max;              /* largest PDU we accept (FC OVFLW above); 0 = 4095 */
	uint32_t tx_max;              /* largest PDU isotp_send accepts; 0 = 4095 */
	uint32_t n_as_us, n_ar_us;    /* 0 = 1000 ms */
	uint32_t n_bs_us, n_cr_us;    /* 0 = 1000 ms */
};

/* Defaults: normal addressing, no padding, classic CAN, BS 0, STmin 0, timeouts 1 s. */
void isotp_config_init(struct isotp_config *c, uint32_t tx_id, uint32_t rx_id);

struct isotp_ops {
	/* Required. Hands one frame to the link. Return 0 when accepted, -EAGAIN (or -ENOBUFS)
	 * when the link is busy: the frame is offered again on the next isotp_poll() until
	 * N_As/N_Ar expires. Any other -errno ends the transfer with ISOTP_N_ERROR. */
	int (*send_frame)(void *userdata, const struct bd_frame *f);
	/* Optional. N_USData.indication: a PDU arrived completely (ISOTP_N_OK, pdu valid for the
	 * duration of the call) or a reception failed (pdu NULL, len = announced length). */
	void (*received)(void *userdata, enum isotp_n_result r, const uint8_t *pdu, size_t len);
	/* Optional. N_USData_FF.indication: a first frame announced a PDU of len bytes. */
	void (*first_frame)(void *userdata, size_t len);
	/* Optional. N_USData.confirm: the PDU given to isotp_send() was sent (ISOTP_N_OK) or the
	 * transfer ended with the given N_Result. */
	void (*sent)(void *userdata, enum isotp_n_result r);
};

struct isotp;

/* Creates a link. cfg and ops are copied. Returns 0, -EINVAL for an invalid configuration
 * (tx_dl not a CAN FD length, tx_dl > 8 without fd, ids out of range, no send_frame),
 * -ENOMEM. Callbacks may call isotp_send() (e.g. to answer a request) but not isotp_free(). */
int isotp_new(const struct isotp_config *cfg, const struct isotp_ops *ops, void *userdata,
	      struct isotp **ret);
/* Frees; accepts NULL; returns NULL. No callback is invoked. */
struct isotp *isotp_free(struct isotp *tp);
static inline void isotp_freep(struct isotp **p)
{
	isotp_free(*p);
}
/* struct isotp *tp _isotp_cleanup_ = NULL; frees on scope exit. */
#define _isotp_cleanup_ __attribute__((cleanup(isotp_freep)))

/* Starts sending a PDU (copied). Returns 0, -EBUSY when a transfer is in progress,
 * -EMSGSIZE when len is 0 or above tx_max, or -errno from send_frame for the first frame
 * (then nothing is in progress and no confirm follows). */
int isotp_send(struct isotp *tp, const uint8_t *pdu, size_t len, int64_t now_us);
/* Aborts a transfer in progress without a confirm. */
void isotp_cancel_send(struct isotp *tp);

/* Feeds one received frame. Returns 1 when the frame belonged to this link (id, and the
 * address byte with extended/mixed addressing), 0 when it did not. Frames that belong to
 * the link but are invalid (DLC too short, SF_DL 0, CF while idle) are ignored as ISO
 * 15765-2:2016 9.8 requires and still return 1. */
int isotp_on_frame(struct isotp *tp, const struct bd_frame *f, int64_t now_us);

/* Runs timers: sends consecutive frames whose STmin has elapsed, retries frames the link
 * refused, reports N_As/N_Ar/N_Bs/N_Cr timeouts. Call at isotp_next_deadline() or later. */
void isotp_poll(struct isotp *tp, int64_t now_us);

/* The earliest time isotp_poll() has work to do; INT64_MAX when idle. */
int64_t isotp_next_deadline(const struct isotp *tp);

bool isotp_tx_busy(const struct isotp *tp);
bool isotp_rx_busy(const struct isotp *tp);

/* ---- passive observer ---- */

enum isotp_dir {
	ISOTP_DIR_REQUEST,  /* frames on req_id (tester -> ECU) */
	ISOTP_DIR_RESPONSE, /* frames on resp_id (ECU -> tester) */
	ISOTP_DIR_MAX,
};

struct isotp_observer_config {
	uint32_t req_id, resp_id;
	bool ext_ids;                 /* both ids are 29-bit */
	enum isotp_addressing addressing;
	uint8_t req_addr, resp_addr;  /* extended/mixed: address byte on req_id / resp_id frames */
	uint32_t max_pdu;             /* largest PDU reassembled; 0 = 4095; above: error */
	uint32_t n_cr_us;             /* gap between CFs that ends a reassembly; 0 = 1000 ms */
	uint32_t n_bs_us;             /* wait for FC after FF or a block; 0 = 1000 ms */
};

void isotp_observer_config_init(struct isotp_observer_config *c, uint32_t req_id, uint32_t resp_id);

struct isotp_observer_ops {
	/* A PDU was reassembled. t_first_us: its SF/FF, t_last_us: its last frame. */
	void (*pdu)(void *userdata, enum isotp_dir dir, const uint8_t *pdu, size_t len,
		    int64_t t_first_us, int64_t t_last_us);
	/* A reassembly failed. got/len: bytes seen so far / bytes announced; partial holds
	 * them (NULL when nothing was kept). */
	void (*error)(void *userdata, enum isotp_dir dir, enum isotp_n_result r,
		      const uint8_t *partial, size_t got, size_t len, int64_t t_us);
};

struct isotp_observer;

/* Creates an observer (cfg and ops copied; the ops callbacks may be NULL). Returns 0, -EINVAL (same
 * id both ways without distinct address bytes), -ENOMEM. Two buffers of max_pdu bytes are
 * allocated here and nowhere else. */
int isotp_observer_new(const struct isotp_observer_config *cfg, const struct isotp_observer_ops *ops,
		       void *userdata, struct isotp_observer **ret);
struct isotp_observer *isotp_observer_free(struct isotp_observer *o);
static inline void isotp_observer_freep(struct isotp_observer **p)
{
	isotp_observer_free(*p);
}
#define _isotp_observer_cleanup_ __attribute__((cleanup(isotp_observer_freep)))

/* Feeds one captured frame with its time. Returns 1 when it belonged to the conversation
 * (either id), 0 otherwise. Flow control frames steer the other direction: FC OVFLW ends
 * it with N_BUFFER_OVFLW, FC WAIT extends its timeout. */
int isotp_observer_feed(struct isotp_observer *o, const struct bd_frame *f, int64_t t_us);
/* Reports reassemblies that timed out by now_us (call at the end of a capture with
 * INT64_MAX to flush). */
void isotp_observer_poll(struct isotp_observer *o, int64_t now_us);
int64_t isotp_observer_next_deadline(const struct isotp_observer *o);
