/* test_cache_store.c: unit tests of a pool's cache store (core/cache_store.c): hits and
 * freshness, the bound in bytes and max_object_bytes, S3-FIFO's order (a one-hit wonder
 * flood does not push out objects that were hit; a key seen again after eviction goes
 * to main), references kept across eviction and purge, purges by key, prefix and tag,
 * the waiters of a fetch (all woken once, with or without an object), hit-for-pass, stale
 * candidates (for a fetcher; served while refetched), a response read while it is
 * fetched (streaming: waiters, joins, followers, its end whole or failed), and
 * a threaded run of lookups and inserts (for the sanitizers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_store.h"

/* An object of about size bytes of charge for key, fresh until fresh_until. */
static struct cache_obj *obj(const char *key, size_t body, double fresh_until)
{
	struct cache_obj *o = cache_obj_new(key, strlen(key), 0);
	char *b = calloc(1, body + 1);

	assert_non_null(o);
	assert_non_null(b);
	memset(b, 'x', body);
	assert_int_equal(cache_obj_set_head(o, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);
	assert_int_equal(cache_obj_append(o, b, body, UINT64_MAX), 0);
	o->fresh_until = fresh_until;
	free(b);
	return o;
}

static int lang_is(const struct cache_obj *o, void *arg)
{
	return !strcmp(o->vary, arg);
}

/* Fetches key (it must be a miss for o's variant) and stores o. */
static void put(struct pool_cache *s, const char *key, struct cache_obj *o)
{
	struct cache_obj *out;

	assert_int_equal(cache_store_lookup(s, key, strlen(key), 0, o->vary ? lang_is : NULL, o->vary, NULL, &out),
			 CACHE_FETCH);
	cache_store_fetch_end(s, key, strlen(key), o, 0, 0);
}

/* 1 when key is a fresh hit now (the hit counts, as a client's would). */
static int hit(struct pool_cache *s, const char *key)
{
	struct cache_obj *out = NULL;
	enum cache_lookup r = cache_store_lookup(s, key, strlen(key), 1, NULL, NULL, NULL, &out);

	if (r == CACHE_HIT) {
		cache_obj_unref(out);
		return 1;
	}
	if (r == CACHE_FETCH)
		cache_store_fetch_end(s, key, strlen(key), NULL, 1, 0);
	return 0;
}

static struct pool_cache *store(uint64_t mem, uint64_t max)
{
	struct cache_limits lim = { .memory_bytes = mem, .max_object_bytes = max };
	struct pool_cache *s = cache_store_new(&lim);

