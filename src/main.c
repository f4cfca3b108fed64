/*
 * porthole: one SSH session, many forwards. main() turns argv into settings
 * and a command, and the command's result into the exit status; a run is
 * app_run() (app.c).
 */
#include <stdio.h>
#include <string.h>

#include "algo.h"
#include "app.h"
#include "cli.h"
#include "invite.h"
#include "jumpsetup.h"
#include "ctlcmd.h"
#include "log.h"
#include "option.h"
#include "relay.h"
#include "service.h"
#include "settings.h"
#include "status.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 2,
};

/* Whether error i of the config file stands in the way of the profile (NULL: a host). */
static bool
error_counts(const struct config *c, size_t i, const struct config_profile *p)
{
	return c->error_scope[i] == -1 || (p != NULL && &c->profiles[c->error_scope[i]] == p);
}

/*
 * Config errors: "porthole check" and "porthole profiles" show every one
 * (those in other profiles' blocks marked so); a run shows the first that
 * concerns it and how many more, so the message stays one line.
 */
static void
report_config_errors(const struct settings *st)
{
	const struct config *c = &st->config;
	size_t n = config_errors_against(c, st->profile), first = 0;

	if (st->cli.command == CMD_CHECK || st->cli.command == CMD_PROFILES) {
		for (size_t i = 0; i < c->n_errors; i++)
			if (st->cli.command == CMD_PROFILES || error_counts(c, i, st->profile))
				fprintf(stderr, "porthole: %s\n", c->errors[i]);
			else
				fprintf(stderr, "porthole: %s (in profile '%s', not used here)\n",
				    c->errors[i], c->profiles[c->error_scope[i]].name);
		return;
	}
	while (first < c->n_errors && !error_counts(c, first, st->profile))
		first++;
	if (first == c->n_errors)
		return;
	if (n == 1)
		fprintf(stderr, "porthole: %s\n", c->errors[first]);
	else
		fprintf(stderr, "porthole: %s (and %zu more; see porthole check)\n",
		    c->errors[first], n - 1);
}

/* Settings accepted for features not built yet: say so once each. */
static int
check_unsupported(const struct options *o)
{
	const char *name;
	int i = 0;

	while ((name = option_unsupported(o, &i)) != NULL)
		log_info("%s is not supported yet; ignored", name);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct settings settings;
	char err[1024];

	/* The relay end reads no config: it runs under sshd, driven by its peer. */
	if (argc >= 2 && strcmp(argv[1], "relay") == 0)
		return relay_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "service") == 0)
		return service_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "invite") == 0)
		return invite_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "jump-setup") == 0)
		return jumpsetup_main(argc - 1, argv + 1);
	switch (settings_load(&settings, argc, argv, err, sizeof(err))) {
	case SETTINGS_EXIT:
		if (settings.cli.version)
			algo_print_version(stdout);
		settings_free(&settings);
		return EXIT_OK;
	case SETTINGS_USAGE:
		fprintf(stderr, "porthole: %s\n", err);
		settings_free(&settings);
		return EXIT_USAGE;
	case SETTINGS_CONFIG:
		report_config_errors(&settings);
		settings_free(&settings);
		return EXIT_USAGE;
	case SETTINGS_OK:
		break;
	}
	if ((settings.cli.command == CMD_RUN || settings.cli.command == CMD_CHECK) &&
	    algo_resolve(&settings.opt, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		settings_free(&settings);
		return EXIT_USAGE;
	}
	switch (settings.cli.command) {
	case CMD_PROFILES: {
		/* The profiles that parsed, then what is wrong with the rest (exit 2). */
		int rc = settings.config.n_errors > 0 ? EXIT_USAGE : EXIT_OK;
		settings_print_profiles(&settings, stdout);
		fflush(stdout);
		report_config_errors(&settings);
		settings_free(&settings);
		return rc;
	}
	case CMD_CHECK:
		/* Mistakes in other profiles are shown, after what this one does. */
		options_print(&settings.opt, stdout);
		fflush(stdout);
		report_config_errors(&settings);
		settings_free(&settings);
		return EXIT_OK;
	case CMD_STATUS: {
		int rc = status_command(settings.cli.target, settings.cli.json);
		settings_free(&settings);
		return rc;
	}
	case CMD_CONTROL: {
		int rc = ctlcmd_main(&settings);
		settings_free(&settings);
		return rc;
	}
	case CMD_RUN:
		break;
	}
	if (settings.cli.log_file != NULL &&
	    log_set_file(settings.cli.log_file, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		settings_free(&settings);
		return EXIT_USAGE;
	}
	if (check_unsupported(&settings.opt) == -1) {
		settings_free(&settings);
		return EXIT_USAGE;
	}
	int rc = app_run(&settings);
	settings_free(&settings);
	return rc;
}
