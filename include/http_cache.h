/* http_cache.h: the edge cache on the HTTP/1.1 data path (lb/http_cache.c): a request
 * of a pool with a cache is looked up in the pool's store (core/cache_store.c) and
 * answered from it (cache_producer), waits for a fetch of the same URL in progress,
 * or goes to the backend, whose storable response is kept as it is delivered. */
#ifndef FULCRUM_HTTP_CACHE_H
#define FULCRUM_HTTP_CACHE_H

#include <stddef.h>

#include "http.h"

struct client;
struct cache_obj;
struct pool;
struct worker;

/* What the cache did for a request: the access log's "cache" field. */
enum cache_status {
	CACHE_ST_NONE = 0,    /* the pool has no cache ("") */
	CACHE_ST_HIT,         /* answered from a fresh stored response */
	CACHE_ST_MISS,        /* fetched from the backend (and stored if storable) */
	CACHE_ST_STALE,       /* a stale response: while it is refetched, or for a backend's 5xx */
	CACHE_ST_COALESCED,   /* waited for another request's fetch and got its response */
	CACHE_ST_PASS,        /* went to the backend: the URL's response was lately uncacheable */
	CACHE_ST_BYPASS,      /* not for the cache (method, body, Authorization, no-cache) */
	CACHE_ST_REFRESH,     /* fulcrum's own background refetch of a stale entry
			       * (lb/http_cache.c, on a detached exchange): conditional when it has validators */
};

/* "hit", "miss", ...; "" for CACHE_ST_NONE. (Inline: the access-log line, below the
 * cache in lb/, prints it.) */
static inline const char *http_cache_status_name(unsigned st)
{
	static const char *const names[] = { "", "hit", "miss", "stale", "coalesced", "pass", "bypass",
					      "refresh" };

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "";
}

/* A request of pool p (which has a cache) whose head h over base is parsed and not yet
 * consumed: takes what the cache needs of it (its key, a copy of its head) into
 * c->ex->cache, or marks it bypass. 0, or -1 out of memory. */
int http_cache_begin(struct client *c, struct pool *p, const char *base, const struct http_head *h);
/* The request is ready (c->ex->cache is set): answers it from the store, makes it wait
 * for a fetch in progress, or sends it to the backend (as the URL's fetcher or not). */
void http_cache_dispatch(struct client *c);

/* The backend's final response head h over base came, before it is rewritten: a
 * fetcher decides whether the response is stored and starts its copy. 1 when a stale
 * answer replaced a 5xx (stale-if-error): the backend was let go and the exchange is
 * the cache's now; else 0. */
int http_cache_response_head(struct client *c, const char *base, const struct http_head *h);
/* The "X-Cache: <status>" line of the pool's x_cache_header for c's answer, in out;
 * NULL when the pool has none. */
const char *http_cache_header_line(const struct client *c, char *out, size_t cap);
/* n more framed bytes of the response body, in order. */
void http_cache_body(struct client *c, const char *p, size_t n);
/* The response is whole: a copy is stored and the waiters get it. */
void http_cache_response_done(struct client *c);

/* A hit's answer after its head (in c->out): the stored body from memory as the client
 * takes it, and of a response still being fetched as it comes. 1 more to send later
 * (the write event armed, or waiting for the fetch), 0 all sent, -1 the client failed
 * (or out of memory), -2 the fetch failed before the body was whole. */
int http_cache_send(struct client *c);

/* Runs the waiters of w woken by fetches that ended (on any thread): on w's thread,
 * from its ev_async. */
void http_cache_run_woken(struct worker *w);

#endif
