/*
 * Unit tests for config.c: the line syntax (separators, comments, quotes,
 * two-word values, CRLF, NUL bytes, long lines), Profile names and their
 * errors, Host and Match, every error with its exact "file:line: message",
 * all errors collected in one pass, config_find, config_apply's order, and
 * config_load on real files (permissions, owner, missing, directory, size).
 * Text is parsed from an exact-size heap copy, so ASan catches a read past
 * its end.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "option.h"

static struct config c;

static size_t
parse_bytes(const char *text, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);
	size_t n;

	if (copy == NULL)
		abort();
	memcpy(copy, text, len);
	n = config_parse(&c, "t.conf", copy, len);
	free(copy);
	return n;
}

/* A string literal, NUL bytes inside it included. */
#define PARSE(lit) parse_bytes(lit, sizeof(lit) - 1)

/* Shows the first error if there is one. */
#define CHECK_NO_ERRORS() CHECK_STR(c.n_errors > 0 ? c.errors[0] : "", "")

#define CHECK_ERRORS(...)                                                                          \
	do {                                                                                       \
		const char *const want_[] = {__VA_ARGS__};                                         \
		size_t n_ = sizeof(want_) / sizeof(want_[0]);                                      \
		CHECK_INT(c.n_errors, n_);                                                         \
		for (size_t i_ = 0; i_ < n_ && i_ < c.n_errors; i_++)                              \
			CHECK_STR(c.errors[i_], want_[i_]);                                        \
	} while (0)

#define CHECK_ENTRY(e, kw, val, ln)                                                                \
	do {                                                                                       \
		CHECK_STR((e).keyword, kw);                                                        \
		CHECK_STR((e).value, val);                                                         \
		CHECK_INT((e).line, ln);                                                           \
	} while (0)

/* One line that must parse into exactly one default entry. */
#define CHECK_ONE(text, kw, val)                                                                   \
	do {                                                                                       \
		CHECK_INT(PARSE(text), 0);                                                         \
		CHECK_NO_ERRORS();                                                                 \
		CHECK_INT(c.n_defaults, 1);                                                        \
		if (c.n_defaults == 1)                                                             \
			CHECK_ENTRY(c.defaults[0], kw, val, 1);                                    \
	} while (0)

/* One line that must be refused with one error and keep nothing. */
#define CHECK_ONE_ERR(text, msg)                                                                   \
	do {                                                                                       \
		CHECK_INT(PARSE(text), 1);                                                         \
		CHECK_ERRORS(msg);                                                                 \
		CHECK_INT(c.n_defaults, 0);                                                        \
		CHECK_INT(c.n_profiles, 0);                                                        \
	} while (0)

static void
test_init_free(void)
{
	config_init(&c);
	CHECK(c.file == NULL);
	CHECK_INT(c.n_defaults, 0);
	CHECK_INT(c.n_profiles, 0);
	CHECK_INT(c.n_errors, 0);
	config_free(&c);
	config_free(&c);
	CHECK(c.file == NULL);

	/* Empty text, even a NULL pointer with no bytes. */
	CHECK_INT(config_parse(&c, "t.conf", NULL, 0), 0);
	CHECK_STR(c.file, "t.conf");
	CHECK_INT(c.n_defaults, 0);
	CHECK_INT(PARSE(""), 0);

	/* A second parse starts afresh. */
	CHECK_INT(PARSE("Port 22\nProfile a\nBogus x\n"), 1);
	CHECK_INT(c.n_profiles, 1);
	CHECK_INT(PARSE("User bob\n"), 0);
	CHECK_INT(c.n_profiles, 0);
	CHECK_INT(c.n_errors, 0);
	CHECK_INT(c.n_defaults, 1);
	CHECK_ENTRY(c.defaults[0], "User", "bob", 1);
	config_free(&c);
}

static void
test_separators(void)
{
	CHECK_ONE("Port 22", "Port", "22");
	CHECK_ONE("Port 22\n", "Port", "22");
	CHECK_ONE("Port=22\n", "Port", "22");
	CHECK_ONE("Port = 22\n", "Port", "22");
	CHECK_ONE("Port =22\n", "Port", "22");
	CHECK_ONE("Port= 22\n", "Port", "22");
	CHECK_ONE("Port\t=\t22\n", "Port", "22");
	CHECK_ONE("Port\t22\n", "Port", "22");
	CHECK_ONE("  \t Port    22  \t \n", "Port", "22");
	CHECK_ONE("Port 22\r\n", "Port", "22");
	CHECK_ONE("Port 22 \r\n", "Port", "22");
	/* Keywords are case-insensitive and kept in the table's spelling. */
	CHECK_ONE("port 22\n", "Port", "22");
	CHECK_ONE("HOSTNAME gw.example.com\n", "HostName", "gw.example.com");
	CHECK_ONE("localforward 8080 intranet:80\n", "LocalForward", "8080 intranet:80");
	CHECK_ONE("stricthostkeychecking accept-new\n", "StrictHostKeyChecking", "accept-new");
	/* Only one '=' separates: a second one is part of the value. */
	CHECK_ONE_ERR("Port == 22\n", "t.conf:1: bad value '= 22' for Port (a port, 1-65535)");
	CHECK_ONE_ERR("=22\n", "t.conf:1: missing keyword before '='");
	CHECK_ONE_ERR("  = 22\n", "t.conf:1: missing keyword before '='");
	config_free(&c);
}

