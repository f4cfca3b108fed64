/*
 * Keywords and their values. The keywords[] table is the single list of
 * what -o and the config file accept: each entry names the field it sets
 * and how its value is parsed.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "algolist.h"
#include "log.h"
#include "jumpspec.h"
#include "option.h"
#include "sshkeyword.h"
#include "token.h"
#include "xmalloc.h"

void
options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->port = -1;
	o->identities_only = -1;
	o->strict_hostkey = -1;
	o->exit_on_forward_failure = -1;
	o->gateway_ports = -1;
	o->forward_access = -1;
	o->log_level = -1;
	o->server_alive_interval = -1;
	o->server_alive_count_max = -1;
	o->compression = -1;
	o->reconnect = -1;
	o->reconnect_max_delay = -1;
	o->connection_wait = -1;
	o->udp_idle_timeout = -1;
	o->udp_max_flows = -1;
	o->open_via = -1;
	o->notify_on_connect = -1;
	o->confirm_connect = -1;
	o->confirm_timeout = -1;
	o->check_host_ip = -1;
	o->batch_mode = -1;
	o->connect_timeout = -1;
	o->connection_attempts = -1;
	o->address_family = -1;
	o->fork_after_auth = -1;
}

void
options_free(struct options *o)
{
	free(o->host);
	free(o->user);
	for (int i = 0; i < o->n_identity_files; i++)
		free(o->identity_files[i]);
	free(o->known_hosts);
	free(o->forwards);
	free(o->host_name);
	free(o->proxy_jump);
	free(o->proxy_command);
	free(o->proxy_command_run);
	free(o->relay_command);
	free(o->control_path);
	free(o->presence_listen);
	free(o->presence_check);
	free(o->ssh_config_file);
	free(o->kex_algorithms);
	free(o->hostkey_algorithms);
	free(o->ciphers);
	free(o->macs);
	for (int i = 0; i < o->n_certificate_files; i++)
		free(o->certificate_files[i]);
	free(o->global_known_hosts);
	free(o->host_key_alias);
	free(o->identity_agent);
	free(o->bind_address);
	free(o->bind_interface);
	options_init(o);
}

int
option_parse_port(const char *text)
{
	long v = 0;

	if (*text == '\0')
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -1;
	}
	return v >= 1 ? (int)v : -1;
}

static const char *const open_via_names[] = {
    [OPEN_VIA_AUTO] = "auto",
    [OPEN_VIA_RELAY] = "relay",
    [OPEN_VIA_CHANNEL] = "channel",
};

int
option_parse_open_via(const char *name)
{
	for (size_t i = 0; i < sizeof(open_via_names) / sizeof(open_via_names[0]); i++)
		if (strcasecmp(name, open_via_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
option_open_via_name(enum open_via v)
{
	return (size_t)v < sizeof(open_via_names) / sizeof(open_via_names[0]) ? open_via_names[v]
									      : "auto";
}

enum open_via
option_open_via(const struct options *o)
{
	return o->open_via == -1 ? OPEN_VIA_AUTO : (enum open_via)o->open_via;
}

int
option_parse_log_level(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
	    {"QUIET", LOG_QUIET},
	    {"FATAL", LOG_FATAL},
	    {"ERROR", LOG_ERROR},
	    {"INFO", LOG_INFO},
	    {"VERBOSE", LOG_VERBOSE},
	    {"DEBUG", LOG_DEBUG1},
	    {"DEBUG1", LOG_DEBUG1},
	    {"DEBUG2", LOG_DEBUG2},
	    {"DEBUG3", LOG_DEBUG3},
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return (int)levels[i].level;
	return -1;
}

static int
parse_yesno(const char *value)
{
	if (strcasecmp(value, "yes") == 0)
		return 1;
	if (strcasecmp(value, "no") == 0)
		return 0;
	return -1;
}

int
option_add_forward(
    struct options *o, enum fwd_kind kind, const char *text, char *err, size_t errlen)
{
	static const char *const flag[] = {
	    [FWD_LOCAL] = "-L", [FWD_REMOTE] = "-R", [FWD_DYNAMIC] = "-D"};
	struct fwd_spec spec;
	char why[128];

	if (spec_parse(kind, text, &spec, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s %s: %s", flag[kind], text, why);
		return -1;
	}
	o->forwards = xrealloc(o->forwards, (o->n_forwards + 1) * sizeof(*o->forwards));
	o->forwards[o->n_forwards++] = spec;
	return 0;
}

/*
 * ssh_config writes "LocalForward [bind_address:]port host:hostport", two
 * words; -L writes one. Both are accepted: the words are joined with ':'.
 */
