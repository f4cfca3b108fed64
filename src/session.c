/*
 * The SSH session: libssh2 in non-blocking mode over a byte transport
 * (transport.h: TCP, a ProxyCommand's pipes, or a channel of a jump host's
 * session), pumped once per loop iteration.
 *
 * States:
 *
 *   CONNECTING --transport up--> HANDSHAKE --kex done--> (host key checked,
 *   may prompt) --> AUTH --authenticated--> READY
 *
 *   any state --error, transport closed, peer silent--> DEAD (events->dead)
 *   any state --session_stop--> CLOSING --channels closed or 1 s--> DEAD
 *   DEAD --session_reconnect--> CONNECTING (a new transport)
 *
 * I/O rules (shared/notes/libssh2.md):
 *  - libssh2 sends through ssh_send(), which never returns EAGAIN: the
 *    transport takes every byte, queueing what cannot go out at once. No
 *    packet is ever half-sent, so no libssh2 call is left needing a retry
 *    for the transport's sake.
 *  - libssh2 receives through ssh_recv(), which serves bytes from rx; the
 *    transport fills rx while it is under RX_MAX. So libssh2 calls cost no
 *    syscalls, and unread input never makes the loop spin.
 *  - libssh2 1.11 may answer EAGAIN while rx still holds bytes it has not
 *    read (a whole-packet cipher whose packet straddles its own buffer):
 *    a pass that leaves rx non-empty after consuming some runs again, and
 *    everything received is decoded before the open in flight is retried.
 *  - One channel open in flight at a time (reqqueue.c); clients are pumped
 *    after every wakeup, since any libssh2 call may have queued data for
 *    any channel.
 *
 * Scheduling (issue 16: small writes beside a bulk transfer): whatever is
 * queued for the transport goes out in order, so a small packet waits for
 * everything queued before it. Three things keep that wait short:
 *  - each client has a class (session_client.bulk, which link.c keeps from
 *    what the link moves); each pass pumps the interactive clients (links
 *    sending little, the relay channel, remote forwards, a jump host's
 *    channel) first, then the bulk ones;
 *  - an interactive client that sent something (tx_total moved during its
 *    pump) makes the session "interactive" for INTERACTIVE_HOLD_MS (the
 *    relay channel instead says when: datagrams, and the bytes of streams
 *    whose links are interactive, not a transfer's data or credit). A link
 *    that turns bulk takes its own marks back (a transfer's request and
 *    first bytes look interactive), so a transfer alone never holds itself
 *    to what follows. Then,
 *    and only then (a lone bulk transfer keeps its deep buffers, which it
 *    needs for its speed when porthole is off the CPU for a while):
 *     - bulk clients may START a channel write only while the queue is
 *       under TX_BULK, the others still under TX_HIGH;
 *     - the transport keeps its own queue short (transport_shallow: on TCP,
 *       TCP_NOTSENT_LOWAT), so the rest waits here;
 *     - bulk links keep what they have in flight small (link.c: about two
 *       bandwidth-delay products of the path, session_path_rtt_us), since
 *       bytes past our queue wait in the kernels and in sshd, in order,
 *       just the same.
 * The marks only decide whether a write may start: a write libssh2 began is
 * always taken whole (see ssh_send), so the queue may pass a mark by one
 * channel_write (at most 32 KiB) per client.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "algo.h"
#include "algolist.h"
#include "auth.h"
#include "buf.h"
#include "hostkey.h"
#include "inflight.h"
#include "kexreport.h"
#include "liveness.h"
#include "log.h"
#include "proxycmd.h"
#include "reqqueue.h"
#include "session.h"
#include "tcpdial.h"
#include "xmalloc.h"

#define RX_MAX (256 * 1024)	/* stop reading the transport above this */
#define TX_HIGH (1024 * 1024)	/* interactive clients stop adding channel data above this */
#define TX_BULK (256 * 1024)	/* bulk clients stop adding channel data above this */
#define INTERACTIVE_HOLD_MS 500 /* interactive clients count as active this long after sending */
#define INTERACTIVE_MARKS 4	/* clients remembered as having sent something interactive */
#define CLOSE_GRACE_MS 1000	/* how long stop waits for channels to close */
#define SESSION_REFUSED 256	/* session_fail: host key or credentials refused (exit 255) */

enum session_state {
	S_IDLE,
	S_CONNECTING,
	S_HANDSHAKE,
	S_AUTH,
	S_READY,
	S_CLOSING,
	S_DEAD,
};

static const char *const state_names[] = {
    "idle", "connecting", "handshake", "auth", "ready", "closing", "dead"};

struct dead_channel {
	struct dead_channel *next;
	LIBSSH2_CHANNEL *ch;
};

