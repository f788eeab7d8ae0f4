/* test_ctl_routes.c: unit tests of control/routes.c: every endpoint of the control API is
 * routed with its captures, wrong methods get 405 with Allow, the rest 404; query lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_http.h"

static void expect_route(const char *method, const char *path, enum ctl_route_id id,
			 const char *pool, const char *name, const char *gen);

static void test_every_endpoint(void **state);
static void test_public_probes(void **state);
static void test_not_found(void **state);
static void test_wrong_method(void **state);
static void test_captures_are_raw(void **state);
static void test_long_segment(void **state);
static void test_query(void **state);

static void expect_route(const char *method, const char *path, enum ctl_route_id id,
			 const char *pool, const char *name, const char *gen)
{
	struct ctl_route_match m;

	ctl_route(method, path, &m);
	if (m.status != 0 || m.id != id)
		fail_msg("%s %s: expected route %d, got id %d status %d", method, path, id, m.id,
			 m.status);
	assert_string_equal(m.pool, pool ? pool : "");
	assert_string_equal(m.name, name ? name : "");
	assert_string_equal(m.gen, gen ? gen : "");
}

static void test_every_endpoint(void **state)
{
	expect_route("GET", "/", CTL_R_PAGE, NULL, NULL, NULL);
	expect_route("GET", "/healthz", CTL_R_HEALTHZ, NULL, NULL, NULL);
	expect_route("GET", "/readyz", CTL_R_READYZ, NULL, NULL, NULL);
	expect_route("GET", "/metrics", CTL_R_METRICS, NULL, NULL, NULL);
	expect_route("GET", "/v1/status", CTL_R_STATUS, NULL, NULL, NULL);
	expect_route("GET", "/v1/pools/flask/backends", CTL_R_BACKENDS, "flask", NULL, NULL);
	expect_route("GET", "/v1/pools/flask/backends/web-1", CTL_R_BACKEND, "flask", "web-1", NULL);
	expect_route("PUT", "/v1/pools/flask/backends/web-1", CTL_R_BACKEND, "flask", "web-1", NULL);
	expect_route("DELETE", "/v1/pools/flask/backends/web-1", CTL_R_BACKEND, "flask", "web-1", NULL);
	expect_route("POST", "/v1/pools/k8s/backends/pod.a_b/drain", CTL_R_DRAIN, "k8s", "pod.a_b", NULL);
	expect_route("POST", "/v1/config/reload", CTL_R_RELOAD, NULL, NULL, NULL);
	expect_route("GET", "/v1/config/generations", CTL_R_GENERATIONS, NULL, NULL, NULL);
	expect_route("GET", "/v1/config/generations/42", CTL_R_GENERATION, NULL, NULL, "42");
	expect_route("GET", "/v1/config/diff", CTL_R_DIFF, NULL, NULL, NULL);
	expect_route("POST", "/v1/config/rollback", CTL_R_ROLLBACK, NULL, NULL, NULL);
	expect_route("GET", "/v1/stats", CTL_R_STATS, NULL, NULL, NULL);
	expect_route("GET", "/v1/cluster", CTL_R_CLUSTER, NULL, NULL, NULL);
}

static void test_public_probes(void **state)
{
	struct ctl_route_match m;

	ctl_route("GET", "/healthz", &m);
	assert_true(m.public);
	ctl_route("GET", "/readyz", &m);
	assert_true(m.public);
	ctl_route("GET", "/", &m);  /* the status page: it asks for the token itself */
	assert_true(m.public);
	/* everything else needs the token, metrics included (control.metrics_public opens
	 * /metrics in control/request.c, not in the route table) */
	ctl_route("GET", "/metrics", &m);
	assert_false(m.public);
	ctl_route("GET", "/v1/status", &m);
	assert_false(m.public);
	ctl_route("PUT", "/v1/pools/a/backends/b", &m);
	assert_false(m.public);
}

