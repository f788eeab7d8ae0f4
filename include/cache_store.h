/* cache_store.h: a pool's edge cache (core/cache_store.c): stored responses shared by
 * every worker thread, bounded in memory with S3-FIFO eviction, with coalescing of
 * concurrent misses (waiters), hit-for-pass marks and purges. The store decides nothing
 * about HTTP: what may be stored, for how long and under which keys is the caller's
 * (lb/http_cache.c, with proto/cache_policy.c). */
#ifndef FULCRUM_CACHE_STORE_H
#define FULCRUM_CACHE_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cache_policy.h"

struct pool_cache;

/* A request waiting for a fetch of the same primary key in progress (coalescing), or a
 * reader of a response still being fetched waiting for more of its body (a follower).
 * Owned by the caller (embedded or allocated); the store links it while it waits. */
struct cache_waiter {
	struct cache_waiter *next, *prev;
	/* set before wake: the object the fetch stored (a reference that becomes the
	 * waiter's), or NULL when the response was not stored (a follower: always NULL) */
	struct cache_obj *obj;
	/* called once, from the thread that ended the fetch, with no lock held; the waiter
	 * must not be touched by the store after it, and the callee should only hand it to
	 * its own thread (a worker's mailbox and ev_async) */
	void (*wake)(struct cache_waiter *w);
	int queued;                      /* linked in a fetch's list (under the stripe's lock) */
};

/* Whether an object's body is whole (cache_obj.fill). */
enum cache_fill {
	CACHE_FILL_WHOLE = 0,            /* every byte is there: body_len */
	CACHE_FILL_STREAMING,            /* its fetch is still filling it: avail bytes are there */
	CACHE_FILL_FAILED                /* its fetch failed: avail bytes are all there will be */
};

/* One stored response. Immutable once inserted (but for freq); a reader holds a
 * reference (cache_obj_unref when done), so an object evicted or purged while it is
 * being sent stays valid until its last reader lets go. */
struct cache_obj {
	atomic_uint refs;
	atomic_uchar freq;               /* hits since it entered its queue, 0..3 (S3-FIFO) */
	uint8_t queue;                   /* CACHE_Q_*: where it is (under the store's qlock) */
	uint8_t linked;                  /* in the index (under its stripe's lock) */
	struct cache_obj *hnext;         /* hash chain of its bucket */
	struct cache_obj *qnext, *qprev; /* its FIFO (small or main) */
	uint64_t hash;                   /* of key */
	size_t charge;                   /* bytes counted against memory_bytes */
	char *key;                       /* primary key (caller's: host + target), NUL-ended */
	size_t key_len;
	char *vary;                      /* secondary key: what the request's varied headers were
					  * (caller's encoding; "" = no Vary), NUL-ended */
	size_t vary_len;
	char *vary_names;                /* the response's Vary header names, NUL-ended ("" = none) */
	char *tags;                      /* tags, each NUL-ended, the list ended by an empty one */
	char *etag, *last_modified;      /* validators for revalidation (NULL = none) */
	char *head;                      /* the response head as the backend sent it */
	size_t head_len;
	void *parsed;                    /* the caller's parse of head, kept to skip it on hits
					  * (freed with the object; NULL = none) */
	size_t parsed_len;
	char *body;                      /* the response body as it was framed (chunks kept) */
	size_t body_len, body_cap;
	struct cache_entry entry;        /* its times for RFC 9111's Age and freshness (the
					  * caller's; slices unused) */
	double stored_at;                /* when the response came (ev_now seconds) */
	double fresh_until;              /* served as a hit before this */
	double swr_until, sie_until;     /* stale-while-revalidate / stale-if-error windows end */
	int status;
	/* a response handed to readers while it is fetched (cache_store_fetch_stream): its
	 * body never moves (allocated whole for stream_len bytes); readers send up to avail
	 * and wait as followers for more */
	atomic_int fill;                 /* enum cache_fill */
	atomic_size_t avail;             /* body bytes readers may send while not whole */
	size_t stream_len;               /* the whole body's length (its Content-Length); 0 = not
					  * known (a chunked body: whole when fill says so) */
	unsigned body_mapped:1;          /* body is a reserved mapping of body_cap bytes (a body
					  * of unknown length read while it grows: it never moves) */
	struct cache_waiter followers;   /* sentinel (under the store's follow lock) */
};


