/*
 * Unit tests for cli.c: destinations in every form, how -p and -l combine
 * with the destination's port and user, each option letter, and every usage
 * error with its exact text. cli_parse runs many times in one process, so
 * getopt's global state must not leak from one call into the next.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "log.h"

static struct options o;
static char err[512];

/* Parses "porthole ARGS..." into o (freed and reinitialised first). */
#define PARSE(...) parse_argv((char *[]){"porthole", __VA_ARGS__, NULL})

static enum cli_result
parse_argv(char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	options_free(&o);
	memset(err, 'Z', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	return cli_parse(argc, argv, &o, err, sizeof(err));
}

#define CHECK_RUN(...) CHECK_STR(PARSE(__VA_ARGS__) == CLI_RUN ? "" : err, "")

#define CHECK_USAGE(reason, ...)                                                                   \
	do {                                                                                       \
		CHECK_INT(PARSE(__VA_ARGS__), CLI_USAGE);                                          \
		CHECK_STR(err, reason);                                                            \
	} while (0)

static int
destination(const char *text)
{
	options_free(&o);
	memset(err, 'Z', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	return cli_parse_destination(text, &o, err, sizeof(err));
}

#define CHECK_DEST(text, want_user, want_host, want_port)                                          \
	do {                                                                                       \
		CHECK_STR(destination(text) == 0 ? "" : err, "");                                  \
		if ((want_user) == NULL)                                                           \
			CHECK(o.user == NULL);                                                     \
		else                                                                               \
			CHECK_STR(o.user, (want_user));                                            \
		CHECK_STR(o.host, (want_host));                                                    \
		CHECK_INT(o.port, (want_port));                                                    \
	} while (0)

#define CHECK_DEST_ERR(text, reason)                                                               \
	do {                                                                                       \
		CHECK_INT(destination(text), -1);                                                  \
		CHECK_STR(err, reason);                                                            \
		CHECK(o.host == NULL);                                                             \
		CHECK(o.user == NULL);                                                             \
		CHECK_INT(o.port, -1);                                                             \
	} while (0)

static void
test_destination(void)
{
	CHECK_DEST("host", NULL, "host", -1);
	CHECK_DEST("user@host", "user", "host", -1);
	CHECK_DEST("host:2222", NULL, "host", 2222);
	CHECK_DEST("user@host:2222", "user", "host", 2222);
	CHECK_DEST("h:1", NULL, "h", 1);
	CHECK_DEST("h:65535", NULL, "h", 65535);
	CHECK_DEST("10.0.0.1:22", NULL, "10.0.0.1", 22);
	CHECK_DEST("[::1]", NULL, "::1", -1);
	CHECK_DEST("[::1]:2222", NULL, "::1", 2222);
	CHECK_DEST("user@[fe80::1]:22", "user", "fe80::1", 22);
	CHECK_DEST("u@[fe80::1%eth0]", "u", "fe80::1%eth0", -1);
	CHECK_DEST("[host.example]:22", NULL, "host.example", 22);
	/* Without brackets, more than one colon is an IPv6 address with no port. */
	CHECK_DEST("::1", NULL, "::1", -1);
	CHECK_DEST("fe80::1:22", NULL, "fe80::1:22", -1);
	CHECK_DEST("u@::1", "u", "::1", -1);
	/* The last '@' ends the user name, as in ssh. */
	CHECK_DEST("a@b@host", "a@b", "host", -1);

	CHECK_DEST_ERR("@h", "@h: empty user name");
	CHECK_DEST_ERR("@[::1]:22", "@[::1]:22: empty user name");
	CHECK_DEST_ERR("h:99999", "h:99999: bad port '99999'");
	CHECK_DEST_ERR("h:0", "h:0: bad port '0'");
	CHECK_DEST_ERR("h:", "h:: bad port ''");
	CHECK_DEST_ERR("h:ssh", "h:ssh: bad port 'ssh'");
	CHECK_DEST_ERR("u@h:-1", "u@h:-1: bad port '-1'");
	CHECK_DEST_ERR("[::1]:65536", "[::1]:65536: bad port '65536'");
	CHECK_DEST_ERR("[::1]:", "[::1]:: bad port ''");
	CHECK_DEST_ERR("[::1", "[::1: unbalanced brackets");
	CHECK_DEST_ERR("u@[::1", "u@[::1: unbalanced brackets");
	CHECK_DEST_ERR("[::1]22", "[::1]22: unexpected text after ']'");
	CHECK_DEST_ERR("[::1]]", "[::1]]: unexpected text after ']'");
	CHECK_DEST_ERR("", ": missing host name");
	CHECK_DEST_ERR("u@", "u@: missing host name");
	CHECK_DEST_ERR(":22", ":22: missing host name");
	CHECK_DEST_ERR("[]", "[]: missing host name");
	CHECK_DEST_ERR("[]:22", "[]:22: missing host name");

	/* The destination fills only what is not set yet, and replaces the host. */
	options_free(&o);
	o.port = 7;
	o.user = strdup("me");
	CHECK_INT(cli_parse_destination("you@first:22", &o, err, sizeof(err)), 0);
	CHECK_INT(cli_parse_destination("second", &o, err, sizeof(err)), 0);
	CHECK_STR(o.host, "second");
	CHECK_STR(o.user, "me");
	CHECK_INT(o.port, 7);
	options_free(&o);
}

/* ssh://[user[;params]@]host[:port], as ssh 9.2 reads it. */
static void
test_ssh_url(void)
{
	CHECK_DEST("ssh://host", NULL, "host", -1);
	CHECK_DEST("ssh://bob@host.example:2222", "bob", "host.example", 2222);
	CHECK_DEST("ssh://bob@host", "bob", "host", -1);
	CHECK_DEST("ssh://b%6fb@host", "bob", "host", -1);
	CHECK_DEST("ssh://bob%40x@host", "bob@x", "host", -1);
	CHECK_DEST("ssh://bob;fingerprint=SHA256:xx@host", "bob", "host", -1);
	CHECK_DEST("ssh://bob@[::1]:2222", "bob", "::1", 2222);
	CHECK_DEST("ssh://[fe80::1]", NULL, "fe80::1", -1);
	/* Not a URL: the scheme is case-sensitive, as in ssh. */
	CHECK_DEST("SSH://bob@host", "SSH://bob", "host", -1);

	CHECK_DEST_ERR("ssh://bob@host/", "ssh://bob@host/: an ssh:// destination takes no path");
	CHECK_DEST_ERR("ssh://host/path", "ssh://host/path: an ssh:// destination takes no path");
	CHECK_DEST_ERR("ssh://@host", "ssh://@host: empty user name");
	CHECK_DEST_ERR("ssh://;x@host", "ssh://;x@host: empty user name");
	CHECK_DEST_ERR("ssh://b%4@host", "ssh://b%4@host: bad user name");
	CHECK_DEST_ERR("ssh://b%zz@host", "ssh://b%zz@host: bad user name");
	CHECK_DEST_ERR("ssh://b%00@host", "ssh://b%00@host: bad user name");
	CHECK_DEST_ERR("ssh://bob@host:0", "ssh://bob@host:0: host:0: bad port '0'");
	CHECK_DEST_ERR("ssh://bob@host:x", "ssh://bob@host:x: host:x: bad port 'x'");
	CHECK_DEST_ERR("ssh://", "ssh://: : missing host name");
	CHECK_DEST_ERR("ssh://bob@", "ssh://bob@: : missing host name");

	/* -p and -l still win over the URL's port and user. */
	CHECK_RUN("-p", "22", "-l", "al", "ssh://bob@host:2222");
	CHECK_STR(o.user, "al");
	CHECK_INT(o.port, 22);
	CHECK_STR(o.host, "host");
}

/* The letters that stand for keywords, and the harmless ones. */
static void
test_ssh_letters(void)
{
	CHECK_RUN("-4", "h");
	CHECK_INT(o.address_family, FAMILY_INET);
	CHECK_RUN("-6", "h");
	CHECK_INT(o.address_family, FAMILY_INET6);
	CHECK_RUN("-b", "127.0.0.2", "-B", "lo", "h");
	CHECK_STR(o.bind_address, "127.0.0.2");
	CHECK_STR(o.bind_interface, "lo");
	CHECK_RUN("-C", "-f", "-g", "h");
	CHECK_INT(o.compression, 1);
	CHECK_INT(o.fork_after_auth, 1);
	CHECK_INT(o.gateway_ports, 1);
	CHECK_RUN("-n", "-x", "-a", "-k", "-N", "-T", "-nxakNT", "h");
	CHECK_INT(o.compression, -1);
	CHECK_INT(o.fork_after_auth, -1);
	CHECK_RUN("-E", "/tmp/log", "h");
	CHECK_USAGE("option -b needs an argument", "h", "-b");
	CHECK_USAGE("option -E needs an argument", "h", "-E");
	CHECK_USAGE("option -B needs an argument", "h", "-B");
	CHECK_USAGE("option -J needs an argument", "h", "-J");
	CHECK_USAGE("unknown option -X (see porthole -h)", "-X", "h");
	CHECK_RUN("-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ConnectionAttempts=3",
	    "-o", "AddressFamily=inet6", "h");
	CHECK_INT(o.batch_mode, 1);
	CHECK_INT(o.connect_timeout, 5);
	CHECK_INT(o.connection_attempts, 3);
	CHECK_INT(o.address_family, FAMILY_INET6);
}

static void
test_user_and_port(void)
{
	CHECK_RUN("user@host:2222");
	CHECK_STR(o.user, "user");
	CHECK_STR(o.host, "host");
	CHECK_INT(o.port, 2222);

	/* -l and -p win over the destination's user@ and :port. */
	CHECK_RUN("-p", "2000", "-l", "me", "user@host:2222");
	CHECK_STR(o.user, "me");
	CHECK_INT(o.port, 2000);
	CHECK_STR(o.host, "host");
	CHECK_RUN("-p2000", "-lme", "[::1]:2222");
	CHECK_STR(o.user, "me");
	CHECK_INT(o.port, 2000);
	CHECK_STR(o.host, "::1");
	CHECK_RUN("-p", "2000", "user@host");
	CHECK_STR(o.user, "user");
	CHECK_INT(o.port, 2000);
	CHECK_RUN("-l", "me", "host:2222");
	CHECK_STR(o.user, "me");
	CHECK_INT(o.port, 2222);
	CHECK_RUN("-o", "Port=2000", "-o", "User=me", "user@host:2222");
	CHECK_STR(o.user, "me");
	CHECK_INT(o.port, 2000);
	CHECK_RUN("-l", "a", "-l", "b", "host");
	CHECK_STR(o.user, "b");
	CHECK_RUN("host");
	CHECK(o.user == NULL);
	CHECK_INT(o.port, -1);

	/* Options may follow the destination, as with ssh; other words are an error. */
	CHECK_RUN("user@host", "-p", "2000");
	CHECK_INT(o.port, 2000);
	CHECK_RUN("host:2222", "-l", "me", "-L", "8080:x:80");
	CHECK_STR(o.user, "me");
	CHECK_INT(o.port, 2222);
	CHECK_INT(o.n_forwards, 1);
	CHECK_USAGE(
	    "unexpected argument 'uptime': porthole runs no remote command", "host", "uptime");
	CHECK_USAGE("unexpected argument 'b': porthole runs no remote command", "a", "b", "c");
	CHECK_RUN("-p", "22", "--", "host");
	CHECK_STR(o.host, "host");
	CHECK_USAGE("unexpected argument 'x': porthole runs no remote command", "--", "host", "x");

	CHECK_USAGE("-l: empty user name", "-l", "", "host");
	CHECK_USAGE("-l: empty user name", "-l", "", "user@host");
	CHECK_USAGE("-i : IdentityFile: missing value", "-i", "", "host");
	CHECK_USAGE("-p : port out of range (1-65535)", "-p", "", "host");
	CHECK_USAGE("-p 0: port out of range (1-65535)", "-p", "0", "host");
	CHECK_USAGE("-p 65536: port out of range (1-65535)", "-p", "65536", "host");
	CHECK_USAGE("-p ssh: port out of range (1-65535)", "-p", "ssh", "host");
	CHECK_USAGE("h:99999: bad port '99999'", "h:99999");
	CHECK_USAGE("@h: empty user name", "@h");
	CHECK_USAGE("[::1: unbalanced brackets", "[::1");
}

static void
test_forwards(void)
{
	CHECK_RUN("-L", "8080:intranet:80", "host");
	CHECK_INT(o.n_forwards, 1);
	CHECK_INT(o.forwards[0].bind_port, 8080);
	CHECK_STR(o.forwards[0].host, "intranet");
	CHECK_INT(o.forwards[0].host_port, 80);

	CHECK_RUN(
	    "-L8080:a:80", "-L", "[::1]:8443:[fe80::1]:443", "-o", "LocalForward=1:b:2", "host");
	CHECK_INT(o.n_forwards, 3);
	CHECK_STR(o.forwards[0].host, "a");
	CHECK_STR(o.forwards[1].bind_host, "::1");
	CHECK_STR(o.forwards[1].host, "fe80::1");
	CHECK_STR(o.forwards[2].host, "b");

	CHECK_USAGE("-L 99999:x:80: port out of range (1-65535)", "-L", "99999:x:80", "host");
	CHECK_RUN("-L", "8080:h:53/udp", "-R", "5353:h:53/UDP", "host");
	CHECK(o.forwards[0].udp && o.forwards[1].udp);
	CHECK_USAGE("-L 8080: expected [bind_address:]port:host:hostport", "-L", "8080", "host");
	CHECK_USAGE("-L : expected [bind_address:]port:host:hostport", "-L", "", "host");
	/* A bad -L is reported even when a later argument is bad too. */
	CHECK_USAGE("-L x: expected [bind_address:]port:host:hostport", "-L", "x", "-Z", "host");
}

static void
test_identity_and_o(void)
{
	char *argv[(OPTION_MAX_IDENTITIES + 1) * 2 + 3];
	int argc = 0;

	CHECK_RUN("-i", "k1", "-ik2", "-o", "IdentityFile=k3", "host");
	CHECK_INT(o.n_identity_files, 3);
	CHECK_STR(o.identity_files[0], "k1");
	CHECK_STR(o.identity_files[1], "k2");
	CHECK_STR(o.identity_files[2], "k3");

	argv[argc++] = "porthole";
	for (int i = 0; i <= OPTION_MAX_IDENTITIES; i++) {
		argv[argc++] = "-i";
		argv[argc++] = "key";
	}
	argv[argc++] = "host";
	argv[argc] = NULL;
	CHECK_INT(parse_argv(argv), CLI_USAGE);
	CHECK_STR(err, "-i key: IdentityFile: too many identity files (at most 32)");
	CHECK_INT(o.n_identity_files, OPTION_MAX_IDENTITIES);

	CHECK_RUN("-o", "StrictHostKeyChecking=accept-new", "-o", "IdentitiesOnly yes", "-o",
	    "UserKnownHostsFile = /tmp/kh", "-oExitOnForwardFailure=yes", "-o", "gatewayports=no",
	    "host");
	CHECK_INT(o.strict_hostkey, STRICT_ACCEPT_NEW);
	CHECK_INT(o.identities_only, 1);
	CHECK_STR(o.known_hosts, "/tmp/kh");
	CHECK_INT(o.exit_on_forward_failure, 1);
	CHECK_INT(o.gateway_ports, 0);

	CHECK_USAGE("-o Bogus=1: unknown keyword 'Bogus'", "-o", "Bogus=1", "host");
	CHECK_USAGE("-o Bogus: unknown keyword 'Bogus'", "-o", "Bogus", "host");
	CHECK_USAGE("-o Port: Port: missing value", "-o", "Port", "host");
	CHECK_USAGE("-o StrictHostKeyChecking=never: bad value 'never' for StrictHostKeyChecking "
		    "(yes, accept-new, ask, no or off)",
	    "-o", "StrictHostKeyChecking=never", "host");
	CHECK_USAGE("-o =x: bad option '=x' (expected Keyword=value)", "-o", "=x", "host");
	CHECK_USAGE("-o GatewayPorts=maybe: bad value 'maybe' for GatewayPorts (yes or no)", "-o",
	    "GatewayPorts=maybe", "host");
}

static void
test_usage_errors(void)
{
	CHECK_USAGE("unknown option -Z (see porthole -h)", "-Z", "host");
	CHECK_INT(PARSE("-N", "-T", "host"), CLI_RUN);
	CHECK_USAGE("unknown option -Z (see porthole -h)", "-vZ", "host");
	CHECK_USAGE("unknown option --bogus (see porthole -h)", "--bogus", "host");
	CHECK_USAGE("unknown option --bogus=1 (see porthole -h)", "--bogus=1", "host");
	CHECK_USAGE("option --help takes no argument", "--help=x", "host");
	CHECK_USAGE("option --version takes no argument", "--version=1", "host");
	CHECK_INT(PARSE("--hel", "host"), CLI_EXIT);
	CHECK_USAGE("option -p needs an argument", "-p");
	CHECK_USAGE("option -l needs an argument", "-l");
	CHECK_USAGE("option -L needs an argument", "-L");
	CHECK_USAGE("option -i needs an argument", "-i");
	CHECK_USAGE("option -o needs an argument", "-o");
	CHECK_USAGE("option -o needs an argument", "-vo");
	/* An option's argument is the next word, even when it looks like a destination. */
	CHECK_USAGE("missing destination (see porthole -h)", "-p", "22");
	CHECK_USAGE("missing destination (see porthole -h)", "-l", "host");
	CHECK_USAGE("missing destination (see porthole -h)", "-v");
	CHECK_USAGE("missing destination (see porthole -h)", "--");
	CHECK_INT(parse_argv((char *[]){"porthole", NULL}), CLI_USAGE);
	CHECK_STR(err, "missing destination (see porthole -h)");
	CHECK_INT(parse_argv((char *[]){NULL}), CLI_USAGE);
	CHECK_STR(err, "missing destination (see porthole -h)");
}

static void
test_log_levels(void)
{
	CHECK_RUN("host");
	CHECK_INT(o.log_level, -1);
	CHECK_RUN("-v", "host");
	CHECK_INT(o.log_level, LOG_DEBUG1);
	CHECK_RUN("-vv", "host");
	CHECK_INT(o.log_level, LOG_DEBUG2);
	CHECK_RUN("-v", "-v", "host");
	CHECK_INT(o.log_level, LOG_DEBUG2);
	CHECK_RUN("-vvv", "host");
	CHECK_INT(o.log_level, LOG_DEBUG3);
	CHECK_RUN("-vvvvv", "host");
	CHECK_INT(o.log_level, LOG_DEBUG3);
	CHECK_RUN("-q", "host");
	CHECK_INT(o.log_level, LOG_ERROR);
	CHECK_RUN("-q", "-vvv", "host");
	CHECK_INT(o.log_level, LOG_ERROR);
	CHECK_RUN("-vq", "host");
	CHECK_INT(o.log_level, LOG_ERROR);
	CHECK_RUN("-o", "LogLevel=VERBOSE", "host");
	CHECK_INT(o.log_level, LOG_VERBOSE);
	CHECK_RUN("-o", "LogLevel=QUIET", "-v", "host");
	CHECK_INT(o.log_level, LOG_DEBUG1);
	/* The level is set only once the whole command line is good. */
	CHECK_USAGE("missing destination (see porthole -h)", "-vvv");
	CHECK_INT(o.log_level, -1);
}

static void
test_exit(void)
{
	CHECK_INT(PARSE("-V"), CLI_EXIT);
	CHECK_INT(PARSE("--version"), CLI_EXIT);
	CHECK_INT(PARSE("-h"), CLI_EXIT);
	CHECK_INT(PARSE("--help"), CLI_EXIT);
	CHECK_INT(PARSE("-V", "host"), CLI_EXIT);
	CHECK_INT(PARSE("-p", "22", "-h", "host", "extra"), CLI_EXIT);
	/* Help wins over a later bad argument, not over an earlier one. */
	CHECK_INT(PARSE("-h", "-Z"), CLI_EXIT);
	CHECK_USAGE("unknown option -Z (see porthole -h)", "-Z", "-h");
	fflush(stdout);
}

/*
 * getopt keeps its place inside a cluster of letters between calls. A parse
 * that stops in the middle of one ("-Vv", "-Zv") must not hand the rest of
 * that cluster, from an argv that is gone, to the next parse.
 */
static void
test_reparse(void)
{
	CHECK_INT(PARSE("-Vv", "host"), CLI_EXIT);
	CHECK_RUN("host");
	CHECK_INT(o.log_level, -1);
	CHECK_INT(PARSE("-hq", "host"), CLI_EXIT);
	CHECK_RUN("host");
	CHECK_INT(o.log_level, -1);
	CHECK_USAGE("unknown option -Z (see porthole -h)", "-Zv", "host");
	CHECK_RUN("host");
	CHECK_INT(o.log_level, -1);
	CHECK_USAGE("unknown option -Z (see porthole -h)", "-Zp", "host");
	CHECK_RUN("h");
	CHECK_INT(o.port, -1);
	CHECK_STR(o.host, "h");
	fflush(stdout);
}

static void
test_jump(void)
{
	CHECK_RUN("-J", "me@bastion:2222,gw", "host");
	CHECK_STR(o.proxy_jump, "me@bastion:2222,gw");
	CHECK_RUN("-Jnone", "host");
	CHECK_STR(o.proxy_jump, "none");
	CHECK_USAGE("-J a,,b: ProxyJump: bad jump host '' (expected [user@]host[:port])", "-J",
	    "a,,b", "host");
}

int
main(void)
{
	options_init(&o);
	test_destination();
	test_ssh_url();
	test_ssh_letters();
	test_user_and_port();
	test_forwards();
	test_identity_and_o();
	test_usage_errors();
	test_log_levels();
	test_exit();
	test_reparse();
	test_jump();
	options_free(&o);
	return check_done("cli");
}
