/*
 * Invitation texts. Each writer appends to a fixed buffer and remembers
 * whether anything did not fit or could not be written safely, so the text
 * functions read top to bottom like the files they make and check once at
 * the end (as servicefile.c does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "invitetext.h"
#include "servicefile.h"
#include "textout.h"
#include "xmalloc.h"

/* The line that ends every here-document of the setup script. */
#define HEREDOC_END "PORTHOLE_INVITE_EOF"

/* Room for the family profile: names and a host are short. */
#define PROFILE_MAX 4096

static bool
all_of(const char *s, const char *extra)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr(extra, c) != NULL))
			return false;
	}
	return true;
}

/* A path the config file can hold: no quote, no control character, no '%'. */
static bool
path_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '%' || *p == '$')
			return false;
	return true;
}

static bool
port_ok(int port)
{
	return port >= 1 && port <= 65535;
}

static int
fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

int
invitetext_check(const struct invite_plan *p, char *err, size_t errlen)
{
	if (!servicefile_name_ok(p->name) || !servicefile_name_ok(p->family))
		return fail(err, errlen, "a profile name is 1-64 letters, digits, '.', '_' or '-'");
	if (!all_of(p->host, ".-:") || p->host[0] == '-')
		return fail(err, errlen,
		    "the jump host must be a host name or an address (letters, digits, '.', '-', "
		    "':')");
	if (!all_of(p->user, "._-") || p->user[0] == '-')
		return fail(err, errlen,
		    "the jump host's user must be letters, digits, '.', '_' "
		    "or '-'");
	if (!port_ok(p->port) || !port_ok(p->vnc_port) || !port_ok(p->jump_vnc_port) ||
	    (p->ard_port != 0 && !port_ok(p->ard_port)))
		return fail(err, errlen, "a port is out of range (1-65535)");
	if (p->presence_port != 0 &&
	    (!port_ok(p->presence_port) || p->presence_port == p->jump_vnc_port ||
		p->presence_port == p->ard_port))
		return fail(err, errlen,
		    "the presence port must be 1-65535 and differ from the jump host's VNC and "
		    "ARD ports");
	if (!all_of(p->relay, "/._+-"))
		return fail(
		    err, errlen, "the relay program's path must be letters, digits and '/._+-'");
	if ((p->helper_identity != NULL && !path_ok(p->helper_identity)) ||
	    (p->helper_known_hosts != NULL &&
		(!path_ok(p->helper_known_hosts) || strpbrk(p->helper_known_hosts, " \t"))))
		return fail(err, errlen,
		    "a path cannot be written into the profile (a quote, '%', '$', a control "
		    "character, or a blank in a known_hosts path)");
	return 0;
}

static bool
plan_ok(const struct invite_plan *p)
{
	char err[160];

	return invitetext_check(p, err, sizeof(err)) == 0;
}

int
invitetext_family_key_path(const struct invite_plan *p, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "~/.ssh/porthole_%s", p->family);

	if (!servicefile_name_ok(p->family) || n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* "    Keyword value\n", the value in double quotes when the parser needs them. */
static void
put_setting(struct textout *t, const char *keyword, const char *value)
{
	bool quote = value[0] == '\0' || strpbrk(value, " \t#=") != NULL;

	if (!path_ok(value) && value[0] != '\0')
		t->failed = true;
	textout_str(t, "    ");
	textout_str(t, keyword);
	textout_str(t, quote ? " \"" : " ");
	textout_str(t, value);
	textout_str(t, quote ? "\"\n" : "\n");
}

static void
put_port_setting(struct textout *t, const char *keyword, int port)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", port);
	put_setting(t, keyword, buf);
}

static void
put_jump(struct textout *t, const struct invite_plan *p)
{
	put_setting(t, "HostName", p->host);
	put_port_setting(t, "Port", p->port);
	put_setting(t, "User", p->user);
}

