/* SPDX-License-Identifier: MIT */
/*
 * SAE J1979 (= ISO 15031-5) on ISO 15765-4. The PID lengths and scalings follow SAE
 * J1979 Appendix B as reproduced in public references (e.g. the "OBD-II PIDs" table);
 * only the PIDs bodydiag uses are decoded to physical values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/obd.h"

#define MAX_RESPONDERS 16

const char *obd_result_name(enum obd_result r)
{
	switch (r) {
	case OBD_RESULT_OK: return "OK";
	case OBD_RESULT_NEGATIVE: return "negative response";
	case OBD_RESULT_TRUNCATED: return "truncated response";
	case OBD_RESULT_INVALID_LENGTH: return "invalid length";
	case OBD_RESULT_WRONG_MODE: return "response to another mode";
	case OBD_RESULT_WRONG_PID: return "response for another PID";
	case OBD_RESULT_UNKNOWN_PID: return "PID of unknown length";
	case OBD_RESULT_INVALID_DATA: return "invalid data";
	case OBD_RESULT_MAX: break;
	}
	return "?";
}

int obd_build_request(uint8_t mode, const uint8_t *pids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len)
{
	if (!buf || !ret_len || (!pids && n))
		return -EINVAL;
	switch (mode) {
	case OBD_MODE_CURRENT_DATA:
		/* ISO 15765-4:2016 6.3.2.2: up to six PIDs in one request. */
		if (n < 1 || n > 6)
			return -EINVAL;
		break;
	case OBD_MODE_FREEZE_FRAME:
		if (n < 2 || n > 6 || n % 2)
			return -EINVAL;
		break;
	case OBD_MODE_VEHICLE_INFO:
		if (n != 1)
			return -EINVAL;
		break;
	case OBD_MODE_STORED_DTCS:
	case OBD_MODE_CLEAR_DTCS:
	case OBD_MODE_PENDING_DTCS:
	case OBD_MODE_PERMANENT_DTCS:
		if (n)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (1 + n > cap)
		return -ENOBUFS;
	buf[0] = mode;
	if (n)
		memcpy(buf + 1, pids, n);
	*ret_len = 1 + n;
	return 0;
}

/* Mode 01 data lengths, PIDs 0x00-0x64. */
static const int8_t pid_len[0x65] = {
	4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, /* 0x00 */
	2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, /* 0x10 */
	4, 2, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1, /* 0x20 */
	1, 2, 2, 1, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, /* 0x30 */
	4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 4, /* 0x40 */
	4, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 1, /* 0x50 */
	4, 1, 1, 2, 5,                                  /* 0x60 */
};

int obd_pid_data_len(uint8_t pid)
{
	if (pid < sizeof(pid_len))
		return pid_len[pid];
	/* Support PIDs continue every 0x20 up to 0xE0. */
	if (pid % 0x20 == 0)
		return 4;
	return -1;
}

const char *obd_pid_name(uint8_t pid)
{
	switch (pid) {
	case 0x01: return "monitor status since DTCs cleared";
	case 0x04: return "calculated engine load";
	case 0x05: return "engine coolant temperature";
	case 0x0b: return "intake manifold absolute pressure";
	case 0x0c: return "engine speed";
	case 0x0d: return "vehicle speed";
	case 0x0f: return "intake air temperature";
	case 0x11: return "throttle position";
	case 0x1f: return "run time since engine start";
	case 0x21: return "distance traveled with MIL on";
	case 0x2f: return "fuel tank level input";
	case 0x31: return "distance traveled since codes cleared";
	case 0x33: return "absolute barometric pressure";
	case 0x42: return "control module voltage";
	case 0x46: return "ambient air temperature";
	case 0x5c: return "engine oil temperature";
	}
	if (pid % 0x20 == 0)
		return "PIDs supported";
	return NULL;
}

const char *obd_pid_unit(uint8_t pid)
{
	switch (pid) {
	case 0x04: case 0x11: case 0x2f: return "%";
	case 0x05: case 0x0f: case 0x46: case 0x5c: return "°C";
	case 0x0b: case 0x33: return "kPa";
	case 0x0c: return "rpm";
	case 0x0d: return "km/h";
	case 0x1f: return "s";
	case 0x21: case 0x31: return "km";
	case 0x42: return "V";
	}
	return NULL;
}

