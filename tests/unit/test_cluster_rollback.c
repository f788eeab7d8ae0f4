/* test_cluster_rollback.c: unit tests of cluster mode's rollback marker, the value of
 * "<prefix>@rollback" (control/cluster_rollback.c): a round trip with revisions up to
 * 2^53, what a reader requires and what it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cluster_rollback.h"

static void test_round_trip(void **state)
{
	struct crollback m = { .to = 9007199254740992LL, .from = 12, .time = 1765000000.25 }, back;
	char err[128], *s = crollback_encode(&m);

	assert_non_null(s);
	assert_int_equal(crollback_decode(s, strlen(s), &back, err, sizeof(err)), 0);
	assert_int_equal(back.to, m.to);
	assert_int_equal(back.from, 12);
	assert_true(back.time == m.time);
	free(s);
	/* "from" 0: the store had no change before the rollback; time optional */
	assert_int_equal(crollback_decode("{\"to\":3,\"from\":0}", 18, &back, err, sizeof(err)), 0);
	assert_int_equal(back.to, 3);
	assert_int_equal(back.from, 0);
	assert_true(back.time == 0);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"", "[]", "{\"from\":1}", "{\"to\":1}", "{\"to\":0,\"from\":1}",
		"{\"to\":-4,\"from\":1}", "{\"to\":1.5,\"from\":1}", "{\"to\":\"7\",\"from\":1}",
		"{\"to\":1,\"from\":-1}", "{\"to\":9007199254740994,\"from\":1}", "{\"to\":1,",
	};
	struct crollback m;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(crollback_decode(bad[i], strlen(bad[i]), &m, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
