/*
 * Unit tests for socks.c: SOCKS5, SOCKS4 and 4a exchanges, every error with
 * its reply bytes and text, and socks_reply for each status. Every exchange
 * is run whole and again split into chunks of every size from one byte up,
 * and must come out the same each time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "check.h"
#include "socks.h"

/* A byte string literal as pointer and length. */
#define BYTES(lit) (const uint8_t *)(lit), sizeof(lit) - 1

#define GUARD 0xA5

/* What one run of a client's bytes through socks_feed produced. */
struct run {
	struct socks s;
	enum socks_result result; /* the last one: NEED_MORE, REQUEST or FAIL */
	uint8_t sent[64];	  /* everything socks_feed asked to send, in order */
	size_t sentlen;
	size_t used; /* bytes consumed in all */
	int sends;   /* SOCKS_SEND results */
	bool overrun;
};

static struct run r;

/*
 * Delivers in to a fresh struct socks chunk bytes at a time, as a socket
 * would: socks_feed is offered everything received and not yet consumed, and
 * after SOCKS_SEND the rest again before more arrives.
 */
static void
run_chunked(struct run *run, const uint8_t *in, size_t len, size_t chunk)
{
	size_t received = 0;

	memset(run, 0, sizeof(*run));
	for (;;) {
		uint8_t out[SOCKS_OUT_MIN + 16];
		size_t used = 99, outlen = 99;

		memset(out, GUARD, sizeof(out));
		run->result =
		    socks_feed(&run->s, in + run->used, received - run->used, &used, out, &outlen);
		for (size_t i = SOCKS_OUT_MIN; i < sizeof(out); i++)
			run->overrun = run->overrun || out[i] != GUARD;
		if (used > received - run->used || outlen > SOCKS_OUT_MIN ||
		    run->sentlen + outlen > sizeof(run->sent)) {
			run->overrun = true;
			return;
		}
		run->used += used;
		memcpy(run->sent + run->sentlen, out, outlen);
		run->sentlen += outlen;
		if (run->result == SOCKS_SEND) {
			run->sends++;
			continue;
		}
		if (run->result != SOCKS_NEED_MORE || received == len)
			return;
		received += len - received < chunk ? len - received : chunk;
	}
}

static bool
same_run(const struct run *a, const struct run *b)
{
	return a->result == b->result && a->sentlen == b->sentlen &&
	    memcmp(a->sent, b->sent, a->sentlen) == 0 && a->used == b->used &&
	    a->sends == b->sends && a->s.error == b->s.error && !a->overrun && !b->overrun &&
	    (a->result != SOCKS_REQUEST ||
		(a->s.req.version == b->s.req.version && a->s.req.cmd == b->s.req.cmd &&
		    a->s.req.atyp == b->s.req.atyp && a->s.req.port == b->s.req.port &&
		    strcmp(a->s.req.host, b->s.req.host) == 0));
}

/* Runs in whole into r, then in every chunk size, which must all agree with it. */
static void
run(const uint8_t *in, size_t len)
{
	static struct run split;

	run_chunked(&r, in, len, len > 0 ? len : 1);
	CHECK(!r.overrun);
	for (size_t chunk = 1; chunk < len; chunk++) {
		run_chunked(&split, in, len, chunk);
		if (!same_run(&r, &split)) {
			fprintf(stderr, "chunk size %zu differs:\n", chunk);
			CHECK(same_run(&r, &split));
		}
	}
}

#define CHECK_SENT(lit)                                                                            \
	do {                                                                                       \
		CHECK_INT(r.sentlen, sizeof(lit) - 1);                                             \
		CHECK(memcmp(r.sent, lit, sizeof(lit) - 1) == 0);                                  \
	} while (0)

#define CHECK_REQUEST(in, consumed, host_, port_)                                                  \
	do {                                                                                       \
		run(BYTES(in));                                                                    \
		CHECK_INT(r.result, SOCKS_REQUEST);                                                \
		CHECK_STR(r.result == SOCKS_FAIL ? r.s.error : "", "");                            \
		CHECK_INT(r.used, consumed);                                                       \
		CHECK_STR(r.s.req.host, host_);                                                    \
		CHECK_INT(r.s.req.port, port_);                                                    \
	} while (0)

