/*
 * Unit tests for udpframe.c: the header decoder on whole, partial and
 * malformed input; every payload type encoded and parsed back; every
 * rejection with its text; the size limits on both sides of each bound; and
 * the worked example of docs/relay-protocol.md, read from the page itself,
 * against what the encoders write.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "udpframe.h"

/* A byte string literal as pointer and length. */
#define BYTES(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* Room for the largest frame and some. */
static uint8_t big[FRAME_HEADER + FRAME_PAYLOAD_MAX + 16];

/* A frame as a parser sees it, on payload bytes given directly. */
static struct frame
frame_of(uint8_t type, uint32_t flow, const uint8_t *payload, size_t len)
{
	struct frame f = {type, 0, flow, (uint16_t)len, payload};
	return f;
}

/* Header + payload into out; returns the frame's length. */
static size_t
put_frame(uint8_t *out, enum frame_type type, uint32_t flow, const uint8_t *payload, size_t len)
{
	frame_header(out, type, flow, (uint16_t)len);
	if (len > 0)
		memmove(out + FRAME_HEADER, payload, len);
	return FRAME_HEADER + len;
}

static void
test_header(void)
{
	uint8_t h[FRAME_HEADER + 4];
	struct frame f;
	const char *err = NULL;

	CHECK_INT(frame_header(h, FRAME_DATA, 0x01020304u, 0xa0b0), FRAME_HEADER);
	CHECK(memcmp(h, "\x06\x00\x01\x02\x03\x04\xa0\xb0", 8) == 0);

	put_frame(h, FRAME_PING, 0, (const uint8_t *)"\x00\x01\x02\x03", 4);
	CHECK_INT(frame_decode(h, sizeof(h), &f, &err), 12);
	CHECK_INT(f.type, FRAME_PING);
	CHECK_INT(f.flags, 0);
	CHECK_INT(f.flow, 0);
	CHECK_INT(f.len, 4);
	CHECK(f.payload == h + FRAME_HEADER);

	/* Empty payload, flow with every byte distinct, top bit set. */
	frame_header(h, FRAME_DATA, 0x8a0b0c0du, 0);
	CHECK_INT(frame_decode(h, FRAME_HEADER, &f, &err), FRAME_HEADER);
	CHECK_INT(f.flow, 0x8a0b0c0du);
	CHECK_INT(f.len, 0);

	/* Nothing, or less than a header. */
	CHECK_INT(frame_decode(NULL, 0, &f, &err), 0);
	CHECK_INT(frame_decode(h, FRAME_HEADER - 1, &f, &err), 0);

	/* Unknown types are returned for the caller to skip; so is 255. */
	frame_header(h, (enum frame_type)42, 7, 2);
	CHECK_INT(frame_decode(h, 10, &f, &err), 10);
	CHECK_INT(f.type, 42);
	h[0] = 255;
	CHECK_INT(frame_decode(h, 10, &f, &err), 10);

	/* Malformed headers fail as soon as the header is there, payload or not. */
	frame_header(h, FRAME_DATA, 1, 100);
	h[0] = 0;
	CHECK_INT(frame_decode(h, FRAME_HEADER - 1, &f, &err), 0);
	err = NULL;
	CHECK_INT(frame_decode(h, FRAME_HEADER, &f, &err), -1);
	CHECK_STR(err, "frame type 0");
	h[0] = FRAME_DATA;
	for (int flags = 1; flags < 256; flags <<= 1) {
		h[1] = (uint8_t)flags;
		err = NULL;
		CHECK_INT(frame_decode(h, FRAME_HEADER, &f, &err), -1);
		CHECK_STR(err, "reserved flags set");
	}
	/* err may be NULL. */
	CHECK_INT(frame_decode(h, FRAME_HEADER, &f, NULL), -1);
}

/* A buffer holding one frame and half the next: the first, then 0, then both. */
static void
test_one_and_a_half(void)
{
	uint8_t buf[64];
	struct frame f;
	const char *err = NULL;
	size_t a = put_frame(buf, FRAME_DATA, 1, BYTES("first"));
	size_t b = put_frame(buf + a, FRAME_DATA, 2, BYTES("second!!"));

	long n = frame_decode(buf, a + b / 2, &f, &err);
	CHECK_INT(n, (long)a);
	CHECK_INT(f.flow, 1);
	CHECK(f.len == 5 && memcmp(f.payload, "first", 5) == 0);
	CHECK_INT(frame_decode(buf + a, b / 2, &f, &err), 0);
	CHECK_INT(frame_decode(buf + a, b - 1, &f, &err), 0);
	CHECK_INT(frame_decode(buf + a, b, &f, &err), (long)b);
	CHECK_INT(f.flow, 2);
	CHECK(f.len == 8 && memcmp(f.payload, "second!!", 8) == 0);
}

/* Every prefix of a frame is "not yet"; the whole of it decodes, with any tail. */
static void
test_split(void)
{
	uint8_t buf[64];
	struct frame f;
	const char *err = NULL;
	size_t len = put_frame(buf, FRAME_OPEN, 0x7fffffffu, BYTES("\x00\x35\x09localhost"));
	int zeros = 0;

	for (size_t cut = 0; cut < len; cut++)
		zeros += frame_decode(buf, cut, &f, &err) == 0;
	CHECK_INT(zeros, (long)len);
	memset(buf + len, 0, 8);
	for (size_t extra = 0; extra <= 8; extra++) {
		CHECK_INT(frame_decode(buf, len + extra, &f, &err), (long)len);
		CHECK_INT(f.type, FRAME_OPEN);
		CHECK_INT(f.flow, 0x7fffffffu);
		CHECK_INT(f.len, len - FRAME_HEADER);
	}

	/* A header split anywhere: nothing until its 8th byte, then the verdict. */
	frame_header(buf, FRAME_DATA, 3, 0);
	buf[1] = 0x80;
	for (size_t cut = 0; cut < FRAME_HEADER; cut++)
		CHECK_INT(frame_decode(buf, cut, &f, &err), 0);
	CHECK_INT(frame_decode(buf, FRAME_HEADER, &f, &err), -1);
}

