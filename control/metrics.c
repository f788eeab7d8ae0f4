/* metrics.c: GET /metrics, the Prometheus text exposition (format 0.0.4) of one
 * generation: per-worker counters summed (core/stats.c), health and admin state from the
 * backend atomics, listener and TLS counters, and the process read from /proc/self. */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <stddef.h>

#include "buffering.h"
#include "cache_store.h"
#include "clock.h"
#include "ctl_api.h"
#include "ctl_metrics.h"
#include "health.h"
#include "route_share.h"
#include "stats.h"
#include "textbuf.h"
#include "tls.h"
#include "worker.h"

/* Everything summed for one backend, computed once per scrape. */
struct bsum {
	const struct pool *pool;
	const struct backend *b;
	struct backend_stats_sum s;
	struct health_view v;
};

static void out_escaped(struct textbuf *o, const char *s);
static void family(struct textbuf *o, const char *name, const char *type, const char *help);
static void labels_backend(struct textbuf *o, const struct bsum *x);
static void sample_backend(struct textbuf *o, const char *name, const struct bsum *x,
			   const char *extra, unsigned long long v);
static void histogram(struct textbuf *o, const char *name, const char *labels,
		      const struct stats_hist_sum *h);
static void render_backends(struct textbuf *o, struct bsum *xs, size_t n);
static void render_pools(struct textbuf *o, const struct generation *g);
static void render_listeners(struct textbuf *o, const struct generation *g);
static void render_routes(struct textbuf *o, const struct generation *g);
static void render_process(struct textbuf *o, const struct generation *g);
static void render_maint(struct textbuf *o, const struct generation *g);
static void render_cache(struct textbuf *o, const struct generation *g);

static const char *const class_names[STATS_CLASSES] = { "2xx", "3xx", "4xx", "5xx", "other" };
static const char *const phase_names[STATS_PHASES] = { "queue", "connect", "first_byte", "total" };
static const char *const admin_names[] = { "active", "draining", "maint" };
static const char *const health_names[] = { "up", "warming", "draining", "down" };

