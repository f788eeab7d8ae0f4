/* http_cache.c: owns the edge cache on the HTTP/1.1 data path (include/http_cache.h):
 * a request's key and lookup, the hit's answer (cache_producer: the stored head with
 * Age, the body from memory), the wait of a request behind another's fetch of the same
 * URL (woken on its own worker through the worker's ev_async), and the fetch's life
 * (cache_fill_producer wraps the backend's; the copy it keeps is lb/http_cache_fill.c's,
 * a background refresh runs on a detached exchange, lb/detached_exchange.c). The store
 * and its locks are
 * core/cache_store.c's.
 *
 * The key is the request's Host (lowercased) followed by its target as sent ("host/path?q"):
 * purges by prefix take the same form. Which requests are looked up and which
 * responses are stored, for how long, their variants and tags, and conditional
 * requests are decided by proto/cache_policy.c and proto/cache_vary.c (RFC 9111). */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_producer.h"
#include "balance.h"
#include "cache_policy.h"
#include "cache_revalidate.h"
#include "cache_store.h"
#include "cache_vary.h"
#include "conn.h"
#include "conn_arm.h"
#include "conn_close.h"
#include "conn_error.h"
#include "conn_io.h"
#include "detached_exchange.h"
#include "http_cache-int.h"
#include "http_resp_head.h"
#include "producer.h"
#include "worker.h"

/* Bytes one writable event may send of a hit's body before the loop serves others. */
#define SEND_TURN_MAX (1024 * 1024)

/* A second parsed head beside the worker's scratch: a stored response's while the
 * request's parse is in the scratch. */
static __thread struct http_head cache_scratch;

static void to_backend(struct client *c, int fetching);
static void lookup(struct client *c);
static void cache_x_free(struct client *c);
static void hit_start(struct client *c);
static void hit_done(struct client *c, int reusable);
static void hit_abandon(struct client *c);
static void fill_done(struct client *c, int reusable);
static void fill_abandon(struct client *c);
static int stale_instead(struct client *c, int status);
static void on_woken(struct cache_waiter *cw);
static int refresh_start(struct client *c, struct cache_obj *o);

const struct producer cache_producer = {
	.name = "cache",
	.start = hit_start,
	.done = hit_done,
	.abandon = hit_abandon,
};

/* The backend's producer, with the fetch of the URL ended when the exchange ends. */
const struct producer cache_fill_producer = {
	.name = "backend",
	.start = client_to_backend,
	.done = fill_done,
	.abandon = fill_abandon,
	.fail = stale_instead,
};

/* ---- the request ---- */

int http_cache_begin(struct client *c, struct pool *p, const char *base, const struct http_head *h)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc;
	struct cache_request rq;
	size_t host_len = (h->flags & HTTP_F_HAS_HOST) ? h->host.len : 0, i;

	x->cache_status = CACHE_ST_BYPASS;
	cache_request_class(base, h, 0, &rq);
	if (rq.bypass != CACHE_BYPASS_NONE || h->body != HTTP_BODY_NONE || x->upgrade)
		return 0;
	xc = malloc(sizeof(*xc) + host_len + h->target.len + h->head_len + 2);
	if (!xc)
		return -1;
	memset(xc, 0, sizeof(*xc));
	xc->store = p->cache;
	xc->cfg = p->cfg->cache;
	xc->rq = rq;
	xc->rh = h;
	xc->head_only = h->method_id == HTTP_M_HEAD;
	xc->key = xc->mem;
	for (i = 0; i < host_len; i++)
		xc->key[i] = (char)tolower((unsigned char)base[h->host.off + i]);
	memcpy(xc->key + host_len, base + h->target.off, h->target.len);
	xc->key_len = host_len + h->target.len;
	xc->key[xc->key_len] = '\0';
	/* the head's slices are offsets from its first byte: they hold over the copy */
	xc->req = xc->key + xc->key_len + 1;
	memcpy(xc->req, base, h->head_len);
	xc->req_len = h->head_len;
	xc->req[xc->req_len] = '\0';
	x->cache = xc;
	x->pool = p;  /* (a routed request's already; the log names it on a hit too) */
	x->cache_status = CACHE_ST_MISS;
	/* from now on the exchange's end, whatever it is, lets go of xc (its abandon) */
	x->producer = &cache_producer;
	return 0;
}

