/* SPDX-License-Identifier: MIT */
/*
 * The simulator's UDS server, driven with requests built by lib/uds and its responses
 * parsed by lib/uds (so client and server agree on the wire), and every DID of
 * profiles/sim-2026.profile read and decoded with the profile's own signal definition.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/dbc.h"
#include "bodydiag/uds.h"
#include "config.h"
#include "model.h"
#include "uds_server.h"

#define MS 1000LL
#define S 1000000LL

struct rig {
	struct sim_model *m;
	struct sim_uds *u;
	int64_t now;
	uint8_t resp[SIM_UDS_RESPONSE_MAX];
	size_t len;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(sim_model_new(NULL, &r->m), 0);
	assert_int_equal(sim_uds_new(r->m, NULL, &r->u), 0);
	r->now = 500 * MS;
	assert_int_equal(sim_model_step(r->m, r->now), 0);
}

static void rig_finish(struct rig *r)
{
	sim_uds_free(r->u);
	sim_model_free(r->m);
}

static void advance(struct rig *r, int64_t dt)
{
	r->now += dt;
	assert_int_equal(sim_model_step(r->m, r->now), 0);
}

static size_t ask(struct rig *r, const uint8_t *req, size_t len)
{
	assert_int_equal(sim_uds_request(r->u, r->now, false, req, len, r->resp, sizeof(r->resp),
					 &r->len), 0);
	return r->len;
}

#define ASK(r, ...)                                                       \
	({                                                                \
		static const uint8_t req_[] = {__VA_ARGS__};              \
		ask(r, req_, sizeof(req_));                               \
	})

static void assert_nrc(const struct rig *r, uint8_t sid, uint8_t nrc)
{
	assert_int_equal(r->len, 3);
	assert_int_equal(r->resp[0], 0x7F);
	assert_int_equal(r->resp[1], sid);
	if (r->resp[2] != nrc)
		fail_msg("NRC 0x%02X (%s), want 0x%02X (%s)", r->resp[2], uds_nrc_name(r->resp[2]),
			 nrc, uds_nrc_name(nrc));
}

static void extended(struct rig *r)
{
	uint8_t req[8];
	size_t n;
	struct uds_session_response sr;

	assert_int_equal(uds_build_session_control(0x03, false, req, sizeof(req), &n), 0);
	ask(r, req, n);
	assert_int_equal(uds_parse_session_control(req, n, r->resp, r->len, &sr), 0);
	assert_int_equal(sr.r.result, UDS_RESULT_OK);
	assert_int_equal(sim_uds_session(r->u), 0x03);
}

static void sessions(void **state)
{
	struct rig r;
	uint8_t req[8];
	size_t n;
	struct uds_session_response sr;
	struct uds_response tp;

	rig_init(&r);
	assert_int_equal(uds_build_session_control(0x03, false, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_session_control(req, n, r.resp, r.len, &sr), 0);
	assert_int_equal(sr.r.result, UDS_RESULT_OK);
	assert_true(sr.has_timing);
	assert_int_equal(sr.p2_us, 50 * MS);
	assert_int_equal(sr.p2star_us, 5000 * MS);
	ASK(&r, 0x10, 0x02);
	assert_nrc(&r, 0x10, 0x12);
	ASK(&r, 0x10);
	assert_nrc(&r, 0x10, 0x13);
	ASK(&r, 0x10, 0x83); /* suppressPosRspMsgIndicationBit */
	assert_int_equal(r.len, 0);
	assert_int_equal(uds_build_tester_present(false, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_tester_present(req, n, r.resp, r.len, &tp), 0);
	assert_int_equal(tp.result, UDS_RESULT_OK);
	ASK(&r, 0x3E, 0x80);
	assert_int_equal(r.len, 0);
	ASK(&r, 0x3E, 0x01);
	assert_nrc(&r, 0x3E, 0x12);
	ASK(&r, 0x11, 0x01); /* ECU reset: not offered */
	assert_nrc(&r, 0x11, 0x11);
	/* S3: 5 s without a request ends the extended session. */
	{
		int64_t next;
		size_t len;
		assert_int_equal(sim_uds_poll(r.u, r.now, r.resp, sizeof(r.resp), &len, &next), 0);
		assert_int_equal(next, r.now + 5 * S);
		advance(&r, 5 * S);
		assert_int_equal(sim_uds_poll(r.u, r.now, r.resp, sizeof(r.resp), &len, &next), 0);
		assert_int_equal(len, 0);
		assert_int_equal(sim_uds_session(r.u), 0x01);
		assert_int_equal(next, INT64_MAX);
	}
	/* Functional requests: no negative answer of the "not supported" kind. */
	assert_int_equal(sim_uds_request(r.u, r.now, true, (const uint8_t *)"\x11\x01", 2, r.resp,
					 sizeof(r.resp), &r.len), 0);
	assert_int_equal(r.len, 0);
	assert_int_equal(sim_uds_request(r.u, r.now, true, (const uint8_t *)"\x3E\x00", 2, r.resp,
					 sizeof(r.resp), &r.len), 0);
	assert_int_equal(r.len, 2);
	assert_int_equal(sim_uds_request(r.u, r.now, false, r.resp, 0, r.resp, sizeof(r.resp),
					 &r.len), -EINVAL);
	assert_int_equal(sim_uds_request(r.u, r.now, false, req, n, r.resp, 8, &r.len), -ENOBUFS);
	rig_finish(&r);
}

