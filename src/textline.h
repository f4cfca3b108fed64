/*
 * Walking text line by line, for the parsers of files people write
 * (known_hosts, ~/.ssh/config). Pure.
 */
#ifndef PORTHOLE_TEXTLINE_H
#define PORTHOLE_TEXTLINE_H

#include <stdbool.h>
#include <stddef.h>

struct textline {
	const char *text;
	size_t len;
	size_t pos;
	int lineno; /* of the line last returned, 1-based */
};

/*
 * The next line's content: up to its '\n' (not included) or a NUL byte,
 * whichever comes first; a NUL ends the line's content but not the line.
 * False at the end of the text.
 */
bool textline_next(struct textline *c, const char **line, size_t *n);

#endif
