/*
 * User authentication as a non-blocking state machine: ssh-agent keys, then
 * identity files (prompting for passphrases on the terminal), then
 * keyboard-interactive and password on the terminal. The session calls
 * auth_step() after every wakeup until it returns 0 or -1.
 */
#ifndef PORTHOLE_AUTH_H
#define PORTHOLE_AUTH_H

#include <libssh2.h>
#include <stddef.h>

#include "option.h"

struct auth;

/*
 * server_said is the session's record of the server's disconnect message,
 * "" until it sends one: once it is set, nothing more is tried, and the
 * failure says what the server said and what was not tried.
 */
struct auth *auth_new(
    LIBSSH2_SESSION *ssh, const struct options *opt, const char *user, const char *server_said);
void auth_free(struct auth *a);

/* 0: authenticated; 1: in progress (call again); -1: failed, err says why. */
int auth_step(struct auth *a, char *err, size_t errlen);

#endif
