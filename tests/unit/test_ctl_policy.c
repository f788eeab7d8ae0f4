/* test_ctl_policy.c: unit tests of control/policy.c: what each token scope may call (read,
 * backends limited to pools, admin), and the cross-site rules: the content types a
 * browser form can send, a foreign Origin, and a DNS-rebinding Host are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_http.h"

static int allowed(enum token_scope scope, const char *pools, const char *method,
		   const char *path);
static int site(const char *method, size_t body_len, const char *ctype, const char *origin,
		const char *host, const char *listen, int token_required);

static void test_read_scope(void **state);
static void test_backends_scope(void **state);
static void test_admin_scope(void **state);
static void test_content_type(void **state);
static void test_origin(void **state);
static void test_host(void **state);

/* 1 when a token of scope (pools "a,b" or NULL) may make METHOD PATH. */
static int allowed(enum token_scope scope, const char *pools, const char *method,
		   const char *path)
{
	struct ctl_principal who = { .scope = scope, .pools = pools };
	struct ctl_route_match m;
	char detail[256] = "";
	enum http_method mid = !strcmp(method, "GET") ? HTTP_M_GET :
			       !strcmp(method, "PUT") ? HTTP_M_PUT :
			       !strcmp(method, "DELETE") ? HTTP_M_DELETE : HTTP_M_POST;
	int r;

	snprintf(who.name, sizeof(who.name), "t");
	ctl_route(method, path, &m);
	assert_int_equal(m.status, 0);
	r = ctl_scope_check(&who, mid, &m, detail, sizeof(detail));
	if (!r)
		assert_true(detail[0] != '\0');  /* a refusal says why */
	return r;
}

static void test_read_scope(void **state)
{
	assert_true(allowed(TOKEN_SCOPE_READ, NULL, "GET", "/v1/status"));
	assert_true(allowed(TOKEN_SCOPE_READ, NULL, "GET", "/metrics"));
	assert_true(allowed(TOKEN_SCOPE_READ, NULL, "GET", "/v1/pools/flask/backends/web-1"));
	assert_true(allowed(TOKEN_SCOPE_READ, NULL, "GET", "/v1/config/generations/3"));
	assert_false(allowed(TOKEN_SCOPE_READ, NULL, "PUT", "/v1/pools/flask/backends/web-1"));
	assert_false(allowed(TOKEN_SCOPE_READ, NULL, "DELETE", "/v1/pools/flask/backends/web-1"));
	assert_false(allowed(TOKEN_SCOPE_READ, NULL, "POST", "/v1/pools/flask/backends/web-1/drain"));
	assert_false(allowed(TOKEN_SCOPE_READ, NULL, "POST", "/v1/config/reload"));
	assert_false(allowed(TOKEN_SCOPE_READ, NULL, "POST", "/v1/config/rollback"));
}

static void test_backends_scope(void **state)
{
	const char *pools = "flask,api";

	assert_true(allowed(TOKEN_SCOPE_BACKENDS, pools, "GET", "/v1/pools/other/backends"));
	assert_true(allowed(TOKEN_SCOPE_BACKENDS, pools, "PUT", "/v1/pools/flask/backends/w"));
	assert_true(allowed(TOKEN_SCOPE_BACKENDS, pools, "DELETE", "/v1/pools/api/backends/w"));
	assert_true(allowed(TOKEN_SCOPE_BACKENDS, pools, "POST", "/v1/pools/api/backends/w/drain"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "PUT", "/v1/pools/other/backends/w"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "POST", "/v1/pools/other/backends/w/drain"));
	/* whole names only: neither a prefix nor a longer name of a listed pool */
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "PUT", "/v1/pools/fla/backends/w"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "PUT", "/v1/pools/flask2/backends/w"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "PUT", "/v1/pools/flask,api/backends/w"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "POST", "/v1/config/reload"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, pools, "POST", "/v1/config/rollback"));
	/* no pools listed: every pool */
	assert_true(allowed(TOKEN_SCOPE_BACKENDS, NULL, "PUT", "/v1/pools/other/backends/w"));
	assert_false(allowed(TOKEN_SCOPE_BACKENDS, NULL, "POST", "/v1/config/reload"));
}

static void test_admin_scope(void **state)
{
	assert_true(allowed(TOKEN_SCOPE_ADMIN, NULL, "POST", "/v1/config/reload"));
	assert_true(allowed(TOKEN_SCOPE_ADMIN, NULL, "POST", "/v1/config/rollback"));
	assert_true(allowed(TOKEN_SCOPE_ADMIN, NULL, "PUT", "/v1/pools/any/backends/w"));
	assert_true(allowed(TOKEN_SCOPE_ADMIN, NULL, "GET", "/v1/status"));
}