static void
test_comments(void)
{
	CHECK_INT(PARSE("# porthole.conf\n"
			"\n"
			"   # indented comment\n"
			" \t \r\n"
			"Port 22 # jump host\n"
			"IdentityFile ~/.ssh/key#1\n"
			"User alice #\n"
			"HostName h\t#tab before\n"
			"#Port 23\n"),
	    0);
	CHECK_NO_ERRORS();
	CHECK_INT(c.n_defaults, 4);
	CHECK_ENTRY(c.defaults[0], "Port", "22", 5);
	/* '#' inside a word is not a comment. */
	CHECK_ENTRY(c.defaults[1], "IdentityFile", "~/.ssh/key#1", 6);
	CHECK_ENTRY(c.defaults[2], "User", "alice", 7);
	CHECK_ENTRY(c.defaults[3], "HostName", "h", 8);

	/* A comment where the value should be leaves none. */
	CHECK_ONE_ERR("Port # 22\n", "t.conf:1: Port: missing value");
	CHECK_ONE_ERR("Port #22\n", "t.conf:1: Port: missing value");
	CHECK_ONE_ERR("Port=#22\n", "t.conf:1: Port: missing value");
	/* Not a comment: '#' is part of the keyword. */
	CHECK_ONE_ERR("Port#22\n", "t.conf:1: unknown keyword 'Port#22'");
	config_free(&c);
}

static void
test_quotes(void)
{
	CHECK_ONE(
	    "IdentityFile \"~/my keys/id_ed25519\"\n", "IdentityFile", "~/my keys/id_ed25519");
	/* Inside quotes, blanks are kept as written. */
	CHECK_ONE("IdentityFile \"a  b\tc\"\n", "IdentityFile", "a  b\tc");
	CHECK_ONE("IdentityFile \"#not a comment\"\n", "IdentityFile", "#not a comment");
	CHECK_ONE("IdentityFile ~/\"my keys\"/id\n", "IdentityFile", "~/my keys/id");
	CHECK_ONE("User \"alice\"\n", "User", "alice");
	CHECK_ONE("Port=\"22\"\n", "Port", "22");
	CHECK_ONE("LocalForward \"8080\" \"intranet:80\"\n", "LocalForward", "8080 intranet:80");
	CHECK_ONE("IdentityFile 'single'\n", "IdentityFile", "'single'");
	CHECK_ONE_ERR("IdentityFile \"~/my keys/id_ed25519\n", "t.conf:1: unterminated quote");
	CHECK_ONE_ERR("IdentityFile a\"b\n", "t.conf:1: unterminated quote");
	CHECK_ONE_ERR("User \"\"\n", "t.conf:1: User: missing value");
	config_free(&c);
}

static void
test_words(void)
{
	CHECK_ONE("LocalForward 8080 intranet:80\n", "LocalForward", "8080 intranet:80");
	CHECK_ONE("LocalForward   8080 \t intranet:80  \n", "LocalForward", "8080 intranet:80");
	CHECK_ONE("LocalForward 127.0.0.1:8080 intranet:80\n", "LocalForward",
	    "127.0.0.1:8080 intranet:80");
	CHECK_ONE("LocalForward 8080:intranet:80\n", "LocalForward", "8080:intranet:80");
	CHECK_ONE("RemoteForward 5900 localhost:5900\n", "RemoteForward", "5900 localhost:5900");
	CHECK_ONE("DynamicForward 1080\n", "DynamicForward", "1080");
	CHECK_ONE("RelayCommand   porthole   relay\n", "RelayCommand", "porthole relay");
	CHECK_ONE("OpenVia=channel\n", "OpenVia", "channel");
	/* A value with too many words is refused by option_set's own check. */
	CHECK_ONE_ERR("Port 22 23\n", "t.conf:1: bad value '22 23' for Port (a port, 1-65535)");
	CHECK_ONE_ERR(
	    "Reconnect yes please\n", "t.conf:1: bad value 'yes please' for Reconnect (yes or no)");
	CHECK_ONE_ERR("OpenVia stream\n",
	    "t.conf:1: bad value 'stream' for OpenVia (auto, relay or channel)");
	config_free(&c);
}

static void
test_line_ends(void)
{
	CHECK_INT(PARSE("Port 22\r\nProfile a\r\n\r\n  HostName h\r\n"), 0);
	CHECK_NO_ERRORS();
	CHECK_INT(c.n_defaults, 1);
	CHECK_ENTRY(c.defaults[0], "Port", "22", 1);
	CHECK_INT(c.n_profiles, 1);
	CHECK_STR(c.profiles[0].name, "a");
	CHECK_INT(c.profiles[0].line, 2);
	CHECK_INT(c.profiles[0].n_entries, 1);
	CHECK_ENTRY(c.profiles[0].entries[0], "HostName", "h", 4);

	/* No final newline. */
	CHECK_INT(PARSE("Port 22\nUser bob"), 0);
	CHECK_INT(c.n_defaults, 2);
	CHECK_ENTRY(c.defaults[1], "User", "bob", 2);
	config_free(&c);
}

