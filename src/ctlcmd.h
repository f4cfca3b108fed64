/*
 * porthole -O: one request to the running instance of a profile or
 * destination, through the control socket it listens on (ctlsock.c), with
 * ssh's words and exit statuses where they make sense.
 */
#ifndef PORTHOLE_CTLCMD_H
#define PORTHOLE_CTLCMD_H

#include <stdbool.h>

#include "settings.h"

/*
 * Runs st->cli.control against the instance st names. Returns the exit
 * status: 0 done; 1 the instance refused (a port in use, no such forward);
 * 2 usage (forward or cancel without -L, -R or -D, several instances of one
 * destination); 255 no instance runs or it did not answer.
 */
int ctlcmd_main(const struct settings *st);

/* True for "NAME.sock" without a '/': an instance's socket file, as porthole status lists it. */
bool ctlcmd_is_socket_name(const char *target);

#endif
