/*
 * Fuzz target for config.c: the input is a porthole.conf, parsed straight
 * from libFuzzer's exact-size buffer. Besides not crashing or leaking: every
 * error is "fuzz.conf:LINE: ..." with at most one per line, in line order;
 * kept entries have the table's keyword spelling and a non-empty value;
 * profile names are valid, unique and found by config_find; the defaults and
 * each profile apply to fresh options (failing only on a whole-profile
 * limit); and the config written back out as 'Keyword "value"' lines parses
 * again to the same entries with no errors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "option.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_NAME "fuzz.conf"

static void
check_errors(const struct config *c, const uint8_t *data, size_t size)
{
	const size_t prefix = strlen(FILE_NAME ":");
	long last = 0, lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	for (size_t i = 0; i < c->n_errors; i++) {
		const char *e = c->errors[i];
		char *end;
		long line;

		if (strncmp(e, FILE_NAME ":", prefix) != 0)
			abort();
		line = strtol(e + prefix, &end, 10);
		if (line <= last || line > lines || strncmp(end, ": ", 2) != 0 || end[2] == '\0')
			abort();
		for (const char *p = e; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		last = line;
	}
}

static void
check_entries(const struct config_entry *e, size_t n, int after)
{
	for (size_t i = 0; i < n; i++) {
		const char *k;
		size_t j = 0;

		while ((k = option_keyword(j)) != NULL && strcmp(k, e[i].keyword) != 0)
			j++;
		if (k == NULL || e[i].value[0] == '\0' || strchr(e[i].value, '"') != NULL ||
		    e[i].line <= after)
			abort();
		after = e[i].line;
	}
}

static void
check_profiles(const struct config *c)
{
	for (size_t i = 0; i < c->n_profiles; i++) {
		const struct config_profile *p = &c->profiles[i];
		size_t n = strlen(p->name);

		if (n == 0 || n > CONFIG_NAME_MAX ||
		    strspn(p->name,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
			abort();
		if (config_find(c, p->name) != p)
			abort();
		if (i > 0 && p->line <= c->profiles[i - 1].line)
			abort();
		check_entries(p->entries, p->n_entries, p->line);
	}
}

static void
apply(const struct config *c, const struct config_profile *p)
{
	struct options o;
	char err[512];

	options_init(&o);
	memset(err, 'Z', sizeof(err));
	if (config_apply(c, p, &o, err, sizeof(err)) == -1) {
		if (strncmp(err, FILE_NAME ":", strlen(FILE_NAME ":")) != 0 ||
		    memchr(err, '\0', sizeof(err)) == NULL ||
		    strstr(err, "too many identity files") == NULL)
			abort();
	}
	options_free(&o);
}

/* Appends 'Keyword "value"' lines; false if one would be too long to read back. */
static bool
write_entries(char **buf, size_t *len, const struct config_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t need = strlen(e[i].keyword) + strlen(e[i].value) + 4;

		if (need - 1 > CONFIG_LINE_MAX)
			return false;
		*buf = realloc(*buf, *len + need + 1);
		if (*buf == NULL)
			abort();
		*len += (size_t)snprintf(
		    *buf + *len, need + 1, "%s \"%s\"\n", e[i].keyword, e[i].value);
	}
	return true;
}

static bool
same_entries(const struct config_entry *a, size_t na, const struct config_entry *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].keyword, b[i].keyword) != 0 || strcmp(a[i].value, b[i].value) != 0)
			return false;
	return true;
}

static void
round_trip(const struct config *c)
{
	struct config again;
	char *buf = NULL;
	size_t len = 0;
	bool ok = write_entries(&buf, &len, c->defaults, c->n_defaults);

	for (size_t i = 0; ok && i < c->n_profiles; i++) {
		size_t need = strlen(c->profiles[i].name) + 10;

		buf = realloc(buf, len + need);
		if (buf == NULL)
			abort();
		len += (size_t)snprintf(buf + len, need, "Profile %s\n", c->profiles[i].name);
		ok = write_entries(&buf, &len, c->profiles[i].entries, c->profiles[i].n_entries);
	}
	if (ok) {
		config_init(&again);
		if (config_parse(&again, FILE_NAME, buf, len) != 0)
			abort();
		if (!same_entries(c->defaults, c->n_defaults, again.defaults, again.n_defaults) ||
		    again.n_profiles != c->n_profiles)
			abort();
		for (size_t i = 0; i < c->n_profiles; i++)
			if (strcmp(c->profiles[i].name, again.profiles[i].name) != 0 ||
			    !same_entries(c->profiles[i].entries, c->profiles[i].n_entries,
				again.profiles[i].entries, again.profiles[i].n_entries))
				abort();
		config_free(&again);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;

	config_init(&c);
	if (config_parse(&c, FILE_NAME, (const char *)data, size) != c.n_errors)
		abort();
	check_errors(&c, data, size);
	check_entries(c.defaults, c.n_defaults, 0);
	check_profiles(&c);
	apply(&c, NULL);
	for (size_t i = 0; i < c.n_profiles; i++)
		apply(&c, &c.profiles[i]);
	round_trip(&c);
	config_free(&c);
	return 0;
}
