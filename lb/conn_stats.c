/* conn_stats.c: what one request or connection adds to the counters of its listener,
 * pool and backend, in the worker's own blocks (include/stats.h): a few increments
 * and timings from the ev_now stamps the exchange already keeps. */
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
	const struct exchange *x = c->ex;
	struct backend_stats *s = stats_at(b->stats, c->w->id);
	double now = ev_now(c->w->loop);
	enum stats_class k = stats_class_of(status);

	stat_add(&s->requests[k], 1);
	if (k == STATS_5XX)
		stat_add(&s->errors, 1);
	/* a phase that did not happen (no connect, no response byte) is not observed */
	if (x->t_connect_start > 0)
		stats_hist_observe(&s->phase[STATS_QUEUE],
				   x->t_queued > 0 ? since(x->t_queued, x->t_connect_start) : 0);
	if (x->t_connected > 0)
		stats_hist_observe(&s->phase[STATS_CONNECT], since(x->t_connect_start, x->t_connected));
	if (x->t_first_byte > 0)
		stats_hist_observe(&s->phase[STATS_FIRST_BYTE], since(x->t_connected, x->t_first_byte));
	stats_hist_observe(&s->phase[STATS_TOTAL], since(x->t_start, now));
}

void conn_stats_request_done(struct client *c)
{
	const struct exchange *x = c->ex;
	struct backend *b;

	if (c->gl->cfg->mode == LISTENER_TCP)
		return;  /* a tcp connection is not a request: counted as accepted and connects */
	/* fulcrum's own request (a cache refresh) is no client's: the backend's alone */
	if (!c->internal || c->is_stream)
		stat_add(&c->gl->stats[c->w->id].requests[stats_class_of(x->status)], 1);
	if (x->route_stats) {
		struct route_stats *rs = &x->route_stats[c->w->id];
		stat_add(&rs->requests[stats_class_of(x->status)], 1);
		stats_hist_observe(&rs->duration, since(x->t_start, ev_now(c->w->loop)));
	}
	b = x->backend ? x->backend : c->up ? c->up->backend : NULL;
	if (b)
		conn_stats_backend_done(c, b, x->status);
}

void conn_stats_pool(struct client *c, enum termination why)
{
	const struct exchange *x = c->ex;
	struct pool_stats *s;

	if (!x->pool || !x->pool->stats)
		return;
	s = &x->pool->stats[c->w->id];
	if (why == TERM_QUEUE_TIMEOUT)
		stat_add(&s->queue_timeouts, 1);
	else if (why == TERM_QUEUE_FULL)
		stat_add(&s->queue_full, 1);
	else if (why == TERM_NO_BACKEND)
		stat_add(&s->no_backend, 1);
	else if (why == TERM_CLIENT_ABORTED_QUEUED)
		stat_add(&s->queue_abandoned, 1);
}
