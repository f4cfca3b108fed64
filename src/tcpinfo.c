/*
 * The kernel's view of a TCP socket (see tcpinfo.h): one getsockopt.
 */
#include <stddef.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "tcpinfo.h"

#if defined(__linux__)
#include <linux/tcp.h>
#endif

int64_t
tcpinfo_min_rtt_us(int fd)
{
#if defined(__linux__) && defined(TCP_INFO)
	struct tcp_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
		return -1;
	/* An older kernel fills in less; ~0U is "no sample yet". */
	if (len < offsetof(struct tcp_info, tcpi_min_rtt) + sizeof(info.tcpi_min_rtt) ||
	    info.tcpi_min_rtt == 0 || info.tcpi_min_rtt == ~0U)
		return -1;
	return (int64_t)info.tcpi_min_rtt;
#else
	(void)fd;
	return -1;
#endif
}
