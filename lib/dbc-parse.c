/* SPDX-License-Identifier: MIT */
/*
 * DBC statements: BO_/SG_ make messages and signals, the statements that refer to them
 * (CM_, BA_, VAL_, SIG_VALTYPE_, SG_MUL_VAL_, BO_TX_BU_, SIG_GROUP_) are kept as
 * references and applied by dbc-resolve.c once the whole text is read. The grammar is
 * read token by token the way cantools reads it, with opendbc's quirks accepted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dbc-parse.h"

/* ---- statements ------------------------------------------------------------------ */

static struct ref *new_ref(struct lex *l, enum ref_kind kind, size_t pos)
{
	struct ref *r = dbci_vec_push(&l->refs, sizeof(*r));
	if (!r)
		return NULL;
	r->kind = kind;
	lex_position(l, pos, &r->line, &r->column);
	return r;
}

/* opendbc writes 29-bit ids above 0x7FF without bit 31; take them as extended. */
static uint32_t canonical_id(uint64_t id)
{
	if (!(id & 0x80000000u) && id > 0x7ffu)
		id |= 0x80000000u;
	return (uint32_t)id;
}

static int read_msg_id(struct lex *l, uint32_t *ret)
{
	uint64_t v;
	int r = lex_read_uint(l, "message id", UINT32_MAX, &v);
	if (r < 0)
		return r;
	*ret = canonical_id(v);
	return 0;
}

static int parse_signal_body(struct lex *l, struct dbc_signal *s, bool with_receivers)
{
	struct num n;
	uint64_t v;
	int r;

	if ((r = lex_read_name(l, "signal name", &s->dbc_name)) < 0)
		return r;
	s->name = s->dbc_name;
	if (lex_peek(l) != ':') {
		if ((r = lex_read_name(l, "multiplexer indicator or ':'", &s->mux_token)) < 0)
			return r;
	}
	if ((r = lex_expect_char(l, ':', "after signal name")) < 0)
		return r;
	if ((r = lex_read_uint(l, "start bit", 511, &v)) < 0)
		return r;
	s->start = (unsigned)v;
	if ((r = lex_expect_char(l, '|', "after start bit")) < 0)
		return r;
	size_t lpos = (lex_skip_ws(l), l->pos);
	if ((r = lex_read_uint(l, "signal length", 1u << 24, &v)) < 0)
		return r;
	if (v == 0)
		return lex_fail_at(l, lpos, "signal length 0");
	/* cantools loads wider signals in lax mode; only the part inside the message is
	 * ever decoded */
	if (v > 64)
		lex_warn_at(l, lpos, "signal %s is %llu bits long", s->name, (unsigned long long)v);
	s->length = (unsigned)v;
	if ((r = lex_expect_char(l, '@', "after signal length")) < 0)
		return r;
	char c = lex_peek(l);
	if (c != '0' && c != '1')
		return lex_fail_at(l, l->pos, "expected byte order 0 or 1 after '@'");
	s->big_endian = c == '0';
	l->pos++;
	c = lex_peek(l);
	if (c != '+' && c != '-')
		return lex_fail_at(l, l->pos, "expected '+' or '-' after byte order");
	s->is_signed = c == '-';
	l->pos++;
	if ((r = lex_expect_char(l, '(', "before factor")) < 0)
		return r;
	if ((r = lex_read_number(l, "factor", &n)) < 0)
		return r;
	s->factor = n.d;
	s->factor_is_int_literal = n.is_int;
	if ((r = lex_expect_char(l, ',', "after factor")) < 0)
		return r;
	if ((r = lex_read_number(l, "offset", &n)) < 0)
		return r;
	s->offset = n.d;
	if ((r = lex_expect_char(l, ')', "after offset")) < 0)
		return r;
	if ((r = lex_expect_char(l, '[', "before minimum")) < 0)
		return r;
	if ((r = lex_read_number(l, "minimum", &n)) < 0)
		return r;
	s->min = n.d;
	bool min_zero = n.text_len == 1 && n.text[0] == '0';
	if ((r = lex_expect_char(l, '|', "after minimum")) < 0)
		return r;
	if ((r = lex_read_number(l, "maximum", &n)) < 0)
		return r;
	s->max = n.d;
	/* cantools: the literal text [0|0] means no range */
	s->has_range = !(min_zero && n.text_len == 1 && n.text[0] == '0');
	if ((r = lex_expect_char(l, ']', "after maximum")) < 0)
		return r;
	if ((r = lex_read_string(l, "unit", &s->unit)) < 0)
		return r;
	if (!with_receivers)
		return 0;
	for (;;) {
		const char *w;
		size_t wn = lex_peek_word(l, &w);
		if (wn == 0 || lex_is_keyword(w, wn))
			break;
		const char *name;
		if ((r = lex_read_name(l, "receiver", &name)) < 0)
			return r;
		if (strcmp(name, "Vector__XXX") != 0 &&
		    dbci_vec_push_ptr(&s->receivers, (void *)name) < 0)
			return -ENOMEM;
		lex_accept_char(l, ',');
	}
	return 0;
}

