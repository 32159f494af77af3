/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "uds_server.h"

#define MS 1000LL

/* ISO 14229-1 SIDs and NRCs used here. */
enum {
	SID_SESSION = 0x10,
	SID_CLEAR = 0x14,
	SID_RDTCI = 0x19,
	SID_RDBI = 0x22,
	SID_SECURITY = 0x27,
	SID_IOCBI = 0x2F,
	SID_ROUTINE = 0x31,
	SID_TESTER_PRESENT = 0x3E,
	SID_NEGATIVE = 0x7F,
};

enum {
	NRC_SNS = 0x11,    /* serviceNotSupported */
	NRC_SFNS = 0x12,   /* subFunctionNotSupported */
	NRC_IMLOIF = 0x13, /* incorrectMessageLengthOrInvalidFormat */
	NRC_BRR = 0x21,    /* busyRepeatRequest */
	NRC_CNC = 0x22,    /* conditionsNotCorrect */
	NRC_RSE = 0x24,    /* requestSequenceError */
	NRC_ROOR = 0x31,   /* requestOutOfRange */
	NRC_SAD = 0x33,    /* securityAccessDenied */
	NRC_IK = 0x35,     /* invalidKey */
	NRC_ENOA = 0x36,   /* exceededNumberOfAttempts */
	NRC_RTDNE = 0x37,  /* requiredTimeDelayNotExpired */
	NRC_RCRRP = 0x78,  /* requestCorrectlyReceived-ResponsePending */
	NRC_SFNSIAS = 0x7E, /* subFunctionNotSupportedInActiveSession */
	NRC_SNSIAS = 0x7F, /* serviceNotSupportedInActiveSession */
};

#define SESSION_DEFAULT 0x01
#define SESSION_EXTENDED 0x03
/* 0x14 writes fault memory (EEPROM): longer than P2, so 0x78 first. */
#define CLEAR_US (300 * MS)
#define SELFTEST_US (1500 * MS)
#define SECURITY_DELAY_US (10000 * MS)
#define SECURITY_ATTEMPTS 3
#define MAX_DIDS_PER_REQUEST 8
#define SYSTEM_NAME "Body Control Module" /* DID 0xF197 */
/* ISO 14229-1 DTCFormatIdentifier 0x01: ISO_14229-1_DTCFormat. */
#define DTC_FORMAT 0x01

struct sim_uds {
	struct sim_model *m;
	char vin[18], part[11], serial[13];
	uint64_t rng;
	uint8_t session;
	int64_t last_request;
	bool unlocked;
	uint32_t seed;
	bool seed_sent;
	unsigned bad_keys;
	int64_t locked_until;
	bool output_active;
	/* a slow service in progress: its final response */
	bool pending;
	int64_t pending_at;
	uint8_t pending_resp[16];
	size_t pending_len;
	uint32_t pending_clear; /* 0x14 group, applied when the response is due */
	bool pending_is_clear;
	/* self-test */
	enum { SELFTEST_NONE, SELFTEST_RUNNING, SELFTEST_DONE } selftest;
	uint8_t selftest_result, selftest_output;
};

void sim_uds_config_init(struct sim_uds_config *cfg)
{
	/* VIN check digit (position 9) computed per 49 CFR 565; the WMI "1BD" is fictitious. */
	*cfg = (struct sim_uds_config){
		.vin = "1BDSM2AT5TR000042",
		.part_number = "BD26BCM001",
		.serial = "SIM260000042",
	};
}

int sim_uds_new(struct sim_model *m, const struct sim_uds_config *cfg, struct sim_uds **ret)
{
	struct sim_uds_config defaults;
	struct sim_uds *u;

	if (!cfg) {
		sim_uds_config_init(&defaults);
		cfg = &defaults;
	}
	if (!cfg->vin || strlen(cfg->vin) != 17 || !cfg->part_number ||
	    strlen(cfg->part_number) != 10 || !cfg->serial || strlen(cfg->serial) != 12)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->m = m;
	memcpy(u->vin, cfg->vin, 17);
	memcpy(u->part, cfg->part_number, 10);
	memcpy(u->serial, cfg->serial, 12);
	u->rng = 0x5EED5EEDull;
	u->session = SESSION_DEFAULT;
	*ret = u;
	return 0;
}

