/*
 * File descriptor limits. Many systems start processes with a soft limit of
 * 1,024 open files and a far higher hard limit; a forwarder holding one
 * descriptor per connection should use what it is allowed.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "fdlimit.h"
#include "log.h"

/* What to ask for when the hard limit is "unlimited", which setrlimit refuses for files. */
#define UNLIMITED_WANT 1048576

void
fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_verbose("file descriptor limit unknown: %s", strerror(errno));
		return;
	}
	want = rl.rlim_max == RLIM_INFINITY ? UNLIMITED_WANT : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_verbose("file descriptor limit %llu (raising it to %llu failed: %s)",
			    (unsigned long long)was, (unsigned long long)want, strerror(errno));
			return;
		}
		log_verbose("file descriptor limit %llu (raised from %llu)",
		    (unsigned long long)want, (unsigned long long)was);
		return;
	}
	log_verbose("file descriptor limit %llu (the hard limit)", (unsigned long long)rl.rlim_cur);
}

long
fdlimit_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return -1;
	return (long)rl.rlim_cur;
}

long
fdlimit_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		d = opendir("/dev/fd");
	if (d == NULL)
		return errno == EMFILE ? fdlimit_max() : -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}
