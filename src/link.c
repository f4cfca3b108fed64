/*
 * One forwarded connection: a TCP connection or a Unix socket connection
 * (uv_pipe_t, for -L /path and -R port:/path) on our side, and a far end
 * that is an SSH channel or, for -L and -D when OpenVia chooses it
 * (relayhub.c), a TCP stream through the relay (rstream.c). The far_*
 * functions are the only code that asks which; everything below holds for
 * both. Each direction has its own half-state, as in OpenSSH's nchan.c:
 *
 *   up   (local socket -> far end):  OPEN --local EOF--> DRAIN
 *                                     --buffer sent, EOF sent--> CLOSED
 *   down (far end -> local socket):  OPEN --far end's EOF--> DRAIN
 *                                     --writes flushed, shutdown done--> CLOSED
 *
 * A stream link is 0-RTT: -L sends SOPEN at accept and SDATA as bytes
 * arrive, within the relay's credit (the relay holds them until it has
 * connected); -D sends SOPEN after the SOCKS request and answers the client
 * on SOPENED (SRESET's code becomes the SOCKS reply). A reset from the relay
 * is an error end as below; an error end here resets the stream
 * (RST_ABORTED).
 *
 * Link states: OPENING (-L: waiting for the channel) or CONNECTING (-R: the
 * channel came from the server; resolving and connecting the local target,
 * address after address) -> OPEN -> CLOSING (the handle is closing; the link
 * is freed when its handle and any pending lookup are done). Both halves CLOSED, or an
 * error on either side, leads to CLOSING; the channel goes back to the
 * session to be closed in the background.
 *
 * How a link ends tells the local application what happened. An orderly
 * end (the far end's EOF, passed on as a shutdown, then both halves done)
 * closes the socket normally. Anything else (the session lost or dead, a
 * channel that fails, an open refused or expired, porthole stopping) is an
 * error: the link stops reading, writes out what it already received from
 * the far end (its write queue, then the kernel's send queue, for at most
 * DRAIN_MAX_MS), then resets the connection (SO_LINGER 0), so the
 * application's next recv fails with ECONNRESET instead of seeing a clean
 * end of a truncated stream.
 *
 * Backpressure: the local socket is read only while the up buffer is under
 * UP_HIGH; the buffer drains only as fast as the channel window and the
 * session's send queue allow. The channel is read only while the local
 * socket's write queue is under DOWN_HIGH; unread data stays in libssh2,
 * bounded by the channel window.
 *
 * Class (session.c schedules by it): a link that moved BULK_BYTES or more,
 * either way, within one BULK_WINDOW_MS window, or holds that much in its
 * up buffer (it has more to send than it may), is bulk until a window that
 * ends with neither; every other link is interactive. So a link sending
 * small writes now and then (a remote screen, a shell) keeps its writes
 * ahead of a copy on the same session, and a copy is at most BULK_BYTES
 * into the queue before it is seen as one.
 *
 * In flight: a bulk link's bytes on their way between porthole and sshd
 * queue ahead of everything else on the connection, in the kernels' socket
 * buffers and in sshd. So while an interactive client is active
 * (session_interactive_recent), a bulk link keeps at most a bound in
 * flight each way: downloads through the receive window, uploads by not
 * writing past that much unacknowledged. The bound follows the path, not a
 * constant (inflight.c): 2 x the link's delivery rate in that direction
 * (the best 100 ms of the last second, alone or not) x the path's minimum
 * round trip (session_path_rtt_us), so one bandwidth-delay product on the
 * wire and one queued; at least INFLIGHT_FLOOR_DOWN / _UP (inflight.h: 64
 * KiB down, which keeps small replies quick on a short path, where the
 * product is a few KiB; 192 KiB up, which sshd's window adjustments need),
 * at most WINDOW_ALONE; INFLIGHT_UNKNOWN while the round trip is unknown
 * (session_inflight_bound).
 * Otherwise a bulk link has WINDOW_ALONE each way (libssh2's and sshd's
 * 2 MiB, which long links need for speed).
 *
 * The receive window: libssh2 tops a channel's window up to its size at
 * open plus the read size (READ_CHUNK) by itself, and only porthole's own
 * window adjustments raise it further. So channels opened while
 * an interactive client is active open with WINDOW_OPEN (128 KiB, which
 * libssh2 keeps topped up to 192 KiB: a channel's least, above
 * INFLIGHT_FLOOR_DOWN, since a smaller window would have libssh2 send an
 * adjustment for every few KiB read; only relay streams go down to the
 * floor), and grow_window raises a bulk link's window to its bound, or to
 * WINDOW_ALONE; a smaller target needs no action, the window shrinks as
 * data arrives. Opened with nothing interactive active, they open with
 * WINDOW_OPEN_ALONE, that window's floor later: a reply of a few hundred
 * KiB (a web page through -D) then crosses a long path in one round trip
 * rather than two or three, as it did before the bound. -L and -D channels
 * get it at open (link_open_window); -R channels, which sshd opens, through
 * libssh2_session_set_accept_window (rforward.c), where scripts/libssh2's
 * patch 06 gives libssh2 that call; with a stock libssh2 they open with
 * its 2 MiB, which a bulk link keeps beside interactive traffic too. A
 * relay stream follows the same rule through its credit (rstream.c): its
 * receive window is the protocol's 256 KiB while the link is interactive,
 * then the bound or WINDOW_ALONE as a channel's. The relay gives a transfer
 * 4 MiB its way (relaystream.c); the relay channel keeps what it has in
 * flight to the bound beside interactive traffic (relaychan.c), as a
 * channel's link does.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "inflight.h"
#include "link.h"
#include "log.h"
#include "relayhub.h"
#include "rstream.h"
#include "socks.h"
#include "udpfwd.h"
#include "xmalloc.h"

#define UP_HIGH (256 * 1024)
#define DOWN_HIGH (256 * 1024)
#define READ_CHUNK (64 * 1024)
#define PUMP_BUDGET (1024 * 1024) /* bytes one link may move per pass, for fairness */
#define DRAIN_MAX_MS 5000	  /* an ending link waits this long for its data to be read */
#define DRAIN_STOP_MS 1000	  /* ... or this long when porthole is stopping */
#define DRAIN_POLL_MS 10
#define BULK_WINDOW_MS 100	       /* how long the class looks back */
#define BULK_BYTES (64 * 1024)	       /* moved within a window: bulk (~640 KB/s) */
#define WINDOW_ALONE INFLIGHT_CEILING  /* what a bulk link has alone */
#define WINDOW_OPEN (128 * 1024)       /* receive window at open (link_open_window) ... */
#define WINDOW_OPEN_ALONE (512 * 1024) /* ... with nothing interactive active */