int obd_decode_pid(uint8_t pid, const uint8_t *d, size_t len, double *ret_value)
{
	double v;

	if (!d || !ret_value)
		return -EINVAL;
	if (obd_pid_unit(pid) == NULL)
		return -ENOENT;
	if ((int)len != obd_pid_data_len(pid))
		return -EINVAL;
	switch (pid) {
	case 0x04: case 0x11: case 0x2f:
		v = d[0] * 100.0 / 255.0;
		break;
	case 0x05: case 0x0f: case 0x46: case 0x5c:
		v = d[0] - 40.0;
		break;
	case 0x0b: case 0x0d: case 0x33:
		v = d[0];
		break;
	case 0x0c:
		v = (d[0] * 256 + d[1]) / 4.0;
		break;
	case 0x1f: case 0x21: case 0x31:
		v = d[0] * 256 + d[1];
		break;
	case 0x42:
		v = (d[0] * 256 + d[1]) / 1000.0;
		break;
	default:
		return -ENOENT;
	}
	*ret_value = v;
	return 0;
}

int obd_decode_monitor_status(const uint8_t *d, size_t len, bool *ret_mil, uint8_t *ret_dtc_count)
{
	if (!d || len != 4 || !ret_mil || !ret_dtc_count)
		return -EINVAL;
	/* J1979 PID 01 byte A: bit 7 MIL, bits 0-6 number of emission-related DTCs. */
	*ret_mil = d[0] & 0x80;
	*ret_dtc_count = d[0] & 0x7f;
	return 0;
}

/* 0x7F mode NRC (ISO 15031-5 / J1979 negative response), or the positive mode check. */
static enum obd_result check_mode(uint8_t mode, const uint8_t *resp, size_t len, uint8_t *nrc)
{
	if (len == 0)
		return OBD_RESULT_TRUNCATED;
	if (resp[0] == 0x7f) {
		if (len < 3)
			return OBD_RESULT_TRUNCATED;
		if (resp[1] != mode)
			return OBD_RESULT_WRONG_MODE;
		*nrc = resp[2];
		return OBD_RESULT_NEGATIVE;
	}
	if (resp[0] != (uint8_t)(mode + 0x40))
		return OBD_RESULT_WRONG_MODE;
	return OBD_RESULT_OK;
}

int obd_parse_mode01(const uint8_t *resp, size_t len, struct obd_pid_value *out, size_t cap,
		     struct obd_mode01_response *ret)
{
	struct obd_mode01_response r = {0};
	size_t i = 1;

	if ((!resp && len) || !ret || (!out && cap))
		return -EINVAL;
	r.result = check_mode(OBD_MODE_CURRENT_DATA, resp, len, &r.nrc);
	if (r.result == OBD_RESULT_OK && len < 2)
		r.result = OBD_RESULT_TRUNCATED;
	while (r.result == OBD_RESULT_OK && i < len) {
		uint8_t pid = resp[i++];
		int l = obd_pid_data_len(pid);

		if (l < 0) {
			if (r.n > 0) {
				r.result = OBD_RESULT_UNKNOWN_PID;
				break;
			}
			l = (int)(len - i); /* a single PID of unknown length takes the rest */
		}
		if ((size_t)l > len - i) {
			r.result = OBD_RESULT_TRUNCATED;
			break;
		}
		if (r.n == cap)
			return -ENOBUFS;
		out[r.n++] = (struct obd_pid_value){.pid = pid, .data = resp + i, .len = (size_t)l};
		i += (size_t)l;
	}
	*ret = r;
	return 0;
}

void obd_pid_support_init(struct obd_pid_support *s)
{
	memset(s, 0, sizeof(*s));
}

int obd_pid_support_add(struct obd_pid_support *s, const struct obd_pid_value *v)
{
	if (!s || !v || v->pid % 0x20 || v->len != 4 || !v->data)
		return -EINVAL;
	for (unsigned i = 0; i < 32; i++) {
		unsigned pid = v->pid + 1 + i;
		bool on = v->data[i / 8] & (0x80 >> (i % 8));
		if (pid > 0xff)
			break;
		if (on)
			s->bits[pid / 8] |= (uint8_t)(1u << (pid % 8));
		else
			s->bits[pid / 8] &= (uint8_t)~(1u << (pid % 8));
	}
	s->known |= (uint8_t)(1u << (v->pid / 0x20));
	return 0;
}

bool obd_pid_supported(const struct obd_pid_support *s, uint8_t pid)
{
	if (!s)
		return false;
	if (pid == 0x00)
		return true; /* J1979: PID 0x00 is mandatory for every OBD ECU */
	return s->bits[pid / 8] & (1u << (pid % 8));
}

