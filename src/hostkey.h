/*
 * Host key policy: which host key algorithms to ask for, and whether the key
 * the server showed may be trusted. Glue between libssh2 and knownhosts.c.
 */
#ifndef PORTHOLE_HOSTKEY_H
#define PORTHOLE_HOSTKEY_H

#include <libssh2.h>
#include <stdbool.h>
#include <stddef.h>

#include "option.h"

/* "~/x" to "$HOME/x"; returns a new string. */
char *hostkey_expand_path(const char *path);

/* Where and under which name a server's host key is looked up, and how strictly. */
struct hostkey_policy {
	char
	    *user_files[OPTION_MAX_FILES]; /* UserKnownHostsFile, ~ expanded; new keys: the first */
	int n_user;
	char *global_files[OPTION_MAX_FILES]; /* GlobalKnownHostsFile, read only */
	int n_global;
	char *name; /* looked up and written: HostKeyAlias, else the host */
	int port;   /* 0 under HostKeyAlias: ssh writes the alias alone */
	enum strict_hostkey strict;
	bool check_host_ip;
};

/* Fills p from the options for a connection to host:port. Free with hostkey_policy_free. */
void hostkey_policy_init(
    struct hostkey_policy *p, const struct options *o, const char *host, int port);
void hostkey_policy_free(struct hostkey_policy *p);

/*
 * Sets the session's host key algorithm preference: list (resolved
 * HostKeyAlgorithms), and when that is the default, the types the known
 * hosts files hold for the host first, as OpenSSH does. The list set goes
 * into used.
 */
void hostkey_set_prefs(LIBSSH2_SESSION *s, const char *list, bool is_default,
    const struct hostkey_policy *p, char *used, size_t usedlen);

/*
 * Checks the session's host key against every known hosts file. Returns 0
 * if it is trusted (possibly after asking, or adding it to the first user
 * file), -1 with a one-line reason in err.
 */
int hostkey_verify(LIBSSH2_SESSION *s, const struct hostkey_policy *p, char *err, size_t errlen);

#endif
