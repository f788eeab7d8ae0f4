/* test_http_parse.c: unit tests of proto/http_parse.c: request heads, the
 * smuggling vectors it must refuse, limits (responses: test_http_response.c; the
 * chunked-body scanner: test_http_chunked.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define HOST11 "GET / HTTP/1.1\r\nHost: example.com\r\n"
/* A complete HTTP/1.1 request head with the given extra field lines. */
#define REQ11(fields) HOST11 fields "\r\n"

static const struct http_limits lim = { 8192, 64 };
static struct http_head H;  /* big (4 KiB of headers): one shared instance */

static int req_n(const char *s, size_t n)
{
	return http_parse_request(s, n, &lim, &H);
}

/* String literals go through sizeof so that embedded NULs are part of the input. */
#define REQ(s) req_n((s), sizeof(s) - 1)

#define EXPECT_REQ_OK(s) assert_int_equal(REQ(s), HTTP_PARSE_DONE)
#define EXPECT_REQ_ERROR(s, st) do { \
		assert_int_equal(REQ(s), HTTP_PARSE_ERROR); \
		assert_int_equal(H.error_status, (st)); \
		assert_non_null(H.error); \
	} while (0)
#define EXPECT_REQ_ERROR_MSG(s, st, msg) do { \
		EXPECT_REQ_ERROR(s, st); \
		assert_string_equal(H.error, (msg)); \
	} while (0)

static void slice_is(const char *buf, struct http_slice s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(buf + s.off, want, s.len);
}

/* Returns the index of the first field named name (case-insensitive), or -1. */
static int find_header(const char *buf, const char *lower_name)
{
	uint32_t i;

	for (i = 0; i < H.nheaders; i++)
		if (http_slice_eq(buf, H.headers[i].name, lower_name))
			return (int)i;
	return -1;
}

static int is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* ---- requests: the good cases ---- */

static void test_get_minimal(void **state)
{
	static const char s[] = "GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n";

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	slice_is(s, H.method, "GET");
	slice_is(s, H.target, "/x");
	assert_int_equal(H.method_id, HTTP_M_GET);
	assert_int_equal(H.version_minor, 1);
	assert_int_equal(H.head_len, sizeof(s) - 1);
	assert_int_equal(H.nheaders, 1);
	slice_is(s, H.headers[0].name, "Host");
	slice_is(s, H.headers[0].value, "a.example");
	slice_is(s, H.host, "a.example");
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_int_equal(H.flags, HTTP_F_HAS_HOST | HTTP_F_KEEP_ALIVE);
	assert_int_equal(H.error_status, 0);
	assert_null(H.error);
}

static void test_get_typical(void **state)
{
	static const char s[] =
		"GET /index.html?q=1&r=%20 HTTP/1.1\r\n"
		"Host: www.example.com\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		"Accept-Language: en-US,en;q=0.5\r\n"
		"Accept-Encoding: gzip, deflate, br\r\n"
		"Connection: keep-alive\r\n"
		"Cookie: a=b; c=d\r\n"
		"\r\n";

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	assert_int_equal(H.head_len, sizeof(s) - 1);
	slice_is(s, H.target, "/index.html?q=1&r=%20");
	assert_int_equal(H.nheaders, 7);
	slice_is(s, H.headers[1].name, "User-Agent");
	slice_is(s, H.headers[1].value,
		 "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
	slice_is(s, H.headers[4].value, "gzip, deflate, br");
	slice_is(s, H.headers[6].name, "Cookie");
	slice_is(s, H.headers[6].value, "a=b; c=d");
	assert_int_equal(find_header(s, "accept-language"), 3);
	assert_int_equal(find_header(s, "accept-lang"), -1);
	assert_true(H.flags & HTTP_F_CONN_KEEPALIVE);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(H.body, HTTP_BODY_NONE);
}

static void test_post_content_length(void **state)
{
	static const char s[] = "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	assert_int_equal(H.method_id, HTTP_M_POST);
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 5);
	assert_int_equal(H.head_len, sizeof(s) - 1 - 5);
	assert_memory_equal(s + H.head_len, "hello", 5);
}

