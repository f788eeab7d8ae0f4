/* test_route_index.c: unit tests of core/route_index.c: the index answers exactly as
 * route_find (core/route.c, the linear scan) on many generated route sets and requests
 * (seeded, bounded), and on hand-picked cases where host case, ports, final dots,
 * wildcards, exact paths against prefixes and sets over 64 routes meet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "route.h"
#include "route_index.h"

#define MAX_ROUTES 140
#define SETS 400
#define REQUESTS_PER_SET 300

static uint64_t rng_state;

/* xorshift64*: the same sequence on every machine for a seed. */
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

/* One of the n strings of v, or NULL half of the time when may_null (not const: a
 * struct cfg_route's fields are not; nothing writes through them). */
static char *pick(const char *const *v, size_t n, int may_null)
{
	if (may_null && rnd(2) == 0)
		return NULL;
	return (char *)v[rnd((uint32_t)n)];
}
#define PICK(v, may_null) pick(v, sizeof(v) / sizeof(v[0]), may_null)

static const char *const route_hosts[] = {
	"a.test", "A.Test", "b.test", "*.test", "*.a.test", "*.A.TEST", "x.a.test", "127.0.0.1",
	"a.test.", "h0.test", "h1.test", "h2.test", "*", "test",
};
static const char *const route_paths[] = { "/", "/a", "/a/", "/a/b", "/ab", "/b", "", "/static/x" };
static const char *const route_prefixes[] = { "/", "/a", "/a/", "/ab", "/a/b", "/b/", "/static/", "" };
static const char *const methods[] = { "GET", "POST" };
static const char *const pairs[] = { "x", "x=1" };
static const char *const headers[] = { "X-A", "X-A: 1" };
static const char *const regexes[] = { "^/a", "b$", "^/static/[a-z]+$" };

static const char *const req_hosts[] = {
	"", "a.test", "A.test:8080", "a.test.", "a.test..", "b.test", "x.a.test", "y.x.A.test",
	"test", ".test", "127.0.0.1:80", "[::1]:80", "h0.test", "H1.TEST.", "h2.test:1", "*",
	"a.test:", "a.test.:443",
};
static const char *const req_paths[] = {
	"", "/", "/a", "/a/", "/a/b", "/a/bc", "/ab", "/abc", "/b", "/b/", "/b/x", "/static/x",
	"/static/", "/static/x/y", "*", "/A",
};
static const char *const req_methods[] = { "GET", "POST", "PUT" };
static const char *const req_queries[] = { "", "x", "x=1", "y=2&x", "x=2" };

/* A random route: each condition set or not, from small vocabularies that overlap. */
static void random_route(struct cfg_route *r)
{
	memset(r, 0, sizeof(*r));
	r->name = "r";
	r->host = rnd(3) ? PICK(route_hosts, 1) : NULL;
	if (rnd(4) == 0)
		r->path = PICK(route_paths, 0);
	else if (rnd(3))
		r->path_prefix = PICK(route_prefixes, 0);
	if (rnd(8) == 0)
		r->path_prefix = PICK(route_prefixes, 0);  /* both: the loader refuses it, the matcher takes it */
	r->method = rnd(4) == 0 ? PICK(methods, 0) : NULL;
	r->query = rnd(6) == 0 ? PICK(pairs, 0) : NULL;
	r->header = rnd(8) == 0 ? PICK(headers, 0) : NULL;
	r->path_regex = rnd(10) == 0 ? PICK(regexes, 0) : NULL;
}

/* A random text of up to 6 bytes over a few letters: hosts and paths no route names. */
static void random_text(char *buf, const char *alphabet)
{
	size_t n = rnd(7), i, k = strlen(alphabet);

	for (i = 0; i < n; i++)
		buf[i] = alphabet[rnd((uint32_t)k)];
	buf[n] = '\0';
}

/* Whether the index and route_find agree for routes[0..n) on one random request. */
static void check_request(const struct route_index *ix, const struct cfg_route *routes,
			  struct route_regex *const *res, size_t n)
{
	static const char base[] = "X-A1X-A2";
	struct http_header f[2] = {
		{ .name = { 0, 3 }, .value = { 3, 1 } },
		{ .name = { 4, 3 }, .value = { 7, 1 } },
	};
	char host[8], path[8];
	const char *h, *p;
	struct route_request rq;
	int want, got;

	if (rnd(4) == 0) {
		random_text(host, "aAb.t:1");
		h = host;
	} else {
		h = PICK(req_hosts, 0);
	}
	if (rnd(4) == 0) {
		random_text(path, "/abs");
		p = path;
	} else {
		p = PICK(req_paths, 0);
	}
	rq = (struct route_request){ .host = h, .host_len = strlen(h), .path = p, .path_len = strlen(p),
				     .method = PICK(req_methods, 0), .base = base, .headers = f + rnd(2),
				     .nheaders = rnd(2) };
	rq.method_len = strlen(rq.method);
	rq.query = PICK(req_queries, 0);
	rq.query_len = strlen(rq.query);
	want = route_find(routes, res, n, &rq);
	got = route_index_find(ix, routes, res, &rq);
	if (want != got)
		fail_msg("%zu routes, host '%s' path '%s' method %s query '%s': route_find %d, index %d", n, h, p,
			 rq.method, rq.query, want, got);
}

