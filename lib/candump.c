/* SPDX-License-Identifier: MIT */
/*
 * can-utils log lines. The frame syntax follows can-utils lib.c (parse_canframe and
 * sprint_canframe), so files written by candump -l read back and files we write are
 * accepted by canplayer.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/candump.h"

/* Values from linux/can.h; lib/ core does not include kernel socket headers. */
#define CAN_ERR_FLAG_BIT 0x20000000u
#define CAN_ERR_MASK_BITS 0x1fffffffu
#define CANFD_BRS_BIT 0x01u
#define CANFD_ESI_BIT 0x02u

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Hex digit values plus one (0: not a hex digit): a table lookup per character of the
 * millions a capture has, instead of three range tests. */
static const uint8_t hex1[256] = {
    ['0'] = 1,	['1'] = 2,  ['2'] = 3,	['3'] = 4,  ['4'] = 5,	['5'] = 6,  ['6'] = 7,
    ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
    ['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
    ['f'] = 16,
};

static int hexv(char c)
{
	return hex1[(unsigned char)c] - 1;
}

/* 0x80 in each byte of x that is zero, 0 elsewhere (exact: no borrow between bytes). */
static uint64_t zero_bytes(uint64_t x)
{
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
	return ~(((x & low7) + low7) | x | low7);
}

/* The first byte flagged 0x80 in a mask of 8 loaded bytes (mask not 0). */
static unsigned first_flagged(uint64_t mask)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (unsigned)__builtin_ctzll(mask) / 8;
#else
	return (unsigned)__builtin_clzll(mask) / 8;
#endif
}

/* The end of the word at q: the first blank at or after q, or len. Eight bytes at a time
 * (a frame is most of a line). */
static size_t word_end(const char *line, size_t q, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	while (q + 8 <= len) {
		uint64_t x;
		memcpy(&x, line + q, 8);
		uint64_t blanks = zero_bytes(x ^ (ones * ' ')) | zero_bytes(x ^ (ones * '\t'));
		if (blanks)
			return q + first_flagged(blanks);
		q += 8;
	}
	if (q < len && len >= 8) {
		/* the last eight bytes of the line, those before q masked off */
		uint64_t x;
		size_t base = len - 8;
		memcpy(&x, line + base, 8);
		uint64_t blanks = zero_bytes(x ^ (ones * ' ')) | zero_bytes(x ^ (ones * '\t'));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		blanks &= ~UINT64_C(0) << (8 * (q - base));
#else
		blanks &= ~UINT64_C(0) >> (8 * (q - base));
#endif
		return blanks ? base + first_flagged(blanks) : len;
	}
	while (q < len && !is_space(line[q]))
		q++;
	return q;
}

/*
 * Eight hex digits at s as four bytes at out, the SWAR way; false (nothing written) when
 * one of them is not a hex digit.
 */
static bool hex8(const char *s, uint8_t *out)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), low7 = ones * 0x7f, high = ones << 7;
	uint64_t x;
	memcpy(&x, s, 8);
	x = le64toh(x); /* the first digit in the lowest byte */
	uint64_t m = x & low7, lower = m | ones * 0x20;
	/* '0'..'9', or (either case) 'a'..'f'; not ASCII is neither */
	uint64_t digit = ((m + ones * (0x80 - '0')) & ~(m + ones * (0x80 - '9' - 1))) & high;
	uint64_t letter = ((lower + ones * (0x80 - 'a')) & ~(lower + ones * (0x80 - 'f' - 1))) & high;
	if (((digit | letter) & ~x & high) != high)
		return false;
	/* nibble = low four bits, plus 9 for letters (bit 6 set) */
	uint64_t nib = (x & ones * 0x0f) + ((x >> 6) & ones) * 9;
	uint64_t v = ((nib << 4) | (nib >> 8)) & UINT64_C(0x00ff00ff00ff00ff);
	v = (v | (v >> 8)) & UINT64_C(0x0000ffff0000ffff);
	v = (v | (v >> 16)) & UINT64_C(0x00000000ffffffff);
	uint32_t w = htole32((uint32_t)v);
	memcpy(out, &w, 4);
	return true;
}

