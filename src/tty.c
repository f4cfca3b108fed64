/*
 * Terminal prompts with echo off, restored even if the read fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"

static volatile sig_atomic_t interrupted;
static bool batch;

static void
interrupt_handler(int signum)
{
	interrupted = signum;
}

void
tty_set_batch(bool on)
{
	batch = on;
}

const char *
tty_unavailable_why(void)
{
	return batch ? "BatchMode is yes" : "there is no terminal";
}

bool
tty_available(void)
{
	if (batch)
		return false;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return false;
	close(fd);
	return true;
}

int
tty_prompt(const char *prompt, bool echo, char *out, size_t outlen)
{
	struct termios saved, quiet;
	size_t len = 0;
	int fd, restore = 0, rc = -1;
	char c;

	if (outlen == 0 || batch || (fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	/*
	 * The event loop's signal handlers restart read(); while prompting,
	 * Ctrl-C must interrupt it instead. The signal is raised again once
	 * the terminal is restored, so the loop still sees it.
	 */
	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = interrupt_handler;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (!echo && tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		goto out;
	for (;;) {
		/*
		 * A signal may be delivered to one of libuv's threads rather than
		 * interrupting this read, so wait in short slices and look.
		 */
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (interrupted)
			goto out;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		ssize_t n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR && !interrupted)
			continue;
		if (n <= 0)
			goto out;
		if (c == '\n' || c == '\r')
			break;
		if (len + 1 < outlen)
			out[len++] = c;
	}
	rc = 0;
out:
	out[len] = '\0';
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &saved);
	if (!echo && write(fd, "\n", 1) < 0) {
		/* the prompt's line break is cosmetic */
	}
	close(fd);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (interrupted) {
		explicit_bzero(out, outlen);
		raise(interrupted);
		return -1;
	}
	return rc;
}
