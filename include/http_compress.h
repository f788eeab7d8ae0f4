/* http_compress.h: compression of proxied responses on the HTTP/1.1 data path
 * (lb/http_compress.c): the coding a request accepts, the response head rewritten for
 * it, and the filter the body passes through on its way to the client (and to the
 * cache, which keeps the compressed variant). The codings are proto/compress.c's. */
#ifndef FULCRUM_HTTP_COMPRESS_H
#define FULCRUM_HTTP_COMPRESS_H

#include <stdint.h>

#include "compress.h"
#include "http.h"

struct client;
struct cfg_compress;

/* The filter's part of an exchange (c->ex->compress), made at the response head. */
struct http_compress_x {
	struct compress_stream *s;     /* NULL once finished */
	enum compress_enc enc;
	enum compress_op pending;      /* a flush or finish that ran out of room */
	enum http_body from;           /* the backend's framing, taken off */
	struct http_chunked dechunk;   /* ... when chunked */
	unsigned chunked:1;            /* to the client in chunks (HTTP/1.1), else until close */
	unsigned to_cache:1;           /* the cache keeps a copy (always chunked) */
	unsigned has_pending:1;
	unsigned dirty:1;              /* input fed since the last flush */
	unsigned finished:1;           /* the last bytes are in c->out */
	uint64_t in, out, cpu_ns;      /* body bytes in and out, encoder CPU time */
};

/* A request of a pool with compress (cfg), head h over base: the coding its
 * Accept-Encoding allows goes into the exchange (compress_enc), COMPRESS_NONE if none. */
void http_compress_request(struct client *c, const struct cfg_compress *cfg, const char *base,
			   const struct http_head *h);
/* The backend's final response head (*base, *h), before the cache and the rewrite see
 * it. A response that may be compressed gets Vary: Accept-Encoding; one compressed for
 * this client also its Content-Encoding, a weak ETag and new framing (chunked, or until
 * close for HTTP/1.0), and the exchange its filter. (*base, *h) then point to the new
 * head, (*cache_base, *cache_h) to the head the cache keeps (chunked whatever the client
 * speaks), both in *held, which the caller frees once they are copied (NULL when the
 * head stays). 0, or -1 out of memory. */
int http_compress_response_head(struct client *c, const char **base, const struct http_head **h,
				const char **cache_base, const struct http_head **cache_h, void **held);
/* Moves framed response bytes from the backend's buffer through the encoder into c->out
 * (and the cache's copy) as long as c->out has room; ends the stream when the response
 * is whole. 0, or -1 when the encoder failed. */
int http_compress_pump(struct client *c);

#endif
