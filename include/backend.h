/* backend.h: a backend with its live counters, shared by every generation that keeps it
 * (core/backend.c): its slot limit, drain deadline and whether it may get new work now. */
#ifndef FULCRUM_BACKEND_H
#define FULCRUM_BACKEND_H

#include <stdatomic.h>
#include <stdint.h>
#include "adaptive_limit.h"
#include "addr.h"
#include "config-t.h"
#include "health-t.h"

struct backend_stats_set;

/* HEALTH_DRAINING: up, but the backend's own check asked for no new traffic. */
enum health_state { HEALTH_UP = 0, HEALTH_DOWN, HEALTH_DRAINING };

/* A backend outlives config generations: a reload that keeps a backend (same pool,
 * name and address) reuses the object, so its live counters stay exact. Settings
 * that the control API changes at run time are atomics; everything else is fixed. */
struct backend {
	atomic_int refs;                 /* generations and connections holding it */
	char *name;
	char *pool_name;
	struct addr addr;
	atomic_uint weight;              /* configured weight, 0..1000 */
	atomic_uint max_conns;           /* 0 = unlimited */
	atomic_int admin;                /* enum admin_state */
	atomic_int health;               /* enum health_state */
	atomic_uint active;              /* requests (http) or connections (tcp) in flight */
	atomic_ullong picks;             /* times chosen, for statistics */
	atomic_ullong failures;          /* connect failures and resets seen */
	atomic_llong retry_at_ms;        /* passive ejection: DOWN until this CLOCK_MONOTONIC ms, then one trial; 0 = not passively ejected */
	atomic_llong drain_cut_ms;       /* draining: what is still on it is cut at this CLOCK_MONOTONIC ms; 0 = not draining */
	double drain_until;              /* the wall-clock deadline of the drain call whose cut_ms
	                                  * it set (cfg_backend.drain_until), 0 = none; control
	                                  * thread only */
	struct backend_health hs;        /* why health is what it is, checks, slow start (health-t.h) */
	struct backend_stats_set *stats; /* per-worker counters (include/stats.h); owned */
	atomic_int adaptive_on;          /* the pool learns a limit (adaptive_limit = true) */
	struct adaptive_limit adaptive;  /* the learned limit; max_conns, when set, caps it */
};

/* Creates a backend from its config (refs = 1, health UP, active 0). NULL on ENOMEM. */
struct backend *backend_new(const struct cfg_backend *cb, const char *pool_name);
void backend_ref(struct backend *b);
void backend_unref(struct backend *b);
/* Copies weight, max_conns and admin state from cb into a live backend. A backend that
 * becomes draining gets its drain deadline, drain_timeout_s from now (its pool's key);
 * one that stops draining loses it. */
void backend_apply_config(struct backend *b, const struct cfg_backend *cb, uint32_t drain_timeout_s);
/* Sets (at_ms > 0) or clears (0) b's drain deadline, in clock_coarse_ms() time: the control
 * API's drain sets it from its own timeout_s. */
void backend_set_drain_deadline(struct backend *b, long long at_ms);
/* 1 when b is draining and its drain deadline is at or before now_ms: the connections
 * and requests still on it are to be cut. */
int backend_drain_deadline_passed(const struct backend *b, long long now_ms);
/* How many live backends have a drain deadline set: workers look for connections to cut
 * only while this is not 0. */
int backend_drain_deadlines_set(void);
/* Turns the learned concurrency limit on or off (the pool's adaptive_limit key). */
void backend_set_adaptive(struct backend *b, int on);
/* A request to b got its response head after latency_s seconds (from dispatch) and is
 * complete: stamps b->hs.last_response_ms (the checks' proof that b serves) and feeds the
 * learned limit when it is on. Called once per completed HTTP exchange. */
void backend_request_done(struct backend *b, double latency_s);

/* 1 when new requests may go to b: admin active, health up, weight > 0. */
int backend_eligible(const struct backend *b);
/* Weight used for selection now: the configured weight, scaled down while the backend
 * warms up (slow start, rounded up so it stays at least 1). */
unsigned backend_effective_weight(const struct backend *b);
/* max_conns in force now: the learned limit when adaptive (under max_conns if set), else
 * max_conns; scaled like the weight while warming; 0 = unlimited. */
unsigned backend_effective_max_conns(const struct backend *b);

/* Tries to take one slot of b: increments active unless that would exceed max_conns.
 * Returns 1 when taken, 0 when b is full. Lock-free (compare-and-swap). */
int backend_try_acquire(struct backend *b);
/* Gives back a slot taken by backend_try_acquire or pool_pick. */
void backend_release(struct backend *b);

/* The weight to pick b with now (thousandths of its configured weight, scaled down
 * while it warms up), or 0 when b must not get new work: not active, or down and not
 * yet due for a trial after a passive ejection. core/balance.c picks by it. */
unsigned backend_pick_weight(const struct backend *b);

#endif
