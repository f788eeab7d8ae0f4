/* test_exchange.c: unit tests of lb/exchange.c, the per-worker free list of exchanges:
 * a recycled exchange comes back cleared (every field a request reads before setting
 * it), the request head buffer goes back with it, the list is bounded, and an idle
 * client is smaller than the per-request state it no longer carries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "worker.h"

struct fixture {
	struct worker w;
	struct client c[3];
};

static struct fixture *fixture_new(uint32_t max_free)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	buf_pool_init(&f->w.bufs, 8);
	exchange_pool_init(&f->w.exchanges, max_free);
	for (i = 0; i < 3; i++) {
		f->c[i].w = &f->w;
		f->c[i].head_started = 100.0 + i;
	}
	return f;
}

static void fixture_free(struct fixture *f)
{
	exchange_pool_destroy(&f->w.exchanges);
	buf_pool_destroy(&f->w.bufs);
	free(f);
}

/* An exchange left dirty by its last request is handed out cleared: a field added to
 * the cleared part of struct exchange and forgotten in exchange_begin fails here. */
static void test_recycled_exchange_is_cleared(void **state)
{
	struct fixture *f = fixture_new(4);
	unsigned char zero[EXCHANGE_CLEARED];
	struct exchange *x;

	(void)state;
	x = exchange_begin(&f->c[0]);
	assert_non_null(x);
	assert_ptr_equal(f->c[0].ex, x);
	memset(x, 0xa5, sizeof(*x));
	x->req_head = NULL;  /* what the end gives back must be real */
	x->budget = NULL;
	x->compress = NULL;  /* no encoder to free */
	x->req_buffered = x->resp_buffered = 0;  /* no body stores to free */
	exchange_end(&f->c[0]);
	assert_null(f->c[0].ex);
	assert_int_equal(f->w.exchanges.nfree, 1);

	assert_non_null(exchange_begin(&f->c[1]));
	assert_ptr_equal(f->c[1].ex, x);  /* the same memory, from the free list */
	memset(zero, 0, sizeof(zero));
	assert_memory_equal(x, zero, EXCHANGE_CLEARED);
	assert_false(pool_waiter_queued(&x->waiter));
	assert_int_equal(x->method, HTTP_M_OTHER);
	assert_int_equal(x->term, TERM_NONE);
	assert_string_equal(x->request_id, "");
	assert_string_equal(x->target, "");
	assert_string_equal(x->referer, "");
	assert_string_equal(x->user_agent, "");
	assert_ptr_equal(x->client, &f->c[1]);
	assert_true(x->t_start == f->c[1].head_started);
	assert_int_equal(f->w.exchanges.nfree, 0);
	exchange_end(&f->c[1]);
	fixture_free(f);
}

/* A request head still held (no response came) goes back to the buffer list. */
static void test_end_gives_back_the_request_head(void **state)
{
	struct fixture *f = fixture_new(4);

	(void)state;
	assert_non_null(exchange_begin(&f->c[0]));
	f->c[0].ex->req_head = buf_get(&f->w.bufs);
	assert_non_null(f->c[0].ex->req_head);
	assert_int_equal(f->w.bufs.nfree, 0);
	exchange_end(&f->c[0]);
	assert_int_equal(f->w.bufs.nfree, 1);
	assert_null(f->c[0].ex);
	fixture_free(f);
}

/* After a burst the list keeps at most max_free; the rest goes back to malloc (the
 * sanitizer build reports a leak if it did not). */
static void test_free_list_is_bounded(void **state)
{
	struct fixture *f = fixture_new(2);
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_non_null(exchange_begin(&f->c[i]));
	assert_ptr_not_equal(f->c[0].ex, f->c[1].ex);
	assert_ptr_not_equal(f->c[1].ex, f->c[2].ex);
	for (i = 0; i < 3; i++)
		exchange_end(&f->c[i]);
	assert_int_equal(f->w.exchanges.nfree, 2);
	assert_non_null(exchange_begin(&f->c[0]));
	assert_int_equal(f->w.exchanges.nfree, 1);
	exchange_put(&f->w.exchanges, f->c[0].ex);  /* as client_free does */
	exchange_put(&f->w.exchanges, NULL);
	assert_int_equal(f->w.exchanges.nfree, 2);
	fixture_free(f);
}

/* What an idle keep-alive connection holds: the client alone, which must stay well
 * under what it was with the per-request state inside (824 bytes). (392 since HTTP/2:
 * 8 bytes for an HTTP/2 session's or stream's state.) */
static void test_idle_client_is_small(void **state)
{
	(void)state;
	printf("sizeof(struct client) = %zu, sizeof(struct exchange) = %zu\n",
	       sizeof(struct client), sizeof(struct exchange));
	assert_true(sizeof(struct client) <= 392);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recycled_exchange_is_cleared),
		cmocka_unit_test(test_end_gives_back_the_request_head),
		cmocka_unit_test(test_free_list_is_bounded),
		cmocka_unit_test(test_idle_client_is_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
