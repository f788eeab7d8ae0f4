/* balance.c: the choice of a backend within a pool (wlc with smooth weighted round-robin
 * tie-break, rr) and the acquire of its slot; the backends themselves are core/backend.c,
 * the wait queue when all are full core/pool_queue.c. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "balance.h"

static int backend_full(const struct backend *b);
static int pool_pick_wlc_once(struct pool *p, struct pool_pick_state *st,
			      const struct backend *avoid, struct backend **out);
static int pool_pick_rr_once(struct pool *p, struct pool_pick_state *st,
			     const struct backend *avoid, struct backend **out);
static int pool_take_avoided(struct backend *avoid, struct backend **out);

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
