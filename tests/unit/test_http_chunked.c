/* test_http_chunked.c: unit tests of proto/http_parse.c's chunked-body scanner: sizes,
 * extensions, trailers and their limits, over the whole input at once and byte by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* One call over the whole input. */
static int chunk_whole(const char *s, size_t n, size_t *consumed)
{
	struct http_chunked c;

	http_chunked_init(&c);
	return http_chunked_scan(&c, s, n, consumed);
}

/* One byte per call; *total counts the bytes that belonged to the body. Checks that
 * MORE always consumes its byte. */
static int chunk_bytewise(const char *s, size_t n, size_t *total)
{
	struct http_chunked c;
	size_t i, used;
	int rc = HTTP_CHUNKED_MORE;

	http_chunked_init(&c);
	*total = 0;
	for (i = 0; i < n && rc == HTTP_CHUNKED_MORE; i++) {
		rc = http_chunked_scan(&c, s + i, 1, &used);
		if (rc != HTTP_CHUNKED_ERROR)
			*total += used;
		if (rc == HTTP_CHUNKED_MORE)
			assert_int_equal(used, 1);
	}
	return rc;
}

/* A complete body followed by `extra` bytes: DONE exactly at its end whatever the
 * split, and MORE on every proper prefix. */
static void expect_chunked_body(const char *s, size_t body_len, size_t extra)
{
	size_t used, k;
	struct http_chunked c;

	assert_int_equal(chunk_whole(s, body_len + extra, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, body_len);
	assert_int_equal(chunk_bytewise(s, body_len + extra, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, body_len);
	for (k = 0; k <= body_len; k++) {  /* two pieces, split at every point */
		size_t u1, u2 = 0;
		int rc;

		http_chunked_init(&c);
		rc = http_chunked_scan(&c, s, k, &u1);
		if (k < body_len) {
			assert_int_equal(rc, HTTP_CHUNKED_MORE);
			assert_int_equal(u1, k);
			rc = http_chunked_scan(&c, s + k, body_len + extra - k, &u2);
		}
		if (rc != HTTP_CHUNKED_DONE || u1 + u2 != body_len)
			fail_msg("split at %zu: rc %d, consumed %zu", k, rc, u1 + u2);
	}
}

#define EXPECT_CHUNKED_OK(s, extra) expect_chunked_body((s), sizeof(s) - 1 - (extra), (extra))
#define EXPECT_CHUNKED_ERROR(s) do { \
		size_t used_; \
		assert_int_equal(chunk_whole((s), sizeof(s) - 1, &used_), HTTP_CHUNKED_ERROR); \
		assert_int_equal(chunk_bytewise((s), sizeof(s) - 1, &used_), HTTP_CHUNKED_ERROR); \
	} while (0)

static void test_chunked_simple(void **state)
{
	size_t used;

	EXPECT_CHUNKED_OK("5\r\nhello\r\n0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("1\r\n\r\r\n2\r\n\r\n\r\n0\r\n\r\n", 0);  /* data may be CR/LF */
	EXPECT_CHUNKED_OK("A\r\n0123456789\r\na\r\n0123456789\r\n000\r\n\r\n", 0);
	/* every proper prefix is MORE */
	assert_int_equal(chunk_whole("5\r\nhello\r\n0\r\n\r", 14, &used), HTTP_CHUNKED_MORE);
	assert_int_equal(used, 14);
}

static void test_chunked_stops_at_end(void **state)
{
	static const struct http_limits lim = { 8192, 64 };
	static struct http_head next;  /* big (4 KiB of headers): not on the stack */
	static const char s[] = "3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t used;

	EXPECT_CHUNKED_OK(s, strlen("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"));
	assert_int_equal(chunk_whole(s, sizeof(s) - 1, &used), HTTP_CHUNKED_DONE);
	/* the next request parses from there */
	assert_int_equal(http_parse_request(s + used, sizeof(s) - 1 - used, &lim, &next), HTTP_PARSE_DONE);
	assert_int_equal(next.target.len, 5);
	assert_memory_equal(s + used + next.target.off, "/next", 5);
	/* trailing bytes that would be an error inside the body are not looked at */
	EXPECT_CHUNKED_OK("0\r\n\r\n\n\r\x01zz", 5);
}

static void test_chunked_byte_at_a_time(void **state)
{
	static const char s[] = "4;a=b\r\nWiki\r\n5 ; q=\"x y\"\r\npedia\r\n0\r\nT: v\r\n\r\n";
	struct http_chunked c;
	size_t i, used;

	http_chunked_init(&c);
	for (i = 0; i + 1 < sizeof(s) - 1; i++) {
		assert_int_equal(http_chunked_scan(&c, s + i, 1, &used), HTTP_CHUNKED_MORE);
		assert_int_equal(used, 1);
	}
	assert_int_equal(http_chunked_scan(&c, s + i, 1, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, 1);
	/* empty input changes nothing */
	http_chunked_init(&c);
	assert_int_equal(http_chunked_scan(&c, s, 0, &used), HTTP_CHUNKED_MORE);
	assert_int_equal(used, 0);
}

static void test_chunked_extensions_valid(void **state)
{
	EXPECT_CHUNKED_OK("5;name\r\nhello\r\n0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("5;a=b;c=d;e\r\nhello\r\n0;last\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("5 ;a=b\r\nhello\r\n0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("5\t; a = b ; c\r\nhello\r\n0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("5;a=\"q \\\" \\\\ ;=\xe9\"\r\nhello\r\n0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("5;a=\"\"\r\nhello\r\n0\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("5;a=\"x\" ;b\r\nhello\r\n0\r\n\r\n", 0);
}

static void test_chunked_extensions_invalid(void **state)
{
	EXPECT_CHUNKED_ERROR("5;\r\nhello\r\n0\r\n\r\n");          /* no name */
	EXPECT_CHUNKED_ERROR("5;a=\r\nhello\r\n0\r\n\r\n");        /* no value */
	EXPECT_CHUNKED_ERROR("5 \r\nhello\r\n0\r\n\r\n");          /* BWS not before ';' */
	EXPECT_CHUNKED_ERROR("5;a \r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a=b \r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a=\"b\r\nhello\r\n0\r\n\r\n");     /* unterminated quote */
	EXPECT_CHUNKED_ERROR("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a\x01\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a=b\x7f\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a=\"\x00\"\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5;a=b\nhello\r\n0\r\n\r\n");         /* bare LF ends it */
	EXPECT_CHUNKED_ERROR("5;a@b\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5,6\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_trailers(void **state)
{
	EXPECT_CHUNKED_OK("0\r\nExpires: never\r\n\r\n", 0);
	EXPECT_CHUNKED_OK("1\r\nx\r\n0\r\nA: 1\r\nB:\r\nC: caf\xc3\xa9\t\r\n\r\nNEXT", 4);
	EXPECT_CHUNKED_ERROR("0\r\nNoColon\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\nA : 1\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\nA: 1\r\n folded\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\n: v\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\nA: \x00\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\nA: 1\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\nA: 1\r\n\n");
	EXPECT_CHUNKED_ERROR("0\r\nA: 1\r2\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\n\xc3\xa9: 1\r\n\r\n");
}

static void test_chunked_trailer_limits(void **state)
{
	static char buf[16384];
	size_t n, used;
	int i;

	n = (size_t)sprintf(buf, "0\r\n");
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(buf + n, "T%d: v\r\n", i);
	memcpy(buf + n, "\r\n", 2);
	assert_int_equal(chunk_whole(buf, n + 2, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, n + 2);
	n += (size_t)sprintf(buf + n, "T100: v\r\n");
	memcpy(buf + n, "\r\n", 2);
	assert_int_equal(chunk_whole(buf, n + 2, &used), HTTP_CHUNKED_ERROR);

	/* one trailer line of 8 KiB with its CRLF fits; one byte more does not */
	n = (size_t)sprintf(buf, "0\r\nT: ");
	memset(buf + n, 'v', 8192 - 3 - 2);
	n += 8192 - 3 - 2;
	memcpy(buf + n, "\r\n\r\n", 4);
	assert_int_equal(chunk_whole(buf, n + 4, &used), HTTP_CHUNKED_DONE);
	memset(buf + n, 'v', 1);
	memcpy(buf + n + 1, "\r\n\r\n", 4);
	assert_int_equal(chunk_whole(buf, n + 5, &used), HTTP_CHUNKED_ERROR);
	/* the same for a chunk-size line made long by extensions */
	n = (size_t)sprintf(buf, "1;a=");
	memset(buf + n, 'x', 9000);
	memcpy(buf + n + 9000, "\r\nx\r\n0\r\n\r\n", 10);
	assert_int_equal(chunk_whole(buf, n + 9010, &used), HTTP_CHUNKED_ERROR);
}

static void test_chunked_size_limits(void **state)
{
	struct http_chunked c;
	size_t used;

	EXPECT_CHUNKED_OK("0000000000000005\r\nhello\r\n0\r\n\r\n", 0);   /* 16 digits */
	EXPECT_CHUNKED_ERROR("00000000000000005\r\nhello\r\n0\r\n\r\n");  /* 17 digits */
	EXPECT_CHUNKED_ERROR("4000000000000000\r\n");                      /* 2^62 */
	EXPECT_CHUNKED_ERROR("ffffffffffffffff\r\n");
	EXPECT_CHUNKED_ERROR("10000000000000000\r\n");                     /* 2^64 */
	EXPECT_CHUNKED_ERROR("fffffffffffffffff1\r\n");
	http_chunked_init(&c);
	assert_int_equal(http_chunked_scan(&c, "3fffffffffffffff\r\n", 18, &used), HTTP_CHUNKED_MORE);
	assert_int_equal(c.remaining, (UINT64_C(1) << 62) - 1);
}

static void test_chunked_bad_size(void **state)
{
	EXPECT_CHUNKED_ERROR("0x10\r\n0123456789abcdef\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("+5\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("-5\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR(" 5\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("\t5\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("g\r\n");
	EXPECT_CHUNKED_ERROR(";a\r\n");
	EXPECT_CHUNKED_ERROR("5g\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello\r\n\r\n");  /* the last-chunk is missing */
}

static void test_chunked_missing_crlf_after_data(void **state)
{
	EXPECT_CHUNKED_ERROR("5\r\nhelloX\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello\rX0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello world\r\n0\r\n\r\n");  /* size smaller than data */
}

static void test_chunked_bare_lf(void **state)
{
	EXPECT_CHUNKED_ERROR("5\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello\r\n0\n\r\n");
	EXPECT_CHUNKED_ERROR("5\r\nhello\r\n0\r\n\n");
	EXPECT_CHUNKED_ERROR("5\r\r\nhello\r\n0\r\n\r\n");
	EXPECT_CHUNKED_ERROR("0\r\n\rX");    /* the final CRLF, too */
	EXPECT_CHUNKED_ERROR("0\r\n\r\r\n");
}

static void test_chunked_error_position_and_sticky(void **state)
{
	struct http_chunked c;
	size_t used;

	http_chunked_init(&c);
	assert_int_equal(http_chunked_scan(&c, "5\r\nhelloX", 9, &used), HTTP_CHUNKED_ERROR);
	assert_int_equal(used, 8);  /* the offending byte */
	assert_int_equal(http_chunked_scan(&c, "\r\n0\r\n\r\n", 7, &used), HTTP_CHUNKED_ERROR);
	assert_int_equal(used, 0);

	http_chunked_init(&c);
	assert_int_equal(http_chunked_scan(&c, "0\r\n\r\n", 5, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(http_chunked_scan(&c, "0\r\n\r\n", 5, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, 0);
}

static void test_chunked_large_data(void **state)
{
	const size_t size = 0x12345;
	char *buf = malloc(size + 64);
	struct http_chunked c;
	size_t n, off, used, step = 4093;
	int rc = HTTP_CHUNKED_MORE;

	assert_non_null(buf);
	n = (size_t)sprintf(buf, "12345\r\n");
	memset(buf + n, '\n', size);  /* data that would be errors if it were parsed */
	n += size;
	memcpy(buf + n, "\r\n0\r\n\r\n", 7);
	n += 7;
	http_chunked_init(&c);
	for (off = 0; off < n && rc == HTTP_CHUNKED_MORE; off += used) {
		size_t piece = n - off < step ? n - off : step;

		rc = http_chunked_scan(&c, buf + off, piece, &used);
		if (off == 0)  /* the data is skipped in bulk, not byte by byte */
			assert_int_equal(c.remaining, size - (step - 7));
	}
	assert_int_equal(rc, HTTP_CHUNKED_DONE);
	assert_int_equal(off, n);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_simple),
		cmocka_unit_test(test_chunked_stops_at_end),
		cmocka_unit_test(test_chunked_byte_at_a_time),
		cmocka_unit_test(test_chunked_extensions_valid),
		cmocka_unit_test(test_chunked_extensions_invalid),
		cmocka_unit_test(test_chunked_trailers),
		cmocka_unit_test(test_chunked_trailer_limits),
		cmocka_unit_test(test_chunked_size_limits),
		cmocka_unit_test(test_chunked_bad_size),
		cmocka_unit_test(test_chunked_missing_crlf_after_data),
		cmocka_unit_test(test_chunked_bare_lf),
		cmocka_unit_test(test_chunked_error_position_and_sticky),
		cmocka_unit_test(test_chunked_large_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
