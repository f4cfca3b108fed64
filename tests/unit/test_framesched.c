/*
 * Unit tests for framesched.c: control frames first, order within an id
 * (SEOF after the stream's SDATA), SDATA cut at 16 KiB and never dropped,
 * deficit round robin between a flooding flow and a quiet one, the time
 * budget, the per-flow and per-session caps dropping the oldest datagram of
 * the longest queue, forget, restamp, and what pull appends at most.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "framesched.h"

static uint8_t payload[FRAME_PAYLOAD_MAX + 1];

/* The frames pull appended, decoded. */
struct out {
	struct frame f[4096];
	size_t n;
	struct buf b;
};

static void
decode(struct out *o)
{
	size_t off = 0;
	const char *err;

	o->n = 0;
	for (;;) {
		long n = frame_decode((const uint8_t *)buf_head(&o->b) + off, buf_len(&o->b) - off,
		    &o->f[o->n], &err);
		if (n <= 0)
			break;
		off += (size_t)n;
		if (++o->n == sizeof(o->f) / sizeof(o->f[0]))
			break;
	}
	CHECK_INT(off, buf_len(&o->b));
}

static void
pull_all(struct framesched *fs, struct out *o, uint64_t now)
{
	buf_free(&o->b);
	buf_init(&o->b);
	while (framesched_pull(fs, &o->b, 1 << 30, now) > 0)
		;
	decode(o);
}

/* A datagram of len bytes whose first 4 carry seq. */
static void
push_seq(struct framesched *fs, uint32_t id, uint32_t seq, size_t len, uint64_t now)
{
	memcpy(payload, &seq, sizeof(seq));
	CHECK(framesched_push(fs, FRAME_DATA, id, payload, len, now));
}

static uint32_t
seq_of(const struct frame *f)
{
	uint32_t seq;
	memcpy(&seq, f->payload, sizeof(seq));
	return seq;
}

static struct out o;

static void
test_control_first(void)
{
	struct framesched *fs = framesched_new(NULL);

	push_seq(fs, 1, 1, 100, 0);
	CHECK(framesched_push(fs, FRAME_SDATA, 2, payload, 50, 0));
	CHECK(framesched_push(fs, FRAME_PING, 0, payload, 8, 0));
	CHECK(framesched_push(fs, FRAME_OPEN, 3, payload, 11, 0));
	CHECK(framesched_pending(fs));
	pull_all(fs, &o, 0);
	CHECK_INT(o.n, 4);
	CHECK_INT(o.f[0].type, FRAME_PING);
	CHECK_INT(o.f[1].type, FRAME_OPEN);
	CHECK_INT(o.f[1].flow, 3);
	CHECK_INT(o.f[2].type, FRAME_DATA);
	CHECK_INT(o.f[3].type, FRAME_SDATA);
	CHECK_INT(o.f[3].len, 50);
	CHECK(!framesched_pending(fs));
	struct framesched_stats st;
	framesched_stats(fs, &st);
	CHECK_INT(st.control_bytes + st.data_bytes + st.stream_bytes + st.data_frames, 0);
	CHECK_INT(st.data_sent, 1);
	framesched_free(fs);
}

static void
test_stream_order(void)
{
	struct framesched *fs = framesched_new(NULL);
	struct framesched_stats st;

	for (size_t i = 0; i < 40000; i++)
		payload[i] = (uint8_t)(i * 7);
	CHECK(framesched_push(fs, FRAME_SDATA, 5, payload, 40000, 0));
	CHECK(framesched_push(fs, FRAME_SEOF, 5, NULL, 0, 0));
	CHECK(framesched_push(fs, FRAME_SWINDOW, 5, "\0\0\1\0", 4, 0));
	framesched_stats(fs, &st);
	CHECK_INT(st.stream_bytes, 40000);
	CHECK_INT(st.control_bytes, 2 * FRAME_HEADER + 4);
	pull_all(fs, &o, 100000); /* time does not matter to streams */
	CHECK_INT(o.n, 5);
	CHECK_INT(o.f[0].type, FRAME_SWINDOW); /* credit for the other way: not held back */
	CHECK_INT(o.f[1].len, FRAMESCHED_SDATA_MAX);
	CHECK_INT(o.f[2].len, FRAMESCHED_SDATA_MAX);
	CHECK_INT(o.f[3].len, 40000 - 2 * FRAMESCHED_SDATA_MAX);
	CHECK_INT(o.f[4].type, FRAME_SEOF); /* after the stream's last byte */
	size_t k = 0;
	bool same = true;
	for (size_t i = 1; i <= 3; i++)
		for (size_t j = 0; j < o.f[i].len; j++, k++)
			same = same && o.f[i].payload[j] == (uint8_t)(k * 7);
	CHECK(same);
	/* With nothing queued for it, SEOF goes first like any control frame. */
	CHECK(framesched_push(fs, FRAME_SDATA, 6, payload, 10, 0));
	CHECK(framesched_push(fs, FRAME_SEOF, 7, NULL, 0, 0));
	pull_all(fs, &o, 0);
	CHECK_INT(o.f[0].type, FRAME_SEOF);
	CHECK_INT(o.f[0].flow, 7);
	framesched_free(fs);
}

