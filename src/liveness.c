/*
 * Liveness probes.
 *
 *   idle --interval passed without bytes, or since the last probe--> probing
 *   probing --the probe's reply--> idle (RTT noted)
 *   any --nothing for interval x count--> gone
 *
 * A probe also goes out every interval while traffic flows, so the RTT
 * "porthole status" shows is current (a bulk download does not hide a link
 * that got slow). A server silent for a probe's grace period past the
 * interval (or with a probe unanswered that long) is "stalled": status says
 * "not responding" long before interval x count declares it gone.
 *
 * The first probe goes out as soon as the control channel is open, whatever
 * the interval: the quickest probe's round trip (liveness_min_rtt_us) is the
 * session's path round trip for issue 16's in-flight bound (inflight.c), and
 * a probe is the one request sshd answers without work of its own (a
 * channel open also connects to the target). Two more follow, EARLY_MS
 * after the one before was answered: the first is often held up by what
 * the session sends as it starts (on a 20 ms path with three -R forwards
 * it took 43 ms, behind a forward request's round trip, which doubled the
 * bound of -R links, whose RTT has no channel opens to come from), and the
 * next regular probe may be ServerAliveInterval away, or never.
 *
 * The probe is an "env" request on the session's idle control channel: sshd
 * answers yes or no, either will do. Unlike libssh2_keepalive_send with
 * want_reply=1, the reply is matched to its channel and consumed, so it can
 * never be taken for a forward's answer (shared/notes/libssh2.md section 1).
 */
#include <stdio.h>
#include <stdlib.h>

#include "liveness.h"
#include "log.h"
#include "xmalloc.h"

#define EARLY_PROBES 2 /* timing probes after the first (see the top) */
#define EARLY_MS 1000  /* ... each this long after the last one's answer */

struct liveness {
	uv_loop_t *loop;
	struct liveness_events ev;
	uv_timer_t timer;
	uv_timer_t early; /* the next timing probe (see the top) */
	int early_left;	  /* timing probes still to send */
	int handles;	  /* timers not yet closed (liveness_free) */
	uint64_t interval_ms;
	int count_max;
	uint64_t last_rx;	 /* loop time of the last bytes from the server */
	bool probing;		 /* a probe is waiting for its reply */
	bool asked;		 /* ... and its request has gone out */
	uint64_t probe_start_ns; /* uv_hrtime when the probe was due (microsecond RTTs) */
	uint64_t last_probe;	 /* loop time the last probe was due */
	int rtt_ms;
	int64_t min_rtt_us; /* the quickest probe of this session; -1: none yet */
	bool first_due;	    /* the session's first probe has not gone out */
};

struct liveness *
liveness_new(uv_loop_t *loop, int interval_s, int count_max, const struct liveness_events *ev)
{
	struct liveness *l = xcalloc(1, sizeof(*l));

	l->loop = loop;
	l->ev = *ev;
	l->interval_ms = (uint64_t)(interval_s >= 0 ? interval_s : 15) * 1000;
	l->count_max = count_max > 0 ? count_max : 3;
	l->rtt_ms = -1;
	l->min_rtt_us = -1;
	uv_timer_init(loop, &l->timer);
	uv_timer_init(loop, &l->early);
	l->timer.data = l->early.data = l;
	l->handles = 2;
	return l;
}

static void
closed_cb(uv_handle_t *h)
{
	struct liveness *l = h->data;

	if (--l->handles == 0)
		free(l);
}

void
liveness_free(struct liveness *l)
{
	if (l != NULL) {
		uv_close((uv_handle_t *)&l->timer, closed_cb);
		uv_close((uv_handle_t *)&l->early, closed_cb);
	}
}

static void
probe_due(struct liveness *l)
{
	l->probing = true;
	l->asked = false;
	l->last_probe = uv_now(l->loop);
	l->probe_start_ns = uv_hrtime();
}

/* How long the probe now out has waited, in ms. */
static uint64_t
probe_age_ms(const struct liveness *l)
{
	return (uv_hrtime() - l->probe_start_ns) / 1000000;
}