static int
add_config_forward(
    struct options *o, enum fwd_kind kind, const char *value, char *err, size_t errlen)
{
	size_t n = strcspn(value, " \t");
	char *joined;
	int rc;

	if (value[n] == '\0' || kind == FWD_DYNAMIC)
		return option_add_forward(o, kind, value, err, errlen);
	joined = xmalloc(strlen(value) + 1);
	memcpy(joined, value, n);
	joined[n] = ':';
	strcpy(joined + n + 1, value + n + strspn(value + n, " \t"));
	rc = option_add_forward(o, kind, joined, err, errlen);
	free(joined);
	return rc;
}

int
option_split_words(const char *value, char **out, int max, char *err, size_t errlen)
{
	size_t len = strlen(value);
	char *word = xmalloc(len + 1);
	int n = 0;

	for (const char *p = value;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		size_t w = 0;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '"' || *p == '\'') {
				const char *close = strchr(p + 1, *p);
				if (close == NULL) {
					snprintf(err, errlen, "unterminated quote in '%s'", value);
					goto fail;
				}
				memcpy(word + w, p + 1, (size_t)(close - p - 1));
				w += (size_t)(close - p - 1);
				p = close + 1;
			} else {
				word[w++] = *p++;
			}
		}
		if (n == max) {
			snprintf(err, errlen, "more than %d files", max);
			goto fail;
		}
		word[w] = '\0';
		out[n++] = xstrdup(word);
	}
	free(word);
	return n;
fail:
	free(word);
	while (n > 0)
		free(out[--n]);
	return -1;
}

int
option_parse_seconds(const char *text)
{
	/* ssh's time format (sshkeyword.c, as readconf's convtime), within porthole's bound. */
	long t = sshkw_convtime(text);

	return t < 0 || t > 100000000 ? -1 : (int)t;
}

enum value_type {
	V_PORT,
	V_STRING,
	V_YESNO,
	V_SECONDS,
	V_COUNT, /* a positive integer */
	V_STRICT,
	V_ACCESS,
	V_LOGLEVEL,
	V_IDENTITY,
	V_LOCAL,
	V_REMOTE,
	V_DYNAMIC,
	V_ALGOS,
	V_CERTIFICATE,
	V_FILES, /* file names split as ssh does; kept as written */
	V_FAMILY,
	V_TIMEOUT, /* seconds, or "none" (0) */
	V_JUMP,
	V_HOSTPORT, /* [host:]port, kept as written */
	V_OPENVIA,
};