/* "PORT localhost:TARGET[/udp]", as a forward keyword's value. */
static void
put_forward(struct textout *t, const char *keyword, int port, int target, bool udp)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%d localhost:%d%s", port, target, udp ? "/udp" : "");
	textout_str(t, "    ");
	textout_str(t, keyword);
	textout_str(t, " ");
	textout_str(t, buf);
	textout_str(t, "\n");
}

int
invitetext_family_profile(const struct invite_plan *p, char *out, size_t outlen)
{
	struct textout t;
	char key[CONFIG_NAME_MAX + 32];

	textout_init(&t, out, outlen);
	t.failed |= !plan_ok(p) || invitetext_family_key_path(p, key, sizeof(key)) == -1;
	if (t.failed)
		return textout_finish(&t);
	textout_str(&t, "# >>> porthole invite: ");
	textout_str(&t, p->family);
	textout_str(&t, "\n# Written by 'porthole invite ");
	textout_str(&t, p->name);
	textout_str(&t, "' on the helper's machine; running the setup script again replaces it.\n");
	textout_str(&t, "Profile ");
	textout_str(&t, p->family);
	textout_str(&t, "\n");
	put_jump(&t, p);
	put_setting(&t, "IdentityFile", key);
	put_setting(&t, "IdentitiesOnly", "yes");
	textout_str(&t, "    UserKnownHostsFile ");
	textout_str(&t, key);
	textout_str(&t, ".known_hosts\n");
	put_setting(&t, "GlobalKnownHostsFile", "none");
	put_setting(&t, "StrictHostKeyChecking", "yes");
	if (p->notify)
		put_setting(&t, "NotifyOnConnect", "yes");
	if (p->confirm)
		put_setting(&t, "ConfirmConnect", "yes");
	put_forward(&t, "RemoteForward", p->jump_vnc_port, p->vnc_port, false);
	if (p->ard_port != 0)
		put_forward(&t, "RemoteForward", p->ard_port, INVITETEXT_ARD_PORT, true);
	if (p->presence_port != 0)
		put_port_setting(&t, "PresenceListen", p->presence_port);
	textout_str(&t, "# <<< porthole invite: ");
	textout_str(&t, p->family);
	textout_str(&t, "\n");
	return textout_finish(&t);
}

int
invitetext_helper_profile(const struct invite_plan *p, char *out, size_t outlen)
{
	struct textout t;

	textout_init(&t, out, outlen);
	t.failed |= !plan_ok(p);
	if (t.failed)
		return textout_finish(&t);
	textout_str(&t, "# Written by 'porthole invite ");
	textout_str(&t, p->name);
	textout_str(&t, "': reaches the screen of the family machine whose profile is '");
	textout_str(&t, p->family);
	textout_str(&t, "'.\nProfile ");
	textout_str(&t, p->name);
	textout_str(&t, "\n");
	put_jump(&t, p);
	if (p->helper_identity != NULL)
		put_setting(&t, "IdentityFile", p->helper_identity);
	if (p->helper_known_hosts != NULL) {
		put_setting(&t, "UserKnownHostsFile", p->helper_known_hosts);
		put_setting(&t, "StrictHostKeyChecking", "yes");
	}
	if (p->forward_access)
		put_setting(&t, "ForwardAccess", "owner");
	put_forward(&t, "LocalForward", p->jump_vnc_port, p->jump_vnc_port, false);
	if (p->ard_port != 0)
		put_forward(&t, "LocalForward", INVITETEXT_ARD_PORT, p->ard_port, true);
	if (p->presence_port != 0)
		put_port_setting(&t, "PresenceCheck", p->presence_port);
	return textout_finish(&t);
}

