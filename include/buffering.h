/* buffering.h: request and response buffering's policy and accounting (lb/buffering.c);
 * the bodies themselves are include/body.h. */
#ifndef FULCRUM_BUFFERING_H
#define FULCRUM_BUFFERING_H

#include <stddef.h>

#include "body.h"
#include "http.h"

struct client;

/* What all buffered bodies of the process hold (the budgets; /metrics). */
extern struct body_usage buffer_usage;

/* Where spill files go when a pool names no buffer_dir: state_dir/buffers, created here
 * (0700). Called once at start, after privileges are dropped. 0 or -1 (ENOMEM). */
int buffering_set_default_dir(const char *state_dir);

/* 1 when c's listener and pool buffer request bodies (response = 0) or responses (1). */
int buffering_wanted(const struct client *c, int response);
/* Makes b an empty body under the limits of c's pool and process config. */
void buffering_body_init(const struct client *c, struct body *b);
/* body_append, counting what spilled in the pool's metrics and logging (rate-limited) a
 * spill directory that does not work. 0, or -1 with errno (ENOSPC: the disk budget). */
int buffering_append(struct client *c, struct body *b, const void *p, size_t n);
/* A request refused because its body did not fit (fulcrum_pool_buffer_refused_total). */
void buffering_refused(struct client *c);
/* 1 when a response with this head must stream rather than be buffered: server-sent
 * events, or the app said "X-Accel-Buffering: no". */
int buffering_response_streams(const char *base, const struct http_head *h);
/* Adds to the pool's backend seconds saved what c's exchange spared the backend, as it
 * ends at now: its upload time (request buffered) and its delivery after the backend
 * was let go (response buffered). */
void buffering_account_saved(struct client *c, double now);

#endif
