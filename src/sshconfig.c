/*
 * ~/.ssh/config evaluation, following OpenSSH's readconf.c: each line is
 * split into a keyword (strdelim: ends at a blank or one '=') and arguments
 * (argv_split: quotes, backslash escapes, '#' at a word's start ends the
 * line), checked, then kept if its block applies. Match criteria are
 * evaluated here against what the lines so far set (HostName, User, Port),
 * as ssh does. Include recurses through include_file, which owns every file
 * system access after the first file is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cidr.h"
#include "match.h"
#include "sshconfig.h"
#include "textline.h"
#include "token.h"
#include "xmalloc.h"

#define MAX_FILE_SIZE (16u << 20)
#define SHOWN 64 /* how much of a value a message quotes */

/* A file being read (dev, ino), to catch Include loops. */
struct file_id {
	dev_t dev;
	ino_t ino;
};

/* State of one evaluation, shared by every file and both passes. */
struct reader {
	const struct sshconfig_env *env;
	struct sshconfig *out;
	bool follow_includes;
	bool final;	 /* the second pass */
	bool want_final; /* a Match final was seen, or CanonicalizeHostname is on */
	char *err;
	size_t errlen;
	struct file_id chain[SSHCONFIG_MAX_DEPTH + 2];
	int nchain;
	/* First values so far, as Match and %-tokens see them. */
	char *hostname; /* HostName, %h expanded */
	char *user;
	int port;
	char *ignore_unknown;
	char *hkalias; /* HostKeyAlias, for %k */
	/* How many entries each keyword has (by table index), so a check is not a scan. */
	unsigned *counts;
	size_t cap; /* of out->entries */
};

/* Where a line is, and whether the block it is in applies. */
struct place {
	const char *file; /* owned by out->files */
	int line;
	int depth;
	bool active;
	bool never;  /* an Include read from a block that does not apply */
	bool system; /* the system-wide file or one it includes */
};

/* A line's arguments, unquoted. */
struct args {
	char **v;
	int n;
};

static void note(struct reader *rd, const struct place *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct reader *rd, const struct place *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int parse_text(struct reader *rd, const char *file, const char *text, size_t len, int depth,
    bool active, bool never, bool system);

static void
note(struct reader *rd, const struct place *at, const char *fmt, ...)
{
	struct sshconfig *c = rd->out;
	char msg[512];
	va_list ap;

	if (c->n_notes >= SSHCONFIG_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t n = strlen(at->file) + strlen(msg) + 16;
	char *s = xmalloc(n);
	snprintf(s, n, "%s:%d: %s", at->file, at->line, msg);
	c->notes[c->n_notes++] = s;
}

/* Writes "file:line: message" (just "file: message" for line 0) to err; returns -1. */
static int
fail(struct reader *rd, const struct place *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (rd->err == NULL || rd->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at->line > 0)
		snprintf(rd->err, rd->errlen, "%s:%d: %s", at->file, at->line, msg);
	else
		snprintf(rd->err, rd->errlen, "%s: %s", at->file, msg);
	return -1;
}

void
sshconfig_free(struct sshconfig *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_entries; i++)
		free(c->entries[i].value);
	free(c->entries);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	for (int i = 0; i < c->n_notes; i++)
		free(c->notes[i]);
	memset(c, 0, sizeof(*c));
}

const struct sshconfig_entry *
sshconfig_find(const struct sshconfig *c, const char *keyword)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (strcasecmp(c->entries[i].kw->name, keyword) == 0)
			return &c->entries[i];
	return NULL;
}

/* A file name kept for the life of the result, so entries can point at it. */
static const char *
keep_file(struct reader *rd, const char *file)
{
	struct sshconfig *c = rd->out;

	for (size_t i = 0; i < c->n_files; i++)
		if (strcmp(c->files[i], file) == 0)
			return c->files[i];
	c->files = xrealloc(c->files, (c->n_files + 1) * sizeof(*c->files));
	c->files[c->n_files] = xstrdup(file);
	return c->files[c->n_files++];
}

