/*
 * Forward specifications (-L, -R, -D) parsed into a struct fwd_spec. The text
 * is split on ':' into fields, a field in brackets keeping its colons; a
 * "/proto" suffix is taken off the last field; then the fields are checked
 * left to right, so the first problem in the text is the one reported.
 * Nothing is allocated and the input is only read, never past its NUL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spec.h"

/* More than any valid spec or any IPv6 address written without brackets needs. */
#define SPEC_FIELDS_MAX 16

/* Why -R /path:... cannot be: libssh2 has no streamlocal-forward (see porthole(1), UNIX SOCKETS).
 */
#define NO_REMOTE_PATH                                                                             \
	"a Unix socket on the server (-R path:...) is not supported: libssh2 cannot ask for "      \
	"streamlocal-forward@openssh.com"

/* Longest piece of the input quoted back in an error message. */
#define SPEC_QUOTE_MAX 32

struct field {
	const char *s; /* into the caller's text; without the brackets */
	size_t len;
	bool bracketed;
	bool path; /* holds a '/' (after any protocol suffix is taken off): a Unix socket */
};

struct fields {
	struct field f[SPEC_FIELDS_MAX];
	size_t n; /* may exceed SPEC_FIELDS_MAX: only the first ones are stored */
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copies a piece of the input for an error message: bounded, control bytes shown as '?'. */
static void
quote(char *dst, const char *s, size_t len)
{
	size_t n = len < SPEC_QUOTE_MAX ? len : SPEC_QUOTE_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

static bool
span_eq_nocase(const char *s, size_t len, const char *lower)
{
	if (strlen(lower) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != lower[i])
			return false;
	}
	return true;
}

static bool
is_digits(const struct field *f)
{
	if (f->bracketed || f->len == 0)
		return false;
	for (size_t i = 0; i < f->len; i++)
		if (f->s[i] < '0' || f->s[i] > '9')
			return false;
	return true;
}

/*
 * Splits text on ':'. A field may be a whole "[...]", which must then be
 * followed by ':' or the end; a '[' or ']' anywhere else is an error.
 */
static int
split_fields(const char *text, struct fields *fs, char *err, size_t errlen)
{
	const char *p = text;

	fs->n = 0;
	for (;;) {
		struct field fld = {p, 0, false};

		if (*p == '[') {
			const char *close = strchr(p + 1, ']');
			if (close == NULL)
				return fail(err, errlen, "unbalanced brackets");
			fld.s = p + 1;
			fld.len = (size_t)(close - fld.s);
			fld.bracketed = true;
			if (memchr(fld.s, '[', fld.len) != NULL)
				return fail(err, errlen, "unbalanced brackets");
			p = close + 1;
			if (*p != ':' && *p != '\0')
				return fail(err, errlen, "unbalanced brackets");
		} else {
			fld.len = strcspn(p, ":[]");
			p += fld.len;
			if (*p == '[' || *p == ']')
				return fail(err, errlen, "unbalanced brackets");
		}
		if (fs->n < SPEC_FIELDS_MAX)
			fs->f[fs->n] = fld;
		fs->n++;
		if (*p == '\0')
			return 0;
		p++;
	}
}

/*
 * Marks the fields that are Unix socket paths (any with a '/', as in ssh,
 * brackets or not) and takes "/udp" or "/tcp" off the last field: a suffix
 * after a port that is not a path, so "80/xyz" is an unknown protocol,
 * "http/udp" a bad port, but "run/x.sock" and "/udp" are paths.
 */
static int
split_protocol(struct fields *fs, struct fwd_spec *spec, char *err, size_t errlen)
{
	struct field *last = &fs->f[fs->n - 1];
	const char *slash, *proto;
	size_t proto_len;
	struct field port;
	bool udp, tcp;
	char q[SPEC_QUOTE_MAX + 4];

	for (size_t i = 0; i < fs->n; i++)
		fs->f[i].path = memchr(fs->f[i].s, '/', fs->f[i].len) != NULL;
	slash = last->bracketed ? NULL : memchr(last->s, '/', last->len);
	if (slash == NULL)
		return 0;
	proto = slash + 1;
	proto_len = last->len - (size_t)(proto - last->s);
	port = (struct field){last->s, (size_t)(slash - last->s), false, false};
	udp = span_eq_nocase(proto, proto_len, "udp");
	tcp = span_eq_nocase(proto, proto_len, "tcp");
	if (port.len == 0 || memchr(proto, '/', proto_len) != NULL ||
	    (!udp && !tcp && !is_digits(&port)))
		return 0;
	if (!udp && !tcp) {
		quote(q, proto, proto_len);
		return fail(err, errlen, "unknown protocol '%s' (tcp or udp)", q);
	}
	last->len = port.len;
	last->path = false;
	spec->udp = udp;
	return 0;
}

/* Copies a Unix socket path to dst (SPEC_PATH_MAX + 1 bytes). */
static int
parse_path(const struct field *f, char *dst, char *err, size_t errlen)
{
	if (f->len > SPEC_PATH_MAX)
		return fail(
		    err, errlen, "Unix socket path too long (at most %d bytes)", SPEC_PATH_MAX);
	for (size_t i = 0; i < f->len; i++) {
		unsigned char c = (unsigned char)f->s[i];
		if (c < 0x20 || c == 0x7f)
			return fail(err, errlen, "bad character in Unix socket path");
	}
	memcpy(dst, f->s, f->len);
	dst[f->len] = '\0';
	return 0;
}

static bool
is_hex_group(const struct field *f, bool *has_letter)
{
	if (f->bracketed || f->len > 4)
		return false;
	for (size_t i = 0; i < f->len; i++) {
		char c = f->s[i];
		if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			*has_letter = true;
		else if (c < '0' || c > '9')
			return false;
	}
	return true;
}

/*
 * Called when there are too many fields: true if three or more of them in a
 * row read as IPv6 groups, with a hex letter or an empty group ("::") among
 * them, so that "1:2:3:4:5" is still just malformed. More than three empty
 * groups in a row is no address either ("::" alone makes three).
 */
static bool
looks_like_bare_ipv6(const struct fields *fs)
{
	size_t n = fs->n < SPEC_FIELDS_MAX ? fs->n : SPEC_FIELDS_MAX;
	size_t run = 0, empties = 0;
	bool hint = false, bad = false;

	for (size_t i = 0; i <= n; i++) {
		bool letter = false;
		if (i < n && is_hex_group(&fs->f[i], &letter)) {
			run++;
			empties = fs->f[i].len == 0 ? empties + 1 : 0;
			hint = hint || letter || empties > 0;
			bad = bad || empties > 3;
			continue;
		}
		if (run >= 3 && hint && !bad)
			return true;
		run = empties = 0;
		hint = bad = false;
	}
	return false;
}

static int
parse_port(const struct field *f, unsigned min, uint16_t *port, char *err, size_t errlen)
{
	char q[SPEC_QUOTE_MAX + 4];
	unsigned long value = 0;

	if (f->bracketed) {
		quote(q, f->s - 1, f->len + 2);
		return fail(err, errlen, "bad port '%s'", q);
	}
	if (f->len == 0)
		return fail(err, errlen, "missing port");
	for (size_t i = 0; i < f->len; i++) {
		if (f->s[i] < '0' || f->s[i] > '9') {
			quote(q, f->s, f->len);
			return fail(err, errlen, "bad port '%s'", q);
		}
		if (value <= 65535)
			value = value * 10 + (unsigned long)(f->s[i] - '0');
	}
	if (value < min || value > 65535)
		return fail(err, errlen, "port out of range (%u-65535)", min);
	*port = (uint16_t)value;
	return 0;
}

/*
 * Checks a host name or bind address and copies it, without brackets, to dst
 * (SPEC_HOST_MAX + 1 bytes). A bind address may be empty; a target may not.
 */
static int
parse_host(const struct field *f, bool bind, char *dst, char *err, size_t errlen)
{
	const char *what = bind ? "bind address" : "host name";

	if (f->len == 0 && !bind)
		return fail(err, errlen, "missing host");
	if (f->len > SPEC_HOST_MAX)
		return fail(err, errlen, "%s too long", what);
	for (size_t i = 0; i < f->len; i++) {
		unsigned char c = (unsigned char)f->s[i];
		if (c <= ' ' || c == 0x7f || c == '/')
			return fail(err, errlen, "bad character in %s", what);
	}
	memcpy(dst, f->s, f->len);
	dst[f->len] = '\0';
	return 0;
}

/* Reports a field count that fits no form of this kind. */
static int
fail_shape(enum fwd_kind kind, const struct fields *fs, char *err, size_t errlen)
{
	size_t max = kind == FWD_DYNAMIC ? 2 : 4;

	if (fs->n > max && looks_like_bare_ipv6(fs))
		return fail(err, errlen, "IPv6 address must be in brackets");
	if (kind == FWD_REMOTE && fs->n > 0 && fs->n <= 2 && is_digits(&fs->f[fs->n - 1]))
		return fail(err, errlen, "remote dynamic forwarding (-R port) is not supported");
	if (kind == FWD_DYNAMIC)
		return fail(err, errlen, "expected [bind_address:]port");
	return fail(err, errlen, "expected [bind_address:]port:host:hostport");
}

/*
 * The forms with a Unix socket, as ssh reads them: /listen:/connect,
 * [bind:]port:/connect and /listen:host:hostport. Returns 1
 * if the fields are one of them (parsed into spec), 0 if they hold no path,
 * -1 on error.
 */
static int
parse_unix_forms(
    enum fwd_kind kind, const struct fields *fs, struct fwd_spec *spec, char *err, size_t errlen)
{
	const struct field *f = fs->f;
	bool any = false;
	size_t n = fs->n;

