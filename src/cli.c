/*
 * Command-line parsing, with ssh's letters. Options may come before or
 * after the destination (ssh reads them after the host too, and porthole
 * has no remote command to confuse them with). Options given on the command
 * line win; the destination's user@ and :port fill only what -l and -p
 * did not set (ssh does the same).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "version.h"
#include "xmalloc.h"

static const char usage_text[] =
    "usage: porthole [options] destination     [user@]host[:port], ssh://[user@]host[:port]\n"
    "                                          or an ~/.ssh/config Host\n"
    "       porthole [options] PROFILE         a Profile in the config file\n"
    "       porthole profiles                  list the profiles\n"
    "       porthole check [PROFILE|destination]  print the effective settings\n"
    "       porthole status [NAME] [--json]    what running instances are doing\n"
    "       porthole -O check|exit|stop PROFILE|destination\n"
    "       porthole -O forward|cancel -L|-R|-D spec PROFILE|destination\n"
    "                                          control a running instance\n"
    "       porthole service install|uninstall|status PROFILE  run it as a user service\n"
    "       porthole relay [--permit-open H:P] [--permit-listen A:P]  the server end\n"
    "                                          of UDP forwards and relay streams\n"
    "       porthole invite NAME --jump [user@]host[:port] [--ard]  set up help for a\n"
    "                                          family machine (porthole invite -h)\n"
    "       porthole jump-setup [USER] [--udp]  check the jump host's sshd and account\n"
    "\n"
    "Keeps one SSH session to the jump host and carries every forward over it.\n"
    "\n"
    "  -L [bind_address:]port:host:hostport\n"
    "                  listen on port (loopback unless bind_address is given) and\n"
    "                  connect each connection to host:hostport from the server;\n"
    "                  repeatable; IPv6 addresses in brackets; a /udp suffix\n"
    "                  forwards UDP through the relay (RelayCommand)\n"
    "                  either side may be a Unix socket path: -L /path:host:port,\n"
    "                  -L port:/path, -L /path:/path (porthole(1), UNIX SOCKETS)\n"
    "  -R [bind_address:]port:host:hostport\n"
    "                  ask the server to listen on port (its loopback unless\n"
    "                  bind_address is given; 0 lets it pick and prints the port)\n"
    "                  and connect each connection to host:hostport from here\n"
    "  -D [bind_address:]port\n"
    "                  a SOCKS5/SOCKS4a proxy on port: each connection goes where\n"
    "                  the client asks, names resolved on the server's side\n"
    "  -J [user@]host[:port][,...]\n"
    "                  reach the server through these jump hosts, in order (each\n"
    "                  looked up in ~/.ssh/config); as ProxyJump, \"none\" for none\n";

/* The rest of --help (C limits a string literal to 4095 bytes). */
static const char usage_text2[] =
    "  -p port         SSH port on the server (default 22)\n"
    "  -l login_name   user to log in as (default: the local user)\n"
    "  -i file         identity (private key) file; repeatable\n"
    "  -F file         config file (default ~/.config/porthole/config)\n"
    "  -c cipher_spec  ciphers to offer, as Ciphers (e.g. -c aes128-ctr, -c ^aes256-ctr)\n"
    "  -m mac_spec     MACs to offer, as MACs\n"
    "  -O ctl_cmd      control the running instance of PROFILE or destination\n"
    "                  through its control socket: check, exit, stop (stop\n"
    "                  listening, exit when its connections end), forward or\n"
    "                  cancel the -L, -R and -D given with it\n"
    "  -o Keyword=value  set any config keyword, e.g. -o ExitOnForwardFailure=yes,\n"
    "                  -o BatchMode=yes, -o ConnectTimeout=5, -o OpenVia=channel\n"
    "                  (see porthole.conf(5))\n"
    "  -4, -6          reach the server over IPv4 / IPv6 only (AddressFamily)\n"
    "  -b bind_address connect to the server from this local address (BindAddress)\n"
    "  -B interface    ... from this interface's address (BindInterface)\n"
    "  -C              compress the SSH traffic with zlib (Compression yes)\n"
    "  -f              go to the background once connected and every forward is\n"
    "                  set up (ForkAfterAuthentication); prompts come first\n"
    "  -g              let forwards listen on non-loopback addresses (GatewayPorts)\n"
    "  -E log_file     append log lines to log_file instead of stderr\n"
    "  -N, -T, -n, -x, -a, -k\n"
    "                  accepted for ssh habits; porthole never runs a command,\n"
    "                  reads stdin or forwards X11 or the agent\n"
    "  -v              more detail on stderr (repeat for more)\n"
    "  -q              quiet: errors only\n"
    "  -V              print the version, the libssh2 it runs with and the\n"
    "                  algorithms it offers, and exit\n"
    "  -h              print this help and exit\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 runtime failure, 2 usage or config\n"
    "error, 255 could not connect, verify the host key or authenticate.\n"
    "See porthole(1) and porthole.conf(5).\n";

