/* SPDX-License-Identifier: MIT */
/*
 * dbc: one hand-written minimal DBC per feature, decoded and encoded with known bytes.
 */
#include <endian.h>
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

struct warnings {
	unsigned count;
	char all[4096];
};

static void collect(void *userdata, const char *file, unsigned line, unsigned column,
		    const char *message)
{
	struct warnings *w = userdata;
	size_t n = strlen(w->all);
	w->count++;
	snprintf(w->all + n, sizeof(w->all) - n, "%u:%u:%s\n", line, column, message);
}

static struct dbc *load_warn(const char *text, struct warnings *w)
{
	struct dbc *db = NULL;
	struct dbc_error err = {0};
	int r = dbc_parse(text, strlen(text), "test.dbc", w ? collect : NULL, w, &err, &db);
	if (r < 0)
		fail_msg("parse failed: %s:%u:%u: %s", err.file, err.line, err.column, err.message);
	return db;
}

static struct dbc *load(const char *text)
{
	return load_warn(text, NULL);
}

/* Decodes a frame and returns the number of samples (all signals of the message fit). */
static int decode(const struct dbc *db, uint32_t id, bool ext, const void *data, size_t len,
		  struct dbc_sample *out, struct dbc_decode_status *st)
{
	const struct dbc_message *m = dbc_find_message(db, id, ext);
	assert_non_null(m);
	int n = dbc_decode(m, data, len, out, 64, st);
	assert_true(n >= 0);
	return n;
}

static const struct dbc_sample *sample(const struct dbc_sample *s, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(dbc_signal_name(s[i].signal), name) == 0)
			return &s[i];
	return NULL;
}

static void assert_int_value(const struct dbc_sample *s, int64_t v)
{
	assert_non_null(s);
	assert_int_equal(s->value.type, DBC_VALUE_INT);
	assert_true(s->value.i == v);
}

static void assert_float_value(const struct dbc_sample *s, double v)
{
	assert_non_null(s);
	assert_int_equal(s->value.type, DBC_VALUE_FLOAT);
	assert_true(fabs(s->value.f - v) <= 1e-12 * fmax(1, fabs(v)));
}

static const char header[] = "VERSION \"\"\nNS_ :\n\tCM_\n\tVAL_\nBS_:\nBU_: A B\n";

static char *with_header(const char *body)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s%s", header, body);
	return buf;
}

static void little_endian(void **state)
{
	struct dbc *db = load(with_header("BO_ 256 M: 8 A\n"
					  " SG_ U16 : 0|16@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ Cross : 20|12@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ S8 : 32|8@1- (1,0) [0|0] \"\" B\n"
					  " SG_ Odd : 43|7@1+ (1,0) [0|0] \"\" B\n"));
	const uint8_t d[8] = {0x34, 0x12, 0xcd, 0xab, 0xfe, 0xf0, 0, 0};
	struct dbc_sample s[64];
	int n = decode(db, 256, false, d, 8, s, NULL);
	assert_int_equal(n, 4);
	assert_int_value(sample(s, n, "U16"), 0x1234);
	assert_int_value(sample(s, n, "Cross"), 0xabc); /* bits 20..31 */
	assert_int_value(sample(s, n, "S8"), -2);
	assert_int_value(sample(s, n, "Odd"), 0xf0 >> 3); /* bits 43..49 */
	dbc_free(db);
}

static void motorola_crossing_bytes(void **state)
{
	struct dbc *db = load(with_header("BO_ 100 M: 8 A\n"
					  " SG_ Word : 7|16@0+ (1,0) [0|0] \"\" B\n"
					  " SG_ Twelve : 13|12@0+ (1,0) [0|0] \"\" B\n"
					  " SG_ Three : 34|3@0+ (1,0) [0|0] \"\" B\n"
					  " SG_ Neg : 47|10@0- (1,0) [0|0] \"\" B\n"));
	/* byte1 0xAB, byte2 0xCD: Twelve starts at byte 1 bit 5 and runs into byte 2 */
	const uint8_t d[8] = {0x12, 0xab, 0xcd, 0x00, 0x1c, 0xff, 0xc0, 0};
	struct dbc_sample s[64];
	int n = decode(db, 100, false, d, 8, s, NULL);
	assert_int_equal(n, 4);
	assert_int_value(sample(s, n, "Word"), 0x12ab);
	assert_int_value(sample(s, n, "Twelve"), 0xaf3);
	assert_int_value(sample(s, n, "Three"), 4); /* byte 4 bits 2..0 = 100 */
	assert_int_value(sample(s, n, "Neg"), -1);  /* byte 5 + 2 bits of byte 6, all ones */
	dbc_free(db);
}

static void wide_signals(void **state)
{
	struct dbc *db = load(with_header("BO_ 1 L: 8 A\n"
					  " SG_ U64 : 0|64@1+ (1,0) [0|0] \"\" B\n"
					  "BO_ 2 S: 8 A\n"
					  " SG_ S64 : 0|64@1- (1,0) [0|0] \"\" B\n"
					  "BO_ 3 B: 8 A\n"
					  " SG_ B64 : 7|64@0+ (1,0) [0|0] \"\" B\n"
					  "BO_ 4 N: 24 A\n"
					  " SG_ Nine : 4|64@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ NineBE : 67|64@0+ (1,0) [0|0] \"\" B\n"));
	uint8_t ones[16], seq[24];
	struct dbc_sample s[64];
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 24; i++)
		seq[i] = (uint8_t)(i * 37 + 1);
	int n = decode(db, 1, false, ones, 8, s, NULL);
	assert_int_equal(s[0].value.type, DBC_VALUE_UINT);
	assert_true(s[0].value.u == UINT64_MAX);
	n = decode(db, 2, false, ones, 8, s, NULL);
	assert_int_value(&s[0], -1);
	const uint8_t counting[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	n = decode(db, 3, false, counting, 8, s, NULL);
	assert_int_value(&s[0], 0x0102030405060708);
	/* a 64-bit field starting mid-byte spans nine bytes */
	n = decode(db, 4, false, seq, 24, s, NULL);
	assert_int_equal(n, 2);
	const struct dbc_sample *nine = sample(s, n, "Nine");
	assert_non_null(nine);
	uint64_t lo = 0, want;
	for (int i = 7; i >= 0; i--)
		lo = lo << 8 | seq[i];
	want = (lo >> 4) | ((uint64_t)seq[8] << 60);
	assert_true(dbc_value_as_double(nine->value) == (double)want);
	assert_true((nine->value.type == DBC_VALUE_INT ? (uint64_t)nine->value.i : nine->value.u) ==
		    want);
	/* Motorola: MSB at byte 8 bit 3, network bits 68..131 span bytes 8..16 */
	const struct dbc_sample *nbe = sample(s, n, "NineBE");
	assert_non_null(nbe);
	uint64_t got = nbe->value.type == DBC_VALUE_INT ? (uint64_t)nbe->value.i : nbe->value.u;
	uint64_t expect = 0;
	for (unsigned bit = 0; bit < 64; bit++) {
		unsigned p = 8 * 8 + 4 + bit; /* network position */
		unsigned byte = p / 8, b = 7 - p % 8;
		unsigned v = (seq[byte] >> b) & 1;
		expect = expect << 1 | v;
	}
	assert_true(got == expect);
	dbc_free(db);
}

/*
 * Scaling past 64 bits: cantools computes raw * factor + offset with Python's exact
 * integers, so a 64-bit raw value times an integral factor can leave the 64-bit range.
 * Expected values from Python (float() of the exact integer: correctly rounded).
 */
static const struct dbc_sample *decode_u64(const struct dbc *db, uint32_t id, uint64_t raw,
					   struct dbc_sample *s)
{
	uint8_t d[8];
	for (int i = 0; i < 8; i++)
		d[i] = (uint8_t)(raw >> (8 * i));
	int n = decode(db, id, false, d, 8, s, NULL);
	assert_int_equal(n, 1);
	return &s[0];
}

