/*
 * The owner of the socket at the other end of a loopback connection. The
 * connecting socket is the one whose local address is our peer's and whose
 * remote address is ours; the kernel knows the uid that created it. A
 * socket no process holds any more (closed, in FIN_WAIT2 or TIME_WAIT) has
 * no owner to give: that is "cannot be known", never uid 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peercred.h"

#ifdef __linux__
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "procnet.h"

static int diag_fd = -1;  /* the NETLINK_SOCK_DIAG socket, kept open */
static bool diag_missing; /* the kernel has no sock_diag: use /proc */
static unsigned diag_seq;

bool
peercred_supported(void)
{
	return true;
}

void
peercred_prepare(void)
{
	if (diag_fd >= 0 || diag_missing)
		return;
	diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (diag_fd < 0 && (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT))
		diag_missing = true;
}

/* The connection's two ends; the family, and the address bytes as sin_addr/sin6_addr hold them. */
struct tuple {
	int family;
	uint8_t peer[16], ours[16];
	uint16_t peer_port, our_port; /* host order */
};

static int
get_tuple(int fd, struct tuple *t, char *err, size_t errlen)
{
	struct sockaddr_storage p, o;
	socklen_t plen = sizeof(p), olen = sizeof(o);

	if (getpeername(fd, (struct sockaddr *)&p, &plen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&o, &olen) == -1) {
		snprintf(
		    err, errlen, "cannot read the connection's addresses: %s", strerror(errno));
		return -1;
	}
	memset(t, 0, sizeof(*t));
	t->family = p.ss_family;
	if (p.ss_family == AF_INET && o.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&p, *b = (const void *)&o;
		memcpy(t->peer, &a->sin_addr, 4);
		memcpy(t->ours, &b->sin_addr, 4);
		t->peer_port = ntohs(a->sin_port);
		t->our_port = ntohs(b->sin_port);
	} else if (p.ss_family == AF_INET6 && o.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&p, *b = (const void *)&o;
		memcpy(t->peer, &a->sin6_addr, 16);
		memcpy(t->ours, &b->sin6_addr, 16);
		t->peer_port = ntohs(a->sin6_port);
		t->our_port = ntohs(b->sin6_port);
	} else {
		snprintf(err, errlen, "not a TCP/IP connection");
		return -1;
	}
	return 0;
}

/* Checks one inet_diag answer: the socket asked for, held by a process. */
static int
diag_answer(
    const struct tuple *t, const struct inet_diag_msg *m, uid_t *uid, char *err, size_t errlen)
{
	size_t n = t->family == AF_INET ? 4 : 16;

	if (ntohs(m->id.idiag_sport) != t->peer_port || ntohs(m->id.idiag_dport) != t->our_port ||
	    memcmp(m->id.idiag_src, t->peer, n) != 0 || memcmp(m->id.idiag_dst, t->ours, n) != 0 ||
	    m->idiag_state == TCP_LISTEN) {
		snprintf(err, errlen, "no connecting socket on this machine");
		return -1;
	}
	if (m->idiag_inode == 0) {
		snprintf(err, errlen, "the connecting socket is already closed");
		return -1;
	}
	*uid = m->idiag_uid;
	return 0;
}

/* 0 found, -1 not found (err), -2 sock_diag cannot answer (try /proc). */
static int
ask_diag(const struct tuple *t, uid_t *uid, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	union {
		struct nlmsghdr h;
		char bytes[8192];
	} ans;
	unsigned seq = ++diag_seq;

	peercred_prepare();
	if (diag_fd < 0)
		return -2;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)t->family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u;
	req.r.id.idiag_sport = htons(t->peer_port);
	req.r.id.idiag_dport = htons(t->our_port);
	memcpy(req.r.id.idiag_src, t->peer, t->family == AF_INET ? 4 : 16);
	memcpy(req.r.id.idiag_dst, t->ours, t->family == AF_INET ? 4 : 16);
	req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (send(diag_fd, &req, sizeof(req), 0) < 0)
		return -2;
	for (;;) {
		ssize_t n = recv(diag_fd, &ans, sizeof(ans), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -2;
		for (struct nlmsghdr *h = &ans.h; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue; /* an answer to an earlier question we gave up on */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -2;
				if (e->error == -ENOENT) {
					snprintf(
					    err, errlen, "no connecting socket on this machine");
					return -1;
				}
				return -2;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				return diag_answer(t, NLMSG_DATA(h), uid, err, errlen);
			return -2;
		}
	}
}

/* The /proc/net/tcp{,6} line of the connecting socket. */
static int
ask_proc(const struct tuple *t, uid_t *uid, char *err, size_t errlen)
{
	bool v6 = t->family == AF_INET6;
	const char *path = v6 ? "/proc/net/tcp6" : "/proc/net/tcp";
	size_t n = v6 ? 16 : 4;
	char line[512], why[128];
	FILE *f = fopen(path, "re");
	int rc = -1;

	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(err, errlen, "no connecting socket on this machine");
	while (fgets(line, sizeof(line), f) != NULL) {
		struct procnet_entry e;
		if (procnet_parse(line, strcspn(line, "\n"), v6, &e, why, sizeof(why)) != 1)
			continue;
		if (e.local_port != t->peer_port || e.remote_port != t->our_port ||
		    memcmp(e.local, t->peer, n) != 0 || memcmp(e.remote, t->ours, n) != 0 ||
		    e.state == TCP_LISTEN)
			continue;
		if (e.inode == 0) {
			snprintf(err, errlen, "the connecting socket is already closed");
		} else {
			*uid = e.uid;
			rc = 0;
		}
		break;
	}
	fclose(f);
	return rc;
}

int
peercred_uid(int fd, uid_t *uid, char *err, size_t errlen)
{
	struct tuple t;
	int rc;

	if (get_tuple(fd, &t, err, errlen) == -1)
		return -1;
	rc = ask_diag(&t, uid, err, errlen);
	if (rc == -2)
		rc = ask_proc(&t, uid, err, errlen);
	return rc;
}

#else

bool
peercred_supported(void)
{
	return false;
}

void
peercred_prepare(void)
{
}

int
peercred_uid(int fd, uid_t *uid, char *err, size_t errlen)
{
	(void)fd;
	(void)uid;
	snprintf(err, errlen, "this system cannot say who owns a connecting socket");
	return -1;
}

#endif