/*
 * The decimal digits at s (8 readable bytes): how many lead (0..8), and the value of
 * those, eight at a time the SWAR way (a timestamp has 16 of them).
 */
static unsigned digits8(const char *s, uint64_t *ret_value)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), low7 = ones * 0x7f;
	uint64_t x;
	memcpy(&x, s, 8);
	x = le64toh(x); /* the first digit in the lowest byte */
	/* per byte: at least '0' (high bit of (b & 0x7f) + 0x50), above '9', or not ASCII */
	uint64_t ge0 = ((x & low7) + ones * (0x80 - '0')) & ones << 7;
	uint64_t gt9 = ((x & low7) + ones * (0x80 - '9' - 1)) & ones << 7;
	uint64_t bad = (~ge0 | gt9 | x) & ones << 7;
	unsigned n = bad ? (unsigned)__builtin_ctzll(bad) / 8 : 8;
	if (n == 0) {
		*ret_value = 0;
		return 0;
	}
	/* the n digits as the last of eight (zeros before them), then pairs, fours, eight */
	uint64_t d = (x - ones * '0') << (8 * (8 - n));
	d = (d * 10 + (d >> 8)) & UINT64_C(0x00ff00ff00ff00ff);
	d = (d * 100 + (d >> 16)) & UINT64_C(0x0000ffff0000ffff);
	d = (d * 10000 + (d >> 32)) & UINT64_C(0x00000000ffffffff);
	*ret_value = d;
	return n;
}

/*
 * The common frame, "XXX#" and up to 8 data bytes followed by the end of the line or a
 * blank, without the general parser's scans: true and the frame set, or false (nothing
 * changed) for anything else, which parse_frame() then reads or refuses.
 */
