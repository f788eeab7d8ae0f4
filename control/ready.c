/* ready.c: the readiness verdict behind /readyz: a replica is ready when it can serve
 * what it listens for (a backend in rotation behind every listener, discovery listed,
 * in cluster mode the store's state applied). */
#include <stdio.h>
#include <string.h>

#include "cluster_replica.h"
#include "ctl_api.h"
#include "ctl_ready.h"
#include "discovery.h"
#include "worker.h"

static int add_reason(cJSON *reasons, const char *pool, const char *listener,
		      const char *reason, const char *detail);
static int pool_serves(const struct pool *p);

/* One entry of "reasons". 0, or -1 on ENOMEM. */
static int add_reason(cJSON *reasons, const char *pool, const char *listener,
		      const char *reason, const char *detail)
{
	cJSON *r = cJSON_CreateObject();

	if (!r || !cJSON_AddItemToArray(reasons, r))
		goto fail;
	if (pool && !cJSON_AddStringToObject(r, "pool", pool))
		return -1;
	if (listener && !cJSON_AddStringToObject(r, "listener", listener))
		return -1;
	if (!cJSON_AddStringToObject(r, "reason", reason) ||
	    !cJSON_AddStringToObject(r, "detail", detail))
		return -1;
	return 0;
fail:
	cJSON_Delete(r);
	return -1;
}

/* 1 when some backend of p takes new requests (admin active, health up, weight > 0)
 * and passes its health: one that health would have taken out but the guard keeps in
 * (the last in rotation: hs.kept) still gets requests, so the pool answers them as well
 * as it can, yet this replica cannot serve them and says so. */
static int pool_serves(const struct pool *p)
{
	size_t i;

	for (i = 0; i < p->nbackends; i++)
		if (ctl_in_rotation(p->backends[i]) && !atomic_load(&p->backends[i]->hs.kept))
			return 1;
	return 0;
}

cJSON *ctl_ready_json(int *ready)
{
	struct generation *g = proc_current_generation();
	cJSON *o = cJSON_CreateObject(), *reasons = cJSON_CreateArray();
	char detail[320];
	size_t i, k;
	int bad = 0;

	*ready = 0;
	if (!o || !reasons)
		goto fail;
	if (ctl_plane.stopping) {
		bad |= add_reason(reasons, NULL, NULL, "stopping", "SIGTERM received: shutting down");
	} else if (!g) {
		bad |= add_reason(reasons, NULL, NULL, "no_config", "no configuration applied yet");
	} else {
		/* cluster mode: the state is the store's, not yet applied here (nor a copy) */
		if (!ctl_cluster_ready(detail, sizeof(detail)))
			bad |= add_reason(reasons, NULL, NULL, "cluster_not_synced", detail);
		/* a pool not listed yet is empty for that reason */
		for (i = 0; i < g->cfg->npools; i++) {
			const char *why = g->cfg->pools[i].discovery.kubernetes
						  ? discovery_not_synced(g->cfg->pools[i].name) : NULL;

			if (!why)
				continue;
			snprintf(detail, sizeof(detail), "Kubernetes discovery has not listed the "
				 "Service yet: %s", why);
			bad |= add_reason(reasons, g->cfg->pools[i].name, NULL, "discovery_not_synced",
					  detail);
		}
		for (i = 0; i < g->nlisteners; i++) {
			const struct gen_listener *l = &g->listeners[i];

			/* a pool behind two listeners is reported once */
			for (k = 0; k < i && g->listeners[k].pool != l->pool; k++)
				;
			if (k < i || !l->pool || l->pool->cfg->allow_empty || pool_serves(l->pool))
				continue;
			snprintf(detail, sizeof(detail), "%s: %zu backend%s, none in rotation "
				 "(active and passing its health); set allow_empty = true on the pool to "
				 "be ready without", l->pool->nbackends ? "no backend takes requests"
				 : "the pool is empty", l->pool->nbackends,
				 l->pool->nbackends == 1 ? "" : "s");
			bad |= add_reason(reasons, l->pool->name, l->cfg->name,
					  l->pool->nbackends ? "no_backend_in_rotation" : "empty_pool",
					  detail);
		}
	}
	generation_unref(g);
	g = NULL;
	if (bad)
		goto fail;
	*ready = cJSON_GetArraySize(reasons) == 0;
	if (!cJSON_AddStringToObject(o, "status", *ready ? "ready" :
				     ctl_plane.stopping ? "stopping" : "not_ready"))
		goto fail;
	if (*ready) {
		cJSON_Delete(reasons);
	} else if (!cJSON_AddItemToObject(o, "reasons", reasons)) {
		cJSON_Delete(reasons);
		cJSON_Delete(o);
		*ready = 0;
		return NULL;
	}
	return o;
fail:
	generation_unref(g);
	cJSON_Delete(reasons);
	cJSON_Delete(o);
	*ready = 0;
	return NULL;
}
