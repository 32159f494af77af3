/* SPDX-License-Identifier: MIT */
/* lib/isotp_addr: every addressing mode, the compact text form, the conversion to the
 * user-space ISO-TP config (checked by running frames through lib/isotp), and the
 * profile's [ecu] addressing keys parsed by lib/profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/isotp.h"
#include "bodydiag/isotp_addr.h"
#include "bodydiag/profile.h"

static int parse(const char *s, struct isotp_addr *a, struct isotp_addr_error *e)
{
	return isotp_addr_parse(s, strlen(s), a, e);
}

static void builders(void **state)
{
	struct isotp_addr a;
	char err[128];

	isotp_addr_init_normal(&a, 0x726, 0x72E);
	assert_int_equal(a.mode, ISOTP_ADDR_NORMAL);
	assert_false(a.ext_ids);
	assert_int_equal(a.padding, -1);
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), 0);

	/* ISO 15765-2:2016 10.3.3: 0x18DA<TA><SA> physical, answers with TA/SA swapped */
	isotp_addr_init_fixed(&a, 0x40, 0xF1);
	assert_true(a.ext_ids);
	assert_int_equal(a.tx_id, 0x18DA40F1);
	assert_int_equal(a.rx_id, 0x18DAF140);
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), 0);

	isotp_addr_init_mixed29(&a, 0x40, 0xF1, 0x05);
	assert_int_equal(a.tx_id, 0x18CE40F1);
	assert_int_equal(a.rx_id, 0x18CEF140);
	assert_int_equal(a.tx_ea, 0x05);
	assert_int_equal(a.rx_ea, 0x05);
	assert_int_equal(a.target, 0x40);
	assert_int_equal(a.source, 0xF1);

	isotp_addr_init_extended(&a, 0x6F1, 0x640, 0x40, 0xF1);
	assert_int_equal(a.tx_ea, 0x40);
	assert_int_equal(a.rx_ea, 0xF1);
	isotp_addr_init_extended(&a, 0x750, 0x758, 0x40, -1);
	assert_int_equal(a.rx_ea, 0x40);

	/* refused: equal ids (the kernel will not bind them), 11-bit ids above 0x7FF,
	 * reserved STmin codes, a fixed address whose ids do not follow its TA/SA */
	isotp_addr_init_normal(&a, 0x7E0, 0x7E0);
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "same"));
	isotp_addr_init_normal(&a, 0x7E0, 0x7E8);
	a.tx_id = 0x800;
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), -EINVAL);
	isotp_addr_init_normal(&a, 0x7E0, 0x7E8);
	a.stmin = 0x80;
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), -EINVAL);
	a.stmin = 0xFA;
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), -EINVAL);
	a.stmin = 0xF9;
	assert_int_equal(isotp_addr_check(&a, NULL, 0), 0);
	isotp_addr_init_fixed(&a, 0x40, 0xF1);
	a.rx_id = 0x18DAF141;
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), -EINVAL);
	isotp_addr_init_fixed(&a, 0xF1, 0xF1);
	assert_int_equal(isotp_addr_check(&a, err, sizeof(err)), -EINVAL);
}

