/*
 * known_hosts lookup, as OpenSSH does it. Pure: the caller reads the file
 * and passes its text; nothing here touches the file system.
 *
 * A host is looked up as "host" when port is 22 (or 0) and "[host]:port"
 * otherwise, lowercased, and only under that name here. (ssh then looks a
 * host nothing is known for as "[host]:port" up again under the bare name,
 * where only a match counts; hostkey.c does that second lookup, with port 0.)
 * Understood: comma-separated patterns with * and ? (case-insensitive),
 * negated patterns (!), hashed entries (|1|salt|hash, HMAC-SHA1), @revoked (a
 * revoked key is refused) and @cert-authority (a CA key trusted to sign
 * host certificates for the hosts of its line: knownhosts_check_ca).
 * Lines that do not parse are skipped, never fatal; lines may be of any
 * length, end in "\n" or "\r\n", and a NUL byte ends its line's content.
 */
#ifndef PORTHOLE_KNOWNHOSTS_H
#define PORTHOLE_KNOWNHOSTS_H

#include <stdbool.h>
#include <stddef.h>

enum kh_result {
	KH_NOTFOUND, /* no entry for this host with this key type */
	KH_MATCH,    /* an entry for this host holds exactly this key */
	KH_MISMATCH, /* entries for this host and key type exist, none holds this key */
	KH_REVOKED,  /* this key is marked @revoked */
};

struct kh_lookup {
	enum kh_result result;
	int line; /* 1-based line of the matching, conflicting or revoking entry; 0 if none */
};

/*
 * Looks up (host, port) presenting key blob `key` of type `keytype` (an SSH
 * key type name such as "ssh-ed25519") in known_hosts text. Keys compare as
 * decoded blobs. An @revoked line whose hosts match and whose key is `key`
 * wins over everything; otherwise the first line holding `key` gives
 * KH_MATCH, else the first line of the same type with another key gives
 * KH_MISMATCH. Lines for the host with other key types are not a mismatch.
 */
void knownhosts_check(const char *text, size_t len, const char *host, int port, const char *keytype,
    const unsigned char *key, size_t keylen, struct kh_lookup *out);

/*
 * Looks up certificate authority key blob ca for (host, port): KH_REVOKED
 * if an @revoked line for the host holds it, else KH_MATCH if an
 * @cert-authority line for the host holds it, else KH_MISMATCH if
 * @cert-authority lines for the host hold only other keys, else
 * KH_NOTFOUND. Plain key lines never vouch for a certificate.
 */
void knownhosts_check_ca(const char *text, size_t len, const char *host, int port,
    const unsigned char *ca, size_t calen, struct kh_lookup *out);

/*
 * Writes the distinct key types known for (host, port), comma-separated in
 * file order (e.g. "ssh-ed25519,ecdsa-sha2-nistp256"), to out. Returns the
 * number of types written (0: host unknown). Revoked and CA lines do not
 * count; *has_ca (if not NULL) says whether an @cert-authority line is for
 * the host. If out fills up the list stops before the first type that does not
 * fit, so it never ends in a partial name; out is always NUL-terminated
 * unless outlen is 0.
 */
int knownhosts_host_types(const char *text, size_t len, const char *host, int port, char *out,
    size_t outlen, bool *has_ca);

/*
 * Formats a known_hosts line (with trailing newline) for a new entry, the
 * host lowercased as ssh writes it. hashed picks the |1|salt|hash form; salt
 * must then be 20 random bytes. Returns the length written (not counting the
 * NUL), or -1 if out is too small or the host or key type could not be read
 * back as written (blanks, control characters, ',', '*', '?', '!', or a
 * leading '#', '@' or '|' in the host).
 */
int knownhosts_format_line(const char *host, int port, const char *keytype,
    const unsigned char *key, size_t keylen, bool hashed, const unsigned char salt[20], char *out,
    size_t outlen);

/*
 * The keys known for (host, port), as known_hosts lines under the plain
 * lookup name ("host", or "[host]:port"), lowercased: what a file of its own
 * needs to pin exactly these keys for that host. Hashed entries and patterns
 * that match count; @revoked keys, @cert-authority lines, lines whose key does
 * not decode and repeats are left out. Returns the number of lines written,
 * or -1 (out is then "") when they do not fit in outlen bytes or the host
 * cannot be written as a known_hosts name (see knownhosts_format_line).
 */
int knownhosts_pin(
    const char *text, size_t len, const char *host, int port, char *out, size_t outlen);

/* Size of a fingerprint string with its NUL: "SHA256:" and 43 base64 characters. */
#define KNOWNHOSTS_FINGERPRINT_SIZE 51

/*
 * "SHA256:<base64 without padding>" of a key blob, as ssh shows it. If outlen
 * is under KNOWNHOSTS_FINGERPRINT_SIZE, out gets "" rather than a prefix that
 * could be mistaken for the whole fingerprint.
 */
void knownhosts_fingerprint(const unsigned char *key, size_t keylen, char *out, size_t outlen);

#endif
