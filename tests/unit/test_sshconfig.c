/*
 * Unit tests for sshconfig: evaluation of embedded ssh_config texts (Host
 * and every Match criterion, negation, comma lists, the final pass,
 * first-value-wins and accumulation, syntax, value checks with their
 * messages) and of files in a temporary directory for Include (globs,
 * relative paths in ~/.ssh, Match inside included files, nesting, loops,
 * unreadable files). The expected results were checked with OpenSSH 9.2's
 * ssh -G on the same texts where ssh has the criterion.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sshconfig.h"

static char tmp[256];
static char err[512];
static struct sshconfig c;
static struct sshconfig_env env;
static const char *addrs[] = {"127.0.0.1", "192.168.1.20", "fe80::1"};
static int exec_calls;

/* "Match exec": the command is its exit status ("exit 3"), or "fail" for an error. */
static int
fake_exec(const char *cmd, void *ctx, char *why, size_t whylen)
{
	(void)ctx;
	exec_calls++;
	if (strcmp(cmd, "fail") == 0) {
		snprintf(why, whylen, "killed by signal 9");
		return -1;
	}
	if (strncmp(cmd, "exit ", 5) == 0)
		return atoi(cmd + 5);
	/* "test HOST" succeeds when HOST (after tokens) is "web.example.com". */
	return strcmp(cmd, "test web.example.com") == 0 ? 0 : 1;
}

static void
reset_env(const char *host)
{
	memset(&env, 0, sizeof(env));
	env.host_arg = host;
	env.local_user = "ann";
	env.home = tmp;
	env.uid = "1000";
	env.local_host = "laptop.lan";
	env.local_addrs = addrs;
	env.n_local_addrs = sizeof(addrs) / sizeof(addrs[0]);
	env.exec = fake_exec;
}

/* Evaluates text for host (no Include); returns what sshconfig_read_text returned. */
static int
eval(const char *text, const char *host)
{
	sshconfig_free(&c);
	reset_env(host);
	err[0] = '\0';
	return sshconfig_read_text(
	    "config", text, strlen(text), &env, &c, err, sizeof(err), SSHCONFIG_NO_INCLUDE);
}

/* The same with env as the caller set it. */
static int
eval_env(const char *text)
{
	sshconfig_free(&c);
	err[0] = '\0';
	return sshconfig_read_text(
	    "config", text, strlen(text), &env, &c, err, sizeof(err), SSHCONFIG_NO_INCLUDE);
}

/* Every value of keyword, joined by '|'; "" if none. */
static const char *
get(const char *keyword)
{
	static char buf[1024];
	buf[0] = '\0';
	for (size_t i = 0; i < c.n_entries; i++) {
		if (strcmp(c.entries[i].kw->name, keyword) != 0)
			continue;
		if (buf[0] != '\0')
			strcat(buf, "|");
		strncat(buf, c.entries[i].value, sizeof(buf) - strlen(buf) - 2);
	}
	return buf;
}

/* "file:line" of keyword's first entry. */
static const char *
where(const char *keyword)
{
	static char buf[512];
	const struct sshconfig_entry *e = sshconfig_find(&c, keyword);
	snprintf(buf, sizeof(buf), "%s:%d", e ? e->file : "-", e ? e->line : 0);
	return buf;
}

#define CHECK_ERR(text, host, msg)                                                                 \
	do {                                                                                       \
		CHECK_INT(eval(text, host), -1);                                                   \
		CHECK_STR(err, msg);                                                               \
	} while (0)

