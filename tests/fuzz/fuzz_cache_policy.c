/* fuzz_cache_policy.c: libFuzzer target for the cache policy (proto/cache_policy.c,
 * cache_vary.c, http_date.c). The input's NUL-separated parts are a request's header
 * lines and a response's header lines ('\n' becomes CRLF), a status and a key length;
 * each is parsed by the HTTP parser and then classified, stored, aged, varied, tagged and
 * compared. Every time and age stays within 0..CACHE_DELTA_MAX, an entry's state only
 * moves on as time passes, every slice lies in its buffer, a Vary key never passes its
 * bound and is a prefix-stable function of the request, tags obey their limits. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_policy.h"
#include "cache_vary.h"
#include "http_date.h"
#include "fuzz_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_head fz_rq, fz_rs;

static int fz_in(struct http_slice s, size_t len)
{
	return (size_t)s.off + s.len <= len;
}

static void fz_check(const char *rq, size_t rq_len, const char *rs, size_t rs_len, unsigned cap)
{
	static const struct cache_defaults d = { 30, 5, 60, 0 };
	struct cache_request c;
	struct cache_entry e;
	struct cache_vary v;
	struct cache_tag_iter it;
	struct http_slice t;
	char key[512], key2[512];
	int64_t age, now, prev_state = CACHE_FRESH, date;
	uint32_t i, ntags = 0;
	int k, k2;

	cache_request_class(rq, &fz_rq, cap & 1, &c);
	assert(c.max_age >= -1 && c.max_age <= CACHE_DELTA_MAX);
	assert(c.max_stale >= -1 && c.max_stale <= CACHE_DELTA_MAX);
	assert(c.min_fresh >= 0 && c.min_fresh <= CACHE_DELTA_MAX);
	if (cache_response_policy(&c, rs, &fz_rs, 1000, 1003, &d, &e) == CACHE_STORE) {
		assert(c.bypass == CACHE_BYPASS_NONE);
		assert(e.lifetime >= 0 && e.lifetime <= CACHE_DELTA_MAX);
		assert(e.initial_age >= 0 && e.initial_age <= CACHE_DELTA_MAX);
		assert(e.swr >= 0 && e.swr <= CACHE_DELTA_MAX && e.sie >= 0 && e.sie <= CACHE_DELTA_MAX);
		assert(fz_in(e.etag, rs_len) && fz_in(e.last_modified, rs_len));
		for (now = 0; now < 4000; now += 97) {
			int s = cache_entry_state(&e, NULL, now, &age);

			assert(age >= e.initial_age && age <= CACHE_DELTA_MAX);
			assert(s >= prev_state && s <= CACHE_EXPIRED);
			prev_state = s;
			(void)cache_entry_state(&e, &c, now, &age);
		}
		(void)cache_entry_state(&e, &c, INT64_MAX, &age);
		assert(age == CACHE_DELTA_MAX);
	}
	if (cache_vary_parse(rs, &fz_rs, &v) == 0) {
		assert(v.n <= CACHE_VARY_MAX);
		for (i = 0; i < v.n; i++) {
			assert(v.names[i].len > 0 && fz_in(v.names[i], rs_len));
			if (i)
				assert(strncasecmp(rs + v.names[i - 1].off, rs + v.names[i].off,
						   v.names[i].len < v.names[i - 1].len ? v.names[i].len
										    : v.names[i - 1].len) <= 0);
		}
		k = cache_vary_key(rq, &fz_rq, rs, &v, key, cap % sizeof(key));
		k2 = cache_vary_key(rq, &fz_rq, rs, &v, key2, sizeof(key2));
		assert(k <= (int)(cap % sizeof(key)));
		if (k >= 0)
			assert(k2 == k && memcmp(key, key2, (size_t)k) == 0);
	}
	cache_tags_begin(&it, rs, &fz_rs);
	while (cache_tags_next(&it, &t)) {
		assert(t.len > 0 && t.len <= CACHE_TAG_LEN_MAX && fz_in(t, rs_len));
		assert(!memchr(rs + t.off, ' ', t.len) && !memchr(rs + t.off, '\t', t.len));
		ntags++;
	}
	assert(ntags <= CACHE_TAGS_MAX);
	k = cache_conditional(rq, &fz_rq, rs, &fz_rs, 1000000000);
	assert(k >= CACHE_COND_NONE && k <= CACHE_COND_FULL);
	for (i = 0; i < fz_rs.nheaders; i++)
		if (http_date_parse(rs + fz_rs.headers[i].value.off, fz_rs.headers[i].value.len, &date) == 0)
			assert(date >= 0 && date <= 253402300799LL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	size_t rq_part_len, rs_part_len, status_len, cap_len, rq_len = 0, rs_len = 0;
	char *rq_part = fuzz_next_part(&p, end, &rq_part_len);
	char *rs_part = fuzz_next_part(&p, end, &rs_part_len);
	char *status = fuzz_next_part(&p, end, &status_len);
	char *cap = fuzz_next_part(&p, end, &cap_len);
	char *rq = NULL, *rs = NULL, start[32];
	int64_t t;

	if (!rq_part || !rs_part || !status || !cap)
		goto out;
	if (http_date_parse(rq_part, rq_part_len, &t) == 0)
		assert(t >= 0 && t <= 253402300799LL);
	snprintf(start, sizeof(start), "HTTP/1.1 %03u X\r\n",
		 status_len ? 100 + (unsigned char)status[0] * 2u : 200);
	rq = fuzz_head("GET / HTTP/1.1\r\nHost: a\r\n", rq_part, rq_part_len, &rq_len);
	rs = fuzz_head(start, rs_part, rs_part_len, &rs_len);
	if (!rq || !rs)
		goto out;
	if (http_parse_request(rq, rq_len, NULL, &fz_rq) != HTTP_PARSE_DONE ||
	    http_parse_response(rs, rs_len, NULL, HTTP_M_GET, &fz_rs) != HTTP_PARSE_DONE)
		goto out;
	fz_check(rq, rq_len, rs, rs_len, cap_len ? (unsigned char)cap[0] * 3u : 511u);
out:
	free(rq_part);
	free(rs_part);
	free(status);
	free(cap);
	free(rq);
	free(rs);
	return 0;
}
