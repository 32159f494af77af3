/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"

#define MS 1000LL
/* Spacing of the event-only frame's repetitions (GenMsgNrOfRepetition 2, DelayTime 20). */
#define REPEAT_US (20 * MS)
#define REPEATS 2
#define MAX_SIGNALS 16
/* Noise stays below the diagnostic range (0x700..0x7FF) so it never looks like UDS. */
#define NOISE_ID_MAX 0x6FF

enum trigger {
	TRIGGER_NONE,
	TRIGGER_TRUNK,
	TRIGGER_RKE,
	TRIGGER_ALARM_CMD,
};

typedef double (*getter_fn)(const struct sim_signals *s);

#define G(name, expr)                                                  \
	static double get_##name(const struct sim_signals *s)          \
	{                                                              \
		return (double)(expr);                                 \
	}
G(VehicleSpeed, s->speed_kmh)
G(GearPosition, s->gear)
G(IgnitionState, s->ignition)
G(BatteryVoltage, s->battery_v)
G(TrunkReleaseRequest, s->release_request)
G(TrunkActuatorCmd, s->actuator_cmd)
G(TrunkAjar, s->ajar)
G(TrunkInteriorSwitch, s->interior_switch)
G(TrunkExteriorSwitch, s->exterior_switch)
G(TrunkInhibitReason, s->inhibit)
G(TrunkActuatorCurrent, s->actuator_current_a)
G(RkeButton, s->rke_button)
G(RkeTelegramStatus, s->rke_telegram_status)
G(RkeFobBatteryLow, s->rke_battery_low)
G(RkeFobIndex, s->rke_fob_index)
G(RkeRssi, s->rke_rssi_dbm)
G(RkeTelegramCounter, s->rke_telegram_counter)
G(BcmSupplyVoltage, s->bcm_supply_v)
G(TrunkFuseVoltage, s->fuse_v)
G(DoorLockState, s->lock_state)
G(PerimeterAlarmState, s->perimeter_alarm)
G(ValetMode, s->valet)
G(AmAlarmArmed, s->alarm_armed)
G(AmAlarmTriggered, 0) /* the modelled unit never sounds: nobody breaks in */
G(AmReleaseCutActive, s->alarm_cut_active)
G(AmInhibitActive, s->alarm_inhibit_request)
G(AmTrunkInhibitRequest, s->alarm_inhibit_request)
#undef G

struct getter {
	const char *name;
	getter_fn fn;
};

#define E(name) {#name, get_##name}
static const struct getter getters[] = {
	E(VehicleSpeed), E(GearPosition), E(IgnitionState), E(BatteryVoltage),
	E(TrunkReleaseRequest), E(TrunkActuatorCmd), E(TrunkAjar), E(TrunkInteriorSwitch),
	E(TrunkExteriorSwitch), E(TrunkInhibitReason), E(TrunkActuatorCurrent), E(RkeButton),
	E(RkeTelegramStatus), E(RkeFobBatteryLow), E(RkeFobIndex), E(RkeRssi),
	E(RkeTelegramCounter), E(BcmSupplyVoltage), E(TrunkFuseVoltage), E(DoorLockState),
	E(PerimeterAlarmState), E(ValetMode), E(AmAlarmArmed), E(AmAlarmTriggered),
	E(AmReleaseCutActive), E(AmInhibitActive), E(AmTrunkInhibitRequest),
};
#undef E

struct frame_def {
	const char *name;
	enum trigger trigger;
	bool alarm;
	/* Least gap before an event transmission: the DBC's GenMsgDelayTime (lib/dbc
	 * exposes no attributes, so the values are repeated here; dbc/README.md). */
	int64_t min_gap_us;
};

static const struct frame_def frame_defs[] = {
	{"BCM_VehicleState", TRIGGER_NONE, false, 0},
	{"BCM_TrunkStatus", TRIGGER_TRUNK, false, 2 * MS},
	{"BCM_RkeStatus", TRIGGER_RKE, false, 5 * MS},
	{"BCM_Power", TRIGGER_NONE, false, 0},
	{"ALARM_Status", TRIGGER_NONE, true, 0},
	{"ALARM_Command", TRIGGER_ALARM_CMD, true, 20 * MS},
};
#define N_FRAMES (sizeof(frame_defs) / sizeof(frame_defs[0]))

enum role {
	ROLE_VALUE,
	ROLE_COUNTER,
	ROLE_CHECKSUM,
};

struct bsig {
	enum role role;
	getter_fn fn;
	double min, max;
	bool has_range;
};

struct bframe {
	const struct dbc_message *msg;
	const struct frame_def *def;
	unsigned len;
	size_t n_sig;
	struct bsig sig[MAX_SIGNALS];
	bool has_checksum;
	int64_t cycle_us;
	int64_t next_nominal, next_due;
	bool started;
	bool sent_once;
	int64_t last_tx;
	bool event_pending;
	uint8_t counter;
	uint32_t last_seq;
	unsigned repeats_left;
	int64_t repeat_due;
};

