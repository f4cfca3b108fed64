/*
 * The relay protocol's frames, encoded and decoded (docs/relay-protocol.md).
 * Every parser starts from the frame's declared type and length, checks a
 * field's bytes are there before reading them, and accepts nothing it would
 * not itself encode, except where the protocol leaves room to grow (bytes
 * after a HELLO's software name; a HELLO of another major version). Error
 * texts are static strings.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "udpframe.h"

#define HELLO_FIXED 15 /* major, minor, three u32, software_len */
#define HELLO_11 9     /* 1.1 after the software name: stream_window, max_streams, flags */
#define ADDR_FIXED 3   /* port, host_len */
#define ACCEPT_FIXED 7 /* listener, source_port, family */
#define REASON_FIXED 2 /* code */

static const char *const type_names[] = {
    [FRAME_HELLO] = "HELLO",
    [FRAME_OPEN] = "OPEN",
    [FRAME_BIND] = "BIND",
    [FRAME_BOUND] = "BOUND",
    [FRAME_ACCEPT] = "ACCEPT",
    [FRAME_DATA] = "DATA",
    [FRAME_CLOSE] = "CLOSE",
    [FRAME_ERROR] = "ERROR",
    [FRAME_PING] = "PING",
    [FRAME_PONG] = "PONG",
    [FRAME_SOPEN] = "SOPEN",
    [FRAME_SOPENED] = "SOPENED",
    [FRAME_SDATA] = "SDATA",
    [FRAME_SWINDOW] = "SWINDOW",
    [FRAME_SEOF] = "SEOF",
    [FRAME_SRESET] = "SRESET",
    [FRAME_DROPS] = "DROPS",
};

