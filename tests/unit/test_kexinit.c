/*
 * Unit tests for kexinit.c: real server starts captured from OpenSSH 9.2
 * (tests/fuzz/corpus/kexinit/openssh-9.2-*, the bytes sshd sent after a
 * client sent "SSH-2.0-x\r\n"), read whole and cut at every length; lines
 * before the banner and skipped packets; every rejection with its text, on
 * both sides of each limit; and the comparison of lists, against the lists
 * libssh2 1.11.1 offers by default.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kexinit.h"

#define CAPTURE_MAX 4096

/* The lists libssh2 1.11.1 sends in its KEXINIT when porthole sets no preference. */
static const char *const libssh2_offer[KEXINIT_LISTS] = {
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
    "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,"
    "diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1,ext-info-c,"
    "kex-strict-c-v00@openssh.com",
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp521-cert-v01@openssh.com,ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,"
    "rsa-sha2-512,rsa-sha2-256,rsa-sha2-512-cert-v01@openssh.com,"
    "rsa-sha2-256-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com",
    "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,"
    "aes192-ctr,aes128-ctr,aes256-cbc,rijndael-cbc@lysator.liu.se,aes192-cbc,aes128-cbc,"
    "blowfish-cbc,arcfour128,arcfour,cast128-cbc,3des-cbc",
    "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,"
    "aes192-ctr,aes128-ctr,aes256-cbc,rijndael-cbc@lysator.liu.se,aes192-cbc,aes128-cbc,"
    "blowfish-cbc,arcfour128,arcfour,cast128-cbc,3des-cbc",
    "hmac-sha2-256,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha1,hmac-sha1-etm@openssh.com,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-ripemd160,"
    "hmac-ripemd160@openssh.com",
    "hmac-sha2-256,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha1,hmac-sha1-etm@openssh.com,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-ripemd160,"
    "hmac-ripemd160@openssh.com",
    "none",
    "none",
};

#define OPENSSH_KEX                                                                                \
	"sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"             \
	"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"   \
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"                      \
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com"
#define OPENSSH_HOSTKEY "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
#define OPENSSH_CIPHERS                                                                            \
	"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"   \
	"aes256-gcm@openssh.com"
#define OPENSSH_MACS                                                                               \
	"umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"          \
	"hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"             \
	"umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
#define OPENSSH_BANNER "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"

/* ---------------------------------------------------------------- building input */

/* A growing byte string for synthetic server starts. */
struct bytes {
	unsigned char b[80000];
	size_t n;
};

