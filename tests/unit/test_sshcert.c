/*
 * Unit tests for sshcert: certificates made by ssh-keygen 9.2 (-s, -h, -n,
 * -V 20200101:20300101, -z, -t rsa-sha2-256 / ssh-rsa), parsed, checked as
 * host certificates at fixed times, and their CA signatures verified;
 * tampered and truncated blobs refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "sshcert.h"

/* Type: ssh-ed25519-cert-v01@openssh.com host certificate */
#define CERT_H1                                                                                    \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAINJ2VrPEjiVYszxSlAn/cB0GGYAosACQO4lG" \
	"MQYlVI1uAAAAIFA9mfbhBzWvuI6xIdKeP8YzBmU3oWPbV1tCR4eFrvjoAAAAAAAAACoAAAACAAAABWlkLWVkAAAA" \
	"HQAAAAxob3N0LmV4YW1wbGUAAAAJMTI3LjAuMC4xAAAAAF4L4QAAAAAAcNvYgAAAAAAAAAAAAAAAAAAAADMAAAAL" \
	"c3NoLWVkMjU1MTkAAAAgRN2EDOt8Er5cK75VHhZ4+cgbCBwHe3SEbsF/BvzdA0gAAABTAAAAC3NzaC1lZDI1NTE5" \
	"AAAAQKuV5LWDBlcYdF/nf6rVFtnq88pq/aMzg0H6twnU+BaO4EEyq0FLwMiPL98SRcD23xTyRGCJe5VpEt5S19Gr" \
	"BAU="

/* Type: ecdsa-sha2-nistp256-cert-v01@openssh.com host certificate */
#define CERT_H2                                                                                    \
	"AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg1eeC4PQuRW49HEM6Gi+YYAjN" \
	"EoBYnnlDHAmKEXc0bkkAAAAIbmlzdHAyNTYAAABBBK1s/Xfd57GSdDuSgSxZV7ieNjR3xWEgwCeOeXaIuruWusxp" \
	"q/sPVIVRNzyeabSgLtGJynI1wXNHQRVRY/2/Lb0AAAAAAAAAAAAAAAIAAAAFaWQtZWMAAAAFAAAAAWEAAAAAXgvh" \
	"AAAAAABw29iAAAAAAAAAAAAAAAAAAAAAiAAAABNlY2RzYS1zaGEyLW5pc3RwMzg0AAAACG5pc3RwMzg0AAAAYQQz" \
	"/ot+2IUmoNkmNwuWeeS/E7Pts9q9npdNyV9otl4ijyne4Ud82PDKukcyqc1gpIWcQlDjkdCS6Xej2B3DeRXbsN62" \
	"Ohpna2A3azsp7SO9ZmbZpdbcUdTtFJxK6NcR/u8AAACEAAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAABpAAAAMQCz" \
	"m+2yk4+O/k1QdfCh1frge/gayefH8yd00l+KuQesRNV9YkAT817Au+QQbfjSRW4AAAAwZoDND5UiEB4jiXvp23ND" \
	"XT48VADin4MXuQQwhQ5uZg6swaC36VNScioANN8WVw4P"

