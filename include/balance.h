/* balance.h: pools and the choice of a backend for a request (core/balance.c): weighted
 * least-connections (ties by smooth weighted round-robin) and round-robin, bounded by
 * max_conns, plus the per-worker FIFO wait queue (core/pool_queue.c). The backends
 * themselves are backend.h. */
#ifndef FULCRUM_BALANCE_H
#define FULCRUM_BALANCE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>
#include "backend.h"
#include "clock.h"
#include "config-t.h"

struct pool_stats;
struct pool_cache;

/* A pool within one generation: an immutable array of backends plus shared counters. */
struct pool {
	char *name;
	const struct cfg_pool *cfg;      /* owned by the generation's config */
	enum balance_algo algo;
	struct backend **backends;       /* each holds a reference */
	size_t nbackends;
	atomic_uint rr_next;             /* cursor for rr */
	atomic_uint waiting;             /* requests queued for this pool on all workers */
	struct pool_stats *stats;        /* per-worker counters of this pool name (include/stats.h) */
	/* the pool's edge cache (core/cache_store.c), a reference; NULL = no cache.
	 * Kept from the previous generation while the pool's cache limits stay */
	struct pool_cache *cache;
};

/* Per-worker state of smooth weighted round-robin for one pool (no sharing, no locks). */
struct pool_pick_state {
	size_t n;
	int64_t *current;                /* SWRR current weight per backend index */
};

int pool_pick_state_init(struct pool_pick_state *st, const struct pool *p);
void pool_pick_state_free(struct pool_pick_state *st);

enum pick_result {
	PICK_OK = 0,    /* *out is set and one slot of it is held */
	PICK_FULL,      /* eligible backends exist but all are at max_conns: queue */
	PICK_NONE       /* no eligible backend at all: 503 */
};

/* Chooses a backend and acquires a slot on it. wlc: lowest active/effective weight;
 * among equals, smooth weighted round-robin (using st) so an idle pool still splits
 * by weight. rr: smooth weighted round-robin alone. avoid (may be NULL) is skipped
 * unless it is the only eligible backend (used for retries). Returns enum pick_result. */
int pool_pick(struct pool *p, struct pool_pick_state *st, const struct backend *avoid,
	      struct backend **out);

/* 1 when p has an eligible backend (in rotation and up, full or not) other than avoid:
 * a request that timed out on avoid is replayed only when it can go somewhere else. */
int pool_has_other_eligible(struct pool *p, const struct backend *avoid);

/* Per-worker FIFO of requests waiting for a slot in one pool. Waiters are embedded
 * in the caller's objects (intrusive list); the queue never allocates. */
struct pool_waiter {
	struct pool_waiter *next, *prev;
	double enqueued_at;              /* ev_now() when queued, for queue_timeout_ms */
};

struct pool_queue {
	struct pool_waiter head;         /* sentinel */
	uint32_t len;
	uint32_t max;
};

void pool_queue_init(struct pool_queue *q, uint32_t max);
/* Appends w; returns 0, or -1 when the queue is at max. Counts it in p->waiting. */
int pool_queue_push(struct pool_queue *q, struct pool *p, struct pool_waiter *w);
/* Removes and returns the oldest waiter, or NULL. */
struct pool_waiter *pool_queue_pop(struct pool_queue *q, struct pool *p);
/* The oldest waiter without removing it, or NULL. */
struct pool_waiter *pool_queue_peek(const struct pool_queue *q);
/* The waiter of q after w, oldest first (w NULL: the oldest), or NULL after the last:
 * the caller walks the queue and picks who goes, and the ones it passes over keep
 * their places (a request whose route is at its share lets a later one of another route
 * have the slot). q must not change during the walk. */
struct pool_waiter *pool_queue_next(const struct pool_queue *q, const struct pool_waiter *w);
/* Removes w wherever it is (timeout, client gone). No-op when w is not queued. */
void pool_queue_remove(struct pool_queue *q, struct pool *p, struct pool_waiter *w);
int pool_waiter_queued(const struct pool_waiter *w);
/* Marks w as not queued (a zeroed waiter is also not queued). */
void pool_waiter_init(struct pool_waiter *w);

#endif
