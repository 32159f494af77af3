/* SPDX-License-Identifier: MIT */
/*
 * ISO 14229-1 (UDS) PDUs. Clause and table numbers refer to ISO 14229-1:2013 unless a
 * 2020 addition is named.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/uds.h"
#include "uds-private.h"

/* ---------------------------------------------------------------------------------- */
/* Helpers */




bool uds_request_suppresses_response(const uint8_t *req, size_t len)
{
	return req && len >= 2 && has_subfunction(req[0]) && (req[1] & UDS_SPRMIB);
}

static int put(uint8_t *buf, size_t cap, size_t *ret_len, const uint8_t *hdr, size_t hdr_len,
	       const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	size_t n = hdr_len + a_len + b_len;

	if (!buf || !ret_len || (!a && a_len) || (!b && b_len))
		return -EINVAL;
	if (n > cap)
		return -ENOBUFS;
	memcpy(buf, hdr, hdr_len);
	if (a_len)
		memcpy(buf + hdr_len, a, a_len);
	if (b_len)
		memcpy(buf + hdr_len + a_len, b, b_len);
	*ret_len = n;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Response classification */

static enum uds_result classify(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
				struct uds_response *r)
{
	uint8_t sid = req[0];

	r->sid = sid;
	if (resp_len == 0)
		return UDS_RESULT_TRUNCATED;
	if (resp[0] == UDS_SID_NEGATIVE_RESPONSE) {
		/* 7.5.3 Table 14: 0x7F, requestServiceIdentifier, negativeResponseCode. */
		if (resp_len < 3)
			return UDS_RESULT_TRUNCATED;
		if (resp[1] != sid)
			return UDS_RESULT_WRONG_SID_ECHO;
		r->nrc = resp[2];
		return UDS_RESULT_NEGATIVE;
	}
	if (resp[0] != (uint8_t)(sid + UDS_POSITIVE_OFFSET))
		return (resp[0] & 0x40) ? UDS_RESULT_OTHER_SERVICE : UDS_RESULT_NOT_A_RESPONSE;
	r->data = resp + 1;
	r->len = resp_len - 1;
	if (has_subfunction(sid)) {
		/* Every positive response of these services echoes the sub-function, without
		 * the SPRMIB (7.5.2). */
		if (resp_len < 2)
			return UDS_RESULT_TRUNCATED;
		if (req_len >= 2 && (resp[1] & 0x7f) != (req[1] & 0x7f))
			return UDS_RESULT_WRONG_SUBFUNCTION;
	}
	switch (sid) {
	case UDS_SID_WRITE_DATA_BY_IDENTIFIER:
	case UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER:
		if (req_len >= 3) {
			if (resp_len < 3)
				return UDS_RESULT_TRUNCATED;
			if (be16(resp + 1) != be16(req + 1))
				return UDS_RESULT_WRONG_IDENTIFIER;
		}
		break;
	case UDS_SID_ROUTINE_CONTROL:
		if (req_len >= 4) {
			if (resp_len < 4)
				return UDS_RESULT_TRUNCATED;
			if (be16(resp + 2) != be16(req + 2))
				return UDS_RESULT_WRONG_IDENTIFIER;
		}
		break;
	}
	return UDS_RESULT_OK;
}

int uds_check_response(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       struct uds_response *ret)
{
	struct uds_response r = {0};

	/* A "request" with bit 6 set is itself a response SID (7.5.1): no response to it. */
	if (!req || req_len == 0 || (req[0] & 0x40) || !ret || (!resp && resp_len))
		return -EINVAL;
	r.result = classify(req, req_len, resp, resp_len, &r);
	if (r.result != UDS_RESULT_OK) {
		r.data = NULL;
		r.len = 0;
	}
	*ret = r;
	return 0;
}

/* Per-service parsers are called with a request of their own service. */
static int check_for(uint8_t sid, const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		     struct uds_response *r)
{
	if (!req || req_len == 0 || req[0] != sid)
		return -EINVAL;
	return uds_check_response(req, req_len, resp, resp_len, r);
}

/* ---------------------------------------------------------------------------------- */
/* 0x10, 0x11, 0x14, 0x3E */

int uds_build_session_control(uint8_t session, bool suppress, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_DIAGNOSTIC_SESSION_CONTROL, (uint8_t)(session | (suppress ? UDS_SPRMIB : 0))};

	/* 9.2.2.2 Table 25: 0x00 and 0x7F are ISOSAEReserved. */
	if (session == 0x00 || session >= 0x7f)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 2, NULL, 0, NULL, 0);
}

