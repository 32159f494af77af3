/* SPDX-License-Identifier: MIT */
/*
 * discover-text: the discovery's words and files, apart from its machine (discover.c):
 * the range syntax of --range, names of identifiers and states, identification values
 * and the VIN as text, a role guessed from the system name, the profile skeleton
 * --write-profile writes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/discover.h"
#include "bodydiag/obd.h"
#include "bytes.h"
#include "discover-private.h"

/* ---- ranges ---- */

static const struct {
	const char *word;
	enum discover_range_kind kind;
	uint32_t first, last, tx, rx;
} presets[] = {
    {"functional", DISCOVER_RANGE_FUNCTIONAL, 0, 0, OBD_FUNC_11, 0},
    {"functional29", DISCOVER_RANGE_FUNCTIONAL29, 0, 0, OBD_FUNC_29, 0},
    {"11bit", DISCOVER_RANGE_11BIT, 0x700, 0x7F7, 0, 0},
    {"29bit", DISCOVER_RANGE_29BIT, 0x00, 0xFF, 0, 0},
    /* Toyota/Lexus: sub-ECUs behind the 0x750 gateway answer on 0x758 with their address
     * byte first; BMW: the tester 0x6F1 puts the ECU's address first, the ECU answers on
     * 0x600 + its address with the tester's 0xF1 first. */
    {"toyota", DISCOVER_RANGE_EXT_ECHO, 0x00, 0xFF, 0x750, 0x758},
    {"bmw", DISCOVER_RANGE_EXT_TESTER, 0x00, 0xFF, 0x6F1, 0x600},
};

size_t discover_default_ranges(struct discover_range *ret)
{
	size_t n = sizeof(presets) / sizeof(presets[0]);
	for (size_t k = 0; k < n; k++)
		ret[k] = (struct discover_range){
		    .kind = presets[k].kind,
		    .first = presets[k].first,
		    .last = presets[k].last,
		    .tx_id = presets[k].tx,
		    .rx_id = presets[k].rx,
		};
	return n;
}

/* Hex with optional 0x at s[*i], at most max. */
static bool hex_num(const char *s, size_t n, size_t *i, uint32_t max, uint32_t *ret)
{
	return bytes_hex(s, n, i, max, ret) == 0;
}

int discover_range_parse(const char *s, size_t n, struct discover_range *ret, char *err,
			 size_t errcap)
{
	struct discover_range r = {0};
	size_t w = 0, i;
	bool found = false;

	while (w < n && s[w] != ':')
		w++;
	if (w == 3 && memcmp(s, "ext", 3) == 0) {
		r.kind = DISCOVER_RANGE_EXT_ECHO;
		r.first = 0x00;
		r.last = 0xFF;
		i = 4;
		if (w == n || !hex_num(s, n, &i, 0x7FF, &r.tx_id) || i >= n || s[i] != '/')
			return bytes_errf(err, errcap,
					  "ext: expected ext:REQ/RESP with 11-bit ids");
		i++;
		if (!hex_num(s, n, &i, 0x7FF, &r.rx_id))
			return bytes_errf(err, errcap, "ext: bad response id");
		if (r.rx_id == r.tx_id)
			return bytes_errf(err, errcap, "ext: request and response id are the same");
		found = true;
	} else {
		for (size_t k = 0; k < sizeof(presets) / sizeof(presets[0]); k++)
			if (strlen(presets[k].word) == w && memcmp(presets[k].word, s, w) == 0) {
				r.kind = presets[k].kind;
				r.first = presets[k].first;
				r.last = presets[k].last;
				r.tx_id = presets[k].tx;
				r.rx_id = presets[k].rx;
				found = true;
			}
		i = w;
	}
	if (!found)
		return bytes_errf(err, errcap,
				  "unknown range '%.*s' (functional, functional29, 11bit, 29bit, "
				  "toyota, bmw, ext:REQ/RESP)",
				  (int)(w > 24 ? 24 : w), s);
	if (i < n) {
		bool functional =
		    r.kind == DISCOVER_RANGE_FUNCTIONAL || r.kind == DISCOVER_RANGE_FUNCTIONAL29;
		uint32_t max = r.kind == DISCOVER_RANGE_11BIT ? 0x7FF : 0xFF;
		if (functional || s[i] != ':')
			return bytes_errf(err, errcap, "unexpected text after the range name");
		i++;
		if (!hex_num(s, n, &i, max, &r.first) || i >= n || s[i] != '-')
			return bytes_errf(err, errcap, "expected FIRST-LAST (hex, at most 0x%X)",
					  max);
		i++;
		if (!hex_num(s, n, &i, max, &r.last) || i != n)
			return bytes_errf(err, errcap, "expected FIRST-LAST (hex, at most 0x%X)",
					  max);
		if (r.last < r.first)
			return bytes_errf(err, errcap, "LAST is below FIRST");
	}
	*ret = r;
	return 0;
}

