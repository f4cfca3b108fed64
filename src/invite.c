/*
 * porthole invite: everything a helper needs to look after a family machine,
 * made once on the helper's own machine. The jump host's key is taken from
 * the helper's known_hosts (verified when the helper connected) or from a
 * public key file, and pinned for the family machine; its key pair comes from
 * ssh-keygen; the texts come from invitetext.c and are checked by reading
 * them back with the config parser. Nothing is written until every check has
 * passed; then the bundle directory, the helper's profile, and on standard
 * output the authorized_keys lines and the family member's one command.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "hostkey.h"
#include "invite.h"
#include "runwait.h"
#include "invitetext.h"
#include "knownhosts.h"
#include "option.h"
#include "settings.h"
#include "xmalloc.h"

extern char **environ;

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_HOSTKEY = 255,
};

#define TEXT_MAX 65536
#define ARD_PORT 3283

static const char usage_text[] =
    "usage: porthole invite NAME --jump [user@]host[:port] [--vnc PORT]\n"
    "           [--remote-port PORT] [--ard] [--ard-port PORT] [--as PROFILE]\n"
    "           [--helper-key FILE|none] [--host-key FILE] [--relay PATH]\n"
    "           [--confirm] [--no-notify] [--presence-port PORT|--no-presence]\n"
    "           [--dir DIR] [-F configfile]\n"
    "\n"
    "Sets up remote help for a family machine, run once by the helper. Pins the jump\n"
    "host's key (from your known_hosts, or --host-key), makes the family machine's key\n"
    "pair, adds the profile NAME to your config, writes DIR (./porthole-invite-NAME)\n"
    "with porthole-NAME-setup.sh for the family machine, and prints the jump host's\n"
    "authorized_keys lines.\n"
    "  --jump [user@]host[:port]  the jump host (user: porthole, port: 22)\n"
    "  --vnc PORT          the family machine's VNC server (5900)\n"
    "  --remote-port PORT  the jump host's loopback port for it (as --vnc)\n"
    "  --ard               also Apple Remote Desktop's UDP 3283 (a Mac)\n"
    "  --ard-port PORT     the jump host's port for it (3283; implies --ard)\n"
    "  --as PROFILE        the profile's name on the family machine (helper)\n"
    "  --helper-key FILE   your public key for the jump host (~/.ssh/id_*.pub)\n"
    "  --host-key FILE     the jump host's public host key(s), instead of known_hosts\n"
    "  --relay PATH        porthole on the jump host (porthole, found in PATH)\n"
    "  --confirm           the family machine asks before each visit (ConfirmConnect)\n"
    "  --no-notify         no desktop notice there when a visit starts and ends\n"
    "  --presence-port PORT  the jump host's loopback port on which the family machine\n"
    "                      answers, so that porthole status NAME says online/offline\n"
    "                      (the remote port + 100, or - 100 above 65435)\n"
    "  --no-presence       no presence port (PresenceListen, PresenceCheck)\n"
    "  --dir DIR           where the bundle goes (./porthole-invite-NAME)\n";

struct invite {
	struct invite_plan plan;
	const char *helper_key; /* as given */
	bool no_notify;		/* --no-notify */
	bool no_presence;	/* --no-presence */
	const char *host_key;	/* as given */
	const char *dir;	/* as given */
	const char *config_arg; /* -F */
	char *config_path;
	char *bundle;
	char *helper_pub;		/* the helper's public key file, or NULL */
	char *helper_private;		/* its private half, for IdentityFile */
	char *pinned;			/* known_hosts lines for the family machine */
	char *pinned_from;		/* where they came from, for the message */
	char jump_host[256];		/* parsed from --jump */
	char jump_user[64];		/* ditto */
	char known_hosts[2 * PATH_MAX]; /* the helper profile's pin, with --host-key */
};

/* A port argument; -1 (after saying why) if it is not one. */
static int
parse_port(const char *opt, const char *value)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < 1 || n > 65535) {
		fprintf(stderr, "porthole: invite: %s %s: not a port (1-65535)\n", opt, value);
		return -1;
	}
	return (int)n;
}