/* A label value: backslash, double quote and newline escaped (the format's rule). */
static void out_escaped(struct textbuf *o, const char *s)
{
	char buf[256];
	size_t n = 0;

	for (; *s; s++) {
		if (n + 3 > sizeof(buf)) {
			buf[n] = '\0';
			textbuf_printf(o, "%s", buf);
			n = 0;
		}
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	textbuf_printf(o, "%s", buf);
}

static void family(struct textbuf *o, const char *name, const char *type, const char *help)
{
	textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels_backend(struct textbuf *o, const struct bsum *x)
{
	textbuf_printf(o, "pool=\"");
	out_escaped(o, x->pool->name);
	textbuf_printf(o, "\",backend=\"");
	out_escaped(o, x->b->name);
	textbuf_printf(o, "\"");
}

/* name{pool,backend[,extra]} v; extra is preformatted ("code=\"2xx\"") or NULL. */
static void sample_backend(struct textbuf *o, const char *name, const struct bsum *x,
			   const char *extra, unsigned long long v)
{
	textbuf_printf(o, "%s{", name);
	labels_backend(o, x);
	textbuf_printf(o, "%s%s} %llu\n", extra ? "," : "", extra ? extra : "", v);
}

/* The _bucket (cumulative, ending in +Inf), _sum and _count lines of one histogram;
 * labels is the preformatted label list without braces. */
static void histogram(struct textbuf *o, const char *name, const char *labels,
		      const struct stats_hist_sum *h)
{
	unsigned i;

	for (i = 0; i < STATS_BOUNDS; i++)
		textbuf_printf(o, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
			   stats_bound_us[i] / 1e6, (unsigned long long)h->cum[i]);
	textbuf_printf(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
		   (unsigned long long)h->cum[STATS_BOUNDS]);
	textbuf_printf(o, "%s_sum{%s} %.6f\n", name, labels, h->sum_us / 1e6);
	textbuf_printf(o, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->cum[STATS_BOUNDS]);
}

/* The label list of a backend as text (for histograms), escaped. */
static char *backend_labels(const struct bsum *x, const char *extra)
{
	struct textbuf o = { 0 };

	labels_backend(&o, x);
	if (extra)
		textbuf_printf(&o, ",%s", extra);
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	return o.p;
}

static void render_backends(struct textbuf *o, struct bsum *xs, size_t n)
{
	size_t i;
	unsigned k;
	char extra[64];

	family(o, "fulcrum_backend_requests_total", "counter",
	       "Requests answered to clients for this backend, by status class (fulcrum's own 502/503/504 included).");
	for (i = 0; i < n; i++)
		for (k = 0; k < STATS_CLASSES; k++) {
			snprintf(extra, sizeof(extra), "code=\"%s\"", class_names[k]);
			sample_backend(o, "fulcrum_backend_requests_total", &xs[i], extra,
				       xs[i].s.requests[k]);
		}
	family(o, "fulcrum_backend_active_requests", "gauge",
	       "Requests (http) or connections (tcp) in flight on this backend.");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_active_requests", &xs[i], NULL,
			       atomic_load(&xs[i].b->active));
	family(o, "fulcrum_backend_connections_total", "counter",
	       "Connections to this backend established.");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_connections_total", &xs[i], NULL, xs[i].s.connects);
	family(o, "fulcrum_backend_open_connections", "gauge",
	       "Connections to this backend open now, idle pooled ones included.");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_open_connections", &xs[i], NULL,
			       (unsigned long long)xs[i].s.open);
	family(o, "fulcrum_backend_connect_failures_total", "counter",
	       "Connects to this backend refused, unreachable or timed out.");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_connect_failures_total", &xs[i], NULL,
			       xs[i].s.connect_failures);
	family(o, "fulcrum_backend_response_seconds", "histogram",
	       "Request phases at this backend: queue (waiting for a slot), connect, first_byte (connected to first response byte), total (request head to last response byte).");
	for (i = 0; i < n; i++)
		for (k = 0; k < STATS_PHASES; k++) {
			char *l;

			snprintf(extra, sizeof(extra), "phase=\"%s\"", phase_names[k]);
			if (!(l = backend_labels(&xs[i], extra))) {
				o->failed = 1;
				return;
			}
			histogram(o, "fulcrum_backend_response_seconds", l, &xs[i].s.phase[k]);
			free(l);
		}
	family(o, "fulcrum_backend_bytes_total", "counter",
	       "Bytes to (sent) and from (received) this backend.");
	for (i = 0; i < n; i++) {
		sample_backend(o, "fulcrum_backend_bytes_total", &xs[i], "direction=\"sent\"",
			       xs[i].s.bytes_sent);
		sample_backend(o, "fulcrum_backend_bytes_total", &xs[i], "direction=\"received\"",
			       xs[i].s.bytes_received);
	}
	family(o, "fulcrum_backend_health_state", "gauge",
	       "1 for the backend's health state now (up, warming: up and ramping after slow start, draining: asked by its check, down).");
	for (i = 0; i < n; i++)
		for (k = 0; k < 4; k++) {
			snprintf(extra, sizeof(extra), "state=\"%s\"", health_names[k]);
			sample_backend(o, "fulcrum_backend_health_state", &xs[i], extra,
				       !strcmp(xs[i].v.state, health_names[k]));
		}
	family(o, "fulcrum_backend_admin_state", "gauge",
	       "1 for the backend's admin state now (set by config, API or discovery).");
	for (i = 0; i < n; i++) {
		int admin = atomic_load(&xs[i].b->admin);

		for (k = 0; k < 3; k++) {
			snprintf(extra, sizeof(extra), "state=\"%s\"", admin_names[k]);
			sample_backend(o, "fulcrum_backend_admin_state", &xs[i], extra, admin == (int)k);
		}
	}
	family(o, "fulcrum_backend_effective_weight", "gauge",
	       "Weight used for selection now (configured weight scaled by slow start).");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_effective_weight", &xs[i], NULL,
			       xs[i].v.effective_weight);
	family(o, "fulcrum_backend_weight", "gauge", "Configured weight.");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_weight", &xs[i], NULL, atomic_load(&xs[i].b->weight));
	family(o, "fulcrum_backend_health_checks_total", "counter",
	       "Active health checks completed, by result.");
	for (i = 0; i < n; i++)
		for (k = HRES_OK; k < HRES__COUNT; k++) {
			snprintf(extra, sizeof(extra), "result=\"%s\"", ctl_metrics_check_result(k));
			sample_backend(o, "fulcrum_backend_health_checks_total", &xs[i], extra,
				       atomic_load(&xs[i].b->stats->checks.results[k]));
		}
	family(o, "fulcrum_backend_health_check_duration_seconds", "histogram",
	       "Duration of active health checks.");
	for (i = 0; i < n; i++) {
		struct stats_hist_sum h = { { 0 }, 0 };
		char *l;

		stats_hist_merge(&h, &xs[i].b->stats->checks.duration);
		stats_hist_finish(&h);
		if (!(l = backend_labels(&xs[i], NULL))) {
			o->failed = 1;
			return;
		}
		histogram(o, "fulcrum_backend_health_check_duration_seconds", l, &h);
		free(l);
	}
	family(o, "fulcrum_backend_ejections_total", "counter",
	       "Times passive detection took this backend out of rotation.");
	for (i = 0; i < n; i++)
		sample_backend(o, "fulcrum_backend_ejections_total", &xs[i], NULL,
			       xs[i].v.ejections_total);
}