static void test_index_agrees_with_route_find(void **state)
{
	struct cfg_route *routes = calloc(MAX_ROUTES, sizeof(*routes));
	struct route_regex **res = calloc(MAX_ROUTES, sizeof(*res));
	char err[256];
	size_t set, i, n;
	int k;

	assert_non_null(routes);
	assert_non_null(res);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (set = 0; set < SETS; set++) {
		struct route_index *ix;

		/* mostly small sets, some over one and two 64-bit words */
		n = set % 10 == 0 ? 65 + rnd(MAX_ROUTES - 65) : rnd(40);
		for (i = 0; i < n; i++) {
			random_route(&routes[i]);
			res[i] = routes[i].path_regex ? route_regex_compile(routes[i].path_regex, err, sizeof(err)) : NULL;
			assert_true(!routes[i].path_regex || res[i]);
		}
		ix = route_index_build(routes, n, err, sizeof(err));
		assert_non_null(ix);
		for (k = 0; k < REQUESTS_PER_SET; k++)
			check_request(ix, routes, res, n);
		route_index_free(ix);
		for (i = 0; i < n; i++)
			route_regex_free(res[i]);
	}
	free(res);
	free(routes);
}

static struct route_request req(const char *host, const char *path)
{
	return (struct route_request){ host, strlen(host), path, strlen(path), "GET", 3, "", 0, NULL, NULL, 0, 0 };
}

/* Hand-picked: the order of config wins across the host table, wildcards and prefixes. */
static void test_index_cases(void **state)
{
	const struct cfg_route routes[] = {
		{ .name = "api-v1", .host = "API.example.com", .path_prefix = "/v1/" },
		{ .name = "wild-static", .host = "*.example.com", .path_prefix = "/static/" },
		{ .name = "robots", .path = "/robots.txt" },
		{ .name = "api", .host = "api.example.com" },
		{ .name = "static-any", .path_prefix = "/static/" },
		{ .name = "exact-root", .path = "/" },
	};
	size_t n = sizeof(routes) / sizeof(routes[0]);
	struct route_index *ix;
	struct route_request q;
	char err[256];

	ix = route_index_build(routes, n, err, sizeof(err));
	assert_non_null(ix);
	q = req("api.example.com:443", "/v1/users");
	assert_int_equal(route_index_find(ix, routes, NULL, &q), 0);
	q = req("Api.Example.Com.", "/static/a.css");  /* the wildcard, before the exact host's catch-all */
	assert_int_equal(route_index_find(ix, routes, NULL, &q), 1);
	q = req("api.example.com", "/robots.txt");
	assert_int_equal(route_index_find(ix, routes, NULL, &q), 2);
	q = req("api.example.com", "/robots.txt2");
	assert_int_equal(route_index_find(ix, routes, NULL, &q), 3);
	q = req("example.com", "/static/a.css");  /* the wildcard needs a label in front */
	assert_int_equal(route_index_find(ix, routes, NULL, &q), 4);
	q = req("other.test", "/");
	assert_int_equal(route_index_find(ix, routes, NULL, &q), 5);
	q = req("other.test", "/x");
	assert_int_equal(route_index_find(ix, routes, NULL, &q), -1);
	q = req("", "");  /* no Host, the empty path ("http://host" in absolute form) */
	assert_int_equal(route_index_find(ix, routes, NULL, &q), -1);
	route_index_free(ix);
}

/* The benchmark's shape (bench/routes.sh), 100 routes so that the last ones are in a
 * second word of the sets: hosts h0..h19 x prefixes /a0/../a4/. */
static void test_index_two_words(void **state)
{
	static char hosts[100][24], prefixes[100][16];
	struct cfg_route routes[100];
	struct route_index *ix;
	struct route_request q;
	char err[256], host[24], path[24];
	int i, j;

	memset(routes, 0, sizeof(routes));
	for (i = 0; i < 20; i++)
		for (j = 0; j < 5; j++) {
			struct cfg_route *r = &routes[i * 5 + j];
			snprintf(hosts[i * 5 + j], sizeof(hosts[0]), "h%d.test", i);
			snprintf(prefixes[i * 5 + j], sizeof(prefixes[0]), "/a%d/", j);
			r->name = r->host = hosts[i * 5 + j];
			r->path_prefix = prefixes[i * 5 + j];
		}
	ix = route_index_build(routes, 100, err, sizeof(err));
	assert_non_null(ix);
	for (i = 0; i < 21; i++)
		for (j = 0; j < 6; j++) {
			snprintf(host, sizeof(host), "h%d.test", i);
			snprintf(path, sizeof(path), "/a%d/x", j);
			q = req(host, path);
			assert_int_equal(route_index_find(ix, routes, NULL, &q),
					 i < 20 && j < 5 ? i * 5 + j : -1);
			assert_int_equal(route_find(routes, NULL, 100, &q), route_index_find(ix, routes, NULL, &q));
		}
	route_index_free(ix);
}

static void test_index_limits(void **state)
{
	struct cfg_route r = { .name = "r" };
	struct route_request q = req("a", "/");
	struct route_index *ix;
	char err[256];

	ix = route_index_build(&r, ROUTE_INDEX_MAX + 1, err, sizeof(err));
	assert_null(ix);
	assert_non_null(strstr(err, "at most"));
	ix = route_index_build(NULL, 0, err, sizeof(err));  /* no routes: none matches */
	assert_non_null(ix);
	assert_int_equal(route_index_find(ix, NULL, NULL, &q), -1);
	route_index_free(ix);
	route_index_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_agrees_with_route_find),
		cmocka_unit_test(test_index_cases),
		cmocka_unit_test(test_index_two_words),
		cmocka_unit_test(test_index_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
