/*
 * Unit tests for spec.c: every accepted form of -L, -R and -D, every error
 * with its exact text, port and host-length boundaries, and the err and
 * format buffers at sizes too small for their text.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "spec.h"

static struct fwd_spec s;
static char err[256];
static char fmt[512];

static int
parse(enum fwd_kind kind, const char *text)
{
	memset(&s, 0, sizeof(s));
	memset(err, 'Z', sizeof(err));
	return spec_parse(kind, text, &s, err, sizeof(err));
}

static const char *
format(void)
{
	spec_format(&s, fmt, sizeof(fmt));
	return fmt;
}

/* Parses text and checks the formatted result; on failure the reason is shown. */
#define CHECK_OK(kind, text, formatted)                                                            \
	do {                                                                                       \
		CHECK_STR(parse(kind, text) == 0 ? "" : err, "");                                  \
		CHECK_STR(format(), formatted);                                                    \
	} while (0)

#define CHECK_ERR(kind, text, reason)                                                              \
	do {                                                                                       \
		CHECK_INT(parse(kind, text), -1);                                                  \
		CHECK_STR(err, reason);                                                            \
	} while (0)

static const char *usage_fwd = "expected [bind_address:]port:host:hostport";
static const char *usage_dyn = "expected [bind_address:]port";

static void
test_local(void)
{
	CHECK_OK(FWD_LOCAL, "8080:intranet:80", "localhost:8080 -> intranet:80");
	CHECK_INT(s.kind, FWD_LOCAL);
	CHECK(!s.has_bind);
	CHECK_STR(s.bind_host, "");
	CHECK(!spec_bind_is_wildcard(&s));
	CHECK_INT(s.bind_port, 8080);
	CHECK_STR(s.host, "intranet");
	CHECK_INT(s.host_port, 80);
	CHECK(!s.udp);

	CHECK_OK(FWD_LOCAL, "127.0.0.1:8080:intranet:80", "127.0.0.1:8080 -> intranet:80");
	CHECK(s.has_bind);
	CHECK_STR(s.bind_host, "127.0.0.1");
	CHECK(!spec_bind_is_wildcard(&s));

	CHECK_OK(FWD_LOCAL, "localhost:1:h:65535", "localhost:1 -> h:65535");
	CHECK_INT(s.bind_port, 1);
	CHECK_INT(s.host_port, 65535);
	CHECK_OK(FWD_LOCAL, "65535:h:1", "localhost:65535 -> h:1");
	CHECK_OK(FWD_LOCAL, "080:h:0000080", "localhost:80 -> h:80");
	CHECK_OK(FWD_LOCAL, "8080:10.0.0.1:80", "localhost:8080 -> 10.0.0.1:80");
	CHECK_OK(FWD_LOCAL, "8080:*:80", "localhost:8080 -> *:80");
}

static void
test_wildcard(void)
{
	CHECK_OK(FWD_LOCAL, ":8080:h:80", "*:8080 -> h:80");
	CHECK(s.has_bind);
	CHECK_STR(s.bind_host, "");
	CHECK(spec_bind_is_wildcard(&s));

	CHECK_OK(FWD_LOCAL, "*:8080:h:80", "*:8080 -> h:80");
	CHECK(s.has_bind);
	CHECK_STR(s.bind_host, "*");
	CHECK(spec_bind_is_wildcard(&s));

	CHECK_OK(FWD_LOCAL, "[]:8080:h:80", "*:8080 -> h:80");
	CHECK(spec_bind_is_wildcard(&s));
	CHECK_OK(FWD_DYNAMIC, ":1080", "*:1080 (socks)");
	CHECK(spec_bind_is_wildcard(&s));
	CHECK_OK(FWD_REMOTE, "*:0:localhost:22", "remote *:0 -> localhost:22");
	CHECK(spec_bind_is_wildcard(&s));

	/* 0.0.0.0 and :: are addresses the caller resolves, not spellings of "all". */
	CHECK_OK(FWD_DYNAMIC, "0.0.0.0:1080", "0.0.0.0:1080 (socks)");
	CHECK(!spec_bind_is_wildcard(&s));
}

