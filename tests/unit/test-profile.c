/* SPDX-License-Identifier: MIT */
/*
 * lib/profile: the simulated car's profile loads whole and byte by byte with the same
 * result, its DIDs decode to physical values and labels, and every error message of the
 * parser is produced, with its line and column, by a small profile of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"

#define SIM_PROFILE BODYDIAG_SOURCE_ROOT "/profiles/sim-2026.profile"

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;
	assert_non_null(f);
	text = calloc(1, 1 << 20);
	assert_non_null(text);
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	*ret_len = n;
	return text;
}

/* A printable digest of everything a profile holds, to compare two loads. */
static int digest_value(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
			struct dbc_value v, const char *label, const char *text)
{
	FILE *f = userdata;
	fprintf(f, " %s=%g/%s/%s", s ? dbc_signal_name(s) : profile_did_name(d),
		s ? dbc_value_as_double(v) : 0.0, label ? label : "-", text ? text : "-");
	return 0;
}

static char *digest(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	uint8_t payload[64];
	assert_non_null(f);
	fprintf(f, "%s %s %s %s %u %s\n", profile_make(p), profile_platform(p),
		profile_vehicle_name(p), profile_bus(p), profile_bitrate(p), profile_dbc(p));
	for (size_t i = 0; i < profile_ecu_count(p); i++) {
		const struct profile_ecu *e = profile_ecu_at(p, i);
		fprintf(f, "ecu %s %s %x %x %x %d %u %u %u %x\n", e->id, e->name ? e->name : "-",
			e->request_id, e->response_id, e->functional_id, e->padding, e->p2_ms,
			e->p2star_ms, e->s3_ms, e->output_control_did);
	}
	for (size_t i = 0; i < profile_did_count(p); i++) {
		const struct profile_did *d = profile_did_at(p, i);
		int dlen = profile_did_length(d);
		fprintf(f, "did %s %04x %s %d %d %zu", profile_did_ecu(d), profile_did_id(d),
			profile_did_name(d), dlen, profile_did_is_ascii(d),
			profile_did_signal_count(d));
		for (size_t k = 0; k < sizeof(payload); k++)
			payload[k] = (uint8_t)(0x41 + k + i);
		assert_int_equal(profile_did_decode(d, payload, dlen < 0 ? 8 : (size_t)dlen,
						    digest_value, f),
				 0);
		fprintf(f, "\n");
	}
	for (size_t i = 0; i < profile_dtc_count(p); i++) {
		const struct profile_dtc *t = profile_dtc_at(p, i);
		fprintf(f, "dtc %s %06x %s|%s|%s\n", t->ecu, t->code, t->text, t->source,
			t->set ? t->set : "-");
	}
	fclose(f);
	return buf;
}

static void sim_profile(void **state)
{
	struct profile *p = NULL;
	struct profile_error err = {0};
	const struct profile_ecu *bcm, *obd;

	assert_int_equal(profile_load(SIM_PROFILE, &p, &err), 0);
	assert_string_equal(profile_make(p), "bodydiag");
	assert_string_equal(profile_platform(p), "sim-2026");
	assert_string_equal(profile_bus(p), "can0");
	assert_int_equal(profile_bitrate(p), 500000);
	assert_string_equal(profile_dbc(p), "bodydiag-sim.dbc");
	assert_int_equal(profile_ecu_count(p), 2);
	bcm = profile_ecu_find(p, "bcm");
	assert_non_null(bcm);
	assert_string_equal(bcm->name, "Body control module");
	assert_int_equal(bcm->request_id, 0x726);
	assert_int_equal(bcm->response_id, 0x72E);
	assert_int_equal(bcm->functional_id, 0);
	assert_int_equal(bcm->padding, 0xAA);
	assert_int_equal(bcm->p2_ms, 50);
	assert_int_equal(bcm->p2star_ms, 5000);
	assert_int_equal(bcm->s3_ms, 5000);
	assert_int_equal(bcm->output_control_did, 0xD101);
	obd = profile_ecu_at(p, 1);
	assert_string_equal(obd->id, "obd");
	assert_int_equal(obd->functional_id, 0x7DF);
	assert_int_equal(obd->s3_ms, 5000); /* default */
	assert_null(profile_ecu_find(p, "abs"));
	assert_null(profile_ecu_at(p, 2));

	assert_int_equal(profile_did_count(p), 31);
	assert_int_equal(profile_dtc_count(p), 10);
	/* every DID decodes a payload of its length; ASCII ones as text */
	for (size_t i = 0; i < profile_did_count(p); i++) {
		const struct profile_did *d = profile_did_at(p, i);
		uint8_t payload[32] = {0};
		char line[512];
		assert_true(profile_did_length(d) > 0);
		assert_int_equal(profile_did_format(d, payload, (size_t)profile_did_length(d), line,
						    sizeof(line)),
				 0);
		assert_true(profile_did_is_ascii(d) == (profile_did_signal_count(d) == 0));
	}

	const struct profile_dtc *t = profile_dtc_find(p, "bcm", 0x9A4013);
	assert_non_null(t);
	assert_string_equal(t->text, "Trunk release output circuit open");
	assert_non_null(strstr(t->source, "grade A"));
	assert_non_null(t->set);
	assert_ptr_equal(profile_dtc_find(p, NULL, 0x9A4013), t);
	assert_null(profile_dtc_find(p, "obd", 0x9A4013));
	assert_null(profile_dtc_find(p, "bcm", 0x9A4014));
	t = profile_dtc_find(p, "bcm", 0xF00049); /* U3000-49 */
	assert_non_null(t);
	profile_free(p);
}

struct value_rec {
	unsigned n;
	char names[4][32];
	double values[4];
	const char *labels[4];
	char text[64];
};

static int record(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
		  struct dbc_value v, const char *label, const char *text)
{
	struct value_rec *r = userdata;
	assert_true(r->n < 4);
	snprintf(r->names[r->n], sizeof(r->names[r->n]), "%s",
		 s ? dbc_signal_name(s) : profile_did_name(d));
	r->values[r->n] = s ? dbc_value_as_double(v) : 0;
	r->labels[r->n] = label;
	if (text)
		snprintf(r->text, sizeof(r->text), "%s", text);
	r->n++;
	return 0;
}

