/* test_route.c: unit tests of core/route.c (which route a request takes) and of the
 * loader's checks of routes (core/config.c): host patterns with and without ports and
 * case, exact paths against prefixes and queries, methods, headers, cookies, query
 * parameters, path regexes (PCRE2, with the match limit), first match wins, and the
 * errors -t gives for routes that cannot work. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config.h"
#include "route.h"

static struct route_request req(const char *host, const char *path, const char *method)
{
	return (struct route_request){ host, strlen(host), path, strlen(path), method, strlen(method), "", 0,
				       NULL, NULL, 0, 0 };
}

static void test_host_exact_and_wildcard(void **state)
{
	struct cfg_route r = { .name = "r", .host = "api.example.com" };
	struct cfg_route w = { .name = "w", .host = "*.example.com" };
	struct route_request q;

	q = req("api.example.com", "/", "GET");
	assert_true(route_matches(&r, NULL, &q));
	q = req("API.Example.COM:8080", "/", "GET");
	assert_true(route_matches(&r, NULL, &q));
	q = req("api.example.com.", "/", "GET");  /* fully qualified: the same host */
	assert_true(route_matches(&r, NULL, &q));
	q = req("xapi.example.com", "/", "GET");
	assert_false(route_matches(&r, NULL, &q));
	q = req("api.example.co", "/", "GET");
	assert_false(route_matches(&r, NULL, &q));
	q = req("", "/", "GET");  /* HTTP/1.0 without Host */
	assert_false(route_matches(&r, NULL, &q));

	q = req("a.example.com", "/", "GET");
	assert_true(route_matches(&w, NULL, &q));
	q = req("a.b.example.com:443", "/", "GET");
	assert_true(route_matches(&w, NULL, &q));
	q = req("example.com", "/", "GET");  /* the wildcard needs a label in front */
	assert_false(route_matches(&w, NULL, &q));
	q = req("badexample.com", "/", "GET");
	assert_false(route_matches(&w, NULL, &q));
}

static void test_ip_hosts_and_ports(void **state)
{
	struct cfg_route r = { .name = "r", .host = "127.0.0.1" };
	struct route_request q;

	q = req("127.0.0.1:8080", "/", "GET");
	assert_true(route_matches(&r, NULL, &q));
	q = req("127.0.0.1", "/", "GET");
	assert_true(route_matches(&r, NULL, &q));
	q = req("127.0.0.11", "/", "GET");
	assert_false(route_matches(&r, NULL, &q));
	q = req("[::1]:8080", "/", "GET");
	assert_false(route_matches(&r, NULL, &q));
}

static void test_paths_and_methods(void **state)
{
	struct cfg_route exact = { .name = "e", .path = "/robots.txt" };
	struct cfg_route prefix = { .name = "p", .path_prefix = "/static/", .method = "GET" };
	struct route_request q;

	q = req("h", "/robots.txt", "GET");
	assert_true(route_matches(&exact, NULL, &q));
	q = req("h", "/robots.txt2", "GET");
	assert_false(route_matches(&exact, NULL, &q));
	q = req("h", "/robots", "GET");
	assert_false(route_matches(&exact, NULL, &q));

	q = req("h", "/static/app.css", "GET");
	assert_true(route_matches(&prefix, NULL, &q));
	q = req("h", "/static/", "GET");
	assert_true(route_matches(&prefix, NULL, &q));
	q = req("h", "/static", "GET");  /* the prefix as written, slash included */
	assert_false(route_matches(&prefix, NULL, &q));
	q = req("h", "/static/app.css", "POST");
	assert_false(route_matches(&prefix, NULL, &q));
	q = req("h", "/static/app.css", "get");  /* methods are case-sensitive */
	assert_false(route_matches(&prefix, NULL, &q));
}

/* The compares walk the route's string and the request's slice together: each must end
 * where the other does (exact) or the slice may go on (prefix), and route_find, which
 * strips the port and final dot once for all routes, agrees with route_matches. */
