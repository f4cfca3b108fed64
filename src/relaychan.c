/*
 * The relay channel: one per session, shared by its two users, UDP forwards
 * (udpfwd.c) and TCP streams (rstream.c, through relayhub.c). Frames of the
 * stream types (SOPEN..SRESET) go to the streams user, the rest to UDP's.
 * States:
 *
 *   DOWN --start--> OPENING (session channel requested)
 *        --open--> EXEC (exec RelayCommand requested; may need retries)
 *        --exec ok--> HELLO (ours sent; waiting for the relay's)
 *        --relay HELLO, same major--> UP
 *   any --EOF, error, bad frame, version mismatch--> DOWN (events->down)
 *
 * In every state but DOWN the channel is a session client: each pump writes
 * queued frames, reads and decodes what the relay sent, and reads its
 * stderr, whose last line explains a relay that could not start. A relay
 * whose command does not exist on the server exits 127: when UDP asked for
 * it (relaychan_start) the user is told that UDP needs porthole on that
 * host and how to set RelayCommand; a probe for TCP streams alone
 * (relaychan_probe) leaves the telling to its user, which says it in one
 * -v line: TCP works without the relay.
 *
 * Sizes. IN_FLIGHT_MAX (what we write ahead of sshd's window adjusts) and
 * RX_WINDOW (what the relay may send before we read) bound what sits in
 * sshd and the relay ahead of a datagram, and they cap every TCP stream of
 * the session together at about that much per round trip; a direct-tcpip
 * channel has libssh2's 2 MiB to itself. At 256 KiB each (chosen for UDP
 * latency alone) one stream made 0.44x (up) and 0.69x (down) of a channel
 * on the same sshd, at 2 MiB 0.65x and 0.82x (tests/bench/throughput.py
 * style, 256 MiB on loopback, 2 busy CPUs); the rest is the relay's own
 * CPU, an extra process and pipe on the server (sshd plus relay 3.5-4
 * s/GiB against a channel's 2). The price: a datagram queued behind a full
 * channel waits for up to 2 MiB to cross (about 4 ms at 500 MB/s, 200 ms at
 * 10 MB/s) where it waited for 256 KiB; the scheduler still puts it ahead
 * of everything porthole itself holds. IN_FLIGHT_MAX applies only while
 * stream bytes wait to be sent and nothing interactive is active (beside
 * interactive traffic, the bound of a bulk link: session_inflight_bound),
 * IN_FLIGHT_DGRAM (256 KiB) otherwise:
 * datagrams alone gain nothing from more, and a standing 2 MiB in sshd's
 * buffer for the relay's stdin (when the relay falls behind for a moment)
 * makes sshd crawl (it grows that buffer by copying it), so datagrams wait
 * seconds (docs/benchmarks.md, problem 6; seen again with the open loop at
 * 20,000/s, in 1 round of 5-16, while IN_FLIGHT_MAX applied to datagrams).
 *
 * Frames to send wait in a scheduler (framesched.c: control first, flows and
 * streams in turn, datagrams dropped when late or over their flow's share,
 * counted per flow). Frames are taken from it into tx only while tx holds
 * less than TX_CHUNK (an SSH packet), so what goes next is decided when the
 * channel can take it, and a datagram never waits behind a deep queue of
 * other flows'.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "framesched.h"
#include "inflight.h"
#include "log.h"
#include "relaychan.h"
#include "version.h"
#include "xmalloc.h"

#define TX_CHUNK (32 * 1024)	     /* taken from the scheduler at a time: an SSH packet */
#define IN_FLIGHT_MAX (2048 * 1024)  /* unacknowledged bytes in the channel, at most */
#define IN_FLIGHT_DGRAM (256 * 1024) /* the same while no stream bytes wait to be sent */
#define RX_WINDOW (2048 * 1024)	     /* what the relay may send before we read */
#define MAX_STREAMS 4096	     /* announced in HELLO */
#define RX_CHUNK 65536

