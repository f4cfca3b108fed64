/*
 * A remote forward. States:
 *
 *   IDLE --start--> REQUESTING --server listens--> LISTENING
 *                             \--server refuses--> FAILED (reported once)
 *                             \--refused, but listened before or persist-->
 *                                 IDLE, asked again after 1, 2, 4 ... 64 s
 *   any --cancel--> CANCELLED (cancel-tcpip-forward sent if it listened)
 *
 * While LISTENING it is a session client: every pump accepts the channels
 * libssh2 has queued for its listener and hands each to a new link, and
 * sets the receive window libssh2 opens them with (where libssh2 has
 * scripts/libssh2-patches/06-accept-window.patch; a stock libssh2 opens
 * them with 2 MiB). A cancelled forward keeps its links until they end, as
 * ssh does.
 *
 * A visit is the time from the first connection to the last one closing.
 * NotifyOnConnect shows a desktop notice when one starts and when it ends.
 * ConfirmConnect holds the channels of a new visit (libssh2 keeps their data
 * within the window) while the desktop asks; "Allow" lets them through, and
 * every connection in the next minute or while one is open; anything else
 * closes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "log.h"
#include "notice.h"
#include "rforward.h"
#include "xmalloc.h"

enum rforward_state {
	RF_IDLE,
	RF_REQUESTING,
	RF_LISTENING,
	RF_FAILED,
	RF_CANCELLED,
};

struct rforward {
	struct session_client client;
	struct session_req req;
	uv_loop_t *loop;
	struct session *session;
	struct fwd_spec spec;
	char name[600];
	enum rforward_state state;
	LIBSSH2_LISTENER *listener;
	struct link_list links;
	bool ever_listened; /* a refusal after a reconnect is the old session's port */
	bool persist;	    /* a refusal is retried even before the first success */
	int bound_port;
	unsigned retries;
	uv_timer_t retry;
	rforward_failed_cb failed;
	void *arg;
	rforward_answer_cb answer; /* once, for the next answer to a listen request */
	void *answer_arg;
	bool cancel_pending; /* libssh2 said EAGAIN to the cancel: retried from the pump */
	/* The desktop (see the top): */
	bool notify, confirm;
	unsigned confirm_timeout;    /* seconds */
	struct held *held;	     /* channels waiting for an answer, oldest first */
	struct notice_ask *asking;   /* the question on the desktop, if any */
	uint64_t allowed_until;	     /* loop time: a new connection before it needs no question */
	bool visiting;		     /* a visit is under way (notices only) */
	rforward_channel_cb handler; /* set: channels go there instead (see rforward.h) */
	void *handler_arg;
};

struct held {
	struct held *next;
	LIBSSH2_CHANNEL *ch;
};

#define ALLOW_GRACE_MS 60000 /* after "Allow", connections pass without asking for this long */

static void
start_link(struct rforward *rf, LIBSSH2_CHANNEL *ch)
{
	char body[1400];

	/* To host:port here, or to the Unix socket here (-R port:/path). */
	if (rf->spec.connect_path[0] != '\0')
		link_connect_path(
		    rf->loop, rf->session, ch, rf->name, rf->spec.connect_path, &rf->links);
	else
		link_connect(rf->loop, rf->session, ch, rf->name, rf->spec.host, rf->spec.host_port,
		    &rf->links);
	if (rf->notify && !rf->visiting) {
		snprintf(body, sizeof(body),
		    "Someone connected through the jump host to %s port %u of this computer (%s).",
		    rf->spec.host, rf->spec.host_port, rf->name);
		notice_show(rf->loop, "porthole: remote connection", body);
	}
	rf->visiting = true;
}

static void
end_visit(struct rforward *rf, const char *how)
{
	char body[1400];

	if (!rf->visiting)
		return;
	rf->visiting = false;
	if (rf->notify) {
		snprintf(body, sizeof(body), "The connection to %s port %u %s.", rf->spec.host,
		    rf->spec.host_port, how);
		notice_show(rf->loop, "porthole: remote connection ended", body);
	}
}