struct sim_uds *sim_uds_free(struct sim_uds *u)
{
	free(u);
	return NULL;
}

uint8_t sim_uds_session(const struct sim_uds *u)
{
	return u->session;
}

uint32_t sim_uds_key_for_seed(uint32_t seed)
{
	uint32_t x = seed ^ 0x5A3C96E1u;
	return ((x << 7) | (x >> 25)) + 0x1F2E3D4Cu;
}

static uint32_t rng32(struct sim_uds *u)
{
	uint64_t z = (u->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (uint32_t)((z ^ (z >> 31)) >> 16);
}

/* --- response building ------------------------------------------------------------ */
struct out {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, uint8_t b)
{
	if (o->len < o->cap)
		o->p[o->len++] = b;
	else
		o->overflow = true;
}

static void put16(struct out *o, unsigned v)
{
	put(o, (uint8_t)(v >> 8));
	put(o, (uint8_t)v);
}

static void put24(struct out *o, uint32_t v)
{
	put(o, (uint8_t)(v >> 16));
	put16(o, v & 0xFFFF);
}

static void put32(struct out *o, uint32_t v)
{
	put16(o, v >> 16);
	put16(o, v & 0xFFFF);
}

/* Physical value to a big-endian unsigned raw value, saturated to the field. */
static void put_scaled(struct out *o, double v, double factor, double offset, unsigned bytes)
{
	double raw = round((v - offset) / factor);
	double max = bytes == 1 ? 255.0 : 65535.0;

	if (!(raw >= 0.0))
		raw = 0.0;
	if (raw > max)
		raw = max;
	if (bytes == 1)
		put(o, (uint8_t)raw);
	else
		put16(o, (unsigned)raw);
}

static void negative(struct out *o, uint8_t sid, uint8_t nrc)
{
	o->len = 0;
	o->overflow = false;
	put(o, SID_NEGATIVE);
	put(o, sid);
	put(o, nrc);
}

/* --- DIDs (profiles/sim-2026.profile) ----------------------------------------------- */
static bool put_did(const struct sim_uds *u, uint16_t did, struct out *o)
{
	const struct sim_signals *s = sim_model_signals(u->m);

	switch (did) {
	case 0xD100: put(o, (uint8_t)s->release_request); return true;
	case 0xD101: put(o, s->actuator_cmd); return true;
	case 0xD102: put_scaled(o, s->actuator_current_a, 0.01, 0, 2); return true;
	case 0xD103: put(o, s->ajar); return true;
	case 0xD104: put(o, (uint8_t)s->inhibit); return true;
	case 0xD105: put(o, s->interior_switch); return true;
	case 0xD106: put(o, s->exterior_switch); return true;
	case 0xD107: put_scaled(o, s->fuse_v, 0.01, 0, 2); return true;
	case 0xD108: put_scaled(o, s->lockout_remaining_ms / 1000.0, 0.1, 0, 2); return true;
	case 0xD109: put(o, (uint8_t)s->output_status); return true;
	case 0xD10A: put_scaled(o, s->speed_kmh, 0.01, 0, 2); return true;
	case 0xD10B: put(o, (uint8_t)s->gear); return true;
	case 0xD10C: put(o, (uint8_t)s->ignition); return true;
	case 0xD10D: put_scaled(o, s->battery_v, 0.01, 0, 2); return true;
	case 0xD10E: put(o, (uint8_t)s->lock_state); return true;
	case 0xD10F: put(o, (uint8_t)s->perimeter_alarm); return true;
	case 0xD110: put(o, (uint8_t)s->rke_button); return true;
	case 0xD111: put_scaled(o, s->rke_rssi_dbm, 1, -150, 1); return true;
	case 0xD112: put(o, s->rke_battery_low); return true;
	case 0xD113: put(o, (uint8_t)s->last_fob); return true;
	case 0xD114: put(o, s->rke_telegram_counter); return true;
	case 0xD115: put(o, (uint8_t)s->rke_telegram_status); return true;
	case 0xD116: put(o, s->valet); return true;
	case 0xD117: put_scaled(o, s->bcm_supply_v, 0.01, 0, 2); return true;
	case 0xD118: put(o, (uint8_t)s->fob_count); return true;
	case 0xD119: put(o, s->fob_programmed_mask); return true;
	case 0xD11A: put(o, s->fob_trunk_enabled_mask); return true;
	case 0xD11B: put(o, s->fob_battery_low_mask); return true;
	case 0xF190:
		for (unsigned i = 0; i < 17; i++)
			put(o, (uint8_t)u->vin[i]);
		return true;
	case 0xF187:
		for (unsigned i = 0; i < 10; i++)
			put(o, (uint8_t)u->part[i]);
		return true;
	case 0xF18C:
		for (unsigned i = 0; i < 12; i++)
			put(o, (uint8_t)u->serial[i]);
		return true;
	case 0xF197: /* systemNameOrEngineType: what discovery guesses the role from */
		for (const char *n = SYSTEM_NAME; *n; n++)
			put(o, (uint8_t)*n);
		return true;
	default:
		return false;
	}
}

static void read_dids(struct sim_uds *u, const uint8_t *req, size_t len, struct out *o)
{
	size_t supported = 0;

	if (len < 3 || (len - 1) % 2 != 0 || (len - 1) / 2 > MAX_DIDS_PER_REQUEST) {
		negative(o, SID_RDBI, NRC_IMLOIF);
		return;
	}
	put(o, SID_RDBI + 0x40);
	for (size_t i = 1; i + 1 < len; i += 2) {
		uint16_t did = (uint16_t)(req[i] << 8 | req[i + 1]);
		size_t mark = o->len;
		put16(o, did);
		if (put_did(u, did, o))
			supported++;
		else
			o->len = mark; /* unsupported DIDs are left out of a mixed request */
	}
	if (supported == 0)
		negative(o, SID_RDBI, NRC_ROOR);
}

/* --- 0x19 --------------------------------------------------------------------------- */
static const struct sim_dtc *dtc_by_code(const struct sim_uds *u, uint32_t code)
{
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++)
		if (sim_dtc_code((enum sim_dtc_id)i) == code)
			return sim_model_dtc(u->m, (enum sim_dtc_id)i);
	return NULL;
}

