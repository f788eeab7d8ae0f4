/* cache_store.c: owns a pool's stored responses (include/cache_store.h): the index by
 * primary key, S3-FIFO eviction within memory_bytes, the fetches in progress with their
 * waiters (coalescing), hit-for-pass marks, purges and the counters.
 *
 * Eviction is S3-FIFO (Yang et al., SOSP 2023): a small FIFO takes new objects (about
 * 10% of the bytes), a main FIFO the ones that proved useful, and a ghost queue
 * remembers keys lately evicted from the small one. An object hit while in the small
 * FIFO moves to main when it reaches the tail; one never hit leaves (its key goes to
 * the ghost). A key seen again while in the ghost enters main directly. Main is a FIFO
 * with "second chance": an object with hits goes round again (one hit less). Why: the
 * edge sees many URLs asked once (crawlers, unique query strings): under LRU every one
 * of them pushes out a popular object; here they pass through the small FIFO only, and
 * main keeps the working set. And a hit only increments a counter (no list moved, no
 * global lock): hits scale over the worker threads where LRU serialises them.
 * The ghost is a direct-mapped table of key hashes (one slot per hash), an
 * approximation of a FIFO of the same size: a slot is overwritten by a newer key.
 *
 * Threads: every worker of the process uses the same store. The index is a hash table
 * whose buckets are split over STRIPES mutexes; a lookup takes only its bucket's stripe,
 * for a few pointer comparisons and a reference count. The queues (small, main, ghost)
 * and the byte count are under qlock, taken by inserts, evictions and purges, always
 * before a stripe lock (never two stripes at once). No lock is held across I/O or a
 * callback: waiters are woken after their stripe's lock was let go. */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cache_store.h"

#define STRIPES 64
/* Marks (fetches in progress, hit-for-pass) kept per stripe before the oldest go. */
#define MARKS_MAX 512

enum { CACHE_Q_NONE, CACHE_Q_SMALL, CACHE_Q_MAIN };

/* A primary key being fetched (waiters queue here) or lately found uncacheable. */
struct cache_mark {
	struct cache_mark *next;
	uint64_t hash;
	char *key;
	size_t key_len;
	int fetching;                    /* 1: a fetch in progress; 0: hit-for-pass */
	double pass_until;               /* hit-for-pass ends */
	struct cache_waiter waiters;     /* sentinel of the waiters (fetching) */
	struct cache_obj *streaming;     /* the fetch's response, handed out while it is
					  * filled (a reference); NULL = none yet */
};

struct cache_stripe {
	pthread_mutex_t lock;
	struct cache_mark *marks;
	unsigned nmarks;
};

struct fifo {
	struct cache_obj head;           /* sentinel: qnext is the newest, qprev the oldest */
	uint64_t bytes;
};

struct pool_cache {
	atomic_uint refs;
	struct cache_limits lim;
	struct cache_counters n;
	struct cache_obj **buckets;
	size_t nbuckets;                 /* power of two */
	struct cache_stripe stripes[STRIPES];
	pthread_mutex_t qlock;           /* small, main, ghost, bytes */
	pthread_mutex_t flock;           /* every streaming object's followers (few at a time) */
	struct fifo small, main;
	uint64_t *ghost;
	size_t nghost;                   /* power of two */
	uint64_t bytes;
};

static uint64_t key_hash(const char *k, size_t n);
static struct cache_stripe *stripe_of(struct pool_cache *s, uint64_t h);
static struct cache_obj **bucket_of(struct pool_cache *s, uint64_t h);
static void fifo_init(struct fifo *f);
static void fifo_push(struct fifo *f, struct cache_obj *o);
static void fifo_remove(struct fifo *f, struct cache_obj *o);
static void unindex(struct pool_cache *s, struct cache_obj *o);
static void drop_locked(struct pool_cache *s, struct cache_obj *o);
static void evict_locked(struct pool_cache *s, uint64_t need);
static struct cache_mark *mark_find(struct cache_stripe *st, uint64_t h, const char *key, size_t len);
static struct cache_mark *mark_add(struct cache_stripe *st, uint64_t h, const char *key, size_t len, double now);
static void mark_free(struct cache_stripe *st, struct cache_mark *m);
static void wake_followers(struct pool_cache *s, struct cache_obj *o);
static void waiters_take(struct cache_waiter *head, struct cache_waiter *to);
static void waiters_wake(struct cache_waiter *list);
static size_t purge_if(struct pool_cache *s, long only,
		       int (*pred)(const struct cache_obj *o, const void *arg, size_t len),
		       const void *arg, size_t len);

