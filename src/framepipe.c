/*
 * Frame stream. Reads land in rx, where whole frames are decoded in place.
 * Frames to write wait in the scheduler (framesched.c: control first, flows
 * and streams in turn, late or excess datagrams dropped); one uv_write at a
 * time takes the next OUT_CHUNK bytes of them into inflight, whose bytes stay
 * put while libuv holds them. Pulling little and late keeps the order
 * decided when the pipe can take more, not when a frame was queued.
 *
 *   OPEN --framepipe_stop--> FLUSHING --inflight and tx written, or the
 *   output failed, or FLUSH_MS passed--> CLOSED (every handle closing)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "framepipe.h"
#include "framesched.h"
#include "log.h"
#include "xmalloc.h"

/*
 * What one write takes from the scheduler, about. 64 KiB (three 16 KiB SDATA
 * frames) rather than 32 (one: the next would pass it) cut the relay's CPU
 * per GiB sent from about 1.9 to 1.2 s (tests/bench/throughput.py), a write
 * and a wakeup per frame being most of it; 128 KiB, with the output pipe at
 * 256 KiB (PIPE_OUT_SIZE), halved the writes per MiB again (22 to 11, strace
 * of the relay during a download), as 128 KiB reads from targets did theirs.
 */
#define OUT_CHUNK (128 * 1024)
#define OUT_HIGH (1024 * 1024)		/* reading resumes below this */
#define OUT_READ_STOP (4 * 1024 * 1024) /* the input is not read above this */
#define READ_CHUNK 65536
/*
 * The pipes' buffers (Linux: 64 KiB unless raised). With 64 KiB, every
 * OUT_CHUNK filled the output pipe and every write waited for sshd to empty
 * it: a wakeup of both per 64 KiB, most of the relay's CPU on a VM. Input
 * gets 1 MiB (sshd writes there as the relay channel's window allows; the
 * relay reads at once). Output only 256 KiB: what sits in it is beyond the
 * scheduler's reach, and a datagram waits behind all of it.
 */
#define PIPE_IN_SIZE (1024 * 1024)
#define PIPE_OUT_SIZE (256 * 1024)
#define FLUSH_MS 2000 /* how long a stopping stream tries to deliver its last frames */

struct framepipe {
	uv_loop_t *loop;
	struct framepipe_events ev;
	void *data;
	uv_pipe_t in, out;
	uv_timer_t flush;
	uv_write_t wreq;
	bool in_open, out_open, timer_open; /* initialised and not closing */
	bool reading, writing;
	bool out_dead; /* a write failed: nothing more is written */
	bool stopping, ended;
	struct buf rx, inflight;
	struct framesched *sched;
};

static void in_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

/* Bytes queued but datagrams (which the scheduler bounds and drops itself). */
static size_t
queued(const struct framepipe *fp)
{
	struct framesched_stats st;

	framesched_stats(fp->sched, &st);
	return st.control_bytes + st.stream_bytes + buf_len(&fp->inflight);
}

static void
end(struct framepipe *fp, enum framepipe_end why, const char *detail)
{
	if (fp->ended || fp->stopping)
		return;
	fp->ended = true;
	fp->ev.end(fp->data, why, detail);
}

static void
handle_closed_cb(uv_handle_t *h)
{
}

static void
close_handle(void *h, bool *open)
{
	if (*open) {
		uv_close((uv_handle_t *)h, handle_closed_cb);
		*open = false;
	}
}

/* Once a stopping stream's output is written (or cannot be), closes the rest. */
static void
finish_if_done(struct framepipe *fp)
{
	bool drained = !fp->writing && !framesched_pending(fp->sched);

	if (!fp->stopping || (!drained && !fp->out_dead && fp->timer_open))
		return;
	if (!drained && !fp->out_dead)
		log_debug("giving up on %zu bytes of output", queued(fp));
	close_handle(&fp->in, &fp->in_open);
	close_handle(&fp->out, &fp->out_open);
	close_handle(&fp->flush, &fp->timer_open);
}

