/*
 * Allocation that cannot fail: on exhaustion porthole logs and exits, since
 * there is no useful way for a forwarder to continue without memory.
 */
#ifndef PORTHOLE_XMALLOC_H
#define PORTHOLE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void xmalloc_keep_heap(void);

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
