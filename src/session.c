/*
 * The SSH session: one TCP connection to the jump host, driven by libssh2 in
 * non-blocking mode from one uv_poll_t.
 *
 * States:
 *
 *   RESOLVING --address--> CONNECTING --TCP up--> HANDSHAKE --kex done-->
 *   (host key checked, may prompt) --> AUTH --authenticated--> READY
 *
 *   any state --error or peer gone--> DEAD   (events->dead, exit status)
 *   any state --session_stop--> CLOSING --channels closed or 1 s--> DEAD
 *
 * I/O rules (shared/notes/libssh2.md):
 *  - libssh2 sends through ssh_send(), which never returns EAGAIN: what the
 *    kernel will not take goes into tx and is flushed when the socket is
 *    writable. No packet is ever half-sent, so no libssh2 call is left
 *    needing a retry for the transport's sake.
 *  - libssh2 receives through ssh_recv(), which serves bytes from rx. The
 *    poll callback fills rx from the socket. So libssh2 calls cost no
 *    syscalls, and an unread socket never makes the loop spin: once rx
 *    holds the bytes the socket is no longer readable.
 *  - libssh2 1.11 may answer EAGAIN while rx still holds bytes it has not
 *    read (a whole-packet cipher whose packet straddles its own buffer):
 *    a pass that leaves rx non-empty after consuming some runs again, and
 *    everything received is decoded before the open in flight is retried.
 *  - One channel open in flight at a time (opens queue); clients are pumped
 *    after every wakeup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "algo.h"
#include "algolist.h"
#include "auth.h"
#include "bindaddr.h"
#include "chanfail.h"
#include "buf.h"
#include "hostkey.h"
#include "kexreport.h"
#include "log.h"
#include "session.h"
#include "xmalloc.h"

#define RX_MAX (256 * 1024)   /* stop reading the socket above this */
#define TX_HIGH (1024 * 1024) /* clients stop adding channel data above this */
#define CONNECT_TIMEOUT_S 15  /* per address, when ConnectTimeout is not set */
#define RETRY_DELAY_MS 1000   /* between ConnectionAttempts, as ssh */
#define CLOSE_GRACE_MS 1000   /* how long stop waits for channels to close */
#define LISTEN_QUEUE 128      /* forwarded connections libssh2 holds per listener */
#define REQUEST_WAIT_MS 10000 /* ConnectionWait's default: an open waits for a session */
#define SESSION_REFUSED 256   /* session_fail: host key or credentials refused (exit 255) */

enum session_state {
	S_IDLE,
	S_RESOLVING,
	S_CONNECTING,
	S_HANDSHAKE,
	S_AUTH,
	S_READY,
	S_CLOSING,
	S_DEAD,
};

static const char *const state_names[] = {
    "idle", "resolving", "connecting", "handshake", "auth", "ready", "closing", "dead"};

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

	uv_getaddrinfo_t gai;
	bool resolving;
	struct addrinfo *addrs, *next_addr;
	/* ConnectTimeout (0 none) covers TCP connect and the server's banner, per address. */
	uint64_t connect_timeout_ms;
	uint64_t connect_start; /* loop time this address was dialled */
	int attempt, attempts;	/* ConnectionAttempts: rounds over every address */
	bool retry_wait;	/* the timer waits RETRY_DELAY_MS before the next round */
	bool banner_seen;	/* the server's version line has arrived */
	char connect_why[300];	/* why the last address failed */
	uv_timer_t timer;	/* connect and banner timeout, retry delay, close grace */
	uv_check_t check;	/* pump after every loop iteration */
	uv_idle_t idle;		/* keeps the loop from blocking while work remains */
	uv_poll_t *poll;	/* on fd; allocated per connect attempt */
	int poll_events;
	int fd;
	char peer[INET6_ADDRSTRLEN + 8];

	LIBSSH2_SESSION *ssh;
	struct kexreport *kex; /* the server's offer, read while handshaking */
	char hostkey_prefs[ALGOLIST_MAX];
	struct auth *auth;
	char server_said[256]; /* the server's SSH_MSG_DISCONNECT text, if it sent one */
	struct buf tx, rx;
	int io_error;	 /* errno of a failed send/recv */
	bool rx_eof;	 /* the server closed the TCP connection */
	bool hard_close; /* tearing down: the socket reads as closed */
	unsigned long rx_gen;
	bool wake; /* session_wake() was called: pump again without waiting for I/O */

	struct session_req *opens, **opens_tail;
	bool open_in_flight; /* the head of opens has been passed to libssh2 */
	bool open_orphaned;  /* ... and was cancelled since */
	struct session_req orphan;

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

	/* Liveness: anything received counts; a probe asks for an answer. */
	uv_timer_t alive;
	uint64_t last_rx; /* loop time of the last bytes from the server */
	bool probing;	  /* a keepalive request is waiting for its reply */
	uint64_t probe_start;
	int rtt_ms;	    /* the last probe's round trip; -1 unknown */
	uv_timer_t expire;  /* while down: due when the first waiting request expires */
	uint64_t wait_ms;   /* how long a request waits for a session (ConnectionWait) */
	bool keep_requests; /* a reconnect follows: channel opens wait for it */
	bool reconnect;
	uint64_t alive_interval_ms;
	int alive_count_max;
	struct session_info info;
	struct session_client *pump_next;
};

