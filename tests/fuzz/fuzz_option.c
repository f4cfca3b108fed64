/*
 * Fuzz target for option.c and cli.c: the input is split into lines at '\n'
 * (a NUL ends a line's text early). Each line is set with option_set_line
 * into one struct options, parsed as a destination, and finally all lines
 * together are a command line for cli_parse. Besides not crashing or leaking:
 * a refused line leaves the options as they were, errors are terminated and
 * fit any buffer, settings stay in range, and an accepted destination
 * written back as "user@[host]:port" parses to the same thing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "option.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

static void
check_err(const char *err, size_t len)
{
	if (err[0] == '\0' || memchr(err, '\0', len) == NULL)
		abort();
}

static void
check_options(const struct options *o)
{
	if (o->port != -1 && (o->port < 1 || o->port > 65535))
		abort();
	if (o->n_identity_files < 0 || o->n_identity_files > OPTION_MAX_IDENTITIES)
		abort();
	for (int i = 0; i < o->n_identity_files; i++)
		if (o->identity_files[i] == NULL || o->identity_files[i][0] == '\0')
			abort();
	if (o->user != NULL && o->user[0] == '\0')
		abort();
	if (o->identities_only < -1 || o->identities_only > 1 || o->gateway_ports < -1 ||
	    o->gateway_ports > 1 || o->exit_on_forward_failure < -1 ||
	    o->exit_on_forward_failure > 1)
		abort();
	if (o->strict_hostkey < -1 || o->strict_hostkey > STRICT_NO)
		abort();
	if (o->log_level < -1 || o->log_level > LOG_DEBUG3)
		abort();
	if (o->check_host_ip < -1 || o->check_host_ip > 1)
		abort();
	/* A file list that was accepted splits again. */
	const char *lists[] = {o->known_hosts, o->global_known_hosts};
	for (size_t i = 0; i < 2; i++) {
		char *w[OPTION_MAX_FILES], e[64];
		int n =
		    lists[i] ? option_split_words(lists[i], w, OPTION_MAX_FILES, e, sizeof(e)) : 0;
		if (n < 0)
			abort();
		while (n > 0)
			free(w[--n]);
	}
	for (size_t i = 0; i < o->n_forwards; i++) {
		const struct fwd_spec *f = &o->forwards[i];
		if (f->kind != FWD_LOCAL && f->kind != FWD_REMOTE && f->kind != FWD_DYNAMIC)
			abort();
		/* Only a remote forward may ask the server to pick its port. */
		if (f->bind_port == 0 && f->kind != FWD_REMOTE)
			abort();
		if (f->kind == FWD_DYNAMIC ? (f->udp || f->host_port != 0) : f->host_port == 0)
			abort();
	}
}

/* One line as a -o option: accepted, or refused with nothing changed. */
static void
set_line(struct options *o, const char *line, size_t tiny)
{
	struct options before;
	char err[300];

	memcpy(&before, o, sizeof(before));
	memset(err, 'Z', sizeof(err));
	if (option_set_line(o, line, err, sizeof(err)) == 0) {
		check_options(o);
		return;
	}
	check_err(err, sizeof(err));
	if (memcmp(&before, o, sizeof(before)) != 0)
		abort();
	memset(err, 'Z', sizeof(err));
	if (option_set_line(o, line, err, tiny) != -1)
		abort();
	if ((tiny > 0 && memchr(err, '\0', tiny) == NULL) || err[tiny] != 'Z')
		abort();
}

/* One line as a destination: refused with nothing set, or it round-trips. */
static void
parse_destination(const char *line)
{
	struct options o, again;
	char err[300], *text;
	size_t len;

	options_init(&o);
	options_init(&again);
	memset(err, 'Z', sizeof(err));
	if (cli_parse_destination(line, &o, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		if (o.host != NULL || o.user != NULL || o.port != -1)
			abort();
		return;
	}
	if (o.host == NULL || o.host[0] == '\0' || strchr(o.host, '@') != NULL)
		abort();
	check_options(&o);
	/*
	 * A host written without brackets may hold ']'; it cannot be bracketed.
	 * An ssh:// URL's user may decode to "ssh://...", which would read as a URL.
	 */
	if (strchr(o.host, ']') == NULL && (o.user == NULL || strncmp(o.user, "ssh://", 6) != 0)) {
		len = strlen(line) + 16;
		text = malloc(len);
		if (text == NULL)
			abort();
		snprintf(text, len, "%s%s[%s]", o.user ? o.user : "", o.user ? "@" : "", o.host);
		if (o.port != -1)
			snprintf(text + strlen(text), len - strlen(text), ":%d", o.port);
		if (cli_parse_destination(text, &again, err, sizeof(err)) != 0 ||
		    strcmp(again.host, o.host) != 0 || again.port != o.port ||
		    (o.user == NULL) != (again.user == NULL) ||
		    (o.user != NULL && strcmp(o.user, again.user) != 0))
			abort();
		free(text);
	}
	options_free(&again);
	options_free(&o);
}

/* All lines as a command line. */
static void
parse_command_line(char **lines, int n)
{
	char *argv[MAX_LINES + 2];
	struct options o;
	char err[300];

	argv[0] = "porthole";
	for (int i = 0; i < n; i++)
		argv[i + 1] = lines[i];
	argv[n + 1] = NULL;
	options_init(&o);
	memset(err, 'Z', sizeof(err));
	switch (cli_parse(n + 1, argv, &o, err, sizeof(err))) {
	case CLI_RUN:
		if (o.host == NULL)
			abort();
		check_options(&o);
		break;
	case CLI_USAGE:
		check_err(err, sizeof(err));
		break;
	case CLI_EXIT:
		break;
	default:
		abort();
	}
	options_free(&o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *lines[MAX_LINES];
	int n = 0;
	struct options o;
	size_t tiny = size > 0 ? data[0] % 12 : 0;

	/* Each line in its own exact-size buffer, so reading past it is caught. */
	for (size_t start = 0; start < size && n < MAX_LINES;) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = nl ? (size_t)(nl - data) - start : size - start;

		lines[n] = malloc(len + 1);
		if (lines[n] == NULL)
			abort();
		memcpy(lines[n], data + start, len);
		lines[n][len] = '\0';
		n++;
		start += len + 1;
	}

	options_init(&o);
	for (int i = 0; i < n; i++) {
		set_line(&o, lines[i], tiny);
		parse_destination(lines[i]);
	}
	options_free(&o);
	parse_command_line(lines, n);

	for (int i = 0; i < n; i++)
		free(lines[i]);
	return 0;
}