static void
test_nul(void)
{
	CHECK_INT(PARSE("Port 22\nUser a\0b\nHostName h\n\0\nCompression no\n"), 2);
	CHECK_ERRORS("t.conf:2: NUL byte", "t.conf:4: NUL byte");
	CHECK_INT(c.n_defaults, 3);
	CHECK_ENTRY(c.defaults[0], "Port", "22", 1);
	CHECK_ENTRY(c.defaults[1], "HostName", "h", 3);
	CHECK_ENTRY(c.defaults[2], "Compression", "no", 5);
	/* Even inside a comment. */
	CHECK_INT(PARSE("# a\0b\n"), 1);
	CHECK_ERRORS("t.conf:1: NUL byte");
	config_free(&c);
}

static void
test_long_line(void)
{
	static char text[3 * CONFIG_LINE_MAX];
	const char *kw = "IdentityFile ";
	size_t klen = strlen(kw), n;

	/* Exactly CONFIG_LINE_MAX bytes, then "\r\n": fine. */
	memcpy(text, kw, klen);
	memset(text + klen, 'k', CONFIG_LINE_MAX - klen);
	memcpy(text + CONFIG_LINE_MAX, "\r\nPort 22\n", 10);
	CHECK_INT(parse_bytes(text, CONFIG_LINE_MAX + 10), 0);
	CHECK_NO_ERRORS();
	CHECK_INT(c.n_defaults, 2);
	if (c.n_defaults == 2) {
		CHECK_INT(strlen(c.defaults[0].value), CONFIG_LINE_MAX - klen);
		CHECK_ENTRY(c.defaults[1], "Port", "22", 2);
	}

	/* One byte more: refused, and parsing goes on. */
	n = 0;
	memcpy(text, "User a\n", 7);
	n += 7;
	memcpy(text + n, kw, klen);
	memset(text + n + klen, 'k', CONFIG_LINE_MAX + 1 - klen);
	n += CONFIG_LINE_MAX + 1;
	memcpy(text + n, "\nPort 22\n#", 10);
	n += 10;
	memset(text + n, '#', CONFIG_LINE_MAX);
	n += CONFIG_LINE_MAX;
	CHECK_INT(parse_bytes(text, n), 2);
	CHECK_ERRORS("t.conf:2: line too long (over 4096 bytes)",
	    "t.conf:4: line too long (over 4096 bytes)");
	CHECK_INT(c.n_defaults, 2);
	CHECK_ENTRY(c.defaults[0], "User", "a", 1);
	CHECK_ENTRY(c.defaults[1], "Port", "22", 3);
	config_free(&c);
}

static void
test_keywords(void)
{
	CHECK_ONE_ERR("Bogus yes\n", "t.conf:1: unknown keyword 'Bogus'");
	CHECK_ONE_ERR("Bogus\n", "t.conf:1: unknown keyword 'Bogus'");
	CHECK_ONE_ERR(
	    "Include ~/.ssh/other\n", "t.conf:1: Include belongs in an ssh_config file, not here");
	/* Control bytes in a message are shown as '?'. */
	CHECK_ONE_ERR("Bogus\x1b[2J yes\n", "t.conf:1: unknown keyword 'Bogus?[2J'");
	CHECK_ONE_ERR("Port\n", "t.conf:1: Port: missing value");
	CHECK_ONE_ERR("port=\n", "t.conf:1: port: missing value");
	CHECK_ONE_ERR("Port 0\n", "t.conf:1: bad value '0' for Port (a port, 1-65535)");
	CHECK_ONE_ERR("StrictHostKeyChecking never\n",
	    "t.conf:1: bad value 'never' for StrictHostKeyChecking (yes, accept-new, ask, no or "
	    "off)");
	CHECK_ONE_ERR("ServerAliveInterval soon\n",
	    "t.conf:1: bad value 'soon' for ServerAliveInterval (seconds, e.g. 30, 90s, 5m)");
	CHECK_ONE_ERR("UdpMaxFlows 0\n",
	    "t.conf:1: bad value '0' for UdpMaxFlows (a number, 1 or "
	    "more)");
	CHECK_ONE_ERR(
	    "LocalForward 8080\n", "t.conf:1: -L 8080: expected [bind_address:]port:host:hostport");

	/* Each keyword of the table is accepted, whatever its case. */
	for (size_t i = 0; option_keyword(i) != NULL; i++) {
		char line[128], upper[64];
		const char *k = option_keyword(i), *value = "yes";

		if (strcmp(k, "ForwardAccess") == 0)
			value = "owner";
		else if (strstr(k, "Forward") != NULL && strcmp(k, "ExitOnForwardFailure") != 0)
			value = strcmp(k, "DynamicForward") == 0 ? "1080" : "8080 h:80";
		else if (strstr(k, "Port") != NULL && strcmp(k, "GatewayPorts") != 0)
			value = "22";
		else if (strcmp(k, "StrictHostKeyChecking") == 0)
			value = "ask";
		else if (strcmp(k, "LogLevel") == 0)
			value = "DEBUG";
		else if (strstr(k, "Interval") || strstr(k, "Delay") || strstr(k, "Timeout") ||
		    strstr(k, "Count") || strstr(k, "Flows") || strstr(k, "Wait") ||
		    strstr(k, "Attempts"))
			value = "5";
		else if (strcmp(k, "AddressFamily") == 0)
			value = "inet";
		else if (strcmp(k, "OpenVia") == 0)
			value = "relay";
		else if (strncmp(k, "Presence", 8) == 0)
			value = "5999";
		for (size_t j = 0; j <= strlen(k); j++)
			upper[j] = (char)(k[j] >= 'a' && k[j] <= 'z' ? k[j] - 32 : k[j]);
		snprintf(line, sizeof(line), "%s %s\n", upper, value);
		CHECK_INT(parse_bytes(line, strlen(line)), 0);
		CHECK_NO_ERRORS();
		CHECK_INT(c.n_defaults, 1);
		if (c.n_defaults == 1)
			CHECK_ENTRY(c.defaults[0], k, value, 1);
	}
	config_free(&c);
}

