/*
 * -f: the fork happens first, before anything is set up. The child does
 * all the work, prompts included (it still shares the terminal and its
 * process group), while the parent only waits on a pipe. One byte means
 * "up": the parent exits 0 and the shell gets its prompt back. End of file
 * without it means the child gave up, and the parent exits with the
 * child's status, so a script sees 255, 1 or 2 exactly as without -f.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detach.h"

static int ready_fd = -1; /* the child's end of the pipe; -1 once detached */

static void
parent_wait(int fd, pid_t child)
{
	char c;
	ssize_t n;
	int status;

	/* Ctrl-C reaches the child too: it stops, and its status is reported. */
	signal(SIGINT, SIG_IGN);
	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n == 1)
		_exit(0);
	while (waitpid(child, &status, 0) == -1)
		if (errno != EINTR)
			_exit(255);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

int
detach_fork(char *err, size_t errlen)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "-f: cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		snprintf(err, errlen, "-f: cannot fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		parent_wait(fds[0], pid);
	}
	close(fds[0]);
	ready_fd = fds[1];
	return 0;
}

bool
detach_pending(void)
{
	return ready_fd != -1;
}

void
detach_done(bool keep_stderr)
{
	int null;

	if (ready_fd == -1)
		return;
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (!keep_stderr)
			dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(ready_fd, "", 1) != 1) {
		/* The parent is gone already: nothing waits for the news. */
	}
	close(ready_fd);
	ready_fd = -1;
}
