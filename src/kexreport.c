/*
 * Handshake diagnosis. libssh2 reports a failed negotiation as "Unable to
 * exchange encryption keys" whatever failed; the server's KEXINIT, which
 * the transport receive path hands here, says what it was. Like ssh's
 * "Unable to negotiate", but naming porthole's side too, and the names the
 * build has that would have matched (to add with '+').
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "algolist.h"
#include "kexinit.h"
#include "kexreport.h"
#include "xmalloc.h"

#define SNIFF_MAX KEXINIT_INPUT_MAX /* past this kexinit_parse has always decided */

struct kexreport {
	unsigned char *data;
	size_t len;
	int state; /* 0 reading, 1 parsed, -1 not a KEXINIT we understand */
	struct kexinit kex;
};

struct kexreport *
kexreport_new(void)
{
	return xcalloc(1, sizeof(struct kexreport));
}

void
kexreport_free(struct kexreport *r)
{
	if (r == NULL)
		return;
	kexinit_free(&r->kex);
	free(r->data);
	free(r);
}

void
kexreport_feed(struct kexreport *r, const void *data, size_t len)
{
	char err[128];

	if (r->state != 0)
		return;
	if (len > SNIFF_MAX - r->len) {
		r->state = -1;
		return;
	}
	r->data = xrealloc(r->data, r->len + len);
	memcpy(r->data + r->len, data, len);
	r->len += len;
	r->state = kexinit_parse(r->data, r->len, &r->kex, err, sizeof(err));
	if (r->state != 0) {
		free(r->data);
		r->data = NULL;
		r->len = 0;
	}
}

bool
kexreport_have(const struct kexreport *r)
{
	return r != NULL && r->state == 1;
}

bool
kexreport_strict(const struct kexreport *r)
{
	return kexreport_have(r) &&
	    algolist_has(r->kex.lists[KEXINIT_KEX], "kex-strict-s-v00@openssh.com", 28);
}

/* Names of the server's list that this build has but did not offer: a hint. */
static void
could_add(const char *server, const char *offered, const char *supported, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = server; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n > 0 && algolist_has(supported, p, n) && !algolist_has(offered, p, n) &&
		    used + n + 2 < outlen)
			used += (size_t)snprintf(
			    out + used, outlen - used, "%s%.*s", used ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
}

/* The server's list as shown: without the pseudo-algorithms of its kex list. */
static void
shown_list(const char *list, char *out, size_t outlen)
{
	static const char *const pseudo[] = {
	    "ext-info-s", "kex-strict-s-v00@openssh.com", "kex-strict-c-v00@openssh.com"};
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		bool skip = n == 0;
		for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]) && !skip; i++)
			skip = strlen(pseudo[i]) == n && memcmp(pseudo[i], p, n) == 0;
		if (!skip && used + n + 2 < outlen)
			used += (size_t)snprintf(
			    out + used, outlen - used, "%s%.*s", used ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
}

/* "cipher" when both directions' lists are the same, else the direction too. */
static const char *
list_name(const struct kexinit *k, int bad)
{
	if ((bad == KEXINIT_CIPHER_CS || bad == KEXINIT_MAC_CS) &&
	    strcmp(k->lists[bad], k->lists[bad + 1]) == 0)
		return bad == KEXINIT_CIPHER_CS ? "cipher" : "MAC";
	return kexinit_list_name((enum kexinit_list)bad);
}

int
kexreport_explain(const struct kexreport *r, const struct options *o, const char *hostkey_prefs,
    const char *peer, char *out, size_t outlen)
{
	static const enum algo_kind kind_of[KEXINIT_LISTS] = {
	    [KEXINIT_KEX] = ALGO_KEX,
	    [KEXINIT_HOSTKEY] = ALGO_HOSTKEY,
	    [KEXINIT_CIPHER_CS] = ALGO_CIPHER,
	    [KEXINIT_CIPHER_SC] = ALGO_CIPHER,
	    [KEXINIT_MAC_CS] = ALGO_MAC,
	    [KEXINIT_MAC_SC] = ALGO_MAC,
	    [KEXINIT_COMP_CS] = ALGO_KINDS,
	    [KEXINIT_COMP_SC] = ALGO_KINDS,
	};
	const char *client[KEXINIT_LISTS];
	char hint[ALGOLIST_MAX];

	if (!kexreport_have(r))
		return -1;
	for (int i = 0; i < KEXINIT_LISTS; i++) {
		enum algo_kind k = kind_of[i];
		client[i] = k == ALGO_KINDS ? "none"
		    : k == ALGO_HOSTKEY	    ? hostkey_prefs
					    : algo_list(o, k);
	}
	int bad = kexinit_first_mismatch(&r->kex, client);
	if (bad < 0)
		return -1;
	enum algo_kind k = kind_of[bad];
	if (k != ALGO_KINDS)
		could_add(r->kex.lists[bad], client[bad], algo_supported(k), hint, sizeof(hint));
	else
		hint[0] = '\0';
	char theirs[ALGOLIST_MAX];
	shown_list(r->kex.lists[bad], theirs, sizeof(theirs));
	int n =
	    snprintf(out, outlen, "no common %s with %s: the server offers %s; porthole offers %s",
		list_name(&r->kex, bad), peer, theirs, client[bad]);
	if (hint[0] != '\0' && n >= 0 && (size_t)n < outlen)
		snprintf(out + n, outlen - (size_t)n,
		    " (this build also has %s: add it with -o %s=+%s)", hint, algo_keyword(k),
		    hint);
	else if (hint[0] == '\0' && n >= 0 && (size_t)n < outlen && k != ALGO_KINDS)
		snprintf(out + n, outlen - (size_t)n, " (libssh2 %s has none of the server's)",
		    libssh2_version(0));
	return 0;
}