static int parse_message_body(struct lex *l, struct dbc_message *m, size_t kwpos);

static int parse_message(struct lex *l, size_t kwpos)
{
	struct dbc_message *m = dbci_arena_alloc(l->arena, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	r = parse_message_body(l, m, kwpos);
	/* cantools drops the pseudo message holding signals that belong to no message */
	if (r >= 0 && !m->dropped && strcmp(m->dbc_name, "VECTOR__INDEPENDENT_SIG_MSG") != 0) {
		r = dbci_vec_push_ptr(&l->db->messages, m);
		if (r >= 0)
			return r;
	}
	dbci_message_release(m);
	return r;
}

static int parse_message_body(struct lex *l, struct dbc_message *m, size_t kwpos)
{
	uint64_t v;
	int r;

	lex_position(l, kwpos, &m->line, &m->column);
	size_t idpos = (lex_skip_ws(l), l->pos);
	if ((r = lex_read_uint(l, "message id", UINT32_MAX, &v)) < 0)
		return r;
	m->dbc_id = canonical_id(v);
	if ((r = lex_read_name(l, "message name", &m->dbc_name)) < 0)
		return r;
	if ((m->dbc_id & 0x7fffffffu) > 0x1fffffffu) {
		/* no CAN frame carries it; cantools refuses the file, we leave the message out
		 * (VECTOR__INDEPENDENT_SIG_MSG, 0x40000000, is dropped anyway) */
		if (strcmp(m->dbc_name, "VECTOR__INDEPENDENT_SIG_MSG") != 0)
			lex_warn_at(l, idpos, "message %s: id 0x%x is more than 29 bits; left out",
				m->dbc_name, m->dbc_id & 0x7fffffffu);
		m->dropped = true;
	} else if (m->dbc_id != v) {
		lex_warn_at(l, idpos, "id 0x%llx above 0x7FF without bit 31: taken as extended",
			(unsigned long long)v);
	}
	m->name = m->dbc_name;
	if (m->name[0] >= '0' && m->name[0] <= '9') {
		/* not a C identifier; the reference decoder (cantools after repairing opendbc's
		 * quirks) names such messages D__<name>, and so do we */
		char *n = dbci_arena_alloc(l->arena, strlen(m->dbc_name) + 4);
		if (!n)
			return -ENOMEM;
		sprintf(n, "D__%s", m->dbc_name);
		m->name = n;
		lex_warn_at(l, kwpos, "message name %s starts with a digit; called %s", m->dbc_name, n);
	}
	if ((r = lex_expect_char(l, ':', "after message name")) < 0)
		return r;
	size_t lpos = (lex_skip_ws(l), l->pos);
	if ((r = lex_read_uint(l, "message length", 4096, &v)) < 0)
		return r;
	m->length = (unsigned)v;
	if (m->length > DBC_MAX_MESSAGE_LEN)
		return lex_fail_at(l, lpos, "message length %u exceeds %u bytes", m->length,
			       DBC_MAX_MESSAGE_LEN);
	if (!lex_peek_keyword(l) && !lex_at_end(l) && lex_peek(l) != ';') {
		const char *sender;
		if ((r = lex_read_name(l, "sender", &sender)) < 0)
			return r;
		if (strcmp(sender, "Vector__XXX") != 0 &&
		    dbci_vec_push_ptr(&m->senders, (void *)sender) < 0)
			return -ENOMEM;
	}
	lex_accept_char(l, ';');
	while (lex_accept_word(l, "SG_")) {
		struct dbc_signal *s = dbci_arena_alloc(l->arena, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->index = m->signals.n;
		if (dbci_vec_push_ptr(&m->signals, s) < 0)
			return -ENOMEM;
		if ((r = parse_signal_body(l, s, true)) < 0)
			return r;
	}
	return 0;
}

/* NUMBER STRING pairs, as in VAL_ and VAL_TABLE_. */
static int parse_pairs(struct lex *l, struct vec *pairs)
{
	while (lex_num_start(l)) {
		struct num n;
		const char *label;
		size_t pos = l->pos;
		int r;
		if ((r = lex_read_number(l, "value", &n)) < 0)
			return r;
		if ((r = lex_read_string(l, "value description", &label)) < 0)
			return r;
		if (!n.i_ok) {
			lex_warn_at(l, pos, "value %.*s is not an integer; ignored", (int)n.text_len,
				n.text);
			continue;
		}
		struct choice *c = dbci_vec_push(pairs, sizeof(*c));
		if (!c)
			return -ENOMEM;
		c->value = n.i;
		c->label = label;
	}
	return 0;
}

static int parse_val(struct lex *l, size_t kwpos)
{
	const char *name;
	int r;

	if (lex_uint_start(l)) {
		struct ref *ref = new_ref(l, REF_CHOICES, kwpos);
		if (!ref)
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if ((r = lex_read_name(l, "signal name", &ref->sig)) < 0)
			return r;
		if ((r = parse_pairs(l, &ref->pairs)) < 0)
			return r;
	} else {
		/* value descriptions of an environment variable: not used */
		struct vec pairs = {0};
		if ((r = lex_read_name(l, "signal or environment variable name", &name)) < 0)
			return r;
		r = parse_pairs(l, &pairs);
		free(pairs.v);
		if (r < 0)
			return r;
	}
	return lex_expect_end(l, "VAL_");
}

static int parse_comment(struct lex *l, size_t kwpos)
{
	const char *text, *name;
	struct ref *ref;
	int r;

	if (lex_accept_word(l, "SG_")) {
		if (!(ref = new_ref(l, REF_COMMENT_SIG, kwpos)))
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if (lex_peek(l) == '"') {
			/* opendbc quirk: no signal name; the comment belongs to nothing */
			lex_warn_at(l, l->pos, "signal comment without a signal name");
			ref->kind = -1;
		} else if ((r = lex_read_name(l, "signal name", &ref->sig)) < 0) {
			return r;
		}
		if ((r = lex_read_string(l, "comment", &ref->text)) < 0)
			return r;
	} else if (lex_accept_word(l, "BO_")) {
		if (!(ref = new_ref(l, REF_COMMENT_MSG, kwpos)))
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if ((r = lex_read_string(l, "comment", &ref->text)) < 0)
			return r;
	} else if (lex_accept_word(l, "BU_") || lex_accept_word(l, "EV_")) {
		if ((r = lex_read_name(l, "name", &name)) < 0)
			return r;
		if ((r = lex_read_string(l, "comment", &text)) < 0)
			return r;
	} else if (lex_uint_start(l)) {
		/* opendbc writes message comments without BO_ */
		lex_warn_at(l, l->pos, "message comment without BO_");
		if (!(ref = new_ref(l, REF_COMMENT_MSG, kwpos)))
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if ((r = lex_read_string(l, "comment", &ref->text)) < 0)
			return r;
	} else {
		if ((r = lex_read_string(l, "comment", &text)) < 0)
			return r;
	}
	return lex_expect_end(l, "CM_");
}

struct attr_def *dbci_find_def(struct lex *l, const char *name)
{
	struct attr_def *d = l->defs.v;
	for (size_t i = l->defs.n; i-- > 0;)
		if (strcmp(d[i].name, name) == 0)
			return &d[i];
	return NULL;
}

static int parse_attr_def(struct lex *l)
{
	struct attr_def *d = dbci_vec_push(&l->defs, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	if (!lex_accept_word(l, "SG_") && !lex_accept_word(l, "BO_") && !lex_accept_word(l, "BU_"))
		lex_accept_word(l, "EV_");
	if ((r = lex_read_string(l, "attribute name", &d->name)) < 0)
		return r;
	if ((r = lex_read_name(l, "attribute type", &d->type)) < 0)
		return r;
	while (!lex_at_end(l) && lex_peek(l) != ';' && !lex_peek_keyword(l)) {
		if (lex_peek(l) == '"') {
			const char *e;
			if ((r = lex_read_string(l, "enum value", &e)) < 0)
				return r;
			if (dbci_vec_push_ptr(&d->enums, (void *)e) < 0)
				return -ENOMEM;
		} else if (lex_num_start(l)) {
			struct num n;
			if ((r = lex_read_number(l, "attribute limit", &n)) < 0)
				return r;
		} else if (lex_peek(l) == ',') {
			l->pos++;
		} else {
			return lex_fail_at(l, l->pos, "unexpected character in BA_DEF_");
		}
	}
	return lex_expect_end(l, "BA_DEF_");
}

static int read_attr_value(struct lex *l, const char **ret_text, double *ret_num,
			   bool *ret_is_string)
{
	int r;
	if (lex_peek(l) == '"') {
		*ret_is_string = true;
		*ret_num = 0;
		return lex_read_string(l, "attribute value", ret_text);
	}
	struct num n;
	if ((r = lex_read_number(l, "attribute value", &n)) < 0)
		return r;
	*ret_is_string = false;
	*ret_num = n.d;
	*ret_text = dbci_arena_strndup(l->arena, n.text, n.text_len);
	return *ret_text ? 0 : -ENOMEM;
}

static int parse_attr_default(struct lex *l)
{
	const char *name, *text;
	double num;
	bool is_string;
	int r;

	if ((r = lex_read_string(l, "attribute name", &name)) < 0)
		return r;
	if ((r = read_attr_value(l, &text, &num, &is_string)) < 0)
		return r;
	struct attr_def *d = dbci_find_def(l, name);
	if (d)
		d->def_text = text;
	return lex_expect_end(l, "BA_DEF_DEF_");
}

static int parse_attr(struct lex *l, size_t kwpos)
{
	const char *name, *text, *other;
	struct ref tmp = {0};
	double num;
	bool is_string;
	int r, kind = -1;

	if ((r = lex_read_string(l, "attribute name", &name)) < 0)
		return r;
	if (lex_accept_word(l, "BO_")) {
		kind = REF_ATTR_MSG;
		if ((r = read_msg_id(l, &tmp.dbc_id)) < 0)
			return r;
	} else if (lex_accept_word(l, "SG_")) {
		kind = REF_ATTR_SIG;
		if ((r = read_msg_id(l, &tmp.dbc_id)) < 0)
			return r;
		if ((r = lex_read_name(l, "signal name", &tmp.sig)) < 0)
			return r;
	} else if (lex_accept_word(l, "BU_") || lex_accept_word(l, "EV_")) {
		if ((r = lex_read_name(l, "name", &other)) < 0)
			return r;
	}
	if ((r = read_attr_value(l, &text, &num, &is_string)) < 0)
		return r;
	if (kind >= 0) {
		struct ref *ref = new_ref(l, kind, kwpos);
		if (!ref)
			return -ENOMEM;
		ref->dbc_id = tmp.dbc_id;
		ref->sig = tmp.sig;
		ref->name = name;
		ref->text = text;
		ref->num = num;
		ref->is_string = is_string;
	}
	return lex_expect_end(l, "BA_");
}

static int parse_sig_valtype(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_SIGTYPE, kwpos);
	uint64_t v;
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = lex_read_name(l, "signal name", &ref->sig)) < 0)
		return r;
	lex_accept_char(l, ':');
	if ((r = lex_read_uint(l, "signal value type", 3, &v)) < 0)
		return r;
	ref->num = (double)v;
	return lex_expect_end(l, "SIG_VALTYPE_");
}

