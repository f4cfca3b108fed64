/*
 * porthole service: install, remove or show a profile's user service. The
 * profile is checked in the config file first, as a run would read it; the
 * service's command line is this very binary, with -F when the service
 * manager would not find the same config file by itself. The file's text
 * comes from servicefile.c; here are the paths, the writing and the calls
 * to systemctl (Linux) or launchctl (macOS). A service manager that cannot
 * be reached (a container, a session without one) is not an error: the file
 * is written, and what to run later is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "config.h"
#include "option.h"
#include "runwait.h"
#include "service.h"
#include "servicefile.h"
#include "settings.h"
#include "xmalloc.h"

extern char **environ;

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
};

/* Largest service file written: the text plus two paths of PATH_MAX, quoted. */
#define SERVICE_TEXT_MAX (4096 + 8 * PATH_MAX)

static const char usage_text[] =
    "usage: porthole service [-F configfile] install|uninstall|status PROFILE\n"
    "\n"
    "Runs a profile as your user service, started at login and again when it\n"
    "fails: a systemd user unit (Linux) or a launchd agent (macOS).\n"
    "  install    write the service file for PROFILE, enable and start it\n"
    "  uninstall  stop and disable it, and remove the file\n"
    "  status     show the service manager's view of it\n";

struct service {
	const char *action;	/* "install", "uninstall" or "status" */
	const char *profile;	/* as given */
	const char *config_arg; /* -F, as given */
	char *config_path;	/* the config file read */
	char *name;		/* the profile's name as the config file spells it */
	char *unit_config;	/* the config file the service names with -F, or NULL */
	bool known;		/* the profile is in the config file */
	char *home;
	struct config config;
};

static int
parse_args(struct service *sv, int argc, char **argv)
{
	const char **word[] = {&sv->action, &sv->profile};
	size_t n_words = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 1;
		} else if (strncmp(a, "-F", 2) == 0) {
			if (a[2] == '\0' && i + 1 == argc) {
				fprintf(stderr, "porthole: service: option -F needs an argument\n");
				return -1;
			}
			sv->config_arg = a[2] != '\0' ? a + 2 : argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "porthole: service: unknown option %s (see -h)\n", a);
			return -1;
		} else if (n_words < 2) {
			*word[n_words++] = a;
		} else {
			fprintf(stderr, "porthole: service: unexpected argument '%s'\n", a);
			return -1;
		}
	}
	if (sv->action == NULL ||
	    (strcmp(sv->action, "install") != 0 && strcmp(sv->action, "uninstall") != 0 &&
		strcmp(sv->action, "status") != 0)) {
		fprintf(stderr, "porthole: service: %s%s%s (install, uninstall or status)\n",
		    sv->action ? "unknown action '" : "missing action",
		    sv->action ? sv->action : "", sv->action ? "'" : "");
		return -1;
	}
	if (sv->profile == NULL) {
		fprintf(stderr, "porthole: service %s: missing profile name\n", sv->action);
		return -1;
	}
	return 0;
}

static char *
join(const char *a, const char *b)
{
	char *out = xmalloc(strlen(a) + strlen(b) + 2);

	sprintf(out, "%s/%s", a, b);
	return out;
}

static char *
home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && home[0] == '/')
		return xstrdup(home);
	pw = getpwuid(getuid());
	return xstrdup(pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/");
}

