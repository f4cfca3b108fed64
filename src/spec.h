/*
 * Forward specifications: the text of -L, -R and -D (and of LocalForward,
 * RemoteForward, DynamicForward) parsed into a struct. Pure: no I/O.
 *
 *   -L [bind_address:]port:host:hostport[/udp]
 *   -R [bind_address:]port:host:hostport[/udp]
 *   -D [bind_address:]port
 *
 * IPv6 literals go in brackets: -L [::1]:8080:[fe80::1]:80. An empty
 * bind_address or "*" means every interface (the caller decides whether that
 * is allowed; see GatewayPorts).
 *
 * As in ssh, a field with a '/' in it is a Unix socket path (in brackets if
 * it holds a ':'): -L /path:host:hostport, -L [bind:]port:/path,
 * -L /path:/path and -R [bind:]port:/path. A path on the server's listening
 * side (-R /path:...) and -D /path are refused with a reason.
 */
#ifndef PORTHOLE_SPEC_H
#define PORTHOLE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#define SPEC_HOST_MAX 255
/* The longest Unix socket path a sockaddr_un holds here, without its NUL. */
#define SPEC_PATH_MAX ((int)sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

enum fwd_kind {
	FWD_LOCAL,   /* -L */
	FWD_REMOTE,  /* -R */
	FWD_DYNAMIC, /* -D */
};

struct fwd_spec {
	enum fwd_kind kind;
	bool has_bind;			   /* a bind_address was written (maybe empty) */
	char bind_host[SPEC_HOST_MAX + 1]; /* without brackets; "" or "*" = all interfaces */
	uint16_t bind_port;		   /* 0 only for -R (server picks) */
	char host[SPEC_HOST_MAX + 1];	   /* target, without brackets; "" for -D */
	uint16_t host_port;		   /* 0 for -D */
	bool udp;			   /* "/udp" suffix */
	/* Unix sockets (a field with a '/'); "" when the side is host and port */
	char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* -L only */
	char connect_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* host, host_port unset */
};

/*
 * Parses text as a forward of the given kind. Returns 0 and fills *out, or -1
 * with a short reason in err (e.g. "port out of range (1-65535)"), which the
 * caller prefixes with the option and the text; *out is written only on
 * success. err is always NUL-terminated when errlen > 0, truncated if small.
 * Ports are decimal; the suffix is "/udp" or "/tcp" (the default), any case.
 * -R's remote dynamic form is refused with a reason.
 */
int spec_parse(
    enum fwd_kind kind, const char *text, struct fwd_spec *out, char *err, size_t errlen);

/*
 * Text of a spec for messages, e.g. "127.0.0.1:8080 -> intranet:80",
 * "remote localhost:0 -> localhost:22 (udp)" or "[::1]:1080 (socks)". No
 * bind_address shows as "localhost", an empty one as "*". Truncated to len.
 */
void spec_format(const struct fwd_spec *spec, char *buf, size_t len);

/*
 * True if a bind_address was written and names every interface ("" or "*").
 * False when none was written: the caller applies GatewayPorts then.
 */
bool spec_bind_is_wildcard(const struct fwd_spec *spec);

/*
 * The spec as the user would write it, with its flag: "-L 8080:intranet:80",
 * "-R [::1]:0:localhost:22", "-D 1080", "-L 5353:10.0.0.2:53/udp". Names a
 * forward in log lines and status.
 */
void spec_name(const struct fwd_spec *spec, char *buf, size_t len);

/*
 * The two halves of spec_name, as LocalForward's two words: the listening
 * side ("8080", "[::1]:8080", "/run/x.sock") and the other ("intranet:80",
 * "53/udp" suffixed, a path; "" for -D). Truncated to len.
 */
void spec_listen_text(const struct fwd_spec *spec, char *buf, size_t len);
void spec_connect_text(const struct fwd_spec *spec, char *buf, size_t len);

/*
 * True if a and b are the same forward: same kind, protocol, ports and
 * target, and bind addresses that listen in the same place (none written is
 * "localhost", "*" is ""); names compare without case. How -O cancel finds
 * the forward it names.
 */
bool spec_same(const struct fwd_spec *a, const struct fwd_spec *b);

#endif
