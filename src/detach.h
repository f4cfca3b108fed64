/*
 * -f (ForkAfterAuthentication): going to the background once up. See detach.c.
 */
#ifndef PORTHOLE_DETACH_H
#define PORTHOLE_DETACH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Forks. Returns 0 in the child, which goes on to do everything; the parent
 * never returns (it exits 0 once the child calls detach_done(), else with
 * the child's exit status). -1 with err if fork fails.
 */
int detach_fork(char *err, size_t errlen);

/* True in the child between detach_fork() and detach_done(). */
bool detach_pending(void);

/*
 * In the child, once up: leaves the terminal's session, points stdin and
 * stdout (and stderr unless keep_stderr) at /dev/null, and lets the parent
 * exit 0.
 */
void detach_done(bool keep_stderr);

#endif
