/* test_http_rewrite.c: unit tests of proto/http_rewrite.c and the parser rule it relies on:
 * a Connection header never strips the framing fields (request smuggling, issue 25),
 * fulcrum's own fields replace the client's, request ids are kept only when safe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "http.h"
#include "http_rewrite.h"

static const struct http_limits lim = { 8192, 64 };
static struct http_head H;

/* The id a request without a usable one gets from these bits: 32 hex characters, low
 * nibble first. */
#define MADE_ID "fedcba9876543210" "0123456789abcdef"

static const struct http_rewrite_req plain_rq = {
	.peer_ip = "192.0.2.7", .peer_ip_len = 9, .tls = 0, .local_port = 8080,
	.id_bits = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL },
};

/* Parses s as a request and rewrites it with rq; returns the new head as a C string
 * (static storage) and the id in rid. */
static const char *rewrite(const char *s, const struct http_rewrite_req *rq, char *rid)
{
	static union { struct buf b; char bytes[sizeof(struct buf) + 8192]; } u;

	u.b.cap = 8191;
	u.b.start = u.b.end = 0;
	assert_int_equal(http_parse_request(s, strlen(s), &lim, &H), HTTP_PARSE_DONE);
	assert_int_equal(http_rewrite_request(&u.b, s, &H, rq, rid), 0);
	u.b.data[u.b.end] = '\0';
	return u.b.data;
}

static void test_connection_naming_framing_refused(void **state)
{
	static const char *const refused[] = {
		"POST / HTTP/1.1\r\nHost: t\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, transfer-encoding\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: t\r\nConnection: HOST\r\n\r\n",
		"GET / HTTP/1.1\r\nConnection: close\r\nHost: t\r\nConnection: content-length\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(http_parse_request(refused[i], strlen(refused[i]), &lim, &H),
				 HTTP_PARSE_ERROR);
		assert_int_equal(H.error_status, 400);
		assert_string_equal(H.error, "Connection names a framing field");
	}
}

static void test_hop_by_hop_and_listed_fields_dropped(void **state)
{
	char rid[HTTP_REQUEST_ID_MAX + 1];
	const char *out;

	(void)state;
	out = rewrite("POST /p HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, X-Hop, x-b\r\nX-Hop: 1\r\n"
		      "X-B: 2\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Stay: 3\r\n"
		      "Content-Length: 2\r\n\r\nhi", &plain_rq, rid);
	assert_null(strstr(out, "X-Hop"));
	assert_null(strstr(out, "X-B:"));
	assert_null(strstr(out, "Keep-Alive"));
	assert_null(strstr(out, "TE:"));
	assert_null(strstr(out, "Connection"));
	assert_non_null(strstr(out, "X-Stay: 3\r\n"));
	assert_non_null(strstr(out, "Content-Length: 2\r\n"));
	assert_non_null(strstr(out, "Host: t\r\n"));
}

static void test_many_connection_options_all_honoured(void **state)
{
	char req[4096], rid[HTTP_REQUEST_ID_MAX + 1];
	const char *out;
	size_t n;
	int i;

	(void)state;
	/* the old rewrite looked at 16 options at most: the 20th passed */
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: t\r\nConnection: ");
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "%sx-o%d", i ? ", " : "", i);
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\nX-O19: gone\r\nX-O0: gone\r\n\r\n");
	out = rewrite(req, &plain_rq, rid);
	assert_null(strstr(out, "gone"));
}

static void test_response_keeps_framing_named_in_connection(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nConnection: content-length, X-A\r\nX-A: 1\r\n"
				   "Content-Length: 3\r\n\r\nabc";
	static union { struct buf b; char bytes[sizeof(struct buf) + 1024]; } u;

	(void)state;
	u.b.cap = 1023;
	u.b.start = u.b.end = 0;
	assert_int_equal(http_parse_response(resp, sizeof(resp) - 1, &lim, HTTP_M_GET, &H), HTTP_PARSE_DONE);
	assert_int_equal(http_rewrite_response(&u.b, resp, &H, 1, 1, NULL), 0);
	u.b.data[u.b.end] = '\0';
	assert_non_null(strstr(u.b.data, "Content-Length: 3\r\n"));
	assert_null(strstr(u.b.data, "X-A"));
}

/* The client gets the request's id back, once: the backend's echo (or its own id) is
 * replaced by the one the backend was sent; without an id nothing is added. */
