/*
 * Channel-open failures. sshd sends a reason code and a description: for
 * direct-tcpip the description is what its own connect got
 * ("Connection refused", "Name or service not known"). ssh prints both;
 * so does porthole, once libssh2 keeps the description (porthole's libssh2
 * build patches it to; an unpatched one gives the reason alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chanfail.h"

static const char *const reasons[] = {
    NULL,
    "administratively prohibited",
    "connect failed",
    "unknown channel type",
    "resource shortage",
};

#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))
#define PREFIX "Channel open failure"

static void
copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* "(connect failed)" or "(reason 7)" at p; returns what follows, or NULL. */
static const char *
parse_reason(const char *p, struct chanfail *out)
{
	const char *close = strchr(p, ')');

	if (*p != '(' || close == NULL)
		return NULL;
	p++;
	if (strncmp(p, "reason ", 7) == 0) {
		char *end;
		unsigned long code = strtoul(p + 7, &end, 10);
		if (end != close || p[7] < '0' || p[7] > '9' || code > 0xffffffffUL)
			return NULL;
		out->code = (unsigned)code;
		return close + 1;
	}
	for (size_t i = 1; i < N_REASONS; i++) {
		size_t n = strlen(reasons[i]);
		if ((size_t)(close - p) == n && strncmp(p, reasons[i], n) == 0) {
			out->code = (unsigned)i;
			copy(out->reason, sizeof(out->reason), p, n);
			return close + 1;
		}
	}
	return NULL;
}

int
chanfail_parse(const char *msg, struct chanfail *out)
{
	const char *p;

	memset(out, 0, sizeof(*out));
	if (strncmp(msg, PREFIX, sizeof(PREFIX) - 1) != 0)
		return -1;
	p = msg + sizeof(PREFIX) - 1;
	if (*p == '\0')
		return 0;
	if (*p != ' ' || (p = parse_reason(p + 1, out)) == NULL) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (*p == '\0')
		return 0;
	if (p[0] != ':' || p[1] != ' ') {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	copy(out->text, sizeof(out->text), p + 2, strlen(p + 2));
	return 0;
}

void
chanfail_format(const struct chanfail *f, char *buf, size_t len)
{
	if (f->code == 0 && f->text[0] == '\0') {
		snprintf(buf, len, "open failed");
		return;
	}
	/* ssh's words for a code it has no name for. */
	snprintf(buf, len, "open failed: %s%s%s (code %u)",
	    f->reason[0] ? f->reason : "unknown reason", f->text[0] ? ": " : "", f->text, f->code);
}