static void
test_ipv6(void)
{
	CHECK_OK(FWD_LOCAL, "[::1]:8080:[fe80::1]:80", "[::1]:8080 -> [fe80::1]:80");
	CHECK_STR(s.bind_host, "::1");
	CHECK_STR(s.host, "fe80::1");
	CHECK_INT(s.bind_port, 8080);
	CHECK_INT(s.host_port, 80);

	CHECK_OK(FWD_LOCAL, "8443:[2001:db8::1]:443", "localhost:8443 -> [2001:db8::1]:443");
	CHECK(!s.has_bind);
	CHECK_OK(FWD_LOCAL, "[fe80::1%eth0]:8080:h:80", "[fe80::1%eth0]:8080 -> h:80");
	CHECK_OK(FWD_LOCAL, "[::ffff:10.0.0.1]:1:h:2", "[::ffff:10.0.0.1]:1 -> h:2");
	CHECK_OK(FWD_REMOTE, "[::]:2222:[::1]:22/udp", "remote [::]:2222 -> [::1]:22 (udp)");
	CHECK_OK(FWD_DYNAMIC, "[::1]:1080", "[::1]:1080 (socks)");
	CHECK_STR(s.bind_host, "::1");
	/* Brackets are allowed around any name and do not show when not needed. */
	CHECK_OK(FWD_LOCAL, "[localhost]:8080:[intranet]:80", "localhost:8080 -> intranet:80");

	CHECK_ERR(FWD_LOCAL, "::1:8080:h:80", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_LOCAL, "8080:fe80::1:80", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_LOCAL, "8080:2001:db8:0:0:0:0:0:1:80", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_LOCAL, "8080:[::1]:::1:80", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_REMOTE, "8080:::1:22", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_DYNAMIC, "::1", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_DYNAMIC, "::1:1080", "IPv6 address must be in brackets");
	CHECK_ERR(FWD_DYNAMIC, "fe80::1:1080", "IPv6 address must be in brackets");
	/* Too many plain numbers is just malformed. */
	CHECK_ERR(FWD_LOCAL, "1:2:3:4:5", usage_fwd);
}

static void
test_brackets(void)
{
	CHECK_ERR(FWD_LOCAL, "[::1:8080:h:80", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "::1]:8080:h:80", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "[::1]8080:h:80", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "8080:h[x]:80", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "8080:[fe80::1:80", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "[[::1]]:8080:h:80", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "8080:h:[80]/udp", "unbalanced brackets");
	CHECK_ERR(FWD_LOCAL, "8080:h:80]", "unbalanced brackets");
	CHECK_ERR(FWD_DYNAMIC, "[", "unbalanced brackets");
	CHECK_ERR(FWD_DYNAMIC, "]", "unbalanced brackets");
	/* Brackets around a port are well formed but no port. */
	CHECK_ERR(FWD_DYNAMIC, "[::1]", "bad port '[::1]'");
	CHECK_ERR(FWD_LOCAL, "[8080]:h:80", "bad port '[8080]'");
}