static void
put(struct bytes *o, const void *p, size_t n)
{
	if (o->n + n > sizeof(o->b))
		abort();
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void
put_str(struct bytes *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put32(struct bytes *o, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v};
	put(o, b, 4);
}

static void
put_string(struct bytes *o, const void *p, size_t n)
{
	put32(o, (uint32_t)n);
	put(o, p, n);
}

/* A packet around payload, padded as OpenSSH pads before NEWKEYS (to 8 bytes, at least 4). */
static void
put_packet(struct bytes *o, const struct bytes *payload)
{
	size_t pad = 8 - (5 + payload->n) % 8;
	if (pad < 4)
		pad += 8;
	static const unsigned char zeros[16];
	put32(o, (uint32_t)(1 + payload->n + pad));
	unsigned char p = (unsigned char)pad;
	put(o, &p, 1);
	put(o, payload->b, payload->n);
	put(o, zeros, pad);
}

static const char *const test_lists[10] = {
    "curve25519-sha256,ext-info-s,kex-strict-s-v00@openssh.com",
    "ssh-ed25519",
    "aes128-ctr",
    "aes256-ctr",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "none",
    "none,zlib@openssh.com",
    "",
    "",
};

/* A KEXINIT payload of these ten lists. */
static void
kexinit_payload(struct bytes *o, const char *const lists[10])
{
	unsigned char type = 20;
	o->n = 0;
	put(o, &type, 1);
	put_str(o, "0123456789abcdef"); /* cookie */
	for (int i = 0; i < 10; i++)
		put_string(o, lists[i], strlen(lists[i]));
	put(o, "\0\0\0\0\0", 5);
}

/* Banner and a KEXINIT of test_lists. */
static void
simple_start(struct bytes *o, const char *banner)
{
	static struct bytes payload;
	o->n = 0;
	put_str(o, banner);
	kexinit_payload(&payload, test_lists);
	put_packet(o, &payload);
}

static size_t
load_capture(const char *name, unsigned char *buf, size_t size)
{
	const char *dirs[] = {"../fuzz/corpus/kexinit/", "tests/fuzz/corpus/kexinit/"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s%s", dirs[i], name);
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		size_t n = fread(buf, 1, size, f);
		fclose(f);
		return n;
	}
	fprintf(stderr, "cannot open capture %s\n", name);
	return 0;
}

/* ---------------------------------------------------------------- checking answers */

static bool
same_kexinit(const struct kexinit *a, const struct kexinit *b)
{
	if (strcmp(a->banner, b->banner) != 0)
		return false;
	for (int i = 0; i < KEXINIT_LISTS; i++)
		if (a->lists[i] == NULL || b->lists[i] == NULL ||
		    strcmp(a->lists[i], b->lists[i]) != 0)
			return false;
	return true;
}

static bool
zeroed(const struct kexinit *k)
{
	static const struct kexinit zero;
	return memcmp(k, &zero, sizeof(zero)) == 0;
}

/*
 * Parses data whole, expecting want (and want_err for -1), then every
 * prefix: each must give 0 with *out zeroed, or the whole input's answer.
 * Returns how many prefixes gave 0. The whole answer is left in *out.
 */
static size_t
parse_cuts(
    const unsigned char *data, size_t len, int want, const char *want_err, struct kexinit *out)
{
	char err[256] = "", cut_err[256];
	struct kexinit k;
	size_t zeros = 0;
	bool prefixes_ok = true;

	int r = kexinit_parse(data, len, out, err, sizeof(err));
	CHECK_INT(r, want);
	if (want == -1 && want_err != NULL)
		CHECK_STR(err, want_err);
	for (size_t n = 0; n < len; n++) {
		cut_err[0] = '\0';
		int c = kexinit_parse(data, n, &k, cut_err, sizeof(cut_err));
		if (c == 0) {
			zeros++;
			if (!zeroed(&k))
				prefixes_ok = false;
		} else if (c != r || (c == -1 && strcmp(cut_err, err) != 0) ||
		    (c == 1 && !same_kexinit(&k, out))) {
			fprintf(stderr, "cut at %zu of %zu: %d \"%s\", whole: %d \"%s\"\n", n, len,
			    c, cut_err, r, err);
			prefixes_ok = false;
		}
		kexinit_free(&k);
	}
	CHECK(prefixes_ok);
	return zeros;
}

/* -1 with this text, from the whole input and from every prefix that is not 0. */
static void
check_reject(const unsigned char *data, size_t len, const char *want_err)
{
	struct kexinit k;
	parse_cuts(data, len, -1, want_err, &k);
	CHECK(zeroed(&k));
}

/* ---------------------------------------------------------------- the captures */

static void
test_capture_default(void)
{
	static unsigned char buf[CAPTURE_MAX + 64];
	struct kexinit k, again;
	size_t len = load_capture("openssh-9.2-default", buf, CAPTURE_MAX);

	CHECK_INT(len, 1177);
	/* Every cut is "more", up to the last byte of the KEXINIT. */
	CHECK_INT(parse_cuts(buf, len, 1, NULL, &k), len);
	CHECK_STR(k.banner, OPENSSH_BANNER);
	CHECK_STR(k.lists[KEXINIT_KEX], OPENSSH_KEX);
	CHECK_STR(k.lists[KEXINIT_HOSTKEY], OPENSSH_HOSTKEY);
	CHECK_STR(k.lists[KEXINIT_CIPHER_CS], OPENSSH_CIPHERS);
	CHECK_STR(k.lists[KEXINIT_CIPHER_SC], OPENSSH_CIPHERS);
	CHECK_STR(k.lists[KEXINIT_MAC_CS], OPENSSH_MACS);
	CHECK_STR(k.lists[KEXINIT_MAC_SC], OPENSSH_MACS);
	CHECK_STR(k.lists[KEXINIT_COMP_CS], "none,zlib@openssh.com");
	CHECK_STR(k.lists[KEXINIT_COMP_SC], "none,zlib@openssh.com");
	CHECK_INT(kexinit_first_mismatch(&k, libssh2_offer), -1);

	/* What follows the KEXINIT (the next packet, say) is not looked at. */
	memcpy(buf + len, "\x00\x00\x00\x0c\x0a\x1e garbage!", 16);
	CHECK_INT(kexinit_parse(buf, len + 16, &again, NULL, 0), 1);
	CHECK(same_kexinit(&k, &again));
	kexinit_free(&again);

	/* What porthole would say when it offers only ssh-rsa host keys, or only CBC. */
	const char *client[KEXINIT_LISTS];
	memcpy(client, libssh2_offer, sizeof(client));
	client[KEXINIT_HOSTKEY] = "ssh-rsa,ssh-dss";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_HOSTKEY);
	client[KEXINIT_HOSTKEY] = libssh2_offer[KEXINIT_HOSTKEY];
	client[KEXINIT_CIPHER_SC] = "aes256-cbc,aes128-cbc,3des-cbc";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_CIPHER_SC);
	kexinit_free(&k);
	CHECK(zeroed(&k));
}

static void
test_capture_gcm_only(void)
{
	static unsigned char buf[CAPTURE_MAX];
	struct kexinit k;
	char common[256];
	size_t len = load_capture("openssh-9.2-aes128-gcm-only", buf, sizeof(buf));

	CHECK_INT(len, 1001);
	CHECK_INT(parse_cuts(buf, len, 1, NULL, &k), len);
	CHECK_STR(k.banner, OPENSSH_BANNER);
	CHECK_STR(k.lists[KEXINIT_CIPHER_CS], "aes128-gcm@openssh.com");
	CHECK_STR(k.lists[KEXINIT_CIPHER_SC], "aes128-gcm@openssh.com");
	/* sshd still offers its MACs with only an AEAD cipher allowed. */
	CHECK_STR(k.lists[KEXINIT_MAC_CS], OPENSSH_MACS);
	CHECK_INT(kexinit_first_mismatch(&k, libssh2_offer), -1);

	/* AES-GCM agreed: no MAC in common is no failure. */
	const char *client[KEXINIT_LISTS];
	memcpy(client, libssh2_offer, sizeof(client));
	client[KEXINIT_MAC_CS] = client[KEXINIT_MAC_SC] = "hmac-md5";
	CHECK_INT(kexinit_first_mismatch(&k, client), -1);

	/* A client without GCM: the message porthole would print. */
	client[KEXINIT_CIPHER_CS] = "aes256-ctr,aes128-ctr";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_CIPHER_CS);
	CHECK_INT(kexinit_common(client[KEXINIT_CIPHER_CS], k.lists[KEXINIT_CIPHER_CS], common,
		      sizeof(common)),
	    0);
	CHECK_STR(common, "");
	CHECK_STR(kexinit_list_name(KEXINIT_CIPHER_CS), "cipher (client to server)");
	kexinit_free(&k);
}

