/*
 * The texts "porthole invite" writes: the family machine's profile, the
 * helper's profile, the jump host's authorized_keys lines and the setup
 * script the family member runs. Pure: names and keys in, text out, so that
 * quoting and refusals are tested without keys, files or a jump host.
 */
#ifndef PORTHOLE_INVITETEXT_H
#define PORTHOLE_INVITETEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Apple Remote Desktop's UDP port, on the family Mac and the helper's machine. */
#define INVITETEXT_ARD_PORT 3283

/* What one invitation sets up. */
struct invite_plan {
	const char *name;		/* the helper's profile for the family machine ("mum") */
	const char *family;		/* the family machine's profile ("helper") */
	const char *host;		/* the jump host, as both sides reach it */
	const char *user;		/* the account on the jump host */
	int port;			/* its SSH port */
	int vnc_port;			/* the family machine's VNC server (TCP) */
	int jump_vnc_port;		/* where the jump host listens for it, on its loopback */
	int ard_port;			/* the jump host's port for UDP 3283 (ARD); 0: none */
	const char *relay;		/* the porthole program on the jump host ("porthole") */
	const char *helper_identity;	/* the helper profile's IdentityFile, or NULL */
	const char *helper_known_hosts; /* the helper profile's UserKnownHostsFile, or NULL */
	bool forward_access;		/* "ForwardAccess owner" in the helper's profile */
	bool notify;			/* "NotifyOnConnect yes" in the family machine's */
	bool confirm;			/* "ConfirmConnect yes" in the family machine's */
	int presence_port;		/* the jump host's loopback port for presence; 0: none */
};

/*
 * Whether every field can be written into every text: profile names as the
 * config file takes them, a host that is a plain name or address, a user of
 * letters, digits, '.', '_' and '-', ports 1-65535 (the jump host's ports
 * distinct), a relay program of [A-Za-z0-9/._+-], paths without quotes or
 * control characters. 0, or -1 with a one-line reason in err.
 */
int invitetext_check(const struct invite_plan *p, char *err, size_t errlen);

/* Where the family machine keeps its key ("~/.ssh/porthole_FAMILY"; ".pub" and
 * ".known_hosts" beside it). */
int invitetext_family_key_path(const struct invite_plan *p, char *out, size_t outlen);

/*
 * The family machine's profile block, between a "# >>> porthole invite:
 * FAMILY" and a "# <<< porthole invite: FAMILY" line so that the setup script
 * can replace it: the jump host, its pinned known_hosts file alone
 * (StrictHostKeyChecking yes, GlobalKnownHostsFile none), the key alone
 * (IdentitiesOnly), NotifyOnConnect and ConfirmConnect as the plan says,
 * RemoteForward for VNC and, with an ARD port, its UDP, and with a presence
 * port "PresenceListen PORT" (the helper's profile: "PresenceCheck PORT").
 * Values are written as the config parser reads them back: double quotes
 * around a value with blanks, '#' or '='. The functions return 0, or -1 (out
 * is then "") when a field fails invitetext_check or the text does not fit.
 */
int invitetext_family_profile(const struct invite_plan *p, char *out, size_t outlen);

/* The helper's profile: the same jump host, LocalForward of the same ports. */
int invitetext_helper_profile(const struct invite_plan *p, char *out, size_t outlen);

/*
 * One authorized_keys line (ending in "\n") for the family machine's public
 * key (family true) or the helper's: "restrict,port-forwarding", then
 * permitlisten (family) or permitopen (helper) for the VNC port of the jump
 * host's loopback (and the presence port, if any), and command="RELAY relay ..." with the relay's
 * own lists for the UDP port (none without one). pubkey is an OpenSSH public key line
 * ("type base64 [comment]"); its comment is kept when it has no control
 * characters. -1 if the key is not one such line.
 */
int invitetext_key_line(
    const struct invite_plan *p, bool family, const char *pubkey, char *out, size_t outlen);

/*
 * The POSIX sh script the family member runs once ("sh FILE"): it writes the
 * private key (0600), the public key and the pinned known_hosts text into
 * ~/.ssh, replaces an earlier block of its own in the porthole config file
 * (refusing, without changing anything, when another profile of that name is
 * there), checks the profile and runs "porthole service install FAMILY".
 * Every text goes in a quoted here-document, so nothing in it is expanded;
 * -1 when a text holds the here-document's end line, a NUL or a carriage
 * return, or does not end in a newline.
 */
int invitetext_setup_script(const struct invite_plan *p, const char *private_key,
    const char *pubkey, const char *known_hosts, char *out, size_t outlen);

#endif
