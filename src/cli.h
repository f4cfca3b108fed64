/*
 * The command line: argv into struct options.
 */
#ifndef PORTHOLE_CLI_H
#define PORTHOLE_CLI_H

#include <stddef.h>

#include "option.h"

enum cli_result {
	CLI_RUN,   /* options are complete: connect */
	CLI_EXIT,  /* --help or --version was printed: exit 0 */
	CLI_USAGE, /* bad usage: err says why, exit 2 */
};

enum cli_result cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Splits "[user@]host[:port]" (IPv6 in brackets) into o; -1 with err if malformed. */
int cli_parse_destination(const char *text, struct options *o, char *err, size_t errlen);

#endif
