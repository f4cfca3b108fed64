/*
 * known_hosts lookup over text in memory, following OpenSSH's hostfile.c and
 * match.c: a line is [marker] hosts keytype base64-key [comment]; hosts is
 * either a comma-separated pattern list or one |1|salt|hash entry. Lines are
 * walked in place, never copied, so a line may be of any length; a NUL ends
 * the content of its line. A line whose fields or key blob do not parse is
 * skipped, as OpenSSH skips it.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "knownhosts.h"
#include "match.h"
#include "textline.h"
#include "xmalloc.h"

#define HASH_MAGIC "|1|"
#define HASH_LEN 20 /* SHA-1: both the salt and the HMAC */
#define B64_LEN(n) (((n) + 2) / 3 * 4)

enum marker {
	MARKER_NONE,
	MARKER_REVOKED,
	MARKER_CA,
};

/* One parsed line; the pointers point into the caller's text. */
struct entry {
	enum marker marker;
	const char *hosts;
	size_t hostslen;
	const char *type;
	size_t typelen;
	const char *b64;
	size_t b64len;
};

/* Walks the text one line at a time. */
static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Characters of SSH key type names ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"). */
static bool
is_type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.' || c == '@' || c == '+';
}

/* Writes the padded base64 of src plus a NUL; dst holds B64_LEN(n) + 1. */
static void
b64_encode(const unsigned char *src, size_t n, char *dst)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		*dst++ = b64chars[v >> 18 & 63];
		*dst++ = b64chars[v >> 12 & 63];
		*dst++ = b64chars[v >> 6 & 63];
		*dst++ = b64chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0);
		*dst++ = b64chars[v >> 18 & 63];
		*dst++ = b64chars[v >> 12 & 63];
		*dst++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		*dst++ = '=';
	}
	*dst = '\0';
}

static int
b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64chars, c) : NULL;
	return p != NULL ? (int)(p - b64chars) : -1;
}

/*
 * Strict decoding, as OpenSSH's b64_pton: whole quanta, '=' only as the last
 * one or two characters, unused bits zero (so every blob has one spelling).
 * Returns the decoded length, or -1 if src is not base64 or dst is too small.
 */
static long
b64_decode(const char *src, size_t n, unsigned char *dst, size_t dstlen)
{
	size_t pad = 0, out = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	if (src[n - 1] == '=')
		pad = src[n - 2] == '=' ? 2 : 1;
	if (n / 4 * 3 - pad > dstlen || n / 4 * 3 > LONG_MAX)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		size_t have = i + 4 == n ? 4 - pad : 4;
		for (size_t j = 0; j < 4; j++) {
			int d = j < have ? b64_value(src[i + j]) : 0;
			if (d < 0)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		if ((have == 3 && (v & 0xff) != 0) || (have == 2 && (v & 0xffff) != 0))
			return -1;
		for (size_t j = 0; j + 1 < have; j++)
			dst[out++] = (unsigned char)(v >> (16 - 8 * j));
	}
	return (long)out;
}

/* The name OpenSSH looks up: "host" on port 22 (or 0), "[host]:port" otherwise; lowercased. */
static char *
lookup_name(const char *host, int port)
{
	size_t n = strlen(host) + 16;
	char *name = xmalloc(n);

	if (port == 22 || port == 0)
		memcpy(name, host, strlen(host) + 1);
	else
		snprintf(name, n, "[%s]:%d", host, port);
	for (char *p = name; *p != '\0'; p++)
		*p = lower(*p);
	return name;
}

/* Returns the next line's content (before '\n', a NUL, or a final '\r'). */
static bool
next_line(struct textline *c, const char **line, size_t *n)
{
	if (!textline_next(c, line, n))
		return false;
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return true;
}

/* Cuts the next whitespace-delimited field from [*p, end); false if there is none. */
static bool
next_field(const char **p, const char *end, const char **field, size_t *n)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	const char *e = s;
	while (e < end && !is_blank(*e))
		e++;
	*field = s;
	*n = (size_t)(e - s);
	*p = e;
	return e > s;
}

