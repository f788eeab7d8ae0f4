/* discovery.c: the discovered-backends layer: per pool, the endpoints its watcher
 * reported, their lifecycle (active, draining, gone until drained, removed), laid over
 * each generation built; changes batched into one generation per burst. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "config.h"
#include "ctl_api.h"
#include "discovery.h"
#include "log.h"
#include "worker.h"

#define SWEEP_S 0.25      /* how often gone backends are checked for being drained */

/* One discovered backend of a pool. */
struct disc_backend {
	char name[K8S_NAME_MAX];
	char ip[K8S_IP_MAX];
	uint16_t port;
	struct addr addr;
	enum k8s_ep_state want;      /* what the API server says now */
	int admin_drain;             /* the control API drained it (a preStop hook) */
	double gone_since;           /* ev_now when it went (want GONE); 0 = not gone */
	int shadowed;                /* the pool has an operator's backend of this name */
	int announced;               /* logged as added */
};

/* Discovery of one pool. */
struct disc_pool {
	struct disc_pool *next;
	char *pool;
	struct cfg_kubernetes k;     /* deep copy of the settings */
	struct k8s_watch *watch;
	struct disc_backend *b;
	size_t n, cap;
	int dirty;                   /* a change waits for the batch timer */
	int synced;                  /* a LIST completed once (for /readyz); stays set */
};

static struct disc_pool *pools;
static struct ev_loop *dloop;
static discovery_apply_fn apply; /* publishes the layer's changes (control/state.c) */
static ev_timer batch_timer;     /* one generation per burst of changes */
static ev_timer sweep_timer;     /* gone backends: drained yet? */

static struct disc_pool *pool_new(const struct cfg_pool *cp);
static void pool_free(struct disc_pool *dp);
static int k8s_copy(struct cfg_kubernetes *dst, const struct cfg_kubernetes *src);
static void k8s_clear(struct cfg_kubernetes *k);
static int k8s_same(const struct cfg_kubernetes *a, const struct cfg_kubernetes *b);
static int str_same(const char *a, const char *b);
static struct disc_backend *find_addr(struct disc_pool *dp, const char *ip, uint16_t port);
static struct disc_backend *find_name(struct disc_pool *dp, const char *name);
static int add_backend(struct disc_pool *dp, const struct k8s_endpoint *e);
static void remove_at(struct disc_pool *dp, size_t i);
static void mark_dirty(struct disc_pool *dp);
static void on_batch(struct ev_loop *loop, ev_timer *t, int revents);
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents);
static enum admin_state admin_of(const struct disc_backend *d);
static const char *state_name(enum k8s_ep_state s);
static void discovery_listed(struct disc_pool *dp);
static void discovery_set_endpoints(struct disc_pool *dp, const struct k8s_endpoint *eps,
				    size_t n);

/* What the watchers report, to the pool they watch for. */
static const struct k8s_watch_report report = {
	.listed = discovery_listed,
	.endpoints = discovery_set_endpoints,
};

static int str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int k8s_same(const struct cfg_kubernetes *a, const struct cfg_kubernetes *b)
{
	return str_same(a->namespace, b->namespace) && str_same(a->service, b->service) &&
	       a->port == b->port && str_same(a->port_name, b->port_name) &&
	       str_same(a->api_server, b->api_server) && str_same(a->sa_dir, b->sa_dir) &&
	       a->address_family == b->address_family;
}

static void k8s_clear(struct cfg_kubernetes *k)
{
	free(k->namespace);
	free(k->service);
	free(k->port_name);
	free(k->api_server);
	free(k->sa_dir);
	memset(k, 0, sizeof(*k));
}

static int k8s_copy(struct cfg_kubernetes *dst, const struct cfg_kubernetes *src)
{
	*dst = *src;
	dst->namespace = src->namespace ? strdup(src->namespace) : NULL;
	dst->service = src->service ? strdup(src->service) : NULL;
	dst->port_name = src->port_name ? strdup(src->port_name) : NULL;
	dst->api_server = src->api_server ? strdup(src->api_server) : NULL;
	dst->sa_dir = src->sa_dir ? strdup(src->sa_dir) : NULL;
	if ((src->namespace && !dst->namespace) || (src->service && !dst->service) ||
	    (src->port_name && !dst->port_name) || (src->api_server && !dst->api_server) ||
	    (src->sa_dir && !dst->sa_dir)) {
		k8s_clear(dst);
		return -1;
	}
	return 0;
}