static void
test_capture_prebanner(void)
{
	static unsigned char buf[CAPTURE_MAX];
	struct kexinit k;
	size_t len = load_capture("openssh-9.2-prebanner", buf, sizeof(buf));

	/* "Welcome to the test host\r\n" "authorised use only\n", then sshd -i. */
	CHECK_INT(len, 1223);
	CHECK(memcmp(buf, "Welcome to the test host\r\nauthorised use only\nSSH-2.0-", 54) == 0);
	CHECK_INT(parse_cuts(buf, len, 1, NULL, &k), len);
	CHECK_STR(k.banner, OPENSSH_BANNER);
	CHECK_STR(k.lists[KEXINIT_KEX], OPENSSH_KEX);
	CHECK_INT(kexinit_first_mismatch(&k, libssh2_offer), -1);
	kexinit_free(&k);
}

static void
test_capture_restricted(void)
{
	static unsigned char buf[CAPTURE_MAX];
	struct kexinit k;
	char common[256];
	size_t len = load_capture("openssh-9.2-restricted", buf, sizeof(buf));

	/* KexAlgorithms curve25519-sha256, HostKeyAlgorithms ssh-ed25519, Ciphers aes256-ctr,
	 * MACs hmac-sha2-512: sshd appends its strict-kex marker to the one kex. */
	CHECK_INT(len, 257);
	CHECK_INT(parse_cuts(buf, len, 1, NULL, &k), len);
	CHECK_STR(k.lists[KEXINIT_KEX], "curve25519-sha256,kex-strict-s-v00@openssh.com");
	CHECK_STR(k.lists[KEXINIT_HOSTKEY], "ssh-ed25519");
	CHECK_STR(k.lists[KEXINIT_CIPHER_SC], "aes256-ctr");
	CHECK_STR(k.lists[KEXINIT_MAC_SC], "hmac-sha2-512");
	CHECK_INT(kexinit_first_mismatch(&k, libssh2_offer), -1);

	const char *client[KEXINIT_LISTS];
	memcpy(client, libssh2_offer, sizeof(client));
	client[KEXINIT_KEX] =
	    "diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_KEX);
	client[KEXINIT_KEX] = libssh2_offer[KEXINIT_KEX];
	client[KEXINIT_MAC_CS] = "hmac-sha2-256,hmac-sha1";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_MAC_CS);
	CHECK_INT(kexinit_common(
		      libssh2_offer[KEXINIT_KEX], k.lists[KEXINIT_KEX], common, sizeof(common)),
	    1);
	CHECK_STR(common, "curve25519-sha256");
	kexinit_free(&k);
}

static void
test_capture_chacha20(void)
{
	static unsigned char buf[CAPTURE_MAX];
	struct kexinit k;
	size_t len = load_capture("openssh-9.2-chacha20-no-compression", buf, sizeof(buf));

	CHECK_INT(len, 617);
	CHECK_INT(parse_cuts(buf, len, 1, NULL, &k), len);
	CHECK_STR(k.lists[KEXINIT_CIPHER_CS], "chacha20-poly1305@openssh.com");
	CHECK_STR(k.lists[KEXINIT_MAC_CS], "hmac-sha2-256-etm@openssh.com");
	CHECK_STR(k.lists[KEXINIT_COMP_CS], "none");
	CHECK_INT(kexinit_first_mismatch(&k, libssh2_offer), -1);

	const char *client[KEXINIT_LISTS];
	memcpy(client, libssh2_offer, sizeof(client));
	client[KEXINIT_COMP_SC] = "zlib@openssh.com,zlib";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_COMP_SC);
	client[KEXINIT_COMP_CS] = "zlib";
	CHECK_INT(kexinit_first_mismatch(&k, client), KEXINIT_COMP_CS);
	kexinit_free(&k);
}

/* The truncated captures in the corpus: "more", however they are cut. */
static void
test_capture_truncated(void)
{
	static unsigned char buf[CAPTURE_MAX];
	static const char *const names[] = {"openssh-9.2-default-cut-20",
	    "openssh-9.2-default-cut-41", "openssh-9.2-default-cut-43",
	    "openssh-9.2-default-cut-46", "openssh-9.2-default-cut-500",
	    "openssh-9.2-default-cut-1176", "openssh-9.2-prebanner-cut-30"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct kexinit k;
		size_t len = load_capture(names[i], buf, sizeof(buf));
		CHECK(len > 0);
		CHECK_INT(parse_cuts(buf, len, 0, NULL, &k), len);
		CHECK(zeroed(&k));
	}
}

