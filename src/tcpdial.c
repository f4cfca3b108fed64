/*
 * The TCP transport.
 *
 *   RESOLVING --addresses--> CONNECTING --SO_ERROR 0--> UP --EOF/error--> DONE
 *                  CONNECTING --refused/timeout, next address--> CONNECTING
 *                  CONNECTING --no address left, attempts left--> (1 s) CONNECTING
 *                  CONNECTING --no address left--> DONE ("cannot connect ...")
 *                  UP --no banner line within ConnectTimeout--> DONE
 *
 * ConnectTimeout (15 s when unset) covers the TCP connect and then, with
 * what is left of it, the server's banner, per address, as ssh has it;
 * ConnectionAttempts rounds over every address, 1 s apart. The socket is
 * bound to BindAddress / BindInterface first when set, and AddressFamily
 * limits the lookup.
 *
 * One uv_poll_t on the raw socket: READABLE while the reader wants bytes,
 * WRITABLE only while the send queue holds some (libuv polls level-triggered).
 * write() sends at once when nothing is queued and queues the rest, so the
 * caller never sees EAGAIN (shared/notes/libssh2.md section 1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bindaddr.h"
#include "buf.h"
#include "log.h"
#include "tcpdial.h"
#include "tcpinfo.h"
#include "xmalloc.h"

#define CONNECT_TIMEOUT_S 15 /* per address, when ConnectTimeout is not set */
#define RETRY_DELAY_MS 1000  /* between ConnectionAttempts, as ssh */
#define READ_CHUNK (64 * 1024)
/*
 * While the session asks for it (something interactive is active), the
 * kernel keeps at most this much not yet sent (beyond what is in flight)
 * before the socket stops being writable, so what the SSH session has
 * ready waits in porthole's queue, where the session decides what goes
 * next (session.c), not in a send buffer of megabytes that no later small
 * packet can pass. Otherwise the kernel's default (no limit): a deep
 * buffer rides out porthole being off the CPU for a while, which a lone
 * bulk transfer on a busy machine needs for its speed.
 */
#define NOTSENT_LOWAT (256 * 1024)
#define QUICKACK_BELOW 16384

enum tcp_state {
	TCP_IDLE,
	TCP_RESOLVING,
	TCP_CONNECTING,
	TCP_UP,
	TCP_DONE,
};

static const char *const state_names[] = {"idle", "resolving", "connecting", "up", "done"};

struct tcpdial {
	struct transport t;
	enum tcp_state state;
	char *host;
	int port;
	const struct options *opt;
	uv_getaddrinfo_t gai;
	bool resolving;
	struct addrinfo *addrs, *next_addr;
	uv_timer_t timer;
	uv_poll_t *poll; /* one per connect attempt */
	int poll_events;
	bool reading;
	bool shut;	       /* shutdown() asked: SHUT_WR once the queue is out */
	bool closing;	       /* close() called: no more callbacks */
	int last_error;	       /* errno of the last failed attempt */
	char connect_why[300]; /* why the last address failed */
	uint64_t connect_timeout_ms;
	uint64_t connect_start; /* loop time this address was dialled */
	int attempt, attempts;	/* ConnectionAttempts: rounds over every address */
	bool retry_wait;	/* the timer waits RETRY_DELAY_MS before the next round */
	bool banner_seen;	/* the server's version line has arrived */
	struct buf tx;
	int refs; /* the timer, the poll handle, a pending lookup */
};

static void poll_cb(uv_poll_t *h, int status, int events);
static void timer_cb(uv_timer_t *t);
static void connect_next(struct tcpdial *d);

static void
set_state(struct tcpdial *d, enum tcp_state to)
{
	log_debug2("tcp %s:%d: %s -> %s", d->host, d->port, state_names[d->state], state_names[to]);
	d->state = to;
}

static void
unref(struct tcpdial *d)
{
	if (--d->refs > 0)
		return;
	if (d->addrs != NULL)
		uv_freeaddrinfo(d->addrs);
	buf_free(&d->tx);
	free(d->host);
	free(d);
}

static void
handle_closed_cb(uv_handle_t *h)
{
	struct tcpdial *d = h->data;

	if ((uv_poll_t *)h == d->poll)
		d->poll = NULL;
	if (h != (uv_handle_t *)&d->timer)
		free(h);
	unref(d);
}

static void
close_socket(struct tcpdial *d)
{
	if (d->poll != NULL && !uv_is_closing((uv_handle_t *)d->poll)) {
		uv_close((uv_handle_t *)d->poll, handle_closed_cb);
		d->poll = NULL;
	}
	if (d->t.fd != -1) {
		close(d->t.fd);
		d->t.fd = -1;
	}
	d->poll_events = 0;
}