static void
flush_timeout_cb(uv_timer_t *t)
{
	struct framepipe *fp = container_of(t, struct framepipe, flush);

	close_handle(&fp->flush, &fp->timer_open);
	finish_if_done(fp);
}

static void
in_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct framepipe *fp = container_of(h, struct framepipe, in);
	size_t avail;
	char *p = buf_reserve(&fp->rx, READ_CHUNK, &avail);

	*b = uv_buf_init(p, (unsigned)avail);
}

static void
in_resume(struct framepipe *fp)
{
	if (fp->in_open && !fp->reading && !fp->stopping && queued(fp) <= OUT_HIGH) {
		log_debug("output drained: reading again");
		if (uv_read_start((uv_stream_t *)&fp->in, in_alloc_cb, in_read_cb) == 0)
			fp->reading = true;
	}
}

static void
out_failed(struct framepipe *fp, int status)
{
	fp->out_dead = true;
	framesched_clear(fp->sched); /* keeps the drop counts for the exit log */
	buf_consume(&fp->inflight, buf_len(&fp->inflight));
	if (status == UV_EPIPE || status == UV_ECONNRESET)
		end(fp, FRAMEPIPE_OUTPUT_GONE, uv_strerror(status));
	else
		end(fp, FRAMEPIPE_OUTPUT_FAILED, uv_strerror(status));
	finish_if_done(fp);
}

static void out_kick(struct framepipe *fp);

static void
out_write_cb(uv_write_t *req, int status)
{
	struct framepipe *fp = container_of(req, struct framepipe, wreq);

	fp->writing = false;
	buf_consume(&fp->inflight, buf_len(&fp->inflight));
	if (status == UV_ECANCELED)
		return;
	if (status < 0) {
		out_failed(fp, status);
		return;
	}
	out_kick(fp);
	in_resume(fp);
	finish_if_done(fp);
	if (fp->ev.drained != NULL && !fp->stopping)
		fp->ev.drained(fp->data);
}

static void
out_kick(struct framepipe *fp)
{
	uv_buf_t b;
	int rc;

	if (fp->writing || fp->out_dead || !fp->out_open)
		return;
	if (framesched_pull(fp->sched, &fp->inflight, OUT_CHUNK, uv_now(fp->loop)) == 0)
		return;
	b = uv_buf_init(buf_head(&fp->inflight), (unsigned)buf_len(&fp->inflight));
	rc = uv_write(&fp->wreq, (uv_stream_t *)&fp->out, &b, 1, out_write_cb);
	if (rc < 0) {
		out_failed(fp, rc);
		return;
	}
	fp->writing = true;
}

bool
framepipe_send(
    struct framepipe *fp, enum frame_type type, uint32_t flow, const void *payload, size_t len)
{
	if (fp->out_dead || !fp->out_open)
		return false;
	if (!framesched_push(fp->sched, type, flow, payload, len, uv_now(fp->loop)))
		return false;
	out_kick(fp);
	if (fp->reading && queued(fp) > OUT_READ_STOP) {
		log_debug("output backed up (%zu bytes): not reading", queued(fp));
		uv_read_stop((uv_stream_t *)&fp->in);
		fp->reading = false;
	}
	return true;
}

static void
in_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct framepipe *fp = container_of(s, struct framepipe, in);

	if (n == UV_EOF && buf_len(&fp->rx) > 0) {
		char detail[96];
		snprintf(detail, sizeof(detail),
		    "end of file inside a frame (%zu bytes of it read)", buf_len(&fp->rx));
		end(fp, FRAMEPIPE_TRUNCATED, detail);
		return;
	}
	if (n < 0) {
		end(fp, FRAMEPIPE_EOF, n == UV_EOF ? "end of file" : uv_strerror((int)n));
		return;
	}
	buf_commit(&fp->rx, (size_t)n);
	while (!fp->stopping && !fp->ended) {
		const char *err = "?";
		struct frame f;
		long used =
		    frame_decode((const uint8_t *)buf_head(&fp->rx), buf_len(&fp->rx), &f, &err);

		if (used == 0)
			break;
		if (used < 0) {
			end(fp, FRAMEPIPE_BAD_HEADER, err);
			break;
		}
		fp->ev.frame(fp->data, &f);
		buf_consume(&fp->rx, (size_t)used);
	}
}