/* Splits a line into its fields; false for blank lines, comments and lines that do not parse. */
static bool
parse_entry(const char *line, size_t n, struct entry *e)
{
	const char *p = line, *end = line + n;
	const char *f;
	size_t flen;

	if (!next_field(&p, end, &f, &flen) || f[0] == '#')
		return false;
	e->marker = MARKER_NONE;
	if (f[0] == '@') {
		if (flen == 8 && memcmp(f, "@revoked", 8) == 0)
			e->marker = MARKER_REVOKED;
		else if (flen == 15 && memcmp(f, "@cert-authority", 15) == 0)
			e->marker = MARKER_CA;
		else
			return false;
		if (!next_field(&p, end, &f, &flen) || f[0] == '@')
			return false;
	}
	e->hosts = f;
	e->hostslen = flen;
	if (!next_field(&p, end, &e->type, &e->typelen))
		return false;
	for (size_t i = 0; i < e->typelen; i++) {
		if (!is_type_char(e->type[i]))
			return false;
	}
	return next_field(&p, end, &e->b64, &e->b64len);
}

/* OpenSSH's match_hostname: some positive pattern matches and no negated one does. */
static bool
match_list(const char *name, const char *list, size_t n)
{
	size_t namelen = strlen(name);
	bool positive = false;
	const char *p = list, *end = list + n;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;
		bool negated = p < stop && *p == '!';
		const char *pat = negated ? p + 1 : p;

		if (match_pattern(name, namelen, pat, (size_t)(stop - pat))) {
			if (negated)
				return false;
			positive = true;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return positive;
}

/* A "|1|base64(salt)|base64(HMAC-SHA1(salt, name))" entry. */
static bool
match_hashed(const char *name, const char *field, size_t n)
{
	unsigned char salt[HASH_LEN], want[HASH_LEN], got[EVP_MAX_MD_SIZE];
	unsigned int gotlen = 0;
	size_t magic = strlen(HASH_MAGIC);

	if (n <= magic || memcmp(field, HASH_MAGIC, magic) != 0)
		return false;
	const char *s = field + magic, *end = field + n;
	const char *bar = memchr(s, '|', (size_t)(end - s));
	if (bar == NULL)
		return false;
	if (b64_decode(s, (size_t)(bar - s), salt, sizeof(salt)) != HASH_LEN ||
	    b64_decode(bar + 1, (size_t)(end - bar - 1), want, sizeof(want)) != HASH_LEN)
		return false;
	if (HMAC(EVP_sha1(), salt, HASH_LEN, (const unsigned char *)name, strlen(name), got,
		&gotlen) == NULL ||
	    gotlen != HASH_LEN)
		return false;
	return memcmp(got, want, HASH_LEN) == 0;
}

static bool
entry_matches_host(const struct entry *e, const char *name)
{
	if (e->hosts[0] == '|')
		return match_hashed(name, e->hosts, e->hostslen);
	return match_list(name, e->hosts, e->hostslen);
}

/*
 * Decodes the entry's key blob. It must be base64 and, as sshkey_read
 * insists, begin with the key type named on the line. Returns NULL (and
 * allocates nothing) if not; otherwise the caller frees the blob.
 */
static unsigned char *
entry_key(const struct entry *e, size_t *bloblen)
{
	size_t cap = e->b64len / 4 * 3;
	unsigned char *blob = xmalloc(cap);
	long n = b64_decode(e->b64, e->b64len, blob, cap);

	if (n < 4)
		goto fail;
	size_t tlen =
	    (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
	if (tlen != e->typelen || tlen > (size_t)n - 4 || memcmp(blob + 4, e->type, tlen) != 0)
		goto fail;
	*bloblen = (size_t)n;
	return blob;
fail:
	free(blob);
	return NULL;
}

static bool
field_equals(const char *field, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(field, s, n) == 0;
}

void
knownhosts_check(const char *text, size_t len, const char *host, int port, const char *keytype,
    const unsigned char *key, size_t keylen, struct kh_lookup *out)
{
	struct textline c = {text, text != NULL ? len : 0, 0, 0};
	char *name = lookup_name(host, port);
	int match = 0, mismatch = 0, revoked = 0;
	const char *line;
	size_t n;
	struct entry e;

	while (revoked == 0 && next_line(&c, &line, &n)) {
		if (!parse_entry(line, n, &e) || e.marker == MARKER_CA)
			continue;
		bool same_type = field_equals(e.type, e.typelen, keytype);
		if ((e.marker == MARKER_NONE && !same_type) || !entry_matches_host(&e, name))
			continue;
		size_t bloblen;
		unsigned char *blob = entry_key(&e, &bloblen);
		if (blob == NULL)
			continue;
		bool same_key = bloblen == keylen && memcmp(blob, key, keylen) == 0;
		free(blob);
		if (e.marker == MARKER_REVOKED) {
			if (same_key)
				revoked = c.lineno;
		} else if (same_key && match == 0) {
			match = c.lineno;
		} else if (!same_key && mismatch == 0) {
			mismatch = c.lineno;
		}
	}
	free(name);
	if (revoked != 0)
		*out = (struct kh_lookup){KH_REVOKED, revoked};
	else if (match != 0)
		*out = (struct kh_lookup){KH_MATCH, match};
	else if (mismatch != 0)
		*out = (struct kh_lookup){KH_MISMATCH, mismatch};
	else
		*out = (struct kh_lookup){KH_NOTFOUND, 0};
}

/* Whether type is already one of the comma-separated names in list. */
static bool
list_has(const char *list, const char *type, size_t typelen)
{
	const char *p = list;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == typelen && memcmp(p, type, n) == 0)
			return true;
		p += n + (comma != NULL);
	}
	return false;
}