int uds_parse_session_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_session_response *ret)
{
	struct uds_session_response s = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_DIAGNOSTIC_SESSION_CONTROL, req, req_len, resp, resp_len, &s.r) < 0)
		return -EINVAL;
	if (s.r.result == UDS_RESULT_OK) {
		s.session = resp[1] & 0x7f;
		/* 9.2.3.2 Table 29: sessionParameterRecord = P2Server_max (2 bytes, 1 ms),
		 * P2*Server_max (2 bytes, 10 ms). ISO 14229-1:2006 servers send none. */
		if (resp_len == 6) {
			s.has_timing = true;
			s.p2_us = (uint32_t)be16(resp + 2) * 1000u;
			s.p2star_us = (uint32_t)be16(resp + 4) * 10000u;
		} else if (resp_len != 2) {
			s.r.result = resp_len < 6 ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
		}
	}
	*ret = s;
	return 0;
}

int uds_parse_ecu_reset(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_ecu_reset_response *ret)
{
	struct uds_ecu_reset_response e = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_ECU_RESET, req, req_len, resp, resp_len, &e.r) < 0)
		return -EINVAL;
	if (e.r.result == UDS_RESULT_OK) {
		e.reset_type = resp[1] & 0x7f;
		/* 9.3.3 Table 37: powerDownTime only for enableRapidPowerShutDown. */
		if (e.reset_type == 0x04) {
			if (resp_len == 3) {
				e.has_power_down_time = true;
				e.power_down_time_s = resp[2];
			} else {
				e.r.result = resp_len < 3 ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
			}
		} else if (resp_len != 2) {
			e.r.result = UDS_RESULT_INVALID_LENGTH;
		}
	}
	*ret = e;
	return 0;
}

int uds_build_clear_dtc(uint32_t group, int memory_selection, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[5] = {UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION, (uint8_t)(group >> 16), (uint8_t)(group >> 8),
			(uint8_t)group, 0};

	if (group > 0xffffffu || memory_selection < -1 || memory_selection > 0xff)
		return -EINVAL;
	if (memory_selection >= 0)
		h[4] = (uint8_t)memory_selection;
	return put(buf, cap, ret_len, h, memory_selection >= 0 ? 5 : 4, NULL, 0, NULL, 0);
}

static int parse_exact(uint8_t sid, const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       size_t exact, struct uds_response *ret)
{
	struct uds_response r;

	if (!ret)
		return -EINVAL;
	if (check_for(sid, req, req_len, resp, resp_len, &r) < 0)
		return -EINVAL;
	if (r.result == UDS_RESULT_OK && resp_len != exact)
		r.result = resp_len < exact ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
	*ret = r;
	return 0;
}

int uds_parse_clear_dtc(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_response *ret)
{
	/* 11.2.3: the positive response is the SID alone. */
	return parse_exact(UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION, req, req_len, resp, resp_len, 1, ret);
}

int uds_build_tester_present(bool suppress, uint8_t *buf, size_t cap, size_t *ret_len)
{
	/* 9.5.2: zeroSubFunction, optionally with the SPRMIB (0x3E 0x80). */
	uint8_t h[2] = {UDS_SID_TESTER_PRESENT, suppress ? UDS_SPRMIB : 0x00};
	return put(buf, cap, ret_len, h, 2, NULL, 0, NULL, 0);
}

int uds_parse_tester_present(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			     struct uds_response *ret)
{
	return parse_exact(UDS_SID_TESTER_PRESENT, req, req_len, resp, resp_len, 2, ret);
}