static void test_post_chunked(void **state)
{
	static const char s[] = "POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				"5\r\nhello\r\n0\r\n\r\n";

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
	assert_int_equal(H.content_length, 0);
	assert_memory_equal(s + H.head_len, "5\r\n", 3);
}

static void test_content_length_zero_and_leading_zeros(void **state)
{
	EXPECT_REQ_OK(REQ11("Content-Length: 0\r\n"));
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 0);
	EXPECT_REQ_OK(REQ11("content-length: 007\r\n"));
	assert_int_equal(H.content_length, 7);
}

static void test_head_and_method_ids(void **state)
{
	static const struct { const char *m; enum http_method id; } t[] = {
		{ "GET", HTTP_M_GET }, { "HEAD", HTTP_M_HEAD }, { "POST", HTTP_M_POST },
		{ "PUT", HTTP_M_PUT }, { "DELETE", HTTP_M_DELETE }, { "OPTIONS", HTTP_M_OPTIONS },
		{ "TRACE", HTTP_M_TRACE }, { "CONNECT", HTTP_M_CONNECT }, { "PATCH", HTTP_M_PATCH },
		{ "get", HTTP_M_OTHER }, { "PROPFIND", HTTP_M_OTHER }, { "GETS", HTTP_M_OTHER },
		{ "HEA", HTTP_M_OTHER }, { "M-SEARCH", HTTP_M_OTHER },
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "%s /p HTTP/1.1\r\nHost: h\r\n\r\n", t[i].m);

		assert_int_equal(req_n(buf, (size_t)n), HTTP_PARSE_DONE);
		assert_int_equal(H.method_id, t[i].id);
		slice_is(buf, H.method, t[i].m);
	}
}

static void test_pipelined(void **state)
{
	static const char s[] = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
				"HEAD /two HTTP/1.1\r\nHost: h\r\n\r\n";
	uint32_t first;

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	first = H.head_len;
	assert_int_equal(first, strlen("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"));
	slice_is(s, H.target, "/one");
	assert_int_equal(req_n(s + first, sizeof(s) - 1 - first), HTTP_PARSE_DONE);
	assert_int_equal(H.method_id, HTTP_M_HEAD);
	slice_is(s + first, H.target, "/two");
	assert_int_equal(first + H.head_len, sizeof(s) - 1);
}

/* Every proper prefix of a valid request head must ask for more, never fail nor succeed. */
static void expect_prefixes_incomplete(const char *s, size_t head_len)
{
	size_t n;

	for (n = 0; n < head_len; n++) {
		int rc = req_n(s, n);

		if (rc != HTTP_PARSE_INCOMPLETE)
			fail_msg("prefix of %zu bytes gave %d (%s)", n, rc, H.error ? H.error : "");
	}
	assert_int_equal(req_n(s, head_len), HTTP_PARSE_DONE);
	assert_int_equal(H.head_len, head_len);
}