static void compact_form(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"0x726/0x72E", "normal:0x726/0x72E"},
	    {"726/72e,pad=0xaa", "normal:0x726/0x72E,pad=0xAA"},
	    {"normal:0x18DA40F1/0x18DAF140", "normal:0x18DA40F1/0x18DAF140"},
	    {"fixed:0x40/0xF1", "fixed:0x40/0xF1"},
	    {"normal_fixed:40/F1,bs=8,stmin=10", "fixed:0x40/0xF1,bs=8,stmin=10ms"},
	    {"mixed:0x18CE40F1/0x18CEF140,ae=0x05", "mixed:0x18CE40F1/0x18CEF140,ae=0x05"},
	    {"mixed:0x726/0x72E,ae=0x12,stmin=300us", "mixed:0x726/0x72E,ae=0x12,stmin=300us"},
	    {"ext:0x6F1/0x640,ta=0x40,sa=0xF1", "ext:0x6F1/0x640,ta=0x40,sa=0xF1"},
	    {"extended:0x750/0x758,ta=0x40", "ext:0x750/0x758,ta=0x40"},
	    {"ext:0x750/0x758,ta=0x40,sa=0x40", "ext:0x750/0x758,ta=0x40"},
	    {"0x7E0/0x7E8,func=0x7DF,pad=0x00", "normal:0x7E0/0x7E8,pad=0x00,func=0x7DF"},
	};
	static const struct {
		const char *in;
		unsigned column;
		const char *msg;
	} bad[] = {
	    {"", 1, "request id: expected a hex number"},
	    {"0x726", 6, "expected '/'"},
	    {"0x726/", 7, "response id: expected a hex number"},
	    {"car:0x1/0x2", 1, "unknown addressing mode"},
	    {"0x726/0x72E,", 13, "expected KEY=VALUE"},
	    {"0x726/0x72E,pad", 13, "expected KEY=VALUE"},
	    {"0x726/0x72E,pad=0x100", 17, "above 0xFF"},
	    {"0x726/0x72E,pad=1,pad=2", 19, "given twice"},
	    {"0x726/0x72E,foo=1", 13, "unknown option"},
	    {"0x726/0x72E,bs=256", 16, "bs:"},
	    {"0x726/0x72E,stmin=128", 19, "stmin:"},
	    {"0x726/0x72E,stmin=150us", 19, "stmin:"},
	    {"0x726/0x72E,ta=1", 1, "normal addressing takes no"},
	    {"fixed:0x140/0xF1", 7, "above 0xFF"},
	    {"fixed:0x40/0xF1,ta=1", 1, "fixed addressing"},
	    {"mixed:0x726/0x72E", 1, "mixed addressing needs ae="},
	    {"ext:0x6F1/0x640", 1, "extended addressing needs ta="},
	    {"0x726/0x726", 1, "same"},
	    {"0x123456789/0x1", 1, "too many hex digits"},
	    {"0x726/0x72Ex", 12, "expected ','"},
	    {"0x726/0x72E,func=0x18DB33F1", 1, "29-bit"},
	};
	struct isotp_addr a, b;
	struct isotp_addr_error e;
	char buf[160];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (parse(ok[i].in, &a, &e) != 0)
			fail_msg("%s: %u: %s", ok[i].in, e.column, e.message);
		isotp_addr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, ok[i].out);
		/* the formatted form reads back to the same address */
		assert_int_equal(parse(buf, &b, NULL), 0);
		assert_true(isotp_addr_equal(&a, &b));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(parse(bad[i].in, &a, &e), -EINVAL);
		if (e.column != bad[i].column || !strstr(e.message, bad[i].msg))
			fail_msg("%s: got %u: %s, want %u: %s", bad[i].in, e.column, e.message,
				 bad[i].column, bad[i].msg);
	}
	/* a truncated buffer still ends in NUL and says how much was needed */
	assert_int_equal(parse("ext:0x6F1/0x640,ta=0x40,sa=0xF1", &a, NULL), 0);
	assert_true(isotp_addr_format(&a, buf, 8) > 8);
	assert_int_equal(strlen(buf), 7);
}

