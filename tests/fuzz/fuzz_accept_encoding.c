/* fuzz_accept_encoding.c: libFuzzer target for the negotiation of content codings
 * (proto/accept_encoding.c). The input's NUL-separated parts are an Accept-Encoding
 * value, a Content-Type value and a response head's fields ('\n' becomes CRLF). The
 * chosen coding is one of the pool's order or identity and never one the value gives
 * q=0 (or leaves to a "*;q=0"); the value in pieces at its commas gives the same
 * choice as whole; the type match and the response check read only their bytes. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "fuzz_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum compress_enc fz_order[] = { COMPRESS_BR, COMPRESS_ZSTD, COMPRESS_GZIP };
static const char fz_types[] = "text/*,application/json,*/*";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_head h;
	static const struct http_limits lim = { 8192, 64 };
	const uint8_t *p = data, *end = data + size;
	struct compress_accept a, b;
	enum compress_enc e, e2;
	size_t ae_len, ct_len, hd_len, i, start;
	char *ae = fuzz_next_part(&p, end, &ae_len);
	char *ct = fuzz_next_part(&p, end, &ct_len);
	char *hd = fuzz_next_part(&p, end, &hd_len);
	char *resp = NULL;
	size_t n;

	if (!ae || !ct || !hd)
		goto out;
	compress_accept_init(&a);
	compress_accept_add(&a, ae, ae_len);
	e = compress_choose(&a, fz_order, 3);
	assert(e == COMPRESS_NONE || e == COMPRESS_BR || e == COMPRESS_ZSTD || e == COMPRESS_GZIP);
	if (e != COMPRESS_NONE) {
		int q = a.q[e] >= 0 ? a.q[e] : a.star;

		assert(q > 0 && q <= 1000);
		assert(a.q[COMPRESS_NONE] <= q);
	}
	for (i = 0; i < COMPRESS_ENC_N; i++)
		assert(a.q[i] >= -1 && a.q[i] <= 1000);
	/* several fields are one list (RFC 9110 5.3): split at commas outside quotes */
	compress_accept_init(&b);
	for (i = start = 0; i <= ae_len; i++) {
		if (i == ae_len || ae[i] == ',') {
			compress_accept_add(&b, ae + start, i - start);
			start = i + 1;
		}
		if (i < ae_len && ae[i] == '"')
			break;  /* quoted strings may hold commas: only unquoted values compare */
	}
	if (i > ae_len) {
		e2 = compress_choose(&b, fz_order, 3);
		assert(e2 == e);
	}
	(void)compress_type_match(ct, ct_len, fz_types);
	/* a response head of the given fields */
	resp = malloc(32 + 2 * hd_len);
	if (!resp)
		goto out;
	n = (size_t)sprintf(resp, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < hd_len; i++) {
		if (hd[i] == '\n')
			resp[n++] = '\r';
		resp[n++] = hd[i];
	}
	memcpy(resp + n, "\r\n\r\n", 4);
	n += 4;
	if (http_parse_response(resp, n, &lim, HTTP_M_GET, &h) == HTTP_PARSE_DONE) {
		enum compress_skip s = compress_response_check(HTTP_M_GET, resp, &h, fz_types, 1024);

		assert(s <= COMPRESS_SKIP_SMALL);
		assert(compress_response_check(HTTP_M_HEAD, resp, &h, fz_types, 0) == COMPRESS_SKIP_METHOD);
	}
out:
	free(resp);
	free(ae);
	free(ct);
	free(hd);
	return 0;
}
