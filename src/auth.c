/*
 * Authentication. Every libssh2 userauth call may return EAGAIN, after which
 * it must be called again with the same arguments; so each phase keeps what
 * it passed (the current key, the passphrase) until its call completes.
 *
 *   LIST -> AGENT -> FILES -> KBDINT -> PASSWORD -> failed
 *        \_______________ any success ______________-> done
 *
 * Phases the server does not offer, or that need a terminal there is not,
 * are skipped; what was tried and why things were skipped goes into the
 * one-line failure message.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "hostkey.h"
#include "log.h"
#include "tty.h"
#include "xmalloc.h"

/* Each identity with its certificate(s) and alone, and each CertificateFile. */
#define MAX_ATTEMPTS (3 * OPTION_MAX_IDENTITIES + 3)

/* One publickey try: a private key file, and the certificate to present, if any. */
struct attempt {
	char *priv;
	char *cert;	     /* NULL: the plain key */
	unsigned char *blob; /* the public key or certificate offered; NULL if unknown */
	size_t bloblen;
	bool via_agent; /* the agent holds it and offered it already: not tried again */
};

enum phase {
	PHASE_LIST,
	PHASE_AGENT,
	PHASE_FILES,
	PHASE_KBDINT,
	PHASE_PASSWORD,
	PHASE_FAILED,
};

struct auth {
	LIBSSH2_SESSION *ssh;
	const struct options *opt;
	char *user;
	enum phase phase;
	char *methods;

	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *agent_key;
	bool agent_listed;
	int agent_pass;	   /* 0: keys of configured identities; 1: the others */
	int agent_keys;	   /* offered to the server */
	int agent_skipped; /* not offered: IdentitiesOnly and not a configured identity */
	bool agent_noted;  /* note_agent_tried has run */

	struct attempt attempts[MAX_ATTEMPTS];
	int n_attempts, file;
	bool file_ready; /* passphrase (if any) obtained for attempts[file].priv */
	int pass_tries;
	char secret[512]; /* passphrase or password for the call in flight */

	bool kbdint_done;
	int password_tries;
	bool password_ready;

	const char *server_said; /* the server's disconnect message; "" while connected */
	int offered;		 /* keys and certificates offered to the server */

	char tried[1024];
	char notes[1024];
};

