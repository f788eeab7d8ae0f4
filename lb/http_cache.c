/* http_cache.c: owns the edge cache on the HTTP/1.1 data path (include/http_cache.h):
 * a request's key and lookup, the hit's answer (cache_producer: the stored head with
 * Age, the body from memory), the wait of a request behind another's fetch of the same
 * URL (woken on its own worker through the worker's ev_async), and the copy of a
 * storable response kept as the backend delivers it (cache_fill_producer wraps the
 * backend's). The store and its locks are core/cache_store.c's.
 *
 * The key is the request's Host (lowercased) followed by its target as sent ("host/path?q"):
 * purges by prefix take the same form. Which requests are looked up and which
 * responses are stored, and for how long, is decided here (cache_storable). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "balance.h"
#include "cache_store.h"
#include "conn.h"
#include "conn_io.h"
#include "http_cache.h"
#include "http_resp_head.h"
#include "producer.h"
#include "worker.h"

/* Hit-for-pass: how long a URL whose response was not storable goes straight to the
 * backend, when the response does not say (its max-age). */
#define PASS_DEFAULT_S 10.0
/* Bytes one writable event may send of a hit's body before the loop serves others. */
#define SEND_TURN_MAX (1024 * 1024)
#define VARY_NAMES_MAX 256

/* A request waiting for another's fetch: allocated, as the fetch may end on another
 * thread after the exchange left (then c is NULL and the worker frees it). */
struct http_cache_wait {
	struct cache_waiter cw;          /* the store's part (first: the wake's cast) */
	struct worker *w;                /* the waiter's worker */
	struct client *c;                /* NULL once the exchange left (its worker's thread only) */
	struct http_cache_wait *mail_next; /* in w->cache_woken */
};

/* The cache's part of an exchange (c->ex->cache). */
struct http_cache_x {
	struct cache_store *store;       /* the pool's (the exchange's generation holds it) */
	const struct cfg_cache *cfg;
	struct cache_obj *obj;           /* a hit being answered (a reference) */
	struct cache_obj *fill;          /* the fetcher's copy of a storable response */
	struct http_cache_wait *wait;    /* waiting for a fetch */
	double pass_until;               /* a fill given up (too large): hit-for-pass until */
	unsigned fetching:1;             /* this exchange is its key's fetcher: fetch_end owed */
	unsigned head_only:1;            /* HEAD */
	size_t key_len, req_len;
	char *key;                       /* host + target */
	char *req;                       /* the request head as the client sent it */
	char mem[];
};

static void to_backend(struct client *c, int fetching);
static void serve(struct client *c, struct cache_obj *o, enum cache_status st);
static void lookup(struct client *c);
static void fetch_end(struct client *c, struct cache_obj *o, double pass_until);
static void cache_x_free(struct client *c);
static void hit_start(struct client *c);
static void hit_done(struct client *c, int reusable);
static void hit_abandon(struct client *c);
static void fill_done(struct client *c, int reusable);
static void fill_abandon(struct client *c);
static void on_woken(struct cache_waiter *cw);

const struct producer cache_producer = {
	.name = "cache",
	.start = hit_start,
	.done = hit_done,
	.abandon = hit_abandon,
};

/* The backend's producer, with the fetch of the URL ended when the exchange ends. */
static const struct producer cache_fill_producer = {
	.name = "backend",
	.start = client_pick_backend,
	.done = fill_done,
	.abandon = fill_abandon,
};

/* ---- the request ---- */

/* The value of the request's field name (lowercase, nlen) in the head copy req, trimmed;
 * NULL when absent. */
static const char *req_field(const char *req, size_t len, const char *name, size_t nlen, size_t *vlen)
{
	const char *p = memchr(req, '\n', len), *end = req + len;

	while (p && p + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line)), *v;

		if (!eol)
			break;
		if ((size_t)(eol - line) > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen)) {
			v = line + nlen + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			while (eol > v && (eol[-1] == '\r' || eol[-1] == ' ' || eol[-1] == '\t'))
				eol--;
			*vlen = (size_t)(eol - v);
			return v;
		}
		p = eol;
	}
	return NULL;
}

