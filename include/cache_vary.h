/* cache_vary.h: what tells cached responses apart beyond the URL: the Vary names of a
 * response and the secondary key they make of a request (RFC 9111 4.1), and the tags of
 * Cache-Tag and Surrogate-Key a response can be purged by. Results are slices or bytes in
 * caller buffers; nothing allocates. */
#ifndef FULCRUM_CACHE_VARY_H
#define FULCRUM_CACHE_VARY_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define CACHE_VARY_MAX    16   /* distinct Vary names; more: not cacheable */
#define CACHE_TAGS_MAX    64   /* tags read from one response; the rest are ignored */
#define CACHE_TAG_LEN_MAX 256  /* a longer tag is skipped */

/* The Vary of one response: names are slices of its buffer, distinct (any case) and
 * sorted case-insensitively, so two responses listing the same names agree. */
struct cache_vary {
	struct http_slice names[CACHE_VARY_MAX];
	uint32_t n;
	int star;                   /* Vary: * (never matches: not storable) */
};

/* All Vary fields of h (buffer base) into *v. Returns 0, or -1 for more than
 * CACHE_VARY_MAX names or an element that is not a field name. */
int cache_vary_parse(const char *base, const struct http_head *h, struct cache_vary *v);

/* The secondary key of request rq (buffer rq_base) for the names of v (buffer v_base)
 * into out[0..cap): per name, "name: value\n" with the name in lower case and the values
 * of several fields joined by ", ", or "name\n" when the request has no such field (not
 * the same as an empty one). Returns its length, or -1 if it does not fit (then the
 * request is not served from or stored in the cache). */
int cache_vary_key(const char *rq_base, const struct http_head *rq, const char *v_base,
		   const struct cache_vary *v, char *out, size_t cap);

/* Walks the tags of a response: Cache-Tag elements (separated by commas or whitespace),
 * then Surrogate-Key elements (separated by whitespace), in field order. */
struct cache_tag_iter {
	const char *base;
	const struct http_head *h;
	uint32_t field;             /* next header index */
	uint32_t pos;               /* offset in that field's value */
	uint32_t count;             /* tags returned so far */
};

void cache_tags_begin(struct cache_tag_iter *it, const char *base, const struct http_head *h);
/* The next tag as a slice of the base: 1, or 0 at the end or after CACHE_TAGS_MAX. */
int cache_tags_next(struct cache_tag_iter *it, struct http_slice *tag);

#endif
