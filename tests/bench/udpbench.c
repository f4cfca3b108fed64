/*
 * udpbench: the UDP client and echo server for tests/bench/udp.py.
 *
 * Python's per-datagram cost (tens of microseconds) would be what it
 * measures, and on a small machine it would take the CPU the tunnel needs,
 * so both ends of the UDP benchmark are this small C program instead. Each
 * request carries its sequence number, its slot and its send time; the echo
 * sends it back unchanged, and the client computes the round trip from the
 * time in the reply. Batches go through sendmmsg/recvmmsg; nothing spins:
 * between batches the program sleeps in ppoll.
 *
 *   udpbench echo [-b ADDR:PORT] [-r ADDR:PORT]
 *	Binds ADDR:PORT (default 127.0.0.1:0, with SO_REUSEADDR), prints the
 *	port on stdout, then sends every datagram back to its sender, or to
 *	-r ADDR:PORT (for udptunnel, which only listens on a fixed port).
 *	Exits when its standard input closes.
 *
 *   udpbench rr -t ADDR:PORT [-b ADDR:PORT] [-s SIZE] [-n INFLIGHT] [-d SECONDS]
 *		 [-w WARMUP] [-T TIMEOUT_MS]
 *	Closed loop: keeps INFLIGHT requests outstanding, sending a new one
 *	for each reply. A request unanswered after TIMEOUT_MS is counted lost
 *	and replaced. The first WARMUP seconds are not counted. SIGUSR1
 *	restarts the counts; SIGINT or SIGTERM ends the run early.
 *
 *   udpbench rate -t ADDR:PORT [-b ADDR:PORT] [-s SIZE] -R PER_SECOND [-d SECONDS]
 *		 [-D DRAIN] [-i INTERVAL_MS]
 *	Open loop: sends PER_SECOND requests a second (in ticks of 200 us)
 *	for SECONDS, whatever comes back, then waits DRAIN seconds for the
 *	last replies. Lost = sent - distinct replies. With -i, a timeline on
 *	stderr: per interval, requests sent, replies received, their worst
 *	round trip.
 *
 * Both clients print one line on stdout:
 *   sent=N replies=N lost=N late=N all=N seconds=S rate=R p50_us=.. p90_us=.. p99_us=..
 *   p999_us=.. max_us=.. cpu=C
 * counted over the run without its warm-up: rate is replies per second, the
 * percentiles are round-trip times, late counts replies that came after
 * their request was given up (or duplicates); all is every reply, warm-up
 * included (for CPU time per datagram); cpu is this process's user+system
 * seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 65507
#define HDR 24 /* seq u64, slot u64, send time u64 (ns) */
#define MAX_INFLIGHT 4096
#define TICK_NS 200000 /* open loop: one burst every 200 us */

static volatile sig_atomic_t stop_flag, reset_flag;

struct samples {
	uint32_t *us; /* round trips, in 1/16 us (so up to ~268 s) */
	size_t n, cap;
};

struct stats {
	uint64_t sent, replies, lost, late;
	uint64_t all; /* replies, counted or not (warm-up, before a SIGUSR1) */
	struct samples rtt;
	double t0;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: udpbench echo [-b ADDR:PORT] [-r ADDR:PORT]\n"
	    "       udpbench rr -t ADDR:PORT [-b ADDR:PORT] [-s SIZE] [-n INFLIGHT] "
	    "[-d SECONDS] [-w WARMUP] [-T TIMEOUT_MS]\n"
	    "       udpbench rate -t ADDR:PORT [-b ADDR:PORT] [-s SIZE] -R PER_SECOND "
	    "[-d SECONDS] [-D DRAIN] [-i INTERVAL_MS]\n");
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		reset_flag = 1;
	else
		stop_flag = 1;
}

static void
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
		fprintf(stderr, "udpbench: %s: expected ADDR:PORT\n", s);
		exit(2);
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		fprintf(stderr, "udpbench: %s: not an IPv4 address\n", host);
		exit(2);
	}
}

static int
udp_socket(const struct sockaddr_in *bind_to)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int one = 1, big = 4 << 20;

	if (fd < 0) {
		perror("udpbench: socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0) {
		perror("udpbench: bind");
		exit(1);
	}
	return fd;
}

static void
put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---------------------------------------------------------------- echo */

