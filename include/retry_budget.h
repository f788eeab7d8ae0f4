/* retry_budget.h: how many replays a pool's requests may have at once (core/retry_budget.c). */
#ifndef FULCRUM_RETRY_BUDGET_H
#define FULCRUM_RETRY_BUDGET_H

#include <stdint.h>

/* Replays a budget always allows at once, however few requests there are (Envoy's
 * min_retry_concurrency is 3 as well): a quiet pool still gets its retries. */
#define RETRY_BUDGET_FLOOR 3

/* 1 when one more replay may start while active requests of the pool are in flight,
 * active_replays of them replays already: replays in flight stay within percent of the
 * requests in flight, or the floor; 0 otherwise, and always when percent is 0. */
int retry_budget_allows(int64_t active, int64_t active_replays, uint32_t percent);

#endif
