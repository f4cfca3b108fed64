/*
 * Stream credit. The receiver returns credit in batches of at least a
 * quarter window, so a stream moving bulk data costs one SWINDOW per 64 KiB
 * (porthole's 256 KiB window), not one per SDATA frame; a peer that used its
 * whole credit always gets some back, since then the whole window is held or
 * written and a quarter of it is written eventually.
 */
#include "credit.h"

void
credit_tx_init(struct credit_tx *c, uint32_t peer_window)
{
	c->avail = peer_window > CREDIT_MAX ? CREDIT_MAX : peer_window;
}

int
credit_tx_grant(struct credit_tx *c, uint32_t increment)
{
	if (increment > CREDIT_MAX - c->avail)
		return -1;
	c->avail += increment;
	return 0;
}

void
credit_tx_spend(struct credit_tx *c, size_t n)
{
	c->avail = n >= c->avail ? 0 : c->avail - (uint32_t)n;
}

void
credit_rx_init(struct credit_rx *c, uint32_t window)
{
	c->window = window > CREDIT_MAX ? CREDIT_MAX : window;
	c->avail = c->window;
	c->unreturned = 0;
}

int
credit_rx_take(struct credit_rx *c, size_t n)
{
	if (n > c->avail)
		return -1;
	c->avail -= (uint32_t)n;
	return 0;
}

uint32_t
credit_rx_written(struct credit_rx *c, size_t n)
{
	uint32_t due;

	/* Never more than was received: avail + unreturned stays within the window. */
	if (n > (size_t)(c->window - c->avail - c->unreturned))
		n = c->window - c->avail - c->unreturned;
	c->unreturned += (uint32_t)n;
	if (c->unreturned == 0 || c->unreturned < c->window / 4)
		return 0;
	due = c->unreturned;
	c->unreturned = 0;
	c->avail += due;
	return due;
}
