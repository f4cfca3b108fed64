/*
 * OpenSSH certificates (PROTOCOL.certkeys), as a server presents them for
 * its host key: the blob parsed (pure: no I/O, pointers into the caller's
 * blob), checked as ssh checks a host certificate (a host certificate, the
 * name among its principals, now within its validity, no critical
 * options), and the certificate authority's signature verified with
 * libcrypto (ssh-ed25519, ecdsa-sha2-nistp256/384/521, rsa-sha2-256/512;
 * not ssh-rsa, SHA-1, which ssh's default CASignatureAlgorithms leaves out).
 */
#ifndef PORTHOLE_SSHCERT_H
#define PORTHOLE_SSHCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSHCERT_TYPE_USER 1
#define SSHCERT_TYPE_HOST 2

/* A field of the blob: where it starts and how long it is. */
struct sshcert_field {
	const unsigned char *p;
	size_t len;
};

struct sshcert {
	char type[48];	   /* "ssh-ed25519-cert-v01@openssh.com" */
	char key_type[32]; /* "ssh-ed25519": the certified key's type */
	struct sshcert_field nonce;
	struct sshcert_field key; /* the key's fields, as in its plain blob after the type */
	uint64_t serial;
	uint32_t cert_type; /* SSHCERT_TYPE_USER or SSHCERT_TYPE_HOST */
	struct sshcert_field key_id;
	struct sshcert_field principals; /* packed strings; none: valid for any name */
	int n_principals;
	uint64_t valid_after, valid_before;
	struct sshcert_field critical_options, extensions, reserved;
	struct sshcert_field signature_key; /* the CA's public key blob */
	struct sshcert_field signature;	    /* string algorithm, string signature */
	size_t signed_len;		    /* the bytes the signature covers: all before it */
};

/* Whether a key type names a certificate ("...-cert-v01@openssh.com"). */
bool sshcert_is_cert_type(const char *type, size_t len);

/*
 * Parses a certificate blob. Returns 0, or -1 with a one-line reason in err
 * ("truncated certificate", "unsupported certificate type ...").
 */
int sshcert_parse(
    const unsigned char *blob, size_t len, struct sshcert *c, char *err, size_t errlen);

/* The i-th principal (0-based) into out, NUL-terminated; false past the end. */
bool sshcert_principal(const struct sshcert *c, int i, char *out, size_t outlen);

/*
 * The certified key's plain blob (string key_type, then the key fields), in
 * a new buffer of *len bytes; the caller frees it.
 */
unsigned char *sshcert_plain_key(const struct sshcert *c, size_t *len);

/*
 * ssh's checks of a host certificate for name at time now (seconds since
 * the epoch): a host certificate, name one of its principals (exactly, as
 * ssh compares them; an empty list allows any name), now in [valid_after,
 * valid_before), no critical options. Returns 0, or -1 with ssh's reason in
 * err ("expired", "not yet valid", ...).
 */
int sshcert_check_host(
    const struct sshcert *c, const char *name, uint64_t now, char *err, size_t errlen);

/*
 * Verifies the CA's signature over the certificate (blob is the one c was
 * parsed from). Returns 0 when it is good, -1 with the reason in err.
 */
int sshcert_verify(const unsigned char *blob, const struct sshcert *c, char *err, size_t errlen);

/* "2026-12-05 03:10:00 UTC" for a validity bound; "forever" / "always" for the extremes. */
void sshcert_format_time(uint64_t t, char *out, size_t outlen);

#endif
