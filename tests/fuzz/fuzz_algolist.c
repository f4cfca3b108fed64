/*
 * Fuzz target for algolist.c. The input is "spec\ndefaults\nsupported".
 * Besides not crashing: a result is a non-empty list of distinct names,
 * each supported; a plain list's result is a subset of it in its order;
 * "-" results are a subset of the defaults; errors are terminated text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algolist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_result(const char *out, const char *spec, const char *defaults, const char *supported)
{
	if (out[0] == '\0' || strlen(out) >= ALGOLIST_MAX)
		abort();
	for (const char *p = out; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == 0 || !algolist_has(supported, p, n))
			abort();
		/* No name twice: it must not appear again after this one. */
		if (p[n] == ',' && algolist_has(p + n + 1, p, n))
			abort();
		if (spec[0] == '-' && !algolist_has(defaults, p, n))
			abort();
		if (spec[0] != '\0' && spec[0] != '-' && spec[0] != '+' && spec[0] != '^' &&
		    !algolist_has(spec, p, n))
			abort();
		p += n + (p[n] == ',');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 3), *fields[3];
	static char out[ALGOLIST_MAX], dropped[ALGOLIST_MAX], err[128];

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fields[0] = text;
	for (int i = 1; i < 3; i++) {
		char *nl = strchr(fields[i - 1], '\n');
		if (nl != NULL) {
			*nl = '\0';
			fields[i] = nl + 1;
		} else {
			fields[i] = fields[i - 1] + strlen(fields[i - 1]);
		}
	}
	memset(err, 'Z', sizeof(err));
	if (algolist_apply(fields[0], fields[1], fields[2], out, sizeof(out), dropped,
		sizeof(dropped), err, sizeof(err)) == 0)
		check_result(out, fields[0], fields[1], fields[2]);
	else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
		abort();
	/* A tiny output buffer fails cleanly or fits. */
	char small[8];
	memset(small, 'Z', sizeof(small));
	if (algolist_apply(
		fields[0], fields[1], fields[2], small, 6, dropped, 4, err, sizeof(err)) == 0 &&
	    memchr(small, '\0', 6) == NULL)
		abort();
	if (small[6] != 'Z')
		abort();
	free(text);
	return 0;
}
