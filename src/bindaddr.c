/*
 * BindAddress and BindInterface, as ssh applies them: per address tried,
 * in that address's family, so "-b 127.0.0.2" to a host with an IPv6 and
 * an IPv4 address skips the IPv6 one (it cannot be bound) and connects
 * from 127.0.0.2 over IPv4. A name given as BindAddress is resolved here,
 * synchronously: a local address, answered from /etc/hosts in practice.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bindaddr.h"

static const char *
family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

static int
from_interface(const char *name, int family, struct sockaddr_storage *out, socklen_t *outlen,
    char *err, size_t errlen)
{
	struct ifaddrs *list, *ifa;
	bool found = false;

	if (getifaddrs(&list) == -1) {
		snprintf(err, errlen, "BindInterface %s: cannot list interfaces", name);
		return -1;
	}
	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || strcmp(ifa->ifa_name, name) != 0)
			continue;
		found = true;
		if (ifa->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET6) {
			const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ifa->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr))
				continue;
		}
		*outlen =
		    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		memcpy(out, ifa->ifa_addr, *outlen);
		freeifaddrs(list);
		return 0;
	}
	freeifaddrs(list);
	if (!found)
		snprintf(err, errlen, "BindInterface %s: no such interface", name);
	else
		snprintf(err, errlen, "BindInterface %s: the interface has no %s address", name,
		    family_name(family));
	return -1;
}

static int
from_address(const char *address, int family, struct sockaddr_storage *out, socklen_t *outlen,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(address, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "BindAddress %s: no %s address (%s)", address,
		    family_name(family), gai_strerror(rc));
		return -1;
	}
	*outlen = (socklen_t)res->ai_addrlen;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int
bindaddr_resolve(const char *address, const char *interface, int family,
    struct sockaddr_storage *out, socklen_t *outlen, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (interface != NULL && strcasecmp(interface, "none") != 0)
		return from_interface(interface, family, out, outlen, err, errlen);
	if (address != NULL && strcasecmp(address, "none") != 0)
		return from_address(address, family, out, outlen, err, errlen);
	return 1;
}