/*
 * Decodes %XX escapes into out (len + 1 bytes); ssh decodes them in an
 * ssh:// URL's user. -1 on a malformed escape or %00.
 */
static int
url_decode(const char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] != '%') {
			out[n++] = in[i];
			continue;
		}
		if (len - i < 3 || in[i + 1] == '\0' || in[i + 2] == '\0')
			return -1;
		const char *hi = strchr(hex, in[i + 1] | 0x20), *lo = strchr(hex, in[i + 2] | 0x20);
		if (hi == NULL || lo == NULL)
			return -1;
		int c = (int)((hi - hex) * 16 + (lo - hex));
		if (c == 0)
			return -1;
		out[n++] = (char)c;
		i += 2;
	}
	out[n] = '\0';
	return 0;
}

/*
 * "ssh://[user[;params]@]host[:port]" as ssh reads it: the user %-decoded,
 * ;params ignored, nothing after the port (not even "/").
 */
static int
parse_url(const char *text, struct options *o, char *err, size_t errlen)
{
	const char *rest = text + 6, *at = strrchr(rest, '@');
	const char *hostpart = at != NULL ? at + 1 : rest;
	char *user = NULL, why[512];
	struct options d;

	if (strpbrk(hostpart, "/?#") != NULL) {
		snprintf(err, errlen, "%s: an ssh:// destination takes no path", text);
		return -1;
	}
	if (at != NULL) {
		size_t ulen = strcspn(rest, ";");
		if (ulen > (size_t)(at - rest))
			ulen = (size_t)(at - rest);
		user = xmalloc(ulen + 1);
		if (ulen == 0 || url_decode(rest, ulen, user) == -1) {
			snprintf(err, errlen, "%s: %s user name", text, ulen ? "bad" : "empty");
			free(user);
			return -1;
		}
	}
	options_init(&d);
	if (cli_parse_destination(hostpart, &d, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", text, why);
		options_free(&d);
		free(user);
		return -1;
	}
	free(o->host);
	o->host = d.host;
	d.host = NULL;
	if (o->port == -1)
		o->port = d.port;
	if (user != NULL && o->user == NULL)
		o->user = user;
	else
		free(user);
	options_free(&d);
	return 0;
}

int
cli_parse_destination(const char *text, struct options *o, char *err, size_t errlen)
{
	if (strncmp(text, "ssh://", 6) == 0)
		return parse_url(text, o, err, errlen);

	const char *at = strrchr(text, '@');
	const char *host = at ? at + 1 : text;
	const char *port = NULL;
	size_t hostlen;

	if (at != NULL && at == text) {
		snprintf(err, errlen, "%s: empty user name", text);
		return -1;
	}
	if (*host == '[') {
		const char *close = strchr(host, ']');
		if (close == NULL) {
			snprintf(err, errlen, "%s: unbalanced brackets", text);
			return -1;
		}
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "%s: unexpected text after ']'", text);
			return -1;
		}
		host++;
		hostlen = (size_t)(close - host);
	} else {
		const char *colon = strchr(host, ':');
		/* More than one colon without brackets: a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL)
			port = colon + 1;
		hostlen = port ? (size_t)(colon - host) : strlen(host);
	}
	if (hostlen == 0) {
		snprintf(err, errlen, "%s: missing host name", text);
		return -1;
	}
	if (port != NULL) {
		int p = option_parse_port(port);
		if (p == -1) {
			snprintf(err, errlen, "%s: bad port '%s'", text, port);
			return -1;
		}
		if (o->port == -1)
			o->port = p;
	}
	if (at != NULL && o->user == NULL)
		o->user = xstrndup(text, (size_t)(at - text));
	free(o->host);
	o->host = xstrndup(host, hostlen);
	return 0;
}

/* The -O commands ssh has and porthole does too; proxy has no meaning here. */
static int
check_control(const char *cmd, char *err, size_t errlen)
{
	static const char *const known[] = {"check", "forward", "cancel", "exit", "stop"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(cmd, known[i]) == 0)
			return 0;
	if (strcmp(cmd, "proxy") == 0)
		snprintf(err, errlen,
		    "-O proxy is not supported: porthole has no sessions to multiplex");
	else
		snprintf(err, errlen,
		    "-O %s: unknown control command (check, forward, cancel, exit, stop)", cmd);
	return -1;
}

/* The letters that stand for a keyword: -4 is AddressFamily inet, and so on. */
static int
set_letter(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
	static const struct {
		char letter;
		const char *keyword, *value; /* value NULL: the option's argument */
	} letters[] = {
	    {'4', "AddressFamily", "inet"},
	    {'6', "AddressFamily", "inet6"},
	    {'b', "BindAddress", NULL},
	    {'B', "BindInterface", NULL},
	    {'C', "Compression", "yes"},
	    {'f', "ForkAfterAuthentication", "yes"},
	    {'g', "GatewayPorts", "yes"},
	};
	char why[512];

	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
		if (letters[i].letter != c)
			continue;
		const char *v = letters[i].value ? letters[i].value : arg;
		if (option_set(o, letters[i].keyword, v, why, sizeof(why)) == 0)
			return 0;
		if (letters[i].value == NULL)
			snprintf(err, errlen, "-%c %s: %s", c, arg, why);
		else
			snprintf(err, errlen, "-%c: %s", c, why);
		return -1;
	}
	return -1;
}

