/*
 * Looking up a destination in OpenSSH's client configuration (~/.ssh/config),
 * as ssh_config(5) and OpenSSH's readconf.c read it, for the few keywords
 * porthole uses: HostName, Port, User, IdentityFile, ProxyJump and
 * UserKnownHostsFile. Everything else in the file is ssh's business and is
 * ignored: unknown keywords silently, lines that do not parse with a note.
 *
 * Syntax: `Keyword value` or `Keyword=value`, keywords case-insensitive, '#'
 * starts a comment where a word could start, values may be quoted ("a b" or
 * 'a b') and use \" \' \\ and "\ " escapes. Lines end in "\n" or "\r\n"; a
 * NUL byte ends its line's content.
 *
 * Blocks: keywords before the first Host or Match apply to every host.
 * `Host pattern...` opens a block that applies when some pattern matches the
 * alias (ASCII case-insensitive, '*' and '?') and no negated one (!pattern)
 * does. `Match` blocks are skipped whole, with a note. For every keyword the
 * first value obtained wins, except IdentityFile, which accumulates.
 *
 * `Include path...` is followed where it appears, at the top level or inside
 * a block that applies (inside one that does not, it is ignored). Each path
 * may be a glob(3) pattern; "~" and "~/" are expanded with $HOME ("~user/"
 * by glob); other relative paths are taken relative to the base directory.
 * Host lines inside an included file do not change the including block.
 */
#ifndef PORTHOLE_SSHCONFIG_H
#define PORTHOLE_SSHCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define SSHCONFIG_MAX_IDENTITIES 32
#define SSHCONFIG_MAX_NOTES 16
/* Include may nest this deep below the file it starts from, as in OpenSSH. */
#define SSHCONFIG_MAX_DEPTH 16
/* A depth that makes sshconfig_lookup_text never touch the file system: Include is noted, not
 * followed. */
#define SSHCONFIG_NO_INCLUDE (-1)

struct ssh_host {
	/* HostName with %h replaced by the alias and %% by %; NULL if not set. */
	char *host_name;
	/* Port, 1-65535; 0 if not set. */
	int port;
	/* User; NULL if not set. */
	char *user;
	/*
	 * Every IdentityFile value in order, duplicates dropped (as ssh does), "~" kept as
	 * written for the caller to expand; "none" is kept too (ssh then loads no file from the
	 * list). Values past SSHCONFIG_MAX_IDENTITIES are dropped with a note.
	 */
	char *identity_files[SSHCONFIG_MAX_IDENTITIES];
	int n_identity_files;
	/* ProxyJump as written (comma-separated hops, or "none"); NULL if not set. */
	char *proxy_jump;
	/* The first word of UserKnownHostsFile ("~" kept as written); NULL if not set. */
	char *known_hosts;
	/* Some Host line matched the alias (keywords before any Host do not count). */
	bool matched;
	/*
	 * Debug notes, "file:line: message", e.g. "~/.ssh/config:12: Match block skipped".
	 * Notes past SSHCONFIG_MAX_NOTES are dropped.
	 */
	char *notes[SSHCONFIG_MAX_NOTES];
	int n_notes;
};

/* Frees what *h holds and empties it; h may be NULL. */
void ssh_host_free(struct ssh_host *h);

/*
 * Looks up alias in the config file at path, following Include (relative
 * paths are relative to the directory of path, which for ~/.ssh/config is
 * ~/.ssh as ssh has it). *out is filled from scratch; free it with
 * ssh_host_free. A missing file returns 0 with nothing set.
 *
 * Returns 0, or -1 with "file:line: message" in err and *out empty, for: an
 * Include loop (a file including itself, directly or not), Include nested
 * deeper than SSHCONFIG_MAX_DEPTH, a file that exists but cannot be read
 * (path itself or an included one), or a file over 16 MiB. Parse errors in
 * the file are not: unknown keywords are ignored, lines that do not parse are
 * skipped with a note, and so is an included file that is missing or a
 * directory (a glob may match subdirectories).
 */
int sshconfig_lookup(
    const char *path, const char *alias, struct ssh_host *out, char *err, size_t errlen);

/*
 * The same over text already read. file names it in notes and errors and, if
 * it exists, stands for it in Include loop detection; base_dir resolves
 * relative Include paths (NULL: such an Include is skipped with a note).
 * depth is how deep this text already is in an Include chain, 0 for a file
 * read directly; SSHCONFIG_NO_INCLUDE (any negative depth) parses the text
 * without any file system access, each Include only noted.
 */
int sshconfig_lookup_text(const char *file, const char *text, size_t len, const char *base_dir,
    const char *alias, struct ssh_host *out, char *err, size_t errlen, int depth);

#endif
