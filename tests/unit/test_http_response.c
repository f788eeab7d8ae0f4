/* test_http_response.c: unit tests of proto/http_parse.c's response heads: framing by
 * status and request method, status-line forms, keep-alive, and every error a 502. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static const struct http_limits lim = { 8192, 64 };
static struct http_head H;  /* big (4 KiB of headers): one shared instance */

static int resp_n(const char *s, size_t n, enum http_method m)
{
	return http_parse_response(s, n, &lim, m, &H);
}

/* String literals go through sizeof so that embedded NULs are part of the input. */
#define RESP(s, m) resp_n((s), sizeof(s) - 1, (m))
#define EXPECT_RESP_ERROR(s, m) do { \
		assert_int_equal(RESP(s, m), HTTP_PARSE_ERROR); \
		assert_int_equal(H.error_status, 502); \
		assert_non_null(H.error); \
	} while (0)

static void slice_is(const char *buf, struct http_slice s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(buf + s.off, want, s.len);
}

/* Every proper prefix of a valid response head must ask for more, never fail nor
 * succeed; the whole head is done. */
static void expect_prefixes_incomplete(const char *s, size_t head_len)
{
	size_t n;

	for (n = 0; n < head_len; n++) {
		int rc = resp_n(s, n, HTTP_M_GET);

		if (rc != HTTP_PARSE_INCOMPLETE)
			fail_msg("prefix of %zu bytes gave %d (%s)", n, rc, H.error ? H.error : "");
	}
	assert_int_equal(resp_n(s, head_len, HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.head_len, head_len);
}

static void test_resp_content_length(void **state)
{
	static const char s[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

	assert_int_equal(RESP(s, HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 200);
	slice_is(s, H.reason, "OK");
	assert_int_equal(H.version_minor, 1);
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 2);
	assert_int_equal(H.head_len, sizeof(s) - 1 - 2);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
}

static void test_resp_ignores_request_only_fields(void **state)
{
	/* Host and Expect mean nothing in a response: not validated, no flags */
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nExpect: 100-continue\r\n"
			      "Content-Length: 0\r\n\r\n", HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.flags & (HTTP_F_HAS_HOST | HTTP_F_EXPECT_CONTINUE), 0);
	assert_int_equal(H.host.len, 0);
	assert_int_equal(H.nheaders, 4);
}

static void test_resp_chunked(void **state)
{
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_M_POST),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			      HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
}

static void test_resp_until_close(void **state)
{
	static const char s[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";

	assert_int_equal(RESP(s, HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_UNTIL_CLOSE);
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	/* a coding list not ending in chunked also runs to the close */
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_M_GET),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_UNTIL_CLOSE);
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, br\r\n\r\n",
			      HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_UNTIL_CLOSE);
}

static void test_resp_head(void **state)
{
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", HTTP_M_HEAD),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_M_HEAD),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\n\r\n", HTTP_M_HEAD), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
}