/* ---------------------------------------------------------------- synthetic starts */

static void
test_prebanner_lines(void)
{
	static struct bytes o, payload;
	struct kexinit k;
	char err[128];

	/* 64 lines, LF or CRLF, any bytes but NUL, then the banner. */
	kexinit_payload(&payload, test_lists);
	o.n = 0;
	for (int i = 0; i < 63; i++)
		put_str(&o, i % 2 ? "Bienvenue \xc3\xa0 bord\r\n" : "\tSSH is not here\n");
	put_str(&o, "\n");
	put_str(&o, "SSH-2.0-after_64\r\n");
	put_packet(&o, &payload);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-2.0-after_64");
	CHECK_STR(k.lists[KEXINIT_KEX], test_lists[0]);
	kexinit_free(&k);

	/* A 65th line fails as soon as it is known not to be the banner. */
	o.n = 0;
	for (int i = 0; i < 65; i++)
		put_str(&o, "line\r\n");
	put_str(&o, "SSH-2.0-late\r\n");
	check_reject(o.b, o.n, "no SSH banner in the first 64 lines");
	CHECK_INT(kexinit_parse(o.b, 64 * 6, &k, err, sizeof(err)), 0);
	CHECK_INT(kexinit_parse(o.b, 64 * 6 + 1, &k, err, sizeof(err)), -1);
	o.n = 64 * 6;
	put_str(&o, "SSH");
	CHECK_INT(kexinit_parse(o.b, o.n, &k, err, sizeof(err)), 0);
	put_str(&o, "X");
	CHECK_INT(kexinit_parse(o.b, o.n, &k, err, sizeof(err)), -1);

	/* 8192 bytes of lines are allowed, 8193 are not. */
	o.n = 0;
	for (int i = 0; i < 8190; i++)
		put_str(&o, "x");
	put_str(&o, "\r\n");
	size_t at_limit = o.n;
	put_str(&o, "SSH-2.0-8k\r\n");
	put_packet(&o, &payload);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-2.0-8k");
	kexinit_free(&k);
	o.n = at_limit - 2;
	put_str(&o, "x\r\n");
	put_str(&o, "SSH-2.0-8k\r\n");
	check_reject(o.b, o.n, "no SSH banner in the first 8192 bytes");
	o.n = at_limit;
	put_str(&o, "y\nSSH-2.0-8k\r\n");
	check_reject(o.b, o.n, "no SSH banner in the first 8192 bytes");

	/* A line that only starts like the banner is text. */
	o.n = 0;
	put_str(&o, "SSH\nSSH_2.0-x\nSS\r\nSSH-2.0-real\r\n");
	put_packet(&o, &payload);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-2.0-real");
	kexinit_free(&k);
}

static void
test_missing_banner(void)
{
	static struct bytes o, payload;

	/* Binary packets straight away: the NUL of packet_length says so at once. */
	kexinit_payload(&payload, test_lists);
	o.n = 0;
	put_packet(&o, &payload);
	check_reject(o.b, o.n, "no SSH banner: NUL byte in line 1 (binary data)");
	CHECK_INT(kexinit_parse(o.b, 1, &(struct kexinit){0}, NULL, 0), -1);

	/* Binary after two lines of text. */
	o.n = 0;
	put_str(&o, "hello\r\nworld\n");
	put_packet(&o, &payload);
	check_reject(o.b, o.n, "no SSH banner: NUL byte in line 3 (binary data)");

	/* Nothing yet is "more". */
	struct kexinit k;
	CHECK_INT(kexinit_parse(NULL, 0, &k, NULL, 0), 0);
	CHECK(zeroed(&k));
}

