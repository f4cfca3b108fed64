/*
 * Glob-style host pattern matching (see match.h). Iterative, with one
 * backtracking point at the last '*': linear in practice and never recursive,
 * so a hostile pattern cannot exhaust the stack.
 */
#include <stdint.h>
#include <string.h>

#include "match.h"

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
match_pattern(const char *s, size_t slen, const char *p, size_t plen)
{
	return match_pattern_case(s, slen, p, plen, true);
}

bool
match_pattern_case(const char *s, size_t slen, const char *p, size_t plen, bool fold)
{
	size_t si = 0, pi = 0, star = SIZE_MAX, mark = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen &&
		    (p[pi] == '?' || p[pi] == s[si] || (fold && lower(p[pi]) == lower(s[si])))) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

int
match_pattern_list(const char *s, const char *list, bool fold)
{
	size_t slen = strlen(s);
	int result = 0;

	for (;;) {
		size_t len = strcspn(list, ",");
		bool negated = list[0] == '!';
		if (match_pattern_case(s, slen, list + negated, len - negated, fold)) {
			if (negated)
				return -1;
			result = 1;
		}
		if (list[len] == '\0')
			return result;
		list += len + 1;
	}
}