static void test_resp_204_304(void **state)
{
	assert_int_equal(RESP("HTTP/1.1 204 No Content\r\n\r\n", HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 204);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(RESP("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", HTTP_M_GET),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_int_equal(H.content_length, 0);
}

static void test_resp_1xx(void **state)
{
	static const char s[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
				"Upgrade: websocket\r\n\r\n";

	assert_int_equal(RESP("HTTP/1.1 100 Continue\r\n\r\n", HTTP_M_POST), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 100);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_int_equal(RESP(s, HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 101);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_true(H.flags & HTTP_F_CONN_UPGRADE);
	assert_true(H.flags & HTTP_F_UPGRADE);
	assert_int_equal(RESP("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", HTTP_M_GET),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
}

static void test_resp_connect(void **state)
{
	assert_int_equal(RESP("HTTP/1.1 200 Connection established\r\n\r\n", HTTP_M_CONNECT),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_int_equal(RESP("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", HTTP_M_CONNECT),
			 HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 3);
	/* the same 200 to a GET has a body */
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\n\r\n", HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_UNTIL_CLOSE);
}

static void test_resp_framing_errors(void **state)
{
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
			  HTTP_M_GET);
	assert_string_equal(H.error, "Transfer-Encoding and Content-Length together");
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
			  HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_M_GET);
	/* defects are refused even where no body can follow */
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", HTTP_M_HEAD);
}

static void test_resp_duplicate_cl(void **state)
{
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
			      HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 7);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n",
			  HTTP_M_GET);
	assert_string_equal(H.error, "conflicting Content-Length fields");
}

static void test_resp_status_line_forms(void **state)
{
	static const char s[] = "HTTP/1.1 404 \r\n\r\n";

	assert_int_equal(RESP(s, HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 404);
	assert_int_equal(H.reason.len, 0);
	assert_int_equal(RESP("HTTP/1.1 404\r\n\r\n", HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 404);
	assert_int_equal(H.reason.len, 0);
	assert_int_equal(RESP("HTTP/1.0 599 Sp\xe9\x63ial  \t\r\n\r\n", HTTP_M_GET), HTTP_PARSE_DONE);
	assert_int_equal(H.status, 599);
	assert_int_equal(H.version_minor, 0);
	assert_int_equal(RESP("HTTP/1.1 999 X\r\n\r\n", HTTP_M_GET), HTTP_PARSE_DONE);
	EXPECT_RESP_ERROR("HTTP/1.1 099 Low\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 000 Zero\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 2000 OK\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 20 OK\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200OK\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1  200 OK\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/2.0 200 OK\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("http/1.1 200 OK\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("\r\nHTTP/1.1 200 OK\r\n\r\n", HTTP_M_GET);
}

static void test_resp_keep_alive(void **state)
{
	assert_int_equal(RESP("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_M_GET),
			 HTTP_PARSE_DONE);
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(RESP("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
			      HTTP_M_GET), HTTP_PARSE_DONE);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(RESP("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			      HTTP_M_GET), HTTP_PARSE_DONE);
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	assert_true(H.flags & HTTP_F_CONN_CLOSE);
	/* keep-alive asked for, but only the close can end this body */
	assert_int_equal(RESP("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", HTTP_M_GET),
			 HTTP_PARSE_DONE);
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
}

static void test_resp_errors_are_502(void **state)
{
	struct http_limits l = { 64, 2 };
	static const char big[] = "HTTP/1.1 200 OK\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaa\r\n\r\n";
	static const char three[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";

	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\nContent-Length: 0\n\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nX : 1\r\n\r\n", HTTP_M_GET);
	EXPECT_RESP_ERROR("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", HTTP_M_GET);
	assert_int_equal(http_parse_response(big, sizeof(big) - 1, &l, HTTP_M_GET, &H),
			 HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 502);
	assert_int_equal(http_parse_response(three, strlen(three), &l, HTTP_M_GET, &H),
			 HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 502);
}

static void test_resp_incomplete_every_prefix(void **state)
{
	static const char *const heads[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\n\r\n",
		"HTTP/1.1 404\r\n\r\n",
		"HTTP/1.0 500 Internal Server Error\r\nTransfer-Encoding-X: a\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		expect_prefixes_incomplete(heads[i], strlen(heads[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resp_content_length),
		cmocka_unit_test(test_resp_ignores_request_only_fields),
		cmocka_unit_test(test_resp_chunked),
		cmocka_unit_test(test_resp_until_close),
		cmocka_unit_test(test_resp_head),
		cmocka_unit_test(test_resp_204_304),
		cmocka_unit_test(test_resp_1xx),
		cmocka_unit_test(test_resp_connect),
		cmocka_unit_test(test_resp_framing_errors),
		cmocka_unit_test(test_resp_duplicate_cl),
		cmocka_unit_test(test_resp_status_line_forms),
		cmocka_unit_test(test_resp_keep_alive),
		cmocka_unit_test(test_resp_errors_are_502),
		cmocka_unit_test(test_resp_incomplete_every_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
