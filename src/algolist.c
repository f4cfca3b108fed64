/*
 * ssh_config algorithm lists. The rules are OpenSSH's (kex_assemble_names
 * in kex.c): a prefix changes the default list, otherwise the list replaces
 * it; only '-' takes patterns. Where ssh refuses a name it does not know,
 * porthole leaves out the names its libssh2 does not have and reports them,
 * so a ~/.ssh/config written for a newer ssh still works and says what it
 * could not honour.
 */
#include <stdio.h>
#include <string.h>

#include "algolist.h"
#include "match.h"
#include "textout.h"

/* A comma list built in a caller's buffer (textout.h: overflow is remembered); no repeats. */
static void
list_add(struct textout *l, const char *name, size_t n)
{
	if (l->failed || algolist_has(l->out, name, n))
		return;
	if (l->len > 0)
		textout_char(l, ',');
	textout_mem(l, name, n);
}

bool
algolist_has(const char *list, const char *name, size_t namelen)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == namelen && memcmp(p, name, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '@' || c == '.' || c == '_' || c == '-' || c == '+';
}

int
algolist_check(const char *spec, char *err, size_t errlen)
{
	bool patterns = spec[0] == '-';
	const char *p = spec + (spec[0] == '+' || spec[0] == '-' || spec[0] == '^');

	if (strlen(spec) >= ALGOLIST_MAX) {
		snprintf(err, errlen, "list too long (at most %d characters)", ALGOLIST_MAX - 1);
		return -1;
	}
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0) {
			snprintf(err, errlen, "empty algorithm name in '%s'", spec);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (name_char(p[i]) || (patterns && (p[i] == '*' || p[i] == '?')))
				continue;
			if (p[i] == '*' || p[i] == '?')
				snprintf(err, errlen,
				    "'%.*s': patterns are allowed only after '-' (removing names)",
				    (int)n, p);
			else
				snprintf(err, errlen, "'%.*s' is not an algorithm name", (int)n, p);
			return -1;
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* Adds the names of src that the build supports; the others go to dropped. */
static void
add_supported(struct textout *out, struct textout *dropped, const char *src, const char *supported)
{
	for (const char *p = src; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n > 0)
			list_add(algolist_has(supported, p, n) ? out : dropped, p, n);
		p += n + (p[n] == ',');
	}
}

/* Whether name matches one of the comma-separated patterns. */
static bool
matches_any(const char *name, size_t n, const char *patterns)
{
	for (const char *p = patterns; *p != '\0';) {
		size_t m = strcspn(p, ",");
		if (m > 0 && match_pattern(name, n, p, m))
			return true;
		p += m + (p[m] == ',');
	}
	return false;
}

int
algolist_apply(const char *spec, const char *defaults, const char *supported, char *out,
    size_t outlen, char *dropped, size_t droppedlen, char *err, size_t errlen)
{
	struct textout o, d;

	textout_init(&o, out, outlen);
	textout_init(&d, dropped, droppedlen);
	if (spec == NULL || spec[0] == '\0') {
		add_supported(&o, &d, defaults, supported);
	} else {
		if (algolist_check(spec, err, errlen) == -1)
			return -1;
		const char *names = spec + 1;
		switch (spec[0]) {
		case '+':
			add_supported(&o, &d, defaults, supported);
			add_supported(&o, &d, names, supported);
			break;
		case '^':
			add_supported(&o, &d, names, supported);
			add_supported(&o, &d, defaults, supported);
			break;
		case '-':
			for (const char *p = defaults; *p != '\0';) {
				size_t n = strcspn(p, ",");
				if (n > 0 && !matches_any(p, n, names) &&
				    algolist_has(supported, p, n))
					list_add(&o, p, n);
				p += n + (p[n] == ',');
			}
			break;
		default:
			add_supported(&o, &d, spec, supported);
			break;
		}
	}
	if (o.failed) {
		snprintf(err, errlen, "list too long (at most %zu characters)",
		    outlen > 0 ? outlen - 1 : 0);
		return -1;
	}
	if (o.len == 0) {
		if (d.len > 0)
			snprintf(err, errlen, "this porthole has none of %s", dropped);
		else
			snprintf(err, errlen, "no algorithm left in '%s'", spec ? spec : "");
		return -1;
	}
	return 0;
}