/* The next line's content: before '\n' or a NUL, trailing whitespace dropped, as readconf. */
static bool
next_line(struct textline *c, const char **line, size_t *n)
{
	if (!textline_next(c, line, n))
		return false;
	while (*n > 0 && strchr(" \t\r\f\n", (*line)[*n - 1]) != NULL)
		(*n)--;
	return true;
}

/*
 * Cuts the keyword off a NUL-terminated line as strdelim does: it ends at a
 * blank or '='; one '=' may sit among the blanks after it. Returns false for
 * blank and comment lines.
 */
static bool
split_keyword(char *line, char **keyword, char **rest)
{
	char *p = line + strspn(line, " \t\r");

	if (*p == '\0' || *p == '#')
		return false;
	*keyword = p;
	p += strcspn(p, " \t\r=");
	bool equals = *p == '=';
	if (*p != '\0')
		*p++ = '\0';
	p += strspn(p, " \t\r");
	if (!equals && *p == '=') {
		p++;
		p += strspn(p, " \t\r");
	}
	*rest = p;
	return true;
}

/*
 * OpenSSH's argv_split with terminate_on_comment: words split at blanks,
 * quotes group and are removed, \" \' \\ and (unquoted) "\ " are escapes.
 * Works in place: a word never comes out longer than it went in, so it is
 * written over the text it was read from, and a->v points into s (free only
 * a->v). Returns -1 if a quote is not closed.
 */
static int
split_args(char *s, struct args *a)
{
	size_t i = 0, cap = 0;

	a->v = NULL;
	a->n = 0;
	while (s[i] != '\0') {
		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		char *arg = s + i;
		size_t j = 0;
		char quote = 0;
		if ((size_t)a->n == cap) {
			cap = cap != 0 ? cap * 2 : 8;
			a->v = xrealloc(a->v, cap * sizeof(*a->v));
		}
		a->v[a->n++] = arg;
		for (; s[i] != '\0'; i++) {
			if (s[i] == '\\' && s[i + 1] != '\0' && strchr("'\"\\", s[i + 1]) != NULL) {
				arg[j++] = s[++i];
			} else if (s[i] == '\\' && quote == 0 && s[i + 1] == ' ') {
				arg[j++] = s[++i];
			} else if (quote == 0 && (s[i] == ' ' || s[i] == '\t')) {
				i++; /* past the blank before the NUL below can overwrite it */
				break;
			} else if (quote == 0 && (s[i] == '"' || s[i] == '\'')) {
				quote = s[i];
			} else if (quote != 0 && s[i] == quote) {
				quote = 0;
			} else {
				arg[j++] = s[i];
			}
		}
		arg[j] = '\0';
		if (quote != 0)
			return -1;
	}
	return 0;
}

