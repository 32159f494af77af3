/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "bodydiag/numfmt.h"
#include "macro.h"

enum value_type {
	VALUE_TYPE_STRING,
	VALUE_TYPE_PATH,     /* absolute, or "" when the key allows empty */
	VALUE_TYPE_IFNAME,
	VALUE_TYPE_NAME,     /* group name, MQTT client id: [A-Za-z0-9_.-] */
	VALUE_TYPE_HOST,
	VALUE_TYPE_BOOL,
	VALUE_TYPE_UINT32,
	VALUE_TYPE_DOUBLE,
	VALUE_TYPE_DURATION, /* stored in milliseconds */
	VALUE_TYPE_LOG_LEVEL,
	VALUE_TYPE_BITRATE,     /* bit/s, or "auto" (CONFIG_BITRATE_AUTO) */
	VALUE_TYPE_LISTEN_ONLY, /* a boolean, or "hard" */
	VALUE_TYPE_PROFILE,     /* an absolute path, "" or "auto" */
	VALUE_TYPE_MAX,
};

struct key_def {
	const char *section;
	const char *key;
	enum value_type type;
	size_t offset;
	size_t size; /* strings: buffer size */
	bool allow_empty;
	double min, max; /* numbers; durations in ms */
};

#define OFF(f) offsetof(struct config, f)
#define STR(f) OFF(f), sizeof(((struct config *)0)->f)

