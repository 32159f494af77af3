/* SPDX-License-Identifier: MIT */
/*
 * The bodydiagd Unix socket API (protocol in docs/api.md): JSON lines with a versioned
 * envelope, a method table that daemon modules fill, asynchronous replies, event
 * subscriptions, SO_PEERCRED authorisation, and bounded per-client buffers.
 *
 * Ownership in one paragraph: the server owns clients. A handler owns the request it is
 * given until it completes it, exactly once, with api_request_reply() or
 * api_request_fail() (synchronously inside the handler or later). A module owns the
 * subscriptions it creates until api_subscription_free(). When a client goes away first,
 * the server detaches its requests and subscriptions (they become orphans: completing or
 * sending is then a no-op returning -EPIPE) and calls their cancel callback once, so that
 * e.g. an actuator test can send ReturnControlToECU; the owner still completes or frees
 * the handle afterwards (possibly from inside that callback).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ev_loop;
struct json_text;

#define API_VERSION 1
#define API_DEFAULT_SOCKET "/run/bodydiag/api.sock"
#define API_MAX_METHOD_NAME 64 /* bytes of a method name */
#define API_MAX_ID_STRING 128  /* bytes of a string request id */

/* What a peer may do; a method's privilege is the least a peer needs to call it. */
enum api_privilege {
	API_PRIVILEGE_NONE,  /* anyone who can open the socket */
	API_PRIVILEGE_READ,  /* group bodydiag (read_group) */
	API_PRIVILEGE_ADMIN, /* uid 0 or group bodydiag-admin (admin_group) */
	API_PRIVILEGE_MAX,
};

/* Every error code of the protocol; the wire names are in api_error_code(). */
enum api_error {
	API_ERROR_PARSE_ERROR,
	API_ERROR_INVALID_REQUEST,
	API_ERROR_UNSUPPORTED_VERSION,
	API_ERROR_LINE_TOO_LONG,
	API_ERROR_UNKNOWN_METHOD,
	API_ERROR_INVALID_PARAMS,
	API_ERROR_PERMISSION_DENIED,
	API_ERROR_RATE_LIMITED,
	API_ERROR_TOO_MANY_REQUESTS,
	API_ERROR_TOO_MANY_CLIENTS,
	API_ERROR_NOT_FOUND,
	API_ERROR_UNAVAILABLE,
	API_ERROR_TIMEOUT,
	API_ERROR_INTERNAL,
	/* Failures on the way to an ECU (docs/api.md, "Errors on the way to the ECU"). */
	API_ERROR_RESPONSE_PENDING_LIMIT, /* 0x78 beyond the limit (was "timeout") */
	API_ERROR_BUSY_LIMIT,		  /* 0x21 after the resends (was "timeout") */
	API_ERROR_TRANSPORT_TIMEOUT,	  /* ISO-TP N_Cr/N_Bs: an answer stopped mid-transfer */
	API_ERROR_ISOTP_ERROR,		  /* ISO-TP protocol failure (was "unavailable") */
	API_ERROR_LINK_DOWN,		  /* the CAN interface is down or gone (was "unavailable") */
	API_ERROR_TRANSPORT_ERROR,	  /* any other socket failure (was "unavailable") */
	API_ERROR_INVALID_RESPONSE,	  /* the ECU's answer does not fit the request */
	API_ERROR_MAX,
};

/* "parse_error", ...; NULL for out-of-range values. */
const char *api_error_code(enum api_error err);
/* One-line English description (docs/api.md has the same table). */
const char *api_error_description(enum api_error err);
/* "none", "read", "admin"; NULL for out-of-range values. */
const char *api_privilege_name(enum api_privilege p);

/* Resource limits; every one bounds something a client controls. */
struct api_limits {
	unsigned max_clients;  /* connections beyond it get too_many_clients and are closed */
	size_t max_line;       /* bytes of one request line, newline excluded */
	size_t max_output;     /* bytes queued to one client before it is dropped */
	unsigned max_pending;  /* unanswered requests per client */
	double rate_limit;     /* request lines per second per client; 0 = unlimited */
	double rate_burst;     /* bucket size; 0 = max(rate_limit, 1) */
};

/* max_clients 64, max_line 64 KiB, max_output 1 MiB, max_pending 16, 20 requests/s. */
void api_limits_default(struct api_limits *limits);

/* The groups that grant privileges, resolved to gids (getgrnam) by api_groups_resolve. */
struct api_groups {
	bool have_admin, have_read; /* false: no such group, nobody gets it through a group */
	gid_t admin_gid, read_gid;
};

