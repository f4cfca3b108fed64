/*
 * One forwarded connection: a uv_tcp_t on our side, an SSH channel on the
 * other. Each direction has its own half-state, as in OpenSSH's nchan.c:
 *
 *   up   (local socket -> channel):  OPEN --local EOF--> DRAIN
 *                                     --buffer sent, EOF sent--> CLOSED
 *   down (channel -> local socket):  OPEN --channel EOF--> DRAIN
 *                                     --writes flushed, shutdown done--> CLOSED
 *
 * Link states: OPENING (waiting for the channel) -> OPEN -> CLOSING (the
 * handle is closing; freed in its close callback). Both halves CLOSED, or an
 * error on either side, leads to CLOSING; the channel goes back to the
 * session to be closed in the background.
 *
 * Backpressure: the local socket is read only while the up buffer is under
 * UP_HIGH; the buffer drains only as fast as the channel window and the
 * session's send queue allow. The channel is read only while the local
 * socket's write queue is under DOWN_HIGH; unread data stays in libssh2,
 * bounded by the channel window.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "link.h"
#include "log.h"
#include "xmalloc.h"

#define UP_HIGH (256 * 1024)
#define DOWN_HIGH (256 * 1024)
#define READ_CHUNK (64 * 1024)
#define PUMP_BUDGET (1024 * 1024) /* bytes one link may move per pass, for fairness */

enum half {
	HALF_OPEN,
	HALF_DRAIN,
	HALF_CLOSED,
};

enum link_state {
	LINK_OPENING,
	LINK_OPEN,
	LINK_CLOSING,
};

static const char *const half_names[] = {"open", "drain", "closed"};

struct link {
	struct session_client client;
	struct chan_open open;
	struct link *prev, *next;
	struct link_list *list;
	struct session *session;
	const char *name;
	unsigned id;
	enum link_state state;
	enum half up, down;
	uv_tcp_t tcp;
	uv_shutdown_t shutdown;
	LIBSSH2_CHANNEL *ch;
	struct buf upbuf;
	bool reading;
	bool up_blocked; /* channel window was full at rx generation up_gen */
	unsigned long up_gen;
	bool down_idle; /* channel had nothing at rx generation down_gen */
	unsigned long down_gen;
	uint64_t bytes_up, bytes_down;
};

struct write_req {
	uv_write_t req;
	struct link *link;
	char data[];
};

static void link_close(struct link *l, enum log_level level, const char *why);

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
	} else if (nread == UV_EOF) {
		uv_read_stop(stream);
		l->reading = false;
		set_half(l, &l->up, HALF_DRAIN);
	} else if (nread < 0) {
		char why[128];
		snprintf(why, sizeof(why), "local read: %s", uv_strerror((int)nread));
		link_close(l, LOG_VERBOSE, why);
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
		link_close(l, LOG_VERBOSE, why);
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

	if (uv_stream_get_write_queue_size((uv_stream_t *)&l->tcp) == 0) {
		n = uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
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
	int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, write_cb);
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
	set_half(l, &l->down, HALF_CLOSED);
	session_wake(l->session);
}

static bool
is_channel_gone(int rc)
{
	return rc == LIBSSH2_ERROR_CHANNEL_CLOSED || rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT ||
	       rc == LIBSSH2_ERROR_CHANNEL_UNKNOWN;
}

