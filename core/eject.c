/* eject.c: the rules of taking backends out: how many of a pool may be down at once,
 * how long an ejection holds (doubling on repeats), when failures in a row trip it,
 * and the spread of check intervals. Pure arithmetic, so unit tests need no sockets. */
#include "health.h"

/* Doublings stop here: 2^20 times any base already exceeds the longest allowed hold. */
#define EJECT_DOUBLINGS_MAX 20

int health_down_allowed(size_t npool, size_t ndown, unsigned max_percent)
{
	/* (ndown + 1) <= floor(npool * pct / 100), without the division */
	return (unsigned long long)(ndown + 1) * 100 <= (unsigned long long)npool * max_percent;
}

uint32_t health_eject_hold_ms(uint32_t base_ms, uint32_t max_ms, uint32_t n)
{
	uint64_t hold = base_ms;
	uint32_t i;

	if (max_ms < base_ms)
		max_ms = base_ms;
	for (i = 1; i < n && i <= EJECT_DOUBLINGS_MAX && hold < max_ms; i++)
		hold *= 2;
	return hold > max_ms ? max_ms : (uint32_t)hold;
}

uint32_t health_eject_next(uint32_t prev_n, long long prev_at_ms, long long now_ms,
			   uint32_t base_ms, uint32_t max_ms)
{
	long long prev_end;

	if (prev_n == 0)
		return 1;
	prev_end = prev_at_ms + health_eject_hold_ms(base_ms, max_ms, prev_n);
	/* back for a while (longer than the longest hold): the past is forgiven */
	if (now_ms - prev_end >= (long long)(max_ms > base_ms ? max_ms : base_ms))
		return 1;
	return prev_n < EJECT_DOUBLINGS_MAX + 1 ? prev_n + 1 : prev_n;
}

int health_passive_trips(const struct cfg_passive *cfg, uint32_t consec_connect,
			 uint32_t consec_errors)
{
	return (cfg->connect_failures && consec_connect >= cfg->connect_failures) ||
	       (cfg->errors && consec_errors >= cfg->errors);
}

uint32_t health_jitter_ms(uint32_t interval_ms, uint32_t jitter_percent, uint64_t rnd)
{
	uint64_t spread = (uint64_t)interval_ms * jitter_percent / 100;

	/* uniform in [interval - spread, interval + spread]; at least 1 ms */
	uint64_t v = interval_ms - spread + rnd % (2 * spread + 1);
	return v ? (uint32_t)v : 1;
}