static const struct keyword {
	const char *name;
	enum value_type type;
	size_t offset;
	bool unsupported; /* accepted and checked; the feature is not built yet */
} keywords[] = {
    {"HostName", V_STRING, offsetof(struct options, host_name), false},
    {"Port", V_PORT, offsetof(struct options, port), false},
    {"User", V_STRING, offsetof(struct options, user), false},
    {"IdentityFile", V_IDENTITY, 0, false},
    {"IdentitiesOnly", V_YESNO, offsetof(struct options, identities_only), false},
    {"ProxyJump", V_JUMP, offsetof(struct options, proxy_jump), false},
    {"ProxyCommand", V_STRING, offsetof(struct options, proxy_command), false},
    {"UserKnownHostsFile", V_FILES, offsetof(struct options, known_hosts), false},
    {"StrictHostKeyChecking", V_STRICT, offsetof(struct options, strict_hostkey), false},
    {"LocalForward", V_LOCAL, 0, false},
    {"RemoteForward", V_REMOTE, 0, false},
    {"DynamicForward", V_DYNAMIC, 0, false},
    {"ServerAliveInterval", V_SECONDS, offsetof(struct options, server_alive_interval), false},
    {"ServerAliveCountMax", V_COUNT, offsetof(struct options, server_alive_count_max), false},
    {"ExitOnForwardFailure", V_YESNO, offsetof(struct options, exit_on_forward_failure), false},
    {"GatewayPorts", V_YESNO, offsetof(struct options, gateway_ports), false},
    {"Compression", V_YESNO, offsetof(struct options, compression), false},
    {"LogLevel", V_LOGLEVEL, offsetof(struct options, log_level), false},
    {"Reconnect", V_YESNO, offsetof(struct options, reconnect), false},
    {"ReconnectMaxDelay", V_SECONDS, offsetof(struct options, reconnect_max_delay), false},
    {"ConnectionWait", V_SECONDS, offsetof(struct options, connection_wait), false},
    {"UdpIdleTimeout", V_SECONDS, offsetof(struct options, udp_idle_timeout), false},
    {"UdpMaxFlows", V_COUNT, offsetof(struct options, udp_max_flows), false},
    {"RelayCommand", V_STRING, offsetof(struct options, relay_command), false},
    {"OpenVia", V_OPENVIA, offsetof(struct options, open_via), false},
    {"NotifyOnConnect", V_YESNO, offsetof(struct options, notify_on_connect), false},
    {"ConfirmConnect", V_YESNO, offsetof(struct options, confirm_connect), false},
    {"ConfirmTimeout", V_SECONDS, offsetof(struct options, confirm_timeout), false},
    {"PresenceListen", V_HOSTPORT, offsetof(struct options, presence_listen), false},
    {"PresenceCheck", V_HOSTPORT, offsetof(struct options, presence_check), false},
    {"ControlPath", V_STRING, offsetof(struct options, control_path), false},
    {"SshConfigFile", V_STRING, offsetof(struct options, ssh_config_file), false},
    {"ForwardAccess", V_ACCESS, offsetof(struct options, forward_access), false},
    {"KexAlgorithms", V_ALGOS, offsetof(struct options, kex_algorithms), false},
    {"HostKeyAlgorithms", V_ALGOS, offsetof(struct options, hostkey_algorithms), false},
    {"Ciphers", V_ALGOS, offsetof(struct options, ciphers), false},
    {"MACs", V_ALGOS, offsetof(struct options, macs), false},
    {"CertificateFile", V_CERTIFICATE, 0, false},
    {"GlobalKnownHostsFile", V_FILES, offsetof(struct options, global_known_hosts), false},
    {"HostKeyAlias", V_STRING, offsetof(struct options, host_key_alias), false},
    {"CheckHostIP", V_YESNO, offsetof(struct options, check_host_ip), false},
    {"IdentityAgent", V_STRING, offsetof(struct options, identity_agent), false},
    {"BatchMode", V_YESNO, offsetof(struct options, batch_mode), false},
    {"ConnectTimeout", V_TIMEOUT, offsetof(struct options, connect_timeout), false},
    {"ConnectionAttempts", V_COUNT, offsetof(struct options, connection_attempts), false},
    {"AddressFamily", V_FAMILY, offsetof(struct options, address_family), false},
    {"BindAddress", V_STRING, offsetof(struct options, bind_address), false},
    {"BindInterface", V_STRING, offsetof(struct options, bind_interface), false},
    {"ForkAfterAuthentication", V_YESNO, offsetof(struct options, fork_after_auth), false},
};

#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

const char *
option_keyword(size_t i)
{
	return i < N_KEYWORDS ? keywords[i].name : NULL;
}

const char *
option_unsupported(const struct options *o, int *i)
{
	while (*i >= 0 && (size_t)*i < N_KEYWORDS) {
		size_t k = (size_t)(*i)++;
		if (o->unsupported_used & (1ULL << k))
			return keywords[k].name;
	}
	return NULL;
}

/*
 * The keywords whose %-tokens and ${ENV} are expanded once the connection's
 * values are known (settings.c): checked here so that a bad token is an
 * error where it is written.
 */