static void pool_sample(struct textbuf *o, const char *name, const struct pool *p, unsigned long long v)
{
	textbuf_printf(o, "%s{pool=\"", name);
	out_escaped(o, p->name);
	textbuf_printf(o, "\"} %llu\n", v);
}

/* The caches of g's pools that have one (core/cache_store.c's counters). */
static void render_cache(struct textbuf *o, const struct generation *g)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fams[] = {
#define F(n, t, h, f) { "fulcrum_cache_" n, t, h, offsetof(struct cache_counters, f) }
		F("hits_total", "counter", "Requests answered from the pool's cache (fresh hits and 304s).", hits),
		F("misses_total", "counter", "Lookups that found nothing fresh and fetched from a backend.", misses),
		F("coalesced_total", "counter", "Requests that waited for another request's fetch of the same URL instead of going to a backend.", coalesced),
		F("stale_total", "counter", "Requests answered with a stale response while it was refetched (stale-while-revalidate).", stale),
		F("stale_if_error_total", "counter", "Requests answered with a stale response instead of a failed fetch: a 5xx, or no backend answering (stale-if-error).", stale_error),
		F("hit_for_pass_total", "counter", "Requests sent straight to a backend: their URL's response was lately not storable.", hit_for_pass),
		F("stores_total", "counter", "Responses stored.", stores),
		F("evictions_total", "counter", "Stored responses evicted for room (S3-FIFO).", evictions),
		F("purges_total", "counter", "Stored responses removed by purges.", purges),
		F("bytes", "gauge", "Bytes the cache holds (counted against cache.memory_bytes).", bytes),
		F("objects", "gauge", "Responses the cache holds.", objects),
#undef F
	};
	size_t f, i;

	for (i = 0; i < g->npools && !g->pools[i].cache; i++)
		;
	if (i == g->npools)
		return;
	for (f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(o, fams[f].name, fams[f].type, fams[f].help);
		for (i = 0; i < g->npools; i++) {
			const struct cache_counters *n;

			if (!g->pools[i].cache)
				continue;
			n = cache_store_counters(g->pools[i].cache);
			pool_sample(o, fams[f].name, &g->pools[i],
				    atomic_load_explicit((const atomic_ullong *)((const char *)n + fams[f].off),
							 memory_order_relaxed));
		}
	}
}

