/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/isotp_addr.h"
#include "bytes.h"

/* ISO 15765-2:2016 10.3.3 / 10.3.5: the priority 6 (0x18) and the PF bytes of the fixed
 * formats. 0xDA/0xDB: normal fixed physical/functional; 0xCE/0xCD: mixed physical/functional. */
#define FIXED_PHYS_BASE 0x18DA0000u
#define MIXED_PHYS_BASE 0x18CE0000u

static const char *const mode_names[ISOTP_ADDR_MODE_MAX] = {
    [ISOTP_ADDR_NORMAL] = "normal",
    [ISOTP_ADDR_NORMAL_FIXED] = "normal_fixed",
    [ISOTP_ADDR_MIXED] = "mixed",
    [ISOTP_ADDR_EXTENDED] = "extended",
};

/* The compact form's prefixes, in the same order. */
static const char *const mode_short[ISOTP_ADDR_MODE_MAX] = {
    [ISOTP_ADDR_NORMAL] = "normal",
    [ISOTP_ADDR_NORMAL_FIXED] = "fixed",
    [ISOTP_ADDR_MIXED] = "mixed",
    [ISOTP_ADDR_EXTENDED] = "ext",
};

const char *isotp_addr_mode_name(enum isotp_addr_mode m)
{
	return (unsigned)m < ISOTP_ADDR_MODE_MAX ? mode_names[m] : "?";
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

int isotp_addr_mode_parse(const char *s, size_t n, enum isotp_addr_mode *ret)
{
	for (enum isotp_addr_mode m = 0; m < ISOTP_ADDR_MODE_MAX; m++)
		if (word_is(s, n, mode_names[m]) || word_is(s, n, mode_short[m])) {
			*ret = m;
			return 0;
		}
	return -EINVAL;
}

static void clear(struct isotp_addr *a, enum isotp_addr_mode mode)
{
	*a = (struct isotp_addr){.mode = mode, .padding = -1};
}

void isotp_addr_init_normal(struct isotp_addr *a, uint32_t tx_id, uint32_t rx_id)
{
	clear(a, ISOTP_ADDR_NORMAL);
	a->tx_id = tx_id;
	a->rx_id = rx_id;
	a->ext_ids = tx_id > 0x7FF || rx_id > 0x7FF;
}

void isotp_addr_init_fixed(struct isotp_addr *a, uint8_t target, uint8_t source)
{
	clear(a, ISOTP_ADDR_NORMAL_FIXED);
	a->target = target;
	a->source = source;
	a->tx_id = FIXED_PHYS_BASE | (uint32_t)target << 8 | source;
	a->rx_id = FIXED_PHYS_BASE | (uint32_t)source << 8 | target;
	a->ext_ids = true;
}

/* 29-bit mixed ids carry TA/SA like the fixed format: keep them for display. */
static void mixed_ta_sa(struct isotp_addr *a)
{
	if (a->ext_ids && (a->tx_id & 0xFFFF0000u) == MIXED_PHYS_BASE &&
	    (a->rx_id & 0xFFFF0000u) == MIXED_PHYS_BASE) {
		a->target = (uint8_t)(a->tx_id >> 8);
		a->source = (uint8_t)a->tx_id;
	}
}

void isotp_addr_init_mixed(struct isotp_addr *a, uint32_t tx_id, uint32_t rx_id, uint8_t ae)
{
	clear(a, ISOTP_ADDR_MIXED);
	a->tx_id = tx_id;
	a->rx_id = rx_id;
	a->ext_ids = tx_id > 0x7FF || rx_id > 0x7FF;
	a->tx_ea = a->rx_ea = ae;
	mixed_ta_sa(a);
}

void isotp_addr_init_mixed29(struct isotp_addr *a, uint8_t target, uint8_t source, uint8_t ae)
{
	isotp_addr_init_mixed(a, MIXED_PHYS_BASE | (uint32_t)target << 8 | source,
			      MIXED_PHYS_BASE | (uint32_t)source << 8 | target, ae);
}

void isotp_addr_init_extended(struct isotp_addr *a, uint32_t tx_id, uint32_t rx_id, uint8_t target,
			      int source)
{
	clear(a, ISOTP_ADDR_EXTENDED);
	a->tx_id = tx_id;
	a->rx_id = rx_id;
	a->ext_ids = tx_id > 0x7FF || rx_id > 0x7FF;
	a->tx_ea = target;
	a->rx_ea = source >= 0 ? (uint8_t)source : target;
}

static bool stmin_valid(uint8_t v)
{
	return v <= 0x7F || (v >= 0xF1 && v <= 0xF9);
}

int isotp_addr_check(const struct isotp_addr *a, char *err, size_t errcap)
{
	uint32_t max = a->ext_ids ? 0x1FFFFFFFu : 0x7FFu;

	if ((unsigned)a->mode >= ISOTP_ADDR_MODE_MAX)
		return bytes_errf(err, errcap, "unknown addressing mode");
	if (a->tx_id > max || a->rx_id > max || a->functional_id > max)
		return bytes_errf(err, errcap, "CAN id above 0x%X", max);
	if (a->tx_id == a->rx_id)
		return bytes_errf(err, errcap, "request and response id are the same (0x%X)",
				  a->tx_id);
	if (a->padding < -1 || a->padding > 0xFF)
		return bytes_errf(err, errcap, "padding byte out of range");
	if (!stmin_valid(a->stmin))
		return bytes_errf(err, errcap, "STmin 0x%02X is reserved (0x00-0x7F, 0xF1-0xF9)",
				  a->stmin);
	if (a->mode == ISOTP_ADDR_NORMAL_FIXED) {
		struct isotp_addr f;
		isotp_addr_init_fixed(&f, a->target, a->source);
		if (!a->ext_ids || a->tx_id != f.tx_id || a->rx_id != f.rx_id)
			return bytes_errf(err, errcap,
					  "normal_fixed ids must be 0x18DA<TA><SA>/0x18DA<SA><TA>");
		if (a->target == a->source)
			return bytes_errf(err, errcap,
					  "target and source address are the same (0x%02X)",
					  a->target);
	}
	return 0;
}

bool isotp_addr_equal(const struct isotp_addr *a, const struct isotp_addr *b)
{
	return a->mode == b->mode && a->tx_id == b->tx_id && a->rx_id == b->rx_id &&
	       a->functional_id == b->functional_id && a->ext_ids == b->ext_ids &&
	       a->target == b->target && a->source == b->source && a->tx_ea == b->tx_ea &&
	       a->rx_ea == b->rx_ea && a->padding == b->padding && a->bs == b->bs &&
	       a->stmin == b->stmin;
}

/* ---- the compact form ---- */

struct cur {
	const char *s;
	size_t n, i;
	struct isotp_addr_error *err;
};

static int cfail(struct cur *c, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfail(struct cur *c, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (c->err) {
		c->err->column = (unsigned)at + 1;
		va_start(ap, fmt);
		vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Hex number with optional 0x, at most max. Advances c->i. */
static int hex_at(struct cur *c, uint32_t max, const char *what, uint32_t *ret)
{
	size_t a = c->i;
	uint32_t v = 0;

	switch (bytes_hex(c->s, c->n, &c->i, max, &v)) {
	case 0:
		*ret = v;
		return 0;
	case -E2BIG:
		return cfail(c, a, "%s: too many hex digits", what);
	case -ERANGE:
		return cfail(c, a, "%s: %.*s is above 0x%X", what, (int)(c->i - a), c->s + a, max);
	default:
		return cfail(c, a, "%s: expected a hex number", what);
	}
}

static size_t token_end(const struct cur *c)
{
	size_t e = c->i;
	while (e < c->n && c->s[e] != ',')
		e++;
	return e;
}

int isotp_addr_parse_stmin(const char *s, size_t n, uint8_t *ret)
{
	uint32_t v = 0;
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (v > 100000)
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
		i++;
	}
	if (i == 0)
		return -EINVAL;
	if (i == n || (n - i == 2 && memcmp(s + i, "ms", 2) == 0)) {
		if (v > 127)
			return -EINVAL;
		*ret = (uint8_t)v;
		return 0;
	}
	if (n - i == 2 && memcmp(s + i, "us", 2) == 0) {
		/* ISO 15765-2:2016 table 25: 0xF1-0xF9 are 100-900 µs. */
		if (v < 100 || v > 900 || v % 100 != 0)
			return -EINVAL;
		*ret = (uint8_t)(0xF0 + v / 100);
		return 0;
	}
	return -EINVAL;
}

int isotp_addr_format_stmin(uint8_t stmin, char *buf, size_t size)
{
	if (stmin >= 0xF1 && stmin <= 0xF9)
		return snprintf(buf, size, "%uus", (unsigned)(stmin - 0xF0) * 100);
	return snprintf(buf, size, "%ums", (unsigned)stmin);
}

int isotp_addr_parse(const char *s, size_t n, struct isotp_addr *ret,
		     struct isotp_addr_error *ret_err)
{
	struct cur c = {.s = s, .n = n, .err = ret_err};
	enum isotp_addr_mode mode = ISOTP_ADDR_NORMAL;
	struct isotp_addr a;
	uint32_t first, second;
	int ta = -1, sa = -1, ae = -1, pad = -1, bs = -1, stmin = -1;
	uint32_t func = 0;
	char why[128];

	for (size_t k = 0; k < n; k++)
		if (s[k] == ':') {
			if (isotp_addr_mode_parse(s, k, &mode) < 0)
				return cfail(
				    &c, 0,
				    "unknown addressing mode '%.*s' (normal, fixed, mixed, ext)",
				    (int)(k > 20 ? 20 : k), s);
			c.i = k + 1;
			break;
		}
	if (hex_at(&c, mode == ISOTP_ADDR_NORMAL_FIXED ? 0xFF : 0x1FFFFFFF,
		   mode == ISOTP_ADDR_NORMAL_FIXED ? "target address" : "request id", &first) < 0)
		return -EINVAL;
	if (c.i >= n || s[c.i] != '/')
		return cfail(&c, c.i, "expected '/' and the %s",
			     mode == ISOTP_ADDR_NORMAL_FIXED ? "source address" : "response id");
	c.i++;
	if (hex_at(&c, mode == ISOTP_ADDR_NORMAL_FIXED ? 0xFF : 0x1FFFFFFF,
		   mode == ISOTP_ADDR_NORMAL_FIXED ? "source address" : "response id", &second) < 0)
		return -EINVAL;
	while (c.i < n) {
		if (s[c.i] != ',')
			return cfail(&c, c.i, "expected ',' before the next option");
		c.i++;
		size_t k = c.i, e = token_end(&c), eq = k;
		while (eq < e && s[eq] != '=')
			eq++;
		if (eq == e)
			return cfail(&c, k, "expected KEY=VALUE");
		int *dst = NULL;
		uint32_t v;
		c.i = eq + 1;
		if (word_is(s + k, eq - k, "ta"))
			dst = &ta;
		else if (word_is(s + k, eq - k, "sa"))
			dst = &sa;
		else if (word_is(s + k, eq - k, "ae"))
			dst = &ae;
		else if (word_is(s + k, eq - k, "pad"))
			dst = &pad;
		if (dst) {
			if (*dst >= 0)
				return cfail(&c, k, "'%.*s' given twice", (int)(eq - k), s + k);
			if (hex_at(&c, 0xFF, "address byte", &v) < 0)
				return -EINVAL;
			*dst = (int)v;
		} else if (word_is(s + k, eq - k, "func")) {
			if (func)
				return cfail(&c, k, "'func' given twice");
			if (hex_at(&c, 0x1FFFFFFF, "functional id", &v) < 0)
				return -EINVAL;
			if (v == 0)
				return cfail(&c, eq + 1,
					     "functional id 0 means none: leave it out");
			func = v;
		} else if (word_is(s + k, eq - k, "bs")) {
			size_t d = c.i;
			v = 0;
			while (c.i < e && s[c.i] >= '0' && s[c.i] <= '9' && v <= 255)
				v = v * 10 + (unsigned)(s[c.i++] - '0');
			if (c.i == d || v > 255 || bs >= 0)
				return cfail(&c, d, "bs: expected one decimal 0..255");
			bs = (int)v;
		} else if (word_is(s + k, eq - k, "stmin")) {
			uint8_t code;
			if (stmin >= 0 || isotp_addr_parse_stmin(s + c.i, e - c.i, &code) < 0)
				return cfail(&c, c.i,
					     "stmin: expected 0..127 ms or 100us..900us, once");
			stmin = code;
			c.i = e;
		} else {
			return cfail(&c, k,
				     "unknown option '%.*s' (ta, sa, ae, pad, func, bs, stmin)",
				     (int)(eq - k > 20 ? 20 : eq - k), s + k);
		}
		if (c.i != e)
			return cfail(&c, c.i, "unexpected text after the value");
	}

	switch (mode) {
	case ISOTP_ADDR_NORMAL:
		if (ta >= 0 || sa >= 0 || ae >= 0)
			return cfail(&c, 0, "normal addressing takes no ta/sa/ae");
		isotp_addr_init_normal(&a, first, second);
		break;
	case ISOTP_ADDR_NORMAL_FIXED:
		if (ta >= 0 || sa >= 0 || ae >= 0)
			return cfail(&c, 0,
				     "fixed addressing: TA/SA are the two numbers; no ta/sa/ae");
		isotp_addr_init_fixed(&a, (uint8_t)first, (uint8_t)second);
		break;
	case ISOTP_ADDR_MIXED:
		if (ae < 0 || ta >= 0 || sa >= 0)
			return cfail(&c, 0, "mixed addressing needs ae= (and takes no ta/sa)");
		isotp_addr_init_mixed(&a, first, second, (uint8_t)ae);
		break;
	case ISOTP_ADDR_EXTENDED:
		if (ta < 0 || ae >= 0)
			return cfail(&c, 0, "extended addressing needs ta= (and takes no ae)");
		isotp_addr_init_extended(&a, first, second, (uint8_t)ta, sa);
		break;
	case ISOTP_ADDR_MODE_MAX:
		return cfail(&c, 0, "unknown addressing mode");
	}
	a.padding = pad;
	a.bs = bs >= 0 ? (uint8_t)bs : 0;
	a.stmin = stmin >= 0 ? (uint8_t)stmin : 0;
	a.functional_id = func;
	if (func > 0x7FF && !a.ext_ids)
		return cfail(&c, 0, "functional id 0x%X is 29-bit but the ids are 11-bit", func);
	if (isotp_addr_check(&a, why, sizeof(why)) < 0)
		return cfail(&c, 0, "%s", why);
	*ret = a;
	return 0;
}

/* Ids print as 3 hex digits when 11-bit, 8 when 29-bit (can-utils' habit). */
static int put_id(char *buf, size_t size, uint32_t id, bool ext)
{
	return snprintf(buf, size, ext ? "0x%08X" : "0x%03X", id);
}

int isotp_addr_format(const struct isotp_addr *a, char *buf, size_t size)
{
	char tmp[160], st[16];
	size_t o = 0;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int _n = snprintf(tmp + o, sizeof(tmp) - o, __VA_ARGS__);                          \
		if (_n > 0)                                                                        \
			o += (size_t)_n < sizeof(tmp) - o ? (size_t)_n : sizeof(tmp) - o - 1;      \
	} while (0)

	PUT("%s:", (unsigned)a->mode < ISOTP_ADDR_MODE_MAX ? mode_short[a->mode] : "?");
	if (a->mode == ISOTP_ADDR_NORMAL_FIXED) {
		PUT("0x%02X/0x%02X", a->target, a->source);
	} else {
		o += (size_t)put_id(tmp + o, sizeof(tmp) - o, a->tx_id, a->ext_ids);
		PUT("/");
		o += (size_t)put_id(tmp + o, sizeof(tmp) - o, a->rx_id, a->ext_ids);
	}
	if (a->mode == ISOTP_ADDR_EXTENDED) {
		PUT(",ta=0x%02X", a->tx_ea);
		if (a->rx_ea != a->tx_ea)
			PUT(",sa=0x%02X", a->rx_ea);
	} else if (a->mode == ISOTP_ADDR_MIXED) {
		PUT(",ae=0x%02X", a->tx_ea);
	}
	if (a->padding >= 0)
		PUT(",pad=0x%02X", (unsigned)a->padding);
	if (a->functional_id)
		PUT(",func=0x%0*X", a->functional_id > 0x7FF ? 8 : 3, a->functional_id);
	if (a->bs)
		PUT(",bs=%u", a->bs);
	if (a->stmin) {
		isotp_addr_format_stmin(a->stmin, st, sizeof(st));
		PUT(",stmin=%s", st);
	}
#undef PUT
	return snprintf(buf, size, "%s", tmp);
}

void isotp_addr_reverse(const struct isotp_addr *a, struct isotp_addr *ret)
{
	struct isotp_addr r = *a;

	r.tx_id = a->rx_id;
	r.rx_id = a->tx_id;
	r.tx_ea = a->rx_ea;
	r.rx_ea = a->tx_ea;
	r.target = a->source;
	r.source = a->target;
	*ret = r;
}

/* lib/isotp's addressing format of a mode: normal fixed is normal addressing on the
 * frames, its TA/SA live in the ids. */
static enum isotp_addressing addressing_of(enum isotp_addr_mode m)
{
	switch (m) {
	case ISOTP_ADDR_NORMAL:
	case ISOTP_ADDR_NORMAL_FIXED:
	case ISOTP_ADDR_MODE_MAX:
		break;
	case ISOTP_ADDR_MIXED:
		return ISOTP_ADDRESSING_MIXED;
	case ISOTP_ADDR_EXTENDED:
		return ISOTP_ADDRESSING_EXTENDED;
	}
	return ISOTP_ADDRESSING_NORMAL;
}

void isotp_addr_to_config(const struct isotp_addr *a, struct isotp_config *ret)
{
	struct isotp_config c;

	isotp_config_init(&c, a->tx_id, a->rx_id);
	c.tx_ext_id = c.rx_ext_id = a->ext_ids;
	c.addressing = addressing_of(a->mode);
	if (c.addressing != ISOTP_ADDRESSING_NORMAL) {
		c.tx_addr = a->tx_ea;
		c.rx_addr = a->rx_ea;
	}
	c.tx_pad = a->padding;
	c.bs = a->bs;
	c.stmin = a->stmin;
	*ret = c;
}

void isotp_addr_observer_config(const struct isotp_addr *a, struct isotp_observer_config *ret)
{
	struct isotp_observer_config c;

	isotp_observer_config_init(&c, a->tx_id, a->rx_id);
	c.ext_ids = a->ext_ids;
	c.addressing = addressing_of(a->mode);
	if (c.addressing != ISOTP_ADDRESSING_NORMAL) {
		c.req_addr = a->tx_ea;
		c.resp_addr = a->rx_ea;
	}
	*ret = c;
}

size_t isotp_addr_pci_offset(const struct isotp_addr *a)
{
	return addressing_of(a->mode) == ISOTP_ADDRESSING_NORMAL ? 0 : 1;
}

/* ---- profile keys ---- */

void isotp_addr_spec_init(struct isotp_addr_spec *s)
{
	*s = (struct isotp_addr_spec){
	    .mode = -1,
	    .request = -1,
	    .response = -1,
	    .functional = -1,
	    .target = -1,
	    .source = -1,
	    .ext_address = -1,
	    .padding = -1,
	    .bs = -1,
	    .stmin = -1,
	};
}

static int byte_value(const char *v, size_t vn, const char *key, int *dst, char *err, size_t cap)
{
	uint64_t x = 0;

	if (vn < 3 || vn > 4 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X'))
		return bytes_errf(err, cap, "bad %s '%.*s' (expected 0x00..0xFF)", key,
				  (int)(vn > 20 ? 20 : vn), v);
	for (size_t i = 2; i < vn; i++) {
		int h = hex_digit(v[i]);
		if (h < 0)
			return bytes_errf(err, cap, "bad %s '%.*s' (expected 0x00..0xFF)", key,
					  (int)(vn > 20 ? 20 : vn), v);
		x = x * 16 + (unsigned)h;
	}
	*dst = (int)x;
	return 0;
}

int isotp_addr_spec_set(struct isotp_addr_spec *s, const char *key, const char *v, size_t vn,
			char *err, size_t errcap)
{
	if (strcmp(key, "addressing") == 0) {
		enum isotp_addr_mode m;
		if (isotp_addr_mode_parse(v, vn, &m) < 0)
			return bytes_errf(err, errcap,
					  "bad addressing '%.*s' (expected normal, normal_fixed, "
					  "mixed or extended)",
					  (int)(vn > 20 ? 20 : vn), v);
		s->mode = (int)m;
		return 0;
	}
	if (strcmp(key, "target") == 0)
		return byte_value(v, vn, key, &s->target, err, errcap);
	if (strcmp(key, "source") == 0)
		return byte_value(v, vn, key, &s->source, err, errcap);
	if (strcmp(key, "ext_address") == 0)
		return byte_value(v, vn, key, &s->ext_address, err, errcap);
	if (strcmp(key, "bs") == 0) {
		unsigned x = 0;
		size_t i;
		for (i = 0; i < vn && v[i] >= '0' && v[i] <= '9' && x <= 255; i++)
			x = x * 10 + (unsigned)(v[i] - '0');
		if (vn == 0 || i != vn || x > 255)
			return bytes_errf(err, errcap,
					  "bad bs '%.*s' (expected 0..255 frames, 0 = no limit)",
					  (int)(vn > 20 ? 20 : vn), v);
		s->bs = (int)x;
		return 0;
	}
	if (strcmp(key, "stmin") == 0) {
		uint8_t code;
		if (isotp_addr_parse_stmin(v, vn, &code) < 0)
			return bytes_errf(
			    err, errcap,
			    "bad stmin '%.*s' (expected 0..127 ms, e.g. 10ms, or 100us..900us)",
			    (int)(vn > 20 ? 20 : vn), v);
		s->stmin = code;
		return 0;
	}
	return -ENOENT;
}

static int refuse(const char **ret_key, const char *key, char *err, size_t cap, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));
static int refuse(const char **ret_key, const char *key, char *err, size_t cap, const char *fmt,
		  ...)
{
	va_list ap;

	if (ret_key)
		*ret_key = key;
	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int isotp_addr_spec_build(const struct isotp_addr_spec *s, struct isotp_addr *ret,
			  const char **ret_key, char *err, size_t errcap)
{
	struct isotp_addr a;
	enum isotp_addr_mode m;
	bool ids = s->request >= 0 || s->response >= 0;
	char why[128];

	if (s->mode >= 0)
		m = (enum isotp_addr_mode)s->mode;
	else
		m = s->target >= 0 && ids ? ISOTP_ADDR_EXTENDED : ISOTP_ADDR_NORMAL;
	const char *name = isotp_addr_mode_name(m);

	if (m != ISOTP_ADDR_MIXED && s->ext_address >= 0)
		return refuse(ret_key, "ext_address", err, errcap,
			      "ext_address belongs to mixed addressing, not %s", name);
	if (m == ISOTP_ADDR_NORMAL_FIXED || (m == ISOTP_ADDR_MIXED && s->target >= 0)) {
		if (ids)
			return refuse(ret_key, s->request >= 0 ? "request" : "response", err,
				      errcap,
				      "%s addressing computes the CAN ids from target and source: "
				      "leave out request and response",
				      name);
		if (s->target < 0)
			return refuse(ret_key, m == ISOTP_ADDR_MIXED ? "ext_address" : NULL, err,
				      errcap, "%s addressing needs 'target'", name);
	} else if (s->request < 0 || s->response < 0) {
		return refuse(ret_key, NULL, err, errcap, "missing required key '%s'",
			      s->request < 0 ? "request" : "response");
	}
	uint8_t source = s->source >= 0 ? (uint8_t)s->source : ISOTP_ADDR_TESTER;
	switch (m) {
	case ISOTP_ADDR_NORMAL:
		if (s->target >= 0 || s->source >= 0)
			return refuse(ret_key, s->target >= 0 ? "target" : "source", err, errcap,
				      "normal addressing takes no target/source address");
		isotp_addr_init_normal(&a, (uint32_t)s->request, (uint32_t)s->response);
		break;
	case ISOTP_ADDR_NORMAL_FIXED:
		isotp_addr_init_fixed(&a, (uint8_t)s->target, source);
		break;
	case ISOTP_ADDR_MIXED:
		if (s->ext_address < 0)
			return refuse(ret_key, NULL, err, errcap,
				      "mixed addressing needs 'ext_address'");
		if (s->target >= 0)
			isotp_addr_init_mixed29(&a, (uint8_t)s->target, source,
						(uint8_t)s->ext_address);
		else if (s->source >= 0)
			return refuse(ret_key, "source", err, errcap,
				      "'source' without 'target' in mixed addressing");
		else
			isotp_addr_init_mixed(&a, (uint32_t)s->request, (uint32_t)s->response,
					      (uint8_t)s->ext_address);
		break;
	case ISOTP_ADDR_EXTENDED:
		if (s->target < 0)
			return refuse(
			    ret_key, NULL, err, errcap,
			    "extended addressing needs 'target' (the address byte of requests)");
		isotp_addr_init_extended(&a, (uint32_t)s->request, (uint32_t)s->response,
					 (uint8_t)s->target, s->source);
		break;
	case ISOTP_ADDR_MODE_MAX:
		return refuse(ret_key, "addressing", err, errcap, "unknown addressing");
	}
	if (s->functional >= 0) {
		a.functional_id = (uint32_t)s->functional;
		if (a.functional_id > 0x7FF && !a.ext_ids)
			return refuse(ret_key, "functional", err, errcap,
				      "functional id 0x%X is 29-bit but the ECU's ids are 11-bit",
				      a.functional_id);
	}
	if (s->padding >= 0)
		a.padding = s->padding;
	if (s->bs >= 0)
		a.bs = (uint8_t)s->bs;
	if (s->stmin >= 0)
		a.stmin = (uint8_t)s->stmin;
	if (isotp_addr_check(&a, why, sizeof(why)) < 0)
		return refuse(ret_key, NULL, err, errcap, "%s", why);
	*ret = a;
	return 0;
}
