/*
 * Presence (presence.h). The family side's responder holds the channels it
 * is answering, each until its line and EOF are sent:
 *
 *   taken --line written--> written --EOF sent--> released (closed and freed)
 *
 * The helper side's check, one probe at a time:
 *
 *   IDLE --tick or session ready--> OPENING (a direct-tcpip open queued)
 *   OPENING --refused--> IDLE, offline
 *   OPENING --opened--> READING (a session client until it ends)
 *   READING --"porthole-presence NAME TIME\n"--> IDLE, online, last seen now
 *   READING --EOF or closed without the line--> IDLE, offline
 *   OPENING, READING --PRESENCE_ANSWER_S without the line--> IDLE, offline
 *   any --session lost--> IDLE, state kept (the session's own line says it is down)
 *
 * "offline since" is the time of the first failed probe after the last
 * answer, and stays while the probes keep failing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "presence.h"
#include "xmalloc.h"

#define PRESENCE_TAG "porthole-presence "

/* ---- the family side ---- */

struct answer {
	struct answer *next;
	LIBSSH2_CHANNEL *ch;
	char line[128];
	size_t len, sent;
};

struct presence_responder {
	struct session_client client;
	struct session *session;
	struct answer *answers;
	char name[64];
};

/* Writes the line and the EOF; true when done, false on EAGAIN. */
static bool
answer_step(struct presence_responder *r, struct answer *a)
{
	(void)r;
	while (a->sent < a->len) {
		ssize_t w = libssh2_channel_write(a->ch, a->line + a->sent, a->len - a->sent);
		if (w == LIBSSH2_ERROR_EAGAIN)
			return false;
		if (w < 0)
			return true; /* the helper went away: nothing to answer */
		a->sent += (size_t)w;
	}
	return libssh2_channel_send_eof(a->ch) != LIBSSH2_ERROR_EAGAIN;
}

static bool
responder_pump(struct session_client *c)
{
	struct presence_responder *r = container_of(c, struct presence_responder, client);
	struct answer **pp = &r->answers, *a;

	while ((a = *pp) != NULL) {
		if (!answer_step(r, a)) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		session_release_channel(r->session, a->ch);
		free(a);
	}
	if (r->answers == NULL)
		session_remove_client(r->session, &r->client);
	return false;
}

static void
responder_lost(struct session_client *c)
{
	struct presence_responder *r = container_of(c, struct presence_responder, client);
	struct answer *a;

	/* The channels died with the session. */
	while ((a = r->answers) != NULL) {
		r->answers = a->next;
		free(a);
	}
}

struct presence_responder *
presence_responder_new(struct session *s, const char *name)
{
	struct presence_responder *r = xcalloc(1, sizeof(*r));
	size_t i = 0;

	r->session = s;
	r->client.pump = responder_pump;
	r->client.lost = responder_lost;
	for (const char *p = name; *p != '\0' && i + 1 < sizeof(r->name); p++)
		r->name[i++] = (*p <= ' ' || *p == 0x7f) ? '_' : *p;
	r->name[i] = '\0';
	if (i == 0)
		snprintf(r->name, sizeof(r->name), "porthole");
	return r;
}

void
presence_responder_take(LIBSSH2_CHANNEL *ch, void *arg)
{
	struct presence_responder *r = arg;
	struct answer *a = xcalloc(1, sizeof(*a));

	a->ch = ch;
	int n = snprintf(
	    a->line, sizeof(a->line), PRESENCE_TAG "%s %lld\n", r->name, (long long)time(NULL));
	a->len = n > 0 && (size_t)n < sizeof(a->line) ? (size_t)n : 0;
	a->next = r->answers;
	r->answers = a;
	log_debug("presence: answering a check");
	if (r->client.next == NULL)
		session_add_client(r->session, &r->client);
	session_wake(r->session);
}

