/*
 * The effective settings of one run, and the Keyword=value setter that -o
 * and the config file use. Pure: no I/O, no logging.
 */
#ifndef PORTHOLE_OPTION_H
#define PORTHOLE_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "spec.h"

#define OPTION_MAX_IDENTITIES 32

/* AddressFamily: which addresses of the server to try. */
enum address_family {
	FAMILY_ANY,
	FAMILY_INET,
	FAMILY_INET6,
};

enum strict_hostkey {
	STRICT_ASK,
	STRICT_ACCEPT_NEW,
	STRICT_YES,
	STRICT_NO, /* "no" / "off": accept-new that says a changed key is still refused */
};

/* ForwardAccess: who may connect to a loopback -L or -D listener. */
enum forward_access {
	ACCESS_ANY,   /* every local user, as ssh */
	ACCESS_OWNER, /* porthole's own user (and root) only */
};

/* OpenVia: how -L and -D connections reach their target (relayhub.c). */
enum open_via {
	OPEN_VIA_AUTO,	  /* relay streams when the relay is up with streams, unrestricted */
	OPEN_VIA_RELAY,	  /* relay streams always */
	OPEN_VIA_CHANNEL, /* direct-tcpip channels always */
};

/* Where the peer's owner can be found (Linux), forwards are the user's own by default. */
#ifdef __linux__
#define OPTION_ACCESS_DEFAULT ACCESS_OWNER
#else
#define OPTION_ACCESS_DEFAULT ACCESS_ANY
#endif

/* Most files UserKnownHostsFile or GlobalKnownHostsFile may name. */
#define OPTION_MAX_FILES 16

struct options {
	char *host; /* destination host, without brackets */
	char *user; /* NULL: the local user */
	int port;   /* -1: not set (22) */
	char *identity_files[OPTION_MAX_IDENTITIES];
	int n_identity_files;
	int identities_only;	     /* -1 unset, 0, 1 */
	char *known_hosts;	     /* UserKnownHostsFile as written; NULL: the default */
	int strict_hostkey;	     /* -1 unset, else enum strict_hostkey */
	int exit_on_forward_failure; /* -1 unset, 0, 1 */
	int gateway_ports;	     /* -1 unset, 0, 1 */
	int log_level;		     /* -1 unset, else enum log_level */
	struct fwd_spec *forwards;
	size_t n_forwards;

	char *host_name;	    /* HostName: the real host behind a profile or alias */
	char *proxy_jump;	    /* ProxyJump as written (jumpspec.h), or "none" */
	char *proxy_command;	    /* ProxyCommand as written, or "none" */
	char *proxy_command_run;    /* ... its %-tokens expanded (settings.c): what runs */
	int server_alive_interval;  /* seconds; -1 unset (15), 0 off */
	int server_alive_count_max; /* -1 unset (3) */
	int compression;	    /* -1 unset, 0, 1 */
	int reconnect;		    /* -1 unset, 0, 1 */
	int reconnect_max_delay;    /* seconds; -1 unset (60) */
	int connection_wait;	    /* seconds; -1 unset (10) */
	int udp_idle_timeout;	    /* seconds; -1 unset (60) */
	int udp_max_flows;	    /* -1 unset */
	char *relay_command;	    /* NULL: "porthole relay" */
	int open_via;		    /* -1 unset (auto), else enum open_via: option_open_via() */
	int notify_on_connect;	    /* -1 unset (no), 0, 1: desktop notice per -R visit */
	int confirm_connect;	    /* -1 unset (no), 0, 1: ask on the desktop first */
	int confirm_timeout;	    /* seconds; -1 unset (60) */
	char *presence_listen;	    /* PresenceListen [bind:]port as written (presence.h) */
	char *presence_check;	    /* PresenceCheck [host:]port as written */
	char *control_path;	    /* NULL: $XDG_RUNTIME_DIR/porthole/... */
	char *ssh_config_file;	    /* NULL: ~/.ssh/config; "none": none */
	int forward_access; /* -1 unset (owner on Linux, else any), else enum forward_access */
	/* ssh_config algorithm lists as written (see algolist.h); algo.c resolves them. */
	char *kex_algorithms;
	char *hostkey_algorithms;
	char *ciphers;
	char *macs;
	bool hostkey_algorithms_default; /* resolved from the defaults: known_hosts reorders */
	char *certificate_files[OPTION_MAX_IDENTITIES];
	int n_certificate_files;

