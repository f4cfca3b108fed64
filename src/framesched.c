/*
 * Frame scheduler. Control frames wait in one FIFO. Each id with DATA or
 * SDATA queued has a queue of its own (found by a small hash table) and
 * sits on the active ring, which deficit round robin walks: an id gets a
 * quantum of bytes when its turn starts, sends while its next frame fits
 * what it has, and keeps the rest for its next turn; an id whose queue
 * empties leaves the ring (and its deficit goes). The ring position lives
 * across pulls, so a pull that stops because out is full resumes the same
 * turn.
 *
 * A queue record outlives its frames only to keep a drop count the owner has
 * not yet read with framesched_forget.
 */
#include <stdlib.h>
#include <string.h>

#include "framesched.h"
#include "xmalloc.h"

#define DEFAULT_BUDGET_MS 100
#define DEFAULT_FLOW_MAX (1024 * 1024)
#define DEFAULT_TOTAL_MAX (4 * 1024 * 1024)
#define DATA_FRAME_MAX (FRAME_HEADER + FRAME_PAYLOAD_MAX)

struct fs_frame {
	struct fs_frame *next;
	uint64_t queued; /* ms */
	uint32_t id;
	uint8_t type;
	size_t len, off; /* payload bytes; SDATA: bytes already sent */
	uint8_t payload[];
};

struct fs_queue {
	uint32_t id;
	struct fs_queue *hash_next;
	struct fs_queue *prev, *next; /* the active ring, while frames are queued */
	struct fs_frame *head, *tail;
	size_t data_bytes; /* its DATA frames, headers included */
	size_t deficit;
	uint64_t drops;
};

struct framesched {
	struct framesched_config cfg;
	struct fs_frame *ctl_head, *ctl_tail;
	struct fs_queue **buckets;
	size_t nbuckets, nqueues;
	struct fs_queue *cur; /* whose turn it is; NULL: the ring is empty */
	bool cur_granted;     /* cur had its quantum for this turn */
	struct framesched_stats st;
};

static bool
is_bulk(uint8_t type)
{
	return type == FRAME_DATA || type == FRAME_SDATA;
}

static size_t
bucket_of(const struct framesched *fs, uint32_t id)
{
	return (size_t)((id * 2654435761u) >> 8) & (fs->nbuckets - 1);
}

static struct fs_queue *
find(const struct framesched *fs, uint32_t id)
{
	struct fs_queue *q = fs->buckets[bucket_of(fs, id)];

	while (q != NULL && q->id != id)
		q = q->hash_next;
	return q;
}

static void
grow(struct framesched *fs)
{
	struct fs_queue **old = fs->buckets;
	size_t n = fs->nbuckets;

	fs->nbuckets *= 2;
	fs->buckets = xcalloc(fs->nbuckets, sizeof(*fs->buckets));
	for (size_t i = 0; i < n; i++) {
		struct fs_queue *q = old[i], *next;
		for (; q != NULL; q = next) {
			next = q->hash_next;
			size_t b = bucket_of(fs, q->id);
			q->hash_next = fs->buckets[b];
			fs->buckets[b] = q;
		}
	}
	free(old);
}

static struct fs_queue *
find_or_add(struct framesched *fs, uint32_t id)
{
	struct fs_queue *q = find(fs, id);

	if (q != NULL)
		return q;
	if (fs->nqueues >= fs->nbuckets * 2)
		grow(fs);
	q = xcalloc(1, sizeof(*q));
	q->id = id;
	size_t b = bucket_of(fs, id);
	q->hash_next = fs->buckets[b];
	fs->buckets[b] = q;
	fs->nqueues++;
	return q;
}

static void
unhash(struct framesched *fs, struct fs_queue *q)
{
	struct fs_queue **pp = &fs->buckets[bucket_of(fs, q->id)];

	while (*pp != q)
		pp = &(*pp)->hash_next;
	*pp = q->hash_next;
	fs->nqueues--;
	free(q);
}

static void
ring_join(struct framesched *fs, struct fs_queue *q)
{
	if (fs->cur == NULL) {
		q->prev = q->next = q;
		fs->cur = q;
		fs->cur_granted = false;
		return;
	}
	/* Last in the round: just before whoever's turn it is. */
	q->next = fs->cur;
	q->prev = fs->cur->prev;
	q->prev->next = q;
	fs->cur->prev = q;
}

