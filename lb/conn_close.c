/* conn_close.c: the end of a client connection: its close (idempotent; the log line of
 * a request in progress, its producer let go, the socket and buffers given back, the
 * memory freed after the current callback), and the linger after a last answer
 * (include/conn_close.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn.h"
#include "conn_arm.h"
#include "conn_close.h"
#include "conn_io.h"
#include "conn_limit.h"
#include "conn_log.h"
#include "mem_pipe.h"
#include "producer.h"
#include "tls.h"
#include "worker.h"

void client_close(struct client *c, enum termination why)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;

	if (c->state == CS_CLOSED)
		return;
	/* a request or tcp connection in progress still gets its log line; an idle
	 * connection has no exchange and gets none */
	if (x) {
		if (x->term == TERM_NONE)
			x->term = why;
		if (c->in_request || c->gl->cfg->mode == LISTENER_TCP)
			conn_log_request(c);
	}
	exchange_abandon(c);
	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->timer);
	if (c->is_stream) {
		/* the stream's owner learns it from its transport: nothing more will come */
		struct mem_pipe *p = c->ext;

		c->ext = NULL;
		c->is_stream = 0;
		p->c = NULL;
		mem_pipe_shutdown(p);
	}
	if (c->proto->close)
		c->proto->close(c);
	/* a peer that is gone or broke the protocol gets no close_notify */
	if (why == TERM_CLIENT_CLOSED || why == TERM_TLS_FAILED || why == TERM_TLS_TIMEOUT)
		c->tls.shut = 1;
	if (c->state == CS_CLOSING && c->fd >= 0)
		conn_linger_close(c);
	tls_conn_close(&c->tls);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = CS_CLOSED;
	buf_put(&w->bufs, c->in);
	buf_put(&w->bufs, c->out);
	c->in = c->out = NULL;
	if (x) {
		/* the exchange itself stays until client_free: callbacks on the way out may
		 * still read it */
		buf_put(&w->bufs, x->req_head);
		x->req_head = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		w->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nclients--;
	if (!c->internal)
		atomic_fetch_sub(&proc.connections, 1);
	if (c->counted_in_listener)
		atomic_fetch_sub(&c->gl->group->active, 1);
	conn_limit_release(c);
	c->next = w->dead_clients;
	w->dead_clients = c;
}

void client_free(struct client *c)
{
	exchange_put(&c->w->exchanges, c->ex);
	generation_unref(c->gen);
	free(c);
}

void client_linger(struct client *c)
{
	struct exchange *x = c->ex;  /* set: only an answered request lingers */

	/* a client that already closed its side, or sent everything it meant to, needs no
	 * linger; one still sending (a body over the limit, say) would get a reset for the
	 * bytes arriving after close(), and a reset can destroy our unread answer */
	if (c->in_eof || (c->in_request && x->req_framed) || c->is_stream) {
		client_close(c, x->term ? x->term : TERM_DONE);
		return;
	}
	/* the request ends now: its log line and counters must not include the linger (the
	 * exchange stays with the connection until it is freed) */
	if (c->in_request) {
		if (x->term == TERM_NONE)
			x->term = TERM_DONE;
		conn_log_request(c);
		c->in_request = 0;
	}
	conn_shutdown_write(c);
	c->state = CS_LINGERING;
	c->last_activity = ev_now(c->w->loop);
	client_update(c);
}
