/*
 * ~/.ssh/config lookup, following OpenSSH's readconf.c: each line is split
 * into a keyword (strdelim: ends at a blank or one '=') and arguments
 * (argv_split: quotes, backslash escapes, '#' at a word's start ends the
 * line), then applied if the current block applies. Each file is walked line
 * by line in place; one line at a time is copied so its words can be
 * unquoted. Include recurses through include_file, which owns every file
 * system access after the first file is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "match.h"
#include "sshconfig.h"
#include "textline.h"
#include "xmalloc.h"

#define MAX_FILE_SIZE (16u << 20)
#define NOTE_VALUE_MAX 64 /* how much of a value a note quotes */

enum keyword {
	KW_UNKNOWN,
	KW_HOST,
	KW_MATCH,
	KW_INCLUDE,
	KW_HOSTNAME,
	KW_PORT,
	KW_USER,
	KW_IDENTITYFILE,
	KW_PROXYJUMP,
	KW_USERKNOWNHOSTSFILE,
};

static const struct {
	const char *name;
	enum keyword kw;
} keywords[] = {
    {"host", KW_HOST},
    {"match", KW_MATCH},
    {"include", KW_INCLUDE},
    {"hostname", KW_HOSTNAME},
    {"port", KW_PORT},
    {"user", KW_USER},
    {"identityfile", KW_IDENTITYFILE},
    {"proxyjump", KW_PROXYJUMP},
    {"userknownhostsfile", KW_USERKNOWNHOSTSFILE},
};

/* A file being read (dev, ino), to catch Include loops. */
struct file_id {
	dev_t dev;
	ino_t ino;
};

/* State of one lookup, shared by every file it reads. */
struct lookup {
	const char *alias;
	const char *base_dir;
	bool follow_includes;
	struct ssh_host *out;
	char *err;
	size_t errlen;
	struct file_id chain[SSHCONFIG_MAX_DEPTH + 2];
	int nchain;
};

/* Where a line is, and whether the block it is in applies. */
struct place {
	const char *file;
	int line;
	int depth;
	bool active;
};

/* A line's arguments, unquoted. */
struct args {
	char **v;
	int n;
};

static void note(struct lookup *lk, const struct place *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct lookup *lk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int parse_text(
    struct lookup *lk, const char *file, const char *text, size_t len, int depth, bool active);

static void
note(struct lookup *lk, const struct place *at, const char *fmt, ...)
{
	struct ssh_host *h = lk->out;
	char msg[512];
	va_list ap;

	if (h->n_notes >= SSHCONFIG_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t n = strlen(at->file) + strlen(msg) + 16;
	char *s = xmalloc(n);
	snprintf(s, n, "%s:%d: %s", at->file, at->line, msg);
	h->notes[h->n_notes++] = s;
}

static void
fail(struct lookup *lk, const char *fmt, ...)
{
	va_list ap;

	if (lk->err == NULL || lk->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(lk->err, lk->errlen, fmt, ap);
	va_end(ap);
}

void
ssh_host_free(struct ssh_host *h)
{
	if (h == NULL)
		return;
	free(h->host_name);
	free(h->user);
	for (int i = 0; i < h->n_identity_files; i++)
		free(h->identity_files[i]);
	free(h->proxy_jump);
	free(h->known_hosts);
	for (int i = 0; i < h->n_notes; i++)
		free(h->notes[i]);
	memset(h, 0, sizeof(*h));
}

/* The next line's content: before '\n' or a NUL, trailing whitespace dropped, as readconf. */
static bool
next_line(struct textline *c, const char **line, size_t *n)
{
	if (!textline_next(c, line, n))
		return false;
	while (*n > 0 && strchr(" \t\r\f", (*line)[*n - 1]) != NULL)
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

static enum keyword
keyword_find(const char *word)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcasecmp(word, keywords[i].name) == 0)
			return keywords[i].kw;
	}
	return KW_UNKNOWN;
}

/* readconf's Host: the block applies if some pattern matches and no negated one does. */
static void
host_line(struct lookup *lk, struct place *at, const struct args *a)
{
	size_t aliaslen = strlen(lk->alias);

	at->active = false;
	for (int i = 0; i < a->n; i++) {
		const char *pat = a->v[i];
		bool negated = pat[0] == '!';
		if (pat[0] == '\0') {
			note(lk, at, "Host has an empty pattern; block skipped");
			at->active = false;
			return;
		}
		pat += negated;
		if (!match_pattern(lk->alias, aliaslen, pat, strlen(pat)))
			continue;
		if (negated) {
			at->active = false;
			return;
		}
		at->active = true;
	}
	if (at->active)
		lk->out->matched = true;
}

/* HostName's tokens, as ssh's percent_expand: %h the alias, %% a '%'; NULL for any other. */
static char *
expand_hostname(const char *value, const char *alias)
{
	size_t n = 0, alen = strlen(alias);

	for (const char *p = value; *p != '\0'; p++) {
		if (*p != '%') {
			n++;
			continue;
		}
		p++;
		if (*p == '%')
			n++;
		else if (*p == 'h')
			n += alen;
		else
			return NULL;
	}
	char *out = xmalloc(n + 1), *o = out;
	for (const char *p = value; *p != '\0'; p++) {
		if (*p != '%') {
			*o++ = *p;
		} else if (*++p == '%') {
			*o++ = '%';
		} else {
			memcpy(o, alias, alen);
			o += alen;
		}
	}
	*o = '\0';
	return out;
}

/* a2port without service names: decimal 1-65535, else 0. */
static int
parse_port(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return 0;
	}
	return (int)v;
}

