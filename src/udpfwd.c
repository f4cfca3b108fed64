/*
 * UDP forwarding, the client side.
 *
 * A flow is one (listener, source address) for -L: datagrams from a local
 * sender to a -L .../udp socket go to the relay as OPEN then DATA, and the
 * relay's DATA for that flow is sent back to that sender from the same
 * socket. For -R the relay reports each new source on its bound port with
 * ACCEPT; the flow gets a UDP socket of its own here, connected to the
 * target, so the target sees one stable source port per remote sender.
 *
 * Flows live in two hash tables (by id; by listener and source address) and
 * one LRU list. A flow idle in both directions for UdpIdleTimeout is closed,
 * and when UdpMaxFlows flows exist the least recently used one makes room;
 * the relay is told with CLOSE either way. Flow ids chosen here count up
 * from 1; listener ids (BIND) from LISTENER_BASE, so ERROR frames for a flow
 * and for a listener cannot be confused.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "log.h"
#include "relaychan.h"
#include "socks.h"
#include "udpfwd.h"
#include "xmalloc.h"

#define LISTENER_BASE 0x40000000u
#define RESTART_DELAY_MS 5000 /* between relay starts after a failure */
#define DEFAULT_IDLE 60
#define DEFAULT_MAX_FLOWS 1024

struct uflow;

struct ulisten {
	struct ulisten *next;
	bool is_socks; /* a SOCKS5 UDP association: destinations come with each datagram */
	struct uflow *assoc_flows;
	struct sockaddr_storage client; /* socks: the only sender IP accepted */
	struct udpfwd *u;
	struct fwd_spec spec;
	char name[600];
	uint32_t id;
	bool remote;
	/* -L: the local sockets */
	uv_udp_t socks[2];
	int nsocks;
	/* -R: the local target, resolved once */
	bool bound, bind_sent;
	uint16_t bound_port; /* -R: the port the relay listens on, once BOUND */
	bool ever_bound;     /* a BIND succeeded once: a refusal now means the port is still held */
	bool settled;	     /* the first BIND was answered, or the relay went down before */
	unsigned retries;    /* BINDs refused since the last success */
	uint64_t retry_due;  /* loop time before which no BIND is sent again; 0: none pending */
	uv_getaddrinfo_t gai;
	bool resolving;
	struct sockaddr_storage target;
	bool have_target;
	uint64_t drops;
	uint64_t relay_drops; /* datagrams the relay dropped, by its DROPS frames */
	unsigned flows;	      /* open now */
	uint64_t total;	      /* flows since start */
	uint64_t bytes_up, bytes_down;
};

struct uflow {
	struct flow f; /* id; -L: listener id and sender (the table's source index) */
	struct ulisten *l;
	uv_udp_t *sock; /* -L: the listener socket; -R: our own */
	bool own_sock;
	/* socks: where this flow goes, and the header its replies carry */
	struct uflow *assoc_next; /* the association's flows (one per sender and destination) */
	char dst[FRAME_HOST_MAX + 1];
	uint16_t dst_port;
	uint8_t reply_hdr[4 + 1 + 255 + 2];
	size_t reply_hdr_len;
	uint64_t drops;	      /* its datagrams to the relay refused while it was down */
	uint64_t relay_drops; /* its datagrams the relay dropped (DROPS) */
};

struct udpfwd {
	uv_loop_t *loop;
	struct session *session;
	struct relaychan *relay;
	struct ulisten *listeners;
	struct flow_table *flows; /* by id, by sender, least recently used first */
	uint32_t next_flow, next_listener;
	uint32_t idle_ms;
	size_t max_flows;
	bool gateway_ports;
	bool persist; /* a port in use is retried even before the first BIND succeeded */
	uv_timer_t sweep;
	uv_timer_t restart;
	uv_timer_t rebind;   /* the next BIND retry of a port the server still holds */
	uint32_t unknown[8]; /* flows recently reported unknown, not to report twice */
	size_t n_unknown;
	bool closing;
	int handles;
	udpfwd_failed_cb failed;
	void *arg;
};

static char recv_buf[65536];

static void unref(struct udpfwd *u);
static void send_binds(struct udpfwd *u);
static void rebind_cb(uv_timer_t *t);

/* ---- the flow table (flow.c) ---- */

