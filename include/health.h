/* health.h: taking backends out of rotation and bringing them back: active checks on
 * the control loop, passive detection on live traffic, slow start, self-declared drain. */
#ifndef FULCRUM_HEALTH_H
#define FULCRUM_HEALTH_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "balance.h"
#include "config-t.h"
#include "generation.h"
#include "health-t.h"

/* ---- Status lists (core/status_set.c) ---- */

/* Parses "200-399,404" (statuses 100..599, inclusive ranges, comma-separated, spaces
 * allowed around items; "" is the empty set) into out. Returns 0, or -1 with a reason
 * in err (err may be NULL). */
int health_status_parse(const char *s, struct status_set *out, char *err, size_t errlen);
/* 1 when status is in set. */
int health_status_match(const struct status_set *set, int status);
/* 1 when the set holds no status at all. */
int health_status_empty(const struct status_set *set);

/* ---- Rise and fall (core/rise_fall.c): pure ---- */

/* Consecutive results of one backend's active checks. */
struct health_counter {
	uint32_t ok_run;                 /* passes in a row */
	uint32_t fail_run;               /* failures in a row */
};

enum health_verdict {
	HEALTH_STAY = 0,                 /* no change due */
	HEALTH_GO_UP,                    /* down, and rise passes in a row */
	HEALTH_GO_DOWN                   /* up, and fall failures in a row */
};

/* Adds one result (ok = passed) for a backend that is currently up (is_up) or down.
 * The verdict repeats on every further result while it holds, so a change that could
 * not be made (max_down_percent) is tried again at the next check. */
enum health_verdict health_counter_feed(struct health_counter *c, int ok, int is_up,
					uint32_t rise, uint32_t fall);

/* What a finished check is evidence of, beside its result (health_check_counts). */
struct health_evidence {
	int is_down;                     /* the backend is down now */
	long long started_ms;            /* when the check began */
	long long ejected_at_ms;         /* start of the passive ejection it is down for; 0 = none */
	unsigned in_flight;              /* requests (or connections) on it now */
	long long last_response_ms;      /* when a response from it last completed; 0 = never */
	long long now_ms;                /* when the check ended */
	uint32_t window_ms;              /* how recent that response must be: interval_ms + timeout_ms */
};

enum health_count {
	HCOUNT_PASS = 0,                 /* feeds rise (HRES_OK; also HRES_DRAIN, which is no failure) */
	HCOUNT_FAIL,                     /* feeds fall */
	HCOUNT_BUSY,                     /* a timeout on a backend that is visibly serving: not counted */
	HCOUNT_STALE                     /* began before the passive ejection the backend is down for */
};

/* How one finished check with result r counts, given e. A timeout is excused (BUSY) when
 * the backend is not down, has requests in flight and completed a response within the
 * last window_ms: it waited behind real work in the backend's backlog, and traffic that
 * completes proves the backend alive. A definite failure (refused, reset, bad status)
 * always counts, and so does a timeout on an idle backend or on one whose requests stopped
 * completing (hung). A check that began at or before the passive ejection the backend is
 * down for measured the backend before it failed: it counts for nothing. */
enum health_count health_check_counts(enum health_result r, const struct health_evidence *e);

/* ---- Slow start (core/slow_start.c): pure ---- */

/* Share of full weight, in permille, of a backend whose ramp of len_ms ends at end_ms:
 * 100 (10 %) when it starts, rising linearly to 1000 at end_ms. 1000 when end_ms is 0. */
unsigned health_ramp_permille(long long now_ms, long long end_ms, unsigned len_ms);
/* value scaled by permille, rounded up: 0 stays 0 (unlimited max_conns, weight 0),
 * anything else is at least 1. */
uint32_t health_ramp_scale(uint32_t value, unsigned permille);
/* The ramp of b now (reads b->hs); 1000 when b is not warming. */
unsigned health_backend_permille(const struct backend *b, long long now_ms);

/* ---- Ejection limits and backoff (core/eject.c): pure ---- */

/* 1 when one more of npool backends may be down while ndown already are: at most
 * floor(npool * max_percent / 100) down at once, so a bad deploy of the checks (or of
 * the app) cannot empty a pool. npool counts the backends in rotation (admin active),
 * ndown those of them that are down (core/state.c). */
int health_down_allowed(size_t npool, size_t ndown, unsigned max_percent);
/* Hold of the n-th ejection in a row (n >= 1): base_ms doubled n-1 times, at most max_ms
 * (and never below base_ms). */
uint32_t health_eject_hold_ms(uint32_t base_ms, uint32_t max_ms, uint32_t n);
/* The n of an ejection at now, given the previous one (prev_n, at prev_at_ms; prev_n 0 =
 * none): a repeat when it comes less than max_ms after the previous hold ended, else 1. */