void
knownhosts_check_ca(const char *text, size_t len, const char *host, int port,
    const unsigned char *ca, size_t calen, struct kh_lookup *out)
{
	struct textline c = {text, text != NULL ? len : 0, 0, 0};
	char *name = lookup_name(host, port);
	int match = 0, other = 0, revoked = 0;
	const char *line;
	size_t n;
	struct entry e;

	while (revoked == 0 && next_line(&c, &line, &n)) {
		if (!parse_entry(line, n, &e) || e.marker == MARKER_NONE ||
		    !entry_matches_host(&e, name))
			continue;
		size_t bloblen;
		unsigned char *blob = entry_key(&e, &bloblen);
		if (blob == NULL)
			continue;
		bool same = bloblen == calen && memcmp(blob, ca, calen) == 0;
		free(blob);
		if (e.marker == MARKER_REVOKED && same)
			revoked = c.lineno;
		else if (e.marker == MARKER_CA && same && match == 0)
			match = c.lineno;
		else if (e.marker == MARKER_CA && !same && other == 0)
			other = c.lineno;
	}
	free(name);
	if (revoked != 0)
		*out = (struct kh_lookup){KH_REVOKED, revoked};
	else if (match != 0)
		*out = (struct kh_lookup){KH_MATCH, match};
	else if (other != 0)
		*out = (struct kh_lookup){KH_MISMATCH, other};
	else
		*out = (struct kh_lookup){KH_NOTFOUND, 0};
}

int
knownhosts_host_types(const char *text, size_t len, const char *host, int port, char *out,
    size_t outlen, bool *has_ca)
{
	struct textline c = {text, text != NULL ? len : 0, 0, 0};
	char *name;
	size_t used = 0;
	int count = 0;
	const char *line;
	size_t n;
	struct entry e;

	if (has_ca != NULL)
		*has_ca = false;
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	name = lookup_name(host, port);
	while (next_line(&c, &line, &n)) {
		if (!parse_entry(line, n, &e) || e.marker == MARKER_REVOKED)
			continue;
		if (e.marker == MARKER_CA) {
			if (has_ca != NULL && !*has_ca && entry_matches_host(&e, name))
				*has_ca = true;
			continue;
		}
		if (list_has(out, e.type, e.typelen) || !entry_matches_host(&e, name))
			continue;
		size_t bloblen;
		unsigned char *blob = entry_key(&e, &bloblen);
		if (blob == NULL)
			continue;
		free(blob);
		size_t need = e.typelen + (count > 0);
		if (need >= outlen - used || count == INT_MAX)
			break; /* never a partial name; keep the file's order */
		if (count > 0)
			out[used++] = ',';
		memcpy(out + used, e.type, e.typelen);
		used += e.typelen;
		out[used] = '\0';
		count++;
	}
	free(name);
	return count;
}

/* A name written to known_hosts must read back as itself: no blanks, commas or pattern characters.
 */
static bool
writable_host(const char *host)
{
	if (host[0] == '\0' || strchr("#@|", host[0]) != NULL)
		return false;
	for (const char *p = host; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch == 0x7f || strchr(",*?!", ch) != NULL)
			return false;
	}
	return true;
}

static bool
writable_type(const char *type)
{
	if (type[0] == '\0')
		return false;
	for (const char *p = type; *p != '\0'; p++) {
		if (!is_type_char(*p))
			return false;
	}
	return true;
}