#define UFLOW(fl) ((fl) == NULL ? NULL : container_of((fl), struct uflow, f))

static size_t
addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static struct uflow *
find_id(struct udpfwd *u, uint32_t id)
{
	return UFLOW(flow_table_find(u->flows, id));
}

static void
touch(struct udpfwd *u, struct uflow *f)
{
	flow_table_touch(u->flows, &f->f, uv_now(u->loop));
}

static struct uflow *
oldest(struct udpfwd *u)
{
	return UFLOW(flow_table_oldest(u->flows));
}

static void
free_handle_cb(uv_handle_t *h)
{
	free(h);
}

/* Sends CLOSE or ERROR for a flow, with a code and a short text. */
static void
send_reason(struct udpfwd *u, enum frame_type type, uint32_t flow, uint16_t code, const char *text)
{
	uint8_t payload[FRAME_HEADER + 256];
	struct frame_reason r = {code, ""};
	int n;

	snprintf(r.text, sizeof(r.text), "%s", text);
	n = frame_reason_encode(&r, payload, sizeof(payload));
	relaychan_send(u->relay, type, flow, payload, n > 0 ? (size_t)n : 0);
}

/* Asks the relay (started if need be) to open flow f towards host:port. */
static void
send_open(struct udpfwd *u, struct uflow *f, const char *host, uint16_t port)
{
	struct frame_addr a;
	uint8_t payload[FRAME_HOST_MAX + 8];
	int n;

	relaychan_start(u->relay);
	snprintf(a.host, sizeof(a.host), "%s", host);
	a.port = port;
	n = frame_addr_encode(&a, payload, sizeof(payload));
	if (n > 0)
		relaychan_send(u->relay, FRAME_OPEN, f->f.id, payload, (size_t)n);
}

/* A datagram of f towards the relay; counted as dropped if it was refused. */
static void
flow_send(struct udpfwd *u, struct uflow *f, const void *data, size_t len)
{
	if (!relaychan_send(u->relay, FRAME_DATA, f->f.id, data, len)) {
		f->drops++;
		f->l->drops++;
	}
}

/* Removes a flow; tells the relay (reason) unless it was the relay that closed it. */
static void
flow_free(struct udpfwd *u, struct uflow *f, int reason)
{
	/* What the scheduler dropped of it now counts for the forward as a whole. */
	f->l->drops += relaychan_forget(u->relay, f->f.id);
	if (reason >= 0 && relaychan_is_up(u->relay))
		send_reason(u, FRAME_CLOSE, f->f.id, (uint16_t)reason, "");
	flow_table_remove(u->flows, &f->f);
	if (f->l->is_socks) {
		struct uflow **pp;
		for (pp = &f->l->assoc_flows; *pp != NULL; pp = &(*pp)->assoc_next)
			if (*pp == f) {
				*pp = f->assoc_next;
				break;
			}
	}
	f->l->flows--;
	/* No callback runs for a closing handle, so the flow can go now. */
	if (f->own_sock)
		uv_close((uv_handle_t *)f->sock, free_handle_cb);
	free(f);
}

/*
 * A new flow. sender: for -L, the local sender (indexed, so its datagrams
 * find the flow); NULL for flows found by id only (-R, SOCKS).
 */
static struct uflow *
flow_new(struct udpfwd *u, struct ulisten *l, uint32_t id, const struct sockaddr *sender)
{
	struct uflow *f;
	struct uflow *old;

	if (flow_table_count(u->flows) >= u->max_flows && (old = oldest(u)) != NULL) {
		log_verbose("%s: flow table full (%zu): closing the least recently used flow",
		    l->name, u->max_flows);
		flow_free(u, old, CLOSE_EVICTED);
	}
	f = xcalloc(1, sizeof(*f));
	f->f.id = id;
	f->l = l;
	if (sender != NULL) {
		f->f.listener = l->id;
		memcpy(&f->f.source, sender, addr_len(sender));
	}
	l->flows++;
	l->total++;
	flow_table_add(u->flows, &f->f, uv_now(u->loop));
	return f;
}

static uint32_t
next_flow_id(struct udpfwd *u)
{
	uint32_t id = u->next_flow;
	u->next_flow = u->next_flow + 1 >= LISTENER_BASE ? 1 : u->next_flow + 1;
	return id;
}