static int parse_mul_val(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_MULVAL, kwpos);
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = lex_read_name(l, "signal name", &ref->sig)) < 0)
		return r;
	if ((r = lex_read_name(l, "multiplexer name", &ref->name)) < 0)
		return r;
	do {
		uint64_t lo, hi;
		size_t pos = (lex_skip_ws(l), l->pos);
		if ((r = lex_read_uint(l, "multiplexer value", INT64_MAX, &lo)) < 0)
			return r;
		if ((r = lex_expect_char(l, '-', "in multiplexer value range")) < 0)
			return r;
		if ((r = lex_read_uint(l, "multiplexer value", INT64_MAX, &hi)) < 0)
			return r;
		if (hi < lo)
			return lex_fail_at(l, pos, "multiplexer range %llu-%llu is empty",
				       (unsigned long long)lo, (unsigned long long)hi);
		struct range *rg = dbci_vec_push(&ref->pairs, sizeof(*rg));
		if (!rg)
			return -ENOMEM;
		rg->lo = (int64_t)lo;
		rg->hi = (int64_t)hi;
	} while (lex_accept_char(l, ','));
	return lex_expect_end(l, "SG_MUL_VAL_");
}

static int parse_tx_bu(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_TX_BU, kwpos);
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = lex_expect_char(l, ':', "after message id")) < 0)
		return r;
	while (!lex_peek_keyword(l) && lex_word_len_at(l, (lex_skip_ws(l), l->pos)) > 0) {
		const char *name;
		if ((r = lex_read_name(l, "sender", &name)) < 0)
			return r;
		if (dbci_vec_push_ptr(&ref->pairs, (void *)name) < 0)
			return -ENOMEM;
		lex_accept_char(l, ',');
	}
	return lex_expect_end(l, "BO_TX_BU_");
}

