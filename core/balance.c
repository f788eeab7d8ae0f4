/* balance.c: backend objects and their live counters, the choice of a backend within a
 * pool (wlc with smooth weighted round-robin tie-break, rr) and the per-worker wait queue.
 * A backend's slot limit is max_conns, or the limit adaptive_limit.c learns. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "clock.h"
#include "health.h"
#include "stats.h"

static int backend_full(const struct backend *b);
static unsigned backend_permille(const struct backend *b);
static int pool_pick_wlc_once(struct pool *p, struct pool_pick_state *st,
			      const struct backend *avoid, struct backend **out);
static int pool_pick_rr_once(struct pool *p, struct pool_pick_state *st,
			     const struct backend *avoid, struct backend **out);
static unsigned backend_pick_weight(const struct backend *b);
static int pool_take_avoided(struct backend *avoid, struct backend **out);

/* Live backends with a drain deadline set (backend_drain_deadlines_set). */
static atomic_int drain_deadlines;

/* Returns a new backend holding copies of cb's strings, or NULL on ENOMEM. */
struct backend *backend_new(const struct cfg_backend *cb, const char *pool_name)
{
	struct backend *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->name = strdup(cb->name ? cb->name : "");
	if (!b->name)
		goto fail_name;
	b->pool_name = strdup(pool_name ? pool_name : "");
	if (!b->pool_name)
		goto fail_pool;
	b->addr = cb->address;
	atomic_init(&b->refs, 1);
	atomic_init(&b->weight, cb->weight);
	atomic_init(&b->max_conns, cb->max_conns);
	atomic_init(&b->admin, (int)cb->state);
	atomic_init(&b->health, HEALTH_UP);
	atomic_init(&b->retry_at_ms, 0);
	atomic_init(&b->drain_cut_ms, 0);  /* backend_apply_config sets it when draining */
	atomic_init(&b->active, 0);
	atomic_init(&b->picks, 0);
	atomic_init(&b->failures, 0);
	health_backend_init(&b->hs);
	atomic_init(&b->adaptive_on, 0);
	adaptive_limit_init(&b->adaptive);
	b->stats = stats_backend_new();
	if (!b->stats)
		goto fail_stats;
	return b;

fail_stats:
	free(b->pool_name);
fail_pool:
	free(b->name);
fail_name:
	free(b);
	return NULL;
}

void backend_ref(struct backend *b)
{
	/* The caller already holds a reference, so nothing can be freed concurrently. */
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void backend_unref(struct backend *b)
{
	int prev;

	if (!b)
		return;
	/* acq_rel: every other holder's writes must be visible before the free. */
	prev = atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel);
	assert(prev > 0);
	if (prev != 1)
		return;
	backend_set_drain_deadline(b, 0);
	stats_backend_free(b->stats);
	free(b->name);
	free(b->pool_name);
	free(b);
}

void backend_apply_config(struct backend *b, const struct cfg_backend *cb, uint32_t drain_timeout_s)
{
	atomic_store_explicit(&b->weight, cb->weight, memory_order_relaxed);
	atomic_store_explicit(&b->max_conns, cb->max_conns, memory_order_relaxed);
	atomic_store_explicit(&b->admin, (int)cb->state, memory_order_relaxed);
	/* The deadline counts from when the backend started draining: a reload that keeps
	 * it draining keeps the deadline it has (a new backend starts with none). */
	if (cb->state != ADMIN_DRAINING)
		backend_set_drain_deadline(b, 0);
	else if (atomic_load_explicit(&b->drain_cut_ms, memory_order_relaxed) == 0)
		backend_set_drain_deadline(b, clock_coarse_ms() + (long long)drain_timeout_s * 1000);
}

void backend_set_drain_deadline(struct backend *b, long long at_ms)
{
	long long was = atomic_exchange(&b->drain_cut_ms, at_ms);

	if (was == 0 && at_ms != 0)
		atomic_fetch_add(&drain_deadlines, 1);
	else if (was != 0 && at_ms == 0)
		atomic_fetch_sub(&drain_deadlines, 1);
}

int backend_drain_deadline_passed(const struct backend *b, long long now_ms)
{
	long long at = atomic_load_explicit(&b->drain_cut_ms, memory_order_relaxed);

	return at != 0 && now_ms >= at &&
	       atomic_load_explicit(&b->admin, memory_order_relaxed) == ADMIN_DRAINING;
}