#define CHECK_FAIL(in, consumed, reply, error_)                                                    \
	do {                                                                                       \
		run(BYTES(in));                                                                    \
		CHECK_INT(r.result, SOCKS_FAIL);                                                   \
		CHECK_STR(r.s.error, error_);                                                      \
		CHECK_INT(r.used, consumed);                                                       \
		CHECK_SENT(reply);                                                                 \
	} while (0)

#define GREET "\x05\x01\x00"
#define OK5 "\x05\x00"
#define NO_METHOD "\x05\xff"
#define REPLY5(code) "\x05" code "\x00\x01\x00\x00\x00\x00\x00\x00"
#define REPLY4_FAIL "\x00\x5b\x00\x00\x00\x00\x00\x00"

static void
test_v5_connect(void)
{
	CHECK_REQUEST(GREET "\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x50", 13, "10.0.0.1", 80);
	CHECK_SENT(OK5);
	CHECK_INT(r.sends, 1);
	CHECK_INT(r.s.req.version, SOCKS_V5);
	CHECK_INT(r.s.req.cmd, SOCKS_CMD_CONNECT);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_IPV4);

	CHECK_REQUEST(GREET "\x05\x01\x00\x03\x0b"
			    "example.com\x01\xbb",
	    21, "example.com", 443);
	CHECK_SENT(OK5);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_DOMAIN);

	CHECK_REQUEST(
	    GREET "\x05\x01\x00\x01\xff\xff\xff\xff\xff\xff", 13, "255.255.255.255", 65535);
	/* 0.0.0.0 is for the server to make sense of. */
	CHECK_REQUEST(GREET "\x05\x01\x00\x01\x00\x00\x00\x00\x00\x16", 13, "0.0.0.0", 22);
	/* A name that reads as an address stays a name. */
	CHECK_REQUEST(GREET "\x05\x01\x00\x03\x07"
			    "1.2.3.4\x00\x50",
	    17, "1.2.3.4", 80);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_DOMAIN);
	/* Bytes from 0x80 pass (UTF-8 names): only control bytes are refused. */
	CHECK_REQUEST(GREET "\x05\x01\x00\x03\x06"
			    "caf\xc3\xa9 \x00\x50",
	    16, "caf\xc3\xa9 ", 80);
}

static void
test_v5_ipv6(void)
{
	CHECK_REQUEST(GREET "\x05\x01\x00\x04"
			    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
			    "\x01\xbb",
	    25, "2001:db8::1", 443);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_IPV6);
	CHECK_REQUEST(GREET "\x05\x01\x00\x04"
			    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
			    "\x00\x16",
	    25, "::1", 22);
	CHECK_REQUEST(GREET "\x05\x01\x00\x04"
			    "\xfe\x80\x00\x00\x00\x00\x00\x00\x12\x34\x56\x78\x9a\xbc\xde\xf0"
			    "\x00\x16",
	    25, "fe80::1234:5678:9abc:def0", 22);
	CHECK_REQUEST(GREET "\x05\x01\x00\x04"
			    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x0a\x00\x00\x01"
			    "\x00\x16",
	    25, "::ffff:10.0.0.1", 22);
	CHECK_REQUEST(GREET "\x05\x01\x00\x04"
			    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
			    "\x00\x16",
	    25, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 22);
}

static void
test_v5_greeting(void)
{
	/* 0x00 among other methods: chosen. */
	CHECK_REQUEST("\x05\x03\x02\x01\x00"
		      "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50",
	    15, "127.0.0.1", 80);
	CHECK_SENT(OK5);
	CHECK_REQUEST("\x05\x02\x00\x00"
		      "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50",
	    14, "127.0.0.1", 80);

	CHECK_FAIL(
	    "\x05\x01\x02", 3, NO_METHOD, "client offers no acceptable authentication method");
	CHECK_FAIL(
	    "\x05\x02\x01\x02", 4, NO_METHOD, "client offers no acceptable authentication method");
	CHECK_FAIL("\x05\x00", 2, NO_METHOD, "client offers no authentication methods");
	CHECK_INT(r.sends, 0);

	/* All 255 methods offered, none of them 0x00; then 0x00 the last of them. */
	uint8_t many[2 + 255];
	many[0] = 0x05;
	many[1] = 0xff;
	for (size_t i = 0; i < 255; i++)
		many[2 + i] = (uint8_t)(i + 1);
	run(many, sizeof(many));
	CHECK_INT(r.result, SOCKS_FAIL);
	CHECK_INT(r.used, 257);
	CHECK_SENT(NO_METHOD);
	many[2 + 254] = 0x00;
	run(many, sizeof(many));
	CHECK_INT(r.result, SOCKS_NEED_MORE);
	CHECK_INT(r.used, 257);
	CHECK_SENT(OK5);

	/* Incomplete greetings wait. */
	run(BYTES("\x05"));
	CHECK_INT(r.result, SOCKS_NEED_MORE);
	CHECK_INT(r.sentlen, 0);
	run(BYTES("\x05\x02\x01"));
	CHECK_INT(r.result, SOCKS_NEED_MORE);
	CHECK_INT(r.sentlen, 0);
}

