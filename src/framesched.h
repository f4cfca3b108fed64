/*
 * The send queue of one end of the relay channel (docs/relay-protocol.md,
 * "Sharing the channel fairly" and "Backpressure"): frames wait here, and
 * the owner pulls a few at a time into what it hands to the channel or pipe,
 * so the order is decided as late as possible. Pure: no I/O, and the time
 * (milliseconds, any monotonic origin) comes in with each call.
 *
 * - Control frames (every type but DATA and SDATA) go first, in the order
 *   pushed. One exception keeps each id's frames in order: a control frame
 *   (but SWINDOW, credit for the other direction) for an id that still has
 *   DATA or SDATA queued waits behind them (SEOF after the stream's last
 *   SDATA, CLOSE after the flow's datagrams).
 * - Then the ids with DATA or SDATA queued take turns, deficit round robin by
 *   bytes, so one busy flow or stream cannot starve the others.
 * - DATA (datagrams) is dropped rather than sent late: a datagram queued for
 *   longer than the time budget is dropped when its turn comes, and when a
 *   flow, or all flows together, hold more bytes than their cap, the oldest
 *   datagram of the longest queue goes (the flow taking more than its fair
 *   share pays). Every drop is counted, per id and in all.
 * - SDATA (TCP stream bytes) is never dropped (its sender respects the
 *   peer's credit, which bounds it) and leaves in frames of at most
 *   FRAMESCHED_SDATA_MAX payload bytes, in order.
 */
#ifndef PORTHOLE_FRAMESCHED_H
#define PORTHOLE_FRAMESCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "udpframe.h"

#define FRAMESCHED_SDATA_MAX 16384 /* SDATA leaves in frames this big at most */

struct framesched_config {
	uint32_t data_budget_ms; /* a datagram queued longer is dropped; 0: the default (100) */
	size_t data_flow_max;	 /* DATA bytes (headers included) one flow may queue; 0: 1 MiB */
	size_t data_total_max;	 /* DATA bytes all flows may queue; 0: 4 MiB */
	size_t quantum;		 /* bytes an id may send per turn; 0: one SDATA frame */
};

struct framesched_stats {
	size_t control_bytes;  /* control frames, headers included */
	size_t data_bytes;     /* DATA frames, headers included */
	size_t stream_bytes;   /* SDATA payload bytes */
	size_t data_frames;    /* DATA frames */
	uint64_t data_sent;    /* DATA frames pulled */
	uint64_t dropped;      /* DATA frames dropped: late + full */
	uint64_t dropped_late; /* queued longer than the budget */
	uint64_t dropped_full; /* a flow's or the session's cap was reached */
	uint64_t forgotten;    /* DATA frames discarded by framesched_forget */
};

struct framesched;

/* cfg NULL or its zero fields: the defaults. A flow cap below the largest
 * DATA frame is raised to it, and the session cap to the flow cap. */
struct framesched *framesched_new(const struct framesched_config *cfg);
/* Accepts NULL. */
void framesched_free(struct framesched *fs);

/*
 * Queues one frame (payload copied) at time now. Returns false, queueing
 * nothing, for a payload over FRAME_PAYLOAD_MAX or an empty SDATA. A DATA
 * frame may push out older ones (counted); it is never refused.
 */
bool framesched_push(struct framesched *fs, enum frame_type type, uint32_t id, const void *payload,
    size_t len, uint64_t now);

/*
 * Appends whole frames (header and payload) to out, next in line first,
 * until the next would take out past max bytes appended (at least one frame
 * is appended if any is queued). Datagrams past their budget are dropped on
 * the way. Returns the bytes appended; 0 when nothing is queued.
 */
size_t framesched_pull(struct framesched *fs, struct buf *out, size_t max, uint64_t now);

/* Whether anything is queued (datagrams past their budget included). */
bool framesched_pending(const struct framesched *fs);

/*
 * Discards the DATA and SDATA queued for id (its flow or stream is gone;
 * datagrams counted in forgotten, not as drops) and its drop count, which it
 * returns. Control frames are never discarded: those that waited behind its
 * data join the first class.
 */
uint64_t framesched_forget(struct framesched *fs, uint32_t id);

/* Discards every queued frame, control frames too (the channel is gone);
 * datagrams count as forgotten. Drop counts stay until each id is forgotten. */
void framesched_clear(struct framesched *fs);

/* DATA frames of id dropped so far (since its last forget). */
uint64_t framesched_drops(const struct framesched *fs, uint32_t id);

/* Every queued datagram counts as queued at now: for a channel that could
 * not send at all until now (the relay was starting). */
void framesched_restamp(struct framesched *fs, uint64_t now);

void framesched_stats(const struct framesched *fs, struct framesched_stats *st);

#endif
