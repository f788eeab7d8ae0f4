/* route_share.c: a route's share of a pool's concurrency: the arithmetic of the limit
 * (max_share of the pool's capacity, the limit learned from the route's latency by
 * core/adaptive_limit.c), the atomic count of the route's requests in flight, and the
 * registry that keeps each share by name for the process's life. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "route_share.h"

/* Shares by "listener/route/pool"; appended by the control thread, never freed (a
 * request may hold a place in one across any number of reloads). */
struct share_named {
	struct share_named *next;
	struct route_share share;
	char name[];
};

static struct share_named *named;
static pthread_mutex_t named_lock = PTHREAD_MUTEX_INITIALIZER;

struct route_share *route_share_get(const char *listener, const char *route, const char *pool)
{
	char name[400];
	struct share_named *n;

	/* '/' is in no name (cfg_check_name): the key cannot be three other names' */
	snprintf(name, sizeof(name), "%s/%s/%s", listener, route, pool);
	pthread_mutex_lock(&named_lock);
	for (n = named; n; n = n->next)
		if (!strcmp(n->name, name))
			break;
	if (!n && (n = calloc(1, sizeof(*n) + strlen(name) + 1))) {
		strcpy(n->name, name);
		atomic_init(&n->share.inflight, 0);
		atomic_init(&n->share.percent, 0);
		atomic_init(&n->share.adaptive_on, 0);
		adaptive_limit_init(&n->share.adaptive);
		n->next = named;
		named = n;
	}
	pthread_mutex_unlock(&named_lock);
	return n ? &n->share : NULL;
}

void route_share_configure(struct route_share *s, unsigned percent, int adaptive)
{
	atomic_store_explicit(&s->percent, percent, memory_order_relaxed);
	atomic_store_explicit(&s->adaptive_on, adaptive ? 1 : 0, memory_order_relaxed);
}

unsigned route_share_of(unsigned percent, unsigned capacity)
{
	unsigned long long n;

	if (percent == 0 || capacity == 0)
		return 0;
	n = ((unsigned long long)capacity * percent + 99) / 100;
	return n < 1 ? 1 : (unsigned)n;
}

unsigned route_share_capacity(const struct pool *p)
{
	unsigned long long sum = 0;
	size_t i;

	for (i = 0; i < p->nbackends; i++) {
		const struct backend *b = p->backends[i];
		unsigned max;

		if (backend_pick_weight(b) == 0)
			continue;
		if ((max = backend_effective_max_conns(b)) == 0)
			return 0;
		sum += max;
	}
	if (sum == 0)
		return 1;  /* nothing eligible: the pick answers 503, the share does not matter */
	return sum > ADAPTIVE_LIMIT_MAX ? ADAPTIVE_LIMIT_MAX : (unsigned)sum;
}

/* The ceiling of s on p: the share of the capacity, else the capacity itself (0 = none). */
static unsigned share_ceiling(const struct route_share *s, const struct pool *p, unsigned *capacity)
{
	unsigned percent = atomic_load_explicit(&s->percent, memory_order_relaxed);

	*capacity = route_share_capacity(p);
	return percent ? route_share_of(percent, *capacity) : *capacity;
}

unsigned route_share_limit(struct route_share *s, const struct pool *p)
{
	unsigned capacity, limit = share_ceiling(s, p, &capacity);

	if (!atomic_load_explicit(&s->percent, memory_order_relaxed))
		limit = 0;  /* the capacity alone is the pool's own bound, not the route's */
	if (atomic_load_explicit(&s->adaptive_on, memory_order_relaxed)) {
		unsigned learned = adaptive_limit_get(&s->adaptive);

		if (limit == 0 || learned < limit)
			limit = learned;
	}
	return limit;
}

int route_share_try_take(struct route_share *s, const struct pool *p)
{
	unsigned max = route_share_limit(s, p);
	unsigned cur = atomic_load_explicit(&s->inflight, memory_order_relaxed);

	/* as backend_try_acquire: a failed CAS reloads cur, so the bound is checked
	 * against the value replaced */
	for (;;) {
		if (max != 0 && cur >= max)
			return 0;
		if (atomic_compare_exchange_weak_explicit(&s->inflight, &cur, cur + 1,
							  memory_order_acq_rel, memory_order_relaxed))
			return 1;
	}
}

void route_share_give_back(struct route_share *s)
{
	atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_release);
}

void route_share_request_done(struct route_share *s, const struct pool *p, double latency_s)
{
	unsigned capacity, cap;

	if (!atomic_load_explicit(&s->adaptive_on, memory_order_relaxed) || latency_s < 0)
		return;
	cap = share_ceiling(s, p, &capacity);
	adaptive_limit_sample(&s->adaptive, (uint64_t)(latency_s * 1e6),
			      atomic_load_explicit(&s->inflight, memory_order_relaxed), cap);
}