static void
test_v5_request_errors(void)
{
	CHECK_FAIL(GREET "\x04\x01\x00\x01\x0a\x00\x00\x01\x00\x50", 7, OK5 REPLY5("\x01"),
	    "bad version in SOCKS5 request");
	/* A client that goes on with username/password authentication regardless. */
	CHECK_FAIL(
	    GREET "\x01\x04user\x04pass", 7, OK5 REPLY5("\x01"), "bad version in SOCKS5 request");

	CHECK_FAIL(GREET "\x05\x00\x00\x01\x0a\x00\x00\x01\x00\x50", 7, OK5 REPLY5("\x07"),
	    "unsupported SOCKS5 command");
	CHECK_FAIL(GREET "\x05\x04\x00\x01\x0a\x00\x00\x01\x00\x50", 7, OK5 REPLY5("\x07"),
	    "unsupported SOCKS5 command");
	CHECK_FAIL(GREET "\x05\xff\x00\x01", 7, OK5 REPLY5("\x07"), "unsupported SOCKS5 command");
	/* A bad command is reported before a bad address type. */
	CHECK_FAIL(GREET "\x05\x09\x00\x09", 7, OK5 REPLY5("\x07"), "unsupported SOCKS5 command");

	CHECK_FAIL(GREET "\x05\x01\x00\x00\x0a\x00\x00\x01\x00\x50", 7, OK5 REPLY5("\x08"),
	    "unsupported SOCKS5 address type");
	CHECK_FAIL(
	    GREET "\x05\x01\x00\x02", 7, OK5 REPLY5("\x08"), "unsupported SOCKS5 address type");
	CHECK_FAIL(
	    GREET "\x05\x01\x00\x05", 7, OK5 REPLY5("\x08"), "unsupported SOCKS5 address type");
	CHECK_FAIL(
	    GREET "\x05\x01\x00\xff", 7, OK5 REPLY5("\x08"), "unsupported SOCKS5 address type");

	CHECK_FAIL(GREET "\x05\x01\x00\x03\x00\x00\x50", 8, OK5 REPLY5("\x01"),
	    "empty host name in SOCKS5 request");
	CHECK_FAIL(GREET "\x05\x01\x00\x03\x04"
			 "a\x00"
			 "bc\x00\x50",
	    12, OK5 REPLY5("\x01"), "control character in host name");
	CHECK_FAIL(GREET "\x05\x01\x00\x03\x04"
			 "abc\n\x00\x50",
	    12, OK5 REPLY5("\x01"), "control character in host name");
	CHECK_FAIL(GREET "\x05\x01\x00\x03\x04"
			 "\x1f"
			 "abc\x00\x50",
	    12, OK5 REPLY5("\x01"), "control character in host name");
	CHECK_FAIL(GREET "\x05\x01\x00\x03\x04"
			 "ab\x7f"
			 "c\x00\x50",
	    12, OK5 REPLY5("\x01"), "control character in host name");

	CHECK_FAIL(GREET "\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x00", 13, OK5 REPLY5("\x01"),
	    "CONNECT to port 0");
	CHECK_FAIL(GREET "\x05\x01\x00\x03\x01"
			 "a\x00\x00",
	    11, OK5 REPLY5("\x01"), "CONNECT to port 0");
}

