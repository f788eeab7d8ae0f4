/* test_ctl_json.c: unit tests of control/validate.c: request bodies of the control API are
 * strict JSON objects; malformed JSON, unknown, repeated or mistyped fields and values out
 * of range are refused with a reason that names the field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_api.h"

static void put_fails(const char *body, const char *words);
static void put_ok(const char *body, struct ctl_backend_put *p);

static void test_put_full(void **state);
static void test_put_partial_and_empty(void **state);
static void test_put_malformed(void **state);
static void test_put_unknown_and_repeated(void **state);
static void test_put_types_and_ranges(void **state);
static void test_put_addresses(void **state);
static void test_drain(void **state);
static void test_rollback(void **state);
static void test_names(void **state);

static void put_fails(const char *body, const char *words)
{
	struct ctl_backend_put p;
	char err[512] = "";

	if (ctl_parse_backend_put(body, strlen(body), &p, err, sizeof(err)) != -1)
		fail_msg("body %s was accepted", body);
	if (!strstr(err, words))
		fail_msg("body %s: reason '%s' lacks '%s'", body, err, words);
}

static void put_ok(const char *body, struct ctl_backend_put *p)
{
	char err[512] = "";

	if (ctl_parse_backend_put(body, strlen(body), p, err, sizeof(err)) != 0)
		fail_msg("body %s refused: %s", body, err);
}

static void test_put_full(void **state)
{
	struct ctl_backend_put p;

	put_ok("{\"address\":\"127.0.0.1:8004\",\"weight\":4,\"max_conns\":2,\"state\":\"maint\"}", &p);
	assert_true(p.has_address && p.has_weight && p.has_max_conns && p.has_state);
	assert_string_equal(p.address, "127.0.0.1:8004");
	assert_int_equal(p.addr.ss.ss_family, AF_INET);
	assert_int_equal(p.weight, 4);
	assert_int_equal(p.max_conns, 2);
	assert_int_equal(p.state, ADMIN_MAINT);
	/* whitespace around the object is fine */
	put_ok(" \r\n{ \"weight\" : 0 }\n", &p);
	assert_true(p.has_weight);
	assert_int_equal(p.weight, 0);
}

static void test_put_partial_and_empty(void **state)
{
	struct ctl_backend_put p;

	put_ok("{\"weight\":7}", &p);
	assert_false(p.has_address);
	assert_true(p.has_weight);
	assert_false(p.has_max_conns);
	assert_false(p.has_state);
	put_ok("", &p);
	assert_false(p.has_address || p.has_weight || p.has_max_conns || p.has_state);
	put_ok("  \n", &p);
	put_ok("{}", &p);
}

static void test_put_malformed(void **state)
{
	put_fails("{", "malformed JSON");
	put_fails("{\"weight\":1,}", "malformed JSON");
	put_fails("{'weight':1}", "malformed JSON");
	put_fails("{\"weight\":1} {}", "after the JSON object");
	put_fails("{\"weight\":1}x", "after the JSON object");
	put_fails("[1,2]", "must be a JSON object");
	put_fails("\"text\"", "must be a JSON object");
	put_fails("null", "must be a JSON object");
	put_fails("42", "must be a JSON object");
	/* a NUL inside the body ends the JSON early: the rest is not whitespace */
	{
		struct ctl_backend_put p;
		char err[256];
		static const char body[] = "{\"weight\":1}\0{\"weight\":2}";

		assert_int_equal(ctl_parse_backend_put(body, sizeof(body) - 1, &p, err, sizeof(err)), -1);
	}
}

static void test_put_unknown_and_repeated(void **state)
{
	put_fails("{\"adress\":\"127.0.0.1:1\"}", "unknown field 'adress'");
	put_fails("{\"weight\":1,\"extra\":true}", "unknown field 'extra'");
	put_fails("{\"Weight\":1}", "unknown field 'Weight'");
	put_fails("{\"weight\":1,\"weight\":2}", "more than once");
}

