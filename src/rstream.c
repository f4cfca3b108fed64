/*
 * The client's TCP streams over the relay channel. A stream's life:
 *
 *   PENDING  (OpenVia relay while the relay starts: nothing sent yet)
 *     --the relay is up with streams--> OPENING (SOPEN sent)
 *   OPENING  --SOPENED (or SDATA)--> OPEN
 *   PENDING, OPENING, OPEN --SRESET, the relay down, a broken rule,
 *            a pending wait that ran out--> RESET
 *
 * and each direction on its own: tx open --send_eof--> SEOF sent; rx open
 * --SEOF--> rx ended (read returns RSTREAM_EOF once the bytes are read). A
 * RESET stream keeps what arrived before the reset for its owner to read,
 * then reads RSTREAM_RESET; its id is forgotten at once (frames still in
 * flight for it are dropped, as the protocol says). rstream_free ends the
 * owner's use: a stream that did not end cleanly (both SEOFs, every byte
 * read) is reset towards the relay with RST_ABORTED. A pending stream the
 * relay never came for (it cannot run, does no streams, or did not start
 * within the wait) is RESET and "unavailable": nothing of it was sent.
 *
 * Credit, both ways. Out: the relay's HELLO stream_window, plus its
 * SWINDOWs, minus the SDATA sent; at 0 write takes nothing. In: the relay
 * may have a window of bytes outstanding (credit not used, plus bytes here
 * not yet read): RELAYCHAN_STREAM_WINDOW at first, then what the owner sets
 * (rstream_set_window: link.c grows a transfer's, as it does a channel's);
 * SDATA past the credit is RST_PROTOCOL. Credit goes back in SWINDOWs of at
 * least a quarter window as the owner reads (credit.c counts both); the
 * owner reads only while its local socket takes the bytes (link.c's
 * DOWN_HIGH), so what a stream holds here never passes the window. Writes
 * stop for every stream while the relay channel holds more than TX_BOUND
 * bytes not yet sent.
 *
 * Stream ids count up from RSTREAM_ID_BASE, skipping ids in use, and wrap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "credit.h"
#include "log.h"
#include "rstream.h"
#include "xmalloc.h"

#define BUCKETS 1024
#define TX_BOUND (1024 * 1024) /* the relay channel's queue, above which writes stop */

enum rs_state {
	RS_PENDING,
	RS_OPENING,
	RS_OPEN,
	RS_RESET,
};

struct rstream {
	struct rstreams *set;
	struct rstream *hnext; /* the id's bucket */
	uint32_t id;
	enum rs_state state;
	bool in_table;
	char host[FRAME_HOST_MAX + 1];
	uint16_t port;
	uint64_t since;		  /* loop time it was made (pending expiry) */
	struct credit_tx credit;  /* SDATA bytes we may still send */
	struct credit_rx rx_left; /* SDATA bytes the relay may still send; SWINDOW due */
	struct buf rx;
	bool eof_sent, eof_rcvd;
	bool unavailable; /* reset while pending: the relay could not be had */
	uint16_t code;
	char text[FRAME_TEXT_MAX + 64];
	struct rstream *pnext; /* pending list */
};

struct rstreams {
	struct session *session;
	struct relaychan *rc;
	struct rstream *buckets[BUCKETS];
	struct rstream *pending; /* waiting for the relay */
	size_t count;		 /* in the table */
	uint64_t total;		 /* streams opened since the start */
	uint32_t next_id;
	uint32_t peer_window;
	bool usable;
	bool tx_full; /* a write stopped at TX_BOUND: wake the owners when it is under */
};

static struct rstream **
bucket(struct rstreams *set, uint32_t id)
{
	return &set->buckets[id % BUCKETS];
}

static struct rstream *
find(struct rstreams *set, uint32_t id)
{
	for (struct rstream *st = *bucket(set, id); st != NULL; st = st->hnext)
		if (st->id == id)
			return st;
	return NULL;
}

static void
table_add(struct rstreams *set, struct rstream *st)
{
	struct rstream **b = bucket(set, st->id);

	st->hnext = *b;
	*b = st;
	st->in_table = true;
	set->count++;
}

static void
table_remove(struct rstreams *set, struct rstream *st)
{
	if (!st->in_table)
		return;
	for (struct rstream **pp = bucket(set, st->id); *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == st) {
			*pp = st->hnext;
			break;
		}
	}
	st->in_table = false;
	set->count--;
}

