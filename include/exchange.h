/* exchange.h: the per-worker free list of exchanges (struct exchange, include/conn.h):
 * a connection takes one when a request starts and gives it back when it ends, so an
 * idle keep-alive connection holds none and a request costs no malloc. */
#ifndef FULCRUM_EXCHANGE_H
#define FULCRUM_EXCHANGE_H

#include <stdint.h>

struct client;
struct exchange;

/* One per worker thread; not shared. */
struct exchange_pool {
	struct exchange *free;
	uint32_t nfree;
	uint32_t max_free;      /* keep at most this many cached: a burst's memory goes back */
};

void exchange_pool_init(struct exchange_pool *xp, uint32_t max_free);
void exchange_pool_destroy(struct exchange_pool *xp);

/* Gives c (which has none) an exchange for the request (http) or connection (tcp)
 * starting now: cleared, strings empty, t_start = c->head_started. Returns it (also in
 * c->ex), or NULL when out of memory. */
struct exchange *exchange_begin(struct client *c);
/* The exchange of c is over and the connection stays: its request head buffer and the
 * exchange go back; c->ex is NULL after. It must wait in no queue (a finished request
 * had a backend; a queued one is dequeued when it closes). */
void exchange_end(struct client *c);
/* Gives back x of a closed connection (client_free). NULL is ignored. */
void exchange_put(struct exchange_pool *xp, struct exchange *x);

#endif