/* Type: ssh-rsa-cert-v01@openssh.com host certificate */
#define CERT_H3                                                                                    \
	"AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgnSXCz9UBjYZnR9gxT/o5Nvr/MUsuH97u1icd28Nl" \
	"GuMAAAADAQABAAABAQCE+0ZPYfwncUISSw2HdaKpKFBn+3sRuMxHP1/PEDWt/5rKZRJkzUydfqOwf5mufnkm1ZVs" \
	"Wahcqgl3X3bmMZcyeRgZdhMBAwNCLoFoFWIYPKHGmlFcubXlP9a9/SASCVep9lgTQ2D9u7PXJhDPZxiidOsNmAL6" \
	"7rJ0/yRckxPrSE6BIvzq4i71mxcNh6G+fX8tK9ej0oxMGK4b0yuVaTtCM3YAUEk1pJhg06+KEAAW3uMJwzIsmM8u" \
	"jhQRczdbn14ZUDiOdmPN7DGitYLvD8LLtpzcbCzNFlA9ehrSLzbpyG+XPvcJSElgCi0UYLpzA1i511quZZULoUJK" \
	"hENdPeeBAAAAAAAAAAAAAAACAAAACWlkLXJzYTUxMgAAAAUAAAABYQAAAABeC+EAAAAAAHDb2IAAAAAAAAAAAAAA" \
	"AAAAAAEXAAAAB3NzaC1yc2EAAAADAQABAAABAQDGaYc64q6xHx+ZZfSUiPbUiRWy8XAHhVeQqmJd67xCcSCMVvDh" \
	"rl79LYWqbWSy7ZgoIJT7Qz5nFRim8xG9MaK7CQ+ggBW87mGx6Y6ISoR+wMYfWyMV5LklyNXHsB580IxW+m8VmYnS" \
	"LQ6YhpOkHrR2GY/2gOuFM6wjwFF7wmpvLheHVwlibUpNWjViB7MQFVvXvo8BbQdG7Uh1CgXwEciYd0QukbCcwlQa" \
	"Gb+8laq9vS1N95aaa+C+ZUF85GRF5DKT+gg1+LRYGpgLuKg+WTtuFXKHY90TDo0JtYthrd/7OlnMbRBxuuHouoqx" \
	"a9PyP72pTjXdGwSjzT/+G8Zh9A43AAABFAAAAAxyc2Etc2hhMi01MTIAAAEAQxiWayN9kL41SykIAa+3k+p2N6TA" \
	"kqGCIL2ZxMnN+ElLMneLNET6+BASiTRbgPLolrSrRe20d42GdssXCTZ8Zwaz+YHdC++iyKyHExYOiqPosPyOD7ZJ" \
	"MA+R3YcmSyQMhACYXOxiWVDrowtzY5m10qZ270LWE6hmoEAp9BvGzlneKPcwgjrpj5cB+uKeqJt7JcaiT+hF1iSH" \
	"1pprTNeTVoIEtR+s/7SdCKnzRHO/azKoyvcEGKmUJhs+KPffUojTjSa3Ls17AMLRN/Dvsz2+XhGaVlDzmijZ74m4" \
	"dXlpyzSnlMFrPSxHhnri4f8ijnWKs36iFwayZ+uG1GFkdpVquw=="

/* Type: ssh-ed25519-cert-v01@openssh.com host certificate */
#define CERT_H4                                                                                    \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIEJbY3mP+nFpZz/PL+E0x8I+Z8iqzY+j9Lyk" \
	"TJyg+EJmAAAAIFA9mfbhBzWvuI6xIdKeP8YzBmU3oWPbV1tCR4eFrvjoAAAAAAAAAAAAAAACAAAACWlkLXJzYTI1" \
	"NgAAAAUAAAABYQAAAABeC+EAAAAAAHDb2IAAAAAAAAAAAAAAAAAAAAEXAAAAB3NzaC1yc2EAAAADAQABAAABAQDG" \
	"aYc64q6xHx+ZZfSUiPbUiRWy8XAHhVeQqmJd67xCcSCMVvDhrl79LYWqbWSy7ZgoIJT7Qz5nFRim8xG9MaK7CQ+g" \
	"gBW87mGx6Y6ISoR+wMYfWyMV5LklyNXHsB580IxW+m8VmYnSLQ6YhpOkHrR2GY/2gOuFM6wjwFF7wmpvLheHVwli" \
	"bUpNWjViB7MQFVvXvo8BbQdG7Uh1CgXwEciYd0QukbCcwlQaGb+8laq9vS1N95aaa+C+ZUF85GRF5DKT+gg1+LRY" \
	"GpgLuKg+WTtuFXKHY90TDo0JtYthrd/7OlnMbRBxuuHouoqxa9PyP72pTjXdGwSjzT/+G8Zh9A43AAABFAAAAAxy" \
	"c2Etc2hhMi0yNTYAAAEAb42X42DX2fDXSuqwSqN+80G2Mnebj3cZkIy6DsULWbZSmcHvwmQyHKGqZKl/o6jwl69s" \
	"jV5tt0OkydmwUby9TDkp+Ec47HYVvi2ZKZ5rOh8CwqdIyaMOomfoSTekqlQIzW8yOP1KYpDCAttVOYbj61/dv5/Q" \
	"U8doNnTxtT3Q5D/Fgo9g1z8QnvfWQb/QEMri1P58hcrZQNuNRGhx0bBTFGxF9VZdlm+EnwH3vwothumBuc1+5ab0" \
	"a6X543YAQx+IlKhdCQXHmKtJYCdVhVt/sn1laqM2LjaVwWIFIXE4DRu7qn2Lvg6z7ZJOSC6Xgv7Y44ZBXUPON1aS" \
	"x/kzVzqfdg=="

