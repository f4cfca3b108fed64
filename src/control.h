/*
 * The control protocol, spoken on each running porthole's control socket
 * (ControlPath). A client sends one request line and reads the answer
 * until the server closes:
 *
 *   status            the state of the session and every forward, as text
 *   status json       the same as one JSON object
 *   ping              "pong"
 *   check             "ok pid=N"                    (porthole -O check)
 *   exit              "ok exiting", then it stops    (porthole -O exit)
 *   stop              "ok stopping": stops listening, exits when the open
 *                     connections have ended         (porthole -O stop)
 *   forward -L SPEC   adds a forward (-L, -R or -D): "ok", "ok port=N" for
 *                     a -R whose port the server picked, "ok pending" when
 *                     the session is down and a -R waits for it
 *   cancel -L SPEC    stops listening for that forward: "ok"
 *
 * Failures answer "error: WHY". SPEC is the rest of the line, in -L/-R/-D
 * syntax (spec.h). Parsing is pure; the socket lives in ctlsock.c.
 */
#ifndef PORTHOLE_CONTROL_H
#define PORTHOLE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

#define CONTROL_LINE_MAX 1024

enum control_verb {
	CONTROL_STATUS,
	CONTROL_PING,
	CONTROL_CHECK,
	CONTROL_EXIT,
	CONTROL_STOP,
	CONTROL_FORWARD,
	CONTROL_CANCEL,
};

struct control_request {
	enum control_verb verb;
	bool json;
	struct fwd_spec spec; /* forward, cancel */
	char why[200];	      /* a bad spec: the reason *err points to */
};

/*
 * Looks for one complete request line (ending in "\n", an optional "\r"
 * before it) at the start of buf. Returns the line's length including the
 * newline with *req filled; 0 if no newline yet (and buf is shorter than
 * CONTROL_LINE_MAX); -1 with *err set if the line is too long, holds a
 * control character, or is not a request (a bad forward spec included:
 * *err then points into req).
 */
long control_parse(const char *buf, size_t len, struct control_request *req, const char **err);

/* An answer to check, exit, stop, forward or cancel, as the client reads it. */
struct control_reply {
	bool ok;
	long long pid; /* "pid=N"; -1 if absent */
	int port;      /* "port=N"; -1 if absent */
	bool pending;  /* "ok pending" */
	char why[512]; /* after "error: ", without the newline; "" when ok */
};

/*
 * Reads the first line of an answer. Returns 0, or -1 if it is neither
 * "ok[ ...]" nor "error: ..." (why then quotes the start of it).
 */
int control_reply_parse(const char *text, size_t len, struct control_reply *out);

/* Appends s to out (at most outlen bytes in all, NUL-terminated) as a JSON string. */
void control_json_string(char *out, size_t outlen, const char *s);

#endif
