/* fuzz_cache_revalidate.c: libFuzzer target for proto/cache_revalidate.c. The input's
 * NUL-separated parts are a request's header lines, a stored response's header lines, a
 * 304's header lines ('\n' becomes CRLF), an ETag and a Last-Modified, and an output
 * size. Whatever the heads: nothing is written past the output's size; what is made is
 * NUL-ended at its length; a revalidation request parses as a request with the method,
 * target and Host of the one it came from, no Range or client conditions and the
 * validators given; a freshened head parses as a response with the stored status and
 * the stored framing. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_revalidate.h"
#include "fuzz_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_head fz_rq, fz_st, fz_nm, fz_out;
static const struct http_limits fz_lim = { 65536, 128 };

/* A NUL-ended copy of part, or NULL when it holds a NUL-free empty text. */
static char *fz_text(const char *part, size_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, part, len);
		s[len] = '\0';
	}
	return s;
}

static int fz_count(const char *base, const struct http_head *h, const char *name)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < h->nheaders; i++)
		n += http_slice_eq(base, h->headers[i].name, name);
	return n;
}

static void fz_request(const char *rq, size_t rq_len, const char *etag, const char *lm, size_t cap)
{
	char *out = malloc(cap ? cap : 1);
	int n;

	if (!out || http_parse_request(rq, rq_len, &fz_lim, &fz_rq) != HTTP_PARSE_DONE) {
		free(out);
		return;
	}
	n = cache_revalidation_request(rq, &fz_rq, etag, lm, out, cap);
	assert(n >= -1 && (n == -1 || (size_t)n < cap));
	if (n > 0) {
		assert(strlen(out) == (size_t)n);
		if (http_parse_request(out, (size_t)n, &fz_lim, &fz_out) == HTTP_PARSE_DONE) {
			assert(fz_out.method_id == fz_rq.method_id);
			assert(fz_out.target.len == fz_rq.target.len &&
			       !memcmp(out + fz_out.target.off, rq + fz_rq.target.off, fz_rq.target.len));
			assert(fz_count(out, &fz_out, "range") == 0 && fz_count(out, &fz_out, "if-match") == 0);
			assert(fz_count(out, &fz_out, "if-none-match") == (etag && *etag ? 1 : 0));
		}
	}
	free(out);
}

static void fz_freshen(const char *st, size_t st_len, const char *nm, size_t nm_len, size_t cap)
{
	char *out = malloc(cap ? cap : 1);
	int n;

	if (!out || http_parse_response(st, st_len, &fz_lim, HTTP_M_GET, &fz_st) != HTTP_PARSE_DONE ||
	    http_parse_response(nm, nm_len, &fz_lim, HTTP_M_GET, &fz_nm) != HTTP_PARSE_DONE) {
		free(out);
		return;
	}
	n = cache_freshen_head(st, &fz_st, nm, &fz_nm, out, cap);
	assert(n >= -1 && (n == -1 || (size_t)n < cap));
	if (n > 0) {
		assert(strlen(out) == (size_t)n);
		/* the 304's fields may break the parse (two Host-like fields are a request's
		 * rule, not a response's); when it parses, the framing is the stored one */
		if (http_parse_response(out, (size_t)n, &fz_lim, HTTP_M_GET, &fz_out) == HTTP_PARSE_DONE) {
			assert(fz_out.status == fz_st.status);
			assert(fz_out.body == fz_st.body);
			assert(fz_out.body != HTTP_BODY_LENGTH || fz_out.content_length == fz_st.content_length);
		}
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	size_t lens[6], rq_len = 0, st_len = 0, nm_len = 0, cap;
	char *parts[6], *rq = NULL, *st = NULL, *nm = NULL, *etag = NULL, *lm = NULL;
	int i;

	for (i = 0; i < 6; i++)
		parts[i] = fuzz_next_part(&p, end, &lens[i]);
	for (i = 0; i < 6; i++)
		if (!parts[i])
			goto out;
	rq = fuzz_head("GET /a?b HTTP/1.1\r\n", parts[0], lens[0], &rq_len);
	st = fuzz_head("HTTP/1.1 200 OK\r\n", parts[1], lens[1], &st_len);
	nm = fuzz_head("HTTP/1.1 304 Not Modified\r\n", parts[2], lens[2], &nm_len);
	etag = fz_text(parts[3], lens[3]);
	lm = fz_text(parts[4], lens[4]);
	cap = lens[5] ? (size_t)(unsigned char)parts[5][0] * 16 : 4096;
	if (rq && st && nm && etag && lm) {
		fz_request(rq, rq_len, etag, lm, cap);
		fz_freshen(st, st_len, nm, nm_len, cap);
	}
out:
	for (i = 0; i < 6; i++)
		free(parts[i]);
	free(rq);
	free(st);
	free(nm);
	free(etag);
	free(lm);
	return 0;
}