static void
test_banner(void)
{
	static struct bytes o;
	struct kexinit k;
	char want[512];

	/* LF alone ends it too; SSH-1.99 is a server that speaks 2.0 as well. */
	simple_start(&o, "SSH-2.0-lf only\n");
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-2.0-lf only");
	kexinit_free(&k);
	simple_start(&o, "SSH-1.99-OpenSSH_3.9p1\r\n");
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-1.99-OpenSSH_3.9p1");
	kexinit_free(&k);

	/* Bytes outside printable ASCII are kept as '?', so the banner is safe to print. */
	simple_start(&o, "SSH-2.0-caf\xc3\xa9\x1b[2J\rx\r\n");
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-2.0-caf???[2J?x");
	kexinit_free(&k);

	/* 255 bytes with CR LF is the longest. */
	char line[300] = "SSH-2.0-";
	memset(line + 8, 'v', 245);
	strcpy(line + 253, "\r\n");
	simple_start(&o, line);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_INT(strlen(k.banner), 253);
	kexinit_free(&k);
	memset(line + 8, 'v', 246);
	strcpy(line + 254, "\n");
	simple_start(&o, line);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_INT(strlen(k.banner), 254);
	kexinit_free(&k);
	memset(line + 8, 'v', 246);
	strcpy(line + 254, "\r\n");
	simple_start(&o, line);
	check_reject(o.b, o.n, "banner longer than 255 bytes");
	CHECK_INT(kexinit_parse(o.b, 254, &k, NULL, 0), 0);
	CHECK_INT(kexinit_parse(o.b, 255, &k, NULL, 0), -1);

	o.n = 0;
	put(&o, "SSH-2.0-a\0b\r\n", 13);
	check_reject(o.b, o.n, "NUL byte in the banner");

	simple_start(&o, "SSH-1.5-OldServer\n");
	check_reject(
	    o.b, o.n, "server speaks SSH protocol 1.5, not 2.0 (banner \"SSH-1.5-OldServer\")");
	simple_start(&o, "SSH-2.00-x\r\n");
	check_reject(o.b, o.n, "server speaks SSH protocol 2.00, not 2.0 (banner \"SSH-2.00-x\")");
	simple_start(&o, "SSH-2.0\r\n");
	check_reject(o.b, o.n, "banner \"SSH-2.0\" has no software version after the protocol");
	snprintf(want, sizeof(want), "server speaks SSH protocol , not 2.0 (banner \"SSH--x\")");
	simple_start(&o, "SSH--x\r\n");
	check_reject(o.b, o.n, want);
}

/* IGNORE and DEBUG before KEXINIT are skipped, up to 8 of them; other messages fail. */
static void
test_skipped_packets(void)
{
	static struct bytes o, payload, kex;
	struct kexinit k;

	kexinit_payload(&kex, test_lists);
	o.n = 0;
	put_str(&o, "SSH-2.0-ignorer\r\n");
	payload.n = 0;
	put(&payload, "\x02", 1);
	put_string(&payload, "padding the stream", 18);
	put_packet(&o, &payload);
	payload.n = 0;
	put(&payload, "\x04\x01", 2);
	put_string(&payload, "debug text", 10);
	put_string(&payload, "en", 2);
	put_packet(&o, &payload);
	put_packet(&o, &kex);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.banner, "SSH-2.0-ignorer");
	CHECK_STR(k.lists[KEXINIT_MAC_SC], "hmac-sha2-512");
	kexinit_free(&k);

	/* Eight are skipped; the ninth fails when its type arrives. */
	payload.n = 0;
	put(&payload, "\x02", 1);
	put_string(&payload, "", 0);
	o.n = 0;
	put_str(&o, "SSH-2.0-ignorer\r\n");
	for (int i = 0; i < 8; i++)
		put_packet(&o, &payload);
	size_t eight = o.n;
	put_packet(&o, &kex);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	kexinit_free(&k);
	o.n = eight;
	put_packet(&o, &payload);
	put_packet(&o, &kex);
	check_reject(o.b, o.n, "more than 8 IGNORE or DEBUG packets before KEXINIT");
	CHECK_INT(kexinit_parse(o.b, eight + 5, &k, NULL, 0), 0);
	CHECK_INT(kexinit_parse(o.b, eight + 6, &k, NULL, 0), -1);

	/* An IGNORE as large as a packet may be (35000) is skipped. */
	static unsigned char big[35000];
	o.n = 0;
	put_str(&o, "SSH-2.0-big\r\n");
	put32(&o, 35000);
	put(&o, "\x04\x02", 2); /* 4 bytes of padding, 34995 of DEBUG */
	put(&o, big, 34998);
	put_packet(&o, &kex);
	CHECK_INT(kexinit_parse(o.b, o.n - 1, &k, NULL, 0), 0);
	CHECK_INT(kexinit_parse(o.b, o.n, &k, NULL, 0), 1);
	CHECK_STR(k.banner, "SSH-2.0-big");
	kexinit_free(&k);

	/* Anything else where KEXINIT should be. */
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	payload.n = 0;
	put(&payload, "\x15", 1); /* NEWKEYS */
	put_packet(&o, &payload);
	check_reject(o.b, o.n, "message type 21 where KEXINIT (20) was expected");
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	payload.n = 0;
	put(&payload, "\x1e", 1); /* KEX_ECDH_INIT, a client's message */
	put_string(&payload, "key", 3);
	put_packet(&o, &payload);
	check_reject(o.b, o.n, "message type 30 where KEXINIT (20) was expected");

	/* A DISCONNECT: its reason is the error. */
	o.n = 0;
	put_str(&o, "SSH-2.0-busy\r\n");
	payload.n = 0;
	put(&payload, "\x01\x00\x00\x00\x0c", 5);
	put_string(&payload, "Too many connections\n", 21);
	put_string(&payload, "en", 2);
	put_packet(&o, &payload);
	check_reject(
	    o.b, o.n, "server disconnected before KEXINIT (reason 12): Too many connections?");
	o.n = 0;
	put_str(&o, "SSH-2.0-busy\r\n");
	payload.n = 0;
	put(&payload, "\x01\x00\x00\x00\x0c\x00\x00\x01\x00short", 14);
	put_packet(&o, &payload);
	check_reject(o.b, o.n, "server disconnected before KEXINIT (malformed DISCONNECT)");
}