static void assert_exact_float(const struct dbc_sample *s, double v)
{
	assert_int_equal(s->value.type, DBC_VALUE_FLOAT);
	assert_true(s->value.f == v);
}

static uint64_t encode_u64(const struct dbc *db, uint32_t id, struct dbc_value v, int *ret)
{
	uint8_t d[8] = {0};
	uint64_t raw = 0;
	*ret = dbc_encode(dbc_find_message(db, id, false), &v, d, sizeof(d));
	for (int i = 7; i >= 0; i--)
		raw = raw << 8 | d[i];
	return raw;
}

static void beyond_64_bits(void **state)
{
	struct dbc *db = load(with_header("BO_ 1 A: 8 A\n SG_ Three : 0|64@1+ (3,2049) [0|0] \"\" B\n"
					  "BO_ 2 B: 8 A\n SG_ Tie : 0|64@1+ (3,2048) [0|0] \"\" B\n"
					  "BO_ 3 C: 8 A\n SG_ Neg : 0|64@1- (2,-1) [0|0] \"\" B\n"
					  "BO_ 4 D: 8 A\n SG_ Up : 0|64@1+ (1,5) [0|0] \"\" B\n"
					  "BO_ 5 E: 8 A\n SG_ Flip : 0|64@1+ (-1,0) [0|0] \"\" B\n"
					  "BO_ 6 F: 8 A\n SG_ Lit : 0|64@1+ (2,0.5) [0|0] \"\" B\n"
					  "BO_ 7 G: 8 A\n SG_ Fit : 0|64@1- (4,-7) [0|0] \"\" B\n"
					  "BO_ 8 H: 8 A\n SG_ SFlip : 0|64@1- (-1,0) [0|0] \"\" B\n"
					  "BO_ 9 I: 8 A\n SG_ Seven : 0|64@1+ (7,0) [0|0] \"\" B\n"));
	struct dbc_sample s[4];
	const struct dbc_sample *x;
	int r;

	/* 3 * 2^63 + 2049: above the tie, rounds up; + 2048: the tie, rounds to even */
	assert_exact_float(decode_u64(db, 1, UINT64_C(1) << 63, s), 0x1.8000000000001p+64);
	assert_exact_float(decode_u64(db, 2, UINT64_C(1) << 63, s), 0x1.8p+64);
	assert_exact_float(decode_u64(db, 1, UINT64_MAX, s), 0x1.8p+65);
	assert_int_value(decode_u64(db, 1, 0, s), 2049);
	/* 2 * INT64_MIN - 1 */
	assert_exact_float(decode_u64(db, 3, UINT64_C(1) << 63, s), -0x1p+64);
	assert_int_value(decode_u64(db, 3, UINT64_MAX, s), -3);
	/* the unsigned range above INT64_MAX stays an exact integer */
	x = decode_u64(db, 4, UINT64_MAX - 5, s);
	assert_int_equal(x->value.type, DBC_VALUE_UINT);
	assert_true(x->value.u == UINT64_MAX);
	assert_exact_float(decode_u64(db, 4, UINT64_MAX - 4, s), 0x1p+64);
	x = decode_u64(db, 4, (UINT64_C(1) << 63) - 5, s);
	assert_int_equal(x->value.type, DBC_VALUE_UINT);
	assert_true(x->value.u == UINT64_C(1) << 63);
	assert_exact_float(decode_u64(db, 5, UINT64_MAX, s), -0x1p+64);
	assert_int_value(decode_u64(db, 5, UINT64_C(1) << 63, s), INT64_MIN);
	/* int * int exact, then + 0.5 in double: 2 * (2^63 + 1025) = 2^64 + 2050 */
	assert_exact_float(decode_u64(db, 6, (UINT64_C(1) << 63) + 1025, s), 0x1.0000000000001p+64);
	assert_int_value(decode_u64(db, 7, (UINT64_C(1) << 61) - 1, s), INT64_MAX - 10);
	x = decode_u64(db, 7, UINT64_C(1) << 62, s); /* 2^64 - 7 */
	assert_int_equal(x->value.type, DBC_VALUE_UINT);
	assert_true(x->value.u == UINT64_MAX - 6);
	assert_exact_float(decode_u64(db, 7, (UINT64_C(1) << 62) + 2, s), 0x1p+64);
	assert_exact_float(decode_u64(db, 7, UINT64_C(1) << 63, s), -0x1p+65);
	x = decode_u64(db, 8, UINT64_C(1) << 63, s); /* -(INT64_MIN) */
	assert_int_equal(x->value.type, DBC_VALUE_UINT);
	assert_true(x->value.u == UINT64_C(1) << 63);

	/* encoding: (value - offset) / factor, exact when it divides, else rounded */
	struct dbc_value v = {.type = DBC_VALUE_UINT, .u = UINT64_MAX};
	assert_true(encode_u64(db, 1, v, &r) == UINT64_C(6148914691236516522));
	assert_int_equal(r, 8);
	assert_true(encode_u64(db, 9, v, &r) == UINT64_C(2635249153387078656));
	assert_int_equal(r, 8);
	assert_true(encode_u64(db, 4, v, &r) == UINT64_MAX - 5);
	v.u = 4;
	encode_u64(db, 4, v, &r); /* 4 - 5 < 0 */
	assert_int_equal(r, -ERANGE);
	v = (struct dbc_value){.type = DBC_VALUE_INT, .i = INT64_MIN};
	assert_true(encode_u64(db, 5, v, &r) == UINT64_C(1) << 63);
	assert_int_equal(r, 8);
	encode_u64(db, 8, v, &r); /* -(INT64_MIN) does not fit a signed 64-bit field */
	assert_int_equal(r, -ERANGE);
	v.i = INT64_MAX;
	assert_true(encode_u64(db, 8, v, &r) == (uint64_t)-INT64_MAX);
	assert_int_equal(r, 8);
	/* (INT64_MIN + 1) / 2 is not whole: rounded in double, where it is -2^62 */
	v.i = INT64_MIN;
	assert_true(encode_u64(db, 3, v, &r) == (uint64_t)-(INT64_C(1) << 62));
	assert_int_equal(r, 8);
	v = (struct dbc_value){.type = DBC_VALUE_FLOAT, .f = -0x1p+64};
	encode_u64(db, 5, v, &r); /* raw 2^64 */
	assert_int_equal(r, -ERANGE);
	dbc_free(db);
}

