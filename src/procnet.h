/*
 * One line of Linux's /proc/net/tcp or /proc/net/tcp6, parsed: the socket's
 * two addresses, its state, the uid that owns it and its inode. Pure (text
 * in, struct out), so it is unit-tested and fuzzed; peercred.c reads the
 * files when the kernel's sock_diag interface is not there.
 *
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0100007F:1F90 0100007F:A3C2 01 00000000:00000000 00:00000000 00000000  1000        0 40712
 * ...
 *
 * Addresses are the kernel's 32-bit words printed in hex in the host's byte
 * order, so the bytes come out as the socket holds them in memory (what
 * sin_addr / sin6_addr hold); ports are in hex, host order.
 */
#ifndef PORTHOLE_PROCNET_H
#define PORTHOLE_PROCNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct procnet_entry {
	uint8_t local[16], remote[16]; /* 4 bytes used for /proc/net/tcp */
	uint16_t local_port, remote_port;
	unsigned state; /* TCP_ESTABLISHED is 1, TCP_TIME_WAIT 6, TCP_LISTEN 10 */
	uint32_t uid;
	uint64_t inode; /* 0 for a socket no process holds (closed, in TIME_WAIT) */
};

/*
 * Parses one line (len bytes, no newline needed) of /proc/net/tcp (ipv6
 * false) or tcp6 (true). Returns 1 with out filled, 0 for the header line,
 * or -1 with err saying what is wrong.
 */
int procnet_parse(
    const char *line, size_t len, bool ipv6, struct procnet_entry *out, char *err, size_t errlen);

#endif
