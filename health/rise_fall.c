/* rise_fall.c: the rise/fall rule of active checks: how many passes or failures in a
 * row change a backend's health. Pure arithmetic, no clock, no sockets. */
#include "health.h"

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