/* Compression by pool and coding (lb/http_compress.c), for the pools with compress. */
static void render_compress(struct textbuf *o, const struct generation *g, const struct pool_stats_sum *s)
{
	static const char *const encs[] = { "gzip", "br", "zstd" };
	static const struct {
		const char *name, *help;
	} fams[] = {
		{ "fulcrum_compress_bytes_in_total", "Response body bytes the encoder took, by coding." },
		{ "fulcrum_compress_bytes_out_total", "Compressed body bytes it gave (chunk framing not counted)." },
		{ "fulcrum_compress_cpu_seconds_total", "Thread CPU time spent in the encoder." },
		{ "fulcrum_compress_responses_total", "Responses compressed." },
	};
	size_t f, i, k;

	for (f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(o, fams[f].name, "counter", fams[f].help);
		for (i = 0; i < g->npools; i++) {
			if (!g->pools[i].cfg || !g->pools[i].cfg->compress)
				continue;
			for (k = 0; k < 3; k++) {
				textbuf_printf(o, "%s{pool=\"", fams[f].name);
				out_escaped(o, g->pools[i].name);
				textbuf_printf(o, "\",encoding=\"%s\"} ", encs[k]);
				if (f == 0)
					textbuf_printf(o, "%llu\n", (unsigned long long)s[i].compress_in[k]);
				else if (f == 1)
					textbuf_printf(o, "%llu\n", (unsigned long long)s[i].compress_out[k]);
				else if (f == 2)
					textbuf_printf(o, "%.6f\n", s[i].compress_cpu_ns[k] / 1e9);
				else
					textbuf_printf(o, "%llu\n", (unsigned long long)s[i].compress_responses[k]);
			}
		}
	}
}

static void render_pools(struct textbuf *o, const struct generation *g)
{
	struct pool_stats_sum *s = calloc(g->npools ? g->npools : 1, sizeof(*s));
	size_t i;

	if (!s) {
		o->failed = 1;
		return;
	}
	for (i = 0; i < g->npools; i++)
		stats_pool_sum(&g->pools[i], &s[i]);
	family(o, "fulcrum_pool_queued_requests", "gauge",
	       "Requests waiting for a free backend slot (max_conns) on all workers.");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_queued_requests", &g->pools[i],
			    atomic_load(&g->pools[i].waiting));
	family(o, "fulcrum_pool_queue_timeouts_total", "counter",
	       "Requests that waited queue_timeout_ms for a slot and got a 503.");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_queue_timeouts_total", &g->pools[i], s[i].queue_timeouts);
	family(o, "fulcrum_pool_queue_full_total", "counter",
	       "Requests refused with a 503 because the wait queue was full (queue_max).");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_queue_full_total", &g->pools[i], s[i].queue_full);
	family(o, "fulcrum_pool_no_backend_total", "counter",
	       "Requests answered 503 because no backend was eligible (all down, drained or weight 0).");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_no_backend_total", &g->pools[i], s[i].no_backend);
	family(o, "fulcrum_pool_queue_abandoned_total", "counter",
	       "Requests whose client left while they waited in the queue: never sent to a backend.");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_queue_abandoned_total", &g->pools[i], s[i].queue_abandoned);
	family(o, "fulcrum_pool_retries_total", "counter",
	       "Requests sent again to another backend after the one they reached failed (replays).");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_retries_total", &g->pools[i], s[i].replays);
	family(o, "fulcrum_pool_retry_budget_refused_total", "counter",
	       "Replays the pool's retry budget (retry_budget_percent) refused: the client got the error.");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_retry_budget_refused_total", &g->pools[i], s[i].replays_refused);
	family(o, "fulcrum_pool_backend_seconds_saved_total", "counter",
	       "Backend time buffering spared: uploads read before a backend was taken, deliveries after it was let go.");
	for (i = 0; i < g->npools; i++) {
		textbuf_printf(o, "fulcrum_pool_backend_seconds_saved_total{pool=\"");
		out_escaped(o, g->pools[i].name);
		textbuf_printf(o, "\"} %.6f\n", s[i].backend_saved_us / 1e6);
	}
	family(o, "fulcrum_pool_buffer_spilled_bytes_total", "counter",
	       "Body bytes written to spill files (beyond buffering.memory_bytes or the memory budget).");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_buffer_spilled_bytes_total", &g->pools[i], s[i].buffer_spilled_bytes);
	family(o, "fulcrum_pool_buffer_spilled_files_total", "counter", "Bodies that spilled to a file.");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_buffer_spilled_files_total", &g->pools[i], s[i].buffer_spilled_files);
	family(o, "fulcrum_pool_buffer_refused_total", "counter",
	       "Requests answered 503 because their body did not fit in the buffer budgets.");
	for (i = 0; i < g->npools; i++)
		pool_sample(o, "fulcrum_pool_buffer_refused_total", &g->pools[i], s[i].buffer_refused);
	render_compress(o, g, s);
	free(s);
}

