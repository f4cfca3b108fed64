/*
 * The relay's flow table: every live UDP flow by id, the flows accepted on
 * each listener by source address, and all of them in least-recently-used
 * order. Pure bookkeeping: a struct flow is embedded in the caller's own
 * record, and the table links it, finds it and says which one is oldest.
 * Every operation is O(1) (hash lookups amortised).
 */
#ifndef PORTHOLE_FLOW_H
#define PORTHOLE_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct flow {
	uint32_t id;
	uint32_t listener;		/* an accepted flow's listener id, else 0 */
	struct sockaddr_storage source; /* an accepted flow's source address */
	uint64_t last_used;		/* ms, set by flow_table_add and _touch */

	/* The table's links; not for the caller. */
	struct flow *id_next, *src_next;
	struct flow *older, *newer;
};

struct flow_table;

struct flow_table *flow_table_new(void);
/* Frees the table only; the flows in it are the caller's. Accepts NULL. */
void flow_table_free(struct flow_table *t);
size_t flow_table_count(const struct flow_table *t);

/* Links f (id, listener and source already set; the id not in the table) as
 * the most recently used, at time now. */
void flow_table_add(struct flow_table *t, struct flow *f, uint64_t now);
void flow_table_remove(struct flow_table *t, struct flow *f);
/* f was used at time now: it becomes the most recently used. */
void flow_table_touch(struct flow_table *t, struct flow *f, uint64_t now);

struct flow *flow_table_find(const struct flow_table *t, uint32_t id);
/* The flow accepted on listener from source (IPv4 or IPv6), or NULL. */
struct flow *flow_table_find_source(
    const struct flow_table *t, uint32_t listener, const struct sockaddr *source);

/* The least recently used flow, or NULL; then flow_newer() walks towards the
 * most recent. Remove a flow only after taking the next one. */
struct flow *flow_table_oldest(const struct flow_table *t);

static inline struct flow *
flow_newer(const struct flow *f)
{
	return f->newer;
}

#endif