/* The stream ended: tell the user once, unless it closed us itself. */
static void
finish(struct tcpdial *d, int err, const char *why)
{
	if (d->state == TCP_DONE)
		return;
	set_state(d, TCP_DONE);
	uv_timer_stop(&d->timer);
	if (d->poll != NULL)
		uv_poll_stop(d->poll);
	d->poll_events = 0;
	if (!d->closing && d->t.ev->closed != NULL)
		d->t.ev->closed(&d->t, err, why);
}

static void
fail_errno(struct tcpdial *d, int err)
{
	char why[256];

	snprintf(why, sizeof(why), "%s", strerror(err));
	finish(d, err, why);
}

static void
rearm(struct tcpdial *d)
{
	int events = 0;

	if (d->poll == NULL || d->state == TCP_DONE)
		return;
	if (d->state == TCP_CONNECTING) {
		events = UV_WRITABLE;
	} else {
		if (d->reading)
			events |= UV_READABLE;
		if (buf_len(&d->tx) > 0)
			events |= UV_WRITABLE;
	}
	if (events == d->poll_events)
		return;
	d->poll_events = events;
	if (events == 0)
		uv_poll_stop(d->poll);
	else
		uv_poll_start(d->poll, events, poll_cb);
}

/* Sends what is queued; -1 after an error (reported). */
static int
flush(struct tcpdial *d)
{
	size_t before = buf_len(&d->tx);

	while (buf_len(&d->tx) > 0) {
		ssize_t n = send(d->t.fd, buf_head(&d->tx), buf_len(&d->tx), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail_errno(d, errno);
			return -1;
		}
		buf_consume(&d->tx, (size_t)n);
	}
	d->t.queued = buf_len(&d->tx);
	if (buf_len(&d->tx) == 0) {
		buf_free(&d->tx);
		if (d->shut)
			shutdown(d->t.fd, SHUT_WR);
		if (before > 0 && d->t.ev->drained != NULL)
			d->t.ev->drained(&d->t);
	}
	return 0;
}

static void
receive(struct tcpdial *d)
{
	size_t total = 0;

	while (d->reading && d->state == TCP_UP) {
		char *p;
		size_t len;
		d->t.ev->alloc(&d->t, READ_CHUNK, &p, &len);
		ssize_t n = recv(d->t.fd, p, len, 0);
		if (n > 0) {
			if (!d->banner_seen && memchr(p, '\n', (size_t)n) != NULL) {
				d->banner_seen = true;
				uv_timer_stop(&d->timer);
			}
			total += (size_t)n;
			d->t.ev->received(&d->t, (size_t)n);
			continue;
		}
		if (n == 0) {
			finish(d, 0, "closed by the server");
		} else if (errno == EINTR) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fail_errno(d, errno);
		}
		break;
	}
	/*
	 * Small reads are interactive traffic: acknowledge at once. Otherwise
	 * the server's next small packet (sshd sends a channel's first data
	 * right after its open confirmation) waits out our delayed ACK, ~40 ms.
	 */
	if (total > 0 && total < QUICKACK_BELOW && d->t.fd != -1) {
		int one = 1;
		setsockopt(d->t.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
}

static void
tune_socket(struct tcpdial *d)
{
	int one = 1, fd = d->t.fd;
	int interval = d->opt->server_alive_interval >= 0 ? d->opt->server_alive_interval : 15;
	int cnt = d->opt->server_alive_count_max > 0 ? d->opt->server_alive_count_max : 3;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (interval > 0) {
		/* The kernel gives up on a silent peer on the same schedule. */
		unsigned timeout = (unsigned)interval * 1000u * (unsigned)cnt;
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &interval, sizeof(interval));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
	}
}

static void
connected(struct tcpdial *d)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(d->t.fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		d->last_error = err;
		snprintf(d->connect_why, sizeof(d->connect_why), "%s", strerror(err));
		log_verbose("connect to %s: %s", d->t.peer, d->connect_why);
		connect_next(d);
		return;
	}
	uv_timer_stop(&d->timer);
	log_debug("TCP connection to %s established", d->t.peer);
	d->banner_seen = false;
	if (d->connect_timeout_ms > 0) {
		/* What is left of ConnectTimeout is for the server's banner (ssh does the same). */
		uint64_t spent = uv_now(d->t.loop) - d->connect_start;
		uint64_t left = spent < d->connect_timeout_ms ? d->connect_timeout_ms - spent : 1;
		uv_timer_start(&d->timer, timer_cb, left, 0);
	}
	tune_socket(d);
	set_state(d, TCP_UP);
	d->reading = true;
	rearm(d);
	d->t.ev->up(&d->t);
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct tcpdial *d = h->data;

	if (d->state == TCP_CONNECTING) {
		connected(d);
		return;
	}
	if (status < 0) {
		/* libuv reports a failed socket as EBADF; the socket knows the real error. */
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(d->t.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0)
			err = -status;
		fail_errno(d, err);
		return;
	}
	if ((events & UV_WRITABLE) && flush(d) == -1)
		return;
	if (events & UV_READABLE)
		receive(d);
	rearm(d);
}

