/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * obd: SAE J1979 / ISO 15031-5 services used by bodydiag, over ISO 15765-4 (OBD on CAN):
 * mode 01 PIDs and their support bitmaps, mode 09 PID 02 VIN, modes 03/07/0A DTC lists,
 * and a collector for the answers of several ECUs to one functional request (0x7DF).
 * Pure parsing: outcomes are data (enum obd_result in each result struct).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ISO 15765-4:2016 6.3: functional request id (11-bit and 29-bit). */
#define OBD_FUNCTIONAL_ID 0x7dfu
#define OBD_FUNCTIONAL_ID_29 0x18db33f1u
/* Physical request ids 0x7E0-0x7E7, responses 0x7E8-0x7EF (ECU n: 0x7E0+n / 0x7E8+n). */
#define OBD_REQUEST_ID_BASE 0x7e0u
#define OBD_RESPONSE_ID_BASE 0x7e8u
/* ISO 15765-4:2016 Table 6: P2CAN_max for OBD is 50 ms; after 0x78, P2*CAN is 5000 ms. */
#define OBD_P2_US 50000u
#define OBD_P2STAR_US 5000000u

enum obd_mode {
	OBD_MODE_CURRENT_DATA = 0x01,
	OBD_MODE_FREEZE_FRAME = 0x02,
	OBD_MODE_STORED_DTCS = 0x03,
	OBD_MODE_CLEAR_DTCS = 0x04,
	OBD_MODE_PENDING_DTCS = 0x07,
	OBD_MODE_VEHICLE_INFO = 0x09,
	OBD_MODE_PERMANENT_DTCS = 0x0a,
	OBD_MODE_MAX,
};

enum obd_result {
	OBD_RESULT_OK,
	OBD_RESULT_NEGATIVE,        /* 0x7F mode NRC */
	OBD_RESULT_TRUNCATED,
	OBD_RESULT_INVALID_LENGTH,
	OBD_RESULT_WRONG_MODE,      /* response to another mode / not a response */
	OBD_RESULT_WRONG_PID,       /* PID / InfoType other than requested */
	OBD_RESULT_UNKNOWN_PID,     /* PID of unknown length in a multi-PID response */
	OBD_RESULT_INVALID_DATA,    /* e.g. VIN with characters ISO 3779 does not allow */
	OBD_RESULT_MAX,
};

const char *obd_result_name(enum obd_result r);

/* Builds a request: mode 01/02 with 1-6 PIDs (ISO 15765-4 allows 6 per request; mode 02
 * takes PID + frame number pairs, pass them flat), mode 09 with one InfoType, modes
 * 03/04/07/0A without parameters. Returns 0, -EINVAL, -ENOBUFS. */
int obd_build_request(uint8_t mode, const uint8_t *pids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len);

/* ---- mode 01 ---- */
/* Data bytes of a mode 01 PID (SAE J1979 Appendix B), -1 when unknown. */
int obd_pid_data_len(uint8_t pid);
/* "vehicle speed", ... or NULL. */
const char *obd_pid_name(uint8_t pid);
/* Physical value of a PID with a linear scaling (0x04, 0x05, 0x0C, 0x0D, 0x0F, 0x11, 0x1F,
 * 0x21, 0x2F, 0x31, 0x42, 0x46, 0x5C, ...). Returns 0 and the value in the unit
 * obd_pid_unit() names, -ENOENT for PIDs without a scalar decode, -EINVAL on a wrong length. */
int obd_decode_pid(uint8_t pid, const uint8_t *data, size_t len, double *ret_value);
const char *obd_pid_unit(uint8_t pid);
/* PID 0x01 (monitor status since DTCs cleared): MIL on, and the count of emission DTCs. */
int obd_decode_monitor_status(const uint8_t *data, size_t len, bool *ret_mil, uint8_t *ret_dtc_count);

struct obd_pid_value {
	uint8_t pid;
	const uint8_t *data; /* points into the response */
	size_t len;
};
struct obd_mode01_response {
	enum obd_result result;
	uint8_t nrc;
	size_t n; /* PIDs written to out */
};
/* Splits a 0x41 response into PIDs (SAE J1979: {PID, data}*). A PID of unknown length is
 * accepted as the last one only. Returns 0 (see ret->result), -ENOBUFS, -EINVAL. */
int obd_parse_mode01(const uint8_t *resp, size_t len, struct obd_pid_value *out, size_t cap,
		     struct obd_mode01_response *ret);

