/*
 * The server's banner and first KEXINIT, read from the bytes it has sent so
 * far (kexinit.h says what is accepted), and the comparison of its lists with
 * porthole's. Each stage decides only on bytes that are all there and never
 * on where the input happens to end, so a longer input never changes an
 * answer other than "more". Error texts go into the caller's buffer.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexinit.h"
#include "xmalloc.h"

#define SSH_MSG_DISCONNECT 1
#define SSH_MSG_IGNORE 2
#define SSH_MSG_DEBUG 4
#define SSH_MSG_KEXINIT 20
#define COOKIE_LEN 16
#define WIRE_LISTS 10		/* the eight kept, then the two language lists */
#define DISCONNECT_TEXT_MAX 200 /* of a DISCONNECT's description, in an error */

static const char *const list_names[WIRE_LISTS] = {
    [KEXINIT_KEX] = "key exchange",
    [KEXINIT_HOSTKEY] = "host key",
    [KEXINIT_CIPHER_CS] = "cipher (client to server)",
    [KEXINIT_CIPHER_SC] = "cipher (server to client)",
    [KEXINIT_MAC_CS] = "MAC (client to server)",
    [KEXINIT_MAC_SC] = "MAC (server to client)",
    [KEXINIT_COMP_CS] = "compression (client to server)",
    [KEXINIT_COMP_SC] = "compression (server to client)",
    [KEXINIT_LISTS] = "language (client to server)",
    [KEXINIT_LISTS + 1] = "language (server to client)",
};

/* Names in the kex list that announce extensions (RFC 8308, OpenSSH's strict kex). */
static const char *const pseudo_names[] = {
    "ext-info-c",
    "ext-info-s",
    "kex-strict-c-v00@openssh.com",
    "kex-strict-s-v00@openssh.com",
};

/* Ciphers whose MAC is built in: the negotiated MAC goes unused. */
/*
 * Ciphers whose MAC is not negotiated, as libssh2 1.11.1 decides
 * (_libssh2_mac_override): the AES-GCM ones. OpenSSH exempts
 * chacha20-poly1305 too, but libssh2 still wants a common MAC for it, and
 * this module explains libssh2's failures.
 */
static const char *const aead_names[] = {
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
};

enum line_kind { LINE_UNKNOWN, LINE_BANNER, LINE_TEXT };

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Copies n bytes as text: bytes outside printable ASCII become '?'. */
static void
copy_printable(char *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? (char)src[i] : '?';
	dst[n] = '\0';
}

/* Whether the line at p (n bytes so far) is the banner; unknown while it could still be. */
static enum line_kind
line_kind(const unsigned char *p, size_t n)
{
	static const char magic[] = "SSH-";

	for (size_t i = 0; i < 4; i++) {
		if (i == n)
			return LINE_UNKNOWN;
		if (p[i] != (unsigned char)magic[i])
			return LINE_TEXT;
	}
	return LINE_BANNER;
}

/* The banner line at p: 1 with it copied and *used its length with the LF, 0, or -1. */
static int
read_banner(const unsigned char *p, size_t n, char *banner, size_t *used, char *err, size_t errlen)
{
	const unsigned char *lf = memchr(p, '\n', n < KEXINIT_BANNER_MAX ? n : KEXINIT_BANNER_MAX);

	if (lf == NULL) {
		if (n >= KEXINIT_BANNER_MAX)
			return fail(err, errlen, "banner longer than %d bytes", KEXINIT_BANNER_MAX);
		return 0;
	}
	size_t end = (size_t)(lf - p);
	size_t textlen = end > 0 && p[end - 1] == '\r' ? end - 1 : end;
	if (memchr(p, '\0', textlen) != NULL)
		return fail(err, errlen, "NUL byte in the banner");
	copy_printable(banner, p, textlen);

	const char *proto = banner + 4;
	size_t v = strcspn(proto, "-");
	if (proto[v] != '-')
		return fail(err, errlen, "banner \"%s\" has no software version after the protocol",
		    banner);
	if (!(v == 3 && memcmp(proto, "2.0", 3) == 0) && !(v == 4 && memcmp(proto, "1.99", 4) == 0))
		return fail(err, errlen, "server speaks SSH protocol %.*s, not 2.0 (banner \"%s\")",
		    (int)v, proto, banner);
	*used = end + 1;
	return 1;
}

