/*
 * Host pattern matching as OpenSSH's match.c does it: '*' matches any run of
 * characters (including none), '?' any one character, everything else itself,
 * ignoring ASCII case. Used by known_hosts entries and ssh_config Host lines.
 */
#ifndef PORTHOLE_MATCH_H
#define PORTHOLE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the whole of s (slen bytes) matches the whole of pattern p (plen bytes). */
bool match_pattern(const char *s, size_t slen, const char *p, size_t plen);

#endif