static int parse_sig_group(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_SIG_GROUP, kwpos);
	uint64_t reps;
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = lex_read_name(l, "signal group name", &ref->name)) < 0)
		return r;
	if ((r = lex_read_uint(l, "repetitions", UINT32_MAX, &reps)) < 0)
		return r;
	ref->num = (double)reps;
	if ((r = lex_expect_char(l, ':', "after repetitions")) < 0)
		return r;
	while (!lex_peek_keyword(l) && lex_word_len_at(l, (lex_skip_ws(l), l->pos)) > 0) {
		const char *name;
		if ((r = lex_read_name(l, "signal name", &name)) < 0)
			return r;
		if (dbci_vec_push_ptr(&ref->pairs, (void *)name) < 0)
			return -ENOMEM;
		lex_accept_char(l, ',');
	}
	return lex_expect_end(l, "SIG_GROUP_");
}

static int parse_value_table(struct lex *l)
{
	const char *name;
	struct vec pairs = {0};
	int r;

	/* kept by cantools but never linked to signals: parsed for syntax only */
	if ((r = lex_read_name(l, "value table name", &name)) < 0)
		return r;
	r = parse_pairs(l, &pairs);
	free(pairs.v);
	if (r < 0)
		return r;
	return lex_expect_end(l, "VAL_TABLE_");
}