void
presence_responder_free(struct presence_responder *r)
{
	struct answer *a;

	if (r == NULL)
		return;
	session_remove_client(r->session, &r->client);
	while ((a = r->answers) != NULL) {
		r->answers = a->next;
		session_release_channel(r->session, a->ch);
		free(a);
	}
	free(r);
}

/* ---- the helper side ---- */

enum probe_state {
	P_IDLE,
	P_OPENING,
	P_READING,
};

struct presence_check {
	struct session_client client;
	struct session_req req;
	uv_loop_t *loop;
	struct session *session;
	char host[256];
	int port;
	uint64_t interval_ms;
	enum probe_state probe;
	LIBSSH2_CHANNEL *ch;
	char line[128];
	size_t got;
	uv_timer_t tick;     /* the next probe */
	uv_timer_t deadline; /* the probe in flight gives up */
	int closed;	     /* timers closed (presence_check_close) */
	int state;	     /* 0 unknown, 1 online, 2 offline */
	long long last_seen, offline_since;
	char why[200];
	char name[64];
};

static void probe_start(struct presence_check *p);

static void
probe_end(struct presence_check *p, const char *failure)
{
	uv_timer_stop(&p->deadline);
	if (p->probe == P_OPENING)
		session_cancel_request(p->session, &p->req);
	session_remove_client(p->session, &p->client);
	if (p->ch != NULL)
		session_release_channel(p->session, p->ch);
	p->ch = NULL;
	p->probe = P_IDLE;
	if (failure == NULL) {
		if (p->state != 1)
			log_info("presence: port %d answers (%s)", p->port, p->name);
		p->state = 1;
		p->last_seen = (long long)time(NULL);
		p->offline_since = 0;
		p->why[0] = '\0';
		return;
	}
	if (p->state != 2) {
		p->offline_since = (long long)time(NULL);
		log_info("presence: port %d: %s", p->port, failure);
	}
	p->state = 2;
	snprintf(p->why, sizeof(p->why), "%s", failure);
}

/* The line so far: true when a whole one came (done with the probe). */
static bool
take_line(struct presence_check *p)
{
	char *nl = memchr(p->line, '\n', p->got);
	char fail[200];

	if (nl == NULL && p->got < sizeof(p->line) - 1)
		return false;
	if (nl != NULL)
		*nl = '\0';
	p->line[sizeof(p->line) - 1] = '\0';
	if (nl == NULL || strncmp(p->line, PRESENCE_TAG, strlen(PRESENCE_TAG)) != 0) {
		snprintf(fail, sizeof(fail),
		    "something else answers on the jump host's port %d (not porthole's presence)",
		    p->port);
		probe_end(p, fail);
		return true;
	}
	const char *name = p->line + strlen(PRESENCE_TAG);
	size_t n = strcspn(name, " ");
	if (n >= sizeof(p->name))
		n = sizeof(p->name) - 1;
	memcpy(p->name, name, n);
	p->name[n] = '\0';
	probe_end(p, NULL);
	return true;
}

static bool
check_pump(struct session_client *c)
{
	struct presence_check *p = container_of(c, struct presence_check, client);
	char fail[200];

	while (p->probe == P_READING) {
		ssize_t n =
		    libssh2_channel_read(p->ch, p->line + p->got, sizeof(p->line) - 1 - p->got);
		if (n > 0) {
			p->got += (size_t)n;
			if (take_line(p))
				return false;
			continue;
		}
		if (n == LIBSSH2_ERROR_EAGAIN && !libssh2_channel_eof(p->ch))
			return false;
		snprintf(fail, sizeof(fail), "the jump host's port %d closed without an answer",
		    p->port);
		probe_end(p, fail);
	}
	return false;
}

static void
check_lost(struct session_client *c)
{
	struct presence_check *p = container_of(c, struct presence_check, client);

	/* The channel died with the session; the state stays what it was. */
	p->ch = NULL;
	p->probe = P_IDLE;
	uv_timer_stop(&p->deadline);
}