static void
test_v5_lenient(void)
{
	/* RSV is not checked. */
	CHECK_REQUEST(GREET "\x05\x01\xff\x01\x0a\x00\x00\x01\x00\x50", 13, "10.0.0.1", 80);
	/* BIND and UDP ASSOCIATE are requests for the caller to refuse; they may name port 0. */
	CHECK_REQUEST(GREET "\x05\x02\x00\x01\x0a\x00\x00\x01\x00\x00", 13, "10.0.0.1", 0);
	CHECK_INT(r.s.req.cmd, SOCKS_CMD_BIND);
	CHECK_REQUEST(GREET "\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00", 13, "0.0.0.0", 0);
	CHECK_INT(r.s.req.cmd, SOCKS_CMD_UDP_ASSOCIATE);
	CHECK_REQUEST(GREET "\x05\x03\x00\x04"
			    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x00",
	    25, "::", 0);
}

static void
test_v5_domain_length(void)
{
	uint8_t in[3 + 5 + 255 + 2];
	char name[256];

	memcpy(in, GREET "\x05\x01\x00\x03\xff", 8);
	for (size_t i = 0; i < 255; i++)
		name[i] = (char)('a' + i % 26);
	name[63] = name[127] = name[191] = '.';
	name[255] = '\0';
	memcpy(in + 8, name, 255);
	in[263] = 0x1f;
	in[264] = 0x90;
	run(in, sizeof(in));
	CHECK_INT(r.result, SOCKS_REQUEST);
	CHECK_INT(r.used, sizeof(in));
	CHECK_STR(r.s.req.host, name);
	CHECK_INT(r.s.req.port, 8080);

	in[8 + 254] = '\r';
	run(in, sizeof(in));
	CHECK_INT(r.result, SOCKS_FAIL);
	CHECK_INT(r.used, 8 + 255);
	CHECK_SENT(OK5 REPLY5("\x01"));
	CHECK_STR(r.s.error, "control character in host name");
}

/* Greeting, request and early payload in one buffer, fed as a caller would. */
static void
test_v5_pipelined(void)
{
	static const uint8_t in[] = GREET "\x05\x01\x00\x03\x09"
					  "localhost\x1f\x90"
					  "GET / HTTP/1.1\r\n\r\n";
	struct socks s;
	uint8_t out[SOCKS_OUT_MIN];
	size_t used, outlen;

	memset(&s, 0, sizeof(s));
	CHECK_INT(socks_feed(&s, in, sizeof(in) - 1, &used, out, &outlen), SOCKS_SEND);
	CHECK_INT(used, 3);
	CHECK_INT(outlen, 2);
	CHECK(memcmp(out, OK5, 2) == 0);
	CHECK_INT(socks_feed(&s, in + 3, sizeof(in) - 1 - 3, &used, out, &outlen), SOCKS_REQUEST);
	CHECK_INT(used, 16);
	CHECK_INT(outlen, 0);
	CHECK_STR(s.req.host, "localhost");
	CHECK_INT(s.req.port, 8080);
	CHECK(memcmp(in + 3 + used, "GET / ", 6) == 0);

	/* Done: later calls consume nothing and say the same. */
	CHECK_INT(socks_feed(&s, in + 19, sizeof(in) - 1 - 19, &used, out, &outlen), SOCKS_REQUEST);
	CHECK_INT(used, 0);
	CHECK_INT(outlen, 0);

	/* The same, whole and in every split. */
	run(in, sizeof(in) - 1);
	CHECK_INT(r.result, SOCKS_REQUEST);
	CHECK_INT(r.used, 19);
	CHECK_SENT(OK5);

	/* Nothing to feed is fine. */
	memset(&s, 0, sizeof(s));
	CHECK_INT(socks_feed(&s, in, 0, &used, out, &outlen), SOCKS_NEED_MORE);
	CHECK_INT(used, 0);
	CHECK_INT(outlen, 0);
}

