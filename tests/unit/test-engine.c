/* SPDX-License-Identifier: MIT */
/*
 * lib/engine on hand-made inputs: DBC signals and DIDs become role samples through the
 * profile's [role] sections (value maps, defaults, units), only the roles rules read
 * reach the timeline (also multiplexed ones), body events and role statistics are kept
 * for every role, a profile naming a signal the DBC lacks is refused at its line, unknown
 * ids and bus-off become transport events, diagnostic frames are reassembled by the
 * ISO-TP observer into DTC status events and DTC reads (multi-frame 0x59 with flow
 * control) and DID role samples (0x62, also without the request in the capture),
 * negative responses into NRC events (0x78 ignored), marks drive sequences, the chain's
 * links report what the car can show, and bad input is refused without harm.
 */
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
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/rules.h"
#include "bodydiag/timeline.h"

#define MS 1000LL

static const char DBC[] = "VERSION \"\"\n"
			  "BU_: BCM\n"
			  "BO_ 928 Trunk: 8 BCM\n"
			  " SG_ Cmd : 0|1@1+ (1,0) [0|1] \"\" BCM\n"
			  " SG_ Current : 8|16@1+ (0.01,0) [0|40] \"A\" BCM\n"
			  " SG_ Lid : 24|8@1+ (1,0) [0|255] \"\" BCM\n"
			  " SG_ Req : 32|3@1+ (1,0) [0|7] \"\" BCM\n"
			  " SG_ Speed : 40|8@1+ (1,0) [0|255] \"mph\" BCM\n"
			  "BO_ 929 Muxed: 8 BCM\n"
			  " SG_ Page M : 0|8@1+ (1,0) [0|255] \"\" BCM\n"
			  " SG_ Fuse m1 : 8|8@1+ (0.1,0) [0|25] \"V\" BCM\n"
			  " SG_ Other m2 : 8|8@1+ (1,0) [0|255] \"\" BCM\n"
			  "VAL_ 928 Req 0 \"Null\" 1 \"Remote\" 2 \"Cabin\" 5 \"Diag\";\n";

static const char PROFILE[] = "format = 1\n"
			      "[vehicle]\n"
			      "make = test\n"
			      "platform = t1\n"
			      "[ecu bcm]\n"
			      "request = 0x726\n"
			      "response = 0x72E\n"
			      "functional = 0x7DF\n"
			      "[did bcm 0xD10B]\n"
			      "name = Lockout\n"
			      "length = 2\n"
			      "signal = Lockout : 7|16@0+ (0.1,0) [0|6553] \"s\"\n"
			      "[did bcm 0xD110]\n"
			      "name = FobFlags\n"
			      "length = 1\n"
			      "signal = Fob1 : 0|1@1+ (1,0) [0|1] \"\"\n"
			      "signal = Fob2 : 1|1@1+ (1,0) [0|1] \"\"\n"
			      "values = 0 \"off\" 1 \"on\"\n"
			      "[role actuator_cmd]\n"
			      "dbc_signal = Trunk.Cmd\n"
			      "source = t.dbc Trunk Cmd\n"
			      "grade = C\n"
			      "[role actuator_current]\n"
			      "dbc_signal = 0x3A0.Current\n"
			      "source = t.dbc Trunk Current\n"
			      "grade = C\n"
			      "[role ajar]\n"
			      "dbc_signal = Trunk.Lid\n"
			      "source = t.dbc Trunk Lid: 0 closed, else open\n"
			      "grade = C\n"
			      "[role release_request]\n"
			      "dbc_signal = Trunk.Req\n"
			      "map = Null:none, Remote:fob, \"Cabin\":interior\n"
			      "source = t.dbc Trunk Req; 5 (Diag) and 3, 4, 6, 7 unmapped\n"
			      "grade = C\n"
			      "[role speed]\n"
			      "dbc_signal = Trunk.Speed\n"
			      "source = t.dbc Trunk Speed, mph\n"
			      "grade = C\n"
			      "[role fuse_voltage]\n"
			      "dbc_signal = Muxed.Fuse\n"
			      "source = t.dbc Muxed Fuse\n"
			      "grade = C\n"
			      "[role lockout_timer]\n"
			      "did = bcm 0xD10B\n"
			      "source = t.profile DID 0xD10B\n"
			      "grade = C\n"
			      "[role fob2_trunk_enabled]\n"
			      "did = bcm 0xD110 Fob2\n"
			      "map = off:disabled, on:enabled\n"
			      "source = t.profile DID 0xD110 bit 1\n"
			      "grade = C\n";