static void
timer_cb(uv_timer_t *t)
{
	struct liveness *l = t->data;
	uint64_t idle = uv_now(l->loop) - l->last_rx;
	char why[128];

	if (idle >= l->interval_ms * (uint64_t)l->count_max) {
		uv_timer_stop(t);
		snprintf(why, sizeof(why), "not responding (nothing received in %llu s)",
		    (unsigned long long)(idle / 1000));
		l->ev.gone(l->ev.arg, why);
		return;
	}
	uint64_t since_probe = uv_now(l->loop) - l->last_probe;
	if (!l->probing && (idle + 50 >= l->interval_ms || since_probe + 50 >= l->interval_ms)) {
		probe_due(l);
		l->ev.wake(l->ev.arg);
	}
}

static void
early_cb(uv_timer_t *t)
{
	struct liveness *l = t->data;

	if (l->probing) {
		/* A regular probe is out: its answer times the path as well. */
		uv_timer_start(&l->early, early_cb, EARLY_MS, 0);
		return;
	}
	l->early_left--;
	probe_due(l);
	l->ev.wake(l->ev.arg);
}

void
liveness_start(struct liveness *l)
{
	l->last_rx = l->last_probe = uv_now(l->loop);
	l->probing = false;
	l->first_due = true;
	l->early_left = EARLY_PROBES;
	l->min_rtt_us = -1; /* a new connection: perhaps another path */
	if (l->interval_ms > 0)
		uv_timer_start(&l->timer, timer_cb, l->interval_ms, l->interval_ms);
}

void
liveness_stop(struct liveness *l)
{
	uv_timer_stop(&l->timer);
	uv_timer_stop(&l->early);
	l->probing = false;
}

void
liveness_saw_rx(struct liveness *l)
{
	l->last_rx = uv_now(l->loop);
}

int
liveness_step(struct liveness *l, LIBSSH2_SESSION *ssh, LIBSSH2_CHANNEL *control)
{
	int rc;

	if (!l->probing && l->first_due && control != NULL) {
		l->first_due = false;
		probe_due(l);
	}
	if (!l->probing)
		return 0;
	if (control == NULL) {
		/* No channel to ask on: at least keep traffic flowing; TCP keepalive judges. */
		int next;
		libssh2_keepalive_send(ssh, &next);
		l->probing = false;
		return 0;
	}
	rc = libssh2_channel_setenv_ex(control, "PORTHOLE_KEEPALIVE", 18, "1", 1);
	if (rc == LIBSSH2_ERROR_EAGAIN) {
		l->asked = true;
		return 0;
	}
	l->probing = false;
	if (rc == 0 || rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED) {
		int64_t us = (int64_t)((uv_hrtime() - l->probe_start_ns) / 1000);
		l->rtt_ms = (int)(us / 1000);
		if (l->min_rtt_us < 0 || us < l->min_rtt_us)
			l->min_rtt_us = us;
		log_debug2("keepalive answered in %lld us", (long long)us);
		if (l->early_left > 0 && !uv_is_active((uv_handle_t *)&l->early))
			uv_timer_start(&l->early, early_cb, EARLY_MS, 0);
		return 0;
	}
	return rc;
}

int64_t
liveness_min_rtt_us(const struct liveness *l)
{
	return l->min_rtt_us;
}

int
liveness_rtt(const struct liveness *l)
{
	/* A probe out longer than the last RTT already says more than that RTT. */
	if (l->probing && l->asked) {
		uint64_t waiting = probe_age_ms(l);
		if ((int64_t)waiting > l->rtt_ms)
			return (int)waiting;
	}
	return l->rtt_ms;
}

uint64_t
liveness_silent_ms(const struct liveness *l)
{
	return uv_now(l->loop) - l->last_rx;
}

bool
liveness_stalled(const struct liveness *l)
{
	uint64_t now = uv_now(l->loop);

	if (l->interval_ms == 0)
		return false;
	return now - l->last_rx >= l->interval_ms + LIVENESS_GRACE_MS ||
	    (l->probing && l->asked && probe_age_ms(l) >= LIVENESS_GRACE_MS);
}

uint64_t
liveness_interval_ms(const struct liveness *l)
{
	return l->interval_ms;
}
