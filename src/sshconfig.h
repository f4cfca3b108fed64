/*
 * Evaluating OpenSSH's client configuration (~/.ssh/config) for one
 * destination as ssh does (ssh_config(5), readconf.c): Host and Match blocks,
 * Include, first value wins, two passes when a Match asks for "final" (or
 * CanonicalizeHostname is on). The result is the ordered list of the lines
 * that apply, each with its file and line, for the caller to apply (see
 * sshkeyword.h for what porthole does with each keyword).
 *
 * Syntax: `Keyword value` or `Keyword=value`, keywords case-insensitive, '#'
 * starts a comment where a word could start, values may be quoted ("a b" or
 * 'a b') and use \" \' \\ and "\ " escapes. Lines end in "\n" or "\r\n"; a
 * NUL byte ends its line's content.
 *
 * Blocks: lines before the first Host or Match apply to every host.
 * `Host pattern...` applies when some pattern matches the name given
 * (case-sensitive, '*' and '?') and no negated one (!pattern) does. `Match`
 * takes the criteria all, canonical, final, exec, host, originalhost, user,
 * localuser and localnetwork, each negated by '!', patterns in comma lists;
 * a block applies when every criterion holds. `Match exec` runs its command
 * through the caller's callback (ssh: /bin/sh -c), after %-token expansion.
 *
 * Every line is checked as ssh checks it, in every block, applying or not:
 * an unknown keyword (unless IgnoreUnknown names it), a bad value (Port 0,
 * a bad yes/no, a bad number or time), a missing or extra argument, a bad
 * Match line, an unknown %-token or a malformed ${} in a line that applies
 * is an error "file:line: message", as ssh refuses such a file.
 *
 * `Include path...` is followed where it appears; in a block that does not
 * apply the file is still read and checked, applying nowhere. Relative paths
 * are taken in ~/.ssh, as ssh does for user configurations (in /etc/ssh for
 * the system-wide file); each may be a glob(3) pattern. An included file
 * others could write is refused, as ssh refuses it. Host and Match lines inside an included file do
 * not change the including file's block.
 */
#ifndef PORTHOLE_SSHCONFIG_H
#define PORTHOLE_SSHCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "sshkeyword.h"

/* Include may nest this deep below the file it starts from, as in OpenSSH. */
#define SSHCONFIG_MAX_DEPTH 16
/* A depth that makes sshconfig_read_text never touch the file system: Include is noted, not
 * followed. */
#define SSHCONFIG_NO_INCLUDE (-1)
/* Values one accumulating keyword may have (IdentityFile, LocalForward...); more is an error. */
#define SSHCONFIG_MAX_VALUES 1024
/* Debug notes kept; later ones are dropped. */
#define SSHCONFIG_MAX_NOTES 64

/*
 * What evaluation knows before reading: the destination and what the
 * command line (or porthole's profile) already set, which Match criteria and
 * %-tokens see, and this side's user and host.
 */
struct sshconfig_env {
	const char *host_arg;		/* the name given: Host lines, originalhost, %n */
	const char *hostname;		/* HostName already set, or NULL */
	const char *user;		/* remote user already set, or NULL (the local user) */
	int port;			/* port already set, or 0 (22) */
	const char *host_key_alias;	/* HostKeyAlias already set, or NULL (%k) */
	const char *local_user;		/* %u, Match localuser */
	const char *home;		/* %d, and ~/.ssh for relative Include paths */
	const char *uid;		/* %i */
	const char *local_host;		/* %l; %L is its first label */
	const char *const *local_addrs; /* this host's addresses, for Match localnetwork */
	size_t n_local_addrs;
	/*
	 * Match exec: runs cmd (tokens expanded) as ssh does, through /bin/sh -c;
	 * returns its exit status, or -1 with err if it could not run or did not
	 * exit (killed). NULL: Match exec is an error.
	 */
	int (*exec)(const char *cmd, void *ctx, char *err, size_t errlen);
	void *exec_ctx;
	/*
	 * Refuse the user's file if others could write it, as ssh does for
	 * ~/.ssh/config (not for a file given with -F). Included files are
	 * always checked, as ssh checks them.
	 */
	bool check_perms;
};

struct sshconfig_entry {
	const struct sshkw *kw; /* the keyword (an old name's current one) */
	char *value;		/* words joined by single spaces; SSHKW_REST lines as written */
	const char *file;	/* as named, owned by the sshconfig */
	int line;
	bool system; /* from the system-wide file (or a file it includes) */
};

struct sshconfig {
	/*
	 * The lines that apply, in order: of each keyword the first only, except
	 * accumulating ones (sshkw.accumulate), of which every distinct value.
	 * HostName's value has %h expanded.
	 */
	struct sshconfig_entry *entries;
	size_t n_entries;
	char **files;
	size_t n_files;
	char *notes[SSHCONFIG_MAX_NOTES]; /* "file:line: ..." for -v */
	int n_notes;
	bool matched;	 /* some Host or Match line applied */
	bool final_pass; /* a second pass ran */
};

void sshconfig_free(struct sshconfig *c);

/*
 * Evaluates the file at path for env. *out is filled from scratch; free it
 * with sshconfig_free (also after an error). A missing file is no error and
 * yields nothing. Returns 0, or -1 with "file:line: message" in err.
 */
int sshconfig_read(const char *path, const struct sshconfig_env *env, struct sshconfig *out,
    char *err, size_t errlen);

/*
 * What ssh reads without -F: the user's file, then the system-wide one
 * (either may be NULL or missing), evaluated as one: first value wins across
 * both, and the second pass reads both again. Relative Include paths in the
 * system-wide file are taken in /etc/ssh, and "~" is refused there, as ssh.
 */
int sshconfig_read_files(const char *user_path, const char *system_path,
    const struct sshconfig_env *env, struct sshconfig *out, char *err, size_t errlen);

/*
 * The same over text already read; file names it in messages. depth is how
 * deep this text already is in an Include chain, 0 for a file read directly;
 * SSHCONFIG_NO_INCLUDE parses without any file system access, each Include
 * only noted.
 */
int sshconfig_read_text(const char *file, const char *text, size_t len,
    const struct sshconfig_env *env, struct sshconfig *out, char *err, size_t errlen, int depth);

/* The first entry for keyword (case-insensitive), or NULL. */
const struct sshconfig_entry *sshconfig_find(const struct sshconfig *c, const char *keyword);

#endif
