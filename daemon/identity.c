/* SPDX-License-Identifier: MIT */
#include "identity.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/isotp.h"
#include "bodydiag/obd.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "bodydiag/vin.h"
#include "core.h"
#include "daemon-build.h"
#include "discovery.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "records.h"
#include "router.h"
#include "vehicle.h"

enum identity_state {
	IDENTITY_WAITING,   /* nothing known yet */
	IDENTITY_READING,   /* a VIN read runs */
	IDENTITY_NO_ANSWER, /* reads gave no VIN */
	IDENTITY_INVALID,   /* only VINs that fail the check were seen */
	IDENTITY_KNOWN,	    /* a valid VIN (profile configured, or auto with its profile) */
	IDENTITY_NO_MATCH,  /* auto: no installed profile for the VIN */
	IDENTITY_STATE_MAX,
};

/* Passive observers of the OBD ids, whatever the profile says (there may be none yet):
 * 0x7E0+n -> 0x7E8+n and 0x18DA<n>F1 -> 0x18DAF1<n> (ISO 15765-4), where a tester's VIN
 * read (mode 09 PID 02, or F190) is answered. */
#define PASSIVE_MAX 16

struct passive {
	uint32_t req_id, resp_id;
	bool ext;
	struct isotp_observer *o;
};

struct identity {
	struct core *c;
	struct passive passive[PASSIVE_MAX];
	size_t n_passive;
	struct router_watch *watch;
	struct timer tick;   /* the next VIN read attempt (profile = auto) */
	struct timer reload; /* the chosen profile loaded outside any callback */
	struct discovery_run *run;
	bool holding; /* POLICY_IDENTIFY */
	unsigned attempts;
	int64_t next_attempt_us;
	enum identity_state state;
	char text[200];
	char vin[VIN_LENGTH + 1];
	struct vin_info info;
	char source[48];
	char bad[VIN_LENGTH + 16]; /* the last VIN refused, as read */
	char chosen[PATH_MAX];	   /* profile = auto: the profile the VIN chose, "" none */
	char unit_id[64];
};

static bool automatic(const struct identity *id)
{
	return strcmp(id->c->cfg.data.profile, CONFIG_PROFILE_AUTO) == 0;
}

/* The unit's id as status shows it; "unknown" when there is no [fleet] unit_id and no
 * machine id (a unit still works without one: only the forwarder needs it). */
static int unit_id(struct identity *id)
{
	int r = config_unit_id(&id->c->cfg, NULL, id->unit_id, sizeof(id->unit_id));

	if (r < 0)
		snprintf(id->unit_id, sizeof(id->unit_id), "unknown");
	return r;
}

static void say(struct identity *id, enum identity_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct identity *id, enum identity_state s, const char *fmt, ...)
{
	va_list ap;

	id->state = s;
	va_start(ap, fmt);
	vsnprintf(id->text, sizeof(id->text), fmt, ap);
	va_end(ap);
}

const char *identity_profile(const struct identity *id)
{
	return id && id->chosen[0] ? id->chosen : NULL;
}