/* A 64-bit field starting mid-byte spans nine bytes: written without touching its neighbours. */
static void wide_encode(void **state)
{
	struct dbc *db = load(with_header("BO_ 4 N: 24 A\n"
					  " SG_ Lo : 0|4@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ Nine : 4|64@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ Mid : 68|4@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ NineBE : 75|64@0+ (1,0) [0|0] \"\" B\n"
					  " SG_ Tail : 144|4@1+ (1,0) [0|0] \"\" B\n"));
	const struct dbc_message *m = dbc_find_message(db, 4, false);
	const uint64_t nine = UINT64_C(0xf123456789abcdef), nbe = UINT64_C(0x8000000000000001);
	struct dbc_value v[5] = {
	    {.type = DBC_VALUE_INT, .i = 0xa},
	    {.type = DBC_VALUE_UINT, .u = nine},
	    {.type = DBC_VALUE_INT, .i = 0x5},
	    {.type = DBC_VALUE_UINT, .u = nbe},
	    {.type = DBC_VALUE_INT, .i = 0xc},
	};
	uint8_t d[24], want[24] = {0};
	assert_int_equal(dbc_encode(m, v, d, sizeof(d)), 24);
	/* reference: bit by bit, Intel positions count up from byte 0 bit 0 */
	for (unsigned i = 0; i < 4; i++) {
		want[i / 8] |= (uint8_t)(((0xa >> i) & 1) << (i % 8));
		want[(68 + i) / 8] |= (uint8_t)(((0x5 >> i) & 1) << ((68 + i) % 8));
		want[(144 + i) / 8] |= (uint8_t)(((0xc >> i) & 1) << ((144 + i) % 8));
	}
	for (unsigned i = 0; i < 64; i++)
		want[(4 + i) / 8] |= (uint8_t)(((nine >> i) & 1) << ((4 + i) % 8));
	/* Motorola: MSB at byte 9 bit 3 = network position 76, going down the network order */
	for (unsigned i = 0; i < 64; i++) {
		unsigned p = 76 + i, bit = 7 - p % 8;
		want[p / 8] |= (uint8_t)(((nbe >> (63 - i)) & 1) << bit);
	}
	assert_memory_equal(d, want, sizeof(want));
	struct dbc_sample s[8];
	int n = dbc_decode(m, d, sizeof(d), s, 8, NULL);
	assert_int_equal(n, 5);
	assert_int_value(sample(s, n, "Lo"), 0xa);
	assert_true(sample(s, n, "Nine")->value.u == nine);
	assert_int_value(sample(s, n, "Mid"), 0x5);
	assert_true(sample(s, n, "NineBE")->value.u == nbe);
	assert_int_value(sample(s, n, "Tail"), 0xc);
	dbc_free(db);
}

static void signed_one_bit(void **state)
{
	struct dbc *db = load(with_header("BO_ 5 M: 1 A\n"
					  " SG_ Bit : 3|1@1- (1,0) [-1|0] \"\" B\n"
					  " SG_ BitM : 4|1@0- (1,0) [-1|0] \"\" B\n"
					  "VAL_ 5 Bit -1 \"set\" 0 \"clear\" ;\n"));
	struct dbc_sample s[64];
	uint8_t d = 0x18;
	int n = decode(db, 5, false, &d, 1, s, NULL);
	assert_int_value(sample(s, n, "Bit"), -1);
	assert_string_equal(sample(s, n, "Bit")->choice, "set");
	assert_int_value(sample(s, n, "BitM"), -1);
	d = 0;
	n = decode(db, 5, false, &d, 1, s, NULL);
	assert_int_value(sample(s, n, "Bit"), 0);
	assert_string_equal(sample(s, n, "Bit")->choice, "clear");
	dbc_free(db);
}

static void float_and_double(void **state)
{
	struct dbc *db = load(with_header("BO_ 7 F: 16 A\n"
					  " SG_ F32 : 0|32@1- (1,0) [0|0] \"\" B\n"
					  " SG_ F32S : 32|32@1+ (2,1) [0|0] \"\" B\n"
					  " SG_ F64 : 64|64@1- (1,0) [0|0] \"\" B\n"
					  "BO_ 8 G: 8 A\n"
					  " SG_ F64BE : 7|64@0+ (1,0) [0|0] \"\" B\n"
					  "SIG_VALTYPE_ 7 F32 : 1;\n"
					  "SIG_VALTYPE_ 7 F32S : 1;\n"
					  "SIG_VALTYPE_ 7 F64 : 2;\n"
					  "SIG_VALTYPE_ 8 F64BE : 2;\n"));
	uint8_t d[16];
	float f = 1.5f, g = -0.25f;
	double x = -2.125, y = 6.02e23;
	memcpy(d, &f, 4); /* the test host is little-endian, like the Intel layout */
	memcpy(d + 4, &g, 4);
	memcpy(d + 8, &x, 8);
	struct dbc_sample s[64];
	int n = decode(db, 7, false, d, 16, s, NULL);
	assert_float_value(sample(s, n, "F32"), 1.5);
	assert_float_value(sample(s, n, "F32S"), -0.25 * 2 + 1);
	assert_float_value(sample(s, n, "F64"), -2.125);
	uint64_t bits;
	memcpy(&bits, &y, 8);
	for (int i = 0; i < 8; i++)
		d[i] = (uint8_t)(bits >> (56 - 8 * i));
	n = decode(db, 8, false, d, 8, s, NULL);
	assert_float_value(&s[0], 6.02e23);
	assert_int_equal(dbc_signal_type(s[0].signal), DBC_SIGNAL_TYPE_DOUBLE);
	dbc_free(db);
}

static void integer_or_float(void **state)
{
	/* cantools: integral factor and offset keep integers, anything else gives floats */
	struct dbc *db = load(with_header("BO_ 9 M: 8 A\n"
					  " SG_ Id : 0|8@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ Lin : 8|8@1+ (2,-1) [0|0] \"\" B\n"
					  " SG_ LinF : 16|8@1+ (2.0,-1.0) [0|0] \"\" B\n"
					  " SG_ Frac : 24|8@1+ (0.5,0) [0|0] \"\" B\n"
					  " SG_ Off : 32|8@1+ (1,0.5) [0|0] \"\" B\n"
					  " SG_ Exp : 40|8@1+ (1e1,0) [0|0] \"\" B\n"
					  " SG_ Dot : 48|8@1+ (.25,0) [0|0] \"\" B\n"));
	const uint8_t d[8] = {3, 3, 3, 3, 3, 3, 3, 0};
	struct dbc_sample s[64];
	int n = decode(db, 9, false, d, 8, s, NULL);
	assert_int_value(sample(s, n, "Id"), 3);
	assert_int_value(sample(s, n, "Lin"), 5);
	assert_int_value(sample(s, n, "LinF"), 5);
	assert_float_value(sample(s, n, "Frac"), 1.5);
	assert_float_value(sample(s, n, "Off"), 3.5);
	assert_int_value(sample(s, n, "Exp"), 30);
	assert_float_value(sample(s, n, "Dot"), 0.75);
	dbc_free(db);
}

/* mux_dbc behind a one-signal message: indexes and numbers start past it */
static const char mux_dbc_for_room[] = "BO_ 9 First: 1 A\n"
				       " SG_ F : 0|8@1+ (1,0) [0|0] \"\" B\n"
				       "BO_ 10 Mux: 8 A\n"
				       " SG_ Sel M : 0|8@1+ (1,0) [0|0] \"\" B\n"
				       " SG_ Always : 56|8@1+ (1,0) [0|0] \"\" B\n"
				       " SG_ A m0 : 8|16@1+ (1,0) [0|0] \"\" B\n"
				       " SG_ B m1 : 8|8@1+ (1,0) [0|0] \"\" B\n"
				       " SG_ C m1 : 16|8@1- (1,0) [0|0] \"\" B\n";

static const char mux_dbc[] = "BO_ 10 Mux: 8 A\n"
			      " SG_ Sel M : 0|8@1+ (1,0) [0|0] \"\" B\n"
			      " SG_ Always : 56|8@1+ (1,0) [0|0] \"\" B\n"
			      " SG_ A m0 : 8|16@1+ (1,0) [0|0] \"\" B\n"
			      " SG_ B m1 : 8|8@1+ (1,0) [0|0] \"\" B\n"
			      " SG_ C m1 : 16|8@1- (1,0) [0|0] \"\" B\n"
			      "VAL_ 10 Sel 0 \"zero\" 1 \"one\" 2 \"two\" ;\n";

