/* fuzz_http_response.c: libFuzzer target for the response head parser, with the
 * request method taken from the first input byte (HEAD and CONNECT change framing). */
#include <assert.h>
#include <stdint.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_head h;
	struct http_limits lim = { 16384, 128 };
	enum http_method m;
	int r;

	if (size < 1)
		return 0;
	m = (enum http_method)(data[0] % (HTTP_M_PATCH + 1));
	r = http_parse_response((const char *)data + 1, size - 1, &lim, m, &h);
	if (r == HTTP_PARSE_DONE) {
		assert(h.head_len <= size - 1);
		assert(h.status >= 100 && h.status <= 999);
		if (m == HTTP_M_HEAD || h.status == 204 || h.status == 304 ||
		    (h.status >= 100 && h.status < 200))
			assert(h.body == HTTP_BODY_NONE);
	} else if (r == HTTP_PARSE_ERROR) {
		assert(h.error_status == 502);
	}
	return 0;
}