struct session {
	uv_loop_t *loop;
	const struct options *opt;
	struct session_events ev;
	enum session_state state;
	const char *host; /* HostName, else the destination */
	char *user;
	int port;
	struct hostkey_policy hostkeys;

	session_dial_fn dial;
	void *dial_arg;
	struct transport *t; /* NULL while idle or dead */
	uv_timer_t timer;    /* close grace */
	uv_check_t check;    /* pump after every loop iteration */
	uv_idle_t idle;	     /* keeps the loop from blocking while work remains */
	char peer[sizeof(((struct transport *)0)->peer)];

	LIBSSH2_SESSION *ssh;
	struct kexreport *kex; /* the server's offer, read while handshaking */
	char hostkey_prefs[ALGOLIST_MAX];
	struct auth *auth;
	char server_said[256]; /* the server's SSH_MSG_DISCONNECT text, if it sent one */
	struct buf rx;
	int io_error;	     /* errno of a failed transport */
	bool rx_eof;	     /* the transport ended */
	char gone_why[1024]; /* ... and what it said about it */
	bool hard_close;     /* tearing down: the transport reads as closed */
	unsigned long rx_gen;
	bool wake; /* session_wake() was called: pump again without waiting for I/O */

	struct reqqueue *requests;
	/*
	 * An idle "session" channel (nothing is ever run on it). Reading the
	 * transport needs some channel to call libssh2 through; with this one,
	 * every byte received is handed to libssh2 once per wakeup even when no
	 * link exists or every link is stalled, so global requests and
	 * keepalives from the server are always answered, and each link can
	 * then ask cheaply whether its channel has data.
	 */
	struct session_req control_req;
	LIBSSH2_CHANNEL *control;

	struct dead_channel *dead;
	struct session_client clients; /* list head */
	struct liveness *live;
	bool keep_requests; /* a reconnect follows: channel opens wait for it */
	bool reconnect;
	int fail_status;
	bool fail_permanent;
	struct session_info info;
	struct session_client *pump_next;
	uint64_t tx_total; /* bytes libssh2 has sent through the transport */
	struct {
		const struct session_client *c;
		uint64_t at;	    /* loop time it last sent something interactive; 0: retracted */
	} marks[INTERACTIVE_MARKS]; /* the clients that did most recently */
	bool shallow;		    /* the transport was asked to keep its queue short */
	int64_t path_rtt_us;	    /* session_path_rtt_us, as of path_rtt_at */
	uint64_t path_rtt_at;	    /* loop time it was worked out; 0 never */
	char *label; /* a jump host's name, for its messages; NULL for the destination */
};