static void
test_packet_header(void)
{
	static struct bytes o;

	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put32(&o, 9999999);
	check_reject(o.b, o.n, "packet length 9999999 too large (at most 35000)");
	o.n = 11;
	put32(&o, 35001);
	check_reject(o.b, o.n, "packet length 35001 too large (at most 35000)");
	o.n = 11;
	put32(&o, 0xffffffffu);
	check_reject(o.b, o.n, "packet length 4294967295 too large (at most 35000)");

	o.n = 11;
	put32(&o, 12);
	put(&o, "\x0c\x14", 2);
	check_reject(o.b, o.n, "padding length 12 not less than packet length 12");
	o.n = 11;
	put32(&o, 12);
	put(&o, "\xff", 1);
	check_reject(o.b, o.n, "padding length 255 not less than packet length 12");
	o.n = 11;
	put32(&o, 0);
	put(&o, "\x00", 1);
	check_reject(o.b, o.n, "padding length 0 not less than packet length 0");
	o.n = 11;
	put32(&o, 5);
	put(&o, "\x04\0\0\0\0", 5);
	check_reject(o.b, o.n, "empty packet (no message type)");
}

/* A KEXINIT of these lists, each with its length given. */
static void
raw_start(struct bytes *o, const char *const lists[10], const size_t lens[10])
{
	static struct bytes payload;
	unsigned char type = 20;

	payload.n = 0;
	put(&payload, &type, 1);
	put(&payload, "0123456789abcdef", 16);
	for (int i = 0; i < 10; i++)
		put_string(&payload, lists[i], lens[i]);
	put(&payload, "\0\0\0\0\0", 5);
	o->n = 0;
	put_str(o, "SSH-2.0-raw\r\n");
	put_packet(o, &payload);
}

