/* http_cache_fill.c: owns the copy of a backend's response that a pool's cache keeps
 * (include/http_cache.h): whether the response of a key's fetcher is stored (RFC 9111,
 * through proto/cache_policy.c), the stored object built from its head (status line and
 * fields, Vary, tags, validators, times), its body copied as it is framed, a refresh's
 * 304 freshening the entry it revalidated, and the fetch ended with what was stored. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_producer.h"
#include "cache_revalidate.h"
#include "cache_vary.h"
#include "conn.h"
#include "http_cache-int.h"
#include "worker.h"

#define VARY_NAMES_MAX 1024

/* The parse of a stored head, or of the request, beside the worker's scratch (which
 * holds the backend's response head while these run). */
static __thread struct http_head fill_scratch;

/* The stored head: the backend's status line and fields, without Age (a hit says its
 * own). -1 out of memory. */
static int store_head(struct cache_obj *o, const char *base, const struct http_head *h)
{
	char *p = malloc(h->head_len + 1), *q = p;
	uint32_t i;
	int r;

	if (!p)
		return -1;
	q += sprintf(q, "HTTP/1.1 %d ", h->status);
	memcpy(q, base + h->reason.off, h->reason.len);
	q += h->reason.len;
	*q++ = '\r';
	*q++ = '\n';
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];

		if (http_slice_eq(base, f->name, "age"))
			continue;
		memcpy(q, base + f->name.off, f->name.len);
		q += f->name.len;
		*q++ = ':';
		*q++ = ' ';
		memcpy(q, base + f->value.off, f->value.len);
		q += f->value.len;
		*q++ = '\r';
		*q++ = '\n';
	}
	*q++ = '\r';
	*q++ = '\n';
	r = cache_obj_set_head(o, p, (size_t)(q - p));
	free(p);
	return r;
}

/* The response's tags (Cache-Tag, Surrogate-Key) into o. -1 out of memory. */
static int store_tags(struct cache_obj *o, const char *base, const struct http_head *h)
{
	struct cache_tag_iter it;
	struct http_slice t;

	cache_tags_begin(&it, base, h);
	while (cache_tags_next(&it, &t))
		if (cache_obj_add_tag(o, base + t.off, t.len) == -1)
			return -1;
	return 0;
}

/* o's Vary names (lowercase, each ended by a newline) and the request's secondary key
 * for them. -1 when the key does not fit or out of memory. */
static int store_vary(struct cache_obj *o, struct http_cache_x *xc, const char *base, const struct cache_vary *v)
{
	char names[VARY_NAMES_MAX], key[1024];
	size_t n = 0, k;
	uint32_t i;
	int kl;

	for (i = 0; i < v->n; i++) {
		if (n + v->names[i].len + 2 > sizeof(names))
			return -1;
		for (k = 0; k < v->names[i].len; k++)
			names[n++] = (char)tolower((unsigned char)base[v->names[i].off + k]);
		names[n++] = '\n';
	}
	names[n] = '\0';
	if (v->n == 0)
		return cache_obj_set_vary(o, "", "", 0);
	if (http_cache_request_head(xc, &fill_scratch) == -1)
		return -1;
	kl = cache_vary_key(xc->req, xc->rh, base, v, key, sizeof(key));
	xc->rh = NULL;
	if (kl < 0)
		return -1;
	return cache_obj_set_vary(o, names, key, (size_t)kl);
}

/* A new object for xc's key from the response head h over base, whose entry e the
 * policy computed at now: its head, tags, validators, times and the head's parse are
 * set; Vary and the body are the caller's to set. NULL out of memory. */