static void
timer_cb(uv_timer_t *t)
{
	struct tcpdial *d = t->data;

	char why[400];

	if (d->state == TCP_UP && d->last_error != 0) {
		fail_errno(d, d->last_error); /* a send failed in write() */
	} else if (d->state == TCP_UP && !d->banner_seen) {
		snprintf(why, sizeof(why), "timed out during banner exchange (%s)",
		    d->opt->connect_timeout > 0 ? "ConnectTimeout" : "15 s");
		finish(d, ETIMEDOUT, why);
	} else if (d->state == TCP_CONNECTING && d->retry_wait) {
		d->retry_wait = false;
		connect_next(d);
	} else if (d->state == TCP_CONNECTING) {
		log_verbose("connect to %s timed out", d->t.peer);
		d->last_error = ETIMEDOUT;
		snprintf(d->connect_why, sizeof(d->connect_why), "connection timed out");
		connect_next(d);
	}
}

/* A socket for ai, bound to BindAddress / BindInterface if set; -1 with connect_why. */
static int
dial_socket(struct tcpdial *d, const struct addrinfo *ai)
{
	struct sockaddr_storage local;
	socklen_t len = 0;
	char why[256];
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		snprintf(d->connect_why, sizeof(d->connect_why), "%s", strerror(errno));
		return -1;
	}
	int rc = bindaddr_resolve(d->opt->bind_address, d->opt->bind_interface, ai->ai_family,
	    &local, &len, why, sizeof(why));
	if (rc == -1) {
		snprintf(d->connect_why, sizeof(d->connect_why), "%s", why);
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
		    d->connect_why, sizeof(d->connect_why), "bind %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Tries the next address; true if a connect is under way. */
static bool
try_address(struct tcpdial *d, struct addrinfo *ai)
{
	char addr[INET6_ADDRSTRLEN];
	const void *in = ai->ai_family == AF_INET6
	    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
	    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

	inet_ntop(ai->ai_family, in, addr, sizeof(addr));
	snprintf(d->t.peer, sizeof(d->t.peer), ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
	    addr, d->port);
	int fd = dial_socket(d, ai);
	if (fd == -1) {
		log_verbose("connect to %s: %s", d->t.peer, d->connect_why);
		return false;
	}
	log_debug("connecting to %s", d->t.peer);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS) {
		d->last_error = errno;
		snprintf(d->connect_why, sizeof(d->connect_why), "%s", strerror(errno));
		log_verbose("connect to %s: %s", d->t.peer, d->connect_why);
		close(fd);
		return false;
	}
	d->t.fd = fd;
	d->poll = xcalloc(1, sizeof(*d->poll));
	uv_poll_init_socket(d->t.loop, d->poll, fd);
	d->poll->data = d;
	d->refs++;
	d->poll_events = UV_WRITABLE;
	uv_poll_start(d->poll, UV_WRITABLE, poll_cb);
	d->connect_start = uv_now(d->t.loop);
	if (d->connect_timeout_ms > 0)
		uv_timer_start(&d->timer, timer_cb, d->connect_timeout_ms, 0);
	return true;
}

static void
connect_next(struct tcpdial *d)
{
	char why[512];

	close_socket(d);
	uv_timer_stop(&d->timer);
	while (d->next_addr != NULL) {
		struct addrinfo *ai = d->next_addr;
		d->next_addr = ai->ai_next;
		if (try_address(d, ai))
			return;
	}
	if (++d->attempt < d->attempts) {
		log_verbose("cannot connect to %s port %d: %s; trying again (attempt %d of %d)",
		    d->host, d->port, d->connect_why, d->attempt + 1, d->attempts);
		d->next_addr = d->addrs;
		d->retry_wait = true;
		uv_timer_start(&d->timer, timer_cb, RETRY_DELAY_MS, 0);
		return;
	}
	snprintf(why, sizeof(why), "cannot connect to %s port %d: %s", d->host, d->port,
	    d->connect_why[0] ? d->connect_why : "no address to connect to");
	finish(d, d->last_error ? d->last_error : ETIMEDOUT, why);
}

