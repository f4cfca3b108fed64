/*
 * OpenSSH certificates. The blob is read field by field in place (every
 * length checked against what is left), in the order PROTOCOL.certkeys
 * gives: type, nonce, the key's fields, serial, type, key id, principals,
 * validity, critical options, extensions, reserved, signature key,
 * signature, and nothing after. The signature check builds the CA's key
 * with libcrypto's OpenSSL 3 interfaces and verifies the bytes before the
 * signature field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "sshcert.h"
#include "xmalloc.h"

#define CERT_SUFFIX "-cert-v01@openssh.com"
#define RSA_MIN_BITS 1024 /* ssh refuses smaller RSA keys */

/* The certificate types porthole reads, with how many fields their key has. */
static const struct {
	const char *key_type;
	int fields;
} known_types[] = {
    {"ssh-ed25519", 1},
    {"ecdsa-sha2-nistp256", 2},
    {"ecdsa-sha2-nistp384", 2},
    {"ecdsa-sha2-nistp521", 2},
    {"ssh-rsa", 2},
};

/* A reader over [p, end). */
struct reader {
	const unsigned char *p, *end;
};

static bool
get_u32(struct reader *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return true;
}

static bool
get_u64(struct reader *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (!get_u32(r, &hi) || !get_u32(r, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static bool
get_string(struct reader *r, struct sshcert_field *f)
{
	uint32_t n;

	if (!get_u32(r, &n) || (size_t)(r->end - r->p) < n)
		return false;
	f->p = r->p;
	f->len = n;
	r->p += n;
	return true;
}

static bool
field_is(const struct sshcert_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

bool
sshcert_is_cert_type(const char *type, size_t len)
{
	size_t n = strlen(CERT_SUFFIX);
	return len > n && memcmp(type + len - n, CERT_SUFFIX, n) == 0;
}

/* The principals field: strings without NUL bytes, end to end. */
static bool
count_principals(const struct sshcert_field *f, int *count)
{
	struct reader r = {f->p, f->p + f->len};
	struct sshcert_field s;

	*count = 0;
	while (r.p < r.end) {
		if (!get_string(&r, &s) || memchr(s.p, '\0', s.len) != NULL || *count == 100000)
			return false;
		(*count)++;
	}
	return true;
}

int
sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *c, char *err, size_t errlen)
{
	struct reader r = {blob, blob + len};
	struct sshcert_field type, skip;
	int fields = -1;

	memset(c, 0, sizeof(*c));
	if (!get_string(&r, &type)) {
		snprintf(err, errlen, "truncated certificate (no type)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++) {
		size_t n = strlen(known_types[i].key_type);
		if (type.len == n + strlen(CERT_SUFFIX) &&
		    memcmp(type.p, known_types[i].key_type, n) == 0 &&
		    sshcert_is_cert_type((const char *)type.p, type.len)) {
			fields = known_types[i].fields;
			memcpy(c->key_type, type.p, n);
			memcpy(c->type, type.p, type.len);
		}
	}
	if (fields < 0) {
		snprintf(err, errlen, "unsupported certificate type '%.*s'",
		    (int)(type.len > 60 ? 60 : type.len), (const char *)type.p);
		for (char *q = err; *q != '\0'; q++)
			if ((unsigned char)*q < ' ' || (unsigned char)*q >= 0x7f)
				*q = '?';
		return -1;
	}
	if (!get_string(&r, &c->nonce))
		goto truncated;
	c->key.p = r.p;
	for (int i = 0; i < fields; i++)
		if (!get_string(&r, &skip))
			goto truncated;
	c->key.len = (size_t)(r.p - c->key.p);
	if (!get_u64(&r, &c->serial) || !get_u32(&r, &c->cert_type) ||
	    !get_string(&r, &c->key_id) || !get_string(&r, &c->principals) ||
	    !get_u64(&r, &c->valid_after) || !get_u64(&r, &c->valid_before) ||
	    !get_string(&r, &c->critical_options) || !get_string(&r, &c->extensions) ||
	    !get_string(&r, &c->reserved) || !get_string(&r, &c->signature_key))
		goto truncated;
	c->signed_len = (size_t)(r.p - blob);
	if (!get_string(&r, &c->signature))
		goto truncated;
	if (r.p != r.end) {
		snprintf(err, errlen, "certificate has %zu bytes after its signature",
		    (size_t)(r.end - r.p));
		return -1;
	}
	if (c->cert_type != SSHCERT_TYPE_USER && c->cert_type != SSHCERT_TYPE_HOST) {
		snprintf(err, errlen, "certificate of unknown type %u", c->cert_type);
		return -1;
	}
	if (!count_principals(&c->principals, &c->n_principals)) {
		snprintf(err, errlen, "certificate principals do not parse");
		return -1;
	}
	return 0;
truncated:
	snprintf(err, errlen, "truncated certificate");
	return -1;
}

bool
sshcert_principal(const struct sshcert *c, int i, char *out, size_t outlen)
{
	struct reader r = {c->principals.p, c->principals.p + c->principals.len};
	struct sshcert_field s;

	for (int k = 0; get_string(&r, &s); k++) {
		if (k == i) {
			snprintf(out, outlen, "%.*s", (int)s.len, (const char *)s.p);
			return true;
		}
	}
	return false;
}

unsigned char *
sshcert_plain_key(const struct sshcert *c, size_t *len)
{
	size_t tlen = strlen(c->key_type);
	unsigned char *out = xmalloc(4 + tlen + c->key.len + 1);

	out[0] = (unsigned char)(tlen >> 24);
	out[1] = (unsigned char)(tlen >> 16);
	out[2] = (unsigned char)(tlen >> 8);
	out[3] = (unsigned char)tlen;
	memcpy(out + 4, c->key_type, tlen);
	if (c->key.len > 0)
		memcpy(out + 4 + tlen, c->key.p, c->key.len);
	*len = 4 + tlen + c->key.len;
	return out;
}

void
sshcert_format_time(uint64_t t, char *out, size_t outlen)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0) {
		snprintf(out, outlen, "always");
		return;
	}
	if (t == UINT64_MAX || t > (uint64_t)253402300799ULL || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, outlen, "forever");
		return;
	}
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The principals, comma-separated, cut short with "..." if they do not fit. */
static void
list_principals(const struct sshcert *c, char *out, size_t outlen)
{
	char name[256];
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; sshcert_principal(c, i, name, sizeof(name)); i++) {
		int n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", name);
		if (n < 0 || (size_t)n >= outlen - used) {
			if (outlen > 4)
				memcpy(out + outlen - 4, "...", 4);
			return;
		}
		used += (size_t)n;
	}
}

int
sshcert_check_host(
    const struct sshcert *c, const char *name, uint64_t now, char *err, size_t errlen)
{
	char when[64], names[512], p[256];

	if (c->cert_type != SSHCERT_TYPE_HOST) {
		snprintf(err, errlen, "not a host certificate (a user certificate)");
		return -1;
	}
	if (now < c->valid_after) {
		sshcert_format_time(c->valid_after, when, sizeof(when));
		snprintf(err, errlen, "not yet valid (valid from %s)", when);
		return -1;
	}
	if (now >= c->valid_before) {
		sshcert_format_time(c->valid_before, when, sizeof(when));
		snprintf(err, errlen, "expired (valid until %s)", when);
		return -1;
	}
	if (c->n_principals > 0) {
		bool found = false;
		for (int i = 0; !found && sshcert_principal(c, i, p, sizeof(p)); i++)
			found = strcmp(p, name) == 0;
		if (!found) {
			list_principals(c, names, sizeof(names));
			snprintf(
			    err, errlen, "name '%s' is not a listed principal (%s)", name, names);
			return -1;
		}
	}
	if (c->critical_options.len != 0) {
		snprintf(err, errlen, "certificate contains unsupported critical options");
		return -1;
	}
	return 0;
}

/* ---- the CA's signature ---- */

/* A key from OSSL_PARAMs ("EC" or "RSA"); NULL if libcrypto refuses them. */
static EVP_PKEY *
key_from_params(const char *alg, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *key = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static EVP_PKEY *
ecdsa_key(const struct sshcert_field *curve, const struct sshcert_field *q, const EVP_MD **md)
{
	static const struct {
		const char *ssh, *group;
		const EVP_MD *(*md)(void);
	} curves[] = {
	    {"nistp256", "prime256v1", EVP_sha256},
	    {"nistp384", "secp384r1", EVP_sha384},
	    {"nistp521", "secp521r1", EVP_sha512},
	};
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (!field_is(curve, curves[i].ssh))
			continue;
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string(
			OSSL_PKEY_PARAM_GROUP_NAME, (char *)curves[i].group, 0),
		    OSSL_PARAM_construct_octet_string(
			OSSL_PKEY_PARAM_PUB_KEY, (void *)q->p, q->len),
		    OSSL_PARAM_construct_end(),
		};
		*md = curves[i].md();
		return key_from_params("EC", params);
	}
	return NULL;
}