	assert_non_null(s);
	return s;
}

static void test_hit_and_freshness(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct cache_obj *out;
	struct cache_counters *n = cache_store_counters(s);

	(void)state;
	put(s, "h/a", obj("h/a", 100, 10));
	assert_int_equal(cache_store_lookup(s, "h/a", 3, 5, NULL, NULL, NULL, &out), CACHE_HIT);
	assert_int_equal(out->body_len, 100);
	cache_obj_unref(out);
	/* stale: a miss, and the caller fetches */
	assert_int_equal(cache_store_lookup(s, "h/a", 3, 10, NULL, NULL, NULL, &out), CACHE_FETCH);
	assert_null(out);
	cache_store_fetch_end(s, "h/a", 3, NULL, 10, 0);
	assert_int_equal(atomic_load(&n->hits), 1);
	assert_int_equal(atomic_load(&n->misses), 2);
	assert_int_equal(atomic_load(&n->objects), 1);
	cache_store_unref(s);
}

static void test_vary_variants(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct cache_obj *o, *out;

	(void)state;
	o = obj("h/v", 10, 10);
	assert_int_equal(cache_obj_set_vary(o, "accept-language", "en", 2), 0);
	put(s, "h/v", o);
	o = obj("h/v", 20, 10);
	assert_int_equal(cache_obj_set_vary(o, "accept-language", "de", 2), 0);
	put(s, "h/v", o);
	assert_int_equal(cache_store_lookup(s, "h/v", 3, 1, lang_is, "de", NULL, &out), CACHE_HIT);
	assert_int_equal(out->body_len, 20);
	cache_obj_unref(out);
	assert_int_equal(cache_store_lookup(s, "h/v", 3, 1, lang_is, "en", NULL, &out), CACHE_HIT);
	assert_int_equal(out->body_len, 10);
	cache_obj_unref(out);
	assert_int_equal(cache_store_lookup(s, "h/v", 3, 1, lang_is, "fr", NULL, &out), CACHE_FETCH);
	cache_store_fetch_end(s, "h/v", 3, NULL, 1, 0);
	/* the same variant again (a refetch) replaces the older one */
	o = obj("h/v", 30, 10);
	assert_int_equal(cache_obj_set_vary(o, "accept-language", "de", 2), 0);
	assert_int_equal(cache_store_lookup(s, "h/v", 3, 1, lang_is, "xx", NULL, &out), CACHE_FETCH);
	cache_store_fetch_end(s, "h/v", 3, o, 1, 0);
	assert_int_equal(atomic_load(&cache_store_counters(s)->objects), 2);
	assert_int_equal(cache_store_lookup(s, "h/v", 3, 1, lang_is, "de", NULL, &out), CACHE_HIT);
	assert_int_equal(out->body_len, 30);
	cache_obj_unref(out);
	cache_store_unref(s);
}

static void test_bounds(void **state)
{
	struct pool_cache *s = store(64 * 1024, 8 * 1024);
	struct cache_counters *n = cache_store_counters(s);
	char key[32];
	int i;

	(void)state;
	/* above max_object_bytes: not stored, and the fetch says so */
	assert_int_equal(cache_store_lookup(s, "big", 3, 0, NULL, NULL, NULL, &(struct cache_obj *){ 0 }),
			 CACHE_FETCH);
	assert_int_equal(cache_store_fetch_end(s, "big", 3, obj("big", 9000, 10), 0, 0), 0);
	assert_int_equal(atomic_load(&n->objects), 0);
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "h/%d", i);
		put(s, key, obj(key, 2000, 10));
		assert_true(atomic_load(&n->bytes) <= 64 * 1024);
	}
	assert_true(atomic_load(&n->evictions) > 0);
	assert_int_equal(atomic_load(&n->stores), 100);
	assert_int_equal(atomic_load(&n->objects), 100 - atomic_load(&n->evictions));
	/* the newest are there, the oldest went (FIFO without hits) */
	assert_true(hit(s, "h/99"));
	assert_false(hit(s, "h/0"));
	cache_store_unref(s);
}

/* Objects that were hit survive a flood of objects asked once (one-hit wonders), which
 * an LRU would let push them all out. */
static void test_one_hit_wonders(void **state)
{
	struct pool_cache *s = store(100 * 1024, 16 * 1024);
	char key[32];
	int i, kept = 0;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "hot/%d", i);
		put(s, key, obj(key, 2000, 10));
		assert_true(hit(s, key));
	}
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "once/%d", i);
		put(s, key, obj(key, 2000, 10));
		if (i % 50 == 0) {
			/* the hot set is asked now and then, as a real one is */
			int j;
			for (j = 0; j < 20; j++) {
				char k2[32];
				snprintf(k2, sizeof(k2), "hot/%d", j);
				hit(s, k2);
			}
		}
	}
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "hot/%d", i);
		kept += hit(s, key);
	}
	assert_int_equal(kept, 20);
	cache_store_unref(s);
}

/* A key evicted from the small FIFO without a hit and stored again enters main: it
 * outlives objects stored after it that were never hit. */
static void test_ghost_goes_to_main(void **state)
{
	struct pool_cache *s = store(40 * 1024, 16 * 1024);
	char key[32];
	int i;

	(void)state;
	put(s, "g", obj("g", 2000, 10));
	for (i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "a/%d", i);
		put(s, key, obj(key, 2000, 10));
	}
	assert_false(hit(s, "g"));  /* evicted, into the ghost (and this miss fetched nothing) */
	put(s, "g", obj("g", 2000, 10));
	for (i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "b/%d", i);
		put(s, key, obj(key, 2000, 10));
	}
	/* main holds the ghost's return, the small FIFO turned over the b/ objects */
	assert_true(hit(s, "g"));
	assert_false(hit(s, "b/0"));
	cache_store_unref(s);
}

