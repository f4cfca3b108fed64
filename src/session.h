/*
 * One SSH connection and everything libssh2 needs to run it on a libuv loop
 * without blocking: see session.c for the state machine. It runs over a
 * transport (transport.h) that a dialer makes for each connection attempt:
 * TCP or ProxyCommand by default, a channel of a jump host's session for a
 * ProxyJump hop (chain.c).
 *
 * Users of the session (links today; the relay and remote forwards later)
 * register as clients. After every wakeup the session pumps: it flushes its
 * send queue, advances the one channel open in flight, then calls every
 * client's pump so each can move bytes, since any libssh2 call may have
 * queued data for any channel.
 */
#ifndef PORTHOLE_SESSION_H
#define PORTHOLE_SESSION_H

#include <libssh2.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <uv.h>

#include "option.h"
#include "transport.h"

struct session;

struct session_client {
	struct session_client *prev, *next;
	/*
	 * The client's class, which the client keeps up to date from what it
	 * moves (link.c): bulk clients are pumped after the others and may
	 * start a write only while the send queue is under the low mark (see
	 * session.c). Zeroed (interactive) by default.
	 */
	bool bulk;
	/*
	 * What it sends is not by itself interactive activity (the relay
	 * channel, which carries bulk streams too): it calls
	 * session_mark_interactive for what is.
	 */
	bool marks_activity;
	/* Move what can move. True if there is more to do without new I/O. */
	bool (*pump)(struct session_client *c);
	/* The session died: forget the channel (the session frees it). */
	void (*lost)(struct session_client *c);
};

/*
 * What the session asks of the server, one at a time (libssh2 keeps the
 * state of an open and of a global request in the session, not per call):
 * a channel, or a remote listening port. Queued until the session can send
 * it; done() is called once, with why NULL on success.
 */
enum session_req_kind {
	REQ_DIRECT_TCPIP,	/* a channel to host:port, connected by the server */
	REQ_SESSION,		/* a "session" channel */
	REQ_LISTEN,		/* tcpip-forward: the server listens on host:port */
	REQ_DIRECT_STREAMLOCAL, /* a channel to the Unix socket at host (a path), libssh2 >= 1.11 */
};

struct session_req {
	struct session_req *next;
	enum session_req_kind kind;
	char host[256];
	int port;
	char orig_host[64]; /* direct-tcpip: who connected to us */
	int orig_port;
	LIBSSH2_CHANNEL *channel;   /* the result of an open */
	LIBSSH2_LISTENER *listener; /* the result of a listen */
	int bound_port;		    /* the port the server listens on */
	uint64_t queued_at;	    /* loop time it was queued (set by the session) */
	unsigned window; /* REQ_SESSION, REQ_DIRECT_TCPIP: our receive window; 0: libssh2's 2 MiB */
	void (*done)(struct session_req *req, const char *why);
};

struct session_events {
	void (*ready)(struct session *s, void *arg);
	/*
	 * The connection is gone; exit_status is what porthole should exit with.
	 * permanent: the host key or the credentials were refused, so trying
	 * again would only fail again (or worse, ask again).
	 */
	void (*dead)(
	    struct session *s, int exit_status, bool permanent, const char *why, void *arg);
	/* A request was queued while the session is dead: it waits for a reconnect. */
	void (*waiting)(struct session *s, void *arg);
	void *arg;
};

/* What "porthole status" shows about the session. */
struct session_info {
	const char *state;	   /* "connecting", "ready", ... */
	long long connected_since; /* time(NULL) when it last became ready; 0 never */
	int rtt_ms;		   /* round trip of the last keepalive probe; -1 unknown */
	unsigned reconnects;
	long long silent_ms;	 /* ready: ms since the server last sent anything; -1 unknown */
	long long last_error_at; /* time(NULL) of last_error; 0 none */
	char last_error[256];
	char peer[INET6_ADDRSTRLEN + 300];
};

struct session *session_new(
    uv_loop_t *loop, const struct options *opt, const struct session_events *ev);

/* Makes the transport for one connection attempt, with the session's events on it. */
typedef struct transport *(*session_dial_fn)(
    struct session *s, const struct transport_events *ev, void *arg);
/* Replaces the default dialer (ProxyCommand if set, else TCP to HostName:Port). */
void session_set_dialer(struct session *s, session_dial_fn dial, void *arg);
/* Marks a jump host's session: its messages name it, and it logs no "connected to" line. */
void session_set_label(struct session *s, const char *label);
const char *session_host(const struct session *s); /* HostName, else the destination */
int session_port(const struct session *s);