static void
lowercase(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The host name Match host and %h see: HostName so far, else the name given. */
static const char *
current_host(const struct reader *rd)
{
	if (rd->hostname != NULL)
		return rd->hostname;
	return rd->env->host_arg;
}

static const char *
current_user(const struct reader *rd)
{
	return rd->user != NULL ? rd->user : rd->env->local_user;
}

/* readconf's Host: the block applies if some pattern matches and no negated one does. */
static int
host_line(struct reader *rd, struct place *at, const struct args *a)
{
	/* ssh matches Host lines against the name given, and in the final pass against the
	 * host name the first pass settled. */
	const char *host = rd->final ? rd->hostname : rd->env->host_arg;
	size_t hostlen = strlen(host);
	bool active = false;

	if (a->n == 0)
		return fail(rd, at, "Host needs at least one pattern");
	for (int i = 0; i < a->n; i++) {
		const char *pat = a->v[i];
		if (pat[0] == '\0')
			return fail(rd, at, "Host has an empty pattern");
		bool negated = pat[0] == '!';
		pat += negated;
		if (!match_pattern_case(host, hostlen, pat, strlen(pat), false))
			continue;
		if (negated) {
			active = false;
			break;
		}
		active = true;
	}
	at->active = active && !at->never;
	if (at->active) {
		rd->out->matched = true;
		note(rd, at, "applying options for %s", host);
	}
	return 0;
}

/* The token values Match exec sees (readconf's match_cfg_line). */
static void
exec_tokens(
    const struct reader *rd, struct token_values *tv, char *port, char *hash, char *shorthost)
{
	const struct sshconfig_env *env = rd->env;
	const char *host = current_host(rd);
	const char *local = env->local_host != NULL ? env->local_host : "";

	memset(tv, 0, sizeof(*tv));
	snprintf(port, 16, "%d", rd->port > 0 ? rd->port : 22);
	snprintf(shorthost, 256, "%.*s", (int)strcspn(local, "."), local);
	token_conn_hash(local, host, port, current_user(rd), hash);
	tv->v['C'] = hash;
	tv->v['L'] = shorthost;
	tv->v['d'] = env->home != NULL ? env->home : "";
	tv->v['h'] = host;
	tv->v['k'] = rd->hkalias != NULL ? rd->hkalias : host;
	tv->v['l'] = local;
	tv->v['n'] = env->host_arg;
	tv->v['p'] = port;
	tv->v['r'] = current_user(rd);
	tv->v['u'] = env->local_user != NULL ? env->local_user : "";
	tv->v['i'] = env->uid != NULL ? env->uid : "";
}

/* Match exec: 1 if the command exits 0, 0 if not, -1 on error. */
static int
match_exec(struct reader *rd, const struct place *at, const char *arg)
{
	struct token_values tv;
	char port[16], hash[41], shorthost[256], why[256];

	exec_tokens(rd, &tv, port, hash, shorthost);
	char *cmd = token_expand(arg, TOKEN_PERCENT, &tv, NULL, NULL, why, sizeof(why));
	if (cmd == NULL)
		return fail(rd, at, "Match exec \"%.*s\": %s", SHOWN, arg, why);
	if (rd->env->exec == NULL) {
		fail(rd, at, "Match exec \"%.*s\": cannot run commands here", SHOWN, cmd);
		free(cmd);
		return -1;
	}
	int status = rd->env->exec(cmd, rd->env->exec_ctx, why, sizeof(why));
	if (status < 0) {
		fail(rd, at, "Match exec \"%.*s\": %s", SHOWN, cmd, why);
		free(cmd);
		return -1;
	}
	note(rd, at, "Match exec \"%.*s\" exited %d", SHOWN, cmd, status);
	free(cmd);
	return status == 0;
}

static int
match_localnetwork(struct reader *rd, const struct place *at, const char *arg)
{
	char why[128];

	if (cidr_match_list(NULL, arg, why, sizeof(why)) < 0)
		return fail(rd, at, "Match localnetwork: %s", why);
	for (size_t i = 0; i < rd->env->n_local_addrs; i++)
		if (cidr_match_list(rd->env->local_addrs[i], arg, why, sizeof(why)) == 1)
			return 1;
	return 0;
}

/* One criterion that takes an argument: 1 holds, 0 not, -1 error. */
static int
match_criterion(
    struct reader *rd, const struct place *at, const char *attrib, const char *arg, bool skip_exec)
{
	if (strcasecmp(attrib, "host") == 0 || strcasecmp(attrib, "originalhost") == 0) {
		char *host =
		    xstrdup(strcasecmp(attrib, "host") == 0 ? current_host(rd) : rd->env->host_arg);
		lowercase(host);
		int r = match_pattern_list(host, arg, true) == 1;
		free(host);
		return r;
	}
	if (strcasecmp(attrib, "user") == 0)
		return match_pattern_list(current_user(rd), arg, false) == 1;
	if (strcasecmp(attrib, "localuser") == 0)
		return match_pattern_list(
			   rd->env->local_user != NULL ? rd->env->local_user : "", arg, false) == 1;
	if (strcasecmp(attrib, "localnetwork") == 0)
		return match_localnetwork(rd, at, arg);
	if (strcasecmp(attrib, "exec") == 0)
		return skip_exec ? 0 : match_exec(rd, at, arg);
	return fail(rd, at, "Match: unsupported criterion '%.*s'", SHOWN, attrib);
}

/*
 * readconf's match_cfg_line: 1 if the block applies, 0 if not, -1 on
 * error. Criteria are evaluated left to right; once one fails, later exec
 * commands are not run (but still checked).
 */
static int
match_eval(struct reader *rd, const struct place *at, const struct args *a)
{
	int result = 1, attributes = 0;

	for (int i = 0; i < a->n; i++) {
		char *attrib = a->v[i];
		bool negate = attrib[0] == '!';
		attrib += negate;
		if (strcasecmp(attrib, "all") == 0) {
			if (attributes > 1 || i + 1 < a->n)
				return fail(rd, at,
				    "Match: '%s' cannot be combined with other criteria", a->v[i]);
			if (result)
				result = negate ? 0 : 1;
			return result;
		}
		attributes++;
		if (strcasecmp(attrib, "canonical") == 0 || strcasecmp(attrib, "final") == 0) {
			if (strcasecmp(attrib, "final") == 0)
				rd->want_final = true;
			if (rd->final == negate)
				result = 0;
			continue;
		}
		const char *arg;
		char *eq = strchr(attrib, '=');
		if (eq != NULL) {
			*eq = '\0';
			arg = eq + 1;
		} else if (i + 1 < a->n) {
			arg = a->v[++i];
		} else {
			return fail(rd, at, "Match: missing argument for '%s'", a->v[i]);
		}
		if (arg[0] == '\0')
			return fail(rd, at, "Match: missing argument for '%s'", attrib);
		int r = match_criterion(rd, at, attrib, arg, result != 1);
		if (r < 0)
			return -1;
		if (r == negate)
			result = 0;
	}
	if (attributes == 0)
		return fail(rd, at, "Match needs one or more criteria");
	return result;
}

static int
match_line(struct reader *rd, struct place *at, const struct args *a)
{
	int r = match_eval(rd, at, a);

	if (r < 0)
		return -1;
	at->active = r == 1 && !at->never;
	if (at->active)
		rd->out->matched = true;
	note(rd, at, "Match %s", at->active ? "applies" : "does not apply");
	return 0;
}

/* Reads a whole regular file (at most MAX_FILE_SIZE) from fd. Returns NULL with errno set. */
static char *
read_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);

	for (;;) {
		if (n == cap) {
			if (cap >= MAX_FILE_SIZE) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

/* Opens a config file without blocking (a FIFO must not hang us) and checks what it is. */
static int
open_config(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ssh's SSHCONF_CHECKPERM: owned by the user or root, writable by no one else. */
static bool
perms_ok(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == getuid()) && (st->st_mode & 022) == 0;
}

static bool
chain_has(const struct reader *rd, const struct stat *st)
{
	for (int i = 0; i < rd->nchain; i++) {
		if (rd->chain[i].dev == st->st_dev && rd->chain[i].ino == st->st_ino)
			return true;
	}
	return false;
}

/* Reads one file an Include named, in the including block's state. */
static int
include_file(struct reader *rd, const struct place *at, const char *path)
{
	struct stat st;
	size_t len = 0;
	int fd;

	if (at->depth >= SSHCONFIG_MAX_DEPTH)
		return fail(rd, at, "Include nested deeper than %d files", SSHCONFIG_MAX_DEPTH);
	if ((fd = open_config(path, &st)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			note(rd, at, "Include: %s does not exist", path);
			return 0;
		}
		return fail(rd, at, "cannot read %s: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		note(rd, at, "Include: %s is a directory; skipped", path);
		close(fd);
		return 0;
	}
	if (!perms_ok(&st)) {
		close(fd);
		return fail(rd, at, "bad owner or permissions on %s", path);
	}
	if (chain_has(rd, &st)) {
		close(fd);
		return fail(rd, at, "Include loop: %s is already being read", path);
	}
	char *text = read_fd(fd, &len);
	int e = errno;
	close(fd);
	if (text == NULL)
		return fail(rd, at, "cannot read %s: %s", path, strerror(e));
	rd->chain[rd->nchain++] = (struct file_id){st.st_dev, st.st_ino};
	int r = parse_text(
	    rd, path, text, len, at->depth + 1, at->active, !at->active || at->never, at->system);
	rd->nchain--;
	free(text);
	return r;
}

/*
 * The glob pattern for one Include argument: ~ kept for glob, relative paths
 * in ~/.ssh (in /etc/ssh for the system-wide file, where ~ is refused).
 */
static char *
include_pattern(struct reader *rd, const struct place *at, const char *arg)
{
	const char *home = rd->env->home;

	if (at->system && arg[0] == '~') {
		fail(rd, at, "Include %.*s: ~ in the system-wide file", SHOWN, arg);
		return NULL;
	}
	if (arg[0] == '/' || (arg[0] == '~' && arg[1] != '\0' && arg[1] != '/'))
		return xstrdup(arg); /* "~user/..." is glob's (GLOB_TILDE) */
	if (!at->system && (home == NULL || home[0] == '\0')) {
		fail(rd, at, "Include %.*s: no home directory", SHOWN, arg);
		return NULL;
	}
	bool tilde = arg[0] == '~';
	const char *dir = at->system ? "/etc/ssh" : home;
	const char *mid = at->system || tilde ? "" : "/.ssh";
	size_t n = strlen(dir) + strlen(arg) + 8;
	char *p = xmalloc(n);
	if (tilde)
		snprintf(p, n, "%s%s", dir, arg + 1);
	else
		snprintf(p, n, "%s%s/%s", dir, mid, arg);
	return p;
}

/* readconf's Include: each argument a glob, its files read in sorted order. */
static int
include_line(struct reader *rd, const struct place *at, const struct args *a)
{
	if (a->n == 0)
		return fail(rd, at, "Include needs a path");
	for (int i = 0; i < a->n; i++) {
		if (a->v[i][0] == '\0')
			return fail(rd, at, "Include has an empty path");
		char *pattern = include_pattern(rd, at, a->v[i]);
		if (pattern == NULL)
			return -1;
		if (!rd->follow_includes) {
			note(rd, at, "Include %.*s not followed", SHOWN, pattern);
			free(pattern);
			continue;
		}
		glob_t gl;
		int r = glob(pattern, GLOB_TILDE, NULL, &gl);
		if (r == GLOB_NOMATCH) {
			note(rd, at, "Include %s matched no files", pattern);
			free(pattern);
			continue;
		}
		if (r != 0) {
			fail(rd, at, "Include %s: glob failed", pattern);
			free(pattern);
			return -1;
		}
		free(pattern);
		for (size_t j = 0; j < gl.gl_pathc; j++) {
			if (include_file(rd, at, gl.gl_pathv[j]) < 0) {
				globfree(&gl);
				return -1;
			}
		}
		globfree(&gl);
	}
	return 0;
}

/* Whether the result already has this keyword (or, for an accumulating one, this value). */
static bool
have_entry(const struct reader *rd, const struct sshkw *kw, const char *value)
{
	const struct sshconfig *c = rd->out;

	if (rd->counts[sshkw_index(kw)] == 0)
		return false;
	if (!kw->accumulate)
		return true;
	for (size_t i = 0; i < c->n_entries; i++)
		if (c->entries[i].kw == kw && strcmp(c->entries[i].value, value) == 0)
			return true;
	return false;
}

/*
 * readconf stores "none" for a time (ConnectTimeout none) as "not set", so a
 * later line still sets it: the entry holding "none" takes the later value.
 * Frees value either way.
 */
static void
replace_none(struct reader *rd, const struct sshkw *kw, char *value, const struct place *at)
{
	struct sshconfig *c = rd->out;

	for (size_t i = 0;
	     kw->check == SSHKW_TIME && strcmp(value, "none") != 0 && i < c->n_entries; i++) {
		struct sshconfig_entry *e = &c->entries[i];
		if (e->kw == kw && strcmp(e->value, "none") == 0) {
			free(e->value);
			*e = (struct sshconfig_entry){kw, value, at->file, at->line, at->system};
			return;
		}
	}
	free(value);
}

/* Keeps value (taking it) unless it is there already. -1 past SSHCONFIG_MAX_VALUES. */
static int
add_entry(struct reader *rd, const struct place *at, const struct sshkw *kw, char *value)
{
	struct sshconfig *c = rd->out;
	unsigned *count = &rd->counts[sshkw_index(kw)];

	if (have_entry(rd, kw, value)) {
		replace_none(rd, kw, value, at);
		return 0;
	}
	if (*count >= SSHCONFIG_MAX_VALUES) {
		free(value);
		return fail(rd, at, "more than %d %s values", SSHCONFIG_MAX_VALUES, kw->name);
	}
	if (c->n_entries == rd->cap) {
		rd->cap = rd->cap != 0 ? rd->cap * 2 : 16;
		c->entries = xrealloc(c->entries, rd->cap * sizeof(*c->entries));
	}
	c->entries[c->n_entries++] =
	    (struct sshconfig_entry){kw, value, at->file, at->line, at->system};
	(*count)++;
	return 0;
}

/*
 * The words joined by single spaces; in a list, a word with a blank in it
 * quoted (with " or, if it has one, '), so file names split back the same.
 */
static char *
join(const struct args *a, bool quote)
{
	size_t n = 1;

	for (int i = 0; i < a->n; i++)
		n += strlen(a->v[i]) + 3;
	char *s = xmalloc(n), *p = s;
	for (int i = 0; i < a->n; i++) {
		const char *w = a->v[i];
		const char *q = !quote || strpbrk(w, " \t") == NULL ? ""
		    : strchr(w, '"') == NULL			    ? "\""
								    : "'";
		p += sprintf(p, "%s%s%s%s", i > 0 ? " " : "", q, w, q);
	}
	*p = '\0';
	return s;
}

/* What Match sees of the first HostName, User, Port; HostName gets its %h. */
static int
track_first(struct reader *rd, const struct place *at, const struct sshkw *kw, char **value)
{
	if (strcmp(kw->name, "HostName") == 0 && rd->hostname == NULL) {
		struct token_values tv;
		char why[128];
		memset(&tv, 0, sizeof(tv));
		tv.v['h'] = rd->env->host_arg;
		char *h = token_expand(*value, TOKEN_PERCENT, &tv, NULL, NULL, why, sizeof(why));
		if (h == NULL)
			return fail(rd, at, "HostName %.*s: %s", SHOWN, *value, why);
		free(*value);
		*value = h;
		rd->hostname = xstrdup(h);
	} else if (strcmp(kw->name, "User") == 0 && rd->user == NULL) {
		rd->user = xstrdup(*value);
	} else if (strcmp(kw->name, "Port") == 0 && rd->port == 0) {
		rd->port = atoi(*value);
	} else if (strcmp(kw->name, "HostKeyAlias") == 0 && rd->hkalias == NULL) {
		rd->hkalias = xstrdup(*value);
	} else if (strcmp(kw->name, "IgnoreUnknown") == 0 && rd->ignore_unknown == NULL) {
		rd->ignore_unknown = xstrdup(*value);
	} else if (strcmp(kw->name, "CanonicalizeHostname") == 0 &&
	    (strcasecmp(*value, "yes") == 0 || strcasecmp(*value, "true") == 0 ||
		strcasecmp(*value, "always") == 0) &&
	    !have_entry(rd, kw, *value)) {
		rd->want_final = true;
	}
	return 0;
}

/* A keyword line (not Host, Match or Include): checked always, kept if it applies. */
static int
value_line(struct reader *rd, const struct place *at, const struct sshkw *kw, const char *keyword,
    char *rest, const struct args *a)
{
	char why[256];

	if (sshkw_check_value(kw, kw->args == SSHKW_REST ? 1 : a->n,
		kw->args == SSHKW_REST ? &rest : a->v, why, sizeof(why)) == -1)
		return fail(rd, at, "%s: %s", keyword, why);
	if (!at->active)
		return 0;
	const struct sshkw *applied = kw->canonical != NULL ? sshkw_find(kw->canonical) : kw;
	char *value = kw->args == SSHKW_REST ? xstrdup(rest) : join(a, kw->args == SSHKW_LIST);
	if (applied->tokens != 0 && strcmp(applied->name, "HostName") != 0 &&
	    token_check(value, applied->tokens, applied->token_set, why, sizeof(why)) == -1) {
		free(value);
		return fail(rd, at, "%s: %s", keyword, why);
	}
	if (!have_entry(rd, applied, value) && track_first(rd, at, applied, &value) == -1) {
		free(value);
		return -1;
	}
	if (strcmp(applied->name, "IgnoreUnknown") == 0) {
		free(value);
		return 0;
	}
	return add_entry(rd, at, applied, value);
}

/* The table entry for a keyword, or NULL (with an error unless IgnoreUnknown names it). */
static const struct sshkw *
find_keyword(struct reader *rd, const struct place *at, const char *keyword, bool *ignored)
{
	const struct sshkw *kw = sshkw_find(keyword);

	*ignored = false;
	if (kw != NULL)
		return kw;
	char *lower = xstrdup(keyword);
	lowercase(lower);
	if (rd->ignore_unknown != NULL && match_pattern_list(lower, rd->ignore_unknown, true) == 1)
		*ignored = true;
	free(lower);
	if (*ignored)
		return NULL;
	fail(rd, at, "unknown keyword '%.*s'", SHOWN, keyword);
	return NULL;
}

/* One line, NUL-terminated and ours to cut up. */
static int
parse_line(struct reader *rd, struct place *at, char *line)
{
	char *keyword, *rest;
	struct args a;
	bool ignored;
	int r;

	if (!split_keyword(line, &keyword, &rest))
		return 0;
	if (*rest == '\0')
		return fail(rd, at, "%s: missing argument", keyword);
	const struct sshkw *kw = find_keyword(rd, at, keyword, &ignored);
	if (kw == NULL)
		return ignored ? 0 : -1;
	char *raw = xstrdup(rest);
	if (split_args(rest, &a) < 0) {
		free(raw);
		free(a.v);
		return fail(rd, at, "%s: unclosed quote", keyword);
	}
	if (strcmp(kw->name, "Host") == 0)
		r = host_line(rd, at, &a);
	else if (strcmp(kw->name, "Match") == 0)
		r = match_line(rd, at, &a);
	else if (strcmp(kw->name, "Include") == 0)
		r = include_line(rd, at, &a);
	else
		r = value_line(rd, at, kw, keyword, raw, &a);
	free(raw);
	free(a.v);
	return r;
}

/* Walks one file's text. active: whether the including block applies (true at the top). */
static int
parse_text(struct reader *rd, const char *file, const char *text, size_t len, int depth,
    bool active, bool never, bool system)
{
	struct textline c = {text, text != NULL ? len : 0, 0, 0};
	struct place at = {keep_file(rd, file), 0, depth, active && !never, never, system};
	const char *line;
	size_t n;

	while (next_line(&c, &line, &n)) {
		at.line = c.lineno;
		char *copy = xstrndup(line, n);
		int r = parse_line(rd, &at, copy);
		free(copy);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* One file's text, read before evaluation starts. */
struct text {
	const char *file;
	const char *text;
	size_t len;
	bool system;
};

/* One pass over every file, in order. */
static int
one_pass(struct reader *rd, const struct text *texts, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		/* The file itself is the first of its Include chain, to catch loops back to it. */
		bool mine = rd->follow_includes && stat(texts[i].file, &st) == 0;
		if (mine)
			rd->chain[rd->nchain++] = (struct file_id){st.st_dev, st.st_ino};
		int r = parse_text(rd, texts[i].file, texts[i].text, texts[i].len, depth, true,
		    false, texts[i].system);
		if (mine)
			rd->nchain--;
		if (r == -1)
			return -1;
	}
	return 0;
}

/*
 * ssh's two passes: the second when asked for, with HostName settled
 * (lowercase unless an address).
 */
static int
evaluate(struct reader *rd, const struct text *texts, size_t n, int depth)
{
	const struct sshconfig_env *env = rd->env;

	rd->counts = xcalloc(sshkw_count(), sizeof(*rd->counts));
	if (env->hostname != NULL)
		rd->hostname = xstrdup(env->hostname);
	if (env->user != NULL)
		rd->user = xstrdup(env->user);
	if (env->host_key_alias != NULL)
		rd->hkalias = xstrdup(env->host_key_alias);
	rd->port = env->port > 0 ? env->port : 0;
	int r = one_pass(rd, texts, n, depth);
	if (r == 0 && rd->want_final) {
		char *host = xstrdup(current_host(rd));
		if (strchr(host, ':') == NULL && strspn(host, "0123456789.") != strlen(host))
			lowercase(host);
		free(rd->hostname);
		rd->hostname = host;
		/* ssh sets HostName before the final pass: no HostName line counts there. */
		rd->counts[sshkw_index(sshkw_find("HostName"))]++;
		rd->final = true;
		rd->out->final_pass = true;
		r = one_pass(rd, texts, n, depth);
	}
	free(rd->hostname);
	free(rd->user);
	free(rd->ignore_unknown);
	free(rd->hkalias);
	free(rd->counts);
	return r;
}

int
sshconfig_read_text(const char *file, const char *text, size_t len, const struct sshconfig_env *env,
    struct sshconfig *out, char *err, size_t errlen, int depth)
{
	struct reader rd = {
	    .env = env, .out = out, .follow_includes = depth >= 0, .err = err, .errlen = errlen};
	struct text t = {file != NULL ? file : "(text)", text, len, false};

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (depth > SSHCONFIG_MAX_DEPTH) {
		snprintf(err, errlen, "%s: Include nested deeper than %d files", t.file,
		    SSHCONFIG_MAX_DEPTH);
		return -1;
	}
	return evaluate(&rd, &t, 1, depth < 0 ? 0 : depth);
}

/* Reads one top-level file: NULL text (and 0) if it does not exist, -1 on error. */
static int
load_file(const char *path, bool check_perms, char **text, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	*text = NULL;
	*len = 0;
	if ((fd = open_config(path, &st)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		errno = EISDIR;
	else if (check_perms && !perms_ok(&st))
		errno = EPERM;
	else
		*text = read_fd(fd, len);
	int e = errno;
	close(fd);
	if (*text == NULL && e == EPERM) {
		snprintf(err, errlen, "%s: bad owner or permissions", path);
		return -1;
	}
	if (*text == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

int
sshconfig_read_files(const char *user_path, const char *system_path,
    const struct sshconfig_env *env, struct sshconfig *out, char *err, size_t errlen)
{
	struct reader rd = {
	    .env = env, .out = out, .follow_includes = true, .err = err, .errlen = errlen};
	struct text texts[2];
	char *data[2] = {NULL, NULL};
	size_t n = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	const char *paths[2] = {user_path, system_path};
	for (int i = 0; i < 2 && r == 0; i++) {
		size_t len;
		if (paths[i] == NULL)
			continue;
		r = load_file(paths[i], i == 0 && env->check_perms, &data[i], &len, err, errlen);
		if (r == 0 && data[i] != NULL)
			texts[n++] = (struct text){paths[i], data[i], len, i == 1};
	}
	if (r == 0)
		r = evaluate(&rd, texts, n, 0);
	free(data[0]);
	free(data[1]);
	return r;
}

int
sshconfig_read(const char *path, const struct sshconfig_env *env, struct sshconfig *out, char *err,
    size_t errlen)
{
	return sshconfig_read_files(path, NULL, env, out, err, errlen);
}