static const struct key_def keys[] = {
	{"log", "level", VALUE_TYPE_LOG_LEVEL, OFF(log.level), 0, false, 0, 0},
	{"can", "interface", VALUE_TYPE_IFNAME, STR(can.interface), false, 0, 0},
	{"can", "bitrate", VALUE_TYPE_BITRATE, OFF(can.bitrate), 0, false, 0, 8000000},
	{"can", "restart_ms", VALUE_TYPE_UINT32, OFF(can.restart_ms), 0, false, 0, 60000},
	{"can", "listen_only", VALUE_TYPE_LISTEN_ONLY, OFF(can.listen_only), 0, false, 0, 0},
	{"can", "idle_listen_only", VALUE_TYPE_BOOL, OFF(can.idle_listen_only), 0, false, 0, 0},
	{"can", "idle_after", VALUE_TYPE_DURATION, OFF(can.idle_after_ms), 0, false, 100,
	 86400000.0},
	{"can", "fd", VALUE_TYPE_BOOL, OFF(can.fd), 0, false, 0, 0},
	{"data", "dbc", VALUE_TYPE_PATH, STR(data.dbc), true, 0, 0},
	{"data", "profile", VALUE_TYPE_PROFILE, STR(data.profile), true, 0, 0},
	{"data", "profile_dir", VALUE_TYPE_PATH, STR(data.profile_dir), true, 0, 0},
	{"data", "rules", VALUE_TYPE_PATH, STR(data.rules), true, 0, 0},
	{"discover", "rate", VALUE_TYPE_UINT32, OFF(discover.rate), 0, false, 1, 1000},
	{"discover", "max_time", VALUE_TYPE_DURATION, OFF(discover.max_time_ms), 0, false, 1000,
	 3600000.0},
	{"fleet", "unit_id", VALUE_TYPE_NAME, STR(fleet.unit_id), true, 0, 0},
	{"api", "socket", VALUE_TYPE_PATH, STR(api.socket), false, 0, 0},
	{"api", "max_clients", VALUE_TYPE_UINT32, OFF(api.max_clients), 0, false, 1, 4096},
	{"api", "rate_limit", VALUE_TYPE_DOUBLE, OFF(api.rate_limit), 0, false, 0, 10000},
	{"api", "admin_group", VALUE_TYPE_NAME, STR(api.admin_group), false, 0, 0},
	{"api", "read_group", VALUE_TYPE_NAME, STR(api.read_group), false, 0, 0},
	{"scan", "enabled", VALUE_TYPE_BOOL, OFF(scan.enabled), 0, false, 0, 0},
	{"scan", "interval", VALUE_TYPE_DURATION, OFF(scan.interval_ms), 0, false, 1000,
	 7 * 86400000.0},
	{"scan", "bus_quiet", VALUE_TYPE_DURATION, OFF(scan.bus_quiet_ms), 0, false, 100,
	 86400000.0},
	{"scan", "battery_low", VALUE_TYPE_DOUBLE, OFF(scan.battery_low_v), 0, false, 0, 60},
	{"scan", "battery_signal", VALUE_TYPE_NAME, STR(scan.battery_signal), true, 0, 0},
	{"uds", "p2_cap", VALUE_TYPE_DURATION, OFF(uds.p2_cap_ms), 0, false, 0, 600000},
	{"uds", "p2star_cap", VALUE_TYPE_DURATION, OFF(uds.p2star_cap_ms), 0, false, 0, 600000},
	{"uds", "max_pending", VALUE_TYPE_UINT32, OFF(uds.max_pending), 0, false, 0, 600000},
	{"uds", "max_busy", VALUE_TYPE_UINT32, OFF(uds.max_busy), 0, false, 0, 600000},
	{"uds", "rate_limit", VALUE_TYPE_DOUBLE, OFF(uds.rate_limit), 0, false, 0, 600000},
	{"safety", "speed_signal", VALUE_TYPE_NAME, STR(safety.speed_signal), true, 0, 0},
	{"safety", "gear_signal", VALUE_TYPE_NAME, STR(safety.gear_signal), true, 0, 0},
	{"safety", "current_signal", VALUE_TYPE_NAME, STR(safety.current_signal), true, 0, 0},
	{"safety", "ajar_signal", VALUE_TYPE_NAME, STR(safety.ajar_signal), true, 0, 0},
	{"history", "path", VALUE_TYPE_PATH, STR(history.path), true, 0, 0},
	{"history", "retention", VALUE_TYPE_DURATION, OFF(history.retention_ms), 0, false,
	 3600000.0, 3650 * 86400000.0},
	{"history", "max_size_mb", VALUE_TYPE_UINT32, OFF(history.max_size_mb), 0, false, 1, 1048576},
	{"history", "durable", VALUE_TYPE_BOOL, OFF(history.durable), 0, false, 0, 0},
	{"mqtt", "enabled", VALUE_TYPE_BOOL, OFF(mqtt.enabled), 0, false, 0, 0},
	{"mqtt", "host", VALUE_TYPE_HOST, STR(mqtt.host), false, 0, 0},
	{"mqtt", "port", VALUE_TYPE_UINT32, OFF(mqtt.port), 0, false, 0, 65535},
	{"mqtt", "tls", VALUE_TYPE_BOOL, OFF(mqtt.tls), 0, false, 0, 0},
	{"mqtt", "ca_file", VALUE_TYPE_PATH, STR(mqtt.ca_file), true, 0, 0},
	{"mqtt", "cert_file", VALUE_TYPE_PATH, STR(mqtt.cert_file), true, 0, 0},
	{"mqtt", "key_file", VALUE_TYPE_PATH, STR(mqtt.key_file), true, 0, 0},
	{"mqtt", "credentials", VALUE_TYPE_PATH, STR(mqtt.credentials), true, 0, 0},
	{"mqtt", "client_id", VALUE_TYPE_NAME, STR(mqtt.client_id), true, 0, 0},
	{"mqtt", "prefix", VALUE_TYPE_NAME, STR(mqtt.prefix), false, 0, 0},
	{"mqtt", "keepalive", VALUE_TYPE_UINT32, OFF(mqtt.keepalive_s), 0, false, 5, 3600},
	{"mqtt", "session_expiry", VALUE_TYPE_UINT32, OFF(mqtt.session_expiry_s), 0, false, 0,
	 30 * 86400},
	{"mqtt", "resend", VALUE_TYPE_DURATION, OFF(mqtt.resend_ms), 0, false, 500, 3600000.0},
	{"mqtt", "state_file", VALUE_TYPE_PATH, STR(mqtt.state_file), true, 0, 0},
	{"mqtt", "queue_max", VALUE_TYPE_UINT32, OFF(mqtt.queue_max), 0, false, 100, 10000000},
	{"metrics", "textfile", VALUE_TYPE_PATH, STR(metrics.textfile), true, 0, 0},
	{"metrics", "interval", VALUE_TYPE_DURATION, OFF(metrics.interval_ms), 0, false, 1000,
	 3600000.0},
};

