/*
 * Fuzz target for udpframe.c. The input is a stream of frames as one side of
 * the relay channel would receive it. It is decoded frame by frame until the
 * decoder wants more or fails, and each frame goes to the parser for its
 * type. Besides not crashing, a decode must keep the promises of udpframe.h
 * (a length that is header plus payload and fits; every prefix of a frame is
 * "not yet"), a parsed payload must be safe to log and use (strings
 * terminated, no control bytes, values in their ranges), and what a parser
 * accepts must encode and parse back to the same values. HELLO is the one
 * parser that may accept more than it would write (a later minor's fields,
 * another major): there the re-encoded form must be a prefix of the input.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[FRAME_CONTROL_MAX + 16];

/* The payload of f re-encoded must be out[0..n), a valid encoding. */
static void
same_payload(const struct frame *f, int n)
{
	if (n < 0 || (size_t)n != f->len || memcmp(out, f->payload, f->len) != 0)
		abort();
}

static void
check_string(const char *s, size_t size, size_t minlen, size_t maxlen, uint8_t lo, uint8_t hi)
{
	size_t len = strnlen(s, size);
	if (len == size || len < minlen || len > maxlen)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)s[i] < lo || (uint8_t)s[i] > hi)
			abort();
}

static void
fuzz_hello(const struct frame *f)
{
	struct frame_hello h, back;
	const char *err = NULL;

	if (frame_hello_parse(f, &h, &err) == -1) {
		if (err == NULL || h.software[0] != '\0')
			abort();
		return;
	}
	check_string(h.software, sizeof(h.software), 0, FRAME_SOFTWARE_MAX, 0x20, 0x7e);
	if (f->flow != 0 || f->len < 2)
		abort();
	if (h.major != RELAY_VERSION_MAJOR) {
		if (h.max_datagram != 0 || h.software[0] != '\0')
			abort();
		return;
	}
	int n = frame_hello_encode(&h, out, sizeof(out));
	if (n < 15 || (size_t)n > f->len || memcmp(out, f->payload, (size_t)n) != 0)
		abort();
	struct frame g = *f;
	g.payload = out;
	g.len = (uint16_t)n;
	if (frame_hello_parse(&g, &back, &err) != 0 || memcmp(&h, &back, sizeof(h)) != 0)
		abort();
}

static void
fuzz_addr(const struct frame *f)
{
	struct frame_addr a;
	const char *err = NULL;

	if (frame_addr_parse(f, &a, &err) == -1) {
		if (err == NULL || memchr(a.host, '\0', sizeof(a.host)) == NULL)
			abort();
		return;
	}
	check_string(a.host, sizeof(a.host), 1, FRAME_HOST_MAX, 0x21, 0x7e);
	if (f->flow == 0 || (f->flow & FLOW_RELAY_BIT) || (f->type == FRAME_OPEN && a.port == 0))
		abort();
	same_payload(f, frame_addr_encode(&a, out, sizeof(out)));
}

static void
fuzz_bound(const struct frame *f)
{
	uint16_t port;
	const char *err = NULL;

	if (frame_bound_parse(f, &port, &err) == -1) {
		if (err == NULL || port != 0)
			abort();
		return;
	}
	if (port == 0)
		abort();
	same_payload(f, frame_bound_encode(port, out, sizeof(out)));
}

static void
fuzz_drops(const struct frame *f)
{
	uint32_t count;
	const char *err = NULL;

	if (frame_drops_parse(f, &count, &err) == -1) {
		if (err == NULL || count != 0)
			abort();
		return;
	}
	if (count == 0 || f->flow == 0)
		abort();
	same_payload(f, frame_drops_encode(count, out, sizeof(out)));
}

static void
fuzz_accept(const struct frame *f)
{
	struct frame_accept a;
	const char *err = NULL;
	uint8_t addr[16];

	if (frame_accept_parse(f, &a, &err) == -1) {
		if (err == NULL || memchr(a.source, '\0', sizeof(a.source)) == NULL)
			abort();
		return;
	}
	check_string(a.source, sizeof(a.source), 2, 45, 0x21, 0x7e);
	if ((f->flow & FLOW_RELAY_BIT) == 0 || a.listener == 0 || (a.listener & FLOW_RELAY_BIT))
		abort();
	int af = f->len == 11 ? AF_INET : AF_INET6;
	if (inet_pton(af, a.source, addr) != 1)
		abort();
	same_payload(f, frame_accept_encode(&a, out, sizeof(out)));
}

