/* SPDX-License-Identifier: MIT */
/*
 * Tokens of the DBC grammar, read the way cantools reads them: newlines carry no meaning,
 * `//` starts a comment, numbers follow Python's num(), strings know only the \" escape.
 * Errors and warnings carry file, line and column, counted only when one is reported.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbc-parse.h"

static const char *const keywords[] = {
    "BA_",	    "BA_DEF_",
    "BA_DEF_DEF_",  "BA_DEF_DEF_REL_",
    "BA_DEF_REL_",  "BA_DEF_SGTYPE_",
    "BA_REL_",	    "BA_SGTYPE_",
    "BO_",	    "BO_TX_BU_",
    "BS_",	    "BU_",
    "BU_BO_REL_",   "BU_EV_REL_",
    "BU_SG_REL_",   "CAT_",
    "CAT_DEF_",	    "CM_",
    "ENVVAR_DATA_", "EV_",
    "EV_DATA_",	    "FILTER",
    "NS_",	    "NS_DESC_",
    "SG_",	    "SG_MUL_VAL_",
    "SGTYPE_",	    "SGTYPE_VAL_",
    "SIG_GROUP_",   "SIG_TYPE_REF_",
    "SIG_VALTYPE_", "SIGTYPE_VALTYPE_",
    "VAL_",	    "VAL_TABLE_",
    "VERSION",
};

bool lex_is_keyword(const char *w, size_t n)
{
	/* every keyword ends in '_' but VERSION and FILTER: most words are out at once */
	if (n < 3 || (w[n - 1] != '_' && n != 6 && n != 7))
		return false;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (keywords[i][0] == w[0] && strlen(keywords[i]) == n &&
		    memcmp(keywords[i], w, n) == 0)
			return true;
	return false;
}

