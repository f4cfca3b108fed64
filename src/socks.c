/*
 * The SOCKS4/4a/5 server handshake, one byte at a time. Every message is a
 * run of fields; a field of known length is gathered into s->buf and handled
 * when complete, the NUL-terminated fields of SOCKS4 are handled byte by
 * byte. Going one byte at a time makes the outcome independent of how the
 * input is split, and *used is simply the count of bytes stepped over.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "socks.h"

enum state {
	ST_VERSION = 0, /* what a zeroed struct starts in */
	ST_HTTP,
	ST_V5_NMETHODS,
	ST_V5_METHODS,
	ST_V5_HEADER, /* VER CMD RSV ATYP */
	ST_V5_NAMELEN,
	ST_V5_ADDR,
	ST_V5_PORT,
	ST_V4_HEADER, /* CD DSTPORT DSTIP */
	ST_V4_USERID,
	ST_V4_HOST,
	ST_DONE,
	ST_FAILED,
};

/* "unsupported SOCKS version 0x00" ... "0xFF": s->error is static text, so one per byte. */
#define VERSION_ERROR(hi, lo) "unsupported SOCKS version 0x" #hi #lo
#define VERSION_ROW(hi)                                                                            \
	VERSION_ERROR(hi, 0), VERSION_ERROR(hi, 1), VERSION_ERROR(hi, 2), VERSION_ERROR(hi, 3),    \
	    VERSION_ERROR(hi, 4), VERSION_ERROR(hi, 5), VERSION_ERROR(hi, 6),                      \
	    VERSION_ERROR(hi, 7), VERSION_ERROR(hi, 8), VERSION_ERROR(hi, 9),                      \
	    VERSION_ERROR(hi, A), VERSION_ERROR(hi, B), VERSION_ERROR(hi, C),                      \
	    VERSION_ERROR(hi, D), VERSION_ERROR(hi, E), VERSION_ERROR(hi, F)

static const char version_errors[256][sizeof("unsupported SOCKS version 0x00")] = {
    VERSION_ROW(0),
    VERSION_ROW(1),
    VERSION_ROW(2),
    VERSION_ROW(3),
    VERSION_ROW(4),
    VERSION_ROW(5),
    VERSION_ROW(6),
    VERSION_ROW(7),
    VERSION_ROW(8),
    VERSION_ROW(9),
    VERSION_ROW(A),
    VERSION_ROW(B),
    VERSION_ROW(C),
    VERSION_ROW(D),
    VERSION_ROW(E),
    VERSION_ROW(F),
};

/* What an HTTP client's first line starts with; all fit in s->buf. */
static const char *const http_methods[] = {
    "GET ",
    "HEAD ",
    "POST ",
    "PUT ",
    "DELETE ",
    "CONNECT ",
    "OPTIONS ",
    "TRACE ",
    "PATCH ",
};

static const char *const status_texts[] = {
    [SOCKS_OK] = "succeeded",
    [SOCKS_GENERAL_FAILURE] = "general failure",
    [SOCKS_NOT_ALLOWED] = "connection not allowed",
    [SOCKS_NET_UNREACHABLE] = "network unreachable",
    [SOCKS_HOST_UNREACHABLE] = "host unreachable",
    [SOCKS_REFUSED] = "connection refused",
    [SOCKS_TTL_EXPIRED] = "TTL expired",
    [SOCKS_CMD_UNSUPPORTED] = "command not supported",
    [SOCKS_ATYP_UNSUPPORTED] = "address type not supported",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void
expect(struct socks *s, enum state state, size_t need)
{
	s->state = state;
	s->have = 0;
	s->need = need;
}

static enum socks_result
fail(struct socks *s, const char *error)
{
	s->state = ST_FAILED;
	s->error = error;
	return SOCKS_FAIL;
}

/* Fails with a reply in the client's version: status for SOCKS5, 0x5B for SOCKS4. */
static enum socks_result
fail_reply(
    struct socks *s, enum socks_status status, const char *error, uint8_t *out, size_t *outlen)
{
	*outlen = socks_reply(s, status, out, SOCKS_OUT_MIN);
	return fail(s, error);
}

/* Fails the SOCKS5 greeting: method 0xFF, "no acceptable methods". */
static enum socks_result
fail_method(struct socks *s, const char *error, uint8_t *out, size_t *outlen)
{
	out[0] = 0x05;
	out[1] = 0xff;
	*outlen = 2;
	return fail(s, error);
}

static enum socks_result
finish(struct socks *s, uint8_t *out, size_t *outlen)
{
	if (s->req.cmd == SOCKS_CMD_CONNECT && s->req.port == 0)
		return fail_reply(s, SOCKS_GENERAL_FAILURE, "CONNECT to port 0", out, outlen);
	s->state = ST_DONE;
	return SOCKS_REQUEST;
}

/* Copies a domain name from s->buf to the request: false if it has a control byte. */
static bool
take_name(struct socks *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s->buf[i] < 0x20 || s->buf[i] == 0x7f)
			return false;
	memcpy(s->req.host, s->buf, len);
	s->req.host[len] = '\0';
	s->req.atyp = SOCKS_ATYP_DOMAIN;
	return true;
}