	/* Host keys and identities (hostkey.c, auth.c). */
	char *global_known_hosts; /* GlobalKnownHostsFile as written; NULL: the default */
	char *host_key_alias;	  /* HostKeyAlias: the name known_hosts holds the key under */
	int check_host_ip;	  /* -1 unset (no), 0, 1 */
	char *identity_agent;	  /* IdentityAgent as written; NULL: $SSH_AUTH_SOCK */

	/* How to reach the server (see session.c's connect code). */
	int batch_mode;		 /* -1 unset, 0, 1: never prompt */
	int connect_timeout;	 /* seconds per address, 0 none; -1 unset (15) */
	int connection_attempts; /* -1 unset (1) */
	int address_family;	 /* -1 unset (any), else enum address_family */
	char *bind_address;	 /* BindAddress: the local address of the SSH connection */
	char *bind_interface;	 /* BindInterface: ... or the address of this interface */
	int fork_after_auth;	 /* -1 unset, 0, 1 (-f) */
	unsigned long long unsupported_used; /* bit per keyword set that is not built yet */
};

void options_init(struct options *o);
void options_free(struct options *o);

/*
 * Sets one keyword (case-insensitive) from its text value. Returns 0, or -1
 * with err naming what was wrong ("unknown keyword 'Bogus'", "bad value
 * 'maybe' for StrictHostKeyChecking (yes, accept-new, ask)"). An ssh_config
 * keyword option.c does not have (sshkeyword.h) is checked as ssh checks it,
 * then accepted without effect if it has none on forwarding (SendEnv) or its
 * value changes nothing (ControlMaster no), else refused: "ControlMaster is
 * an ssh keyword porthole does not implement".
 */
int option_set(struct options *o, const char *keyword, const char *value, char *err, size_t errlen);

/* Whether keyword (case-insensitive) is one of option.c's. */
bool option_known(const char *keyword);

/*
 * Whether keyword already has a value in o, so that a less important source
 * (~/.ssh/config) leaves it alone. Lists (IdentityFile, the forwards...) are
 * never "set": every source adds to them.
 */
bool option_is_set(const struct options *o, const char *keyword);

/* Splits "Keyword=value" or "Keyword value" and calls option_set. */
int option_set_line(struct options *o, const char *line, char *err, size_t errlen);

/* Adds a forward; text is the spec as written, for error messages. */
int option_add_forward(
    struct options *o, enum fwd_kind kind, const char *text, char *err, size_t errlen);

/*
 * Splits a list of file names as ssh does (UserKnownHostsFile): words
 * separated by blanks, a word may be quoted with " or ' to hold blanks.
 * Puts up to max new strings in out. Returns the count, or -1 with err (an
 * unterminated quote, more than max words).
 */
int option_split_words(const char *value, char **out, int max, char *err, size_t errlen);

/* UserKnownHostsFile and GlobalKnownHostsFile when not set, as ssh's. */
#define OPTION_DEFAULT_USER_KNOWN_HOSTS "~/.ssh/known_hosts ~/.ssh/known_hosts2"
#define OPTION_DEFAULT_GLOBAL_KNOWN_HOSTS "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"

/* Parses a port number 1-65535; -1 if text is not one. */
int option_parse_port(const char *text);

/*
 * "[host:]port", "[v6addr]:port" (PresenceListen, PresenceCheck): 0 with
 * host ("" when not written) and port, or -1 with the reason in err.
 */
int option_parse_hostport(
    const char *text, char *host, size_t hostlen, int *port, char *err, size_t errlen);

/* OpenVia's value, auto when not set. */
enum open_via option_open_via(const struct options *o);

/* The enum open_via for a name (auto, relay, channel; any case), or -1. */
int option_parse_open_via(const char *name);

/* The name of an enum open_via value ("auto", "relay", "channel"). */
const char *option_open_via_name(enum open_via v);

/* Level for a LogLevel name, or -1. */
int option_parse_log_level(const char *name);

/*
 * An ssh time value ("30", "30s", "5m", "1h30m") in seconds, or -1. Like
 * ssh, a bare number is seconds.
 */
int option_parse_seconds(const char *text);

/*
 * Names, one per call (i = 0, 1, ...), of keywords that were set but whose
 * feature porthole does not have yet; NULL at the end. For a warning.
 */
const char *option_unsupported(const struct options *o, int *i);

/* Every keyword, in the table's order; NULL past the end. For completion and docs. */
const char *option_keyword(size_t i);

/*
 * Writes the effective settings, one "keyword value" line each, lowercase
 * keywords, like ssh -G; defaults filled in for what is not set.
 */
void options_print(const struct options *o, FILE *out);

#endif
