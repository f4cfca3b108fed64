/*
 * Unit tests for sshdconf.c and authkeys.c: sshd -T output (as OpenSSH 9
 * prints it) and sshd_config text (case, '=', comments, time units, first
 * value wins, Match blocks skipped and counted), the review's lines and its
 * count of what is missing, and authorized_keys lines with and without
 * "restrict" first.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "authkeys.h"
#include "check.h"
#include "sshdconf.h"

/* Excerpt of `sshd -T -C user=porthole` on Debian 12 with ClientAliveInterval 15. */
static const char dump[] = "port 22\n"
			   "addressfamily any\n"
			   "clientaliveinterval 15\n"
			   "clientalivecountmax 3\n"
			   "pubkeyauthentication yes\n"
			   "gatewayports no\n"
			   "allowtcpforwarding yes\n"
			   "disableforwarding no\n"
			   "authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n"
			   "permitopen any\n"
			   "permitlisten localhost:5900 localhost:5902\n";

struct said {
	int ok, missing;
	char text[4096];
};

static void
collect(bool ok, const char *line, void *arg)
{
	struct said *s = arg;

	if (ok)
		s->ok++;
	else
		s->missing++;
	snprintf(s->text + strlen(s->text), sizeof(s->text) - strlen(s->text), "%s%s\n",
	    ok ? "ok " : "NO ", line);
}

static int
review(const struct sshdconf *c, struct said *s)
{
	memset(s, 0, sizeof(*s));
	return sshdconf_review(c, 120, collect, s);
}

static void
test_dump(void)
{
	struct sshdconf c;
	struct said s;
	char err[200];

	CHECK_INT(sshdconf_parse(&c, dump, strlen(dump), SSHDCONF_DUMP, err, sizeof(err)), 0);
	CHECK_INT(c.client_alive_interval, 15);
	CHECK_INT(c.client_alive_count_max, 3);
	CHECK_STR(c.allow_tcp_forwarding, "yes");
	CHECK_STR(c.permit_listen, "localhost:5900 localhost:5902");
	CHECK_INT(c.lines, 9);
	CHECK_STR(c.authorized_keys_file, ".ssh/authorized_keys .ssh/authorized_keys2");
	CHECK_INT(review(&c, &s), 0);
	CHECK_INT(s.missing, 0);
	CHECK(strstr(s.text,
		  "ok ClientAliveInterval 15, ClientAliveCountMax 3: a silent client is "
		  "dropped after 45 s") != NULL);
	CHECK(strstr(s.text, "ok PermitListen localhost:5900 localhost:5902\n") != NULL);
}

static void
test_missing(void)
{
	static const char bad[] = "allowtcpforwarding local\n"
				  "gatewayports clientspecified\n"
				  "clientaliveinterval 0\n"
				  "permitlisten none\n"
				  "disableforwarding yes\n"
				  "pubkeyauthentication no\n";
	struct sshdconf c;
	struct said s;
	char err[200];

	CHECK_INT(sshdconf_parse(&c, bad, strlen(bad), SSHDCONF_DUMP, err, sizeof(err)), 0);
	CHECK_INT(review(&c, &s), 6);
	CHECK_INT(s.missing, 6);
	CHECK(strstr(s.text, "NO AllowTcpForwarding is local: ") != NULL);
	CHECK(strstr(s.text, "NO DisableForwarding is yes") != NULL);
	CHECK(strstr(s.text, "NO GatewayPorts is clientspecified: ") != NULL);
	CHECK(strstr(s.text, "NO PermitListen is none: ") != NULL);
	CHECK(strstr(s.text, "ok PermitOpen any\n") != NULL);
	CHECK(strstr(s.text, "NO PubkeyAuthentication is no") != NULL);
	CHECK(strstr(s.text, "NO ClientAliveInterval is 0: ") != NULL);
	/* Alive, but too slow for the limit asked. */
	static const char slow[] = "clientaliveinterval 60\nclientalivecountmax 5\n";
	CHECK_INT(sshdconf_parse(&c, slow, strlen(slow), SSHDCONF_DUMP, err, sizeof(err)), 0);
	CHECK_INT(review(&c, &s), 1);
	CHECK(strstr(s.text, "NO ClientAliveInterval 60 x ClientAliveCountMax 5 = 300 s") != NULL);
	/* CountMax 0 still drops after one interval. */
	static const char zero[] = "clientaliveinterval 30\nclientalivecountmax 0\n";
	CHECK_INT(sshdconf_parse(&c, zero, strlen(zero), SSHDCONF_DUMP, err, sizeof(err)), 0);
	CHECK_INT(review(&c, &s), 0);
}

