/* api.c: the control API's endpoints: probes, status, backends (list, add or update,
 * drain, delete) and config (reload, generations, diff, rollback), on control/state.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cluster_replica.h"
#include "config.h"
#include "ctl_api.h"
#include "ctl_metrics.h"
#include "discovery.h"
#include "ctl_page.h"
#include "ctl_ready.h"
#include "log.h"
#include "worker.h"

#define WAIT_DEFAULT_S 30
#define WAIT_MAX_S 3600

typedef void (*handler_fn)(struct ctl_conn *c, const struct ctl_request *req,
			   const struct ctl_route_match *m);

static void h_healthz(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_readyz(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_metrics(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_status(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_backends(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_backend(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_drain(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void set_drain_deadline(const char *pool, const char *name, uint32_t timeout_s);
static void h_reload(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_generations(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_generation(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_diff(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_rollback(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_stats(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void h_cluster(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
static void get_backend(struct ctl_conn *c, const char *pool, const char *name);
static void put_backend(struct ctl_conn *c, const struct ctl_request *req, const char *pool,
			const char *name);
static void delete_backend(struct ctl_conn *c, const struct ctl_request *req, const char *pool,
			   const char *name);
static int pool_and_name(struct ctl_conn *c, const struct ctl_route_match *m, int with_name,
			 struct generation *g);
static int query_flag(struct ctl_conn *c, const char *query, const char *key, int *out);
static int query_seconds(struct ctl_conn *c, const char *query, const char *key, uint32_t max,
			 uint32_t *out);
static int parse_gen_id(const char *s, uint64_t *out);
static cJSON *errors_json(const struct config_errors *errs);
static void reply_config_errors(struct ctl_conn *c, const char *what,
				const struct config_errors *errs);
static uint32_t pool_drain_timeout(struct generation *g, const char *pool);
static int query_revision(struct ctl_conn *c, const char *query, int64_t *out);

/* What answers a backend call once its change is applied (at once, or in cluster mode
 * when the store's watch brought it back). */
struct then_arg {
	char pool[CTL_NAME_MAX];
	char name[CTL_NAME_MAX];
	int created, changed, wait;      /* PUT: 201, "changed", ?wait=healthy */
	uint32_t timeout;                /* drain, DELETE: its timeout_s; PUT: the wait's */
	int stream;                      /* drain ?wait=1: progress lines */
	unsigned active;                 /* DELETE: what was in flight when it was asked */
	int force;
};
static void put_reply(struct ctl_conn *c, void *arg);
static void drain_reply(struct ctl_conn *c, void *arg);
static void delete_drained(struct ctl_conn *c, void *arg);
static void delete_reply(struct ctl_conn *c, void *arg);

static const handler_fn handlers[CTL_R_COUNT] = {
	[CTL_R_PAGE] = ctl_page_get,
	[CTL_R_HEALTHZ] = h_healthz,
	[CTL_R_READYZ] = h_readyz,
	[CTL_R_METRICS] = h_metrics,
	[CTL_R_STATUS] = h_status,
	[CTL_R_BACKENDS] = h_backends,
	[CTL_R_BACKEND] = h_backend,
	[CTL_R_DRAIN] = h_drain,
	[CTL_R_RELOAD] = h_reload,
	[CTL_R_GENERATIONS] = h_generations,
	[CTL_R_GENERATION] = h_generation,
	[CTL_R_DIFF] = h_diff,
	[CTL_R_ROLLBACK] = h_rollback,
	[CTL_R_STATS] = h_stats,
	[CTL_R_MAINTENANCE] = ctl_maint_handle,
	[CTL_R_CACHE_PURGE] = ctl_cache_purge_handle,
	[CTL_R_CLUSTER] = h_cluster,
};

void ctl_dispatch(struct ctl_conn *c, const struct ctl_request *req,
		  const struct ctl_route_match *m)
{
	if (m->id <= CTL_R_NONE || m->id >= CTL_R_COUNT || !handlers[m->id]) {
		ctl_reply_error(c, 404, "not_found", "no endpoint %s", req->path);
		return;
	}
	handlers[m->id](c, req, m);
}