static void session_fail(struct session *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void connect_next(struct session *s);
static void close_handles(struct session *s);
static void fill_rx_socket(struct session *s);
static void poll_cb(uv_poll_t *h, int status, int events);
static void idle_cb(uv_idle_t *h);
static void control_open_done(struct session_req *req, const char *why);
static void expire_cb(uv_timer_t *t);
static void arm_expire(struct session *s);
static void alive_cb(uv_timer_t *t);

static void
set_state(struct session *s, enum session_state to)
{
	log_debug2("session: %s -> %s", state_names[s->state], state_names[to]);
	s->state = to;
}

/* libssh2's transport send: never EAGAIN on the SSH socket. */
static ssize_t
ssh_send(libssh2_socket_t fd, const void *data, size_t len, int flags, void **abstract)
{
	struct session *s = *abstract;
	ssize_t n = 0;

	if (fd != s->fd) {
		/* The agent's socket goes through here too. */
		n = send(fd, data, len, flags | MSG_NOSIGNAL);
		return n < 0 ? -errno : n;
	}
	if (s->io_error)
		return -s->io_error;
	if (s->hard_close)
		return (ssize_t)len;
	if (buf_len(&s->tx) == 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				s->io_error = errno;
				return -errno;
			}
			n = 0;
		}
	}
	buf_append(&s->tx, (const char *)data + n, len - (size_t)n);
	return (ssize_t)len;
}