static void
append(char *list, size_t size, const char *item)
{
	size_t len = strlen(list);
	snprintf(list + len, size - len, "%s%s", len ? ", " : "", item);
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the next SSH string from [*p, end); NULL if it does not fit. */
static const unsigned char *
get_string(const unsigned char **p, const unsigned char *end, uint32_t *len)
{
	const unsigned char *s;
	if (end - *p < 4)
		return NULL;
	*len = get_u32(*p);
	if ((size_t)(end - *p - 4) < *len)
		return NULL;
	s = *p + 4;
	*p = s + *len;
	return s;
}

/* The key blob of a .pub file (base64 after the type word); NULL if none. */
static unsigned char *
read_pub_blob(const char *path, size_t *len)
{
	char text[16384], *p, *end;
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	p = text + strcspn(text, " \t");
	p += strspn(p, " \t");
	end = p + strcspn(p, " \t\r\n");
	*end = '\0';
	if (*p == '\0')
		return NULL;
	unsigned char *blob = xmalloc(strlen(p));
	int out = EVP_DecodeBlock(blob, (const unsigned char *)p, (int)strlen(p));
	if (out <= 0) {
		free(blob);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as bytes. */
	size_t pad = 0;
	for (char *q = end; q > p && q[-1] == '=' && pad < 2; q--)
		pad++;
	*len = (size_t)out - pad;
	return blob;
}

static unsigned char *private_file_public_blob(const char *path, size_t *len);

/*
 * The public key of a private key file: its .pub beside it, else the
 * public half an openssh-key-v1 file carries in the clear (ssh reads it
 * there too). NULL if neither says.
 */
static unsigned char *
public_blob(const char *priv, size_t *len)
{
	char *pub = xmalloc(strlen(priv) + sizeof(".pub"));
	sprintf(pub, "%s.pub", priv);
	unsigned char *blob = read_pub_blob(pub, len);
	free(pub);
	return blob != NULL ? blob : private_file_public_blob(priv, len);
}

static void
add_attempt(struct auth *a, const char *priv, const char *cert)
{
	if (a->n_attempts == MAX_ATTEMPTS) {
		char note[700];
		snprintf(note, sizeof(note),
		    "%s%s%s not tried (more than %d keys and certificates)", priv,
		    cert ? " with " : "", cert ? cert : "", MAX_ATTEMPTS);
		append(a->notes, sizeof(a->notes), note);
		return;
	}
	struct attempt *t = &a->attempts[a->n_attempts++];
	t->priv = xstrdup(priv);
	t->cert = cert != NULL ? xstrdup(cert) : NULL;
	t->blob = cert != NULL ? read_pub_blob(cert, &t->bloblen) : public_blob(priv, &t->bloblen);
}

/*
 * Whether the certificate at cert_path certifies the key whose public half
 * is at pub_path. A certificate blob is its type, a nonce, then the same key
 * fields the plain public key has after its type (PROTOCOL.certkeys).
 */
static bool
cert_matches(const char *cert_path, const char *pub_path)
{
	size_t clen = 0, plen = 0;
	unsigned char *cert = read_pub_blob(cert_path, &clen);
	unsigned char *pub = read_pub_blob(pub_path, &plen);
	bool match = false;

	if (cert != NULL && pub != NULL) {
		const unsigned char *c = cert, *cend = cert + clen, *p = pub, *pend = pub + plen;
		uint32_t n;
		if (get_string(&c, cend, &n) != NULL && get_string(&c, cend, &n) != NULL &&
		    get_string(&p, pend, &n) != NULL)
			match = (size_t)(pend - p) <= (size_t)(cend - c) &&
			    memcmp(c, p, (size_t)(pend - p)) == 0;
	}
	free(cert);
	free(pub);
	return match;
}

/*
 * What to try, in ssh's order: for each identity, its certificates (the
 * "-cert.pub" beside it, then each CertificateFile whose key it is), then
 * the key alone.
 */
static void
plan_attempts(struct auth *a, char **files, int n_files)
{
	for (int i = 0; i < n_files; i++) {
		size_t len = strlen(files[i]);
		char *beside = xmalloc(len + sizeof("-cert.pub"));
		char *pub = xmalloc(len + sizeof(".pub"));
		sprintf(beside, "%s-cert.pub", files[i]);
		sprintf(pub, "%s.pub", files[i]);
		if (access(beside, R_OK) == 0)
			add_attempt(a, files[i], beside);
		for (int c = 0; c < a->opt->n_certificate_files; c++) {
			char *cert = hostkey_expand_path(a->opt->certificate_files[c]);
			if (strcmp(cert, beside) != 0 && cert_matches(cert, pub))
				add_attempt(a, files[i], cert);
			free(cert);
		}
		add_attempt(a, files[i], NULL);
		free(beside);
		free(pub);
	}
	for (int c = 0; c < a->opt->n_certificate_files; c++) {
		char *cert = hostkey_expand_path(a->opt->certificate_files[c]);
		bool used = false;
		for (int i = 0; i < a->n_attempts && !used; i++)
			used =
			    a->attempts[i].cert != NULL && strcmp(a->attempts[i].cert, cert) == 0;
		if (!used) {
			char note[600];
			snprintf(note, sizeof(note),
			    access(cert, R_OK) != 0 ? "cannot read CertificateFile %s"
						    : "CertificateFile %s: no identity file "
						      "holds its key (IdentityFile, with its .pub)",
			    cert);
			append(a->notes, sizeof(a->notes), note);
		}
		free(cert);
	}
}

struct auth *
auth_new(LIBSSH2_SESSION *ssh, const struct options *opt, const char *user, const char *server_said)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	static const char *const defaults[] = {
	    "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"};
	char *files[OPTION_MAX_IDENTITIES];
	int n = 0;

	a->ssh = ssh;
	a->opt = opt;
	a->server_said = server_said;
	a->user = xstrdup(user);
	if (opt->n_identity_files > 0) {
		for (int i = 0; i < opt->n_identity_files; i++)
			files[n++] = hostkey_expand_path(opt->identity_files[i]);
	} else {
		for (size_t i = 0; i < 3; i++) {
			char *path = hostkey_expand_path(defaults[i]);
			if (access(path, R_OK) == 0)
				files[n++] = path;
			else
				free(path);
		}
	}
	plan_attempts(a, files, n);
	for (int i = 0; i < n; i++)
		free(files[i]);
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	if (a->agent != NULL) {
		libssh2_agent_disconnect(a->agent);
		libssh2_agent_free(a->agent);
	}
	for (int i = 0; i < a->n_attempts; i++) {
		free(a->attempts[i].priv);
		free(a->attempts[i].cert);
		free(a->attempts[i].blob);
	}
	free(a->methods);
	free(a->user);
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	free(a);
}

static bool
offered(const struct auth *a, const char *method)
{
	size_t n = strlen(method);
	for (const char *p = a->methods; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, method, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* What the private key file is: its key type and whether it is encrypted. */
struct keyinfo {
	char type[32];
	bool encrypted;
	bool readable;
	unsigned char *pub; /* openssh-key-v1: the public key blob (free it); else NULL */
	size_t publen;
};

static void
inspect_openssh_key(const char *body, struct keyinfo *ki)
{
	static const char magic[] = "openssh-key-v1";
	size_t inlen = strlen(body);
	unsigned char *raw = xmalloc(inlen);
	int outl = 0, tail = 0;
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();

	if (ctx == NULL) {
		free(raw);
		return;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, raw, &outl, (const unsigned char *)body, (int)inlen) < 0 ||
	    EVP_DecodeFinal(ctx, raw + outl, &tail) < 0)
		outl = tail = 0;
	EVP_ENCODE_CTX_free(ctx);
	const unsigned char *p = raw, *end = raw + outl + tail, *s;
	uint32_t len, pubkeylen;
	if ((size_t)(end - p) < sizeof(magic) || memcmp(p, magic, sizeof(magic)) != 0)
		goto out;
	p += sizeof(magic);
	if ((s = get_string(&p, end, &len)) == NULL)
		goto out;
	ki->encrypted = !(len == 4 && memcmp(s, "none", 4) == 0);
	if (get_string(&p, end, &len) == NULL || get_string(&p, end, &len) == NULL || end - p < 4)
		goto out;
	p += 4; /* number of keys */
	const unsigned char *pub = get_string(&p, end, &pubkeylen);
	if (pub == NULL)
		goto out;
	const unsigned char *pend = pub + pubkeylen;
	ki->pub = xmalloc(pubkeylen > 0 ? pubkeylen : 1);
	memcpy(ki->pub, pub, pubkeylen);
	ki->publen = pubkeylen;
	if ((s = get_string(&pub, pend, &len)) != NULL && len < sizeof(ki->type)) {
		memcpy(ki->type, s, len);
		ki->type[len] = '\0';
	}
out:
	free(raw);
}

static void
inspect_key(const char *path, struct keyinfo *ki)
{
	FILE *f = fopen(path, "r");
	char text[16384];
	size_t n;

	memset(ki, 0, sizeof(*ki));
	if (f == NULL)
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	ki->readable = true;
	if (strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----") != NULL) {
		char *body = strchr(text, '\n');
		char *end = strstr(text, "-----END");
		if (body != NULL && end != NULL && end > body) {
			*end = '\0';
			inspect_openssh_key(body, ki);
		}
	} else if (strstr(text, "BEGIN RSA PRIVATE KEY") != NULL) {
		snprintf(ki->type, sizeof(ki->type), "ssh-rsa");
		ki->encrypted = strstr(text, "ENCRYPTED") != NULL;
	} else if (strstr(text, "BEGIN EC PRIVATE KEY") != NULL) {
		snprintf(ki->type, sizeof(ki->type), "ecdsa");
		ki->encrypted = strstr(text, "ENCRYPTED") != NULL;
	} else if (strstr(text, "BEGIN ENCRYPTED PRIVATE KEY") != NULL) {
		ki->encrypted = true;
	}
	OPENSSL_cleanse(text, sizeof(text));
}

static unsigned char *
private_file_public_blob(const char *path, size_t *len)
{
	struct keyinfo ki;

	inspect_key(path, &ki);
	*len = ki.publen;
	return ki.pub;
}

/* The next attempt; one with the same key file keeps its passphrase. */
static void
next_file(struct auth *a)
{
	a->file++;
	if (a->file < a->n_attempts &&
	    strcmp(a->attempts[a->file].priv, a->attempts[a->file - 1].priv) == 0)
		return;
	a->file_ready = false;
	a->pass_tries = 0;
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
}

/* Skips every remaining attempt with the current key file (it cannot be used). */
static void
skip_file(struct auth *a)
{
	const char *priv = a->attempts[a->file].priv;
	while (a->file + 1 < a->n_attempts && strcmp(a->attempts[a->file + 1].priv, priv) == 0)
		a->file++;
	a->file++;
	a->file_ready = false;
	a->pass_tries = 0;
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
}

/* The key type an agent identity's blob starts with, e.g. "ssh-rsa". */
static void
agent_key_type(const struct libssh2_agent_publickey *k, char *out, size_t outlen)
{
	const unsigned char *p = k->blob, *end = k->blob + k->blob_len, *s;
	uint32_t len;

	if ((s = get_string(&p, end, &len)) == NULL || len >= outlen)
		len = 0;
	memcpy(out, s != NULL ? (const char *)s : "", len);
	out[len] = '\0';
}

/* An agent key refused for its signature algorithm says so, as files do. */
static void
note_agent_refusal(struct auth *a, int rc)
{
	char type[64], note[600];

	agent_key_type(a->agent_key, type, sizeof(type));
	if (rc == LIBSSH2_ERROR_METHOD_NONE)
		snprintf(note, sizeof(note),
		    "ssh-agent key %s (%s): the server accepts none of its signature algorithms",
		    a->agent_key->comment, type);
	else if (LIBSSH2_VERSION_NUM < 0x010b00 && strncmp(type, "ssh-rsa", 7) == 0)
		snprintf(note, sizeof(note),
		    "ssh-agent key %s (%s): libssh2 %s signs RSA keys only with SHA-1 (ssh-rsa), "
		    "which OpenSSH 8.8 and later refuse",
		    a->agent_key->comment, type, LIBSSH2_VERSION);
	else
		return;
	append(a->notes, sizeof(a->notes), note);
}

/*
 * The agent's socket, from IdentityAgent as ssh reads it: "none" (no
 * agent), "SSH_AUTH_SOCK" or "$VAR" (that environment variable), "~/..."
 * or a path; unset, $SSH_AUTH_SOCK. NULL (with a note if the user asked for
 * an agent that is not there) when there is none to use. Free the result.
 */
static char *
agent_path(struct auth *a)
{
	const char *v = a->opt->identity_agent, *env = "SSH_AUTH_SOCK";
	char note[300];

	if (v != NULL && strcmp(v, "none") == 0)
		return NULL;
	if (v != NULL && strcmp(v, "SSH_AUTH_SOCK") != 0 && v[0] != '$')
		return hostkey_expand_path(v);
	if (v != NULL && v[0] == '$')
		env = v + 1 + (v[1] == '{'); /* "$VAR" or "${VAR}" */
	size_t n = strcspn(env, "}");
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)n, env);
	const char *sock = getenv(name);
	if (sock == NULL || *sock == '\0') {
		if (v != NULL) {
			snprintf(note, sizeof(note), "IdentityAgent %s: %s is not set", v, name);
			append(a->notes, sizeof(a->notes), note);
		}
		return NULL;
	}
	return xstrdup(sock);
}

