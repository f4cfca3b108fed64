/*
 * authorized_keys lines, as sshd reads them: "[options] keytype base64
 * [comment]". The options field is there when the first word is not a key
 * type; its options are separated by commas outside double quotes. Only the
 * first option matters here.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "authkeys.h"
#include "textline.h"

/* Key types start like these (OpenSSH's, FIDO keys and certificates too). */
static bool
is_key_type(const char *s, size_t n)
{
	static const char *const prefixes[] = {"ssh-", "ecdsa-", "sk-", "rsa-sha2-"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t p = strlen(prefixes[i]);
		if (n > p && strncmp(s, prefixes[i], p) == 0)
			return true;
	}
	return false;
}

/* Whether the line's options start with "restrict" (a lone key line does not). */
static bool
restricted(const char *line, size_t n)
{
	size_t i = 0, word;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	word = i;
	while (i < n && line[i] != ' ' && line[i] != '\t')
		i++;
	if (is_key_type(line + word, i - word))
		return false;
	return i - word >= 8 && strncasecmp(line + word, "restrict", 8) == 0 &&
	    (i - word == 8 || line[word + 8] == ',');
}

int
authkeys_unrestricted(const char *text, size_t len)
{
	struct textline t = {text, text != NULL ? len : 0, 0, 0};
	const char *line;
	size_t n;

	while (textline_next(&t, &line, &n)) {
		size_t i = 0;
		while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i == n || line[i] == '#')
			continue;
		if (!restricted(line, n))
			return t.lineno;
	}
	return 0;
}
