/*
 * Unit tests for sshconfig: lookups over embedded ssh_config texts (block
 * rules, syntax, first-value-wins) and over files in a temporary directory
 * for Include (globs, nesting, loops, unreadable files).
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

/* Looks alias up in text with Include disabled; returns what sshconfig_lookup_text returned. */
static int
lookup(const char *text, const char *alias, struct ssh_host *h)
{
	char err[256] = "";
	return sshconfig_lookup_text(
	    "config", text, strlen(text), NULL, alias, h, err, sizeof(err), SSHCONFIG_NO_INCLUDE);
}

/* Whether some note contains s. */
static bool
has_note(const struct ssh_host *h, const char *s)
{
	for (int i = 0; i < h->n_notes; i++) {
		if (strstr(h->notes[i], s) != NULL)
			return true;
	}
	return false;
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

static void
test_basic(void)
{
	struct ssh_host h;
	const char *text = "Host web\n"
			   "  HostName web.example.com\n"
			   "  Port 2222\n"
			   "  User deploy\n"
			   "  IdentityFile ~/.ssh/id_web\n"
			   "  ProxyJump bastion\n"
			   "  UserKnownHostsFile ~/.ssh/kh_web ~/.ssh/kh_other\n"
			   "  ForwardAgent yes\n"
			   "Host db\n"
			   "  HostName db.example.com\n";

	CHECK_INT(lookup(text, "web", &h), 0);
	CHECK(h.matched);
	CHECK_STR(h.host_name, "web.example.com");
	CHECK_INT(h.port, 2222);
	CHECK_STR(h.user, "deploy");
	CHECK_INT(h.n_identity_files, 1);
	CHECK_STR(h.identity_files[0], "~/.ssh/id_web");
	CHECK_STR(h.proxy_jump, "bastion");
	CHECK_STR(h.known_hosts, "~/.ssh/kh_web");
	CHECK_INT(h.n_notes, 0);
	ssh_host_free(&h);

	CHECK_INT(lookup(text, "other", &h), 0);
	CHECK(!h.matched);
	CHECK(h.host_name == NULL);
	CHECK_INT(h.port, 0);
	CHECK(h.user == NULL && h.proxy_jump == NULL && h.known_hosts == NULL);
	CHECK_INT(h.n_identity_files, 0);
	ssh_host_free(&h);
	ssh_host_free(&h); /* twice is harmless: the first emptied it */
	ssh_host_free(NULL);
}

static void
test_syntax(void)
{
	struct ssh_host h;
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
			   "\tProxyJump jump#1\n";

	CHECK_INT(lookup(text, "web", &h), 0);
	CHECK(h.matched);
	CHECK_STR(h.host_name, "web.example.com");
	CHECK_INT(h.port, 2222);
	CHECK_STR(h.user, "bob");
	CHECK_INT(h.n_identity_files, 3);
	CHECK_STR(h.identity_files[0], "~/.ssh/my key");
	CHECK_STR(h.identity_files[1], "/keys/its");
	CHECK_STR(h.identity_files[2], "/keys/back slash");
	CHECK_STR(h.proxy_jump, "jump#1"); /* '#' ends a line only where a word starts */
	ssh_host_free(&h);
}

static void
test_crlf_and_nul(void)
{
	struct ssh_host h;
	const char crlf[] =
	    "Host web\r\n  HostName web.example.com\r\n  Port 22\r\n  User bob \r\n";
	CHECK_INT(lookup(crlf, "web", &h), 0);
	CHECK_STR(h.host_name, "web.example.com");
	CHECK_INT(h.port, 22);
	CHECK_STR(h.user, "bob");
	ssh_host_free(&h);

	/* A NUL ends its line's content; the next line is read as usual; no final newline. */
	const char nul[] = "Host web\n  User bob\0 ignored\n  Port 2200";
	char err[64];
	CHECK_INT(sshconfig_lookup_text("c", nul, sizeof(nul) - 1, NULL, "web", &h, err,
		      sizeof(err), SSHCONFIG_NO_INCLUDE),
	    0);
	CHECK_STR(h.user, "bob");
	CHECK_INT(h.port, 2200);
	ssh_host_free(&h);

	/* len bounds the text: nothing past it is read. */
	CHECK_INT(sshconfig_lookup_text("c", "User al\nUser bob", 7, NULL, "x", &h, err,
		      sizeof(err), SSHCONFIG_NO_INCLUDE),
	    0);
	CHECK_STR(h.user, "al");
	ssh_host_free(&h);
	CHECK_INT(sshconfig_lookup_text("c", NULL, 0, NULL, "x", &h, err, sizeof(err), 0), 0);
	CHECK(!h.matched && h.n_notes == 0);
	ssh_host_free(&h);
}

static void
test_wildcards(void)
{
	struct ssh_host h;
	const char *text = "Host web?\n"
			   "  User webuser\n"
			   "Host *.example.com\n"
			   "  User example\n"
			   "Host *\n"
			   "  User everyone\n";

	lookup(text, "web1", &h);
	CHECK_STR(h.user, "webuser");
	ssh_host_free(&h);
	lookup(text, "web12", &h);
	CHECK_STR(h.user, "everyone");
	ssh_host_free(&h);
	lookup(text, "A.Example.COM", &h);
	CHECK_STR(h.user, "example");
	ssh_host_free(&h);
	lookup(text, "example.com", &h);
	CHECK_STR(h.user, "everyone");
	CHECK(h.matched);
	ssh_host_free(&h);
	lookup("Host WEB\n User w\n", "web", &h);
	CHECK_STR(h.user, "w");
	ssh_host_free(&h);
	/* Commas are not list separators on Host lines. */
	lookup("Host a,b\n User ab\n", "a", &h);
	CHECK(h.user == NULL && !h.matched);
	ssh_host_free(&h);
}

static void
test_negation(void)
{
	struct ssh_host h;
	const char *text = "Host *.example.com !bastion.example.com\n"
			   "  ProxyJump bastion.example.com\n"
			   "Host !db* *\n"
			   "  User notdb\n";

	lookup(text, "web.example.com", &h);
	CHECK_STR(h.proxy_jump, "bastion.example.com");
	CHECK_STR(h.user, "notdb");
	ssh_host_free(&h);
	lookup(text, "bastion.example.com", &h);
	CHECK(h.proxy_jump == NULL);
	CHECK_STR(h.user, "notdb");
	ssh_host_free(&h);
	lookup(text, "db1", &h);
	CHECK(h.proxy_jump == NULL && h.user == NULL);
	CHECK(!h.matched);
	ssh_host_free(&h);
	/* A negated pattern alone matches nothing. */
	lookup("Host !db\n User u\n", "web", &h);
	CHECK(h.user == NULL && !h.matched);
	ssh_host_free(&h);
}

static void
test_hostname_tokens(void)
{
	struct ssh_host h;

	lookup("Host *\n HostName %h.internal\n", "web", &h);
	CHECK_STR(h.host_name, "web.internal");
	ssh_host_free(&h);
	lookup("Host *\n HostName 100%%-%h-%h\n", "a", &h);
	CHECK_STR(h.host_name, "100%-a-a");
	ssh_host_free(&h);
	/* ssh refuses other tokens; here the line is skipped with a note and a later one wins. */
	lookup("Host web\n HostName %p.x\n HostName %\nHost *\n HostName fallback\n", "web", &h);
	CHECK_STR(h.host_name, "fallback");
	CHECK(has_note(&h, "config:2: HostName \"%p.x\" has an unknown %-token"));
	CHECK(has_note(&h, "config:3:"));
	ssh_host_free(&h);
}

static void
test_first_wins(void)
{
	struct ssh_host h;
	const char *text = "Host web\n"
			   "  Port 2222\n"
			   "  Port 2223\n"
			   "  IdentityFile ~/.ssh/id_web\n"
			   "Host web*\n"
			   "  HostName webs.example.com\n"
			   "  Port 3333\n"
			   "  IdentityFile ~/.ssh/id_webs\n"
			   "  IdentityFile ~/.ssh/id_web\n"
			   "Host *\n"
			   "  User everyone\n"
			   "  HostName default.example.com\n"
			   "  IdentityFile ~/.ssh/id_ed25519\n";

	lookup(text, "web", &h);
	CHECK_INT(h.port, 2222);
	CHECK_STR(h.host_name, "webs.example.com");
	CHECK_STR(h.user, "everyone");
	CHECK_INT(h.n_identity_files, 3); /* in order, the duplicate dropped */
	CHECK_STR(h.identity_files[0], "~/.ssh/id_web");
	CHECK_STR(h.identity_files[1], "~/.ssh/id_webs");
	CHECK_STR(h.identity_files[2], "~/.ssh/id_ed25519");
	ssh_host_free(&h);
}

static void
test_top_level(void)
{
	struct ssh_host h;
	const char *text = "User top\n"
			   "IdentityFile ~/.ssh/top\n"
			   "Host web\n"
			   "  User webuser\n"
			   "  IdentityFile ~/.ssh/web\n";

	lookup(text, "web", &h);
	CHECK_STR(h.user, "top");
	CHECK_INT(h.n_identity_files, 2);
	CHECK_STR(h.identity_files[0], "~/.ssh/top");
	CHECK_STR(h.identity_files[1], "~/.ssh/web");
	CHECK(h.matched);
	ssh_host_free(&h);
	lookup(text, "other", &h);
	CHECK_STR(h.user, "top");
	CHECK(!h.matched); /* top-level keywords are not a Host match */
	ssh_host_free(&h);
}

static void
test_match_skipped(void)
{
	struct ssh_host h;
	const char *text = "Match host web exec \"true\"\n"
			   "  User matchuser\n"
			   "  Include /etc/passwd\n"
			   "Host web\n"
			   "  User hostuser\n"
			   "Match all\n"
			   "  Port 1\n"
			   "Host *\n"
			   "  Port 22\n";

	lookup(text, "web", &h);
	CHECK_STR(h.user, "hostuser");
	CHECK_INT(h.port, 22);
	CHECK_INT(h.n_notes, 2);
	CHECK(has_note(&h, "config:1: Match block skipped"));
	CHECK(has_note(&h, "config:6: Match block skipped"));
	ssh_host_free(&h);
}

static void
test_bad_lines(void)
{
	struct ssh_host h;
	const char *text = "Host web\n"
			   "  Port 0\n"
			   "  Port 70000\n"
			   "  Port 22x\n"
			   "  Port -1\n"
			   "  Port 2222\n"
			   "  User\n"
			   "  User # only a comment\n"
			   "  User \"\"\n"
			   "  User a b\n"
			   "  User \"unclosed\n"
			   "  User ok\n"
			   "  NoSuchKeyword whatever\n"
			   "Host \"bad\n"
			   "  HostName fromunclosedhost\n"
			   "Host\n"
			   "  HostName fromemptyhost\n"
			   "Host \"\" web\n"
			   "  HostName fromemptypattern\n";

	CHECK_INT(lookup(text, "web", &h), 0);
	CHECK_INT(h.port, 2222);
	CHECK(has_note(&h, "config:2: bad Port \"0\""));
	CHECK(has_note(&h, "config:3: bad Port \"70000\""));
	CHECK(has_note(&h, "config:4:"));
	CHECK(has_note(&h, "config:5:"));
	CHECK_STR(h.user, "ok");
	CHECK(has_note(&h, "config:7: User has no argument"));
	CHECK(has_note(&h, "config:8: User has no argument"));
	CHECK(has_note(&h, "config:9: User has an empty value"));
	CHECK(has_note(&h, "config:10: User has extra arguments"));
	CHECK(has_note(&h, "config:11: User has an unclosed quote"));
	CHECK(!has_note(&h, "NoSuchKeyword"));
	CHECK(h.host_name == NULL); /* a Host line that does not parse opens a block for nobody */
	CHECK(has_note(&h, "config:14: Host has an unclosed quote"));
	CHECK(has_note(&h, "config:16: Host has no argument"));
	CHECK(has_note(&h, "config:18: Host has an empty pattern"));
	CHECK_INT(h.n_notes, 12);
	ssh_host_free(&h);

	/* Notes stop at SSHCONFIG_MAX_NOTES; the lookup goes on. */
	char big[2048] = "";
	for (int i = 0; i < 40; i++)
		strcat(big, "Port x\n");
	strcat(big, "Port 7\n");
	lookup(big, "any", &h);
	CHECK_INT(h.n_notes, SSHCONFIG_MAX_NOTES);
	CHECK_INT(h.port, 7);
	ssh_host_free(&h);

	/* IdentityFile stops at SSHCONFIG_MAX_IDENTITIES. */
	big[0] = '\0';
	for (int i = 0; i < 40; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "IdentityFile k%d\n", i);
	lookup(big, "any", &h);
	CHECK_INT(h.n_identity_files, SSHCONFIG_MAX_IDENTITIES);
	CHECK_STR(h.identity_files[SSHCONFIG_MAX_IDENTITIES - 1], "k31");
	CHECK(has_note(&h, "config:33: more than 32 IdentityFile values; \"k32\" dropped"));
	ssh_host_free(&h);
}

static void
test_no_include(void)
{
	struct ssh_host h;
	char err[256] = "";
	const char *text = "Include /etc/passwd conf.d/*\nUser u\n";

	CHECK_INT(sshconfig_lookup_text("config", text, strlen(text), "/nonexistent", "x", &h, err,
		      sizeof(err), SSHCONFIG_NO_INCLUDE),
	    0);
	CHECK_STR(h.user, "u");
	CHECK(has_note(&h, "config:1: Include /etc/passwd not followed"));
	CHECK(has_note(&h, "config:1: Include /nonexistent/conf.d/* not followed"));
	ssh_host_free(&h);

	/* With no base directory a relative Include is skipped, even when following. */
	CHECK_INT(sshconfig_lookup_text(
		      "config", "Include rel\n", 12, NULL, "x", &h, err, sizeof(err), 0),
	    0);
	CHECK(has_note(&h, "config:1: Include rel: relative path with no base directory"));
	ssh_host_free(&h);

	/* Starting deeper than the limit is itself an error. */
	CHECK_INT(sshconfig_lookup_text("config", "User u\n", 7, NULL, "x", &h, err, sizeof(err),
		      SSHCONFIG_MAX_DEPTH + 1),
	    -1);
	CHECK_STR(err, "config: Include nested deeper than 16 files");
	CHECK(h.user == NULL);
}

static void
test_missing_file(void)
{
	struct ssh_host h;
	char err[256] = "";

	CHECK_INT(sshconfig_lookup(tmp_path("does-not-exist"), "web", &h, err, sizeof(err)), 0);
	CHECK(!h.matched && h.host_name == NULL && h.n_notes == 0);
	ssh_host_free(&h);
	CHECK_INT(
	    sshconfig_lookup(tmp_path("does-not-exist/config"), "web", &h, err, sizeof(err)), 0);
	ssh_host_free(&h);
	/* A directory where the file should be is an error. */
	mkdir(tmp_path("adir"), 0700);
	CHECK_INT(sshconfig_lookup(tmp_path("adir"), "web", &h, err, sizeof(err)), -1);
	CHECK(strstr(err, "adir: cannot read: Is a directory") != NULL);
}

static void
test_include_glob(void)
{
	struct ssh_host h;
	char err[256] = "";

	mkdir(tmp_path("conf.d"), 0700);
	mkdir(tmp_path("conf.d/subdir"), 0700);
	write_file("conf.d/10-web", "Host web\n  HostName web.ten\n  User ten\n");
	write_file("conf.d/20-web",
	    "Host web\n  HostName web.twenty\n  Port 2020\n"
	    "Host *\n  IdentityFile ~/.ssh/twenty\n");
	write_file("main",
	    "Host web\n"
	    "  Include conf.d/*\n" /* inside a matching block */
	    "  Port 2222\n"	   /* still in "Host web": Host lines in includes stay there */
	    "Host other\n"
	    "  Include nothing-here-*\n"
	    "  Include /nonexistent/file\n"
	    "Include conf.d/2*\n"
	    "Host *\n"
	    "  User fallback\n");
	CHECK_INT(sshconfig_lookup(tmp_path("main"), "web", &h, err, sizeof(err)), 0);
	CHECK(h.matched);
	CHECK_STR(h.host_name, "web.ten"); /* sorted: 10-web before 20-web */
	CHECK_STR(h.user, "ten");
	CHECK_INT(h.port, 2020);
	CHECK_INT(h.n_identity_files, 1);
	CHECK_STR(h.identity_files[0], "~/.ssh/twenty");
	CHECK(has_note(&h, "conf.d/subdir is a directory"));
	ssh_host_free(&h);

	/* "other": its block's Includes are followed; "Include conf.d/2*" is in that block too. */
	CHECK_INT(sshconfig_lookup(tmp_path("main"), "other", &h, err, sizeof(err)), 0);
	CHECK(h.host_name == NULL && h.port == 0);
	CHECK_STR(h.user, "fallback");
	CHECK_STR(h.identity_files[0], "~/.ssh/twenty");
	CHECK(has_note(&h, "nothing-here-* matched no files"));
	CHECK(has_note(&h, "/nonexistent/file matched no files"));
	ssh_host_free(&h);

	/* Inside a block that does not apply, Include is not even looked at. */
	write_file("skip", "Host nomatch\n  Include loop-self\nHost *\n  Port 1\n");
	write_file("loop-self", "Include loop-self\n");
	CHECK_INT(sshconfig_lookup(tmp_path("skip"), "web", &h, err, sizeof(err)), 0);
	CHECK_INT(h.port, 1);
	ssh_host_free(&h);

	/* Absolute paths, and ~ from $HOME. */
	char text[600];
	snprintf(
	    text, sizeof(text), "Include %s\nInclude ~/conf.d/20-web\n", tmp_path("conf.d/10-web"));
	setenv("HOME", tmp, 1);
	CHECK_INT(sshconfig_lookup_text(
		      "inline", text, strlen(text), "/nonexistent", "web", &h, err, sizeof(err), 0),
	    0);
	CHECK_STR(h.host_name, "web.ten");
	CHECK_INT(h.port, 2020);
	ssh_host_free(&h);
}

static void
test_include_loops(void)
{
	struct ssh_host h;
	char err[512] = "";

	write_file("a", "User a\nInclude b\n");
	write_file("b", "\nInclude a\n");
	CHECK_INT(sshconfig_lookup(tmp_path("a"), "x", &h, err, sizeof(err)), -1);
	CHECK(strstr(err, "/b:2: Include loop: ") != NULL);
	CHECK(strstr(err, "/a is already being read") != NULL);
	CHECK(h.user == NULL && h.n_notes == 0); /* emptied on error */

	write_file("self", "Host *\n  Include self\n");
	CHECK_INT(sshconfig_lookup(tmp_path("self"), "x", &h, err, sizeof(err)), -1);
	CHECK(strstr(err, "/self:2: Include loop: ") != NULL);

	/* The same file twice, not nested, is no loop. */
	write_file("twice", "Include a2 a2\n");
	write_file("a2", "IdentityFile k\n");
	CHECK_INT(sshconfig_lookup(tmp_path("twice"), "x", &h, err, sizeof(err)), 0);
	CHECK_INT(h.n_identity_files, 1);
	ssh_host_free(&h);

	/* d0 includes d1 ... : 16 levels below the first file are allowed, 17 are not. */
	char name[32], text[64];
	for (int i = 0; i <= 17; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		snprintf(text, sizeof(text), "IdentityFile k%d\nInclude d%d\n", i, i + 1);
		write_file(name, text);
	}
	write_file("d16", "IdentityFile k16\n");
	CHECK_INT(sshconfig_lookup(tmp_path("d0"), "x", &h, err, sizeof(err)), 0);
	CHECK_INT(h.n_identity_files, 17);
	CHECK_STR(h.identity_files[16], "k16");
	ssh_host_free(&h);
	write_file("d16", "IdentityFile k16\nInclude d17\n");
	CHECK_INT(sshconfig_lookup(tmp_path("d0"), "x", &h, err, sizeof(err)), -1);
	CHECK(strstr(err, "/d16:2: Include nested deeper than 16 files") != NULL);
}

static void
test_include_unreadable(void)
{
	struct ssh_host h;
	char err[512] = "";

	/* A symlink loop exists (glob lists it) but cannot be opened: ELOOP, even for root. */
	mkdir(tmp_path("bad.d"), 0700);
	symlink("l2", tmp_path("bad.d/l1"));
	symlink("l1", tmp_path("bad.d/l2"));
	write_file("badinc", "User u\nInclude bad.d/*\n");
	CHECK_INT(sshconfig_lookup(tmp_path("badinc"), "x", &h, err, sizeof(err)), -1);
	CHECK(strstr(err, "/badinc:2: cannot read ") != NULL);
	CHECK(strstr(err, "bad.d/l1: Too many levels of symbolic links") != NULL);
	CHECK(h.user == NULL);

	/* A dangling symlink is a missing file: noted, skipped. */
	mkdir(tmp_path("dangling.d"), 0700);
	symlink("nowhere", tmp_path("dangling.d/link"));
	write_file("dangling", "Include dangling.d/*\nUser u\n");
	CHECK_INT(sshconfig_lookup(tmp_path("dangling"), "x", &h, err, sizeof(err)), 0);
	CHECK_STR(h.user, "u");
	CHECK(has_note(&h, "dangling.d/link does not exist"));
	ssh_host_free(&h);

	/* Permissions only stop a non-root user. */
	write_file("secret", "User s\n");
	chmod(tmp_path("secret"), 0);
	write_file("perm", "Include secret\n");
	if (geteuid() != 0) {
		CHECK_INT(sshconfig_lookup(tmp_path("perm"), "x", &h, err, sizeof(err)), -1);
		CHECK(strstr(err, "/perm:1: cannot read ") != NULL);
		CHECK(strstr(err, "secret: Permission denied") != NULL);
		CHECK_INT(sshconfig_lookup(tmp_path("secret"), "x", &h, err, sizeof(err)), -1);
		CHECK(strstr(err, "secret: cannot read: Permission denied") != NULL);
	}
}

static void
cleanup(void)
{
	char cmd[600];
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
	test_crlf_and_nul();
	test_wildcards();
	test_negation();
	test_hostname_tokens();
	test_first_wins();
	test_top_level();
	test_match_skipped();
	test_bad_lines();
	test_no_include();
	test_missing_file();
	test_include_glob();
	test_include_loops();
	test_include_unreadable();
	cleanup();
	return check_done("sshconfig");
}