/* The attempts whose key or certificate is this agent identity's. */
static bool
agent_key_configured(struct auth *a, const struct libssh2_agent_publickey *k, bool mark)
{
	bool found = false;

	for (int i = 0; i < a->n_attempts; i++) {
		struct attempt *t = &a->attempts[i];
		if (t->blob != NULL && t->bloblen == k->blob_len &&
		    memcmp(t->blob, k->blob, k->blob_len) == 0) {
			found = true;
			if (mark)
				t->via_agent = true;
		}
	}
	return found;
}

/*
 * The next agent identity to offer after prev (NULL: the first), in ssh's
 * order: first those that are a configured identity (IdentityFile,
 * CertificateFile, or the default files), then the others, which
 * IdentitiesOnly leaves out. Returns false at the end.
 */
static bool
next_agent_key(struct auth *a, struct libssh2_agent_publickey *prev)
{
	struct libssh2_agent_publickey *k = prev;

	for (; a->agent_pass < 2; a->agent_pass++, k = NULL) {
		while (libssh2_agent_get_identity(a->agent, &k, k) == 0) {
			bool configured = agent_key_configured(a, k, false);
			if (configured != (a->agent_pass == 0))
				continue;
			if (!configured && a->opt->identities_only == 1) {
				log_debug("ssh-agent key %s skipped: not an IdentityFile "
					  "(IdentitiesOnly)",
				    k->comment);
				a->agent_skipped++;
				continue;
			}
			a->agent_key = k;
			return true;
		}
	}
	a->agent_key = NULL;
	return false;
}

