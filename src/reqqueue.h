/*
 * The session's queue of requests to the server (channel opens and
 * tcpip-forward), answered one at a time: libssh2 keeps the state of an
 * open and of a global request in the session, not per call, so a second
 * one started while the first waits would get the first one's answer
 * (shared/notes/libssh2.md section 1, experiment A).
 */
#ifndef PORTHOLE_REQQUEUE_H
#define PORTHOLE_REQQUEUE_H

#include <libssh2.h>
#include <stdbool.h>
#include <uv.h>

#include "session.h"

struct reqqueue;

/* wait_s: ConnectionWait, how long a request waits for a session that is down (-1: 10 s). */
struct reqqueue *reqqueue_new(uv_loop_t *loop, int wait_s);
/* Fails what is queued with why and frees the queue once its timer is closed. */
void reqqueue_free(struct reqqueue *q, const char *why);

/* Appends req. While the session is down (ready false) it waits ConnectionWait at most. */
void reqqueue_add(struct reqqueue *q, struct session_req *req, bool ready);
void reqqueue_cancel(struct reqqueue *q, struct session_req *req);
bool reqqueue_empty(const struct reqqueue *q);

/*
 * Advances the head request on ssh. Returns false when it waits for the
 * server (or nothing is queued); true when one was answered (its done()
 * called), with *orphan set to a channel nobody wants any more and *rc to
 * libssh2's error when it failed. Call again while true.
 */
bool reqqueue_step(struct reqqueue *q, LIBSSH2_SESSION *ssh, LIBSSH2_CHANNEL **orphan, int *rc);

/*
 * The session is gone: answers every request with why, except, with
 * keep_opens, direct-tcpip opens, which wait (ConnectionWait at most) for
 * the next session.
 */
void reqqueue_session_down(struct reqqueue *q, const char *why, bool keep_opens);
/*
 * The quickest channel open on this connection in microseconds (from the
 * request's first send to its answer: at least one round trip through
 * sshd), or -1 before the first.
 */
int64_t reqqueue_open_rtt_us(const struct reqqueue *q);
/* The session is ready: waiting requests no longer expire. */
void reqqueue_session_up(struct reqqueue *q);

#endif
