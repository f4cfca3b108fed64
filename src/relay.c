/*
 * "porthole relay": the far end of UDP forwarding and of TCP streams. sshd
 * runs it as an exec channel's command; it speaks the relay protocol
 * (docs/relay-protocol.md) on stdin and stdout and moves each flow's
 * datagrams through real UDP sockets on the server. TCP streams (protocol
 * 1.1) are relaystream.c's: this file routes their frames there once the
 * client's HELLO asked for streams. It may run as an authorized_keys forced command,
 * so what a client may reach or bind is limited by its own allow-lists.
 *
 * The relay:
 *
 *   start --HELLO sent--> WAIT_HELLO --client's HELLO, major 1--> RUNNING
 *   WAIT_HELLO --any other frame, or another major--> ERROR sent, STOPPING(1)
 *   RUNNING --stdin EOF or error, stdout gone--> STOPPING(0)
 *   RUNNING --malformed frame header--> ERROR sent, STOPPING(1)
 *   RUNNING --stdin ends inside a frame (frames lost)--> STOPPING(1)
 *   STOPPING --output written (at most 2 s)--> every handle closed, exit
 *
 * A flow (id chosen by the client for OPEN, by the relay for ACCEPT):
 *
 *   OPEN --allowed--> RESOLVING --address--> CONNECTED (its own connected socket)
 *   datagram from a new source on a listener --> ACCEPTED (sends from the
 *     listener's socket to that source)
 *   any --CLOSE from the client, idle, evicted, listener closed--> gone
 *
 * The frames themselves come and go through a framepipe (framepipe.c), whose
 * scheduler sends control frames first, shares the channel among flows and
 * streams, and drops datagrams that are late or over their flow's share; the
 * flow table (flow.c) keeps the flows findable and in LRU order; the
 * allow-lists are permit.c's (--permit-open limits OPEN and SOPEN alike).
 * Flows, listeners and streams share the client's id space: an OPEN or BIND
 * of a stream's id, or an SOPEN of a flow's, is refused.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "fdlimit.h"
#include "flow.h"
#include "framepipe.h"
#include "log.h"
#include "permit.h"
#include "relay.h"
#include "relaystream.h"
#include "udpframe.h"
#include "version.h"
#include "xmalloc.h"

#define RESOLVE_QUEUE 16		/* datagrams kept per flow while its host resolves */
#define RESOLVE_BYTES (4 * 1024 * 1024) /* and bytes kept for all flows resolving */
#define MAX_FLOWS_DEFAULT 1024		/* --max-flows */
#define MAX_FLOWS_LIMIT 1048576
#define MAX_LISTENERS 256
#define TOLD_RING 64 /* flow ids the client needs no ERR_UNKNOWN_FLOW for */
#define TICK_MS 1000

static const char usage[] =
    "usage: porthole relay [--permit-open HOST:PORT]... [--permit-listen [ADDR:]PORT]... "
    "[--max-flows N] [--max-streams N] [--protocol 1.0 (for tests)] [-v]";

enum relay_state {
	R_WAIT_HELLO,
	R_RUNNING,
	R_STOPPING,
};

enum rflow_state {
	RF_RESOLVING, /* OPEN: waiting for an address; datagrams queue */
	RF_CONNECTED, /* OPEN: its own connected socket */
	RF_ACCEPTED,  /* ACCEPT: its listener's socket, to its source */
};

struct relay;

struct listener {
	struct listener *next;
	struct relay *r;
	uint32_t id;
	uv_udp_t udp;
	char where[FRAME_HOST_MAX + 8];
};

struct queued {
	uint8_t *data;
	size_t len;
};

struct rflow {
	struct flow f; /* in r->flows while live */
	struct relay *r;
	enum rflow_state state;
	bool live;		   /* in the table; once false only pending callbacks hold it */
	bool resolving;		   /* the getaddrinfo callback is still to come */
	bool has_udp;		   /* udp is initialised: its close callback is still to come */
	struct listener *listener; /* RF_ACCEPTED */
	uv_getaddrinfo_t gai;
	uv_udp_t udp;
	struct queued queue[RESOLVE_QUEUE];
	unsigned nqueued;
	char target[FRAME_HOST_MAX + 40]; /* host:port, or the source, for logs */
	uint64_t in, out, dropped;
	uint64_t dropped_out; /* by the output scheduler: late, or over its share */
	uint64_t reported;    /* drops the client was told of (DROPS) */
};

struct relay {
	uv_loop_t loop;
	struct framepipe *pipe;
	struct relaystream_set *streams;
	uv_timer_t tick;
	bool tick_open;
	enum relay_state state;
	int status;

	struct permit_list permit_open, permit_listen;
	unsigned max_flows_arg;
	unsigned max_flows;
	unsigned max_streams; /* --max-streams */
	uint8_t minor;	      /* the protocol minor this relay speaks (--protocol 1.0: 0) */
	uint8_t peer_minor;   /* the client's, from its HELLO */
	uint64_t idle_ms;     /* 0: never */
	uint32_t max_datagram;

	struct flow_table *flows;
	struct listener *listeners;
	unsigned nlisteners;
	uint32_t next_accept;
	size_t resolve_bytes; /* datagrams queued by flows still resolving */
	uint32_t told[TOLD_RING];
	unsigned told_next;