static void test_compares_stop_at_either_end(void **state)
{
	struct cfg_route routes[] = {
		{ .name = "h", .host = "api.example.com", .method = "GET" },
		{ .name = "p", .path_prefix = "/a/b" },
		{ .name = "e", .path = "/x" },
	};
	struct route_request q;

	q = req("api.example.comx", "/", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), -1);
	q = req("API.example.com.:80", "/", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), 0);
	q = req("api.example.com", "/", "GE");
	assert_int_equal(route_find(routes, NULL, 3, &q), -1);
	q = req("api.example.com", "/", "GETX");
	assert_int_equal(route_find(routes, NULL, 3, &q), -1);
	q = req("h", "/a/", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), -1);
	q = req("h", "/a/b", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), 1);
	q = req("h", "/x", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), 2);
	q = req("h", "/", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), -1);
	q = req("h", "/xy", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), -1);
}

/* Fills q's header fields from text "Name: value\n..." (a test's stand-in for the
 * parser: slices relative to text, which must outlive q). */
static void set_fields(struct route_request *q, const char *text, struct http_header *f, size_t max)
{
	const char *line = text, *colon, *nl;
	size_t n = 0;

	while (*line && n < max) {
		nl = strchr(line, '\n');
		colon = strchr(line, ':');
		f[n].name = (struct http_slice){ (uint32_t)(line - text), (uint32_t)(colon - line) };
		colon += 2;
		f[n].value = (struct http_slice){ (uint32_t)(colon - text), (uint32_t)(nl - colon) };
		n++;
		line = nl + 1;
	}
	q->base = text;
	q->headers = f;
	q->nheaders = n;
}

static void test_headers(void **state)
{
	struct cfg_route present = { .name = "p", .header = "X-Canary" };
	struct cfg_route value = { .name = "v", .header = "x-canary: 1" };
	struct http_header f[8];
	struct route_request q = req("h", "/", "GET");

	assert_false(route_matches(&present, NULL, &q));  /* no fields at all */
	set_fields(&q, "Host: h\nX-Canary: 2\n", f, 8);
	assert_true(route_matches(&present, NULL, &q));
	assert_false(route_matches(&value, NULL, &q));
	set_fields(&q, "X-CANARY: 2\nx-canary: 1\n", f, 8);  /* any of several, name any case */
	assert_true(route_matches(&value, NULL, &q));
	set_fields(&q, "X-Canary: 11\nX-Canary-Not: 1\n", f, 8);
	assert_false(route_matches(&value, NULL, &q));
	set_fields(&q, "X-Canar: 1\n", f, 8);
	assert_false(route_matches(&present, NULL, &q));
}

static void test_cookies(void **state)
{
	struct cfg_route value = { .name = "v", .cookie = "canary=1" };
	struct cfg_route present = { .name = "p", .cookie = "session" };
	struct http_header f[8];
	struct route_request q = req("h", "/", "GET");

	assert_false(route_matches(&value, NULL, &q));
	set_fields(&q, "Cookie: session=abc; canary=1\n", f, 8);
	assert_true(route_matches(&value, NULL, &q));
	assert_true(route_matches(&present, NULL, &q));
	set_fields(&q, "Cookie: canary=10;session\n", f, 8);  /* a bare name counts as present */
	assert_false(route_matches(&value, NULL, &q));
	assert_true(route_matches(&present, NULL, &q));
	set_fields(&q, "cookie: a=1\nCookie: canary=1\n", f, 8);  /* several Cookie fields */
	assert_true(route_matches(&value, NULL, &q));
	assert_false(route_matches(&present, NULL, &q));
	set_fields(&q, "X-Cookie: canary=1\nCookie: xcanary=1; sessions=1\n", f, 8);
	assert_false(route_matches(&value, NULL, &q));
	assert_false(route_matches(&present, NULL, &q));
	set_fields(&q, "Cookie: \n", f, 8);  /* empty */
	assert_false(route_matches(&present, NULL, &q));
}