/* ---- the profile a VIN chooses ---- */

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The installed profile whose wmi matches vin best into path; 0, -ENOENT (none), -errno. */
static int choose_profile(const struct identity *id, const char *vin, char *path, size_t size)
{
	const char *dir = id->c->cfg.data.profile_dir[0] ? id->c->cfg.data.profile_dir
							 : BODYDIAG_DATADIR "/profiles";
	struct dirent **names = NULL;
	unsigned best = 0;
	int n = scandir(dir, &names, NULL, by_name), r = -ENOENT;

	if (n < 0) {
		r = -errno;
		log_warning_errno(-r, "profile = auto: %s", dir);
		return r;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char file[PATH_MAX];
		struct profile *p = NULL;
		struct profile_error err;
		unsigned m;

		if (len < 9 || strcmp(name + len - 8, ".profile") != 0 ||
		    (size_t)snprintf(file, sizeof(file), "%s/%s", dir, name) >= sizeof(file))
			continue;
		if (profile_load(file, &p, &err) < 0) {
			char text[512];

			profile_error_format(&err, text, sizeof(text));
			log_warning("profile = auto: skipped %s", text);
			continue;
		}
		m = profile_vin_match(p, vin);
		if (m > best) {
			best = m;
			snprintf(path, size, "%s", file);
			r = 0;
		} else if (m && m == best) {
			log_notice("profile = auto: %s claims %.*s too; %s (first by name) kept",
				   file, (int)m, vin, path);
		}
		profile_free(p);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static void on_reload(struct timer *t)
{
	struct identity *id = container_of(t, struct identity, reload);
	struct core *c = id->c;
	struct config cfg = c->cfg;
	struct vehicle *v;

	if (!id->chosen[0])
		return;
	if (vehicle_load_profile(&cfg, id->chosen, &v) < 0) {
		say(id, IDENTITY_NO_MATCH, "VIN %s: %s does not load (see the log): passive",
		    id->vin, id->chosen);
		id->chosen[0] = '\0';
		return;
	}
	log_info("profile = auto: VIN %s chose %s", id->vin, id->chosen);
	core_set_vehicle(c, &cfg, v);
	vehicle_unref(v);
}

/* ---- learning the VIN ---- */

static void learn(struct identity *id, const char *vin, size_t len, const char *source)
{
	struct vin_info info;
	char path[PATH_MAX];
	const char *maker;
	int r;

	if (vin_parse(vin, len, &info) < 0) {
		/* reported, never used; one good VIN from another ECU still wins */
		snprintf(id->bad, sizeof(id->bad), "%.*s", (int)(len < VIN_LENGTH + 8 ? len : 24),
			 vin);
		log_notice("VIN \"%s\" (%s) not used: %s", id->bad, source, info.reason);
		if (id->state != IDENTITY_KNOWN && id->state != IDENTITY_NO_MATCH)
			say(id, IDENTITY_INVALID, "VIN \"%s\" (%s) not used: %s", id->bad, source,
			    info.reason);
		return;
	}
	if (!strcmp(info.vin, id->vin))
		return;
	snprintf(id->vin, sizeof(id->vin), "%s", info.vin);
	snprintf(id->source, sizeof(id->source), "%s", source);
	id->info = info;
	maker = info.maker ? info.maker->brand : "maker not in the WMI table";
	log_info("vehicle VIN %s (%s): %s, model year %d", info.vin, source, maker,
		 info.model_year);
	records_set_vin(id->c->records, info.vin);
	if (!automatic(id)) {
		say(id, IDENTITY_KNOWN, "VIN %s (%s), %s", info.vin, source, maker);
		return;
	}
	r = choose_profile(id, info.vin, path, sizeof(path));
	if (r < 0) {
		id->chosen[0] = '\0';
		say(id, IDENTITY_NO_MATCH,
		    "VIN %s (%s, WMI %s): no installed profile has wmi = %s; passive (no profile)",
		    info.vin, maker, info.wmi, info.wmi);
		log_notice("profile = auto: %s", id->text);
		return;
	}
	snprintf(id->chosen, sizeof(id->chosen), "%s", path);
	say(id, IDENTITY_KNOWN, "VIN %s (%s, %s): profile %s", info.vin, source, maker, path);
	if (!vehicle_profile_path(id->c->vehicle) ||
	    strcmp(vehicle_profile_path(id->c->vehicle), path) != 0)
		timer_start(&id->reload, 0);
}

/* A VIN in an exchange anybody made: 0x62 F1 90 ... or OBD 0x49 0x02 ... */
static void on_exchange(void *userdata, const struct router_exchange *x)
{
	struct identity *id = userdata;
	const uint8_t *p = x->resp;
	size_t n = x->resp_len;
	const char *source =
	    x->origin == ROUTER_ORIGIN_BUS ? "seen on the bus" : "read through the daemon";

	if (x->outcome != UDS_BROKER_RESPONSE || !p || n < 3)
		return;
	if (p[0] == UDS_SID_READ_DATA_BY_IDENTIFIER + UDS_POSITIVE_OFFSET && p[1] == 0xF1 &&
	    p[2] == 0x90) {
		/* ECUs pad their VIN at either end with 0x00, 0xFF or blanks */
		size_t a = 3, b = n;

		while (a < b && (p[a] == 0 || p[a] == 0xFF || p[a] == ' '))
			a++;
		while (b > a && (p[b - 1] == 0 || p[b - 1] == 0xFF || p[b - 1] == ' '))
			b--;
		if (b > a)
			learn(id, (const char *)p + a, b - a, source);
		return;
	}
	if (p[0] == 0x49 && p[1] == 0x02) {
		struct obd_vin v;

		if (obd_parse_vin(p, n, &v) >= 0)
			learn(id, v.vin, strlen(v.vin), source);
	}
}

/* A response PDU the passive observers reassembled. */
static void on_passive_pdu(void *userdata, enum isotp_dir dir, const uint8_t *pdu, size_t len,
			   int64_t t_first_us, int64_t t_last_us)
{
	struct identity *id = userdata;
	struct router_exchange x = {.origin = ROUTER_ORIGIN_BUS,
				    .outcome = UDS_BROKER_RESPONSE,
				    .resp = pdu,
				    .resp_len = len,
				    .t_us = t_last_us};

	if (dir == ISOTP_DIR_RESPONSE)
		on_exchange(id, &x);
	(void)t_first_us;
}

/* The observer of the OBD pair a frame belongs to, made at its first response; NULL when
 * the frame is on no OBD id (or all PASSIVE_MAX are taken). */
static struct passive *passive_for(struct identity *id, const struct bd_frame *f)
{
	static const struct isotp_observer_ops ops = {.pdu = on_passive_pdu};
	bool ext = f->flags & BD_FRAME_EXT;
	uint32_t req, resp;
	struct isotp_observer_config oc;
	struct passive *p;

	for (size_t i = 0; i < id->n_passive; i++) {
		p = &id->passive[i];
		if (p->ext == ext && (f->id == p->req_id || f->id == p->resp_id))
			return p;
	}
	if (!ext && f->id >= 0x7E8 && f->id <= 0x7EF) {
		resp = f->id;
		req = f->id - 8;
	} else if (ext && (f->id & 0x1FFFFF00u) == 0x18DAF100u) {
		resp = f->id;
		req = 0x18DA00F1u | (f->id & 0xFFu) << 8;
	} else {
		return NULL;
	}
	if (id->n_passive == PASSIVE_MAX)
		return NULL;
	p = &id->passive[id->n_passive];
	isotp_observer_config_init(&oc, req, resp);
	oc.ext_ids = ext;
	if (isotp_observer_new(&oc, &ops, id, &p->o) < 0)
		return NULL;
	p->req_id = req;
	p->resp_id = resp;
	p->ext = ext;
	id->n_passive++;
	return p;
}

static void on_frame(void *userdata, const struct router_frame *f)
{
	struct identity *id = userdata;
	const struct bd_frame *fr = &f->tf->frame;
	struct passive *p;

	/* Once the VIN is known, nothing more to look for; our own frames are no news, nor
	 * are the answers to our own VIN read (the run reports those). */
	if (id->vin[0] || id->run || f->local || (fr->flags & (BD_FRAME_ERR | BD_FRAME_RTR)))
		return;
	p = passive_for(id, fr);
	if (p)
		isotp_observer_feed(p->o, fr, f->tf->t_us);
}

/* ---- the read at attach ---- */

static void run_done(void *userdata, struct discovery_run *run)
{
	struct identity *id = userdata;
	const struct discover *d = discovery_run_plan(run);
	bool any = false;

	for (size_t i = 0; i < discover_ecu_count(d); i++) {
		const struct discover_ecu *e = discover_ecu_at(d, i);
		static const enum discover_ident_id ids[] = {DISCOVER_ID_OBD_VIN, DISCOVER_ID_VIN};

		for (size_t k = 0; k < ARRAY_SIZE(ids); k++) {
			const struct discover_ident *x = &e->ident[ids[k]];
			char text[3 * DISCOVER_IDENT_BYTES + 8];

			if (x->state != DISCOVER_IDENT_OK)
				continue;
			any = true;
			discover_ident_format(x, text, sizeof(text));
			learn(id, text, strlen(text),
			      ids[k] == DISCOVER_ID_OBD_VIN ? "read at attach, OBD mode 09"
							    : "read at attach, F190");
		}
	}
	id->run = discovery_run_free(id->run);
	policy_end(id->c->policy, POLICY_IDENTIFY);
	id->holding = false;
	id->attempts++;
	id->next_attempt_us = clock_now(&id->c->clock) + IDENTITY_RETRY_US;
	if (!id->vin[0] && id->state != IDENTITY_INVALID)
		say(id, IDENTITY_NO_ANSWER, "no ECU answered the VIN read (attempt %u of %u)%s",
		    id->attempts, IDENTITY_ATTEMPTS,
		    any ? "" : ": no answer to OBD mode 09 nor to F190");
}

static void on_tick(struct timer *t)
{
	struct identity *id = container_of(t, struct identity, tick);
	struct discover_config cfg;
	char why[192];
	int r;

	timer_start(&id->tick, 1000000);
	if (!automatic(id) || id->vin[0] || id->run)
		return;
	if (config_never_transmit(&id->c->cfg)) {
		if (id->state == IDENTITY_WAITING)
			say(id, IDENTITY_WAITING,
			    "listen-only: the VIN is not read; waiting to see it on the bus "
			    "(another "
			    "tester's read), passive meanwhile");
		return;
	}
	if (id->attempts >= IDENTITY_ATTEMPTS || clock_now(&id->c->clock) < id->next_attempt_us)
		return;
	if (policy_begin(id->c->policy, POLICY_IDENTIFY, why, sizeof(why)) != POLICY_GO) {
		if (id->state == IDENTITY_WAITING)
			say(id, IDENTITY_WAITING, "VIN not read yet: %s", why);
		return;
	}
	id->holding = true;
	discover_config_init(&cfg);
	cfg.n_ranges = 2;
	discover_range_parse("functional", 10, &cfg.ranges[0], NULL, 0);
	discover_range_parse("functional29", 12, &cfg.ranges[1], NULL, 0);
	cfg.ident_only = DISCOVER_IDENT_ONLY_VIN;
	cfg.rate = 10;
	cfg.quiet_us = 300000;
	cfg.max_time_us = 15000000;
	r = discovery_run_new(id->c, &cfg, run_done, id, &id->run);
	if (r < 0) {
		policy_end(id->c->policy, POLICY_IDENTIFY);
		id->holding = false;
		id->attempts++;
		id->next_attempt_us = clock_now(&id->c->clock) + IDENTITY_RETRY_US;
		say(id, IDENTITY_NO_ANSWER, "the VIN read cannot start: %s", strerror(-r));
		return;
	}
	say(id, IDENTITY_READING, "reading the VIN (OBD mode 09, F190), attempt %u of %u",
	    id->attempts + 1, IDENTITY_ATTEMPTS);
}

void identity_bus_event(struct identity *id, bool attached)
{
	if (!id || !attached)
		return;
	/* a new attachment: maybe another car (a fleet unit moved); read again */
	id->attempts = 0;
	id->next_attempt_us = 0;
}

json_t *identity_status_json(const struct identity *id)
{
	static const char *const states[IDENTITY_STATE_MAX] = {
	    [IDENTITY_WAITING] = "waiting",	[IDENTITY_READING] = "reading",
	    [IDENTITY_NO_ANSWER] = "no_answer", [IDENTITY_INVALID] = "invalid",
	    [IDENTITY_KNOWN] = "known",		[IDENTITY_NO_MATCH] = "no_profile",
	};
	const struct vin_info *v = &id->info;

	return json_pack(
	    "{s:s?,s:s?,s:s?,s:s?,s:o,s:s,s:s?,s:s,s:s,s:s}", "vin", id->vin[0] ? id->vin : NULL,
	    "source", id->vin[0] ? id->source : NULL, "wmi", id->vin[0] ? v->wmi : NULL, "maker",
	    id->vin[0] && v->maker ? v->maker->brand : NULL, "model_year",
	    id->vin[0] && v->model_year ? json_integer(v->model_year) : json_null(), "profile",
	    automatic(id) ? "auto" : "configured", "chosen", id->chosen[0] ? id->chosen : NULL,
	    "state", states[id->state], "text", id->text, "unit_id", id->unit_id);
}

/* ---- the module ---- */

static int identity_new(struct core *c)
{
	static const struct router_watch_ops ops = {.exchange = on_exchange, .frame = on_frame};
	struct identity *id = calloc(1, sizeof(*id));
	int r;

	if (!id)
		return -ENOMEM;
	id->c = c;
	c->identity = id;
	timer_init(&id->tick, &c->clock, on_tick);
	timer_init(&id->reload, &c->clock, on_reload);
	r = unit_id(id);
	if (r < 0)
		log_notice("no machine id (%s) and no [fleet] unit_id: this unit is \"%s\"",
			   strerror(-r), id->unit_id);
	say(id, IDENTITY_WAITING, "%s",
	    automatic(id) ? "waiting for the bus to read the VIN" : "VIN not seen yet");
	r = router_watch_new(c->router, &ops, id, &id->watch);
	if (r < 0)
		return r;
	timer_start(&id->tick, 200000);
	return 0;
}

static void identity_set_vehicle(struct core *c, struct vehicle *v)
{
	struct identity *id = c->identity;

	(void)unit_id(id);
	/* A reload of profile = auto loads no profile by itself: the chosen one again. */
	if (automatic(id) && id->chosen[0] &&
	    (!vehicle_profile_path(v) || strcmp(vehicle_profile_path(v), id->chosen) != 0))
		timer_start(&id->reload, 0);
}

static void identity_free(struct core *c)
{
	struct identity *id = c->identity;

	if (!id)
		return;
	timer_stop(&id->tick);
	timer_stop(&id->reload);
	discovery_run_free(id->run);
	if (id->holding)
		policy_end(c->policy, POLICY_IDENTIFY);
	router_watch_free(id->watch);
	for (size_t i = 0; i < id->n_passive; i++)
		isotp_observer_free(id->passive[i].o);
	free(id);
	c->identity = NULL;
}

const struct module identity_module = {
    .name = "vehicle identity",
    .new = identity_new,
    .set_vehicle = identity_set_vehicle,
    .free = identity_free,
};
