/*
 * The algorithms porthole offers: its defaults, what the libssh2 it runs
 * with supports, the user's Ciphers / MACs / KexAlgorithms /
 * HostKeyAlgorithms resolved against both, and "porthole -V".
 */
#ifndef PORTHOLE_ALGO_H
#define PORTHOLE_ALGO_H

#include <stdio.h>

#include <libssh2.h>

#include "option.h"

enum algo_kind {
	ALGO_KEX,
	ALGO_HOSTKEY,
	ALGO_CIPHER,
	ALGO_MAC,
	ALGO_KINDS,
};

/* Everything this libssh2 has of a kind (comma list; kex without its pseudo-names). */
const char *algo_supported(enum algo_kind kind);

/* porthole's default list of a kind, limited to what this libssh2 has. */
const char *algo_default(enum algo_kind kind);

/* The ssh_config keyword of a kind ("Ciphers"). */
const char *algo_keyword(enum algo_kind kind);

/*
 * Replaces the four lists in o with the lists to offer (the defaults where
 * unset). Names this build does not have are left out with one warning
 * each. Returns 0, or -1 with err ("Ciphers: this porthole has none of
 * foo") when a list is left empty.
 */
int algo_resolve(struct options *o, char *err, size_t errlen);

/* Sets the kex, cipher and MAC preferences of a session from resolved options. */
void algo_apply(LIBSSH2_SESSION *s, const struct options *o);

/* The list of a kind in resolved options. */
const char *algo_list(const struct options *o, enum algo_kind kind);

/* Whether this libssh2 can compress (built with zlib), for -C. */
bool algo_has_zlib(void);

/* Whether this libssh2 negotiates strict kex (the Terrapin fix). */
int algo_strict_kex(void);

/* porthole -V: version, libssh2 and its crypto, the algorithms offered and available. */
void algo_print_version(FILE *out);

#endif