static const char RULES[] = "format 2\n"
			    "question pressed \"Press\"\n"
			    "link ajar \"Ajar\"\n"
			    "\tworks rises ajar\n"
			    "rule no_current \"Commanded, no current\"\n"
			    "\twhen after mark pressed: signal actuator_cmd == on within 500ms\n"
			    "\t\tand absent signal actuator_current > 0.5 within 1s\n"
			    "\tadvice \"check\"\n"
			    "\tweight 0.9\n"
			    "rule open_dtc \"Open circuit DTC\"\n"
			    "\twhen dtc B1A40-13 active\n"
			    "\tscope module bcm\n"
			    "\tweight 0.8\n"
			    "rule lockout \"Lockout\"\n"
			    "\twhen signal lockout_timer > 5\n"
			    "\tweight 0.7\n"
			    "rule fob2 \"Fob 2 flag\"\n"
			    "\twhen signal fob2_trunk_enabled == enabled\n"
			    "\tweight 0.6\n"
			    "rule fuse \"Fuse\"\n"
			    "\twhen signal fuse_voltage < 1\n"
			    "\tweight 0.5\n"
			    "rule refused \"Refused\"\n"
			    "\twhen transport nrc 0x22\n"
			    "\tweight 0.4\n"
			    "rule noise \"Noise\"\n"
			    "\twhen count transport unknown_id >= 2 within 1s\n"
			    "\tweight 0.3\n"
			    "rule busoff \"Bus off\"\n"
			    "\twhen transport busoff\n"
			    "\tweight 0.2\n";