static int parse_nodes(struct lex *l)
{
	int r;
	lex_accept_char(l, ':');
	for (;;) {
		const char *w;
		size_t n = lex_peek_word(l, &w);
		if (n == 0 || lex_is_keyword(w, n))
			break;
		const char *name;
		if ((r = lex_read_name(l, "node name", &name)) < 0)
			return r;
		if (dbci_vec_push_ptr(&l->db->nodes, (void *)name) < 0)
			return -ENOMEM;
		lex_accept_char(l, ',');
	}
	lex_accept_char(l, ';');
	return 0;
}

static void parse_ns(struct lex *l)
{
	/* the list of symbol names ends at the first word followed by ':' (cantools) */
	lex_accept_char(l, ':');
	for (;;) {
		const char *w;
		size_t n = lex_peek_word(l, &w);
		if (n == 0)
			return;
		if ((n == 3 &&
		     (!memcmp(w, "BS_", 3) || !memcmp(w, "BU_", 3) || !memcmp(w, "BO_", 3))))
			return;
		size_t p = l->pos + n;
		while (p < l->len &&
		       (l->s[p] == ' ' || l->s[p] == '\t' || l->s[p] == '\r' || l->s[p] == '\n'))
			p++;
		if (p < l->len && l->s[p] == ':')
			return;
		l->pos += n;
	}
}

