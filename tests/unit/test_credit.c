/*
 * Unit tests for credit.c: the sender's credit and its SWINDOW ceiling, the
 * receiver's check of SDATA past the credit, and when (and how much) credit
 * goes back: a quarter window at a time, never more than was received; a
 * window moved up (the difference goes at once) and down (nothing until
 * what is outstanding is under it).
 */
#include "check.h"
#include "credit.h"

#define WINDOW 262144u

static void
test_tx(void)
{
	struct credit_tx c;

	credit_tx_init(&c, WINDOW);
	CHECK_INT(c.avail, WINDOW);
	credit_tx_spend(&c, 100000);
	CHECK_INT(c.avail, WINDOW - 100000);
	credit_tx_spend(&c, WINDOW);
	CHECK_INT(c.avail, 0);
	CHECK_INT(credit_tx_grant(&c, 65536), 0);
	CHECK_INT(c.avail, 65536);
	CHECK_INT(credit_tx_grant(&c, CREDIT_MAX - 65536), 0);
	CHECK_INT(c.avail, CREDIT_MAX);
	CHECK_INT(credit_tx_grant(&c, 1), -1); /* over 0x7FFFFFFF: RST_PROTOCOL */
	CHECK_INT(c.avail, CREDIT_MAX);	       /* and left as it was */
	credit_tx_init(&c, 0xffffffffu);
	CHECK_INT(c.avail, CREDIT_MAX);
}

static void
test_rx_take(void)
{
	struct credit_rx c;

	credit_rx_init(&c, WINDOW);
	CHECK_INT(credit_rx_take(&c, WINDOW - 1), 0);
	CHECK_INT(credit_rx_take(&c, 2), -1); /* one byte past the credit */
	CHECK_INT(c.avail, 1);
	CHECK_INT(credit_rx_take(&c, 1), 0);
	CHECK_INT(credit_rx_take(&c, 1), -1);
}

static void
test_rx_return(void)
{
	struct credit_rx c;

	credit_rx_init(&c, WINDOW);
	CHECK_INT(credit_rx_take(&c, 100000), 0);
	CHECK_INT(credit_rx_written(&c, 1000), 0);	/* under a quarter: nothing yet */
	CHECK_INT(credit_rx_written(&c, 64536), 65536); /* a quarter: all of it back */
	CHECK_INT(c.avail, WINDOW - 100000 + 65536);
	CHECK_INT(credit_rx_written(&c, 34464), 0);   /* the rest, under a quarter */
	CHECK_INT(credit_rx_written(&c, 1000000), 0); /* more than received: capped */
	CHECK_INT(c.held, 0);
	CHECK_INT(c.avail, WINDOW - 34464);
	/* The peer used its whole credit: writing the held bytes out gives some back. */
	CHECK_INT(credit_rx_take(&c, c.avail), 0);
	CHECK_INT(c.avail, 0);
	CHECK(credit_rx_written(&c, WINDOW) > 0);
	CHECK_INT(c.avail, WINDOW);
	CHECK_INT(c.held, 0);
}

static void
test_rx_window_moves(void)
{
	struct credit_rx c;

	credit_rx_init(&c, WINDOW);
	CHECK_INT(credit_rx_take(&c, 100000), 0); /* 100000 held, the rest still credit */
	/* Up: the peer gets the difference at once. */
	CHECK_INT(credit_rx_set_window(&c, 4 * WINDOW), 3 * WINDOW);
	CHECK_INT(c.avail, 4 * WINDOW - 100000);
	CHECK_INT(credit_rx_take(&c, c.avail), 0); /* the peer uses all of it */
	CHECK_INT(c.held, 4 * WINDOW);
	/* Down to WINDOW: nothing goes back while more than that is outstanding ... */
	CHECK_INT(credit_rx_set_window(&c, WINDOW), 0);
	CHECK_INT(credit_rx_written(&c, 3 * WINDOW), 0);
	CHECK_INT(credit_rx_written(&c, WINDOW / 4 - 1), 0);
	/* ... then a quarter of the new window at a time. */
	CHECK_INT(credit_rx_written(&c, 1), WINDOW / 4);
	CHECK_INT(c.avail + c.held, WINDOW);
	/* Never over CREDIT_MAX. */
	credit_rx_init(&c, WINDOW);
	CHECK_INT(credit_rx_set_window(&c, 0xffffffffu), CREDIT_MAX - WINDOW);
	CHECK_INT(c.avail, CREDIT_MAX);
}

static void
test_rx_small_window(void)
{
	struct credit_rx c;

	credit_rx_init(&c, 3); /* a quarter rounds to 0: every byte written goes back */
	CHECK_INT(credit_rx_take(&c, 3), 0);
	CHECK_INT(credit_rx_written(&c, 1), 1);
	CHECK_INT(credit_rx_written(&c, 0), 0);
	CHECK_INT(c.avail, 1);
}

int
main(void)
{
	test_tx();
	test_rx_take();
	test_rx_return();
	test_rx_small_window();
	test_rx_window_moves();
	return check_done("credit");
}