/* The config file as a run would find it; 0, or the exit status after saying why. */
static int
load_config(struct service *sv)
{
	char *abs;

	if (sv->config_arg != NULL) {
		if ((abs = realpath(sv->config_arg, NULL)) == NULL) {
			fprintf(stderr, "porthole: %s: %s\n", sv->config_arg, strerror(errno));
			return EXIT_USAGE;
		}
		sv->config_path = abs;
	} else {
		sv->config_path = settings_default_config_path();
	}
	if (access(sv->config_path, F_OK) == 0 || sv->config_arg != NULL)
		config_load(&sv->config, sv->config_path);
	/* A broken file must not stop a service from being removed or shown. */
	if (sv->config.n_errors > 0 && strcmp(sv->action, "install") == 0) {
		if (sv->config.n_errors == 1)
			fprintf(stderr, "porthole: %s\n", sv->config.errors[0]);
		else
			fprintf(stderr, "porthole: %s (and %zu more; see porthole check)\n",
			    sv->config.errors[0], sv->config.n_errors - 1);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * The -F the service needs: the file given, or the one found through
 * XDG_CONFIG_HOME, which service managers do not normally pass on.
 */
static void
choose_unit_config(struct service *sv)
{
	char *usual = join(sv->home, ".config/porthole/config");

	if (sv->config_arg != NULL || strcmp(sv->config_path, usual) != 0) {
		sv->unit_config = realpath(sv->config_path, NULL);
		if (sv->unit_config == NULL)
			sv->unit_config = xstrdup(sv->config_path);
	}
	free(usual);
}

/*
 * A profile a service can run: it applies cleanly, has a HostName and no
 * setting a run refuses, which would only be restarted to fail again.
 */
static int
check_profile(struct service *sv, const struct config_profile *p)
{
	struct options o;
	char err[1024];
	int status = EXIT_OK;

	options_init(&o);
	if (config_apply(&sv->config, p, &o, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		status = EXIT_USAGE;
	} else if (o.host_name == NULL) {
		fprintf(stderr, "porthole: %s:%d: profile '%s' has no HostName\n", sv->config.file,
		    p->line, p->name);
		status = EXIT_USAGE;
	}
	options_free(&o);
	return status;
}

static int
resolve_profile(struct service *sv)
{
	const struct config_profile *p;
	int status;

	if ((status = load_config(sv)) != EXIT_OK)
		return status;
	p = config_find(&sv->config, sv->profile);
	sv->known = p != NULL;
	if (p == NULL && !servicefile_name_ok(sv->profile)) {
		fprintf(stderr,
		    "porthole: service: bad profile name '%s' (1-64 letters, digits, "
		    "'.', '_' or '-')\n",
		    sv->profile);
		return EXIT_USAGE;
	}
	sv->name = xstrdup(p != NULL ? p->name : sv->profile);
	if (p != NULL && strcmp(sv->action, "install") == 0) {
		if ((status = check_profile(sv, p)) != EXIT_OK)
			return status;
		choose_unit_config(sv);
	}
	return EXIT_OK;
}

static int
unknown_profile(const struct service *sv)
{
	if (access(sv->config_path, F_OK) == 0)
		fprintf(stderr, "porthole: no profile '%s' in %s\n", sv->profile, sv->config_path);
	else
		fprintf(stderr, "porthole: no profile '%s': %s does not exist\n", sv->profile,
		    sv->config_path);
	return EXIT_USAGE;
}

/* Creates dir and its missing parents. */
static int
make_dirs(const char *dir)
{
	char *path = xstrdup(dir);
	int rc = 0;

	for (char *p = path + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char end = *p;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			fprintf(stderr, "porthole: %s: %s\n", path, strerror(errno));
			rc = -1;
		}
		*p = end;
		if (end == '\0')
			break;
	}
	free(path);
	return rc;
}

/* Writes text to path through a temporary file, so it is never half there. */
static int
write_file(const char *path, const char *text)
{
	char *tmp = xmalloc(strlen(path) + sizeof(".tmp"));
	size_t len = strlen(text), done = 0;
	int fd, e = 0;

	sprintf(tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		e = errno;
	while (fd != -1 && e == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n >= 0)
			done += (size_t)n;
		else if (errno != EINTR)
			e = errno;
	}
	if (fd != -1 && e == 0 && fsync(fd) == -1)
		e = errno;
	if (fd != -1 && close(fd) == -1 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, path) == -1)
		e = errno;
	if (e != 0) {
		fprintf(stderr, "porthole: %s: %s\n", path, strerror(e));
		unlink(tmp);
	}
	free(tmp);
	return e == 0 ? 0 : -1;
}

/* This binary, as an absolute path, for the service to run. */
static char *
own_path(void)
{
	char buf[PATH_MAX];
#ifdef __APPLE__
	uint32_t size = sizeof(buf);

	if (_NSGetExecutablePath(buf, &size) != 0)
		return NULL;
	return realpath(buf, NULL);
#else
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0 || buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	/* The binary was replaced or removed since it started: no path to give. */
	if (access(buf, X_OK) == -1)
		return NULL;
	return xstrdup(buf);
#endif
}

/* Runs argv to its end: its exit status, or -1. quiet: no input, output to /dev/null. */
static int
run(const char *const argv[], bool quiet)
{
	return runwait(argv, quiet ? RUNWAIT_QUIET : RUNWAIT_INHERIT);
}

/* Replaces this process with argv, for a status the user reads as is. */
static int
pass_through(const char *const argv[])
{
	fflush(stdout);
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "porthole: %s: %s\n", argv[0], strerror(errno));
	return EXIT_RUNTIME;
}

