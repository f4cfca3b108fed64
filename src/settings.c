/*
 * Settings resolution. The command line is read twice: once to learn the
 * command, the target word and -F, then again over the config file's values
 * so that it overrides them.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctlcmd.h"
#include "hostkey.h"
#include "log.h"
#include "settings.h"
#include "sshconfig.h"
#include "sshenv.h"
#include "token.h"
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

#define SSH_SYSTEM_CONFIG "/etc/ssh/ssh_config"

static bool
is_set(const char *v)
{
	return v != NULL && strcmp(v, "none") != 0;
}

/* Whether a keyword is a forward, which a profile brings itself. */
static bool
is_forward(const struct sshkw *kw)
{
	return kw->check == SSHKW_LOCALFWD || kw->check == SSHKW_REMOTEFWD ||
	    kw->check == SSHKW_DYNAMICFWD;
}

/* ssh_config's flags take true/false too; option.c takes yes/no. */
static const char *
flag_value(const char *value)
{
	if (strcasecmp(value, "true") == 0)
		return "yes";
	if (strcasecmp(value, "false") == 0)
		return "no";
	return value;
}

/*
 * One ~/.ssh/config line that applies: through option_set unless a more
 * important source already set the keyword; a keyword porthole does not
 * implement says so (once: only the first line of a keyword is listed).
 */
static int
apply_entry(
    struct options *o, const struct sshconfig_entry *e, bool profile, char *err, size_t errlen)
{
	const struct sshkw *kw = e->kw;
	char why[512];

