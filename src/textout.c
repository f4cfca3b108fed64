/*
 * A bounded text builder: see textout.h.
 */
#include <stdio.h>
#include <string.h>

#include "textout.h"

void
textout_init(struct textout *t, char *out, size_t outlen)
{
	t->out = out;
	t->cap = outlen;
	t->len = 0;
	t->failed = outlen == 0;
	if (outlen > 0)
		out[0] = '\0';
}

void
textout_mem(struct textout *t, const char *s, size_t n)
{
	if (t->failed || n >= t->cap - t->len) {
		t->failed = true;
		return;
	}
	memcpy(t->out + t->len, s, n);
	t->len += n;
	t->out[t->len] = '\0';
}

void
textout_str(struct textout *t, const char *s)
{
	textout_mem(t, s, strlen(s));
}

void
textout_char(struct textout *t, char ch)
{
	textout_mem(t, &ch, 1);
}

void
textout_int(struct textout *t, int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", n);
	textout_str(t, buf);
}

int
textout_finish(struct textout *t)
{
	if (t->failed) {
		if (t->cap > 0)
			t->out[0] = '\0';
		return -1;
	}
	return 0;
}
