/* The control protocol's request parser and JSON quoting. */
#include <string.h>

#include "check.h"
#include "control.h"

static long
parse(const char *text, struct control_request *req, const char **err)
{
	return control_parse(text, strlen(text), req, err);
}

/* check, exit, stop: one word each; a second word is no request. */
static void
test_verbs(void)
{
	struct control_request req;
	const char *err = NULL;

	CHECK_INT(parse("check\n", &req, &err), 6);
	CHECK_INT(req.verb, CONTROL_CHECK);
	CHECK_INT(parse("exit\r\n", &req, &err), 6);
	CHECK_INT(req.verb, CONTROL_EXIT);
	CHECK_INT(parse(" stop \n", &req, &err), 7);
	CHECK_INT(req.verb, CONTROL_STOP);
	CHECK_INT(parse("check now\n", &req, &err), -1);
	CHECK_STR(err, "unknown request");
	CHECK_INT(parse("exit 1 2\n", &req, &err), -1);
	CHECK_STR(err, "too many words in request");
	CHECK_INT(parse("CHECK\n", &req, &err), -1);
	CHECK_INT(parse("ping json\n", &req, &err), -1);
}

/* forward and cancel: a flag, then the rest of the line is the spec. */
static void
test_forward(void)
{
	struct control_request req;
	const char *err = NULL;

	CHECK_INT(parse("forward -L 8080:db:5432\n", &req, &err), 24);
	CHECK_INT(req.verb, CONTROL_FORWARD);
	CHECK_INT(req.spec.kind, FWD_LOCAL);
	CHECK_INT(req.spec.bind_port, 8080);
	CHECK_STR(req.spec.host, "db");
	CHECK_INT(req.spec.host_port, 5432);
	CHECK_INT(parse("cancel\t-R  [::1]:0:localhost:22 \n", &req, &err), 33);
	CHECK_INT(req.verb, CONTROL_CANCEL);
	CHECK_INT(req.spec.kind, FWD_REMOTE);
	CHECK(req.spec.has_bind);
	CHECK_STR(req.spec.bind_host, "::1");
	CHECK_INT(req.spec.bind_port, 0);
	CHECK_INT(parse("forward -D 1080\n", &req, &err), 16);
	CHECK_INT(req.spec.kind, FWD_DYNAMIC);
	CHECK_INT(req.spec.bind_port, 1080);
	CHECK_INT(parse("forward -L 5353:dns:53/udp\n", &req, &err), 27);
	CHECK(req.spec.udp);

	CHECK_INT(parse("forward\n", &req, &err), -1);
	CHECK_STR(err, "missing forward (-L, -R or -D)");
	CHECK_INT(parse("forward -X 1:h:2\n", &req, &err), -1);
	CHECK_STR(err, "expected -L, -R or -D before the forward");
	CHECK_INT(parse("forward 8080:db:5432\n", &req, &err), -1);
	CHECK_STR(err, "expected -L, -R or -D before the forward");
	CHECK_INT(parse("forward -L\n", &req, &err), -1);
	CHECK_STR(err, "bad forward -L : expected [bind_address:]port:host:hostport");
	CHECK_INT(parse("forward -L 99999:x:1\n", &req, &err), -1);
	CHECK_STR(err, "bad forward -L 99999:x:1: port out of range (1-65535)");
	CHECK(err == req.why);
	CHECK_INT(parse("cancel -D 1080 extra\n", &req, &err), -1);
	CHECK_STR(err, "bad forward -D 1080 extra: bad port '1080 extra'");
	CHECK_INT(parse("forward -L 1:h:2", &req, &err), 0);
}

static void
test_reply(void)
{
	struct control_reply r;

#define REPLY(text) control_reply_parse(text, strlen(text), &r)
	CHECK_INT(REPLY("ok\n"), 0);
	CHECK(r.ok && r.pid == -1 && r.port == -1 && !r.pending);
	CHECK_INT(REPLY("ok pid=4242\n"), 0);
	CHECK(r.ok);
	CHECK_INT((int)r.pid, 4242);
	CHECK_INT(REPLY("ok port=40123\r\nmore"), 0);
	CHECK_INT(r.port, 40123);
	CHECK_INT(REPLY("ok port=70000\n"), 0);
	CHECK_INT(r.port, -1);
	CHECK_INT(REPLY("ok pid=12x\n"), 0);
	CHECK(r.pid == -1);
	CHECK_INT(REPLY("ok pending\n"), 0);
	CHECK(r.ok && r.pending);
	CHECK_INT(REPLY("ok"), 0);
	CHECK(r.ok);
	CHECK_INT(REPLY("error: -L 1:h:2: no such forward\n"), 0);
	CHECK(!r.ok);
	CHECK_STR(r.why, "-L 1:h:2: no such forward");
	CHECK_INT(REPLY("okay\n"), -1);
	CHECK_INT(REPLY(""), -1);
	CHECK_STR(r.why, "unexpected answer ''");
	CHECK_INT(REPLY("pong\n"), -1);
	CHECK_STR(r.why, "unexpected answer 'pong'");
#undef REPLY
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
	CHECK_INT(parse("stopp\n", &req, &err), -1);
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

	test_verbs();
	test_forward();
	test_reply();

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
