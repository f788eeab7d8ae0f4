/* health-t.h: the health state every backend carries (embedded in struct backend as
 * b->hs): why it is up, down, warming or draining, and the evidence, all atomics. */
#ifndef FULCRUM_HEALTH_T_H
#define FULCRUM_HEALTH_T_H

#include <stdatomic.h>
#include <stdint.h>

/* Why b->health last changed (or, for HREASON_NONE, that it never did). */
enum health_reason {
	HREASON_NONE = 0,       /* present since start, assumed up */
	HREASON_ADDED,          /* joined after start; with checks it waits for the first one */
	HREASON_CHECK_PASSED,   /* rise checks in a row passed */
	HREASON_CHECK_FAILED,   /* fall checks in a row failed */
	HREASON_CHECK_DRAIN,    /* a check answered with drain_status */
	HREASON_PASSIVE,        /* ejected by passive detection on live traffic */
	HREASON_TRIAL_OK,       /* (no checks) a connect after the ejection's hold succeeded */
	HREASON_CHECKS_OFF,     /* a reload set health.type = "none" */
	HREASON__COUNT
};

/* Outcome of one active check. */
enum health_result {
	HRES_NONE = 0,          /* no check completed yet */
	HRES_OK,                /* connected (tcp) / status in expect (http) */
	HRES_DRAIN,             /* status in drain_status (and drain_header present) */
	HRES_REFUSED,           /* connection refused or unreachable */
	HRES_TIMEOUT,           /* no answer within timeout_ms */
	HRES_STATUS,            /* answered with a status outside expect */
	HRES_ERROR,             /* anything else (reset, protocol error, no resources) */
	HRES__COUNT
};

/* Who wanted a backend down that the guard of max_down_percent keeps in (hs.kept bits):
 * each side logs once and ends its own claim, so successful live traffic does not
 * re-arm the log of checks that keep failing (nor the reverse). */
#define HKEPT_CHECKS  1
#define HKEPT_PASSIVE 2

/* Counters and state written by the control thread (checks) and by workers (passive
 * detection); read by anyone (pick, control API, metrics). All zero is a fresh backend.
 * Times are CLOCK_MONOTONIC milliseconds (clock_coarse_ms). */
struct backend_health {
	atomic_int reason;               /* enum health_reason of the last change of b->health */
	atomic_llong since_ms;           /* when b->health last changed; 0 = never */
	atomic_llong warm_end_ms;        /* slow start: ramp ends at this time; 0 = not warming */
	atomic_uint warm_ms;             /* length of the current ramp */
	atomic_int kept;                 /* HKEPT_* bits: should be down but the guard keeps it in */
	/* passive detection (workers) */
	atomic_uint consec_errors;       /* failed exchanges in a row */
	atomic_uint consec_connect;      /* failed connects in a row */
	atomic_uint ejections;           /* ejections in a row: sets the hold (backoff) */
	atomic_ullong ejections_total;
	atomic_llong ejected_at_ms;      /* start of the last ejection; 0 = never */
	atomic_llong eject_until_ms;     /* end of its hold: not up again before */
	/* active checks (control thread) */
	atomic_ullong checks;            /* checks completed */
	atomic_ullong checks_failed;     /* of which failed (refused, timeout, status, error) */
	atomic_int last_result;          /* enum health_result */
	atomic_int last_status;          /* HTTP status of the last http check; 0 = none */
	atomic_uint last_duration_ms;
	atomic_llong last_check_ms;      /* when the last check completed; 0 = never */
	atomic_ullong checks_excused;    /* of the failed: timeouts not counted, the backend was serving */
	/* live traffic (workers) */
	atomic_llong last_response_ms;   /* when a response from it last completed; 0 = never */
	void *check;                     /* control thread only: the struct health_check */
};

#endif
