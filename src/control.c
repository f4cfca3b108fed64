/*
 * Control request parsing, answer parsing and JSON string quoting. A
 * request is a verb, then for forward and cancel a flag (-L, -R, -D) and
 * the spec, which is the rest of the line and goes to spec_parse().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

struct word {
	const char *s;
	size_t len;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of line[*at..n), or a zero-length word at the end. */
static struct word
next_word(const char *line, size_t n, size_t *at)
{
	struct word w;
	size_t i = *at;

	while (i < n && is_blank(line[i]))
		i++;
	w.s = line + i;
	while (i < n && !is_blank(line[i]))
		i++;
	w.len = (size_t)(line + i - w.s);
	*at = i;
	return w;
}

static bool
word_is(struct word w, const char *s)
{
	return w.len == strlen(s) && memcmp(w.s, s, w.len) == 0;
}

/* forward|cancel FLAG SPEC: the flag names the kind, the rest of the line is the spec. */
static int
parse_forward(const char *line, size_t n, size_t at, struct control_request *req, const char **err)
{
	struct word flag = next_word(line, n, &at);
	enum fwd_kind kind;
	char text[CONTROL_LINE_MAX];
	char why[sizeof(req->why) - 40];

	if (word_is(flag, "-L"))
		kind = FWD_LOCAL;
	else if (word_is(flag, "-R"))
		kind = FWD_REMOTE;
	else if (word_is(flag, "-D"))
		kind = FWD_DYNAMIC;
	else {
		*err = flag.len == 0 ? "missing forward (-L, -R or -D)"
				     : "expected -L, -R or -D before the forward";
		return -1;
	}
	while (at < n && is_blank(line[at]))
		at++;
	while (n > at && is_blank(line[n - 1]))
		n--;
	memcpy(text, line + at, n - at);
	text[n - at] = '\0';
	if (spec_parse(kind, text, &req->spec, why, sizeof(why)) == -1) {
		snprintf(req->why, sizeof(req->why), "bad forward %.*s %.*s: %s", (int)flag.len,
		    flag.s, (int)(n - at > 64 ? 64 : n - at), text, why);
		*err = req->why;
		return -1;
	}
	return 0;
}

long
control_parse(const char *buf, size_t len, struct control_request *req, const char **err)
{
	const char *nl = memchr(buf, '\n', len < CONTROL_LINE_MAX ? len : CONTROL_LINE_MAX);
	size_t n, at = 0;

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
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t') {
			*err = "control character in request";
			return -1;
		}
	req->json = false;
	req->why[0] = '\0';
	struct word verb = next_word(buf, n, &at);
	if (word_is(verb, "forward") || word_is(verb, "cancel")) {
		req->verb = word_is(verb, "forward") ? CONTROL_FORWARD : CONTROL_CANCEL;
		return parse_forward(buf, n, at, req, err) == -1 ? -1 : (long)(nl - buf) + 1;
	}
	struct word arg = next_word(buf, n, &at);
	struct word extra = next_word(buf, n, &at);
	if (extra.len > 0) {
		*err = "too many words in request";
		return -1;
	}
	if (word_is(verb, "status") && (arg.len == 0 || word_is(arg, "json"))) {
		req->verb = CONTROL_STATUS;
		req->json = arg.len > 0;
		return (long)(nl - buf) + 1;
	}
	static const struct {
		const char *word;
		enum control_verb verb;
	} plain[] = {{"ping", CONTROL_PING}, {"check", CONTROL_CHECK}, {"exit", CONTROL_EXIT},
	    {"stop", CONTROL_STOP}};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && arg.len == 0; i++) {
		if (word_is(verb, plain[i].word)) {
			req->verb = plain[i].verb;
			return (long)(nl - buf) + 1;
		}
	}
	*err = verb.len == 0 ? "empty request" : "unknown request";
	return -1;
}

/* "key=N" among the words after "ok": N, or -1. */
static long long
reply_number(const char *line, size_t n, const char *key)
{
	size_t at = 0, klen = strlen(key);

	for (struct word w = next_word(line, n, &at); w.len > 0; w = next_word(line, n, &at)) {
		if (w.len <= klen + 1 || memcmp(w.s, key, klen) != 0 || w.s[klen] != '=')
			continue;
		long long v = 0;
		for (size_t i = klen + 1; i < w.len; i++) {
			if (w.s[i] < '0' || w.s[i] > '9' || v > 1000000000000LL)
				return -1;
			v = v * 10 + (w.s[i] - '0');
		}
		return v;
	}
	return -1;
}

int
control_reply_parse(const char *text, size_t len, struct control_reply *out)
{
	const char *nl = memchr(text, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - text) : len;

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	out->port = -1;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n >= 2 && memcmp(text, "ok", 2) == 0 && (n == 2 || is_blank(text[2]))) {
		size_t at = 2;
		out->ok = true;
		out->pid = reply_number(text + 2, n - 2, "pid");
		long long port = reply_number(text + 2, n - 2, "port");
		out->port = port >= 0 && port <= 65535 ? (int)port : -1;
		for (struct word w = next_word(text, n, &at); w.len > 0;
		     w = next_word(text, n, &at))
			if (word_is(w, "pending"))
				out->pending = true;
		return 0;
	}
	if (n >= 7 && memcmp(text, "error: ", 7) == 0) {
		snprintf(out->why, sizeof(out->why), "%.*s", (int)(n - 7), text + 7);
		return 0;
	}
	snprintf(
	    out->why, sizeof(out->why), "unexpected answer '%.*s'", (int)(n > 60 ? 60 : n), text);
	return -1;
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