static void
test_profile_names(void)
{
	static const char *const good[] = {
	    "office", "mum", "a", "A.b_c-1", "0", "...", "relay2", "statuses", "-"};
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "Profile %s\nHostName h\n", good[i]);
		CHECK_INT(parse_bytes(text, strlen(text)), 0);
		CHECK_NO_ERRORS();
		CHECK_INT(c.n_profiles, 1);
		if (c.n_profiles == 1) {
			CHECK_STR(c.profiles[0].name, good[i]);
			CHECK_INT(c.profiles[0].line, 1);
			CHECK_INT(c.profiles[0].n_entries, 1);
		}
	}
	CHECK_INT(PARSE("profile=\"quoted\"\n"), 0);
	CHECK_STR(c.n_profiles == 1 ? c.profiles[0].name : NULL, "quoted");
	CHECK_INT(PARSE("PROFILE x # the x\n"), 0);
	CHECK_STR(c.n_profiles == 1 ? c.profiles[0].name : NULL, "x");

	/* 64 characters are fine, 65 are not; longer names are cut in the message. */
	memset(text, 'n', 64);
	text[64] = '\0';
	{
		char line[600];
		snprintf(line, sizeof(line), "Profile %s\n", text);
		CHECK_INT(parse_bytes(line, strlen(line)), 0);
		CHECK_STR(c.n_profiles == 1 ? c.profiles[0].name : NULL, text);
		snprintf(line, sizeof(line), "Profile %sn\n", text);
		CHECK_INT(parse_bytes(line, strlen(line)), 1);
		CHECK_STR(c.n_errors > 0 ? c.errors[0] : NULL,
		    "t.conf:1: bad profile name "
		    "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn' "
		    "(1-64 letters, digits, '.', '_' or '-')");
		snprintf(line, sizeof(line), "Profile %s%s\n", text, text);
		CHECK_INT(parse_bytes(line, strlen(line)), 1);
		CHECK_STR(c.n_errors > 0 ? c.errors[0] : NULL,
		    "t.conf:1: bad profile name "
		    "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' "
		    "(1-64 letters, digits, '.', '_' or '-')");
	}

	CHECK_ONE_ERR("Profile\n", "t.conf:1: Profile needs a name");
	CHECK_ONE_ERR("Profile   # office\n", "t.conf:1: Profile needs a name");
	CHECK_ONE_ERR("Profile=\n", "t.conf:1: Profile needs a name");
	CHECK_ONE_ERR(
	    "Profile office home\n", "t.conf:1: Profile takes one name, not 'office home'");
	CHECK_ONE_ERR("Profile \"my office\"\n",
	    "t.conf:1: bad profile name 'my office' (1-64 "
	    "letters, digits, '.', '_' or '-')");
	CHECK_ONE_ERR("Profile a/b\n",
	    "t.conf:1: bad profile name 'a/b' (1-64 letters, digits, '.', '_' or '-')");
	CHECK_ONE_ERR("Profile user@host\n",
	    "t.conf:1: bad profile name 'user@host' (1-64 letters, digits, '.', '_' or '-')");
	CHECK_ONE_ERR("Profile *\n",
	    "t.conf:1: bad profile name '*' (1-64 letters, digits, '.', '_' or '-')");
	CHECK_ONE_ERR("Profile \"\"\n",
	    "t.conf:1: bad profile name '' (1-64 letters, digits, '.', '_' or '-')");
	CHECK_ONE_ERR("Profile caf\xc3\xa9\n",
	    "t.conf:1: bad profile name 'caf\xc3\xa9' (1-64 "
	    "letters, digits, '.', '_' or '-')");
	CHECK_ONE_ERR("Profile relay\n",
	    "t.conf:1: profile name 'relay' is taken by 'porthole "
	    "relay'");
	CHECK_ONE_ERR("Profile status\n",
	    "t.conf:1: profile name 'status' is taken by 'porthole "
	    "status'");
	CHECK_ONE_ERR("Profile profiles\n",
	    "t.conf:1: profile name 'profiles' is taken by "
	    "'porthole profiles'");
	CHECK_ONE_ERR("Profile check\n",
	    "t.conf:1: profile name 'check' is taken by 'porthole "
	    "check'");
	CHECK_ONE_ERR("Profile service\n",
	    "t.conf:1: profile name 'service' is taken by "
	    "'porthole service'");
	CHECK_ONE_ERR("Profile Status\n",
	    "t.conf:1: profile name 'Status' is taken by 'porthole "
	    "status'");
	config_free(&c);
}