_Static_assert(ARRAY_SIZE(keys) <= 128, "config_parser.seen holds 128 bits");

static const char *const log_level_names[CONFIG_LOG_LEVEL_MAX] = {
	[CONFIG_LOG_LEVEL_ERR] = "err",
	[CONFIG_LOG_LEVEL_WARNING] = "warning",
	[CONFIG_LOG_LEVEL_NOTICE] = "notice",
	[CONFIG_LOG_LEVEL_INFO] = "info",
	[CONFIG_LOG_LEVEL_DEBUG] = "debug",
};

const char *config_log_level_name(enum config_log_level level)
{
	if ((unsigned)level >= CONFIG_LOG_LEVEL_MAX)
		return NULL;
	return log_level_names[level];
}

const char *config_listen_only_name(enum config_listen_only v)
{
	static const char *const names[CONFIG_LISTEN_ONLY_MAX] = {
		[CONFIG_LISTEN_ONLY_NO] = "no",
		[CONFIG_LISTEN_ONLY_YES] = "yes",
		[CONFIG_LISTEN_ONLY_HARD] = "hard",
	};
	return (unsigned)v < CONFIG_LISTEN_ONLY_MAX ? names[v] : NULL;
}

int config_mqtt_client_id(const struct config *cfg, const char *machine_id_path, char *ret_buf,
			  size_t size)
{
	char id[64];
	int r;

	if (cfg->mqtt.client_id[0]) {
		snprintf(ret_buf, size, "%s", cfg->mqtt.client_id);
		return 0;
	}
	r = config_unit_id(cfg, machine_id_path, id, sizeof(id));
	if (r < 0)
		return r;
	/* "bd-" and 20 characters of the unit id: the 23 bytes every MQTT 3.1 broker takes,
	 * 80 bits of a machine id, unique per unit in any fleet */
	snprintf(ret_buf, size, "bd-%.20s", id);
	return 0;
}

int config_unit_id(const struct config *cfg, const char *machine_id_path, char *ret_buf,
		   size_t size)
{
	char id[64] = "";
	size_t n = 0;
	FILE *f;

	if (cfg->fleet.unit_id[0]) {
		snprintf(ret_buf, size, "%s", cfg->fleet.unit_id);
		return 0;
	}
	f = fopen(machine_id_path ? machine_id_path : "/etc/machine-id", "re");
	if (!f)
		return -errno;
	if (fgets(id, sizeof(id), f))
		n = strspn(id, "0123456789abcdef");
	fclose(f);
	/* machine-id(5): 32 lower-case hex digits and a newline */
	if (n != 32)
		return -EINVAL;
	id[n] = '\0';
	snprintf(ret_buf, size, "%s", id);
	return 0;
}

