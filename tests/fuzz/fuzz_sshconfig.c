/*
 * Fuzzes sshconfig: the input is ~/.ssh/config text, evaluated for a few
 * fixed names (those the corpus's Host and Match patterns name) and for the
 * input's first line used as the name.
 *
 * Include: evaluation runs at depth SSHCONFIG_NO_INCLUDE, under which
 * sshconfig never touches the file system (each Include is noted and left),
 * so the fuzzer cannot make it read, stat or glob arbitrary paths. Match exec
 * goes to a callback that runs nothing: its exit status is the command's
 * length modulo 3, and "fail" is an error, so both outcomes and the error
 * path are reached. Following includes is left to the unit tests.
 *
 * Besides not crashing, each result must keep sshconfig.h's promises: an
 * error names the file and a line; otherwise every entry has a keyword from
 * the table, a value, the file and a line, a non-accumulating keyword appears
 * once, an accumulating one never twice with the same value; and the same
 * answer comes twice.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sshconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
    "web",
    "web1",
    "web.example.com",
    "bastion.example.com",
    "DB1",
    "localhost",
    "",
};

static const char *const local_addrs[] = {"127.0.0.1", "10.1.2.3", "::1"};

static int
fake_exec(const char *cmd, void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	if (strcmp(cmd, "fail") == 0) {
		strncpy(err, "failed", errlen);
		return -1;
	}
	return (int)(strlen(cmd) % 3);
}

static void
check_result(const struct sshconfig *c)
{
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct sshconfig_entry *e = &c->entries[i];
		if (e->kw == NULL || sshkw_find(e->kw->name) != e->kw || e->value == NULL ||
		    e->line < 1 || e->file == NULL || strcmp(e->file, "fuzz") != 0)
			abort();
		for (size_t j = 0; j < i; j++) {
			if (c->entries[j].kw != e->kw)
				continue;
			if (!e->kw->accumulate || strcmp(c->entries[j].value, e->value) == 0)
				abort();
		}
	}
	if (c->n_notes < 0 || c->n_notes > SSHCONFIG_MAX_NOTES)
		abort();
}

static bool
same(const struct sshconfig *a, const struct sshconfig *b)
{
	if (a->n_entries != b->n_entries || a->matched != b->matched ||
	    a->final_pass != b->final_pass)
		return false;
	for (size_t i = 0; i < a->n_entries; i++)
		if (a->entries[i].kw != b->entries[i].kw || a->entries[i].line != b->entries[i].line ||
		    strcmp(a->entries[i].value, b->entries[i].value) != 0)
			return false;
	return true;
}

static void
fuzz_eval(const char *text, size_t len, const char *name, bool twice)
{
	struct sshconfig_env env = {.host_arg = name,
	    .local_user = "ann",
	    .home = "/nonexistent",
	    .uid = "1000",
	    .local_host = "laptop.lan",
	    .local_addrs = local_addrs,
	    .n_local_addrs = 3,
	    .exec = fake_exec};
	struct sshconfig c, again;
	char err[256], err2[256];

	int r = sshconfig_read_text("fuzz", text, len, &env, &c, err, sizeof(err),
	    SSHCONFIG_NO_INCLUDE);
	if (r == -1 && strncmp(err, "fuzz:", 5) != 0)
		abort();
	if (r == 0)
		check_result(&c);
	if (twice) {
		int r2 = sshconfig_read_text("fuzz", text, len, &env, &again, err2, sizeof(err2),
		    SSHCONFIG_NO_INCLUDE);
		if (r2 != r || (r == 0 && !same(&c, &again)) || (r == -1 && strcmp(err, err2) != 0))
			abort();
		sshconfig_free(&again);
	}
	sshconfig_free(&c);
	if (c.n_entries != 0 || c.entries != NULL)
		abort(); /* sshconfig_free empties */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reading a byte past size is caught. */
	char *text = malloc(size ? size : 1);
	char name[65];

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fuzz_eval(text, size, names[i], i == 0);

	size_t n = 0;
	while (n < size && n < sizeof(name) - 1 && text[n] != '\n' && text[n] != '\0')
		n++;
	memcpy(name, text, n);
	name[n] = '\0';
	fuzz_eval(text, size, name, false);
	free(text);
	return 0;
}