static void
test_profiles(void)
{
	CHECK_INT(PARSE("User alice\n"
			"Profile office\n"
			"  HostName gw.example.com\n"
			"Profile mum\n"
			"  HostName mum.example.net\n"
			"  Port 2222\n"
			"Profile empty\n"),
	    0);
	CHECK_NO_ERRORS();
	CHECK_INT(c.n_defaults, 1);
	CHECK_INT(c.n_profiles, 3);
	CHECK_STR(c.profiles[0].name, "office");
	CHECK_INT(c.profiles[0].line, 2);
	CHECK_INT(c.profiles[0].n_entries, 1);
	CHECK_ENTRY(c.profiles[0].entries[0], "HostName", "gw.example.com", 3);
	CHECK_STR(c.profiles[1].name, "mum");
	CHECK_INT(c.profiles[1].line, 4);
	CHECK_INT(c.profiles[1].n_entries, 2);
	CHECK_ENTRY(c.profiles[1].entries[1], "Port", "2222", 6);
	/* A profile without HostName is the caller's to report, when it is used. */
	CHECK_STR(c.profiles[2].name, "empty");
	CHECK_INT(c.profiles[2].n_entries, 0);

	CHECK(config_find(&c, "office") == &c.profiles[0]);
	CHECK(config_find(&c, "mum") == &c.profiles[1]);
	CHECK(config_find(&c, "MUM") == &c.profiles[1]);
	CHECK(config_find(&c, "empty") == &c.profiles[2]);
	CHECK(config_find(&c, "home") == NULL);
	CHECK(config_find(&c, "") == NULL);
	CHECK(config_find(&c, "offic") == NULL);
	CHECK(config_find(&c, "office2") == NULL);
	CHECK(config_find(&c, NULL) == NULL);

	/* Defined twice, in any case: the second block is checked, not kept. */
	CHECK_INT(PARSE("Profile a\n"
			"  Port 1\n"
			"Profile b\n"
			"Profile A\n"
			"  Port 2\n"
			"  Port x\n"
			"Profile c\n"
			"  Port 3\n"),
	    2);
	CHECK_ERRORS("t.conf:4: profile 'A' defined twice (first at line 1)",
	    "t.conf:6: bad value 'x' for Port (a port, 1-65535)");
	CHECK_INT(c.n_profiles, 3);
	CHECK_INT(c.profiles[0].n_entries, 1);
	CHECK_ENTRY(c.profiles[0].entries[0], "Port", "1", 2);
	CHECK_INT(c.profiles[2].n_entries, 1);
	CHECK_ENTRY(c.profiles[2].entries[0], "Port", "3", 8);
	config_free(&c);
}

static void
test_host_match(void)
{
	CHECK_INT(PARSE("Port 22\n"
			"Host gw\n"
			"  HostName gw.example.com\n"
			"  Port 0\n"
			"Profile p\n"
			"  User u\n"
			"match all\n"
			"  User v\n"
			"HOST=x\n"),
	    4);
	CHECK_ERRORS("t.conf:2: Host and Match belong in ~/.ssh/config; porthole uses Profile "
		     "blocks",
	    "t.conf:4: bad value '0' for Port (a port, 1-65535)",
	    "t.conf:7: Host and Match belong in ~/.ssh/config; porthole uses Profile blocks",
	    "t.conf:9: Host and Match belong in ~/.ssh/config; porthole uses Profile blocks");
	/* Lines under Host or Match are checked but kept nowhere. */
	CHECK_INT(c.n_defaults, 1);
	CHECK_ENTRY(c.defaults[0], "Port", "22", 1);
	CHECK_INT(c.n_profiles, 1);
	CHECK_INT(c.profiles[0].n_entries, 1);
	CHECK_ENTRY(c.profiles[0].entries[0], "User", "u", 6);
	config_free(&c);
}

