/*
 * The relay protocol's frames: UDP datagrams and their control messages,
 * carried over one SSH exec channel as a byte stream. Pure: encoding and
 * decoding only. The format is specified in docs/relay-protocol.md.
 *
 *   u8 type | u8 flags | u32 flow | u16 len | payload[len]     (big-endian)
 *
 * A decoder never trusts a length: every field is checked against what is
 * there before it is read.
 */
#ifndef PORTHOLE_UDPFRAME_H
#define PORTHOLE_UDPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER 8
#define FRAME_PAYLOAD_MAX 65535
#define FRAME_DATAGRAM_MAX 65507 /* the largest UDP payload over IPv4 */
#define FRAME_HOST_MAX 255
#define FRAME_SOFTWARE_MAX 64 /* a HELLO's software name */
#define FRAME_TEXT_MAX 200    /* a CLOSE's or ERROR's text */
#define FRAME_CONTROL_MAX 258 /* the longest payload an encoder below writes (OPEN, BIND) */

#define RELAY_VERSION_MAJOR 1
#define RELAY_VERSION_MINOR 0

enum frame_type {
	FRAME_HELLO = 1,  /* both ways, first: version and limits */
	FRAME_OPEN = 2,	  /* client: a flow to host:port (relay connects a UDP socket) */
	FRAME_BIND = 3,	  /* client: listen for datagrams on host:port (flow = listener id) */
	FRAME_BOUND = 4,  /* relay: the BIND succeeded, on this port */
	FRAME_ACCEPT = 5, /* relay: a new source on a bound port (flow = new flow id) */
	FRAME_DATA = 6,	  /* both ways: one datagram of a flow */
	FRAME_CLOSE = 7,  /* both ways: the flow (or listener) is gone, and why */
	FRAME_ERROR = 8,  /* both ways: something failed (flow 0: the whole relay) */
	FRAME_PING = 9,	  /* both ways: answer with PONG, same payload */
	FRAME_PONG = 10,
};

/* Flow ids: the client picks ids below this bit, the relay (ACCEPT) ids with it. */
#define FLOW_RELAY_BIT 0x80000000u

enum frame_close_reason {
	CLOSE_NORMAL = 0,  /* the owner closed it */
	CLOSE_IDLE = 1,	   /* no traffic either way for the idle timeout */
	CLOSE_EVICTED = 2, /* the flow table was full; least recently used */
	CLOSE_FAILED = 3,  /* a socket error; text says which */
};

enum frame_error_code {
	ERR_PROTOCOL = 1,     /* a malformed frame or one out of order */
	ERR_VERSION = 2,      /* incompatible major version */
	ERR_NOT_ALLOWED = 3,  /* the relay's allow-list refuses it */
	ERR_RESOLVE = 4,      /* the host name does not resolve */
	ERR_SOCKET = 5,	      /* socket, bind or connect failed */
	ERR_LIMIT = 6,	      /* too many flows or listeners */
	ERR_UNKNOWN_FLOW = 7, /* a frame for a flow that does not exist */
};

struct frame {
	uint8_t type;
	uint8_t flags;
	uint32_t flow;
	uint16_t len;
	const uint8_t *payload; /* points into the decoded buffer */
};

/*
 * Decodes one frame from the start of buf. Returns the bytes it takes
 * (FRAME_HEADER + len) with *f filled, 0 if buf does not hold a whole frame
 * yet, or -1 with *err set if the header is malformed (so the stream cannot
 * be trusted any more): type 0, or flags other than 0. The header is checked
 * as soon as its 8 bytes are there, before the payload is. Unknown types are
 * returned as they are: the caller skips them. Payloads are not looked at.
 */
long frame_decode(const uint8_t *buf, size_t len, struct frame *f, const char **err);

/* Writes a header; returns FRAME_HEADER. */
size_t frame_header(uint8_t out[FRAME_HEADER], enum frame_type type, uint32_t flow, uint16_t len);

/*
 * Payloads. Each encoder writes into out (room given by outlen) and returns the
 * payload length, or -1 if it does not fit or an argument is invalid; each
 * parser returns 0, or -1 with *err set (static text) if the payload is
 * malformed or f is not of a type it parses. A parser first zeroes its output,
 * so strings in it are NUL-terminated even after a failure. Parsers also check
 * the flow field where the type fixes its range (HELLO: 0; OPEN, BIND: a
 * client id; ACCEPT: a relay id; CLOSE: not 0).
 */

struct frame_hello {
	uint8_t major, minor;
	uint32_t max_datagram; /* the largest DATA payload this side takes */
	uint32_t idle_timeout; /* seconds; flows use the smaller nonzero of the two sides' */
	uint32_t max_flows;    /* the cap on flows; likewise the smaller nonzero */
	char software[65];     /* e.g. "porthole 0.1.0", NUL-terminated */
};
/* Encode refuses a software name over 64 bytes or not printable ASCII. Parse
 * of a HELLO whose major is not RELAY_VERSION_MAJOR fills only major and minor
 * and succeeds: the caller compares them and answers ERR_VERSION. */
int frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t outlen);
int frame_hello_parse(const struct frame *f, struct frame_hello *h, const char **err);

/* OPEN and BIND: a host (name or address, no brackets; 1-255 bytes of printable
 * ASCII, no spaces) and port (0 only in BIND: the relay picks). */
struct frame_addr {
	char host[FRAME_HOST_MAX + 1];
	uint16_t port;
};
int frame_addr_encode(const struct frame_addr *a, uint8_t *out, size_t outlen);
int frame_addr_parse(const struct frame *f, struct frame_addr *a, const char **err);

/* BOUND: the port the relay listens on (never 0). */
int frame_bound_encode(uint16_t port, uint8_t *out, size_t outlen);
int frame_bound_parse(const struct frame *f, uint16_t *port, const char **err);

/* ACCEPT: which listener, and the source address as text (IPv4 or IPv6). */
struct frame_accept {
	uint32_t listener;
	char source[FRAME_HOST_MAX + 1];
	uint16_t source_port;
};
int frame_accept_encode(const struct frame_accept *a, uint8_t *out, size_t outlen);
int frame_accept_parse(const struct frame *f, struct frame_accept *a, const char **err);

/* CLOSE and ERROR: a code and a short text (at most 200 bytes of printable
 * ASCII or UTF-8, no control characters, C0 or C1). Encode never refuses a
 * text: it writes what the parser would refuse as '?' and cuts a longer one
 * at the last whole character within 200 bytes. */
struct frame_reason {
	uint16_t code; /* enum frame_close_reason or enum frame_error_code */
	char text[201];
};
int frame_reason_encode(const struct frame_reason *r, uint8_t *out, size_t outlen);
int frame_reason_parse(const struct frame *f, struct frame_reason *r, const char **err);

/* PING and PONG: 8 opaque bytes, as a number (PONG returns PING's unchanged). */
int frame_ping_encode(uint64_t token, uint8_t *out, size_t outlen);
int frame_ping_parse(const struct frame *f, uint64_t *token, const char **err);

/* Name of a type, for logs ("DATA", "type 42"); buf holds the latter. */
const char *frame_type_name(uint8_t type, char *buf, size_t len);

#endif