static bool parse_classic(const char *s, size_t avail, struct candump_record *rec)
{
	uint8_t data[8] = {0};
	size_t idx = 4;
	unsigned n = 0;

	if (avail < 4 || s[3] != '#')
		return false;
	unsigned a = hex1[(unsigned char)s[0]], b = hex1[(unsigned char)s[1]],
		 c = hex1[(unsigned char)s[2]];
	if (!a || !b || !c)
		return false;
	uint32_t id = (a - 1) << 8 | (b - 1) << 4 | (c - 1);
	if (id > 0x7ff)
		return false;
	for (; n < 8 && idx + 8 <= avail && hex8(s + idx, data + n); idx += 8)
		n += 4;
	for (; n < 8 && idx + 1 < avail; idx += 2) {
		unsigned hi = hex1[(unsigned char)s[idx]], lo = hex1[(unsigned char)s[idx + 1]];
		if (!hi || !lo)
			break;
		data[n++] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	if (idx < avail && !is_space(s[idx]))
		return false;
	rec->tf.frame.id = id;
	rec->tf.frame.len = (uint8_t)n;
	memcpy(rec->tf.frame.data, data, 8);
	return true;
}

static int parse_frame(const char *s, size_t len, struct candump_record *rec, const char **reason)
{
	struct bd_frame *f = &rec->tf.frame;
	size_t idx, id_len;
	uint32_t id = 0;

	/* three hex digits and '#', the common case, without the scan */
	if (len > 3 && s[3] == '#' && hex1[(unsigned char)s[0]] && hex1[(unsigned char)s[1]] &&
	    hex1[(unsigned char)s[2]])
		id_len = 3;
	else
		for (id_len = 0; id_len < len && s[id_len] != '#'; id_len++)
			;
	if (id_len == len) {
		*reason = "missing '#' after the identifier";
		return -EINVAL;
	}
	if (id_len != 3 && id_len != 8) {
		*reason = "identifier is not 3 or 8 hex digits";
		return -EINVAL;
	}
	for (size_t i = 0; i < id_len; i++) {
		int n = hexv(s[i]);
		if (n < 0) {
			*reason = "identifier is not hexadecimal";
			return -EINVAL;
		}
		id = (id << 4) | (uint32_t)n;
	}
	if (id_len == 3) {
		if (id > 0x7ff) {
			*reason = "standard identifier above 0x7FF";
			return -EINVAL;
		}
		f->id = id;
	} else if (id & CAN_ERR_FLAG_BIT) {
		/* 8 digits with the error flag: an error frame (can-utils keeps it standard) */
		f->flags |= BD_FRAME_ERR;
		f->id = id & CAN_ERR_MASK_BITS;
	} else {
		if (id > CAN_ERR_MASK_BITS) {
			*reason = "extended identifier above 0x1FFFFFFF";
			return -EINVAL;
		}
		f->flags |= BD_FRAME_EXT;
		f->id = id;
	}
	idx = id_len + 1;

	if (idx < len && (s[idx] == 'R' || s[idx] == 'r')) {
		f->flags |= BD_FRAME_RTR;
		idx++;
		if (idx < len) {
			int n = hexv(s[idx]);
			if (n < 0 || n > 8) {
				*reason = "bad remote frame length";
				return -EINVAL;
			}
			f->len = (uint8_t)n;
			idx++;
			if (n == 8 && idx < len && s[idx] == '_') {
				int d = idx + 1 < len ? hexv(s[idx + 1]) : -1;
				if (d < 9 || d > 15) {
					*reason = "bad raw DLC after '_'";
					return -EINVAL;
				}
				rec->len8_dlc = (uint8_t)d;
				idx += 2;
			}
		}
		if (idx != len) {
			*reason = "trailing characters after remote frame";
			return -EINVAL;
		}
		return 0;
	}

	unsigned maxlen = 8;
	if (idx < len && s[idx] == '#') {
		if (idx + 1 < len && s[idx + 1] == '#') {
			*reason = "CAN XL frames are not supported";
			return -EINVAL;
		}
		int fl = idx + 1 < len ? hexv(s[idx + 1]) : -1;
		if (fl < 0) {
			*reason = "missing CAN FD flags nibble after '##'";
			return -EINVAL;
		}
		f->flags |= BD_FRAME_FD;
		if (fl & CANFD_BRS_BIT)
			f->flags |= BD_FRAME_BRS;
		if (fl & CANFD_ESI_BIT)
			f->flags |= BD_FRAME_ESI;
		maxlen = BD_FRAME_MAX_DATA;
		idx += 2;
	}

	unsigned n = 0;
	while (idx < len) {
		/* the common case first: pairs of hex digits with room for them */
		size_t pairs = (len - idx) / 2;
		if (pairs > maxlen - n)
			pairs = maxlen - n;
		for (; pairs >= 4 && hex8(s + idx, f->data + n); pairs -= 4, idx += 8)
			n += 4;
		for (; pairs > 0; pairs--, idx += 2) {
			unsigned hi1 = hex1[(unsigned char)s[idx]], lo1 = hex1[(unsigned char)s[idx + 1]];
			if (!hi1 || !lo1)
				break;
			f->data[n++] = (uint8_t)((hi1 - 1) << 4 | (lo1 - 1));
		}
		if (idx >= len)
			break;
		if (s[idx] == '.') {
			idx++;
			continue;
		}
		if (s[idx] == '_')
			break;
		int hi = hexv(s[idx]);
		int lo = idx + 1 < len ? hexv(s[idx + 1]) : -1;
		if (hi < 0 || lo < 0) {
			*reason = idx + 1 >= len ? "odd number of data hex digits"
						 : "data is not hexadecimal";
			return -EINVAL;
		}
		if (n >= maxlen) {
			*reason = maxlen == 8 ? "more than 8 data bytes in a classic frame"
					      : "more than 64 data bytes";
			return -EINVAL;
		}
		f->data[n++] = (uint8_t)(hi << 4 | lo);
		idx += 2;
	}
	f->len = (uint8_t)n;
	if (idx < len) {
		/* '_' raw DLC: only for 8-byte classic frames */
		int d = idx + 1 < len ? hexv(s[idx + 1]) : -1;
		if ((f->flags & BD_FRAME_FD) || n != 8 || d < 9 || d > 15 || idx + 2 != len) {
			*reason = "bad raw DLC after '_'";
			return -EINVAL;
		}
		rec->len8_dlc = (uint8_t)d;
	}
	if (f->flags & BD_FRAME_ERR && (f->flags & BD_FRAME_FD)) {
		*reason = "error frame marked CAN FD";
		return -EINVAL;
	}
	return 0;
}

/* Next blank-separated word of line[*p..len): its start and length; 0 at the end. */
static size_t next_word(const char *line, size_t len, size_t *p, size_t *ret_start)
{
	while (*p < len && is_space(line[*p]))
		(*p)++;
	size_t start = *p;
	while (*p < len && !is_space(line[*p]))
		(*p)++;
	*ret_start = start;
	return *p - start;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return true;
}

/*
 * The timestamp of a screen line, the text between the parentheses: "1700000000.001000"
 * (-ta), "000.001000" (-tz, seconds since the first frame) or "2023-11-14 22:13:20.001000"
 * (-tA: candump prints local time; it is taken as UTC here, which shifts every frame of a
 * capture alike and leaves the intervals the diagnosis reads untouched).
 */
static int parse_screen_time(const char *t, size_t n, int64_t *ret_us)
{
	unsigned y, mo, d, h, mi, sec, us;

	if (n == 26 && t[4] == '-' && t[7] == '-' && t[10] == ' ' && t[13] == ':' &&
	    t[16] == ':' && t[19] == '.' && digits(t, 4, &y) && digits(t + 5, 2, &mo) &&
	    digits(t + 8, 2, &d) && digits(t + 11, 2, &h) && digits(t + 14, 2, &mi) &&
	    digits(t + 17, 2, &sec) && digits(t + 20, 6, &us)) {
		if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
		    y < 1970)
			return -EINVAL;
		int64_t days = days_from_civil(y, mo, d);
		*ret_us = ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000000) + us;
		return 0;
	}
	const char *dot = memchr(t, '.', n);
	if (!dot || dot == t || dot - t > 12 || n - (size_t)(dot - t) - 1 != 6 ||
	    !digits(dot + 1, 6, &us))
		return -EINVAL;
	uint64_t s = 0;
	for (const char *c = t; c < dot; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		s = s * 10 + (uint64_t)(*c - '0');
	}
	*ret_us = (int64_t)(s * 1000000u + us);
	return 0;
}

