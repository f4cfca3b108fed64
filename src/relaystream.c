/*
 * The relay's TCP streams (the state machine is in relaystream.h). Each
 * stream holds its target socket and the client's bytes not yet written to
 * it: every SDATA becomes one write request of its own (a copy, bounded by
 * the credit the relay announced), queued in order while the connection is
 * being made and handed to libuv once it is. Credit goes back as writes
 * complete. Bytes read from the target leave at once as SDATA frames cut at
 * 16 KiB; reading pauses at 0 credit or while the frame pipe is full.
 *
 * Window: a stream starts at the HELLO's RELAYSTREAM_WINDOW, enough for
 * requests and replies. One that has written that much to its target is a
 * transfer (256 KiB caps an upload at 6.4 MB/s across 40 ms), and gets
 * RELAYSTREAM_WINDOW_BULK, while fewer than RELAYSTREAM_BULK_MAX streams
 * have it: what the relay may have to hold for slow targets stays within
 * 128 MiB plus 256 KiB a stream. 4 MiB, not a channel's 2: credit comes
 * back a quarter window at a time, so at 2 MiB a stream had about 1.6 MiB
 * in flight across a round trip (0.77 of a channel's upload at 40 ms); at
 * 4 MiB the relay channel's 2 MiB window in sshd is the limit, as a
 * channel's is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "credit.h"
#include "log.h"
#include "relaystream.h"
#include "xmalloc.h"

#define BUCKETS 4096	 /* hash chains by stream id */
#define READ_MAX (128 * 1024) /* one read from a target socket */
#define SDATA_CUT 16384	 /* the largest SDATA frame sent (fair sharing) */
#define CONNECT_MS 30000 /* one connect attempt */

enum rs_state {
	RS_RESOLVING,  /* waiting for getaddrinfo; SDATA queues */
	RS_CONNECTING, /* trying the addresses in turn; SDATA queues */
	RS_OPEN,       /* SOPENED sent */
};

struct rstream;

/* One SDATA's bytes on their way to the target. */
struct wreq {
	uv_write_t req;
	struct rstream *s;
	struct wreq *next; /* queued before the connection is made */
	size_t len;
	char data[];
};

struct rstream {
	struct rstream *hnext;	     /* hash chain */
	struct rstream *prev, *next; /* every live stream */
	struct relaystream_set *set;
	uint32_t id;
	enum rs_state state;
	bool live;	/* in the set; once false only pending callbacks hold it */
	bool resolving; /* the getaddrinfo callback is still to come */
	bool has_tcp;	/* tcp is initialised: its close callback is still to come */
	bool has_timer;
	bool reading;
	bool eof_in;	     /* SEOF received */
	bool eof_out;	     /* the target's end of file read, SEOF sent */
	bool shut;	     /* shutdown(SHUT_WR) done once every byte was written */
	bool bulk;	     /* its window is RELAYSTREAM_WINDOW_BULK (see the top) */
	struct credit_rx rx; /* the client's SDATA */
	struct credit_tx tx; /* ours */
	struct addrinfo *addrs, *next_addr;
	int last_err;
	struct wreq *queue, **queue_tail;
	uv_getaddrinfo_t gai;
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_shutdown_t shutreq;
	uv_timer_t timer;
	char target[FRAME_HOST_MAX + 8];
	uint64_t in, out; /* bytes from and to the target */
};

struct relaystream_set {
	uv_loop_t *loop;
	struct framepipe *pipe;
	const struct permit_list *permit_open;
	unsigned max_streams;
	unsigned count;
	unsigned bulk; /* streams with the bulk window */
	bool enabled;
	bool held; /* some stream stopped reading for the frame pipe's sake */
	uint32_t client_window;
	struct rstream *all;
	struct rstream *buckets[BUCKETS];
	char rbuf[READ_MAX];
};

static void rs_update_reading(struct rstream *s);

/* ---------------------------------------------------------------- the set */

static struct rstream *
find(const struct relaystream_set *set, uint32_t id)
{
	struct rstream *s = set->buckets[id % BUCKETS];

	while (s != NULL && s->id != id)
		s = s->hnext;
	return s;
}