static void listener_sample(struct textbuf *o, const char *name, const struct gen_listener *gl,
			    const char *extra, unsigned long long v)
{
	textbuf_printf(o, "%s{listener=\"", name);
	out_escaped(o, gl->cfg->name);
	textbuf_printf(o, "\"%s%s} %llu\n", extra ? "," : "", extra ? extra : "", v);
}

static void render_listeners(struct textbuf *o, const struct generation *g)
{
	struct listener_stats_sum *s = calloc(g->nlisteners ? g->nlisteners : 1, sizeof(*s));
	char extra[64];
	size_t i;
	unsigned k;

	if (!s) {
		o->failed = 1;
		return;
	}
	for (i = 0; i < g->nlisteners; i++)
		stats_listener_sum(&g->listeners[i], &s[i]);
	family(o, "fulcrum_listener_connections_accepted_total", "counter",
	       "Client connections accepted.");
	for (i = 0; i < g->nlisteners; i++)
		listener_sample(o, "fulcrum_listener_connections_accepted_total", &g->listeners[i],
				NULL, s[i].accepted);
	family(o, "fulcrum_listener_active_connections", "gauge", "Client connections open now.");
	for (i = 0; i < g->nlisteners; i++)
		listener_sample(o, "fulcrum_listener_active_connections", &g->listeners[i], NULL,
				atomic_load(&g->listeners[i].group->active));
	family(o, "fulcrum_listener_connections_refused_per_client_total", "counter",
	       "Client connections closed at once: their address had max_conns_per_client open.");
	for (i = 0; i < g->nlisteners; i++)
		listener_sample(o, "fulcrum_listener_connections_refused_per_client_total",
				&g->listeners[i], NULL, s[i].refused_per_client);
	family(o, "fulcrum_listener_h2_connections_total", "counter",
	       "Client connections that chose HTTP/2 (ALPN h2).");
	for (i = 0; i < g->nlisteners; i++)
		listener_sample(o, "fulcrum_listener_h2_connections_total", &g->listeners[i], NULL,
				s[i].h2_connections);
	family(o, "fulcrum_listener_h2_streams_total", "counter",
	       "HTTP/2 streams that carried a request to the HTTP path (also counted in requests_total).");
	for (i = 0; i < g->nlisteners; i++)
		listener_sample(o, "fulcrum_listener_h2_streams_total", &g->listeners[i], NULL, s[i].h2_streams);
	family(o, "fulcrum_listener_h2_goaway_abuse_total", "counter",
	       "HTTP/2 connections closed with GOAWAY for a flood: streams reset beyond h2_max_resets, "
	       "CONTINUATION or empty DATA frames beyond their bounds, or a session error.");
	for (i = 0; i < g->nlisteners; i++)
		listener_sample(o, "fulcrum_listener_h2_goaway_abuse_total", &g->listeners[i], NULL,
				s[i].h2_goaway_abuse);
	family(o, "fulcrum_listener_requests_total", "counter",
	       "HTTP requests answered on this listener, by status class (other: no response, 1xx).");
	for (i = 0; i < g->nlisteners; i++)
		for (k = 0; k < STATS_CLASSES; k++) {
			snprintf(extra, sizeof(extra), "code=\"%s\"", class_names[k]);
			listener_sample(o, "fulcrum_listener_requests_total", &g->listeners[i], extra,
					s[i].requests[k]);
		}
	family(o, "fulcrum_listener_tls_handshakes_total", "counter",
	       "TLS handshakes completed (resumed ones included).");
	for (i = 0; i < g->nlisteners; i++)
		if (g->listeners[i].tls)
			listener_sample(o, "fulcrum_listener_tls_handshakes_total", &g->listeners[i], NULL,
					atomic_load(&tls_ctx_stats(g->listeners[i].tls)->handshakes));
	family(o, "fulcrum_listener_tls_handshake_failures_total", "counter",
	       "TLS handshakes that failed, by reason.");
	for (i = 0; i < g->nlisteners; i++) {
		if (!g->listeners[i].tls)
			continue;
		for (k = 0; k < TLS_FAIL__COUNT; k++) {
			snprintf(extra, sizeof(extra), "reason=\"%s\"", tls_fail_name(k));
			listener_sample(o, "fulcrum_listener_tls_handshake_failures_total",
					&g->listeners[i], extra,
					atomic_load(&tls_ctx_stats(g->listeners[i].tls)->failures[k]));
		}
	}
	free(s);
}

