/* discovery.h: backends found at run time (Kubernetes EndpointSlices). They are not
 * operator intent: kept apart from the config file and the journal, and laid over every
 * generation the control plane builds, so reloads and rollbacks keep them. */
#ifndef FULCRUM_DISCOVERY_H
#define FULCRUM_DISCOVERY_H

#include <ev.h>

#include "config-t.h"
#include "k8s.h"

struct disc_pool;

/* ---- The layer (control/discovery.c): control thread only ---- */

/* How the layer's changes reach what runs: a generation built and published with the
 * layer as it is now (control/state.c's ctl_apply_discovered, handed down by
 * control/lifecycle.c), what naming the change for the log. 0, or -1 (logged). */
typedef int (*discovery_apply_fn)(const char *what);

/* Starts a watcher for every pool of cfg with discovery; apply publishes the layer's
 * changes. 0, or -1 (logged). */
int discovery_start(struct ev_loop *loop, const struct config *cfg, discovery_apply_fn apply);
/* After a reload or rollback applied cfg: watchers of pools whose discovery settings
 * changed start over (their backends stay until the new LIST replaces them), those of
 * pools that lost discovery stop and their backends go with the next generation. */
void discovery_sync(const struct config *cfg);
/* Stops every watcher (shutdown). */
void discovery_stop(void);
/* Adds the discovered backends of each pool to cfg (a copy the caller owns), after the
 * pool's own: a name the pool already has stays the operator's. 0, or -1 on ENOMEM. */
int discovery_layer(struct config *cfg);
/* 1 when some pool has discovered backends (so generations need the layer). */
int discovery_any(void);
/* "kubernetes" when pool/name is a discovered backend in the running generation. */
const char *discovery_source(const char *pool, const char *name);
/* The control API drains a discovered backend (a preStop hook): no new requests until
 * its endpoint goes. Publishes at once. 0, or -1 when pool/name is not discovered. */
int discovery_drain(const char *pool, const char *name);

/* Readiness: NULL when pool has no discovery or its watcher completed a first LIST
 * (it stays synced through later outages: the last known backends serve); else why
 * not, as text (the first LIST pending, or the last failure). */
const char *discovery_not_synced(const char *pool);

/* ---- The Kubernetes watcher (control/discovery_k8s.c) ---- */

struct k8s_watch;

/* What a watcher tells its pool's layer dp (control/discovery.c hands these down):
 * listed, a LIST completed (the first, or any); endpoints, the whole current endpoint
 * list (reduced: every address once). */
struct k8s_watch_report {
	void (*listed)(struct disc_pool *dp);
	void (*endpoints)(struct disc_pool *dp, const struct k8s_endpoint *eps, size_t n);
};

/* Starts LIST then WATCH of the EndpointSlices that k names, reporting to dp through
 * report. NULL (logged) when the settings cannot work (no API server known). */
struct k8s_watch *k8s_watch_start(struct ev_loop *loop, const struct cfg_kubernetes *k,
				  const char *pool, const struct k8s_watch_report *report,
				  struct disc_pool *dp);
void k8s_watch_stop(struct k8s_watch *w);
/* Why w has no LIST yet: the last failure, else that the first LIST is under way. */
const char *k8s_watch_pending(const struct k8s_watch *w);

#endif