static void
set_add(struct relaystream_set *set, struct rstream *s)
{
	s->hnext = set->buckets[s->id % BUCKETS];
	set->buckets[s->id % BUCKETS] = s;
	s->next = set->all;
	s->prev = NULL;
	if (set->all != NULL)
		set->all->prev = s;
	set->all = s;
	set->count++;
}

static void
set_remove(struct relaystream_set *set, struct rstream *s)
{
	struct rstream **p = &set->buckets[s->id % BUCKETS];

	while (*p != s)
		p = &(*p)->hnext;
	*p = s->hnext;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		set->all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	set->count--;
}

static bool
pipe_full(const struct relaystream_set *set)
{
	return framepipe_stream_queued(set->pipe) >= RELAYSTREAM_QUEUE_MAX;
}

/* ---------------------------------------------------------------- frames out */

/* SRESET with a printf-style text (cut to fit: the encoder cuts at 200 bytes). */
static void __attribute__((format(printf, 4, 5))) send_reset(
    struct relaystream_set *set, uint32_t id, enum frame_reset_code code, const char *fmt, ...)
{
	struct frame_reason reason = {.code = (uint16_t)code};
	uint8_t payload[2 + FRAME_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(reason.text, sizeof(reason.text), fmt, ap);
	va_end(ap);
	n = frame_reason_encode(&reason, payload, sizeof(payload));
	if (n >= 0)
		framepipe_send(set->pipe, FRAME_SRESET, id, payload, (size_t)n);
}

static void
send_window(struct rstream *s, uint32_t increment)
{
	uint8_t payload[4];

	if (frame_window_encode(increment, payload, sizeof(payload)) == 4)
		framepipe_send(s->set->pipe, FRAME_SWINDOW, s->id, payload, 4);
}

/* ---------------------------------------------------------------- a stream's end */

static void
rs_release(struct rstream *s)
{
	if (s->live || s->resolving || s->has_tcp || s->has_timer)
		return;
	uv_freeaddrinfo(s->addrs);
	free(s);
}

static void rs_tcp_close_cb(uv_handle_t *h);

static void
rs_timer_close_cb(uv_handle_t *h)
{
	struct rstream *s = h->data;

	s->has_timer = false;
	rs_release(s);
}

static void
rs_close_timer(struct rstream *s)
{
	if (s->has_timer && !uv_is_closing((uv_handle_t *)&s->timer))
		uv_close((uv_handle_t *)&s->timer, rs_timer_close_cb);
}

/* SO_LINGER 0, then close: the target sees a reset, not an end of file. */
static void
rs_close_tcp(struct rstream *s, bool reset)
{
	uv_os_fd_t fd;

	if (!s->has_tcp || uv_is_closing((uv_handle_t *)&s->tcp))
		return;
	if (reset && uv_fileno((uv_handle_t *)&s->tcp, &fd) == 0) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	uv_close((uv_handle_t *)&s->tcp, rs_tcp_close_cb);
}

/* Takes s out of the set and closes what it holds; reset: the target's
 * socket is reset (SO_LINGER 0). */
static void
rs_forget(struct rstream *s, bool reset, const char *why)
{
	struct relaystream_set *set = s->set;
	struct wreq *w;

	if (!s->live)
		return;
	log_debug("stream %#x (%s) %s; %llu bytes to it, %llu from it", s->id, s->target, why,
	    (unsigned long long)s->out, (unsigned long long)s->in);
	set_remove(set, s);
	if (s->bulk)
		set->bulk--;
	s->live = false;
	while ((w = s->queue) != NULL) {
		s->queue = w->next;
		free(w);
	}
	if (s->resolving)
		uv_cancel((uv_req_t *)&s->gai);
	rs_close_timer(s);
	rs_close_tcp(s, reset);
	rs_release(s);
}

/* The relay ends the stream: SRESET with code and text, then forget it. */
static void __attribute__((format(printf, 3, 4)))
rs_abort(struct rstream *s, enum frame_reset_code code, const char *fmt, ...)
{
	char text[FRAME_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (code == RST_PROTOCOL)
		log_error("stream %#x (%s): %s: reset", s->id, s->target, text);
	framepipe_forget(s->set->pipe, s->id);
	send_reset(s->set, s->id, code, "%s", text);
	rs_forget(s, true, text);
}

/* Both directions ended: an orderly close. */
static void
rs_maybe_finish(struct rstream *s)
{
	if (s->live && s->shut && s->eof_out)
		rs_forget(s, false, "closed both ways");
}

/* ---------------------------------------------------------------- to the target */

static void
rs_write_cb(uv_write_t *req, int status)
{
	struct wreq *w = container_of(req, struct wreq, req);
	struct rstream *s = w->s;
	size_t len = w->len;
	uint32_t due;

	free(w);
	if (status == UV_ECANCELED || !s->live)
		return;
	if (status < 0) {
		rs_abort(s, RST_ABORTED, "writing to %s: %s", s->target, uv_strerror(status));
		return;
	}
	s->out += len;
	due = credit_rx_written(&s->rx, len);
	if (!s->bulk && s->out >= RELAYSTREAM_WINDOW && s->set->bulk < RELAYSTREAM_BULK_MAX) {
		s->bulk = true;
		s->set->bulk++;
		due += credit_rx_set_window(&s->rx, RELAYSTREAM_WINDOW_BULK);
	}
	if (due > 0 && !s->eof_in) /* after its SEOF the client needs no credit */
		send_window(s, due);
}

static void
rs_write(struct rstream *s, struct wreq *w)
{
	uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, rs_write_cb);

	if (rc < 0) {
		free(w);
		rs_abort(s, RST_ABORTED, "writing to %s: %s", s->target, uv_strerror(rc));
	}
}

static void
rs_shutdown_cb(uv_shutdown_t *req, int status)
{
	struct rstream *s = container_of(req, struct rstream, shutreq);

	if (status == UV_ECANCELED || !s->live)
		return;
	if (status < 0) {
		rs_abort(s, RST_ABORTED, "shutting down the write side to %s: %s", s->target,
		    uv_strerror(status));
		return;
	}
	s->shut = true;
	log_debug2("stream %#x: the client's end of file passed on", s->id);
	rs_maybe_finish(s);
}

/* libuv shuts the write side down once the writes queued before it are done. */
static void
rs_shutdown(struct rstream *s)
{
	int rc = uv_shutdown(&s->shutreq, (uv_stream_t *)&s->tcp, rs_shutdown_cb);

	if (rc < 0)
		rs_abort(s, RST_ABORTED, "shutdown to %s: %s", s->target, uv_strerror(rc));
}

/* ---------------------------------------------------------------- from the target */

static void
rs_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct rstream *s = h->data;
	size_t n = s->tx.avail < READ_MAX ? s->tx.avail : READ_MAX;