static void test_incomplete_every_prefix(void **state)
{
	static const char *const heads[] = {
		"GET /a HTTP/1.1\r\nHost: h\r\nX-A: 1 \r\nX-B:\r\n\r\n",
		"\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n",
		"OPTIONS * HTTP/1.0\r\n\r\n",
		"PUT /u HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		expect_prefixes_incomplete(heads[i], strlen(heads[i]));
}

static void test_leading_empty_lines(void **state)
{
	static const char s[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	assert_int_equal(H.head_len, sizeof(s) - 1);
	assert_int_equal(H.method.off, 4);
	EXPECT_REQ_ERROR_MSG("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare LF in head");
	EXPECT_REQ_ERROR_MSG("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare CR in head");
	/* only empty lines so far: wait */
	assert_int_equal(REQ("\r\n\r\n\r\n"), HTTP_PARSE_INCOMPLETE);
}

static void test_http10(void **state)
{
	static const char s[] = "GET / HTTP/1.0\r\n\r\n";

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	assert_int_equal(H.version_minor, 0);
	assert_int_equal(H.flags & (HTTP_F_HAS_HOST | HTTP_F_KEEP_ALIVE), 0);
	EXPECT_REQ_OK("GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n");
	assert_true(H.flags & HTTP_F_HAS_HOST);
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
}

/* ---- request line ---- */

static void test_version_505(void **state)
{
	EXPECT_REQ_ERROR_MSG("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "unsupported HTTP version");
	EXPECT_REQ_ERROR("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
	EXPECT_REQ_ERROR("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
	EXPECT_REQ_ERROR("GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505);
}

static void test_version_garbage_400(void **state)
{
	EXPECT_REQ_ERROR("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/2.0x\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/11.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET /\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / \r\nHost: h\r\n\r\n", 400);
}

static void test_request_line_malformed(void **state)
{
	EXPECT_REQ_ERROR_MSG("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request-target");
	EXPECT_REQ_ERROR_MSG(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid method");
	EXPECT_REQ_ERROR("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET /\tHTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
	EXPECT_REQ_ERROR_MSG("GET /a?b#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400,
			     "fragment (#) in request-target");
}

/* The request-target admits exactly visible ASCII, except '#' (no fragments). */
static void test_target_byte_classes(void **state)
{
	char buf[64];
	int c;

	for (c = 0; c < 256; c++) {
		int n = snprintf(buf, sizeof(buf), "GET /a%cb HTTP/1.1\r\nHost: h\r\n\r\n", 'X');
		int ok = c >= 0x21 && c <= 0x7e && c != '#';

		buf[6] = (char)c;
		if (req_n(buf, (size_t)n) != (ok ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR))
			fail_msg("target byte 0x%02x: %s", c, ok ? "refused" : "accepted");
		if (ok)
			assert_int_equal(H.target.len, 4);
		else
			assert_int_equal(H.error_status, 400);
	}
}

/* ---- header fields ---- */

static void test_field_name_byte_classes(void **state)
{
	char buf[64];
	int c;

	for (c = 0; c < 256; c++) {
		int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX%cY: v\r\n\r\n", 'Z');
		int rc;

		buf[26] = (char)c;
		rc = req_n(buf, (size_t)n);
		if (c == ':') {  /* splits into name "X", value "Y: v" */
			assert_int_equal(rc, HTTP_PARSE_DONE);
			assert_int_equal(H.headers[1].name.len, 1);
			continue;
		}
		if (rc != (is_tchar(c) ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR))
			fail_msg("name byte 0x%02x: rc %d", c, rc);
		if (rc == HTTP_PARSE_DONE)
			assert_int_equal(H.headers[1].name.len, 3);
		else
			assert_int_equal(H.error_status, 400);
	}
}

static void test_field_value_byte_classes(void **state)
{
	char buf[64];
	int c;

	for (c = 0; c < 256; c++) {
		int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: a%cb\r\n\r\n", 'Z');
		int ok = c == '\t' || (c >= 0x20 && c != 0x7f);
		int rc;

		buf[29] = (char)c;
		rc = req_n(buf, (size_t)n);
		if (rc != (ok ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR))
			fail_msg("value byte 0x%02x: rc %d", c, rc);
		if (ok)
			assert_int_equal(H.headers[1].value.len, 3);
		else
			assert_int_equal(H.error_status, 400);
	}
}

/* The same over long values, with the byte at every offset of an 8-byte word, so that
 * a word-at-a-time fast path has to find it with no CR in the same word. */
static void test_field_value_byte_classes_long(void **state)
{
	char buf[128];
	int c, k;

	for (c = 0; c < 256; c++) {
		int ok = c == '\t' || (c >= 0x20 && c != 0x7f);

		for (k = 0; k < 16; k++) {
			int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: "
					 "%.*s%c%s\r\n\r\n", k, "vvvvvvvvvvvvvvvv", 'Z',
					 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
			int rc;

			buf[28 + k] = (char)c;
			rc = req_n(buf, (size_t)n);
			if (rc != (ok ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR))
				fail_msg("value byte 0x%02x at %d: rc %d", c, k, rc);
			if (ok && c != ' ' && c != '\t')
				assert_int_equal(H.headers[1].value.len, k + 41);
		}
	}
}

static void test_value_ows_trimmed(void **state)
{
	static const char s[] = REQ11("X-A: \t  a b \t \r\nX-B:c\r\nX-C:  \r\nX-D:\r\n");

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	assert_int_equal(H.nheaders, 5);
	slice_is(s, H.headers[1].value, "a b");
	slice_is(s, H.headers[2].value, "c");
	slice_is(s, H.headers[3].value, "");
	slice_is(s, H.headers[4].value, "");
}

static void test_obs_text_value_but_not_name(void **state)
{
	static const char s[] = REQ11("X-Name: caf\xc3\xa9\xff\r\n");

	assert_int_equal(REQ(s), HTTP_PARSE_DONE);
	slice_is(s, H.headers[1].value, "caf\xc3\xa9\xff");
	EXPECT_REQ_ERROR_MSG(REQ11("X-Caf\xc3\xa9: 1\r\n"), 400, "invalid character in field name");
	EXPECT_REQ_ERROR(REQ11("\xc3\xa9: 1\r\n"), 400);
}

static void test_obs_fold(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("X-A: 1\r\n 2\r\n"), 400,
			     "obs-fold or line starting with whitespace");
	EXPECT_REQ_ERROR(REQ11("X-A: 1\r\n\t2\r\n"), 400);
	/* a folded Transfer-Encoding is the classic way to hide it */
	EXPECT_REQ_ERROR(REQ11("X-A: 1\r\n Transfer-Encoding: chunked\r\n"), 400);
	/* whitespace between the request line and the first field */
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
}

static void test_whitespace_before_colon(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding : chunked\r\n"), 400, "whitespace before colon");
	EXPECT_REQ_ERROR(REQ11("Content-Length\t: 5\r\n"), 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
}

static void test_empty_field_name(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11(": v\r\n"), 400, "empty field name");
	EXPECT_REQ_ERROR(REQ11("X-A\r\n"), 400);  /* no colon at all */
}

static void test_bare_cr(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("X-A: 1\r2\r\n"), 400, "bare CR in head");
	EXPECT_REQ_ERROR(REQ11("X-A: 1\r\r\n"), 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 400);
	/* caught before the head is complete, too */
	EXPECT_REQ_ERROR_MSG("GET / HTTP/1.1\r\nX: a\rb", 400, "bare CR in head");
}

static void test_bare_lf(void **state)
{
	EXPECT_REQ_ERROR_MSG("GET / HTTP/1.1\nHost: h\n\n", 400, "bare LF in head");
	EXPECT_REQ_ERROR_MSG(REQ11("X-A: 1\n"), 400, "bare LF in head");
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
	EXPECT_REQ_ERROR(REQ11("X-A: 1\nTransfer-Encoding: chunked\r\n"), 400);
	/* refused on arrival, not at the size limit */
	EXPECT_REQ_ERROR_MSG("GET / HTTP/1.1\nHost: h", 400, "bare LF in head");
}

static void test_control_chars_in_value(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("X-A: a\0b\r\n"), 400, "control character in field value");
	EXPECT_REQ_ERROR(REQ11("X-A: \0\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("X-A: a\x7f\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("X-A: a\x01\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("X-A: a\x1b[0m\r\n"), 400);
	EXPECT_REQ_OK(REQ11("X-A: a\tb\r\n"));
}

/* ---- framing: Content-Length and Transfer-Encoding ---- */

static void test_cl_te_together(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400,
			     "Transfer-Encoding and Content-Length together");
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), 400,
			     "Transfer-Encoding and Content-Length together");
	EXPECT_REQ_ERROR(REQ11("transfer-encoding: gzip\r\ncontent-length: 3\r\n"), 400);
}

static void test_te_chunked_twice(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding: chunked, chunked\r\n"), 400,
			     "chunked applied more than once");
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400);
}

static void test_te_whitespace_variants(void **state)
{
	EXPECT_REQ_OK(REQ11("Transfer-Encoding:  chunked\r\n"));
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
	EXPECT_REQ_OK(REQ11("Transfer-Encoding:\tchunked \t\r\n"));
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
	EXPECT_REQ_OK(REQ11("TRANSFER-ENCODING: Chunked\r\n"));
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked\x0b\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: \x0b" "chunked\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked\x0c\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked\r\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chun ked\r\n"), 400);
}

static void test_te_unsupported_501(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding: gzip, chunked\r\n"), 501,
			     "unsupported transfer coding");
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: identity\r\n"), 501);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: gzip\r\n"), 501);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: deflate, chunked\r\n"), 501);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: compress, chunked\r\n"), 501);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: x-gzip, chunked\r\n"), 501);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), 501);
}

