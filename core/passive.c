/* passive.c: passive failure detection on live traffic (worker threads): failures in
 * a row eject a backend at once, with a hold that doubles when ejections repeat. */
#include <stdio.h>

#include "clock.h"
#include "health_state.h"

/* The runs are written only when they change: most responses are successes, and a
 * store on every one would bounce the backend's cache line between workers. */
void health_passive_success(struct backend *b)
{
	if (atomic_load_explicit(&b->hs.consec_errors, memory_order_relaxed))
		atomic_store_explicit(&b->hs.consec_errors, 0, memory_order_relaxed);
	if (atomic_load_explicit(&b->hs.consec_connect, memory_order_relaxed))
		atomic_store_explicit(&b->hs.consec_connect, 0, memory_order_relaxed);
	health_clear_kept(b);
}

void health_passive_failure_at(struct backend *b, const struct pool *p,
			       enum health_fail_kind kind, const char *what, long long now_ms)
{
	const struct cfg_passive *cfg = &p->cfg->passive;
	uint32_t conn, errs, n, hold;
	char detail[160];

	if (kind == HEALTH_FAIL_CONNECT)
		conn = atomic_fetch_add(&b->hs.consec_connect, 1) + 1;
	else
		conn = atomic_load(&b->hs.consec_connect);
	errs = atomic_fetch_add(&b->hs.consec_errors, 1) + 1;
	if (!health_passive_trips(cfg, conn, errs))
		return;
	n = health_eject_next(atomic_load(&b->hs.ejections), atomic_load(&b->hs.ejected_at_ms),
			      now_ms, cfg->eject_ms, cfg->eject_max_ms);
	hold = health_eject_hold_ms(cfg->eject_ms, cfg->eject_max_ms, n);
	if (cfg->connect_failures && conn >= cfg->connect_failures)
		snprintf(detail, sizeof(detail), "live traffic: %u failed connect%s in a row (%s)", conn,
			 conn == 1 ? "" : "s", what);
	else
		snprintf(detail, sizeof(detail), "live traffic: %u failed exchange%s in a row (last: %s)", errs,
			 errs == 1 ? "" : "s", what);
	/* Without active checks nothing else would bring it back: one request may try it
	 * when the hold is over. With checks, they decide (rise passes, after the hold). */
	if (health_mark_down(b, p, HREASON_PASSIVE, now_ms, now_ms + hold,
			     p->cfg->health.type == HEALTH_NONE, n, detail) == 1) {
		atomic_store(&b->hs.consec_errors, 0);
		atomic_store(&b->hs.consec_connect, 0);
	}
}

void health_passive_failure(struct backend *b, const struct pool *p, enum health_fail_kind kind,
			    const char *what)
{
	health_passive_failure_at(b, p, kind, what, clock_coarse_ms());
}

void health_passive_connected_at(struct backend *b, const struct pool *p, long long now_ms)
{
	long long at;

	if (atomic_load_explicit(&b->hs.consec_connect, memory_order_relaxed))
		atomic_store_explicit(&b->hs.consec_connect, 0, memory_order_relaxed);
	at = atomic_load_explicit(&b->retry_at_ms, memory_order_relaxed);
	/* a connect that began before the ejection says nothing about now */
	if (at == 0 || now_ms < at)
		return;
	health_mark_up(b, HREASON_TRIAL_OK, now_ms, p->cfg->slow_start_s * 1000u,
		       "a connect after the ejection's hold succeeded");
}

void health_passive_connected(struct backend *b, const struct pool *p)
{
	health_passive_connected_at(b, p, clock_coarse_ms());
}

int health_passive_status_fails(const struct pool *p, int status)
{
	/* off by default: any client can make an app answer 500 (a bad parameter, an
	 * unhandled path), so counting them would let anyone eject every backend */
	return p->cfg->passive.eject_on_5xx && health_status_match(&p->cfg->passive.error_set, status);
}

void health_passive_response(struct backend *b, const struct pool *p, int status)
{
	char what[32];

	if (!health_passive_status_fails(p, status)) {
		health_passive_success(b);
		return;
	}
	snprintf(what, sizeof(what), "HTTP %d", status);
	health_passive_failure(b, p, HEALTH_FAIL_EXCHANGE, what);
}