/*
 * candump's screen output (`candump can0`, `candump -ta can0`, ...):
 *   " (1700000000.001000)  can0  123   [8]  11 22 33 44 55 66 77 88"
 *   "  can0  12345678   [2]  11 22"          29-bit id: 8 hex digits
 *   "  can0  123  [12]  11 22 ... "           CAN FD: two-digit length
 *   "  can0  123   [8]  remote request"
 *   "  can0  20000004   [8]  00 08 ... ERRORFRAME"
 * with -a an ASCII column in quotes follows the data. Only lines with a timestamp give a
 * record: the diagnosis reads when things happened.
 */
static int parse_screen_line(const char *line, size_t len, struct candump_record *rec,
			     const char **reason)
{
	struct bd_frame *f = &rec->tf.frame;
	size_t p = 0, w, n;
	bool stamped = false;
	int64_t t_us = 0;

	while (p < len && is_space(line[p]))
		p++;
	if (p < len && line[p] == '(') {
		const char *close = memchr(line + p, ')', len - p);
		if (!close) {
			*reason = "timestamp without ')'";
			return -EINVAL;
		}
		n = (size_t)(close - line) - p - 1;
		if (parse_screen_time(line + p + 1, n, &t_us) < 0) {
			*reason = "timestamp is neither seconds.micros nor a -tA date";
			return -EINVAL;
		}
		stamped = true;
		p = (size_t)(close - line) + 1;
	}
	n = next_word(line, len, &p, &w);
	if (n == 0 || n >= sizeof(rec->iface)) {
		*reason = "missing interface name";
		return -EINVAL;
	}
	memcpy(rec->iface, line + w, n);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)rec->iface[k] <= ' ' || (unsigned char)rec->iface[k] >= 0x7f) {
			*reason = "interface name is not printable";
			return -EINVAL;
		}
	n = next_word(line, len, &p, &w);
	if (n == 0 || (n != 8 && n > 3)) {
		*reason = "identifier is not 1-3 or 8 hex digits";
		return -EINVAL;
	}
	uint32_t id = 0;
	bool eff = n == 8; /* candump prints 29-bit ids with 8 digits, 11-bit ones with 3 */
	for (size_t k = 0; k < n; k++) {
		if (hexv(line[w + k]) < 0) {
			*reason = "identifier is not hexadecimal";
			return -EINVAL;
		}
		id = id << 4 | (uint32_t)hexv(line[w + k]);
	}
	n = next_word(line, len, &p, &w);
	unsigned dlc;
	if (n < 3 || n > 4 || line[w] != '[' || line[w + n - 1] != ']' ||
	    !digits(line + w + 1, n - 2, &dlc)) {
		*reason = "missing [length]";
		return -EINVAL;
	}
	memset(f, 0, sizeof(*f));
	bool dlc_fd = n == 4;
	if (dlc_fd) { /* "[NN]": CAN FD */
		f->flags |= BD_FRAME_FD;
		if (dlc > BD_FRAME_MAX_DATA) {
			*reason = "CAN FD length above 64";
			return -EINVAL;
		}
	} else if (dlc > 8) {
		*reason = "classic CAN length above 8";
		return -EINVAL;
	}
	if (id & ~(CAN_ERR_MASK_BITS | CAN_ERR_FLAG_BIT)) {
		*reason = "identifier above 29 bits";
		return -EINVAL;
	}
	f->len = (uint8_t)dlc;
	size_t save = p;
	n = next_word(line, len, &p, &w);
	if (n == 6 && memcmp(line + w, "remote", 6) == 0) {
		if (f->flags & BD_FRAME_FD) {
			*reason = "remote frame marked CAN FD";
			return -EINVAL;
		}
		f->flags |= BD_FRAME_RTR;
	} else {
		p = save;
		for (unsigned i = 0; i < dlc; i++) {
			n = next_word(line, len, &p, &w);
			if (n != 2 || hexv(line[w]) < 0 || hexv(line[w + 1]) < 0) {
				*reason = "fewer data bytes than the [length] says";
				return -EINVAL;
			}
			f->data[i] = (uint8_t)(hexv(line[w]) << 4 | hexv(line[w + 1]));
		}
		n = next_word(line, len, &p, &w);
		if (n == 10 && memcmp(line + w, "ERRORFRAME", 10) == 0) {
			f->flags = BD_FRAME_ERR;
			f->id = id & CAN_ERR_MASK_BITS;
		} else if (n > 0 && line[w] != '\'') {
			*reason = "more data than the [length] says";
			return -EINVAL;
		}
	}
	if (((f->flags & BD_FRAME_ERR) || (id & CAN_ERR_FLAG_BIT)) && dlc_fd) {
		*reason = "error frame marked CAN FD";
		return -EINVAL;
	}
	if (!(f->flags & BD_FRAME_ERR)) {
		f->id = id;
		if (id & CAN_ERR_FLAG_BIT) {
			/* an error frame printed without -e has its class in the id */
			f->flags = BD_FRAME_ERR;
			f->id = id & CAN_ERR_MASK_BITS;
		} else if (eff) {
			f->flags |= BD_FRAME_EXT;
		} else if (id > 0x7ff) {
			*reason = "standard identifier above 0x7FF";
			return -EINVAL;
		}
	}
	if (!stamped) {
		*reason = "no timestamp: this is candump's screen output; record with "
			  "`candump -L can0 > FILE.log` (or -l, or -ta)";
		return -EINVAL;
	}
	candump_set_time_us(rec, t_us);
	rec->screen = true;
	return 0;
}