/* far_* results, apart from byte counts, 0 (nothing now) and libssh2's errors */
#define FAR_GONE (-1000)  /* the far end takes no more (a channel closed for writing) */
#define FAR_EOF (-1001)	  /* the far end's EOF, after its last byte */
#define FAR_RESET (-1002) /* the stream was reset (rstream_why says why) */

enum half {
	HALF_OPEN,
	HALF_DRAIN,
	HALF_CLOSED,
};

enum link_state {
	LINK_SOCKS,	 /* -D: reading the client's SOCKS request */
	LINK_OPENING,	 /* -L: waiting for the channel */
	LINK_CONNECTING, /* -R: resolving and connecting the local target */
	LINK_OPEN,
	LINK_REFUSING,	 /* -D: flushing a SOCKS error reply before closing */
	LINK_ASSOCIATED, /* -D: holding a UDP association open (its datagrams go elsewhere) */
	LINK_CLOSING,
};

static const char *const half_names[] = {"open", "drain", "closed"};

struct link {
	struct session_client client;
	struct session_req open;
	struct link *prev, *next;
	struct link_list *list;
	struct session *session;
	const char *name;
	unsigned id;
	enum link_state state;
	enum half up, down;
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe; /* is_pipe: a Unix socket */
	} io;
	bool is_pipe;
	uv_shutdown_t shutdown;
	LIBSSH2_CHANNEL *ch;
	struct rstream *st;   /* the far end when it is a relay stream (ch is NULL then) */
	struct relayhub *hub; /* -L/-D: where streams come from; NULL: channels only */
	struct buf upbuf;
	bool reading;
	bool up_blocked;	     /* channel window was full at rx generation up_gen */
	unsigned long up_window_max; /* the largest send window seen: in flight is that minus now */
	unsigned long up_gen;
	bool down_idle; /* channel had nothing at rx generation down_gen */
	unsigned long down_gen;
	uint64_t bytes_up, bytes_down;
	uint64_t class_since;			 /* loop time the current class window began */
	uint64_t class_bytes;			 /* bytes_up + bytes_down then */
	struct inflight_rate rate_up, rate_down; /* for the in-flight bound (see the top) */
	size_t window_target;			 /* the receive window grow_window last aimed at */
	size_t up_bound;			 /* the in-flight bound up_allowance last applied */
	int refs;				 /* the tcp handle, and a pending getaddrinfo */

	/* -R: the local target */
	const char *target;
	int port;
	uv_getaddrinfo_t gai;
	bool resolving;
	struct addrinfo *addrs, *next_addr;
	uv_connect_t connect;
	char last_error[128];

	/* -D: the handshake, until the CONNECT is answered */
	struct socks *socks;
	struct udpfwd *udp; /* for UDP ASSOCIATE; NULL without */
	struct udp_assoc *assoc;
	uv_timer_t timer;
	bool has_timer;

	/* Ending with a reset: when the drain gives up; the name (its forward may be gone) */
	uint64_t drain_until;
	char *drain_name;
};

struct write_req {
	uv_write_t req;
	struct link *link;
	char data[];
};

static void link_close(struct link *l, enum log_level level, const char *why);
static void link_abort(struct link *l, enum log_level level, const char *why);
static void link_abort_within(
    struct link *l, enum log_level level, const char *why, uint64_t drain_ms);
static void socks_input(struct link *l);
static void socks_refuse(struct link *l, enum socks_status status);
static void socks_associate(struct link *l);
static enum socks_status socks_status_for(const struct socks *sk, const char *why);
static void link_start(struct link *l, LIBSSH2_CHANNEL *ch);
static int stream_opening(struct link *l);
static void refuse_unavailable(struct link *l);
static int socks_granted(struct link *l);
static void connect_next(struct link *l);

static void
set_half(struct link *l, enum half *h, enum half to)
{
	log_debug3("%s: link %u: %s %s -> %s", l->name, l->id, h == &l->up ? "up" : "down",
	    half_names[*h], half_names[to]);
	*h = to;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct link *l = h->data;
	size_t avail;

	out->base = buf_reserve(&l->upbuf, READ_CHUNK, &avail);
	out->len = avail > READ_CHUNK ? READ_CHUNK : avail;
}

static void
read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
	struct link *l = stream->data;

	if (nread > 0) {
		buf_commit(&l->upbuf, (size_t)nread);
		if (buf_len(&l->upbuf) >= UP_HIGH) {
			uv_read_stop(stream);
			l->reading = false;
		}
		if (l->state == LINK_SOCKS) {
			socks_input(l);
			return;
		}
		if (l->state == LINK_ASSOCIATED) {
			/* RFC 1928: the TCP connection only keeps the association alive. */
			buf_consume(&l->upbuf, buf_len(&l->upbuf));
			return;
		}
	} else if (nread == UV_EOF && l->state == LINK_SOCKS) {
		link_close(l, LOG_DEBUG1, "SOCKS client closed before its request");
		return;
	} else if (nread == UV_EOF && l->state == LINK_ASSOCIATED) {
		link_close(l, LOG_DEBUG1, "UDP association ended");
		return;
	} else if (nread == UV_EOF) {
		uv_read_stop(stream);
		l->reading = false;
		set_half(l, &l->up, HALF_DRAIN);
	} else if (nread < 0) {
		char why[128];
		snprintf(why, sizeof(why), "local read: %s", uv_strerror((int)nread));
		link_abort(l, LOG_VERBOSE, why);
		return;
	}
	session_wake(l->session);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct link *l = w->link;

	free(w);
	if (status == UV_ECANCELED)
		return;
	if (status < 0) {
		char why[128];
		snprintf(why, sizeof(why), "local write: %s", uv_strerror(status));
		link_abort(l, LOG_VERBOSE, why);
		return;
	}
	session_wake(l->session);
}

/* Queues data for the local socket: written at once if possible, else copied. */
static int
write_local(struct link *l, const char *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned int)len);
	int n = 0;

	if (uv_stream_get_write_queue_size((uv_stream_t *)&l->io) == 0) {
		n = uv_try_write((uv_stream_t *)&l->io, &b, 1);
		if (n == UV_EAGAIN)
			n = 0;
		else if (n < 0)
			return n;
		if ((size_t)n == len)
			return 0;
	}
	struct write_req *w = xmalloc(sizeof(*w) + len - (size_t)n);
	w->link = l;
	memcpy(w->data, data + n, len - (size_t)n);
	b = uv_buf_init(w->data, (unsigned int)(len - (size_t)n));
	int rc = uv_write(&w->req, (uv_stream_t *)&l->io, &b, 1, write_cb);
	if (rc < 0)
		free(w);
	return rc;
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	struct link *l = req->data;

	if (status == UV_ECANCELED)
		return;
	if (l->state == LINK_REFUSING) {
		link_close(l, LOG_DEBUG1, "SOCKS error reply sent");
		return;
	}
	set_half(l, &l->down, HALF_CLOSED);
	session_wake(l->session);
}

