/* queue.h: a worker's wait queues for backend slots (lb/queue.c). */
#ifndef FULCRUM_QUEUE_H
#define FULCRUM_QUEUE_H

#include "balance.h"

struct worker;
struct worker_pool;
struct exchange;
struct route_share;

/* The worker's balancing state and queue of pool p (of the worker's generation), or
 * NULL when p is not of that generation. */
struct worker_pool *queue_pool_of(struct worker *w, const struct pool *p);
/* Queues x on x->pool; 0, or -1 when the queue is full (or the pool is not current). */
int queue_push(struct worker *w, struct exchange *x);
/* Takes x out of its queue; nothing when x is NULL or not queued. */
void queue_remove(struct worker *w, struct exchange *x);
/* queue_pick's answer when x's route is at its share (max_share, adaptive_limit): x
 * waits even if a backend has a free slot. */
#define QUEUE_ROUTE_FULL 3

/* Takes what x, on worker w, needs to go to a backend of x->pool: a place of its route's
 * share (when it has one and does not hold it yet) and a backend slot (pool_pick, with
 * wp's pick state). PICK_OK (*b set, both held: x->backend = *b is the caller's),
 * PICK_FULL, PICK_NONE (holding neither), or QUEUE_ROUTE_FULL. */
int queue_pick(struct worker *w, struct exchange *x, struct worker_pool *wp, struct backend **b);
/* Gives back x's slot of b, and its place of its route's share when held, and wakes the
 * workers whose queues wait (this one after its current batch of callbacks:
 * w->kick_pending). */
void queue_release_slot(struct worker *w, struct exchange *x, struct backend *b);
/* Where a pass over the worker's queues stands (zeroed to begin one). */
struct queue_pass {
	size_t pool;                     /* the pool whose queue is looked at */
	struct route_share *full;        /* a share found full there (or another worker's turn) */
};
/* The next waiter whose turn comes, pool by pool, passing over those whose route is at
 * its share: it has left its queue, and *b is a backend whose slot it now holds, or
 * NULL when the pool has no eligible backend left (it was taken out while it waited).
 * NULL when no more can go in this pass. */
struct exchange *queue_next_turn(struct worker *w, struct queue_pass *pass, struct backend **b);
/* Moves every waiter of the worker's current queues onto the list moved (a generation
 * switch re-picks them against the new pools). */
void queue_take_all(struct worker *w, struct pool_waiter *moved);
/* The exchange that waits as pw. */
struct exchange *queue_exchange_of(struct pool_waiter *pw);

#endif
