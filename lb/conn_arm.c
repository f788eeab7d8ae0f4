/* conn_arm.c: a connection's watchers and timer armed from its state: the events its
 * state and buffers want (lb/conn_state.c decides them), its backend connection's, and
 * the one timer at the earliest deadline. Called after every change of state; it calls
 * nothing that changes one (include/conn_arm.h). */
#include "conn.h"
#include "conn_arm.h"
#include "conn_io.h"
#include "conn_state.h"
#include "io_arm.h"
#include "mem_pipe.h"
#include "worker.h"

static void client_set_events(struct client *c, int events);

static void client_set_events(struct client *c, int events)
{
	c->want = events;
	if (c->is_stream) {
		/* no socket to arm: what the transport can satisfy now is fed */
		c->events = events;
		mem_pipe_kick(c->ext);
		return;
	}
	c->events = io_arm(c->w->loop, &c->io, c->fd, c->events, events);
}

void client_update(struct client *c)
{
	enum termination why;
	double at, now;
	int wanted;

	if (c->state == CS_CLOSED)
		return;
	wanted = conn_state_client_events(c);
	client_set_events(c, conn_physical_events(c, wanted));
	if (wanted & EV_READ)
		conn_kick_pending(c);
	if (c->up && !c->up->closed)
		upstream_update(c->up);
	at = conn_state_deadline(c, &why);
	/* re-arm only when the deadline moved earlier; later moves are caught on expiry */
	if (!ev_is_active(&c->timer) || at < c->timer_at - 0.001) {
		now = ev_now(c->w->loop);
		ev_timer_stop(c->w->loop, &c->timer);
		ev_timer_set(&c->timer, at > now ? at - now : 0.0001, 0.);
		ev_timer_start(c->w->loop, &c->timer);
		c->timer_at = at;
	}
}