static void multiplexing(void **state)
{
	struct dbc *db = load(with_header(mux_dbc));
	struct dbc_sample s[64];
	struct dbc_decode_status st;
	uint8_t d[8] = {0, 0x34, 0x12, 0, 0, 0, 0, 9};
	int n = decode(db, 10, false, d, 8, s, &st);
	assert_int_equal(n, 3);
	assert_int_equal(st.flags, 0);
	assert_int_value(sample(s, n, "A"), 0x1234);
	assert_null(sample(s, n, "B"));
	assert_string_equal(sample(s, n, "Sel")->choice, "zero");
	d[0] = 1;
	n = decode(db, 10, false, d, 8, s, &st);
	assert_int_equal(n, 4);
	assert_int_value(sample(s, n, "B"), 0x34);
	assert_int_value(sample(s, n, "C"), 0x12);
	assert_null(sample(s, n, "A"));
	/* a labelled value without signals is fine, as in cantools */
	d[0] = 2;
	n = decode(db, 10, false, d, 8, s, &st);
	assert_int_equal(n, 2);
	assert_int_equal(st.flags, 0);
	/* a value with neither signals nor label is reported */
	d[0] = 3;
	n = decode(db, 10, false, d, 8, s, &st);
	assert_int_equal(n, 2);
	assert_int_equal(st.flags, DBC_DECODE_BAD_MUX);
	assert_int_equal(st.bad_mux_value, 3);
	char text[128];
	dbc_decode_status_format(&st, text, sizeof(text));
	assert_string_equal(text, "multiplexer Sel value 3 selects no signals");
	const struct dbc_message *m = dbc_find_message(db, 10, false);
	const struct dbc_signal *b = dbc_message_find_signal(m, "B");
	assert_true(dbc_signal_multiplexer(b) == dbc_message_find_signal(m, "Sel"));
	assert_true(dbc_signal_selected_by(b, 1));
	assert_false(dbc_signal_selected_by(b, 0));
	assert_true(dbc_signal_is_multiplexer(dbc_message_find_signal(m, "Sel")));
	dbc_free(db);
}

static void extended_multiplexing(void **state)
{
	struct dbc *db = load(with_header("BO_ 11 X: 8 A\n"
					  " SG_ S0 M : 0|4@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ S1 m0M : 4|4@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ S2 m1 : 8|8@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ S3 m2 : 8|8@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ S4 m3 : 16|8@1+ (1,0) [0|0] \"\" B\n"
					  "SG_MUL_VAL_ 11 S1 S0 0-0;\n"
					  "SG_MUL_VAL_ 11 S2 S1 1-1, 5-7;\n"
					  "SG_MUL_VAL_ 11 S3 S1 2 - 4;\n"
					  "SG_MUL_VAL_ 11 S4 S0 1-3;\n"));
	struct dbc_sample s[64];
	struct dbc_decode_status st;
	uint8_t d[8] = {0x60, 0xaa, 0xbb, 0, 0, 0, 0, 0}; /* S0=0, S1=6 */
	int n = decode(db, 11, false, d, 8, s, &st);
	assert_int_equal(st.flags, 0);
	assert_int_equal(n, 3);
	assert_int_value(sample(s, n, "S2"), 0xaa);
	d[0] = 0x30; /* S1=3 */
	n = decode(db, 11, false, d, 8, s, &st);
	assert_int_value(sample(s, n, "S3"), 0xaa);
	assert_null(sample(s, n, "S2"));
	assert_null(sample(s, n, "S4"));
	d[0] = 0x02; /* S0=2: S1 absent, S4 present */
	n = decode(db, 11, false, d, 8, s, &st);
	assert_int_equal(n, 2);
	assert_int_value(sample(s, n, "S4"), 0xbb);
	assert_null(sample(s, n, "S1"));
	d[0] = 0x00; /* S1=0 selects nothing under S1 */
	n = decode(db, 11, false, d, 8, s, &st);
	assert_int_equal(st.flags, DBC_DECODE_BAD_MUX);
	assert_string_equal(dbc_signal_name(st.bad_mux), "S1");
	dbc_free(db);
}

