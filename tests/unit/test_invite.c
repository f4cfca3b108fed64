/*
 * Unit tests for invitetext.c: the family machine's and the helper's
 * profiles as the config parser reads them back, the authorized_keys lines
 * (one line, restrict first, the permit lists), the setup script's
 * here-documents, and everything refused: names, hosts, relay paths, keys
 * that are not one line, texts that would end a here-document early.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "config.h"
#include "invitetext.h"

#define PUB "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA9Uun2ThlRix9t2WUKVFteJJcdS+aRWVDYLlAZwZrx3"
#define PRIV                                                                                       \
	"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"                  \
	"-----END OPENSSH PRIVATE KEY-----\n"
#define KH "jump.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA9Uun2ThlRix9t2WUKVFteJJcdS\n"

static char out[65536];

static struct invite_plan
plan(void)
{
	struct invite_plan p = {
	    .name = "mum",
	    .family = "helper",
	    .host = "jump.example",
	    .user = "porthole",
	    .port = 22,
	    .vnc_port = 5900,
	    .jump_vnc_port = 5900,
	    .ard_port = 3283,
	    .relay = "porthole",
	};
	return p;
}

/* The value config_parse reads for keyword in the only profile of text, or NULL. */
static const char *
read_back(const char *text, const char *keyword, size_t nth)
{
	static char value[1024];
	struct config c;
	const char *found = NULL;

	config_init(&c);
	config_parse(&c, "t", text, strlen(text));
	CHECK_INT(c.n_errors, 0);
	if (c.n_profiles == 1) {
		for (size_t i = 0; i < c.profiles[0].n_entries; i++) {
			if (strcasecmp(c.profiles[0].entries[i].keyword, keyword) == 0 &&
			    nth-- == 0) {
				snprintf(
				    value, sizeof(value), "%s", c.profiles[0].entries[i].value);
				found = value;
				break;
			}
		}
	}
	config_free(&c);
	return found;
}

static void
test_family_profile(void)
{
	struct invite_plan p = plan();

	p.port = 2222;
	p.jump_vnc_port = 5902;
	p.ard_port = 3284;
	CHECK_INT(invitetext_family_profile(&p, out, sizeof(out)), 0);
	CHECK(strncmp(out, "# >>> porthole invite: helper\n", 30) == 0);
	CHECK(strstr(out, "\n# <<< porthole invite: helper\n") != NULL);
	CHECK_STR(read_back(out, "HostName", 0), "jump.example");
	CHECK_STR(read_back(out, "Port", 0), "2222");
	CHECK_STR(read_back(out, "User", 0), "porthole");
	CHECK_STR(read_back(out, "IdentityFile", 0), "~/.ssh/porthole_helper");
	CHECK_STR(read_back(out, "IdentitiesOnly", 0), "yes");
	CHECK_STR(read_back(out, "UserKnownHostsFile", 0), "~/.ssh/porthole_helper.known_hosts");
	CHECK_STR(read_back(out, "GlobalKnownHostsFile", 0), "none");
	CHECK_STR(read_back(out, "StrictHostKeyChecking", 0), "yes");
	CHECK_STR(read_back(out, "RemoteForward", 0), "5902 localhost:5900");
	CHECK_STR(read_back(out, "RemoteForward", 1), "3284 localhost:3283/udp");
	CHECK(read_back(out, "RemoteForward", 2) == NULL);
	CHECK(read_back(out, "NotifyOnConnect", 0) == NULL);
	CHECK(read_back(out, "ConfirmConnect", 0) == NULL);
	p.notify = p.confirm = true;
	CHECK_INT(invitetext_family_profile(&p, out, sizeof(out)), 0);
	CHECK_STR(read_back(out, "NotifyOnConnect", 0), "yes");
	CHECK_STR(read_back(out, "ConfirmConnect", 0), "yes");
	p.ard_port = 0;
	CHECK_INT(invitetext_family_profile(&p, out, sizeof(out)), 0);
	CHECK(read_back(out, "RemoteForward", 1) == NULL);
	CHECK_INT(invitetext_family_profile(&p, out, 100), -1);
	CHECK_STR(out, "");
}