static void
test_many_errors(void)
{
	CHECK_INT(PARSE("# every problem, one pass\n"
			"Bogus 1\n"
			"Port 70000\n"
			"HostName ok.example.com\n"
			"Profile\n"
			"  User lost\n"
			"Profile office\n"
			"  LocalForward 8080\n"
			"  LocalForward 8080 intranet:80\n"
			"  IdentityFile \"~/unterminated\n"
			"  Host x\n"
			"Profile office\n"
			"Profile check\n"
			"Profile a b\n"
			"Profile mum\n"
			"  Reconnect maybe\n"
			"  ServerAliveInterval 15\n"
			"  =x\n"),
	    11);
	CHECK_ERRORS("t.conf:2: unknown keyword 'Bogus'",
	    "t.conf:3: bad value '70000' for Port (a port, 1-65535)",
	    "t.conf:5: Profile needs a name",
	    "t.conf:8: -L 8080: expected [bind_address:]port:host:hostport",
	    "t.conf:10: unterminated quote",
	    "t.conf:11: Host and Match belong in ~/.ssh/config; porthole uses Profile blocks",
	    "t.conf:12: profile 'office' defined twice (first at line 7)",
	    "t.conf:13: profile name 'check' is taken by 'porthole check'",
	    "t.conf:14: Profile takes one name, not 'a b'",
	    "t.conf:16: bad value 'maybe' for Reconnect (yes or no)",
	    "t.conf:18: missing keyword before '='");
	CHECK_INT(c.n_defaults, 1);
	CHECK_ENTRY(c.defaults[0], "HostName", "ok.example.com", 4);
	CHECK_INT(c.n_profiles, 2);
	CHECK_INT(c.profiles[0].n_entries, 1);
	CHECK_ENTRY(c.profiles[0].entries[0], "LocalForward", "8080 intranet:80", 9);
	CHECK_STR(c.profiles[1].name, "mum");
	CHECK_INT(c.profiles[1].n_entries, 1);
	CHECK_ENTRY(c.profiles[1].entries[0], "ServerAliveInterval", "15", 17);
	config_free(&c);
}

/* The three uses: one-line defaults, a daily profile, a family machine. */
static const char three_uses[] = "# ~/.config/porthole/porthole.conf\n"
				 "User alice\n"
				 "IdentityFile ~/.ssh/id_ed25519\n"
				 "ServerAliveInterval 30\n"
				 "\n"
				 "Profile office\n"
				 "\tHostName gw.example.com\n"
				 "\tPort 2222\n"
				 "\tLocalForward 8080 intranet:80\n"
				 "\tLocalForward 127.0.0.1:5432 db.internal:5432\n"
				 "\tDynamicForward 1080\n"
				 "\tExitOnForwardFailure yes\n"
				 "\n"
				 "Profile mum\n"
				 "\tHostName mum.example.net\n"
				 "\tUser mum\n"
				 "\tIdentityFile \"~/.ssh/family key\"\n"
				 "\tRemoteForward 5900 localhost:5900\n"
				 "\tReconnect yes\n"
				 "\tServerAliveInterval 15\n";

static void
test_apply(void)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(three_uses), 0);
	CHECK_NO_ERRORS();

	/* Defaults only. */
	options_init(&o);
	CHECK_INT(config_apply(&c, NULL, &o, err, sizeof(err)), 0);
	CHECK_STR(o.user, "alice");
	CHECK_INT(o.n_identity_files, 1);
	CHECK_INT(o.server_alive_interval, 30);
	CHECK(o.host_name == NULL);
	CHECK_INT(o.n_forwards, 0);
	CHECK_INT(o.port, -1);
	options_free(&o);

	/* The daily profile: defaults, then its own lines. */
	options_init(&o);
	CHECK_INT(config_apply(&c, config_find(&c, "office"), &o, err, sizeof(err)), 0);
	CHECK_STR(o.user, "alice");
	CHECK_STR(o.host_name, "gw.example.com");
	CHECK_INT(o.port, 2222);
	CHECK_INT(o.server_alive_interval, 30);
	CHECK_INT(o.exit_on_forward_failure, 1);
	CHECK_INT(o.n_forwards, 3);
	if (o.n_forwards == 3) {
		CHECK_INT(o.forwards[0].kind, FWD_LOCAL);
		CHECK_INT(o.forwards[0].bind_port, 8080);
		CHECK_STR(o.forwards[0].host, "intranet");
		CHECK_INT(o.forwards[0].host_port, 80);
		CHECK_STR(o.forwards[1].bind_host, "127.0.0.1");
		CHECK_INT(o.forwards[1].bind_port, 5432);
		CHECK_STR(o.forwards[1].host, "db.internal");
		CHECK_INT(o.forwards[2].kind, FWD_DYNAMIC);
		CHECK_INT(o.forwards[2].bind_port, 1080);
	}
	options_free(&o);

	/* The family machine: the profile overrides a default; IdentityFiles accumulate. */
	options_init(&o);
	CHECK_INT(config_apply(&c, config_find(&c, "mum"), &o, err, sizeof(err)), 0);
	CHECK_STR(o.user, "mum");
	CHECK_STR(o.host_name, "mum.example.net");
	CHECK_INT(o.server_alive_interval, 15);
	CHECK_INT(o.reconnect, 1);
	CHECK_INT(o.n_identity_files, 2);
	if (o.n_identity_files == 2) {
		CHECK_STR(o.identity_files[0], "~/.ssh/id_ed25519");
		CHECK_STR(o.identity_files[1], "~/.ssh/family key");
	}
	CHECK_INT(o.n_forwards, 1);
	if (o.n_forwards == 1) {
		CHECK_INT(o.forwards[0].kind, FWD_REMOTE);
		CHECK_INT(o.forwards[0].bind_port, 5900);
		CHECK_STR(o.forwards[0].host, "localhost");
		CHECK_INT(o.forwards[0].host_port, 5900);
	}
	options_free(&o);
	config_free(&c);
}

