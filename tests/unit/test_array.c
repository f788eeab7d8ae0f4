/* test_array.c: unit tests of util/array.c: an array doubles from its first size, grows
 * straight to what is needed, stops at its limit, and refuses a size that overflows or
 * memory that is not there without touching what it had. realloc is wrapped
 * (-Wl,--wrap=realloc) to see the sizes asked for and to fail on demand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "array.h"

void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);

static size_t last_size;   /* the size of the last realloc asked for */
static unsigned reallocs;  /* reallocs asked for */
static int fail_next;      /* the next realloc returns NULL */

void *__wrap_realloc(void *p, size_t size)
{
	reallocs++;
	last_size = size;
	if (fail_next) {
		fail_next = 0;
		return NULL;
	}
	return __real_realloc(p, size);
}

static int reset(void **state)
{
	(void)state;
	last_size = 0;
	reallocs = 0;
	fail_next = 0;
	return 0;
}

struct rec {
	int a;
	char name[12];
};

static void test_doubles_from_first(void **state)
{
	struct rec *list = NULL;
	size_t cap = 0, n;

	(void)state;
	assert_int_equal(ARRAY_GROW(&list, &cap, 1, 4), 0);
	assert_int_equal(cap, 4);
	assert_int_equal(last_size, 4 * sizeof(struct rec));
	for (n = 0; n < 4; n++)
		list[n].a = (int)n;
	/* room enough: nothing is asked of realloc */
	assert_int_equal(ARRAY_GROW(&list, &cap, 4, 4), 0);
	assert_int_equal(reallocs, 1);
	assert_int_equal(ARRAY_GROW(&list, &cap, 5, 4), 0);
	assert_int_equal(cap, 8);
	assert_int_equal(reallocs, 2);
	for (n = 0; n < 4; n++)
		assert_int_equal(list[n].a, (int)n);
	free(list);
}

static void test_grows_straight_to_need(void **state)
{
	char *text = NULL;
	size_t cap = 0;

	(void)state;
	/* doubling goes on until need fits, in one realloc */
	assert_int_equal(ARRAY_GROW(&text, &cap, 5000, 4096), 0);
	assert_int_equal(cap, 8192);
	assert_int_equal(ARRAY_GROW(&text, &cap, 100000, 4096), 0);
	assert_int_equal(cap, 131072);
	assert_int_equal(reallocs, 2);
	/* first 0 starts from one item */
	free(text);
	text = NULL;
	cap = 0;
	assert_int_equal(ARRAY_GROW(&text, &cap, 3, 0), 0);
	assert_int_equal(cap, 4);
	free(text);
}

static void test_limit_stops_doubling_and_refuses_beyond(void **state)
{
	char *buf = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(ARRAY_GROW_MAX(&buf, &cap, 100, 64, 150), 0);
	assert_int_equal(cap, 128);
	/* twice 128 would pass the limit: the array stops at it */
	assert_int_equal(ARRAY_GROW_MAX(&buf, &cap, 129, 64, 150), 0);
	assert_int_equal(cap, 150);
	assert_int_equal(last_size, 150);
	before = buf;
	assert_int_equal(ARRAY_GROW_MAX(&buf, &cap, 151, 64, 150), -1);
	assert_ptr_equal(buf, before);
	assert_int_equal(cap, 150);
	assert_int_equal(reallocs, 2);
	free(buf);
}

static void test_overflow_is_refused(void **state)
{
	struct rec *list = NULL;
	void *raw;
	size_t cap = 0;

	(void)state;
	/* need * item_size does not fit a size_t: refused before any realloc */
	assert_int_equal(ARRAY_GROW(&list, &cap, SIZE_MAX / sizeof(struct rec) + 1, 16), -1);
	assert_null(list);
	assert_int_equal(cap, 0);
	assert_int_equal(ARRAY_GROW(&list, &cap, SIZE_MAX, 16), -1);
	assert_int_equal(reallocs, 0);
	/* item size 0 is no array */
	raw = NULL;
	assert_int_equal(array_grow(&raw, &cap, 1, 0, 16), -1);
	assert_int_equal(reallocs, 0);
}

static void test_doubling_past_the_size_asks_for_need_only(void **state)
{
	void *raw = NULL;
	size_t cap = SIZE_MAX / 8 * 5;  /* twice this overflows; pretend it is held */

	(void)state;
	fail_next = 1;
	assert_int_equal(array_grow(&raw, &cap, cap + 1, 1, 16), -1);
	/* the doubled capacity would wrap around: realloc is asked for need, not less */
	assert_int_equal(last_size, SIZE_MAX / 8 * 5 + 1);
	assert_int_equal(cap, SIZE_MAX / 8 * 5);
	assert_null(raw);

	/* records: twice cap items fits a size_t of items but not of bytes */
	cap = SIZE_MAX / 16 / 2 + 8;
	fail_next = 1;
	assert_int_equal(array_grow(&raw, &cap, cap + 1, 16, 16), -1);
	assert_int_equal(last_size, (SIZE_MAX / 16 / 2 + 9) * 16);
}

static void test_out_of_memory_keeps_the_array(void **state)
{
	int *v = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(ARRAY_GROW(&v, &cap, 2, 2), 0);
	v[0] = 7;
	v[1] = 8;
	before = v;
	fail_next = 1;
	assert_int_equal(ARRAY_GROW(&v, &cap, 3, 2), -1);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 2);
	assert_int_equal(v[0], 7);
	assert_int_equal(v[1], 8);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_doubles_from_first, reset),
		cmocka_unit_test_setup(test_grows_straight_to_need, reset),
		cmocka_unit_test_setup(test_limit_stops_doubling_and_refuses_beyond, reset),
		cmocka_unit_test_setup(test_overflow_is_refused, reset),
		cmocka_unit_test_setup(test_doubling_past_the_size_asks_for_need_only, reset),
		cmocka_unit_test_setup(test_out_of_memory_keeps_the_array, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