static void
test_kexinit_payload(void)
{
	static struct bytes o, payload;
	static char long_list[8200];
	struct kexinit k;
	const char *lists[10];
	size_t lens[10];

	for (int i = 0; i < 10; i++) {
		lists[i] = test_lists[i];
		lens[i] = strlen(test_lists[i]);
	}

	/* Names with bytes no name may have, and empty names. */
	static const struct {
		int list;
		const char *text;
		size_t len;
		const char *err;
	} bad[] = {
	    {2, "aes128-ctr\x07", 11,
		"cipher (client to server) list: byte 0x07 at offset 10 is not allowed in a name"},
	    {0, "curve25519 sha256", 17,
		"key exchange list: byte 0x20 at offset 10 is not allowed in a name"},
	    {1, "ssh-ed25519\x80", 12,
		"host key list: byte 0x80 at offset 11 is not allowed in a name"},
	    {5, "hmac\x7f", 5,
		"MAC (server to client) list: byte 0x7f at offset 4 is not allowed in a name"},
	    {6, "no\0ne", 5,
		"compression (client to server) list: byte 0x00 at offset 2 is not allowed in a "
		"name"},
	    {4, "hmac-sha1,,hmac-md5", 19, "MAC (client to server) list: empty name at offset 10"},
	    {7, ",none", 5, "compression (server to client) list: empty name at offset 0"},
	    {3, "aes128-ctr,", 11, "cipher (server to client) list: empty name at offset 11"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lists[bad[i].list] = bad[i].text;
		lens[bad[i].list] = bad[i].len;
		raw_start(&o, lists, lens);
		check_reject(o.b, o.n, bad[i].err);
		lists[bad[i].list] = test_lists[bad[i].list];
		lens[bad[i].list] = strlen(test_lists[bad[i].list]);
	}

	/* Language lists are only length-checked: they are not kept. */
	lists[8] = "en\x01,,";
	lens[8] = 5;
	raw_start(&o, lists, lens);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	kexinit_free(&k);
	lists[8] = "";
	lens[8] = 0;

	/* Empty lists parse (and then have nothing in common). */
	for (int i = 0; i < 10; i++)
		lists[i] = "", lens[i] = 0;
	raw_start(&o, lists, lens);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_STR(k.lists[KEXINIT_KEX], "");
	CHECK_INT(kexinit_first_mismatch(&k, libssh2_offer), KEXINIT_KEX);
	kexinit_free(&k);

	/* A list of 8192 bytes is the longest. */
	for (int i = 0; i < 10; i++) {
		lists[i] = test_lists[i];
		lens[i] = strlen(test_lists[i]);
	}
	for (size_t i = 0; i < 8192; i++)
		long_list[i] = i % 2 ? ',' : 'a';
	long_list[8191] = 'b';
	lists[1] = long_list;
	lens[1] = 8192;
	raw_start(&o, lists, lens);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	CHECK_INT(strlen(k.lists[KEXINIT_HOSTKEY]), 8192);
	kexinit_free(&k);
	long_list[8192] = 'c';
	lens[1] = 8193;
	raw_start(&o, lists, lens);
	check_reject(o.b, o.n, "host key list is 8193 bytes long (at most 8192)");
	lists[1] = test_lists[1];
	lens[1] = strlen(test_lists[1]);

	/* A list length past the end of the packet, a payload cut short at each field. */
	static const unsigned char cookie[16];
	unsigned char type = 20;
	payload.n = 0;
	put(&payload, &type, 1);
	put(&payload, cookie, 16);
	put32(&payload, 5000);
	put(&payload, "abc", 3);
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put_packet(&o, &payload);
	/* The padding counts as the packet's, not the payload's. */
	check_reject(o.b, o.n, "key exchange list length 5000 runs past the end of the packet");

	payload.n = 0;
	put(&payload, &type, 1);
	put(&payload, cookie, 10);
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put_packet(&o, &payload);
	check_reject(o.b, o.n, "KEXINIT too short for its cookie (11 bytes)");

	kexinit_payload(&payload, test_lists);
	struct bytes *cut = &payload;
	size_t whole = cut->n;
	size_t before_mac_sc = 1 + 16;
	for (int i = 0; i < 5; i++)
		before_mac_sc += 4 + strlen(test_lists[i]);
	cut->n = before_mac_sc + 2;
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put_packet(&o, cut);
	check_reject(o.b, o.n, "KEXINIT ends before the MAC (server to client) list");
	cut->n = whole - 5;
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put_packet(&o, cut);
	check_reject(o.b, o.n, "KEXINIT ends before first_kex_packet_follows and reserved");
	cut->n = whole - 5 - 2;
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put_packet(&o, cut);
	check_reject(o.b, o.n, "KEXINIT ends before the language (server to client) list");
	cut->n = whole;

	/* first_kex_packet_follows set, reserved not 0, bytes after: all accepted. */
	cut->n = whole - 5;
	put(cut, "\x01\x00\x00\x00\x07later", 10);
	o.n = 0;
	put_str(&o, "SSH-2.0-x\r\n");
	put_packet(&o, cut);
	CHECK_INT(parse_cuts(o.b, o.n, 1, NULL, &k), o.n);
	kexinit_free(&k);
}

/* ---------------------------------------------------------------- comparing lists */

static void
test_common(void)
{
	char out[64];

	CHECK_INT(kexinit_common("a,b,c", "c,b", out, sizeof(out)), 2);
	CHECK_STR(out, "b,c"); /* the client's order */
	CHECK_INT(kexinit_common("a,b,c", "d,e", out, sizeof(out)), 0);
	CHECK_STR(out, "");
	/* Whole names only. */
	CHECK_INT(kexinit_common("aes128-ctr,aes", "aes128-ctr-x,aes128", out, sizeof(out)), 0);
	CHECK_INT(kexinit_common("hmac-sha1", "hmac-sha1-96,hmac-sha1", out, sizeof(out)), 1);
	CHECK_STR(out, "hmac-sha1");
	/* Twice listed counts once; empty names and NULL lists are nothing. */
	CHECK_INT(kexinit_common("b,a,b,,a,", ",a,,b", out, sizeof(out)), 2);
	CHECK_STR(out, "b,a");
	CHECK_INT(kexinit_common(NULL, "a", out, sizeof(out)), 0);
	CHECK_INT(kexinit_common("a", NULL, out, sizeof(out)), 0);
	CHECK_INT(kexinit_common("", "", out, sizeof(out)), 0);
	CHECK_INT(kexinit_common("a", "a", NULL, 0), 1);
	/* Pseudo-algorithms are never in common, even when both sides name them. */
	CHECK_INT(kexinit_common("ext-info-c,kex-strict-c-v00@openssh.com,x",
		      "x,ext-info-c,kex-strict-c-v00@openssh.com,ext-info-s", out, sizeof(out)),
	    1);
	CHECK_STR(out, "x");
	CHECK_INT(kexinit_common("ext-info-s,kex-strict-s-v00@openssh.com",
		      "ext-info-s,kex-strict-s-v00@openssh.com", out, sizeof(out)),
	    0);
	/* Too small an out: the first whole names that fit, the count of all. */
	CHECK_INT(kexinit_common("one,two,three", "three,two,one", out, 8), 3);
	CHECK_STR(out, "one,two");
	CHECK_INT(kexinit_common("one,two,three", "three,two,one", out, 7), 3);
	CHECK_STR(out, "one");
	CHECK_INT(kexinit_common("one,two,three", "three,two,one", out, 4), 3);
	CHECK_STR(out, "one");
	CHECK_INT(kexinit_common("one,two,three", "three,two,one", out, 3), 3);
	CHECK_STR(out, "");
	CHECK_INT(kexinit_common("one,two,three", "three,two,one", out, 1), 3);
	CHECK_STR(out, "");
	/* A long name that does not fit is not skipped for a later short one. */
	CHECK_INT(kexinit_common("a-very-long-name,x", "x,a-very-long-name", out, 8), 2);
	CHECK_STR(out, "");
}

static void
test_first_mismatch(void)
{
	char *lists[KEXINIT_LISTS] = {
	    "curve25519-sha256,ext-info-s,kex-strict-s-v00@openssh.com",
	    "ssh-ed25519",
	    "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes128-ctr",
	    "aes128-gcm@openssh.com,aes128-ctr",
	    "hmac-sha2-512",
	    "hmac-sha2-512",
	    "none",
	    "none",
	};
	struct kexinit server;
	memset(&server, 0, sizeof(server));
	for (int i = 0; i < KEXINIT_LISTS; i++)
		server.lists[i] = lists[i];
	const char *client[KEXINIT_LISTS] = {
	    "curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com",
	    "ssh-ed25519",
	    "aes128-gcm@openssh.com",
	    "aes128-gcm@openssh.com",
	    "hmac-sha2-256",
	    "hmac-sha2-256",
	    "none",
	    "none",
	};

	/* AES-GCM both ways: no MAC in common is fine. */
	CHECK_INT(kexinit_first_mismatch(&server, client), -1);
	/* No common kex, even though both sides send strict-kex and ext-info markers. */
	client[KEXINIT_KEX] =
	    "diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_KEX);
	lists[KEXINIT_KEX] = "diffie-hellman-group1-sha1,ext-info-c,kex-strict-c-v00@openssh.com";
	server.lists[KEXINIT_KEX] = lists[KEXINIT_KEX];
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_KEX);
	server.lists[KEXINIT_KEX] = "curve25519-sha256,diffie-hellman-group14-sha256";
	CHECK_INT(kexinit_first_mismatch(&server, client), -1);
	/* Common kex, no host key: host key, whatever else is wrong too. */
	client[KEXINIT_HOSTKEY] = "ssh-rsa,rsa-sha2-256";
	client[KEXINIT_CIPHER_CS] = "3des-cbc";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_HOSTKEY);
	client[KEXINIT_HOSTKEY] = "ssh-rsa,ssh-ed25519";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_CIPHER_CS);
	/* aes128-ctr agreed: its MAC list matters. */
	client[KEXINIT_CIPHER_CS] = "aes128-ctr";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_MAC_CS);
	/* The client's preference decides the cipher: aes128-ctr before chacha20 needs a MAC. */
	client[KEXINIT_CIPHER_CS] = "aes128-ctr,chacha20-poly1305@openssh.com";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_MAC_CS);
	client[KEXINIT_CIPHER_CS] = "aes128-gcm@openssh.com,aes128-ctr";
	CHECK_INT(kexinit_first_mismatch(&server, client), -1);
	/* libssh2 wants a MAC for chacha20-poly1305 too (OpenSSH would not). */
	client[KEXINIT_CIPHER_CS] = "chacha20-poly1305@openssh.com,aes128-ctr";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_MAC_CS);
	/* Cipher server to client comes before either MAC. */
	client[KEXINIT_CIPHER_CS] = "aes128-ctr";
	client[KEXINIT_CIPHER_SC] = "aes256-gcm@openssh.com";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_CIPHER_SC);
	/* AEAD one way only: the other way's MAC list matters. */
	client[KEXINIT_CIPHER_CS] = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com";
	client[KEXINIT_CIPHER_SC] = "aes128-ctr,aes128-gcm@openssh.com";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_MAC_SC);
	client[KEXINIT_MAC_SC] = "hmac-sha1,hmac-sha2-512";
	CHECK_INT(kexinit_first_mismatch(&server, client), -1);
	/* Then compression, client to server first. */
	client[KEXINIT_COMP_SC] = "zlib";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_COMP_SC);
	client[KEXINIT_COMP_CS] = "zlib@openssh.com";
	CHECK_INT(kexinit_first_mismatch(&server, client), KEXINIT_COMP_CS);
	/* NULL client lists and a zeroed server struct: nothing in common. */
	const char *none[KEXINIT_LISTS] = {0};
	CHECK_INT(kexinit_first_mismatch(&server, none), KEXINIT_KEX);
	struct kexinit empty;
	memset(&empty, 0, sizeof(empty));
	CHECK_INT(kexinit_first_mismatch(&empty, libssh2_offer), KEXINIT_KEX);
}