static bool
is_channel_gone(int rc)
{
	return rc == LIBSSH2_ERROR_CHANNEL_CLOSED || rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT ||
	    rc == LIBSSH2_ERROR_CHANNEL_UNKNOWN;
}

/* ---- the far end: a channel or a stream (each function branches once) ---- */

/* Sends: bytes taken, 0 when it takes none now, FAR_GONE, FAR_RESET, or an error. */
static ssize_t
far_write(struct link *l, const char *data, size_t len)
{
	if (l->st != NULL) {
		ssize_t n = rstream_write(l->st, data, len);
		return n == RSTREAM_RESET ? FAR_RESET : n;
	}
	ssize_t n = libssh2_channel_write(l->ch, data, len);
	if (n == LIBSSH2_ERROR_EAGAIN)
		return 0;
	return n < 0 && is_channel_gone((int)n) ? FAR_GONE : n;
}

/* EOF after the last byte: 0 sent, LIBSSH2_ERROR_EAGAIN later, FAR_GONE, FAR_RESET, or an error. */
static int
far_send_eof(struct link *l)
{
	if (l->st != NULL) {
		int rc = rstream_send_eof(l->st);
		return rc == RSTREAM_AGAIN ? LIBSSH2_ERROR_EAGAIN
		    : rc == RSTREAM_RESET  ? FAR_RESET
					   : 0;
	}
	int rc = libssh2_channel_send_eof(l->ch);
	return is_channel_gone(rc) ? FAR_GONE : rc;
}

/* Receives: bytes, 0 when none now, FAR_EOF, FAR_RESET, or an error. */
static ssize_t
far_read(struct link *l, char *out, size_t len)
{
	if (l->st != NULL) {
		ssize_t n = rstream_read(l->st, out, len);
		return n == RSTREAM_EOF ? FAR_EOF : n == RSTREAM_RESET ? FAR_RESET : n;
	}
	ssize_t n = libssh2_channel_read(l->ch, out, len);
	if (n == 0 && libssh2_channel_eof(l->ch))
		return FAR_EOF;
	return n == LIBSSH2_ERROR_EAGAIN ? 0 : n;
}

/*
 * True when a read would find nothing, asked cheaply: a stream knows; a
 * channel is asked only when the session handed libssh2 everything, and
 * else remembers the rx generation at which it was found empty.
 */
static bool
far_idle(struct link *l, unsigned long gen)
{
	if (l->st != NULL)
		return !rstream_readable(l->st);
	if (l->down_idle && l->down_gen == gen)
		return true;
	return session_drained(l->session) && !libssh2_poll_channel_read(l->ch, 0) &&
	    !libssh2_channel_eof(l->ch);
}

/* The far end goes: a channel back to the session, a stream reset unless it ended. */
static void
far_release(struct link *l)
{
	if (l->st != NULL) {
		rstream_free(l->st);
		l->st = NULL;
	}
	if (l->ch != NULL) {
		session_release_channel(l->session, l->ch);
		l->ch = NULL;
	}
}

static const char *const reset_names[] = {"aborted", "connection refused", "host unreachable",
    "not allowed by the relay", "cannot resolve the name", "too many streams", "protocol error"};

/* "relay stream reset: connection refused (text)" for a reset stream. */
static void
far_reset_why(struct link *l, char *out, size_t len)
{
	uint16_t code = RST_ABORTED;
	const char *text = "";

	rstream_why(l->st, &code, &text);
	snprintf(out, len, "relay stream reset: %s%s%s%s",
	    code < sizeof(reset_names) / sizeof(reset_names[0]) ? reset_names[code] : "aborted",
	    text[0] ? " (" : "", text, text[0] ? ")" : "");
}

/*
 * The relay reset the stream: the local connection is reset too, after what
 * arrived before. A target that could not be reached is said as a channel
 * the server could not open is (info); a reset later, at -v.
 */
static void
far_reset_abort(struct link *l)
{
	char why[300];

	far_reset_why(l, why, sizeof(why));
	link_abort(l, rstream_is_opened(l->st) ? LOG_VERBOSE : LOG_INFO, why);
}

/* The SOCKS reply for a reset stream (docs/relay-protocol.md's table). */
static enum socks_status
socks_status_for_reset(uint16_t code)
{
	switch (code) {
	case RST_REFUSED:
		return SOCKS_REFUSED;
	case RST_UNREACHABLE:
	case RST_RESOLVE:
		return SOCKS_HOST_UNREACHABLE;
	case RST_NOT_ALLOWED:
		return SOCKS_NOT_ALLOWED;
	default:
		return SOCKS_GENERAL_FAILURE;
	}
}

unsigned
link_open_window(const struct session *s)
{
	return session_interactive_recent(s) ? WINDOW_OPEN : WINDOW_OPEN_ALONE;
}

/* A bulk link's in-flight bound beside interactive traffic, one direction (see the top). */
static size_t
inflight_limit(struct link *l, bool up)
{
	return session_inflight_bound(
	    l->session, inflight_rate_max(up ? &l->rate_up : &l->rate_down), up);
}

/* How much pump_up may write now: all of upbuf, or what keeps in flight under the bound. */
static size_t
up_allowance(struct link *l)
{
	size_t len = buf_len(&l->upbuf), in_flight;

	if (l->ch != NULL) {
		unsigned long window = libssh2_channel_window_write_ex(l->ch, NULL);
		if (window > l->up_window_max)
			l->up_window_max = window;
		in_flight = l->up_window_max - window;
	} else {
		/*
		 * A relay stream: its credit bounds it, and the relay channel keeps
		 * its own bytes in flight to the bound (relaychan.c). Not here: the
		 * relay gives credit back a quarter of its window at a time, which a
		 * stream held under the bound would never reach.
		 */
		return len;
	}
	if (!l->client.bulk || !session_interactive_recent(l->session))
		return len;
	size_t bound = inflight_limit(l, true);
	session_log_bound(l->session, &l->up_bound, bound, true, inflight_rate_max(&l->rate_up),
	    "%s: link %u: in flight", l->name, l->id);
	if (in_flight >= bound)
		return 0;
	return len < bound - in_flight ? len : bound - in_flight;
}