static void
test_helper_profile(void)
{
	struct invite_plan p = plan();

	p.helper_identity = "/home/a b/#keys/id=1";
	p.helper_known_hosts = "/tmp/bundle/known_hosts";
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), 0);
	CHECK(strstr(out, "\nProfile mum\n") != NULL);
	/* Blanks, '#' and '=' are quoted, and read back whole. */
	CHECK_STR(read_back(out, "IdentityFile", 0), "/home/a b/#keys/id=1");
	CHECK(strstr(out, "IdentityFile \"/home/a b/#keys/id=1\"\n") != NULL);
	CHECK_STR(read_back(out, "UserKnownHostsFile", 0), "/tmp/bundle/known_hosts");
	CHECK_STR(read_back(out, "StrictHostKeyChecking", 0), "yes");
	CHECK_STR(read_back(out, "LocalForward", 0), "5900 localhost:5900");
	CHECK_STR(read_back(out, "LocalForward", 1), "3283 localhost:3283/udp");
	CHECK(read_back(out, "ForwardAccess", 0) == NULL);
	p.forward_access = true;
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), 0);
	CHECK_STR(read_back(out, "ForwardAccess", 0), "owner");
	p.forward_access = false;
	/* What cannot be written safely is refused, not mangled. */
	p.helper_identity = "/home/\"x\"/id";
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), -1);
	p.helper_identity = "/home/x/id\n";
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), -1);
	p.helper_identity = "/home/%d/id"; /* ssh's tokens and ${VAR} would be expanded */
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), -1);
	p.helper_identity = "/home/${HOME}/id";
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), -1);
	p.helper_identity = NULL;
	p.helper_known_hosts = "/a b/known_hosts"; /* a list of files: a blank splits it */
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), -1);
	p.helper_known_hosts = NULL;
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), 0);
	CHECK(strstr(out, "IdentityFile") == NULL && strstr(out, "KnownHosts") == NULL);
}

static void
test_key_lines(void)
{
	struct invite_plan p = plan();

	CHECK_INT(invitetext_key_line(&p, true, PUB " mum's laptop\n", out, sizeof(out)), 0);
	CHECK_STR(out,
	    "restrict,port-forwarding,permitlisten=\"localhost:5900\",command=\"porthole "
	    "relay --permit-listen 3283 --permit-open none\" " PUB " mum's laptop\n");
	CHECK_INT(invitetext_key_line(&p, false, PUB, out, sizeof(out)), 0);
	CHECK_STR(out,
	    "restrict,port-forwarding,permitopen=\"localhost:5900\",command=\"porthole "
	    "relay --permit-listen none --permit-open localhost:3283\" " PUB "\n");
	p.ard_port = 0;
	p.jump_vnc_port = 5902;
	p.relay = "/usr/local/bin/porthole";
	CHECK_INT(invitetext_key_line(&p, true, PUB "\n", out, sizeof(out)), 0);
	CHECK_STR(out,
	    "restrict,port-forwarding,permitlisten=\"localhost:5902\",command=\"/usr/"
	    "local/bin/porthole relay --permit-listen none --permit-open none\" " PUB "\n");
	/* Not one key line: two lines, a control character, no base64, an options prefix. */
	CHECK_INT(invitetext_key_line(&p, true, PUB "\n" PUB "\n", out, sizeof(out)), -1);
	CHECK_STR(out, "");
	CHECK_INT(invitetext_key_line(&p, true, PUB " a\tb", out, sizeof(out)), -1);
	CHECK_INT(invitetext_key_line(&p, true, "ssh-ed25519 !!!", out, sizeof(out)), -1);
	CHECK_INT(invitetext_key_line(&p, true, "command=\"sh\" " PUB, out, sizeof(out)), -1);
	CHECK_INT(invitetext_key_line(&p, true, "", out, sizeof(out)), -1);
	/* A relay path that would break out of command="...". */
	p.relay = "porthole\" sh";
	CHECK_INT(invitetext_key_line(&p, true, PUB, out, sizeof(out)), -1);
	p.relay = "a;b";
	CHECK_INT(invitetext_key_line(&p, true, PUB, out, sizeof(out)), -1);
}