static void
test_apply_order(void)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE("Port 2200\n"
			"Port 2201\n"
			"LocalForward 8080 a:80\n"
			"LogLevel ERROR\n"
			"Profile p\n"
			"  Port 22\n"
			"  LocalForward 8081 b:81\n"
			"  LogLevel INFO\n"
			"  LocalForward 8082 c:82\n"
			"  LogLevel VERBOSE\n"),
	    0);
	CHECK_NO_ERRORS();

	/* Values already in o (say, from an earlier source) are overridden or added to. */
	options_init(&o);
	CHECK_INT(option_set(&o, "Port", "9999", err, sizeof(err)), 0);
	CHECK_INT(option_set(&o, "User", "kept", err, sizeof(err)), 0);
	CHECK_INT(option_set(&o, "LocalForward", "9000:z:90", err, sizeof(err)), 0);
	CHECK_INT(config_apply(&c, NULL, &o, err, sizeof(err)), 0);
	CHECK_INT(o.port, 2201);
	CHECK_STR(o.user, "kept");
	CHECK_INT(o.n_forwards, 2);
	CHECK_INT(config_apply(&c, config_find(&c, "p"), &o, err, sizeof(err)), 0);
	CHECK_INT(o.port, 22);
	CHECK_INT(o.log_level, option_parse_log_level("VERBOSE"));
	/* Applied twice: the defaults' forward is there twice, as the caller asked. */
	CHECK_INT(o.n_forwards, 5);
	if (o.n_forwards == 5) {
		CHECK_INT(o.forwards[0].bind_port, 9000);
		CHECK_INT(o.forwards[1].bind_port, 8080);
		CHECK_INT(o.forwards[2].bind_port, 8080);
		CHECK_INT(o.forwards[3].bind_port, 8081);
		CHECK_INT(o.forwards[4].bind_port, 8082);
	}
	/* The command line comes after, and wins. */
	CHECK_INT(option_set(&o, "Port", "443", err, sizeof(err)), 0);
	CHECK_INT(o.port, 443);
	options_free(&o);
	config_free(&c);
}

/* A limit only a whole profile can exceed is reported by config_apply, with its line. */
static void
test_apply_error(void)
{
	char text[4096], err[256];
	size_t n = 0;
	struct options o;

	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "IdentityFile d%d\n", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "Profile many\n");
	for (int i = 0; i < 13; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "IdentityFile p%d\n", i);
	CHECK_INT(parse_bytes(text, n), 0);
	CHECK_NO_ERRORS();
	options_init(&o);
	CHECK_INT(config_apply(&c, NULL, &o, err, sizeof(err)), 0);
	options_free(&o);
	options_init(&o);
	CHECK_INT(config_apply(&c, config_find(&c, "many"), &o, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:34: IdentityFile: too many identity files (at most 32)");
	CHECK_INT(o.n_identity_files, 32);
	options_free(&o);

	/* A small buffer: cut, terminated. */
	options_init(&o);
	memset(err, 'Z', sizeof(err));
	CHECK_INT(config_apply(&c, config_find(&c, "many"), &o, err, 8), -1);
	CHECK_STR(err, "t.conf:");
	CHECK_INT(err[8], 'Z');
	options_free(&o);
	options_init(&o);
	CHECK_INT(config_apply(&c, config_find(&c, "many"), &o, NULL, 0), -1);
	options_free(&o);
	config_free(&c);
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) == -1 ||
	    close(fd) == -1) {
		perror(path);
		abort();
	}
}