static void test_refs_survive_eviction_and_purge(void **state)
{
	struct pool_cache *s = store(16 * 1024, 16 * 1024);
	struct cache_obj *a, *b;
	char key[32];
	int i;

	(void)state;
	put(s, "k/a", obj("k/a", 3000, 10));
	put(s, "k/b", obj("k/b", 3000, 10));
	assert_int_equal(cache_store_lookup(s, "k/a", 3, 1, NULL, NULL, NULL, &a), CACHE_HIT);
	assert_int_equal(cache_store_lookup(s, "k/b", 3, 1, NULL, NULL, NULL, &b), CACHE_HIT);
	assert_int_equal(cache_store_purge_key(s, "k/a", 3), 1);
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "z/%d", i);
		put(s, key, obj(key, 3000, 10));
	}
	assert_false(hit(s, "k/a"));
	/* the readers' objects are whole (ASan would see a freed one) */
	assert_int_equal(a->body_len, 3000);
	assert_int_equal(b->body[2999], 'x');
	cache_obj_unref(a);
	cache_obj_unref(b);
	cache_store_unref(s);
}

static void test_purges(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct cache_obj *o;

	(void)state;
	o = obj("h/static/a.css", 10, 10);
	assert_int_equal(cache_obj_add_tag(o, "css", 3), 0);
	assert_int_equal(cache_obj_add_tag(o, "v2", 2), 0);
	put(s, "h/static/a.css", o);
	put(s, "h/static/b.js", obj("h/static/b.js", 10, 10));
	o = obj("h/page", 10, 10);
	assert_int_equal(cache_obj_add_tag(o, "v2", 2), 0);
	put(s, "h/page", o);
	put(s, "h/other", obj("h/other", 10, 10));
	assert_int_equal(cache_store_purge_tag(s, "v", 1), 0);
	assert_int_equal(cache_store_purge_tag(s, "v2", 2), 2);
	assert_false(hit(s, "h/page"));
	assert_true(hit(s, "h/static/b.js"));
	assert_int_equal(cache_store_purge_prefix(s, "h/static/", 9), 1);
	assert_false(hit(s, "h/static/b.js"));
	assert_int_equal(cache_store_purge_key(s, "h/othe", 6), 0);
	assert_int_equal(cache_store_purge_key(s, "h/other", 7), 1);
	assert_int_equal(atomic_load(&cache_store_counters(s)->objects), 0);
	assert_int_equal(atomic_load(&cache_store_counters(s)->bytes), 0);
	assert_int_equal(atomic_load(&cache_store_counters(s)->purges), 4);
	cache_store_unref(s);
}

struct test_waiter {
	struct cache_waiter w;
	int woken;
};

static void test_wake(struct cache_waiter *w)
{
	((struct test_waiter *)w)->woken++;
}

static void test_waiters(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct test_waiter tw[5];
	struct cache_obj *out;
	int i;

	(void)state;
	memset(tw, 0, sizeof(tw));
	assert_int_equal(cache_store_lookup(s, "h/w", 3, 0, NULL, NULL, NULL, &out), CACHE_FETCH);
	for (i = 0; i < 5; i++) {
		tw[i].w.wake = test_wake;
		assert_int_equal(cache_store_lookup(s, "h/w", 3, 0, NULL, NULL, &tw[i].w, &out), CACHE_WAIT);
	}
	/* a lookup without a waiter does not queue: it passes */
	assert_int_equal(cache_store_lookup(s, "h/w", 3, 0, NULL, NULL, NULL, &out), CACHE_PASS);
	/* one leaves before the end */
	assert_int_equal(cache_store_cancel_wait(s, "h/w", 3, &tw[4].w), 1);
	assert_int_equal(cache_store_fetch_end(s, "h/w", 3, obj("h/w", 50, 10), 0, 0), 1);
	for (i = 0; i < 4; i++) {
		assert_int_equal(tw[i].woken, 1);
		assert_non_null(tw[i].w.obj);
		assert_int_equal(tw[i].w.obj->body_len, 50);
		/* woken: cancelling now says the wake already came */
		assert_int_equal(cache_store_cancel_wait(s, "h/w", 3, &tw[i].w), 0);
		cache_obj_unref(tw[i].w.obj);
	}
	assert_int_equal(tw[4].woken, 0);
	assert_int_equal(atomic_load(&cache_store_counters(s)->coalesced), 5);
	assert_true(hit(s, "h/w"));
	cache_store_unref(s);
}

