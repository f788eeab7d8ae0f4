/* test_compress.c: unit tests of the content codings (proto/compress.c,
 * proto/accept_encoding.c): round trips through each library's decoder in pieces and
 * with flushes, a tiny output buffer, Accept-Encoding with q-values, "*", identity and
 * exclusions, the type list, and which responses may be compressed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"

#define SRC_LEN (300 * 1024)

static char *make_text(size_t n)
{
	static const char *const words[] = { "<div class=\"item\">", "hello", "world", "</div>\n",
					     "fulcrum", "\"name\": ", "42, ", "balancer", "edge " };
	char *s = malloc(n);
	size_t i = 0;
	uint32_t x = 12345;

	assert_non_null(s);
	/* words of a small vocabulary in a pseudo-random order: compressible as HTML is */
	while (i < n) {
		const char *w;
		size_t k;

		x = x * 1103515245 + 12345;
		w = words[(x >> 16) % 9];
		for (k = 0; w[k] && i < n; k++)
			s[i++] = w[k];
	}
	return s;
}

/* Compresses src[0..n) in pieces of `piece` bytes into an output buffer `ocap` at a time,
 * flushing after every piece when flush, finishing at the end. Returns the compressed
 * bytes (malloc) and their length in *out_len. After each flush, the bytes out so far
 * must decode to everything fed so far (checked by the caller through decode()). */
static unsigned char *encode(enum compress_enc e, int level, const char *src, size_t n, size_t piece,
			     size_t ocap, int flush, size_t *out_len)
{
	struct compress_stream *s = compress_new(e, level);
	size_t cap = n + 1024, len = 0, off = 0;
	unsigned char *out = malloc(cap);

	assert_non_null(s);
	assert_non_null(out);
	while (off <= n) {
		size_t k = n - off < piece ? n - off : piece;
		enum compress_op op = off + k == n ? COMPRESS_FINISH : flush ? COMPRESS_FLUSH : COMPRESS_RUN;
		int r;

		do {
			size_t used, produced, room = cap - len < ocap ? cap - len : ocap;

			assert_true(room > 0);
			r = compress_run(s, src + off, k, &used, out + len, room, &produced, op);
			assert_true(r >= 0);
			assert_true(used <= k);
			assert_true(produced <= room);
			off += used;
			k -= used;
			len += produced;
		} while (r == 0);
		assert_int_equal(k, 0);
		if (op == COMPRESS_FINISH)
			break;
	}
	compress_free(s);
	*out_len = len;
	return out;
}

/* Decodes with the coding's own library; returns the length or -1. */
static long decode(enum compress_enc e, const unsigned char *in, size_t n, char *out, size_t cap)
{
	switch (e) {
	case COMPRESS_GZIP: {
		z_stream z;
		long r;

		memset(&z, 0, sizeof(z));
		assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)n;
		z.next_out = (Bytef *)out;
		z.avail_out = (uInt)cap;
		r = inflate(&z, Z_FINISH) == Z_STREAM_END ? (long)z.total_out : -1;
		inflateEnd(&z);
		return r;
	}
	case COMPRESS_BR: {
		size_t dl = cap;

		return BrotliDecoderDecompress(n, in, &dl, (uint8_t *)out) == BROTLI_DECODER_RESULT_SUCCESS ? (long)dl : -1;
	}
	case COMPRESS_ZSTD: {
		size_t r = ZSTD_decompress(out, cap, in, n);

		return ZSTD_isError(r) ? -1 : (long)r;
	}
	default:
		return -1;
	}
}

/* A flushed prefix decodes (streaming) to everything fed before the flush. */
static long decode_prefix(enum compress_enc e, const unsigned char *in, size_t n, char *out, size_t cap)
{
	switch (e) {
	case COMPRESS_GZIP: {
		z_stream z;
		long r;
		int rc;

		memset(&z, 0, sizeof(z));
		assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)n;
		z.next_out = (Bytef *)out;
		z.avail_out = (uInt)cap;
		rc = inflate(&z, Z_SYNC_FLUSH);
		r = rc == Z_OK || rc == Z_BUF_ERROR ? (long)z.total_out : -1;
		inflateEnd(&z);
		return r;
	}
	case COMPRESS_BR: {
		BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		size_t ai = n, ao = cap;
		const uint8_t *ni = in;
		uint8_t *no = (uint8_t *)out;
		BrotliDecoderResult r = BrotliDecoderDecompressStream(d, &ai, &ni, &ao, &no, NULL);

		BrotliDecoderDestroyInstance(d);
		return r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? (long)(cap - ao) : -1;
	}
	case COMPRESS_ZSTD: {
		ZSTD_DStream *d = ZSTD_createDStream();
		ZSTD_inBuffer ib = { in, n, 0 };
		ZSTD_outBuffer ob = { out, cap, 0 };
		size_t r = ZSTD_decompressStream(d, &ob, &ib);

		ZSTD_freeDStream(d);
		return ZSTD_isError(r) ? -1 : (long)ob.pos;
	}
	default:
		return -1;
	}
}

