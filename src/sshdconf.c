/*
 * sshd's settings for a jump host. Lines are cut into a keyword and the rest
 * (blanks or one '=' between them, as sshd's own reader does); the keywords
 * porthole cares about keep their first value, which is the one sshd uses.
 * In sshd_config text a Match line opens a block that lasts to the end of the
 * file: its lines are skipped (they apply to some connections only) and the
 * block is counted, so that the caller can say they were not looked at.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "option.h"
#include "sshdconf.h"
#include "textline.h"

/* The settings kept, by keyword; a time or a number when number is set. */
struct field {
	const char *keyword;
	size_t text; /* offset of the char[] in struct sshdconf, when not a number */
	size_t number;
	bool is_number, is_time;
};

#define TEXT(k, m)                                                                                 \
	{                                                                                          \
		k, offsetof(struct sshdconf, m), 0, false, false                                   \
	}
#define NUMBER(k, m, t)                                                                            \
	{                                                                                          \
		k, 0, offsetof(struct sshdconf, m), true, t                                        \
	}

static const struct field fields[] = {
    TEXT("AllowTcpForwarding", allow_tcp_forwarding),
    TEXT("GatewayPorts", gateway_ports),
    TEXT("DisableForwarding", disable_forwarding),
    TEXT("PubkeyAuthentication", pubkey_authentication),
    TEXT("PermitListen", permit_listen),
    TEXT("PermitOpen", permit_open),
    TEXT("AuthorizedKeysFile", authorized_keys_file),
    NUMBER("ClientAliveInterval", client_alive_interval, true),
    NUMBER("ClientAliveCountMax", client_alive_count_max, false),
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void
defaults(struct sshdconf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->allow_tcp_forwarding, "yes");
	strcpy(c->gateway_ports, "no");
	strcpy(c->disable_forwarding, "no");
	strcpy(c->pubkey_authentication, "yes");
	strcpy(c->permit_listen, "any");
	strcpy(c->permit_open, "any");
	strcpy(c->authorized_keys_file, ".ssh/authorized_keys .ssh/authorized_keys2");
	c->client_alive_interval = 0;
	c->client_alive_count_max = 3;
}

/* A count: digits only, at most a million. */
static long
parse_count(const char *s)
{
	long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > 1000000)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* Stores a value; -1 (with err) when a number does not read. */
static int
store(struct sshdconf *c, const struct field *f, const char *value, int line, char *err,
    size_t errlen)
{
	if (!f->is_number) {
		snprintf((char *)c + f->text, SSHDCONF_VALUE_MAX, "%s", value);
		return 0;
	}
	long n = f->is_time ? option_parse_seconds(value) : parse_count(value);
	if (n < 0) {
		snprintf(err, errlen, "line %d: bad value '%.64s' for %s (%s)", line, value,
		    f->keyword, f->is_time ? "seconds, e.g. 15, 1m" : "a number");
		return -1;
	}
	*(long *)(void *)((char *)c + f->number) = n;
	return 0;
}

/* Cuts "keyword[ =]value" in place; false for blank and comment lines. */
static bool
split(char *line, char **keyword, char **value)
{
	char *p = line, *end;

	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return false;
	*keyword = p;
	while (*p != '\0' && !is_blank(*p) && *p != '=')
		p++;
	if (*p != '\0') {
		bool eq = *p == '=';
		*p++ = '\0';
		while (is_blank(*p) || (!eq && *p == '=' && (eq = true)))
			p++;
	}
	*value = p;
	end = p + strlen(p);
	while (end > p && is_blank(end[-1]))
		*--end = '\0';
	return true;
}