int obd_pid_support_next(const struct obd_pid_support *s)
{
	if (!s)
		return -1;
	for (unsigned k = 0; k < 8; k++) {
		unsigned pid = k * 0x20;
		if (s->known & (1u << k))
			continue;
		/* Ask range k only when the previous range says its last PID (0x20*k) exists. */
		if (k == 0 || obd_pid_supported(s, (uint8_t)pid))
			return (int)pid;
		return -1;
	}
	return -1;
}

/* ISO 3779: VIN characters are 0-9 and A-Z without I, O, Q. */
static bool vin_char_ok(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return true;
	return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q';
}

int obd_parse_vin(const uint8_t *resp, size_t len, struct obd_vin *ret)
{
	struct obd_vin v = {0};
	const uint8_t *p;
	size_t rest;

	if ((!resp && len) || !ret)
		return -EINVAL;
	v.result = check_mode(OBD_MODE_VEHICLE_INFO, resp, len, &v.nrc);
	if (v.result != OBD_RESULT_OK)
		goto out;
	if (len < 2) {
		v.result = OBD_RESULT_TRUNCATED;
		goto out;
	}
	if (resp[1] != 0x02) {
		v.result = OBD_RESULT_WRONG_PID;
		goto out;
	}
	p = resp + 2;
	rest = len - 2;
	/* SAE J1979 on CAN: InfoType 0x02, NumberOfDataItems 0x01, 17 VIN bytes. Some
	 * ECUs leave out the count; some (K-line heritage) fill with leading 0x00. */
	if (rest == 18 && p[0] == 0x01) {
		v.had_count = true;
		p++;
		rest--;
	} else if (rest > 18 && p[0] == 0x01) {
		v.had_count = true;
		p++;
		rest--;
		while (rest > 17 && p[0] == 0x00) {
			p++;
			rest--;
		}
	}
	if (rest < 17) {
		v.result = OBD_RESULT_TRUNCATED;
		goto out;
	}
	if (rest > 17) {
		v.result = OBD_RESULT_INVALID_LENGTH;
		goto out;
	}
	for (size_t i = 0; i < 17; i++) {
		bool ok = vin_char_ok(p[i]);
		v.vin[i] = ok ? (char)p[i] : '?';
		if (!ok)
			v.result = OBD_RESULT_INVALID_DATA;
	}
	v.vin[17] = '\0';
out:
	*ret = v;
	return 0;
}

int obd_parse_dtcs(uint8_t mode, const uint8_t *resp, size_t len, uint16_t *out, size_t cap,
		   struct obd_dtc_list *ret)
{
	struct obd_dtc_list d = {0};
	size_t i;

	if ((!resp && len) || !ret || (!out && cap))
		return -EINVAL;
	if (mode != OBD_MODE_STORED_DTCS && mode != OBD_MODE_PENDING_DTCS && mode != OBD_MODE_PERMANENT_DTCS)
		return -EINVAL;
	d.result = check_mode(mode, resp, len, &d.nrc);
	if (d.result != OBD_RESULT_OK)
		goto out;
	if (len < 2) {
		d.result = OBD_RESULT_TRUNCATED;
		goto out;
	}
	if (len % 2 == 0) {
		/* ISO 15765-4: 0x43, count, count DTCs of 2 bytes. */
		d.had_count = true;
		if ((size_t)resp[1] * 2 != len - 2) {
			d.result = resp[1] * 2u > len - 2 ? OBD_RESULT_TRUNCATED : OBD_RESULT_INVALID_LENGTH;
			goto out;
		}
		i = 2;
	} else {
		i = 1;
	}
	for (; i + 1 < len; i += 2) {
		uint16_t dtc = (uint16_t)(resp[i] << 8 | resp[i + 1]);
		if (!d.had_count && dtc == 0)
			continue; /* fill of the fixed-size K-line frames */
		if (d.n == cap)
			return -ENOBUFS;
		out[d.n++] = dtc;
	}
out:
	*ret = d;
	return 0;
}

int obd_response_to_request_id(uint32_t id, bool ext, uint32_t *ret_request_id)
{
	if (!ret_request_id)
		return -EINVAL;
	if (!ext && id >= OBD_RESPONSE_ID_BASE && id <= OBD_RESPONSE_ID_BASE + 7) {
		*ret_request_id = id - 8;
		return 0;
	}
	/* ISO 15765-4:2016 6.3.2.3: 29-bit responses 0x18DAF1xx from ECU address xx, physical
	 * requests 0x18DAxxF1. */
	if (ext && (id & 0xffffff00u) == 0x18daf100u) {
		*ret_request_id = 0x18da00f1u | (id & 0xffu) << 8;
		return 0;
	}
	return -ENOENT;
}