/* libssh2's transport receive: served from rx, which the poll callback fills. */
static ssize_t
ssh_recv(libssh2_socket_t fd, void *data, size_t len, int flags, void **abstract)
{
	struct session *s = *abstract;
	size_t n;

	if (fd != s->fd) {
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
	return (ssize_t)n;
}

static void
flush_tx(struct session *s)
{
	while (buf_len(&s->tx) > 0 && !s->io_error) {
		ssize_t n = send(s->fd, buf_head(&s->tx), buf_len(&s->tx), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				s->io_error = errno;
			return;
		}
		buf_consume(&s->tx, (size_t)n);
	}
}

static void
fill_rx(struct session *s)
{
	size_t before = buf_len(&s->rx);

	fill_rx_socket(s);
	/*
	 * Small reads are interactive traffic: acknowledge at once. Otherwise
	 * the server's next small packet (sshd sends a channel's first data
	 * right after its open confirmation) waits out our delayed ACK, ~40 ms.
	 */
	if (buf_len(&s->rx) > before && buf_len(&s->rx) - before < 16384) {
		int one = 1;
		setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
}

static void
fill_rx_socket(struct session *s)
{
	while (buf_len(&s->rx) < RX_MAX && !s->rx_eof && !s->io_error) {
		size_t avail;
		char *p = buf_reserve(&s->rx, 65536, &avail);
		ssize_t n = recv(s->fd, p, avail, 0);
		if (n > 0) {
			if (s->kex != NULL)
				kexreport_feed(s->kex, p, (size_t)n);
			if (!s->banner_seen && memchr(p, '\n', (size_t)n) != NULL) {
				s->banner_seen = true;
				if (s->state == S_HANDSHAKE)
					uv_timer_stop(&s->timer);
			}
			buf_commit(&s->rx, (size_t)n);
			s->rx_gen++;
			s->last_rx = uv_now(s->loop);
			continue;
		}
		if (n == 0) {
			s->rx_eof = true;
			s->rx_gen++;
		} else if (errno == EINTR) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			s->io_error = errno;
			s->rx_gen++;
		}
		return;
	}
}

static void
poll_closed_cb(uv_handle_t *h)
{
	struct session *s = h->data;

	if (s->poll == (uv_poll_t *)h)
		s->poll = NULL;
	free(h);
}

/* Closes the poll handle (one per connect attempt); the fd is closed by its owner. */
static void
close_poll(struct session *s)
{
	if (s->poll != NULL && !uv_is_closing((uv_handle_t *)s->poll))
		uv_close((uv_handle_t *)s->poll, poll_closed_cb);
}

static void
rearm_poll(struct session *s)
{
	int events = 0;

	if (s->poll == NULL || uv_is_closing((uv_handle_t *)s->poll) || s->state == S_DEAD)
		return;
	if (s->state == S_CONNECTING) {
		events = UV_WRITABLE;
	} else {
		if (buf_len(&s->rx) < RX_MAX && !s->rx_eof && !s->io_error)
			events |= UV_READABLE;
		if (buf_len(&s->tx) > 0 && !s->io_error)
			events |= UV_WRITABLE;
	}
	if (events == s->poll_events)
		return;
	s->poll_events = events;
	if (events == 0)
		uv_poll_stop(s->poll);
	else
		uv_poll_start(s->poll, events, poll_cb);
}

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
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}

/*
 * Answers the queued requests with why. When a reconnect follows,
 * direct-tcpip opens stay queued (links wait for the new session, up to
 * REQUEST_WAIT_MS); everything else belongs to the dead session.
 */