/* 1 when a comma-separated directive list v (vlen) has token tok (lowercase). */
static int has_token(const char *v, size_t vlen, const char *tok)
{
	size_t n = strlen(tok), i = 0;

	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == ','))
			i++;
		if (vlen - i >= n && !strncasecmp(v + i, tok, n) &&
		    (i + n == vlen || v[i + n] == ',' || v[i + n] == ' ' || v[i + n] == '='))
			return 1;
		while (i < vlen && v[i] != ',')
			i++;
	}
	return 0;
}

int http_cache_begin(struct client *c, struct pool *p, const char *base, const struct http_head *h)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc;
	size_t host_len = (h->flags & HTTP_F_HAS_HOST) ? h->host.len : 0, i, vlen;
	const char *v;

	x->cache_status = CACHE_ST_BYPASS;
	if ((h->method_id != HTTP_M_GET && h->method_id != HTTP_M_HEAD) || h->body != HTTP_BODY_NONE ||
	    x->upgrade)
		return 0;
	xc = malloc(sizeof(*xc) + host_len + h->target.len + h->head_len + 2);
	if (!xc)
		return -1;
	memset(xc, 0, sizeof(*xc));
	xc->store = p->cache;
	xc->cfg = p->cfg->cache;
	xc->head_only = h->method_id == HTTP_M_HEAD;
	xc->key = xc->mem;
	for (i = 0; i < host_len; i++)
		xc->key[i] = (char)tolower((unsigned char)base[h->host.off + i]);
	memcpy(xc->key + host_len, base + h->target.off, h->target.len);
	xc->key_len = host_len + h->target.len;
	xc->key[xc->key_len] = '\0';
	xc->req = xc->key + xc->key_len + 1;
	memcpy(xc->req, base, h->head_len);
	xc->req_len = h->head_len;
	xc->req[xc->req_len] = '\0';
	/* a shared cache stores no answer to a request with credentials (RFC 9111 3.5), and
	 * a client asking for a fresh answer gets the backend's */
	if (req_field(xc->req, xc->req_len, "authorization", 13, &vlen) ||
	    ((v = req_field(xc->req, xc->req_len, "cache-control", 13, &vlen)) &&
	     (has_token(v, vlen, "no-cache") || has_token(v, vlen, "no-store"))) ||
	    ((v = req_field(xc->req, xc->req_len, "pragma", 6, &vlen)) && has_token(v, vlen, "no-cache"))) {
		free(xc);
		return 0;
	}
	x->cache = xc;
	x->pool = p;  /* (a routed request's already; the log names it on a hit too) */
	x->cache_status = CACHE_ST_MISS;
	/* from now on the exchange's end, whatever it is, lets go of xc (its abandon) */
	x->producer = &cache_producer;
	return 0;
}

/* The request's secondary key for the Vary names (lowercase, comma-separated): each
 * field's value and a newline, in out. Its length, or -1 when it does not fit. */
static long vary_key(const struct http_cache_x *xc, const char *names, char *out, size_t cap)
{
	size_t n = 0, vlen;
	const char *p = names;

	while (*p) {
		const char *comma = strchr(p, ','), *v;
		size_t nlen = comma ? (size_t)(comma - p) : strlen(p);

		v = req_field(xc->req, xc->req_len, p, nlen, &vlen);
		if (!v)
			vlen = 0;
		if (n + vlen + 1 > cap)
			return -1;
		memcpy(out + n, v ? v : "", vlen);
		n += vlen;
		out[n++] = '\n';
		p += nlen + (comma ? 1 : 0);
	}
	return (long)n;
}