	if (kw->porthole == SSHKW_OWN || kw->porthole == SSHKW_BLOCK) {
		log_debug("%s:%d: %s: porthole's %s is its own; not taken from ssh_config", e->file,
		    e->line, kw->name, kw->name);
		return 0;
	}
	if (profile && is_forward(kw)) {
		log_debug("%s:%d: %s %s not brought up: the profile has its own forwards", e->file,
		    e->line, kw->name, e->value);
		return 0;
	}
	if (!option_known(kw->name)) {
		/* The system-wide file's defaults are for ssh: not worth a word at each run. */
		if (kw->porthole == SSHKW_WARN && !sshkw_harmless(kw, e->value))
			log_msg(e->system ? LOG_DEBUG1 : LOG_INFO,
			    "%s:%d: %s %s: porthole does not implement %s; ignored", e->file,
			    e->line, kw->name, e->value, kw->name);
		return 0;
	}
	if (!kw->accumulate && option_is_set(o, kw->name))
		return 0;
	/* ProxyJump and ProxyCommand compete, as in ssh: whichever is set first wins. */
	if ((strcmp(kw->name, "ProxyJump") == 0 && o->proxy_command != NULL) ||
	    (strcmp(kw->name, "ProxyCommand") == 0 && o->proxy_jump != NULL))
		return 0;
	if (strcasecmp(e->value, "none") == 0 &&
	    (kw->accumulate || strcmp(kw->name, "ProxyJump") == 0))
		return 0;
	if (option_set(o, kw->name, flag_value(e->value), why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%d: %s", e->file, e->line, why);
		return -1;
	}
	return 0;
}

/* The name ~/.ssh/config is evaluated for: a profile's HostName, else the destination. */
static const char *
ssh_host_arg(const struct settings *st)
{
	if (st->profile != NULL)
		return st->opt.host_name;
	return st->opt.host;
}

/*
 * Applies ~/.ssh/config (or SshConfigFile) for the destination: each line
 * that applies fills what the command line and the profile left unset. A
 * profile's HostName is itself looked up, so it may name an ssh alias.
 */
static int
apply_ssh_config(struct settings *st, char *err, size_t errlen)
{
	struct options *o = &st->opt;
	const char *file = o->ssh_config_file != NULL ? o->ssh_config_file : "~/.ssh/config";
	struct sshenv se;
	struct sshconfig cfg;

	if (ssh_host_arg(st) == NULL || strcasecmp(file, "none") == 0)
		return 0;
	st->ssh_host_arg = xstrdup(ssh_host_arg(st));
	if (st->profile != NULL) {
		free(o->host_name);
		o->host_name = NULL; /* the alias: ~/.ssh/config may name the real host */
	}
	sshenv_init(&se);
	se.env.host_arg = st->ssh_host_arg;
	se.env.hostname = o->host_name;
	se.env.user = o->user;
	se.env.port = o->port > 0 ? o->port : 0;
	se.env.host_key_alias = o->host_key_alias;
	se.env.check_perms = o->ssh_config_file == NULL;
	char *path = hostkey_expand_path(file);
	/* As ssh without -F: the user's file, then the system-wide one. */
	int rc = sshconfig_read_files(path, o->ssh_config_file == NULL ? SSH_SYSTEM_CONFIG : NULL,
	    &se.env, &cfg, err, errlen);
	free(path);
	for (int i = 0; i < cfg.n_notes; i++)
		log_debug("%s", cfg.notes[i]);
	for (size_t i = 0; rc == 0 && i < cfg.n_entries; i++)
		rc = apply_entry(o, &cfg.entries[i], st->profile != NULL, err, errlen);
	if (rc == 0 && cfg.matched)
		log_debug("%s has settings for %s", file, st->ssh_host_arg);
	sshconfig_free(&cfg);
	sshenv_free(&se);
	if (rc == 0 && st->profile != NULL && o->host_name == NULL)
		o->host_name = xstrdup(st->ssh_host_arg);
	return rc;
}

static void
lowercase(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Whether text is a numeric IPv4 or IPv6 address (ssh does not lowercase those). */
static bool
is_address(const char *text)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

static const char *
env_lookup(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

/* The %-token values of this run (ssh's cinfo), in tv; strings in bufs. */
struct token_bufs {
	char port[16], hash[41], shorthost[256];
	struct sshenv se;
};

static void
token_setup(const struct settings *st, struct token_values *tv, struct token_bufs *b)
{
	const struct options *o = &st->opt;
	const char *host = o->host_name != NULL ? o->host_name : o->host != NULL ? o->host : "";
	const char *arg = st->ssh_host_arg != NULL ? st->ssh_host_arg : host;

	sshenv_init(&b->se);
	memset(tv, 0, sizeof(*tv));
	snprintf(b->port, sizeof(b->port), "%d", o->port > 0 ? o->port : 22);
	snprintf(b->shorthost, sizeof(b->shorthost), "%.*s", (int)strcspn(b->se.local_host, "."),
	    b->se.local_host);
	const char *user = o->user != NULL ? o->user : b->se.local_user;
	token_conn_hash(b->se.local_host, host, b->port, user, b->hash);
	tv->v['C'] = b->hash;
	tv->v['d'] = b->se.home;
	tv->v['h'] = host;
	tv->v['i'] = b->se.uid;
	tv->v['k'] = o->host_key_alias != NULL ? o->host_key_alias : arg;
	tv->v['L'] = b->shorthost;
	tv->v['l'] = b->se.local_host;
	tv->v['n'] = arg;
	tv->v['p'] = b->port;
	tv->v['r'] = user;
	tv->v['u'] = b->se.local_user;
}

char *
settings_expand(const struct settings *st, const char *text, int flags, const char *allowed,
    char *err, size_t errlen)
{
	struct token_values tv, only;
	struct token_bufs b;

	token_setup(st, &tv, &b);
	memset(&only, 0, sizeof(only));
	for (const char *p = allowed; *p != '\0'; p++)
		only.v[(unsigned char)*p] = tv.v[(unsigned char)*p];
	char *out = token_expand(text, flags, &only, env_lookup, NULL, err, errlen);
	sshenv_free(&b.se);
	return out;
}

/* Expands one setting in place: %-tokens and ${ENV}, where ssh expands them. */
static int
expand_field(const struct settings *st, char **field, const char *keyword, char *err, size_t errlen)
{
	char why[256];

	if (*field == NULL)
		return 0;
	char *out = settings_expand(
	    st, *field, TOKEN_PERCENT | TOKEN_ENV, TOKEN_DEFAULT_SET, why, sizeof(why));
	if (out == NULL) {
		snprintf(err, errlen, "%s %s: %s", keyword, *field, why);
		return -1;
	}
	free(*field);
	*field = out;
	return 0;
}

/*
 * UserKnownHostsFile: each file with "~" and then the tokens expanded, as
 * ssh does before it prints or reads them; rejoined, quoted where needed.
 */
static int
expand_files(const struct settings *st, char **field, const char *dflt, const char *keyword,
    char *err, size_t errlen)
{
	char *words[OPTION_MAX_FILES], why[256];
	size_t len = 1;
	int n = option_split_words(
	    *field != NULL ? *field : dflt, words, OPTION_MAX_FILES, why, sizeof(why));

	if (n == -1) {
		snprintf(err, errlen, "%s: %s", keyword, why);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *home = hostkey_expand_path(words[i]);
		free(words[i]);
		words[i] = home;
		if (n == 1 && strcasecmp(words[i], "none") == 0)
			break;
		if (expand_field(st, &words[i], keyword, err, errlen) == -1) {
			for (int j = 0; j < n; j++)
				free(words[j]);
			return -1;
		}
		len += strlen(words[i]) + 3;
	}
	char *joined = xmalloc(len + 8), *p = joined;
	*p = '\0';
	for (int i = 0; i < n; i++) {
		const char *q = strpbrk(words[i], " \t") == NULL ? ""
		    : strchr(words[i], '"') == NULL		 ? "\""
								 : "'";
		p += sprintf(p, "%s%s%s%s", i > 0 ? " " : "", q, words[i], q);
		free(words[i]);
	}
	free(*field);
	*field = joined;
	return 0;
}

/*
 * The last step, as ssh's: the host name lowercased unless an address (and
 * HostKeyAlias), then
 * the %-tokens and ${ENV} of the keywords ssh_config(5) lists, and the user
 * named (the local one) if no source named one.
 */
static int
finish_settings(struct settings *st, char *err, size_t errlen)
{
	struct options *o = &st->opt;
	char **name = o->host_name != NULL ? &o->host_name : &o->host;
	int rc = 0;

	if (*name != NULL && !is_address(*name))
		lowercase(*name);
	if (o->host_key_alias != NULL)
		lowercase(o->host_key_alias); /* as ssh, before %k */
	for (int i = 0; rc == 0 && i < o->n_identity_files; i++)
		rc = expand_field(st, &o->identity_files[i], "IdentityFile", err, errlen);
	for (int i = 0; rc == 0 && i < o->n_certificate_files; i++)
		rc = expand_field(st, &o->certificate_files[i], "CertificateFile", err, errlen);
	if (rc == 0)
		rc = expand_files(st, &o->known_hosts, OPTION_DEFAULT_USER_KNOWN_HOSTS,
		    "UserKnownHostsFile", err, errlen);
	if (rc == 0 && o->proxy_command != NULL && strcmp(o->proxy_command, "none") != 0) {
		char why[256],
		    *cmd = settings_expand(
			st, o->proxy_command, TOKEN_PERCENT, "hnpr", why, sizeof(why));
		if (cmd == NULL) {
			snprintf(err, errlen, "ProxyCommand %s: %s", o->proxy_command, why);
			rc = -1;
		} else {
			free(o->proxy_command_run);
			o->proxy_command_run = cmd; /* ssh -G shows it as written */
		}
	}
	if (rc == 0 && o->user == NULL) {
		struct passwd *pw = getpwuid(getuid());
		if (pw != NULL)
			o->user = xstrdup(pw->pw_name); /* as ssh: %r and check show it */
	}
	if (rc == 0 && o->control_path != NULL) {
		char *home = hostkey_expand_path(o->control_path);
		free(o->control_path);
		o->control_path = home; /* "~" first, as ssh */
		rc = expand_field(st, &o->control_path, "ControlPath", err, errlen);
	}
	if (rc == 0 && o->identity_agent != NULL && strcmp(o->identity_agent, "none") != 0 &&
	    strcmp(o->identity_agent, "SSH_AUTH_SOCK") != 0 &&
	    !(o->identity_agent[0] == '$' && o->identity_agent[1] != '{'))
		rc = expand_field(st, &o->identity_agent, "IdentityAgent", err, errlen);
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
	path = hostkey_expand_path(
	    st->opt.ssh_config_file != NULL ? st->opt.ssh_config_file : "~/.ssh/config");
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
	/* porthole -O VERB NAME.sock: an instance's socket file as status lists it. */
	if (st->cli.command == CMD_CONTROL && ctlcmd_is_socket_name(st->cli.target))
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
	if (is_set(st->opt.proxy_jump) && is_set(st->opt.proxy_command)) {
		snprintf(err, errlen, "ProxyJump (%s) and ProxyCommand (%s) cannot both be used",
		    st->opt.proxy_jump, st->opt.proxy_command);
		return SETTINGS_USAGE;
	}
	if (apply_ssh_config(st, err, errlen) == -1 || finish_settings(st, err, errlen) == -1)
		return SETTINGS_USAGE;
	return SETTINGS_OK;
}

/* What a jump host takes from the destination where its own config says nothing. */
static void
inherit(struct options *o, const struct options *dest)
{
	if (o->known_hosts == NULL && dest->known_hosts != NULL)
		o->known_hosts = xstrdup(dest->known_hosts);
	if (o->global_known_hosts == NULL && dest->global_known_hosts != NULL)
		o->global_known_hosts = xstrdup(dest->global_known_hosts);
	if (o->identity_agent == NULL && dest->identity_agent != NULL)
		o->identity_agent = xstrdup(dest->identity_agent);
	if (o->n_identity_files == 0) {
		for (int i = 0; i < dest->n_identity_files; i++)
			o->identity_files[o->n_identity_files++] = xstrdup(dest->identity_files[i]);
		for (int i = 0; i < dest->n_certificate_files; i++)
			o->certificate_files[o->n_certificate_files++] =
			    xstrdup(dest->certificate_files[i]);
		if (o->identities_only == -1)
			o->identities_only = dest->identities_only;
	}
	if (o->strict_hostkey == -1)
		o->strict_hostkey = dest->strict_hostkey;
	if (o->server_alive_interval == -1)
		o->server_alive_interval = dest->server_alive_interval;
	if (o->server_alive_count_max == -1)
		o->server_alive_count_max = dest->server_alive_count_max;
	if (o->connect_timeout == -1)
		o->connect_timeout = dest->connect_timeout;
	if (o->address_family == -1)
		o->address_family = dest->address_family;
	if (o->batch_mode == -1)
		o->batch_mode = dest->batch_mode;
}

int
settings_load_hop(struct settings *hop, const char *host, const char *user, int port,
    const struct options *dest, char *err, size_t errlen)
{
	memset(hop, 0, sizeof(*hop));
	options_init(&hop->opt);
	config_init(&hop->config);
	hop->opt.host = xstrdup(host);
	hop->opt.user = user != NULL ? xstrdup(user) : NULL;
	hop->opt.port = port;
	if (dest->ssh_config_file != NULL)
		hop->opt.ssh_config_file = xstrdup(dest->ssh_config_file);
	if (apply_ssh_config(hop, err, errlen) == -1)
		return -1;
	inherit(&hop->opt, dest);
	return finish_settings(hop, err, errlen);
}

void
settings_free(struct settings *st)
{
	options_free(&st->opt);
	config_free(&st->config);
	free(st->cli_forwards);
	st->cli_forwards = NULL;
	free(st->ssh_host_arg);
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