static void
opened(struct session_req *req, const char *why)
{
	struct presence_check *p = container_of(req, struct presence_check, req);
	char fail[300];

	p->probe = P_IDLE;
	if (req->channel == NULL) {
		if (!session_is_ready(p->session)) {
			uv_timer_stop(&p->deadline); /* not the family's doing */
			return;
		}
		log_debug("presence: open refused: %s", why);
		snprintf(fail, sizeof(fail), "nothing listens on the jump host's port %d", p->port);
		probe_end(p, fail);
		return;
	}
	p->ch = req->channel;
	p->probe = P_READING;
	p->got = 0;
	session_add_client(p->session, &p->client);
	session_wake(p->session);
}

static void
deadline_cb(uv_timer_t *t)
{
	struct presence_check *p = t->data;
	char fail[200];

	if (!session_is_ready(p->session)) {
		/* Our own session went down under the probe: that says nothing of the family's. */
		if (p->probe == P_OPENING)
			session_cancel_request(p->session, &p->req);
		p->probe = P_IDLE;
		return;
	}
	snprintf(fail, sizeof(fail), "no answer on the jump host's port %d", p->port);
	probe_end(p, fail);
}

static void
probe_start(struct presence_check *p)
{
	if (p->probe != P_IDLE || !session_is_ready(p->session))
		return;
	memset(&p->req, 0, sizeof(p->req));
	p->req.kind = REQ_DIRECT_TCPIP;
	snprintf(p->req.host, sizeof(p->req.host), "%s", p->host);
	p->req.port = p->port;
	snprintf(p->req.orig_host, sizeof(p->req.orig_host), "127.0.0.1");
	p->req.orig_port = 0;
	p->req.done = opened;
	p->probe = P_OPENING;
	uv_timer_start(&p->deadline, deadline_cb, PRESENCE_ANSWER_S * 1000, 0);
	session_request(p->session, &p->req);
}

static void
tick_cb(uv_timer_t *t)
{
	probe_start(t->data);
}

struct presence_check *
presence_check_new(uv_loop_t *loop, struct session *s, const char *host, int port, int interval_s)
{
	struct presence_check *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->session = s;
	snprintf(p->host, sizeof(p->host), "%s", host[0] != '\0' ? host : "localhost");
	p->port = port;
	p->interval_ms = (uint64_t)(interval_s > 0 ? interval_s : 15) * 1000;
	p->client.pump = check_pump;
	p->client.lost = check_lost;
	uv_timer_init(loop, &p->tick);
	uv_timer_init(loop, &p->deadline);
	p->tick.data = p->deadline.data = p;
	uv_timer_start(&p->tick, tick_cb, p->interval_ms, p->interval_ms);
	return p;
}

void
presence_check_ready(struct presence_check *p)
{
	probe_start(p);
}

void
presence_check_info(const struct presence_check *p, struct presence_info *out)
{
	static const char *const states[] = {"unknown", "online", "offline"};

	memset(out, 0, sizeof(*out));
	out->port = p->port;
	out->state = states[p->state];
	out->last_seen = p->last_seen;
	out->offline_since = p->offline_since;
	snprintf(out->why, sizeof(out->why), "%s", p->why);
	snprintf(out->name, sizeof(out->name), "%s", p->name);
}

static void
free_cb(uv_handle_t *h)
{
	struct presence_check *p = h->data;

	/* The two timers close in no set order: the second frees. */
	if (++p->closed == 2)
		free(p);
}

void
presence_check_close(struct presence_check *p)
{
	if (p == NULL)
		return;
	if (p->probe == P_OPENING)
		session_cancel_request(p->session, &p->req);
	session_remove_client(p->session, &p->client);
	if (p->ch != NULL)
		session_release_channel(p->session, p->ch);
	uv_close((uv_handle_t *)&p->tick, free_cb);
	uv_close((uv_handle_t *)&p->deadline, free_cb);
}
