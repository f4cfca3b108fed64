/*
 * A running porthole: the session, the forwards over it, the control socket
 * and the signals, on one libuv loop. app_run() returns when it stops, with
 * the exit status: 0 for a signal, 1 when a forward could not be set up
 * (ExitOnForwardFailure, or none left), 255 when the session is lost for
 * good (no Reconnect, or the host key or credentials were refused).
 *
 * The control socket also changes it while it runs (porthole -O): forwards
 * are added and cancelled, and a cancelled forward is "retired": it no
 * longer listens but stays, shown in status, until its open connections
 * have ended (the reaper timer then frees it).
 *
 * Reconnecting: 1 s doubling up to ReconnectMaxDelay while nothing needs
 * the session. A connection that arrives while it is down brings the next
 * attempt forward to now, and while connections wait the attempts come
 * every WAITING_RETRY_MS: the wait is as short as the server allows.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <uv.h>

#include "app.h"
#include "chain.h"
#include "ctlsock.h"
#include "detach.h"
#include "fdlimit.h"
#include "hostkey.h"
#include "listener.h"
#include "log.h"
#include "presence.h"
#include "relayhub.h"
#include "rforward.h"
#include "session.h"
#include "status.h"
#include "tty.h"
#include "udpfwd.h"
#include "xmalloc.h"

#define WAITING_RETRY_MS 1000 /* attempts at most this often, at least this often while waiting */

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
};

/* A -O forward -R waiting for the server's answer before it answers its client. */
struct pending {
	struct pending *next;
	struct app *app;
	struct ctlsock_reply *reply;
	struct rforward *rf;
};

struct app {
	uv_loop_t loop;
	struct settings *st;
	struct chain *chain;	 /* the sessions: jump hosts, then the destination */
	struct session *session; /* the destination's, which the forwards use */
	struct listener **listeners;
	size_t n_listeners, cap_listeners;
	struct rforward **rforwards;
	size_t n_rforwards, cap_rforwards;
	struct pending *pending;
	uv_timer_t reaper;    /* frees retired forwards once their connections have ended */
	bool draining;	      /* -O stop: exit once no connection is left */
	struct udpfwd *udp;   /* every /udp forward; NULL if none */
	struct relayhub *hub; /* the session's relay: UDP's and TCP streams' */
	struct ctlsock *control;
	struct presence_responder *responder; /* PresenceListen's answers; NULL if none */
	struct presence_check *presence;      /* PresenceCheck; NULL if none */
	char name[512];			      /* the profile, or user@host:port, for status */
	time_t started;
	size_t n_failed; /* forwards that could not be set up */
	uv_signal_t sigint, sigterm;
	uv_timer_t reconnect; /* the backoff before the next connection attempt */
	uv_timer_t stop_soon; /* stops from a fresh stack (see forward_failed) */
	uv_prepare_t detach;  /* -f: goes to the background once everything is up */
	unsigned attempt;     /* failed attempts since the last healthy minute */
	uint64_t attempt_at;  /* loop time of the last connection attempt */
	uint64_t ready_at;    /* loop time the session last became ready */
	bool stopping;
	int exit_status;
};