/* A flood on flow 1 does not hold back flow 2's few datagrams. */
static void
test_fair_share(void)
{
	struct framesched *fs = framesched_new(NULL);
	size_t pos[3], k = 0;

	for (uint32_t i = 0; i < 500; i++)
		push_seq(fs, 1, i, 1200, 0);
	for (uint32_t i = 0; i < 3; i++)
		push_seq(fs, 2, 1000 + i, 64, 0);
	buf_free(&o.b);
	buf_init(&o.b);
	/* Little at a time, as the channel takes it. */
	while (framesched_pull(fs, &o.b, 2000, 0) > 0)
		;
	decode(&o);
	CHECK_INT(o.n, 503);
	for (size_t i = 0; i < o.n; i++)
		if (o.f[i].flow == 2)
			pos[k++] = i;
	CHECK_INT(k, 3);
	/* One quantum (16 KiB: 13 datagrams of flow 1) per turn at most. */
	CHECK(pos[2] <= 3 + (FRAME_HEADER + FRAMESCHED_SDATA_MAX) / 1208);
	uint32_t last = 0;
	bool ordered = true;
	for (size_t i = 0; i < o.n; i++)
		if (o.f[i].flow == 1) {
			ordered = ordered && (seq_of(&o.f[i]) >= last);
			last = seq_of(&o.f[i]);
		}
	CHECK(ordered);
	framesched_free(fs);
}

static void
test_time_budget(void)
{
	struct framesched_config cfg = {.data_budget_ms = 50};
	struct framesched *fs = framesched_new(&cfg);
	struct framesched_stats st;

	push_seq(fs, 1, 1, 100, 1000);
	push_seq(fs, 1, 2, 100, 1040);
	push_seq(fs, 2, 3, 100, 1000);
	CHECK(framesched_push(fs, FRAME_SDATA, 3, payload, 100, 1000));
	pull_all(fs, &o, 1060); /* 60 ms: two are late; 20 ms is not */
	CHECK_INT(o.n, 2);
	CHECK_INT(seq_of(&o.f[0]), 2);
	CHECK_INT(o.f[1].type, FRAME_SDATA);
	framesched_stats(fs, &st);
	CHECK_INT(st.dropped, 2);
	CHECK_INT(st.dropped_late, 2);
	CHECK_INT(st.data_sent, 1);
	CHECK_INT(framesched_drops(fs, 1), 1);
	CHECK_INT(framesched_drops(fs, 2), 1);
	CHECK_INT(framesched_forget(fs, 2), 1);
	CHECK_INT(framesched_drops(fs, 2), 0);
	CHECK(!framesched_pending(fs));

	/* Restamp: a relay that took 500 ms to start does not lose what waited. */
	push_seq(fs, 1, 4, 100, 2000);
	framesched_restamp(fs, 2500);
	pull_all(fs, &o, 2540);
	CHECK_INT(o.n, 1);
	framesched_free(fs);
}

static void
test_flow_cap(void)
{
	struct framesched_config cfg = {.data_flow_max = 100000};
	struct framesched *fs = framesched_new(&cfg);
	struct framesched_stats st;

	for (uint32_t i = 0; i < 200; i++)
		push_seq(fs, 1, i, 1000, 0);
	framesched_stats(fs, &st);
	CHECK(st.data_bytes <= 100000);
	CHECK_INT(st.data_frames, 100000 / 1008);
	CHECK_INT(st.dropped_full, 200 - 100000 / 1008);
	CHECK_INT(framesched_drops(fs, 1), st.dropped);
	pull_all(fs, &o, 0);
	CHECK_INT(seq_of(&o.f[0]), 200 - 100000 / 1008); /* the oldest went */
	CHECK_INT(seq_of(&o.f[o.n - 1]), 199);
	framesched_free(fs);

	/* A cap below the largest datagram is raised to it. */
	cfg.data_flow_max = 10;
	fs = framesched_new(&cfg);
	push_seq(fs, 1, 1, FRAME_PAYLOAD_MAX, 0);
	framesched_stats(fs, &st);
	CHECK_INT(st.data_frames, 1);
	CHECK_INT(st.dropped, 0);
	framesched_free(fs);
}

/* The session cap takes from the longest queue, not from the newcomer. */
static void
test_session_cap(void)
{
	struct framesched_config cfg = {.data_flow_max = 100000, .data_total_max = 150000};
	struct framesched *fs = framesched_new(&cfg);
	struct framesched_stats st;

	for (uint32_t i = 0; i < 90; i++)
		push_seq(fs, 1, i, 1000, 0);
	for (uint32_t i = 0; i < 60; i++)
		push_seq(fs, 2, 1000 + i, 1000, 0);
	framesched_stats(fs, &st);
	CHECK(st.data_bytes <= 150000);
	CHECK(framesched_drops(fs, 1) > 0);
	CHECK_INT(framesched_drops(fs, 2), 0);
	CHECK_INT(st.dropped, framesched_drops(fs, 1));
	pull_all(fs, &o, 0);
	size_t from2 = 0;
	for (size_t i = 0; i < o.n; i++)
		from2 += o.f[i].flow == 2;
	CHECK_INT(from2, 60);
	framesched_free(fs);
}

