/*
 * The sessions a run needs: the destination's, and one per ProxyJump hop
 * before it, each riding on a direct-tcpip channel of the one before (the
 * first over TCP or its ProxyCommand). To the rest of porthole a chain looks
 * like one session that is ready or dead: forwards use chain_session(), the
 * last one; the chain starts the hops in order, reports the first one that
 * fails (its message prefixed "via HOP: ") and, on chain_reconnect, rebuilds
 * from the first dead hop outward.
 */
#ifndef PORTHOLE_CHAIN_H
#define PORTHOLE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "option.h"
#include "session.h"

#define CHAIN_MAX_HOPS 16

struct chain;

/*
 * The chain for opt (its ProxyJump expanded: each hop looked up in
 * ~/.ssh/config, whose ProxyJump for the first hop extends the chain
 * further). ev is about the whole chain; its session argument is the last
 * one. Returns NULL with err for a configuration error: a bad ProxyJump in a
 * hop's config, too many hops, or a cycle ("ProxyJump cycle: a -> b -> a").
 */
struct chain *chain_new(uv_loop_t *loop, const struct options *opt, const struct session_events *ev,
    char *err, size_t errlen);
/* The destination's session, for forwards. */
struct session *chain_session(struct chain *c);
void chain_set_reconnect(struct chain *c, bool reconnect);
void chain_start(struct chain *c);
/* After ev->dead: connects again from the first dead hop. */
void chain_reconnect(struct chain *c);
void chain_stop(struct chain *c);
void chain_free(struct chain *c);

/* Jump hosts before the destination (0 without ProxyJump). */
size_t chain_hops(const struct chain *c);
/* Hop i (0 first): its name as written and its session's state. */
const char *chain_hop_name(const struct chain *c, size_t i);
void chain_hop_info(const struct chain *c, size_t i, struct session_info *out);

#endif
