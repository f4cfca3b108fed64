/*
 * Control socket server and client. The server answers each connection
 * once: it reads one request line (at most CONTROL_LINE_MAX bytes, within
 * CLIENT_TIMEOUT_MS), writes the answer and closes. A client that sends
 * garbage gets "error: ..." and is closed; nothing it does reaches the
 * forwards. A well-formed request goes to the handler, which answers at
 * once or later (a -R waits for the server's reply): the client's memory
 * stays until the handler has answered, even if the client went away.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "ctlsock.h"
#include "log.h"
#include "xmalloc.h"

#define CLIENT_TIMEOUT_MS 5000

struct ctlsock {
	uv_pipe_t server;
	char *path;
	ctlsock_handler_fn handler;
	void *arg;
	struct ctlsock_reply *clients; /* connected and not closed: forgotten at ctlsock_close */
};

struct ctlsock_reply {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t write;
	struct ctlsock *c; /* NULL once the socket is closed (the instance is stopping) */
	struct ctlsock_reply *prev, *next;
	char line[CONTROL_LINE_MAX];
	size_t len;
	struct buf answer;
	int refs; /* the two handles, and the handler while it holds the reply */
	bool answered;
	bool held; /* the handler has it and has not answered yet */
};

/* $HOME, else the password database's home directory, else NULL. */
static const char *
home_dir(void)
{
	const char *home = getenv("HOME");
	const struct passwd *pw;

	if (home != NULL && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

static char *
join(const char *a, const char *b)
{
	char *out = xmalloc(strlen(a) + strlen(b) + 1);

	sprintf(out, "%s%s", a, b);
	return out;
}

char *
ctlsock_dir(void)
{
	const char *run = getenv("XDG_RUNTIME_DIR"), *cache = getenv("XDG_CACHE_HOME"), *home;

	if (run != NULL && run[0] == '/')
		return join(run, "/porthole");
	if (cache != NULL && cache[0] == '/')
		return join(cache, "/porthole");
	if ((home = home_dir()) == NULL)
		return NULL;
	return join(home, "/.cache/porthole");
}

/* Creates the directories leading to dir that do not exist, mode 0700. */
static void
make_parents(const char *dir)
{
	char *path = xstrdup(dir);

	for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	free(path);
}

/*
 * The directory holding dir must not let anyone else rename or replace it:
 * owned by us or root, and writable by no one else unless sticky.
 */
static int
check_parent(const char *dir, char *err, size_t errlen)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	struct stat st;
	int rc = 0;

	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (stat(parent, &st) == -1) {
		snprintf(err, errlen, "%s: %s", parent, strerror(errno));
		rc = -1;
	} else if (st.st_uid != getuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, not by you, so it cannot hold %s",
		    parent, (unsigned)st.st_uid, dir);
		rc = -1;
	} else if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
		snprintf(err, errlen, "%s: writable by others (mode %04o), so it cannot hold %s",
		    parent, (unsigned)(st.st_mode & 07777), dir);
		rc = -1;
	}
	free(parent);
	return rc;
}