int discover_range_format(const struct discover_range *r, char *buf, size_t size)
{
	switch (r->kind) {
	case DISCOVER_RANGE_FUNCTIONAL:
		return snprintf(buf, size, "functional");
	case DISCOVER_RANGE_FUNCTIONAL29:
		return snprintf(buf, size, "functional29");
	case DISCOVER_RANGE_11BIT:
		return snprintf(buf, size, "11bit:0x%03X-0x%03X", r->first, r->last);
	case DISCOVER_RANGE_29BIT:
		return snprintf(buf, size, "29bit:0x%02X-0x%02X", r->first, r->last);
	case DISCOVER_RANGE_EXT_ECHO:
		if (r->tx_id == 0x750 && r->rx_id == 0x758)
			return snprintf(buf, size, "toyota:0x%02X-0x%02X", r->first, r->last);
		return snprintf(buf, size, "ext:0x%03X/0x%03X:0x%02X-0x%02X", r->tx_id, r->rx_id,
				r->first, r->last);
	case DISCOVER_RANGE_EXT_TESTER:
		return snprintf(buf, size, "bmw:0x%02X-0x%02X", r->first, r->last);
	case DISCOVER_RANGE_KIND_MAX:
		break;
	}
	return snprintf(buf, size, "?");
}

unsigned discover_range_probes(const struct discover_range *r)
{
	switch (r->kind) {
	case DISCOVER_RANGE_FUNCTIONAL:
	case DISCOVER_RANGE_FUNCTIONAL29:
		return 2;
	case DISCOVER_RANGE_11BIT:
	case DISCOVER_RANGE_29BIT:
	case DISCOVER_RANGE_EXT_ECHO:
	case DISCOVER_RANGE_EXT_TESTER:
		return r->last >= r->first ? r->last - r->first + 1 : 0;
	case DISCOVER_RANGE_KIND_MAX:
		break;
	}
	return 0;
}

void discover_config_init(struct discover_config *c)
{
	*c = (struct discover_config){
	    .probe = DISCOVER_PROBE_TESTER_PRESENT,
	    /* A scan tool that waits P2 (50 ms) for each answer sends at most 20 per second. */
	    .rate = 20,
	    .max_time_us = 120000000,
	    .quiet_us = 500000,
	    .listen_us = 50000,
	    .ecu_budget_us = 10000000,
	    .tester = ISOTP_ADDR_TESTER,
	    .padding = 0xCC,
	    .identify = true,
	};
	uds_timing_init(&c->timing);
	c->timing.p2_us = 100000;
	c->timing.max_pending = 10;
}

/* ---- names ---- */

uint16_t discover_ident_did(enum discover_ident_id i)
{
	static const uint16_t dids[DISCOVER_ID_MAX] = {
	    [DISCOVER_ID_SPARE_PART] = 0xF187,	[DISCOVER_ID_SUPPLIER] = 0xF18A,
	    [DISCOVER_ID_SERIAL] = 0xF18C,	[DISCOVER_ID_VIN] = 0xF190,
	    [DISCOVER_ID_HARDWARE] = 0xF191,	[DISCOVER_ID_SOFTWARE] = 0xF195,
	    [DISCOVER_ID_SYSTEM_NAME] = 0xF197, [DISCOVER_ID_OBD_VIN] = 0,
	};
	return (unsigned)i < DISCOVER_ID_MAX ? dids[i] : 0;
}