/* The label list of one route as text, escaped; NULL when out of memory. */
static char *route_labels(const struct gen_listener *gl, size_t r)
{
	struct textbuf o = { 0 };

	textbuf_printf(&o, "listener=\"");
	out_escaped(&o, gl->cfg->name);
	textbuf_printf(&o, "\",route=\"");
	out_escaped(&o, gl->cfg->routes[r].name);
	textbuf_printf(&o, "\"");
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	return o.p;
}

/* Writes one route family's samples: counts (histogram 0) or durations (1) of every
 * route of every http listener. */
static void route_samples(struct textbuf *o, const struct generation *g, int histogram_family)
{
	struct route_stats_sum s;
	size_t i, r;
	unsigned k;
	char *l;

	for (i = 0; i < g->nlisteners; i++)
		for (r = 0; g->listeners[i].route_stats && r < g->listeners[i].cfg->nroutes; r++) {
			if (!(l = route_labels(&g->listeners[i], r))) {
				o->failed = 1;
				return;
			}
			stats_route_sum(g->listeners[i].route_stats[r], &s);
			if (histogram_family)
				histogram(o, "fulcrum_route_request_duration_seconds", l, &s.duration);
			else
				for (k = 0; k < STATS_CLASSES; k++)
					textbuf_printf(o, "fulcrum_route_requests_total{%s,code_class=\"%s\"} %llu\n", l,
						       class_names[k], (unsigned long long)s.requests[k]);
			free(l);
		}
}

/* Writes one gauge of every route's share of each pool it sends to (max_share,
 * adaptive_limit): its requests in flight (limit 0) or its limit now (1; +Inf when
 * nothing bounds it). */
static void share_samples(struct textbuf *o, const struct generation *g, int limit)
{
	size_t i, r, k;
	char *l;

	for (i = 0; i < g->nlisteners; i++) {
		const struct gen_listener *gl = &g->listeners[i];

		for (r = 0; gl->route_shares && r < gl->cfg->nroutes; r++) {
			const struct cfg_route *cr = &gl->cfg->routes[r];

			for (k = 0; gl->route_shares[r] && k < (cr->nsplit ? cr->nsplit : 1); k++) {
				struct route_share *sh = gl->route_shares[r][k];
				struct pool *p = cr->nsplit ? gl->route_splits[r].pools[k] : gl->route_pools[r];
				unsigned v;

				if (!p)
					continue;
				if (!(l = route_labels(gl, r))) {
					o->failed = 1;
					return;
				}
				textbuf_printf(o, "%s{%s,pool=\"", limit ? "fulcrum_route_limit" : "fulcrum_route_inflight", l);
				out_escaped(o, p->name);
				if (!limit)
					textbuf_printf(o, "\"} %u\n", atomic_load(&sh->inflight));
				else if ((v = route_share_limit(sh, p)))
					textbuf_printf(o, "\"} %u\n", v);
				else
					textbuf_printf(o, "\"} +Inf\n");
				free(l);
			}
		}
	}
}

/* Per route of every http listener: requests by status class and their durations. The
 * two families are written only when some listener has routes; the share gauges only
 * when some route has max_share or adaptive_limit. */
static void render_routes(struct textbuf *o, const struct generation *g)
{
	size_t i, nroutes = 0;

	for (i = 0; i < g->nlisteners; i++)
		nroutes += g->listeners[i].route_stats ? g->listeners[i].cfg->nroutes : 0;
	if (nroutes == 0)
		return;
	family(o, "fulcrum_route_requests_total", "counter",
	       "HTTP requests that took this route, by status class (other: no response, 1xx).");
	route_samples(o, g, 0);
	family(o, "fulcrum_route_request_duration_seconds", "histogram",
	       "Time from the request head to the last response byte, per route.");
	route_samples(o, g, 1);
	for (i = 0; i < g->nlisteners && !g->listeners[i].route_shares; i++)
		;
	if (i == g->nlisteners)
		return;
	family(o, "fulcrum_route_inflight", "gauge",
	       "Requests of a route with max_share or adaptive_limit holding a slot of the pool, all workers.");
	share_samples(o, g, 0);
	family(o, "fulcrum_route_limit", "gauge",
	       "How many requests of the route may hold a slot of the pool now (its share, or learned limit).");
	share_samples(o, g, 1);
}

