/*
 * The process's file descriptor budget: raising the soft RLIMIT_NOFILE to
 * the hard limit at start, and how many descriptors are open against it
 * (for "porthole status" and the listener's out-of-descriptors line).
 */
#ifndef PORTHOLE_FDLIMIT_H
#define PORTHOLE_FDLIMIT_H

/*
 * Raises the soft limit on open files to the hard limit (porthole waits with
 * epoll/kqueue, never select, so a high limit costs nothing). Says what it
 * did at -v; a refusal is only logged.
 */
void fdlimit_raise(void);

/* The soft limit on open files, or -1 when there is none. */
long fdlimit_max(void);

/*
 * Descriptors open now (counted in /proc/self/fd or /dev/fd), or -1 when
 * they cannot be counted. When even the directory cannot be opened for
 * want of a descriptor, every one is in use: the limit.
 */
long fdlimit_open(void);

#endif
