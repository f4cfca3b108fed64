/*
 * The relay protocol's frames: UDP datagrams, TCP streams (1.1) and their
 * control messages, carried over one SSH exec channel as a byte stream. Pure: encoding and
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
#define RELAY_VERSION_MINOR 1

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
	/* 1.1: TCP streams (both peers' HELLO said minor >= 1) */
	FRAME_SOPEN = 11,   /* client: a TCP stream to host:port (flow = new stream id) */
	FRAME_SOPENED = 12, /* relay: the stream's connection is made */
	FRAME_SDATA = 13,   /* both ways: stream bytes, counted against the peer's credit */
	FRAME_SWINDOW = 14, /* both ways: more credit for the peer's SDATA on this stream */
	FRAME_SEOF = 15,    /* both ways: no more SDATA from this side (half-close) */
	FRAME_SRESET = 16,  /* both ways: the stream is gone both ways, and why */
	/* 1.1: */
	FRAME_DROPS = 17, /* relay: datagrams of a flow it dropped since its last DROPS */
};

#define FRAME_TYPE_MAX FRAME_DROPS

/* Why a stream was reset (SRESET's code). */
enum frame_reset_code {
	RST_ABORTED = 0,     /* the sender's side of it was cut (reset, failed, stopping) */
	RST_REFUSED = 1,     /* the target refused the connection */
	RST_UNREACHABLE = 2, /* network or host unreachable, or the connect timed out */
	RST_NOT_ALLOWED = 3, /* the relay's allow-list refuses it */
	RST_RESOLVE = 4,     /* the host name does not resolve */
	RST_LIMIT = 5,	     /* too many streams */
	RST_PROTOCOL = 6,    /* past the credit, data after SEOF, a reused id */
};

/* HELLO's stream_flags (1.1). */
#define STREAM_FLAG_RESTRICTED 0x01 /* relay: an allow-list limits SOPEN (--permit-open) */

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
	/* 1.1 (minor >= 1; zero from a 1.0 peer): */
	uint32_t stream_window; /* SDATA bytes the peer may send per new stream; 0 = no streams */
	uint32_t max_streams;	/* the most streams this side takes at once; 0 = no preference */
	uint8_t stream_flags;	/* STREAM_FLAG_* */
};
/* Encode refuses a software name over 64 bytes or not printable ASCII; it
 * writes the 1.1 fields when minor >= 1. Parse of a minor >= 1 HELLO without
 * them is malformed. Parse
 * of a HELLO whose major is not RELAY_VERSION_MAJOR fills only major and minor
 * and succeeds: the caller compares them and answers ERR_VERSION. */
int frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t outlen);
int frame_hello_parse(const struct frame *f, struct frame_hello *h, const char **err);

/* OPEN, SOPEN and BIND: a host (name or address, no brackets; 1-255 bytes of
 * printable ASCII, no spaces) and port (0 only in BIND: the relay picks). */
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

/* CLOSE, ERROR and SRESET: a code and a short text (at most 200 bytes of printable
 * ASCII or UTF-8, no control characters, C0 or C1). Encode never refuses a
 * text: it writes what the parser would refuse as '?' and cuts a longer one
 * at the last whole character within 200 bytes. */
struct frame_reason {
	uint16_t code; /* enum frame_close_reason, frame_error_code or frame_reset_code */
	char text[201];
};
int frame_reason_encode(const struct frame_reason *r, uint8_t *out, size_t outlen);
int frame_reason_parse(const struct frame *f, struct frame_reason *r, const char **err);

/* SWINDOW: a credit increment, 1 to 0x7FFFFFFF. */
int frame_window_encode(uint32_t increment, uint8_t *out, size_t outlen);
int frame_window_parse(const struct frame *f, uint32_t *increment, const char **err);

/*
 * The rest of a stream frame's rules: SOPENED and SEOF carry nothing, SDATA
 * 1-65535 bytes; the stream id of any stream frame is not 0 and is a client
 * id (streams are opened by the client only). SOPEN is frame_addr_parse's,
 * SRESET frame_reason_parse's, SWINDOW frame_window_parse's. 0 or -1.
 */
int frame_stream_check(const struct frame *f, const char **err);

/* DROPS: a count of datagrams, 1 to 0xFFFFFFFF, on a flow id (not 0). */
int frame_drops_encode(uint32_t count, uint8_t *out, size_t outlen);
int frame_drops_parse(const struct frame *f, uint32_t *count, const char **err);

/* PING and PONG: 8 opaque bytes, as a number (PONG returns PING's unchanged). */
int frame_ping_encode(uint64_t token, uint8_t *out, size_t outlen);
int frame_ping_parse(const struct frame *f, uint64_t *token, const char **err);

/* Name of a type, for logs ("DATA", "type 42"); buf holds the latter. */
const char *frame_type_name(uint8_t type, char *buf, size_t len);

#endif