int ctl_metrics_process(struct ctl_process_info *pi)
{
	char buf[4096], *p;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long utime, stime, start, rss_pages, size_pages, btime = 0;
	struct rlimit rl;
	struct dirent *de;
	FILE *f;
	DIR *d;
	size_t n;
	int i;

	memset(pi, 0, sizeof(*pi));
	if (!(f = fopen("/proc/self/stat", "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields start after the last ')' */
	if (!(p = strrchr(buf, ')')))
		return -1;
	p += 2;
	/* p is field 3 (state); utime and stime are fields 14 and 15, starttime 22 */
	for (i = 3; i < 14 && p; i++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (!p || sscanf(p, "%llu %llu", &utime, &stime) != 2)
		return -1;
	for (; i < 22 && p; i++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (!p || sscanf(p, "%llu", &start) != 1)
		return -1;
	pi->cpu_seconds = (double)(utime + stime) / ticks;
	if ((f = fopen("/proc/self/statm", "r"))) {
		if (fscanf(f, "%llu %llu", &size_pages, &rss_pages) == 2) {
			pi->resident_bytes = (double)rss_pages * page;
			pi->virtual_bytes = (double)size_pages * page;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/stat", "r"))) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	pi->start_time = (double)btime + (double)start / ticks;
	if ((d = opendir("/proc/self/fd"))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				pi->open_fds++;
		closedir(d);
		pi->open_fds--;  /* the directory's own descriptor */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		pi->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
	return 0;
}

const char *ctl_metrics_check_result(int r)
{
	/* the contract's "success"; the other names are the API's (health_result_name) */
	return r == HRES_OK ? "success" : health_result_name(r);
}

double ctl_uptime_s(void)
{
	return ctl_plane.started > 0 ? clock_wall_s() - ctl_plane.started : 0;
}

static void render_process(struct textbuf *o, const struct generation *g)
{
	struct ctl_process_info pi;
	uint64_t ok, failed;

	if (ctl_metrics_process(&pi) == 0) {
		family(o, "process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
		textbuf_printf(o, "process_cpu_seconds_total %.2f\n", pi.cpu_seconds);
		family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		textbuf_printf(o, "process_resident_memory_bytes %.0f\n", pi.resident_bytes);
		family(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
		textbuf_printf(o, "process_virtual_memory_bytes %.0f\n", pi.virtual_bytes);
		family(o, "process_open_fds", "gauge", "Number of open file descriptors.");
		textbuf_printf(o, "process_open_fds %.0f\n", pi.open_fds);
		family(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		textbuf_printf(o, "process_max_fds %.0f\n", pi.max_fds);
		family(o, "process_start_time_seconds", "gauge",
		       "Start time of the process since unix epoch in seconds.");
		textbuf_printf(o, "process_start_time_seconds %.2f\n", pi.start_time);
	}
	family(o, "fulcrum_config_generation", "gauge", "Id of the config generation in force.");
	textbuf_printf(o, "fulcrum_config_generation %llu\n", (unsigned long long)g->id);
	stats_reloads(&ok, &failed);
	family(o, "fulcrum_reloads_total", "counter",
	       "Config reloads (SIGHUP or POST /v1/config/reload) by result.");
	textbuf_printf(o, "fulcrum_reloads_total{result=\"success\"} %llu\n", (unsigned long long)ok);
	textbuf_printf(o, "fulcrum_reloads_total{result=\"failure\"} %llu\n", (unsigned long long)failed);
	family(o, "fulcrum_uptime_seconds", "gauge", "Seconds since fulcrum started.");
	textbuf_printf(o, "fulcrum_uptime_seconds %.3f\n", ctl_uptime_s());
	family(o, "fulcrum_build_info", "gauge", "Always 1; the labels name the build.");
	textbuf_printf(o, "fulcrum_build_info{version=\"");
	out_escaped(o, FULCRUM_VERSION);
	textbuf_printf(o, "\",openssl=\"");
	out_escaped(o, OpenSSL_version(OPENSSL_VERSION));
	textbuf_printf(o, "\"} 1\n");
	family(o, "fulcrum_buffer_memory_bytes", "gauge",
	       "Memory held by buffered bodies (buffer_memory_budget_bytes bounds it).");
	textbuf_printf(o, "fulcrum_buffer_memory_bytes %llu\n", atomic_load(&buffer_usage.memory_bytes));
	family(o, "fulcrum_buffer_disk_bytes", "gauge",
	       "Bytes in spill files (buffer_disk_budget_bytes bounds it).");
	textbuf_printf(o, "fulcrum_buffer_disk_bytes %llu\n", atomic_load(&buffer_usage.disk_bytes));
	family(o, "fulcrum_workers", "gauge", "Worker threads (event loops).");
	textbuf_printf(o, "fulcrum_workers %d\n", stats_workers());
	if (ctl_cluster_on()) {
		family(o, "fulcrum_cluster_store_up", "gauge",
		       "Cluster mode: 1 while the store answers and its watch runs; 0 while this replica serves its last applied state and refuses changes.");
		textbuf_printf(o, "fulcrum_cluster_store_up %d\n", ctl_cluster_store_up());
		family(o, "fulcrum_cluster_applied_revision", "gauge",
		       "Cluster mode: the store revision this replica applied last.");
		textbuf_printf(o, "fulcrum_cluster_applied_revision %lld\n",
			       (long long)ctl_cluster_applied_rev());
	}
}

/* What g runs in maintenance (the API's, laid over its config): one sample per pool and
 * per route name (a route name on several listeners counts once). */
static void render_maint(struct textbuf *o, const struct generation *g)
{
	size_t i, j, r, k;

	family(o, "fulcrum_maintenance", "gauge",
	       "1 while the pool or route is in maintenance (POST /v1/maintenance): its requests get 503.");
	for (i = 0; i < g->npools; i++)
		if (g->pools[i].cfg && g->pools[i].cfg->maint.on) {
			textbuf_printf(o, "fulcrum_maintenance{kind=\"pool\",name=\"");
			out_escaped(o, g->pools[i].name);
			textbuf_printf(o, "\"} 1\n");
		}
	for (i = 0; i < g->nlisteners; i++)
		for (r = 0; r < g->listeners[i].cfg->nroutes; r++) {
			const struct cfg_route *rt = &g->listeners[i].cfg->routes[r];
			int seen = 0;

			if (!rt->maint.on)
				continue;
			for (j = 0; j <= i && !seen; j++)
				for (k = 0; k < g->listeners[j].cfg->nroutes && !(j == i && k >= r); k++)
					seen |= !strcmp(g->listeners[j].cfg->routes[k].name, rt->name);
			if (seen)
				continue;
			textbuf_printf(o, "fulcrum_maintenance{kind=\"route\",name=\"");
			out_escaped(o, rt->name);
			textbuf_printf(o, "\"} 1\n");
		}
}

char *ctl_metrics_render(const struct generation *g, size_t *len)
{
	struct textbuf o = { 0 };
	struct bsum *xs;
	size_t i, k, n = 0;
	long long now = clock_coarse_ms();

	for (i = 0; i < g->npools; i++)
		n += g->pools[i].nbackends;
	xs = calloc(n ? n : 1, sizeof(*xs));
	if (!xs)
		return NULL;
	n = 0;
	for (i = 0; i < g->npools; i++)
		for (k = 0; k < g->pools[i].nbackends; k++) {
			struct bsum *x = &xs[n++];

			x->pool = &g->pools[i];
			x->b = g->pools[i].backends[k];
			stats_backend_sum(x->b, &x->s);
			health_backend_view(x->b, now, &x->v);
		}
	render_backends(&o, xs, n);
	render_pools(&o, g);
	render_listeners(&o, g);
	render_routes(&o, g);
	render_process(&o, g);
	render_maint(&o, g);
	render_cache(&o, g);
	free(xs);
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}
