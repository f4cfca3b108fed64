/*
 * Unit tests for inflight.c: the delivery rate as the best of the recent
 * intervals (an interval closes only after INFLIGHT_INTERVAL_MS and counts
 * its real length; old samples age out), and the bound 2 x rate x RTT
 * between its floor and ceiling, or the fixed value while the RTT is
 * unknown; and which round trip counts (the kernel's, the channel opens',
 * a liveness probe's).
 */
#include "check.h"
#include "inflight.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static void
test_rate(void)
{
	struct inflight_rate r = {0};

	CHECK_INT(inflight_rate_max(&r), 0);
	inflight_rate_note(&r, 1000, 5000); /* starts the first interval */
	CHECK_INT(inflight_rate_max(&r), 0);
	inflight_rate_note(&r, 1050, 5000 + 10 * MIB); /* too soon to close it */
	CHECK_INT(inflight_rate_max(&r), 0);
	inflight_rate_note(&r, 1100, 5000 + 20 * MIB); /* 20 MiB in 100 ms */
	CHECK_INT(inflight_rate_max(&r), 200 * MIB);
	inflight_rate_note(&r, 1300, 5000 + 30 * MIB); /* 10 MiB in 200 ms: the max stays */
	CHECK_INT(inflight_rate_max(&r), 200 * MIB);
	/* INFLIGHT_SAMPLES slower intervals push the fast ones out, oldest first. */
	uint64_t t = 1300, total = 5000 + 30 * MIB;
	for (int i = 0; i < INFLIGHT_SAMPLES - 2; i++) {
		t += 100, total += MIB;
		inflight_rate_note(&r, t, total);
		CHECK_INT(inflight_rate_max(&r), 200 * MIB);
	}
	t += 100, total += MIB;
	inflight_rate_note(&r, t, total);
	CHECK_INT(inflight_rate_max(&r), 50 * MIB);
	t += 100, total += MIB;
	inflight_rate_note(&r, t, total);
	CHECK_INT(inflight_rate_max(&r), 10 * MIB);
	/* A long idle gap is one slow interval, not a burst. */
	t += 10000, total += MIB;
	inflight_rate_note(&r, t, total);
	CHECK_INT(inflight_rate_max(&r), 10 * MIB);
	/* A count that went backwards (a new link reusing the struct) restarts. */
	inflight_rate_note(&r, t + 500, 0);
	inflight_rate_note(&r, t + 600, 100 * MIB);
	CHECK_INT(inflight_rate_max(&r), 1000 * MIB);
}

static void
test_bound(void)
{
	/* Unknown RTT: the fixed value, whatever the rate. */
	CHECK_INT(inflight_bound(200 * MIB, -1, 128 * KIB, 2 * MIB, 512 * KIB), 512 * KIB);
	/* Loopback: 200 MiB/s x 30 us x 2 = 12 MiB/1000: the floor. */
	CHECK_INT(inflight_bound(200 * MIB, 30, 128 * KIB, 2 * MIB, 512 * KIB), 128 * KIB);
	/* 10 MB/s x 40 ms x 2 = 800,000 bytes. */
	CHECK_INT(inflight_bound(10000000, 40000, 128 * KIB, 2 * MIB, 512 * KIB), 800000);
	/* 50 MB/s x 40 ms x 2 = 4 MB: the ceiling. */
	CHECK_INT(inflight_bound(50000000, 40000, 128 * KIB, 2 * MIB, 512 * KIB), 2 * MIB);
	/* No rate yet: the floor (the bound grows as the rate is measured). */
	CHECK_INT(inflight_bound(0, 40000, 128 * KIB, 2 * MIB, 512 * KIB), 128 * KIB);
	/* A huge RTT (a probe out for minutes) and a fast link: no overflow, the ceiling. */
	CHECK_INT(
	    inflight_bound(10000ull * MIB, 600000000, 128 * KIB, 2 * MIB, 512 * KIB), 2 * MIB);
	/* Held at a bound B with the RTT at its minimum, the next bound is 2 B: it climbs. */
	uint64_t bound = 192 * KIB;
	for (int i = 0; i < 5; i++) {
		uint64_t rate = bound * 1000000 / 40000; /* B per 40 ms RTT */
		bound = inflight_bound(rate, 40000, 192 * KIB, 2 * MIB, 512 * KIB);
	}
	CHECK_INT(bound, 2 * MIB);
}

static void
test_path_rtt(void)
{
	CHECK_INT(inflight_path_rtt(-1, -1, -1), -1);		  /* nothing known yet */
	CHECK_INT(inflight_path_rtt(25, -1, -1), 25);		  /* the kernel's only */
	CHECK_INT(inflight_path_rtt(25, 468, -1), 468);		  /* no probe yet: the open */
	CHECK_INT(inflight_path_rtt(25, 468, 140), 140);	  /* loopback: the probe, quicker */
	CHECK_INT(inflight_path_rtt(40000, 41347, 40950), 40950); /* a long path */
	CHECK_INT(
	    inflight_path_rtt(30, 41347, 40950), 40950);     /* a relay hides it from the kernel */
	CHECK_INT(inflight_path_rtt(40500, 300, -1), 40500); /* the kernel's when longer */
	CHECK_INT(inflight_path_rtt(-1, -1, 42000), 42000);  /* no open answered: the probe */
	CHECK_INT(inflight_path_rtt(-1, 41347, 250000), 41347); /* a queued probe: the open */
}

int
main(void)
{
	test_rate();
	test_path_rtt();
	test_bound();
	return check_done("inflight");
}