/* Says in the failure message what the agent phase did. */
static void
note_agent_tried(struct auth *a)
{
	char what[128];

	if (a->agent_noted)
		return;
	a->agent_noted = true;
	if (a->agent_keys > 0) {
		snprintf(what, sizeof(what), "ssh-agent (%d key%s)", a->agent_keys,
		    a->agent_keys == 1 ? "" : "s");
		append(a->tried, sizeof(a->tried), what);
	}
	if (a->agent_skipped > 0) {
		snprintf(what, sizeof(what),
		    "%d ssh-agent key%s not offered (IdentitiesOnly: not an IdentityFile)",
		    a->agent_skipped, a->agent_skipped == 1 ? "" : "s");
		append(a->notes, sizeof(a->notes), what);
	}
}

/* Connects to the agent and lists its keys; false if there is nothing to try. */
static bool
open_agent(struct auth *a)
{
	char *path = agent_path(a), note[400];

	if (path == NULL)
		return false;
	a->agent = libssh2_agent_init(a->ssh);
	if (a->agent == NULL) {
		free(path);
		return false;
	}
	libssh2_agent_set_identity_path(a->agent, path);
	/* The agent socket is local; connect and list block only briefly. */
	if (libssh2_agent_connect(a->agent) != 0) {
		snprintf(note, sizeof(note), "ssh-agent not reachable at %s", path);
		append(a->notes, sizeof(a->notes), note);
		free(path);
		return false;
	}
	log_debug("ssh-agent at %s", path);
	free(path);
	if (libssh2_agent_list_identities(a->agent) != 0) {
		append(a->notes, sizeof(a->notes), "ssh-agent did not list keys");
		return false;
	}
	a->agent_listed = true;
	return true;
}