static void
test_remote(void)
{
	CHECK_OK(FWD_REMOTE, "0:localhost:22", "remote localhost:0 -> localhost:22");
	CHECK_INT(s.kind, FWD_REMOTE);
	CHECK_INT(s.bind_port, 0);
	CHECK_OK(FWD_REMOTE, "2222:localhost:22", "remote localhost:2222 -> localhost:22");
	CHECK_OK(FWD_REMOTE, "0.0.0.0:65535:db:5432", "remote 0.0.0.0:65535 -> db:5432");
	CHECK_OK(FWD_REMOTE, "5353:dns:53/udp", "remote localhost:5353 -> dns:53 (udp)");

	CHECK_ERR(FWD_REMOTE, "65536:h:22", "port out of range (0-65535)");
	CHECK_ERR(FWD_REMOTE, "99999:h:22", "port out of range (0-65535)");
	CHECK_ERR(FWD_REMOTE, "2222:h:0", "port out of range (1-65535)");

	CHECK_ERR(FWD_REMOTE, "1080", "remote dynamic forwarding (-R port) is not supported");
	CHECK_ERR(FWD_REMOTE, "0", "remote dynamic forwarding (-R port) is not supported");
	CHECK_ERR(FWD_REMOTE, "*:1080", "remote dynamic forwarding (-R port) is not supported");
	CHECK_ERR(FWD_REMOTE, "[::1]:1080", "remote dynamic forwarding (-R port) is not supported");
	CHECK_ERR(FWD_REMOTE, "1080/udp", "remote dynamic forwarding (-R port) is not supported");
	CHECK_ERR(FWD_REMOTE, "2222:h", usage_fwd);
	CHECK_ERR(FWD_REMOTE, "", usage_fwd);
}

static void
test_dynamic(void)
{
	CHECK_OK(FWD_DYNAMIC, "1080", "localhost:1080 (socks)");
	CHECK_INT(s.kind, FWD_DYNAMIC);
	CHECK(!s.has_bind);
	CHECK_INT(s.bind_port, 1080);
	CHECK_STR(s.host, "");
	CHECK_INT(s.host_port, 0);
	CHECK_OK(FWD_DYNAMIC, "127.0.0.1:1080", "127.0.0.1:1080 (socks)");
	CHECK_OK(FWD_DYNAMIC, "*:1080", "*:1080 (socks)");
	CHECK_OK(FWD_DYNAMIC, "1080/tcp", "localhost:1080 (socks)");

	CHECK_ERR(FWD_DYNAMIC, "1080/udp", "udp is not supported for dynamic forwarding");
	CHECK_ERR(FWD_DYNAMIC, "0", "port out of range (1-65535)");
	CHECK_ERR(FWD_DYNAMIC, "65536", "port out of range (1-65535)");
	CHECK_ERR(FWD_DYNAMIC, "", usage_dyn);
	CHECK_ERR(FWD_DYNAMIC, "h:1080:x", usage_dyn);
	CHECK_ERR(FWD_DYNAMIC, "1080:h:80", usage_dyn);
	CHECK_ERR(FWD_DYNAMIC, "socks", "bad port 'socks'");
	CHECK_ERR(FWD_DYNAMIC, "localhost:", "missing port");
}

static void
test_protocol(void)
{
	CHECK_OK(FWD_LOCAL, "5353:dns:53/udp", "localhost:5353 -> dns:53 (udp)");
	CHECK(s.udp);
	CHECK_OK(FWD_LOCAL, "5353:dns:53/UDP", "localhost:5353 -> dns:53 (udp)");
	CHECK_OK(FWD_LOCAL, "8080:h:80/tcp", "localhost:8080 -> h:80");
	CHECK(!s.udp);
	CHECK_ERR(FWD_LOCAL, "8080:h:80/xyz", "unknown protocol 'xyz' (tcp or udp)");
	CHECK_ERR(FWD_LOCAL, "8080:h:80/", "unknown protocol '' (tcp or udp)");
	CHECK_ERR(FWD_LOCAL, "8080:h:80/udp ", "unknown protocol 'udp ' (tcp or udp)");
	CHECK_ERR(FWD_LOCAL, "8080:h:/udp", "bad port 'h'"); /* "/udp" is a path */
	/* A known suffix after a bad port: the port is what is wrong. */
	CHECK_ERR(FWD_LOCAL, "8080:h:http/udp", "bad port 'http'");
}

static bool same(enum fwd_kind ka, const char *a, enum fwd_kind kb, const char *b);

