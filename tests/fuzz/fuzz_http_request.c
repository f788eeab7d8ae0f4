/* fuzz_http_request.c: libFuzzer target for the request head parser.
 * Checks invariants a proxy relies on, not only "no crash". */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_head h, again;
	struct http_limits lim = { 8192, 64 };
	const char *buf = (const char *)data;
	uint32_t i;
	int r;

	r = http_parse_request(buf, size, &lim, &h);
	if (r == HTTP_PARSE_DONE) {
		/* everything reported lies inside the head */
		assert(h.head_len <= size && h.head_len <= lim.head_max_bytes);
		assert(h.method.off + h.method.len <= h.head_len);
		assert(h.target.off + h.target.len <= h.head_len);
		assert(h.nheaders <= lim.header_max_count);
		for (i = 0; i < h.nheaders; i++) {
			assert(h.headers[i].name.off + h.headers[i].name.len <= h.head_len);
			assert(h.headers[i].value.off + h.headers[i].value.len <= h.head_len);
		}
		/* framing is one thing or the other, never both */
		assert(h.body != HTTP_BODY_UNTIL_CLOSE);
		/* the head alone parses the same way: no byte after it influenced it */
		r = http_parse_request(buf, h.head_len, &lim, &again);
		assert(r == HTTP_PARSE_DONE && again.head_len == h.head_len && again.body == h.body &&
		       again.content_length == h.content_length);
	} else if (r == HTTP_PARSE_ERROR) {
		assert(h.error_status >= 400 && h.error_status < 600);
	}
	return 0;
}