/* ---- Helpers ---- */

/* Validates the pool (and backend) names of the path and that the pool exists in g:
 * 400 for a name outside the name rule, 404 for a pool that does not exist. 0 when the
 * request may go on, -1 when it was answered. */
static int pool_and_name(struct ctl_conn *c, const struct ctl_route_match *m, int with_name,
			 struct generation *g)
{
	char err[256];

	if (ctl_check_name("pool", m->pool, err, sizeof(err)) == -1 ||
	    (with_name && ctl_check_name("backend name", m->name, err, sizeof(err)) == -1)) {
		ctl_reply_error(c, 400, "invalid_name", "%s", err);
		return -1;
	}
	if (!generation_find_pool(g, m->pool)) {
		ctl_reply_error(c, 404, "unknown_pool", "there is no pool '%s'", m->pool);
		return -1;
	}
	return 0;
}

static int query_flag(struct ctl_conn *c, const char *query, const char *key, int *out)
{
	char v[16];
	int r = ctl_query_get(query, key, v, sizeof(v));

	*out = 0;
	if (r == 0)
		return 0;
	if (r == 1 && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, ""))) {
		*out = 1;
		return 0;
	}
	if (r == 1 && (!strcmp(v, "0") || !strcmp(v, "false")))
		return 0;
	ctl_reply_error(c, 400, "invalid_query", "'%s' takes 1, true, 0 or false", key);
	return -1;
}

