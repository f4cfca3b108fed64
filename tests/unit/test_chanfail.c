/*
 * Unit tests for chanfail.c: libssh2's channel-open failure messages (the
 * patched form with the server's text, and the unpatched ones) read back
 * and written in ssh's words.
 */
#include <stdio.h>
#include <string.h>

#include "chanfail.h"
#include "check.h"

static char out[512];

static const char *
say(const char *msg)
{
	struct chanfail f;

	if (chanfail_parse(msg, &f) == -1)
		return "(not a channel-open failure)";
	chanfail_format(&f, out, sizeof(out));
	return out;
}

static void
test_parse(void)
{
	struct chanfail f;

	CHECK_INT(
	    chanfail_parse("Channel open failure (connect failed): Name or service not known", &f),
	    0);
	CHECK_INT(f.code, 2);
	CHECK_STR(f.reason, "connect failed");
	CHECK_STR(f.text, "Name or service not known");
	CHECK_INT(chanfail_parse("Channel open failure (administratively prohibited)", &f), 0);
	CHECK_INT(f.code, 1);
	CHECK_STR(f.text, "");
	CHECK_INT(chanfail_parse("Channel open failure (reason 77): odd", &f), 0);
	CHECK_INT(f.code, 77);
	CHECK_STR(f.reason, "");
	CHECK_STR(f.text, "odd");
	CHECK_INT(chanfail_parse("Channel open failure", &f), 0);
	CHECK_INT(f.code, 0);
	/* Anything else is not one. */
	CHECK_INT(chanfail_parse("Would block", &f), -1);
	CHECK_INT(chanfail_parse("Channel open failure (bogus)", &f), -1);
	CHECK_INT(chanfail_parse("Channel open failure (reason x)", &f), -1);
	CHECK_INT(chanfail_parse("Channel open failure (reason 99999999999)", &f), -1);
	CHECK_INT(chanfail_parse("Channel open failure (connect failed)x", &f), -1);
	CHECK_INT(chanfail_parse("Channel open failure (connect failed", &f), -1);
	CHECK_INT(chanfail_parse("Channel open failureX", &f), -1);
	CHECK_INT(f.code, 0);
}

static void
test_format(void)
{
	CHECK_STR(say("Channel open failure (connect failed): Name or service not known"),
	    "open failed: connect failed: Name or service not known (code 2)");
	CHECK_STR(say("Channel open failure (connect failed): Connection refused"),
	    "open failed: connect failed: Connection refused (code 2)");
	CHECK_STR(say("Channel open failure (administratively prohibited): open failed"),
	    "open failed: administratively prohibited: open failed (code 1)");
	CHECK_STR(say("Channel open failure (resource shortage)"),
	    "open failed: resource shortage (code 4)");
	CHECK_STR(say("Channel open failure (unknown channel type)"),
	    "open failed: unknown channel type (code 3)");
	CHECK_STR(
	    say("Channel open failure (reason 9): no"), "open failed: unknown reason: no (code 9)");
	CHECK_STR(say("Channel open failure"), "open failed");
	/* A long text is cut to fit, never overflowing. */
	char big[600];
	memset(big, 'x', sizeof(big));
	memcpy(big, "Channel open failure (connect failed): ", 39);
	big[sizeof(big) - 1] = '\0';
	CHECK(strlen(say(big)) < sizeof(out));
	struct chanfail f;
	char tiny[8];
	chanfail_parse(big, &f);
	chanfail_format(&f, tiny, sizeof(tiny));
	CHECK_STR(tiny, "open fa");
}

int
main(void)
{
	test_parse();
	test_format();
	return check_done("chanfail");
}
