/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-sim: lists the faults; runs a scenario through the model in simulated time,
 * either printing the signal timeline as text (for rule writers: what the bus will show
 * for a fault) or writing the frames the car would broadcast as a candump log (for
 * offline analysis and its tests); or, with --iface alone, runs live on a CAN interface
 * (live.c).
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/candump.h"
#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "broadcast.h"
#include "config.h"
#include "faults.h"
#include "live.h"
#include "model.h"
#include "runner.h"
#include "scenario.h"

#define SCENARIO_FILE_MAX (4u * 1024 * 1024)

static void help(void)
{
	printf("Usage: bodydiag-sim --iface CAN [--fault NAME ...] [--scenario F] [--seed N]\n"
	       "                    [--control PATH] [--verbose]\n"
	       "       bodydiag-sim [--scenario F] [--fault NAME ...] --print | --candump FILE\n"
	       "\n"
	       "A simulated body control module with the trunk release chain.\n"
	       "\n"
	       "Live (--iface without --print/--candump): the model runs in real time on the\n"
	       "interface; broadcast frames of the DBC on CAN_RAW; UDS over kernel ISO-TP with\n"
	       "the profile's ids and padding: BCM requests 0x726 -> answers 0x72E (padding\n"
	       "0xAA), OBD-II (VIN, speed) functional 0x7DF and physical 0x7E0 -> 0x7E8 (UDS\n"
	       "on 0x7DF: the BCM answers on 0x72E). SIGINT/SIGTERM or `quit` end it.\n"
	       "\n"
	       "  -h, --help               this text\n"
	       "      --list-faults        the faults that can be injected, with their options\n"
	       "  -s, --scenario FILE      scenario file (format: tools/bodydiag-sim/README.md)\n"
	       "  -f, --fault NAME[:k=v,..] inject a fault at start (repeatable; 'healthy' = none)\n"
	       "      --seed N             PRNG seed (overrides the scenario's)\n"
	       "  -p, --print              run offline in simulated time and print the timeline\n"
	       "      --candump FILE       run offline and write the broadcast frames as a candump\n"
	       "                           log (- = stdout), with the scenario's jitter and noise\n"
	       "      --dbc FILE           DBC of the broadcast (default: bodydiag-sim.dbc)\n"
	       "  -i, --iface NAME         live: CAN interface to run on; with --candump: the\n"
	       "                           interface name in the log (default vcan0)\n"
	       "  -c, --control PATH       live: control commands on a Unix stream socket at PATH\n"
	       "      --no-stdin           live: do not read control commands on stdin\n"
	       "      --profile FILE       live: CAN ids and padding of [ecu bcm] and [ecu obd]\n"
	       "                           (default: profiles/sim-2026.profile)\n"
	       "  -v, --verbose            live: model events and UDS traffic on stderr\n"
	       "      --marks FILE         with --candump: what the person did and when, one\n"
	       "                           \"TIME mark NAME\" line per action, same clock as the log\n"
	       "\n"
	       "Control channel (live): one command per line on stdin (replies on stdout) and\n"
	       "on the --control socket (replies on the connection), one reply line each:\n"
	       "\"ok\", \"ok ANSWER\" or \"error LINE:COLUMN: MESSAGE\" / \"error REASON\".\n"
	       "`status` answers key=value pairs (t, session, request, cmd, current, ajar,\n"
	       "inhibit, rke, rssi, ..., faults); `dtc` the DTCs failed since the last clear\n"
	       "with their status; `faults` the active faults; `help` these commands joined\n"
	       "with \" | \"; `quit` ends the simulator. EOF on stdin only stops reading it.\n"
	       "\n"
	       "Control commands (same words as the scenario's `at` steps):\n");
	fputs(sim_command_help(), stdout);
	printf("\nFaults:\n");
	for (unsigned i = 0; i < _SIM_FAULT_MAX; i++)
		printf("  %-26s %s\n", sim_fault_name((enum sim_fault)i),
		       sim_fault_help((enum sim_fault)i));
}