/* Copies the key's "type base64[ comment]" into t; false if it is not such a line. */
static bool
put_pubkey(struct textout *t, const char *pubkey)
{
	const char *type = pubkey, *b64, *comment, *end;

	b64 = type + strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789@.-");
	if (b64 == type || *b64 != ' ')
		return false;
	b64++;
	comment =
	    b64 + strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
	if (comment - b64 < 16)
		return false;
	end = comment + strcspn(comment, "\n");
	if (*end == '\n' && end[1] != '\0')
		return false; /* more than one line */
	for (const char *c = comment; c < end; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	if (*comment != ' ' && comment != end)
		return false;
	textout_mem(t, type, (size_t)(end - type));
	return true;
}

int
invitetext_key_line(
    const struct invite_plan *p, bool family, const char *pubkey, char *out, size_t outlen)
{
	struct textout t;

	textout_init(&t, out, outlen);
	t.failed |= !plan_ok(p);
	if (t.failed)
		return textout_finish(&t);
	textout_str(&t, "restrict,port-forwarding,");
	textout_str(&t, family ? "permitlisten=\"localhost:" : "permitopen=\"localhost:");
	textout_int(&t, p->jump_vnc_port);
	textout_str(&t, "\",");
	if (p->presence_port != 0) {
		textout_str(&t, family ? "permitlisten=\"localhost:" : "permitopen=\"localhost:");
		textout_int(&t, p->presence_port);
		textout_str(&t, "\",");
	}
	textout_str(&t, "command=\"");
	textout_str(&t, p->relay);
	textout_str(&t, " relay");
	if (p->ard_port == 0)
		textout_str(&t, " --permit-listen none --permit-open none");
	else if (family) {
		textout_str(&t, " --permit-listen ");
		textout_int(&t, p->ard_port);
		textout_str(&t, " --permit-open none");
	} else {
		textout_str(&t, " --permit-listen none --permit-open localhost:");
		textout_int(&t, p->ard_port);
	}
	textout_str(&t, "\" ");
	if (!put_pubkey(&t, pubkey))
		t.failed = true;
	textout_str(&t, "\n");
	return textout_finish(&t);
}

/* A here-document body must not end early, hold a NUL or a CR, and must end in "\n". */
static bool
heredoc_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[n - 1] != '\n' || strchr(s, '\r') != NULL)
		return false;
	for (const char *line = s; *line != '\0'; line = strchr(line, '\n') + 1)
		if (strncmp(line, HEREDOC_END "\n", sizeof(HEREDOC_END)) == 0)
			return false;
	return true;
}

/* cat >FILE <<'END' ... END, then the mode. */
static void
put_file(struct textout *t, const char *file, const char *body, const char *mode)
{
	if (!heredoc_ok(body))
		t->failed = true;
	textout_str(t, "cat >\"");
	textout_str(t, file);
	textout_str(t, ".tmp\" <<'" HEREDOC_END "'\n");
	textout_str(t, body);
	textout_str(t, HEREDOC_END "\n");
	textout_str(t, "chmod ");
	textout_str(t, mode);
	textout_str(t, " \"");
	textout_str(t, file);
	textout_str(t, ".tmp\"\nmv -f \"");
	textout_str(t, file);
	textout_str(t, ".tmp\" \"");
	textout_str(t, file);
	textout_str(t, "\"\n");
}

/* The name as a grep -E pattern: '.' is the only special character it can hold. */
static void
put_name_pattern(struct textout *t, const char *name)
{
	for (; *name != '\0'; name++) {
		if (*name == '.')
			textout_str(t, "\\");
		textout_mem(t, name, 1);
	}
}