/* The request parsed over xc->req into xc->rh: its own parse on the first lookup (set
 * by http_cache_begin), else parsed again into dst. -1 if it does not parse. */
int http_cache_request_head(struct http_cache_x *xc, struct http_head *dst)
{
	struct http_limits lim = { (uint32_t)xc->req_len + 1, HTTP_HEADERS_MAX };

	if (xc->rh)
		return 0;
	if (http_parse_request(xc->req, xc->req_len, &lim, dst) != HTTP_PARSE_DONE)
		return -1;
	xc->rh = dst;
	return 0;
}

/* The Vary names of o (lowercase, each ended by a newline) as a struct cache_vary over
 * o->vary_names. */
static void obj_vary(const struct cache_obj *o, struct cache_vary *v)
{
	const char *p = o->vary_names, *nl;

	v->n = 0;
	v->star = 0;
	while ((nl = strchr(p, '\n')) && v->n < CACHE_VARY_MAX) {
		v->names[v->n++] = (struct http_slice){ (uint32_t)(p - o->vary_names), (uint32_t)(nl - p) };
		p = nl + 1;
	}
}

/* o's variant is the request's (its Vary fields have the same values; RFC 9111 4.1). */
static int variant_match(const struct cache_obj *o, const struct http_cache_x *xc)
{
	struct cache_vary v;
	char k[1024];
	int n;

	if (!o->vary_names || !o->vary_names[0])
		return 1;
	if (!xc->rh)
		return 0;
	obj_vary(o, &v);
	n = cache_vary_key(xc->req, xc->rh, o->vary_names, &v, k, sizeof(k));
	return n >= 0 && (size_t)n == o->vary_len && !memcmp(k, o->vary, (size_t)n);
}

/* The whole-second clock o's entry is judged by (its response_time and now, as the
 * policy counts): o's arrival plus the whole seconds elapsed since, so that a
 * max-age=1 entry stays fresh for one second after it came, not until the next turn of
 * the clock's second. */
static int64_t entry_now(const struct cache_obj *o, double now)
{
	double elapsed = now - (o->stored_at + (double)o->entry.initial_age);

	return o->entry.response_time + (elapsed > 0 ? (int64_t)elapsed : 0);
}

/* cache_store_lookup's match: o is the request's variant, fresh for it (the client's
 * max-age, min-fresh and no-cache count: RFC 9111 4.2, 5.2.1), or stale within its
 * stale-while-revalidate or stale-if-error window (RFC 5861). */
static int lookup_match(const struct cache_obj *o, void *arg)
{
	const struct http_cache_x *xc = arg;
	int64_t age;

	if (!variant_match(o, xc))
		return CACHE_MATCH_NO;
	switch (cache_entry_state(&o->entry, &xc->rq, entry_now(o, xc->now), &age)) {
	case CACHE_FRESH:
		return CACHE_MATCH_FRESH;
	case CACHE_STALE_REVALIDATE:
		return CACHE_MATCH_STALE_SERVE;
	case CACHE_STALE_IF_ERROR:
		return CACHE_MATCH_STALE_ON_ERROR;
	default:
		return CACHE_MATCH_NO;
	}
}

/* 1 when the stale o may answer the request now that its refetch failed: within its
 * stale-if-error window (RFC 5861 4), whatever stale-while-revalidate says. */
int http_cache_stale_on_error(const struct cache_obj *o, const struct http_cache_x *xc, double now)
{
	struct cache_entry e = o->entry;
	int64_t age;
	int st;

	e.swr = 0;
	st = cache_entry_state(&e, &xc->rq, entry_now(o, now), &age);
	return st == CACHE_STALE_IF_ERROR || st == CACHE_FRESH;
}

