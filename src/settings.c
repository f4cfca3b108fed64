/*
 * Settings resolution. The command line is read twice: once to learn the
 * command, the target word and -F, then again over the config file's values
 * so that it overrides them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hostkey.h"
#include "log.h"
#include "settings.h"
#include "sshconfig.h"
#include "xmalloc.h"

char *
settings_default_config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *path;

	if (xdg != NULL && xdg[0] == '/') {
		path = xmalloc(strlen(xdg) + sizeof("/porthole/config"));
		sprintf(path, "%s/porthole/config", xdg);
		return path;
	}
	return hostkey_expand_path("~/.config/porthole/config");
}

static void
load_config(struct settings *st)
{
	char *path;

	if (st->cli.config_file != NULL) {
		config_load(&st->config, st->cli.config_file);
		return;
	}
	path = settings_default_config_path();
	if (access(path, F_OK) == 0)
		config_load(&st->config, path);
	else
		log_debug("no config file at %s", path);
	free(path);
}

/* Fills what is still unset from ~/.ssh/config's Host blocks for the alias. */
static int
apply_ssh_config(struct options *o, char *err, size_t errlen)
{
	const char *alias = o->host_name != NULL ? o->host_name : o->host;
	struct ssh_host h;
	char *path;
	int rc;

	if (alias == NULL)
		return 0;
	memset(&h, 0, sizeof(h));
	path = hostkey_expand_path("~/.ssh/config");
	rc = sshconfig_lookup(path, alias, &h, err, errlen);
	free(path);
	for (int i = 0; i < h.n_notes; i++)
		log_debug("%s", h.notes[i]);
	if (rc == 0 && h.matched)
		log_debug("~/.ssh/config has settings for %s", alias);
	if (rc == 0) {
		if (h.host_name != NULL) {
			free(o->host_name);
			o->host_name = xstrdup(h.host_name);
		}
		if (o->port == -1 && h.port > 0)
			o->port = h.port;
		if (o->user == NULL && h.user != NULL)
			o->user = xstrdup(h.user);
		if (o->n_identity_files == 0)
			for (int i = 0; i < h.n_identity_files && i < OPTION_MAX_IDENTITIES; i++)
				if (strcmp(h.identity_files[i], "none") != 0)
					o->identity_files[o->n_identity_files++] =
					    xstrdup(h.identity_files[i]);
		if (o->proxy_jump == NULL && h.proxy_jump != NULL &&
		    strcmp(h.proxy_jump, "none") != 0) {
			char e[256];
			option_set(o, "ProxyJump", h.proxy_jump, e, sizeof(e));
		}
		if (o->known_hosts == NULL && h.known_hosts != NULL)
			o->known_hosts = xstrdup(h.known_hosts);
	}
	ssh_host_free(&h);
	return rc;
}

