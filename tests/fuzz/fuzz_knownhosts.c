/*
 * Fuzzes knownhosts: the input is known_hosts text, looked up for a few fixed
 * hosts and keys (the corpus holds lines with the same keys, plain and
 * hashed, so matches are reachable), with the results checked for sanity.
 * The input's first line also serves as a host name for a format-then-check
 * round trip, which must always find the line it wrote.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "knownhosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct key {
	const char *type;
	const char *b64;
	unsigned char blob[128];
	size_t len;
};

static struct key keys[] = {
    {"ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIA9Uun2ThlRix9t2WUKVFteJJcdS+aRWVDYLlAZwZrx3", {0}, 0},
    {"ecdsa-sha2-nistp256",
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNlxiO0b2xV+"
	"qztenaKwCiVsEywiGXUYfiQZjsM"
	"APv+rqOt4xI10Nudp/YuWns0+BMCxaBxLcdqtmvdw8FgwCik=",
	{0}, 0},
    {"ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIMgzhMGR4wkQLIi9jD5LAew5kSXcx7D/GxuNqNpjYo3n", {0}, 0},
};

static const struct {
	const char *host;
	int port;
	int key;
} lookups[] = {
    {"127.0.0.1", 2222, 0},
    {"127.0.0.1", 22, 1},
    {"example.com", 22, 1},
    {"Example.COM", 2222, 0},
    {"::1", 2222, 2},
    {"host1.lan", 22, 2},
    {"", 22, 0},
};

static void
decode_keys(void)
{
	static int done;

	if (done++)
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i].b64);
		int len = EVP_DecodeBlock(keys[i].blob, (const unsigned char *)keys[i].b64, (int)n);
		while (n > 0 && keys[i].b64[n - 1] == '=') {
			n--;
			len--;
		}
		if (len <= 0)
			abort();
		keys[i].len = (size_t)len;
	}
}

static void
fuzz_check(const char *text, size_t len)
{
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		const struct key *k = &keys[lookups[i].key];
		struct kh_lookup r;
		knownhosts_check(
		    text, len, lookups[i].host, lookups[i].port, k->type, k->blob, k->len, &r);
		if ((r.result == KH_NOTFOUND) != (r.line == 0) || r.line < 0)
			abort();
		if (r.line > 0 && memchr(text, '\n', len) == NULL && r.line != 1)
			abort();
		/* The same key as a certificate authority. */
		knownhosts_check_ca(
		    text, len, lookups[i].host, lookups[i].port, k->blob, k->len, &r);
		if ((r.result == KH_NOTFOUND) != (r.line == 0) || r.line < 0)
			abort();
	}
}

/* Whether text (NUL bytes and all) holds s. */
static bool
contains(const char *text, size_t len, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(text + i, s, n) == 0)
			return true;
	return false;
}

static void
fuzz_host_types(const char *text, size_t len)
{
	static const size_t sizes[] = {0, 1, 12, 20, 256};
	char out[256];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, 'x', sizeof(out));
		bool has_ca = true;
		int n = knownhosts_host_types(text, len, "127.0.0.1", 2222, out, sizes[i], &has_ca);
		if (has_ca && !contains(text, len, "@cert-authority"))
			abort();
		if (sizes[i] == 0) {
			if (n != 0 || out[0] != 'x')
				abort();
			continue;
		}
		size_t slen = strnlen(out, sizes[i]);
		if (slen == sizes[i] || n < 0)
			abort();
		int commas = 0;
		for (size_t j = 0; j < slen; j++)
			commas += out[j] == ',';
		if ((n == 0) != (slen == 0) || (n > 0 && commas != n - 1))
			abort();
	}
}

/* Whatever host format_line accepts, check must find it again under that name. */
static void
fuzz_round_trip(const char *text, size_t len)
{
	static const unsigned char salt[20] = {
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
	const char *nl = memchr(text, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - text) : len;
	char host[64], line[512];
	int port = len > 0 ? (unsigned char)text[len - 1] * 97 : 22;

	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, text, n);
	host[n] = '\0';
	for (int hashed = 0; hashed < 2; hashed++) {
		int w = knownhosts_format_line(host, port, keys[0].type, keys[0].blob, keys[0].len,
		    hashed, salt, line, sizeof(line));
		if (w < 0)
			continue;
		if ((size_t)w != strlen(line) || line[w - 1] != '\n')
			abort();
		struct kh_lookup r;
		knownhosts_check(
		    line, (size_t)w, host, port, keys[0].type, keys[0].blob, keys[0].len, &r);
		if (r.result != KH_MATCH || r.line != 1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reading a byte past size is caught. */
	char *text = malloc(size ? size : 1);
	char fp[KNOWNHOSTS_FINGERPRINT_SIZE];

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	decode_keys();
	fuzz_check(text, size);
	fuzz_host_types(text, size);
	fuzz_round_trip(text, size);
	knownhosts_fingerprint(data, size, fp, sizeof(fp));
	if (strlen(fp) != KNOWNHOSTS_FINGERPRINT_SIZE - 1)
		abort();
	free(text);
	return 0;
}
