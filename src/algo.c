/*
 * Algorithm preferences. porthole's defaults follow OpenSSH's, reordered
 * for libssh2's speeds (shared/notes/libssh2.md section 3). Stock libssh2
 * 1.11.1 calls the cipher once per 16-byte block: chacha20-poly1305, which
 * takes whole packets, is its fastest, aes-gcm its slowest (3-6x ssh's CPU
 * per GiB). The libssh2 scripts/libssh2 builds crypts a packet's middle
 * blocks in one call (05-bulk-crypt.patch, LIBSSH2_PORTHOLE_BULK_CRYPT):
 * there aes128-gcm costs 0.4-0.5 of chacha20's client CPU per byte and
 * aes-ctr 0.6-0.7 (docs/benchmarks.md, session 20), so aes-gcm goes first,
 * then aes-ctr, chacha20-poly1305 last. Etm MACs before the others; no SHA-1 kex
 * or ssh-rsa host signatures, and no cbc or arcfour, unless asked for with
 * '+'. libssh2 adds the ext-info-c and kex-strict-c-v00@openssh.com
 * pseudo-algorithms to any kex preference itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "algo.h"
#include "algolist.h"
#include "log.h"
#include "version.h"
#include "xmalloc.h"

static const struct {
	const char *keyword;
	int method; /* LIBSSH2_METHOD_*, for supported_algs */
	const char *defaults;
} kinds[ALGO_KINDS] = {
    [ALGO_KEX] = {"KexAlgorithms", LIBSSH2_METHOD_KEX,
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
	"ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
	"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
	"diffie-hellman-group14-sha256"},
    [ALGO_HOSTKEY] = {"HostKeyAlgorithms", LIBSSH2_METHOD_HOSTKEY,
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
	"rsa-sha2-512,rsa-sha2-256"},
    [ALGO_CIPHER] = {"Ciphers", LIBSSH2_METHOD_CRYPT_CS,
#ifdef LIBSSH2_PORTHOLE_BULK_CRYPT
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
	"chacha20-poly1305@openssh.com"},
#else
	"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com"},
#endif
    [ALGO_MAC] = {"MACs", LIBSSH2_METHOD_MAC_CS,
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
	"hmac-sha1-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"},
};

static const char *const kex_pseudo[] = {"ext-info-c", "kex-strict-c-v00@openssh.com"};

static char *supported[ALGO_KINDS];
static char *defaults[ALGO_KINDS];
static int strict_kex = -1;
static char compression[128]; /* what -C offers: libssh2's zlib methods, or "" */

static bool
is_pseudo(const char *name)
{
	for (size_t i = 0; i < sizeof(kex_pseudo) / sizeof(kex_pseudo[0]); i++)
		if (strcmp(name, kex_pseudo[i]) == 0)
			return true;
	return false;
}

/* Reads what the library has, once; a throwaway session answers. */
static void
load(void)
{
	LIBSSH2_SESSION *s;

	if (supported[0] != NULL)
		return;
	s = libssh2_session_init();
	if (s == NULL) {
		fprintf(stderr, "porthole: cannot create an SSH session to list algorithms\n");
		exit(1);
	}
	strict_kex = 0;
	for (int k = 0; k < ALGO_KINDS; k++) {
		const char **algs = NULL;
		int n = libssh2_session_supported_algs(s, kinds[k].method, &algs);
		size_t len = 0;
		char *list = xcalloc(1, 1);
		for (int i = 0; i < n; i++) {
			if (k == ALGO_KEX && is_pseudo(algs[i])) {
				strict_kex |= strcmp(algs[i], kex_pseudo[1]) == 0;
				continue;
			}
			size_t add = strlen(algs[i]);
			list = xrealloc(list, len + add + 2);
			len += (size_t)sprintf(list + len, "%s%s", len ? "," : "", algs[i]);
		}
		if (n > 0)
			libssh2_free(s, algs);
		supported[k] = list;
		char *d = xmalloc(ALGOLIST_MAX), dropped[ALGOLIST_MAX], err[256];
		if (algolist_apply(NULL, kinds[k].defaults, list, d, ALGOLIST_MAX, dropped,
			sizeof(dropped), err, sizeof(err)) == -1)
			d[0] =
			    '\0'; /* the library has none of them: offer nothing, say so on use */
		defaults[k] = d;
	}
	/* The compression list depends on the flag: with it, zlib methods if built in. */
	const char **algs = NULL;
	libssh2_session_flag(s, LIBSSH2_FLAG_COMPRESS, 1);
	int n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_COMP_CS, &algs);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(compression);
		if (strcmp(algs[i], "none") != 0 && len + strlen(algs[i]) + 2 < sizeof(compression))
			snprintf(compression + len, sizeof(compression) - len, "%s%s",
			    len ? "," : "", algs[i]);
	}
	if (n > 0)
		libssh2_free(s, algs);
	libssh2_session_free(s);
}

bool
algo_has_zlib(void)
{
	load();
	return compression[0] != '\0';
}

const char *
algo_supported(enum algo_kind kind)
{
	load();
	return supported[kind];
}

const char *
algo_default(enum algo_kind kind)
{
	load();
	return defaults[kind];
}

