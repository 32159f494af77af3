/* SPDX-License-Identifier: MIT */
#include "ingest-config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum key_type {
	KEY_TYPE_TEXT,  /* any printable text (conninfo, user name) */
	KEY_TYPE_HOST,  /* no blanks */
	KEY_TYPE_NAME,  /* a topic level / client id: [A-Za-z0-9][A-Za-z0-9_.-]* */
	KEY_TYPE_PATH,  /* absolute, or empty */
	KEY_TYPE_BOOL,
	KEY_TYPE_UINT,
	KEY_TYPE_MAX,
};

struct key {
	const char *section, *name;
	enum key_type type;
	size_t offset, size; /* strings: buffer size */
	uint32_t min, max;   /* numbers */
};

#define S(f) offsetof(struct ingest_config, f), sizeof(((struct ingest_config *)0)->f)
#define U(f) offsetof(struct ingest_config, f), 0

static const struct key KEYS[] = {
	{"mqtt", "host", KEY_TYPE_HOST, S(mqtt.host), 0, 0},
	{"mqtt", "port", KEY_TYPE_UINT, U(mqtt.port), 1, 65535},
	{"mqtt", "client_id", KEY_TYPE_NAME, S(mqtt.client_id), 0, 0},
	{"mqtt", "group", KEY_TYPE_NAME, S(mqtt.group), 0, 0},
	{"mqtt", "prefix", KEY_TYPE_NAME, S(mqtt.prefix), 0, 0},
	{"mqtt", "tls", KEY_TYPE_BOOL, U(mqtt.tls), 0, 0},
	{"mqtt", "ca_file", KEY_TYPE_PATH, S(mqtt.ca_file), 0, 0},
	{"mqtt", "cert_file", KEY_TYPE_PATH, S(mqtt.cert_file), 0, 0},
	{"mqtt", "key_file", KEY_TYPE_PATH, S(mqtt.key_file), 0, 0},
	{"mqtt", "username", KEY_TYPE_TEXT, S(mqtt.username), 0, 0},
	{"mqtt", "password_file", KEY_TYPE_PATH, S(mqtt.password_file), 0, 0},
	{"mqtt", "keepalive", KEY_TYPE_UINT, U(mqtt.keepalive_s), 5, 3600},
	{"mqtt", "session_expiry", KEY_TYPE_UINT, U(mqtt.session_expiry_s), 0, 4294967295u},
	{"database", "conninfo", KEY_TYPE_TEXT, S(database.conninfo), 0, 0},
	{"ingest", "name", KEY_TYPE_NAME, S(ingest.name), 0, 0},
	{"ingest", "queue_max", KEY_TYPE_UINT, U(ingest.queue_max), 10, 10000000},
	{"ingest", "batch_max", KEY_TYPE_UINT, U(ingest.batch_max), 1, 10000},
	{"ingest", "retry_max", KEY_TYPE_UINT, U(ingest.retry_max_s), 1, 3600},
};

_Static_assert(ARRAY_SIZE(KEYS) <= 32, "seen is a 32-bit mask");

void ingest_config_defaults(struct ingest_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->mqtt.host, sizeof(cfg->mqtt.host), "localhost");
	snprintf(cfg->mqtt.group, sizeof(cfg->mqtt.group), "bodydiag-ingest");
	snprintf(cfg->mqtt.prefix, sizeof(cfg->mqtt.prefix), "bodydiag");
	cfg->mqtt.keepalive_s = 30;
	cfg->mqtt.session_expiry_s = 86400;
	snprintf(cfg->database.conninfo, sizeof(cfg->database.conninfo), "dbname=bodydiag");
	snprintf(cfg->ingest.name, sizeof(cfg->ingest.name), "ingest");
	cfg->ingest.queue_max = 10000;
	cfg->ingest.batch_max = 500;
	cfg->ingest.retry_max_s = 30;
}