static int
run_echo(const struct sockaddr_in *bind_to, const struct sockaddr_in *reply_to)
{
	static unsigned char bufs[BATCH][MAX_SIZE];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];
	struct sockaddr_in me;
	socklen_t melen = sizeof(me);
	int fd = udp_socket(bind_to);

	getsockname(fd, (struct sockaddr *)&me, &melen);
	printf("%u\n", ntohs(me.sin_port));
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			char c;
			if (read(0, &c, 1) <= 0)
				return 0;
		}
		for (;;) {
			memset(msgs, 0, sizeof(msgs));
			for (int i = 0; i < BATCH; i++) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = MAX_SIZE;
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
				msgs[i].msg_hdr.msg_name = &from[i];
				msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			}
			int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			for (int i = 0; i < n; i++) {
				iov[i].iov_len = msgs[i].msg_len;
				if (reply_to != NULL) {
					msgs[i].msg_hdr.msg_name = (void *)reply_to;
					msgs[i].msg_hdr.msg_namelen = sizeof(*reply_to);
				}
			}
			/* A full socket buffer drops the rest: UDP may, and the client counts it.
			 */
			sendmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT);
		}
	}
}

/* ---------------------------------------------------------------- clients */

struct client {
	int fd;
	struct sockaddr_in to;
	size_t size;
	unsigned char *out[BATCH];
	unsigned char (*in)[MAX_SIZE];
	struct stats st;
	uint64_t record_from; /* ns: replies to requests sent before this are not timed */
};

static void
record(struct samples *s, uint64_t ns)
{
	uint64_t v = ns * 16 / 1000;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->us = realloc(s->us, s->cap * sizeof(*s->us));
		if (s->us == NULL) {
			perror("udpbench: realloc");
			exit(1);
		}
	}
	s->us[s->n++] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const struct samples *s, double p)
{
	size_t k;

	if (s->n == 0)
		return -1;
	k = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	k = k == 0 ? 0 : k - 1;
	if (k >= s->n)
		k = s->n - 1;
	return s->us[k] / 16.0;
}

static void
report(struct client *c, double seconds, double cpu)
{
	struct samples *s = &c->st.rtt;

	qsort(s->us, s->n, sizeof(*s->us), cmp_u32);
	printf("sent=%" PRIu64 " replies=%" PRIu64 " lost=%" PRIu64 " late=%" PRIu64 " all=%" PRIu64
	       " seconds=%.3f rate=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f"
	       " max_us=%.1f cpu=%.3f\n",
	    c->st.sent, c->st.replies, c->st.lost, c->st.late, c->st.all, seconds,
	    seconds > 0 ? (double)c->st.replies / seconds : 0.0, pct(s, 50), pct(s, 90), pct(s, 99),
	    pct(s, 99.9), pct(s, 100), cpu);
	fflush(stdout);
}

/* Sends count requests (at most BATCH) with the given seqs and slots. */
static void
send_batch(struct client *c, const uint64_t *seq, const uint64_t *slot, int count)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t t = now_ns();
	int done = 0;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < count; i++) {
		put64(c->out[i], seq[i]);
		put64(c->out[i] + 8, slot[i]);
		put64(c->out[i] + 16, t);
		iov[i].iov_base = c->out[i];
		iov[i].iov_len = c->size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &c->to;
		msgs[i].msg_hdr.msg_namelen = sizeof(c->to);
	}
	while (done < count) {
		int n = sendmmsg(c->fd, msgs + done, (unsigned)(count - done), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd p = {c->fd, POLLOUT, 0};
				poll(&p, 1, 10);
				continue;
			}
			/* ECONNREFUSED from an earlier ICMP and the like: count as sent, lost. */
			n = 1;
		}
		done += n;
	}
	c->st.sent += (uint64_t)count;
}

/* Reads what has arrived; calls got(seq, slot, sent_ns) for each reply. Returns how many. */
static int
recv_batch(
    struct client *c, int (*got)(struct client *, uint64_t, uint64_t, uint64_t, void *), void *arg)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int total = 0;

	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = c->in[i];
			iov[i].iov_len = MAX_SIZE;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(c->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return total;
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_len < HDR)
				continue;
			got(c, get64(c->in[i]), get64(c->in[i] + 8), get64(c->in[i] + 16), arg);
		}
		total += n;
		if (n < BATCH)
			return total;
	}
}

static void
client_init(
    struct client *c, const struct sockaddr_in *to, const struct sockaddr_in *bind_to, size_t size)
{
	memset(c, 0, sizeof(*c));
	c->fd = udp_socket(bind_to);
	c->to = *to;
	c->size = size;
	for (int i = 0; i < BATCH; i++) {
		c->out[i] = calloc(1, size);
		if (c->out[i] == NULL)
			exit(1);
	}
	c->in = malloc(sizeof(*c->in) * BATCH);
	if (c->in == NULL)
		exit(1);
}

/* ---- closed loop */

