/* backend_producer.h: the answer of an exchange from a backend of its pool
 * (lb/backend_producer.c; the producer itself is backend_producer in producer.h). */
#ifndef FULCRUM_BACKEND_PRODUCER_H
#define FULCRUM_BACKEND_PRODUCER_H

#include "conn.h"

/* The backend producer's start (a wrapping producer's too, the cache's fill): an HTTP
 * request gets its retries and counts in flight for its pool's retry budget, then it
 * queues or picks. */
void client_to_backend(struct client *c);
/* Starts selection for the current request (http) or connection (tcp), again after a
 * failure: the queue, or a backend slot and its connection. */
void client_pick_backend(struct client *c);
/* Continues a request that got a backend slot (after pick or the queue): a new
 * connection (the driver's on_upstream_io goes on once it is up) or one from the idle
 * pool (put on the worker's ready list: client_run_ready). */
void client_dispatch(struct client *c);
/* The backend connection failed before any response byte (or its head was unusable):
 * counted, replayed where it may be, else fulcrum's own 502/503/504. */
void client_backend_failed(struct client *c, enum termination why);
/* The backend answered c's exchange whole (delivered, or held whole in the exchange's
 * store): its success and per-backend counters count, its connection goes back to the
 * idle pool when reusable (else closes) and its slot to the next request waiting. The
 * access-log line still names it (log_backend). Nothing when no backend is held. */
void client_backend_done(struct client *c, int reusable);
/* The client stopped sending its body for response_timeout_ms and the backend has not
 * answered: a 408, nothing for passive detection. */
void client_body_timeout(struct client *c);

#endif