	for (size_t i = 0; i < n && i < SPEC_FIELDS_MAX; i++)
		any = any || f[i].path;
	if (!any)
		return 0;
	if (kind == FWD_DYNAMIC)
		return fail(
		    err, errlen, "a SOCKS proxy on a Unix socket (-D path) is not supported");
	if (spec->udp)
		return fail(err, errlen, "udp cannot be forwarded to or from a Unix socket");
	bool listen = (n == 2 && f[0].path && f[1].path) || (n == 3 && f[0].path && !f[2].path);
	bool connect = (n == 2 && f[1].path) || (n == 3 && f[2].path && !f[0].path && !f[1].path);
	if (!listen && !connect)
		return 0; /* a '/' where no path goes: the field's own check says so */
	if (listen && kind == FWD_REMOTE)
		return fail(err, errlen, "%s", NO_REMOTE_PATH);
	if (listen && parse_path(&f[0], spec->listen_path, err, errlen) == -1)
		return -1;
	if (listen && n == 3) {
		if (parse_host(&f[1], false, spec->host, err, errlen) == -1 ||
		    parse_port(&f[2], 1, &spec->host_port, err, errlen) == -1)
			return -1;
		return 1;
	}
	if (!listen) {
		size_t i = 0;
		if (n == 3) {
			spec->has_bind = true;
			if (parse_host(&f[i++], true, spec->bind_host, err, errlen) == -1)
				return -1;
		}
		if (parse_port(&f[i], kind == FWD_REMOTE ? 0 : 1, &spec->bind_port, err, errlen) ==
		    -1)
			return -1;
	}
	if (parse_path(&f[n - 1], spec->connect_path, err, errlen) == -1)
		return -1;
	return 1;
}

int
spec_parse(enum fwd_kind kind, const char *text, struct fwd_spec *out, char *err, size_t errlen)
{
	struct fields fs;
	struct fwd_spec spec;
	size_t min = kind == FWD_DYNAMIC ? 1 : 3, max = kind == FWD_DYNAMIC ? 2 : 4, i = 0;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (kind != FWD_LOCAL && kind != FWD_REMOTE && kind != FWD_DYNAMIC)
		return fail(err, errlen, "unknown forward kind");
	memset(&spec, 0, sizeof(spec));
	spec.kind = kind;
	if (text == NULL || *text == '\0') {
		fs.n = 0;
		return fail_shape(kind, &fs, err, errlen);
	}
	if (split_fields(text, &fs, err, errlen) == -1)
		return -1;
	if (fs.n > SPEC_FIELDS_MAX)
		return fail_shape(kind, &fs, err, errlen);
	if (split_protocol(&fs, &spec, err, errlen) == -1)
		return -1;
	if ((rc = parse_unix_forms(kind, &fs, &spec, err, errlen)) == -1)
		return -1;
	if (rc == 1) {
		if (out != NULL)
			*out = spec;
		return 0;
	}
	if (fs.n < min || fs.n > max)
		return fail_shape(kind, &fs, err, errlen);
	if (kind == FWD_DYNAMIC && spec.udp)
		return fail(err, errlen, "udp is not supported for dynamic forwarding");

	if (fs.n == max) {
		spec.has_bind = true;
		if (parse_host(&fs.f[i++], true, spec.bind_host, err, errlen) == -1)
			return -1;
	}
	if (parse_port(&fs.f[i++], kind == FWD_REMOTE ? 0 : 1, &spec.bind_port, err, errlen) == -1)
		return -1;
	if (kind != FWD_DYNAMIC) {
		if (parse_host(&fs.f[i++], false, spec.host, err, errlen) == -1)
			return -1;
		if (parse_port(&fs.f[i], 1, &spec.host_port, err, errlen) == -1)
			return -1;
	}
	if (out != NULL)
		*out = spec;
	return 0;
}

/* Writes a host for display: brackets around IPv6, "*" for an empty bind address. */
static void
format_host(const char *host, char *dst, size_t len)
{
	size_t n = 0;

	while (n < SPEC_HOST_MAX && host[n] != '\0')
		n++;
	if (n == 0)
		snprintf(dst, len, "*");
	else if (memchr(host, ':', n) != NULL)
		snprintf(dst, len, "[%.*s]", (int)n, host);
	else
		snprintf(dst, len, "%.*s", (int)n, host);
}

/*
 * A path as written: in brackets when it holds a ':', or when it could read
 * as a port with a protocol ("80/udp", "000/", "http/tcp").
 */
static void
format_path(const char *path, char *dst, size_t len)
{
	const char *slash = strchr(path, '/');
	bool colon = strchr(path, ':') != NULL;

	if (slash != NULL && slash != path && strchr(slash + 1, '/') == NULL) {
		/* What split_protocol would take for PORT/PROTO. */
		struct field port = {path, (size_t)(slash - path), false, false};
		size_t n = strlen(slash + 1);
		colon = colon || is_digits(&port) || span_eq_nocase(slash + 1, n, "udp") ||
		    span_eq_nocase(slash + 1, n, "tcp");
	}

	snprintf(dst, len, "%s%s%s", colon ? "[" : "", path, colon ? "]" : "");
}

void
spec_format(const struct fwd_spec *spec, char *buf, size_t len)
{
	char bind[SPEC_HOST_MAX + 3], host[SPEC_HOST_MAX + 3];
	char from[SPEC_HOST_MAX + 16], to[SPEC_HOST_MAX + 32];

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	if (spec == NULL)
		return;
	/* Listeners with no bind_address are on loopback. */
	format_host(spec->has_bind ? spec->bind_host : "localhost", bind, sizeof(bind));
	format_host(spec->host, host, sizeof(host));
	if (spec->listen_path[0] != '\0')
		snprintf(from, sizeof(from), "%s", spec->listen_path);
	else
		snprintf(from, sizeof(from), "%s:%u", bind, (unsigned)spec->bind_port);
	if (spec->connect_path[0] != '\0')
		snprintf(to, sizeof(to), "%s", spec->connect_path);
	else
		snprintf(to, sizeof(to), "%s:%u%s", host, (unsigned)spec->host_port,
		    spec->udp ? " (udp)" : "");
	switch (spec->kind) {
	case FWD_LOCAL:
		snprintf(buf, len, "%s -> %s", from, to);
		break;
	case FWD_REMOTE:
		snprintf(buf, len, "remote %s -> %s", from, to);
		break;
	case FWD_DYNAMIC:
		snprintf(buf, len, "%s (socks)", from);
		break;
	}
}

bool
spec_bind_is_wildcard(const struct fwd_spec *spec)
{
	if (!spec->has_bind)
		return false;
	return spec->bind_host[0] == '\0' || strcmp(spec->bind_host, "*") == 0;
}

void
spec_listen_text(const struct fwd_spec *spec, char *buf, size_t len)
{
	bool b6 = strchr(spec->bind_host, ':') != NULL;

	if (len == 0)
		return;
	if (spec->listen_path[0] != '\0')
		format_path(spec->listen_path, buf, len);
	else if (spec->has_bind)
		snprintf(buf, len, "%s%s%s:%u", b6 ? "[" : "", spec->bind_host, b6 ? "]" : "",
		    spec->bind_port);
	else
		snprintf(buf, len, "%u", spec->bind_port);
}

void
spec_connect_text(const struct fwd_spec *spec, char *buf, size_t len)
{
	bool h6 = strchr(spec->host, ':') != NULL;

	if (len == 0)
		return;
	if (spec->connect_path[0] != '\0')
		format_path(spec->connect_path, buf, len);
	else if (spec->kind == FWD_DYNAMIC)
		buf[0] = '\0';
	else
		snprintf(buf, len, "%s%s%s:%u%s", h6 ? "[" : "", spec->host, h6 ? "]" : "",
		    spec->host_port, spec->udp ? "/udp" : "");
}

void
spec_name(const struct fwd_spec *spec, char *buf, size_t len)
{
	static const char *const flag[] = {
	    [FWD_LOCAL] = "-L", [FWD_REMOTE] = "-R", [FWD_DYNAMIC] = "-D"};
	char from[SPEC_HOST_MAX + 16], to[SPEC_HOST_MAX + 16];

	if (len == 0)
		return;
	spec_listen_text(spec, from, sizeof(from));
	spec_connect_text(spec, to, sizeof(to));
	snprintf(buf, len, "%s %s%s%s", flag[spec->kind], from, to[0] ? ":" : "", to);
}

/* The bind address as it decides where to listen: none written is "localhost", "*" is "". */
static const char *
bind_key(const struct fwd_spec *spec)
{
	if (!spec->has_bind)
		return "localhost";
	if (strcmp(spec->bind_host, "*") == 0)
		return "";
	return spec->bind_host;
}

static bool
same_nocase(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

bool
spec_same(const struct fwd_spec *a, const struct fwd_spec *b)
{
	return a->kind == b->kind && a->udp == b->udp && a->bind_port == b->bind_port &&
	    a->host_port == b->host_port && same_nocase(bind_key(a), bind_key(b)) &&
	    same_nocase(a->host, b->host) && strcmp(a->listen_path, b->listen_path) == 0 &&
	    strcmp(a->connect_path, b->connect_path) == 0;
}
