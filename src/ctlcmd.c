/*
 * porthole -O. The instance is found the way "porthole status NAME" finds
 * it: ControlPath if set, else in the control directory, NAME.sock for a
 * profile and user@host:port.PID.sock for a destination (the one instance
 * of that destination that answers). What it prints is ssh's:
 *
 *   check    "Master running (pid=N)" on stderr
 *   exit     "Exit request sent." on stderr
 *   stop     "Stop listening request sent." on stderr
 *   forward  nothing; for -R with port 0 the port the server picked, on stdout
 *   cancel   nothing
 *
 * A refusal is one line, "porthole: -O VERB: WHY", exit 1 (ssh exits 255,
 * or 0 for a failed cancel); nothing running is one line, exit 255.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "ctlcmd.h"
#include "ctlsock.h"
#include "hostkey.h"
#include "log.h"
#include "status.h"

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_RUNNING = 255,
};

/* Sends request to path; 0 with the answer in *reply, or -1 with err. */
static int
ask(const char *path, const char *request, struct control_reply *reply, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (mem == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = ctlsock_query(path, request, mem, err, errlen) == 0 ? 0 : -1;
	fclose(mem);
	if (rc == 0 && control_reply_parse(text, len, reply) == -1) {
		snprintf(err, errlen, "%s: %s", path, reply->why);
		rc = -1;
	}
	free(text);
	return rc;
}

/* "NAME.<digits>.sock": an instance of the destination NAME (socket name without ".sock"). */
static bool
is_instance_of(const char *file, const char *base)
{
	size_t n = strlen(base), len = strlen(file), digits = 0;

	if (len < n + 7 || strncmp(file, base, n) != 0 || file[n] != '.' ||
	    strcmp(file + len - 5, ".sock") != 0)
		return false;
	for (size_t i = n + 1; i < len - 5; i++, digits++)
		if (file[i] < '0' || file[i] > '9')
			return false;
	return digits > 0;
}

/* A destination's live instance in dir: 0 with path, -1 none, -2 several (err says which). */
static int
find_destination(
    const char *dir, const char *base, char *path, size_t len, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	char first[512] = "";

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char candidate[4096];
		struct control_reply reply;
		char why[512];
		if (!is_instance_of(e->d_name, base))
			continue;
		snprintf(candidate, sizeof(candidate), "%s/%s", dir, e->d_name);
		if (ask(candidate, "check\n", &reply, why, sizeof(why)) == -1 || !reply.ok)
			continue; /* left by an instance that died */
		if (found++ == 0) {
			snprintf(path, len, "%s", candidate);
			snprintf(first, sizeof(first), "%s", e->d_name);
		} else {
			snprintf(err, errlen,
			    "several instances of %s run (%s, %s): name one by its socket file, "
			    "as porthole status lists them",
			    base, first, e->d_name);
		}
	}
	closedir(d);
	return found == 0 ? -1 : found == 1 ? 0 : -2;
}

bool
ctlcmd_is_socket_name(const char *target)
{
	size_t n = target != NULL ? strlen(target) : 0;

	return n > 5 && strcmp(target + n - 5, ".sock") == 0 && strchr(target, '/') == NULL;
}

/* The control socket of st's instance: 0, or the exit status with the message printed. */
static int
find_socket(const struct settings *st, char *path, size_t len)
{
	const char *target = st->cli.target;
	char name[512], file[600], err[1200];
	char *dir;
	int rc = 0;

	if (st->opt.control_path != NULL) {
		char *p = hostkey_expand_path(st->opt.control_path);
		snprintf(path, len, "%s", p);
		free(p);
		return 0;
	}
	dir = ctlsock_dir();
	if (dir == NULL) {
		log_error("-O %s: no running porthole for %s (no XDG_RUNTIME_DIR and no home "
			  "directory)",
		    st->cli.control, target);
		return EXIT_NOT_RUNNING;
	}
	if (ctlcmd_is_socket_name(target)) {
		/* A socket file as porthole status lists it (settings were not resolved). */
		snprintf(path, len, "%s/%s", dir, target);
		free(dir);
		return 0;
	}
	status_instance_name(&st->opt, st->profile != NULL, name, sizeof(name));
	status_socket_name(name, true, file, sizeof(file));
	if (st->profile != NULL) {
		snprintf(path, len, "%s/%s", dir, file);
	} else {
		file[strlen(file) - 5] = '\0';
		rc = find_destination(dir, file, path, len, err, sizeof(err));
		if (rc == -2) {
			log_error("-O %s: %s", st->cli.control, err);
			rc = EXIT_USAGE;
		} else if (rc == -1) {
			log_error(
			    "-O %s: no running porthole for %s (no %s.PID.sock in %s answers)",
			    st->cli.control, name, file, dir);
			rc = EXIT_NOT_RUNNING;
		}
	}
	free(dir);
	return rc;
}

/* One request; returns the exit status, the message printed. */
static int
request(const struct settings *st, const char *path, const char *line, const char *what)
{
	struct control_reply reply;
	char err[1200];

	if (ask(path, line, &reply, err, sizeof(err)) == -1) {
		log_error(
		    "-O %s: no running porthole for %s (%s)", st->cli.control, st->cli.target, err);
		return EXIT_NOT_RUNNING;
	}
	if (!reply.ok) {
		log_error("-O %s: %s", st->cli.control, reply.why);
		return EXIT_REFUSED;
	}
	if (strcmp(st->cli.control, "check") == 0)
		fprintf(stderr, "Master running (pid=%lld)\n", reply.pid);
	else if (strcmp(st->cli.control, "exit") == 0)
		fprintf(stderr, "Exit request sent.\n");
	else if (strcmp(st->cli.control, "stop") == 0)
		fprintf(stderr, "Stop listening request sent.\n");
	else if (reply.port > 0)
		printf("%d\n", reply.port);
	else if (reply.pending)
		log_info("%s: the session is down; the server is asked once it is back", what);
	return EXIT_OK;
}

int
ctlcmd_main(const struct settings *st)
{
	const char *verb = st->cli.control;
	bool forwards = strcmp(verb, "forward") == 0 || strcmp(verb, "cancel") == 0;
	char path[4096], line[CONTROL_LINE_MAX], name[600];
	int rc, worst = EXIT_OK;

	if (forwards && st->n_cli_forwards == 0) {
		log_error("-O %s needs -L, -R or -D", verb);
		return EXIT_USAGE;
	}
	if ((rc = find_socket(st, path, sizeof(path))) != 0)
		return rc;
	if (!forwards) {
		/* As ssh, forwards given with check, exit or stop are not looked at. */
		snprintf(line, sizeof(line), "%s\n", verb);
		return request(st, path, line, verb);
	}
	for (size_t i = 0; i < st->n_cli_forwards; i++) {
		spec_name(&st->cli_forwards[i], name, sizeof(name));
		snprintf(line, sizeof(line), "%s %s\n", verb, name);
		rc = request(st, path, line, name);
		if (rc == EXIT_NOT_RUNNING)
			return rc;
		if (rc > worst)
			worst = rc;
	}
	return worst;
}
