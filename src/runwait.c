/*
 * Runs a helper program and waits for it: see runwait.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

#include "runwait.h"

extern char **environ;

int
runwait(const char *const argv[], enum runwait_output output)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	fflush(stdout);
	posix_spawn_file_actions_init(&fa);
	if (output != RUNWAIT_INHERIT)
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (output == RUNWAIT_QUIET) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else if (output == RUNWAIT_STDERR) {
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
