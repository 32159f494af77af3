/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * capture: a candump log read line by line for the offline commands (analyze, changes),
 * with the person's marks merged in time order: from a side file (`SECONDS.MICROS mark
 * NAME` per line, what bodydiag-sim --marks writes) and from `# mark SECONDS.MICROS NAME`
 * lines of the capture itself (other `#` lines are comments). Every mistake is printed on
 * stderr as file:line[:column]; bad capture lines are reported and skipped (or fatal with
 * strict).
 */

#include <stdbool.h>
#include <stdint.h>

#include "bodydiag/frame.h"

#define CAPTURE_MAX_MARKS 65536u
#define CAPTURE_MARK_NAME_MAX 127u

struct capture_ops {
	/* One valid frame, in file order. A negative return stops the read. */
	int (*frame)(void *userdata, const struct bd_timed_frame *tf);
	/* One mark, in time order with the frames. A negative return stops the read. */
	int (*mark)(void *userdata, int64_t t_us, const char *name, const char *file,
		    unsigned line);
};

struct capture_result {
	unsigned lines;		/* lines of the capture */
	unsigned bad_lines;	/* reported and skipped */
	unsigned capture_marks; /* `# mark` lines */
	unsigned side_marks;	/* marks of the side file */
};

/*
 * Reads capture ("-" = stdin) and marks_path (may be NULL). Returns 0 and *ret; a
 * negative errno (the message is printed) on an unreadable file, a bad mark, a bad line
 * with strict, or a callback's negative return.
 */
int capture_read(const char *capture, const char *marks_path, bool strict,
		 const struct capture_ops *ops, void *userdata, struct capture_result *ret);