/* The service file's text, with the exit status if it cannot be made. */
static char *
service_text(struct service *sv, const char *log_path, int *status)
{
	char *exe = own_path(), *text = NULL;
	int rc;

	*status = EXIT_RUNTIME;
	if (exe == NULL) {
		fprintf(stderr, "porthole: cannot find the path of this porthole program\n");
		return NULL;
	}
	text = xmalloc(SERVICE_TEXT_MAX);
#ifdef __APPLE__
	rc = servicefile_plist_text(
	    exe, sv->unit_config, sv->name, log_path, text, SERVICE_TEXT_MAX);
#else
	(void)log_path;
	rc = servicefile_unit_text(exe, sv->unit_config, sv->name, text, SERVICE_TEXT_MAX);
#endif
	if (rc == -1) {
		fprintf(stderr,
		    "porthole: %s%s%s: the service manager cannot run this; move "
		    "porthole to a path without quotes, backslashes or control "
		    "characters\n",
		    exe, sv->unit_config ? " -F " : "", sv->unit_config ? sv->unit_config : "");
		free(text);
		text = NULL;
	}
	free(exe);
	if (text != NULL)
		*status = EXIT_OK;
	return text;
}

static int
not_installed(const struct service *sv, const char *path)
{
	if (!sv->known)
		return unknown_profile(sv);
	fprintf(
	    stderr, "porthole: no service for profile '%s': %s does not exist\n", sv->name, path);
	return EXIT_RUNTIME;
}

static void
print_command(const char *const argv[])
{
	fputs("    ", stdout);
	for (size_t i = 0; argv[i] != NULL; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	putchar('\n');
}

static void
print_no_terminal_hint(const struct service *sv)
{
	printf("It runs without a terminal: the jump host's key must be in known_hosts and the\n"
	       "key must need no passphrase (run 'porthole %s' once to see that it connects).\n",
	    sv->name);
}

#ifdef __APPLE__

/* A launchd agent in the user's GUI session: gui/UID/net.porthole.PROFILE. */
struct agent {
	char label[128];
	char domain[32];
	char target[192];
	char *dir; /* ~/Library/LaunchAgents */
	char *path;
	char *log_dir;
	char *log;
};

static void
agent_init(struct agent *a, const struct service *sv)
{
	char file[160];

	servicefile_label(sv->name, a->label, sizeof(a->label));
	snprintf(a->domain, sizeof(a->domain), "gui/%u", (unsigned)getuid());
	snprintf(a->target, sizeof(a->target), "%s/%s", a->domain, a->label);
	snprintf(file, sizeof(file), "%s.plist", a->label);
	a->dir = join(sv->home, "Library/LaunchAgents");
	a->path = join(a->dir, file);
	a->log_dir = join(sv->home, "Library/Logs");
	snprintf(file, sizeof(file), "porthole-%s.log", sv->name);
	a->log = join(a->log_dir, file);
}

static void
agent_free(struct agent *a)
{
	free(a->dir);
	free(a->path);
	free(a->log_dir);
	free(a->log);
}

static int
service_install(struct service *sv)
{
	struct agent a;
	int status;
	char *text;

	agent_init(&a, sv);
	text = service_text(sv, a.log, &status);
	if (text != NULL &&
	    (make_dirs(a.dir) == -1 || make_dirs(a.log_dir) == -1 ||
		write_file(a.path, text) == -1))
		status = EXIT_RUNTIME;
	if (text != NULL && status == EXIT_OK) {
		const char *const bootout[] = {"launchctl", "bootout", a.target, NULL};
		const char *const enable[] = {"launchctl", "enable", a.target, NULL};
		const char *const bootstrap[] = {"launchctl", "bootstrap", a.domain, a.path, NULL};
		printf("Wrote %s\n", a.path);
		run(bootout, true); /* an older copy, if loaded */
		run(enable, true);
		if (run(bootstrap, true) == 0) {
			printf("Started %s: 'porthole %s' runs now and at each login; its messages "
			       "go to %s\n",
			    a.label, sv->name, a.log);
		} else {
			fflush(stdout);
			fprintf(stderr,
			    "porthole: launchd did not load %s (no login session "
			    "here?); it starts at the next login, or now with:\n",
			    a.label);
			print_command(bootstrap);
		}
		print_no_terminal_hint(sv);
	}
	free(text);
	agent_free(&a);
	return status;
}

static int
service_uninstall(struct service *sv)
{
	struct agent a;
	int status = EXIT_OK;

	agent_init(&a, sv);
	const char *const bootout[] = {"launchctl", "bootout", a.target, NULL};
	if (access(a.path, F_OK) != 0) {
		status = not_installed(sv, a.path);
	} else {
		run(bootout, true); /* fails when it is not loaded: fine */
		if (unlink(a.path) == -1) {
			fprintf(stderr, "porthole: %s: %s\n", a.path, strerror(errno));
			status = EXIT_RUNTIME;
		} else {
			printf("Stopped %s and removed %s\n", a.label, a.path);
		}
	}
	agent_free(&a);
	return status;
}

static int
service_status(struct service *sv)
{
	struct agent a;
	int status;

	agent_init(&a, sv);
	const char *const print[] = {"launchctl", "print", a.target, NULL};
	if (access(a.path, F_OK) != 0)
		status = not_installed(sv, a.path);
	else
		status = pass_through(print);
	agent_free(&a);
	return status;
}

#else /* systemd */

static const char *
user_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = getenv("USER");

	return pw != NULL ? pw->pw_name : user != NULL ? user : "$USER";
}