/* [user@]host[:port] into the plan; -1 after saying why. */
static int
parse_jump(struct invite *iv, const char *jump)
{
	const char *at = strrchr(jump, '@'), *host = at ? at + 1 : jump, *colon;
	size_t ulen = at ? (size_t)(at - jump) : strlen("porthole");
	size_t hlen;

	if (ulen == 0 || ulen >= sizeof(iv->jump_user))
		goto bad;
	snprintf(iv->jump_user, sizeof(iv->jump_user), "%.*s", (int)ulen, at ? jump : "porthole");
	if (host[0] == '[') {
		colon = strchr(host, ']');
		if (colon == NULL || (colon[1] != '\0' && colon[1] != ':'))
			goto bad;
		host++;
		hlen = (size_t)(colon - host);
		colon = colon[1] == ':' ? colon + 1 : NULL;
	} else {
		colon = strchr(host, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL; /* a bare IPv6 address */
		hlen = colon ? (size_t)(colon - host) : strlen(host);
	}
	if (hlen == 0 || hlen >= sizeof(iv->jump_host))
		goto bad;
	snprintf(iv->jump_host, sizeof(iv->jump_host), "%.*s", (int)hlen, host);
	iv->plan.port = 22;
	if (colon != NULL && (iv->plan.port = parse_port("--jump", colon + 1)) == -1)
		return -1;
	iv->plan.host = iv->jump_host;
	iv->plan.user = iv->jump_user;
	return 0;
bad:
	fprintf(stderr, "porthole: invite: --jump %s: expected [user@]host[:port]\n", jump);
	return -1;
}

/* The value of option argv[*i], or NULL after saying it is missing. */
static const char *
value_of(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "porthole: invite: %s needs a value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int
parse_option(struct invite *iv, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v;
	struct invite_plan *p = &iv->plan;

	if (strcmp(a, "--confirm") == 0) {
		p->confirm = true;
		return 0;
	}
	if (strcmp(a, "--no-notify") == 0) {
		iv->no_notify = true;
		return 0;
	}
	if (strcmp(a, "--no-presence") == 0) {
		iv->no_presence = true;
		return 0;
	}
	if (strcmp(a, "--ard") == 0) {
		p->ard_port = p->ard_port ? p->ard_port : ARD_PORT;
		return 0;
	}
	if (strncmp(a, "-F", 2) == 0 && a[2] != '\0') {
		iv->config_arg = a + 2;
		return 0;
	}
	static const char *const with_value[] = {"--jump", "--vnc", "--remote-port", "--ard-port",
	    "--presence-port", "--as", "--helper-key", "--host-key", "--relay", "--dir", "-F"};
	bool known = false;
	for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
		known |= strcmp(a, with_value[k]) == 0;
	if (!known) {
		fprintf(stderr, "porthole: invite: unknown option %s (see -h)\n", a);
		return -1;
	}
	if ((v = value_of(argc, argv, i)) == NULL)
		return -1;
	if (strcmp(a, "--jump") == 0)
		return parse_jump(iv, v);
	if (strcmp(a, "--vnc") == 0)
		return (p->vnc_port = parse_port(a, v)) == -1 ? -1 : 0;
	if (strcmp(a, "--remote-port") == 0)
		return (p->jump_vnc_port = parse_port(a, v)) == -1 ? -1 : 0;
	if (strcmp(a, "--ard-port") == 0)
		return (p->ard_port = parse_port(a, v)) == -1 ? -1 : 0;
	if (strcmp(a, "--presence-port") == 0)
		return (p->presence_port = parse_port(a, v)) == -1 ? -1 : 0;
	if (strcmp(a, "--as") == 0)
		p->family = v;
	else if (strcmp(a, "--helper-key") == 0)
		iv->helper_key = v;
	else if (strcmp(a, "--host-key") == 0)
		iv->host_key = v;
	else if (strcmp(a, "--relay") == 0)
		p->relay = v;
	else if (strcmp(a, "--dir") == 0)
		iv->dir = v;
	else
		iv->config_arg = v; /* -F */
	return 0;
}

/* 1: help shown; 0: go on; -1: a usage error, said. */
static int
parse_args(struct invite *iv, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			if (parse_option(iv, argc, argv, &i) == -1)
				return -1;
		} else if (iv->plan.name == NULL) {
			iv->plan.name = a;
		} else {
			fprintf(stderr, "porthole: invite: unexpected argument '%s'\n", a);
			return -1;
		}
	}
	if (iv->plan.name == NULL) {
		fprintf(stderr,
		    "porthole: invite: missing NAME (the profile you will run, e.g. "
		    "mum)\n");
		return -1;
	}
	if (iv->plan.host == NULL) {
		fprintf(stderr, "porthole: invite: missing --jump [user@]host[:port]\n");
		return -1;
	}
	if (iv->plan.jump_vnc_port == 0)
		iv->plan.jump_vnc_port = iv->plan.vnc_port;
	if (iv->no_presence && iv->plan.presence_port != 0) {
		fprintf(stderr, "porthole: invite: --presence-port and --no-presence together\n");
		return -1;
	}
	if (iv->no_presence)
		iv->plan.presence_port = 0;
	else if (iv->plan.presence_port == 0)
		iv->plan.presence_port = iv->plan.jump_vnc_port <= 65435
		    ? iv->plan.jump_vnc_port + 100
		    : iv->plan.jump_vnc_port - 100;
	return 0;
}