static void
test_unix(void)
{
	const char *remote = "a Unix socket on the server (-R path:...) is not supported: libssh2 "
			     "cannot ask for streamlocal-forward@openssh.com";
	struct fwd_spec sp;
	char name[600];

	/* ssh's forms: a field with a '/' is a path. */
	CHECK_OK(FWD_LOCAL, "8080:/tmp/sock", "localhost:8080 -> /tmp/sock");
	CHECK_OK(FWD_LOCAL, "/tmp/l.sock:h:80", "/tmp/l.sock -> h:80");
	CHECK_OK(FWD_LOCAL, "/tmp/l.sock:/tmp/r.sock", "/tmp/l.sock -> /tmp/r.sock");
	CHECK_OK(FWD_LOCAL, "127.0.0.1:8080:/tmp/sock", "127.0.0.1:8080 -> /tmp/sock");
	CHECK_OK(FWD_LOCAL, "8080:run/x.sock", "localhost:8080 -> run/x.sock");
	CHECK_OK(FWD_LOCAL, "./l.sock:h:80/tcp", "./l.sock -> h:80");
	CHECK_OK(FWD_REMOTE, "8080:run/x.sock", "remote localhost:8080 -> run/x.sock");
	CHECK_OK(FWD_REMOTE, "0:/run/x.sock", "remote localhost:0 -> /run/x.sock");
	/* As in ssh, brackets hold paths with ':' in them too. */
	CHECK_OK(FWD_LOCAL, "8080:[/tmp/a:b]", "localhost:8080 -> /tmp/a:b");
	CHECK_OK(FWD_LOCAL, "[/tmp/a:b]:[/tmp/c]", "/tmp/a:b -> /tmp/c");
	CHECK_INT(parse(FWD_LOCAL, "/l.sock:[::1]:80"), 0);
	CHECK_STR(s.listen_path, "/l.sock");
	CHECK_STR(s.host, "::1");
	CHECK_INT(s.host_port, 80);
	CHECK_INT(s.bind_port, 0);
	CHECK_STR(s.connect_path, "");

	/* What cannot be done, and why. */
	CHECK_ERR(FWD_REMOTE, "/tmp/r.sock:localhost:22", remote);
	CHECK_ERR(FWD_REMOTE, "/tmp/r.sock:/tmp/l.sock", remote);
	CHECK_ERR(
	    FWD_DYNAMIC, "/tmp/socks", "a SOCKS proxy on a Unix socket (-D path) is not supported");
	CHECK_OK(FWD_LOCAL, "8080:/tmp/sock/udp", "localhost:8080 -> /tmp/sock/udp"); /* a path */
	CHECK_ERR(
	    FWD_LOCAL, "/tmp/l.sock:h:53/udp", "udp cannot be forwarded to or from a Unix socket");
	/* A '/' where no path goes is what the field's own check finds. */
	CHECK_ERR(FWD_LOCAL, "8080:h:/udp", "bad port 'h'");
	CHECK_ERR(FWD_LOCAL, "8080:h:80/udp/x", "bad port 'h'");
	CHECK_ERR(FWD_LOCAL, "8080:h:run/x.sock", "bad port 'h'");
	CHECK_ERR(FWD_LOCAL, "8080:[a/b]:80", "bad character in host name");
	CHECK_ERR(FWD_LOCAL, "8080:h:[/x]", "bad port 'h'");
	CHECK_ERR(FWD_LOCAL, "/a:h:/b", "bad port '/a'");
	CHECK_ERR(FWD_LOCAL, "a/b:8080:h:80", "bad character in bind address");
	CHECK_ERR(FWD_LOCAL, "/tmp/l.sock", "expected [bind_address:]port:host:hostport");
	CHECK_ERR(FWD_LOCAL, "8080:/tmp/x\001", "bad character in Unix socket path");

	/* The longest path a sockaddr_un takes, and one byte more. */
	char path[SPEC_PATH_MAX + 16], text[SPEC_PATH_MAX + 32], why[64];
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[SPEC_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "8080:%s", path);
	CHECK_INT(parse(FWD_LOCAL, text), 0);
	CHECK_INT(strlen(s.connect_path), SPEC_PATH_MAX);
	path[SPEC_PATH_MAX] = 'p';
	path[SPEC_PATH_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "8080:%s", path);
	snprintf(why, sizeof(why), "Unix socket path too long (at most %d bytes)", SPEC_PATH_MAX);
	CHECK_ERR(FWD_LOCAL, text, why);

	/* Names as the user writes them, and -O cancel finds them by. */
	CHECK_INT(spec_parse(FWD_LOCAL, "[/tmp/a:b]:db:5432", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-L [/tmp/a:b]:db:5432");
	CHECK_INT(spec_parse(FWD_REMOTE, "0:/run/x.sock", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-R 0:/run/x.sock");
	/* A relative path that could read as a port and protocol goes in brackets. */
	CHECK_INT(spec_parse(FWD_LOCAL, "80:[80/udp]", &sp, err, sizeof(err)), 0);
	CHECK_STR(sp.connect_path, "80/udp");
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-L 80:[80/udp]");
	CHECK_INT(spec_parse(FWD_LOCAL, "80:[http/TCP]", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-L 80:[http/TCP]");
	CHECK_INT(spec_parse(FWD_LOCAL, "80:run/x.sock", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-L 80:run/x.sock");
	CHECK(same(FWD_LOCAL, "/a:/b", FWD_LOCAL, "[/a]:[/b]"));
	CHECK(!same(FWD_LOCAL, "/a:/b", FWD_LOCAL, "/a:/c"));
	CHECK(!same(FWD_LOCAL, "/a:h:1", FWD_LOCAL, "/b:h:1"));
	CHECK(!same(FWD_LOCAL, "1:/a", FWD_LOCAL, "1:h:1"));
}

static void
test_ports(void)
{
	const char *range = "port out of range (1-65535)";

	CHECK_ERR(FWD_LOCAL, "0:h:80", range);
	CHECK_ERR(FWD_LOCAL, "65536:h:80", range);
	CHECK_ERR(FWD_LOCAL, "99999:h:80", range);
	CHECK_ERR(FWD_LOCAL, "8080:h:0", range);
	CHECK_ERR(FWD_LOCAL, "8080:h:65536", range);
	CHECK_ERR(FWD_LOCAL, "8080:h:99999", range);
	CHECK_ERR(FWD_LOCAL, "99999999999999999999999999:h:80", range);
	CHECK_ERR(FWD_LOCAL, "8080:h:18446744073709551617", range);

	CHECK_ERR(FWD_LOCAL, "abc:h:80", "bad port 'abc'");
	CHECK_ERR(FWD_LOCAL, "8080:h:http", "bad port 'http'");
	CHECK_ERR(FWD_LOCAL, "+80:h:80", "bad port '+80'");
	CHECK_ERR(FWD_LOCAL, "-1:h:80", "bad port '-1'");
	CHECK_ERR(FWD_LOCAL, " 80:h:80", "bad port ' 80'");
	CHECK_ERR(FWD_LOCAL, "80 :h:80", "bad port '80 '");
	CHECK_ERR(FWD_LOCAL, "0x50:h:80", "bad port '0x50'");
	CHECK_ERR(FWD_LOCAL, "8080:h:8\x01", "bad port '8?'");
	CHECK_ERR(FWD_LOCAL, "8080:h:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "bad port 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
	CHECK_ERR(FWD_LOCAL, "8080:h:", "missing port");
	CHECK_ERR(FWD_LOCAL, "h::h:80", "missing port");
}

static void
test_hosts(void)
{
	char name[300], text[400];

	memset(name, 'a', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text), "8080:%s:80", name);
	CHECK_INT(parse(FWD_LOCAL, text), 0);
	CHECK_INT(strlen(s.host), 255);
	snprintf(text, sizeof(text), "[%s]:8080:h:80", name);
	CHECK_INT(parse(FWD_LOCAL, text), 0);
	CHECK_INT(strlen(s.bind_host), 255);

	memset(name, 'a', 256);
	name[256] = '\0';
	snprintf(text, sizeof(text), "8080:%s:80", name);
	CHECK_ERR(FWD_LOCAL, text, "host name too long");
	snprintf(text, sizeof(text), "8080:[%s]:80", name);
	CHECK_ERR(FWD_LOCAL, text, "host name too long");
	snprintf(text, sizeof(text), "%s:8080:h:80", name);
	CHECK_ERR(FWD_LOCAL, text, "bind address too long");
	snprintf(text, sizeof(text), "%s:1080", name);
	CHECK_ERR(FWD_DYNAMIC, text, "bind address too long");

	CHECK_ERR(FWD_LOCAL, "8080::80", "missing host");
	CHECK_ERR(FWD_LOCAL, "8080:[]:80", "missing host");
	CHECK_ERR(FWD_LOCAL, "8080:a b:80", "bad character in host name");
	CHECK_ERR(FWD_LOCAL, "8080:a\tb:80", "bad character in host name");
	CHECK_ERR(FWD_LOCAL, "8080:a\nb:80", "bad character in host name");
	CHECK_ERR(FWD_LOCAL, "8080:a\x7f:80", "bad character in host name");
	CHECK_ERR(FWD_LOCAL, "8080:[fe80::1 ]:80", "bad character in host name");
	CHECK_ERR(FWD_LOCAL, "a b:8080:h:80", "bad character in bind address");
	CHECK_ERR(FWD_DYNAMIC, "\x1b:1080", "bad character in bind address");
	/* Bytes above ASCII are left to the resolver (IDN names in UTF-8). */
	CHECK_OK(FWD_LOCAL,
	    "8080:b\xc3\xbc"
	    "cher:80",
	    "localhost:8080 -> b\xc3\xbc"
	    "cher:80");
}

static void
test_shape(void)
{
	CHECK_ERR(FWD_LOCAL, "", usage_fwd);
	CHECK_ERR(FWD_LOCAL, "8080", usage_fwd);
	CHECK_ERR(FWD_LOCAL, "8080:h", usage_fwd);
	CHECK_ERR(FWD_LOCAL, "a:8080:h:80:x", usage_fwd);
	CHECK_ERR(FWD_LOCAL, ":::::::::::::::::::::::::::::::::::", usage_fwd);
	CHECK_ERR(FWD_LOCAL, NULL, usage_fwd);
	CHECK_ERR((enum fwd_kind)7, "8080:h:80", "unknown forward kind");
	/* The first problem from the left is the one reported. */
	CHECK_ERR(FWD_LOCAL, "a b:0:h:0", "bad character in bind address");
	CHECK_ERR(FWD_LOCAL, "0:h:http", "port out of range (1-65535)");
}

static void
test_buffers(void)
{
	struct fwd_spec keep;
	char small[16];

	/* out is left alone on failure and may be NULL. */
	memset(&keep, 0, sizeof(keep));
	keep.bind_port = 4242;
	CHECK_INT(spec_parse(FWD_LOCAL, "99999:h:80", &keep, err, sizeof(err)), -1);
	CHECK_INT(keep.bind_port, 4242);
	CHECK_INT(spec_parse(FWD_LOCAL, "8080:h:80", NULL, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(spec_parse(FWD_LOCAL, "99999:h:80", &keep, NULL, 0), -1);

	/* err is truncated and terminated, and nothing past errlen is written. */
	memset(small, 'Z', sizeof(small));
	CHECK_INT(spec_parse(FWD_LOCAL, "99999:h:80", &keep, small, 1), -1);
	CHECK_INT(small[0], '\0');
	CHECK_INT(small[1], 'Z');
	memset(small, 'Z', sizeof(small));
	CHECK_INT(spec_parse(FWD_LOCAL, "99999:h:80", &keep, small, 8), -1);
	CHECK_STR(small, "port ou");
	CHECK_INT(small[8], 'Z');
	memset(small, 'Z', sizeof(small));
	CHECK_INT(spec_parse(FWD_LOCAL, "8080:h:80", &keep, small, 8), 0);
	CHECK_INT(small[0], '\0');

	/* spec_format truncates the same way. */
	CHECK_INT(parse(FWD_LOCAL, "[::1]:8080:[fe80::1]:80/udp"), 0);
	CHECK_STR(format(), "[::1]:8080 -> [fe80::1]:80 (udp)");
	memset(small, 'Z', sizeof(small));
	spec_format(&s, small, 1);
	CHECK_INT(small[0], '\0');
	CHECK_INT(small[1], 'Z');
	memset(small, 'Z', sizeof(small));
	spec_format(&s, small, 8);
	CHECK_STR(small, "[::1]:8");
	CHECK_INT(small[8], 'Z');
	spec_format(&s, NULL, 0);
	spec_format(NULL, small, sizeof(small));
	CHECK_STR(small, "");
}

static void
test_spec_name(void)
{
	struct fwd_spec sp;
	char name[600];

	CHECK_INT(spec_parse(FWD_LOCAL, "8080:intranet:80", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-L 8080:intranet:80");
	CHECK_INT(spec_parse(FWD_REMOTE, "[::1]:0:localhost:22", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-R [::1]:0:localhost:22");
	CHECK_INT(spec_parse(FWD_LOCAL, "*:5353:[fe80::1]:53/udp", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-L *:5353:[fe80::1]:53/udp");
	CHECK_INT(spec_parse(FWD_DYNAMIC, "127.0.0.1:1080", &sp, err, sizeof(err)), 0);
	spec_name(&sp, name, sizeof(name));
	CHECK_STR(name, "-D 127.0.0.1:1080");
	spec_name(&sp, name, 4);
	CHECK_STR(name, "-D ");
}

static bool
same(enum fwd_kind ka, const char *a, enum fwd_kind kb, const char *b)
{
	struct fwd_spec x, y;
	char why[128];

	if (spec_parse(ka, a, &x, why, sizeof(why)) != 0 ||
	    spec_parse(kb, b, &y, why, sizeof(why)) != 0)
		return false;
	return spec_same(&x, &y);
}

/* spec_same: how -O cancel finds a forward. */
static void
test_same(void)
{
	CHECK(same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "8080:db:5432"));
	CHECK(same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "localhost:8080:DB:5432"));
	CHECK(same(FWD_LOCAL, "8080:[db]:5432/tcp", FWD_LOCAL, "8080:db:5432"));
	CHECK(same(FWD_LOCAL, "*:8080:db:5432", FWD_LOCAL, ":8080:db:5432"));
	CHECK(same(FWD_DYNAMIC, "1080", FWD_DYNAMIC, "localhost:1080"));
	CHECK(!same(FWD_LOCAL, "8080:db:5432", FWD_REMOTE, "8080:db:5432"));
	CHECK(!same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "8081:db:5432"));
	CHECK(!same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "8080:db:5433"));
	CHECK(!same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "8080:db2:5432"));
	CHECK(!same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "127.0.0.1:8080:db:5432"));
	CHECK(!same(FWD_LOCAL, "8080:db:5432", FWD_LOCAL, "*:8080:db:5432"));
	CHECK(!same(FWD_LOCAL, "8080:db:53", FWD_LOCAL, "8080:db:53/udp"));
	CHECK(!same(FWD_REMOTE, "0:h:22", FWD_REMOTE, "[::1]:0:h:22"));
}

int
main(void)
{
	test_same();
	test_spec_name();
	test_local();
	test_wildcard();
	test_ipv6();
	test_brackets();
	test_remote();
	test_dynamic();
	test_protocol();
	test_unix();
	test_ports();
	test_hosts();
	test_shape();
	test_buffers();
	return check_done("spec");
}