int
ctlsock_prepare_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (dir == NULL) {
		snprintf(err, errlen, "no home directory (HOME is not set) and no XDG_RUNTIME_DIR");
		return -1;
	}
	make_parents(dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (check_parent(dir, err, errlen) == -1)
		return -1;
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != getuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by you (uid %u)", dir,
		    (unsigned)st.st_uid, (unsigned)getuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: mode %04o, must be 0700 (private to you)", dir,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static void
unref(struct ctlsock_reply *cl)
{
	if (--cl->refs == 0) {
		buf_free(&cl->answer);
		free(cl);
	}
}

static void
client_closed_cb(uv_handle_t *h)
{
	unref(h->data);
}

static void
client_close(struct ctlsock_reply *cl)
{
	if (cl->c != NULL) {
		if (cl->prev != NULL)
			cl->prev->next = cl->next;
		else
			cl->c->clients = cl->next;
		if (cl->next != NULL)
			cl->next->prev = cl->prev;
		cl->c = NULL;
	}
	if (!uv_is_closing((uv_handle_t *)&cl->pipe)) {
		uv_close((uv_handle_t *)&cl->pipe, client_closed_cb);
		uv_close((uv_handle_t *)&cl->timer, client_closed_cb);
	}
}

static void
written_cb(uv_write_t *req, int status)
{
	client_close(req->data);
}

static void answer(struct ctlsock_reply *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
answer(struct ctlsock_reply *cl, const char *fmt, ...)
{
	if (fmt != NULL) {
		char text[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		buf_append(&cl->answer, text, strlen(text));
	}
	cl->answered = true;
	if (uv_is_closing((uv_handle_t *)&cl->pipe))
		return;
	uv_read_stop((uv_stream_t *)&cl->pipe);
	uv_buf_t b = uv_buf_init(buf_head(&cl->answer), (unsigned)buf_len(&cl->answer));
	cl->write.data = cl;
	if (uv_write(&cl->write, (uv_stream_t *)&cl->pipe, &b, 1, written_cb) < 0)
		client_close(cl);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct ctlsock_reply *cl = h->data;

	b->base = cl->line + cl->len;
	b->len = sizeof(cl->line) - cl->len;
}

static void
read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *b)
{
	struct ctlsock_reply *cl = stream->data;
	struct control_request req;
	const char *err;

	if (cl->answered)
		return;
	if (n < 0 || cl->c == NULL) {
		client_close(cl);
		return;
	}
	cl->len += (size_t)n;
	long used = control_parse(cl->line, cl->len, &req, &err);
	if (used == 0)
		return;
	if (used < 0) {
		log_debug("control socket: %s", err);
		answer(cl, "error: %s\n", err);
		return;
	}
	if (req.verb == CONTROL_PING) {
		answer(cl, "pong\n");
		return;
	}
	cl->held = true;
	cl->refs++;
	uv_read_stop((uv_stream_t *)&cl->pipe);
	cl->c->handler(cl, &req, cl->c->arg);
}

struct buf *
ctlsock_reply_buf(struct ctlsock_reply *r)
{
	return &r->answer;
}

void
ctlsock_reply_send(struct ctlsock_reply *r)
{
	if (!r->held)
		return;
	r->held = false;
	answer(r, NULL);
	unref(r);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct ctlsock_reply *cl = t->data;

	/* A held reply stays in memory until the handler answers (into nothing). */
	client_close(cl);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct ctlsock *c = server->data;
	struct ctlsock_reply *cl;

	if (status < 0)
		return;
	cl = xcalloc(1, sizeof(*cl));
	cl->c = c;
	cl->next = c->clients;
	if (c->clients != NULL)
		c->clients->prev = cl;
	c->clients = cl;
	buf_init(&cl->answer);
	uv_pipe_init(server->loop, &cl->pipe, 0);
	uv_timer_init(server->loop, &cl->timer);
	cl->pipe.data = cl->timer.data = cl;
	cl->refs = 2;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&cl->pipe, alloc_cb, read_cb) < 0) {
		client_close(cl);
		return;
	}
	uv_timer_start(&cl->timer, timeout_cb, CLIENT_TIMEOUT_MS, 0);
}

bool
ctlsock_alive(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd == -1)
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return up;
}

int
ctlsock_open(uv_loop_t *loop, const char *path, ctlsock_handler_fn handler, void *arg,
    struct ctlsock **out, char *err, size_t errlen)
{
	struct ctlsock *c;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	if (ctlsock_alive(path))
		return -2;
	if (unlink(path) == 0)
		log_verbose("replaced a stale control socket %s", path);
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->handler = handler;
	c->arg = arg;
	uv_pipe_init(loop, &c->server, 0);
	c->server.data = c;
	mode_t old = umask(0177);
	rc = uv_pipe_bind(&c->server, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&c->server, 16, connection_cb);
	if (rc < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
		c->path[0] = '\0'; /* nothing of ours to unlink */
		ctlsock_close(c);
		return -1;
	}
	chmod(path, 0600);
	*out = c;
	return 0;
}

static void
server_closed_cb(uv_handle_t *h)
{
	struct ctlsock *c = h->data;

	free(c->path);
	free(c);
}

void
ctlsock_close(struct ctlsock *c)
{
	if (c == NULL)
		return;
	/* Clients still connected are closed; a reply the handler holds is sent into nothing. */
	while (c->clients != NULL)
		client_close(c->clients);
	if (c->path[0] != '\0')
		unlink(c->path);
	uv_close((uv_handle_t *)&c->server, server_closed_cb);
}

int
ctlsock_query(const char *path, const char *request, FILE *out, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char chunk[4096];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s: %s", path,
		    errno == ECONNREFUSED ? "not running (stale control socket)" : strerror(errno));
		close(fd);
		return -1;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, request, strlen(request)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)n, out);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* It took the connection but says nothing: stopped (SIGSTOP) or hung. */
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0)
			snprintf(err, errlen, "%s: not answering (pid %ld: stopped or hung?)", path,
			    (long)cred.pid);
		else
			snprintf(err, errlen, "%s: not answering (stopped or hung?)", path);
		close(fd);
		return -2;
	}
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: no answer (%s)", path, strerror(errno));
		return -1;
	}
	return 0;
}
