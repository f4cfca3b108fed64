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
/* Asks the server to listen; call once the session is ready. */
void rforward_start(struct rforward *rf);
void rforward_stats(const struct rforward *rf, struct fwd_stats *out);

/* Closes the links and frees rf (the server stops listening when the session ends). */
void rforward_close(struct rforward *rf);

#endif
