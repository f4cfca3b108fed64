/*
 * Fuzz target for sshdconf.c and authkeys.c: the input is read as sshd -T
 * output, as sshd_config text and as an authorized_keys file. Besides not
 * crashing or reading past the input: an error names "line N:" with N within
 * the input's lines; on success the counts stay bounded (no more settings
 * than lines, no more Match blocks than lines in config text, none in a
 * dump), every text value is NUL-terminated within its array, the review
 * reports each missing setting once and returns their number; an
 * unrestricted key line is a line of the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "sshdconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
count(bool ok, const char *line, void *arg)
{
	int *missing = arg;

	if (line == NULL || strlen(line) > 1024)
		abort();
	*missing += !ok;
}

static void
check(const struct sshdconf *c, enum sshdconf_kind kind, long lines)
{
	const char *texts[] = {c->allow_tcp_forwarding, c->gateway_ports, c->disable_forwarding,
	    c->pubkey_authentication, c->permit_listen, c->permit_open, c->authorized_keys_file};
	int missing = 0;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (memchr(texts[i], '\0', SSHDCONF_VALUE_MAX) == NULL)
			abort();
	if (c->lines > lines || c->lines > 9 || c->match_blocks > lines ||
	    (kind == SSHDCONF_DUMP && c->match_blocks != 0) || c->client_alive_interval < 0 ||
	    c->client_alive_count_max < 0)
		abort();
	if (sshdconf_review(c, 120, count, &missing) != missing || missing > 8)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	long lines = 1;
	struct sshdconf c;
	char err[256];

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	for (int k = 0; k < 2; k++) {
		enum sshdconf_kind kind = k == 0 ? SSHDCONF_DUMP : SSHDCONF_CONFIG;
		if (sshdconf_parse(&c, text, size, kind, err, sizeof(err)) == 0) {
			check(&c, kind, lines);
		} else {
			long n = strncmp(err, "line ", 5) == 0 ? strtol(err + 5, NULL, 10) : 0;
			if (n < 1 || n > lines)
				abort();
		}
	}
	int line = authkeys_unrestricted(text, size);
	if (line < 0 || line > lines)
		abort();
	return 0;
}
