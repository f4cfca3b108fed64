/*
 * "porthole invite NAME --jump [user@]host[:port] ...": run once by a helper,
 * it makes everything a family machine needs to be looked after through a
 * jump host (see docs/tech-support.md): a key pair and a setup script for the
 * family machine, the helper's profile, and the jump host's authorized_keys
 * lines.
 */
#ifndef PORTHOLE_INVITE_H
#define PORTHOLE_INVITE_H

/* argv[0] is "invite". Returns the process exit status. */
int invite_main(int argc, char **argv);

#endif
