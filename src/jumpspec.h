/*
 * ProxyJump's value and -J's argument: "[user@]host[:port][,...]", IPv6
 * literals in brackets ("[::1]:2222"), or "none". Pure: no I/O.
 */
#ifndef PORTHOLE_JUMPSPEC_H
#define PORTHOLE_JUMPSPEC_H

#include <stdbool.h>
#include <stddef.h>

#define JUMPSPEC_MAX_HOPS 16

struct jump_hop {
	char *user; /* NULL: not given */
	char *host; /* without brackets */
	int port;   /* -1: not given */
};

struct jumpspec {
	struct jump_hop hops[JUMPSPEC_MAX_HOPS];
	int n;
	bool none; /* "none": no jump host */
};

/*
 * Parses text into *out (filled from scratch; free with jumpspec_free).
 * Returns 0, or -1 with err naming the bad hop ("bad jump host 'a:b:c'
 * (expected [user@]host[:port])", "more than 16 jump hosts") and *out empty.
 */
int jumpspec_parse(const char *text, struct jumpspec *out, char *err, size_t errlen);
void jumpspec_free(struct jumpspec *j);

/* One hop as text again, "user@host:port" with what was given. */
void jumpspec_format_hop(const struct jump_hop *h, char *out, size_t outlen);

#endif
