/* test_buffer.c: unit tests of util/buffer.c: standard buffers are recycled through the
 * free list, a bulk buffer keeps the bytes it grew from and goes back to malloc, and a
 * buffer already that large is left alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buffer.h"

static void test_standard_buffers_are_recycled(void **state)
{
	struct buf_pool bp;
	struct buf *a, *b;

	(void)state;
	buf_pool_init(&bp, 4);
	a = buf_get(&bp);
	assert_non_null(a);
	assert_int_equal(a->cap, BUF_SIZE);
	buf_put(&bp, a);
	assert_int_equal(bp.nfree, 1);
	b = buf_get(&bp);
	assert_ptr_equal(a, b);
	assert_int_equal(buf_len(b), 0);
	buf_put(&bp, b);
	buf_pool_destroy(&bp);
	assert_int_equal(bp.allocated, 0);
}

static void test_bulk_keeps_unread_bytes_and_is_not_cached(void **state)
{
	struct buf_pool bp;
	struct buf *b;

	(void)state;
	buf_pool_init(&bp, 4);
	b = buf_get(&bp);
	assert_non_null(b);
	memcpy(buf_tail(b), "head:body", 9);
	b->end += 9;
	buf_consume(b, 5);
	buf_grow_bulk(&bp, &b);
	assert_int_equal(b->cap, BUF_BULK_SIZE);
	assert_int_equal(buf_len(b), 4);
	assert_memory_equal(buf_head(b), "body", 4);
	assert_int_equal(buf_room(b), BUF_BULK_SIZE - 4);
	/* the standard buffer it replaced went back to the free list */
	assert_int_equal(bp.nfree, 1);
	/* a buffer already bulk-sized is not grown again */
	{
		struct buf *same = b;

		buf_grow_bulk(&bp, &b);
		assert_ptr_equal(b, same);
	}
	/* released, a bulk buffer is freed, not cached for standard use */
	buf_put(&bp, b);
	assert_int_equal(bp.nfree, 1);
	assert_int_equal(bp.allocated, 1);
	buf_pool_destroy(&bp);
	assert_int_equal(bp.allocated, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard_buffers_are_recycled),
		cmocka_unit_test(test_bulk_keeps_unread_bytes_and_is_not_cached),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