/*
 * Agent keys, one at a time. Each step returns 1 only when libssh2 said
 * EAGAIN, 0 when authenticated, -1 when the phase has nothing left to try.
 */
static int
step_agent(struct auth *a)
{
	int rc;

	if (a->agent == NULL) {
		if (!open_agent(a))
			return -1;
		if (!next_agent_key(a, NULL)) {
			note_agent_tried(a);
			return -1;
		}
		a->agent_keys = 1;
	}
	if (!a->agent_listed || a->agent_key == NULL)
		return -1;
	for (;;) {
		rc = libssh2_agent_userauth(a->agent, a->user, a->agent_key);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 1;
		a->offered++;
		if (rc == 0) {
			log_debug("authenticated with ssh-agent key %s", a->agent_key->comment);
			return 0;
		}
		log_debug("ssh-agent key %s not accepted (%d)", a->agent_key->comment, rc);
		note_agent_refusal(a, rc);
		/* ssh does not offer a key again from its file once the agent has. */
		agent_key_configured(a, a->agent_key, true);
		if (a->server_said[0] != '\0') {
			note_agent_tried(a);
			return -1;
		}
		if (!next_agent_key(a, a->agent_key)) {
			note_agent_tried(a);
			return -1;
		}
		a->agent_keys++;
	}
}

