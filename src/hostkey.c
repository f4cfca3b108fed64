/*
 * Host key checking. The user's known_hosts file is read whole for each
 * check (it is small and read once per connection), then the system-wide
 * /etc/ssh/ssh_known_hosts. New keys are appended as hashed lines; the file
 * is never rewritten.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "algo.h"
#include "algolist.h"
#include "hostkey.h"
#include "knownhosts.h"
#include "log.h"
#include "tty.h"
#include "xmalloc.h"

#define GLOBAL_KNOWN_HOSTS "/etc/ssh/ssh_known_hosts"

char *
hostkey_expand_path(const char *path)
{
	const char *home = getenv("HOME");
	char *out;

	if (path[0] != '~' || path[1] != '/' || home == NULL)
		return xstrdup(path);
	out = xmalloc(strlen(home) + strlen(path));
	sprintf(out, "%s%s", home, path + 1);
	return out;
}

/* The whole file, NUL-terminated; NULL with *len 0 if it cannot be read. */
static char *
read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (f == NULL)
		return NULL;
	do {
		if (cap - *len < 4096) {
			cap = cap ? cap * 2 : 8192;
			text = xrealloc(text, cap + 1);
		}
		n = fread(text + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	text[*len] = '\0';
	return text;
}

static const char *
key_type_name(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return "ssh-rsa";
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return "ssh-dss";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return "ecdsa-sha2-nistp256";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return "ecdsa-sha2-nistp384";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return "ecdsa-sha2-nistp521";
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return "ssh-ed25519";
	default:
		return "unknown";
	}
}

/*
 * The algorithms that verify a known_hosts key type, in preference order:
 * an RSA key is checked with rsa-sha2 signatures where the library has them.
 */
static const char *
algorithms_for_type(const char *type, size_t n)
{
	if (n == 7 && memcmp(type, "ssh-rsa", 7) == 0)
		return LIBSSH2_VERSION_NUM >= 0x010b00 ? "rsa-sha2-512,rsa-sha2-256" : "ssh-rsa";
	return NULL;
}

void
hostkey_set_prefs(LIBSSH2_SESSION *s, const char *list, bool is_default, const char *known_hosts,
    const char *host, int port, char *used, size_t usedlen)
{
	char known[512] = "", prefs[ALGOLIST_MAX], dropped[ALGOLIST_MAX], err[256];
	const char *files[] = {known_hosts, GLOBAL_KNOWN_HOSTS};
	size_t len;

	if (is_default) {
		for (size_t i = 0; i < 2 && known[0] == '\0'; i++) {
			char *text = read_text(files[i], &len);
			if (text != NULL)
				knownhosts_host_types(text, len, host, port, known, sizeof(known));
			free(text);
		}
	}
	/* "^known types": the default list with what known_hosts has first. */
	char spec[sizeof(known) * 3 + 2] = "^";
	for (const char *p = known; *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *algs = algorithms_for_type(p, n);
		size_t at = strlen(spec);
		snprintf(spec + at, sizeof(spec) - at, "%s%.*s", at > 1 ? "," : "",
		    algs ? (int)strlen(algs) : (int)n, algs ? algs : p);
		p += n + (p[n] == ',');
	}
	/* Known types are offered even if the default list leaves them out (ssh-rsa). */
	if (spec[1] == '\0' ||
	    algolist_apply(spec, list, algo_supported(ALGO_HOSTKEY), prefs, sizeof(prefs), dropped,
		sizeof(dropped), err, sizeof(err)) == -1)
		snprintf(prefs, sizeof(prefs), "%s", list);
	log_debug("host key algorithms: %s", prefs);
	snprintf(used, usedlen, "%s", prefs);
	if (libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, prefs) != 0)
		log_error("libssh2 did not take the host key preference %s", prefs);
}

