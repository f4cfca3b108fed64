/*
 * Byte queue. Consumed space at the head is reclaimed by moving the live
 * bytes down only when that is cheaper than growing, so steady streaming
 * through a buffer neither grows it nor copies much.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

char *
buf_reserve(struct buf *b, size_t want, size_t *avail)
{
	if (b->len == 0)
		b->off = 0;
	if (b->cap - b->off - b->len < want) {
		if (b->off > 0 && b->cap - b->len >= want && b->len <= b->off) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		} else {
			size_t cap = b->cap ? b->cap : 4096;
			while (cap - b->len < want)
				cap *= 2;
			if (b->off > 0) {
				memmove(b->data, b->data + b->off, b->len);
				b->off = 0;
			}
			if (cap != b->cap) {
				b->data = xrealloc(b->data, cap);
				b->cap = cap;
			}
		}
	}
	if (avail != NULL)
		*avail = b->cap - b->off - b->len;
	return b->data + b->off + b->len;
}

void
buf_commit(struct buf *b, size_t len)
{
	b->len += len;
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	memcpy(buf_reserve(b, len, NULL), data, len);
	b->len += len;
}

void
buf_consume(struct buf *b, size_t len)
{
	if (len >= b->len) {
		b->off = 0;
		b->len = 0;
		return;
	}
	b->off += len;
	b->len -= len;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, again;
	size_t avail;

	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		char *p = buf_reserve(b, (size_t)n + 1, &avail);
		vsnprintf(p, avail, fmt, again);
		buf_commit(b, (size_t)n);
	}
	va_end(again);
}