static void session_fail(struct session *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void close_handles(struct session *s);
static void idle_cb(uv_idle_t *h);
static void control_open_done(struct session_req *req, const char *why);
static void start_ssh(struct session *s);

static void
set_state(struct session *s, enum session_state to)
{
	log_debug2("session %s: %s -> %s", s->host, state_names[s->state], state_names[to]);
	s->state = to;
}

/* ---- the transport, below libssh2 ---- */

/* libssh2's transport send: never EAGAIN on the session's transport. */
static ssize_t
ssh_send(libssh2_socket_t fd, const void *data, size_t len, int flags, void **abstract)
{
	struct session *s = *abstract;

	if (s->t == NULL || fd != s->t->fd) {
		/* The agent's socket goes through here too. */
		ssize_t n = send(fd, data, len, flags | MSG_NOSIGNAL);
		return n < 0 ? -errno : n;
	}
	if (s->io_error)
		return -s->io_error;
	if (s->hard_close)
		return (ssize_t)len;
	transport_write(s->t, data, len);
	s->tx_total += len;
	return (ssize_t)len;
}

/* libssh2's transport receive: served from rx, which the transport fills. */
static ssize_t
ssh_recv(libssh2_socket_t fd, void *data, size_t len, int flags, void **abstract)
{
	struct session *s = *abstract;
	size_t n;

	if (s->t == NULL || fd != s->t->fd) {
		ssize_t r = recv(fd, data, len, flags);
		return r < 0 ? -errno : r;
	}
	if (s->hard_close)
		return 0;
	if (buf_len(&s->rx) == 0) {
		if (s->io_error)
			return -s->io_error;
		return s->rx_eof ? 0 : -EAGAIN;
	}
	n = buf_len(&s->rx) < len ? buf_len(&s->rx) : len;
	memcpy(data, buf_head(&s->rx), n);
	buf_consume(&s->rx, n);
	s->rx_gen++; /* libssh2 may decode packets for any channel from these */
	return (ssize_t)n;
}

static void
transport_up_cb(struct transport *t)
{
	struct session *s = t->data;

	snprintf(s->peer, sizeof(s->peer), "%s", t->peer);
	start_ssh(s);
	session_wake(s);
}

static void
transport_alloc_cb(struct transport *t, size_t suggested, char **base, size_t *len)
{
	struct session *s = t->data;

	*base = buf_reserve(&s->rx, suggested, len);
}

static void
transport_received_cb(struct transport *t, size_t n)
{
	struct session *s = t->data;

	if (s->kex != NULL)
		kexreport_feed(s->kex, buf_head(&s->rx) + buf_len(&s->rx), n);
	buf_commit(&s->rx, n);
	s->rx_gen++;
	liveness_saw_rx(s->live);
	if (buf_len(&s->rx) >= RX_MAX)
		transport_read(t, false);
	session_wake(s);
}

static void
transport_drained_cb(struct transport *t)
{
	session_wake(t->data);
}

static void
transport_closed_cb(struct transport *t, int err, const char *why)
{
	struct session *s = t->data;

	if (s->state == S_CONNECTING) {
		session_fail(s, 255, "%s", why);
		return;
	}
	if (err != 0)
		s->io_error = err;
	else
		s->rx_eof = true;
	snprintf(s->gone_why, sizeof(s->gone_why), "%s", why);
	s->rx_gen++;
	session_wake(s);
}

static const struct transport_events transport_events = {
    .up = transport_up_cb,
    .alloc = transport_alloc_cb,
    .received = transport_received_cb,
    .drained = transport_drained_cb,
    .closed = transport_closed_cb,
};

/* The transport of a direct connection: ProxyCommand if set, else TCP. */
static struct transport *
default_dial(struct session *s, const struct transport_events *ev, void *arg)
{
	const char *cmd = s->opt->proxy_command_run;

	if (cmd != NULL && strcmp(cmd, "none") != 0)
		return proxycmd_new(s->loop, cmd, s->host, s->port, ev, s);
	return tcpdial_new(s->loop, s->host, s->port, s->opt, ev, s);
}

/* ---- failing ---- */

static void
release_dead(struct session *s, struct dead_channel *d)
{
	libssh2_channel_free(d->ch);
	free(d);
}

/* Drops every channel libssh2 still holds for a session that is going away. */
static void
teardown_ssh(struct session *s)
{
	struct dead_channel *d;

	s->hard_close = true;
	s->control = NULL; /* freed with the session */
	while ((d = s->dead) != NULL) {
		s->dead = d->next;
		release_dead(s, d);
	}
	kexreport_free(s->kex);
	s->kex = NULL;
	if (s->ssh != NULL) {
		auth_free(s->auth);
		s->auth = NULL;
		libssh2_session_free(s->ssh);
		s->ssh = NULL;
	}
	if (s->t != NULL) {
		transport_shutdown(s->t);
		transport_close(s->t);
		s->t = NULL;
	}
}

static void
lose_clients(struct session *s)
{
	struct session_client *c;

	while ((c = s->clients.next) != &s->clients) {
		session_remove_client(s, c);
		c->lost(c);
	}
}

static void
session_fail(struct session *s, int status, const char *fmt, ...)
{
	char why[2048];
	va_list ap;

	if (s->state == S_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(s->info.last_error, sizeof(s->info.last_error), "%.*s",
	    (int)sizeof(s->info.last_error) - 1, why);
	s->info.last_error_at = (long long)time(NULL);
	set_state(s, S_DEAD);
	bool permanent = status == SESSION_REFUSED;
	if (permanent)
		status = 255;
	s->fail_status = status;
	s->fail_permanent = permanent;
	s->keep_requests = s->reconnect && !permanent;
	reqqueue_session_down(s->requests, "the SSH session is gone", s->keep_requests);
	lose_clients(s);
	teardown_ssh(s);
	liveness_stop(s->live);
	uv_timer_stop(&s->timer);
	uv_idle_stop(&s->idle);
	if (s->ev.dead != NULL)
		s->ev.dead(s, status, permanent, why, s->ev.arg);
}

static const char *
last_error(struct session *s)
{
	char *msg = NULL;
	if (s->ssh == NULL)
		return "no session";
	libssh2_session_last_error(s->ssh, &msg, NULL, 0);
	return msg != NULL && *msg != '\0' ? msg : "unknown error";
}

static bool
is_transport_error(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_ENCRYPT:
	case LIBSSH2_ERROR_BAD_SOCKET:
		return true;
	default:
		return false;
	}
}

static const char *
connection_gone_reason(struct session *s, char *buf, size_t len)
{
	if (s->gone_why[0] != '\0')
		snprintf(buf, len, "%s", s->gone_why);
	else if (s->io_error)
		snprintf(buf, len, "%s", strerror(s->io_error));
	else if (s->rx_eof)
		snprintf(buf, len, "closed by the server");
	else
		snprintf(buf, len, "%s", last_error(s));
	return buf;
}

void
session_check_error(struct session *s, int rc)
{
	char why[1100];
	if (s->state == S_DEAD || !is_transport_error(rc))
		return;
	if (s->state == S_CLOSING)
		return;
	session_fail(s, 255, "connection to %s lost: %s", s->peer,
	    connection_gone_reason(s, why, sizeof(why)));
}

static void
liveness_gone_cb(void *arg, const char *why)
{
	struct session *s = arg;

	if (s->state == S_READY)
		session_fail(s, 255, "%s is %s", s->peer, why);
}

static void
liveness_wake_cb(void *arg)
{
	session_wake(arg);
}

/* ---- handshake and authentication ---- */

/* The server's reason for a disconnect ("Too many authentication failures"), kept for errors. */
static void
ssh_disconnect(LIBSSH2_SESSION *ssh, int reason, const char *message, int message_len,
    const char *language, int language_len, void **abstract)
{
	struct session *s = *abstract;
	size_t n = 0;

	(void)ssh;
	(void)reason;
	(void)language;
	(void)language_len;
	for (int i = 0; i < message_len && n + 1 < sizeof(s->server_said); i++) {
		unsigned char c = (unsigned char)message[i];
		s->server_said[n++] = c < ' ' || c == 0x7f ? '?' : (char)c;
	}
	s->server_said[n] = '\0';
	log_debug("the server disconnected: %s", s->server_said);
}

static void
start_ssh(struct session *s)
{
	s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (s->ssh == NULL) {
		session_fail(s, 255, "cannot create an SSH session");
		return;
	}
	libssh2_session_set_blocking(s->ssh, 0);
#if LIBSSH2_VERSION_NUM >= 0x010b01
	libssh2_session_callback_set2(
	    s->ssh, LIBSSH2_CALLBACK_SEND, (libssh2_cb_generic *)ssh_send);
	libssh2_session_callback_set2(
	    s->ssh, LIBSSH2_CALLBACK_RECV, (libssh2_cb_generic *)ssh_recv);
	libssh2_session_callback_set2(
	    s->ssh, LIBSSH2_CALLBACK_DISCONNECT, (libssh2_cb_generic *)ssh_disconnect);
#else
	/* The 1.10 API takes function pointers as void *; a union converts them. */
	union {
		ssize_t (*send)(libssh2_socket_t, const void *, size_t, int, void **);
		ssize_t (*recv)(libssh2_socket_t, void *, size_t, int, void **);
		void *p;
	} cb;
	cb.send = ssh_send;
	libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_SEND, cb.p);
	cb.recv = ssh_recv;
	libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_RECV, cb.p);
	union {
		void (*disconnect)(
		    LIBSSH2_SESSION *, int, const char *, int, const char *, int, void **);
		void *p;
	} dcb;
	dcb.disconnect = ssh_disconnect;
	libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_DISCONNECT, dcb.p);