/* ---------------------------------------------------------------------------------- */
/* 0x19 */

int uds_build_rdtci_status_mask(uint8_t subfn, uint8_t mask, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[3] = {UDS_SID_READ_DTC_INFORMATION, subfn, mask};

	switch (subfn) {
	case 0x01: case 0x02: case 0x0f: case 0x11: case 0x12: case 0x13:
		return put(buf, cap, ret_len, h, 3, NULL, 0, NULL, 0);
	}
	return -EINVAL;
}

int uds_build_rdtci_dtc_record(uint8_t subfn, uint32_t dtc, uint8_t record, uint8_t *buf, size_t cap,
			       size_t *ret_len)
{
	uint8_t h[6] = {UDS_SID_READ_DTC_INFORMATION, subfn, (uint8_t)(dtc >> 16), (uint8_t)(dtc >> 8),
			(uint8_t)dtc, record};

	if (dtc > 0xffffffu)
		return -EINVAL;
	switch (subfn) {
	case 0x04: case 0x06: case 0x10:
		return put(buf, cap, ret_len, h, 6, NULL, 0, NULL, 0);
	}
	return -EINVAL;
}

int uds_build_rdtci(uint8_t subfn, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_READ_DTC_INFORMATION, subfn};

	switch (subfn) {
	case 0x03: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x14: case 0x15:
		return put(buf, cap, ret_len, h, 2, NULL, 0, NULL, 0);
	}
	return -EINVAL;
}


int uds_parse_rdtci(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		    struct uds_rdtci_response *ret)
{
	struct uds_rdtci_response d = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_READ_DTC_INFORMATION, req, req_len, resp, resp_len, &d.r) < 0)
		return -EINVAL;
	if (d.r.result != UDS_RESULT_OK)
		goto out;
	if (resp_len < 2) {
		d.r.result = UDS_RESULT_TRUNCATED;
		goto out;
	}
	d.subfn = resp[1] & 0x7f;
	d.shape = rdtci_shape(d.subfn);
	switch (d.shape) {
	case UDS_RDTCI_SHAPE_COUNT:
		/* 11.3.3 Table 322: availabilityMask, DTCFormatIdentifier, DTCCount (2). */
		if (resp_len != 6) {
			d.r.result = resp_len < 6 ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
			break;
		}
		d.availability_mask = resp[2];
		d.dtc_format = resp[3];
		d.dtc_count = be16(resp + 4);
		break;
	case UDS_RDTCI_SHAPE_DTC_LIST:
		/* availabilityMask, then DTCAndStatusRecord (3 + 1 bytes) repeated. The
		 * "first/most recent" sub-functions (0x0B-0x0E) send only the mask when empty. */
		if (resp_len < 3) {
			d.r.result = UDS_RESULT_TRUNCATED;
			break;
		}
		if ((resp_len - 3) % 4) {
			d.r.result = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		d.availability_mask = resp[2];
		d.dtcs = resp + 3;
		d.n_dtcs = (resp_len - 3) / 4;
		break;
	case UDS_RDTCI_SHAPE_DTC_RECORDS:
		/* 11.3.3 Tables 326/328: DTCAndStatusRecord, then the records. */
		if (resp_len < 6) {
			d.r.result = UDS_RESULT_TRUNCATED;
			break;
		}
		d.dtc = be24(resp + 2);
		d.status = resp[5];
		if (req_len >= 5 && be24(req + 2) != d.dtc) {
			d.r.result = UDS_RESULT_WRONG_IDENTIFIER;
			break;
		}
		d.records = resp + 6;
		d.records_len = resp_len - 6;
		break;
	case UDS_RDTCI_SHAPE_OTHER:
	case UDS_RDTCI_SHAPE_MAX:
		break;
	}
out:
	*ret = d;
	return 0;
}

