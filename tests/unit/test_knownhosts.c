/*
 * Unit tests for knownhosts: lookups over known_hosts text built from real
 * keys (made by ssh-keygen), hashed lines written by `ssh-keygen -H`, and
 * fingerprints as `ssh-keygen -lf` prints them.
 */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "knownhosts.h"

/* ssh-keygen -t ed25519; SHA256:QpsHiGY0KcJmeM0DaqoWGelXcYAU8DhrBImt99uH7/U */
#define ED1 "AAAAC3NzaC1lZDI1NTE5AAAAIA9Uun2ThlRix9t2WUKVFteJJcdS+aRWVDYLlAZwZrx3"
/* ssh-keygen -t ecdsa -b 256; SHA256:L0cIkxlf5qcA+9xRUJwTBzf6x5PhA9ft+AKHHQEKlCc */
#define EC1                                                                                        \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNlxiO0b2xV+"                         \
	"qztenaKwCiVsEywiGXUYfiQZj"                                                                \
	"sMAPv+rqOt4xI10Nudp/YuWns0+BMCxaBxLcdqtmvdw8FgwCik="
/* ssh-keygen -t ed25519; SHA256:2isAmYV+JAmHKNnEjo5MCbUqqKPN5/zp9nsvacIlqgo */
#define ED2 "AAAAC3NzaC1lZDI1NTE5AAAAIMgzhMGR4wkQLIi9jD5LAew5kSXcx7D/GxuNqNpjYo3n"

/* `ssh-keygen -H` of "[127.0.0.1]:2222 ssh-ed25519 ED1" and "example.com ecdsa-... EC1". */
#define HASH_LOCAL_2222 "|1|a3VYLHEOZFEiMQBrLpv6AiqM7aQ=|CjFi6P3/QU9JfDxCaH9OG/WexEQ="
#define HASH_EXAMPLE "|1|gvN9uEQdNXGPtQL5SpXWt3ZcQcs=|0jz0e9lr7JWRtlYbEGmlYlvkfbk="

#define ED "ssh-ed25519"
#define EC "ecdsa-sha2-nistp256"

struct blob {
	unsigned char b[256];
	size_t n;
};

static struct blob ed1, ed2, ec1;

/* Independent of the module's own decoder: OpenSSL's, minus its pad bytes. */
static void
decode(const char *b64, struct blob *out)
{
	size_t len = strlen(b64);
	int n = EVP_DecodeBlock(out->b, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		fprintf(stderr, "bad base64 in test data\n");
		exit(2);
	}
	while (len > 0 && b64[len - 1] == '=') {
		len--;
		n--;
	}
	out->n = (size_t)n;
}

static struct kh_lookup
check(const char *text, const char *host, int port, const char *type, const struct blob *key)
{
	struct kh_lookup r;

	knownhosts_check(text, strlen(text), host, port, type, key->b, key->n, &r);
	return r;
}

#define CHECK_LOOKUP(r, want_result, want_line)                                                    \
	do {                                                                                       \
		struct kh_lookup r_ = (r);                                                         \
		CHECK_INT(r_.result, want_result);                                                 \
		CHECK_INT(r_.line, want_line);                                                     \
	} while (0)

static void
test_plain(void)
{
	const char *text = "# a comment\n"
			   "\n"
			   "example.com " ED " " ED1 " me@laptop\n"
			   "other.org,example.net " EC " " EC1 "\n";

	CHECK_LOOKUP(check(text, "example.com", 22, ED, &ed1), KH_MATCH, 3);
	CHECK_LOOKUP(check(text, "example.net", 22, EC, &ec1), KH_MATCH, 4);
	CHECK_LOOKUP(check(text, "other.org", 22, EC, &ec1), KH_MATCH, 4);
	CHECK_LOOKUP(check(text, "nowhere.org", 22, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "example", 22, ED, &ed1), KH_NOTFOUND, 0);
	/* A bare entry says nothing about other ports. */
	CHECK_LOOKUP(check(text, "example.com", 2222, ED, &ed1), KH_NOTFOUND, 0);
	/* Port 0 means the default, as in OpenSSH's put_host_port. */
	CHECK_LOOKUP(check(text, "example.com", 0, ED, &ed1), KH_MATCH, 3);
}