static void test_hit_for_pass(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct test_waiter tw = { .w.wake = test_wake };
	struct cache_obj *out;

	(void)state;
	assert_int_equal(cache_store_lookup(s, "h/p", 3, 0, NULL, NULL, NULL, &out), CACHE_FETCH);
	assert_int_equal(cache_store_lookup(s, "h/p", 3, 0, NULL, NULL, &tw.w, &out), CACHE_WAIT);
	/* uncacheable: the waiter is woken without an object, the key passes for 10 s */
	assert_int_equal(cache_store_fetch_end(s, "h/p", 3, NULL, 0, 10), 0);
	assert_int_equal(tw.woken, 1);
	assert_null(tw.w.obj);
	assert_int_equal(cache_store_lookup(s, "h/p", 3, 5, NULL, NULL, &tw.w, &out), CACHE_PASS);
	assert_int_equal(tw.woken, 1);
	assert_int_equal(atomic_load(&cache_store_counters(s)->hit_for_pass), 1);
	/* once it is over, a miss fetches again */
	assert_int_equal(cache_store_lookup(s, "h/p", 3, 11, NULL, NULL, &tw.w, &out), CACHE_FETCH);
	cache_store_fetch_end(s, "h/p", 3, NULL, 11, 0);
	/* a fetch that failed without a mark lets the next one fetch */
	assert_int_equal(cache_store_lookup(s, "h/p", 3, 12, NULL, NULL, NULL, &out), CACHE_FETCH);
	cache_store_fetch_end(s, "h/p", 3, NULL, 12, 0);
	cache_store_unref(s);
}

/* The match's stale kinds: 2 = usable on error, 3 = usable while refetched. */
static int stale_kind(const struct cache_obj *o, void *arg)
{
	(void)o;
	return *(int *)arg;
}

static void test_stale_candidates(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct test_waiter tw = { .w.wake = test_wake };
	struct cache_obj *out, *stale;
	int kind = CACHE_MATCH_STALE_SERVE;

	(void)state;
	put(s, "h/s", obj("h/s", 10, 5));
	/* past fresh_until, usable only on error: the fetcher gets it to fall back on */
	kind = CACHE_MATCH_STALE_ON_ERROR;
	assert_int_equal(cache_store_lookup(s, "h/s", 3, 6, stale_kind, &kind, NULL, &stale), CACHE_FETCH);
	assert_non_null(stale);
	cache_obj_unref(stale);
	cache_store_fetch_end(s, "h/s", 3, NULL, 6, 0);
	/* usable while refetched: the first to find it answers with it and refetches in
	 * the background, as the key's fetcher (counted stale, not a miss) */
	kind = CACHE_MATCH_STALE_SERVE;
	assert_int_equal(cache_store_lookup(s, "h/s", 3, 6, stale_kind, &kind, NULL, &stale), CACHE_REFRESH);
	assert_non_null(stale);
	assert_int_equal(stale->body_len, 10);
	/* while it refetches, the others get the stale answer at once, without waiting */
	assert_int_equal(cache_store_lookup(s, "h/s", 3, 6, stale_kind, &kind, &tw.w, &out), CACHE_STALE);
	assert_ptr_equal(out, stale);
	cache_obj_unref(out);
	/* usable only on error: the others wait */
	kind = CACHE_MATCH_STALE_ON_ERROR;
	assert_int_equal(cache_store_lookup(s, "h/s", 3, 6, stale_kind, &kind, &tw.w, &out), CACHE_WAIT);
	assert_null(out);
	cache_store_fetch_end(s, "h/s", 3, obj("h/s", 20, 100), 6, 0);
	assert_int_equal(tw.woken, 1);
	assert_int_equal(tw.w.obj->body_len, 20);
	cache_obj_unref(tw.w.obj);
	cache_obj_unref(stale);
	assert_int_equal(atomic_load(&cache_store_counters(s)->stale), 2);
	assert_int_equal(atomic_load(&cache_store_counters(s)->misses), 2);
	assert_int_equal(atomic_load(&cache_store_counters(s)->objects), 1);
	cache_store_unref(s);
}