int uds_rdtci_dtc(const struct uds_rdtci_response *r, size_t i, struct uds_dtc_record *ret)
{
	if (!r || !ret)
		return -EINVAL;
	if (r->shape != UDS_RDTCI_SHAPE_DTC_LIST || i >= r->n_dtcs)
		return -ERANGE;
	ret->dtc = be24(r->dtcs + 4 * i);
	ret->status = r->dtcs[4 * i + 3];
	return 0;
}

int uds_len_table_lookup(void *table, uint16_t key)
{
	const struct uds_len_table *t = table;

	if (!t)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		if (t->entries[i].key == key)
			return t->entries[i].len;
	return -1;
}

int uds_split_snapshots(const uint8_t *p, size_t left, uds_len_fn did_len, void *userdata,
			struct uds_snapshot_did *out, size_t cap, size_t *ret_n, enum uds_result *ret_result)
{
	size_t n = 0;
	enum uds_result res = UDS_RESULT_OK;

	if ((!p && left) || !ret_n || !ret_result || (!out && cap))
		return -EINVAL;
	/* 11.3.3 Table 327: {DTCSnapshotRecordNumber, DTCSnapshotRecordNumberOfIdentifiers,
	 * {dataIdentifier, snapshotData}*}*; a count of 0 means "more than 255": read on
	 * until the end. */
	while (left > 0 && res == UDS_RESULT_OK) {
		uint8_t rec, nids;
		unsigned k = 0;

		if (left < 2) {
			res = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		rec = p[0];
		nids = p[1];
		p += 2;
		left -= 2;
		while (nids == 0 ? left > 0 : k < nids) {
			uint16_t did;
			int l;

			if (left < 2) {
				res = UDS_RESULT_INVALID_LENGTH;
				break;
			}
			did = be16(p);
			p += 2;
			left -= 2;
			l = did_len ? did_len(userdata, did) : -1;
			if (l < 0) {
				/* Unknown length: only the last DID of the response can be split. */
				if (nids != 0 && k + 1 < nids) {
					res = UDS_RESULT_UNKNOWN_DID_LENGTH;
					break;
				}
				l = (int)left;
			}
			if ((size_t)l > left) {
				res = UDS_RESULT_INVALID_LENGTH;
				break;
			}
			if (n == cap)
				return -ENOBUFS;
			out[n++] = (struct uds_snapshot_did){.record = rec, .did = did, .data = p, .len = (size_t)l};
			p += l;
			left -= (size_t)l;
			k++;
		}
	}
	*ret_n = n;
	*ret_result = res;
	return 0;
}

int uds_split_ext_records(const uint8_t *p, size_t left, uds_len_fn rec_len, void *userdata,
			  struct uds_ext_record *out, size_t cap, size_t *ret_n,
			  enum uds_result *ret_result)
{
	size_t n = 0;
	enum uds_result res = UDS_RESULT_OK;

