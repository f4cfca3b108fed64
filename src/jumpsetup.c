/*
 * porthole jump-setup: run on the jump host, it says whether sshd and the
 * account are ready for the journey docs/tech-support.md describes, one line
 * per setting. sshd's effective settings come from "sshd -T" for that user
 * (root is needed to run it); failing that, sshd_config and the files it
 * includes are read as text. The account: it exists, its shell can run the
 * relay, its ~/.ssh and authorized_keys are as sshd wants them and every key
 * in it is restricted, and porthole is in the PATH sshd gives its commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authkeys.h"
#include "jumpsetup.h"
#include "sshdconf.h"
#include "xmalloc.h"

extern char **environ;

enum {
	EXIT_OK = 0,
	EXIT_MISSING = 1,
	EXIT_USAGE = 2,
};

#define TEXT_MAX (4 * 1024 * 1024)
#define MAX_DEAD_DEFAULT 120
/* The PATH sshd gives a user's commands (OpenSSH's _PATH_STDPATH as Debian builds it). */
#define SSHD_PATH "/usr/local/bin:/usr/bin:/bin:/usr/games"

static const char usage_text[] =
    "usage: porthole jump-setup [USER] [--udp] [-f sshd_config] [--max-dead SECONDS]\n"
    "                           [--relay PATH]\n"
    "\n"
    "Run on the jump host (as root, so that sshd -T can report the settings that\n"
    "apply to USER): checks what porthole's forwards need from sshd and from the\n"
    "account USER (default porthole), one line each. Exit status 0 when all is\n"
    "well, 1 when something is missing.\n"
    "  --udp           the relay must run there too (UDP forwards, Apple Remote Desktop)\n"
    "  -f FILE         sshd's configuration file (default /etc/ssh/sshd_config)\n"
    "  --max-dead S    longest time a vanished client may hold its ports (120)\n"
    "  --relay PATH    the program the keys' command= runs (porthole)\n";

struct jump {
	char keys_file[SSHDCONF_VALUE_MAX]; /* AuthorizedKeysFile, as sshd has it */
	const char *user;
	const char *config; /* -f */
	const char *relay;
	long max_dead;
	bool udp;
	int missing;
};

static void
say(bool ok, const char *line, void *arg)
{
	struct jump *j = arg;

	printf("%s %s\n", ok ? "ok:     " : "MISSING:", line);
	if (!ok)
		j->missing++;
}

static void sayf(struct jump *j, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sayf(struct jump *j, bool ok, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(ok, line, j);
}

static int
parse_args(struct jump *j, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 1;
		} else if (strcmp(a, "--udp") == 0) {
			j->udp = true;
		} else if (strcmp(a, "-f") == 0 && has_value) {
			j->config = argv[++i];
		} else if (strcmp(a, "--relay") == 0 && has_value) {
			j->relay = argv[++i];
		} else if (strcmp(a, "--max-dead") == 0 && has_value) {
			char *end;
			j->max_dead = strtol(argv[++i], &end, 10);
			if (*end != '\0' || j->max_dead < 1 || j->max_dead > 86400) {
				fprintf(stderr,
				    "porthole: jump-setup: --max-dead %s: seconds, 1-86400\n",
				    argv[i]);
				return -1;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "porthole: jump-setup: %s %s (see -h)\n", a,
			    has_value || strcmp(a, "-f") != 0 ? "is not an option here"
							      : "needs a value");
			return -1;
		} else if (j->user == NULL) {
			j->user = a;
		} else {
			fprintf(stderr, "porthole: jump-setup: unexpected argument '%s'\n", a);
			return -1;
		}
	}
	return 0;
}

/* Reads fd to its end into a new NUL-terminated string. */
static char *
read_fd(int fd, size_t max)
{
	char *text = xmalloc(max + 1);
	size_t len = 0;
	ssize_t n;

	while (len < max && (n = read(fd, text + len, max - len)) != 0) {
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	text[len] = '\0';
	return text;
}

static char *
read_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text;

	if (fd == -1)
		return NULL;
	text = read_fd(fd, TEXT_MAX);
	close(fd);
	return text;
}

/* sshd -T for the user: its output, or NULL when it could not run or failed. */
static char *
sshd_dump(const struct jump *j)
{
	posix_spawn_file_actions_t fa;
	char spec[300];
	const char *sshd = access("/usr/sbin/sshd", X_OK) == 0 ? "/usr/sbin/sshd" : "sshd";
	const char *argv[8] = {sshd, "-T", "-C", spec, NULL, NULL, NULL};
	int fds[2], status;
	pid_t pid;
	char *out;

	snprintf(spec, sizeof(spec), "user=%s,host=localhost,addr=127.0.0.1", j->user);
	if (j->config != NULL) {
		argv[4] = "-f";
		argv[5] = j->config;
	}
	if (pipe(fds) == -1)
		return NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	status = posix_spawnp(&pid, sshd, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (status != 0) {
		close(fds[0]);
		return NULL;
	}
	out = read_fd(fds[0], TEXT_MAX);
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out[0] == '\0') {
		free(out);
		return NULL;
	}
	return out;
}

