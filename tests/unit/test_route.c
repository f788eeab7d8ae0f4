/* test_route.c: unit tests of core/route.c (which route a request takes) and of the
 * loader's checks of routes (core/config.c): host patterns with and without ports and
 * case, exact paths against prefixes and queries, methods, first match wins, and the
 * errors -t gives for routes that cannot work. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "route.h"

static struct route_request req(const char *host, const char *path, const char *method)
{
	return (struct route_request){ host, strlen(host), path, strlen(path), method, strlen(method) };
}

static void test_host_exact_and_wildcard(void **state)
{
	struct cfg_route r = { .name = "r", .host = "api.example.com" };
	struct cfg_route w = { .name = "w", .host = "*.example.com" };
	struct route_request q;

	q = req("api.example.com", "/", "GET");
	assert_true(route_matches(&r, &q));
	q = req("API.Example.COM:8080", "/", "GET");
	assert_true(route_matches(&r, &q));
	q = req("api.example.com.", "/", "GET");  /* fully qualified: the same host */
	assert_true(route_matches(&r, &q));
	q = req("xapi.example.com", "/", "GET");
	assert_false(route_matches(&r, &q));
	q = req("api.example.co", "/", "GET");
	assert_false(route_matches(&r, &q));
	q = req("", "/", "GET");  /* HTTP/1.0 without Host */
	assert_false(route_matches(&r, &q));

	q = req("a.example.com", "/", "GET");
	assert_true(route_matches(&w, &q));
	q = req("a.b.example.com:443", "/", "GET");
	assert_true(route_matches(&w, &q));
	q = req("example.com", "/", "GET");  /* the wildcard needs a label in front */
	assert_false(route_matches(&w, &q));
	q = req("badexample.com", "/", "GET");
	assert_false(route_matches(&w, &q));
}

static void test_ip_hosts_and_ports(void **state)
{
	struct cfg_route r = { .name = "r", .host = "127.0.0.1" };
	struct route_request q;

	q = req("127.0.0.1:8080", "/", "GET");
	assert_true(route_matches(&r, &q));
	q = req("127.0.0.1", "/", "GET");
	assert_true(route_matches(&r, &q));
	q = req("127.0.0.11", "/", "GET");
	assert_false(route_matches(&r, &q));
	q = req("[::1]:8080", "/", "GET");
	assert_false(route_matches(&r, &q));
}

static void test_paths_and_methods(void **state)
{
	struct cfg_route exact = { .name = "e", .path = "/robots.txt" };
	struct cfg_route prefix = { .name = "p", .path_prefix = "/static/", .method = "GET" };
	struct route_request q;

	q = req("h", "/robots.txt", "GET");
	assert_true(route_matches(&exact, &q));
	q = req("h", "/robots.txt2", "GET");
	assert_false(route_matches(&exact, &q));
	q = req("h", "/robots", "GET");
	assert_false(route_matches(&exact, &q));

	q = req("h", "/static/app.css", "GET");
	assert_true(route_matches(&prefix, &q));
	q = req("h", "/static/", "GET");
	assert_true(route_matches(&prefix, &q));
	q = req("h", "/static", "GET");  /* the prefix as written, slash included */
	assert_false(route_matches(&prefix, &q));
	q = req("h", "/static/app.css", "POST");
	assert_false(route_matches(&prefix, &q));
	q = req("h", "/static/app.css", "get");  /* methods are case-sensitive */
	assert_false(route_matches(&prefix, &q));
}

static void test_first_match_wins(void **state)
{
	struct cfg_route routes[] = {
		{ .name = "api", .host = "api.example.com" },
		{ .name = "static", .path_prefix = "/static/" },
		{ .name = "all" },
	};
	struct route_request q;

	q = req("api.example.com", "/static/x", "GET");
	assert_int_equal(route_find(routes, 3, &q), 0);
	q = req("www.example.com", "/static/x", "GET");
	assert_int_equal(route_find(routes, 3, &q), 1);
	q = req("www.example.com", "/", "GET");
	assert_int_equal(route_find(routes, 3, &q), 2);
	assert_int_equal(route_find(routes, 2, &q), -1);
	assert_int_equal(route_find(routes, 0, &q), -1);
}

static int has_error(const struct config_errors *e, const char *key, const char *words)
{
	size_t i;

	for (i = 0; i < e->count; i++)
		if (strcmp(e->items[i].key, key) == 0 && strstr(e->items[i].message, words))
			return 1;
	return 0;
}

static void test_config_checks(void **state)
{
	const char *text =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\";\n"
		"  routes = ( { name = \"a\"; pool = \"nope\"; },\n"
		"             { name = \"b\"; pool = \"p\"; respond = { status = 503; }; },\n"
		"             { name = \"c\"; },\n"
		"             { name = \"d\"; host = \"a b\"; redirect = { status = 305; }; },\n"
		"             { name = \"e\"; path = \"/x\"; path_prefix = \"/x\"; pool = \"p\"; },\n"
		"             { name = \"f\"; respond = { status = 204; body = \"x\"; }; } ); },\n"
		"  { name = \"t\"; bind = \"127.0.0.1:2\"; mode = \"tcp\"; pool = \"p\";\n"
		"    routes = ( { name = \"q\"; pool = \"p\"; } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, "test.cfg", &errs);

	assert_null(cfg);
	assert_true(has_error(&errs, "listeners.web.routes.a.pool", "no pool named 'nope'"));
	assert_true(has_error(&errs, "listeners.web.routes.b", "exactly one of pool, split, redirect, respond and static (it has 2)"));
	assert_true(has_error(&errs, "listeners.web.routes.c", "(it has 0)"));
	assert_true(has_error(&errs, "listeners.web.routes.d.host", "not a host name"));
	assert_true(has_error(&errs, "listeners.web.routes.d", "301, 302, 303, 307 or 308"));
	assert_true(has_error(&errs, "listeners.web.routes.e", "not both"));
	assert_true(has_error(&errs, "listeners.web.routes.f", "has no body"));
	assert_true(has_error(&errs, "listeners.t.routes", "mode = \"http\""));
	config_errors_clear(&errs);
}

static void test_config_routes_without_pool(void **state)
{
	const char *ok =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\";\n"
		"  routes = ( { name = \"a\"; path_prefix = \"/api/\"; pool = \"p\"; } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	const char *bad =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\"; } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(ok, "test.cfg", &errs);

	assert_non_null(cfg);
	assert_null(cfg->listeners[0].pool);
	assert_int_equal(cfg->listeners[0].nroutes, 1);
	assert_string_equal(cfg->listeners[0].routes[0].pool, "p");
	config_free(cfg);
	config_errors_clear(&errs);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load_string(bad, "test.cfg", &errs);
	assert_null(cfg);
	assert_true(has_error(&errs, "listeners.web.pool", "missing required key 'pool'"));
	config_errors_clear(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_exact_and_wildcard),
		cmocka_unit_test(test_ip_hosts_and_ports),
		cmocka_unit_test(test_paths_and_methods),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_config_routes_without_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
