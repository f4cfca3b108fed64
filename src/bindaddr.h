/*
 * The local end of the SSH connection: BindAddress or BindInterface made
 * into a socket address of the family being dialled.
 */
#ifndef PORTHOLE_BINDADDR_H
#define PORTHOLE_BINDADDR_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Fills out with the address to bind a socket of family to before it
 * connects: the first address of interface (when set; link-local IPv6
 * addresses skipped), else address (a numeric address or a name, resolved
 * as ssh does with AI_PASSIVE). Returns 1 when there is nothing to bind
 * (both NULL or "none"), 0 when out is set, -1 with err saying why not.
 */
int bindaddr_resolve(const char *address, const char *interface, int family,
    struct sockaddr_storage *out, socklen_t *outlen, char *err, size_t errlen);

#endif
