/* SPDX-License-Identifier: MIT */
/*
 * daemon/router with the daemon's modules around it, in-process on a fake clock:
 *
 *  - decodes: the simulated car's broadcast replayed into a core of every module that
 *    reads frames (policy, live subscriptions, diagnosis, actuator test, scans), with a
 *    live subscriber: each frame is classified once and decoded at most once, by the
 *    router (dbc_decode, dbc_signal_decode and dbc_signal_decode_raw are wrapped at link
 *    time and counted), and the modules still got their values;
 *  - the same engine answer as engine_feed_frame() on the same frames;
 *  - exchanges: the daemon's own (published by the broker, their frames looped back with
 *    BD_FRAME_LOCAL) reach the engine once; another tester's, reassembled from the bus,
 *    reach it too, with functional requests told apart the same way;
 *  - another tester talking to the BCM placed behind a Toyota-style gateway (extended
 *    addressing): its exchanges observed with the address byte, another byte ignored;
 *  - error frames: bus-off and error bursts reach the engine as transport events;
 *  - watches freed while the router dispatches, wants that belong to another snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/engine.h"
#include "daemon/actuator.h"
#include "daemon/diagnosis.h"
#include "daemon/live.h"
#include "daemon/methods.h"
#include "daemon/policy.h"
#include "daemon/records.h"
#include "daemon/scan.h"
#include "sim-car.h"

#define MS 1000LL
#define S 1000000LL

/* ---- decode counting (-Wl,--wrap=...) ---- */

static unsigned n_decode, n_signal_decode;

int __real_dbc_decode(const struct dbc_message *m, const uint8_t *data, size_t len,
		      struct dbc_sample *out, size_t cap, struct dbc_decode_status *status);
int __wrap_dbc_decode(const struct dbc_message *m, const uint8_t *data, size_t len,
		      struct dbc_sample *out, size_t cap, struct dbc_decode_status *status);
int __wrap_dbc_decode(const struct dbc_message *m, const uint8_t *data, size_t len,
		      struct dbc_sample *out, size_t cap, struct dbc_decode_status *status)
{
	n_decode++;
	return __real_dbc_decode(m, data, len, out, cap, status);
}

int __real_dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len,
			     struct dbc_value *ret);
int __wrap_dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len,
			     struct dbc_value *ret);
int __wrap_dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len,
			     struct dbc_value *ret)
{
	n_signal_decode++;
	return __real_dbc_signal_decode(s, data, len, ret);
}

int __real_dbc_signal_decode_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
				 double *ret);
int __wrap_dbc_signal_decode_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
				 double *ret);
int __wrap_dbc_signal_decode_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
				 double *ret)
{
	n_signal_decode++;
	return __real_dbc_signal_decode_raw(s, data, len, ret);
}

/* ---- a replay through every module that reads frames ---- */

static const struct module *const all_readers[] = {
	&router_module, &policy_module,	  &methods_module, &live_module,
	&diagnosis_module, &actuator_module, &scan_module,  NULL,
};

struct counter {
	struct simcar *s;
	unsigned frames, max_decodes_per_frame, message_frames;
	unsigned signal_decodes_in_feed;
};

/* Wraps the car's frame delivery: counts what one router_feed costs. */
static void counting_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct counter *k = userdata;
	unsigned d0 = n_decode, s0 = n_signal_decode;
	struct route_hit h = route_classify(vehicle_routes(k->s->c.vehicle), &f->frame);

	router_feed(k->s->c.router, f);
	k->frames++;
	k->message_frames += h.kind == ROUTE_MESSAGE;
	if (n_decode - d0 > k->max_decodes_per_frame)
		k->max_decodes_per_frame = n_decode - d0;
	k->signal_decodes_in_feed += n_signal_decode - s0;
}

