/* backend_producer.c: the answer of an exchange from a backend of its pool (the
 * backend producer, include/backend_producer.h): the wait queue, the pick, the backend
 * connection (new, or from the idle pool), the failures counted for passive health and
 * the replays they allow (another backend, the keep-alive race, the retry budget), and
 * the backend's slot and connection let go when the answer is whole or the exchange
 * ends before. Below the protocols: a connection that is ready is left for the driver
 * (lb/client.c) to hand to the protocol. */
#include <errno.h>
#include <stdatomic.h>

#include "backend_producer.h"
#include "conn.h"
#include "conn_arm.h"
#include "conn_close.h"
#include "conn_error.h"
#include "conn_generation.h"
#include "conn_state.h"
#include "health.h"
#include "producer.h"
#include "queue.h"
#include "retry_budget.h"
#include "route_share.h"
#include "stats.h"
#include "worker.h"

static void backend_let_go(struct client *c);
static int replay_budgeted(struct client *c);
static int replay_unread(struct client *c, enum termination why, int idempotent);
static int request_body_held(const struct exchange *x);
static void rewind_request(struct exchange *x);

/* Lets go of what the backend side of c's exchange holds: its place in the wait queue,
 * the backend connection (closed: its exchange is cut short) and the backend slot. */
static void backend_let_go(struct client *c)
{
	struct exchange *x = c->ex;

	queue_remove(c->w, x);
	if (c->up) {
		upstream_release(c->up, 0);
		c->up = NULL;
	}
	if (x && x->backend) {
		queue_release_slot(c->w, x, x->backend);
		x->backend = NULL;
	}
}

void client_backend_done(struct client *c, int reusable)
{
	struct exchange *x = c->ex;
	struct backend *b = x->backend;

	if (b) {
		/* a failing status was counted at the head; the rest is judged whole */
		if (!health_passive_status_fails(x->pool, x->status))
			health_passive_success(b);
		conn_stats_backend_done(c, b, x->status);
	}
	if (c->up) {
		upstream_release(c->up, reusable);
		c->up = NULL;
	}
	if (b) {
		x->log_backend = b;  /* c->gen, which holds b, stays until the exchange ends */
		x->backend = NULL;
		backend_request_done(b, x->t_first_byte - x->t_connect_start);
		if (x->share_held)
			route_share_request_done(x->share, x->pool, x->t_first_byte - x->t_connect_start);
		queue_release_slot(c->w, x, b);
	}
}

const struct producer backend_producer = {
	.name = "backend",
	.start = client_to_backend,
	.done = client_backend_done,
	.abandon = backend_let_go,
};

void client_pick_backend(struct client *c)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;
	struct worker_pool *wp;
	struct backend *b = NULL;
	int r;

	/* a request that waited across a reload uses the new pools */
	if (client_follow_generation(c) == -1) {
		client_error(c, 503, TERM_NO_BACKEND, "listener removed by reload");
		return;
	}
	if (!x->route[0])
		x->pool = c->gl->pool;  /* a routed request's pool was set by its route */
	wp = queue_pool_of(w, x->pool);
	if (!x->pool || !wp) {
		client_error(c, 503, TERM_NO_BACKEND, "no pool");
		return;
	}
	if (wp->queue.len && wp->queue.len < wp->queue.max) {
		/* Requests are already waiting: this one joins the end of the line even if a
		 * slot is free at this instant. A slot freed earlier in this batch of events
		 * belongs to the oldest waiter, and the queue hands it over once the batch
		 * is done (kick_pending); picking here would let a new request overtake
		 * older ones, and every overtaking adds a service time to someone's wait,
		 * which is what the tail latency shows. */
		w->kick_pending = 1;
	} else {
		/* PICK_FULL, or QUEUE_ROUTE_FULL (the route is at its share): queued below */
		r = queue_pick(w, x, wp, &b);
		if (r == PICK_OK) {
			x->backend = b;
			client_dispatch(c);
			return;
		}
		if (r == PICK_NONE) {
			conn_stats_pool(c, TERM_NO_BACKEND);
			client_error(c, 503, TERM_NO_BACKEND, "no backend available");
			return;
		}
	}
	if (x->background) {
		/* nobody waits for it: it yields to the requests that someone does */
		client_error(c, 503, TERM_QUEUE_FULL, "no free backend slot for a background request");
		return;
	}
	if (queue_push(w, c->ex) == -1) {
		conn_stats_pool(c, TERM_QUEUE_FULL);
		client_error(c, 503, TERM_QUEUE_FULL, "wait queue full");
		return;
	}
	c->state = CS_QUEUED;
	if (x->t_queued == 0)
		x->t_queued = ev_now(w->loop);
	client_update(c);
}

/* The backend producer's start: an HTTP request gets its retries and counts in flight
 * for its pool's retry budget (a tcp connection's tunnel set its own retries and counts
 * in no budget), then it queues or picks. */
