/*
 * porthole.conf(5): the text is cut into lines, each line into a keyword and
 * words (ssh_config's rules: '=' or blanks after the keyword, double quotes
 * around words with blanks, '#' at the start of a word ends the line), and
 * the words are joined with single spaces into one value. Profile, Host and
 * Match are handled here; every other keyword goes to option_set on a scratch
 * struct options, so the config file and -o share one table and one set of
 * messages. Errors are collected, never fatal: the user sees them all at once.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "xmalloc.h"

/* Room for option_set's messages, which quote the value. */
#define CONFIG_ERR_MAX 1024

/* Names that would shadow a subcommand on the command line. */
static const char *const reserved_names[] = {
    "relay", "status", "profiles", "check", "service", "invite", "jump-setup"};

/* Where the lines being read go. */
struct parser {
	struct config *c;
	struct config_entry **entries; /* NULL: check lines, keep nothing */
	size_t *n_entries;
	int line;
	int scope;	   /* the profile whose block this line is in; -1: none (see error_scope) */
	size_t *names;	   /* open-addressed set of profile indexes + 1 (0: empty), by name */
	size_t names_size; /* a power of two, at least twice the profiles */
};

static void add_error(struct config *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ps_error(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Room for element n of an array that only ever grows through this function:
 * the capacity doubles at each power of two, so a file of n lines costs O(n)
 * copying, not the O(n^2) of growing by one (which ASan's realloc, always
 * moving, made minutes long at 30,000 profiles).
 */
static void *
grow(void *array, size_t n, size_t size)
{
	if (n == 0)
		return xrealloc(array, 4 * size);
	if (n < 4 || (n & (n - 1)) != 0)
		return array;
	return xrealloc(array, 2 * n * size);
}

void
config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
}

static void
free_entries(struct config_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].keyword);
		free(e[i].value);
	}
	free(e);
}

void
config_free(struct config *c)
{
	free(c->file);
	free_entries(c->defaults, c->n_defaults);
	for (size_t i = 0; i < c->n_profiles; i++) {
		free(c->profiles[i].name);
		free_entries(c->profiles[i].entries, c->profiles[i].n_entries);
	}
	free(c->profiles);
	for (size_t i = 0; i < c->n_errors; i++)
		free(c->errors[i]);
	free(c->errors);
	free(c->error_scope);
	config_init(c);
}

/*
 * Records "file:line: message" ("file: message" for line 0). Control bytes
 * from the file are shown as '?', so a message cannot drive the terminal.
 */
static void
verror(struct config *c, int scope, int line, const char *fmt, va_list ap)
{
	char msg[CONFIG_ERR_MAX], *text;
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		len = (size_t)snprintf(NULL, 0, "%s:%d: %s", c->file, line, msg) + 1;
	else
		len = (size_t)snprintf(NULL, 0, "%s: %s", c->file, msg) + 1;
	text = xmalloc(len);
	if (line > 0)
		snprintf(text, len, "%s:%d: %s", c->file, line, msg);
	else
		snprintf(text, len, "%s: %s", c->file, msg);
	for (char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	c->errors = grow(c->errors, c->n_errors, sizeof(*c->errors));
	c->error_scope = grow(c->error_scope, c->n_errors, sizeof(*c->error_scope));
	c->error_scope[c->n_errors] = scope;
	c->errors[c->n_errors++] = text;
}

static void
add_error(struct config *c, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, -1, line, fmt, ap);
	va_end(ap);
}

/* An error in the line being parsed, charged to the profile whose block it is in. */
static void
ps_error(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(ps->c, ps->scope, ps->line, fmt, ap);
	va_end(ap);
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/*
 * Splits a NUL-terminated line into its keyword (cut off in place) and its
 * words, joined with single spaces into value, which has room for the line.
 * Returns NULL with *keyword NULL for a blank or comment line, NULL with the
 * keyword set for a statement, or an error message.
 */
static const char *
split_line(char *line, char **keyword, char *value, int *n_words)
{
	char *p = line, *out = value;

	*keyword = NULL;
	*n_words = 0;
	*value = '\0';
	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return NULL;
	if (*p == '=')
		return "missing keyword before '='";
	*keyword = p;
	while (*p != '\0' && !is_blank(*p) && *p != '=')
		p++;
	while (is_blank(*p))
		*p++ = '\0';
	if (*p == '=')
		*p++ = '\0';
	for (;;) {
		bool quoted = false;

		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (*n_words > 0)
			*out++ = ' ';
		for (; *p != '\0' && (quoted || !is_blank(*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
			else
				*out++ = *p;
		}
		if (quoted)
			return "unterminated quote";
		(*n_words)++;
	}
	*out = '\0';
	return NULL;
}

/* Copies name for a message: bounded, so a long one stays readable. */
static void
quote_name(char *dst, size_t size, const char *name)
{
	size_t n = strlen(name);

	if (n < size) {
		memcpy(dst, name, n + 1);
		return;
	}
	snprintf(dst, size, "%.*s...", (int)(size - 4), name);
}

static bool
is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '.' || ch == '_' || ch == '-';
}

/* A subcommand the name would shadow on the command line, or NULL. */
static const char *
reserved_name(const char *name)
{
	for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
		if (strcasecmp(name, reserved_names[i]) == 0)
			return reserved_names[i];
	return NULL;
}

/* FNV-1a over the lowercased name: profile names are ASCII. */
static size_t
name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)tolower((unsigned char)*name)) * 16777619u;
	return h;
}

