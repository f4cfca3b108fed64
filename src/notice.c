/*
 * Desktop notices: a line shown to whoever sits at this machine, and a
 * question they answer with a click. On Linux through notify-send (the
 * freedesktop notification service: GNOME, KDE, dunst, mako...), on macOS
 * through osascript. Both run as child processes, so the loop never waits
 * for a human.
 *
 * A question's states:
 *
 *   ASKING --"Allow" clicked--> done(allowed)
 *          --closed, "Deny", or the helper program failed--> done(denied, why)
 *          --timeout--> the helper is killed --> done(denied, "nobody answered")
 *   notice_ask_cancel: the helper is killed, done is never called.
 *
 * Anything that is not a clear "Allow" is a refusal: a machine with no one
 * at it, or no notification service, refuses.
 *
 * A service run by systemd --user has no DBUS_SESSION_BUS_ADDRESS unless the
 * user manager exports it; the user bus is at $XDG_RUNTIME_DIR/bus, so the
 * helper gets that address when it has none.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "notice.h"
#include "xmalloc.h"

#define ANSWER_MAX 256
#ifdef __APPLE__
#define HELPER_HINT "part of macOS"
#else
#define HELPER_HINT "Debian: apt install libnotify-bin"
#endif

struct notice_ask {
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	char answer[ANSWER_MAX];
	size_t answer_len;
	int handles; /* open handles; the last close frees */
	bool exited, timed_out, cancelled;
	int64_t exit_status;
	uv_loop_t *loop;
	uint64_t deadline; /* loop time the question expires on the desktop */
	notice_answer_cb done;
	void *arg;
};

struct notice_fire {
	uv_process_t proc;
};

static bool missing_reported;

/* The environment for the helper: ours, plus the user bus if we have no bus address. */
static char **
helper_env(void)
{
	extern char **environ;
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char bus[512];
	struct stat st;
	size_t n = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		env[i] = xstrdup(environ[i]);
	if (getenv("DBUS_SESSION_BUS_ADDRESS") == NULL && rt != NULL && rt[0] == '/') {
		snprintf(bus, sizeof(bus), "%s/bus", rt);
		if (stat(bus, &st) == 0 && S_ISSOCK(st.st_mode)) {
			size_t len = strlen(bus) + sizeof("DBUS_SESSION_BUS_ADDRESS=unix:path=");
			env[n] = xmalloc(len);
			snprintf(env[n], len, "DBUS_SESSION_BUS_ADDRESS=unix:path=%s", bus);
		}
	}
	return env;
}

static void
free_env(char **env)
{
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

#ifdef __APPLE__
/* AppleScript string literal contents: quotes and backslashes escaped. */
static void
applescript_quote(char *out, size_t outlen, const char *s)
{
	size_t j = 0;

	for (; *s != '\0' && j + 3 < outlen; s++) {
		if (*s == '"' || *s == '\\')
			out[j++] = '\\';
		out[j++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
	}
	out[j] = '\0';
}
#endif

static int
spawn(uv_loop_t *loop, uv_process_t *proc, uv_exit_cb exit_cb, uv_pipe_t *out, char **argv)
{
	uv_process_options_t po;
	uv_stdio_container_t stdio[3];
	char **env = helper_env();
	int rc;

	memset(&po, 0, sizeof(po));
	stdio[0].flags = UV_IGNORE;
	if (out != NULL) {
		stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
		stdio[1].data.stream = (uv_stream_t *)out;
	} else {
		stdio[1].flags = UV_IGNORE;
	}
	stdio[2].flags = UV_IGNORE;
	po.file = argv[0];
	po.args = argv;
	po.env = env;
	po.stdio = stdio;
	po.stdio_count = 3;
	po.exit_cb = exit_cb;
	rc = uv_spawn(loop, proc, &po);
	free_env(env);
	if (rc == UV_ENOENT && !missing_reported) {
		missing_reported = true;
		log_error("desktop notices need %s (%s)", argv[0], HELPER_HINT);
	}
	return rc;
}

static void
fire_closed_cb(uv_handle_t *h)
{
	free(container_of((uv_process_t *)h, struct notice_fire, proc));
}

static void
fire_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	if (status != 0 || sig != 0)
		log_debug("desktop notice: the helper ended with status %lld, signal %d",
		    (long long)status, sig);
	uv_close((uv_handle_t *)p, fire_closed_cb);
}

void
notice_show(uv_loop_t *loop, const char *title, const char *body)
{
	struct notice_fire *f = xcalloc(1, sizeof(*f));
#ifdef __APPLE__
	char t[512], b[1024], script[1700];
	applescript_quote(t, sizeof(t), title);
	applescript_quote(b, sizeof(b), body);
	snprintf(script, sizeof(script), "display notification \"%s\" with title \"%s\"", b, t);
	char *argv[] = {"osascript", "-e", script, NULL};
#else
	char *argv[] = {"notify-send", "--app-name=porthole", "--icon=network-transmit-receive",
	    (char *)title, (char *)body, NULL};
#endif
	log_verbose("desktop notice: %s: %s", title, body);
	if (spawn(loop, &f->proc, fire_exit_cb, NULL, argv) != 0) {
		uv_close((uv_handle_t *)&f->proc, fire_closed_cb);
		return;
	}
}

static void
ask_unref(struct notice_ask *a)
{
	if (--a->handles > 0)
		return;
	free(a);
}

static void
ask_closed_cb(uv_handle_t *h)
{
	ask_unref(h->data);
}

static bool
answer_is_allow(const struct notice_ask *a)
{
#ifdef __APPLE__
	return strstr(a->answer, "button returned:Allow") != NULL &&
	    strstr(a->answer, "gave up:true") == NULL;
#else
	/* notify-send --wait prints the key of the action clicked; "default" is Allow. */
	return strncmp(a->answer, "default", 7) == 0;
#endif
}

/* The helper exited and its output is read: answer once. */
static void
ask_finish(struct notice_ask *a)
{
	char why[128];
	bool allowed;

	if (!a->exited || !uv_is_closing((uv_handle_t *)&a->out))
		return;
	uv_timer_stop(&a->timer);
	if (!uv_is_closing((uv_handle_t *)&a->timer))
		uv_close((uv_handle_t *)&a->timer, ask_closed_cb);
	if (a->cancelled)
		return;
	allowed = !a->timed_out && answer_is_allow(a);
	/* The notification service may expire the question itself, a little early. */
	if (!allowed && uv_now(a->loop) + 500 >= a->deadline)
		a->timed_out = true;
	if (a->timed_out)
		snprintf(why, sizeof(why), "nobody answered on the desktop in time");
	else if (!allowed && a->exit_status != 0)
		snprintf(why, sizeof(why),
		    "the desktop could not ask (notification helper status %lld)",
		    (long long)a->exit_status);
	else
		snprintf(why, sizeof(why), "refused on the desktop");
	a->done(allowed, allowed ? NULL : why, a->arg);
}

static void
ask_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct notice_ask *a = h->data;
	size_t room = sizeof(a->answer) - 1 - a->answer_len;

	*buf = uv_buf_init(a->answer + a->answer_len, (unsigned)room);
	(void)suggested;
}

