/*
 * The session's relay: the one relay channel (relaychan.h) that UDP forwards
 * and TCP streams share, started when either needs it, kept alive, and the
 * OpenVia choice each new -L or -D connection makes between a relay stream
 * and a direct-tcpip channel.
 */
#ifndef PORTHOLE_RELAYHUB_H
#define PORTHOLE_RELAYHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "option.h"
#include "relaychan.h"
#include "rstream.h"
#include "session.h"

struct relayhub;

enum relayhub_via {
	RELAYHUB_CHANNEL, /* a direct-tcpip channel */
	RELAYHUB_STREAM,  /* a relay stream (sent now, or pending while the relay starts) */
	RELAYHUB_REFUSE,  /* OpenVia relay, and the relay cannot do streams: reset it */
};

/* tcp_forwards: the profile has -L or -D forwards, so a probe is worth it at once. */
struct relayhub *relayhub_new(
    uv_loop_t *loop, struct session *s, const struct options *opt, bool tcp_forwards);
/* Stops the relay; streams still open are reset. */
void relayhub_free(struct relayhub *h);

struct relaychan *relayhub_chan(struct relayhub *h);
struct rstreams *relayhub_streams(struct relayhub *h);

/* The session is up: probe (or start again) the relay for TCP streams if they may be used. */
void relayhub_session_ready(struct relayhub *h);

/* How a new TCP connection goes. */
enum relayhub_via relayhub_choose(struct relayhub *h);

/*
 * For porthole status: the relay's state in a few words (the list in
 * porthole(1), STATUS: "up", "starting", "down, starting again soon", "not
 * available on the server", ...), or NULL when nothing used it yet.
 * streams: it does TCP streams now.
 */
const char *relayhub_state(const struct relayhub *h, bool *streams);

#endif