static void
test_load(void)
{
	char path[] = "/tmp/porthole-test-config-XXXXXX";
	char dir[] = "/tmp/porthole-test-configdir-XXXXXX";
	char want[256];
	int fd = mkstemp(path);

	if (fd == -1 || mkdtemp(dir) == NULL) {
		perror("mkstemp");
		abort();
	}
	close(fd);

	write_file(path, three_uses, sizeof(three_uses) - 1, 0600);
	CHECK_INT(config_load(&c, path), 0);
	CHECK_NO_ERRORS();
	CHECK_STR(c.file, path);
	CHECK_INT(c.n_profiles, 2);
	CHECK(config_find(&c, "mum") != NULL);
	/* Readable by others is fine, as for ssh. */
	CHECK_INT(chmod(path, 0644), 0);
	CHECK_INT(config_load(&c, path), 0);
	CHECK_INT(c.n_profiles, 2);

	/* Errors from the text name the path. */
	write_file(path, "Port 22\nBogus x\n", 16, 0600);
	CHECK_INT(config_load(&c, path), 1);
	snprintf(want, sizeof(want), "%s:2: unknown keyword 'Bogus'", path);
	CHECK_ERRORS(want);

	snprintf(want, sizeof(want), "%s: bad permissions: writable by group or others", path);
	CHECK_INT(chmod(path, 0666), 0);
	CHECK_INT(config_load(&c, path), 1);
	CHECK_ERRORS(want);
	CHECK_INT(c.n_defaults, 0);
	CHECK_INT(chmod(path, 0620), 0);
	CHECK_INT(config_load(&c, path), 1);
	CHECK_ERRORS(want);
	CHECK_INT(chmod(path, 0602), 0);
	CHECK_INT(config_load(&c, path), 1);
	CHECK_ERRORS(want);

	/* Only root can give a file away: check the owner then. */
	if (geteuid() == 0) {
		CHECK_INT(chmod(path, 0600), 0);
		CHECK_INT(chown(path, 65534, 65534), 0);
		CHECK_INT(config_load(&c, path), 1);
		snprintf(want, sizeof(want), "%s: bad owner", path);
		CHECK_ERRORS(want);
		/* Root's is fine: the file's own error comes through. */
		CHECK_INT(chown(path, 0, 0), 0);
		CHECK_INT(config_load(&c, path), 1);
		snprintf(want, sizeof(want), "%s:2: unknown keyword 'Bogus'", path);
		CHECK_ERRORS(want);
	}

	/* Up to 1 MiB. */
	{
		char *big = malloc(CONFIG_FILE_MAX + 1);
		if (big == NULL)
			abort();
		memset(big, '\n', CONFIG_FILE_MAX + 1);
		memcpy(big + CONFIG_FILE_MAX - 8, "Port 22\n", 8);
		write_file(path, big, CONFIG_FILE_MAX, 0600);
		CHECK_INT(config_load(&c, path), 0);
		CHECK_INT(c.n_defaults, 1);
		if (c.n_defaults == 1)
			CHECK_INT(c.defaults[0].line, CONFIG_FILE_MAX - 7);
		write_file(path, big, CONFIG_FILE_MAX + 1, 0600);
		CHECK_INT(config_load(&c, path), 1);
		snprintf(want, sizeof(want), "%s: too big (over 1 MiB)", path);
		CHECK_ERRORS(want);
		free(big);
	}

	CHECK_INT(unlink(path), 0);
	CHECK_INT(config_load(&c, path), 1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CHECK_ERRORS(want);
	CHECK_STR(c.file, path);

	CHECK_INT(config_load(&c, dir), 1);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	CHECK_ERRORS(want);
	CHECK_INT(rmdir(dir), 0);
	config_free(&c);
}

/*
 * 30,000 profiles, then a case-changed duplicate of one of them and 30,000
 * bad lines: every profile kept and found, the duplicate and every bad line
 * reported. Parsing grew quadratically once (minutes under ASan); this only
 * checks that the large file works, with no timing assertion.
 */
static void
test_suggest(void)
{
	const char *text = "Profile mum\nProfile office\nProfile dad\nProfile mum2\n";
	CHECK_INT(parse_bytes(text, strlen(text)), 0);
	const struct config_profile *p;
	CHECK((p = config_suggest(&c, "mun")) != NULL && strcmp(p->name, "mum") == 0);
	CHECK((p = config_suggest(&c, "MUM")) != NULL && strcmp(p->name, "mum") == 0);
	CHECK((p = config_suggest(&c, "ofice")) != NULL && strcmp(p->name, "office") == 0);
	CHECK((p = config_suggest(&c, "offcie")) != NULL && strcmp(p->name, "office") == 0);
	CHECK((p = config_suggest(&c, "ofcie")) != NULL && strcmp(p->name, "office") == 0);
	CHECK((p = config_suggest(&c, "da")) != NULL && strcmp(p->name, "dad") == 0);
	CHECK(config_suggest(&c, "xyz") == NULL);
	CHECK(config_suggest(&c, "mxn") == NULL); /* two edits: too far for a short name */
	CHECK(config_suggest(&c, "jump.example.com") == NULL);
	CHECK(config_suggest(&c, "") == NULL);
	config_free(&c);
}

static void
test_many_profiles(void)
{
	const size_t n = 30000;
	size_t cap = n * 48 + 64, len = 0;
	char *text = malloc(cap), want[128];

	if (text == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    text + len, cap - len, "Profile p%zu\nPort %zu\n", i, 1 + i % 65535);
	len += (size_t)snprintf(text + len, cap - len, "Profile P12345\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "Bogus%zu x\n", i);
	CHECK_INT(parse_bytes(text, len), n + 1);
	CHECK_INT(c.n_profiles, n);
	CHECK_STR(
	    c.errors[0], "t.conf:60001: profile 'P12345' defined twice (first at line 24691)");
	CHECK_STR(c.errors[n], "t.conf:90001: unknown keyword 'Bogus29999'");
	for (size_t i = 0; i < n; i += 997) {
		char name[32];
		snprintf(name, sizeof(name), "P%zu", i);
		const struct config_profile *p = config_find(&c, name);
		CHECK(p != NULL && p->line == (int)(2 * i + 1) && p->n_entries == 1);
	}
	snprintf(want, sizeof(want), "%zu", 1 + (n - 1) % 65535);
	CHECK_STR(c.profiles[n - 1].entries[0].value, want);
	config_free(&c);
	free(text);
}

int
main(void)
{
	test_init_free();
	test_separators();
	test_comments();
	test_quotes();
	test_words();
	test_line_ends();
	test_nul();
	test_long_line();
	test_keywords();
	test_profile_names();
	test_profiles();
	test_host_match();
	test_many_errors();
	test_apply();
	test_apply_order();
	test_apply_error();
	test_load();
	test_suggest();
	test_many_profiles();
	return check_done("config");
}
