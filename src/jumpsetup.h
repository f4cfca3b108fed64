/*
 * "porthole jump-setup [USER]": run on the jump host, it checks sshd's
 * settings and the account the family machine and the helper log in as, and
 * says what is missing, one line each.
 */
#ifndef PORTHOLE_JUMPSETUP_H
#define PORTHOLE_JUMPSETUP_H

/* argv[0] is "jump-setup". Exit status: 0 all is well, 1 something is missing, 2 usage. */
int jumpsetup_main(int argc, char **argv);

#endif
