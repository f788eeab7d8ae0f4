/* fuzz_proxy_proto.c: libFuzzer target for the PROXY v1/v2 reader: a header it accepts
 * lies within the input, and every prefix of it asks for more bytes. */
#include <assert.h>
#include <stdint.h>

#include "proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info pi;
	const char *err = NULL;
	int r = proxy_parse((const char *)data, size, &pi, &err);

	assert(r <= (int)size);
	if (r > 0) {
		assert(pi.version == 1 || pi.version == 2);
		/* one byte short of a complete header is "need more", never "valid" */
		assert(proxy_parse((const char *)data, (size_t)r - 1, &pi, &err) <= 0);
	}
	return 0;
}