static int
append_entry(const char *path, const char *host, int port, const char *type,
    const unsigned char *key, size_t keylen, char *err, size_t errlen)
{
	unsigned char salt[20];
	char line[4096];
	int fd, n;

	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		snprintf(err, errlen, "cannot make a salt for %s", path);
		return -1;
	}
	n = knownhosts_format_line(host, port, type, key, keylen, true, salt, line, sizeof(line));
	if (n < 0) {
		snprintf(err, errlen, "host key too long to record in %s", path);
		return -1;
	}
	/* The directory of ~/.ssh/known_hosts may not exist yet. */
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			log_debug("mkdir %s: %s", dir, strerror(errno));
	}
	free(dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "cannot add host key to %s: %s", path, strerror(errno));
		return -1;
	}
	/* Start on a fresh line if the file does not end with one. */
	struct stat st;
	char last = '\n';
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd != -1) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
	}
	if ((last != '\n' && write(fd, "\n", 1) != 1) || write(fd, line, (size_t)n) != n) {
		snprintf(err, errlen, "cannot add host key to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
ask_user(const char *name, const char *type, const char *fp)
{
	char prompt[1024], answer[32];

	snprintf(prompt, sizeof(prompt),
	    "The authenticity of host '%s' can't be established.\r\n"
	    "%s key fingerprint is %s.\r\n"
	    "Are you sure you want to continue connecting (yes/no)? ",
	    name, type, fp);
	for (;;) {
		if (tty_prompt(prompt, true, answer, sizeof(answer)) == -1)
			return 0;
		if (strcasecmp(answer, "yes") == 0)
			return 1;
		if (strcasecmp(answer, "no") == 0)
			return 0;
		snprintf(prompt, sizeof(prompt), "Please type 'yes' or 'no': ");
	}
}

int
hostkey_verify(LIBSSH2_SESSION *s, const char *known_hosts, enum strict_hostkey strict,
    const char *host, int port, char *err, size_t errlen)
{
	const char *files[] = {known_hosts, GLOBAL_KNOWN_HOSTS};
	struct kh_lookup r = {KH_NOTFOUND, 0};
	const char *file = known_hosts, *type;
	char name[300], fp[128];
	size_t keylen, len;
	int keytype;

	const unsigned char *key =
	    (const unsigned char *)libssh2_session_hostkey(s, &keylen, &keytype);
	if (key == NULL) {
		snprintf(err, errlen, "%s: the server sent no host key", host);
		return -1;
	}
	type = key_type_name(keytype);
	knownhosts_fingerprint(key, keylen, fp, sizeof(fp));
	if (port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);

	for (size_t i = 0; i < 2 && r.result == KH_NOTFOUND; i++) {
		char *text = read_text(files[i], &len);
		if (text != NULL)
			knownhosts_check(text, len, host, port, type, key, keylen, &r);
		free(text);
		file = files[i];
	}
	switch (r.result) {
	case KH_MATCH:
		log_debug("host key for %s found in %s:%d (%s %s)", name, file, r.line, type, fp);
		return 0;
	case KH_REVOKED:
		snprintf(err, errlen,
		    "host key for %s (%s %s) is REVOKED in %s:%d; refusing to connect", name, type,
		    fp, file, r.line);
		return -1;
	case KH_MISMATCH:
		snprintf(err, errlen,
		    "host key for %s has CHANGED (now %s %s); %s:%d holds a different key; "
		    "refusing to connect (if the change is expected, remove that line)",
		    name, type, fp, file, r.line);
		return -1;
	case KH_NOTFOUND:
		break;
	}
	if (strict == STRICT_YES) {
		snprintf(err, errlen,
		    "host key for %s is not known (%s %s) and StrictHostKeyChecking is yes; "
		    "add it to %s",
		    name, type, fp, known_hosts);
		return -1;
	}
	if (strict == STRICT_ASK) {
		if (!tty_available()) {
			snprintf(err, errlen,
			    "host key for %s is not known (%s %s) and there is no terminal to ask; "
			    "use -o StrictHostKeyChecking=accept-new or add it to %s",
			    name, type, fp, known_hosts);
			return -1;
		}
		if (!ask_user(name, type, fp)) {
			snprintf(
			    err, errlen, "host key for %s (%s %s) not accepted", name, type, fp);
			return -1;
		}
	}
	if (append_entry(known_hosts, host, port, type, key, keylen, err, errlen) == -1)
		return -1;
	log_info("added host key for %s (%s %s) to %s", name, type, fp, known_hosts);
	return 0;
}
