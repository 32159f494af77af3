/* SPDX-License-Identifier: MIT */
/*
 * UDS response parsers, splitters, the wait machine and the describer on arbitrary
 * request/response pairs. Input: [request length n][request, n bytes][response...].
 */
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/uds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int did_len(void *ud, uint16_t did)
{
	/* a few fixed lengths, the rest unknown */
	switch (did & 0x0f) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 4;
	case 3: return 17;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *req, *resp;
	size_t req_len, resp_len, n;
	char line[1024];
	union {
		struct uds_response r;
		struct uds_session_response s;
		struct uds_ecu_reset_response e;
		struct uds_rdtci_response d;
		struct uds_security_response sa;
		struct uds_io_control_response io;
		struct uds_routine_response rc;
	} u;
	struct uds_did_value dv[16];
	struct uds_snapshot_did sd[16];
	struct uds_ext_record er[16];
	enum uds_result res;
	struct uds_wait w;

	if (size < 2)
		return 0;
	req_len = 1 + data[0] % 8;
	if (req_len > size - 1)
		req_len = size - 1;
	req = data + 1;
	resp = data + 1 + req_len;
	resp_len = size - 1 - req_len;

	uds_check_response(req, req_len, resp, resp_len, &u.r);
	uds_parse_session_control(req, req_len, resp, resp_len, &u.s);
	uds_parse_ecu_reset(req, req_len, resp, resp_len, &u.e);
	uds_parse_clear_dtc(req, req_len, resp, resp_len, &u.r);
	/* parsers refuse a request of another service (-EINVAL): then u is not written */
	if (uds_parse_rdtci(req, req_len, resp, resp_len, &u.d) == 0 && u.d.r.result == UDS_RESULT_OK) {
		struct uds_dtc_record rec;
		for (size_t i = 0; uds_rdtci_dtc(&u.d, i, &rec) == 0; i++)
			;
		uds_split_snapshots(u.d.records, u.d.records_len, did_len, NULL, sd, 16, &n, &res);
		uds_split_ext_records(u.d.records, u.d.records_len, did_len, NULL, er, 16, &n, &res);
	}
	uds_parse_read_did(req, req_len, resp, resp_len, did_len, NULL, dv, 16, &n, &u.r);
	uds_parse_security_access(req, req_len, resp, resp_len, &u.sa);
	uds_parse_write_did(req, req_len, resp, resp_len, &u.r);
	uds_parse_io_control(req, req_len, resp, resp_len, &u.io);
	uds_parse_routine_control(req, req_len, resp, resp_len, &u.rc);
	uds_parse_tester_present(req, req_len, resp, resp_len, &u.r);

	uds_wait_init(&w, NULL, req, req_len);
	uds_wait_sent(&w, 0);
	/* a response that arrived segmented: its first frame, then the PDU */
	if (resp_len > 7)
		uds_wait_frame(&w, true, 5);
	uds_wait_response(&w, resp, resp_len, 10);
	uds_wait_timer_expired(&w, uds_wait_deadline(&w));

	uds_describe(req, req_len, false, line, sizeof(line));
	uds_describe(resp, resp_len, true, line, sizeof(line));
	uds_describe(resp, resp_len, true, line, 7);
	{
		struct uds_describe_opts o = {.did_len = did_len, .request = req, .request_len = req_len};
		uds_describe_ex(resp, resp_len, true, &o, line, sizeof(line));
	}
	return 0;
}