static int parse_log_line(const char *line, size_t len, const char **reason_out,
			  struct candump_record *rec);

/* A log or screen line into *rec, which is zeroed and may be left half-written. */
static int parse_any(const char *line, size_t len, const char **reason_out,
		     struct candump_record *rec)
{
	const char *reason = NULL;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	int r = parse_log_line(line, len, &reason, rec);
	if (r == 0)
		return 0;
	/* Not a log line: candump's screen format has a "[len]" column. */
	if (memchr(line, '[', len) && memchr(line, ']', len)) {
		const char *screen_reason = NULL;
		memset(rec, 0, sizeof(*rec));
		if (parse_screen_line(line, len, rec, &screen_reason) == 0)
			return 0;
		reason = screen_reason;
	}
	if (reason_out)
		*reason_out = reason;
	return -EINVAL;
}

int candump_parse_line(const char *line, size_t len, const char **reason_out,
		       struct candump_record *ret_record)
{
	struct candump_record rec;

	memset(&rec, 0, sizeof(rec));
	int r = parse_any(line, len, reason_out, &rec);
	if (r == 0)
		*ret_record = rec;
	return r;
}

/* Into *rec, zeroed by the caller. */
static int parse_log_line(const char *line, size_t len, const char **reason_out,
			  struct candump_record *rec)
{
	const char *reason = NULL;
	size_t p = 0, q;
	int r;

