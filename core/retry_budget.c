/* retry_budget.c: a pool's retry budget (pools[].retry_budget_percent). A replay sends a
 * request a backend already had to another one: when backends fail together (a bad
 * deploy, an overloaded database), unbudgeted replays multiply the load on the ones still
 * standing by 1 + retries, just when they can least take it. As Envoy's retry budget, the
 * budget is a share of the requests in flight: replays in flight may be at most percent
 * of them, never fewer than RETRY_BUDGET_FLOOR. One backend of several failing on its own
 * costs a replay per failed request, each over in a moment, so it stays within the
 * budget; a storm of slow failures does not. Pure arithmetic: the worker counts. */
#include "retry_budget.h"

int retry_budget_allows(int64_t active, int64_t active_replays, uint32_t percent)
{
	int64_t allowed;

	if (percent == 0)
		return 0;
	/* rounded up: 20 % of 11 requests allows 3 replays, not 2 */
	allowed = (active * (int64_t)percent + 99) / 100;
	if (allowed < RETRY_BUDGET_FLOOR)
		allowed = RETRY_BUDGET_FLOOR;
	return active_replays + 1 <= allowed;
}
