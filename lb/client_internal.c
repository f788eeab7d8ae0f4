/* client_internal.c: owns the connections fulcrum makes itself (include/conn.h): an
 * internal connection runs one exchange with no client socket behind it (a cache's
 * background refresh over a socketpair, lb/detached_exchange.c) or carries an HTTP/2
 * stream over an in-memory transport (lb/mem_pipe.c, lb/h2_conn.c). Both are clients
 * of the connection core like any other, in the worker's list (a shutdown waits for
 * them), not counted as connections. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "mem_pipe.h"
#include "worker.h"

struct client *client_new_internal(struct worker *w, const struct client *like, int fd)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->w = w;
	c->gen = like->gen;
	generation_ref(c->gen);
	c->gl = like->gl;
	c->proto = like->proto;
	c->peer = like->peer;
	c->local = like->local;
	/* the address as text, formatted once per connection, not once per stream */
	memcpy(c->peer_text, like->peer_text, like->peer_text_len);
	c->peer_text_len = like->peer_text_len;
	c->internal = 1;
	c->last_activity = c->head_started = ev_now(w->loop);
	client_join_worker(c, fd);
	return c;
}

struct client *client_new_stream(struct worker *w, struct client *parent, struct mem_pipe *p)
{
	struct client *c;
	size_t len;

	client_peer_text(parent, &len);  /* formatted once, on the connection: its streams copy it */
	if (!(c = client_new_internal(w, parent, -1)))
		return NULL;
	c->ext = p;
	c->is_stream = 1;
	p->c = c;
	p->parent = parent;
	return c;
}
