/*
 * porthole's own config file, porthole.conf(5): ssh_config syntax with
 * Profile blocks instead of Host blocks. Parsing is pure (text in, struct
 * out); config_load adds the file reading and ssh's ownership checks.
 *
 *   # defaults for every profile
 *   ServerAliveInterval 15
 *
 *   Profile office
 *       HostName gw.example.com
 *       LocalForward 8080 intranet:80
 *
 * Every keyword and value is checked with option_set while parsing, so a
 * parsed config applies cleanly (save for limits that only a whole profile
 * can exceed, such as the number of IdentityFiles).
 */
#ifndef PORTHOLE_CONFIG_H
#define PORTHOLE_CONFIG_H

#include <stddef.h>

#include "option.h"

/* Longest line, without its "\n" or "\r\n". */
#define CONFIG_LINE_MAX 4096

/* Largest file config_load reads. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Longest profile name. */
#define CONFIG_NAME_MAX 64

struct config_entry {
	char *keyword; /* the option table's spelling ("LocalForward"), whatever was written */
	char *value;   /* quotes removed, words joined by single spaces */
	int line;
};

struct config_profile {
	char *name;
	int line; /* of its Profile line */
	struct config_entry *entries;
	size_t n_entries;
};

struct config {
	char *file;		       /* as given, for messages */
	struct config_entry *defaults; /* keywords before the first Profile */
	size_t n_defaults;
	struct config_profile *profiles;
	size_t n_profiles;
	char **errors; /* "file:line: message", every problem found, in order */
	/*
	 * Per error, the index in profiles of the profile it concerns: one found
	 * in that profile's block, or a second definition of it (and that block).
	 * -1 for the rest: the defaults, the file itself, a refused Profile line
	 * and its block, which count against every profile.
	 */
	int *error_scope;
	size_t n_errors;
};

void config_init(struct config *c);

/* Frees everything and leaves c initialised: freeing twice is safe. */
void config_free(struct config *c);

/*
 * Parses len bytes of text (NUL bytes included; no terminator needed) into c,
 * first freeing whatever c held. Every error is recorded and parsing goes on;
 * only lines without errors are kept, and lines after a refused Profile, Host
 * or Match line are checked but not kept. Returns c->n_errors.
 */
size_t config_parse(struct config *c, const char *file, const char *text, size_t len);

/*
 * Reads and parses the file at path. Like ssh, refuses a file owned by
 * someone other than the user or root ("path: bad owner") or writable by
 * group or others ("path: bad permissions: writable by group or others");
 * a file that cannot be read is "path: " and strerror's text, a file over
 * CONFIG_FILE_MAX "path: too big (over 1 MiB)". Returns c->n_errors.
 */
size_t config_load(struct config *c, const char *path);

/*
 * How many errors stand in the way of using p (NULL: a destination that is
 * no profile): those it concerns, and those concerning every profile. The
 * others are in other profiles' blocks and need not stop this one.
 */
size_t config_errors_against(const struct config *c, const struct config_profile *p);

/* The profile called name (case-insensitive, like ssh host names), or NULL. */
const struct config_profile *config_find(const struct config *c, const char *name);
/*
 * The profile whose name is closest to name, for "did you mean": at most one
 * edit away (a letter added, dropped, changed, or two swapped; case ignored)
 * for names up to 4 letters, two for longer ones. NULL if none is that close;
 * the first in the file wins a tie.
 */
const struct config_profile *config_suggest(const struct config *c, const char *name);

/*
 * Applies the defaults, then p's entries (p may be NULL: defaults only), to o
 * with option_set, in file order: later values override earlier ones and
 * values already in o; forwards and IdentityFiles accumulate. The caller
 * applies the config first and the command line after it. Returns 0, or -1
 * with err "file:line: message" and o holding the entries before that line.
 */
int config_apply(const struct config *c, const struct config_profile *p, struct options *o,
    char *err, size_t errlen);

#endif
