/*
 * Every keyword of ssh_config(5), as OpenSSH's readconf.c knows them (9.2
 * and the keywords added up to 10.x, plus Debian's GSSAPI ones), with how
 * ssh reads its arguments, how it checks its value, whether it accumulates,
 * which %-tokens it takes, and what porthole does with it. Pure.
 *
 * What porthole does with a keyword it reads from ~/.ssh/config:
 * - it applies it through option_set when option.c has a keyword of that
 *   name (SSHKW_APPLY), so every option porthole implements is honoured;
 * - otherwise, SSHKW_WARN: the keyword would change what ssh does (opens a
 *   master socket, runs a command, forwards the agent...); porthole says
 *   once, naming file:line, that it does not, unless the value is one of
 *   the keyword's harmless values (ssh's default, e.g. "ControlMaster no");
 * - SSHKW_SILENT: no effect on forwarding (SendEnv, ForwardX11...):
 *   accepted without a word;
 * - SSHKW_OWN: porthole has a keyword of this name with another meaning
 *   (ControlPath names porthole's status socket, not an ssh master's): the
 *   ssh_config line is not applied, silently.
 */
#ifndef PORTHOLE_SSHKEYWORD_H
#define PORTHOLE_SSHKEYWORD_H

#include <stdbool.h>
#include <stddef.h>

/* How many arguments a line takes. */
enum sshkw_args {
	SSHKW_ONE,     /* exactly one word */
	SSHKW_LIST,    /* one or more words */
	SSHKW_REST,    /* the rest of the line as written, quotes kept (ProxyCommand) */
	SSHKW_ONE_TWO, /* one or two words */
	SSHKW_NONE_OK, /* any number of words, checked by the keyword (Host, Match, Include) */
};

/* How ssh checks the value. */
enum sshkw_check {
	SSHKW_STRING, /* anything non-empty */
	SSHKW_FLAG,   /* yes, no, true, false */
	SSHKW_CHOICE, /* one of choices (case-insensitive) */
	SSHKW_PORT,   /* 1-65535 */
	SSHKW_INT,    /* 0 or more (atoi_err) */
	SSHKW_TIME,   /* an ssh time (30, 5m, 1h30m) or none */
	SSHKW_LOCALFWD,
	SSHKW_REMOTEFWD,
	SSHKW_DYNAMICFWD,
	SSHKW_ENVNAME, /* SendEnv: names without '=' */
	SSHKW_SETENV,  /* SetEnv: NAME=value */
	SSHKW_FILES,   /* file lists: "none" only alone */
	SSHKW_AGENT,   /* IdentityAgent/ForwardAgent path: ${} well-formed */
	SSHKW_LOGLEVEL,
	SSHKW_CONTROLPERSIST,
	SSHKW_ESCAPECHAR,
	SSHKW_MASK, /* octal 0-0777 */
};

enum sshkw_porthole {
	SSHKW_APPLY,
	SSHKW_WARN,
	SSHKW_SILENT,
	SSHKW_OWN,
	SSHKW_BLOCK, /* Host, Match, Include: the reader's own */
};

struct sshkw {
	const char *name; /* as ssh_config(5) spells it */
	unsigned char args;
	unsigned char check;
	unsigned char porthole; /* what porthole does if option.c does not know it */
	bool accumulate;	/* every value counts, not just the first */
	const char *choices;	/* SSHKW_CHOICE: "yes,no,ask" */
	int tokens;		/* TOKEN_PERCENT | TOKEN_ENV where ssh expands them */
	const char *token_set;	/* the %-tokens it takes */
	const char *harmless;	/* SSHKW_WARN: values that change nothing, "no,false" */
	const char *canonical;	/* an old name: the keyword it stands for; NULL if none */
};

/* The keyword called name (case-insensitive), or NULL. */
const struct sshkw *sshkw_find(const char *name);

/* The i-th keyword of the table; NULL past the end. */
const struct sshkw *sshkw_at(size_t i);

/* k's position in the table (k from sshkw_find or sshkw_at), and the table's size. */
size_t sshkw_index(const struct sshkw *k);
size_t sshkw_count(void);

/*
 * Checks a line's arguments (argc words, or for SSHKW_REST the rest of the
 * line in argv[0]) as ssh would. Returns 0, or -1 with err saying what was
 * wrong ("bad port 'abc' (1-65535)", "bad value 'maybe' (yes or no)",
 * "extra arguments after 'x'", "missing argument").
 */
int sshkw_check_value(const struct sshkw *k, int argc, char **argv, char *err, size_t errlen);

/* Whether value is one of a SSHKW_WARN keyword's harmless values. */
bool sshkw_harmless(const struct sshkw *k, const char *value);

/* The ssh time value text (30, 30s, 5m, 1h30m) in seconds, or -1, as ssh's convtime. */
long sshkw_convtime(const char *text);

#endif
