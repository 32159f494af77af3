/* SPDX-License-Identifier: MIT */
/*
 * profile-parse: the line parser of vehicle profiles (the format's design is in
 * lib/profile.c's header comment).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/utf8.h"
#include "bytes.h"
#include "profile-private.h"

/* ---- parser state ---- */

static const struct key_def vehicle_keys[] = {
    {"make", KEY_REQUIRED},
    {"platform", KEY_REQUIRED},
    {"name", KEY_OPTIONAL},
    {"bus", KEY_OPTIONAL},
    {"bitrate", KEY_OPTIONAL},
    {"dbc", KEY_OPTIONAL},
    {"wmi", KEY_OPTIONAL},
    {NULL, 0},
};
/* request and response are required by the addressing (lib/isotp_addr): normal needs
 * them, normal_fixed computes them. Keys from ECU_ADDR_KEY_FIRST on go to isotp_addr. */
#define ECU_ADDR_KEY_FIRST 9
static const struct key_def ecu_keys[] = {
    {"name", KEY_OPTIONAL},
    {"request", KEY_OPTIONAL},
    {"response", KEY_OPTIONAL},
    {"functional", KEY_OPTIONAL},
    {"padding", KEY_OPTIONAL},
    {"p2_ms", KEY_OPTIONAL},
    {"p2star_ms", KEY_OPTIONAL},
    {"s3_ms", KEY_OPTIONAL},
    {"output_control_did", KEY_OPTIONAL},
    {"addressing", KEY_OPTIONAL},
    {"target", KEY_OPTIONAL},
    {"source", KEY_OPTIONAL},
    {"ext_address", KEY_OPTIONAL},
    {"bs", KEY_OPTIONAL},
    {"stmin", KEY_OPTIONAL},
    {NULL, 0},
};
static const struct key_def did_keys[] = {
    {"name", KEY_REQUIRED}, {"length", KEY_OPTIONAL}, {"signal", KEY_MULTI},
    {"values", KEY_MULTI},  {"ascii", KEY_OPTIONAL},  {NULL, 0},
};
static const struct key_def dtc_keys[] = {
    {"text", KEY_REQUIRED},
    {"source", KEY_REQUIRED},
    {"set", KEY_OPTIONAL},
    {NULL, 0},
};

static const struct key_def role_keys[] = {
    {"dbc_signal", KEY_OPTIONAL}, {"did", KEY_OPTIONAL},
    {"map", KEY_MULTI},		  {"default", KEY_OPTIONAL},
    {"scale", KEY_OPTIONAL},	  {"offset", KEY_OPTIONAL},
    {"source", KEY_REQUIRED},	  {"grade", KEY_REQUIRED},
    {"note", KEY_OPTIONAL},	  {NULL, 0},
};

static const struct {
	const char *word;
	unsigned nargs;
	const char *usage;
	const struct key_def *keys;
} sections[SECTION_MAX] = {
    [SECTION_VEHICLE] = {"vehicle", 0, "[vehicle]", vehicle_keys},
    [SECTION_ECU] = {"ecu", 1, "[ecu NAME]", ecu_keys},
    [SECTION_DID] = {"did", 2, "[did ECU ID]", did_keys},
    [SECTION_DTC] = {"dtc", 2, "[dtc ECU CODE]", dtc_keys},
    [SECTION_ROLE] = {"role", 1, "[role NAME]", role_keys},
};

int profile_fail(struct profile_parser *p, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;
	snprintf(p->err.file, sizeof(p->err.file), "%s", p->filename);
	p->err.line = line;
	p->err.column = column;
	va_start(ap, fmt);
	vsnprintf(p->err.message, sizeof(p->err.message), fmt, ap);
	va_end(ap);
	p->failed = -EINVAL;
	return -EINVAL;
}

/* Arrays hold exactly n elements and grow by doubling when n is 0 or a power of two. */
void *profile_grow(void *v, size_t n, size_t size)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return v;
	return realloc(v, (n ? n * 2 : 1) * size);
}

struct profile_parser *profile_parser_new(const char *filename)
{
	struct profile_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->filename = strdup(filename ? filename : "<memory>");
	p->prof = calloc(1, sizeof(*p->prof));
	if (!p->filename || !p->prof)
		return profile_parser_free(p);
	p->prof->filename = strdup(p->filename);
	if (!p->prof->filename)
		return profile_parser_free(p);
	p->lineno = 1;
	return p;
}

