/* health-int.h: what the files of health/ share and nothing outside needs: the check
 * object of one backend, the check kinds' entry points and the state transitions. */
#ifndef FULCRUM_HEALTH_INT_H
#define FULCRUM_HEALTH_INT_H

#include <ev.h>

#include "health.h"

struct health_http;
struct health_tcp;

/* The active-check state of one backend of the current generation (control thread).
 * Reached from the backend through b->hs.check, so a reload that keeps the backend
 * object keeps this too. */
struct health_check {
	struct health_check *next, *prev;  /* every check object (check.c's list) */
	struct backend *b;               /* reference held */
	struct pool *pool;               /* b's pool in the synced generation */
	unsigned epoch;                  /* the last sync that found b */
	ev_timer timer;                  /* fires the next check */
	struct health_counter counter;
	int seen_health;                 /* b->health after our last update: a change means a passive ejection */
	int first;                       /* joined after start: one pass brings it up */
	enum health_type running;        /* kind of the check in flight; HEALTH_NONE = idle */
	double started;                  /* monotonic seconds at the start of the check in flight */
	long long started_ms;            /* the same in balance_now_ms() time (ejections use it) */
	unsigned excused;                /* timeouts excused in this busy period; 0: the next is logged */
	struct health_http *http;        /* in flight (http_check.c) */
	struct health_tcp *tcp;          /* in flight (tcp_check.c) */
};

/* check.c: a check finished (never called from inside a start function). detail
 * describes the result for the log ("HTTP 200", "connection refused"). */
void health_check_done(struct health_check *c, enum health_result r, int status,
		       const char *detail);
/* Monotonic seconds, precise (durations of checks and stalls). */
double health_mono(void);

/* http_check.c: libcurl's multi-socket interface driven by the control loop. */
int health_http_init(struct ev_loop *loop);
void health_http_shutdown(void);
/* Starts an http check of c; its end comes through health_check_done. 0 or -1. */
int health_http_start(struct health_check *c);
void health_http_cancel(struct health_check *c);
unsigned health_http_in_flight(void);

/* tcp_check.c: a non-blocking connect on the control loop. 0, or -1 with errno. */
int health_tcp_start(struct ev_loop *loop, struct health_check *c);
void health_tcp_cancel(struct ev_loop *loop, struct health_check *c);

/* loop_stall.c: the longest time the control loop spent between waking and sleeping. */
void health_stall_start(struct ev_loop *loop);
void health_stall_stop(struct ev_loop *loop);

/* state.c: every change of b->health goes through these, under one lock so the count
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