static int did_len(void *userdata, uint16_t did)
{
	static const struct uds_len_entry e[] = {
		{0xD102, 2}, {0xD107, 2}, {0xF190, 17}, {0xD119, 1}, {0xD104, 1},
	};
	struct uds_len_table t = {e, sizeof(e) / sizeof(e[0])};
	return uds_len_table_lookup(&t, did);
}

static void read_dids(void **state)
{
	struct rig r;
	static const uint16_t dids[] = {0xD102, 0xD107, 0xF190, 0xD119};
	struct uds_did_value v[8];
	struct uds_response res;
	uint8_t req[32];
	size_t n, nv;

	rig_init(&r);
	assert_int_equal(uds_build_read_did(dids, 4, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_read_did(req, n, r.resp, r.len, did_len, NULL, v, 8, &nv, &res),
			 0);
	assert_int_equal(res.result, UDS_RESULT_OK);
	assert_int_equal(nv, 4);
	assert_int_equal(v[1].did, 0xD107);
	assert_int_equal(v[1].data[0] << 8 | v[1].data[1], 1240); /* 12.40 V */
	assert_memory_equal(v[2].data, "1BDSM2AT5TR000042", 17);
	assert_int_equal(v[3].data[0], 0x03); /* two fobs programmed */
	/* A mixed request leaves the unknown DID out; all unknown is 0x31. */
	ASK(&r, 0x22, 0xD1, 0x04, 0x12, 0x34);
	assert_int_equal(r.len, 4);
	assert_int_equal(r.resp[0], 0x62);
	ASK(&r, 0x22, 0x12, 0x34);
	assert_nrc(&r, 0x22, 0x31);
	ASK(&r, 0x22, 0xD1);
	assert_nrc(&r, 0x22, 0x13);
	ASK(&r, 0x22, 0xD1, 0, 0xD1, 1, 0xD1, 2, 0xD1, 3, 0xD1, 4, 0xD1, 5, 0xD1, 6, 0xD1, 7,
	    0xD1, 8);
	assert_nrc(&r, 0x22, 0x13);
	rig_finish(&r);
}

/* Expected value of a profile signal, from the model; NAN when not compared. */
static double expected(const struct sim_signals *s, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
		char type; /* d double, i int-sized enum/unsigned, b bool, u uint8 */
	} map[] = {
		{"TrunkActuatorCurrent", offsetof(struct sim_signals, actuator_current_a), 'd'},
		{"TrunkFuseVoltage", offsetof(struct sim_signals, fuse_v), 'd'},
		{"BatteryVoltage", offsetof(struct sim_signals, battery_v), 'd'},
		{"BcmSupplyVoltage", offsetof(struct sim_signals, bcm_supply_v), 'd'},
		{"VehicleSpeed", offsetof(struct sim_signals, speed_kmh), 'd'},
		{"TrunkInhibitReason", offsetof(struct sim_signals, inhibit), 'i'},
		{"GearPosition", offsetof(struct sim_signals, gear), 'i'},
		{"IgnitionState", offsetof(struct sim_signals, ignition), 'i'},
		{"RkeLastFobUsed", offsetof(struct sim_signals, last_fob), 'i'},
		{"FobCount", offsetof(struct sim_signals, fob_count), 'i'},
		{"RkeRssi", offsetof(struct sim_signals, rke_rssi_dbm), 'i'},
		{"TrunkAjar", offsetof(struct sim_signals, ajar), 'b'},
		{"ValetMode", offsetof(struct sim_signals, valet), 'b'},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const char *p = (const char *)s + map[i].off;
		if (strcmp(map[i].name, name) != 0)
			continue;
		switch (map[i].type) {
		case 'd':
			return *(const double *)(const void *)p;
		case 'i':
			return (double)*(const int *)(const void *)p;
		case 'b':
			return *(const bool *)(const void *)p;
		}
	}
	if (strncmp(name, "Fob", 3) == 0 && strstr(name, "Programmed"))
		return (s->fob_programmed_mask >> (name[3] - '1')) & 1;
	if (strncmp(name, "Fob", 3) == 0 && strstr(name, "TrunkEnabled"))
		return (s->fob_trunk_enabled_mask >> (name[3] - '1')) & 1;
	return NAN;
}

