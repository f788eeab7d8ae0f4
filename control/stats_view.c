/* stats_view.c: GET /v1/stats, the JSON the status page polls: per pool and backend the
 * state, weights, connections, cumulative request and error counts and the cumulative
 * buckets of the total response time, and per http listener its routes with their
 * request counts; the page takes differences between two polls. */

#include "cache_store.h"
#include "clock.h"
#include "cluster_replica.h"
#include "ctl_api.h"
#include "ctl_metrics.h"
#include "health.h"
#include "stats.h"

static const char *const admin_names[] = { "active", "draining", "maint" };

static cJSON *backend_json(const struct backend *b, long long now_ms);
static cJSON *cache_json(struct pool_cache *pc);

static cJSON *backend_json(const struct backend *b, long long now_ms)
{
	cJSON *o = cJSON_CreateObject(), *le, *bk;
	struct backend_stats_sum s;
	struct health_view v;
	uint64_t total = 0;
	int admin = atomic_load(&b->admin), k;

	if (!o)
		return NULL;
	stats_backend_sum(b, &s);
	health_backend_view(b, now_ms, &v);
	for (k = 0; k < STATS_CLASSES; k++)
		total += s.requests[k];
	cJSON_AddStringToObject(o, "name", b->name);
	cJSON_AddStringToObject(o, "address", b->addr.text);
	cJSON_AddStringToObject(o, "admin", admin >= 0 && admin <= 2 ? admin_names[admin] : "?");
	cJSON_AddStringToObject(o, "health", v.state);
	cJSON_AddStringToObject(o, "health_reason", v.reason);
	cJSON_AddNumberToObject(o, "weight", atomic_load(&b->weight));
	cJSON_AddNumberToObject(o, "effective_weight", v.effective_weight);
	cJSON_AddNumberToObject(o, "max_conns", atomic_load(&b->max_conns));
	cJSON_AddNumberToObject(o, "active", atomic_load(&b->active));
	cJSON_AddNumberToObject(o, "open_connections", (double)s.open);
	cJSON_AddNumberToObject(o, "requests_total", (double)total);
	cJSON_AddNumberToObject(o, "errors_total", (double)s.errors);
	le = cJSON_AddArrayToObject(o, "latency_buckets_le_s");
	bk = cJSON_AddArrayToObject(o, "latency_buckets");
	for (k = 0; le && k < STATS_BOUNDS; k++)
		cJSON_AddItemToArray(le, cJSON_CreateNumber(stats_bound_us[k] / 1e6));
	for (k = 0; bk && k < STATS_BUCKETS; k++)
		cJSON_AddItemToArray(bk, cJSON_CreateNumber((double)s.phase[STATS_TOTAL].cum[k]));
	return o;
}

/* A pool's cache counters (since its store was made): the page shows the share of
 * lookups answered from it (hits and stale answers) over its window. */
static cJSON *cache_json(struct pool_cache *pc)
{
	struct cache_counters *n = cache_store_counters(pc);
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "hits", (double)atomic_load(&n->hits));
	cJSON_AddNumberToObject(o, "stale", (double)atomic_load(&n->stale));
	cJSON_AddNumberToObject(o, "stale_if_error", (double)atomic_load(&n->stale_error));
	cJSON_AddNumberToObject(o, "misses", (double)atomic_load(&n->misses));
	cJSON_AddNumberToObject(o, "coalesced", (double)atomic_load(&n->coalesced));
	cJSON_AddNumberToObject(o, "hit_for_pass", (double)atomic_load(&n->hit_for_pass));
	cJSON_AddNumberToObject(o, "objects", (double)atomic_load(&n->objects));
	cJSON_AddNumberToObject(o, "bytes", (double)atomic_load(&n->bytes));
	return o;
}

cJSON *ctl_stats_json(const struct generation *g)
{
	cJSON *o = cJSON_CreateObject(), *pools, *ls;
	long long now = clock_coarse_ms();
	size_t i, k;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "now_ms", (double)clock_wall_ms());
	cJSON_AddNumberToObject(o, "generation", (double)g->id);
	cJSON_AddNumberToObject(o, "uptime_s", ctl_uptime_s());
	cJSON_AddStringToObject(o, "version", FULCRUM_VERSION);
	{
		/* HTTP/2 over every listener: the status page's line of it */
		struct listener_stats_sum ls_sum;
		uint64_t conns = 0, streams = 0, abuse = 0;
		cJSON *h2 = cJSON_AddObjectToObject(o, "h2");

		for (i = 0; i < g->nlisteners; i++) {
			stats_listener_sum(&g->listeners[i], &ls_sum);
			conns += ls_sum.h2_connections;
			streams += ls_sum.h2_streams;
			abuse += ls_sum.h2_goaway_abuse;
		}
		cJSON_AddNumberToObject(h2, "connections", (double)conns);
		cJSON_AddNumberToObject(h2, "streams", (double)streams);
		cJSON_AddNumberToObject(h2, "goaway_abuse", (double)abuse);
	}
	/* cluster mode: the replicas as GET /v1/cluster shows them, for the status page */
	if (ctl_cluster_on())
		cJSON_AddItemToObject(o, "cluster", ctl_cluster_json());
	pools = cJSON_AddArrayToObject(o, "pools");
	for (i = 0; pools && i < g->npools; i++) {
		const struct pool *p = &g->pools[i];
		cJSON *po = cJSON_CreateObject(), *bs;

		if (!po)
			break;
		cJSON_AddStringToObject(po, "name", p->name);
		cJSON_AddNumberToObject(po, "queued", atomic_load(&p->waiting));
		if (p->cache)
			cJSON_AddItemToObject(po, "cache", cache_json(p->cache));
		bs = cJSON_AddArrayToObject(po, "backends");
		for (k = 0; bs && k < p->nbackends; k++)
			cJSON_AddItemToArray(bs, backend_json(p->backends[k], now));
		cJSON_AddItemToArray(pools, po);
	}
	ls = cJSON_AddArrayToObject(o, "listeners");
	for (i = 0; ls && i < g->nlisteners; i++) {
		const struct gen_listener *gl = &g->listeners[i];
		cJSON *lo, *rs;

		if (gl->cfg->mode != LISTENER_HTTP || !gl->cfg->nroutes)
			continue;  /* the page shows routes only */
		lo = cJSON_CreateObject();
		if (!lo)
			break;
		cJSON_AddStringToObject(lo, "name", gl->cfg->name);
		rs = cJSON_AddArrayToObject(lo, "routes");
		for (k = 0; rs && k < gl->cfg->nroutes; k++)
			cJSON_AddItemToArray(rs, ctl_route_json(gl, k));
		cJSON_AddItemToArray(ls, lo);
	}
	return o;
}