/* Snapshot record: 5 DIDs of the profile, the values when the DTC failed. */
static void put_snapshot(struct out *o, uint8_t number, const struct sim_dtc_snapshot *sn)
{
	put(o, number);
	put(o, 5);
	put16(o, 0xD10D);
	put_scaled(o, sn->battery_v, 0.01, 0, 2);
	put16(o, 0xD10A);
	put_scaled(o, sn->speed_kmh, 0.01, 0, 2);
	put16(o, 0xD10C);
	put(o, (uint8_t)sn->ignition);
	put16(o, 0xD102);
	put_scaled(o, sn->actuator_current_a, 0.01, 0, 2);
	put16(o, 0xD107);
	put_scaled(o, sn->fuse_v, 0.01, 0, 2);
}

static void read_dtc_info(struct sim_uds *u, const uint8_t *req, size_t len, struct out *o)
{
	uint8_t sub, mask;
	uint16_t count = 0;
	const struct sim_dtc *d;
	uint32_t code;
	uint8_t rec;

	if (len < 2) {
		negative(o, SID_RDTCI, NRC_IMLOIF);
		return;
	}
	sub = req[1] & 0x7F;
	switch (sub) {
	case 0x01:
	case 0x02:
		if (len != 3) {
			negative(o, SID_RDTCI, NRC_IMLOIF);
			return;
		}
		mask = req[2] & SIM_DTC_AVAILABILITY_MASK;
		put(o, SID_RDTCI + 0x40);
		put(o, sub);
		put(o, SIM_DTC_AVAILABILITY_MASK);
		if (sub == 0x01) {
			for (unsigned i = 0; i < _SIM_DTC_MAX; i++)
				if (sim_model_dtc(u->m, (enum sim_dtc_id)i)->status & mask)
					count++;
			put(o, DTC_FORMAT);
			put16(o, count);
			return;
		}
		for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
			d = sim_model_dtc(u->m, (enum sim_dtc_id)i);
			if (d->status & mask) {
				put24(o, d->code);
				put(o, d->status);
			}
		}
		return;
	case 0x0A:
		if (len != 2) {
			negative(o, SID_RDTCI, NRC_IMLOIF);
			return;
		}
		put(o, SID_RDTCI + 0x40);
		put(o, sub);
		put(o, SIM_DTC_AVAILABILITY_MASK);
		for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
			d = sim_model_dtc(u->m, (enum sim_dtc_id)i);
			put24(o, d->code);
			put(o, d->status);
		}
		return;
	case 0x04:
	case 0x06:
		if (len != 6) {
			negative(o, SID_RDTCI, NRC_IMLOIF);
			return;
		}
		code = (uint32_t)req[2] << 16 | (uint32_t)req[3] << 8 | req[4];
		rec = req[5];
		d = dtc_by_code(u, code);
		if (!d || (sub == 0x04 && rec != 0x01 && rec != 0x02 && rec != 0xFF) ||
		    (sub == 0x06 && (rec == 0x00 || (rec > 0x03 && rec != 0xFF)))) {
			negative(o, SID_RDTCI, NRC_ROOR);
			return;
		}
		put(o, SID_RDTCI + 0x40);
		put(o, sub);
		put24(o, d->code);
		put(o, d->status);
		if (sub == 0x04) {
			/* Records not (yet) stored are left out, as ISO 14229-1 says. */
			if ((rec == 0x01 || rec == 0xFF) && d->has_first)
				put_snapshot(o, 0x01, &d->first);
			if ((rec == 0x02 || rec == 0xFF) && d->has_last)
				put_snapshot(o, 0x02, &d->last);
			return;
		}
		if (rec == 0x01 || rec == 0xFF) {
			put(o, 0x01);
			put(o, d->occurrence);
		}
		if (rec == 0x02 || rec == 0xFF) {
			put(o, 0x02);
			put(o, d->aging);
		}
		if (rec == 0x03 || rec == 0xFF) {
			put(o, 0x03);
			put(o, d->failed_cycles);
		}
		return;
	default:
		negative(o, SID_RDTCI, NRC_SFNS);
		return;
	}
}

