/*
 * %-token and ${ENV} expansion (see token.h): one walk over the input,
 * appending to a growing buffer (or, for token_check, to none).
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "xmalloc.h"

#define NAME_MAX_SHOWN 64

struct walk {
	int flags;
	const struct token_values *tv;
	token_getenv_fn getenv_cb;
	void *ctx;
	const char *allowed; /* token_check: the letters allowed; values ignored */
	char *err;
	size_t errlen;
};

/* The result so far; with data == NULL (token_check) nothing is kept. */
struct out {
	char *data;
	size_t len, cap;
};

static void
put(struct out *o, const char *s, size_t len)
{
	if (o->data == NULL)
		return;
	if (o->len + len + 1 > o->cap) {
		while (o->len + len + 1 > o->cap)
			o->cap *= 2;
		o->data = xrealloc(o->data, o->cap);
	}
	memcpy(o->data + o->len, s, len);
	o->len += len;
	o->data[o->len] = '\0';
}

/* "${NAME}" at in (past "${"): its length through '}' in *used. -1 on error. */
static int
env_ref(const struct walk *w, const char *in, struct out *out, size_t *used)
{
	const char *end = strchr(in, '}');

	if (end == NULL) {
		snprintf(w->err, w->errlen, "'${' without '}'");
		return -1;
	}
	size_t len = (size_t)(end - in);
	if (len == 0) {
		snprintf(w->err, w->errlen, "empty ${}");
		return -1;
	}
	*used = len + 1;
	if (w->allowed != NULL)
		return 0;
	char *name = xstrndup(in, len);
	const char *value = w->getenv_cb != NULL ? w->getenv_cb(name, w->ctx) : NULL;
	if (value == NULL) {
		snprintf(w->err, w->errlen, "environment variable %.*s is not set", NAME_MAX_SHOWN,
		    name);
		free(name);
		return -1;
	}
	free(name);
	put(out, value, strlen(value));
	return 0;
}

/* The value of token c, or NULL (with err set) if there is none. */
static const char *
token_value(const struct walk *w, unsigned char c)
{
	if (w->allowed != NULL && c != '\0' && strchr(w->allowed, c) != NULL)
		return "";
	if (w->allowed == NULL && c < 128 && w->tv != NULL && w->tv->v[c] != NULL)
		return w->tv->v[c];
	if (c >= 0x21 && c < 0x7f)
		snprintf(w->err, w->errlen, "unknown token %%%c", c);
	else
		snprintf(w->err, w->errlen, "unknown token %%\\x%02x", c);
	return NULL;
}

/* Expands in onto out. -1 on error. */
static int
expand(const struct walk *w, const char *in, struct out *out)
{
	for (size_t i = 0; in[i] != '\0'; i++) {
		if ((w->flags & TOKEN_ENV) && in[i] == '$' && in[i + 1] == '{') {
			size_t used;
			if (env_ref(w, in + i + 2, out, &used) == -1)
				return -1;
			i += 1 + used;
			continue;
		}
		if (!(w->flags & TOKEN_PERCENT) || in[i] != '%') {
			put(out, in + i, 1);
			continue;
		}
		i++;
		if (in[i] == '%') {
			put(out, "%", 1);
			continue;
		}
		if (in[i] == '\0') {
			snprintf(w->err, w->errlen, "'%%' at the end");
			return -1;
		}
		const char *value = token_value(w, (unsigned char)in[i]);
		if (value == NULL)
			return -1;
		put(out, value, strlen(value));
	}
	return 0;
}

char *
token_expand(const char *in, int flags, const struct token_values *tv, token_getenv_fn getenv_cb,
    void *ctx, char *err, size_t errlen)
{
	struct walk w = {flags, tv, getenv_cb, ctx, NULL, err, errlen};
	struct out out = {xmalloc(64), 0, 64};

	out.data[0] = '\0';
	if (expand(&w, in, &out) == -1) {
		free(out.data);
		return NULL;
	}
	return out.data;
}

int
token_check(const char *in, int flags, const char *allowed, char *err, size_t errlen)
{
	struct walk w = {flags, NULL, NULL, NULL, allowed != NULL ? allowed : "", err, errlen};
	struct out none = {NULL, 0, 0};

	return expand(&w, in, &none);
}

void
token_conn_hash(
    const char *local_host, const char *host, const char *port, const char *user, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(c, local_host, strlen(local_host)) != 1 ||
	    EVP_DigestUpdate(c, host, strlen(host)) != 1 ||
	    EVP_DigestUpdate(c, port, strlen(port)) != 1 ||
	    EVP_DigestUpdate(c, user, strlen(user)) != 1 || EVP_DigestFinal_ex(c, md, &n) != 1)
		abort(); /* out of memory, as xmalloc */
	EVP_MD_CTX_free(c);
	for (unsigned int i = 0; i < n && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