	while (p < len && is_space(line[p]))
		p++;
	if (p >= len || line[p] != '(') {
		reason = "missing '(' timestamp";
		goto bad;
	}
	p++;
	q = p;
	uint64_t sec = 0, usec = 0;
	unsigned sdigits = 0, fdigits = 0;
	if (q + 24 <= len) {
		/* up to 15 digits of seconds, '.', up to 6 of microseconds: eight at a time
		 * (no overflow possible; other forms take the loops below) */
		uint64_t hi, lo = 0, frac;
		unsigned n = digits8(line + q, &hi), m = 0;
		if (n == 8)
			m = digits8(line + q + 8, &lo);
		if (m < 8 && line[q + n + m] == '.') {
			unsigned k = digits8(line + q + n + m + 1, &frac);
			if (n + m > 0 && k > 0 && k <= 6 && line[q + n + m + 1 + k] == ')') {
				static const uint64_t scale[9] = {1,	   10,	    100,     1000,
								  10000, 100000, 1000000, 10000000,
								  100000000};
				sec = m ? hi * scale[m] + lo : hi;
				usec = frac * scale[6 - k];
				sdigits = n + m;
				fdigits = k;
				q += n + m + 1 + k;
				goto stamped;
			}
		}
	}
	while (q < len && line[q] >= '0' && line[q] <= '9') {
		if (sec > (UINT64_MAX - 9) / 10 / 1000000) {
			reason = "timestamp seconds out of range";
			goto bad;
		}
		sec = sec * 10 + (uint64_t)(line[q] - '0');
		q++;
		sdigits++;
	}
	if (sdigits == 0 || q >= len || line[q] != '.') {
		reason = "timestamp is not seconds.micros";
		goto bad;
	}
	q++;
	while (q < len && line[q] >= '0' && line[q] <= '9') {
		/* digits past microseconds are kept in the text, not in t_us */
		if (fdigits < 6)
			usec = usec * 10 + (uint64_t)(line[q] - '0');
		q++;
		fdigits++;
	}
	if (fdigits == 0 || q >= len || line[q] != ')') {
		reason = "timestamp is not seconds.micros";
		goto bad;
	}
	for (unsigned k = fdigits; k < 6; k++)
		usec *= 10;
stamped:
	if (q - p >= sizeof(rec->time)) {
		reason = "timestamp too long";
		goto bad;
	}
	if (sec > (uint64_t)(INT64_MAX / 1000000) - 1) {
		reason = "timestamp seconds out of range";
		goto bad;
	}
	memcpy(rec->time, line + p, q - p);
	rec->tf.t_us = (int64_t)(sec * 1000000u + usec);
	p = q + 1;

	if (p >= len || !is_space(line[p])) {
		reason = "missing interface name";
		goto bad;
	}
	while (p < len && is_space(line[p]))
		p++;
	q = p;
	while (q < len && (unsigned char)line[q] > ' ' && (unsigned char)line[q] < 0x7f)
		q++;
	bool unprintable = q < len && !is_space(line[q]);
	if (unprintable)
		q = word_end(line, q, len);
	if (q == p) {
		reason = "missing interface name";
		goto bad;
	}
	if (q - p >= sizeof(rec->iface)) {
		reason = "interface name too long";
		goto bad;
	}
	if (unprintable) {
		/* a NUL or control byte would cut the name short when printed back */
		reason = "interface name is not printable";
		goto bad;
	}
	memcpy(rec->iface, line + p, q - p);
	p = q;
	while (p < len && is_space(line[p]))
		p++;
	if (parse_classic(line + p, len - p, rec))
		return 0;
	q = word_end(line, p, len);
	if (q == p) {
		reason = "missing frame";
		goto bad;
	}
	/* anything after the frame (newer candump appends " R"/" T" direction marks) is
	 * ignored */
	r = parse_frame(line + p, q - p, rec, &reason);
	if (r < 0)
		goto bad;
	return 0;
bad:
	if (reason_out)
		*reason_out = reason;
	return -EINVAL;
}

