/*
 * Fuzz target for socks.c. The first byte of the input picks how the rest
 * arrives: in chunks of pseudo-random sizes up to a bound it sets, or (0xFF)
 * all at once. The rest is fed as a socket would deliver it, re-feeding what
 * is left after SOCKS_SEND, until SOCKS_REQUEST, SOCKS_FAIL or the end.
 * Besides not crashing, every call must keep the promises of socks.h, a
 * request must be something safe to pass on (host terminated, no control
 * bytes, addresses that parse back), and the outcome must be the same as
 * when the bytes arrive all at once and one at a time.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUARD 0xA5

struct outcome {
	struct socks s;
	enum socks_result result;
	uint8_t sent[64];
	size_t sentlen;
	size_t used;
};

static void
check_request(const struct socks *s)
{
	const struct socks_request *req = &s->req;
	uint8_t addr[16], out[16];
	char text[SOCKS_HOST_MAX + 1];
	size_t len = strnlen(req->host, sizeof(req->host));

	if (len == sizeof(req->host) || len == 0)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)req->host[i] < 0x20 || req->host[i] == 0x7f)
			abort();
	if (req->version != SOCKS_V4 && req->version != SOCKS_V5)
		abort();
	if (req->cmd != SOCKS_CMD_CONNECT && req->cmd != SOCKS_CMD_BIND &&
	    (req->cmd != SOCKS_CMD_UDP_ASSOCIATE || req->version != SOCKS_V5))
		abort();
	if (req->cmd == SOCKS_CMD_CONNECT && req->port == 0)
		abort();
	switch (req->atyp) {
	case SOCKS_ATYP_IPV4:
	case SOCKS_ATYP_IPV6: {
		int af = req->atyp == SOCKS_ATYP_IPV4 ? AF_INET : AF_INET6;
		if (inet_pton(af, req->host, addr) != 1 ||
		    inet_ntop(af, addr, text, sizeof(text)) == NULL || strcmp(text, req->host) != 0)
			abort();
		break;
	}
	case SOCKS_ATYP_DOMAIN:
		break;
	default:
		abort();
	}

	for (int st = SOCKS_OK; st <= SOCKS_ATYP_UNSUPPORTED + 1; st += 3) {
		size_t want = req->version == SOCKS_V5 ? 10 : 8;
		memset(out, GUARD, sizeof(out));
		if (socks_reply(s, (enum socks_status)st, out, sizeof(out)) != want ||
		    out[want] != GUARD || socks_reply(s, (enum socks_status)st, out, want - 1) != 0)
			abort();
		if (req->version == SOCKS_V4 && (out[0] != 0 || out[1] != (st ? 0x5b : 0x5a)))
			abort();
		if (req->version == SOCKS_V5 && (out[0] != 5 || out[3] != SOCKS_ATYP_IPV4))
			abort();
		if (socks_status_text((enum socks_status)st) == NULL)
			abort();
	}
}

/* One call's promises. */
static void
check_call(enum socks_result r, size_t avail, size_t used, const uint8_t *out, size_t outlen,
    const struct socks *s)
{
	for (size_t i = SOCKS_OUT_MIN; i < SOCKS_OUT_MIN + 16; i++)
		if (out[i] != GUARD)
			abort();
	if (used > avail || outlen > SOCKS_OUT_MIN)
		abort();
	switch (r) {
	case SOCKS_NEED_MORE:
		if (used != avail || outlen != 0)
			abort();
		break;
	case SOCKS_SEND:
		if (used == 0 || outlen != 2 || out[0] != 5 || out[1] != 0)
			abort();
		break;
	case SOCKS_REQUEST:
		if (used == 0 || outlen != 0)
			abort();
		check_request(s);
		break;
	case SOCKS_FAIL:
		if (s->error == NULL || s->error[0] == '\0')
			abort();
		if (outlen != 0 && outlen != 2 && outlen != 8 && outlen != 10)
			abort();
		break;
	default:
		abort();
	}
}

static uint32_t
next_random(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 16;
}

/* Feeds in, chunk sizes from 1 to max (all at once if max is 0), the schedule seeded by seed. */
static void
feed(struct outcome *o, const uint8_t *in, size_t len, size_t max, uint32_t seed)
{
	size_t received = 0;
	int sends = 0;

	memset(o, 0, sizeof(*o));
	for (;;) {
		uint8_t out[SOCKS_OUT_MIN + 16];
		size_t avail = received - o->used, used = 12345, outlen = 12345;

		memset(out, GUARD, sizeof(out));
		o->result = socks_feed(&o->s, in + o->used, avail, &used, out, &outlen);
		check_call(o->result, avail, used, out, outlen, &o->s);
		o->used += used;
		if (o->sentlen + outlen > sizeof(o->sent))
			abort();
		memcpy(o->sent + o->sentlen, out, outlen);
		o->sentlen += outlen;
		if (o->result == SOCKS_SEND) {
			if (++sends > 1)
				abort();
			continue;
		}
		if (o->result != SOCKS_NEED_MORE)
			break;
		if (received == len)
			return;
		size_t chunk = max == 0 ? len : 1 + next_random(&seed) % max;
		received += len - received < chunk ? len - received : chunk;
	}

	/* Finished: later calls consume nothing and say the same. */
	uint8_t out[SOCKS_OUT_MIN + 16];
	size_t used, outlen;
	memset(out, GUARD, sizeof(out));
	if (socks_feed(&o->s, in, len, &used, out, &outlen) != o->result || used != 0 ||
	    outlen != 0)
		abort();
}

static void
check_same(const struct outcome *a, const struct outcome *b)
{
	if (a->result != b->result || a->used != b->used || a->sentlen != b->sentlen ||
	    memcmp(a->sent, b->sent, a->sentlen) != 0)
		abort();
	if (a->result == SOCKS_FAIL && a->s.error != b->s.error)
		abort();
	if (a->result == SOCKS_REQUEST &&
	    (a->s.req.version != b->s.req.version || a->s.req.cmd != b->s.req.cmd ||
		a->s.req.atyp != b->s.req.atyp || a->s.req.port != b->s.req.port ||
		strcmp(a->s.req.host, b->s.req.host) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The same bytes as a datagram of a UDP association. */
	{
		struct socks_udp h;
		const char *err;
		if (socks_udp_parse(data, size, &h, &err) == 0) {
			if (h.header_len > size || h.port == 0 ||
			    memchr(h.host, '\0', sizeof(h.host)) == NULL)
				abort();
			for (const char *p = h.host; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
		}
	}
	static struct outcome whole, split, bytes;

	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;

	feed(&whole, data, size, 0, 0);
	feed(&split, data, size, mode == 0xff ? 0 : (size_t)(mode & 0x3f) + 1, mode);
	feed(&bytes, data, size, 1, 0);
	check_same(&whole, &split);
	check_same(&whole, &bytes);
	return 0;
}