/* The fill's fail: a fetch that fails before the backend answered (no backend in
 * rotation, every connect refused, a queue or response timeout; status, 5xx, is what
 * the client would get) is answered with the exchange's stale entry instead when that
 * is within its stale-if-error window (RFC 5861 4): 1, the backend side let go and the
 * answer under way; else 0 and nothing changed. */
static int stale_instead(struct client *c, int status)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc = x ? x->cache : NULL;
	struct cache_obj *o;

	if (!xc || !xc->fetching || !xc->stale || status < 500 || status > 599 || x->resp_head_done ||
	    !http_cache_stale_on_error(xc->stale, xc, ev_now(c->w->loop)))
		return 0;
	o = xc->stale;
	xc->stale = NULL;
	atomic_fetch_add_explicit(&cache_store_counters(xc->store)->stale_error, 1, memory_order_relaxed);
	http_cache_fetch_end(c, NULL, 0);         /* the waiters look again */
	backend_producer.abandon(c);   /* queue place, upstream and slot go as on any failure */
	http_cache_serve(c, o, CACHE_ST_STALE);
	return 1;
}

void http_cache_dispatch(struct client *c)
{
	lookup(c);
}

/* Looks the request up: a hit is answered, a fetch in progress waited for, else the
 * backend (as the key's fetcher when the store says so). A client's only-if-cached
 * gets 504 when there is no hit (RFC 9111 5.2.1.7). */
static void lookup(struct client *c)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc = x->cache;
	int only_cached = (xc->rq.flags & CACHE_RQ_ONLY_IF_CACHED) != 0;
	struct http_cache_wait *wt = only_cached ? NULL : malloc(sizeof(*wt));
	struct cache_obj *o;
	enum cache_lookup r;

	if (!only_cached && !wt) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	if (wt)
		*wt = (struct http_cache_wait){ .cw.wake = on_woken, .w = c->w, .c = c };
	xc->now = ev_now(c->w->loop);
	if (http_cache_request_head(xc, &c->w->scratch) == -1) {
		free(wt);
		x->cache_status = CACHE_ST_BYPASS;
		to_backend(c, 0);
		return;
	}
	r = cache_store_lookup(xc->store, xc->key, xc->key_len, xc->now, lookup_match, xc, wt ? &wt->cw : NULL, &o);
	if (r != CACHE_WAIT)
		free(wt);
	if (r == CACHE_REFRESH) {
		/* stale-while-revalidate, and the first to find it so: answered with the
		 * stale entry at once while fulcrum refetches it in the background. A HEAD,
		 * only-if-cached, or a refresh that cannot start: the fetch is this request's */
		xc->fetching = 1;
		r = !only_cached && !xc->head_only && refresh_start(c, o) == 0 ? CACHE_STALE : CACHE_FETCH;
	}
	if (r == CACHE_HIT || r == CACHE_STALE) {
		http_cache_serve(c, o, r == CACHE_STALE ? CACHE_ST_STALE :
			    x->cache_status == CACHE_ST_COALESCED || atomic_load(&o->fill) != CACHE_FILL_WHOLE
				    ? CACHE_ST_COALESCED : CACHE_ST_HIT);
		xc = x->cache;
	}
	if (xc)
		xc->rh = NULL;  /* the scratch is the next parse's */
	if (r == CACHE_HIT || r == CACHE_STALE)
		return;
	/* a fetcher keeps the stale answer it may give if the backend fails (5xx) */
	if (o && r == CACHE_FETCH && !only_cached && !xc->head_only)
		xc->stale = o;
	else
		cache_obj_unref(o);
	if (only_cached) {
		if (r == CACHE_FETCH) {
			xc->fetching = 1;
			http_cache_fetch_end(c, NULL, 0);
		}
		client_error(c, 504, TERM_NO_BACKEND, "only-if-cached and not in the cache");
		return;
	}
	switch (r) {
	case CACHE_HIT:
	case CACHE_STALE:
	case CACHE_REFRESH:
		return;
	case CACHE_WAIT:
		xc->wait = wt;
		x->cache_status = CACHE_ST_COALESCED;
		c->state = CS_QUEUED;
		x->waiter.enqueued_at = xc->now;  /* queue_timeout_ms bounds the wait */
		if (x->t_queued == 0)
			x->t_queued = xc->now;
		return;
	case CACHE_PASS:
		x->cache_status = CACHE_ST_PASS;
		to_backend(c, 0);
		return;
	case CACHE_FETCH:
		x->cache_status = CACHE_ST_MISS;
		xc->fetching = 1;
		if (xc->head_only) {
			/* a HEAD brings no body to store: the next GET fetches */
			http_cache_fetch_end(c, NULL, 0);
			to_backend(c, 0);
			return;
		}
		to_backend(c, 1);
		return;
	}
}