/* q's queue emptied: it leaves the ring, and the record goes if it has no drops to tell. */
static void
ring_leave(struct framesched *fs, struct fs_queue *q)
{
	if (fs->cur == q) {
		fs->cur = q->next == q ? NULL : q->next;
		fs->cur_granted = false;
	}
	q->prev->next = q->next;
	q->next->prev = q->prev;
	q->prev = q->next = NULL;
	q->deficit = 0;
	if (q->drops == 0)
		unhash(fs, q);
}

static size_t
frame_bytes(const struct fs_frame *f)
{
	return FRAME_HEADER + f->len;
}

static void
account(struct framesched *fs, const struct fs_frame *f, bool add)
{
	size_t *field = f->type == FRAME_DATA ? &fs->st.data_bytes
	    : f->type == FRAME_SDATA	      ? &fs->st.stream_bytes
					      : &fs->st.control_bytes;
	size_t n = f->type == FRAME_SDATA ? f->len - f->off : frame_bytes(f);

	if (add) {
		*field += n;
		fs->st.data_frames += f->type == FRAME_DATA;
	} else {
		*field -= n;
		fs->st.data_frames -= f->type == FRAME_DATA;
	}
}

/* Unlinks f (after prev, or the head) from q, and frees it. */
static void
unlink_frame(struct framesched *fs, struct fs_queue *q, struct fs_frame *prev, struct fs_frame *f)
{
	account(fs, f, false);
	if (f->type == FRAME_DATA)
		q->data_bytes -= frame_bytes(f);
	if (prev == NULL)
		q->head = f->next;
	else
		prev->next = f->next;
	if (q->tail == f)
		q->tail = prev;
	free(f);
}

static void
drop(
    struct framesched *fs, struct fs_queue *q, struct fs_frame *prev, struct fs_frame *f, bool late)
{
	q->drops++;
	fs->st.dropped++;
	if (late)
		fs->st.dropped_late++;
	else
		fs->st.dropped_full++;
	unlink_frame(fs, q, prev, f);
}

/* Drops q's oldest datagram; false if it has none. */
static bool
drop_oldest(struct framesched *fs, struct fs_queue *q)
{
	struct fs_frame *prev = NULL, *f;

	for (f = q->head; f != NULL && f->type != FRAME_DATA; f = f->next)
		prev = f;
	if (f == NULL)
		return false;
	drop(fs, q, prev, f, false);
	return true;
}

/* Drops the datagrams at the head of q that waited longer than the budget. */
static void
expire(struct framesched *fs, struct fs_queue *q, uint64_t now)
{
	while (q->head != NULL && q->head->type == FRAME_DATA && now > q->head->queued &&
	    now - q->head->queued > fs->cfg.data_budget_ms)
		drop(fs, q, NULL, q->head, true);
}

/* The queue with the most DATA bytes (there is one: the session cap is over 0). */
static struct fs_queue *
longest(const struct framesched *fs)
{
	struct fs_queue *best = NULL, *q = fs->cur;

	if (q == NULL)
		return NULL;
	do {
		if (best == NULL || q->data_bytes > best->data_bytes)
			best = q;
		q = q->next;
	} while (q != fs->cur);
	return best;
}

/* Enforces the caps after a datagram joined q. A queue emptied here leaves the ring. */
static void
enforce_caps(struct framesched *fs, struct fs_queue *q)
{
	while (q->data_bytes > fs->cfg.data_flow_max && drop_oldest(fs, q))
		;
	while (fs->st.data_bytes > fs->cfg.data_total_max) {
		struct fs_queue *l = longest(fs);
		if (l == NULL || !drop_oldest(fs, l))
			break;
		if (l->head == NULL)
			ring_leave(fs, l);
	}
	if (q->head == NULL && q->next != NULL)
		ring_leave(fs, q);
}

