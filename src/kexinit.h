/*
 * The start of what an SSH server sends, read far enough to learn what it
 * offers: the text lines it may send before its identification line, that
 * line (the banner), and the algorithm lists of its first SSH_MSG_KEXINIT
 * (RFC 4253 4.2, 6 and 7.1). With the lists porthole offered, it says which
 * negotiation fails and what the two sides have, so that a failed handshake
 * can be reported as "no common cipher: the server offers X; porthole offers
 * Y". Pure: bytes in, struct out; no I/O, no logging.
 *
 * Choices where the RFCs leave room:
 *   - Lines before the banner may hold any bytes but NUL (which is binary
 *     data, not text); at most 64 of them, 8192 bytes in all.
 *   - The banner must be SSH-2.0- or SSH-1.99- (a server that also speaks
 *     protocol 1), at most 255 bytes with its CR LF; it may end in LF alone.
 *     A NUL in it fails; any other byte outside printable ASCII is stored as
 *     '?', so the banner is safe to print.
 *   - Packet padding is not checked beyond padding_length < packet_length:
 *     OpenSSH also insists on 4 bytes of it and whole blocks, but a lenient
 *     peer may not, and this parser only looks.
 *   - Up to 8 IGNORE or DEBUG packets before KEXINIT are skipped. A
 *     DISCONNECT fails with the server's reason as the error text; any other
 *     message fails.
 *   - Names in the eight kept lists are printable ASCII without spaces or
 *     commas, none empty; the two language lists are only length-checked.
 *     first_kex_packet_follows, reserved and any later bytes are not looked at.
 */
#ifndef PORTHOLE_KEXINIT_H
#define PORTHOLE_KEXINIT_H

#include <stddef.h>

#define KEXINIT_BANNER_MAX 255	     /* the banner line, CR LF included */
#define KEXINIT_PREBANNER_LINES 64   /* lines before the banner */
#define KEXINIT_PREBANNER_BYTES 8192 /* their bytes, line ends included */
#define KEXINIT_PACKET_MAX 35000     /* packet_length (RFC 4253 6.1) */
#define KEXINIT_LIST_MAX 8192	     /* one name-list's bytes */
#define KEXINIT_SKIP_MAX 8	     /* IGNORE and DEBUG packets before KEXINIT */
/* kexinit_parse never needs more bytes than this: given them, it returns 1 or -1. */
#define KEXINIT_INPUT_MAX                                                                          \
	(KEXINIT_PREBANNER_BYTES + KEXINIT_BANNER_MAX +                                            \
	    (KEXINIT_SKIP_MAX + 1) * (4 + KEXINIT_PACKET_MAX))

enum kexinit_list {
	KEXINIT_KEX,
	KEXINIT_HOSTKEY,
	KEXINIT_CIPHER_CS,
	KEXINIT_CIPHER_SC,
	KEXINIT_MAC_CS,
	KEXINIT_MAC_SC,
	KEXINIT_COMP_CS,
	KEXINIT_COMP_SC,
	KEXINIT_LISTS
};

struct kexinit {
	char *lists[KEXINIT_LISTS]; /* NUL-terminated copies, comma-separated */
	char banner[256];	    /* the server's SSH- line without CR/LF */
};

/*
 * Feeds the first bytes the server sent (all of them so far, from offset 0).
 * Returns 1 when *out is filled (caller frees with kexinit_free), 0 when more
 * bytes are needed, -1 when the bytes cannot be an SSH server's start (err
 * says what, e.g. "packet length 9999999 too large (at most 35000)"). On 0
 * and -1 *out is zeroed and holds nothing to free. Bytes after the KEXINIT
 * are not looked at. An answer other than 0 does not change when more bytes
 * follow: a prefix of the input gives 0 or the answer the whole input gives.
 * Never reads past len and never trusts a length.
 */
int kexinit_parse(
    const unsigned char *data, size_t len, struct kexinit *out, char *err, size_t errlen);

/* Frees the lists and zeroes *k; accepts NULL or a zeroed struct. */
void kexinit_free(struct kexinit *k);

/*
 * The names common to two comma lists, in the client's order, into out as a
 * comma list (out may be NULL with outlen 0); returns how many there are
 * (0: nothing in common). A name listed twice counts once; empty names are
 * skipped, and so are the pseudo-algorithms ext-info-c, ext-info-s,
 * kex-strict-c-v00@openssh.com and kex-strict-s-v00@openssh.com, which
 * announce extensions and are never agreed on. If out is too small it holds
 * the first names that fit, whole, and the count is still of all of them.
 * NULL lists are empty.
 */
int kexinit_common(const char *client, const char *server, char *out, size_t outlen);

/*
 * Which negotiation fails first, in the order libssh2 decides them (RFC 4253
 * 7.1): key exchange, host key, cipher client to server, then server to
 * client, MAC client to server, then server to client, compression likewise.
 * The cipher agreed for a direction is the client's first that the server
 * has; when it is aes128-gcm@openssh.com or aes256-gcm@openssh.com the MAC
 * list of that direction does not matter. Unlike OpenSSH, libssh2 1.11.1
 * wants a common MAC with chacha20-poly1305 too (its handshake fails
 * without one), and so does this. client[] are the lists
 * porthole offered (NULL is empty). Returns the failing index, or -1 if every
 * list has something in common.
 */
int kexinit_first_mismatch(const struct kexinit *server, const char *const client[KEXINIT_LISTS]);

/* A short human name for a list: "key exchange", "cipher (client to server)" ... */
const char *kexinit_list_name(enum kexinit_list i);

#endif