static void
test_basic(void)
{
	const char *text = "Host web\n"
			   "  HostName web.example.com\n"
			   "  Port 2222\n"
			   "  User deploy\n"
			   "  IdentityFile ~/.ssh/id_web\n"
			   "  ProxyJump bastion\n"
			   "  UserKnownHostsFile ~/.ssh/kh_web ~/.ssh/kh_other\n"
			   "  ForwardAgent yes\n"
			   "  LocalForward 8080 localhost:80\n"
			   "Host db\n"
			   "  HostName db.example.com\n";

	CHECK_INT(eval(text, "web"), 0);
	CHECK(c.matched);
	CHECK_STR(get("HostName"), "web.example.com");
	CHECK_STR(get("Port"), "2222");
	CHECK_STR(get("User"), "deploy");
	CHECK_STR(get("IdentityFile"), "~/.ssh/id_web");
	CHECK_STR(get("ProxyJump"), "bastion");
	CHECK_STR(get("UserKnownHostsFile"), "~/.ssh/kh_web ~/.ssh/kh_other");
	CHECK_STR(get("ForwardAgent"), "yes");
	CHECK_STR(get("LocalForward"), "8080 localhost:80");
	CHECK_STR(where("Port"), "config:3");
	CHECK_INT(c.n_entries, 8);
	/* The order of the file. */
	CHECK_STR(c.entries[0].kw->name, "HostName");
	CHECK_STR(c.entries[7].kw->name, "LocalForward");

	CHECK_INT(eval(text, "other"), 0);
	CHECK(!c.matched);
	CHECK_INT(c.n_entries, 0);
	sshconfig_free(&c);
	sshconfig_free(NULL);
}

static void
test_syntax(void)
{
	const char *text = "# a comment\n"
			   "\n"
			   "   \t\n"
			   "HOST=web\n"
			   "\tHOSTNAME = web.example.com # trailing comment\n"
			   "\tport=2222\n"
			   "\tUser =bob\n"
			   "\tIdentityFile \"~/.ssh/my key\"\n"
			   "\tIdentityFile '/keys/it''s'\n"
			   "\tIdentityFile /keys/back\\ slash\n"
			   "\tProxyCommand ssh -W \"%h:%p\" jump # kept as written\n"
			   "\tidentityfile2 /keys/old\n";

	CHECK_INT(eval(text, "web"), 0);
	CHECK_STR(get("HostName"), "web.example.com");
	CHECK_STR(get("Port"), "2222");
	CHECK_STR(get("User"), "bob");
	CHECK_STR(get("IdentityFile"), "~/.ssh/my key|/keys/its|/keys/back slash|/keys/old");
	CHECK_STR(get("ProxyCommand"), "ssh -W \"%h:%p\" jump # kept as written");

	const char crlf[] = "Host web\r\n  HostName web.example.com\r\n  User bob \r\n";
	CHECK_INT(eval(crlf, "web"), 0);
	CHECK_STR(get("User"), "bob");

	/* A NUL ends its line's content; len bounds the text. */
	const char nul[] = "Host web\n  User bob\0 ignored\n  Port 2200";
	reset_env("web");
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read_text(
		      "c", nul, sizeof(nul) - 1, &env, &c, err, sizeof(err), SSHCONFIG_NO_INCLUDE),
	    0);
	CHECK_STR(get("User"), "bob");
	CHECK_STR(get("Port"), "2200");
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read_text("c", "User al\nUser bob", 7, &env, &c, err, sizeof(err),
		      SSHCONFIG_NO_INCLUDE),
	    0);
	CHECK_STR(get("User"), "al");
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read_text("c", NULL, 0, &env, &c, err, sizeof(err), 0), 0);
	CHECK_INT(c.n_entries, 0);
}

static void
test_host_patterns(void)
{
	const char *text = "Host web?\n"
			   "  User webuser\n"
			   "Host *.example.com !bastion.example.com\n"
			   "  User example\n"
			   "Host !db* *\n"
			   "  User everyone\n";

	eval(text, "web1");
	CHECK_STR(get("User"), "webuser");
	eval(text, "web12");
	CHECK_STR(get("User"), "everyone");
	eval(text, "a.example.com");
	CHECK_STR(get("User"), "example");
	eval(text, "bastion.example.com");
	CHECK_STR(get("User"), "everyone");
	eval(text, "db1");
	CHECK_STR(get("User"), "");
	CHECK(!c.matched);
	/* Host lines are case-sensitive (ssh -G FOO does not match "Host foo"). */
	eval("Host foo\n User f\n", "FOO");
	CHECK_STR(get("User"), "");
	/* Commas are not list separators on Host lines. */
	eval("Host a,b\n User ab\n", "a");
	CHECK_STR(get("User"), "");
}