/* Type: ssh-ed25519-cert-v01@openssh.com host certificate */
#define CERT_H5                                                                                    \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIIxPvFhf4fOAPiFhEOMed74YHEzG1Tsd11Tq" \
	"epfvDHWXAAAAIFA9mfbhBzWvuI6xIdKeP8YzBmU3oWPbV1tCR4eFrvjoAAAAAAAAAAAAAAACAAAAB2lkLXNoYTEA" \
	"AAAFAAAAAWEAAAAAXgvhAAAAAABw29iAAAAAAAAAAAAAAAAAAAABFwAAAAdzc2gtcnNhAAAAAwEAAQAAAQEAxmmH" \
	"OuKusR8fmWX0lIj21IkVsvFwB4VXkKpiXeu8QnEgjFbw4a5e/S2Fqm1ksu2YKCCU+0M+ZxUYpvMRvTGiuwkPoIAV" \
	"vO5hsemOiEqEfsDGH1sjFeS5JcjVx7AefNCMVvpvFZmJ0i0OmIaTpB60dhmP9oDrhTOsI8BRe8Jqby4Xh1cJYm1K" \
	"TVo1YgezEBVb176PAW0HRu1IdQoF8BHImHdELpGwnMJUGhm/vJWqvb0tTfeWmmvgvmVBfORkReQyk/oINfi0WBqY" \
	"C7ioPlk7bhVyh2PdEw6NCbWLYa3f+zpZzG0Qcbrh6LqKsWvT8j+9qU413RsEo80//hvGYfQONwAAAQ8AAAAHc3No" \
	"LXJzYQAAAQAvEbRNtNZe3OoaXGcX8ILTdAcGboiL7j1Vs6QH8Rc94CiQniiGeQS63lBBOLmUZvovrXldVIE0fWga" \
	"LQLc07D/+d33cMVUpnFaRqYLAedSpLLXCBXdQK2IAYkxOkMDTnFtb66fDwBDzodVv1mSN3RNwMoXGJfIu90Qch/z" \
	"PyxBbGUO7cYxreTzGJy2UEtbDiWaPH8EigjXWQ7yIpsC6WT6ifyJ1Ui5r/J+PNFVFmmjZoiLVXPOoBEiVHilEnq1" \
	"3yC82OoCFHB9wCRPrCHH1XIcwSb9sjf7cPOj2KJj5yz5EeTdLwYWE9LnEFEM33CdcAGy1NdS4U1UylwFDc5Ofo64"

/* Type: ssh-ed25519-cert-v01@openssh.com user certificate */
#define CERT_U1                                                                                    \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAICfBI+qs5UO+zGt7KdBUN1Bmmi34lxqW8yEx" \
	"1H0AN+BPAAAAIFA9mfbhBzWvuI6xIdKeP8YzBmU3oWPbV1tCR4eFrvjoAAAAAAAAAAAAAAABAAAAB2lkLXVzZXIA" \
	"AAAFAAAAAWEAAAAAXgvhAAAAAABw29iAAAAAIgAAAA1mb3JjZS1jb21tYW5kAAAADQAAAAkvYmluL3RydWUAAACC" \
	"AAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBl" \
	"cm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAA" \
	"AAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIETdhAzrfBK+XCu+VR4WePnIGwgcB3t0hG7Bfwb83QNIAAAAUwAAAAtz" \
	"c2gtZWQyNTUxOQAAAEBk003mLCu2d4BHAp2OpNQ9T6zJTISKZ3djXdQEeePp3V6CqZRRp209c7MRckfxFyj1Ps+P" \
	"qgdyXgxg3izzdsAC"

