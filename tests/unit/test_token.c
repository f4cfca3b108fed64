/*
 * Unit tests for token.c: every %-token of ssh_config(5) the default set
 * names, %%, ${ENV}, and each malformed input with its message. The results
 * were checked against OpenSSH 9.2's percent_expand and dollar_expand (ssh -G
 * with the same strings in ControlPath and UserKnownHostsFile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "token.h"

static struct token_values tv;
static char err[128];

static const char *
fake_env(const char *name, void *ctx)
{
	(void)ctx;
	if (strcmp(name, "HOME") == 0)
		return "/home/ann";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "PCT") == 0)
		return "%h"; /* a value is never expanded again */
	return NULL;
}

/* Expands in and compares with want; NULL want: must fail with err containing why. */
static void
expect(const char *in, int flags, const char *want, const char *why)
{
	err[0] = '\0';
	char *got = token_expand(in, flags, &tv, fake_env, NULL, err, sizeof(err));
	if (want != NULL) {
		CHECK_STR(got != NULL ? got : err, want);
	} else {
		CHECK(got == NULL);
		CHECK_STR(err, why);
	}
	free(got);
}

static void
setup(void)
{
	memset(&tv, 0, sizeof(tv));
	tv.v['C'] = "0123456789abcdef0123456789abcdef01234567";
	tv.v['d'] = "/home/ann";
	tv.v['h'] = "web.example.com";
	tv.v['i'] = "1000";
	tv.v['k'] = "web";
	tv.v['L'] = "laptop";
	tv.v['l'] = "laptop.lan";
	tv.v['n'] = "web";
	tv.v['p'] = "2222";
	tv.v['r'] = "deploy";
	tv.v['u'] = "ann";
}

static void
test_tokens(void)
{
	expect("", TOKEN_PERCENT, "", NULL);
	expect("plain", TOKEN_PERCENT, "plain", NULL);
	expect("%%", TOKEN_PERCENT, "%", NULL);
	expect("%%%%h", TOKEN_PERCENT, "%%h", NULL);
	expect("%C", TOKEN_PERCENT, "0123456789abcdef0123456789abcdef01234567", NULL);
	expect("%d/.ssh", TOKEN_PERCENT, "/home/ann/.ssh", NULL);
	expect("%h", TOKEN_PERCENT, "web.example.com", NULL);
	expect("%i", TOKEN_PERCENT, "1000", NULL);
	expect("%k", TOKEN_PERCENT, "web", NULL);
	expect("%L", TOKEN_PERCENT, "laptop", NULL);
	expect("%l", TOKEN_PERCENT, "laptop.lan", NULL);
	expect("%n", TOKEN_PERCENT, "web", NULL);
	expect("%p", TOKEN_PERCENT, "2222", NULL);
	expect("%r", TOKEN_PERCENT, "deploy", NULL);
	expect("%u", TOKEN_PERCENT, "ann", NULL);
	expect("~/.ssh/cm-%r@%h:%p", TOKEN_PERCENT, "~/.ssh/cm-deploy@web.example.com:2222", NULL);
	expect("%h%h", TOKEN_PERCENT, "web.example.comweb.example.com", NULL);
	/* Without TOKEN_PERCENT a '%' is itself. */
	expect("100%h", TOKEN_ENV, "100%h", NULL);
}

static void
test_token_errors(void)
{
	expect("%x", TOKEN_PERCENT, NULL, "unknown token %x");
	expect("a%", TOKEN_PERCENT, NULL, "'%' at the end");
	expect("%", TOKEN_PERCENT, NULL, "'%' at the end");
	expect("%%%", TOKEN_PERCENT, NULL, "'%' at the end");
	expect("%\x01", TOKEN_PERCENT, NULL, "unknown token %\\x01");
	expect("%\xff", TOKEN_PERCENT, NULL, "unknown token %\\xff");
	/* A token without a value here (HostName takes only %h) is unknown. */
	tv.v['p'] = NULL;
	expect("%h:%p", TOKEN_PERCENT, NULL, "unknown token %p");
	setup();
}

static void
test_env(void)
{
	int both = TOKEN_PERCENT | TOKEN_ENV;

	expect("${HOME}/.ssh", TOKEN_ENV, "/home/ann/.ssh", NULL);
	expect("a${EMPTY}b", TOKEN_ENV, "ab", NULL);
	expect("${PCT}", both, "%h", NULL);
	expect("$HOME", TOKEN_ENV, "$HOME", NULL);
	expect("$", TOKEN_ENV, "$", NULL);
	expect("$$", TOKEN_ENV, "$$", NULL);
	expect("${HOME}%h", both, "/home/annweb.example.com", NULL);
	/* Without TOKEN_ENV ${...} is literal. */
	expect("${HOME}", TOKEN_PERCENT, "${HOME}", NULL);
	expect("${NOPE}", TOKEN_ENV, NULL, "environment variable NOPE is not set");
	expect("${HOME", TOKEN_ENV, NULL, "'${' without '}'");
	expect("x${", TOKEN_ENV, NULL, "'${' without '}'");
	expect("${}", TOKEN_ENV, NULL, "empty ${}");
}

static void
test_check(void)
{
	CHECK_INT(token_check("%h:%p", TOKEN_PERCENT, "h", err, sizeof(err)), -1);
	CHECK_STR(err, "unknown token %p");
	CHECK_INT(token_check("%h %%", TOKEN_PERCENT, "h", err, sizeof(err)), 0);
	CHECK_INT(token_check(
		      "%C%d%h%i%k%L%l%n%p%r%u", TOKEN_PERCENT, TOKEN_DEFAULT_SET, err, sizeof(err)),
	    0);
	/* Unset variables are not checked; malformed references are. */
	CHECK_INT(token_check("${NOT_SET_ANYWHERE}", TOKEN_ENV, "", err, sizeof(err)), 0);
	CHECK_INT(token_check("${X", TOKEN_ENV, "", err, sizeof(err)), -1);
	CHECK_STR(err, "'${' without '}'");
	CHECK_INT(token_check("%", TOKEN_PERCENT, NULL, err, sizeof(err)), -1);
}

int
main(void)
{
	setup();
	test_tokens();
	test_token_errors();
	test_env();
	test_check();
	return check_done("token");
}
