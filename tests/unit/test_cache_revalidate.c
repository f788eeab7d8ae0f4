/* test_cache_revalidate.c: unit tests of proto/cache_revalidate.c: the conditional
 * request of a background revalidation and the stored head a 304 freshens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache_policy.h"
#include "cache_revalidate.h"

static const struct http_limits lim = { 16384, 128 };

static void parse_req(const char *s, struct http_head *h)
{
	assert_int_equal(http_parse_request(s, strlen(s), &lim, h), HTTP_PARSE_DONE);
}

static void parse_resp(const char *s, struct http_head *h)
{
	assert_int_equal(http_parse_response(s, strlen(s), &lim, HTTP_M_GET, h), HTTP_PARSE_DONE);
}

static void test_request_validators(void **state)
{
	(void)state;
	static struct http_head h, o;
	const char *rq = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"client\"\r\n"
			 "Accept: */*\r\nRange: bytes=0-1\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			 "X-Request-Id: r1\r\n\r\n";
	char out[1024];
	int n;

	parse_req(rq, &h);
	n = cache_revalidation_request(rq, &h, "W/\"v1\"", "Mon, 07 Nov 1994 08:49:37 GMT", out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	assert_string_equal(out, "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-Request-Id: r1\r\n"
				 "If-None-Match: W/\"v1\"\r\nIf-Modified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n\r\n");
	/* what it makes parses as a request */
	parse_req(out, &o);
	assert_int_equal(o.method_id, HTTP_M_GET);
}

static void test_request_one_or_no_validator(void **state)
{
	(void)state;
	static struct http_head h;
	const char *rq = "GET / HTTP/1.1\r\nHost: x\r\nIf-Match: \"a\"\r\n\r\n";
	char out[256];

	parse_req(rq, &h);
	assert_true(cache_revalidation_request(rq, &h, NULL, "Mon, 07 Nov 1994 08:49:37 GMT", out, sizeof(out)) > 0);
	assert_string_equal(out, "GET / HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n\r\n");
	assert_true(cache_revalidation_request(rq, &h, "", NULL, out, sizeof(out)) > 0);
	assert_string_equal(out, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

static void test_request_refusals(void **state)
{
	(void)state;
	static struct http_head h;
	const char *rq = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char out[64];

	parse_req(rq, &h);
	/* a validator that would split the head */
	assert_int_equal(cache_revalidation_request(rq, &h, "\"a\"\r\nX: y", NULL, out, sizeof(out)), -1);
	/* too small, at every size short of the whole */
	for (size_t cap = 0; cap < strlen(rq) + 1; cap++)
		assert_int_equal(cache_revalidation_request(rq, &h, NULL, NULL, out, cap), -1);
	assert_int_equal(cache_revalidation_request(rq, &h, NULL, NULL, out, strlen(rq) + 1), (int)strlen(rq));
}

static void test_freshen(void **state)
{
	(void)state;
	static struct http_head sh, nh, fh;
	const char *stored = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			     "Cache-Control: max-age=1\r\nCache-Control: stale-while-revalidate=5\r\n"
			     "Content-Type: text/plain\r\nContent-Encoding: gzip\r\nETag: W/\"v1\"\r\n"
			     "Vary: Accept-Encoding\r\nX-App: 1\r\nContent-Length: 3\r\n\r\n";
	const char *r304 = "HTTP/1.1 304 NOT MODIFIED\r\nDate: Sun, 06 Nov 1994 08:50:00 GMT\r\n"
			   "cache-control: max-age=60\r\nETag: \"v1\"\r\nSet-Cookie: s=1\r\n"
			   "Connection: keep-alive\r\nX-New: 2\r\nContent-Type: text/html\r\n\r\n";
	char out[2048];
	int n;

	parse_resp(stored, &sh);
	parse_resp(r304, &nh);
	n = cache_freshen_head(stored, &sh, r304, &nh, out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
				 "Content-Type: text/plain\r\nContent-Encoding: gzip\r\nETag: W/\"v1\"\r\n"
				 "Vary: Accept-Encoding\r\nX-App: 1\r\nContent-Length: 3\r\n"
				 "Date: Sun, 06 Nov 1994 08:50:00 GMT\r\ncache-control: max-age=60\r\nX-New: 2\r\n\r\n");
	parse_resp(out, &fh);
	assert_int_equal(fh.status, 200);
	assert_int_equal(fh.body, HTTP_BODY_LENGTH);
	assert_int_equal(fh.content_length, 3);
	/* the freshened head's lifetime is the 304's */
	{
		static struct http_head rqh;
		const char *rq = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
		struct cache_request crq;
		struct cache_defaults d = { 0, 0, 0, 0 };
		struct cache_entry e;

		parse_req(rq, &rqh);
		cache_request_class(rq, &rqh, 0, &crq);
		assert_int_equal(cache_response_policy(&crq, out, &fh, 784111800, 784111800, &d, &e), CACHE_STORE);
		assert_int_equal(e.lifetime, 60);
		assert_int_equal(e.swr, 0);
	}
}

static void test_freshen_too_small(void **state)
{
	(void)state;
	static struct http_head sh, nh;
	const char *stored = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	const char *r304 = "HTTP/1.1 304 X\r\nExpires: Sun, 06 Nov 1994 08:50:00 GMT\r\n\r\n";
	char out[256];
	int whole;

	parse_resp(stored, &sh);
	parse_resp(r304, &nh);
	whole = cache_freshen_head(stored, &sh, r304, &nh, out, sizeof(out));
	assert_true(whole > 0);
	for (size_t cap = 0; cap < (size_t)whole + 1; cap++)
		assert_int_equal(cache_freshen_head(stored, &sh, r304, &nh, out, cap), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_validators),
		cmocka_unit_test(test_request_one_or_no_validator),
		cmocka_unit_test(test_request_refusals),
		cmocka_unit_test(test_freshen),
		cmocka_unit_test(test_freshen_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
