/*
 * Host key policy: which host key algorithms to ask for, and whether the key
 * the server showed may be trusted. Glue between libssh2 and knownhosts.c.
 */
#ifndef PORTHOLE_HOSTKEY_H
#define PORTHOLE_HOSTKEY_H

#include <libssh2.h>
#include <stdbool.h>
#include <stddef.h>

#include "option.h"

/* "~/x" to "$HOME/x"; returns a new string. */
char *hostkey_expand_path(const char *path);

/*
 * Sets the session's host key algorithm preference: list (resolved
 * HostKeyAlgorithms), and when that is the default, the types known_hosts
 * holds for the host first, as OpenSSH does. The list set goes into used.
 */
void hostkey_set_prefs(LIBSSH2_SESSION *s, const char *list, bool is_default,
    const char *known_hosts, const char *host, int port, char *used, size_t usedlen);

/*
 * Checks the session's host key. Returns 0 if it is trusted (possibly after
 * asking, or adding it under accept-new), -1 with a one-line reason in err.
 */
int hostkey_verify(LIBSSH2_SESSION *s, const char *known_hosts, enum strict_hostkey strict,
    const char *host, int port, char *err, size_t errlen);

#endif