/* The request goes to the backend: a fetcher's exchange keeps its cache part (the copy,
 * the fetch to end), another lets go of it (the status stays for the log). */
static void to_backend(struct client *c, int fetching)
{
	if (!fetching)
		cache_x_free(c);
	exchange_produce(c, fetching ? &cache_fill_producer : &backend_producer);
}

/* ---- a background refresh (stale-while-revalidate) ---- */

static __thread struct http_head refresh_scratch;

/* The request head a refresh sends: the head c's request was rewritten into for the
 * backend, its conditions replaced by the entry's validators (RFC 9111 4.3.1). A buffer
 * of c's worker, or NULL. */
static struct buf *refresh_head(struct client *c, const struct cache_obj *o)
{
	struct worker *w = c->w;
	struct buf *rq = c->ex->req_head, *b;
	struct http_limits lim;
	size_t cap;
	int n;

	if (!rq)
		return NULL;
	lim = (struct http_limits){ buf_len(rq) + 1, HTTP_HEADERS_MAX };
	if (http_parse_request(buf_head(rq), buf_len(rq), &lim, &refresh_scratch) != HTTP_PARSE_DONE)
		return NULL;
	cap = (size_t)buf_len(rq) + (o->etag ? strlen(o->etag) : 0) + (o->last_modified ? strlen(o->last_modified) : 0) +
	      64;
	b = cap > BUF_SIZE ? buf_grow(&w->bufs, NULL, (uint32_t)cap) : buf_get(&w->bufs);
	if (!b)
		return NULL;
	n = cache_revalidation_request(buf_head(rq), &refresh_scratch, o->etag, o->last_modified, buf_tail(b),
				       buf_room(b));
	if (n < 0) {
		buf_put(&w->bufs, b);
		return NULL;
	}
	b->end += (uint32_t)n;
	return b;
}

/* c's request found o stale within its stale-while-revalidate window and c is the key's
 * fetcher (CACHE_REFRESH): fulcrum's own request for o, conditional when o has
 * validators, takes the fetch over on a detached exchange (lb/detached_exchange.c) and
 * goes to the backend through the same queue and limits as any request; its 304
 * freshens o, its 200 replaces it (lb/http_cache_fill.c). 0 started (c answers with o
 * and owes no fetch end); -1 nothing started (c fetches in the foreground). */