static const char script_head[] =
    "#!/bin/sh\n"
    "# Sets up this computer so that your helper can see and steer its screen when you\n"
    "# ask. Run it once, as yourself (not as root):   sh porthole-%s-setup.sh\n"
    "# It installs a key and the jump host's key in ~/.ssh, the porthole profile '%s',\n"
    "# and starts it as your user service (porthole service install %s). It changes\n"
    "# nothing else. Written by 'porthole invite %s' on the helper's machine.\n"
    "set -eu\n"
    "umask 077\n"
    "say() { printf 'porthole setup: %%s\\n' \"$*\"; }\n"
    "fail() { printf 'porthole setup: %%s\\n' \"$*\" >&2; exit 1; }\n"
    "command -v porthole >/dev/null 2>&1 ||\n"
    "\tfail \"porthole is not installed (or not in PATH): install it, then run this "
    "again\"\n"
    "[ \"$(id -u)\" != 0 ] || [ \"${PORTHOLE_SETUP_AS_ROOT:-}\" = 1 ] ||\n"
    "\tfail \"run this as the user whose screen is shared, not as root\"\n"
    "[ -n \"${HOME:-}\" ] && [ -d \"$HOME\" ] || fail \"HOME is not a directory\"\n"
    "ssh_dir=$HOME/.ssh\n"
    "conf_dir=${XDG_CONFIG_HOME:-$HOME/.config}/porthole\n"
    "conf=$conf_dir/config\n"
    "key=$ssh_dir/porthole_%s\n"
    "mkdir -p \"$ssh_dir\" \"$conf_dir\"\n"
    "chmod 700 \"$ssh_dir\"\n";

/* Drops an earlier block of this script, refuses another profile of the name. */
static void
put_config_update(struct textout *t, const struct invite_plan *p, const char *profile)
{
	textout_str(t,
	    "[ -f \"$conf\" ] || : >\"$conf\"\n"
	    "awk -v b='# >>> porthole invite: ");
	textout_str(t, p->family);
	textout_str(t, "' -v e='# <<< porthole invite: ");
	textout_str(t, p->family);
	textout_str(t,
	    "' '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' \"$conf\" "
	    ">\"$conf.tmp\"\n"
	    "if grep -Eiq '^[[:space:]]*profile([[:space:]]*=[[:space:]]*|[[:space:]]+)\"?");
	put_name_pattern(t, p->family);
	textout_str(t,
	    "\"?[[:space:]]*(#.*)?$' \"$conf.tmp\"; then\n"
	    "\trm -f \"$conf.tmp\"\n"
	    "\tfail \"$conf has another profile '");
	textout_str(t, p->family);
	textout_str(t,
	    "' already: rename it, then run this again\"\n"
	    "fi\n"
	    "cat >>\"$conf.tmp\" <<'" HEREDOC_END "'\n");
	textout_str(t, profile);
	textout_str(t,
	    HEREDOC_END "\n"
			"cat \"$conf.tmp\" >\"$conf\"\n"
			"rm -f \"$conf.tmp\"\n"
			"chmod go-w \"$conf\"\n"
			"say \"the profile '");
	textout_str(t, p->family);
	textout_str(t, "' is in $conf\"\n");
}

int
invitetext_setup_script(const struct invite_plan *p, const char *private_key, const char *pubkey,
    const char *known_hosts, char *out, size_t outlen)
{
	struct textout t;
	char head[sizeof(script_head) + 6 * CONFIG_NAME_MAX];
	char *profile = xmalloc(PROFILE_MAX);

	textout_init(&t, out, outlen);
	t.failed |= !plan_ok(p) || invitetext_family_profile(p, profile, PROFILE_MAX) == -1;
	snprintf(
	    head, sizeof(head), script_head, p->name, p->family, p->family, p->name, p->family);
	textout_str(&t, head);
	put_file(&t, "$key", private_key, "600");
	put_file(&t, "$key.pub", pubkey, "644");
	put_file(&t, "$key.known_hosts", known_hosts, "644");
	textout_str(&t, "say \"the key and the jump host's key are in $ssh_dir\"\n");
	put_config_update(&t, p, profile);
	textout_str(&t, "porthole check ");
	textout_str(&t, p->family);
	textout_str(&t, " >/dev/null || fail \"porthole check ");
	textout_str(&t, p->family);
	textout_str(&t,
	    " found a problem (above)\"\n"
	    "porthole service install ");
	textout_str(&t, p->family);
	textout_str(
	    &t, "\nsay \"done: your helper can now reach this computer's screen (VNC port ");
	textout_int(&t, p->vnc_port);
	textout_str(&t, ") when a VNC server runs here\"\n");
	free(profile);
	return textout_finish(&t);
}
