/*
 * The in-flight bound of a bulk link beside interactive traffic: a windowed
 * maximum of the delivery rate, and the bound from it and the round trip
 * (inflight.h says why two BDPs and why the maximum).
 */
#include "inflight.h"

void
inflight_rate_note(struct inflight_rate *r, uint64_t now_ms, uint64_t total)
{
	if (r->since_ms == 0 || total < r->bytes_at) {
		r->since_ms = now_ms;
		r->bytes_at = total;
		return;
	}
	uint64_t elapsed = now_ms - r->since_ms;
	if (elapsed < INFLIGHT_INTERVAL_MS)
		return;
	r->samples[r->next] = (total - r->bytes_at) * 1000 / elapsed;
	r->next = (r->next + 1) % INFLIGHT_SAMPLES;
	r->since_ms = now_ms;
	r->bytes_at = total;
}

uint64_t
inflight_rate_max(const struct inflight_rate *r)
{
	uint64_t best = 0;

	for (unsigned i = 0; i < INFLIGHT_SAMPLES; i++)
		if (r->samples[i] > best)
			best = r->samples[i];
	return best;
}

int64_t
inflight_path_rtt(int64_t kernel_us, int64_t open_us, int64_t probe_us)
{
	int64_t sshd = open_us;

	if (probe_us >= 0 && (sshd < 0 || probe_us < sshd))
		sshd = probe_us;

	return kernel_us > sshd ? kernel_us : sshd;
}

size_t
inflight_bound(uint64_t rate, int64_t rtt_us, size_t floor, size_t ceiling, size_t unknown)
{
	if (rtt_us < 0)
		return unknown;
	/* rate (bytes/s) x rtt (us) / 1e6, twice; in two steps so no product overflows */
	uint64_t bdp2 = rate / 1000 * (uint64_t)rtt_us / 500;
	if (bdp2 < floor)
		return floor;
	return bdp2 > ceiling ? ceiling : (size_t)bdp2;
}