static void
pending_remove(struct rstreams *set, struct rstream *st)
{
	for (struct rstream **pp = &set->pending; *pp != NULL; pp = &(*pp)->pnext) {
		if (*pp == st) {
			*pp = st->pnext;
			return;
		}
	}
}

static uint32_t
new_id(struct rstreams *set)
{
	for (;;) {
		uint32_t id = set->next_id;
		set->next_id = id >= RSTREAM_ID_LAST ? RSTREAM_ID_BASE : id + 1;
		if (find(set, id) == NULL)
			return id;
	}
}

static void
send_reset(struct rstreams *set, uint32_t id, uint16_t code, const char *text)
{
	struct frame_reason r;
	uint8_t payload[FRAME_CONTROL_MAX];

	r.code = code;
	snprintf(r.text, sizeof(r.text), "%s", text);
	int n = frame_reason_encode(&r, payload, sizeof(payload));
	if (n >= 0)
		relaychan_send(set->rc, FRAME_SRESET, id, payload, (size_t)n);
}

/* The stream is gone: its owner reads what is left, then RSTREAM_RESET. */
static void
mark_reset(struct rstream *st, uint16_t code, const char *text)
{
	struct rstreams *set = st->set;

	if (st->state == RS_RESET)
		return;
	if (st->state == RS_PENDING)
		pending_remove(set, st);
	table_remove(set, st);
	relaychan_forget(set->rc, st->id); /* what we queued for it will not be read */
	st->state = RS_RESET;
	st->code = code;
	snprintf(st->text, sizeof(st->text), "%s", text);
	session_wake(set->session);
}

/* We end the stream for a broken rule: the relay hears why, the owner too. */
static void
protocol_reset(struct rstream *st, const char *why)
{
	char text[128];

	snprintf(text, sizeof(text), "porthole: %s", why);
	log_verbose("relay stream %08x: %s; resetting it", st->id, why);
	send_reset(st->set, st->id, RST_PROTOCOL, text);
	mark_reset(st, RST_PROTOCOL, text);
}

static void
send_open(struct rstream *st)
{
	struct rstreams *set = st->set;
	struct frame_addr a;
	uint8_t payload[FRAME_CONTROL_MAX];

	snprintf(a.host, sizeof(a.host), "%s", st->host);
	a.port = st->port;
	int n = frame_addr_encode(&a, payload, sizeof(payload));
	st->state = RS_OPENING;
	credit_tx_init(&st->credit, set->peer_window);
	credit_rx_init(&st->rx_left, RELAYCHAN_STREAM_WINDOW);
	if (n < 0 || !relaychan_send(set->rc, FRAME_SOPEN, st->id, payload, (size_t)n)) {
		mark_reset(st, RST_ABORTED, n < 0 ? "bad target address" : "the relay is down");
		return;
	}
	log_debug2("relay stream %08x: SOPEN %s:%u", st->id, st->host, st->port);
}

struct rstream *
rstream_open(struct rstreams *set, const char *host, uint16_t port, uint64_t now)
{
	struct rstream *st = xcalloc(1, sizeof(*st));

	st->set = set;
	st->id = new_id(set);
	set->total++;
	st->since = now;
	st->port = port;
	snprintf(st->host, sizeof(st->host), "%s", host);
	buf_init(&st->rx);
	table_add(set, st); /* a pending stream holds its id too, so no other takes it */
	if (set->usable) {
		send_open(st);
	} else {
		st->state = RS_PENDING;
		st->pnext = set->pending;
		set->pending = st;
	}
	return st;
}

bool
rstream_is_opened(const struct rstream *st)
{
	return st->state == RS_OPEN;
}

bool
rstream_unavailable(const struct rstream *st)
{
	return st->unavailable;
}

bool
rstream_why(const struct rstream *st, uint16_t *code, const char **text)
{
	if (st->state != RS_RESET)
		return false;
	*code = st->code;
	*text = st->text;
	return true;
}

