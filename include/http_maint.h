/* http_maint.h: requests of a pool or route in maintenance (the control API's
 * POST /v1/maintenance) answered 503 here, without a backend (lb/http_maint.c). */
#ifndef FULCRUM_HTTP_MAINT_H
#define FULCRUM_HTTP_MAINT_H

struct client;
struct cfg_maint;

/* When m is on: answers c's current request 503 with m's Retry-After and the error page
 * of its route or listener (termination maintenance) and returns 1; c may be closed on
 * return. Else 0 and nothing happened. One flag read of the immutable generation. */
int http_maint_answer(struct client *c, const struct cfg_maint *m);

/* http_maint_answer for the pool c's current request goes to: its route's, else the
 * listener's default pool (none: 0). */
int http_maint_pool(struct client *c);

#endif