struct sim_broadcast {
	const struct dbc *db;
	struct sim_broadcast_config cfg;
	uint64_t rng;
	struct bframe f[N_FRAMES];
	int64_t last_now;
	int64_t next_noise;
	uint64_t noise_count;
};

static uint64_t rng_next(struct sim_broadcast *b)
{
	uint64_t z = (b->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double rng_uniform(struct sim_broadcast *b)
{
	return (double)(rng_next(b) >> 11) * (1.0 / 9007199254740992.0);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int resolve(struct bframe *bf)
{
	size_t n = dbc_message_signal_count(bf->msg);

	if (n > MAX_SIGNALS)
		return -EINVAL;
	bf->n_sig = n;
	for (size_t i = 0; i < n; i++) {
		const struct dbc_signal *s = dbc_message_signal_at(bf->msg, i);
		const char *name = dbc_signal_name(s);
		struct bsig *bs = &bf->sig[i];

		if (ends_with(name, "_Counter")) {
			if (dbc_signal_length(s) != 4)
				return -EINVAL;
			bs->role = ROLE_COUNTER;
			continue;
		}
		if (ends_with(name, "_Checksum")) {
			/* Byte 7 of an 8-byte frame, little-endian: the only layout defined. */
			if (dbc_signal_length(s) != 8 || dbc_signal_start(s) != 56 ||
			    dbc_signal_is_big_endian(s) || bf->len != 8)
				return -EINVAL;
			bs->role = ROLE_CHECKSUM;
			bf->has_checksum = true;
			continue;
		}
		bs->role = ROLE_VALUE;
		bs->has_range = dbc_signal_range(s, &bs->min, &bs->max);
		for (size_t g = 0; g < sizeof(getters) / sizeof(getters[0]); g++)
			if (strcmp(getters[g].name, name) == 0)
				bs->fn = getters[g].fn;
		if (!bs->fn)
			return -ENOENT;
	}
	return 0;
}

int sim_broadcast_new(const struct dbc *db, const struct sim_broadcast_config *cfg,
		      struct sim_broadcast **ret)
{
	struct sim_broadcast *b;
	int r;

	if (!cfg || cfg->jitter_us < 0 || cfg->jitter_us > 100 * MS || !(cfg->noise_per_s >= 0.0) ||
	    cfg->noise_per_s > 1000.0)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->db = db;
	b->cfg = *cfg;
	b->rng = cfg->seed ^ 0xB40ADCA57ull; /* not the model's stream */
	b->last_now = INT64_MIN;
	for (size_t i = 0; i < N_FRAMES; i++) {
		struct bframe *bf = &b->f[i];
		bf->def = &frame_defs[i];
		bf->msg = dbc_find_message_by_name(db, frame_defs[i].name);
		if (!bf->msg) {
			free(b);
			return -ENOENT;
		}
		bf->len = dbc_message_length(bf->msg);
		if (bf->len > 8) {
			free(b);
			return -EINVAL;
		}
		bf->cycle_us = (int64_t)dbc_message_cycle_time(bf->msg) * MS;
		r = resolve(bf);
		if (r < 0) {
			free(b);
			return r;
		}
	}
	*ret = b;
	return 0;
}

struct sim_broadcast *sim_broadcast_free(struct sim_broadcast *b)
{
	free(b);
	return NULL;
}

uint64_t sim_broadcast_noise_count(const struct sim_broadcast *b)
{
	return b->noise_count;
}

static int encode(struct bframe *bf, const struct sim_signals *s, struct bd_frame *f)
{
	struct dbc_value v[MAX_SIGNALS];
	int r;

	for (size_t i = 0; i < bf->n_sig; i++) {
		const struct bsig *bs = &bf->sig[i];
		double x = 0.0;

		switch (bs->role) {
		case ROLE_VALUE:
			x = bs->fn(s);
			/* The bus carries what the signal can hold: saturate, as ECUs do. */
			if (bs->has_range) {
				if (x < bs->min)
					x = bs->min;
				if (x > bs->max)
					x = bs->max;
			}
			break;
		case ROLE_COUNTER:
			x = bf->counter;
			break;
		case ROLE_CHECKSUM:
			break;
		}
		v[i] = (struct dbc_value){.type = DBC_VALUE_FLOAT, .f = x};
	}
	memset(f, 0, sizeof(*f));
	f->id = dbc_message_id(bf->msg);
	r = dbc_encode(bf->msg, v, f->data, sizeof(f->data));
	if (r < 0)
		return r;
	f->len = (uint8_t)bf->len;
	if (bf->has_checksum)
		f->data[7] = sim_crc8_j1850(f->data, 7);
	bf->counter = (uint8_t)((bf->counter + 1) & 0x0F);
	return 0;
}

static uint32_t seq_of(enum trigger t, const struct sim_signals *s)
{
	switch (t) {
	case TRIGGER_TRUNK:
		return s->trunk_seq;
	case TRIGGER_RKE:
		return s->rke_seq;
	case TRIGGER_ALARM_CMD:
		return s->alarm_cmd_seq;
	case TRIGGER_NONE:
		break;
	}
	return 0;
}

static int64_t jitter(struct sim_broadcast *b)
{
	if (b->cfg.jitter_us == 0)
		return 0;
	return (int64_t)(rng_uniform(b) * (double)(b->cfg.jitter_us + 1));
}

static int64_t noise_gap(struct sim_broadcast *b)
{
	/* Poisson process: exponential gaps, at least a tick apart. */
	double u = rng_uniform(b);
	double gap = -log(1.0 - u) / b->cfg.noise_per_s * 1e6;
	return gap < 1000.0 ? 1000 : (int64_t)gap;
}

static void noise_frame(struct sim_broadcast *b, struct bd_frame *f)
{
	uint32_t id;

	do
		id = 1 + (uint32_t)(rng_next(b) % NOISE_ID_MAX);
	while (dbc_find_message(b->db, id, false));
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->len = (uint8_t)(rng_next(b) % 9);
	for (unsigned i = 0; i < f->len; i++)
		f->data[i] = (uint8_t)rng_next(b);
}

int sim_broadcast_poll(struct sim_broadcast *b, const struct sim_signals *s, int64_t now_us,
		       struct bd_timed_frame *out, size_t cap, int64_t *ret_next_us)
{
	int64_t next = INT64_MAX;
	size_t n = 0;
	int r;

	if (cap < SIM_BROADCAST_MAX_BURST)
		return -ENOBUFS;
	if (now_us < b->last_now)
		return -EINVAL;
	if (b->last_now == INT64_MIN && b->cfg.noise_per_s > 0.0)
		b->next_noise = now_us + noise_gap(b);
	b->last_now = now_us;

	for (size_t i = 0; i < N_FRAMES; i++) {
		struct bframe *bf = &b->f[i];
		bool send = false;
		uint32_t seq = seq_of(bf->def->trigger, s);

		if (bf->def->alarm && !s->alarm_present) {
			/* Unit absent: nothing on the bus; it starts afresh when installed. */
			bf->started = false;
			bf->repeats_left = 0;
			bf->event_pending = false;
			bf->last_seq = seq;
			continue;
		}
		if (!bf->started) {
			bf->started = true;
			/* ECUs start their cyclic frames at unrelated phases, not in one burst. */
			bf->next_nominal = now_us;
			if (bf->cycle_us > 0)
				bf->next_nominal += (int64_t)(rng_next(b) % (uint64_t)bf->cycle_us);
			bf->next_due = bf->next_nominal;
			bf->last_seq = seq;
			bf->sent_once = false;
			/* An event-only frame announces the unit's state once when it appears. */
			if (bf->cycle_us == 0 && bf->def->trigger != TRIGGER_NONE)
				bf->event_pending = true;
		}
		if (bf->def->trigger != TRIGGER_NONE && seq != bf->last_seq) {
			bf->last_seq = seq;
			bf->event_pending = true;
		}
		if (bf->event_pending &&
		    (!bf->sent_once || now_us - bf->last_tx >= bf->def->min_gap_us))
			send = true;
		if (send && bf->cycle_us == 0) {
			bf->repeats_left = REPEATS;
			bf->repeat_due = now_us + REPEAT_US;
		}
		if (bf->cycle_us > 0 && now_us >= bf->next_due) {
			send = true;
			/* Drift-free schedule; after a long gap, no burst of catch-up frames. */
			bf->next_nominal += bf->cycle_us;
			if (bf->next_nominal <= now_us)
				bf->next_nominal = now_us + bf->cycle_us;
			bf->next_due = bf->next_nominal + jitter(b);
		}
		if (!send && bf->repeats_left > 0 && now_us >= bf->repeat_due) {
			send = true;
			bf->repeats_left--;
			bf->repeat_due += REPEAT_US;
		}
		if (send) {
			out[n].t_us = now_us;
			r = encode(bf, s, &out[n].frame);
			if (r < 0)
				return r;
			n++;
			/* Any transmission carries the new content: the event is served. */
			bf->event_pending = false;
			bf->sent_once = true;
			bf->last_tx = now_us;
		}
		if (bf->event_pending && bf->last_tx + bf->def->min_gap_us < next)
			next = bf->last_tx + bf->def->min_gap_us;
		if (bf->cycle_us > 0 && bf->next_due < next)
			next = bf->next_due;
		if (bf->repeats_left > 0 && bf->repeat_due < next)
			next = bf->repeat_due;
	}
	if (b->cfg.noise_per_s > 0.0) {
		if (now_us >= b->next_noise) {
			out[n].t_us = now_us;
			noise_frame(b, &out[n].frame);
			n++;
			b->noise_count++;
			b->next_noise = now_us + noise_gap(b);
		}
		if (b->next_noise < next)
			next = b->next_noise;
	}
	*ret_next_us = next;
	return (int)n;
}