static void
test_ports(void)
{
	const char *text = "[127.0.0.1]:2222 " ED " " ED1 "\n"
			   "[127.0.0.1]:22 " ED " " ED2 "\n"
			   "127.0.0.1 " EC " " EC1 "\n";

	CHECK_LOOKUP(check(text, "127.0.0.1", 2222, ED, &ed1), KH_MATCH, 1);
	/* Port 22 is looked up bare, never as [host]:22. */
	CHECK_LOOKUP(check(text, "127.0.0.1", 22, ED, &ed2), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "127.0.0.1", 22, EC, &ec1), KH_MATCH, 3);
	/* No fallback from [host]:port to the bare host. */
	CHECK_LOOKUP(check(text, "127.0.0.1", 2223, EC, &ec1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "::1", 2222, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check("[::1]:2222 " ED " " ED1 "\n", "::1", 2222, ED, &ed1), KH_MATCH, 1);
}

static void
test_hashed(void)
{
	const char *text = HASH_LOCAL_2222 " " ED " " ED1 "\n" HASH_EXAMPLE " " EC " " EC1 "\n";

	CHECK_LOOKUP(check(text, "127.0.0.1", 2222, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(check(text, "127.0.0.1", 2222, ED, &ed2), KH_MISMATCH, 1);
	CHECK_LOOKUP(check(text, "127.0.0.1", 2223, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "127.0.0.1", 22, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "example.com", 22, EC, &ec1), KH_MATCH, 2);
	/* ssh lowercases the name before hashing it. */
	CHECK_LOOKUP(check(text, "EXAMPLE.com", 22, EC, &ec1), KH_MATCH, 2);
	/* Hashed fields are not pattern lists and a broken hash never matches. */
	CHECK_LOOKUP(
	    check(HASH_EXAMPLE ",example.com " EC " " EC1 "\n", "example.com", 22, EC, &ec1),
	    KH_NOTFOUND, 0);
	CHECK_LOOKUP(
	    check("|1|gvN9uEQdNXGPtQL5SpXWt3ZcQcs|0jz0e9lr7JWRtlYbEGmlYlvkfbk= " EC " " EC1 "\n",
		"example.com", 22, EC, &ec1),
	    KH_NOTFOUND, 0);
	CHECK_LOOKUP(
	    check("|2|gvN9uEQdNXGPtQL5SpXWt3ZcQcs=|0jz0e9lr7JWRtlYbEGmlYlvkfbk= " EC " " EC1 "\n",
		"example.com", 22, EC, &ec1),
	    KH_NOTFOUND, 0);
	CHECK_LOOKUP(check("|1|| " EC " " EC1 "\n|1| " EC " " EC1 "\n| " EC " " EC1 "\n",
			 "example.com", 22, EC, &ec1),
	    KH_NOTFOUND, 0);
}

static void
test_patterns(void)
{
	const char *text = "*.example.com,!bad.example.com " ED " " ED1 "\n"
			   "host?.lan " EC " " EC1 "\n"
			   "[10.0.0.*]:2200 " ED " " ED2 "\n"
			   "* " EC " " EC1 "\n";

	CHECK_LOOKUP(check(text, "www.example.com", 22, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(check(text, "a.b.example.com", 22, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(check(text, "example.com", 22, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "bad.example.com", 22, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(text, "host1.lan", 22, EC, &ec1), KH_MATCH, 2);
	CHECK_LOOKUP(check(text, "host12.lan", 22, EC, &ec1), KH_MATCH, 4);
	CHECK_LOOKUP(check(text, "10.0.0.7", 2200, ED, &ed2), KH_MATCH, 3);
	CHECK_LOOKUP(check(text, "10.0.0.7", 2201, ED, &ed2), KH_NOTFOUND, 0);
	/* A catch-all covers bracketed names too. */
	CHECK_LOOKUP(check(text, "anything", 2201, EC, &ec1), KH_MATCH, 4);

	/* A negation wins wherever it stands in the list. */
	CHECK_LOOKUP(
	    check("!bad.lan,*.lan " ED " " ED1 "\n", "bad.lan", 22, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(
	    check("!bad.lan,*.lan " ED " " ED1 "\n", "good.lan", 22, ED, &ed1), KH_MATCH, 1);
	/* A list of only negations matches nothing. */
	CHECK_LOOKUP(check("!bad.lan " ED " " ED1 "\n", "good.lan", 22, ED, &ed1), KH_NOTFOUND, 0);
	/* '*' may match nothing; pathological stars stay fast and correct. */
	CHECK_LOOKUP(check("a*b*c " ED " " ED1 "\n", "abc", 22, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(check("*a*a*a*a*a*a*a*a*a*b " ED " " ED1 "\n",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 22, ED, &ed1),
	    KH_NOTFOUND, 0);
}

static void
test_case(void)
{
	const char *text = "WWW.Example.COM " ED " " ED1 "\n"
			   "[MixedCase.Lan]:2022 " ED " " ED1 "\n"
			   "*.CORP " ED " " ED1 "\n";

	CHECK_LOOKUP(check(text, "www.example.com", 22, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(check(text, "Www.EXAMPLE.com", 22, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(check(text, "mixedcase.lan", 2022, ED, &ed1), KH_MATCH, 2);
	CHECK_LOOKUP(check(text, "x.corp", 22, ED, &ed1), KH_MATCH, 3);
	/* Key types, unlike names, compare exactly. */
	CHECK_LOOKUP(check(text, "www.example.com", 22, "SSH-ED25519", &ed1), KH_NOTFOUND, 0);
}

static void
test_mismatch(void)
{
	const char *text = "other " ED " " ED2 "\n"
			   "host " EC " " EC1 "\n"
			   "host " ED " " ED2 "\n"
			   "host " ED " " ED2 "\n";

	/* Conflicting entries: the first is named. */
	CHECK_LOOKUP(check(text, "host", 22, ED, &ed1), KH_MISMATCH, 3);
	/* A match anywhere beats a conflict before it (OpenSSH keeps several keys). */
	CHECK_LOOKUP(
	    check("host " ED " " ED2 "\nhost " ED " " ED1 "\n", "host", 22, ED, &ed1), KH_MATCH, 2);
	/* Only other key types known: not a conflict. */
	CHECK_LOOKUP(check("host " EC " " EC1 "\n", "host", 22, ED, &ed1), KH_NOTFOUND, 0);
	/* The key, not the type field alone, has to match. */
	CHECK_LOOKUP(check("host " ED " " ED1 "\n", "host", 22, EC, &ed1), KH_NOTFOUND, 0);
}

static void
test_markers(void)
{
	const char *revoked = "host " ED " " ED1 "\n"
			      "@revoked * " ED " " ED1 "\n";
	const char *revoked_other = "@revoked other " ED " " ED1 "\n"
				    "host " ED " " ED1 "\n";
	const char *ca = "@cert-authority * " ED " " ED1 "\n"
			 "@cert-authority host " ED " " ED2 "\n";

	CHECK_LOOKUP(check(revoked, "host", 22, ED, &ed1), KH_REVOKED, 2);
	CHECK_LOOKUP(check(revoked, "anyone", 2222, ED, &ed1), KH_REVOKED, 2);
	CHECK_LOOKUP(check(revoked, "host", 22, ED, &ed2), KH_MISMATCH, 1);
	/* As in OpenSSH, an @revoked line applies to the hosts it names. */
	CHECK_LOOKUP(check(revoked_other, "host", 22, ED, &ed1), KH_MATCH, 2);
	CHECK_LOOKUP(check(revoked_other, "other", 22, ED, &ed1), KH_REVOKED, 1);
	/* CA lines neither match nor conflict. */
	CHECK_LOOKUP(check(ca, "host", 22, ED, &ed1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check(ca, "host", 22, ED, &ed2), KH_NOTFOUND, 0);
	/* Unknown, repeated or glued markers spoil the line. */
	CHECK_LOOKUP(check("@revokd host " ED " " ED1 "\n@revoked @revoked host " ED " " ED1
			   "\n@revoked\thost " ED " " ED1 "x\n",
			 "host", 22, ED, &ed1),
	    KH_NOTFOUND, 0);
	CHECK_LOOKUP(check("@revoked\thost " ED " " ED1 "\n", "host", 22, ED, &ed1), KH_REVOKED, 1);
}

static struct kh_lookup
check_ca(const char *text, const char *host, int port, const struct blob *ca)
{
	struct kh_lookup r;

	knownhosts_check_ca(text, strlen(text), host, port, ca->b, ca->n, &r);
	return r;
}

static void
test_cert_authority(void)
{
	const char *text = "# host CAs\n"
			   "host " ED " " ED1 "\n" /* a plain key never vouches for a certificate */
			   "@cert-authority *.example.com,!bad.example.com " ED " " ED2 "\n"
			   "@cert-authority [127.0.0.1]:2222 " EC " " EC1 "\n"
			   "@cert-authority " HASH_EXAMPLE " " ED " " ED1 "\n";
	const char *revoked = "@cert-authority * " ED " " ED1 "\n"
			      "@revoked * " ED " " ED1 "\n";

	CHECK_LOOKUP(check_ca(text, "a.example.com", 22, &ed2), KH_MATCH, 3);
	CHECK_LOOKUP(check_ca(text, "A.Example.COM", 22, &ed2), KH_MATCH, 3);
	/* Another CA for the host: a mismatch (the certificate's CA is not trusted here). */
	CHECK_LOOKUP(check_ca(text, "a.example.com", 22, &ec1), KH_MISMATCH, 3);
	CHECK_LOOKUP(check_ca(text, "bad.example.com", 22, &ed2), KH_NOTFOUND, 0);
	/* The port is part of the name, as for keys. */
	CHECK_LOOKUP(check_ca(text, "a.example.com", 2222, &ed2), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check_ca(text, "127.0.0.1", 2222, &ec1), KH_MATCH, 4);
	CHECK_LOOKUP(check_ca(text, "127.0.0.1", 22, &ec1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check_ca(text, "host", 22, &ed1), KH_NOTFOUND, 0);
	/* Hashed host names work for CA lines too. */
	CHECK_LOOKUP(check_ca(text, "example.com", 22, &ed1), KH_MATCH, 5);
	/* @revoked wins over the CA line. */
	CHECK_LOOKUP(check_ca(revoked, "anything", 22, &ed1), KH_REVOKED, 2);
	CHECK_LOOKUP(check_ca(revoked, "anything", 22, &ed2), KH_MISMATCH, 1);

	char out[64];
	bool has_ca = false;
	CHECK_INT(knownhosts_host_types(
		      text, strlen(text), "a.example.com", 22, out, sizeof(out), &has_ca),
	    0);
	CHECK(has_ca);
	CHECK_INT(
	    knownhosts_host_types(text, strlen(text), "host", 22, out, sizeof(out), &has_ca), 1);
	CHECK(!has_ca);
	CHECK_INT(knownhosts_host_types(
		      text, strlen(text), "bad.example.com", 22, out, sizeof(out), &has_ca),
	    0);
	CHECK(!has_ca);
}

static void
test_garbage(void)
{
	const char *text = "garbage\n"
			   "host\n"
			   "host " ED "\n"
			   "host " ED " !!!notbase64\n"
			   "host " ED " " EC1 "\n" /* blob of another type */
			   "host " ED " " ED1 "=\n"
			   "host ssh,ed25519 " ED1 "\n"
			   "host ssh-ed25519 AAAA\n"
			   "\t \n"
			   "   # indented comment host " ED " " ED1 "\n"
			   "host " ED " " ED1 "\n";

	CHECK_LOOKUP(check(text, "host", 22, ED, &ed1), KH_MATCH, 11);
	CHECK_LOOKUP(check(text, "host", 22, ED, &ed2), KH_MISMATCH, 11);

	/* The blob must name the line's type, not just one of the same length. */
	CHECK_LOOKUP(
	    check("host ssh-ed25518 " ED1 "\n", "host", 22, "ssh-ed25518", &ed1), KH_NOTFOUND, 0);
	/* Base64 with non-zero bits under the padding ("Cik=" -> "Cil="): ssh-keygen refuses it. */
	char noncanon[] = "host " EC " " EC1 "\n";
	char *pad = strstr(noncanon, "Cik=");
	CHECK(pad != NULL);
	if (pad != NULL)
		pad[2] = 'l';
	CHECK_LOOKUP(check(noncanon, "host", 22, EC, &ec1), KH_NOTFOUND, 0);
	CHECK_LOOKUP(check("host " EC " " EC1 "\n", "host", 22, EC, &ec1), KH_MATCH, 1);
}

static void
test_line_ends(void)
{
	const char *crlf = "# crlf file\r\n"
			   "a " ED " " ED2 "\r\n"
			   "host " ED " " ED1 "\r\n";
	static const char nul[] = "host " ED " " ED2 "\0 trailing\n"
				  "ho\0st " ED " " ED1 "\n"
				  "host " ED " " ED1;

	CHECK_LOOKUP(check(crlf, "host", 22, ED, &ed1), KH_MATCH, 3);
	CHECK_LOOKUP(check("host " ED " " ED1, "host", 22, ED, &ed1), KH_MATCH, 1);
	CHECK_LOOKUP(
	    check("\n\nhost " ED " " ED1 " no newline", "host", 22, ED, &ed1), KH_MATCH, 3);
	CHECK_LOOKUP(check("", "host", 22, ED, &ed1), KH_NOTFOUND, 0);

	struct kh_lookup r;
	knownhosts_check(NULL, 0, "host", 22, ED, ed1.b, ed1.n, &r);
	CHECK_LOOKUP(r, KH_NOTFOUND, 0);
	/* A NUL ends its line's content; later lines still count. */
	knownhosts_check(nul, sizeof(nul) - 1, "host", 22, ED, ed1.b, ed1.n, &r);
	CHECK_LOOKUP(r, KH_MATCH, 3);
	knownhosts_check(nul, sizeof(nul) - 1, "host", 22, ED, ed2.b, ed2.n, &r);
	CHECK_LOOKUP(r, KH_MATCH, 1);
	/* len is obeyed: the final line cut short no longer parses. */
	knownhosts_check(nul, sizeof(nul) - 3, "host", 22, ED, ed1.b, ed1.n, &r);
	CHECK_LOOKUP(r, KH_MISMATCH, 1);
}

static void
test_long_lines(void)
{
	size_t pad = 5000;
	size_t cap = 3 * pad + 1024;
	char *text = malloc(cap);
	size_t n = 0;

	/* A 5000-character comment on a valid line, then a 5000-host pattern list. */
	n += (size_t)snprintf(text + n, cap - n, "host " ED " " ED2 " ");
	memset(text + n, 'c', pad);
	n += pad;
	text[n++] = '\n';
	for (size_t i = 0; i < pad / 5; i++)
		n += (size_t)snprintf(text + n, cap - n, "h%03zu,", i % 1000);
	n += (size_t)snprintf(text + n, cap - n, "far " ED " " ED1 "\n");
	/* A line of 5000 'x's must not be split into a line that parses. */
	memset(text + n, 'x', pad - 60);
	n += pad - 60;
	n += (size_t)snprintf(text + n, cap - n, " far " ED " " ED2 "\n");
	text[n] = '\0';

	CHECK_LOOKUP(check(text, "host", 22, ED, &ed1), KH_MISMATCH, 1);
	CHECK_LOOKUP(check(text, "far", 22, ED, &ed1), KH_MATCH, 2);
	CHECK_LOOKUP(check(text, "h999", 22, ED, &ed1), KH_MATCH, 2);
	CHECK_LOOKUP(check(text, "far", 22, ED, &ed2), KH_MISMATCH, 2);
	free(text);
}

static void
test_host_types(void)
{
	const char *text = "host " ED " " ED1 "\n"
			   "other " EC " " EC1 "\n"
			   "@revoked host " EC " " EC1 "\n"
			   "@cert-authority host " EC " " EC1 "\n"
			   "host,other " EC " " EC1 "\n"
			   "host " ED " " ED2 "\n"
			   "host ssh-rsa AAAAB3NzaC1yc2E\n" /* malformed: skipped */
			   "[host]:2222 " EC " " EC1 "\n";
	char out[64];

	CHECK_INT(knownhosts_host_types(text, strlen(text), "host", 22, out, sizeof(out), NULL), 2);
	CHECK_STR(out, ED "," EC);
	CHECK_INT(
	    knownhosts_host_types(text, strlen(text), "other", 22, out, sizeof(out), NULL), 1);
	CHECK_STR(out, EC);
	CHECK_INT(
	    knownhosts_host_types(text, strlen(text), "host", 2222, out, sizeof(out), NULL), 1);
	CHECK_STR(out, EC);
	CHECK_INT(
	    knownhosts_host_types(text, strlen(text), "nobody", 22, out, sizeof(out), NULL), 0);
	CHECK_STR(out, "");

	/* "ssh-ed25519" is 11 characters: 12 bytes hold it, 11 hold nothing. */
	CHECK_INT(knownhosts_host_types(text, strlen(text), "host", 22, out, 12, NULL), 1);
	CHECK_STR(out, ED);
	CHECK_INT(knownhosts_host_types(text, strlen(text), "host", 22, out, 11, NULL), 0);
	CHECK_STR(out, "");
	/* Room for the first and the comma, not all of the second. */
	CHECK_INT(knownhosts_host_types(text, strlen(text), "host", 22, out, 20, NULL), 1);
	CHECK_STR(out, ED);
	CHECK_INT(
	    knownhosts_host_types(text, strlen(text), "host", 22, out, strlen(ED "," EC) + 1, NULL),
	    2);
	CHECK_STR(out, ED "," EC);
	out[0] = 'x';
	CHECK_INT(knownhosts_host_types(text, strlen(text), "host", 22, out, 0, NULL), 0);
	CHECK(out[0] == 'x');

	const char *hashed = HASH_LOCAL_2222 " " ED " " ED1 "\n";
	CHECK_INT(knownhosts_host_types(
		      hashed, strlen(hashed), "127.0.0.1", 2222, out, sizeof(out), NULL),
	    1);
	CHECK_STR(out, ED);
}

static void
test_format(void)
{
	char line[512];
	unsigned char salt[20];
	int n;

	n = knownhosts_format_line(
	    "example.com", 22, ED, ed1.b, ed1.n, false, NULL, line, sizeof(line));
	CHECK_STR(line, "example.com " ED " " ED1 "\n");
	CHECK_INT(n, strlen(line));
	knownhosts_format_line(
	    "127.0.0.1", 2222, EC, ec1.b, ec1.n, false, NULL, line, sizeof(line));
	CHECK_STR(line, "[127.0.0.1]:2222 " EC " " EC1 "\n");
	knownhosts_format_line(
	    "Example.COM", 22, ED, ed1.b, ed1.n, false, NULL, line, sizeof(line));
	CHECK_STR(line, "example.com " ED " " ED1 "\n");

	/* With the salt ssh-keygen -H chose, the line is exactly what it wrote. */
	struct blob s;
	decode("a3VYLHEOZFEiMQBrLpv6AiqM7aQ=", &s);
	CHECK_INT(s.n, 20);
	memcpy(salt, s.b, sizeof(salt));
	n = knownhosts_format_line(
	    "127.0.0.1", 2222, ED, ed1.b, ed1.n, true, salt, line, sizeof(line));
	CHECK_STR(line, HASH_LOCAL_2222 " " ED " " ED1 "\n");

	/* Round trip with another salt. */
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)(i * 37 + 11);
	n = knownhosts_format_line("::1", 40022, EC, ec1.b, ec1.n, true, salt, line, sizeof(line));
	CHECK(n > 0);
	CHECK(strncmp(line, "|1|", 3) == 0);
	CHECK_LOOKUP(check(line, "::1", 40022, EC, &ec1), KH_MATCH, 1);
	CHECK_LOOKUP(check(line, "::1", 22, EC, &ec1), KH_NOTFOUND, 0);

	/* Exact fit, one byte short. */
	const char *want = "example.com " ED " " ED1 "\n";
	CHECK_INT(knownhosts_format_line(
		      "example.com", 22, ED, ed1.b, ed1.n, false, NULL, line, strlen(want) + 1),
	    strlen(want));
	CHECK_INT(knownhosts_format_line(
		      "example.com", 22, ED, ed1.b, ed1.n, false, NULL, line, strlen(want)),
	    -1);
	CHECK_INT(
	    knownhosts_format_line("example.com", 22, ED, ed1.b, ed1.n, true, salt, line, 60), -1);

	/* Names that would not read back as themselves are refused. */
	const char *bad[] = {"", "a b", "a,b", "*.lan", "h?st", "!host", "#host", "@revoked",
	    "|1|x", "new\nline", "tab\there"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(knownhosts_format_line(
			      bad[i], 22, ED, ed1.b, ed1.n, false, NULL, line, sizeof(line)),
		    -1);
	CHECK_INT(knownhosts_format_line(
		      "host", 22, "ssh ed25519", ed1.b, ed1.n, false, NULL, line, sizeof(line)),
	    -1);
	CHECK_INT(
	    knownhosts_format_line("host", 22, "", ed1.b, ed1.n, false, NULL, line, sizeof(line)),
	    -1);
	CHECK_INT(
	    knownhosts_format_line("host", 22, ED, ed1.b, 0, false, NULL, line, sizeof(line)), -1);
	CHECK_INT(
	    knownhosts_format_line("host", 22, ED, ed1.b, ed1.n, true, NULL, line, sizeof(line)),
	    -1);
}

static void
test_fingerprint(void)
{
	char fp[KNOWNHOSTS_FINGERPRINT_SIZE];

	knownhosts_fingerprint(ed1.b, ed1.n, fp, sizeof(fp));
	CHECK_STR(fp, "SHA256:QpsHiGY0KcJmeM0DaqoWGelXcYAU8DhrBImt99uH7/U");
	knownhosts_fingerprint(ec1.b, ec1.n, fp, sizeof(fp));
	CHECK_STR(fp, "SHA256:L0cIkxlf5qcA+9xRUJwTBzf6x5PhA9ft+AKHHQEKlCc");
	knownhosts_fingerprint(ed2.b, ed2.n, fp, sizeof(fp));
	CHECK_STR(fp, "SHA256:2isAmYV+JAmHKNnEjo5MCbUqqKPN5/zp9nsvacIlqgo");
	/* Too small: nothing rather than a prefix. */
	knownhosts_fingerprint(ed1.b, ed1.n, fp, sizeof(fp) - 1);
	CHECK_STR(fp, "");
}

/* knownhosts_pin: the host's keys rewritten under its plain name, for a file of their own. */
static void
test_pin(void)
{
	static char out[1024];
	static const char text[] = "# comment\n"
				   "other.example " ED " " ED2 "\n"
				   "Jump.Example,10.0.0.1 " ED " " ED1 " a comment\n"
				   "*.example " EC " " EC1 "\n"
				   "jump.example " ED " " ED1 "\n"
				   "jump.example " ED " AAAAnotakey\n"
				   "@cert-authority jump.example " ED " " ED2 "\n"
				   "@revoked * " ED " " ED2 "\n"
				   "jump.example " ED " " ED2 "\n";

	/* Patterns match; the repeat, the bad key, the CA line and the revoked key do not count. */
	CHECK_INT(knownhosts_pin(text, strlen(text), "jump.example", 22, out, sizeof(out)), 2);
	CHECK_STR(out, "jump.example " ED " " ED1 "\njump.example " EC " " EC1 "\n");
	CHECK_INT(knownhosts_pin(text, strlen(text), "JUMP.example", 0, out, sizeof(out)), 2);
	/* Another port: "[host]:port", which these lines do not name. */
	CHECK_INT(knownhosts_pin(text, strlen(text), "jump.example", 2222, out, sizeof(out)), 0);
	CHECK_STR(out, "");
	/* Hashed entries: the name comes back in the clear. */
	static const char hashed[] = HASH_LOCAL_2222 " " ED " " ED1 "\n";
	CHECK_INT(knownhosts_pin(hashed, strlen(hashed), "127.0.0.1", 2222, out, sizeof(out)), 1);
	CHECK_STR(out, "[127.0.0.1]:2222 " ED " " ED1 "\n");
	/* Too small: nothing rather than part of the keys; a host that cannot be written. */
	CHECK_INT(knownhosts_pin(text, strlen(text), "jump.example", 22, out, 100), -1);
	CHECK_STR(out, "");
	CHECK_INT(knownhosts_pin(text, strlen(text), "a b", 22, out, sizeof(out)), -1);
	CHECK_INT(knownhosts_pin(NULL, 0, "jump.example", 22, out, sizeof(out)), 0);
}

int
main(void)
{
	decode(ED1, &ed1);
	decode(ED2, &ed2);
	decode(EC1, &ec1);
	CHECK_INT(ed1.n, 51);
	CHECK_INT(ec1.n, 104);

	test_plain();
	test_ports();
	test_hashed();
	test_patterns();
	test_case();
	test_mismatch();
	test_markers();
	test_cert_authority();
	test_garbage();
	test_line_ends();
	test_long_lines();
	test_host_types();
	test_format();
	test_fingerprint();
	test_pin();
	return check_done("knownhosts");
}