static struct disc_pool *pool_new(const struct cfg_pool *cp)
{
	struct disc_pool *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	dp->pool = strdup(cp->name);
	if (!dp->pool || k8s_copy(&dp->k, cp->discovery.kubernetes) == -1) {
		free(dp->pool);
		free(dp);
		return NULL;
	}
	dp->watch = k8s_watch_start(dloop, &dp->k, dp->pool, &report, dp);
	return dp;
}

static void pool_free(struct disc_pool *dp)
{
	if (dp->watch)
		k8s_watch_stop(dp->watch);
	k8s_clear(&dp->k);
	free(dp->b);
	free(dp->pool);
	free(dp);
}

int discovery_start(struct ev_loop *loop, const struct config *cfg, discovery_apply_fn apply_fn)
{
	dloop = loop;
	apply = apply_fn;
	ev_timer_init(&batch_timer, on_batch, 0., 0.);
	ev_timer_init(&sweep_timer, on_sweep, SWEEP_S, SWEEP_S);
	discovery_sync(cfg);
	return 0;
}

void discovery_sync(const struct config *cfg)
{
	struct disc_pool **pp = &pools, *dp;
	size_t i;

	if (!dloop)
		return;
	/* pools that lost discovery, or whose settings changed */
	while ((dp = *pp)) {
		const struct cfg_pool *cp = config_find_pool(cfg, dp->pool);
		const struct cfg_kubernetes *k = cp ? cp->discovery.kubernetes : NULL;

		if (k && k8s_same(k, &dp->k)) {
			/* weight, max_conns and batch_ms apply with the next generation */
			dp->k.weight = k->weight;
			dp->k.max_conns = k->max_conns;
			dp->k.batch_ms = k->batch_ms;
			dp->k.backoff_max_ms = k->backoff_max_ms;
			dp->k.watch_idle_timeout_s = k->watch_idle_timeout_s;
			pp = &dp->next;
			continue;
		}
		if (k) {
			/* new settings: a new watch; the backends stay until its LIST says */
			log_info("discovery: pool %s: kubernetes settings changed; watching anew",
				 dp->pool);
			k8s_watch_stop(dp->watch);
			k8s_clear(&dp->k);
			if (k8s_copy(&dp->k, k) == 0)
				dp->watch = k8s_watch_start(dloop, &dp->k, dp->pool, &report, dp);
			else
				dp->watch = NULL;
			pp = &dp->next;
			continue;
		}
		log_info("discovery: pool %s: discovery is off now (%zu discovered backend%s dropped)",
			 dp->pool, dp->n, dp->n == 1 ? "" : "s");
		*pp = dp->next;
		pool_free(dp);
	}
	for (i = 0; i < cfg->npools; i++) {
		const struct cfg_pool *cp = &cfg->pools[i];

		if (!cp->discovery.kubernetes)
			continue;
		for (dp = pools; dp && strcmp(dp->pool, cp->name); dp = dp->next)
			;
		if (dp)
			continue;
		dp = pool_new(cp);
		if (!dp) {
			log_error("discovery: pool %s: out of memory", cp->name);
			continue;
		}
		dp->next = pools;
		pools = dp;
	}
}

void discovery_stop(void)
{
	struct disc_pool *dp;

	if (!dloop)
		return;
	ev_timer_stop(dloop, &batch_timer);
	ev_timer_stop(dloop, &sweep_timer);
	while ((dp = pools)) {
		pools = dp->next;
		pool_free(dp);
	}
	dloop = NULL;
}

int discovery_any(void)
{
	struct disc_pool *dp;

	for (dp = pools; dp; dp = dp->next)
		if (dp->n)
			return 1;
	return 0;
}

static enum admin_state admin_of(const struct disc_backend *d)
{
	return d->want == K8S_EP_ACTIVE && !d->admin_drain ? ADMIN_ACTIVE : ADMIN_DRAINING;
}

static const char *state_name(enum k8s_ep_state s)
{
	return s == K8S_EP_ACTIVE ? "ready" : s == K8S_EP_DRAINING ? "terminating" : "gone";
}

