/*
 * Flow table. Two chained hash tables (by id, and by listener + source
 * address for accepted flows) share one bucket count, doubled when the flows
 * outnumber the buckets, and a doubly linked list keeps the flows in order of
 * last use, oldest first, so eviction and the idle sweep never search.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "xmalloc.h"

#define BUCKETS_MIN 64

struct flow_table {
	struct flow **by_id;
	struct flow **by_source;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct flow *oldest, *newest;
};

static size_t
hash_id(uint32_t id)
{
	return (size_t)((id * 2654435761u) ^ (id >> 16));
}

static uint32_t
fnv1a(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* Hashes and compares only what identifies a source: family, address, port
 * (and the IPv6 scope), never the padding of a sockaddr_storage. */
static size_t
hash_source(uint32_t listener, const struct sockaddr *sa)
{
	uint32_t h = fnv1a(2166136261u, &listener, sizeof(listener));

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		h = fnv1a(h, &in->sin_addr, sizeof(in->sin_addr));
		h = fnv1a(h, &in->sin_port, sizeof(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		h = fnv1a(h, &in6->sin6_addr, sizeof(in6->sin6_addr));
		h = fnv1a(h, &in6->sin6_port, sizeof(in6->sin6_port));
		h = fnv1a(h, &in6->sin6_scope_id, sizeof(in6->sin6_scope_id));
	}
	return h;
}

static bool
same_source(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		    memcmp(&x->sin_addr, &y->sin_addr, sizeof(x->sin_addr)) == 0;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static bool
is_accepted(const struct flow *f)
{
	return f->listener != 0;
}

struct flow_table *
flow_table_new(void)
{
	struct flow_table *t = xcalloc(1, sizeof(*t));

	t->nbuckets = BUCKETS_MIN;
	t->by_id = xcalloc(t->nbuckets, sizeof(*t->by_id));
	t->by_source = xcalloc(t->nbuckets, sizeof(*t->by_source));
	return t;
}

void
flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	free(t->by_id);
	free(t->by_source);
	free(t);
}

size_t
flow_table_count(const struct flow_table *t)
{
	return t->count;
}

static void
link_hashes(struct flow_table *t, struct flow *f)
{
	size_t mask = t->nbuckets - 1;
	struct flow **b = &t->by_id[hash_id(f->id) & mask];

	f->id_next = *b;
	*b = f;
	f->src_next = NULL;
	if (is_accepted(f)) {
		b = &t->by_source[hash_source(f->listener, (struct sockaddr *)&f->source) & mask];
		f->src_next = *b;
		*b = f;
	}
}

static void
grow(struct flow_table *t)
{
	free(t->by_id);
	free(t->by_source);
	t->nbuckets *= 2;
	t->by_id = xcalloc(t->nbuckets, sizeof(*t->by_id));
	t->by_source = xcalloc(t->nbuckets, sizeof(*t->by_source));
	for (struct flow *f = t->oldest; f != NULL; f = f->newer)
		link_hashes(t, f);
}

static void
lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->older != NULL)
		f->older->newer = f->newer;
	else
		t->oldest = f->newer;
	if (f->newer != NULL)
		f->newer->older = f->older;
	else
		t->newest = f->older;
	f->older = f->newer = NULL;
}

static void
lru_append(struct flow_table *t, struct flow *f)
{
	f->older = t->newest;
	f->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = f;
	else
		t->oldest = f;
	t->newest = f;
}

void
flow_table_add(struct flow_table *t, struct flow *f, uint64_t now)
{
	f->last_used = now;
	lru_append(t, f);
	t->count++;
	if (t->count > t->nbuckets)
		grow(t); /* relinks every flow, f included */
	else
		link_hashes(t, f);
}

void
flow_table_remove(struct flow_table *t, struct flow *f)
{
	size_t mask = t->nbuckets - 1;
	struct flow **p;

	for (p = &t->by_id[hash_id(f->id) & mask]; *p != NULL; p = &(*p)->id_next) {
		if (*p == f) {
			*p = f->id_next;
			break;
		}
	}
	if (is_accepted(f)) {
		p = &t->by_source[hash_source(f->listener, (struct sockaddr *)&f->source) & mask];
		for (; *p != NULL; p = &(*p)->src_next) {
			if (*p == f) {
				*p = f->src_next;
				break;
			}
		}
	}
	f->id_next = f->src_next = NULL;
	lru_unlink(t, f);
	t->count--;
}

void
flow_table_touch(struct flow_table *t, struct flow *f, uint64_t now)
{
	f->last_used = now;
	if (t->newest != f) {
		lru_unlink(t, f);
		lru_append(t, f);
	}
}

struct flow *
flow_table_find(const struct flow_table *t, uint32_t id)
{
	struct flow *f = t->by_id[hash_id(id) & (t->nbuckets - 1)];

	while (f != NULL && f->id != id)
		f = f->id_next;
	return f;
}

struct flow *
flow_table_find_source(const struct flow_table *t, uint32_t listener, const struct sockaddr *source)
{
	struct flow *f = t->by_source[hash_source(listener, source) & (t->nbuckets - 1)];

	while (f != NULL &&
	    (f->listener != listener || !same_source((struct sockaddr *)&f->source, source)))
		f = f->src_next;
	return f;
}

struct flow *
flow_table_oldest(const struct flow_table *t)
{
	return t->oldest;
}
