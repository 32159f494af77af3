/* SPDX-License-Identifier: MIT */
/*
 * The measuring side of bench/uds-roundtrip.sh, run inside the VM bench:
 *
 *   uds-rt-client isotp IFACE N       N x 0x22 0xD107 over a kernel ISO-TP socket
 *                                     (0x726 -> 0x72E, the options the daemon's broker uses)
 *   uds-rt-client api SOCKET N        N x did.read 0xD107 over one API connection
 *   uds-rt-client call SOCKET METHOD  one call without params, the reply line printed
 *   uds-rt-client mix SOCKET N [ONLY] N requests of every kind a client sends (status,
 *                                     history, findings, did.read, dtc.read, mark, metrics,
 *                                     errors, a live subscription...), a new connection
 *                                     every 50 (bench/memory-bench.sh); ONLY: just the
 *                                     requests that contain it (finding what grows)
 *   uds-rt-client replay IFACE FILE RATE  sends a candump file's frames on IFACE at RATE
 *                                     frames/s (canplayer -t sends back to back, which
 *                                     overruns the emulated controllers: frames are lost)
 *   uds-rt-client flood IFACE FILE FRAMES [SOCKET]  sends FRAMES frames on IFACE, the
 *                                     file's frames over and over, as fast as the receiver
 *                                     (bodydiagd on SOCKET) takes them
 *                                     (bench/memory-bench.sh: an hour of bus in minutes)
 *   uds-rt-client ready BODYDIAGD CONF  starts the daemon with NOTIFY_SOCKET pointing at
 *                                     a datagram socket of ours, prints the time to READY=1
 *                                     and its pid, and leaves it running
 *
 * A C client rather than isotpsend/isotprecv: a process start per round trip (and
 * isotprecv's own socket set-up) would cost more than the round trip itself, so the
 * reference would measure fork/exec. Round trips are timed with CLOCK_MONOTONIC around
 * the write and the answer; the first one (socket set-up, the daemon opening its ISO-TP
 * socket) is a warm-up and not counted. Prints "RESULT <mode> n=.. median_us=.. p90_us=..".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/candump.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"

#define MAX_N 100000

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void report(const char *mode, int64_t *t, int n, int failed)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_i64);
	printf("RESULT %s n=%d failed=%d median_us=%lld p90_us=%lld min_us=%lld max_us=%lld\n",
	       mode, n, failed, (long long)t[n / 2], (long long)t[n * 9 / 10], (long long)t[0],
	       (long long)t[n - 1]);
}

static int wait_in(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) > 0;
}

static int run_isotp(const char *ifname, int n)
{
	static const uint8_t req[] = {0x22, 0xd1, 0x07};
	struct isotp_socket_opts o;
	int64_t *t = calloc((size_t)n, sizeof(*t));
	int fd, r, failed = 0, got = 0;

	isotp_socket_opts_init(&o, 0x726, 0x72e);
	o.tx_pad = 0xaa;
	o.wait_tx_done = true;
	r = isotp_socket_open(ifname, &o, &fd);
	if (r < 0 || !t) {
		fprintf(stderr, "isotp: cannot open on %s: %s\n", ifname, strerror(-r));
		return 1;
	}
	for (int i = -1; i < n; i++) {
		uint8_t resp[64];
		size_t len = 0;
		int64_t t0 = mono_us();

		for (int k = 0; k < 100 && (r = isotp_socket_send(fd, req, sizeof(req))) == -EAGAIN; k++)
			usleep(1000);
		if (r < 0 || !wait_in(fd, 1000) || isotp_socket_recv(fd, resp, sizeof(resp), &len) != 1 ||
		    len < 3 || resp[0] != 0x62) {
			failed++;
			continue;
		}
		if (i >= 0)
			t[got++] = mono_us() - t0;
	}
	close(fd);
	if (got == 0)
		return 1;
	report("isotp", t, got, failed);
	free(t);
	return failed > n / 10;
}

/* A connected API socket, or -1 (message printed). */
static int api_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	fprintf(stderr, "cannot connect to %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Sends line, reads until a newline into buf (NUL-terminated). With one request in
 * flight the first line back is its answer. Returns 0, or -1 on error/timeout (5 s).
 */
static int api_exchange(int fd, const char *line, size_t n, char *buf, size_t cap)
{
	size_t len = 0;

	if (write(fd, line, n) != (ssize_t)n)
		return -1;
	while (!memchr(buf, '\n', len)) {
		ssize_t r;
		if (!wait_in(fd, 5000) || (r = read(fd, buf + len, cap - 1 - len)) <= 0)
			return -1;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return 0;
}

static int run_api(const char *path, int n)
{
	static const char line[] =
		"{\"v\":1,\"id\":1,\"method\":\"did.read\",\"params\":{\"ecu\":\"bcm\",\"did\":\"0xD107\"}}\n";
	int64_t *t = calloc((size_t)n, sizeof(*t));
	int fd = api_connect(path), failed = 0, got = 0;
	char buf[8192];

	if (fd < 0 || !t)
		return 1;
	for (int i = -1; i < n; i++) {
		int64_t t0 = mono_us();

		if (api_exchange(fd, line, sizeof(line) - 1, buf, sizeof(buf)) < 0)
			return 1;
		if (!strstr(buf, "\"result\"") || !strstr(buf, "\"values\"")) {
			if (failed++ == 0)
				fprintf(stderr, "api: %s", buf);
			continue;
		}
		if (i >= 0)
			t[got++] = mono_us() - t0;
	}
	close(fd);
	if (got == 0)
		return 1;
	report("api", t, got, failed);
	free(t);
	return failed > n / 10;
}

/* The daemon's count of frames received ("frames" of status), or -1. */
static long daemon_frames(int fd)
{
	static const char req[] = "{\"v\":1,\"id\":1,\"method\":\"status\"}\n";
	char buf[8192];
	const char *p;

	if (api_exchange(fd, req, sizeof(req) - 1, buf, sizeof(buf)) < 0 ||
	    !(p = strstr(buf, "\"frames\":")))
		return -1;
	return atol(p + 9);
}

/*
 * The file's frames in memory, sent in a loop until FRAMES were sent. Without SOCKET as
 * fast as the kernel takes them, at nice 19 so that the receiver, woken by each frame,
 * runs first. With SOCKET (bodydiagd's API) in bursts of FLOOD_BURST, each sent when the
 * daemon's status shows it has received all but half a burst of the frames before: as
 * fast as the daemon goes, never faster than its socket buffer holds, on any machine.
 */
#define FLOOD_BURST 500
static int run_flood(const char *ifname, const char *path, long frames, const char *sock)
{
	const struct can_raw_filter none = {0};
	char line[CANDUMP_MAX_LINE + 2];
	struct candump_record rec;
	struct bd_frame *set = NULL;
	size_t n = 0, cap = 0;
	long sent = 0, waits = 0, base = 0, polls = 0;
	int64_t t0;
	FILE *f = fopen(path, "re");
	int fd, api = -1, r;

	r = can_raw_open(ifname, &none, 0, 0, &fd); /* send only */
	if (!f || r < 0) {
		fprintf(stderr, "flood: cannot open %s or %s\n", path, ifname);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (candump_parse_line(line, strcspn(line, "\n"), NULL, &rec) < 0)
			continue;
		if (n == cap) {
			struct bd_frame *m = realloc(set, (cap = cap ? cap * 2 : 4096) * sizeof(*set));
			if (!m)
				return 1;
			set = m;
		}
		set[n++] = rec.tf.frame;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "flood: no frames in %s\n", path);
		return 1;
	}
	if (sock) {
		if ((api = api_connect(sock)) < 0 || (base = daemon_frames(api)) < 0)
			return 1;
	} else if (setpriority(PRIO_PROCESS, 0, 19) < 0) {
		perror("flood: setpriority");
	}
	t0 = mono_us();
	for (size_t i = 0; sent < frames; i = i + 1 == n ? 0 : i + 1) {
		if (api >= 0 && sent % FLOOD_BURST == 0 && sent) {
			long got;
			while ((got = daemon_frames(api)) >= 0 && got - base < sent - FLOOD_BURST / 2) {
				polls++;
				usleep(500);
			}
			if (got < 0) {
				fprintf(stderr, "flood: no status from the daemon\n");
				return 1;
			}
		}
		/* ENOBUFS: the interface's queue is full; give the receiver the CPU. */
		while ((r = can_raw_send(fd, &set[i])) == -EAGAIN || r == -ENOBUFS) {
			waits++;
			usleep(100);
		}
		if (r < 0) {
			fprintf(stderr, "flood: send: %s\n", strerror(-r));
			return 1;
		}
		sent++;
	}
	double s = (double)(mono_us() - t0) / 1e6;
	printf("RESULT flood sent=%ld distinct=%zu seconds=%.1f rate=%.0f waits=%ld polls=%ld\n",
	       sent, n, s, (double)sent / s, waits, polls);
	if (api >= 0)
		close(api);
	close(fd);
	free(set);
	return 0;
}

/*
 * What clients ask, round and round: every method a dashboard or the CLI uses, UDS reads
 * answered by bodydiag-sim, the VIN (the history's vehicle), marks into the timeline, and
 * the error paths (unknown method, bad params, a line that is not JSON). One request in
 * flight; a new connection every 50 requests, and a live subscription held over 100.
 */
static int run_mix(const char *path, int n, const char *only)
{
	static const char *const mix[] = {
		"\"method\":\"status\"",
		"\"method\":\"ecus\"",
		"\"method\":\"version\"",
		"\"method\":\"ping\"",
		"\"method\":\"whoami\"",
		"\"method\":\"methods\"",
		"\"method\":\"findings\"",
		"\"method\":\"history\",\"params\":{\"limit\":200}",
		"\"method\":\"history\",\"params\":{\"kind\":\"transition\",\"code\":\"B1A40-13\"}",
		"\"method\":\"metrics\"",
		"\"method\":\"scan\"",
		"\"method\":\"mark\",\"params\":{\"label\":\"fob pressed\"}",
		"\"method\":\"did.read\",\"params\":{\"ecu\":\"bcm\",\"did\":\"0xD107\"}",
		"\"method\":\"dtc.read\",\"params\":{\"ecu\":\"bcm\"}",
		"\"method\":\"did.read\",\"params\":{\"ecu\":\"bcm\",\"did\":\"0xF190\"}",
		"\"method\":\"no.such.method\"",
		"\"method\":\"history\",\"params\":{\"limit\":\"many\"}",
	};
	const int n_mix = (int)(sizeof(mix) / sizeof(mix[0]));
	char line[512], buf[1 << 20];
	int fd = -1, live = -1, ok = 0, errors = 0, fail = 0;
	int64_t t0 = mono_us();

	for (int i = 0; i < n; i++) {
		if (i % 50 == 0) {
			if (fd >= 0)
				close(fd);
			if ((fd = api_connect(path)) < 0)
				return 1;
		}
		if (i % 100 == 0 && !only) {
			/* A subscriber that comes and goes, events queued for it meanwhile. */
			static const char sub[] = "{\"v\":1,\"id\":1,\"method\":\"live.subscribe\","
						  "\"params\":{\"signals\":[\"ajar\",\"speed\"]}}\n";
			if (live >= 0)
				close(live);
			if ((live = api_connect(path)) < 0 ||
			    api_exchange(live, sub, sizeof(sub) - 1, buf, sizeof(buf)) < 0)
				return 1;
		}
		const char *m = mix[i % n_mix];
		for (int k = 0; only && !strstr(m, only) && k < n_mix; k++)
			m = mix[(i + k) % n_mix];
		int len = i % 97 == 96 && !only
				  ? snprintf(line, sizeof(line), "{not json\n")
				  : snprintf(line, sizeof(line), "{\"v\":1,\"id\":%d,%s}\n", i, m);
		if (api_exchange(fd, line, (size_t)len, buf, sizeof(buf)) < 0) {
			fprintf(stderr, "mix: no answer to %s", line);
			return 1;
		}
		if (strstr(buf, "\"result\""))
			ok++;
		else if (strstr(buf, "\"error\""))
			errors++;
		else
			fail++;
	}
	close(fd);
	if (live >= 0)
		close(live);
	printf("RESULT mix n=%d results=%d errors=%d other=%d seconds=%.1f\n", n, ok, errors, fail,
	       (double)(mono_us() - t0) / 1e6);
	return fail > 0;
}

static int run_call(const char *path, const char *method)
{
	char line[256], buf[16384];
	int fd = api_connect(path);
	int n = snprintf(line, sizeof(line), "{\"v\":1,\"id\":1,\"method\":\"%s\"}\n", method);

	if (fd < 0 || n < 0 || (size_t)n >= sizeof(line) ||
	    api_exchange(fd, line, (size_t)n, buf, sizeof(buf)) < 0)
		return 1;
	close(fd);
	fputs(buf, stdout);
	return 0;
}

static int run_replay(const char *ifname, const char *path, double rate)
{
	const struct can_raw_filter none = {0};
	char line[CANDUMP_MAX_LINE + 2];
	struct candump_record rec;
	struct timespec next;
	long frames = 0, bad = 0, lost = 0;
	int64_t t0 = mono_us();
	FILE *f = fopen(path, "re");
	int fd, r;

	r = can_raw_open(ifname, &none, 0, 0, &fd); /* send only */
	if (!f || r < 0) {
		fprintf(stderr, "replay: cannot open %s or %s\n", path, ifname);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (fgets(line, sizeof(line), f)) {
		if (candump_parse_line(line, strcspn(line, "\n"), NULL, &rec) < 0) {
			bad++;
			continue;
		}
		/* An absolute schedule: a late frame does not shift the ones after it. */
		next.tv_nsec += (long)(1e9 / rate);
		while (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		for (int k = 0; (r = can_raw_send(fd, &rec.tf.frame)) == -EAGAIN && k < 1000; k++)
			usleep(200);
		if (r < 0)
			lost++;
		else
			frames++;
	}
	fclose(f);
	close(fd);
	printf("RESULT replay sent=%ld unsent=%ld unparsed=%ld seconds=%.1f\n", frames, lost, bad,
	       (double)(mono_us() - t0) / 1e6);
	return lost > 0;
}

static int run_ready(const char *bin, const char *conf)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int64_t t0, end;
	pid_t pid;
	char buf[512];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/uds-rt-notify.sock");
	unlink(sa.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("ready: notify socket");
		return 1;
	}
	t0 = mono_us();
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int log = open("/tmp/uds-rt-daemon.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execl(bin, bin, "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (end = t0 + 30000000; mono_us() < end;) {
		ssize_t r;

		if (!wait_in(fd, 100)) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				fprintf(stderr, "ready: the daemon exited\n");
				return 1;
			}
			continue;
		}
		r = recv(fd, buf, sizeof(buf) - 1, 0);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		if (!strncmp(buf, "READY=1", 7) || strstr(buf, "\nREADY=1")) {
			printf("RESULT ready ready_ms=%.1f pid=%d\n", (double)(mono_us() - t0) / 1000,
			       (int)pid);
			return 0;
		}
	}
	fprintf(stderr, "ready: no READY=1 within 30 s\n");
	return 1;
}

int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 200;

	if (argc >= 4 && !strcmp(argv[1], "ready"))
		return run_ready(argv[2], argv[3]);
	if (argc >= 5 && !strcmp(argv[1], "replay"))
		return run_replay(argv[2], argv[3], atof(argv[4]) > 0 ? atof(argv[4]) : 2000);
	if (argc >= 5 && !strcmp(argv[1], "flood"))
		return run_flood(argv[2], argv[3], atol(argv[4]), argc > 5 ? argv[5] : NULL);
	if (argc >= 4 && !strcmp(argv[1], "call"))
		return run_call(argv[2], argv[3]);
	if (argc < 3 || n < 1 || n > MAX_N) {
		fprintf(stderr, "usage: uds-rt-client isotp IFACE N | api SOCKET N | mix SOCKET N | "
				"call SOCKET METHOD | replay IFACE FILE RATE | flood IFACE FILE FRAMES | "
				"ready BODYDIAGD CONF\n");
		return 2;
	}
	if (!strcmp(argv[1], "isotp"))
		return run_isotp(argv[2], n);
	if (!strcmp(argv[1], "api"))
		return run_api(argv[2], n);
	if (!strcmp(argv[1], "mix"))
		return run_mix(argv[2], n, argc > 4 ? argv[4] : NULL);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