/* Type: ecdsa-sha2-nistp521-cert-v01@openssh.com host certificate */
#define CERT_H6                                                                                    \
	"AAAAKGVjZHNhLXNoYTItbmlzdHA1MjEtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgI1m2P5OVxziZ1lAiOVjeTK5Y" \
	"LVDambUTUtP4KPibFKwAAAAIbmlzdHA1MjEAAACFBAAPAwoZ6Ds2CXbsuhWRe2koTGlR4+iiwfnDpzRM7Mt/rpmd" \
	"OFzWhK4/1NdJOHj+9Jv2KaG5wHJzBhzsseQHyjtw4QDjto9sobVCpcYSlgEE72eCBhWggrxGiC19Hnr80GJqffgu" \
	"9DiiQUfxmGnEx5hZmWyaXdxhVk5IRmVP/JphALazLgAAAAAAAAAAAAAAAgAAAAZpZC1hbnkAAAAAAAAAAAAAAAD/" \
	"/////////wAAAAAAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgRN2EDOt8Er5cK75VHhZ4+cgbCBwHe3SE" \
	"bsF/BvzdA0gAAABTAAAAC3NzaC1lZDI1NTE5AAAAQJVFwGVgHSJjMx5U8vZ6UktA6/GHSX8KMmn/+vJZkJuhFlSk" \
	"R0PQGIyfNWcFqs/nTfixnm74ZStNlgaAjW3Bwg8="

/* Type: ssh-ed25519-cert-v01@openssh.com host certificate */
#define CERT_H7                                                                                    \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIDijvZvIO0AU1OniDaTLxuJYadjDn+oW4fhr" \
	"I9p90Ap/AAAAIFA9mfbhBzWvuI6xIdKeP8YzBmU3oWPbV1tCR4eFrvjoAAAAAAAAAAAAAAACAAAACGlkLWVjLWVk" \
	"AAAABQAAAAFiAAAAAAAAAAD//////////wAAAAAAAAAAAAAAAAAAAIgAAAATZWNkc2Etc2hhMi1uaXN0cDM4NAAA" \
	"AAhuaXN0cDM4NAAAAGEEM/6LftiFJqDZJjcLlnnkvxOz7bPavZ6XTclfaLZeIo8p3uFHfNjwyrpHMqnNYKSFnEJQ" \
	"45HQkul3o9gdw3kV27DetjoaZ2tgN2s7Ke0jvWZm2aXW3FHU7RScSujXEf7vAAAAhAAAABNlY2RzYS1zaGEyLW5p" \
	"c3RwMzg0AAAAaQAAADEA+U+4dJvay2+bgVDqEM5Cj64qRJJkE5zsC4k1cUJO4yzu8/yEnJJwd58befrEQ5iqAAAA" \
	"MF3UfAf204Jhtp6Ykrbv1DSVQNG7LQhCwwPwObvraEb73f5N+FT+usCwmZ9zeIkpNw=="

#define PUB_CA_ED "AAAAC3NzaC1lZDI1NTE5AAAAIETdhAzrfBK+XCu+VR4WePnIGwgcB3t0hG7Bfwb83QNI"

#define PUB_CA_EC                                                                                  \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDP+i37YhSag2SY3C5Z55L8Ts+2z2r2el03J" \
	"X2i2XiKPKd7hR3zY8Mq6RzKpzWCkhZxCUOOR0JLpd6PYHcN5Fduw3rY6GmdrYDdrOyntI71mZtml1txR1O0UnEro" \
	"1xH+7w=="