const char *discover_ident_name(enum discover_ident_id i)
{
	switch (i) {
	case DISCOVER_ID_SPARE_PART:
		return "spare part";
	case DISCOVER_ID_SUPPLIER:
		return "supplier";
	case DISCOVER_ID_SERIAL:
		return "serial";
	case DISCOVER_ID_VIN:
		return "VIN";
	case DISCOVER_ID_HARDWARE:
		return "hardware";
	case DISCOVER_ID_SOFTWARE:
		return "software";
	case DISCOVER_ID_SYSTEM_NAME:
		return "system name";
	case DISCOVER_ID_OBD_VIN:
		return "VIN (OBD)";
	case DISCOVER_ID_MAX:
		break;
	}
	return "?";
}

const char *discover_ident_state_name(enum discover_ident_state s)
{
	switch (s) {
	case DISCOVER_IDENT_NOT_ASKED:
		return "not asked";
	case DISCOVER_IDENT_OK:
		return "ok";
	case DISCOVER_IDENT_NEGATIVE:
		return "negative";
	case DISCOVER_IDENT_NO_ANSWER:
		return "no answer";
	case DISCOVER_IDENT_GARBAGE:
		return "garbage";
	case DISCOVER_IDENT_PENDING:
		return "response pending without end";
	case DISCOVER_IDENT_TRANSPORT:
		return "transport error";
	case DISCOVER_IDENT_STATE_MAX:
		break;
	}
	return "?";
}

const char *discover_ecu_status_name(enum discover_ecu_status s)
{
	switch (s) {
	case DISCOVER_ECU_FOUND:
		return "found";
	case DISCOVER_ECU_IDENTIFIED:
		return "identified";
	case DISCOVER_ECU_GAVE_UP_PENDING:
		return "gave up: 0x78 without end";
	case DISCOVER_ECU_GAVE_UP_GARBAGE:
		return "gave up: garbage answers";
	case DISCOVER_ECU_GAVE_UP_BUDGET:
		return "gave up: time per ECU spent";
	case DISCOVER_ECU_STATUS_MAX:
		break;
	}
	return "?";
}

const char *discover_status_name(enum discover_status s)
{
	switch (s) {
	case DISCOVER_RUNNING:
		return "running";
	case DISCOVER_DONE:
		return "done";
	case DISCOVER_TIMEOUT:
		return "time bound reached";
	case DISCOVER_BUS_ERROR:
		return "stopped: bus error";
	case DISCOVER_SEND_ERROR:
		return "stopped: send failed";
	case DISCOVER_STATUS_MAX:
		break;
	}
	return "?";
}

/* ---- ids in use ---- */
static bool is_fill(uint8_t c)
{
	return c == 0x00 || c == 0xFF || c == ' ';
}

/* The value without leading and trailing fill; *ret_len 0 when nothing is left. */
static const uint8_t *trimmed(const struct discover_ident *id, size_t *ret_len)
{
	size_t a = 0, b = id->len;

	while (a < b && is_fill(id->data[a]))
		a++;
	while (b > a && is_fill(id->data[b - 1]))
		b--;
	*ret_len = b - a;
	return id->data + a;
}

int discover_ident_format(const struct discover_ident *id, char *buf, size_t size)
{
	size_t n, o = 0;
	const uint8_t *p = trimmed(id, &n);
	bool text = n > 0;

	for (size_t i = 0; i < n; i++)
		text = text && p[i] >= 0x20 && p[i] < 0x7F;
	if (size)
		buf[0] = '\0';
	if (text)
		return snprintf(buf, size, "%.*s", (int)n, (const char *)p);
	for (size_t i = 0; i < id->len; i++) {
		int w = snprintf(o < size ? buf + o : NULL, o < size ? size - o : 0, "%s%02X",
				 i ? " " : "", id->data[i]);
		if (w > 0)
			o += (size_t)w;
	}
	return (int)o;
}

