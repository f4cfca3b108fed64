/*
 * The settings of one run, from three sources, most important first: the
 * command line; porthole's config file (the profile, then the defaults
 * before the first Profile); ~/.ssh/config's Host blocks, which only fill
 * what is still unset (porthole's file never changes what an ssh keyword
 * means).
 */
#ifndef PORTHOLE_SETTINGS_H
#define PORTHOLE_SETTINGS_H

#include <stddef.h>

#include "cli.h"
#include "config.h"
#include "option.h"

struct settings {
	struct options opt;
	struct cli cli;
	struct config config;
	const struct config_profile *profile; /* the profile run, if any */
	/* -O forward|cancel: the -L, -R and -D of the command line alone */
	struct fwd_spec *cli_forwards;
	size_t n_cli_forwards;
	char *ssh_host_arg; /* the name ~/.ssh/config was evaluated for (%n), or NULL */
};

enum settings_result {
	SETTINGS_OK,
	SETTINGS_EXIT,	 /* --help or --version was printed */
	SETTINGS_USAGE,	 /* err says what; exit 2 */
	SETTINGS_CONFIG, /* the config file has errors: st->config.errors; exit 2 */
};

enum settings_result settings_load(
    struct settings *st, int argc, char **argv, char *err, size_t errlen);
void settings_free(struct settings *st);

/*
 * text with ssh_config's %-tokens of this run (those in allowed, e.g.
 * TOKEN_DEFAULT_SET or "hnpr" for ProxyCommand) and, with TOKEN_ENV in flags,
 * ${ENV} expanded; NULL with err if it names another token or an unset
 * variable. Free it.
 */
char *settings_expand(const struct settings *st, const char *text, int flags, const char *allowed,
    char *err, size_t errlen);

/*
 * The settings of a ProxyJump hop, as `ssh [user@]host -p port` would have
 * them: host looked up in ~/.ssh/config (SshConfigFile as dest has it), user
 * and port (-1: unset) from the -J item first. Where the hop's config says
 * nothing it takes dest's host key policy (StrictHostKeyChecking, the known
 * hosts files), keys, agent, keepalive and connect settings; never its
 * HostKeyAlias or forwards. Returns 0, or -1 with err; free hop with
 * settings_free either way.
 */
int settings_load_hop(struct settings *hop, const char *host, const char *user, int port,
    const struct options *dest, char *err, size_t errlen);

/* $XDG_CONFIG_HOME/porthole/config, else ~/.config/porthole/config. Free it. */
char *settings_default_config_path(void);

/* "porthole profiles": one line per profile, name, destination and forwards. */
void settings_print_profiles(const struct settings *st, FILE *out);

#endif
