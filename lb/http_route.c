/* http_route.c: owns what an http listener's routes do to a parsed request head
 * (core/route_index.c finds the route,
 * core/route.c matches): the request goes to the route's pool, or is answered here
 * with the route's redirect or fixed answer (the local producer), or, when no route
 * matches and the listener has no pool, with a 404. */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "conn_error.h"
#include "generation.h"
#include "http_edits.h"
#include "http_maint.h"
#include "producer.h"
#include "route.h"
#include "route_index.h"
#include "static_files.h"

/* Longest Location fulcrum writes: the answer is one buffer (16 KiB) with its head. */
#define LOCATION_MAX 8192

/* The path of a request target: origin-form "/a/b?q" -> "/a/b"; absolute-form
 * "http://h/a?q" -> "/a"; "*" (OPTIONS) -> "*". */
static void target_path(const char *t, size_t n, const char **path, size_t *len)
{
	const char *q, *p = t;

	if (n > 0 && t[0] != '/' && t[0] != '*') {
		const char *s = memmem(t, n, "://", 3);
		p = s ? memchr(s + 3, '/', n - (size_t)(s + 3 - t)) : NULL;
		if (!p)
			p = t + n;  /* "http://host" alone: the empty path */
	}
	q = memchr(p, '?', n - (size_t)(p - t));
	*path = p;
	*len = (size_t)((q ? q : t + n) - p);
}

static int take_head_alone(struct client *c, const struct http_head *h);

/* The route's redirect: the request's URL with the route's scheme, host and port. */
static void answer_redirect(struct client *c, const struct cfg_route_redirect *rd, const char *base,
			    const struct http_head *h)
{
	struct exchange *x = c->ex;
	char location[LOCATION_MAX];
	const char *scheme = rd->scheme ? rd->scheme : client_tls(c)->ssl ? "https" : "http";
	const char *host = rd->host ? rd->host : base + h->host.off;
	size_t host_len = rd->host ? strlen(rd->host) : h->host.len;
	const char *path, *t = base + h->target.off;
	size_t path_len, tail_len;
	char port[16] = "";
	int n;

	if (rd->port) {
		/* the Host's own port gives way to the route's ("[::1]:8080" keeps its brackets) */
		const char *colon = host_len && host[0] == '[' ? NULL : memchr(host, ':', host_len);
		const char *bracket = host_len && host[0] == '[' ? memchr(host, ']', host_len) : NULL;
		if (colon)
			host_len = (size_t)(colon - host);
		else if (bracket)
			host_len = (size_t)(bracket - host) + 1;
		snprintf(port, sizeof(port), ":%u", rd->port);
	}
	target_path(t, h->target.len, &path, &path_len);
	/* the query, if any, goes along as it came */
	tail_len = h->target.len - (size_t)(path - t) - path_len;
	if (path_len == 0 || path[0] != '/') {
		/* "*" or "http://host": the new URL's path is the root, with no query */
		path = "/";
		path_len = 1;
		tail_len = 0;
	}
	n = snprintf(location, sizeof(location), "%s://%.*s%s%.*s%.*s", scheme, (int)host_len, host, port,
		     (int)path_len, path, (int)tail_len, path + path_len);
	if (n < 0 || (size_t)n >= sizeof(location)) {
		client_error(c, 414, TERM_BAD_REQUEST, "redirect target too long");
		return;
	}
	x->term = TERM_DONE;
	x->status = (int)rd->status;
	x->local = (struct local_answer){
		.status = (int)rd->status, .content_type = "text/plain; charset=utf-8",
		.body = "", .body_len = 0, .location = location,
		.keep_alive = take_head_alone(c, h),
	};
	exchange_produce(c, &local_producer);
}

/* A request without a body is its head alone: it is taken off c->in here, so that a
 * route's own answer can leave the connection to the next request (pipelined ones start
 * after it), as a proxied answer does. 1 then; 0 when a body follows (the answer closes). */
static int take_head_alone(struct client *c, const struct http_head *h)
{
	if (h->body != HTTP_BODY_NONE)
		return 0;
	buf_consume(c->in, h->head_len);
	return 1;
}

/* The route's fixed answer; its body from the route's body_file when it has one (read
 * with the generation, as the error pages are). */
static void answer_fixed(struct client *c, int route, const struct cfg_route_respond *rp,
			 const struct http_head *h)
{
	const struct error_page *file =
		rp->body_file ? error_pages_fixed(&c->gl->errors, route) : NULL;
	struct exchange *x = c->ex;

	x->term = TERM_DONE;
	x->status = (int)rp->status;
	x->local = (struct local_answer){
		.status = (int)rp->status, .content_type = rp->content_type,
		.body = file ? file->body : rp->body, .body_len = file ? file->len : strlen(rp->body),
		.keep_alive = take_head_alone(c, h),
	};
	exchange_produce(c, &local_producer);
}

