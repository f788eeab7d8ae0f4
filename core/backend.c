/* backend.c: the backend object, shared by every generation that keeps it: its live
 * counters, its slot limit (max_conns or the limit adaptive_limit.c learns), drain
 * deadlines and whether it may get new work now (core/balance.c picks among them). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "clock.h"
#include "health.h"
#include "stats.h"

static unsigned backend_permille(const struct backend *b);

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
	 * it draining keeps the deadline it has (a new backend starts with none). A drain
	 * call's deadline is a wall-clock instant, so that every replica of a cluster cuts
	 * at the same moment (each applies the drain a little apart). */
	if (cb->state != ADMIN_DRAINING) {
		backend_set_drain_deadline(b, 0);
		b->drain_until = 0;
	} else if (cb->drain_until > 0 && cb->drain_until != b->drain_until) {
		double left = cb->drain_until - clock_wall_s();

		backend_set_drain_deadline(b, clock_coarse_ms() + (left > 0 ? (long long)(left * 1000) : 0));
		b->drain_until = cb->drain_until;
	} else if (atomic_load_explicit(&b->drain_cut_ms, memory_order_relaxed) == 0) {
		backend_set_drain_deadline(b, clock_coarse_ms() + (long long)drain_timeout_s * 1000);
	}
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

/* The weight to pick b with now, or 0 when b must not get new work. The weight is read
 * once, so a concurrent change to 0 cannot slip in between the check and the use. It is
 * in thousandths of the configured weight so that a slow-start ramp moves in fine steps
 * even for weight 1; scaling every backend alike leaves wlc and SWRR choices unchanged
 * (1000 * 1000 times any active count still fits the 64-bit products). */
unsigned backend_pick_weight(const struct backend *b)
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