/* cache_store_lookup's match: o's variant is the request's. */
static int vary_match(const struct cache_obj *o, void *arg)
{
	char k[1024];
	long n;

	if (!o->vary_names || !o->vary_names[0])
		return 1;
	n = vary_key(arg, o->vary_names, k, sizeof(k));
	return n >= 0 && (size_t)n == o->vary_len && !memcmp(k, o->vary, (size_t)n);
}

void http_cache_dispatch(struct client *c)
{
	lookup(c);
}

/* Looks the request up: a hit is answered, a fetch in progress waited for, else the
 * backend (as the key's fetcher when the store says so). */
static void lookup(struct client *c)
{
	struct exchange *x = c->ex;
	struct http_cache_x *xc = x->cache;
	struct http_cache_wait *wt = malloc(sizeof(*wt));
	struct cache_obj *o;
	double now = ev_now(c->w->loop);

	if (!wt) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	*wt = (struct http_cache_wait){ .cw.wake = on_woken, .w = c->w, .c = c };
	switch (cache_store_lookup(xc->store, xc->key, xc->key_len, now, vary_match, xc, &wt->cw, &o)) {
	case CACHE_HIT:
		free(wt);
		serve(c, o, x->cache_status == CACHE_ST_COALESCED ? CACHE_ST_COALESCED : CACHE_ST_HIT);
		return;
	case CACHE_WAIT:
		xc->wait = wt;
		x->cache_status = CACHE_ST_COALESCED;
		c->state = CS_QUEUED;
		x->waiter.enqueued_at = now;  /* queue_timeout_ms bounds the wait */
		if (x->t_queued == 0)
			x->t_queued = now;
		return;
	case CACHE_PASS:
		free(wt);
		x->cache_status = CACHE_ST_PASS;
		to_backend(c, 0);
		return;
	case CACHE_FETCH:
		free(wt);
		x->cache_status = CACHE_ST_MISS;
		xc->fetching = 1;
		if (xc->head_only) {
			/* a HEAD brings no body to store: the next GET fetches */
			fetch_end(c, NULL, 0);
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
	client_to_backend(c, fetching ? &cache_fill_producer : &backend_producer);
}

/* Ends the exchange's fetch of its key (once): o stored and the waiters woken. */
static void fetch_end(struct client *c, struct cache_obj *o, double pass_until)
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

/* Answers c from o (a reference that moves to the exchange): the stored head with Age
 * (and the pool's X-Cache line), rewritten as a proxied head is, then the body. */
static void serve(struct client *c, struct cache_obj *o, enum cache_status st)
{
	struct exchange *x = c->ex;
	struct http_head *h = &c->w->scratch;
	struct http_limits lim = { 64 * 1024, HTTP_HEADERS_MAX };
	double age = ev_now(c->w->loop) - o->stored_at;
	char extra[160], xline[96];
	const char *xl;
	int n;

	x->cache->obj = o;
	x->cache_status = st;
	if (http_parse_response(o->head, o->head_len, &lim, x->method, h) != HTTP_PARSE_DONE) {
		client_error(c, 500, TERM_INTERNAL, "stored response unusable");
		return;
	}
	xl = http_cache_header_line(c, xline, sizeof(xline));
	n = snprintf(extra, sizeof(extra), "Age: %lu%s%s", (unsigned long)(age > 0 ? age : 0),
		     xl ? "\r\n" : "", xl ? xl : "");
	if (n < 0 || (size_t)n >= sizeof(extra) || http_resp_head(c, o->head, h, extra) == -1) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	x->status = o->status;
	x->file_off = 0;
	x->file_left = x->cache->head_only ? 0 : o->body_len;
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

int http_cache_send(struct client *c)
{
	struct exchange *x = c->ex;
	struct cache_obj *o = x->cache->obj;
	uint64_t turn = SEND_TURN_MAX;

	for (;;) {
		struct iovec iov[2];
		int n = 0;
		ssize_t w;
		size_t want = x->file_left < turn ? (size_t)x->file_left : (size_t)turn;

		if (c->out && buf_len(c->out))
			iov[n++] = (struct iovec){ buf_head(c->out), buf_len(c->out) };
		if (want)
			iov[n++] = (struct iovec){ o->body + x->file_off, want };
		if (n == 0)
			return 0;
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
	if (xc->fetching)
		fetch_end(c, NULL, 0);
	cache_obj_unref(xc->fill);
	cache_obj_unref(xc->obj);
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

/* Seconds of a "name=N" directive in v, or -1. */
static long directive_s(const char *v, size_t vlen, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i + n < vlen; i++)
		if (!strncasecmp(v + i, name, n) && v[i + n] == '=' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',')) {
			long s = 0;
			size_t k = i + n + 1;
			int digits = 0;

			for (; k < vlen && v[k] >= '0' && v[k] <= '9' && s < 100000000; k++, digits++)
				s = s * 10 + (v[k] - '0');
			return digits ? s : -1;
		}
	return -1;
}

/* Whether the response h over base may be stored and for how long (*ttl seconds from
 * now, the backend's Age in *age); else how long its URL passes (*pass). Only 200s
 * with a length or chunks, without Set-Cookie, private, no-store, no-cache or Vary: *. */
static int cache_storable(const struct http_cache_x *xc, const char *base, const struct http_head *h,
			  double *ttl, double *age, double *pass, char *vary, size_t vary_cap)
{
	long max_age = -1, s_maxage = -1;
	int no = 0, has_cc = 0, has_expires = 0;
	size_t vn = 0;
	uint32_t i;

	*age = 0;
	vary[0] = '\0';
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off;
		size_t vlen = f->value.len;

		if (http_slice_eq(base, f->name, "cache-control")) {
			has_cc = 1;
			if (has_token(v, vlen, "no-store") || has_token(v, vlen, "private") ||
			    has_token(v, vlen, "no-cache"))
				no = 1;
			if (directive_s(v, vlen, "max-age") >= 0)
				max_age = directive_s(v, vlen, "max-age");
			if (directive_s(v, vlen, "s-maxage") >= 0)
				s_maxage = directive_s(v, vlen, "s-maxage");
		} else if (http_slice_eq(base, f->name, "set-cookie")) {
			no = 1;
		} else if (http_slice_eq(base, f->name, "expires")) {
			has_expires = 1;
		} else if (http_slice_eq(base, f->name, "age")) {
			*age = (double)strtoul(v, NULL, 10);
		} else if (http_slice_eq(base, f->name, "vary")) {
			size_t k;

			for (k = 0; k < vlen; k++) {
				char ch = (char)tolower((unsigned char)v[k]);

				if (ch == '*')
					no = 1;
				if (ch == ' ' || ch == '\t')
					continue;
				if (vn + 2 >= vary_cap)
					no = 1;
				else
					vary[vn++] = ch;
			}
			if (vn && vn + 1 < vary_cap && vary[vn - 1] != ',')
				vary[vn++] = ',';
			vary[vn] = '\0';
		}
	}
	if (vn && vary[vn - 1] == ',')
		vary[--vn] = '\0';
	*pass = max_age > 0 ? (double)max_age : PASS_DEFAULT_S;
	if (no || h->status != 200 || h->body == HTTP_BODY_UNTIL_CLOSE || xc->head_only)
		return 0;
	if (s_maxage >= 0)
		*ttl = (double)s_maxage;
	else if (max_age >= 0)
		*ttl = (double)max_age;
	else if (!has_cc && !has_expires)
		*ttl = (double)xc->cfg->default_ttl_s;
	else
		*ttl = 0;
	*ttl -= *age;
	return *ttl > 0;
}

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

/* Tags of the response (Cache-Tag, Surrogate-Key: lists split by commas and spaces). */
static int store_tags(struct cache_obj *o, const char *base, const struct http_head *h)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off, *end = v + f->value.len;

		if (!http_slice_eq(base, f->name, "cache-tag") && !http_slice_eq(base, f->name, "surrogate-key"))
			continue;
		while (v < end) {
			const char *t;

			while (v < end && (*v == ',' || *v == ' '))
				v++;
			for (t = v; v < end && *v != ',' && *v != ' '; v++)
				;
			if (v > t && cache_obj_add_tag(o, t, (size_t)(v - t)) == -1)
				return -1;
		}
	}
	return 0;
}

