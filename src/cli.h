/*
 * The command line: argv into struct options and a command.
 */
#ifndef PORTHOLE_CLI_H
#define PORTHOLE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "option.h"

enum cli_result {
	CLI_RUN,   /* options are complete: connect */
	CLI_EXIT,  /* --help or --version was printed: exit 0 */
	CLI_USAGE, /* bad usage: err says why, exit 2 */
};

enum cli_command {
	CMD_RUN,      /* porthole [options] destination|PROFILE */
	CMD_PROFILES, /* porthole profiles */
	CMD_CHECK,    /* porthole check [PROFILE|destination] */
	CMD_STATUS,   /* porthole status [NAME] [--json] */
	CMD_CONTROL,  /* porthole -O check|forward|cancel|exit|stop PROFILE|destination */
};

/* What the command line asks for, besides the options. Strings point into argv. */
struct cli {
	enum cli_command command;
	const char *target;	 /* the profile or destination word; NULL if none */
	const char *config_file; /* -F */
	const char *control;	 /* -O: check, forward, cancel, exit or stop */
	const char *log_file;	 /* -E: log lines are appended there instead of stderr */
	bool json;		 /* status --json */
	bool version;		 /* -V: the caller prints the version (it needs libssh2) */
};

/*
 * Parses options into o and the command and its target word into cl. The
 * target is left for the caller to resolve (a profile name wins over a host
 * of that name).
 */
enum cli_result cli_parse_command(
    int argc, char **argv, struct options *o, struct cli *cl, char *err, size_t errlen);

/* cli_parse_command for a plain run: the target must be a destination, parsed into o. */
enum cli_result cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Splits "[user@]host[:port]" (IPv6 in brackets) into o; -1 with err if malformed. */
int cli_parse_destination(const char *text, struct options *o, char *err, size_t errlen);

#endif