void client_to_backend(struct client *c)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;
	struct pool *pool = x->pool ? x->pool : c->gl->pool;  /* the route's, or the listener's */

	if (c->gl->cfg->mode != LISTENER_TCP) {
		x->retries_left = pool ? pool->cfg->retries : 0;
		if (pool && pool->stats) {
			x->budget = &pool->stats[w->id];  /* in flight until the exchange is given back */
			stat_gauge_add(&x->budget->in_flight, 1);
		}
	}
	c->state = CS_QUEUED;
	client_pick_backend(c);
}

void client_dispatch(struct client *c)
{
	c->ex->t_connect_start = ev_now(c->w->loop);
	if (upstream_attach(c, c->w->upstream_io) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* out of descriptors or memory here: not the backend's fault, so no
			 * passive failure and no tour of the other backends */
			queue_release_slot(c->w, c->ex, c->ex->backend);
			c->ex->backend = NULL;
			client_error(c, 503, TERM_CONNECT_FAILED, "out of descriptors for a backend connection");
			return;
		}
		client_backend_failed(c, TERM_CONNECT_FAILED);
		return;
	}
	if (c->state == CS_CLOSED)
		return;
	if (!c->up->connected) {
		c->state = CS_CONNECTING;  /* on_upstream_io goes on once it is */
		client_update(c);
		return;
	}
	/* a connection from the idle pool: the request may go at once. The driver tells the
	 * protocol (client_run_ready) once the call that got here returns: this file calls
	 * nothing above it */
	if (!c->up->ready) {
		c->up->ready = 1;
		c->up->ready_next = c->w->ready;
		c->w->ready = c->up;
	}
}

/* The client stopped sending its body for response_timeout_ms and the backend, which
 * has not got the whole request, has not answered: the client's fault, so a 408 (as
 * nginx's client_body_timeout) and nothing for passive detection. The half-sent request
 * makes the backend connection unusable. */
void client_body_timeout(struct client *c)
{
	struct exchange *x = c->ex;

	if (c->up) {
		upstream_release(c->up, 0);
		c->up = NULL;
	}
	if (x->backend) {
		/* named in the log line, but the 408 is not counted as the backend's answer */
		x->log_backend = x->backend;
		queue_release_slot(c->w, x, x->backend);
		x->backend = NULL;
	}
	client_error(c, 408, TERM_CLIENT_BODY_TIMEOUT, "request body not received in time");
}

/* 1 when every body byte sent on this attempt can be sent again: a buffered body is
 * whole in its store; a streamed one only while all it sent is still kept (keep_body). */
static int request_body_held(const struct exchange *x)
{
	return x->req_buffered || x->req_body_sent == x->req_kept;
}

/* Makes the request ready to go again from its first byte: the head (kept until the
 * response starts) and the body bytes kept by keep_body. The caller made sure no other
 * body byte was sent (req_body_sent == req_kept). */
static void rewind_request(struct exchange *x)
{
	x->req_ready += x->req_kept;
	x->bytes_in -= x->req_kept;
	x->req_body_sent = 0;
	x->req_kept = 0;
	x->keep_body = 0;
	x->req_head_sent = 0;
	x->req_head_off = 0;
	x->req_done = 0;
	x->t_first_byte = 0;  /* a bad response head read bytes: the next attempt starts over */
}

/* The keep-alive race: a backend closes an idle connection at its keep-alive timeout
 * just as fulcrum writes the next request on it. The request then fails before any
 * response byte, and a POST could not be replayed by the usual rule. It is replayed,
 * whatever its method, once and on a new connection to the same backend, when it is
 * provably unread: the connection was reused (requests > 1), nothing came back, the
 * backend closed or reset it, and its kernel acknowledged none of the request's bytes
 * (upstream_request_unacked: its application cannot have read what its kernel never
 * accepted). A backend that took the request and then closed has acknowledged it, and
 * gets the usual rules (a passive failure) - except an idempotent request, which goes
 * again on a new connection to the same backend whatever was acknowledged, as nginx does
 * with a failed cached connection: a backend (gunicorn's gthread among them) may close an
 * idle connection after its kernel accepted the next request, and that is no sign of a
 * failing backend, so it neither counts towards passive ejection nor spends the pool's
 * retries and retry budget. The body can go again
 * because on a reused connection its bytes stay in the client buffer until the response
 * begins (keep_body, set when the whole body had arrived before the request was sent).
 * Returns 1 when the request was replayed (or ended), 0 when the rule does not apply. */
static int replay_unread(struct client *c, enum termination why, int idempotent)
{
	struct exchange *x = c->ex;

	if (why != TERM_BACKEND_CLOSED || !c->up || x->t_first_byte != 0 || !x->backend ||
	    !request_body_held(x) || c->up->requests < 2 ||
	    (!idempotent && !upstream_request_unacked(c->up)))
		return 0;
	upstream_release(c->up, 0);
	c->up = NULL;
	rewind_request(x);
	x->fresh_conn = 1;  /* a new connection cannot race, so this happens once */
	client_dispatch(c);  /* the slot on x->backend is still held */
	return 1;
}

