/*
 * Algorithm lists as ssh_config(5) writes them for Ciphers, MACs,
 * KexAlgorithms and HostKeyAlgorithms: "a,b" replaces the default list,
 * "+a,b" appends to it, "^a,b" puts the names at its head, "-a*,b" removes
 * the names or patterns from it. Pure: no I/O, no library calls.
 */
#ifndef PORTHOLE_ALGOLIST_H
#define PORTHOLE_ALGOLIST_H

#include <stdbool.h>
#include <stddef.h>

#define ALGOLIST_MAX 2048 /* longest list, as text, that porthole handles */

/*
 * Whether spec is well formed: an optional prefix, then non-empty names of
 * letters, digits and "@._-+", comma separated, wildcards ('*', '?') only
 * after '-'. Returns 0, or -1 with err saying what is wrong.
 */
int algolist_check(const char *spec, char *err, size_t errlen);

/*
 * The list spec asks for, given this build's default list and everything it
 * supports (comma lists). Names are kept once, in order; names the build
 * does not have are left out and listed in dropped (comma list, "" when
 * none) so that the caller can say so. spec NULL or "" gives the defaults.
 * Returns 0, or -1 with err when spec is malformed, too long, or leaves no
 * algorithm at all.
 */
int algolist_apply(const char *spec, const char *defaults, const char *supported, char *out,
    size_t outlen, char *dropped, size_t droppedlen, char *err, size_t errlen);

/* Whether the comma list holds name exactly. */
bool algolist_has(const char *list, const char *name, size_t namelen);

#endif
