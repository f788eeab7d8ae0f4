/* health_state.h: the transitions of a backend's health state (core/state.c), shared by
 * the loop-free state code of core/ and the active checks of health/. */
#ifndef FULCRUM_HEALTH_STATE_H
#define FULCRUM_HEALTH_STATE_H

#include <stdint.h>

#include "health.h"

/* Every change of b->health goes through these, under one lock so the count
 * behind max_down_percent cannot be raced past, and each change is logged once. */

/* Takes b out of rotation for why, unless p's guard forbids it (then b is flagged kept,
 * logged once, and -1 returned): of p's backends in rotation (admin active) at most
 * max_down_percent may be down, and never the last one up; a b out of rotation may
 * always go. until_ms: not up again before (0 = no hold); trial: without checks, one
 * request may try b after until_ms. eject_n > 0 marks a passive ejection (its count for
 * backoff); for a b that is already down in a trial it renews the hold. Returns 1 when
 * changed, 0 when b was down already. */
int health_mark_down(struct backend *b, const struct pool *p, enum health_reason why,
		     long long now_ms, long long until_ms, int trial, uint32_t eject_n,
		     const char *detail);
/* Puts b back (from down or draining); warm_ms > 0 starts a slow-start ramp when it
 * comes back from down. Returns 1 when changed. */
int health_mark_up(struct backend *b, enum health_reason why, long long now_ms,
		   unsigned warm_ms, const char *detail);
/* An up backend asked for no new traffic (drain_status). Returns 1 when changed. */
int health_mark_draining(struct backend *b, long long now_ms, const char *detail);
/* A backend that joined after start and waits for its first check: down, silently
 * counted, logged as added. */
void health_mark_added(struct backend *b, long long now_ms, int checked, unsigned warm_ms);
/* The pool's checks were switched on or off by a reload: down backends get a timed
 * trial (off) or are left to the checks (on); a draining one is up again (off). */
void health_checks_switched(struct backend *b, int checks_on, long long now_ms);
/* Ends b's slow start when its ramp is over (logged once). */
void health_warm_check(struct backend *b, long long now_ms);
/* Ends passive detection's claim in the kept flag (live traffic succeeds again). */
void health_clear_kept(struct backend *b);
/* Ends the checks' claim in the kept flag (a check passed). */
void health_clear_kept_checks(struct backend *b);

#endif