static void test_te_malformed_400(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding: chunked;x=1\r\n"), 400,
			     "malformed Transfer-Encoding");
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding: xchunked\r\n"), 400, "unknown transfer coding");
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunkedx\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked,\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: ,chunked\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: \r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: \"chunked\"\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: br\r\n"), 400);
	EXPECT_REQ_ERROR_MSG(REQ11("Transfer-Encoding: chunked, gzip\r\n"), 400,
			     "chunked is not the final transfer coding");
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Transfer-Encoding: chunked\r\nTransfer-Encoding: \r\n"), 400);
}

static void test_te_in_http10(void **state)
{
	EXPECT_REQ_ERROR_MSG("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
			     "Transfer-Encoding in HTTP/1.0 request");
	EXPECT_REQ_ERROR("POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	/* the same request in HTTP/1.1 is fine: the version is what is refused */
	EXPECT_REQ_OK("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
}

static void test_cl_duplicate(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Content-Length: 5\r\nContent-Length: 5\r\n"), 400,
			     "several Content-Length fields");
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5\r\nContent-Length: 6\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5\r\nX: y\r\ncontent-length: 5\r\n"), 400);
}

static void test_cl_invalid_values(void **state)
{
	EXPECT_REQ_ERROR_MSG(REQ11("Content-Length: +5\r\n"), 400, "invalid Content-Length");
	EXPECT_REQ_ERROR(REQ11("Content-Length: -5\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5, 5\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5,5\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5 5\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 0x5\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5a\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: \r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5.0\r\n"), 400);
	EXPECT_REQ_ERROR(REQ11("Content-Length: \"5\"\r\n"), 400);
}

static void test_cl_ows_trimmed(void **state)
{
	EXPECT_REQ_OK(REQ11("Content-Length:  5\r\n"));
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 5);
	EXPECT_REQ_OK(REQ11("Content-Length:\t12\t \r\n"));
	assert_int_equal(H.content_length, 12);
}