/* A datagram of len bytes through header, decode and back. */
static void
check_datagram(size_t len)
{
	struct frame f;
	const char *err = NULL;

	for (size_t i = 0; i < len; i++)
		big[FRAME_HEADER + i] = (uint8_t)(i * 7 + 1);
	frame_header(big, FRAME_DATA, 5, (uint16_t)len);
	CHECK_INT(frame_decode(big, FRAME_HEADER + len, &f, &err), (long)(FRAME_HEADER + len));
	CHECK_INT(f.len, len);
	bool same = true;
	for (size_t i = 0; i < len; i++)
		same = same && f.payload[i] == (uint8_t)(i * 7 + 1);
	CHECK(same);
	if (len > 0)
		CHECK_INT(frame_decode(big, FRAME_HEADER + len - 1, &f, &err), 0);
}

static void
test_data_sizes(void)
{
	check_datagram(0);
	check_datagram(1);
	check_datagram(FRAME_DATAGRAM_MAX);
	check_datagram(FRAME_PAYLOAD_MAX);
	CHECK_INT(FRAME_DATAGRAM_MAX, 65507);
	CHECK_INT(FRAME_PAYLOAD_MAX, 65535);
}

static void
test_hello(void)
{
	struct frame_hello h = {RELAY_VERSION_MAJOR, 0, 65507, 60, 1024, "porthole 0.1.0"};
	struct frame_hello back;
	uint8_t out[FRAME_CONTROL_MAX + 32];
	const char *err = NULL;

	/* 1.0: no stream fields. */
	int n = frame_hello_encode(&h, out, sizeof(out));
	CHECK_INT(n, 15 + 14);
	struct frame f = frame_of(FRAME_HELLO, 0, out, (size_t)n);
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_INT(back.major, 1);
	CHECK_INT(back.minor, 0);
	CHECK_INT(back.max_datagram, 65507);
	CHECK_INT(back.idle_timeout, 60);
	CHECK_INT(back.max_flows, 1024);
	CHECK_STR(back.software, "porthole 0.1.0");
	CHECK_INT(frame_hello_encode(&h, out, (size_t)n - 1), -1);
	CHECK_INT(frame_hello_encode(&h, out, (size_t)n), n);

	/* Extremes: every limit at its maximum, a 64-byte name, then an empty one. */
	struct frame_hello x = {1, 255, 0xffffffffu, 0xffffffffu, 0xffffffffu, ""};
	memset(x.software, '~', 64);
	n = frame_hello_encode(&x, out, sizeof(out));
	CHECK_INT(n, 79 + 9);
	f = frame_of(FRAME_HELLO, 0, out, (size_t)n);
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_INT(back.minor, 255);
	CHECK_INT(back.max_flows, 0xffffffffu);
	CHECK_INT(strlen(back.software), 64);
	x.software[0] = '\0';
	n = frame_hello_encode(&x, out, sizeof(out));
	CHECK_INT(n, 15 + 9);
	f = frame_of(FRAME_HELLO, 0, out, (size_t)n);
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_STR(back.software, "");

	/* Encoder refusals: 65 bytes unterminated, a control byte, non-ASCII. */
	memset(x.software, 'a', sizeof(x.software));
	CHECK_INT(frame_hello_encode(&x, out, sizeof(out)), -1);
	strcpy(x.software, "tab\there");
	CHECK_INT(frame_hello_encode(&x, out, sizeof(out)), -1);
	strcpy(x.software, "caf\xc3\xa9");
	CHECK_INT(frame_hello_encode(&x, out, sizeof(out)), -1);

	/* Bytes after the name are a later minor's fields: ignored. */
	n = frame_hello_encode(&h, out, sizeof(out));
	memcpy(out + n, "\x01\x02\x03", 3);
	f = frame_of(FRAME_HELLO, 0, out, (size_t)n + 3);
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_STR(back.software, "porthole 0.1.0");

	/* 1.1: the stream fields follow the name; a 1.1 HELLO without them is malformed. */
	struct frame_hello s = {1, 1, 65507, 60, 1024, "p", 262144, 4096, STREAM_FLAG_RESTRICTED};
	n = frame_hello_encode(&s, out, sizeof(out));
	CHECK_INT(n, 15 + 1 + 9);
	f = frame_of(FRAME_HELLO, 0, out, (size_t)n);
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_INT(back.minor, 1);
	CHECK_INT(back.stream_window, 262144);
	CHECK_INT(back.max_streams, 4096);
	CHECK_INT(back.stream_flags, STREAM_FLAG_RESTRICTED);
	for (size_t len = 16; len < (size_t)n; len++) {
		f = frame_of(FRAME_HELLO, 0, out, len);
		CHECK_INT(frame_hello_parse(&f, &back, &err), -1);
		CHECK_STR(err, "HELLO 1.1 without its stream fields");
		CHECK_STR(back.software, "");
	}
	/* A 1.0 parse of the same bytes would have ignored them: minor 0 reads no more. */
	out[1] = 0;
	f = frame_of(FRAME_HELLO, 0, out, (size_t)n);
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_INT(back.stream_window, 0);
}

static void
check_hello_fails(const uint8_t *p, size_t len, uint32_t flow, const char *want)
{
	struct frame_hello h;
	const char *err = NULL;
	struct frame f = frame_of(FRAME_HELLO, flow, p, len);

	memset(&h, 0x55, sizeof(h));
	CHECK_INT(frame_hello_parse(&f, &h, &err), -1);
	CHECK_STR(err, want);
	CHECK(memchr(h.software, '\0', sizeof(h.software)) != NULL);
}

static void
test_hello_rejects(void)
{
	uint8_t p[96];
	struct frame_hello h = {1, 0, 65507, 60, 1024, "porthole"};
	int n = frame_hello_encode(&h, p, sizeof(p));
	const char *err = NULL;

	CHECK_INT(n, 23);
	check_hello_fails(p, (size_t)n, 1, "HELLO on a flow other than 0");
	check_hello_fails(p, 0, 0, "HELLO too short for a version");
	check_hello_fails(p, 1, 0, "HELLO too short for a version");
	for (size_t len = 2; len < 15; len++)
		check_hello_fails(p, len, 0, "HELLO too short");
	for (size_t len = 15; len < (size_t)n; len++)
		check_hello_fails(p, len, 0, "software name past the end of the payload");
	p[14] = 65;
	memset(p + 15, 'a', 65);
	check_hello_fails(p, 80, 0, "software name longer than 64 bytes");
	p[14] = 255;
	check_hello_fails(p, 80, 0, "software name longer than 64 bytes");
	static const uint8_t bad[] = {0x00, 0x1f, 0x7f, 0x80, 0xff, '\n'};
	for (size_t i = 0; i < sizeof(bad); i++) {
		n = frame_hello_encode(&h, p, sizeof(p));
		p[15 + 3] = bad[i];
		check_hello_fails(p, (size_t)n, 0, "software name not printable ASCII");
	}

	/* Not a HELLO at all. */
	struct frame f = frame_of(FRAME_PING, 0, p, (size_t)n);
	struct frame_hello back;
	CHECK_INT(frame_hello_parse(&f, &back, &err), -1);
	CHECK_STR(err, "not a HELLO frame");

	/* Another major: only the version is read, whatever follows. */
	f = frame_of(FRAME_HELLO, 0, BYTES("\x02\x07garbage"));
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_INT(back.major, 2);
	CHECK_INT(back.minor, 7);
	CHECK_INT(back.max_datagram, 0);
	CHECK_STR(back.software, "");
	f = frame_of(FRAME_HELLO, 0, BYTES("\x00\x00"));
	CHECK_INT(frame_hello_parse(&f, &back, &err), 0);
	CHECK_INT(back.major, 0);
}

