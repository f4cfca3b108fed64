/*
 * The hop transport.
 *
 *   IDLE --start: direct-tcpip queued on the hop--> OPENING --channel--> UP
 *   UP --channel EOF, error, or the hop session lost--> DONE
 *   OPENING --refused, or the hop lost--> DONE
 *
 * Bytes written are queued in tx and go into the channel when the hop
 * session pumps its clients (as long as its own transport keeps up); bytes
 * are read from the channel only while the reader wants them, so a slow
 * inner session leaves data in the hop's channel window, not in memory.
 * Every write and every change of reading wakes the hop session's pump.
 * There is no TCP_NOTSENT_LOWAT for a channel: the hop session's marks
 * (session.c) bound tx instead, and this client is in its interactive
 * class, since it carries a whole session, small writes included.
 *
 * libssh2 wants a socket for the inner session: a /dev/null descriptor held
 * for the transport's life stands in (only its number is used, to tell our
 * callbacks' traffic from the agent's). Memory goes in a timer's close
 * callback, since close() may be called from inside this file's pump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hopchan.h"
#include "log.h"
#include "xmalloc.h"

#define READ_CHUNK (64 * 1024)
#define PUMP_BUDGET (1024 * 1024) /* bytes moved per pass each way, for fairness */

enum hop_state {
	HOP_IDLE,
	HOP_OPENING,
	HOP_UP,
	HOP_DONE,
};

struct hopchan {
	struct transport t;
	struct session_client client;
	struct session_req open;
	struct session *hop;
	char *hop_name;
	enum hop_state state;
	LIBSSH2_CHANNEL *ch;
	bool queued; /* the open waits in the hop session's queue */
	struct buf tx;
	bool reading;
	bool out_blocked; /* the channel window was full at rx generation out_gen */
	unsigned long out_gen;
	bool shut, eof_sent;
	bool closing;
	uv_timer_t reaper; /* its close callback frees */
};

static void
finish(struct hopchan *h, int err, const char *why)
{
	if (h->state == HOP_DONE)
		return;
	h->state = HOP_DONE;
	if (!h->closing && h->t.ev->closed != NULL)
		h->t.ev->closed(&h->t, err, why);
}

static void
open_done(struct session_req *req, const char *why)
{
	struct hopchan *h = container_of(req, struct hopchan, open);
	char msg[800];

	h->queued = false;
	if (req->channel == NULL) {
		snprintf(msg, sizeof(msg), "%s could not connect to %s port %d: %s", h->hop_name,
		    req->host, req->port, why);
		finish(h, ECONNREFUSED, msg);
		return;
	}
	h->ch = req->channel;
	h->state = HOP_UP;
	h->reading = true;
	log_debug("channel to %s:%d open on %s", req->host, req->port, h->hop_name);
	h->t.ev->up(&h->t);
}

/* Queued bytes into the channel; 1 if the budget ran out, -1 if the transport ended. */
static int
pump_out(struct hopchan *h)
{
	unsigned long gen = session_rx_generation(h->hop);
	size_t moved = 0;

	/* A full window opens only with something received (WINDOW_ADJUST). */
	if (h->out_blocked && h->out_gen == gen)
		return 0;
	h->out_blocked = false;
	while (buf_len(&h->tx) > 0 && session_can_send(h->hop)) {
		if (moved >= PUMP_BUDGET) {
			h->t.queued = buf_len(&h->tx);
			h->t.ev->drained(&h->t);
			return 1;
		}
		ssize_t n = libssh2_channel_write(h->ch, buf_head(&h->tx), buf_len(&h->tx));
		if (n > 0) {
			buf_consume(&h->tx, (size_t)n);
			moved += (size_t)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			h->out_blocked = true;
			h->out_gen = gen;
			break;
		}
		session_check_error(h->hop, (int)n);
		finish(h, EIO, "the channel through the jump host failed");
		return -1;
	}
	h->t.queued = buf_len(&h->tx);
	if (buf_len(&h->tx) == 0)
		buf_free(&h->tx); /* an idle hop holds no buffer */
	if (moved > 0)
		h->t.ev->drained(&h->t); /* room again: the inner session may send more */
	if (h->state == HOP_UP && h->shut && !h->eof_sent && buf_len(&h->tx) == 0) {
		int rc = libssh2_channel_send_eof(h->ch);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			h->eof_sent = true;
	}
	return h->state == HOP_UP ? 0 : -1;
}

