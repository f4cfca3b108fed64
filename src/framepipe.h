/*
 * A stream of relay-protocol frames over a pair of file descriptors: the
 * relay's stdin and stdout, which sshd connects to the exec channel (pipes
 * or a socketpair). It hands its owner each whole frame it reads, writes the
 * frames its owner queues through a frame scheduler (framesched.h: control
 * first, flows and streams in turn, datagrams dropped when late or over their
 * share, counted per flow: UDP semantics, a backed-up stream must not add
 * latency to datagrams), and when control frames and stream bytes pile up
 * far above a mark it stops reading until the queue drains.
 */
#ifndef PORTHOLE_FRAMEPIPE_H
#define PORTHOLE_FRAMEPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "udpframe.h"

enum framepipe_end {
	FRAMEPIPE_EOF,		 /* the input ended or failed: the peer went away */
	FRAMEPIPE_TRUNCATED,	 /* the input ended inside a frame: frames were lost */
	FRAMEPIPE_BAD_HEADER,	 /* a malformed frame header: the input cannot be trusted */
	FRAMEPIPE_OUTPUT_GONE,	 /* EPIPE or ECONNRESET writing: the peer went away */
	FRAMEPIPE_OUTPUT_FAILED, /* any other write error */
};

struct framepipe_events {
	/* One whole frame; its payload is valid during the call only. */
	void (*frame)(void *data, const struct frame *f);
	/* The stream cannot go on (detail says why); the owner calls framepipe_stop.
	 * Called at most once, and never after framepipe_stop. */
	void (*end)(void *data, enum framepipe_end why, const char *detail);
	/* Optional (NULL): a write finished, so the queue is shorter; the owner
	 * reads framepipe_stream_queued to resume what it held back. */
	void (*drained)(void *data);
};

struct framepipe;

struct framepipe *framepipe_new(uv_loop_t *loop, const struct framepipe_events *ev, void *data);
/* Opens both descriptors and starts reading; 0, or a libuv error with what
 * failed in err (then framepipe_stop it like a started one). */
int framepipe_start(struct framepipe *fp, int in_fd, int out_fd, char *err, size_t errlen);
/* Queues one frame (a DATA frame may be dropped later, counted: see
 * framepipe_flow_drops); false once the output is closed, or for a payload
 * framesched_push refuses. */
bool framepipe_send(
    struct framepipe *fp, enum frame_type type, uint32_t flow, const void *payload, size_t len);
/* Stops reading, writes what is queued (for at most 2 s), then closes every
 * handle. Idempotent. */
void framepipe_stop(struct framepipe *fp);
/* SDATA bytes queued and not yet written: the owner stops reading its TCP
 * streams' sockets above its mark (docs/relay-protocol.md, fair sharing). */
size_t framepipe_stream_queued(const struct framepipe *fp);
/* Drops what is queued for an id that is gone (a closed flow, a reset
 * stream; control frames stay) and returns the datagrams of it that were
 * dropped, whose count it forgets. */
uint64_t framepipe_forget(struct framepipe *fp, uint32_t id);
/* Datagrams of a flow dropped so far (late, or over its share). */
uint64_t framepipe_flow_drops(const struct framepipe *fp, uint32_t id);
/* DATA frames dropped in all: late, or over a flow's or the session's cap. */
uint64_t framepipe_dropped(const struct framepipe *fp);
/* Frees it after the loop has run its close callbacks. Accepts NULL. */
void framepipe_free(struct framepipe *fp);

#endif