static int refresh_start(struct client *c, struct cache_obj *o)
{
	struct http_cache_x *of = c->ex->cache, *xc;
	size_t n = sizeof(*of) + of->key_len + 1 + of->req_len + 1;
	struct buf *head = refresh_head(c, o);
	struct client *rc;

	if (!head)
		return -1;
	if (!(xc = malloc(n))) {
		buf_put(&c->w->bufs, head);
		return -1;
	}
	if (!(rc = detached_exchange_new(c, head))) {
		buf_put(&c->w->bufs, head);
		free(xc);
		return -1;
	}
	memcpy(xc, of, n);
	xc->key = xc->mem;
	xc->req = xc->mem + (of->req - of->mem);
	xc->obj = xc->fill = xc->stale = NULL;
	xc->wait = NULL;
	xc->follow = NULL;
	xc->rh = NULL;
	xc->pass_until = 0;
	xc->head_only = xc->streamed = xc->following = 0;
	xc->refresh = 1;
	cache_obj_ref(o);
	xc->revalidating = o;
	/* the fetch of the key moves: its end is the refresh's to call now */
	of->fetching = 0;
	rc->ex->cache = xc;
	rc->ex->cache_status = CACHE_ST_REFRESH;
	rc->ex->background = 1;  /* a free slot now or no refresh: the entry stays stale */
	exchange_produce(rc, &cache_fill_producer);
	return 0;
}

/* Ends the exchange's fetch of its key (once): o stored and the waiters woken. */
void http_cache_fetch_end(struct client *c, struct cache_obj *o, double pass_until)
{
	struct http_cache_x *xc = c->ex->cache;

	if (!xc->fetching) {
		cache_obj_unref(o);
		return;
	}
	xc->fetching = 0;
	cache_store_fetch_end(xc->store, xc->key, xc->key_len, o, ev_now(c->w->loop), pass_until);
}

/* ---- a hit ---- */

/* The parse of a stored head, packed: what precedes the field array, the nheaders
 * fields, what follows it (a whole struct http_head holds HTTP_HEADERS_MAX). */
#define HEAD_PRE offsetof(struct http_head, headers)
#define HEAD_POST_OFF offsetof(struct http_head, nheaders)
#define HEAD_POST (sizeof(struct http_head) - HEAD_POST_OFF)

/* Keeps h, the parse of o->head, in o->parsed. -1 out of memory. */
int http_cache_pack_head(struct cache_obj *o, const struct http_head *h)
{
	size_t n = h->nheaders * sizeof(h->headers[0]);
	char *p = malloc(HEAD_PRE + n + HEAD_POST);

	if (!p)
		return -1;
	memcpy(p, h, HEAD_PRE);
	memcpy(p + HEAD_PRE, h->headers, n);
	memcpy(p + HEAD_PRE + n, (const char *)h + HEAD_POST_OFF, HEAD_POST);
	o->parsed = p;
	o->parsed_len = HEAD_PRE + n + HEAD_POST;
	return 0;
}

/* o's head parsed into h: unpacked from o->parsed, else parsed. -1 if it does not parse. */
int http_cache_unpack_head(const struct cache_obj *o, enum http_method m, struct http_head *h)
{
	struct http_limits lim = { (uint32_t)o->head_len + 1, HTTP_HEADERS_MAX };
	const char *p = o->parsed;
	size_t n;

	if (!p)
		return http_parse_response(o->head, o->head_len, &lim, m, h) == HTTP_PARSE_DONE ? 0 : -1;
	n = o->parsed_len - HEAD_PRE - HEAD_POST;
	memcpy(h, p, HEAD_PRE);
	memcpy(h->headers, p + HEAD_PRE, n);
	memcpy((char *)h + HEAD_POST_OFF, p + HEAD_PRE + n, HEAD_POST);
	if (m == HTTP_M_HEAD)
		h->body = HTTP_BODY_NONE;  /* (parsed for a GET) */
	return 0;
}

/* Appends the decimal v to p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char d[20];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = d[--n];
	return p;
}

/* The head of a 304 to a conditional request that o satisfies (RFC 9110 15.4.5): the
 * fields a 200 would have carried that say what is valid, into out (cap bytes), parsed
 * into h. -1 when it does not fit. */
static int not_modified_head(const struct cache_obj *o, const struct http_head *oh, char *out, size_t cap,
			     struct http_head *h)
{
	static const char *const keep[] = { "cache-control", "content-location", "date", "etag",
					     "expires", "last-modified", "vary" };
	struct http_limits lim = { (uint32_t)cap, HTTP_HEADERS_MAX };
	size_t n = 0, k;
	uint32_t i;
	int m;