int
option_parse_hostport(
    const char *text, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *h = text, *p = text, *colon;
	size_t n = 0;

	host[0] = '\0';
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || end[1] != ':') {
			snprintf(err, errlen, "'[' without ']:port' (write [address]:port)");
			return -1;
		}
		h = text + 1;
		n = (size_t)(end - h);
		p = end + 2;
	} else if ((colon = strchr(text, ':')) != NULL) {
		if (strchr(colon + 1, ':') != NULL) {
			snprintf(err, errlen, "an IPv6 address needs brackets: [address]:port");
			return -1;
		}
		n = (size_t)(colon - text);
		p = colon + 1;
	}
	if (p != text && n == 0) {
		snprintf(err, errlen, "empty host before ':'");
		return -1;
	}
	if (n >= hostlen) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	if ((*port = option_parse_port(p)) == -1) {
		snprintf(err, errlen, "not a port (1-65535)");
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

static int
check_tokens(const struct keyword *k, const char *value, char *err, size_t errlen)
{
	static const char *const expanded[] = {"IdentityFile", "CertificateFile",
	    "UserKnownHostsFile", "IdentityAgent", "ControlPath"};
	char why[128];

	for (size_t i = 0; i < sizeof(expanded) / sizeof(expanded[0]); i++) {
		if (strcmp(k->name, expanded[i]) != 0)
			continue;
		if (token_check(value, TOKEN_PERCENT | TOKEN_ENV, TOKEN_DEFAULT_SET, why,
			sizeof(why)) == -1) {
			snprintf(err, errlen, "bad value '%s' for %s: %s", value, k->name, why);
			return -1;
		}
	}
	return 0;
}

static int
set_value(struct options *o, const struct keyword *k, const char *value, char *err, size_t errlen)
{
	int *ip = (int *)((char *)o + k->offset);
	char **sp = (char **)((char *)o + k->offset);
	int v;

	switch (k->type) {
	case V_PORT:
		if ((v = option_parse_port(value)) == -1) {
			snprintf(
			    err, errlen, "bad value '%s' for %s (a port, 1-65535)", value, k->name);
			return -1;
		}
		*ip = v;
		return 0;
	case V_STRING:
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	case V_JUMP: {
		struct jumpspec j;
		char e[256];
		if (jumpspec_parse(value, &j, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s: %s", k->name, e);
			return -1;
		}
		jumpspec_free(&j);
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case V_HOSTPORT: {
		char host[256], why[128];
		if (option_parse_hostport(value, host, sizeof(host), &v, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "bad value '%s' for %s: %s", value, k->name, why);
			return -1;
		}
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case V_YESNO:
		if ((v = parse_yesno(value)) == -1) {
			snprintf(err, errlen, "bad value '%s' for %s (yes or no)", value, k->name);
			return -1;
		}
		*ip = v;
		return 0;
	case V_SECONDS:
		if ((v = option_parse_seconds(value)) == -1) {
			snprintf(err, errlen, "bad value '%s' for %s (seconds, e.g. 30, 90s, 5m)",
			    value, k->name);
			return -1;
		}
		*ip = v;
		return 0;
	case V_COUNT: {
		char *end;
		long n = strtol(value, &end, 10);
		if (*end != '\0' || n < 1 || n > 1000000 || value[0] < '0' || value[0] > '9') {
			snprintf(err, errlen, "bad value '%s' for %s (a number, 1 or more)", value,
			    k->name);
			return -1;
		}
		*ip = (int)n;
		return 0;
	}
	case V_FAMILY:
		if (strcasecmp(value, "any") == 0)
			*ip = FAMILY_ANY;
		else if (strcasecmp(value, "inet") == 0)
			*ip = FAMILY_INET;
		else if (strcasecmp(value, "inet6") == 0)
			*ip = FAMILY_INET6;
		else {
			snprintf(err, errlen,
			    "bad value '%s' for AddressFamily (any, inet or inet6)", value);
			return -1;
		}
		return 0;
	case V_TIMEOUT:
		if (strcasecmp(value, "none") == 0)
			v = 0;
		else if ((v = option_parse_seconds(value)) == -1) {
			snprintf(err, errlen,
			    "bad value '%s' for %s (seconds, e.g. 5, 90s, 2m, or none)", value,
			    k->name);
			return -1;
		}
		*ip = v;
		return 0;
	case V_OPENVIA:
		if ((v = option_parse_open_via(value)) == -1) {
			snprintf(err, errlen, "bad value '%s' for OpenVia (auto, relay or channel)",
			    value);
			return -1;
		}
		*ip = v;
		return 0;
	case V_ACCESS:
		if (strcasecmp(value, "owner") == 0) {
#ifndef __linux__
			snprintf(err, errlen,
			    "ForwardAccess owner: this system cannot say who owns a connecting "
			    "socket (Linux only)");
			return -1;
#endif
			*ip = ACCESS_OWNER;
		} else if (strcasecmp(value, "any") == 0)
			*ip = ACCESS_ANY;
		else {
			snprintf(
			    err, errlen, "bad value '%s' for ForwardAccess (owner or any)", value);
			return -1;
		}
		return 0;
	case V_STRICT:
		/* ssh's spellings, "true" and "false" included. */
		if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0)
			*ip = STRICT_YES;
		else if (strcasecmp(value, "accept-new") == 0)
			*ip = STRICT_ACCEPT_NEW;
		else if (strcasecmp(value, "ask") == 0)
			*ip = STRICT_ASK;
		else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "off") == 0 ||
		    strcasecmp(value, "false") == 0)
			*ip = STRICT_NO;
		else {
			snprintf(err, errlen,
			    "bad value '%s' for StrictHostKeyChecking (yes, accept-new, ask, no or "
			    "off)",
			    value);
			return -1;
		}
		return 0;
	case V_FILES: {
		char *words[OPTION_MAX_FILES], why[200];
		int n = option_split_words(value, words, OPTION_MAX_FILES, why, sizeof(why));
		if (n == -1) {
			snprintf(err, errlen, "bad value for %s: %s", k->name, why);
			return -1;
		}
		for (int i = 0; i < n; i++)
			free(words[i]);
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case V_LOGLEVEL:
		if ((v = option_parse_log_level(value)) == -1) {
			snprintf(err, errlen,
			    "bad value '%s' for LogLevel (QUIET, FATAL, ERROR, INFO, VERBOSE, "
			    "DEBUG, DEBUG1, DEBUG2, DEBUG3)",
			    value);
			return -1;
		}
		*ip = v;
		return 0;
	case V_ALGOS: {
		char why[256];
		if (algolist_check(value, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "bad value for %s: %s", k->name, why);
			return -1;
		}
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case V_CERTIFICATE:
		if (o->n_certificate_files == OPTION_MAX_IDENTITIES) {
			snprintf(err, errlen,
			    "CertificateFile: too many certificate files (at most %d)",
			    OPTION_MAX_IDENTITIES);
			return -1;
		}
		o->certificate_files[o->n_certificate_files++] = xstrdup(value);
		return 0;
	case V_IDENTITY:
		if (o->n_identity_files == OPTION_MAX_IDENTITIES) {
			snprintf(err, errlen, "IdentityFile: too many identity files (at most %d)",
			    OPTION_MAX_IDENTITIES);
			return -1;
		}
		o->identity_files[o->n_identity_files++] = xstrdup(value);
		return 0;
	case V_LOCAL:
		return add_config_forward(o, FWD_LOCAL, value, err, errlen);
	case V_REMOTE:
		return add_config_forward(o, FWD_REMOTE, value, err, errlen);
	case V_DYNAMIC:
		return add_config_forward(o, FWD_DYNAMIC, value, err, errlen);
	}
	return -1;
}

/*
 * A keyword option.c does not have: an ssh_config keyword porthole does not
 * implement is checked as ssh would and then accepted if it has no effect on
 * forwarding or its value changes nothing (ControlMaster no), refused
 * otherwise, saying so; anything else is unknown.
 */
static int
ssh_keyword(const char *keyword, const char *value, char *err, size_t errlen)
{
	const struct sshkw *k = sshkw_find(keyword);
	char why[256];

	if (k == NULL) {
		snprintf(err, errlen, "unknown keyword '%s'", keyword);
		return -1;
	}
	if (k->porthole == SSHKW_BLOCK) {
		snprintf(err, errlen, "%s belongs in an ssh_config file, not here", k->name);
		return -1;
	}
	char *copy = xstrdup(value), *words[64];
	int n = 0;
	if (k->args == SSHKW_REST) {
		words[n++] = copy;
	} else {
		for (char *w = strtok(copy, " \t"); w != NULL && n < 64; w = strtok(NULL, " \t"))
			words[n++] = w;
	}
	int rc = sshkw_check_value(k, n, words, why, sizeof(why));
	free(copy);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", k->name, why);
		return -1;
	}
	if (k->porthole == SSHKW_WARN && !sshkw_harmless(k, value)) {
		snprintf(err, errlen,
		    "%s is an ssh keyword porthole does not implement (see porthole.conf(5))",
		    k->name);
		return -1;
	}
	return 0;
}

int
option_set(struct options *o, const char *keyword, const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < N_KEYWORDS; i++) {
		if (strcasecmp(keyword, keywords[i].name) != 0)
			continue;
		if (*value == '\0') {
			snprintf(err, errlen, "%s: missing value", keyword);
			return -1;
		}
		if (check_tokens(&keywords[i], value, err, errlen) == -1 ||
		    set_value(o, &keywords[i], value, err, errlen) == -1)
			return -1;
		if (keywords[i].unsupported)
			o->unsupported_used |= 1ULL << i;
		return 0;
	}
	return ssh_keyword(keyword, value, err, errlen);
}

bool
option_known(const char *keyword)
{
	for (size_t i = 0; i < N_KEYWORDS; i++)
		if (strcasecmp(keyword, keywords[i].name) == 0)
			return true;
	return false;
}

bool
option_is_set(const struct options *o, const char *keyword)
{
	for (size_t i = 0; i < N_KEYWORDS; i++) {
		const struct keyword *k = &keywords[i];
		if (strcasecmp(keyword, k->name) != 0)
			continue;
		const int *ip = (const int *)((const char *)o + k->offset);
		char *const *sp = (char *const *)((const char *)o + k->offset);
		switch (k->type) {
		case V_PORT:
		case V_YESNO:
		case V_SECONDS:
		case V_COUNT:
		case V_STRICT:
		case V_ACCESS:
		case V_LOGLEVEL:
		case V_FAMILY:
		case V_TIMEOUT:
		case V_OPENVIA:
			return *ip != -1;
		case V_STRING:
		case V_ALGOS:
		case V_FILES:
		case V_JUMP:
		case V_HOSTPORT:
			return *sp != NULL;
		case V_IDENTITY:
		case V_CERTIFICATE:
		case V_LOCAL:
		case V_REMOTE:
		case V_DYNAMIC:
			return false; /* lists: every source adds */
		}
	}
	return false;
}

int
option_set_line(struct options *o, const char *line, char *err, size_t errlen)
{
	char keyword[64];
	size_t n = strcspn(line, "= \t");

	if (n == 0 || n >= sizeof(keyword)) {
		snprintf(err, errlen, "bad option '%s' (expected Keyword=value)", line);
		return -1;
	}
	memcpy(keyword, line, n);
	keyword[n] = '\0';
	line += n;
	line += strspn(line, " \t");
	if (*line == '=')
		line++;
	line += strspn(line, " \t");
	return option_set(o, keyword, line, err, errlen);
}

/* As ssh -G writes forwards: addresses in brackets, a bare port without one. */
static void
print_forward(FILE *out, const struct fwd_spec *f)
{
	static const char *const kw[] = {[FWD_LOCAL] = "localforward",
	    [FWD_REMOTE] = "remoteforward",
	    [FWD_DYNAMIC] = "dynamicforward"};

	/* As ssh -G: host names in brackets, Unix socket paths as they are. */
	fprintf(out, "%s ", kw[f->kind]);
	if (f->listen_path[0] != '\0')
		fprintf(out, "%s", f->listen_path);
	else if (f->has_bind)
		fprintf(out, "[%s]:%u", f->bind_host, f->bind_port);
	else
		fprintf(out, "%u", f->bind_port);
	if (f->connect_path[0] != '\0')
		fprintf(out, " %s", f->connect_path);
	else if (f->kind != FWD_DYNAMIC)
		fprintf(out, " [%s]:%u%s", f->host, f->host_port, f->udp ? "/udp" : "");
	fputc('\n', out);
}

void
options_print(const struct options *o, FILE *out)
{
	/* ssh -G's names: yes is "true", no and off "false". */
	static const char *const strict[] = {"ask", "accept-new", "true", "false"};
	static const char *const families[] = {"any", "inet", "inet6"};
	static const char *const levels[] = {"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG",
	    "DEBUG2", "DEBUG3"}; /* ssh -G: DEBUG1 is DEBUG */
#define YESNO(v, dflt) ((v) == -1 ? (dflt) : (v) ? "yes" : "no")
#define NUM(v, dflt) ((v) == -1 ? (dflt) : (v))

	fprintf(out, "hostname %s\n", o->host_name ? o->host_name : o->host ? o->host : "");
	fprintf(out, "port %d\n", NUM(o->port, 22));
	if (o->user != NULL)
		fprintf(out, "user %s\n", o->user);
	for (int i = 0; i < o->n_identity_files; i++)
		fprintf(out, "identityfile %s\n", o->identity_files[i]);
	for (int i = 0; i < o->n_certificate_files; i++)
		fprintf(out, "certificatefile %s\n", o->certificate_files[i]);
	fprintf(out, "identitiesonly %s\n", YESNO(o->identities_only, "no"));
	if (o->proxy_jump != NULL)
		fprintf(out, "proxyjump %s\n", o->proxy_jump);
	if (o->proxy_command != NULL)
		fprintf(out, "proxycommand %s\n", o->proxy_command);
	fprintf(out, "userknownhostsfile %s\n",
	    o->known_hosts ? o->known_hosts : OPTION_DEFAULT_USER_KNOWN_HOSTS);
	fprintf(out, "globalknownhostsfile %s\n",
	    o->global_known_hosts ? o->global_known_hosts : OPTION_DEFAULT_GLOBAL_KNOWN_HOSTS);
	if (o->host_key_alias != NULL)
		fprintf(out, "hostkeyalias %s\n", o->host_key_alias);
	fprintf(out, "checkhostip %s\n", YESNO(o->check_host_ip, "no"));
	fprintf(out, "stricthostkeychecking %s\n", strict[NUM(o->strict_hostkey, STRICT_ASK)]);
	if (o->identity_agent != NULL)
		fprintf(out, "identityagent %s\n", o->identity_agent);
	if (o->kex_algorithms != NULL)
		fprintf(out, "kexalgorithms %s\n", o->kex_algorithms);
	if (o->hostkey_algorithms != NULL)
		fprintf(out, "hostkeyalgorithms %s\n", o->hostkey_algorithms);
	if (o->ciphers != NULL)
		fprintf(out, "ciphers %s\n", o->ciphers);
	if (o->macs != NULL)
		fprintf(out, "macs %s\n", o->macs);
	for (size_t i = 0; i < o->n_forwards; i++)
		print_forward(out, &o->forwards[i]);
	fprintf(out, "serveraliveinterval %d\n", NUM(o->server_alive_interval, 15));
	fprintf(out, "serveralivecountmax %d\n", NUM(o->server_alive_count_max, 3));
	fprintf(out, "exitonforwardfailure %s\n", YESNO(o->exit_on_forward_failure, "no"));
	fprintf(out, "gatewayports %s\n", YESNO(o->gateway_ports, "no"));
	fprintf(out, "compression %s\n", YESNO(o->compression, "no"));
	fprintf(out, "batchmode %s\n", YESNO(o->batch_mode, "no"));
	if (o->connect_timeout == 0)
		fprintf(out, "connecttimeout none\n");
	else
		fprintf(out, "connecttimeout %d\n", NUM(o->connect_timeout, 15));
	fprintf(out, "connectionattempts %d\n", NUM(o->connection_attempts, 1));
	fprintf(out, "addressfamily %s\n", families[NUM(o->address_family, FAMILY_ANY)]);
	if (o->bind_address != NULL)
		fprintf(out, "bindaddress %s\n", o->bind_address);
	if (o->bind_interface != NULL)
		fprintf(out, "bindinterface %s\n", o->bind_interface);
	fprintf(out, "forkafterauthentication %s\n", YESNO(o->fork_after_auth, "no"));
	fprintf(out, "loglevel %s\n", levels[NUM(o->log_level, LOG_INFO)]);
	fprintf(out, "reconnect %s\n", YESNO(o->reconnect, "no"));
	fprintf(out, "reconnectmaxdelay %d\n", NUM(o->reconnect_max_delay, 60));
	fprintf(out, "connectionwait %d\n", NUM(o->connection_wait, 10));
	fprintf(out, "udpidletimeout %d\n", NUM(o->udp_idle_timeout, 60));
	fprintf(out, "udpmaxflows %d\n", NUM(o->udp_max_flows, 1024));
	fprintf(out, "relaycommand %s\n", o->relay_command ? o->relay_command : "porthole relay");
	fprintf(out, "openvia %s\n", option_open_via_name(option_open_via(o)));
	fprintf(out, "notifyonconnect %s\n", YESNO(o->notify_on_connect, "no"));
	fprintf(out, "confirmconnect %s\n", YESNO(o->confirm_connect, "no"));
	fprintf(out, "confirmtimeout %d\n", o->confirm_timeout > 0 ? o->confirm_timeout : 60);
	if (o->presence_listen != NULL)
		fprintf(out, "presencelisten %s\n", o->presence_listen);
	if (o->presence_check != NULL)
		fprintf(out, "presencecheck %s\n", o->presence_check);
	if (o->control_path != NULL)
		fprintf(out, "controlpath %s\n", o->control_path);
	fprintf(out, "forwardaccess %s\n",
	    NUM(o->forward_access, OPTION_ACCESS_DEFAULT) == ACCESS_OWNER ? "owner" : "any");
#undef YESNO
#undef NUM
}