static void short_frame(void **state)
{
	struct dbc *db = load(with_header("BO_ 12 M: 8 A\n"
					  " SG_ First : 0|8@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ Last : 56|8@1+ (1,0) [0|0] \"\" B\n"));
	struct dbc_sample s[64];
	struct dbc_decode_status st;
	const uint8_t d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	int n = decode(db, 12, false, d, 5, s, &st);
	assert_int_equal(n, 1);
	assert_int_value(&s[0], 1);
	assert_int_equal(st.flags, DBC_DECODE_SHORT);
	char text[128];
	dbc_decode_status_format(&st, text, sizeof(text));
	assert_string_equal(text, "frame is 5 bytes, message is 8 bytes");
	/* longer frames are cut to the message length */
	uint8_t longer[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	n = decode(db, 12, false, longer, 12, s, &st);
	assert_int_equal(n, 2);
	assert_int_equal(st.flags, 0);
	/* too little room for the samples */
	assert_int_equal(dbc_decode(dbc_find_message(db, 12, false), d, 8, s, 1, &st), -ENOBUFS);
	dbc_free(db);
}

static void canfd_64_bytes(void **state)
{
	struct warnings w = {0};
	struct dbc *db = load_warn(
	    with_header("BO_ 2147484000 Fd: 64 A\n"
			" SG_ Tail : 504|8@1+ (1,0) [0|0] \"\" B\n"
			" SG_ TailBE : 495|16@0+ (1,0) [0|0] \"\" B\n"
			"BA_DEF_ BO_ \"VFrameFormat\" ENUM \"StandardCAN\",\"ExtendedCAN\","
			"\"reserved\",\"J1939PG\",\"reserved\",\"reserved\",\"reserved\","
			"\"reserved\",\"reserved\",\"reserved\",\"reserved\",\"reserved\","
			"\"reserved\",\"reserved\",\"StandardCAN_FD\",\"ExtendedCAN_FD\";\n"
			"BA_DEF_DEF_ \"VFrameFormat\" \"StandardCAN\";\n"
			"BA_ \"VFrameFormat\" BO_ 2147484000 15;\n"),
	    &w);
	const struct dbc_message *m = dbc_find_message(db, 352, true);
	assert_non_null(m);
	assert_true(dbc_message_is_extended(m));
	assert_true(dbc_message_is_fd(m));
	assert_int_equal(dbc_message_length(m), 64);
	uint8_t d[64] = {0};
	d[61] = 0xab;
	d[62] = 0xcd;
	d[63] = 0x7f;
	struct dbc_sample s[64];
	int n = decode(db, 352, true, d, 64, s, NULL);
	assert_int_equal(n, 2);
	assert_int_value(sample(s, n, "Tail"), 0x7f);
	assert_int_value(sample(s, n, "TailBE"), 0xabcd);
	assert_int_equal(w.count, 0);
	dbc_free(db);
}

static void attributes_comments_nodes(void **state)
{
	struct dbc *db =
	    load("VERSION \"2.1\"\r\n\r\nNS_ :\r\n\tNS_DESC_\r\n\tCM_\r\n\tBA_DEF_\r\n\r\nBS_:\r\n"
		 "BU_: ECU1 ECU2\r\n"
		 "VAL_TABLE_ OnOff 1 \"On\" 0 \"Off\" ;\r\n"
		 "BO_ 300 Msg: 8 ECU1\r\n"
		 " SG_ Sig : 0|8@1+ (1,0) [0|200] \"km/h\" ECU2,ECU1\r\n"
		 " SG_ Other : 8|8@1+ (1,0) [0|0] \"\" Vector__XXX\r\n"
		 "BO_TX_BU_ 300 : ECU2,ECU1;\r\n"
		 "EV_ Env: 0 [0|10] \"\" 0 1 DUMMY_NODE_VECTOR0 Vector__XXX;\r\n"
		 "ENVVAR_DATA_ Env: 4;\r\n"
		 "CM_ \"bus\";\r\n"
		 "CM_ BU_ ECU1 \"node \xe4\";\r\n"
		 "CM_ BO_ 300 \"says \\\"hi\\\"\r\nand more\";\r\n"
		 "CM_ SG_ 300 Sig \"speed\";\r\n"
		 "CM_ EV_ Env \"env\";\r\n"
		 "BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535;\r\n"
		 "BA_DEF_ SG_ \"GenSigStartValue\" FLOAT 0 100;\r\n"
		 "BA_DEF_ SG_ \"SystemSignalLongSymbol\" STRING ;\r\n"
		 "BA_DEF_DEF_ \"GenMsgCycleTime\" 50;\r\n"
		 "BA_ \"GenMsgCycleTime\" BO_ 300 20;\r\n"
		 "BA_ \"GenSigStartValue\" SG_ 300 Sig 7.5;\r\n"
		 "BA_ \"SystemSignalLongSymbol\" SG_ 300 Other \"A_Much_Longer_Name\";\r\n"
		 "VAL_ 300 Sig 1 \"one\" 2 \"two \\\"2\\\"\" ;\r\n"
		 "SIG_GROUP_ 300 Group 1 : Sig Other;\r\n");
	assert_string_equal(dbc_version(db), "2.1");
	assert_int_equal(dbc_node_count(db), 2);
	assert_string_equal(dbc_node_at(db, 1), "ECU2");
	const struct dbc_message *m = dbc_find_message_by_name(db, "Msg");
	assert_non_null(m);
	assert_true(m == dbc_find_message(db, 300, false));
	assert_string_equal(dbc_message_comment(m), "says \"hi\"\r\nand more");
	assert_int_equal(dbc_message_cycle_time(m), 20);
	assert_int_equal(dbc_message_sender_count(m), 2);
	assert_string_equal(dbc_message_sender_at(m, 1), "ECU2");
	const struct dbc_signal *sig = dbc_message_find_signal(m, "Sig");
	assert_non_null(sig);
	assert_string_equal(dbc_signal_comment(sig), "speed");
	assert_string_equal(dbc_signal_unit(sig), "km/h");
	assert_int_equal(dbc_signal_receiver_count(sig), 2);
	assert_string_equal(dbc_signal_receiver_at(sig, 0), "ECU2");
	double lo, hi, init;
	assert_true(dbc_signal_range(sig, &lo, &hi));
	assert_true(lo == 0 && hi == 200);
	assert_true(dbc_signal_initial_raw(sig, &init));
	assert_true(init == 7.5);
	assert_int_equal(dbc_signal_choice_count(sig), 2);
	assert_string_equal(dbc_signal_choice_label(sig, 2), "two \"2\"");
	const char *gname;
	const char *const *members;
	unsigned reps;
	size_t count;
	assert_int_equal(dbc_message_signal_group_count(m), 1);
	assert_true(dbc_message_signal_group_at(m, 0, &gname, &reps, &members, &count));
	assert_string_equal(gname, "Group");
	assert_int_equal(reps, 1);
	assert_int_equal(count, 2);
	assert_string_equal(members[1], "Other");
	assert_false(dbc_message_signal_group_at(m, 1, NULL, NULL, NULL, NULL));
	const struct dbc_signal *other = dbc_message_find_signal(m, "A_Much_Longer_Name");
	assert_non_null(other);
	assert_false(dbc_signal_range(other, NULL, NULL));
	assert_int_equal(dbc_signal_receiver_count(other), 0);
	dbc_free(db);
}

static void opendbc_quirks(void **state)
{
	struct warnings w = {0};
	struct dbc *db = load_warn("BO_ 1275 2017_5: 8 XXX\n"
				   " SG_ 5_SEC : 45|3@0+ (.25,-.5) [0|7] \"\" XXX\n"
				   " SG_   Spaced\t:\t0|8@1+\t(\t1 , 0 )   [ 0 | 255 ]  \"\"  XXX\n"
				   "BO_ 419360256 NoBit31: 8 XXX\n"
				   " SG_ X : 0|8@1+ (1,0) [0|0] \"\" XXX\n"
				   "CM_ SG_ 1275 \"comment without a signal name\";\n"
				   "VAL_ 1275 Spaced 1 \"one\" 2 \"two\"\n"
				   "VAL_ 419360256 X 0 \"zero\";\n",
				   &w);
	const struct dbc_message *m = dbc_find_message(db, 1275, false);
	assert_non_null(m);
	assert_string_equal(dbc_message_name(m), "D__2017_5");
	assert_non_null(dbc_message_find_signal(m, "5_SEC"));
	assert_true(dbc_signal_factor(dbc_message_find_signal(m, "5_SEC")) == 0.25);
	assert_true(dbc_signal_offset(dbc_message_find_signal(m, "5_SEC")) == -0.5);
	assert_string_equal(dbc_signal_choice_label(dbc_message_find_signal(m, "Spaced"), 2),
			    "two");
	const struct dbc_message *x = dbc_find_message(db, 419360256, true);
	assert_non_null(x);
	assert_true(dbc_message_is_extended(x));
	assert_string_equal(dbc_signal_choice_label(dbc_message_signal_at(x, 0), 0), "zero");
	assert_non_null(strstr(w.all, "starts with a digit"));
	assert_non_null(strstr(w.all, "without bit 31"));
	assert_non_null(strstr(w.all, "8:1:missing ';' after VAL_"));
	assert_non_null(strstr(w.all, "signal comment without a signal name"));
	dbc_free(db);
}

static void lenient_warnings(void **state)
{
	struct warnings w = {0};
	struct dbc *db = load_warn(with_header("BO_ 20 Ov: 2 A\n"
					       " SG_ P : 0|8@1+ (1,0) [0|0] \"\" B\n"
					       " SG_ Q : 4|8@1+ (1,0) [0|0] \"\" B\n"
					       " SG_ Past : 15|12@0+ (1,0) [0|0] \"\" B\n"),
				   &w);
	assert_non_null(strstr(w.all, "signals P and Q overlap"));
	assert_non_null(strstr(w.all, "signal Past does not fit in 2 bytes"));
	/* what sticks out is left out, the part inside is decoded (canmatrix's reading) */
	struct dbc_sample s[64];
	struct dbc_decode_status st;
	const uint8_t d[2] = {0x0f, 0xff};
	int n = decode(db, 20, false, d, 2, s, &st);
	assert_int_equal(n, 3);
	assert_int_value(sample(s, n, "Past"), 0xff);
	assert_int_equal(st.flags, DBC_DECODE_PAST_END);
	dbc_free(db);

	/* wider than 64 bits inside the message: loaded, left out of decoding and encoding */
	w = (struct warnings){0};
	db = load_warn(with_header("BO_ 21 W: 16 A\n"
				   " SG_ Huge : 0|100@1+ (1,0) [0|0] \"\" B\n"
				   " SG_ Small : 120|8@1+ (1,0) [0|0] \"\" B\n"),
		       &w);
	assert_non_null(strstr(w.all, "signal Huge is 100 bits long"));
	uint8_t d16[16] = {0};
	d16[15] = 42;
	n = decode(db, 21, false, d16, 16, s, &st);
	assert_int_equal(n, 1);
	assert_int_value(&s[0], 42);
	assert_int_equal(st.flags, DBC_DECODE_TOO_WIDE);
	struct dbc_value v[2] = {{.type = DBC_VALUE_INT, .i = 5}, {.type = DBC_VALUE_INT, .i = 7}};
	assert_int_equal(dbc_encode(dbc_find_message(db, 21, false), v, d16, 16), 16);
	assert_int_equal(d16[0], 0);
	assert_int_equal(d16[15], 7);
	dbc_free(db);
}

static void duplicates_and_lookup(void **state)
{
	struct dbc *db = load(with_header("BO_ 30 First: 8 A\n"
					  "BO_ 30 Second: 8 A\n"
					  "BO_ 2147483678 Ext30: 8 A\n"
					  "BO_ 31 Std31: 8 A\n"));
	assert_int_equal(dbc_message_count(db), 4);
	assert_string_equal(dbc_message_name(dbc_find_message(db, 30, false)), "Second");
	assert_string_equal(dbc_message_name(dbc_find_message(db, 30, true)), "Ext30");
	/* no exact match: same number in the other format (cantools keys by number) */
	assert_string_equal(dbc_message_name(dbc_find_message(db, 31, true)), "Std31");
	assert_null(dbc_find_message(db, 32, false));
	assert_null(dbc_find_message_by_name(db, "Nope"));
	dbc_free(db);
}

struct error_case {
	const char *text;
	unsigned line, column;
	const char *message;
};

static void syntax_errors(void **state)
{
	static const struct error_case cases[] = {
	    {"BO_ 1 M 8 X\n", 1, 9, "expected ':' after message name"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0|8@2+ (1,0) [0|0] \"\" X\n", 2, 14,
	     "expected byte order 0 or 1 after '@'"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0|8@1* (1,0) [0|0] \"\" X\n", 2, 15,
	     "expected '+' or '-' after byte order"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0 8@1+ (1,0) [0|0] \"\" X\n", 2, 12,
	     "expected '|' after start bit"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0|0@1+ (1,0) [0|0] \"\" X\n", 2, 12, "signal length 0"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0|8@1+ (x,0) [0|0] \"\" X\n", 2, 18,
	     "expected a number for factor"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] \"unit\n", 2, 29,
	     "unterminated string for unit"},
	    {"BO_ 1 M: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] X\n", 2, 29,
	     "expected a quoted string for unit"},
	    {"BO_ 1 M: 65 X\n", 1, 10, "message length 65 exceeds 64 bytes"},
	    {"BO_ 99999999999 M: 8 X\n", 1, 5, "message id 99999999999 out of range"},
	    {"VERSION \"\"\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" X\n", 2, 2,
	     "SG_ outside a BO_ message"},
	    {"BU_: A\n{\n", 2, 1, "unexpected '{' at top level"},
	    {"CM_ \"a\" \"b\";\n", 1, 9, "expected ';' after CM_"},
	    {"SG_MUL_VAL_ 1 A B 3-1;\n", 1, 19, "multiplexer range 3-1 is empty"},
	    {"BO_ 1 M: 8 X\n SG_ S mx : 0|8@1+ (1,0) [0|0] \"\" X\n SG_ T M : 8|8@1+ (1,0) [0|0] "
	     "\"\" X\n",
	     1, 1, "message M: bad multiplexer indicator 'mx'"},
	    {"VAL_ 1 S 1 \"a\" 2 ;\n", 1, 18, "expected a quoted string for value description"},
	    {"BA_ \"x\" BO_ 1 ;\n", 1, 15, "expected a number for attribute value"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dbc *db = NULL;
		struct dbc_error err;
		int r = dbc_parse(cases[i].text, strlen(cases[i].text), "bad.dbc", NULL, NULL, &err,
				  &db);
		if (r != -EINVAL || strstr(err.message, cases[i].message) == NULL ||
		    err.line != cases[i].line || err.column != cases[i].column)
			fail_msg("case %zu: r=%d %s:%u:%u: %s", i, r, err.file, err.line,
				 err.column, err.message);
		assert_string_equal(err.file, "bad.dbc");
		assert_null(db);
	}
}

static void streaming_parser(void **state)
{
	const char *text = with_header(mux_dbc);
	size_t len = strlen(text);
	struct dbc_parser *p = dbc_parser_new("chunks.dbc", NULL, NULL);
	struct dbc *db = NULL;
	struct dbc_error err;
	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(dbc_parser_feed(p, text + i, 1), 0);
	assert_int_equal(dbc_parser_finish(p, &err, &db), 0);
	dbc_parser_free(p);
	assert_int_equal(dbc_message_signal_count(dbc_find_message(db, 10, false)), 5);
	dbc_free(db);

	p = dbc_parser_new(NULL, NULL, NULL);
	assert_int_equal(dbc_parser_feed(p, "BO_ 1 M: 8 X\n SG_ S : 0|8@", 26), 0);
	assert_int_equal(dbc_parser_finish(p, &err, &db), -EINVAL);
	assert_string_equal(err.file, "<memory>");
	assert_int_equal(err.line, 2);
	dbc_parser_free(p);
	assert_null(dbc_parser_free(NULL));
	assert_null(dbc_free(NULL));
}

static void encoding(void **state)
{
	struct dbc *db = load(with_header(mux_dbc));
	const struct dbc_message *m = dbc_find_message(db, 10, false);
	struct dbc_value v[5] = {0};
	uint8_t d[8];
	/* order: Sel Always A B C */
	v[0] = (struct dbc_value){.type = DBC_VALUE_INT, .i = 1};
	v[1] = (struct dbc_value){.type = DBC_VALUE_INT, .i = 9};
	v[2] = (struct dbc_value){.type = DBC_VALUE_INT, .i = 0x5555}; /* not selected */
	v[3] = (struct dbc_value){.type = DBC_VALUE_FLOAT, .f = 0x34};
	v[4] = (struct dbc_value){.type = DBC_VALUE_INT, .i = -2};
	assert_int_equal(dbc_encode(m, v, d, sizeof(d)), 8);
	const uint8_t want[8] = {1, 0x34, 0xfe, 0, 0, 0, 0, 9};
	assert_memory_equal(d, want, 8);
	v[4].i = 128; /* does not fit a signed byte */
	assert_int_equal(dbc_encode(m, v, d, sizeof(d)), -ERANGE);
	v[4].i = 0;
	assert_int_equal(dbc_encode(m, v, d, 4), -ENOBUFS);
	v[3] = (struct dbc_value){.type = DBC_VALUE_FLOAT, .f = NAN};
	assert_int_equal(dbc_encode(m, v, d, sizeof(d)), -EINVAL);
	dbc_free(db);

	/* Motorola and scaling: physical -> raw rounds half to even like Python */
	db = load(with_header("BO_ 40 E: 4 A\n"
			      " SG_ W : 7|12@0+ (0.5,10) [0|0] \"\" B\n"
			      " SG_ F : 16|16@1- (0.1,0) [0|0] \"\" B\n"));
	m = dbc_find_message(db, 40, false);
	struct dbc_value w[2] = {{.type = DBC_VALUE_FLOAT, .f = 10 + 0.5 * 0xabc},
				 {.type = DBC_VALUE_FLOAT, .f = -0.25}};
	assert_int_equal(dbc_encode(m, w, d, sizeof(d)), 4);
	const uint8_t want2[4] = {0xab, 0xc0, 0xfe, 0xff}; /* -0.25/0.1 = -2.5 -> -2 */
	assert_memory_equal(d, want2, 4);
	struct dbc_sample s[8];
	int n = dbc_decode(m, d, 4, s, 8, NULL);
	assert_int_equal(n, 2);
	assert_float_value(&s[0], 10 + 0.5 * 0xabc);
	assert_float_value(&s[1], -0.2);
	dbc_free(db);
}

static void standalone_signal(void **state)
{
	struct dbc_signal *s = NULL;
	struct dbc_error err;
	struct dbc_value v;
	const char *def = "Current : 0|16@1+ (0.01,0) [0|20] \"A\"";
	assert_int_equal(dbc_signal_parse(def, strlen(def), &err, &s), 0);
	const uint8_t d[2] = {0x64, 0x00};
	assert_int_equal(dbc_signal_decode(s, d, 2, &v), 0);
	assert_int_equal(v.type, DBC_VALUE_FLOAT);
	assert_true(fabs(v.f - 1.0) < 1e-12);
	assert_int_equal(dbc_signal_decode(s, d, 1, &v), -ENODATA);
	double raw;
	assert_int_equal(dbc_signal_decode_raw(s, d, 2, &raw), 0);
	assert_true(raw == 100);
	assert_string_equal(dbc_signal_unit(s), "A");
	dbc_signal_free(s);

	def = " SG_ Temp : 7|8@0- (1,-40) [-40|87] \"degC\" ECU;";
	assert_int_equal(dbc_signal_parse(def, strlen(def), &err, &s), 0);
	const uint8_t t = 0xff;
	assert_int_equal(dbc_signal_decode(s, &t, 1, &v), 0);
	assert_int_equal(v.type, DBC_VALUE_INT);
	assert_true(v.i == -41);
	dbc_signal_free(s);

	def = "F : 0|32@1+ (1,0) [0|0] \"\"";
	assert_int_equal(dbc_signal_parse(def, strlen(def), &err, &s), 0);
	assert_int_equal(dbc_signal_set_type(s, DBC_SIGNAL_TYPE_FLOAT), 0);
	float f = 3.5f;
	uint8_t fb[4];
	memcpy(fb, &f, 4);
	assert_int_equal(dbc_signal_decode(s, fb, 4, &v), 0);
	assert_int_equal(v.type, DBC_VALUE_FLOAT);
	assert_true(v.f == 3.5);
	dbc_signal_free(s);

	def = "Bad : 0|16@1+ (0.01,0) [0|20]";
	assert_int_equal(dbc_signal_parse(def, strlen(def), &err, &s), -EINVAL);
	assert_string_equal(err.message, "expected a quoted string for unit");
	def = "X : 0|8@1+ (1,0) [0|0] \"\" A B junk(";
	assert_int_equal(dbc_signal_parse(def, strlen(def), &err, &s), -EINVAL);
	assert_null(dbc_signal_free(NULL));
}

/* Values that need more than 64 bits before they are classified (portable 128-bit code). */
static void values_beyond_64_bits(void **state)
{
	struct dbc *db = load(with_header("BO_ 20 U: 8 A\n"
					  " SG_ Big3 : 0|64@1+ (3,5) [0|0] \"\" B\n"
					  "BO_ 21 S: 8 A\n"
					  " SG_ Neg : 0|64@1- (-2,0) [0|0] \"\" B\n"
					  "BO_ 22 H: 8 A\n"
					  " SG_ Half : 0|64@1+ (2,0) [0|0] \"\" B\n"
					  "BO_ 23 M: 8 A\n"
					  " SG_ Min : 0|64@1- (1,-1) [0|0] \"\" B\n"
					  "BO_ 24 L: 8 A\n"
					  " SG_ IntLit : 0|64@1+ (3,0.5) [0|0] \"\" B\n"
					  "BO_ 25 D: 8 A\n"
					  " SG_ Dbl : 0|64@1+ (3.0,0.5) [0|0] \"\" B\n"
					  "BO_ 26 W: 4 A\n"
					  " SG_ Huge : 0|32@1+ (1099511627776,0) [0|0] \"\" B\n"
					  "BO_ 27 O: 8 A\n"
					  " SG_ Off : 0|64@1+ (2,-5) [0|0] \"\" B\n"));
	struct dbc_sample s[64];
	uint8_t ones[8], min[8] = {0, 0, 0, 0, 0, 0, 0, 0x80}, max63[8], p53[8];
	memset(ones, 0xff, 8);
	memset(max63, 0xff, 8);
	max63[7] = 0x7f;
	uint64_t r53 = (UINT64_C(1) << 53) + 1;
	for (int i = 0; i < 8; i++)
		p53[i] = (uint8_t)(r53 >> (8 * i));

	decode(db, 20, false, ones, 8, s, NULL); /* 3 * (2^64 - 1) + 5 */
	assert_int_equal(s[0].value.type, DBC_VALUE_FLOAT);
	assert_true(s[0].value.f == ldexp(3, 64));
	decode(db, 21, false, min, 8, s, NULL); /* -2 * -2^63 = 2^64 */
	assert_int_equal(s[0].value.type, DBC_VALUE_FLOAT);
	assert_true(s[0].value.f == ldexp(1, 64));
	decode(db, 22, false, max63, 8, s, NULL); /* 2 * (2^63 - 1) */
	assert_int_equal(s[0].value.type, DBC_VALUE_UINT);
	assert_true(s[0].value.u == UINT64_MAX - 1);
	decode(db, 23, false, min, 8, s, NULL); /* -2^63 - 1 */
	assert_int_equal(s[0].value.type, DBC_VALUE_FLOAT);
	assert_true(s[0].value.f == -ldexp(1, 63));
	/* Python: int * int exactly, then + 0.5; a double factor rounds the raw value first */
	decode(db, 24, false, p53, 8, s, NULL);
	assert_true(s[0].value.type == DBC_VALUE_FLOAT && s[0].value.f == 27021597764222980.0);
	decode(db, 25, false, p53, 8, s, NULL);
	assert_true(s[0].value.type == DBC_VALUE_FLOAT && s[0].value.f == 27021597764222976.0);
	decode(db, 26, false, ones, 4, s, NULL); /* (2^32 - 1) * 2^40 */
	assert_true(s[0].value.type == DBC_VALUE_FLOAT && s[0].value.f == ldexp(4294967295.0, 40));

	/* and back: quotients of values above 2^64, exact and rounded */
	uint8_t out[8];
	uint64_t bits;
	struct dbc_value v = {.type = DBC_VALUE_FLOAT, .f = ldexp(1, 64)};
	assert_int_equal(dbc_encode(dbc_find_message(db, 21, false), &v, out, 8), 8);
	assert_memory_equal(out, min, 8);
	v = (struct dbc_value){.type = DBC_VALUE_UINT, .u = UINT64_MAX - 1};
	assert_int_equal(dbc_encode(dbc_find_message(db, 22, false), &v, out, 8), 8);
	assert_memory_equal(out, max63, 8);
	v = (struct dbc_value){.type = DBC_VALUE_UINT, .u = UINT64_MAX};
	assert_int_equal(dbc_encode(dbc_find_message(db, 22, false), &v, out, 8), 8);
	memcpy(&bits, out, 8);
	assert_true(le64toh(bits) == UINT64_C(1) << 63); /* (2^64 - 1) / 2, half to even */
	v = (struct dbc_value){.type = DBC_VALUE_UINT, .u = UINT64_MAX}; /* (2^64 + 4) / 2 */
	assert_int_equal(dbc_encode(dbc_find_message(db, 27, false), &v, out, 8), 8);
	memcpy(&bits, out, 8);
	assert_true(le64toh(bits) == (UINT64_C(1) << 63) + 2);
	v = (struct dbc_value){.type = DBC_VALUE_INT, .i = -1}; /* -0.5 rounds to 0 */
	assert_int_equal(dbc_encode(dbc_find_message(db, 22, false), &v, out, 8), 8);
	v = (struct dbc_value){.type = DBC_VALUE_INT, .i = -3}; /* -1.5 rounds to -2 */
	assert_int_equal(dbc_encode(dbc_find_message(db, 22, false), &v, out, 8), -ERANGE);
	v = (struct dbc_value){.type = DBC_VALUE_FLOAT, .f = ldexp(1, 66)};
	assert_int_equal(dbc_encode(dbc_find_message(db, 21, false), &v, out, 8), -ERANGE);
	dbc_free(db);
}

/* Labels of short fields come from a table by raw bits, long ones by search: the same. */
static void value_tables(void **state)
{
	struct dbc *db = load(with_header("BO_ 30 V: 8 A\n"
					  " SG_ S4 : 0|4@1- (1,0) [0|0] \"\" B\n"
					  " SG_ U8 : 8|8@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ U10 : 16|10@1+ (1,0) [0|0] \"\" B\n"
					  " SG_ Scaled : 32|4@1+ (0.5,0) [0|0] \"\" B\n"
					  "VAL_ 30 S4 -8 \"min\" -1 \"minus one\" 3 \"three\" ;\n"
					  "VAL_ 30 U8 0 \"zero\" 255 \"all\" ;\n"
					  "VAL_ 30 U10 1023 \"top\" 512 \"mid\" ;\n"
					  "VAL_ 30 Scaled 3 \"raw three\" ;\n"));
	struct dbc_sample s[64];
	const uint8_t a[8] = {0x0f, 0xff, 0xff, 0x03, 0x03, 0, 0, 0};
	int n = decode(db, 30, false, a, 8, s, NULL);
	assert_string_equal(sample(s, n, "S4")->choice, "minus one");
	assert_string_equal(sample(s, n, "U8")->choice, "all");
	assert_string_equal(sample(s, n, "U10")->choice, "top");
	/* labels belong to raw values, not to physical ones */
	assert_float_value(sample(s, n, "Scaled"), 1.5);
	assert_string_equal(sample(s, n, "Scaled")->choice, "raw three");
	const uint8_t b[8] = {0x08, 0x00, 0x00, 0x02, 0x02, 0, 0, 0};
	n = decode(db, 30, false, b, 8, s, NULL);
	assert_string_equal(sample(s, n, "S4")->choice, "min");
	assert_string_equal(sample(s, n, "U8")->choice, "zero");
	assert_string_equal(sample(s, n, "U10")->choice, "mid");
	assert_null(sample(s, n, "Scaled")->choice);
	const uint8_t c[8] = {0x07, 0x01, 0x01, 0x00, 0, 0, 0, 0};
	n = decode(db, 30, false, c, 8, s, NULL);
	assert_null(sample(s, n, "S4")->choice);
	assert_null(sample(s, n, "U8")->choice);
	assert_null(sample(s, n, "U10")->choice);
	dbc_free(db);
}

/* Dense numbers, the room a caller gives, and how deep multiplexers are followed. */
static void numbers_room_and_depth(void **state)
{
	struct dbc *db = load(with_header(mux_dbc_for_room));
	const struct dbc_message *m = dbc_find_message(db, 10, false);
	struct dbc_sample all[64], some[64];
	struct dbc_decode_status st;
	const uint8_t d[8] = {1, 7, 0xfe, 0, 0, 0, 0, 9};

	assert_int_equal(dbc_signal_total(db), 6);
	assert_int_equal(dbc_message_index(m), 1);
	for (size_t i = 0; i < dbc_message_signal_count(m); i++)
		assert_int_equal(dbc_signal_number(dbc_message_signal_at(m, i)), 1 + i);
	int n = dbc_decode(m, d, 8, all, 64, &st);
	assert_int_equal(n, 4); /* Sel, Always, B, C */
	/* room for exactly the samples there are (fewer than the signals): the same */
	assert_int_equal(dbc_decode(m, d, 8, some, (size_t)n, &st), n);
	for (int i = 0; i < n; i++) {
		assert_ptr_equal(some[i].signal, all[i].signal);
		assert_true(dbc_value_as_double(some[i].value) == dbc_value_as_double(all[i].value));
	}
	assert_int_equal(dbc_decode(m, d, 8, some, (size_t)n - 1, &st), -ENOBUFS);
	dbc_free(db);

	/* a chain of 66 multiplexers, each selecting the next with 0: 65 levels decode */
	char text[16384];
	size_t o = (size_t)snprintf(text, sizeof(text), "%sBO_ 40 Deep: 16 A\n", header);
	o += (size_t)snprintf(text + o, sizeof(text) - o, " SG_ S0 M : 0|1@1+ (1,0) [0|0] \"\" B\n");
	for (int k = 1; k <= 66; k++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      " SG_ S%d m0%s : %d|1@1+ (1,0) [0|0] \"\" B\n", k,
				      k < 66 ? "M" : "", k);
	for (int k = 1; k <= 66; k++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "SG_MUL_VAL_ 40 S%d S%d 0-0;\n", k,
				      k - 1);
	db = load(text);
	m = dbc_find_message(db, 40, false);
	const uint8_t zeros[16] = {0};
	assert_int_equal(dbc_decode(m, zeros, 16, all, 64, &st), -ENOBUFS);
	struct dbc_sample many[80];
	n = dbc_decode(m, zeros, 16, many, 80, &st);
	assert_int_equal(n, 65); /* S0 .. S64: deeper than 64 multiplexers is not followed */
	assert_string_equal(dbc_signal_name(many[64].signal), "S64");
	dbc_free(db);
}

/*
 * A database of one message (what a profile builds per DID) has no direct table of the
 * 11-bit ids: the same answers from its hash table, the other format's fallback
 * included; its arena starts small and grows, a string over any block included.
 */
static void small_databases(void **state)
{
	(void)state;
	struct dbc *one = load("BO_ 1952 Did: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n");
	const struct dbc_message *m = dbc_find_message(one, 1952, false);
	assert_non_null(m);
	assert_true(dbc_find_message(one, 1952, true) == m); /* the other format's fallback */
	assert_null(dbc_find_message(one, 1953, false));
	assert_null(dbc_find_message(one, 0, false));
	assert_null(dbc_find_message(one, 2047, false));
	dbc_free(one);

	struct dbc *ext = load("BO_ 2147484000 Ext: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n");
	m = dbc_find_message(ext, 352, true);
	assert_non_null(m);
	assert_true(dbc_find_message(ext, 352, false) == m);
	assert_null(dbc_find_message(ext, 353, false));
	dbc_free(ext);

	/* two messages: the direct table, the same answers */
	struct dbc *two = load("BO_ 1952 Did: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n"
			       "BO_ 2147484000 Ext: 8 X\n SG_ B : 0|8@1+ (1,0) [0|0] \"\" X\n");
	assert_non_null(dbc_find_message(two, 1952, false));
	assert_true(dbc_find_message(two, 352, false) == dbc_find_message(two, 352, true));
	assert_null(dbc_find_message(two, 1953, false));
	dbc_free(two);

	/* strings bigger than the first blocks and than the largest one */
	static char text[100000];
	size_t n = (size_t)snprintf(text, sizeof(text), "BO_ 1 M: 8 X\n");
	for (int k = 0; k < 200; k++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      " SG_ S%03d : 0|1@1+ (1,0) [0|0] \"\" X\n", k);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "CM_ BO_ 1 \"");
	memset(text + n, 'c', 40000);
	n += 40000;
	snprintf(text + n, sizeof(text) - n, "\";\n");
	struct dbc *big = load(text);
	m = dbc_find_message(big, 1, false);
	assert_non_null(m);
	assert_int_equal(dbc_message_signal_count(m), 200);
	assert_int_equal(strlen(dbc_message_comment(m)), 40000);
	assert_string_equal(dbc_signal_name(dbc_message_signal_at(m, 199)), "S199");
	dbc_free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(little_endian),
	    cmocka_unit_test(small_databases),
	    cmocka_unit_test(motorola_crossing_bytes),
	    cmocka_unit_test(wide_signals),
	    cmocka_unit_test(beyond_64_bits),
	    cmocka_unit_test(wide_encode),
	    cmocka_unit_test(signed_one_bit),
	    cmocka_unit_test(float_and_double),
	    cmocka_unit_test(integer_or_float),
	    cmocka_unit_test(multiplexing),
	    cmocka_unit_test(extended_multiplexing),
	    cmocka_unit_test(short_frame),
	    cmocka_unit_test(canfd_64_bytes),
	    cmocka_unit_test(attributes_comments_nodes),
	    cmocka_unit_test(opendbc_quirks),
	    cmocka_unit_test(lenient_warnings),
	    cmocka_unit_test(duplicates_and_lookup),
	    cmocka_unit_test(syntax_errors),
	    cmocka_unit_test(streaming_parser),
	    cmocka_unit_test(encoding),
	    cmocka_unit_test(standalone_signal),
	    cmocka_unit_test(values_beyond_64_bits),
	    cmocka_unit_test(value_tables),
	    cmocka_unit_test(numbers_room_and_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
