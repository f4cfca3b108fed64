/*
 * Control request parsing and JSON string quoting.
 */
#include <stdio.h>
#include <string.h>

#include "control.h"

long
control_parse(const char *buf, size_t len, struct control_request *req, const char **err)
{
	const char *nl = memchr(buf, '\n', len < CONTROL_LINE_MAX ? len : CONTROL_LINE_MAX);
	size_t n, words = 0;
	const char *word[3];
	size_t wlen[3];

	if (nl == NULL) {
		if (len >= CONTROL_LINE_MAX) {
			*err = "request line too long";
			return -1;
		}
		return 0;
	}
	n = (size_t)(nl - buf);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 && buf[i] != ' ' && buf[i] != '\t') {
			*err = "control character in request";
			return -1;
		}
	for (size_t i = 0; i < n;) {
		while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i == n)
			break;
		size_t start = i;
		while (i < n && buf[i] != ' ' && buf[i] != '\t')
			i++;
		if (words == 3) {
			*err = "too many words in request";
			return -1;
		}
		word[words] = buf + start;
		wlen[words++] = i - start;
	}
#define IS(k, s) (wlen[k] == sizeof(s) - 1 && memcmp(word[k], s, sizeof(s) - 1) == 0)
	req->json = false;
	if (words == 1 && IS(0, "ping")) {
		req->verb = CONTROL_PING;
	} else if (words == 1 && IS(0, "status")) {
		req->verb = CONTROL_STATUS;
	} else if (words == 2 && IS(0, "status") && IS(1, "json")) {
		req->verb = CONTROL_STATUS;
		req->json = true;
	} else {
		*err = words == 0 ? "empty request" : "unknown request";
		return -1;
	}
#undef IS
	return (long)(nl - buf) + 1;
}

void
control_json_string(char *out, size_t outlen, const char *s)
{
	size_t used = strlen(out);

#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (used + 1 < outlen)                                                             \
			out[used++] = (c);                                                         \
	} while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT((char)*p);
		} else if (*p < 0x20) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			for (char *e = esc; *e != '\0'; e++)
				PUT(*e);
		} else {
			PUT((char)*p);
		}
	}
	PUT('"');
#undef PUT
	if (outlen > 0)
		out[used < outlen ? used : outlen - 1] = '\0';
}