/* --- 0x2F, 0x31, 0x27 ---------------------------------------------------------------- */
static void io_control(struct sim_uds *u, const uint8_t *req, size_t len, struct out *o)
{
	uint16_t did;
	int r;

	if (len < 4) {
		negative(o, SID_IOCBI, NRC_IMLOIF);
		return;
	}
	did = (uint16_t)(req[1] << 8 | req[2]);
	if (did != SIM_UDS_DID_OUTPUT) {
		negative(o, SID_IOCBI, NRC_ROOR);
		return;
	}
	if (u->session != SESSION_EXTENDED) {
		negative(o, SID_IOCBI, NRC_SNSIAS);
		return;
	}
	switch (req[3]) {
	case 0x00: /* returnControlToECU */
		if (len != 4) {
			negative(o, SID_IOCBI, NRC_IMLOIF);
			return;
		}
		sim_model_output_control(u->m, false);
		u->output_active = false;
		break;
	case 0x03: /* shortTermAdjustment: controlState 0x01 = on, 0x00 = off */
		if (len != 5) {
			negative(o, SID_IOCBI, NRC_IMLOIF);
			return;
		}
		if (req[4] > 1) {
			negative(o, SID_IOCBI, NRC_ROOR);
			return;
		}
		r = sim_model_output_control(u->m, req[4] == 1);
		if (r < 0) {
			/* Moving, not in P, or locked out after a short. */
			negative(o, SID_IOCBI, NRC_CNC);
			return;
		}
		u->output_active = req[4] == 1;
		break;
	default:
		negative(o, SID_IOCBI, NRC_ROOR);
		return;
	}
	put(o, SID_IOCBI + 0x40);
	put16(o, did);
	put(o, req[3]);
	put(o, sim_model_signals(u->m)->actuator_cmd);
}

