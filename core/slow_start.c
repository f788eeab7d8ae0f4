/* slow_start.c: the slow-start ramp: a backend that joins or recovers gets 10 % of its
 * weight and max_conns at first, rising linearly to 100 % over the pool's slow_start_s. */
#include "health.h"

/* Where the ramp starts: a backend must get some traffic at once, or nothing shows
 * whether it really works, but not its full share while its caches are cold. */
#define RAMP_START_PERMILLE 100

unsigned health_ramp_permille(long long now_ms, long long end_ms, unsigned len_ms)
{
	long long left;

	if (end_ms == 0 || len_ms == 0 || now_ms >= end_ms)
		return 1000;
	left = end_ms - now_ms;
	if (left >= (long long)len_ms)
		return RAMP_START_PERMILLE;
	return RAMP_START_PERMILLE +
	       (unsigned)((1000 - RAMP_START_PERMILLE) * ((long long)len_ms - left) / len_ms);
}

uint32_t health_ramp_scale(uint32_t value, unsigned permille)
{
	uint64_t v;

	if (value == 0 || permille >= 1000)
		return value;
	v = ((uint64_t)value * permille + 999) / 1000;
	return v ? (uint32_t)v : 1;
}

unsigned health_backend_permille(const struct backend *b, long long now_ms)
{
	long long end = atomic_load_explicit(&b->hs.warm_end_ms, memory_order_relaxed);

	if (end == 0)
		return 1000;
	return health_ramp_permille(now_ms, end,
				    atomic_load_explicit(&b->hs.warm_ms, memory_order_relaxed));
}