	if ((!p && left) || !ret_n || !ret_result || (!out && cap))
		return -EINVAL;
	/* 11.3.3 Table 329: {DTCExtDataRecordNumber, DTCExtDataRecord}*; record lengths are
	 * defined by the vehicle manufacturer, so they come from the caller. */
	while (left > 0) {
		uint8_t num = p[0];
		int l = rec_len ? rec_len(userdata, num) : -1;

		p++;
		left--;
		if (l < 0)
			l = (int)left;
		if ((size_t)l > left) {
			res = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		if (n == cap)
			return -ENOBUFS;
		out[n++] = (struct uds_ext_record){.number = num, .data = p, .len = (size_t)l};
		p += l;
		left -= (size_t)l;
	}
	*ret_n = n;
	*ret_result = res;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 0x22 */

int uds_build_read_did(const uint16_t *dids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len)
{
	if (!dids || n == 0 || !buf || !ret_len)
		return -EINVAL;
	if (1 + 2 * n > cap)
		return -ENOBUFS;
	buf[0] = UDS_SID_READ_DATA_BY_IDENTIFIER;
	for (size_t i = 0; i < n; i++) {
		buf[1 + 2 * i] = (uint8_t)(dids[i] >> 8);
		buf[2 + 2 * i] = (uint8_t)dids[i];
	}
	*ret_len = 1 + 2 * n;
	return 0;
}

int uds_parse_read_did(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       uds_len_fn did_len, void *userdata, struct uds_did_value *out, size_t cap,
		       size_t *ret_n, struct uds_response *ret)
{
	struct uds_response r;
	size_t n = 0, nreq, left;
	const uint8_t *p;

	if (!req || req_len < 3 || (req_len - 1) % 2 || !ret_n || !ret || (!out && cap))
		return -EINVAL;
	if (check_for(UDS_SID_READ_DATA_BY_IDENTIFIER, req, req_len, resp, resp_len, &r) < 0)
		return -EINVAL;
	nreq = (req_len - 1) / 2;
	if (r.result != UDS_RESULT_OK)
		goto out;
	p = resp + 1;
	left = resp_len - 1;
	if (left < 2) {
		r.result = UDS_RESULT_TRUNCATED;
		goto out;
	}
	/* 10.2.3 Table 198: {dataIdentifier, dataRecord}* in the order requested. */
	while (left > 0) {
		uint16_t did;
		size_t k;
		int l;

		if (left < 2) {
			r.result = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		did = be16(p);
		for (k = 0; k < nreq; k++)
			if (be16(req + 1 + 2 * k) == did)
				break;
		if (k == nreq) {
			r.result = UDS_RESULT_UNEXPECTED_DID;
			break;
		}
		l = did_len ? did_len(userdata, did) : -1;
		if (l < 0) {
			if (k + 1 != nreq) {
				r.result = UDS_RESULT_UNKNOWN_DID_LENGTH;
				break;
			}
			l = (int)(left - 2);
		}
		if ((size_t)l > left - 2) {
			r.result = UDS_RESULT_TRUNCATED;
			break;
		}
		if (n == cap)
			return -ENOBUFS;
		out[n++] = (struct uds_did_value){.did = did, .data = p + 2, .len = (size_t)l};
		p += 2 + l;
		left -= 2 + (size_t)l;
	}
out:
	*ret_n = n;
	*ret = r;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 0x27 */

static bool seed_level_ok(uint8_t level)
{
	/* 9.4.2.2 Table 42: requestSeed = odd values 0x01-0x7D (0x7F reserved). */
	return (level & 1) && level <= 0x7d;
}

int uds_build_security_seed_request(uint8_t level, const uint8_t *record, size_t record_len,
				    uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_SECURITY_ACCESS, level};

	if (!seed_level_ok(level))
		return -EINVAL;
	return put(buf, cap, ret_len, h, 2, record, record_len, NULL, 0);
}

int uds_build_security_send_key(uint8_t level, const uint8_t *key, size_t key_len, uint8_t *buf,
				size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_SECURITY_ACCESS, (uint8_t)(level + 1)};

	if (!seed_level_ok(level) || key_len == 0)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 2, key, key_len, NULL, 0);
}

int uds_build_security_key_from_seed(uint8_t level, const uint8_t *seed, size_t seed_len, uds_key_fn fn,
				     void *userdata, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t key_len = 0;
	int r;

	if (!fn || !buf || !ret_len || cap < 3 || !seed_level_ok(level))
		return -EINVAL;
	/* The key goes straight into the request after the two header bytes. */
	r = fn(userdata, level, seed, seed_len, buf + 2, cap - 2, &key_len);
	if (r < 0)
		return r;
	if (key_len == 0 || key_len > cap - 2)
		return -EINVAL;
	buf[0] = UDS_SID_SECURITY_ACCESS;
	buf[1] = (uint8_t)(level + 1);
	*ret_len = key_len + 2;
	return 0;
}

int uds_parse_security_access(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_security_response *ret)
{
	struct uds_security_response s = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_SECURITY_ACCESS, req, req_len, resp, resp_len, &s.r) < 0)
		return -EINVAL;
	if (s.r.result == UDS_RESULT_OK) {
		s.subfn = resp[1] & 0x7f;
		if (s.subfn & 1) {
			/* 9.4.3 Table 45: securitySeed is mandatory; all zeros = already unlocked. */
			if (resp_len < 3) {
				s.r.result = UDS_RESULT_TRUNCATED;
			} else {
				s.seed = resp + 2;
				s.seed_len = resp_len - 2;
				s.already_unlocked = true;
				for (size_t i = 0; i < s.seed_len; i++)
					if (s.seed[i])
						s.already_unlocked = false;
			}
		} else if (resp_len != 2) {
			s.r.result = UDS_RESULT_INVALID_LENGTH;
		}
	}
	*ret = s;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 0x2E, 0x2F, 0x31 */

int uds_build_write_did(uint16_t did, const uint8_t *data, size_t len, uint8_t *buf, size_t cap,
			size_t *ret_len)
{
	uint8_t h[3] = {UDS_SID_WRITE_DATA_BY_IDENTIFIER, (uint8_t)(did >> 8), (uint8_t)did};

	if (len == 0)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 3, data, len, NULL, 0);
}

