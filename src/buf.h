/*
 * A growable byte queue: append at the tail, consume from the head. Used for
 * the SSH socket's send queue and each link's bytes bound for a channel.
 */
#ifndef PORTHOLE_BUF_H
#define PORTHOLE_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t off; /* first unconsumed byte */
	size_t len; /* unconsumed bytes */
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_consume(struct buf *b, size_t len);
/* Space for at least want bytes at the tail; *avail gets how much there is. */
char *buf_reserve(struct buf *b, size_t want, size_t *avail);
/* Marks len bytes written into the space buf_reserve returned. */
void buf_commit(struct buf *b, size_t len);
/* Appends printf-style text, whole (no length limit, no terminating NUL queued). */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline char *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

static inline size_t
buf_len(const struct buf *b)
{
	return b->len;
}

#endif
