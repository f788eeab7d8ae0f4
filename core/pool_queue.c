/* pool_queue.c: the per-worker FIFO of requests waiting for a slot in one pool: an
 * intrusive list that never allocates, counted in the pool's shared waiting gauge. */
#include <assert.h>

#include "balance.h"

void pool_waiter_init(struct pool_waiter *w)
{
	w->next = w->prev = NULL;
	w->enqueued_at = 0;
}

void pool_queue_init(struct pool_queue *q, uint32_t max)
{
	q->head.next = q->head.prev = &q->head;
	q->head.enqueued_at = 0;
	q->len = 0;
	q->max = max;
}

int pool_queue_push(struct pool_queue *q, struct pool *p, struct pool_waiter *w)
{
	assert(!pool_waiter_queued(w));
	if (q->len >= q->max)
		return -1;
	w->prev = q->head.prev;
	w->next = &q->head;
	q->head.prev->next = w;
	q->head.prev = w;
	q->len++;
	atomic_fetch_add_explicit(&p->waiting, 1, memory_order_relaxed);
	return 0;
}

struct pool_waiter *pool_queue_peek(const struct pool_queue *q)
{
	return q->len ? q->head.next : NULL;
}

struct pool_waiter *pool_queue_next(const struct pool_queue *q, const struct pool_waiter *w)
{
	const struct pool_waiter *n = w ? w->next : q->head.next;

	return n == &q->head ? NULL : (struct pool_waiter *)n;
}

struct pool_waiter *pool_queue_pop(struct pool_queue *q, struct pool *p)
{
	struct pool_waiter *w = pool_queue_peek(q);

	if (w)
		pool_queue_remove(q, p, w);
	return w;
}

void pool_queue_remove(struct pool_queue *q, struct pool *p, struct pool_waiter *w)
{
	unsigned prev;

	if (!pool_waiter_queued(w))
		return;
	assert(q->len > 0);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	/* NULL links are what pool_waiter_queued tests, so a second remove is harmless. */
	w->next = w->prev = NULL;
	q->len--;
	prev = atomic_fetch_sub_explicit(&p->waiting, 1, memory_order_relaxed);
	assert(prev > 0);
	(void)prev;
}

int pool_waiter_queued(const struct pool_waiter *w)
{
	return w->next != NULL;
}
