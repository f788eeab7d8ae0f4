/* health-int.h: what the files of health/ share and nothing outside needs: the check
 * object of one backend, the check kinds' entry points and the callback through which
 * they report, and the state transitions. */
#ifndef FULCRUM_HEALTH_INT_H
#define FULCRUM_HEALTH_INT_H

#include <ev.h>

#include "health.h"
#include "health_state.h"

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
	long long started_ms;            /* the same in clock_coarse_ms() time (ejections use it) */
	unsigned excused;                /* timeouts excused in this busy period; 0: the next is logged */
	struct health_http *http;        /* in flight (http_check.c) */
	struct health_tcp *tcp;          /* in flight (tcp_check.c) */
};

/* How a check kind reports a finished check of c to the scheduler (check.c), which hands
 * it to the kind's start function: the kinds call up only through it, never check.c by
 * name. Never called from inside a start function. status: the HTTP status, 0 for none;
 * detail describes the result for the log ("HTTP 200", "connection refused"). */
typedef void (*health_done_fn)(struct health_check *c, enum health_result r, int status,
			       const char *detail);

/* http_check.c: libcurl's multi-socket interface driven by the control loop. */
int health_http_init(struct ev_loop *loop);
void health_http_shutdown(void);
/* Starts an http check of c; its end comes through done. 0 or -1. */
int health_http_start(struct health_check *c, health_done_fn done);
void health_http_cancel(struct health_check *c);
unsigned health_http_in_flight(void);

/* tcp_check.c: a non-blocking connect on the control loop; its end comes through done.
 * 0, or -1 with errno. */
int health_tcp_start(struct ev_loop *loop, struct health_check *c, health_done_fn done);
void health_tcp_cancel(struct ev_loop *loop, struct health_check *c);

/* loop_stall.c: the longest time the control loop spent between waking and sleeping. */
void health_stall_start(struct ev_loop *loop);
void health_stall_stop(struct ev_loop *loop);

#endif