/* FNV-1a with a final mix: keys are short texts; the low bits pick the bucket, the
 * high bits the stripe, the whole the ghost slot. */
static uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct cache_stripe *stripe_of(struct pool_cache *s, uint64_t h)
{
	return &s->stripes[(h >> 58) % STRIPES];
}

static struct cache_obj **bucket_of(struct pool_cache *s, uint64_t h)
{
	return &s->buckets[h & (s->nbuckets - 1)];
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* Buckets and ghost slots are sized from memory_bytes for objects of about 8 KiB and
 * never resized (a resize would need every stripe at once). */
struct pool_cache *cache_store_new(const struct cache_limits *lim)
{
	struct pool_cache *s = calloc(1, sizeof(*s));
	size_t est, i;

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->lim = *lim;
	est = (size_t)(lim->memory_bytes / 8192);
	est = est < 1024 ? 1024 : est > (1u << 22) ? (1u << 22) : est;
	s->nbuckets = pow2_at_least(est);
	s->nghost = s->nbuckets;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	s->ghost = calloc(s->nghost, sizeof(*s->ghost));
	if (!s->buckets || !s->ghost) {
		free(s->buckets);
		free(s->ghost);
		free(s);
		return NULL;
	}
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&s->stripes[i].lock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_mutex_init(&s->flock, NULL);
	fifo_init(&s->small);
	fifo_init(&s->main);
	return s;
}

void cache_store_ref(struct pool_cache *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void cache_store_unref(struct pool_cache *s)
{
	size_t i;

	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* no worker uses it any more: no waiter is queued (each left or was woken) */
	for (i = 0; i < s->nbuckets; i++) {
		struct cache_obj *o = s->buckets[i], *next;

		for (; o; o = next) {
			next = o->hnext;
			cache_obj_unref(o);
		}
	}
	for (i = 0; i < STRIPES; i++) {
		while (s->stripes[i].marks)
			mark_free(&s->stripes[i], s->stripes[i].marks);
		pthread_mutex_destroy(&s->stripes[i].lock);
	}
	pthread_mutex_destroy(&s->qlock);
	pthread_mutex_destroy(&s->flock);
	free(s->buckets);
	free(s->ghost);
	free(s);
}

const struct cache_limits *cache_store_limits(const struct pool_cache *s)
{
	return &s->lim;
}

struct cache_counters *cache_store_counters(struct pool_cache *s)
{
	return &s->n;
}

/* ---- objects ---- */

struct cache_obj *cache_obj_new(const char *key, size_t key_len, size_t body_hint)
{
	struct cache_obj *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	atomic_init(&o->refs, 1);
	o->key = malloc(key_len + 1);
	o->body = body_hint ? malloc(body_hint) : NULL;
	if (!o->key || (body_hint && !o->body)) {
		free(o->key);
		free(o->body);
		free(o);
		return NULL;
	}
	memcpy(o->key, key, key_len);
	o->key[key_len] = '\0';
	o->key_len = key_len;
	o->body_cap = body_hint;
	o->followers.next = o->followers.prev = &o->followers;
	o->hash = key_hash(key, key_len);
	return o;
}

/* A NUL-ended copy of p[0..n), or NULL out of memory. */
static char *dup_n(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

int cache_obj_set_head(struct cache_obj *o, const char *head, size_t len)
{
	char *h = dup_n(head, len);

	if (!h)
		return -1;
	free(o->head);
	o->head = h;
	o->head_len = len;
	return 0;
}

int cache_obj_set_vary(struct cache_obj *o, const char *names, const char *key, size_t key_len)
{
	char *n = strdup(names), *k = dup_n(key, key_len);

	if (!n || !k) {
		free(n);
		free(k);
		return -1;
	}
	free(o->vary_names);
	free(o->vary);
	o->vary_names = n;
	o->vary = k;
	o->vary_len = key_len;
	return 0;
}

int cache_obj_set_validators(struct cache_obj *o, const char *etag, size_t etag_len, const char *lm, size_t lm_len)
{
	char *e = etag ? dup_n(etag, etag_len) : NULL, *l = lm ? dup_n(lm, lm_len) : NULL;

	if ((etag && !e) || (lm && !l)) {
		free(e);
		free(l);
		return -1;
	}
	free(o->etag);
	free(o->last_modified);
	o->etag = e;
	o->last_modified = l;
	return 0;
}

int cache_obj_add_tag(struct cache_obj *o, const char *tag, size_t len)
{
	size_t have = 0;
	char *t;

	if (len == 0)
		return 0;
	if (o->tags)
		while (o->tags[have])
			have += strlen(o->tags + have) + 1;
	t = realloc(o->tags, have + len + 2);
	if (!t)
		return -1;
	memcpy(t + have, tag, len);
	t[have + len] = '\0';
	t[have + len + 1] = '\0';
	o->tags = t;
	return 0;
}

int cache_obj_append(struct cache_obj *o, const void *p, size_t n, uint64_t max)
{
	/* a streamed body is read while it grows: it must never move */
	if (o->body_len + n > max || (o->stream_len && o->body_len + n > o->stream_len) ||
	    (o->body_mapped && o->body_len + n > o->body_cap))
		return -1;
	if (o->body_len + n > o->body_cap) {
		size_t cap = o->body_cap ? o->body_cap : 4096;
		char *b;

		while (cap < o->body_len + n)
			cap *= 2;
		if (cap > max)
			cap = (size_t)max;
		if (!(b = realloc(o->body, cap)))
			return -1;
		o->body = b;
		o->body_cap = cap;
	}
	memcpy(o->body + o->body_len, p, n);
	o->body_len += n;
	return 0;
}

void cache_obj_ref(struct cache_obj *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void cache_obj_unref(struct cache_obj *o)
{
	if (!o || atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(o->key);
	free(o->vary);
	free(o->vary_names);
	free(o->tags);
	free(o->etag);
	free(o->last_modified);
	free(o->head);
	free(o->parsed);
	if (o->body_mapped)
		munmap(o->body, o->body_cap);
	else
		free(o->body);
	free(o);
}

int cache_obj_reserve(struct cache_obj *o, size_t cap)
{
	void *p;

	if (o->body_len || cap == 0)
		return -1;
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	free(o->body);
	o->body = p;
	o->body_cap = cap;
	o->body_mapped = 1;
	return 0;
}

/* A reserved body that is whole gives back the pages past its end. */
static void trim_reserved(struct cache_obj *o)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), keep = (o->body_len + page - 1) / page * page;

	if (!o->body_mapped || keep >= o->body_cap)
		return;
	if (keep == 0)
		keep = page;  /* (a mapping is never empty) */
	if (keep < o->body_cap && munmap(o->body + keep, o->body_cap - keep) == 0)
		o->body_cap = keep;
}

/* What o counts against memory_bytes: its bytes and its bookkeeping. */
static size_t obj_charge(const struct cache_obj *o)
{
	size_t tags = 0;

	if (o->tags)
		while (o->tags[tags])
			tags += strlen(o->tags + tags) + 1;
	return sizeof(*o) + o->key_len + o->head_len + o->parsed_len + o->body_len + o->vary_len +
	       (o->vary_names ? strlen(o->vary_names) : 0) + tags +
	       (o->etag ? strlen(o->etag) : 0) + (o->last_modified ? strlen(o->last_modified) : 0) + 64;
}

/* ---- the FIFOs (under qlock) ---- */

static void fifo_init(struct fifo *f)
{
	f->head.qnext = f->head.qprev = &f->head;
	f->bytes = 0;
}

/* o enters at the new end. */
static void fifo_push(struct fifo *f, struct cache_obj *o)
{
	o->qnext = f->head.qnext;
	o->qprev = &f->head;
	f->head.qnext->qprev = o;
	f->head.qnext = o;
	f->bytes += o->charge;
}

static void fifo_remove(struct fifo *f, struct cache_obj *o)
{
	o->qprev->qnext = o->qnext;
	o->qnext->qprev = o->qprev;
	o->qnext = o->qprev = NULL;
	f->bytes -= o->charge;
}

/* Takes o out of the index (its stripe's lock is taken here; qlock is held). */
static void unindex(struct pool_cache *s, struct cache_obj *o)
{
	struct cache_stripe *st = stripe_of(s, o->hash);
	struct cache_obj **pp;

	pthread_mutex_lock(&st->lock);
	for (pp = bucket_of(s, o->hash); *pp; pp = &(*pp)->hnext)
		if (*pp == o) {
			*pp = o->hnext;
			break;
		}
	o->hnext = NULL;
	o->linked = 0;
	pthread_mutex_unlock(&st->lock);
}

/* o leaves its queue and the index; the store's reference goes. qlock is held. */
static void drop_locked(struct pool_cache *s, struct cache_obj *o)
{
	if (o->queue == CACHE_Q_SMALL)
		fifo_remove(&s->small, o);
	else if (o->queue == CACHE_Q_MAIN)
		fifo_remove(&s->main, o);
	o->queue = CACHE_Q_NONE;
	unindex(s, o);
	s->bytes -= o->charge;
	atomic_fetch_sub_explicit(&s->n.bytes, o->charge, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->n.objects, 1, memory_order_relaxed);
	cache_obj_unref(o);
}

/* Evicts until need more bytes fit: from the small FIFO while it holds its 10% or more
 * (an object hit there moves to main instead; one never hit leaves and its key goes to
 * the ghost), else from main (an object with hits goes round again, one hit less). */
static void evict_locked(struct pool_cache *s, uint64_t need)
{
	uint64_t small_target = s->lim.memory_bytes / 10;

	while (s->bytes + need > s->lim.memory_bytes && (s->small.bytes || s->main.bytes)) {
		struct cache_obj *o;

		if (s->small.bytes && (s->small.bytes >= small_target || !s->main.bytes)) {
			o = s->small.head.qprev;
			fifo_remove(&s->small, o);
			if (atomic_load_explicit(&o->freq, memory_order_relaxed) > 0) {
				atomic_store_explicit(&o->freq, 0, memory_order_relaxed);
				o->queue = CACHE_Q_MAIN;
				fifo_push(&s->main, o);
				continue;
			}
			s->ghost[o->hash & (s->nghost - 1)] = o->hash;
		} else {
			unsigned char f;

			o = s->main.head.qprev;
			fifo_remove(&s->main, o);
			f = atomic_load_explicit(&o->freq, memory_order_relaxed);
			if (f > 0) {
				atomic_store_explicit(&o->freq, f - 1, memory_order_relaxed);
				fifo_push(&s->main, o);
				continue;
			}
		}
		o->queue = CACHE_Q_NONE;
		atomic_fetch_add_explicit(&s->n.evictions, 1, memory_order_relaxed);
		drop_locked(s, o);
	}
}

/* ---- marks: fetches in progress and hit-for-pass (under their stripe's lock) ---- */

static struct cache_mark *mark_find(struct cache_stripe *st, uint64_t h, const char *key, size_t len)
{
	struct cache_mark *m;

	for (m = st->marks; m; m = m->next)
		if (m->hash == h && m->key_len == len && !memcmp(m->key, key, len))
			return m;
	return NULL;
}

static void mark_free(struct cache_stripe *st, struct cache_mark *m)
{
	struct cache_mark **pp;

	for (pp = &st->marks; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	st->nmarks--;
	cache_obj_unref(m->streaming);  /* (a fetch's end takes it first) */
	free(m->key);
	free(m);
}

/* A new mark (fetching, no waiters). Beyond MARKS_MAX, expired hit-for-pass marks go,
 * then the oldest one (never a fetch: its waiters need their wake). NULL out of memory. */
static struct cache_mark *mark_add(struct cache_stripe *st, uint64_t h, const char *key, size_t len, double now)
{
	struct cache_mark *m, *next, *oldest = NULL;

	if (st->nmarks >= MARKS_MAX) {
		for (m = st->marks; m; m = next) {
			next = m->next;
			if (!m->fetching && m->pass_until <= now)
				mark_free(st, m);
			else if (!m->fetching)
				oldest = m;  /* the list is newest first: the last one seen is the oldest */
		}
		if (st->nmarks >= MARKS_MAX && oldest)
			mark_free(st, oldest);
	}
	if (!(m = calloc(1, sizeof(*m))) || !(m->key = dup_n(key, len))) {
		free(m);
		return NULL;
	}
	m->hash = h;
	m->key_len = len;
	m->fetching = 1;
	m->waiters.next = m->waiters.prev = &m->waiters;
	m->next = st->marks;
	st->marks = m;
	st->nmarks++;
	return m;
}

/* ---- lookup, fetch, waiters ---- */

enum cache_lookup cache_store_lookup(struct pool_cache *s, const char *key, size_t key_len, double now,
				     int (*match)(const struct cache_obj *o, void *arg), void *arg,
				     struct cache_waiter *w, struct cache_obj **out)
{
	uint64_t h = key_hash(key, key_len);
	struct cache_stripe *st = stripe_of(s, h);
	struct cache_obj *o;
	struct cache_obj *stale = NULL;
	struct cache_mark *m;
	enum cache_lookup r;
	int stale_kind = CACHE_MATCH_NO;

	*out = NULL;
	pthread_mutex_lock(&st->lock);
	for (o = *bucket_of(s, h); o; o = o->hnext) {
		int k;

		if (o->hash != h || o->key_len != key_len || memcmp(o->key, key, key_len))
			continue;
		k = match ? match(o, arg) : CACHE_MATCH_FRESH;
		if (k == CACHE_MATCH_FRESH && now < o->fresh_until) {
			unsigned char f = atomic_load_explicit(&o->freq, memory_order_relaxed);

			if (f < 3)
				atomic_store_explicit(&o->freq, f + 1, memory_order_relaxed);
			cache_obj_ref(o);
			*out = o;
			pthread_mutex_unlock(&st->lock);
			atomic_fetch_add_explicit(&s->n.hits, 1, memory_order_relaxed);
			return CACHE_HIT;
		}
		if (k > stale_kind && k != CACHE_MATCH_FRESH) {
			stale = o;
			stale_kind = k;
		}
	}
	m = mark_find(st, h, key, key_len);
	if (m && !m->fetching && m->pass_until <= now) {
		mark_free(st, m);
		m = NULL;
	}
	if (m && m->fetching && stale_kind == CACHE_MATCH_STALE_SERVE) {
		r = CACHE_STALE;  /* stale-while-revalidate: no wait behind the refetch */
	} else if (m && m->fetching && m->streaming && now < m->streaming->fresh_until &&
		   (!match || match(m->streaming, arg) == CACHE_MATCH_FRESH)) {
		/* the fetch's response is coming: read it as it does */
		cache_obj_ref(m->streaming);
		*out = m->streaming;
		pthread_mutex_unlock(&st->lock);
		atomic_fetch_add_explicit(&s->n.coalesced, 1, memory_order_relaxed);
		return CACHE_HIT;
	} else if (m && m->fetching && w) {
		w->obj = NULL;
		w->next = &m->waiters;
		w->prev = m->waiters.prev;
		m->waiters.prev->next = w;
		m->waiters.prev = w;
		w->queued = 1;
		r = CACHE_WAIT;
	} else if (m) {
		r = CACHE_PASS;
	} else {
		/* out of memory for the mark: fetch without coalescing */
		mark_add(st, h, key, key_len, now);
		/* a stale answer that may be served while it is refetched: the caller answers
		 * with it and refetches in the background */
		r = stale_kind == CACHE_MATCH_STALE_SERVE ? CACHE_REFRESH : CACHE_FETCH;
	}
	if (stale && (r == CACHE_STALE || r == CACHE_FETCH || r == CACHE_REFRESH)) {
		cache_obj_ref(stale);
		*out = stale;
	}
	pthread_mutex_unlock(&st->lock);
	if (r == CACHE_WAIT)
		atomic_fetch_add_explicit(&s->n.coalesced, 1, memory_order_relaxed);
	else if (r == CACHE_PASS)
		atomic_fetch_add_explicit(&s->n.hit_for_pass, 1, memory_order_relaxed);
	else if (r == CACHE_STALE || r == CACHE_REFRESH)
		atomic_fetch_add_explicit(&s->n.stale, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&s->n.misses, 1, memory_order_relaxed);
	return r;
}

/* Inserts o (the store's reference), replacing an object of the same primary and
 * secondary key, evicting as needed. 1 stored, 0 too large. */
static int insert(struct pool_cache *s, struct cache_obj *o)
{
	struct cache_stripe *st = stripe_of(s, o->hash);
	struct cache_obj *old, **pp;
	uint64_t slot = o->hash & (s->nghost - 1);

	if (o->body_cap > o->body_len && o->body_len && !o->body_mapped) {
		/* a body grown by doubling gives back what it does not use (a reserved one,
		 * read while it grew, gave back its tail in place: trim_reserved) */
		char *b = realloc(o->body, o->body_len);

		if (b) {
			o->body = b;
			o->body_cap = o->body_len;
		}
	}
	o->charge = obj_charge(o);
	if (o->charge > s->lim.max_object_bytes || o->charge > s->lim.memory_bytes)
		return 0;
	pthread_mutex_lock(&s->qlock);
	/* the same variant stored before goes (an older response of a refetch) */
	pthread_mutex_lock(&st->lock);
	for (old = *bucket_of(s, o->hash); old; old = old->hnext)
		if (old->hash == o->hash && old->key_len == o->key_len && !memcmp(old->key, o->key, o->key_len) &&
		    old->vary_len == o->vary_len && (!o->vary_len || !memcmp(old->vary, o->vary, o->vary_len)))
			break;
	pthread_mutex_unlock(&st->lock);
	if (old)
		drop_locked(s, old);
	evict_locked(s, o->charge);
	if (s->ghost[slot] == o->hash) {
		s->ghost[slot] = 0;
		o->queue = CACHE_Q_MAIN;
		fifo_push(&s->main, o);
	} else {
		o->queue = CACHE_Q_SMALL;
		fifo_push(&s->small, o);
	}
	s->bytes += o->charge;
	pthread_mutex_lock(&st->lock);
	pp = bucket_of(s, o->hash);
	o->hnext = *pp;
	*pp = o;
	o->linked = 1;
	pthread_mutex_unlock(&st->lock);
	pthread_mutex_unlock(&s->qlock);
	atomic_fetch_add_explicit(&s->n.bytes, o->charge, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->n.objects, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->n.stores, 1, memory_order_relaxed);
	return 1;
}

int cache_store_fetch_end(struct pool_cache *s, const char *key, size_t key_len, struct cache_obj *o,
			  double now, double pass_until)
{
	uint64_t h = key_hash(key, key_len);
	struct cache_stripe *st = stripe_of(s, h);
	struct cache_waiter list = { .next = &list, .prev = &list }, *w;
	struct cache_obj *streamed = NULL;
	struct cache_mark *m;
	int stored = 0;

	if (o) {
		/* whole: its readers, from the index or following it, send body_len */
		trim_reserved(o);
		atomic_store(&o->avail, o->body_len);
		atomic_store(&o->fill, CACHE_FILL_WHOLE);
		cache_obj_ref(o);  /* kept for the waiters while the insert may evict it */
		stored = insert(s, o);
		if (!stored) {
			cache_obj_unref(o);  /* the store's, never taken */
			cache_obj_unref(o);
			o = NULL;
		}
	}
	pthread_mutex_lock(&st->lock);
	m = mark_find(st, h, key, key_len);
	if (m && m->fetching) {
		streamed = m->streaming;
		m->streaming = NULL;
		waiters_take(&m->waiters, &list);
		if (!stored && pass_until > now) {
			m->fetching = 0;
			m->pass_until = pass_until;
		} else {
			mark_free(st, m);
		}
	}
	for (w = list.next; w != &list; w = w->next) {
		w->queued = 0;
		if (o)
			cache_obj_ref(o);
		w->obj = o;
	}
	pthread_mutex_unlock(&st->lock);
	waiters_wake(&list);
	if (streamed) {
		/* its readers learn that it is whole, or that no more will come */
		if (streamed != o)
			atomic_store(&streamed->fill, CACHE_FILL_FAILED);
		wake_followers(s, streamed);
		cache_obj_unref(streamed);
	}
	if (o)
		cache_obj_unref(o);
	return stored;
}

/* Moves every waiter of the list at head (a sentinel) to the empty list at to; head is
 * left empty. Under the lock that guards head. */
static void waiters_take(struct cache_waiter *head, struct cache_waiter *to)
{
	if (head->next == head)
		return;
	to->next = head->next;
	to->prev = head->prev;
	to->next->prev = to;
	to->prev->next = to;
	head->next = head->prev = head;
}

/* Calls each waiter's wake (no lock held: the wake may hand it to another thread). */
static void waiters_wake(struct cache_waiter *list)
{
	struct cache_waiter *w, *next;

	for (w = list->next; w != list; w = next) {
		next = w->next;
		w->wake(w);
	}
}

/* Wakes every follower of o (each once; they follow again if they want more). */
static void wake_followers(struct pool_cache *s, struct cache_obj *o)
{
	struct cache_waiter list = { .next = &list, .prev = &list }, *w;

	pthread_mutex_lock(&s->flock);
	waiters_take(&o->followers, &list);
	for (w = list.next; w != &list; w = w->next) {
		w->queued = 0;
		w->obj = NULL;
	}
	pthread_mutex_unlock(&s->flock);
	waiters_wake(&list);
}

void cache_store_fetch_stream(struct pool_cache *s, const char *key, size_t key_len, struct cache_obj *o,
			      size_t len)
{
	uint64_t h = key_hash(key, key_len);
	struct cache_stripe *st = stripe_of(s, h);
	struct cache_waiter list = { .next = &list, .prev = &list }, *w;
	struct cache_mark *m;

	o->stream_len = len;
	atomic_store(&o->avail, o->body_len);
	atomic_store(&o->fill, CACHE_FILL_STREAMING);
	pthread_mutex_lock(&st->lock);
	m = mark_find(st, h, key, key_len);
	if (m && m->fetching && !m->streaming) {
		cache_obj_ref(o);
		m->streaming = o;
		waiters_take(&m->waiters, &list);
		for (w = list.next; w != &list; w = w->next) {
			w->queued = 0;
			cache_obj_ref(o);
			w->obj = o;
		}
	}
	pthread_mutex_unlock(&st->lock);
	waiters_wake(&list);
}

void cache_obj_stream_more(struct pool_cache *s, struct cache_obj *o)
{
	atomic_store_explicit(&o->avail, o->body_len, memory_order_release);
	wake_followers(s, o);
}

int cache_obj_follow(struct pool_cache *s, struct cache_obj *o, size_t seen, struct cache_waiter *w)
{
	int queued = 0;

	pthread_mutex_lock(&s->flock);
	if (atomic_load(&o->fill) == CACHE_FILL_STREAMING && atomic_load(&o->avail) <= seen) {
		w->obj = NULL;
		w->next = &o->followers;
		w->prev = o->followers.prev;
		o->followers.prev->next = w;
		o->followers.prev = w;
		w->queued = queued = 1;
	}
	pthread_mutex_unlock(&s->flock);
	return queued;
}

/* Takes w out of the list it waits in, under lock: 1 when it was there, 0 when its wake
 * is already on its way. */
static int unlink_waiter(pthread_mutex_t *lock, struct cache_waiter *w)
{
	int was;

	pthread_mutex_lock(lock);
	was = w->queued;
	if (was) {
		w->prev->next = w->next;
		w->next->prev = w->prev;
		w->queued = 0;
	}
	pthread_mutex_unlock(lock);
	return was;
}

int cache_obj_unfollow(struct pool_cache *s, struct cache_obj *o, struct cache_waiter *w)
{
	(void)o;
	return unlink_waiter(&s->flock, w);
}

int cache_store_cancel_wait(struct pool_cache *s, const char *key, size_t key_len, struct cache_waiter *w)
{
	return unlink_waiter(&stripe_of(s, key_hash(key, key_len))->lock, w);
}

/* ---- purges ---- */

/* Drops the objects of bucket i that pred accepts; qlock is held (every change of the
 * index is made under it, so the bucket can be read for its stripe without that). */
static size_t purge_bucket(struct pool_cache *s, size_t i,
			   int (*pred)(const struct cache_obj *o, const void *arg, size_t len),
			   const void *arg, size_t len)
{
	struct cache_stripe *st;
	struct cache_obj *o, *victim;
	size_t n = 0;

	if (!s->buckets[i])
		return 0;
	st = stripe_of(s, s->buckets[i]->hash);
	for (;;) {
		victim = NULL;
		pthread_mutex_lock(&st->lock);
		for (o = s->buckets[i]; o && !victim; o = o->hnext)
			if (pred(o, arg, len))
				victim = o;
		pthread_mutex_unlock(&st->lock);
		if (!victim)
			return n;
		drop_locked(s, victim);
		n++;
	}
}

/* Drops every indexed object pred accepts: of one bucket (only >= 0), or of all. */
static size_t purge_if(struct pool_cache *s, long only,
		       int (*pred)(const struct cache_obj *o, const void *arg, size_t len),
		       const void *arg, size_t len)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->qlock);
	if (only >= 0)
		n = purge_bucket(s, (size_t)only, pred, arg, len);
	else
		for (i = 0; i < s->nbuckets; i++)
			n += purge_bucket(s, i, pred, arg, len);
	pthread_mutex_unlock(&s->qlock);
	atomic_fetch_add_explicit(&s->n.purges, n, memory_order_relaxed);
	return n;
}

static int key_is(const struct cache_obj *o, const void *arg, size_t len)
{
	return o->key_len == len && !memcmp(o->key, arg, len);
}

static int key_starts(const struct cache_obj *o, const void *arg, size_t len)
{
	return o->key_len >= len && !memcmp(o->key, arg, len);
}

static int has_tag(const struct cache_obj *o, const void *arg, size_t len)
{
	const char *t;

	for (t = o->tags; t && *t; t += strlen(t) + 1)
		if (strlen(t) == len && !memcmp(t, arg, len))
			return 1;
	return 0;
}

size_t cache_store_purge_key(struct pool_cache *s, const char *key, size_t key_len)
{
	return purge_if(s, (long)(key_hash(key, key_len) & (s->nbuckets - 1)), key_is, key, key_len);
}

size_t cache_store_purge_prefix(struct pool_cache *s, const char *prefix, size_t len)
{
	return purge_if(s, -1, key_starts, prefix, len);
}

size_t cache_store_purge_tag(struct pool_cache *s, const char *tag, size_t len)
{
	return purge_if(s, -1, has_tag, tag, len);
}

struct match_arg {
	int (*pred)(const struct cache_obj *o, void *arg);
	void *arg;
};

static int matches(const struct cache_obj *o, const void *arg, size_t len)
{
	const struct match_arg *m = arg;

	(void)len;
	return m->pred(o, m->arg);
}

size_t cache_store_purge_match(struct pool_cache *s, int (*pred)(const struct cache_obj *o, void *arg),
			       void *arg)
{
	struct match_arg m = { pred, arg };

	return purge_if(s, -1, matches, &m, 0);
}
