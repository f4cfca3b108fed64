/*
 * Unit tests for servicefile.c: the whole systemd unit and launchd plist for
 * a plain install, ExecStart= quoting (blanks, quotes, backslashes, control
 * characters, "%" and "$", which systemd treats differently in the
 * executable), XML escaping, refused names and paths, and buffers that are
 * too small.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "servicefile.h"

static char out[8192];

/* The ExecStart= line of a unit, without its "\n"; "" if there is none. */
static const char *
exec_start(const char *exe, const char *config_file, const char *profile)
{
	static char line[2048];
	const char *start, *end;

	line[0] = '\0';
	if (servicefile_unit_text(exe, config_file, profile, out, sizeof(out)) == -1)
		return line;
	if ((start = strstr(out, "\nExecStart=")) == NULL)
		return line;
	start += strlen("\nExecStart=");
	end = strchr(start, '\n');
	snprintf(line, sizeof(line), "%.*s", (int)(end - start), start);
	return line;
}

static void
test_unit_plain(void)
{
	CHECK_INT(servicefile_unit_text("/usr/bin/porthole", NULL, "mum", out, sizeof(out)), 0);
	CHECK_STR(out,
	    "# Written by porthole service install mum; porthole service uninstall mum removes "
	    "it.\n"
	    "[Unit]\n"
	    "Description=porthole profile mum\n"
	    "Documentation=man:porthole(1)\n"
	    "StartLimitIntervalSec=0\n"
	    "\n"
	    "[Service]\n"
	    "ExecStart=/usr/bin/porthole mum\n"
	    "Restart=on-failure\n"
	    "RestartSec=30s\n"
	    "RestartPreventExitStatus=2\n"
	    "\n"
	    "[Install]\n"
	    "WantedBy=default.target\n");
	CHECK_STR(
	    exec_start("/usr/local/bin/porthole", "/home/me/.config/porthole/work", "Office_2.x-y"),
	    "/usr/local/bin/porthole -F /home/me/.config/porthole/work Office_2.x-y");
}

static void
test_unit_quoting(void)
{
	/* Blanks: the word is quoted. */
	CHECK_STR(exec_start("/opt/my apps/porthole", "/home/me/my config", "mum"),
	    "\"/opt/my apps/porthole\" -F \"/home/me/my config\" mum");
	/* "%" is a specifier everywhere; "$" a variable in arguments only. */
	CHECK_STR(exec_start("/opt/100%/$x/porthole", "/c/100%/$HOME", "mum"),
	    "/opt/100%%/$x/porthole -F /c/100%%/$$HOME mum");
	CHECK_STR(exec_start("/opt/a b%/porthole", "/c/${HOME} x", "mum"),
	    "\"/opt/a b%%/porthole\" -F \"/c/$${HOME} x\" mum");
	/* Quotes, backslashes and control characters in an argument: C escapes. */
	CHECK_STR(exec_start("/usr/bin/porthole", "/c/\"q\" 'a' \\b\tt\nn\x7f", "mum"),
	    "/usr/bin/porthole -F \"/c/\\\"q\\\" 'a' \\\\b\\x09t\\x0an\\x7f\" mum");
	CHECK_STR(exec_start("/usr/bin/porthole", "/c/semi;colon", "mum"),
	    "/usr/bin/porthole -F \"/c/semi;colon\" mum");
	/* UTF-8 passes as it is. */
	CHECK_STR(exec_start("/home/jos\xc3\xa9/bin/porthole", NULL, "mum"),
	    "/home/jos\xc3\xa9/bin/porthole mum");
	/* systemd refuses such an executable however it is written. */
	CHECK_INT(servicefile_unit_text("/opt/\"q\"/porthole", NULL, "mum", out, sizeof(out)), -1);
	CHECK_STR(out, "");
	CHECK_INT(
	    servicefile_unit_text("/opt/o'brien/porthole", NULL, "mum", out, sizeof(out)), -1);
	CHECK_INT(servicefile_unit_text("/opt/a\\b/porthole", NULL, "mum", out, sizeof(out)), -1);
	CHECK_INT(servicefile_unit_text("/opt/a\nb/porthole", NULL, "mum", out, sizeof(out)), -1);
}

