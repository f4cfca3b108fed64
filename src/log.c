/*
 * Log lines go to stderr whole, with one write each, so that lines from a
 * busy process never interleave mid-line in a journal or a test's pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level current = LOG_INFO;
static const char *ident = "porthole";
static int out_fd = STDERR_FILENO;

int
log_set_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd == -1) {
		snprintf(err, errlen, "-E %s: cannot open the log file: %s", path, strerror(errno));
		return -1;
	}
	if (out_fd != STDERR_FILENO)
		close(out_fd);
	out_fd = fd;
	return 0;
}

bool
log_on_stderr(void)
{
	return out_fd == STDERR_FILENO;
}

void
log_set_ident(const char *name)
{
	ident = name;
}

void
log_set_level(enum log_level level)
{
	current = level;
}

enum log_level
log_get_level(void)
{
	return current;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
	    [LOG_DEBUG1] = "debug1: ",
	    [LOG_DEBUG2] = "debug2: ",
	    [LOG_DEBUG3] = "debug3: ",
	};
	char line[1024];
	va_list ap;
	int n;

	if (level > current || current == LOG_QUIET)
		return;
	n = snprintf(line, sizeof(line), "%s: %s", ident, level >= LOG_DEBUG1 ? prefix[level] : "");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* One line, whatever the message held. */
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(out_fd, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
}
