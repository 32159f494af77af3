/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * broadcast: turns the model's signals into the frames of dbc/bodydiag-sim.dbc, on the
 * DBC's schedule: cyclic frames every GenMsgCycleTime (random start phase, optional
 * timing jitter), event frames when their content changes (no sooner than
 * GenMsgDelayTime after the frame's last transmission), rolling counters and CRC-8
 * checksums, the aftermarket alarm's frames only while it is installed, and optional
 * random noise frames. Pure: the caller passes the time in and sends the frames out.
 *
 * The DBC is the contract: messages and signals are found by name at setup
 * (BCM_VehicleState, BCM_TrunkStatus, BCM_RkeStatus, BCM_Power, ALARM_Status,
 * ALARM_Command), signals named *_Counter are 4-bit rolling counters and *_Checksum the
 * CRC-8 SAE J1850 of bytes 0..6 in byte 7 (dbc/README.md).
 */

#include <stddef.h>
#include <stdint.h>

#include "bodydiag/dbc.h"
#include "bodydiag/frame.h"
#include "model.h"

/* sim_broadcast_poll() never produces more frames than this in one call. */
#define SIM_BROADCAST_MAX_BURST 16u

struct sim_broadcast_config {
	uint64_t seed;
	int64_t jitter_us;   /* each cyclic transmission late by 0..jitter_us; 0..100 ms */
	double noise_per_s;  /* mean rate of random frames with unknown ids; 0..1000 */
};

struct sim_broadcast;

/*
 * Resolves the frames and signals in db (which must outlive the broadcaster). Returns 0
 * and *ret; -ENOENT when a message or signal the model feeds is missing from the DBC,
 * -EINVAL for a config out of range or a counter/checksum the layout rules above do not
 * allow, -ENOMEM.
 */
int sim_broadcast_new(const struct dbc *db, const struct sim_broadcast_config *cfg,
		      struct sim_broadcast **ret);
/* Accepts NULL; returns NULL. */
struct sim_broadcast *sim_broadcast_free(struct sim_broadcast *b);

/*
 * The frames due at now_us (non-decreasing between calls), encoded from s. Writes up
 * to cap frames (t_us = now_us) and *ret_next_us, the earliest time anything is due
 * again when the signals do not change. Returns the number of frames, -ENOBUFS when cap
 * is below SIM_BROADCAST_MAX_BURST, -EINVAL when time goes backwards, or the encoder's
 * -errno.
 */
int sim_broadcast_poll(struct sim_broadcast *b, const struct sim_signals *s, int64_t now_us,
		       struct bd_timed_frame *out, size_t cap, int64_t *ret_next_us);

/* Frames sent so far that were noise (ids not in the DBC). */
uint64_t sim_broadcast_noise_count(const struct sim_broadcast *b);