/* ---- -L: datagrams from local senders ---- */

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	b->base = recv_buf;
	b->len = sizeof(recv_buf);
}

static void
local_recv_cb(
    uv_udp_t *sock, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
	struct ulisten *l = sock->data;
	struct udpfwd *u = l->u;
	struct uflow *f;

	if (n < 0 || from == NULL || u->closing)
		return;
	if (flags & UV_UDP_PARTIAL) {
		l->drops++;
		return;
	}
	f = UFLOW(flow_table_find_source(u->flows, l->id, from));
	if (f == NULL) {
		f = flow_new(u, l, next_flow_id(u), from);
		f->sock = sock;
		send_open(u, f, l->spec.host, l->spec.host_port);
		log_debug("%s: flow %u opened", l->name, f->f.id);
	}
	touch(u, f);
	l->bytes_up += (uint64_t)n;
	flow_send(u, f, b->base, (size_t)n);
}

/* ---- SOCKS5 UDP associations ---- */

static bool
same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		   &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* The association's flow from sender to the header's destination. */
static struct uflow *
find_socks_flow(struct ulisten *l, const struct sockaddr *sender, const struct socks_udp *h)
{
	for (struct uflow *f = l->assoc_flows; f != NULL; f = f->assoc_next)
		if (f->dst_port == h->port && strcmp(f->dst, h->host) == 0 &&
		    memcmp(&f->f.source, sender, addr_len(sender)) == 0)
			return f;
	return NULL;
}

static void
socks_recv_cb(
    uv_udp_t *sock, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
	struct ulisten *l = sock->data;
	struct udpfwd *u = l->u;
	struct socks_udp h;
	const char *err;

	if (n <= 0 || from == NULL || u->closing || (flags & UV_UDP_PARTIAL))
		return;
	if (!same_ip(from, (struct sockaddr *)&l->client)) {
		l->drops++;
		return;
	}
	if (socks_udp_parse((const uint8_t *)b->base, (size_t)n, &h, &err) == -1 || h.frag != 0) {
		log_debug("%s: datagram dropped: %s", l->name, h.frag ? "fragmented" : err);
		l->drops++;
		return;
	}
	struct uflow *f = find_socks_flow(l, from, &h);
	if (f == NULL) {
		f = flow_new(u, l, next_flow_id(u), NULL);
		memcpy(&f->f.source, from, addr_len(from));
		f->assoc_next = l->assoc_flows;
		l->assoc_flows = f;
		f->sock = sock;
		snprintf(f->dst, sizeof(f->dst), "%s", h.host);
		f->dst_port = h.port;
		memcpy(f->reply_hdr, b->base, h.header_len);
		f->reply_hdr[2] = 0;
		f->reply_hdr_len = h.header_len;
		send_open(u, f, h.host, h.port);
		log_debug("%s: flow %u to %s:%u", l->name, f->f.id, h.host, h.port);
	}
	touch(u, f);
	flow_send(u, f, b->base + h.header_len, (size_t)n - h.header_len);
}

struct udp_assoc *
udpfwd_associate(struct udpfwd *u, const struct sockaddr *local, const struct sockaddr *client,
    const char *name, struct sockaddr_storage *bound, char *err, size_t errlen)
{
	struct ulisten *l = xcalloc(1, sizeof(*l));
	struct sockaddr_storage at;
	int len = sizeof(*bound), rc;

	l->u = u;
	l->is_socks = true;
	l->id = u->next_listener++;
	memcpy(&l->client, client, addr_len(client));
	snprintf(l->name, sizeof(l->name), "%s (udp)", name);
	memcpy(&at, local, addr_len(local));
	if (at.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&at)->sin6_port = 0;
	else
		((struct sockaddr_in *)&at)->sin_port = 0;
	uv_udp_init(u->loop, &l->socks[0]);
	l->socks[0].data = l;
	l->nsocks = 1;
	rc = uv_udp_bind(&l->socks[0], (struct sockaddr *)&at, 0);
	if (rc == 0)
		rc = uv_udp_getsockname(&l->socks[0], (struct sockaddr *)bound, &len);
	if (rc == 0)
		rc = uv_udp_recv_start(&l->socks[0], alloc_cb, socks_recv_cb);
	u->handles++;
	l->next = u->listeners;
	u->listeners = l;
	if (rc != 0) {
		snprintf(err, errlen, "cannot open a UDP socket: %s", uv_strerror(rc));
		udpfwd_dissociate(u, (struct udp_assoc *)l);
		return NULL;
	}
	return (struct udp_assoc *)l;
}