/* One byte per call, by hand, for a whole SOCKS5 and a whole SOCKS4a exchange. */
static void
test_byte_at_a_time(void)
{
	static const uint8_t v5[] = GREET "\x05\x01\x00\x03\x0b"
					  "example.org\x00\x50";
	static const uint8_t v4a[] = "\x04\x01\x01\xbb\x00\x00\x00\x07"
				     "alice\x00"
				     "example.net";
	struct socks s;
	uint8_t out[SOCKS_OUT_MIN];
	size_t used, outlen;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(v5) - 1; i++) {
		enum socks_result res = socks_feed(&s, v5 + i, 1, &used, out, &outlen);
		CHECK_INT(used, 1);
		if (i == 2) {
			CHECK_INT(res, SOCKS_SEND);
			CHECK_INT(outlen, 2);
		} else if (i == sizeof(v5) - 2) {
			CHECK_INT(res, SOCKS_REQUEST);
			CHECK_INT(outlen, 0);
		} else {
			CHECK_INT(res, SOCKS_NEED_MORE);
			CHECK_INT(outlen, 0);
		}
	}
	CHECK_STR(s.req.host, "example.org");
	CHECK_INT(s.req.port, 80);

	/* sizeof(v4a) counts the final NUL, the hostname's terminator. */
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(v4a); i++) {
		enum socks_result res = socks_feed(&s, v4a + i, 1, &used, out, &outlen);
		CHECK_INT(used, 1);
		CHECK_INT(outlen, 0);
		CHECK_INT(res, i == sizeof(v4a) - 1 ? SOCKS_REQUEST : SOCKS_NEED_MORE);
	}
	CHECK_INT(s.req.version, SOCKS_V4);
	CHECK_INT(s.req.cmd, SOCKS_CMD_CONNECT);
	CHECK_INT(s.req.atyp, SOCKS_ATYP_DOMAIN);
	CHECK_STR(s.req.host, "example.net");
	CHECK_INT(s.req.port, 443);
}

static void
test_v4(void)
{
	CHECK_REQUEST("\x04\x01\x00\x50\x0a\x00\x00\x01"
		      "bob\x00",
	    12, "10.0.0.1", 80);
	CHECK_INT(r.sentlen, 0);
	CHECK_INT(r.s.req.version, SOCKS_V4);
	CHECK_INT(r.s.req.cmd, SOCKS_CMD_CONNECT);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_IPV4);
	/* Empty user id, payload after the request. */
	CHECK_REQUEST("\x04\x01\x00\x50\x0a\x00\x00\x01\x00"
		      "payload",
	    9, "10.0.0.1", 80);
	/* 0.0.0.0 is an address, not the 4a marker (0.0.0.x, x != 0). */
	CHECK_REQUEST("\x04\x01\x00\x50\x00\x00\x00\x00\x00"
		      "example.com\x00",
	    9, "0.0.0.0", 80);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_IPV4);
	CHECK_REQUEST("\x04\x01\x00\x50\x00\x00\x01\x01\x00", 9, "0.0.1.1", 80);
	CHECK_REQUEST("\x04\x02\x00\x00\x0a\x00\x00\x01\x00", 9, "10.0.0.1", 0);
	CHECK_INT(r.s.req.cmd, SOCKS_CMD_BIND);

	CHECK_FAIL(
	    "\x04\x03\x00\x50\x0a\x00\x00\x01\x00", 8, REPLY4_FAIL, "unsupported SOCKS4 command");
	CHECK_FAIL(
	    "\x04\x00\x00\x50\x0a\x00\x00\x01\x00", 8, REPLY4_FAIL, "unsupported SOCKS4 command");
	CHECK_FAIL("\x04\x01\x00\x00\x0a\x00\x00\x01\x00", 9, REPLY4_FAIL, "CONNECT to port 0");

	run(BYTES("\x04\x01\x00\x50\x0a\x00\x00\x01"
		  "bob"));
	CHECK_INT(r.result, SOCKS_NEED_MORE);
	CHECK_INT(r.used, 11);
}

static void
test_v4_userid(void)
{
	uint8_t in[8 + 256 + 1];

	memcpy(in, "\x04\x01\x00\x50\x0a\x00\x00\x01", 8);
	memset(in + 8, 'u', 256);
	in[8 + 255] = '\0';
	run(in, 8 + 256);
	CHECK_INT(r.result, SOCKS_REQUEST);
	CHECK_INT(r.used, 8 + 256);
	CHECK_STR(r.s.req.host, "10.0.0.1");

	in[8 + 255] = 'u';
	in[8 + 256] = '\0';
	run(in, sizeof(in));
	CHECK_INT(r.result, SOCKS_FAIL);
	CHECK_INT(r.used, 8 + 256);
	CHECK_SENT(REPLY4_FAIL);
	CHECK_STR(r.s.error, "user id too long");

	/* Control bytes in a user id are nobody's business: it is not kept. */
	CHECK_REQUEST("\x04\x01\x00\x50\x0a\x00\x00\x01"
		      "\x01\n\xff\x00",
	    12, "10.0.0.1", 80);
}

