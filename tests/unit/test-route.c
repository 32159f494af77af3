/* SPDX-License-Identifier: MIT */
/*
 * lib/route: DBC messages by index (11 and 29 bit, the other format as a fallback),
 * diagnostic ids winning over a DBC message on the same id, request and response told apart, functional ids, error and remote frames,
 * unknown ids, a table without a DBC or a profile, ECUs behind one gateway id told apart by
 * the address byte of extended and mixed addressing, and the names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "bodydiag/route.h"

static const char DBC[] = "VERSION \"\"\n"
			  "BU_: BCM\n"
			  "BO_ 928 Trunk: 8 BCM\n"
			  " SG_ Cmd : 0|1@1+ (1,0) [0|1] \"\" BCM\n"
			  "BO_ 2566892032 Ext: 8 BCM\n"
			  " SG_ A : 0|8@1+ (1,0) [0|255] \"\" BCM\n"
			  "BO_ 1838 DiagAsMessage: 8 BCM\n"
			  " SG_ B : 0|8@1+ (1,0) [0|255] \"\" BCM\n"
			  "BO_ 300 First: 8 BCM\n"
			  " SG_ C : 0|8@1+ (1,0) [0|255] \"\" BCM\n";

static const char PROFILE[] = "format = 1\n"
			      "[vehicle]\n"
			      "make = test\n"
			      "platform = t1\n"
			      "[ecu bcm]\n"
			      "request = 0x726\n"
			      "response = 0x72E\n"
			      "functional = 0x7DF\n"
			      "[ecu gw]\n"
			      "request = 0x18DA10F1\n"
			      "response = 0x18DAF110\n";

struct fixture {
	struct dbc *db;
	struct profile *p;
	struct route_table *t;
};

static int setup(void **state)
{
	static struct fixture f;
	struct dbc_error derr;
	struct profile_error perr;

	assert_int_equal(dbc_parse(DBC, sizeof(DBC) - 1, "t.dbc", NULL, NULL, &derr, &f.db), 0);
	assert_int_equal(profile_parse(PROFILE, sizeof(PROFILE) - 1, "t.profile", &f.p, &perr), 0);
	assert_int_equal(route_table_new(f.db, f.p, &f.t), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	route_table_free(f->t);
	profile_free(f->p);
	dbc_free(f->db);
	return 0;
}

static struct route_hit hit(const struct route_table *t, uint32_t id, unsigned flags)
{
	struct bd_frame fr = {.id = id, .flags = (uint8_t)flags, .len = 8};
	return route_classify(t, &fr);
}

static size_t index_of(const struct dbc *db, const char *name)
{
	for (size_t i = 0; i < dbc_message_count(db); i++)
		if (strcmp(dbc_message_name(dbc_message_at(db, i)), name) == 0)
			return i;
	fail_msg("no message %s", name);
	return 0;
}

static void messages(void **state)
{
	struct fixture *f = *state;
	struct route_hit h;

	assert_int_equal(route_table_message_count(f->t), dbc_message_count(f->db));
	assert_int_equal(route_table_ecu_count(f->t), 2);
	h = hit(f->t, 928, 0);
	assert_int_equal(h.kind, ROUTE_MESSAGE);
	assert_int_equal(h.index, index_of(f->db, "Trunk"));
	h = hit(f->t, 0x18FFAA00, BD_FRAME_EXT);
	assert_int_equal(h.kind, ROUTE_MESSAGE);
	assert_int_equal(h.index, index_of(f->db, "Ext"));
	/* the other format is the fallback, as cantools keys by number */
	h = hit(f->t, 928, BD_FRAME_EXT);
	assert_int_equal(h.kind, ROUTE_MESSAGE);
	assert_int_equal(h.index, index_of(f->db, "Trunk"));
	h = hit(f->t, 300, 0);
	assert_int_equal(h.kind, ROUTE_MESSAGE);
	assert_int_equal(h.index, index_of(f->db, "First"));
}

static void diagnostic_ids(void **state)
{
	struct fixture *f = *state;
	struct route_hit h;

	h = hit(f->t, 0x726, 0);
	assert_int_equal(h.kind, ROUTE_DIAG_REQUEST);
	assert_int_equal(h.index, 0);
	/* the DBC lists 0x72E as a message: the ECU's response id wins */
	h = hit(f->t, 0x72E, 0);
	assert_int_equal(h.kind, ROUTE_DIAG_RESPONSE);
	assert_int_equal(h.index, 0);
	h = hit(f->t, 0x18DA10F1, BD_FRAME_EXT);
	assert_int_equal(h.kind, ROUTE_DIAG_REQUEST);
	assert_int_equal(h.index, 1);
	h = hit(f->t, 0x18DAF110, BD_FRAME_EXT);
	assert_int_equal(h.kind, ROUTE_DIAG_RESPONSE);
	assert_int_equal(h.index, 1);
	assert_int_equal(hit(f->t, 0x7DF, 0).kind, ROUTE_FUNCTIONAL);
}

static void other_frames(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hit(f->t, 0x555, 0).kind, ROUTE_UNKNOWN);
	assert_int_equal(hit(f->t, 0x1234567, BD_FRAME_EXT).kind, ROUTE_UNKNOWN);
	/* an error frame's id is its class bits, never a message id */
	assert_int_equal(hit(f->t, 928, BD_FRAME_ERR).kind, ROUTE_ERROR);
	assert_int_equal(hit(f->t, ROUTE_CAN_ERR_BUSOFF, BD_FRAME_ERR).kind, ROUTE_ERROR);
	assert_int_equal(hit(f->t, 928, BD_FRAME_RTR).kind, ROUTE_REMOTE);
}

