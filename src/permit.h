/*
 * The relay's allow-lists (--permit-open, --permit-listen): HOST:PORT
 * entries matched the way sshd matches PermitOpen and PermitListen, since
 * sshd itself never sees the relay's UDP. Pure.
 *
 * An entry is HOST:PORT, [IPV6]:PORT, "any" or "none". "*" as the host or
 * the port matches any. Hosts compare as text, ignoring ASCII case: the
 * name the client asked for, before any resolution.
 */
#ifndef PORTHOLE_PERMIT_H
#define PORTHOLE_PERMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct permit {
	char *host; /* NULL: any host */
	int port;   /* -1: any port */
};

struct permit_list {
	struct permit *entries;
	size_t n;
	bool given; /* an entry or "none" was given: the caller's default no longer applies */
};

/* Adds one entry; returns 0, or -1 with the reason in err. */
int permit_add(struct permit_list *l, const char *text, char *err, size_t errlen);
bool permit_match(const struct permit_list *l, const char *host, uint16_t port);
void permit_free(struct permit_list *l);

/* Whether host names the loopback interface: localhost, 127.0.0.0/8, ::1. */
bool permit_is_loopback(const char *host);

#endif