static void round_trip(enum compress_enc e, int level, size_t piece, size_t ocap, int flush)
{
	char *src = make_text(SRC_LEN), *back = malloc(SRC_LEN + 16);
	size_t clen;
	unsigned char *c = encode(e, level, src, SRC_LEN, piece, ocap, flush, &clen);

	assert_non_null(back);
	assert_true(clen < SRC_LEN / 2);  /* it compressed */
	assert_int_equal(decode(e, c, clen, back, SRC_LEN + 16), SRC_LEN);
	assert_memory_equal(back, src, SRC_LEN);
	free(c);
	free(back);
	free(src);
}

static void test_round_trips(void **state)
{
	enum compress_enc e;

	(void)state;
	for (e = COMPRESS_GZIP; e < COMPRESS_ENC_N; e++) {
		int lo, hi;

		compress_level_range(e, &lo, &hi);
		round_trip(e, lo, SRC_LEN, 1 << 20, 0);          /* all at once */
		round_trip(e, hi > 9 ? 9 : hi, 16384, 16384, 0); /* in buffers */
		round_trip(e, 4, 1000, 7, 1);                    /* flushes, tiny output room */
		round_trip(e, 3, 16384, 1 << 20, 1);
	}
}

/* What went out at a flush decodes to all the input fed before it: a client sees the
 * first part of a streamed answer before the backend sends the rest. */
static void test_flush_emits_everything(void **state)
{
	enum compress_enc e;

	(void)state;
	for (e = COMPRESS_GZIP; e < COMPRESS_ENC_N; e++) {
		struct compress_stream *s = compress_new(e, 4);
		unsigned char out[4096];
		char back[256];
		size_t used, produced;

		assert_non_null(s);
		assert_int_equal(compress_run(s, "data: first event\n\n", 19, &used, out, sizeof(out), &produced,
					      COMPRESS_FLUSH), 1);
		assert_int_equal(used, 19);
		assert_int_equal(decode_prefix(e, out, produced, back, sizeof(back)), 19);
		assert_memory_equal(back, "data: first event\n\n", 19);
		compress_free(s);
	}
}

static void test_empty_and_names(void **state)
{
	enum compress_enc e;

	(void)state;
	for (e = COMPRESS_GZIP; e < COMPRESS_ENC_N; e++) {
		size_t clen;
		char back[8];
		unsigned char *c = encode(e, 1, "", 0, 1, 64, 0, &clen);

		assert_true(clen > 0);
		assert_int_equal(decode(e, c, clen, back, sizeof(back)), 0);
		free(c);
		assert_int_equal(compress_enc_parse(compress_enc_name(e), strlen(compress_enc_name(e))), e);
	}
	assert_null(compress_new(COMPRESS_NONE, 1));
	assert_int_equal(compress_enc_parse("X-GZIP", 6), COMPRESS_GZIP);
	assert_int_equal(compress_enc_parse("deflate", 7), COMPRESS_NONE);
	assert_string_equal(compress_enc_name(COMPRESS_BR), "br");
}

static const enum compress_enc pref[] = { COMPRESS_BR, COMPRESS_ZSTD, COMPRESS_GZIP };

static enum compress_enc choose(const char *v)
{
	struct compress_accept a;

	compress_accept_init(&a);
	if (v)
		compress_accept_add(&a, v, strlen(v));
	return compress_choose(&a, pref, 3);
}

