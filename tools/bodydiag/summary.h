/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * summary: a diagnosis result (daemon/engine_json.c's shape: `bodydiag analyze --json`,
 * the daemon's `findings` and `diagnose` replies, a history session's stored result) in
 * sentences for people: the answer, the next check, each link of the release chain, why
 * a cause is thought to hold, what a DTC's status byte means. One source for the
 * report's top section (cmd-report.c), the final screen of `bodydiag diagnose` and the
 * head of `bodydiag analyze`, so they say the same.
 *
 * Times in sentences are seconds from the result's zero (the start of the test or of the
 * capture), or from the action they follow ("0.06 s after it"); never a raw clock.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out;

/* Receives one sentence (NUL-terminated, valid during the call). */
typedef void (*summary_fn)(void *userdata, const char *sentence);

/* The answer in one sentence: the leading cause and where the chain stopped, a refused
 * release, no fault found, or what cannot be told. */
void summary_answer(json_t *res, char *buf, size_t size);
/* The next check (the leading cause's advice, or the next action to do); false and ""
 * when there is none. */
bool summary_next_check(json_t *res, char *buf, size_t size);

/* "Fob", "Receiver", "BCM request", "Output command", "Current", "Latch", "Ajar switch";
 * the name itself for another. */
const char *summary_link_label(const char *link);
/* "seen working", "seen failing", "not tested", "not observable on this car". */
const char *summary_link_state(const char *state);
/* What a link's state says of it, as a clause ("current flowed to the actuator", "this car
 * does not show it"). */
void summary_link_clause(json_t *link, char *buf, size_t size);

/* The evidence of a finding or link (its `evidence` array) as sentences, in order. */
void summary_why(json_t *evidence, summary_fn fn, void *userdata);

/* The findings of the main list (holds, possible) and of the fold (the rest). */
bool summary_finding_main(json_t *f);
/* A finding's state for people: "found", "refused the release", "possible: not decided
 * yet", "ruled out by Trunk release fuse blown", "cannot be told on this car: needs ...". */
void summary_finding_state(json_t *res, json_t *f, char *buf, size_t size);

/* A DTC status byte in words, the meaningful bits only: "failed now", "confirmed",
 * "pending", "failed since the last clear", "warning lamp on", and, faint, "not tested
 * since clear". Writes up to max words, their faintness in faint[]; returns the count. */
size_t summary_dtc_words(int status, const char **words, bool *faint, size_t max);
/* Order of DTC rows: failed now first, then confirmed, pending, failed since clear,
 * then the rest (larger = earlier). */
int summary_dtc_rank(int status);

/* "." when the text does not end a sentence yet (rule files write advice without one),
 * "" when it does. */
const char *summary_stop(const char *text);

/* Seconds for people: "2 s", "0.06 s", "-1.4 s" (hundredths). */
void summary_seconds(double s, char *buf, size_t size);
/*
 * A wall-clock time in microseconds since 1970 as ISO 8601 UTC to the millisecond
 * ("2026-12-04T15:52:11.023Z"). false (and "") for a time before 2001, which is no wall
 * clock (a capture stamped with a monotonic clock, a fresh Raspberry Pi without RTC).
 */
bool summary_utc(int64_t t_us, char *buf, size_t size);
/* The line that names the zero of an output's times once: "times are seconds from the
 * start of the capture, 2026-12-04T15:52:11.023Z (UTC)". what: "the capture". */
void summary_clock_line(struct out *o, const char *what, int64_t t0_us);

/* "fob_trunk_pressed" -> "fob trunk pressed". */
void summary_words(const char *name, char *buf, size_t size);

/*
 * The top section as text: the answer, the next check, the chain link by link, the
 * causes by title with why we think so and what to do, the ruled-out ones in one line
 * each, the DTCs. What `diagnose` ends with and `analyze` begins with.
 */
void summary_print(struct out *o, json_t *res);
