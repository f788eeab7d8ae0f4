/* rise_fall.c: the rise/fall rule of active checks: which check results count, and how
 * many passes or failures in a row change a backend's health. Pure, no clock, no sockets. */
#include "health.h"

enum health_count health_check_counts(enum health_result r, const struct health_evidence *e)
{
	if (e->is_down && e->ejected_at_ms && e->started_ms <= e->ejected_at_ms)
		return HCOUNT_STALE;
	if (r == HRES_OK || r == HRES_DRAIN)
		return HCOUNT_PASS;
	/* the in-flight count alone is no proof: a hung backend keeps its requests forever */
	if (r == HRES_TIMEOUT && !e->is_down && e->in_flight > 0 && e->last_response_ms != 0 &&
	    e->now_ms - e->last_response_ms <= (long long)e->window_ms)
		return HCOUNT_BUSY;
	return HCOUNT_FAIL;
}

enum health_verdict health_counter_feed(struct health_counter *c, int ok, int is_up,
					uint32_t rise, uint32_t fall)
{
	/* Runs saturate instead of wrapping: a backend checked for years stays "long up". */
	if (ok) {
		c->fail_run = 0;
		if (c->ok_run < UINT32_MAX)
			c->ok_run++;
		return !is_up && c->ok_run >= rise ? HEALTH_GO_UP : HEALTH_STAY;
	}
	c->ok_run = 0;
	if (c->fail_run < UINT32_MAX)
		c->fail_run++;
	return is_up && c->fail_run >= fall ? HEALTH_GO_DOWN : HEALTH_STAY;
}
