/* route_share.c: a route's share of a pool's concurrency: the arithmetic of the limit
 * (max_share of the pool's capacity, the limit learned from the route's latency by
 * core/adaptive_limit.c), the atomic count of the route's requests in flight, the turn
 * that hands freed places to the workers' waiters in a circle, and the registry that
 * keeps each share by name for the process's life. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "route_share.h"
#include "stats.h"

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
		int i, nw = stats_workers();

		if (!(n->share.waiting = calloc((size_t)nw, sizeof(*n->share.waiting)))) {
			free(n);
			pthread_mutex_unlock(&named_lock);
			return NULL;
		}
		strcpy(n->name, name);
		atomic_init(&n->share.inflight, 0);
		atomic_init(&n->share.percent, 0);
		atomic_init(&n->share.adaptive_on, 0);
		atomic_init(&n->share.turn, 0);
		n->share.nworkers = nw;
		for (i = 0; i < nw; i++)
			atomic_init(&n->share.waiting[i], 0);
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

/* 1 when a worker other than worker has the turn and requests of s queued. */
static int others_first(const struct route_share *s, int worker)
{
	int t = atomic_load_explicit(&s->turn, memory_order_relaxed);

	return t != worker && t >= 0 && t < s->nworkers &&
	       atomic_load_explicit(&s->waiting[t], memory_order_relaxed) > 0;
}

/* After worker took a place: the turn goes to the next worker (in a circle, worker
 * itself last) that has requests of s queued; it stays when none has. */
static void pass_turn(struct route_share *s, int worker)
{
	int i;

	for (i = 1; i <= s->nworkers; i++) {
		int o = (worker + i) % s->nworkers;

		if (atomic_load_explicit(&s->waiting[o], memory_order_relaxed) > 0) {
			atomic_store_explicit(&s->turn, o, memory_order_relaxed);
			return;
		}
	}
}

int route_share_try_take(struct route_share *s, const struct pool *p, int worker)
{
	unsigned max = route_share_limit(s, p);
	unsigned cur = atomic_load_explicit(&s->inflight, memory_order_relaxed);

	if (worker < 0 || worker >= s->nworkers)
		worker = 0;
	if (others_first(s, worker))
		return 0;
	/* as backend_try_acquire: a failed CAS reloads cur, so the bound is checked
	 * against the value replaced */
	for (;;) {
		if (max != 0 && cur >= max)
			return 0;
		if (atomic_compare_exchange_weak_explicit(&s->inflight, &cur, cur + 1,
							  memory_order_acq_rel, memory_order_relaxed))
			break;
	}
	pass_turn(s, worker);
	return 1;
}

int route_share_queued(struct route_share *s, int worker, int delta)
{
	if (worker < 0 || worker >= s->nworkers)
		worker = 0;
	if (delta > 0) {
		atomic_fetch_add_explicit(&s->waiting[worker], 1, memory_order_relaxed);
		return 0;
	}
	return atomic_fetch_sub_explicit(&s->waiting[worker], 1, memory_order_relaxed) == 1 &&
	       atomic_load_explicit(&s->turn, memory_order_relaxed) == worker;
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
