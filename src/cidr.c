/*
 * CIDR list matching (see cidr.h), with inet_pton for the parsing: the
 * addresses are compared as byte strings, the first len bits.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

struct net {
	int family;
	unsigned char a[16];
	unsigned bits; /* 32 or 128 */
};

static bool
parse_addr(const char *s, struct net *n)
{
	if (inet_pton(AF_INET, s, n->a) == 1) {
		n->family = AF_INET;
		n->bits = 32;
		return true;
	}
	if (inet_pton(AF_INET6, s, n->a) == 1) {
		n->family = AF_INET6;
		n->bits = 128;
		return true;
	}
	return false;
}

/* Whether the first len bits of a and b agree. */
static bool
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* One list entry into net and len; -1 with err if malformed. */
static int
parse_entry(const char *entry, size_t n, struct net *net, unsigned *len, char *err, size_t errlen)
{
	char buf[64];
	const char *ok = "0123456789abcdefABCDEF.:/";

	if (n == 0 || n >= sizeof(buf) || strspn(entry, ok) < n) {
		snprintf(err, errlen, "bad network '%.*s'", (int)(n < 64 ? n : 64), entry);
		return -1;
	}
	memcpy(buf, entry, n);
	buf[n] = '\0';
	char *slash = strchr(buf, '/');
	long l = -1;
	if (slash != NULL) {
		char *end;
		*slash = '\0';
		l = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0')
			l = 999;
	}
	if (!parse_addr(buf, net)) {
		snprintf(err, errlen, "bad network '%.*s'", (int)n, entry);
		return -1;
	}
	*len = l == -1 ? net->bits : (unsigned)l;
	unsigned char host[16];
	memcpy(host, net->a, 16);
	if (l > (long)net->bits) {
		snprintf(err, errlen, "bad mask length in '%.*s'", (int)n, entry);
		return -1;
	}
	/* Host bits must be zero: compare the address with itself masked. */
	for (unsigned i = *len; i < net->bits; i++)
		host[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	if (memcmp(host, net->a, net->bits / 8) != 0) {
		snprintf(err, errlen, "host bits set in '%.*s'", (int)n, entry);
		return -1;
	}
	return 0;
}

int
cidr_match_list(const char *addr, const char *list, char *err, size_t errlen)
{
	struct net want, net;
	bool have = addr != NULL && parse_addr(addr, &want);
	int found = 0;

	for (;;) {
		size_t n = strcspn(list, ",");
		unsigned len;
		if (parse_entry(list, n, &net, &len, err, errlen) == -1)
			return -1;
		if (have && found == 0 && net.family == want.family &&
		    prefix_equal(net.a, want.a, len))
			found = 1;
		if (list[n] == '\0')
			return found;
		list += n + 1;
	}
}