	if (pipe_full(s->set))
		n = 0;
	*b = uv_buf_init(s->set->rbuf, (unsigned)n); /* 0: UV_ENOBUFS, reading stops */
}

static void
rs_send_data(struct rstream *s, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = n < SDATA_CUT ? n : SDATA_CUT;
		framepipe_send(s->set->pipe, FRAME_SDATA, s->id, p, k);
		credit_tx_spend(&s->tx, k);
		s->in += k;
		p += k;
		n -= k;
	}
}

static void
rs_read_cb(uv_stream_t *h, ssize_t n, const uv_buf_t *b)
{
	struct rstream *s = h->data;

	if (!s->live)
		return;
	if (n > 0) {
		rs_send_data(s, b->base, (size_t)n);
	} else if (n == UV_EOF) {
		s->eof_out = true;
		framepipe_send(s->set->pipe, FRAME_SEOF, s->id, NULL, 0);
		log_debug2("stream %#x: end of file from %s", s->id, s->target);
	} else if (n < 0 && n != UV_ENOBUFS) {
		rs_abort(s, RST_ABORTED, "%s: %s", s->target, uv_strerror((int)n));
		return;
	}
	rs_update_reading(s);
	rs_maybe_finish(s);
}

/* Reads the target only while the client can take it (see relaystream.h). */
static void
rs_update_reading(struct rstream *s)
{
	bool full = pipe_full(s->set);
	bool want = s->live && s->state == RS_OPEN && !s->eof_out && s->tx.avail > 0 && !full;

	if (want && !s->reading) {
		int rc = uv_read_start((uv_stream_t *)&s->tcp, rs_alloc_cb, rs_read_cb);
		if (rc < 0) {
			rs_abort(s, RST_ABORTED, "reading %s: %s", s->target, uv_strerror(rc));
			return;
		}
		s->reading = true;
	} else if (!want && s->reading) {
		uv_read_stop((uv_stream_t *)&s->tcp);
		s->reading = false;
	}
	if (!want && full && s->live && !s->eof_out)
		s->set->held = true;
}