/* Whether a Host line of the ssh config file at path names alias literally. */
static bool
ssh_config_names(const char *path, const char *alias)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *save, *w;
	size_t cap = 0;
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && getline(&line, &cap, f) != -1) {
		w = strtok_r(line, " \t\r\n=", &save);
		if (w == NULL || strcasecmp(w, "Host") != 0)
			continue;
		while (!found && (w = strtok_r(NULL, " \t\r\n=\"", &save)) != NULL && w[0] != '#')
			found = strcasecmp(w, alias) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * A bare word that is no profile but one letter or two away from one, and
 * that ~/.ssh/config does not know either, is a typo ("porthole mun"):
 * say so before any name lookup, rather than "cannot resolve mun".
 */
static bool
near_profile(const struct settings *st, const char *target, char *err, size_t errlen)
{
	const struct config_profile *p;
	char *path;
	bool known;

	if (strpbrk(target, "@:./[") != NULL || (p = config_suggest(&st->config, target)) == NULL)
		return false;
	path = hostkey_expand_path("~/.ssh/config");
	known = ssh_config_names(path, target);
	free(path);
	if (known)
		return false;
	snprintf(err, errlen,
	    "no profile '%s' in %s (did you mean '%s'?); for a host of that name, give user@%s",
	    target, st->config.file ? st->config.file : "the config file", p->name, target);
	return true;
}

enum settings_result
settings_load(struct settings *st, int argc, char **argv, char *err, size_t errlen)
{
	struct options first;
	enum cli_result r;

	memset(st, 0, sizeof(*st));
	options_init(&st->opt);
	config_init(&st->config);

	options_init(&first);
	r = cli_parse_command(argc, argv, &first, &st->cli, err, errlen);
	if (first.log_level != -1)
		log_set_level((enum log_level)first.log_level);
	/* Whether -l and -p were given: they beat user@ and :port, which beat the file. */
	bool cli_user = first.user != NULL, cli_port = first.port != -1;
	st->cli_forwards = first.forwards;
	st->n_cli_forwards = first.n_forwards;
	first.forwards = NULL;
	first.n_forwards = 0;
	options_free(&first);
	if (r == CLI_EXIT)
		return SETTINGS_EXIT;
	if (r == CLI_USAGE)
		return SETTINGS_USAGE;

	load_config(st);
	/* profiles lists what it can and reports the rest; status needs no config. */
	if (st->cli.command == CMD_PROFILES || st->cli.command == CMD_STATUS)
		return SETTINGS_OK;

	const char *target = st->cli.target;
	st->profile = target != NULL ? config_find(&st->config, target) : NULL;
	/*
	 * A mistake in another profile's block does not stop this one; a bare
	 * "porthole check" checks the whole file.
	 */
	if (st->cli.command == CMD_CHECK && target == NULL
		? st->config.n_errors > 0
		: config_errors_against(&st->config, st->profile) > 0)
		return SETTINGS_CONFIG;
	if (st->cli.command == CMD_RUN)
		for (size_t i = 0; i < st->config.n_errors; i++)
			log_info("%s (in profile '%s', not used now)", st->config.errors[i],
			    st->config.profiles[st->config.error_scope[i]].name);
	if (config_apply(&st->config, st->profile, &st->opt, err, errlen) == -1)
		return SETTINGS_USAGE;
	if (cli_parse_command(argc, argv, &st->opt, &st->cli, err, errlen) != CLI_RUN)
		return SETTINGS_USAGE;
	if (st->opt.log_level != -1)
		log_set_level((enum log_level)st->opt.log_level);

	if (st->profile != NULL) {
		if (st->opt.host_name == NULL) {
			snprintf(err, errlen, "%s:%d: profile '%s' has no HostName",
			    st->config.file, st->profile->line, st->profile->name);
			return SETTINGS_USAGE;
		}
		free(st->opt.host);
		st->opt.host = xstrdup(target);
		log_debug("profile %s from %s", target, st->config.file);
	} else if (target != NULL) {
		struct options dest;
		if (near_profile(st, target, err, errlen))
			return SETTINGS_USAGE;
		options_init(&dest);
		if (cli_parse_destination(target, &dest, err, errlen) == -1) {
			options_free(&dest);
			return SETTINGS_USAGE;
		}
		free(st->opt.host);
		st->opt.host = dest.host;
		dest.host = NULL;
		if (dest.user != NULL && !cli_user) {
			free(st->opt.user);
			st->opt.user = dest.user;
			dest.user = NULL;
		}
		if (dest.port != -1 && !cli_port)
			st->opt.port = dest.port;
		options_free(&dest);
	}
	/* Profiles are meant to stay up; a one-line forward ends with its session. */
	if (st->opt.reconnect == -1)
		st->opt.reconnect = st->profile != NULL;
	if (apply_ssh_config(&st->opt, err, errlen) == -1)
		return SETTINGS_USAGE;
	return SETTINGS_OK;
}

void
settings_free(struct settings *st)
{
	options_free(&st->opt);
	config_free(&st->config);
	free(st->cli_forwards);
	st->cli_forwards = NULL;
}

void
settings_print_profiles(const struct settings *st, FILE *out)
{
	for (size_t i = 0; i < st->config.n_profiles; i++) {
		const struct config_profile *p = &st->config.profiles[i];
		const char *host = NULL, *user = NULL, *port = NULL;
		fprintf(out, "%s\t", p->name);
		for (size_t j = 0; j < p->n_entries; j++) {
			const struct config_entry *e = &p->entries[j];
			if (strcasecmp(e->keyword, "HostName") == 0 && host == NULL)
				host = e->value;
			else if (strcasecmp(e->keyword, "User") == 0 && user == NULL)
				user = e->value;
			else if (strcasecmp(e->keyword, "Port") == 0 && port == NULL)
				port = e->value;
		}
		fprintf(out, "%s%s%s%s%s", user ? user : "", user ? "@" : "",
		    host ? host : "(no HostName)", port ? ":" : "", port ? port : "");
		for (size_t j = 0; j < p->n_entries; j++) {
			const struct config_entry *e = &p->entries[j];
			const char *flag = strcasecmp(e->keyword, "LocalForward") == 0 ? "-L"
			    : strcasecmp(e->keyword, "RemoteForward") == 0	       ? "-R"
			    : strcasecmp(e->keyword, "DynamicForward") == 0	       ? "-D"
										       : NULL;
			if (flag != NULL)
				fprintf(out, "\t%s %s", flag, e->value);
		}
		fputc('\n', out);
	}
}
