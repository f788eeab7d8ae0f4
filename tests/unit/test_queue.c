/* test_queue.c: unit tests of the wait queue in core/pool_queue.c beyond the basic cases
 * in test_balance.c: per-pool separation, the bound freed by pop and remove, removals
 * anywhere against a reference model, and a full pool handing its freed slot on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"

#define MODEL_N 64

static void pool_zero(struct pool *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->name = (char *)name;
	atomic_init(&p->waiting, 0);
	atomic_init(&p->rr_next, 0);
}

/* Pops q until empty, checking that the waiters come out as want[0..n). */
static void assert_drains_as(struct pool_queue *q, struct pool *p, struct pool_waiter **want,
			     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct pool_waiter *w = pool_queue_pop(q, p);
		if (w != want[i])
			fail_msg("pop %zu: got waiter %p, expected %p", i, (void *)w, (void *)want[i]);
	}
	assert_null(pool_queue_pop(q, p));
	assert_int_equal(q->len, 0);
}

/* Two pools on one worker: their queues and their waiting counters do not mix, and a
 * full queue of one pool does not refuse the other. */
static void test_pools_separate(void **state)
{
	struct pool a, b;
	struct pool_queue qa, qb;
	struct pool_waiter wa[3], wb[2];
	struct pool_waiter *want_a[] = { &wa[0], &wa[1], &wa[2] };
	struct pool_waiter *want_b[] = { &wb[0], &wb[1] };
	int i;

	(void)state;
	pool_zero(&a, "a");
	pool_zero(&b, "b");
	pool_queue_init(&qa, 3);
	pool_queue_init(&qb, 2);
	for (i = 0; i < 3; i++)
		pool_waiter_init(&wa[i]);
	for (i = 0; i < 2; i++)
		pool_waiter_init(&wb[i]);
	/* interleaved arrivals */
	assert_int_equal(pool_queue_push(&qa, &a, &wa[0]), 0);
	assert_int_equal(pool_queue_push(&qb, &b, &wb[0]), 0);
	assert_int_equal(pool_queue_push(&qa, &a, &wa[1]), 0);
	assert_int_equal(pool_queue_push(&qb, &b, &wb[1]), 0);
	assert_int_equal(pool_queue_push(&qa, &a, &wa[2]), 0);
	assert_int_equal(atomic_load(&a.waiting), 3);
	assert_int_equal(atomic_load(&b.waiting), 2);
	assert_int_equal(qa.len, 3);
	assert_int_equal(qb.len, 2);
	assert_ptr_equal(pool_queue_peek(&qa), &wa[0]);
	assert_ptr_equal(pool_queue_peek(&qb), &wb[0]);

	/* b is at its bound; a pop on a does not make room in b */
	assert_non_null(pool_queue_pop(&qa, &a));
	assert_int_equal(atomic_load(&a.waiting), 2);
	assert_int_equal(atomic_load(&b.waiting), 2);
	{
		struct pool_waiter extra;
		pool_waiter_init(&extra);
		assert_int_equal(pool_queue_push(&qb, &b, &extra), -1);
		assert_int_equal(atomic_load(&b.waiting), 2);
	}
	assert_drains_as(&qa, &a, want_a + 1, 2);
	assert_int_equal(atomic_load(&a.waiting), 0);
	assert_int_equal(atomic_load(&b.waiting), 2);
	assert_drains_as(&qb, &b, want_b, 2);
	assert_int_equal(atomic_load(&b.waiting), 0);
}

/* A queue at its bound takes one more after any waiter leaves (pop, or remove from the
 * middle as a timed-out or gone client does), and the newcomer goes to the end. */
static void test_bound_freed_by_leaving(void **state)
{
	struct pool p;
	struct pool_queue q;
	struct pool_waiter w[5];
	int i;

	(void)state;
	pool_zero(&p, "p");
	pool_queue_init(&q, 3);
	for (i = 0; i < 5; i++)
		pool_waiter_init(&w[i]);
	for (i = 0; i < 3; i++)
		assert_int_equal(pool_queue_push(&q, &p, &w[i]), 0);
	assert_int_equal(pool_queue_push(&q, &p, &w[3]), -1);

	pool_queue_remove(&q, &p, &w[1]);  /* the middle one times out */
	assert_int_equal(q.len, 2);
	assert_int_equal(pool_queue_push(&q, &p, &w[3]), 0);
	assert_int_equal(pool_queue_push(&q, &p, &w[4]), -1);
	assert_int_equal(atomic_load(&p.waiting), 3);

	assert_ptr_equal(pool_queue_pop(&q, &p), &w[0]);
	assert_int_equal(pool_queue_push(&q, &p, &w[4]), 0);
	{
		struct pool_waiter *want[] = { &w[2], &w[3], &w[4] };
		assert_drains_as(&q, &p, want, 3);
	}
	assert_int_equal(atomic_load(&p.waiting), 0);
}

/* push does not stamp enqueued_at (the worker stamps it with its loop time) and a
 * waiter that left keeps no links, so it can queue again. */
static void test_waiter_fields(void **state)
{
	struct pool p;
	struct pool_queue q;
	struct pool_waiter w;

	(void)state;
	pool_zero(&p, "p");
	pool_queue_init(&q, 2);
	pool_waiter_init(&w);
	w.enqueued_at = 12.5;
	assert_int_equal(pool_queue_push(&q, &p, &w), 0);
	assert_true(w.enqueued_at == 12.5);
	assert_ptr_equal(pool_queue_pop(&q, &p), &w);
	assert_null(w.next);
	assert_null(w.prev);
	assert_int_equal(pool_queue_push(&q, &p, &w), 0);
	assert_ptr_equal(pool_queue_peek(&q), &w);
	pool_queue_remove(&q, &p, &w);
	assert_null(pool_queue_peek(&q));
	pool_waiter_init(&w);
	assert_true(w.enqueued_at == 0);
	assert_false(pool_waiter_queued(&w));
}

