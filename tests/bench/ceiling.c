/*
 * ceiling: the libssh2 ceiling for porthole's throughput benchmark.
 *
 * A minimal BLOCKING libssh2 client: connect, handshake, public key auth from
 * a file, one direct-tcpip channel, then push N bytes up (EOF, then wait for
 * the server's 8-byte ack or its close) or read N bytes down. No event loop,
 * no local socket, no extra buffering: as fast as libssh2 itself goes, which
 * is what porthole (libssh2 driven by libuv) should come close to.
 *
 *   ceiling host port user keyfile target_host target_port up|down bytes
 *
 * aes128-ctr + hmac-sha2-256, or $CEILING_CIPHER + hmac-sha2-256.
 *
 * Prints one line on stdout:
 *   ceiling: <dir> bytes=N seconds=S mibps=R cpu=C
 * where seconds, mibps and cpu (user+system seconds of this process) cover
 * the channel open and the transfer, not the handshake or authentication.
 *
 * glibc's heap trimming is turned off (mallopt below): libssh2 1.10 mallocs
 * every incoming packet, and a blocking read queues up to a window's worth
 * (2 MiB) before freeing them, so with the default 128 KiB trim threshold the
 * heap top is returned to the kernel and faulted back in over and over; that
 * doubled the ceiling's CPU time per byte downloaded. porthole does not hit
 * this (its long-lived buffers keep the heap top up), so it would make the
 * "ceiling" a floor.
 *
 * The server's host key is NOT checked: this only ever talks to the
 * benchmark's own throw-away sshd on loopback (tests/bench/throughput.py).
 * Never point it at a real server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#define CIPHER "aes128-ctr"
#define MAC "hmac-sha2-256"
#define BUF_SIZE (64 * 1024)

static char buf[BUF_SIZE];

static void
die_ssh(LIBSSH2_SESSION *s, const char *what)
{
	char *msg = NULL;

	libssh2_session_last_error(s, &msg, NULL, 0);
	fprintf(stderr, "ceiling: %s: %s\n", what, msg != NULL ? msg : "?");
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
tcp_connect(const char *host, int port)
{
	struct sockaddr_in sin;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		perror("ceiling: socket");
		exit(1);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fprintf(stderr, "ceiling: %s: not an IPv4 address\n", host);
		exit(2);
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("ceiling: connect");
		exit(1);
	}
	/* Same socket options as porthole's SSH socket. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
push_up(LIBSSH2_SESSION *s, LIBSSH2_CHANNEL *ch, uint64_t total)
{
	uint64_t sent = 0;
	unsigned char ack[8];
	size_t got = 0;

	while (sent < total) {
		size_t want = total - sent < BUF_SIZE ? (size_t)(total - sent) : BUF_SIZE;
		size_t off = 0;
		while (off < want) {
			ssize_t n = libssh2_channel_write(ch, buf + off, want - off);
			if (n < 0)
				die_ssh(s, "channel write");
			off += (size_t)n;
		}
		sent += want;
	}
	if (libssh2_channel_send_eof(ch) < 0)
		die_ssh(s, "send EOF");
	/* The sink answers with the byte count it read (8 bytes, little endian), then closes. */
	while (got < sizeof(ack)) {
		ssize_t n = libssh2_channel_read(ch, (char *)ack + got, sizeof(ack) - got);
		if (n < 0)
			die_ssh(s, "reading the ack");
		if (n == 0 && libssh2_channel_eof(ch))
			break;
		got += (size_t)n;
	}
	if (got == sizeof(ack)) {
		uint64_t count = 0;
		for (int i = 7; i >= 0; i--)
			count = count << 8 | ack[i];
		if (count != total) {
			fprintf(stderr, "ceiling: sink read %" PRIu64 " bytes, sent %" PRIu64 "\n",
			    count, total);
			exit(1);
		}
	}
}

static void
pull_down(LIBSSH2_SESSION *s, LIBSSH2_CHANNEL *ch, uint64_t total)
{
	uint64_t got = 0;

	while (got < total) {
		size_t want = total - got < BUF_SIZE ? (size_t)(total - got) : BUF_SIZE;
		ssize_t n = libssh2_channel_read(ch, buf, want);
		if (n < 0)
			die_ssh(s, "channel read");
		if (n == 0 && libssh2_channel_eof(ch)) {
			fprintf(stderr, "ceiling: EOF after %" PRIu64 " of %" PRIu64 " bytes\n",
			    got, total);
			exit(1);
		}
		got += (uint64_t)n;
	}
}

int
main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr,
		    "usage: ceiling host port user keyfile target_host target_port "
		    "up|down bytes\n");
		return 2;
	}
	const char *host = argv[1], *user = argv[3], *keyfile = argv[4], *thost = argv[5];
	int port = atoi(argv[2]), tport = atoi(argv[6]);
	int up = strcmp(argv[7], "up") == 0;
	uint64_t total = strtoull(argv[8], NULL, 0);
	char pubfile[4096];

	if (!up && strcmp(argv[7], "down") != 0) {
		fprintf(stderr, "ceiling: direction must be up or down\n");
		return 2;
	}
	snprintf(pubfile, sizeof(pubfile), "%s.pub", keyfile);
	if (access(pubfile, R_OK) != 0)
		snprintf(pubfile, sizeof(pubfile), "%s", "");

#ifdef __GLIBC__
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
#endif
	if (libssh2_init(0) != 0) {
		fprintf(stderr, "ceiling: libssh2_init failed\n");
		return 1;
	}
	int fd = tcp_connect(host, port);
	LIBSSH2_SESSION *s = libssh2_session_init();
	if (s == NULL) {
		fprintf(stderr, "ceiling: cannot create a session\n");
		return 1;
	}
	libssh2_session_set_blocking(s, 1);
	/* $CEILING_CIPHER: throughput.py --cipher. */
	const char *cipher = getenv("CEILING_CIPHER") ? getenv("CEILING_CIPHER") : CIPHER;
	if (libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_CS, cipher) < 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_SC, cipher) < 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_CS, MAC) < 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_SC, MAC) < 0)
		die_ssh(s, "setting the cipher / " MAC);
	if (libssh2_session_handshake(s, fd) != 0)
		die_ssh(s, "handshake");
	/* No host key check: see the comment at the top. */
	if (libssh2_userauth_publickey_fromfile(
		s, user, pubfile[0] ? pubfile : NULL, keyfile, NULL) != 0)
		die_ssh(s, "public key authentication");

	double t0 = now(), c0 = cpu_seconds();
	LIBSSH2_CHANNEL *ch = libssh2_channel_direct_tcpip_ex(s, thost, tport, "127.0.0.1", 22);
	if (ch == NULL)
		die_ssh(s, "opening the direct-tcpip channel");
	if (up)
		push_up(s, ch, total);
	else
		pull_down(s, ch, total);
	double dt = now() - t0, cpu = cpu_seconds() - c0;

	printf("ceiling: %s bytes=%" PRIu64 " seconds=%.4f mibps=%.1f cpu=%.3f\n", argv[7], total,
	    dt, (double)total / (1024.0 * 1024.0) / dt, cpu);
	fflush(stdout);

	libssh2_channel_free(ch);
	libssh2_session_disconnect(s, "done");
	libssh2_session_free(s);
	close(fd);
	libssh2_exit();
	return 0;
}
