/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A blocking client of the bodydiagd socket API (docs/api.md): connect, send one request
 * line, read lines until the reply with that id comes (events are handed to a callback).
 * The CLI needs nothing asynchronous: one request at a time.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define API_CLIENT_DEFAULT_SOCKET "/run/bodydiag/api.sock"
#define API_CLIENT_MAX_LINE (1u << 20)

/* Process exit codes of the client commands (bodydiag(1), EXIT STATUS). */
enum api_client_exit {
	API_EXIT_OK = 0,
	API_EXIT_USAGE = 1,	     /* bad command line or invalid_params */
	API_EXIT_CONNECT = 2,	     /* the daemon cannot be reached */
	API_EXIT_PERMISSION = 3,     /* permission_denied */
	API_EXIT_NOT_FOUND = 4,	     /* not_found: ECU, DID, signal */
	API_EXIT_NEGATIVE = 5,	     /* the ECU answered with a negative response */
	API_EXIT_TIMEOUT = 6,	     /* timeout: the ECU did not answer in time */
	API_EXIT_UNAVAILABLE = 7,    /* unavailable: bus, profile or transport */
	API_EXIT_DAEMON = 8,	     /* any other error reply, or a broken protocol */
};

struct api_client {
	int fd;
	long next_id;
	char *buf; /* received, not yet consumed */
	size_t len, cap;
	/* api_client_set_tick: called every tick_ms while waiting for a line */
	void (*tick)(void *userdata);
	void *tick_userdata;
	int tick_ms;
};

/* Connects to path. Returns 0 or -errno. */
int api_client_connect(struct api_client *c, const char *path);
void api_client_close(struct api_client *c);

/* Called for every event line read while waiting ({"v":1,"event":...}); return < 0 to stop
 * waiting (the call then returns that value). */
typedef int (*api_client_event_fn)(void *userdata, const char *event, json_t *data);

/*
 * Sends {"v":1,"id":N,"method":method,"params":params} (params stolen, NULL = none) and
 * waits for its reply. On 0, exactly one of *ret_result / *ret_error (the error object
 * with code and message) is set, owned by the caller. Returns 0, -EPROTO (a line that is
 * not JSON), -ECONNRESET (the daemon closed), -errno, or the callback's value.
 */
int api_client_call(struct api_client *c, const char *method, json_t *params,
		    api_client_event_fn on_event, void *userdata, json_t **ret_result,
		    json_t **ret_error);

/* Reads events until the connection ends or the callback stops it. Returns 0 at EOF,
 * or as api_client_call. */
int api_client_events(struct api_client *c, api_client_event_fn on_event, void *userdata);

/* While a call waits, calls tick(userdata) every ms milliseconds without input (a
 * progress display); NULL stops it. */
void api_client_set_tick(struct api_client *c, int ms, void (*tick)(void *userdata),
			 void *userdata);

/* Exit code for an error reply's code string. */
enum api_client_exit api_client_exit_for(const char *code);
