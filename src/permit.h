/*
 * The relay's allow-lists (--permit-open, --permit-listen): HOST:PORT
 * entries matched the way sshd matches PermitOpen and PermitListen, since
 * sshd itself never sees the relay's UDP. Pure.
 *
 * An entry is HOST:PORT, [IPV6]:PORT, "any" or "none"; where the caller
 * allows it (--permit-listen, like sshd's PermitListen), PORT alone, which
 * matches loopback hosts only. "*" as the host or the port matches any.
 * Hosts compare as text, ignoring ASCII case: the name the client asked
 * for, before any resolution.
 */
#ifndef PORTHOLE_PERMIT_H
#define PORTHOLE_PERMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct permit {
	char *host;    /* NULL: any host (or any loopback host) */
	bool loopback; /* PORT alone: loopback hosts only */
	int port;      /* -1: any port */
};

struct permit_list {
	struct permit *entries;
	size_t n;
	bool given; /* an entry or "none" was given: the caller's default no longer applies */
};

/* Adds one entry (PORT alone only if port_only); returns 0, or -1 with the
 * reason in err. */
int permit_add(struct permit_list *l, const char *text, bool port_only, char *err, size_t errlen);
bool permit_match(const struct permit_list *l, const char *host, uint16_t port);
/* --permit-open's rule: anything while no entry was given, else permit_match. */
bool permit_open_allows(const struct permit_list *l, const char *host, uint16_t port);
void permit_free(struct permit_list *l);

/* Whether host names the loopback interface: localhost, 127.0.0.0/8, ::1. */
bool permit_is_loopback(const char *host);

#endif