#define CLI_JSON 256 /* --json: no short letter (-J is ProxyJump) */

/* The short options; a letter followed by ':' takes an argument. */
static const char optstring[] = "L:R:D:J:p:l:i:o:O:F:c:m:b:B:E:46CfgnxakNTvqVh";

enum cli_result
cli_parse_command(
    int argc, char **argv, struct options *o, struct cli *cl, char *err, size_t errlen)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"json", no_argument, NULL, CLI_JSON},
	    {NULL, 0, NULL, 0},
	};
	int verbose = 0, quiet = 0, c;
	char why[512];
	const char *p;

	memset(cl, 0, sizeof(*cl));
	opterr = 0;
	/* 0, not 1: also forgets a cluster ("-Vv") a previous call stopped inside. */
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
		case 'R':
		case 'D':
			if (option_add_forward(o,
				c == 'L'       ? FWD_LOCAL
				    : c == 'R' ? FWD_REMOTE
					       : FWD_DYNAMIC,
				optarg, err, errlen) == -1)
				return CLI_USAGE;
			break;
		case 'J':
			if (option_set(o, "ProxyJump", optarg, err, errlen) == -1) {
				snprintf(why, sizeof(why), "-J %s: %s", optarg, err);
				snprintf(err, errlen, "%s", why);
				return CLI_USAGE;
			}
			break;
		case 'p':
			if ((o->port = option_parse_port(optarg)) == -1) {
				snprintf(err, errlen, "-p %s: port out of range (1-65535)", optarg);
				return CLI_USAGE;
			}
			break;
		case 'l':
			if (*optarg == '\0') {
				snprintf(err, errlen, "-l: empty user name");
				return CLI_USAGE;
			}
			free(o->user);
			o->user = xstrdup(optarg);
			break;
		case 'i':
			if (option_set(o, "IdentityFile", optarg, why, sizeof(why)) == -1) {
				snprintf(err, errlen, "-i %s: %s", optarg, why);
				return CLI_USAGE;
			}
			break;
		case 'c':
		case 'm': {
			const char *kw = c == 'c' ? "Ciphers" : "MACs";
			if (option_set(o, kw, optarg, why, sizeof(why)) == -1) {
				snprintf(err, errlen, "-%c %s: %s", c, optarg, why);
				return CLI_USAGE;
			}
			break;
		}
		case 'o':
			if (option_set_line(o, optarg, why, sizeof(why)) == -1) {
				snprintf(err, errlen, "-o %s: %s", optarg, why);
				return CLI_USAGE;
			}
			break;
		case 'F':
			cl->config_file = optarg;
			break;
		case 'O':
			if (check_control(optarg, err, errlen) == -1)
				return CLI_USAGE;
			cl->control = optarg;
			break;
		case CLI_JSON:
			cl->json = true;
			break;
		case '4':
		case '6':
		case 'b':
		case 'B':
		case 'C':
		case 'f':
		case 'g':
			if (set_letter(o, c, optarg, err, errlen) == -1)
				return CLI_USAGE;
			break;
		case 'E':
			cl->log_file = optarg;
			break;
		case 'N':
		case 'T':
		case 'n':
		case 'x':
		case 'a':
		case 'k':
			/*
			 * ssh habits: porthole never runs a command, asks for a tty,
			 * reads stdin, forwards X11 or the agent, or delegates
			 * GSSAPI credentials.
			 */
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			cl->version = true;
			return CLI_EXIT;
		case 'h':
			fputs(usage_text, stdout);
			fputs(usage_text2, stdout);
			return CLI_EXIT;
		case '?':
		default:
			if (optopt != 0 && (p = strchr(optstring, optopt)) != NULL && p[1] == ':')
				snprintf(err, errlen, "option -%c needs an argument", optopt);
			else if (optopt == 'h' || optopt == 'V')
				snprintf(err, errlen, "option --%s takes no argument",
				    optopt == 'h' ? "help" : "version");
			else if (optopt != 0)
				snprintf(
				    err, errlen, "unknown option -%c (see porthole -h)", optopt);
			else
				snprintf(err, errlen, "unknown option %s (see porthole -h)",
				    argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	cl->command = CMD_RUN;
	cl->target = NULL;
	if (optind < argc && strcmp(argv[optind], "profiles") == 0) {
		cl->command = CMD_PROFILES;
		optind++;
	} else if (optind < argc && strcmp(argv[optind], "check") == 0) {
		cl->command = CMD_CHECK;
		optind++;
	} else if (optind < argc && strcmp(argv[optind], "status") == 0) {
		cl->command = CMD_STATUS;
		optind++;
	}
	if (cl->control != NULL && cl->command != CMD_RUN) {
		snprintf(err, errlen, "-O goes with a profile or destination, not '%s'",
		    argv[optind - 1]);
		return CLI_USAGE;
	}
	if (cl->control != NULL)
		cl->command = CMD_CONTROL;
	if (cl->json && cl->command != CMD_STATUS) {
		snprintf(err, errlen, "--json goes with 'porthole status'");
		return CLI_USAGE;
	}
	if (optind < argc)
		cl->target = argv[optind++];
	if (cl->target == NULL && cl->command == CMD_RUN) {
		snprintf(err, errlen, "missing destination (see porthole -h)");
		return CLI_USAGE;
	}
	if (cl->target == NULL && cl->command == CMD_CONTROL) {
		snprintf(err, errlen, "-O %s: missing profile or destination", cl->control);
		return CLI_USAGE;
	}
	if (cl->target != NULL && cl->command == CMD_PROFILES) {
		snprintf(
		    err, errlen, "unexpected argument '%s': 'profiles' takes none", cl->target);
		return CLI_USAGE;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s': porthole runs no remote command",
		    argv[optind]);
		return CLI_USAGE;
	}
	if (quiet)
		o->log_level = LOG_ERROR;
	else if (verbose > 0)
		o->log_level = verbose >= 3 ? LOG_DEBUG3 : LOG_VERBOSE + verbose;
	return CLI_RUN;
}

enum cli_result
cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	struct cli cl;
	enum cli_result r = cli_parse_command(argc, argv, o, &cl, err, errlen);

	if (r != CLI_RUN)
		return r;
	if (cl.command != CMD_RUN || cl.target == NULL) {
		snprintf(err, errlen, "missing destination (see porthole -h)");
		return CLI_USAGE;
	}
	if (cli_parse_destination(cl.target, o, err, errlen) == -1)
		return CLI_USAGE;
	return CLI_RUN;
}
