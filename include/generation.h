/* generation.h: one applied configuration with everything built from it (pools with
 * their backends, listening sockets), published to workers as an immutable,
 * reference-counted snapshot. Backends and listening sockets outlive generations. */
#ifndef FULCRUM_GENERATION_H
#define FULCRUM_GENERATION_H

#include <stdatomic.h>
#include <stdint.h>
#include "balance.h"
#include "config-t.h"
#include "error_pages.h"
#include "tls-t.h"

struct listener_stats;
struct route_share;

/* The listening sockets of one bind address: one SO_REUSEPORT socket per worker.
 * Opened by the control thread; each worker closes its own socket when a generation
 * without this listener reaches it. Kept across reloads when the bind stays. */
struct listen_group {
	atomic_int refs;         /* generations holding it */
	struct addr bind;
	int nfds;
	int *fds;                /* fds[w] belongs to worker w; -1 once that worker closed it */
	atomic_uint active;      /* client connections accepted through it, all workers */
};

/* A route's weighted split at run time: request n (counted across workers) takes the
 * pool whose share of [0, total) holds (n * stride) % total. stride is coprime with
 * total, so every total requests in a row take each pool exactly weight times, spread
 * through the run rather than in blocks. */
struct route_split {
	struct pool **pools;             /* parallel to the route's cfg split */
	uint32_t total;                  /* sum of the weights */
	uint32_t stride;
	atomic_uint_fast64_t seq;
};

struct gen_listener {
	const struct cfg_listener *cfg;  /* inside the generation's config */
	struct pool *pool;               /* inside the same generation; NULL when routes only */
	struct pool **route_pools;       /* per cfg->routes[i]: its pool, NULL for local answers */
	struct route_split *route_splits; /* per cfg->routes[i]; .pools NULL without a split */
	char hsts[80];                   /* Strict-Transport-Security value; "" = none */
	struct error_pages errors;       /* the listener's error pages, read from their files */
	struct route_stats **route_stats; /* per cfg->routes[i]: its per-worker counters (kept by
					   * name for the process's life, include/stats.h) */
	struct route_regex **route_res;  /* per cfg->routes[i]: its compiled path_regex or NULL;
					  * NULL when no route has one */
	struct route_index *route_index; /* cfg->routes by host and path (include/route_index.h);
					  * NULL without routes */
	struct route_share ***route_shares; /* per cfg->routes[i] with max_share or adaptive_limit:
					  * its share of each pool it sends to (pool: [0], split:
					  * parallel to it; include/route_share.h), else NULL;
					  * NULL when no route has one */
	struct listen_group *group;      /* holds a reference */
	struct tls_ctx *tls;             /* TLS setup (tls/tls_ctx.c), NULL = plain; reference held */
	struct listener_stats *stats;    /* per-worker counters of this listener name (include/stats.h) */
};

struct generation {
	atomic_int refs;
	uint64_t id;                     /* 1, 2, 3 ... in order of application */
	double applied_at;               /* wall clock seconds */
	struct config *cfg;              /* owned */
	struct pool *pools;              /* npools, parallel to cfg->pools */
	size_t npools;
	struct gen_listener *listeners;  /* nlisteners, parallel to cfg->listeners */
	size_t nlisteners;
};

/* Builds a generation from cfg (taking ownership of it on success). Backends that
 * prev has under the same pool, name and address are reused with their live
 * counters (their weight, max_conns and admin state updated from cfg); listening
 * groups for binds that prev has are reused, others are opened now for nworkers.
 * Returns NULL with a message in err on failure (cfg is then still the caller's,
 * and nothing of prev changed). */
struct generation *generation_build(struct config *cfg, const struct generation *prev,
				    int nworkers, uint64_t id, char *err, size_t errlen);

void generation_ref(struct generation *g);
void generation_unref(struct generation *g);

struct pool *generation_find_pool(struct generation *g, const char *name);

/* The listener of g that a connection accepted through old (a listener of an earlier
 * generation) belongs to now: the one on the same listening sockets, else the one of
 * the same name (its bind changed). NULL when g has neither (the listener was removed).
 * Used by client_follow_generation (lb/conn_generation.c) when a connection moves to g. */
struct gen_listener *generation_follow_listener(struct generation *g,
					       const struct gen_listener *old);

/* Opens one listening socket (SO_REUSEPORT, non-blocking, close-on-exec, IPV6_V6ONLY
 * for IPv6) on a. Returns the fd or -1 with errno set. */
int listen_socket_open(const struct addr *a, int backlog);

#endif
