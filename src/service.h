/*
 * "porthole service install|uninstall|status PROFILE": a profile run as the
 * user's service, started at login (and at boot, with lingering) and again
 * when it fails: a systemd user unit on Linux, a launchd agent on macOS.
 */
#ifndef PORTHOLE_SERVICE_H
#define PORTHOLE_SERVICE_H

/* argv[0] is "service". Returns the process exit status. */
int service_main(int argc, char **argv);

#endif
