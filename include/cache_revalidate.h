/* cache_revalidate.h: the two texts a revalidation of a stored response needs (RFC 9111
 * 4.3), made from parsed heads without allocating: the request that asks the origin
 * whether the stored response is still good, and the stored head freshened from the
 * origin's 304. The cache's background refresh (lb/http_cache.c) uses both. */
#ifndef FULCRUM_CACHE_REVALIDATE_H
#define FULCRUM_CACHE_REVALIDATE_H

#include <stddef.h>

#include "http.h"

/* The request head that revalidates a stored response, into out (cap bytes, NUL-ended):
 * req (parsed as h), the head the backend would get for the client's request, without
 * the client's own conditional fields and Range (the question is the cache's, and its
 * answer must be whole), with If-None-Match: etag and If-Modified-Since: last_modified
 * added (each NULL or "" = none; RFC 9111 4.3.1 sends both when both are known).
 * Returns the length, or -1 when it does not fit or a validator holds CR, LF or NUL. */
int cache_revalidation_request(const char *req, const struct http_head *h, const char *etag,
			       const char *last_modified, char *out, size_t cap);

/* The stored response head (stored, parsed as sh) freshened by the 304 (resp, parsed as
 * nh) as RFC 9111 3.2 and 4.3.4 say, into out (cap bytes, NUL-ended): the stored status
 * line, then each stored field unless the 304 carries a field of that name, then the
 * 304's fields. Not taken from the 304: the framing and hop-by-hop fields, Age,
 * Set-Cookie (never stored), and the fields the stored body depends on:
 * Content-Encoding, Content-Range, Content-Type, ETag and Vary (the stored body may be
 * fulcrum's compression of the origin's, with its weakened ETag and merged Vary).
 * Returns the length, or -1 when it does not fit. */
int cache_freshen_head(const char *stored, const struct http_head *sh, const char *resp,
		       const struct http_head *nh, char *out, size_t cap);

#endif