static void set_pending(struct sim_uds *u, int64_t at, const uint8_t *resp, size_t len)
{
	u->pending = true;
	u->pending_at = at;
	memcpy(u->pending_resp, resp, len);
	u->pending_len = len;
}

static void routine(struct sim_uds *u, int64_t now, const uint8_t *req, size_t len,
		    struct out *o)
{
	uint16_t rid;
	uint8_t type;

	if (len < 4) {
		negative(o, SID_ROUTINE, NRC_IMLOIF);
		return;
	}
	type = req[1] & 0x7F;
	rid = (uint16_t)(req[2] << 8 | req[3]);
	if (rid != SIM_UDS_RID_SELFTEST && rid != SIM_UDS_RID_FOB_LEARN) {
		negative(o, SID_ROUTINE, NRC_ROOR);
		return;
	}
	if (type != 0x01 && type != 0x03) {
		negative(o, SID_ROUTINE, NRC_SFNS);
		return;
	}
	/* RoutineControl exists in the default session, its routines only in extended. */
	if (u->session != SESSION_EXTENDED) {
		negative(o, SID_ROUTINE, NRC_SFNSIAS);
		return;
	}
	if (rid == SIM_UDS_RID_FOB_LEARN) {
		if (type != 0x01) {
			negative(o, SID_ROUTINE, NRC_SFNS);
			return;
		}
		if (len != 5) {
			negative(o, SID_ROUTINE, NRC_IMLOIF);
			return;
		}
		if (!u->unlocked) {
			negative(o, SID_ROUTINE, NRC_SAD);
			return;
		}
		if (sim_model_fob_learn(u->m, req[4]) < 0) {
			negative(o, SID_ROUTINE, NRC_ROOR);
			return;
		}
		put(o, SID_ROUTINE + 0x40);
		put(o, type);
		put16(o, rid);
		put(o, 0x00);
		return;
	}
	if (len != 4) {
		negative(o, SID_ROUTINE, NRC_IMLOIF);
		return;
	}
	if (type == 0x03) {
		if (u->selftest != SELFTEST_DONE) {
			negative(o, SID_ROUTINE, NRC_RSE);
			return;
		}
		put(o, SID_ROUTINE + 0x40);
		put(o, type);
		put16(o, rid);
		put(o, u->selftest_result);
		put(o, u->selftest_output);
		return;
	}
	/* Start: the self-test takes longer than P2, so 0x78 now and the answer later. */
	{
		const uint8_t final[] = {SID_ROUTINE + 0x40, 0x01, (uint8_t)(rid >> 8),
					 (uint8_t)rid, 0x00};
		u->selftest = SELFTEST_RUNNING;
		set_pending(u, now + SELFTEST_US, final, sizeof(final));
		negative(o, SID_ROUTINE, NRC_RCRRP);
	}
}

static void security(struct sim_uds *u, int64_t now, const uint8_t *req, size_t len,
		     struct out *o)
{
	uint8_t type;
	uint32_t key;

	if (len < 2) {
		negative(o, SID_SECURITY, NRC_IMLOIF);
		return;
	}
	type = req[1] & 0x7F;
	if (type != 0x01 && type != 0x02) {
		negative(o, SID_SECURITY, NRC_SFNS);
		return;
	}
	if (u->session != SESSION_EXTENDED) {
		negative(o, SID_SECURITY, NRC_SNSIAS);
		return;
	}
	if (type == 0x01) {
		if (len != 2) {
			negative(o, SID_SECURITY, NRC_IMLOIF);
			return;
		}
		if (now < u->locked_until) {
			negative(o, SID_SECURITY, NRC_RTDNE);
			return;
		}
		/* Already unlocked: seed 0, as ISO 14229-1 specifies. */
		u->seed = u->unlocked ? 0 : (rng32(u) | 1u);
		u->seed_sent = !u->unlocked;
		put(o, SID_SECURITY + 0x40);
		put(o, type);
		put32(o, u->seed);
		return;
	}
	if (len != 6) {
		negative(o, SID_SECURITY, NRC_IMLOIF);
		return;
	}
	if (!u->seed_sent) {
		negative(o, SID_SECURITY, NRC_RSE);
		return;
	}
	u->seed_sent = false;
	key = (uint32_t)req[2] << 24 | (uint32_t)req[3] << 16 | (uint32_t)req[4] << 8 | req[5];
	if (key != sim_uds_key_for_seed(u->seed)) {
		if (++u->bad_keys >= SECURITY_ATTEMPTS) {
			u->bad_keys = 0;
			u->locked_until = now + SECURITY_DELAY_US;
			negative(o, SID_SECURITY, NRC_ENOA);
			return;
		}
		negative(o, SID_SECURITY, NRC_IK);
		return;
	}
	u->bad_keys = 0;
	u->unlocked = true;
	put(o, SID_SECURITY + 0x40);
	put(o, type);
}

