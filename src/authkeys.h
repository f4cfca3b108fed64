/*
 * A look at an authorized_keys file for keys that can do more than forward:
 * a key line whose options do not start with "restrict" gives its key a
 * shell (a wrapped line, pasted as two, leaves the key alone on the second).
 * Pure.
 */
#ifndef PORTHOLE_AUTHKEYS_H
#define PORTHOLE_AUTHKEYS_H

#include <stddef.h>

/*
 * The 1-based line number of the first key line (not blank, not a comment)
 * whose first option is not "restrict", or 0 when every one starts with it.
 */
int authkeys_unrestricted(const char *text, size_t len);

#endif
