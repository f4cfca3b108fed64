/*
 * Allow-list entries: parsing HOST:PORT text and matching a requested host
 * and port against the list.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "permit.h"
#include "xmalloc.h"

/* "*" or 0-65535 in decimal; -2 if neither. */
static int
parse_port(const char *s)
{
	long v = 0;

	if (strcmp(s, "*") == 0)
		return -1;
	if (*s == '\0' || strlen(s) > 5)
		return -2;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -2;
		v = v * 10 + (*s - '0');
	}
	return v <= 65535 ? (int)v : -2;
}

static void
append(struct permit_list *l, struct permit p)
{
	l->entries = xrealloc(l->entries, (l->n + 1) * sizeof(*l->entries));
	l->entries[l->n++] = p;
	l->given = true;
}

int
permit_add(struct permit_list *l, const char *text, bool port_only, char *err, size_t errlen)
{
	char host[256];
	const char *colon, *h = text;
	size_t hlen;
	int port;

	if (strcasecmp(text, "none") == 0 || strcasecmp(text, "any") == 0) {
		l->given = true;
		if (strcasecmp(text, "any") == 0)
			append(l, (struct permit){NULL, false, -1});
		return 0;
	}
	if (port_only && strchr(text, ':') == NULL) {
		if ((port = parse_port(text)) == -2) {
			snprintf(err, errlen, "%s: expected [HOST:]PORT, port 0-65535 or *", text);
			return -1;
		}
		append(l, (struct permit){NULL, true, port});
		return 0;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "%s: expected [IPV6]:PORT", text);
			return -1;
		}
		h = text + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL) {
			snprintf(err, errlen, "%s: expected HOST:PORT (IPv6 in brackets)", text);
			return -1;
		}
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "%s: %s host", text, hlen == 0 ? "empty" : "overlong");
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if ((port = parse_port(colon + 1)) == -2) {
		snprintf(err, errlen, "%s: port must be 0-65535 or *", text);
		return -1;
	}
	append(l, (struct permit){strcmp(host, "*") == 0 ? NULL : xstrdup(host), false, port});
	return 0;
}

bool
permit_open_allows(const struct permit_list *l, const char *host, uint16_t port)
{
	return !l->given || permit_match(l, host, port);
}

bool
permit_match(const struct permit_list *l, const char *host, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct permit *p = &l->entries[i];
		bool host_ok = p->host != NULL ? strcasecmp(p->host, host) == 0
					       : !p->loopback || permit_is_loopback(host);
		if (host_ok && (p->port == -1 || p->port == port))
			return true;
	}
	return false;
}

void
permit_free(struct permit_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->entries[i].host);
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

bool
permit_is_loopback(const char *host)
{
	unsigned char a[16];

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char one[16] = {[15] = 1};
		static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
		return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
	}
	return false;
}
