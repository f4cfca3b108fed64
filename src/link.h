/*
 * A link bridges one accepted TCP connection and one SSH channel.
 */
#ifndef PORTHOLE_LINK_H
#define PORTHOLE_LINK_H

#include <stdint.h>
#include <uv.h>

#include "session.h"

struct udpfwd;
struct relayhub;

struct link;

/* The links of one listener, so it can close them all. */
struct link_list {
	struct link *head;
	unsigned count;
	unsigned next_id;
	uint64_t total;
	uint64_t bytes_up, bytes_down;	 /* moved by every link, closed or open */
	uint64_t resets;		 /* links ended by an error, with a reset */
	uint64_t via_relay, via_channel; /* connections opened as relay streams / as channels */
};

/* What "porthole status" shows about one forward. */
struct fwd_stats {
	const char *name;  /* "-L 8080:intranet:80" */
	const char *state; /* "listening", "requesting", "refused", ... */
	int port;	   /* -R: the port the server listens on; else 0 */
	unsigned open;	   /* connections (or UDP flows) now */
	uint64_t total;	   /* connections since start */
	uint64_t bytes_up, bytes_down;
	uint64_t resets;		 /* TCP: connections cut by an error (reset, not closed) */
	uint64_t drops;			 /* UDP: datagrams dropped on this side */
	uint64_t drops_relay;		 /* UDP: datagrams the relay said it dropped (DROPS) */
	uint64_t via_relay, via_channel; /* TCP: connections carried by relay streams / channels */
	bool udp;
};

/*
 * Takes fd, a connection the listener accepted (TCP, or on a Unix socket),
 * and asks the session for a channel to host:port, or with path to the
 * Unix socket at path on the server (direct-streamlocal); or, when hub's
 * OpenVia choice says so, opens a relay stream to host:port. name (e.g. "-L
 * 127.0.0.1:8080 -> intranet:80") labels log lines and must outlive the
 * link. Returns NULL (fd closed) if libuv could not take the descriptor or
 * the connection was refused at once.
 */
struct link *link_accept(uv_loop_t *loop, int fd, struct session *s, struct relayhub *hub,
    const char *name, const char *host, int port, const char *path, struct link_list *list);

/*
 * Takes fd, an accepted SOCKS client (SOCKS5, SOCKS4 and 4a): the handshake
 * names the target, the reply says how the server's connect went. With udp,
 * SOCKS5 UDP ASSOCIATE is served through it.
 */
struct link *link_accept_socks(uv_loop_t *loop, int fd, struct session *s, struct relayhub *hub,
    struct udpfwd *udp, const char *name, struct link_list *list);

/*
 * Takes a channel the server opened for a remote forward and connects it to
 * host:port here (resolved without blocking; each address tried in turn).
 * host must outlive the link. Returns NULL if it could not even start.
 */
struct link *link_connect(uv_loop_t *loop, struct session *s, LIBSSH2_CHANNEL *ch, const char *name,
    const char *host, int port, struct link_list *list);

/* link_connect to the Unix socket at path here (-R port:/path). path must outlive the link. */
struct link *link_connect_path(uv_loop_t *loop, struct session *s, LIBSSH2_CHANNEL *ch,
    const char *name, const char *path, struct link_list *list);

/* Closes every link in the list at once. */
void link_abort_all(struct link_list *list);

/*
 * The receive window a channel opens with now (see link.c "The receive
 * window"): -L and -D channels at open, and -R channels, which sshd opens,
 * through libssh2_session_set_accept_window where libssh2 has it
 * (rforward.c).
 */
unsigned link_open_window(const struct session *s);

#endif