static struct cache_obj *obj_from_head(struct http_cache_x *xc, const char *base, const struct http_head *h,
				       const struct cache_entry *e, double now, size_t body_hint)
{
	struct cache_obj *o = cache_obj_new(xc->key, xc->key_len, body_hint);
	struct http_limits lim;

	if (!o || store_head(o, base, h) == -1 || store_tags(o, base, h) == -1 ||
	    cache_obj_set_validators(o, e->etag.len ? base + e->etag.off : NULL, e->etag.len,
				     e->last_modified.len ? base + e->last_modified.off : NULL,
				     e->last_modified.len) == -1) {
		cache_obj_unref(o);
		return NULL;
	}
	/* the stored head parsed once, here, rather than at every hit */
	lim = (struct http_limits){ (uint32_t)o->head_len + 1, HTTP_HEADERS_MAX };
	if (http_parse_response(o->head, o->head_len, &lim, HTTP_M_GET, &fill_scratch) == HTTP_PARSE_DONE)
		http_cache_pack_head(o, &fill_scratch);
	o->status = h->status;
	o->entry = *e;
	o->entry.etag = o->entry.last_modified = (struct http_slice){ 0, 0 };  /* slices of base */
	o->stored_at = now - (double)e->initial_age;
	o->fresh_until = now + (double)(e->lifetime - e->initial_age);
	o->swr_until = o->fresh_until + (double)e->swr;
	o->sie_until = o->fresh_until + (double)e->sie;
	return o;
}

/* 1 when the policy's entry e (of a storable response) is worth storing: fresh on
 * arrival, or stale with a window in which it may still answer. */
static int worth_storing(const struct cache_entry *e)
{
	return e->lifetime > e->initial_age || e->swr > 0 || e->sie > 0;
}

/* A refresh's 304 (h over base): the entry it revalidated, its head freshened by the
 * 304's fields (RFC 9111 4.3.4) and its body kept, becomes the fill that replaces it
 * when the exchange ends (the 304 has no body). 0, or -1 when the freshened response is
 * not to be stored (the caller ends the fetch). */
static int freshen(struct client *c, struct http_cache_x *xc, const char *base, const struct http_head *h,
		   int64_t sent, int64_t arrived, const struct cache_defaults *d)
{
	static __thread struct http_head stored_h, fresh_h;
	const struct cache_obj *old = xc->revalidating;
	size_t cap = old->head_len + h->head_len + 1;
	struct http_limits lim = { (uint32_t)cap, HTTP_HEADERS_MAX };
	struct cache_entry e;
	struct cache_obj *o = NULL;
	char *text = malloc(cap);
	int n, r = -1;

	memset(&e, 0, sizeof(e));
	if (text && http_cache_unpack_head(old, HTTP_M_GET, &stored_h) == 0 &&
	    (n = cache_freshen_head(old->head, &stored_h, base, h, text, cap)) > 0 &&
	    http_parse_response(text, (size_t)n, &lim, HTTP_M_GET, &fresh_h) == HTTP_PARSE_DONE &&
	    cache_response_policy(&xc->rq, text, &fresh_h, sent, arrived, d, &e) == CACHE_STORE &&
	    !(e.flags & CACHE_E_NO_CACHE) && worth_storing(&e) &&
	    (o = obj_from_head(xc, text, &fresh_h, &e, ev_now(c->w->loop), old->body_len)) &&
	    cache_obj_set_vary(o, old->vary_names, old->vary, old->vary_len) == 0 &&
	    cache_obj_append(o, old->body, old->body_len, cache_store_limits(xc->store)->max_object_bytes) == 0) {
		xc->fill = o;
		o = NULL;
		r = 0;
	}
	cache_obj_unref(o);
	free(text);
	return r;
}

/* The backend's response head h over base: stored (its copy begins) when the policy
 * says so and it is fresh on arrival and may be served without revalidation; else the
 * URL passes for PASS_DEFAULT_S and the waiters go to the backend. A 5xx with a stale
 * answer within its stale-if-error window is replaced by it: 1 (the backend is let go
 * and c answers from the cache), else 0. A refresh's 304 freshens the entry it
 * revalidated; its 5xx leaves the entry as it is (stale within its windows); any other
 * answer it may not store removes the entry (the app's answer changed). */