enum cache_lookup {
	CACHE_HIT,        /* *out: a fresh object (a reference) */
	CACHE_FETCH,      /* nothing fresh: the caller fetches and must call cache_store_fetch_end */
	CACHE_WAIT,       /* another exchange fetches it: the waiter was queued */
	CACHE_PASS,       /* the key was found uncacheable lately (hit-for-pass): go to the backend,
			   * do not store */
	CACHE_STALE,      /* *out: a stale object the match allows to serve while another
			   * exchange fetches the key (stale-while-revalidate) */
	CACHE_REFRESH,    /* *out: a stale object the match allows to serve while it is
			   * refetched, and no fetch in progress: the caller is the key's
			   * fetcher (as CACHE_FETCH) and answers with *out while it
			   * refetches in the background (counted stale, not a miss) */
};

/* What a lookup's match says of an object of the key (higher stale kinds win). */
enum cache_match {
	CACHE_MATCH_NO = 0,          /* another variant, or unusable */
	CACHE_MATCH_FRESH,           /* this variant, fresh for this request */
	CACHE_MATCH_STALE_ON_ERROR,  /* stale, may answer if the refetch fails (stale-if-error) */
	CACHE_MATCH_STALE_SERVE,     /* stale, may answer while it is refetched (stale-while-revalidate) */
};

/* What the store counts, for the metrics (all atomics, relaxed). */
struct cache_counters {
	atomic_ullong hits, misses, coalesced, hit_for_pass, stores, evictions, purges;
	atomic_ullong stale;             /* stale answers handed out (CACHE_STALE) */
	atomic_ullong stale_error;       /* stale answers instead of a failed fetch (stale-if-error;
					  * counted by the data path) */
	atomic_ullong bytes, objects;    /* what is held now */
};

struct cache_limits {
	uint64_t memory_bytes;           /* all objects together (their charge) */
	uint64_t max_object_bytes;       /* one object; larger ones are not stored */
};

/* A new empty store; NULL out of memory. Starts with one reference. */
struct pool_cache *cache_store_new(const struct cache_limits *lim);
void cache_store_ref(struct pool_cache *s);
/* The last reference frees the store and its objects (readers' references stay valid). */
void cache_store_unref(struct pool_cache *s);
const struct cache_limits *cache_store_limits(const struct pool_cache *s);
struct cache_counters *cache_store_counters(struct pool_cache *s);

/* An object for key (copied) with room for body_hint body bytes, to be filled by the
 * caller (head, body, times, validators, tags, Vary) before cache_store_fetch_end
 * inserts it. One reference (the caller's). NULL out of memory. */
struct cache_obj *cache_obj_new(const char *key, size_t key_len, size_t body_hint);
/* Sets one of the object's strings (copied); 0 or -1 out of memory. */
int cache_obj_set_head(struct cache_obj *o, const char *head, size_t len);
int cache_obj_set_vary(struct cache_obj *o, const char *names, const char *key, size_t key_len);
int cache_obj_set_validators(struct cache_obj *o, const char *etag, size_t etag_len,
			     const char *lm, size_t lm_len);
/* Adds one tag; 0 or -1 out of memory. */
int cache_obj_add_tag(struct cache_obj *o, const char *tag, size_t len);
/* Appends body bytes; -1 when the object would exceed max bytes (the caller gives it
 * up) or out of memory. */
int cache_obj_append(struct cache_obj *o, const void *p, size_t n, uint64_t max);
void cache_obj_ref(struct cache_obj *o);
void cache_obj_unref(struct cache_obj *o);

