/*
 * The request queue. The head request is "in flight" once libssh2 has been
 * given it and answered EAGAIN; it must then be repeated with the same
 * arguments until it completes, so a cancelled in-flight request is kept as
 * an orphan copy and finished quietly (its channel handed back to be freed).
 *
 *   queued --head, passed to libssh2--> in flight --answer--> done()
 *   queued --session down, keep_opens--> waiting --ConnectionWait--> done(why)
 *
 * While the session is down one timer is due when the first waiting request
 * expires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chanfail.h"
#include "log.h"
#include "reqqueue.h"
#include "xmalloc.h"

#define LISTEN_QUEUE 128      /* forwarded connections libssh2 holds per listener */
#define REQUEST_WAIT_MS 10000 /* ConnectionWait's default: an open waits for a session */

struct reqqueue {
	uv_loop_t *loop;
	struct session_req *head, **tail;
	bool in_flight; /* the head has been passed to libssh2 */
	bool orphaned;	/* ... and was cancelled since */
	struct session_req orphan;
	bool ready;	   /* the session is up: nothing expires */
	uv_timer_t expire; /* while down: due when the first waiting request expires */
	uint64_t wait_ms;  /* ConnectionWait */
	uint64_t sent_ns;  /* uv_hrtime() when the head went in flight */
	int64_t open_us;   /* the quickest channel open of this session; -1 none yet */
};

static void arm_expire(struct reqqueue *q);

static void
expire_cb(uv_timer_t *t)
{
	struct reqqueue *q = t->data;
	uint64_t now = uv_now(q->loop);
	struct session_req **pp = &q->head;
	char why[96];

	if (q->ready)
		return;
	snprintf(why, sizeof(why), "the SSH session is down (waited %llu s)",
	    (unsigned long long)(q->wait_ms / 1000));
	while (*pp != NULL) {
		struct session_req *req = *pp;
		if (now - req->queued_at < q->wait_ms) {
			pp = &req->next;
			continue;
		}
		*pp = req->next;
		if (q->tail == &req->next)
			q->tail = pp;
		req->next = NULL;
		req->done(req, why);
	}
	arm_expire(q);
}

/* While the session is not ready: the timer is due when the first waiting request expires. */
static void
arm_expire(struct reqqueue *q)
{
	uint64_t now = uv_now(q->loop), first = UINT64_MAX;

	if (uv_is_closing((uv_handle_t *)&q->expire))
		return;
	for (struct session_req *r = q->head; r != NULL; r = r->next)
		if (r->queued_at + q->wait_ms < first)
			first = r->queued_at + q->wait_ms;
	if (q->ready || first == UINT64_MAX) {
		uv_timer_stop(&q->expire);
		return;
	}
	uv_timer_start(&q->expire, expire_cb, first > now ? first - now : 0, 0);
}

struct reqqueue *
reqqueue_new(uv_loop_t *loop, int wait_s)
{
	struct reqqueue *q = xcalloc(1, sizeof(*q));

	q->loop = loop;
	q->wait_ms = wait_s >= 0 ? (uint64_t)wait_s * 1000 : REQUEST_WAIT_MS;
	q->tail = &q->head;
	q->open_us = -1;
	uv_timer_init(loop, &q->expire);
	q->expire.data = q;
	return q;
}

static void
closed_cb(uv_handle_t *h)
{
	free(h->data);
}

void
reqqueue_free(struct reqqueue *q, const char *why)
{
	if (q == NULL)
		return;
	reqqueue_session_down(q, why, false);
	uv_close((uv_handle_t *)&q->expire, closed_cb);
}

bool
reqqueue_empty(const struct reqqueue *q)
{
	return q->head == NULL;
}

void
reqqueue_add(struct reqqueue *q, struct session_req *req, bool ready)
{
	req->queued_at = uv_now(q->loop);
	req->next = NULL;
	*q->tail = req;
	q->tail = &req->next;
	q->ready = ready;
	/* While the session is down a request waits ConnectionWait at most; none expires sooner. */
	if (!ready && !uv_is_active((uv_handle_t *)&q->expire))
		arm_expire(q);
}

void
reqqueue_cancel(struct reqqueue *q, struct session_req *req)
{
	struct session_req **pp;

	if (req == q->head && q->in_flight) {
		/*
		 * libssh2 holds this open's state in the session; it must run to
		 * completion. Keep a copy to finish it with, and drop the channel.
		 */
		q->orphan = *req;
		q->orphan.done = NULL;
		q->orphan.next = req->next;
		q->head = &q->orphan;
		if (q->tail == &req->next)
			q->tail = &q->orphan.next;
		q->orphaned = true;
		return;
	}
	for (pp = &q->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			if (q->tail == &req->next)
				q->tail = pp;
			return;
		}
	}
}

static size_t
put_string(unsigned char *p, const char *str)
{
	size_t n = strlen(str);

	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	memcpy(p + 4, str, n);
	return 4 + n;
}