static const struct config_profile *
names_find(const struct parser *ps, const char *name)
{
	if (ps->names_size == 0)
		return NULL;
	for (size_t i = name_hash(name) & (ps->names_size - 1); ps->names[i] != 0;
	     i = (i + 1) & (ps->names_size - 1)) {
		const struct config_profile *p = &ps->c->profiles[ps->names[i] - 1];
		if (strcasecmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static void
names_insert(size_t *names, size_t size, const struct config *c, size_t index)
{
	size_t i = name_hash(c->profiles[index].name) & (size - 1);

	while (names[i] != 0)
		i = (i + 1) & (size - 1);
	names[i] = index + 1;
}

/* Adds profile index, doubling the set when it would be over half full. */
static void
names_add(struct parser *ps, size_t index)
{
	if (2 * (index + 1) > ps->names_size) {
		size_t size = ps->names_size == 0 ? 64 : 2 * ps->names_size;
		size_t *names = xcalloc(size, sizeof(*names));
		for (size_t i = 0; i < index; i++)
			names_insert(names, size, ps->c, i);
		free(ps->names);
		ps->names = names;
		ps->names_size = size;
	}
	names_insert(ps->names, ps->names_size, ps->c, index);
}

/* A Profile line: opens the block, or an error and a block that keeps nothing. */
static void
open_profile(struct parser *ps, const char *name, int n_words)
{
	struct config *c = ps->c;
	const struct config_profile *first;
	struct config_profile *p;
	const char *command;
	size_t n = 0;
	char shown[CONFIG_NAME_MAX + 4];

	ps->entries = NULL;
	ps->n_entries = NULL;
	ps->scope = -1;
	quote_name(shown, sizeof(shown), name);
	if (n_words == 0) {
		ps_error(ps, "Profile needs a name");
		return;
	}
	if (n_words > 1) {
		ps_error(ps, "Profile takes one name, not '%s'", shown);
		return;
	}
	while (is_name_char(name[n]))
		n++;
	if (n == 0 || name[n] != '\0' || n > CONFIG_NAME_MAX) {
		ps_error(
		    ps, "bad profile name '%s' (1-64 letters, digits, '.', '_' or '-')", shown);
		return;
	}
	if ((command = reserved_name(name)) != NULL) {
		ps_error(ps, "profile name '%s' is taken by 'porthole %s'", shown, command);
		return;
	}
	if ((first = names_find(ps, name)) != NULL) {
		/* It concerns that profile alone, and so does the block that follows. */
		ps->scope = (int)(first - c->profiles);
		ps_error(ps, "profile '%s' defined twice (first at line %d)", shown, first->line);
		return;
	}
	c->profiles = grow(c->profiles, c->n_profiles, sizeof(*c->profiles));
	p = &c->profiles[c->n_profiles++];
	p->name = xstrdup(name);
	p->line = ps->line;
	p->entries = NULL;
	p->n_entries = 0;
	ps->entries = &p->entries;
	ps->n_entries = &p->n_entries;
	ps->scope = (int)(c->n_profiles - 1);
	names_add(ps, c->n_profiles - 1);
}

/* The option table's spelling of a keyword option_set has accepted. */
static const char *
canonical_keyword(const char *keyword)
{
	const char *k;

	for (size_t i = 0; (k = option_keyword(i)) != NULL; i++)
		if (strcasecmp(k, keyword) == 0)
			return k;
	return keyword;
}

/* Checks one "keyword value" with option_set and keeps it in the open block. */
static void
add_entry(struct parser *ps, struct options *scratch, const char *keyword, const char *value)
{
	char err[CONFIG_ERR_MAX];
	struct config_entry *e;
	int rc;

	rc = option_set(scratch, keyword, value, err, sizeof(err));
	options_free(scratch);
	if (rc == -1) {
		ps_error(ps, "%s", err);
		return;
	}
	if (ps->entries == NULL)
		return;
	*ps->entries = grow(*ps->entries, *ps->n_entries, sizeof(**ps->entries));
	e = &(*ps->entries)[(*ps->n_entries)++];
	e->keyword = xstrdup(canonical_keyword(keyword));
	e->value = xstrdup(value);
	e->line = ps->line;
}

/* One line, without its end; may hold NUL bytes. */
static void
parse_line(struct parser *ps, struct options *scratch, const char *text, size_t len)
{
	char line[CONFIG_LINE_MAX + 1], value[CONFIG_LINE_MAX + 1], *keyword;
	const char *why;
	int n_words;

	if (len > CONFIG_LINE_MAX) {
		ps_error(ps, "line too long (over %d bytes)", CONFIG_LINE_MAX);
		return;
	}
	if (memchr(text, '\0', len) != NULL) {
		ps_error(ps, "NUL byte");
		return;
	}
	memcpy(line, text, len);
	line[len] = '\0';
	if ((why = split_line(line, &keyword, value, &n_words)) != NULL) {
		ps_error(ps, "%s", why);
		return;
	}
	if (keyword == NULL)
		return;
	if (strcasecmp(keyword, "Profile") == 0) {
		open_profile(ps, value, n_words);
	} else if (strcasecmp(keyword, "Host") == 0 || strcasecmp(keyword, "Match") == 0) {
		ps_error(
		    ps, "Host and Match belong in ~/.ssh/config; porthole uses Profile blocks");
		ps->entries = NULL;
		ps->n_entries = NULL;
		ps->scope = -1;
	} else {
		add_entry(ps, scratch, keyword, value);
	}
}

size_t
config_parse(struct config *c, const char *file, const char *text, size_t len)
{
	struct parser ps = {c, NULL, NULL, 0, -1, NULL, 0};
	struct options scratch;
	size_t start = 0;

	config_free(c);
	c->file = xstrdup(file != NULL ? file : "(config)");
	ps.entries = &c->defaults;
	ps.n_entries = &c->n_defaults;
	options_init(&scratch);
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t n = end - start;

		if (n > 0 && text[end - 1] == '\r')
			n--;
		ps.line++;
		parse_line(&ps, &scratch, text + start, n);
		start = end + 1;
	}
	options_free(&scratch);
	free(ps.names);
	return c->n_errors;
}

/* Reads all of fd, at most CONFIG_FILE_MAX bytes. Returns NULL with errno set (EFBIG: too big). */
static char *
read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	ssize_t r;

	for (;;) {
		if (n == cap) {
			if (cap > CONFIG_FILE_MAX) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			int saved = errno;
			free(buf);
			errno = saved;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > CONFIG_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	*len = n;
	return buf;
}

size_t
config_load(struct config *c, const char *path)
{
	struct stat st;
	char *text;
	size_t len;
	int fd;

	config_free(c);
	c->file = xstrdup(path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		add_error(c, 0, "%s", strerror(errno));
		return c->n_errors;
	}
	if (fstat(fd, &st) == -1) {
		add_error(c, 0, "%s", strerror(errno));
		close(fd);
		return c->n_errors;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		add_error(c, 0, "bad owner");
		close(fd);
		return c->n_errors;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		add_error(c, 0, "bad permissions: writable by group or others");
		close(fd);
		return c->n_errors;
	}
	text = read_all(fd, &len);
	if (text == NULL) {
		if (errno == EFBIG)
			add_error(c, 0, "too big (over %d MiB)", CONFIG_FILE_MAX / (1024 * 1024));
		else
			add_error(c, 0, "%s", strerror(errno));
		close(fd);
		return c->n_errors;
	}
	close(fd);
	config_parse(c, path, text, len);
	free(text);
	return c->n_errors;
}

const struct config_profile *
config_find(const struct config *c, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_profiles; i++)
		if (strcasecmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

static int
apply_entries(const struct config *c, const struct config_entry *e, size_t n, struct options *o,
    char *err, size_t errlen)
{
	char why[CONFIG_ERR_MAX];

	for (size_t i = 0; i < n; i++) {
		if (option_set(o, e[i].keyword, e[i].value, why, sizeof(why)) == -1) {
			if (errlen > 0)
				snprintf(err, errlen, "%s:%d: %s", c->file, e[i].line, why);
			return -1;
		}
	}
	return 0;
}

int
config_apply(const struct config *c, const struct config_profile *p, struct options *o, char *err,
    size_t errlen)
{
	if (apply_entries(c, c->defaults, c->n_defaults, o, err, errlen) == -1)
		return -1;
	if (p != NULL && apply_entries(c, p->entries, p->n_entries, o, err, errlen) == -1)
		return -1;
	return 0;
}

/* Optimal string alignment distance, ASCII case ignored; stops counting past limit. */
static size_t
edit_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[3][65];

	if (la > 64 || lb > 64)
		return limit + 1;
	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *row = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			size_t best = prev[j - 1] + (ca != cb);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			row[j] = best;
		}
	}
	return d[la % 3][lb];
}

size_t
config_errors_against(const struct config *c, const struct config_profile *p)
{
	int index = p != NULL ? (int)(p - c->profiles) : -1;
	size_t n = 0;

	for (size_t i = 0; i < c->n_errors; i++)
		n += c->error_scope[i] == -1 || c->error_scope[i] == index;
	return n;
}

const struct config_profile *
config_suggest(const struct config *c, const char *name)
{
	const struct config_profile *best = NULL;
	size_t limit = strlen(name) <= 4 ? 1 : 2, best_d = limit + 1;

	for (size_t i = 0; i < c->n_profiles; i++) {
		size_t d = edit_distance(name, c->profiles[i].name, limit);
		if (d < best_d) {
			best_d = d;
			best = &c->profiles[i];
		}
	}
	return best;
}