static void test_cl_digit_limit(void **state)
{
	EXPECT_REQ_OK(REQ11("Content-Length: 999999999999999999\r\n"));  /* 18 digits */
	assert_int_equal(H.content_length, 999999999999999999ULL);
	EXPECT_REQ_ERROR(REQ11("Content-Length: 1000000000000000000\r\n"), 400);  /* 19 */
	EXPECT_REQ_ERROR(REQ11("Content-Length: 18446744073709551617\r\n"), 400);  /* 2^64+1 */
	EXPECT_REQ_ERROR(REQ11("Content-Length: 00000000000000000005\r\n"), 400);  /* 20 */
}

/* ---- Host ---- */

static void test_host_missing(void **state)
{
	EXPECT_REQ_ERROR_MSG("GET / HTTP/1.1\r\n\r\n", 400, "missing Host");
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\nX-Host: h\r\n\r\n", 400);
	EXPECT_REQ_OK("GET / HTTP/1.0\r\nX: y\r\n\r\n");
	assert_false(H.flags & HTTP_F_HAS_HOST);
}

static void test_host_twice(void **state)
{
	EXPECT_REQ_ERROR_MSG("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400,
			     "several Host fields");
	EXPECT_REQ_ERROR("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n", 400);
	EXPECT_REQ_ERROR("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400);
}

static void test_host_valid_forms(void **state)
{
	static const char *const ok[] = {
		"example.com", "example.com:8080", "EXAMPLE.com", "1.2.3.4", "1.2.3.4:80",
		"[::1]", "[::1]:443", "[2001:db8::192.0.2.1]:1", "xn--nxasmq6b.example",
		"a_b-c~d", "h%41st", "localhost:", "h:65535", "",
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", ok[i]);

		if (req_n(buf, (size_t)n) != HTTP_PARSE_DONE)
			fail_msg("Host \"%s\" refused", ok[i]);
		assert_true(H.flags & HTTP_F_HAS_HOST);
		slice_is(buf, H.host, ok[i]);
	}
}

static void test_host_invalid_forms(void **state)
{
	static const char *const bad[] = {
		"a b", "a/b", "user@host", "user:pw@host", "h:80:81", "[::1", "::1", "[]",
		"[::1]x", "[::1]:x", "h:99999", "h:123456", "h:8a", "h:000080", ":80", "h%4", "h%zz",
		"h\"", "h<x>", "h\\x", "h?q", "h#f", "caf\xc3\xa9.example",
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);

		if (req_n(buf, (size_t)n) != HTTP_PARSE_ERROR)
			fail_msg("Host \"%s\" accepted", bad[i]);
		assert_int_equal(H.error_status, 400);
		assert_string_equal(H.error, "invalid Host");
	}
}