#define PUB_CA_RSA                                                                                 \
	"AAAAB3NzaC1yc2EAAAADAQABAAABAQDGaYc64q6xHx+ZZfSUiPbUiRWy8XAHhVeQqmJd67xCcSCMVvDhrl79LYWq" \
	"bWSy7ZgoIJT7Qz5nFRim8xG9MaK7CQ+ggBW87mGx6Y6ISoR+wMYfWyMV5LklyNXHsB580IxW+m8VmYnSLQ6YhpOk" \
	"HrR2GY/2gOuFM6wjwFF7wmpvLheHVwlibUpNWjViB7MQFVvXvo8BbQdG7Uh1CgXwEciYd0QukbCcwlQaGb+8laq9" \
	"vS1N95aaa+C+ZUF85GRF5DKT+gg1+LRYGpgLuKg+WTtuFXKHY90TDo0JtYthrd/7OlnMbRBxuuHouoqxa9PyP72p" \
	"TjXdGwSjzT/+G8Zh9A43"

#define PUB_HOST_ED "AAAAC3NzaC1lZDI1NTE5AAAAIFA9mfbhBzWvuI6xIdKeP8YzBmU3oWPbV1tCR4eFrvjo"

#define PUB_HOST_EC                                                                                \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBK1s/Xfd57GSdDuSgSxZV7ieNjR3xWEgwCeO" \
	"eXaIuruWusxpq/sPVIVRNzyeabSgLtGJynI1wXNHQRVRY/2/Lb0="

#define PUB_HOST_EC521                                                                             \
	"AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAAPAwoZ6Ds2CXbsuhWRe2koTGlR4+iiwfnD" \
	"pzRM7Mt/rpmdOFzWhK4/1NdJOHj+9Jv2KaG5wHJzBhzsseQHyjtw4QDjto9sobVCpcYSlgEE72eCBhWggrxGiC19" \
	"Hnr80GJqffgu9DiiQUfxmGnEx5hZmWyaXdxhVk5IRmVP/JphALazLg=="

#define PUB_HOST_RSA                                                                               \
	"AAAAB3NzaC1yc2EAAAADAQABAAABAQCE+0ZPYfwncUISSw2HdaKpKFBn+3sRuMxHP1/PEDWt/5rKZRJkzUydfqOw" \
	"f5mufnkm1ZVsWahcqgl3X3bmMZcyeRgZdhMBAwNCLoFoFWIYPKHGmlFcubXlP9a9/SASCVep9lgTQ2D9u7PXJhDP" \
	"ZxiidOsNmAL67rJ0/yRckxPrSE6BIvzq4i71mxcNh6G+fX8tK9ej0oxMGK4b0yuVaTtCM3YAUEk1pJhg06+KEAAW" \
	"3uMJwzIsmM8ujhQRczdbn14ZUDiOdmPN7DGitYLvD8LLtpzcbCzNFlA9ehrSLzbpyG+XPvcJSElgCi0UYLpzA1i5" \
	"11quZZULoUJKhENdPeeB"

#define T2020 1577836800ULL /* 2020-01-01 00:00:00 UTC */
#define T2030 1893456000ULL /* 2030-01-01 00:00:00 UTC */
#define NOW 1764900000ULL   /* 2025-12-05 */

struct blob {
	unsigned char b[2048];
	size_t n;
};

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

static char err[512];

/* Parses b64 into c (its blob in *bl); returns sshcert_parse's result. */
static int
parse(const char *b64, struct blob *bl, struct sshcert *c)
{
	decode(b64, bl);
	err[0] = '\0';
	return sshcert_parse(bl->b, bl->n, c, err, sizeof(err));
}

static bool
same(const struct sshcert_field *f, const struct blob *b)
{
	return f->len == b->n && memcmp(f->p, b->b, b->n) == 0;
}