static void decodes_once_per_frame(void **state)
{
	static const struct sim_runner_ops ops = {.frame = counting_frame};
	struct simcar s;
	struct counter k = {.s = &s};
	struct fixture_client cl;
	struct router_stats rs;
	struct engine_stats es;
	json_t *j;
	unsigned live_events = 0;

	simcar_start(&s, all_readers, "fuse_blown", true, true, NULL);
	/* The car's frames through the counter instead of straight into the router. */
	sim_runner_free(s.runner);
	assert_int_equal(sim_runner_new(&(struct sim_runner_config){.model = s.m, .broadcast = s.bc},
					&ops, &k, &s.runner),
			 0);
	assert_int_equal(fixture_client_open(&cl, s.sock), 0);
	assert_int_equal(fixture_client_send(&cl, "{\"v\":1,\"id\":1,\"method\":\"live.subscribe\","
						  "\"params\":{\"signals\":[\"TrunkActuatorCmd\","
						  "\"VehicleSpeed\"]}}"),
			 0);
	j = fixture_client_next(&cl, s.loop);
	assert_non_null(json_object_get(j, "result"));
	json_decref(j);

	n_decode = n_signal_decode = 0;
	simcar_run(&s, 2 * S);
	assert_int_equal(sim_model_press(s.m, SIM_BUTTON_FOB_TRUNK, 0, 0, 0), 0);
	simcar_run(&s, 3 * S);
	while ((j = fixture_client_next(&cl, s.loop))) {
		live_events += json_object_get(j, "event") != NULL;
		json_decref(j);
	}

	router_get_stats(s.c.router, &rs);
	engine_stats(diagnosis_engine(s.c.diagnosis), &es);
	print_message("replay: %u frames (%u of DBC messages), %u dbc_decode calls, %u signal "
		      "decodes by modules, %u live events, %llu engine signal events\n",
		      k.frames, k.message_frames, n_decode, k.signal_decodes_in_feed, live_events,
		      (unsigned long long)es.signal_events);
	assert_true(k.frames > 500);
	assert_int_equal(rs.frames, k.frames);
	/* At most one decode per frame, by the router, and only of DBC messages. */
	assert_int_equal(k.max_decodes_per_frame, 1);
	assert_int_equal(rs.decodes, n_decode);
	assert_true(n_decode <= k.message_frames);
	/* No module decodes a signal of a frame the router decoded. */
	assert_int_equal(k.signal_decodes_in_feed, 0);
	/* ...and they did get their values. */
	assert_true(es.signal_events > 100);
	assert_true(live_events >= 3); /* first values, and the command on and off */
	fixture_client_close(&cl);
	simcar_stop(&s);
}

/* live.subscribe takes chain roles too: the profile says where the car shows them, the
 * events carry the role's value, label, unit and source. */
static void live_roles(void **state)
{
	struct simcar s;
	struct fixture_client cl;
	json_t *j;
	bool ajar_open = false, speed = false;

	simcar_start(&s, all_readers, NULL, true, true, NULL);
	assert_int_equal(fixture_client_open(&cl, s.sock), 0);
	/* a role the simulated car shows only by DID, and a name that is neither */
	assert_int_equal(fixture_client_send(&cl, "{\"v\":1,\"id\":1,\"method\":\"live.subscribe\","
						  "\"params\":{\"signals\":[\"ajar\","
						  "\"lockout_timer\"]}}"),
			 0);
	j = fixture_client_next(&cl, s.loop);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "not_found");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"),
								 "message")),
			       "role \"lockout_timer\": the profile shows it only by DID"));
	json_decref(j);
	assert_int_equal(fixture_client_send(&cl, "{\"v\":1,\"id\":2,\"method\":\"live.subscribe\","
						  "\"params\":{\"signals\":[\"trunk\"]}}"),
			 0);
	j = fixture_client_next(&cl, s.loop);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "not_found");
	json_decref(j);
	assert_int_equal(fixture_client_send(&cl, "{\"v\":1,\"id\":3,\"method\":\"live.subscribe\","
						  "\"params\":{\"signals\":[\"ajar\",\"speed\"]}}"),
			 0);
	j = fixture_client_next(&cl, s.loop);
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(json_object_get(j, "result"), "subscribed"), 0)),
	    "ajar");
	json_decref(j);
	simcar_run(&s, 2 * S);
	assert_int_equal(sim_model_key_blade(s.m), 0);
	simcar_run(&s, 1 * S);
	while ((j = fixture_client_next(&cl, s.loop))) {
		json_t *d = json_object_get(j, "data");
		const char *role = json_string_value(json_object_get(d, "role"));
		if (role && !strcmp(role, "ajar") &&
		    !strcmp(json_string_value(json_object_get(d, "label")), "open")) {
			ajar_open = true;
			assert_string_equal(json_string_value(json_object_get(d, "source")),
					    "BCM_TrunkStatus.TrunkAjar");
		}
		if (role && !strcmp(role, "speed")) {
			speed = true;
			assert_string_equal(json_string_value(json_object_get(d, "unit")), "km/h");
			assert_true(json_is_null(json_object_get(d, "label")) ||
				    !json_object_get(d, "label"));
		}
		json_decref(j);
	}
	assert_true(ajar_open);
	assert_true(speed);
	fixture_client_close(&cl);
	simcar_stop(&s);
}