/*
 * Looks the two groups up by name (NSS). A group that does not exist is not an error
 * (have_* = false). Returns 0, or -errno if NSS failed.
 */
int api_groups_resolve(const char *admin_group, const char *read_group,
		       struct api_groups *ret_groups);

/*
 * The authorisation decision, a pure function: uid 0 or a member of the admin group is
 * ADMIN, a member of the read group is READ, anyone else NONE. gids holds the peer's
 * primary and supplementary groups (SO_PEERCRED + SO_PEERGROUPS, else api_user_groups()).
 */
enum api_privilege api_peer_privilege(uid_t uid, const gid_t *gids, size_t n_gids,
				      const struct api_groups *groups);

/*
 * A user's groups from the group database: gid (its primary group as SO_PEERCRED gave it)
 * and every group that lists the user uid names; only gid for a uid without a user. For
 * where the kernel's SO_PEERGROUPS cannot be had (kernels before 4.13, qemu-user). On
 * success *ret_gids is malloc'd (the caller frees it). Returns 0, -ENOMEM, -E2BIG or
 * -errno from NSS.
 */
int api_user_groups(uid_t uid, gid_t gid, gid_t **ret_gids, size_t *ret_n);

/* The credentials of a connected peer, taken at accept time. */
struct api_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum api_privilege privilege;
};

/* --- Request line parsing and reply formatting: pure, fuzzed (tests/fuzz) --- */

struct api_parsed_request {
	json_t *root;       /* owned; api_parsed_request_finish() releases it */
	json_t *id;         /* borrowed from root; NULL when absent or invalid */
	const char *method; /* borrowed from root; valid when the parse returned 0 */
	json_t *params;     /* borrowed; always an object when the parse returned 0 */
	enum api_error error; /* valid when the parse returned 1 */
	char message[192];    /* valid when the parse returned 1 */
};

/*
 * Parses and validates one request line (no newline) against the envelope:
 * {"v":1,"id":<int|string>,"method":"name","params":{...}} with "id" and "params"
 * optional and no other members. Returns 0 if valid, 1 if not (ret->error/message say
 * why; ret->id is set when the id itself was valid so the reply can echo it), -ENOMEM.
 * Always call api_parsed_request_finish() afterwards.
 */
int api_request_parse(const char *line, size_t len, struct api_parsed_request *ret);
void api_parsed_request_finish(struct api_parsed_request *req);

/*
 * Format one reply/event line, newline-terminated, malloc'd (caller frees); NULL on
 * out of memory. id may be NULL (omitted). result/data are stolen (NULL = {}).
 */
char *api_format_result(const json_t *id, json_t *result, size_t *ret_len);
/* The same written as text: a writer with the envelope open at "result" (NULL when out
 * of memory); after the result's one value, _end closes it into the line (NULL when
 * the writer failed; w is freed either way). */
struct json_text *api_result_begin(const json_t *id);
char *api_result_end(struct json_text *w, size_t *ret_len);
char *api_format_error(const json_t *id, enum api_error err, const char *message,
		       size_t *ret_len);
char *api_format_event(const char *event, json_t *data, size_t *ret_len);

/* True when name is a valid method name ([a-z0-9._-], 1..API_MAX_METHOD_NAME bytes). */
bool api_method_name_valid(const char *name, size_t len);

/* --- The server --- */

struct api_server;
struct api_request;
struct api_subscription;

/*
 * A method handler. params is borrowed for the duration of the call (an object, {} when
 * the request had none); incref it to keep it. The handler must complete req exactly
 * once, now or later.
 */
typedef void (*api_handler_fn)(struct api_request *req, json_t *params, void *userdata);
/* Told that the client of a request/subscription went away; see the top of this file. */
typedef void (*api_cancel_fn)(void *data);

struct api_method {
	const char *name; /* copied; [a-z0-9._-], at most API_MAX_METHOD_NAME bytes */
	enum api_privilege privilege;
	api_handler_fn handler;
	void *userdata;
	const char *summary; /* copied; one line for the "methods" listing, may be NULL */
};

/*
 * Creates a server on loop with the built-in methods (version, methods, ping, whoami)
 * registered. limits and groups are copied. It listens on nothing until
 * api_server_listen*(). Returns 0 or -ENOMEM/-EINVAL.
 */
int api_server_new(struct ev_loop *loop, const struct api_limits *limits,
		   const struct api_groups *groups, struct api_server **ret_server);