static void
test_first_wins(void)
{
	const char *text = "Host web\n"
			   "  Port 1\n"
			   "  IdentityFile a\n"
			   "  LocalForward 1 h:1\n"
			   "  SendEnv LANG\n"
			   "Host *\n"
			   "  Port 2\n"
			   "  User u\n"
			   "  IdentityFile b\n"
			   "  IdentityFile a\n"
			   "  LocalForward 2 h:2\n"
			   "  LocalForward 1 h:1\n"
			   "  UserKnownHostsFile k1 k2\n"
			   "  UserKnownHostsFile k3\n";

	CHECK_INT(eval(text, "web"), 0);
	CHECK_STR(get("Port"), "1");
	CHECK_STR(get("User"), "u");
	CHECK_STR(get("IdentityFile"), "a|b");
	CHECK_STR(get("LocalForward"), "1 h:1|2 h:2");
	CHECK_STR(get("UserKnownHostsFile"), "k1 k2");
	CHECK_STR(get("SendEnv"), "LANG");
}

static void
test_hostname_tokens(void)
{
	CHECK_INT(eval("Host web\n  HostName %h.example.com\n", "web"), 0);
	CHECK_STR(get("HostName"), "web.example.com");
	CHECK_INT(eval("HostName 100%%-%h\n", "a"), 0);
	CHECK_STR(get("HostName"), "100%-a");
	CHECK_ERR("Host web\n  HostName %p.example.com\n", "web",
	    "config:2: HostName %p.example.com: unknown token %p");
	CHECK_ERR("HostName x%\n", "web", "config:1: HostName x%: '%' at the end");
	/* Only a line that applies is expanded. */
	CHECK_INT(eval("Host other\n  HostName %p\n", "web"), 0);
}

static void
test_tokens_checked(void)
{
	CHECK_INT(eval("IdentityFile ~/.ssh/%r@%h-%p_%C_%d_%i_%k_%L_%l_%n_%u_%%\n", "w"), 0);
	CHECK_ERR("IdentityFile ~/.ssh/%x\n", "w", "config:1: IdentityFile: unknown token %x");
	CHECK_ERR("UserKnownHostsFile ${HOME/kh\n", "w",
	    "config:1: UserKnownHostsFile: '${' without '}'");
	CHECK_ERR("CertificateFile ${}\n", "w", "config:1: CertificateFile: empty ${}");
	/* ProxyCommand takes %h %n %p %r only. */
	CHECK_ERR("ProxyCommand nc %h %p %u\n", "w", "config:1: ProxyCommand: unknown token %u");
	/* Lines that do not apply are not expanded, as in ssh. */
	CHECK_INT(eval("Host x\n  IdentityFile %x\n", "w"), 0);
}

static void
test_match_host(void)
{
	const char *text = "Host web\n"
			   "  HostName Web.Example.com\n"
			   "Match host *.example.com\n"
			   "  User ex\n"
			   "Match originalhost web\n"
			   "  Port 2222\n"
			   "Match host !db*,*.com !originalhost x\n"
			   "  IdentityFile k\n"
			   "Match host db*,!*.example.com\n"
			   "  LocalForward 1 h:1\n";

	CHECK_INT(eval(text, "web"), 0);
	CHECK_STR(get("User"), "ex"); /* host is the HostName so far, case-folded */
	CHECK_STR(get("Port"), "2222");
	CHECK_STR(get("IdentityFile"), "k");
	CHECK_STR(get("LocalForward"), "");
	CHECK_INT(eval(text, "db.example.com"), 0);
	CHECK_STR(get("User"), "ex");
	CHECK_STR(get("IdentityFile"), "");
	CHECK_STR(get("LocalForward"), ""); /* a negated match wins over db* */
	CHECK_INT(eval(text, "DB1"), 0);
	CHECK_STR(get("LocalForward"), "1 h:1");
	/* HostName with %h, as Match sees it. */
	CHECK_INT(eval("HostName %h.example.com\nMatch host web.example.com\n Port 9\n", "web"), 0);
	CHECK_STR(get("Port"), "9");
	/* A HostName already given (command line) is what Match host sees. */
	reset_env("web");
	env.hostname = "cli.example.com";
	CHECK_INT(eval_env("HostName cfg.example.com\nMatch host cli.*\n Port 7\n"), 0);
	CHECK_STR(get("Port"), "7");
	CHECK_STR(get("HostName"), "cfg.example.com"); /* listed; the caller keeps its own */
	/* key=value form (OpenSSH 10). */
	CHECK_INT(eval("Match host=web\n Port 8\n", "web"), 0);
	CHECK_STR(get("Port"), "8");
}