/*
 * ssh ignores a private key file of the user's that group or others may
 * read or write ("UNPROTECTED PRIVATE KEY FILE"): whoever can read it holds
 * the key. Same rule, one line.
 */
static bool
key_private_enough(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (stat(path, &st) == -1 || st.st_uid != getuid() || (st.st_mode & 077) == 0)
		return true;
	snprintf(why, whylen,
	    "%s: permissions %04o are too open (others may read the private key); it is "
	    "ignored, as ssh does: chmod 600 %s",
	    path, (unsigned)(st.st_mode & 07777), path);
	return false;
}

/* Identity files in order. Same returns as step_agent. */
static int
step_files(struct auth *a)
{
	while (a->file < a->n_attempts) {
		const char *path = a->attempts[a->file].priv;
		const char *cert = a->attempts[a->file].cert;
		if (a->attempts[a->file].via_agent) {
			log_debug("%s%s%s: already offered through ssh-agent", path,
			    cert ? " with certificate " : "", cert ? cert : "");
			next_file(a);
			continue;
		}
		if (!a->file_ready) {
			struct keyinfo ki;
			char note[600];
			inspect_key(path, &ki);
			free(ki.pub);
			if (!ki.readable) {
				if (a->opt->n_identity_files > 0) {
					snprintf(note, sizeof(note), "cannot read %s", path);
					append(a->notes, sizeof(a->notes), note);
				}
				skip_file(a);
				continue;
			}
			if (!key_private_enough(path, note, sizeof(note))) {
				/* As ssh: warned about, and not used. */
				log_error("%s", note);
				append(a->notes, sizeof(a->notes), note);
				skip_file(a);
				continue;
			}
#if LIBSSH2_VERSION_NUM < 0x010b00
			if (strcmp(ki.type, "ssh-rsa") == 0) {
				snprintf(note, sizeof(note),
				    "RSA key %s skipped: libssh2 %s has no rsa-sha2 signatures, "
				    "use an ed25519 key",
				    path, LIBSSH2_VERSION);
				append(a->notes, sizeof(a->notes), note);
				skip_file(a);
				continue;
			}
#endif
			if (ki.encrypted) {
				char prompt[600];
				if (!tty_available()) {
					snprintf(note, sizeof(note),
					    "%s is encrypted and %s to ask for its passphrase "
					    "(load it into ssh-agent)",
					    path, tty_unavailable_why());
					append(a->notes, sizeof(a->notes), note);
					skip_file(a);
					continue;
				}
				snprintf(prompt, sizeof(prompt),
				    "Enter passphrase for key '%s': ", path);
				if (tty_prompt(prompt, false, a->secret, sizeof(a->secret)) == -1 ||
				    a->secret[0] == '\0') {
					skip_file(a);
					continue;
				}
				a->pass_tries++;
			}
			a->file_ready = true;
		}
		int rc = libssh2_userauth_publickey_fromfile_ex(
		    a->ssh, a->user, (unsigned int)strlen(a->user), cert, path, a->secret);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 1;
		if (rc != LIBSSH2_ERROR_FILE)
			a->offered++;
		if (rc == 0) {
			log_debug("authenticated with %s%s%s", path,
			    cert ? " and certificate " : "", cert ? cert : "");
			OPENSSL_cleanse(a->secret, sizeof(a->secret));
			return 0;
		}
		if (rc == LIBSSH2_ERROR_FILE && a->secret[0] != '\0' && a->pass_tries < 3) {
			/* Wrong passphrase: ask again, as ssh does. */
			a->file_ready = false;
			OPENSSL_cleanse(a->secret, sizeof(a->secret));
			if (tty_available()) {
				char prompt[600];
				snprintf(prompt, sizeof(prompt),
				    "Bad passphrase, try again for '%s': ", path);
				if (tty_prompt(prompt, false, a->secret, sizeof(a->secret)) == 0 &&
				    a->secret[0] != '\0') {
					a->pass_tries++;
					a->file_ready = true;
					continue;
				}
			}
		}
		char *msg = NULL;
		libssh2_session_last_error(a->ssh, &msg, NULL, 0);
		log_debug("key %s%s%s not accepted: %s (%d)", path,
		    cert ? " with certificate " : "", cert ? cert : "", msg ? msg : "", rc);
		if (rc == LIBSSH2_ERROR_METHOD_NONE) {
			char note[700];
			snprintf(note, sizeof(note),
			    "%s: the server accepts none of this key's signature algorithms", path);
			append(a->notes, sizeof(a->notes), note);
		}
		if (cert == NULL)
			append(a->tried, sizeof(a->tried), path);
		else {
			char what[700];
			snprintf(what, sizeof(what), "%s with certificate %s", path, cert);
			append(a->tried, sizeof(a->tried), what);
		}
		if (a->server_said[0] != '\0')
			return -1;
		next_file(a);
	}
	return -1;
}