static void
fail_opens(struct session *s, const char *why)
{
	struct session_req *req, *keep = NULL, **keep_tail = &keep;

	if (s->open_orphaned && s->opens == &s->orphan) {
		s->opens = s->orphan.next;
		if (s->opens == NULL)
			s->opens_tail = &s->opens;
	}
	while ((req = s->opens) != NULL) {
		s->opens = req->next;
		req->next = NULL;
		req->channel = NULL;
		req->listener = NULL;
		if (s->keep_requests && req->kind == REQ_DIRECT_TCPIP) {
			*keep_tail = req;
			keep_tail = &req->next;
			continue;
		}
		if (req->done != NULL)
			req->done(req, why);
	}
	s->opens = keep;
	s->opens_tail = keep != NULL ? keep_tail : &s->opens;
	s->open_in_flight = false;
	s->open_orphaned = false;
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
	char why[1024];
	va_list ap;

	if (s->state == S_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(s->info.last_error, sizeof(s->info.last_error), "%.*s",
	    (int)sizeof(s->info.last_error) - 1, why);
	set_state(s, S_DEAD);
	bool permanent = status == SESSION_REFUSED;
	if (permanent)
		status = 255;
	s->keep_requests = s->reconnect && !permanent;
	fail_opens(s, "the SSH session is gone");
	lose_clients(s);
	teardown_ssh(s);
	close_poll(s);
	uv_timer_stop(&s->alive);
	uv_timer_stop(&s->timer);
	uv_idle_stop(&s->idle);
	arm_expire(s);
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
	if (s->io_error)
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
	char why[256];
	if (s->state == S_DEAD || !is_transport_error(rc))
		return;
	if (s->state == S_CLOSING)
		return;
	session_fail(s, 255, "connection to %s lost: %s", s->peer,
	    connection_gone_reason(s, why, sizeof(why)));
}

/* ---- connecting ---- */

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
	int one = 1;

	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (s->alive_interval_ms > 0) {
		/* The kernel gives up on a silent peer on the same schedule. */
		int idle = (int)(s->alive_interval_ms / 1000), cnt = s->alive_count_max;
		unsigned timeout = (unsigned)(s->alive_interval_ms * (uint64_t)cnt);
		setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
		setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		setsockopt(s->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
	}
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
timer_cb(uv_timer_t *t)
{
	struct session *s = t->data;

	if (s->state == S_CONNECTING && s->retry_wait) {
		s->retry_wait = false;
		connect_next(s);
	} else if (s->state == S_CONNECTING) {
		log_verbose("connect to %s timed out", s->peer);
		snprintf(s->connect_why, sizeof(s->connect_why), "connection timed out");
		connect_next(s);
	} else if (s->state == S_HANDSHAKE && !s->banner_seen) {
		session_fail(s, 255, "connection to %s timed out during banner exchange (%s)",
		    s->peer, s->opt->connect_timeout > 0 ? "ConnectTimeout" : "15 s");
	} else if (s->state == S_CLOSING) {
		log_debug("channels did not close in time; disconnecting");
		set_state(s, S_DEAD);
		lose_clients(s);
		teardown_ssh(s);
		close_handles(s);
	}
}

/* A socket for ai, bound to BindAddress / BindInterface if set; -1 with connect_why. */
static int
dial_socket(struct session *s, const struct addrinfo *ai)
{
	struct sockaddr_storage local;
	socklen_t len = 0;
	char why[256];
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		snprintf(s->connect_why, sizeof(s->connect_why), "%s", strerror(errno));
		return -1;
	}
	int rc = bindaddr_resolve(s->opt->bind_address, s->opt->bind_interface, ai->ai_family,
	    &local, &len, why, sizeof(why));
	if (rc == -1) {
		snprintf(s->connect_why, sizeof(s->connect_why), "%s", why);
		close(fd);
		return -1;
	}
	if (rc == 0 && bind(fd, (struct sockaddr *)&local, len) == -1) {
		char addr[INET6_ADDRSTRLEN] = "?";
		const void *in = local.ss_family == AF_INET6
		    ? (const void *)&((struct sockaddr_in6 *)&local)->sin6_addr
		    : (const void *)&((struct sockaddr_in *)&local)->sin_addr;
		inet_ntop(local.ss_family, in, addr, sizeof(addr));
		snprintf(
		    s->connect_why, sizeof(s->connect_why), "bind %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
set_peer(struct session *s, const struct addrinfo *ai)
{
	char addr[INET6_ADDRSTRLEN];
	const void *in = ai->ai_family == AF_INET6
	    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
	    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

	inet_ntop(ai->ai_family, in, addr, sizeof(addr));
	snprintf(s->peer, sizeof(s->peer), ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", addr,
	    s->port);
}

/*
 * Dials the next address; after the last one, starts another round
 * (ConnectionAttempts, 1 s apart as ssh) or gives up.
 */
static void
connect_next(struct session *s)
{
	close_poll(s);
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	uv_timer_stop(&s->timer);
	while (s->next_addr != NULL) {
		struct addrinfo *ai = s->next_addr;
		s->next_addr = ai->ai_next;
		set_peer(s, ai);
		int fd = dial_socket(s, ai);
		if (fd == -1) {
			log_verbose("connect to %s: %s", s->peer, s->connect_why);
			continue;
		}
		log_debug("connecting to %s", s->peer);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS) {
			snprintf(s->connect_why, sizeof(s->connect_why), "%s", strerror(errno));
			log_verbose("connect to %s: %s", s->peer, s->connect_why);
			close(fd);
			continue;
		}
		s->fd = fd;
		s->poll = xcalloc(1, sizeof(*s->poll));
		uv_poll_init_socket(s->loop, s->poll, fd);
		s->poll->data = s;
		s->poll_events = UV_WRITABLE;
		uv_poll_start(s->poll, UV_WRITABLE, poll_cb);
		s->connect_start = uv_now(s->loop);
		if (s->connect_timeout_ms > 0)
			uv_timer_start(&s->timer, timer_cb, s->connect_timeout_ms, 0);
		return;
	}
	if (++s->attempt < s->attempts) {
		log_verbose("cannot connect to %s port %d: %s; trying again (attempt %d of %d)",
		    s->host, s->port, s->connect_why, s->attempt + 1, s->attempts);
		s->next_addr = s->addrs;
		s->retry_wait = true;
		uv_timer_start(&s->timer, timer_cb, RETRY_DELAY_MS, 0);
		return;
	}
	session_fail(s, 255, "cannot connect to %s port %d: %s", s->host, s->port,
	    s->connect_why[0] ? s->connect_why : "no address to connect to");
}

static void
resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct session *s = req->data;

	s->resolving = false;
	if (s->state != S_RESOLVING) {
		uv_freeaddrinfo(res);
		return;
	}
	if (status < 0) {
		session_fail(s, 255, "cannot resolve %s: %s", s->host, uv_strerror(status));
		return;
	}
	s->addrs = res;
	s->next_addr = res;
	s->attempt = 0;
	s->retry_wait = false;
	s->connect_why[0] = '\0';
	set_state(s, S_CONNECTING);
	connect_next(s);
}

static void
connected(struct session *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		snprintf(s->connect_why, sizeof(s->connect_why), "%s", strerror(err));
		log_verbose("connect to %s: %s", s->peer, s->connect_why);
		connect_next(s);
		return;
	}
	uv_timer_stop(&s->timer);
	s->io_error = 0;
	log_debug("TCP connection to %s established", s->peer);
	s->banner_seen = false;
	if (s->connect_timeout_ms > 0) {
		/* What is left of ConnectTimeout is for the server's banner (ssh does the same). */
		uint64_t spent = uv_now(s->loop) - s->connect_start;
		uint64_t left = spent < s->connect_timeout_ms ? s->connect_timeout_ms - spent : 1;
		uv_timer_start(&s->timer, timer_cb, left, 0);
	}
	start_ssh(s);
}

/* ---- handshake and authentication ---- */

static void
step_handshake(struct session *s)
{
	char err[1024];
	int rc = libssh2_session_handshake(s->ssh, s->fd);

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
	log_info("connected to %s as %s", s->peer, s->user);
	s->info.connected_since = time(NULL);
	s->last_rx = uv_now(s->loop);
	s->probing = false;
	uv_timer_stop(&s->expire);
	if (s->alive_interval_ms > 0)
		uv_timer_start(&s->alive, alive_cb, s->alive_interval_ms, s->alive_interval_ms);
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
	 * though rx holds the rest. The socket is no longer readable (the bytes
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

/* Passes the head request to libssh2; true once it has an answer. */
static bool
try_request(struct session *s, struct session_req *req)
{
	req->channel = NULL;
	req->listener = NULL;
	switch (req->kind) {
	case REQ_SESSION:
		req->channel = libssh2_channel_open_ex(s->ssh, "session", sizeof("session") - 1,
		    req->window ? req->window : LIBSSH2_CHANNEL_WINDOW_DEFAULT,
		    LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
		break;
	case REQ_DIRECT_TCPIP:
		req->channel = libssh2_channel_direct_tcpip_ex(
		    s->ssh, req->host, req->port, req->orig_host, req->orig_port);
		break;
	case REQ_LISTEN:
		req->listener = libssh2_channel_forward_listen_ex(
		    s->ssh, req->host, req->port, &req->bound_port, LISTEN_QUEUE);
		break;
	}
	return req->channel != NULL || req->listener != NULL ||
	    libssh2_session_last_errno(s->ssh) != LIBSSH2_ERROR_EAGAIN;
}

/* Why a request failed; a refused channel open in ssh's words, with the server's reason. */
static const char *
request_error(struct session *s, int rc)
{
	static char buf[400];
	struct chanfail f;

	if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE && chanfail_parse(last_error(s), &f) == 0) {
		chanfail_format(&f, buf, sizeof(buf));
		return buf;
	}
	return last_error(s);
}

static void
step_requests(struct session *s)
{
	while (s->opens != NULL) {
		struct session_req *req = s->opens;
		if (!try_request(s, req)) {
			s->open_in_flight = true;
			return;
		}
		bool ok = req->channel != NULL || req->listener != NULL;
		int rc = ok ? 0 : libssh2_session_last_errno(s->ssh);
		bool orphaned = s->open_orphaned;
		s->opens = req->next;
		if (s->opens == NULL)
			s->opens_tail = &s->opens;
		s->open_in_flight = false;
		s->open_orphaned = false;
		if (orphaned) {
			/* Its owner is gone; a listener stays until the session ends. */
			if (req->channel != NULL)
				session_release_channel(s, req->channel);
		} else {
			req->done(req, ok ? NULL : request_error(s, rc));
		}
		if (!ok)
			session_check_error(s, rc);
		if (s->state != S_READY)
			return;
	}
}

void
session_request(struct session *s, struct session_req *req)
{
	req->queued_at = uv_now(s->loop);
	req->next = NULL;
	*s->opens_tail = req;
	s->opens_tail = &req->next;
	/* While the session is down a request waits ConnectionWait at most; none expires sooner. */
	if (s->state != S_READY && !uv_is_active((uv_handle_t *)&s->expire))
		arm_expire(s);
	session_wake(s);
	if (s->state == S_DEAD && s->ev.waiting != NULL)
		s->ev.waiting(s, s->ev.arg);
}

void
session_cancel_request(struct session *s, struct session_req *req)
{
	struct session_req **pp;

	if (req == s->opens && s->open_in_flight) {
		/*
		 * libssh2 holds this open's state in the session; it must run to
		 * completion. Keep a copy to finish it with, and drop the channel.
		 */
		s->orphan = *req;
		s->orphan.done = NULL;
		s->orphan.next = req->next;
		s->opens = &s->orphan;
		if (s->opens_tail == &req->next)
			s->opens_tail = &s->orphan.next;
		s->open_orphaned = true;
		return;
	}
	for (pp = &s->opens; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			if (s->opens_tail == &req->next)
				s->opens_tail = pp;
			return;
		}
	}
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

/* Retries closing channels; true if some remain. */
static bool
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
			return false;
	}
	return false;
}

static bool
pump_clients(struct session *s)
{
	bool more = false;

	for (struct session_client *c = s->clients.next; c != &s->clients; c = s->pump_next) {
		s->pump_next = c->next;
		more |= c->pump(c);
		if (s->state == S_DEAD)
			return false;
	}
	s->pump_next = NULL;
	return more;
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
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

/* ---- liveness ---- */

/*
 * Every ServerAliveInterval: if nothing came from the server for that long,
 * ask it something that needs an answer (an "env" request on the control
 * channel: sshd answers yes or no, either will do). Nothing at all for
 * interval x ServerAliveCountMax: the server is gone. Unlike
 * libssh2_keepalive_send(want_reply=1), the reply is matched to its channel
 * and consumed, so it can never be taken for a forward's answer.
 */
static void
alive_cb(uv_timer_t *t)
{
	struct session *s = t->data;
	uint64_t idle = uv_now(s->loop) - s->last_rx;

	if (s->state != S_READY)
		return;
	if (idle >= s->alive_interval_ms * (uint64_t)s->alive_count_max) {
		session_fail(s, 255, "%s is not responding (nothing received in %llu s)", s->peer,
		    (unsigned long long)(idle / 1000));
		return;
	}
	if (idle + 50 >= s->alive_interval_ms && !s->probing) {
		s->probing = true;
		s->probe_start = uv_now(s->loop);
		session_wake(s);
	}
}

/* Drives the probe; its reply, like any bytes received, proves the server alive. */
static void
step_probe(struct session *s)
{
	int rc;

	if (!s->probing)
		return;
	if (s->control == NULL) {
		/* No channel to ask on: at least keep traffic flowing; TCP keepalive judges. */
		int next;
		libssh2_keepalive_send(s->ssh, &next);
		s->probing = false;
		return;
	}
	rc = libssh2_channel_setenv_ex(s->control, "PORTHOLE_KEEPALIVE", 18, "1", 1);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return;
	s->probing = false;
	if (rc == 0 || rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED) {
		s->rtt_ms = (int)(uv_now(s->loop) - s->probe_start);
		log_debug2("keepalive answered in %d ms", s->rtt_ms);
		return;
	}
	session_check_error(s, rc);
}

/* While the session is not ready: the timer is due when the first waiting request expires. */
static void
arm_expire(struct session *s)
{
	uint64_t now = uv_now(s->loop), first = UINT64_MAX;

	if (uv_is_closing((uv_handle_t *)&s->expire))
		return;
	for (struct session_req *r = s->opens; r != NULL; r = r->next)
		if (r->queued_at + s->wait_ms < first)
			first = r->queued_at + s->wait_ms;
	if (s->state == S_READY || first == UINT64_MAX) {
		uv_timer_stop(&s->expire);
		return;
	}
	uv_timer_start(&s->expire, expire_cb, first > now ? first - now : 0, 0);
}

/* While the session is down, a channel open waits ConnectionWait at most. */
static void
expire_cb(uv_timer_t *t)
{
	struct session *s = t->data;
	uint64_t now = uv_now(s->loop);
	struct session_req **pp = &s->opens;
	char why[96];

	if (s->state == S_READY)
		return;
	snprintf(why, sizeof(why), "the SSH session is down (waited %llu s)",
	    (unsigned long long)(s->wait_ms / 1000));
	while (*pp != NULL) {
		struct session_req *req = *pp;
		if (now - req->queued_at < s->wait_ms) {
			pp = &req->next;
			continue;
		}
		*pp = req->next;
		if (s->opens_tail == &req->next)
			s->opens_tail = pp;
		req->next = NULL;
		req->done(req, why);
	}
	arm_expire(s);
}

bool
session_has_waiting(const struct session *s)
{
	return s->state == S_DEAD && s->opens != NULL;
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
	buf_free(&s->tx);
	buf_free(&s->rx);
	s->io_error = 0;
	s->rx_eof = false;
	s->hard_close = false;
	s->poll_events = 0;
	if (s->addrs != NULL) {
		uv_freeaddrinfo(s->addrs);
		s->addrs = s->next_addr = NULL;
	}
	session_start(s);
}

void
session_get_info(const struct session *s, struct session_info *out)
{
	*out = s->info;
	out->state = state_names[s->state];
	out->rtt_ms = s->rtt_ms;
	snprintf(out->peer, sizeof(out->peer), "%s", s->peer);
}

/* ---- the pump ---- */

static void
pump(struct session *s)
{
	bool more = false;
	char why[256];

	if (s->ssh == NULL)
		return;
	s->wake = false;
	size_t rx_before = buf_len(&s->rx);
	flush_tx(s);
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
	switch (s->state) {
	case S_READY:
		/* Decode what arrived first: the reply an open waits for may be in it. */
		drain(s);
		if (s->state == S_READY)
			step_requests(s);
		if (s->state == S_READY)
			drain(s);
		if (s->state == S_READY)
			step_probe(s);
		if (s->state == S_READY)
			more |= pump_clients(s);
		if (s->state == S_READY)
			more |= reap_channels(s);
		break;
	case S_CLOSING:
		reap_channels(s);
		if (s->dead == NULL && s->state == S_CLOSING) {
			set_state(s, S_DEAD);
			lose_clients(s);
			libssh2_session_disconnect(s->ssh, "porthole stopped");
			flush_tx(s);
			teardown_ssh(s);
			close_handles(s);
			return;
		}
		break;
	default:
		break;
	}
	if (s->state == S_DEAD || s->ssh == NULL)
		return;
	flush_tx(s);
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
	rearm_poll(s);
	/*
	 * Bytes left in rx after a pass that consumed some: libssh2 stopped
	 * early (see drain), and no poll event will bring us back for them.
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

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct session *s = h->data;

	if (s->state == S_CONNECTING) {
		connected(s);
		return;
	}
	if (status < 0 && !s->io_error) {
		/* libuv reports a failed socket as EBADF; the socket knows the real error. */
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
			s->io_error = err;
		else
			s->io_error = -status;
	}
	if (events & UV_WRITABLE)
		flush_tx(s);
	if (events & UV_READABLE)
		fill_rx(s);
	/* check_cb pumps next. */
}

/* ---- lifecycle ---- */

struct session *
session_new(uv_loop_t *loop, const struct options *opt, const struct session_events *ev)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->opt = opt;
	s->ev = *ev;
	s->fd = -1;
	s->host = opt->host_name != NULL ? opt->host_name : opt->host;
	s->port = opt->port > 0 ? opt->port : 22;
	hostkey_policy_init(&s->hostkeys, opt, s->host, s->port);
	if (opt->user != NULL) {
		s->user = xstrdup(opt->user);
	} else {
		const char *u = getenv("USER");
		s->user = xstrdup(u != NULL && *u != '\0' ? u : "root");
	}
	s->opens_tail = &s->opens;
	s->clients.next = s->clients.prev = &s->clients;
	buf_init(&s->tx);
	buf_init(&s->rx);
	uv_timer_init(loop, &s->timer);
	uv_timer_init(loop, &s->alive);
	uv_timer_init(loop, &s->expire);
	uv_check_init(loop, &s->check);
	uv_idle_init(loop, &s->idle);
	s->timer.data = s->check.data = s->idle.data = s->alive.data = s->expire.data = s;
	s->rtt_ms = -1;
	s->alive_interval_ms =
	    (uint64_t)(opt->server_alive_interval >= 0 ? opt->server_alive_interval : 15) * 1000;
	s->alive_count_max = opt->server_alive_count_max > 0 ? opt->server_alive_count_max : 3;
	s->wait_ms =
	    opt->connection_wait >= 0 ? (uint64_t)opt->connection_wait * 1000 : REQUEST_WAIT_MS;
	s->connect_timeout_ms =
	    (uint64_t)(opt->connect_timeout >= 0 ? opt->connect_timeout : CONNECT_TIMEOUT_S) * 1000;
	s->attempts = opt->connection_attempts > 0 ? opt->connection_attempts : 1;
	uv_check_start(&s->check, check_cb);
	return s;
}

