/* test_cache_policy.c: unit tests of the cache policy (proto/cache_policy.c,
 * proto/cache_vary.c, proto/http_date.c): HTTP-dates, request classes, storability and
 * freshness arithmetic, entry states, Vary keys, conditional requests and tags. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache_policy.h"
#include "cache_vary.h"
#include "http_date.h"

static const struct http_limits lim = { 16384, 128 };
static struct http_head RQ, RS;
static char rqbuf[8192], rsbuf[8192];

#define T0 784111777LL  /* Sun, 06 Nov 1994 08:49:37 GMT */

/* Parses "GET / HTTP/1.1\r\nHost: a\r\n" + extra + "\r\n" into RQ. */
static void req(const char *method, const char *extra)
{
	int n = snprintf(rqbuf, sizeof(rqbuf), "%s / HTTP/1.1\r\nHost: a\r\n%s\r\n", method, extra);

	assert_int_equal(http_parse_request(rqbuf, (size_t)n, &lim, &RQ), HTTP_PARSE_DONE);
}

/* Parses "HTTP/1.1 <status> X\r\n" + extra + "Content-Length: 0\r\n\r\n" into RS. */
static void resp(int status, const char *extra)
{
	int n = snprintf(rsbuf, sizeof(rsbuf), "HTTP/1.1 %d X\r\n%sContent-Length: 0\r\n\r\n",
			 status, extra);

	assert_int_equal(http_parse_response(rsbuf, (size_t)n, &lim, HTTP_M_GET, &RS), HTTP_PARSE_DONE);
}

static struct cache_request classify(const char *method, const char *extra, int allow_auth)
{
	struct cache_request rq;

	req(method, extra);
	cache_request_class(rqbuf, &RQ, allow_auth, &rq);
	return rq;
}

static const struct cache_defaults no_defaults = { 0, 0, 0, 0 };

/* Stores resp(status, extra) for a plain GET at request 1000, response 1000. */
static int policy(int status, const char *extra, const struct cache_defaults *d, struct cache_entry *e)
{
	struct cache_request rq = classify("GET", "", 0);

	resp(status, extra);
	return cache_response_policy(&rq, rsbuf, &RS, 1000, 1000, d ? d : &no_defaults, e);
}

static int64_t date_of(const char *s)
{
	int64_t t = -1;

	assert_int_equal(http_date_parse(s, strlen(s), &t), 0);
	return t;
}

static int date_bad(const char *s)
{
	int64_t t;

	return http_date_parse(s, strlen(s), &t) == -1;
}

