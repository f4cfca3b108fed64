/*
 * Local facts for ssh_config evaluation (see sshenv.h): getpwuid for the
 * user, $HOME for the home directory (as porthole expands "~" everywhere),
 * gethostname, getifaddrs, and fork/exec for Match exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sshenv.h"
#include "xmalloc.h"

static void
add_addrs(struct sshenv *se)
{
	struct ifaddrs *ifa, *all = NULL;
	char addr[NI_MAXHOST];

	if (getifaddrs(&all) != 0)
		return;
	for (ifa = all; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || (ifa->ifa_flags & IFF_UP) == 0)
			continue;
		int fam = ifa->ifa_addr->sa_family;
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		socklen_t len =
		    fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (getnameinfo(ifa->ifa_addr, len, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) !=
		    0)
			continue;
		/* A scoped address ("fe80::1%eth0") is matched without its scope. */
		addr[strcspn(addr, "%")] = '\0';
		se->addrs = xrealloc(se->addrs, (se->n_addrs + 1) * sizeof(*se->addrs));
		se->addrs[se->n_addrs++] = xstrdup(addr);
	}
	freeifaddrs(all);
}

void
sshenv_init(struct sshenv *se)
{
	struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");
	char host[256], uid[32];

	memset(se, 0, sizeof(*se));
	se->local_user = xstrdup(pw != NULL ? pw->pw_name : "");
	if ((home == NULL || home[0] == '\0') && pw != NULL)
		home = pw->pw_dir;
	se->home = xstrdup(home != NULL ? home : "");
	snprintf(uid, sizeof(uid), "%lu", (unsigned long)getuid());
	se->uid = xstrdup(uid);
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	se->local_host = xstrdup(host);
	add_addrs(se);
	se->env.local_user = se->local_user;
	se->env.home = se->home;
	se->env.uid = se->uid;
	se->env.local_host = se->local_host;
	se->env.local_addrs = (const char *const *)se->addrs;
	se->env.n_local_addrs = se->n_addrs;
	se->env.exec = sshenv_exec;
}

void
sshenv_free(struct sshenv *se)
{
	free(se->local_user);
	free(se->home);
	free(se->uid);
	free(se->local_host);
	for (size_t i = 0; i < se->n_addrs; i++)
		free(se->addrs[i]);
	free(se->addrs);
	memset(se, 0, sizeof(*se));
}

int
sshenv_exec(const char *cmd, void *ctx, char *err, size_t errlen)
{
	const char *shell = getenv("SHELL");
	int status;

	(void)ctx;
	if (shell == NULL || shell[0] == '\0')
		shell = "/bin/sh";
	if (access(shell, X_OK) == -1) {
		snprintf(err, errlen, "shell %s is not executable: %s", shell, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execl(shell, shell, "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status)) {
		snprintf(err, errlen, "exited abnormally (signal %d)",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		return -1;
	}
	return WEXITSTATUS(status);
}