static void parse_bs(struct lex *l)
{
	lex_accept_char(l, ':');
	/* optional "baudrate : btr1 , btr2" */
	while (lex_uint_start(l) || lex_peek(l) == ':' || lex_peek(l) == ',') {
		if (lex_uint_start(l)) {
			uint64_t v;
			if (lex_read_uint(l, "baudrate", UINT64_MAX, &v) < 0)
				return;
		} else {
			l->pos++;
		}
	}
	lex_accept_char(l, ';');
}

int dbci_parse_statements(struct lex *l)
{
	int r = 0;

	while (!lex_at_end(l)) {
		size_t kwpos = l->pos;
		const char *w;
		size_t n = lex_peek_word(l, &w);

		if (n == 0) {
			char c = l->s[l->pos];
			if (c == ';') {
				/* stray ';' after a statement: harmless */
				l->pos++;
				continue;
			}
			if (isprint((unsigned char)c))
				return lex_fail_at(l, l->pos, "unexpected '%c' at top level", c);
			return lex_fail_at(l, l->pos, "unexpected byte 0x%02x at top level",
				       (unsigned char)c);
		}
		l->pos += n;
#define IS(kw) (n == sizeof(kw) - 1 && memcmp(w, kw, n) == 0)
		if (IS("VERSION")) {
			r = lex_read_string(l, "version", &l->db->version);
		} else if (IS("NS_")) {
			parse_ns(l);
		} else if (IS("BS_")) {
			parse_bs(l);
		} else if (IS("BU_")) {
			r = parse_nodes(l);
		} else if (IS("BO_")) {
			r = parse_message(l, kwpos);
		} else if (IS("SG_")) {
			return lex_fail_at(l, kwpos, "SG_ outside a BO_ message");
		} else if (IS("CM_")) {
			r = parse_comment(l, kwpos);
		} else if (IS("BA_DEF_")) {
			r = parse_attr_def(l);
		} else if (IS("BA_DEF_DEF_")) {
			r = parse_attr_default(l);
		} else if (IS("BA_")) {
			r = parse_attr(l, kwpos);
		} else if (IS("VAL_")) {
			r = parse_val(l, kwpos);
		} else if (IS("VAL_TABLE_")) {
			r = parse_value_table(l);
		} else if (IS("SIG_VALTYPE_")) {
			r = parse_sig_valtype(l, kwpos);
		} else if (IS("SG_MUL_VAL_")) {
			r = parse_mul_val(l, kwpos);
		} else if (IS("BO_TX_BU_")) {
			r = parse_tx_bu(l, kwpos);
		} else if (IS("SIG_GROUP_")) {
			r = parse_sig_group(l, kwpos);
		} else if (lex_is_keyword(w, n)) {
			/* EV_, ENVVAR_DATA_, relations, categories, signal types: not used */
			lex_skip_statement(l);
		} else {
			lex_warn_at(l, kwpos, "unknown statement '%.*s' skipped", (int)n, w);
			lex_skip_statement(l);
		}
#undef IS
		if (r < 0)
			return r;
	}
	return 0;
}


/* ---- public: parsing ------------------------------------------------------------- */

