/* SPDX-License-Identifier: MIT */
/*
 * out (tools/bodydiag): the buffered writer of the CLI: every byte arrives in order across
 * buffer ends (runs, characters, integers, reserved room), out_flush() means written, and
 * write errors (a full disk, a reader gone) end up in o->error without a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../tools/bodydiag/out.h"
#include "../common/prng.h"

static int tmpfile_fd(char *path, size_t size)
{
	snprintf(path, size, "/tmp/test-out-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

static char *slurp(const char *path, size_t *ret_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	char *b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	size_t off = 0;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, b + off, (size_t)st.st_size - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(fd);
	*ret_len = off;
	return b;
}

/* The same mix of calls into o and into a plain expected buffer. */
static size_t write_mix(struct out *o, char *expect, size_t cap, uint64_t seed)
{
	uint64_t s = seed;
	size_t n = 0;
	char tmp[40];

	while (n + 3000 < cap) {
		uint64_t r = prng_next(&s);
		switch (r % 4) {
		case 0: { /* a long run, crossing buffer ends */
			size_t len = (size_t)(r >> 8) % 2500;
			for (size_t i = 0; i < len; i++)
				expect[n + i] = (char)('a' + (i + (r >> 20)) % 26);
			out_mem(o, expect + n, len);
			n += len;
			break;
		}
		case 1:
			out_char(o, '\n');
			expect[n++] = '\n';
			break;
		case 2: {
			uint64_t v = r >> 3;
			out_u64(o, v);
			int k = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
			memcpy(expect + n, tmp, (size_t)k);
			n += (size_t)k;
			break;
		}
		default: {
			char *p = out_reserve(o, 8);
			memcpy(p, "[record]", 8);
			out_commit(o, p + 8);
			memcpy(expect + n, "[record]", 8);
			n += 8;
			break;
		}
		}
	}
	return n;
}

static void run_to_file(size_t total)
{
	char path[64];
	int fd = tmpfile_fd(path, sizeof(path));
	struct out *o = malloc(sizeof(*o));
	char *expect = malloc(total);
	size_t got_len;

	assert_non_null(o);
	assert_non_null(expect);
	out_init(o, fd);
	size_t n = write_mix(o, expect, total, 42);
	out_flush(o);
	assert_int_equal(o->error, 0);
	/* flushed means written */
	char *got = slurp(path, &got_len);
	assert_int_equal(got_len, n);
	assert_memory_equal(got, expect, n);
	free(got);
	/* more after a flush, then the end */
	out_str(o, "tail\n");
	out_flush(o);
	assert_int_equal(o->error, 0);
	got = slurp(path, &got_len);
	assert_int_equal(got_len, n + 5);
	assert_memory_equal(got + n, "tail\n", 5);
	free(got);
	free(expect);
	free(o);
	close(fd);
	unlink(path);
}

static void in_order(void **state)
{
	(void)state;
	run_to_file(8u << 20); /* 32 buffers */
}

static void error_kept(int fd, int expect)
{
	struct out *o = malloc(sizeof(*o));
	assert_non_null(o);
	out_init(o, fd);
	/* many buffers after the first failure: dropped, no hang */
	for (int i = 0; i < 20; i++)
		for (size_t k = 0; k < OUT_BUF_SIZE / 8; k++)
			out_mem(o, "12345678", 8);
	out_flush(o);
	assert_int_equal(o->error, expect);
	out_str(o, "more");
	out_flush(o);
	assert_int_equal(o->error, expect);
	free(o);
}

static void full_disk(void **state)
{
	(void)state;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	error_kept(fd, -ENOSPC);
	close(fd);
}

static void reader_gone(void **state)
{
	int p[2];
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	error_kept(p[1], -EPIPE);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(in_order),
	    cmocka_unit_test(full_disk),
	    cmocka_unit_test(reader_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
