/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "util.h"

#define TOKENS_MAX 16

struct token {
	const char *s;
	size_t len;
	unsigned col;
};

struct line {
	struct token tok[TOKENS_MAX];
	unsigned n;
	unsigned number;
	unsigned end_col; /* column just past the last byte, for "missing ..." errors */
};

static void set_error(struct sim_parse_error *err, unsigned line, unsigned col,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct sim_parse_error *err, unsigned line, unsigned col,
		      const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static bool is(const struct token *t, const char *word)
{
	return strlen(word) == t->len && memcmp(t->s, word, t->len) == 0;
}

/* Tokens in error messages are clipped so a long one cannot crowd out the message. */
#define TOK(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->s

/* Splits a line into blank-separated words; `#` starts a comment. */
static int tokenize(const char *s, size_t len, unsigned number, struct line *ret,
		    struct sim_parse_error *err)
{
	struct line l = {.number = number};
	size_t i = 0;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	while (i < len) {
		size_t start;
		if (s[i] == '\0') {
			set_error(err, number, (unsigned)i + 1, "NUL byte in input");
			return -EINVAL;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		if ((unsigned char)s[i] < 0x20) {
			set_error(err, number, (unsigned)i + 1, "control character 0x%02x in input",
				  (unsigned)(unsigned char)s[i]);
			return -EINVAL;
		}
		if (l.n == TOKENS_MAX) {
			set_error(err, number, (unsigned)i + 1, "too many words (at most %d)",
				  TOKENS_MAX);
			return -EINVAL;
		}
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '#') {
			if (s[i] == '\0' || ((unsigned char)s[i] < 0x20 && s[i] != '\t')) {
				set_error(err, number, (unsigned)i + 1,
					  s[i] == '\0' ? "NUL byte in input" :
							 "control character in input");
				return -EINVAL;
			}
			i++;
		}
		l.tok[l.n++] = (struct token){.s = s + start, .len = i - start,
					      .col = (unsigned)start + 1};
	}
	l.end_col = (unsigned)len + 1;
	*ret = l;
	return 0;
}

/* --- values ------------------------------------------------------------------------ */
static int parse_duration(const struct token *t, unsigned line, int64_t max_us,
			  int64_t *ret, struct sim_parse_error *err)
{
	static const char *const units[] = {"s", "ms", "us", "min", NULL};
	static const double scale[] = {1e6, 1e3, 1.0, 60e6};
	double v;

	if (sim_util_parse_unit(t->s, t->len, units, scale, 0, &v) < 0) {
		set_error(err, line, t->col,
			  "'%.*s' is not a duration (number and unit: 1.5s, 200ms, 2min)", TOK(t));
		return -EINVAL;
	}
	if (v < 0.0 || v > (double)max_us) {
		set_error(err, line, t->col, "duration '%.*s' out of range (0 .. %llds)", TOK(t),
			  (long long)(max_us / 1000000));
		return -EINVAL;
	}
	*ret = llround(v);
	return 0;
}

static int parse_distance(const struct token *t, unsigned line, double *ret,
			  struct sim_parse_error *err)
{
	static const char *const units[] = {"m", "cm", NULL};
	static const double scale[] = {1.0, 0.01};
	double v;

	if (sim_util_parse_unit(t->s, t->len, units, scale, 0, &v) < 0) {
		set_error(err, line, t->col, "'%.*s' is not a distance (3m, 30cm)", TOK(t));
		return -EINVAL;
	}
	if (v < 0.1 || v > 100.0) {
		set_error(err, line, t->col, "distance '%.*s' out of range (0.1m .. 100m)", TOK(t));
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_number(const struct token *t, unsigned line, const char *const *units,
			const double *scale, double min, double max, const char *what,
			double *ret, struct sim_parse_error *err)
{
	double v;

	if (sim_util_parse_unit(t->s, t->len, units, scale, 1, &v) < 0) {
		set_error(err, line, t->col, "'%.*s' is not a valid %s", TOK(t), what);
		return -EINVAL;
	}
	if (v < min || v > max) {
		set_error(err, line, t->col, "%s '%.*s' out of range (%g .. %g)", what, TOK(t), min,
			  max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_uint(const struct token *t, unsigned line, uint64_t min, uint64_t max,
		      const char *what, uint64_t *ret, struct sim_parse_error *err)
{
	uint64_t v;
	int r = sim_util_parse_u64(t->s, t->len, max, &v);

	if (r == -EINVAL) {
		set_error(err, line, t->col, "'%.*s' is not a valid %s", TOK(t), what);
		return -EINVAL;
	}
	if (r < 0 || v < min) {
		set_error(err, line, t->col, "%s '%.*s' out of range (%llu .. %llu)", what, TOK(t),
			  (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* key=value; returns the position of '=' or -1. */
static int split_kv(const struct token *t, size_t *ret_eq)
{
	const char *eq = memchr(t->s, '=', t->len);

	if (!eq || eq == t->s || (size_t)(eq - t->s) + 1 == t->len)
		return -1;
	*ret_eq = (size_t)(eq - t->s);
	return 0;
}

static int need(const struct line *l, unsigned idx, const char *what,
		struct sim_parse_error *err)
{
	if (idx < l->n)
		return 0;
	set_error(err, l->number, l->end_col, "missing %s", what);
	return -EINVAL;
}

static int no_more(const struct line *l, unsigned idx, struct sim_parse_error *err)
{
	if (idx >= l->n)
		return 0;
	set_error(err, l->number, l->tok[idx].col, "unexpected '%.*s' at end of command",
		  TOK(&l->tok[idx]));
	return -EINVAL;
}

static int parse_on_off(const struct line *l, unsigned idx, const char *on, const char *off,
			bool *ret, struct sim_parse_error *err)
{
	char what[48];

	snprintf(what, sizeof(what), "%s or %s", on, off);
	if (need(l, idx, what, err) < 0)
		return -EINVAL;
	if (is(&l->tok[idx], on))
		*ret = true;
	else if (is(&l->tok[idx], off))
		*ret = false;
	else {
		set_error(err, l->number, l->tok[idx].col, "expected %s, got '%.*s'", what,
			  TOK(&l->tok[idx]));
		return -EINVAL;
	}
	return no_more(l, idx + 1, err);
}

static int parse_fault_ref(const struct line *l, unsigned idx, enum sim_fault *ret,
			   bool *ret_healthy, struct sim_parse_error *err)
{
	const struct token *t;
	int r;

	if (need(l, idx, "fault name (see `faults`)", err) < 0)
		return -EINVAL;
	t = &l->tok[idx];
	r = sim_fault_from_name(t->s, t->len, ret);
	if (r < 0) {
		set_error(err, l->number, t->col, "unknown fault '%.*s' (see `faults`)", TOK(t));
		return -EINVAL;
	}
	*ret_healthy = r == 1;
	return 0;
}

static int parse_fault_opts(const struct line *l, unsigned idx, enum sim_fault f,
			    struct sim_fault_opts *opts, struct sim_parse_error *err)
{
	sim_fault_opts_init(opts, f);
	for (unsigned i = idx; i < l->n; i++) {
		const struct token *t = &l->tok[i];
		const char *why;
		size_t eq;
		int r;

		if (split_kv(t, &eq) < 0) {
			set_error(err, l->number, t->col, "expected key=value, got '%.*s'", TOK(t));
			return -EINVAL;
		}
		r = sim_fault_opts_set(opts, f, t->s, eq, t->s + eq + 1, t->len - eq - 1, &why);
		if (r == -ENOENT) {
			set_error(err, l->number, t->col, "fault %s has no option '%.*s' (%s)",
				  sim_fault_name(f), (int)eq, t->s,
				  *sim_fault_opts_help(f) ? sim_fault_opts_help(f) : "none");
			return -EINVAL;
		}
		if (r < 0) {
			set_error(err, l->number, t->col + (unsigned)eq + 1, "%s", why);
			return -EINVAL;
		}
	}
	return 0;
}

/* --- commands ---------------------------------------------------------------------- */
static int parse_press(const struct line *l, unsigned idx, struct sim_command *c,
		       struct sim_parse_error *err)
{
	static const char *const names[_SIM_BUTTON_MAX] = {"fob_trunk", "fob_lock", "fob_unlock",
							   "interior", "exterior"};
	const struct token *t;
	bool fob;
	unsigned b;

	if (need(l, idx, "button (fob_trunk, fob_lock, fob_unlock, interior, exterior)", err) < 0)
		return -EINVAL;
	t = &l->tok[idx];
	for (b = 0; b < _SIM_BUTTON_MAX; b++)
		if (is(t, names[b]))
			break;
	if (b == _SIM_BUTTON_MAX) {
		set_error(err, l->number, t->col,
			  "unknown button '%.*s' (fob_trunk, fob_lock, fob_unlock, interior, exterior)",
			  TOK(t));
		return -EINVAL;
	}
	c->button = (enum sim_button)b;
	fob = b == SIM_BUTTON_FOB_TRUNK || b == SIM_BUTTON_FOB_LOCK || b == SIM_BUTTON_FOB_UNLOCK;
	for (unsigned i = idx + 1; i < l->n; i++) {
		struct token key, val;
		size_t eq;

		t = &l->tok[i];
		if (split_kv(t, &eq) < 0) {
			set_error(err, l->number, t->col, "expected key=value, got '%.*s'", TOK(t));
			return -EINVAL;
		}
		key = (struct token){.s = t->s, .len = eq, .col = t->col};
		val = (struct token){.s = t->s + eq + 1, .len = t->len - eq - 1,
				     .col = t->col + (unsigned)eq + 1};
		if (fob && is(&key, "fob")) {
			uint64_t v;
			if (parse_uint(&val, l->number, 0, SIM_MODEL_FOB_SLOTS - 1, "fob slot", &v,
				       err) < 0)
				return -EINVAL;
			c->fob = (unsigned)v;
		} else if (fob && is(&key, "distance")) {
			if (parse_distance(&val, l->number, &c->distance_m, err) < 0)
				return -EINVAL;
		} else if (!fob && is(&key, "for")) {
			if (parse_duration(&val, l->number, 3600LL * 1000000, &c->hold_us, err) < 0)
				return -EINVAL;
			if (c->hold_us < 1000) {
				set_error(err, l->number, val.col, "a press lasts at least 1ms");
				return -EINVAL;
			}
		} else {
			set_error(err, l->number, t->col, "press %s takes no option '%.*s' (%s)",
				  names[b], (int)eq, t->s,
				  fob ? "fob=N distance=D" : "for=DURATION");
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_set(const struct line *l, unsigned idx, struct sim_command *c,
		     struct sim_parse_error *err)
{
	static const char *const kmh[] = {"kmh", "km/h", NULL};
	static const double kmh_scale[] = {1.0, 1.0};
	static const char *const volt[] = {"V", NULL};
	static const double volt_scale[] = {1.0};
	const struct token *t;

	if (need(l, idx, "what to set (speed, gear, battery)", err) < 0)
		return -EINVAL;
	t = &l->tok[idx];
	if (is(t, "speed")) {
		c->type = SIM_COMMAND_SET_SPEED;
		if (need(l, idx + 1, "speed in km/h", err) < 0 ||
		    parse_number(&l->tok[idx + 1], l->number, kmh, kmh_scale, 0.0, 300.0, "speed",
				 &c->value, err) < 0)
			return -EINVAL;
	} else if (is(t, "battery")) {
		c->type = SIM_COMMAND_SET_BATTERY;
		if (need(l, idx + 1, "battery voltage", err) < 0 ||
		    parse_number(&l->tok[idx + 1], l->number, volt, volt_scale, 6.0, 16.0,
				 "battery voltage", &c->value, err) < 0)
			return -EINVAL;
	} else if (is(t, "gear")) {
		static const char *const gears[_SIM_GEAR_MAX] = {"P", "R", "N", "D"};
		unsigned g;
		c->type = SIM_COMMAND_SET_GEAR;
		if (need(l, idx + 1, "gear (P, R, N, D)", err) < 0)
			return -EINVAL;
		for (g = 0; g < _SIM_GEAR_MAX; g++)
			if (is(&l->tok[idx + 1], gears[g]))
				break;
		if (g == _SIM_GEAR_MAX) {
			set_error(err, l->number, l->tok[idx + 1].col,
				  "unknown gear '%.*s' (P, R, N, D)", TOK(&l->tok[idx + 1]));
			return -EINVAL;
		}
		c->gear = (enum sim_gear)g;
	} else {
		set_error(err, l->number, t->col, "cannot set '%.*s' (speed, gear, battery)",
			  TOK(t));
		return -EINVAL;
	}
	return no_more(l, idx + 2, err);
}

static int parse_fault_cmd(const struct line *l, unsigned idx, struct sim_command *c,
			   struct sim_parse_error *err)
{
	const struct token *t;
	bool healthy;

	if (need(l, idx, "add, remove or clear", err) < 0)
		return -EINVAL;
	t = &l->tok[idx];
	if (is(t, "clear")) {
		c->type = SIM_COMMAND_FAULT_CLEAR;
		return no_more(l, idx + 1, err);
	}
	if (!is(t, "add") && !is(t, "remove")) {
		set_error(err, l->number, t->col, "expected add, remove or clear, got '%.*s'",
			  TOK(t));
		return -EINVAL;
	}
	c->type = is(t, "add") ? SIM_COMMAND_FAULT_ADD : SIM_COMMAND_FAULT_REMOVE;
	if (parse_fault_ref(l, idx + 1, &c->fault, &healthy, err) < 0)
		return -EINVAL;
	if (healthy) {
		if (c->type == SIM_COMMAND_FAULT_REMOVE) {
			set_error(err, l->number, l->tok[idx + 1].col,
				  "'healthy' is no fault to remove (use fault clear)");
			return -EINVAL;
		}
		c->type = SIM_COMMAND_FAULT_CLEAR;
		return no_more(l, idx + 2, err);
	}
	if (c->type == SIM_COMMAND_FAULT_REMOVE)
		return no_more(l, idx + 2, err);
	return parse_fault_opts(l, idx + 2, c->fault, &c->opts, err);
}

/* Parses the command starting at token idx of l. */
static int parse_command(const struct line *l, unsigned idx, struct sim_command *ret,
			 struct sim_parse_error *err)
{
	struct sim_command c = {.ignition = SIM_IGNITION_RUN};
	const struct token *t = &l->tok[idx];
	int r;

	if (is(t, "press")) {
		c.type = SIM_COMMAND_PRESS;
		r = parse_press(l, idx + 1, &c, err);
	} else if (is(t, "key_blade")) {
		c.type = SIM_COMMAND_KEY_BLADE;
		r = no_more(l, idx + 1, err);
	} else if (is(t, "close_lid")) {
		c.type = SIM_COMMAND_CLOSE_LID;
		r = no_more(l, idx + 1, err);
	} else if (is(t, "ignition")) {
		static const char *const names[] = {"off", "acc", "on", "run", "start"};
		static const enum sim_ignition vals[] = {SIM_IGNITION_OFF, SIM_IGNITION_ACC,
							 SIM_IGNITION_RUN, SIM_IGNITION_RUN,
							 SIM_IGNITION_START};
		unsigned i;
		c.type = SIM_COMMAND_IGNITION;
		if (need(l, idx + 1, "ignition state (off, acc, on, start)", err) < 0)
			return -EINVAL;
		for (i = 0; i < 5; i++)
			if (is(&l->tok[idx + 1], names[i]))
				break;
		if (i == 5) {
			set_error(err, l->number, l->tok[idx + 1].col,
				  "unknown ignition state '%.*s' (off, acc, on, start)",
				  TOK(&l->tok[idx + 1]));
			return -EINVAL;
		}
		c.ignition = vals[i];
		r = no_more(l, idx + 2, err);
	} else if (is(t, "set")) {
		r = parse_set(l, idx + 1, &c, err);
	} else if (is(t, "alarm")) {
		c.type = SIM_COMMAND_ALARM;
		r = parse_on_off(l, idx + 1, "arm", "disarm", &c.on, err);
	} else if (is(t, "aftermarket")) {
		c.type = SIM_COMMAND_AFTERMARKET;
		r = parse_on_off(l, idx + 1, "arm", "disarm", &c.on, err);
	} else if (is(t, "valet")) {
		c.type = SIM_COMMAND_VALET;
		r = parse_on_off(l, idx + 1, "on", "off", &c.on, err);
	} else if (is(t, "fault")) {
		r = parse_fault_cmd(l, idx + 1, &c, err);
	} else if (is(t, "dtc")) {
		c.type = SIM_COMMAND_DTC;
		if (idx + 1 < l->n && is(&l->tok[idx + 1], "clear")) {
			c.type = SIM_COMMAND_DTC_CLEAR;
			idx++;
		}
		r = no_more(l, idx + 1, err);
	} else if (is(t, "status")) {
		c.type = SIM_COMMAND_STATUS;
		r = no_more(l, idx + 1, err);
	} else if (is(t, "faults")) {
		c.type = SIM_COMMAND_FAULTS;
		r = no_more(l, idx + 1, err);
	} else if (is(t, "help")) {
		c.type = SIM_COMMAND_HELP;
		r = no_more(l, idx + 1, err);
	} else if (is(t, "quit")) {
		c.type = SIM_COMMAND_QUIT;
		r = no_more(l, idx + 1, err);
	} else {
		set_error(err, l->number, t->col, "unknown command '%.*s' (try help)", TOK(t));
		return -EINVAL;
	}
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

bool sim_command_is_query(enum sim_command_type t)
{
	return t == SIM_COMMAND_STATUS || t == SIM_COMMAND_DTC || t == SIM_COMMAND_FAULTS ||
	       t == SIM_COMMAND_HELP || t == SIM_COMMAND_QUIT;
}

int sim_command_parse(const char *line, size_t len, struct sim_command *ret,
		      struct sim_parse_error *ret_err)
{
	struct line l;

	if (len > SIM_SCENARIO_LINE_MAX) {
		set_error(ret_err, 1, SIM_SCENARIO_LINE_MAX + 1, "line too long (at most %u bytes)",
			  SIM_SCENARIO_LINE_MAX);
		return -EINVAL;
	}
	if (tokenize(line, len, 1, &l, ret_err) < 0)
		return -EINVAL;
	if (l.n == 0)
		return -ENODATA;
	return parse_command(&l, 0, ret, ret_err);
}

int sim_command_apply(const struct sim_command *c, struct sim_model *m)
{
	switch (c->type) {
	case SIM_COMMAND_PRESS:
		return sim_model_press(m, c->button, c->fob, c->distance_m, c->hold_us);
	case SIM_COMMAND_KEY_BLADE:
		return sim_model_key_blade(m);
	case SIM_COMMAND_CLOSE_LID:
		return sim_model_close_lid(m);
	case SIM_COMMAND_IGNITION:
		return sim_model_set_ignition(m, c->ignition);
	case SIM_COMMAND_SET_SPEED:
		return sim_model_set_speed(m, c->value);
	case SIM_COMMAND_SET_GEAR:
		return sim_model_set_gear(m, c->gear);
	case SIM_COMMAND_SET_BATTERY:
		return sim_model_set_battery(m, c->value);
	case SIM_COMMAND_ALARM:
		return sim_model_set_perimeter_alarm(m, c->on);
	case SIM_COMMAND_AFTERMARKET:
		return sim_model_set_aftermarket_armed(m, c->on);
	case SIM_COMMAND_VALET:
		return sim_model_set_valet(m, c->on);
	case SIM_COMMAND_FAULT_ADD:
		return sim_model_fault_add(m, c->fault, &c->opts);
	case SIM_COMMAND_FAULT_REMOVE:
		return sim_model_fault_remove(m, c->fault);
	case SIM_COMMAND_FAULT_CLEAR:
		sim_model_fault_clear(m);
		return 0;
	case SIM_COMMAND_DTC_CLEAR:
		return sim_model_dtc_clear(m, 0xFFFFFF) < 0 ? -ENOENT : 0;
	case SIM_COMMAND_STATUS:
	case SIM_COMMAND_DTC:
	case SIM_COMMAND_FAULTS:
	case SIM_COMMAND_HELP:
	case SIM_COMMAND_QUIT:
	case _SIM_COMMAND_MAX:
		break;
	}
	return -EINVAL;
}

const char *sim_command_help(void)
{
	return "press fob_trunk|fob_lock|fob_unlock [fob=N] [distance=3m]\n"
	       "press interior|exterior [for=250ms]\n"
	       "key_blade\n"
	       "close_lid\n"
	       "ignition off|acc|on|start\n"
	       "set speed KMH | set gear P|R|N|D | set battery VOLTS\n"
	       "alarm arm|disarm\n"
	       "aftermarket arm|disarm\n"
	       "valet on|off\n"
	       "fault add NAME [key=value...] | fault remove NAME | fault clear\n"
	       "dtc | dtc clear\n"
	       "status\n"
	       "faults\n"
	       "help\n"
	       "quit\n";
}

/* --- scenarios --------------------------------------------------------------------- */
struct sim_scenario {
	bool has_seed, has_lockout, has_confirm, has_aging, has_fobs, has_battery, has_distance;
	unsigned seed_line, lockout_line, confirm_line, aging_line, fobs_line, battery_line,
		distance_line, jitter_line, noise_line, end_line;
	uint64_t seed;
	int64_t lockout_us;
	uint64_t confirm, aging, fobs;
	double battery_v, distance_m;
	int64_t jitter_us;
	double noise_per_s;
	int64_t end_us;
	bool has_end;
	enum sim_fault faults[SIM_SCENARIO_FAULTS_MAX];
	struct sim_fault_opts fault_opts[SIM_SCENARIO_FAULTS_MAX];
	unsigned fault_lines[SIM_SCENARIO_FAULTS_MAX];
	size_t n_faults;
	unsigned healthy_line;
	struct sim_scenario_step *steps;
	size_t n_steps, cap_steps;
};

struct sim_scenario_parser {
	struct sim_scenario *sc;
	char buf[SIM_SCENARIO_LINE_MAX + 1];
	size_t len;
	bool overflow;
	unsigned line;
	unsigned statements;
	int err;
	struct sim_parse_error error;
};

struct sim_scenario *sim_scenario_free(struct sim_scenario *sc)
{
	if (!sc)
		return NULL;
	free(sc->steps);
	free(sc);
	return NULL;
}

int sim_scenario_parser_new(struct sim_scenario_parser **ret)
{
	struct sim_scenario_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->sc = calloc(1, sizeof(*p->sc));
	if (!p->sc) {
		free(p);
		return -ENOMEM;
	}
	p->line = 1;
	*ret = p;
	return 0;
}

struct sim_scenario_parser *sim_scenario_parser_free(struct sim_scenario_parser *p)
{
	if (!p)
		return NULL;
	sim_scenario_free(p->sc);
	free(p);
	return NULL;
}

static int once(bool *has, unsigned *first_line, const struct line *l, const char *what,
		struct sim_parse_error *err)
{
	if (*has) {
		set_error(err, l->number, l->tok[0].col, "%s given twice (first on line %u)", what,
			  *first_line);
		return -EINVAL;
	}
	*has = true;
	*first_line = l->number;
	return 0;
}

static int add_step(struct sim_scenario *sc, int64_t t, unsigned line,
		    const struct sim_command *c)
{
	if (sc->n_steps == sc->cap_steps) {
		size_t cap = sc->cap_steps ? sc->cap_steps * 2 : 32;
		struct sim_scenario_step *n = realloc(sc->steps, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		sc->steps = n;
		sc->cap_steps = cap;
	}
	sc->steps[sc->n_steps++] = (struct sim_scenario_step){.t_us = t, .line = line, .cmd = *c};
	return 0;
}

static int parse_statement(struct sim_scenario_parser *p, const struct line *l,
			   struct sim_parse_error *err)
{
	struct sim_scenario *sc = p->sc;
	const struct token *t = &l->tok[0];
	bool first = p->statements++ == 0;
	int64_t d;

	if (is(t, "format")) {
		if (!first) {
			set_error(err, l->number, t->col, "format must be the first statement");
			return -EINVAL;
		}
		if (need(l, 1, "format version", err) < 0)
			return -EINVAL;
		if (!is(&l->tok[1], "1")) {
			set_error(err, l->number, l->tok[1].col,
				  "unsupported format '%.*s' (this simulator reads format 1)",
				  TOK(&l->tok[1]));
			return -EINVAL;
		}
		return no_more(l, 2, err);
	}
	if (is(t, "seed")) {
		if (once(&sc->has_seed, &sc->seed_line, l, "seed", err) < 0 ||
		    need(l, 1, "seed value", err) < 0 ||
		    parse_uint(&l->tok[1], l->number, 0, UINT64_MAX, "seed", &sc->seed, err) < 0)
			return -EINVAL;
		return no_more(l, 2, err);
	}
	if (is(t, "lockout")) {
		if (once(&sc->has_lockout, &sc->lockout_line, l, "lockout", err) < 0 ||
		    need(l, 1, "lockout duration (30s .. 3min)", err) < 0 ||
		    parse_duration(&l->tok[1], l->number, 180LL * 1000000, &sc->lockout_us, err) < 0)
			return -EINVAL;
		if (sc->lockout_us < 30LL * 1000000) {
			set_error(err, l->number, l->tok[1].col,
				  "lockout must be 30s .. 3min (real BCMs block the output that long)");
			return -EINVAL;
		}
		return no_more(l, 2, err);
	}
	if (is(t, "confirm_cycles") || is(t, "aging_cycles") || is(t, "fobs")) {
		bool c = is(t, "confirm_cycles"), a = is(t, "aging_cycles");
		bool *has = c ? &sc->has_confirm : a ? &sc->has_aging : &sc->has_fobs;
		unsigned *fl = c ? &sc->confirm_line : a ? &sc->aging_line : &sc->fobs_line;
		uint64_t *dst = c ? &sc->confirm : a ? &sc->aging : &sc->fobs;
		const char *what = c ? "confirm_cycles" : a ? "aging_cycles" : "fobs";
		if (once(has, fl, l, what, err) < 0 || need(l, 1, "a number", err) < 0 ||
		    parse_uint(&l->tok[1], l->number, 1, c || a ? 255 : SIM_MODEL_FOB_SLOTS, what,
			       dst, err) < 0)
			return -EINVAL;
		return no_more(l, 2, err);
	}
	if (is(t, "battery")) {
		static const char *const volt[] = {"V", NULL};
		static const double volt_scale[] = {1.0};
		if (once(&sc->has_battery, &sc->battery_line, l, "battery", err) < 0 ||
		    need(l, 1, "battery voltage", err) < 0 ||
		    parse_number(&l->tok[1], l->number, volt, volt_scale, 9.0, 16.0,
				 "battery voltage", &sc->battery_v, err) < 0)
			return -EINVAL;
		return no_more(l, 2, err);
	}
	if (is(t, "distance")) {
		if (once(&sc->has_distance, &sc->distance_line, l, "distance", err) < 0 ||
		    need(l, 1, "fob distance", err) < 0 ||
		    parse_distance(&l->tok[1], l->number, &sc->distance_m, err) < 0)
			return -EINVAL;
		return no_more(l, 2, err);
	}
	if (is(t, "jitter")) {
		bool has = sc->jitter_line != 0;
		if (once(&has, &sc->jitter_line, l, "jitter", err) < 0 ||
		    need(l, 1, "jitter duration", err) < 0 ||
		    parse_duration(&l->tok[1], l->number, 100000, &sc->jitter_us, err) < 0)
			return -EINVAL;
		return no_more(l, 2, err);
	}
	if (is(t, "noise")) {
		const struct token *v;
		double rate;
		bool has = sc->noise_line != 0;
		if (once(&has, &sc->noise_line, l, "noise", err) < 0 ||
		    need(l, 1, "noise rate (frames per second, like 10/s)", err) < 0)
			return -EINVAL;
		v = &l->tok[1];
		if (v->len < 3 || memcmp(v->s + v->len - 2, "/s", 2) != 0 ||
		    sim_util_parse_double(v->s, v->len - 2, &rate) < 0) {
			set_error(err, l->number, v->col, "'%.*s' is not a rate (like 10/s)", TOK(v));
			return -EINVAL;
		}
		if (rate < 0.0 || rate > 1000.0) {
			set_error(err, l->number, v->col, "noise rate '%.*s' out of range (0 .. 1000/s)",
				  TOK(v));
			return -EINVAL;
		}
		sc->noise_per_s = rate;
		return no_more(l, 2, err);
	}
	if (is(t, "end")) {
		bool has = sc->has_end;
		if (once(&has, &sc->end_line, l, "end", err) < 0 ||
		    need(l, 1, "end time", err) < 0 ||
		    parse_duration(&l->tok[1], l->number, SIM_SCENARIO_TIME_MAX_US, &sc->end_us,
				   err) < 0)
			return -EINVAL;
		sc->has_end = true;
		return no_more(l, 2, err);
	}
	if (is(t, "fault")) {
		enum sim_fault f;
		bool healthy;
		if (parse_fault_ref(l, 1, &f, &healthy, err) < 0)
			return -EINVAL;
		if (healthy) {
			if (sc->n_faults > 0) {
				set_error(err, l->number, l->tok[1].col,
					  "'healthy' cannot be combined with faults (line %u)",
					  sc->fault_lines[0]);
				return -EINVAL;
			}
			sc->healthy_line = l->number;
			return no_more(l, 2, err);
		}
		if (sc->healthy_line) {
			set_error(err, l->number, l->tok[1].col,
				  "faults cannot be combined with 'healthy' (line %u)",
				  sc->healthy_line);
			return -EINVAL;
		}
		for (size_t i = 0; i < sc->n_faults; i++) {
			if (sc->faults[i] == f) {
				set_error(err, l->number, l->tok[1].col,
					  "fault %s given twice (first on line %u)",
					  sim_fault_name(f), sc->fault_lines[i]);
				return -EINVAL;
			}
		}
		/* Duplicates are refused above, so every fault fits. */
		_Static_assert(SIM_SCENARIO_FAULTS_MAX >= _SIM_FAULT_MAX, "fault list too short");
		if (parse_fault_opts(l, 2, f, &sc->fault_opts[sc->n_faults], err) < 0)
			return -EINVAL;
		sc->faults[sc->n_faults] = f;
		sc->fault_lines[sc->n_faults++] = l->number;
		return 0;
	}
	if (is(t, "at")) {
		struct sim_command c;
		if (need(l, 1, "time (like 1.5s)", err) < 0 ||
		    parse_duration(&l->tok[1], l->number, SIM_SCENARIO_TIME_MAX_US, &d, err) < 0)
			return -EINVAL;
		if (sc->n_steps > 0 && d < sc->steps[sc->n_steps - 1].t_us) {
			set_error(err, l->number, l->tok[1].col,
				  "time goes backwards (line %u is at %.3fs)",
				  sc->steps[sc->n_steps - 1].line,
				  (double)sc->steps[sc->n_steps - 1].t_us / 1e6);
			return -EINVAL;
		}
		if (need(l, 2, "command after the time", err) < 0 || parse_command(l, 2, &c, err) < 0)
			return -EINVAL;
		if (sim_command_is_query(c.type)) {
			set_error(err, l->number, l->tok[2].col,
				  "'%.*s' is a control-channel query, not a scenario action",
				  TOK(&l->tok[2]));
			return -EINVAL;
		}
		if (sc->n_steps == SIM_SCENARIO_STEPS_MAX) {
			set_error(err, l->number, t->col, "too many steps (at most %u)",
				  SIM_SCENARIO_STEPS_MAX);
			return -EINVAL;
		}
		if (add_step(sc, d, l->number, &c) < 0)
			return -ENOMEM;
		return 0;
	}
	set_error(err, l->number, t->col,
		  "unknown statement '%.*s' (format, seed, fault, jitter, noise, lockout, "
		  "confirm_cycles, aging_cycles, fobs, battery, distance, end, at)",
		  TOK(t));
	return -EINVAL;
}

static int parse_line(struct sim_scenario_parser *p, struct sim_parse_error *err)
{
	struct line l;

	if (tokenize(p->buf, p->len, p->line, &l, err) < 0)
		return -EINVAL;
	if (l.n == 0)
		return 0;
	return parse_statement(p, &l, err);
}

static int fail(struct sim_scenario_parser *p, int r, struct sim_parse_error *ret_err)
{
	p->err = r;
	if (ret_err)
		*ret_err = p->error;
	return r;
}

int sim_scenario_parser_feed(struct sim_scenario_parser *p, const char *buf, size_t len,
			     struct sim_parse_error *ret_err)
{
	int r;

	if (p->err)
		return fail(p, p->err, ret_err);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n') {
			if (p->len == SIM_SCENARIO_LINE_MAX) {
				set_error(&p->error, p->line, SIM_SCENARIO_LINE_MAX + 1,
					  "line too long (at most %u bytes)", SIM_SCENARIO_LINE_MAX);
				return fail(p, -EINVAL, ret_err);
			}
			p->buf[p->len++] = buf[i];
			continue;
		}
		r = parse_line(p, &p->error);
		if (r < 0)
			return fail(p, r, ret_err);
		p->len = 0;
		p->line++;
	}
	return 0;
}

int sim_scenario_parser_finish(struct sim_scenario_parser *p, struct sim_scenario **ret,
			       struct sim_parse_error *ret_err)
{
	int r;

	if (p->err)
		return fail(p, p->err, ret_err);
	if (p->len > 0) {
		r = parse_line(p, &p->error);
		if (r < 0)
			return fail(p, r, ret_err);
		p->len = 0;
	}
	if (p->sc->has_end && p->sc->n_steps > 0 &&
	    p->sc->end_us < p->sc->steps[p->sc->n_steps - 1].t_us) {
		set_error(&p->error, p->sc->end_line, 1, "end is before the last step (line %u)",
			  p->sc->steps[p->sc->n_steps - 1].line);
		return fail(p, -EINVAL, ret_err);
	}
	*ret = p->sc;
	p->sc = NULL;
	p->err = -EALREADY; /* the scenario is handed out; the parser is spent */
	set_error(&p->error, p->line, 1, "parser already finished");
	return 0;
}

int sim_scenario_parse(const char *buf, size_t len, struct sim_scenario **ret,
		       struct sim_parse_error *ret_err)
{
	struct sim_scenario_parser *p;
	int r;

	r = sim_scenario_parser_new(&p);
	if (r < 0)
		return r;
	r = sim_scenario_parser_feed(p, buf, len, ret_err);
	if (r >= 0)
		r = sim_scenario_parser_finish(p, ret, ret_err);
	sim_scenario_parser_free(p);
	return r;
}

void sim_scenario_model_config(const struct sim_scenario *sc, struct sim_model_config *cfg)
{
	if (sc->has_seed)
		cfg->seed = sc->seed;
	if (sc->has_lockout)
		cfg->lockout_ms = (uint32_t)(sc->lockout_us / 1000);
	if (sc->has_confirm)
		cfg->confirm_cycles = (uint8_t)sc->confirm;
	if (sc->has_aging)
		cfg->aging_cycles = (uint8_t)sc->aging;
	if (sc->has_fobs)
		cfg->fob_count = (unsigned)sc->fobs;
	if (sc->has_battery)
		cfg->battery_v = sc->battery_v;
	if (sc->has_distance)
		cfg->fob_distance_m = sc->distance_m;
}

int64_t sim_scenario_jitter_us(const struct sim_scenario *sc)
{
	return sc->jitter_us;
}

double sim_scenario_noise_per_s(const struct sim_scenario *sc)
{
	return sc->noise_per_s;
}

int64_t sim_scenario_end_us(const struct sim_scenario *sc)
{
	if (sc->has_end)
		return sc->end_us;
	return (sc->n_steps ? sc->steps[sc->n_steps - 1].t_us : 0) + 5000000;
}

size_t sim_scenario_n_steps(const struct sim_scenario *sc)
{
	return sc->n_steps;
}

const struct sim_scenario_step *sim_scenario_step(const struct sim_scenario *sc, size_t i)
{
	return i < sc->n_steps ? &sc->steps[i] : NULL;
}

int sim_scenario_start(const struct sim_scenario *sc, struct sim_model *m)
{
	for (size_t i = 0; i < sc->n_faults; i++) {
		int r = sim_model_fault_add(m, sc->faults[i], &sc->fault_opts[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int sim_scenario_advance(const struct sim_scenario *sc, struct sim_model *m, size_t *cursor,
			 int64_t now_us)
{
	int r;

	while (*cursor < sc->n_steps && sc->steps[*cursor].t_us <= now_us) {
		const struct sim_scenario_step *s = &sc->steps[*cursor];
		if (s->t_us > sim_model_now(m)) {
			r = sim_model_step(m, s->t_us);
			if (r < 0)
				return r;
		}
		r = sim_command_apply(&s->cmd, m);
		if (r < 0)
			return r;
		(*cursor)++;
	}
	return sim_model_step(m, now_us);
}
