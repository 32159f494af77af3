/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * uds_server: the simulated BCM's diagnostic server (ISO 14229-1) over the model, and
 * the OBD-II answers (SAE J1979 mode 01 speed, mode 09 VIN) the car gives to functional
 * requests. Pure: a request PDU and the time go in, a response PDU comes out; ISO-TP
 * and sockets are the caller's (kernel CAN_ISOTP sockets in the simulator).
 *
 * Services (profiles/sim-2026.profile names the DIDs and DTCs):
 *   0x10 01/03 session control (02 -> NRC 0x12), P2 50 ms / P2* 5000 ms in the response
 *   0x3E 00 tester present (suppress bit honoured)
 *   0x19 01, 02, 04, 06, 0x0A read DTC information
 *   0x14 clear DTCs: all (0xFFFFFF) or one DTC; answered after 0x78 (EEPROM write)
 *   0x22 read DIDs, up to 8 per request
 *   0x2F 0xD101 trunk release output: 00 returnControlToECU, 03 shortTermAdjustment;
 *        extended session only (0x7F), refused at speed / out of P / in lockout (0x22)
 *   0x31 0x0201 BCM self-test: 01 start (answered after 0x78), 03 results
 *   0x27 01/02 security access: seed and key (key algorithm in the README); 0x31 0x0202
 *        (learn the trunk function on a fob) needs it (NRC 0x33 without)
 * Extended session and security fall back after S3 (5 s) without a request.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Largest response the server builds (0x19 0x0A of every DTC, VIN...). */
#define SIM_UDS_RESPONSE_MAX 512u

#define SIM_UDS_DID_OUTPUT 0xD101u
#define SIM_UDS_RID_SELFTEST 0x0201u
#define SIM_UDS_RID_FOB_LEARN 0x0202u
#define SIM_UDS_P2_MS 50u
#define SIM_UDS_P2STAR_MS 5000u
#define SIM_UDS_S3_MS 5000u

struct sim_uds_config {
	const char *vin;         /* 17 characters */
	const char *part_number; /* 10 characters (0xF187) */
	const char *serial;      /* 12 characters (0xF18C) */
};

struct sim_uds;

/* Fills the simulated car's identity. */
void sim_uds_config_init(struct sim_uds_config *cfg);
/*
 * Server over model m (which must outlive it). Returns 0 and *ret, -EINVAL when an
 * identity string has the wrong length, -ENOMEM.
 */
int sim_uds_new(struct sim_model *m, const struct sim_uds_config *cfg, struct sim_uds **ret);
/* Accepts NULL; returns NULL. */
struct sim_uds *sim_uds_free(struct sim_uds *u);

/*
 * One request to the BCM at now_us, physical (functional = false, 0x726) or functional
 * (functional = true; negative responses 0x11, 0x12, 0x31, 0x7E, 0x7F are then not
 * sent, as ISO 14229-1 requires). Writes the response into resp (cap >=
 * SIM_UDS_RESPONSE_MAX) and its length into *ret_len: 0 when nothing is to be sent.
 * A slow service answers 0x7F SID 0x78 now and the final response later through
 * sim_uds_poll(). Returns 0, -ENOBUFS (cap too small), -EINVAL (empty request).
 */
int sim_uds_request(struct sim_uds *u, int64_t now_us, bool functional, const uint8_t *req,
		    size_t len, uint8_t *resp, size_t cap, size_t *ret_len);

/*
 * Timers: a pending final response, the S3 session timeout. Writes a response when one
 * is due (*ret_len > 0), and *ret_next_us, when to poll again (INT64_MAX: nothing
 * pending). Returns 0 or -ENOBUFS.
 */
int sim_uds_poll(struct sim_uds *u, int64_t now_us, uint8_t *resp, size_t cap, size_t *ret_len,
		 int64_t *ret_next_us);

/* Current session: 0x01 default, 0x03 extended. */
uint8_t sim_uds_session(const struct sim_uds *u);

/* The key the tester must send for seed (security level 0x01). */
uint32_t sim_uds_key_for_seed(uint32_t seed);

/*
 * An OBD-II request (functional 0x7DF or physical 0x7E0) answered as 0x7E8: mode 01
 * PIDs 0x00 and 0x0D (speed), mode 09 PIDs 0x00 and 0x02 (VIN). Unsupported requests
 * get no answer (*ret_len 0), as J1979 ECUs do on functional requests. Returns 0,
 * -ENOBUFS, -EINVAL (empty).
 */
int sim_uds_obd_request(struct sim_uds *u, const uint8_t *req, size_t len, uint8_t *resp,
			size_t cap, size_t *ret_len);
