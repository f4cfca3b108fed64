/*
 * Keywords and their values. keyword_known() holds the list of what -o
 * accepts; option_set has a branch, with its value's parser, for each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "option.h"
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
	o->log_level = -1;
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

int
option_parse_log_level(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{"QUIET", LOG_QUIET}, {"FATAL", LOG_FATAL}, {"ERROR", LOG_ERROR},
		{"INFO", LOG_INFO}, {"VERBOSE", LOG_VERBOSE}, {"DEBUG", LOG_DEBUG1},
		{"DEBUG1", LOG_DEBUG1}, {"DEBUG2", LOG_DEBUG2}, {"DEBUG3", LOG_DEBUG3},
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
option_add_forward(struct options *o, enum fwd_kind kind, const char *text, char *err,
    size_t errlen)
{
	static const char *const flag[] = {[FWD_LOCAL] = "-L", [FWD_REMOTE] = "-R",
	    [FWD_DYNAMIC] = "-D"};
	struct fwd_spec spec;
	char why[128];

	if (spec_parse(kind, text, &spec, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s %s: %s", flag[kind], text, why);
		return -1;
	}
	if (spec.udp) {
		snprintf(err, errlen, "%s %s: UDP forwarding is not supported yet", flag[kind],
		    text);
		return -1;
	}
	o->forwards = xrealloc(o->forwards, (o->n_forwards + 1) * sizeof(*o->forwards));
	o->forwards[o->n_forwards++] = spec;
	return 0;
}

/* The keywords option_set knows, so an unknown one is named before its value is looked at. */
static bool
keyword_known(const char *keyword)
{
	static const char *const keywords[] = {"Port", "User", "IdentityFile", "IdentitiesOnly",
	    "UserKnownHostsFile", "StrictHostKeyChecking", "ExitOnForwardFailure",
	    "GatewayPorts", "LogLevel", "LocalForward", "RemoteForward", "DynamicForward"};

	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcasecmp(keyword, keywords[i]) == 0)
			return true;
	return false;
}

/*
 * ssh_config writes "LocalForward [bind_address:]port host:hostport", two
 * words; -L writes one. Both are accepted: the words are joined with ':'.
 */
static int
add_config_forward(struct options *o, enum fwd_kind kind, const char *value, char *err,
    size_t errlen)
{
	size_t n = strcspn(value, " \t");
	char *joined;
	int rc;

	if (value[n] == '\0')
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
option_set(struct options *o, const char *keyword, const char *value, char *err, size_t errlen)
{
	int v;

	if (!keyword_known(keyword)) {
		snprintf(err, errlen, "unknown keyword '%s'", keyword);
		return -1;
	}
	if (*value == '\0') {
		snprintf(err, errlen, "%s: missing value", keyword);
		return -1;
	}
	if (strcasecmp(keyword, "Port") == 0) {
		if ((v = option_parse_port(value)) == -1)
			goto bad;
		o->port = v;
	} else if (strcasecmp(keyword, "User") == 0) {
		free(o->user);
		o->user = xstrdup(value);
	} else if (strcasecmp(keyword, "IdentityFile") == 0) {
		if (o->n_identity_files == OPTION_MAX_IDENTITIES) {
			snprintf(err, errlen, "IdentityFile: too many identity files (at most %d)",
			    OPTION_MAX_IDENTITIES);
			return -1;
		}
		o->identity_files[o->n_identity_files++] = xstrdup(value);
	} else if (strcasecmp(keyword, "IdentitiesOnly") == 0) {
		if ((v = parse_yesno(value)) == -1)
			goto bad_yesno;
		o->identities_only = v;
	} else if (strcasecmp(keyword, "UserKnownHostsFile") == 0) {
		free(o->known_hosts);
		o->known_hosts = xstrdup(value);
	} else if (strcasecmp(keyword, "StrictHostKeyChecking") == 0) {
		if (strcasecmp(value, "yes") == 0)
			o->strict_hostkey = STRICT_YES;
		else if (strcasecmp(value, "accept-new") == 0)
			o->strict_hostkey = STRICT_ACCEPT_NEW;
		else if (strcasecmp(value, "ask") == 0)
			o->strict_hostkey = STRICT_ASK;
		else {
			snprintf(err, errlen,
			    "bad value '%s' for StrictHostKeyChecking (yes, accept-new or ask; "
			    "there is no 'no')",
			    value);
			return -1;
		}
	} else if (strcasecmp(keyword, "ExitOnForwardFailure") == 0) {
		if ((v = parse_yesno(value)) == -1)
			goto bad_yesno;
		o->exit_on_forward_failure = v;
	} else if (strcasecmp(keyword, "GatewayPorts") == 0) {
		if ((v = parse_yesno(value)) == -1)
			goto bad_yesno;
		o->gateway_ports = v;
	} else if (strcasecmp(keyword, "LogLevel") == 0) {
		if ((v = option_parse_log_level(value)) == -1) {
			snprintf(err, errlen,
			    "bad value '%s' for LogLevel (QUIET, FATAL, ERROR, INFO, VERBOSE, "
			    "DEBUG, DEBUG1, DEBUG2, DEBUG3)",
			    value);
			return -1;
		}
		o->log_level = v;
	} else if (strcasecmp(keyword, "LocalForward") == 0) {
		return add_config_forward(o, FWD_LOCAL, value, err, errlen);
	} else if (strcasecmp(keyword, "RemoteForward") == 0) {
		return add_config_forward(o, FWD_REMOTE, value, err, errlen);
	} else if (strcasecmp(keyword, "DynamicForward") == 0) {
		return option_add_forward(o, FWD_DYNAMIC, value, err, errlen);
	} else {
		snprintf(err, errlen, "unknown keyword '%s'", keyword);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad value '%s' for %s", value, keyword);
	return -1;
bad_yesno:
	snprintf(err, errlen, "bad value '%s' for %s (yes or no)", value, keyword);
	return -1;
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