static void
take_address(struct socks *s, enum socks_atyp atyp, const uint8_t *addr)
{
	inet_ntop(
	    atyp == SOCKS_ATYP_IPV6 ? AF_INET6 : AF_INET, addr, s->req.host, sizeof(s->req.host));
	s->req.atyp = atyp;
}

static enum socks_result
on_version(struct socks *s, uint8_t c)
{
	if (c == SOCKS_V5) {
		s->req.version = SOCKS_V5;
		expect(s, ST_V5_NMETHODS, 1);
		return SOCKS_NEED_MORE;
	}
	if (c == SOCKS_V4) {
		s->req.version = SOCKS_V4;
		expect(s, ST_V4_HEADER, 7);
		return SOCKS_NEED_MORE;
	}
	for (size_t i = 0; i < COUNT(http_methods); i++) {
		if (c == (uint8_t)http_methods[i][0]) {
			expect(s, ST_HTTP, 0);
			s->buf[s->have++] = c;
			return SOCKS_NEED_MORE;
		}
	}
	return fail(s, version_errors[c]);
}

/* Goes on while the bytes so far start some HTTP method and its space. */
static enum socks_result
on_http(struct socks *s, uint8_t c)
{
	bool prefix = false;

	s->buf[s->have++] = c;
	for (size_t i = 0; i < COUNT(http_methods); i++) {
		size_t len = strlen(http_methods[i]);
		if (s->have > len || memcmp(s->buf, http_methods[i], s->have) != 0)
			continue;
		if (s->have == len)
			return fail(s, "not a SOCKS client (looks like HTTP)");
		prefix = true;
	}
	return prefix ? SOCKS_NEED_MORE : fail(s, version_errors[s->buf[0]]);
}

static enum socks_result
on_v5_header(struct socks *s, uint8_t *out, size_t *outlen)
{
	if (s->buf[0] != SOCKS_V5)
		return fail_reply(
		    s, SOCKS_GENERAL_FAILURE, "bad version in SOCKS5 request", out, outlen);
	if (s->buf[1] < SOCKS_CMD_CONNECT || s->buf[1] > SOCKS_CMD_UDP_ASSOCIATE)
		return fail_reply(
		    s, SOCKS_CMD_UNSUPPORTED, "unsupported SOCKS5 command", out, outlen);
	s->req.cmd = (enum socks_cmd)s->buf[1];
	/* s->buf[2] is RSV, not checked. */
	switch (s->buf[3]) {
	case SOCKS_ATYP_IPV4:
		s->req.atyp = SOCKS_ATYP_IPV4;
		expect(s, ST_V5_ADDR, 4);
		return SOCKS_NEED_MORE;
	case SOCKS_ATYP_DOMAIN:
		s->req.atyp = SOCKS_ATYP_DOMAIN;
		expect(s, ST_V5_NAMELEN, 1);
		return SOCKS_NEED_MORE;
	case SOCKS_ATYP_IPV6:
		s->req.atyp = SOCKS_ATYP_IPV6;
		expect(s, ST_V5_ADDR, 16);
		return SOCKS_NEED_MORE;
	default:
		return fail_reply(
		    s, SOCKS_ATYP_UNSUPPORTED, "unsupported SOCKS5 address type", out, outlen);
	}
}