int
sshdconf_parse(struct sshdconf *c, const char *text, size_t len, enum sshdconf_kind kind, char *err,
    size_t errlen)
{
	struct textline t = {text, text != NULL ? len : 0, 0, 0};
	bool seen[N_FIELDS] = {false};
	const char *raw;
	size_t n;
	char line[1024];

	defaults(c);
	while (textline_next(&t, &raw, &n)) {
		char *keyword, *value;
		if (n > 0 && raw[n - 1] == '\r')
			n--;
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
		    raw);
		if (!split(line, &keyword, &value))
			continue;
		if (kind == SSHDCONF_CONFIG && strcasecmp(keyword, "Match") == 0)
			c->match_blocks++;
		if (kind == SSHDCONF_CONFIG && c->match_blocks > 0)
			continue;
		for (size_t i = 0; i < N_FIELDS; i++) {
			if (seen[i] || strcasecmp(keyword, fields[i].keyword) != 0)
				continue;
			seen[i] = true;
			c->lines++;
			if (store(c, &fields[i], value, t.lineno, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

/* The review's lines go through a buffer of this size. */
#define LINE_MAX_LEN 512

static int
review_forwarding(const struct sshdconf *c, void (*say)(bool, const char *, void *), void *arg)
{
	char line[LINE_MAX_LEN];
	const char *a = c->allow_tcp_forwarding;
	bool fwd = strcasecmp(a, "yes") == 0 || strcasecmp(a, "all") == 0;
	bool off = strcasecmp(c->disable_forwarding, "yes") == 0;
	int missing = 0;

	if (fwd)
		snprintf(line, sizeof(line), "AllowTcpForwarding %s", a);
	else
		snprintf(line, sizeof(line),
		    "AllowTcpForwarding is %s: the family machine needs remote and the helper "
		    "local forwarding; set AllowTcpForwarding yes",
		    a);
	say(fwd, line, arg);
	missing += !fwd;
	if (off) {
		say(false,
		    "DisableForwarding is yes: it turns every forwarding off; set "
		    "DisableForwarding "
		    "no",
		    arg);
		missing++;
	}
	if (strcasecmp(c->gateway_ports, "no") == 0) {
		say(true, "GatewayPorts no (forwarded ports stay on the jump host's loopback)",
		    arg);
	} else {
		snprintf(line, sizeof(line),
		    "GatewayPorts is %.64s: a family machine's port could be opened to the "
		    "internet; set GatewayPorts no",
		    c->gateway_ports);
		say(false, line, arg);
		missing++;
	}
	return missing;
}

static int
review_lists(const struct sshdconf *c, void (*say)(bool, const char *, void *), void *arg)
{
	char line[LINE_MAX_LEN];
	int missing = 0;
	const struct {
		const char *name, *value, *who;
	} lists[] = {
	    {"PermitListen", c->permit_listen, "the family machine's remote forwards"},
	    {"PermitOpen", c->permit_open, "the helper's local forwards"},
	};

	for (size_t i = 0; i < 2; i++) {
		bool none = strcasecmp(lists[i].value, "none") == 0;
		if (none)
			snprintf(line, sizeof(line),
			    "%s is none: it refuses %s; leave it at any (each key's permit lists "
			    "in "
			    "authorized_keys limit it)",
			    lists[i].name, lists[i].who);
		else
			snprintf(line, sizeof(line), "%s %.200s", lists[i].name, lists[i].value);
		say(!none, line, arg);
		missing += none;
	}
	if (strcasecmp(c->pubkey_authentication, "no") == 0) {
		say(false, "PubkeyAuthentication is no: the keys cannot log in; set it to yes",
		    arg);
		missing++;
	}
	return missing;
}

static int
review_alive(
    const struct sshdconf *c, long max_dead, void (*say)(bool, const char *, void *), void *arg)
{
	char line[LINE_MAX_LEN];
	long interval = c->client_alive_interval, count = c->client_alive_count_max;
	long dead = interval * (count > 0 ? count : 1);

	if (interval > 0 && dead <= max_dead) {
		snprintf(line, sizeof(line),
		    "ClientAliveInterval %ld, ClientAliveCountMax %ld: a silent client is dropped "
		    "after %ld s, its ports with it",
		    interval, count, dead);
		say(true, line, arg);
		return 0;
	}
	if (interval <= 0)
		snprintf(line, sizeof(line),
		    "ClientAliveInterval is 0: a family machine that vanished (power cut) keeps "
		    "its port until TCP gives up, often hours; set ClientAliveInterval 15 and "
		    "ClientAliveCountMax 3 (45 s)");
	else
		snprintf(line, sizeof(line),
		    "ClientAliveInterval %ld x ClientAliveCountMax %ld = %ld s before a vanished "
		    "client lets go of its port (more than %ld s); set ClientAliveInterval 15 and "
		    "ClientAliveCountMax 3 (45 s)",
		    interval, count, dead, max_dead);
	say(false, line, arg);
	return 1;
}

int
sshdconf_review(const struct sshdconf *c, long max_dead,
    void (*say)(bool ok, const char *line, void *arg), void *arg)
{
	return review_forwarding(c, say, arg) + review_lists(c, say, arg) +
	    review_alive(c, max_dead, say, arg);
}