int http_cache_response_head(struct client *c, const char *base, const struct http_head *h)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc = x->cache;
	double now = ev_now(c->w->loop);
	struct cache_defaults d;
	struct cache_entry e;
	struct cache_vary v;
	struct cache_obj *o = NULL;
	double sent_at = x->t_connect_start > 0 ? x->t_connect_start : x->t_start;
	/* whole seconds as the policy counts them: the response's arrival, and the request
	 * the whole seconds of the round trip before it (a 5 ms fetch that crosses a second
	 * boundary took no second) */
	int64_t arrived = (int64_t)now, sent = arrived - (int64_t)(now > sent_at ? now - sent_at : 0);
	int storable;

	if (!xc || !xc->fetching)
		return 0;
	if (xc->stale && h->status >= 500 && http_cache_stale_on_error(xc->stale, xc, now)) {
		/* stale-if-error: the backend failed; its answer is counted and let go, and
		 * the stale one answers. The waiters look again (a new fetch). */
		o = xc->stale;
		xc->stale = NULL;
		atomic_fetch_add_explicit(&cache_store_counters(xc->store)->stale_error, 1, memory_order_relaxed);
		http_cache_fetch_end(c, NULL, 0);
		client_backend_done(c, 0);
		http_cache_serve(c, o, CACHE_ST_STALE);
		return 1;
	}
	d = (struct cache_defaults){
		.default_ttl = xc->cfg->default_ttl_s,
		.stale_while_revalidate = xc->cfg->stale_while_revalidate_s,
		.stale_if_error = xc->cfg->stale_if_error_s,
	};
	if (xc->refresh && h->status == 304 && xc->revalidating) {
		if (freshen(c, xc, base, h, sent, arrived, &d) == -1)
			http_cache_fetch_end(c, NULL, 0);
		return 0;
	}
	if (xc->refresh && h->status >= 500) {
		http_cache_fetch_end(c, NULL, 0);
		return 0;
	}
	memset(&e, 0, sizeof(e));
	storable = cache_response_policy(&xc->rq, base, h, sent, arrived, &d, &e) == CACHE_STORE &&
		   !(e.flags & CACHE_E_NO_CACHE) && h->body != HTTP_BODY_UNTIL_CLOSE &&
		   cache_vary_parse(base, h, &v) == 0 && !v.star &&
		   !(h->body == HTTP_BODY_LENGTH && h->content_length > cache_store_limits(xc->store)->max_object_bytes);
	if (!storable || !worth_storing(&e)) {
		/* a 304 answers the fetcher's own conditions, and an answer stale on arrival
		 * with no stale window is the URL's timing, not its nature: neither marks
		 * the URL uncacheable. (One stale on arrival within a window is stored: it
		 * may answer while it is refetched, or when that fails.) */
		http_cache_fetch_end(c, NULL, h->status == 304 || storable ? 0 : now + PASS_DEFAULT_S);
		if (xc->refresh)
			cache_store_purge_key(xc->store, xc->key, xc->key_len);
		return 0;
	}
	o = obj_from_head(xc, base, h, &e, now, h->body == HTTP_BODY_LENGTH ? (size_t)h->content_length : 0);
	if (!o || store_vary(o, xc, base, &v) == -1) {
		cache_obj_unref(o);
		http_cache_fetch_end(c, NULL, 0);
		return 0;
	}
	xc->fill = o;
	xc->pass_until = now + PASS_DEFAULT_S;
	/* the body goes to the waiters now, and they read it as it comes: its buffer never
	 * moves under them (allocated whole for a known length; for a chunked or compressed
	 * one, max_object_bytes of address space reserved, paged in as it is written) */
	if (h->body == HTTP_BODY_LENGTH && h->content_length > 0) {
		cache_store_fetch_stream(xc->store, xc->key, xc->key_len, o, (size_t)h->content_length);
		xc->streamed = 1;
	} else if (h->body == HTTP_BODY_CHUNKED &&
		   cache_obj_reserve(o, (size_t)cache_store_limits(xc->store)->max_object_bytes) == 0) {
		cache_store_fetch_stream(xc->store, xc->key, xc->key_len, o, 0);
		xc->streamed = 1;
	}
	return 0;
}

void http_cache_body(struct client *c, const char *p, size_t n)
{
	struct http_cache_x *xc = c->ex->cache;

	if (!xc || !xc->fill)
		return;
	if (cache_obj_append(xc->fill, p, n, cache_store_limits(xc->store)->max_object_bytes) == -1) {
		/* larger than an object may be (a chunked body): the URL passes */
		cache_obj_unref(xc->fill);
		xc->fill = NULL;
		http_cache_fetch_end(c, NULL, xc->pass_until);
		return;
	}
	if (xc->streamed)
		cache_obj_stream_more(xc->store, xc->fill);
}

void http_cache_response_done(struct client *c)
{
	struct http_cache_x *xc = c->ex->cache;
	struct cache_obj *o;

	if (!xc || !xc->fill)
		return;
	o = xc->fill;
	xc->fill = NULL;
	http_cache_fetch_end(c, o, xc->pass_until);
}