static void
add_identity(struct lookup *lk, const struct place *at, const char *value)
{
	struct ssh_host *h = lk->out;

	for (int i = 0; i < h->n_identity_files; i++) {
		if (strcmp(h->identity_files[i], value) == 0)
			return;
	}
	if (h->n_identity_files >= SSHCONFIG_MAX_IDENTITIES) {
		note(lk, at, "more than %d IdentityFile values; \"%.*s\" dropped",
		    SSHCONFIG_MAX_IDENTITIES, NOTE_VALUE_MAX, value);
		return;
	}
	h->identity_files[h->n_identity_files++] = xstrdup(value);
}

/* HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile in a block that applies. */
static void
value_line(struct lookup *lk, const struct place *at, enum keyword kw, const char *keyword,
    const struct args *a)
{
	struct ssh_host *h = lk->out;
	const char *v = a->v[0];

	if (v[0] == '\0') {
		note(lk, at, "%s has an empty value; line skipped", keyword);
		return;
	}
	if (a->n > 1 && kw != KW_USERKNOWNHOSTSFILE) {
		note(lk, at, "%s has extra arguments; line skipped", keyword);
		return;
	}
	switch (kw) {
	case KW_HOSTNAME:
		if (h->host_name == NULL && (h->host_name = expand_hostname(v, lk->alias)) == NULL)
			note(lk, at, "HostName \"%.*s\" has an unknown %%-token; line skipped",
			    NOTE_VALUE_MAX, v);
		break;
	case KW_PORT: {
		int port = parse_port(v);
		if (port == 0)
			note(
			    lk, at, "bad Port \"%.*s\" (1-65535); line skipped", NOTE_VALUE_MAX, v);
		else if (h->port == 0)
			h->port = port;
		break;
	}
	case KW_USER:
		if (h->user == NULL)
			h->user = xstrdup(v);
		break;
	case KW_IDENTITYFILE:
		add_identity(lk, at, v);
		break;
	case KW_PROXYJUMP:
		if (h->proxy_jump == NULL)
			h->proxy_jump = xstrdup(v);
		break;
	case KW_USERKNOWNHOSTSFILE:
		if (h->known_hosts == NULL)
			h->known_hosts = xstrdup(v);
		break;
	default:
		break;
	}
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

static bool
chain_has(const struct lookup *lk, const struct stat *st)
{
	for (int i = 0; i < lk->nchain; i++) {
		if (lk->chain[i].dev == st->st_dev && lk->chain[i].ino == st->st_ino)
			return true;
	}
	return false;
}

/* Reads one file an Include named, in the including block's state. */
static int
include_file(struct lookup *lk, const struct place *at, const char *path)
{
	struct stat st;
	size_t len = 0;
	int fd;

	if (at->depth >= SSHCONFIG_MAX_DEPTH) {
		fail(lk, "%s:%d: Include nested deeper than %d files", at->file, at->line,
		    SSHCONFIG_MAX_DEPTH);
		return -1;
	}
	if ((fd = open_config(path, &st)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			note(lk, at, "Include: %s does not exist", path);
			return 0;
		}
		fail(lk, "%s:%d: cannot read %s: %s", at->file, at->line, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		note(lk, at, "Include: %s is a directory; skipped", path);
		close(fd);
		return 0;
	}
	if (chain_has(lk, &st)) {
		fail(lk, "%s:%d: Include loop: %s is already being read", at->file, at->line, path);
		close(fd);
		return -1;
	}
	char *text = read_fd(fd, &len);
	int e = errno;
	close(fd);
	if (text == NULL) {
		fail(lk, "%s:%d: cannot read %s: %s", at->file, at->line, path, strerror(e));
		return -1;
	}
	lk->chain[lk->nchain++] = (struct file_id){st.st_dev, st.st_ino};
	int r = parse_text(lk, path, text, len, at->depth + 1, at->active);
	lk->nchain--;
	free(text);
	return r;
}

/* The glob pattern for one Include argument, or NULL (with a note) if it has none. */
static char *
include_pattern(struct lookup *lk, const struct place *at, const char *arg)
{
	if (arg[0] == '~' && (arg[1] == '\0' || arg[1] == '/')) {
		const char *home = getenv("HOME");
		if (home == NULL || home[0] == '\0') {
			note(lk, at, "Include %.*s: HOME is not set; skipped", NOTE_VALUE_MAX, arg);
			return NULL;
		}
		size_t n = strlen(home) + strlen(arg);
		char *p = xmalloc(n);
		snprintf(p, n, "%s%s", home, arg + 1);
		return p;
	}
	if (arg[0] == '~' || arg[0] == '/')
		return xstrdup(arg); /* "~user/..." is glob's (GLOB_TILDE) */
	if (lk->base_dir == NULL) {
		note(lk, at, "Include %.*s: relative path with no base directory; skipped",
		    NOTE_VALUE_MAX, arg);
		return NULL;
	}
	size_t n = strlen(lk->base_dir) + strlen(arg) + 2;
	char *p = xmalloc(n);
	snprintf(p, n, "%s/%s", lk->base_dir, arg);
	return p;
}

/* readconf's Include: each argument a glob, its files read in sorted order. */
static int
include_line(struct lookup *lk, const struct place *at, const struct args *a)
{
	for (int i = 0; i < a->n; i++) {
		if (a->v[i][0] == '\0') {
			note(lk, at, "Include has an empty path; skipped");
			continue;
		}
		char *pattern = include_pattern(lk, at, a->v[i]);
		if (pattern == NULL)
			continue;
		if (!lk->follow_includes) {
			note(lk, at, "Include %.*s not followed", NOTE_VALUE_MAX, pattern);
			free(pattern);
			continue;
		}
		glob_t gl;
		int r = glob(pattern, GLOB_TILDE, NULL, &gl);
		if (r == GLOB_NOMATCH) {
			note(lk, at, "Include %s matched no files", pattern);
			free(pattern);
			continue;
		}
		if (r != 0) {
			fail(lk, "%s:%d: Include %s: glob failed", at->file, at->line, pattern);
			free(pattern);
			return -1;
		}
		free(pattern);
		for (size_t j = 0; j < gl.gl_pathc; j++) {
			if (include_file(lk, at, gl.gl_pathv[j]) < 0) {
				globfree(&gl);
				return -1;
			}
		}
		globfree(&gl);
	}
	return 0;
}

/* One line, NUL-terminated and ours to cut up. Returns -1 only for an Include error. */
static int
parse_line(struct lookup *lk, struct place *at, char *line)
{
	char *keyword, *rest;
	struct args a;
	int r = 0;

	if (!split_keyword(line, &keyword, &rest))
		return 0;
	enum keyword kw = keyword_find(keyword);
	if (kw == KW_UNKNOWN || (!at->active && kw != KW_HOST && kw != KW_MATCH))
		return 0;
	if (kw == KW_MATCH) {
		at->active = false;
		note(lk, at, "Match block skipped");
		return 0;
	}
	int split = split_args(rest, &a);
	if (split < 0 || a.n == 0) {
		note(lk, at, "%s has %s; line skipped", keyword,
		    split < 0 ? "an unclosed quote" : "no argument");
		if (kw == KW_HOST)
			at->active = false; /* the block is opened all the same, applying nowhere */
		free(a.v);
		return 0;
	}
	if (kw == KW_HOST)
		host_line(lk, at, &a);
	else if (kw == KW_INCLUDE)
		r = include_line(lk, at, &a);
	else
		value_line(lk, at, kw, keyword, &a);
	free(a.v);
	return r;
}

/* Walks one file's text. active: whether the including block applies (true at the top). */
static int
parse_text(
    struct lookup *lk, const char *file, const char *text, size_t len, int depth, bool active)
{
	struct textline c = {text, text != NULL ? len : 0, 0, 0};
	struct place at = {file, 0, depth, active};
	const char *line;
	size_t n;

	while (next_line(&c, &line, &n)) {
		at.line = c.lineno;
		char *copy = xstrndup(line, n);
		int r = parse_line(lk, &at, copy);
		free(copy);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int
lookup_run(struct lookup *lk, const char *file, const char *text, size_t len, int depth)
{
	int r;

	memset(lk->out, 0, sizeof(*lk->out));
	if (lk->err != NULL && lk->errlen > 0)
		lk->err[0] = '\0';
	if (depth > SSHCONFIG_MAX_DEPTH) {
		fail(lk, "%s: Include nested deeper than %d files", file, SSHCONFIG_MAX_DEPTH);
		return -1;
	}
	r = parse_text(lk, file, text, len, depth, true);
	if (r < 0)
		ssh_host_free(lk->out);
	return r;
}

int
sshconfig_lookup_text(const char *file, const char *text, size_t len, const char *base_dir,
    const char *alias, struct ssh_host *out, char *err, size_t errlen, int depth)
{
	struct lookup lk = {
	    alias != NULL ? alias : "", base_dir, depth >= 0, out, err, errlen, {{0, 0}}, 0};
	struct stat st;

	if (file == NULL)
		file = "(text)";
	if (depth >= 0 && stat(file, &st) == 0)
		lk.chain[lk.nchain++] = (struct file_id){st.st_dev, st.st_ino};
	return lookup_run(&lk, file, text, len, depth < 0 ? 0 : depth);
}

int
sshconfig_lookup(
    const char *path, const char *alias, struct ssh_host *out, char *err, size_t errlen)
{
	struct lookup lk = {alias != NULL ? alias : "", NULL, true, out, err, errlen, {{0, 0}}, 0};
	struct stat st;
	size_t len = 0;
	char *text = NULL;
	int fd, r;

	memset(out, 0, sizeof(*out));
	if ((fd = open_config(path, &st)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		fail(&lk, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		errno = EISDIR;
	else
		text = read_fd(fd, &len);
	int e = errno;
	close(fd);
	if (text == NULL) {
		fail(&lk, "%s: cannot read: %s", path, strerror(e));
		return -1;
	}
	lk.chain[lk.nchain++] = (struct file_id){st.st_dev, st.st_ino};
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".")
				  : xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
	lk.base_dir = dir;
	r = lookup_run(&lk, path, text, len, 0);
	free(dir);
	free(text);
	return r;
}