/* OPEN or BIND of host:port encoded, then parsed back the same. */
static void
check_addr(enum frame_type type, const char *host, uint16_t port)
{
	struct frame_addr a = {"", port}, back;
	uint8_t out[FRAME_CONTROL_MAX];
	const char *err = NULL;
	size_t hl = strlen(host);

	memcpy(a.host, host, hl + 1);
	int n = frame_addr_encode(&a, out, sizeof(out));
	CHECK_INT(n, 3 + hl);
	CHECK_INT(out[0] << 8 | out[1], port);
	CHECK_INT(out[2], hl);
	struct frame f = frame_of(type, 1, out, (size_t)n);
	CHECK_INT(frame_addr_parse(&f, &back, &err), 0);
	CHECK_STR(back.host, host);
	CHECK_INT(back.port, port);
	CHECK_INT(frame_addr_encode(&a, out, (size_t)n - 1), -1);
}

static void
check_addr_fails(
    enum frame_type type, uint32_t flow, const uint8_t *p, size_t len, const char *want)
{
	struct frame_addr a;
	const char *err = NULL;
	struct frame f = frame_of(type, flow, p, len);

	memset(&a, 0x55, sizeof(a));
	CHECK_INT(frame_addr_parse(&f, &a, &err), -1);
	CHECK_STR(err, want);
	CHECK(memchr(a.host, '\0', sizeof(a.host)) != NULL);
}