/*
 * A bulk link's receive window up to its bound beside interactive traffic,
 * or to WINDOW_ALONE without any (see the top); libssh2 itself keeps it at
 * WINDOW_OPEN plus one read. A relay stream's the same way, through its
 * credit. -1: link closed.
 */
static int
grow_window(struct link *l)
{
	if (!l->client.bulk) {
		if (l->st != NULL)
			rstream_set_window(l->st, RELAYCHAN_STREAM_WINDOW);
		return 0; /* a channel keeps its window at open */
	}
	bool shared = session_interactive_recent(l->session);
	size_t target = shared ? inflight_limit(l, false) : WINDOW_ALONE;

	session_log_bound(l->session, &l->window_target, target, shared,
	    inflight_rate_max(&l->rate_down), "%s: link %u: receive window", l->name, l->id);
	if (l->ch == NULL) {
		if (l->st != NULL)
			rstream_set_window(l->st, (uint32_t)target);
		return 0;
	}
	unsigned long window = libssh2_channel_window_read_ex(l->ch, NULL, NULL);

	if (window >= target / 4 * 3)
		return 0;
	int rc = libssh2_channel_receive_window_adjust2(
	    l->ch, (unsigned long)(target - window), 0, NULL);
	if (rc == 0 || rc == LIBSSH2_ERROR_EAGAIN)
		return 0;
	session_check_error(l->session, rc);
	link_abort(l, LOG_VERBOSE, "window adjust failed");
	return -1;
}

/* Local socket to channel. Returns -1 if the link closed. */
static int
pump_up(struct link *l)
{
	unsigned long gen = session_rx_generation(l->session);

	if (l->up_blocked && l->up_gen == gen)
		return 0;
	l->up_blocked = false;
	while (l->up != HALF_CLOSED && buf_len(&l->upbuf) > 0 &&
	    session_client_can_send(l->session, &l->client)) {
		size_t len = up_allowance(l);
		if (len == 0) {
			/* Enough in flight: wait for the server's WINDOW_ADJUST. */
			l->up_blocked = true;
			l->up_gen = gen;
			break;
		}
		ssize_t n = far_write(l, buf_head(&l->upbuf), len);
		if (n > 0) {
			buf_consume(&l->upbuf, (size_t)n);
			l->bytes_up += (uint64_t)n;
			l->list->bytes_up += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			/*
			 * Window full: wait for the server's WINDOW_ADJUST. A stream's
			 * credit comes in a frame that wakes the session itself.
			 */
			l->up_blocked = l->st == NULL;
			l->up_gen = gen;
			break;
		}
		if (n == FAR_RESET) {
			/* pump_down writes out what arrived, then resets; unless it is done. */
			if (l->down == HALF_OPEN)
				break;
			far_reset_abort(l);
			return -1;
		}
		if (n == FAR_GONE) {
			/* The far end is gone for writing; let the other half finish. */
			buf_free(&l->upbuf);
			set_half(l, &l->up, HALF_CLOSED);
			break;
		}
		session_check_error(l->session, (int)n);
		link_abort(l, LOG_VERBOSE, "channel write failed");
		return -1;
	}
	if (buf_len(&l->upbuf) == 0)
		buf_free(&l->upbuf); /* idle links hold no buffer */
	if (l->up == HALF_OPEN && !l->reading && buf_len(&l->upbuf) < UP_HIGH / 2) {
		if (uv_read_start((uv_stream_t *)&l->io, alloc_cb, read_cb) == 0)
			l->reading = true;
	}
	if (l->up == HALF_DRAIN && buf_len(&l->upbuf) == 0) {
		int rc = far_send_eof(l);
		if (rc == 0 || rc == FAR_GONE) {
			set_half(l, &l->up, HALF_CLOSED);
		} else if (rc == FAR_RESET) {
			/*
			 * Our bytes may not all have reached the target: never a clean
			 * close. As for a write, pump_down resets once it wrote out
			 * what arrived, unless it is done.
			 */
			if (l->down == HALF_OPEN)
				return 0;
			far_reset_abort(l);
			return -1;
		} else if (rc != LIBSSH2_ERROR_EAGAIN) {
			session_check_error(l->session, rc);
			link_abort(l, LOG_VERBOSE, "sending EOF failed");
			return -1;
		}
	}
	return 0;
}

/* Channel to local socket. Returns 1 if the budget ran out, -1 if the link closed. */
static int
pump_down(struct link *l)
{
	static char chunk[READ_CHUNK];
	unsigned long gen = session_rx_generation(l->session);
	size_t moved = 0;

	if (l->down != HALF_OPEN)
		return 0;
	/* Asking whether data is queued is far cheaper than a read that finds none. */
	if (far_idle(l, gen)) {
		l->down_idle = true;
		l->down_gen = gen;
		return 0;
	}
	l->down_idle = false;
	if (grow_window(l) == -1)
		return -1;
	while (uv_stream_get_write_queue_size((uv_stream_t *)&l->io) < DOWN_HIGH) {
		if (moved >= PUMP_BUDGET)
			return 1;
		ssize_t n = far_read(l, chunk, sizeof(chunk));
		if (n > 0) {
			int rc = write_local(l, chunk, (size_t)n);
			if (rc < 0) {
				char why[128];
				snprintf(why, sizeof(why), "local write: %s", uv_strerror(rc));
				link_abort(l, LOG_VERBOSE, why);
				return -1;
			}
			l->bytes_down += (uint64_t)n;
			l->list->bytes_down += (uint64_t)n;
			moved += (size_t)n;
			continue;
		}
		if (n == FAR_RESET) {
			far_reset_abort(l);
			return -1;
		}
		if (n == FAR_EOF) {
			set_half(l, &l->down, HALF_DRAIN);
			l->shutdown.data = l;
			if (uv_shutdown(&l->shutdown, (uv_stream_t *)&l->io, shutdown_cb) < 0)
				set_half(l, &l->down, HALF_CLOSED);
			return 0;
		}
		if (n == 0) {
			l->down_idle = true;
			l->down_gen = gen;
			return 0;
		}
		session_check_error(l->session, (int)n);
		link_abort(l, LOG_VERBOSE, "channel read failed");
		return -1;
	}
	return 0;
}