/* Writes the hosts field: the lookup name, or its |1|salt|hash form. */
static char *
hosts_field(const char *host, int port, bool hashed, const unsigned char salt[20])
{
	char *name = lookup_name(host, port);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (!hashed)
		return name;
	if (HMAC(EVP_sha1(), salt, HASH_LEN, (const unsigned char *)name, strlen(name), mac,
		&maclen) == NULL ||
	    maclen != HASH_LEN) {
		free(name);
		return NULL;
	}
	free(name);
	char *field = xmalloc(strlen(HASH_MAGIC) + 2 * B64_LEN(HASH_LEN) + 2);
	char *p = field + strlen(HASH_MAGIC);
	memcpy(field, HASH_MAGIC, strlen(HASH_MAGIC));
	b64_encode(salt, HASH_LEN, p);
	p += strlen(p);
	*p++ = '|';
	b64_encode(mac, HASH_LEN, p);
	return field;
}

int
knownhosts_format_line(const char *host, int port, const char *keytype, const unsigned char *key,
    size_t keylen, bool hashed, const unsigned char salt[20], char *out, size_t outlen)
{
	if (!writable_host(host) || !writable_type(keytype) || keylen == 0 ||
	    keylen > INT_MAX / 2 || (hashed && salt == NULL))
		return -1;
	char *hosts = hosts_field(host, port, hashed, salt);
	if (hosts == NULL)
		return -1;
	size_t hlen = strlen(hosts), tlen = strlen(keytype), klen = B64_LEN(keylen);
	size_t total = hlen + 1 + tlen + 1 + klen + 1;
	if (total >= outlen || total > INT_MAX) {
		free(hosts);
		return -1;
	}
	char *p = out;
	memcpy(p, hosts, hlen);
	p += hlen;
	*p++ = ' ';
	memcpy(p, keytype, tlen);
	p += tlen;
	*p++ = ' ';
	b64_encode(key, keylen, p);
	p += klen;
	*p++ = '\n';
	*p = '\0';
	free(hosts);
	return (int)total;
}

void
knownhosts_fingerprint(const unsigned char *key, size_t keylen, char *out, size_t outlen)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char b64[B64_LEN(SHA256_DIGEST_LENGTH) + 1];

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (outlen < KNOWNHOSTS_FINGERPRINT_SIZE)
		return;
	SHA256(key, keylen, digest);
	b64_encode(digest, sizeof(digest), b64);
	char *pad = strchr(b64, '=');
	if (pad != NULL)
		*pad = '\0';
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, strlen(b64) + 1);
}

/* Whether a line for the host marks this very key @revoked. */
static bool
key_revoked(const char *text, size_t len, const char *host, int port, const struct entry *e)
{
	struct kh_lookup r;
	size_t bloblen;
	unsigned char *blob = entry_key(e, &bloblen);
	char type[128];

	if (blob == NULL || e->typelen >= sizeof(type)) {
		free(blob);
		return true;
	}
	memcpy(type, e->type, e->typelen);
	type[e->typelen] = '\0';
	knownhosts_check(text, len, host, port, type, blob, bloblen, &r);
	free(blob);
	return r.result == KH_REVOKED;
}

/* Whether out (lines of "name type b64\n") holds the entry's key already. */
static bool
pinned_already(const char *out, const char *name, const struct entry *e)
{
	size_t n = strlen(name) + e->typelen + e->b64len + 4;
	char *want = xmalloc(n + 1);
	bool found;

	snprintf(want, n + 1, "\n%s %.*s %.*s\n", name, (int)e->typelen, e->type, (int)e->b64len,
	    e->b64);
	found = strncmp(out, want + 1, n - 1) == 0 || strstr(out, want) != NULL;
	free(want);
	return found;
}

int
knownhosts_pin(const char *text, size_t len, const char *host, int port, char *out, size_t outlen)
{
	struct textline c = {text, text != NULL ? len : 0, 0, 0};
	const char *line;
	size_t n, used = 0;
	struct entry e;
	int count = 0;
	char *name;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (!writable_host(host))
		return -1;
	name = lookup_name(host, port);
	while (next_line(&c, &line, &n)) {
		if (!parse_entry(line, n, &e) || e.marker != MARKER_NONE ||
		    !entry_matches_host(&e, name) || pinned_already(out, name, &e) ||
		    key_revoked(text, len, host, port, &e))
			continue;
		size_t need = strlen(name) + 1 + e.typelen + 1 + e.b64len + 1;
		if (need >= outlen - used || count == INT_MAX) {
			out[0] = '\0';
			count = -1;
			break;
		}
		used += (size_t)snprintf(out + used, outlen - used, "%s %.*s %.*s\n", name,
		    (int)e.typelen, e.type, (int)e.b64len, e.b64);
		count++;
	}
	free(name);
	return count;
}
