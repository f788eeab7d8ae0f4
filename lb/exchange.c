/* exchange.c: the per-worker free list of exchanges. An exchange is the few hundred
 * bytes only a request in flight needs; keeping them here instead of in every client
 * makes an idle connection small, and recycling them keeps malloc off the per-request
 * path (one pop when a request starts, one push when it ends). Beyond max_free they go
 * back to malloc, so the memory of a burst returns. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "exchange.h"
#include "http_compress.h"
#include "stats.h"
#include "worker.h"

void exchange_pool_init(struct exchange_pool *xp, uint32_t max_free)
{
	memset(xp, 0, sizeof(*xp));
	xp->max_free = max_free;
}

void exchange_pool_destroy(struct exchange_pool *xp)
{
	struct exchange *x;

	while ((x = xp->free)) {
		xp->free = x->next_free;
		free(x);
	}
	xp->nfree = 0;
}

struct exchange *exchange_begin(struct client *c)
{
	struct exchange_pool *xp = &c->w->exchanges;
	struct exchange *x = xp->free;

	if (x) {
		xp->free = x->next_free;
		xp->nfree--;
	} else if (!(x = malloc(sizeof(*x)))) {
		return NULL;
	}
	/* field by field: the compiler writes these 156 bytes as a few vector stores, where
	 * a memset that long becomes a slower rep stos (a new field must be added here) */
	x->producer = NULL;
	x->pool = NULL;
	x->route[0] = '\0';
	x->file_fd = -1;
	x->file_left = 0;
	x->route_cfg = NULL;
	x->sticky_set = 0;
	x->accept[0] = '\0';
	x->route_stats = NULL;
	x->share = NULL;
	x->backend = NULL;
	x->failed_backend = NULL;
	x->log_backend = NULL;
	memset(&x->waiter, 0, sizeof(x->waiter));  /* zeroed = not queued */
	x->budget = NULL;
	x->cache = NULL;
	x->compress_cfg = NULL;
	x->compress = NULL;
	x->req_head = NULL;
	x->req_body_sent = 0;
	x->bytes_in = x->bytes_out = 0;
	x->t_queued = x->t_connect_start = x->t_connected = x->t_first_byte = 0;
	x->t_req_done = x->t_resp_done = 0;
	x->req_ready = x->req_head_off = x->resp_ready = x->req_kept = 0;
	x->connect_attempts = 0;
	x->method = HTTP_M_OTHER;
	x->req_body = HTTP_BODY_NONE;
	x->status = 0;
	x->term = TERM_NONE;
	x->flags = 0;
	x->client = c;
	x->t_start = c->head_started;
	x->request_id[0] = '\0';
	x->target[0] = '\0';
	x->referer[0] = x->user_agent[0] = '\0';
	c->ex = x;
	return x;
}

void exchange_put(struct exchange_pool *xp, struct exchange *x)
{
	if (!x)
		return;
	if (x->req_buffered)
		body_free(&x->req_store);
	if (x->resp_buffered)
		body_free(&x->resp_store);
	x->req_buffered = x->resp_buffered = 0;
	if (x->compress) {
		/* a response cut short leaves its encoder here */
		compress_free(x->compress->s);
		free(x->compress);
		x->compress = NULL;
	}
	if (x->budget) {
		/* the request is over for the retry budget */
		stat_gauge_add(&x->budget->in_flight, -1);
		if (x->replayed)
			stat_gauge_add(&x->budget->replays_in_flight, -1);
		x->budget = NULL;
	}
	if (xp->nfree >= xp->max_free) {
		free(x);
		return;
	}
	x->client = NULL;
	x->next_free = xp->free;
	xp->free = x;
	xp->nfree++;
}

void exchange_end(struct client *c)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;

	if (x->req_head) {
		/* normally gone with the response head; kept only if none came */
		buf_put(&w->bufs, x->req_head);
		x->req_head = NULL;
	}
	c->ex = NULL;
	exchange_put(&w->exchanges, x);
}
