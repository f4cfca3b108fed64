/*
 * A failed channel open, in ssh's words: libssh2's error message for an
 * SSH_MSG_CHANNEL_OPEN_FAILURE read back into the server's reason code and
 * text. Pure.
 */
#ifndef PORTHOLE_CHANFAIL_H
#define PORTHOLE_CHANFAIL_H

#include <stddef.h>

struct chanfail {
	unsigned code;	 /* RFC 4254 reason code; 0 when libssh2 did not say */
	char reason[64]; /* "connect failed", ... ; "" when unknown */
	char text[256];	 /* the server's description ("Name or service not known"); may be "" */
};

/*
 * Reads msg ("Channel open failure (connect failed): Name or service not
 * known", the form scripts/libssh2-patches/03 gives; also the unpatched
 * "Channel open failure (connect failed)" and "Channel open failure").
 * Returns 0, or -1 when msg is not a channel-open failure.
 */
int chanfail_parse(const char *msg, struct chanfail *out);

/*
 * "open failed: connect failed: Name or service not known (code 2)", as
 * ssh's "channel N: open failed: ..." line says it, plus the code.
 */
void chanfail_format(const struct chanfail *f, char *buf, size_t len);

#endif