/* Leaving the extended session ends what it allowed (ISO 14229-1 9.2). */
static void to_default_session(struct sim_uds *u)
{
	if (u->output_active)
		sim_model_output_control(u->m, false);
	u->output_active = false;
	u->unlocked = false;
	u->seed_sent = false;
	u->session = SESSION_DEFAULT;
}

static bool suppressible(uint8_t sid)
{
	return sid == SID_SESSION || sid == SID_TESTER_PRESENT || sid == SID_RDTCI ||
	       sid == SID_ROUTINE || sid == SID_SECURITY;
}

int sim_uds_request(struct sim_uds *u, int64_t now_us, bool functional, const uint8_t *req,
		    size_t len, uint8_t *resp, size_t cap, size_t *ret_len)
{
	struct out o = {.p = resp, .cap = cap};
	uint8_t sid;
	bool suppress = false;

	if (cap < SIM_UDS_RESPONSE_MAX)
		return -ENOBUFS;
	if (len == 0)
		return -EINVAL;
	sid = req[0];
	u->last_request = now_us;
	if (len >= 2 && suppressible(sid) && sid != SID_RDTCI && (req[1] & 0x80))
		suppress = true;

	if (u->pending) {
		negative(&o, sid, NRC_BRR);
		goto done;
	}
	switch (sid) {
	case SID_SESSION:
		if (len != 2) {
			negative(&o, sid, NRC_IMLOIF);
			break;
		}
		if ((req[1] & 0x7F) != SESSION_DEFAULT && (req[1] & 0x7F) != SESSION_EXTENDED) {
			negative(&o, sid, NRC_SFNS);
			break;
		}
		if ((req[1] & 0x7F) == SESSION_DEFAULT)
			to_default_session(u);
		else if (u->session != SESSION_EXTENDED)
			u->session = SESSION_EXTENDED;
		put(&o, sid + 0x40);
		put(&o, req[1] & 0x7F);
		put16(&o, SIM_UDS_P2_MS);
		put16(&o, SIM_UDS_P2STAR_MS / 10);
		break;
	case SID_TESTER_PRESENT:
		if (len != 2) {
			negative(&o, sid, NRC_IMLOIF);
			break;
		}
		if ((req[1] & 0x7F) != 0x00) {
			negative(&o, sid, NRC_SFNS);
			break;
		}
		put(&o, sid + 0x40);
		put(&o, 0x00);
		break;
	case SID_RDTCI:
		read_dtc_info(u, req, len, &o);
		break;
	case SID_RDBI:
		read_dids(u, req, len, &o);
		break;
	case SID_CLEAR: {
		uint32_t group;
		if (len != 4) {
			negative(&o, sid, NRC_IMLOIF);
			break;
		}
		group = (uint32_t)req[1] << 16 | (uint32_t)req[2] << 8 | req[3];
		if (group != 0xFFFFFF && !dtc_by_code(u, group)) {
			negative(&o, sid, NRC_ROOR);
			break;
		}
		{
			const uint8_t final[] = {SID_CLEAR + 0x40};
			set_pending(u, now_us + CLEAR_US, final, sizeof(final));
			u->pending_is_clear = true;
			u->pending_clear = group;
		}
		negative(&o, sid, NRC_RCRRP);
		break;
	}
	case SID_IOCBI:
		io_control(u, req, len, &o);
		break;
	case SID_ROUTINE:
		routine(u, now_us, req, len, &o);
		break;
	case SID_SECURITY:
		security(u, now_us, req, len, &o);
		break;
	default:
		negative(&o, sid, NRC_SNS);
		break;
	}
done:
	if (o.overflow)
		negative(&o, sid, NRC_IMLOIF);
	if (o.len >= 3 && resp[0] == SID_NEGATIVE) {
		uint8_t nrc = resp[2];
		/* Functional requests: these negative answers are never sent. */
		if (functional && (nrc == NRC_SNS || nrc == NRC_SFNS || nrc == NRC_ROOR ||
				   nrc == NRC_SFNSIAS || nrc == NRC_SNSIAS))
			o.len = 0;
	} else if (suppress) {
		o.len = 0;
	}
	*ret_len = o.len;
	return 0;
}