/* The fresh object for key (before its fresh_until) that match(o, arg) calls
 * CACHE_MATCH_FRESH (match NULL: any). Without one: CACHE_STALE with the best stale
 * object match calls CACHE_MATCH_STALE_SERVE while a fetch of key is in progress, and
 * CACHE_REFRESH with it when none is (the caller becomes the fetcher);
 * CACHE_PASS under a hit-for-pass mark; CACHE_WAIT when a fetch of key is in progress
 * and w is not NULL (w queued; its wake comes when the fetch ends; without w,
 * CACHE_PASS); else CACHE_FETCH: the caller is the key's fetcher until it calls
 * cache_store_fetch_end, and *out is the best stale object match allowed, if any (for
 * stale-if-error), else NULL. *out is always a reference of the caller's. now is the
 * caller's clock (seconds). Counts hits, misses, coalesced, hit-for-pass and stale. */
enum cache_lookup cache_store_lookup(struct pool_cache *s, const char *key, size_t key_len, double now,
				     int (*match)(const struct cache_obj *o, void *arg), void *arg,
				     struct cache_waiter *w, struct cache_obj **out);
/* Ends the fetch of key the caller started (CACHE_FETCH): o (the caller's reference
 * moves to the store; NULL = nothing to store) is inserted, evicting as needed; when o
 * is NULL or too large and pass_until > now the key gets a hit-for-pass mark until
 * then. Every waiter is woken, each with its own reference to o when o was stored.
 * Returns 1 when o was stored. */
int cache_store_fetch_end(struct pool_cache *s, const char *key, size_t key_len, struct cache_obj *o,
			  double now, double pass_until);
/* Takes w out of its fetch's list. 1 when it was there (the caller owns w again); 0 when
 * the fetch already ended and its wake is on the way (w must stay until it comes). */
int cache_store_cancel_wait(struct pool_cache *s, const char *key, size_t key_len, struct cache_waiter *w);

/* Reserves o's body as a mapping of cap bytes that pages in as it is written and never
 * moves (for a body of unknown length streamed to readers; what is not used goes back
 * when the fill ends). Before any append. 0, or -1 (o unchanged). */
int cache_obj_reserve(struct cache_obj *o, size_t cap);
/* Streaming: the fetcher of key hands o (being filled; its body allocated whole for len
 * bytes or reserved, 0 = unknown length; head and times set) to readers before it is
 * whole: every waiter of the key is
 * woken now with a reference to it, and lookups that o's match calls fresh get it
 * (CACHE_HIT, counted coalesced) until the fetch ends. The fetch's end makes o whole
 * (cache_store_fetch_end with o) or failed (with NULL). o is the caller's still. */
void cache_store_fetch_stream(struct pool_cache *s, const char *key, size_t key_len, struct cache_obj *o,
			      size_t len);
/* The fetcher appended to a streaming o: its bytes so far go to the readers (avail) and
 * the followers are woken. */
void cache_obj_stream_more(struct pool_cache *s, struct cache_obj *o);
/* A reader of o has sent seen bytes of its body: 1 when w was queued to be woken when
 * more come or the fill ends; 0 when there is more already or the fill ended (o->fill
 * says how). */
int cache_obj_follow(struct pool_cache *s, struct cache_obj *o, size_t seen, struct cache_waiter *w);
/* Takes a follower out of o's list: 1 when it was there, 0 when its wake is on the way. */
int cache_obj_unfollow(struct pool_cache *s, struct cache_obj *o, struct cache_waiter *w);

/* Purges: objects leave the index at once (readers keep theirs). Each returns how many
 * objects went. */
size_t cache_store_purge_key(struct pool_cache *s, const char *key, size_t key_len);
size_t cache_store_purge_prefix(struct pool_cache *s, const char *prefix, size_t len);
size_t cache_store_purge_tag(struct pool_cache *s, const char *tag, size_t len);
/* Every object pred(o, arg) accepts (called under the store's locks: it must only read o). */
size_t cache_store_purge_match(struct pool_cache *s, int (*pred)(const struct cache_obj *o, void *arg),
			       void *arg);

#endif
