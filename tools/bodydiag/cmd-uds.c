/* SPDX-License-Identifier: MIT */
/*
 * bodydiag uds [--profile P] [--ecu ID ...] [--pair REQ:RESP|ADDR ...] [--json] CAPTURE.log|-
 *
 * The ISO-TP/UDS view of a candump capture, as a protocol analyser shows it: both
 * directions of every diagnostic conversation reassembled by lib/isotp's passive
 * observer, one line per PDU (time, interface, ECU, direction, CAN id, latency since the
 * request, uds_describe_ex() text, then what the profile adds: DID names and scaled
 * values, DTC meanings), and one line per transport problem (wrong sequence number,
 * missing consecutive frames, missing flow control) or unanswered request.
 *
 * Conversations: every ECU of the profile (only those named by --ecu when given), the
 * OBD-II pairs 0x7E0-0x7E7 / 0x7E8-0x7EF with the functional 0x7DF (unless --ecu is
 * given; 0x7DF then also stands for the profile's ECUs without a functional id), and every
 * --pair. A functional request is shown once and opens a request on every conversation
 * that answers that functional id (unless it still waits for a physical one).
 *
 * Every addressing format of ISO 15765-2 (lib/isotp_addr): a profile ECU is followed with
 * its [ecu] addressing, so extended (an N_TA byte before the N_PCI: BMW's 0x6F1 with one
 * byte per ECU, Toyota-style gateways) and mixed addressing reassemble, and ECUs that share
 * CAN ids are told apart by their address bytes; --pair takes the compact address form
 * too. Functional requests are followed for ECUs without an address byte (normal and
 * normal_fixed): the profile gives no functional address byte for the other two.
 *
 * Text: `TIME IFACE ECU DIR ID LATENCY TEXT [| PROFILE] [(NOTE)]`, DIR REQ, RSP or ERR
 * (then TEXT starts with the problem's name: N_WRONG_SN, N_TIMEOUT_Cr, NO_RESPONSE...),
 * ECU `-` when unknown and `functional` for functional requests, LATENCY `12.5ms` from
 * the request's last frame to the response's first, `-` otherwise.
 * --json: {"t", "iface", "ecu", "dir": request|response|error, "id", "ext", "latency_ms",
 * "sid", "service", "nrc", "nrc_name", "data" (hex), "error", "text", "profile", "values",
 * "labels", "dtcs", "note"}, keys without a value left out ("ecu" and "service" null).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "summary.h"
#include "bodydiag/candump.h"
#include "bodydiag/dtc.h"
#include "bodydiag/numfmt.h"
#include "bodydiag/isotp.h"
#include "bodydiag/isotp_addr.h"
#include "bodydiag/obd.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "out.h"

#define MAX_CONVS 64u
#define MAX_FUNCS 8u
#define OBD_FUNCTIONAL 0x7DFu
#define OBD_REQUEST 0x7E0u
#define OBD_RESPONSE 0x7E8u

struct view;

struct func {
	struct view *v;
	uint32_t id;
	bool ext;
	struct isotp_observer *obs;
};

struct conv {
	struct view *v;
	struct isotp_addr addr; /* how it is followed: ids (tx: requests), format, address bytes */
	const struct profile_ecu *ecu; /* NULL for OBD defaults and --pair */
	struct func *func;	       /* functional id this ECU answers; may be NULL */
	struct isotp_observer *obs;
	uint32_t p2_ms, p2star_ms;
	char iface[CANDUMP_MAX_IFACE];
	/* the last request to this ECU (physical or functional) */
	uint8_t req[ISOTP_PDU_MAX_12BIT];
	size_t req_len;
	int64_t req_t; /* its last frame */
	bool have_req;
	bool open;	     /* a response is expected and none final arrived yet */
	bool functional;     /* the open request was functional: silence is normal */
	int64_t last_active; /* request or latest 0x78: P2* runs from here */
	bool pending;	     /* a 0x78 came */
};

struct view {
	const struct profile *prof;
	struct conv convs[MAX_CONVS];
	size_t nconvs;
	struct func funcs[MAX_FUNCS];
	size_t nfuncs;
	bool json;
	struct out *out;
	const char *capture;
	const char *iface; /* of the frame being fed */
	int64_t now;	   /* time of the last frame */
	bool have_t0;
	int64_t t0;	   /* text: the first frame's time, the zero of the lines' times */
	unsigned pdus, problems;
	struct line_notes bad;
};

/* ---- output ---- */

struct line {
	int64_t t;
	const char *iface;
	const char *ecu; /* NULL: unknown */
	const char *dir; /* REQ, RSP, ERR */
	uint32_t id;
	bool ext;
	bool has_latency;
	double latency_ms;
	const uint8_t *pdu; /* NULL for ERR */
	size_t len;
	const char *text;
	const char *profile; /* "" when nothing to add */
	const char *error;   /* ERR: the name of the problem */
	const char *note;    /* "" or "over P2 50 ms" */
	const struct conv *conv; /* for the --json details; NULL: none */
};

static void json_details(const struct conv *c, struct out *o, const uint8_t *p, size_t len,
			 bool response);

static void out_t(struct out *o, int64_t t)
{
	/* capture times are positive; a negative one is printed as such */
	int64_t s = t / 1000000, us = t % 1000000;
	if (us < 0) {
		us += 1000000;
		s--;
	}
	out_printf(o, "%" PRId64 ".%06" PRId64, s, us);
}