static void
resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct tcpdial *d = req->data;
	char why[512];

	d->resolving = false;
	if (d->closing || d->state != TCP_RESOLVING) {
		uv_freeaddrinfo(res);
		unref(d);
		return;
	}
	d->refs--; /* still held by the timer */
	if (status < 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", d->host, uv_strerror(status));
		finish(d, EHOSTUNREACH, why);
		return;
	}
	d->addrs = d->next_addr = res;
	d->attempt = 0;
	d->retry_wait = false;
	d->connect_why[0] = '\0';
	set_state(d, TCP_CONNECTING);
	connect_next(d);
}

static int
tcp_start(struct transport *t)
{
	struct tcpdial *d = (struct tcpdial *)t;
	struct addrinfo hints;
	char port[16], why[512];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = d->opt->address_family == FAMILY_INET ? AF_INET
	    : d->opt->address_family == FAMILY_INET6		? AF_INET6
								: AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", d->port);
	snprintf(d->t.peer, sizeof(d->t.peer), "%s:%d", d->host, d->port);
	set_state(d, TCP_RESOLVING);
	d->gai.data = d;
	int rc = uv_getaddrinfo(t->loop, &d->gai, resolved_cb, d->host, port, &hints);
	if (rc < 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", d->host, uv_strerror(rc));
		finish(d, EHOSTUNREACH, why);
		return -1;
	}
	d->resolving = true;
	d->refs++;
	return 0;
}

static void
tcp_read(struct transport *t, bool on)
{
	struct tcpdial *d = (struct tcpdial *)t;

	if (d->state != TCP_UP || d->reading == on)
		return;
	d->reading = on;
	rearm(d);
}

static void
tcp_write(struct transport *t, const void *data, size_t len)
{
	struct tcpdial *d = (struct tcpdial *)t;
	ssize_t n = 0;

	if (d->state != TCP_UP || d->shut)
		return; /* the error, if any, has been or will be reported */
	if (buf_len(&d->tx) == 0) {
		n = send(d->t.fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				/* Reported from a fresh stack: the writer may be deep in libssh2.
				 */
				d->last_error = errno;
				uv_timer_start(&d->timer, timer_cb, 0, 0);
				n = (ssize_t)len;
			} else {
				n = 0;
			}
		}
	}
	buf_append(&d->tx, (const char *)data + n, len - (size_t)n);
	d->t.queued = buf_len(&d->tx);
	rearm(d);
}

static void
tcp_shutdown(struct transport *t)
{
	struct tcpdial *d = (struct tcpdial *)t;

	d->shut = true;
	if (d->state == TCP_UP && buf_len(&d->tx) == 0)
		shutdown(d->t.fd, SHUT_WR);
}

static void
tcp_close(struct transport *t)
{
	struct tcpdial *d = (struct tcpdial *)t;

	if (d->closing)
		return;
	d->closing = true;
	finish(d, 0, "closed");
	close_socket(d);
	if (d->resolving)
		uv_cancel((uv_req_t *)&d->gai);
	uv_close((uv_handle_t *)&d->timer, handle_closed_cb);
}

static void
tcp_shallow(struct transport *t, bool on)
{
#ifdef TCP_NOTSENT_LOWAT
	int lowat = on ? NOTSENT_LOWAT : 0; /* 0: the system's default */

	if (t->fd != -1)
		setsockopt(t->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
#else
	(void)t;
	(void)on;
#endif
}

static int64_t
tcp_min_rtt_us(struct transport *t)
{
	return t->fd != -1 ? tcpinfo_min_rtt_us(t->fd) : -1;
}

static const struct transport_ops tcp_ops = {
    .start = tcp_start,
    .read = tcp_read,
    .write = tcp_write,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
    .shallow = tcp_shallow,
    .min_rtt_us = tcp_min_rtt_us,
};

struct transport *
tcpdial_new(uv_loop_t *loop, const char *host, int port, const struct options *opt,
    const struct transport_events *ev, void *data)
{
	struct tcpdial *d = xcalloc(1, sizeof(*d));

	d->t.ops = &tcp_ops;
	d->t.ev = ev;
	d->t.data = data;
	d->t.loop = loop;
	d->t.fd = -1;
	d->host = xstrdup(host);
	d->port = port;
	d->opt = opt;
	d->connect_timeout_ms =
	    (uint64_t)(opt->connect_timeout >= 0 ? opt->connect_timeout : CONNECT_TIMEOUT_S) * 1000;
	d->attempts = opt->connection_attempts > 0 ? opt->connection_attempts : 1;
	buf_init(&d->tx);
	uv_timer_init(loop, &d->timer);
	d->timer.data = d;
	d->refs = 1; /* the timer */
	return &d->t;
}
