/*
 * ssh_config's %-tokens and ${ENV} references, expanded as OpenSSH's
 * percent_expand and dollar_expand do (ssh_config(5) TOKENS and
 * ENVIRONMENT VARIABLES). Pure: the token values and the environment come
 * from the caller.
 *
 * "%%" is a '%'; "%x" is the value of token x, an error if the caller has no
 * value for x (an unknown token, or one the keyword does not take); a '%'
 * at the end is an error. With TOKEN_ENV, "${NAME}" is the value of the
 * environment variable NAME, an error if it is not set, empty ("${}") or not
 * closed; a '$' not followed by '{' is itself. Nothing else is special.
 */
#ifndef PORTHOLE_TOKEN_H
#define PORTHOLE_TOKEN_H

#include <stddef.h>

enum {
	TOKEN_PERCENT = 1, /* expand %x */
	TOKEN_ENV = 2,	   /* expand ${NAME} */
};

/* The value of each token letter, indexed by the letter; NULL: no such token here. */
struct token_values {
	const char *v[128];
};

/* The environment: the value of name, or NULL if it is not set. */
typedef const char *(*token_getenv_fn)(const char *name, void *ctx);

/*
 * Expands in (flags: TOKEN_PERCENT and/or TOKEN_ENV). Returns a new string,
 * or NULL with err saying what was wrong, e.g. "unknown token %x",
 * "'%' at the end", "'${' without '}'", "empty ${}", "environment variable
 * FOO is not set". tv may be NULL under TOKEN_ENV alone; getenv_cb may be NULL
 * without TOKEN_ENV.
 */
char *token_expand(const char *in, int flags, const struct token_values *tv,
    token_getenv_fn getenv_cb, void *ctx, char *err, size_t errlen);

/*
 * Checks in without values: every %-token must be one of the letters in
 * allowed (plus %%), every ${ closed and named. Unset variables are not
 * errors here. Returns 0, or -1 with err as token_expand's.
 */
int token_check(const char *in, int flags, const char *allowed, char *err, size_t errlen);

/*
 * %C: the SHA-1 of local_host, host, port and user, in 40 hex digits, as
 * OpenSSH's ssh_connection_hash. out must have room for 41 bytes.
 */
void token_conn_hash(
    const char *local_host, const char *host, const char *port, const char *user, char *out);

/* The tokens most keywords take (ssh_config(5)): "CdhikLlnpru". */
#define TOKEN_DEFAULT_SET "CdhikLlnpru"

#endif