/* Bulk or interactive, from what the link moved in the current window (see the top). */
static void
classify(struct link *l)
{
	uint64_t now = uv_now(uv_handle_get_loop((uv_handle_t *)&l->io));
	uint64_t total = l->bytes_up + l->bytes_down;
	bool busy = total - l->class_bytes >= BULK_BYTES || buf_len(&l->upbuf) >= BULK_BYTES;

	inflight_rate_note(&l->rate_up, now, l->bytes_up);
	inflight_rate_note(&l->rate_down, now, l->bytes_down);
	bool was = l->client.bulk;

	if (now - l->class_since >= BULK_WINDOW_MS) {
		l->client.bulk = busy;
		l->class_since = now;
		l->class_bytes = total;
	} else if (busy) {
		l->client.bulk = true;
	}
	if (l->client.bulk && !was)
		session_unmark_interactive(l->session, &l->client);
}

static bool
link_pump(struct session_client *c)
{
	struct link *l = container_of(c, struct link, client);
	int more;

	if (l->st != NULL && rstream_unavailable(l->st)) {
		refuse_unavailable(l);
		return false;
	}
	if (l->state == LINK_OPENING && l->st != NULL && stream_opening(l) == -1)
		return false;
	if (l->state != LINK_OPEN)
		return false;
	uint64_t up = l->bytes_up;
	if (pump_up(l) == -1)
		return false;
	if ((more = pump_down(l)) == -1)
		return false;
	classify(l);
	/* Stream bytes reach the transport in the relay channel's pump, so say it here. */
	if (l->st != NULL && l->bytes_up != up && !l->client.bulk)
		session_mark_interactive(l->session, &l->client);
	if (l->up == HALF_CLOSED && l->down == HALF_CLOSED) {
		link_close(l, LOG_DEBUG1, "done");
		return false;
	}
	return more == 1;
}

static void
link_lost(struct session_client *c)
{
	struct link *l = container_of(c, struct link, client);

	l->ch = NULL; /* the session frees it */
	link_abort(l, LOG_VERBOSE, "SSH session lost");
}

static void
open_done(struct session_req *req, const char *why)
{
	struct link *l = container_of(req, struct link, open);
	char msg[512];

	if (req->channel == NULL) {
		bool v6 = strchr(req->host, ':') != NULL;
		if (req->kind == REQ_DIRECT_STREAMLOCAL)
			snprintf(msg, sizeof(msg), "server could not open %s: %s", req->host, why);
		else
			snprintf(msg, sizeof(msg), "server could not open %s%s%s:%d: %s",
			    v6 ? "[" : "", req->host, v6 ? "]" : "", req->port, why);
		if (l->socks != NULL) {
			log_info("%s: link %u: %s", l->name, l->id, msg);
			socks_refuse(l, socks_status_for(l->socks, why));
			return;
		}
		l->state = LINK_OPEN; /* nothing left to cancel */
		link_abort(l, LOG_INFO, msg);
		return;
	}
	log_debug("%s: link %u: channel open", l->name, l->id);
	if (l->socks != NULL && socks_granted(l) < 0) {
		l->state = LINK_OPEN;
		l->ch = req->channel;
		link_abort(l, LOG_VERBOSE, "SOCKS reply could not be sent");
		return;
	}
	link_start(l, req->channel);
}

/*
 * OpenVia relay, and the relay could not be had while the connection waited
 * (nothing of it went out): reset, or the SOCKS client told 0x01. Strict:
 * never a channel instead.
 */
static void
refuse_unavailable(struct link *l)
{
	uint16_t code;
	const char *text = "";
	char why[300];

	rstream_why(l->st, &code, &text);
	snprintf(why, sizeof(why), "OpenVia relay: %s", text);
	if (l->state == LINK_OPENING && l->socks != NULL) {
		log_info("%s: link %u: %s:%u reset: %s", l->name, l->id, l->socks->req.host,
		    l->socks->req.port, why);
		socks_refuse(l, SOCKS_GENERAL_FAILURE);
		return;
	}
	link_abort(l, LOG_INFO, why);
}

/* -D over a stream: the SOCKS reply waits for SOPENED, or says why the relay reset it. */
static int
stream_opening(struct link *l)
{
	uint16_t code;
	const char *text;
	char why[300];

	if (rstream_why(l->st, &code, &text)) {
		far_reset_why(l, why, sizeof(why));
		log_info("%s: link %u: %s:%u: %s", l->name, l->id, l->socks->req.host,
		    l->socks->req.port, why);
		socks_refuse(l, socks_status_for_reset(code));
		return -1;
	}
	if (!rstream_is_opened(l->st))
		return 0;
	log_debug("%s: link %u: relay stream open", l->name, l->id);
	if (socks_granted(l) < 0) {
		l->state = LINK_OPEN;
		link_abort(l, LOG_VERBOSE, "SOCKS reply could not be sent");
		return -1;
	}
	link_start(l, NULL);
	return 0;
}

/* The SOCKS success reply; the handshake is over. */
static int
socks_granted(struct link *l)
{
	uint8_t reply[16];
	size_t n = socks_reply(l->socks, SOCKS_OK, reply, sizeof(reply));

	free(l->socks);
	l->socks = NULL;
	return write_local(l, (const char *)reply, n);
}

static void
unref(struct link *l)
{
	if (--l->refs > 0)
		return;
	buf_free(&l->upbuf);
	if (l->addrs != NULL)
		uv_freeaddrinfo(l->addrs);
	free(l->socks);
	free(l->drain_name);
	free(l);
}

static void
timer_closed_cb(uv_handle_t *h)
{
	unref(h->data);
}

static void
closed_cb(uv_handle_t *h)
{
	struct link *l = h->data;

	if (l->state != LINK_CLOSING) {
		/* A failed connect attempt: the handle is fresh for the next address. */
		uv_tcp_init(h->loop, &l->io.tcp);
		l->io.tcp.data = l;
		connect_next(l);
		return;
	}
	unref(l);
}

/*
 * What both endings share: the link leaves the session and its list, and
 * its channel goes back to the session. False if it was ending already.
 */
static bool
link_end(struct link *l, enum log_level level, const char *how, const char *why)
{
	if (l->state == LINK_CLOSING)
		return false;
	log_msg(level, "%s: link %u %s: %s (%llu bytes up, %llu down)", l->name, l->id, how, why,
	    (unsigned long long)l->bytes_up, (unsigned long long)l->bytes_down);
	if (l->state == LINK_OPENING && l->st == NULL)
		session_cancel_request(l->session, &l->open);
	if (l->resolving)
		uv_cancel((uv_req_t *)&l->gai);
	if (l->assoc != NULL) {
		udpfwd_dissociate(l->udp, l->assoc);
		l->assoc = NULL;
	}
	l->state = LINK_CLOSING;
	session_remove_client(l->session, &l->client);
	far_release(l);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		l->list->head = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->list->count--;
	return true;
}

