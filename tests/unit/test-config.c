/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"

/* Parses text in one feed; returns the result, *p holds the error. */
static int parse(const char *text, struct config *cfg, struct config_parser *p)
{
	int r;

	config_init_defaults(cfg);
	config_parser_init(p, cfg);
	r = config_parser_feed(p, text, strlen(text));
	if (r < 0)
		return r;
	return config_parser_finish(p);
}

static void defaults(void **state)
{
	struct config c;

	config_init_defaults(&c);
	assert_int_equal(c.log.level, CONFIG_LOG_LEVEL_INFO);
	assert_string_equal(c.can.interface, "can0");
	assert_int_equal(c.can.bitrate, 0);
	assert_int_equal(c.can.restart_ms, 0);
	assert_string_equal(c.data.dbc, "");
	assert_string_equal(c.data.profile, "");
	assert_string_equal(c.data.rules, "");
	assert_string_equal(c.api.socket, "/run/bodydiag/api.sock");
	assert_int_equal(c.api.max_clients, 64);
	assert_true(c.api.rate_limit == 20.0);
	assert_string_equal(c.api.admin_group, "bodydiag-admin");
	assert_string_equal(c.api.read_group, "bodydiag");
	assert_false(c.scan.enabled);
	assert_int_equal(c.scan.interval_ms, 300000);
	assert_int_equal(c.scan.bus_quiet_ms, 10000);
	assert_true(c.scan.battery_low_v == 11.8);
	assert_string_equal(c.history.path, "/var/lib/bodydiag/history.db");
	assert_int_equal(c.history.retention_ms, 30ull * 86400000);
	assert_false(c.mqtt.enabled);
	assert_string_equal(c.mqtt.host, "localhost");
	assert_int_equal(c.mqtt.port, 0); /* 1883, or 8883 with TLS */
	assert_false(c.mqtt.tls);
	assert_string_equal(c.mqtt.credentials, "");
	assert_string_equal(c.mqtt.client_id, ""); /* the unit */
	assert_string_equal(c.mqtt.prefix, "bodydiag");
	assert_int_equal(c.mqtt.keepalive_s, 60);
	assert_int_equal(c.mqtt.session_expiry_s, 3600);
	assert_int_equal(c.mqtt.resend_ms, 5000);
	assert_string_equal(c.mqtt.state_file, "/run/bodydiag/forward.state");
}

static const char full[] =
	"# bodydiag.conf: every key\n"
	"; semicolon comments too\n"
	"\n"
	"[log]\n"
	"level = debug\n"
	"[can]\r\n"
	"\tinterface=vcan1\r\n"
	"bitrate   =   500000   \n"
	"restart_ms = 100\n"
	"  [data]  \n"
	"dbc = /usr/share/bodydiag/dbc/body.dbc\n"
	"profile = /etc/bodydiag/profile.conf\n"
	"rules =\n"
	"[api]\n"
	"socket = /tmp/x y/api.sock\n"
	"max_clients = 4096\n"
	"rate_limit = 2.5\n"
	"admin_group = wheel\n"
	"read_group = diag-users\n"
	"[scan]\n"
	"enabled = yes\n"
	"interval = 5min\n"
	"bus_quiet = 1500ms\n"
	"battery_low = 12.05\n"
	"[history]\n"
	"path = /var/lib/bodydiag/h.db\n"
	"retention = 7d\n"
	"[mqtt]\n"
	"enabled = on\n"
	"host = broker.example.org\n"
	"port = 8883\n"
	"tls = 1\n"
	"credentials = /etc/bodydiag/mqtt.cred\n"
	"client_id = car-42\n"
	"[can]\n"
	"# a repeated section is fine, a repeated key is not\n";

static void check_full(const struct config *c)
{
	assert_int_equal(c->log.level, CONFIG_LOG_LEVEL_DEBUG);
	assert_string_equal(c->can.interface, "vcan1");
	assert_int_equal(c->can.bitrate, 500000);
	assert_int_equal(c->can.restart_ms, 100);
	assert_string_equal(c->data.dbc, "/usr/share/bodydiag/dbc/body.dbc");
	assert_string_equal(c->data.profile, "/etc/bodydiag/profile.conf");
	assert_string_equal(c->data.rules, "");
	assert_string_equal(c->api.socket, "/tmp/x y/api.sock");
	assert_int_equal(c->api.max_clients, 4096);
	assert_true(c->api.rate_limit == 2.5);
	assert_string_equal(c->api.admin_group, "wheel");
	assert_string_equal(c->api.read_group, "diag-users");
	assert_true(c->scan.enabled);
	assert_int_equal(c->scan.interval_ms, 300000);
	assert_int_equal(c->scan.bus_quiet_ms, 1500);
	assert_true(c->scan.battery_low_v == 12.05);
	assert_string_equal(c->history.path, "/var/lib/bodydiag/h.db");
	assert_int_equal(c->history.retention_ms, 7ull * 86400000);
	assert_true(c->mqtt.enabled);
	assert_string_equal(c->mqtt.host, "broker.example.org");
	assert_int_equal(c->mqtt.port, 8883);
	assert_true(c->mqtt.tls);
	assert_string_equal(c->mqtt.credentials, "/etc/bodydiag/mqtt.cred");
	assert_string_equal(c->mqtt.client_id, "car-42");
}