static void
assoc_closed_cb(uv_handle_t *h)
{
	struct ulisten *l = h->data;
	struct udpfwd *u = l->u;

	free(l);
	unref(u);
}

void
udpfwd_dissociate(struct udpfwd *u, struct udp_assoc *a)
{
	struct ulisten *l = (struct ulisten *)a, **pp;
	struct uflow *f, *next;

	for (f = l->assoc_flows; f != NULL; f = next) {
		next = f->assoc_next;
		flow_free(u, f, CLOSE_NORMAL);
	}
	for (pp = &u->listeners; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	uv_close((uv_handle_t *)&l->socks[0], assoc_closed_cb);
}

/* ---- frames from the relay ---- */

static struct ulisten *
find_listener(struct udpfwd *u, uint32_t id)
{
	for (struct ulisten *l = u->listeners; l != NULL; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

static void
remote_recv_cb(
    uv_udp_t *sock, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
	struct uflow *f = sock->data;
	struct udpfwd *u = f->l->u;

	if (n < 0 || from == NULL || u->closing || (flags & UV_UDP_PARTIAL))
		return;
	touch(u, f);
	f->l->bytes_up += (uint64_t)n;
	flow_send(u, f, b->base, (size_t)n);
}

static void
on_accept(struct udpfwd *u, const struct frame *fr)
{
	struct frame_accept a;
	const char *err;
	struct ulisten *l;

	if (frame_accept_parse(fr, &a, &err) == -1 || (l = find_listener(u, a.listener)) == NULL ||
	    !l->have_target) {
		send_reason(u, FRAME_CLOSE, fr->flow, CLOSE_FAILED, "");
		return;
	}
	struct uflow *f = flow_new(u, l, fr->flow, NULL);
	f->own_sock = true;
	f->sock = xcalloc(1, sizeof(*f->sock));
	uv_udp_init(u->loop, f->sock);
	f->sock->data = f;
	int rc = uv_udp_connect(f->sock, (struct sockaddr *)&l->target);
	if (rc == 0)
		rc = uv_udp_recv_start(f->sock, alloc_cb, remote_recv_cb);
	if (rc != 0)
		log_info(
		    "%s: flow from %s:%u: %s", l->name, a.source, a.source_port, uv_strerror(rc));
	else
		log_debug("%s: flow %08x from %s:%u", l->name, f->f.id, a.source, a.source_port);
}

static void
on_data(struct udpfwd *u, const struct frame *fr)
{
	struct uflow *f = find_id(u, fr->flow);
	uv_buf_t b = uv_buf_init((char *)fr->payload, fr->len);

	if (f == NULL) {
		/* A flow we no longer know: say so once, and the relay drops it. */
		for (size_t i = 0; i < sizeof(u->unknown) / sizeof(u->unknown[0]); i++)
			if (u->unknown[i] == fr->flow)
				return;
		u->unknown[u->n_unknown++ % (sizeof(u->unknown) / sizeof(u->unknown[0]))] =
		    fr->flow;
		send_reason(u, FRAME_ERROR, fr->flow, ERR_UNKNOWN_FLOW, "no such flow");
		return;
	}
	touch(u, f);
	if (fr->len > FRAME_DATAGRAM_MAX)
		return;
	f->l->bytes_down += fr->len;
	if (f->l->is_socks) {
		/* The reply carries the destination's address, as RFC 1928 §7 says. */
		static uint8_t wrapped[sizeof(f->reply_hdr) + FRAME_PAYLOAD_MAX];
		memcpy(wrapped, f->reply_hdr, f->reply_hdr_len);
		memcpy(wrapped + f->reply_hdr_len, fr->payload, fr->len);
		b = uv_buf_init((char *)wrapped, (unsigned)(f->reply_hdr_len + fr->len));
	}
	int rc = uv_udp_try_send(
	    f->sock, &b, 1, f->own_sock ? NULL : (const struct sockaddr *)&f->f.source);
	if (rc < 0)
		f->l->drops++;
}

static void
on_bound(struct udpfwd *u, const struct frame *fr)
{
	struct ulisten *l = find_listener(u, fr->flow);
	const char *err;
	uint16_t port;

	if (l == NULL || frame_bound_parse(fr, &port, &err) == -1)
		return;
	l->bound = true;
	l->bound_port = port;
	l->settled = true;
	if (l->retries > 0)
		log_info("%s: the relay listens again", l->name);
	l->ever_bound = true;
	l->retries = 0;
	l->retry_due = 0;
	if (l->spec.bind_port == 0)
		log_info("remote udp port %u -> %s:%u", port, l->spec.host, l->spec.host_port);
	else
		log_verbose("%s: the relay listens on port %u", l->name, port);
}

/*
 * After a reconnect the old session's relay may still hold the UDP port on
 * the server until sshd notices that connection is dead (ClientAliveInterval
 * x ClientAliveCountMax). Ask again with backoff instead of giving up.
 */
static void
bind_later(struct udpfwd *u, struct ulisten *l, const char *why)
{
	uint64_t delay = 1000ULL << (l->retries < 5 ? l->retries : 5);

	l->retries++;
	l->retry_due = uv_now(u->loop) + delay;
	log_info("%s: the server still holds udp port %u%s (%s); retrying in %llu s", l->name,
	    l->spec.bind_port, l->ever_bound ? " from the earlier connection" : "", why,
	    (unsigned long long)(delay / 1000));
	if (!uv_is_active((uv_handle_t *)&u->rebind) || uv_timer_get_due_in(&u->rebind) > delay)
		uv_timer_start(&u->rebind, rebind_cb, delay, 0);
}

static void
on_error(struct udpfwd *u, const struct frame *fr)
{
	struct frame_reason r = {0, ""};
	const char *err;
	struct ulisten *l;
	struct uflow *f;
	char why[1024];

	frame_reason_parse(fr, &r, &err);
	if ((l = find_listener(u, fr->flow)) != NULL) {
		l->bind_sent = false;
		l->settled = true;
		/* A socket error is a port in use; the relay's allow-list never changes. */
		if (r.code == ERR_SOCKET && (l->ever_bound || u->persist)) {
			bind_later(u, l, r.text);
			return;
		}
		snprintf(why, sizeof(why), "%s: the relay cannot listen: %s", l->name, r.text);
		u->failed(why, u->arg);
		return;
	}
	if ((f = find_id(u, fr->flow)) != NULL) {
		log_info("%s: %s", f->l->name, r.text);
		flow_free(u, f, -1);
	}
}

/* The relay's count of a flow's datagrams it dropped (1.1). */
static void
on_drops(struct udpfwd *u, const struct frame *fr)
{
	struct uflow *f = find_id(u, fr->flow);
	const char *err;
	uint32_t n;

	if (frame_drops_parse(fr, &n, &err) == -1) {
		log_debug("relay: a bad DROPS frame: %s", err);
		return;
	}
	if (f == NULL)
		return; /* a flow already gone here: its forward is unknown */
	f->relay_drops += n;
	f->l->relay_drops += n;
}

static void
relay_frame_cb(const struct frame *fr, void *arg)
{
	struct udpfwd *u = arg;
	struct uflow *f;

	switch (fr->type) {
	case FRAME_DATA:
		on_data(u, fr);
		break;
	case FRAME_ACCEPT:
		on_accept(u, fr);
		break;
	case FRAME_BOUND:
		on_bound(u, fr);
		break;
	case FRAME_CLOSE:
		if ((f = find_id(u, fr->flow)) != NULL)
			flow_free(u, f, -1);
		break;
	case FRAME_ERROR:
		on_error(u, fr);
		break;
	case FRAME_DROPS:
		on_drops(u, fr);
		break;
	default: {
		char name[32];
		log_debug(
		    "relay: ignoring a %s frame", frame_type_name(fr->type, name, sizeof(name)));
		break;
	}
	}
}

static void
send_binds(struct udpfwd *u)
{
	for (struct ulisten *l = u->listeners; l != NULL; l = l->next) {
		if (!l->remote || l->bind_sent || l->retry_due > uv_now(u->loop))
			continue;
		struct frame_addr a;
		uint8_t payload[FRAME_HOST_MAX + 8];
		if (!l->spec.has_bind)
			snprintf(a.host, sizeof(a.host), "localhost");
		else if (spec_bind_is_wildcard(&l->spec))
			snprintf(a.host, sizeof(a.host), "0.0.0.0");
		else
			snprintf(a.host, sizeof(a.host), "%s", l->spec.bind_host);
		a.port = l->spec.bind_port;
		int n = frame_addr_encode(&a, payload, sizeof(payload));
		if (n > 0 && relaychan_send(u->relay, FRAME_BIND, l->id, payload, (size_t)n))
			l->bind_sent = true;
	}
}

static void
rebind_cb(uv_timer_t *t)
{
	struct udpfwd *u = t->data;
	uint64_t now = uv_now(u->loop), next = 0;

	for (struct ulisten *l = u->listeners; l != NULL; l = l->next) {
		if (l->retry_due == 0)
			continue;
		if (l->retry_due <= now)
			l->retry_due = 0;
		else if (next == 0 || l->retry_due - now < next)
			next = l->retry_due - now;
	}
	if (relaychan_is_up(u->relay))
		send_binds(u);
	if (next > 0)
		uv_timer_start(&u->rebind, rebind_cb, next, 0);
}

static void
relay_ready_cb(void *arg)
{
	send_binds(arg);
}

static void
restart_cb(uv_timer_t *t)
{
	struct udpfwd *u = t->data;

	relaychan_start(u->relay);
}

static void
relay_down_cb(const char *why, void *arg)
{
	struct udpfwd *u = arg;
	bool remote = false;

	if (why == NULL)
		; /* a probe for TCP streams started it, not UDP: not our error */
	else if (session_is_ready(u->session))
		log_error("%s", why);
	else
		log_verbose("%s", why);
	struct uflow *f;
	while ((f = oldest(u)) != NULL)
		flow_free(u, f, -1);
	for (struct ulisten *l = u->listeners; l != NULL; l = l->next) {
		remote |= l->remote;
		l->settled |= l->remote;
		l->bound = l->bind_sent = false;
	}
	/* Remote listeners need the relay back; local ones start it on their next datagram. */
	if (remote && !u->closing && session_is_ready(u->session))
		uv_timer_start(&u->restart, restart_cb, RESTART_DELAY_MS, 0);
}

static void
sweep_cb(uv_timer_t *t)
{
	struct udpfwd *u = t->data;
	uint64_t now = uv_now(u->loop);
	struct uflow *f;

	while (u->idle_ms > 0 && (f = oldest(u)) != NULL && now - f->f.last_used >= u->idle_ms) {
		log_debug("%s: flow %08x idle", f->l->name, f->f.id);
		flow_free(u, f, CLOSE_IDLE);
	}
}

/* ---- setup ---- */

/* Drops one of the handles or requests u waits for; the last one frees it. */
static void
unref(struct udpfwd *u)
{
	if (--u->handles > 0 || !u->closing)
		return;
	struct ulisten *l, *next;
	for (l = u->listeners; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
	flow_table_free(u->flows);
	free(u);
}

static void
target_resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct ulisten *l = req->data;

	l->resolving = false;
	if (status == 0 && res != NULL) {
		memcpy(&l->target, res->ai_addr, res->ai_addrlen);
		l->have_target = true;
	} else if (!l->u->closing) {
		log_error("%s: cannot resolve %s: %s", l->name, l->spec.host, uv_strerror(status));
	}
	if (res != NULL)
		uv_freeaddrinfo(res);
	unref(l->u);
}

/* A numeric loopback address (the UDP bind address must be numeric). */
static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int
bind_local(
    struct udpfwd *u, struct ulisten *l, const char *host, bool optional, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	uv_udp_t *sock = &l->socks[l->nsocks];
	int rc = strchr(host, ':')
	    ? uv_ip6_addr(host, l->spec.bind_port, (struct sockaddr_in6 *)&ss)
	    : uv_ip4_addr(host, l->spec.bind_port, (struct sockaddr_in *)&ss);

	if (rc != 0) {
		snprintf(err, errlen, "%s: bad bind address %s", l->name, host);
		return -2;
	}
	uv_udp_init(u->loop, sock);
	sock->data = l;
	u->handles++;
	l->nsocks++;
	rc = uv_udp_bind(sock, (struct sockaddr *)&ss, strchr(host, ':') ? UV_UDP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_udp_recv_start(sock, alloc_cb, local_recv_cb);
	if (rc == 0)
		return 0;
	uv_udp_recv_stop(sock);
	if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT))
		return 0;
	snprintf(err, errlen, "%s: cannot listen on %s port %u: %s", l->name, host,
	    l->spec.bind_port, uv_strerror(rc));
	return -1;
}

int
udpfwd_add(struct udpfwd *u, const struct fwd_spec *spec, char *err, size_t errlen)
{
	struct ulisten *l = xcalloc(1, sizeof(*l));
	int rc = 0;

	l->u = u;
	l->spec = *spec;
	l->remote = spec->kind == FWD_REMOTE;
	l->id = u->next_listener++;
	spec_name(spec, l->name, sizeof(l->name));
	l->next = u->listeners;
	u->listeners = l;
	if (l->remote) {
		struct addrinfo hints;
		char port[8];
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_DGRAM;
		snprintf(port, sizeof(port), "%u", spec->host_port);
		l->gai.data = l;
		l->resolving = true;
		u->handles++;
		if (uv_getaddrinfo(u->loop, &l->gai, target_resolved_cb, spec->host, port, &hints) <
		    0) {
			u->handles--;
			l->resolving = false;
			snprintf(err, errlen, "%s: cannot resolve %s", l->name, spec->host);
			return -1;
		}
		return 0;
	}
	if (!spec->has_bind || strcmp(spec->bind_host, "localhost") == 0) {
		rc = bind_local(u, l, "127.0.0.1", false, err, errlen);
		if (rc == 0)
			rc = bind_local(u, l, "::1", true, err, errlen);
	} else if (!u->gateway_ports &&
	    (spec_bind_is_wildcard(spec) || !is_loopback(spec->bind_host))) {
		/* As for TCP: only loopback without GatewayPorts. */
		snprintf(err, errlen, "%s: listening on %s needs -o GatewayPorts=yes", l->name,
		    spec_bind_is_wildcard(spec) ? "every interface" : spec->bind_host);
		rc = -2;
	} else if (spec_bind_is_wildcard(spec)) {
		rc = bind_local(u, l, "0.0.0.0", false, err, errlen);
		if (rc == 0)
			rc = bind_local(u, l, "::", true, err, errlen);
	} else {
		rc = bind_local(u, l, spec->bind_host, false, err, errlen);
	}
	return rc;
}

bool
udpfwd_settled(const struct udpfwd *u)
{
	for (const struct ulisten *l = u->listeners; l != NULL; l = l->next)
		if (l->remote && !l->settled)
			return false;
	return true;
}

void
udpfwd_session_ready(struct udpfwd *u)
{
	for (struct ulisten *l = u->listeners; l != NULL; l = l->next)
		if (l->remote) {
			relaychan_start(u->relay);
			return;
		}
}

struct udpfwd *
udpfwd_new(uv_loop_t *loop, struct session *s, struct relaychan *relay, const struct options *opt,
    udpfwd_failed_cb failed, void *arg)
{
	struct udpfwd *u = xcalloc(1, sizeof(*u));
	struct relaychan_events ev = {relay_ready_cb, relay_frame_cb, relay_down_cb, NULL, u};
	uint32_t idle = opt->udp_idle_timeout >= 0 ? (uint32_t)opt->udp_idle_timeout : DEFAULT_IDLE;

	u->loop = loop;
	u->session = s;
	u->failed = failed;
	u->arg = arg;
	u->next_flow = 1;
	u->flows = flow_table_new();
	u->next_listener = LISTENER_BASE;
	u->idle_ms = idle * 1000;
	u->gateway_ports = opt->gateway_ports == 1;
	u->persist = opt->reconnect == 1 && opt->exit_on_forward_failure != 1;
	u->max_flows = opt->udp_max_flows > 0 ? (size_t)opt->udp_max_flows : DEFAULT_MAX_FLOWS;
	u->relay = relay;
	relaychan_set_user(relay, RELAYCHAN_UDP, &ev);
	uv_timer_init(loop, &u->sweep);
	uv_timer_init(loop, &u->restart);
	uv_timer_init(loop, &u->rebind);
	u->sweep.data = u->restart.data = u->rebind.data = u;
	u->handles = 3;
	uv_timer_start(&u->sweep, sweep_cb, 1000, 1000);
	return u;
}

static void
handle_closed_cb(uv_handle_t *h)
{
	unref(h->data);
}

void
udpfwd_close(struct udpfwd *u)
{
	if (u == NULL || u->closing)
		return;
	u->closing = true;
	struct uflow *f;
	while ((f = oldest(u)) != NULL)
		flow_free(u, f, -1);
	struct relaychan_events none = {0};
	relaychan_set_user(u->relay, RELAYCHAN_UDP, &none);
	u->relay = NULL;
	struct ulisten *l, *next;
	for (l = u->listeners; l != NULL; l = next) {
		next = l->next;
		for (int i = 0; i < l->nsocks; i++) {
			l->socks[i].data = u;
			uv_close((uv_handle_t *)&l->socks[i], handle_closed_cb);
		}
		if (l->resolving)
			uv_cancel((uv_req_t *)&l->gai);
	}
	uv_close((uv_handle_t *)&u->sweep, handle_closed_cb);
	uv_close((uv_handle_t *)&u->restart, handle_closed_cb);
	uv_close((uv_handle_t *)&u->rebind, handle_closed_cb);
}

size_t
udpfwd_stats(const struct udpfwd *u, struct fwd_stats *out, size_t max)
{
	size_t n = 0;

	for (const struct ulisten *l = u->listeners; l != NULL && n < max; l = l->next) {
		if (l->is_socks)
			continue;
		struct fwd_stats *st = &out[n++];
		memset(st, 0, sizeof(*st));
		st->name = l->name;
		st->udp = true;
		st->state = !l->remote		? "listening"
		    : l->bound			? "listening"
		    : l->retry_due > 0		? "retrying (port still held)"
		    : relaychan_is_up(u->relay) ? "requesting"
						: "waiting for the relay";
		st->port = l->remote && l->bound ? l->bound_port : 0;
		st->open = l->flows;
		st->total = l->total;
		st->bytes_up = l->bytes_up;
		st->bytes_down = l->bytes_down;
		st->drops = l->drops;
		st->drops_relay = l->relay_drops;
		for (const struct flow *fl = flow_table_oldest(u->flows); fl != NULL;
		     fl = flow_newer(fl))
			if (UFLOW(fl)->l == l)
				st->drops += relaychan_flow_drops(u->relay, fl->id);
	}
	return n;
}

static uint64_t
both(const struct udpfwd_flow_drops *d)
{
	return d->drops + d->relay_drops;
}

/* Puts d in its place in out (n of max, most drops first); returns the new n. */
static size_t
insert_by_drops(
    struct udpfwd_flow_drops *out, size_t n, size_t max, const struct udpfwd_flow_drops *d)
{
	size_t i = n < max ? n : max;

	if (i == max && (max == 0 || both(&out[max - 1]) >= both(d)))
		return n;
	while (i > 0 && both(&out[i - 1]) < both(d)) {
		if (i < max)
			out[i] = out[i - 1];
		i--;
	}
	out[i] = *d;
	return n < max ? n + 1 : n;
}

size_t
udpfwd_flow_drops(const struct udpfwd *u, struct udpfwd_flow_drops *out, size_t max)
{
	size_t n = 0;

	for (const struct flow *fl = flow_table_oldest(u->flows); fl != NULL; fl = flow_newer(fl)) {
		const struct uflow *f = UFLOW(fl);
		struct udpfwd_flow_drops d = {f->l->name, fl->id, "", 0, 0, 0};
		d.refused = f->drops;
		d.drops = f->drops + relaychan_flow_drops(u->relay, fl->id);
		d.relay_drops = f->relay_drops;
		if (d.drops + d.relay_drops == 0)
			continue;
		if (fl->source.ss_family != 0) {
			char host[INET6_ADDRSTRLEN] = "?";
			const struct sockaddr *sa = (const struct sockaddr *)&fl->source;
			uint16_t port = sa->sa_family == AF_INET6
			    ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
			    : ntohs(((const struct sockaddr_in *)sa)->sin_port);
			uv_ip_name(sa, host, sizeof(host));
			snprintf(d.source, sizeof(d.source),
			    sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
		}
		n = insert_by_drops(out, n, max, &d);
	}
	return n;
}

uint64_t
udpfwd_relay_drops(const struct udpfwd *u)
{
	return relaychan_drops(u->relay);
}