/* An SSH mpint as a BIGNUM; NULL if negative or empty. */
static BIGNUM *
mpint(const struct sshcert_field *f)
{
	if (f->len == 0 || (f->p[0] & 0x80) != 0 || f->len > 2048)
		return NULL;
	return BN_bin2bn(f->p, (int)f->len, NULL);
}

static EVP_PKEY *
rsa_key(const struct sshcert_field *e_f, const struct sshcert_field *n_f)
{
	BIGNUM *e = mpint(e_f), *n = mpint(n_f);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;

	if (e != NULL && n != NULL && bld != NULL && BN_num_bits(n) >= RSA_MIN_BITS &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
		key = key_from_params("RSA", params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(e);
	BN_free(n);
	return key;
}

/* An ECDSA signature blob (mpint r, mpint s) as DER; NULL if it does not parse. */
static unsigned char *
ecdsa_der(const struct sshcert_field *sig, int *derlen)
{
	struct reader r = {sig->p, sig->p + sig->len};
	struct sshcert_field rf, sf;
	unsigned char *der = NULL;

	if (!get_string(&r, &rf) || !get_string(&r, &sf) || r.p != r.end)
		return NULL;
	BIGNUM *rb = mpint(&rf), *sb = mpint(&sf);
	ECDSA_SIG *es = ECDSA_SIG_new();
	if (rb == NULL || sb == NULL || es == NULL || ECDSA_SIG_set0(es, rb, sb) != 1) {
		BN_free(rb);
		BN_free(sb);
		ECDSA_SIG_free(es);
		return NULL;
	}
	*derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? der : NULL;
}

/* The CA key and the digest its signature algorithm uses; NULL with err if unusable. */
static EVP_PKEY *
ca_key(const struct sshcert *c, const struct sshcert_field *alg, const EVP_MD **md, char *err,
    size_t errlen)
{
	struct reader r = {c->signature_key.p, c->signature_key.p + c->signature_key.len};
	struct sshcert_field type, a, b;
	EVP_PKEY *key = NULL;

	*md = NULL;
	if (!get_string(&r, &type)) {
		snprintf(err, errlen, "the CA key does not parse");
		return NULL;
	}
	if (field_is(&type, "ssh-ed25519") && field_is(alg, "ssh-ed25519")) {
		if (get_string(&r, &a) && r.p == r.end && a.len == 32)
			key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a.p, a.len);
	} else if (type.len == 19 && memcmp(type.p, "ecdsa-sha2-", 11) == 0 &&
	    alg->len == type.len && memcmp(alg->p, type.p, type.len) == 0) {
		if (get_string(&r, &a) && get_string(&r, &b) && r.p == r.end && a.len == 8 &&
		    memcmp(type.p + 11, a.p, 8) == 0)
			key = ecdsa_key(&a, &b, md);
	} else if (field_is(&type, "ssh-rsa") &&
	    (field_is(alg, "rsa-sha2-256") || field_is(alg, "rsa-sha2-512"))) {
		*md = field_is(alg, "rsa-sha2-256") ? EVP_sha256() : EVP_sha512();
		if (get_string(&r, &a) && get_string(&r, &b) && r.p == r.end)
			key = rsa_key(&a, &b);
	} else {
		snprintf(err, errlen,
		    "CA key type '%.*s' with signature algorithm '%.*s' is not "
		    "accepted",
		    (int)(type.len > 40 ? 40 : type.len), (const char *)type.p,
		    (int)(alg->len > 40 ? 40 : alg->len), (const char *)alg->p);
		for (char *q = err; *q != '\0'; q++)
			if ((unsigned char)*q < ' ' || (unsigned char)*q >= 0x7f)
				*q = '?';
		return NULL;
	}
	if (key == NULL)
		snprintf(err, errlen, "the CA key does not parse");
	return key;
}

int
sshcert_verify(const unsigned char *blob, const struct sshcert *c, char *err, size_t errlen)
{
	struct reader r = {c->signature.p, c->signature.p + c->signature.len};
	struct sshcert_field alg, sig;
	const EVP_MD *md;
	unsigned char *der = NULL;
	int ok = 0;

	if (!get_string(&r, &alg) || !get_string(&r, &sig) || r.p != r.end) {
		snprintf(err, errlen, "the certificate's signature does not parse");
		return -1;
	}
	EVP_PKEY *key = ca_key(c, &alg, &md, err, errlen);
	if (key == NULL)
		return -1;
	const unsigned char *s = sig.p;
	size_t slen = sig.len;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
		int dlen = 0;
		der = ecdsa_der(&sig, &dlen);
		s = der;
		slen = (size_t)dlen;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx != NULL && s != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1)
		ok = EVP_DigestVerify(ctx, s, slen, blob, c->signed_len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	if (!ok) {
		snprintf(err, errlen, "the CA's signature on the certificate is not valid");
		return -1;
	}
	return 0;
}