static void test_query(void **state)
{
	struct cfg_route value = { .name = "v", .query = "debug=1" };
	struct cfg_route present = { .name = "p", .query = "debug" };
	struct route_request q = req("h", "/", "GET");

	assert_false(route_matches(&present, NULL, &q));  /* no query */
	q.query = "a=b&debug=1";
	q.query_len = strlen(q.query);
	assert_true(route_matches(&value, NULL, &q));
	assert_true(route_matches(&present, NULL, &q));
	q.query = "debug=10&xdebug=1";
	q.query_len = strlen(q.query);
	assert_false(route_matches(&value, NULL, &q));
	assert_true(route_matches(&present, NULL, &q));
	q.query = "debug";
	q.query_len = strlen(q.query);
	assert_false(route_matches(&value, NULL, &q));
	assert_true(route_matches(&present, NULL, &q));
	q.query = "debug%3D1&debugger=1";  /* as sent: no decoding */
	q.query_len = strlen(q.query);
	assert_false(route_matches(&value, NULL, &q));
	assert_false(route_matches(&present, NULL, &q));
	q.query = "debugx=1x";
	q.query_len = 5;  /* the slice ends where it says */
	assert_true(route_matches(&present, NULL, &q));
	q.query_len = 6;
	assert_false(route_matches(&present, NULL, &q));
	q.query = "debug=1x";
	q.query_len = 7;
	assert_true(route_matches(&value, NULL, &q));
}

static void test_path_regex(void **state)
{
	struct cfg_route r = { .name = "r", .path_regex = "^/users/[0-9]+/avatar$" };
	struct cfg_route bad = { .name = "b", .path_regex = "^(a+)+$" };
	char err[256] = "";
	struct route_regex *re = route_regex_compile(r.path_regex, err, sizeof(err));
	struct route_regex *slow = route_regex_compile(bad.path_regex, err, sizeof(err));
	struct route_request q = req("h", "/users/42/avatar", "GET");
	char path[64];
	struct timespec t0, t1;

	assert_non_null(re);
	assert_non_null(slow);
	assert_true(route_matches(&r, re, &q));
	assert_false(route_matches(&r, NULL, &q));  /* no compiled regex: never matches */
	q = req("h", "/users/x/avatar", "GET");
	assert_false(route_matches(&r, re, &q));
	q = req("h", "/users/42/avatar.png", "GET");
	assert_false(route_matches(&r, re, &q));
	q = req("h", "/users/42/avatarX", "GET");
	q.path_len -= 1;  /* the path is a slice, not a C string */
	assert_true(route_matches(&r, re, &q));

	/* catastrophic backtracking stops at the match limit: no match, promptly (2^40
	 * steps without it) */
	memset(path, 'a', 40);
	path[40] = 'b';
	path[41] = '\0';
	q = req("h", path, "GET");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_false(route_matches(&bad, slow, &q));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);

	assert_null(route_regex_compile("^/users/(", err, sizeof(err)));
	assert_non_null(strstr(err, "bad regex at offset 9"));
	route_regex_free(re);
	route_regex_free(slow);
	route_regex_free(NULL);
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
	assert_int_equal(route_find(routes, NULL, 3, &q), 0);
	q = req("www.example.com", "/static/x", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), 1);
	q = req("www.example.com", "/", "GET");
	assert_int_equal(route_find(routes, NULL, 3, &q), 2);
	assert_int_equal(route_find(routes, NULL, 2, &q), -1);
	assert_int_equal(route_find(routes, NULL, 0, &q), -1);
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
		"             { name = \"f\"; respond = { status = 204; body = \"x\"; }; },\n"
		"             { name = \"g\"; path_regex = \"^/a(\"; pool = \"p\"; },\n"
		"             { name = \"h\"; header = \"X Canary\"; cookie = \"a b\"; query = \"a&b\"; pool = \"p\"; },\n"
		"             { name = \"i\"; header = \"X-Canary: 1 \"; cookie = \"=1\"; pool = \"p\"; } ); },\n"
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
	assert_true(has_error(&errs, "listeners.web.routes.g.path_regex", "bad regex at offset 4"));
	assert_true(has_error(&errs, "listeners.web.routes.h.header", "not \"Name\""));
	assert_true(has_error(&errs, "listeners.web.routes.h.cookie", "without spaces"));
	assert_true(has_error(&errs, "listeners.web.routes.h.query", "without spaces"));
	assert_true(has_error(&errs, "listeners.web.routes.i.header", "ends in a space"));
	assert_true(has_error(&errs, "listeners.web.routes.i.cookie", "\"name=value\""));
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

