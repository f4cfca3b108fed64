/*
 * The session's relay, and the choice between streams and channels.
 *
 * The probe: with -L or -D forwards and OpenVia not channel, the relay is
 * started once the session is up (one start per session). What it shows is
 * remembered for the whole process, across reconnects:
 *   - it never came up with streams (the command could not run, exited or
 *     failed before its HELLO, a 1.0 relay, stream_window 0): streams are
 *     off for good ("relay not available on the server", one -v line);
 *     TCP uses channels (OpenVia relay: connections fail), UDP still starts
 *     it as before;
 *   - it worked: it is started again right after each reconnect, and when
 *     it dies (exit, PING timeout, bad frame) its streams are reset and it
 *     is started again after 1, 2, 4 ... 60 s (back to 1 s once it ran a
 *     minute); meanwhile auto sends new connections over channels.
 *
 * OpenVia auto takes a stream when the relay is up with streams, its HELLO
 * is not RESTRICTED (an allow-list would refuse what sshd may allow) and it
 * has room (max_streams); relay always takes one (pending while the relay
 * starts, for at most ConnectionWait; reset when the relay cannot be had,
 * never a channel instead); channel never does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relayhub.h"
#include "xmalloc.h"

#define DEFAULT_IDLE 60
#define DEFAULT_MAX_FLOWS 1024
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define HEALTHY_MS 60000   /* a relay up this long starts the backoff over */
#define PROBE_DELAY_MS 500 /* auto: the probe after a session comes up */

struct relayhub {
	uv_loop_t *loop;
	struct session *session;
	struct relaychan *rc;
	struct rstreams *streams;
	int open_via;	     /* enum open_via; unset is auto */
	bool tcp_forwards;   /* -L or -D forwards: probe at session start */
	bool disabled;	     /* the relay cannot do streams: never probed again for TCP */
	bool worked;	     /* the relay ran with streams once */
	bool up;	     /* up in this run */
	uint64_t up_at;	     /* loop time it came up */
	uint64_t backoff_ms; /* the next restart's delay */
	uint64_t alive_ms;   /* ServerAliveInterval: PING period */
	int alive_count;     /* ServerAliveCountMax */
	uint64_t wait_ms;    /* ConnectionWait: how long a pending stream waits */
	uv_timer_t tick;     /* liveness and pending expiry, every second */
	uv_timer_t restart;  /* the next start after the relay died */
	int closing;	     /* timers not yet closed (relayhub_free) */
};

static bool
streams_wanted(const struct relayhub *h)
{
	return h->open_via != OPEN_VIA_CHANNEL && !h->disabled;
}

static void
off_for_good(struct relayhub *h, const char *why)
{
	h->disabled = true;
	if (h->open_via == OPEN_VIA_RELAY) {
		/* Asked for, so said plainly: every TCP connection will be refused. */
		log_info("relay not usable for TCP streams (%s): with OpenVia relay, TCP "
			 "connections are refused (OpenVia auto would use SSH channels)",
		    why);
	} else if (relaychan_missing(h->rc)) {
		/* The UDP text says how to install it; TCP does not need it, so -v only. */
		log_verbose("relay not available on the server: TCP connections use SSH channels");
		log_debug("relay: %s", why);
	} else {
		log_verbose("relay not usable for TCP streams (%s): TCP connections use SSH "
			    "channels",
		    why);
	}
	rstreams_fail_pending(h->streams, "the relay on the server cannot do TCP streams");
}

static void
streams_ready(void *arg)
{
	struct relayhub *h = arg;

	rstreams_ready(h->streams);
	h->up = true;
	h->up_at = uv_now(h->loop);
	if (!rstreams_usable(h->streams)) {
		if (!h->disabled)
			off_for_good(h, "it does not do TCP streams: an older porthole");
		return;
	}
	h->worked = true;
	const struct frame_hello *peer = relaychan_peer(h->rc);
	if (peer != NULL && (peer->stream_flags & STREAM_FLAG_RESTRICTED) &&
	    h->open_via != OPEN_VIA_RELAY)
		log_verbose("the relay has an allow-list (--permit-open): TCP connections use SSH "
			    "channels (OpenVia relay would use it)");
}

