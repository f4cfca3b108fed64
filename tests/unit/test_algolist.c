/*
 * Unit tests for algolist.c: ssh_config's four list forms against a default
 * and a supported list, names the build lacks reported, syntax errors with
 * their text, and buffers too small for the result.
 */
#include <stdio.h>
#include <string.h>

#include "algolist.h"
#include "check.h"

static const char *defaults = "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"
			      "aes128-gcm@openssh.com";
static const char *supported = "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
			       "aes128-gcm@openssh.com,aes256-ctr,aes128-ctr,aes256-cbc,3des-cbc";
static char out[ALGOLIST_MAX], dropped[ALGOLIST_MAX], err[256];

static int
apply(const char *spec)
{
	memset(out, 'Z', sizeof(out));
	memset(err, 'Z', sizeof(err));
	return algolist_apply(spec, defaults, supported, out, sizeof(out), dropped, sizeof(dropped),
	    err, sizeof(err));
}

#define CHECK_LIST(spec, want, want_dropped)                                                       \
	do {                                                                                       \
		CHECK_STR(apply(spec) == 0 ? out : err, want);                                     \
		CHECK_STR(dropped, want_dropped);                                                  \
	} while (0)

#define CHECK_FAIL(spec, why)                                                                      \
	do {                                                                                       \
		CHECK_INT(apply(spec), -1);                                                        \
		CHECK_STR(err, why);                                                               \
	} while (0)

static void
test_forms(void)
{
	CHECK_LIST(
	    NULL, "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com", "");
	CHECK_LIST(
	    "", "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com", "");
	/* A list replaces the default, in its own order. */
	CHECK_LIST("aes256-ctr,aes128-ctr", "aes256-ctr,aes128-ctr", "");
	/* '+' appends; a name already there stays where it was. */
	CHECK_LIST("+aes256-cbc,aes128-ctr",
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-cbc",
	    "");
	/* '^' puts names first. */
	CHECK_LIST("^aes256-ctr",
	    "aes256-ctr,chacha20-poly1305@openssh.com,aes128-ctr,"
	    "aes128-gcm@openssh.com",
	    "");
	/* '-' removes names and patterns from the default. */
	CHECK_LIST("-aes*-ctr", "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com", "");
	CHECK_LIST("-chacha20-poly1305@openssh.com,*gcm*", "aes128-ctr,aes256-ctr", "");
	CHECK_LIST("-3des-cbc",
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"
	    "aes128-gcm@openssh.com",
	    "");
	CHECK_LIST(
	    "-A?S128-CTR", "chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com", "");
	/* Duplicates are kept once. */
	CHECK_LIST("aes128-ctr,aes128-ctr,3des-cbc,aes128-ctr", "aes128-ctr,3des-cbc", "");
}

static void
test_unsupported(void)
{
	/* Names the build lacks are left out and reported, once each. */
	CHECK_LIST("aes128-ctr,umac-128@openssh.com,rot13,rot13", "aes128-ctr",
	    "umac-128@openssh.com,rot13");
	CHECK_LIST("+rot13",
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"
	    "aes128-gcm@openssh.com",
	    "rot13");
	CHECK_LIST("^rot13,aes256-ctr",
	    "aes256-ctr,chacha20-poly1305@openssh.com,aes128-ctr,"
	    "aes128-gcm@openssh.com",
	    "rot13");
	CHECK_FAIL("rot13,rot26", "this porthole has none of rot13,rot26");
	CHECK_FAIL("-*", "no algorithm left in '-*'");
	/* A default the library lacks is not offered (and not reported: not asked for). */
	CHECK_INT(algolist_apply(NULL, "rot13,aes128-ctr", supported, out, sizeof(out), dropped,
		      sizeof(dropped), err, sizeof(err)),
	    0);
	CHECK_STR(out, "aes128-ctr");
}

static void
test_syntax(void)
{
	CHECK_FAIL("aes*", "'aes*': patterns are allowed only after '-' (removing names)");
	CHECK_FAIL(
	    "+aes?28-ctr", "'aes?28-ctr': patterns are allowed only after '-' (removing names)");
	CHECK_FAIL("aes128-ctr,", "empty algorithm name in 'aes128-ctr,'");
	CHECK_FAIL(",aes128-ctr", "empty algorithm name in ',aes128-ctr'");
	CHECK_FAIL("+", "empty algorithm name in '+'");
	CHECK_FAIL("-", "empty algorithm name in '-'");
	CHECK_FAIL("aes128 ctr", "'aes128 ctr' is not an algorithm name");
	CHECK_FAIL("aes128-ctr,a\"b", "'a\"b' is not an algorithm name");
	CHECK_FAIL("^^aes128-ctr", "'^aes128-ctr' is not an algorithm name");
	CHECK_INT(algolist_check("hmac-sha2-256-etm@openssh.com,hmac-sha1", err, sizeof(err)), 0);
	CHECK_INT(algolist_check("-hmac-*,umac-??4-etm@openssh.com", err, sizeof(err)), 0);

	char longspec[ALGOLIST_MAX + 10];
	memset(longspec, 'a', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	CHECK_FAIL(longspec, "list too long (at most 2047 characters)");
}

static void
test_buffers(void)
{
	char small[12], tiny_err[8];

	/* A result that does not fit is an error, never a truncated list. */
	CHECK_INT(algolist_apply("aes128-ctr,aes256-ctr", defaults, supported, small, sizeof(small),
		      dropped, sizeof(dropped), err, sizeof(err)),
	    -1);
	CHECK_STR(err, "list too long (at most 11 characters)");
	CHECK_INT(algolist_apply("aes128-ctr", defaults, supported, small, sizeof(small), dropped,
		      sizeof(dropped), err, sizeof(err)),
	    0);
	CHECK_STR(small, "aes128-ctr");
	/* The error text is cut to its buffer and terminated. */
	memset(tiny_err, 'Z', sizeof(tiny_err));
	CHECK_INT(algolist_apply("aes*", defaults, supported, out, sizeof(out), dropped,
		      sizeof(dropped), tiny_err, sizeof(tiny_err)),
	    -1);
	CHECK_STR(tiny_err, "'aes*':");
}

static void
test_has(void)
{
	CHECK(algolist_has("a,bb,c", "bb", 2));
	CHECK(algolist_has("a,bb,c", "a", 1));
	CHECK(algolist_has("a,bb,c", "c", 1));
	CHECK(!algolist_has("a,bb,c", "b", 1));
	CHECK(!algolist_has("", "a", 1));
	CHECK(!algolist_has(NULL, "a", 1));
}

int
main(void)
{
	test_forms();
	test_unsupported();
	test_syntax();
	test_buffers();
	test_has();
	return check_done("algolist");
}