int backend_drain_deadlines_set(void)
{
	return atomic_load_explicit(&drain_deadlines, memory_order_relaxed);
}

int backend_eligible(const struct backend *b)
{
	return backend_pick_weight(b) > 0;
}

/* Slow-start share of b in permille (core/slow_start.c); no clock read unless b warms. */
static unsigned backend_permille(const struct backend *b)
{
	if (atomic_load_explicit(&b->hs.warm_end_ms, memory_order_relaxed) == 0)
		return 1000;
	return health_backend_permille(b, clock_coarse_ms());
}

unsigned backend_effective_weight(const struct backend *b)
{
	return health_ramp_scale(atomic_load_explicit(&b->weight, memory_order_relaxed),
				 backend_permille(b));
}

unsigned backend_effective_max_conns(const struct backend *b)
{
	unsigned max = atomic_load_explicit(&b->max_conns, memory_order_relaxed);

	if (atomic_load_explicit(&b->adaptive_on, memory_order_relaxed)) {
		unsigned learned = adaptive_limit_get(&b->adaptive);

		if (max == 0 || learned < max)
			max = learned;
	}
	return health_ramp_scale(max, backend_permille(b));
}

void backend_set_adaptive(struct backend *b, int on)
{
	atomic_store_explicit(&b->adaptive_on, on ? 1 : 0, memory_order_relaxed);
}

void backend_request_done(struct backend *b, double latency_s)
{
	unsigned inflight;
	long long now;

	if (!b)
		return;
	/* the active checks' evidence that b serves (health_check_counts); stored only when
	 * the coarse clock moved, so workers finishing at once do not all write the line */
	now = clock_coarse_ms();
	if (atomic_load_explicit(&b->hs.last_response_ms, memory_order_relaxed) != now)
		atomic_store_explicit(&b->hs.last_response_ms, now, memory_order_relaxed);
	if (!atomic_load_explicit(&b->adaptive_on, memory_order_relaxed) || latency_s < 0)
		return;
	inflight = atomic_load_explicit(&b->active, memory_order_relaxed);
	adaptive_limit_sample(&b->adaptive, (uint64_t)(latency_s * 1e6), inflight,
			      atomic_load_explicit(&b->max_conns, memory_order_relaxed));
}