static void
test_config_text(void)
{
	static const char text[] = "# Debian's sshd_config, with changes\r\n"
				   "  ClientAliveInterval=1m\r\n"
				   "clientaliveinterval 5\n"
				   "ALLOWTCPFORWARDING   remote   # comment? no: sshd reads it\n"
				   "ClientAliveCountMax = 2\n"
				   "GatewayPorts\tno\n"
				   "Match User porthole\n"
				   "    AllowTcpForwarding yes\n"
				   "    PermitListen none\n"
				   "Match all\n";
	struct sshdconf c;
	char err[200];

	CHECK_INT(sshdconf_parse(&c, text, strlen(text), SSHDCONF_CONFIG, err, sizeof(err)), 0);
	CHECK_INT(c.client_alive_interval, 60); /* the first value wins */
	CHECK_INT(c.client_alive_count_max, 2);
	CHECK_STR(c.allow_tcp_forwarding, "remote   # comment? no: sshd reads it");
	CHECK_STR(c.permit_listen, "any"); /* the Match block's is not applied */
	CHECK_INT(c.match_blocks, 2);
	/* The same lines in sshd -T form: Match means nothing there. */
	CHECK_INT(sshdconf_parse(&c, text, strlen(text), SSHDCONF_DUMP, err, sizeof(err)), 0);
	CHECK_INT(c.match_blocks, 0);
	/* Defaults when nothing is said. */
	CHECK_INT(sshdconf_parse(&c, "", 0, SSHDCONF_CONFIG, err, sizeof(err)), 0);
	CHECK_STR(c.allow_tcp_forwarding, "yes");
	CHECK_STR(c.gateway_ports, "no");
	CHECK_INT(c.client_alive_interval, 0);
	CHECK_INT(c.client_alive_count_max, 3);
	CHECK_STR(c.authorized_keys_file, ".ssh/authorized_keys .ssh/authorized_keys2");
	CHECK_INT(sshdconf_parse(&c, NULL, 0, SSHDCONF_DUMP, err, sizeof(err)), 0);
}

static void
test_bad_values(void)
{
	struct sshdconf c;
	char err[200];

	CHECK_INT(sshdconf_parse(
		      &c, "x 1\nclientaliveinterval soon\n", 29, SSHDCONF_DUMP, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "line 2: bad value 'soon' for ClientAliveInterval (seconds, e.g. 15, 1m)");
	CHECK_INT(
	    sshdconf_parse(&c, "ClientAliveCountMax -1\n", 23, SSHDCONF_CONFIG, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "line 1: bad value '-1' for ClientAliveCountMax (a number)");
	CHECK_INT(
	    sshdconf_parse(&c, "ClientAliveCountMax\n", 20, SSHDCONF_CONFIG, err, sizeof(err)), -1);
	/* Unknown keywords and a NUL inside are not errors. */
	CHECK_INT(sshdconf_parse(&c, "Frobnicate yes\nGatewayPorts yes\0no\n", 35, SSHDCONF_CONFIG,
		      err, sizeof(err)),
	    0);
	CHECK_STR(c.gateway_ports, "yes");
}

static void
test_authkeys(void)
{
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA9Uun2ThlRix9t2WUKVFteJJcdS mum"
	static const char good[] =
	    "# keys for porthole\n"
	    "\n"
	    "restrict,port-forwarding,permitlisten=\"localhost:5900\" " KEY "\n"
	    "  RESTRICT,command=\"porthole relay\" " KEY "\n"
	    "restrict " KEY "\n";
	CHECK_INT(authkeys_unrestricted(good, strlen(good)), 0);
	/* The wrapped line of issue 14: the key alone on the next line. */
	static const char wrapped[] = "restrict,port-forwarding,permitlisten=\"localhost:5900\",\n"
				      "  " KEY "\n";
	CHECK_INT(authkeys_unrestricted(wrapped, strlen(wrapped)), 2);
	static const char later[] = "restrict " KEY "\nport-forwarding,restrict " KEY "\n";
	CHECK_INT(authkeys_unrestricted(later, strlen(later)), 2);
	static const char prefix[] = "restricted " KEY "\n";
	CHECK_INT(authkeys_unrestricted(prefix, strlen(prefix)), 1);
	static const char other[] = "ecdsa-sha2-nistp256 AAAA x\n";
	CHECK_INT(authkeys_unrestricted(other, strlen(other)), 1);
	static const char cert[] = "restrict sk-ssh-ed25519@openssh.com AAAA\r\n";
	CHECK_INT(authkeys_unrestricted(cert, strlen(cert)), 0);
	CHECK_INT(authkeys_unrestricted(NULL, 0), 0);
}

int
main(void)
{
	test_dump();
	test_missing();
	test_config_text();
	test_bad_values();
	test_authkeys();
	return check_done("sshdconf");
}
