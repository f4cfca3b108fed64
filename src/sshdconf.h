/*
 * The sshd settings a porthole jump host depends on, read from "sshd -T"'s
 * output (the effective settings, Match blocks applied for one user) or,
 * when that cannot run, from sshd_config text (defaults filled in, first
 * value wins as in sshd, Match blocks counted but not applied). Pure: text
 * in, settings and the lines that say what is missing out.
 */
#ifndef PORTHOLE_SSHDCONF_H
#define PORTHOLE_SSHDCONF_H

#include <stdbool.h>
#include <stddef.h>

enum sshdconf_kind {
	SSHDCONF_DUMP,	 /* sshd -T: "keyword value" lines, keywords lowercase, seconds */
	SSHDCONF_CONFIG, /* sshd_config: any case, '=' or blanks, '#' comments, time units */
};

#define SSHDCONF_VALUE_MAX 256

struct sshdconf {
	char allow_tcp_forwarding[SSHDCONF_VALUE_MAX]; /* yes, all, local, remote, no */
	char gateway_ports[SSHDCONF_VALUE_MAX];	       /* no, yes, clientspecified */
	char disable_forwarding[SSHDCONF_VALUE_MAX];   /* no, yes */
	char pubkey_authentication[SSHDCONF_VALUE_MAX];
	char permit_listen[SSHDCONF_VALUE_MAX]; /* "any", "none" or the list */
	char permit_open[SSHDCONF_VALUE_MAX];
	char authorized_keys_file[SSHDCONF_VALUE_MAX]; /* as written: %h, %u, relative to home */
	long client_alive_interval;		       /* seconds; 0: off */
	long client_alive_count_max;
	int match_blocks; /* SSHDCONF_CONFIG: Match blocks seen, not applied */
	int lines;	  /* lines that held a setting */
};

/*
 * Fills c from text: sshd's defaults first, then each keyword's first value.
 * Unknown keywords are skipped (sshd has many; only these matter here). A
 * value that does not read (a bad number or time) is an error: -1 with
 * "line N: ..." in err. Returns 0.
 */
int sshdconf_parse(struct sshdconf *c, const char *text, size_t len, enum sshdconf_kind kind,
    char *err, size_t errlen);

/*
 * What the jump host lacks for porthole's journey: local and remote TCP
 * forwarding, GatewayPorts no, ClientAliveInterval set (so that a dead family
 * session lets go of its port within max_dead seconds), PermitListen and
 * PermitOpen not "none", DisableForwarding no, public keys accepted. Calls
 * say(ok, line, arg) once per setting, with a one-line text (no newline)
 * saying what it is, and for a missing one what to put in sshd_config.
 * Returns how many are missing.
 */
int sshdconf_review(const struct sshdconf *c, long max_dead,
    void (*say)(bool ok, const char *line, void *arg), void *arg);

#endif
