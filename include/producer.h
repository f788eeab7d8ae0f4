/* producer.h: where the answer of an exchange comes from. A protocol (lb/http_proxy.c,
 * lb/tunnel.c) reads a request; once it is ready (head rewritten for the backend, body
 * whole in the exchange's store or streaming) the protocol hands the exchange to a
 * producer, and the answer comes back through the protocol: a backend's through
 * conn_proto's upstream_ready and upstream_event (called by the connection core's
 * driver, lb/client.c, never by the producer), an answer made here through
 * send_answer. The protocol never learns which backend, queue or slot is behind it.
 * Today: a backend of the pool, local answers (fulcrum's own errors, routes' redirects
 * and fixed answers), a route's static files and a pool's cache. */
#ifndef FULCRUM_PRODUCER_H
#define FULCRUM_PRODUCER_H

#include "conn.h"

struct producer {
	const char *name;
	/* produce the answer of c->ex, whose request is ready */
	void (*start)(struct client *c);
	/* the answer is whole (delivered, or held whole in the exchange's store): let go
	 * of what made it, as a success; reusable: its connection may serve again */
	void (*done)(struct client *c, int reusable);
	/* the exchange ends before its answer was whole (an error, the client left, a
	 * drain deadline): let go of everything, counting no success */
	void (*abandon)(struct client *c);
	/* optional: the exchange is about to be answered with fulcrum's own error status,
	 * no response head sent yet; 1 when the producer answered otherwise (and let go of
	 * what failed), 0 to go on with the error */
	int (*fail)(struct client *c, int status);
};

/* A backend of the listener's pool: the wait queue, the pick, the backend connection,
 * retries (lb/backend_producer.c). */
extern const struct producer backend_producer;
/* The exchange's local answer (x->local), written by the protocol (lb/producer.c). */
extern const struct producer local_producer;
/* A static route's file (lb/static_files.c): the head in c->out, the body from x->file_fd. */
extern const struct producer static_producer;

/* A pool's cache (lb/http_cache.c): a stored response (the head in c->out, the body from
 * memory), or the wait for another request's fetch of it. */
extern const struct producer cache_producer;

/* Makes p the producer of c's exchange and starts it (the protocol's call down to the
 * producer: inline, it is two lines). */
static inline void exchange_produce(struct client *c, const struct producer *p)
{
	c->ex->producer = p;
	p->start(c);
}
/* The producer of c's exchange, if any, lets go of it (abandon); c->ex stays. */
void exchange_abandon(struct client *c);

#endif