struct fixture {
	struct dbc *db;
	struct profile *profile;
	struct rules_set *set;
	struct engine *e;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dbc_error derr;
	struct profile_error perr;
	struct rules_error rerr;
	assert_int_equal(dbc_parse(DBC, strlen(DBC), "t.dbc", NULL, NULL, &derr, &f->db), 0);
	assert_int_equal(profile_parse(PROFILE, strlen(PROFILE), "t.profile", &f->profile, &perr), 0);
	if (rules_parse(RULES, strlen(RULES), "t.rules", &rerr, &f->set) < 0)
		fail_msg("t.rules:%u:%u: %s", rerr.line, rerr.column, rerr.message);
	struct engine_config cfg;
	engine_config_init(&cfg);
	cfg.rules = f->set;
	cfg.dbc = f->db;
	cfg.profile = f->profile;
	cfg.timeline_capacity = 256;
	assert_int_equal(engine_new(&cfg, &rerr, &f->e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	engine_free(f->e);
	rules_set_free(f->set);
	profile_free(f->profile);
	dbc_free(f->db);
	free(f);
	return 0;
}

static struct bd_timed_frame frame(int64_t t, uint32_t id, const char *hex)
{
	struct bd_timed_frame tf = {.t_us = t, .frame = {.id = id}};
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned b;
		sscanf(hex + 2 * i, "%2x", &b);
		tf.frame.data[i] = (uint8_t)b;
	}
	tf.frame.len = (uint8_t)n;
	return tf;
}

static void feed(struct engine *e, int64_t t, uint32_t id, const char *hex)
{
	struct bd_timed_frame tf = frame(t, id, hex);
	assert_int_equal(engine_feed_frame(e, &tf), 0);
}

static const struct rules_finding *finding(struct engine *e, const char *id)
{
	assert_true(engine_evaluate(e) >= 0);
	for (size_t i = 0; i < engine_finding_count(e); i++)
		if (!strcmp(engine_finding_at(e, i)->id, id))
			return engine_finding_at(e, i);
	return NULL;
}

static bool holds(struct engine *e, const char *id)
{
	const struct rules_finding *f = finding(e, id);
	return f && f->state == RULES_STATE_HOLDS;
}

static uint32_t signal_index(struct engine *e, const char *name)
{
	uint32_t i;
	assert_int_equal(timeline_symbols_lookup(engine_symbols(e), TIMELINE_SYMBOL_SIGNAL, name,
						 strlen(name), &i),
			 0);
	return i;
}

static unsigned role(const char *name)
{
	unsigned r;
	assert_int_equal(role_find(name, strlen(name), &r), 0);
	return r;
}

/* Only the roles rules read reach the timeline; the sequence after a mark decides. */
static void decode_read_signals_only(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_stats st;
	struct engine_role_stats rs;

	feed(e, 1000 * MS, 928, "0000000700000000"); /* Cmd 0, Current 0, Lid 7, Req 0, Speed 0 */
	/* three roles read (the link reads ajar); release_request and speed only counted */
	assert_int_equal(timeline_count(engine_timeline(e)), 3);
	assert_int_equal(engine_role_stats(e, role("release_request"), &rs), 0);
	assert_int_equal(rs.samples, 1);
	assert_int_equal(rs.provides, ROLEMAP_BROADCAST);
	assert_int_equal(engine_role_stats(e, role("speed"), &rs), 0);
	assert_int_equal(rs.samples, 1);
	assert_int_equal(engine_role_stats(e, role("hood"), &rs), 0);
	assert_int_equal(rs.samples, 0);
	assert_int_equal(rs.provides, 0);
	assert_int_equal(engine_role_stats(e, 1000, &rs), -EINVAL);
	assert_int_equal(engine_mark(e, 1100 * MS, "pressed", 7), 0);
	assert_false(holds(e, "no_current"));
	feed(e, 1200 * MS, 928, "0100000000000000"); /* commanded, no current, lid closed */
	feed(e, 1700 * MS, 928, "0114000000000000"); /* 0.2 A: below 0.5 */
	engine_advance(e, 2200 * MS);
	assert_true(holds(e, "no_current"));
	assert_int_equal(engine_verdict(e), RULES_VERDICT_FAULT);
	assert_string_equal(engine_finding_at(e, 0)->id, "no_current");
	const struct rules_finding *fd = engine_finding_at(e, 0);
	assert_true(fd->n_evidence >= 2);
	char buf[256];
	assert_true(engine_evidence_format(e, &fd->evidence[0], buf, sizeof(buf)) > 0);

	engine_stats(e, &st);
	assert_int_equal(st.frames, 3);
	assert_int_equal(st.decoded, 3);
	assert_int_equal(st.role_frames, 3);
	assert_int_equal(st.signal_events, 9);
	assert_int_equal(st.marks, 1);
	assert_int_equal(st.first_us, 1000 * MS);
	assert_int_equal(st.last_us, 2200 * MS);

	/* body events: each role's first state, then its changes, with their source */
	assert_int_equal(engine_transition_count(e), 5);
	const struct engine_transition *t = engine_transition_at(e, 0);
	assert_int_equal(t->role, role("actuator_cmd"));
	assert_true(isnan(t->from));
	assert_true(t->to == 0);
	rolemap_source_format(t->source, buf, sizeof(buf));
	assert_string_equal(buf, "Trunk.Cmd");
	t = engine_transition_at(e, 3);
	assert_int_equal(t->role, role("actuator_cmd"));
	assert_int_equal(t->t_us, 1200 * MS);
	assert_true(t->from == 0 && t->to == 1);
	t = engine_transition_at(e, 4);
	assert_int_equal(t->role, role("ajar"));
	assert_true(t->from == 1 && t->to == 0);
	assert_null(engine_transition_at(e, 5));
	assert_int_equal(engine_transitions_dropped(e), 0);
}

/* Value maps by label and raw value, unmapped values, units. */
static void role_values(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_role_stats rs;
	struct engine_stats st;
	feed(e, 1000 * MS, 928, "00000000010A0000"); /* Req Remote, 10 mph */
	feed(e, 1010 * MS, 928, "0000000005000000"); /* Req Diag: no role value */
	feed(e, 1020 * MS, 928, "0000000002000000"); /* Req Cabin */
	assert_int_equal(engine_role_stats(e, role("release_request"), &rs), 0);
	assert_int_equal(rs.samples, 2);
	assert_true(rs.last == 2); /* interior */
	engine_stats(e, &st);
	assert_int_equal(st.unmapped, 1);
	assert_int_equal(engine_role_stats(e, role("speed"), &rs), 0);
	assert_true(rs.max > 16.09 && rs.max < 16.1); /* mph to km/h by the DBC's unit */
	size_t n = engine_transition_count(e);
	const struct engine_transition *t = engine_transition_at(e, n - 1);
	assert_int_equal(t->role, role("release_request"));
	assert_true(t->from == 1 && t->to == 2);
}

/* A profile that names what the DBC does not have is refused at its own line. */
static void profile_mismatch(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *role;
		unsigned line, column;
		const char *message;
	} cases[] = {
	    {"[role ajar]\ndbc_signal = Trunk.Nope\n", 6, 14,
	     "message 'Trunk' of the DBC has no signal 'Nope'"},
	    {"[role ajar]\ndbc_signal = Boot.Lid\n", 6, 14, "the DBC has no message 'Boot'"},
	    {"[role ajar]\ndbc_signal = 0x3A1.Lid\n", 6, 14,
	     "message 'Muxed' of the DBC has no signal 'Lid'"},
	    {"[role release_request]\ndbc_signal = Trunk.Req\nmap = Remot:fob\n", 7, 7,
	     "signal 'Req' has no value label 'Remot'"},
	    {"[role release_request]\ndbc_signal = Trunk.Req\nmap = 1:fob, 9:interior\n", 7, 14,
	     "raw value 9 does not fit the 3-bit signal 'Req'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		struct profile *p;
		struct profile_error perr;
		struct rules_error err = {0};
		struct engine *e;
		struct engine_config cfg;
		snprintf(text, sizeof(text),
			 "format = 1\n[vehicle]\nmake = test\nplatform = t1\n%ssource = x\ngrade = C\n",
			 cases[i].role);
		assert_int_equal(profile_parse(text, strlen(text), "bad.profile", &p, &perr), 0);
		engine_config_init(&cfg);
		cfg.rules = f->set;
		cfg.dbc = f->db;
		cfg.profile = p;
		assert_int_equal(engine_new(&cfg, &err, &e), -EINVAL);
		if (strcmp(err.file, "bad.profile") || err.line != cases[i].line ||
		    err.column != cases[i].column || !strstr(err.message, cases[i].message))
			fail_msg("case %zu: %s:%u:%u: %s", i, err.file, err.line, err.column,
				 err.message);
		/* without a DBC, a DBC source is refused too */
		cfg.dbc = NULL;
		assert_int_equal(engine_new(&cfg, &err, &e), -EINVAL);
		assert_non_null(strstr(err.message, "no DBC is loaded"));
		profile_free(p);
	}
}

/* The chain as this car can show it: broadcast, diagnostic only, not at all. */
static void chain(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_chain c;
	engine_evaluate(e);
	engine_chain(e, &c);
	assert_int_equal(c.links[ROLE_LINK_FOB].observability, ENGINE_OBS_DIAGNOSTIC);
	assert_int_equal(c.links[ROLE_LINK_FOB].state, RULES_LINK_NOT_OBSERVABLE);
	assert_int_equal(c.links[ROLE_LINK_RECEIVER].observability, ENGINE_OBS_NONE);
	assert_int_equal(c.links[ROLE_LINK_RECEIVER].n_roles, 0);
	assert_int_equal(c.links[ROLE_LINK_REQUEST].observability, ENGINE_OBS_BROADCAST);
	/* nothing heard yet: not observable, whatever the rules would say */
	assert_int_equal(c.links[ROLE_LINK_REQUEST].state, RULES_LINK_NOT_OBSERVABLE);
	assert_false(c.links[ROLE_LINK_REQUEST].seen);
	assert_string_equal(c.links[ROLE_LINK_AJAR].title, "Ajar");
	feed(e, 1000 * MS, 928, "0000000000000000");
	feed(e, 1100 * MS, 928, "0000000100000000"); /* the lid opens */
	engine_evaluate(e);
	engine_chain(e, &c);
	assert_true(c.links[ROLE_LINK_REQUEST].seen);
	assert_int_equal(c.links[ROLE_LINK_REQUEST].state, RULES_LINK_NOT_EXERCISED);
	assert_int_equal(c.links[ROLE_LINK_AJAR].state, RULES_LINK_WORKING);
	assert_int_equal(c.links[ROLE_LINK_AJAR].judged->since_us, 1100 * MS);
	assert_int_equal(c.links[ROLE_LINK_CURRENT].n_roles, 2); /* actuator_current, fuse */
	assert_int_equal(c.links[ROLE_LINK_OUTPUT].observability, ENGINE_OBS_BROADCAST);
	assert_string_equal(engine_observability_name(ENGINE_OBS_DIAGNOSTIC),
			    "diagnostic connection only");
	assert_non_null(engine_rolemap(e));
}

static void decode_multiplexed(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	feed(e, 1000 * MS, 929, "0205000000000000"); /* page 2: Other, not read */
	assert_false(holds(e, "fuse"));
	assert_int_equal(timeline_count(engine_timeline(e)), 0);
	feed(e, 1010 * MS, 929, "0105000000000000"); /* page 1: Fuse 0.5 V */
	assert_true(holds(e, "fuse"));
	struct timeline_event ev;
	assert_int_equal(timeline_get(engine_timeline(e), 0, &ev), 0);
	assert_int_equal(ev.signal.index, signal_index(e, "fuse_voltage"));
	assert_true(ev.signal.value > 0.49 && ev.signal.value < 0.51);
	/* a frame too short for the signal is no sample */
	feed(e, 1020 * MS, 929, "01");
	assert_int_equal(timeline_count(engine_timeline(e)), 1);
}

static void unknown_ids_and_bus_off(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_stats st;
	feed(e, 1000 * MS, 0x123, "00");
	feed(e, 1000 * MS, 0x7DF, "0322F190"); /* a functional request is no unknown id */
	assert_false(holds(e, "noise"));
	feed(e, 1500 * MS, 0x124, "00");
	assert_true(holds(e, "noise"));
	struct bd_timed_frame ef = {.t_us = 1600 * MS,
				    .frame = {.id = 0x40, .flags = BD_FRAME_ERR, .len = 8}};
	assert_int_equal(engine_feed_frame(e, &ef), 0);
	assert_true(holds(e, "busoff"));
	engine_stats(e, &st);
	assert_int_equal(st.unknown_ids, 2);
	assert_int_equal(st.diag_frames, 1);
	assert_int_equal(st.transport_events, 3);
}

/* A periodic frame of an unknown id: every one counted by the rules, one stored per id and
 * keepalive (1 s), another id stored at once. */
static void unknown_ids_thinned(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_stats st;
	feed(e, 1000 * MS, 0x123, "00");
	feed(e, 1100 * MS, 0x123, "00");
	assert_true(holds(e, "noise")); /* two within 1 s: the second fed, not stored */
	for (int i = 2; i <= 25; i++)
		feed(e, (1000 + i * 100) * MS, 0x123, "00");
	feed(e, 3550 * MS, 0x124, "00");
	const struct timeline *tl = engine_timeline(e);
	static const int64_t want[][2] = {{1000, 0x123}, {2000, 0x123}, {3000, 0x123}, {3550, 0x124}};
	assert_int_equal(timeline_count(tl), 4);
	for (size_t i = 0; i < 4; i++) {
		struct timeline_event ev;
		assert_int_equal(timeline_get(tl, i, &ev), 0);
		assert_int_equal(ev.type, TIMELINE_EVENT_TRANSPORT);
		assert_int_equal(ev.transport.kind, TIMELINE_TRANSPORT_UNKNOWN_ID);
		assert_int_equal(ev.t_us, want[i][0] * MS);
		assert_int_equal(ev.transport.id, want[i][1]);
	}
	engine_stats(e, &st);
	assert_int_equal(st.unknown_ids, 27);
	assert_int_equal(st.transport_events, 27);
}

/* 19 02 FF answered with two DTCs in a multi-frame response, as on the bus. */
static void isotp_dtc_read(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_stats st;
	/* nothing read yet: the fault memory says nothing */
	assert_int_equal(finding(e, "open_dtc")->state, RULES_STATE_NOT_OBSERVABLE);
	/* a read that lists nothing: the DTC is not there */
	feed(e, 500 * MS, 0x726, "031902FF");
	feed(e, 510 * MS, 0x72E, "0359027F");
	assert_null(finding(e, "open_dtc"));
	feed(e, 1000 * MS, 0x726, "031902FF");
	/* 59 02 7F | B1A40-13 status 09 | U3000-49 status 08: 11 bytes */
	feed(e, 1010 * MS, 0x72E, "100B59027F9A4013");
	feed(e, 1011 * MS, 0x726, "300000");
	assert_false(holds(e, "open_dtc"));
	feed(e, 1012 * MS, 0x72E, "2109F000490800");
	assert_true(holds(e, "open_dtc"));
	engine_stats(e, &st);
	assert_int_equal(st.diag_frames, 6);
	assert_int_equal(st.pdus, 2);
	assert_int_equal(st.dtc_events, 2);
	/* the same statuses read again are no new events */
	feed(e, 2000 * MS, 0x726, "031902FF");
	feed(e, 2010 * MS, 0x72E, "100B59027F9A4013");
	feed(e, 2011 * MS, 0x726, "300000");
	feed(e, 2012 * MS, 0x72E, "2109F000490800");
	engine_stats(e, &st);
	assert_int_equal(st.dtc_events, 2);
	/* the DTC passes: a status change */
	feed(e, 3000 * MS, 0x726, "031902FF");
	feed(e, 3010 * MS, 0x72E, "0759027F9A401308");
	engine_stats(e, &st);
	assert_int_equal(st.dtc_events, 3);
	uint8_t status;
	uint32_t bcm;
	assert_int_equal(timeline_symbols_lookup(engine_symbols(e), TIMELINE_SYMBOL_MODULE, "bcm",
						 3, &bcm),
			 0);
	assert_int_equal(timeline_dtc_status(engine_timeline(e), bcm, 0x9a4013, &status), 0);
	assert_int_equal(status, 0x08);
}

/* 22 D10B D110 -> two DIDs decoded with the profile; also without the request. */
static void isotp_did_read(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	feed(e, 1000 * MS, 0x726, "0522D10BD110");
	feed(e, 1010 * MS, 0x72E, "0762D10B0258D110"); /* too short: 7 of 8 bytes */
	assert_false(holds(e, "lockout"));
	feed(e, 1100 * MS, 0x726, "0522D10BD110");
	feed(e, 1110 * MS, 0x72E, "100862D10B0258D1");
	feed(e, 1111 * MS, 0x726, "300000");
	feed(e, 1112 * MS, 0x72E, "211002");
	assert_true(holds(e, "lockout")); /* 0x0258 * 0.1 = 60 s */
	/* both DIDs are read by a rule: the guided test must ask for them */
	assert_int_equal(engine_did_count(e), 2);
	assert_int_equal(profile_did_id(engine_did_at(e, 0)), 0xD10B);
	assert_int_equal(profile_did_id(engine_did_at(e, 1)), 0xD110);
	assert_null(engine_did_at(e, 2));
	assert_true(holds(e, "fob2"));
	/* capture started after the request: lengths from the profile */
	struct engine_config cfg;
	struct rules_error err;
	struct engine *e2;
	engine_config_init(&cfg);
	cfg.rules = f->set;
	cfg.dbc = f->db;
	cfg.profile = f->profile;
	assert_int_equal(engine_new(&cfg, &err, &e2), 0);
	feed(e2, 1110 * MS, 0x72E, "100862D10B0258D1");
	feed(e2, 1111 * MS, 0x726, "300000");
	feed(e2, 1112 * MS, 0x72E, "211002");
	assert_true(holds(e2, "lockout"));
	assert_true(holds(e2, "fob2"));
	/* the daemon's own client hands its exchanges over directly */
	engine_free(e2);
	assert_int_equal(engine_new(&cfg, &err, &e2), 0);
	static const uint8_t req[] = {0x22, 0xd1, 0x10}, resp[] = {0x62, 0xd1, 0x10, 0x02};
	assert_int_equal(engine_uds(e2, "bcm", 5 * MS, req, sizeof(req), resp, sizeof(resp)), 0);
	assert_true(holds(e2, "fob2"));
	assert_int_equal(engine_uds(e2, "abs", 5 * MS, req, sizeof(req), resp, sizeof(resp)),
			 -ENOENT);
	engine_free(e2);
}

static void negative_responses(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct engine_stats st;
	feed(e, 1000 * MS, 0x726, "042F0101030100");
	feed(e, 1010 * MS, 0x72E, "037F2F78"); /* pending: not an outcome */
	assert_false(holds(e, "refused"));
	feed(e, 1100 * MS, 0x72E, "037F2F22");
	assert_true(holds(e, "refused"));
	engine_stats(e, &st);
	assert_int_equal(st.pdus, 2);
	assert_int_equal(st.transport_events, 1);
}

static void bad_input(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	struct bd_timed_frame tf = frame(0, 0x800, "00"); /* 12-bit id without EXT */
	assert_int_equal(engine_feed_frame(e, &tf), -EINVAL);
	assert_int_equal(engine_feed_frame(e, NULL), -EINVAL);
	assert_int_equal(engine_mark(e, 0, "", 0), -EINVAL);
	assert_int_equal(engine_dtc(e, 0, "bcm", 0x1000000, 0), -EINVAL);
	assert_int_equal(engine_transport(e, 0, TIMELINE_TRANSPORT_MAX, 0, 0, 0), -EINVAL);
	assert_int_equal(engine_uds(e, "bcm", 0, NULL, 0, NULL, 1), -EINVAL);
	/* garbage on the diagnostic ids is data, never a crash */
	for (int i = 0; i < 64; i++) {
		char hex[17];
		snprintf(hex, sizeof(hex), "%02X%02X%02X%02X", (i * 37) & 0xff, i, 0x59, 0x62);
		feed(e, i * MS, (i & 1) ? 0x72E : 0x726, hex);
	}
	engine_advance(e, INT64_MAX);
	engine_advance(e, 10000 * MS);
	assert_true(engine_evaluate(e) >= 0);
	struct engine_config cfg;
	struct rules_error err;
	struct engine *e2;
	engine_config_init(&cfg);
	assert_int_equal(engine_new(&cfg, &err, &e2), -EINVAL);
	cfg.rules = f->set;
	cfg.timeline_capacity = TIMELINE_MAX_CAPACITY + 1;
	assert_int_equal(engine_new(&cfg, &err, &e2), -EINVAL);
	/* no DBC, no profile: marks and given events still work */
	cfg.timeline_capacity = 0;
	assert_int_equal(engine_new(&cfg, &err, &e2), 0);
	feed(e2, 0, 0x123, "00");
	assert_int_equal(engine_dtc(e2, 1, "bcm", 0x9a4013, 0x09), 0);
	assert_true(holds(e2, "open_dtc"));
	engine_free(e2);
	assert_null(engine_free(NULL));
}

/* The ring is bounded: old events are overwritten, the rules keep their state. */
static void bounded_timeline(void **state)
{
	struct fixture *f = *state;
	struct engine *e = f->e;
	for (int i = 0; i < 1000; i++) {
		/* every read role changes every frame: Cmd, Current (LE), Lid */
		char hex[17];
		snprintf(hex, sizeof(hex), "%02X%02X%02X%02X00000000", i & 1, i & 0xff, i >> 8, i & 1);
		feed(e, i * MS, 928, hex);
	}
	assert_int_equal(timeline_count(engine_timeline(e)), 256);
	assert_int_equal(timeline_dropped(engine_timeline(e)), 3000 - 256); /* 3 read roles */
	/* a session restarted later forgets the mark-anchored windows */
	engine_reset(e, 1000 * MS);
	struct rules_question q;
	assert_int_equal(engine_next_question(e, &q), 0);
	assert_string_equal(q.mark, "pressed");
}

/* ---- what the timeline keeps of periodic repeats ---- */

/* speed is read by one rule, which needs five samples within a second: repeats count. */
static const char RULES_COUNT[] = "format 2\n"
				  "rule alive \"Speed sent\"\n"
				  "\twhen count update speed >= 5 within 1s\n"
				  "\tweight 0.5\n";

struct kfix {
	struct fixture f; /* db, profile, set (RULES_COUNT), e */
	uint32_t speed;
};

static struct engine *keep_engine(struct kfix *k, int64_t keepalive_us)
{
	struct engine_config cfg;
	struct rules_error err;
	engine_free(k->f.e);
	engine_config_init(&cfg);
	cfg.rules = k->f.set;
	cfg.dbc = k->f.db;
	cfg.profile = k->f.profile;
	cfg.timeline_keepalive_us = keepalive_us;
	assert_int_equal(engine_new(&cfg, &err, &k->f.e), 0);
	k->speed = signal_index(k->f.e, "speed");
	return k->f.e;
}

static int keep_setup(void **state)
{
	struct kfix *k = calloc(1, sizeof(*k));
	struct dbc_error derr;
	struct profile_error perr;
	struct rules_error rerr;
	assert_int_equal(dbc_parse(DBC, strlen(DBC), "t.dbc", NULL, NULL, &derr, &k->f.db), 0);
	assert_int_equal(profile_parse(PROFILE, strlen(PROFILE), "t.profile", &k->f.profile, &perr), 0);
	if (rules_parse(RULES_COUNT, strlen(RULES_COUNT), "c.rules", &rerr, &k->f.set) < 0)
		fail_msg("c.rules:%u:%u: %s", rerr.line, rerr.column, rerr.message);
	*state = k;
	return 0;
}

static int keep_teardown(void **state)
{
	return teardown(state); /* struct kfix begins with struct fixture */
}

/* Speed (the one read role) at t ms, value v. */
static void speed(struct engine *e, int64_t t_ms, unsigned v)
{
	char hex[17];
	snprintf(hex, sizeof(hex), "0000000000%02X0000", v & 0xff);
	feed(e, t_ms * MS, 928, hex);
}

/* The timeline's signal events: their times in ms and values, n at most; returns the count. */
static size_t stored(struct engine *e, int64_t *t_ms, double *v, size_t n)
{
	const struct timeline *tl = engine_timeline(e);
	size_t k = 0;
	for (size_t i = 0; i < timeline_count(tl); i++) {
		struct timeline_event ev;
		assert_int_equal(timeline_get(tl, i, &ev), 0);
		if (ev.type != TIMELINE_EVENT_SIGNAL)
			continue;
		if (k < n) {
			t_ms[k] = ev.t_us / MS;
			v[k] = ev.signal.value;
		}
		k++;
	}
	return k;
}

/* Repeats of an unchanged value reach the rules (five samples within a second make the
 * rule hold) but not the timeline, which keeps the first. */
static void repeats_fed_not_stored(void **state)
{
	struct kfix *k = *state;
	struct engine *e = keep_engine(k, 0);
	struct engine_stats st;
	int64_t t[8];
	double v[8];

	for (int i = 0; i < 4; i++)
		speed(e, 1000 + i * 100, 30);
	assert_false(holds(e, "alive"));
	speed(e, 1400, 30);
	assert_true(holds(e, "alive")); /* the fifth sample, not stored, counted */
	assert_int_equal(stored(e, t, v, 8), 1);
	assert_int_equal(t[0], 1000);
	assert_true(v[0] > 48.2 && v[0] < 48.3); /* 30 mph in km/h */
	engine_stats(e, &st);
	assert_int_equal(st.signal_events, 5);
	assert_int_equal(st.signal_stored, 1);
	/* the role's statistics see every sample */
	struct engine_role_stats rs;
	assert_int_equal(engine_role_stats(e, role("speed"), &rs), 0);
	assert_int_equal(rs.samples, 5);
	assert_int_equal(rs.last_us, 1400 * MS);
	/* the evidence is the sample that made it: fed, not stored (seq 0) */
	const struct rules_finding *fd = finding(e, "alive");
	assert_non_null(fd);
	assert_true(fd->n_evidence >= 1);
	assert_int_equal(fd->evidence[0].event.t_us, 1400 * MS);
	assert_int_equal(fd->evidence[0].event.seq, 0);
}

/* An unchanged value is stored again once the keepalive (default 1 s, or the config's)
 * has passed since the role's last stored event; a change is stored at once and restarts
 * the interval. */
static void keepalive_and_changes(void **state)
{
	struct kfix *k = *state;
	struct engine *e = keep_engine(k, 0);
	int64_t t[16];
	double v[16];

	for (int i = 0; i <= 25; i++) /* 2.5 s of 100 ms frames, one value */
		speed(e, 1000 + i * 100, 30);
	assert_int_equal(stored(e, t, v, 16), 3);
	assert_int_equal(t[0], 1000);
	assert_int_equal(t[1], 2000); /* exactly 1 s later: at least the keepalive */
	assert_int_equal(t[2], 3000);
	speed(e, 3510, 31); /* a change 10 ms after the last frame: stored */
	speed(e, 3520, 30); /* and back */
	speed(e, 4500, 30);
	speed(e, 4530, 30); /* 1.01 s after the change back: a keepalive */
	assert_int_equal(stored(e, t, v, 16), 6);
	assert_int_equal(t[3], 3510);
	assert_true(v[3] > v[2]);
	assert_int_equal(t[4], 3520);
	assert_int_equal(t[5], 4530);

	/* a keepalive of the config's: 250 ms */
	e = keep_engine(k, 250 * MS);
	for (int i = 0; i <= 10; i++)
		speed(e, 1000 + i * 100, 30);
	assert_int_equal(stored(e, t, v, 16), 4);
	assert_int_equal(t[1], 1300);
	assert_int_equal(t[2], 1600);
	assert_int_equal(t[3], 1900);
	/* changes only */
	e = keep_engine(k, INT64_MAX);
	for (int i = 0; i < 100; i++)
		speed(e, 1000 + i * 100, i < 50 ? 30 : 40);
	assert_int_equal(stored(e, t, v, 16), 2);
	assert_int_equal(t[1], 6000);
}

/* ENGINE_KEEP_EVERY_SAMPLE: the timeline as before keepalives, every sample in order. */
static void keep_every_sample(void **state)
{
	struct kfix *k = *state;
	struct engine *e = keep_engine(k, ENGINE_KEEP_EVERY_SAMPLE);
	struct engine_stats st;
	int64_t t[16];
	double v[16];

	for (int i = 0; i < 10; i++)
		speed(e, 1000 + i * 10, 30);
	assert_int_equal(stored(e, t, v, 16), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(t[i], 1000 + i * 10);
	engine_stats(e, &st);
	assert_int_equal(st.signal_events, 10);
	assert_int_equal(st.signal_stored, 10);
	assert_true(holds(e, "alive"));
}

/* Times never go back for the rules: an event older than the newest fed, stored or not,
 * is raised to it, exactly as the timeline raises what it stores. */
static void clamped_times(void **state)
{
	struct kfix *k = *state;
	struct engine *e = keep_engine(k, 0);
	struct engine_stats st;
	int64_t t[8];
	double v[8];

	speed(e, 1000, 30); /* stored */
	speed(e, 1100, 30);
	speed(e, 1200, 30);
	speed(e, 1300, 30); /* fed, not stored: the newest time fed is 1.3 s */
	/* a mark stamped earlier (another clock): stored at 1.3 s, not before the repeats */
	assert_int_equal(engine_mark(e, 1250 * MS, "pressed", 7), 0);
	const struct timeline *tl = engine_timeline(e);
	struct timeline_event ev;
	assert_int_equal(timeline_count(tl), 2);
	assert_int_equal(timeline_get(tl, 1, &ev), 0);
	assert_int_equal(ev.type, TIMELINE_EVENT_MARK);
	assert_int_equal(ev.t_us, 1300 * MS);
	/* a repeat stamped earlier still: fed at 1.3 s, the fifth sample within 1 s */
	speed(e, 1200, 30);
	const struct rules_finding *fd = finding(e, "alive");
	assert_non_null(fd);
	assert_int_equal(fd->state, RULES_STATE_HOLDS);
	assert_int_equal(fd->evidence[0].event.t_us, 1300 * MS);
	/* a change stamped earlier: stored at 1.3 s */
	speed(e, 1000, 31);
	assert_int_equal(stored(e, t, v, 8), 2);
	assert_int_equal(t[1], 1300);
	assert_true(v[1] > v[0]);
	engine_stats(e, &st);
	assert_int_equal(st.clamped, 3);
	/* the keepalive counts from the raised time: 2.3 s, not 2.0 s */
	speed(e, 2200, 31);
	assert_int_equal(stored(e, t, v, 8), 2);
	speed(e, 2300, 31);
	assert_int_equal(stored(e, t, v, 8), 3);
	assert_int_equal(t[2], 2300);
}

/* A new session stores each role's first sample at or after its start whatever its
 * value: the session's part of the timeline (what the daemon records for a report)
 * begins with every role, also when a frame stamped before the start arrives after it. */
static void reset_stores_the_next_sample(void **state)
{
	struct kfix *k = *state;
	struct engine *e = keep_engine(k, 0);
	int64_t t[8];
	double v[8];

	speed(e, 1000, 30);
	speed(e, 1100, 30);
	engine_reset(e, 1150 * MS);
	speed(e, 1120, 30); /* stamped before the start, fed after it: a repeat as any */
	speed(e, 1200, 30);
	speed(e, 1300, 30);
	assert_int_equal(stored(e, t, v, 8), 2);
	assert_int_equal(t[1], 1200);
	const struct timeline *tl = engine_timeline(e);
	struct timeline_event ev;
	assert_int_equal(timeline_get(tl, timeline_find_time(tl, 1150 * MS), &ev), 0);
	assert_int_equal(ev.t_us, 1200 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(decode_read_signals_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(role_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(profile_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(decode_multiplexed, setup, teardown),
	    cmocka_unit_test_setup_teardown(unknown_ids_and_bus_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(unknown_ids_thinned, setup, teardown),
	    cmocka_unit_test_setup_teardown(isotp_dtc_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(isotp_did_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(negative_responses, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(bounded_timeline, setup, teardown),
	    cmocka_unit_test_setup_teardown(repeats_fed_not_stored, keep_setup, keep_teardown),
	    cmocka_unit_test_setup_teardown(keepalive_and_changes, keep_setup, keep_teardown),
	    cmocka_unit_test_setup_teardown(keep_every_sample, keep_setup, keep_teardown),
	    cmocka_unit_test_setup_teardown(clamped_times, keep_setup, keep_teardown),
	    cmocka_unit_test_setup_teardown(reset_stores_the_next_sample, keep_setup,
					    keep_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