void config_init_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log.level = CONFIG_LOG_LEVEL_INFO;
	snprintf(cfg->can.interface, sizeof(cfg->can.interface), "can0");
	snprintf(cfg->api.socket, sizeof(cfg->api.socket), "/run/bodydiag/api.sock");
	cfg->can.idle_listen_only = true;
	cfg->can.idle_after_ms = 10000;
	cfg->discover.rate = 20;
	cfg->discover.max_time_ms = 120000;
	cfg->api.max_clients = 64;
	cfg->api.rate_limit = 20;
	snprintf(cfg->api.admin_group, sizeof(cfg->api.admin_group), "bodydiag-admin");
	snprintf(cfg->api.read_group, sizeof(cfg->api.read_group), "bodydiag");
	cfg->scan.enabled = false;
	cfg->scan.interval_ms = 300000;
	cfg->scan.bus_quiet_ms = 10000;
	cfg->scan.battery_low_v = 11.8;
	/* The same values as uds_broker_config_init(). */
	cfg->uds.p2_cap_ms = 1000;
	cfg->uds.p2star_cap_ms = 10000;
	cfg->uds.max_pending = 20;
	cfg->uds.max_busy = 3;
	cfg->uds.rate_limit = 0;
	/* [safety] signals: empty, the profile's roles say where speed, gear, current and
	 * lid are (daemon/role_watch.h) */
	snprintf(cfg->history.path, sizeof(cfg->history.path), "/var/lib/bodydiag/history.db");
	cfg->history.retention_ms = 30 * 86400000ull;
	cfg->mqtt.enabled = false;
	snprintf(cfg->mqtt.host, sizeof(cfg->mqtt.host), "localhost");
	cfg->mqtt.port = 0; /* 1883, or 8883 with TLS */
	cfg->mqtt.tls = false;
	snprintf(cfg->mqtt.prefix, sizeof(cfg->mqtt.prefix), "bodydiag");
	cfg->mqtt.keepalive_s = 60;
	cfg->mqtt.session_expiry_s = 3600;
	cfg->mqtt.resend_ms = 5000;
	snprintf(cfg->mqtt.state_file, sizeof(cfg->mqtt.state_file), "/run/bodydiag/forward.state");
	cfg->history.max_size_mb = 256;
	cfg->history.durable = true; /* power cuts are routine in a car (docs/history.md) */
	cfg->mqtt.queue_max = 100000;
	cfg->metrics.interval_ms = 15000;
}

static void set_error(struct config_error *e, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_error(struct config_error *e, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	e->line = line;
	e->column = col;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static const struct key_def *find_key(const char *section, const char *key, size_t key_len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].section, section) == 0 && strlen(keys[i].key) == key_len &&
		    memcmp(keys[i].key, key, key_len) == 0)
			return &keys[i];
	return NULL;
}

static bool section_known(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].section) == len && memcmp(keys[i].section, name, len) == 0)
			return true;
	return false;
}

/* Digits only: strtoull alone would take "-1" (wrapping), " 1" and "+1". */
static int parse_uint(const char *v, uint64_t *ret)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int parse_double(const char *v, double *ret)
{
	char *end;
	double d;

	/* Plain decimal only: strtod would also take "inf", "nan" and hex floats. */
	for (const char *s = v; *s; s++)
		if (!isdigit((unsigned char)*s) && !strchr(".eE+-", *s))
			return -EINVAL;
	if (!v[0])
		return -EINVAL;
	errno = 0;
	d = strtod(v, &end);
	if (errno == ERANGE || !isfinite(d))
		return -ERANGE;
	if (*end || end == v)
		return -EINVAL;
	*ret = d;
	return 0;
}

