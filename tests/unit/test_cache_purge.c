/* test_cache_purge.c: unit tests of the cache purge body (control/cache_purge.c): exactly
 * one of url, prefix and tag; a URL is absolute (http or https) or a path; bad bodies
 * are refused with a reason. And the scope rule: a pool's hook token may purge that
 * pool's cache, not another's; a read token may not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_api.h"
#include "ctl_http.h"

static int parse(const char *body, struct ctl_purge_req *r, char *err, size_t errlen)
{
	return ctl_parse_purge(body, strlen(body), r, err, errlen);
}

static void test_good_bodies(void **state)
{
	struct ctl_purge_req r;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"url\": \"http://App.Test:8080/items/7?x=1\"}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_PURGE_URL);
	assert_string_equal(r.value, "http://App.Test:8080/items/7?x=1");
	assert_int_equal(parse("{\"url\": \"/items/7\"}", &r, err, sizeof(err)), 0);  /* any host */
	assert_int_equal(parse("{\"prefix\": \"https://a.test/static/\"}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_PURGE_PREFIX);
	assert_int_equal(parse("{\"tag\": \"user-42\"}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_PURGE_TAG);
	assert_string_equal(r.value, "user-42");
}

static void test_bad_bodies(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"url\": \"http://a/x\", \"tag\": \"t\"}",
		"{\"url\": \"ftp://a/x\"}",
		"{\"url\": \"items/7\"}",
		"{\"url\": \"http://a/x y\"}",
		"{\"tag\": \"\"}",
		"{\"tag\": 7}",
		"{\"key\": \"x\"}",
		"[1]",
	};
	struct ctl_purge_req r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i], &r, err, sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
		if (!err[0])
			fail_msg("%s: refused without a reason", bad[i]);
	}
}

static void test_scope(void **state)
{
	struct ctl_principal hook = { .name = "hook", .scope = TOKEN_SCOPE_BACKENDS, .pools = "flask" };
	struct ctl_principal reader = { .name = "ro", .scope = TOKEN_SCOPE_READ };
	struct ctl_route_match m = { .id = CTL_R_CACHE_PURGE };
	char detail[256];

	(void)state;
	strcpy(m.pool, "flask");
	assert_true(ctl_scope_check(&hook, HTTP_M_POST, &m, detail, sizeof(detail)));
	strcpy(m.pool, "other");
	assert_false(ctl_scope_check(&hook, HTTP_M_POST, &m, detail, sizeof(detail)));
	assert_false(ctl_scope_check(&reader, HTTP_M_POST, &m, detail, sizeof(detail)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_bodies),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_scope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