int discovery_layer(struct config *cfg)
{
	struct disc_pool *dp;
	struct cfg_backend b;
	size_t i;

	for (dp = pools; dp; dp = dp->next) {
		if (!ctl_config_pool(cfg, dp->pool))
			continue;
		for (i = 0; i < dp->n; i++) {
			struct disc_backend *d = &dp->b[i];

			d->shadowed = ctl_config_backend(cfg, dp->pool, d->name) != NULL;
			if (d->shadowed)
				continue;
			if (config_backend_init(&b) == -1 || !(b.name = strdup(d->name))) {
				config_backend_clear(&b);
				return -1;
			}
			b.address = d->addr;
			b.weight = dp->k.weight;
			b.max_conns = dp->k.max_conns;
			b.state = admin_of(d);
			if (ctl_config_set_backend(cfg, dp->pool, &b) == -1) {
				config_backend_clear(&b);
				return -1;
			}
		}
	}
	return 0;
}

const char *discovery_source(const char *pool, const char *name)
{
	struct disc_pool *dp;
	struct disc_backend *d;

	for (dp = pools; dp; dp = dp->next)
		if (!strcmp(dp->pool, pool) && (d = find_name(dp, name)) && !d->shadowed)
			return "kubernetes";
	return NULL;
}

int discovery_drain(const char *pool, const char *name)
{
	struct disc_pool *dp;
	struct disc_backend *d = NULL;
	char what[160];

	for (dp = pools; dp && !d; dp = dp->next)
		if (!strcmp(dp->pool, pool))
			d = find_name(dp, name);
	if (!d || d->shadowed)
		return -1;
	if (d->admin_drain)
		return 0;
	d->admin_drain = 1;
	snprintf(what, sizeof(what), "API drain of %s/%s", pool, name);
	apply(what);
	return 0;
}

const char *discovery_not_synced(const char *pool)
{
	struct disc_pool *dp;

	for (dp = pools; dp; dp = dp->next) {
		if (strcmp(dp->pool, pool))
			continue;
		if (dp->synced)
			return NULL;
		return dp->watch ? k8s_watch_pending(dp->watch)
				 : "the watcher could not start (see the log)";
	}
	return NULL;
}

/* From a watcher: its pool's first (or any) LIST completed. */
static void discovery_listed(struct disc_pool *dp)
{
	if (!dp->synced)
		log_info("discovery: pool %s: first LIST complete (synced)", dp->pool);
	dp->synced = 1;
}

static struct disc_backend *find_addr(struct disc_pool *dp, const char *ip, uint16_t port)
{
	size_t i;

	for (i = 0; i < dp->n; i++)
		if (dp->b[i].port == port && !strcmp(dp->b[i].ip, ip))
			return &dp->b[i];
	return NULL;
}

static struct disc_backend *find_name(struct disc_pool *dp, const char *name)
{
	size_t i;

	for (i = 0; i < dp->n; i++)
		if (!strcmp(dp->b[i].name, name))
			return &dp->b[i];
	return NULL;
}

/* A new endpoint becomes a backend; a name already used by another address (a
 * StatefulSet pod back with a new address while the old one drains) falls back to
 * one made of the address. 0, or -1. */
static int add_backend(struct disc_pool *dp, const struct k8s_endpoint *e)
{
	struct disc_backend *d;
	char text[K8S_IP_MAX + 16], err[256];

	if (ARRAY_GROW(&dp->b, &dp->cap, dp->n + 1, 16) == -1)
		return -1;
	d = &dp->b[dp->n];
	memset(d, 0, sizeof(*d));
	snprintf(text, sizeof(text), strchr(e->ip, ':') ? "[%s]:%u" : "%s:%u", e->ip,
		 (unsigned)e->port);
	/* a literal: parsing resolves nothing, the control loop does not block */
	if (addr_parse(text, &d->addr, 1, err, sizeof(err)) == -1) {
		log_warn("discovery: pool %s: endpoint %s left out: %s", dp->pool, text, err);
		return -1;
	}
	snprintf(d->name, sizeof(d->name), "%s", e->name);
	if (find_name(dp, d->name))
		k8s_endpoint_fallback_name(e->ip, e->port, d->name);
	snprintf(d->ip, sizeof(d->ip), "%s", e->ip);
	d->port = e->port;
	d->want = e->state;
	dp->n++;
	return 0;
}

static void remove_at(struct disc_pool *dp, size_t i)
{
	memmove(&dp->b[i], &dp->b[i + 1], (dp->n - i - 1) * sizeof(dp->b[0]));
	dp->n--;
}

static void mark_dirty(struct disc_pool *dp)
{
	dp->dirty = 1;
	if (!ev_is_active(&batch_timer)) {
		ev_timer_set(&batch_timer, dp->k.batch_ms / 1000.0, 0.);
		ev_timer_start(dloop, &batch_timer);
	}
}