void
session_start(struct session *s)
{
	struct addrinfo hints;
	char port[16];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = s->opt->address_family == FAMILY_INET ? AF_INET
	    : s->opt->address_family == FAMILY_INET6		? AF_INET6
								: AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", s->port);
	set_state(s, S_RESOLVING);
	s->gai.data = s;
	s->resolving = true;
	int rc = uv_getaddrinfo(s->loop, &s->gai, resolved_cb, s->host, port, &hints);
	if (rc < 0) {
		s->resolving = false;
		session_fail(s, 255, "cannot resolve %s: %s", s->host, uv_strerror(rc));
	}
}

static void
close_handles(struct session *s)
{
	close_poll(s);
	if (!uv_is_closing((uv_handle_t *)&s->timer)) {
		uv_close((uv_handle_t *)&s->timer, NULL);
		uv_close((uv_handle_t *)&s->alive, NULL);
		uv_close((uv_handle_t *)&s->expire, NULL);
		uv_close((uv_handle_t *)&s->check, NULL);
		uv_close((uv_handle_t *)&s->idle, NULL);
	}
	if (s->resolving)
		uv_cancel((uv_req_t *)&s->gai);
}

void
session_stop(struct session *s)
{
	s->reconnect = false;
	s->keep_requests = false;
	switch (s->state) {
	case S_DEAD:
		/* Dead but kept for a reconnect: now it is really over. */
		fail_opens(s, "porthole is stopping");
		close_handles(s);
		return;
	case S_READY:
		fail_opens(s, "porthole is stopping");
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
		fail_opens(s, "porthole is stopping");
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
	if (s->addrs != NULL)
		uv_freeaddrinfo(s->addrs);
	buf_free(&s->tx);
	buf_free(&s->rx);
	hostkey_policy_free(&s->hostkeys);
	free(s->user);
	free(s);
}

bool
session_is_ready(const struct session *s)
{
	return s->state == S_READY;
}

LIBSSH2_SESSION *
session_ssh(struct session *s)
{
	return s->ssh;
}

bool
session_can_send(const struct session *s)
{
	return buf_len(&s->tx) < TX_HIGH;
}

unsigned long
session_rx_generation(const struct session *s)
{
	return s->rx_gen;
}
