/*
 * Presence: whether the family machine's porthole is there right now, on a
 * port of the jump host of its own (not the VNC forward, whose visits would
 * show notices on the family desktop, and not the jump host's listening
 * port alone, which a dead session keeps holding until sshd notices).
 *
 * The family side (PresenceListen) answers every connection on that remote
 * port itself with one line, "porthole-presence NAME UNIXTIME\n", then EOF.
 * The helper side (PresenceCheck) opens a channel to that port through its
 * own session every ServerAliveInterval and waits PRESENCE_ANSWER_S for the
 * line.
 */
#ifndef PORTHOLE_PRESENCE_H
#define PORTHOLE_PRESENCE_H

#include <libssh2.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "session.h"

#define PRESENCE_ANSWER_S 5 /* how long a check waits for the line */

/* The family side: answers the channels of the PresenceListen remote forward. */
struct presence_responder;

/* name: the profile or host name it answers with (made one word). */
struct presence_responder *presence_responder_new(struct session *s, const char *name);
/* Takes a channel the server opened for the PresenceListen forward (rforward's handler). */
void presence_responder_take(LIBSSH2_CHANNEL *ch, void *responder);
void presence_responder_free(struct presence_responder *r);

/* The helper side: the periodic check. */
struct presence_check;

struct presence_info {
	int port;
	const char *state;	 /* "online", "offline", "unknown" (never checked) */
	long long last_seen;	 /* time(NULL) of the last answer; 0 never */
	long long offline_since; /* offline: the first failed check after the last answer */
	char why[200];		 /* offline: what the last check saw */
	char name[64];		 /* online: the name the family side answered with */
};

/* interval_s: ServerAliveInterval (-1 unset or 0 off: 15 s). */
struct presence_check *presence_check_new(
    uv_loop_t *loop, struct session *s, const char *host, int port, int interval_s);
/* The session became ready: check at once. */
void presence_check_ready(struct presence_check *p);
void presence_check_info(const struct presence_check *p, struct presence_info *out);
void presence_check_close(struct presence_check *p);

#endif