struct slot {
	struct obd_responder r;
	uint8_t *buf;
	int64_t deadline;
};

struct obd_collector {
	size_t max_pdu;
	uint8_t mode;
	int64_t deadline;
	int64_t window_end; /* start + timeout, before any 0x78 extension */
	uint32_t timeout_us;
	size_t n;
	struct slot s[MAX_RESPONDERS];
};

int obd_collector_new(size_t max_pdu, struct obd_collector **ret)
{
	struct obd_collector *c;

	if (!ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->max_pdu = max_pdu ? max_pdu : 4095;
	c->deadline = INT64_MIN;
	*ret = c;
	return 0;
}

struct obd_collector *obd_collector_free(struct obd_collector *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < MAX_RESPONDERS; i++)
		free(c->s[i].buf);
	free(c);
	return NULL;
}

int obd_collector_start(struct obd_collector *c, const uint8_t *req, size_t len, int64_t now_us,
			uint32_t timeout_us)
{
	if (!c || !req || len == 0)
		return -EINVAL;
	c->mode = req[0];
	c->timeout_us = timeout_us ? timeout_us : OBD_P2_US;
	c->deadline = c->window_end = now_us + c->timeout_us;
	for (size_t i = 0; i < c->n; i++) {
		free(c->s[i].buf);
		c->s[i] = (struct slot){0};
	}
	c->n = 0;
	return 0;
}

static void recompute_deadline(struct obd_collector *c)
{
	int64_t d = c->window_end;

	/* The window stays open while some responder announced 0x78 and has not answered. */
	for (size_t i = 0; i < c->n; i++)
		if (c->s[i].r.n_pending && !c->s[i].r.final && c->s[i].deadline > d)
			d = c->s[i].deadline;
	c->deadline = d;
}

int obd_collector_add(struct obd_collector *c, uint32_t id, bool ext, const uint8_t *pdu, size_t len,
		      int64_t now_us)
{
	uint32_t req_id;
	struct slot *s = NULL;
	bool pending;
	size_t i;

	if (!c || (!pdu && len))
		return -EINVAL;
	if (len == 0 || obd_response_to_request_id(id, ext, &req_id) < 0)
		return 0;
	if (pdu[0] == 0x7f) {
		if (len < 3 || pdu[1] != c->mode)
			return 0;
	} else if (pdu[0] != (uint8_t)(c->mode + 0x40)) {
		return 0;
	}
	if (len > c->max_pdu)
		return -ENOBUFS;
	for (i = 0; i < c->n; i++)
		if (c->s[i].r.id == id && c->s[i].r.ext == ext) {
			s = &c->s[i];
			break;
		}
	if (!s) {
		if (c->n == MAX_RESPONDERS)
			return -E2BIG;
		/* keep the table sorted by response id */
		for (i = c->n; i > 0 && (c->s[i - 1].r.id > id); i--)
			c->s[i] = c->s[i - 1];
		c->s[i] = (struct slot){.r = {.id = id, .ext = ext, .request_id = req_id}};
		s = &c->s[i];
		c->n++;
	}
	pending = pdu[0] == 0x7f && pdu[2] == 0x78;
	if (pending) {
		s->r.n_pending++;
		s->deadline = now_us + OBD_P2STAR_US;
	} else {
		uint8_t *b = realloc(s->buf, len);
		if (!b)
			return -ENOMEM;
		memcpy(b, pdu, len);
		s->buf = b;
		s->r.pdu = b;
		s->r.len = len;
		s->r.final = true;
	}
	recompute_deadline(c);
	return 1;
}

bool obd_collector_done(const struct obd_collector *c, int64_t now_us)
{
	return !c || now_us >= c->deadline;
}

int64_t obd_collector_deadline(const struct obd_collector *c)
{
	return c ? c->deadline : INT64_MIN;
}

size_t obd_collector_count(const struct obd_collector *c)
{
	return c ? c->n : 0;
}

int obd_collector_get(const struct obd_collector *c, size_t i, struct obd_responder *ret)
{
	if (!c || !ret)
		return -EINVAL;
	if (i >= c->n)
		return -ERANGE;
	*ret = c->s[i].r;
	return 0;
}