static void
test_ed25519_host(void)
{
	struct blob bl, ca, host;
	struct sshcert c;
	char p[64];

	CHECK_INT(parse(CERT_H1, &bl, &c), 0);
	CHECK_STR(c.type, "ssh-ed25519-cert-v01@openssh.com");
	CHECK_STR(c.key_type, "ssh-ed25519");
	CHECK_INT(c.nonce.len, 32);
	CHECK(c.serial == 42);
	CHECK_INT(c.cert_type, SSHCERT_TYPE_HOST);
	CHECK(c.key_id.len == 5 && memcmp(c.key_id.p, "id-ed", 5) == 0);
	CHECK_INT(c.n_principals, 2);
	CHECK(sshcert_principal(&c, 0, p, sizeof(p)));
	CHECK_STR(p, "host.example");
	CHECK(sshcert_principal(&c, 1, p, sizeof(p)));
	CHECK_STR(p, "127.0.0.1");
	CHECK(!sshcert_principal(&c, 2, p, sizeof(p)));
	CHECK(c.valid_after == T2020 && c.valid_before == T2030);
	CHECK_INT(c.critical_options.len, 0);
	CHECK(c.extensions.len == 0 && c.reserved.len == 0);
	decode(PUB_CA_ED, &ca);
	CHECK(same(&c.signature_key, &ca));
	CHECK(c.signed_len + 4 + c.signature.len == bl.n);

	/* The certified key is the host's own. */
	decode(PUB_HOST_ED, &host);
	size_t n;
	unsigned char *plain = sshcert_plain_key(&c, &n);
	CHECK(n == host.n && memcmp(plain, host.b, n) == 0);
	free(plain);

	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);
	CHECK_INT(sshcert_check_host(&c, "host.example", NOW, err, sizeof(err)), 0);
	CHECK_INT(sshcert_check_host(&c, "127.0.0.1", NOW, err, sizeof(err)), 0);
	CHECK_INT(sshcert_check_host(&c, "127.0.0.1", T2020, err, sizeof(err)), 0);

	/* ssh's checks: principal (exact, case-sensitive), validity window. */
	CHECK_INT(sshcert_check_host(&c, "other.example", NOW, err, sizeof(err)), -1);
	CHECK_STR(err, "name 'other.example' is not a listed principal (host.example, 127.0.0.1)");
	CHECK_INT(sshcert_check_host(&c, "HOST.example", NOW, err, sizeof(err)), -1);
	CHECK_INT(sshcert_check_host(&c, "*", NOW, err, sizeof(err)), -1);
	CHECK_INT(sshcert_check_host(&c, "127.0.0.1", T2030, err, sizeof(err)), -1);
	CHECK_STR(err, "expired (valid until 2030-01-01 00:00:00 UTC)");
	CHECK_INT(sshcert_check_host(&c, "127.0.0.1", T2020 - 1, err, sizeof(err)), -1);
	CHECK_STR(err, "not yet valid (valid from 2020-01-01 00:00:00 UTC)");
}

static void
test_other_algorithms(void)
{
	struct blob bl, ca, host;
	struct sshcert c;

	/* ECDSA P-256 host key, ECDSA P-384 CA. */
	CHECK_INT(parse(CERT_H2, &bl, &c), 0);
	CHECK_STR(c.key_type, "ecdsa-sha2-nistp256");
	decode(PUB_CA_EC, &ca);
	CHECK(same(&c.signature_key, &ca));
	decode(PUB_HOST_EC, &host);
	size_t n;
	unsigned char *plain = sshcert_plain_key(&c, &n);
	CHECK(n == host.n && memcmp(plain, host.b, n) == 0);
	free(plain);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);

	/* RSA host key, RSA CA signing with rsa-sha2-512. */
	CHECK_INT(parse(CERT_H3, &bl, &c), 0);
	CHECK_STR(c.type, "ssh-rsa-cert-v01@openssh.com");
	CHECK_STR(c.key_type, "ssh-rsa");
	decode(PUB_HOST_RSA, &host);
	plain = sshcert_plain_key(&c, &n);
	CHECK(n == host.n && memcmp(plain, host.b, n) == 0);
	free(plain);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);

	/* rsa-sha2-256. */
	CHECK_INT(parse(CERT_H4, &bl, &c), 0);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);

	/* ssh-rsa (SHA-1) signatures are refused, as ssh's CASignatureAlgorithms does. */
	CHECK_INT(parse(CERT_H5, &bl, &c), 0);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), -1);
	CHECK_STR(err, "CA key type 'ssh-rsa' with signature algorithm 'ssh-rsa' is not accepted");

	/* ECDSA P-521 host key, no principals (any name), valid forever. */
	CHECK_INT(parse(CERT_H6, &bl, &c), 0);
	CHECK_STR(c.key_type, "ecdsa-sha2-nistp521");
	CHECK_INT(c.n_principals, 0);
	CHECK(c.valid_after == 0 && c.valid_before == UINT64_MAX);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);
	CHECK_INT(sshcert_check_host(&c, "anything", NOW, err, sizeof(err)), 0);
	CHECK_INT(sshcert_check_host(&c, "anything", UINT64_MAX - 1, err, sizeof(err)), 0);

	/* ed25519 host key, ECDSA CA. */
	CHECK_INT(parse(CERT_H7, &bl, &c), 0);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);
}