	struct {
		uint64_t send_failed, resolving, too_big;
	} drops;
	char dgram[65536];
};

static void relay_stop(struct relay *r, int status);

/* ---------------------------------------------------------------- output */

/* Queues one frame (framepipe's scheduler may drop DATA later, counted). */
static bool
out_frame(struct relay *r, enum frame_type type, uint32_t flow, const void *payload, size_t len)
{
	return framepipe_send(r->pipe, type, flow, payload, len);
}

/* CLOSE or ERROR with a code and a printf-style text. An ERROR on flow 0
 * ends the relay (docs/relay-protocol.md), so this is where it stops. */
static void __attribute__((format(printf, 5, 6))) out_reason(
    struct relay *r, enum frame_type type, uint32_t flow, unsigned code, const char *fmt, ...)
{
	struct frame_reason reason = {.code = (uint16_t)code};
	uint8_t payload[2 + FRAME_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(reason.text, sizeof(reason.text), fmt, ap);
	va_end(ap);
	log_debug("-> %s flow %#x code %u: %s", type == FRAME_CLOSE ? "CLOSE" : "ERROR", flow, code,
	    reason.text);
	n = frame_reason_encode(&reason, payload, sizeof(payload));
	if (n >= 0)
		out_frame(r, type, flow, payload, (size_t)n);
	if (type == FRAME_ERROR && flow == 0) {
		log_error("%s", reason.text);
		relay_stop(r, 1);
	}
}

static void
out_hello(struct relay *r)
{
	struct frame_hello h = {
	    .major = RELAY_VERSION_MAJOR,
	    .minor = r->minor,
	    .max_datagram = FRAME_DATAGRAM_MAX,
	    .idle_timeout = 0,
	    .max_flows = r->max_flows_arg,
	};

	if (r->minor >= 1) {
		h.stream_window = RELAYSTREAM_WINDOW;
		h.max_streams = r->max_streams;
		h.stream_flags = r->permit_open.given ? STREAM_FLAG_RESTRICTED : 0;
	}
	uint8_t payload[FRAME_CONTROL_MAX];
	int n;

	snprintf(h.software, sizeof(h.software), "porthole %s", PORTHOLE_VERSION);
	n = frame_hello_encode(&h, payload, sizeof(payload));
	if (n >= 0)
		out_frame(r, FRAME_HELLO, 0, payload, (size_t)n);
}

/* ---------------------------------------------------------------- flows */

static bool
told_has(const struct relay *r, uint32_t id)
{
	for (unsigned i = 0; i < TOLD_RING; i++)
		if (r->told[i] == id)
			return true;
	return false;
}

static void
told_add(struct relay *r, uint32_t id)
{
	if (!told_has(r, id))
		r->told[r->told_next++ % TOLD_RING] = id;
}

static void
told_forget(struct relay *r, uint32_t id)
{
	for (unsigned i = 0; i < TOLD_RING; i++)
		if (r->told[i] == id)
			r->told[i] = 0;
}

static void
rflow_release(struct rflow *rf)
{
	if (!rf->live && !rf->resolving && !rf->has_udp)
		free(rf);
}

static void
rflow_udp_close_cb(uv_handle_t *h)
{
	struct rflow *rf = h->data;

	rf->has_udp = false;
	rflow_release(rf);
}

/* Datagrams of rf dropped here, either way: the output scheduler's and the rest. */
static uint64_t
rflow_drops(const struct rflow *rf)
{
	return rf->dropped + rf->dropped_out + framepipe_flow_drops(rf->r->pipe, rf->f.id);
}

/* Tells a 1.1 client of rf's drops since the last DROPS (docs/relay-protocol.md). */
static void
report_drops(struct rflow *rf)
{
	struct relay *r = rf->r;
	uint64_t now = rflow_drops(rf), delta = now - rf->reported;
	uint8_t payload[4];

	if (delta == 0 || r->minor < 1 || r->peer_minor < 1)
		return;
	if (delta > UINT32_MAX)
		delta = UINT32_MAX;
	if (frame_drops_encode((uint32_t)delta, payload, sizeof(payload)) == 4)
		out_frame(r, FRAME_DROPS, rf->f.id, payload, sizeof(payload));
	rf->reported += delta;
}

/* Takes rf out of the table and releases its socket. reason < 0: the client
 * is not told (it asked, or an ERROR already said so); else CLOSE(reason).
 * Either way, once the relay has said a flow is gone, DATA the client sent
 * before it heard draws no ERR_UNKNOWN_FLOW. */
static void
rflow_close(struct rflow *rf, int reason, const char *text)
{
	struct relay *r = rf->r;

	if (!rf->live)
		return;
	/* Datagrams still queued for the client go with the flow. */
	rf->dropped_out += framepipe_forget(r->pipe, rf->f.id);
	if (reason >= 0)
		report_drops(rf);
	log_debug("flow %#x (%s) closed: %s; %llu datagrams in, %llu out, %llu dropped here "
		  "(%llu of them late or over the flow's share of the channel)",
	    rf->f.id, rf->target, text, (unsigned long long)rf->in, (unsigned long long)rf->out,
	    (unsigned long long)rflow_drops(rf), (unsigned long long)rf->dropped_out);
	if (reason >= 0) {
		out_reason(r, FRAME_CLOSE, rf->f.id, (unsigned)reason, "%s", text);
		told_add(r, rf->f.id); /* DATA already on its way needs no ERROR */
	}
	flow_table_remove(r->flows, &rf->f);
	rf->live = false;
	for (unsigned i = 0; i < rf->nqueued; i++) {
		r->resolve_bytes -= rf->queue[i].len;
		free(rf->queue[i].data);
	}
	rf->nqueued = 0;
	if (rf->resolving)
		uv_cancel((uv_req_t *)&rf->gai);
	if (rf->has_udp && !uv_is_closing((uv_handle_t *)&rf->udp))
		uv_close((uv_handle_t *)&rf->udp, rflow_udp_close_cb);
	rflow_release(rf);
}

/* Evicts least recently used flows until one more fits. */
static void
make_room(struct relay *r)
{
	struct flow *f;

	while (flow_table_count(r->flows) >= r->max_flows &&
	    (f = flow_table_oldest(r->flows)) != NULL) {
		char text[64];
		snprintf(
		    text, sizeof(text), "evicted: the relay's %u flows are in use", r->max_flows);
		rflow_close(container_of(f, struct rflow, f), CLOSE_EVICTED, text);
	}
}

static struct rflow *
rflow_new(struct relay *r, uint32_t id, enum rflow_state state)
{
	struct rflow *rf = xcalloc(1, sizeof(*rf));

	rf->r = r;
	rf->f.id = id;
	rf->state = state;
	rf->live = true;
	told_forget(r, id);
	return rf;
}

/* A datagram from the far side, for the client. */
static void
rflow_deliver(struct rflow *rf, const void *data, size_t len)
{
	struct relay *r = rf->r;

	flow_table_touch(r->flows, &rf->f, uv_now(&r->loop));
	if (out_frame(r, FRAME_DATA, rf->f.id, data, len))
		rf->in++; /* the scheduler may still drop it: dropped_out at the end */
	else
		rf->dropped++;
}

/* A datagram from the client, out to the far side. */
static void
rflow_send(struct rflow *rf, const void *data, size_t len)
{
	struct relay *r = rf->r;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int rc;

	if (rf->state == RF_CONNECTED)
		rc = uv_udp_try_send(&rf->udp, &b, 1, NULL);
	else
		rc = uv_udp_try_send(&rf->listener->udp, &b, 1, (struct sockaddr *)&rf->f.source);
	if (rc < 0) {
		log_debug2("flow %#x: datagram dropped: %s", rf->f.id, uv_strerror(rc));
		rf->dropped++;
		r->drops.send_failed++;
	} else {
		rf->out++;
	}
}

static void
dgram_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct relay *r = h->loop->data;