/* DESIGN.md's form: the conditions in a match group, the header one as { name; value; },
 * land in the route's own fields; a condition set both ways is refused. The scheme
 * condition tells plain from TLS clients. */
static void test_config_match_group(void **state)
{
	const char *ok =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\"; pool = \"p\";\n"
		"  routes = ( { name = \"to-https\"; match = { scheme = \"http\"; }; redirect = { scheme = \"https\"; status = 308; }; },\n"
		"             { name = \"canary\"; match = { host = \"app.test\"; path_prefix = \"/r\";\n"
		"                 header = { name = \"X-Canary\"; value = \"1\"; }; }; pool = \"p\"; },\n"
		"             { name = \"any\"; match = { header = { name = \"X-Debug\"; }; }; pool = \"p\"; } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	const char *bad =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\"; pool = \"p\";\n"
		"  routes = ( { name = \"r\"; host = \"b.test\"; match = { host = \"a.test\"; scheme = \"ftp\"; }; pool = \"p\"; },\n"
		"             { name = \"s\"; match = { path = \"/a\"; header = { value = \"1\"; }; }; path_prefix = \"/a\"; pool = \"p\"; } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(ok, "test.cfg", &errs);
	const struct cfg_route *r;
	struct route_request q = req("app.test", "/r/1", "GET");

	assert_non_null(cfg);
	r = cfg->listeners[0].routes;
	assert_string_equal(r[0].scheme, "http");
	assert_string_equal(r[1].host, "app.test");
	assert_string_equal(r[1].path_prefix, "/r");
	assert_string_equal(r[1].header, "X-Canary: 1");
	assert_string_equal(r[2].header, "X-Debug");
	assert_true(route_matches(&r[0], NULL, &q));   /* a plain client */
	q.https = 1;
	assert_false(route_matches(&r[0], NULL, &q));  /* a TLS client is not redirected */
	assert_int_equal(route_find(r, NULL, 3, &q), -1);  /* no X-Canary, no X-Debug */
	config_free(cfg);
	config_errors_clear(&errs);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load_string(bad, "test.cfg", &errs);
	assert_null(cfg);
	assert_true(has_error(&errs, "listeners.web.routes.r.match.host", "twice"));
	assert_true(has_error(&errs, "listeners.web.routes.r.match.scheme", "http"));
	assert_true(has_error(&errs, "listeners.web.routes.s.match.header.name", "missing required key"));
	assert_true(has_error(&errs, "listeners.web.routes.s", "not both"));
	config_errors_clear(&errs);
}

/* fulcrum -t's warnings: a route after one with no condition, and a listener pool
 * behind such a route, can never be reached. */
static void test_unreachable_warnings(void **state)
{
	const char *text =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\"; pool = \"p\";\n"
		"  routes = ( { name = \"api\"; path_prefix = \"/api/\"; pool = \"p\"; },\n"
		"             { name = \"all\"; pool = \"p\"; },\n"
		"             { name = \"late\"; path = \"/x\"; pool = \"p\"; } ); },\n"
		"  { name = \"ok\"; bind = \"127.0.0.1:2\";\n"
		"    routes = ( { name = \"a\"; path = \"/a\"; pool = \"p\"; }, { name = \"rest\"; pool = \"p\"; } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, "test.cfg", &errs);
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(cfg);
	f = open_memstream(&out, &len);
	assert_int_equal(route_unreachable_print(cfg, f), 2);
	fclose(f);
	assert_non_null(strstr(out, "test.cfg:4: listeners.web.routes.late: warning: unreachable: route 'all'"));
	assert_non_null(strstr(out, "listeners.web.pool: warning: unreachable"));
	assert_null(strstr(out, "listeners.ok"));  /* a catch-all last, and no pool: fine */
	free(out);
	config_free(cfg);
	config_errors_clear(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable_warnings),
		cmocka_unit_test(test_host_exact_and_wildcard),
		cmocka_unit_test(test_ip_hosts_and_ports),
		cmocka_unit_test(test_compares_stop_at_either_end),
		cmocka_unit_test(test_paths_and_methods),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_path_regex),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_config_routes_without_pool),
		cmocka_unit_test(test_config_match_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
