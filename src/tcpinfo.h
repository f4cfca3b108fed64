/*
 * What the kernel knows about a TCP connection that porthole wants: its
 * minimum round trip (Linux TCP_INFO's tcpi_min_rtt, Linux 4.6 and later).
 * A file of its own because glibc's <netinet/tcp.h>, which the socket code
 * includes, has an older struct tcp_info without the field, and
 * <linux/tcp.h>, which has it, cannot be included beside it.
 */
#ifndef PORTHOLE_TCPINFO_H
#define PORTHOLE_TCPINFO_H

#include <stdint.h>

/* The connection's minimum RTT in microseconds; -1 if the kernel does not say. */
int64_t tcpinfo_min_rtt_us(int fd);

#endif
