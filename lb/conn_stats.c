/* conn_stats.c: what one request or connection adds to the counters of its listener,
 * pool and backend, in the worker's own blocks (include/stats.h): a few increments
 * and timings from the ev_now stamps the connection already keeps. */
#include "conn.h"
#include "stats.h"
#include "worker.h"

static double since(double from, double to);

/* Seconds from from to to, 0 when either is unset or the clock went backwards. */
static double since(double from, double to)
{
	return from > 0 && to > from ? to - from : 0;
}

void conn_stats_backend_done(struct client *c, struct backend *b, int status)
{
	struct backend_stats *s = stats_at(b->stats, c->w->id);
	double now = ev_now(c->w->loop);
	enum stats_class k = stats_class_of(status);

	stat_add(&s->requests[k], 1);
	if (k == STATS_5XX)
		stat_add(&s->errors, 1);
	/* a phase that did not happen (no connect, no response byte) is not observed */
	if (c->t_connect_start > 0)
		stats_hist_observe(&s->phase[STATS_QUEUE],
				   c->t_queued > 0 ? since(c->t_queued, c->t_connect_start) : 0);
	if (c->t_connected > 0)
		stats_hist_observe(&s->phase[STATS_CONNECT], since(c->t_connect_start, c->t_connected));
	if (c->t_first_byte > 0)
		stats_hist_observe(&s->phase[STATS_FIRST_BYTE], since(c->t_connected, c->t_first_byte));
	stats_hist_observe(&s->phase[STATS_TOTAL], since(c->t_start, now));
}

void conn_stats_request_done(struct client *c)
{
	struct backend *b;

	if (c->gl->cfg->mode == LISTENER_TCP)
		return;  /* a tcp connection is not a request: counted as accepted and connects */
	stat_add(&c->gl->stats[c->w->id].requests[stats_class_of(c->status)], 1);
	b = c->backend ? c->backend : c->up ? c->up->backend : NULL;
	if (b)
		conn_stats_backend_done(c, b, c->status);
}

void conn_stats_pool(struct client *c, enum termination why)
{
	struct pool_stats *s;

	if (!c->pool || !c->pool->stats)
		return;
	s = &c->pool->stats[c->w->id];
	if (why == TERM_QUEUE_TIMEOUT)
		stat_add(&s->queue_timeouts, 1);
	else if (why == TERM_QUEUE_FULL)
		stat_add(&s->queue_full, 1);
	else if (why == TERM_NO_BACKEND)
		stat_add(&s->no_backend, 1);
}
