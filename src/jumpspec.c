/*
 * Jump host lists. Each comma-separated item is split at the last '@'
 * (user names may hold '@', host names may not) and then at a ':' outside
 * brackets; host names may not be empty or contain spaces, '/' or ','.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jumpspec.h"
#include "xmalloc.h"

void
jumpspec_free(struct jumpspec *j)
{
	if (j == NULL)
		return;
	for (int i = 0; i < j->n; i++) {
		free(j->hops[i].user);
		free(j->hops[i].host);
	}
	memset(j, 0, sizeof(*j));
}

static int
parse_port(const char *s, size_t len)
{
	int port = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

static bool
host_ok(const char *h, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c <= ' ' || c == '/' || c == ',' || c == '@' || c == '[' || c == ']' ||
		    c >= 0x7f)
			return false;
	}
	return true;
}

/* One "[user@]host[:port]" of len bytes at s. */
static int
parse_hop(const char *s, size_t len, struct jump_hop *h)
{
	const char *at = NULL, *host, *end = s + len, *colon = NULL;

	for (const char *p = s; p < end; p++)
		if (*p == '@')
			at = p;
	host = at != NULL ? at + 1 : s;
	if (at != NULL && at == s)
		return -1;
	const char *hend = end;
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (close == NULL || close == host + 1)
			return -1;
		if (close + 1 < end && close[1] != ':')
			return -1;
		colon = close + 1 < end ? close + 1 : NULL;
		hend = close;
		host++;
		if (memchr(host, ':', (size_t)(hend - host)) == NULL)
			return -1; /* brackets are for IPv6 literals */
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (colon != NULL)
			hend = colon;
		if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL)
			return -1;
	}
	bool v6 = hend > host && memchr(host, ':', (size_t)(hend - host)) != NULL;
	if (!v6 && !host_ok(host, (size_t)(hend - host)))
		return -1;
	if (v6) {
		for (const char *p = host; p < hend; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
				(*p >= 'A' && *p <= 'Z') || *p == ':' || *p == '.' || *p == '%'))
				return -1; /* hex, dots, and a %zone */
	}
	h->port = -1;
	if (colon != NULL && (h->port = parse_port(colon + 1, (size_t)(end - colon - 1))) == -1)
		return -1;
	h->host = xstrndup(host, (size_t)(hend - host));
	h->user = at != NULL ? xstrndup(s, (size_t)(at - s)) : NULL;
	return 0;
}

int
jumpspec_parse(const char *text, struct jumpspec *out, char *err, size_t errlen)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	if (strcmp(text, "none") == 0) {
		out->none = true;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		if (out->n == JUMPSPEC_MAX_HOPS) {
			snprintf(err, errlen, "more than %d jump hosts in '%s'", JUMPSPEC_MAX_HOPS,
			    text);
			jumpspec_free(out);
			return -1;
		}
		if (parse_hop(p, len, &out->hops[out->n]) == -1) {
			snprintf(err, errlen, "bad jump host '%.*s' (expected [user@]host[:port])",
			    (int)len, p);
			jumpspec_free(out);
			return -1;
		}
		out->n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return 0;
}

void
jumpspec_format_hop(const struct jump_hop *h, char *out, size_t outlen)
{
	bool v6 = strchr(h->host, ':') != NULL;
	char port[16] = "";

	if (h->port > 0)
		snprintf(port, sizeof(port), ":%d", h->port);
	snprintf(out, outlen, "%s%s%s%s%s%s", h->user ? h->user : "", h->user ? "@" : "",
	    v6 && h->port > 0 ? "[" : "", h->host, v6 && h->port > 0 ? "]" : "", port);
}
