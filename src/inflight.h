/*
 * How much a bulk link may keep in flight while an interactive client is
 * active (issue 16, link.c "In flight"): about two bandwidth-delay
 * products, the path's delivery rate times its minimum round trip, twice
 * (one BDP on the wire, one of queue), never under a floor that keeps small
 * replies quick on a short path, never over the ceiling a link has alone.
 * Pure: numbers in, numbers out.
 *
 * The rate is the most a link moved per interval over the last
 * INFLIGHT_SAMPLES intervals, whatever the bound was then: a link held to
 * its bound still measures what it delivers, and with two BDPs allowed the
 * next bound is above what the last one let through whenever the round
 * trip stays near its minimum, so the bound climbs to what the path takes
 * instead of shrinking to the floor.
 */
#ifndef PORTHOLE_INFLIGHT_H
#define PORTHOLE_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The bound at least, by direction. Down (what we let the far side send: a
 * receive window, a relay stream's credit): 64 KiB. On a short path the
 * product is a few KiB, so the floor is the bound, and everything in flight
 * waits ahead of a small reply: beside 64-byte datagrams, 64 / 96 / 128 KiB
 * gave p99 2.9-3.9 / 3.7-4.9 / 5.1-6.6 x idle and the download 148-166 /
 * 171-196 / 197-217 MiB/s on loopback (docs/benchmarks.md, session 20).
 * Up (what we send before sshd acknowledges it): sshd returns window only
 * once more than three of its 32 KiB packets are consumed (or half its
 * window), so a sender held under about 128 KiB would wait for an
 * acknowledgement that never comes: 192 KiB.
 */
#define INFLIGHT_FLOOR_DOWN (64 * 1024)
#define INFLIGHT_FLOOR_UP (192 * 1024)
#define INFLIGHT_CEILING (2 * 1024 * 1024) /* at most: SSH's window, what a link has alone */
#define INFLIGHT_UNKNOWN (512 * 1024)	   /* while the path's round trip is unknown */
#define INFLIGHT_SAMPLES 10		   /* intervals the rate remembers */
#define INFLIGHT_INTERVAL_MS 100	   /* ... each this long at least */

/* Bytes per second delivered, the best of the recent intervals. */
struct inflight_rate {
	uint64_t since_ms; /* when the current interval began; 0: not started */
	uint64_t bytes_at; /* the byte count then */
	uint64_t samples[INFLIGHT_SAMPLES];
	unsigned next; /* where the next sample goes */
};

/*
 * The byte count (a running total) at loop time now_ms (> 0). Closes the
 * current interval once it has lasted INFLIGHT_INTERVAL_MS, as one sample
 * over however long it really lasted.
 */
void inflight_rate_note(struct inflight_rate *r, uint64_t now_ms, uint64_t total);
/* The best sample remembered, in bytes per second; 0 before the first. */
uint64_t inflight_rate_max(const struct inflight_rate *r);

/*
 * The path's minimum round trip in microseconds from what is known (-1 for
 * what is not): kernel_us, the kernel's for the SSH connection's first TCP
 * hop; and two answers from sshd, one round trip through it and whatever
 * lies between plus sshd's own time: open_us, the quickest channel open of
 * the connection (sshd connects to the target first), probe_us, the
 * quickest liveness probe (an env request it answers at once). The quicker
 * of sshd's two, since its own time is not path: on loopback an open took
 * 330-690 us and sizing the bound by it put 240-400 KiB ahead of every
 * datagram at 250-300 MiB/s (docs/benchmarks.md, session 20). Then the
 * larger of that and the kernel's (a hop that ends TCP before sshd, say
 * another program's port forward, hides the rest of the path from the
 * kernel); -1 if neither is known.
 */
int64_t inflight_path_rtt(int64_t kernel_us, int64_t open_us, int64_t probe_us);

/*
 * 2 x rate (bytes/s) x rtt_us, between floor and ceiling; unknown when the
 * round trip is (rtt_us < 0).
 */
size_t inflight_bound(uint64_t rate, int64_t rtt_us, size_t floor, size_t ceiling, size_t unknown);

#endif