static enum socks_result
on_v4_header(struct socks *s, uint8_t *out, size_t *outlen)
{
	const uint8_t *ip = s->buf + 3;

	if (s->buf[0] != SOCKS_CMD_CONNECT && s->buf[0] != SOCKS_CMD_BIND)
		return fail_reply(
		    s, SOCKS_CMD_UNSUPPORTED, "unsupported SOCKS4 command", out, outlen);
	s->req.cmd = (enum socks_cmd)s->buf[0];
	s->req.port = (uint16_t)(s->buf[1] << 8 | s->buf[2]);
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0)
		s->req.atyp = SOCKS_ATYP_DOMAIN; /* 4a: the name follows the user id */
	else
		take_address(s, SOCKS_ATYP_IPV4, ip);
	expect(s, ST_V4_USERID, 0);
	return SOCKS_NEED_MORE;
}

/* A fixed-length field is complete in s->buf[0..s->need). */
static enum socks_result
on_field(struct socks *s, uint8_t *out, size_t *outlen)
{
	switch (s->state) {
	case ST_V5_NMETHODS:
		if (s->buf[0] == 0)
			return fail_method(
			    s, "client offers no authentication methods", out, outlen);
		expect(s, ST_V5_METHODS, s->buf[0]);
		return SOCKS_NEED_MORE;
	case ST_V5_METHODS:
		if (memchr(s->buf, 0x00, s->need) == NULL)
			return fail_method(
			    s, "client offers no acceptable authentication method", out, outlen);
		out[0] = 0x05;
		out[1] = 0x00;
		*outlen = 2;
		expect(s, ST_V5_HEADER, 4);
		return SOCKS_SEND;
	case ST_V5_HEADER:
		return on_v5_header(s, out, outlen);
	case ST_V5_NAMELEN:
		if (s->buf[0] == 0)
			return fail_reply(s, SOCKS_GENERAL_FAILURE,
			    "empty host name in SOCKS5 request", out, outlen);
		expect(s, ST_V5_ADDR, s->buf[0]);
		return SOCKS_NEED_MORE;
	case ST_V5_ADDR:
		if (s->req.atyp != SOCKS_ATYP_DOMAIN)
			take_address(s, s->req.atyp, s->buf);
		else if (!take_name(s, s->need))
			return fail_reply(s, SOCKS_GENERAL_FAILURE,
			    "control character in host name", out, outlen);
		expect(s, ST_V5_PORT, 2);
		return SOCKS_NEED_MORE;
	case ST_V5_PORT:
		s->req.port = (uint16_t)(s->buf[0] << 8 | s->buf[1]);
		return finish(s, out, outlen);
	case ST_V4_HEADER:
		return on_v4_header(s, out, outlen);
	default:
		return fail(s, "internal error: bad SOCKS state");
	}
}

/* SOCKS4 USERID: up to SOCKS_HOST_MAX bytes and a NUL, not kept. */
static enum socks_result
on_v4_userid(struct socks *s, uint8_t c, uint8_t *out, size_t *outlen)
{
	if (c != 0) {
		if (s->have == SOCKS_HOST_MAX)
			return fail_reply(
			    s, SOCKS_GENERAL_FAILURE, "user id too long", out, outlen);
		s->have++;
		return SOCKS_NEED_MORE;
	}
	if (s->req.atyp == SOCKS_ATYP_DOMAIN) {
		expect(s, ST_V4_HOST, 0);
		return SOCKS_NEED_MORE;
	}
	return finish(s, out, outlen);
}

/* SOCKS4a HOSTNAME: 1 to SOCKS_HOST_MAX bytes and a NUL. */
static enum socks_result
on_v4_host(struct socks *s, uint8_t c, uint8_t *out, size_t *outlen)
{
	if (c != 0) {
		if (s->have == SOCKS_HOST_MAX)
			return fail_reply(
			    s, SOCKS_GENERAL_FAILURE, "SOCKS4a host name too long", out, outlen);
		s->buf[s->have++] = c;
		return SOCKS_NEED_MORE;
	}
	if (s->have == 0)
		return fail_reply(s, SOCKS_GENERAL_FAILURE, "empty SOCKS4a host name", out, outlen);
	if (!take_name(s, s->have))
		return fail_reply(
		    s, SOCKS_GENERAL_FAILURE, "control character in host name", out, outlen);
	return finish(s, out, outlen);
}

static enum socks_result
step(struct socks *s, uint8_t c, uint8_t *out, size_t *outlen)
{
	switch (s->state) {
	case ST_VERSION:
		return on_version(s, c);
	case ST_HTTP:
		return on_http(s, c);
	case ST_V4_USERID:
		return on_v4_userid(s, c, out, outlen);
	case ST_V4_HOST:
		return on_v4_host(s, c, out, outlen);
	default:
		s->buf[s->have++] = c;
		if (s->have < s->need)
			return SOCKS_NEED_MORE;
		return on_field(s, out, outlen);
	}
}

