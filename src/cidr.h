/*
 * Address lists as OpenSSH's addr_match_cidr_list reads them (ssh_config
 * Match localnetwork): comma-separated IPv4 or IPv6 networks, "addr/len" or a
 * bare address (a host), host bits zero. Pure.
 */
#ifndef PORTHOLE_CIDR_H
#define PORTHOLE_CIDR_H

#include <stddef.h>

/*
 * Whether addr (a numeric IPv4 or IPv6 address) is in list: 1 yes, 0 no
 * (also for an addr that is not an address), -1 if the list is malformed,
 * with err naming the entry. addr NULL only checks the list.
 */
int cidr_match_list(const char *addr, const char *list, char *err, size_t errlen);

#endif