static struct fs_frame *
frame_new(enum frame_type type, uint32_t id, const void *payload, size_t len, uint64_t now)
{
	struct fs_frame *f = xmalloc(sizeof(*f) + len);

	f->next = NULL;
	f->queued = now;
	f->id = id;
	f->type = (uint8_t)type;
	f->len = len;
	f->off = 0;
	if (len > 0)
		memcpy(f->payload, payload, len);
	return f;
}

static void
append(struct fs_frame **head, struct fs_frame **tail, struct fs_frame *f)
{
	if (*tail == NULL)
		*head = f;
	else
		(*tail)->next = f;
	*tail = f;
}

bool
framesched_push(struct framesched *fs, enum frame_type type, uint32_t id, const void *payload,
    size_t len, uint64_t now)
{
	struct fs_queue *q;
	struct fs_frame *f;

	if (len > FRAME_PAYLOAD_MAX || (type == FRAME_SDATA && len == 0))
		return false;
	f = frame_new(type, id, payload, len, now);
	account(fs, f, true);
	if (!is_bulk(f->type)) {
		q = id != 0 && type != FRAME_SWINDOW ? find(fs, id) : NULL;
		if (q != NULL && q->head != NULL)
			append(&q->head, &q->tail, f); /* after its id's data: order within an id */
		else
			append(&fs->ctl_head, &fs->ctl_tail, f);
		return true;
	}
	q = find_or_add(fs, id);
	if (q->head == NULL)
		ring_join(fs, q);
	append(&q->head, &q->tail, f);
	if (f->type == FRAME_DATA) {
		q->data_bytes += frame_bytes(f);
		expire(fs, q, now);
		enforce_caps(fs, q);
	}
	return true;
}

/* The next frame of q as it would leave: SDATA is cut. */
static size_t
next_size(const struct fs_frame *f)
{
	size_t left = f->len - f->off;

	if (f->type == FRAME_SDATA && left > FRAMESCHED_SDATA_MAX)
		left = FRAMESCHED_SDATA_MAX;
	return FRAME_HEADER + left;
}

/* Writes q's head frame (or SDATA's next piece) to out; returns its size. */
static size_t
emit_head(struct framesched *fs, struct fs_queue *q, struct buf *out)
{
	struct fs_frame *f = q->head;
	size_t size = next_size(f), piece = size - FRAME_HEADER;
	uint8_t hdr[FRAME_HEADER];

	frame_header(hdr, f->type, f->id, (uint16_t)piece);
	buf_append(out, hdr, sizeof(hdr));
	buf_append(out, f->payload + f->off, piece);
	if (f->type == FRAME_SDATA && f->off + piece < f->len) {
		f->off += piece;
		fs->st.stream_bytes -= piece;
		return size;
	}
	if (f->type == FRAME_DATA)
		fs->st.data_sent++;
	unlink_frame(fs, q, NULL, f);
	return size;
}

static size_t
pull_control(struct framesched *fs, struct buf *out, size_t max)
{
	size_t added = 0;

	while (fs->ctl_head != NULL) {
		struct fs_frame *f = fs->ctl_head;
		size_t size = frame_bytes(f);
		uint8_t hdr[FRAME_HEADER];
		if (added > 0 && added + size > max)
			break;
		frame_header(hdr, f->type, f->id, (uint16_t)f->len);
		buf_append(out, hdr, sizeof(hdr));
		buf_append(out, f->payload, f->len);
		added += size;
		account(fs, f, false);
		fs->ctl_head = f->next;
		if (fs->ctl_head == NULL)
			fs->ctl_tail = NULL;
		free(f);
	}
	return added;
}

size_t
framesched_pull(struct framesched *fs, struct buf *out, size_t max, uint64_t now)
{
	size_t added = pull_control(fs, out, max);

	if (fs->ctl_head != NULL)
		return added;
	while (fs->cur != NULL) {
		struct fs_queue *q = fs->cur;
		expire(fs, q, now);
		if (q->head == NULL) {
			ring_leave(fs, q);
			continue;
		}
		if (!fs->cur_granted) {
			q->deficit += fs->cfg.quantum;
			fs->cur_granted = true;
		}
		size_t size = next_size(q->head);
		if (size > q->deficit) {
			fs->cur = q->next;
			fs->cur_granted = false;
			continue;
		}
		if (added > 0 && added + size > max)
			break;
		added += emit_head(fs, q, out);
		q->deficit -= size;
	}
	return added;
}

