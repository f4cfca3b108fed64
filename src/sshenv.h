/*
 * This side's facts that ~/.ssh/config evaluation needs (sshconfig_env):
 * the local user, home directory and uid, the host name, the interface
 * addresses for Match localnetwork, and the runner of Match exec commands.
 * The I/O half of sshconfig, kept out of the pure parser.
 */
#ifndef PORTHOLE_SSHENV_H
#define PORTHOLE_SSHENV_H

#include "sshconfig.h"

struct sshenv {
	struct sshconfig_env env;
	char *local_user, *home, *uid, *local_host;
	char **addrs;
	size_t n_addrs;
};

/* Fills se (and se->env, host fields left for the caller). */
void sshenv_init(struct sshenv *se);
void sshenv_free(struct sshenv *se);

/*
 * Match exec: runs cmd as ssh does, with $SHELL (else /bin/sh) -c, stdin and
 * stdout on /dev/null, stderr ours. Returns the exit status, or -1 with err
 * if the shell cannot run or the command did not exit (a signal).
 */
int sshenv_exec(const char *cmd, void *ctx, char *err, size_t errlen);

#endif