static int error_at(struct ingest_config_error *e, unsigned line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int error_at(struct ingest_config_error *e, unsigned line, size_t col, const char *fmt, ...)
{
	va_list ap;

	e->line = line;
	e->column = (unsigned)col;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Stores v (NUL-terminated, trimmed) into its field; NULL or what is wrong with it. */
static const char *store(struct ingest_config *cfg, const struct key *k, const char *v, size_t n)
{
	void *field = (char *)cfg + k->offset;
	unsigned long long u = 0;

	switch (k->type) {
	case KEY_TYPE_HOST:
	case KEY_TYPE_TEXT:
		if (n == 0)
			return "empty value";
		if (k->type == KEY_TYPE_HOST && strpbrk(v, " \t"))
			return "a host name has no blanks";
		break;
	case KEY_TYPE_NAME:
		if (!fleet_unit_valid(v, n))
			return "expects 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)";
		break;
	case KEY_TYPE_PATH:
		if (n && v[0] != '/')
			return "expects an absolute path (or nothing)";
		break;
	case KEY_TYPE_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *)field = true;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
			 !strcmp(v, "0"))
			*(bool *)field = false;
		else
			return "expects yes or no";
		return NULL;
	case KEY_TYPE_UINT:
		/* Digits only, no sign or blanks; at most 10 of them, so no overflow below. */
		if (n == 0 || n > 10 || strspn(v, "0123456789") != n)
			return "expects a decimal integer";
		for (size_t i = 0; i < n; i++)
			u = u * 10 + (unsigned)(v[i] - '0');
		if (u < k->min || u > k->max)
			return "out of range";
		*(uint32_t *)field = (uint32_t)u;
		return NULL;
	case KEY_TYPE_MAX:
		return "internal error";
	}
	if (n >= k->size)
		return "too long";
	memcpy(field, v, n + 1);
	return NULL;
}

int ingest_config_parse(const char *buf, size_t len, struct ingest_config *cfg,
			struct ingest_config_error *e)
{
	char section[32] = "", line[INGEST_CONFIG_MAX_LINE + 1];
	uint32_t seen = 0;
	unsigned lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos, n, a, b;

		while (end < len && buf[end] != '\n')
			end++;
		lineno++;
		n = end - pos;
		if (n && buf[pos + n - 1] == '\r')
			n--;
		if (n > INGEST_CONFIG_MAX_LINE)
			return error_at(e, lineno, INGEST_CONFIG_MAX_LINE + 1,
					"line longer than %d bytes", INGEST_CONFIG_MAX_LINE);
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos = end + 1;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				return error_at(e, lineno, i + 1, "control character");
			else if (line[i] == 0x7f)
				return error_at(e, lineno, i + 1, "control character");
		for (a = 0; line[a] == ' ' || line[a] == '\t'; a++)
			;
		for (b = n; b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'); b--)
			;
		line[b] = '\0';
		if (a == b || line[a] == '#')
			continue;
		if (line[a] == '[') {
			char *close = strchr(line + a, ']');
			if (!close || close[1])
				return error_at(e, lineno, a + 1, "a section is [name] alone on its line");
			*close = '\0';
			snprintf(section, sizeof(section), "%.31s", line + a + 1);
			bool known = false;
			for (size_t i = 0; i < ARRAY_SIZE(KEYS); i++)
				known |= strcmp(KEYS[i].section, section) == 0;
			if (!known)
				return error_at(e, lineno, a + 2,
						"unknown section [%s] (mqtt, database, ingest)", section);
			continue;
		}
		char *eq = strchr(line + a, '=');
		if (!eq)
			return error_at(e, lineno, a + 1, "expected key = value");
		if (!section[0])
			return error_at(e, lineno, a + 1, "key before the first [section]");
		size_t kend = (size_t)(eq - line);
		while (kend > a && (line[kend - 1] == ' ' || line[kend - 1] == '\t'))
			kend--;
		line[kend] = '\0';
		const struct key *k = NULL;
		size_t ki;
		for (ki = 0; ki < ARRAY_SIZE(KEYS); ki++)
			if (!strcmp(KEYS[ki].section, section) && !strcmp(KEYS[ki].name, line + a)) {
				k = &KEYS[ki];
				break;
			}
		if (!k)
			return error_at(e, lineno, a + 1, "unknown key '%.64s' in [%s]", line + a,
					section);
		if (seen & (1u << ki))
			return error_at(e, lineno, a + 1, "'%s' set twice", k->name);
		seen |= 1u << ki;
		size_t v = (size_t)(eq - line) + 1;
		while (line[v] == ' ' || line[v] == '\t')
			v++;
		const char *why = store(cfg, k, line + v, strlen(line + v));
		if (why)
			return error_at(e, lineno, v + 1, "%s: %s", k->name, why);
	}
	return 0;
}

int ingest_config_check(const struct ingest_config *cfg, char *err, size_t err_size)
{
	const char *why = NULL;

	if (!cfg->mqtt.cert_file[0] != !cfg->mqtt.key_file[0])
		why = "[mqtt] cert_file and key_file go together";
	else if (cfg->mqtt.password_file[0] && !cfg->mqtt.username[0])
		why = "[mqtt] password_file needs a username";
	else if ((cfg->mqtt.cert_file[0] || cfg->mqtt.ca_file[0]) && !cfg->mqtt.tls)
		why = "[mqtt] ca_file/cert_file need tls = yes";
	if (why) {
		snprintf(err, err_size, "%s", why);
		return -EINVAL;
	}
	return 0;
}