static void test_date_forms(void **state)
{
	(void)state;
	assert_int_equal(date_of("Sun, 06 Nov 1994 08:49:37 GMT"), T0);
	assert_int_equal(date_of("Sunday, 06-Nov-94 08:49:37 GMT"), T0);
	assert_int_equal(date_of("Sun Nov  6 08:49:37 1994"), T0);
	assert_int_equal(date_of("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	assert_int_equal(date_of("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL);
	assert_int_equal(date_of("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
	/* second 60 is read as 59 */
	assert_int_equal(date_of("Sun, 06 Nov 1994 08:49:60 GMT"), T0 + 22);
	/* RFC 850 two-digit years: 00-69 are 20xx, 70-99 are 19xx */
	assert_int_equal(date_of("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
	assert_int_equal(date_of("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
	assert_int_equal(date_of("Sun Nov 16 08:49:37 1994"), T0 + 10 * 86400);
}

static void test_date_invalid(void **state)
{
	(void)state;
	assert_true(date_bad(""));
	assert_true(date_bad("0"));
	assert_true(date_bad("-1"));
	assert_true(date_bad("Sun, 06 Nov 1994 08:49:37 UTC"));
	assert_true(date_bad("Sun, 06 Nov 1994 08:49:37 GMT "));
	assert_true(date_bad(" Sun, 06 Nov 1994 08:49:37 GMT"));
	assert_true(date_bad("Xyz, 06 Nov 1994 08:49:37 GMT"));
	assert_true(date_bad("Sun, 06 nov 1994 08:49:37 GMT"));
	assert_true(date_bad("Sun, 6 Nov 1994 08:49:37 GMT"));
	assert_true(date_bad("Sun, 31 Nov 1994 08:49:37 GMT"));
	assert_true(date_bad("Sun, 29 Feb 1900 08:49:37 GMT"));
	assert_true(date_bad("Thu, 29 Feb 2001 08:49:37 GMT"));
	assert_true(date_bad("Mon, 29 Feb 2100 08:49:37 GMT"));
	assert_true(date_bad("Sun, 00 Nov 1994 08:49:37 GMT"));
	assert_true(date_bad("Sun, 06 Nov 1969 08:49:37 GMT"));
	assert_true(date_bad("Sun, 06 Nov 1994 24:00:00 GMT"));
	assert_true(date_bad("Sun, 06 Nov 1994 08:60:00 GMT"));
	assert_true(date_bad("Sun, 06 Nov 1994 08:49:61 GMT"));
	assert_true(date_bad("Sun, 06 Nov 19x4 08:49:37 GMT"));
	assert_true(date_bad("Sun, 06-Nov-94 08:49:37 GMT"));
	assert_true(date_bad("Sunday, 06-Nov-1994 08:49:37 GMT"));
	assert_true(date_bad("Sundae, 06-Nov-94 08:49:37 GMT"));
	assert_true(date_bad("Sun Nov 6 08:49:37 1994"));
	assert_true(date_bad("Sun Nov  6 08:49:37 1994 "));
}

static void test_request_bypass(void **state)
{
	(void)state;
	assert_int_equal(classify("GET", "", 0).bypass, CACHE_BYPASS_NONE);
	assert_int_equal(classify("HEAD", "", 0).bypass, CACHE_BYPASS_NONE);
	assert_int_equal(classify("POST", "Content-Length: 0\r\n", 0).bypass, CACHE_BYPASS_METHOD);
	assert_int_equal(classify("OPTIONS", "", 0).bypass, CACHE_BYPASS_METHOD);
	assert_int_equal(classify("GET", "Cache-Control: max-age=5, NO-STORE\r\n", 0).bypass,
			 CACHE_BYPASS_NO_STORE);
	assert_int_equal(classify("GET", "Range: bytes=0-1\r\n", 0).bypass, CACHE_BYPASS_RANGE);
	assert_int_equal(classify("GET", "If-Match: \"a\"\r\n", 0).bypass, CACHE_BYPASS_PRECONDITION);
	assert_int_equal(classify("GET", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 0).bypass,
			 CACHE_BYPASS_PRECONDITION);
	assert_int_equal(classify("GET", "Authorization: Basic eA==\r\n", 0).bypass,
			 CACHE_BYPASS_AUTHORIZATION);
	struct cache_request rq = classify("GET", "Authorization: Basic eA==\r\n", 1);
	assert_int_equal(rq.bypass, CACHE_BYPASS_NONE);
	assert_true(rq.flags & CACHE_RQ_AUTHORIZATION);
}

static void test_request_directives(void **state)
{
	struct cache_request rq;

	(void)state;
	rq = classify("GET", "", 0);
	assert_int_equal(rq.flags, 0);
	assert_int_equal(rq.max_age, -1);
	assert_int_equal(rq.max_stale, -1);
	assert_int_equal(rq.min_fresh, 0);
	assert_true(classify("GET", "Cache-Control: no-cache\r\n", 0).flags & CACHE_RQ_REVALIDATE);
	assert_true(classify("GET", "Cache-Control: max-age=0\r\n", 0).flags & CACHE_RQ_REVALIDATE);
	assert_true(classify("GET", "Cache-Control: max-age=x\r\n", 0).flags & CACHE_RQ_REVALIDATE);
	assert_true(classify("GET", "Pragma: no-cache\r\n", 0).flags & CACHE_RQ_REVALIDATE);
	/* Pragma is ignored once there is a Cache-Control */
	assert_false(classify("GET", "Pragma: no-cache\r\nCache-Control: max-age=9\r\n", 0).flags &
		     CACHE_RQ_REVALIDATE);
	assert_true(classify("GET", "Cache-Control: only-if-cached\r\n", 0).flags & CACHE_RQ_ONLY_IF_CACHED);
	rq = classify("GET", "Cache-Control: max-age=30, min-fresh=10\r\nCache-Control: max-stale\r\n", 0);
	assert_int_equal(rq.flags, 0);
	assert_int_equal(rq.max_age, 30);
	assert_int_equal(rq.min_fresh, 10);
	assert_int_equal(rq.max_stale, CACHE_DELTA_MAX);
	assert_int_equal(classify("GET", "Cache-Control: max-stale=\"7\"\r\n", 0).max_stale, 7);
}

static void test_freshness_precedence(void **state)
{
	struct cache_entry e;

	(void)state;
	assert_int_equal(policy(200, "Cache-Control: max-age=60\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 60);
	assert_int_equal(e.flags, 0);
	assert_int_equal(policy(200, "Cache-Control: max-age=60, s-maxage=5\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 5);
	assert_int_equal(policy(200, "Expires: Sun, 06 Nov 1994 08:59:37 GMT\r\n"
				"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nCache-Control: max-age=7\r\n",
				NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 7);
	/* Expires minus Date, not minus the local clock */
	assert_int_equal(policy(200, "Expires: Sun, 06 Nov 1994 08:59:37 GMT\r\n"
				"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 600);
	/* an Expires in the past, invalid or given twice: stored, but stale */
	assert_int_equal(policy(200, "Expires: Sun, 06 Nov 1994 08:39:37 GMT\r\n"
				"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	assert_int_equal(policy(200, "Expires: 0\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	assert_int_equal(policy(200, "Expires: Sun, 06 Nov 1994 08:59:37 GMT\r\n"
				"Expires: Sun, 06 Nov 1994 08:59:37 GMT\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	/* no Date: the Expires counts from the response time */
	assert_int_equal(policy(200, "Expires: Thu, 01 Jan 1970 00:20:00 GMT\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 200);
}

static void test_freshness_values(void **state)
{
	struct cache_entry e;

	(void)state;
	assert_int_equal(policy(200, "Cache-Control: max-age=99999999999999999999999\r\n", NULL, &e),
			 CACHE_STORE);
	assert_int_equal(e.lifetime, CACHE_DELTA_MAX);
	assert_int_equal(policy(200, "Cache-Control: max-age=2147483649\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, CACHE_DELTA_MAX);
	assert_int_equal(policy(200, "Cache-Control: max-age=\"10\"\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 10);
	assert_int_equal(policy(200, "cache-control: MAX-AGE = 10\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 10);
	/* the same value twice is fine; two values or a bad one make it stale */
	assert_int_equal(policy(200, "Cache-Control: max-age=10\r\nCache-Control: max-age=10\r\n", NULL, &e),
			 CACHE_STORE);
	assert_int_equal(e.lifetime, 10);
	assert_int_equal(policy(200, "Cache-Control: max-age=10, max-age=20\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	assert_int_equal(policy(200, "Cache-Control: max-age=-1\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	assert_int_equal(policy(200, "Cache-Control: max-age=1e3\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	assert_int_equal(policy(200, "Cache-Control: max-age\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 0);
	/* a comma inside a quoted argument does not split the list */
	assert_int_equal(policy(200, "Cache-Control: foo=\"a, no-store\", max-age=3\r\n", NULL, &e),
			 CACHE_STORE);
	assert_int_equal(e.lifetime, 3);
}

static void test_not_storable(void **state)
{
	struct cache_defaults d = { 60, 0, 0, 0 };
	struct cache_entry e;
	char many[1024];
	int i, n = 0;

	(void)state;
	assert_int_equal(policy(200, "Cache-Control: no-store, max-age=60\r\n", NULL, &e),
			 CACHE_NOSTORE_NO_STORE);
	assert_int_equal(policy(200, "Cache-Control: private, max-age=60\r\n", NULL, &e),
			 CACHE_NOSTORE_PRIVATE);
	assert_int_equal(policy(200, "Cache-Control: private=\"x-a\", max-age=60\r\n", NULL, &e),
			 CACHE_NOSTORE_PRIVATE);
	assert_int_equal(policy(200, "Cache-Control: max-age=60\r\nSet-Cookie: a=b\r\n", NULL, &e),
			 CACHE_NOSTORE_SET_COOKIE);
	d.allow_set_cookie = 1;
	assert_int_equal(policy(200, "Cache-Control: max-age=60\r\nSet-Cookie: a=b\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(policy(200, "Cache-Control: max-age=60\r\nVary: *\r\n", NULL, &e), CACHE_NOSTORE_VARY);
	for (i = 0; i < CACHE_VARY_MAX + 1; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, "Vary: x-%d\r\n", i);
	assert_int_equal(policy(200, many, NULL, &e), CACHE_NOSTORE_VARY);
	/* statuses: not final, partial, 304, and not cacheable by default without freshness */
	assert_int_equal(policy(206, "Cache-Control: max-age=60\r\n", NULL, &e), CACHE_NOSTORE_STATUS);
	assert_int_equal(policy(600, "Cache-Control: max-age=60\r\n", NULL, &e), CACHE_NOSTORE_STATUS);
	assert_int_equal(policy(599, "Cache-Control: max-age=60\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(policy(500, "", &d, &e), CACHE_NOSTORE_STATUS);
	assert_int_equal(policy(302, "", &d, &e), CACHE_NOSTORE_STATUS);
	assert_int_equal(policy(500, "Cache-Control: max-age=60\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(policy(500, "Cache-Control: public\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 60);
	/* no freshness information: the default TTL, or not stored when it is 0 */
	assert_int_equal(policy(200, "", NULL, &e), CACHE_NOSTORE_NO_FRESHNESS);
	assert_int_equal(policy(404, "ETag: \"a\"\r\n", NULL, &e), CACHE_NOSTORE_NO_FRESHNESS);
	assert_int_equal(policy(404, "", &d, &e), CACHE_STORE);
	assert_int_equal(e.lifetime, 60);
	assert_int_equal(e.flags, CACHE_E_HEURISTIC);
	/* no-cache: stored, revalidated before every use */
	assert_int_equal(policy(200, "Cache-Control: no-cache\r\nETag: \"v\"\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.flags, CACHE_E_NO_CACHE | CACHE_E_NO_STALE);
	assert_int_equal(e.lifetime, 0);
}

static void test_not_storable_request(void **state)
{
	struct cache_request rq;
	struct cache_entry e;

	(void)state;
	resp(200, "Cache-Control: max-age=60\r\n");
	rq = classify("HEAD", "", 0);
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, 0, 0, &no_defaults, &e), CACHE_NOSTORE_REQUEST);
	rq = classify("POST", "Content-Length: 0\r\n", 0);
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, 0, 0, &no_defaults, &e), CACHE_NOSTORE_REQUEST);
}

/* RFC 9111 3.5: an answer to Authorization needs public, s-maxage or must-revalidate. */
static void test_authorization(void **state)
{
	static const char *const ok[] = { "Cache-Control: public, max-age=5\r\n",
					  "Cache-Control: s-maxage=5\r\n",
					  "Cache-Control: must-revalidate, max-age=5\r\n" };
	struct cache_request rq;
	struct cache_entry e;
	size_t i;

	(void)state;
	rq = classify("GET", "Authorization: Bearer x\r\n", 1);
	resp(200, "Cache-Control: max-age=5\r\n");
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, 0, 0, &no_defaults, &e),
			 CACHE_NOSTORE_AUTHORIZATION);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		resp(200, ok[i]);
		assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, 0, 0, &no_defaults, &e), CACHE_STORE);
	}
}

static void test_initial_age(void **state)
{
	struct cache_request rq = classify("GET", "", 0);
	struct cache_entry e;

	(void)state;
	/* apparent age: the Date is 10 s before the response arrived, less the second of
	 * the clocks' resolution */
	resp(200, "Cache-Control: max-age=60\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, T0 + 9, T0 + 10, &no_defaults, &e), CACHE_STORE);
	assert_int_equal(e.initial_age, 9);
	assert_int_equal(e.response_time, T0 + 10);
	/* one second apart is within the resolution: no age */
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, T0 + 1, T0 + 1, &no_defaults, &e), CACHE_STORE);
	assert_int_equal(e.initial_age, 0);
	/* corrected Age: Age plus the response delay, when larger */
	resp(200, "Cache-Control: max-age=60\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nAge: 100\r\n");
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, T0 - 2, T0, &no_defaults, &e), CACHE_STORE);
	assert_int_equal(e.initial_age, 102);
	/* a Date in the future counts as 0; a bad Age is ignored; a huge one is capped */
	resp(200, "Cache-Control: max-age=60\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nAge: x\r\n");
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, T0 - 100, T0 - 100, &no_defaults, &e),
			 CACHE_STORE);
	assert_int_equal(e.initial_age, 0);
	resp(200, "Cache-Control: max-age=60\r\nAge: 123456789012345678901234567890\r\n");
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, 0, INT64_MAX, &no_defaults, &e), CACHE_STORE);
	assert_int_equal(e.initial_age, CACHE_DELTA_MAX);
	/* several Age fields: the first counts */
	resp(200, "Cache-Control: max-age=60\r\nAge: 5, 9\r\nAge: 7\r\n");
	assert_int_equal(cache_response_policy(&rq, rsbuf, &RS, 50, 50, &no_defaults, &e), CACHE_STORE);
	assert_int_equal(e.initial_age, 5);
}

static void test_stale_windows(void **state)
{
	struct cache_defaults d = { 0, 30, 300, 0 };
	struct cache_entry e;

	(void)state;
	assert_int_equal(policy(200, "Cache-Control: max-age=60\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(e.swr, 30);
	assert_int_equal(e.sie, 300);
	assert_int_equal(policy(200, "Cache-Control: max-age=60, stale-while-revalidate=5, "
				"stale-if-error=0\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(e.swr, 5);
	assert_int_equal(e.sie, 0);
	/* s-maxage implies proxy-revalidate: no pool default, only the response's own */
	assert_int_equal(policy(200, "Cache-Control: s-maxage=60, stale-if-error=9\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(e.swr, 0);
	assert_int_equal(e.sie, 9);
	/* a bad window is none, not the default */
	assert_int_equal(policy(200, "Cache-Control: max-age=1, stale-while-revalidate=x\r\n", &d, &e),
			 CACHE_STORE);
	assert_int_equal(e.swr, 0);
	assert_int_equal(policy(200, "Cache-Control: max-age=1, must-revalidate\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(e.flags, CACHE_E_NO_STALE);
	assert_int_equal(policy(200, "Cache-Control: max-age=1, proxy-revalidate\r\n", &d, &e), CACHE_STORE);
	assert_int_equal(e.flags, CACHE_E_NO_STALE);
}

static void test_validators(void **state)
{
	struct cache_entry e;

	(void)state;
	assert_int_equal(policy(200, "Cache-Control: max-age=1\r\nETag: W/\"x\"\r\n"
				"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.etag.len, 5);
	assert_memory_equal(rsbuf + e.etag.off, "W/\"x\"", 5);
	assert_int_equal(e.last_modified.len, 29);
	assert_memory_equal(rsbuf + e.last_modified.off, "Sun, 06 Nov 1994 08:49:37 GMT", 29);
	assert_int_equal(policy(200, "Cache-Control: max-age=1\r\n", NULL, &e), CACHE_STORE);
	assert_int_equal(e.etag.len, 0);
	assert_int_equal(e.last_modified.len, 0);
}

static struct cache_entry entry(int64_t lifetime, int64_t initial_age, int64_t swr, int64_t sie,
				unsigned flags)
{
	struct cache_entry e;

	memset(&e, 0, sizeof(e));
	e.response_time = 1000;
	e.lifetime = lifetime;
	e.initial_age = initial_age;
	e.swr = swr;
	e.sie = sie;
	e.flags = flags;
	return e;
}

static void test_entry_state(void **state)
{
	struct cache_entry e = entry(60, 0, 10, 30, 0);
	int64_t age;

	(void)state;
	assert_int_equal(cache_entry_state(&e, NULL, 1000, &age), CACHE_FRESH);
	assert_int_equal(age, 0);
	assert_int_equal(cache_entry_state(&e, NULL, 1059, &age), CACHE_FRESH);
	assert_int_equal(age, 59);
	assert_int_equal(cache_entry_state(&e, NULL, 1060, &age), CACHE_STALE_REVALIDATE);
	assert_int_equal(cache_entry_state(&e, NULL, 1069, &age), CACHE_STALE_REVALIDATE);
	assert_int_equal(cache_entry_state(&e, NULL, 1070, &age), CACHE_STALE_IF_ERROR);
	assert_int_equal(cache_entry_state(&e, NULL, 1089, &age), CACHE_STALE_IF_ERROR);
	assert_int_equal(cache_entry_state(&e, NULL, 1090, &age), CACHE_EXPIRED);
	assert_int_equal(age, 90);
	/* the initial age counts; a clock stepped back does not rejuvenate */
	e = entry(60, 50, 0, 0, 0);
	assert_int_equal(cache_entry_state(&e, NULL, 1009, &age), CACHE_FRESH);
	assert_int_equal(cache_entry_state(&e, NULL, 1010, &age), CACHE_EXPIRED);
	assert_int_equal(cache_entry_state(&e, NULL, 0, &age), CACHE_FRESH);
	assert_int_equal(age, 50);
	/* far future and far past clocks: capped, no overflow */
	assert_int_equal(cache_entry_state(&e, NULL, INT64_MAX, &age), CACHE_EXPIRED);
	assert_int_equal(age, CACHE_DELTA_MAX);
	assert_int_equal(cache_entry_state(&e, NULL, INT64_MIN, &age), CACHE_FRESH);
	e = entry(CACHE_DELTA_MAX, CACHE_DELTA_MAX, CACHE_DELTA_MAX, CACHE_DELTA_MAX, 0);
	e.response_time = INT64_MIN;
	assert_int_equal(cache_entry_state(&e, NULL, INT64_MAX, &age), CACHE_STALE_REVALIDATE);
	assert_int_equal(age, CACHE_DELTA_MAX);
	/* never stale */
	e = entry(60, 0, 10, 30, CACHE_E_NO_STALE);
	assert_int_equal(cache_entry_state(&e, NULL, 1059, &age), CACHE_FRESH);
	assert_int_equal(cache_entry_state(&e, NULL, 1060, &age), CACHE_EXPIRED);
	e = entry(60, 0, 10, 30, CACHE_E_NO_CACHE | CACHE_E_NO_STALE);
	assert_int_equal(cache_entry_state(&e, NULL, 1000, &age), CACHE_EXPIRED);
}

static void test_entry_state_request(void **state)
{
	struct cache_entry e = entry(60, 0, 10, 30, 0);
	struct cache_request rq;
	int64_t age;

	(void)state;
	/* the client asks for revalidation: not fresh, not stale-while-revalidate */
	rq = classify("GET", "Cache-Control: no-cache\r\n", 0);
	assert_int_equal(cache_entry_state(&e, &rq, 1000, &age), CACHE_STALE_IF_ERROR);
	assert_int_equal(cache_entry_state(&e, &rq, 1065, &age), CACHE_STALE_IF_ERROR);
	assert_int_equal(cache_entry_state(&e, &rq, 1090, &age), CACHE_EXPIRED);
	rq = classify("GET", "Cache-Control: max-age=20\r\n", 0);
	assert_int_equal(cache_entry_state(&e, &rq, 1020, &age), CACHE_FRESH);
	assert_int_equal(cache_entry_state(&e, &rq, 1021, &age), CACHE_STALE_IF_ERROR);
	rq = classify("GET", "Cache-Control: min-fresh=20\r\n", 0);
	assert_int_equal(cache_entry_state(&e, &rq, 1039, &age), CACHE_FRESH);
	assert_int_equal(cache_entry_state(&e, &rq, 1040, &age), CACHE_STALE_REVALIDATE);
	rq = classify("GET", "Cache-Control: max-stale=100\r\n", 0);
	assert_int_equal(cache_entry_state(&e, &rq, 1160, &age), CACHE_FRESH);
	assert_int_equal(cache_entry_state(&e, &rq, 1161, &age), CACHE_EXPIRED);
	rq = classify("GET", "Cache-Control: max-stale\r\n", 0);
	assert_int_equal(cache_entry_state(&e, &rq, 100000, &age), CACHE_FRESH);
	/* max-stale does not override must-revalidate */
	e.flags = CACHE_E_NO_STALE;
	assert_int_equal(cache_entry_state(&e, &rq, 1060, &age), CACHE_EXPIRED);
}

static void test_vary_parse(void **state)
{
	struct cache_vary v;

	(void)state;
	resp(200, "Vary: User-Agent, accept-encoding\r\nVary: ,Accept-Encoding ,, Accept\r\n");
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), 0);
	assert_int_equal(v.n, 3);
	assert_false(v.star);
	assert_memory_equal(rsbuf + v.names[0].off, "Accept", 6);
	assert_int_equal(v.names[0].len, 6);
	assert_int_equal(v.names[1].len, 15);
	assert_int_equal(v.names[2].len, 10);
	resp(200, "Vary: Accept, *\r\n");
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), 0);
	assert_true(v.star);
	assert_int_equal(v.n, 1);
	resp(200, "Vary: a b\r\n");
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), -1);
	resp(200, "Vary: a;b\r\n");
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), -1);
	resp(200, "");
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), 0);
	assert_int_equal(v.n, 0);
}

/* The key of the current RQ for a response with this Vary, into out; its length. */
static int vary_key(const char *vary, char *out, size_t cap)
{
	struct cache_vary v;
	char hdr[256];

	snprintf(hdr, sizeof(hdr), "Vary: %s\r\n", vary);
	resp(200, hdr);
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), 0);
	return cache_vary_key(rqbuf, &RQ, rsbuf, &v, out, cap);
}

static void test_vary_key(void **state)
{
	static const char want[] = "accept-encoding: gzip\naccept-language: en, fr\nx-absent\n";
	char out[256], out2[256];
	int n;

	(void)state;
	req("GET", "Accept-Language: en\r\nACCEPT-ENCODING:   gzip  \r\naccept-language: fr\r\n");
	n = vary_key("X-Absent, Accept-Language, Accept-Encoding", out, sizeof(out));
	assert_int_equal(n, (int)strlen(want));
	assert_memory_equal(out, want, (size_t)n);
	/* the same names in another order and case: the same key */
	assert_int_equal(vary_key("accept-encoding, x-absent, ACCEPT-language", out2, sizeof(out2)), n);
	assert_memory_equal(out, out2, (size_t)n);
	/* bounded: exactly fitting works, one byte less does not */
	assert_int_equal(vary_key("X-Absent, Accept-Language, Accept-Encoding", out, (size_t)n), n);
	assert_int_equal(vary_key("X-Absent, Accept-Language, Accept-Encoding", out, (size_t)n - 1), -1);
	assert_int_equal(vary_key("X-Absent", out, 0), -1);
	/* an empty field is not an absent one */
	req("GET", "X-A:\r\n");
	n = vary_key("x-a", out, sizeof(out));
	assert_int_equal(n, 6);
	assert_memory_equal(out, "x-a: \n", 6);
	req("GET", "");
	n = vary_key("x-a", out, sizeof(out));
	assert_int_equal(n, 4);
	assert_memory_equal(out, "x-a\n", 4);
	/* no Vary: an empty key */
	resp(200, "");
	struct cache_vary v;
	assert_int_equal(cache_vary_parse(rsbuf, &RS, &v), 0);
	assert_int_equal(cache_vary_key(rqbuf, &RQ, rsbuf, &v, out, 0), 0);
}

/* The Accept-Encoding key of a request with these extra header lines, as a string. */
static const char *ae_key(const char *extra)
{
	static char out[256];
	int n;

	req("GET", extra);
	n = vary_key("Accept-Encoding", out, sizeof(out) - 1);
	assert_true(n >= 0);
	out[n] = '\0';
	return out;
}

static void test_vary_key_accept_encoding(void **state)
{
	(void)state;
	/* the same codings worded apart (order, case, spacing, weights, aliases): one key */
	assert_string_equal(ae_key("Accept-Encoding: gzip, deflate, br, zstd\r\n"),
			    "accept-encoding: br,deflate,gzip,zstd\n");
	assert_string_equal(ae_key("Accept-Encoding: zstd,br;q=0.9 , DEFLATE;q=0.5,x-gzip\r\n"),
			    "accept-encoding: br,deflate,gzip,zstd\n");
	assert_string_equal(ae_key("Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n"),
			    "accept-encoding: br,gzip\n");
	/* codings that differ do not share one */
	assert_string_equal(ae_key("Accept-Encoding: gzip, deflate, br\r\n"),
			    "accept-encoding: br,deflate,gzip\n");
	/* q=0 refuses: kept apart from absent, and it wins over an acceptance */
	assert_string_equal(ae_key("Accept-Encoding: gzip;q=0, br, identity;q=0.000\r\n"),
			    "accept-encoding: br,gzip;q=0,identity;q=0\n");
	assert_string_equal(ae_key("Accept-Encoding: gzip, gzip;q=0\r\n"),
			    "accept-encoding: gzip;q=0\n");
	assert_string_equal(ae_key("Accept-Encoding: gzip;q=0.5\r\n"), "accept-encoding: gzip\n");
	assert_string_equal(ae_key("Accept-Encoding: gzip;q=0.05\r\n"), "accept-encoding: gzip\n");
	/* any other coding stays (the app may speak it), lowered and sorted */
	assert_string_equal(ae_key("Accept-Encoding: X-Custom, gzip, *;q=0, Aa\r\n"),
			    "accept-encoding: gzip,*;q=0,aa,x-custom\n");
	assert_string_equal(ae_key("Accept-Encoding: x-gzipped\r\n"), "accept-encoding: x-gzipped\n");
	/* empty and absent stay apart */
	assert_string_equal(ae_key("Accept-Encoding:\r\n"), "accept-encoding: \n");
	assert_string_equal(ae_key(""), "accept-encoding\n");
	/* not a list of codings: the value as it is */
	assert_string_equal(ae_key("Accept-Encoding: gzip, =x\r\n"), "accept-encoding: gzip, =x\n");
}

static int cond(const char *rq_extra, const char *rs_extra, int64_t now)
{
	req("GET", rq_extra);
	resp(200, rs_extra);
	return cache_conditional(rqbuf, &RQ, rsbuf, &RS, now);
}

static void test_conditional(void **state)
{
	static const char *const tagged = "ETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
	static const char *const ims_after = "If-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n";
	int64_t now = T0 + 1000;

	(void)state;
	assert_int_equal(cond("", tagged, now), CACHE_COND_NONE);
	assert_int_equal(cond("If-None-Match: \"v1\"\r\n", tagged, now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: W/\"v1\"\r\n", tagged, now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: \"v1\"\r\n", "ETag: W/\"v1\"\r\n", now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: \"a\", \"b,c\" , \"v1\"\r\n", tagged, now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: \"a\"\r\nIf-None-Match: \"v1\"\r\n", tagged, now),
			 CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: \"b,c\"\r\n", "ETag: \"b,c\"\r\n", now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: *\r\n", "", now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-None-Match: \"V1\"\r\n", tagged, now), CACHE_COND_FULL);
	assert_int_equal(cond("If-None-Match: v1\r\n", "ETag: v1\r\n", now), CACHE_COND_FULL);
	assert_int_equal(cond("If-None-Match: \"v1\"\r\n", "", now), CACHE_COND_FULL);
	/* If-None-Match decides alone, even when If-Modified-Since would say 304 */
	assert_int_equal(cond("If-None-Match: \"x\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n",
			      tagged, now), CACHE_COND_FULL);
	assert_int_equal(cond(ims_after, tagged, now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", tagged, now),
			  CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond("If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n", tagged, now),
			 CACHE_COND_FULL);
	assert_int_equal(cond("If-Modified-Since: Sunday, 06-Nov-94 08:49:38 GMT\r\n", tagged, now),
			 CACHE_COND_NOT_MODIFIED);
	/* an invalid date, or one after now, is ignored */
	assert_int_equal(cond("If-Modified-Since: yesterday\r\n", tagged, now), CACHE_COND_NONE);
	assert_int_equal(cond(ims_after, tagged, T0), CACHE_COND_NONE);
	/* no Last-Modified: the Date; neither: full */
	assert_int_equal(cond(ims_after, "Date: Sun, 06 Nov 1994 08:49:30 GMT\r\n", now), CACHE_COND_NOT_MODIFIED);
	assert_int_equal(cond(ims_after, "Date: Sun, 06 Nov 1994 08:49:40 GMT\r\n", now), CACHE_COND_FULL);
	assert_int_equal(cond(ims_after, "", now), CACHE_COND_FULL);
}

/* All tags of the current RS, joined by '|'. */
static void tags(char *out, size_t cap)
{
	struct cache_tag_iter it;
	struct http_slice t;
	size_t n = 0;

	out[0] = '\0';
	cache_tags_begin(&it, rsbuf, &RS);
	while (cache_tags_next(&it, &t))
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "|" : "", (int)t.len, rsbuf + t.off);
}

static void test_tags(void **state)
{
	char out[4096], hdr[4096], big[CACHE_TAG_LEN_MAX + 2];
	int i, n = 0;

	(void)state;
	resp(200, "Cache-Tag: a, b,,c  d\r\nX-Other: q\r\nSurrogate-Key:  x   y,z\t w\r\ncache-tag: e\r\n");
	tags(out, sizeof(out));
	assert_string_equal(out, "a|b|c|d|x|y,z|w|e");
	resp(200, "");
	tags(out, sizeof(out));
	assert_string_equal(out, "");
	/* a tag over the length limit is skipped */
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "Cache-Tag: %s, ok, %.*s\r\n", big, CACHE_TAG_LEN_MAX, big);
	resp(200, hdr);
	tags(out, sizeof(out));
	assert_int_equal(strlen(out), 3 + CACHE_TAG_LEN_MAX);
	assert_memory_equal(out, "ok|", 3);
	/* at most CACHE_TAGS_MAX */
	n = snprintf(hdr, sizeof(hdr), "Cache-Tag: ");
	for (i = 0; i < CACHE_TAGS_MAX + 10; i++)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "t%d,", i);
	snprintf(hdr + n, sizeof(hdr) - (size_t)n, "\r\n");
	resp(200, hdr);
	struct cache_tag_iter it;
	struct http_slice t;
	cache_tags_begin(&it, rsbuf, &RS);
	for (i = 0; cache_tags_next(&it, &t); i++)
		;
	assert_int_equal(i, CACHE_TAGS_MAX);
	assert_int_equal(cache_tags_next(&it, &t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_forms),
		cmocka_unit_test(test_date_invalid),
		cmocka_unit_test(test_request_bypass),
		cmocka_unit_test(test_request_directives),
		cmocka_unit_test(test_freshness_precedence),
		cmocka_unit_test(test_freshness_values),
		cmocka_unit_test(test_not_storable),
		cmocka_unit_test(test_not_storable_request),
		cmocka_unit_test(test_authorization),
		cmocka_unit_test(test_initial_age),
		cmocka_unit_test(test_stale_windows),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_entry_state),
		cmocka_unit_test(test_entry_state_request),
		cmocka_unit_test(test_vary_parse),
		cmocka_unit_test(test_vary_key),
		cmocka_unit_test(test_vary_key_accept_encoding),
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