#endif
	algo_apply(s->ssh, s->opt);
	if (s->opt->compression == 1)
		libssh2_session_flag(s->ssh, LIBSSH2_FLAG_COMPRESS, 1);
	hostkey_set_prefs(s->ssh, s->opt->hostkey_algorithms, s->opt->hostkey_algorithms_default,
	    &s->hostkeys, s->hostkey_prefs, sizeof(s->hostkey_prefs));
	kexreport_free(s->kex);
	s->kex = kexreport_new();
	set_state(s, S_HANDSHAKE);
}

static void
step_handshake(struct session *s)
{
	char err[1024];
	int rc = libssh2_session_handshake(s->ssh, s->t->fd);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return;
	if (rc != 0) {
		char why[ALGOLIST_MAX * 2 + 256];
		/*
		 * When nothing matches, sshd may close the connection before
		 * libssh2 says so itself: the server's KEXINIT tells either way.
		 */
		if (kexreport_explain(
			s->kex, s->opt, s->hostkey_prefs, s->peer, why, sizeof(why)) == 0)
			session_fail(s, 255, "%s", why);
		else if (s->rx_eof || s->io_error)
			session_fail(s, 255, "connection to %s closed during handshake: %s",
			    s->peer, connection_gone_reason(s, why, sizeof(why)));
		else
			session_fail(
			    s, 255, "SSH handshake with %s failed: %s", s->peer, last_error(s));
		return;
	}
	const char *comp = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_COMP_CS);
	log_verbose("kex %s, host key %s, cipher %s, MAC %s, compression %s%s",
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_KEX),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_HOSTKEY),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_CRYPT_CS),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_MAC_CS), comp ? comp : "none",
	    kexreport_strict(s->kex) && algo_strict_kex() ? ", strict kex" : "");
	if (s->opt->compression == 1 && (comp == NULL || strcmp(comp, "none") == 0))
		log_info("Compression: %s",
		    algo_has_zlib() ? "the server does not compress"
				    : "this libssh2 was built without zlib");
	kexreport_free(s->kex);
	s->kex = NULL;
	if (hostkey_verify(s->ssh, &s->hostkeys, err, sizeof(err)) == -1) {
		session_fail(s, SESSION_REFUSED, "%s", err);
		return;
	}
	s->server_said[0] = '\0';
	s->auth = auth_new(s->ssh, s->opt, s->user, s->server_said);
	set_state(s, S_AUTH);
}