/* Local socket to channel. Returns -1 if the link closed. */
static int
pump_up(struct link *l)
{
	unsigned long gen = session_rx_generation(l->session);

	if (l->up_blocked && l->up_gen == gen)
		return 0;
	l->up_blocked = false;
	while (l->up != HALF_CLOSED && buf_len(&l->upbuf) > 0 && session_can_send(l->session)) {
		ssize_t n = libssh2_channel_write(l->ch, buf_head(&l->upbuf), buf_len(&l->upbuf));
		if (n > 0) {
			buf_consume(&l->upbuf, (size_t)n);
			l->bytes_up += (uint64_t)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			/* Window full: wait for the server's WINDOW_ADJUST. */
			l->up_blocked = true;
			l->up_gen = gen;
			break;
		}
		if (is_channel_gone((int)n)) {
			/* The far end is gone for writing; let the other half finish. */
			buf_free(&l->upbuf);
			set_half(l, &l->up, HALF_CLOSED);
			break;
		}
		session_check_error(l->session, (int)n);
		link_close(l, LOG_VERBOSE, "channel write failed");
		return -1;
	}
	if (buf_len(&l->upbuf) == 0)
		buf_free(&l->upbuf); /* idle links hold no buffer */
	if (l->up == HALF_OPEN && !l->reading && buf_len(&l->upbuf) < UP_HIGH / 2) {
		if (uv_read_start((uv_stream_t *)&l->tcp, alloc_cb, read_cb) == 0)
			l->reading = true;
	}
	if (l->up == HALF_DRAIN && buf_len(&l->upbuf) == 0) {
		int rc = libssh2_channel_send_eof(l->ch);
		if (rc == 0 || is_channel_gone(rc)) {
			set_half(l, &l->up, HALF_CLOSED);
		} else if (rc != LIBSSH2_ERROR_EAGAIN) {
			session_check_error(l->session, rc);
			link_close(l, LOG_VERBOSE, "sending EOF failed");
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

	if (l->down != HALF_OPEN || (l->down_idle && l->down_gen == gen))
		return 0;
	/* Asking whether data is queued is far cheaper than a read that finds none. */
	if (session_drained(l->session) && !libssh2_poll_channel_read(l->ch, 0) &&
	    !libssh2_channel_eof(l->ch)) {
		l->down_idle = true;
		l->down_gen = gen;
		return 0;
	}
	l->down_idle = false;
	while (uv_stream_get_write_queue_size((uv_stream_t *)&l->tcp) < DOWN_HIGH) {
		if (moved >= PUMP_BUDGET)
			return 1;
		ssize_t n = libssh2_channel_read(l->ch, chunk, sizeof(chunk));
		if (n > 0) {
			int rc = write_local(l, chunk, (size_t)n);
			if (rc < 0) {
				char why[128];
				snprintf(why, sizeof(why), "local write: %s", uv_strerror(rc));
				link_close(l, LOG_VERBOSE, why);
				return -1;
			}
			l->bytes_down += (uint64_t)n;
			moved += (size_t)n;
			continue;
		}
		if (n == 0 && libssh2_channel_eof(l->ch)) {
			set_half(l, &l->down, HALF_DRAIN);
			l->shutdown.data = l;
			if (uv_shutdown(&l->shutdown, (uv_stream_t *)&l->tcp, shutdown_cb) < 0)
				set_half(l, &l->down, HALF_CLOSED);
			return 0;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			l->down_idle = true;
			l->down_gen = gen;
			return 0;
		}
		session_check_error(l->session, (int)n);
		link_close(l, LOG_VERBOSE, "channel read failed");
		return -1;
	}
	return 0;
}

static bool
link_pump(struct session_client *c)
{
	struct link *l = container_of(c, struct link, client);
	int more;

	if (l->state != LINK_OPEN)
		return false;
	if (pump_up(l) == -1)
		return false;
	if ((more = pump_down(l)) == -1)
		return false;
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
	link_close(l, LOG_VERBOSE, "SSH session lost");
}

static void
open_done(struct chan_open *req, LIBSSH2_CHANNEL *ch, const char *why)
{
	struct link *l = container_of(req, struct link, open);
	char msg[512];

	if (ch == NULL) {
		snprintf(msg, sizeof(msg), "server could not open %s:%d: %s", req->host, req->port,
		    why);
		l->state = LINK_OPEN; /* nothing left to cancel */
		link_close(l, LOG_INFO, msg);
		return;
	}
	log_debug("%s: link %u: channel open", l->name, l->id);
	l->ch = ch;
	l->state = LINK_OPEN;
	session_add_client(l->session, &l->client);
	session_wake(l->session);
}

static void
closed_cb(uv_handle_t *h)
{
	struct link *l = h->data;

	buf_free(&l->upbuf);
	free(l);
}

static void
link_close(struct link *l, enum log_level level, const char *why)
{
	if (l->state == LINK_CLOSING)
		return;
	log_msg(level, "%s: link %u closed: %s (%llu bytes up, %llu down)", l->name, l->id,
	    why, (unsigned long long)l->bytes_up, (unsigned long long)l->bytes_down);
	if (l->state == LINK_OPENING)
		session_cancel_open(l->session, &l->open);
	l->state = LINK_CLOSING;
	session_remove_client(l->session, &l->client);
	if (l->ch != NULL) {
		session_release_channel(l->session, l->ch);
		l->ch = NULL;
	}
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		l->list->head = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->list->count--;
	uv_close((uv_handle_t *)&l->tcp, closed_cb);
}

struct link *
link_accept(uv_stream_t *server, struct session *s, const char *name, const char *host,
    int port, struct link_list *list)
{
	struct link *l = xcalloc(1, sizeof(*l));
	struct sockaddr_storage peer;
	int len = sizeof(peer);

	uv_tcp_init(server->loop, &l->tcp);
	l->tcp.data = l;
	if (uv_accept(server, (uv_stream_t *)&l->tcp) < 0) {
		uv_close((uv_handle_t *)&l->tcp, closed_cb);
		return NULL;
	}
	uv_tcp_nodelay(&l->tcp, 1);
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

	snprintf(l->open.host, sizeof(l->open.host), "%s", host);
	l->open.port = port;
	l->open.done = open_done;
	snprintf(l->open.orig_host, sizeof(l->open.orig_host), "127.0.0.1");
	if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&peer, &len) == 0) {
		if (peer.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer;
			uv_ip6_name(in6, l->open.orig_host, sizeof(l->open.orig_host));
			l->open.orig_port = ntohs(in6->sin6_port);
		} else if (peer.ss_family == AF_INET) {
			struct sockaddr_in *in4 = (struct sockaddr_in *)&peer;
			uv_ip4_name(in4, l->open.orig_host, sizeof(l->open.orig_host));
			l->open.orig_port = ntohs(in4->sin_port);
		}
	}
	log_debug("%s: link %u from %s:%d", name, l->id, l->open.orig_host, l->open.orig_port);
	if (uv_read_start((uv_stream_t *)&l->tcp, alloc_cb, read_cb) == 0)
		l->reading = true;
	session_open_channel(s, &l->open);
	return l;
}

void
link_abort_all(struct link_list *list)
{
	while (list->head != NULL)
		link_close(list->head, LOG_DEBUG1, "porthole is stopping");
}