struct framepipe *
framepipe_new(uv_loop_t *loop, const struct framepipe_events *ev, void *data)
{
	struct framepipe *fp = xcalloc(1, sizeof(*fp));

	fp->loop = loop;
	fp->ev = *ev;
	fp->data = data;
	buf_init(&fp->rx);
	buf_init(&fp->inflight);
	fp->sched = framesched_new(NULL);
	return fp;
}

/* Whether the event loop can poll fd: a pipe, a socket or a terminal. */
static bool
pollable(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(fd);
}

/* A pipe's buffer raised to size where the kernel allows it (best effort). */
static void
grow_pipe(int fd, int size)
{
#ifdef F_SETPIPE_SZ
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < size)
		(void)fcntl(fd, F_SETPIPE_SZ, size);
#else
	(void)fd;
#endif
}

int
framepipe_start(struct framepipe *fp, int in_fd, int out_fd, char *err, size_t errlen)
{
	int rc;

	uv_pipe_init(fp->loop, &fp->in, 0);
	uv_pipe_init(fp->loop, &fp->out, 0);
	uv_timer_init(fp->loop, &fp->flush);
	fp->in_open = fp->out_open = fp->timer_open = true;
	if (!pollable(in_fd) || !pollable(out_fd)) {
		/* libuv aborts polling /dev/null or a file: say so instead. */
		snprintf(err, errlen,
		    "fd %d (%s) is not a pipe, socket or terminal (the relay runs under sshd, "
		    "started by porthole)",
		    pollable(in_fd) ? out_fd : in_fd, pollable(in_fd) ? "output" : "input");
		fp->out_dead = true;
		return UV_EINVAL;
	}
	grow_pipe(in_fd, PIPE_IN_SIZE);
	grow_pipe(out_fd, PIPE_OUT_SIZE);
	if ((rc = uv_pipe_open(&fp->out, out_fd)) < 0) {
		snprintf(err, errlen, "fd %d (output): %s", out_fd, uv_strerror(rc));
		fp->out_dead = true;
		return rc;
	}
	if ((rc = uv_pipe_open(&fp->in, in_fd)) < 0) {
		snprintf(err, errlen, "fd %d (input): %s", in_fd, uv_strerror(rc));
		return rc;
	}
	if ((rc = uv_read_start((uv_stream_t *)&fp->in, in_alloc_cb, in_read_cb)) < 0) {
		snprintf(err, errlen, "reading fd %d: %s", in_fd, uv_strerror(rc));
		return rc;
	}
	fp->reading = true;
	return 0;
}

void
framepipe_stop(struct framepipe *fp)
{
	if (fp->stopping)
		return;
	fp->stopping = true;
	close_handle(&fp->in, &fp->in_open);
	fp->reading = false;
	if (fp->timer_open)
		uv_timer_start(&fp->flush, flush_timeout_cb, FLUSH_MS, 0);
	finish_if_done(fp);
}

size_t
framepipe_stream_queued(const struct framepipe *fp)
{
	struct framesched_stats st;

	framesched_stats(fp->sched, &st);
	return st.stream_bytes;
}

uint64_t
framepipe_forget(struct framepipe *fp, uint32_t id)
{
	return framesched_forget(fp->sched, id);
}

uint64_t
framepipe_flow_drops(const struct framepipe *fp, uint32_t id)
{
	return framesched_drops(fp->sched, id);
}

uint64_t
framepipe_dropped(const struct framepipe *fp)
{
	struct framesched_stats st;

	framesched_stats(fp->sched, &st);
	return st.dropped;
}

void
framepipe_free(struct framepipe *fp)
{
	if (fp == NULL)
		return;
	buf_free(&fp->rx);
	buf_free(&fp->inflight);
	framesched_free(fp->sched);
	free(fp);
}