static void
ask_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct notice_ask *a = s->data;

	if (n > 0) {
		a->answer_len += (size_t)n;
		a->answer[a->answer_len] = '\0';
		if (a->answer_len + 1 < sizeof(a->answer))
			return;
	}
	if (n == 0)
		return;
	uv_close((uv_handle_t *)&a->out, ask_closed_cb);
	ask_finish(a);
	(void)buf;
}

static void
ask_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct notice_ask *a = p->data;

	a->exited = true;
	a->exit_status = sig != 0 ? 128 + sig : status;
	uv_close((uv_handle_t *)p, ask_closed_cb);
	ask_finish(a);
}

static void
ask_timeout_cb(uv_timer_t *t)
{
	struct notice_ask *a = t->data;

	a->timed_out = true;
	if (!a->exited) /* its pid may belong to another process by now */
		uv_process_kill(&a->proc, SIGTERM);
}

struct notice_ask *
notice_ask(uv_loop_t *loop, const char *title, const char *body, unsigned timeout_s,
    notice_answer_cb done, void *arg)
{
	struct notice_ask *a = xcalloc(1, sizeof(*a));
	char expire[32];
	int rc;

	a->done = done;
	a->arg = arg;
	a->loop = loop;
	a->deadline = uv_now(loop) + (uint64_t)timeout_s * 1000;
	a->proc.data = a->out.data = a->timer.data = a;
	uv_pipe_init(loop, &a->out, 0);
	uv_timer_init(loop, &a->timer);
	a->handles = 2;
	snprintf(expire, sizeof(expire), "--expire-time=%u", timeout_s * 1000);
#ifdef __APPLE__
	char t[512], b[1024], script[1800];
	applescript_quote(t, sizeof(t), title);
	applescript_quote(b, sizeof(b), body);
	snprintf(script, sizeof(script),
	    "display dialog \"%s\" with title \"%s\" buttons {\"Deny\", \"Allow\"} default button "
	    "\"Deny\" giving up after %u",
	    b, t, timeout_s);
	char *argv[] = {"osascript", "-e", script, NULL};
	(void)expire;
#else
	char *argv[] = {"notify-send", "--app-name=porthole", "--urgency=critical", "--wait",
	    "--action=default=Allow", "--action=deny=Deny", expire, (char *)title, (char *)body,
	    NULL};
#endif
	log_verbose("desktop question: %s: %s", title, body);
	rc = spawn(loop, &a->proc, ask_exit_cb, &a->out, argv);
	if (rc != 0) {
		char why[160];
		snprintf(why, sizeof(why), "the desktop could not ask (%s: %s)", argv[0],
		    uv_strerror(rc));
		/* uv_spawn initialised the process handle even though it failed. */
		a->handles++;
		a->cancelled = true;
		uv_close((uv_handle_t *)&a->proc, ask_closed_cb);
		uv_close((uv_handle_t *)&a->out, ask_closed_cb);
		uv_close((uv_handle_t *)&a->timer, ask_closed_cb);
		done(false, why, arg);
		return NULL;
	}
	a->handles++;
	uv_read_start((uv_stream_t *)&a->out, ask_alloc_cb, ask_read_cb);
	/* The helper's own expiry may be ignored by the server: ours is the one that counts. */
	uv_timer_start(&a->timer, ask_timeout_cb, (uint64_t)timeout_s * 1000 + 500, 0);
	return a;
}

void
notice_ask_cancel(struct notice_ask *a)
{
	if (a == NULL)
		return;
	a->cancelled = true;
	if (!a->exited)
		uv_process_kill(&a->proc, SIGTERM);
}