	m = snprintf(out, cap, "HTTP/1.1 304 Not Modified\r\n");
	if (m < 0 || (size_t)m >= cap)
		return -1;
	n = (size_t)m;
	for (i = 0; i < oh->nheaders; i++) {
		const struct http_header *f = &oh->headers[i];

		for (k = 0; k < sizeof(keep) / sizeof(keep[0]) && !http_slice_eq(o->head, f->name, keep[k]); k++)
			;
		if (k == sizeof(keep) / sizeof(keep[0]))
			continue;
		m = snprintf(out + n, cap - n, "%.*s: %.*s\r\n", (int)f->name.len, o->head + f->name.off,
			     (int)f->value.len, o->head + f->value.off);
		if (m < 0 || (size_t)m >= cap - n)
			return -1;
		n += (size_t)m;
	}
	if (n + 3 > cap)
		return -1;
	memcpy(out + n, "\r\n", 3);
	return http_parse_response(out, n + 2, &lim, HTTP_M_GET, h) == HTTP_PARSE_DONE ? 0 : -1;
}

/* Answers c from o (a reference that moves to the exchange): the stored head with Age
 * (and the pool's X-Cache line), rewritten as a proxied head is, then the body; or a
 * 304 when the request's conditions hold for o. xc->rh is the request's parse. */
void http_cache_serve(struct client *c, struct cache_obj *o, enum cache_status st)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc = x->cache;
	struct http_head *h = &cache_scratch;
	int64_t now = (int64_t)ev_now(c->w->loop), age = 0;
	char extra[160], xline[96], nm[4096], *e;
	const char *xl, *base = o->head;

	xc->obj = o;
	x->cache_status = st;
	if (http_cache_unpack_head(o, x->method, h) == -1) {
		client_error(c, 500, TERM_INTERNAL, "stored response unusable");
		return;
	}
	if (h->body == HTTP_BODY_CHUNKED && c->version_minor == 0) {
		/* an HTTP/1.0 client knows no chunks: the backend answers it in its own way */
		xc->obj = NULL;
		cache_obj_unref(o);
		x->cache_status = CACHE_ST_PASS;
		to_backend(c, 0);
		return;
	}
	cache_entry_state(&o->entry, &xc->rq, entry_now(o, ev_now(c->w->loop)), &age);
	x->status = o->status;
	x->file_off = 0;
	/* a response still being fetched is as long as its Content-Length says, or (chunked)
	 * not known until it is whole (http_cache_send) */
	x->file_left = xc->head_only ? 0 : atomic_load(&o->fill) == CACHE_FILL_WHOLE ? o->body_len :
					   o->stream_len ? o->stream_len : UINT64_MAX;
	if (xc->rh && cache_conditional(xc->req, xc->rh, o->head, h, now) == CACHE_COND_NOT_MODIFIED) {
		static __thread struct http_head nmh;

		if (not_modified_head(o, h, nm, sizeof(nm), &nmh) == 0) {
			base = nm;
			h = &nmh;
			x->status = 304;
			x->file_left = 0;
		}
	}
	/* "Age: N" and the pool's X-Cache line, without printf: once per hit */
	xl = http_cache_header_line(c, xline, sizeof(xline));
	e = put_u64(memcpy(extra, "Age: ", 5) + 5, (uint64_t)(age > 0 ? age : 0));
	if (xl) {
		memcpy(e, "\r\n", 2);
		e += 2;
		memcpy(e, xl, strlen(xl));  /* (xline is at most 96 bytes) */
		e += strlen(xl);
	}
	*e = '\0';
	if (http_resp_head(c, base, h, extra) == -1) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	c->last_activity = ev_now(c->w->loop);
	exchange_produce(c, &cache_producer);
}

/* The head is in c->out: the protocol writes it and the body as the client takes them
 * (CS_STREAMING) and finishes the exchange after. */