	*b = uv_buf_init(r->dgram, sizeof(r->dgram));
}

/* Whether a received datagram may go to the client. */
static bool
dgram_ok(struct relay *r, ssize_t n, unsigned flags)
{
	if ((flags & UV_UDP_PARTIAL) || (size_t)n > r->max_datagram) {
		r->drops.too_big++;
		return false;
	}
	return r->state == R_RUNNING;
}

static void
rflow_recv_cb(
    uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *addr, unsigned flags)
{
	struct rflow *rf = h->data;

	if (n < 0) {
		/* ECONNREFUSED after an ICMP port unreachable: the far end may come up later. */
		log_debug("flow %#x (%s): %s", rf->f.id, rf->target, uv_strerror((int)n));
		return;
	}
	if (addr == NULL || !rf->live || !dgram_ok(rf->r, n, flags))
		return;
	rflow_deliver(rf, b->base, (size_t)n);
}

static void
rflow_resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct rflow *rf = container_of(req, struct rflow, gai);
	struct relay *r = rf->r;
	int rc;

	rf->resolving = false;
	if (!rf->live) {
		uv_freeaddrinfo(res);
		rflow_release(rf);
		return;
	}
	if (status < 0) {
		out_reason(r, FRAME_ERROR, rf->f.id, ERR_RESOLVE, "cannot resolve %s: %s",
		    rf->target, uv_strerror(status));
		told_add(r, rf->f.id);
		rflow_close(rf, -1, "does not resolve");
		return;
	}
	uv_udp_init(&r->loop, &rf->udp);
	rf->udp.data = rf;
	rf->has_udp = true;
	rc = uv_udp_connect(&rf->udp, res->ai_addr);
	if (rc == 0)
		rc = uv_udp_recv_start(&rf->udp, dgram_alloc_cb, rflow_recv_cb);
	uv_freeaddrinfo(res);
	if (rc < 0) {
		out_reason(r, FRAME_ERROR, rf->f.id, ERR_SOCKET, "UDP socket to %s: %s", rf->target,
		    uv_strerror(rc));
		told_add(r, rf->f.id);
		rflow_close(rf, -1, "socket failed");
		return;
	}
	rf->state = RF_CONNECTED;
	log_debug("flow %#x: connected to %s", rf->f.id, rf->target);
	for (unsigned i = 0; i < rf->nqueued; i++) {
		r->resolve_bytes -= rf->queue[i].len;
		rflow_send(rf, rf->queue[i].data, rf->queue[i].len);
		free(rf->queue[i].data);
	}
	rf->nqueued = 0;
}