static int query_seconds(struct ctl_conn *c, const char *query, const char *key, uint32_t max,
			 uint32_t *out)
{
	char v[32], *end;
	unsigned long n;
	int r = ctl_query_get(query, key, v, sizeof(v));

	if (r == 0)
		return 0;
	errno = 0;
	n = r == 1 && v[0] >= '0' && v[0] <= '9' ? strtoul(v, &end, 10) : 0;
	if (r != 1 || v[0] < '0' || v[0] > '9' || errno || *end || n > max) {
		ctl_reply_error(c, 400, "invalid_query", "'%s' takes whole seconds 0..%u", key, max);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* ?revision=N (cluster mode): the key's revision the client read, so that its write
 * applies only if no other write came in between. -1 when absent; -1 returned when it
 * was answered (malformed). */
static int query_revision(struct ctl_conn *c, const char *query, int64_t *out)
{
	char v[24], *end;
	int r = ctl_query_get(query, "revision", v, sizeof(v));
	long long n;

	*out = -1;
	if (r == 0)
		return 0;
	n = r == 1 ? strtoll(v, &end, 10) : -1;
	if (r == -1 || !v[0] || *end || n < 0) {
		ctl_reply_error(c, 400, "invalid_query", "'revision' takes a store revision (0 or more)");
		return -1;
	}
	if (!ctl_cluster_on()) {
		ctl_reply_error(c, 400, "invalid_query", "'revision' needs cluster mode (cluster = { ... })");
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_gen_id(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -1;
	*out = v;
	return 0;
}

static uint32_t pool_drain_timeout(struct generation *g, const char *pool)
{
	struct pool *p = generation_find_pool(g, pool);

	return p ? p->cfg->drain_timeout_s : WAIT_DEFAULT_S;
}

static cJSON *errors_json(const struct config_errors *errs)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; errs && i < errs->count; i++) {
		const struct config_error *e = &errs->items[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "file", e->file ? e->file : "");
		cJSON_AddNumberToObject(o, "line", e->line);
		cJSON_AddStringToObject(o, "key", e->key ? e->key : "");
		cJSON_AddStringToObject(o, "message", e->message ? e->message : "");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* 422 with every error of a config that did not validate. */
static void reply_config_errors(struct ctl_conn *c, const char *what,
				const struct config_errors *errs)
{
	cJSON *o = ctl_error_json(NULL, "invalid_config", "%s has %zu error%s; nothing was changed",
				  what, errs->count, errs->count == 1 ? "" : "s");

	cJSON_AddItemToObject(o, "errors", errors_json(errs));
	ctl_reply_json(c, 422, o);
}

/* ---- Probes and status ---- */

static void h_healthz(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	ctl_reply_json(c, 200, o);
}

/* 200 when this replica can serve, else 503 with the reasons (control/ready.c). */
static void h_readyz(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	int ready;
	cJSON *o = ctl_ready_json(&ready);

	if (!o) {
		ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	ctl_reply_json(c, ready ? 200 : 503, o);
}

static void h_metrics(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	size_t len = 0;
	char *text = g ? ctl_metrics_render(g, &len) : NULL;

	generation_unref(g);
	if (!text) {
		ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	ctl_reply_body(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void h_stats(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	cJSON *o = g ? ctl_stats_json(g) : NULL;

	generation_unref(g);
	if (!o) {
		ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	ctl_reply_json(c, 200, o);
}

static void h_status(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	ctl_reply_json(c, 200, ctl_status_json());
}

/* The replicas of the cluster and where each stands (control/cluster_replicas.c). */
static void h_cluster(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	cJSON *o;

	if (!ctl_cluster_on()) {
		ctl_reply_error(c, 404, "not_clustered", "this replica runs without cluster mode "
				"(no cluster = { ... } in its config)");
		return;
	}
	if (!(o = ctl_cluster_json())) {
		ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	ctl_reply_json(c, 200, o);
}

/* ---- Backends ---- */

static void h_backends(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	struct pool *p;
	cJSON *o, *a;
	size_t i;

	if (pool_and_name(c, m, 0, g) == 0) {
		p = generation_find_pool(g, m->pool);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "pool", p->name);
		cJSON_AddNumberToObject(o, "generation", (double)g->id);
		a = cJSON_AddArrayToObject(o, "backends");
		for (i = 0; i < p->nbackends; i++)
			cJSON_AddItemToArray(a, ctl_backend_json(p->backends[i], &p->cfg->backends[i],
								 p->name));
		ctl_reply_json(c, 200, o);
	}
	generation_unref(g);
}

static void h_backend(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	int ok = pool_and_name(c, m, 1, g) == 0;

	generation_unref(g);
	if (!ok)
		return;
	if (req->method == HTTP_M_GET)
		get_backend(c, m->pool, m->name);
	else if (req->method == HTTP_M_PUT)
		put_backend(c, req, m->pool, m->name);
	else
		delete_backend(c, req, m->pool, m->name);
}

static void get_backend(struct ctl_conn *c, const char *pool, const char *name)
{
	struct generation *g = proc_current_generation();
	struct backend *b = ctl_live_backend(g, pool, name);

	if (b) {
		cJSON *o = ctl_backend_json(b, NULL, pool);

		if (o && ctl_cluster_on())
			cJSON_AddNumberToObject(o, "revision", (double)ctl_cluster_key_rev(pool, name));
		ctl_reply_json(c, 200, o);
	} else
		ctl_reply_error(c, 404, "unknown_backend", "pool '%s' has no backend '%s'", pool, name);
	generation_unref(g);
}

/* Adds or updates: fields left out keep the backend's current value, its admin state
 * too (defaults for a new one: weight 1, max_conns 0, state active, the pool's
 * lease_ttl_s); an address is needed to add. A PUT that changes nothing writes no
 * generation, so a hook may retry it freely; one of a leased backend renews the lease
 * (a journal record only). */
static void put_backend(struct ctl_conn *c, const struct ctl_request *req, const char *pool,
			const char *name)
{
	struct ctl_backend_put p;
	enum ctl_put_outcome out;
	struct ctl_jentry e;
	struct then_arg t;
	char err[512], src[CTL_SOURCE_MAX], wait[16];
	uint32_t timeout = WAIT_DEFAULT_S;
	uint64_t gen = 0;
	int64_t if_rev;
	int wait_healthy = 0, r, created, unchanged;

	r = ctl_query_get(req->query, "wait", wait, sizeof(wait));
	if (r == -1 || (r == 1 && strcmp(wait, "healthy"))) {
		ctl_reply_error(c, 400, "invalid_query", "'wait' takes only \"healthy\"");
		return;
	}
	wait_healthy = r == 1;
	if (query_seconds(c, req->query, "timeout", WAIT_MAX_S, &timeout) == -1 ||
	    query_revision(c, req->query, &if_rev) == -1)
		return;
	if (ctl_parse_backend_put(req->body, req->body_len, &p, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_body", "%s", err);
		return;
	}
	if (discovery_source(pool, name)) {
		ctl_reply_error(c, 409, "discovered_backend",
				"backend '%s' of pool '%s' comes from Kubernetes discovery; change "
				"the Service's endpoints instead (drain is allowed)", name, pool);
		return;
	}
	/* the applied config, not the live objects: it is what the journal builds on */
	{
		struct generation *g = proc_current_generation();
		struct cfg_backend *cur = ctl_config_backend(g->cfg, pool, name);
		struct pool *gp = generation_find_pool(g, pool);

		memset(&e, 0, sizeof(e));
		snprintf(e.pool, sizeof(e.pool), "%s", pool);
		snprintf(e.name, sizeof(e.name), "%s", name);
		created = cur == NULL;
		out = ctl_put_entry(cur, ctl_journal_find(&ctl_plane.journal, pool, name), &p,
				    gp ? gp->cfg->lease_ttl_s : 0, clock_wall_s(), &e);
		generation_unref(g);
		if (out == CTL_PUT_INVALID) {
			ctl_reply_error(c, 400, "invalid_body",
					"'address' is required to add backend '%s'", name);
			return;
		}
		unchanged = out != CTL_PUT_CHANGE;
	}
	if (wait_healthy && (e.weight == 0 || e.state != ADMIN_ACTIVE)) {
		ctl_reply_error(c, 400, "invalid_body",
				"wait=healthy needs a backend that can enter rotation "
				"(weight above 0 and state \"active\")");
		return;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.pool, sizeof(t.pool), "%s", pool);
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.created = created;
	t.changed = !unchanged;
	t.wait = wait_healthy;
	t.timeout = timeout;
	/* a write compared on a revision is sent even when it changes nothing here: the
	 * client asks whether its view still holds */
	if (ctl_cluster_on() && (out != CTL_PUT_SAME || if_rev >= 0)) {
		ctl_cluster_write(c, &e, if_rev, put_reply, &t, sizeof(t));
		return;
	}
	if (out != CTL_PUT_SAME) {
		snprintf(src, sizeof(src), "api: PUT %s/%s", pool, name);
		r = out == CTL_PUT_CHANGE ? ctl_change_backend(&e, src, &gen, err, sizeof(err))
					  : ctl_renew_lease(&e, err, sizeof(err));
		if (r) {
			ctl_reply_error(c, r, r == 503 ? "unavailable" : "internal", "%s", err);
			return;
		}
	}
	put_reply(c, &t);
}

/* The answer to a PUT whose change is applied: the wait for rotation, or the backend. */
static void put_reply(struct ctl_conn *c, void *arg)
{
	const struct then_arg *t = arg;
	struct generation *g;
	struct backend *b;
	cJSON *o;

	if (t->wait) {
		ctl_wait_start(c, CTL_WAIT_HEALTHY, t->pool, t->name, t->timeout, 0,
			       t->created ? 201 : 200);
		return;
	}
	g = proc_current_generation();
	b = ctl_live_backend(g, t->pool, t->name);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pool", t->pool);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddBoolToObject(o, "created", t->created);
	cJSON_AddBoolToObject(o, "changed", t->changed);
	cJSON_AddNumberToObject(o, "generation", (double)g->id);
	if (ctl_cluster_on())
		cJSON_AddNumberToObject(o, "revision", (double)ctl_cluster_key_rev(t->pool, t->name));
	if (b)
		cJSON_AddItemToObject(o, "backend", ctl_backend_json(b, NULL, t->pool));
	generation_unref(g);
	ctl_reply_json(c, t->created ? 201 : 200, o);
}

/* Sets pool/name draining (unless it already is, outside cluster mode). 0 when done here
 * (the caller goes on), 1 when it went to the cluster store (then(c, t) answers once it is applied), -1
 * when it answered. */
static int start_drain(struct ctl_conn *c, const char *pool, const char *name, const char *verb,
		       int64_t if_rev, ctl_cluster_then_fn then, const struct then_arg *t)
{
	struct generation *g = proc_current_generation();
	struct cfg_backend *cur = ctl_config_backend(g->cfg, pool, name);
	struct ctl_jentry e;
	char err[512], src[CTL_SOURCE_MAX];
	uint64_t gen;
	int r;

	if (!cur) {
		generation_unref(g);
		ctl_reply_error(c, 404, "unknown_backend", "pool '%s' has no backend '%s'", pool, name);
		return -1;
	}
	/* A repeated drain moves the deadline (drain_reply). Alone, that is this process's
	 * business; in cluster mode the new deadline goes through the store like the first,
	 * or the other replicas would cut at the old one. */
	if (cur->state == ADMIN_DRAINING && if_rev < 0 && !ctl_cluster_on()) {
		generation_unref(g);
		return 0;
	}
	memset(&e, 0, sizeof(e));
	snprintf(e.pool, sizeof(e.pool), "%s", pool);
	snprintf(e.name, sizeof(e.name), "%s", name);
	ctl_entry_of(cur, ctl_journal_find(&ctl_plane.journal, pool, name), &e);
	e.state = ADMIN_DRAINING;
	/* the deadline goes with the change: in cluster mode every replica cuts at it */
	e.drain_until = clock_wall_s() + t->timeout;
	generation_unref(g);
	if (ctl_cluster_on()) {
		ctl_cluster_write(c, &e, if_rev, then, t, sizeof(*t));
		return 1;
	}
	snprintf(src, sizeof(src), "api: %s %s/%s", verb, pool, name);
	r = ctl_change_backend(&e, src, &gen, err, sizeof(err));
	if (r) {
		ctl_reply_error(c, r, r == 503 ? "unavailable" : "internal", "%s", err);
		return -1;
	}
	return 0;
}

/* The drain deadline counts from this call, with its timeout_s: connections and requests
 * still on the backend then are cut (a repeated drain moves the deadline). */
static void set_drain_deadline(const char *pool, const char *name, uint32_t timeout_s)
{
	struct generation *g = proc_current_generation();
	struct backend *b = ctl_live_backend(g, pool, name);

	if (b)
		backend_set_drain_deadline(b, clock_coarse_ms() + (long long)timeout_s * 1000);
	generation_unref(g);
}

static void h_drain(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	struct then_arg t;
	uint32_t timeout;
	char err[512];
	int64_t if_rev;
	int wait, ok = pool_and_name(c, m, 1, g) == 0;

	timeout = ok ? pool_drain_timeout(g, m->pool) : 0;
	generation_unref(g);
	if (!ok || query_flag(c, req->query, "wait", &wait) == -1 ||
	    query_revision(c, req->query, &if_rev) == -1)
		return;
	if (ctl_parse_drain(req->body, req->body_len, &timeout, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_body", "%s", err);
		return;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.pool, sizeof(t.pool), "%.*s", CTL_NAME_MAX - 1, m->pool);
	snprintf(t.name, sizeof(t.name), "%.*s", CTL_NAME_MAX - 1, m->name);
	t.timeout = timeout;
	t.wait = wait;
	t.stream = req->stream_ok;
	/* a discovered backend drains in the discovery layer: nothing goes to the journal */
	if (discovery_source(m->pool, m->name)) {
		if (discovery_drain(m->pool, m->name) == -1) {
			ctl_reply_error(c, 500, "internal", "the drain could not be applied");
			return;
		}
	} else if (start_drain(c, m->pool, m->name, "drain", if_rev, drain_reply, &t) != 0) {
		return;
	}
	drain_reply(c, &t);
}

/* The answer to a drain that is applied: the deadline set from now, then the wait for
 * the backend to empty, or where it stands. */
static void drain_reply(struct ctl_conn *c, void *arg)
{
	const struct then_arg *t = arg;
	struct generation *g;
	struct backend *b;
	cJSON *o;
	unsigned active;

	set_drain_deadline(t->pool, t->name, t->timeout);
	if (t->wait) {
		ctl_wait_start(c, CTL_WAIT_DRAIN, t->pool, t->name, t->timeout, t->stream, 200);
		return;
	}
	o = cJSON_CreateObject();
	g = proc_current_generation();
	b = ctl_live_backend(g, t->pool, t->name);
	active = b ? atomic_load(&b->active) : 0;
	cJSON_AddStringToObject(o, "pool", t->pool);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "admin", "draining");
	cJSON_AddNumberToObject(o, "active", active);
	cJSON_AddBoolToObject(o, "drained", active == 0);
	cJSON_AddNumberToObject(o, "timeout_s", t->timeout);
	cJSON_AddNumberToObject(o, "generation", (double)g->id);
	generation_unref(g);
	ctl_reply_json(c, active ? 202 : 200, o);
}

/* DELETE: drains first (up to ?timeout=, else the pool's drain_timeout_s), then removes;
 * what is still on it at that deadline is cut. ?force=1 removes at once, and what is in
 * flight then finishes: it holds the backend. */
static void delete_backend(struct ctl_conn *c, const struct ctl_request *req, const char *pool,
			   const char *name)
{
	struct generation *g = proc_current_generation();
	int exists = ctl_config_backend(g->cfg, pool, name) != NULL, force;
	struct backend *b = ctl_live_backend(g, pool, name);
	unsigned active = b ? atomic_load(&b->active) : 0;
	uint32_t timeout = pool_drain_timeout(g, pool);
	char err[512], src[CTL_SOURCE_MAX];
	struct then_arg t;
	uint64_t gen = 0;
	int64_t if_rev;
	int r;

	generation_unref(g);
	if (query_flag(c, req->query, "force", &force) == -1 ||
	    query_seconds(c, req->query, "timeout", 86400, &timeout) == -1 ||
	    query_revision(c, req->query, &if_rev) == -1)
		return;
	if (ctl_parse_drain(req->body, req->body_len, &timeout, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_body", "%s", err);
		return;
	}
	if (!exists) {
		ctl_reply_error(c, 404, "unknown_backend", "pool '%s' has no backend '%s'", pool, name);
		return;
	}
	if (discovery_source(pool, name)) {
		ctl_reply_error(c, 409, "discovered_backend",
				"backend '%s' of pool '%s' comes from Kubernetes discovery: it leaves "
				"when its endpoint does (drain is allowed)", name, pool);
		return;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.pool, sizeof(t.pool), "%s", pool);
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.timeout = timeout;
	t.active = active;
	t.force = force;
	if (!force && active > 0 && timeout > 0) {
		r = start_drain(c, pool, name, "DELETE (drain)", if_rev, delete_drained, &t);
		if (r == 0)
			delete_drained(c, &t);
		return;
	}
	if (ctl_cluster_on()) {
		struct ctl_jentry e;

		memset(&e, 0, sizeof(e));
		e.op = CTL_JOP_DELETE;
		snprintf(e.pool, sizeof(e.pool), "%s", pool);
		snprintf(e.name, sizeof(e.name), "%s", name);
		ctl_cluster_write(c, &e, if_rev, delete_reply, &t, sizeof(t));
		return;
	}
	snprintf(src, sizeof(src), "api: DELETE %s/%s%s", pool, name, force ? " (force)" : "");
	r = ctl_delete_backend(pool, name, src, &gen, err, sizeof(err));
	if (r) {
		ctl_reply_error(c, r, r == 503 ? "unavailable" : "internal", "%s", err);
		return;
	}
	delete_reply(c, &t);
}

/* DELETE with requests in flight, once the drain is applied: the deadline from now, then
 * the wait that removes the backend when it is empty (control/wait.c). */
static void delete_drained(struct ctl_conn *c, void *arg)
{
	const struct then_arg *t = arg;

	set_drain_deadline(t->pool, t->name, t->timeout);
	ctl_wait_start(c, CTL_WAIT_DELETE, t->pool, t->name, t->timeout, 0, 200);
}

/* The answer to a removal that is applied. */
static void delete_reply(struct ctl_conn *c, void *arg)
{
	const struct then_arg *t = arg;
	struct generation *g = proc_current_generation();
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "pool", t->pool);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddBoolToObject(o, "removed", 1);
	cJSON_AddBoolToObject(o, "drained", t->active == 0);
	cJSON_AddNumberToObject(o, "active", t->active);
	cJSON_AddNumberToObject(o, "generation", (double)(g ? g->id : 0));
	generation_unref(g);
	ctl_reply_json(c, 200, o);
}

/* ---- Config ---- */

static void h_reload(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct config_errors errs = { 0 }, warnings = { 0 };
	char err[512], src[CTL_SOURCE_MAX];
	uint64_t gen = 0;
	int r;

	snprintf(src, sizeof(src), "api: reload of %s", ctl_plane.config_path ? ctl_plane.config_path : "-");
	r = ctl_reload(src, &gen, &errs, &warnings, err, sizeof(err));

	if (r == 422) {
		reply_config_errors(c, ctl_plane.config_path, &errs);
		log_error("reload refused: %s has errors; nothing changed", ctl_plane.config_path);
	} else if (r) {
		ctl_reply_error(c, r, r == 409 ? "no_file" : r == 503 ? "unavailable" : "internal",
				"%s", err);
	} else {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "generation", (double)gen);
		cJSON_AddStringToObject(o, "file", ctl_plane.config_path);
		cJSON_AddItemToObject(o, "restart_needed", errors_json(&warnings));
		ctl_reply_json(c, 200, o);
	}
	config_errors_clear(&errs);
	config_errors_clear(&warnings);
}

static void h_generations(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	struct ctl_gen_meta *list = NULL;
	ssize_t n = ctl_store_list(&ctl_plane.store, &list), i;
	cJSON *o = cJSON_CreateObject(), *a;

	cJSON_AddNumberToObject(o, "current", (double)g->id);
	cJSON_AddNumberToObject(o, "config_generation", (double)ctl_plane.kept_id);
	cJSON_AddNumberToObject(o, "keep", ctl_plane.store.keep);
	cJSON_AddNumberToObject(o, "keep_days", ctl_plane.store.keep_days);
	a = cJSON_AddArrayToObject(o, "generations");
	for (i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "id", (double)list[i].id);
		cJSON_AddNumberToObject(e, "time", list[i].time);
		cJSON_AddStringToObject(e, "source", list[i].source);
		cJSON_AddStringToObject(e, "sha256", list[i].sha256);
		cJSON_AddBoolToObject(e, "current", list[i].id == g->id);
		cJSON_AddBoolToObject(e, "running_base", list[i].id == ctl_plane.kept_id);
		cJSON_AddItemToArray(a, e);
	}
	free(list);
	generation_unref(g);
	if (n < 0) {
		cJSON_Delete(o);
		ctl_reply_error(c, 500, "internal", "cannot list %s", ctl_plane.store.dir);
		return;
	}
	ctl_reply_json(c, 200, o);
}

static void h_generation(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct ctl_gen_meta meta;
	uint64_t id;
	char *text;
	cJSON *o;

	if (parse_gen_id(m->gen, &id) == -1) {
		ctl_reply_error(c, 400, "invalid_generation", "'%s' is not a generation number", m->gen);
		return;
	}
	text = ctl_store_read(&ctl_plane.store, id, &meta);
	if (!text) {
		ctl_reply_error(c, 404, "unknown_generation", "generation %" PRIu64 " is not kept", id);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddNumberToObject(o, "time", meta.time);
	cJSON_AddStringToObject(o, "source", meta.source);
	cJSON_AddStringToObject(o, "sha256", meta.sha256);
	cJSON_AddStringToObject(o, "config", text);
	free(text);
	ctl_reply_json(c, 200, o);
}

static void h_diff(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct ctl_gen_meta ma, mb;
	struct ctl_diff_item *items = NULL;
	char v[32], err[512], *ta = NULL, *tb = NULL;
	uint64_t from, to;
	ssize_t n, i;
	cJSON *o, *a;
	int r, running = 0;

	r = ctl_query_get(req->query, "from", v, sizeof(v));
	if (r != 1 || parse_gen_id(v, &from) == -1) {
		ctl_reply_error(c, 400, "invalid_query", "'from' (a generation number) is required");
		return;
	}
	r = ctl_query_get(req->query, "to", v, sizeof(v));
	if (r == 0) {
		struct generation *g = proc_current_generation();

		to = g->id;
		running = to != ctl_plane.kept_id;
		generation_unref(g);
	} else if (r != 1 || parse_gen_id(v, &to) == -1) {
		ctl_reply_error(c, 400, "invalid_query", "'to' must be a generation number");
		return;
	}
	ta = ctl_store_read(&ctl_plane.store, from, &ma);
	tb = ta && !running ? ctl_store_read(&ctl_plane.store, to, &mb) : NULL;
	if (ta && running) {
		/* the running generation is a runtime one (not kept): its operator config
		 * is the base with the journal laid over it */
		struct config *cur = ctl_merge(ctl_base(), ctl_plane.journal.entries,
					       ctl_plane.journal.n, NULL, NULL);

		tb = cur ? ctl_render(cur, 0) : NULL;
		config_free(cur);
		if (!tb) {
			ctl_reply_error(c, 500, "internal", "out of memory");
			goto out;
		}
	}
	if (!ta || !tb) {
		ctl_reply_error(c, 404, "unknown_generation", "generation %" PRIu64 " is not kept",
				ta ? to : from);
		goto out;
	}
	n = ctl_diff_texts(ta, tb, &items, err, sizeof(err));
	if (n < 0) {
		ctl_reply_error(c, 422, "invalid_config", "%s", err);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "from", (double)from);
	cJSON_AddNumberToObject(o, "to", (double)to);
	a = cJSON_AddArrayToObject(o, "changes");
	for (i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "key", items[i].key);
		if (items[i].from)
			cJSON_AddStringToObject(e, "from", items[i].from);
		else
			cJSON_AddNullToObject(e, "from");
		if (items[i].to)
			cJSON_AddStringToObject(e, "to", items[i].to);
		else
			cJSON_AddNullToObject(e, "to");
		cJSON_AddItemToArray(a, e);
	}
	ctl_diff_free(items, (size_t)n);
	ctl_reply_json(c, 200, o);
out:
	free(ta);
	free(tb);
}

static void h_rollback(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct config_errors errs = { 0 };
	char err[512], what[64];
	uint64_t id, gen = 0;
	int r;

	if (ctl_parse_rollback(req->body, req->body_len, &id, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_body", "%s", err);
		return;
	}
	/* cluster mode: one write through the store, which every replica applies */
	if (ctl_cluster_on()) {
		ctl_cluster_rollback(c, id);
		return;
	}
	r = ctl_rollback(id, &gen, &errs, err, sizeof(err));
	if (r == 422) {
		snprintf(what, sizeof(what), "generation %" PRIu64, id);
		reply_config_errors(c, what, &errs);
	} else if (r) {
		ctl_reply_error(c, r, r == 404 ? "unknown_generation" : r == 503 ? "unavailable" : "internal",
				"%s", err);
	} else {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "generation", (double)gen);
		cJSON_AddNumberToObject(o, "rolled_back_to", (double)id);
		ctl_reply_json(c, 200, o);
	}
	config_errors_clear(&errs);
}