/* Appends path's text, with its Include lines replaced by the files they name. */
static void
append_config(char **text, size_t *len, const char *path, int depth)
{
	char *body = read_path(path), *save = NULL;

	if (body == NULL || depth > 8) {
		free(body);
		return;
	}
	for (char *line = strtok_r(body, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line + strspn(line, " \t");
		if (strncasecmp(p, "Include", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
			glob_t g;
			char *pattern = p + 8 + strspn(p + 8, " \t");
			char full[PATH_MAX];
			snprintf(full, sizeof(full), "%s%s", pattern[0] == '/' ? "" : "/etc/ssh/",
			    pattern);
			if (glob(full, 0, NULL, &g) == 0)
				for (size_t i = 0; i < g.gl_pathc; i++)
					append_config(text, len, g.gl_pathv[i], depth + 1);
			globfree(&g);
			continue;
		}
		size_t n = strlen(line);
		*text = xrealloc(*text, *len + n + 2);
		memcpy(*text + *len, line, n);
		(*text)[*len + n] = '\n';
		*len += n + 1;
		(*text)[*len] = '\0';
	}
	free(body);
}

static int
check_sshd(struct jump *j)
{
	const char *file = j->config ? j->config : "/etc/ssh/sshd_config";
	char *text = sshd_dump(j), err[256];
	enum sshdconf_kind kind = SSHDCONF_DUMP;
	struct sshdconf c;
	size_t len = 0;

	if (text != NULL) {
		printf("sshd's settings for %s, from sshd -T:\n", j->user);
	} else {
		kind = SSHDCONF_CONFIG;
		text = xstrdup("");
		append_config(&text, &len, file, 0);
		if (len == 0) {
			fprintf(stderr,
			    "porthole: jump-setup: sshd -T could not run (run this as root) and %s "
			    "cannot be read\n",
			    file);
			free(text);
			return -1;
		}
		printf("sshd's settings, from %s (sshd -T could not run: run this as root to see "
		       "the settings that apply to %s):\n",
		    file, j->user);
	}
	if (sshdconf_parse(&c, text, strlen(text), kind, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: jump-setup: %s: %s\n",
		    kind == SSHDCONF_DUMP ? "sshd -T" : file, err);
		free(text);
		return -1;
	}
	free(text);
	snprintf(j->keys_file, sizeof(j->keys_file), "%.*s",
	    (int)strcspn(c.authorized_keys_file, " \t"), c.authorized_keys_file);
	sshdconf_review(&c, j->max_dead, say, j);
	if (c.match_blocks > 0)
		printf("note:     %s has %d Match block%s, not applied without sshd -T\n", file,
		    c.match_blocks, c.match_blocks > 1 ? "s" : "");
	return 0;
}

/* The account's shell must run the key's command= (the relay) when UDP is used. */
static void
check_shell(struct jump *j, const struct passwd *pw)
{
	const char *shell = pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh";
	const char *base = strrchr(shell, '/') ? strrchr(shell, '/') + 1 : shell;
	bool none = strcmp(base, "nologin") == 0 || strcmp(base, "false") == 0;

	if (!none)
		sayf(j, true, "account %s, home %s, shell %s", pw->pw_name, pw->pw_dir, shell);
	else if (j->udp)
		sayf(j, false,
		    "account %s has the shell %s: sshd runs the key's command (the relay) "
		    "through it, so UDP cannot work; sudo usermod -s /bin/sh %s",
		    pw->pw_name, shell, pw->pw_name);
	else
		sayf(j, true,
		    "account %s, home %s, shell %s (enough for TCP forwards; UDP would need a "
		    "shell)",
		    pw->pw_name, pw->pw_dir, shell);
}

/* A directory or file sshd's StrictModes accepts: owned by the user or root, not writable by
 * others. */
static bool
strict_ok(const struct stat *st, uid_t uid)
{
	return (st->st_uid == uid || st->st_uid == 0) && (st->st_mode & 022) == 0;
}

/* The account's first AuthorizedKeysFile: %h, %u and %% expanded, relative to its home. */
static void
keys_path(const struct jump *j, const struct passwd *pw, char *out, size_t outlen)
{
	size_t n = 0;

	if (j->keys_file[0] != '/')
		n = (size_t)snprintf(out, outlen, "%s/", pw->pw_dir);
	for (const char *p = j->keys_file; *p != '\0' && n + 1 < outlen; p++) {
		const char *add = NULL;
		if (*p == '%' && p[1] == 'h')
			add = pw->pw_dir;
		else if (*p == '%' && p[1] == 'u')
			add = pw->pw_name;
		else if (*p == '%' && p[1] == '%')
			add = "%";
		if (add == NULL) {
			out[n++] = *p;
			continue;
		}
		n += (size_t)snprintf(out + n, outlen - n, "%s", add);
		p++;
	}
	out[n < outlen ? n : outlen - 1] = '\0';
}

static void
check_keys(struct jump *j, const struct passwd *pw)
{
	char dir[PATH_MAX], keys[PATH_MAX];
	struct stat st;
	char *text;
	int line;

	keys_path(j, pw, keys, sizeof(keys));
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(keys, '/') - keys), keys);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		sayf(j, false, "%s does not exist: sudo -u %s mkdir -m 700 %s", dir, pw->pw_name,
		    dir);
		return;
	}
	if (!strict_ok(&st, pw->pw_uid)) {
		sayf(j, false,
		    "%s is writable by others or not %s's: sshd ignores the keys; sudo chmod 700 "
		    "%s",
		    dir, pw->pw_name, dir);
		return;
	}
	if (stat(keys, &st) == -1 || (text = read_path(keys)) == NULL) {
		sayf(j, false, "%s cannot be read (%s): add the lines porthole invite printed",
		    keys, strerror(errno));
		return;
	}
	if (!strict_ok(&st, pw->pw_uid))
		sayf(j, false,
		    "%s is writable by others or not %s's: sshd ignores it; sudo chmod 600 %s",
		    keys, pw->pw_name, keys);
	else if (text[0] == '\0')
		sayf(j, false, "%s has no keys: add the lines porthole invite printed", keys);
	else if ((line = authkeys_unrestricted(text, strlen(text))) != 0)
		sayf(j, false,
		    "%s:%d: a key without 'restrict' first: it can run a shell here (a wrapped "
		    "line?); fix or delete that line",
		    keys, line);
	else
		sayf(j, true, "%s: every key is restricted", keys);
	free(text);
}