static void list_faults(void)
{
	printf("%-26s %-30s %s\n", "healthy", "", "no fault (the default)");
	for (unsigned i = 0; i < _SIM_FAULT_MAX; i++)
		printf("%-26s %-30s %s\n", sim_fault_name((enum sim_fault)i),
		       sim_fault_opts_help((enum sim_fault)i), sim_fault_help((enum sim_fault)i));
}

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, n;
	int r;

	if (!f)
		return -errno;
	buf = malloc(SCENARIO_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, SCENARIO_FILE_MAX + 1, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	len = n;
	if (r == 0 && len > SCENARIO_FILE_MAX)
		r = -EFBIG;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* --fault name:k=v,k=v goes through the control-channel parser as `fault add ...`. */
static int parse_fault_arg(const char *arg, struct sim_command *ret)
{
	char line[SIM_SCENARIO_LINE_MAX];
	struct sim_parse_error err;
	int n;

	n = snprintf(line, sizeof(line), "fault add %s", arg);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	for (char *p = line + 10; *p; p++)
		if (*p == ':' || *p == ',')
			*p = ' ';
	if (sim_command_parse(line, (size_t)n, ret, &err) < 0) {
		fprintf(stderr, "--fault %s: %s\n", arg, err.message);
		return -EINVAL;
	}
	return 0;
}

struct printer {
	struct sim_signals prev;
	bool first;
};

static void print_changes(struct printer *pr, const struct sim_signals *s, int64_t t)
{
	const struct sim_signals *o = &pr->prev;
	double ts = (double)t / 1e6;

#define CHG(field, fmt, ...)                                                           \
	do {                                                                           \
		if (pr->first || o->field != s->field)                                 \
			printf("%10.3f  " fmt "\n", ts, __VA_ARGS__);                   \
	} while (0)
	CHG(rke_seq, "BCM_RkeStatus RkeButton=%s RkeTelegramStatus=%s RkeRssi=%d "
		     "RkeFobBatteryLow=%d RkeFobIndex=%u RkeTelegramCounter=%u",
	    sim_rke_button_name(s->rke_button), sim_telegram_status_name(s->rke_telegram_status),
	    s->rke_rssi_dbm, s->rke_battery_low, s->rke_fob_index, s->rke_telegram_counter);
	CHG(release_request, "TrunkReleaseRequest=%s", sim_release_source_name(s->release_request));
	CHG(actuator_cmd, "TrunkActuatorCmd=%d", s->actuator_cmd);
	CHG(ajar, "TrunkAjar=%d", s->ajar);
	CHG(inhibit, "TrunkInhibitReason=%s", sim_inhibit_name(s->inhibit));
	CHG(interior_switch, "TrunkInteriorSwitch=%d", s->interior_switch);
	CHG(exterior_switch, "TrunkExteriorSwitch=%d", s->exterior_switch);
	CHG(speed_kmh, "VehicleSpeed=%.2f", s->speed_kmh);
	CHG(gear, "GearPosition=%s", sim_gear_name(s->gear));
	CHG(ignition, "IgnitionState=%s", sim_ignition_name(s->ignition));
	CHG(lock_state, "DoorLockState=%d", (int)s->lock_state);
	CHG(perimeter_alarm, "PerimeterAlarmState=%d", (int)s->perimeter_alarm);
	CHG(valet, "ValetMode=%d", s->valet);
	CHG(alarm_present, "ALARM node present=%d", s->alarm_present);
	CHG(alarm_armed, "AmAlarmArmed=%d", s->alarm_armed);
	CHG(alarm_cut_active, "AmReleaseCutActive=%d", s->alarm_cut_active);
	CHG(alarm_inhibit_request, "AmTrunkInhibitRequest=%d", s->alarm_inhibit_request);
#undef CHG
	/* Voltages move by millivolts with every current change: print clear steps only. */
	if (pr->first || fabs(o->fuse_v - s->fuse_v) > 0.5)
		printf("%10.3f  TrunkFuseVoltage=%.2f\n", ts, s->fuse_v);
	/* The current as the 10 ms trunk frame samples it. */
	if (t % 10000 == 0 && (s->actuator_cmd || s->actuator_current_a > 0.0 ||
			       o->actuator_current_a > 0.0))
		printf("%10.3f  TrunkActuatorCurrent=%.2f\n", ts, s->actuator_current_a);
	pr->prev = *s;
	pr->first = false;
}

static void print_dtcs(const struct sim_model *m)
{
	printf("DTCs (code status occurrence aging failed_cycles):\n");
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
		const struct sim_dtc *d = sim_model_dtc(m, (enum sim_dtc_id)i);
		char code[9];
		sim_dtc_format(d->code, code);
		printf("  %s 0x%02X %u %u %u\n", code, d->status, d->occurrence, d->aging,
		       d->failed_cycles);
	}
}

/* Offline start: 2026-01-01T00:00:00Z, so logs look like real captures. */
#define CANDUMP_EPOCH_US 1767225600000000LL

