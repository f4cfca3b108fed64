/*
 * Fuzz target for framesched.c. The input is a program: its first bytes set
 * the budget, caps and quantum, then each op byte (and its operands) pushes a
 * DATA, SDATA or control frame, pulls up to some bytes, forgets an id,
 * advances the clock or restamps. A model kept here checks, after every
 * pull, what framesched promises: frames on id 0 (always first class) never
 * follow a DATA or SDATA frame in one pull; a flow's datagrams leave in
 * order and never later than the budget (restamp and clear are ops too); a stream's bytes leave in
 * order, none missing (only forget discards), in frames of at most 16 KiB, and its SEOF only after
 * the bytes pushed before it; every datagram pushed is sent, dropped, forgotten or still queued;
 * queued DATA stays under the session cap; and once drained, every control frame came out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "framesched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLOWS 8
#define STREAMS 4
#define STREAM_BASE 100
#define MARKS 64

struct model {
	uint64_t now, restamped;
	uint32_t budget;
	size_t total_max;
	uint32_t next_seq[FLOWS + 1], last_seq[FLOWS + 1];
	uint64_t data_pushed;
	uint64_t pushed_k[STREAMS], expect_k[STREAMS];
	uint64_t eof_mark[STREAMS][MARKS];
	size_t eof_head[STREAMS], eof_n[STREAMS];
	uint64_t ctl_pushed, ctl_seen;
};

static uint8_t payload[FRAME_PAYLOAD_MAX];

struct input {
	const uint8_t *p;
	size_t left;
};

static unsigned
next(struct input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static uint8_t
stream_byte(unsigned s, uint64_t k)
{
	return (uint8_t)(s * 31 + k * 7 + (k >> 8));
}

static void
check_data(struct model *m, const struct frame *f)
{
	uint32_t seq;
	uint64_t at;

	if (f->flow < 1 || f->flow > FLOWS || f->len < 12)
		abort();
	memcpy(&seq, f->payload, 4);
	memcpy(&at, f->payload + 4, 8);
	if (seq < m->last_seq[f->flow])
		abort();
	m->last_seq[f->flow] = seq + 1;
	if (m->restamped > at)
		at = m->restamped;
	if (m->now > at && m->now - at > m->budget)
		abort();
}

static void
check_sdata(struct model *m, const struct frame *f)
{
	unsigned s = f->flow - STREAM_BASE;

	if (f->flow < STREAM_BASE || s >= STREAMS || f->len == 0 || f->len > FRAMESCHED_SDATA_MAX)
		abort();
	for (size_t i = 0; i < f->len; i++)
		if (f->payload[i] != stream_byte(s, m->expect_k[s] + i))
			abort();
	m->expect_k[s] += f->len;
	if (m->expect_k[s] > m->pushed_k[s])
		abort();
}

static void
check_control(struct model *m, const struct frame *f)
{
	unsigned s = f->flow - STREAM_BASE;

	m->ctl_seen++;
	if (f->type != FRAME_SEOF)
		return;
	if (f->flow < STREAM_BASE || s >= STREAMS || m->eof_n[s] == 0)
		abort();
	if (m->expect_k[s] < m->eof_mark[s][m->eof_head[s]])
		abort(); /* SEOF overtook its stream's bytes */
	m->eof_head[s] = (m->eof_head[s] + 1) % MARKS;
	m->eof_n[s]--;
}

static void
check_output(struct model *m, const struct buf *b)
{
	size_t off = 0;
	bool bulk = false;

	while (off < buf_len(b)) {
		struct frame f;
		const char *err;
		long n =
		    frame_decode((const uint8_t *)buf_head(b) + off, buf_len(b) - off, &f, &err);
		if (n <= 0)
			abort(); /* pull appends whole, well-formed frames */
		off += (size_t)n;
		if (f.type == FRAME_DATA) {
			bulk = true;
			check_data(m, &f);
		} else if (f.type == FRAME_SDATA) {
			bulk = true;
			check_sdata(m, &f);
		} else {
			if (f.flow == 0 && bulk)
				abort(); /* control after data in one pull */
			check_control(m, &f);
		}
	}
}

static void
check_stats(const struct model *m, const struct framesched *fs)
{
	struct framesched_stats st;
	uint64_t stream = 0;

	framesched_stats(fs, &st);
	if (st.data_bytes > m->total_max)
		abort();
	if (m->data_pushed != st.data_sent + st.dropped + st.forgotten + st.data_frames)
		abort();
	if (st.dropped != st.dropped_late + st.dropped_full)
		abort();
	for (unsigned s = 0; s < STREAMS; s++)
		stream += m->pushed_k[s] - m->expect_k[s];
	if (st.stream_bytes != stream)
		abort();
}

static void
push_data(struct model *m, struct framesched *fs, struct input *in)
{
	uint32_t flow = next(in) % FLOWS + 1;
	size_t len = 12 + ((next(in) << 8 | next(in)) % 3000);

	if (next(in) == 0xff)
		len = FRAME_PAYLOAD_MAX;
	memcpy(payload, &m->next_seq[flow], 4);
	memcpy(payload + 4, &m->now, 8);
	m->next_seq[flow]++;
	m->data_pushed++;
	if (!framesched_push(fs, FRAME_DATA, flow, payload, len, m->now))
		abort();
}

