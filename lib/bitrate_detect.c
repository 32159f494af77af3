/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/bitrate_detect.h"

enum phase {
	PHASE_SET,    /* a SET step is out, waiting for _applied / _set_failed */
	PHASE_LISTEN, /* listening at results[cur] */
	PHASE_DONE,
};

struct bitrate_detect {
	struct bitrate_detect_config cfg;
	struct bitrate_detect_result res[BITRATE_DETECT_MAX];
	size_t n;
	size_t cur; /* index into res being tried */
	enum phase phase;
	int64_t t_end;	     /* start + total */
	int64_t listen_from; /* start of the current window */
	enum bitrate_detect_outcome outcome;
	uint32_t found;
	struct {
		uint32_t id;
		bool ext;
	} ids[BITRATE_DETECT_IDS];
};

void bitrate_detect_config_init(struct bitrate_detect_config *c)
{
	/* The usual body and powertrain rates: high-speed CAN 500k first (OBD pins 6/14),
	 * medium-speed body buses at 125k/250k, the 83.3k of some European comfort buses,
	 * GM's 33.3k single-wire, 1M last (rare in cars). */
	static const uint32_t def[] = {500000, 250000, 125000, 83333, 33333, 1000000};

	*c = (struct bitrate_detect_config){
	    .dwell_us = 1500000,
	    .total_us = 15000000,
	    .min_frames = 4,
	};
	memcpy(c->bitrates, def, sizeof(def));
	c->n = sizeof(def) / sizeof(def[0]);
}

const char *bitrate_detect_verdict_name(enum bitrate_detect_verdict v)
{
	switch (v) {
	case BITRATE_DETECT_NOT_TRIED:
		return "not tried";
	case BITRATE_DETECT_MATCH:
		return "match";
	case BITRATE_DETECT_ERRORS:
		return "error frames";
	case BITRATE_DETECT_SILENT:
		return "silent";
	case BITRATE_DETECT_FEW:
		return "too few frames";
	case BITRATE_DETECT_FAILED:
		return "refused by the controller";
	case BITRATE_DETECT_CUT:
		return "cut by the time bound";
	case BITRATE_DETECT_VERDICT_MAX:
		break;
	}
	return "?";
}

const char *bitrate_detect_outcome_name(enum bitrate_detect_outcome o)
{
	switch (o) {
	case BITRATE_DETECT_RUNNING:
		return "running";
	case BITRATE_DETECT_FOUND:
		return "found";
	case BITRATE_DETECT_NO_TRAFFIC:
		return "no traffic at any bitrate";
	case BITRATE_DETECT_NONE:
		return "no bitrate matched";
	case BITRATE_DETECT_TIMEOUT:
		return "time bound reached";
	case BITRATE_DETECT_OUTCOME_MAX:
		break;
	}
	return "?";
}

int bitrate_detect_parse_list(const char *s, size_t n, uint32_t *out, size_t cap, size_t *ret_n)
{
	size_t i = 0, k = 0;

	while (i < n) {
		size_t a = i;
		uint64_t ip = 0, frac = 0, scale = 1;
		unsigned digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 9) {
			ip = ip * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (i == a)
			return -EINVAL;
		if (i < n && s[i] == '.') {
			i++;
			size_t f = i;
			while (i < n && s[i] >= '0' && s[i] <= '9' && i - f < 6) {
				frac = frac * 10 + (unsigned)(s[i++] - '0');
				scale *= 10;
			}
			if (i == f)
				return -EINVAL;
		}
		uint64_t mult = 1;
		if (i < n && (s[i] == 'k' || s[i] == 'K')) {
			mult = 1000;
			i++;
		} else if (i < n && s[i] == 'M') {
			mult = 1000000;
			i++;
		}
		if (i < n && s[i] != ',')
			return -EINVAL;
		/* rounded to the nearest bit/s: 83.333k -> 83333 */
		uint64_t v = ip * mult + (frac * mult + scale / 2) / scale;
		if (v < 10000 || v > 1000000)
			return -EINVAL;
		if (k == cap)
			return -E2BIG;
		out[k++] = (uint32_t)v;
		if (i < n)
			i++; /* the comma */
		if (i == n && s[n - 1] == ',')
			return -EINVAL;
	}
	if (k == 0)
		return -EINVAL;
	*ret_n = k;
	return 0;
}

int bitrate_detect_format(uint32_t bitrate, char *buf, size_t size)
{
	if (bitrate >= 1000000 && bitrate % 1000000 == 0)
		return snprintf(buf, size, "%uM", bitrate / 1000000);
	if (bitrate >= 1000 && bitrate % 1000 == 0)
		return snprintf(buf, size, "%uk", bitrate / 1000);
	if (bitrate >= 10000)
		return snprintf(buf, size, "%u.%03uk", bitrate / 1000, bitrate % 1000);
	return snprintf(buf, size, "%u", bitrate);
}

static void add(struct bitrate_detect *d, uint32_t b)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->res[i].bitrate == b)
			return;
	if (d->n < BITRATE_DETECT_MAX)
		d->res[d->n++] = (struct bitrate_detect_result){.bitrate = b};
}

int bitrate_detect_new(const struct bitrate_detect_config *cfg, int64_t now_us,
		       struct bitrate_detect **ret)
{
	struct bitrate_detect_config def;
	struct bitrate_detect *d;