static void
test_v4a(void)
{
	uint8_t in[8 + 1 + 256 + 1];

	CHECK_REQUEST("\x04\x01\x01\xbb\x00\x00\x00\x01"
		      "\x00"
		      "example.com\x00"
		      "early",
	    21, "example.com", 443);
	CHECK_INT(r.s.req.atyp, SOCKS_ATYP_DOMAIN);
	CHECK_INT(r.sentlen, 0);
	CHECK_REQUEST("\x04\x01\x01\xbb\x00\x00\x00\xff"
		      "user\x00"
		      "h\x00",
	    15, "h", 443);
	CHECK_REQUEST("\x04\x02\x01\xbb\x00\x00\x00\xff"
		      "\x00"
		      "h\x00",
	    11, "h", 443);
	CHECK_INT(r.s.req.cmd, SOCKS_CMD_BIND);

	CHECK_FAIL(
	    "\x04\x01\x01\xbb\x00\x00\x00\x01\x00\x00", 10, REPLY4_FAIL, "empty SOCKS4a host name");
	CHECK_FAIL("\x04\x01\x01\xbb\x00\x00\x00\x01\x00"
		   "bad\tname\x00",
	    18, REPLY4_FAIL, "control character in host name");
	CHECK_FAIL("\x04\x01\x00\x00\x00\x00\x00\x01\x00"
		   "example.com\x00",
	    21, REPLY4_FAIL, "CONNECT to port 0");

	memcpy(in, "\x04\x01\x01\xbb\x00\x00\x00\x01\x00", 9);
	memset(in + 9, 'h', 256);
	in[9 + 255] = '\0';
	run(in, 9 + 256);
	CHECK_INT(r.result, SOCKS_REQUEST);
	CHECK_INT(r.used, 9 + 256);
	CHECK_INT(strlen(r.s.req.host), 255);

	in[9 + 255] = 'h';
	in[9 + 256] = '\0';
	run(in, sizeof(in));
	CHECK_INT(r.result, SOCKS_FAIL);
	CHECK_INT(r.used, 9 + 256);
	CHECK_SENT(REPLY4_FAIL);
	CHECK_STR(r.s.error, "SOCKS4a host name too long");
}

