/* http_cache-int.h: what lb/http_cache.c (lookup, hits, waiters) and lb/http_cache_fill.c
 * (the copy of a backend's response the cache keeps) share: the cache's part of an
 * exchange and the steps both take. Not for the rest of lb/: include/http_cache.h is. */
#ifndef FULCRUM_HTTP_CACHE_INT_H
#define FULCRUM_HTTP_CACHE_INT_H

#include <stddef.h>

#include "cache_policy.h"
#include "cache_store.h"
#include "http_cache.h"
#include "producer.h"

struct client;
struct worker;

/* Hit-for-pass: how long a URL whose response was not storable goes straight to the
 * backend (its next herd does not queue behind a fetch that will not help it). */
#define PASS_DEFAULT_S 10.0

/* A request waiting for another's fetch: allocated, as the fetch may end on another
 * thread after the exchange left (then c is NULL and the worker frees it). */
struct http_cache_wait {
	struct cache_waiter cw;          /* the store's part (first: the wake's cast) */
	struct worker *w;                /* the waiter's worker */
	struct client *c;                /* NULL once the exchange left (its worker's thread only) */
	struct http_cache_wait *mail_next; /* in w->cache_woken */
	unsigned follow:1;               /* a follower of a streamed response (xc->follow), not a
					  * waiter for a fetch */
};

/* The cache's part of an exchange (c->ex->cache). */
struct http_cache_x {
	struct pool_cache *store;       /* the pool's (the exchange's generation holds it) */
	const struct cfg_cache *cfg;
	struct cache_obj *obj;           /* a hit being answered (a reference) */
	struct cache_obj *fill;          /* the fetcher's copy of a storable response */
	struct cache_obj *stale;         /* the fetcher's stale answer, for a backend's 5xx */
	struct cache_obj *revalidating;  /* a refresh's stale entry: a 304 freshens it */
	struct http_cache_wait *wait;    /* waiting for a fetch */
	/* a hit of a response still being fetched: its follower registration (made once,
	 * reused at each wait for more) */
	struct http_cache_wait *follow;
	double pass_until;               /* a fill given up (too large): hit-for-pass until then */
	double now;                      /* the clock of the lookup in progress */
	struct cache_request rq;         /* the request's class and directives */
	/* the request parsed over req: the scratch head while the request's own parse is
	 * there (its first lookup), else NULL (parsed again into the scratch) */
	const struct http_head *rh;
	unsigned fetching:1;             /* this exchange is its key's fetcher: fetch_end owed */
	unsigned head_only:1;            /* HEAD */
	unsigned refresh:1;              /* fulcrum's own refetch (refresh_start) */
	unsigned streamed:1;             /* the fill is handed to readers as it comes */
	unsigned following:1;            /* follow is queued on obj or its wake is on the way */
	size_t key_len, req_len;
	char *key;                       /* host + target */
	char *req;                       /* the request head as the client sent it */
	char mem[];
};

/* The backend's producer for a key's fetcher: the fetch ends with the exchange. */
extern const struct producer cache_fill_producer;

/* The request parsed over xc->req into xc->rh: its own parse on the first lookup (set
 * by http_cache_begin), else parsed again into dst. -1 if it does not parse. */
int http_cache_request_head(struct http_cache_x *xc, struct http_head *dst);
/* Ends the exchange's fetch of its key (once): o (a reference that moves; NULL = none)
 * stored and the waiters woken; a NULL o with pass_until > now marks the URL pass. */
void http_cache_fetch_end(struct client *c, struct cache_obj *o, double pass_until);
/* 1 when the stale o may answer xc's request now that its refetch failed: within its
 * stale-if-error window (RFC 5861 4). */
int http_cache_stale_on_error(const struct cache_obj *o, const struct http_cache_x *xc, double now);
/* Answers c from o (a reference that moves to the exchange), or a 304 when the
 * request's conditions hold for o; st is the log's cache status. */
void http_cache_serve(struct client *c, struct cache_obj *o, enum cache_status st);
/* Keeps h, the parse of o->head, in o->parsed. -1 out of memory. */
int http_cache_pack_head(struct cache_obj *o, const struct http_head *h);
/* o's head parsed into h: unpacked from o->parsed, else parsed. -1 if it does not parse. */
int http_cache_unpack_head(const struct cache_obj *o, enum http_method m, struct http_head *h);

#endif