	if (!cfg || cfg->n > BITRATE_DETECT_MAX || cfg->dwell_us <= 0 || cfg->total_us <= 0)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->bitrates[i] == 0)
			return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	if (d->cfg.min_frames == 0)
		d->cfg.min_frames = 1;
	if (cfg->first)
		add(d, cfg->first);
	if (cfg->n == 0) {
		bitrate_detect_config_init(&def);
		for (size_t i = 0; i < def.n; i++)
			add(d, def.bitrates[i]);
	}
	for (size_t i = 0; i < cfg->n; i++)
		add(d, cfg->bitrates[i]);
	d->t_end = now_us + cfg->total_us;
	d->phase = d->n ? PHASE_SET : PHASE_DONE;
	d->outcome = d->n ? BITRATE_DETECT_RUNNING : BITRATE_DETECT_NONE;
	*ret = d;
	return 0;
}

struct bitrate_detect *bitrate_detect_free(struct bitrate_detect *d)
{
	free(d);
	return NULL;
}

static void finish(struct bitrate_detect *d, enum bitrate_detect_outcome o)
{
	bool traffic = false;

	d->phase = PHASE_DONE;
	if (o == BITRATE_DETECT_RUNNING) {
		for (size_t i = 0; i < d->n; i++)
			traffic = traffic || d->res[i].frames || d->res[i].error_frames;
		o = traffic ? BITRATE_DETECT_NONE : BITRATE_DETECT_NO_TRAFFIC;
	}
	d->outcome = o;
}

/* The current bitrate is judged: on to the next, or done. */
static void advance(struct bitrate_detect *d)
{
	if (d->res[d->cur].verdict == BITRATE_DETECT_MATCH) {
		d->found = d->res[d->cur].bitrate;
		finish(d, BITRATE_DETECT_FOUND);
		return;
	}
	d->cur++;
	if (d->cur >= d->n)
		finish(d, BITRATE_DETECT_RUNNING);
	else
		d->phase = PHASE_SET;
}

void bitrate_detect_next(struct bitrate_detect *d, int64_t now_us, struct bitrate_detect_step *ret)
{
	struct bitrate_detect_result *r;

	*ret = (struct bitrate_detect_step){.action = BITRATE_DETECT_DONE};
	if (d->phase == PHASE_DONE)
		return;
	r = &d->res[d->cur];
	if (now_us >= d->t_end) {
		if (d->phase == PHASE_LISTEN) {
			r->listened_us = now_us - d->listen_from;
			r->verdict = BITRATE_DETECT_CUT;
		}
		finish(d, BITRATE_DETECT_TIMEOUT);
		return;
	}
	if (d->phase == PHASE_SET) {
		ret->action = BITRATE_DETECT_SET;
		ret->bitrate = r->bitrate;
		return;
	}
	int64_t until = d->listen_from + d->cfg.dwell_us;
	if (until > d->t_end)
		until = d->t_end;
	if (now_us < until) {
		ret->action = BITRATE_DETECT_LISTEN;
		ret->until_us = until;
		return;
	}
	r->listened_us = now_us - d->listen_from;
	r->verdict = r->frames ? BITRATE_DETECT_FEW : BITRATE_DETECT_SILENT;
	advance(d);
	bitrate_detect_next(d, now_us, ret);
}

void bitrate_detect_applied(struct bitrate_detect *d, uint32_t applied, int64_t now_us)
{
	if (d->phase != PHASE_SET)
		return;
	d->res[d->cur].applied = applied;
	d->listen_from = now_us;
	d->phase = PHASE_LISTEN;
	memset(d->ids, 0, sizeof(d->ids));
}

void bitrate_detect_set_failed(struct bitrate_detect *d, int neg_errno, int64_t now_us)
{
	(void)now_us;
	if (d->phase != PHASE_SET)
		return;
	d->res[d->cur].verdict = BITRATE_DETECT_FAILED;
	d->res[d->cur].set_error = neg_errno;
	advance(d);
}

void bitrate_detect_on_frame(struct bitrate_detect *d, const struct bd_frame *f, int64_t now_us)
{
	struct bitrate_detect_result *r;

	if (d->phase != PHASE_LISTEN || now_us < d->listen_from)
		return;
	r = &d->res[d->cur];
	if (f->flags & BD_FRAME_ERR) {
		if (!bd_frame_err_is_bus_fault(f))
			return;
		r->error_frames++;
		r->error_classes |= f->id;
		r->listened_us = now_us - d->listen_from;
		r->verdict = BITRATE_DETECT_ERRORS;
		advance(d);
		return;
	}
	r->frames++;
	bool ext = f->flags & BD_FRAME_EXT;
	for (unsigned i = 0; i < r->ids; i++)
		if (d->ids[i].id == f->id && d->ids[i].ext == ext)
			goto counted;
	if (r->ids < BITRATE_DETECT_IDS) {
		d->ids[r->ids].id = f->id;
		d->ids[r->ids].ext = ext;
		r->ids++;
	}
counted:
	if (r->frames >= d->cfg.min_frames) {
		r->listened_us = now_us - d->listen_from;
		r->verdict = BITRATE_DETECT_MATCH;
		advance(d);
	}
}

enum bitrate_detect_outcome bitrate_detect_outcome(const struct bitrate_detect *d,
						   uint32_t *ret_bitrate)
{
	if (d->outcome == BITRATE_DETECT_FOUND && ret_bitrate)
		*ret_bitrate = d->found;
	return d->outcome;
}

size_t bitrate_detect_result_count(const struct bitrate_detect *d)
{
	return d->n;
}

const struct bitrate_detect_result *bitrate_detect_result_at(const struct bitrate_detect *d,
							     size_t i)
{
	return i < d->n ? &d->res[i] : NULL;
}