/* A response handed to readers while it is fetched: the waiters get it at its head,
 * later lookups join it, followers are woken as bytes come and when it ends, whole or
 * failed; its body never grows past its length. */
static void test_streaming(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct test_waiter wt = { .w.wake = test_wake }, f1 = { .w.wake = test_wake };
	struct cache_obj *out, *o, *joined;

	(void)state;
	assert_int_equal(cache_store_lookup(s, "h/st", 4, 0, NULL, NULL, NULL, &out), CACHE_FETCH);
	assert_int_equal(cache_store_lookup(s, "h/st", 4, 0, NULL, NULL, &wt.w, &out), CACHE_WAIT);
	o = cache_obj_new("h/st", 4, 10);
	assert_non_null(o);
	o->fresh_until = 100;
	cache_store_fetch_stream(s, "h/st", 4, o, 10);
	/* the waiter has it at once */
	assert_int_equal(wt.woken, 1);
	assert_ptr_equal(wt.w.obj, o);
	assert_int_equal(atomic_load(&o->fill), CACHE_FILL_STREAMING);
	/* a later lookup joins it (not indexed yet) */
	assert_int_equal(cache_store_lookup(s, "h/st", 4, 1, NULL, NULL, NULL, &joined), CACHE_HIT);
	assert_ptr_equal(joined, o);
	assert_int_equal(atomic_load(&cache_store_counters(s)->coalesced), 2);
	/* nothing there yet: a reader follows, and is woken when bytes come */
	assert_int_equal(cache_obj_follow(s, o, 0, &f1.w), 1);
	assert_int_equal(cache_obj_append(o, "abcd", 4, UINT64_MAX), 0);
	cache_obj_stream_more(s, o);
	assert_int_equal(f1.woken, 1);
	assert_int_equal(atomic_load(&o->avail), 4);
	assert_int_equal(cache_obj_follow(s, o, 2, &f1.w), 0);  /* more than it sent: no wait */
	assert_int_equal(cache_obj_follow(s, o, 4, &f1.w), 1);
	/* a streamed body never moves: past its length is refused */
	assert_int_equal(cache_obj_append(o, "0123456789", 10, UINT64_MAX), -1);
	assert_int_equal(cache_obj_append(o, "efghij", 6, UINT64_MAX), 0);
	cache_store_fetch_end(s, "h/st", 4, o, 1, 0);
	assert_int_equal(f1.woken, 2);
	assert_int_equal(atomic_load(&o->fill), CACHE_FILL_WHOLE);
	assert_int_equal(atomic_load(&o->avail), 10);
	assert_int_equal(cache_obj_follow(s, o, 10, &f1.w), 0);  /* whole: nothing to wait for */
	cache_obj_unref(wt.w.obj);
	cache_obj_unref(joined);
	assert_int_equal(hit(s, "h/st"), 1);

	/* a fetch that fails while streamed: the followers learn it, nothing is stored */
	assert_int_equal(cache_store_lookup(s, "h/fail", 6, 0, NULL, NULL, NULL, &out), CACHE_FETCH);
	o = cache_obj_new("h/fail", 6, 10);
	assert_non_null(o);
	o->fresh_until = 100;
	cache_store_fetch_stream(s, "h/fail", 6, o, 10);
	assert_int_equal(cache_obj_follow(s, o, 0, &f1.w), 1);
	/* a follower that leaves before its wake takes itself out */
	assert_int_equal(cache_obj_unfollow(s, o, &f1.w), 1);
	assert_int_equal(cache_obj_unfollow(s, o, &f1.w), 0);
	assert_int_equal(cache_obj_follow(s, o, 0, &f1.w), 1);
	cache_store_fetch_end(s, "h/fail", 6, NULL, 1, 0);
	assert_int_equal(f1.woken, 3);
	assert_int_equal(atomic_load(&o->fill), CACHE_FILL_FAILED);
	cache_obj_unref(o);
	assert_int_equal(hit(s, "h/fail"), 0);
	cache_store_unref(s);
}