static void
test_names(void)
{
	char name[128];
	char long_name[70];

	CHECK(servicefile_name_ok("mum"));
	CHECK(servicefile_name_ok("a.b_c-D9"));
	CHECK(!servicefile_name_ok(""));
	CHECK(!servicefile_name_ok("a/b"));
	CHECK(!servicefile_name_ok("a b"));
	CHECK(!servicefile_name_ok("a%b"));
	memset(long_name, 'x', 64);
	long_name[64] = '\0';
	CHECK(servicefile_name_ok(long_name));
	long_name[64] = 'x';
	long_name[65] = '\0';
	CHECK(!servicefile_name_ok(long_name));

	CHECK_INT(servicefile_unit_name("mum", name, sizeof(name)), 0);
	CHECK_STR(name, "porthole-mum.service");
	CHECK_INT(servicefile_label("mum", name, sizeof(name)), 0);
	CHECK_STR(name, "net.porthole.mum");
	CHECK_INT(servicefile_unit_name("../x", name, sizeof(name)), -1);
	CHECK_INT(servicefile_label("a/b", name, sizeof(name)), -1);
	CHECK_INT(servicefile_unit_name("mum", name, 20), -1);
	CHECK_INT(servicefile_unit_name("mum", name, 21), 0);
	CHECK_INT(servicefile_unit_text("/usr/bin/porthole", NULL, "a\nb", out, sizeof(out)), -1);
	CHECK_STR(out, "");
	CHECK_INT(
	    servicefile_plist_text("/usr/bin/porthole", NULL, "a<b", "/l", out, sizeof(out)), -1);
}

static void
test_sizes(void)
{
	char small[64];
	size_t need;

	CHECK_INT(servicefile_unit_text("/usr/bin/porthole", NULL, "mum", out, sizeof(out)), 0);
	need = strlen(out) + 1;
	memset(small, 'z', sizeof(small));
	CHECK_INT(
	    servicefile_unit_text("/usr/bin/porthole", NULL, "mum", small, sizeof(small)), -1);
	CHECK_STR(small, "");
	CHECK_INT(servicefile_unit_text("/usr/bin/porthole", NULL, "mum", out, need), 0);
	CHECK_INT(servicefile_unit_text("/usr/bin/porthole", NULL, "mum", out, need - 1), -1);
	CHECK_INT(servicefile_unit_text("/usr/bin/porthole", NULL, "mum", out, 0), -1);

	CHECK_INT(servicefile_plist_text("/p", NULL, "mum", "/l", out, sizeof(out)), 0);
	need = strlen(out) + 1;
	CHECK_INT(servicefile_plist_text("/p", NULL, "mum", "/l", out, need), 0);
	CHECK_INT(servicefile_plist_text("/p", NULL, "mum", "/l", out, need - 1), -1);
	CHECK_STR(out, "");
}

static void
test_plist(void)
{
	CHECK_INT(servicefile_plist_text("/usr/local/bin/porthole", NULL, "mum",
		      "/Users/me/Library/Logs/porthole-mum.log", out, sizeof(out)),
	    0);
	CHECK_STR(out,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<!-- Written by porthole service install; porthole service uninstall removes it. -->\n"
	    "<plist version=\"1.0\">\n"
	    "<dict>\n"
	    "\t<key>Label</key>\n"
	    "\t<string>net.porthole.mum</string>\n"
	    "\t<key>ProgramArguments</key>\n"
	    "\t<array>\n"
	    "\t\t<string>/usr/local/bin/porthole</string>\n"
	    "\t\t<string>mum</string>\n"
	    "\t</array>\n"
	    "\t<key>RunAtLoad</key>\n"
	    "\t<true/>\n"
	    "\t<key>KeepAlive</key>\n"
	    "\t<dict>\n"
	    "\t\t<key>SuccessfulExit</key>\n"
	    "\t\t<false/>\n"
	    "\t</dict>\n"
	    "\t<key>ThrottleInterval</key>\n"
	    "\t<integer>5</integer>\n"
	    "\t<key>StandardErrorPath</key>\n"
	    "\t<string>/Users/me/Library/Logs/porthole-mum.log</string>\n"
	    "</dict>\n"
	    "</plist>\n");

	/* Every argument is its own <string>: no shell, no quoting; XML escapes only. */
	CHECK_INT(servicefile_plist_text("/Apps/A & B <x>/porthole", "/c/\"it's\" 100% $HOME",
		      "mum", "/l/a&b.log", out, sizeof(out)),
	    0);
	CHECK(strstr(out,
		  "\t\t<string>/Apps/A &amp; B &lt;x&gt;/porthole</string>\n"
		  "\t\t<string>-F</string>\n"
		  "\t\t<string>/c/&quot;it&apos;s&quot; 100% $HOME</string>\n"
		  "\t\t<string>mum</string>\n") != NULL);
	CHECK(strstr(out, "<string>/l/a&amp;b.log</string>") != NULL);
	/* A tab may be carried; other control characters cannot be in XML 1.0. */
	CHECK_INT(servicefile_plist_text("/p\tq", NULL, "mum", "/l", out, sizeof(out)), 0);
	CHECK_INT(servicefile_plist_text("/p\x01q", NULL, "mum", "/l", out, sizeof(out)), -1);
	CHECK_STR(out, "");
	CHECK_INT(servicefile_plist_text("/p", "/c\x1b", "mum", "/l", out, sizeof(out)), -1);
}

int
main(void)
{
	test_unit_plain();
	test_unit_quoting();
	test_names();
	test_sizes();
	test_plist();
	return check_done("service");
}