/* The whole file, NUL-terminated, or NULL with errno set. */
static char *
read_text(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text;
	size_t len = 0;
	ssize_t n = 1;

	if (fd == -1)
		return NULL;
	text = xmalloc(max + 1);
	while (len < max && (n = read(fd, text + len, max - len)) != 0) {
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	close(fd);
	if (n < 0 || (len == max && max > 0)) {
		free(text);
		errno = n < 0 ? errno : EFBIG;
		return NULL;
	}
	text[len] = '\0';
	return text;
}

/* Writes text to a new file of the given mode (it must not exist). */
static int
write_new(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t len = strlen(text), done = 0;
	int e = 0;

	if (fd == -1)
		e = errno;
	while (fd != -1 && e == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n >= 0)
			done += (size_t)n;
		else if (errno != EINTR)
			e = errno;
	}
	if (fd != -1 && close(fd) == -1 && e == 0)
		e = errno;
	if (e != 0)
		fprintf(stderr, "porthole: invite: %s: %s\n", path, strerror(e));
	return e == 0 ? 0 : -1;
}

static char *
path_join(const char *dir, const char *name)
{
	char *out = xmalloc(strlen(dir) + strlen(name) + 2);

	sprintf(out, "%s/%s", dir, name);
	return out;
}

/* Pins the keys of a .pub-style file ("type base64 [comment]" lines). */
static int
pin_from_file(struct invite *iv)
{
	const struct invite_plan *p = &iv->plan;
	char *text = read_text(iv->host_key, TEXT_MAX), *lines, *line, *save = NULL;
	size_t cap, used = 0;
	int n;

	if (text == NULL) {
		fprintf(
		    stderr, "porthole: invite: --host-key %s: %s\n", iv->host_key, strerror(errno));
		return EXIT_USAGE;
	}
	/* Each line under the host's own name reads as known_hosts; pinning checks it. */
	cap = 2 * strlen(text) + 1024;
	lines = xmalloc(cap);
	lines[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#' && used + strlen(line) + 300 < cap)
			used += (size_t)(p->port == 22
				? sprintf(lines + used, "%s %s\n", p->host, line)
				: sprintf(lines + used, "[%s]:%d %s\n", p->host, p->port, line));
	iv->pinned = xmalloc(TEXT_MAX);
	n = knownhosts_pin(lines, used, p->host, p->port, iv->pinned, TEXT_MAX);
	free(lines);
	free(text);
	if (n <= 0) {
		fprintf(stderr,
		    "porthole: invite: --host-key %s: no public key in it (expected lines like "
		    "'ssh-ed25519 AAAA...', as in /etc/ssh/ssh_host_ed25519_key.pub)\n",
		    iv->host_key);
		return EXIT_USAGE;
	}
	iv->pinned_from = xstrdup(iv->host_key);
	return EXIT_OK;
}

/* Pins the keys the helper's known_hosts files hold for the jump host. */
static int
pin_from_known_hosts(struct invite *iv)
{
	const struct invite_plan *p = &iv->plan;
	struct hostkey_policy pol;
	struct options o;
	int n = 0;

	options_init(&o);
	hostkey_policy_init(&pol, &o, p->host, p->port);
	iv->pinned = xmalloc(TEXT_MAX);
	for (int i = 0; i < pol.n_user + pol.n_global && n <= 0; i++) {
		const char *file =
		    i < pol.n_user ? pol.user_files[i] : pol.global_files[i - pol.n_user];
		char *text = read_text(file, 16 * 1024 * 1024);
		if (text == NULL)
			continue;
		n = knownhosts_pin(text, strlen(text), p->host, p->port, iv->pinned, TEXT_MAX);
		if (n > 0)
			iv->pinned_from = xstrdup(file);
		free(text);
	}
	hostkey_policy_free(&pol);
	options_free(&o);
	if (n > 0)
		return EXIT_OK;
	fprintf(stderr,
	    "porthole: invite: no host key for %s%s%s in your known_hosts files: connect to it "
	    "once (ssh -p %d %s@%s) and check its fingerprint, or give --host-key FILE (its "
	    "/etc/ssh/ssh_host_ed25519_key.pub)\n",
	    p->port != 22 ? "[" : "", p->host, p->port != 22 ? "]:port" : "", p->port, p->user,
	    p->host);
	return EXIT_HOSTKEY;
}

/* The helper's own key: given, "none", or the first of ~/.ssh/id_*.pub. */
static int
find_helper_key(struct invite *iv)
{
	static const char *const defaults[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
	const char *k = iv->helper_key;
	size_t n;

	if (k != NULL && strcmp(k, "none") == 0)
		return EXIT_OK;
	if (k == NULL) {
		for (size_t i = 0; i < 3 && iv->helper_pub == NULL; i++) {
			char tilde[64];
			snprintf(tilde, sizeof(tilde), "~/.ssh/%s.pub", defaults[i]);
			char *pub = hostkey_expand_path(tilde);
			if (access(pub, R_OK) == 0) {
				iv->helper_pub = pub;
				snprintf(tilde, sizeof(tilde), "~/.ssh/%s", defaults[i]);
				iv->helper_private = xstrdup(tilde);
			} else {
				free(pub);
			}
		}
		return EXIT_OK;
	}
	n = strlen(k);
	if (n > 4 && strcmp(k + n - 4, ".pub") == 0) {
		iv->helper_pub = realpath(k, NULL);
		if (iv->helper_pub != NULL) {
			size_t m = strlen(iv->helper_pub) - 4;
			iv->helper_private = xmalloc(m + 1);
			memcpy(iv->helper_private, iv->helper_pub, m);
			iv->helper_private[m] = '\0';
		}
	} else {
		char *priv = realpath(k, NULL);
		if (priv != NULL) {
			iv->helper_private = priv;
			iv->helper_pub = xmalloc(strlen(priv) + 5);
			sprintf(iv->helper_pub, "%s.pub", priv);
		}
	}
	if (iv->helper_pub == NULL || access(iv->helper_pub, R_OK) != 0) {
		fprintf(stderr, "porthole: invite: --helper-key %s: %s\n", k,
		    iv->helper_pub ? "its .pub file cannot be read" : strerror(errno));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Whether this porthole knows a keyword (a setting another change may add). */
static bool
keyword_known(const char *keyword, const char *value)
{
	struct options o;
	char err[256];
	bool ok;

	options_init(&o);
	ok = option_set(&o, keyword, value, err, sizeof(err)) == 0;
	options_free(&o);
	return ok;
}

/* The text read back by the config parser: 0, or the exit status after its first error. */
static int
parses(const char *what, const char *text)
{
	struct config c;
	int status = EXIT_OK;

	config_init(&c);
	config_parse(&c, what, text, strlen(text));
	if (c.n_errors > 0) {
		fprintf(stderr, "porthole: invite: %s\n", c.errors[0]);
		status = EXIT_USAGE;
	}
	config_free(&c);
	return status;
}

/* The helper's config file: it must not have the profile yet. */
static int
check_helper_config(struct invite *iv)
{
	struct config c;
	int status = EXIT_OK;

	iv->config_path = iv->config_arg ? xstrdup(iv->config_arg) : settings_default_config_path();
	if (access(iv->config_path, F_OK) != 0)
		return EXIT_OK;
	config_init(&c);
	config_load(&c, iv->config_path);
	if (config_find(&c, iv->plan.name) != NULL) {
		fprintf(stderr,
		    "porthole: invite: %s has a profile '%s' already: choose another NAME, or "
		    "remove it first\n",
		    iv->config_path, iv->plan.name);
		status = EXIT_USAGE;
	}
	config_free(&c);
	return status;
}

/* Runs argv to its end, its output to standard error: its exit status, or -1. */
static int
run(const char *const argv[])
{
	return runwait(argv, RUNWAIT_STDERR);
}

/* The family machine's key pair, made in the bundle. */
static int
make_key(struct invite *iv, char **private_key, char **pubkey)
{
	char *key = path_join(iv->bundle, "id_ed25519"),
	     *pub = path_join(iv->bundle, "id_ed25519.pub");
	char comment[160];
	int rc;

	snprintf(comment, sizeof(comment), "porthole invite %s (profile %s)", iv->plan.name,
	    iv->plan.family);
	const char *const argv[] = {
	    "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key, NULL};
	rc = run(argv);
	*private_key = rc == 0 ? read_text(key, TEXT_MAX) : NULL;
	*pubkey = rc == 0 ? read_text(pub, TEXT_MAX) : NULL;
	if (rc != 0 || *private_key == NULL || *pubkey == NULL)
		fprintf(stderr, "porthole: invite: ssh-keygen %s: %s\n", key,
		    rc == -1	  ? "could not run (is OpenSSH's ssh-keygen installed?)"
			: rc != 0 ? "failed"
				  : strerror(errno));
	free(key);
	free(pub);
	return *private_key != NULL && *pubkey != NULL ? 0 : -1;
}

/* Creates dir's missing parents, mode 0700. */
static int
make_parents(const char *path)
{
	char *copy = xstrdup(path);
	int rc = 0;

	for (char *p = copy + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "porthole: invite: %s: %s\n", copy, strerror(errno));
			rc = -1;
		}
		*p = '/';
	}
	free(copy);
	return rc;
}

/* Appends the helper's profile, after a blank line, to the config file (0600 if new). */
static int
append_profile(const struct invite *iv, const char *text)
{
	struct stat st;
	int fd, e = 0;
	bool blank = stat(iv->config_path, &st) == 0 && st.st_size > 0;
	FILE *f;

	if (make_parents(iv->config_path) == -1)
		return -1;
	fd = open(iv->config_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	f = fd != -1 ? fdopen(fd, "a") : NULL;
	if (f == NULL) {
		e = errno;
		if (fd != -1)
			close(fd);
	} else {
		fprintf(f, "%s%s", blank ? "\n" : "", text);
		if (fclose(f) != 0)
			e = errno;
	}
	if (e != 0)
		fprintf(stderr, "porthole: invite: %s: %s\n", iv->config_path, strerror(e));
	return e == 0 ? 0 : -1;
}

/* "ssh-ed25519 SHA256:..." for each pinned line, one a line. */
static void
print_pins(const struct invite *iv)
{
	char *copy = xstrdup(iv->pinned), *save = NULL;

	printf("Pinned the jump host's key%s for %s (from %s):\n",
	    strchr(iv->pinned, '\n')[1] ? "s" : "", iv->plan.host, iv->pinned_from);
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *type = strchr(line, ' ') + 1, *b64 = strchr(type, ' ') + 1;
		size_t n = strlen(b64),
		       pad = n >= 2 ? (b64[n - 1] == '=') + (b64[n - 2] == '=') : 0;
		unsigned char *blob = xmalloc(n);
		char fp[KNOWNHOSTS_FINGERPRINT_SIZE];
		int len = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n);

		b64[-1] = '\0';
		if (len > (int)pad) {
			knownhosts_fingerprint(blob, (size_t)len - pad, fp, sizeof(fp));
			printf("    %s %s\n", type, fp);
		}
		free(blob);
	}
	free(copy);
}

/* An argument for sh, in single quotes. */
static void
print_quoted(const char *s)
{
	putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

static void
print_steps(const struct invite *iv, const char *lines, const char *script_name)
{
	const struct invite_plan *p = &iv->plan;
	char *copy = xstrdup(lines), *save = NULL;

	printf(
	    "\n1. On the jump host, each of these lines goes into ~%s/.ssh/authorized_keys as ONE "
	    "line\n   (also in %s/authorized_keys). Paste there, one command a line:\n\n",
	    p->user, iv->bundle);
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		printf("printf '%%s\\n' ");
		print_quoted(line);
		printf(
		    " | sudo -u %s tee -a ~%s/.ssh/authorized_keys >/dev/null\n", p->user, p->user);
	}
	printf("\n   Then check the jump host's sshd and account:  sudo %s jump-setup %s%s%s%s\n",
	    p->relay, p->user, p->ard_port ? " --udp" : "",
	    strchr(p->relay, '/') ? " --relay " : "", strchr(p->relay, '/') ? p->relay : "");
	printf("\n2. Send %s/%s to the family machine; there, as its user, run:\n\n"
	       "sh %s\n",
	    iv->bundle, script_name, script_name);
	printf("\n3. To help: porthole %s, then point a VNC viewer at localhost:%d.\n", p->name,
	    p->jump_vnc_port);
	if (p->presence_port != 0)
		printf("   While it runs, porthole status %s says whether the family machine is "
		       "online (jump host port %d).\n",
		    p->name, p->presence_port);
	if (iv->helper_pub == NULL)
		printf(
		    "\n(You have no ~/.ssh/id_*.pub: make a key with ssh-keygen -t ed25519, then "
		    "run this again, or add its line yourself.)\n");
	free(copy);
}

/* Every check that needs no writing: the plan, the host key, the helper's key and config. */
static int
prepare(struct invite *iv)
{
	char err[256];
	int status;

	if (invitetext_check(&iv->plan, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: invite: %s\n", err);
		return EXIT_USAGE;
	}
	if ((status = check_helper_config(iv)) != EXIT_OK ||
	    (status = find_helper_key(iv)) != EXIT_OK)
		return status;
	iv->plan.helper_identity = iv->helper_private;
	if (iv->dir != NULL) {
		iv->bundle = xstrdup(iv->dir);
	} else {
		iv->bundle = xmalloc(strlen(iv->plan.name) + sizeof("porthole-invite-"));
		sprintf(iv->bundle, "porthole-invite-%s", iv->plan.name);
	}
	if (access(iv->bundle, F_OK) == 0) {
		fprintf(stderr,
		    "porthole: invite: %s exists already (an earlier invitation?): remove it or "
		    "give --dir\n",
		    iv->bundle);
		return EXIT_USAGE;
	}
	status = iv->host_key ? pin_from_file(iv) : pin_from_known_hosts(iv);
	if (status == EXIT_OK && iv->host_key != NULL) {
		/* The helper's side trusts the same file (not its known_hosts, which lacks it). */
		char cwd[PATH_MAX];
		bool rel = iv->bundle[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL;
		int n = snprintf(iv->known_hosts, sizeof(iv->known_hosts), "%s%s%s/known_hosts",
		    rel ? cwd : "", rel ? "/" : "", iv->bundle);
		if (n < 0 || (size_t)n >= sizeof(iv->known_hosts)) {
			fprintf(stderr, "porthole: invite: %s: path too long\n", iv->bundle);
			return EXIT_USAGE;
		}
		iv->plan.helper_known_hosts = iv->known_hosts;
	}
	return status;
}

/* The texts, each read back by the parser before anything is written. */
struct texts {
	char family[TEXT_MAX], helper[TEXT_MAX], lines[2 * TEXT_MAX], script[4 * TEXT_MAX];
};

static int
make_texts(struct invite *iv, struct texts *t, const char *private_key, const char *pubkey)
{
	char *helper_pub = iv->helper_pub ? read_text(iv->helper_pub, TEXT_MAX) : NULL;
	size_t used;
	int status = EXIT_OK;

	if (invitetext_family_profile(&iv->plan, t->family, sizeof(t->family)) == -1 ||
	    invitetext_helper_profile(&iv->plan, t->helper, sizeof(t->helper)) == -1 ||
	    invitetext_key_line(&iv->plan, true, pubkey, t->lines, sizeof(t->lines)) == -1 ||
	    invitetext_setup_script(
		&iv->plan, private_key, pubkey, iv->pinned, t->script, sizeof(t->script)) == -1) {
		fprintf(stderr,
		    "porthole: invite: the family machine's texts cannot be written "
		    "(ssh-keygen's key is not as expected)\n");
		status = EXIT_RUNTIME;
	}
	used = strlen(t->lines);
	if (status == EXIT_OK && iv->helper_pub != NULL &&
	    (helper_pub == NULL ||
		invitetext_key_line(&iv->plan, false, helper_pub, t->lines + used,
		    sizeof(t->lines) - used) == -1)) {
		fprintf(stderr, "porthole: invite: %s is not an OpenSSH public key line\n",
		    iv->helper_pub);
		status = EXIT_USAGE;
	}
	free(helper_pub);
	if (status == EXIT_OK)
		status = parses("the family machine's profile", t->family);
	if (status == EXIT_OK)
		status = parses("your profile", t->helper);
	return status;
}

/* The bundle's files, the helper's profile, and what to do next. */
static int
write_all(struct invite *iv, struct texts *t)
{
	char script_name[CONFIG_NAME_MAX + 32];
	char *kh = path_join(iv->bundle, "known_hosts"),
	     *ak = path_join(iv->bundle, "authorized_keys");
	char *sc;
	int rc;

	snprintf(script_name, sizeof(script_name), "porthole-%s-setup.sh", iv->plan.name);
	sc = path_join(iv->bundle, script_name);
	rc = write_new(kh, iv->pinned, 0644) == 0 && write_new(ak, t->lines, 0644) == 0 &&
		write_new(sc, t->script, 0600) == 0 && append_profile(iv, t->helper) == 0
	    ? 0
	    : -1;
	if (rc == 0) {
		print_pins(iv);
		printf("Wrote %s/: the family machine's key pair, known_hosts, authorized_keys and "
		       "%s\n",
		    iv->bundle, script_name);
		printf("Added the profile '%s' to %s\n", iv->plan.name, iv->config_path);
		print_steps(iv, t->lines, script_name);
	}
	free(kh);
	free(ak);
	free(sc);
	return rc == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/*
 * Takes back a bundle that failed half-way (ssh-keygen missing or failing, a text that
 * cannot be written), so that running invite again is not refused for a folder that holds
 * no invitation. Only the names invite writes are removed; the folder goes if then empty.
 */
static void
remove_bundle(struct invite *iv)
{
	char script_name[CONFIG_NAME_MAX + 32];
	const char *names[] = {
	    "id_ed25519", "id_ed25519.pub", "known_hosts", "authorized_keys", script_name};

	snprintf(script_name, sizeof(script_name), "porthole-%s-setup.sh", iv->plan.name);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = path_join(iv->bundle, names[i]);

		(void)unlink(path);
		free(path);
	}
	if (rmdir(iv->bundle) == 0)
		fprintf(stderr,
		    "porthole: invite: %s removed again: the invitation is not finished\n",
		    iv->bundle);
}

static int
invite_run(struct invite *iv)
{
	char *private_key = NULL, *pubkey = NULL;
	struct texts *t = NULL;
	int status = prepare(iv);

	if (status != EXIT_OK)
		return status;
	if (mkdir(iv->bundle, 0700) == -1) {
		fprintf(stderr, "porthole: invite: %s: %s\n", iv->bundle, strerror(errno));
		return EXIT_RUNTIME;
	}
	if (make_key(iv, &private_key, &pubkey) == -1)
		status = EXIT_RUNTIME;
	if (status == EXIT_OK) {
		t = xmalloc(sizeof(*t));
		status = make_texts(iv, t, private_key, pubkey);
	}
	if (status == EXIT_OK)
		status = write_all(iv, t);
	if (status != EXIT_OK)
		remove_bundle(iv);
	free(t);
	free(private_key);
	free(pubkey);
	return status;
}

int
invite_main(int argc, char **argv)
{
	struct invite iv;
	int status;

	memset(&iv, 0, sizeof(iv));
	iv.plan.family = "helper";
	iv.plan.vnc_port = 5900;
	iv.plan.relay = "porthole";
	switch (parse_args(&iv, argc, argv)) {
	case 1:
		return EXIT_OK;
	case -1:
		return EXIT_USAGE;
	}
	iv.plan.forward_access = keyword_known("ForwardAccess", "owner");
	iv.plan.notify = !iv.no_notify && keyword_known("NotifyOnConnect", "yes");
	if (iv.plan.confirm && !keyword_known("ConfirmConnect", "yes")) {
		fprintf(
		    stderr, "porthole: invite: --confirm: this porthole has no ConfirmConnect\n");
		return EXIT_USAGE;
	}
	status = invite_run(&iv);
	free(iv.config_path);
	free(iv.bundle);
	free(iv.helper_pub);
	free(iv.helper_private);
	free(iv.pinned);
	free(iv.pinned_from);
	return status;
}