/* Channels held for an answer: through, or closed (released: NULL when the session is gone). */
static void
let_held(struct rforward *rf, bool through, bool release)
{
	struct held *h;

	while ((h = rf->held) != NULL) {
		rf->held = h->next;
		if (through)
			start_link(rf, h->ch);
		else if (release)
			session_release_channel(rf->session, h->ch);
		free(h);
	}
}

static void
answer_cb(bool allowed, const char *why, void *arg)
{
	struct rforward *rf = arg;

	rf->asking = NULL;
	if (allowed) {
		log_info("%s: connection allowed on the desktop", rf->name);
		rf->allowed_until = uv_now(rf->loop) + ALLOW_GRACE_MS;
	} else {
		log_info("%s: connection refused: %s", rf->name, why);
	}
	let_held(rf, allowed, true);
	session_wake(rf->session);
}

/* A channel the server opened for this forward: through at once, or held for the desktop. */
static void
arrived(struct rforward *rf, LIBSSH2_CHANNEL *ch)
{
	struct held **pp;
	char body[1400];

	if (rf->handler != NULL) {
		rf->handler(ch, rf->handler_arg);
		return;
	}
	if (!rf->confirm || rf->links.count > 0 || uv_now(rf->loop) < rf->allowed_until) {
		start_link(rf, ch);
		return;
	}
	for (pp = &rf->held; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = xcalloc(1, sizeof(**pp));
	(*pp)->ch = ch;
	if (rf->asking != NULL)
		return;
	log_info("%s: a connection waits to be allowed on the desktop (%u s)", rf->name,
	    rf->confirm_timeout);
	snprintf(body, sizeof(body),
	    "Someone wants to connect through the jump host to %s port %u of this computer "
	    "(%s). Allow it?",
	    rf->spec.host, rf->spec.host_port, rf->name);
	/* Queued first: the answer may come before notice_ask returns. */
	rf->asking = notice_ask(rf->loop, "porthole: allow a remote connection?", body,
	    rf->confirm_timeout, answer_cb, rf);
}

static void
tell(struct rforward *rf, const char *why, int port)
{
	rforward_answer_cb cb = rf->answer;

	rf->answer = NULL;
	if (cb != NULL)
		cb(rf, why, port, rf->answer_arg);
}

/* Sends cancel-tcpip-forward and frees the listener; false while libssh2 says EAGAIN. */
static bool
send_cancel(struct rforward *rf)
{
	int rc = libssh2_channel_forward_cancel(rf->listener);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return false;
	rf->listener = NULL;
	rf->cancel_pending = false;
	if (rc != 0)
		session_check_error(rf->session, rc);
	return true;
}

static bool
rforward_pump(struct session_client *c)
{
	struct rforward *rf = container_of(c, struct rforward, client);
	LIBSSH2_CHANNEL *ch;

	if (rf->cancel_pending) {
		if (send_cancel(rf))
			session_remove_client(rf->session, &rf->client);
		return false;
	}
#ifdef LIBSSH2_PORTHOLE_ACCEPT_WINDOW
	/*
	 * The channels sshd opens from here on start with the window a -L one
	 * would (link.c "The receive window"); libssh2 answers the open as it
	 * reads it, before forward_accept hands it over. Every client is pumped
	 * each pass, so this follows the session's interactive traffic.
	 */
	libssh2_session_set_accept_window(session_ssh(rf->session), link_open_window(rf->session));
#endif
	while ((ch = libssh2_channel_forward_accept(rf->listener)) != NULL)
		arrived(rf, ch);
	if (rf->visiting && rf->links.count == 0 && rf->held == NULL && rf->asking == NULL)
		end_visit(rf, "has ended");
	int rc = libssh2_session_last_errno(session_ssh(rf->session));
	/* "Channel not found" only means nothing was queued (see notes/libssh2.md §4). */
	if (rc != LIBSSH2_ERROR_EAGAIN && rc != LIBSSH2_ERROR_CHANNEL_UNKNOWN && rc != 0)
		session_check_error(rf->session, rc);
	return false;
}

static void
rforward_lost(struct session_client *c)
{
	struct rforward *rf = container_of(c, struct rforward, client);

	/* The listener died with the session, and the channels with it. */
	rf->listener = NULL;
	notice_ask_cancel(rf->asking);
	rf->asking = NULL;
	let_held(rf, false, false);
	end_visit(rf, "ended: the tunnel went down");
	rf->cancel_pending = false;
	if (rf->state != RF_CANCELLED)
		rf->state = RF_IDLE;
}

static void
retry_cb(uv_timer_t *t)
{
	rforward_start(t->data);
}

static void
listen_done(struct session_req *req, const char *why)
{
	struct rforward *rf = container_of(req, struct rforward, req);
	char msg[1024];

	if (req->listener == NULL && !session_is_ready(rf->session)) {
		/* The session died under the request: it is asked again on reconnect. */
		rf->state = RF_IDLE;
		tell(rf, NULL, -1);
		return;
	}
	if (req->listener == NULL && (rf->ever_listened || rf->persist)) {
		/*
		 * After a reconnect, or a restart after a power cut, the server
		 * may still hold the port for a connection of ours it has not
		 * noticed is dead (until its ClientAlive check gives up on it).
		 * SSH does not say why a request failed, so keep asking, slowly.
		 */
		uint64_t delay = 1000ULL << (rf->retries < 6 ? rf->retries : 6);
		rf->retries++;
		rf->state = RF_IDLE;
		if (rf->ever_listened)
			log_info(
			    "%s: the server still holds port %d (the old connection's side has "
			    "not timed out yet); retrying in %llu s",
			    rf->name, req->port, (unsigned long long)(delay / 1000));
		else
			log_info(
			    "%s: the server refused to listen on port %d: it may still hold it "
			    "for an earlier connection it has not seen end (its "
			    "ClientAliveInterval x ClientAliveCountMax), or it does not allow it "
			    "(AllowTcpForwarding, PermitListen); retrying in %llu s",
			    rf->name, req->port, (unsigned long long)(delay / 1000));
		uv_timer_start(&rf->retry, retry_cb, delay, 0);
		return;
	}
	if (req->listener == NULL) {
		rf->state = RF_FAILED;
		snprintf(msg, sizeof(msg),
		    "%s: the server refused to listen on %s:%d (port in use, or remote "
		    "forwarding not allowed: AllowTcpForwarding, PermitListen)",
		    rf->name, req->host[0] ? req->host : "*", req->port);
		log_debug("%s: %s", rf->name, why);
		tell(rf, msg, -1);
		rf->failed(rf, msg, rf->arg);
		return;
	}
	rf->listener = req->listener;
	rf->state = RF_LISTENING;
	rf->bound_port = req->bound_port;
	if (rf->ever_listened)
		log_info("%s: listening again", rf->name);
	rf->ever_listened = true;
	rf->retries = 0;
	if (rf->spec.bind_port == 0) {
		char to[SPEC_HOST_MAX + 16];
		spec_connect_text(&rf->spec, to, sizeof(to));
		log_info("remote port %d -> %s", req->bound_port, to);
	} else
		log_verbose(
		    "%s: the server listens on %s:%d", rf->name, req->host, req->bound_port);
	session_add_client(rf->session, &rf->client);
	session_wake(rf->session);
	tell(rf, NULL, req->bound_port);
}

bool
rforward_settled(const struct rforward *rf)
{
	return rf->ever_listened || rf->state == RF_FAILED || rf->retries > 0;
}

struct rforward *
rforward_new(uv_loop_t *loop, struct session *s, const struct fwd_spec *spec,
    rforward_failed_cb failed, void *arg)
{
	struct rforward *rf = xcalloc(1, sizeof(*rf));

	rf->loop = loop;
	rf->session = s;
	rf->spec = *spec;
	rf->failed = failed;
	rf->arg = arg;
	rf->client.pump = rforward_pump;
	rf->client.lost = rforward_lost;
	uv_timer_init(loop, &rf->retry);
	rf->retry.data = rf;
	spec_name(spec, rf->name, sizeof(rf->name));
	return rf;
}

void
rforward_set_persist(struct rforward *rf, bool persist)
{
	rf->persist = persist;
}

void
rforward_set_desktop(struct rforward *rf, bool notify, bool confirm, unsigned confirm_timeout)
{
	rf->notify = notify;
	rf->confirm = confirm;
	rf->confirm_timeout = confirm_timeout > 0 ? confirm_timeout : 60;
}

void
rforward_set_handler(struct rforward *rf, rforward_channel_cb cb, void *arg, const char *name)
{
	rf->handler = cb;
	rf->handler_arg = arg;
	snprintf(rf->name, sizeof(rf->name), "%s", name);
}

void
rforward_start(struct rforward *rf)
{
	if (rf->state != RF_IDLE || !session_is_ready(rf->session))
		return;
	rf->req.kind = REQ_LISTEN;
	/*
	 * As ssh: without a bind address ask for "localhost" (loopback only);
	 * "" and "*" ask for every interface, which sshd grants only with
	 * GatewayPorts (or clientspecified) on its side.
	 */
	if (!rf->spec.has_bind)
		snprintf(rf->req.host, sizeof(rf->req.host), "localhost");
	else if (spec_bind_is_wildcard(&rf->spec))
		rf->req.host[0] = '\0';
	else
		snprintf(rf->req.host, sizeof(rf->req.host), "%s", rf->spec.bind_host);
	rf->req.port = rf->spec.bind_port;
	rf->req.done = listen_done;
	rf->state = RF_REQUESTING;
	session_request(rf->session, &rf->req);
}

static void
free_cb(uv_handle_t *h)
{
	free(h->data);
}

void
rforward_close(struct rforward *rf)
{
	if (rf == NULL)
		return;
	if (rf->state == RF_REQUESTING)
		session_cancel_request(rf->session, &rf->req);
	session_remove_client(rf->session, &rf->client);
	notice_ask_cancel(rf->asking);
	rf->asking = NULL;
	let_held(rf, false, true);
	link_abort_all(&rf->links);
	uv_close((uv_handle_t *)&rf->retry, free_cb);
}

void
rforward_on_answer(struct rforward *rf, rforward_answer_cb cb, void *arg)
{
	rf->answer = cb;
	rf->answer_arg = arg;
}

int
rforward_bound_port(const struct rforward *rf)
{
	return rf->state == RF_LISTENING ? rf->bound_port : -1;
}

void
rforward_cancel(struct rforward *rf)
{
	LIBSSH2_CHANNEL *ch;

	if (rf->state == RF_CANCELLED)
		return;
	rf->answer = NULL;
	uv_timer_stop(&rf->retry);
	if (rf->state == RF_REQUESTING) {
		/* If the reply is on its way, that listener stays until the session ends. */
		session_cancel_request(rf->session, &rf->req);
	} else if (rf->state == RF_LISTENING) {
		/* What the server has already sent is served; then the queue is empty. */
		while ((ch = libssh2_channel_forward_accept(rf->listener)) != NULL)
			arrived(rf, ch);
		if (send_cancel(rf))
			session_remove_client(rf->session, &rf->client);
		else
			rf->cancel_pending = true;
	}
	rf->state = RF_CANCELLED;
	log_verbose("%s: cancelled (%u connection%s still open)", rf->name, rf->links.count,
	    rf->links.count == 1 ? "" : "s");
}

bool
rforward_is_retired(const struct rforward *rf)
{
	return rf->state == RF_CANCELLED;
}

unsigned
rforward_open_count(const struct rforward *rf)
{
	return rf->links.count;
}

const struct fwd_spec *
rforward_spec(const struct rforward *rf)
{
	return &rf->spec;
}

void
rforward_stats(const struct rforward *rf, struct fwd_stats *out)
{
	static const char *const names[] = {"waiting for the session", "requesting", "listening",
	    "refused", "cancelled, open connections go on"};

	memset(out, 0, sizeof(*out));
	out->name = rf->name;
	out->state = rf->retries > 0 ? "retrying (port still held)" : names[rf->state];
	out->port = rf->state == RF_LISTENING ? rf->bound_port : 0;
	out->open = rf->links.count;
	out->total = rf->links.total;
	out->bytes_up = rf->links.bytes_up;
	out->bytes_down = rf->links.bytes_down;
	out->resets = rf->links.resets;
}