/* The daemon path (router decodes, engine takes the samples) and the offline path
 * (engine_feed_frame decodes itself) give the engine the same events and findings. */
struct twin {
	struct simcar *s;
	struct engine *offline;
};

static void twin_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct twin *t = userdata;

	router_feed(t->s->c.router, f);
	assert_int_equal(engine_feed_frame(t->offline, f), 0);
}

static void same_answer_as_offline(void **state)
{
	static const struct module *const modules[] = {&router_module, &diagnosis_module, NULL};
	static const struct sim_runner_ops ops = {.frame = twin_frame};
	struct simcar s;
	struct twin t = {.s = &s};
	struct engine_config cfg;
	struct engine_stats a, b;
	struct engine *live;

	simcar_start(&s, modules, "latch_jammed", true, false, NULL);
	engine_config_init(&cfg);
	cfg.rules = vehicle_rules(s.c.vehicle);
	cfg.dbc = vehicle_dbc(s.c.vehicle);
	cfg.profile = vehicle_profile(s.c.vehicle);
	assert_int_equal(engine_new(&cfg, NULL, &t.offline), 0);
	sim_runner_free(s.runner);
	assert_int_equal(sim_runner_new(&(struct sim_runner_config){.model = s.m, .broadcast = s.bc},
					&ops, &t, &s.runner),
			 0);
	simcar_run(&s, 1 * S);
	live = diagnosis_engine(s.c.diagnosis);
	assert_int_equal(engine_mark(live, s.fc.now, "fob_trunk_pressed", 17), 0);
	assert_int_equal(engine_mark(t.offline, s.fc.now, "fob_trunk_pressed", 17), 0);
	assert_int_equal(sim_model_press(s.m, SIM_BUTTON_FOB_TRUNK, 0, 0, 0), 0);
	simcar_run(&s, 4 * S);
	engine_advance(live, s.fc.now);
	engine_advance(t.offline, s.fc.now);
	engine_stats(live, &a);
	engine_stats(t.offline, &b);
	assert_int_equal(a.signal_events, b.signal_events);
	assert_int_equal(a.decoded, b.decoded);
	assert_int_equal(a.transport_events, b.transport_events);
	assert_int_equal(engine_evaluate(live), engine_evaluate(t.offline));
	assert_string_equal(engine_finding_at(live, 0)->id, engine_finding_at(t.offline, 0)->id);
	assert_string_equal(engine_finding_at(live, 0)->id, "latch_jammed");
	engine_free(t.offline);
	simcar_stop(&s);
}

/* ---- exchanges ---- */

static void feed(struct simcar *s, uint32_t id, const uint8_t *data, uint8_t len, bool local)
{
	struct bd_timed_frame f = {.t_us = s->fc.now, .frame = {.id = id, .len = len}};

	memcpy(f.frame.data, data, len);
	if (local)
		f.frame.flags = BD_FRAME_LOCAL;
	router_feed(s->c.router, &f);
	s->fc.now += 500;
}

struct seen {
	unsigned exchanges[ROUTER_ORIGIN_MAX];
	char last_ecu[32];
	size_t last_req_len;
};

static void on_exchange(void *userdata, const struct router_exchange *x)
{
	struct seen *n = userdata;

	n->exchanges[x->origin]++;
	snprintf(n->last_ecu, sizeof(n->last_ecu), "%s", x->ecu_name);
	n->last_req_len = x->req_len;
}