static void
test_match_user(void)
{
	const char *text = "Host web\n"
			   "  User deploy\n"
			   "Match user deploy,!root\n"
			   "  Port 1\n"
			   "Match localuser ann\n"
			   "  IdentityFile ann\n"
			   "Match !localuser ann\n"
			   "  IdentityFile notann\n"
			   "Match user Deploy\n"
			   "  Compression yes\n";

	CHECK_INT(eval(text, "web"), 0);
	CHECK_STR(get("Port"), "1");
	CHECK_STR(get("IdentityFile"), "ann");
	CHECK_STR(get("Compression"), ""); /* user patterns are case-sensitive */
	/* Without User, Match user sees the local user. */
	CHECK_INT(eval(text, "other"), 0);
	CHECK_STR(get("Port"), "");
	CHECK_INT(eval("Match user ann\n Port 3\n", "x"), 0);
	CHECK_STR(get("Port"), "3");
	/* A user given on the command line. */
	reset_env("x");
	env.user = "root";
	CHECK_INT(eval_env("User deploy\nMatch user root\n Port 4\n"), 0);
	CHECK_STR(get("Port"), "4");
}

static void
test_match_exec(void)
{
	exec_calls = 0;
	CHECK_INT(eval("HostName web.example.com\nMatch exec \"test %h\"\n Port 5\n", "web"), 0);
	CHECK_STR(get("Port"), "5");
	CHECK_INT(exec_calls, 1);
	CHECK_INT(
	    eval("Match exec \"exit 1\"\n Port 5\nMatch !exec \"exit 1\"\n Port 6\n", "x"), 0);
	CHECK_STR(get("Port"), "6");
	/* After a failed criterion, exec is not run. */
	exec_calls = 0;
	CHECK_INT(eval("Match host nomatch exec \"exit 0\"\n Port 5\n", "x"), 0);
	CHECK_INT(exec_calls, 0);
	CHECK_STR(get("Port"), "");
	/* Tokens in the command: user, port and the rest so far. */
	CHECK_INT(eval("User u\nPort 2200\nMatch exec \"exit %p\"\n LogLevel ERROR\n", "x"), 0);
	CHECK_STR(get("LogLevel"), "");
	CHECK_INT(eval("Match exec \"exit %x\"\n Port 1\n", "x"), -1);
	CHECK_STR(err, "config:1: Match exec \"exit %x\": unknown token %x");
	CHECK_ERR(
	    "Match exec fail\n Port 1\n", "x", "config:1: Match exec \"fail\": killed by signal 9");
	reset_env("x");
	env.exec = NULL;
	CHECK_INT(eval_env("Match exec true\n"), -1);
	CHECK_STR(err, "config:1: Match exec \"true\": cannot run commands here");
}

