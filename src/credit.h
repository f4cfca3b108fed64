/*
 * Per-stream credit (flow control) of the relay protocol's TCP streams
 * (docs/relay-protocol.md, "Credit"): what a side may still send on a stream,
 * and what it owes its peer as SWINDOW once its socket has taken the bytes.
 * Pure: numbers in, numbers out; both ends of a stream use it.
 *
 *   sending:   avail = peer's HELLO stream_window + peer's SWINDOWs - sent
 *   receiving: avail = own stream_window + own SWINDOWs - received
 *
 * The receiver's window is what it lets the peer have outstanding (credit
 * not used plus bytes received and not yet written out). It starts at the
 * HELLO stream_window and its owner may move it (credit_rx_set_window): up,
 * and the next SWINDOW gives the peer the difference; down, and credit goes
 * back only once the outstanding bytes are under the new window (credit
 * given cannot be taken back). An SWINDOW is due once it would carry at
 * least a quarter of the window.
 */
#ifndef PORTHOLE_CREDIT_H
#define PORTHOLE_CREDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CREDIT_MAX 0x7fffffffu /* no credit (or SWINDOW) may exceed this */

/* The sending side of one stream direction. */
struct credit_tx {
	uint32_t avail; /* SDATA bytes this side may still send */
};

/* The receiving side: what the peer may send, and what was written out and
 * not yet given back. */
struct credit_rx {
	uint32_t window; /* what the peer may have outstanding (see the top) */
	uint32_t avail;	 /* SDATA bytes the peer may still send */
	uint32_t held;	 /* received and not yet written out */
};

void credit_tx_init(struct credit_tx *c, uint32_t peer_window);
/* An SWINDOW from the peer: 0, or -1 if it would lift the credit over
 * CREDIT_MAX (a protocol violation; the credit is left as it was). */
int credit_tx_grant(struct credit_tx *c, uint32_t increment);
/* Takes n bytes of credit (the caller sends at most avail). */
void credit_tx_spend(struct credit_tx *c, size_t n);

void credit_rx_init(struct credit_rx *c, uint32_t window);
/* SDATA of n bytes arrived: 0, or -1 if it is past the credit. */
int credit_rx_take(struct credit_rx *c, size_t n);
/* n received bytes were written out. Returns the SWINDOW increment now due
 * (given to the peer's credit), or 0 while it would be under a quarter of
 * the window. */
uint32_t credit_rx_written(struct credit_rx *c, size_t n);
/* The window moved to window (capped at CREDIT_MAX). Returns the SWINDOW
 * increment now due, as credit_rx_written does. */
uint32_t credit_rx_set_window(struct credit_rx *c, uint32_t window);

#endif