static bool
in_path(const char *program)
{
	const char *path = getenv("PATH");
	bool found = false;
	char *copy, *dir, *save = NULL;

	copy = xstrdup(path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *file = join(dir, program);
		found = access(file, X_OK) == 0;
		free(file);
	}
	free(copy);
	return found;
}

/* Runs argv, saying so in one line if it fails. */
static int
run_loud(const char *const argv[])
{
	int rc = run(argv, false);

	if (rc != 0) {
		fprintf(stderr, "porthole:");
		for (size_t i = 0; argv[i] != NULL; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(
		    stderr, rc == -1 ? ": could not be run\n" : ": failed (exit status %d)\n", rc);
	}
	return rc;
}

/* The user unit porthole-PROFILE.service in $XDG_CONFIG_HOME/systemd/user. */
struct unit {
	char name[128];
	char *dir;
	char *path;
};

static void
unit_init(struct unit *u, const struct service *sv)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *base = xdg != NULL && xdg[0] == '/' ? xstrdup(xdg) : join(sv->home, ".config");

	servicefile_unit_name(sv->name, u->name, sizeof(u->name));
	u->dir = join(base, "systemd/user");
	u->path = join(u->dir, u->name);
	free(base);
}

static void
unit_free(struct unit *u)
{
	free(u->dir);
	free(u->path);
}

/* Whether systemctl --user reaches a user manager (not in most containers). */
static bool
manager_reachable(void)
{
	const char *const probe[] = {"systemctl", "--user", "show-environment", NULL};

	return in_path("systemctl") && run(probe, true) == 0;
}

static void
print_linger_hint(void)
{
	char *flag = join("/var/lib/systemd/linger", user_name());

	if (access(flag, F_OK) != 0)
		printf("To keep it running while you are logged out, and start it at boot:\n"
		       "    loginctl enable-linger %s\n",
		    user_name());
	free(flag);
}

/* daemon-reload, enable --now, and restart when an older unit was running. */
static int
start_unit(const struct unit *u, const struct service *sv, bool restart)
{
	const char *const reload[] = {"systemctl", "--user", "daemon-reload", NULL};
	const char *const enable[] = {"systemctl", "--user", "enable", "--now", u->name, NULL};
	const char *const again[] = {"systemctl", "--user", "restart", u->name, NULL};

	if (run_loud(reload) != 0 || run_loud(enable) != 0 || (restart && run_loud(again) != 0))
		return EXIT_RUNTIME;
	printf("%s %s: 'porthole %s' runs now and at each login (porthole service status %s)\n",
	    restart ? "Restarted" : "Started", u->name, sv->name, sv->name);
	return EXIT_OK;
}