static void test_not_found(void **state)
{
	static const char *const paths[] = {
		"", "//", "/index.html", "/v1", "/v1/", "/v1/status/", "/v1/pools", "/v1/pools/flask",
		"/v1/pools//backends", "/v1/pools/flask/backends/", "/v1/pools/flask/backends//drain",
		"/v1/pools/flask/backends/web-1/drain/x", "/v2/status", "/V1/status", "/healthz/x",
		"//v1/status", "/v1/config/generations/", "v1/status",
	};
	struct ctl_route_match m;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ctl_route("GET", paths[i], &m);
		if (m.status != 404 || m.id != CTL_R_NONE)
			fail_msg("'%s': expected 404, got status %d id %d", paths[i], m.status, m.id);
	}
}

static void test_wrong_method(void **state)
{
	struct ctl_route_match m;

	ctl_route("POST", "/v1/pools/flask/backends/web-1", &m);
	assert_int_equal(m.status, 405);
	assert_int_equal(m.id, CTL_R_NONE);
	assert_string_equal(m.allow, "GET, PUT, DELETE");
	ctl_route("GET", "/v1/config/reload", &m);
	assert_int_equal(m.status, 405);
	assert_string_equal(m.allow, "POST");
	ctl_route("DELETE", "/v1/status", &m);
	assert_int_equal(m.status, 405);
	ctl_route("get", "/v1/status", &m);  /* methods are case-sensitive */
	assert_int_equal(m.status, 405);
	ctl_route("POST", "/", &m);
	assert_int_equal(m.status, 405);
	assert_string_equal(m.allow, "GET");
	ctl_route("PUT", "/v1/pools/flask/backends/web-1/drain", &m);
	assert_int_equal(m.status, 405);
	assert_string_equal(m.allow, "POST");
}

/* Captures are handed over as written; the handlers apply the name rule (400). */
static void test_captures_are_raw(void **state)
{
	expect_route("PUT", "/v1/pools/fl%20ask/backends/we$b", CTL_R_BACKEND, "fl%20ask", "we$b", NULL);
	expect_route("GET", "/v1/config/generations/abc", CTL_R_GENERATION, NULL, NULL, "abc");
}

static void test_long_segment(void **state)
{
	char path[1024], seg[400];
	struct ctl_route_match m;

	memset(seg, 'a', sizeof(seg) - 1);
	seg[sizeof(seg) - 1] = '\0';
	snprintf(path, sizeof(path), "/v1/pools/%s/backends", seg);
	ctl_route("GET", path, &m);
	assert_int_equal(m.status, 404);
	seg[CTL_SEGMENT_MAX - 1] = '\0';
	snprintf(path, sizeof(path), "/v1/pools/%s/backends", seg);
	ctl_route("GET", path, &m);
	assert_int_equal(m.status, 0);
	assert_int_equal(strlen(m.pool), CTL_SEGMENT_MAX - 1);
}

static void test_query(void **state)
{
	char v[16];

	assert_int_equal(ctl_query_get("wait=healthy&timeout=30", "wait", v, sizeof(v)), 1);
	assert_string_equal(v, "healthy");
	assert_int_equal(ctl_query_get("wait=healthy&timeout=30", "timeout", v, sizeof(v)), 1);
	assert_string_equal(v, "30");
	assert_int_equal(ctl_query_get("wait=healthy", "timeout", v, sizeof(v)), 0);
	assert_int_equal(ctl_query_get("", "wait", v, sizeof(v)), 0);
	/* a key is matched whole, not by prefix */
	assert_int_equal(ctl_query_get("waiting=1", "wait", v, sizeof(v)), 0);
	assert_int_equal(ctl_query_get("force", "force", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(ctl_query_get("a=1&&force=1", "force", v, sizeof(v)), 1);
	assert_string_equal(v, "1");
	assert_int_equal(ctl_query_get("w=a%2Fb+c", "w", v, sizeof(v)), 1);
	assert_string_equal(v, "a/b c");
	assert_int_equal(ctl_query_get("w=%zz", "w", v, sizeof(v)), -1);
	assert_int_equal(ctl_query_get("w=%2", "w", v, sizeof(v)), -1);
	assert_int_equal(ctl_query_get("w=%00", "w", v, sizeof(v)), -1);
	assert_int_equal(ctl_query_get("w=0123456789abcdefg", "w", v, sizeof(v)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_endpoint),
		cmocka_unit_test(test_public_probes),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_wrong_method),
		cmocka_unit_test(test_captures_are_raw),
		cmocka_unit_test(test_long_segment),
		cmocka_unit_test(test_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