static void profile_dids(void **state)
{
	char path[4096], *text, *save = NULL;
	struct rig r;
	FILE *f;
	size_t n;
	unsigned dids = 0, compared = 0, did = 0, length = 0;

	rig_init(&r);
	/* Something non-trivial to read: a fob press, the output running, a fault. */
	assert_int_equal(sim_model_fault_add(r.m, SIM_FAULT_FOB_UNPROGRAMMED, NULL), 0);
	assert_int_equal(sim_model_press(r.m, SIM_BUTTON_FOB_TRUNK, 1, 1.0, 0), 0);
	advance(&r, 200 * MS);
	assert_true(sim_model_signals(r.m)->actuator_cmd);

	snprintf(path, sizeof(path), "%s/profiles/sim-2026.profile", BODYDIAG_SOURCE_ROOT);
	f = fopen(path, "re");
	assert_non_null(f);
	text = calloc(1, 1 << 20);
	assert_non_null(text);
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(n > 0);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "[did bcm 0x", 11) == 0) {
			uint8_t req[3];
			did = (unsigned)strtoul(line + 9, NULL, 16);
			req[0] = 0x22;
			req[1] = (uint8_t)(did >> 8);
			req[2] = (uint8_t)did;
			ask(&r, req, 3);
			if (r.len < 3 || r.resp[0] != 0x62)
				fail_msg("DID 0x%04X not served", did);
			dids++;
		} else if (strncmp(line, "length = ", 9) == 0 || strncmp(line, "ascii = ", 8) == 0) {
			length = (unsigned)strtoul(strchr(line, '=') + 2, NULL, 10);
			if (r.len - 3 != length)
				fail_msg("DID 0x%04X: %zu bytes, profile says %u", did, r.len - 3,
					 length);
		} else if (strncmp(line, "signal = ", 9) == 0) {
			struct dbc_signal *sg = NULL;
			struct dbc_value v;
			double want;
			assert_int_equal(dbc_signal_parse(line + 9, strlen(line + 9), NULL, &sg), 0);
			assert_int_equal(dbc_signal_decode(sg, r.resp + 3, r.len - 3, &v), 0);
			want = expected(sim_model_signals(r.m), dbc_signal_name(sg));
			if (!isnan(want)) {
				if (fabs(dbc_value_as_double(v) - want) > 0.011)
					fail_msg("DID 0x%04X %s: %g, model %g", did,
						 dbc_signal_name(sg), dbc_value_as_double(v), want);
				compared++;
			}
			dbc_signal_free(sg);
		}
	}
	assert_true(dids >= 30);
	assert_true(compared >= 18);
	free(text);
	rig_finish(&r);
}

static int snap_len(void *userdata, uint16_t did)
{
	return did == 0xD10C ? 1 : 2;
}

static int ext_len(void *userdata, uint16_t rec)
{
	return 1;
}