static void
explain_start(const struct unit *u)
{
	const char *const reload[] = {"systemctl", "--user", "daemon-reload", NULL};
	const char *const enable[] = {"systemctl", "--user", "enable", "--now", u->name, NULL};

	fflush(stdout);
	if (!in_path("systemctl")) {
		fprintf(stderr,
		    "porthole: systemctl is not installed: without systemd nothing "
		    "starts %s\n",
		    u->name);
		return;
	}
	fprintf(stderr,
	    "porthole: no systemd user manager is reachable here, so %s was not "
	    "started; where there is one, run:\n",
	    u->name);
	print_command(reload);
	print_command(enable);
}

static int
service_install(struct service *sv)
{
	struct unit u;
	int status;
	bool manager, was_active = false;
	char *text = service_text(sv, NULL, &status);

	if (text == NULL)
		return status;
	unit_init(&u, sv);
	manager = manager_reachable();
	if (manager && access(u.path, F_OK) == 0) {
		const char *const active[] = {
		    "systemctl", "--user", "is-active", "--quiet", u.name, NULL};
		was_active = run(active, true) == 0;
	}
	if (make_dirs(u.dir) == -1 || write_file(u.path, text) == -1) {
		status = EXIT_RUNTIME;
	} else {
		printf("Wrote %s\n", u.path);
		if (manager)
			status = start_unit(&u, sv, was_active);
		else
			explain_start(&u);
		if (status == EXIT_OK) {
			print_no_terminal_hint(sv);
			print_linger_hint();
		}
	}
	free(text);
	unit_free(&u);
	return status;
}

static int
service_uninstall(struct service *sv)
{
	struct unit u;
	int status = EXIT_OK;

	unit_init(&u, sv);
	const char *const stop[] = {"systemctl", "--user", "disable", "--now", u.name, NULL};
	const char *const disable[] = {"systemctl", "--user", "disable", u.name, NULL};
	const char *const reload[] = {"systemctl", "--user", "daemon-reload", NULL};
	const char *const forget[] = {"systemctl", "--user", "reset-failed", u.name, NULL};
	bool manager = manager_reachable();

	if (access(u.path, F_OK) != 0) {
		status = not_installed(sv, u.path);
	} else {
		/* Without a manager, disable still removes the unit's links, offline. */
		if (manager && run_loud(stop) != 0)
			status = EXIT_RUNTIME;
		else if (!manager && in_path("systemctl"))
			run(disable, true);
		if (unlink(u.path) == -1) {
			fprintf(stderr, "porthole: %s: %s\n", u.path, strerror(errno));
			status = EXIT_RUNTIME;
		} else {
			printf("Removed %s\n", u.path);
		}
		if (manager) {
			run_loud(reload);
			run(forget, true);
		}
	}
	unit_free(&u);
	return status;
}

static int
service_status(struct service *sv)
{
	struct unit u;
	int status;

	unit_init(&u, sv);
	const char *const show[] = {"systemctl", "--user", "status", u.name, NULL};

	if (access(u.path, F_OK) != 0) {
		status = not_installed(sv, u.path);
	} else if (!in_path("systemctl")) {
		fprintf(stderr,
		    "porthole: %s is installed, but systemctl is not: nothing runs "
		    "it here\n",
		    u.path);
		status = EXIT_RUNTIME;
	} else if (!manager_reachable()) {
		fprintf(stderr,
		    "porthole: %s is installed, but no systemd user manager is "
		    "reachable here to say how it runs\n",
		    u.path);
		status = EXIT_RUNTIME;
	} else {
		status = pass_through(show);
	}
	unit_free(&u);
	return status;
}

#endif

int
service_main(int argc, char **argv)
{
	struct service sv;
	int status;

	memset(&sv, 0, sizeof(sv));
	config_init(&sv.config);
	switch (parse_args(&sv, argc, argv)) {
	case 1:
		return EXIT_OK;
	case -1:
		return EXIT_USAGE;
	}
	sv.home = home_dir();
	status = resolve_profile(&sv);
	if (status == EXIT_OK) {
		if (strcmp(sv.action, "install") == 0)
			status = sv.known ? service_install(&sv) : unknown_profile(&sv);
		else if (strcmp(sv.action, "uninstall") == 0)
			status = service_uninstall(&sv);
		else
			status = service_status(&sv);
	}
	free(sv.config_path);
	free(sv.name);
	free(sv.unit_config);
	free(sv.home);
	config_free(&sv.config);
	return status;
}