static void exchanges_counted_once(void **state)
{
	static const struct module *const modules[] = {&router_module, &diagnosis_module, NULL};
	static const struct router_watch_ops ops = {.exchange = on_exchange};
	/* 0x19 02 FF and its answer: B1A40-13 status 0x2F, single frames, padding 0xAA */
	static const uint8_t req[] = {0x03, 0x19, 0x02, 0xff, 0xaa, 0xaa, 0xaa, 0xaa};
	static const uint8_t resp[] = {0x07, 0x59, 0x02, 0x7f, 0x9a, 0x40, 0x13, 0x2f};
	static const uint8_t obd_req[] = {0x02, 0x01, 0x0d, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
	static const uint8_t obd_resp[] = {0x03, 0x41, 0x0d, 0x00, 0xaa, 0xaa, 0xaa, 0xaa};
	struct router_exchange own = {
		.origin = ROUTER_ORIGIN_DAEMON, .ecu = 0, .ecu_name = "bcm", .req = req + 1,
		.req_len = 3, .outcome = UDS_BROKER_RESPONSE, .resp = resp + 1, .resp_len = 7,
	};
	struct seen n = {0};
	struct router_watch *w;
	struct engine_stats es;
	struct simcar s;

	simcar_start(&s, modules, NULL, true, false, NULL);
	assert_int_equal(router_watch_new(s.c.router, &ops, &n, &w), 0);

	/* Our own request: the broker publishes it; its frames, looped back, do not count. */
	feed(&s, 0x726, req, 8, true);
	feed(&s, 0x72e, resp, 8, false);
	own.t_us = s.fc.now;
	router_publish_exchange(s.c.router, &own);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_DAEMON], 1);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 0);
	engine_stats(diagnosis_engine(s.c.diagnosis), &es);
	assert_int_equal(es.pdus, 1);
	assert_int_equal(es.dtc_events, 1);

	/* A shop tool on the bus asking the BCM the same: published once, from the bus. */
	feed(&s, 0x726, req, 8, false);
	feed(&s, 0x72e, resp, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 1);
	assert_string_equal(n.last_ecu, "bcm");
	assert_int_equal(n.last_req_len, 3);
	engine_stats(diagnosis_engine(s.c.diagnosis), &es);
	assert_int_equal(es.pdus, 2);
	/* the same status again is no new DTC event, but the exchange was taken */
	assert_int_equal(es.dtc_events, 1);

	/* A 0x78 is not the answer: the exchange completes with the final response. */
	feed(&s, 0x726, req, 8, false);
	feed(&s, 0x72e, (const uint8_t[]){0x03, 0x7f, 0x19, 0x78, 0xaa, 0xaa, 0xaa, 0xaa}, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 1);
	feed(&s, 0x72e, resp, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 2);

	/* Functional requests: ours (looped back) stay the broker's, another tester's are
	 * published with the functional request as theirs. */
	feed(&s, 0x7df, obd_req, 8, true);
	feed(&s, 0x7e8, obd_resp, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 2);
	feed(&s, 0x7df, obd_req, 8, false);
	feed(&s, 0x7e8, obd_resp, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 3);
	assert_string_equal(n.last_ecu, "obd");
	assert_int_equal(n.last_req_len, 2);

	router_watch_free(w);
	simcar_stop(&s);
}

/* The simulator's profile with its [ecu bcm] at extended addressing behind 0x750 -> 0x758
 * (target byte 0x40 both ways), in a file of its own. */
static const char *extended_profile(void)
{
	static const char ids[] = "request = 0x726          ; physical request id\nresponse = 0x72E\n";
	static char path[] = "/tmp/bodydiag-router-ext-XXXXXX";
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char src[1024], text[1 << 16];
	FILE *f;
	size_t n;
	int fd;

	snprintf(src, sizeof(src), "%s/profiles/sim-2026.profile", root ? root : ".");
	f = fopen(src, "re");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *at = strstr(text, ids);
	assert_non_null(at);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fwrite(text, 1, (size_t)(at - text), f);
	fputs("addressing = extended\nrequest = 0x750\nresponse = 0x758\ntarget = 0x40\n", f);
	fputs(at + strlen(ids), f);
	fclose(f);
	return path;
}

static void extended_addressing_observed(void **state)
{
	static const struct module *const modules[] = {&router_module, &diagnosis_module, NULL};
	static const struct router_watch_ops ops = {.exchange = on_exchange};
	/* 0x19 02 FF and its answer with the target byte 0x40 in front, padding 0xAA */
	static const uint8_t req[] = {0x40, 0x03, 0x19, 0x02, 0xff, 0xaa, 0xaa, 0xaa};
	static const uint8_t resp[] = {0x40, 0x07, 0x59, 0x02, 0x7f, 0x9a, 0x40, 0x13};
	static const uint8_t other[] = {0x41, 0x03, 0x19, 0x02, 0xff, 0xaa, 0xaa, 0xaa};
	const char *path = extended_profile();
	struct seen n = {0};
	struct router_watch *w;
	struct engine_stats es;
	struct simcar s;

	simcar_profile_path = path;
	simcar_start(&s, modules, NULL, true, false, NULL);
	simcar_profile_path = NULL;
	assert_int_equal(router_watch_new(s.c.router, &ops, &n, &w), 0);
	/* an ECU at another target byte behind the same gateway: not the BCM's exchange */
	feed(&s, 0x750, other, 8, false);
	feed(&s, 0x758, (const uint8_t[]){0x41, 0x03, 0x7f, 0x19, 0x11, 0xaa, 0xaa, 0xaa}, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 0);
	feed(&s, 0x750, req, 8, false);
	feed(&s, 0x758, resp, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 0); /* 6 of 7 bytes: a segmented answer */
	/* the whole answer as the ECU would segment it: FF (7 bytes), FC from the tester, CF */
	feed(&s, 0x750, req, 8, false);
	feed(&s, 0x758, (const uint8_t[]){0x40, 0x10, 0x07, 0x59, 0x02, 0x7f, 0x9a, 0x40}, 8, false);
	feed(&s, 0x750, (const uint8_t[]){0x40, 0x30, 0x00, 0x00, 0xaa, 0xaa, 0xaa, 0xaa}, 8, false);
	feed(&s, 0x758, (const uint8_t[]){0x40, 0x21, 0x13, 0x2f, 0xaa, 0xaa, 0xaa, 0xaa}, 8, false);
	assert_int_equal(n.exchanges[ROUTER_ORIGIN_BUS], 1);
	assert_string_equal(n.last_ecu, "bcm");
	assert_int_equal(n.last_req_len, 3);
	engine_stats(diagnosis_engine(s.c.diagnosis), &es);
	assert_int_equal(es.dtc_events, 1);
	router_watch_free(w);
	simcar_stop(&s);
	unlink(path);
}