/* ---------------------------------------------------------------- connecting */

static enum frame_reset_code
connect_code(int err)
{
	switch (err) {
	case UV_ECONNREFUSED:
		return RST_REFUSED;
	case UV_EMFILE:
	case UV_ENFILE:
		return RST_LIMIT;
	default:
		return RST_UNREACHABLE;
	}
}

static void
rs_opened(struct rstream *s)
{
	struct wreq *w;

	s->state = RS_OPEN;
	rs_close_timer(s);
	uv_freeaddrinfo(s->addrs);
	s->addrs = s->next_addr = NULL;
	uv_tcp_nodelay(&s->tcp, 1);
	log_debug("stream %#x: connected to %s", s->id, s->target);
	framepipe_send(s->set->pipe, FRAME_SOPENED, s->id, NULL, 0);
	while (s->live && (w = s->queue) != NULL) {
		s->queue = w->next;
		rs_write(s, w);
	}
	s->queue_tail = &s->queue;
	if (s->live && s->eof_in)
		rs_shutdown(s);
	rs_update_reading(s);
}

static void rs_connect_next(struct rstream *s);

static void
rs_tcp_close_cb(uv_handle_t *h)
{
	struct rstream *s = h->data;

	s->has_tcp = false;
	if (s->live && s->state == RS_CONNECTING)
		rs_connect_next(s); /* that address failed: the next one */
	else
		rs_release(s);
}

static void
rs_connect_cb(uv_connect_t *req, int status)
{
	struct rstream *s = container_of(req, struct rstream, conn);

	if (status == UV_ECANCELED || !s->live)
		return;
	uv_timer_stop(&s->timer);
	if (status < 0) {
		s->last_err = status;
		log_debug2("stream %#x: connect to %s: %s", s->id, s->target, uv_strerror(status));
		uv_close((uv_handle_t *)&s->tcp, rs_tcp_close_cb);
		return;
	}
	rs_opened(s);
}

static void
rs_timer_cb(uv_timer_t *t)
{
	struct rstream *s = t->data;

	s->last_err = UV_ETIMEDOUT;
	if (s->has_tcp && !uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, rs_tcp_close_cb);
}

/* One connect attempt to the next address; after the last, SRESET. */
static void
rs_connect_next(struct rstream *s)
{
	struct addrinfo *ai = s->next_addr;
	int rc;

	if (ai == NULL) {
		rs_abort(s, connect_code(s->last_err), "connect to %s: %s", s->target,
		    uv_strerror(s->last_err));
		return;
	}
	s->next_addr = ai->ai_next;
	uv_tcp_init(s->set->loop, &s->tcp);
	s->tcp.data = s;
	s->has_tcp = true;
	rc = uv_tcp_connect(&s->conn, &s->tcp, ai->ai_addr, rs_connect_cb);
	if (rc < 0) {
		s->last_err = rc;
		uv_close((uv_handle_t *)&s->tcp, rs_tcp_close_cb);
		return;
	}
	uv_timer_start(&s->timer, rs_timer_cb, CONNECT_MS, 0);
}

