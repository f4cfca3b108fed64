/*
 * Unit tests for jumpspec.c (ProxyJump / -J lists): accepted forms, errors,
 * formatting.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jumpspec.h"

static char err[256];

static int
parse(const char *text, struct jumpspec *j)
{
	memset(err, 0, sizeof(err));
	return jumpspec_parse(text, j, err, sizeof(err));
}

static void
test_forms(void)
{
	struct jumpspec j;
	char out[300];

	CHECK_INT(parse("bastion", &j), 0);
	CHECK_INT(j.n, 1);
	CHECK_STR(j.hops[0].host, "bastion");
	CHECK(j.hops[0].user == NULL);
	CHECK_INT(j.hops[0].port, -1);
	jumpspec_free(&j);

	CHECK_INT(parse("me@a.example:2222,b,you@[::1]:22,[fe80::1%eth0]:1", &j), 0);
	CHECK_INT(j.n, 4);
	CHECK_STR(j.hops[0].user, "me");
	CHECK_STR(j.hops[0].host, "a.example");
	CHECK_INT(j.hops[0].port, 2222);
	CHECK_STR(j.hops[1].host, "b");
	CHECK_STR(j.hops[2].host, "::1");
	CHECK_STR(j.hops[2].user, "you");
	CHECK_INT(j.hops[2].port, 22);
	CHECK_STR(j.hops[3].host, "fe80::1%eth0");
	jumpspec_format_hop(&j.hops[0], out, sizeof(out));
	CHECK_STR(out, "me@a.example:2222");
	jumpspec_format_hop(&j.hops[2], out, sizeof(out));
	CHECK_STR(out, "you@[::1]:22");
	jumpspec_format_hop(&j.hops[1], out, sizeof(out));
	CHECK_STR(out, "b");
	jumpspec_free(&j);

	/* The last '@' splits: user names may hold one. */
	CHECK_INT(parse("a@b@host", &j), 0);
	CHECK_STR(j.hops[0].user, "a@b");
	CHECK_STR(j.hops[0].host, "host");
	jumpspec_free(&j);

	CHECK_INT(parse("none", &j), 0);
	CHECK(j.none);
	CHECK_INT(j.n, 0);
}

static void
test_errors(void)
{
	struct jumpspec j;
	static const char *const bad[] = {"", ",", "a,", ",a", "@host", "user@", "h:0", "h:65536",
	    "h:x", "h:", "a:b:c", "[::1", "[::1]x", "[]", "[host]:22", "a b", "a/b", "[::1]:"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(parse(bad[i], &j), -1);
		CHECK(strstr(err, "bad jump host") != NULL);
		CHECK_INT(j.n, 0);
	}
	CHECK_INT(parse("a:b:c", &j), -1);
	CHECK_STR(err, "bad jump host 'a:b:c' (expected [user@]host[:port])");
	CHECK_INT(parse("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &j), -1);
	CHECK_STR(err, "more than 16 jump hosts in 'a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q'");
}

int
main(void)
{
	test_forms();
	test_errors();
	return check_done("jumpspec");
}
