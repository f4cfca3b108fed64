/*
 * Fuzzes token.c: the input is split at its first NUL (if any) into the text
 * to expand and the value every token and variable takes. Besides not
 * crashing: expansion succeeds exactly when token_check accepts the text
 * (every token has a value here, every variable is set), and without
 * TOKEN_PERCENT or TOKEN_ENV the text comes back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
env_value(const char *name, void *ctx)
{
	(void)name;
	return ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[128];
	struct token_values tv;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t n = strlen(text);
	const char *value = n < size ? text + n + 1 : "v";
	memset(&tv, 0, sizeof(tv));
	for (const char *p = TOKEN_DEFAULT_SET; *p != '\0'; p++)
		tv.v[(unsigned char)*p] = value;

	for (int flags = 0; flags <= (TOKEN_PERCENT | TOKEN_ENV); flags++) {
		char *out =
		    token_expand(text, flags, &tv, env_value, (void *)value, err, sizeof(err));
		int ok = token_check(text, flags, TOKEN_DEFAULT_SET, err, sizeof(err)) == 0;
		if ((out != NULL) != ok)
			abort();
		if (flags == 0 && (out == NULL || strcmp(out, text) != 0))
			abort();
		free(out);
	}
	free(text);
	return 0;
}