static void
rs_resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct rstream *s = container_of(req, struct rstream, gai);

	s->resolving = false;
	if (!s->live) {
		uv_freeaddrinfo(res);
		rs_release(s);
		return;
	}
	if (status < 0 || res == NULL) {
		uv_freeaddrinfo(res);
		rs_abort(s, RST_RESOLVE, "cannot resolve %s: %s", s->target,
		    uv_strerror(status < 0 ? status : UV_EAI_NONAME));
		return;
	}
	s->addrs = s->next_addr = res;
	s->state = RS_CONNECTING;
	s->last_err = UV_EAI_NONAME;
	uv_timer_init(s->set->loop, &s->timer);
	s->timer.data = s;
	s->has_timer = true;
	rs_connect_next(s);
}

/* ---------------------------------------------------------------- frames in */

static void
on_sopen(struct relaystream_set *set, const struct frame *f)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct frame_addr a;
	struct rstream *s;
	const char *err;
	char port[8];
	int rc;

	if (frame_addr_parse(f, &a, &err) < 0) {
		log_error("stream %#x: bad SOPEN: %s: reset", f->flow, err);
		send_reset(set, f->flow, RST_PROTOCOL, "bad SOPEN: %s", err);
		return;
	}
	if ((s = find(set, f->flow)) != NULL) {
		rs_abort(s, RST_PROTOCOL, "SOPEN for stream %#x, which is open", f->flow);
		return;
	}
	if (!permit_open_allows(set->permit_open, a.host, a.port)) {
		log_error("SOPEN %s:%u refused: not in --permit-open", a.host, a.port);
		send_reset(set, f->flow, RST_NOT_ALLOWED,
		    "%s:%u is not allowed by the relay's --permit-open", a.host, a.port);
		return;
	}
	if (set->count >= set->max_streams) {
		log_debug("stream %#x refused: %u streams open", f->flow, set->count);
		send_reset(set, f->flow, RST_LIMIT, "the relay has %u streams open (--max-streams)",
		    set->count);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->set = set;
	s->id = f->flow;
	s->live = true;
	s->queue_tail = &s->queue;
	credit_rx_init(&s->rx, RELAYSTREAM_WINDOW);
	credit_tx_init(&s->tx, set->client_window);
	snprintf(s->target, sizeof(s->target), strchr(a.host, ':') ? "[%s]:%u" : "%s:%u", a.host,
	    a.port);
	snprintf(port, sizeof(port), "%u", a.port);
	rc = uv_getaddrinfo(set->loop, &s->gai, rs_resolved_cb, a.host, port, &hints);
	if (rc < 0) {
		send_reset(
		    set, f->flow, RST_RESOLVE, "cannot resolve %s: %s", s->target, uv_strerror(rc));
		free(s);
		return;
	}
	s->resolving = true;
	set_add(set, s);
	log_debug("stream %#x: opening %s", s->id, s->target);
}

static void
on_sdata(struct rstream *s, const struct frame *f)
{
	struct wreq *w;

	if (s->eof_in) {
		rs_abort(s, RST_PROTOCOL, "SDATA after SEOF");
		return;
	}
	if (credit_rx_take(&s->rx, f->len) < 0) {
		rs_abort(s, RST_PROTOCOL, "SDATA of %u bytes past the credit (%u left)", f->len,
		    s->rx.avail);
		return;
	}
	w = xmalloc(sizeof(*w) + f->len);
	w->s = s;
	w->next = NULL;
	w->len = f->len;
	memcpy(w->data, f->payload, f->len);
	if (s->state == RS_OPEN) {
		rs_write(s, w);
	} else {
		*s->queue_tail = w;
		s->queue_tail = &w->next;
	}
}

static void
on_seof(struct rstream *s)
{
	if (s->eof_in) {
		rs_abort(s, RST_PROTOCOL, "SEOF twice");
		return;
	}
	s->eof_in = true;
	if (s->state == RS_OPEN)
		rs_shutdown(s);
}

static void
on_swindow(struct rstream *s, const struct frame *f)
{
	uint32_t inc;
	const char *err;

	if (frame_window_parse(f, &inc, &err) < 0) {
		rs_abort(s, RST_PROTOCOL, "bad SWINDOW: %s", err);
		return;
	}
	if (credit_tx_grant(&s->tx, inc) < 0) {
		rs_abort(s, RST_PROTOCOL, "SWINDOW of %u lifts the credit over 0x7FFFFFFF", inc);
		return;
	}
	rs_update_reading(s);
}