static void
close_timer(struct link *l)
{
	if (l->has_timer) {
		l->has_timer = false;
		uv_close((uv_handle_t *)&l->timer, timer_closed_cb);
	}
}

/* An orderly end: the local socket is closed normally (after a shutdown, if one was sent). */
static void
link_close(struct link *l, enum log_level level, const char *why)
{
	if (!link_end(l, level, "closed", why))
		return;
	close_timer(l);
	if (!uv_is_closing((uv_handle_t *)&l->io))
		uv_close((uv_handle_t *)&l->io, closed_cb);
}

/* Bytes written to the local socket that its reader has not taken yet. */
static size_t
unsent(struct link *l)
{
	size_t n = uv_stream_get_write_queue_size((uv_stream_t *)&l->io);
	uv_os_fd_t fd;

	if (n > 0 || uv_fileno((uv_handle_t *)&l->io, &fd) != 0)
		return n;
#if defined(TIOCOUTQ)
	int q = 0;
	if (ioctl(fd, TIOCOUTQ, &q) == 0 && q > 0)
		n = (size_t)q;
#elif defined(SO_NWRITE)
	int q = 0;
	socklen_t len = sizeof(q);
	if (getsockopt(fd, SOL_SOCKET, SO_NWRITE, &q, &len) == 0 && q > 0)
		n = (size_t)q;
#endif
	return n;
}

static void
reset_now(struct link *l)
{
	struct linger lg = {1, 0};
	uv_os_fd_t fd;

	close_timer(l);
	if (!l->is_pipe && uv_tcp_close_reset(&l->io.tcp, closed_cb) == 0)
		return;
	/* libuv refuses once a shutdown was asked for (the far end's EOF went out). */
	if (uv_fileno((uv_handle_t *)&l->io, &fd) == 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	uv_close((uv_handle_t *)&l->io, closed_cb);
}

static void
drain_cb(uv_timer_t *t)
{
	struct link *l = t->data;
	size_t left = unsent(l);

	if (left > 0 && uv_now(t->loop) < l->drain_until) {
		uv_timer_start(&l->timer, drain_cb, DRAIN_POLL_MS, 0);
		return;
	}
	if (left > 0)
		log_verbose("%s: link %u: %zu bytes not read by the application in time; reset "
			    "anyway",
		    l->drain_name, l->id, left);
	reset_now(l);
}

/*
 * An error end: whatever the far end sent and the link received is written
 * out first, then the local socket is reset, so the application sees
 * ECONNRESET, not the clean end of a stream that was cut short.
 */
static void
link_abort(struct link *l, enum log_level level, const char *why)
{
	link_abort_within(l, level, why, DRAIN_MAX_MS);
}

static void
link_abort_within(struct link *l, enum log_level level, const char *why, uint64_t drain_ms)
{
	if (!link_end(l, level, "reset", why))
		return;
	l->list->resets++;
	if (uv_is_closing((uv_handle_t *)&l->io)) {
		/* -R, between two connect attempts: nothing to reset. */
		close_timer(l);
		return;
	}
	if (l->reading) {
		uv_read_stop((uv_stream_t *)&l->io);
		l->reading = false;
	}
	if (unsent(l) == 0) {
		reset_now(l);
		return;
	}
	if (!l->has_timer) {
		uv_timer_init(l->io.tcp.loop, &l->timer);
		l->timer.data = l;
		l->has_timer = true;
		l->refs++;
	}
	l->drain_until = uv_now(l->io.tcp.loop) + drain_ms;
	l->drain_name = xstrdup(l->name);
	uv_timer_start(&l->timer, drain_cb, DRAIN_POLL_MS, 0);
}

/* A link starts with its handle initialised and not yet connected. */
static struct link *
link_new(uv_loop_t *loop, struct session *s, const char *name, struct link_list *list, bool pipe)
{
	struct link *l = xcalloc(1, sizeof(*l));

	l->is_pipe = pipe;
	if (pipe)
		uv_pipe_init(loop, &l->io.pipe, 0);
	else
		uv_tcp_init(loop, &l->io.tcp);
	l->io.tcp.data = l;
	l->refs = 1; /* the tcp handle */
	l->session = s;
	l->name = name;
	l->list = list;
	l->id = ++list->next_id;
	l->next = list->head;
	if (list->head != NULL)
		list->head->prev = l;
	list->head = l;
	list->count++;
	list->total++;
	buf_init(&l->upbuf);
	l->client.pump = link_pump;
	l->client.lost = link_lost;
	return l;
}

/* The channel is there and the local socket connected: start moving bytes. */
static void
link_start(struct link *l, LIBSSH2_CHANNEL *ch)
{
	l->ch = ch;
	l->state = LINK_OPEN;
	if (!l->reading && uv_read_start((uv_stream_t *)&l->io, alloc_cb, read_cb) == 0)
		l->reading = true;
	if (l->client.next == NULL) /* -R links are clients from the start */
		session_add_client(l->session, &l->client);
	session_wake(l->session);
}

/* Who connected (for direct-tcpip's originator); sets TCP_NODELAY on a TCP link. */
static void
peer_name(struct link *l, char *host, size_t len, int *port)
{
	struct sockaddr_storage peer;
	int plen = sizeof(peer);

	snprintf(host, len, "127.0.0.1");
	*port = 0;
	if (l->is_pipe)
		return; /* a Unix socket client has no address: sshd only logs this one */
	uv_tcp_nodelay(&l->io.tcp, 1);
	if (uv_tcp_getpeername(&l->io.tcp, (struct sockaddr *)&peer, &plen) != 0)
		return;
	if (peer.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer;
		uv_ip6_name(in6, host, len);
		*port = ntohs(in6->sin6_port);
	} else if (peer.ss_family == AF_INET) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&peer;
		uv_ip4_name(in4, host, len);
		*port = ntohs(in4->sin_port);
	}
}