/* The lines before the banner, then the banner: 1 with *used the bytes they take, 0, or -1. */
static int
read_lines(
    const unsigned char *data, size_t len, char *banner, size_t *used, char *err, size_t errlen)
{
	size_t off = 0;

	for (int lines = 0;; lines++) {
		const unsigned char *p = data + off;
		size_t n = len - off;
		switch (line_kind(p, n)) {
		case LINE_UNKNOWN:
			return 0;
		case LINE_BANNER: {
			size_t b = 0;
			int r = read_banner(p, n, banner, &b, err, errlen);
			*used = off + b;
			return r;
		}
		case LINE_TEXT:
			break;
		}
		if (lines == KEXINIT_PREBANNER_LINES)
			return fail(err, errlen, "no SSH banner in the first %d lines",
			    KEXINIT_PREBANNER_LINES);
		size_t room = KEXINIT_PREBANNER_BYTES - off;
		size_t i = 0;
		while (i < n && i < room && p[i] != '\n' && p[i] != '\0')
			i++;
		if (i < n && i < room && p[i] == '\0')
			return fail(err, errlen, "no SSH banner: NUL byte in line %d (binary data)",
			    lines + 1);
		if (i == room)
			return fail(err, errlen, "no SSH banner in the first %d bytes",
			    KEXINIT_PREBANNER_BYTES);
		if (i == n)
			return 0;
		off += i + 1;
	}
}

/* The header of the packet at p: 1 once its first payload byte is there, with its sizes; 0; -1. */
static int
packet_header(
    const unsigned char *p, size_t n, size_t *total, size_t *paylen, char *err, size_t errlen)
{
	if (n < 4)
		return 0;
	uint32_t plen = get32(p);
	if (plen > KEXINIT_PACKET_MAX)
		return fail(err, errlen, "packet length %lu too large (at most %d)",
		    (unsigned long)plen, KEXINIT_PACKET_MAX);
	if (n < 5)
		return 0;
	if (p[4] >= plen)
		return fail(err, errlen, "padding length %u not less than packet length %lu", p[4],
		    (unsigned long)plen);
	if (plen - p[4] - 1 == 0)
		return fail(err, errlen, "empty packet (no message type)");
	if (n < 6)
		return 0;
	*total = 4 + (size_t)plen;
	*paylen = plen - p[4] - 1;
	return 1;
}

/* A DISCONNECT where KEXINIT was expected: the server's reason, as the error. */
static int
read_disconnect(const unsigned char *p, size_t n, char *err, size_t errlen)
{
	char text[DISCONNECT_TEXT_MAX + 1];

	if (n < 9 || get32(p + 5) > n - 9)
		return fail(
		    err, errlen, "server disconnected before KEXINIT (malformed DISCONNECT)");
	size_t tlen = get32(p + 5);
	copy_printable(text, p + 9, tlen < DISCONNECT_TEXT_MAX ? tlen : DISCONNECT_TEXT_MAX);
	return fail(err, errlen, "server disconnected before KEXINIT (reason %lu): %s",
	    (unsigned long)get32(p + 1), text);
}

/* A name-list's bytes: printable names without spaces, none empty. */
static int
check_names(const unsigned char *p, size_t n, const char *what, char *err, size_t errlen)
{
	size_t start = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == ',') {
			if (i == start)
				return fail(
				    err, errlen, "%s list: empty name at offset %zu", what, i);
			start = i + 1;
		} else if (p[i] <= 0x20 || p[i] >= 0x7f) {
			return fail(err, errlen,
			    "%s list: byte 0x%02x at offset %zu is not allowed in a name", what,
			    p[i], i);
		}
	}
	return 0;
}

/* The payload of a KEXINIT: 1 with the lists copied into out, or -1. */
static int
read_kexinit(const unsigned char *p, size_t n, struct kexinit *out, char *err, size_t errlen)
{
	size_t off = 1 + COOKIE_LEN;

	if (n < off)
		return fail(err, errlen, "KEXINIT too short for its cookie (%zu bytes)", n);
	for (int i = 0; i < WIRE_LISTS; i++) {
		if (n - off < 4)
			return fail(err, errlen, "KEXINIT ends before the %s list", list_names[i]);
		uint32_t l = get32(p + off);
		off += 4;
		if (l > KEXINIT_LIST_MAX)
			return fail(err, errlen, "%s list is %lu bytes long (at most %d)",
			    list_names[i], (unsigned long)l, KEXINIT_LIST_MAX);
		if (l > n - off)
			return fail(err, errlen,
			    "%s list length %lu runs past the end of the packet", list_names[i],
			    (unsigned long)l);
		if (i < KEXINIT_LISTS) {
			if (check_names(p + off, l, list_names[i], err, errlen) == -1)
				return -1;
			out->lists[i] = xstrndup((const char *)p + off, l);
		}
		off += l;
	}
	if (n - off < 5)
		return fail(
		    err, errlen, "KEXINIT ends before first_kex_packet_follows and reserved");
	return 1;
}

