/*
 * The xmalloc family: allocation failure is fatal.
 */
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "xmalloc.h"

static void
oom(size_t size)
{
	fprintf(stderr, "porthole: out of memory allocating %zu bytes\n", size);
	abort();
}

/*
 * For the relay: frames of up to 64 KiB come and go in FIFO order while data
 * flows, so the top of its heap keeps growing and shrinking, and glibc gives
 * it back with brk(2) each time more than 128 KiB is free there; on a VM
 * each shrink is a TLB flush on every CPU. That was a quarter of the relay's
 * CPU during a download (perf; docs/benchmarks.md "Issue 13, session 19").
 * Keeping up to KEEP_HEAP free at the top ends it. Setting the trim
 * threshold also fixes the mmap threshold (glibc stops moving it), so that
 * is set too, or every buffer over 128 KiB would be an mmap and a munmap.
 * Not for the client: its buffers are larger and longer-lived, and its
 * memory after a burst is what users see in top(1).
 */
#define KEEP_HEAP (2 * 1024 * 1024)
#define MMAP_FROM (1024 * 1024)

void
xmalloc_keep_heap(void)
{
#ifdef __GLIBC__
	(void)mallopt(M_MMAP_THRESHOLD, MMAP_FROM);
	(void)mallopt(M_TRIM_THRESHOLD, KEEP_HEAP);
#endif
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		oom(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);
	if (p == NULL)
		oom(size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