static void
restart_cb(uv_timer_t *t)
{
	struct relayhub *h = t->data;

	if (streams_wanted(h) && session_is_ready(h->session))
		relaychan_probe(h->rc);
}

static void
streams_down(const char *why, void *arg)
{
	struct relayhub *h = arg;
	bool was_up = h->up;

	h->up = false;
	rstreams_down(h->streams, why);
	if (!session_is_ready(h->session))
		return; /* the session went: it starts the relay again when it is back */
	if (!was_up && !h->worked) {
		if (!h->disabled)
			off_for_good(h, why);
		return;
	}
	if (!was_up) /* it worked once, and could not start now: waiting ones take channels */
		rstreams_fail_pending(h->streams, why);
	if (!streams_wanted(h) || !h->tcp_forwards)
		return;
	if (was_up && uv_now(h->loop) - h->up_at >= HEALTHY_MS)
		h->backoff_ms = BACKOFF_MIN_MS;
	log_info("%s; %s (starting it again in %.0f s)", why,
	    h->open_via == OPEN_VIA_RELAY ? "TCP connections wait for it"
					  : "TCP connections use SSH channels until it is back",
	    (double)h->backoff_ms / 1000);
	uv_timer_start(&h->restart, restart_cb, h->backoff_ms, 0);
	h->backoff_ms = h->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : h->backoff_ms * 2;
}

static void
streams_frame(const struct frame *f, void *arg)
{
	struct relayhub *h = arg;

	rstreams_frame(h->streams, f);
}

static void
streams_writable(void *arg)
{
	struct relayhub *h = arg;

	rstreams_writable(h->streams);
}

static void
tick_cb(uv_timer_t *t)
{
	struct relayhub *h = t->data;

	relaychan_tick(h->rc, h->alive_ms, h->alive_count);
	rstreams_expire(h->streams, uv_now(h->loop), h->wait_ms,
	    "the relay did not start within ConnectionWait");
}

/* Starts the relay for streams now, unless it runs or a restart waits. */
static void
probe(struct relayhub *h)
{
	if (session_is_ready(h->session) && relaychan_is_down(h->rc) &&
	    !uv_is_active((uv_handle_t *)&h->restart))
		relaychan_probe(h->rc);
}

void
relayhub_session_ready(struct relayhub *h)
{
	uv_timer_stop(&h->restart);
	if (!streams_wanted(h) || !(h->tcp_forwards || rstreams_count(h->streams) > 0))
		return;
	/*
	 * OpenVia relay: connections wait for it, so now. auto: a moment later,
	 * so that connections that waited out an outage have their channels
	 * opened and their first bytes through before sshd forks the relay.
	 */
	if (h->open_via == OPEN_VIA_RELAY || rstreams_count(h->streams) > 0)
		relaychan_probe(h->rc);
	else
		uv_timer_start(&h->restart, restart_cb, PROBE_DELAY_MS, 0);
}

enum relayhub_via
relayhub_choose(struct relayhub *h)
{
	if (h->open_via == OPEN_VIA_CHANNEL)
		return RELAYHUB_CHANNEL;
	h->tcp_forwards = true; /* TCP uses it now: worth restarting when it dies */
	if (h->open_via == OPEN_VIA_RELAY) {
		if (h->disabled)
			return RELAYHUB_REFUSE; /* strict: never a channel instead */
		/* Waiting connections do not wait out a backoff. */
		uv_timer_stop(&h->restart);
		probe(h);
		return RELAYHUB_STREAM;
	}
	if (rstreams_usable(h->streams)) {
		const struct frame_hello *peer = relaychan_peer(h->rc);
		if (peer != NULL && !(peer->stream_flags & STREAM_FLAG_RESTRICTED) &&
		    (peer->max_streams == 0 || rstreams_count(h->streams) < peer->max_streams))
			return RELAYHUB_STREAM;
		return RELAYHUB_CHANNEL;
	}
	if (!h->disabled)
		probe(h); /* a forward added later (-O), or a session that began without one */
	return RELAYHUB_CHANNEL;
}