static void full_file(void **state)
{
	struct config c, c2;
	struct config_parser p;

	assert_int_equal(parse(full, &c, &p), 0);
	check_full(&c);

	/* Streaming: one byte per feed gives the same struct, byte for byte. */
	config_init_defaults(&c2);
	config_parser_init(&p, &c2);
	for (size_t i = 0; i < strlen(full); i++)
		assert_int_equal(config_parser_feed(&p, full + i, 1), 0);
	assert_int_equal(config_parser_finish(&p), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
}

static void last_line_without_newline(void **state)
{
	struct config c;
	struct config_parser p;

	assert_int_equal(parse("[can]\nbitrate = 250000", &c, &p), 0);
	assert_int_equal(c.can.bitrate, 250000);
	assert_int_equal(parse("[can]\nbitrate = x", &c, &p), -EINVAL);
	assert_int_equal(p.error.line, 2);
	assert_int_equal(p.error.column, 11);
	assert_int_equal(parse("", &c, &p), 0);
}

static void format_round_trip(void **state)
{
	struct config c, c2;
	struct config_parser p;
	char buf[16384];
	int n;

	assert_int_equal(parse(full, &c, &p), 0);
	n = config_format(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(parse(buf, &c2, &p), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	assert_int_equal(config_format(&c, buf, 10), -ENOBUFS);

	config_init_defaults(&c);
	n = config_format(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "[history]\npath = /var/lib/bodydiag/history.db\n"
				    "retention = 30d\n"));
	assert_non_null(strstr(buf, "dbc =\n"));
	assert_int_equal(parse(buf, &c2, &p), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
}

struct error_case {
	const char *input;
	unsigned line, column;
	const char *message; /* expected substring */
};

static const struct error_case error_cases[] = {
	/* syntax */
	{"[can]\nbit\0rate = 1\n", 2, 4, "NUL byte"},
	{"[can\n", 1, 5, "expected ']' to close the section name"},
	{"[Can]\n", 1, 2, "expected ']' to close the section name"},
	{"[]\n", 1, 2, "empty section name"},
	{"[can] x\n", 1, 7, "unexpected text after section header"},
	{"\n\n [cann]\n", 3, 3, "unknown section [cann]"},
	{"[can]\n= 5\n", 2, 1, "expected a key"},
	{"[can]\nBitrate = 5\n", 2, 1, "expected a key"},
	{"[can]\nbitrate 5\n", 2, 9, "expected '=' after key 'bitrate'"},
	{"[can]\nbitrate\n", 2, 8, "expected '=' after key 'bitrate'"},
	{"bitrate = 5\n", 1, 1, "key 'bitrate' outside of a [section]"},
	{"[can]\n  bitrat = 5\n", 2, 3, "unknown key 'bitrat' in section [can]"},
	{"[mqtt]\ninterface = can0\n", 2, 1, "unknown key 'interface' in section [mqtt]"},
	{"[can]\nbitrate = 5\n[api]\n[can]\nbitrate = 6\n", 5, 1,
	 "duplicate key 'bitrate' in section [can]"},
	/* values */
	{"[data]\ndbc = /a\tb\n", 2, 7, "control character in value of 'dbc'"},
	{"[api]\nsocket =\n", 2, 9, "'socket' must not be empty"},
	{"[api]\nadmin_group = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2,
	 15, "value of 'admin_group' too long (at most 63 bytes)"},
	{"[can]\ninterface = can0123456789abcd\n", 2, 13,
	 "value of 'interface' too long (at most 15 bytes)"},
	{"[data]\nrules = rules/\n", 2, 9, "'rules' must be an absolute path"},
	{"[can]\ninterface = ..\n", 2, 13, "'..' is not a valid interface name"},
	{"[can]\ninterface = a/b\n", 2, 13, "'a/b' is not a valid interface name"},
	{"[can]\ninterface = a b\n", 2, 13, "'a b' is not a valid interface name"},
	{"[mqtt]\nclient_id = car 42\n", 2, 13, "'client_id' may contain only letters"},
	{"[mqtt]\nhost = a b\n", 2, 8, "'host' must not contain blanks"},
	{"[scan]\nenabled = maybe\n", 2, 11, "'enabled' expects a boolean"},
	{"[can]\nbitrate = -1\n", 2, 11, "'bitrate' expects auto or bit/s in [0, 8000000]"},
	{"[can]\nbitrate = 0x10\n", 2, 11, "'bitrate' expects auto or bit/s"},
	{"[can]\nbitrate = 8000001\n", 2, 11, "'bitrate' expects auto or bit/s in [0, 8000000]"},
	{"[can]\nbitrate = 99999999999999999999999\n", 2, 11, "'bitrate' expects auto or bit/s"},
	{"[can]\nbitrate = 5k\n", 2, 11, "'bitrate' expects auto or bit/s"},
	{"[can]\nbitrate = Auto\n", 2, 11, "'bitrate' expects auto or bit/s"},
	{"[can]\nlisten_only = harder\n", 2, 15, "'listen_only' expects a boolean"},
	{"[can]\nidle_after = 10ms\n", 2, 14, "'idle_after' expects a duration"},
	{"[data]\nprofile = automatic\n", 2, 11, "'profile' must be an absolute path or auto"},
	{"[data]\nprofile_dir = profiles\n", 2, 15, "'profile_dir' must be an absolute path"},
	{"[discover]\nrate = 0\n", 2, 8, "'rate' expects an integer in [1, 1000]"},
	{"[fleet]\nunit_id = van 7\n", 2, 11, "'unit_id' may contain only letters"},
	{"[api]\nmax_clients = 0\n", 2, 15, "'max_clients' expects an integer in [1, 4096]"},
	{"[mqtt]\nport = 65536\n", 2, 8, "'port' expects an integer in [0, 65535]"},
	{"[api]\nrate_limit = nan\n", 2, 14, "'rate_limit' expects a number in [0, 10000]"},
	{"[api]\nrate_limit = inf\n", 2, 14, "'rate_limit' expects a number"},
	{"[api]\nrate_limit = 1e999\n", 2, 14, "'rate_limit' expects a number"},
	{"[api]\nrate_limit = -0.5\n", 2, 14, "'rate_limit' expects a number"},
	{"[api]\nrate_limit = 0x1p3\n", 2, 14, "'rate_limit' expects a number"},
	{"[api]\nrate_limit = 1.2.3\n", 2, 14, "'rate_limit' expects a number"},
	{"[scan]\nbattery_low = 61\n", 2, 15, "'battery_low' expects a number in [0, 60]"},
	{"[scan]\ninterval = 5 weeks\n", 2, 12, "'interval' expects a duration"},
	{"[scan]\ninterval = 999ms\n", 2, 12, "'interval' expects a duration"},
	{"[scan]\ninterval = 8d\n", 2, 12, "'interval' expects a duration"},
	{"[scan]\ninterval = 99999999999999999999d\n", 2, 12, "'interval' expects a duration"},
	{"[scan]\ninterval = 9999999999999999d\n", 2, 12, "'interval' expects a duration"},
	{"[scan]\ninterval = s\n", 2, 12, "'interval' expects a duration"},
	{"[history]\nretention = 59min\n", 2, 13, "'retention' expects a duration"},
	{"[log]\nlevel = verbose\n", 2, 9, "'level' expects one of err, warning"},
};

static void errors(void **state)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *e = &error_cases[i];
		/* The NUL case needs an explicit length: find the end "\n\0" by hand. */
		size_t len = strlen(e->input);
		struct config c;
		struct config_parser p;
		int r;

		if (strcmp(e->message, "NUL byte") == 0)
			len = 19;
		config_init_defaults(&c);
		config_parser_init(&p, &c);
		r = config_parser_feed(&p, e->input, len);
		if (r == 0)
			r = config_parser_finish(&p);
		if (r != -EINVAL || p.error.line != e->line || p.error.column != e->column ||
		    !strstr(p.error.message, e->message))
			fail_msg("case %zu (%s): r=%d %u:%u: %s", i, e->message, r, p.error.line,
				 p.error.column, p.error.message);
		/* Once failed, the parser stays failed. */
		assert_int_equal(config_parser_feed(&p, "\n", 1), -EINVAL);
		assert_int_equal(config_parser_finish(&p), -EINVAL);
	}
}

static void long_lines(void **state)
{
	char *text = malloc(CONFIG_MAX_LINE + 64);
	struct config c;
	struct config_parser p;

	assert_non_null(text);
	/* A comment of exactly the maximum is fine. */
	memset(text, '#', CONFIG_MAX_LINE);
	strcpy(text + CONFIG_MAX_LINE, "\n[can]\n");
	assert_int_equal(parse(text, &c, &p), 0);
	/* One byte more is not; the error names the line it is on. */
	memcpy(text, "[can]\n", 6);
	memset(text + 6, '#', CONFIG_MAX_LINE + 1);
	strcpy(text + 6 + CONFIG_MAX_LINE + 1, "\n");
	assert_int_equal(parse(text, &c, &p), -EINVAL);
	assert_int_equal(p.error.line, 2);
	assert_int_equal(p.error.column, CONFIG_MAX_LINE + 1);
	assert_non_null(strstr(p.error.message, "line longer than 4096 bytes"));
	/* Also without the final newline. */
	text[6 + CONFIG_MAX_LINE + 1] = '\0';
	assert_int_equal(parse(text, &c, &p), -EINVAL);
	assert_int_equal(p.error.line, 2);
	free(text);
}

static void overrides(void **state)
{
	struct config c;
	struct config_error e;

	config_init_defaults(&c);
	assert_int_equal(config_apply_override(&c, "can.bitrate=125000", &e), 0);
	assert_int_equal(c.can.bitrate, 125000);
	assert_int_equal(config_apply_override(&c, "api.socket= /tmp/a.sock ", &e), 0);
	assert_string_equal(c.api.socket, "/tmp/a.sock");
	assert_int_equal(config_apply_override(&c, "data.dbc=", &e), 0);
	assert_int_equal(config_apply_override(&c, "scan.enabled=true", &e), 0);
	assert_true(c.scan.enabled);
	/* An override may repeat (the last one wins), unlike a key in the file. */
	assert_int_equal(config_apply_override(&c, "can.bitrate=250000", &e), 0);
	assert_int_equal(c.can.bitrate, 250000);

	assert_int_equal(config_apply_override(&c, "can.bitrate", &e), -EINVAL);
	assert_non_null(strstr(e.message, "expected section.key=value"));
	assert_int_equal(config_apply_override(&c, "bitrate=5", &e), -EINVAL);
	assert_non_null(strstr(e.message, "no '.' before '='"));
	assert_int_equal(config_apply_override(&c, "x=a.b", &e), -EINVAL);
	assert_non_null(strstr(e.message, "no '.' before '='"));
	assert_int_equal(config_apply_override(&c, "cann.bitrate=5", &e), -EINVAL);
	assert_non_null(strstr(e.message, "unknown section [cann]"));
	assert_int_equal(config_apply_override(&c, ".bitrate=5", &e), -EINVAL);
	assert_non_null(strstr(e.message, "unknown section []"));
	assert_int_equal(config_apply_override(&c, "can.bitrat=5", &e), -EINVAL);
	assert_int_equal(e.column, 5);
	assert_non_null(strstr(e.message, "unknown key 'bitrat' in section [can]"));
	assert_int_equal(config_apply_override(&c, "can.bitrate=fast", &e), -EINVAL);
	assert_int_equal(e.line, 0);
	assert_int_equal(e.column, 13);
	assert_non_null(strstr(e.message, "'bitrate' expects auto or bit/s"));
	assert_int_equal(c.can.bitrate, 250000); /* untouched by the failed override */
}

static void load_file(void **state)
{
	char dir[] = "/tmp/test-config-XXXXXX", path[64];
	struct config c;
	struct config_error e;
	char *ov_ok[] = {"mqtt.port=1884"};
	char *ov_bad[] = {"mqtt.port=70000"};
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bodydiag.conf", dir);
	assert_int_equal(config_load(path, NULL, 0, &c, &e), -ENOENT);
	assert_non_null(strstr(e.message, "cannot open"));

	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full, f);
	fclose(f);
	assert_int_equal(config_load(path, ov_ok, 1, &c, &e), 0);
	assert_int_equal(c.mqtt.port, 1884);
	c.mqtt.port = 8883;
	check_full(&c);
	assert_int_equal(config_load(path, ov_bad, 1, &c, &e), -EINVAL);
	assert_non_null(strstr(e.message, "--set mqtt.port=70000: 'port' expects an integer"));

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[can]\n\n[api]\nmax_clients = many\n", f);
	fclose(f);
	assert_int_equal(config_load(path, NULL, 0, &c, &e), -EINVAL);
	assert_int_equal(e.line, 4);
	assert_int_equal(e.column, 15);
	unlink(path);
	rmdir(dir);
}