static void test_put_types_and_ranges(void **state)
{
	put_fails("{\"weight\":\"4\"}", "'weight' must be an integer");
	put_fails("{\"weight\":1.5}", "'weight' must be an integer in 0..1000");
	put_fails("{\"weight\":-1}", "0..1000");
	put_fails("{\"weight\":1001}", "0..1000");
	put_fails("{\"weight\":1e300}", "0..1000");
	put_fails("{\"weight\":true}", "must be an integer");
	put_fails("{\"max_conns\":1000001}", "'max_conns' must be an integer in 0..1000000");
	put_fails("{\"max_conns\":null}", "must be an integer");
	put_fails("{\"state\":\"up\"}", "'state' must be");
	put_fails("{\"state\":1}", "'state' must be a string");
	put_fails("{\"address\":8000}", "'address' must be a string");
	{
		struct ctl_backend_put p;

		put_ok("{\"weight\":1000,\"max_conns\":1000000}", &p);
		assert_int_equal(p.weight, 1000);
		assert_int_equal(p.max_conns, 1000000);
		put_ok("{\"weight\":2.0}", &p);  /* JSON has one number type: 2.0 is 2 */
		assert_int_equal(p.weight, 2);
	}
}

static void test_put_addresses(void **state)
{
	struct ctl_backend_put p;
	char big[400], body[512];

	put_ok("{\"address\":\"[::1]:8000\"}", &p);
	assert_int_equal(p.addr.ss.ss_family, AF_INET6);
	put_fails("{\"address\":\"127.0.0.1\"}", "'address'");
	put_fails("{\"address\":\"127.0.0.1:0\"}", "'address'");
	put_fails("{\"address\":\"127.0.0.1:70000\"}", "'address'");
	put_fails("{\"address\":\"::1:80\"}", "'address'");
	put_fails("{\"address\":\"\"}", "'address'");
	put_fails("{\"address\":\"300.1.1.1:80\"}", "'address'");
	put_fails("{\"address\":\"bad host!:80\"}", "'address'");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"address\":\"%s:80\"}", big);
	put_fails(body, "'address' is longer than");
}

static void test_drain(void **state)
{
	uint32_t t = 30;
	char err[256];

	assert_int_equal(ctl_parse_drain("", 0, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 30);
	assert_int_equal(ctl_parse_drain("{\"timeout_s\":5}", 15, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 5);
	assert_int_equal(ctl_parse_drain("{\"timeout_s\":-5}", 16, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "timeout_s"));
	assert_int_equal(ctl_parse_drain("{\"timeout\":5}", 13, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown field 'timeout'"));
	assert_int_equal(ctl_parse_drain("{\"timeout_s\":86401}", 19, &t, err, sizeof(err)), -1);
	assert_int_equal(t, 5);
}

static void test_rollback(void **state)
{
	uint64_t g = 0;
	char err[256];

	assert_int_equal(ctl_parse_rollback("{\"generation\":3}", 16, &g, err, sizeof(err)), 0);
	assert_int_equal(g, 3);
	assert_int_equal(ctl_parse_rollback("{}", 2, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "required"));
	assert_int_equal(ctl_parse_rollback("", 0, &g, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_rollback("{\"generation\":0}", 16, &g, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_rollback("{\"generation\":\"3\"}", 18, &g, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_rollback("{\"generation\":3,\"force\":1}", 26, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown field 'force'"));
}

static void test_names(void **state)
{
	char err[256];

	assert_int_equal(ctl_check_name("pool", "flask", err, sizeof(err)), 0);
	assert_int_equal(ctl_check_name("backend name", "web-1.a_b", err, sizeof(err)), 0);
	assert_int_equal(ctl_check_name("backend name", "web 1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "backend name"));
	assert_int_equal(ctl_check_name("pool", "fl%20ask", err, sizeof(err)), -1);
	assert_int_equal(ctl_check_name("pool", "a/b", err, sizeof(err)), -1);
	assert_int_equal(ctl_check_name("pool", "", err, sizeof(err)), -1);
	assert_int_equal(ctl_check_name("pool", "ééé", err, sizeof(err)), -1);
	assert_int_equal(ctl_check_name("pool",
					"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_full),
		cmocka_unit_test(test_put_partial_and_empty),
		cmocka_unit_test(test_put_malformed),
		cmocka_unit_test(test_put_unknown_and_repeated),
		cmocka_unit_test(test_put_types_and_ranges),
		cmocka_unit_test(test_put_addresses),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
