/*
 * Host key checking, as ssh does it: every UserKnownHostsFile and
 * GlobalKnownHostsFile is read (each whole, once per check: they are small)
 * and the host is looked up under its HostKeyAlias if it has one. A key
 * found in any file is trusted, whatever the others say, unless a file
 * marks it @revoked; a key of a type some file holds another key of is a
 * changed key, always refused. New keys are appended as hashed lines to the
 * first user file; no file is ever rewritten.
 *
 * A host certificate is trusted when an @cert-authority line for the host
 * holds its CA, the CA's signature holds, and ssh's checks pass (a host
 * certificate, the name among its principals, now within its validity).
 * As ssh, one that fails is refused unless its key is itself known; with
 * no @cert-authority line for the host its key is checked as a plain key.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "algo.h"
#include "algolist.h"
#include "hostkey.h"
#include "knownhosts.h"
#include "sshcert.h"
#include "log.h"
#include "tty.h"
#include "xmalloc.h"

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

/* libssh2 can verify a key exchange signed with a certified host key (scripts/libssh2-patches). */
#ifdef LIBSSH2_PORTHOLE_HOST_CERTIFICATES
#define HOST_CERTIFICATES true
#else
#define HOST_CERTIFICATES false
#endif

/* ssh's certificate host key algorithms, offered first when a CA is known for the host. */
#define CERT_ALGORITHMS                                                                            \
	"ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"               \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"       \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com"