static int
fail(const char **err, const char *text)
{
	if (err != NULL)
		*err = text;
	return -1;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* A HELLO's software name: printable ASCII, spaces included. */
static bool
software_byte_ok(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* A host name or address: printable ASCII without spaces. */
static bool
host_byte_ok(uint8_t c)
{
	return c > 0x20 && c <= 0x7e;
}

/*
 * The length of the character that starts s (n bytes available) if it may
 * appear in a CLOSE or ERROR text, else 0: printable ASCII, or UTF-8 in its
 * shortest form that is not a C1 control (U+0080-U+009F, which terminals
 * obey), a surrogate or past U+10FFFF.
 */
static size_t
text_char_len(const uint8_t *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
		min = 0xa0; /* not C1 */
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

long
frame_decode(const uint8_t *buf, size_t len, struct frame *f, const char **err)
{
	if (len < FRAME_HEADER)
		return 0;
	if (buf[0] == 0)
		return fail(err, "frame type 0");
	if (buf[1] != 0)
		return fail(err, "reserved flags set");
	uint16_t plen = get16(buf + 6);
	if (len - FRAME_HEADER < plen)
		return 0;
	f->type = buf[0];
	f->flags = buf[1];
	f->flow = get32(buf + 2);
	f->len = plen;
	f->payload = buf + FRAME_HEADER;
	return FRAME_HEADER + (long)plen;
}

size_t
frame_header(uint8_t out[FRAME_HEADER], enum frame_type type, uint32_t flow, uint16_t len)
{
	out[0] = (uint8_t)type;
	out[1] = 0;
	put32(out + 2, flow);
	put16(out + 6, len);
	return FRAME_HEADER;
}

int
frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t outlen)
{
	size_t n = strnlen(h->software, sizeof(h->software));
	size_t more = h->minor >= 1 ? HELLO_11 : 0;

	if (n > FRAME_SOFTWARE_MAX || outlen < HELLO_FIXED + n + more)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!software_byte_ok((uint8_t)h->software[i]))
			return -1;
	uint8_t *p = out;
	*p++ = h->major;
	*p++ = h->minor;
	p = put32(p, h->max_datagram);
	p = put32(p, h->idle_timeout);
	p = put32(p, h->max_flows);
	*p++ = (uint8_t)n;
	memcpy(p, h->software, n);
	p += n;
	if (more > 0) {
		p = put32(p, h->stream_window);
		p = put32(p, h->max_streams);
		*p = h->stream_flags;
	}
	return (int)(HELLO_FIXED + n + more);
}

int
frame_hello_parse(const struct frame *f, struct frame_hello *h, const char **err)
{
	const uint8_t *p = f->payload;

	memset(h, 0, sizeof(*h));
	if (f->type != FRAME_HELLO)
		return fail(err, "not a HELLO frame");
	if (f->flow != 0)
		return fail(err, "HELLO on a flow other than 0");
	if (f->len < 2)
		return fail(err, "HELLO too short for a version");
	h->major = p[0];
	h->minor = p[1];
	/* Only the version is common to every major: the caller compares it. */
	if (h->major != RELAY_VERSION_MAJOR)
		return 0;
	if (f->len < HELLO_FIXED)
		return fail(err, "HELLO too short");
	h->max_datagram = get32(p + 2);
	h->idle_timeout = get32(p + 6);
	h->max_flows = get32(p + 10);
	size_t n = p[14];
	if (n > FRAME_SOFTWARE_MAX)
		return fail(err, "software name longer than 64 bytes");
	if (f->len < HELLO_FIXED + n)
		return fail(err, "software name past the end of the payload");
	for (size_t i = 0; i < n; i++)
		if (!software_byte_ok(p[HELLO_FIXED + i]))
			return fail(err, "software name not printable ASCII");
	memcpy(h->software, p + HELLO_FIXED, n);
	h->software[n] = '\0';
	if (h->minor >= 1) {
		const uint8_t *q = p + HELLO_FIXED + n;
		if (f->len < HELLO_FIXED + n + HELLO_11) {
			memset(h, 0, sizeof(*h));
			return fail(err, "HELLO 1.1 without its stream fields");
		}
		h->stream_window = get32(q);
		h->max_streams = get32(q + 4);
		h->stream_flags = q[8];
	}
	return 0; /* later bytes: fields of a later minor version */
}

int
frame_addr_encode(const struct frame_addr *a, uint8_t *out, size_t outlen)
{
	size_t n = strnlen(a->host, sizeof(a->host));

	if (n == 0 || n > FRAME_HOST_MAX || outlen < ADDR_FIXED + n)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!host_byte_ok((uint8_t)a->host[i]))
			return -1;
	uint8_t *p = put16(out, a->port);
	*p++ = (uint8_t)n;
	memcpy(p, a->host, n);
	return (int)(ADDR_FIXED + n);
}

int
frame_addr_parse(const struct frame *f, struct frame_addr *a, const char **err)
{
	const uint8_t *p = f->payload;

	memset(a, 0, sizeof(*a));
	if (f->type != FRAME_OPEN && f->type != FRAME_BIND && f->type != FRAME_SOPEN)
		return fail(err, "not an OPEN, SOPEN or BIND frame");
	if (f->flow == 0)
		return fail(err, "flow id 0");
	if (f->flow & FLOW_RELAY_BIT)
		return fail(err, "flow id in the relay's range");
	if (f->len < ADDR_FIXED)
		return fail(err, "too short for an address");
	size_t n = p[2];
	if (n == 0)
		return fail(err, "empty host");
	if (f->len < ADDR_FIXED + n)
		return fail(err, "host past the end of the payload");
	if (f->len > ADDR_FIXED + n)
		return fail(err, "bytes after the host");
	for (size_t i = 0; i < n; i++)
		if (!host_byte_ok(p[ADDR_FIXED + i]))
			return fail(err, "host has a space, control or non-ASCII byte");
	uint16_t port = get16(p);
	if (port == 0 && f->type != FRAME_BIND)
		return fail(err, "port 0");
	a->port = port;
	memcpy(a->host, p + ADDR_FIXED, n);
	a->host[n] = '\0';
	return 0;
}

int
frame_bound_encode(uint16_t port, uint8_t *out, size_t outlen)
{
	if (port == 0 || outlen < 2)
		return -1;
	put16(out, port);
	return 2;
}

