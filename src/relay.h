/*
 * "porthole relay": the far end of UDP forwarding. Started by porthole on
 * the SSH server as an exec channel's command, it speaks the relay protocol
 * (docs/relay-protocol.md) on stdin and stdout and moves the datagrams of
 * every flow through real UDP sockets on the server.
 */
#ifndef PORTHOLE_RELAY_H
#define PORTHOLE_RELAY_H

/* argv[0] is "relay". Returns the process exit status. */
int relay_main(int argc, char **argv);

#endif