ssize_t
rstream_write(struct rstream *st, const void *data, size_t len)
{
	struct rstreams *set = st->set;
	const char *p = data;
	size_t done = 0;

	if (st->state == RS_RESET || set == NULL)
		return RSTREAM_RESET;
	if (st->state == RS_PENDING || st->eof_sent)
		return 0;
	if (len > st->credit.avail)
		len = st->credit.avail;
	/* Queued in frames as big as they go: the scheduler cuts what leaves (fair sharing). */
	while (done < len) {
		if (relaychan_stream_queued(set->rc) >= TX_BOUND) {
			set->tx_full = true;
			break;
		}
		size_t n = len - done > FRAME_PAYLOAD_MAX ? FRAME_PAYLOAD_MAX : len - done;
		if (!relaychan_send(set->rc, FRAME_SDATA, st->id, p + done, n))
			break;
		done += n;
	}
	credit_tx_spend(&st->credit, done);
	return (ssize_t)done;
}

int
rstream_send_eof(struct rstream *st)
{
	if (st->state == RS_RESET || st->set == NULL)
		return RSTREAM_RESET;
	if (st->state == RS_PENDING)
		return RSTREAM_AGAIN;
	if (!st->eof_sent) {
		relaychan_send(st->set->rc, FRAME_SEOF, st->id, NULL, 0);
		st->eof_sent = true;
	}
	return 0;
}

/* Gives the relay credit the stream's window allows (credit.c decides how much). */
static void
send_window(struct rstream *st, uint32_t due)
{
	uint8_t payload[4];
	int w;

	if (due == 0 || st->state == RS_RESET || st->eof_rcvd || st->set == NULL)
		return;
	if ((w = frame_window_encode(due, payload, sizeof(payload))) > 0)
		relaychan_send(st->set->rc, FRAME_SWINDOW, st->id, payload, (size_t)w);
}

ssize_t
rstream_read(struct rstream *st, void *out, size_t len)
{
	size_t n = buf_len(&st->rx);

	if (n == 0) {
		if (st->state == RS_RESET)
			return RSTREAM_RESET;
		return st->eof_rcvd ? RSTREAM_EOF : 0;
	}
	if (n > len)
		n = len;
	memcpy(out, buf_head(&st->rx), n);
	buf_consume(&st->rx, n);
	if (buf_len(&st->rx) == 0)
		buf_free(&st->rx); /* idle streams hold no buffer */
	send_window(st, credit_rx_written(&st->rx_left, n));
	return (ssize_t)n;
}

void
rstream_set_window(struct rstream *st, uint32_t window)
{
	if (st->rx_left.window != window)
		send_window(st, credit_rx_set_window(&st->rx_left, window));
}

bool
rstream_readable(const struct rstream *st)
{
	return buf_len(&st->rx) > 0 || st->eof_rcvd || st->state == RS_RESET;
}

void
rstream_free(struct rstream *st)
{
	if (st == NULL)
		return;
	struct rstreams *set = st->set;
	if (set != NULL && st->state != RS_RESET) {
		bool clean = st->eof_sent && st->eof_rcvd && buf_len(&st->rx) == 0;
		if (st->state == RS_PENDING) {
			pending_remove(set, st);
		} else if (!clean) {
			relaychan_forget(set->rc, st->id);
			send_reset(set, st->id, RST_ABORTED, "");
		}
		table_remove(set, st);
	}
	buf_free(&st->rx);
	free(st);
}

/* ---- frames from the relay ---- */

static void
on_data(struct rstream *st, const struct frame *f)
{
	if (st->eof_rcvd) {
		protocol_reset(st, "SDATA after SEOF");
		return;
	}
	if (credit_rx_take(&st->rx_left, f->len) == -1) {
		protocol_reset(st, "SDATA past the credit");
		return;
	}
	st->state = RS_OPEN; /* data means the connection is made */
	buf_append(&st->rx, f->payload, f->len);
	session_wake(st->set->session);
}

static void
on_window(struct rstream *st, const struct frame *f)
{
	uint32_t inc;
	const char *err;

	if (frame_window_parse(f, &inc, &err) == -1) {
		protocol_reset(st, err);
		return;
	}
	if (credit_tx_grant(&st->credit, inc) == -1) {
		protocol_reset(st, "SWINDOW past 0x7FFFFFFF");
		return;
	}
	session_wake(st->set->session);
}

static void
on_reset(struct rstream *st, const struct frame *f)
{
	struct frame_reason r = {RST_ABORTED, ""};
	const char *err;

	/* A malformed SRESET still ends the stream, without an answer. */
	if (frame_reason_parse(f, &r, &err) == -1)
		r.code = RST_ABORTED;
	log_debug2("relay stream %08x: SRESET %u %s", st->id, r.code, r.text);
	mark_reset(st, r.code, r.text);
}