const char *
algo_keyword(enum algo_kind kind)
{
	return kinds[kind].keyword;
}

int
algo_strict_kex(void)
{
	load();
	return strict_kex;
}

static char **
field(struct options *o, enum algo_kind kind)
{
	switch (kind) {
	case ALGO_KEX:
		return &o->kex_algorithms;
	case ALGO_HOSTKEY:
		return &o->hostkey_algorithms;
	case ALGO_CIPHER:
		return &o->ciphers;
	case ALGO_MAC:
	default:
		return &o->macs;
	}
}

const char *
algo_list(const struct options *o, enum algo_kind kind)
{
	return *field((struct options *)o, kind);
}

int
algo_resolve(struct options *o, char *err, size_t errlen)
{
	load();
	for (int k = 0; k < ALGO_KINDS; k++) {
		char **f = field(o, (enum algo_kind)k);
		char out[ALGOLIST_MAX], dropped[ALGOLIST_MAX], why[ALGOLIST_MAX + 64];
		if (k == ALGO_HOSTKEY)
			o->hostkey_algorithms_default = *f == NULL;
		if (algolist_apply(*f, kinds[k].defaults, supported[k], out, sizeof(out), dropped,
			sizeof(dropped), why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s (libssh2 %s has: %s)", kinds[k].keyword, why,
			    libssh2_version(0), supported[k]);
			return -1;
		}
		if (dropped[0] != '\0')
			log_info("%s: libssh2 %s has no %s; offering %s", kinds[k].keyword,
			    libssh2_version(0), dropped, out);
		free(*f);
		*f = xstrdup(out);
	}
	return 0;
}

static void
set_pref(LIBSSH2_SESSION *s, int method, const char *list)
{
	if (libssh2_session_method_pref(s, method, list) != 0)
		log_error("libssh2 did not take the preference %s", list);
}

void
algo_apply(LIBSSH2_SESSION *s, const struct options *o)
{
	set_pref(s, LIBSSH2_METHOD_KEX, o->kex_algorithms);
	set_pref(s, LIBSSH2_METHOD_CRYPT_CS, o->ciphers);
	set_pref(s, LIBSSH2_METHOD_CRYPT_SC, o->ciphers);
	set_pref(s, LIBSSH2_METHOD_MAC_CS, o->macs);
	set_pref(s, LIBSSH2_METHOD_MAC_SC, o->macs);
}

static const char *
crypto_name(void)
{
#ifdef HAVE_LIBSSH2_CRYPTOENGINE_API
	switch (libssh2_crypto_engine()) {
	case libssh2_openssl:
		return OpenSSL_version(OPENSSL_VERSION);
	case libssh2_gcrypt:
		return "libgcrypt";
	case libssh2_mbedtls:
		return "mbedTLS";
	default:
		return "unknown";
	}
#else
	return OpenSSL_version(OPENSSL_VERSION); /* Debian's 1.10 uses OpenSSL */
#endif
}

void
algo_print_version(FILE *out)
{
	static const char *const short_names[ALGO_KINDS] = {"kex", "hostkey", "cipher", "mac"};

	load();
	fprintf(out, "porthole %s\n", PORTHOLE_VERSION);
	fprintf(out, "libssh2 %s, crypto %s\n", libssh2_version(0), crypto_name());
	fprintf(out, "strict kex (CVE-2023-48795): %s\n", strict_kex ? "yes" : "no");
	for (int k = 0; k < ALGO_KINDS; k++)
		fprintf(out, "offered %s: %s\n", short_names[k], defaults[k]);
	for (int k = 0; k < ALGO_KINDS; k++)
		fprintf(out, "available %s: %s\n", short_names[k], supported[k]);
	fprintf(out, "compression (-C): %s\n",
	    compression[0] ? compression : "none (libssh2 built without zlib)");
#ifdef LIBSSH2_PORTHOLE_BULK_CRYPT
	fprintf(out, "bulk crypt (aes-gcm, aes-ctr first): yes\n");
#else
	fprintf(out,
	    "bulk crypt (aes-gcm, aes-ctr first): no (libssh2 without "
	    "scripts/libssh2-patches/05-bulk-crypt.patch: chacha20-poly1305 first)\n");
#endif
#ifdef LIBSSH2_PORTHOLE_ACCEPT_WINDOW
	fprintf(out, "-R receive window (follows interactive traffic): yes\n");
#else
	fprintf(out,
	    "-R receive window (follows interactive traffic): no (libssh2 without "
	    "scripts/libssh2-patches/06-accept-window.patch: always 2 MiB)\n");
#endif
#ifdef LIBSSH2_PORTHOLE_HOST_CERTIFICATES
	fprintf(out, "host certificates (@cert-authority): yes\n");
#else
	fprintf(out,
	    "host certificates (@cert-authority): no (libssh2 without "
	    "scripts/libssh2-patches/04-host-certificates.patch)\n");
#endif
	if (LIBSSH2_VERSION_NUM < 0x010b01)
		fprintf(out,
		    "warning: built against libssh2 %s: no strict kex, rsa-sha2, etm, "
		    "aes-gcm, chacha20-poly1305 or certificates (scripts/libssh2 builds "
		    "1.11.1)\n",
		    LIBSSH2_VERSION);
}