/* snprintf's contract for text already in tmp: as much as fits, NUL, the full length. */
static int finish(char *buf, size_t size, const char *tmp, size_t n)
{
	if (size) {
		size_t k = n < size ? n : size - 1;
		memcpy(buf, tmp, k);
		buf[k] = '\0';
	}
	return (int)n;
}

/* The frame text into tmp (3 * BD_FRAME_MAX_DATA + 32 bytes), without NUL; its length. */
static size_t put_frame(char *tmp, const struct bd_frame *f, uint8_t len8_dlc)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	uint32_t id;
	unsigned digits;

	if (f->flags & BD_FRAME_ERR) {
		id = (f->id & CAN_ERR_MASK_BITS) | CAN_ERR_FLAG_BIT;
		digits = 8;
	} else if (f->flags & BD_FRAME_EXT) {
		id = f->id & CAN_ERR_MASK_BITS;
		digits = 8;
	} else {
		id = f->id & 0x7ffu;
		digits = 3;
	}
	for (unsigned k = digits; k-- > 0;)
		tmp[o++] = hex[(id >> (4 * k)) & 15];
	tmp[o++] = '#';

	if (f->flags & BD_FRAME_RTR) {
		tmp[o++] = 'R';
		/* can-utils writes the length of a remote frame only when it is not 0 */
		if (f->len > 0 && f->len <= 8)
			tmp[o++] = hex[f->len];
		if (f->len == 8 && len8_dlc > 8 && len8_dlc <= 15) {
			tmp[o++] = '_';
			tmp[o++] = hex[len8_dlc];
		}
		return o;
	}
	unsigned n = f->len;
	if (f->flags & BD_FRAME_FD) {
		unsigned fl = 0;
		if (f->flags & BD_FRAME_BRS)
			fl |= CANFD_BRS_BIT;
		if (f->flags & BD_FRAME_ESI)
			fl |= CANFD_ESI_BIT;
		tmp[o++] = '#';
		tmp[o++] = hex[fl];
		if (n > BD_FRAME_MAX_DATA)
			n = BD_FRAME_MAX_DATA;
	} else if (n > 8) {
		n = 8;
	}
	for (unsigned i = 0; i < n; i++) {
		tmp[o++] = hex[f->data[i] >> 4];
		tmp[o++] = hex[f->data[i] & 15];
	}
	if (!(f->flags & BD_FRAME_FD) && n == 8 && len8_dlc > 8 && len8_dlc <= 15) {
		tmp[o++] = '_';
		tmp[o++] = hex[len8_dlc];
	}
	return o;
}

int candump_format_frame(const struct bd_frame *f, uint8_t len8_dlc, char *buf, size_t size)
{
	char tmp[3 * BD_FRAME_MAX_DATA + 32];
	return finish(buf, size, tmp, put_frame(tmp, f, len8_dlc));
}

int candump_format_record(const struct candump_record *r, char *buf, size_t size)
{
	char tmp[CANDUMP_MAX_TIME + CANDUMP_MAX_IFACE + 3 * BD_FRAME_MAX_DATA + 40];
	size_t o = 0, n;

	tmp[o++] = '(';
	n = strnlen(r->time, sizeof(r->time));
	memcpy(tmp + o, r->time, n);
	o += n;
	tmp[o++] = ')';
	tmp[o++] = ' ';
	n = strnlen(r->iface, sizeof(r->iface));
	memcpy(tmp + o, r->iface, n);
	o += n;
	tmp[o++] = ' ';
	o += put_frame(tmp + o, &r->tf.frame, r->len8_dlc);
	return finish(buf, size, tmp, o);
}