static void hit_start(struct client *c)
{
	struct exchange *x = c->ex;

	x->req_framed = x->req_done = 1;
	x->resp_head_done = x->resp_done = 1;
	x->resp_keep_alive = 1;
	c->state = CS_STREAMING;
}

/* All of a streamed response that has come is sent: the exchange waits, with no write
 * interest, until more comes or its fill ends (the store wakes the follower through the
 * worker's mailbox). 1 waiting, 0 more is there already (or the fill ended), -1 out of
 * memory. */
static int follow(struct client *c)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc = x->cache;

	if (!xc->follow) {
		if (!(xc->follow = malloc(sizeof(*xc->follow))))
			return -1;
		*xc->follow = (struct http_cache_wait){ .cw.wake = on_woken, .w = c->w, .c = c, .follow = 1 };
	}
	if (!cache_obj_follow(xc->store, xc->obj, (size_t)x->file_off, &xc->follow->cw))
		return 0;
	xc->following = 1;
	x->cache_wait_fill = 1;
	return 1;
}

int http_cache_send(struct client *c)
{
	struct exchange *x = c->ex;
	struct cache_obj *o = x->cache->obj;
	uint64_t turn = SEND_TURN_MAX;

	for (;;) {
		struct iovec iov[2];
		int n = 0, fill = atomic_load_explicit(&o->fill, memory_order_acquire);
		ssize_t w;
		/* what there is of the body: all of it, or what its fetch brought so far */
		size_t have = (fill == CACHE_FILL_WHOLE ? o->body_len : atomic_load_explicit(&o->avail, memory_order_acquire)) -
			      (size_t)x->file_off;
		size_t want;

		/* a chunked body's length is known once it is whole */
		if (fill == CACHE_FILL_WHOLE && x->file_left > o->body_len - x->file_off)
			x->file_left = o->body_len - x->file_off;
		want = x->file_left < turn ? (size_t)x->file_left : (size_t)turn;

		if (want > have)
			want = have;
		if (c->out && buf_len(c->out))
			iov[n++] = (struct iovec){ buf_head(c->out), buf_len(c->out) };
		if (want)
			iov[n++] = (struct iovec){ o->body + x->file_off, want };
		if (n == 0) {
			if (x->file_left == 0)
				return 0;
			if (fill != CACHE_FILL_STREAMING)
				return -2;  /* the fetch failed: the response stops short */
			switch (follow(c)) {
			case 1:
				return 1;
			case 0:
				continue;
			default:
				return -1;
			}
		}
		if (turn == 0)
			return 1;  /* the write event stays armed: the rest on the next turn */
		do
			w = conn_writev(c, iov, n);
		while (w == -1 && errno == EINTR);
		if (w == -1)
			return errno == EAGAIN ? 1 : -1;
		x->bytes_out += (uint64_t)w;
		c->last_activity = ev_now(c->w->loop);
		if (c->out && buf_len(c->out)) {
			uint32_t a = (uint32_t)w < buf_len(c->out) ? (uint32_t)w : buf_len(c->out);
			buf_consume(c->out, a);
			w -= a;
		}
		x->file_off += (uint64_t)w;
		x->file_left -= (uint64_t)w;
		turn = (uint64_t)w < turn ? turn - (uint64_t)w : 0;
	}
}

static void hit_done(struct client *c, int reusable)
{
	(void)reusable;
	cache_x_free(c);
}

/* Also the waiter's abandon: it leaves the fetch's list, or, when the wake is already
 * on its way, leaves the waiter for http_cache_run_woken to free. */
static void hit_abandon(struct client *c)
{
	cache_x_free(c);
}

