/* The control protocol's request parser and JSON quoting. */
#include <string.h>

#include "check.h"
#include "control.h"

static long
parse(const char *text, struct control_request *req, const char **err)
{
	return control_parse(text, strlen(text), req, err);
}

int
main(void)
{
	struct control_request req;
	const char *err = NULL;
	char big[CONTROL_LINE_MAX + 10];
	char out[64];

	CHECK_INT(parse("status\n", &req, &err), 7);
	CHECK_INT(req.verb, CONTROL_STATUS);
	CHECK(!req.json);
	CHECK_INT(parse("status json\r\n", &req, &err), 13);
	CHECK(req.json);
	CHECK_INT(parse("  status \t json \n", &req, &err), 17);
	CHECK(req.json);
	CHECK_INT(parse("ping\nstatus\n", &req, &err), 5);
	CHECK_INT(req.verb, CONTROL_PING);
	CHECK_INT(parse("stat", &req, &err), 0);
	CHECK_INT(parse("", &req, &err), 0);
	CHECK_INT(parse("\n", &req, &err), -1);
	CHECK_STR(err, "empty request");
	CHECK_INT(parse("stop\n", &req, &err), -1);
	CHECK_STR(err, "unknown request");
	CHECK_INT(parse("status xml\n", &req, &err), -1);
	CHECK_INT(parse("status json extra\n", &req, &err), -1);
	CHECK_INT(parse("a b c d\n", &req, &err), -1);
	CHECK_STR(err, "too many words in request");
	CHECK_INT(parse("sta\x1btus\n", &req, &err), -1);
	CHECK_STR(err, "control character in request");
	CHECK_INT(control_parse("status\0\n", 8, &req, &err), -1);
	memset(big, 'a', sizeof(big));
	CHECK_INT(control_parse(big, CONTROL_LINE_MAX - 1, &req, &err), 0);
	CHECK_INT(control_parse(big, sizeof(big), &req, &err), -1);
	CHECK_STR(err, "request line too long");

	out[0] = '\0';
	control_json_string(out, sizeof(out), "a\"b\\c\n");
	CHECK_STR(out, "\"a\\\"b\\\\c\\u000a\"");
	strcpy(out, "x:");
	control_json_string(out, sizeof(out), "y");
	CHECK_STR(out, "x:\"y\"");
	char tiny[4] = "";
	control_json_string(tiny, sizeof(tiny), "long string");
	CHECK_INT(strlen(tiny), 3);
	return check_done("control");
}