/* Support bitmaps: PID 0x00 says which of 0x01-0x20 are supported, 0x20 which of
 * 0x21-0x40, ... bit 7 of the first byte = lowest PID (SAE J1979 Appendix A). */
struct obd_pid_support {
	uint8_t bits[32]; /* bit n set: PID n supported */
	uint8_t known;    /* bit k set: the bitmap of PID 0x20*k was read */
};
void obd_pid_support_init(struct obd_pid_support *s);
/* Records one support PID value. Returns 0, -EINVAL when v is not a support PID with 4
 * data bytes. */
int obd_pid_support_add(struct obd_pid_support *s, const struct obd_pid_value *v);
bool obd_pid_supported(const struct obd_pid_support *s, uint8_t pid);
/* The next support PID worth asking (0x00 first, then 0x20 when 0x20 is marked supported,
 * ...), or -1 when the chain is complete. */
int obd_pid_support_next(const struct obd_pid_support *s);

/* ---- mode 09 PID 02: VIN ---- */
struct obd_vin {
	enum obd_result result;
	uint8_t nrc;
	bool had_count;   /* the NumberOfDataItems byte (0x01) was present */
	char vin[18];     /* NUL-terminated; invalid characters shown as '?' */
};
/* Parses "49 02 01 <17 chars>" (ISO 15765-4 / J1979 on CAN) and "49 02 <17 chars>" (some
 * ECUs leave out the count byte), and tolerates leading 0x00 fill before the 17 characters. */
int obd_parse_vin(const uint8_t *resp, size_t len, struct obd_vin *ret);

/* ---- modes 03 / 07 / 0A: DTC lists ---- */
struct obd_dtc_list {
	enum obd_result result;
	uint8_t nrc;
	bool had_count;   /* CAN responses carry the number of DTCs first (ISO 15765-4) */
	size_t n;         /* DTCs written to out */
};
/* Parses a 0x43/0x47/0x4A response into 2-byte DTCs (format with dtc_format_obd()).
 * With the count byte (CAN) the PDU length is even; without it (K-line style, 0x0000
 * padding skipped) odd, so both are recognised. Returns 0 (see ret->result), -ENOBUFS. */
int obd_parse_dtcs(uint8_t mode, const uint8_t *resp, size_t len, uint16_t *out, size_t cap,
		   struct obd_dtc_list *ret);

/* ---- functional requests with several responders ---- */

/* When id is an OBD response id (0x7E8-0x7EF, or 29-bit 0x18DAF1xx) returns 0 and the
 * physical request id of that ECU (0x7E0-0x7E7 / 0x18DAxxF1); else -ENOENT. */
int obd_response_to_request_id(uint32_t id, bool ext, uint32_t *ret_request_id);

struct obd_responder {
	uint32_t id;          /* response CAN id */
	bool ext;
	uint32_t request_id;  /* its physical request id */
	unsigned n_pending;   /* 0x78 responses seen */
	bool final;           /* a final response arrived */
	const uint8_t *pdu;   /* last final response (owned by the collector) */
	size_t len;
};

struct obd_collector;

/* max_pdu: largest response kept per responder (0 = 4095). */
int obd_collector_new(size_t max_pdu, struct obd_collector **ret);
struct obd_collector *obd_collector_free(struct obd_collector *c);
static inline void obd_collector_freep(struct obd_collector **p)
{
	obd_collector_free(*p);
}
#define _obd_collector_cleanup_ __attribute__((cleanup(obd_collector_freep)))
/* Starts collecting answers to the request (its mode byte is kept) sent at now_us; the
 * window closes timeout_us later (0 = OBD_P2_US); a 0x78 from a responder keeps it open
 * for OBD_P2STAR_US. Forgets previous answers. */
int obd_collector_start(struct obd_collector *c, const uint8_t *req, size_t len, int64_t now_us,
			uint32_t timeout_us);
/* Offers a reassembled PDU from CAN id. Returns 1 when taken (an OBD response id and a
 * response to the request's mode), 0 when ignored, -ENOBUFS when the PDU is larger than
 * max_pdu, -E2BIG when more than 16 responders answered. */
int obd_collector_add(struct obd_collector *c, uint32_t id, bool ext, const uint8_t *pdu, size_t len,
		      int64_t now_us);
/* True when the window has closed at now_us. */
bool obd_collector_done(const struct obd_collector *c, int64_t now_us);
int64_t obd_collector_deadline(const struct obd_collector *c);
/* Responders in order of response id. */
size_t obd_collector_count(const struct obd_collector *c);
int obd_collector_get(const struct obd_collector *c, size_t i, struct obd_responder *ret);