int sim_uds_poll(struct sim_uds *u, int64_t now_us, uint8_t *resp, size_t cap, size_t *ret_len,
		 int64_t *ret_next_us)
{
	int64_t next = INT64_MAX;

	if (cap < SIM_UDS_RESPONSE_MAX)
		return -ENOBUFS;
	*ret_len = 0;
	if (u->pending && now_us >= u->pending_at) {
		u->pending = false;
		if (u->pending_is_clear) {
			u->pending_is_clear = false;
			sim_model_dtc_clear(u->m, u->pending_clear);
		}
		if (u->selftest == SELFTEST_RUNNING) {
			const struct sim_signals *s = sim_model_signals(u->m);
			const struct sim_dtc *d = sim_model_dtc(u->m, SIM_DTC_BCM_INTERNAL);
			u->selftest = SELFTEST_DONE;
			u->selftest_result = (d->status & SIM_DTC_TF) ? 0x01 : 0x00;
			u->selftest_output = (uint8_t)s->output_status;
			u->pending_resp[4] = u->selftest_result;
		}
		memcpy(resp, u->pending_resp, u->pending_len);
		*ret_len = u->pending_len;
	}
	if (u->pending)
		next = u->pending_at;
	if (u->session != SESSION_DEFAULT) {
		int64_t s3 = u->last_request + (int64_t)SIM_UDS_S3_MS * MS;
		if (now_us >= s3)
			to_default_session(u);
		else if (s3 < next)
			next = s3;
	}
	*ret_next_us = next;
	return 0;
}

int sim_uds_obd_request(struct sim_uds *u, const uint8_t *req, size_t len, uint8_t *resp,
			size_t cap, size_t *ret_len)
{
	const struct sim_signals *s = sim_model_signals(u->m);
	struct out o = {.p = resp, .cap = cap};

	if (cap < SIM_UDS_RESPONSE_MAX)
		return -ENOBUFS;
	if (len == 0)
		return -EINVAL;
	*ret_len = 0;
	if (req[0] == 0x01 && len == 2) {
		/* SAE J1979 mode 01: PID 0x00 supported bitmap (only 0x0D here), 0x0D speed. */
		if (req[1] == 0x00) {
			put(&o, 0x41);
			put(&o, 0x00);
			put32(&o, 1u << (32 - 0x0D));
		} else if (req[1] == 0x0D) {
			put(&o, 0x41);
			put(&o, 0x0D);
			put_scaled(&o, s->speed_kmh, 1, 0, 1);
		}
	} else if (req[0] == 0x09 && len == 2) {
		if (req[1] == 0x00) {
			put(&o, 0x49);
			put(&o, 0x00);
			put32(&o, 1u << (32 - 0x02));
		} else if (req[1] == 0x02) {
			put(&o, 0x49);
			put(&o, 0x02);
			put(&o, 0x01); /* number of data items (ISO 15765-4 / J1979 CAN format) */
			for (unsigned i = 0; i < 17; i++)
				put(&o, (uint8_t)u->vin[i]);
		}
	}
	*ret_len = o.len;
	return 0;
}
