/* test_retry_budget.c: unit tests of core/retry_budget.c: replays in flight stay within
 * the configured share of requests in flight, a quiet pool still gets the floor, and 0
 * turns replays off. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry_budget.h"

/* How many replays may be in flight at once with active requests in flight. */
static int64_t replays_at_once(int64_t active, uint32_t percent)
{
	int64_t r = 0;

	while (r <= active + RETRY_BUDGET_FLOOR && retry_budget_allows(active, r, percent))
		r++;
	return r;
}

static void test_share_of_requests_in_flight(void **state)
{
	assert_int_equal(replays_at_once(100, 20), 20);
	assert_int_equal(replays_at_once(1000, 20), 200);
	assert_int_equal(replays_at_once(100, 50), 50);
	/* rounded up: 20 % of 101 is 20.2 -> 21 */
	assert_int_equal(replays_at_once(101, 20), 21);
	assert_int_equal(retry_budget_allows(100, 19, 20), 1);
	assert_int_equal(retry_budget_allows(100, 20, 20), 0);
}

static void test_floor_for_a_quiet_pool(void **state)
{
	assert_int_equal(replays_at_once(1, 20), RETRY_BUDGET_FLOOR);
	assert_int_equal(replays_at_once(0, 20), RETRY_BUDGET_FLOOR);
	assert_int_equal(replays_at_once(10, 20), RETRY_BUDGET_FLOOR);
	assert_int_equal(replays_at_once(20, 100), 20);
}

static void test_zero_turns_replays_off(void **state)
{
	assert_int_equal(retry_budget_allows(1000, 0, 0), 0);
	assert_int_equal(retry_budget_allows(0, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_of_requests_in_flight),
		cmocka_unit_test(test_floor_for_a_quiet_pool),
		cmocka_unit_test(test_zero_turns_replays_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