static void
step_auth(struct session *s)
{
	char err[1024];
	int rc = auth_step(s->auth, err, sizeof(err));

	if (rc == 1)
		return;
	if (rc == -1) {
		session_fail(s, SESSION_REFUSED, "%s@%s: %s", s->user, s->host, err);
		return;
	}
	auth_free(s->auth);
	s->auth = NULL;
	set_state(s, S_READY);
	if (s->label != NULL)
		log_verbose("jump host %s: authenticated to %s as %s", s->label, s->peer, s->user);
	else
		log_info("connected to %s as %s", s->peer, s->user);
	s->info.connected_since = time(NULL);
	reqqueue_session_up(s->requests);
	liveness_start(s->live);
	s->path_rtt_at = 0;
	s->control_req.kind = REQ_SESSION;
	s->control_req.done = control_open_done;
	session_request(s, &s->control_req);
	if (s->ev.ready != NULL)
		s->ev.ready(s, s->ev.arg);
}

/* ---- channels ---- */

static void
control_open_done(struct session_req *req, const char *why)
{
	struct session *s = container_of(req, struct session, control_req);

	if (why != NULL) {
		log_debug("no control channel (%s); links read the transport themselves", why);
		return;
	}
	log_debug2("control channel open");
	s->control = req->channel;
}

/* Hands everything received to libssh2, through the control channel. */
static void
drain(struct session *s)
{
	int rc;

	/*
	 * Even with rx empty: libssh2 may hold whole packets it read ahead
	 * (while opening a channel, say) that no one has decoded yet.
	 */
	if (s->control == NULL)
		return;
	/*
	 * libssh2 1.11 with a cipher that needs a whole packet before it can
	 * decrypt (chacha20-poly1305, aes-gcm) answers EAGAIN once when its own
	 * 35,000-byte buffer ends inside a packet, without reading further, even
	 * though rx holds the rest. The transport is no longer read (the bytes
	 * are here), so nothing would call again: keep calling while it makes
	 * progress.
	 */
	size_t left;
	do {
		left = buf_len(&s->rx);
		rc = libssh2_channel_wait_eof(s->control);
	} while (rc == LIBSSH2_ERROR_EAGAIN && buf_len(&s->rx) > 0 && buf_len(&s->rx) < left);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return;
	if (rc == 0) {
		log_debug("the server closed the control channel");
		session_release_channel(s, s->control);
		s->control = NULL;
		return;
	}
	session_check_error(s, rc);
}

bool
session_drained(const struct session *s)
{
	return s->control != NULL;
}

static void
step_requests(struct session *s)
{
	LIBSSH2_CHANNEL *orphan;
	int rc;

	while (s->state == S_READY && reqqueue_step(s->requests, s->ssh, &orphan, &rc)) {
		if (orphan != NULL)
			session_release_channel(s, orphan);
		if (rc != 0)
			session_check_error(s, rc);
	}
}

void
session_request(struct session *s, struct session_req *req)
{
	reqqueue_add(s->requests, req, s->state == S_READY);
	session_wake(s);
	if (s->state == S_DEAD && s->ev.waiting != NULL)
		s->ev.waiting(s, s->ev.arg);
}

bool
session_has_waiting(const struct session *s)
{
	return s->state == S_DEAD && s->requests != NULL && !reqqueue_empty(s->requests);
}

void
session_cancel_request(struct session *s, struct session_req *req)
{
	reqqueue_cancel(s->requests, req);
}

void
session_release_channel(struct session *s, LIBSSH2_CHANNEL *ch)
{
	struct dead_channel *d;

	if (s->ssh == NULL || ch == NULL)
		return;
	d = xmalloc(sizeof(*d));
	d->ch = ch;
	d->next = s->dead;
	s->dead = d;
	session_wake(s);
}

