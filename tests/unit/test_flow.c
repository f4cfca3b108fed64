/*
 * Unit tests for flow.c: lookups by id and by listener + source, LRU order
 * under touch and remove, and the table growing past its first buckets with
 * every flow still found.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flow.h"

static struct sockaddr_in
v4(const char *addr, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	return sin;
}

static struct sockaddr_in6
v6(const char *addr, uint16_t port)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &sin6.sin6_addr);
	return sin6;
}

static void
accepted(struct flow *f, uint32_t id, uint32_t listener, const void *sa, size_t salen)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->listener = listener;
	memcpy(&f->source, sa, salen);
}

static void
test_lookup(void)
{
	struct flow_table *t = flow_table_new();
	struct flow a = {.id = 1}, b = {.id = 2}, c, d, e;
	struct sockaddr_in s1 = v4("127.0.0.1", 5000), s2 = v4("127.0.0.1", 5001);
	struct sockaddr_in6 s3 = v6("::1", 5000);
	struct sockaddr_in junk = s1;

	accepted(&c, 0x80000001u, 7, &s1, sizeof(s1));
	accepted(&d, 0x80000002u, 7, &s2, sizeof(s2));
	accepted(&e, 0x80000003u, 8, &s3, sizeof(s3));
	flow_table_add(t, &a, 10);
	flow_table_add(t, &b, 11);
	flow_table_add(t, &c, 12);
	flow_table_add(t, &d, 13);
	flow_table_add(t, &e, 14);
	CHECK_INT(flow_table_count(t), 5);
	CHECK(flow_table_find(t, 1) == &a);
	CHECK(flow_table_find(t, 0x80000002u) == &d);
	CHECK(flow_table_find(t, 3) == NULL);
	CHECK(flow_table_find_source(t, 7, (struct sockaddr *)&s1) == &c);
	CHECK(flow_table_find_source(t, 7, (struct sockaddr *)&s2) == &d);
	CHECK(flow_table_find_source(t, 8, (struct sockaddr *)&s1) == NULL);
	CHECK(flow_table_find_source(t, 8, (struct sockaddr *)&s3) == &e);
	/* Only family, address and port count, not what else the sockaddr holds. */
	memset(junk.sin_zero, 0xAA, sizeof(junk.sin_zero));
	CHECK(flow_table_find_source(t, 7, (struct sockaddr *)&junk) == &c);
	/* A flow not accepted on a listener is never found by source. */
	CHECK(flow_table_find_source(t, 0, (struct sockaddr *)&a.source) == NULL);
	flow_table_remove(t, &c);
	CHECK(flow_table_find(t, 0x80000001u) == NULL);
	CHECK(flow_table_find_source(t, 7, (struct sockaddr *)&s1) == NULL);
	CHECK(flow_table_find_source(t, 7, (struct sockaddr *)&s2) == &d);
	CHECK_INT(flow_table_count(t), 4);
	flow_table_free(t);
	flow_table_free(NULL);
}

static void
test_lru(void)
{
	struct flow_table *t = flow_table_new();
	struct flow f[4] = {{.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
	struct flow *x;
	uint32_t order[4];
	int n = 0;

	CHECK(flow_table_oldest(t) == NULL);
	for (int i = 0; i < 4; i++)
		flow_table_add(t, &f[i], (uint64_t)i);
	CHECK(flow_table_oldest(t) == &f[0]);
	flow_table_touch(t, &f[0], 100);
	flow_table_touch(t, &f[2], 101);
	flow_table_touch(t, &f[2], 102); /* already the newest */
	CHECK_INT(f[2].last_used, 102);
	for (x = flow_table_oldest(t); x != NULL && n < 4; x = flow_newer(x))
		order[n++] = x->id;
	CHECK_INT(n, 4);
	CHECK_INT(order[0], 2);
	CHECK_INT(order[1], 4);
	CHECK_INT(order[2], 1);
	CHECK_INT(order[3], 3);
	/* Removing while walking, taking the next one first. */
	for (x = flow_table_oldest(t); x != NULL;) {
		struct flow *next = flow_newer(x);
		if (x->id % 2 == 0)
			flow_table_remove(t, x);
		x = next;
	}
	CHECK(flow_table_oldest(t) == &f[0]);
	CHECK(flow_newer(&f[0]) == &f[2]);
	CHECK(flow_newer(&f[2]) == NULL);
	flow_table_remove(t, &f[2]);
	flow_table_remove(t, &f[0]);
	CHECK(flow_table_oldest(t) == NULL);
	CHECK_INT(flow_table_count(t), 0);
	flow_table_free(t);
}

static void
test_grow(void)
{
	enum { N = 5000 };
	struct flow_table *t = flow_table_new();
	struct flow *f = calloc(N, sizeof(*f));
	int found = 0, by_source = 0;

	for (int i = 0; i < N; i++) {
		struct sockaddr_in s = v4("10.0.0.1", (uint16_t)(1000 + i));
		if (i % 2)
			accepted(&f[i], 0x80000000u | (uint32_t)i, 9, &s, sizeof(s));
		else
			f[i].id = (uint32_t)i + 1;
		flow_table_add(t, &f[i], (uint64_t)i);
	}
	for (int i = 0; i < N; i++) {
		struct sockaddr_in s = v4("10.0.0.1", (uint16_t)(1000 + i));
		found += flow_table_find(t, f[i].id) == &f[i];
		if (i % 2)
			by_source += flow_table_find_source(t, 9, (struct sockaddr *)&s) == &f[i];
	}
	CHECK_INT(found, N);
	CHECK_INT(by_source, N / 2);
	CHECK(flow_table_oldest(t) == &f[0]);
	for (int i = 0; i < N; i++)
		flow_table_remove(t, &f[i]);
	CHECK_INT(flow_table_count(t), 0);
	CHECK(flow_table_find(t, 1) == NULL);
	flow_table_free(t);
	free(f);
}

int
main(void)
{
	test_lookup();
	test_lru();
	test_grow();
	return check_done("flow");
}
