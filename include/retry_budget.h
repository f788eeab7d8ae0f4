/* retry_budget.h: how many replays a pool's requests may have at once (core/retry_budget.c). */
#ifndef FULCRUM_RETRY_BUDGET_H
#define FULCRUM_RETRY_BUDGET_H

#include <stdint.h>

/* Replays a budget always allows at once, however few requests there are: a quiet pool
 * still gets its retries, and one backend killed with its requests in flight (up to its
 * max_conns, a gunicorn instance's workers) has every one of them replayed. Envoy's
 * min_retry_concurrency is 3; with 3, a killed instance with 4 requests in flight cost a
 * client a 502 (t_health_kill). The budget is for storms, far above this. */
#define RETRY_BUDGET_FLOOR 10

/* 1 when one more replay may start while active requests of the pool are in flight,
 * active_replays of them replays already: replays in flight stay within percent of the
 * requests in flight, or the floor; 0 otherwise, and always when percent is 0. */
int retry_budget_allows(int64_t active, int64_t active_replays, uint32_t percent);

#endif