uint32_t health_eject_next(uint32_t prev_n, long long prev_at_ms, long long now_ms,
			   uint32_t base_ms, uint32_t max_ms);
/* 1 when the failures in a row reach a threshold of cfg (0 thresholds never trip). */
int health_passive_trips(const struct cfg_passive *cfg, uint32_t consec_connect,
			 uint32_t consec_errors);
/* A delay of interval_ms spread by +-jitter_percent, from a random number rnd. */
uint32_t health_jitter_ms(uint32_t interval_ms, uint32_t jitter_percent, uint64_t rnd);

/* ---- Passive detection (core/passive.c): called by workers on live traffic ---- */

enum health_fail_kind {
	HEALTH_FAIL_CONNECT = 0,         /* connect refused, unreachable or timed out */
	HEALTH_FAIL_EXCHANGE,            /* reset, close, bad or cut response, silence after the request */
};

/* A request to b (in pool p of the caller's generation) failed. Counts it; when a
 * threshold of p's passive settings is reached, b is ejected (unless max_down_percent
 * forbids): out of rotation at once for a hold that doubles on repeats; then active
 * checks bring it back (rise passes after the hold), or with health.type "none" a
 * trial request after the hold. what names the failure for the log. */
void health_passive_failure(struct backend *b, const struct pool *p, enum health_fail_kind kind,
			    const char *what);
/* A connect to b succeeded: the connect failure run ends; a backend ejected without
 * active checks whose hold has passed is back (warming when slow_start_s is set). */
void health_passive_connected(struct backend *b, const struct pool *p);
/* An exchange with b succeeded (tcp: the connect is all there is): the runs end. */
void health_passive_success(struct backend *b);
/* 1 when a response with status counts as a failed exchange in pool p: only with
 * passive.eject_on_5xx on, for a status in error_status. */
int health_passive_status_fails(const struct pool *p, int status);
/* b answered with status: one that health_passive_status_fails counts as a failure,
 * anything else ends the runs. The data plane calls it once the whole response came
 * (a response cut short is a failure instead), or at the head for a failing status. */
void health_passive_response(struct backend *b, const struct pool *p, int status);
/* The same with an explicit clock, for tests. */
void health_passive_failure_at(struct backend *b, const struct pool *p,
			       enum health_fail_kind kind, const char *what, long long now_ms);
void health_passive_connected_at(struct backend *b, const struct pool *p, long long now_ms);

/* ---- State of a backend (core/state.c): any thread ---- */

/* What the control API and metrics show for one backend. */
struct health_view {
	const char *state;               /* "up" | "warming" | "draining" | "down" */
	const char *reason;              /* why it last changed: health_reason_name() */
	long long since_ms;              /* CLOCK_MONOTONIC ms of that change; 0 = never */
	unsigned weight_permille;        /* slow start: share of full weight now (1000 = full) */
	unsigned effective_weight;       /* backend_effective_weight() */
	int kept;                        /* failing, but kept in rotation by max_down_percent */
	unsigned consec_errors, consec_connect;
	unsigned ejections;              /* in a row (backoff) */
	unsigned long long ejections_total;
	long long eject_until_ms;        /* 0 = not ejected */
	unsigned long long checks, checks_failed;
	unsigned long long checks_excused;   /* of checks_failed: timeouts on a serving backend, not counted */
	const char *last_result;         /* health_result_name() */
	int last_status;                 /* HTTP status, 0 = none */
	unsigned last_duration_ms;
	long long last_check_ms;         /* 0 = never */
};

void health_backend_view(const struct backend *b, long long now_ms, struct health_view *v);
const char *health_reason_name(enum health_reason r);
const char *health_result_name(enum health_result r);

/* Resets b->hs to a fresh backend's state (backend_new). */
void health_backend_init(struct backend_health *hs);

/* ---- Active checks (health/check.c): control thread only ---- */

/* Starts the health machinery on loop (the control thread's): libcurl, the stall gauge,
 * SIGUSR2 reporting, and checks for every backend of g (the first generation: its
 * backends are assumed up until checks say otherwise). Returns 0 or -1 (logged). */
int health_start(struct ev_loop *loop, struct generation *g);
/* Re-syncs the checks to g; call before publishing g to the workers. Backends kept
 * from the previous generation (same object) keep their check state; backends that
 * are new wait for their first passed check (with active checks) and warm up; checks
 * of backends g no longer has are cancelled. Takes its own reference to g. */
void health_sync(struct generation *g);
/* Cancels every check and frees everything health_start made. */
void health_stop(void);
/* Logs one line: longest control-loop stall, checks run and failed, backends down. */
void health_report(void);
/* Longest stall of the control loop in ms (from waking up to sleeping again) since
 * start; *window_ms (may be NULL) gets the longest since the last call with reset,
 * which then starts a new window (health_report resets it). For metrics. */
double health_stall_max_ms(double *window_ms, int reset);

#endif