int discover_ecu_vin(const struct discover_ecu *e, struct vin_info *ret)
{
	static const enum discover_ident_id order[] = {DISCOVER_ID_VIN, DISCOVER_ID_OBD_VIN};
	int r = -ENOENT;

	for (size_t k = 0; k < 2; k++) {
		const struct discover_ident *id = &e->ident[order[k]];
		struct vin_info v;
		size_t n;
		const uint8_t *p;
		if (id->state != DISCOVER_IDENT_OK)
			continue;
		p = trimmed(id, &n);
		if (vin_parse((const char *)p, n, &v) == 0) {
			*ret = v;
			return 0;
		}
		if (r == -ENOENT) {
			*ret = v;
			r = -EINVAL;
		}
	}
	return r;
}

/* Words of a system name that name a role: long keywords match a word's start
 * ("TRANS" in "Transmission"), short ones (acronyms) a whole word. */
static const struct {
	const char *role;
	const char *words[14];
} roles[] = {
    {"tailgate", {"TAILGATE", "LIFTGATE", "TRUNK", "HECKKLAPPE", "PLG", "HKL", "BOOT"}},
    {"keyless",
     {"KEYLESS", "RKE", "PEPS", "KVM", "CAS", "IMMOBILIZER", "IMMO", "KESSY", "RFA", "PASSIVE"}},
    {"door", {"DOOR", "DDM", "PDM", "DCM", "TUER"}},
    {"bcm", {"BCM", "BODY", "BSI", "SAM", "FEM", "BDC", "CEM", "UCH", "COMFORT", "KOMFORT"}},
    {"gateway", {"GATEWAY", "GW", "ZGW", "CGW", "SGW", "CGM"}},
    {"engine", {"ENGINE", "ECM", "PCM", "DME", "DDE", "MOTOR", "EMS"}},
    {"transmission", {"TRANS", "TCM", "TCU", "EGS", "GEARBOX"}},
    {"brakes", {"ABS", "ESP", "ESC", "DSC", "EBCM", "BRAKE", "VSA", "VSC"}},
    {"steering", {"STEER", "EPS", "PSCM", "EPAS"}},
    {"airbag", {"AIRBAG", "SRS", "ACSM", "RCM", "ORC", "SDM", "RESTRAINT"}},
    {"cluster", {"CLUSTER", "IPC", "INSTRUMENT", "KOMBI"}},
    {"climate", {"HVAC", "CLIMA", "CLIMATE", "IHKA", "FATC"}},
    {"infotainment", {"RADIO", "AUDIO", "INFOTAINMENT", "HEADUNIT", "NAVI", "MMI", "TELEMATICS"}},
    {"adas", {"CAMERA", "RADAR", "ADAS", "CRUISE", "PARK"}},
};

static bool word_matches(const char *w, size_t n, const char *k)
{
	size_t kn = strlen(k);
	if (kn >= 5)
		return n >= kn && memcmp(w, k, kn) == 0;
	return n == kn && memcmp(w, k, kn) == 0;
}

const char *discover_guess_role(const struct discover_ecu *e)
{
	const struct discover_ident *id = &e->ident[DISCOVER_ID_SYSTEM_NAME];
	char up[DISCOVER_IDENT_BYTES + 1];
	size_t n;

	if (id->state == DISCOVER_IDENT_OK) {
		const uint8_t *p = trimmed(id, &n);
		for (size_t i = 0; i < n; i++)
			up[i] = (p[i] >= 'a' && p[i] <= 'z') ? (char)(p[i] - 32) : (char)p[i];
		up[n] = '\0';
		for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
			for (size_t i = 0; i < n;) {
				while (i < n && !((up[i] >= 'A' && up[i] <= 'Z') ||
						  (up[i] >= '0' && up[i] <= '9')))
					i++;
				size_t a = i;
				while (i < n && ((up[i] >= 'A' && up[i] <= 'Z') ||
						 (up[i] >= '0' && up[i] <= '9')))
					i++;
				for (size_t k = 0; a < i && roles[r].words[k]; k++)
					if (word_matches(up + a, i - a, roles[r].words[k]))
						return roles[r].role;
			}
	}
	/* ISO 15765-4 convention: OBD ECU #1 (0x7E0/0x7E8) is the engine, #2 the gearbox. */
	if (e->obd && !e->addr.ext_ids && e->addr.rx_id == 0x7E8)
		return "engine";
	if (e->obd && !e->addr.ext_ids && e->addr.rx_id == 0x7E9)
		return "transmission";
	return NULL;
}

