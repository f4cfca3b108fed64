/*
 * Text built into a caller's fixed buffer, for the pure modules that write
 * files for the user (servicefile.c's units, invitetext.c's profiles and
 * scripts): every put is checked, the first thing that does not fit (or a
 * character the writer refuses) marks the text failed, and finishing a
 * failed text leaves the buffer empty, so nothing truncated is ever used.
 */
#ifndef PORTHOLE_TEXTOUT_H
#define PORTHOLE_TEXTOUT_H

#include <stdbool.h>
#include <stddef.h>

struct textout {
	char *out;
	size_t cap, len;
	bool failed; /* too long, or marked by the writer */
};

void textout_init(struct textout *t, char *out, size_t outlen);
void textout_mem(struct textout *t, const char *s, size_t n);
void textout_str(struct textout *t, const char *s);
void textout_char(struct textout *t, char ch);
void textout_int(struct textout *t, int n);
/* 0, or -1 (the buffer emptied) if anything did not fit or was refused. */
int textout_finish(struct textout *t);

#endif
