/*
 * The server side of the SOCKS handshake for -D (dynamic forwarding), as a
 * pure state machine: bytes from the client go in, bytes to send back and a
 * finished request come out. No I/O, no allocation.
 *
 * SOCKS5 (RFC 1928) without authentication, and SOCKS4 with the 4a host name
 * extension. The first byte picks the version. Once it is known, every
 * protocol error comes with a reply in that version for the caller to send
 * before closing (SOCKS5 greeting: {05 FF}; SOCKS5 request: a reply with a
 * code; SOCKS4: 0x5B); only a first byte that is neither 4 nor 5 gets none.
 *
 * Choices where the RFCs leave room:
 *   - A first byte that can start an HTTP method (C D G H O P T) is matched
 *     against "CONNECT ", "GET " ... before failing, so that an HTTP client
 *     gets "not a SOCKS client (looks like HTTP)"; such input is consumed
 *     until it stops matching, anything else fails at its first byte.
 *   - SOCKS5 NMETHODS 0 fails with {05 FF}, like an offer without 0x00.
 *   - SOCKS5 request with VER other than 5 fails with reply 0x01.
 *   - The SOCKS5 RSV byte is not checked (lenient, like most servers).
 *   - A domain name (SOCKS5 or 4a) must be 1-255 bytes without control bytes
 *     (0x00-0x1F, 0x7F); bytes from 0x80 pass through. Otherwise: general
 *     failure (0x01 / 0x5B), checked once the whole name has arrived.
 *   - CONNECT to port 0 fails with general failure (0x01 / 0x5B). BIND and
 *     UDP ASSOCIATE may name port 0 (RFC 1928 allows zeros for UDP).
 *   - SOCKS4 USERID is read (up to 255 bytes) and ignored.
 *   - SOCKS4 DSTIP 0.0.0.0 is an address like any other, not a 4a marker.
 */
#ifndef PORTHOLE_SOCKS_H
#define PORTHOLE_SOCKS_H

#include <stddef.h>
#include <sys/socket.h>
#include <stdint.h>

#define SOCKS_HOST_MAX 255

/* Room socks_feed may use in out. It writes at most 10 bytes. */
#define SOCKS_OUT_MIN 512

enum socks_version { SOCKS_V4 = 4, SOCKS_V5 = 5 };

enum socks_cmd { SOCKS_CMD_CONNECT = 1, SOCKS_CMD_BIND = 2, SOCKS_CMD_UDP_ASSOCIATE = 3 };

enum socks_atyp { SOCKS_ATYP_IPV4 = 1, SOCKS_ATYP_DOMAIN = 3, SOCKS_ATYP_IPV6 = 4 };

struct socks_request {
	enum socks_version version;
	enum socks_cmd cmd;   /* SOCKS4 has CONNECT and BIND only */
	enum socks_atyp atyp; /* SOCKS4: IPV4, or DOMAIN for 4a */
	char
	    host[SOCKS_HOST_MAX + 1]; /* dotted IPv4, IPv6 text (no brackets), or the domain name */
	uint16_t port;
};

/* Outcome of the CONNECT, for socks_reply(). */
enum socks_status {
	SOCKS_OK,		/* v5 0x00 / v4 0x5A */
	SOCKS_GENERAL_FAILURE,	/* v5 0x01 / v4 0x5B */
	SOCKS_NOT_ALLOWED,	/* v5 0x02 / v4 0x5B */
	SOCKS_NET_UNREACHABLE,	/* v5 0x03 / v4 0x5B */
	SOCKS_HOST_UNREACHABLE, /* v5 0x04 / v4 0x5B */
	SOCKS_REFUSED,		/* v5 0x05 / v4 0x5B */
	SOCKS_TTL_EXPIRED,	/* v5 0x06 / v4 0x5B */
	SOCKS_CMD_UNSUPPORTED,	/* v5 0x07 / v4 0x5B */
	SOCKS_ATYP_UNSUPPORTED, /* v5 0x08 / v4 0x5B */
};

enum socks_result {
	SOCKS_NEED_MORE, /* feed more bytes */
	/* Send out[0..*outlen) to the client, then keep feeding (v5 method selection). */
	SOCKS_SEND,
	/* A request is complete in s->req (valid only now); out is empty. */
	SOCKS_REQUEST,
	/* Protocol error: send out (if empty, just close) and close; s->error says why. */
	SOCKS_FAIL,
};

/* Zero-initialise (memset) before first use. */
struct socks {
	int state; /* private */
	struct socks_request req;
	/* Static text, set on SOCKS_FAIL, e.g. "unsupported SOCKS version 0x47". */
	const char *error;

	/* Private: the field being read. */
	uint8_t buf[SOCKS_HOST_MAX + 1];
	size_t have; /* bytes of it in buf */
	size_t need; /* its length, when fixed */
};

/*
 * Consumes bytes from in, sets *used: all of inlen on SOCKS_NEED_MORE; up to
 * the end of the message on SOCKS_SEND (feed the rest again after sending);
 * up to the end of the request on SOCKS_REQUEST (the rest is payload the
 * client sent early and belongs to the connection); up to the offending byte
 * on SOCKS_FAIL. Writes any bytes to send to out (SOCKS_OUT_MIN bytes of
 * room), sets *outlen (0 if nothing). Once it has returned SOCKS_REQUEST or
 * SOCKS_FAIL, later calls return the same, consuming and writing nothing.
 */
enum socks_result socks_feed(
    struct socks *s, const uint8_t *in, size_t inlen, size_t *used, uint8_t *out, size_t *outlen);

/*
 * The final reply to a request, after the CONNECT was tried (or refused
 * before trying: e.g. SOCKS_CMD_UNSUPPORTED for BIND and UDP ASSOCIATE).
 * Bound address 0.0.0.0:0 (SOCKS5: ATYP IPv4). Returns the length written to
 * out: 10 for SOCKS5, 8 for SOCKS4 (VN 0, CD 0x5A or 0x5B), or 0 if outlen
 * is too small or no version byte has been read yet.
 */
size_t socks_reply(const struct socks *s, enum socks_status status, uint8_t *out, size_t outlen);

/*
 * A SOCKS5 reply that names the bound address: the answer to UDP ASSOCIATE,
 * telling the client where to send its datagrams. addr is IPv4 or IPv6
 * (sockaddr_in or sockaddr_in6). Returns 10 or 22, or 0 if it does not fit.
 */
size_t socks_reply_bound(
    enum socks_status status, const struct sockaddr *addr, uint8_t *out, size_t outlen);

/* The header SOCKS5 puts before every datagram of a UDP association (RFC 1928 §7). */
struct socks_udp {
	uint8_t frag; /* fragment number; porthole drops fragments (nonzero) */
	enum socks_atyp atyp;
	char host[SOCKS_HOST_MAX + 1]; /* as in a request */
	uint16_t port;
	size_t header_len; /* the datagram's payload starts here */
};

/*
 * Parses the header at the start of a datagram. Returns 0, or -1 with *err
 * set if it is malformed (short, reserved bytes set, bad address type, a
 * name with control bytes, port 0).
 */
int socks_udp_parse(const uint8_t *buf, size_t len, struct socks_udp *out, const char **err);

/* Text for a status, e.g. "connection refused". */
const char *socks_status_text(enum socks_status status);

#endif
