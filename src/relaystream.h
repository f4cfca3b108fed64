/*
 * The relay's TCP streams (relay protocol 1.1, docs/relay-protocol.md "TCP
 * streams"): for each SOPEN a TCP connection from the server to host:port,
 * its bytes carried as SDATA both ways under per-stream credit (credit.c).
 * relay.c owns the frame pipe and routes stream frames here once the
 * client's HELLO asked for streams; this file owns the streams.
 *
 * A stream (id chosen by the client):
 *
 *   SOPEN --allowed (--permit-open), under --max-streams--> RESOLVING
 *   RESOLVING --addresses--> CONNECTING (each address in turn, 30 s each)
 *   CONNECTING --connected--> OPEN: SOPENED sent, SDATA that came meanwhile
 *     written in order
 *   SOPEN refused, limit, no address, last connect failed --> SRESET
 *     (NOT_ALLOWED, LIMIT, RESOLVE, REFUSED or UNREACHABLE), no stream
 *
 * Once OPEN, each direction ends on its own:
 *
 *   to the target:   SEOF received --queued bytes written--> shutdown(SHUT_WR)
 *   from the target: end of file read --> SEOF sent after the last SDATA
 *   both ended --> socket closed, id forgotten
 *
 * and the whole stream ends at once, in any state, on:
 *
 *   SRESET received --> socket reset (SO_LINGER 0: the target sees a reset,
 *     as the client's application did), forgotten, no answer
 *   the target's reset, a read or write error --> SRESET RST_ABORTED, closed
 *   a client breaking a stream rule (SDATA past the credit or after SEOF,
 *     SOPEN for a live id, a malformed stream frame) --> SRESET RST_PROTOCOL
 *     on that stream only, logged; the socket is reset
 *
 * Frames for ids that are no stream (any more) are dropped without an
 * answer. The target's socket is read only while the stream is OPEN, its
 * direction has not ended, the client's credit is not 0 and the frame
 * pipe holds less than RELAYSTREAM_QUEUE_MAX bytes of SDATA: the relay
 * never buffers more than one read beyond those bounds.
 */
#ifndef PORTHOLE_RELAYSTREAM_H
#define PORTHOLE_RELAYSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "framepipe.h"
#include "permit.h"
#include "udpframe.h"

#define RELAYSTREAM_WINDOW 262144		  /* the relay's HELLO stream_window */
#define RELAYSTREAM_WINDOW_BULK (4 * 1024 * 1024) /* a stream's window once it moved the first */
#define RELAYSTREAM_BULK_MAX 32			  /* streams at that window at once */
#define RELAYSTREAM_MAX_DEFAULT 4096		  /* --max-streams */
#define RELAYSTREAM_MAX_LIMIT 1048576		  /* the largest --max-streams */
#define RELAYSTREAM_QUEUE_MAX (1024 * 1024)	  /* SDATA queued for the client, all streams */

struct relaystream_set;

/* Streams of one relay: frames go out through pipe; permit_open (kept by the
 * caller) limits SOPEN when given. */
struct relaystream_set *relaystream_new(uv_loop_t *loop, struct framepipe *pipe,
    const struct permit_list *permit_open, unsigned max_streams);
/* The client's HELLO announced streams with this window: stream frames are
 * handled from now on. */
void relaystream_enable(struct relaystream_set *set, uint32_t client_window);
bool relaystream_enabled(const struct relaystream_set *set);
/* One stream frame (SOPEN to SRESET) from the client. */
void relaystream_frame(struct relaystream_set *set, const struct frame *f);
/* Whether id names a live stream (ids are shared with flows and listeners). */
bool relaystream_has(const struct relaystream_set *set, uint32_t id);
/* Refuses an SOPEN the caller will not pass on (its id names a flow). */
void relaystream_refuse(
    struct relaystream_set *set, uint32_t id, enum frame_reset_code code, const char *text);
/* The frame pipe wrote some output: streams held back for it read again. */
void relaystream_drained(struct relaystream_set *set);
/* Live streams, for logs. */
unsigned relaystream_count(const struct relaystream_set *set);
/* The relay is stopping: every socket is reset, nothing is sent. */
void relaystream_stop(struct relaystream_set *set);
/* Frees the set once the loop has run every close callback. Accepts NULL. */
void relaystream_free(struct relaystream_set *set);

#endif
