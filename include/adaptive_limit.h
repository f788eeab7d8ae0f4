/* adaptive_limit.h: a backend's concurrency limit learned from the response times it
 * shows (pool key adaptive_limit): how many requests it can work on at once before more
 * only wait inside it, so that the rest wait in fulcrum's queue instead. */
#ifndef FULCRUM_ADAPTIVE_LIMIT_H
#define FULCRUM_ADAPTIVE_LIMIT_H

#include <stdatomic.h>
#include <stdint.h>

#define ADAPTIVE_LIMIT_START 1u         /* first limit; doubles while that pays */
#define ADAPTIVE_LIMIT_MAX 100000u      /* ceiling when max_conns does not give one */
#define ADAPTIVE_WINDOW_MIN 8u          /* samples per window at least (2 x limit else) */
#define ADAPTIVE_PROBE_WINDOWS 4u       /* quiet windows in a row before probing higher ... */
#define ADAPTIVE_PROBE_BACKOFF 4u       /* ... times this after each probe that did not pay ... */
#define ADAPTIVE_PROBE_WINDOWS_MAX 256u /* ... up to this many */

/* Where the limit stands in its search. */
struct adaptive_probe {
	int slow_start;                  /* 1 until a raise first fails to pay */
	int just_raised;                 /* the window now closing ran at a raised limit */
	unsigned from;                   /* the limit before that raise */
	uint64_t ref_us;                 /* mean latency accepted at the current limit; 0 = none yet */
	uint32_t quiet_windows;          /* windows in a row that showed no extra waiting */
	uint32_t every;                  /* quiet windows wanted before the next probe */
};

/* Everything but limit is touched only by the thread holding busy; a thread that finds
 * busy taken drops its sample (sampling loses nothing that matters, and no thread ever
 * waits). Use adaptive_limit_init: all fields zero is not a valid state. */
struct adaptive_limit {
	atomic_uint limit;               /* requests in flight allowed now, >= 1 */
	atomic_flag busy;                /* the one thread folding a sample in */
	uint32_t n;                      /* samples in the current window */
	uint64_t sum_us;                 /* their total latency */
	uint64_t max_us;                 /* their largest latency (left out of the mean if a stray) */
	uint32_t saturated;              /* samples that completed with the limit reached */
	int settling;                    /* 1: the limit just moved; this window is not judged */
	struct adaptive_probe probe;     /* the search state */
};

void adaptive_limit_init(struct adaptive_limit *al);

/* The limit in force now (>= 1). Lock-free. */
unsigned adaptive_limit_get(const struct adaptive_limit *al);

/* Folds in one completed request: its latency (dispatch to first response byte) in
 * microseconds, the requests in flight to the backend when it completed (this one
 * included) and the ceiling the limit must stay under (max_conns, 0 = none). When a
 * window is complete the limit moves; see adaptive_limit.c. Returns 1 when the limit
 * changed, 0 otherwise (also when the sample was dropped). */
int adaptive_limit_sample(struct adaptive_limit *al, uint64_t latency_us, unsigned inflight,
			  unsigned cap);

/* Sets p to the start of a search: slow start, probing every ADAPTIVE_PROBE_WINDOWS. */
void adaptive_probe_init(struct adaptive_probe *p);

/* The decision at the end of a window, exposed for the unit tests: the next limit from
 * the current one, the window's mean latency, whether the limit was reached during the
 * window (1) or not (0), and the ceiling (0 = none); p is updated. */
unsigned adaptive_limit_next(struct adaptive_probe *p, unsigned limit, uint64_t mean_us,
			     int saturated, unsigned cap);

#endif