static void
test_forget(void)
{
	struct framesched *fs = framesched_new(NULL);
	struct framesched_stats st;

	push_seq(fs, 3, 1, 100, 0);
	CHECK(framesched_push(fs, FRAME_CLOSE, 3, "\0\0", 2, 0)); /* behind its datagram */
	CHECK(framesched_push(fs, FRAME_SDATA, 4, payload, 30000, 0));
	CHECK(framesched_push(fs, FRAME_SEOF, 4, NULL, 0, 0));
	push_seq(fs, 5, 9, 100, 0);
	CHECK_INT(framesched_forget(fs, 3), 0);
	CHECK_INT(framesched_forget(fs, 4), 0);
	CHECK_INT(framesched_forget(fs, 99), 0);
	framesched_stats(fs, &st);
	CHECK_INT(st.forgotten, 1);
	CHECK_INT(st.stream_bytes, 0);
	CHECK_INT(st.data_frames, 1);
	pull_all(fs, &o, 0);
	/* The control frames stay, first; flow 5 is untouched. */
	CHECK_INT(o.n, 3);
	CHECK_INT(o.f[0].type, FRAME_CLOSE);
	CHECK_INT(o.f[1].type, FRAME_SEOF);
	CHECK_INT(o.f[2].flow, 5);
	framesched_free(fs);
}

/* The channel is gone: everything goes, the drop counts stay until forgotten. */
static void
test_clear(void)
{
	struct framesched_config cfg = {.data_budget_ms = 10};
	struct framesched *fs = framesched_new(&cfg);
	struct framesched_stats st;

	push_seq(fs, 1, 1, 100, 0);
	push_seq(fs, 1, 2, 100, 50); /* the first is late now */
	CHECK(framesched_push(fs, FRAME_SDATA, 2, payload, 100, 50));
	CHECK(framesched_push(fs, FRAME_PING, 0, payload, 8, 50));
	framesched_clear(fs);
	CHECK(!framesched_pending(fs));
	framesched_stats(fs, &st);
	CHECK_INT(st.control_bytes + st.data_bytes + st.stream_bytes + st.data_frames, 0);
	CHECK_INT(st.forgotten, 1);
	CHECK_INT(framesched_drops(fs, 1), 1);
	CHECK_INT(framesched_forget(fs, 1), 1);
	pull_all(fs, &o, 60);
	CHECK_INT(o.n, 0);
	framesched_free(fs);
}

static void
test_pull_bounds(void)
{
	struct framesched *fs = framesched_new(NULL);
	struct buf b;

	buf_init(&b);
	CHECK_INT(framesched_pull(fs, &b, 100, 0), 0);
	CHECK(!framesched_push(fs, FRAME_DATA, 1, payload, FRAME_PAYLOAD_MAX + 1, 0));
	CHECK(!framesched_push(fs, FRAME_SDATA, 1, payload, 0, 0));
	CHECK(framesched_push(fs, FRAME_DATA, 1, payload, 0, 0)); /* an empty datagram is one */
	for (int i = 0; i < 4; i++)
		push_seq(fs, 1, (uint32_t)i, 1000, 0);
	/* At least one frame even if it is bigger than max; whole frames only. */
	CHECK_INT(framesched_pull(fs, &b, 1, 0), FRAME_HEADER);
	CHECK_INT(framesched_pull(fs, &b, 1, 0), 1008);
	CHECK_INT(framesched_pull(fs, &b, 2500, 0), 2016);
	CHECK_INT(framesched_pull(fs, &b, 2500, 0), 1008);
	CHECK_INT(framesched_pull(fs, &b, 2500, 0), 0);
	buf_free(&b);
	framesched_free(fs);
}

/* Many ids: the table grows, and every record goes on forget. */
static void
test_many_ids(void)
{
	struct framesched_config cfg = {.data_budget_ms = 10};
	struct framesched *fs = framesched_new(&cfg);

	for (uint32_t id = 1; id <= 3000; id++)
		push_seq(fs, id, id, 10, 0);
	pull_all(fs, &o, 5);
	CHECK_INT(o.n, 3000);
	for (uint32_t id = 1; id <= 3000; id++)
		push_seq(fs, id, id, 10, 0);
	pull_all(fs, &o, 100);
	CHECK_INT(o.n, 0);
	uint64_t total = 0;
	for (uint32_t id = 1; id <= 3000; id++)
		total += framesched_forget(fs, id);
	CHECK_INT(total, 3000);
	framesched_free(fs);
}

int
main(void)
{
	buf_init(&o.b);
	test_control_first();
	test_stream_order();
	test_fair_share();
	test_time_budget();
	test_flow_cap();
	test_session_cap();
	test_forget();
	test_clear();
	test_pull_bounds();
	test_many_ids();
	buf_free(&o.b);
	return check_done("framesched");
}
