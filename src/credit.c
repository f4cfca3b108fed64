/*
 * Stream credit. The receiver gives credit in batches of at least a quarter
 * window, so a stream moving bulk data costs one SWINDOW per 64 KiB at the
 * 256 KiB window a stream starts with (per 512 KiB at 2 MiB), not one per
 * SDATA frame. A peer that used its whole credit always gets some back:
 * then everything outstanding is held here, and once a quarter window of it
 * is written out, that much is due.
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
	c->held = 0;
}

int
credit_rx_take(struct credit_rx *c, size_t n)
{
	if (n > c->avail)
		return -1;
	c->avail -= (uint32_t)n;
	c->held += (uint32_t)n; /* avail + held never passes CREDIT_MAX */
	return 0;
}

/* What the peer may be given now, if it is worth an SWINDOW. */
static uint32_t
due(struct credit_rx *c)
{
	uint32_t outstanding = c->avail + c->held, d;

	if (outstanding >= c->window)
		return 0;
	d = c->window - outstanding;
	if (d < c->window / 4)
		return 0;
	c->avail += d;
	return d;
}

uint32_t
credit_rx_written(struct credit_rx *c, size_t n)
{
	c->held -= n > c->held ? c->held : (uint32_t)n; /* never more than was received */
	return due(c);
}

uint32_t
credit_rx_set_window(struct credit_rx *c, uint32_t window)
{
	c->window = window > CREDIT_MAX ? CREDIT_MAX : window;
	return due(c);
}
