/*
 * What the server offered in its KEXINIT, read from the bytes porthole
 * receives before the handshake (they travel in the clear), so that a
 * failed negotiation can say which list had nothing in common, with both
 * sides' lists, in one line.
 */
#ifndef PORTHOLE_KEXREPORT_H
#define PORTHOLE_KEXREPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "option.h"

struct kexreport;

struct kexreport *kexreport_new(void);
void kexreport_free(struct kexreport *r);

/* Bytes from the server, in order; ignored once the KEXINIT is read. */
void kexreport_feed(struct kexreport *r, const void *data, size_t len);

/* Whether the server's KEXINIT has been read, and whether it offered strict kex. */
bool kexreport_have(const struct kexreport *r);
bool kexreport_strict(const struct kexreport *r);

/*
 * Writes the one-line reason a negotiation failed ("no common cipher with
 * HOST: the server offers ...; porthole offers ..."), given what porthole
 * offered (resolved options and the host key list it set). Returns 0, or -1
 * when the server's offer is unknown or every list had something in common.
 */
int kexreport_explain(const struct kexreport *r, const struct options *o, const char *hostkey_prefs,
    const char *peer, char *out, size_t outlen);

#endif