struct output {
	FILE *marks;
	FILE *candump;
	const char *iface;
	struct sim_broadcast *bc;
	bool print;
	struct sim_model *m;
	struct printer printer;
};

static int load_dbc(const char *path, struct dbc **ret)
{
	struct dbc_error err;
	char *buf;
	size_t len;
	int r;

	r = read_file(path, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return r;
	}
	r = dbc_parse(buf, len, path, NULL, NULL, &err, ret);
	free(buf);
	if (r < 0)
		fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.column, err.message);
	return r;
}

static void write_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct output *o = userdata;
	struct candump_record rec = {.tf = *f};
	char line[CANDUMP_MAX_LINE];

	snprintf(rec.iface, sizeof(rec.iface), "%s", o->iface);
	candump_set_time_us(&rec, CANDUMP_EPOCH_US + f->t_us);
	candump_format_record(&rec, line, sizeof(line));
	fprintf(o->candump, "%s\n", line);
}

/* What the person did, in the words rules use (rules-and-profiles.md "marks"). */
static const char *mark_name(const struct sim_command *c)
{
	if (c->type == SIM_COMMAND_KEY_BLADE)
		return "key_blade_turned";
	if (c->type != SIM_COMMAND_PRESS)
		return NULL;
	switch (c->button) {
	case SIM_BUTTON_FOB_TRUNK:
		return "fob_trunk_pressed";
	case SIM_BUTTON_FOB_LOCK:
		return "fob_lock_pressed";
	case SIM_BUTTON_FOB_UNLOCK:
		return "fob_unlock_pressed";
	case SIM_BUTTON_INTERIOR:
		return "interior_pressed";
	case SIM_BUTTON_EXTERIOR:
		return "exterior_pressed";
	case _SIM_BUTTON_MAX:
		break;
	}
	return NULL;
}

static void write_mark(void *userdata, const struct sim_scenario_step *st)
{
	struct output *o = userdata;
	const char *name = mark_name(&st->cmd);
	int64_t t = CANDUMP_EPOCH_US + st->t_us;

	if (o->marks && name)
		fprintf(o->marks, "%lld.%06lld mark %s\n", (long long)(t / 1000000),
			(long long)(t % 1000000), name);
}

static void print_event(void *userdata, const struct sim_event *e)
{
	struct output *o = userdata;
	char buf[160];

	if (!o->print)
		return;
	sim_event_format(e, buf, sizeof(buf));
	printf("%10.3f  # %s\n", (double)e->t_us / 1e6, buf);
}

static void print_tick(void *userdata, int64_t t)
{
	struct output *o = userdata;

	if (o->print && t % SIM_MODEL_TICK_US == 0)
		print_changes(&o->printer, sim_model_signals(o->m), t);
}

static int run(const struct sim_scenario *sc, const struct sim_command *faults,
	       size_t n_faults, const uint64_t *seed, struct output *o)
{
	static const struct sim_runner_ops ops = {
		.frame = write_frame, .event = print_event, .step = write_mark, .tick = print_tick};
	struct sim_model_config cfg;
	struct sim_runner *runner = NULL;
	int64_t end = sc ? sim_scenario_end_us(sc) : 5000000;
	int r;

	sim_model_config_init(&cfg);
	if (sc)
		sim_scenario_model_config(sc, &cfg);
	if (seed)
		cfg.seed = *seed;
	r = sim_model_new(&cfg, &o->m);
	if (r < 0) {
		fprintf(stderr, "model: %s\n", strerror(-r));
		return r;
	}
	o->printer.first = true;
	if (sc)
		r = sim_scenario_start(sc, o->m);
	for (size_t i = 0; r >= 0 && i < n_faults; i++)
		r = sim_command_apply(&faults[i], o->m);
	if (r < 0) {
		fprintf(stderr, "fault: %s\n", strerror(-r));
		goto out;
	}
	r = sim_runner_new(&(struct sim_runner_config){.model = o->m, .broadcast = o->bc,
						       .scenario = sc},
			   &ops, o, &runner);
	if (r >= 0)
		r = sim_runner_run_until(runner, end);
	if (r < 0) {
		const struct sim_scenario_step *st = runner ? sim_runner_failed_step(runner) : NULL;
		if (st)
			fprintf(stderr, "line %u: %s\n", st->line, strerror(-r));
		else
			fprintf(stderr, "simulation: %s\n", strerror(-r));
		goto out;
	}
	if (o->print)
		print_dtcs(o->m);
	r = 0;
out:
	sim_runner_free(runner);
	o->m = sim_model_free(o->m);
	return r;
}