static void
kbdint_cb(const char *name, int name_len, const char *instruction, int instruction_len,
    int num_prompts, const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts,
    LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses, void **abstract)
{
	for (int i = 0; i < num_prompts; i++) {
		char prompt[512], answer[512];
		snprintf(prompt, sizeof(prompt), "%.*s", (int)prompts[i].length,
		    (const char *)prompts[i].text);
		if (tty_prompt(prompt, prompts[i].echo != 0, answer, sizeof(answer)) == -1)
			answer[0] = '\0';
		/* libssh2 frees responses with its allocator, which is malloc here. */
		responses[i].text = strdup(answer);
		responses[i].length = responses[i].text ? (unsigned int)strlen(answer) : 0;
		OPENSSL_cleanse(answer, sizeof(answer));
	}
}

static int
step_kbdint(struct auth *a)
{
	if (a->kbdint_done || !offered(a, "keyboard-interactive"))
		return -1;
	if (!tty_available()) {
		char note[128];
		snprintf(note, sizeof(note), "keyboard-interactive not tried: %s",
		    tty_unavailable_why());
		append(a->notes, sizeof(a->notes), note);
		a->kbdint_done = true;
		return -1;
	}
	int rc = libssh2_userauth_keyboard_interactive_ex(
	    a->ssh, a->user, (unsigned int)strlen(a->user), kbdint_cb);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return 1;
	a->kbdint_done = true;
	if (rc == 0)
		return 0;
	append(a->tried, sizeof(a->tried), "keyboard-interactive");
	return -1;
}

