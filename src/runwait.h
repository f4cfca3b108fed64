/*
 * Running a helper program to its end, for the commands that drive other
 * tools (service: systemctl, launchctl; invite: ssh-keygen, porthole
 * service install): argv[0] looked up in PATH, and its input and output
 * where the caller wants them.
 */
#ifndef PORTHOLE_RUNWAIT_H
#define PORTHOLE_RUNWAIT_H

enum runwait_output {
	RUNWAIT_INHERIT, /* stdin, stdout and stderr as ours */
	RUNWAIT_QUIET,	 /* stdin from /dev/null, output to /dev/null */
	RUNWAIT_STDERR,	 /* stdin from /dev/null, stdout to our stderr (ours is for results) */
};

/* Its exit status, or -1 if it could not run or did not exit. */
int runwait(const char *const argv[], enum runwait_output output);

#endif