/* Answers a held -O request and forgets it. */
static void pending_answer(struct pending *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pending_answer(struct pending *p, const char *fmt, ...)
{
	struct pending **pp = &p->app->pending;
	char text[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_printf(ctlsock_reply_buf(p->reply), "%s\n", text);
	ctlsock_reply_send(p->reply);
	rforward_on_answer(p->rf, NULL, NULL);
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	free(p);
}

static void
app_stop(struct app *app, int status)
{
	if (app->stopping)
		return;
	app->stopping = true;
	app->exit_status = status;
	while (app->pending != NULL)
		pending_answer(app->pending, "error: porthole is stopping");
	uv_close((uv_handle_t *)&app->reaper, NULL);
	for (size_t i = 0; i < app->n_listeners; i++)
		listener_close(app->listeners[i]);
	app->n_listeners = 0;
	for (size_t i = 0; i < app->n_rforwards; i++)
		rforward_close(app->rforwards[i]);
	app->n_rforwards = 0;
	presence_responder_free(app->responder);
	app->responder = NULL;
	presence_check_close(app->presence);
	app->presence = NULL;
	udpfwd_close(app->udp);
	app->udp = NULL;
	relayhub_free(app->hub);
	app->hub = NULL;
	ctlsock_close(app->control);
	app->control = NULL;
	if (app->chain != NULL)
		chain_stop(app->chain);
	uv_close((uv_handle_t *)&app->sigint, NULL);
	uv_close((uv_handle_t *)&app->sigterm, NULL);
	uv_close((uv_handle_t *)&app->reconnect, NULL);
	uv_close((uv_handle_t *)&app->stop_soon, NULL);
	uv_close((uv_handle_t *)&app->detach, NULL);
}

static void
signal_cb(uv_signal_t *h, int signum)
{
	struct app *app = h->data;

	if (app->stopping) {
		/* A second signal while stopping: stop waiting. */
		_exit(app->exit_status);
	}
	log_verbose("%s: stopping", signum == SIGINT ? "interrupted" : "terminated");
	app_stop(app, EXIT_OK);
}

static void
reconnect_cb(uv_timer_t *t)
{
	struct app *app = t->data;

	log_verbose("reconnecting (attempt %u)", app->attempt);
	app->attempt_at = uv_now(&app->loop);
	chain_reconnect(app->chain);
}

/* With connections waiting: WAITING_RETRY_MS after the last attempt, or now. */
static uint64_t
waiting_delay_ms(struct app *app)
{
	uint64_t now = uv_now(&app->loop), next = app->attempt_at + WAITING_RETRY_MS;

	return next > now ? next - now : 0;
}

/*
 * The next delay: 1 s doubling up to ReconnectMaxDelay, with +-25% jitter so
 * that many family machines do not all knock at once after an outage.
 */
static uint64_t
backoff_ms(struct app *app)
{
	uint64_t max =
	    (uint64_t)(app->st->opt.reconnect_max_delay >= 0 ? app->st->opt.reconnect_max_delay
							     : 60) *
	    1000;
	uint64_t delay = 1000;

	for (unsigned i = 1; i < app->attempt && delay < max; i++)
		delay *= 2;
	if (delay > max)
		delay = max;
	if (delay < 1000)
		delay = 1000;
	return delay * 3 / 4 + (uint64_t)rand() % (delay / 2 + 1);
}

static void
session_dead_cb(struct session *s, int status, bool permanent, const char *why, void *arg)
{
	struct app *app = arg;

	if (app->stopping)
		return;
	/* -f: a failure before the first success is final, as ssh's exit status says. */
	if (app->st->opt.reconnect != 1 || permanent || detach_pending()) {
		log_error("%s", why);
		app_stop(app, status);
		return;
	}
	/* A session that was healthy for a minute starts the backoff over. */
	if (app->ready_at != 0 && uv_now(&app->loop) - app->ready_at >= 60000)
		app->attempt = 0;
	app->ready_at = 0;
	uint64_t delay;
	if (session_has_waiting(s)) {
		/* Connections wait: no backoff (and the backoff does not grow meanwhile). */
		delay = waiting_delay_ms(app);
	} else {
		app->attempt++;
		delay = backoff_ms(app);
	}
	log_error("%s; reconnecting in %.1f s", why, (double)delay / 1000);
	uv_timer_start(&app->reconnect, reconnect_cb, delay, 0);
}

/* A connection arrived while the session is down: try again now (or 1 s after the last try). */
static void
session_waiting_cb(struct session *s, void *arg)
{
	struct app *app = arg;

	if (app->stopping || !uv_is_active((uv_handle_t *)&app->reconnect))
		return;
	uint64_t delay = waiting_delay_ms(app);
	if (delay >= uv_timer_get_due_in(&app->reconnect))
		return;
	log_verbose("a connection is waiting: reconnecting in %.1f s", (double)delay / 1000);
	uv_timer_start(&app->reconnect, reconnect_cb, delay, 0);
}

static void
session_ready_cb(struct session *s, void *arg)
{
	struct app *app = arg;

	app->ready_at = uv_now(&app->loop);
	for (size_t i = 0; i < app->n_rforwards; i++)
		rforward_start(app->rforwards[i]);
	if (app->udp != NULL)
		udpfwd_session_ready(app->udp);
	if (app->hub != NULL)
		relayhub_session_ready(app->hub);
	if (app->presence != NULL)
		presence_check_ready(app->presence);
}

/*
 * -f: before the loop waits for I/O (so after every change), until up: the session ready and every
 * forward set up or refused (with ExitOnForwardFailure a refusal stops porthole instead, through
 * stop_soon, before this looks).
 */
static void
detach_cb(uv_prepare_t *h)
{
	struct app *app = h->data;

	if (app->stopping || !session_is_ready(app->session) ||
	    uv_is_active((uv_handle_t *)&app->stop_soon))
		return;
	if (app->st->opt.exit_on_forward_failure == 1 && app->n_failed > 0)
		return;
	for (size_t i = 0; i < app->n_rforwards; i++)
		if (!rforward_settled(app->rforwards[i]))
			return;
	if (app->udp != NULL && !udpfwd_settled(app->udp))
		return;
	uv_prepare_stop(h);
	log_verbose("going to the background (pid %ld)", (long)getpid());
	/* As ssh: stderr stays open only for -v logging to it. */
	detach_done(log_on_stderr() && log_get_level() >= LOG_DEBUG1);
}

static void
stop_soon_cb(uv_timer_t *t)
{
	struct app *app = t->data;

	app_stop(app, app->exit_status);
}

/*
 * An instance that stays up (Reconnect) keeps asking for a remote port the
 * server refused, unless ExitOnForwardFailure says a refusal is fatal.
 */
static bool
persist_forwards(const struct options *o)
{
	return o->reconnect == 1 && o->exit_on_forward_failure != 1;
}

/* A forward could not be set up: fatal with ExitOnForwardFailure, or when none is left. */
static void
forward_failed(struct app *app, const char *why)
{
	log_error("%s", why);
	app->n_failed++;
	if (app->st->opt.exit_on_forward_failure == 1 || app->n_failed == app->st->opt.n_forwards) {
		/*
		 * The failure is reported from deep inside a forward's callback
		 * (the relay's frame dispatch, a listen reply); stopping frees
		 * those objects, so it happens on the next loop turn instead.
		 */
		app->exit_status = EXIT_RUNTIME;
		uv_timer_start(&app->stop_soon, stop_soon_cb, 0, 0);
	}
}

static void
on_rforward_failed(struct rforward *rf, const char *why, void *arg)
{
	forward_failed(arg, why);
}

static void
on_udp_failed(const char *why, void *arg)
{
	forward_failed(arg, why);
}

static void
push_listener(struct app *app, struct listener *l)
{
	if (app->n_listeners == app->cap_listeners) {
		app->cap_listeners = app->cap_listeners ? app->cap_listeners * 2 : 8;
		app->listeners = xrealloc(app->listeners, app->cap_listeners * sizeof(l));
	}
	app->listeners[app->n_listeners++] = l;
}

static void
push_rforward(struct app *app, struct rforward *rf)
{
	if (app->n_rforwards == app->cap_rforwards) {
		app->cap_rforwards = app->cap_rforwards ? app->cap_rforwards * 2 : 8;
		app->rforwards = xrealloc(app->rforwards, app->cap_rforwards * sizeof(rf));
	}
	app->rforwards[app->n_rforwards++] = rf;
}

static void
drop_rforward(struct app *app, struct rforward *rf)
{
	for (size_t i = 0; i < app->n_rforwards; i++) {
		if (app->rforwards[i] == rf) {
			memmove(&app->rforwards[i], &app->rforwards[i + 1],
			    (app->n_rforwards - i - 1) * sizeof(rf));
			app->n_rforwards--;
			rforward_close(rf);
			return;
		}
	}
}

/* Frees retired forwards whose connections have ended; after -O stop, stops when none is left. */
static void
reaper_cb(uv_timer_t *t)
{
	struct app *app = t->data;
	bool retired = false;

	for (size_t i = 0; i < app->n_listeners;) {
		struct listener *l = app->listeners[i];
		if (listener_is_retired(l) && listener_open_count(l) == 0) {
			memmove(&app->listeners[i], &app->listeners[i + 1],
			    (app->n_listeners - i - 1) * sizeof(l));
			app->n_listeners--;
			listener_close(l);
			continue;
		}
		retired = retired || listener_is_retired(l);
		i++;
	}
	for (size_t i = 0; i < app->n_rforwards;) {
		struct rforward *rf = app->rforwards[i];
		if (rforward_is_retired(rf) && rforward_open_count(rf) == 0) {
			drop_rforward(app, rf); /* the next one moves into slot i */
			continue;
		}
		retired = retired || rforward_is_retired(rf);
		i++;
	}
	if (app->draining && app->n_listeners == 0 && app->n_rforwards == 0) {
		log_info("stopped listening (-O stop) and no connection is left: stopping");
		app_stop(app, EXIT_OK);
		return;
	}
	if (!retired)
		uv_timer_stop(&app->reaper);
}

static void
reap_soon(struct app *app)
{
	uv_timer_start(&app->reaper, reaper_cb, 0, 1000);
}

static void
on_added_rforward_failed(struct rforward *rf, const char *why, void *arg)
{
	/* The -O client hears why (pending_answer); the instance goes on without it. */
	log_error("%s", why);
	drop_rforward(arg, rf);
}

static void
added_rforward_answer(struct rforward *rf, const char *why, int port, void *arg)
{
	struct pending *p = arg;

	if (why != NULL)
		pending_answer(p, "error: %s", why);
	else if (port < 0)
		pending_answer(p, "ok pending");
	else if (rforward_spec(rf)->bind_port == 0)
		pending_answer(p, "ok port=%d", port);
	else
		pending_answer(p, "ok");
}

/* The forward spec names, not retired; NULL if none. */
static void *
find_forward(struct app *app, const struct fwd_spec *spec, bool *remote)
{
	*remote = spec->kind == FWD_REMOTE;
	for (size_t i = 0; i < app->n_listeners && !*remote; i++)
		if (!listener_is_retired(app->listeners[i]) &&
		    spec_same(listener_spec(app->listeners[i]), spec))
			return app->listeners[i];
	for (size_t i = 0; i < app->n_rforwards && *remote; i++)
		if (!rforward_is_retired(app->rforwards[i]) &&
		    spec_same(rforward_spec(app->rforwards[i]), spec))
			return app->rforwards[i];
	return NULL;
}

/* -O forward. Returns true if the answer comes later (a -R waits for the server). */
static bool
control_forward(struct app *app, struct ctlsock_reply *r, const struct fwd_spec *spec)
{
	struct buf *out = ctlsock_reply_buf(r);
	char name[600], err[1024];
	bool remote;
	void *found = find_forward(app, spec, &remote);
	struct listener *l;

	spec_name(spec, name, sizeof(name));
	if (app->draining) {
		buf_printf(out, "error: %s: porthole is stopping (-O stop)\n", name);
		return false;
	}
	if (spec->udp) {
		buf_printf(out,
		    "error: %s: UDP forwards cannot be added to a running porthole yet\n", name);
		return false;
	}
	if (found != NULL) {
		/* As ssh: asking again for a forward that is there succeeds. */
		int port = remote ? rforward_bound_port(found) : -1;
		if (remote && spec->bind_port == 0 && port > 0)
			buf_printf(out, "ok port=%d\n", port);
		else
			buf_printf(out, "ok\n");
		return false;
	}
	if (remote) {
		struct rforward *rf =
		    rforward_new(&app->loop, app->session, spec, on_added_rforward_failed, app);
		push_rforward(app, rf);
		log_info("%s: added (-O forward)", name);
		if (!session_is_ready(app->session)) {
			buf_printf(out, "ok pending\n");
			return false;
		}
		struct pending *p = xcalloc(1, sizeof(*p));
		*p = (struct pending){app->pending, app, r, rf};
		app->pending = p;
		rforward_on_answer(rf, added_rforward_answer, p);
		rforward_start(rf);
		return true;
	}
	if (spec->kind == FWD_DYNAMIC && app->udp == NULL) {
		/* As at startup: a SOCKS proxy serves UDP ASSOCIATE through the relay. */
		app->udp = udpfwd_new(&app->loop, app->session, relayhub_chan(app->hub),
		    &app->st->opt, on_udp_failed, app);
		if (session_is_ready(app->session))
			udpfwd_session_ready(app->udp);
	}
	switch (listener_open(
	    &app->loop, spec, &app->st->opt, app->session, app->udp, &l, err, sizeof(err))) {
	case LISTENER_OK:
		listener_set_relay(l, app->hub);
		push_listener(app, l);
		log_info("%s: added (-O forward)", name);
		buf_printf(out, "ok\n");
		break;
	case LISTENER_CONFIG:
	case LISTENER_RUNTIME:
		buf_printf(out, "error: %s\n", err);
		break;
	}
	return false;
}

/* -O cancel: stops listening; the connections it has go on (as ssh). */
static void
control_cancel(struct app *app, struct buf *out, const struct fwd_spec *spec)
{
	char name[600];
	bool remote;
	void *found = find_forward(app, spec, &remote);

	spec_name(spec, name, sizeof(name));
	if (spec->udp) {
		buf_printf(out,
		    "error: %s: UDP forwards cannot be cancelled in a running porthole yet\n",
		    name);
		return;
	}
	if (found == NULL) {
		buf_printf(out, "error: %s: no such forward\n", name);
		return;
	}
	log_info("%s: cancelled (-O cancel)", name);
	if (remote) {
		for (struct pending *p = app->pending; p != NULL; p = p->next) {
			if (p->rf == found) {
				pending_answer(p, "error: %s: cancelled", name);
				break;
			}
		}
		rforward_cancel(found);
	} else {
		listener_stop_listening(found);
	}
	reap_soon(app);
	buf_printf(out, "ok\n");
}

/* -O stop: no new connections; stop once the open ones have ended. */
static void
control_stop(struct app *app, struct buf *out)
{
	log_info("stop listening requested (-O stop): stopping once the open connections end");
	app->draining = true;
	for (size_t i = 0; i < app->n_listeners; i++)
		listener_stop_listening(app->listeners[i]);
	while (app->pending != NULL)
		pending_answer(app->pending, "error: porthole is stopping (-O stop)");
	for (size_t i = 0; i < app->n_rforwards; i++)
		rforward_cancel(app->rforwards[i]);
	reap_soon(app);
	buf_printf(out, "ok stopping\n");
}

static void
control_cb(struct ctlsock_reply *r, const struct control_request *req, void *arg)
{
	struct app *app = arg;
	struct buf *out = ctlsock_reply_buf(r);
	struct status_relay relay = {0};
	struct status_view v = {app->name, (long long)getpid(), app->started, app->session,
	    app->listeners, app->n_listeners, app->rforwards, app->n_rforwards, app->udp,
	    app->chain, app->presence, NULL};

	if (app->hub != NULL) {
		relay.state = relayhub_state(app->hub, &relay.streams);
		relay.streams_open = rstreams_count(relayhub_streams(app->hub));
		v.relay = &relay;
	}

	switch (req->verb) {
	case CONTROL_STATUS:
		status_report(&v, out, req->json);
		break;
	case CONTROL_PING:
		buf_printf(out, "pong\n");
		break;
	case CONTROL_CHECK:
		buf_printf(out, "ok pid=%ld\n", (long)getpid());
		break;
	case CONTROL_EXIT:
		log_info("exit requested (-O exit)");
		buf_printf(out, "ok exiting\n");
		app->exit_status = EXIT_OK;
		uv_timer_start(&app->stop_soon, stop_soon_cb, 0, 0);
		break;
	case CONTROL_STOP:
		control_stop(app, out);
		break;
	case CONTROL_FORWARD:
		if (control_forward(app, r, &req->spec))
			return;
		break;
	case CONTROL_CANCEL:
		control_cancel(app, out, &req->spec);
		break;
	}
	ctlsock_reply_send(r);
}

/*
 * The control socket. A profile has at most one instance: a live socket of
 * the same name means it runs already. Without a usable socket directory
 * porthole still runs, just without status.
 */
static int
open_control(struct app *app)
{
	const struct options *o = &app->st->opt;
	bool profile = app->st->profile != NULL;
	char file[600], err[1024], *path;

	status_instance_name(o, profile, app->name, sizeof(app->name));
	if (o->control_path != NULL) {
		path = hostkey_expand_path(o->control_path);
	} else {
		char *dir = ctlsock_dir();
		if (ctlsock_prepare_dir(dir, err, sizeof(err)) == -1) {
			log_error(
			    "no control socket (porthole status cannot see this instance): %s",
			    err);
			free(dir);
			return 0;
		}
		status_socket_name(app->name, profile, file, sizeof(file));
		path = xmalloc(strlen(dir) + strlen(file) + 2);
		sprintf(path, "%s/%s", dir, file);
		free(dir);
	}
	int rc = ctlsock_open(&app->loop, path, control_cb, app, &app->control, err, sizeof(err));
	if (rc == -2) {
		log_error("%s is already running (control socket %s)", app->name, path);
		free(path);
		return -1;
	}
	if (rc == -1)
		log_info("no control socket: %s", err);
	else
		log_debug("control socket %s", path);
	free(path);
	return 0;
}

static void
walk_cb(uv_handle_t *h, void *arg)
{
	log_debug("handle still open at exit: %s", uv_handle_type_name(h->type));
}

/*
 * PresenceListen: a remote forward whose channels the responder answers;
 * PresenceCheck: the periodic check (presence.h). option.c checked both.
 */
static void
open_presence(struct app *app)
{
	const struct options *o = &app->st->opt;
	char host[256], err[128], name[sizeof(app->name)], label[300];
	int port;

	if (o->presence_listen != NULL &&
	    option_parse_hostport(
		o->presence_listen, host, sizeof(host), &port, err, sizeof(err)) == 0) {
		struct fwd_spec spec;
		memset(&spec, 0, sizeof(spec));
		spec.kind = FWD_REMOTE;
		spec.has_bind = host[0] != '\0';
		snprintf(spec.bind_host, sizeof(spec.bind_host), "%s", host);
		spec.bind_port = (uint16_t)port;
		/* The machine's name: its profile is named for the helper ("helper"). */
		if (gethostname(name, sizeof(name)) != 0 || name[0] == '\0')
			snprintf(name, sizeof(name), "%s", app->name);
		name[sizeof(name) - 1] = '\0';
		app->responder = presence_responder_new(app->session, name);
		struct rforward *rf =
		    rforward_new(&app->loop, app->session, &spec, on_rforward_failed, app);
		rforward_set_persist(rf, persist_forwards(o));
		snprintf(label, sizeof(label), "presence answers (-R %s%s%d)", host,
		    host[0] ? ":" : "", port);
		rforward_set_handler(rf, presence_responder_take, app->responder, label);
		push_rforward(app, rf);
	}
	if (o->presence_check != NULL &&
	    option_parse_hostport(o->presence_check, host, sizeof(host), &port, err, sizeof(err)) ==
		0)
		app->presence = presence_check_new(
		    &app->loop, app->session, host, port, o->server_alive_interval);
}

/* Binds the -L listeners and prepares the -R forwards (requested once connected). */
static int
open_forwards(struct app *app)
{
	char err[1024];
	bool tcp = false;
	for (size_t i = 0; i < app->st->opt.n_forwards; i++) {
		const struct fwd_spec *spec = &app->st->opt.forwards[i];
		tcp |= !spec->udp &&
		    (spec->kind == FWD_DYNAMIC ||
			(spec->kind == FWD_LOCAL && spec->connect_path[0] == '\0'));
	}
	/* One relay per session: UDP forwards, SOCKS's UDP ASSOCIATE and TCP streams share it. */
	app->hub = relayhub_new(&app->loop, app->session, &app->st->opt, tcp);
	for (size_t i = 0; i < app->st->opt.n_forwards && app->udp == NULL; i++)
		if (app->st->opt.forwards[i].udp || app->st->opt.forwards[i].kind == FWD_DYNAMIC)
			app->udp = udpfwd_new(&app->loop, app->session, relayhub_chan(app->hub),
			    &app->st->opt, on_udp_failed, app);
	for (size_t i = 0; i < app->st->opt.n_forwards && !app->stopping; i++) {
		const struct fwd_spec *spec = &app->st->opt.forwards[i];
		struct listener *l;
		if (spec->udp) {
			int rc = udpfwd_add(app->udp, spec, err, sizeof(err));
			if (rc == -2) {
				log_error("%s", err);
				app_stop(app, EXIT_USAGE);
			} else if (rc == -1) {
				forward_failed(app, err);
			}
			continue;
		}
		if (spec->kind == FWD_REMOTE) {
			struct rforward *rf =
			    rforward_new(&app->loop, app->session, spec, on_rforward_failed, app);
			/* Staying up: a port the server still holds is asked for again. */
			rforward_set_persist(rf, persist_forwards(&app->st->opt));
			rforward_set_desktop(rf, app->st->opt.notify_on_connect == 1,
			    app->st->opt.confirm_connect == 1,
			    app->st->opt.confirm_timeout > 0
				? (unsigned)app->st->opt.confirm_timeout
				: 60);
			push_rforward(app, rf);
			continue;
		}
		switch (listener_open(&app->loop, spec, &app->st->opt, app->session, app->udp, &l,
		    err, sizeof(err))) {
		case LISTENER_OK:
			listener_set_relay(l, app->hub);
			push_listener(app, l);
			break;
		case LISTENER_CONFIG:
			log_error("%s", err);
			app_stop(app, EXIT_USAGE);
			break;
		case LISTENER_RUNTIME:
			forward_failed(app, err);
			break;
		}
	}
	if (!app->stopping)
		open_presence(app);
	/* At startup there is no callback on the stack: a fatal failure stops now. */
	if (uv_is_active((uv_handle_t *)&app->stop_soon)) {
		uv_timer_stop(&app->stop_soon);
		app_stop(app, app->exit_status);
	}
	return app->stopping ? app->exit_status : EXIT_OK;
}

int
app_run(struct settings *st)
{
	static struct app a;
	struct app *app = &a;

	app->st = st;
	if (st->opt.strict_hostkey == -1)
		st->opt.strict_hostkey = STRICT_ASK;
	tty_set_batch(st->opt.batch_mode == 1);
	signal(SIGPIPE, SIG_IGN);
	fdlimit_raise();
	if (st->opt.fork_after_auth == 1) {
		char err[256];
		if (detach_fork(err, sizeof(err)) == -1) {
			log_error("%s", err);
			return 255;
		}
	}
	if (libssh2_init(0) != 0) {
		log_error("cannot initialise libssh2");
		return EXIT_RUNTIME;
	}
	uv_loop_init(&app->loop);
	struct session_events ev = {.ready = session_ready_cb,
	    .dead = session_dead_cb,
	    .waiting = session_waiting_cb,
	    .arg = app};
	char err[1024];
	app->chain = chain_new(&app->loop, &st->opt, &ev, err, sizeof(err));
	if (app->chain == NULL) {
		log_error("%s", err);
		uv_loop_close(&app->loop);
		libssh2_exit();
		return EXIT_USAGE;
	}
	app->session = chain_session(app->chain);
	uv_timer_init(&app->loop, &app->reconnect);
	uv_timer_init(&app->loop, &app->stop_soon);
	uv_timer_init(&app->loop, &app->reaper);
	uv_prepare_init(&app->loop, &app->detach);
	app->reconnect.data = app->stop_soon.data = app->reaper.data = app->detach.data = app;
	if (detach_pending())
		uv_prepare_start(&app->detach, detach_cb);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	chain_set_reconnect(app->chain, st->opt.reconnect == 1);
	uv_signal_init(&app->loop, &app->sigint);
	uv_signal_init(&app->loop, &app->sigterm);
	app->sigint.data = app->sigterm.data = app;
	uv_signal_start(&app->sigint, signal_cb, SIGINT);
	uv_signal_start(&app->sigterm, signal_cb, SIGTERM);

	app->started = time(NULL);
	if (open_control(app) == -1)
		app_stop(app, EXIT_RUNTIME);
	else if (open_forwards(app) == EXIT_OK) {
		app->attempt_at = uv_now(&app->loop);
		chain_start(app->chain);
	}
	uv_run(&app->loop, UV_RUN_DEFAULT);

	chain_free(app->chain);
	free(app->listeners);
	free(app->rforwards);
	if (uv_loop_close(&app->loop) != 0) {
		uv_walk(&app->loop, walk_cb, NULL);
		log_debug("event loop not empty at exit");
	}
	libssh2_exit();
	return app->exit_status;
}