/* A presence port: PresenceListen / PresenceCheck in the profiles, and allowed in the keys. */
static void
test_presence(void)
{
	struct invite_plan p = plan();
	char err[200];

	p.presence_port = 6000;
	CHECK_INT(invitetext_family_profile(&p, out, sizeof(out)), 0);
	CHECK_STR(read_back(out, "PresenceListen", 0), "6000");
	CHECK(read_back(out, "PresenceCheck", 0) == NULL);
	CHECK_INT(invitetext_helper_profile(&p, out, sizeof(out)), 0);
	CHECK_STR(read_back(out, "PresenceCheck", 0), "6000");
	CHECK(read_back(out, "PresenceListen", 0) == NULL);
	CHECK_INT(invitetext_key_line(&p, true, PUB "\n", out, sizeof(out)), 0);
	CHECK_STR(out,
	    "restrict,port-forwarding,permitlisten=\"localhost:5900\","
	    "permitlisten=\"localhost:6000\",command=\"porthole relay --permit-listen 3283 "
	    "--permit-open none\" " PUB "\n");
	CHECK_INT(invitetext_key_line(&p, false, PUB "\n", out, sizeof(out)), 0);
	CHECK_STR(out,
	    "restrict,port-forwarding,permitopen=\"localhost:5900\","
	    "permitopen=\"localhost:6000\",command=\"porthole relay --permit-listen none "
	    "--permit-open localhost:3283\" " PUB "\n");
	p.presence_port = 5900;
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	CHECK_STR(err,
	    "the presence port must be 1-65535 and differ from the jump host's VNC and ARD ports");
	p.presence_port = 3283;
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	/* None: nothing written. */
	p.presence_port = 0;
	CHECK_INT(invitetext_family_profile(&p, out, sizeof(out)), 0);
	CHECK(strstr(out, "Presence") == NULL);
}

static void
test_check(void)
{
	struct invite_plan p = plan();
	char err[200];

	CHECK_INT(invitetext_check(&p, err, sizeof(err)), 0);
	p.name = "relay?";
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	CHECK(strstr(err, "profile name") != NULL);
	p = plan();
	p.family = "";
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	p = plan();
	p.host = "-oProxyCommand=x";
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	p.host = "jump example";
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	p.host = "2001:db8::1";
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), 0);
	p = plan();
	p.user = "a b";
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	p = plan();
	p.vnc_port = 0;
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
	p = plan();
	p.ard_port = 70000;
	CHECK_INT(invitetext_check(&p, err, sizeof(err)), -1);
}

static void
test_script(void)
{
	struct invite_plan p = plan();

	CHECK_INT(invitetext_setup_script(&p, PRIV, PUB "\n", KH, out, sizeof(out)), 0);
	CHECK(strncmp(out, "#!/bin/sh\n", 10) == 0);
	CHECK(strstr(out, "\nset -eu\n") != NULL);
	CHECK(strstr(out, "<<'PORTHOLE_INVITE_EOF'\n" PRIV "PORTHOLE_INVITE_EOF\n") != NULL);
	CHECK(strstr(out, "<<'PORTHOLE_INVITE_EOF'\n" KH "PORTHOLE_INVITE_EOF\n") != NULL);
	CHECK(strstr(out, "chmod 600 \"$key.tmp\"\n") != NULL);
	CHECK(strstr(out, "\nProfile helper\n") != NULL);
	CHECK(strstr(out, "\nporthole service install helper\n") != NULL);
	/* A '.' in the name is a literal in the grep pattern that finds another profile. */
	p.family = "mum.pc";
	CHECK_INT(invitetext_setup_script(&p, PRIV, PUB "\n", KH, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"?mum\\.pc\"?") != NULL);
	p = plan();
	/* A text that would end its here-document early, or without a final newline. */
	CHECK_INT(invitetext_setup_script(
		      &p, PRIV, PUB "\n", "x\nPORTHOLE_INVITE_EOF\nrm -rf ~\n", out, sizeof(out)),
	    -1);
	CHECK_STR(out, "");
	CHECK_INT(invitetext_setup_script(&p, PRIV, PUB, KH, out, sizeof(out)), -1);
	CHECK_INT(invitetext_setup_script(&p, PRIV, PUB "\r\n", KH, out, sizeof(out)), -1);
	CHECK_INT(invitetext_setup_script(&p, PRIV, PUB "\n", KH, out, 500), -1);
	CHECK_STR(out, "");
}

static void
test_key_path(void)
{
	struct invite_plan p = plan();
	char path[64];

	CHECK_INT(invitetext_family_key_path(&p, path, sizeof(path)), 0);
	CHECK_STR(path, "~/.ssh/porthole_helper");
	CHECK_INT(invitetext_family_key_path(&p, path, 10), -1);
	p.family = "../x";
	CHECK_INT(invitetext_family_key_path(&p, path, sizeof(path)), -1);
}

int
main(void)
{
	test_family_profile();
	test_helper_profile();
	test_key_lines();
	test_check();
	test_presence();
	test_script();
	test_key_path();
	return check_done("invite");
}
