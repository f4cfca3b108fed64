/*
 * Listening sockets. Without a bind address a forward listens on both
 * loopback addresses (127.0.0.1 and ::1, where IPv6 exists), as ssh does
 * for "localhost". Any other address needs GatewayPorts.
 *
 * porthole accepts by itself (a uv_poll_t per socket) rather than through
 * uv_listen: when descriptors run out, libuv accepts and closes connections
 * without a word, where this pauses accepting so they wait in the backlog,
 * says so once, and tries again every RETRY_MS. On a loopback listener with
 * ForwardAccess owner, each connection's owner is looked up (peercred.c)
 * before a link takes it, and anyone else's is reset.
 *
 * -L /path listens on a Unix socket instead: mode 0600 (ssh's
 * StreamLocalBindMask 0177), removed when the listener stops listening. A
 * socket file left by a program that died is replaced; one that answers, or
 * a file that is no socket, is not (ssh without StreamLocalBindUnlink
 * refuses both).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/types.h>
#include <unistd.h>

#include <libssh2.h>

#include "fdlimit.h"
#include "ctlsock.h"
#include "link.h"
#include "listener.h"
#include "log.h"
#include "peercred.h"
#include "xmalloc.h"

#define MAX_SOCKETS 8
#define BACKLOG 511
#define ACCEPT_BURST 64 /* connections taken per wakeup, so one port cannot starve the loop */
#define RETRY_MS 100	/* while out of descriptors: how often accepting is tried again */

/* One listening socket, watched by a uv_poll_t: porthole accepts by itself
 * so that running out of descriptors is seen (libuv would accept and close
 * silently) and the connection can wait in the backlog instead. */
struct lsock {
	uv_poll_t poll;
	int fd;
	struct listener *l;
};

struct listener {
	struct fwd_spec spec;
	char name[600];
	struct session *session;
	struct udpfwd *udp;   /* -D: for UDP ASSOCIATE */
	struct relayhub *hub; /* TCP streams through the relay (OpenVia); NULL: channels */
	struct lsock socks[MAX_SOCKETS];
	int nsocks;
	uv_timer_t retry; /* runs while out of descriptors */
	bool starved;	  /* out of descriptors since starved_at; accepting paused */
	uint64_t starved_at;
	unsigned deferred; /* accepts that found no descriptor in this burst */
	int open_handles;
	bool owner_only; /* ForwardAccess owner on a loopback listener */
	bool closing;
	bool retired;	  /* no longer listening (-O cancel, -O stop); links go on */
	bool unlink_path; /* -L /path: we made the socket file; remove it when closing */
	dev_t dev;	  /* ... if it is still the one we made */
	ino_t ino;
	struct link_list links;
};

static void
handle_closed_cb(uv_handle_t *h)
{
	struct listener *l = h->data;

	if (--l->open_handles == 0 && l->closing)
		free(l);
}

static int
accept_fd(int lfd)
{
#if defined(__linux__) || defined(__FreeBSD__)
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
	int fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#endif
}

/* Connections waiting in the socket's accept queue, or -1 where unknown. */
static long
backlog_length(int lfd)
{
#ifdef __linux__
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		return (long)ti.tcpi_unacked; /* for a listening socket: the accept queue */
#else
	(void)lfd;
#endif
	return -1;
}

static void poll_cb(uv_poll_t *p, int status, int events);

static void
set_accepting(struct listener *l, bool on)
{
	for (int i = 0; i < l->nsocks; i++) {
		if (l->socks[i].fd < 0)
			continue;
		if (on)
			uv_poll_start(&l->socks[i].poll, UV_READABLE, poll_cb);
		else
			uv_poll_stop(&l->socks[i].poll);
	}
}

static void
retry_cb(uv_timer_t *t)
{
	set_accepting(t->data, true);
}

/*
 * Out of descriptors: the connection stays in the kernel's backlog (its
 * client sees a slow server, not a refusal); accepting pauses and is retried
 * every RETRY_MS. One line when it starts, one when it ends.
 */