void candump_set_time_us(struct candump_record *r, int64_t t_us)
{
	uint64_t t = t_us < 0 ? 0 : (uint64_t)t_us;
	r->tf.t_us = (int64_t)t;
	snprintf(r->time, sizeof(r->time), "%010" PRIu64 ".%06" PRIu64, t / 1000000u, t % 1000000u);
}

struct candump_reader {
	unsigned flags;
	candump_record_fn on_record;
	candump_bad_line_fn on_bad_line;
	void *userdata;
	char line[CANDUMP_MAX_LINE];
	size_t len;
	bool overlong;
	unsigned lineno, bad;
	int64_t last_screen_us; /* INT64_MIN before the first screen line */
};

struct candump_reader *candump_reader_new(unsigned flags, candump_record_fn on_record,
					  candump_bad_line_fn on_bad_line, void *userdata)
{
	struct candump_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->flags = flags;
	r->on_record = on_record;
	r->on_bad_line = on_bad_line;
	r->userdata = userdata;
	r->last_screen_us = INT64_MIN;
	return r;
}

struct candump_reader *candump_reader_free(struct candump_reader *r)
{
	free(r);
	return NULL;
}

unsigned candump_reader_bad_lines(const struct candump_reader *r)
{
	return r->bad;
}

static int bad_line(struct candump_reader *r, const char *reason)
{
	r->bad++;
	if (r->on_bad_line)
		r->on_bad_line(r->userdata, r->lineno, reason);
	return (r->flags & CANDUMP_READER_STRICT) ? -EBADMSG : 0;
}

/* One complete line (without its newline), from the caller's chunk or r->line. */
static int end_line(struct candump_reader *r, const char *line, size_t len, bool overlong)
{
	struct candump_record rec;
	const char *reason;

	r->lineno++;
	if (overlong)
		return bad_line(r, "line too long");
	if (len > 0 && line[len - 1] == '\r')
		len--;
	size_t p = 0;
	while (p < len && is_space(line[p]))
		p++;
	if (p == len)
		return 0; /* blank lines carry nothing */
	memset(&rec, 0, sizeof(rec));
	if (parse_any(line, len, &reason, &rec) < 0)
		return bad_line(r, reason);
	if (rec.screen) {
		/* -tz counts up from the first frame; -td prints the gap to the previous one,
		 * in the same shape: the first step back gives it away. */
		if (rec.tf.t_us < r->last_screen_us)
			return bad_line(r, "timestamp goes backwards (the deltas of `candump -td`?): "
					   "record with `candump -L` or -ta");
		r->last_screen_us = rec.tf.t_us;
	}
	rec.line = r->lineno;
	return r->on_record ? r->on_record(r->userdata, &rec) : 0;
}

int candump_reader_feed(struct candump_reader *r, const void *buf, size_t len)
{
	const char *s = buf;
	while (len > 0) {
		const char *nl = memchr(s, '\n', len);
		size_t n = nl ? (size_t)(nl - s) : len;
		int ret;
		if (nl && r->len == 0 && !r->overlong) {
			/* a whole line in the chunk: parsed where it is, not copied */
			ret = end_line(r, s, n, n > sizeof(r->line));
		} else {
			if (!r->overlong) {
				if (r->len + n > sizeof(r->line)) {
					r->overlong = true;
				} else {
					memcpy(r->line + r->len, s, n);
					r->len += n;
				}
			}
			if (!nl)
				return 0;
			bool overlong = r->overlong;
			size_t ln = r->len;
			r->len = 0;
			r->overlong = false;
			ret = end_line(r, r->line, ln, overlong);
		}
		if (ret < 0)
			return ret;
		s = nl + 1;
		len -= n + 1;
	}
	return 0;
}

int candump_reader_finish(struct candump_reader *r)
{
	if (r->len == 0 && !r->overlong)
		return 0;
	bool overlong = r->overlong;
	size_t n = r->len;
	r->len = 0;
	r->overlong = false;
	return end_line(r, r->line, n, overlong);
}