/* docs/bodydiag.conf.example documents every key with its default: it must stay true. */
static void example_is_defaults(void **state)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[4096];
	struct config c, d;
	struct config_error e;

	if (!root)
		fail_msg("BODYDIAG_SOURCE_ROOT is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/docs/bodydiag.conf.example", root);
	if (config_load(path, NULL, 0, &c, &e) < 0)
		fail_msg("%s:%u:%u: %s", path, e.line, e.column, e.message);
	config_init_defaults(&d);
	assert_memory_equal(&c, &d, sizeof(c));
}

/* bitrate = auto, listen_only = hard, profile = auto as written and read back; the unit
 * id from the config, else the machine id. */
static void auto_hard_and_unit_id(void **state)
{
	char dir[] = "/tmp/bodydiag-unit-XXXXXX", path[64], buf[16384], id[64];
	struct config c, back;
	struct config_parser p;
	struct config_error e;
	FILE *f;

	config_init_defaults(&c);
	assert_int_equal(config_apply_override(&c, "can.bitrate=auto", &e), 0);
	assert_int_equal(c.can.bitrate, CONFIG_BITRATE_AUTO);
	assert_int_equal(config_apply_override(&c, "can.listen_only=hard", &e), 0);
	assert_int_equal(c.can.listen_only, CONFIG_LISTEN_ONLY_HARD);
	assert_true(config_never_transmit(&c));
	assert_int_equal(config_apply_override(&c, "data.profile=auto", &e), 0);
	assert_string_equal(c.data.profile, CONFIG_PROFILE_AUTO);
	assert_true(config_format(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "bitrate = auto\n"));
	assert_non_null(strstr(buf, "listen_only = hard\n"));
	config_init_defaults(&back);
	config_parser_init(&p, &back);
	assert_int_equal(config_parser_feed(&p, buf, strlen(buf)), 0);
	assert_int_equal(config_parser_finish(&p), 0);
	assert_memory_equal(&c, &back, sizeof(c));
	assert_int_equal(config_apply_override(&c, "can.listen_only=yes", &e), 0);
	assert_int_equal(c.can.listen_only, CONFIG_LISTEN_ONLY_YES);
	assert_string_equal(config_listen_only_name(c.can.listen_only), "yes");

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/machine-id", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	assert_int_equal(config_unit_id(&c, path, id, sizeof(id)), 0);
	assert_string_equal(id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(config_mqtt_client_id(&c, path, id, sizeof(id)), 0);
	assert_string_equal(id, "bd-0123456789abcdef0123");
	assert_int_equal(strlen(id), 23);
	assert_int_equal(config_apply_override(&c, "fleet.unit_id=van-7", &e), 0);
	assert_int_equal(config_unit_id(&c, path, id, sizeof(id)), 0);
	assert_string_equal(id, "van-7");
	assert_int_equal(config_mqtt_client_id(&c, path, id, sizeof(id)), 0);
	assert_string_equal(id, "bd-van-7");
	assert_int_equal(config_apply_override(&c, "mqtt.client_id=car-42", &e), 0);
	assert_int_equal(config_mqtt_client_id(&c, path, id, sizeof(id)), 0);
	assert_string_equal(id, "car-42");
	c.fleet.unit_id[0] = '\0';
	f = fopen(path, "w");
	fputs("not an id\n", f);
	fclose(f);
	assert_int_equal(config_unit_id(&c, path, id, sizeof(id)), -EINVAL);
	assert_string_equal(id, "car-42"); /* untouched on failure */
	assert_int_equal(config_mqtt_client_id(&c, path, id, sizeof(id)), 0);
	c.mqtt.client_id[0] = '\0';
	assert_int_equal(config_mqtt_client_id(&c, path, id, sizeof(id)), -EINVAL);
	assert_string_equal(id, "car-42");
	unlink(path);
	assert_int_equal(config_unit_id(&c, path, id, sizeof(id)), -ENOENT);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(full_file),
		cmocka_unit_test(last_line_without_newline),
		cmocka_unit_test(format_round_trip),
		cmocka_unit_test(errors),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(overrides),
		cmocka_unit_test(load_file),
		cmocka_unit_test(example_is_defaults),
		cmocka_unit_test(auto_hard_and_unit_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