int uds_parse_write_did(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_response *ret)
{
	/* 10.7.3 Table 215: SID, dataIdentifier. */
	return parse_exact(UDS_SID_WRITE_DATA_BY_IDENTIFIER, req, req_len, resp, resp_len, 3, ret);
}

int uds_build_io_control(uint16_t did, int param, const uint8_t *state, size_t state_len,
			 const uint8_t *mask, size_t mask_len, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[4] = {UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER, (uint8_t)(did >> 8), (uint8_t)did, 0};
	size_t hl = 3;

	if (param >= UDS_IO_PARAM_MAX || param < -1)
		return -EINVAL;
	/* 12.2.2 Table 360: shortTermAdjustment carries a controlState, the others none
	 * (only an optional controlEnableMask). */
	if (param == UDS_IO_SHORT_TERM_ADJUSTMENT && state_len == 0)
		return -EINVAL;
	if (param >= 0 && param != UDS_IO_SHORT_TERM_ADJUSTMENT && state_len)
		return -EINVAL;
	if (param < 0 && state_len == 0)
		return -EINVAL;
	if (param >= 0)
		h[hl++] = (uint8_t)param;
	return put(buf, cap, ret_len, h, hl, state, state_len, mask, mask_len);
}

int uds_parse_io_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			 struct uds_io_control_response *ret)
{
	struct uds_io_control_response o = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER, req, req_len, resp, resp_len, &o.r) < 0)
		return -EINVAL;
	if (o.r.result == UDS_RESULT_OK) {
		if (resp_len < 3) {
			o.r.result = UDS_RESULT_TRUNCATED;
		} else {
			o.did = be16(resp + 1);
			o.status = resp + 3;
			o.status_len = resp_len - 3;
			/* 12.2.3 Table 362: controlStatusRecord starts with the echoed
			 * inputOutputControlParameter when the request carried one. */
			if (req_len >= 4 && req[3] < UDS_IO_PARAM_MAX) {
				if (o.status_len == 0)
					o.r.result = UDS_RESULT_TRUNCATED;
				else if (o.status[0] != req[3])
					o.r.result = UDS_RESULT_WRONG_SUBFUNCTION;
			}
		}
	}
	*ret = o;
	return 0;
}

int uds_build_routine_control(uint8_t type, uint16_t rid, const uint8_t *option, size_t option_len,
			      bool suppress, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[4] = {UDS_SID_ROUTINE_CONTROL, (uint8_t)(type | (suppress ? UDS_SPRMIB : 0)),
			(uint8_t)(rid >> 8), (uint8_t)rid};

	if (type < UDS_ROUTINE_START || type >= UDS_ROUTINE_CONTROL_MAX)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 4, option, option_len, NULL, 0);
}

int uds_parse_routine_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_routine_response *ret)
{
	struct uds_routine_response r = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_ROUTINE_CONTROL, req, req_len, resp, resp_len, &r.r) < 0)
		return -EINVAL;
	if (r.r.result == UDS_RESULT_OK) {
		if (resp_len < 4) {
			r.r.result = UDS_RESULT_TRUNCATED;
		} else {
			r.type = resp[1] & 0x7f;
			r.rid = be16(resp + 2);
			r.status = resp + 4;
			r.status_len = resp_len - 4;
		}
	}
	*ret = r;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Waiting: P2/P2*, 0x78, 0x21 */