/* The status ctl_cross_site_check gives (0 = allowed). */
static int site(const char *method, size_t body_len, const char *ctype, const char *origin,
		const char *host, const char *listen, int token_required)
{
	struct ctl_site s = {
		.method = !strcmp(method, "GET") ? HTTP_M_GET : !strcmp(method, "PUT") ? HTTP_M_PUT :
			  HTTP_M_POST,
		.body_len = body_len, .ctype = ctype, .origin = origin, .host = host,
		.listen = listen, .token_required = token_required,
	};
	char error[64] = "", detail[512] = "";
	int st = ctl_cross_site_check(&s, error, sizeof(error), detail, sizeof(detail));

	if (st)
		assert_true(error[0] && detail[0]);
	return st;
}

static void test_content_type(void **state)
{
	const char *l = "127.0.0.1:9000", *h = "127.0.0.1:9000";

	/* what a form or a no-preflight fetch can send */
	assert_int_equal(site("POST", 10, "text/plain", NULL, h, l, 0), 415);
	assert_int_equal(site("POST", 10, "text/plain;charset=UTF-8", NULL, h, l, 0), 415);
	assert_int_equal(site("POST", 10, "application/x-www-form-urlencoded", NULL, h, l, 0), 415);
	assert_int_equal(site("POST", 10, "multipart/form-data; boundary=x", NULL, h, l, 0), 415);
	assert_int_equal(site("POST", 10, NULL, NULL, h, l, 0), 415);       /* a Blob */
	assert_int_equal(site("POST", 0, "text/plain", NULL, h, l, 0), 415);
	assert_int_equal(site("PUT", 10, "application/jsonx", NULL, h, l, 0), 415);
	/* JSON, any case, with parameters; no body and no type (curl -X POST) */
	assert_int_equal(site("POST", 10, "application/json", NULL, h, l, 0), 0);
	assert_int_equal(site("PUT", 10, "Application/JSON; charset=utf-8", NULL, h, l, 0), 0);
	assert_int_equal(site("POST", 0, NULL, NULL, h, l, 0), 0);
	assert_int_equal(site("POST", 0, "application/json", NULL, h, l, 0), 0);
	/* reads are not changes */
	assert_int_equal(site("GET", 0, "text/plain", NULL, h, l, 0), 0);
}

static void test_origin(void **state)
{
	const char *l = "127.0.0.1:9000", *j = "application/json";

	assert_int_equal(site("POST", 0, NULL, "http://evil.example", "127.0.0.1:9000", l, 0), 403);
	assert_int_equal(site("POST", 0, NULL, "null", "127.0.0.1:9000", l, 0), 403);
	assert_int_equal(site("POST", 2, j, "http://127.0.0.1:9001", "127.0.0.1:9000", l, 0), 403);
	assert_int_equal(site("POST", 2, j, "https://127.0.0.1:9000", "127.0.0.1:9000", l, 0), 403);
	assert_int_equal(site("POST", 2, j, "http://127.0.0.1:9000", NULL, l, 1), 403);
	/* the page of the listener itself (the status page) */
	assert_int_equal(site("POST", 2, j, "http://127.0.0.1:9000", "127.0.0.1:9000", l, 0), 0);
	assert_int_equal(site("POST", 0, NULL, "http://localhost:9000", "localhost:9000", l, 0), 0);
	/* with a token too: a page that stole nothing can still be refused early */
	assert_int_equal(site("PUT", 2, j, "http://evil.example", "fulcrum.svc:9000", "0.0.0.0:9000", 1), 403);
	/* a GET's Origin does not matter: a foreign page cannot read the answer */
	assert_int_equal(site("GET", 0, NULL, "http://evil.example", "127.0.0.1:9000", l, 0), 0);
}

static void test_host(void **state)
{
	const char *l = "127.0.0.1:9000";

	/* DNS rebinding: a name the attacker controls, resolved to loopback */
	assert_int_equal(site("GET", 0, NULL, NULL, "evil.example:9000", l, 0), 403);
	assert_int_equal(site("POST", 0, NULL, NULL, "evil.example", l, 0), 403);
	assert_int_equal(site("GET", 0, NULL, NULL, "localhost.evil.example:9000", l, 0), 403);
	assert_int_equal(site("GET", 0, NULL, NULL, "", l, 0), 403);
	/* IP literals, localhost and the listener's own name */
	assert_int_equal(site("GET", 0, NULL, NULL, "127.0.0.1:9000", l, 0), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, "127.0.0.2", l, 0), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, "[::1]:9000", l, 0), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, "LOCALHOST:9000", l, 0), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, "app.localhost:9000", l, 0), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, "ctl.internal:9000", "ctl.internal:9000", 0), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, NULL, l, 0), 0);   /* HTTP/1.0 */
	/* a token protects where names are expected (a Kubernetes Service); a unix socket
	 * cannot be reached by a browser */
	assert_int_equal(site("GET", 0, NULL, NULL, "fulcrum.svc:9000", "0.0.0.0:9000", 1), 0);
	assert_int_equal(site("GET", 0, NULL, NULL, "whatever", "unix:/run/f.sock", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_scope),
		cmocka_unit_test(test_backends_scope),
		cmocka_unit_test(test_admin_scope),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
