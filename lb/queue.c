/* queue.c: a worker's wait queues, one per pool of its generation. An exchange that
 * finds every eligible backend at max_conns waits here in arrival order; a slot given
 * back (here or on another worker) wakes the queues, and queue_run hands slots to the
 * oldest waiters once the current batch of events is done. What a waiter does with its
 * turn is the caller's (the connection core's): the queue knows exchanges, not
 * connections. */
#include <stddef.h>

#include "conn.h"
#include "queue.h"
#include "worker.h"

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
	return 0;
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
}

void queue_release_slot(struct worker *w, struct backend *b)
{
	int i;

	backend_release(b);
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

void queue_run(struct worker *w, queue_turn_fn turn)
{
	size_t i;

	for (i = 0; w->gen && i < w->gen->npools; i++) {
		struct pool *p = &w->gen->pools[i];
		struct pool_queue *q = &w->pools[i].queue;
		struct pool_waiter *pw;

		while ((pw = pool_queue_peek(q))) {
			struct exchange *x = queue_exchange_of(pw);
			struct backend *b;
			int r = pool_pick(p, &w->pools[i].pick, x->failed_backend, &b);

			if (r == PICK_FULL)
				break;
			queue_remove(w, x);
			turn(x, r == PICK_NONE ? NULL : b);
		}
	}
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
		}
	}
}