static void
test_user_cert(void)
{
	struct blob bl;
	struct sshcert c;

	CHECK_INT(parse(CERT_U1, &bl, &c), 0);
	CHECK_INT(c.cert_type, SSHCERT_TYPE_USER);
	CHECK(c.critical_options.len > 0); /* force-command */
	CHECK(c.extensions.len > 0);	   /* permit-pty and friends */
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), 0);
	CHECK_INT(sshcert_check_host(&c, "a", NOW, err, sizeof(err)), -1);
	CHECK_STR(err, "not a host certificate (a user certificate)");
}

static void
test_tampered(void)
{
	struct blob bl;
	struct sshcert c;

	/* A changed byte in the key id: still parses, the signature no longer holds. */
	decode(CERT_H1, &bl);
	unsigned char *id = NULL;
	for (size_t i = 0; i + 5 <= bl.n && id == NULL; i++)
		if (memcmp(bl.b + i, "id-ed", 5) == 0)
			id = bl.b + i;
	CHECK(id != NULL);
	id[3] = 'E';
	CHECK_INT(sshcert_parse(bl.b, bl.n, &c, err, sizeof(err)), 0);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), -1);
	CHECK_STR(err, "the CA's signature on the certificate is not valid");

	/* A different valid_before: the same. */
	CHECK_INT(parse(CERT_H2, &bl, &c), 0);
	size_t at = (size_t)((const unsigned char *)&c.critical_options.p[-4] - bl.b) - 8;
	bl.b[at + 7] ^= 1;
	CHECK_INT(sshcert_parse(bl.b, bl.n, &c, err, sizeof(err)), 0);
	CHECK(c.valid_before == T2030 + 1 || c.valid_before == T2030 - 1);
	CHECK_INT(sshcert_verify(bl.b, &c, err, sizeof(err)), -1);

	/* Every truncation is refused, never read past. */
	decode(CERT_H3, &bl);
	for (size_t n = 0; n < bl.n; n++) {
		unsigned char *copy = malloc(n + 1);
		memcpy(copy, bl.b, n);
		CHECK_INT(sshcert_parse(copy, n, &c, err, sizeof(err)), -1);
		free(copy);
	}
	CHECK_STR(err, "truncated certificate");

	/* Bytes after the signature. */
	decode(CERT_H1, &bl);
	bl.b[bl.n++] = 0;
	CHECK_INT(sshcert_parse(bl.b, bl.n, &c, err, sizeof(err)), -1);
	CHECK_STR(err, "certificate has 1 bytes after its signature");

	/* A plain key is not a certificate. */
	decode(PUB_HOST_ED, &bl);
	CHECK_INT(sshcert_parse(bl.b, bl.n, &c, err, sizeof(err)), -1);
	CHECK_STR(err, "unsupported certificate type 'ssh-ed25519'");
}

static void
test_cert_type_names(void)
{
	CHECK(sshcert_is_cert_type("ssh-ed25519-cert-v01@openssh.com", 32));
	CHECK(!sshcert_is_cert_type("ssh-ed25519", 11));
	CHECK(!sshcert_is_cert_type("-cert-v01@openssh.com", 21));
	char t[64];
	sshcert_format_time(0, t, sizeof(t));
	CHECK_STR(t, "always");
	sshcert_format_time(UINT64_MAX, t, sizeof(t));
	CHECK_STR(t, "forever");
	sshcert_format_time(T2020, t, sizeof(t));
	CHECK_STR(t, "2020-01-01 00:00:00 UTC");
}

int
main(void)
{
	test_ed25519_host();
	test_other_algorithms();
	test_user_cert();
	test_tampered();
	test_cert_type_names();
	return check_done("sshcert");
}