/* Whether fd is a Unix-domain socket (accepted on -L /path). */
static bool
is_unix_fd(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

#define REFUSE_WHY "OpenVia relay: the relay on the server cannot do TCP streams"

/* Where a new -L or -D connection goes (OpenVia); a stream is opened now. */
static enum relayhub_via
choose_far(struct link *l, const char *host, int port)
{
	enum relayhub_via via = l->hub != NULL ? relayhub_choose(l->hub) : RELAYHUB_CHANNEL;

	if (via == RELAYHUB_STREAM) {
		l->st = rstream_open(
		    relayhub_streams(l->hub), host, (uint16_t)port, uv_now(l->io.tcp.loop));
		l->list->via_relay++;
		log_debug("%s: link %u: through the relay (stream)", l->name, l->id);
	} else if (via == RELAYHUB_CHANNEL) {
		l->list->via_channel++;
	}
	return via;
}

struct link *
link_accept(uv_loop_t *loop, int fd, struct session *s, struct relayhub *hub, const char *name,
    const char *host, int port, const char *path, struct link_list *list)
{
	bool pipe = is_unix_fd(fd);
	struct link *l = link_new(loop, s, name, list, pipe);

	if ((pipe ? uv_pipe_open(&l->io.pipe, fd) : uv_tcp_open(&l->io.tcp, fd)) < 0) {
		close(fd);
		link_close(l, LOG_DEBUG1, "accept failed");
		return NULL;
	}
	if (path != NULL) {
		l->open.kind = REQ_DIRECT_STREAMLOCAL;
		snprintf(l->open.host, sizeof(l->open.host), "%s", path);
	} else {
		l->open.kind = REQ_DIRECT_TCPIP;
		l->open.window = link_open_window(l->session);
		snprintf(l->open.host, sizeof(l->open.host), "%s", host);
		l->open.port = port;
	}
	l->open.done = open_done;
	peer_name(l, l->open.orig_host, sizeof(l->open.orig_host), &l->open.orig_port);
	log_debug("%s: link %u from %s:%d", name, l->id, l->open.orig_host, l->open.orig_port);
	/* Unix sockets (-L /path, -L port:/path) stay on channels: streams carry TCP only. */
	l->hub = pipe || path != NULL ? NULL : hub;
	switch (choose_far(l, host, port)) {
	case RELAYHUB_STREAM:
		/* 0-RTT: bytes go as they arrive, within the relay's credit. */
		link_start(l, NULL);
		return l;
	case RELAYHUB_REFUSE:
		l->state = LINK_OPEN; /* nothing to cancel */
		link_abort(l, LOG_INFO, REFUSE_WHY);
		return NULL;
	case RELAYHUB_CHANNEL:
		break;
	}
	/* Read while the channel opens: the first bytes are ready to go when it does. */
	if (uv_read_start((uv_stream_t *)&l->io, alloc_cb, read_cb) == 0)
		l->reading = true;
	l->state = LINK_OPENING;
	session_request(s, &l->open);
	return l;
}

/* ---- -R: the server opened a channel; connect to the target here ---- */

static void
connected_cb(uv_connect_t *req, int status)
{
	struct link *l = req->data;
	char why[300];

	if (l->state == LINK_CLOSING)
		return;
	if (status == 0) {
		if (!l->is_pipe)
			uv_tcp_nodelay(&l->io.tcp, 1);
		log_debug("%s: link %u connected to %s", l->name, l->id, l->target);
		LIBSSH2_CHANNEL *ch = l->ch;
		l->ch = NULL;
		link_start(l, ch);
		return;
	}
	snprintf(l->last_error, sizeof(l->last_error), "%s", uv_strerror(status));
	if (l->next_addr != NULL) {
		/* closed_cb starts the next attempt on a fresh handle. */
		uv_close((uv_handle_t *)&l->io, closed_cb);
		return;
	}
	if (l->is_pipe)
		snprintf(why, sizeof(why), "cannot connect to %s: %s", l->target, l->last_error);
	else
		snprintf(why, sizeof(why), "cannot connect to %s:%d: %s", l->target, l->port,
		    l->last_error);
	link_close(l, LOG_INFO, why);
}

static void
connect_next(struct link *l)
{
	char why[300];

	while (l->next_addr != NULL) {
		struct addrinfo *ai = l->next_addr;
		l->next_addr = ai->ai_next;
		l->connect.data = l;
		int rc = uv_tcp_connect(&l->connect, &l->io.tcp, ai->ai_addr, connected_cb);
		if (rc == 0)
			return;
		snprintf(l->last_error, sizeof(l->last_error), "%s", uv_strerror(rc));
	}
	snprintf(
	    why, sizeof(why), "cannot connect to %s:%d: %s", l->target, l->port, l->last_error);
	link_close(l, LOG_INFO, why);
}

static void
resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct link *l = req->data;
	char why[300];

	l->resolving = false;
	l->addrs = res;
	if (l->state == LINK_CLOSING) {
		unref(l);
		return;
	}
	l->refs--;
	if (status < 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", l->target, uv_strerror(status));
		link_close(l, LOG_INFO, why);
		return;
	}
	l->next_addr = res;
	connect_next(l);
}

struct link *
link_connect(uv_loop_t *loop, struct session *s, LIBSSH2_CHANNEL *ch, const char *name,
    const char *host, int port, struct link_list *list)
{
	struct link *l = link_new(loop, s, name, list, false);
	struct addrinfo hints;
	char portstr[8];

	/*
	 * Held in l->ch while connecting (the pump leaves a link that is not
	 * open alone); a client already, so a lost session takes the channel
	 * back and resets the connection being made.
	 */
	l->ch = ch;
	l->state = LINK_CONNECTING;
	session_add_client(s, &l->client);
	l->target = host;
	l->port = port;
	snprintf(l->last_error, sizeof(l->last_error), "no address");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	l->gai.data = l;
	l->refs++;
	l->resolving = true;
	if (uv_getaddrinfo(loop, &l->gai, resolved_cb, host, portstr, &hints) < 0) {
		l->resolving = false;
		l->refs--;
		link_close(l, LOG_INFO, "cannot resolve the target");
		return NULL;
	}
	log_debug("%s: link %u: connecting to %s:%d", name, l->id, host, port);
	return l;
}

struct link *
link_connect_path(uv_loop_t *loop, struct session *s, LIBSSH2_CHANNEL *ch, const char *name,
    const char *path, struct link_list *list)
{
	struct link *l = link_new(loop, s, name, list, true);

	/* As link_connect: held in l->ch, a client already. */
	l->ch = ch;
	l->state = LINK_CONNECTING;
	session_add_client(s, &l->client);
	l->target = path;
	l->port = 0;
	l->connect.data = l;
	uv_pipe_connect(&l->connect, &l->io.pipe, path, connected_cb);
	log_debug("%s: link %u: connecting to %s", name, l->id, path);
	return l;
}

/* ---- -D: SOCKS ---- */

#define SOCKS_TIMEOUT_MS 10000

/* What to tell the SOCKS client about a failed open (libssh2 keeps only the reason code). */
static enum socks_status
socks_status_for(const struct socks *sk, const char *why)
{
	if (strstr(why, "administratively prohibited") != NULL)
		return SOCKS_NOT_ALLOWED;
	if (strstr(why, "connect failed") != NULL)
		/* For a name, sshd reports a failed lookup the same way as a refusal. */
		return sk->req.atyp == SOCKS_ATYP_DOMAIN ? SOCKS_HOST_UNREACHABLE : SOCKS_REFUSED;
	return SOCKS_GENERAL_FAILURE;
}

