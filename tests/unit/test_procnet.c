/*
 * Unit tests for procnet.c: real lines of /proc/net/tcp and tcp6 (an
 * established loopback connection, a listener, TIME_WAIT with no inode),
 * the header line, and every malformed field with its message. Lines are
 * parsed from exact-size heap copies, so ASan catches a read past the end.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "procnet.h"

static struct procnet_entry e;
static char err[128];

static int
parse(const char *line, bool ipv6)
{
	size_t len = strlen(line);
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, line, len);
	memset(&e, 0xAA, sizeof(e));
	err[0] = '\0';
	rc = procnet_parse(copy, len, ipv6, &e, err, sizeof(err));
	free(copy);
	return rc;
}

static void
test_ipv4(void)
{
	char line[256];
	uint32_t lo = htonl(0x7f000001), other = htonl(0x0a000205);
	uint8_t want[4] = {127, 0, 0, 1}, want2[4] = {10, 0, 2, 5};

	CHECK_INT(parse("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
			"retrnsmt   uid  timeout inode",
		      false),
	    0);
	/* The kernel prints the address word as the host holds it. */
	snprintf(line, sizeof(line),
	    "   3: %08X:1F90 %08X:A3C2 01 00000000:00000000 00:00000000 00000000  1000        0 "
	    "40712 1 0000000000000000 20 4 30 10 -1",
	    lo, other);
	CHECK_INT(parse(line, false), 1);
	CHECK(memcmp(e.local, want, 4) == 0);
	CHECK(memcmp(e.remote, want2, 4) == 0);
	CHECK_INT(e.local_port, 8080);
	CHECK_INT(e.remote_port, 0xA3C2);
	CHECK_INT(e.state, 1);
	CHECK_INT(e.uid, 1000);
	CHECK_INT(e.inode, 40712);

	snprintf(line, sizeof(line),
	    "  12: %08X:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
	    "0 4294967295",
	    lo);
	CHECK_INT(parse(line, false), 1);
	CHECK_INT(e.state, 10);
	CHECK_INT(e.uid, 0);
	CHECK_INT(e.inode, 4294967295u);
	CHECK_INT(e.remote_port, 0);

	/* TIME_WAIT: no process holds it, inode 0, uid 0. */
	snprintf(line, sizeof(line),
	    "4: %08X:d2f0 %08X:1f90 06 00000000:00000000 03:00000ABC 00000000 0 0 0 3", lo, lo);
	CHECK_INT(parse(line, false), 1);
	CHECK_INT(e.state, 6);
	CHECK_INT(e.inode, 0);
	CHECK_INT(e.local_port, 0xd2f0);
}

static void
test_ipv6(void)
{
	char line[300];
	struct in6_addr a;
	uint32_t w[4];

	inet_pton(AF_INET6, "::1", &a);
	memcpy(w, &a, 16);
	snprintf(line, sizeof(line),
	    "   0: %08X%08X%08X%08X:1F90 %08X%08X%08X%08X:C350 01 00000000:00000000 00:00000000 "
	    "00000000  1001        0 99 1 0000000000000000 20 4 1 10 -1",
	    w[0], w[1], w[2], w[3], w[0], w[1], w[2], w[3]);
	CHECK_INT(parse(line, true), 1);
	CHECK(memcmp(e.local, &a, 16) == 0);
	CHECK(memcmp(e.remote, &a, 16) == 0);
	CHECK_INT(e.local_port, 8080);
	CHECK_INT(e.remote_port, 50000);
	CHECK_INT(e.uid, 1001);
	CHECK_INT(e.inode, 99);
	/* An IPv4 line is not an IPv6 one, and the other way round. */
	CHECK_INT(parse(line, false), -1);
	CHECK_STR(err, "bad address (want 8 digits:PORT in hex)");
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", true), -1);
	CHECK_STR(err, "bad address (want 32 digits:PORT in hex)");
}

static void
test_errors(void)
{
	const char *ok = "0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5";

	CHECK_INT(parse(ok, false), 1);
	CHECK_INT(parse("", false), -1);
	CHECK_STR(err, "0 fields, want at least 10");
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0", false), -1);
	CHECK_STR(err, "9 fields, want at least 10");
	CHECK_INT(parse("0 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_STR(err, "bad slot field");
	CHECK_INT(parse("x: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_STR(err, "bad slot field");
	CHECK_INT(parse("0: 0100007G:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_STR(err, "bad address (want 8 digits:PORT in hex)");
	CHECK_INT(parse("0: 0100007F:1F9 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_INT(parse("0: 0100007F-1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 1 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_STR(err, "bad state field");
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 0x 0:0 0:0 0 1000 0 5", false), -1);
	CHECK_STR(err, "bad state field");
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 -1 0 5", false), -1);
	CHECK_STR(err, "bad uid field");
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 4294967296 0 5", false), -1);
	CHECK_STR(err, "bad uid field");
	CHECK_INT(parse("0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 5x", false), -1);
	CHECK_STR(err, "bad inode field");
	CHECK_INT(
	    parse("0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 1000 0 18446744073709551616", false),
	    -1);
	CHECK_STR(err, "bad inode field");
	/* A field longer than any real one. */
	char line[200];
	snprintf(line, sizeof(line), "0: %0100d 0100007F:A3C2 01 0:0 0:0 0 1000 0 5", 1);
	CHECK_INT(parse(line, false), -1);
	CHECK_STR(err, "1 fields, want at least 10");
	/* A NUL byte is refused, not taken for the end of a field. */
	char nul[] = "0: 0100007F:1F90 0100007F:A3C2 01 0:0 0:0 0 10\0000 0 5";
	memset(&e, 0, sizeof(e));
	CHECK_INT(procnet_parse(nul, sizeof(nul) - 1, false, &e, err, sizeof(err)), -1);
	CHECK_STR(err, "NUL byte");
}

int
main(void)
{
	test_ipv4();
	test_ipv6();
	test_errors();
	return check_done("procnet");
}
