/* store_etcd.c: the cluster store over etcd v3's JSON gateway (etcd 3.4: POST /v3/...),
 * on the control thread's libcurl multi (util/curl_loop.c): calls with a deadline and
 * failover across the members, watches as newline-delimited JSON streams. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "array.h"
#include "cluster_store.h"
#include "curl_loop.h"
#include "etcd_json.h"
#include "k8s.h"
#include "textbuf.h"

#define TIMEOUT_MS_DEFAULT 5000
#define CONNECT_MS_MIN 200           /* a member's connect time, whatever is left */
#define GRPC_DEADLINE_EXCEEDED 4
#define GRPC_NOT_FOUND 5
#define GRPC_UNAVAILABLE 14

enum req_kind { R_RANGE, R_TXN, R_GRANT, R_KEEPALIVE, R_REVOKE };

static const char *const req_path[] = {
	[R_RANGE] = "/v3/kv/range",
	[R_TXN] = "/v3/kv/txn",
	[R_GRANT] = "/v3/lease/grant",
	[R_KEEPALIVE] = "/v3/lease/keepalive",
	[R_REVOKE] = "/v3/lease/revoke",
};

struct etcd_store;

/* One call in flight: one request body, sent to one member after another until one
 * answers or the deadline passes. */
struct etcd_req {
	struct curl_xfer xfer;
	struct etcd_store *s;
	struct etcd_req *prev, *next;    /* the store's calls in flight */
	enum req_kind kind;
	char *body;                      /* the JSON request, sent to each member tried */
	struct curl_slist *headers;
	struct textbuf resp;             /* the answer's body */
	int too_big;                     /* the answer passed ETCD_BODY_MAX */
	size_t endpoint;                 /* the member of this attempt */
	size_t tries;                    /* members tried */
	double deadline;                 /* ev_now past which the call fails */
	char errbuf[CURL_ERROR_SIZE];
	cstore_done_fn done;
	void *ctx;
};

/* One watch: one stream from one member. Its reports are queued by the write callback
 * and handed out from a zero timer, so that the caller's callback runs outside libcurl
 * (and may unwatch). */
struct cstore_watch {
	struct curl_xfer xfer;
	struct etcd_store *s;
	struct cstore_watch *prev, *next;
	char *body;
	struct curl_slist *headers;
	struct k8s_lines lines;          /* the stream, cut into messages */
	long status;                     /* HTTP status of the answer (0 = not yet) */
	struct textbuf errbody;          /* the start of an answer that is not 200 */
	size_t endpoint, tries;
	double deadline;                 /* until "created" arrives */
	int64_t last_rev;                /* of the last event queued */
	int created;
	int over;                        /* a terminal report is queued: no more after it */
	struct etcd_watch_msg *queue;    /* event reports not handed out yet */
	size_t nqueue, capqueue;
	struct etcd_watch_msg end;       /* the terminal report (COMPACTED, ERROR), after them */
	int has_end;                     /* end is set and not handed out yet */
	ev_timer deliver;
	ev_timer setup;                  /* bounds the wait for "created" */
	int in_cb;                       /* inside fn */
	int dead;                        /* unwatched from inside fn: freed after it returns */
	char errbuf[CURL_ERROR_SIZE];
	cstore_watch_fn fn;
	void *ctx;
};

struct etcd_store {
	struct ev_loop *loop;
	char *endpoints[CSTORE_ENDPOINTS_MAX]; /* without a trailing "/" */
	size_t nendpoints;
	size_t cur;                      /* the member calls start with */
	char *ca, *cert, *key;
	unsigned timeout_ms;
	struct etcd_req *reqs;
	struct cstore_watch *watches;
	struct cstore_health health;
};

static int s_list(void *h, const char *prefix, cstore_done_fn done, void *ctx);
static int s_list_at(void *h, const char *prefix, int64_t rev, cstore_done_fn done, void *ctx);
static int s_txn(void *h, const struct cstore_txn *t, cstore_done_fn done, void *ctx);
static int s_lease_grant(void *h, int64_t ttl_s, cstore_done_fn done, void *ctx);
static int s_lease_keepalive(void *h, int64_t lease, cstore_done_fn done, void *ctx);
static int s_lease_revoke(void *h, int64_t lease, cstore_done_fn done, void *ctx);
static struct cstore_watch *s_watch(void *h, const char *prefix, int64_t from_rev,
				    cstore_watch_fn fn, void *ctx);