static void
test_addr(void)
{
	char host[FRAME_HOST_MAX + 2];
	struct frame_addr a;
	uint8_t out[FRAME_CONTROL_MAX + 8];

	check_addr(FRAME_OPEN, "10.0.0.2", 53);
	check_addr(FRAME_OPEN, "fe80::1%eth0", 65535);
	check_addr(FRAME_OPEN, "x", 1);
	check_addr(FRAME_BIND, "localhost", 0);
	check_addr(FRAME_BIND, "!~", 3283);
	memset(host, 'h', FRAME_HOST_MAX);
	host[FRAME_HOST_MAX] = '\0';
	check_addr(FRAME_OPEN, host, 80);
	CHECK_INT(FRAME_CONTROL_MAX, 3 + FRAME_HOST_MAX);

	/* The encoder refuses 0 and 256 bytes, and bytes the parser refuses. */
	memset(&a, 0, sizeof(a));
	CHECK_INT(frame_addr_encode(&a, out, sizeof(out)), -1);
	memset(a.host, 'h', sizeof(a.host));
	CHECK_INT(frame_addr_encode(&a, out, sizeof(out)), -1);
	strcpy(a.host, "a b");
	CHECK_INT(frame_addr_encode(&a, out, sizeof(out)), -1);
	strcpy(a.host, "a\x7f");
	CHECK_INT(frame_addr_encode(&a, out, sizeof(out)), -1);
	strcpy(a.host, "\xc3\xa9");
	CHECK_INT(frame_addr_encode(&a, out, sizeof(out)), -1);

	/* Parser rejections. */
	check_addr_fails(FRAME_OPEN, 1, BYTES("\x00\x35\x01"), "host past the end of the payload");
	check_addr_fails(FRAME_OPEN, 1, BYTES(""), "too short for an address");
	check_addr_fails(FRAME_OPEN, 1, BYTES("\x00\x35"), "too short for an address");
	check_addr_fails(FRAME_OPEN, 1, BYTES("\x00\x35\x00"), "empty host");
	check_addr_fails(FRAME_OPEN, 1, BYTES("\x00\x35\x00x"), "empty host");
	check_addr_fails(FRAME_OPEN, 1,
	    BYTES("\x00\x35\x03"
		  "ab"),
	    "host past the end of the payload");
	check_addr_fails(FRAME_OPEN, 1,
	    BYTES("\x00\x35\x01"
		  "ab"),
	    "bytes after the host");
	check_addr_fails(FRAME_OPEN, 1, BYTES("\x00\x00\x01x"), "port 0");
	check_addr_fails(FRAME_OPEN, 0, BYTES("\x00\x35\x01x"), "flow id 0");
	check_addr_fails(FRAME_BIND, 0, BYTES("\x00\x35\x01x"), "flow id 0");
	check_addr_fails(
	    FRAME_OPEN, 0x80000000u, BYTES("\x00\x35\x01x"), "flow id in the relay's range");
	check_addr_fails(
	    FRAME_BIND, 0xffffffffu, BYTES("\x00\x35\x01x"), "flow id in the relay's range");
	check_addr_fails(FRAME_DATA, 1, BYTES("\x00\x35\x01x"), "not an OPEN, SOPEN or BIND frame");
	static const char *const bad[] = {"\x00\x35\x03\x61\x00\x62", "\x00\x35\x03\x61\x20\x62",
	    "\x00\x35\x03\x61\x0a\x62", "\x00\x35\x03\x61\x7f\x62", "\x00\x35\x03\x61\x80\x62",
	    "\x00\x35\x03\x61\xff\x62"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_addr_fails(FRAME_OPEN, 1, (const uint8_t *)bad[i], 6,
		    "host has a space, control or non-ASCII byte");

	/* 255 is the most a length byte says: 256 host bytes leave one over. */
	out[0] = 0;
	out[1] = 80;
	out[2] = 255;
	memset(out + 3, 'h', 256);
	check_addr_fails(FRAME_OPEN, 1, out, 3 + 256, "bytes after the host");
}

static void
test_bound(void)
{
	uint8_t out[4];
	uint16_t port = 1;
	const char *err = NULL;

	CHECK_INT(frame_bound_encode(3283, out, sizeof(out)), 2);
	CHECK(memcmp(out, "\x0c\xd3", 2) == 0);
	struct frame f = frame_of(FRAME_BOUND, 0x40000001u, out, 2);
	CHECK_INT(frame_bound_parse(&f, &port, &err), 0);
	CHECK_INT(port, 3283);
	CHECK_INT(frame_bound_encode(65535, out, sizeof(out)), 2);
	CHECK_INT(frame_bound_parse(&f, &port, &err), 0);
	CHECK_INT(port, 65535);
	CHECK_INT(frame_bound_encode(0, out, sizeof(out)), -1);
	CHECK_INT(frame_bound_encode(80, out, 1), -1);

	f = frame_of(FRAME_BOUND, 1, BYTES("\x00\x00"));
	CHECK_INT(frame_bound_parse(&f, &port, &err), -1);
	CHECK_STR(err, "port 0");
	CHECK_INT(port, 0);
	f = frame_of(FRAME_BOUND, 1, BYTES("\x00"));
	CHECK_INT(frame_bound_parse(&f, &port, &err), -1);
	CHECK_STR(err, "BOUND payload not 2 bytes");
	f = frame_of(FRAME_BOUND, 1, BYTES("\x00\x50\x00"));
	CHECK_INT(frame_bound_parse(&f, &port, &err), -1);
	CHECK_STR(err, "BOUND payload not 2 bytes");
	f = frame_of(FRAME_OPEN, 1, BYTES("\x00\x50"));
	CHECK_INT(frame_bound_parse(&f, &port, &err), -1);
	CHECK_STR(err, "not a BOUND frame");
}

static void
check_accept(const char *source, const char *want, size_t want_len)
{
	struct frame_accept a = {0x40000001u, "", 50000}, back;
	uint8_t out[64];
	const char *err = NULL;

	strcpy(a.source, source);
	int n = frame_accept_encode(&a, out, sizeof(out));
	CHECK_INT(n, want_len);
	if (n < 0)
		return;
	CHECK_INT(frame_accept_encode(&a, out, (size_t)n - 1), -1);
	struct frame f = frame_of(FRAME_ACCEPT, 0x80000001u, out, (size_t)n);
	CHECK_INT(frame_accept_parse(&f, &back, &err), 0);
	CHECK_INT(back.listener, 0x40000001u);
	CHECK_INT(back.source_port, 50000);
	CHECK_STR(back.source, want);
}

static void
check_accept_fails(uint32_t flow, const uint8_t *p, size_t len, const char *want)
{
	struct frame_accept a;
	const char *err = NULL;
	struct frame f = frame_of(FRAME_ACCEPT, flow, p, len);

	memset(&a, 0x55, sizeof(a));
	CHECK_INT(frame_accept_parse(&f, &a, &err), -1);
	CHECK_STR(err, want);
	CHECK(memchr(a.source, '\0', sizeof(a.source)) != NULL);
}

static void
test_accept(void)
{
	struct frame_accept a = {0x40000001u, "192.0.2.7", 50000};
	uint8_t out[64];
	const char *err = NULL;

	CHECK_INT(frame_accept_encode(&a, out, sizeof(out)), 11);
	CHECK(memcmp(out, "\x40\x00\x00\x01\xc3\x50\x04\xc0\x00\x02\x07", 11) == 0);
	check_accept("192.0.2.7", "192.0.2.7", 11);
	check_accept("0.0.0.0", "0.0.0.0", 11);
	check_accept("2001:db8::1", "2001:db8::1", 23);
	check_accept("2001:0DB8:0::0:1", "2001:db8::1", 23);
	check_accept("::ffff:10.0.0.1", "::ffff:10.0.0.1", 23);
	check_accept("::", "::", 23);
	check_accept("localhost", NULL, (size_t)-1);
	check_accept("", NULL, (size_t)-1);
	check_accept("[::1]", NULL, (size_t)-1);
	check_accept("1.2.3.4:5", NULL, (size_t)-1);
	a.listener = 0;
	CHECK_INT(frame_accept_encode(&a, out, sizeof(out)), -1);
	a.listener = 0x80000000u;
	CHECK_INT(frame_accept_encode(&a, out, sizeof(out)), -1);
	a.listener = 1;
	memset(a.source, '1', sizeof(a.source));
	CHECK_INT(frame_accept_encode(&a, out, sizeof(out)), -1);

	/* Parsed from bytes: port 0 is information, not an error. */
	struct frame f = frame_of(
	    FRAME_ACCEPT, 0x80000000u, BYTES("\x7f\xff\xff\xff\x00\x00\x04\x7f\x00\x00\x01"));
	CHECK_INT(frame_accept_parse(&f, &a, &err), 0);
	CHECK_INT(a.listener, 0x7fffffffu);
	CHECK_INT(a.source_port, 0);
	CHECK_STR(a.source, "127.0.0.1");

	static const char v4[] = "\x00\x00\x00\x01\x00\x35\x04\x7f\x00\x00\x01";
	static const char v6[] = "\x00\x00\x00\x01\x00\x35\x06"
				 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01";
	f = frame_of(FRAME_ACCEPT, 0x80000001u, (const uint8_t *)v6, 23);
	CHECK_INT(frame_accept_parse(&f, &a, &err), 0);
	CHECK_STR(a.source, "::1");
	check_accept_fails(
	    0x7fffffffu, (const uint8_t *)v4, 11, "flow id not in the relay's range");
	check_accept_fails(0, (const uint8_t *)v4, 11, "flow id not in the relay's range");
	for (size_t len = 0; len < 7; len++)
		check_accept_fails(
		    0x80000001u, (const uint8_t *)v4, len, "too short for an ACCEPT");
	for (size_t len = 7; len < 11; len++)
		check_accept_fails(0x80000001u, (const uint8_t *)v4, len,
		    "ACCEPT length does not match its address family");
	check_accept_fails(0x80000001u, (const uint8_t *)v6, 11,
	    "ACCEPT length does not match its address family");
	check_accept_fails(0x80000001u, (const uint8_t *)v6, 22,
	    "ACCEPT length does not match its address family");
	check_accept_fails(0x80000001u, BYTES("\x00\x00\x00\x00\x00\x35\x04\x7f\x00\x00\x01"),
	    "listener id 0 or in the relay's range");
	check_accept_fails(0x80000001u, BYTES("\x80\x00\x00\x01\x00\x35\x04\x7f\x00\x00\x01"),
	    "listener id 0 or in the relay's range");
	check_accept_fails(0x80000001u, BYTES("\x00\x00\x00\x01\x00\x35\x05\x7f\x00\x00\x01"),
	    "address family not 4 or 6");
	check_accept_fails(0x80000001u, BYTES("\x00\x00\x00\x01\x00\x35\x02\x7f\x00\x00\x01"),
	    "address family not 4 or 6");
	f = frame_of(FRAME_DATA, 0x80000001u, (const uint8_t *)v4, 11);
	CHECK_INT(frame_accept_parse(&f, &a, &err), -1);
	CHECK_STR(err, "not an ACCEPT frame");
}

/* A CLOSE or ERROR text encoded: what the payload's text is, and that it parses back. */
static void
check_reason(const char *text, const char *want)
{
	struct frame_reason r = {CLOSE_FAILED, ""}, back;
	uint8_t out[FRAME_CONTROL_MAX];
	const char *err = NULL;

	memset(r.text, 0, sizeof(r.text));
	memcpy(r.text, text, strnlen(text, sizeof(r.text)));
	int n = frame_reason_encode(&r, out, sizeof(out));
	CHECK_INT(n, 2 + strlen(want));
	CHECK(n >= 2 && memcmp(out + 2, want, (size_t)n - 2) == 0);
	struct frame f = frame_of(FRAME_CLOSE, 9, out, (size_t)n);
	CHECK_INT(frame_reason_parse(&f, &back, &err), 0);
	CHECK_INT(back.code, CLOSE_FAILED);
	CHECK_STR(back.text, want);
	CHECK_INT(frame_reason_encode(&r, out, (size_t)n - 1), -1);
}

static void
check_reason_fails(
    enum frame_type type, uint32_t flow, const uint8_t *p, size_t len, const char *want)
{
	struct frame_reason r;
	const char *err = NULL;
	struct frame f = frame_of(type, flow, p, len);

	memset(&r, 0x55, sizeof(r));
	CHECK_INT(frame_reason_parse(&f, &r, &err), -1);
	CHECK_STR(err, want);
	CHECK(memchr(r.text, '\0', sizeof(r.text)) != NULL);
}

static void
test_reason(void)
{
	char text[512], want[512];
	struct frame_reason r = {ERR_NOT_ALLOWED, "not allowed by --permit-open"};
	uint8_t out[FRAME_CONTROL_MAX];
	const char *err = NULL;

	int n = frame_reason_encode(&r, out, sizeof(out));
	CHECK_INT(n, 2 + 28);
	CHECK(memcmp(out, "\x00\x03not allowed", 13) == 0);
	struct frame f = frame_of(FRAME_ERROR, 0, out, (size_t)n);
	CHECK_INT(frame_reason_parse(&f, &r, &err), 0);
	CHECK_INT(r.code, ERR_NOT_ALLOWED);
	CHECK_STR(r.text, "not allowed by --permit-open");

	/* Code only; any code, known or not. */
	f = frame_of(FRAME_CLOSE, 1, BYTES("\xff\xfe"));
	CHECK_INT(frame_reason_parse(&f, &r, &err), 0);
	CHECK_INT(r.code, 0xfffe);
	CHECK_STR(r.text, "");

	check_reason("", "");
	check_reason("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0~",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0~");
	/* The encoder writes what the parser refuses as '?', byte by byte. */
	check_reason("a\tb\nc\x7f", "a?b?c?");
	check_reason("C1 \xc2\x9b[31m", "C1 ??[31m");
	check_reason("overlong \xc0\xaf \xe0\x80\xaf", "overlong ?? ???");
	check_reason("surrogate \xed\xa0\x80", "surrogate ???");
	check_reason("too big \xf4\x90\x80\x80 \xf5\x80", "too big ???? ??");
	check_reason("cut \xe2\x82", "cut ??");
	check_reason("lone \x80\xbf", "lone ??");

	/* 200 bytes fit; past that, cut at the last whole character. */
	memset(text, 'x', 200);
	text[200] = '\0';
	check_reason(text, text);
	memset(text, 'x', 201); /* unterminated in r.text: all 201 bytes read */
	memset(want, 'x', 200);
	want[200] = '\0';
	check_reason(text, want);
	memset(text, 'x', 199);
	memcpy(text + 199, "\xc3\xa9", 3);
	want[199] = '\0';
	check_reason(text, want);
	memset(text, 'x', 198);
	memcpy(text + 198, "\xc3\xa9", 3);
	memcpy(want, text, 201);
	check_reason(text, want);
	memset(text, 'x', 197);
	memcpy(text + 197, "\xf0\x9f\x98\x80", 5);
	want[197] = '\0';
	check_reason(text, want);

	/* Parser rejections. */
	check_reason_fails(FRAME_CLOSE, 1, BYTES(""), "too short for a code");
	check_reason_fails(FRAME_ERROR, 1, BYTES("\x00"), "too short for a code");
	check_reason_fails(FRAME_CLOSE, 0, BYTES("\x00\x00"), "CLOSE of flow 0");
	check_reason_fails(FRAME_DATA, 1, BYTES("\x00\x00"), "not a CLOSE, ERROR or SRESET frame");
	check_reason_fails(FRAME_ERROR, 0, BYTES("\x00\x01\x00"), "text has a control character");
	check_reason_fails(FRAME_ERROR, 0, BYTES("\x00\x01tab\t"), "text has a control character");
	check_reason_fails(
	    FRAME_ERROR, 0, BYTES("\x00\x01\x1b[2J"), "text has a control character");
	check_reason_fails(FRAME_ERROR, 0, BYTES("\x00\x01\x7f"), "text has a control character");
	static const char *const bad_utf8[] = {"\xc2\x80", "\xc2\x9f", "\xc0\x80", "\xc1\xbf",
	    "\xe0\x9f\xbf", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
	    "\xf8\x88\x80\x80", "\xff", "\x80", "\xc3", "\xe2\x82", "\xc3\x28"};
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		uint8_t p[8] = {0, 1};
		size_t len = strlen(bad_utf8[i]);
		memcpy(p + 2, bad_utf8[i], len);
		check_reason_fails(
		    FRAME_ERROR, 1, p, 2 + len, "text is not UTF-8 or has a C1 control");
	}
	memset(out, 'x', sizeof(out));
	check_reason_fails(FRAME_CLOSE, 1, out, 2 + 201, "text longer than 200 bytes");
	f = frame_of(FRAME_CLOSE, 1, out, 2 + 200);
	CHECK_INT(frame_reason_parse(&f, &r, &err), 0);
	CHECK_INT(strlen(r.text), 200);
}

/* frame_stream_check on f: 0, or -1 with the text want. */
static void
check_stream(enum frame_type type, uint32_t flow, const uint8_t *p, size_t len, const char *want)
{
	const char *err = NULL;
	struct frame f = frame_of(type, flow, p, len);

	CHECK_INT(frame_stream_check(&f, &err), want == NULL ? 0 : -1);
	if (want != NULL)
		CHECK_STR(err, want);
}

static void
test_stream_check(void)
{
	/* Every stream type with a valid id and length; the lowest and highest client ids. */
	check_stream(FRAME_SOPENED, 1, NULL, 0, NULL);
	check_stream(FRAME_SEOF, 0x7fffffffu, NULL, 0, NULL);
	check_stream(FRAME_SDATA, 7, BYTES("x"), NULL);
	check_stream(FRAME_SDATA, 7, big, FRAME_PAYLOAD_MAX, NULL);
	check_stream(FRAME_SWINDOW, 7, BYTES("\x00\x00\x10\x00"), NULL);
	check_stream(FRAME_SOPEN, 7, BYTES("\x00\x50\x01h"), NULL);
	check_stream(FRAME_SRESET, 7, BYTES("\x00\x01"), NULL);

	/* Each rejection. */
	check_stream(FRAME_DATA, 7, BYTES("x"), "not a stream frame");
	check_stream(FRAME_PONG, 7, NULL, 0, "not a stream frame");
	check_stream((enum frame_type)17, 7, NULL, 0, "not a stream frame");
	check_stream(FRAME_SDATA, 0, BYTES("x"), "stream id 0");
	check_stream(FRAME_SOPENED, 0, NULL, 0, "stream id 0");
	check_stream(FRAME_SDATA, FLOW_RELAY_BIT, BYTES("x"), "stream id in the relay's range");
	check_stream(FRAME_SEOF, 0xffffffffu, NULL, 0, "stream id in the relay's range");
	check_stream(FRAME_SOPENED, 7, BYTES("\x00"), "SOPENED or SEOF with a payload");
	check_stream(FRAME_SEOF, 7, BYTES("eof"), "SOPENED or SEOF with a payload");
	check_stream(FRAME_SDATA, 7, NULL, 0, "empty SDATA");
}

static void
test_window(void)
{
	uint8_t out[5];
	uint32_t inc = 1;
	const char *err = NULL;

	CHECK_INT(frame_window_encode(1, out, sizeof(out)), 4);
	CHECK(memcmp(out, "\x00\x00\x00\x01", 4) == 0);
	CHECK_INT(frame_window_encode(65536, out, 4), 4);
	CHECK(memcmp(out, "\x00\x01\x00\x00", 4) == 0);
	struct frame f = frame_of(FRAME_SWINDOW, 3, out, 4);
	CHECK_INT(frame_window_parse(&f, &inc, &err), 0);
	CHECK_INT(inc, 65536);
	CHECK_INT(frame_window_encode(0x7fffffffu, out, 4), 4);
	CHECK(memcmp(out, "\x7f\xff\xff\xff", 4) == 0);
	CHECK_INT(frame_window_parse(&f, &inc, &err), 0);
	CHECK(inc == 0x7fffffffu);

	/* The encoder refuses what the parser would. */
	CHECK_INT(frame_window_encode(0, out, sizeof(out)), -1);
	CHECK_INT(frame_window_encode(0x80000000u, out, sizeof(out)), -1);
	CHECK_INT(frame_window_encode(0xffffffffu, out, sizeof(out)), -1);
	CHECK_INT(frame_window_encode(1, out, 3), -1);

	/* Parser rejections, each leaving the increment 0. */
	static const struct {
		uint8_t type;
		uint32_t flow;
		const char *p;
		size_t len;
		const char *want;
	} bad[] = {
	    {FRAME_SDATA, 3, "\x00\x00\x00\x01", 4, "not an SWINDOW frame"},
	    {FRAME_SWINDOW, 0, "\x00\x00\x00\x01", 4, "stream id 0"},
	    {FRAME_SWINDOW, 0x80000003u, "\x00\x00\x00\x01", 4, "stream id in the relay's range"},
	    {FRAME_SWINDOW, 3, "", 0, "SWINDOW payload not 4 bytes"},
	    {FRAME_SWINDOW, 3, "\x00\x00\x01", 3, "SWINDOW payload not 4 bytes"},
	    {FRAME_SWINDOW, 3, "\x00\x00\x00\x01\x00", 5, "SWINDOW payload not 4 bytes"},
	    {FRAME_SWINDOW, 3, "\x00\x00\x00\x00", 4, "SWINDOW increment 0 or over 0x7FFFFFFF"},
	    {FRAME_SWINDOW, 3, "\x80\x00\x00\x00", 4, "SWINDOW increment 0 or over 0x7FFFFFFF"},
	    {FRAME_SWINDOW, 3, "\xff\xff\xff\xff", 4, "SWINDOW increment 0 or over 0x7FFFFFFF"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = frame_of(bad[i].type, bad[i].flow, (const uint8_t *)bad[i].p, bad[i].len);
		inc = 99;
		err = NULL;
		CHECK_INT(frame_window_parse(&f, &inc, &err), -1);
		CHECK_STR(err, bad[i].want);
		CHECK_INT(inc, 0);
	}
}

/* SOPEN is parsed by frame_addr_parse, SRESET by frame_reason_parse: their stream rules. */
static void
test_sopen_sreset(void)
{
	struct frame_addr a = {"db.internal", 5432}, back;
	struct frame_reason r = {RST_REFUSED, "connect: Connection refused"}, rb;
	uint8_t out[FRAME_CONTROL_MAX];
	const char *err = NULL;

	int n = frame_addr_encode(&a, out, sizeof(out));
	CHECK_INT(n, 3 + 11);
	CHECK(memcmp(out,
		  "\x15\x38\x0b"
		  "db.internal",
		  14) == 0);
	struct frame f = frame_of(FRAME_SOPEN, 5, out, (size_t)n);
	CHECK_INT(frame_addr_parse(&f, &back, &err), 0);
	CHECK_STR(back.host, "db.internal");
	CHECK_INT(back.port, 5432);
	/* The checks OPEN has, with SOPEN's name for the id. */
	f = frame_of(FRAME_SOPEN, 5, BYTES("\x00\x00\x01h"));
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "port 0");
	CHECK_STR(back.host, "");
	f = frame_of(FRAME_SOPEN, 0, out, (size_t)n);
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "flow id 0");
	f = frame_of(FRAME_SOPEN, 0x80000005u, out, (size_t)n);
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "flow id in the relay's range");
	f = frame_of(FRAME_SOPEN, 5, BYTES("\x00\x50\x00"));
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "empty host");
	f = frame_of(FRAME_SOPEN, 5, BYTES("\x00\x50\x02h"));
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "host past the end of the payload");
	f = frame_of(FRAME_SOPEN, 5, BYTES("\x00\x50\x01hx"));
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "bytes after the host");
	f = frame_of(FRAME_SOPEN, 5, BYTES("\x00\x50\x03h h"));
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "host has a space, control or non-ASCII byte");
	f = frame_of(FRAME_SOPENED, 5, out, (size_t)n);
	CHECK_INT(frame_addr_parse(&f, &back, &err), -1);
	CHECK_STR(err, "not an OPEN, SOPEN or BIND frame");

	/* SRESET: every reset code round trips, with or without a text. */
	for (uint16_t code = RST_ABORTED; code <= RST_PROTOCOL + 1; code++) {
		r.code = code;
		n = frame_reason_encode(&r, out, sizeof(out));
		CHECK_INT(n, 2 + 27);
		CHECK(out[0] == 0 && out[1] == code);
		f = frame_of(FRAME_SRESET, 0x7fffffffu, out, (size_t)n);
		CHECK_INT(frame_reason_parse(&f, &rb, &err), 0);
		CHECK_INT(rb.code, code);
		CHECK_STR(rb.text, "connect: Connection refused");
	}
	f = frame_of(FRAME_SRESET, 5, BYTES("\x00\x04"));
	CHECK_INT(frame_reason_parse(&f, &rb, &err), 0);
	CHECK_INT(rb.code, RST_RESOLVE);
	CHECK_STR(rb.text, "");
	check_reason_fails(FRAME_SRESET, 0, BYTES("\x00\x00"),
	    "SRESET of stream 0 or of an id in the relay's range");
	check_reason_fails(FRAME_SRESET, FLOW_RELAY_BIT | 5, BYTES("\x00\x00"),
	    "SRESET of stream 0 or of an id in the relay's range");
	check_reason_fails(FRAME_SRESET, 5, BYTES("\x00"), "too short for a code");
	check_reason_fails(FRAME_SRESET, 5, BYTES("\x00\x01\n"), "text has a control character");
	/* ERROR may be about flow 0 and CLOSE about a relay id; SRESET about neither. */
	f = frame_of(FRAME_CLOSE, FLOW_RELAY_BIT | 5, BYTES("\x00\x00"));
	CHECK_INT(frame_reason_parse(&f, &rb, &err), 0);
}