/* ---- connection semantics ---- */

static void test_connection_flags(void **state)
{
	EXPECT_REQ_OK(REQ11("Connection: close\r\n"));
	assert_int_equal(H.flags & (HTTP_F_CONN_CLOSE | HTTP_F_KEEP_ALIVE), HTTP_F_CONN_CLOSE);
	EXPECT_REQ_OK(REQ11("Connection: Keep-Alive , UPGRADE\r\nUpgrade: websocket\r\n"));
	assert_true(H.flags & HTTP_F_CONN_KEEPALIVE);
	assert_true(H.flags & HTTP_F_CONN_UPGRADE);
	assert_true(H.flags & HTTP_F_UPGRADE);
	assert_false(H.flags & HTTP_F_CONN_CLOSE);
	EXPECT_REQ_OK(REQ11("Connection: x-foo\r\nConnection: ,, close,\r\n"));
	assert_true(H.flags & HTTP_F_CONN_CLOSE);
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	EXPECT_REQ_OK(REQ11("Connection: closed, keep-alivex\r\n"));
	assert_int_equal(H.flags & (HTTP_F_CONN_CLOSE | HTTP_F_CONN_KEEPALIVE), 0);
	EXPECT_REQ_OK(REQ11("X-Connection: close\r\n"));
	assert_false(H.flags & HTTP_F_CONN_CLOSE);
}