/* ---- profile skeleton ---- */

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	o->err = bytes_append(&o->buf, &o->len, &o->cap, tmp, (size_t)n, 4096, 1u << 24);
}

/* A profile value may not contain ';' (comment) nor a newline: keep it printable. */
static void clean(char *s)
{
	for (; *s; s++)
		if (*s == ';' || (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F)
			*s = '_';
}

static void write_ecu(struct out *o, const struct discover_ecu *e, const char *name)
{
	const struct isotp_addr *a = &e->addr;
	char text[3 * DISCOVER_IDENT_BYTES + 8], compact[160];

	put(o, "\n[ecu %s]\n", name);
	if (e->ident[DISCOVER_ID_SYSTEM_NAME].state == DISCOVER_IDENT_OK) {
		discover_ident_format(&e->ident[DISCOVER_ID_SYSTEM_NAME], text, sizeof(text));
		clean(text);
		if (text[0])
			put(o, "name = %s\n", text);
	}
	isotp_addr_format(a, compact, sizeof(compact));
	put(o, "; found %s%s, %s; %s\n",
	    e->found_by == DISCOVER_FOUND_PHYSICAL ? "by a physical probe"
						   : "by a functional request",
	    e->request_guessed ? " (request id guessed: response - 8)" : "",
	    e->obd ? "answers OBD-II" : "UDS", compact);
	switch (a->mode) {
	case ISOTP_ADDR_NORMAL:
		put(o, "request = 0x%0*X\nresponse = 0x%0*X\n", a->ext_ids ? 8 : 3, a->tx_id,
		    a->ext_ids ? 8 : 3, a->rx_id);
		break;
	case ISOTP_ADDR_NORMAL_FIXED:
		put(o, "addressing = normal_fixed\ntarget = 0x%02X\nsource = 0x%02X\n", a->target,
		    a->source);
		break;
	case ISOTP_ADDR_MIXED:
		put(o,
		    "addressing = mixed\nrequest = 0x%0*X\nresponse = 0x%0*X\next_address = "
		    "0x%02X\n",
		    a->ext_ids ? 8 : 3, a->tx_id, a->ext_ids ? 8 : 3, a->rx_id, a->tx_ea);
		break;
	case ISOTP_ADDR_EXTENDED:
		put(o,
		    "addressing = extended\nrequest = 0x%03X\nresponse = 0x%03X\ntarget = 0x%02X\n",
		    a->tx_id, a->rx_id, a->tx_ea);
		if (a->rx_ea != a->tx_ea)
			put(o, "source = 0x%02X\n", a->rx_ea);
		break;
	case ISOTP_ADDR_MODE_MAX:
		break;
	}
	if (a->functional_id)
		put(o, "functional = 0x%0*X\n", a->functional_id > 0x7FF ? 8 : 3, a->functional_id);
	if (a->padding >= 0)
		put(o, "padding = 0x%02X\n", (unsigned)a->padding);
	for (enum discover_ident_id i = 0; i < DISCOVER_ID_MAX; i++) {
		const struct discover_ident *id = &e->ident[i];
		uint16_t did = discover_ident_did(i);
		char label[32];
		if (did)
			snprintf(label, sizeof(label), "%s (%04X)", discover_ident_name(i), did);
		else
			snprintf(label, sizeof(label), "%s", discover_ident_name(i));
		if (id->state == DISCOVER_IDENT_OK) {
			discover_ident_format(id, text, sizeof(text));
			clean(text);
			put(o, "; %s: %s\n", label, text);
		} else if (id->state == DISCOVER_IDENT_NEGATIVE) {
			const char *nrc = uds_nrc_name(id->nrc);
			put(o, "; %s: NRC 0x%02X %s\n", label, id->nrc, nrc ? nrc : "");
		} else if (id->state != DISCOVER_IDENT_NOT_ASKED) {
			put(o, "; %s: %s\n", label, discover_ident_state_name(id->state));
		}
	}
	if (e->status != DISCOVER_ECU_IDENTIFIED && e->status != DISCOVER_ECU_FOUND)
		put(o, "; %s\n", discover_ecu_status_name(e->status));
}

int discover_write_profile(const struct discover *d, const struct discover_profile_opts *opts,
			   char **ret_text)
{
	struct discover_profile_opts none = {0};
	struct out o = {0};
	struct vin_info vin, any;
	bool have_vin = false, have_any = false;
	char names[DISCOVER_MAX_ECUS][24];

	if (!opts)
		opts = &none;
	if (discover_ecu_count(d) == 0)
		return -ENOENT;
	for (size_t i = 0; i < discover_ecu_count(d) && !have_vin; i++) {
		int r = discover_ecu_vin(discover_ecu_at(d, i), &vin);
		if (r == 0)
			have_vin = true;
		else if (r == -EINVAL && !have_any) {
			any = vin;
			have_any = true;
		}
	}
	if (opts->header) {
		char h[256];
		snprintf(h, sizeof(h), "%s", opts->header);
		clean(h);
		put(&o, "; %s\n", h);
	}
	put(&o,
	    "; Profile skeleton written by bodydiag discover: the ECUs that answered, how they\n"
	    "; are addressed and what they said about themselves. Check the [vehicle] facts, "
	    "rename\n"
	    "; the ECUs (names are guessed from the system name F197), then add [did] and [dtc]\n"
	    "; sections (profiles/README.md).\n"
	    "format = 1\n\n[vehicle]\n");
	if (have_vin && vin.maker) {
		put(&o, "make = %s\n", vin.maker->make);
		put(&o, "; the VIN's WMI %s is %s (group: %s)\n", vin.wmi, vin.maker->brand,
		    vin.maker->group);
	} else {
		put(&o, "make = unknown\n");
	}
	put(&o, "platform = unknown\n");
	if (have_vin) {
		put(&o, "; VIN %s, region %s, check digit %s", vin.vin, vin_region_name(vin.region),
		    vin_check_name(vin.check));
		if (vin.model_year)
			put(&o, ", model year %d", vin.model_year);
		else if (vin.model_years[0])
			put(&o, ", model year %d or %d", vin.model_years[0], vin.model_years[1]);
		put(&o, "\n");
	} else if (have_any) {
		put(&o, "; a VIN was read but is not valid: %s\n", any.reason);
	}
	if (opts->bus) {
		char b[64];
		snprintf(b, sizeof(b), "%s", opts->bus);
		clean(b);
		put(&o, "bus = %s\n", b);
	}
	if (opts->bitrate)
		put(&o, "bitrate = %u\n", opts->bitrate);

	for (size_t i = 0; i < discover_ecu_count(d); i++) {
		const struct discover_ecu *e = discover_ecu_at(d, i);
		const char *role = discover_guess_role(e);
		char base[24];
		if (role)
			snprintf(base, sizeof(base), "%s", role);
		else if (e->addr.mode == ISOTP_ADDR_EXTENDED)
			snprintf(base, sizeof(base), "ecu_%x_%x", e->addr.rx_id, e->addr.tx_ea);
		else
			snprintf(base, sizeof(base), "ecu_%x", e->addr.rx_id);
		snprintf(names[i], sizeof(names[i]), "%s", base);
		for (unsigned k = 2; k < 100; k++) {
			bool dup = false;
			for (size_t j = 0; j < i; j++)
				dup = dup || strcmp(names[j], names[i]) == 0;
			if (!dup)
				break;
			snprintf(names[i], sizeof(names[i]), "%.18s_%u", base, k);
		}
		write_ecu(&o, e, names[i]);
	}
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	if (bytes_append(&o.buf, &o.len, &o.cap, "", 1, 4096, 1u << 24) < 0) {
		free(o.buf);
		return -ENOMEM;
	}
	*ret_text = o.buf;
	return 0;
}
