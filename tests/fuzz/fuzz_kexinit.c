/*
 * Fuzz target for kexinit.c. The input is the start of what a server sent:
 * lines, a banner, packets. Besides not crashing or reading past the input,
 * a parse must keep the promises of kexinit.h: *out zeroed unless it
 * returns 1; an error text for -1; "more" only below KEXINIT_INPUT_MAX
 * bytes; cuts of the input giving 0 or the same answer as the whole; and what
 * it returns safe to print and use (a printable banner of a version it
 * accepts, lists of printable names, none empty, within their limits). The
 * lists found, and the input itself taken as a comma list, then go through
 * kexinit_common and kexinit_first_mismatch, whose answers must agree with
 * each other.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexinit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIST_TEXT_MAX 4096 /* of the input, taken as a comma list */

static char common[2 * KEXINIT_LIST_MAX + 2];

static bool
zeroed(const struct kexinit *k)
{
	static const struct kexinit zero;
	return memcmp(k, &zero, sizeof(zero)) == 0;
}

static bool
same(const struct kexinit *a, const struct kexinit *b)
{
	if (strcmp(a->banner, b->banner) != 0)
		return false;
	for (int i = 0; i < KEXINIT_LISTS; i++)
		if (strcmp(a->lists[i], b->lists[i]) != 0)
			return false;
	return true;
}

static void
check_banner(const char *b)
{
	size_t n = strnlen(b, 256);
	if (n == 256 || n > KEXINIT_BANNER_MAX - 1)
		abort();
	if (strncmp(b, "SSH-2.0-", 8) != 0 && strncmp(b, "SSH-1.99-", 9) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			abort();
}

static void
check_list(const char *s)
{
	size_t n = strlen(s);
	if (n > KEXINIT_LIST_MAX)
		abort();
	if (n == 0)
		return;
	if (s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,") != NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			abort();
}

/* Every name of out (a comma list) is in both lists, and there are count of them at most. */
static void
check_common(const char *a, const char *b, int count)
{
	if (count < 0)
		abort();
	int names = 0;
	for (const char *p = common; *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (len == 0)
			abort();
		char name[KEXINIT_LIST_MAX + 1];
		memcpy(name, p, len);
		name[len] = '\0';
		if (kexinit_common(name, a, NULL, 0) != 1 || kexinit_common(name, b, NULL, 0) != 1)
			abort();
		names++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (names > count)
		abort();
}

static void
fuzz_lists(const struct kexinit *k, const char *text)
{
	for (int i = 0; i < KEXINIT_LISTS; i++) {
		const char *l = k->lists[i];
		/* Against itself: every distinct name that is not a pseudo-algorithm, all of them.
		 */
		int self = kexinit_common(l, l, common, sizeof(common));
		check_common(l, l, self);
		if (kexinit_common(common, l, NULL, 0) != self)
			abort();
		/* Against the input as a list: symmetric, and within both. */
		int n = kexinit_common(text, l, common, sizeof(common));
		check_common(text, l, n);
		if (kexinit_common(l, text, NULL, 0) != n || n > self)
			abort();
	}

	/* Offering the server its own lists fails only at a list with nothing to agree on. */
	const char *client[KEXINIT_LISTS];
	for (int i = 0; i < KEXINIT_LISTS; i++)
		client[i] = k->lists[i];
	int m = kexinit_first_mismatch(k, client);
	if (m < -1 || m >= KEXINIT_LISTS)
		abort();
	if (m >= 0 && kexinit_common(k->lists[m], k->lists[m], NULL, 0) != 0)
		abort();
	for (int i = 0; i < (m < 0 ? KEXINIT_LISTS : m); i++)
		if (i != KEXINIT_MAC_CS && i != KEXINIT_MAC_SC &&
		    kexinit_common(k->lists[i], k->lists[i], NULL, 0) == 0)
			abort();
	/* And a client offering nothing fails at the first list. */
	const char *nothing[KEXINIT_LISTS] = {0};
	if (kexinit_first_mismatch(k, nothing) != KEXINIT_KEX)
		abort();
	if (m >= 0 && kexinit_list_name((enum kexinit_list)m)[0] == '\0')
		abort();
}

/* A cut of the input gives "more" or the answer the whole gives. */
static void
check_cut(const uint8_t *data, size_t n, int r, const struct kexinit *whole, const char *err)
{
	struct kexinit k;
	char cut_err[128] = "";

	int c = kexinit_parse(data, n, &k, cut_err, sizeof(cut_err));
	if (c == 0) {
		if (!zeroed(&k))
			abort();
		return;
	}
	if (c != r || (c == -1 && strcmp(cut_err, err) != 0) || (c == 1 && !same(&k, whole)))
		abort();
	kexinit_free(&k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kexinit k;
	char err[128] = "";

	int r = kexinit_parse(data, size, &k, err, sizeof(err));
	switch (r) {
	case -1:
		if (err[0] == '\0' || strnlen(err, sizeof(err)) == sizeof(err) || !zeroed(&k))
			abort();
		break;
	case 0:
		if (!zeroed(&k) || size >= KEXINIT_INPUT_MAX)
			abort();
		break;
	case 1:
		check_banner(k.banner);
		for (int i = 0; i < KEXINIT_LISTS; i++) {
			if (k.lists[i] == NULL)
				abort();
			check_list(k.lists[i]);
		}
		break;
	default:
		abort();
	}
	if (size > 0) {
		check_cut(data, size - 1, r, &k, err);
		check_cut(data, size / 2, r, &k, err);
	}
	if (r == 1) {
		char text[LIST_TEXT_MAX + 1];
		size_t n = size < LIST_TEXT_MAX ? size : LIST_TEXT_MAX;
		memcpy(text, data, n);
		text[n] = '\0';
		fuzz_lists(&k, text);
	}
	kexinit_free(&k);
	if (!zeroed(&k))
		abort();
	return 0;
}