static void out_id(struct out *o, uint32_t id, bool ext)
{
	out_printf(o, ext ? "%08" PRIX32 : "%03" PRIX32, id);
}

static void emit(struct view *v, const struct line *l)
{
	struct out *o = v->out;

	if (!v->json) {
		/* one clock for people: seconds from the first frame, said once with its UTC */
		out_char(o, l->t < v->t0 ? '-' : '+');
		out_t(o, l->t < v->t0 ? v->t0 - l->t : l->t - v->t0);
		out_printf(o, " %s %s %s ", l->iface, l->ecu ? l->ecu : "-", l->dir);
		out_id(o, l->id, l->ext);
		if (l->has_latency)
			out_printf(o, " %.1fms", l->latency_ms);
		else
			out_str(o, " -");
		if (l->error)
			out_printf(o, " %s:", l->error);
		out_printf(o, " %s", l->text);
		if (l->profile[0])
			out_printf(o, " | %s", l->profile);
		if (l->note[0])
			out_printf(o, " (%s)", l->note);
		out_char(o, '\n');
		return;
	}
	out_str(o, "{\"t\": ");
	out_t(o, l->t);
	out_str(o, ", \"iface\": ");
	out_json_string(o, l->iface);
	out_str(o, ", \"ecu\": ");
	if (l->ecu)
		out_json_string(o, l->ecu);
	else
		out_str(o, "null");
	out_str(o, ", \"dir\": ");
	out_json_string(o, strcmp(l->dir, "REQ") == 0   ? "request"
			   : strcmp(l->dir, "RSP") == 0 ? "response"
							: "error");
	out_printf(o, ", \"id\": %" PRIu32 ", \"ext\": %s", l->id, l->ext ? "true" : "false");
	if (l->has_latency) {
		out_str(o, ", \"latency_ms\": ");
		out_double(o, l->latency_ms, true);
	}
	if (l->pdu && l->len > 0) {
		bool neg = l->pdu[0] == UDS_SID_NEGATIVE_RESPONSE && l->len >= 3;
		uint8_t sid = neg ? l->pdu[1] : l->pdu[0];
		const char *name = uds_service_name(sid);
		out_printf(o, ", \"sid\": %u, \"service\": ", sid);
		if (name)
			out_json_string(o, name);
		else
			out_str(o, "null");
		if (neg) {
			out_printf(o, ", \"nrc\": %u, \"nrc_name\": ", l->pdu[2]);
			out_json_string(o, uds_nrc_name(l->pdu[2]));
		}
		out_str(o, ", \"data\": \"");
		for (size_t i = 0; i < l->len; i++)
			out_printf(o, "%02X", l->pdu[i]);
		out_char(o, '"');
	}
	if (l->error) {
		out_str(o, ", \"error\": ");
		out_json_string(o, l->error);
	}
	out_str(o, ", \"text\": ");
	out_json_string(o, l->text);
	if (l->profile[0]) {
		out_str(o, ", \"profile\": ");
		out_json_string(o, l->profile);
	}
	if (l->conv && l->pdu)
		json_details(l->conv, o, l->pdu, l->len, strcmp(l->dir, "RSP") == 0);
	if (l->note[0]) {
		out_str(o, ", \"note\": ");
		out_json_string(o, l->note);
	}
	out_str(o, "}\n");
}

static const char *ecu_name(const struct conv *c)
{
	return c->ecu ? c->ecu->id : NULL;
}

static void problem(struct view *v, struct conv *c, int64_t t, bool request_dir, const char *error,
		    const char *text)
{
	struct line l = {
	    .t = t,
	    .iface = c->iface[0] ? c->iface : v->iface,
	    .ecu = ecu_name(c),
	    .dir = "ERR",
	    .id = request_dir ? c->addr.tx_id : c->addr.rx_id,
	    .ext = c->addr.ext_ids,
	    .text = text,
	    .profile = "",
	    .error = error,
	    .note = "",
	};
	v->problems++;
	emit(v, &l);
}

/* ---- what the profile adds ---- */

struct sbuf {
	char *buf;
	size_t size, used;
};