void uds_timing_init(struct uds_timing *t)
{
	*t = (struct uds_timing){
		.p2_us = 50000,
		.p2star_us = 5000000,
		.max_pending = 20,
		.max_busy = 3,
		.busy_delay_us = 100000,
		.busy_delay_max_us = 2000000,
		.n_cr_us = 1000000,
	};
}

void uds_timing_from_session(struct uds_timing *t, const struct uds_session_response *s, uint32_t extra_us)
{
	if (!t || !s || s->r.result != UDS_RESULT_OK || !s->has_timing)
		return;
	/* ISO 14229-2:2013 7.2 Table 4: P2client_max > P2server_max + network delays. */
	t->p2_us = s->p2_us + extra_us;
	t->p2star_us = s->p2star_us + extra_us;
}

const char *uds_wait_action_name(enum uds_wait_action a)
{
	switch (a) {
	case UDS_WAIT_ARM: return "arm";
	case UDS_WAIT_RESEND: return "resend";
	case UDS_WAIT_DONE: return "done";
	case UDS_WAIT_DONE_NO_RESPONSE: return "done (no response expected)";
	case UDS_WAIT_IGNORE: return "ignore";
	case UDS_WAIT_TIMEOUT: return "timeout";
	case UDS_WAIT_TRANSFER_TIMEOUT: return "transfer timeout (N_Cr)";
	case UDS_WAIT_TOO_MANY_PENDING: return "too many response-pending";
	case UDS_WAIT_TOO_MANY_BUSY: return "too many busy-repeat";
	case UDS_WAIT_ACTION_MAX: break;
	}
	return "?";
}

void uds_wait_init(struct uds_wait *w, const struct uds_timing *t, const uint8_t *req, size_t req_len)
{
	struct uds_timing def;

	if (!w)
		return;
	if (!t) {
		uds_timing_init(&def);
		t = &def;
	}
	*w = (struct uds_wait){
		.t = *t,
		.sid = req && req_len ? req[0] : 0,
		.suppress = uds_request_suppresses_response(req, req_len),
		.timer = UDS_WAIT_TIMER_NONE,
		.deadline = INT64_MAX,
		.next_busy_delay_us = t->busy_delay_us,
	};
}

static enum uds_wait_action wait_finish(struct uds_wait *w, enum uds_wait_action a)
{
	w->finished = true;
	w->timer = UDS_WAIT_TIMER_NONE;
	w->deadline = INT64_MAX;
	return a;
}

enum uds_wait_action uds_wait_sent(struct uds_wait *w, int64_t now_us)
{
	w->timer = UDS_WAIT_TIMER_P2;
	w->deadline = now_us + w->t.p2_us;
	return UDS_WAIT_ARM;
}

enum uds_wait_action uds_wait_frame(struct uds_wait *w, bool first, int64_t now_us)
{
	if (!w || w->finished)
		return UDS_WAIT_IGNORE;
	if (first && (w->timer == UDS_WAIT_TIMER_P2 || w->timer == UDS_WAIT_TIMER_P2STAR)) {
		/* Kept in case the PDU turns out to answer something else: the wait for
		 * our answer then goes on where it stood. */
		w->resume_timer = w->timer;
		w->resume_deadline = w->deadline;
	} else if (w->timer != UDS_WAIT_TIMER_N_CR) {
		return UDS_WAIT_IGNORE;
	}
	/* A first frame during a transfer: the server gave up the old one and began anew. */
	w->timer = UDS_WAIT_TIMER_N_CR;
	w->deadline = now_us + (w->t.n_cr_us ? w->t.n_cr_us : 1000000); /* 0: a hand-made timing */
	return UDS_WAIT_ARM;
}