int
frame_bound_parse(const struct frame *f, uint16_t *port, const char **err)
{
	*port = 0;
	if (f->type != FRAME_BOUND)
		return fail(err, "not a BOUND frame");
	if (f->len != 2)
		return fail(err, "BOUND payload not 2 bytes");
	if (get16(f->payload) == 0)
		return fail(err, "port 0");
	*port = get16(f->payload);
	return 0;
}

static bool
listener_ok(uint32_t id)
{
	return id != 0 && (id & FLOW_RELAY_BIT) == 0;
}

int
frame_accept_encode(const struct frame_accept *a, uint8_t *out, size_t outlen)
{
	uint8_t addr[16];
	size_t addrlen;
	uint8_t family;

	if (!listener_ok(a->listener) || memchr(a->source, '\0', sizeof(a->source)) == NULL)
		return -1;
	if (inet_pton(AF_INET, a->source, addr) == 1) {
		family = 4;
		addrlen = 4;
	} else if (inet_pton(AF_INET6, a->source, addr) == 1) {
		family = 6;
		addrlen = 16;
	} else {
		return -1;
	}
	if (outlen < ACCEPT_FIXED + addrlen)
		return -1;
	uint8_t *p = put32(out, a->listener);
	p = put16(p, a->source_port);
	*p++ = family;
	memcpy(p, addr, addrlen);
	return (int)(ACCEPT_FIXED + addrlen);
}

int
frame_accept_parse(const struct frame *f, struct frame_accept *a, const char **err)
{
	const uint8_t *p = f->payload;

	memset(a, 0, sizeof(*a));
	if (f->type != FRAME_ACCEPT)
		return fail(err, "not an ACCEPT frame");
	if ((f->flow & FLOW_RELAY_BIT) == 0)
		return fail(err, "flow id not in the relay's range");
	if (f->len < ACCEPT_FIXED)
		return fail(err, "too short for an ACCEPT");
	uint32_t listener = get32(p);
	if (!listener_ok(listener))
		return fail(err, "listener id 0 or in the relay's range");
	int af;
	size_t addrlen;
	switch (p[6]) {
	case 4:
		af = AF_INET;
		addrlen = 4;
		break;
	case 6:
		af = AF_INET6;
		addrlen = 16;
		break;
	default:
		return fail(err, "address family not 4 or 6");
	}
	if (f->len != ACCEPT_FIXED + addrlen)
		return fail(err, "ACCEPT length does not match its address family");
	if (inet_ntop(af, p + ACCEPT_FIXED, a->source, sizeof(a->source)) == NULL) {
		a->source[0] = '\0';
		return fail(err, "address does not format");
	}
	a->listener = listener;
	a->source_port = get16(p + 4);
	return 0;
}

int
frame_reason_encode(const struct frame_reason *r, uint8_t *out, size_t outlen)
{
	const uint8_t *s = (const uint8_t *)r->text;
	size_t n = strnlen(r->text, sizeof(r->text)), len = 0;
	uint8_t text[FRAME_TEXT_MAX];

	/* Whole characters only, what the parser refuses becomes '?'. */
	for (size_t i = 0; i < n;) {
		size_t k = text_char_len(s + i, n - i);
		if (len + (k ? k : 1) > FRAME_TEXT_MAX)
			break;
		if (k == 0) {
			text[len++] = '?';
			i++;
			continue;
		}
		memcpy(text + len, s + i, k);
		len += k;
		i += k;
	}
	if (outlen < REASON_FIXED + len)
		return -1;
	put16(out, r->code);
	memcpy(out + REASON_FIXED, text, len);
	return (int)(REASON_FIXED + len);
}