/*
 * Closes every client (their cancel callbacks run), stops listening, unlinks a socket
 * path it created. Accepts NULL, returns NULL.
 */
struct api_server *api_server_free(struct api_server *server);

/*
 * Binds a new listening socket at path (mode 0660, group the read group when it exists;
 * parents must exist). A stale socket
 * left by a dead daemon is replaced; a live one gives -EADDRINUSE. Returns 0 or -errno.
 */
int api_server_listen_path(struct api_server *server, const char *path);

/*
 * Takes ownership of a listening AF_UNIX stream socket fd (also on failure), e.g. one
 * from socket activation: collect those with sdproto_listen_fds() before opening any other
 * fd (main.c does), then hand them over here.
 */
int api_server_listen_fd(struct api_server *server, int fd);


/*
 * New limits and groups (SIGHUP). Limits apply at once to every client (a lower
 * max_clients closes nobody; it turns new connections away); groups apply to clients
 * accepted afterwards, since privileges are decided at accept time. Invalid limits
 * (zero max_clients or max_line, tiny max_output, negative rate) are ignored.
 */
void api_server_set_limits(struct api_server *server, const struct api_limits *limits);
void api_server_set_groups(struct api_server *server, const struct api_groups *groups);

/* Returns 0, -EEXIST (name taken), -EINVAL (bad name/handler) or -ENOMEM. */
int api_server_register(struct api_server *server, const struct api_method *method);
/* Returns 0 or -ENOENT. Requests already running keep going. */
int api_server_unregister(struct api_server *server, const char *name);

/* Connected clients (not counting ones being torn down). */
size_t api_server_client_count(const struct api_server *server);

/* Bytes of input and output buffer the connected clients hold (allocated, not queued):
 * IN_KEEP + OUT_KEEP at most per idle client once its replies went out. */
size_t api_server_buffer_bytes(const struct api_server *server);

/* --- Completing requests (handlers) --- */

/* The caller's credentials, valid until the request is completed. */
const struct api_peer *api_request_peer(const struct api_request *req);
/* The method name as requested; valid until the request is completed. */
const char *api_request_method(const struct api_request *req);
/* True when the client has gone (the reply would be discarded). */
bool api_request_is_orphan(const struct api_request *req);

/* Sets the callback run once if the client goes away before completion. */
void api_request_set_cancel(struct api_request *req, api_cancel_fn cancel, void *data);

/*
 * Completes req with a result (stolen; NULL = {}) and frees req. Returns 0, -EPIPE when
 * the client is gone, -ENOMEM (the client is then dropped).
 */
int api_request_reply(struct api_request *req, json_t *result);

/*
 * The same for a result too big to build as jansson values first (`findings`): _begin
 * gives a writer (daemon/json_text.h) with the reply's envelope open at "result", NULL
 * when out of memory (req is not completed then); the caller writes the result, one
 * value, and _end completes req, returning like api_request_reply() (a writer that
 * failed is out of memory: the client is dropped).
 */
struct json_text *api_request_reply_begin(struct api_request *req);
int api_request_reply_end(struct api_request *req, struct json_text *w);

/* Completes req with an error; message is printf-style. Returns like api_request_reply. */
int api_request_fail(struct api_request *req, enum api_error err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Fails req with invalid_params when params has a member not in allowed (a
 * NULL-terminated list): typos must not pass silently, as in the envelope. Returns 0, or
 * -EINVAL after completing req.
 */
int api_params_check(struct api_request *req, json_t *params, const char *const *allowed);

/*
 * Creates a subscription on req's client, for events sent with api_subscription_send.
 * on_close runs once if the client goes away first. The request still needs completing
 * (typically with a reply that confirms the subscription). Returns 0 with
 * *ret_sub set, -EPIPE (client gone), -ENOMEM.
 */
int api_request_subscribe(struct api_request *req, api_cancel_fn on_close, void *data,
			  struct api_subscription **ret_sub);

/*
 * Queues {"v":1,"event":event,"data":data} to the subscriber (data stolen, NULL = {}).
 * A subscriber whose queue would exceed max_output gets a final "dropped" event if it
 * fits and is disconnected (its on_close callbacks run before this returns -EPIPE).
 * Returns 0, -EPIPE (client gone), -ENOMEM.
 */
int api_subscription_send(struct api_subscription *sub, const char *event, json_t *data);

bool api_subscription_is_orphan(const struct api_subscription *sub);

/* Unsubscribes (no callback) and frees. Accepts NULL, returns NULL. */
struct api_subscription *api_subscription_free(struct api_subscription *sub);