static void dtcs(void **state)
{
	struct rig r;
	uint8_t req[16];
	size_t n;
	struct uds_rdtci_response dr;
	struct uds_dtc_record rec;
	bool found = false;

	rig_init(&r);
	assert_int_equal(sim_model_fault_add(r.m, SIM_FAULT_HINGE_WIRING_OPEN, NULL), 0);
	advance(&r, 1 * S);

	assert_int_equal(uds_build_rdtci_status_mask(0x01, 0x09, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_rdtci(req, n, r.resp, r.len, &dr), 0);
	assert_int_equal(dr.r.result, UDS_RESULT_OK);
	assert_int_equal(dr.dtc_count, 1);
	assert_int_equal(dr.availability_mask, 0x7F);

	assert_int_equal(uds_build_rdtci_status_mask(0x02, 0xFF, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_rdtci(req, n, r.resp, r.len, &dr), 0);
	assert_int_equal(dr.r.result, UDS_RESULT_OK);
	for (size_t i = 0; i < dr.n_dtcs; i++) {
		assert_int_equal(uds_rdtci_dtc(&dr, i, &rec), 0);
		if (rec.dtc == 0x9A4013) {
			found = true;
			assert_int_equal(rec.status, 0x2F);
		}
	}
	assert_true(found);

	assert_int_equal(uds_build_rdtci(0x0A, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_rdtci(req, n, r.resp, r.len, &dr), 0);
	assert_int_equal(dr.n_dtcs, _SIM_DTC_MAX);

	/* Freeze frame of the first failure: the fuse was fine, no current. */
	assert_int_equal(uds_build_rdtci_dtc_record(0x04, 0x9A4013, 0xFF, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_rdtci(req, n, r.resp, r.len, &dr), 0);
	assert_int_equal(dr.r.result, UDS_RESULT_OK);
	assert_int_equal(dr.dtc, 0x9A4013);
	{
		struct uds_snapshot_did sd[16];
		size_t ns;
		enum uds_result res;
		bool fuse = false;
		assert_int_equal(uds_split_snapshots(dr.records, dr.records_len, snap_len, NULL, sd,
						     16, &ns, &res), 0);
		assert_int_equal(res, UDS_RESULT_OK);
		assert_int_equal(ns, 10); /* records 0x01 and 0x02, 5 DIDs each */
		for (size_t i = 0; i < ns; i++)
			if (sd[i].did == 0xD107) {
				fuse = true;
				assert_true((sd[i].data[0] << 8 | sd[i].data[1]) > 1200);
			}
		assert_true(fuse);
	}
	assert_int_equal(uds_build_rdtci_dtc_record(0x06, 0x9A4013, 0xFF, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_rdtci(req, n, r.resp, r.len, &dr), 0);
	{
		struct uds_ext_record er[8];
		size_t ne;
		enum uds_result res;
		assert_int_equal(uds_split_ext_records(dr.records, dr.records_len, ext_len, NULL, er,
						       8, &ne, &res), 0);
		assert_int_equal(ne, 3);
		assert_int_equal(er[0].number, 1);
		assert_int_equal(er[0].data[0], 1); /* occurrence */
		assert_int_equal(er[2].data[0], 1); /* failed cycles */
	}
	/* A DTC without snapshots yet: DTC and status only. */
	ASK(&r, 0x19, 0x04, 0x9A, 0x40, 0x11, 0x01);
	assert_int_equal(r.len, 6);
	ASK(&r, 0x19, 0x04, 0x12, 0x34, 0x56, 0xFF);
	assert_nrc(&r, 0x19, 0x31);
	ASK(&r, 0x19, 0x04, 0x9A, 0x40, 0x13, 0x07);
	assert_nrc(&r, 0x19, 0x31);
	ASK(&r, 0x19, 0x06, 0x9A, 0x40, 0x13, 0x00);
	assert_nrc(&r, 0x19, 0x31);
	ASK(&r, 0x19, 0x05, 0x01);
	assert_nrc(&r, 0x19, 0x12);
	ASK(&r, 0x19, 0x02);
	assert_nrc(&r, 0x19, 0x13);
	ASK(&r, 0x19);
	assert_nrc(&r, 0x19, 0x13);

	/* 0x14: 0x78 now, the positive answer when fault memory is written. */
	{
		struct uds_response cr;
		int64_t next;
		size_t len;
		assert_int_equal(uds_build_clear_dtc(UDS_DTC_GROUP_ALL, -1, req, sizeof(req), &n), 0);
		ask(&r, req, n);
		assert_nrc(&r, 0x14, 0x78);
		ASK(&r, 0x3E, 0x00);
		assert_nrc(&r, 0x3E, 0x21); /* busy meanwhile */
		assert_int_equal(sim_uds_poll(r.u, r.now, r.resp, sizeof(r.resp), &len, &next), 0);
		assert_int_equal(len, 0);
		assert_true(next > r.now && next <= r.now + 1 * S);
		r.now = next;
		assert_int_equal(sim_uds_poll(r.u, r.now, r.resp, sizeof(r.resp), &len, &next), 0);
		assert_int_equal(uds_parse_clear_dtc(req, n, r.resp, len, &cr), 0);
		assert_int_equal(cr.result, UDS_RESULT_OK);
		assert_int_equal(sim_model_dtc(r.m, SIM_DTC_RELEASE_OPEN)->status, 0x50);
		ASK(&r, 0x14, 0x12, 0x34, 0x56);
		assert_nrc(&r, 0x14, 0x31);
		ASK(&r, 0x14, 0xFF);
		assert_nrc(&r, 0x14, 0x13);
	}
	rig_finish(&r);
}

static void output_control(void **state)
{
	struct rig r;
	uint8_t req[16], on = 0x01;
	size_t n;
	struct uds_io_control_response io;

	rig_init(&r);
	assert_int_equal(uds_build_io_control(0xD101, UDS_IO_SHORT_TERM_ADJUSTMENT, &on, 1, NULL, 0,
					      req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_nrc(&r, 0x2F, 0x7F); /* default session */
	extended(&r);
	assert_int_equal(sim_model_set_speed(r.m, 5.0), 0);
	ask(&r, req, n);
	assert_nrc(&r, 0x2F, 0x22); /* moving */
	assert_int_equal(sim_model_set_speed(r.m, 0.0), 0);
	ask(&r, req, n);
	assert_int_equal(uds_parse_io_control(req, n, r.resp, r.len, &io), 0);
	assert_int_equal(io.r.result, UDS_RESULT_OK);
	assert_int_equal(io.did, 0xD101);
	advance(&r, 300 * MS);
	assert_true(sim_model_signals(r.m)->ajar); /* commanded, current flowed, released */
	ASK(&r, 0x2F, 0xD1, 0x01, 0x00);
	assert_int_equal(r.resp[0], 0x6F);
	assert_false(sim_model_signals(r.m)->actuator_cmd); /* off at once */
	ASK(&r, 0x2F, 0xD1, 0x02, 0x03, 0x01);
	assert_nrc(&r, 0x2F, 0x31);
	ASK(&r, 0x2F, 0xD1, 0x01, 0x03, 0x07);
	assert_nrc(&r, 0x2F, 0x31);
	ASK(&r, 0x2F, 0xD1, 0x01, 0x05);
	assert_nrc(&r, 0x2F, 0x31);
	ASK(&r, 0x2F, 0xD1, 0x01);
	assert_nrc(&r, 0x2F, 0x13);
	/* During the lockout after a short: conditions not correct. */
	assert_int_equal(sim_model_fault_add(r.m, SIM_FAULT_HINGE_WIRING_SHORT, NULL), 0);
	assert_int_equal(sim_model_close_lid(r.m), 0);
	advance(&r, 2 * S);
	ask(&r, req, n);
	if (r.resp[0] != 0x6F)
		fail_msg("NRC 0x%02X lockout %u speed %g gear %d cmd %d", r.resp[2],
			 sim_model_signals(r.m)->lockout_remaining_ms,
			 sim_model_signals(r.m)->speed_kmh, sim_model_signals(r.m)->gear,
			 sim_model_signals(r.m)->actuator_cmd);
	advance(&r, 100 * MS);
	assert_true(sim_model_signals(r.m)->lockout_remaining_ms > 0);
	ask(&r, req, n);
	assert_nrc(&r, 0x2F, 0x22);
	rig_finish(&r);
}

static void self_test(void **state)
{
	struct rig r;
	uint8_t req[16];
	size_t n, len;
	int64_t next;
	struct uds_routine_response rr;

	rig_init(&r);
	assert_int_equal(uds_build_routine_control(UDS_ROUTINE_START, SIM_UDS_RID_SELFTEST, NULL, 0,
						   false, req, sizeof(req), &n), 0);
	ask(&r, req, n);
	assert_nrc(&r, 0x31, 0x7E); /* routines only in the extended session */
	extended(&r);
	ASK(&r, 0x31, 0x03, 0x02, 0x01);
	assert_nrc(&r, 0x31, 0x24); /* results before a start */
	assert_int_equal(sim_model_fault_add(r.m, SIM_FAULT_BCM_FAULT, NULL), 0);
	advance(&r, 1100 * MS);
	ask(&r, req, n);
	assert_nrc(&r, 0x31, 0x78);
	assert_int_equal(sim_uds_poll(r.u, r.now, r.resp, sizeof(r.resp), &len, &next), 0);
	assert_int_equal(len, 0);
	r.now = next;
	assert_int_equal(sim_uds_poll(r.u, r.now, r.resp, sizeof(r.resp), &len, &next), 0);
	assert_int_equal(uds_parse_routine_control(req, n, r.resp, len, &rr), 0);
	assert_int_equal(rr.r.result, UDS_RESULT_OK);
	assert_int_equal(rr.status[0], 0x01); /* failed: the BCM's internal fault */
	ASK(&r, 0x31, 0x03, 0x02, 0x01);
	assert_int_equal(r.len, 6);
	assert_int_equal(r.resp[4], 0x01);
	ASK(&r, 0x31, 0x02, 0x02, 0x01);
	assert_nrc(&r, 0x31, 0x12);
	ASK(&r, 0x31, 0x01, 0x12, 0x34);
	assert_nrc(&r, 0x31, 0x31);
	ASK(&r, 0x31, 0x01);
	assert_nrc(&r, 0x31, 0x13);
	rig_finish(&r);
}

static void security_and_fob_learn(void **state)
{
	struct rig r;
	uint8_t seed_req[4], key_req[8], key[4];
	size_t sn, kn;
	uint32_t seed, k;
	struct uds_security_response sec;

	rig_init(&r);
	assert_int_equal(sim_model_fault_add(r.m, SIM_FAULT_FOB_UNPROGRAMMED, NULL), 0);
	ASK(&r, 0x27, 0x01);
	assert_nrc(&r, 0x27, 0x7F);
	extended(&r);
	ASK(&r, 0x31, 0x01, 0x02, 0x02, 0x00);
	assert_nrc(&r, 0x31, 0x33); /* fob learning needs security access */
	ASK(&r, 0x27, 0x02, 1, 2, 3, 4);
	assert_nrc(&r, 0x27, 0x24); /* key before seed */
	assert_int_equal(uds_build_security_seed_request(0x01, NULL, 0, seed_req, sizeof(seed_req),
							 &sn), 0);
	for (int i = 0; i < 3; i++) {
		ask(&r, seed_req, sn);
		assert_int_equal(uds_parse_security_access(seed_req, sn, r.resp, r.len, &sec), 0);
		assert_int_equal(sec.seed_len, 4);
		ASK(&r, 0x27, 0x02, 0, 0, 0, 0);
		assert_nrc(&r, 0x27, i < 2 ? 0x35 : 0x36);
	}
	ask(&r, seed_req, sn);
	assert_nrc(&r, 0x27, 0x37); /* delay after too many wrong keys */
	advance(&r, 4 * S);
	ASK(&r, 0x3E, 0x00); /* keep the session */
	advance(&r, 4 * S);
	ASK(&r, 0x3E, 0x00);
	advance(&r, 3 * S);
	ask(&r, seed_req, sn);
	assert_int_equal(uds_parse_security_access(seed_req, sn, r.resp, r.len, &sec), 0);
	assert_int_equal(sec.r.result, UDS_RESULT_OK);
	seed = (uint32_t)sec.seed[0] << 24 | (uint32_t)sec.seed[1] << 16 |
	       (uint32_t)sec.seed[2] << 8 | sec.seed[3];
	k = sim_uds_key_for_seed(seed);
	key[0] = (uint8_t)(k >> 24);
	key[1] = (uint8_t)(k >> 16);
	key[2] = (uint8_t)(k >> 8);
	key[3] = (uint8_t)k;
	assert_int_equal(uds_build_security_send_key(0x01, key, 4, key_req, sizeof(key_req), &kn), 0);
	ask(&r, key_req, kn);
	assert_int_equal(uds_parse_security_access(key_req, kn, r.resp, r.len, &sec), 0);
	assert_int_equal(sec.r.result, UDS_RESULT_OK);
	ask(&r, seed_req, sn);
	assert_int_equal(uds_parse_security_access(seed_req, sn, r.resp, r.len, &sec), 0);
	assert_true(sec.already_unlocked);
	/* Learning the fob's trunk function back is the repair. */
	ASK(&r, 0x31, 0x01, 0x02, 0x02, 0x00);
	assert_int_equal(r.resp[0], 0x71);
	assert_false(sim_model_fault_active(r.m, SIM_FAULT_FOB_UNPROGRAMMED));
	assert_int_equal(sim_model_signals(r.m)->fob_trunk_enabled_mask & 1, 1);
	ASK(&r, 0x31, 0x01, 0x02, 0x02, 0x09);
	assert_nrc(&r, 0x31, 0x31);
	ASK(&r, 0x31, 0x03, 0x02, 0x02);
	assert_nrc(&r, 0x31, 0x12);
	/* Back to default: locked again. */
	ASK(&r, 0x10, 0x01);
	extended(&r);
	ASK(&r, 0x31, 0x01, 0x02, 0x02, 0x00);
	assert_nrc(&r, 0x31, 0x33);
	ASK(&r, 0x27, 0x05);
	assert_nrc(&r, 0x27, 0x12);
	rig_finish(&r);
}

static void obd(void **state)
{
	struct rig r;
	size_t len;

	rig_init(&r);
	assert_int_equal(sim_model_set_speed(r.m, 42.0), 0);
	assert_int_equal(sim_uds_obd_request(r.u, (const uint8_t *)"\x01\x0D", 2, r.resp,
					     sizeof(r.resp), &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(r.resp[0], 0x41);
	assert_int_equal(r.resp[2], 42);
	assert_int_equal(sim_uds_obd_request(r.u, (const uint8_t *)"\x01\x00", 2, r.resp,
					     sizeof(r.resp), &len), 0);
	assert_int_equal(len, 6);
	assert_int_equal(r.resp[2] << 24 | r.resp[3] << 16 | r.resp[4] << 8 | r.resp[5],
			 1 << (32 - 0x0D));
	assert_int_equal(sim_uds_obd_request(r.u, (const uint8_t *)"\x09\x02", 2, r.resp,
					     sizeof(r.resp), &len), 0);
	assert_int_equal(len, 20);
	assert_memory_equal(r.resp + 3, "1BDSM2AT5TR000042", 17);
	assert_int_equal(sim_uds_obd_request(r.u, (const uint8_t *)"\x01\x0C", 2, r.resp,
					     sizeof(r.resp), &len), 0);
	assert_int_equal(len, 0); /* RPM: not this module's */
	assert_int_equal(sim_uds_obd_request(r.u, (const uint8_t *)"\x03", 1, r.resp,
					     sizeof(r.resp), &len), 0);
	assert_int_equal(len, 0);
	rig_finish(&r);
}

static void config(void **state)
{
	struct sim_uds_config cfg;
	struct sim_uds *u = NULL;
	struct sim_model *m;

	assert_int_equal(sim_model_new(NULL, &m), 0);
	sim_uds_config_init(&cfg);
	cfg.vin = "SHORT";
	assert_int_equal(sim_uds_new(m, &cfg, &u), -EINVAL);
	assert_null(u);
	assert_null(sim_uds_free(NULL));
	assert_int_equal(sim_uds_key_for_seed(0x12345678), sim_uds_key_for_seed(0x12345678));
	assert_true(sim_uds_key_for_seed(1) != sim_uds_key_for_seed(2));
	sim_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sessions),
		cmocka_unit_test(read_dids),
		cmocka_unit_test(profile_dids),
		cmocka_unit_test(dtcs),
		cmocka_unit_test(output_control),
		cmocka_unit_test(self_test),
		cmocka_unit_test(security_and_fob_learn),
		cmocka_unit_test(obd),
		cmocka_unit_test(config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