/* Sends the SOCKS error reply, then closes once it is written. */
static void
socks_refuse(struct link *l, enum socks_status status)
{
	uint8_t reply[16];
	size_t n = socks_reply(l->socks, status, reply, sizeof(reply));

	if (l->reading) {
		uv_read_stop((uv_stream_t *)&l->io);
		l->reading = false;
	}
	l->state = LINK_REFUSING;
	l->shutdown.data = l;
	if (n == 0 || write_local(l, (const char *)reply, n) < 0 ||
	    uv_shutdown(&l->shutdown, (uv_stream_t *)&l->io, shutdown_cb) < 0)
		link_close(l, LOG_DEBUG1, "SOCKS error reply not sent");
}

static void
socks_timeout_cb(uv_timer_t *t)
{
	link_close(t->data, LOG_DEBUG1, "SOCKS handshake timed out");
}

/* Feeds what the client sent to the handshake. */
static void
socks_input(struct link *l)
{
	uint8_t out[SOCKS_OUT_MIN];
	size_t used, outlen;

	for (;;) {
		enum socks_result r = socks_feed(l->socks, (const uint8_t *)buf_head(&l->upbuf),
		    buf_len(&l->upbuf), &used, out, &outlen);
		buf_consume(&l->upbuf, used);
		if (r == SOCKS_NEED_MORE)
			return;
		if (r == SOCKS_FAIL) {
			log_debug("%s: link %u: %s", l->name, l->id, l->socks->error);
			if (outlen == 0) {
				link_close(l, LOG_DEBUG1, "not a SOCKS client");
				return;
			}
			l->state = LINK_REFUSING;
			l->shutdown.data = l;
			if (write_local(l, (const char *)out, outlen) < 0 ||
			    uv_shutdown(&l->shutdown, (uv_stream_t *)&l->io, shutdown_cb) < 0)
				link_close(l, LOG_DEBUG1, "SOCKS error reply not sent");
			return;
		}
		if (outlen > 0 && write_local(l, (const char *)out, outlen) < 0) {
			link_close(l, LOG_DEBUG1, "SOCKS reply not sent");
			return;
		}
		if (r == SOCKS_REQUEST)
			break;
	}
	const struct socks_request *req = &l->socks->req;
	if (req->cmd == SOCKS_CMD_UDP_ASSOCIATE && req->version == SOCKS_V5 && l->udp != NULL) {
		socks_associate(l);
		return;
	}
	if (req->cmd != SOCKS_CMD_CONNECT) {
		log_debug("%s: link %u: SOCKS command %d not supported", l->name, l->id, req->cmd);
		socks_refuse(l, SOCKS_CMD_UNSUPPORTED);
		return;
	}
	uv_timer_stop(&l->timer);
	log_debug("%s: link %u: SOCKS%d CONNECT %s:%u", l->name, l->id, req->version, req->host,
	    req->port);
	l->open.kind = REQ_DIRECT_TCPIP;
	l->open.window = link_open_window(l->session);
	snprintf(l->open.host, sizeof(l->open.host), "%s", req->host);
	l->open.port = req->port;
	l->open.done = open_done;
	l->state = LINK_OPENING;
	switch (choose_far(l, req->host, req->port)) {
	case RELAYHUB_STREAM:
		/* The reply waits for SOPENED (link_pump, stream_opening). */
		session_add_client(l->session, &l->client);
		session_wake(l->session);
		return;
	case RELAYHUB_REFUSE:
		log_info("%s: link %u: %s:%u reset: %s", l->name, l->id, req->host, req->port,
		    REFUSE_WHY);
		socks_refuse(l, SOCKS_GENERAL_FAILURE);
		return;
	case RELAYHUB_CHANNEL:
		break;
	}
	session_request(l->session, &l->open);
}

/* UDP ASSOCIATE: datagrams go through the relay; this connection holds the association. */
static void
socks_associate(struct link *l)
{
	struct sockaddr_storage local, peer, bound;
	int llen = sizeof(local), plen = sizeof(peer);
	char err[256];
	uint8_t reply[32];

	if (uv_tcp_getsockname(&l->io.tcp, (struct sockaddr *)&local, &llen) != 0 ||
	    uv_tcp_getpeername(&l->io.tcp, (struct sockaddr *)&peer, &plen) != 0 ||
	    (l->assoc = udpfwd_associate(l->udp, (struct sockaddr *)&local,
		 (struct sockaddr *)&peer, l->name, &bound, err, sizeof(err))) == NULL) {
		log_info("%s: link %u: UDP ASSOCIATE failed", l->name, l->id);
		socks_refuse(l, SOCKS_GENERAL_FAILURE);
		return;
	}
	uv_timer_stop(&l->timer);
	size_t n = socks_reply_bound(SOCKS_OK, (struct sockaddr *)&bound, reply, sizeof(reply));
	free(l->socks);
	l->socks = NULL;
	l->state = LINK_ASSOCIATED;
	log_debug("%s: link %u: UDP association", l->name, l->id);
	if (write_local(l, (const char *)reply, n) < 0)
		link_close(l, LOG_DEBUG1, "SOCKS reply not sent");
}

struct link *
link_accept_socks(uv_loop_t *loop, int fd, struct session *s, struct relayhub *hub,
    struct udpfwd *udp, const char *name, struct link_list *list)
{
	struct link *l = link_new(loop, s, name, list, false);

	l->udp = udp;
	l->hub = hub;
	l->state = LINK_SOCKS;
	if (uv_tcp_open(&l->io.tcp, fd) < 0) {
		close(fd);
		link_close(l, LOG_DEBUG1, "accept failed");
		return NULL;
	}
	l->socks = xcalloc(1, sizeof(*l->socks));
	peer_name(l, l->open.orig_host, sizeof(l->open.orig_host), &l->open.orig_port);
	log_debug("%s: link %u from %s:%d", name, l->id, l->open.orig_host, l->open.orig_port);
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	l->has_timer = true;
	l->refs++;
	uv_timer_start(&l->timer, socks_timeout_cb, SOCKS_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&l->io, alloc_cb, read_cb) == 0)
		l->reading = true;
	return l;
}

void
link_abort_all(struct link_list *list)
{
	while (list->head != NULL)
		link_abort_within(list->head, LOG_VERBOSE, "porthole is stopping", DRAIN_STOP_MS);
}
