/*
 * Service file text. Each writer appends to a fixed buffer and remembers
 * whether anything did not fit, so the text functions read top to bottom
 * like the files they write and check once at the end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "servicefile.h"

struct text {
	char *out;
	size_t cap, len;
	bool failed; /* too long, or a character that cannot be written */
};

static void
put_char(struct text *t, char ch)
{
	if (t->len + 1 >= t->cap) {
		t->failed = true;
		return;
	}
	t->out[t->len++] = ch;
	t->out[t->len] = '\0';
}

static void
put(struct text *t, const char *s)
{
	while (*s != '\0')
		put_char(t, *s++);
}

static int
finish(struct text *t)
{
	if (t->failed) {
		if (t->cap > 0)
			t->out[0] = '\0';
		return -1;
	}
	return 0;
}

static void
text_init(struct text *t, char *out, size_t outlen)
{
	t->out = out;
	t->cap = outlen;
	t->len = 0;
	t->failed = outlen == 0;
	if (outlen > 0)
		out[0] = '\0';
}

bool
servicefile_name_ok(const char *profile)
{
	size_t n = 0;

	while ((profile[n] >= 'a' && profile[n] <= 'z') ||
	    (profile[n] >= 'A' && profile[n] <= 'Z') || (profile[n] >= '0' && profile[n] <= '9') ||
	    profile[n] == '.' || profile[n] == '_' || profile[n] == '-')
		n++;
	return n > 0 && n <= CONFIG_NAME_MAX && profile[n] == '\0';
}

/* Characters an ExecStart= word may hold without quotes. */
static bool
is_plain(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    strchr("/._+,=@:-", ch) != NULL || ch >= 0x80;
}

/*
 * One word of a unit file's command line. systemd expands "%" specifiers in
 * the whole line, so "%" is doubled everywhere; it expands "$VAR" in the
 * arguments, quoted or not, but not in the executable, so "$" is doubled in
 * arguments only. Inside double quotes it understands C escapes. It refuses
 * an executable name holding a quote, a backslash or a control character,
 * however written: that word fails.
 */
static void
put_exec_word(struct text *t, const char *word, bool executable)
{
	const unsigned char *p = (const unsigned char *)word;
	bool quote = *p == '\0';

	for (const unsigned char *q = p; *q != '\0' && !quote; q++)
		quote = !is_plain(*q) && *q != '%' && *q != '$';
	if (quote)
		put_char(t, '"');
	for (; *p != '\0'; p++) {
		char esc[8];
		bool special = *p == '"' || *p == '\'' || *p == '\\' || *p < 0x20 || *p == 0x7f;
		if (executable && special) {
			t->failed = true;
		} else if (*p == '%' || (*p == '$' && !executable)) {
			put_char(t, (char)*p);
			put_char(t, (char)*p);
		} else if (*p == '"' || *p == '\\') {
			put_char(t, '\\');
			put_char(t, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			put(t, esc);
		} else {
			put_char(t, (char)*p);
		}
	}
	if (quote)
		put_char(t, '"');
}

/* A value outside ExecStart=: only "%" specifiers are expanded there. */
static void
put_unit_value(struct text *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			put_char(t, '%');
		put_char(t, *s == '\n' ? ' ' : *s);
	}
}

int
servicefile_unit_text(
    const char *exe, const char *config_file, const char *profile, char *out, size_t outlen)
{
	struct text t;

	text_init(&t, out, outlen);
	t.failed |= !servicefile_name_ok(profile);
	put(&t, "# Written by porthole service install ");
	put(&t, profile);
	put(&t, "; porthole service uninstall ");
	put(&t, profile);
	put(&t, " removes it.\n");
	put(&t, "[Unit]\nDescription=porthole profile ");
	put_unit_value(&t, profile);
	put(&t,
	    "\nDocumentation=man:porthole(1)\n"
	    "StartLimitIntervalSec=0\n"
	    "\n[Service]\nExecStart=");
	put_exec_word(&t, exe, true);
	if (config_file != NULL) {
		put(&t, " -F ");
		put_exec_word(&t, config_file, false);
	}
	put_char(&t, ' ');
	put_exec_word(&t, profile, false);
	put(&t,
	    "\nRestart=on-failure\n"
	    "RestartSec=30s\n"
	    "RestartPreventExitStatus=2\n"
	    "\n[Install]\nWantedBy=default.target\n");
	return finish(&t);
}

static void
put_xml(struct text *t, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			put(t, "&amp;");
			break;
		case '<':
			put(t, "&lt;");
			break;
		case '>':
			put(t, "&gt;");
			break;
		case '"':
			put(t, "&quot;");
			break;
		case '\'':
			put(t, "&apos;");
			break;
		default:
			if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
				t->failed = true;
			else
				put_char(t, (char)*p);
		}
	}
}

static void
put_string_element(struct text *t, const char *indent, const char *s)
{
	put(t, indent);
	put(t, "<string>");
	put_xml(t, s);
	put(t, "</string>\n");
}

int
servicefile_plist_text(const char *exe, const char *config_file, const char *profile,
    const char *log_path, char *out, size_t outlen)
{
	struct text t;

	text_init(&t, out, outlen);
	t.failed |= !servicefile_name_ok(profile);
	put(&t,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<!-- Written by porthole service install; porthole service uninstall removes it. -->\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>Label</key>\n\t<string>net.porthole.");
	put_xml(&t, profile);
	put(&t, "</string>\n\t<key>ProgramArguments</key>\n\t<array>\n");
	put_string_element(&t, "\t\t", exe);
	if (config_file != NULL) {
		put_string_element(&t, "\t\t", "-F");
		put_string_element(&t, "\t\t", config_file);
	}
	put_string_element(&t, "\t\t", profile);
	put(&t,
	    "\t</array>\n"
	    "\t<key>RunAtLoad</key>\n\t<true/>\n"
	    "\t<key>KeepAlive</key>\n\t<dict>\n"
	    "\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n"
	    "\t<key>ThrottleInterval</key>\n\t<integer>5</integer>\n"
	    "\t<key>StandardErrorPath</key>\n");
	put_string_element(&t, "\t", log_path);
	put(&t, "</dict>\n</plist>\n");
	return finish(&t);
}

int
servicefile_unit_name(const char *profile, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "porthole-%s.service", profile);

	return n < 0 || (size_t)n >= outlen || !servicefile_name_ok(profile) ? -1 : 0;
}

int
servicefile_label(const char *profile, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "net.porthole.%s", profile);

	return n < 0 || (size_t)n >= outlen || !servicefile_name_ok(profile) ? -1 : 0;
}