int
frame_reason_parse(const struct frame *f, struct frame_reason *r, const char **err)
{
	const uint8_t *p = f->payload;

	memset(r, 0, sizeof(*r));
	if (f->type != FRAME_CLOSE && f->type != FRAME_ERROR && f->type != FRAME_SRESET)
		return fail(err, "not a CLOSE, ERROR or SRESET frame");
	if (f->type == FRAME_CLOSE && f->flow == 0)
		return fail(err, "CLOSE of flow 0");
	if (f->type == FRAME_SRESET && (f->flow == 0 || (f->flow & FLOW_RELAY_BIT)))
		return fail(err, "SRESET of stream 0 or of an id in the relay's range");
	if (f->len < REASON_FIXED)
		return fail(err, "too short for a code");
	r->code = get16(p);
	size_t n = f->len - REASON_FIXED;
	if (n > FRAME_TEXT_MAX)
		return fail(err, "text longer than 200 bytes");
	p += REASON_FIXED;
	for (size_t i = 0; i < n;) {
		size_t k = text_char_len(p + i, n - i);
		if (k == 0)
			return fail(err,
			    p[i] < 0x80 ? "text has a control character"
					: "text is not UTF-8 or has a C1 control");
		i += k;
	}
	memcpy(r->text, p, n);
	r->text[n] = '\0';
	return 0;
}

int
frame_window_encode(uint32_t increment, uint8_t *out, size_t outlen)
{
	if (increment == 0 || increment > 0x7fffffffu || outlen < 4)
		return -1;
	put32(out, increment);
	return 4;
}

int
frame_window_parse(const struct frame *f, uint32_t *increment, const char **err)
{
	*increment = 0;
	if (f->type != FRAME_SWINDOW)
		return fail(err, "not an SWINDOW frame");
	if (frame_stream_check(f, err) == -1)
		return -1;
	if (f->len != 4)
		return fail(err, "SWINDOW payload not 4 bytes");
	uint32_t inc = get32(f->payload);
	if (inc == 0 || inc > 0x7fffffffu)
		return fail(err, "SWINDOW increment 0 or over 0x7FFFFFFF");
	*increment = inc;
	return 0;
}

int
frame_drops_encode(uint32_t count, uint8_t *out, size_t outlen)
{
	if (count == 0 || outlen < 4)
		return -1;
	put32(out, count);
	return 4;
}

int
frame_drops_parse(const struct frame *f, uint32_t *count, const char **err)
{
	*count = 0;
	if (f->type != FRAME_DROPS)
		return fail(err, "not a DROPS frame");
	if (f->flow == 0)
		return fail(err, "DROPS on flow 0");
	if (f->len != 4)
		return fail(err, "DROPS payload not 4 bytes");
	uint32_t n = get32(f->payload);
	if (n == 0)
		return fail(err, "DROPS count 0");
	*count = n;
	return 0;
}

int
frame_stream_check(const struct frame *f, const char **err)
{
	if (f->type < FRAME_SOPEN || f->type > FRAME_SRESET)
		return fail(err, "not a stream frame");
	if (f->flow == 0)
		return fail(err, "stream id 0");
	if (f->flow & FLOW_RELAY_BIT)
		return fail(err, "stream id in the relay's range");
	if ((f->type == FRAME_SOPENED || f->type == FRAME_SEOF) && f->len != 0)
		return fail(err, "SOPENED or SEOF with a payload");
	if (f->type == FRAME_SDATA && f->len == 0)
		return fail(err, "empty SDATA");
	return 0;
}

int
frame_ping_encode(uint64_t token, uint8_t *out, size_t outlen)
{
	if (outlen < 8)
		return -1;
	put32(out, (uint32_t)(token >> 32));
	put32(out + 4, (uint32_t)token);
	return 8;
}

int
frame_ping_parse(const struct frame *f, uint64_t *token, const char **err)
{
	*token = 0;
	if (f->type != FRAME_PING && f->type != FRAME_PONG)
		return fail(err, "not a PING or PONG frame");
	if (f->len != 8)
		return fail(err, "PING or PONG payload not 8 bytes");
	*token = (uint64_t)get32(f->payload) << 32 | get32(f->payload + 4);
	return 0;
}

const char *
frame_type_name(uint8_t type, char *buf, size_t len)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type] != NULL)
		return type_names[type];
	if (buf == NULL || len == 0)
		return "unknown type";
	snprintf(buf, len, "type %u", (unsigned)type);
	return buf;
}
