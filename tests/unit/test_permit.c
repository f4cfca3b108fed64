/*
 * Unit tests for permit.c: every accepted entry form, the errors, matching
 * (case, wildcards, brackets, PORT alone meaning loopback) and the loopback
 * test.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "permit.h"

static char err[256];

static int
add(struct permit_list *l, const char *text, bool port_only)
{
	memset(err, 0, sizeof(err));
	return permit_add(l, text, port_only, err, sizeof(err));
}

static void
test_parse_errors(void)
{
	struct permit_list l = {0};

	CHECK_INT(add(&l, "host", false), -1);
	CHECK_STR(err, "host: expected HOST:PORT (IPv6 in brackets)");
	CHECK_INT(add(&l, "::1:53", false), -1);
	CHECK_INT(add(&l, "[::1]53", false), -1);
	CHECK_STR(err, "[::1]53: expected [IPV6]:PORT");
	CHECK_INT(add(&l, ":53", false), -1);
	CHECK_STR(err, ":53: empty host");
	CHECK_INT(add(&l, "h:65536", false), -1);
	CHECK_STR(err, "h:65536: port must be 0-65535 or *");
	CHECK_INT(add(&l, "h:", false), -1);
	CHECK_INT(add(&l, "h:5x", false), -1);
	CHECK_INT(add(&l, "53", false), -1); /* PORT alone only where allowed */
	CHECK_INT(add(&l, "5x", true), -1);
	CHECK_STR(err, "5x: expected [HOST:]PORT, port 0-65535 or *");
	CHECK(!l.given);
	CHECK_INT(l.n, 0);
	permit_free(&l);
}

static void
test_match(void)
{
	struct permit_list l = {0};

	CHECK_INT(add(&l, "Example.COM:53", false), 0);
	CHECK_INT(add(&l, "[fe80::1]:*", false), 0);
	CHECK_INT(add(&l, "*:123", false), 0);
	CHECK(l.given);
	CHECK(permit_match(&l, "example.com", 53));
	CHECK(!permit_match(&l, "example.com", 54));
	CHECK(!permit_match(&l, "www.example.com", 53));
	CHECK(permit_match(&l, "FE80::1", 9));
	CHECK(permit_match(&l, "anything", 123));
	CHECK(!permit_match(&l, "10.0.0.1", 80));
	permit_free(&l);
	CHECK_INT(l.n, 0);

	CHECK(permit_open_allows(&l, "anything", 1)); /* nothing given: all allowed */
	CHECK_INT(add(&l, "none", false), 0);
	CHECK(l.given);
	CHECK(!permit_match(&l, "127.0.0.1", 53));
	CHECK(!permit_open_allows(&l, "127.0.0.1", 53));
	CHECK_INT(add(&l, "ANY", false), 0);
	CHECK(permit_match(&l, "x", 1));
	permit_free(&l);

	CHECK_INT(add(&l, "3283", true), 0);
	CHECK_INT(add(&l, "10.1.2.3:*", true), 0);
	CHECK(permit_match(&l, "127.0.0.1", 3283));
	CHECK(permit_match(&l, "::1", 3283));
	CHECK(permit_match(&l, "localhost", 3283));
	CHECK(!permit_match(&l, "0.0.0.0", 3283));
	CHECK(!permit_match(&l, "127.0.0.1", 3284));
	CHECK(permit_match(&l, "10.1.2.3", 7));
	permit_free(&l);
	CHECK_INT(add(&l, "*", true), 0);
	CHECK(permit_match(&l, "127.0.0.2", 0));
	CHECK(!permit_match(&l, "192.0.2.1", 0));
	permit_free(&l);
}

static void
test_loopback(void)
{
	CHECK(permit_is_loopback("localhost"));
	CHECK(permit_is_loopback("LocalHost"));
	CHECK(permit_is_loopback("127.0.0.1"));
	CHECK(permit_is_loopback("127.255.0.9"));
	CHECK(permit_is_loopback("::1"));
	CHECK(permit_is_loopback("0:0:0:0:0:0:0:1"));
	CHECK(permit_is_loopback("::ffff:127.0.0.1"));
	CHECK(!permit_is_loopback("0.0.0.0"));
	CHECK(!permit_is_loopback("::"));
	CHECK(!permit_is_loopback("128.0.0.1"));
	CHECK(!permit_is_loopback("localhost.example.com"));
	CHECK(!permit_is_loopback("*"));
	CHECK(!permit_is_loopback(""));
}

int
main(void)
{
	test_parse_errors();
	test_match();
	test_loopback();
	return check_done("permit");
}