bool
framesched_pending(const struct framesched *fs)
{
	return fs->ctl_head != NULL || fs->cur != NULL;
}

uint64_t
framesched_forget(struct framesched *fs, uint32_t id)
{
	struct fs_queue *q = find(fs, id);
	uint64_t drops;

	if (q == NULL)
		return 0;
	drops = q->drops;
	q->drops = 0;
	while (q->head != NULL) {
		struct fs_frame *f = q->head;
		if (!is_bulk(f->type)) {
			/* Control frames are never discarded: they go first now. */
			q->head = f->next;
			f->next = NULL;
			append(&fs->ctl_head, &fs->ctl_tail, f);
			continue;
		}
		if (f->type == FRAME_DATA)
			fs->st.forgotten++;
		unlink_frame(fs, q, NULL, f);
	}
	q->tail = NULL;
	if (q->next != NULL)
		ring_leave(fs, q);
	else
		unhash(fs, q);
	return drops;
}

void
framesched_clear(struct framesched *fs)
{
	while (fs->ctl_head != NULL) {
		struct fs_frame *f = fs->ctl_head;
		account(fs, f, false);
		fs->ctl_head = f->next;
		free(f);
	}
	fs->ctl_tail = NULL;
	while (fs->cur != NULL) {
		struct fs_queue *q = fs->cur;
		while (q->head != NULL) {
			fs->st.forgotten += q->head->type == FRAME_DATA;
			unlink_frame(fs, q, NULL, q->head);
		}
		ring_leave(fs, q);
	}
}

uint64_t
framesched_drops(const struct framesched *fs, uint32_t id)
{
	const struct fs_queue *q = find(fs, id);

	return q != NULL ? q->drops : 0;
}

void
framesched_restamp(struct framesched *fs, uint64_t now)
{
	for (size_t i = 0; i < fs->nbuckets; i++)
		for (struct fs_queue *q = fs->buckets[i]; q != NULL; q = q->hash_next)
			for (struct fs_frame *f = q->head; f != NULL; f = f->next)
				f->queued = now;
}

void
framesched_stats(const struct framesched *fs, struct framesched_stats *st)
{
	*st = fs->st;
}

struct framesched *
framesched_new(const struct framesched_config *cfg)
{
	struct framesched *fs = xcalloc(1, sizeof(*fs));

	if (cfg != NULL)
		fs->cfg = *cfg;
	if (fs->cfg.data_budget_ms == 0)
		fs->cfg.data_budget_ms = DEFAULT_BUDGET_MS;
	if (fs->cfg.data_flow_max == 0)
		fs->cfg.data_flow_max = DEFAULT_FLOW_MAX;
	if (fs->cfg.data_flow_max < DATA_FRAME_MAX)
		fs->cfg.data_flow_max = DATA_FRAME_MAX;
	if (fs->cfg.data_total_max == 0)
		fs->cfg.data_total_max = DEFAULT_TOTAL_MAX;
	if (fs->cfg.data_total_max < fs->cfg.data_flow_max)
		fs->cfg.data_total_max = fs->cfg.data_flow_max;
	if (fs->cfg.quantum == 0)
		fs->cfg.quantum = FRAME_HEADER + FRAMESCHED_SDATA_MAX;
	fs->nbuckets = 64;
	fs->buckets = xcalloc(fs->nbuckets, sizeof(*fs->buckets));
	return fs;
}

void
framesched_free(struct framesched *fs)
{
	if (fs == NULL)
		return;
	while (fs->ctl_head != NULL) {
		struct fs_frame *f = fs->ctl_head;
		fs->ctl_head = f->next;
		free(f);
	}
	for (size_t i = 0; i < fs->nbuckets; i++) {
		struct fs_queue *q = fs->buckets[i], *next;
		for (; q != NULL; q = next) {
			next = q->hash_next;
			while (q->head != NULL) {
				struct fs_frame *f = q->head;
				q->head = f->next;
				free(f);
			}
			free(q);
		}
	}
	free(fs->buckets);
	free(fs);
}
