/*
 * "porthole status": what a running instance reports on its control
 * socket, and the command that asks every instance (or one) for it.
 */
#ifndef PORTHOLE_STATUS_H
#define PORTHOLE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "chain.h"
#include "listener.h"
#include "option.h"
#include "presence.h"
#include "rforward.h"
#include "session.h"
#include "udpfwd.h"

/* The relay (RelayCommand) as the session sees it (relayhub_state). */
struct status_relay {
	const char *state; /* "up", "starting", "down", "not available on the server", ... */
	bool streams;	   /* it does TCP streams (protocol 1.1) */
	size_t streams_open;
};

struct status_view {
	const char *name; /* the profile, or user@host:port */
	long long pid;
	time_t started;
	struct session *session;
	struct listener *const *listeners;
	size_t n_listeners;
	struct rforward *const *rforwards;
	size_t n_rforwards;
	struct udpfwd *udp;
	const struct chain *chain;	       /* for the jump hosts; NULL: none */
	const struct presence_check *presence; /* PresenceCheck; NULL: none */
	const struct status_relay *relay;      /* NULL: the relay is not in use */
};

/* The report, as text (one line per item) or one JSON object. */
void status_report(const struct status_view *v, struct buf *out, bool json);

/* An instance's name: the profile, or user@host:port (as status shows it). */
void status_instance_name(const struct options *o, bool profile, char *out, size_t outlen);

/*
 * The control socket's file name for an instance: "NAME.sock" for a profile
 * (one instance at most), "user@host:port.PID.sock" otherwise.
 */
void status_socket_name(const char *name, bool profile, char *out, size_t outlen);

/* porthole status [NAME] [--json]: returns the exit status. */
int status_command(const char *name, bool json);

#endif