const char *
relayhub_state(const struct relayhub *h, bool *streams)
{
	const struct frame_hello *peer = relaychan_peer(h->rc);

	*streams = false;
	if (relaychan_is_up(h->rc)) {
		if (!rstreams_usable(h->streams))
			return "up, no TCP streams (an older porthole)";
		*streams = true;
		if (h->open_via == OPEN_VIA_CHANNEL)
			return "up (OpenVia channel: TCP uses channels)";
		if (peer != NULL && (peer->stream_flags & STREAM_FLAG_RESTRICTED) &&
		    h->open_via != OPEN_VIA_RELAY)
			return "up, its allow-list (--permit-open) sends TCP to channels";
		return "up";
	}
	if (h->disabled)
		return "not available on the server";
	if (uv_is_active((const uv_handle_t *)&h->restart))
		return h->worked ? "down, starting again soon" : "starting";
	if (!relaychan_is_down(h->rc))
		return "starting";
	return h->worked ? "down" : NULL;
}

struct relaychan *
relayhub_chan(struct relayhub *h)
{
	return h->rc;
}

struct rstreams *
relayhub_streams(struct relayhub *h)
{
	return h->streams;
}

struct relayhub *
relayhub_new(uv_loop_t *loop, struct session *s, const struct options *opt, bool tcp_forwards)
{
	struct relayhub *h = xcalloc(1, sizeof(*h));
	struct relaychan_events ev = {
	    streams_ready, streams_frame, streams_down, streams_writable, h};
	uint32_t idle = opt->udp_idle_timeout >= 0 ? (uint32_t)opt->udp_idle_timeout : DEFAULT_IDLE;
	uint32_t max_flows =
	    opt->udp_max_flows > 0 ? (uint32_t)opt->udp_max_flows : DEFAULT_MAX_FLOWS;

	h->loop = loop;
	h->session = s;
	h->open_via = opt->open_via;
	h->tcp_forwards = tcp_forwards;
	h->backoff_ms = BACKOFF_MIN_MS;
	h->alive_ms =
	    (uint64_t)(opt->server_alive_interval >= 0 ? opt->server_alive_interval : 15) * 1000;
	h->alive_count = opt->server_alive_count_max > 0 ? opt->server_alive_count_max : 3;
	h->wait_ms = (uint64_t)(opt->connection_wait >= 0 ? opt->connection_wait : 10) * 1000;
	h->rc = relaychan_new(
	    loop, s, opt->relay_command ? opt->relay_command : "porthole relay", idle, max_flows);
	h->streams = rstreams_new(s, h->rc);
	relaychan_set_user(h->rc, RELAYCHAN_STREAMS, &ev);
	uv_timer_init(loop, &h->tick);
	uv_timer_init(loop, &h->restart);
	h->tick.data = h->restart.data = h;
	uv_timer_start(&h->tick, tick_cb, 1000, 1000);
	return h;
}

/* Freed once both timers closed: libuv runs close callbacks in no set order. */
static void
timer_closed_cb(uv_handle_t *t)
{
	struct relayhub *h = t->data;

	if (--h->closing == 0)
		free(h);
}

void
relayhub_free(struct relayhub *h)
{
	if (h == NULL)
		return;
	struct relaychan_events none = {0};
	relaychan_set_user(h->rc, RELAYCHAN_STREAMS, &none);
	relaychan_free(h->rc);
	rstreams_free(h->streams);
	h->closing = 2;
	uv_close((uv_handle_t *)&h->tick, timer_closed_cb);
	uv_close((uv_handle_t *)&h->restart, timer_closed_cb);
}