struct rr {
	uint64_t n;
	uint64_t *slot_seq;  /* the seq outstanding in each slot */
	uint64_t *slot_sent; /* when it was sent, ns */
	uint64_t next_seq;
	uint64_t pend_seq[BATCH], pend_slot[BATCH];
	int npend;
};

static void
rr_flush(struct client *c, struct rr *r)
{
	uint64_t t = now_ns();

	for (int i = 0; i < r->npend; i++)
		r->slot_sent[r->pend_slot[i]] = t;
	if (r->npend > 0)
		send_batch(c, r->pend_seq, r->pend_slot, r->npend);
	r->npend = 0;
}

static void
rr_queue(struct client *c, struct rr *r, uint64_t slot)
{
	r->slot_seq[slot] = r->next_seq;
	r->pend_seq[r->npend] = r->next_seq++;
	r->pend_slot[r->npend++] = slot;
	if (r->npend == BATCH)
		rr_flush(c, r);
}

static int
rr_got(struct client *c, uint64_t seq, uint64_t slot, uint64_t sent, void *arg)
{
	struct rr *r = arg;

	if (slot >= r->n || r->slot_seq[slot] != seq) {
		c->st.late++;
		return 0;
	}
	c->st.all++;
	if (sent >= c->record_from) {
		c->st.replies++;
		record(&c->st.rtt, now_ns() - sent);
	}
	rr_queue(c, r, slot);
	return 1;
}

static int
run_rr(struct client *c, uint64_t inflight, double seconds, double warmup, double timeout_ms)
{
	struct rr r = {0};
	uint64_t timeout_ns = (uint64_t)(timeout_ms * 1e6);
	uint64_t start = now_ns(), end, t_count;
	double cpu0 = 0;

	r.n = inflight;
	r.slot_seq = calloc(inflight, sizeof(uint64_t));
	r.slot_sent = calloc(inflight, sizeof(uint64_t));
	r.next_seq = 1;
	c->record_from = start + (uint64_t)(warmup * 1e9);
	end = c->record_from + (uint64_t)(seconds * 1e9);
	t_count = c->record_from;
	for (uint64_t i = 0; i < inflight; i++)
		rr_queue(c, &r, i);
	rr_flush(c, &r);
	bool counting = warmup <= 0;
	if (counting)
		cpu0 = cpu_seconds();
	while (!stop_flag) {
		uint64_t t = now_ns();
		if (t >= end)
			break;
		if (!counting && t >= c->record_from) {
			counting = true;
			c->st.sent = c->st.lost = c->st.late = 0;
			cpu0 = cpu_seconds();
		}
		if (reset_flag) {
			reset_flag = 0;
			memset(&c->st, 0, offsetof(struct stats, all));
			c->st.rtt.n = 0;
			c->record_from = t_count = t;
			counting = true;
			cpu0 = cpu_seconds();
		}
		struct pollfd p = {c->fd, POLLIN, 0};
		int wait_ms = 10;
		int rc = poll(&p, 1, wait_ms);
		if (rc < 0 && errno != EINTR)
			return 1;
		recv_batch(c, rr_got, &r);
		rr_flush(c, &r);
		/* Timeouts: lost, replaced. */
		t = now_ns();
		for (uint64_t i = 0; i < r.n; i++) {
			if (t - r.slot_sent[i] > timeout_ns) {
				if (r.slot_sent[i] >= c->record_from)
					c->st.lost++;
				rr_queue(c, &r, i);
			}
		}
		rr_flush(c, &r);
	}
	if (c->record_from > start && now_ns() < c->record_from)
		t_count = now_ns();
	report(c, (double)(now_ns() - t_count) / 1e9, cpu_seconds() - cpu0);
	return 0;
}

/* ---- open loop */

struct ol {
	uint8_t *seen; /* one bit per seq */
	uint64_t max_seq;
	/* -i: per-interval counts, printed on stderr at the end */
	uint64_t start, interval;
	size_t nbuckets;
	uint64_t *b_sent, *b_replies, *b_maxrtt;
};

static size_t
ol_bucket(const struct ol *o, uint64_t t)
{
	size_t i = (size_t)((t - o->start) / o->interval);

	return i < o->nbuckets ? i : o->nbuckets - 1;
}

static int
ol_got(struct client *c, uint64_t seq, uint64_t slot, uint64_t sent, void *arg)
{
	struct ol *o = arg;

	uint64_t t = now_ns();

	if (seq == 0 || seq > o->max_seq || sent > t || (o->seen[seq / 8] & (1u << (seq % 8)))) {
		c->st.late++; /* a duplicate or garbage */
		return 0;
	}
	o->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	c->st.all++;
	c->st.replies++;
	record(&c->st.rtt, t - sent);
	if (o->interval > 0) {
		size_t i = ol_bucket(o, t);
		o->b_replies[i]++;
		if (t - sent > o->b_maxrtt[i])
			o->b_maxrtt[i] = t - sent;
	}
	return 1;
}