/* ---------------------------------------------------------------- listeners */

static struct listener *
listener_find(const struct relay *r, uint32_t id)
{
	struct listener *l = r->listeners;

	while (l != NULL && l->id != id)
		l = l->next;
	return l;
}

static void
listener_close_cb(uv_handle_t *h)
{
	free(h->data);
}

/* Stops listening and closes the listener's flows, without telling the client. */
static void
listener_close(struct listener *l)
{
	struct relay *r = l->r;
	struct listener **p;
	struct flow *f, *next;

	for (f = flow_table_oldest(r->flows); f != NULL; f = next) {
		next = flow_newer(f);
		if (f->listener == l->id)
			rflow_close(container_of(f, struct rflow, f), -1, "listener closed");
	}
	for (p = &r->listeners; *p != l; p = &(*p)->next)
		;
	*p = l->next;
	r->nlisteners--;
	log_debug("listener %#x (%s) closed", l->id, l->where);
	uv_close((uv_handle_t *)&l->udp, listener_close_cb);
}

static uint32_t
next_accept_id(struct relay *r)
{
	uint32_t id;

	do {
		r->next_accept = (r->next_accept + 1) & ~FLOW_RELAY_BIT;
		id = FLOW_RELAY_BIT | r->next_accept;
	} while (id == FLOW_RELAY_BIT || flow_table_find(r->flows, id) != NULL);
	return id;
}

/* A datagram from a source the listener has no flow for: a new flow, and ACCEPT. */
static struct rflow *
listener_accept(struct listener *l, const struct sockaddr *addr)
{
	struct relay *r = l->r;
	struct frame_accept a = {.listener = l->id};
	uint8_t payload[FRAME_CONTROL_MAX];
	struct rflow *rf;
	int n;

	make_room(r);
	rf = rflow_new(r, next_accept_id(r), RF_ACCEPTED);
	rf->listener = l;
	rf->f.listener = l->id;
	if (addr->sa_family == AF_INET6) {
		memcpy(&rf->f.source, addr, sizeof(struct sockaddr_in6));
		a.source_port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	} else {
		memcpy(&rf->f.source, addr, sizeof(struct sockaddr_in));
		a.source_port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	}
	uv_ip_name(addr, a.source, sizeof(a.source));
	snprintf(rf->target, sizeof(rf->target), "%s%s%s:%u from listener %#x",
	    addr->sa_family == AF_INET6 ? "[" : "", a.source,
	    addr->sa_family == AF_INET6 ? "]" : "", a.source_port, l->id);
	flow_table_add(r->flows, &rf->f, uv_now(&r->loop));
	log_debug("flow %#x: %s", rf->f.id, rf->target);
	n = frame_accept_encode(&a, payload, sizeof(payload));
	if (n >= 0)
		out_frame(r, FRAME_ACCEPT, rf->f.id, payload, (size_t)n);
	return rf;
}

static void
listener_recv_cb(
    uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *addr, unsigned flags)
{
	struct listener *l = h->data;
	struct relay *r = l->r;
	struct flow *f;
	struct rflow *rf;

	if (n < 0) {
		log_debug("listener %#x (%s): %s", l->id, l->where, uv_strerror((int)n));
		return;
	}
	if (addr == NULL || !dgram_ok(r, n, flags))
		return;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return;
	f = flow_table_find_source(r->flows, l->id, addr);
	rf = f != NULL ? container_of(f, struct rflow, f) : listener_accept(l, addr);
	rflow_deliver(rf, b->base, (size_t)n);
}

/* ---------------------------------------------------------------- frames from the client */

static bool
id_free(const struct relay *r, uint32_t id)
{
	return flow_table_find(r->flows, id) == NULL && listener_find(r, id) == NULL &&
	    !relaystream_has(r->streams, id);
}

static bool
listen_allowed(const struct relay *r, const struct frame_addr *a)
{
	if (!r->permit_listen.given)
		return permit_is_loopback(a->host);
	/* "localhost" is bound as 127.0.0.1, so a permit for either allows it. */
	return permit_match(&r->permit_listen, a->host, a->port) ||
	    (strcasecmp(a->host, "localhost") == 0 &&
		permit_match(&r->permit_listen, "127.0.0.1", a->port));
}

static void
on_open(struct relay *r, const struct frame *f)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
	struct frame_addr a;
	struct rflow *rf;
	const char *err;
	char port[8];
	int rc;

	if (frame_addr_parse(f, &a, &err) < 0) {
		out_reason(r, FRAME_ERROR, f->flow, ERR_PROTOCOL, "bad OPEN: %s", err);
		return;
	}
	if (!id_free(r, f->flow)) {
		out_reason(
		    r, FRAME_ERROR, f->flow, ERR_PROTOCOL, "OPEN: flow id %#x is in use", f->flow);
		return;
	}
	if (!permit_open_allows(&r->permit_open, a.host, a.port)) {
		log_error("OPEN %s:%u refused: not in --permit-open", a.host, a.port);
		out_reason(r, FRAME_ERROR, f->flow, ERR_NOT_ALLOWED,
		    "%s:%u is not allowed by the relay's --permit-open", a.host, a.port);
		return;
	}
	make_room(r);
	rf = rflow_new(r, f->flow, RF_RESOLVING);
	snprintf(rf->target, sizeof(rf->target), strchr(a.host, ':') ? "[%s]:%u" : "%s:%u", a.host,
	    a.port);
	snprintf(port, sizeof(port), "%u", a.port);
	rc = uv_getaddrinfo(&r->loop, &rf->gai, rflow_resolved_cb, a.host, port, &hints);
	if (rc < 0) {
		out_reason(r, FRAME_ERROR, f->flow, ERR_RESOLVE, "cannot resolve %s: %s",
		    rf->target, uv_strerror(rc));
		rf->live = false;
		rflow_release(rf);
		return;
	}
	rf->resolving = true;
	flow_table_add(r->flows, &rf->f, uv_now(&r->loop));
	log_debug("flow %#x: opening %s", rf->f.id, rf->target);
}

