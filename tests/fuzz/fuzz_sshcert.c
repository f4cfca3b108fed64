/*
 * Fuzz target for sshcert: the input is a certificate blob (the corpus holds
 * real ones from ssh-keygen: ed25519, ECDSA and RSA keys and CAs, host and
 * user certificates). A parsed certificate must have its fields inside the
 * input, as many principals as sshcert_principal yields, and survive the
 * host checks, the plain key extraction and the signature check; a refused
 * one must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sshcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_field(const struct sshcert_field *f, const uint8_t *data, size_t size)
{
	if (f->len > size || (f->len > 0 && (f->p < data || f->p + f->len > data + size)))
		abort();
}

static void
check_err(const char *err, size_t len)
{
	if (err[0] == '\0' || memchr(err, '\0', len) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshcert c;
	char err[256], p[128];
	static const char *const names[] = {"127.0.0.1", "host.example", "a", ""};
	static const uint64_t times[] = {0, 1764900000ULL, UINT64_MAX};

	err[0] = '\0';
	if (sshcert_parse(data, size, &c, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		return 0;
	}
	const struct sshcert_field *fields[] = {&c.nonce, &c.key, &c.key_id, &c.principals,
	    &c.critical_options, &c.extensions, &c.reserved, &c.signature_key, &c.signature};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		check_field(fields[i], data, size);
	if (c.signed_len > size || (c.cert_type != 1 && c.cert_type != 2))
		abort();
	int n = 0;
	while (sshcert_principal(&c, n, p, sizeof(p)))
		n++;
	if (n != c.n_principals)
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
			err[0] = '\0';
			if (sshcert_check_host(&c, names[i], times[t], err, sizeof(err)) == -1)
				check_err(err, sizeof(err));
		}
	size_t plen;
	unsigned char *plain = sshcert_plain_key(&c, &plen);
	if (plen != 4 + strlen(c.key_type) + c.key.len)
		abort();
	free(plain);
	err[0] = '\0';
	if (sshcert_verify(data, &c, err, sizeof(err)) == -1)
		check_err(err, sizeof(err));
	return 0;
}
