/*
 * TCP streams through the relay, the client's end (docs/relay-protocol.md,
 * "TCP streams (1.1)"): a forwarded connection's bytes cross the relay
 * channel as SDATA frames instead of in an SSH channel of its own. The
 * owner of a stream (a link) moves bytes with calls shaped like libssh2's
 * channel calls: write what the credit allows, read what arrived, send EOF.
 * Every event on a stream (opened, data, credit, EOF, reset) wakes the
 * session, whose pump then runs the owner.
 */
#ifndef PORTHOLE_RSTREAM_H
#define PORTHOLE_RSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "relaychan.h"
#include "session.h"
#include "udpframe.h"

/* Stream ids: the client's space above UDP flows (1-0x3FFFFFFF) and listeners (0x40000000-). */
#define RSTREAM_ID_BASE 0x60000000u
#define RSTREAM_ID_LAST 0x7FFFFFFFu

#define RSTREAM_EOF (-1)   /* read: the relay sent SEOF and everything was read */
#define RSTREAM_RESET (-2) /* the stream is gone (rstream_why says why) */
#define RSTREAM_AGAIN (-3) /* send_eof: not yet (the stream waits for the relay) */

struct rstreams;
struct rstream;

struct rstreams *rstreams_new(struct session *s, struct relaychan *rc);
/* Streams still open are reset (their owners see RSTREAM_RESET). */
void rstreams_free(struct rstreams *set);

/* The relay channel's events for its streams user (relaychan_set_user). */
void rstreams_ready(struct rstreams *set);
void rstreams_frame(struct rstreams *set, const struct frame *f);
void rstreams_down(struct rstreams *set, const char *why);
void rstreams_writable(struct rstreams *set);

/* The relay is up and does streams (both HELLOs 1.1, its stream_window not 0). */
bool rstreams_usable(const struct rstreams *set);
/* Streams in use (sent, not yet ended), and pending ones. */
size_t rstreams_count(const struct rstreams *set);
uint64_t rstreams_total(const struct rstreams *set); /* opened since the start */
/* Ends pending streams (waiting for the relay) older than wait_ms: unavailable, with why. */
void rstreams_expire(struct rstreams *set, uint64_t now, uint64_t wait_ms, const char *why);
/* Ends every pending stream (the relay cannot be had): unavailable, with why. */
void rstreams_fail_pending(struct rstreams *set, const char *why);

/*
 * A new stream to host:port. Sent at once (SOPEN) when the relay is up with
 * streams, else pending until it is (rstreams_ready) or fails. now is the
 * loop time, for rstreams_expire.
 */
struct rstream *rstream_open(struct rstreams *set, const char *host, uint16_t port, uint64_t now);
/* Reset while pending (the relay could not be had): nothing of it was sent. */
bool rstream_unavailable(const struct rstream *st);
/* The relay said SOPENED (or sent data, which implies it). */
bool rstream_is_opened(const struct rstream *st);
/* The reset's code (enum frame_reset_code) and text; false if not reset. */
bool rstream_why(const struct rstream *st, uint16_t *code, const char **text);
/*
 * Sends up to len bytes as SDATA, within the relay's credit and while the
 * channel's queue is under its bound. Returns the bytes taken (0: none
 * now), or RSTREAM_RESET.
 */
ssize_t rstream_write(struct rstream *st, const void *data, size_t len);
/* SEOF after the last write: 0, RSTREAM_AGAIN (pending), or RSTREAM_RESET. */
int rstream_send_eof(struct rstream *st);
/*
 * Takes up to len received bytes (returning credit to the relay as they
 * go). Returns the bytes, 0 if none now, RSTREAM_EOF, or RSTREAM_RESET once
 * what arrived before the reset was read.
 */
ssize_t rstream_read(struct rstream *st, void *out, size_t len);
/* The window the relay may have outstanding (see rstream.c, Credit): raised,
 * the difference goes to the relay at once; lowered, credit goes back only
 * once less than that is outstanding. */
void rstream_set_window(struct rstream *st, uint32_t window);
/* Something for rstream_read (bytes, EOF or reset). */
bool rstream_readable(const struct rstream *st);
/* The owner is done: the id is forgotten; SRESET RST_ABORTED unless it ended cleanly. */
void rstream_free(struct rstream *st);

#endif