static void partial_tables(void **state)
{
	struct fixture *f = *state;
	struct route_table *t;

	/* no table: data frames are unknown, error frames still errors */
	assert_int_equal(hit(NULL, 928, 0).kind, ROUTE_UNKNOWN);
	assert_int_equal(hit(NULL, 4, BD_FRAME_ERR).kind, ROUTE_ERROR);
	assert_int_equal(route_table_message_count(NULL), 0);
	assert_int_equal(route_table_new(NULL, f->p, &t), 0);
	assert_int_equal(hit(t, 928, 0).kind, ROUTE_UNKNOWN);
	assert_int_equal(hit(t, 0x726, 0).kind, ROUTE_DIAG_REQUEST);
	route_table_free(t);
	assert_int_equal(route_table_new(f->db, NULL, &t), 0);
	assert_int_equal(hit(t, 0x72E, 0).kind, ROUTE_MESSAGE);
	assert_int_equal(route_table_ecu_count(t), 0);
	route_table_free(t);
	assert_int_equal(route_table_new(NULL, NULL, &t), 0);
	assert_int_equal(hit(t, 1, 0).kind, ROUTE_UNKNOWN);
	route_table_free(t);
	assert_null(route_table_free(NULL));
}

/* Two ECUs behind a Toyota-style gateway (0x750 -> 0x758, the target byte both ways), one
 * behind a BMW-style tester id (0x6F1 -> 0x640, the tester's 0xF1 in answers), one with
 * 29-bit mixed addressing, and a DBC message on the gateway's request id. */
static void address_bytes(void **state)
{
	static const char prof[] = "format = 1\n[vehicle]\nmake = t\nplatform = t\n"
				   "[ecu door]\naddressing = extended\nrequest = 0x750\n"
				   "response = 0x758\ntarget = 0x90\n"
				   "[ecu bcm]\naddressing = extended\nrequest = 0x750\n"
				   "response = 0x758\ntarget = 0x40\n"
				   "[ecu kombi]\naddressing = extended\nrequest = 0x6F1\n"
				   "response = 0x660\ntarget = 0x60\nsource = 0xF1\n"
				   "[ecu mix]\naddressing = mixed\ntarget = 0x20\next_address = 0x05\n"
				   "[ecu plain]\nrequest = 0x7E0\nresponse = 0x7E8\n";
	static const char dbc[] = "VERSION \"\"\nBU_: X\nBO_ 1872 OnGateway: 8 X\n"
				  " SG_ A : 0|8@1+ (1,0) [0|255] \"\" X\n";
	struct profile *p;
	struct profile_error perr;
	struct dbc *db;
	struct dbc_error derr;
	struct route_table *t;
	struct bd_frame fr = {.id = 0x750, .len = 8, .data = {0x40, 0x02, 0x3E, 0x00}};
	struct route_hit h;

	assert_int_equal(profile_parse(prof, sizeof(prof) - 1, "t.profile", &p, &perr), 0);
	assert_int_equal(dbc_parse(dbc, sizeof(dbc) - 1, "t.dbc", NULL, NULL, &derr, &db), 0);
	assert_int_equal(route_table_new(db, p, &t), 0);
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_REQUEST);
	assert_int_equal(h.index, 1);
	fr.data[0] = 0x90;
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_REQUEST);
	assert_int_equal(h.index, 0);
	/* another byte on the gateway's id: what the id alone is, here a DBC message */
	fr.data[0] = 0x41;
	assert_int_equal(route_classify(t, &fr).kind, ROUTE_MESSAGE);
	fr.id = 0x758;
	fr.data[0] = 0x40;
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_RESPONSE);
	assert_int_equal(h.index, 1);
	fr.data[0] = 0x11;
	assert_int_equal(route_classify(t, &fr).kind, ROUTE_UNKNOWN);
	fr.len = 0; /* no byte at all: nothing to tell the ECUs apart by */
	assert_int_equal(route_classify(t, &fr).kind, ROUTE_UNKNOWN);
	fr.len = 8;
	fr.id = 0x6F1;
	fr.data[0] = 0x60;
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_REQUEST);
	assert_int_equal(h.index, 2);
	fr.id = 0x660;
	fr.data[0] = 0xF1;
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_RESPONSE);
	assert_int_equal(h.index, 2);
	fr.id = 0x18CEF120;
	fr.flags = BD_FRAME_EXT;
	fr.data[0] = 0x05;
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_RESPONSE);
	assert_int_equal(h.index, 3);
	fr.id = 0x7E8;
	fr.flags = 0;
	fr.data[0] = 0x05;
	h = route_classify(t, &fr);
	assert_int_equal(h.kind, ROUTE_DIAG_RESPONSE);
	assert_int_equal(h.index, 4);
	route_table_free(t);
	dbc_free(db);
	profile_free(p);
}

static void names(void **state)
{
	assert_string_equal(route_kind_name(ROUTE_MESSAGE), "message");
	assert_string_equal(route_kind_name(ROUTE_DIAG_RESPONSE), "diag_response");
	assert_string_equal(route_kind_name(ROUTE_REMOTE), "remote");
	for (unsigned k = 0; k < ROUTE_KIND_MAX; k++)
		assert_non_null(route_kind_name((enum route_kind)k));
	assert_null(route_kind_name(ROUTE_KIND_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(messages),
		cmocka_unit_test(diagnostic_ids),
		cmocka_unit_test(other_frames),
		cmocka_unit_test(partial_tables),
		cmocka_unit_test(address_bytes),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
