/*
 * Fuzz target for procnet.c: the input is one line of /proc/net/tcp, then of
 * tcp6 (the first byte chooses which is tried first). Besides not crashing:
 * the result is -1, 0 or 1; an error message is terminated and fits; a
 * parsed line that is written back in the kernel's format parses the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
unparse(const struct procnet_entry *e, bool ipv6, char *out, size_t len)
{
	char a[2][40];
	const uint8_t *addr[2] = {e->local, e->remote};

	for (int i = 0; i < 2; i++) {
		size_t n = 0;
		for (int w = 0; w < (ipv6 ? 4 : 1); w++) {
			uint32_t v;
			memcpy(&v, addr[i] + w * 4, 4);
			n += (size_t)snprintf(a[i] + n, sizeof(a[i]) - n, "%08X", v);
		}
	}
	snprintf(out, len, "0: %s:%04X %s:%04X %02X 0:0 0:0 0 %u 0 %llu", a[0], e->local_port, a[1],
	    e->remote_port, e->state, e->uid, (unsigned long long)e->inode);
}

static void
one(const uint8_t *data, size_t size, bool ipv6)
{
	struct procnet_entry e, again;
	char err[128], line[256];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = procnet_parse((const char *)data, size, ipv6, &e, err, sizeof(err));
	if (rc < -1 || rc > 1)
		abort();
	if (rc == -1 && memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (rc != 1)
		return;
	unparse(&e, ipv6, line, sizeof(line));
	if (procnet_parse(line, strlen(line), ipv6, &again, err, sizeof(err)) != 1)
		abort();
	if (memcmp(e.local, again.local, ipv6 ? 16 : 4) != 0 ||
	    memcmp(e.remote, again.remote, ipv6 ? 16 : 4) != 0 ||
	    e.local_port != again.local_port || e.remote_port != again.remote_port ||
	    e.state != again.state || e.uid != again.uid || e.inode != again.inode)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool first = size > 0 && (data[0] & 1);

	one(data, size, first);
	one(data, size, !first);
	return 0;
}
