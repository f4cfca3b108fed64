/*
 * The ProxyCommand transport: the command (its %-tokens expanded by
 * settings.c) runs under /bin/sh -c as ssh runs it; the session's bytes go
 * to its stdin and come from its stdout. Its stderr is passed on to
 * porthole's, and when it ends, the transport closes with one line giving
 * its exit status and the last line it wrote to stderr. See transport.h for
 * the contract.
 */
#ifndef PORTHOLE_PROXYCMD_H
#define PORTHOLE_PROXYCMD_H

#include "transport.h"

/* A transport through command, which reaches host:port (named in messages). */
struct transport *proxycmd_new(uv_loop_t *loop, const char *command, const char *host, int port,
    const struct transport_events *ev, void *data);

#endif