static void test_response_carries_request_id(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nX-Request-ID: backend-own\r\n"
				   "Content-Length: 3\r\n\r\nabc";
	static const char plain[] = "HTTP/1.1 204 No Content\r\n\r\n";
	static union { struct buf b; char bytes[sizeof(struct buf) + 1024]; } u;
	char rid[HTTP_REQUEST_ID_MAX + 1] = "0123abcd";
	const char *p;

	(void)state;
	u.b.cap = 1023;
	u.b.start = u.b.end = 0;
	assert_int_equal(http_parse_response(resp, sizeof(resp) - 1, &lim, HTTP_M_GET, &H), HTTP_PARSE_DONE);
	assert_int_equal(http_rewrite_response(&u.b, resp, &H, 1, 1, rid), 0);
	u.b.data[u.b.end] = '\0';
	p = strstr(u.b.data, "X-Request-ID: 0123abcd\r\n");
	assert_non_null(p);
	assert_null(strstr(p + 1, "X-Request-ID"));
	assert_null(strstr(u.b.data, "backend-own"));
	assert_non_null(strstr(u.b.data, "Content-Length: 3\r\n"));
	assert_non_null(strstr(u.b.data, "\r\n\r\n"));

	u.b.start = u.b.end = 0;
	assert_int_equal(http_parse_response(plain, sizeof(plain) - 1, &lim, HTTP_M_GET, &H), HTTP_PARSE_DONE);
	assert_int_equal(http_rewrite_response(&u.b, plain, &H, 1, 1, NULL), 0);
	u.b.data[u.b.end] = '\0';
	assert_string_equal(u.b.data, "HTTP/1.1 204 No Content\r\n\r\n");
}

/* A route's edits: remove and set drop the client's fields of that name (any case), set
 * and add lines come after fulcrum's fields with their variables expanded; strip_prefix
 * cuts the matched prefix and keeps the query, never leaving an empty path. */
static void test_route_edits_and_strip_prefix(void **state)
{
	static const struct cfg_header_edit edits[] = {
		{ .set = (char *)"X-Route: api" },
		{ .add = (char *)"X-Who: $client_ip|$host|$path|$request_id|$other" },
		{ .remove = (char *)"x-debug" },
	};
	struct http_rewrite_req rq = plain_rq;
	char rid[HTTP_REQUEST_ID_MAX + 1] = "";
	const char *out;

	(void)state;
	rq.edits = edits;
	rq.nedits = 3;
	rq.strip_len = 4;
	out = rewrite("GET /api/users?x=1 HTTP/1.1\r\nHost: h.test\r\nX-Route: client\r\n"
		      "X-DEBUG: 1\r\nX-Keep: yes\r\n\r\n", &rq, rid);
	assert_non_null(strstr(out, "GET /users?x=1 HTTP/1.1\r\n"));
	assert_null(strstr(out, "client"));
	assert_null(strstr(out, "X-DEBUG"));
	assert_non_null(strstr(out, "X-Keep: yes\r\n"));
	assert_non_null(strstr(out, "X-Route: api\r\n"));
	assert_non_null(strstr(out, "X-Who: 192.0.2.7|h.test|/api/users|" MADE_ID "|$other\r\n"));
	assert_true(strstr(out, "X-Route: api") > strstr(out, "X-Forwarded-For"));

	out = rewrite("GET /api HTTP/1.1\r\nHost: h\r\n\r\n", &rq, rid);
	assert_non_null(strstr(out, "GET / HTTP/1.1\r\n"));
	out = rewrite("GET /api?q HTTP/1.1\r\nHost: h\r\n\r\n", &rq, rid);
	assert_non_null(strstr(out, "GET /?q HTTP/1.1\r\n"));
}