int backend_try_acquire(struct backend *b)
{
	unsigned max = backend_effective_max_conns(b);
	unsigned cur = atomic_load_explicit(&b->active, memory_order_relaxed);

	/* A failed CAS reloads cur, so the bound is checked against the value we replace:
	 * max_conns is never exceeded even when workers race for the last slot. */
	for (;;) {
		if (max != 0 && cur >= max)
			return 0;
		if (atomic_compare_exchange_weak_explicit(&b->active, &cur, cur + 1,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			return 1;
	}
}

void backend_release(struct backend *b)
{
	unsigned prev = atomic_fetch_sub_explicit(&b->active, 1, memory_order_release);

	assert(prev > 0);
	(void)prev;
}

/* 1 when b has no free slot right now (a racy view; backend_try_acquire decides). */
static int backend_full(const struct backend *b)
{
	unsigned max = backend_effective_max_conns(b);

	return max != 0 && atomic_load_explicit(&b->active, memory_order_relaxed) >= max;
}

int pool_pick_state_init(struct pool_pick_state *st, const struct pool *p)
{
	st->n = p->nbackends;
	st->current = NULL;
	if (st->n == 0)
		return 0;
	st->current = calloc(st->n, sizeof(*st->current));
	if (!st->current) {
		st->n = 0;
		return -1;
	}
	return 0;
}

void pool_pick_state_free(struct pool_pick_state *st)
{
	free(st->current);
	st->current = NULL;
	st->n = 0;
}

/* The weight to pick b with now, or 0 when b must not get new work. The weight is read
 * once, so a concurrent change to 0 cannot slip in between the check and the use. It is
 * in thousandths of the configured weight so that a slow-start ramp moves in fine steps
 * even for weight 1; scaling every backend alike leaves wlc and SWRR choices unchanged
 * (1000 * 1000 times any active count still fits the 64-bit products). */
static unsigned backend_pick_weight(const struct backend *b)
{
	unsigned w;

	if (atomic_load_explicit(&b->admin, memory_order_relaxed) != ADMIN_ACTIVE)
		return 0;
	if (atomic_load_explicit(&b->health, memory_order_relaxed) != HEALTH_UP) {
		/* a passively ejected backend gets a trial once its hold has passed */
		long long at = atomic_load_explicit(&b->retry_at_ms, memory_order_relaxed);
		if (at == 0 || clock_coarse_ms() < at)
			return 0;
	}
	w = atomic_load_explicit(&b->weight, memory_order_relaxed);
	return w * backend_permille(b);
}

int pool_has_other_eligible(struct pool *p, const struct backend *avoid)
{
	size_t i;

	for (i = 0; i < p->nbackends; i++)
		if (p->backends[i] != avoid && backend_pick_weight(p->backends[i]) > 0)
			return 1;
	return 0;
}

/* The end of an attempt where avoid turned out to be the only eligible backend: a retry
 * then goes back to it rather than fail. Its acquire only fails when it is full. */
static int pool_take_avoided(struct backend *avoid, struct backend **out)
{
	if (!backend_try_acquire(avoid))
		return PICK_FULL;
	*out = avoid;
	return PICK_OK;
}

/* One selection attempt of wlc. Returns PICK_OK with *out acquired, PICK_NONE, PICK_FULL,
 * or -1 when the chosen backend filled up between the choice and the acquire. */
static int pool_pick_wlc_once(struct pool *p, struct pool_pick_state *st,
			      const struct backend *avoid, struct backend **out)
{
	size_t i, neligible = 0, best = SIZE_MAX;
	struct backend *avoided = NULL;
	uint64_t min_active = 0, min_weight = 1;
	int64_t total = 0;
	struct backend *chosen;

	/* First pass: count the eligible backends (avoid is honoured only when another one
	 * exists) and find the lowest load active/weight, compared by cross-multiplication
	 * so no division or floating point is needed (both factors fit in 32 bits). */
	for (i = 0; i < p->nbackends; i++) {
		struct backend *b = p->backends[i];
		uint64_t a, w = backend_pick_weight(b);

		if (w == 0)
			continue;
		neligible++;
		if (b == avoid) {
			avoided = b;
			continue;
		}
		if (backend_full(b))
			continue;
		a = atomic_load_explicit(&b->active, memory_order_relaxed);
		if (best == SIZE_MAX || a * min_weight < min_active * w) {
			best = i;
			min_active = a;
			min_weight = w;
		}
	}
	if (neligible == 0)
		return PICK_NONE;
	if (avoided && neligible == 1)
		return pool_take_avoided(avoided, out);
	if (best == SIZE_MAX)
		return PICK_FULL;

	/* Second pass: smooth weighted round-robin decides among those at the minimum, so
	 * an idle pool (all at 0) still splits by weight instead of always taking the
	 * first. Every eligible backend earns its credit on every pick, not only the tied
	 * ones: a backend passed over because it was busy at that instant (another worker's
	 * request in flight) wins the next ties, so with several workers picking at once
	 * the split still follows the weights. Credit is clamped so a backend that was
	 * busy for a long time cannot then take a burst of picks in a row. Counters may
	 * have moved since the first pass; "at or below" keeps a backend that got lighter
	 * meanwhile in the running. */
	best = SIZE_MAX;
	for (i = 0; i < p->nbackends; i++) {
		struct backend *b = p->backends[i];
		uint64_t a, w = backend_pick_weight(b);

		if (w == 0 || b == avoid)
			continue;
		st->current[i] += (int64_t)w;
		total += (int64_t)w;
		if (backend_full(b))
			continue;
		a = atomic_load_explicit(&b->active, memory_order_relaxed);
		if (a * min_weight > min_active * w)
			continue;
		if (best == SIZE_MAX || st->current[i] > st->current[best])
			best = i;
	}
	if (best == SIZE_MAX)
		return -1;
	st->current[best] -= total;
	for (i = 0; i < p->nbackends; i++) {
		if (st->current[i] > total)
			st->current[i] = total;
		else if (st->current[i] < -total)
			st->current[i] = -total;
	}

	chosen = p->backends[best];
	if (!backend_try_acquire(chosen))
		return -1;
	*out = chosen;
	return PICK_OK;
}

/* One selection attempt of rr: smooth weighted round-robin over every eligible backend
 * with a free slot, in one pass. Same returns as pool_pick_wlc_once. */
static int pool_pick_rr_once(struct pool *p, struct pool_pick_state *st,
			     const struct backend *avoid, struct backend **out)
{
	size_t i, neligible = 0, best = SIZE_MAX;
	struct backend *avoided = NULL;
	int64_t total = 0;
	struct backend *chosen;

	for (i = 0; i < p->nbackends; i++) {
		struct backend *b = p->backends[i];
		int64_t w = (int64_t)backend_pick_weight(b);

		if (w == 0)
			continue;
		neligible++;
		if (b == avoid) {
			avoided = b;
			continue;
		}
		if (backend_full(b))
			continue;
		st->current[i] += w;
		total += w;
		if (best == SIZE_MAX || st->current[i] > st->current[best])
			best = i;
	}
	if (neligible == 0)
		return PICK_NONE;
	/* With avoid the only eligible one, nothing else was counted: the SWRR step for a
	 * single candidate is a no-op, so going straight to it loses nothing. */
	if (avoided && neligible == 1)
		return pool_take_avoided(avoided, out);
	if (best == SIZE_MAX)
		return PICK_FULL;
	st->current[best] -= total;

	chosen = p->backends[best];
	if (!backend_try_acquire(chosen))
		return -1;
	*out = chosen;
	return PICK_OK;
}

/* Chooses and acquires a backend; see balance.h. Never allocates. A lost race for the
 * last slot of the chosen backend re-runs the choice, a bounded number of times so a
 * pool that other workers keep full cannot spin us: the caller then queues. */
int pool_pick(struct pool *p, struct pool_pick_state *st, const struct backend *avoid,
	      struct backend **out)
{
	size_t attempt;

	/* The engine re-initialises pick states when a generation changes. */
	assert(st->n == p->nbackends);
	if (p->nbackends == 0)
		return PICK_NONE;

	for (attempt = 0; attempt <= p->nbackends; attempt++) {
		int r = p->algo == BALANCE_RR ? pool_pick_rr_once(p, st, avoid, out)
					      : pool_pick_wlc_once(p, st, avoid, out);

		if (r == PICK_OK) {
			atomic_fetch_add_explicit(&(*out)->picks, 1, memory_order_relaxed);
			return PICK_OK;
		}
		if (r != -1)
			return r;
	}
	return PICK_FULL;
}

void pool_waiter_init(struct pool_waiter *w)
{
	w->next = w->prev = NULL;
	w->enqueued_at = 0;
}

void pool_queue_init(struct pool_queue *q, uint32_t max)
{
	q->head.next = q->head.prev = &q->head;
	q->head.enqueued_at = 0;
	q->len = 0;
	q->max = max;
}

int pool_queue_push(struct pool_queue *q, struct pool *p, struct pool_waiter *w)
{
	assert(!pool_waiter_queued(w));
	if (q->len >= q->max)
		return -1;
	w->prev = q->head.prev;
	w->next = &q->head;
	q->head.prev->next = w;
	q->head.prev = w;
	q->len++;
	atomic_fetch_add_explicit(&p->waiting, 1, memory_order_relaxed);
	return 0;
}

struct pool_waiter *pool_queue_peek(const struct pool_queue *q)
{
	return q->len ? q->head.next : NULL;
}

struct pool_waiter *pool_queue_pop(struct pool_queue *q, struct pool *p)
{
	struct pool_waiter *w = pool_queue_peek(q);

	if (w)
		pool_queue_remove(q, p, w);
	return w;
}

void pool_queue_remove(struct pool_queue *q, struct pool *p, struct pool_waiter *w)
{
	unsigned prev;

	if (!pool_waiter_queued(w))
		return;
	assert(q->len > 0);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	/* NULL links are what pool_waiter_queued tests, so a second remove is harmless. */
	w->next = w->prev = NULL;
	q->len--;
	prev = atomic_fetch_sub_explicit(&p->waiting, 1, memory_order_relaxed);
	assert(prev > 0);
	(void)prev;
}

int pool_waiter_queued(const struct pool_waiter *w)
{
	return w->next != NULL;
}