/* Retries closing channels. */
static void
reap_channels(struct session *s)
{
	struct dead_channel **pp = &s->dead;

	while (*pp != NULL) {
		struct dead_channel *d = *pp;
		int rc = libssh2_channel_free(d->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		free(d);
		if (rc != 0)
			session_check_error(s, rc);
		if (s->state == S_DEAD)
			return;
	}
}

/* One pass over the clients of one class, in registration order. */
static bool
pump_class(struct session *s, bool bulk)
{
	bool more = false;

	for (struct session_client *c = s->clients.next; c != &s->clients; c = s->pump_next) {
		s->pump_next = c->next;
		if (c->bulk == bulk) {
			uint64_t sent = s->tx_total;
			more |= c->pump(c);
			/*
			 * Activity, if c sent something and is still interactive
			 * after its pump (a new bulk link turns bulk in the pump
			 * that moves its first BULK_BYTES). c is still ours if it
			 * is still linked: pump_next never points at a removed one.
			 */
			if (!bulk && s->tx_total != sent && s->pump_next->prev == c && !c->bulk &&
			    !c->marks_activity)
				session_mark_interactive(s, c);
		}
		if (s->state == S_DEAD)
			return false;
	}
	s->pump_next = NULL;
	return more;
}

/*
 * Interactive clients first, then bulk ones: whatever the interactive ones
 * write goes into the send queue ahead of this pass's bulk data. A client
 * whose class changes during the first pass may be pumped twice; that is
 * harmless (a pump moves what can move).
 */
static bool
pump_clients(struct session *s)
{
	bool more = pump_class(s, false);

	if (s->state == S_DEAD)
		return false;
	return pump_class(s, true) || more;
}

void
session_add_client(struct session *s, struct session_client *c)
{
	c->prev = s->clients.prev;
	c->next = &s->clients;
	s->clients.prev->next = c;
	s->clients.prev = c;
}

void
session_remove_client(struct session *s, struct session_client *c)
{
	if (c->next == NULL)
		return;
	if (s->pump_next == c)
		s->pump_next = c->next;
	/* Its marks still count for their time; a client later at its address is another. */
	for (size_t i = 0; i < INTERACTIVE_MARKS; i++)
		if (s->marks[i].c == c)
			s->marks[i].c = NULL;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

/* ---- the pump ---- */

/* The transport's own queue short while something interactive is active (see the top). */
static void
set_shallow(struct session *s)
{
	bool want = session_interactive_recent(s);

	if (s->t != NULL && want != s->shallow) {
		transport_shallow(s->t, want);
		s->shallow = want;
	}
}

static void
step_ready(struct session *s, bool *more)
{
	/* Decode what arrived first: the reply an open waits for may be in it. */
	drain(s);
	if (s->state == S_READY)
		step_requests(s);
	if (s->state == S_READY)
		drain(s);
	if (s->state == S_READY)
		session_check_error(s, liveness_step(s->live, s->ssh, s->control));
	if (s->state == S_READY) {
		unsigned long gen = s->rx_gen;
		*more |= pump_clients(s);
		set_shallow(s);
		/*
		 * A client's libssh2 call decoded packets: some may be for a
		 * client pumped before it, which saw nothing then. Pass again.
		 */
		*more |= s->rx_gen != gen;
	}
	if (s->state == S_READY)
		reap_channels(s);
}

/* S_CLOSING: true once the last channel closed and the session is gone. */
static bool
step_closing(struct session *s)
{
	reap_channels(s);
	if (s->dead != NULL || s->state != S_CLOSING)
		return false;
	set_state(s, S_DEAD);
	lose_clients(s);
	libssh2_session_disconnect(s->ssh, "porthole stopped");
	teardown_ssh(s);
	close_handles(s);
	return true;
}

static void
pump(struct session *s)
{
	bool more = false;
	char why[1100];

	if (s->ssh == NULL)
		return;
	s->wake = false;
	size_t rx_before = buf_len(&s->rx);
	/* A step that changes state made no I/O of its own yet: run the next one now. */
	while (s->state == S_HANDSHAKE || s->state == S_AUTH) {
		enum session_state was = s->state;
		if (s->state == S_HANDSHAKE)
			step_handshake(s);
		else
			step_auth(s);
		if (s->state == was)
			break;
	}
	if (s->state == S_READY)
		step_ready(s, &more);
	else if (s->state == S_CLOSING && step_closing(s))
		return;
	if (s->state == S_DEAD || s->ssh == NULL)
		return;
	/*
	 * Bytes still in rx after an EOF are of no use without a connection to
	 * answer on (the drain gave libssh2 its chance to log a DISCONNECT).
	 */
	if ((s->io_error || s->rx_eof) && s->state != S_CLOSING) {
		session_fail(s, 255, "connection to %s %s: %s", s->peer,
		    s->state == S_READY ? "lost" : "closed",
		    connection_gone_reason(s, why, sizeof(why)));
		return;
	}
	if (s->t != NULL)
		transport_read(s->t, buf_len(&s->rx) < RX_MAX && !s->rx_eof && !s->io_error);
	/*
	 * Bytes left in rx after a pass that consumed some: libssh2 stopped
	 * early (see drain), and no transport event will bring us back for them.
	 */
	if (buf_len(&s->rx) > 0 && buf_len(&s->rx) < rx_before)
		more = true;
	/* A wake asked for during this pass (a frame queued in a callback) still counts. */
	if (more || s->wake)
		uv_idle_start(&s->idle, idle_cb);
	else
		uv_idle_stop(&s->idle);
}

static void
idle_cb(uv_idle_t *h)
{
	/* Nothing: its only job is to keep the loop from blocking before check_cb. */
	(void)h;
}

void
session_wake(struct session *s)
{
	if (s->state != S_DEAD && !uv_is_closing((uv_handle_t *)&s->idle)) {
		s->wake = true;
		uv_idle_start(&s->idle, idle_cb);
	}
}

static void
check_cb(uv_check_t *h)
{
	pump(h->data);
}

/* ---- lifecycle ---- */

static void
timer_cb(uv_timer_t *t)
{
	struct session *s = t->data;

	if (s->state == S_CLOSING) {
		log_debug("channels did not close in time; disconnecting");
		set_state(s, S_DEAD);
		lose_clients(s);
		teardown_ssh(s);
		close_handles(s);
	}
}

struct session *
session_new(uv_loop_t *loop, const struct options *opt, const struct session_events *ev)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->opt = opt;
	s->ev = *ev;
	s->dial = default_dial;
	s->host = opt->host_name != NULL ? opt->host_name : opt->host;
	s->port = opt->port > 0 ? opt->port : 22;
	hostkey_policy_init(&s->hostkeys, opt, s->host, s->port);
	if (opt->user != NULL) {
		s->user = xstrdup(opt->user);
	} else {
		const char *u = getenv("USER");
		s->user = xstrdup(u != NULL && *u != '\0' ? u : "root");
	}
	s->clients.next = s->clients.prev = &s->clients;
	buf_init(&s->rx);
	s->requests = reqqueue_new(loop, opt->connection_wait);
	struct liveness_events lev = {liveness_gone_cb, liveness_wake_cb, s};
	s->live = liveness_new(loop, opt->server_alive_interval, opt->server_alive_count_max, &lev);
	uv_timer_init(loop, &s->timer);
	uv_check_init(loop, &s->check);
	uv_idle_init(loop, &s->idle);
	s->timer.data = s->check.data = s->idle.data = s;
	uv_check_start(&s->check, check_cb);
	return s;
}

void
session_set_label(struct session *s, const char *label)
{
	free(s->label);
	s->label = label != NULL ? xstrdup(label) : NULL;
}

void
session_set_dialer(struct session *s, session_dial_fn dial, void *arg)
{
	s->dial = dial;
	s->dial_arg = arg;
}

const char *
session_host(const struct session *s)
{
	return s->host;
}

int
session_port(const struct session *s)
{
	return s->port;
}

void
session_start(struct session *s)
{
	set_state(s, S_CONNECTING);
	s->gone_why[0] = '\0';
	s->shallow = false; /* a new transport starts with the system's defaults */
	s->t = s->dial(s, &transport_events, s->dial_arg);
	if (s->t == NULL) {
		session_fail(s, 255, "cannot connect to %s: no transport", s->host);
		return;
	}
	s->t->data = s;
	transport_start(s->t);
}

static void
close_handles(struct session *s)
{
	if (!uv_is_closing((uv_handle_t *)&s->timer)) {
		uv_close((uv_handle_t *)&s->timer, NULL);
		uv_close((uv_handle_t *)&s->check, NULL);
		uv_close((uv_handle_t *)&s->idle, NULL);
		liveness_free(s->live);
		s->live = NULL;
		reqqueue_free(s->requests, "porthole is stopping");
		s->requests = NULL;
	}
}

void
session_set_reconnect(struct session *s, bool reconnect)
{
	s->reconnect = reconnect;
}

void
session_reconnect(struct session *s)
{
	if (s->state != S_DEAD || uv_is_closing((uv_handle_t *)&s->timer))
		return;
	s->info.reconnects++;
	buf_free(&s->rx);
	s->io_error = 0;
	s->rx_eof = false;
	s->hard_close = false;
	session_start(s);
}

void
session_get_info(const struct session *s, struct session_info *out)
{
	*out = s->info;
	out->state = state_names[s->state];
	out->rtt_ms = s->live != NULL ? liveness_rtt(s->live) : -1;
	out->silent_ms = -1;
	if (s->state == S_READY && s->live != NULL) {
		out->silent_ms = (long long)liveness_silent_ms(s->live);
		/* "ready" only while the server answers: a dead link says so at once. */
		if (liveness_stalled(s->live))
			out->state = "not responding";
	}
	snprintf(out->peer, sizeof(out->peer), "%s", s->peer);
}

bool
session_failure(const struct session *s, int *status, bool *permanent)
{
	if (s->state != S_DEAD)
		return false;
	*status = s->fail_status;
	*permanent = s->fail_permanent;
	return true;
}

void
session_stop(struct session *s)
{
	s->reconnect = false;
	s->keep_requests = false;
	switch (s->state) {
	case S_DEAD:
		/* Dead but kept for a reconnect: now it is really over. */
		if (s->requests != NULL)
			reqqueue_session_down(s->requests, "porthole is stopping", false);
		close_handles(s);
		return;
	case S_READY:
		reqqueue_session_down(s->requests, "porthole is stopping", false);
		lose_clients(s);
		if (s->control != NULL) {
			session_release_channel(s, s->control);
			s->control = NULL;
		}
		set_state(s, S_CLOSING);
		uv_timer_start(&s->timer, timer_cb, CLOSE_GRACE_MS, 0);
		session_wake(s);
		return;
	default:
		set_state(s, S_DEAD);
		reqqueue_session_down(s->requests, "porthole is stopping", false);
		lose_clients(s);
		teardown_ssh(s);
		close_handles(s);
		return;
	}
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	teardown_ssh(s);
	buf_free(&s->rx);
	hostkey_policy_free(&s->hostkeys);
	free(s->user);
	free(s->label);
	free(s);
}

bool
session_is_ready(const struct session *s)
{
	return s->state == S_READY;
}

bool
session_is_dead(const struct session *s)
{
	return s->state == S_DEAD || s->state == S_IDLE;
}

LIBSSH2_SESSION *
session_ssh(struct session *s)
{
	return s->ssh;
}

bool
session_can_send(const struct session *s)
{
	return s->t == NULL || s->t->queued < TX_HIGH;
}

bool
session_client_can_send(const struct session *s, const struct session_client *c)
{
	size_t mark = c->bulk && session_interactive_recent(s) ? TX_BULK : TX_HIGH;

	return s->t == NULL || s->t->queued < mark;
}

void
session_mark_interactive(struct session *s, const struct session_client *c)
{
	size_t oldest = 0;

	for (size_t i = 0; i < INTERACTIVE_MARKS; i++) {
		if (s->marks[i].c == c) {
			oldest = i;
			break;
		}
		if (s->marks[i].at < s->marks[oldest].at)
			oldest = i;
	}
	s->marks[oldest].c = c;
	s->marks[oldest].at = uv_now(s->loop);
}

void
session_unmark_interactive(struct session *s, const struct session_client *c)
{
	for (size_t i = 0; i < INTERACTIVE_MARKS; i++)
		if (s->marks[i].c == c)
			s->marks[i].at = 0;
}

bool
session_interactive_recent(const struct session *s)
{
	uint64_t now = uv_now(s->loop);

	for (size_t i = 0; i < INTERACTIVE_MARKS; i++)
		if (s->marks[i].at != 0 && now - s->marks[i].at < INTERACTIVE_HOLD_MS)
			return true;
	return false;
}

/* How often session_path_rtt_us asks the kernel (a getsockopt per call otherwise). */
#define PATH_RTT_MS 100

int64_t
session_path_rtt_us(struct session *s)
{
	uint64_t now = uv_now(s->loop);

	if (s->path_rtt_at != 0 && now - s->path_rtt_at < PATH_RTT_MS)
		return s->path_rtt_us;
	s->path_rtt_us = inflight_path_rtt(transport_min_rtt_us(s->t),
	    s->requests != NULL ? reqqueue_open_rtt_us(s->requests) : -1,
	    s->live != NULL ? liveness_min_rtt_us(s->live) : -1);
	s->path_rtt_at = now;
	return s->path_rtt_us;
}

size_t
session_inflight_bound(struct session *s, uint64_t rate, bool up)
{
	return inflight_bound(rate, session_path_rtt_us(s),
	    up ? INFLIGHT_FLOOR_UP : INFLIGHT_FLOOR_DOWN, INFLIGHT_CEILING, INFLIGHT_UNKNOWN);
}

void
session_log_bound(
    struct session *s, size_t *last, size_t bound, bool shared, uint64_t rate, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (bound == *last)
		return;
	*last = bound;
	if (log_get_level() < LOG_DEBUG3)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_debug3("%s up to %zu KiB (%s; %llu KiB/s, RTT %lld us)", what, bound / 1024,
	    shared ? "beside interactive traffic" : "alone", (unsigned long long)(rate / 1024),
	    (long long)session_path_rtt_us(s));
}

unsigned long
session_rx_generation(const struct session *s)
{
	return s->rx_gen;
}
