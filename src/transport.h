/*
 * The byte stream an SSH session runs over. The session never asks which
 * kind it has: a TCP connection (tcpdial.c), a ProxyCommand child's stdin
 * and stdout (proxycmd.c), or a direct-tcpip channel of another session, a
 * ProxyJump hop (hopchan.c). Each implementation embeds struct transport
 * first and fills in its ops.
 *
 * Life of a transport: start() begins connecting (resolving, spawning,
 * opening a channel); up() reports the stream usable, or closed() that it
 * never was. Bytes then arrive through alloc() and received(), as libuv
 * streams deliver them, while reading is on. write() never blocks and never
 * fails: what cannot go out at once is queued (queued counts it) and an
 * error arrives later as closed(). drained() reports the queue emptied (or,
 * for a hop, shrank): the writer may have room again.
 * closed() is called at most once, with why naming what happened ("closed
 * by the server", "proxy command 'nc h 22' exited with status 1: ...").
 * close() ends it from above at any time: no callback follows, and the
 * memory goes when the last libuv handle has closed.
 */
#ifndef PORTHOLE_TRANSPORT_H
#define PORTHOLE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <uv.h>

struct transport;

struct transport_events {
	void (*up)(struct transport *t);
	/* Where the next bytes may go: at least 1 byte, up to *len. */
	void (*alloc)(struct transport *t, size_t suggested, char **base, size_t *len);
	/* n bytes (n > 0) were written at the last alloc()ed place. */
	void (*received)(struct transport *t, size_t n);
	void (*drained)(struct transport *t);
	/* err: 0 for an orderly end of stream, else an errno value (positive). */
	void (*closed)(struct transport *t, int err, const char *why);
};

struct transport_ops {
	int (*start)(struct transport *t);
	/* Reading on or off (off while the reader's buffer is full). */
	void (*read)(struct transport *t, bool on);
	void (*write)(struct transport *t, const void *data, size_t len);
	/* No more writes: the peer sees end of stream once the queue is out. */
	void (*shutdown)(struct transport *t);
	void (*close)(struct transport *t);
	/*
	 * Optional (NULL: no such knob): keep what the kernel holds unsent
	 * short (on) or as deep as it likes (off). TCP only: TCP_NOTSENT_LOWAT.
	 */
	void (*shallow)(struct transport *t, bool on);
	/*
	 * Optional (NULL: unknown): the connection's minimum round trip in
	 * microseconds as the kernel measured it, or -1. TCP only (TCP_INFO).
	 */
	int64_t (*min_rtt_us)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	const struct transport_events *ev;
	void *data; /* the user's */
	uv_loop_t *loop;
	/*
	 * A descriptor to hand libssh2 as the session's socket: open for the
	 * transport's life and unique, so the send/recv callbacks can tell it
	 * from the agent's socket, which libssh2 passes through them too.
	 */
	int fd;
	size_t queued;			   /* bytes written and not yet handed on */
	char peer[INET6_ADDRSTRLEN + 300]; /* for messages: "10.0.0.1:22", "proxy command" */
};

static inline int
transport_start(struct transport *t)
{
	return t->ops->start(t);
}

static inline void
transport_read(struct transport *t, bool on)
{
	t->ops->read(t, on);
}

static inline void
transport_write(struct transport *t, const void *data, size_t len)
{
	t->ops->write(t, data, len);
}

static inline void
transport_shutdown(struct transport *t)
{
	t->ops->shutdown(t);
}

static inline void
transport_shallow(struct transport *t, bool on)
{
	if (t->ops->shallow != NULL)
		t->ops->shallow(t, on);
}

static inline int64_t
transport_min_rtt_us(struct transport *t)
{
	return t != NULL && t->ops->min_rtt_us != NULL ? t->ops->min_rtt_us(t) : -1;
}

static inline void
transport_close(struct transport *t)
{
	if (t != NULL)
		t->ops->close(t);
}

#endif
