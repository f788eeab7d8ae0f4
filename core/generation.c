/* generation.c: building a generation from a validated config: pools, backends that
 * carry over from the previous generation, and the listening sockets per worker. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache_store.h"
#include "clock.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "route.h"
#include "route_index.h"
#include "route_share.h"
#include "stats.h"
#include "tls.h"

static struct backend *find_backend(const struct generation *g, const char *pool,
				    const struct cfg_backend *cb);
static struct listen_group *find_group(const struct generation *g, const struct addr *bind);
static struct listen_group *listen_group_open(const struct addr *bind, int nworkers,
					      char *err, size_t errlen);
static void listen_group_unref(struct listen_group *lg);
static int build_pool(struct pool *p, const struct cfg_pool *cp, const struct generation *prev);
static void free_pools(struct pool *pools, size_t n);
static int compile_route_regexes(struct gen_listener *gl, char *err, size_t errlen);
static void free_route_regexes(struct gen_listener *gl);
static int route_shares_build(struct gen_listener *gl);
static void route_shares_free(struct gen_listener *gl);
static void route_shares_configure(struct gen_listener *gl);
static struct tls_ctx *find_tls(const struct generation *g, const char *listener);

int listen_socket_open(const struct addr *a, int backlog)
{
	int fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	/* a "[::]:80" listener should not silently take IPv4 too: say so in config */
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		goto fail;
	if (listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	{
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

static struct listen_group *listen_group_open(const struct addr *bind, int nworkers,
					      char *err, size_t errlen)
{
	struct listen_group *lg;
	int w;

	lg = calloc(1, sizeof(*lg));
	if (!lg)
		goto nomem;
	lg->fds = malloc(sizeof(int) * nworkers);
	if (!lg->fds)
		goto nomem;
	lg->bind = *bind;
	lg->nfds = nworkers;
	atomic_init(&lg->refs, 1);
	for (w = 0; w < nworkers; w++)
		lg->fds[w] = -1;
	for (w = 0; w < nworkers; w++) {
		lg->fds[w] = listen_socket_open(bind, 4096);
		if (lg->fds[w] == -1) {
			snprintf(err, errlen, "cannot listen on %s: %s", bind->text, strerror(errno));
			listen_group_unref(lg);
			return NULL;
		}
	}
	return lg;
nomem:
	if (lg)
		free(lg->fds);
	free(lg);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static void listen_group_unref(struct listen_group *lg)
{
	int w;

	if (!lg || atomic_fetch_sub(&lg->refs, 1) != 1)
		return;
	/* sockets a worker never took over (refused reload, shutdown) close here */
	for (w = 0; w < lg->nfds; w++)
		if (lg->fds[w] != -1)
			close(lg->fds[w]);
	free(lg->fds);
	free(lg);
}

static struct listen_group *find_group(const struct generation *g, const struct addr *bind)
{
	size_t i;

	if (!g)
		return NULL;
	for (i = 0; i < g->nlisteners; i++)
		if (addr_equal(&g->listeners[i].group->bind, bind))
			return g->listeners[i].group;
	return NULL;
}

/* The TLS setup of the listener named name in g: what a reload carries over. */
static struct tls_ctx *find_tls(const struct generation *g, const char *name)
{
	size_t i;

	for (i = 0; g && i < g->nlisteners; i++)
		if (g->listeners[i].tls && !strcmp(g->listeners[i].cfg->name, name))
			return g->listeners[i].tls;
	return NULL;
}

static struct backend *find_backend(const struct generation *g, const char *pool,
				    const struct cfg_backend *cb)
{
	size_t i, j;

	if (!g)
		return NULL;
	for (i = 0; i < g->npools; i++) {
		const struct pool *p = &g->pools[i];
		if (strcmp(p->name, pool))
			continue;
		for (j = 0; j < p->nbackends; j++) {
			struct backend *b = p->backends[j];
			if (!strcmp(b->name, cb->name) && addr_equal(&b->addr, &cb->address))
				return b;
		}
	}
	return NULL;
}

/* The cache store of pool cp: the previous generation's of the same name while its
 * limits are the same (what it holds stays valid: the keys and freshness do not depend
 * on the other keys), else a new one. NULL and 0 without a cache; -1 out of memory. */
static int pool_cache(struct pool *p, const struct cfg_pool *cp, const struct generation *prev)
{
	struct cache_limits lim;
	size_t i;

	p->cache = NULL;
	if (!cp->cache)
		return 0;
	lim.memory_bytes = cp->cache->memory_bytes;
	lim.max_object_bytes = cp->cache->max_object_bytes;
	for (i = 0; prev && i < prev->npools; i++) {
		const struct pool_cache *s = prev->pools[i].cache;

		if (s && !strcmp(prev->pools[i].name, cp->name) &&
		    cache_store_limits(s)->memory_bytes == lim.memory_bytes &&
		    cache_store_limits(s)->max_object_bytes == lim.max_object_bytes) {
			cache_store_ref(prev->pools[i].cache);
			p->cache = prev->pools[i].cache;
			return 0;
		}
	}
	p->cache = cache_store_new(&lim);
	return p->cache ? 0 : -1;
}

static int build_pool(struct pool *p, const struct cfg_pool *cp, const struct generation *prev)
{
	size_t i;

	p->name = cp->name;
	p->cfg = cp;
	p->algo = cp->balance;
	atomic_init(&p->rr_next, 0);
	atomic_init(&p->waiting, 0);
	p->nbackends = 0;
	p->backends = calloc(cp->nbackends ? cp->nbackends : 1, sizeof(*p->backends));
	p->stats = stats_pool_blocks(cp->name);
	if (!p->backends || !p->stats || pool_cache(p, cp, prev) == -1)
		return -1;
	for (i = 0; i < cp->nbackends; i++) {
		struct backend *b = find_backend(prev, cp->name, &cp->backends[i]);
		if (b) {
			backend_ref(b);
			/* applied at commit time, see generation_commit_backends() */
		} else {
			b = backend_new(&cp->backends[i], cp->name);
			if (!b)
				return -1;
		}
		p->backends[p->nbackends++] = b;
	}
	return 0;
}

/* Compiles the path_regex of each of gl's routes once for the generation's life (the
 * loader checked that they compile). Leaves gl->route_res NULL when no route has one,
 * so the matcher skips them at no cost. Returns 0 or -1 with err. */
static int compile_route_regexes(struct gen_listener *gl, char *err, size_t errlen)
{
	size_t r, n = gl->cfg->nroutes;

	for (r = 0; r < n && !gl->cfg->routes[r].path_regex; r++)
		;
	if (r == n)
		return 0;
	gl->route_res = calloc(n, sizeof(*gl->route_res));
	if (!gl->route_res) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (r = 0; r < n; r++)
		if (gl->cfg->routes[r].path_regex &&
		    !(gl->route_res[r] = route_regex_compile(gl->cfg->routes[r].path_regex, err, errlen)))
			return -1;
	return 0;
}

static void free_route_regexes(struct gen_listener *gl)
{
	size_t r;

	if (!gl->route_res)
		return;
	for (r = 0; r < gl->cfg->nroutes; r++)
		route_regex_free(gl->route_res[r]);
	free(gl->route_res);
	gl->route_res = NULL;
}

static void free_pools(struct pool *pools, size_t n)
{
	size_t i, j;

	if (!pools)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < pools[i].nbackends; j++)
			backend_unref(pools[i].backends[j]);
		free(pools[i].backends);
		cache_store_unref(pools[i].cache);
	}
	free(pools);
}

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* The run-time side of gl's routes' splits (struct route_split). 0, or -1 out of
 * memory (what was made is freed by route_splits_free). */
static int route_splits_build(struct generation *g, struct gen_listener *gl)
{
	static const unsigned strides[] = { 7919, 104729, 1299709, 15485863 };
	size_t r, k, j;

	gl->route_splits = calloc(gl->cfg->nroutes, sizeof(*gl->route_splits));
	if (!gl->route_splits)
		return -1;
	for (r = 0; r < gl->cfg->nroutes; r++) {
		const struct cfg_route *cr = &gl->cfg->routes[r];
		struct route_split *rs = &gl->route_splits[r];

		if (!cr->nsplit)
			continue;
		rs->pools = calloc(cr->nsplit, sizeof(*rs->pools));
		if (!rs->pools)
			return -1;
		for (k = 0; k < cr->nsplit; k++) {
			rs->pools[k] = generation_find_pool(g, cr->split[k].pool);
			rs->total += cr->split[k].weight;
		}
		rs->stride = 1;
		for (j = 0; j < sizeof(strides) / sizeof(strides[0]); j++)
			if (gcd(strides[j] % rs->total, rs->total) == 1) {
				rs->stride = strides[j] % rs->total;
				break;
			}
		atomic_init(&rs->seq, 0);
	}
	return 0;
}

static void route_splits_free(struct gen_listener *gl)
{
	size_t r;

	for (r = 0; gl->route_splits && r < gl->cfg->nroutes; r++)
		free(gl->route_splits[r].pools);
	free(gl->route_splits);
	gl->route_splits = NULL;
}

/* The shares (include/route_share.h) of gl's routes that have max_share or
 * adaptive_limit, found by name: gl->route_shares stays NULL when none has. 0, or -1
 * out of memory (what was made is freed by route_shares_free). */
static int route_shares_build(struct gen_listener *gl)
{
	size_t r, k;

	for (r = 0; r < gl->cfg->nroutes; r++) {
		const struct cfg_route *cr = &gl->cfg->routes[r];
		size_t n = cr->nsplit ? cr->nsplit : 1;

		if (!cr->max_share && !cr->adaptive_limit)
			continue;
		if (!gl->route_shares && !(gl->route_shares = calloc(gl->cfg->nroutes, sizeof(*gl->route_shares))))
			return -1;
		if (!(gl->route_shares[r] = calloc(n, sizeof(*gl->route_shares[r]))))
			return -1;
		for (k = 0; k < n; k++)
			if (!(gl->route_shares[r][k] = route_share_get(gl->cfg->name, cr->name,
								       cr->nsplit ? cr->split[k].pool : cr->pool)))
				return -1;
	}
	return 0;
}

static void route_shares_free(struct gen_listener *gl)
{
	size_t r;

	for (r = 0; gl->route_shares && r < gl->cfg->nroutes; r++)
		free(gl->route_shares[r]);
	free(gl->route_shares);
	gl->route_shares = NULL;
}

/* Carries gl's routes' max_share and adaptive_limit into their shares (once the
 * generation cannot fail any more, as backends get their settings). */
static void route_shares_configure(struct gen_listener *gl)
{
	size_t r, k;

	for (r = 0; gl->route_shares && r < gl->cfg->nroutes; r++) {
		const struct cfg_route *cr = &gl->cfg->routes[r];

		for (k = 0; gl->route_shares[r] && k < (cr->nsplit ? cr->nsplit : 1); k++)
			route_share_configure(gl->route_shares[r][k], cr->max_share, cr->adaptive_limit);
	}
}

struct generation *generation_build(struct config *cfg, const struct generation *prev,
				    int nworkers, uint64_t id, char *err, size_t errlen)
{
	struct generation *g;
	size_t i, j;

	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->id = id;
	g->applied_at = clock_wall_s();
	g->pools = calloc(cfg->npools ? cfg->npools : 1, sizeof(*g->pools));
	g->listeners = calloc(cfg->nlisteners ? cfg->nlisteners : 1, sizeof(*g->listeners));
	if (!g->pools || !g->listeners) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < cfg->npools; i++) {
		g->npools++;
		if (build_pool(&g->pools[i], &cfg->pools[i], prev) == -1) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	for (i = 0; i < cfg->nlisteners; i++) {
		struct gen_listener *gl = &g->listeners[i];
		struct listen_group *lg = find_group(prev, &cfg->listeners[i].bind);

		gl->cfg = &cfg->listeners[i];
		gl->stats = stats_listener_blocks(gl->cfg->name);
		if (!gl->stats) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (lg && lg->nfds == nworkers) {
			atomic_fetch_add(&lg->refs, 1);
		} else {
			lg = listen_group_open(&cfg->listeners[i].bind, nworkers, err, errlen);
			if (!lg)
				goto fail;
		}
		gl->group = lg;
		g->nlisteners++;
		for (j = 0; gl->cfg->pool && j < g->npools; j++)
			if (!strcmp(g->pools[j].name, gl->cfg->pool))
				gl->pool = &g->pools[j];
		/* a missing or oversized page refuses the generation, as a certificate does */
		if (error_pages_load(gl->cfg, &gl->errors, err, errlen) == -1)
			goto fail;
		if (gl->cfg->hsts_max_age_s)
			snprintf(gl->hsts, sizeof(gl->hsts), "max-age=%u%s%s", gl->cfg->hsts_max_age_s,
				 gl->cfg->hsts_include_subdomains ? "; includeSubDomains" : "",
				 gl->cfg->hsts_preload ? "; preload" : "");
		if (gl->cfg->nroutes) {
			size_t r;
			gl->route_pools = calloc(gl->cfg->nroutes, sizeof(*gl->route_pools));
			gl->route_stats = calloc(gl->cfg->nroutes, sizeof(*gl->route_stats));
			if (!gl->route_pools || !gl->route_stats) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			for (r = 0; r < gl->cfg->nroutes; r++) {
				gl->route_pools[r] = gl->cfg->routes[r].pool
					? generation_find_pool(g, gl->cfg->routes[r].pool) : NULL;
				gl->route_stats[r] = stats_route_blocks(gl->cfg->name, gl->cfg->routes[r].name);
				if (!gl->route_stats[r]) {
					snprintf(err, errlen, "out of memory");
					goto fail;
				}
			}
			if (route_splits_build(g, gl) == -1 || route_shares_build(gl) == -1) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			if (compile_route_regexes(gl, err, errlen) == -1 ||
			    !(gl->route_index = route_index_build(gl->cfg->routes, gl->cfg->nroutes, err, errlen)))
				goto fail;
		}
		/* certificates are read now: a missing or mismatched file refuses the whole
		 * generation, and the running one keeps serving its certificates */
		if (gl->cfg->tls &&
		    !(gl->tls = tls_ctx_build(cfg, gl->cfg, find_tls(prev, gl->cfg->name), err, errlen)))
			goto fail;
	}
	/* Only now that nothing can fail: carry the new settings into reused backends. */
	for (i = 0; i < g->npools; i++)
		for (j = 0; j < g->pools[i].nbackends; j++) {
			backend_apply_config(g->pools[i].backends[j], &cfg->pools[i].backends[j],
					     cfg->pools[i].drain_timeout_s);
			backend_set_adaptive(g->pools[i].backends[j], cfg->pools[i].adaptive_limit);
		}
	for (i = 0; i < g->nlisteners; i++)
		route_shares_configure(&g->listeners[i]);
	g->cfg = cfg;
	return g;
fail:
	for (i = 0; i < g->nlisteners; i++) {
		listen_group_unref(g->listeners[i].group);
		tls_ctx_unref(g->listeners[i].tls);
		free(g->listeners[i].route_pools);
		route_splits_free(&g->listeners[i]);
		route_shares_free(&g->listeners[i]);
		error_pages_free(&g->listeners[i].errors);
		free(g->listeners[i].route_stats);
		free_route_regexes(&g->listeners[i]);
		route_index_free(g->listeners[i].route_index);
	}
	free(g->listeners);
	free_pools(g->pools, g->npools);
	free(g);
	return NULL;
}

void generation_ref(struct generation *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void generation_unref(struct generation *g)
{
	size_t i;

	if (!g || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < g->nlisteners; i++) {
		listen_group_unref(g->listeners[i].group);
		tls_ctx_unref(g->listeners[i].tls);
		free(g->listeners[i].route_pools);
		route_splits_free(&g->listeners[i]);
		route_shares_free(&g->listeners[i]);
		error_pages_free(&g->listeners[i].errors);
		free(g->listeners[i].route_stats);
		free_route_regexes(&g->listeners[i]);
		route_index_free(g->listeners[i].route_index);
	}
	free(g->listeners);
	free_pools(g->pools, g->npools);
	config_free(g->cfg);
	free(g);
}

struct gen_listener *generation_follow_listener(struct generation *g,
					       const struct gen_listener *old)
{
	size_t i;

	/* the same sockets first: a renamed listener on the same bind is still the one
	 * the connection came in through */
	for (i = 0; i < g->nlisteners; i++)
		if (g->listeners[i].group == old->group)
			return &g->listeners[i];
	for (i = 0; i < g->nlisteners; i++)
		if (!strcmp(g->listeners[i].cfg->name, old->cfg->name))
			return &g->listeners[i];
	return NULL;
}

struct pool *generation_find_pool(struct generation *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->npools; i++)
		if (!strcmp(g->pools[i].name, name))
			return &g->pools[i];
	return NULL;
}
