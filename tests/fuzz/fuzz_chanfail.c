/*
 * Fuzz target for chanfail.c: any text as libssh2's error message. Besides
 * not crashing, what it accepts must be terminated and fit its fields, and
 * formatting must fit any buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chanfail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = malloc(size + 1), out[64], one[1];
	struct chanfail f;

	if (msg == NULL)
		return 0;
	memcpy(msg, data, size);
	msg[size] = '\0';
	if (chanfail_parse(msg, &f) == 0) {
		if (memchr(f.reason, '\0', sizeof(f.reason)) == NULL ||
		    memchr(f.text, '\0', sizeof(f.text)) == NULL)
			abort();
		chanfail_format(&f, out, sizeof(out));
		if (memchr(out, '\0', sizeof(out)) == NULL)
			abort();
		chanfail_format(&f, one, sizeof(one));
		if (one[0] != '\0')
			abort();
	}
	free(msg);
	return 0;
}