static void
push_sdata(struct model *m, struct framesched *fs, struct input *in)
{
	unsigned s = next(in) % STREAMS;
	size_t len = 1 + ((next(in) << 8 | next(in)) % 40000);

	for (size_t i = 0; i < len; i++)
		payload[i] = stream_byte(s, m->pushed_k[s] + i);
	if (!framesched_push(fs, FRAME_SDATA, STREAM_BASE + s, payload, len, m->now))
		abort();
	m->pushed_k[s] += len;
}

static void
push_control(struct model *m, struct framesched *fs, struct input *in)
{
	static const uint8_t types[] = {
	    FRAME_PING, FRAME_OPEN, FRAME_CLOSE, FRAME_SEOF, FRAME_SWINDOW, FRAME_SRESET};
	uint8_t type = types[next(in) % sizeof(types)];
	unsigned which = next(in);
	uint32_t id = type == FRAME_PING		? 0
	    : type == FRAME_OPEN || type == FRAME_CLOSE ? which % FLOWS + 1
							: STREAM_BASE + which % STREAMS;
	unsigned s = id - STREAM_BASE;

	if (type == FRAME_SEOF) {
		if (m->eof_n[s] == MARKS)
			return;
		m->eof_mark[s][(m->eof_head[s] + m->eof_n[s]) % MARKS] = m->pushed_k[s];
		m->eof_n[s]++;
	}
	if (!framesched_push(fs, type, id, payload, which % 16, m->now))
		abort();
	m->ctl_pushed++;
}

static void
forget(struct model *m, struct framesched *fs, struct input *in)
{
	unsigned which = next(in);

	if (which & 1) {
		framesched_forget(fs, which / 2 % FLOWS + 1);
		return;
	}
	unsigned s = which / 2 % STREAMS;
	framesched_forget(fs, STREAM_BASE + s);
	m->expect_k[s] = m->pushed_k[s];
}

/* The channel went down: everything queued goes, control frames too. */
static void
clear(struct model *m, struct framesched *fs)
{
	struct framesched_stats st;

	framesched_stats(fs, &st);
	framesched_clear(fs);
	m->ctl_pushed = m->ctl_seen;
	for (unsigned s = 0; s < STREAMS; s++) {
		m->expect_k[s] = m->pushed_k[s];
		m->eof_n[s] = 0;
	}
	framesched_stats(fs, &st);
	if (framesched_pending(fs) || st.control_bytes + st.data_bytes + st.stream_bytes != 0)
		abort();
}

static void
pull(struct model *m, struct framesched *fs, size_t max)
{
	struct buf b;

	buf_init(&b);
	framesched_pull(fs, &b, max, m->now);
	check_output(m, &b);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	static struct model m;
	struct framesched_config cfg;

	memset(&m, 0, sizeof(m));
	memset(&cfg, 0, sizeof(cfg));
	cfg.data_budget_ms = 1 + next(&in);
	cfg.data_flow_max = (size_t)next(&in) * 1024;
	cfg.data_total_max = (size_t)next(&in) * 4096;
	cfg.quantum = (size_t)next(&in) * 256;
	m.budget = cfg.data_budget_ms;
	/* As framesched_new raises them. */
	size_t flow_max = cfg.data_flow_max ? cfg.data_flow_max : 1024 * 1024;
	if (flow_max < FRAME_HEADER + FRAME_PAYLOAD_MAX)
		flow_max = FRAME_HEADER + FRAME_PAYLOAD_MAX;
	m.total_max = cfg.data_total_max ? cfg.data_total_max : 4 * 1024 * 1024;
	if (m.total_max < flow_max)
		m.total_max = flow_max;

	struct framesched *fs = framesched_new(&cfg);
	for (int ops = 0; in.left > 0 && ops < 2000; ops++) {
		switch (next(&in) % 8) {
		case 0:
			push_data(&m, fs, &in);
			break;
		case 1:
			push_sdata(&m, fs, &in);
			break;
		case 2:
			push_control(&m, fs, &in);
			break;
		case 3:
			pull(&m, fs, (size_t)(next(&in) << 8 | next(&in)) * 4);
			break;
		case 4:
			forget(&m, fs, &in);
			break;
		case 5:
			m.now += next(&in) * 3;
			break;
		case 6:
			framesched_restamp(fs, m.now);
			m.restamped = m.now;
			break;
		case 7:
			clear(&m, fs);
			break;
		}
		check_stats(&m, fs);
	}
	while (framesched_pending(fs))
		pull(&m, fs, 1 << 20);
	check_stats(&m, fs);
	if (m.ctl_seen != m.ctl_pushed)
		abort();
	for (unsigned s = 0; s < STREAMS; s++)
		if (m.expect_k[s] != m.pushed_k[s])
			abort();
	framesched_free(fs);
	return 0;
}