static void
starve(struct listener *l, int lfd, int err)
{
	l->deferred++;
	set_accepting(l, false);
	uv_timer_start(&l->retry, retry_cb, RETRY_MS, 0);
	if (l->starved)
		return;
	l->starved = true;
	l->starved_at = uv_now(l->retry.loop);
	long open = fdlimit_open(), max = fdlimit_max(), waiting = backlog_length(lfd);
	char queued[64] = "";
	if (waiting >= 0)
		snprintf(queued, sizeof(queued), ", %ld waiting", waiting);
	log_error("%s: accept: %s (%ld of %ld descriptors open%s): new connections wait "
		  "until some close",
	    l->name, strerror(err), open, max, queued);
}

static void
unstarve(struct listener *l)
{
	if (!l->starved)
		return;
	l->starved = false;
	log_info("%s: accepting again after %.1f s out of descriptors (%u attempts deferred)",
	    l->name, (double)(uv_now(l->retry.loop) - l->starved_at) / 1000, l->deferred);
	l->deferred = 0;
}

static void format_addr(const struct sockaddr *sa, char *out, size_t len);

/* Closes fd with a reset, so the client sees a refusal rather than an empty answer. */
static void
reset_close(int fd)
{
	struct linger lg = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ForwardAccess owner: only porthole's own user, and root (who can read our memory anyway). */
static bool
peer_allowed(struct listener *l, int fd)
{
	char why[256], from[INET6_ADDRSTRLEN + 8] = "?";
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uid_t uid;

	if (peercred_uid(fd, &uid, why, sizeof(why)) == 0) {
		if (uid == getuid() || uid == 0)
			return true;
		snprintf(why, sizeof(why), "uid %u is not porthole's user (uid %u)", (unsigned)uid,
		    (unsigned)getuid());
	} else {
		size_t n = strlen(why);
		snprintf(why + n, sizeof(why) - n, ", so its user cannot be checked");
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		format_addr((struct sockaddr *)&ss, from, sizeof(from));
	log_info("%s: refused a connection from %s: %s (ForwardAccess owner)", l->name, from, why);
	return false;
}

/* A new connection on fd: a link of this forward's kind takes it. */
static void
take(struct listener *l, int fd)
{
	uv_loop_t *loop = l->retry.loop;

	if (l->owner_only && !peer_allowed(l, fd)) {
		reset_close(fd);
		return;
	}
	if (l->spec.kind == FWD_DYNAMIC)
		link_accept_socks(loop, fd, l->session, l->hub, l->udp, l->name, &l->links);
	else
		link_accept(loop, fd, l->session, l->hub, l->name, l->spec.host, l->spec.host_port,
		    l->spec.connect_path[0] != '\0' ? l->spec.connect_path : NULL, &l->links);
}

static void
poll_cb(uv_poll_t *p, int status, int events)
{
	struct lsock *ls = p->data;
	struct listener *l = ls->l;

	(void)events;
	if (status < 0) {
		log_error("%s: accept: %s", l->name, uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BURST && !l->closing && ls->fd >= 0; i++) {
		int fd = accept_fd(ls->fd);
		if (fd >= 0) {
			unstarve(l);
			take(l, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			starve(l, ls->fd, errno);
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_error("%s: accept: %s", l->name, strerror(errno));
		break;
	}
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

/* A listening socket on sa (non-blocking, close-on-exec), or -errno. */
static int
listen_socket(const struct sockaddr *sa)
{
	socklen_t len =
	    sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(sa->sa_family, SOCK_STREAM, 0), on = 1, err;

	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (sa->sa_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, sa, len) == -1 || listen(fd, BACKLOG) == -1) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Watches a listening socket of l for connections to accept. */
static void
watch(uv_loop_t *loop, struct listener *l, int fd, const char *where)
{
	struct lsock *ls = &l->socks[l->nsocks++];

	ls->fd = fd;
	ls->l = l;
	uv_poll_init_socket(loop, &ls->poll, fd);
	ls->poll.data = ls;
	l->open_handles++;
	uv_poll_start(&ls->poll, UV_READABLE, poll_cb);
	log_debug("%s: listening on %s", l->name, where);
}

/* Binds one address. optional: an address that may simply not exist here (::1). */
static enum listener_error
bind_one(uv_loop_t *loop, struct listener *l, const struct sockaddr *sa, bool optional, char *err,
    size_t errlen)
{
	char where[INET6_ADDRSTRLEN + 8];
	int fd;

	if (l->nsocks == MAX_SOCKETS)
		return LISTENER_OK;
	format_addr(sa, where, sizeof(where));
	if ((fd = listen_socket(sa)) < 0) {
		if (optional && (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT)) {
			log_debug("%s: not listening on %s: %s", l->name, where, strerror(-fd));
			return LISTENER_OK;
		}
		snprintf(err, errlen, "%s: cannot listen on %s: %s", l->name, where, strerror(-fd));
		return LISTENER_RUNTIME;
	}
	watch(loop, l, fd, where);
	return LISTENER_OK;
}

/*
 * ForwardAccess: checked on loopback listeners only. A listener on another
 * address (GatewayPorts) serves the network by the user's choice, and a
 * remote peer has no local owner to check.
 */
static enum listener_error
set_access(struct listener *l, const struct options *opt, bool loopback, char *err, size_t errlen)
{
	int access = opt->forward_access == -1 ? OPTION_ACCESS_DEFAULT : opt->forward_access;

	if (access != ACCESS_OWNER)
		return LISTENER_OK;
	if (!peercred_supported()) {
		snprintf(err, errlen,
		    "%s: ForwardAccess owner: this system cannot say who owns a connecting socket",
		    l->name);
		return LISTENER_CONFIG;
	}
	if (!loopback) {
		log_verbose(
		    "%s: not a loopback listener: ForwardAccess owner does not apply", l->name);
		return LISTENER_OK;
	}
	l->owner_only = true;
	peercred_prepare();
	return LISTENER_OK;
}

/* A listening Unix socket at path, mode 0600 (non-blocking, close-on-exec), or -errno. */
static int
listen_path_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	mode_t old = umask(0177);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, BACKLOG) == -1)
		err = -errno;
	umask(old);
	if (err != 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* Listens on the Unix socket spec.listen_path, replacing a stale one. */
static enum listener_error
bind_path(uv_loop_t *loop, struct listener *l, char *err, size_t errlen)
{
	const char *path = l->spec.listen_path;
	struct stat st;
	int fd;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: %s exists and is not a socket", l->name, path);
			return LISTENER_RUNTIME;
		}
		if (ctlsock_alive(path)) {
			snprintf(err, errlen, "%s: a program already listens on %s", l->name, path);
			return LISTENER_RUNTIME;
		}
		if (unlink(path) == 0)
			log_verbose("%s: replaced the stale socket %s", l->name, path);
	}
	if ((fd = listen_path_socket(path)) < 0) {
		snprintf(err, errlen, "%s: cannot listen on %s: %s", l->name, path, strerror(-fd));
		return LISTENER_RUNTIME;
	}
	if (lstat(path, &st) == 0) {
		l->unlink_path = true;
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	watch(loop, l, fd, path);
	return LISTENER_OK;
}

enum listener_error
listener_open(uv_loop_t *loop, const struct fwd_spec *spec, const struct options *opt,
    struct session *s, struct udpfwd *udp, struct listener **out, char *err, size_t errlen)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	enum listener_error rc = LISTENER_OK;
	bool gateway = opt->gateway_ports == 1, loopback = true;
	/* AddressFamily (-4, -6) applies to listeners too, as in ssh. */
	bool want4 = opt->address_family != FAMILY_INET6,
	     want6 = opt->address_family != FAMILY_INET;

	l->spec = *spec;
	l->session = s;
	l->udp = udp;
	spec_name(spec, l->name, sizeof(l->name));
	uv_timer_init(loop, &l->retry);
	l->retry.data = l;
	l->open_handles++;

	if (spec->connect_path[0] != '\0' && LIBSSH2_VERSION_NUM < 0x010b00) {
		snprintf(err, errlen,
		    "%s: a Unix socket on the server needs libssh2 1.11 or later "
		    "(direct-streamlocal)",
		    l->name);
		rc = LISTENER_CONFIG;
	} else if (spec->listen_path[0] != '\0') {
		rc = bind_path(loop, l, err, errlen);
	} else if (!spec->has_bind || strcmp(spec->bind_host, "localhost") == 0) {
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		uv_ip4_addr("127.0.0.1", spec->bind_port, &in4);
		uv_ip6_addr("::1", spec->bind_port, &in6);
		if (want4)
			rc = bind_one(loop, l, (struct sockaddr *)&in4, false, err, errlen);
		if (rc == LISTENER_OK && want6)
			rc = bind_one(loop, l, (struct sockaddr *)&in6, want4, err, errlen);
	} else if (spec_bind_is_wildcard(spec)) {
		if (!gateway) {
			snprintf(err, errlen,
			    "%s: listening on every interface needs -o GatewayPorts=yes", l->name);
			rc = LISTENER_CONFIG;
		} else {
			struct sockaddr_in in4;
			struct sockaddr_in6 in6;
			loopback = false;
			uv_ip4_addr("0.0.0.0", spec->bind_port, &in4);
			uv_ip6_addr("::", spec->bind_port, &in6);
			if (want4)
				rc = bind_one(loop, l, (struct sockaddr *)&in4, false, err, errlen);
			if (rc == LISTENER_OK && want6)
				rc = bind_one(loop, l, (struct sockaddr *)&in6, want4, err, errlen);
		}
	} else {
		struct addrinfo hints, *res = NULL;
		char port[8];
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = !want6 ? AF_INET : !want4 ? AF_INET6 : AF_UNSPEC;
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
			loopback = loopback && is_loopback(ai->ai_addr);
			rc = bind_one(loop, l, ai->ai_addr, false, err, errlen);
		}
		if (res != NULL)
			freeaddrinfo(res);
	}
	/* A Unix socket's own mode (0600) keeps other users out; peers have no address. */
	if (rc == LISTENER_OK && spec->listen_path[0] == '\0')
		rc = set_access(l, opt, loopback, err, errlen);
	if (rc != LISTENER_OK) {
		listener_close(l);
		return rc;
	}
	*out = l;
	return LISTENER_OK;
}

/*
 * Stops listening: every socket's watcher closed, then its descriptor; a
 * Unix socket's file removed if it is still the one we made.
 */
static void
close_sockets(struct listener *l)
{
	struct stat st;

	if (l->unlink_path && lstat(l->spec.listen_path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->spec.listen_path);
	l->unlink_path = false;
	for (int i = 0; i < l->nsocks; i++) {
		if (l->socks[i].fd < 0)
			continue;
		/* uv_close stops the watcher at once; then the descriptor can go. */
		l->socks[i].poll.data = l;
		uv_close((uv_handle_t *)&l->socks[i].poll, handle_closed_cb);
		close(l->socks[i].fd);
		l->socks[i].fd = -1;
	}
}

void
listener_close(struct listener *l)
{
	if (l == NULL || l->closing)
		return;
	l->closing = true;
	link_abort_all(&l->links);
	close_sockets(l);
	uv_close((uv_handle_t *)&l->retry, handle_closed_cb);
}

void
listener_stop_listening(struct listener *l)
{
	if (l->retired || l->closing)
		return;
	l->retired = true;
	close_sockets(l);
	uv_timer_stop(&l->retry);
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
	out->resets = l->links.resets;
	out->via_relay = l->links.via_relay;
	out->via_channel = l->links.via_channel;
}

void
listener_set_relay(struct listener *l, struct relayhub *hub)
{
	l->hub = hub;
}