static void stmin_codes(void **state)
{
	uint8_t c;
	char b[16];

	assert_int_equal(isotp_addr_parse_stmin("0", 1, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(isotp_addr_parse_stmin("127ms", 5, &c), 0);
	assert_int_equal(c, 127);
	assert_int_equal(isotp_addr_parse_stmin("100us", 5, &c), 0);
	assert_int_equal(c, 0xF1);
	assert_int_equal(isotp_addr_parse_stmin("900us", 5, &c), 0);
	assert_int_equal(c, 0xF9);
	assert_int_equal(isotp_addr_parse_stmin("1000us", 6, &c), -EINVAL);
	assert_int_equal(isotp_addr_parse_stmin("ms", 2, &c), -EINVAL);
	assert_int_equal(isotp_addr_parse_stmin("5s", 2, &c), -EINVAL);
	isotp_addr_format_stmin(0xF3, b, sizeof(b));
	assert_string_equal(b, "300us");
	isotp_addr_format_stmin(20, b, sizeof(b));
	assert_string_equal(b, "20ms");
}

/* ---- the user-space config: frames out of lib/isotp carry the address bytes ---- */

struct sink {
	struct bd_frame f[8];
	size_t n;
};

static int sink_send(void *u, const struct bd_frame *f)
{
	struct sink *s = u;
	if (s->n < 8)
		s->f[s->n++] = *f;
	return 0;
}

static void to_config(void **state)
{
	static const struct isotp_ops ops = {.send_frame = sink_send};
	struct isotp_addr a, srv;
	struct isotp_config c;
	struct isotp *tp;
	struct sink s = {0};
	const uint8_t req[] = {0x22, 0xF1, 0x90};

	/* BMW-style extended: the request carries the ECU's address, padded */
	assert_int_equal(parse("ext:0x6F1/0x640,ta=0x40,sa=0xF1,pad=0x55,bs=4,stmin=5", &a, NULL),
			 0);
	isotp_addr_to_config(&a, &c);
	assert_int_equal(c.addressing, ISOTP_ADDRESSING_EXTENDED);
	assert_int_equal(c.tx_addr, 0x40);
	assert_int_equal(c.rx_addr, 0xF1);
	assert_int_equal(c.bs, 4);
	assert_int_equal(c.stmin, 5);
	assert_int_equal(isotp_new(&c, &ops, &s, &tp), 0);
	assert_int_equal(isotp_send(tp, req, sizeof(req), 0), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.f[0].id, 0x6F1);
	assert_int_equal(s.f[0].len, 8);
	const uint8_t want[] = {0x40, 0x03, 0x22, 0xF1, 0x90, 0x55, 0x55, 0x55};
	assert_memory_equal(s.f[0].data, want, 8);
	/* the answer is ours only with the tester's byte in front */
	struct bd_frame ans = {.id = 0x640, .len = 8, .data = {0x40, 0x03, 0x62, 0xF1, 0x90}};
	assert_int_equal(isotp_on_frame(tp, &ans, 1000), 0);
	ans.data[0] = 0xF1;
	assert_int_equal(isotp_on_frame(tp, &ans, 1000), 1);
	isotp_free(tp);

	/* the ECU's side of the same link */
	isotp_addr_reverse(&a, &srv);
	assert_int_equal(srv.tx_id, 0x640);
	assert_int_equal(srv.rx_id, 0x6F1);
	assert_int_equal(srv.tx_ea, 0xF1);
	assert_int_equal(srv.rx_ea, 0x40);

	/* normal fixed: 29-bit frames */
	s.n = 0;
	isotp_addr_init_fixed(&a, 0x40, 0xF1);
	isotp_addr_to_config(&a, &c);
	assert_true(c.tx_ext_id && c.rx_ext_id);
	assert_int_equal(c.addressing, ISOTP_ADDRESSING_NORMAL);
	assert_int_equal(isotp_new(&c, &ops, &s, &tp), 0);
	assert_int_equal(isotp_send(tp, req, sizeof(req), 0), 0);
	assert_int_equal(s.f[0].id, 0x18DA40F1);
	assert_true(s.f[0].flags & BD_FRAME_EXT);
	assert_int_equal(s.f[0].data[0], 0x03);
	isotp_free(tp);

	/* mixed: the address extension both ways */
	s.n = 0;
	isotp_addr_init_mixed29(&a, 0x40, 0xF1, 0x77);
	isotp_addr_to_config(&a, &c);
	assert_int_equal(c.addressing, ISOTP_ADDRESSING_MIXED);
	assert_int_equal(isotp_new(&c, &ops, &s, &tp), 0);
	assert_int_equal(isotp_send(tp, req, sizeof(req), 0), 0);
	assert_int_equal(s.f[0].id, 0x18CE40F1);
	assert_int_equal(s.f[0].data[0], 0x77);
	isotp_free(tp);
}

/* ---- the profile's [ecu] keys ---- */

#define HEAD "format = 1\n[vehicle]\nmake = m\nplatform = p\n"

static const struct profile_ecu *load(const char *text, struct profile **pr)
{
	struct profile_error e;
	char msg[400];

	if (profile_parse(text, strlen(text), "t.profile", pr, &e) != 0) {
		profile_error_format(&e, msg, sizeof(msg));
		fail_msg("%s", msg);
	}
	return profile_ecu_at(*pr, 0);
}

static void profile_modes(void **state)
{
	struct profile *pr = NULL;
	const struct profile_ecu *e;
	char buf[160];

	/* normal, as before: request/response keep their meaning */
	e = load(HEAD "[ecu bcm]\nrequest = 0x726\nresponse = 0x72E\npadding = 0xAA\n", &pr);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_NORMAL);
	assert_int_equal(e->request_id, 0x726);
	isotp_addr_format(&e->addr, buf, sizeof(buf));
	assert_string_equal(buf, "normal:0x726/0x72E,pad=0xAA");
	pr = profile_free(pr);

	/* 29-bit normal fixed: the ids come from target and source (source default 0xF1) */
	e = load(HEAD "[ecu bcm]\naddressing = normal_fixed\ntarget = 0x40\n", &pr);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_NORMAL_FIXED);
	assert_int_equal(e->request_id, 0x18DA40F1);
	assert_int_equal(e->response_id, 0x18DAF140);
	pr = profile_free(pr);
	e = load(HEAD "[ecu bcm]\naddressing = normal_fixed\ntarget = 0x26\nsource = 0xFA\n"
		      "functional = 0x18DB33FA\nbs = 8\nstmin = 300us\n",
		 &pr);
	isotp_addr_format(&e->addr, buf, sizeof(buf));
	assert_string_equal(buf, "fixed:0x26/0xFA,func=0x18DB33FA,bs=8,stmin=300us");
	pr = profile_free(pr);

	/* mixed, 29-bit from target/source and 11-bit from ids */
	e = load(HEAD "[ecu bcm]\naddressing = mixed\ntarget = 0x40\next_address = 0x05\n", &pr);
	assert_int_equal(e->request_id, 0x18CE40F1);
	assert_int_equal(e->addr.tx_ea, 0x05);
	pr = profile_free(pr);
	e = load(HEAD "[ecu bcm]\naddressing = mixed\nrequest = 0x726\nresponse = 0x72E\n"
		      "ext_address = 0x12\n",
		 &pr);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_MIXED);
	assert_false(e->addr.ext_ids);
	pr = profile_free(pr);

	/* extended: BMW-style with the tester's byte in the answers, Toyota-style echo */
	e = load(HEAD "[ecu bcm]\naddressing = extended\nrequest = 0x6F1\nresponse = 0x640\n"
		      "target = 0x40\nsource = 0xF1\n",
		 &pr);
	isotp_addr_format(&e->addr, buf, sizeof(buf));
	assert_string_equal(buf, "ext:0x6F1/0x640,ta=0x40,sa=0xF1");
	pr = profile_free(pr);
	e = load(HEAD "[ecu body]\nrequest = 0x750\nresponse = 0x758\ntarget = 0x40\n", &pr);
	assert_int_equal(e->addr.mode, ISOTP_ADDR_EXTENDED); /* target with ids: extended */
	assert_int_equal(e->addr.rx_ea, 0x40);
	pr = profile_free(pr);
}

