/*
 * The ProxyCommand transport.
 *
 *   IDLE --spawned--> UP --stdout EOF, exit and stderr EOF (or 2 s)--> DONE
 *   IDLE --cannot expand or spawn--> DONE
 *
 * Like ssh, the stream is up as soon as the command runs: whether it
 * reached anything shows in the SSH banner. Writes go out with
 * uv_try_write, the rest through uv_write with a copy (queued counts it),
 * so the caller never waits. close() hangs the command up (SIGHUP, as ssh
 * does) and frees everything once the process and pipe handles have closed.
 *
 * A pipe has no TCP_NOTSENT_LOWAT (tcpdial.c sets it on the TCP transport):
 * what the command has not read yet waits in the pipe's buffer (64 KiB on
 * Linux) and in whatever the command itself buffers, which porthole cannot
 * bound; the session's own marks (session.c) still apply.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proxycmd.h"
#include "xmalloc.h"

#define COMMAND_MAX 8192
#define EXIT_WAIT_MS 2000 /* after stdout EOF, how long to wait for the exit status */

enum proxy_state {
	PROXY_IDLE,
	PROXY_UP,
	PROXY_DONE,
};

struct proxycmd {
	struct transport t;
	enum proxy_state state;
	char *command; /* its %-tokens already expanded (settings.c) */
	char *host;
	int port;
	uv_process_t proc;
	uv_pipe_t in, out, err; /* the child's stdin, stdout, stderr */
	uv_timer_t timer;
	bool spawned, exited, out_eof, err_eof, reading, closing;
	int64_t exit_status;
	int term_signal;
	char line[512]; /* the stderr line being read */
	size_t line_len;
	char last_line[512]; /* the last complete non-empty stderr line */
	int handles;	     /* open libuv handles; freed at 0 */
};

struct write_req {
	uv_write_t req;
	struct proxycmd *p;
	size_t len;
	char data[];
};

static void
handle_closed_cb(uv_handle_t *h)
{
	struct proxycmd *p = h->data;

	if (--p->handles > 0)
		return;
	free(p->command);
	free(p->host);
	free(p);
}

static void
close_handle(struct proxycmd *p, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_closed_cb);
}

static void
finish(struct proxycmd *p, int err, const char *why)
{
	if (p->state == PROXY_DONE)
		return;
	p->state = PROXY_DONE;
	uv_timer_stop(&p->timer);
	if (!p->closing && p->t.ev->closed != NULL)
		p->t.ev->closed(&p->t, err, why);
}

/* The command is done with: say how, with its last words. */
static void
report_end(struct proxycmd *p)
{
	char why[COMMAND_MAX + 700], how[64];

	if (!p->exited)
		snprintf(how, sizeof(how), "closed its output");
	else if (p->term_signal != 0)
		snprintf(how, sizeof(how), "was killed by signal %d", p->term_signal);
	else
		snprintf(how, sizeof(how), "exited with status %lld", (long long)p->exit_status);
	snprintf(why, sizeof(why), "proxy command '%s' %s%s%s", p->command, how,
	    p->last_line[0] ? ": " : "", p->last_line);
	finish(p, p->exited && (p->exit_status != 0 || p->term_signal != 0) ? EPIPE : 0, why);
}

static void
maybe_report_end(struct proxycmd *p)
{
	if (p->state == PROXY_UP && p->out_eof && p->exited && p->err_eof)
		report_end(p);
}

static void
timer_cb(uv_timer_t *t)
{
	struct proxycmd *p = t->data;

	if (p->state == PROXY_UP)
		report_end(p);
}

static void
exit_cb(uv_process_t *proc, int64_t status, int term_signal)
{
	struct proxycmd *p = proc->data;

	p->exited = true;
	p->exit_status = status;
	p->term_signal = term_signal;
	log_debug("proxy command exited (status %lld, signal %d)", (long long)status, term_signal);
	close_handle(p, (uv_handle_t *)proc);
	if (p->state == PROXY_UP && !uv_is_active((uv_handle_t *)&p->timer))
		uv_timer_start(&p->timer, timer_cb, EXIT_WAIT_MS, 0);
	maybe_report_end(p);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct proxycmd *p = h->data;
	size_t len;

	p->t.ev->alloc(&p->t, suggested, &b->base, &len);
	b->len = len;
}

static void
out_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct proxycmd *p = s->data;
	char why[256];

	(void)b;
	if (n > 0) {
		p->t.ev->received(&p->t, (size_t)n);
		return;
	}
	if (n == 0)
		return;
	uv_read_stop(s);
	p->reading = false;
	if (n == UV_EOF) {
		p->out_eof = true;
		if (!uv_is_active((uv_handle_t *)&p->timer))
			uv_timer_start(&p->timer, timer_cb, EXIT_WAIT_MS, 0);
		maybe_report_end(p);
		return;
	}
	snprintf(why, sizeof(why), "reading from the proxy command: %s", uv_strerror((int)n));
	finish(p, (int)-n, why);
}

static void
err_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char chunk[4096];

	(void)h;
	(void)suggested;
	b->base = chunk;
	b->len = sizeof(chunk);
}

/* Passes the command's stderr on, and keeps its last line for the exit message. */
static void
err_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct proxycmd *p = s->data;

	if (n < 0) {
		p->err_eof = true;
		uv_read_stop(s);
		maybe_report_end(p);
		return;
	}
	if (write(STDERR_FILENO, b->base, (size_t)n) < 0) {
		/* Nowhere to say it: the last line is still kept. */
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = b->base[i];
		if (c == '\n') {
			while (p->line_len > 0 && (p->line[p->line_len - 1] == '\r'))
				p->line_len--;
			if (p->line_len > 0) {
				memcpy(p->last_line, p->line, p->line_len);
				p->last_line[p->line_len] = '\0';
			}
			p->line_len = 0;
		} else if (p->line_len + 1 < sizeof(p->line)) {
			p->line[p->line_len++] = c;
		}
	}
}