void
rstreams_frame(struct rstreams *set, const struct frame *f)
{
	char name[32];
	const char *err;
	struct rstream *st = find(set, f->flow);

	if (st == NULL || st->state == RS_PENDING) {
		/* Gone already (a race with our SRESET or its end): dropped. */
		log_debug3("relay: %s for stream %08x that is gone: dropped",
		    frame_type_name(f->type, name, sizeof(name)), f->flow);
		return;
	}
	if (f->type == FRAME_SRESET) {
		on_reset(st, f);
		return;
	}
	if (f->type == FRAME_SOPEN) {
		protocol_reset(st, "the relay sent SOPEN");
		return;
	}
	if (frame_stream_check(f, &err) == -1) {
		protocol_reset(st, err);
		return;
	}
	switch (f->type) {
	case FRAME_SOPENED:
		if (st->state == RS_OPENING) {
			st->state = RS_OPEN;
			log_debug2("relay stream %08x: SOPENED", st->id);
			session_wake(set->session);
		}
		break;
	case FRAME_SDATA:
		on_data(st, f);
		break;
	case FRAME_SWINDOW:
		on_window(st, f);
		break;
	case FRAME_SEOF:
		st->eof_rcvd = true;
		st->state = RS_OPEN;
		session_wake(set->session);
		break;
	default:
		break;
	}
}

void
rstreams_ready(struct rstreams *set)
{
	const struct frame_hello *h = relaychan_peer(set->rc);

	set->usable = h != NULL && h->minor >= 1 && h->stream_window > 0;
	set->peer_window = set->usable ? h->stream_window : 0;
	if (!set->usable) {
		rstreams_fail_pending(set,
		    "the relay on the server does not do TCP streams "
		    "(an older porthole)");
		return;
	}
	/* Oldest first: the list holds the newest at its head. */
	struct rstream *list = NULL;
	while (set->pending != NULL) {
		struct rstream *st = set->pending;
		set->pending = st->pnext;
		st->pnext = list;
		list = st;
	}
	while (list != NULL) {
		struct rstream *st = list;
		list = st->pnext;
		send_open(st);
	}
	session_wake(set->session);
}

void
rstreams_down(struct rstreams *set, const char *why)
{
	char text[FRAME_TEXT_MAX + 64];

	set->usable = false;
	snprintf(text, sizeof(text), "the relay went down (%s)", why);
	for (size_t i = 0; i < BUCKETS; i++) {
		struct rstream **pp = &set->buckets[i];
		while (*pp != NULL) {
			if ((*pp)->state == RS_PENDING)
				pp = &(*pp)->hnext; /* still waiting: the relay may start again */
			else
				mark_reset(*pp, RST_ABORTED, text); /* takes it out of the bucket */
		}
	}
}

void
rstreams_writable(struct rstreams *set)
{
	/* Only when a write stopped at the bound: other owners wake by their own events. */
	if (set->tx_full && relaychan_stream_queued(set->rc) < TX_BOUND) {
		set->tx_full = false;
		session_wake(set->session);
	}
}

void
rstreams_fail_pending(struct rstreams *set, const char *why)
{
	while (set->pending != NULL) {
		set->pending->unavailable = true;
		mark_reset(set->pending, RST_ABORTED, why);
	}
}

void
rstreams_expire(struct rstreams *set, uint64_t now, uint64_t wait_ms, const char *why)
{
	struct rstream *st = set->pending, *next;

	for (; st != NULL; st = next) {
		next = st->pnext;
		if (now - st->since >= wait_ms) {
			st->unavailable = true;
			mark_reset(st, RST_ABORTED, why);
		}
	}
}

bool
rstreams_usable(const struct rstreams *set)
{
	return set->usable;
}

size_t
rstreams_count(const struct rstreams *set)
{
	return set->count;
}

uint64_t
rstreams_total(const struct rstreams *set)
{
	return set->total;
}

struct rstreams *
rstreams_new(struct session *s, struct relaychan *rc)
{
	struct rstreams *set = xcalloc(1, sizeof(*set));

	set->session = s;
	set->rc = rc;
	set->next_id = RSTREAM_ID_BASE;
	return set;
}

void
rstreams_free(struct rstreams *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		while (set->buckets[i] != NULL) {
			struct rstream *st = set->buckets[i];
			set->buckets[i] = st->hnext;
			st->state = RS_RESET;
			st->in_table = false;
			st->set = NULL;
		}
	}
	free(set);
}