static void
test_ping(void)
{
	uint8_t out[9];
	uint64_t token = 1;
	const char *err = NULL;

	CHECK_INT(frame_ping_encode(0x0102030405060708ull, out, sizeof(out)), 8);
	CHECK(memcmp(out, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0);
	CHECK_INT(frame_ping_encode(1, out, 7), -1);
	struct frame f = frame_of(FRAME_PING, 0, out, 8);
	CHECK_INT(frame_ping_parse(&f, &token, &err), 0);
	CHECK(token == 0x0102030405060708ull);
	frame_ping_encode(UINT64_MAX, out, sizeof(out));
	f = frame_of(FRAME_PONG, 0, out, 8);
	CHECK_INT(frame_ping_parse(&f, &token, &err), 0);
	CHECK(token == UINT64_MAX);

	f = frame_of(FRAME_PING, 0, out, 7);
	CHECK_INT(frame_ping_parse(&f, &token, &err), -1);
	CHECK_STR(err, "PING or PONG payload not 8 bytes");
	CHECK(token == 0);
	f = frame_of(FRAME_PONG, 0, out, 9);
	CHECK_INT(frame_ping_parse(&f, &token, &err), -1);
	CHECK_STR(err, "PING or PONG payload not 8 bytes");
	f = frame_of(FRAME_DATA, 0, out, 8);
	CHECK_INT(frame_ping_parse(&f, &token, &err), -1);
	CHECK_STR(err, "not a PING or PONG frame");
}

static void
test_drops(void)
{
	uint8_t out[4];
	uint32_t count = 7;
	const char *err = NULL;

	CHECK_INT(frame_drops_encode(1234, out, sizeof(out)), 4);
	CHECK(memcmp(out, "\x00\x00\x04\xd2", 4) == 0);
	struct frame f = frame_of(FRAME_DROPS, FLOW_RELAY_BIT | 1, out, 4);
	CHECK_INT(frame_drops_parse(&f, &count, &err), 0);
	CHECK_INT(count, 1234);
	CHECK_INT(frame_drops_encode(0xffffffffu, out, sizeof(out)), 4);
	f = frame_of(FRAME_DROPS, 5, out, 4);
	CHECK_INT(frame_drops_parse(&f, &count, &err), 0);
	CHECK(count == 0xffffffffu);
	CHECK_INT(frame_drops_encode(0, out, sizeof(out)), -1);
	CHECK_INT(frame_drops_encode(1, out, 3), -1);

	static const struct {
		uint8_t type;
		uint32_t flow;
		const char *p;
		size_t len;
		const char *want;
	} bad[] = {
	    {FRAME_DATA, 3, "\x00\x00\x00\x01", 4, "not a DROPS frame"},
	    {FRAME_DROPS, 0, "\x00\x00\x00\x01", 4, "DROPS on flow 0"},
	    {FRAME_DROPS, 3, "\x00\x00\x01", 3, "DROPS payload not 4 bytes"},
	    {FRAME_DROPS, 3, "\x00\x00\x00\x01\x00", 5, "DROPS payload not 4 bytes"},
	    {FRAME_DROPS, 3, "\x00\x00\x00\x00", 4, "DROPS count 0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = frame_of(bad[i].type, bad[i].flow, (const uint8_t *)bad[i].p, bad[i].len);
		count = 9;
		err = NULL;
		CHECK_INT(frame_drops_parse(&f, &count, &err), -1);
		CHECK_STR(err, bad[i].want);
		CHECK_INT(count, 0);
	}
}

static void
test_type_names(void)
{
	static const char *const names[] = {NULL, "HELLO", "OPEN", "BIND", "BOUND", "ACCEPT",
	    "DATA", "CLOSE", "ERROR", "PING", "PONG"};
	char buf[16];

	for (unsigned t = 1; t <= FRAME_PONG; t++)
		CHECK_STR(frame_type_name((uint8_t)t, buf, sizeof(buf)), names[t]);
	CHECK_STR(frame_type_name(0, buf, sizeof(buf)), "type 0");
	CHECK_STR(frame_type_name(11, buf, sizeof(buf)), "SOPEN");
	CHECK_STR(frame_type_name(16, buf, sizeof(buf)), "SRESET");
	CHECK_STR(frame_type_name(17, buf, sizeof(buf)), "DROPS");
	CHECK_STR(frame_type_name(18, buf, sizeof(buf)), "type 18");
	CHECK_STR(frame_type_name(42, buf, sizeof(buf)), "type 42");
	CHECK_STR(frame_type_name(255, buf, sizeof(buf)), "type 255");
	CHECK_STR(frame_type_name(255, buf, 5), "type");
	CHECK_STR(frame_type_name(255, NULL, 0), "unknown type");
}

/*
 * The bytes of the block after "<!-- example: name -->" in the protocol page:
 * on each line, the two-digit hex tokens before the first other token.
 */
static size_t
doc_example(const char *doc, const char *name, uint8_t *out, size_t max)
{
	char marker[64];
	size_t n = 0;

	snprintf(marker, sizeof(marker), "<!-- example: %s -->\n```\n", name);
	const char *p = strstr(doc, marker);
	if (p == NULL)
		return 0;
	p += strlen(marker);
	while (*p != '\0' && strncmp(p, "```", 3) != 0) {
		const char *eol = strchr(p, '\n');
		if (eol == NULL)
			return 0;
		for (;;) {
			while (*p == ' ')
				p++;
			unsigned v;
			int used = 0;
			if (p + 2 > eol || sscanf(p, "%2x%n", &v, &used) != 1 || used != 2 ||
			    (p[2] != ' ' && p[2] != '\n') || n == max)
				break;
			out[n++] = (uint8_t)v;
			p += 2;
		}
		p = eol + 1;
	}
	return n;
}

/* The protocol page, from tests/unit (as meson runs the tests) or the top of the tree. */
static char *
read_doc(void)
{
	static const char *const paths[] = {
	    "../../docs/relay-protocol.md", "docs/relay-protocol.md"};
	static char doc[1 << 16];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		FILE *f = fopen(paths[i], "r");
		if (f == NULL)
			continue;
		size_t n = fread(doc, 1, sizeof(doc) - 1, f);
		fclose(f);
		doc[n] = '\0';
		return doc;
	}
	fprintf(stderr, "docs/relay-protocol.md: not found from here\n");
	return NULL;
}

static void
test_doc_example(void)
{
	const char *doc = read_doc();
	uint8_t want[128], got[128], payload[FRAME_CONTROL_MAX];
	size_t len;
	int n;

	CHECK(doc != NULL);
	if (doc == NULL)
		return;

	struct frame_hello h = {RELAY_VERSION_MAJOR, RELAY_VERSION_MINOR, FRAME_DATAGRAM_MAX, 60,
	    1024, "porthole 0.1.0", 262144, 4096, 0};
	n = frame_hello_encode(&h, payload, sizeof(payload));
	len = put_frame(got, FRAME_HELLO, 0, payload, (size_t)n);
	CHECK_INT(len, 46);
	CHECK_INT(doc_example(doc, "hello", want, sizeof(want)), len);
	CHECK(memcmp(want, got, len) == 0);

	struct frame_addr a = {"10.0.0.2", 53};
	n = frame_addr_encode(&a, payload, sizeof(payload));
	len = put_frame(got, FRAME_OPEN, 1, payload, (size_t)n);
	CHECK_INT(len, 19);
	CHECK_INT(doc_example(doc, "open", want, sizeof(want)), len);
	CHECK(memcmp(want, got, len) == 0);

	len = put_frame(got, FRAME_DATA, 1, BYTES("hello"));
	CHECK_INT(len, 13);
	CHECK_INT(doc_example(doc, "data", want, sizeof(want)), len);
	CHECK(memcmp(want, got, len) == 0);

	struct frame_addr s = {"intranet", 80};
	n = frame_addr_encode(&s, payload, sizeof(payload));
	len = put_frame(got, FRAME_SOPEN, 2, payload, (size_t)n);
	CHECK_INT(len, 19);
	CHECK_INT(doc_example(doc, "sopen", want, sizeof(want)), len);
	CHECK(memcmp(want, got, len) == 0);

	len = put_frame(got, FRAME_SDATA, 2, BYTES("GET / HTTP/1.0\r\n\r\n"));
	CHECK_INT(len, 26);
	CHECK_INT(doc_example(doc, "sdata", want, sizeof(want)), len);
	CHECK(memcmp(want, got, len) == 0);

	/* And the five, back to back, decode as a stream, each frame valid for its type. */
	static const char *const names[] = {"hello", "open", "data", "sopen", "sdata"};
	uint8_t stream[256];
	size_t at = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		at += doc_example(doc, names[i], stream + at, sizeof(stream) - at);
	CHECK_INT(at, 46 + 19 + 13 + 19 + 26);
	struct frame f;
	const char *err = NULL;
	long step;
	int frames = 0;
	for (size_t off = 0; (step = frame_decode(stream + off, at - off, &f, &err)) > 0;
	     off += (size_t)step) {
		struct frame_addr fa;
		if (f.type == FRAME_SOPEN)
			CHECK_INT(frame_addr_parse(&f, &fa, &err), 0);
		if (f.type == FRAME_SOPEN || f.type == FRAME_SDATA)
			CHECK_INT(frame_stream_check(&f, &err), 0);
		frames++;
	}
	CHECK_INT(frames, 5);
	CHECK_INT(step, 0);
}

int
main(void)
{
	test_header();
	test_one_and_a_half();
	test_split();
	test_data_sizes();
	test_hello();
	test_hello_rejects();
	test_addr();
	test_bound();
	test_accept();
	test_reason();
	test_stream_check();
	test_window();
	test_sopen_sreset();
	test_ping();
	test_drops();
	test_type_names();
	test_doc_example();
	return check_done("udpframe");
}