static void profile_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned line, column;
		const char *msg;
	} bad[] = {
	    {HEAD "[ecu b]\naddressing = weird\n", 6, 14, "bad addressing 'weird'"},
	    {HEAD "[ecu b]\ntarget = 0x140\n", 6, 10, "bad target '0x140'"},
	    {HEAD "[ecu b]\nbs = -1\n", 6, 6, "bad bs"},
	    {HEAD "[ecu b]\nstmin = 200\n", 6, 9, "bad stmin"},
	    {HEAD "[ecu b]\naddressing = normal_fixed\n", 5, 1,
	     "normal_fixed addressing needs 'target'"},
	    {HEAD "[ecu b]\naddressing = normal_fixed\ntarget = 0x40\nrequest = 0x18DA40F1\n", 8, 1,
	     "leave out request and response"},
	    {HEAD "[ecu b]\naddressing = mixed\nrequest = 0x726\nresponse = 0x72E\n", 5, 1,
	     "mixed addressing needs 'ext_address' in [ecu NAME]"},
	    {HEAD "[ecu b]\naddressing = extended\nrequest = 0x6F1\nresponse = 0x640\n", 5, 1,
	     "extended addressing needs 'target'"},
	    {HEAD "[ecu b]\nrequest = 0x726\nresponse = 0x72E\next_address = 0x01\n", 8, 1,
	     "ext_address belongs to mixed addressing"},
	    {HEAD
	     "[ecu b]\naddressing = normal\nrequest = 0x726\nresponse = 0x72E\nsource = 0x01\n",
	     9, 1, "normal addressing takes no target/source"},
	    {HEAD "[ecu b]\nrequest = 0x726\nresponse = 0x726\n", 7, 12, "is the request id too"},
	    /* equal ids through the addressing: a source equal to the target */
	    {HEAD "[ecu b]\naddressing = normal_fixed\ntarget = 0xF1\n", 5, 1, "same"},
	    {HEAD "[ecu b]\nrequest = 0x7E0\nresponse = 0x7E8\nfunctional = 0x18DB33F1\n", 8, 1,
	     "29-bit"},
	    {HEAD "[ecu b]\naddressing = normal_fixed\ntarget = 0x40\naddressing = mixed\n", 8, 1,
	     "repeated key 'addressing'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct profile *pr = NULL;
		struct profile_error e;
		memset(&e, 0, sizeof(e));
		int r = profile_parse(bad[i].text, strlen(bad[i].text), "t.profile", &pr, &e);
		if (r != -EINVAL || e.line != bad[i].line || e.column != bad[i].column ||
		    !strstr(e.message, bad[i].msg))
			fail_msg("case %zu: %d %u:%u %s", i, r, e.line, e.column, e.message);
		profile_free(pr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builders),	     cmocka_unit_test(compact_form),
	    cmocka_unit_test(stmin_codes),   cmocka_unit_test(to_config),
	    cmocka_unit_test(profile_modes), cmocka_unit_test(profile_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
