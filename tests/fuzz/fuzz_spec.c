/*
 * Fuzz target for spec.c: the input, as a string, is parsed as -L, -R and -D.
 * Besides not crashing, every accepted spec must hold the struct's promises
 * and survive a round trip: written back in canonical form (every host in
 * brackets) it must parse to the same struct. Errors must be terminated and
 * fit the buffer, and formatting must fit any buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes spec back as text: "[bind]:port:[host]:hostport/udp", every path in brackets too. */
static void
unparse(const struct fwd_spec *spec, char *buf, size_t len)
{
	char bind[SPEC_HOST_MAX + 4] = "", from[SPEC_HOST_MAX + 16], to[SPEC_HOST_MAX + 16];

	if (spec->has_bind) {
		if (spec->bind_host[0] == '\0' || strcmp(spec->bind_host, "*") == 0)
			snprintf(bind, sizeof(bind), "%s:", spec->bind_host);
		else
			snprintf(bind, sizeof(bind), "[%s]:", spec->bind_host);
	}
	if (spec->listen_path[0] != '\0')
		snprintf(from, sizeof(from), "[%s]", spec->listen_path);
	else
		snprintf(from, sizeof(from), "%s%u", bind, (unsigned)spec->bind_port);
	if (spec->connect_path[0] != '\0')
		snprintf(to, sizeof(to), "[%s]", spec->connect_path);
	else
		snprintf(to, sizeof(to), "[%s]:%u%s", spec->host, (unsigned)spec->host_port,
		    spec->udp ? "/udp" : "");
	if (spec->kind == FWD_DYNAMIC)
		snprintf(buf, len, "%s", from);
	else
		snprintf(buf, len, "%s:%s", from, to);
}

static bool
spec_equal(const struct fwd_spec *a, const struct fwd_spec *b)
{
	return a->kind == b->kind && a->has_bind == b->has_bind &&
	    strcmp(a->bind_host, b->bind_host) == 0 && a->bind_port == b->bind_port &&
	    strcmp(a->host, b->host) == 0 && a->host_port == b->host_port && a->udp == b->udp &&
	    strcmp(a->listen_path, b->listen_path) == 0 &&
	    strcmp(a->connect_path, b->connect_path) == 0;
}

static void
check_spec(enum fwd_kind kind, const struct fwd_spec *spec)
{
	char text[2 * SPEC_HOST_MAX + 64], out[600], err[128];
	struct fwd_spec again;

	if (spec->kind != kind || memchr(spec->bind_host, '\0', sizeof(spec->bind_host)) == NULL ||
	    memchr(spec->host, '\0', sizeof(spec->host)) == NULL)
		abort();
	bool lpath = spec->listen_path[0] != '\0', cpath = spec->connect_path[0] != '\0';
	if (memchr(spec->listen_path, '\0', sizeof(spec->listen_path)) == NULL ||
	    memchr(spec->connect_path, '\0', sizeof(spec->connect_path)) == NULL)
		abort();
	/* A path holds a '/'; it listens only here (-L), never with udp or SOCKS. */
	if ((lpath &&
		(strchr(spec->listen_path, '/') == NULL || kind != FWD_LOCAL ||
		    spec->bind_port != 0 || spec->has_bind)) ||
	    (cpath &&
		(strchr(spec->connect_path, '/') == NULL || kind == FWD_DYNAMIC ||
		    spec->host[0] != '\0' || spec->host_port != 0)) ||
	    ((lpath || cpath) && spec->udp))
		abort();
	if (spec->bind_port == 0 && kind != FWD_REMOTE && !lpath)
		abort();
	if (kind == FWD_DYNAMIC && (spec->host[0] != '\0' || spec->host_port != 0 || spec->udp))
		abort();
	if (kind != FWD_DYNAMIC && !cpath && (spec->host[0] == '\0' || spec->host_port == 0))
		abort();
	if (!spec->has_bind && (spec->bind_host[0] != '\0' || spec_bind_is_wildcard(spec)))
		abort();

	unparse(spec, text, sizeof(text));
	if (spec_parse(kind, text, &again, err, sizeof(err)) != 0 || !spec_equal(spec, &again))
		abort();
	if (!spec_same(spec, &again) || !spec_same(&again, spec))
		abort();
	/* The name (how -O sends a forward to a running instance) parses back to the same forward.
	 */
	spec_name(spec, out, sizeof(out));
	if (strlen(out) < 3 || spec_parse(kind, out + 3, &again, err, sizeof(err)) != 0 ||
	    !spec_same(spec, &again))
		abort();

	spec_format(spec, out, sizeof(out));
	for (size_t len = 0; len < 12; len++) {
		char small[16];
		memset(small, 'Z', sizeof(small));
		spec_format(spec, small, len);
		if (len > 0 && (strnlen(small, len) == len || strncmp(small, out, len - 1) != 0))
			abort();
		if (small[len] != 'Z')
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fwd_kind kinds[] = {FWD_LOCAL, FWD_REMOTE, FWD_DYNAMIC};
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct fwd_spec spec;
		char err[64];
		size_t errlen = size > 0 ? data[0] % 10 : 0;

		memset(err, 'Z', sizeof(err));
		if (spec_parse(kinds[i], text, &spec, err, sizeof(err)) == 0) {
			check_spec(kinds[i], &spec);
			continue;
		}
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		/* Again with a tiny buffer: terminated, nothing written past it. */
		memset(err, 'Z', sizeof(err));
		spec_parse(kinds[i], text, &spec, err, errlen);
		if ((errlen > 0 && memchr(err, '\0', errlen) == NULL) || err[errlen] != 'Z')
			abort();
	}
	free(text);
	return 0;
}
