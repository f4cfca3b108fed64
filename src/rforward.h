/*
 * Remote forwards (-R): the server listens and opens a channel for every
 * connection it accepts; porthole connects each to the target on this side.
 */
#ifndef PORTHOLE_RFORWARD_H
#define PORTHOLE_RFORWARD_H

#include <uv.h>

#include "session.h"
#include "spec.h"
#include "link.h"

struct rforward;

/* Called when the server refuses to listen; why is one line, without "porthole: ". */
typedef void (*rforward_failed_cb)(struct rforward *rf, const char *why, void *arg);

struct rforward *rforward_new(uv_loop_t *loop, struct session *s, const struct fwd_spec *spec,
    rforward_failed_cb failed, void *arg);
/*
 * persist: a refusal is retried with backoff instead of reported (a service
 * that stays up: the server may still hold the port for our previous
 * connection). A refusal after the server once listened is always retried.
 */
void rforward_set_persist(struct rforward *rf, bool persist);
/*
 * The desktop of this machine: notify shows a notice when a visit through
 * this forward starts and ends; confirm asks first, closing what is not
 * allowed within confirm_timeout seconds (0: 60). See rforward.c.
 */
void rforward_set_desktop(struct rforward *rf, bool notify, bool confirm, unsigned confirm_timeout);
/* Asks the server to listen; call once the session is ready. */
void rforward_start(struct rforward *rf);
void rforward_stats(const struct rforward *rf, struct fwd_stats *out);
/* True once the server has answered the first request: listening, or refused (retrying or not). */
bool rforward_settled(const struct rforward *rf);

/*
 * Called once with the answer to the next listen request: why NULL and the
 * port the server listens on, or why it refused (the failed callback runs
 * too), or why NULL and port -1 when the session went down before it
 * answered (asked again when it is back).
 */
typedef void (*rforward_answer_cb)(struct rforward *rf, const char *why, int port, void *arg);
void rforward_on_answer(struct rforward *rf, rforward_answer_cb cb, void *arg);
/* The port the server listens on; -1 when it does not (yet). */
int rforward_bound_port(const struct rforward *rf);

/*
 * Asks the server to stop listening (cancel-tcpip-forward); connections
 * already forwarded go on, as in ssh. Close rf once rforward_open_count()
 * is 0 (or to end them).
 */
void rforward_cancel(struct rforward *rf);
bool rforward_is_retired(const struct rforward *rf);
unsigned rforward_open_count(const struct rforward *rf);
const struct fwd_spec *rforward_spec(const struct rforward *rf);

/* Closes the links and frees rf (the server stops listening when the session ends). */
void rforward_close(struct rforward *rf);

/*
 * Hands every channel the server opens for this forward to cb instead of
 * connecting it here: no link, no desktop notice, not a visit (PresenceListen).
 * name replaces the spec's in messages and status.
 */
typedef void (*rforward_channel_cb)(LIBSSH2_CHANNEL *ch, void *arg);
void rforward_set_handler(struct rforward *rf, rforward_channel_cb cb, void *arg, const char *name);

#endif