/* Response edits and the HSTS line: the backend's fields of those names give way. */
static void test_response_edits_and_hsts(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nCache-Control: public\r\n"
				   "Strict-Transport-Security: max-age=1\r\nContent-Length: 0\r\n\r\n";
	static const struct cfg_header_edit edits[] = {
		{ .remove = (char *)"Server" },
		{ .set = (char *)"Cache-Control: no-store" },
		{ .add = (char *)"X-Served: $request_id" },
	};
	static union { struct buf b; char bytes[sizeof(struct buf) + 1024]; } u;
	char rid[HTTP_REQUEST_ID_MAX + 1] = "r1";
	struct http_edit_vars v = { .client_ip = "", .host = "", .path = "", .request_id = rid };
	struct http_rewrite_resp rs = { .edits = edits, .nedits = 3, .vars = &v,
					.hsts = "max-age=31536000; includeSubDomains" };

	(void)state;
	u.b.cap = 1023;
	u.b.start = u.b.end = 0;
	assert_int_equal(http_parse_response(resp, sizeof(resp) - 1, &lim, HTTP_M_GET, &H), HTTP_PARSE_DONE);
	assert_int_equal(http_rewrite_response_extra(&u.b, resp, &H, 1, 1, rid, &rs), 0);
	u.b.data[u.b.end] = '\0';
	assert_null(strstr(u.b.data, "gunicorn"));
	assert_null(strstr(u.b.data, "public"));
	assert_null(strstr(u.b.data, "max-age=1\r\n"));
	assert_non_null(strstr(u.b.data, "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"));
	assert_non_null(strstr(u.b.data, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(u.b.data, "X-Served: r1\r\n"));
	assert_non_null(strstr(u.b.data, "Content-Length: 0\r\n"));
}

static void test_owned_fields_replaced(void **state)
{
	char rid[HTTP_REQUEST_ID_MAX + 1];
	const char *out;
	struct http_rewrite_req rq = plain_rq;

	(void)state;
	rq.cert_subject = "CN=real";
	out = rewrite("GET / HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 6.6.6.6\r\n"
		      "Forwarded: for=6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n"
		      "X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\nX-Real-IP: 6.6.6.6\r\n"
		      "X-Client-Cert-Subject: CN=admin\r\n\r\n", &rq, rid);
	assert_null(strstr(out, "6.6.6.6"));
	assert_null(strstr(out, "evil"));
	assert_null(strstr(out, "443"));
	assert_null(strstr(out, "/admin"));
	assert_null(strstr(out, "CN=admin"));
	assert_non_null(strstr(out, "X-Forwarded-For: 192.0.2.7\r\n"));
	assert_non_null(strstr(out, "X-Real-IP: 192.0.2.7\r\n"));
	assert_non_null(strstr(out, "X-Forwarded-Proto: http\r\n"));
	assert_non_null(strstr(out, "X-Forwarded-Port: 8080\r\n"));
	assert_non_null(strstr(out, "X-Forwarded-Host: shop\r\n"));
	assert_non_null(strstr(out, "Forwarded: for=192.0.2.7;proto=http;host=\"shop\"\r\n"));
	assert_non_null(strstr(out, "X-Client-Cert-Subject: CN=real\r\n"));
}

static void test_trusted_chain_extended(void **state)
{
	char rid[HTTP_REQUEST_ID_MAX + 1];
	const char *out;
	struct http_rewrite_req rq = plain_rq;

	(void)state;
	rq.trust_forwarded = 1;
	out = rewrite("GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9\r\n"
		      "Forwarded: for=203.0.113.9\r\nX-Forwarded-Port: 1\r\n\r\n", &rq, rid);
	assert_non_null(strstr(out, "X-Forwarded-For: 203.0.113.9, 192.0.2.7\r\n"));
	assert_non_null(strstr(out, "Forwarded: for=203.0.113.9, for=192.0.2.7;proto=http\r\n"));
	assert_null(strstr(out, "X-Forwarded-Port: 1\r\n"));
}

static void test_request_id_kept_only_when_safe(void **state)
{
	char rid[HTTP_REQUEST_ID_MAX + 1], req[512];
	const char *out;

	(void)state;
	out = rewrite("GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: 4bf92f35-77b3:x/Y+z=@a.b_c\r\n\r\n",
		      &plain_rq, rid);
	assert_string_equal(rid, "4bf92f35-77b3:x/Y+z=@a.b_c");
	assert_non_null(strstr(out, "X-Request-ID: 4bf92f35-77b3:x/Y+z=@a.b_c\r\n"));

	out = rewrite("GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: a\",\"status\":200\r\n\r\n", &plain_rq, rid);
	assert_string_equal(rid, MADE_ID);
	assert_null(strstr(out, "status"));
	assert_non_null(strstr(out, "X-Request-ID: " MADE_ID "\r\n"));

	/* 65 characters: over the limit; 64: kept */
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: %065d\r\n\r\n", 7);
	rewrite(req, &plain_rq, rid);
	assert_string_equal(rid, MADE_ID);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: %064d\r\n\r\n", 7);
	rewrite(req, &plain_rq, rid);
	assert_int_equal(strlen(rid), 64);

	/* the first safe one wins; the rest are not forwarded */
	out = rewrite("GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: bad id\r\nX-Request-ID: good-1\r\n"
		      "X-Request-ID: good-2\r\n\r\n", &plain_rq, rid);
	assert_string_equal(rid, "good-1");
	assert_null(strstr(out, "good-2"));
	assert_null(strstr(out, "bad id"));
}

static void test_no_room_is_an_error(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
	static union { struct buf b; char bytes[sizeof(struct buf) + 64]; } u;
	char rid[HTTP_REQUEST_ID_MAX + 1];

	(void)state;
	u.b.cap = 64;
	u.b.start = u.b.end = 0;
	assert_int_equal(http_parse_request(req, sizeof(req) - 1, &lim, &H), HTTP_PARSE_DONE);
	assert_int_equal(http_rewrite_request(&u.b, req, &H, &plain_rq, rid), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_naming_framing_refused),
		cmocka_unit_test(test_hop_by_hop_and_listed_fields_dropped),
		cmocka_unit_test(test_many_connection_options_all_honoured),
		cmocka_unit_test(test_response_keeps_framing_named_in_connection),
		cmocka_unit_test(test_response_carries_request_id),
		cmocka_unit_test(test_route_edits_and_strip_prefix),
		cmocka_unit_test(test_response_edits_and_hsts),
		cmocka_unit_test(test_owned_fields_replaced),
		cmocka_unit_test(test_trusted_chain_extended),
		cmocka_unit_test(test_request_id_kept_only_when_safe),
		cmocka_unit_test(test_no_room_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