struct profile_parser *profile_parser_free(struct profile_parser *p)
{
	if (!p)
		return NULL;
	profile_free(p->prof);
	free(p->filename);
	free(p);
	return NULL;
}

/* ---- lexical helpers ---- */

bool profile_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

bool profile_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "0x" + 1..8 hex digits. */
bool profile_parse_hex(const char *s, size_t n, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;
	if (n < 3 || n > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (size_t i = 2; i < n; i++) {
		int h = hex_digit(s[i]);
		if (h < 0)
			return false;
		v = v * 16 + (unsigned)h;
	}
	if (v > max)
		return false;
	*ret = (uint32_t)v;
	return true;
}

bool profile_parse_dec(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!profile_is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* NAME: [a-z][a-z0-9_]* */
bool profile_is_name(const char *s, size_t n)
{
	if (n == 0 || !is_lower(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower(s[i]) && !profile_is_digit(s[i]) && s[i] != '_')
			return false;
	return true;
}

char *profile_dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* ---- sections ---- */

static int key_index(const struct key_def *keys, const char *k, size_t n)
{
	for (int i = 0; keys[i].name; i++)
		if (strlen(keys[i].name) == n && memcmp(keys[i].name, k, n) == 0)
			return i;
	return -1;
}

/* The [ecu] section's addressing, checked as a whole (lib/isotp_addr); request_id,
 * response_id and padding of the public struct follow it. */
static int ecu_addressing(struct profile_parser *p)
{
	struct ecu_entry *e = p->ecu;
	struct isotp_addr_spec *s = &e->spec;
	const char *key = NULL;
	char why[160];

	if (p->seen[1])
		s->request = e->pub.request_id;
	if (p->seen[2])
		s->response = e->pub.response_id;
	if (p->seen[3])
		s->functional = e->pub.functional_id;
	s->padding = e->pub.padding;
	if (isotp_addr_spec_build(s, &e->pub.addr, &key, why, sizeof(why)) < 0) {
		int k = key ? key_index(ecu_keys, key, strlen(key)) : -1;
		if (k >= 0 && p->seen[k])
			return profile_fail(p, p->seen[k], 1, "%s", why);
		return profile_fail(p, p->sec_line, p->sec_column, "%s in %s", why,
				    sections[SECTION_ECU].usage);
	}
	e->pub.request_id = e->pub.addr.tx_id;
	e->pub.response_id = e->pub.addr.rx_id;
	return 0;
}

static int end_section(struct profile_parser *p)
{
	const struct key_def *keys = sections[p->kind].keys;
	int r;

	if (p->kind == SECTION_NONE)
		return 0;
	for (int i = 0; keys[i].name; i++)
		if (keys[i].mult == KEY_REQUIRED && !p->seen[i])
			return profile_fail(p, p->sec_line, p->sec_column,
					    "missing required key '%s' in %s", keys[i].name,
					    sections[p->kind].usage);

	/* request and response both written, and equal: said at the response's position */
	if (p->kind == SECTION_ECU && p->seen[1] && p->seen[2] &&
	    p->ecu->pub.request_id == p->ecu->pub.response_id)
		/* ISO-TP needs two ids: one each way (the kernel refuses a socket with both equal)
		 */
		return profile_fail(
		    p, p->ecu->resp_line, p->ecu->resp_column,
		    "response id 0x%X is the request id too; an ECU answers on an id of its own",
		    p->ecu->pub.response_id);
	if (p->kind == SECTION_ROLE && (r = profile_end_role(p)) < 0)
		return r;
	if (p->kind == SECTION_ECU && (r = ecu_addressing(p)) < 0)
		return r;
	if (p->kind == SECTION_DID && (r = profile_end_did(p)) < 0)
		return r;
	p->kind = SECTION_NONE;
	return 0;
}

static int start_section(struct profile_parser *p, enum section_kind kind, unsigned column,
			 const char *const *arg, const size_t *arglen, const unsigned *argcol)
{
	struct profile *pr = p->prof;
	int r;

	if ((r = end_section(p)) < 0)
		return r;
	if (kind == SECTION_VEHICLE) {
		if (p->vehicle_seen)
			return profile_fail(p, p->lineno, column, "a second [vehicle] section");
		if (p->any_section)
			return profile_fail(p, p->lineno, column,
					    "[vehicle] must come before any other section");
		p->vehicle_seen = true;
	} else if (!p->vehicle_seen) {
		return profile_fail(p, p->lineno, column,
				    "[vehicle] must come before any other section");
	}
	p->any_section = true;
	p->kind = kind;
	p->sec_line = p->lineno;
	p->sec_column = column;
	memset(p->seen, 0, sizeof(p->seen));

	if (kind == SECTION_ECU) {
		if (!profile_is_name(arg[0], arglen[0]))
			return profile_fail(p, p->lineno, argcol[0],
					    "bad ECU name '%.*s' (expected [a-z][a-z0-9_]*)",
					    (int)arglen[0], arg[0]);
		for (size_t i = 0; i < pr->necus; i++)
			if (strlen(pr->ecus[i]->pub.id) == arglen[0] &&
			    memcmp(pr->ecus[i]->pub.id, arg[0], arglen[0]) == 0)
				return profile_fail(p, p->lineno, argcol[0],
						    "duplicate [ecu %s] (first at line %u)",
						    pr->ecus[i]->pub.id, pr->ecus[i]->line);
		if (pr->necus == PROFILE_MAX_ECUS)
			return profile_fail(p, p->lineno, column, "more than %u ECUs",
					    PROFILE_MAX_ECUS);
		struct ecu_entry *e = calloc(1, sizeof(*e));
		if (!e || !PUSH(pr->ecus, pr->necus)) {
			free(e);
			return -ENOMEM;
		}
		pr->ecus[pr->necus++] = e;
		e->line = p->lineno;
		e->pub.padding = -1;
		isotp_addr_spec_init(&e->spec);
		e->pub.p2_ms = DEFAULT_P2_MS;
		e->pub.p2star_ms = DEFAULT_P2STAR_MS;
		e->pub.s3_ms = DEFAULT_S3_MS;
		if (!(e->pub.id = profile_dup_n(arg[0], arglen[0])))
			return -ENOMEM;
		p->ecu = e;
		return 0;
	}
	if (kind == SECTION_ROLE)
		return profile_start_role(p, column, arg[0], arglen[0], argcol[0]);
	if (kind == SECTION_DID || kind == SECTION_DTC) {
		const struct ecu_entry *ecu = NULL;
		for (size_t i = 0; i < pr->necus; i++)
			if (strlen(pr->ecus[i]->pub.id) == arglen[0] &&
			    memcmp(pr->ecus[i]->pub.id, arg[0], arglen[0]) == 0)
				ecu = pr->ecus[i];
		if (!ecu)
			return profile_fail(p, p->lineno, argcol[0], "undeclared ECU '%.*s'",
					    (int)arglen[0], arg[0]);
		if (kind == SECTION_DID) {
			uint32_t id;
			if (arglen[1] != 6 || !profile_parse_hex(arg[1], arglen[1], 0xFFFF, &id))
				return profile_fail(p, p->lineno, argcol[1],
						    "bad DID '%.*s' (expected 0x and 4 hex digits)",
						    (int)arglen[1], arg[1]);
			for (size_t i = 0; i < pr->ndids; i++)
				if (pr->dids[i]->id == id && pr->dids[i]->ecu == ecu->pub.id)
					return profile_fail(
					    p, p->lineno, argcol[1],
					    "duplicate [did %s 0x%04X] (first at line %u)",
					    ecu->pub.id, id, pr->dids[i]->line);
			if (pr->ndids == PROFILE_MAX_DIDS)
				return profile_fail(p, p->lineno, column, "more than %u DIDs",
						    PROFILE_MAX_DIDS);
			struct profile_did *d = calloc(1, sizeof(*d));
			if (!d || !PUSH(pr->dids, pr->ndids)) {
				free(d);
				return -ENOMEM;
			}
			pr->dids[pr->ndids++] = d;
			d->id = (uint16_t)id;
			d->ecu = ecu->pub.id;
			d->length = -1;
			d->line = p->lineno;
			d->column = column;
			p->did = d;
			return 0;
		}
		/* L D H H H - H H, then lib/dtc's J2012 reading of it */
		const char *c = arg[1];
		uint32_t code;
		bool ok = arglen[1] == 8 && strchr("PCBU", c[0]) && c[1] >= '0' && c[1] <= '3' &&
			  hex_digit(c[2]) >= 0 && hex_digit(c[3]) >= 0 && hex_digit(c[4]) >= 0 &&
			  c[5] == '-' && hex_digit(c[6]) >= 0 && hex_digit(c[7]) >= 0;
		char code_text[DTC_TEXT_MAX];
		if (ok) {
			memcpy(code_text, c, 8);
			code_text[8] = 0;
			ok = dtc_parse(code_text, &code) == 0;
		}
		if (!ok)
			return profile_fail(
			    p, p->lineno, argcol[1],
			    "bad DTC '%.*s' (expected SAE J2012 text like B1A40-13)",
			    (int)arglen[1], arg[1]);
		for (size_t i = 0; i < pr->ndtcs; i++)
			if (pr->dtcs[i]->pub.code == code && pr->dtcs[i]->pub.ecu == ecu->pub.id)
				return profile_fail(p, p->lineno, argcol[1],
						    "duplicate [dtc %s %s] (first at line %u)",
						    ecu->pub.id, code_text, pr->dtcs[i]->line);
		if (pr->ndtcs == PROFILE_MAX_DTCS)
			return profile_fail(p, p->lineno, column, "more than %u DTCs",
					    PROFILE_MAX_DTCS);
		struct dtc_entry *e = calloc(1, sizeof(*e));
		if (!e || !PUSH(pr->dtcs, pr->ndtcs)) {
			free(e);
			return -ENOMEM;
		}
		pr->dtcs[pr->ndtcs++] = e;
		e->pub.ecu = ecu->pub.id;
		e->pub.code = code;
		e->line = p->lineno;
		p->dtc = e;
	}
	return 0;
}

static int parse_section(struct profile_parser *p, const char *s, size_t n, size_t i)
{
	size_t col0 = i;
	const char *arg[3];
	size_t arglen[3];
	unsigned argcol[3];
	unsigned nargs = 0;
	enum section_kind kind = SECTION_NONE;

	i++;
	size_t k = i;
	while (i < n && is_lower(s[i]))
		i++;
	for (enum section_kind sk = SECTION_VEHICLE; sk < SECTION_MAX; sk++)
		if (strlen(sections[sk].word) == i - k &&
		    memcmp(sections[sk].word, s + k, i - k) == 0)
			kind = sk;
	if (kind == SECTION_NONE) {
		size_t e = k;
		while (e < n && !profile_is_ws(s[e]) && s[e] != ']' && s[e] != ';')
			e++;
		return profile_fail(p, p->lineno, (unsigned)k + 1, "unknown section kind '%.*s'",
				    (int)(e - k), s + k);
	}
	for (;;) {
		if (i < n && s[i] == ']')
			break;
		if (i >= n || s[i] == ';')
			return profile_fail(p, p->lineno, (unsigned)i + 1, "missing ']'");
		if (!profile_is_ws(s[i]))
			return profile_fail(p, p->lineno, (unsigned)i + 1,
					    "unexpected '%c' in section header", s[i]);
		while (i < n && profile_is_ws(s[i]))
			i++;
		if (i < n && s[i] == ']')
			return profile_fail(p, p->lineno, (unsigned)i + 1, "blank before ']'");
		if (i >= n || s[i] == ';')
			return profile_fail(p, p->lineno, (unsigned)i + 1, "missing ']'");
		size_t a = i;
		while (i < n && !profile_is_ws(s[i]) && s[i] != ']' && s[i] != ';')
			i++;
		if (nargs == sections[kind].nargs)
			return profile_fail(p, p->lineno, (unsigned)a + 1, "too many arguments: %s",
					    sections[kind].usage);
		arg[nargs] = s + a;
		arglen[nargs] = i - a;
		argcol[nargs] = (unsigned)a + 1;
		nargs++;
	}
	if (nargs != sections[kind].nargs)
		return profile_fail(p, p->lineno, (unsigned)i + 1, "missing arguments: %s",
				    sections[kind].usage);
	i++;
	while (i < n && profile_is_ws(s[i]))
		i++;
	if (i < n && s[i] != ';')
		return profile_fail(p, p->lineno, (unsigned)i + 1, "unexpected text after ']'");
	return start_section(p, kind, (unsigned)col0 + 1, arg, arglen, argcol);
}

int profile_set_string(struct profile_parser *p, char **dst, const char *v, size_t vn,
		       unsigned vcol)
{
	if (vn == 0)
		return profile_fail(p, p->lineno, vcol, "empty value");
	free(*dst);
	*dst = profile_dup_n(v, vn);
	return *dst ? 0 : -ENOMEM;
}

static int set_can_id(struct profile_parser *p, uint32_t *dst, const char *v, size_t vn,
		      unsigned vcol)
{
	if (!profile_parse_hex(v, vn, 0x1FFFFFFF, dst))
		return profile_fail(
		    p, p->lineno, vcol,
		    "bad CAN id '%.*s' (expected 0x and up to 8 hex digits, at most 0x1FFFFFFF)",
		    (int)vn, v);
	return 0;
}

static int set_ms(struct profile_parser *p, uint32_t *dst, const char *v, size_t vn, unsigned vcol)
{
	/* one hour: far above any ISO 14229 timing, low enough to add to µs clocks */
	if (!profile_parse_dec(v, vn, 1, 3600000, dst))
		return profile_fail(p, p->lineno, vcol,
				    "bad milliseconds '%.*s' (expected 1..3600000)", (int)vn, v);
	return 0;
}

/* wmi = 1FA 1FM 1FT, ...: WMIs of ISO 3780 (3 VIN characters: digits and capitals without I,
 * O, Q) or the 2-character block of one maker, blank- or comma-separated. */
static int set_wmi(struct profile_parser *p, const char *v, size_t vn, unsigned vcol)
{
	struct profile *pr = p->prof;
	size_t i = 0;

	while (i < vn) {
		size_t start, n;

		while (i < vn && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < vn && v[i] != ' ' && v[i] != '\t' && v[i] != ',')
			i++;
		n = i - start;
		if (n == 0)
			break;
		if (n < 2 || n > 3)
			return profile_fail(p, p->lineno, vcol + (unsigned)start,
					    "a WMI is 3 VIN characters (or 2 for a maker's block): "
					    "'%.*s'",
					    (int)n, v + start);
		for (size_t k = start; k < i; k++)
			if (!profile_is_digit(v[k]) &&
			    !(v[k] >= 'A' && v[k] <= 'Z' && v[k] != 'I' && v[k] != 'O' && v[k] != 'Q'))
				return profile_fail(p, p->lineno, vcol + (unsigned)k,
						    "'%c' is no VIN character (0-9, A-Z but I, O, Q)",
						    v[k]);
		if (pr->nwmi == PROFILE_MAX_WMI)
			return profile_fail(p, p->lineno, vcol + (unsigned)start,
					    "more than %u WMIs", PROFILE_MAX_WMI);
		memcpy(pr->wmi[pr->nwmi], v + start, n);
		pr->wmi[pr->nwmi][n] = '\0';
		pr->nwmi++;
	}
	if (pr->nwmi == 0)
		return profile_fail(p, p->lineno, vcol, "wmi needs at least one WMI");
	return 0;
}

static int pair_vehicle(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct profile *pr = p->prof;
	switch (key) {
	case 0: /* make */
		for (size_t i = 0; i < vn; i++)
			if (!is_lower(v[i]) && !profile_is_digit(v[i]) && v[i] != '-' &&
			    v[i] != '_')
				return profile_fail(p, p->lineno, vcol + (unsigned)i,
						    "make must be a lower-case word");
		return profile_set_string(p, &pr->make, v, vn, vcol);
	case 1:
		return profile_set_string(p, &pr->platform, v, vn, vcol);
	case 2:
		return profile_set_string(p, &pr->name, v, vn, vcol);
	case 3:
		return profile_set_string(p, &pr->bus, v, vn, vcol);
	case 4:
		if (!profile_parse_dec(v, vn, 1, 20000000, &pr->bitrate))
			return profile_fail(p, p->lineno, vcol,
					    "bad bitrate '%.*s' (expected 1..20000000 bit/s)",
					    (int)vn, v);
		return 0;
	case 5:
		return profile_set_string(p, &pr->dbc, v, vn, vcol);
	case 6:
		return set_wmi(p, v, vn, vcol);
	}
	return 0;
}

static int pair_ecu(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct ecu_entry *e = p->ecu;
	uint32_t x;
	if (key >= ECU_ADDR_KEY_FIRST) {
		char why[160];
		if (isotp_addr_spec_set(&e->spec, ecu_keys[key].name, v, vn, why, sizeof(why)) < 0)
			return profile_fail(p, p->lineno, vcol, "%s", why);
		return 0;
	}
	switch (key) {
	case 0:
		return profile_set_string(p, (char **)&e->pub.name, v, vn, vcol);
	case 1:
		return set_can_id(p, &e->pub.request_id, v, vn, vcol);
	case 2:
		e->resp_line = p->lineno;
		e->resp_column = vcol;
		return set_can_id(p, &e->pub.response_id, v, vn, vcol);
	case 3:
		return set_can_id(p, &e->pub.functional_id, v, vn, vcol);
	case 4:
		if (!profile_parse_hex(v, vn, 0xFF, &x))
			return profile_fail(p, p->lineno, vcol,
					    "bad padding byte '%.*s' (expected 0x00..0xFF)",
					    (int)vn, v);
		e->pub.padding = (int)x;
		return 0;
	case 5:
		return set_ms(p, &e->pub.p2_ms, v, vn, vcol);
	case 6:
		return set_ms(p, &e->pub.p2star_ms, v, vn, vcol);
	case 7:
		return set_ms(p, &e->pub.s3_ms, v, vn, vcol);
	case 8:
		if (!profile_parse_hex(v, vn, 0xFFFF, &x) || x == 0)
			return profile_fail(p, p->lineno, vcol,
					    "bad DID '%.*s' (expected 0x0001..0xFFFF)", (int)vn, v);
		e->pub.output_control_did = x;
		e->ocd_line = p->lineno;
		e->ocd_column = vcol;
		return 0;
	}
	return 0;
}

static int pair_dtc(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct dtc_entry *e = p->dtc;
	switch (key) {
	case 0:
		return profile_set_string(p, (char **)&e->pub.text, v, vn, vcol);
	case 1:
		return profile_set_string(p, (char **)&e->pub.source, v, vn, vcol);
	case 2:
		return profile_set_string(p, (char **)&e->pub.set, v, vn, vcol);
	}
	return 0;
}

static int parse_pair(struct profile_parser *p, const char *s, size_t n, size_t i)
{
	size_t k = i;
	unsigned kcol = (unsigned)k + 1;

	if (!is_lower(s[i]))
		return profile_fail(p, p->lineno, kcol, "expected a key, a [section] or a comment");
	while (i < n && (is_lower(s[i]) || profile_is_digit(s[i]) || s[i] == '_'))
		i++;
	size_t kn = i - k;
	while (i < n && profile_is_ws(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return profile_fail(p, p->lineno, (unsigned)i + 1, "expected '=' after key '%.*s'",
				    (int)kn, s + k);
	i++;
	while (i < n && profile_is_ws(s[i]))
		i++;
	size_t v = i, e = i;
	bool quoted = false;
	size_t qpos = 0;
	for (; i < n; i++) {
		if (quoted && s[i] == '\\' && i + 1 < n && s[i + 1] == '"') {
			i++;
			continue;
		}
		if (s[i] == '"') {
			quoted = !quoted;
			qpos = i;
			continue;
		}
		if (!quoted && s[i] == ';')
			break;
	}
	if (quoted)
		return profile_fail(p, p->lineno, (unsigned)qpos + 1, "unterminated string");
	e = i;
	while (e > v && profile_is_ws(s[e - 1]))
		e--;
	const char *val = s + v;
	size_t vn = e - v;
	unsigned vcol = (unsigned)v + 1;

	if (!p->format_seen) {
		if (kn != 6 || memcmp(s + k, "format", 6) != 0)
			return profile_fail(p, p->lineno, kcol,
					    "the first statement must be 'format = 1'");
		if (vn != 1 || val[0] != '1')
			return profile_fail(
			    p, p->lineno, vcol,
			    "unsupported format '%.*s' (this loader reads format 1)", (int)vn, val);
		p->format_seen = true;
		return 0;
	}
	if (p->kind == SECTION_NONE)
		return profile_fail(p, p->lineno, kcol, "key '%.*s' outside a section", (int)kn,
				    s + k);

	const struct key_def *keys = sections[p->kind].keys;
	int key = key_index(keys, s + k, kn);
	if (key < 0)
		return profile_fail(p, p->lineno, kcol, "unknown key '%.*s' in %s", (int)kn, s + k,
				    sections[p->kind].usage);
	if (keys[key].mult != KEY_MULTI && p->seen[key])
		return profile_fail(p, p->lineno, kcol, "repeated key '%s' (first at line %u)",
				    keys[key].name, p->seen[key]);
	p->seen[key] = p->lineno;
	switch (p->kind) {
	case SECTION_VEHICLE:
		return pair_vehicle(p, key, val, vn, vcol);
	case SECTION_ECU:
		return pair_ecu(p, key, val, vn, vcol);
	case SECTION_DID:
		return profile_pair_did(p, key, val, vn, vcol);
	case SECTION_DTC:
		return pair_dtc(p, key, val, vn, vcol);
	case SECTION_ROLE:
		return profile_pair_role(p, key, val, vn, vcol);
	case SECTION_NONE:
	case SECTION_MAX:
		break;
	}
	return 0;
}

/* One line without its newline (a CR before it already dropped). */
static int parse_line(struct profile_parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == 0)
			return profile_fail(p, p->lineno, (unsigned)i + 1, "NUL byte");
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		if (l == 0)
			return profile_fail(p, p->lineno, (unsigned)i + 1, "invalid UTF-8");
		if (l == 1 && (unsigned char)s[i] < 0x20 && s[i] != '\t')
			return profile_fail(p, p->lineno, (unsigned)i + 1,
					    "control character 0x%02X", (unsigned char)s[i]);
		i += l;
	}
	size_t i = 0;
	while (i < n && profile_is_ws(s[i]))
		i++;
	if (i == n || s[i] == ';')
		return 0;
	if (s[i] == '[') {
		if (!p->format_seen)
			return profile_fail(p, p->lineno, (unsigned)i + 1,
					    "the first statement must be 'format = 1'");
		return parse_section(p, s, n, i);
	}
	return parse_pair(p, s, n, i);
}

static int complete_line(struct profile_parser *p)
{
	size_t n = p->linelen;
	int r;
	if (n > 0 && p->line[n - 1] == '\r')
		n--;
	if (n > PROFILE_MAX_LINE)
		return profile_fail(p, p->lineno, PROFILE_MAX_LINE + 1, "line longer than %u bytes",
				    PROFILE_MAX_LINE);
	r = parse_line(p, p->line, n);
	p->linelen = 0;
	return r;
}

static int set_error(struct profile_parser *p, int r, struct profile_error *ret_err)
{
	if (r < 0) {
		if (!p->err.message[0]) {
			/* -ENOMEM: no position, errno's text */
			snprintf(p->err.file, sizeof(p->err.file), "%s", p->filename);
			p->err.line = p->lineno;
			p->err.column = 0;
			snprintf(p->err.message, sizeof(p->err.message), "%s", strerror(-r));
		}
		p->failed = r;
		if (ret_err)
			*ret_err = p->err;
	}
	return r;
}

int profile_parser_feed(struct profile_parser *p, const char *data, size_t len,
			struct profile_error *ret_err)
{
	int r = 0;
	if (p->failed)
		return set_error(p, p->failed, ret_err);
	if (len > PROFILE_MAX_SOURCE - p->total) {
		profile_fail(p, p->lineno, 0, "profile larger than %u bytes", PROFILE_MAX_SOURCE);
		p->failed = -EFBIG;
		if (ret_err)
			*ret_err = p->err;
		return -EFBIG;
	}
	p->total += len;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t chunk = nl ? (size_t)(nl - (data + i)) : len - i;
		/* the buffer holds a full line plus a CR; more can only be an overlong line */
		if (chunk > sizeof(p->line) - p->linelen) {
			r = profile_fail(p, p->lineno, PROFILE_MAX_LINE + 1,
					 "line longer than %u bytes", PROFILE_MAX_LINE);
			return set_error(p, r, ret_err);
		}
		memcpy(p->line + p->linelen, data + i, chunk);
		p->linelen += chunk;
		i += chunk;
		if (!nl)
			break;
		if ((r = complete_line(p)) < 0)
			return set_error(p, r, ret_err);
		p->lineno++;
		i++;
	}
	return 0;
}

struct name_ref {
	const char *name;
	size_t did;
	unsigned line, column;
};

static int cmp_name_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Rules name a value by DID name or signal name without an ECU (profile_did_find_name),
 * so a name may belong to one DID only. Sorted once: profiles may hold many signals.
 */
static int check_value_names(struct profile_parser *p)
{
	struct profile *pr = p->prof;
	size_t n = 0, k = 0;
	int r = 0;
	for (size_t i = 0; i < pr->ndids; i++)
		n += 1 + pr->dids[i]->nsignals;
	if (n < 2)
		return 0;
	struct name_ref *refs = calloc(n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < pr->ndids; i++) {
		const struct profile_did *d = pr->dids[i];
		refs[k++] = (struct name_ref){d->name, i, d->name_line, d->name_column};
		for (size_t j = 0; j < d->nsignals; j++)
			refs[k++] = (struct name_ref){dbc_signal_name(d->signals[j]), i,
						      d->signal_lines[j], d->signal_columns[j]};
	}
	qsort(refs, n, sizeof(*refs), cmp_name_ref);
	for (size_t i = 1; i < n && r == 0; i++) {
		const struct name_ref *a = &refs[i - 1], *b = &refs[i];
		if (strcmp(a->name, b->name) == 0 && a->did != b->did)
			r = profile_fail(p, b->line, b->column,
					 "name '%s' already names DID 0x%04X (line %u)", b->name,
					 pr->dids[a->did]->id, a->line);
	}
	free(refs);
	return r;
}

static int finish_checks(struct profile_parser *p)
{
	struct profile *pr = p->prof;
	if (!p->format_seen)
		return profile_fail(p, p->lineno, 1, "the first statement must be 'format = 1'");
	if (!p->vehicle_seen)
		return profile_fail(p, p->lineno, 1, "missing [vehicle] section");
	int r = check_value_names(p);
	if (r < 0 || (r = profile_check_role_dids(p)) < 0)
		return r;
	for (size_t i = 0; i < pr->necus; i++) {
		const struct ecu_entry *e = pr->ecus[i];
		uint32_t did = e->pub.output_control_did;
		if (did && !profile_did_find(pr, e->pub.id, (uint16_t)did))
			return profile_fail(
			    p, e->ocd_line, e->ocd_column,
			    "output_control_did 0x%04X is not a [did %s] of this profile", did,
			    e->pub.id);
	}
	return 0;
}

int profile_parser_finish(struct profile_parser *p, struct profile **ret,
			  struct profile_error *ret_err)
{
	int r;
	if (p->failed)
		return set_error(p, p->failed, ret_err);
	if (p->linelen > 0) {
		if ((r = complete_line(p)) < 0)
			return set_error(p, r, ret_err);
	} else if (p->lineno > 1) {
		/* the last newline ended the last line: report "end of file" on it */
		p->lineno--;
	}
	if ((r = end_section(p)) < 0 || (r = finish_checks(p)) < 0)
		return set_error(p, r, ret_err);
	*ret = p->prof;
	p->prof = NULL;
	p->failed = -EINVAL; /* not reusable */
	snprintf(p->err.message, sizeof(p->err.message), "parser already finished");
	return 0;
}

int profile_parse(const char *data, size_t len, const char *filename, struct profile **ret,
		  struct profile_error *ret_err)
{
	struct profile_parser *p = profile_parser_new(filename);
	int r;
	if (!p)
		return -ENOMEM;
	r = profile_parser_feed(p, data, len, ret_err);
	if (r >= 0)
		r = profile_parser_finish(p, ret, ret_err);
	profile_parser_free(p);
	return r;
}

int profile_load(const char *path, struct profile **ret, struct profile_error *ret_err)
{
	struct profile_parser *p = NULL;
	char buf[16384];
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto io_fail;
	}
	p = profile_parser_new(path);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			profile_parser_free(p);
			goto io_fail;
		}
		if (n == 0)
			break;
		if ((r = profile_parser_feed(p, buf, (size_t)n, ret_err)) < 0)
			break;
	}
	close(fd);
	if (r >= 0)
		r = profile_parser_finish(p, ret, ret_err);
	profile_parser_free(p);
	return r;

io_fail:
	if (ret_err) {
		memset(ret_err, 0, sizeof(*ret_err));
		snprintf(ret_err->file, sizeof(ret_err->file), "%s", path);
		snprintf(ret_err->message, sizeof(ret_err->message), "%s", strerror(-r));
	}
	return r;
}

int profile_error_format(const struct profile_error *e, char *buf, size_t size)
{
	if (e->line == 0)
		return snprintf(buf, size, "%s: %s", e->file, e->message);
	return snprintf(buf, size, "%s:%u:%u: %s", e->file, e->line, e->column, e->message);
}
