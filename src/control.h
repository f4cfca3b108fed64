/*
 * The control protocol, spoken on each running porthole's control socket
 * (ControlPath). A client sends one request line and reads the answer
 * until the server closes:
 *
 *   status        the state of the session and every forward, as text
 *   status json   the same as one JSON object
 *   ping          "pong"
 *
 * Parsing is pure; the socket lives in ctlsock.c.
 */
#ifndef PORTHOLE_CONTROL_H
#define PORTHOLE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_LINE_MAX 256

enum control_verb {
	CONTROL_STATUS,
	CONTROL_PING,
};

struct control_request {
	enum control_verb verb;
	bool json;
};

/*
 * Looks for one complete request line (ending in "\n", an optional "\r"
 * before it) at the start of buf. Returns the line's length including the
 * newline with *req filled; 0 if no newline yet (and buf is shorter than
 * CONTROL_LINE_MAX); -1 with *err set if the line is too long, holds a
 * control character, or is not a request.
 */
long control_parse(const char *buf, size_t len, struct control_request *req, const char **err);

/* Appends s to out (at most outlen bytes in all, NUL-terminated) as a JSON string. */
void control_json_string(char *out, size_t outlen, const char *s);

#endif