/* Starts connecting (through a transport from the dialer). */
void session_start(struct session *s);
/*
 * With reconnect set, a failure keeps queued channel opens (they wait up to
 * ConnectionWait, 10 s by default, for the next session) instead of failing
 * them.
 */
void session_set_reconnect(struct session *s, bool reconnect);
/* Connects again after a failure (ev->dead), with the same clients waiting. */
void session_reconnect(struct session *s);
/* True while the session is dead and channel opens wait for the next one. */
bool session_has_waiting(const struct session *s);
void session_get_info(const struct session *s, struct session_info *out);
/* Dead: true, with what ev->dead was told. */
bool session_failure(const struct session *s, int *status, bool *permanent);
/*
 * Stops: lets closing channels finish (briefly), disconnects, and closes
 * every handle; ev->dead is not called. free_session is called when the
 * last handle is closed.
 */
void session_stop(struct session *s);
void session_free(struct session *s);

bool session_is_ready(const struct session *s);
/* Not connected and not trying: never started, or dead. */
bool session_is_dead(const struct session *s);
LIBSSH2_SESSION *session_ssh(struct session *s);

void session_add_client(struct session *s, struct session_client *c);
void session_remove_client(struct session *s, struct session_client *c);

/* Queues a request. The session copies nothing: req must live until done or cancelled. */
void session_request(struct session *s, struct session_req *req);
void session_cancel_request(struct session *s, struct session_req *req);

/* Takes the channel to close and free it in the background. */
void session_release_channel(struct session *s, LIBSSH2_CHANNEL *ch);

/* True while the transport's send queue is short enough to add channel data. */
bool session_can_send(const struct session *s);
/* The same for one client: a bulk client's mark is lower (session.c). */
bool session_client_can_send(const struct session *s, const struct session_client *c);
/*
 * True while interactive clients are active: one of them sent something
 * within the last INTERACTIVE_HOLD_MS (session.c). Bulk clients then keep
 * what they have in flight small (link.c).
 */
bool session_interactive_recent(const struct session *s);
/* c sent something interactive just now (see session_client.marks_activity). */
void session_mark_interactive(struct session *s, const struct session_client *c);
/*
 * c turned bulk: what it sent while it looked interactive (a transfer's
 * request, its first bytes) no longer counts, so a transfer alone does not
 * hold itself to the shallow settings for INTERACTIVE_HOLD_MS.
 */
void session_unmark_interactive(struct session *s, const struct session_client *c);
/*
 * Counts what the session received and what libssh2 took from it: a client
 * that saw EAGAIN need not retry until it changes.
 */
unsigned long session_rx_generation(const struct session *s);
/*
 * The path's minimum round trip in microseconds, or -1 while unknown
 * (inflight_path_rtt): the larger of the kernel's for a TCP transport
 * (which sees only as far as the first TCP hop) and the quicker of this
 * connection's quickest channel open and quickest keepalive probe (round
 * trips through sshd, never shorter than the path's).
 */
int64_t session_path_rtt_us(struct session *s);
/*
 * What a bulk link keeps in flight beside interactive traffic at rate
 * (bytes/s, inflight_rate_max), one direction (up: what we send; down: what
 * we let the far side send): about two bandwidth-delay products of the
 * path, within INFLIGHT_FLOOR_UP / _DOWN and INFLIGHT_CEILING (inflight.h).
 */
size_t session_inflight_bound(struct session *s, uint64_t rate, bool up);
/*
 * -vvv, once per change of *last: "<what> up to N KiB (beside interactive
 * traffic | alone; rate KiB/s, RTT us)", what formatted from fmt. Keeps
 * bound in *last.
 */
void session_log_bound(struct session *s, size_t *last, size_t bound, bool shared, uint64_t rate,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/*
 * True when everything received has been handed to libssh2 before the
 * clients are pumped, so a client may ask libssh2 whether its channel has
 * data (cheap) instead of trying to read it.
 */
bool session_drained(const struct session *s);
/* Asks for another pump pass soon (after local I/O made work for the session). */
void session_wake(struct session *s);
/* Reports a libssh2 error seen by a client; transport errors kill the session. */
void session_check_error(struct session *s, int rc);

#endif