static void
test_match_all_final_canonical(void)
{
	CHECK_INT(eval("Match all\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "1");
	CHECK(!c.final_pass);
	CHECK_INT(eval("Match !all\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "");
	/* "Match canonical all" is ssh_config(5)'s idiom: all after one criterion. */
	CHECK_INT(eval("Match canonical all\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "");
	CHECK(!c.final_pass);

	/* final: a second pass with HostName settled; what the first set stays. */
	const char *text = "Host web\n"
			   "  HostName WEB.internal\n"
			   "Match final host web.internal\n"
			   "  Port 2\n"
			   "  User final\n"
			   "Match !final\n"
			   "  User first\n"
			   "  IdentityFile first\n"
			   "Match final\n"
			   "  IdentityFile second\n"
			   "  IdentityFile first\n"
			   "Match canonical\n"
			   "  ServerAliveInterval 5\n";
	CHECK_INT(eval(text, "web"), 0);
	CHECK(c.final_pass);
	CHECK_STR(get("Port"), "2");
	CHECK_STR(get("User"), "first");
	CHECK_STR(get("IdentityFile"), "first|second");
	CHECK_STR(get("ServerAliveInterval"), "5");
	/* In the final pass Match host sees the HostName lowercased, even without HostName. */
	CHECK_INT(eval("Match final host abc\n Port 3\n", "ABC"), 0);
	CHECK_STR(get("Port"), "3");
	/* In the final pass Host lines see the settled host name, and HostName is settled. */
	CHECK_INT(eval("HostName Web.Example.COM\nMatch final\n  HostName other\n"
		       "Host *.example.com\n  Port 5\n",
		      "web"),
	    0);
	CHECK_STR(get("Port"), "5");
	CHECK_STR(get("HostName"), "Web.Example.COM");
	CHECK_INT(eval("Match final\n  HostName other\n", "web"), 0);
	CHECK_STR(get("HostName"), "");
	/* CanonicalizeHostname asks for the second pass too. */
	CHECK_INT(eval("CanonicalizeHostname yes\nMatch canonical\n Port 4\n", "x"), 0);
	CHECK_STR(get("Port"), "4");
	CHECK(c.final_pass);
	CHECK_INT(eval("CanonicalizeHostname no\nMatch canonical\n Port 4\n", "x"), 0);
	CHECK_STR(get("Port"), "");
}

static void
test_match_localnetwork(void)
{
	CHECK_INT(eval("Match localnetwork 192.168.1.0/24\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "1");
	CHECK_INT(eval("Match localnetwork 10.0.0.0/8,172.16.0.0/12\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "");
	CHECK_INT(eval("Match !localnetwork 10.0.0.0/8\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "1");
	CHECK_INT(eval("Match localnetwork fe80::/10\n Port 2\n", "x"), 0);
	CHECK_STR(get("Port"), "2");
	CHECK_INT(eval("Match localnetwork 127.0.0.1\n Port 3\n", "x"), 0);
	CHECK_STR(get("Port"), "3");
	CHECK_ERR("Match localnetwork 192.168.1.1/24\n", "x",
	    "config:1: Match localnetwork: host bits set in '192.168.1.1/24'");
	CHECK_ERR("Match localnetwork 10.0.0.0/33\n", "x",
	    "config:1: Match localnetwork: bad mask length in '10.0.0.0/33'");
	CHECK_ERR(
	    "Match localnetwork lan\n", "x", "config:1: Match localnetwork: bad network 'lan'");
	CHECK_ERR("Match localnetwork 10.0.0.0/8,\n", "x",
	    "config:1: Match localnetwork: bad network ''");
}

static void
test_match_errors(void)
{
	CHECK_ERR("Match\n", "x", "config:1: Match: missing argument");
	CHECK_ERR("Match host\n", "x", "config:1: Match: missing argument for 'host'");
	CHECK_ERR("Match host=\n", "x", "config:1: Match: missing argument for 'host'");
	CHECK_ERR("Match bogus x\n", "x", "config:1: Match: unsupported criterion 'bogus'");
	CHECK_ERR("Match all host x\n", "x",
	    "config:1: Match: 'all' cannot be combined with other criteria");
	CHECK_ERR("Match host a user b all\n", "x",
	    "config:1: Match: 'all' cannot be combined with other criteria");
	CHECK_ERR("Match \"host\n", "x", "config:1: Match: unclosed quote");
	/* Errors in blocks that do not apply count too. */
	CHECK_ERR(
	    "Host nomatch\nMatch bogus x\n", "y", "config:2: Match: unsupported criterion 'bogus'");
	/* A comment ends the criteria. */
	CHECK_INT(eval("Match all # everything\n Port 1\n", "x"), 0);
	CHECK_STR(get("Port"), "1");
}

static void
test_values_checked(void)
{
	CHECK_ERR("Port 0\n", "x", "config:1: Port: bad port '0' (1-65535)");
	CHECK_ERR("Host other\n  Port abc\n", "x", "config:2: Port: bad port 'abc' (1-65535)");
	CHECK_ERR("Port 70000\n", "x", "config:1: Port: bad port '70000' (1-65535)");
	CHECK_ERR("Port 22 23\n", "x", "config:1: Port: extra arguments after '22'");
	CHECK_ERR("Port\n", "x", "config:1: Port: missing argument");
	CHECK_ERR("Port \"\"\n", "x", "config:1: Port: missing argument");
	CHECK_ERR("Compression maybe\n", "x", "config:1: Compression: bad value 'maybe' (yes,no)");
	CHECK_ERR("ForwardX11 maybe\n", "x", "config:1: ForwardX11: bad value 'maybe' (yes or no)");
	CHECK_ERR("ServerAliveCountMax -1\n", "x",
	    "config:1: ServerAliveCountMax: bad number '-1' (0 or more)");
	CHECK_ERR("ConnectionAttempts x\n", "x",
	    "config:1: ConnectionAttempts: bad number 'x' (0 or more)");
	CHECK_ERR("ServerAliveInterval 5x\n", "x",
	    "config:1: ServerAliveInterval: bad time '5x' (e.g. 30, 90s, 5m, 1h30m)");
	CHECK_ERR("LogLevel LOUD\n", "x",
	    "config:1: LogLevel: bad log level 'LOUD' (QUIET, FATAL, ERROR, INFO, VERBOSE, "
	    "DEBUG1-3)");
	CHECK_ERR(
	    "LocalForward 8080\n", "x", "config:1: LocalForward: missing argument after '8080'");
	CHECK_ERR("SendEnv A=B\n", "x", "config:1: SendEnv: bad environment name 'A=B'");
	CHECK_ERR("UserKnownHostsFile none k\n", "x",
	    "config:1: UserKnownHostsFile: \"none\" must appear alone");
	CHECK_ERR("StrictHostKeyChecking sometimes\n", "x",
	    "config:1: StrictHostKeyChecking: bad value 'sometimes' "
	    "(yes,no,true,false,ask,off,accept-new)");
	CHECK_ERR("IdentityAgent ${SOCK\n", "x",
	    "config:1: IdentityAgent: bad environment reference in '${SOCK': '${' without '}'");
	CHECK_ERR("User \"bob\n", "x", "config:1: User: unclosed quote");
	CHECK_ERR("Bogus yes\n", "x", "config:1: unknown keyword 'Bogus'");
	CHECK_ERR("Host\n", "x", "config:1: Host: missing argument");
	CHECK_ERR("Host a \"\"\n", "x", "config:1: Host has an empty pattern");
	/* A time of "none" is "not set" to ssh: a later line still sets it. */
	CHECK_INT(eval("ConnectTimeout none\nConnectTimeout 5\nConnectTimeout 7\n", "x"), 0);
	CHECK_STR(get("ConnectTimeout"), "5");
	CHECK_STR(where("ConnectTimeout"), "config:2");
	CHECK_INT(eval("ConnectTimeout none\n", "x"), 0);
	CHECK_STR(get("ConnectTimeout"), "none");
	/* Good values of each kind. */
	CHECK_INT(eval("Port 65535\nServerAliveInterval 1h30m\nConnectTimeout none\n"
		       "ForwardX11 true\nStrictHostKeyChecking accept-new\nEscapeChar ^A\n"
		       "StreamLocalBindMask 0177\nControlPersist 10m\nSetEnv A=b\n"
		       "RemoteForward 9000\nIPQoS af21 cs1\nLogLevel debug3\n",
		      "x"),
	    0);
	CHECK_STR(err, "");
	/* IgnoreUnknown: named keywords pass (case-insensitive patterns), only after it. */
	CHECK_INT(eval("IgnoreUnknown UseKeychain,Add*\nUseKeychain yes\nAddThing 1\n", "x"), 0);
	CHECK_ERR("UseKeychain yes\nIgnoreUnknown UseKeychain\n", "x",
	    "config:1: unknown keyword 'UseKeychain'");
}

static void
test_big(void)
{
	/* Large files stay linear: 100,000 Host blocks and as many repeated lines. */
	size_t n = 100000, cap = n * 40, len = 0;
	char *text = malloc(cap);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    text + len, cap - len, "Host h%zu\n Port %zu\n SendEnv A\n", i, i % 60000 + 1);
	CHECK_INT(eval(text, "h99999"), 0);
	CHECK_STR(get("Port"), "40000");
	CHECK_INT(eval(text, "nomatch"), 0);
	CHECK_INT(c.n_entries, 0);
	/* Accumulating keywords are bounded. */
	len = 0;
	for (size_t i = 0; i <= SSHCONFIG_MAX_VALUES; i++)
		len += (size_t)snprintf(text + len, cap - len, "IdentityFile k%zu\n", i);
	CHECK_INT(eval(text, "x"), -1);
	CHECK_STR(err, "config:1025: more than 1024 IdentityFile values");
	free(text);
}

static void
test_no_include(void)
{
	CHECK_INT(eval("Include conf.d/*\nUser u\n", "x"), 0);
	CHECK_STR(get("User"), "u");
	CHECK(c.n_notes >= 1 && strstr(c.notes[0], "not followed") != NULL);
}

static void
write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char *
tmp_path(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return path;
}

static int
read_file(const char *name, const char *host)
{
	sshconfig_free(&c);
	reset_env(host);
	err[0] = '\0';
	return sshconfig_read(tmp_path(name), &env, &c, err, sizeof(err));
}

static bool
has_note(const char *s)
{
	for (int i = 0; i < c.n_notes; i++)
		if (strstr(c.notes[i], s) != NULL)
			return true;
	return false;
}

static void
test_include(void)
{
	mkdir(tmp_path(".ssh"), 0700);
	mkdir(tmp_path(".ssh/conf.d"), 0700);
	mkdir(tmp_path(".ssh/conf.d/subdir"), 0700);
	write_file(".ssh/conf.d/10-web", "Host web\n  HostName web.ten\n  User ten\n");
	write_file(".ssh/conf.d/20-web",
	    "Host web\n  HostName web.twenty\n  Port 2020\n"
	    "Host *\n  IdentityFile ~/.ssh/twenty\n");
	write_file(".ssh/config",
	    "Host web\n"
	    "  Include conf.d/*\n" /* relative: in ~/.ssh */
	    "  Port 2222\n"	   /* still in "Host web" */
	    "Host other\n"
	    "  Include nothing-here-*\n"
	    "Include conf.d/2*\n"
	    "Host *\n"
	    "  User fallback\n");
	CHECK_INT(read_file(".ssh/config", "web"), 0);
	CHECK_STR(get("HostName"), "web.ten"); /* sorted: 10-web before 20-web */
	CHECK_STR(get("User"), "ten");
	CHECK_STR(get("Port"), "2020");
	CHECK_STR(get("IdentityFile"), "~/.ssh/twenty");
	CHECK(strstr(where("Port"), ".ssh/conf.d/20-web:3") != NULL);
	CHECK(has_note("conf.d/subdir is a directory"));

	CHECK_INT(read_file(".ssh/config", "other"), 0);
	CHECK_STR(get("HostName"), "");
	CHECK_STR(get("User"), "fallback");
	CHECK(has_note("nothing-here-* matched no files"));

	/* Match inside an included file, and Include inside Match. */
	write_file(".ssh/m.conf", "Match user deploy\n  Port 7\n");
	write_file(".ssh/mconfig", "User deploy\nMatch host web\n  Include m.conf\n  User after\n");
	CHECK_INT(read_file(".ssh/mconfig", "web"), 0);
	CHECK_STR(get("Port"), "7");
	CHECK_INT(read_file(".ssh/mconfig", "x"), 0);
	CHECK_STR(get("Port"), "");

	/* An included file in a block that does not apply is still checked. */
	write_file(".ssh/bad.conf", "Port abc\n");
	write_file(".ssh/skip", "Host nomatch\n  Include bad.conf\n");
	CHECK_INT(read_file(".ssh/skip", "web"), -1);
	CHECK(strstr(err, ".ssh/bad.conf:1: Port: bad port 'abc' (1-65535)") != NULL);

	/* ~ and absolute paths. */
	char text[600];
	snprintf(text, sizeof(text), "Include %s\nInclude ~/.ssh/conf.d/20-web\n",
	    tmp_path(".ssh/conf.d/10-web"));
	write_file("abs", text);
	CHECK_INT(read_file("abs", "web"), 0);
	CHECK_STR(get("HostName"), "web.ten");
	CHECK_STR(get("Port"), "2020");

	/* Missing files are nothing; a directory is an error. */
	CHECK_INT(read_file("does-not-exist", "web"), 0);
	CHECK_INT(c.n_entries, 0);
	CHECK_INT(read_file(".ssh/conf.d", "web"), -1);
	CHECK(strstr(err, "conf.d: cannot read: Is a directory") != NULL);
}

static void
test_include_limits(void)
{
	write_file(".ssh/a", "User a\nInclude b\n");
	write_file(".ssh/b", "\nInclude a\n");
	CHECK_INT(read_file(".ssh/a", "x"), -1);
	CHECK(strstr(err, "/b:2: Include loop: ") != NULL);

	/* d0 includes d1 ...: 16 levels below the first file are allowed, 17 are not. */
	char name[32], text[64];
	for (int i = 0; i <= 17; i++) {
		snprintf(name, sizeof(name), ".ssh/d%d", i);
		snprintf(text, sizeof(text), "IdentityFile k%d\nInclude d%d\n", i, i + 1);
		write_file(name, text);
	}
	write_file(".ssh/d16", "IdentityFile k16\n");
	CHECK_INT(read_file(".ssh/d0", "x"), 0);
	CHECK(strstr(get("IdentityFile"), "|k16") != NULL);
	write_file(".ssh/d16", "IdentityFile k16\nInclude d17\n");
	CHECK_INT(read_file(".ssh/d0", "x"), -1);
	CHECK(strstr(err, "/d16:2: Include nested deeper than 16 files") != NULL);

	/* Permissions, as ssh checks them. */
	write_file(".ssh/open", "User o\n");
	chmod(tmp_path(".ssh/open"), 0666);
	write_file(".ssh/incopen", "Include open\n");
	reset_env("x");
	env.check_perms = true;
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read(tmp_path(".ssh/incopen"), &env, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "incopen:1: bad owner or permissions on ") != NULL);
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read(tmp_path(".ssh/open"), &env, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "open: bad owner or permissions") != NULL);
	sshconfig_free(&c);
}

static void
test_system_file(void)
{
	write_file("user", "Host web\n  Port 1\nMatch final\n  LogLevel ERROR\n");
	write_file("system",
	    "Host *\n  Port 2\n  User sys\n  HashKnownHosts yes\n"
	    "Match final host web\n  ServerAliveCountMax 9\n");
	char user[512], nope[512];
	snprintf(user, sizeof(user), "%s", tmp_path("user"));
	snprintf(nope, sizeof(nope), "%s", tmp_path("nope"));
	reset_env("web");
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read_files(user, tmp_path("system"), &env, &c, err, sizeof(err)), 0);
	CHECK_STR(get("Port"), "1"); /* the user's file first */
	CHECK_STR(get("User"), "sys");
	CHECK_STR(get("LogLevel"), "ERROR");
	CHECK_STR(get("ServerAliveCountMax"), "9"); /* the final pass reads both again */
	const struct sshconfig_entry *e = sshconfig_find(&c, "HashKnownHosts");
	CHECK(e != NULL && e->system && strstr(e->file, "/system") != NULL);
	CHECK(!sshconfig_find(&c, "Port")->system);
	/* Either may be missing; "~" is refused in the system-wide file's Include. */
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read_files(nope, tmp_path("system"), &env, &c, err, sizeof(err)), 0);
	CHECK_STR(get("Port"), "2");
	write_file("system", "Include ~/.ssh/x\n");
	sshconfig_free(&c);
	CHECK_INT(sshconfig_read_files(NULL, tmp_path("system"), &env, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "system:1: Include ~/.ssh/x: ~ in the system-wide file") != NULL);
	sshconfig_free(&c);
}

static void
cleanup(void)
{
	char cmd[600];
	sshconfig_free(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/test_sshconfig.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_basic();
	test_syntax();
	test_host_patterns();
	test_first_wins();
	test_hostname_tokens();
	test_tokens_checked();
	test_match_host();
	test_match_user();
	test_match_exec();
	test_match_all_final_canonical();
	test_match_localnetwork();
	test_match_errors();
	test_values_checked();
	test_big();
	test_no_include();
	test_include();
	test_include_limits();
	test_system_file();
	cleanup();
	return check_done("sshconfig");
}
