/*
 * Who is at the other end of an accepted loopback TCP connection: the uid
 * owning the connecting socket, found by its addresses. On Linux the kernel
 * is asked through sock_diag (NETLINK_SOCK_DIAG, one exact lookup by the
 * four addresses); where that is not there, /proc/net/tcp{,6} is read
 * (procnet.c). Elsewhere the owner cannot be found.
 */
#ifndef PORTHOLE_PEERCRED_H
#define PORTHOLE_PEERCRED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether this system can say who owns a connecting socket. */
bool peercred_supported(void);

/*
 * Opens the kernel query socket now, so that running out of descriptors
 * later does not also stop the checks. Harmless to call again.
 */
void peercred_prepare(void);

/*
 * The uid that owns the socket connected to fd (an accepted connection
 * from this machine). 0 with *uid set, or -1 with err saying why the owner
 * cannot be known (the client closed already, the peer is not on this
 * machine, no interface to ask).
 */
int peercred_uid(int fd, uid_t *uid, char *err, size_t errlen);

#endif
