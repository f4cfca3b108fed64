/*
 * Line splitting that never reads past len, whatever the text holds.
 */
#include <limits.h>
#include <string.h>

#include "textline.h"

bool
textline_next(struct textline *c, const char **line, size_t *n)
{
	if (c->pos >= c->len || c->lineno == INT_MAX)
		return false;
	const char *start = c->text + c->pos;
	size_t rest = c->len - c->pos;
	const char *nl = memchr(start, '\n', rest);
	size_t linelen = nl != NULL ? (size_t)(nl - start) : rest;
	const char *nul = memchr(start, '\0', linelen);

	c->pos += linelen + (nl != NULL);
	c->lineno++;
	if (nul != NULL)
		linelen = (size_t)(nul - start);
	*line = start;
	*n = linelen;
	return true;
}