static void
test_names_and_free(void)
{
	static const char *const want[KEXINIT_LISTS] = {"key exchange", "host key",
	    "cipher (client to server)", "cipher (server to client)", "MAC (client to server)",
	    "MAC (server to client)", "compression (client to server)",
	    "compression (server to client)"};
	for (int i = 0; i < KEXINIT_LISTS; i++)
		CHECK_STR(kexinit_list_name((enum kexinit_list)i), want[i]);
	CHECK_STR(kexinit_list_name(KEXINIT_LISTS), "unknown list");
	CHECK_STR(kexinit_list_name((enum kexinit_list) - 1), "unknown list");

	struct kexinit k;
	memset(&k, 0, sizeof(k));
	kexinit_free(&k);
	kexinit_free(&k);
	kexinit_free(NULL);
	CHECK(zeroed(&k));

	/* A parse that fails after the banner leaves nothing behind; err may be NULL. */
	static struct bytes o;
	simple_start(&o, "SSH-2.0-x\r\n");
	unsigned char *zlib = memmem(o.b, o.n, "zlib", 4); /* in the last list kept */
	CHECK(zlib != NULL);
	if (zlib != NULL)
		*zlib = 0x07;
	memset(&k, 0xa5, sizeof(k));
	CHECK_INT(kexinit_parse(o.b, o.n, &k, NULL, 0), -1);
	CHECK(zeroed(&k));
	char tiny[8];
	CHECK_INT(kexinit_parse(o.b, o.n, &k, tiny, sizeof(tiny)), -1);
	CHECK_STR(tiny, "compres");
}

int
main(void)
{
	test_capture_default();
	test_capture_gcm_only();
	test_capture_prebanner();
	test_capture_restricted();
	test_capture_chacha20();
	test_capture_truncated();
	test_prebanner_lines();
	test_missing_banner();
	test_banner();
	test_skipped_packets();
	test_packet_header();
	test_kexinit_payload();
	test_common();
	test_first_mismatch();
	test_names_and_free();
	return check_done("kexinit");
}
