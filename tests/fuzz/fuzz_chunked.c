/* fuzz_chunked.c: libFuzzer target for the chunked body scanner. The same input fed
 * whole and in pieces (split points from the first byte) must give the same verdict. */
#include <assert.h>
#include <stdint.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_chunked whole, split;
	size_t used = 0, pos = 0, step, n;
	int r1, r2 = HTTP_CHUNKED_MORE;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 7 + 1;
	data++;
	size--;
	http_chunked_init(&whole);
	r1 = http_chunked_scan(&whole, (const char *)data, size, &used);
	if (r1 == HTTP_CHUNKED_DONE)
		assert(used <= size);
	if (r1 == HTTP_CHUNKED_MORE)
		assert(used == size);
	http_chunked_init(&split);
	while (pos < size && r2 == HTTP_CHUNKED_MORE) {
		n = size - pos < step ? size - pos : step;
		r2 = http_chunked_scan(&split, (const char *)data + pos, n, &used);
		if (r2 == HTTP_CHUNKED_DONE)
			used += pos;
		pos += n;
	}
	assert(r1 == r2);
	return 0;
}
