/* route_share.h: a route's share of a pool's concurrency (route keys max_share and
 * adaptive_limit, core/route_share.c): how many of the route's requests may hold a slot
 * of the pool at once, so that a slow endpoint cannot take every slot from the fast
 * ones in the same pool. */
#ifndef FULCRUM_ROUTE_SHARE_H
#define FULCRUM_ROUTE_SHARE_H

#include <stdatomic.h>

#include "adaptive_limit.h"

struct pool;

/* One route's admission to one pool (a split route has one per pool it sends to).
 * Kept by listener, route and pool name for the process's life, as backends keep their
 * counters: a reload leaves in-flight counts exact and a learned limit in place. */
struct route_share {
	atomic_uint inflight;            /* the route's requests holding a slot of the pool, all workers */
	atomic_uint percent;             /* max_share: 1..100, 0 = no share */
	atomic_int adaptive_on;          /* the route's adaptive_limit */
	atomic_int turn;                 /* the worker whose waiters take the next free place */
	int nworkers;
	atomic_uint *waiting;            /* [nworkers]: the route's requests queued on each worker */
	struct adaptive_limit adaptive;  /* learned from the route's own latency */
};

/* The share of listener's route on pool, made on first use (control thread, at
 * generation build) for stats_workers() workers; NULL on ENOMEM. Never freed. */
struct route_share *route_share_get(const char *listener, const char *route, const char *pool);

/* Sets what the route's config says now (a reload may change both). */
void route_share_configure(struct route_share *s, unsigned percent, int adaptive);

/* percent of capacity, rounded up and at least 1; 0 (no limit) when capacity is 0
 * (unbounded) or percent is 0. Pure. */
unsigned route_share_of(unsigned percent, unsigned capacity);

/* p's concurrency now: the sum of its eligible backends' slot limits (max_conns, or the
 * learned limit under the pool's adaptive_limit), at least 1; 0 when one of them has
 * no limit (the pool is unbounded). */
unsigned route_share_capacity(const struct pool *p);

/* The route's requests that may hold a slot of p at once now: the share of p's capacity
 * (max_share), the learned limit (adaptive_limit) under it, or 0 = no limit. */
unsigned route_share_limit(struct route_share *s, const struct pool *p);

/* Takes one of s's places on p for a request on worker: 1 when taken (inflight
 * counted), 0 when the route is at its limit, or when another worker has the turn and
 * requests of the route queued (a freed place is theirs: without turns the worker that
 * frees a place would hand it to its own waiters, before the others wake, every time).
 * A take passes the turn to the next worker with requests queued. Lock-free; the limit
 * is never exceeded, even by workers racing. */
int route_share_try_take(struct route_share *s, const struct pool *p, int worker);

/* Counts a request of the route that joins (delta 1) or leaves (-1) worker's queue.
 * Returns 1 when it left, it was the last one queued on worker, and worker had the
 * turn: the other workers' waiters may now take a place, and should be woken. */
int route_share_queued(struct route_share *s, int worker, int delta);

/* Gives back a place taken by route_share_try_take. */
void route_share_give_back(struct route_share *s);

/* A request of the route on p got its response head after latency_s seconds (from
 * dispatch) and completed; it still holds its place. Feeds the learned limit when it is
 * on, capped by the share (or the pool's capacity). */
void route_share_request_done(struct route_share *s, const struct pool *p, double latency_s);

#endif