/* Not needed for what was asked (--udp not given), so neither ok nor missing. */
static void
note(const char *what)
{
	printf("note:     %s\n", what);
}

/* The relay: porthole in the PATH sshd gives the account's commands, runnable by it. */
static void
check_relay(struct jump *j)
{
	char path[] = SSHD_PATH, *save = NULL, file[PATH_MAX], line[PATH_MAX + 256];
	struct stat st;

	if (strchr(j->relay, '/') != NULL) {
		if (stat(j->relay, &st) == 0 && (st.st_mode & S_IXOTH) && S_ISREG(st.st_mode)) {
			sayf(j, true, "the relay: %s", j->relay);
			return;
		}
		snprintf(
		    line, sizeof(line), "the relay %s is not a program others may run", j->relay);
	} else {
		for (char *dir = strtok_r(path, ":", &save); dir != NULL;
		     dir = strtok_r(NULL, ":", &save)) {
			snprintf(file, sizeof(file), "%s/%s", dir, j->relay);
			if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXOTH)) {
				sayf(j, true, "the relay: %s relay runs %s (sshd's PATH %s)",
				    j->relay, file, SSHD_PATH);
				return;
			}
		}
		snprintf(line, sizeof(line),
		    "%s is not in %s, the PATH sshd gives the keys' command=: install porthole's "
		    "package, or write its full path in command=\"...\"",
		    j->relay, SSHD_PATH);
	}
	if (j->udp) {
		say(false, line, j);
	} else {
		strncat(line, " (needed for UDP only)", sizeof(line) - strlen(line) - 1);
		note(line);
	}
}

static void
check_account(struct jump *j)
{
	struct passwd *pw = getpwnam(j->user);

	if (pw == NULL) {
		sayf(j, false,
		    "no account %s: sudo adduser --disabled-password --gecos 'porthole forwards' "
		    "%s",
		    j->user, j->user);
		return;
	}
	check_shell(j, pw);
	check_keys(j, pw);
}

int
jumpsetup_main(int argc, char **argv)
{
	struct jump j = {.relay = "porthole", .max_dead = MAX_DEAD_DEFAULT};

	switch (parse_args(&j, argc, argv)) {
	case 1:
		return EXIT_OK;
	case -1:
		return EXIT_USAGE;
	}
	if (j.user == NULL)
		j.user = "porthole";
	if (check_sshd(&j) == -1)
		return EXIT_MISSING;
	printf("The account and the relay:\n");
	check_account(&j);
	check_relay(&j);
	fflush(stdout);
	if (j.missing > 0)
		fprintf(stderr, "porthole: jump-setup: %d thing%s missing (MISSING lines above)\n",
		    j.missing, j.missing > 1 ? "s" : "");
	return j.missing > 0 ? EXIT_MISSING : EXIT_OK;
}