void http_cache_response_head(struct client *c, const char *base, const struct http_head *h)
{
	struct http_cache_x *xc = c->ex->cache;
	double now = ev_now(c->w->loop), ttl = 0, age = 0, pass = 0;
	char names[VARY_NAMES_MAX], vk[1024];
	struct cache_obj *o = NULL;
	long vlen = 0;
	uint32_t i;

	if (!xc || !xc->fetching)
		return;
	if (!cache_storable(xc, base, h, &ttl, &age, &pass, names, sizeof(names)) ||
	    (names[0] && (vlen = vary_key(xc, names, vk, sizeof(vk))) < 0) ||
	    (h->body == HTTP_BODY_LENGTH && h->content_length > cache_store_limits(xc->store)->max_object_bytes)) {
		fetch_end(c, NULL, now + pass);
		return;
	}
	o = cache_obj_new(xc->key, xc->key_len, h->body == HTTP_BODY_LENGTH ? (size_t)h->content_length : 0);
	if (!o || store_head(o, base, h) == -1 || cache_obj_set_vary(o, names, vk, (size_t)vlen) == -1 ||
	    store_tags(o, base, h) == -1) {
		cache_obj_unref(o);
		fetch_end(c, NULL, 0);
		return;
	}
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];

		if (http_slice_eq(base, f->name, "etag"))
			cache_obj_set_validators(o, base + f->value.off, f->value.len, o->last_modified,
						 o->last_modified ? strlen(o->last_modified) : 0);
		else if (http_slice_eq(base, f->name, "last-modified"))
			cache_obj_set_validators(o, o->etag, o->etag ? strlen(o->etag) : 0, base + f->value.off,
						 f->value.len);
	}
	o->status = h->status;
	o->stored_at = now - age;
	o->fresh_until = now + ttl;
	o->swr_until = o->sie_until = o->fresh_until;
	xc->fill = o;
	xc->pass_until = now + pass;
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