/* A body of unknown length (chunked) read while it grows: reserved, so it never moves;
 * whole, it gives back what it did not use, and is stored and served like any other. */
static void test_streaming_reserved(void **state)
{
	struct pool_cache *s = store(1 << 20, 1 << 20);
	struct test_waiter f1 = { .w.wake = test_wake };
	struct cache_obj *out, *o, *joined;
	char *before;
	int i;

	(void)state;
	assert_int_equal(cache_store_lookup(s, "h/ch", 4, 0, NULL, NULL, NULL, &out), CACHE_FETCH);
	o = cache_obj_new("h/ch", 4, 0);
	assert_non_null(o);
	o->fresh_until = 100;
	assert_int_equal(cache_obj_reserve(o, 1 << 20), 0);
	before = o->body;
	cache_store_fetch_stream(s, "h/ch", 4, o, 0);
	assert_int_equal(cache_store_lookup(s, "h/ch", 4, 1, NULL, NULL, NULL, &joined), CACHE_HIT);
	assert_int_equal(cache_obj_follow(s, o, 0, &f1.w), 1);
	for (i = 0; i < 100; i++)
		assert_int_equal(cache_obj_append(o, "0123456789", 10, UINT64_MAX), 0);
	cache_obj_stream_more(s, o);
	assert_int_equal(f1.woken, 1);
	assert_ptr_equal(o->body, before);  /* it never moved */
	assert_int_equal(atomic_load(&o->avail), 1000);
	/* past the reservation is refused, never a move */
	assert_int_equal(cache_obj_append(o, before, 1 << 20, UINT64_MAX), -1);
	cache_store_fetch_end(s, "h/ch", 4, o, 1, 0);
	assert_int_equal(atomic_load(&o->fill), CACHE_FILL_WHOLE);
	assert_ptr_equal(o->body, before);
	assert_true(o->body_cap < (1 << 20));  /* the tail went back */
	assert_int_equal(memcmp(joined->body + 990, "0123456789", 10), 0);
	cache_obj_unref(joined);
	assert_int_equal(hit(s, "h/ch"), 1);
	cache_store_unref(s);
}

struct thread_arg {
	struct pool_cache *s;
	int id;
};

static void *hammer(void *p)
{
	struct thread_arg *a = p;
	char key[32];
	int i;

	for (i = 0; i < 3000; i++) {
		struct cache_obj *out;
		enum cache_lookup r;

		snprintf(key, sizeof(key), "t/%d", (i * 7 + a->id) % 97);
		r = cache_store_lookup(a->s, key, strlen(key), 1, NULL, NULL, NULL, &out);
		if (r == CACHE_HIT) {
			assert_int_equal(out->body[out->body_len - 1], 'x');
			cache_obj_unref(out);
		} else if (r == CACHE_FETCH) {
			cache_store_fetch_end(a->s, key, strlen(key), obj(key, 500 + (size_t)(i % 7) * 300, 10), 1, 0);
		}
		if (i % 500 == 0)
			cache_store_purge_prefix(a->s, "t/1", 3);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct pool_cache *s = store(64 * 1024, 16 * 1024);
	pthread_t t[4];
	struct thread_arg a[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		a[i] = (struct thread_arg){ s, i };
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &a[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&cache_store_counters(s)->bytes) <= 64 * 1024);
	cache_store_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_freshness),
		cmocka_unit_test(test_vary_variants),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_one_hit_wonders),
		cmocka_unit_test(test_ghost_goes_to_main),
		cmocka_unit_test(test_refs_survive_eviction_and_purge),
		cmocka_unit_test(test_purges),
		cmocka_unit_test(test_waiters),
		cmocka_unit_test(test_hit_for_pass),
		cmocka_unit_test(test_stale_candidates),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_streaming_reserved),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