enum rc_state {
	RC_DOWN,
	RC_OPENING,
	RC_EXEC,
	RC_HELLO,
	RC_UP,
};

struct relaychan {
	struct session_client client;
	struct session_req req;
	uv_loop_t *loop;
	struct session *session;
	char *command;
	uint32_t idle_timeout, max_flows;
	struct relaychan_events ev[2]; /* RELAYCHAN_UDP, RELAYCHAN_STREAMS */
	bool udp_asked;		       /* this run was started for UDP (relaychan_start) */
	bool missing;		       /* the last run could not run the command (127, 126) */
	struct frame_hello peer;       /* the relay's HELLO, once UP */
	enum rc_state state;
	LIBSSH2_CHANNEL *ch;
	struct framesched *sched;
	struct buf tx, rx; /* tx: frames taken from sched, being written */
	char stderr_line[256];
	size_t stderr_len;
	unsigned long rx_gen; /* session rx generation when a read found nothing */
	bool rx_idle;
	uint64_t drops;		   /* datagrams refused while the relay was down */
	uint64_t last_rx;	   /* loop time a frame last came from the relay */
	uint64_t last_ping;	   /* loop time we last sent PING */
	unsigned long max_window;  /* the largest send window seen: in flight = it - now */
	uint64_t sent;		   /* bytes written to the channel */
	struct inflight_rate rate; /* of sent: for the bound beside interactive traffic */
	size_t cap_logged;	   /* the in-flight cap last logged (-vvv) */
	bool eof;		   /* the relay's output ended: waiting for its exit status */
};

