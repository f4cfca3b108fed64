/*
 * The TCP transport: resolves a host, connects to its addresses in turn
 * (each within a timeout) and then carries bytes over the socket with one
 * uv_poll_t. See transport.h for the contract.
 */
#ifndef PORTHOLE_TCPDIAL_H
#define PORTHOLE_TCPDIAL_H

#include "option.h"
#include "transport.h"

/*
 * A transport to host:port; opt gives the keepalive schedule the socket
 * keeps (ServerAliveInterval x ServerAliveCountMax) and must outlive it.
 */
struct transport *tcpdial_new(uv_loop_t *loop, const char *host, int port,
    const struct options *opt, const struct transport_events *ev, void *data);

#endif