void http_cache_body(struct client *c, const char *p, size_t n)
{
	struct http_cache_x *xc = c->ex->cache;

	if (!xc || !xc->fill)
		return;
	if (cache_obj_append(xc->fill, p, n, cache_store_limits(xc->store)->max_object_bytes) == -1) {
		/* larger than an object may be (a chunked body): the URL passes */
		cache_obj_unref(xc->fill);
		xc->fill = NULL;
		fetch_end(c, NULL, xc->pass_until);
	}
}

void http_cache_response_done(struct client *c)
{
	struct http_cache_x *xc = c->ex->cache;
	struct cache_obj *o;

	if (!xc || !xc->fill)
		return;
	o = xc->fill;
	xc->fill = NULL;
	fetch_end(c, o, xc->pass_until);
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
		struct client *c = wt->c;
		struct cache_obj *o = wt->cw.obj;

		next = wt->mail_next;
		if (!c || c->state != CS_QUEUED || !c->ex || !c->ex->cache || c->ex->cache->wait != wt) {
			free(wt);
			cache_obj_unref(o);
			continue;
		}
		free(wt);
		c->ex->cache->wait = NULL;
		if (o && vary_match(o, c->ex->cache) && ev_now(w->loop) < o->fresh_until) {
			serve(c, o, CACHE_ST_COALESCED);
		} else {
			/* not stored, or another variant: look again (a hit, a pass, or this
			 * request fetches) */
			cache_obj_unref(o);
			lookup(c);
		}
		if (c->state != CS_CLOSED)
			client_update(c);
	}
}