static void sadd(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sadd(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	if (s->used + 1 >= s->size)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(s->buf + s->used, s->size - s->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->used = (size_t)n >= s->size - s->used ? s->size - 1 : s->used + (size_t)n;
}

static const struct profile_did *find_did(const struct conv *c, uint16_t did)
{
	if (!c->v->prof)
		return NULL;
	return profile_did_find(c->v->prof, c->ecu ? c->ecu->id : NULL, did);
}

static int did_len(void *userdata, uint16_t did)
{
	const struct profile_did *d = find_did(userdata, did);
	return d ? profile_did_length(d) : -1;
}

static void add_did_name(struct sbuf *s, const struct conv *c, uint16_t did, bool *first)
{
	const struct profile_did *d = find_did(c, did);
	if (!d)
		return;
	sadd(s, "%s%s", *first ? "" : ", ", profile_did_name(d));
	*first = false;
}

static void add_did_value(struct sbuf *s, const struct conv *c, uint16_t did, const uint8_t *data,
			  size_t len, bool *first)
{
	const struct profile_did *d = find_did(c, did);
	char text[512];
	if (!d)
		return;
	int r = profile_did_format(d, data, len, text, sizeof(text));
	if (r == -EBADMSG)
		sadd(s, "%s%s: %s", *first ? "" : "; ", profile_did_name(d), text);
	else
		sadd(s, "%s%s", *first ? "" : "; ", text);
	*first = false;
}

static const struct profile_dtc *find_dtc(const struct conv *c, uint32_t code);

static void add_dtc(struct sbuf *s, const struct conv *c, uint32_t code, bool *first)
{
	const struct profile_dtc *t = find_dtc(c, code);
	char txt[DTC_TEXT_MAX];
	if (!t)
		return;
	dtc_format(code, txt, sizeof(txt));
	sadd(s, "%s%s %s", *first ? "" : "; ", txt, t->text);
	*first = false;
}

#define MAX_DIDS 32u

/* The DID records a PDU carries: 0x62 (split with the profile's lengths), 0x2E, 0x2F and
 * 0x6F (the control state is the DID's own record). Returns how many. */
static size_t pdu_dids(const struct conv *c, const uint8_t *p, size_t len, bool response,
		       struct uds_did_value *out)
{
	if (len < 3)
		return 0;
	if (!response) {
		if (p[0] == UDS_SID_WRITE_DATA_BY_IDENTIFIER && len > 3) {
			out[0] = (struct uds_did_value){(uint16_t)(p[1] << 8 | p[2]), p + 3, len - 3};
			return 1;
		}
		if (p[0] == UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER && len > 4) {
			out[0] = (struct uds_did_value){(uint16_t)(p[1] << 8 | p[2]), p + 4, len - 4};
			return 1;
		}
		return 0;
	}
	if (p[0] == UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER + 0x40 && len >= 5) {
		out[0] = (struct uds_did_value){(uint16_t)(p[1] << 8 | p[2]), p + 4, len - 4};
		return 1;
	}
	if (p[0] != UDS_SID_READ_DATA_BY_IDENTIFIER + 0x40)
		return 0;
	/* without its request, a 0x62 is taken as one DID (as uds_describe() does) */
	uint8_t one[3] = {UDS_SID_READ_DATA_BY_IDENTIFIER, p[1], p[2]};
	const uint8_t *req = one;
	size_t req_len = sizeof(one), n = 0;
	struct uds_response r;
	if (c->have_req && c->req_len && c->req[0] == UDS_SID_READ_DATA_BY_IDENTIFIER) {
		req = c->req;
		req_len = c->req_len;
	}
	if (uds_parse_read_did(req, req_len, p, len, did_len, (void *)c, out, MAX_DIDS, &n, &r) < 0)
		return 0;
	return n;
}

/* A 0x59 response with DTCs (a list, or one DTC with its records), parsed against the
 * request when there was one. */
static bool pdu_dtcs(const struct conv *c, const uint8_t *p, size_t len,
		     struct uds_rdtci_response *ret)
{
	uint8_t fake[2] = {UDS_SID_READ_DTC_INFORMATION, len >= 2 ? p[1] : 0};
	const uint8_t *req = fake;
	size_t req_len = sizeof(fake);
	if (len < 2 || p[0] != UDS_SID_READ_DTC_INFORMATION + 0x40)
		return false;
	if (c->have_req && c->req_len && c->req[0] == UDS_SID_READ_DTC_INFORMATION) {
		req = c->req;
		req_len = c->req_len;
	}
	*ret = (struct uds_rdtci_response){0};
	if (uds_parse_rdtci(req, req_len, p, len, ret) < 0 || ret->r.result != UDS_RESULT_OK)
		return false;
	return ret->shape == UDS_RDTCI_SHAPE_DTC_LIST || ret->shape == UDS_RDTCI_SHAPE_DTC_RECORDS;
}

static size_t dtc_count(const struct uds_rdtci_response *r)
{
	return r->shape == UDS_RDTCI_SHAPE_DTC_LIST ? r->n_dtcs : 1;
}

static struct uds_dtc_record dtc_at(const struct uds_rdtci_response *r, size_t i)
{
	struct uds_dtc_record d = {r->dtc, r->status};
	if (r->shape == UDS_RDTCI_SHAPE_DTC_LIST)
		uds_rdtci_dtc(r, i, &d);
	return d;
}

static const struct profile_dtc *find_dtc(const struct conv *c, uint32_t code)
{
	if (!c->v->prof)
		return NULL;
	return profile_dtc_find(c->v->prof, c->ecu ? c->ecu->id : NULL, code);
}

/* What the profile adds to a PDU's line: DID names, scaled values, DTC meanings. */
static void profile_text(const struct conv *c, const uint8_t *p, size_t len, bool response,
			 char *buf, size_t size)
{
	struct sbuf s = {.buf = buf, .size = size};
	struct uds_did_value dids[MAX_DIDS];
	struct uds_rdtci_response rd;
	bool first = true;
	size_t n;

	buf[0] = 0;
	if (!c->v->prof || len == 0)
		return;
	if (!response && p[0] == UDS_SID_READ_DATA_BY_IDENTIFIER) {
		for (size_t i = 1; i + 1 < len; i += 2)
			add_did_name(&s, c, (uint16_t)(p[i] << 8 | p[i + 1]), &first);
		return;
	}
	if ((n = pdu_dids(c, p, len, response, dids)) > 0) {
		for (size_t i = 0; i < n; i++)
			add_did_value(&s, c, dids[i].did, dids[i].data, dids[i].len, &first);
		return;
	}
	if (!response && (p[0] == UDS_SID_WRITE_DATA_BY_IDENTIFIER ||
			  p[0] == UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER) && len >= 3) {
		add_did_name(&s, c, (uint16_t)(p[1] << 8 | p[2]), &first);
		return;
	}
	if (response && pdu_dtcs(c, p, len, &rd))
		for (size_t i = 0; i < dtc_count(&rd); i++)
			add_dtc(&s, c, dtc_at(&rd, i).dtc, &first);
}

/* --json: the same facts as data. "values" {signal: physical} and "labels" {signal:
 * label} for every DID the profile decodes, "dtcs" [{dtc, status, status_bits, text}]. */
struct json_values {
	struct out *o; /* NULL: only count */
	bool labels;   /* the labels, not the values */
	unsigned n;
};

static int json_value(void *userdata, const struct profile_did *d, const struct dbc_signal *sg,
		      struct dbc_value val, const char *label, const char *text)
{
	struct json_values *j = userdata;
	if (j->labels && !label)
		return 0;
	if (!j->o) {
		j->n++;
		return 0;
	}
	if (j->n++)
		out_str(j->o, ", ");
	out_json_string(j->o, sg ? dbc_signal_name(sg) : profile_did_name(d));
	out_str(j->o, ": ");
	if (j->labels)
		out_json_string(j->o, label);
	else if (!sg)
		out_json_string(j->o, text);
	else if (val.type == DBC_VALUE_INT)
		out_i64(j->o, val.i);
	else if (val.type == DBC_VALUE_UINT)
		out_u64(j->o, val.u);
	else
		out_double(j->o, dbc_value_as_double(val), true);
	return 0;
}

static void json_details(const struct conv *c, struct out *o, const uint8_t *p, size_t len,
			 bool response)
{
	struct uds_did_value dids[MAX_DIDS];
	struct uds_rdtci_response rd;
	size_t n = c->v->prof ? pdu_dids(c, p, len, response, dids) : 0;

	for (int pass = 0; pass < 4 && n > 0; pass++) {
		/* passes 0 and 2 count, so that a key is written only when it has members */
		struct json_values j = {.o = pass & 1 ? o : NULL, .labels = pass >= 2};
		for (size_t i = 0; i < n; i++) {
			const struct profile_did *d = find_did(c, dids[i].did);
			if (d)
				profile_did_decode(d, dids[i].data, dids[i].len, json_value, &j);
		}
		if (!(pass & 1)) {
			if (j.n == 0)
				pass++;
			else
				out_str(o, pass ? ", \"labels\": {" : ", \"values\": {");
			continue;
		}
		out_char(o, '}');
	}
	if (!response || !pdu_dtcs(c, p, len, &rd))
		return;
	out_str(o, ", \"dtcs\": [");
	for (size_t i = 0; i < dtc_count(&rd); i++) {
		struct uds_dtc_record d = dtc_at(&rd, i);
		const struct profile_dtc *t = find_dtc(c, d.dtc);
		char code[DTC_TEXT_MAX], bits[160];
		dtc_format(d.dtc, code, sizeof(code));
		dtc_status_format(d.status, bits, sizeof(bits));
		out_str(o, i ? ", {\"dtc\": " : "{\"dtc\": ");
		out_json_string(o, code);
		out_printf(o, ", \"status\": %u, \"status_bits\": ", d.status);
		out_json_string(o, bits);
		if (t) {
			out_str(o, ", \"text\": ");
			out_json_string(o, t->text);
		}
		out_char(o, '}');
	}
	out_char(o, ']');
}

/*
 * SAE J1979 modes 0x01-0x0A share the 0x7DF/0x7E0 ids with UDS but are not UDS services:
 * uds_describe() calls them unknown, so lib/obd says what they are. Returns false for
 * anything else.
 */
static bool describe_obd(const uint8_t *p, size_t len, bool response, char *buf, size_t size)
{
	struct sbuf s = {.buf = buf, .size = size};
	uint8_t mode = response ? (uint8_t)(p[0] - 0x40) : p[0];

	if (len == 0 || mode < 0x01 || mode > 0x0A || (response && p[0] < 0x41))
		return false;
	buf[0] = 0;
	sadd(&s, "%sOBD mode %02X", response ? "PR " : "", mode);
	if (!response) {
		for (size_t i = 1; i < len && (mode == 0x01 || mode == 0x09); i++) {
			const char *n = mode == 0x01 ? obd_pid_name(p[i]) : NULL;
			sadd(&s, "%s0x%02X", i == 1 ? " PID " : ", ", p[i]);
			if (n)
				sadd(&s, " (%s)", n);
			else if (mode == 0x09 && p[i] == 0x02)
				sadd(&s, " (VIN)");
		}
		return true;
	}
	if (mode == 0x01) {
		struct obd_pid_value vals[8];
		struct obd_mode01_response r;
		if (obd_parse_mode01(p, len, vals, 8, &r) < 0)
			return true;
		for (size_t i = 0; i < r.n; i++) {
			const char *n = obd_pid_name(vals[i].pid), *unit = obd_pid_unit(vals[i].pid);
			double x;
			sadd(&s, "%s0x%02X", i ? ", " : " PID ", vals[i].pid);
			if (n)
				sadd(&s, " (%s)", n);
			char num[NUMFMT_DOUBLE_MAX];
			if (obd_decode_pid(vals[i].pid, vals[i].data, vals[i].len, &x) == 0) {
				numfmt_double_text(num, x);
				sadd(&s, " = %s%s%s", num, unit ? " " : "", unit ? unit : "");
			}
		}
	} else if (mode == 0x09 && len >= 2 && p[1] == 0x02) {
		struct obd_vin vin;
		if (obd_parse_vin(p, len, &vin) == 0 &&
		    (vin.result == OBD_RESULT_OK || vin.result == OBD_RESULT_INVALID_DATA))
			sadd(&s, " VIN \"%s\"%s", vin.vin,
			     vin.result == OBD_RESULT_OK ? "" : " (characters a VIN cannot hold)");
	} else if (mode == 0x03 || mode == 0x07 || mode == 0x0A) {
		uint16_t dtcs[64];
		struct obd_dtc_list r;
		if (obd_parse_dtcs(mode, p, len, dtcs, 64, &r) == 0 && r.result == OBD_RESULT_OK) {
			sadd(&s, ", %zu DTC%s", r.n, r.n == 1 ? "" : "s");
			for (size_t i = 0; i < r.n; i++) {
				char t[DTC_OBD_TEXT_MAX];
				dtc_format_obd(dtcs[i], t, sizeof(t));
				sadd(&s, "%s%s", i ? ", " : ": ", t);
			}
		}
	}
	return true;
}

/* ---- conversations ---- */

static void check_silence(struct view *v, struct conv *c, int64_t now)
{
	char text[256];
	if (!c->open || c->functional)
		return;
	int64_t deadline = c->last_active + (int64_t)c->p2star_ms * 1000;
	if (now < deadline)
		return;
	const char *name = uds_service_name(c->req[0]);
	snprintf(text, sizeof(text), "no response to %s (0x%02X) within %u ms%s",
		 name ? name : "service", c->req[0], c->p2star_ms,
		 c->pending ? " of the last 0x78" : "");
	c->open = false;
	problem(v, c, deadline, false, "NO_RESPONSE", text);
}

static void start_request(struct conv *c, const uint8_t *pdu, size_t len, int64_t t_last,
			  bool functional)
{
	struct view *v = c->v;
	if (c->open && !c->functional) {
		const char *name = uds_service_name(c->req[0]);
		char text[256];
		snprintf(text, sizeof(text), "no response to %s (0x%02X) before the next request",
			 name ? name : "service", c->req[0]);
		problem(v, c, t_last, false, "NO_RESPONSE", text);
	}
	c->req_len = len < sizeof(c->req) ? len : sizeof(c->req);
	memcpy(c->req, pdu, c->req_len);
	c->req_t = t_last;
	c->have_req = true;
	c->open = !uds_request_suppresses_response(pdu, len);
	c->functional = functional;
	c->last_active = t_last;
	c->pending = false;
}

static void on_pdu(void *userdata, enum isotp_dir dir, const uint8_t *pdu, size_t len,
		   int64_t t_first, int64_t t_last)
{
	struct conv *c = userdata;
	struct view *v = c->v;
	char text[2048], prof[2048], note[64] = "";
	bool response = dir == ISOTP_DIR_RESPONSE;
	struct uds_describe_opts o = {.did_len = did_len, .userdata = c};
	struct line l = {
	    .t = t_first,
	    .iface = v->iface,
	    .ecu = ecu_name(c),
	    .dir = response ? "RSP" : "REQ",
	    .id = response ? c->addr.rx_id : c->addr.tx_id,
	    .ext = c->addr.ext_ids,
	    .pdu = pdu,
	    .len = len,
	    .text = text,
	    .profile = prof,
	    .note = note,
	    .conv = c,
	};

	snprintf(c->iface, sizeof(c->iface), "%s", v->iface);
	v->pdus++;
	if (!response) {
		if (!describe_obd(pdu, len, false, text, sizeof(text)))
			uds_describe_ex(pdu, len, false, &o, text, sizeof(text));
		profile_text(c, pdu, len, false, prof, sizeof(prof));
		start_request(c, pdu, len, t_last, false);
		emit(v, &l);
		return;
	}
	if (c->have_req) {
		o.request = c->req;
		o.request_len = c->req_len;
		l.has_latency = true;
		l.latency_ms = (double)(t_first - c->req_t) / 1000.0;
	}
	if (!describe_obd(pdu, len, true, text, sizeof(text)))
		uds_describe_ex(pdu, len, true, &o, text, sizeof(text));
	profile_text(c, pdu, len, true, prof, sizeof(prof));
	bool pending = len >= 3 && pdu[0] == UDS_SID_NEGATIVE_RESPONSE &&
		       pdu[2] == UDS_NRC_RESPONSE_PENDING;
	if (c->open) {
		/* P2 from the request to the first answer; P2* from each 0x78 to the next */
		int64_t gap = t_first - c->last_active;
		uint32_t limit = c->pending ? c->p2star_ms : c->p2_ms;
		if (gap > (int64_t)limit * 1000)
			snprintf(note, sizeof(note), "over %s %u ms", c->pending ? "P2*" : "P2",
				 limit);
		c->last_active = t_first;
		if (pending)
			c->pending = true;
		else
			c->open = false;
	}
	emit(v, &l);
}

static const char *n_result_text(enum isotp_n_result r)
{
	switch (r) {
	case ISOTP_N_WRONG_SN:
		return "consecutive frame out of sequence";
	case ISOTP_N_TIMEOUT_CR:
		return "consecutive frame missing (N_Cr expired)";
	case ISOTP_N_TIMEOUT_BS:
		return "flow control missing (N_Bs expired)";
	case ISOTP_N_UNEXP_PDU:
		return "new single or first frame during a reception";
	case ISOTP_N_BUFFER_OVFLW:
		return "receiver overflow (FC OVFLW) or PDU too large";
	case ISOTP_N_INVALID_FS:
		return "invalid flow status";
	case ISOTP_N_WFT_OVRN:
		return "too many FC WAIT";
	case ISOTP_N_TIMEOUT_A:
	case ISOTP_N_ERROR:
	case ISOTP_N_OK:
	case ISOTP_N_RESULT_MAX:
		break;
	}
	return "transport error";
}

static void on_error(void *userdata, enum isotp_dir dir, enum isotp_n_result r,
		     const uint8_t *partial, size_t got, size_t len, int64_t t_us)
{
	struct conv *c = userdata;
	char text[256];
	snprintf(text, sizeof(text), "%s %s after %zu of %zu bytes", n_result_text(r),
		 dir == ISOTP_DIR_RESPONSE ? "in the response" : "in the request", got, len);
	problem(c->v, c, t_us, dir == ISOTP_DIR_REQUEST, isotp_n_result_name(r), text);
	/* the ECU did answer; the transport lost it: not also "no response" */
	if (dir == ISOTP_DIR_RESPONSE)
		c->open = false;
}

static void on_func_pdu(void *userdata, enum isotp_dir dir, const uint8_t *pdu, size_t len,
			int64_t t_first, int64_t t_last)
{
	struct func *f = userdata;
	struct view *v = f->v;
	char text[2048];
	struct line l = {
	    .t = t_first,
	    .iface = v->iface,
	    .ecu = "functional",
	    .dir = "REQ",
	    .id = f->id,
	    .ext = f->ext,
	    .pdu = pdu,
	    .len = len,
	    .text = text,
	    .profile = "",
	    .note = "",
	};
	if (dir != ISOTP_DIR_REQUEST)
		return;
	v->pdus++;
	if (!describe_obd(pdu, len, false, text, sizeof(text)))
		uds_describe_ex(pdu, len, false, NULL, text, sizeof(text));
	emit(v, &l);
	/* a functional request (tester present, OBD) does not end a physical one that
	 * still waits for its answer */
	for (size_t i = 0; i < v->nconvs; i++)
		if (v->convs[i].func == f && !(v->convs[i].open && !v->convs[i].functional))
			start_request(&v->convs[i], pdu, len, t_last, true);
}

static void on_func_error(void *userdata, enum isotp_dir dir, enum isotp_n_result r,
			  const uint8_t *partial, size_t got, size_t len, int64_t t_us)
{
	struct func *f = userdata;
	struct conv fake = {
	    .v = f->v, .addr = {.tx_id = f->id, .rx_id = f->id, .ext_ids = f->ext}};
	char text[256];
	snprintf(text, sizeof(text), "%s in a functional request after %zu of %zu bytes",
		 n_result_text(r), got, len);
	problem(f->v, &fake, t_us, true, isotp_n_result_name(r), text);
}

static struct func *add_func(struct view *v, uint32_t id)
{
	for (size_t i = 0; i < v->nfuncs; i++)
		if (v->funcs[i].id == id)
			return &v->funcs[i];
	if (v->nfuncs == MAX_FUNCS)
		return NULL;
	struct func *f = &v->funcs[v->nfuncs];
	struct isotp_observer_config cfg;
	static const struct isotp_observer_ops ops = {.pdu = on_func_pdu, .error = on_func_error};
	/* only frames on the functional id are fed to it: the response id is a placeholder */
	isotp_observer_config_init(&cfg, id, id ^ 1);
	cfg.ext_ids = id > 0x7FF;
	if (isotp_observer_new(&cfg, &ops, f, &f->obs) < 0)
		return NULL;
	f->v = v;
	f->id = id;
	f->ext = cfg.ext_ids;
	v->nfuncs++;
	return f;
}

/* The same conversation on the wire: ids and address bytes (padding, BS and STmin are what
 * a tester sends, not what tells conversations apart). */
static bool same_link(const struct isotp_addr *a, const struct isotp_addr *b)
{
	size_t bytes = isotp_addr_pci_offset(a);
	return a->tx_id == b->tx_id && a->rx_id == b->rx_id && a->ext_ids == b->ext_ids &&
	       isotp_addr_pci_offset(b) == bytes &&
	       (!bytes || (a->tx_ea == b->tx_ea && a->rx_ea == b->rx_ea));
}

static int add_conv(struct view *v, const struct isotp_addr *a, const struct profile_ecu *ecu,
		    uint32_t functional)
{
	static const struct isotp_observer_ops ops = {.pdu = on_pdu, .error = on_error};
	struct isotp_observer_config cfg;
	for (size_t i = 0; i < v->nconvs; i++) {
		struct conv *c = &v->convs[i];
		if (same_link(&c->addr, a)) {
			if (!c->ecu && ecu) /* a profile name beats an anonymous default */
				c->ecu = ecu;
			return 0;
		}
	}
	if (v->nconvs == MAX_CONVS)
		return -E2BIG;
	struct conv *c = &v->convs[v->nconvs];
	isotp_addr_observer_config(a, &cfg);
	int r = isotp_observer_new(&cfg, &ops, c, &c->obs);
	if (r < 0)
		return r;
	c->v = v;
	c->addr = *a;
	c->ecu = ecu;
	struct uds_timing t;
	uds_timing_init(&t);
	c->p2_ms = ecu ? ecu->p2_ms : t.p2_us / 1000;
	c->p2star_ms = ecu ? ecu->p2star_ms : t.p2star_us / 1000;
	/* a functional request of extended or mixed addressing carries an address byte the
	 * profile does not give */
	if (functional && isotp_addr_pci_offset(a) == 0) {
		c->func = add_func(v, functional);
		if (!c->func) {
			isotp_observer_free(c->obs);
			return -ENOMEM;
		}
	}
	v->nconvs++;
	return 0;
}

static void poll_all(struct view *v, int64_t now)
{
	for (size_t i = 0; i < v->nconvs; i++) {
		struct conv *c = &v->convs[i];
		if (isotp_observer_next_deadline(c->obs) <= now)
			isotp_observer_poll(c->obs, now);
		check_silence(v, c, now);
	}
	for (size_t i = 0; i < v->nfuncs; i++)
		if (isotp_observer_next_deadline(v->funcs[i].obs) <= now)
			isotp_observer_poll(v->funcs[i].obs, now);
}

static int on_record(void *userdata, const struct candump_record *r)
{
	struct view *v = userdata;
	const struct bd_frame *f = &r->tf.frame;
	bool ext = f->flags & BD_FRAME_EXT;

	if (f->flags & (BD_FRAME_ERR | BD_FRAME_RTR))
		return 0;
	v->now = r->tf.t_us;
	if (!v->have_t0) {
		char utc[40];
		v->have_t0 = true;
		v->t0 = r->tf.t_us;
		if (!v->json) {
			out_str(v->out, "# times are seconds from the first frame");
			if (summary_utc(r->tf.t_us, utc, sizeof(utc)))
				out_printf(v->out, ", %s (UTC)", utc);
			out_char(v->out, '\n');
		}
	}
	/* timeouts that expired before this frame come first, in time order */
	v->iface = r->iface;
	poll_all(v, r->tf.t_us);
	for (size_t i = 0; i < v->nconvs; i++) {
		struct conv *c = &v->convs[i];
		if (c->addr.ext_ids == ext && (f->id == c->addr.tx_id || f->id == c->addr.rx_id))
			isotp_observer_feed(c->obs, f, r->tf.t_us);
	}
	for (size_t i = 0; i < v->nfuncs; i++)
		if (v->funcs[i].ext == ext && f->id == v->funcs[i].id)
			isotp_observer_feed(v->funcs[i].obs, f, r->tf.t_us);
	return v->out->error;
}

static void on_bad_line(void *userdata, unsigned line, const char *reason)
{
	struct view *v = userdata;
	line_note(&v->bad, line, 0, reason);
}

/* End of capture: reassemblies cut short and requests still waiting. */
static void finish(struct view *v)
{
	for (size_t i = 0; i < v->nconvs; i++) {
		struct conv *c = &v->convs[i];
		v->iface = c->iface[0] ? c->iface : "-";
		isotp_observer_poll(c->obs, INT64_MAX);
		check_silence(v, c, v->now);
		if (c->open && !c->functional) {
			const char *name = uds_service_name(c->req[0]);
			char text[256];
			snprintf(text, sizeof(text), "no response to %s (0x%02X) before the end of the capture",
				 name ? name : "service", c->req[0]);
			c->open = false;
			problem(v, c, v->now, false, "NO_RESPONSE", text);
		}
	}
	for (size_t i = 0; i < v->nfuncs; i++)
		isotp_observer_poll(v->funcs[i].obs, INT64_MAX);
}

static bool parse_id(const char *s, const char *end, uint32_t *ret)
{
	char *e;
	if (s == end)
		return false;
	errno = 0;
	unsigned long x = strtoul(s, &e, 16);
	if (errno || e != end || x > 0x1FFFFFFF || s[0] == '-' || s[0] == '+')
		return false;
	*ret = (uint32_t)x;
	return true;
}

/* REQ:RESP in hex (normal addressing), or the compact address form of lib/isotp_addr
 * ("ext:6F1/640,ta=40,sa=F1"). 0, or -EINVAL after saying why on stderr. */
static int parse_pair(const char *s, struct isotp_addr *ret)
{
	const char *colon = strchr(s, ':');
	struct isotp_addr_error err;
	uint32_t req, resp;

	if (strchr(s, '/')) {
		if (isotp_addr_parse(s, strlen(s), ret, &err) == 0)
			return 0;
		fprintf(stderr, "bodydiag uds: bad --pair '%s': column %u: %s\n", s, err.column,
			err.message);
		return -EINVAL;
	}
	if (!colon || !parse_id(s, colon, &req) || !parse_id(colon + 1, colon + strlen(colon), &resp) ||
	    req == resp) {
		fprintf(stderr, "bodydiag uds: bad --pair '%s' (expected REQ:RESP in hex, e.g. 726:72E, "
				"or an address such as ext:6F1/640,ta=40,sa=F1)\n", s);
		return -EINVAL;
	}
	isotp_addr_init_normal(ret, req, resp);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bodydiag uds [--profile P] [--ecu ID ...] [--pair REQ:RESP|ADDR ...] [--json] "
		   "CAPTURE.log|-\n"
		   "  --profile P      vehicle profile: ECU ids, DID names and scaling, DTC texts\n"
		   "  --ecu ID         only this ECU of the profile (repeatable)\n"
		   "  --pair REQ:RESP  also follow this request/response id pair, hex, or an\n"
		   "                   address: ext:6F1/640,ta=40,sa=F1, mixed:...,ae=.. (repeatable)\n"
		   "  --json           one JSON object per line\n"
		   "Without --ecu: every ECU of the profile, plus the OBD-II ids (functional 7DF,\n"
		   "7E0-7E7 -> 7E8-7EF).\n");
}

int cmd_uds(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"profile", required_argument, NULL, 'p'}, {"ecu", required_argument, NULL, 'e'},
	    {"pair", required_argument, NULL, 'P'},    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	const char *profile_path = NULL, *ecus[MAX_CONVS], *pairs[MAX_CONVS];
	size_t necus = 0, npairs = 0;
	bool json = false;
	struct profile *prof = NULL;
	struct candump_reader *reader = NULL;
	struct view *v = NULL;
	char *text = NULL;
	size_t len = 0;
	int c, r, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:e:P:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			profile_path = optarg;
			break;
		case 'e':
			if (necus == MAX_CONVS) {
				fprintf(stderr, "bodydiag uds: too many --ecu\n");
				return 1;
			}
			ecus[necus++] = optarg;
			break;
		case 'P':
			if (npairs == MAX_CONVS) {
				fprintf(stderr, "bodydiag uds: too many --pair\n");
				return 1;
			}
			pairs[npairs++] = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (necus && !profile_path) {
		fprintf(stderr, "bodydiag uds: --ecu needs --profile\n");
		return 1;
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->out = malloc(sizeof(*v->out)))) {
		fprintf(stderr, "bodydiag uds: out of memory\n");
		goto out;
	}
	v->json = json;
	v->capture = argv[optind];
	v->iface = "-";

	if (profile_path) {
		struct profile_error err;
		r = profile_load(profile_path, &prof, &err);
		if (r < 0) {
			/* as `bodydiag decode` reports a DBC */
			if (err.line)
				fprintf(stderr, "%s:%u:%u: error: %s\n", err.file, err.line, err.column,
					err.message);
			else
				fprintf(stderr, "bodydiag uds: %s: %s\n", err.file, err.message);
			goto out;
		}
		v->prof = prof;
	}
	for (size_t i = 0; i < necus; i++)
		if (!profile_ecu_find(prof, ecus[i])) {
			fprintf(stderr, "bodydiag uds: %s: no [ecu %s] in the profile\n", profile_path,
				ecus[i]);
			goto out;
		}
	r = 0;
	for (size_t i = 0; prof && i < profile_ecu_count(prof) && r >= 0; i++) {
		const struct profile_ecu *e = profile_ecu_at(prof, i);
		bool wanted = necus == 0;
		for (size_t k = 0; k < necus; k++)
			wanted |= strcmp(ecus[k], e->id) == 0;
		/* without --ecu, 0x7DF stands for the ECUs that declare no functional id: a
		 * UDS request on it may be answered by any (the simulated BCM does) */
		if (wanted)
			r = add_conv(v, &e->addr, e,
				     e->functional_id ? e->functional_id
				     : necus == 0     ? OBD_FUNCTIONAL
						      : 0);
	}
	for (unsigned i = 0; necus == 0 && i < 8 && r >= 0; i++) {
		struct isotp_addr a;
		isotp_addr_init_normal(&a, OBD_REQUEST + i, OBD_RESPONSE + i);
		r = add_conv(v, &a, NULL, OBD_FUNCTIONAL);
	}
	for (size_t i = 0; i < npairs && r >= 0; i++) {
		struct isotp_addr a;
		if (parse_pair(pairs[i], &a) < 0)
			goto out;
		r = add_conv(v, &a, NULL, 0);
	}
	if (r < 0) {
		fprintf(stderr, "bodydiag uds: %s\n", strerror(-r));
		goto out;
	}

	/* whole captures are read at once (read_file), as `bodydiag analyze` reads them */
	r = read_file(v->capture, &text, &len);
	if (r < 0) {
		fprintf(stderr, "bodydiag uds: %s: %s\n", v->capture, strerror(-r));
		goto out;
	}
	v->bad = (struct line_notes){.file = v->capture, .severity = "bad line", .what = "bad lines",
				     .shown_max = 5};
	reader = candump_reader_new(0, on_record, on_bad_line, v);
	if (!reader)
		goto out;
	out_init(v->out, STDOUT_FILENO);
	r = candump_reader_feed(reader, text, len);
	if (r >= 0)
		r = candump_reader_finish(reader);
	line_notes_finish(&v->bad);
	if (r < 0)
		fprintf(stderr, "bodydiag uds: %s: %s\n", v->capture, strerror(-r));
	else
		finish(v);
	out_flush(v->out);
	if (v->out->error && r >= 0) {
		fprintf(stderr, "bodydiag uds: write: %s\n", strerror(-v->out->error));
		r = v->out->error;
	}
	ret = r < 0;
out:
	candump_reader_free(reader);
	free(text);
	if (v) {
		for (size_t i = 0; i < v->nconvs; i++)
			isotp_observer_free(v->convs[i].obs);
		for (size_t i = 0; i < v->nfuncs; i++)
			isotp_observer_free(v->funcs[i].obs);
		free(v->out);
	}
	free(v);
	profile_free(prof);
	return ret;
}
