/*
 * porthole: one SSH session, many forwards. main() turns argv into options,
 * binds the listeners, starts the session and runs the loop; the session's
 * fate and the signals decide the exit status.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>
#include <uv.h>

#include "cli.h"
#include "listener.h"
#include "log.h"
#include "option.h"
#include "session.h"

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_CONNECT = 255,
};

struct app {
	uv_loop_t loop;
	struct options opt;
	struct session *session;
	struct listener **listeners;
	size_t n_listeners;
	uv_signal_t sigint, sigterm;
	bool stopping;
	int exit_status;
};

static void
app_stop(struct app *app, int status)
{
	if (app->stopping)
		return;
	app->stopping = true;
	app->exit_status = status;
	for (size_t i = 0; i < app->n_listeners; i++)
		listener_close(app->listeners[i]);
	app->n_listeners = 0;
	if (app->session != NULL)
		session_stop(app->session);
	uv_close((uv_handle_t *)&app->sigint, NULL);
	uv_close((uv_handle_t *)&app->sigterm, NULL);
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
session_dead_cb(struct session *s, int status, const char *why, void *arg)
{
	struct app *app = arg;

	log_error("%s", why);
	app_stop(app, status);
}

static void
walk_cb(uv_handle_t *h, void *arg)
{
	log_debug("handle still open at exit: %s", uv_handle_type_name(h->type));
}

static int
open_listeners(struct app *app)
{
	char err[1024];
	size_t failed = 0;

	app->listeners = calloc(app->opt.n_forwards ? app->opt.n_forwards : 1,
	    sizeof(*app->listeners));
	if (app->listeners == NULL)
		abort();
	for (size_t i = 0; i < app->opt.n_forwards; i++) {
		struct listener *l;
		enum listener_error rc = listener_open(&app->loop, &app->opt.forwards[i], &app->opt,
		    app->session, &l, err, sizeof(err));
		if (rc == LISTENER_CONFIG) {
			log_error("%s", err);
			return EXIT_USAGE;
		}
		if (rc == LISTENER_RUNTIME) {
			if (app->opt.exit_on_forward_failure == 1) {
				log_error("%s", err);
				return EXIT_RUNTIME;
			}
			log_error("%s", err);
			failed++;
			continue;
		}
		app->listeners[app->n_listeners++] = l;
	}
	if (failed > 0 && app->n_listeners == 0)
		return EXIT_RUNTIME;
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static struct app app;
	char err[1024];
	int rc;

	options_init(&app.opt);
	switch (cli_parse(argc, argv, &app.opt, err, sizeof(err))) {
	case CLI_EXIT:
		options_free(&app.opt);
		return EXIT_OK;
	case CLI_USAGE:
		fprintf(stderr, "porthole: %s\n", err);
		options_free(&app.opt);
		return EXIT_USAGE;
	case CLI_RUN:
		break;
	}
	if (app.opt.log_level != -1)
		log_set_level((enum log_level)app.opt.log_level);
	if (app.opt.strict_hostkey == -1)
		app.opt.strict_hostkey = STRICT_ASK;
	signal(SIGPIPE, SIG_IGN);
	if (libssh2_init(0) != 0) {
		log_error("cannot initialise libssh2");
		return EXIT_RUNTIME;
	}
	uv_loop_init(&app.loop);
	struct session_events ev = {.ready = NULL, .dead = session_dead_cb, .arg = &app};
	app.session = session_new(&app.loop, &app.opt, &ev);
	uv_signal_init(&app.loop, &app.sigint);
	uv_signal_init(&app.loop, &app.sigterm);
	app.sigint.data = app.sigterm.data = &app;
	uv_signal_start(&app.sigint, signal_cb, SIGINT);
	uv_signal_start(&app.sigterm, signal_cb, SIGTERM);

	rc = open_listeners(&app);
	if (rc != EXIT_OK)
		app_stop(&app, rc);
	else
		session_start(app.session);
	uv_run(&app.loop, UV_RUN_DEFAULT);

	session_free(app.session);
	free(app.listeners);
	if (uv_loop_close(&app.loop) != 0) {
		uv_walk(&app.loop, walk_cb, NULL);
		log_debug("event loop not empty at exit");
	}
	libssh2_exit();
	options_free(&app.opt);
	return app.exit_status;
}
