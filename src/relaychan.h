/*
 * The client end of the relay: one exec channel per session running
 * RelayCommand on the server, carrying every UDP flow and TCP stream as
 * frames (docs/relay-protocol.md). It has two users, each with its events:
 * UDP forwards and TCP streams; stream frames go to the latter.
 */
#ifndef PORTHOLE_RELAYCHAN_H
#define PORTHOLE_RELAYCHAN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "session.h"
#include "udpframe.h"

struct relaychan;

/* SDATA bytes the relay may send on a new stream before our first SWINDOW (our HELLO). */
#define RELAYCHAN_STREAM_WINDOW 262144

struct relaychan_events {
	/* The relay said HELLO: BIND requests may go now. */
	void (*ready)(void *arg);
	/* A frame from the relay (not HELLO, PING or PONG, which are handled here). */
	void (*frame)(const struct frame *f, void *arg);
	/*
	 * The relay is gone (flows and streams are dead); why is one line. The
	 * UDP user gets NULL when only a probe (not UDP) had started it.
	 */
	void (*down)(const char *why, void *arg);
	/* Streams only: queued frames went out (room under the global bound again). */
	void (*writable)(void *arg);
	void *arg;
};

enum relaychan_user {
	RELAYCHAN_UDP,
	RELAYCHAN_STREAMS,
};

struct relaychan *relaychan_new(uv_loop_t *loop, struct session *s, const char *command,
    uint32_t idle_timeout, uint32_t max_flows);
void relaychan_set_user(
    struct relaychan *rc, enum relaychan_user which, const struct relaychan_events *ev);
void relaychan_free(struct relaychan *rc);

/* Starts the relay if it is not running (or starting); call when UDP is needed. */
void relaychan_start(struct relaychan *rc);
/* The same for TCP streams: a failure to run is not reported as UDP's error. */
void relaychan_probe(struct relaychan *rc);
bool relaychan_is_up(const struct relaychan *rc);
bool relaychan_is_down(const struct relaychan *rc); /* not running, not starting */
/* The relay's HELLO while it is up; NULL otherwise. */
const struct frame_hello *relaychan_peer(const struct relaychan *rc);
/* The last run ended because the command could not run there (exit 127 or 126). */
bool relaychan_missing(const struct relaychan *rc);

/*
 * Queues a frame in the channel's scheduler (framesched.h): control frames
 * first, then flows and streams in turn; SDATA is never dropped. A DATA frame
 * is refused and counted (false) while the relay is not running; once
 * queued, it is dropped (counted per flow: relaychan_flow_drops) if it waits
 * longer than its time budget or its flow takes more than its share: that
 * is UDP's contract, and it keeps latency from growing behind bulk traffic.
 * false also for a payload too big, or anything while the relay is down.
 */
bool relaychan_send(
    struct relaychan *rc, enum frame_type type, uint32_t flow, const void *payload, size_t len);

/* SDATA bytes queued in porthole (not yet handed to the channel). */
size_t relaychan_stream_queued(const struct relaychan *rc);
/* Drops what is queued for an id that is gone (control frames stay) and
 * returns how many of its datagrams the scheduler dropped, forgetting that. */
uint64_t relaychan_forget(struct relaychan *rc, uint32_t id);
/* Datagrams of a flow the scheduler dropped (late or over its share). */
uint64_t relaychan_flow_drops(const struct relaychan *rc, uint32_t id);
/* Datagrams dropped in all: refused while down, and by the scheduler. */
uint64_t relaychan_drops(const struct relaychan *rc);

/*
 * Liveness, called about once a second: after interval_ms without a frame
 * from the relay it sends PING; after interval_ms x count_max the relay is
 * taken for dead (down, restarted when UDP is next needed).
 */
void relaychan_tick(struct relaychan *rc, uint64_t interval_ms, int count_max);

#endif
