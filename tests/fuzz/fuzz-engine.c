/* SPDX-License-Identifier: MIT */
/*
 * lib/engine fed with arbitrary frames, marks and time steps: DBC decode (plain and
 * multiplexed messages) into role samples through the profile's value maps, the ISO-TP
 * observer and UDS responses on the diagnostic ids (DTC lists, DID records, NRCs),
 * unknown ids, error frames, then ranking, the chain, the body events and the next
 * question. Input: records of [op][time step ms][len][data...]; op bits 0-2 pick the
 * CAN id (0x3A0, 0x3A1, 0x726, 0x72E, 0x123, 29-bit 0x18DAF126, an error frame, a mark),
 * bit 3 advances time, bit 4 evaluates.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DBC[] = "VERSION \"\"\n"
			  "BU_: BCM\n"
			  "BO_ 928 Trunk: 8 BCM\n"
			  " SG_ Cmd : 0|1@1+ (1,0) [0|1] \"\" BCM\n"
			  " SG_ Current : 8|16@1+ (0.01,0) [0|40] \"A\" BCM\n"
			  " SG_ F : 24|32@1- (1,0) [0|0] \"\" BCM\n"
			  "BO_ 929 Muxed: 8 BCM\n"
			  " SG_ Page M : 0|8@1+ (1,0) [0|255] \"\" BCM\n"
			  " SG_ Fuse m1 : 8|8@1+ (0.1,0) [0|25] \"V\" BCM\n"
			  "SIG_VALTYPE_ 928 F : 1;\n";

static const char PROFILE[] = "format = 1\n"
			      "[vehicle]\nmake = test\nplatform = t1\n"
			      "[ecu bcm]\nrequest = 0x726\nresponse = 0x72E\n"
			      "[ecu ext]\nrequest = 0x18DA26F1\nresponse = 0x18DAF126\n"
			      "[did bcm 0xD10B]\nname = Lockout\nlength = 2\n"
			      "signal = Lockout : 7|16@0+ (0.1,0) [0|6553] \"s\"\n"
			      "[did bcm 0xD110]\nname = FobFlags\n"
			      "signal = Fob2 : 1|1@1+ (1,0) [0|1] \"\"\n"
			      "signal = Fob1 : 0|1@1+ (1,0) [0|1] \"\"\n"
			      "values = 0 \"off\" 1 \"on\"\n"
			      "[did bcm 0xF190]\nname = VIN\nascii = 17\n"
			      "[role actuator_cmd]\ndbc_signal = Trunk.Cmd\nsource = s\ngrade = C\n"
			      "[role actuator_current]\ndbc_signal = Trunk.Current\nsource = s\ngrade = C\n"
			      "[role speed]\ndbc_signal = Trunk.F\nscale = 3.6\nsource = s\ngrade = C\n"
			      "[role fuse_voltage]\ndbc_signal = Muxed.Fuse\nsource = s\ngrade = C\n"
			      "[role release_request]\ndbc_signal = Muxed.Page\n"
			      "map = 0:none, 1:fob, 2:interior\ndefault = source_unknown\nsource = s\ngrade = C\n"
			      "[role ajar]\ndbc_signal = Muxed.Page\nmap = 3:open, 4:closed\nsource = s\ngrade = C\n"
			      "[role lockout_timer]\ndid = bcm 0xD10B\nsource = s\ngrade = C\n"
			      "[role fob1_trunk_enabled]\ndid = bcm 0xD110 Fob1\nmap = off:disabled, on:enabled\n"
			      "source = s\ngrade = C\n"
			      "[role fob2_trunk_enabled]\ndid = bcm 0xD110 Fob2\nsource = s\ngrade = C\n";

static const char RULES[] = "format 2\n"
			    "question pressed \"Press\"\n"
			    "link ajar \"Ajar\"\n\tworks rises ajar\n"
			    "\tfails after mark pressed: absent signal ajar == open within 1s\n"
			    "link request \"Request\"\n\tworks rises release_request\n"
			    "rule a \"A\"\n"
			    "\twhen after mark pressed: signal actuator_cmd == on within 500ms\n"
			    "\t\tand absent signal actuator_current > 0.5 within 1s\n"
			    "\tevidence lockout_timer, speed\n"
			    "rule b \"B\"\n\twhen any\n\t\tdtc B1A4?-1? active\n\t\tdtc * flapping 2\n"
			    "\t\tsignal lockout_timer > 5 for 100ms\n\t\tsignal fob1_trunk_enabled == enabled\n"
			    "\t\tsignal fuse_voltage < 1 while speed > 2\n"
			    "\t\tsignal release_request == source_unknown\n"
			    "\t\tcount transport unknown_id >= 3 within 1s\n"
			    "\t\ttransport nrc 0x22\n\t\ttransport busoff\n"
			    "\tscope module bcm\n"
			    "normal ok \"OK\"\n\twhen after mark pressed: rises actuator_current above 3 within 1s\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ids[] = {928, 929, 0x726, 0x72E, 0x123, 0x18DAF126};
	struct dbc *db = NULL;
	struct profile *p = NULL;
	struct rules_set *set = NULL;
	struct engine *e = NULL;
	struct engine_config cfg;

	if (dbc_parse(DBC, strlen(DBC), NULL, NULL, NULL, NULL, &db) < 0 ||
	    profile_parse(PROFILE, strlen(PROFILE), NULL, &p, NULL) < 0 ||
	    rules_parse(RULES, strlen(RULES), NULL, NULL, &set) < 0)
		__builtin_trap();
	engine_config_init(&cfg);
	cfg.rules = set;
	cfg.dbc = db;
	cfg.profile = p;
	cfg.timeline_capacity = 64;
	/* repeats thinned (a keepalive the frames' 0-255 ms steps cross often) or all kept */
	cfg.timeline_keepalive_us = size && data[size - 1] & 1 ? ENGINE_KEEP_EVERY_SAMPLE : 300000;
	if (engine_new(&cfg, NULL, &e) < 0)
		__builtin_trap();

	int64_t t = 0;
	size_t i = 0;
	while (i + 3 <= size) {
		uint8_t op = data[i], len = data[i + 2];
		t += (int64_t)data[i + 1] * 1000;
		i += 3;
		if (len > 64)
			len = 64;
		if (len > size - i)
			len = (uint8_t)(size - i);
		/* op bit 5: stamped half a second before the newest (another clock), which the
		 * engine raises for the timeline and the rules alike, stored or not */
		struct bd_timed_frame tf = {.t_us = op & 32 ? t - 500000 : t};
		memcpy(tf.frame.data, data + i, len);
		i += len;
		unsigned sel = op & 7;
		if (sel == 7) {
			(void)engine_mark(e, t, "pressed", 7);
		} else if (sel == 6) {
			tf.frame.flags = BD_FRAME_ERR;
			tf.frame.id = len ? tf.frame.data[0] : 0x40;
			tf.frame.len = 8;
			(void)engine_feed_frame(e, &tf);
		} else {
			tf.frame.id = ids[sel];
			if (tf.frame.id > 0x7ff)
				tf.frame.flags = BD_FRAME_EXT;
			if (len > 8)
				tf.frame.flags |= BD_FRAME_FD;
			tf.frame.len = bd_frame_round_len(len);
			(void)engine_feed_frame(e, &tf);
		}
		if (op & 8)
			engine_advance(e, t + 1000000);
		if ((op & 0xC0) == 0xC0) /* a new session: the next samples stored again */
			engine_reset(e, t);
		if (op & 16) {
			struct rules_question q;
			char buf[256];
			if (engine_evaluate(e) > 0) {
				const struct rules_finding *f = engine_finding_at(e, 0);
				for (size_t k = 0; k < f->n_evidence; k++)
					engine_evidence_format(e, &f->evidence[k], buf, sizeof(buf));
			}
			struct engine_chain c;
			engine_chain(e, &c);
			for (size_t k = 0; k < engine_transition_count(e); k++)
				rolemap_source_format(engine_transition_at(e, k)->source, buf,
						      sizeof(buf));
			(void)engine_next_question(e, &q);
		}
	}
	engine_advance(e, engine_next_deadline(e));
	engine_evaluate(e);
	engine_free(e);
	rules_set_free(set);
	profile_free(p);
	dbc_free(db);
	return 0;
}