static int
run_rate(struct client *c, double per_second, double seconds, double drain, double interval_ms)
{
	struct ol o;
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
	uint64_t total = (uint64_t)(per_second * seconds), seq = 1;
	double cpu0 = cpu_seconds();

	memset(&o, 0, sizeof(o));
	o.max_seq = total;
	o.seen = calloc(total / 8 + 1, 1);
	o.start = start;
	if (interval_ms > 0) {
		o.interval = (uint64_t)(interval_ms * 1e6);
		o.nbuckets = (size_t)((seconds + drain) * 1e3 / interval_ms) + 2;
		o.b_sent = calloc(o.nbuckets, sizeof(uint64_t));
		o.b_replies = calloc(o.nbuckets, sizeof(uint64_t));
		o.b_maxrtt = calloc(o.nbuckets, sizeof(uint64_t));
	}
	while (!stop_flag && seq <= total) {
		uint64_t t = now_ns();
		uint64_t due =
		    t >= end ? total : (uint64_t)((double)(t - start) * per_second / 1e9);
		while (seq <= due && seq <= total) {
			uint64_t seqs[BATCH], slots[BATCH];
			int k = 0;
			while (k < BATCH && seq <= due && seq <= total) {
				slots[k] = 0;
				seqs[k++] = seq++;
			}
			send_batch(c, seqs, slots, k);
			if (o.interval > 0)
				o.b_sent[ol_bucket(&o, now_ns())] += (uint64_t)k;
			recv_batch(c, ol_got, &o);
		}
		recv_batch(c, ol_got, &o);
		struct timespec tick = {0, TICK_NS};
		struct pollfd p = {c->fd, POLLIN, 0};
		ppoll(&p, 1, &tick, NULL);
	}
	double sending = (double)(now_ns() - start) / 1e9;
	uint64_t drain_end = now_ns() + (uint64_t)(drain * 1e9);
	while (!stop_flag && c->st.replies < c->st.sent && now_ns() < drain_end) {
		struct pollfd p = {c->fd, POLLIN, 0};
		poll(&p, 1, 10);
		recv_batch(c, ol_got, &o);
	}
	c->st.lost = c->st.sent - c->st.replies;
	report(c, sending, cpu_seconds() - cpu0);
	for (size_t i = 0; o.interval > 0 && i < o.nbuckets; i++)
		fprintf(stderr, "t=%.2f sent=%" PRIu64 " replies=%" PRIu64 " max_rtt_ms=%.1f\n",
		    (double)(i * o.interval) / 1e9, o.b_sent[i], o.b_replies[i],
		    (double)o.b_maxrtt[i] / 1e6);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in to, bind_to, reply_to;
	bool have_to = false, have_reply = false;
	size_t size = 1200;
	double seconds = 3, warmup = 0.5, timeout_ms = 1000, rate = 0, drain = 1, interval = 0;
	uint64_t inflight = 1;
	const char *mode;
	int opt;

	if (argc < 2)
		usage();
	mode = argv[1];
	memset(&bind_to, 0, sizeof(bind_to));
	bind_to.sin_family = AF_INET;
	bind_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	optind = 2;
	while ((opt = getopt(argc, argv, "b:r:t:s:n:d:w:T:R:D:i:")) != -1) {
		switch (opt) {
		case 'b':
			parse_addr(optarg, &bind_to);
			break;
		case 'r':
			parse_addr(optarg, &reply_to);
			have_reply = true;
			break;
		case 't':
			parse_addr(optarg, &to);
			have_to = true;
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			inflight = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'T':
			timeout_ms = atof(optarg);
			break;
		case 'R':
			rate = atof(optarg);
			break;
		case 'D':
			drain = atof(optarg);
			break;
		case 'i':
			interval = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (size < HDR || size > MAX_SIZE || inflight < 1 || inflight > MAX_INFLIGHT) {
		fprintf(stderr, "udpbench: size must be %d-%d, inflight 1-%d\n", HDR, MAX_SIZE,
		    MAX_INFLIGHT);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	if (strcmp(mode, "echo") == 0)
		return run_echo(&bind_to, have_reply ? &reply_to : NULL);
	if (!have_to)
		usage();
	struct client c;
	client_init(&c, &to, &bind_to, size);
	if (strcmp(mode, "rr") == 0)
		return run_rr(&c, inflight, seconds, warmup, timeout_ms);
	if (strcmp(mode, "rate") == 0 && rate > 0)
		return run_rate(&c, rate, seconds, drain, interval);
	usage();
	return 2;
}
