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
#include "textout.h"

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
put_exec_word(struct textout *t, const char *word, bool executable)
{
	const unsigned char *p = (const unsigned char *)word;
	bool quote = *p == '\0';

	for (const unsigned char *q = p; *q != '\0' && !quote; q++)
		quote = !is_plain(*q) && *q != '%' && *q != '$';
	if (quote)
		textout_char(t, '"');
	for (; *p != '\0'; p++) {
		char esc[8];
		bool special = *p == '"' || *p == '\'' || *p == '\\' || *p < 0x20 || *p == 0x7f;
		if (executable && special) {
			t->failed = true;
		} else if (*p == '%' || (*p == '$' && !executable)) {
			textout_char(t, (char)*p);
			textout_char(t, (char)*p);
		} else if (*p == '"' || *p == '\\') {
			textout_char(t, '\\');
			textout_char(t, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			textout_str(t, esc);
		} else {
			textout_char(t, (char)*p);
		}
	}
	if (quote)
		textout_char(t, '"');
}

/* A value outside ExecStart=: only "%" specifiers are expanded there. */
static void
put_unit_value(struct textout *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			textout_char(t, '%');
		textout_char(t, *s == '\n' ? ' ' : *s);
	}
}

int
servicefile_unit_text(
    const char *exe, const char *config_file, const char *profile, char *out, size_t outlen)
{
	struct textout t;

	textout_init(&t, out, outlen);
	t.failed |= !servicefile_name_ok(profile);
	textout_str(&t, "# Written by porthole service install ");
	textout_str(&t, profile);
	textout_str(&t, "; porthole service uninstall ");
	textout_str(&t, profile);
	textout_str(&t, " removes it.\n");
	textout_str(&t, "[Unit]\nDescription=porthole profile ");
	put_unit_value(&t, profile);
	textout_str(&t,
	    "\nDocumentation=man:porthole(1)\n"
	    "StartLimitIntervalSec=0\n"
	    "\n[Service]\nExecStart=");
	put_exec_word(&t, exe, true);
	if (config_file != NULL) {
		textout_str(&t, " -F ");
		put_exec_word(&t, config_file, false);
	}
	textout_char(&t, ' ');
	put_exec_word(&t, profile, false);
	textout_str(&t,
	    "\nRestart=on-failure\n"
	    "RestartSec=30s\n"
	    "RestartPreventExitStatus=2\n"
	    "\n[Install]\nWantedBy=default.target\n");
	return textout_finish(&t);
}

static void
put_xml(struct textout *t, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			textout_str(t, "&amp;");
			break;
		case '<':
			textout_str(t, "&lt;");
			break;
		case '>':
			textout_str(t, "&gt;");
			break;
		case '"':
			textout_str(t, "&quot;");
			break;
		case '\'':
			textout_str(t, "&apos;");
			break;
		default:
			if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
				t->failed = true;
			else
				textout_char(t, (char)*p);
		}
	}
}

static void
put_string_element(struct textout *t, const char *indent, const char *s)
{
	textout_str(t, indent);
	textout_str(t, "<string>");
	put_xml(t, s);
	textout_str(t, "</string>\n");
}

int
servicefile_plist_text(const char *exe, const char *config_file, const char *profile,
    const char *log_path, char *out, size_t outlen)
{
	struct textout t;

	textout_init(&t, out, outlen);
	t.failed |= !servicefile_name_ok(profile);
	textout_str(&t,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<!-- Written by porthole service install; porthole service uninstall removes it. -->\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>Label</key>\n\t<string>net.porthole.");
	put_xml(&t, profile);
	textout_str(&t, "</string>\n\t<key>ProgramArguments</key>\n\t<array>\n");
	put_string_element(&t, "\t\t", exe);
	if (config_file != NULL) {
		put_string_element(&t, "\t\t", "-F");
		put_string_element(&t, "\t\t", config_file);
	}
	put_string_element(&t, "\t\t", profile);
	textout_str(&t,
	    "\t</array>\n"
	    "\t<key>RunAtLoad</key>\n\t<true/>\n"
	    "\t<key>KeepAlive</key>\n\t<dict>\n"
	    "\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n"
	    "\t<key>ThrottleInterval</key>\n\t<integer>5</integer>\n"
	    "\t<key>StandardErrorPath</key>\n");
	put_string_element(&t, "\t", log_path);
	textout_str(&t, "</dict>\n</plist>\n");
	return textout_finish(&t);
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