static void test_keep_alive_rules(void **state)
{
	EXPECT_REQ_OK(REQ11(""));
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	EXPECT_REQ_OK(REQ11("Connection: keep-alive, close\r\n"));
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	EXPECT_REQ_OK("GET / HTTP/1.0\r\nHost: h\r\n\r\n");
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
	EXPECT_REQ_OK("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_true(H.flags & HTTP_F_KEEP_ALIVE);
	EXPECT_REQ_OK("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
	assert_false(H.flags & HTTP_F_KEEP_ALIVE);
}

static void test_upgrade_and_expect(void **state)
{
	EXPECT_REQ_OK(REQ11("Upgrade: h2c\r\n"));
	assert_true(H.flags & HTTP_F_UPGRADE);
	assert_false(H.flags & HTTP_F_CONN_UPGRADE);
	EXPECT_REQ_OK(REQ11("Expect: 100-continue\r\n"));
	assert_true(H.flags & HTTP_F_EXPECT_CONTINUE);
	EXPECT_REQ_OK(REQ11("expect:  100-Continue \r\n"));
	assert_true(H.flags & HTTP_F_EXPECT_CONTINUE);
	EXPECT_REQ_OK(REQ11("Expect: 100-continuex\r\n"));
	assert_false(H.flags & HTTP_F_EXPECT_CONTINUE);
	EXPECT_REQ_OK(REQ11("Expect: foo\r\n"));
	assert_false(H.flags & HTTP_F_EXPECT_CONTINUE);
	/* RFC 9110 10.1.1: ignored in HTTP/1.0 */
	EXPECT_REQ_OK("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
	assert_false(H.flags & HTTP_F_EXPECT_CONTINUE);
}

/* ---- limits ---- */

static void test_head_too_large(void **state)
{
	const size_t big = 64 * 1024;
	char *buf = malloc(big + 128);
	int n;

	assert_non_null(buf);
	n = snprintf(buf, 128, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	memset(buf + n, 'a', big);
	memcpy(buf + n + big, "\r\n\r\n", 4);
	/* complete but too large */
	assert_int_equal(req_n(buf, (size_t)n + big + 4), HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
	assert_string_equal(H.error, "head too large");
	/* still incomplete, already too large */
	assert_int_equal(req_n(buf, lim.head_max_bytes + 1), HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
	/* incomplete and exactly at the limit: may still fit */
	assert_int_equal(req_n(buf, lim.head_max_bytes), HTTP_PARSE_INCOMPLETE);
	/* no limits given: 64 KiB default */
	assert_int_equal(http_parse_request(buf, (size_t)n + big + 4, NULL, &H), HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
	free(buf);
}

static void test_head_exactly_at_limit(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\nBODY";
	struct http_limits l = { sizeof(s) - 1 - 4, 64 };

	assert_int_equal(http_parse_request(s, sizeof(s) - 1, &l, &H), HTTP_PARSE_DONE);
	assert_int_equal(H.head_len, l.head_max_bytes);
	l.head_max_bytes--;
	assert_int_equal(http_parse_request(s, sizeof(s) - 1, &l, &H), HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
	/* the leading empty lines count against the limit too */
	l.head_max_bytes = 28;
	assert_int_equal(http_parse_request("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 31, &l, &H),
			 HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
}

/* Builds a head with n "X-i: v" fields (plus Host) into buf; returns its length. */
static size_t head_with_fields(char *buf, size_t cap, unsigned n)
{
	size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: h\r\n");
	unsigned i;

	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "X-%u: v\r\n", i);
	len += (size_t)snprintf(buf + len, cap - len, "\r\n");
	assert_true(len < cap);
	return len;
}

static void test_header_count_limit(void **state)
{
	char buf[8192];
	size_t n;

	n = head_with_fields(buf, sizeof(buf), lim.header_max_count - 1);  /* + Host = max */
	assert_int_equal(req_n(buf, n), HTTP_PARSE_DONE);
	assert_int_equal(H.nheaders, lim.header_max_count);
	n = head_with_fields(buf, sizeof(buf), lim.header_max_count);
	assert_int_equal(req_n(buf, n), HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
	assert_string_equal(H.error, "too many header fields");
}

static void test_header_count_capped(void **state)
{
	static char buf[16384];
	struct http_limits l = { sizeof(buf), 1000 };
	size_t n;

	n = head_with_fields(buf, sizeof(buf), HTTP_HEADERS_MAX - 1);
	assert_int_equal(http_parse_request(buf, n, &l, &H), HTTP_PARSE_DONE);
	assert_int_equal(H.nheaders, HTTP_HEADERS_MAX);
	n = head_with_fields(buf, sizeof(buf), HTTP_HEADERS_MAX);
	assert_int_equal(http_parse_request(buf, n, &l, &H), HTTP_PARSE_ERROR);
	assert_int_equal(H.error_status, 431);
}

static void test_reuse_after_error(void **state)
{
	/* results of a failed parse must not leak into the next one */
	EXPECT_REQ_ERROR(REQ11("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400);
	EXPECT_REQ_OK(REQ11(""));
	assert_int_equal(H.error_status, 0);
	assert_null(H.error);
	assert_int_equal(H.body, HTTP_BODY_NONE);
	assert_int_equal(H.nheaders, 1);
	EXPECT_REQ_OK(REQ11("Content-Length: 9\r\n"));
	EXPECT_REQ_OK(REQ11(""));
	assert_int_equal(H.content_length, 0);
}

static void test_slice_eq(void **state)
{
	static const char b[] = "Chunked\0chunkedX";

	assert_true(http_slice_eq(b, (struct http_slice){ 0, 7 }, "chunked"));
	assert_true(http_slice_eq(b, (struct http_slice){ 8, 7 }, "chunked"));
	assert_false(http_slice_eq(b, (struct http_slice){ 8, 8 }, "chunked"));
	assert_false(http_slice_eq(b, (struct http_slice){ 0, 6 }, "chunked"));
	assert_false(http_slice_eq(b, (struct http_slice){ 0, 8 }, "chunked"));  /* NUL in buf */
	assert_true(http_slice_eq(b, (struct http_slice){ 3, 0 }, ""));
	assert_false(http_slice_eq(b, (struct http_slice){ 3, 0 }, "c"));
	assert_false(http_slice_eq("CHUNKEd", (struct http_slice){ 0, 7 }, "chunkez"));
	/* a NUL in the buffer must not match the token's terminator */
	static const char tok[16] = "chunked";  /* NUL-padded */
	assert_false(http_slice_eq(b, (struct http_slice){ 0, 8 }, tok));
	/* '@' | 0x20 == '`': only real letters are folded */
	assert_false(http_slice_eq("@", (struct http_slice){ 0, 1 }, "`"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_minimal),
		cmocka_unit_test(test_get_typical),
		cmocka_unit_test(test_post_content_length),
		cmocka_unit_test(test_post_chunked),
		cmocka_unit_test(test_content_length_zero_and_leading_zeros),
		cmocka_unit_test(test_head_and_method_ids),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_incomplete_every_prefix),
		cmocka_unit_test(test_leading_empty_lines),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_version_505),
		cmocka_unit_test(test_version_garbage_400),
		cmocka_unit_test(test_request_line_malformed),
		cmocka_unit_test(test_target_byte_classes),
		cmocka_unit_test(test_field_name_byte_classes),
		cmocka_unit_test(test_field_value_byte_classes),
		cmocka_unit_test(test_field_value_byte_classes_long),
		cmocka_unit_test(test_value_ows_trimmed),
		cmocka_unit_test(test_obs_text_value_but_not_name),
		cmocka_unit_test(test_obs_fold),
		cmocka_unit_test(test_whitespace_before_colon),
		cmocka_unit_test(test_empty_field_name),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_control_chars_in_value),
		cmocka_unit_test(test_cl_te_together),
		cmocka_unit_test(test_te_chunked_twice),
		cmocka_unit_test(test_te_whitespace_variants),
		cmocka_unit_test(test_te_unsupported_501),
		cmocka_unit_test(test_te_malformed_400),
		cmocka_unit_test(test_te_in_http10),
		cmocka_unit_test(test_cl_duplicate),
		cmocka_unit_test(test_cl_invalid_values),
		cmocka_unit_test(test_cl_ows_trimmed),
		cmocka_unit_test(test_cl_digit_limit),
		cmocka_unit_test(test_host_missing),
		cmocka_unit_test(test_host_twice),
		cmocka_unit_test(test_host_valid_forms),
		cmocka_unit_test(test_host_invalid_forms),
		cmocka_unit_test(test_connection_flags),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_upgrade_and_expect),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_head_exactly_at_limit),
		cmocka_unit_test(test_header_count_limit),
		cmocka_unit_test(test_header_count_capped),
		cmocka_unit_test(test_reuse_after_error),
		cmocka_unit_test(test_slice_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