/* After the banner: skips IGNORE and DEBUG packets, reads the KEXINIT. */
static int
read_packets(const unsigned char *data, size_t len, struct kexinit *out, char *err, size_t errlen)
{
	size_t off = 0, total = 0, paylen = 0;

	for (int skipped = 0;; skipped++) {
		int r = packet_header(data + off, len - off, &total, &paylen, err, errlen);
		if (r != 1)
			return r;
		const unsigned char *payload = data + off + 5;
		bool complete = len - off >= total;
		switch (payload[0]) {
		case SSH_MSG_KEXINIT:
			return complete ? read_kexinit(payload, paylen, out, err, errlen) : 0;
		case SSH_MSG_DISCONNECT:
			return complete ? read_disconnect(payload, paylen, err, errlen) : 0;
		case SSH_MSG_IGNORE:
		case SSH_MSG_DEBUG:
			if (skipped == KEXINIT_SKIP_MAX)
				return fail(err, errlen,
				    "more than %d IGNORE or DEBUG packets before KEXINIT",
				    KEXINIT_SKIP_MAX);
			if (!complete)
				return 0;
			off += total;
			break;
		default:
			return fail(err, errlen, "message type %u where KEXINIT (20) was expected",
			    payload[0]);
		}
	}
}

int
kexinit_parse(const unsigned char *data, size_t len, struct kexinit *out, char *err, size_t errlen)
{
	size_t used = 0;

	memset(out, 0, sizeof(*out));
	int r = read_lines(data, len, out->banner, &used, err, errlen);
	if (r == 1)
		r = read_packets(data + used, len - used, out, err, errlen);
	if (r != 1)
		kexinit_free(out);
	return r;
}

void
kexinit_free(struct kexinit *k)
{
	if (k == NULL)
		return;
	for (int i = 0; i < KEXINIT_LISTS; i++) {
		free(k->lists[i]);
		k->lists[i] = NULL;
	}
	memset(k->banner, 0, sizeof(k->banner));
}

/* The next non-empty name of the comma list [*p, end); *p moves past it and its comma. */
static bool
next_name(const char **p, const char *end, const char **name, size_t *len)
{
	while (*p < end) {
		const char *s = *p;
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma != NULL ? comma : end;
		*p = comma != NULL ? comma + 1 : end;
		if (e > s) {
			*name = s;
			*len = (size_t)(e - s);
			return true;
		}
	}
	return false;
}

static bool
has_name(const char *list, const char *end, const char *name, size_t len)
{
	const char *n;
	size_t l;

	while (next_name(&list, end, &n, &l))
		if (l == len && memcmp(n, name, len) == 0)
			return true;
	return false;
}

static bool
in_set(const char *const *set, size_t count, const char *name, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(set[i]) == len && memcmp(set[i], name, len) == 0)
			return true;
	return false;
}

/* kexinit_common, also giving the first common name (what the client agrees on). */
static int
common_names(const char *client, const char *server, char *out, size_t outlen, const char **first,
    size_t *firstlen)
{
	const char *p, *name, *client_end, *server_end;
	size_t len, used = 0;
	bool full = false;
	int count = 0;

	client = client != NULL ? client : "";
	server = server != NULL ? server : "";
	client_end = client + strlen(client);
	server_end = server + strlen(server);
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	for (p = client; next_name(&p, client_end, &name, &len);) {
		if (in_set(
			pseudo_names, sizeof(pseudo_names) / sizeof(pseudo_names[0]), name, len) ||
		    !has_name(server, server_end, name, len) || has_name(client, name, name, len))
			continue;
		if (count == 0 && first != NULL) {
			*first = name;
			*firstlen = len;
		}
		count++;
		if (out == NULL || full)
			continue;
		size_t need = len + (used > 0 ? 1 : 0);
		if (outlen <= used || outlen - used <= need) {
			full = true;
			continue;
		}
		if (used > 0)
			out[used++] = ',';
		memcpy(out + used, name, len);
		used += len;
		out[used] = '\0';
	}
	return count;
}

int
kexinit_common(const char *client, const char *server, char *out, size_t outlen)
{
	return common_names(client, server, out, outlen, NULL, NULL);
}

/* Whether the cipher agreed for list i (a cipher list) has its own MAC. */
static bool
aead_agreed(
    const struct kexinit *server, const char *const client[KEXINIT_LISTS], enum kexinit_list i)
{
	const char *name = NULL;
	size_t len = 0;

	if (common_names(client[i], server->lists[i], NULL, 0, &name, &len) == 0)
		return false;
	return in_set(aead_names, sizeof(aead_names) / sizeof(aead_names[0]), name, len);
}

int
kexinit_first_mismatch(const struct kexinit *server, const char *const client[KEXINIT_LISTS])
{
	for (int i = 0; i < KEXINIT_LISTS; i++) {
		if (i == KEXINIT_MAC_CS && aead_agreed(server, client, KEXINIT_CIPHER_CS))
			continue;
		if (i == KEXINIT_MAC_SC && aead_agreed(server, client, KEXINIT_CIPHER_SC))
			continue;
		if (common_names(client[i], server->lists[i], NULL, 0, NULL, NULL) == 0)
			return i;
	}
	return -1;
}

const char *
kexinit_list_name(enum kexinit_list i)
{
	if ((unsigned)i >= KEXINIT_LISTS)
		return "unknown list";
	return list_names[i];
}
