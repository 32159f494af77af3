/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Helpers of the tests that run the bodydiag CLI's bus commands (test-detect.c,
 * test-discover.c): run a command with its stdout and stderr in files and a time bound,
 * the simulator on can1 with a given profile, a capture socket, interface statistics.
 * Include after itest-daemon.h.
 */
#include <sys/stat.h>

#include "bodydiag/linux/can_raw.h"

/* The bench's third controller on the same bus (a capture that is neither side). */
#define ITEST_CAN2 itest_if("BD_CAN2", "can2")

struct itc_run {
	int status; /* exit status, or -1 when killed by a signal / the bound */
	double seconds;
	char out[8192], err[4096]; /* their first bytes, NUL-terminated */
};

static inline void itc_slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Runs argv (argv[0] a path) and waits up to bound_s, calling tick (when not NULL) every
 * 2 ms meanwhile. */
static inline void itc_run_watched(const char *const *argv, double bound_s, struct itc_run *r,
				   void (*tick)(void *userdata), void *userdata)
{
	int64_t t0 = itd_mono_us();
	int st = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int o = open("/tmp/itc.out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open("/tmp/itc.err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (null < 0 || o < 0 || e < 0 || dup2(null, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (itd_mono_us() - t0 > (int64_t)(bound_s * 1e6)) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		if (tick)
			tick(userdata);
		usleep(2000);
	}
	r->seconds = (double)(itd_mono_us() - t0) / 1e6;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	itc_slurp("/tmp/itc.out", r->out, sizeof(r->out));
	itc_slurp("/tmp/itc.err", r->err, sizeof(r->err));
}

static inline void itc_run(const char *const *argv, double bound_s, struct itc_run *r)
{
	itc_run_watched(argv, bound_s, r, NULL, NULL);
}

static inline void itc_show(const char *what, const struct itc_run *r)
{
	print_message("# %s: exit %d after %.2f s\n", what, r->status, r->seconds);
	for (const char *p = r->out; *p;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		print_message("#   %.*s\n", n, p);
		p += n + (nl ? 1 : 0);
	}
	if (r->err[0])
		print_message("#   stderr: %s\n", r->err);
}

/* A counter of /sys/class/net/IFACE/statistics. */
static inline unsigned long long itc_stat(const char *iface, const char *name)
{
	char path[256], buf[64] = "";

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", iface, name);
	itc_slurp(path, buf, sizeof(buf));
	return strtoull(buf, NULL, 10);
}

/* bodydiag-sim on can1 with this profile; ready when its control socket answers. */
static inline pid_t itc_start_sim(const char *profile, const char *ctl, const char *log)
{
	char sim[1024], dbc[1024];
	const char *argv[] = {sim, "--iface",	ITEST_CAN1, "--profile",  profile, "--dbc",
			      dbc, "--control", ctl,	    "--no-stdin", NULL};
	pid_t pid;

	itd_path(sim, sizeof(sim), "BODYDIAG_BUILD_ROOT", "tools/bodydiag-sim/bodydiag-sim");
	itd_path(dbc, sizeof(dbc), "BODYDIAG_SOURCE_ROOT", "dbc/bodydiag-sim.dbc");
	unlink(ctl);
	pid = itd_spawn(argv, log);
	close(itd_connect_wait(ctl, pid, log));
	return pid;
}

/* A capture of everything on iface, error frames included. */
static inline int itc_capture(const char *iface)
{
	int fd = -1;

	assert_int_equal(can_raw_open(iface, NULL, 0, CAN_RAW_OPEN_ERR_FRAMES, &fd), 0);
	assert_int_equal(can_raw_set_rcvbuf(fd, 1 << 21), 0);
	return fd;
}

struct itc_count {
	unsigned frames, errors;
	uint8_t ids[2048 / 8]; /* 11-bit ids seen */
};

static inline void itc_read(int fd, struct itc_count *c)
{
	struct bd_timed_frame tf;

	memset(c, 0, sizeof(*c));
	while (can_raw_recv(fd, &tf, NULL, NULL) > 0) {
		if (tf.frame.flags & BD_FRAME_ERR) {
			c->errors++;
			continue;
		}
		c->frames++;
		if (!(tf.frame.flags & BD_FRAME_EXT))
			c->ids[tf.frame.id / 8] |= (uint8_t)(1u << (tf.frame.id % 8));
	}
}

/* The simulator's profile with its [ecu bcm] ids replaced by `addressing` lines. */
static inline void itc_write_variant(const char *path, const char *addressing)
{
	static const char ids[] =
	    "request = 0x726          ; physical request id\nresponse = 0x72E\n";
	char text[1 << 16], sim_profile[1024];
	FILE *f;

	itd_path(sim_profile, sizeof(sim_profile), "BODYDIAG_SOURCE_ROOT",
		 "profiles/sim-2026.profile");
	itc_slurp(sim_profile, text, sizeof(text));
	char *at = strstr(text, ids);
	if (!at)
		fail_msg("the simulator's profile no longer has its [ecu bcm] ids as expected");
	f = fopen(path, "we");
	assert_non_null(f);
	fwrite(text, 1, (size_t)(at - text), f);
	fputs(addressing, f);
	fputs(at + strlen(ids), f);
	fclose(f);
}


/* The bench's three controllers at 500k, normal mode, no bus-error reporting, up. */
static inline void itc_put_back(void)
{
	const char *ifs[] = {ITEST_CAN0, ITEST_CAN1, ITEST_CAN2};
	for (size_t i = 0; i < 3; i++)
		can_link_set_mode(ifs[i], 500000,
				  CAN_LINK_CTRLMODE_LISTENONLY | CAN_LINK_CTRLMODE_BERR_REPORTING,
				  0, true);
}

/* The CLI's binary and the simulator's profile, for the tests below. */
static char itc_bodydiag[1024], itc_profile[1024];

/* Group setup and teardown of the tests that move the controllers: the paths above, the
 * controllers reset before and after. */
static inline int itc_group_setup(void **state)
{
	itd_group_start(state);
	itd_path(itc_bodydiag, sizeof(itc_bodydiag), "BODYDIAG_BUILD_ROOT",
		 "tools/bodydiag/bodydiag");
	itd_path(itc_profile, sizeof(itc_profile), "BODYDIAG_SOURCE_ROOT",
		 "profiles/sim-2026.profile");
	itc_put_back();
	return 0;
}

static inline int itc_group_teardown(void **state)
{
	itd_group_end(state);
	itc_put_back();
	return 0;
}