static void
fuzz_reason(const struct frame *f)
{
	struct frame_reason r;
	const char *err = NULL;

	if (frame_reason_parse(f, &r, &err) == -1) {
		if (err == NULL || memchr(r.text, '\0', sizeof(r.text)) == NULL)
			abort();
		/* Whatever the text was, the encoder makes something that parses. */
		memset(r.text, 0, sizeof(r.text));
		size_t n = f->len > 2 ? f->len - 2u : 0;
		memcpy(r.text, f->payload + (f->len - n), n < sizeof(r.text) ? n : sizeof(r.text));
		int len = frame_reason_encode(&r, out, sizeof(out));
		struct frame g = {FRAME_ERROR, 0, 0, (uint16_t)len, out};
		struct frame_reason back;
		if (len < 2 || len > 2 + FRAME_TEXT_MAX || frame_reason_parse(&g, &back, &err) != 0)
			abort();
		return;
	}
	check_string(r.text, sizeof(r.text), 0, FRAME_TEXT_MAX, 0x20, 0xff);
	if (strchr(r.text, 0x7f) != NULL || (f->type == FRAME_CLOSE && f->flow == 0))
		abort();
	same_payload(f, frame_reason_encode(&r, out, sizeof(out)));
}

static void
fuzz_ping(const struct frame *f)
{
	uint64_t token;
	const char *err = NULL;

	if (frame_ping_parse(f, &token, &err) == -1) {
		if (err == NULL || token != 0 || f->len == 8)
			abort();
		return;
	}
	same_payload(f, frame_ping_encode(token, out, sizeof(out)));
}

static void
fuzz_stream(const struct frame *f)
{
	uint32_t inc;
	const char *err = NULL;

	if (frame_stream_check(f, &err) == -1) {
		if (err == NULL)
			abort();
		return;
	}
	if (f->flow == 0 || (f->flow & FLOW_RELAY_BIT))
		abort();
	if (f->type == FRAME_SWINDOW) {
		if (frame_window_parse(f, &inc, &err) == -1) {
			if (err == NULL || inc != 0)
				abort();
			return;
		}
		same_payload(f, frame_window_encode(inc, out, sizeof(out)));
	}
}

static void
fuzz_frame(const struct frame *f)
{
	char name[16];
	const char *s = frame_type_name(f->type, name, sizeof(name));

	if (s == NULL || strnlen(s, sizeof(name)) == sizeof(name) || s[0] == '\0')
		abort();
	switch (f->type) {
	case FRAME_HELLO:
		fuzz_hello(f);
		break;
	case FRAME_OPEN:
	case FRAME_BIND:
		fuzz_addr(f);
		break;
	case FRAME_SOPEN:
		fuzz_addr(f);
		fuzz_stream(f);
		break;
	case FRAME_SOPENED:
	case FRAME_SDATA:
	case FRAME_SWINDOW:
	case FRAME_SEOF:
		fuzz_stream(f);
		break;
	case FRAME_BOUND:
		fuzz_bound(f);
		break;
	case FRAME_DROPS:
		fuzz_drops(f);
		break;
	case FRAME_ACCEPT:
		fuzz_accept(f);
		break;
	case FRAME_SRESET:
		fuzz_stream(f);
		fuzz_reason(f);
		break;
	case FRAME_CLOSE:
	case FRAME_ERROR:
		fuzz_reason(f);
		break;
	case FRAME_PING:
	case FRAME_PONG:
		fuzz_ping(f);
		break;
	default: /* DATA and unknown types: the payload is opaque. */
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	for (;;) {
		struct frame f;
		const char *err = NULL;
		long n = frame_decode(data + off, size - off, &f, &err);
		if (n == 0)
			break;
		if (n < 0) {
			if (err == NULL || size - off < FRAME_HEADER)
				abort();
			return 0;
		}
		if (n < FRAME_HEADER || (size_t)n > size - off ||
		    (size_t)n != FRAME_HEADER + (size_t)f.len || f.type == 0 || f.flags != 0 ||
		    f.payload != data + off + FRAME_HEADER)
			abort();
		/* Every cut inside the frame is "not yet", and the header re-encodes. */
		struct frame g;
		if (frame_decode(data + off, (size_t)n - 1, &g, &err) != 0)
			abort();
		uint8_t hdr[FRAME_HEADER];
		frame_header(hdr, (enum frame_type)f.type, f.flow, f.len);
		if (memcmp(hdr, data + off, FRAME_HEADER) != 0)
			abort();
		fuzz_frame(&f);
		off += (size_t)n;
	}
	/* Stopped for want of bytes: a header's worth is missing or its payload is. */
	if (size - off >= FRAME_HEADER &&
	    size - off >= FRAME_HEADER + (size_t)(data[off + 6] << 8 | data[off + 7]))
		abort();
	return 0;
}