static void
test_not_socks(void)
{
	CHECK_FAIL("\x00", 1, "", "unsupported SOCKS version 0x00");
	CHECK_FAIL("\x01\x02\x03", 1, "", "unsupported SOCKS version 0x01");
	CHECK_FAIL("\x06", 1, "", "unsupported SOCKS version 0x06");
	CHECK_FAIL("\x16\x03\x01\x02\x00", 1, "", "unsupported SOCKS version 0x16");
	CHECK_FAIL("\xff", 1, "", "unsupported SOCKS version 0xFF");
	CHECK_FAIL("\xab", 1, "", "unsupported SOCKS version 0xAB");
	CHECK_FAIL("SSH-2.0-OpenSSH_9.6\r\n", 1, "", "unsupported SOCKS version 0x53");

	CHECK_FAIL(
	    "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 4, "", "not a SOCKS client (looks like HTTP)");
	CHECK_FAIL("CONNECT example.com:443 HTTP/1.1\r\n\r\n", 8, "",
	    "not a SOCKS client (looks like HTTP)");
	CHECK_FAIL("OPTIONS * HTTP/1.1\r\n", 8, "", "not a SOCKS client (looks like HTTP)");
	CHECK_FAIL("PUT /x HTTP/1.1\r\n", 4, "", "not a SOCKS client (looks like HTTP)");
	CHECK_FAIL("PATCH /x HTTP/1.1\r\n", 6, "", "not a SOCKS client (looks like HTTP)");
	/* Letters that start a method but go on differently are just a bad version. */
	CHECK_FAIL("Gx", 2, "", "unsupported SOCKS version 0x47");
	CHECK_FAIL("GETX", 4, "", "unsupported SOCKS version 0x47");
	CHECK_FAIL("PUTS", 4, "", "unsupported SOCKS version 0x50");
	CHECK_FAIL("get / HTTP/1.1", 1, "", "unsupported SOCKS version 0x67");
	CHECK_FAIL("Hello\r\n", 2, "", "unsupported SOCKS version 0x48");
	run(BYTES("CONNECT"));
	CHECK_INT(r.result, SOCKS_NEED_MORE);
	CHECK_INT(r.used, 7);
}

static void
test_after_fail(void)
{
	struct socks s;
	uint8_t out[SOCKS_OUT_MIN];
	size_t used, outlen;

	memset(&s, 0, sizeof(s));
	CHECK_INT(socks_feed(&s, BYTES("\x05\x01\x02"), &used, out, &outlen), SOCKS_FAIL);
	CHECK_INT(outlen, 2);
	CHECK_INT(socks_feed(&s, BYTES("\x05\x01\x00\x01"), &used, out, &outlen), SOCKS_FAIL);
	CHECK_INT(used, 0);
	CHECK_INT(outlen, 0);
	CHECK_STR(s.error, "client offers no acceptable authentication method");
}

static void
test_reply(void)
{
	static const uint8_t v5_codes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	struct socks s;
	uint8_t out[16];

	memset(&s, 0, sizeof(s));
	CHECK_INT(socks_reply(&s, SOCKS_OK, out, sizeof(out)), 0);

	s.req.version = SOCKS_V5;
	for (int st = SOCKS_OK; st <= SOCKS_ATYP_UNSUPPORTED; st++) {
		uint8_t want[10] = {0x05, v5_codes[st], 0x00, 0x01, 0, 0, 0, 0, 0, 0};
		memset(out, GUARD, sizeof(out));
		CHECK_INT(socks_reply(&s, (enum socks_status)st, out, sizeof(out)), 10);
		CHECK(memcmp(out, want, 10) == 0);
		CHECK_INT(out[10], GUARD);
	}
	CHECK_INT(socks_reply(&s, (enum socks_status)99, out, sizeof(out)), 10);
	CHECK_INT(out[1], 0x01);
	memset(out, GUARD, sizeof(out));
	CHECK_INT(socks_reply(&s, SOCKS_REFUSED, out, 9), 0);
	CHECK_INT(out[0], GUARD);
	CHECK_INT(socks_reply(&s, SOCKS_REFUSED, out, 10), 10);

	s.req.version = SOCKS_V4;
	for (int st = SOCKS_OK; st <= SOCKS_ATYP_UNSUPPORTED; st++) {
		uint8_t want[8] = {0x00, st == SOCKS_OK ? 0x5a : 0x5b, 0, 0, 0, 0, 0, 0};
		memset(out, GUARD, sizeof(out));
		CHECK_INT(socks_reply(&s, (enum socks_status)st, out, sizeof(out)), 8);
		CHECK(memcmp(out, want, 8) == 0);
		CHECK_INT(out[8], GUARD);
	}
	memset(out, GUARD, sizeof(out));
	CHECK_INT(socks_reply(&s, SOCKS_OK, out, 7), 0);
	CHECK_INT(out[0], GUARD);

	/* After a real request, in its version. */
	run(BYTES("\x04\x01\x00\x50\x0a\x00\x00\x01\x00"));
	CHECK_INT(socks_reply(&r.s, SOCKS_OK, out, sizeof(out)), 8);
	CHECK(memcmp(out, "\x00\x5a\x00\x00\x00\x00\x00\x00", 8) == 0);
	run(BYTES(GREET "\x05\x02\x00\x01\x0a\x00\x00\x01\x00\x50"));
	CHECK_INT(socks_reply(&r.s, SOCKS_CMD_UNSUPPORTED, out, sizeof(out)), 10);
	CHECK(memcmp(out, REPLY5("\x07"), 10) == 0);
}

static void
test_status_text(void)
{
	CHECK_STR(socks_status_text(SOCKS_OK), "succeeded");
	CHECK_STR(socks_status_text(SOCKS_GENERAL_FAILURE), "general failure");
	CHECK_STR(socks_status_text(SOCKS_NOT_ALLOWED), "connection not allowed");
	CHECK_STR(socks_status_text(SOCKS_NET_UNREACHABLE), "network unreachable");
	CHECK_STR(socks_status_text(SOCKS_HOST_UNREACHABLE), "host unreachable");
	CHECK_STR(socks_status_text(SOCKS_REFUSED), "connection refused");
	CHECK_STR(socks_status_text(SOCKS_TTL_EXPIRED), "TTL expired");
	CHECK_STR(socks_status_text(SOCKS_CMD_UNSUPPORTED), "command not supported");
	CHECK_STR(socks_status_text(SOCKS_ATYP_UNSUPPORTED), "address type not supported");
	CHECK_STR(socks_status_text((enum socks_status)42), "unknown status");
	CHECK_STR(socks_status_text((enum socks_status) - 1), "unknown status");
}

static void
test_udp_header(void)
{
	struct socks_udp h;
	const char *err = NULL;
	static const uint8_t v4[] = {0, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 'h', 'i'};
	static const uint8_t name[] = {0, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 53, 'q'};
	static const uint8_t v6[] = {
	    0, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 53};
	static const uint8_t frag[] = {0, 0, 5, 1, 10, 0, 0, 1, 0, 53};

	CHECK_INT(socks_udp_parse(v4, sizeof(v4), &h, &err), 0);
	CHECK_STR(h.host, "127.0.0.1");
	CHECK_INT(h.port, 8080);
	CHECK_INT(h.header_len, 10);
	CHECK_INT(socks_udp_parse(name, sizeof(name), &h, &err), 0);
	CHECK_STR(h.host, "host");
	CHECK_INT(h.port, 53);
	CHECK_INT(h.header_len, 11);
	CHECK_INT(socks_udp_parse(v6, sizeof(v6), &h, &err), 0);
	CHECK_STR(h.host, "2001:db8::1");
	CHECK_INT(h.header_len, 22);
	CHECK_INT(socks_udp_parse(frag, sizeof(frag), &h, &err), 0);
	CHECK_INT(h.frag, 5);
	/* Every truncation is refused, never read past. */
	for (size_t n = 0; n < 10; n++)
		CHECK_INT(socks_udp_parse(v4, n, &h, &err), -1);
	CHECK_INT(socks_udp_parse((const uint8_t *)"\1\0\0\1", 4, &h, &err), -1);
	CHECK_STR(err, "reserved bytes set in SOCKS5 UDP header");
	CHECK_INT(socks_udp_parse((const uint8_t *)"\0\0\0\7xxxxxx", 10, &h, &err), -1);
	CHECK_STR(err, "unsupported address type in SOCKS5 UDP header");
	CHECK_INT(socks_udp_parse((const uint8_t *)"\0\0\0\3\0\0\1", 7, &h, &err), -1);
	CHECK_STR(err, "empty host name in SOCKS5 UDP header");
	CHECK_INT(socks_udp_parse((const uint8_t *)"\0\0\0\3\2a\n\0\1", 9, &h, &err), -1);
	CHECK_STR(err, "control character in host name");
	CHECK_INT(socks_udp_parse((const uint8_t *)"\0\0\0\1\1\2\3\4\0\0", 10, &h, &err), -1);
	CHECK_STR(err, "port 0 in SOCKS5 UDP header");
}

static void
test_reply_bound(void)
{
	struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(4321)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
	uint8_t out[32];

	inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
	CHECK_INT(socks_reply_bound(SOCKS_OK, (struct sockaddr *)&in4, out, sizeof(out)), 10);
	CHECK(memcmp(out, "\x05\x00\x00\x01\x7f\x00\x00\x01\x10\xe1", 10) == 0);
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	CHECK_INT(socks_reply_bound(SOCKS_OK, (struct sockaddr *)&in6, out, sizeof(out)), 22);
	CHECK_INT(out[3], 4);
	CHECK_INT(out[19], 1);
	CHECK_INT(out[21], 53);
	CHECK_INT(socks_reply_bound(SOCKS_OK, (struct sockaddr *)&in6, out, 21), 0);
}

int
main(void)
{
	test_udp_header();
	test_reply_bound();
	test_v5_connect();
	test_v5_ipv6();
	test_v5_greeting();
	test_v5_request_errors();
	test_v5_lenient();
	test_v5_domain_length();
	test_v5_pipelined();
	test_byte_at_a_time();
	test_v4();
	test_v4_userid();
	test_v4a();
	test_not_socks();
	test_after_fail();
	test_reply();
	test_status_text();
	return check_done("socks");
}