static int parse_duration(const char *v, uint64_t *ret_ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	while (is_blank(*end))
		end++;
	if (!*end) {
		/* No unit: seconds. */
		if (n > UINT64_MAX / 1000)
			return -ERANGE;
		*ret_ms = n * 1000;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (n > UINT64_MAX / units[i].ms)
				return -ERANGE;
			*ret_ms = n * units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Converts and stores one value. v is NUL-terminated and trimmed. Returns 0 or -EINVAL
 * with the message in err (column left to the caller).
 */
static int set_value(struct config *cfg, const struct key_def *k, const char *v,
		     char *err, size_t err_size)
{
	void *field = (char *)cfg + k->offset;
	size_t len = strlen(v);
	uint64_t u;
	double d;
	bool b;

	for (const char *s = v; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			snprintf(err, err_size, "control character in value of '%s'", k->key);
			return -EINVAL;
		}
	}

	switch (k->type) {
	case VALUE_TYPE_STRING:
	case VALUE_TYPE_PATH:
	case VALUE_TYPE_IFNAME:
	case VALUE_TYPE_NAME:
	case VALUE_TYPE_HOST:
	case VALUE_TYPE_PROFILE:
		if (len == 0 && !k->allow_empty) {
			snprintf(err, err_size, "'%s' must not be empty", k->key);
			return -EINVAL;
		}
		if (len >= k->size) {
			snprintf(err, err_size, "value of '%s' too long (at most %zu bytes)", k->key,
				 k->size - 1);
			return -EINVAL;
		}
		if (k->type == VALUE_TYPE_PATH && len > 0 && v[0] != '/') {
			snprintf(err, err_size, "'%s' must be an absolute path", k->key);
			return -EINVAL;
		}
		if (k->type == VALUE_TYPE_PROFILE && len > 0 && v[0] != '/' &&
		    strcmp(v, CONFIG_PROFILE_AUTO) != 0) {
			snprintf(err, err_size, "'%s' must be an absolute path or auto", k->key);
			return -EINVAL;
		}
		if (k->type == VALUE_TYPE_IFNAME &&
		    (strchr(v, '/') || strchr(v, ':') || strpbrk(v, " \t") ||
		     strcmp(v, ".") == 0 || strcmp(v, "..") == 0)) {
			/* The kernel's dev_valid_name() rules. */
			snprintf(err, err_size, "'%s' is not a valid interface name", v);
			return -EINVAL;
		}
		if (k->type == VALUE_TYPE_NAME) {
			for (const char *s = v; *s; s++) {
				if (!isalnum((unsigned char)*s) && !strchr("_.-", *s)) {
					snprintf(err, err_size,
						 "'%s' may contain only letters, digits, '_', '.', '-'",
						 k->key);
					return -EINVAL;
				}
			}
		}
		if (k->type == VALUE_TYPE_HOST && strpbrk(v, " \t")) {
			snprintf(err, err_size, "'%s' must not contain blanks", k->key);
			return -EINVAL;
		}
		memcpy(field, v, len + 1);
		return 0;
	case VALUE_TYPE_BOOL:
		if (parse_bool(v, &b) < 0) {
			snprintf(err, err_size,
				 "'%s' expects a boolean (true/false, yes/no, on/off, 1/0)", k->key);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case VALUE_TYPE_UINT32:
		if (parse_uint(v, &u) < 0 || u < k->min || u > k->max) {
			snprintf(err, err_size, "'%s' expects an integer in [%.0f, %.0f]", k->key,
				 k->min, k->max);
			return -EINVAL;
		}
		*(uint32_t *)field = (uint32_t)u;
		return 0;
	case VALUE_TYPE_DOUBLE:
		if (parse_double(v, &d) < 0 || d < k->min || d > k->max) {
			char lo[NUMFMT_DOUBLE_MAX], hi[NUMFMT_DOUBLE_MAX];
			numfmt_double_text(lo, k->min);
			numfmt_double_text(hi, k->max);
			snprintf(err, err_size, "'%s' expects a number in [%s, %s]", k->key, lo, hi);
			return -EINVAL;
		}
		*(double *)field = d;
		return 0;
	case VALUE_TYPE_DURATION:
		if (parse_duration(v, &u) < 0 || (double)u < k->min || (double)u > k->max) {
			snprintf(err, err_size,
				 "'%s' expects a duration (e.g. 500ms, 30s, 5min, 2h, 7d) in "
				 "[%.0fms, %.0fms]",
				 k->key, k->min, k->max);
			return -EINVAL;
		}
		*(uint64_t *)field = u;
		return 0;
	case VALUE_TYPE_BITRATE:
		if (strcmp(v, "auto") == 0) {
			*(uint32_t *)field = CONFIG_BITRATE_AUTO;
			return 0;
		}
		if (parse_uint(v, &u) < 0 || u < k->min || u > k->max) {
			snprintf(err, err_size, "'%s' expects auto or bit/s in [%.0f, %.0f]", k->key,
				 k->min, k->max);
			return -EINVAL;
		}
		*(uint32_t *)field = (uint32_t)u;
		return 0;
	case VALUE_TYPE_LISTEN_ONLY:
		if (strcmp(v, "hard") == 0) {
			*(enum config_listen_only *)field = CONFIG_LISTEN_ONLY_HARD;
			return 0;
		}
		if (parse_bool(v, &b) < 0) {
			snprintf(err, err_size,
				 "'%s' expects a boolean (no: transmit for clients; yes: never) or "
				 "hard (never, and the controller in listen-only mode)",
				 k->key);
			return -EINVAL;
		}
		*(enum config_listen_only *)field = b ? CONFIG_LISTEN_ONLY_YES : CONFIG_LISTEN_ONLY_NO;
		return 0;
	case VALUE_TYPE_LOG_LEVEL:
		for (int i = 0; i < CONFIG_LOG_LEVEL_MAX; i++) {
			if (strcmp(v, log_level_names[i]) == 0) {
				*(enum config_log_level *)field = (enum config_log_level)i;
				return 0;
			}
		}
		snprintf(err, err_size, "'%s' expects one of err, warning, notice, info, debug",
			 k->key);
		return -EINVAL;
	case VALUE_TYPE_MAX:
		break;
	}
	snprintf(err, err_size, "internal error: bad key type");
	return -EINVAL;
}

void config_parser_init(struct config_parser *p, struct config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
}

static int fail(struct config_parser *p, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct config_parser *p, unsigned col, const char *fmt, ...)
{
	va_list ap;

	p->failed = true;
	p->error.line = p->lineno;
	p->error.column = col;
	va_start(ap, fmt);
	vsnprintf(p->error.message, sizeof(p->error.message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* One complete line in p->line[0..len), newline removed. */
static int process_line(struct config_parser *p)
{
	char *s = p->line;
	size_t len = p->len, i = 0, key_start, key_len, val_start, val_end;
	const struct key_def *k;
	char err[CONFIG_MAX_ERROR - 32];

	if (len > 0 && s[len - 1] == '\r')
		len--; /* CRLF files from Windows editors */
	if (memchr(s, '\0', len))
		return fail(p, (unsigned)((char *)memchr(s, '\0', len) - s) + 1, "NUL byte");
	s[len] = '\0';

	while (i < len && is_blank(s[i]))
		i++;
	if (i == len || s[i] == '#' || s[i] == ';')
		return 0;

	if (s[i] == '[') {
		size_t name_start = ++i, name_len;

		while (i < len && is_key_char(s[i]))
			i++;
		name_len = i - name_start;
		if (i >= len || s[i] != ']')
			return fail(p, (unsigned)i + 1, "expected ']' to close the section name");
		if (name_len == 0)
			return fail(p, (unsigned)name_start + 1, "empty section name");
		for (size_t j = i + 1; j < len; j++)
			if (!is_blank(s[j]))
				return fail(p, (unsigned)j + 1, "unexpected text after section header");
		if (!section_known(s + name_start, name_len)) {
			p->section_valid = false;
			return fail(p, (unsigned)name_start + 1, "unknown section [%.*s]",
				    (int)name_len, s + name_start);
		}
		memcpy(p->section, s + name_start, name_len);
		p->section[name_len] = '\0';
		p->section_valid = true;
		return 0;
	}

	key_start = i;
	while (i < len && is_key_char(s[i]))
		i++;
	key_len = i - key_start;
	if (key_len == 0)
		return fail(p, (unsigned)i + 1,
			    "expected a key (lower-case letters, digits, '_'), a [section] or a comment");
	while (i < len && is_blank(s[i]))
		i++;
	if (i >= len || s[i] != '=')
		return fail(p, (unsigned)i + 1, "expected '=' after key '%.*s'", (int)key_len,
			    s + key_start);
	i++;
	while (i < len && is_blank(s[i]))
		i++;
	val_start = i;
	val_end = len;
	while (val_end > val_start && is_blank(s[val_end - 1]))
		val_end--;
	s[val_end] = '\0';

	if (!p->section_valid)
		return fail(p, (unsigned)key_start + 1, "key '%.*s' outside of a [section]",
			    (int)key_len, s + key_start);
	k = find_key(p->section, s + key_start, key_len);
	if (!k)
		return fail(p, (unsigned)key_start + 1, "unknown key '%.*s' in section [%s]",
			    (int)key_len, s + key_start, p->section);
	{
		size_t idx = (size_t)(k - keys);
		if (p->seen[idx / 64] & (1ull << (idx % 64)))
			return fail(p, (unsigned)key_start + 1, "duplicate key '%s' in section [%s]",
				    k->key, k->section);
		p->seen[idx / 64] |= 1ull << (idx % 64);
	}
	if (set_value(p->cfg, k, s + val_start, err, sizeof(err)) < 0)
		return fail(p, (unsigned)val_start + 1, "%s", err);
	return 0;
}

int config_parser_feed(struct config_parser *p, const char *buf, size_t len)
{
	if (p->failed)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n') {
			int r;

			p->lineno++;
			if (p->overlong)
				return fail(p, CONFIG_MAX_LINE + 1, "line longer than %d bytes",
					    CONFIG_MAX_LINE);
			r = process_line(p);
			if (r < 0)
				return r;
			p->len = 0;
			continue;
		}
		if (p->overlong)
			continue;
		if (p->len == CONFIG_MAX_LINE) {
			/* Reported when the line ends, so the line number is right. */
			p->overlong = true;
			continue;
		}
		p->line[p->len++] = c;
	}
	return 0;
}

int config_parser_finish(struct config_parser *p)
{
	if (p->failed)
		return -EINVAL;
	if (p->len > 0 || p->overlong) {
		p->lineno++;
		if (p->overlong)
			return fail(p, CONFIG_MAX_LINE + 1, "line longer than %d bytes",
				    CONFIG_MAX_LINE);
		return process_line(p);
	}
	return 0;
}

int config_apply_override(struct config *cfg, const char *arg, struct config_error *ret_error)
{
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
	const struct key_def *k;
	char section[32], value[CONFIG_MAX_STRING + 1];
	char err[CONFIG_MAX_ERROR - 32];
	size_t section_len, vlen;
	const char *v;

	if (!eq) {
		set_error(ret_error, 0, 1, "expected section.key=value");
		return -EINVAL;
	}
	if (!dot || dot > eq) {
		set_error(ret_error, 0, 1, "expected section.key=value (no '.' before '=')");
		return -EINVAL;
	}
	section_len = (size_t)(dot - arg);
	if (section_len == 0 || section_len >= sizeof(section) || !section_known(arg, section_len)) {
		set_error(ret_error, 0, 1, "unknown section [%.*s]", (int)section_len, arg);
		return -EINVAL;
	}
	memcpy(section, arg, section_len);
	section[section_len] = '\0';
	k = find_key(section, dot + 1, (size_t)(eq - dot - 1));
	if (!k) {
		set_error(ret_error, 0, (unsigned)(dot - arg) + 2, "unknown key '%.*s' in section [%s]",
			  (int)(eq - dot - 1), dot + 1, section);
		return -EINVAL;
	}
	v = eq + 1;
	while (is_blank(*v))
		v++;
	vlen = strlen(v);
	while (vlen > 0 && is_blank(v[vlen - 1]))
		vlen--;
	if (vlen > CONFIG_MAX_STRING) {
		set_error(ret_error, 0, (unsigned)(v - arg) + 1, "value too long");
		return -EINVAL;
	}
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	if (set_value(cfg, k, value, err, sizeof(err)) < 0) {
		set_error(ret_error, 0, (unsigned)(v - arg) + 1, "%s", err);
		return -EINVAL;
	}
	return 0;
}

int config_load(const char *path, char *const *overrides, size_t n_overrides,
		struct config *ret_cfg, struct config_error *ret_error)
{
	_cleanup_free_ struct config *cfg = malloc(sizeof(*cfg));
	_cleanup_free_ struct config_parser *p = malloc(sizeof(*p));
	_cleanup_close_ int fd = -1;
	char buf[8192];
	int r;

	if (!cfg || !p) {
		set_error(ret_error, 0, 0, "out of memory");
		return -ENOMEM;
	}
	config_init_defaults(cfg);
	config_parser_init(p, cfg);

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		set_error(ret_error, 0, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			set_error(ret_error, 0, 0, "read failed: %s", strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		if (config_parser_feed(p, buf, (size_t)n) < 0) {
			*ret_error = p->error;
			return -EINVAL;
		}
	}
	if (config_parser_finish(p) < 0) {
		*ret_error = p->error;
		return -EINVAL;
	}
	for (size_t i = 0; i < n_overrides; i++) {
		struct config_error e;
		if (config_apply_override(cfg, overrides[i], &e) < 0) {
			set_error(ret_error, 0, e.column, "--set %s: %s", overrides[i], e.message);
			return -EINVAL;
		}
	}
	*ret_cfg = *cfg;
	return 0;
}

static int format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms % 86400000 == 0 && ms)
		return snprintf(buf, size, "%" PRIu64 "d", ms / 86400000);
	if (ms % 3600000 == 0 && ms)
		return snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
	if (ms % 60000 == 0 && ms)
		return snprintf(buf, size, "%" PRIu64 "min", ms / 60000);
	if (ms % 1000 == 0)
		return snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
	return snprintf(buf, size, "%" PRIu64 "ms", ms);
}

int config_format(const struct config *cfg, char *buf, size_t size)
{
	const char *section = NULL;
	size_t pos = 0;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_def *k = &keys[i];
		const void *field = (const char *)cfg + k->offset;
		char val[CONFIG_MAX_STRING + 32];
		int n;

		switch (k->type) {
		case VALUE_TYPE_STRING:
		case VALUE_TYPE_PATH:
		case VALUE_TYPE_IFNAME:
		case VALUE_TYPE_NAME:
		case VALUE_TYPE_HOST:
		case VALUE_TYPE_PROFILE:
			snprintf(val, sizeof(val), "%s", (const char *)field);
			break;
		case VALUE_TYPE_BITRATE:
			if (*(const uint32_t *)field == CONFIG_BITRATE_AUTO)
				snprintf(val, sizeof(val), "auto");
			else
				snprintf(val, sizeof(val), "%" PRIu32, *(const uint32_t *)field);
			break;
		case VALUE_TYPE_LISTEN_ONLY: {
			const char *name =
				config_listen_only_name(*(const enum config_listen_only *)field);
			snprintf(val, sizeof(val), "%s", name ? name : "no");
			break;
		}
		case VALUE_TYPE_BOOL:
			snprintf(val, sizeof(val), "%s", *(const bool *)field ? "true" : "false");
			break;
		case VALUE_TYPE_UINT32:
			snprintf(val, sizeof(val), "%" PRIu32, *(const uint32_t *)field);
			break;
		case VALUE_TYPE_DOUBLE:
			/* the shortest text that reads back to the same double: 11.8, not
			 * %.17g's 11.800000000000001 */
			numfmt_double(val, *(const double *)field);
			break;
		case VALUE_TYPE_DURATION:
			format_duration(*(const uint64_t *)field, val, sizeof(val));
			break;
		case VALUE_TYPE_LOG_LEVEL: {
			const char *name =
				config_log_level_name(*(const enum config_log_level *)field);
			snprintf(val, sizeof(val), "%s", name ? name : "info");
			break;
		}
		case VALUE_TYPE_MAX:
			return -EINVAL;
		}
		if (!section || strcmp(section, k->section) != 0) {
			n = snprintf(buf + pos, size - pos, "%s[%s]\n", section ? "\n" : "",
				     k->section);
			if (n < 0 || (size_t)n >= size - pos)
				return -ENOBUFS;
			pos += (size_t)n;
			section = k->section;
		}
		n = snprintf(buf + pos, size - pos, "%s =%s%s\n", k->key, val[0] ? " " : "", val);
		if (n < 0 || (size_t)n >= size - pos)
			return -ENOBUFS;
		pos += (size_t)n;
	}
	return (int)pos;
}
