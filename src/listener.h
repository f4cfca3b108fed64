/*
 * Local listening sockets for -L and -D forwards. A listener owns its sockets and
 * the links accepted on them.
 */
#ifndef PORTHOLE_LISTENER_H
#define PORTHOLE_LISTENER_H

#include <stddef.h>
#include <uv.h>

#include "option.h"
#include "session.h"
#include "spec.h"
#include "link.h"

struct udpfwd;
struct relayhub;

struct listener;

enum listener_error {
	LISTENER_OK = 0,
	LISTENER_RUNTIME = -1, /* e.g. the port is in use */
	LISTENER_CONFIG = -2,  /* e.g. a non-loopback bind without GatewayPorts */
};

/*
 * Binds and listens for spec; text is the spec as the user wrote it (for
 * messages). On failure err says why, in the form "-L TEXT: reason".
 */
enum listener_error listener_open(uv_loop_t *loop, const struct fwd_spec *spec,
    const struct options *opt, struct session *s, struct udpfwd *udp, struct listener **out,
    char *err, size_t errlen);

void listener_stats(const struct listener *l, struct fwd_stats *out);

/*
 * Closes the listening sockets (-O cancel, -O stop); the connections already
 * accepted go on, as in ssh. Close the listener once listener_open_count()
 * is 0 (or to end them).
 */
void listener_stop_listening(struct listener *l);
bool listener_is_retired(const struct listener *l);
unsigned listener_open_count(const struct listener *l);
/* Connections from now on may go through relay streams (relayhub.h's OpenVia choice). */
void listener_set_relay(struct listener *l, struct relayhub *hub);
const struct fwd_spec *listener_spec(const struct listener *l);

/* Stops accepting, closes every link; the listener frees itself when closed. */
void listener_close(struct listener *l);

#endif