static int
bind_address(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	if (strcasecmp(host, "localhost") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "*") == 0)
		host = "0.0.0.0";
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
		return 0;
	return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
}

static int
listener_start(struct listener *l, const struct sockaddr *sa, uint16_t *port)
{
	struct sockaddr_storage name;
	int namelen = sizeof(name);
	int rc;

	rc = uv_udp_bind(&l->udp, sa, sa->sa_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_udp_getsockname(&l->udp, (struct sockaddr *)&name, &namelen);
	if (rc == 0)
		rc = uv_udp_recv_start(&l->udp, dgram_alloc_cb, listener_recv_cb);
	if (rc == 0)
		*port = ntohs(name.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&name)->sin6_port
							 : ((struct sockaddr_in *)&name)->sin_port);
	return rc;
}

static void
on_bind(struct relay *r, const struct frame *f)
{
	struct sockaddr_storage ss;
	struct frame_addr a;
	struct listener *l;
	uint8_t payload[2];
	uint16_t port = 0;
	const char *err;
	int rc;

	if (frame_addr_parse(f, &a, &err) < 0) {
		out_reason(r, FRAME_ERROR, f->flow, ERR_PROTOCOL, "bad BIND: %s", err);
		return;
	}
	if (!id_free(r, f->flow)) {
		out_reason(
		    r, FRAME_ERROR, f->flow, ERR_PROTOCOL, "BIND: id %#x is in use", f->flow);
		return;
	}
	if (!listen_allowed(r, &a)) {
		log_error("BIND %s:%u refused: %s", a.host, a.port,
		    r->permit_listen.given ? "not in --permit-listen" : "not a loopback address");
		out_reason(r, FRAME_ERROR, f->flow, ERR_NOT_ALLOWED,
		    "binding %s:%u is not allowed %s", a.host, a.port,
		    r->permit_listen.given ? "by the relay's --permit-listen"
					   : "(loopback only without --permit-listen)");
		return;
	}
	if (r->nlisteners >= MAX_LISTENERS) {
		out_reason(r, FRAME_ERROR, f->flow, ERR_LIMIT, "the relay has %u listeners already",
		    r->nlisteners);
		return;
	}
	if (bind_address(a.host, a.port, &ss) < 0) {
		out_reason(r, FRAME_ERROR, f->flow, ERR_SOCKET,
		    "bind %s:%u: not an IP address (or localhost)", a.host, a.port);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->r = r;
	l->id = f->flow;
	snprintf(
	    l->where, sizeof(l->where), strchr(a.host, ':') ? "[%s]:%u" : "%s:%u", a.host, a.port);
	uv_udp_init(&r->loop, &l->udp);
	l->udp.data = l;
	if ((rc = listener_start(l, (struct sockaddr *)&ss, &port)) < 0) {
		out_reason(
		    r, FRAME_ERROR, f->flow, ERR_SOCKET, "bind %s: %s", l->where, uv_strerror(rc));
		uv_close((uv_handle_t *)&l->udp, listener_close_cb);
		return;
	}
	l->next = r->listeners;
	r->listeners = l;
	r->nlisteners++;
	told_forget(r, l->id);
	log_debug("listener %#x: bound %s, port %u", l->id, l->where, port);
	if (frame_bound_encode(port, payload, sizeof(payload)) == 2)
		out_frame(r, FRAME_BOUND, l->id, payload, 2);
}

static void
on_data(struct relay *r, const struct frame *f)
{
	struct flow *fl;
	struct rflow *rf;

	if (f->len > FRAME_DATAGRAM_MAX) {
		log_debug2("flow %#x: %u-byte datagram dropped: too big", f->flow, f->len);
		r->drops.too_big++;
		return;
	}
	if ((fl = flow_table_find(r->flows, f->flow)) == NULL) {
		if (!told_has(r, f->flow)) {
			told_add(r, f->flow);
			out_reason(
			    r, FRAME_ERROR, f->flow, ERR_UNKNOWN_FLOW, "no flow %#x", f->flow);
		}
		return;
	}
	rf = container_of(fl, struct rflow, f);
	flow_table_touch(r->flows, fl, uv_now(&r->loop));
	if (rf->state != RF_RESOLVING) {
		rflow_send(rf, f->payload, f->len);
	} else if (rf->nqueued < RESOLVE_QUEUE && r->resolve_bytes + f->len <= RESOLVE_BYTES) {
		struct queued *q = &rf->queue[rf->nqueued++];
		r->resolve_bytes += f->len;
		q->data = xmalloc(f->len);
		memcpy(q->data, f->payload, f->len);
		q->len = f->len;
	} else {
		rf->dropped++;
		r->drops.resolving++;
	}
}

/* CLOSE, or an ERROR: the client is done with that flow or listener (an
 * ERROR on flow 0: with the relay). Never answered, even when malformed. */
static void
on_close(struct relay *r, const struct frame *f)
{
	struct frame_reason reason;
	struct listener *l;
	struct flow *fl;
	const char *err;

	if (frame_reason_parse(f, &reason, &err) < 0)
		snprintf(reason.text, sizeof(reason.text), "(malformed: %s)", err);
	if (f->type == FRAME_ERROR && f->flow == 0) {
		log_error("the client gave up: error %u: %s", reason.code, reason.text);
		relay_stop(r, 1);
		return;
	}
	if (f->type == FRAME_ERROR)
		log_debug("the client reports on flow %#x: error %u: %s", f->flow, reason.code,
		    reason.text);
	if ((fl = flow_table_find(r->flows, f->flow)) != NULL)
		rflow_close(container_of(fl, struct rflow, f), -1, "closed by the client");
	else if ((l = listener_find(r, f->flow)) != NULL)
		listener_close(l);
	else
		log_debug("%s for flow %#x, which is gone already",
		    f->type == FRAME_CLOSE ? "CLOSE" : "ERROR", f->flow);
}

static void
on_ping(struct relay *r, const struct frame *f)
{
	uint64_t token;
	const char *err;

	if (frame_ping_parse(f, &token, &err) < 0) {
		out_reason(r, FRAME_ERROR, f->flow, ERR_PROTOCOL, "bad PING: %s", err);
		return;
	}
	out_frame(r, FRAME_PONG, f->flow, f->payload, f->len);
}

static void
on_hello(struct relay *r, const struct frame *f)
{
	struct frame_hello h;
	const char *err;

	if (frame_hello_parse(f, &h, &err) < 0) {
		out_reason(r, FRAME_ERROR, 0, ERR_PROTOCOL, "bad HELLO: %s", err);
		return;
	}
	if (h.major != RELAY_VERSION_MAJOR) {
		out_reason(r, FRAME_ERROR, 0, ERR_VERSION, "relay speaks %u.%u, client %u.%u",
		    RELAY_VERSION_MAJOR, r->minor, h.major, h.minor);
		return;
	}
	r->idle_ms = (uint64_t)h.idle_timeout * 1000;
	r->peer_minor = h.minor;
	r->max_flows = r->max_flows_arg;
	if (h.max_flows != 0 && h.max_flows < r->max_flows)
		r->max_flows = h.max_flows;
	r->max_datagram = h.max_datagram == 0 || h.max_datagram > FRAME_DATAGRAM_MAX
	    ? FRAME_DATAGRAM_MAX
	    : h.max_datagram;
	r->state = R_RUNNING;
	log_debug("client \"%s\", protocol %u.%u; idle timeout %u s, %u flows, datagrams up to %u",
	    h.software, h.major, h.minor, h.idle_timeout, r->max_flows, r->max_datagram);
	if (r->minor >= 1 && h.minor >= 1 && h.stream_window != 0) {
		relaystream_enable(r->streams, h.stream_window);
		log_debug("TCP streams: the client's window %u, ours %u, at most %u streams",
		    h.stream_window, RELAYSTREAM_WINDOW, r->max_streams);
	}
}

/* SOPEN to SRESET: relaystream.c's, once both HELLOs said streams; until
 * then (or from a 1.0 client, or in a 1.0 relay) unknown types, skipped. */
static void
on_stream_frame(struct relay *r, const struct frame *f)
{
	char name[16];

	if (!relaystream_enabled(r->streams)) {
		log_debug("skipping %s: no TCP streams in this session",
		    frame_type_name(f->type, name, sizeof(name)));
		return;
	}
	if (f->type == FRAME_SOPEN && f->flow != 0 &&
	    (flow_table_find(r->flows, f->flow) != NULL || listener_find(r, f->flow) != NULL)) {
		char text[64];
		snprintf(text, sizeof(text), "SOPEN: id %#x is a flow or listener", f->flow);
		relaystream_refuse(r->streams, f->flow, RST_PROTOCOL, text);
		return;
	}
	relaystream_frame(r->streams, f);
}

static void
dispatch(struct relay *r, const struct frame *f)
{
	char name[16];

	log_debug3("<- %s flow %#x, %u bytes", frame_type_name(f->type, name, sizeof(name)),
	    f->flow, f->len);
	if (r->state == R_WAIT_HELLO && f->type != FRAME_HELLO &&
	    !(f->type == FRAME_ERROR && f->flow == 0)) {
		out_reason(r, FRAME_ERROR, 0, ERR_PROTOCOL, "expected HELLO first, got %s",
		    frame_type_name(f->type, name, sizeof(name)));
		return;
	}
	switch (f->type) {
	case FRAME_HELLO:
		if (r->state == R_WAIT_HELLO)
			on_hello(r, f);
		else
			out_reason(r, FRAME_ERROR, 0, ERR_PROTOCOL, "HELLO twice");
		break;
	case FRAME_OPEN:
		on_open(r, f);
		break;
	case FRAME_BIND:
		on_bind(r, f);
		break;
	case FRAME_DATA:
		on_data(r, f);
		break;
	case FRAME_CLOSE:
	case FRAME_ERROR:
		on_close(r, f);
		break;
	case FRAME_PING:
		on_ping(r, f);
		break;
	case FRAME_PONG:
		break;
	case FRAME_SOPEN:
	case FRAME_SOPENED:
	case FRAME_SDATA:
	case FRAME_SWINDOW:
	case FRAME_SEOF:
	case FRAME_SRESET:
		on_stream_frame(r, f);
		break;
	case FRAME_BOUND:
	case FRAME_ACCEPT:
		out_reason(r, FRAME_ERROR, f->flow, ERR_PROTOCOL, "%s is the relay's to send",
		    frame_type_name(f->type, name, sizeof(name)));
		break;
	default:
		log_debug(
		    "skipping a frame of unknown %s", frame_type_name(f->type, name, sizeof(name)));
		break;
	}
}

/* ---------------------------------------------------------------- the stream */

static void
pipe_frame_cb(void *data, const struct frame *f)
{
	dispatch(data, f);
}

static void
pipe_drained_cb(void *data)
{
	struct relay *r = data;

	if (r->state == R_RUNNING)
		relaystream_drained(r->streams);
}

static void
pipe_end_cb(void *data, enum framepipe_end why, const char *detail)
{
	struct relay *r = data;

	switch (why) {
	case FRAMEPIPE_EOF:
		log_debug("stdin: %s: the client went away", detail);
		relay_stop(r, 0);
		break;
	case FRAMEPIPE_TRUNCATED:
		log_error("stdin: %s", detail);
		relay_stop(r, 1);
		break;
	case FRAMEPIPE_OUTPUT_GONE:
		log_debug("stdout: %s: the client went away", detail);
		relay_stop(r, 0);
		break;
	case FRAMEPIPE_OUTPUT_FAILED:
		log_error("writing to stdout: %s", detail);
		relay_stop(r, 1);
		break;
	case FRAMEPIPE_BAD_HEADER:
		out_reason(r, FRAME_ERROR, 0, ERR_PROTOCOL, "malformed frame header: %s", detail);
		break;
	}
}

/* ---------------------------------------------------------------- lifetime */

static void
tick_cb(uv_timer_t *t)
{
	struct relay *r = t->loop->data;
	uint64_t now = uv_now(&r->loop);
	struct flow *f;

	for (f = flow_table_oldest(r->flows); f != NULL; f = flow_newer(f))
		report_drops(container_of(f, struct rflow, f));
	if (r->idle_ms == 0)
		return;
	while ((f = flow_table_oldest(r->flows)) != NULL && now - f->last_used >= r->idle_ms) {
		char text[64];
		snprintf(
		    text, sizeof(text), "idle for %llu s", (unsigned long long)(r->idle_ms / 1000));
		rflow_close(container_of(f, struct rflow, f), CLOSE_IDLE, text);
	}
}

static void
tick_closed_cb(uv_handle_t *h)
{
}

static void
relay_stop(struct relay *r, int status)
{
	struct flow *f;

	if (r->state == R_STOPPING)
		return;
	r->state = R_STOPPING;
	r->status = status;
	while ((f = flow_table_oldest(r->flows)) != NULL)
		rflow_close(container_of(f, struct rflow, f), -1, "the relay is stopping");
	while (r->listeners != NULL)
		listener_close(r->listeners);
	if (r->streams != NULL && relaystream_count(r->streams) > 0) {
		log_debug("stopping: resetting %u TCP streams", relaystream_count(r->streams));
		relaystream_stop(r->streams);
	}
	if (r->tick_open) {
		uv_close((uv_handle_t *)&r->tick, tick_closed_cb);
		r->tick_open = false;
	}
	framepipe_stop(r->pipe);
}

static int
relay_start(struct relay *r)
{
	static const struct framepipe_events events = {pipe_frame_cb, pipe_end_cb, pipe_drained_cb};
	char err[256];
	int rc;

	uv_timer_init(&r->loop, &r->tick);
	r->tick_open = true;
	r->pipe = framepipe_new(&r->loop, &events, r);
	r->streams = relaystream_new(&r->loop, r->pipe, &r->permit_open, r->max_streams);
	if ((rc = framepipe_start(r->pipe, 0, 1, err, sizeof(err))) < 0) {
		log_error("%s", err);
		return rc;
	}
	out_hello(r);
	return uv_timer_start(&r->tick, tick_cb, TICK_MS, TICK_MS);
}

static void
walk_cb(uv_handle_t *h, void *arg)
{
	log_error("internal error: %s handle left open at exit", uv_handle_type_name(h->type));
}

static int
relay_run(struct relay *r)
{
	int rc;

	fdlimit_raise(); /* a socket per stream: --max-streams of them */
	uv_loop_init(&r->loop);
	r->loop.data = r;
	r->flows = flow_table_new();
	if (relay_start(r) < 0)
		relay_stop(r, 1);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	log_debug("exit %d; datagrams dropped: %llu (late or over their flow's share of the "
		  "channel), %llu (socket busy or "
		  "refused), %llu (host still resolving), %llu (too big)",
	    r->status, (unsigned long long)framepipe_dropped(r->pipe),
	    (unsigned long long)r->drops.send_failed, (unsigned long long)r->drops.resolving,
	    (unsigned long long)r->drops.too_big);
	if ((rc = uv_loop_close(&r->loop)) != 0) {
		uv_walk(&r->loop, walk_cb, NULL);
		r->status = 1;
	}
	flow_table_free(r->flows);
	relaystream_free(r->streams);
	framepipe_free(r->pipe);
	return r->status;
}

/* ---------------------------------------------------------------- arguments */

/* --name VALUE or --name=VALUE: 1 with *val set, 0 if arg is not --name, -1 if the value is
 * missing. */
static int
opt_value(const char *name, int argc, char **argv, int *i, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* A number from 1 to max: 0, or -1. */
static int
parse_count(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v < 1 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* --max-flows, --max-streams and --protocol: 0, or -1 with the reason in err. */
static int
parse_number_opt(struct relay *r, const char *opt, const char *val, char *err, size_t errlen)
{
	if (strcmp(opt, "--protocol") == 0) {
		if (strcmp(val, "1.0") == 0 || strcmp(val, "1.1") == 0) {
			r->minor = (uint8_t)(val[2] - '0');
			return 0;
		}
		snprintf(err, errlen, "--protocol %s: expected 1.0 or 1.1", val);
		return -1;
	}
	if (strcmp(opt, "--max-flows") == 0) {
		if (parse_count(val, MAX_FLOWS_LIMIT, &r->max_flows_arg) == 0)
			return 0;
		snprintf(err, errlen, "--max-flows %s: expected a number from 1 to %d", val,
		    MAX_FLOWS_LIMIT);
		return -1;
	}
	if (parse_count(val, RELAYSTREAM_MAX_LIMIT, &r->max_streams) == 0)
		return 0;
	snprintf(err, errlen, "--max-streams %s: expected a number from 1 to %d", val,
	    RELAYSTREAM_MAX_LIMIT);
	return -1;
}

/* An allow-list entry; 0, or -1 with the reason in err. */
static int
add_permit(struct permit_list *l, bool port_only, const char *opt, const char *val, char *err,
    size_t errlen)
{
	char reason[512];

	if (permit_add(l, val, port_only, reason, sizeof(reason)) == 0)
		return 0;
	snprintf(err, errlen, "%s %s", opt, reason);
	return -1;
}

/* 0, 1 for "exit 0 now" (help), or -1 with the reason in err. */
static int
parse_args(struct relay *r, int argc, char **argv, char *err, size_t errlen)
{
	static const char *const names[] = {
	    "--permit-open", "--permit-listen", "--max-flows", "--max-streams", "--protocol"};
	const size_t nnames = sizeof(names) / sizeof(names[0]);
	int verbose = 0;

	r->max_flows_arg = MAX_FLOWS_DEFAULT;
	r->max_streams = RELAYSTREAM_MAX_DEFAULT;
	r->minor = RELAY_VERSION_MINOR;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		int m = 0;
		size_t k;

		if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
			verbose += (int)strlen(a + 1);
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("%s\n", usage);
			return 1;
		}
		for (k = 0; k < nnames && (m = opt_value(names[k], argc, argv, &i, &val)) == 0; k++)
			;
		if (k == nnames) {
			snprintf(err, errlen, "%s %s (%s)",
			    a[0] == '-' ? "unknown option" : "unexpected argument", a, usage);
			return -1;
		}
		if (m < 0) {
			snprintf(err, errlen, "%s needs a value", names[k]);
			return -1;
		}
		if (k == 0 && add_permit(&r->permit_open, false, names[k], val, err, errlen) < 0)
			return -1;
		if (k == 1 && add_permit(&r->permit_listen, true, names[k], val, err, errlen) < 0)
			return -1;
		if (k >= 2 && parse_number_opt(r, names[k], val, err, errlen) < 0)
			return -1;
	}
	log_set_level(verbose == 0 ? LOG_ERROR
		: verbose == 1	   ? LOG_DEBUG1
		: verbose == 2	   ? LOG_DEBUG2
				   : LOG_DEBUG3);
	return 0;
}

/* Log lines go to fd 2 and frames to fd 1: none of 0-2 may be left for a
 * socket to take. */
static void
ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int null = open("/dev/null", O_RDWR);
			if (null >= 0 && null != fd) {
				dup2(null, fd);
				close(null);
			}
		}
	}
}

int
relay_main(int argc, char **argv)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	char err[1024];
	int status;

	ensure_std_fds();
	xmalloc_keep_heap();
	log_set_ident("porthole relay");
	log_set_level(LOG_ERROR);
	switch (parse_args(r, argc, argv, err, sizeof(err))) {
	case 0:
		signal(SIGPIPE, SIG_IGN);
		status = relay_run(r);
		break;
	case 1:
		status = 0;
		break;
	default:
		log_error("%s", err);
		status = 2;
		break;
	}
	permit_free(&r->permit_open);
	permit_free(&r->permit_listen);
	free(r);
	return status;
}