static int stop(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
		struct dbc_value v, const char *label, const char *text)
{
	(*(unsigned *)userdata)++;
	return -ECANCELED;
}

static void decode(void **state)
{
	struct profile *p = NULL;
	const struct profile_did *d;
	struct value_rec r;
	char line[256];
	unsigned calls = 0;

	assert_int_equal(profile_load(SIM_PROFILE, &p, NULL), 0);

	/* 16-bit Motorola, factor 0.01 */
	d = profile_did_find(p, "bcm", 0xD102);
	assert_non_null(d);
	assert_string_equal(profile_did_name(d), "TrunkActuatorCurrent");
	assert_string_equal(profile_did_ecu(d), "bcm");
	assert_int_equal(profile_did_length(d), 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(profile_did_decode(d, (const uint8_t[]){0x01, 0x2C}, 2, record, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.names[0], "TrunkActuatorCurrent");
	assert_true(r.values[0] > 2.999 && r.values[0] < 3.001);
	assert_null(r.labels[0]);
	assert_int_equal(profile_did_format(d, (const uint8_t[]){0x01, 0x2C}, 2, line, sizeof(line)), 0);
	assert_string_equal(line, "TrunkActuatorCurrent=3 A");
	/* a response of another length is reported, not decoded */
	assert_int_equal(profile_did_decode(d, (const uint8_t[]){0x01}, 1, record, &r), -EBADMSG);
	assert_int_equal(profile_did_format(d, (const uint8_t[]){1, 2, 3}, 3, line, sizeof(line)),
			 -EBADMSG);
	assert_string_equal(line, "length 3, expected 2");

	/* labels */
	d = profile_did_find_name(p, "TrunkReleaseRequest");
	assert_non_null(d);
	assert_int_equal(profile_did_format(d, (const uint8_t[]){3}, 1, line, sizeof(line)), 0);
	assert_string_equal(line, "TrunkReleaseRequest=3 (exterior)");
	assert_int_equal(profile_did_format(d, (const uint8_t[]){9}, 1, line, sizeof(line)), 0);
	assert_string_equal(line, "TrunkReleaseRequest=9");
	assert_string_equal(dbc_signal_choice_label(profile_did_signal_at(d, 0), 4), "tester");

	/* offset: label on the raw value, physical value scaled */
	d = profile_did_find_name(p, "RkeRssi");
	memset(&r, 0, sizeof(r));
	assert_int_equal(profile_did_decode(d, (const uint8_t[]){0}, 1, record, &r), 0);
	assert_true(r.values[0] == -150);
	assert_string_equal(r.labels[0], "no_signal");
	assert_int_equal(profile_did_format(d, (const uint8_t[]){90}, 1, line, sizeof(line)), 0);
	assert_string_equal(line, "RkeRssi=-60 dBm");

	/* several flags in one byte; found by a signal name */
	d = profile_did_find_name(p, "Fob3Programmed");
	assert_non_null(d);
	assert_string_equal(profile_did_name(d), "FobProgrammed");
	assert_int_equal(profile_did_signal_count(d), 4);
	assert_string_equal(dbc_signal_name(profile_did_signal_at(d, 2)), "Fob3Programmed");
	assert_null(profile_did_signal_at(d, 4));
	assert_int_equal(profile_did_format(d, (const uint8_t[]){0x05}, 1, line, sizeof(line)), 0);
	assert_string_equal(line, "Fob1Programmed=1 (yes), Fob2Programmed=0 (no), "
				  "Fob3Programmed=1 (yes), Fob4Programmed=0 (no)");
	assert_int_equal(profile_did_decode(d, (const uint8_t[]){0x05}, 1, stop, &calls),
			 -ECANCELED);
	assert_int_equal(calls, 1);

	/* ASCII */
	d = profile_did_find(p, "bcm", 0xF190);
	assert_true(profile_did_is_ascii(d));
	assert_int_equal(profile_did_length(d), 17);
	assert_int_equal(profile_did_signal_count(d), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(profile_did_decode(d, (const uint8_t *)"WBODYDIAG2026SIM\x01", 17, record,
					    &r),
			 0);
	assert_string_equal(r.text, "WBODYDIAG2026SIM.");
	assert_int_equal(profile_did_format(d, (const uint8_t *)"WBODYDIAG2026SIM1", 17, line,
					    sizeof(line)),
			 0);
	assert_string_equal(line, "VIN=\"WBODYDIAG2026SIM1\"");
	assert_int_equal(profile_did_format(d, (const uint8_t *)"WBODYDIAG2026SIM1", 17, line, 8),
			 -ENOBUFS);
	assert_int_equal(strlen(line), 7);

	assert_null(profile_did_find(p, "obd", 0xD102));
	assert_null(profile_did_find_name(p, "NoSuchThing"));
	assert_null(profile_did_at(p, 1000));
	profile_free(p);
}

static void streaming(void **state)
{
	size_t len;
	char *text = slurp(SIM_PROFILE, &len);
	struct profile *whole = NULL, *bytewise = NULL, *chunked = NULL;
	struct profile_parser *pp;
	struct profile_error err;

	assert_int_equal(profile_parse(text, len, "sim", &whole, &err), 0);
	pp = profile_parser_new("sim");
	assert_non_null(pp);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(profile_parser_feed(pp, text + i, 1, &err), 0);
	assert_int_equal(profile_parser_finish(pp, &bytewise, &err), 0);
	profile_parser_free(pp);
	/* odd chunk sizes, CRLF line ends and no final newline read the same */
	char *crlf = calloc(2, len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = text[i];
	}
	while (n > 0 && (crlf[n - 1] == '\n' || crlf[n - 1] == '\r'))
		n--;
	pp = profile_parser_new("sim");
	for (size_t i = 0, step = 1; i < n; i += step, step = step * 7 % 61 + 1)
		assert_int_equal(profile_parser_feed(pp, crlf + i, i + step > n ? n - i : step, &err),
				 0);
	assert_int_equal(profile_parser_finish(pp, &chunked, &err), 0);
	profile_parser_free(pp);

	char *a = digest(whole), *b = digest(bytewise), *c = digest(chunked);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	assert_true(strlen(a) > 4000);
	free(a);
	free(b);
	free(c);
	free(crlf);
	free(text);
	profile_free(whole);
	profile_free(bytewise);
	profile_free(chunked);
}

static void minimal(void **state)
{
	struct profile *p = NULL;
	const char *t = "; a comment first is fine\n"
			"\n"
			"  format=1;no blank needed\n"
			"[vehicle]\t; comment\n"
			"make = gm\n"
			"platform = \"quoted ; not a comment\"   ; this is\n"
			"[ecu bcm]\n"
			"request = 0x18DA40F1\n"
			"response=0x18DAF140\n"
			"[did bcm 0x1234]\n"
			"name = Speed\n"
			"signal = SG_ Speed : 7|16@0- (0.5,-10) [-100|100] \"km/h\" BCM\n"
			"[did bcm 0x1235]\n"
			"name = Any\n"
			"signal = A : 8|8@1+ (1,0) [0|0] \"\"\n"
			"signal = B : 0|1@1+ (1,0) [0|0] \"\"\n"
			"values = 0 \"off\"\n"
			"values = 1 \"on\" 0 \"zero\"\n";
	struct profile_error err;
	char line[128];

	assert_int_equal(profile_parse(t, strlen(t), NULL, &p, &err), 0);
	assert_string_equal(profile_platform(p), "\"quoted ; not a comment\"");
	assert_null(profile_vehicle_name(p));
	assert_null(profile_bus(p));
	assert_null(profile_dbc(p));
	assert_int_equal(profile_bitrate(p), 0);
	const struct profile_ecu *e = profile_ecu_at(p, 0);
	assert_int_equal(e->request_id, 0x18DA40F1);
	assert_int_equal(e->padding, -1);
	assert_int_equal(e->p2_ms, 50);
	assert_int_equal(e->p2star_ms, 5000);
	assert_int_equal(e->output_control_did, 0);
	assert_null(e->name);
	const struct profile_did *d = profile_did_find(p, "bcm", 0x1234);
	assert_int_equal(profile_did_length(d), -1);
	assert_int_equal(profile_did_format(d, (const uint8_t[]){0xFF, 0xF6, 0x99}, 3, line,
					    sizeof(line)),
			 0);
	assert_string_equal(line, "Speed=-15 km/h");
	assert_int_equal(profile_did_format(d, (const uint8_t[]){0xFF}, 1, line, sizeof(line)),
			 -EBADMSG);
	assert_string_equal(line, "length 1, expected at least 2");
	d = profile_did_find(p, "bcm", 0x1235);
	assert_int_equal(profile_did_format(d, (const uint8_t[]){0x01, 0x07}, 2, line, sizeof(line)),
			 0);
	/* the last label of a repeated value wins, as in VAL_ */
	assert_string_equal(line, "A=7, B=1 (on)");
	assert_int_equal(profile_did_format(d, (const uint8_t[]){0x00, 0x07}, 2, line, sizeof(line)),
			 0);
	assert_string_equal(line, "A=7, B=0 (zero)");
	profile_free(p);
}

static void load_missing(void **state)
{
	struct profile *p = NULL;
	struct profile_error err;
	char line[512];

	assert_int_equal(profile_load("/nonexistent/x.profile", &p, &err), -ENOENT);
	assert_null(p);
	assert_int_equal(err.line, 0);
	profile_error_format(&err, line, sizeof(line));
	assert_string_equal(line, "/nonexistent/x.profile: No such file or directory");
}

static void too_big(void **state)
{
	struct profile_parser *pp = profile_parser_new("big");
	struct profile_error err;
	size_t n = PROFILE_MAX_SOURCE;
	char *nl = malloc(n);
	struct profile *p = NULL;

	assert_non_null(nl);
	memset(nl, '\n', n);
	assert_int_equal(profile_parser_feed(pp, nl, n, &err), 0);
	assert_int_equal(profile_parser_feed(pp, "\n", 1, &err), -EFBIG);
	assert_non_null(strstr(err.message, "profile larger than"));
	assert_int_equal(profile_parser_finish(pp, &p, &err), -EFBIG);
	assert_string_equal(err.message, "profile larger than 16777216 bytes");
	assert_null(p);
	free(nl);
	profile_parser_free(pp);
}

/* ---- one test per error message ---- */

#define HEAD "format = 1\n[vehicle]\nmake = m\nplatform = p\n"
#define ECU HEAD "[ecu bcm]\nrequest = 0x726\nresponse = 0x72E\n"
#define DID ECU "[did bcm 0xD100]\nname = X\n"

struct bad {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen */
	unsigned line, column;
	const char *message;
};

static const struct bad bad_cases[] = {
    {"wmi-long", HEAD "wmi = 1FA 1FMX\n", 0, 5, 11, "a WMI is 3 VIN characters (or 2 for a maker's block): '1FMX'"},
    {"wmi-char", HEAD "wmi = 1FO\n", 0, 5, 9, "'O' is no VIN character (0-9, A-Z but I, O, Q)"},
    {"wmi-lower", HEAD "wmi = 1fa\n", 0, 5, 8, "'f' is no VIN character (0-9, A-Z but I, O, Q)"},
    {"wmi-empty", HEAD "wmi = ,\n", 0, 5, 7, "wmi needs at least one WMI"},
    {"nul", HEAD "name = a\0b\n", sizeof(HEAD "name = a\0b\n") - 1, 5, 9, "NUL byte"},
    {"utf8", HEAD "name = caf\xC3\n", 0, 5, 11, "invalid UTF-8"},
    {"control", HEAD "name = a\x01\n", 0, 5, 9, "control character 0x01"},
    {"empty", "", 0, 1, 1, "the first statement must be 'format = 1'"},
    {"format-missing", "[vehicle]\n", 0, 1, 1, "the first statement must be 'format = 1'"},
    {"format-other-key", "; c\nmake = x\n", 0, 2, 1, "the first statement must be 'format = 1'"},
    {"format-2", "format = 2\n", 0, 1, 10, "unsupported format '2' (this loader reads format 1)"},
    {"format-repeated", "format = 1\nformat = 1\n", 0, 2, 1, "key 'format' outside a section"},
    {"outside", "format = 1\nmake = x\n", 0, 2, 1, "key 'make' outside a section"},
    {"unknown-key", HEAD "colour = red\n", 0, 5, 1, "unknown key 'colour' in [vehicle]"},
    {"repeated-key", HEAD "make = n\n", 0, 5, 1, "repeated key 'make' (first at line 3)"},
    {"missing-key", "format = 1\n[vehicle]\nmake = m\n", 0, 2, 1,
     "missing required key 'platform' in [vehicle]"},
    {"missing-key-ecu", HEAD "[ecu bcm]\nrequest = 0x726\n[ecu b]\n", 0, 5, 1,
     "missing required key 'response' in [ecu NAME]"},
    {"same-ids", HEAD "[ecu bcm]\nrequest = 0x726\nresponse = 0x726\n", 0, 7, 12,
     "response id 0x726 is the request id too; an ECU answers on an id of its own"},
    {"missing-key-dtc", ECU "[dtc bcm B1A40-13]\ntext = t\n", 0, 8, 1,
     "missing required key 'source' in [dtc ECU CODE]"},
    {"expected-key", HEAD "Make = m\n", 0, 5, 1, "expected a key, a [section] or a comment"},
    {"expected-eq", HEAD "name m\n", 0, 5, 6, "expected '=' after key 'name'"},
    {"unterminated", HEAD "name = \"a ; b\n", 0, 5, 8, "unterminated string"},
    {"unknown-section", "format = 1\n[car]\n", 0, 2, 2, "unknown section kind 'car'"},
    {"missing-bracket", HEAD "[ecu bcm\n", 0, 5, 9, "missing ']'"},
    {"no-args", HEAD "[ecu]x\n", 0, 5, 5, "missing arguments: [ecu NAME]"},
    {"header-char", HEAD "[ecu\"bcm]\n", 0, 5, 5, "unexpected '\"' in section header"},
    {"blank-before", HEAD "[ecu bcm ]\n", 0, 5, 10, "blank before ']'"},
    {"too-many", HEAD "[ecu bcm x]\n", 0, 5, 10, "too many arguments: [ecu NAME]"},
    {"missing-args", HEAD "[did bcm]\n", 0, 5, 9, "missing arguments: [did ECU ID]"},
    {"after-bracket", HEAD "[ecu bcm] x\n", 0, 5, 11, "unexpected text after ']'"},
    {"vehicle-twice", HEAD "[vehicle]\n", 0, 5, 1, "a second [vehicle] section"},
    {"vehicle-late", "format = 1\n[ecu bcm]\n", 0, 2, 1,
     "[vehicle] must come before any other section"},
    {"no-vehicle", "format = 1\n", 0, 1, 1, "missing [vehicle] section"},
    {"ecu-name", HEAD "[ecu BCM]\n", 0, 5, 6, "bad ECU name 'BCM' (expected [a-z][a-z0-9_]*)"},
    {"ecu-dup", ECU "[ecu bcm]\n", 0, 8, 6, "duplicate [ecu bcm] (first at line 5)"},
    {"undeclared-did", HEAD "[did abs 0xD100]\n", 0, 5, 6, "undeclared ECU 'abs'"},
    {"undeclared-dtc", HEAD "[dtc abs B1A40-13]\n", 0, 5, 6, "undeclared ECU 'abs'"},
    {"did-hex", ECU "[did bcm 0xD10]\n", 0, 8, 10, "bad DID '0xD10' (expected 0x and 4 hex digits)"},
    {"did-hex2", ECU "[did bcm 0xD10G]\n", 0, 8, 10,
     "bad DID '0xD10G' (expected 0x and 4 hex digits)"},
    {"did-dup", DID "ascii = 3\n[did bcm 0xd100]\n", 0, 11, 10,
     "duplicate [did bcm 0xD100] (first at line 8)"},
    {"dtc-code", ECU "[dtc bcm B1A40:13]\n", 0, 8, 10,
     "bad DTC 'B1A40:13' (expected SAE J2012 text like B1A40-13)"},
    {"dtc-code-digit", ECU "[dtc bcm B4A40-13]\n", 0, 8, 10,
     "bad DTC 'B4A40-13' (expected SAE J2012 text like B1A40-13)"},
    {"dtc-dup", ECU "[dtc bcm B1A40-13]\ntext = t\nsource = s\n[dtc bcm B1A40-13]\n", 0, 11, 10,
     "duplicate [dtc bcm B1A40-13] (first at line 8)"},
    {"empty-value", HEAD "name =   ; nothing\n", 0, 5, 10, "empty value"},
    {"can-id", HEAD "[ecu bcm]\nrequest = 726\n", 0, 6, 11,
     "bad CAN id '726' (expected 0x and up to 8 hex digits, at most 0x1FFFFFFF)"},
    {"can-id-range", HEAD "[ecu bcm]\nresponse = 0x20000000\n", 0, 6, 12,
     "bad CAN id '0x20000000' (expected 0x and up to 8 hex digits, at most 0x1FFFFFFF)"},
    {"ms", ECU "p2_ms = 0\n", 0, 8, 9, "bad milliseconds '0' (expected 1..3600000)"},
    {"ms-text", ECU "s3_ms = 5s\n", 0, 8, 9, "bad milliseconds '5s' (expected 1..3600000)"},
    {"make", "format = 1\n[vehicle]\nmake = Ford\n", 0, 3, 8, "make must be a lower-case word"},
    {"bitrate", HEAD "bitrate = 500k\n", 0, 5, 11,
     "bad bitrate '500k' (expected 1..20000000 bit/s)"},
    {"padding", ECU "padding = 0x100\n", 0, 8, 11,
     "bad padding byte '0x100' (expected 0x00..0xFF)"},
    {"ocd", ECU "output_control_did = 0x10000\n", 0, 8, 22,
     "bad DID '0x10000' (expected 0x0001..0xFFFF)"},
    {"ocd-undeclared", ECU "output_control_did = 0xD101\n", 0, 8, 22,
     "output_control_did 0xD101 is not a [did bcm] of this profile"},
    {"did-name-dup", DID "ascii = 1\n[did bcm 0xD101]\nname = X\n", 0, 12, 8,
     "duplicate DID name 'X' (first at line 9)"},
    {"length", DID "length = 0\n", 0, 10, 10, "bad length '0' (expected 1..4092 bytes)"},
    {"length-short", DID "signal = X : 7|16@0+ (1,0) [0|0] \"\"\nlength = 1\n", 0, 11, 10,
     "length 1 is too short for signal 'X' (line 10)"},
    {"signal-then-ascii", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nascii = 1\n", 0, 11, 9,
     "'signal' and 'ascii' in the same DID"},
    {"ascii-then-signal", DID "ascii = 1\nsignal = X : 0|8@1+ (1,0) [0|0] \"\"\n", 0, 11, 10,
     "'signal' and 'ascii' in the same DID"},
    {"signal-syntax", DID "signal = X : 0|8@1+ (1,0) [0|0 \"\"\n", 0, 10, 32, "expected ']' after maximum"},
    {"signal-dup", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nsignal = X : 8|8@1+ (1,0) [0|0] \"\"\n",
     0, 11, 10, "duplicate signal 'X' in DID 0xD100"},
    {"signal-outside", DID "length = 1\nsignal = X : 7|16@0+ (1,0) [0|0] \"\"\n", 0, 11, 10,
     "signal 'X' needs 2 bytes, outside length 1"},
    {"signal-outside-le", DID "length = 2\nsignal = X : 9|8@1+ (1,0) [0|0] \"\"\n", 0, 11, 10,
     "signal 'X' needs 3 bytes, outside length 2"},
    {"values-first", DID "values = 0 \"a\"\n", 0, 10, 10,
     "'values' without a preceding 'signal'"},
    {"values-syntax", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nvalues = 0 \"a\" 1\n", 0, 11, 17,
     "expected a quoted label after 1"},
    {"values-label-first", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nvalues = \"a\"\n", 0, 11, 10,
     "expected a value before the label"},
    {"values-range", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nvalues = 99999999999999999999 \"a\"\n",
     0, 11, 10, "value '99999999999999999999' is out of range"},
    {"values-no-dbc-injection",
     DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nvalues = 0 \"a\" BO_ 5 Y: 8 Z\n", 0, 11, 16,
     "value 'BO_' is not an integer"},
    {"values-float", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nvalues = 0 \"a\" 1.5 \"b\"\n", 0, 11,
     16, "value '1.5' is not an integer"},
    {"ascii", DID "ascii = 0x11\n", 0, 10, 9, "bad ascii length '0x11' (expected 1..4092 bytes)"},
    {"neither", DID "[did bcm 0xD101]\n", 0, 8, 1, "DID 0xD100 has neither 'signal' nor 'ascii'"},
    {"ascii-length", DID "length = 4\nascii = 3\n", 0, 10, 10, "length 4 differs from ascii 3"},
    {"name-differs", DID "signal = Y : 0|8@1+ (1,0) [0|0] \"\"\n", 0, 9, 8,
     "DID name 'X' differs from its only signal 'Y'"},
    {"mux", DID "signal = X M : 0|8@1+ (1,0) [0|0] \"\"\nsignal = Y m1 : 8|8@1+ (1,0) [0|0] \"\"\n",
     0, 10, 10, "multiplexed signals are not allowed in a DID"},
    {"name-taken-by-signal",
     DID "ascii = 1\n[did bcm 0xD101]\nname = Y\nsignal = X : 0|8@1+ (1,0) [0|0] \"\"\n"
         "signal = Z : 8|8@1+ (1,0) [0|0] \"\"\n",
     0, 13, 10, "name 'X' already names DID 0xD100 (line 9)"},
    {"signal-name-twice",
     ECU "[did bcm 0xD100]\nname = A\nsignal = A : 0|8@1+ (1,0) [0|0] \"\"\n"
         "[did bcm 0xD101]\nname = B\nsignal = B : 0|8@1+ (1,0) [0|0] \"\"\n"
         "signal = A : 8|8@1+ (1,0) [0|0] \"\"\n",
     0, 14, 10, "name 'A' already names DID 0xD100 (line 10)"},
    {"too-wide", DID "signal = X : 0|72@1+ (1,0) [0|0] \"\"\n", 0, 10, 10,
     "signal 'X' is wider than 64 bits"},
    /* [role NAME] */
    {"role-unknown", HEAD "[role trunk_ajar]\n", 0, 5, 7,
     "unknown role 'trunk_ajar' (the roles are listed in rules/README.md)"},
    {"role-args", HEAD "[role]\n", 0, 5, 6, "missing arguments: [role NAME]"},
    {"role-no-source", HEAD "[role ajar]\ngrade = A\n", 0, 5, 1,
     "missing required key 'source' in [role NAME]"},
    {"role-no-from", HEAD "[role ajar]\nsource = s\ngrade = A\n", 0, 5, 1,
     "[role ajar] needs 'dbc_signal' (a DBC signal) or 'did' (a DID of this profile)"},
    {"role-dotless", HEAD "[role ajar]\ndbc_signal = TrunkAjar\n", 0, 6, 14,
     "expected MESSAGE.SIGNAL (a message name or 0x id, a dot, a signal name), got 'TrunkAjar'"},
    {"role-two-dots", HEAD "[role ajar]\ndbc_signal = A.B.C\n", 0, 6, 14,
     "expected MESSAGE.SIGNAL (a message name or 0x id, a dot, a signal name), got 'A.B.C'"},
    {"role-blank", HEAD "[role ajar]\ndbc_signal = A. B\n", 0, 6, 16, "blank in MESSAGE.SIGNAL"},
    {"role-both", ECU "[role ajar]\ndbc_signal = A.B\ndid = bcm 0xD100\n", 0, 10, 7,
     "'dbc_signal' and 'did' in the same [role]"},
    {"role-did-words", ECU "[role ajar]\ndid = bcm\n", 0, 9, 7,
     "expected 'ECU 0xDID' or 'ECU 0xDID SIGNAL'"},
    {"role-did-ecu", ECU "[role ajar]\ndid = abs 0xD100\n", 0, 9, 7, "undeclared ECU 'abs'"},
    {"role-did-hex", ECU "[role ajar]\ndid = bcm 0xD1\n", 0, 9, 11,
     "bad DID '0xD1' (expected 0x and 4 hex digits)"},
    {"role-did-undeclared", ECU "[role ajar]\ndid = bcm 0xD100\nsource = s\ngrade = A\n", 0, 9, 7,
     "[did bcm 0xD100] is not in this profile"},
    {"role-did-signal", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\n[role ajar]\ndid = bcm 0xD100 Y\n"
			"source = s\ngrade = A\n",
     0, 12, 7, "DID 0xD100 has no signal 'Y'"},
    {"role-did-which", ECU "[did bcm 0xD100]\nname = F\nsignal = A : 0|1@1+ (1,0) [0|1] \"\"\n"
			"signal = B : 1|1@1+ (1,0) [0|1] \"\"\n[role ajar]\ndid = bcm 0xD100\n"
			"source = s\ngrade = A\n",
     0, 13, 7, "DID 0xD100 has 2 signals: name one (did = ECU 0xDID SIGNAL)"},
    {"role-did-label", DID "signal = X : 0|8@1+ (1,0) [0|0] \"\"\nvalues = 0 \"shut\"\n[role ajar]\n"
			"did = bcm 0xD100\nmap = closed:closed\nsource = s\ngrade = A\n",
     0, 14, 7, "signal 'X' has no value 'closed'"},
    {"role-map-label", HEAD "[role ajar]\ndbc_signal = A.B\nmap = 1:ajar\n", 0, 7, 9,
     "unknown value 'ajar' of role 'ajar' (closed, open)"},
    {"role-map-colon", HEAD "[role ajar]\ndbc_signal = A.B\nmap = 1 open\n", 0, 7, 9,
     "expected ':' and a label of role 'ajar'"},
    {"role-map-from", HEAD "[role ajar]\ndbc_signal = A.B\nmap = :open\n", 0, 7, 7,
     "expected a source value (a raw number or a label) before ':'"},
    {"role-map-quote", HEAD "[role ajar]\ndbc_signal = A.B\nmap = \"\":open\n", 0, 7, 7,
     "expected a quoted source label"},
    {"role-map-comma", HEAD "[role ajar]\ndbc_signal = A.B\nmap = 1:open 0:closed\n", 0, 7, 14,
     "expected ',' or the end"},
    {"role-map-number", HEAD "[role speed]\ndbc_signal = A.B\nmap = 1:1\nsource = s\ngrade = A\n",
     0, 7, 9, "unknown value '1' of role 'speed' ()"},
    {"role-number-map", HEAD "[role gear]\ndbc_signal = A.B\nscale = 2\nsource = s\ngrade = A\n",
     0, 7, 9, "role 'gear' has labels: 'scale' and 'offset' are for number roles"},
    {"role-enum-no-map", HEAD "[role gear]\ndbc_signal = A.B\nsource = s\ngrade = A\n", 0, 5, 1,
     "role 'gear' has labels: its source needs a 'map' (raw value or source label ':' role "
     "label)"},
    {"role-default-number", HEAD "[role speed]\ndbc_signal = A.B\ndefault = none\n", 0, 7, 11,
     "role 'speed' is a number: 'default' names a label"},
    {"role-default-label", HEAD "[role gear]\ndbc_signal = A.B\ndefault = P\n", 0, 7, 11,
     "unknown value 'P' of role 'gear' (park, reverse, neutral, drive, other)"},
    {"role-scale", HEAD "[role speed]\ndbc_signal = A.B\nscale = fast\n", 0, 7, 9,
     "expected a number, got 'fast'"},
    {"role-offset", HEAD "[role speed]\ndbc_signal = A.B\noffset = 1e999\n", 0, 7, 10,
     "expected a number, got '1e999'"},
    {"role-grade", HEAD "[role ajar]\ndbc_signal = A.B\ngrade = D\n", 0, 7, 9,
     "grade must be A, B or C, got 'D'"},
    {"role-note-dup", HEAD "[role ajar]\ndbc_signal = A.B\nnote = a\nnote = b\n", 0, 8, 1,
     "repeated key 'note' (first at line 7)"},
};

/* [role] sections: every key, several sources of one role, DID sources checked. */
static void roles(void **state)
{
	static const char text[] =
	    ECU "[did bcm 0xD110]\nname = Flags\nsignal = F1 : 0|1@1+ (1,0) [0|1] \"\"\n"
		"values = 0 \"off\" 1 \"on\"\nsignal = F2 : 1|1@1+ (1,0) [0|1] \"\"\n"
		"[role release_request]\n"
		"dbc_signal = Locking_Systems_2_FD1.Veh_Lock_Requestor ; Ford\n"
		"map = Remote:fob, \"Key Cylinder\":key, 0x3:interior, -1:none\n"
		"map = 9 : passive\n"
		"default = source_unknown\n"
		"source = ford_lincoln_base_pt.dbc Locking_Systems_2_FD1 Veh_Lock_Requestor\n"
		"grade = B\n"
		"note = values 10..31 are other requestors\n"
		"[role speed]\ndbc_signal = 0x415.Veh_V_ActlBrk\nscale = 1.609344\noffset = -1\n"
		"source = s\ngrade = A\n"
		"[role fob1_trunk_enabled]\ndid = bcm 0xD110 F1\nmap = off:disabled, on:enabled\n"
		"source = DID\ngrade = C\n"
		"[role fob2_trunk_enabled]\ndid = bcm 0xD110 F2\nsource = DID\ngrade = C\n";
	struct profile *p = NULL;
	struct profile_error err;
	unsigned idx;
	if (profile_parse(text, strlen(text), "r.profile", &p, &err) < 0)
		fail_msg("%u:%u: %s", err.line, err.column, err.message);
	assert_string_equal(profile_filename(p), "r.profile");
	assert_int_equal(profile_role_count(p), 4);
	assert_null(profile_role_at(p, 4));
	const struct profile_role *r = profile_role_at(p, 0);
	assert_int_equal(role_find("release_request", 15, &idx), 0);
	assert_int_equal(r->role, idx);
	assert_int_equal(r->from, PROFILE_ROLE_FROM_DBC);
	assert_string_equal(r->message, "Locking_Systems_2_FD1");
	assert_string_equal(r->signal, "Veh_Lock_Requestor");
	assert_int_equal(r->n_map, 5);
	assert_string_equal(r->map[0].from_label, "Remote");
	assert_int_equal(r->map[0].value, 1); /* fob */
	assert_string_equal(r->map[1].from_label, "Key Cylinder");
	assert_null(r->map[2].from_label);
	assert_int_equal(r->map[2].from_raw, 3);
	assert_int_equal(r->map[3].from_raw, -1);
	assert_int_equal(r->map[4].from_raw, 9);
	assert_int_equal(r->map[4].line, 16);
	assert_int_equal(r->map[4].column, 7);
	assert_int_equal(r->default_value, 8); /* source_unknown */
	assert_int_equal(r->grade, 'B');
	assert_string_equal(r->note, "values 10..31 are other requestors");
	assert_int_equal(r->from_line, 14);
	assert_int_equal(r->from_column, 14);
	r = profile_role_at(p, 1);
	assert_string_equal(r->message, "0x415");
	assert_true(r->has_scale && r->scale == 1.609344 && r->offset == -1);
	r = profile_role_at(p, 2);
	assert_int_equal(r->from, PROFILE_ROLE_FROM_DID);
	assert_string_equal(r->ecu, "bcm");
	assert_int_equal(r->did, 0xD110);
	assert_string_equal(r->signal, "F1");
	assert_int_equal(profile_role_at(p, 3)->n_map, 0);
	profile_free(p);
}

/* Where the profile's DBC is: beside it, in ../dbc/, in the data directory. */
static void dbc_path(void **state)
{
	char buf[4096], dir[] = "/tmp/bodydiag-profile-XXXXXX";
	struct profile *p = NULL;
	struct profile_error err;
	static const char text[] = "format = 1\n[vehicle]\nmake = m\nplatform = p\ndbc = x.dbc\n";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(profile_parse(text, strlen(text), "t.profile", &p, &err), 0);
	snprintf(buf, sizeof(buf), "%s/profiles", dir);
	assert_int_equal(mkdir(buf, 0700), 0);
	snprintf(buf, sizeof(buf), "%s/dbc", dir);
	assert_int_equal(mkdir(buf, 0700), 0);
	char prof[4096], want[4096];
	snprintf(prof, sizeof(prof), "%s/profiles/t.profile", dir);
	/* nowhere yet: the places tried */
	assert_int_equal(profile_dbc_path(p, prof, "/nonexistent", buf, sizeof(buf)), -ENOENT);
	assert_non_null(strstr(buf, "/profiles/x.dbc, "));
	assert_non_null(strstr(buf, "/nonexistent/dbc/x.dbc"));
	/* in ../dbc/ beside profiles/ */
	snprintf(want, sizeof(want), "%s/dbc/x.dbc", dir);
	fclose(fopen(want, "w"));
	assert_int_equal(profile_dbc_path(p, prof, NULL, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/profiles/../dbc/x.dbc", dir);
	assert_string_equal(buf, want);
	/* beside the profile wins */
	snprintf(want, sizeof(want), "%s/profiles/x.dbc", dir);
	fclose(fopen(want, "w"));
	assert_int_equal(profile_dbc_path(p, prof, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	assert_int_equal(profile_dbc_path(p, prof, NULL, buf, 8), -ENAMETOOLONG);
	unlink(want);
	snprintf(want, sizeof(want), "%s/dbc/x.dbc", dir);
	unlink(want);
	snprintf(buf, sizeof(buf), "%s/dbc", dir);
	rmdir(buf);
	snprintf(buf, sizeof(buf), "%s/profiles", dir);
	rmdir(buf);
	rmdir(dir);
	profile_free(p);
	/* a profile without dbc = */
	static const char none[] = "format = 1\n[vehicle]\nmake = m\nplatform = p\n";
	assert_int_equal(profile_parse(none, strlen(none), "t.profile", &p, &err), 0);
	assert_int_equal(profile_dbc_path(p, "t.profile", NULL, buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "the profile names no dbc");
	profile_free(p);
}


static void bad_case(void **state)
{
	const struct bad *b = *state;
	struct profile *p = NULL;
	struct profile_error err, err2;
	size_t len = b->len ? b->len : strlen(b->text);
	char line[512];

	memset(&err, 0, sizeof(err));
	assert_int_equal(profile_parse(b->text, len, "t.profile", &p, &err), -EINVAL);
	assert_null(p);
	profile_error_format(&err, line, sizeof(line));
	print_message("%s\n", line);
	assert_string_equal(err.file, "t.profile");
	assert_int_equal(err.line, b->line);
	if (b->column)
		assert_int_equal(err.column, b->column);
	else
		assert_true(err.column > 0);
	if (b->message)
		assert_string_equal(err.message, b->message);
	else
		assert_true(strlen(err.message) > 5);

	/* the same error, fed byte by byte */
	struct profile_parser *pp = profile_parser_new("t.profile");
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i++)
		r = profile_parser_feed(pp, b->text + i, 1, &err2);
	if (r == 0)
		r = profile_parser_finish(pp, &p, &err2);
	assert_int_equal(r, -EINVAL);
	assert_memory_equal(&err, &err2, sizeof(err));
	profile_parser_free(pp);
}

static void overlong(void **state)
{
	char *t = malloc(PROFILE_MAX_LINE + 64);
	struct profile *p = NULL;
	struct profile_error err;
	size_t n;

	/* exactly PROFILE_MAX_LINE bytes (plus CR) is fine */
	n = (size_t)snprintf(t, 64, "format = 1\n[vehicle]\nmake = m\nplatform = ");
	size_t start = n;
	while (n - (start - 11) < PROFILE_MAX_LINE)
		t[n++] = 'x';
	t[n++] = '\r';
	t[n++] = '\n';
	assert_int_equal(profile_parse(t, n, "t", &p, &err), 0);
	profile_free(p);
	n -= 2;
	t[n++] = 'x';
	t[n++] = '\n';
	assert_int_equal(profile_parse(t, n, "t", &p, &err), -EINVAL);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.column, PROFILE_MAX_LINE + 1);
	assert_string_equal(err.message, "line longer than 4096 bytes");
	/* without the newline too */
	assert_int_equal(profile_parse(t, n - 1, "t", &p, &err), -EINVAL);
	assert_string_equal(err.message, "line longer than 4096 bytes");
	free(t);
}

static void limits(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct profile *p = NULL;
	struct profile_error err;

	fputs(ECU, f);
	for (unsigned i = 0; i <= PROFILE_MAX_DIDS; i++)
		fprintf(f, "[did bcm 0x%04X]\nname = D%u\nascii = 1\n", i, i);
	fclose(f);
	assert_int_equal(profile_parse(buf, len, "t", &p, &err), -EINVAL);
	assert_string_equal(err.message, "more than 4096 DIDs");
	free(buf);

	f = open_memstream(&buf, &len);
	fputs(HEAD, f);
	for (unsigned i = 0; i <= PROFILE_MAX_ECUS; i++)
		fprintf(f, "[ecu e%u]\nrequest = 0x1\nresponse = 0x2\n", i);
	fclose(f);
	assert_int_equal(profile_parse(buf, len, "t", &p, &err), -EINVAL);
	assert_string_equal(err.message, "more than 256 ECUs");
	free(buf);

	f = open_memstream(&buf, &len);
	fputs(ECU, f);
	for (unsigned i = 0; i <= PROFILE_MAX_DTCS; i++)
		fprintf(f, "[dtc bcm B%04X-00]\ntext = t\nsource = s\n", i);
	fclose(f);
	assert_int_equal(profile_parse(buf, len, "t", &p, &err), -EINVAL);
	assert_string_equal(err.message, "more than 4096 DTCs");
	free(buf);

	f = open_memstream(&buf, &len);
	fputs(DID, f);
	for (unsigned i = 0; i <= PROFILE_MAX_SIGNALS; i++)
		fprintf(f, "signal = S%u : 0|1@1+ (1,0) [0|0] \"\"\n", i);
	fclose(f);
	assert_int_equal(profile_parse(buf, len, "t", &p, &err), -EINVAL);
	assert_string_equal(err.message, "more than 256 signals in one DID");
	free(buf);
}

/* [vehicle] wmi: the VIN prefixes a profile claims, the longest match. */
static void wmi(void **state)
{
	static const char text[] = HEAD "wmi = 1FA, 1FM 1G\n";
	struct profile *p = NULL;
	struct profile_error err;

	assert_int_equal(profile_parse(text, strlen(text), "t.profile", &p, &err), 0);
	assert_int_equal(profile_wmi_count(p), 3);
	assert_string_equal(profile_wmi_at(p, 1), "1FM");
	assert_null(profile_wmi_at(p, 3));
	assert_int_equal(profile_vin_match(p, "1FMCU9GD5KUA00001"), 3);
	assert_int_equal(profile_vin_match(p, "1GCHK23K67F000001"), 2);
	assert_int_equal(profile_vin_match(p, "1FTFW1E50KF000001"), 0);
	assert_int_equal(profile_vin_match(p, NULL), 0);
	profile_free(p);
}

/* Every profile this tree ships loads, finds its own DBC (dbc/, as installed) and binds
 * every [role] to it, and every role mapping names its source and grade. */
static void shipped_profiles(void **state)
{
	(void)state;
	char dir[4096], path[4096 + 256], dbcpath[4096];
	snprintf(dir, sizeof(dir), "%s/profiles", BODYDIAG_SOURCE_ROOT);
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	static char claimed[PROFILE_MAX_WMI * 16][4];
	size_t n_claimed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 9 || strcmp(de->d_name + len - 8, ".profile") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct profile *p = NULL;
		struct profile_error perr;
		if (profile_load(path, &p, &perr) < 0)
			fail_msg("%s:%u:%u: %s", perr.file, perr.line, perr.column, perr.message);
		assert_int_equal(profile_dbc_path(p, path, "/nonexistent", dbcpath, sizeof(dbcpath)), 0);
		FILE *f = fopen(dbcpath, "rb");
		assert_non_null(f);
		static char text[8u << 20];
		size_t tl = fread(text, 1, sizeof(text), f);
		fclose(f);
		struct dbc *db = NULL;
		struct dbc_error derr;
		if (dbc_parse(text, tl, dbcpath, NULL, NULL, &derr, &db) < 0)
			fail_msg("%s:%u:%u: %s", derr.file, derr.line, derr.column, derr.message);
		struct rolemap *m = NULL;
		if (rolemap_new(p, db, &perr, &m) < 0)
			fail_msg("%s:%u:%u: %s", perr.file, perr.line, perr.column, perr.message);
		assert_true(profile_role_count(p) > 0);
		for (size_t i = 0; i < profile_role_count(p); i++) {
			const struct profile_role *r = profile_role_at(p, i);
			assert_true(r->source && r->source[0]);
			assert_true(r->grade == 'A' || r->grade == 'B' || r->grade == 'C');
		}
		/* each claims its makers' WMIs for [data] profile = auto, none claimed twice */
		assert_true(profile_wmi_count(p) > 0);
		for (size_t i = 0; i < profile_wmi_count(p); i++) {
			for (size_t k = 0; k < n_claimed; k++)
				if (!strcmp(claimed[k], profile_wmi_at(p, i)))
					fail_msg("%s: wmi %s claimed by another profile too", path,
						 claimed[k]);
			assert_true(n_claimed < sizeof(claimed) / sizeof(claimed[0]));
			snprintf(claimed[n_claimed++], 4, "%s", profile_wmi_at(p, i));
		}
		rolemap_free(m);
		dbc_free(db);
		profile_free(p);
		n++;
	}
	closedir(d);
	assert_true(n >= 10); /* the simulated car and nine real families */
}

int main(void)
{
	const size_t nbad = sizeof(bad_cases) / sizeof(bad_cases[0]);
	const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(sim_profile), cmocka_unit_test(decode),	 cmocka_unit_test(streaming),
	    cmocka_unit_test(minimal),	   cmocka_unit_test(load_missing), cmocka_unit_test(too_big),
	    cmocka_unit_test(overlong),	   cmocka_unit_test(limits),	   cmocka_unit_test(roles),
	    cmocka_unit_test(dbc_path),	   cmocka_unit_test(shipped_profiles), cmocka_unit_test(wmi),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nfixed + nbad, sizeof(*tests));
	char (*names)[64] = calloc(nbad, sizeof(*names));
	int r;

	memcpy(tests, fixed, sizeof(fixed));
	for (size_t i = 0; i < nbad; i++) {
		snprintf(names[i], sizeof(names[i]), "error_%s", bad_cases[i].name);
		tests[nfixed + i] = (struct CMUnitTest){
		    .name = names[i],
		    .test_func = bad_case,
		    .initial_state = (void *)&bad_cases[i],
		};
	}
	r = _cmocka_run_group_tests("profile", tests, nfixed + nbad, NULL, NULL);
	free(tests);
	free(names);
	return r;
}
