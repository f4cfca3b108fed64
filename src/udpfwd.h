/*
 * UDP forwards (-L .../udp and -R .../udp): local UDP sockets, the flow
 * table, and the relay channel that carries every flow's datagrams.
 */
#ifndef PORTHOLE_UDPFWD_H
#define PORTHOLE_UDPFWD_H

#include <stddef.h>
#include <uv.h>

#include "option.h"
#include "session.h"
#include "spec.h"
#include "link.h"

struct udpfwd;
struct relaychan;

/* Called when a -R .../udp cannot be set up on the server; why is one line. */
typedef void (*udpfwd_failed_cb)(const char *why, void *arg);

/* relay is the session's relay channel (relayhub.h), shared with TCP streams; not owned. */
struct udpfwd *udpfwd_new(uv_loop_t *loop, struct session *s, struct relaychan *relay,
    const struct options *opt, udpfwd_failed_cb failed, void *arg);

/*
 * Adds a forward. -L binds its local sockets now (errors as for TCP
 * listeners: 0, -1 runtime, -2 config, with err "-L SPEC: reason"); -R is
 * requested from the relay once the session is up.
 */
int udpfwd_add(struct udpfwd *u, const struct fwd_spec *spec, char *err, size_t errlen);

/* The session is up: start the relay if a remote UDP forward needs it. */
void udpfwd_session_ready(struct udpfwd *u);
/* True once every -R/udp has had its first answer: bound, refused, or the relay failed. */
bool udpfwd_settled(const struct udpfwd *u);

/*
 * SOCKS5 UDP ASSOCIATE: a UDP socket on local's address (port 0), taking
 * datagrams only from client's IP address; each (sender, destination) is a
 * flow through the relay. bound gets the address to tell the client.
 * Returns NULL with err set on failure.
 */
struct udp_assoc *udpfwd_associate(struct udpfwd *u, const struct sockaddr *local,
    const struct sockaddr *client, const char *name, struct sockaddr_storage *bound, char *err,
    size_t errlen);
/* Ends an association (its TCP connection closed): its socket and flows go. */
void udpfwd_dissociate(struct udpfwd *u, struct udp_assoc *a);

/* Stats for each UDP forward (not SOCKS associations); returns how many were written. */
size_t udpfwd_stats(const struct udpfwd *u, struct fwd_stats *out, size_t max);
/* Datagrams dropped on their way to the relay, in all: refused while it was
 * down, or dropped by the channel's scheduler (late, or over the flow's
 * share). The relay's own drops, on the server, are in its log. */
uint64_t udpfwd_relay_drops(const struct udpfwd *u);

/* A live flow that had datagrams dropped, on this side or by the relay. */
struct udpfwd_flow_drops {
	const char *forward; /* the forward's name */
	uint32_t id;
	char source[64];      /* -L: the local sender, "addr:port"; else "" */
	uint64_t drops;	      /* on this side, in all */
	uint64_t refused;     /* of them, while the relay was down */
	uint64_t relay_drops; /* by the relay (its DROPS frames: protocol 1.1) */
};
/* The flows with drops on either side, most first, at most max; returns how many. */
size_t udpfwd_flow_drops(const struct udpfwd *u, struct udpfwd_flow_drops *out, size_t max);

/* Closes every socket and flow; frees u once its handles are closed. */
void udpfwd_close(struct udpfwd *u);

#endif