struct dbc_parser {
	char *file;
	dbc_warn_fn warn;
	void *userdata;
	char *buf;
	size_t len, cap;
};

static void parse_release(struct lex *l)
{
	struct ref *refs = l->refs.v;
	for (size_t i = 0; i < l->refs.n; i++)
		free(refs[i].pairs.v);
	free(l->refs.v);
	struct attr_def *defs = l->defs.v;
	for (size_t i = 0; i < l->defs.n; i++)
		free(defs[i].enums.v);
	free(l->defs.v);
}

int dbc_parse(const void *buf, size_t len, const char *filename, dbc_warn_fn warn, void *userdata,
	      struct dbc_error *err, struct dbc **ret_dbc)
{
	struct dbc *db;
	int r;

	if (len > DBC_MAX_SOURCE)
		return -EFBIG;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	struct lex l = {
	    .s = buf ? buf : "",
	    .len = len,
	    .file = filename ? filename : "<memory>",
	    .warn = warn,
	    .userdata = userdata,
	    .err = err,
	    .arena = &db->arena,
	    .db = db,
	    .line_cache_line = 1,
	};
	db->version = "";
	/* a UTF-8 byte order mark is not part of the grammar */
	if (l.len >= 3 && memcmp(l.s, "\xef\xbb\xbf", 3) == 0)
		l.pos = 3;
	r = dbci_parse_statements(&l);
	if (r >= 0)
		r = dbci_resolve(&l);
	parse_release(&l);
	if (r < 0) {
		if (r == -ENOMEM && err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->file, sizeof(err->file), "%s", l.file);
			snprintf(err->message, sizeof(err->message), "out of memory");
		}
		dbc_free(db);
		return r;
	}
	*ret_dbc = db;
	return 0;
}

struct dbc_parser *dbc_parser_new(const char *filename, dbc_warn_fn warn, void *userdata)
{
	struct dbc_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->file = strdup(filename ? filename : "<memory>");
	if (!p->file) {
		free(p);
		return NULL;
	}
	p->warn = warn;
	p->userdata = userdata;
	return p;
}

int dbc_parser_feed(struct dbc_parser *p, const void *buf, size_t len)
{
	/* the grammar has no line structure (strings span lines), so the text is kept
	 * whole and parsed at _finish; the bound keeps that memory finite */
	return bytes_append(&p->buf, &p->len, &p->cap, buf, len, 65536, DBC_MAX_SOURCE);
}

int dbc_parser_finish(struct dbc_parser *p, struct dbc_error *err, struct dbc **ret_dbc)
{
	return dbc_parse(p->buf, p->len, p->file, p->warn, p->userdata, err, ret_dbc);
}

struct dbc_parser *dbc_parser_free(struct dbc_parser *p)
{
	if (!p)
		return NULL;
	free(p->buf);
	free(p->file);
	free(p);
	return NULL;
}

int dbc_signal_parse(const char *text, size_t len, struct dbc_error *err,
		     struct dbc_signal **ret_signal)
{
	struct arena *a = calloc(1, sizeof(*a));
	struct dbc_signal *s;
	int r;

	if (!a)
		return -ENOMEM;
	s = dbci_arena_alloc(a, sizeof(*s));
	if (!s) {
		free(a);
		return -ENOMEM;
	}
	s->own = a;
	struct lex l = {
	    .s = text ? text : "",
	    .len = len,
	    .file = "<signal>",
	    .err = err,
	    .arena = a,
	    .line_cache_line = 1,
	};
	lex_accept_word(&l, "SG_");
	r = parse_signal_body(&l, s, true);
	if (r >= 0 && !lex_at_end(&l)) {
		lex_accept_char(&l, ';');
		if (!lex_at_end(&l))
			r = lex_fail_at(&l, l.pos, "unexpected text after signal definition");
	}
	if (r < 0) {
		dbc_signal_free(s);
		return r;
	}
	s->mux_token = NULL;
	dbci_signal_locate(s, 0);
	*ret_signal = s;
	return 0;
}

