/*
 * Fuzz target for jumpspec.c. The input, as a string, is parsed as a -J
 * list: an accepted list must hold only well-formed hops, and each hop
 * written back with jumpspec_format_hop must parse to the same hop; errors
 * are terminated and leave the list empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jumpspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_hop(const struct jump_hop *h)
{
	char text[700], err[256];
	struct jumpspec again;

	if (h->host == NULL || h->host[0] == '\0' || strchr(h->host, ',') != NULL)
		abort();
	if (h->port != -1 && (h->port < 1 || h->port > 65535))
		abort();
	if (h->user != NULL && h->user[0] == '\0')
		abort();
	jumpspec_format_hop(h, text, sizeof(text));
	if (strlen(text) >= sizeof(text) - 1)
		return; /* too long to round-trip here */
	if (jumpspec_parse(text, &again, err, sizeof(err)) != 0 || again.n != 1)
		abort();
	if (strcmp(again.hops[0].host, h->host) != 0 || again.hops[0].port != h->port ||
	    (h->user == NULL) != (again.hops[0].user == NULL) ||
	    (h->user != NULL && strcmp(h->user, again.hops[0].user) != 0))
		abort();
	jumpspec_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[64];
	struct jumpspec j;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 'Z', sizeof(err));
	if (jumpspec_parse(text, &j, err, sizeof(err)) == 0) {
		if (j.none != (strcmp(text, "none") == 0) || j.n > JUMPSPEC_MAX_HOPS)
			abort();
		for (int i = 0; i < j.n; i++)
			check_hop(&j.hops[i]);
		jumpspec_free(&j);
	} else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL || j.n != 0) {
		abort();
	}
	free(text);
	return 0;
}