static size_t
put_u32(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

/*
 * direct-tcpip with our own receive window (libssh2's direct_tcpip_ex
 * always asks for 2 MiB): the message is host, port, originator, port.
 */
static LIBSSH2_CHANNEL *
open_direct_tcpip(LIBSSH2_SESSION *ssh, const struct session_req *req, unsigned window)
{
	unsigned char msg[4 + sizeof(req->host) + 4 + 4 + sizeof(req->orig_host) + 4];
	size_t n = 0;

	n += put_string(msg + n, req->host);
	n += put_u32(msg + n, (unsigned)req->port);
	n += put_string(msg + n, req->orig_host);
	n += put_u32(msg + n, (unsigned)req->orig_port);
	return libssh2_channel_open_ex(ssh, "direct-tcpip", sizeof("direct-tcpip") - 1, window,
	    LIBSSH2_CHANNEL_PACKET_DEFAULT, (const char *)msg, (unsigned)n);
}

/* Passes the head request to libssh2; true once it has an answer. */
static bool
try_request(LIBSSH2_SESSION *ssh, struct session_req *req)
{
	req->channel = NULL;
	req->listener = NULL;
	switch (req->kind) {
	case REQ_SESSION:
		req->channel = libssh2_channel_open_ex(ssh, "session", sizeof("session") - 1,
		    req->window ? req->window : LIBSSH2_CHANNEL_WINDOW_DEFAULT,
		    LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
		break;
	case REQ_DIRECT_TCPIP:
		if (req->window != 0)
			req->channel = open_direct_tcpip(ssh, req, req->window);
		else
			req->channel = libssh2_channel_direct_tcpip_ex(
			    ssh, req->host, req->port, req->orig_host, req->orig_port);
		break;
	case REQ_LISTEN:
		req->listener = libssh2_channel_forward_listen_ex(
		    ssh, req->host, req->port, &req->bound_port, LISTEN_QUEUE);
		break;
	case REQ_DIRECT_STREAMLOCAL:
#if LIBSSH2_VERSION_NUM >= 0x010b00
		/* direct-streamlocal@openssh.com: path, then a reserved string and uint32. */
		req->channel = libssh2_channel_direct_streamlocal_ex(ssh, req->host, "", 0);
		break;
#else
		/* listener_open refuses these forwards on this build; nothing to ask. */
		return true;
#endif
	}
	return req->channel != NULL || req->listener != NULL ||
	    libssh2_session_last_errno(ssh) != LIBSSH2_ERROR_EAGAIN;
}

static const char *
last_error(LIBSSH2_SESSION *ssh)
{
	char *msg = NULL;

	libssh2_session_last_error(ssh, &msg, NULL, 0);
	return msg != NULL && *msg != '\0' ? msg : "unknown error";
}

/* Why a request failed; a refused channel open in ssh's words, with the server's reason. */
static const char *
request_error(LIBSSH2_SESSION *ssh, int rc)
{
	static char buf[400];
	struct chanfail f;

	if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE && chanfail_parse(last_error(ssh), &f) == 0) {
		chanfail_format(&f, buf, sizeof(buf));
		return buf;
	}
	return last_error(ssh);
}

/*
 * A channel open was answered: its round trip (sshd answers a direct-tcpip
 * open once it has connected to the target, so never sooner than one RTT).
 */
static void
note_open_rtt(struct reqqueue *q)
{
	int64_t us = (int64_t)((uv_hrtime() - q->sent_ns) / 1000);

	if (q->open_us < 0 || us < q->open_us) {
		q->open_us = us;
		log_debug2("channel open answered in %lld us", (long long)us);
	}
}

int64_t
reqqueue_open_rtt_us(const struct reqqueue *q)
{
	return q->open_us;
}

bool
reqqueue_step(struct reqqueue *q, LIBSSH2_SESSION *ssh, LIBSSH2_CHANNEL **orphan, int *rc)
{
	struct session_req *req = q->head;

	*orphan = NULL;
	*rc = 0;
	if (req == NULL)
		return false;
	if (!q->in_flight)
		q->sent_ns = uv_hrtime();
	bool was_in_flight = q->in_flight;
	if (!try_request(ssh, req)) {
		q->in_flight = true;
		return false;
	}
	bool ok = req->channel != NULL || req->listener != NULL;
	if (req->channel != NULL && was_in_flight)
		note_open_rtt(q);
	bool orphaned = q->orphaned;
	*rc = ok ? 0 : libssh2_session_last_errno(ssh);
	q->head = req->next;
	if (q->head == NULL)
		q->tail = &q->head;
	q->in_flight = false;
	q->orphaned = false;
	if (orphaned)
		*orphan =
		    req->channel; /* its owner is gone; a listener stays until the session ends */
	else
		req->done(req, ok ? NULL : request_error(ssh, *rc));
	return true;
}

void
reqqueue_session_down(struct reqqueue *q, const char *why, bool keep_opens)
{
	struct session_req *req, *keep = NULL, **keep_tail = &keep;

	if (q->orphaned && q->head == &q->orphan) {
		q->head = q->orphan.next;
		if (q->head == NULL)
			q->tail = &q->head;
	}
	while ((req = q->head) != NULL) {
		q->head = req->next;
		req->next = NULL;
		req->channel = NULL;
		req->listener = NULL;
		if (keep_opens && req->kind == REQ_DIRECT_TCPIP) {
			*keep_tail = req;
			keep_tail = &req->next;
			continue;
		}
		if (req->done != NULL)
			req->done(req, why);
	}
	q->head = keep;
	q->tail = keep != NULL ? keep_tail : &q->head;
	q->in_flight = false;
	q->orphaned = false;
	q->ready = false;
	arm_expire(q);
}

void
reqqueue_session_up(struct reqqueue *q)
{
	q->ready = true;
	q->open_us = -1; /* a new connection, maybe by a new path */
	uv_timer_stop(&q->expire);
}
