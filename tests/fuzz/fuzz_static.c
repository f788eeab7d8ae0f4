/* fuzz_static.c: libFuzzer target for a static route's parsers (proto/http_static.c) on
 * arbitrary input: the parts, separated by NUL bytes, are a request path, a Range value,
 * an If-None-Match / If-Range value and an If-Modified-Since value. A path that is
 * accepted must name something under the root (no "..", no empty or "." segment, no
 * leading '/', no NUL); a range must lie inside the file; nothing may read outside the
 * slices given. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_static.h"
#include "fuzz_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The promises of an accepted relative path. */
static void check_rel(const char *rel)
{
	const char *seg = rel;
	size_t n = strlen(rel);

	assert(n < HTTP_STATIC_PATH_MAX);
	if (n == 0)
		return;
	assert(rel[0] != '/' && rel[n - 1] != '/');
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);

		assert(len > 0);
		assert(!(len == 1 && seg[0] == '.'));
		assert(!(len == 2 && seg[0] == '.' && seg[1] == '.'));
		if (!slash)
			break;
		seg = slash + 1;
	}
	(void)http_static_mime(rel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char rel[HTTP_STATIC_PATH_MAX], etag[HTTP_ETAG_MAX], date[HTTP_DATE_LEN];
	size_t path_len, range_len, tag_len, ims_len;
	char *path = fuzz_next_part(&p, end, &path_len);
	char *range = fuzz_next_part(&p, end, &range_len);
	char *tag = fuzz_next_part(&p, end, &tag_len);
	char *ims = fuzz_next_part(&p, end, &ims_len);
	uint64_t fsize = size * 997u, first, count;
	int dir;

	if (path && range && tag && ims) {
		if (http_static_path(path, path_len, NULL, rel, sizeof(rel), &dir) == 0)
			check_rel(rel);
		if (http_static_path(path, path_len, "/static", rel, sizeof(rel), &dir) == 0)
			check_rel(rel);
		if (http_static_path(path, path_len, NULL, rel, 8, &dir) == 0)
			assert(strlen(rel) < 8);
		if (http_static_range(range, range_len, fsize, &first, &count) == HTTP_RANGE_PARTIAL)
			assert(count > 0 && first < fsize && count <= fsize - first);
		http_static_etag(fsize, size, etag);
		http_static_date((time_t)size * 86399, date);
		struct http_static_cond q = {
			.if_none_match = tag_len ? tag : NULL, .if_none_match_len = tag_len,
			.if_modified_since = ims, .if_modified_since_len = ims_len,
			.if_range = tag, .if_range_len = tag_len,
		};
		(void)http_static_not_modified(&q, etag, (time_t)size);
		(void)http_static_range_applies(&q, etag, date);
		(void)http_static_etag_match(range, range_len, etag);
	}
	free(path);
	free(range);
	free(tag);
	free(ims);
	return 0;
}