void lex_position(struct lex *l, size_t pos, unsigned *ret_line, unsigned *ret_col)
{
	/* errors and warnings are rare: count from a cached point, restarting if behind */
	if (pos < l->line_cache_pos) {
		l->line_cache_pos = 0;
		l->line_cache_line = 1;
		l->line_cache_col_base = 0;
	}
	size_t line_start = l->line_cache_col_base;
	unsigned line = l->line_cache_line;
	for (size_t i = l->line_cache_pos; i < pos && i < l->len; i++)
		if (l->s[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	l->line_cache_pos = pos;
	l->line_cache_line = line;
	l->line_cache_col_base = line_start;
	*ret_line = line;
	*ret_col = (unsigned)(pos - line_start) + 1;
}

__attribute__((format(printf, 3, 4))) int lex_fail_at(struct lex *l, size_t pos, const char *fmt,
							 ...)
{
	if (l->err) {
		va_list ap;
		memset(l->err, 0, sizeof(*l->err));
		snprintf(l->err->file, sizeof(l->err->file), "%s", l->file);
		lex_position(l, pos, &l->err->line, &l->err->column);
		va_start(ap, fmt);
		vsnprintf(l->err->message, sizeof(l->err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

__attribute__((format(printf, 3, 4))) void lex_warn_at(struct lex *l, size_t pos,
							  const char *fmt, ...)
{
	char msg[256];
	unsigned line, col;
	va_list ap;

	if (!l->warn)
		return;
	lex_position(l, pos, &line, &col);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->warn(l->userdata, l->file, line, col, msg);
}

__attribute__((format(printf, 4, 5))) void
lex_warn_msg(struct lex *l, const struct dbc_message *m, const char *what, const char *fmt, ...)
{
	char msg[256];
	int n;
	va_list ap;

	if (!l->warn)
		return;
	n = snprintf(msg, sizeof(msg), "message %s: %s", m->name, what);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	l->warn(l->userdata, l->file, m->line, m->column, msg);
}

__attribute__((format(printf, 4, 5))) void lex_warn_line(struct lex *l, unsigned line,
							    unsigned column, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->warn(l->userdata, l->file, line, column, msg);
}

/* A fatal problem found while resolving a message, reported at its BO_. */
__attribute__((format(printf, 3, 4))) int
lex_fail_msg(struct lex *l, const struct dbc_message *m, const char *fmt, ...)
{
	if (l->err) {
		va_list ap;
		int n;
		memset(l->err, 0, sizeof(*l->err));
		snprintf(l->err->file, sizeof(l->err->file), "%s", l->file);
		l->err->line = m->line;
		l->err->column = m->column;
		n = snprintf(l->err->message, sizeof(l->err->message), "message %s: ", m->name);
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < sizeof(l->err->message))
			vsnprintf(l->err->message + n, sizeof(l->err->message) - (size_t)n, fmt,
				  ap);
		va_end(ap);
	}
	return -EINVAL;
}

size_t lex_word_len_at(struct lex *l, size_t pos)
{
	size_t n = 0;
	while (pos + n < l->len && lex_is_word_char(l->s[pos + n]))
		n++;
	return n;
}

/* The word at the cursor, without consuming it. */
size_t lex_peek_word(struct lex *l, const char **ret)
{
	lex_skip_ws(l);
	*ret = l->s + l->pos;
	return lex_word_len_at(l, l->pos);
}

bool lex_peek_keyword(struct lex *l)
{
	const char *w;
	size_t n = lex_peek_word(l, &w);
	return n > 0 && lex_is_keyword(w, n);
}

bool lex_accept_word(struct lex *l, const char *kw)
{
	const char *w;
	size_t n = lex_peek_word(l, &w);
	if (n == strlen(kw) && memcmp(w, kw, n) == 0) {
		l->pos += n;
		return true;
	}
	return false;
}

bool lex_accept_char(struct lex *l, char c)
{
	if (lex_peek(l) == c) {
		l->pos++;
		return true;
	}
	return false;
}

int lex_expect_char(struct lex *l, char c, const char *what)
{
	if (lex_accept_char(l, c))
		return 0;
	if (l->pos >= l->len)
		return lex_fail_at(l, l->pos, "expected '%c' %s, got end of file", c, what);
	return lex_fail_at(l, l->pos, "expected '%c' %s", c, what);
}

/* A name: [A-Za-z0-9_]+ (opendbc has names starting with a digit). */
int lex_read_name(struct lex *l, const char *what, const char **ret)
{
	const char *w;
	size_t n = lex_peek_word(l, &w);
	if (n == 0)
		return lex_fail_at(l, l->pos, "expected %s", what);
	const char *s = dbci_arena_strndup(l->arena, w, n);
	if (!s)
		return -ENOMEM;
	l->pos += n;
	*ret = s;
	return 0;
}

bool lex_num_start(struct lex *l)
{
	char c = lex_peek(l);
	if (c == '.' || (c >= '0' && c <= '9'))
		return true;
	if ((c == '-' || c == '+') && l->pos + 1 < l->len) {
		char d = l->s[l->pos + 1];
		return d == '.' || (d >= '0' && d <= '9');
	}
	return false;
}

/* [-+]? digits? (. digits?)? ([eE][-+]?digits)? with at least one mantissa digit. */
int lex_read_number(struct lex *l, const char *what, struct num *ret)
{
	char tmp[128];
	size_t p, start, mant = 0;
	bool is_int = true;

	lex_skip_ws(l);
	start = p = l->pos;
	if (p < l->len && (l->s[p] == '-' || l->s[p] == '+'))
		p++;
	while (p < l->len && isdigit((unsigned char)l->s[p])) {
		p++;
		mant++;
	}
	if (p < l->len && l->s[p] == '.') {
		is_int = false;
		p++;
		while (p < l->len && isdigit((unsigned char)l->s[p])) {
			p++;
			mant++;
		}
	}
	if (mant == 0)
		return lex_fail_at(l, start, "expected a number for %s", what);
	if (p < l->len && (l->s[p] == 'e' || l->s[p] == 'E')) {
		size_t q = p + 1;
		if (q < l->len && (l->s[q] == '-' || l->s[q] == '+'))
			q++;
		if (q < l->len && isdigit((unsigned char)l->s[q])) {
			while (q < l->len && isdigit((unsigned char)l->s[q]))
				q++;
			p = q;
			is_int = false;
		}
	}
	if (p - start >= sizeof(tmp))
		return lex_fail_at(l, start, "number too long for %s", what);
	memcpy(tmp, l->s + start, p - start);
	tmp[p - start] = '\0';

	struct num n = {.is_int = is_int, .text = l->s + start, .text_len = p - start};
	char *end;
	if (is_int && mant <= 15) {
		/* most DBC numbers are small integers: exact, and what strtod would give */
		int64_t v = 0;
		for (size_t k = tmp[0] == '-' || tmp[0] == '+'; k < p - start; k++)
			v = v * 10 + (tmp[k] - '0');
		if (tmp[0] == '-')
			v = -v;
		n.d = (double)v;
		if (v == 0 && tmp[0] == '-')
			n.d = -0.0;
		n.i = v;
		n.i_ok = true;
		l->pos = p;
		*ret = n;
		return 0;
	}
	errno = 0;
	n.d = strtod(tmp, &end);
	if (*end != '\0')
		return lex_fail_at(l, start, "bad number '%s' for %s", tmp, what);
	/* a value beyond double range becomes inf, as Python's float() makes it */
	if (is_int) {
		errno = 0;
		long long v = strtoll(tmp, &end, 10);
		if (*end == '\0' && errno == 0) {
			n.i = v;
			n.i_ok = true;
		}
	} else if (n.d >= -9.2e18 && n.d <= 9.2e18 && n.d == floor(n.d)) {
		n.i = (int64_t)n.d;
		n.i_ok = true;
	}
	l->pos = p;
	*ret = n;
	return 0;
}

/* Unsigned decimal integer (identifiers, bit positions), range-checked. */
int lex_read_uint(struct lex *l, const char *what, uint64_t max, uint64_t *ret)
{
	lex_skip_ws(l);
	size_t start = l->pos, p = l->pos;
	char tmp[32];
	while (p < l->len && isdigit((unsigned char)l->s[p]))
		p++;
	/* a word glued to the digits is a name, not a number */
	if (p == start || (p < l->len && lex_is_word_char(l->s[p])))
		return lex_fail_at(l, start, "expected an unsigned integer for %s", what);
	if (p - start >= sizeof(tmp))
		return lex_fail_at(l, start, "%s out of range", what);
	memcpy(tmp, l->s + start, p - start);
	tmp[p - start] = '\0';
	char *end;
	errno = 0;
	unsigned long long v = strtoull(tmp, &end, 10);
	if (*end != '\0' || errno == ERANGE || v > max)
		return lex_fail_at(l, start, "%s %s out of range (max %llu)", what, tmp,
			       (unsigned long long)max);
	l->pos = p;
	*ret = v;
	return 0;
}

bool lex_uint_start(struct lex *l)
{
	lex_skip_ws(l);
	size_t p = l->pos;
	while (p < l->len && isdigit((unsigned char)l->s[p]))
		p++;
	return p > l->pos && !(p < l->len && lex_is_word_char(l->s[p]));
}

/* "..." where \" stands for a quote and every other byte is itself (cantools' rule). */
int lex_read_string(struct lex *l, const char *what, const char **ret)
{
	lex_skip_ws(l);
	size_t start = l->pos;
	if (l->pos >= l->len || l->s[l->pos] != '"')
		return lex_fail_at(l, l->pos, "expected a quoted string for %s", what);
	size_t p = start + 1, n = 0;
	bool closed = false;
	while (p < l->len) {
		if (l->s[p] == '\\' && p + 1 < l->len && l->s[p + 1] == '"') {
			p += 2;
			n++;
		} else if (l->s[p] == '"') {
			closed = true;
			break;
		} else {
			p++;
			n++;
		}
	}
	if (!closed)
		return lex_fail_at(l, start, "unterminated string for %s", what);
	char *s = dbci_arena_alloc(l->arena, n + 1);
	if (!s)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = start + 1; i < p;) {
		if (l->s[i] == '\\' && i + 1 < p && l->s[i + 1] == '"') {
			s[o++] = '"';
			i += 2;
		} else {
			s[o++] = l->s[i++];
		}
	}
	s[o] = '\0';
	l->pos = p + 1;
	*ret = s;
	return 0;
}

/* End of a statement: ';', or (opendbc quirk) nothing before the next keyword. */
int lex_expect_end(struct lex *l, const char *what)
{
	if (lex_accept_char(l, ';'))
		return 0;
	if (lex_at_end(l) || lex_peek_keyword(l)) {
		lex_warn_at(l, l->pos, "missing ';' after %s", what);
		return 0;
	}
	return lex_fail_at(l, l->pos, "expected ';' after %s", what);
}

/* Skips a statement we do not use: up to ';' (outside strings) or the next keyword that
 * starts a line (a statement missing its ';'). */
void lex_skip_statement(struct lex *l)
{
	bool line_start = false;
	while (l->pos < l->len) {
		char c = l->s[l->pos];
		if (c == ';') {
			l->pos++;
			return;
		}
		if (c == '"') {
			l->pos++;
			while (l->pos < l->len && l->s[l->pos] != '"') {
				if (l->s[l->pos] == '\\' && l->pos + 1 < l->len &&
				    l->s[l->pos + 1] == '"')
					l->pos++;
				l->pos++;
			}
			l->pos++;
			line_start = false;
			continue;
		}
		if (c == '\n') {
			line_start = true;
			l->pos++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			l->pos++;
			continue;
		}
		if (line_start && lex_is_word_char(c)) {
			size_t n = lex_word_len_at(l, l->pos);
			if (lex_is_keyword(l->s + l->pos, n))
				return;
		}
		line_start = false;
		l->pos++;
	}
}