static void relaychan_down(struct relaychan *rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
queue_frame(
    struct relaychan *rc, enum frame_type type, uint32_t flow, const void *payload, size_t len)
{
	if (framesched_push(rc->sched, type, flow, payload, len, uv_now(rc->loop)))
		session_wake(rc->session);
}

bool
relaychan_send(
    struct relaychan *rc, enum frame_type type, uint32_t flow, const void *payload, size_t len)
{
	if (len > FRAME_PAYLOAD_MAX)
		return false;
	if (rc->state == RC_DOWN) {
		if (type == FRAME_DATA)
			rc->drops++;
		return false;
	}
	/* While the relay starts, datagrams wait: their budget runs from the start. */
	queue_frame(rc, type, flow, payload, len);
	if (type == FRAME_DATA)
		session_mark_interactive(rc->session, &rc->client);
	return true;
}

size_t
relaychan_stream_queued(const struct relaychan *rc)
{
	struct framesched_stats st;

	framesched_stats(rc->sched, &st);
	return st.stream_bytes;
}

uint64_t
relaychan_forget(struct relaychan *rc, uint32_t id)
{
	return framesched_forget(rc->sched, id);
}

uint64_t
relaychan_flow_drops(const struct relaychan *rc, uint32_t id)
{
	return framesched_drops(rc->sched, id);
}

static void
stop_channel(struct relaychan *rc)
{
	session_remove_client(rc->session, &rc->client);
	if (rc->state == RC_OPENING)
		session_cancel_request(rc->session, &rc->req);
	if (rc->ch != NULL)
		session_release_channel(rc->session, rc->ch);
	rc->ch = NULL;
	rc->state = RC_DOWN;
	framesched_clear(rc->sched);
	buf_free(&rc->tx);
	buf_free(&rc->rx);
}

static void
relaychan_down(struct relaychan *rc, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (rc->state == RC_DOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	stop_channel(rc);
	bool loud = rc->udp_asked;
	rc->udp_asked = false;
	/* UDP hears why only if it asked: a failed probe for streams is not its error. */
	if (rc->ev[RELAYCHAN_UDP].down != NULL)
		rc->ev[RELAYCHAN_UDP].down(loud ? why : NULL, rc->ev[RELAYCHAN_UDP].arg);
	if (rc->ev[RELAYCHAN_STREAMS].down != NULL)
		rc->ev[RELAYCHAN_STREAMS].down(why, rc->ev[RELAYCHAN_STREAMS].arg);
}

/* Explains why the relay ended, from its exit status and last stderr line. */
static void
relay_exited(struct relaychan *rc)
{
	int status = libssh2_channel_get_exit_status(rc->ch);

	rc->missing = status == 127 || status == 126;
	if (rc->missing)
		relaychan_down(rc,
		    "UDP forwards need porthole on the server: '%s' could not run there (%s); "
		    "install porthole on the jump host or set RelayCommand to its path (under "
		    "an authorized_keys command=\"...\" the key's command runs instead: give "
		    "the full path there)",
		    rc->command, rc->stderr_line[0] ? rc->stderr_line : "command not found");
	else if (rc->state != RC_UP)
		relaychan_down(rc, "the relay ('%s') exited with status %d before it started%s%s",
		    rc->command, status, rc->stderr_line[0] ? ": " : "", rc->stderr_line);
	else
		relaychan_down(rc, "the relay exited (status %d)%s%s", status,
		    rc->stderr_line[0] ? ": " : "", rc->stderr_line);
}

static void
read_stderr(struct relaychan *rc)
{
	char chunk[1024];
	ssize_t n;

	while ((n = libssh2_channel_read_stderr(rc->ch, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n') {
				rc->stderr_line[rc->stderr_len] = '\0';
				if (rc->stderr_len > 0)
					log_debug("relay: %s", rc->stderr_line);
				rc->stderr_len = 0;
			} else if (rc->stderr_len + 1 < sizeof(rc->stderr_line) &&
			    (unsigned char)chunk[i] >= ' ') {
				if (rc->stderr_len == 0)
					rc->stderr_line[0] = '\0';
				rc->stderr_line[rc->stderr_len++] = chunk[i];
			}
		}
	}
}

static void
handle_hello(struct relaychan *rc, const struct frame *f)
{
	struct frame_hello h;
	const char *err;

	if (rc->state == RC_UP) {
		relaychan_down(rc, "the relay said HELLO twice");
		return;
	}
	if (frame_hello_parse(f, &h, &err) == -1) {
		relaychan_down(rc, "the relay sent a bad HELLO: %s", err);
		return;
	}
	if (h.major != RELAY_VERSION_MAJOR) {
		relaychan_down(rc,
		    "the relay on the server speaks protocol %u.%u (%s), this porthole %u.%u: "
		    "install the same porthole version on both ends",
		    h.major, h.minor, h.software, RELAY_VERSION_MAJOR, RELAY_VERSION_MINOR);
		return;
	}
	log_verbose("relay up: %s, protocol %u.%u%s", h.software, h.major, h.minor,
	    h.minor >= 1 && h.stream_window > 0 ? ", TCP streams" : "");
	rc->last_rx = rc->last_ping = uv_now(rc->loop);
	rc->peer = h;
	rc->state = RC_UP;
	for (int i = 0; i < 2 && rc->state == RC_UP; i++)
		if (rc->ev[i].ready != NULL)
			rc->ev[i].ready(rc->ev[i].arg);
}

/* The user a frame type belongs to: the stream types are the streams user's. */
static const struct relaychan_events *
user_of(const struct relaychan *rc, uint8_t type)
{
	return &rc->ev[type >= FRAME_SOPEN && type <= FRAME_SRESET ? RELAYCHAN_STREAMS
								   : RELAYCHAN_UDP];
}

/* Decodes what the relay sent. Returns -1 if the relay went down. */
static int
dispatch(struct relaychan *rc)
{
	for (;;) {
		struct frame f;
		const char *err;
		long n =
		    frame_decode((const uint8_t *)buf_head(&rc->rx), buf_len(&rc->rx), &f, &err);
		if (n == 0)
			return 0;
		if (n < 0) {
			relaychan_down(
			    rc, "the relay sent a malformed frame (%s); closing it", err);
			return -1;
		}
		if (rc->state == RC_HELLO && f.type != FRAME_HELLO && f.type != FRAME_ERROR) {
			relaychan_down(rc, "the relay spoke before HELLO");
			return -1;
		}
		switch (f.type) {
		case FRAME_HELLO:
			handle_hello(rc, &f);
			break;
		case FRAME_PING:
			queue_frame(rc, FRAME_PONG, f.flow, f.payload, f.len);
			break;
		case FRAME_PONG:
			break;
		case FRAME_ERROR:
			if (f.flow == 0) {
				struct frame_reason r = {0, ""};
				frame_reason_parse(&f, &r, &err);
				relaychan_down(rc, "the relay gave up: %s", r.text);
				return -1;
			}
			if (rc->ev[RELAYCHAN_UDP].frame != NULL)
				rc->ev[RELAYCHAN_UDP].frame(&f, rc->ev[RELAYCHAN_UDP].arg);
			break;
		default: {
			const struct relaychan_events *ev = user_of(rc, f.type);
			if (ev->frame != NULL)
				ev->frame(&f, ev->arg);
			break;
		}
		}
		if (rc->state == RC_DOWN)
			return -1;
		rc->last_rx = uv_now(rc->loop);
		buf_consume(&rc->rx, (size_t)n);
	}
}

/*
 * What may be unacknowledged in the channel (see Sizes): while interactive
 * traffic is active, stream bytes keep to the bound a bulk link keeps to
 * (session_inflight_bound), since a small frame queued behind them in sshd
 * waits for all of them.
 */
static unsigned long
in_flight_cap(struct relaychan *rc, size_t stream_queued)
{
	if (stream_queued == 0)
		return IN_FLIGHT_DGRAM;
	bool shared = session_interactive_recent(rc->session);
	unsigned long cap = shared
	    ? session_inflight_bound(rc->session, inflight_rate_max(&rc->rate), true)
	    : IN_FLIGHT_MAX;
	session_log_bound(rc->session, &rc->cap_logged, cap, shared, inflight_rate_max(&rc->rate),
	    "relay channel: streams' bytes in flight");
	return cap;
}

static bool
relaychan_pump(struct session_client *c)
{
	struct relaychan *rc = container_of(c, struct relaychan, client);
	unsigned long gen = session_rx_generation(rc->session);
	int rc_;

	if (rc->eof) {
		/* sshd sends exit-status after EOF; it is there once the channel closes. */
		rc_ = libssh2_channel_wait_closed(rc->ch);
		if (rc_ == LIBSSH2_ERROR_EAGAIN)
			return false;
		read_stderr(rc);
		relay_exited(rc);
		return false;
	}
	if (rc->state == RC_EXEC) {
		rc_ = libssh2_channel_process_startup(
		    rc->ch, "exec", 4, rc->command, (unsigned int)strlen(rc->command));
		if (rc_ == LIBSSH2_ERROR_EAGAIN)
			return false;
		if (rc_ != 0) {
			relaychan_down(
			    rc, "the server refused to run the relay ('%s'): %d", rc->command, rc_);
			return false;
		}
		struct frame_hello h = {RELAY_VERSION_MAJOR, RELAY_VERSION_MINOR,
		    FRAME_DATAGRAM_MAX, rc->idle_timeout, rc->max_flows, "",
		    RELAYCHAN_STREAM_WINDOW, MAX_STREAMS, 0};
		uint8_t payload[128];
		snprintf(h.software, sizeof(h.software), "porthole %s", PORTHOLE_VERSION);
		int len = frame_hello_encode(&h, payload, sizeof(payload));
		/* Our HELLO goes first, before anything queued while starting. */
		uint8_t hdr[FRAME_HEADER];
		frame_header(hdr, FRAME_HELLO, 0, (uint16_t)len);
		buf_append(&rc->tx, hdr, sizeof(hdr));
		buf_append(&rc->tx, payload, (size_t)len);
		framesched_restamp(rc->sched, uv_now(rc->loop));
		rc->state = RC_HELLO;
	}
	/*
	 * Frames out, with at most cap unacknowledged (see Sizes). sshd's window
	 * for the relay is 2 MiB; filling it queues that much in sshd, which
	 * then slows to a crawl (its buffer grows by copying), and datagrams
	 * wait seconds. Kept short, the queue stays here, where DATA is dropped
	 * instead (UDP's contract) and latency stays bounded.
	 */
	size_t queued = relaychan_stream_queued(rc);
	unsigned long cap = in_flight_cap(rc, queued);
	while (session_can_send(rc->session)) {
		/*
		 * Refilled below one SSH packet's worth, so every write is a full
		 * packet: 16 KiB SDATA frames one at a time made twice the packets
		 * (and MACs, and syscalls) a channel makes for the same bytes.
		 */
		if (buf_len(&rc->tx) < TX_CHUNK)
			framesched_pull(
			    rc->sched, &rc->tx, TX_CHUNK + TX_CHUNK / 2, uv_now(rc->loop));
		if (buf_len(&rc->tx) == 0)
			break;
		unsigned long window = libssh2_channel_window_write_ex(rc->ch, NULL);
		if (window > rc->max_window)
			rc->max_window = window;
		unsigned long in_flight = rc->max_window - window;
		if (in_flight >= cap)
			break;
		size_t len = buf_len(&rc->tx);
		if (len > cap - in_flight)
			len = cap - in_flight;
		ssize_t n = libssh2_channel_write(rc->ch, buf_head(&rc->tx), len);
		if (n > 0) {
			buf_consume(&rc->tx, (size_t)n);
			rc->sent += (uint64_t)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
			break;
		session_check_error(rc->session, (int)n);
		relaychan_down(rc, "writing to the relay failed (%d)", (int)n);
		return false;
	}
	inflight_rate_note(&rc->rate, uv_now(rc->loop), rc->sent);
	/* Room again for streams that stopped at the global bound. */
	if (relaychan_stream_queued(rc) < queued && rc->ev[RELAYCHAN_STREAMS].writable != NULL) {
		rc->ev[RELAYCHAN_STREAMS].writable(rc->ev[RELAYCHAN_STREAMS].arg);
		if (rc->state == RC_DOWN)
			return false;
	}
	/* Frames in. */
	if (rc->rx_idle && rc->rx_gen == gen)
		return false;
	rc->rx_idle = false;
	read_stderr(rc);
	for (int budget = 0; budget < 32; budget++) {
		size_t avail;
		char *p = buf_reserve(&rc->rx, RX_CHUNK, &avail);
		ssize_t n = libssh2_channel_read(rc->ch, p, avail);
		if (n > 0) {
			buf_commit(&rc->rx, (size_t)n);
			if (dispatch(rc) == -1)
				return false;
			continue;
		}
		if (n == 0 && libssh2_channel_eof(rc->ch)) {
			rc->eof = true;
			return true;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			rc->rx_idle = true;
			rc->rx_gen = gen;
			return false;
		}
		session_check_error(rc->session, (int)n);
		relaychan_down(rc, "reading from the relay failed (%d)", (int)n);
		return false;
	}
	return true;
}

static void
relaychan_lost(struct session_client *c)
{
	struct relaychan *rc = container_of(c, struct relaychan, client);

	rc->ch = NULL; /* the session frees it */
	relaychan_down(rc, "the SSH session is gone");
}

static void
open_done(struct session_req *req, const char *why)
{
	struct relaychan *rc = container_of(req, struct relaychan, req);

	if (req->channel == NULL) {
		relaychan_down(rc, "cannot open a channel for the relay: %s", why);
		return;
	}
	rc->ch = req->channel;
	/* stderr shares the window: it is read every pump, never left to stall stdout. */
	rc->state = RC_EXEC;
	session_add_client(rc->session, &rc->client);
	session_wake(rc->session);
}

void
relaychan_start(struct relaychan *rc)
{
	if (session_is_ready(rc->session))
		rc->udp_asked = true;
	relaychan_probe(rc);
}

void
relaychan_probe(struct relaychan *rc)
{
	if (rc->state != RC_DOWN || !session_is_ready(rc->session))
		return;
	log_debug("starting the relay: %s", rc->command);
	rc->stderr_line[0] = '\0';
	rc->stderr_len = 0;
	rc->rx_idle = false;
	rc->eof = false;
	rc->max_window = 0;
	rc->missing = false;
	memset(&rc->peer, 0, sizeof(rc->peer));
	memset(&rc->req, 0, sizeof(rc->req));
	rc->req.kind = REQ_SESSION;
	rc->req.window = RX_WINDOW;
	rc->req.done = open_done;
	rc->state = RC_OPENING;
	session_request(rc->session, &rc->req);
}

bool
relaychan_is_up(const struct relaychan *rc)
{
	return rc->state == RC_UP;
}

bool
relaychan_is_down(const struct relaychan *rc)
{
	return rc->state == RC_DOWN;
}

const struct frame_hello *
relaychan_peer(const struct relaychan *rc)
{
	return rc->state == RC_UP ? &rc->peer : NULL;
}

bool
relaychan_missing(const struct relaychan *rc)
{
	return rc->missing;
}

void
relaychan_set_user(
    struct relaychan *rc, enum relaychan_user which, const struct relaychan_events *ev)
{
	rc->ev[which] = *ev;
}

void
relaychan_tick(struct relaychan *rc, uint64_t interval_ms, int count_max)
{
	uint64_t now = uv_now(rc->loop), quiet;

	if (rc->state != RC_UP || interval_ms == 0)
		return;
	quiet = now - rc->last_rx;
	if (quiet >= interval_ms * (uint64_t)count_max) {
		relaychan_down(rc, "the relay stopped answering (nothing in %llu s); restarting it",
		    (unsigned long long)(quiet / 1000));
		return;
	}
	if (quiet >= interval_ms && now - rc->last_ping >= interval_ms) {
		uint8_t payload[8];
		int n = frame_ping_encode(now, payload, sizeof(payload));
		if (n > 0)
			queue_frame(rc, FRAME_PING, 0, payload, (size_t)n);
		rc->last_ping = now;
	}
}

uint64_t
relaychan_drops(const struct relaychan *rc)
{
	struct framesched_stats st;

	framesched_stats(rc->sched, &st);
	return rc->drops + st.dropped;
}

struct relaychan *
relaychan_new(uv_loop_t *loop, struct session *s, const char *command, uint32_t idle_timeout,
    uint32_t max_flows)
{
	struct relaychan *rc = xcalloc(1, sizeof(*rc));

	rc->loop = loop;
	rc->session = s;
	rc->command = xstrdup(command);
	rc->idle_timeout = idle_timeout;
	rc->max_flows = max_flows;
	rc->client.pump = relaychan_pump;
	rc->client.marks_activity = true; /* datagrams (relaychan_send), streams (link.c) */
	rc->client.lost = relaychan_lost;
	rc->sched = framesched_new(NULL);
	buf_init(&rc->tx);
	buf_init(&rc->rx);
	return rc;
}

void
relaychan_free(struct relaychan *rc)
{
	if (rc == NULL)
		return;
	rc->ev[RELAYCHAN_UDP].down = rc->ev[RELAYCHAN_STREAMS].down = NULL;
	stop_channel(rc);
	framesched_free(rc->sched);
	free(rc->command);
	free(rc);
}