/* A PDU that does not end the wait: a transfer it came by is over. */
static enum uds_wait_action wait_resume(struct uds_wait *w)
{
	if (w->timer == UDS_WAIT_TIMER_N_CR) {
		w->timer = w->resume_timer;
		w->deadline = w->resume_deadline;
	}
	return UDS_WAIT_IGNORE;
}

enum uds_wait_action uds_wait_response(struct uds_wait *w, const uint8_t *resp, size_t len, int64_t now_us)
{
	if (!w || w->finished || !resp || len == 0)
		return UDS_WAIT_IGNORE;
	if (resp[0] == UDS_SID_NEGATIVE_RESPONSE) {
		if (len < 2 || resp[1] != w->sid)
			return wait_resume(w);
		if (len < 3)
			return wait_finish(w, UDS_WAIT_DONE); /* the parser names it: truncated */
		if (resp[2] == UDS_NRC_RESPONSE_PENDING) {
			/* ISO 14229-2:2013 7.2: each 0x78 restarts the client's P2* timer; we
			 * bound how many we accept so a stuck server cannot hold us forever. */
			if (++w->pending > w->t.max_pending)
				return wait_finish(w, UDS_WAIT_TOO_MANY_PENDING);
			w->timer = UDS_WAIT_TIMER_P2STAR;
			w->deadline = now_us + w->t.p2star_us;
			return UDS_WAIT_ARM;
		}
		if (resp[2] == UDS_NRC_BUSY_REPEAT_REQUEST) {
			/* ISO 14229-1 Annex A: 0x21 asks the client to repeat the request; we
			 * back off exponentially and give up after max_busy repeats. */
			uint32_t d = w->next_busy_delay_us;

			if (++w->busy > w->t.max_busy)
				return wait_finish(w, UDS_WAIT_TOO_MANY_BUSY);
			w->timer = UDS_WAIT_TIMER_RESEND;
			w->deadline = now_us + d;
			w->next_busy_delay_us = d > w->t.busy_delay_max_us / 2 ? w->t.busy_delay_max_us : d * 2;
			return UDS_WAIT_RESEND;
		}
		return wait_finish(w, UDS_WAIT_DONE);
	}
	if (resp[0] == (uint8_t)(w->sid + UDS_POSITIVE_OFFSET))
		return wait_finish(w, UDS_WAIT_DONE);
	return wait_resume(w);
}

enum uds_wait_action uds_wait_timer_expired(struct uds_wait *w, int64_t now_us)
{
	if (!w || w->finished)
		return UDS_WAIT_IGNORE;
	if (now_us < w->deadline)
		return UDS_WAIT_ARM; /* not due: the timer stays as it is */
	switch (w->timer) {
	case UDS_WAIT_TIMER_NONE:
		return UDS_WAIT_IGNORE;
	case UDS_WAIT_TIMER_RESEND:
		/* Due now: the caller sends and calls uds_wait_sent(). */
		w->timer = UDS_WAIT_TIMER_NONE;
		w->deadline = INT64_MAX;
		return UDS_WAIT_RESEND;
	case UDS_WAIT_TIMER_P2:
		/* 7.5.2.1: with the SPRMIB set no positive response comes. */
		if (w->suppress && w->pending == 0)
			return wait_finish(w, UDS_WAIT_DONE_NO_RESPONSE);
		return wait_finish(w, UDS_WAIT_TIMEOUT);
	case UDS_WAIT_TIMER_P2STAR:
		return wait_finish(w, UDS_WAIT_TIMEOUT);
	case UDS_WAIT_TIMER_N_CR:
		return wait_finish(w, UDS_WAIT_TRANSFER_TIMEOUT);
	case UDS_WAIT_TIMER_MAX:
		break;
	}
	return UDS_WAIT_IGNORE;
}

int64_t uds_wait_deadline(const struct uds_wait *w)
{
	return w ? w->deadline : INT64_MAX;
}

enum uds_wait_timer uds_wait_timer_kind(const struct uds_wait *w)
{
	return w ? w->timer : UDS_WAIT_TIMER_NONE;
}

