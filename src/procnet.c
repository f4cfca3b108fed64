/*
 * /proc/net/tcp{,6} lines: whitespace-separated fields; the first is the
 * slot ("0:"), then local and remote "ADDR:PORT" in hex, the state in hex,
 * two queue and two timer fields, retransmits, uid and timeout in decimal,
 * the inode in decimal; anything after the inode is not needed.
 */
#include <stdio.h>
#include <string.h>

#include "procnet.h"

#define FIELDS 10 /* slot .. inode */
#define FIELD_MAX 64

/* The next field of line into out (NUL-terminated); false when there is none or it is too long. */
static bool
next_field(const char **p, const char *end, char *out)
{
	size_t n = 0;

	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*p < end && **p != ' ' && **p != '\t') {
		if (n + 1 >= FIELD_MAX)
			return false;
		out[n++] = *(*p)++;
	}
	out[n] = '\0';
	return n > 0;
}

/* Exactly ndigits hex digits (no sign, no prefix) into *v. */
static bool
hex(const char *s, size_t ndigits, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < ndigits; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		*v = *v << 4 | d;
	}
	return true;
}

static bool
decimal(const char *s, uint64_t max, uint64_t *v)
{
	*v = 0;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		uint64_t d = (uint64_t)(*s - '0');
		if (*v > (max - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

/* "ADDR:PORT": 8 (or 32) hex digits of 32-bit words, each in host order, then 4 of port. */
static bool
endpoint(const char *s, bool ipv6, uint8_t *addr, uint16_t *port)
{
	size_t words = ipv6 ? 4 : 1;
	uint64_t v;

	if (strlen(s) != words * 8 + 5 || s[words * 8] != ':')
		return false;
	memset(addr, 0, 16);
	for (size_t i = 0; i < words; i++) {
		if (!hex(s + i * 8, 8, &v))
			return false;
		uint32_t w = (uint32_t)v;
		memcpy(addr + i * 4, &w, 4);
	}
	if (!hex(s + words * 8 + 1, 4, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

int
procnet_parse(
    const char *line, size_t len, bool ipv6, struct procnet_entry *out, char *err, size_t errlen)
{
	const char *p = line, *end = line + len;
	char f[FIELDS][FIELD_MAX];
	uint64_t v;
	int n = 0;

	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte");
		return -1;
	}
	while (n < FIELDS && next_field(&p, end, f[n]))
		n++;
	if (n > 0 && strcmp(f[0], "sl") == 0)
		return 0;
	if (n < FIELDS) {
		snprintf(err, errlen, "%d fields, want at least %d", n, FIELDS);
		return -1;
	}
	size_t sl = strlen(f[0]);
	if (sl < 2 || f[0][sl - 1] != ':' ||
	    (f[0][sl - 1] = '\0', !decimal(f[0], UINT32_MAX, &v))) {
		snprintf(err, errlen, "bad slot field");
		return -1;
	}
	if (!endpoint(f[1], ipv6, out->local, &out->local_port) ||
	    !endpoint(f[2], ipv6, out->remote, &out->remote_port)) {
		snprintf(err, errlen, "bad address (want %s:PORT in hex)",
		    ipv6 ? "32 digits" : "8 digits");
		return -1;
	}
	if (strlen(f[3]) != 2 || !hex(f[3], 2, &v)) {
		snprintf(err, errlen, "bad state field");
		return -1;
	}
	out->state = (unsigned)v;
	if (!decimal(f[7], UINT32_MAX, &v)) {
		snprintf(err, errlen, "bad uid field");
		return -1;
	}
	out->uid = (uint32_t)v;
	if (!decimal(f[9], UINT64_MAX, &out->inode)) {
		snprintf(err, errlen, "bad inode field");
		return -1;
	}
	return 1;
}
