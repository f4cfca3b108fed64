/*
 * Listening sockets. Without a bind address a forward listens on both
 * loopback addresses (127.0.0.1 and ::1, where IPv6 exists), as ssh does
 * for "localhost". Any other address needs GatewayPorts.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "listener.h"
#include "log.h"
#include "xmalloc.h"

#define MAX_SOCKETS 8

struct listener {
	struct fwd_spec spec;
	char name[600];
	struct session *session;
	struct udpfwd *udp; /* -D: for UDP ASSOCIATE */
	uv_tcp_t socks[MAX_SOCKETS];
	int nsocks;
	int open_handles;
	bool closing;
	bool retired; /* no longer listening (-O cancel, -O stop); links go on */
	struct link_list links;
};

static void
connection_cb(uv_stream_t *server, int status)
{
	struct listener *l = server->data;

	if (status < 0) {
		log_error("%s: accept: %s", l->name, uv_strerror(status));
		return;
	}
	if (l->closing)
		return;
	if (l->spec.kind == FWD_DYNAMIC)
		link_accept_socks(server, l->session, l->udp, l->name, &l->links);
	else
		link_accept(
		    server, l->session, l->name, l->spec.host, l->spec.host_port, &l->links);
}

static void
sock_closed_cb(uv_handle_t *h)
{
	struct listener *l = h->data;

	if (--l->open_handles == 0 && l->closing)
		free(l);
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static void
format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port;

	if (sa->sa_family == AF_INET6) {
		uv_ip6_name((const struct sockaddr_in6 *)sa, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		snprintf(out, len, "[%s]:%d", host, port);
	} else {
		uv_ip4_name((const struct sockaddr_in *)sa, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		snprintf(out, len, "%s:%d", host, port);
	}
}

/* Binds one address. optional: an address that may simply not exist here (::1). */
static enum listener_error
bind_one(uv_loop_t *loop, struct listener *l, const struct sockaddr *sa, bool optional, char *err,
    size_t errlen)
{
	uv_tcp_t *t;
	char where[INET6_ADDRSTRLEN + 8];
	int rc;

	if (l->nsocks == MAX_SOCKETS)
		return LISTENER_OK;
	format_addr(sa, where, sizeof(where));
	t = &l->socks[l->nsocks];
	uv_tcp_init(loop, t);
	t->data = l;
	l->open_handles++;
	l->nsocks++;
	rc = uv_tcp_bind(t, sa, sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)t, 511, connection_cb);
	if (rc == 0) {
		log_debug("%s: listening on %s", l->name, where);
		return LISTENER_OK;
	}
	/* The slot keeps the closing handle until listener_close. */
	uv_close((uv_handle_t *)t, sock_closed_cb);
	if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT)) {
		log_debug("%s: not listening on %s: %s", l->name, where, uv_strerror(rc));
		return LISTENER_OK;
	}
	snprintf(err, errlen, "%s: cannot listen on %s: %s", l->name, where, uv_strerror(rc));
	return LISTENER_RUNTIME;
}

enum listener_error
listener_open(uv_loop_t *loop, const struct fwd_spec *spec, const struct options *opt,
    struct session *s, struct udpfwd *udp, struct listener **out, char *err, size_t errlen)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	enum listener_error rc = LISTENER_OK;
	bool gateway = opt->gateway_ports == 1;

	l->spec = *spec;
	l->session = s;
	l->udp = udp;
	spec_name(spec, l->name, sizeof(l->name));

	if (!spec->has_bind || strcmp(spec->bind_host, "localhost") == 0) {
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		uv_ip4_addr("127.0.0.1", spec->bind_port, &in4);
		uv_ip6_addr("::1", spec->bind_port, &in6);
		rc = bind_one(loop, l, (struct sockaddr *)&in4, false, err, errlen);
		if (rc == LISTENER_OK)
			rc = bind_one(loop, l, (struct sockaddr *)&in6, true, err, errlen);
	} else if (spec_bind_is_wildcard(spec)) {
		if (!gateway) {
			snprintf(err, errlen,
			    "%s: listening on every interface needs -o GatewayPorts=yes", l->name);
			rc = LISTENER_CONFIG;
		} else {
			struct sockaddr_in in4;
			struct sockaddr_in6 in6;
			uv_ip4_addr("0.0.0.0", spec->bind_port, &in4);
			uv_ip6_addr("::", spec->bind_port, &in6);
			rc = bind_one(loop, l, (struct sockaddr *)&in4, false, err, errlen);
			if (rc == LISTENER_OK)
				rc = bind_one(loop, l, (struct sockaddr *)&in6, true, err, errlen);
		}
	} else {
		struct addrinfo hints, *res = NULL;
		char port[8];
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		snprintf(port, sizeof(port), "%u", spec->bind_port);
		int gai = getaddrinfo(spec->bind_host, port, &hints, &res);
		if (gai != 0) {
			snprintf(err, errlen, "%s: cannot resolve bind address %s: %s", l->name,
			    spec->bind_host, gai_strerror(gai));
			rc = LISTENER_CONFIG;
		}
		for (struct addrinfo *ai = res; ai != NULL && rc == LISTENER_OK; ai = ai->ai_next) {
			if (!gateway && !is_loopback(ai->ai_addr)) {
				snprintf(err, errlen,
				    "%s: listening on non-loopback address %s needs "
				    "-o GatewayPorts=yes",
				    l->name, spec->bind_host);
				rc = LISTENER_CONFIG;
				break;
			}
			rc = bind_one(loop, l, ai->ai_addr, false, err, errlen);
		}
		if (res != NULL)
			freeaddrinfo(res);
	}
	if (rc != LISTENER_OK) {
		listener_close(l);
		return rc;
	}
	*out = l;
	return LISTENER_OK;
}

void
listener_close(struct listener *l)
{
	if (l == NULL || l->closing)
		return;
	l->closing = true;
	link_abort_all(&l->links);
	for (int i = 0; i < l->nsocks; i++)
		if (!uv_is_closing((uv_handle_t *)&l->socks[i]))
			uv_close((uv_handle_t *)&l->socks[i], sock_closed_cb);
	if (l->open_handles == 0)
		free(l);
}

void
listener_stop_listening(struct listener *l)
{
	if (l->retired || l->closing)
		return;
	l->retired = true;
	for (int i = 0; i < l->nsocks; i++)
		if (!uv_is_closing((uv_handle_t *)&l->socks[i]))
			uv_close((uv_handle_t *)&l->socks[i], sock_closed_cb);
	log_verbose("%s: no longer listening (%u connection%s still open)", l->name, l->links.count,
	    l->links.count == 1 ? "" : "s");
}

bool
listener_is_retired(const struct listener *l)
{
	return l->retired;
}

unsigned
listener_open_count(const struct listener *l)
{
	return l->links.count;
}

const struct fwd_spec *
listener_spec(const struct listener *l)
{
	return &l->spec;
}

void
listener_stats(const struct listener *l, struct fwd_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->name = l->name;
	out->state = l->retired ? "cancelled, open connections go on" : "listening";
	out->open = l->links.count;
	out->total = l->links.total;
	out->bytes_up = l->links.bytes_up;
	out->bytes_down = l->links.bytes_down;
}