/* Channel bytes to the reader; true if the budget ran out. */
static bool
pump_in(struct hopchan *h)
{
	size_t moved = 0;

	while (h->reading && h->state == HOP_UP) {
		char *p;
		size_t len;
		if (moved >= PUMP_BUDGET)
			return true;
		h->t.ev->alloc(&h->t, READ_CHUNK, &p, &len);
		ssize_t n = libssh2_channel_read(h->ch, p, len);
		if (n > 0) {
			moved += (size_t)n;
			h->t.ev->received(&h->t, (size_t)n);
			continue;
		}
		if (n == 0 && libssh2_channel_eof(h->ch)) {
			finish(h, 0, "closed by the server");
			break;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
			break;
		session_check_error(h->hop, (int)n);
		finish(h, EIO, "the channel through the jump host failed");
		break;
	}
	return false;
}

static bool
hop_pump(struct session_client *c)
{
	struct hopchan *h = container_of(c, struct hopchan, client);

	if (h->state != HOP_UP)
		return false;
	int out = pump_out(h);
	if (out == -1)
		return false;
	return pump_in(h) || out == 1;
}

static void
hop_lost(struct session_client *c)
{
	struct hopchan *h = container_of(c, struct hopchan, client);
	char why[512];

	h->ch = NULL; /* freed with the hop session */
	if (h->queued)
		session_cancel_request(h->hop, &h->open);
	h->queued = false;
	snprintf(why, sizeof(why), "connection to %s lost", h->hop_name);
	finish(h, ECONNRESET, why);
}

static int
hop_start(struct transport *t)
{
	struct hopchan *h = (struct hopchan *)t;
	char why[512];

	if (!session_is_ready(h->hop)) {
		snprintf(why, sizeof(why), "%s is not connected", h->hop_name);
		finish(h, ENOTCONN, why);
		return -1;
	}
	h->t.fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (h->t.fd == -1) {
		snprintf(why, sizeof(why), "/dev/null: %s", strerror(errno));
		finish(h, errno, why);
		return -1;
	}
	h->state = HOP_OPENING;
	session_add_client(h->hop, &h->client);
	h->queued = true;
	session_request(h->hop, &h->open);
	return 0;
}

static void
hop_read(struct transport *t, bool on)
{
	struct hopchan *h = (struct hopchan *)t;

	if (h->reading == on)
		return;
	h->reading = on;
	if (on && h->state == HOP_UP)
		session_wake(h->hop);
}

static void
hop_write(struct transport *t, const void *data, size_t len)
{
	struct hopchan *h = (struct hopchan *)t;

	if (h->state != HOP_UP || h->shut)
		return;
	buf_append(&h->tx, data, len);
	h->t.queued = buf_len(&h->tx);
	session_wake(h->hop);
}

static void
hop_shutdown(struct transport *t)
{
	struct hopchan *h = (struct hopchan *)t;

	h->shut = true;
	if (h->state == HOP_UP)
		session_wake(h->hop);
}

static void
reaper_closed_cb(uv_handle_t *handle)
{
	struct hopchan *h = handle->data;

	buf_free(&h->tx);
	free(h->hop_name);
	free(h);
}

static void
hop_close(struct transport *t)
{
	struct hopchan *h = (struct hopchan *)t;

	if (h->closing)
		return;
	h->closing = true;
	if (h->queued)
		session_cancel_request(h->hop, &h->open);
	h->queued = false;
	finish(h, 0, "closed");
	session_remove_client(h->hop, &h->client);
	if (h->ch != NULL) {
		session_release_channel(h->hop, h->ch);
		h->ch = NULL;
	}
	if (h->t.fd != -1) {
		close(h->t.fd);
		h->t.fd = -1;
	}
	uv_close((uv_handle_t *)&h->reaper, reaper_closed_cb);
}

static const struct transport_ops hop_ops = {
    .start = hop_start,
    .read = hop_read,
    .write = hop_write,
    .shutdown = hop_shutdown,
    .close = hop_close,
};

struct transport *
hopchan_new(uv_loop_t *loop, struct session *hop, const char *hop_name, const char *host, int port,
    const struct transport_events *ev, void *data)
{
	struct hopchan *h = xcalloc(1, sizeof(*h));

	h->t.ops = &hop_ops;
	h->t.ev = ev;
	h->t.data = data;
	h->t.loop = loop;
	uv_timer_init(loop, &h->reaper);
	h->reaper.data = h;
	h->t.fd = -1;
	h->hop = hop;
	h->hop_name = xstrdup(hop_name);
	h->client.pump = hop_pump;
	h->client.lost = hop_lost;
	h->open.kind = REQ_DIRECT_TCPIP;
	snprintf(h->open.host, sizeof(h->open.host), "%s", host);
	h->open.port = port;
	snprintf(h->open.orig_host, sizeof(h->open.orig_host), "127.0.0.1");
	h->open.orig_port = 0;
	h->open.done = open_done;
	snprintf(h->t.peer, sizeof(h->t.peer), "%s:%d via %s", host, port, hop_name);
	buf_init(&h->tx);
	return &h->t;
}
