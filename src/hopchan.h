/*
 * The hop transport: a direct-tcpip channel of another session (a ProxyJump
 * hop) to host:port, carrying the next session's bytes. See transport.h for
 * the contract; the channel is driven from the hop session's pump.
 */
#ifndef PORTHOLE_HOPCHAN_H
#define PORTHOLE_HOPCHAN_H

#include "session.h"
#include "transport.h"

/* hop_name names the hop in messages ("via bastion"). */
struct transport *hopchan_new(uv_loop_t *loop, struct session *hop, const char *hop_name,
    const char *host, int port, const struct transport_events *ev, void *data);

#endif