static void s_unwatch(void *h, struct cstore_watch *w);
static void s_health(void *h, struct cstore_health *out);
static void s_free(void *h);

static int req_start(struct etcd_store *s, enum req_kind kind, char *body, cstore_done_fn done,
		     void *ctx);
static int req_attempt(struct etcd_req *r);
static void req_on_done(struct curl_xfer *x, CURLcode rc);
static void req_finish(struct etcd_req *r, struct cstore_result *res);
static void req_answer(struct etcd_req *r, long status);
static void req_free(struct etcd_req *r);
static size_t req_on_data(char *ptr, size_t size, size_t n, void *userdata);
static CURL *easy_for(struct etcd_store *s, size_t endpoint, const char *path, const char *body,
		      struct curl_slist **headers, char *errbuf, double deadline, int stream);
static int next_endpoint(struct etcd_store *s, size_t *endpoint, size_t *tries, double deadline);
static void note_ok(struct etcd_store *s, size_t endpoint);
static void note_error(struct etcd_store *s, const char *what);
static int watch_attempt(struct cstore_watch *w);
static void watch_on_done(struct curl_xfer *x, CURLcode rc);
static size_t watch_on_data(char *ptr, size_t size, size_t n, void *userdata);
static int watch_on_line(void *ctx, const char *line, size_t len);
static void watch_queue_error(struct cstore_watch *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void watch_end_transfer(struct cstore_watch *w);
static void watch_on_deliver(struct ev_loop *loop, ev_timer *t, int revents);
static void watch_report(struct cstore_watch *w, const struct etcd_watch_msg *m);
static void watch_on_setup(struct ev_loop *loop, ev_timer *t, int revents);
static void watch_free(struct cstore_watch *w);

static const struct cluster_store_ops etcd_ops = {
	.name = "etcd",
	.list = s_list,
	.list_at = s_list_at,
	.txn = s_txn,
	.lease_grant = s_lease_grant,
	.lease_keepalive = s_lease_keepalive,
	.lease_revoke = s_lease_revoke,
	.watch = s_watch,
	.unwatch = s_unwatch,
	.health = s_health,
	.free = s_free,
};

int cstore_etcd_new(struct ev_loop *loop, const struct cstore_etcd_cfg *cfg,
		    struct cluster_store *out, char *err, size_t errlen)
{
	struct etcd_store *s;
	size_t i;

	if (!cfg->nendpoints || cfg->nendpoints > CSTORE_ENDPOINTS_MAX) {
		snprintf(err, errlen, "etcd: between 1 and %d endpoints", CSTORE_ENDPOINTS_MAX);
		return -1;
	}
	for (i = 0; i < cfg->nendpoints; i++) {
		const char *e = cfg->endpoints[i];

		if (!e || (strncmp(e, "http://", 7) && strncmp(e, "https://", 8)) || strlen(e) > 200) {
			snprintf(err, errlen, "etcd: endpoint %zu is not an http:// or https:// URL "
				 "(up to 200 characters)", i + 1);
			return -1;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->loop = loop;
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : TIMEOUT_MS_DEFAULT;
	for (i = 0; i < cfg->nendpoints; i++) {
		size_t n;

		s->endpoints[i] = strdup(cfg->endpoints[i]);
		if (!s->endpoints[i])
			goto nomem;
		s->nendpoints++;
		n = strlen(s->endpoints[i]);
		while (n && s->endpoints[i][n - 1] == '/')
			s->endpoints[i][--n] = '\0';
	}
	if ((cfg->ca_file && !(s->ca = strdup(cfg->ca_file))) ||
	    (cfg->cert_file && !(s->cert = strdup(cfg->cert_file))) ||
	    (cfg->key_file && !(s->key = strdup(cfg->key_file))))
		goto nomem;
	if (curl_loop_init(loop) == -1) {
		snprintf(err, errlen, "etcd: libcurl cannot be set up");
		s->nendpoints = 0;
		goto fail;
	}
	snprintf(s->health.endpoint, sizeof(s->health.endpoint), "%s", s->endpoints[0]);
	out->ops = &etcd_ops;
	out->h = s;
	return 0;
nomem:
	snprintf(err, errlen, "etcd: out of memory");
fail:
	if (s) {
		for (i = 0; i < CSTORE_ENDPOINTS_MAX; i++)
			free(s->endpoints[i]);
		free(s->ca);
		free(s->cert);
		free(s->key);
		free(s);
	}
	return -1;
}

/* ---- Calls ---- */

static int s_list(void *h, const char *prefix, cstore_done_fn done, void *ctx)
{
	return req_start(h, R_RANGE, etcd_req_range(prefix), done, ctx);
}

static int s_list_at(void *h, const char *prefix, int64_t rev, cstore_done_fn done, void *ctx)
{
	if (rev <= 0)
		return -1;
	return req_start(h, R_RANGE, etcd_req_range_at(prefix, rev), done, ctx);
}

static int s_txn(void *h, const struct cstore_txn *t, cstore_done_fn done, void *ctx)
{
	return req_start(h, R_TXN, etcd_req_txn(t), done, ctx);
}

static int s_lease_grant(void *h, int64_t ttl_s, cstore_done_fn done, void *ctx)
{
	if (ttl_s <= 0)
		return -1;
	return req_start(h, R_GRANT, etcd_req_lease_grant(ttl_s), done, ctx);
}

static int s_lease_keepalive(void *h, int64_t lease, cstore_done_fn done, void *ctx)
{
	return req_start(h, R_KEEPALIVE, etcd_req_lease_id(lease), done, ctx);
}

static int s_lease_revoke(void *h, int64_t lease, cstore_done_fn done, void *ctx)
{
	return req_start(h, R_REVOKE, etcd_req_lease_id(lease), done, ctx);
}

static void s_health(void *h, struct cstore_health *out)
{
	struct etcd_store *s = h;

	*out = s->health;
}

/* Takes body (malloc'd; NULL means it could not be built) and starts the call on the
 * member calls go to now. 0, or -1 (done not called). */
static int req_start(struct etcd_store *s, enum req_kind kind, char *body, cstore_done_fn done,
		     void *ctx)
{
	struct etcd_req *r;

	if (!body)
		return -1;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(body);
		return -1;
	}
	r->s = s;
	r->kind = kind;
	r->body = body;
	r->done = done;
	r->ctx = ctx;
	r->endpoint = s->cur;
	r->tries = 1;
	r->deadline = ev_now(s->loop) + s->timeout_ms / 1000.0;
	r->xfer.done = req_on_done;
	if (req_attempt(r) == -1) {
		curl_slist_free_all(r->headers);
		free(r->body);
		free(r);
		return -1;
	}
	r->next = s->reqs;
	if (s->reqs)
		s->reqs->prev = r;
	s->reqs = r;
	return 0;
}

/* A libcurl handle posting body to path on a member, bounded by deadline (a stream:
 * only its connection is). NULL when libcurl refused. */
static CURL *easy_for(struct etcd_store *s, size_t endpoint, const char *path, const char *body,
		      struct curl_slist **headers, char *errbuf, double deadline, int stream)
{
	double left = deadline - ev_now(s->loop);
	long left_ms = left > 0.001 ? (long)(left * 1000.0) : 1;
	long connect_ms = left_ms / (long)(s->nendpoints > 1 ? 2 : 1);
	char url[512];
	CURL *e;

	if (connect_ms < CONNECT_MS_MIN)
		connect_ms = left_ms < CONNECT_MS_MIN ? left_ms : CONNECT_MS_MIN;
	snprintf(url, sizeof(url), "%s%s", s->endpoints[endpoint], path);
	if (!*headers) {
		struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");

		/* no "Expect: 100-continue" round trip before a large txn */
		if (!l || !(*headers = curl_slist_append(l, "Expect:"))) {
			curl_slist_free_all(l);
			return NULL;
		}
	}
	e = curl_easy_init();
	if (!e)
		return NULL;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "fulcrum-cluster/" FULCRUM_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (!stream)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left_ms);
	/* a member killed mid-stream resets the connection; one cut off silently is found
	 * by the keepalive probes */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (s->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->ca);
	if (s->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, s->cert);
	if (s->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, s->key);
	errbuf[0] = '\0';
	return e;
}

/* Sends r to r->endpoint. 0, or -1 when libcurl refused. */
static int req_attempt(struct etcd_req *r)
{
	CURL *e = easy_for(r->s, r->endpoint, req_path[r->kind], r->body, &r->headers, r->errbuf,
			   r->deadline, 0);

	if (!e)
		return -1;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, req_on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	r->xfer.easy = e;
	textbuf_free(&r->resp);
	r->too_big = 0;
	if (curl_loop_add(&r->xfer) == -1) {
		curl_easy_cleanup(e);
		r->xfer.easy = NULL;
		return -1;
	}
	return 0;
}

static size_t req_on_data(char *ptr, size_t size, size_t n, void *userdata)
{
	struct etcd_req *r = userdata;
	size_t len = size * n;

	if (len > ETCD_BODY_MAX - r->resp.len) {
		r->too_big = 1;
		return 0;
	}
	return textbuf_append(&r->resp, ptr, len) == 0 ? len : 0;
}

/* The next member after *endpoint for a call that has tried *tries of them, when there is
 * one left to try and time for it. Moves the store's current member on past a failed one,
 * so that later calls start with one that answers. 1 (and *endpoint set), or 0. */
static int next_endpoint(struct etcd_store *s, size_t *endpoint, size_t *tries, double deadline)
{
	if (s->cur == *endpoint)
		s->cur = (*endpoint + 1) % s->nendpoints;
	if (*tries >= s->nendpoints || deadline - ev_now(s->loop) < 0.02)
		return 0;
	*endpoint = (*endpoint + 1) % s->nendpoints;
	(*tries)++;
	return 1;
}

static void note_ok(struct etcd_store *s, size_t endpoint)
{
	s->health.reachable = 1;
	s->health.last_ok = ev_now(s->loop);
	s->health.last_error[0] = '\0';
	snprintf(s->health.endpoint, sizeof(s->health.endpoint), "%s", s->endpoints[endpoint]);
}

static void note_error(struct etcd_store *s, const char *what)
{
	size_t n = strnlen(what, sizeof(s->health.last_error) - 1);

	/* cut to fit: the start names the member and the failure */
	memcpy(s->health.last_error, what, n);
	s->health.last_error[n] = '\0';
	s->health.reachable = 0;
	snprintf(s->health.endpoint, sizeof(s->health.endpoint), "%s", s->endpoints[s->cur]);
}

/* An attempt ended. A failure where the request cannot have been applied (nothing sent),
 * or of a read, a lease grant (a second lease would only expire unused) or a keep-alive,
 * goes to the next member; a txn or revoke whose outcome is unknown is not sent again (it
 * may have committed: sent twice it could apply twice, or conflict with itself) and fails
 * as UNAVAILABLE. */
static void req_on_done(struct curl_xfer *x, CURLcode rc)
{
	struct etcd_req *r = (struct etcd_req *)((char *)x - offsetof(struct etcd_req, xfer));
	struct etcd_store *s = r->s;
	struct cstore_result res = { .status = CSTORE_UNAVAILABLE };
	int writes = r->kind == R_TXN || r->kind == R_REVOKE;
	long status = 0, sent = 0;
	char why[512];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	if (rc == CURLE_OK && status) {
		req_answer(r, status);
		return;
	}
	snprintf(why, sizeof(why), "%s: %s", s->endpoints[r->endpoint],
		 r->too_big ? "answer too large" : r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
	if (r->too_big) {
		res.status = CSTORE_ERROR;
		res.error = why;
		req_finish(r, &res);
		return;
	}
	note_error(s, why);
	if ((!writes || sent == 0) && next_endpoint(s, &r->endpoint, &r->tries, r->deadline) &&
	    req_attempt(r) == 0)
		return;
	if (writes && sent > 0 && strlen(why) < sizeof(why) - 40)
		strcat(why, " (the write may or may not have committed)");
	res.error = why;
	req_finish(r, &res);
}

/* A member answered with status: the result from the body, or the next member when this
 * one cannot serve (no leader, timed out inside etcd) and the call may be sent again. */
static void req_answer(struct etcd_req *r, long status)
{
	struct etcd_store *s = r->s;
	struct cstore_result res = { .status = CSTORE_OK };
	struct cstore_kv *kvs = NULL;
	size_t nkvs = 0;
	char err[300], why[600];
	int code = 0, ok;
	const char *body = r->resp.p ? r->resp.p : "";

	if (status != 200) {
		if (etcd_parse_error(body, r->resp.len, &code, err, sizeof(err)) == -1)
			snprintf(err, sizeof(err), "HTTP %ld", status);
		snprintf(why, sizeof(why), "%s: %s", s->endpoints[r->endpoint], err);
		res.error = why;
		if (code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED || status >= 500) {
			int writes = r->kind == R_TXN || r->kind == R_REVOKE;

			note_error(s, why);
			if (!writes && next_endpoint(s, &r->endpoint, &r->tries, r->deadline) &&
			    req_attempt(r) == 0)
				return;
			res.status = CSTORE_UNAVAILABLE;
		} else {
			note_ok(s, r->endpoint);
			res.status = code == GRPC_NOT_FOUND && (r->kind == R_REVOKE || r->kind == R_KEEPALIVE)
					     ? CSTORE_NOT_FOUND : CSTORE_ERROR;
		}
		req_finish(r, &res);
		return;
	}
	note_ok(s, r->endpoint);
	switch (r->kind) {
	case R_RANGE:
		if (etcd_parse_range(body, r->resp.len, &kvs, &nkvs, &res.rev, err, sizeof(err)) == -1)
			goto bad;
		break;
	case R_TXN:
		if (etcd_parse_txn(body, r->resp.len, &ok, &res.rev, &kvs, &nkvs, err, sizeof(err)) == -1)
			goto bad;
		if (!ok)
			res.status = CSTORE_CONFLICT;
		break;
	case R_GRANT:
	case R_KEEPALIVE:
		if (etcd_parse_lease(body, r->resp.len, &res.lease, &res.ttl, err, sizeof(err)) == -1)
			goto bad;
		if (res.ttl <= 0) {
			res.status = CSTORE_NOT_FOUND;
			res.error = "the lease has expired";
		}
		break;
	case R_REVOKE:
		break;
	}
	res.kvs = kvs;
	res.nkvs = nkvs;
	req_finish(r, &res);
	etcd_kvs_free(kvs, nkvs);
	return;
bad:
	snprintf(why, sizeof(why), "%s: %s", s->endpoints[r->endpoint], err);
	res.status = CSTORE_ERROR;
	res.error = why;
	req_finish(r, &res);
}

/* Hands the result over and frees the call. */
static void req_finish(struct etcd_req *r, struct cstore_result *res)
{
	cstore_done_fn done = r->done;
	void *ctx = r->ctx;

	req_free(r);
	if (done)
		done(ctx, res);
}

static void req_free(struct etcd_req *r)
{
	struct etcd_store *s = r->s;

	if (r->xfer.easy) {
		curl_loop_remove(&r->xfer);
		curl_easy_cleanup(r->xfer.easy);
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		s->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	curl_slist_free_all(r->headers);
	textbuf_free(&r->resp);
	free(r->body);
	free(r);
}

/* ---- Watches ---- */

static struct cstore_watch *s_watch(void *h, const char *prefix, int64_t from_rev,
				    cstore_watch_fn fn, void *ctx)
{
	struct etcd_store *s = h;
	struct cstore_watch *w;

	if (from_rev < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->s = s;
	w->fn = fn;
	w->ctx = ctx;
	w->body = etcd_req_watch(prefix, from_rev);
	if (!w->body) {
		free(w);
		return NULL;
	}
	k8s_lines_init(&w->lines, ETCD_LINE_MAX);
	ev_timer_init(&w->deliver, watch_on_deliver, 0., 0.);
	w->deliver.data = w;
	ev_timer_init(&w->setup, watch_on_setup, 0., 0.);
	w->setup.data = w;
	w->xfer.done = watch_on_done;
	w->endpoint = s->cur;
	w->tries = 1;
	w->deadline = ev_now(s->loop) + s->timeout_ms / 1000.0;
	if (watch_attempt(w) == -1) {
		k8s_lines_free(&w->lines);
		curl_slist_free_all(w->headers);
		free(w->body);
		free(w);
		return NULL;
	}
	ev_timer_set(&w->setup, s->timeout_ms / 1000.0, 0.);
	ev_timer_start(s->loop, &w->setup);
	w->next = s->watches;
	if (s->watches)
		s->watches->prev = w;
	s->watches = w;
	return w;
}

static int watch_attempt(struct cstore_watch *w)
{
	CURL *e = easy_for(w->s, w->endpoint, "/v3/watch", w->body, &w->headers, w->errbuf,
			   w->deadline, 1);

	if (!e)
		return -1;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, watch_on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	w->xfer.easy = e;
	w->status = 0;
	textbuf_free(&w->errbody);
	k8s_lines_reset(&w->lines);
	if (curl_loop_add(&w->xfer) == -1) {
		curl_easy_cleanup(e);
		w->xfer.easy = NULL;
		return -1;
	}
	return 0;
}

static void watch_end_transfer(struct cstore_watch *w)
{
	if (w->xfer.easy) {
		curl_loop_remove(&w->xfer);
		curl_easy_cleanup(w->xfer.easy);
		w->xfer.easy = NULL;
	}
	ev_timer_stop(w->s->loop, &w->setup);
}

/* Queues a terminal ERROR report (the watch is over after it). */
static void watch_queue_error(struct cstore_watch *w, const char *fmt, ...)
{
	struct etcd_watch_msg *m;
	va_list ap;

	if (w->over)
		return;
	w->over = 1;
	/* in the watch itself, not the queue: the end is reported even out of memory */
	m = &w->end;
	w->has_end = 1;
	memset(m, 0, sizeof(*m));
	m->kind = ETCD_W_ERROR;
	va_start(ap, fmt);
	vsnprintf(m->message, sizeof(m->message), fmt, ap);
	va_end(ap);
	ev_timer_start(w->s->loop, &w->deliver);
}

/* Bytes of the stream: messages are parsed as they complete and queued. Returning less
 * than given ends the transfer (after a terminal message, or a bad stream). */
static size_t watch_on_data(char *ptr, size_t size, size_t n, void *userdata)
{
	struct cstore_watch *w = userdata;
	size_t len = size * n;

	if (!w->status)
		curl_easy_getinfo(w->xfer.easy, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		if (w->errbody.len < 1024)
			textbuf_append(&w->errbody, ptr, len < 1024 ? len : 1024);
		return len;
	}
	if (w->over)
		return 0;
	if (k8s_lines_feed(&w->lines, ptr, len, watch_on_line, w) == -1) {
		watch_queue_error(w, "%s: the watch stream broke off (a message too long or "
				  "not understood)", w->s->endpoints[w->endpoint]);
		return 0;
	}
	return w->over ? 0 : len;
}

/* One message of the stream: queued for the caller, except "created". */
static int watch_on_line(void *ctx, const char *line, size_t len)
{
	struct cstore_watch *w = ctx;
	struct etcd_watch_msg m;
	char err[256];

	if (w->over)
		return -1;
	if (etcd_parse_watch(line, len, &m, err, sizeof(err)) == -1) {
		watch_queue_error(w, "%s: %s", w->s->endpoints[w->endpoint], err);
		return -1;
	}
	if (m.kind == ETCD_W_CREATED || (m.kind == ETCD_W_EVENTS && !m.nevents)) {
		if (m.kind == ETCD_W_CREATED) {
			w->created = 1;
			ev_timer_stop(w->s->loop, &w->setup);
			note_ok(w->s, w->endpoint);
		}
		etcd_watch_msg_clear(&m);
		return 0;
	}
	if (m.kind == ETCD_W_CANCELED || m.kind == ETCD_W_ERROR) {
		char msg[sizeof(m.message)];

		memcpy(msg, m.message, sizeof(msg));
		etcd_watch_msg_clear(&m);
		watch_queue_error(w, "%s: the watch was ended: %s", w->s->endpoints[w->endpoint], msg);
		return -1;
	}
	if (m.nevents && m.events[0].kv.mod_rev < w->last_rev) {
		/* the parser checked the order inside the message; this checks across them */
		etcd_watch_msg_clear(&m);
		watch_queue_error(w, "%s: watch events out of revision order", w->s->endpoints[w->endpoint]);
		return -1;
	}
	if (m.kind == ETCD_W_COMPACTED) {
		w->over = 1;
		w->end = m;
		w->has_end = 1;
		ev_timer_start(w->s->loop, &w->deliver);
		return -1;
	}
	if (ARRAY_GROW(&w->queue, &w->capqueue, w->nqueue + 1, 4) == -1) {
		etcd_watch_msg_clear(&m);
		watch_queue_error(w, "out of memory");
		return -1;
	}
	w->last_rev = m.events[m.nevents - 1].kv.mod_rev;
	w->queue[w->nqueue++] = m;
	ev_timer_start(w->s->loop, &w->deliver);
	return 0;
}

/* The stream ended. Before "created", a member that cannot be reached is passed over for
 * the next; afterwards every end is reported (the caller watches again from where it is:
 * only it knows which revision it applied). */
static void watch_on_done(struct curl_xfer *x, CURLcode rc)
{
	struct cstore_watch *w = (struct cstore_watch *)((char *)x - offsetof(struct cstore_watch, xfer));
	struct etcd_store *s = w->s;
	char why[512];
	int code;

	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	if (w->over) {
		ev_timer_stop(s->loop, &w->setup);
		return;
	}
	if (w->status && w->status != 200) {
		char err[300];

		if (etcd_parse_error(w->errbody.p ? w->errbody.p : "", w->errbody.len, &code, err,
				     sizeof(err)) == -1)
			snprintf(err, sizeof(err), "HTTP %ld", w->status);
		snprintf(why, sizeof(why), "%s: %s", s->endpoints[w->endpoint], err);
	} else if (rc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s: %s", s->endpoints[w->endpoint],
			 w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc));
	} else {
		snprintf(why, sizeof(why), "%s: the watch stream ended", s->endpoints[w->endpoint]);
	}
	note_error(s, why);
	if (!w->created && next_endpoint(s, &w->endpoint, &w->tries, w->deadline) &&
	    watch_attempt(w) == 0)
		return;
	ev_timer_stop(s->loop, &w->setup);
	watch_queue_error(w, "%s", why);
}

/* No "created" within the call timeout: a member that accepts but does not serve. */
static void watch_on_setup(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cstore_watch *w = t->data;
	char why[400];

	if (w->created || w->over)
		return;
	snprintf(why, sizeof(why), "%s: the watch was not set up within %u ms",
		 w->s->endpoints[w->endpoint], w->s->timeout_ms);
	note_error(w->s, why);
	watch_end_transfer(w);
	watch_queue_error(w, "%s", why);
}

/* One report to the caller, from a message of the stream. */
static void watch_report(struct cstore_watch *w, const struct etcd_watch_msg *m)
{
	struct cstore_watch_report rep = { .rev = m->rev };

	switch (m->kind) {
	case ETCD_W_EVENTS:
		rep.what = CSTORE_WATCH_EVENTS;
		rep.events = m->events;
		rep.nevents = m->nevents;
		break;
	case ETCD_W_COMPACTED:
		rep.what = CSTORE_WATCH_COMPACTED;
		rep.compact_rev = m->compact_rev;
		rep.error = "the revisions watched from were compacted";
		break;
	default:
		rep.what = CSTORE_WATCH_ERROR;
		rep.error = m->message;
		break;
	}
	w->in_cb = 1;
	w->fn(w->ctx, &rep);
	w->in_cb = 0;
}

/* Hands the queued reports to the caller, in order, the terminal one last; stops when
 * the caller unwatched. */
static void watch_on_deliver(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cstore_watch *w = t->data;
	size_t i;

	for (i = 0; i < w->nqueue && !w->dead; i++)
		watch_report(w, &w->queue[i]);
	for (i = 0; i < w->nqueue; i++)
		etcd_watch_msg_clear(&w->queue[i]);
	w->nqueue = 0;
	if (w->has_end && !w->dead) {
		w->has_end = 0;
		watch_report(w, &w->end);
	}
	if (w->dead)
		watch_free(w);
}

static void s_unwatch(void *h, struct cstore_watch *w)
{
	if (!w)
		return;
	if (w->in_cb) {
		w->dead = 1;
		watch_end_transfer(w);
		return;
	}
	watch_free(w);
}

static void watch_free(struct cstore_watch *w)
{
	struct etcd_store *s = w->s;
	size_t i;

	watch_end_transfer(w);
	ev_timer_stop(s->loop, &w->deliver);
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	for (i = 0; i < w->nqueue; i++)
		etcd_watch_msg_clear(&w->queue[i]);
	free(w->queue);
	etcd_watch_msg_clear(&w->end);
	k8s_lines_free(&w->lines);
	textbuf_free(&w->errbody);
	curl_slist_free_all(w->headers);
	free(w->body);
	free(w);
}

static void s_free(void *h)
{
	struct etcd_store *s = h;
	size_t i;

	while (s->reqs)
		req_free(s->reqs);
	while (s->watches)
		watch_free(s->watches);
	for (i = 0; i < s->nendpoints; i++)
		free(s->endpoints[i]);
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s);
	curl_loop_release();
}