/* The value of the cookie named name in the request's Cookie fields, or NULL. */
static const char *cookie_value(const char *base, const struct http_head *h, const char *name,
				size_t *len)
{
	size_t nlen = strlen(name);
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *p = base + f->value.off, *end = p + f->value.len;

		if (!http_slice_eq(base, f->name, "cookie"))
			continue;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p)), *stop = semi ? semi : end;
			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
			if ((size_t)(stop - p) > nlen && p[nlen] == '=' && memcmp(p, name, nlen) == 0) {
				*len = (size_t)(stop - p) - nlen - 1;
				return p + nlen + 1;
			}
			p = stop + 1;
		}
	}
	return NULL;
}

/* The index in a split route's pools of the one for this request: the one the client's
 * sticky cookie names, else the next draw of the split (struct route_split); a drawn pool
 * is told to the client in the response when the route has a sticky cookie
 * (x->sticky_set). */
static size_t split_pick(struct client *c, const struct cfg_route *r, struct route_split *rs,
			 const char *base, const struct http_head *h)
{
	uint64_t pos;
	size_t k, len;
	const char *v;

	if (r->sticky_cookie && (v = cookie_value(base, h, r->sticky_cookie, &len)))
		for (k = 0; k < r->nsplit; k++)
			if (strlen(r->split[k].pool) == len && !memcmp(r->split[k].pool, v, len))
				return k;
	pos = atomic_fetch_add_explicit(&rs->seq, 1, memory_order_relaxed) * rs->stride % rs->total;
	for (k = 0; k + 1 < r->nsplit && pos >= r->split[k].weight; k++)
		pos -= r->split[k].weight;
	c->ex->sticky_set = r->sticky_cookie != NULL;
	return k;
}

int http_route_request(struct client *c, const char *base, const struct http_head *h)
{
	const struct cfg_listener *l = c->gl->cfg;
	struct exchange *x = c->ex;
	const struct cfg_route *r;
	struct route_request rq = {
		.host = base + h->host.off, .host_len = (h->flags & HTTP_F_HAS_HOST) ? h->host.len : 0,
		.method = base + h->method.off, .method_len = h->method.len,
		.base = base, .headers = h->headers, .nheaders = h->nheaders,
		.https = client_tls(c)->ssl != NULL,
	};
	const char *t = base + h->target.off;
	size_t len;
	size_t k;
	int i;

	target_path(t, h->target.len, &rq.path, &rq.path_len);
	/* the query: after the path's '?' up to the end of the target (no fragment is sent) */
	rq.query = rq.path + rq.path_len;
	rq.query_len = h->target.len - (size_t)(rq.query - t);
	if (rq.query_len > 0) {
		rq.query++;
		rq.query_len--;
	}
	i = c->gl->route_index ? route_index_find(c->gl->route_index, l->routes, c->gl->route_res, &rq) : -1;
	if (i < 0) {
		if (c->gl->pool)
			return 0;  /* the listener's pool: as without routes */
		client_error(c, 404, TERM_NO_ROUTE, "no route matches this request");
		return -1;
	}
	r = &l->routes[i];
	/* copied, not printed: snprintf cost this path ~170 instructions a request */
	len = strnlen(r->name, sizeof(x->route) - 1);
	memcpy(x->route, r->name, len);
	x->route[len] = '\0';
	x->route_cfg = r;
	x->route_stats = c->gl->route_stats[i];
	if (http_maint_answer(c, &r->maint))
		return -1;
	if (r->redirect) {
		answer_redirect(c, r->redirect, base, h);
		return -1;
	}
	if (r->respond) {
		answer_fixed(c, i, r->respond, h);
		return -1;
	}
	if (r->static_files) {
		static_files_answer(c, r->static_files, base, h);
		return -1;
	}
	k = r->nsplit ? split_pick(c, r, &c->gl->route_splits[i], base, h) : 0;
	x->pool = r->nsplit ? c->gl->route_splits[i].pools[k] : c->gl->route_pools[i];
	/* a route with a share of its pool counts its requests in flight (lb/backend_producer.c) */
	if (c->gl->route_shares && c->gl->route_shares[i])
		x->share = c->gl->route_shares[i][k];
	return 0;
}

/* The values of the variables a response edit may use. The request's head is gone by
 * now: its host and path are what the log kept (x->target: method and target). */
void http_route_edit_vars(struct client *c, struct http_edit_vars *v)
{
	const char *t = strchr(c->ex->target, ' '), *q;

	v->client_ip = client_peer_text(c, &v->client_ip_len);
	v->host = "";
	v->host_len = 0;
	v->path = t ? t + 1 : "";
	q = strchr(v->path, '?');
	v->path_len = q ? (size_t)(q - v->path) : strlen(v->path);
	v->request_id = c->ex->request_id;
}