static int
step_password(struct auth *a)
{
	if (!offered(a, "password"))
		return -1;
	for (;;) {
		if (!a->password_ready) {
			char prompt[600];
			if (a->password_tries >= 3)
				return -1;
			if (!tty_available()) {
				char note[128];
				snprintf(note, sizeof(note), "password not tried: %s",
				    tty_unavailable_why());
				append(a->notes, sizeof(a->notes), note);
				return -1;
			}
			snprintf(prompt, sizeof(prompt), "%s's password: ", a->user);
			if (tty_prompt(prompt, false, a->secret, sizeof(a->secret)) == -1)
				return -1;
			if (a->password_tries++ == 0)
				append(a->tried, sizeof(a->tried), "password");
			a->password_ready = true;
		}
		int rc =
		    libssh2_userauth_password_ex(a->ssh, a->user, (unsigned int)strlen(a->user),
			a->secret, (unsigned int)strlen(a->secret), NULL);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 1;
		OPENSSL_cleanse(a->secret, sizeof(a->secret));
		a->password_ready = false;
		if (rc == 0)
			return 0;
	}
}

/*
 * The server hung up mid-way (sshd's MaxAuthTries: "Too many authentication
 * failures"): say so, what was offered, and that the rest was not tried.
 */
static void
disconnected_error(struct auth *a, char *err, size_t errlen)
{
	bool agent_extra = a->agent_pass > 0 && a->opt->identities_only != 1;

	snprintf(err, errlen,
	    "authentication failed: the server disconnected after %d attempt%s, saying \"%s\" "
	    "(tried %s; the rest was not tried)%s",
	    a->offered, a->offered == 1 ? "" : "s", a->server_said,
	    a->tried[0] ? a->tried : "no key",
	    agent_extra ? "; -o IdentitiesOnly=yes offers only the configured keys from the "
			  "agent"
			: "");
}

int
auth_step(struct auth *a, char *err, size_t errlen)
{
	int rc;

	for (;;) {
		switch (a->phase) {
		case PHASE_LIST: {
			char *list =
			    libssh2_userauth_list(a->ssh, a->user, (unsigned int)strlen(a->user));
			if (list == NULL) {
				if (libssh2_userauth_authenticated(a->ssh))
					return 0;
				if (libssh2_session_last_errno(a->ssh) == LIBSSH2_ERROR_EAGAIN)
					return 1;
				snprintf(err, errlen, "authentication: server sent no methods");
				return -1;
			}
			a->methods = xstrdup(list);
			log_debug("server allows authentication: %s", a->methods);
			a->phase = offered(a, "publickey") ? PHASE_AGENT : PHASE_KBDINT;
			continue;
		}
		case PHASE_AGENT:
			rc = step_agent(a);
			break;
		case PHASE_FILES:
			rc = step_files(a);
			break;
		case PHASE_KBDINT:
			rc = step_kbdint(a);
			break;
		case PHASE_PASSWORD:
			rc = step_password(a);
			break;
		case PHASE_FAILED:
		default:
			if (a->server_said[0] != '\0') {
				disconnected_error(a, err, errlen);
				return -1;
			}
			snprintf(err, errlen,
			    "authentication failed (server allows %s; tried %s%s%s)",
			    a->methods ? a->methods : "nothing", a->tried[0] ? a->tried : "no key",
			    a->notes[0] ? "; " : "", a->notes);
			return -1;
		}
		if (rc == 0)
			return 0;
		if (rc == 1)
			return 1;
		if (a->server_said[0] != '\0')
			a->phase = PHASE_FAILED;
		else if (a->phase == PHASE_AGENT)
			a->phase = PHASE_FILES;
		else if (a->phase == PHASE_FILES)
			a->phase = PHASE_KBDINT;
		else if (a->phase == PHASE_KBDINT)
			a->phase = PHASE_PASSWORD;
		else
			a->phase = PHASE_FAILED;
	}
}