/* Where a new key would go, for messages. */
static const char *
first_user_file(const struct hostkey_policy *p)
{
	return p->n_user > 0 ? p->user_files[0] : "a UserKnownHostsFile";
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

/* Splits a file list and expands ~; "none" means no file at all. */
static int
split_files(const char *value, char **out)
{
	char err[200];
	int n = option_split_words(value, out, OPTION_MAX_FILES, err, sizeof(err));

	if (n == -1) {
		/* option_set checked the value; this cannot happen. */
		log_error("%s", err);
		return 0;
	}
	if (n == 1 && strcmp(out[0], "none") == 0) {
		free(out[0]);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char *path = hostkey_expand_path(out[i]);
		free(out[i]);
		out[i] = path;
	}
	return n;
}

void
hostkey_policy_init(struct hostkey_policy *p, const struct options *o, const char *host, int port)
{
	memset(p, 0, sizeof(*p));
	p->n_user = split_files(
	    o->known_hosts ? o->known_hosts : OPTION_DEFAULT_USER_KNOWN_HOSTS, p->user_files);
	p->n_global = split_files(
	    o->global_known_hosts ? o->global_known_hosts : OPTION_DEFAULT_GLOBAL_KNOWN_HOSTS,
	    p->global_files);
	p->name = xstrdup(o->host_key_alias ? o->host_key_alias : host);
	p->port = o->host_key_alias ? 0 : port;
	p->strict = o->strict_hostkey == -1 ? STRICT_ASK : (enum strict_hostkey)o->strict_hostkey;
	p->check_host_ip = o->check_host_ip == 1;
}

void
hostkey_policy_free(struct hostkey_policy *p)
{
	for (int i = 0; i < p->n_user; i++)
		free(p->user_files[i]);
	for (int i = 0; i < p->n_global; i++)
		free(p->global_files[i]);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

/* The i-th file of the policy: user files first, then global ones; NULL past the end. */
static const char *
policy_file(const struct hostkey_policy *p, int i)
{
	if (i < p->n_user)
		return p->user_files[i];
	if (i < p->n_user + p->n_global)
		return p->global_files[i - p->n_user];
	return NULL;
}

/*
 * ssh's "checking without port identifier": on a port other than 22, and
 * without HostKeyAlias, a host that nothing is known for as [host]:port is
 * looked up again as the bare host name, where a matching key (or CA, or a
 * revocation) counts. Fills bare and returns true when that applies.
 */
static bool
bare_policy(const struct hostkey_policy *p, struct hostkey_policy *bare)
{
	if (p->port == 0 || p->port == 22)
		return false;
	*bare = *p;
	bare->port = 0;
	return true;
}

/* Appends the comma-separated names of more to list (of size cap) that it lacks. */
static void
merge_types(char *list, size_t cap, const char *more)
{
	for (const char *p = more; *p != '\0';) {
		size_t n = strcspn(p, ",");
		bool have = false;
		for (const char *q = list; *q != '\0' && !have;) {
			size_t m = strcspn(q, ",");
			have = m == n && memcmp(p, q, n) == 0;
			q += m + (q[m] == ',');
		}
		size_t used = strlen(list);
		if (!have && used + n + 2 <= cap)
			snprintf(list + used, cap - used, "%s%.*s", used ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
}

void
hostkey_set_prefs(LIBSSH2_SESSION *s, const char *list, bool is_default,
    const struct hostkey_policy *p, char *used, size_t usedlen)
{
	char known[512] = "", prefs[ALGOLIST_MAX], dropped[ALGOLIST_MAX], err[256];
	const char *file;
	bool has_ca = false;
	size_t len;

	struct hostkey_policy bare;
	const struct hostkey_policy *look[2] = {p, bare_policy(p, &bare) ? &bare : NULL};
	/* [host]:port, and the bare host if nothing is known under that (as verify looks). */
	for (int k = 0; k < 2 && look[k] != NULL && known[0] == '\0' && !has_ca; k++) {
		for (int i = 0; is_default && (file = policy_file(look[k], i)) != NULL; i++) {
			char types[512];
			bool ca = false;
			char *text = read_text(file, &len);
			if (text != NULL &&
			    knownhosts_host_types(text, len, look[k]->name, look[k]->port, types,
				sizeof(types), &ca) > 0)
				merge_types(known, sizeof(known), types);
			has_ca |= ca;
			free(text);
		}
	}
	/*
	 * "^known types": the default list with what known_hosts has first;
	 * with an @cert-authority line for the host, every certificate
	 * algorithm before them, as ssh orders them.
	 */
	char spec[sizeof(known) * 3 + sizeof(CERT_ALGORITHMS) + 2] = "^";
	if (has_ca && HOST_CERTIFICATES)
		snprintf(spec + 1, sizeof(spec) - 1, "%s", CERT_ALGORITHMS);
	for (const char *k = known; *k != '\0';) {
		size_t n = strcspn(k, ",");
		const char *algs = algorithms_for_type(k, n);
		size_t at = strlen(spec);
		snprintf(spec + at, sizeof(spec) - at, "%s%.*s", at > 1 ? "," : "",
		    algs ? (int)strlen(algs) : (int)n, algs ? algs : k);
		k += n + (k[n] == ',');
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

/* The strongest verdict over every file: revoked, then match, then the first mismatch. */
struct verdict {
	struct kh_lookup r;
	const char *file;
	bool bare; /* found under the host name without its port */
};

/*
 * The best verdict for key over every known_hosts file (a revocation beats a
 * match beats a different key); type NULL looks key up as a CA instead.
 */
static void
look_up_everywhere(const struct hostkey_policy *p, const char *type, const unsigned char *key,
    size_t keylen, struct verdict *v)
{
	static const int rank[] = {
	    [KH_NOTFOUND] = 0, [KH_MISMATCH] = 1, [KH_MATCH] = 2, [KH_REVOKED] = 3};
	const char *file;
	size_t len;

	v->r = (struct kh_lookup){KH_NOTFOUND, 0};
	v->file = NULL;
	v->bare = false;
	for (int i = 0; (file = policy_file(p, i)) != NULL; i++) {
		struct kh_lookup r;
		char *text = read_text(file, &len);
		if (text == NULL) {
			log_debug3("known hosts file %s: %s", file, strerror(errno));
			continue;
		}
		if (type != NULL)
			knownhosts_check(text, len, p->name, p->port, type, key, keylen, &r);
		else
			knownhosts_check_ca(text, len, p->name, p->port, key, keylen, &r);
		free(text);
		if (rank[r.result] > rank[v->r.result]) {
			v->r = r;
			v->file = file;
		}
	}
}

/*
 * A key under [host]:port, then (as ssh) under the bare host: there only a
 * match or a revocation counts, a different key there does not make this
 * one changed.
 */
static void
look_up_key(const struct hostkey_policy *p, const char *type, const unsigned char *key,
    size_t keylen, struct verdict *v)
{
	struct hostkey_policy bare;
	struct verdict b;

	look_up_everywhere(p, type, key, keylen, v);
	if (v->r.result != KH_NOTFOUND || !bare_policy(p, &bare))
		return;
	look_up_everywhere(&bare, type, key, keylen, &b);
	if (b.r.result == KH_MATCH || b.r.result == KH_REVOKED) {
		*v = b;
		v->bare = true;
	}
}

/* Said once per run: StrictHostKeyChecking=no is accept-new here. */
static void
warn_strict_no(void)
{
	static bool said;

	if (said)
		return;
	said = true;
	log_info("StrictHostKeyChecking no: new host keys are accepted and recorded as with "
		 "accept-new; a changed host key is still refused");
}

static void
note_check_host_ip(void)
{
	static bool said;

	if (said)
		return;
	said = true;
	log_info("CheckHostIP yes: porthole checks the host key under the host name only; "
		 "the server's address is neither checked nor recorded");
}

/* A new key under accept-new, ask or no: record it in the first user file. */
static int
record_new_key(const struct hostkey_policy *p, const char *shown, const char *type,
    const unsigned char *key, size_t keylen, const char *fp, char *err, size_t errlen)
{
	if (p->n_user == 0) {
		log_info("accepted host key for %s (%s %s); not recorded: UserKnownHostsFile is "
			 "none",
		    shown, type, fp);
		return 0;
	}
	if (append_entry(p->user_files[0], p->name, p->port, type, key, keylen, err, errlen) == -1)
		return -1;
	log_info("added host key for %s (%s %s) to %s", shown, type, fp, p->user_files[0]);
	return 0;
}

/* A plain host key: known, revoked, changed, or new (then StrictHostKeyChecking decides). */
static int
verify_plain(const struct hostkey_policy *p, const char *shown, const char *type,
    const unsigned char *key, size_t keylen, char *err, size_t errlen)
{
	char fp[128];
	struct verdict v;

	knownhosts_fingerprint(key, keylen, fp, sizeof(fp));
	look_up_key(p, type, key, keylen, &v);

	switch (v.r.result) {
	case KH_MATCH:
		log_debug("host key for %s found in %s:%d%s (%s %s)", shown, v.file, v.r.line,
		    v.bare ? " under the host name without the port, as ssh looks it up" : "", type,
		    fp);
		return 0;
	case KH_REVOKED:
		snprintf(err, errlen,
		    "host key for %s (%s %s) is REVOKED in %s:%d; refusing to connect", shown, type,
		    fp, v.file, v.r.line);
		return -1;
	case KH_MISMATCH:
		snprintf(err, errlen,
		    "host key for %s has CHANGED (now %s %s); %s:%d holds a different key; "
		    "refusing to connect%s (if the change is expected, remove that line)",
		    shown, type, fp, v.file, v.r.line,
		    p->strict == STRICT_NO ? " even with StrictHostKeyChecking no" : "");
		return -1;
	case KH_NOTFOUND:
		break;
	}
	if (p->strict == STRICT_YES) {
		snprintf(err, errlen,
		    "host key for %s is not known (%s %s) and StrictHostKeyChecking is yes; "
		    "add it to %s",
		    shown, type, fp, first_user_file(p));
		return -1;
	}
	if (p->strict == STRICT_ASK) {
		if (!tty_available()) {
			snprintf(err, errlen,
			    "host key for %s is not known (%s %s) and %s to ask; "
			    "use -o StrictHostKeyChecking=accept-new or add it to %s",
			    shown, type, fp, tty_unavailable_why(), first_user_file(p));
			return -1;
		}
		if (!ask_user(shown, type, fp)) {
			snprintf(
			    err, errlen, "host key for %s (%s %s) not accepted", shown, type, fp);
			return -1;
		}
	}
	return record_new_key(p, shown, type, key, keylen, fp, err, errlen);
}

/* The CA's verdict over every file (its @cert-authority lines), ranked as keys are. */
static void
look_up_ca_everywhere(
    const struct hostkey_policy *p, const unsigned char *ca, size_t calen, struct verdict *v)
{
	look_up_everywhere(p, NULL, ca, calen, v);
}

/* The key type a blob starts with ("ssh-ed25519-cert-v01@openssh.com"); false if none. */
static bool
blob_type(const unsigned char *key, size_t keylen, char *out, size_t outlen)
{
	if (keylen < 4)
		return false;
	size_t n = (size_t)key[0] << 24 | (size_t)key[1] << 16 | (size_t)key[2] << 8 | key[3];
	if (n == 0 || n >= outlen || n > keylen - 4)
		return false;
	memcpy(out, key + 4, n);
	out[n] = '\0';
	return strlen(out) == n;
}

/*
 * Why the certificate is not good for this host (into why), or "" if it is:
 * its CA trusted by an @cert-authority line for the host, its signature,
 * then ssh's checks (host certificate, principal, validity). ca gets the
 * @cert-authority or @revoked line that decided.
 */
static enum kh_result
judge_cert(const struct hostkey_policy *p, const unsigned char *key, const struct sshcert *c,
    struct verdict *ca, char *why, size_t whylen)
{
	char fp[128];

	why[0] = '\0';
	struct hostkey_policy bare;
	look_up_ca_everywhere(p, c->signature_key.p, c->signature_key.len, ca);
	if (ca->r.result == KH_NOTFOUND && bare_policy(p, &bare)) {
		look_up_ca_everywhere(&bare, c->signature_key.p, c->signature_key.len, ca);
		ca->bare = ca->r.result != KH_NOTFOUND;
	}
	knownhosts_fingerprint(c->signature_key.p, c->signature_key.len, fp, sizeof(fp));
	switch (ca->r.result) {
	case KH_REVOKED:
		snprintf(why, whylen, "its CA (%s) is REVOKED in %s:%d", fp, ca->file, ca->r.line);
		return KH_REVOKED;
	case KH_MISMATCH:
		snprintf(why, whylen,
		    "its CA (%s) is not the one %s:%d trusts for this host (wrong CA)", fp,
		    ca->file, ca->r.line);
		return KH_MISMATCH;
	case KH_NOTFOUND:
		snprintf(
		    why, whylen, "no @cert-authority line for this host trusts its CA (%s)", fp);
		return KH_NOTFOUND;
	case KH_MATCH:
		break;
	}
	char reason[512];
	if (sshcert_verify(key, c, reason, sizeof(reason)) == -1 ||
	    sshcert_check_host(c, p->name, (uint64_t)time(NULL), reason, sizeof(reason)) == -1) {
		snprintf(why, whylen, "%s", reason);
		return KH_MISMATCH;
	}
	return KH_MATCH;
}

/*
 * A host certificate. Returns 0 (trusted), -1 (refused, err says why) or 1
 * (no CA is configured for this host: the certified key is checked as a
 * plain key, *plain and *plainlen set; the caller frees *plain). As ssh: a
 * certificate that fails is refused unless its key is itself known.
 */
static int
verify_cert(const struct hostkey_policy *p, const unsigned char *key, size_t keylen,
    const char *shown, unsigned char **plain, size_t *plainlen, char *err, size_t errlen)
{
	struct sshcert c;
	struct verdict ca, own;
	char why[600], id[80];

	if (sshcert_parse(key, keylen, &c, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "host certificate of %s refused: %s", shown, why);
		return -1;
	}
	enum kh_result r = judge_cert(p, key, &c, &ca, why, sizeof(why));
	snprintf(id, sizeof(id), "%.*s", (int)(c.key_id.len > 60 ? 60 : c.key_id.len),
	    (const char *)c.key_id.p);
	for (char *q = id; *q != '\0'; q++)
		if ((unsigned char)*q < ' ' || *q == 0x7f)
			*q = '?';
	if (r == KH_MATCH) {
		log_verbose("host certificate of %s (%s, key id \"%s\", serial %llu) signed by the "
			    "CA in %s:%d",
		    shown, c.type, id, (unsigned long long)c.serial, ca.file, ca.r.line);
		return 0;
	}
	*plain = sshcert_plain_key(&c, plainlen);
	look_up_key(p, c.key_type, *plain, *plainlen, &own);
	if (r == KH_NOTFOUND && ca.file == NULL && own.r.result != KH_REVOKED) {
		log_debug("host certificate of %s: no @cert-authority line for it; checking its "
			  "key",
		    shown);
		return 1;
	}
	if (r != KH_REVOKED && own.r.result == KH_MATCH) {
		log_info("host certificate of %s not accepted (%s); its key is known in %s:%d",
		    shown, why, own.file, own.r.line);
		return 0;
	}
	if (own.r.result == KH_REVOKED)
		snprintf(why, sizeof(why), "its key is REVOKED in %s:%d", own.file, own.r.line);
	snprintf(err, errlen, "host certificate of %s (key id \"%s\") refused: %s", shown, id, why);
	return -1;
}

int
hostkey_verify(LIBSSH2_SESSION *s, const struct hostkey_policy *p, char *err, size_t errlen)
{
	char type[64], shown[300];
	size_t keylen;
	int keytype;
	unsigned char *plain = NULL;

	const unsigned char *key =
	    (const unsigned char *)libssh2_session_hostkey(s, &keylen, &keytype);
	if (key == NULL) {
		snprintf(err, errlen, "%s: the server sent no host key", p->name);
		return -1;
	}
	if (p->strict == STRICT_NO)
		warn_strict_no();
	if (p->check_host_ip)
		note_check_host_ip();
	if (p->port == 22 || p->port == 0)
		snprintf(shown, sizeof(shown), "%s", p->name);
	else
		snprintf(shown, sizeof(shown), "[%s]:%d", p->name, p->port);
	if (!blob_type(key, keylen, type, sizeof(type)))
		snprintf(type, sizeof(type), "%s", key_type_name(keytype));
	if (sshcert_is_cert_type(type, strlen(type))) {
		int rc = verify_cert(p, key, keylen, shown, &plain, &keylen, err, errlen);
		if (rc != 1) {
			free(plain);
			return rc;
		}
		key = plain;
		blob_type(key, keylen, type, sizeof(type));
	}
	int rc = verify_plain(p, shown, type, key, keylen, err, errlen);
	free(plain);
	return rc;
}