enum socks_result
socks_feed(
    struct socks *s, const uint8_t *in, size_t inlen, size_t *used, uint8_t *out, size_t *outlen)
{
	*used = 0;
	*outlen = 0;
	if (s->state == ST_DONE)
		return SOCKS_REQUEST;
	if (s->state == ST_FAILED)
		return SOCKS_FAIL;
	while (*used < inlen) {
		enum socks_result r = step(s, in[(*used)++], out, outlen);
		if (r != SOCKS_NEED_MORE)
			return r;
	}
	return SOCKS_NEED_MORE;
}

size_t
socks_reply(const struct socks *s, enum socks_status status, uint8_t *out, size_t outlen)
{
	if (s->req.version == SOCKS_V4) {
		if (outlen < 8)
			return 0;
		memset(out, 0, 8);
		out[1] = status == SOCKS_OK ? 0x5a : 0x5b;
		return 8;
	}
	if (s->req.version == SOCKS_V5) {
		if (outlen < 10)
			return 0;
		memset(out, 0, 10);
		out[0] = 0x05;
		out[1] = (unsigned)status < COUNT(status_texts) ? (uint8_t)status : 0x01;
		out[3] = SOCKS_ATYP_IPV4;
		return 10;
	}
	return 0;
}

size_t
socks_reply_bound(
    enum socks_status status, const struct sockaddr *addr, uint8_t *out, size_t outlen)
{
	size_t alen = addr->sa_family == AF_INET6 ? 16 : 4;
	const void *a = addr->sa_family == AF_INET6
	    ? (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr
	    : (const void *)&((const struct sockaddr_in *)addr)->sin_addr;
	uint16_t port = addr->sa_family == AF_INET6
	    ? ((const struct sockaddr_in6 *)addr)->sin6_port
	    : ((const struct sockaddr_in *)addr)->sin_port; /* network order already */

	if (outlen < 6 + alen)
		return 0;
	out[0] = 0x05;
	out[1] = (unsigned)status < COUNT(status_texts) ? (uint8_t)status : 0x01;
	out[2] = 0;
	out[3] = alen == 16 ? SOCKS_ATYP_IPV6 : SOCKS_ATYP_IPV4;
	memcpy(out + 4, a, alen);
	memcpy(out + 4 + alen, &port, 2);
	return 6 + alen;
}

int
socks_udp_parse(const uint8_t *buf, size_t len, struct socks_udp *out, const char **err)
{
	size_t alen, at = 4;

	memset(out, 0, sizeof(*out));
	if (len < 4) {
		*err = "datagram shorter than a SOCKS5 UDP header";
		return -1;
	}
	if (buf[0] != 0 || buf[1] != 0) {
		*err = "reserved bytes set in SOCKS5 UDP header";
		return -1;
	}
	out->frag = buf[2];
	switch (buf[3]) {
	case SOCKS_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS_ATYP_IPV6:
		alen = 16;
		break;
	case SOCKS_ATYP_DOMAIN:
		if (len < 5 || buf[4] == 0) {
			*err = "empty host name in SOCKS5 UDP header";
			return -1;
		}
		alen = buf[4];
		at = 5;
		break;
	default:
		*err = "unsupported address type in SOCKS5 UDP header";
		return -1;
	}
	out->atyp = (enum socks_atyp)buf[3];
	if (len < at + alen + 2) {
		*err = "datagram shorter than its SOCKS5 UDP header";
		return -1;
	}
	if (out->atyp == SOCKS_ATYP_DOMAIN) {
		for (size_t i = 0; i < alen; i++)
			if (buf[at + i] < 0x20 || buf[at + i] == 0x7f) {
				*err = "control character in host name";
				return -1;
			}
		memcpy(out->host, buf + at, alen);
		out->host[alen] = '\0';
	} else {
		inet_ntop(alen == 16 ? AF_INET6 : AF_INET, buf + at, out->host, sizeof(out->host));
	}
	out->port = (uint16_t)(buf[at + alen] << 8 | buf[at + alen + 1]);
	if (out->port == 0) {
		*err = "port 0 in SOCKS5 UDP header";
		return -1;
	}
	out->header_len = at + alen + 2;
	return 0;
}

const char *
socks_status_text(enum socks_status status)
{
	if ((unsigned)status < COUNT(status_texts))
		return status_texts[status];
	return "unknown status";
}
