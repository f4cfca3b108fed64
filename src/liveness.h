/*
 * Whether the server is still there: every ServerAliveInterval without
 * bytes from it, ask it something that needs an answer; nothing at all for
 * ServerAliveInterval x ServerAliveCountMax means it is gone. The round trip
 * of the last probe is the session's RTT in "porthole status".
 */
#ifndef PORTHOLE_LIVENESS_H
#define PORTHOLE_LIVENESS_H

#include <libssh2.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct liveness;

struct liveness_events {
	/* Nothing received for too long: why says for how long. */
	void (*gone)(void *arg, const char *why);
	/* A probe is due: pump soon, so liveness_step runs. */
	void (*wake)(void *arg);
	void *arg;
};

/* interval_s: ServerAliveInterval (-1 unset: 15, 0 off); count_max: -1 unset (3). */
struct liveness *liveness_new(
    uv_loop_t *loop, int interval_s, int count_max, const struct liveness_events *ev);
/* Closes its timer and frees it then. */
void liveness_free(struct liveness *l);

/* The session became ready (the clock starts now) or went down. */
void liveness_start(struct liveness *l);
void liveness_stop(struct liveness *l);
/* Bytes arrived from the server. */
void liveness_saw_rx(struct liveness *l);
/*
 * Drives a due probe on the control channel (or, without one, a keepalive
 * that only keeps traffic flowing). Returns 0 or a libssh2 error for the
 * session to judge.
 */
int liveness_step(struct liveness *l, LIBSSH2_SESSION *ssh, LIBSSH2_CHANNEL *control);
/*
 * The last probe's round trip in ms, or how long the probe now out has
 * waited if that is longer; -1 unknown.
 */
int liveness_rtt(const struct liveness *l);
/* The quickest probe's round trip of this session in microseconds; -1 none yet. */
int64_t liveness_min_rtt_us(const struct liveness *l);

/* How long a probe may go unanswered before the server counts as stalled. */
#define LIVENESS_GRACE_MS 3000
/* Milliseconds since the last bytes from the server. */
uint64_t liveness_silent_ms(const struct liveness *l);
/* The server has not answered within the liveness window (see liveness.c). */
bool liveness_stalled(const struct liveness *l);
/* The configured interval in ms (0: off). */
uint64_t liveness_interval_ms(const struct liveness *l);

#endif
