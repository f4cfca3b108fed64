/* The control protocol: any bytes a local client sends, or an instance answers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	char json[128];
	size_t at = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	while (at < size) {
		struct control_request req;
		const char *err = NULL;
		long n = control_parse(copy + at, size - at, &req, &err);
		if (n == 0)
			break;
		if (n < 0) {
			if (err == NULL)
				abort();
			break;
		}
		if ((size_t)n > size - at || n > CONTROL_LINE_MAX ||
		    copy[at + (size_t)n - 1] != '\n')
			abort();
		if (req.verb > CONTROL_CANCEL)
			abort();
		if ((req.verb == CONTROL_FORWARD || req.verb == CONTROL_CANCEL) &&
		    !spec_same(&req.spec, &req.spec))
			abort();
		at += (size_t)n;
	}
	/* Any answer reads as ok or error, or is refused with a reason. */
	struct control_reply reply;
	int rc = control_reply_parse(copy, size, &reply);
	if (memchr(reply.why, '\0', sizeof(reply.why)) == NULL || (rc == -1 && reply.ok) ||
	    (reply.port < -1 || reply.port > 65535))
		abort();
	/* Quoting any text stays inside its buffer and terminated. */
	char *text = malloc(size + 1);
	if (text != NULL) {
		memcpy(text, data, size);
		text[size] = '\0';
		json[0] = '\0';
		control_json_string(json, sizeof(json), text);
		if (memchr(json, '\0', sizeof(json)) == NULL || json[0] != '"')
			abort();
		free(text);
	}
	free(copy);
	return 0;
}
