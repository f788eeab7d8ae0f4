/* test_tls_fail_log.c: unit tests of tls/tls_fail_log.c: the line of a failed handshake,
 * at most per_second of them a second with the rest counted into the next second's first
 * line, and a peer that closed before any handshake at debug level only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "log.h"
#include "tls.h"

static int info_level(void **state)
{
	(void)state;
	log_set_level(LOG_INFO);
	return 0;
}

static void test_line_names_peer_reason_and_detail(void **state)
{
	struct tls_fail_log fl = { .per_second = 3 };
	char line[256];

	(void)state;
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_NOT_TLS, "127.0.0.1:5000", "plain HTTP",
				      10.0, LOG_WARN, line, sizeof(line)), LOG_WARN);
	assert_string_equal(line, "TLS handshake with 127.0.0.1:5000 failed: "
			    "not_tls: plain HTTP (1 so far)");
}

static void test_rate_limit_counts_the_rest(void **state)
{
	struct tls_fail_log fl = { .per_second = 3 };
	char line[256];
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_ALERT, "p", "d", 100.0 + i * 0.1,
					      LOG_INFO, line, sizeof(line)), LOG_INFO);
	for (i = 0; i < 2; i++)
		assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_ALERT, "p", "d", 100.5 + i * 0.1,
					      LOG_INFO, line, sizeof(line)), -1);
	/* the next second: a line again, saying how many were left out */
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_ALERT, "p", "d", 101.2, LOG_INFO, line,
				      sizeof(line)), LOG_INFO);
	assert_non_null(strstr(line, "(1 so far); 2 similar lines suppressed"));
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_ALERT, "p", "d", 101.3, LOG_INFO, line,
				      sizeof(line)), LOG_INFO);
	assert_null(strstr(line, "suppressed"));
}

static void test_closed_is_debug_outside_the_limit(void **state)
{
	struct tls_fail_log fl = { .per_second = 1 };
	char line[256];

	(void)state;
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_CLOSED, "p", "d", 5.0, LOG_WARN, line,
				      sizeof(line)), -1);
	log_set_level(LOG_DEBUG);
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_CLOSED, "p", "eof", 5.0, LOG_WARN, line,
				      sizeof(line)), LOG_DEBUG);
	assert_string_equal(line, "TLS handshake with p failed: closed: eof (1 so far)");
	/* neither used the one line of this second */
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_TIMEOUT, "p", "d", 5.0, LOG_WARN, line,
				      sizeof(line)), LOG_WARN);
	assert_int_equal(tls_fail_log(&fl, NULL, TLS_FAIL_TIMEOUT, "p", "d", 5.5, LOG_WARN, line,
				      sizeof(line)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_line_names_peer_reason_and_detail, info_level),
		cmocka_unit_test_setup(test_rate_limit_counts_the_rest, info_level),
		cmocka_unit_test_setup(test_closed_is_debug_outside_the_limit, info_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
