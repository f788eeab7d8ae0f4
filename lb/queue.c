/* queue.c: a worker's wait queues, one per pool of its generation. An exchange that
 * finds every eligible backend at max_conns, or its route at its share of the pool
 * (core/route_share.c), waits here in arrival order; a slot given back (here or on
 * another worker) wakes the queues, and the worker takes the oldest waiters whose route
 * is not at its share, one by one (queue_next_turn), once the current batch of events
 * is done. What a waiter does with its turn is the caller's (the connection core's
 * driver): the queue knows exchanges, not connections, and calls nobody back. */
#include <stddef.h>

#include "conn.h"
#include "queue.h"
#include "route_share.h"
#include "worker.h"

static void wake_queues(struct worker *w);
static void share_unqueued(struct worker *w, struct exchange *x);

static int waiter_takes_share(struct pool_waiter *pw, struct queue_pass *pass, int worker);

struct exchange *queue_exchange_of(struct pool_waiter *pw)
{
	return (struct exchange *)((char *)pw - offsetof(struct exchange, waiter));
}

struct worker_pool *queue_pool_of(struct worker *w, const struct pool *p)
{
	if (!w->gen || p < w->gen->pools || p >= w->gen->pools + w->gen->npools)
		return NULL;
	return &w->pools[p - w->gen->pools];
}

int queue_push(struct worker *w, struct exchange *x)
{
	struct worker_pool *wp = queue_pool_of(w, x->pool);

	if (!wp || pool_queue_push(&wp->queue, x->pool, &x->waiter) == -1)
		return -1;
	x->waiter.enqueued_at = ev_now(w->loop);
	atomic_fetch_add(&w->queued, 1);
	atomic_fetch_add(&proc.queued_total, 1);
	if (x->share)
		route_share_queued(x->share, w->id, 1);
	return 0;
}

/* x, of a route with a share, left w's queue: when that ends w's turn at the share, the
 * other workers' waiters are woken to take the place it no longer claims. */
static void share_unqueued(struct worker *w, struct exchange *x)
{
	if (route_share_queued(x->share, w->id, -1))
		wake_queues(w);
}

void queue_remove(struct worker *w, struct exchange *x)
{
	struct worker_pool *wp;

	if (!x || !pool_waiter_queued(&x->waiter))
		return;
	wp = queue_pool_of(w, x->pool);
	if (wp)
		pool_queue_remove(&wp->queue, x->pool, &x->waiter);
	atomic_fetch_sub(&w->queued, 1);
	atomic_fetch_sub(&proc.queued_total, 1);
	if (x->share)
		share_unqueued(w, x);
}

int queue_pick(struct worker *w, struct exchange *x, struct worker_pool *wp, struct backend **b)
{
	int r;

	if (x->share && !x->share_held) {
		if (!route_share_try_take(x->share, x->pool, w->id))
			return QUEUE_ROUTE_FULL;
		x->share_held = 1;
	}
	r = pool_pick(x->pool, &wp->pick, x->failed_backend, b);
	if (r != PICK_OK && x->share_held) {
		/* no slot: the place goes back at once (a waiter passed over for it is
		 * woken by the release that frees a slot) */
		x->share_held = 0;
		route_share_give_back(x->share);
	}
	return r;
}

void queue_release_slot(struct worker *w, struct exchange *x, struct backend *b)
{
	backend_release(b);
	if (x->share_held) {
		/* the route's waiters, passed over while it was at its share, get their turn
		 * with the wake below, as those of the pool do */
		x->share_held = 0;
		route_share_give_back(x->share);
	}
	wake_queues(w);
}

/* Wakes the workers whose queues wait: w itself after its current batch of callbacks
 * (w->kick_pending), the others through their ev_async. */
static void wake_queues(struct worker *w)
{
	int i;

	if (!atomic_load_explicit(&proc.queued_total, memory_order_relaxed))
		return;
	for (i = 0; i < proc.nworkers; i++) {
		struct worker *o = &proc.workers[i];
		if (!atomic_load_explicit(&o->queued, memory_order_relaxed))
			continue;
		if (o == w) {
			/* not now: we may be deep inside the releasing connection's callback */
			w->kick_pending = 1;
		} else {
			atomic_store(&o->want_kick, 1);
			ev_async_send(o->loop, &o->wake);
		}
	}
}

struct exchange *queue_next_turn(struct worker *w, struct queue_pass *pass, struct backend **bp)
{
	for (; w->gen && pass->pool < w->gen->npools; pass->pool++, pass->full = NULL) {
		struct worker_pool *wp = &w->pools[pass->pool];
		struct pool_waiter *pw;
		struct exchange *x;
		struct backend *b;
		int r;

		/* the oldest waiter whose route is not at its share (it then holds a place of
		 * it); those passed over keep their places */
		pw = pool_queue_next(&wp->queue, NULL);
		while (pw && !waiter_takes_share(pw, pass, w->id))
			pw = pool_queue_next(&wp->queue, pw);
		if (!pw)
			continue;
		x = queue_exchange_of(pw);
		r = queue_pick(w, x, wp, &b);
		if (r == PICK_FULL)
			continue;  /* this pool is full: the next one */
		queue_remove(w, x);
		*bp = r == PICK_NONE ? NULL : b;
		return x;
	}
	return NULL;
}

/* queue_next_turn's test of each waiter, oldest first: 1 when the waiter's route has no
 * share or a place of it was free (now held: queue_pick then only picks the backend,
 * and gives it back when the pool is full). A share found full, or another worker's
 * turn, is remembered (pass->full), so that a run of one slow route's waiters costs one
 * look at it per pass, not one each. */
static int waiter_takes_share(struct pool_waiter *pw, struct queue_pass *pass, int worker)
{
	struct exchange *x = queue_exchange_of(pw);

	if (!x->share)
		return 1;
	if (x->share == pass->full || !route_share_try_take(x->share, x->pool, worker)) {
		pass->full = x->share;
		return 0;
	}
	x->share_held = 1;
	return 1;
}

void queue_take_all(struct worker *w, struct pool_waiter *moved)
{
	size_t i;

	for (i = 0; w->gen && i < w->gen->npools; i++) {
		struct pool_waiter *pw;
		while ((pw = pool_queue_pop(&w->pools[i].queue, &w->gen->pools[i]))) {
			pw->next = moved;
			pw->prev = moved->prev;
			moved->prev->next = pw;
			moved->prev = pw;
			atomic_fetch_sub(&w->queued, 1);
			atomic_fetch_sub(&proc.queued_total, 1);
			if (queue_exchange_of(pw)->share)
				share_unqueued(w, queue_exchange_of(pw));
		}
	}
}