static void test_accept_encoding(void **state)
{
	(void)state;
	assert_int_equal(choose(NULL), COMPRESS_NONE);              /* no field: as the app sent it */
	assert_int_equal(choose(""), COMPRESS_NONE);
	assert_int_equal(choose("gzip"), COMPRESS_GZIP);
	assert_int_equal(choose("gzip, deflate, br"), COMPRESS_BR);  /* ties: the pool's order */
	assert_int_equal(choose("gzip, zstd"), COMPRESS_ZSTD);
	assert_int_equal(choose("br;q=0.5, gzip"), COMPRESS_GZIP);   /* q decides first */
	assert_int_equal(choose("br;q=0.5, gzip;q=0.4"), COMPRESS_BR);
	assert_int_equal(choose("GZIP ; Q=1.0"), COMPRESS_GZIP);
	assert_int_equal(choose("*"), COMPRESS_BR);
	assert_int_equal(choose("*;q=0.1, br;q=0"), COMPRESS_ZSTD);  /* q=0 excludes */
	assert_int_equal(choose("*;q=0"), COMPRESS_NONE);
	assert_int_equal(choose("gzip;q=0"), COMPRESS_NONE);
	assert_int_equal(choose("identity"), COMPRESS_NONE);
	assert_int_equal(choose("identity;q=1, gzip;q=0.5"), COMPRESS_NONE);
	assert_int_equal(choose("identity;q=0, gzip;q=0.5"), COMPRESS_GZIP);
	assert_int_equal(choose("x-gzip"), COMPRESS_GZIP);
	assert_int_equal(choose("deflate, compress"), COMPRESS_NONE);
	/* bad q-values drop their element, not the field */
	assert_int_equal(choose("br;q=2, gzip"), COMPRESS_GZIP);
	assert_int_equal(choose("br;q=0.0001, gzip;q=0.1"), COMPRESS_GZIP);
	assert_int_equal(choose("br;q=1.001, zstd;q=.5, gzip;q=0.001"), COMPRESS_GZIP);
	assert_int_equal(choose("br;q=\"1\", gzip"), COMPRESS_GZIP);
	assert_int_equal(choose("br;level=\"a,b\";q=0.9, gzip;q=0.8"), COMPRESS_BR);
	assert_int_equal(choose(",, ,gzip ,,"), COMPRESS_GZIP);
	assert_int_equal(choose("gz ip"), COMPRESS_NONE);
	/* a coding named twice: the larger q */
	assert_int_equal(choose("br;q=0, br;q=0.5"), COMPRESS_BR);
}

static void test_accept_head(void **state)
{
	static const struct http_limits lim = { 16384, 128 };
	static struct http_head h;
	const char *rq = "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br;q=0\r\naccept-encoding: gzip\r\n\r\n";
	struct compress_accept a;

	(void)state;
	assert_int_equal(http_parse_request(rq, strlen(rq), &lim, &h), HTTP_PARSE_DONE);
	compress_accept_head(&a, rq, &h);
	assert_int_equal(compress_choose(&a, pref, 3), COMPRESS_GZIP);
}

static const char types[] = "text/*,application/json,application/javascript";

static void test_types(void **state)
{
	(void)state;
	assert_true(compress_type_match("text/html; charset=utf-8", 24, types));
	assert_true(compress_type_match("TEXT/Plain", 10, types));
	assert_true(compress_type_match(" application/json ;x=y", 22, types));
	assert_false(compress_type_match("application/jsonx", 17, types));
	assert_false(compress_type_match("image/png", 9, types));
	assert_false(compress_type_match("text", 4, types));
	assert_false(compress_type_match("text/", 5, types));
	assert_false(compress_type_match("textual/html", 12, types));
	assert_false(compress_type_match("", 0, types));
}

static enum compress_skip check(enum http_method m, const char *head)
{
	static const struct http_limits lim = { 16384, 128 };
	static struct http_head h;
	static char buf[2048];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", head);

	assert_int_equal(http_parse_response(buf, (size_t)n, &lim, m, &h), HTTP_PARSE_DONE);
	return compress_response_check(m, buf, &h, types, 1024);
}

static void test_response_check(void **state)
{
	(void)state;
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n"),
			 COMPRESS_OK);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n"),
			 COMPRESS_OK);  /* length unknown: compressed */
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 404 No\r\nContent-Type: application/json\r\n"), COMPRESS_OK);
	assert_int_equal(check(HTTP_M_HEAD, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n"),
			 COMPRESS_SKIP_METHOD);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 206 P\r\nContent-Type: text/html\r\nContent-Range: bytes 0-1/9\r\nContent-Length: 2\r\n"),
			 COMPRESS_SKIP_STATUS);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Range: bytes 0-1/9\r\nContent-Length: 2000\r\n"),
			 COMPRESS_SKIP_RANGE);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 304 N\r\nContent-Type: text/html\r\n"), COMPRESS_SKIP_STATUS);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 204 N\r\nContent-Type: text/html\r\n"), COMPRESS_SKIP_STATUS);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n"),
			 COMPRESS_SKIP_NOBODY);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: 5000\r\n"),
			 COMPRESS_SKIP_ENCODED);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: identity\r\nContent-Length: 5000\r\n"),
			 COMPRESS_OK);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nCache-Control: public, No-Transform\r\nContent-Length: 5000\r\n"),
			 COMPRESS_SKIP_NOTRANSFORM);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nCache-Control: no-transformed\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n"),
			 COMPRESS_OK);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n"),
			 COMPRESS_SKIP_TYPE);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n"), COMPRESS_SKIP_TYPE);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1023\r\n"),
			 COMPRESS_SKIP_SMALL);
	assert_int_equal(check(HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1024\r\n"),
			 COMPRESS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_flush_emits_everything),
		cmocka_unit_test(test_empty_and_names),
		cmocka_unit_test(test_accept_encoding),
		cmocka_unit_test(test_accept_head),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_response_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
