/*
 * Fuzzes sshconfig: the input is ~/.ssh/config text, looked up for a few
 * fixed aliases (those the corpus's Host patterns name) and for the input's
 * first line used as an alias.
 *
 * Include: the lookups run at depth SSHCONFIG_NO_INCLUDE, under which
 * sshconfig never touches the file system (each Include is turned into its
 * glob pattern, noted and left), so the fuzzer cannot make it read, stat or
 * glob arbitrary paths (a pattern of many "/ *" levels would walk the whole
 * disk). Following includes is left to the unit tests, which build their
 * files in a temporary directory.
 *
 * Besides not crashing, each result must keep sshconfig.h's promises: no
 * error without Include, counts in range, ports valid, distinct identity
 * files, notes that name the file, and the same answer twice.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sshconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const aliases[] = {
    "web",
    "web1",
    "web.example.com",
    "bastion.example.com",
    "DB1",
    "localhost",
    "",
};

static void
check_host(const struct ssh_host *h)
{
	if (h->port < 0 || h->port > 65535)
		abort();
	if (h->n_identity_files < 0 || h->n_identity_files > SSHCONFIG_MAX_IDENTITIES ||
	    h->n_notes < 0 || h->n_notes > SSHCONFIG_MAX_NOTES)
		abort();
	for (int i = 0; i < h->n_identity_files; i++) {
		if (h->identity_files[i] == NULL || h->identity_files[i][0] == '\0')
			abort();
		for (int j = 0; j < i; j++) {
			if (strcmp(h->identity_files[i], h->identity_files[j]) == 0)
				abort();
		}
	}
	for (int i = 0; i < h->n_notes; i++) {
		if (h->notes[i] == NULL || strncmp(h->notes[i], "fuzz:", 5) != 0)
			abort();
	}
	if ((h->user != NULL && h->user[0] == '\0') ||
	    (h->proxy_jump != NULL && h->proxy_jump[0] == '\0') ||
	    (h->known_hosts != NULL && h->known_hosts[0] == '\0'))
		abort();
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_host(const struct ssh_host *a, const struct ssh_host *b)
{
	if (!same_str(a->host_name, b->host_name) || a->port != b->port ||
	    !same_str(a->user, b->user) || !same_str(a->proxy_jump, b->proxy_jump) ||
	    !same_str(a->known_hosts, b->known_hosts) || a->matched != b->matched ||
	    a->n_identity_files != b->n_identity_files || a->n_notes != b->n_notes)
		return false;
	for (int i = 0; i < a->n_identity_files; i++) {
		if (strcmp(a->identity_files[i], b->identity_files[i]) != 0)
			return false;
	}
	return true;
}

static void
fuzz_lookup(const char *text, size_t len, const char *alias, bool twice)
{
	struct ssh_host h, again;
	char err[128];

	if (sshconfig_lookup_text("fuzz", text, len, "/nonexistent", alias, &h, err, sizeof(err),
		SSHCONFIG_NO_INCLUDE) != 0)
		abort();
	check_host(&h);
	if (twice) {
		if (sshconfig_lookup_text("fuzz", text, len, "/nonexistent", alias, &again, err,
			sizeof(err), SSHCONFIG_NO_INCLUDE) != 0 ||
		    !same_host(&h, &again))
			abort();
		ssh_host_free(&again);
	}
	ssh_host_free(&h);
	if (h.host_name != NULL || h.n_notes != 0)
		abort(); /* ssh_host_free empties */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reading a byte past size is caught. */
	char *text = malloc(size ? size : 1);
	char alias[65];

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		fuzz_lookup(text, size, aliases[i], i == 0);

	size_t n = 0;
	while (n < size && n < sizeof(alias) - 1 && text[n] != '\n' && text[n] != '\0')
		n++;
	memcpy(alias, text, n);
	alias[n] = '\0';
	fuzz_lookup(text, size, alias, false);
	free(text);
	return 0;
}