static void
on_sreset(struct rstream *s, const struct frame *f)
{
	struct frame_reason reason;
	const char *err;

	if (frame_reason_parse(f, &reason, &err) < 0) /* never answered, even malformed */
		snprintf(reason.text, sizeof(reason.text), "(malformed: %s)", err);
	framepipe_forget(s->set->pipe, s->id); /* the client drops them anyway */
	log_debug("stream %#x (%s): reset by the client: code %u: %s", s->id, s->target,
	    reason.code, reason.text);
	rs_forget(s, true, "reset by the client");
}

/* A stream frame that breaks the codec's rules: reset the stream it names,
 * if it names one (an SOPEN always does); else log it and drop it. */
static void
on_malformed(struct relaystream_set *set, const struct frame *f, const char *err)
{
	char buf[16];
	struct rstream *s = find(set, f->flow);
	const char *name = frame_type_name(f->type, buf, sizeof(buf));

	if (s != NULL) {
		rs_abort(s, RST_PROTOCOL, "bad %s: %s", name, err);
	} else if (f->type == FRAME_SOPEN && f->flow != 0 && !(f->flow & FLOW_RELAY_BIT)) {
		log_error("stream %#x: bad SOPEN: %s: reset", f->flow, err);
		send_reset(set, f->flow, RST_PROTOCOL, "bad SOPEN: %s", err);
	} else {
		log_error("%s for stream %#x dropped: %s", name, f->flow, err);
	}
}

void
relaystream_frame(struct relaystream_set *set, const struct frame *f)
{
	struct rstream *s;
	const char *err;

	if (frame_stream_check(f, &err) < 0) {
		on_malformed(set, f, err);
		return;
	}
	if (f->type == FRAME_SOPEN) {
		on_sopen(set, f);
		return;
	}
	if ((s = find(set, f->flow)) == NULL) {
		log_debug2(
		    "stream frame %u for %#x, which is no stream: dropped", f->type, f->flow);
		return;
	}
	switch (f->type) {
	case FRAME_SDATA:
		on_sdata(s, f);
		break;
	case FRAME_SWINDOW:
		on_swindow(s, f);
		break;
	case FRAME_SEOF:
		on_seof(s);
		break;
	case FRAME_SRESET:
		on_sreset(s, f);
		break;
	default: /* SOPENED */
		rs_abort(s, RST_PROTOCOL, "SOPENED is the relay's to send");
		break;
	}
}

/* ---------------------------------------------------------------- the set's life */

struct relaystream_set *
relaystream_new(uv_loop_t *loop, struct framepipe *pipe, const struct permit_list *permit_open,
    unsigned max_streams)
{
	struct relaystream_set *set = xcalloc(1, sizeof(*set));

	set->loop = loop;
	set->pipe = pipe;
	set->permit_open = permit_open;
	set->max_streams = max_streams;
	return set;
}

void
relaystream_enable(struct relaystream_set *set, uint32_t client_window)
{
	set->enabled = true;
	set->client_window = client_window;
}

bool
relaystream_enabled(const struct relaystream_set *set)
{
	return set->enabled;
}

bool
relaystream_has(const struct relaystream_set *set, uint32_t id)
{
	return find(set, id) != NULL;
}

void
relaystream_refuse(
    struct relaystream_set *set, uint32_t id, enum frame_reset_code code, const char *text)
{
	log_error("stream %#x: %s: reset", id, text);
	send_reset(set, id, code, "%s", text);
}

void
relaystream_drained(struct relaystream_set *set)
{
	struct rstream *s, *next;

	if (!set->held || pipe_full(set))
		return;
	set->held = false;
	for (s = set->all; s != NULL; s = next) {
		next = s->next; /* s may be forgotten on the way */
		rs_update_reading(s);
	}
}

unsigned
relaystream_count(const struct relaystream_set *set)
{
	return set->count;
}

void
relaystream_stop(struct relaystream_set *set)
{
	while (set->all != NULL)
		rs_forget(set->all, true, "reset: the relay is stopping");
}

void
relaystream_free(struct relaystream_set *set)
{
	free(set);
}