static void
write_cb(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct proxycmd *p = w->p;
	char why[256];

	p->t.queued -= w->len;
	free(w);
	if (p->closing)
		return;
	if (status < 0 && status != UV_ECANCELED) {
		snprintf(why, sizeof(why), "writing to the proxy command: %s", uv_strerror(status));
		finish(p, -status, why);
		return;
	}
	if (p->t.queued == 0 && p->t.ev->drained != NULL)
		p->t.ev->drained(&p->t);
}

static void
proxy_write(struct transport *t, const void *data, size_t len)
{
	struct proxycmd *p = (struct proxycmd *)t;
	size_t done = 0;

	if (p->state != PROXY_UP)
		return;
	if (p->t.queued == 0) {
		uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
		int n = uv_try_write((uv_stream_t *)&p->in, &b, 1);
		if (n > 0)
			done = (size_t)n;
	}
	if (done == len)
		return;
	struct write_req *w = xmalloc(sizeof(*w) + len - done);
	w->p = p;
	w->len = len - done;
	memcpy(w->data, (const char *)data + done, w->len);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
	p->t.queued += w->len;
	if (uv_write(&w->req, (uv_stream_t *)&p->in, &b, 1, write_cb) < 0) {
		p->t.queued -= w->len;
		free(w);
		/* The pipe is gone: the exit or EOF that follows says why. */
	}
}

static void
proxy_read(struct transport *t, bool on)
{
	struct proxycmd *p = (struct proxycmd *)t;

	if (p->state != PROXY_UP || p->out_eof || p->reading == on)
		return;
	p->reading = on;
	if (on)
		uv_read_start((uv_stream_t *)&p->out, alloc_cb, out_read_cb);
	else
		uv_read_stop((uv_stream_t *)&p->out);
}

static int
spawn(struct proxycmd *p, char *err, size_t errlen)
{
	char *args[] = {"/bin/sh", "-c", p->command, NULL};
	uv_stdio_container_t stdio[3];
	uv_process_options_t po;

	memset(&po, 0, sizeof(po));
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&p->in;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&p->out;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&p->err;
	po.file = args[0];
	po.args = args;
	po.stdio = stdio;
	po.stdio_count = 3;
	po.exit_cb = exit_cb;
	p->proc.data = p;
	int rc = uv_spawn(p->t.loop, &p->proc, &po);
	p->handles++; /* initialised even when the spawn fails */
	if (rc < 0) {
		close_handle(p, (uv_handle_t *)&p->proc);
		snprintf(
		    err, errlen, "cannot run proxy command '%s': %s", p->command, uv_strerror(rc));
		return -1;
	}
	p->spawned = true;
	return 0;
}

static int
proxy_start(struct transport *t)
{
	struct proxycmd *p = (struct proxycmd *)t;
	char err[COMMAND_MAX + 200];
	uv_os_fd_t fd;

	if (spawn(p, err, sizeof(err)) == -1) {
		finish(p, EINVAL, err);
		return -1;
	}
	log_verbose("proxy command: %s", p->command);
	uv_fileno((uv_handle_t *)&p->out, &fd);
	p->t.fd = fd;
	snprintf(p->t.peer, sizeof(p->t.peer), "%s:%d (proxy command)", p->host, p->port);
	p->state = PROXY_UP;
	uv_read_start((uv_stream_t *)&p->err, err_alloc_cb, err_read_cb);
	p->reading = true;
	uv_read_start((uv_stream_t *)&p->out, alloc_cb, out_read_cb);
	p->t.ev->up(&p->t);
	return 0;
}

static void
proxy_shutdown(struct transport *t)
{
	(void)t; /* the command sees EOF on stdin when the pipe closes */
}

static void
proxy_close(struct transport *t)
{
	struct proxycmd *p = (struct proxycmd *)t;

	if (p->closing)
		return;
	p->closing = true;
	finish(p, 0, "closed");
	if (p->spawned && !p->exited)
		uv_process_kill(&p->proc, SIGHUP);
	/* The process handle closes when the command exits (exit_cb), no sooner. */
	close_handle(p, (uv_handle_t *)&p->in);
	close_handle(p, (uv_handle_t *)&p->out);
	close_handle(p, (uv_handle_t *)&p->err);
	close_handle(p, (uv_handle_t *)&p->timer);
}

static const struct transport_ops proxy_ops = {
    .start = proxy_start,
    .read = proxy_read,
    .write = proxy_write,
    .shutdown = proxy_shutdown,
    .close = proxy_close,
};

struct transport *
proxycmd_new(uv_loop_t *loop, const char *command, const char *host, int port,
    const struct transport_events *ev, void *data)
{
	struct proxycmd *p = xcalloc(1, sizeof(*p));

	p->t.ops = &proxy_ops;
	p->t.ev = ev;
	p->t.data = data;
	p->t.loop = loop;
	p->t.fd = -1;
	p->command = xstrdup(command);
	p->host = xstrdup(host);
	p->port = port;
	uv_pipe_init(loop, &p->in, 0);
	uv_pipe_init(loop, &p->out, 0);
	uv_pipe_init(loop, &p->err, 0);
	uv_timer_init(loop, &p->timer);
	p->in.data = p->out.data = p->err.data = p->timer.data = p;
	p->handles = 4;
	return &p->t;
}