/* Pushes, pops and removals anywhere, in a fixed pseudo-random order, against an array
 * model: order, length, bound and the pool's waiting count always agree. */
static void test_against_model(void **state)
{
	struct pool p;
	struct pool_queue q;
	struct pool_waiter w[MODEL_N];
	struct pool_waiter *model[MODEL_N];
	size_t mlen = 0, i, step;
	unsigned seed = 12345;
	const uint32_t max = 20;

	(void)state;
	pool_zero(&p, "p");
	pool_queue_init(&q, max);
	for (i = 0; i < MODEL_N; i++)
		pool_waiter_init(&w[i]);
	for (step = 0; step < 20000; step++) {
		unsigned r;

		seed = seed * 1103515245u + 12345u;
		r = (seed >> 16) % 100;
		if (r < 45) {
			/* push a waiter not queued now */
			struct pool_waiter *c = &w[(seed >> 8) % MODEL_N];
			if (pool_waiter_queued(c))
				continue;
			if (mlen >= max) {
				assert_int_equal(pool_queue_push(&q, &p, c), -1);
				assert_false(pool_waiter_queued(c));
			} else {
				assert_int_equal(pool_queue_push(&q, &p, c), 0);
				model[mlen++] = c;
			}
		} else if (r < 70) {
			struct pool_waiter *got = pool_queue_pop(&q, &p);
			if (mlen == 0) {
				assert_null(got);
			} else {
				assert_ptr_equal(got, model[0]);
				memmove(model, model + 1, (mlen - 1) * sizeof(*model));
				mlen--;
			}
		} else {
			/* remove a random waiter, queued or not */
			struct pool_waiter *c = &w[(seed >> 8) % MODEL_N];
			pool_queue_remove(&q, &p, c);
			for (i = 0; i < mlen; i++)
				if (model[i] == c) {
					memmove(model + i, model + i + 1, (mlen - i - 1) * sizeof(*model));
					mlen--;
					break;
				}
		}
		assert_int_equal(q.len, mlen);
		assert_int_equal(atomic_load(&p.waiting), mlen);
		assert_ptr_equal(pool_queue_peek(&q), mlen ? model[0] : NULL);
	}
	assert_drains_as(&q, &p, model, mlen);
	assert_int_equal(atomic_load(&p.waiting), 0);
}

/* The core half of a wake-up: a pool whose only backend is at max_conns answers
 * PICK_FULL (the request queues); after backend_release the next pick for the head
 * waiter gets the slot, and the backend is full again. */
static void test_released_slot_goes_to_head(void **state)
{
	struct cfg_backend cb;
	struct sockaddr_in *sin;
	struct backend *be, *arr[1], *got = NULL;
	struct pool p;
	struct pool_pick_state st;
	struct pool_queue q;
	struct pool_waiter w[2];

	(void)state;
	memset(&cb, 0, sizeof(cb));
	cb.name = "b0";
	sin = (struct sockaddr_in *)&cb.address.ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(8000);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cb.address.len = sizeof(*sin);
	cb.weight = 1;
	cb.max_conns = 1;
	cb.state = ADMIN_ACTIVE;
	be = backend_new(&cb, "p");
	assert_non_null(be);
	arr[0] = be;
	pool_zero(&p, "p");
	p.algo = BALANCE_WLC;
	p.backends = arr;
	p.nbackends = 1;
	assert_int_equal(pool_pick_state_init(&st, &p), 0);
	pool_queue_init(&q, 4);
	pool_waiter_init(&w[0]);
	pool_waiter_init(&w[1]);

	assert_int_equal(pool_pick(&p, &st, NULL, &got), PICK_OK);
	assert_ptr_equal(got, be);
	assert_int_equal(pool_pick(&p, &st, NULL, &got), PICK_FULL);
	assert_int_equal(pool_queue_push(&q, &p, &w[0]), 0);
	assert_int_equal(pool_pick(&p, &st, NULL, &got), PICK_FULL);
	assert_int_equal(pool_queue_push(&q, &p, &w[1]), 0);

	backend_release(be);
	assert_int_equal(atomic_load(&be->active), 0);
	assert_ptr_equal(pool_queue_peek(&q), &w[0]);
	got = NULL;
	assert_int_equal(pool_pick(&p, &st, NULL, &got), PICK_OK);
	assert_ptr_equal(got, be);
	assert_ptr_equal(pool_queue_pop(&q, &p), &w[0]);
	/* one slot freed, one waiter served: the second still waits */
	assert_int_equal(pool_pick(&p, &st, NULL, &got), PICK_FULL);
	assert_ptr_equal(pool_queue_peek(&q), &w[1]);
	assert_int_equal(atomic_load(&p.waiting), 1);
	assert_int_equal(atomic_load(&be->active), 1);

	pool_queue_remove(&q, &p, &w[1]);
	backend_release(be);
	pool_pick_state_free(&st);
	backend_unref(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pools_separate),
		cmocka_unit_test(test_bound_freed_by_leaving),
		cmocka_unit_test(test_waiter_fields),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_released_slot_goes_to_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