/* ---- error frames ---- */

static void error_frames_reach_the_engine(void **state)
{
	static const struct module *const modules[] = {&router_module, &diagnosis_module, NULL};
	struct simcar s;
	struct engine_stats es;
	struct router_stats rs;

	simcar_start(&s, modules, NULL, true, false, NULL);
	/* A burst of 20 error frames 100 µs apart (bit errors: class 0x08), then bus-off. */
	for (int i = 0; i < 20; i++) {
		struct bd_timed_frame f = {.t_us = s.fc.now, .frame = {.id = 0x08, .flags = BD_FRAME_ERR, .len = 8}};
		router_feed(s.c.router, &f);
		s.fc.now += 100;
	}
	s.fc.now += 5000;
	for (int i = 0; i < 3; i++) {
		struct bd_timed_frame f = {.t_us = s.fc.now, .frame = {.id = 0x08, .flags = BD_FRAME_ERR, .len = 8}};
		router_feed(s.c.router, &f);
		s.fc.now += 2000;
	}
	router_feed(s.c.router, &(struct bd_timed_frame){
		.t_us = s.fc.now, .frame = {.id = ROUTE_CAN_ERR_BUSOFF, .flags = BD_FRAME_ERR, .len = 8}});
	router_get_stats(s.c.router, &rs);
	engine_stats(diagnosis_engine(s.c.diagnosis), &es);
	assert_int_equal(rs.by_kind[ROUTE_ERROR], 24);
	/* the burst counts at most once per millisecond: 2 + 3 error_frame events, 1 bus-off */
	assert_int_equal(es.transport_events, 6);
	simcar_stop(&s);
}

/* ---- watches ---- */

struct self_freeing {
	struct router_watch *w;
	unsigned calls;
};

static void free_myself(void *userdata, const struct router_frame *f)
{
	struct self_freeing *sf = userdata;

	sf->calls++;
	sf->w = router_watch_free(sf->w);
}

static void watches(void **state)
{
	static const struct router_watch_ops ops = {.frame = free_myself};
	struct self_freeing a = {0}, b = {0};
	struct router *r;
	struct vehicle *v = simcar_vehicle(false), *other = simcar_vehicle(false);
	struct bd_timed_frame f = {.t_us = 1, .frame = {.id = 0x3a0, .len = 8}};
	struct router_stats st;

	assert_int_equal(router_new(&r), 0);
	assert_int_equal(router_set_vehicle(r, v), 0);
	assert_int_equal(router_watch_new(r, &ops, &a, &a.w), 0);
	assert_int_equal(router_watch_new(r, &ops, &b, &b.w), 0);
	/* Wants of another snapshot do not make the router decode. */
	assert_int_equal(router_watch_want(b.w, other, 0, true), 0);
	assert_int_equal(router_watch_want(b.w, other, 100000, true), -EINVAL);
	router_feed(r, &f);
	router_feed(r, &f);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	router_get_stats(r, &st);
	assert_int_equal(st.frames, 2);
	assert_int_equal(st.decodes, 0);
	assert_int_equal(router_publish_mark(r, 5, "", NULL), -EINVAL);
	router_free(r);
	vehicle_unref(v);
	vehicle_unref(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_once_per_frame),
		cmocka_unit_test(live_roles),
		cmocka_unit_test(same_answer_as_offline),
		cmocka_unit_test(exchanges_counted_once),
		cmocka_unit_test(extended_addressing_observed),
		cmocka_unit_test(error_frames_reach_the_engine),
		cmocka_unit_test(watches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