static int run_live(const char *iface, const char *control_path, bool use_stdin, bool verbose,
		    const char *dbc_path, const char *profile_path, const struct sim_scenario *sc,
		    const struct sim_command *faults, size_t n_faults, const uint64_t *seed)
{
	struct sim_live_config cfg = {
		.iface = iface,
		.control_path = control_path,
		.control_stdin = use_stdin,
		.verbose = verbose,
		.sc = sc,
		.faults = faults,
		.n_faults = n_faults,
		.has_seed = seed != NULL,
		.seed = seed ? *seed : 0,
	};
	struct ev_loop *loop;
	struct sim_live *l = NULL;
	struct dbc *db = NULL;
	struct profile *prof = NULL;
	struct profile_error perr;
	int r;

	r = profile_load(profile_path, &prof, &perr);
	if (r < 0) {
		if (r == -EINVAL)
			fprintf(stderr, "%s:%u:%u: %s\n", perr.file, perr.line, perr.column,
				perr.message);
		else
			fprintf(stderr, "%s: %s\n", profile_path, strerror(-r));
		return r;
	}
	r = load_dbc(dbc_path, &db);
	if (r < 0) {
		profile_free(prof);
		return r;
	}
	cfg.db = db;
	cfg.profile = prof;
	/* A control client that hangs up must not kill the simulator. */
	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);
	if (!loop) {
		fprintf(stderr, "bodydiag-sim: cannot create the event loop\n");
		dbc_free(db);
		profile_free(prof);
		return -ENOMEM;
	}
	r = sim_live_new(loop, &cfg, &l);
	if (r < 0) {
		fprintf(stderr, "bodydiag-sim: %s: %s\n", iface, strerror(-r));
	} else {
		fprintf(stderr, "bodydiag-sim: running on %s%s%s\n", iface,
			control_path ? ", control socket " : "", control_path ? control_path : "");
		r = sim_live_run(l);
	}
	sim_live_free(l);
	ev_loop_destroy(loop);
	dbc_free(db);
	profile_free(prof);
	return r;
}

