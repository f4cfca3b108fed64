/*
 * Glob-style host pattern matching (see match.h). Iterative, with one
 * backtracking point at the last '*': linear in practice and never recursive,
 * so a hostile pattern cannot exhaust the stack.
 */
#include <stdint.h>

#include "match.h"

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
match_pattern(const char *s, size_t slen, const char *p, size_t plen)
{
	size_t si = 0, pi = 0, star = SIZE_MAX, mark = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && (p[pi] == '?' || lower(p[pi]) == lower(s[si]))) {
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