/* From a watcher: the whole current endpoint list of its pool (reduced: every address
 * once). Endpoints that are not in it any more drain, then leave. Changes are applied
 * as one generation per batch_ms. */
static void discovery_set_endpoints(struct disc_pool *dp, const struct k8s_endpoint *eps,
				    size_t n)
{
	double now = ev_now(dloop);
	size_t i, k;
	int changed = 0, gone = 0;

	for (i = 0; i < n; i++) {
		const struct k8s_endpoint *e = &eps[i];
		struct disc_backend *d = find_addr(dp, e->ip, e->port);

		if (!d) {
			/* a pod that is not ready yet (or already leaving) is nothing to us */
			if (e->state != K8S_EP_ACTIVE)
				continue;
			if (add_backend(dp, e) == 0) {
				log_info("discovery: pool %s: %s (%s) is ready: added", dp->pool,
					 dp->b[dp->n - 1].name, dp->b[dp->n - 1].addr.text);
				changed = 1;
			}
			continue;
		}
		if (d->want == e->state)
			continue;
		log_info("discovery: pool %s: %s (%s) is %s%s", dp->pool, d->name, d->addr.text,
			 state_name(e->state),
			 e->state == K8S_EP_ACTIVE ? ": in rotation" :
			 e->state == K8S_EP_DRAINING ? ": draining" : ": draining, then removed");
		d->want = e->state;
		d->gone_since = e->state == K8S_EP_GONE ? now : 0;
		changed = 1;
	}
	/* backends whose endpoint is not listed any more */
	for (k = 0; k < dp->n; k++) {
		struct disc_backend *d = &dp->b[k];
		int listed = 0;

		for (i = 0; i < n && !listed; i++)
			listed = eps[i].port == d->port && !strcmp(eps[i].ip, d->ip);
		if (!listed && d->want != K8S_EP_GONE) {
			log_info("discovery: pool %s: %s (%s) is gone: draining, then removed",
				 dp->pool, d->name, d->addr.text);
			d->want = K8S_EP_GONE;
			d->gone_since = now;
			changed = 1;
		}
		gone |= d->want == K8S_EP_GONE;
	}
	if (gone && !ev_is_active(&sweep_timer))
		ev_timer_start(dloop, &sweep_timer);
	if (changed)
		mark_dirty(dp);
}

/* Gone backends leave once no request is left on them, or after the pool's
 * drain_timeout_s, when the workers cut what is still on them (their drain deadline). */
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct generation *g = proc_current_generation();
	struct disc_pool *dp;
	double now = ev_now(loop);
	int left = 0;
	size_t i;

	for (dp = pools; dp; dp = dp->next) {
		struct pool *p = g ? generation_find_pool(g, dp->pool) : NULL;
		double timeout = p ? p->cfg->drain_timeout_s : 30;

		for (i = 0; i < dp->n;) {
			struct disc_backend *d = &dp->b[i];
			struct backend *b;
			unsigned active;

			if (d->want != K8S_EP_GONE) {
				i++;
				continue;
			}
			b = d->shadowed ? NULL : ctl_live_backend(g, dp->pool, d->name);
			active = b ? atomic_load(&b->active) : 0;
			/* published as draining first, so no new request can start meanwhile */
			if (b && atomic_load(&b->admin) != ADMIN_DRAINING) {
				left = 1;
				i++;
				continue;
			}
			if (active && now - d->gone_since < timeout) {
				left = 1;
				i++;
				continue;
			}
			log_info("discovery: pool %s: %s (%s) removed (%s)", dp->pool, d->name,
				 d->addr.text, active ? "drain_timeout_s passed" : "drained");
			remove_at(dp, i);
			mark_dirty(dp);
		}
	}
	generation_unref(g);
	if (!left)
		ev_timer_stop(loop, t);
}

static void on_batch(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct disc_pool *dp;
	char what[200] = "";
	size_t used = 0;

	for (dp = pools; dp; dp = dp->next) {
		if (!dp->dirty)
			continue;
		dp->dirty = 0;
		if (used < sizeof(what))
			used += (size_t)snprintf(what + used, sizeof(what) - used,
						 "%skubernetes service %s of pool %s", used ? ", " : "",
						 dp->k.service, dp->pool);
	}
	if (!used)
		return;
	apply(what);
}