/* The backend connection failed before any response byte, or its response head was
 * unusable before anything went to the client (TERM_BAD_RESPONSE). A request lost to
 * the keep-alive race goes again first (replay_unread). Otherwise the failure counts for
 * passive detection (core/passive.c), which may eject the backend, unless the backend
 * closed while the client still owed body bytes. A failed connect means the
 * request never reached the backend: it goes to another one, whatever its method,
 * until every backend was tried (503: none could be reached). A failure after the
 * request was sent is replayed once on another backend only for idempotent requests
 * whose body we still hold; otherwise 502 (504 for timeouts). A response timeout is
 * replayed only when the pool asks for it (retry_on_response_timeout, as HAProxy's
 * retry-on response-timeout is opt-in: the backend may still be working on it, and the
 * client waits twice) and only onto another backend: the one that kept silent would
 * likely do so again. */
void client_backend_failed(struct client *c, enum termination why)
{
	struct exchange *x = c->ex;
	struct backend *b = x->backend;
	int tcp = c->gl->cfg->mode == LISTENER_TCP;
	int never_sent = why == TERM_CONNECT_FAILED || why == TERM_CONNECT_TIMEOUT;
	int idempotent = x->method == HTTP_M_GET || x->method == HTTP_M_HEAD ||
			 x->method == HTTP_M_OPTIONS || x->method == HTTP_M_PUT ||
			 x->method == HTTP_M_DELETE || x->method == HTTP_M_TRACE;
	int retry, status;

	if (!tcp && !never_sent && replay_unread(c, why, idempotent))
		return;
	if (b) {
		atomic_fetch_add(&b->failures, 1);
		if (never_sent)
			stat_add(&stats_at(b->stats, c->w->id)->connect_failures, 1);
		/* a backend that gives up on a client still sending its body (its own body
		 * timeout) is not failing: the client is */
		if (never_sent || why != TERM_BACKEND_CLOSED || !conn_state_owes_body(x))
			health_passive_failure(b, x->pool, never_sent ? HEALTH_FAIL_CONNECT
								      : HEALTH_FAIL_EXCHANGE,
					       termination_name(why));
	}
	if (c->up) {
		upstream_release(c->up, 0);
		c->up = NULL;
	}
	if (b) {
		x->failed_backend = b;  /* compared by address only, never dereferenced later */
		queue_release_slot(c->w, x, b);
		x->backend = NULL;
	}
	if (never_sent || tcp)
		retry = ++x->connect_attempts <= (x->pool ? x->pool->nbackends : 0);
	else if ((retry = x->retries_left > 0 && idempotent && request_body_held(x) &&
		  (why != TERM_RESPONSE_TIMEOUT ||
		   (x->pool && x->pool->cfg->retry_on_response_timeout &&
		    pool_has_other_eligible(x->pool, b))) &&
		  replay_budgeted(c)))
		x->retries_left--;
	if (retry) {
		/* the head goes again; req_done from the failed attempt would stop it */
		rewind_request(x);
		c->state = CS_QUEUED;
		client_pick_backend(c);
		return;
	}
	if (tcp) {
		client_close(c, why);
		return;
	}
	/* every backend refused: the same 503 as when none is eligible (passive detection
	 * leaves some in rotation when max_down_percent forbids ejecting them all) */
	status = why == TERM_CONNECT_TIMEOUT || why == TERM_RESPONSE_TIMEOUT ? 504
		 : why == TERM_CONNECT_FAILED ? 503 : 502;
	/* the answer is this backend's: b is still alive, c->gen (which holds it) unchanged */
	if (b) {
		conn_stats_backend_done(c, b, status);
		x->log_backend = b;
	}
	client_error(c, status,
		     why, why == TERM_CONNECT_TIMEOUT ? "backend connect timed out"
		     : why == TERM_RESPONSE_TIMEOUT ? "backend did not answer in time"
		     : why == TERM_CONNECT_FAILED ? "no backend could be reached"
		     : why == TERM_BAD_RESPONSE ? "the backend's response head is malformed"
						  : "backend closed the connection before answering");
}

/* A replay may go when the pool's retry budget has room: replays in flight on this worker
 * within retry_budget_percent of its requests in flight; counted either way
 * (fulcrum_pool_retries_total, fulcrum_pool_retry_budget_refused_total). */
static int replay_budgeted(struct client *c)
{
	struct exchange *x = c->ex;
	struct pool_stats *s = x->budget;
	int ok;

	if (!s || !x->pool)
		return 0;
	ok = retry_budget_allows(atomic_load_explicit(&s->in_flight, memory_order_relaxed),
				 x->replayed ? atomic_load_explicit(&s->replays_in_flight,
								    memory_order_relaxed) - 1
					     : atomic_load_explicit(&s->replays_in_flight,
								    memory_order_relaxed),
				 x->pool->cfg->retry_budget_percent);
	stat_add(ok ? &s->replays : &s->replays_refused, 1);
	if (ok && !x->replayed) {
		x->replayed = 1;
		stat_gauge_add(&s->replays_in_flight, 1);
	}
	return ok;
}