int main(int argc, char **argv)
{
	enum { OPT_LIST_FAULTS = 0x100, OPT_SEED, OPT_CANDUMP, OPT_DBC, OPT_MARKS, OPT_NO_STDIN, OPT_PROFILE };
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"list-faults", no_argument, NULL, OPT_LIST_FAULTS},
		{"scenario", required_argument, NULL, 's'},
		{"fault", required_argument, NULL, 'f'},
		{"seed", required_argument, NULL, OPT_SEED},
		{"print", no_argument, NULL, 'p'},
		{"candump", required_argument, NULL, OPT_CANDUMP},
		{"dbc", required_argument, NULL, OPT_DBC},
		{"iface", required_argument, NULL, 'i'},
		{"marks", required_argument, NULL, OPT_MARKS},
		{"control", required_argument, NULL, 'c'},
		{"no-stdin", no_argument, NULL, OPT_NO_STDIN},
		{"verbose", no_argument, NULL, 'v'},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{0},
	};
	struct sim_command faults[SIM_SCENARIO_FAULTS_MAX];
	size_t n_faults = 0;
	const char *scenario_path = NULL, *candump_path = NULL, *marks_path = NULL;
	const char *iface = NULL, *control_path = NULL;
	bool no_stdin = false, verbose = false, has_profile = false;
	const char *dbc_path = BODYDIAG_SOURCE_ROOT "/dbc/bodydiag-sim.dbc";
	const char *profile_path = BODYDIAG_SOURCE_ROOT "/profiles/sim-2026.profile";
	struct output o = {.iface = "vcan0"};
	struct dbc *db = NULL;
	struct sim_scenario *sc = NULL;
	bool print = false, has_seed = false;
	uint64_t seed = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "hs:f:pi:c:v", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case OPT_LIST_FAULTS:
			list_faults();
			return 0;
		case 's':
			scenario_path = optarg;
			break;
		case 'f':
			if (n_faults == SIM_SCENARIO_FAULTS_MAX) {
				fprintf(stderr, "too many --fault options\n");
				return 2;
			}
			if (parse_fault_arg(optarg, &faults[n_faults]) < 0)
				return 2;
			n_faults++;
			break;
		case OPT_SEED: {
			char *end;
			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno || *end || optarg[0] == '-' || end == optarg) {
				fprintf(stderr, "--seed: '%s' is not a number\n", optarg);
				return 2;
			}
			has_seed = true;
			break;
		}
		case 'p':
			print = true;
			break;
		case OPT_CANDUMP:
			candump_path = optarg;
			break;
		case OPT_DBC:
			dbc_path = optarg;
			break;
		case OPT_MARKS:
			marks_path = optarg;
			break;
		case 'i':
			if (strlen(optarg) >= CANDUMP_MAX_IFACE) {
				fprintf(stderr, "--iface: name too long\n");
				return 2;
			}
			o.iface = iface = optarg;
			break;
		case 'c':
			control_path = optarg;
			break;
		case OPT_PROFILE:
			profile_path = optarg;
			has_profile = true;
			break;
		case OPT_NO_STDIN:
			no_stdin = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (!print && !candump_path && !iface) {
		fprintf(stderr, "bodydiag-sim: nothing to do: --iface CAN to run live, --print or "
				"--candump FILE offline (see --help)\n");
		return 2;
	}
	if ((control_path || no_stdin || verbose || has_profile) &&
	    (print || candump_path)) {
		fprintf(stderr, "--control, --no-stdin, --profile and --verbose are for the live "
				"mode\n");
		return 2;
	}
	if (print && candump_path && strcmp(candump_path, "-") == 0) {
		fprintf(stderr, "--print and --candump - both want stdout\n");
		return 2;
	}
	if (scenario_path) {
		struct sim_parse_error err;
		char *buf;
		size_t len;

		r = read_file(scenario_path, &buf, &len);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", scenario_path, strerror(-r));
			return 1;
		}
		r = sim_scenario_parse(buf, len, &sc, &err);
		free(buf);
		if (r < 0) {
			if (r == -EINVAL)
				fprintf(stderr, "%s:%u:%u: %s\n", scenario_path, err.line, err.column,
					err.message);
			else
				fprintf(stderr, "%s: %s\n", scenario_path, strerror(-r));
			return 1;
		}
	}
	if (!print && !candump_path) {
		r = run_live(iface, control_path, !no_stdin, verbose, dbc_path, profile_path, sc,
			     faults, n_faults, has_seed ? &seed : NULL);
		sim_scenario_free(sc);
		return r < 0 ? 1 : 0;
	}
	o.print = print;
	if (candump_path) {
		struct sim_broadcast_config bcfg = {
			.seed = has_seed ? seed : 1,
			.jitter_us = sc ? sim_scenario_jitter_us(sc) : 0,
			.noise_per_s = sc ? sim_scenario_noise_per_s(sc) : 0.0,
		};
		if (!has_seed && sc) {
			struct sim_model_config mc;
			sim_model_config_init(&mc);
			sim_scenario_model_config(sc, &mc);
			bcfg.seed = mc.seed;
		}
		r = load_dbc(dbc_path, &db);
		if (r < 0)
			goto out;
		r = sim_broadcast_new(db, &bcfg, &o.bc);
		if (r < 0) {
			fprintf(stderr, "%s: not the simulator's DBC: %s\n", dbc_path, strerror(-r));
			goto out;
		}
		o.candump = strcmp(candump_path, "-") == 0 ? stdout : fopen(candump_path, "we");
		if (!o.candump) {
			r = -errno;
			fprintf(stderr, "%s: %s\n", candump_path, strerror(-r));
			goto out;
		}
	}
	if (marks_path) {
		if (!candump_path || !sc) {
			fprintf(stderr, "--marks needs --candump and --scenario\n");
			r = -EINVAL;
			goto out;
		}
		o.marks = fopen(marks_path, "we");
		if (!o.marks) {
			r = -errno;
			fprintf(stderr, "%s: %s\n", marks_path, strerror(-r));
			goto out;
		}
	}
	r = run(sc, faults, n_faults, has_seed ? &seed : NULL, &o);
	if (o.marks && fclose(o.marks) != 0 && r >= 0) {
		r = -errno;
		fprintf(stderr, "%s: %s\n", marks_path, strerror(-r));
	}
	o.marks = NULL;
	if (o.candump && o.candump != stdout && fclose(o.candump) != 0 && r >= 0) {
		r = -errno;
		fprintf(stderr, "%s: %s\n", candump_path, strerror(-r));
	}
	o.candump = NULL;
out:
	/* Only reached with files still open on an error path. */
	if (o.candump && o.candump != stdout)
		fclose(o.candump);
	if (o.marks)
		fclose(o.marks);
	sim_broadcast_free(o.bc);
	dbc_free(db);
	sim_scenario_free(sc);
	return r < 0 ? 1 : 0;
}