/* Lets go of everything the exchange's cache part holds (idempotent). */
static void cache_x_free(struct client *c)
{
	struct http_cache_x *xc = c->ex->cache;

	if (!xc)
		return;
	if (xc->wait) {
		if (cache_store_cancel_wait(xc->store, xc->key, xc->key_len, &xc->wait->cw))
			free(xc->wait);
		else
			xc->wait->c = NULL;
		xc->wait = NULL;
	}
	if (xc->follow) {
		if (xc->following && !cache_obj_unfollow(xc->store, xc->obj, &xc->follow->cw))
			xc->follow->c = NULL;  /* its wake is on the way: http_cache_run_woken frees it */
		else
			free(xc->follow);
		xc->follow = NULL;
	}
	if (xc->fetching)
		http_cache_fetch_end(c, NULL, 0);
	cache_obj_unref(xc->fill);
	cache_obj_unref(xc->obj);
	cache_obj_unref(xc->stale);
	cache_obj_unref(xc->revalidating);
	c->ex->cache = NULL;
	free(xc);
}

/* ---- a fetch ---- */

static void fill_done(struct client *c, int reusable)
{
	client_backend_done(c, reusable);
	/* the response came whole: stored already (http_cache_response_done); a response
	 * the client did not let come whole gives up the fetch here */
	cache_x_free(c);
}

static void fill_abandon(struct client *c)
{
	backend_producer.abandon(c);
	cache_x_free(c);
}

const char *http_cache_header_line(const struct client *c, char *out, size_t cap)
{
	const struct exchange *x = c->ex;
	const struct pool *p = x->pool ? x->pool : c->gl->pool;
	int n;

	if (!x->cache_status || !p || !p->cfg->cache || !p->cfg->cache->x_cache_header)
		return NULL;
	n = snprintf(out, cap, "%s: %s", p->cfg->cache->x_cache_header, http_cache_status_name(x->cache_status));
	return n > 0 && (size_t)n < cap ? out : NULL;
}

/* ---- waiters ---- */

/* The store's wake, on the fetcher's thread: into the waiter's worker's mailbox. */
static void on_woken(struct cache_waiter *cw)
{
	struct http_cache_wait *wt = (struct http_cache_wait *)cw;
	struct worker *w = wt->w;

	pthread_mutex_lock(&w->cache_lock);
	wt->mail_next = w->cache_woken;
	w->cache_woken = wt;
	pthread_mutex_unlock(&w->cache_lock);
	atomic_store(&w->want_cache, 1);
	ev_async_send(w->loop, &w->wake);
}

void http_cache_run_woken(struct worker *w)
{
	struct http_cache_wait *wt, *next;

	pthread_mutex_lock(&w->cache_lock);
	wt = w->cache_woken;
	w->cache_woken = NULL;
	pthread_mutex_unlock(&w->cache_lock);
	for (; wt; wt = next) {
		struct http_cache_x *xc;
		struct client *c = wt->c;
		struct cache_obj *o = wt->cw.obj;

		next = wt->mail_next;
		if (wt->follow) {
			/* more of a streamed response came, or its fill ended: the exchange
			 * writes again (the registration stays its, for the next wait) */
			if (!c) {
				free(wt);  /* the exchange left while this was on its way */
				continue;
			}
			c->ex->cache->following = 0;
			c->ex->cache_wait_fill = 0;
			client_update(c);
			continue;
		}
		if (!c || c->state != CS_QUEUED || !c->ex || !c->ex->cache || c->ex->cache->wait != wt) {
			free(wt);
			cache_obj_unref(o);
			continue;
		}
		free(wt);
		xc = c->ex->cache;
		xc->wait = NULL;
		/* the response came after the request: fresh for it whatever it asked, if it
		 * is its variant */
		if (o && atomic_load(&o->fill) != CACHE_FILL_FAILED && http_cache_request_head(xc, &w->scratch) == 0 &&
		    variant_match(o, xc) && ev_now(w->loop) < o->fresh_until) {
			http_cache_serve(c, o, CACHE_ST_COALESCED);
			if (c->ex && c->ex->cache)
				c->ex->cache->rh = NULL;
		} else {
			xc->rh = NULL;
			/* not stored, or another variant: look again (a hit, a pass, or this
			 * request fetches) */
			cache_obj_unref(o);
			lookup(c);
		}
		if (c->state != CS_CLOSED)
			client_update(c);
	}
}
