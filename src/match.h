/*
 * Host pattern matching as OpenSSH's match.c does it: '*' matches any run of
 * characters (including none), '?' any one character, everything else itself,
 * ignoring ASCII case. Used by known_hosts entries and ssh_config Host and
 * Match lines.
 */
#ifndef PORTHOLE_MATCH_H
#define PORTHOLE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the whole of s (slen bytes) matches the whole of pattern p (plen bytes). */
bool match_pattern(const char *s, size_t slen, const char *p, size_t plen);

/* The same, ignoring ASCII case only if fold (ssh_config's Host lines do not). */
bool match_pattern_case(const char *s, size_t slen, const char *p, size_t plen, bool fold);

/*
 * OpenSSH's match_pattern_list: list is comma-separated patterns, each
 * negated by a leading '!'. Returns 1 if some pattern matches s and no
 * negated one does, -1 if a negated one does, 0 otherwise.
 */
int match_pattern_list(const char *s, const char *list, bool fold);

#endif
