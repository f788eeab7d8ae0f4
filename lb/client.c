/* client.c: the life of a client connection: accept, one timer driven by deadlines
 * derived from the state, event masks derived from state and buffers, backend
 * selection and queueing, error responses, the access-log line, deferred close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "access_line.h"
#include "client_limit.h"
#include "conn.h"
#include "mem_pipe.h"
#include "conn_io.h"
#include "conn_log.h"
#include "conn_state.h"
#include "health.h"
#include "http_keep.h"
#include "io_arm.h"
#include "log.h"
#include "producer.h"
#include "proxy_proto.h"
#include "queue.h"
#include "retry_budget.h"
#include "route_share.h"
#include "sock_io.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

static void on_client_io(struct ev_loop *loop, ev_io *io, int revents);
static void backend_let_go(struct client *c);
static int replay_budgeted(struct client *c);
static void on_client_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void on_upstream_io(struct ev_loop *loop, ev_io *io, int revents);
static void upstream_connected(struct client *c, struct upstream *u);
static void client_set_events(struct client *c, int events);
static void on_proxy_header(struct client *c);
static void client_start(struct client *c);
static void on_tls_handshake(struct client *c);
static int limit_admit(struct worker *w, const struct gen_listener *gl, const struct sockaddr *sa);
static void limit_release(struct client *c);
static void client_body_timeout(struct client *c);
static int replay_unread(struct client *c, enum termination why, int idempotent);
static int request_body_held(const struct exchange *x);
static void rewind_request(struct exchange *x);

void client_accept(struct worker *w, int fd, const struct sockaddr_storage *peer,
		   int listener_index, const struct conn_proto *proto)
{
	const struct gen_listener *gl = &w->gen->listeners[listener_index];
	struct client *c;
	socklen_t len = sizeof(c->local);
	int limited = 0;

	if (gl->cfg->accept_proxy) {
		size_t i;
		int trusted = 0;
		for (i = 0; i < gl->cfg->nproxy_trusted && !trusted; i++)
			trusted = addr_prefix_match(&gl->cfg->proxy_trusted[i], (const struct sockaddr *)peer);
		if (!trusted) {
			char a[ADDR_TEXT_MAX];
			log_warn("listener %s: PROXY header from untrusted %s refused", gl->cfg->name,
				 addr_format((const struct sockaddr *)peer, a, sizeof(a)));
			close(fd);
			return;
		}
	}
	/* behind a PROXY header the client's address is known only after it */
	if (!gl->cfg->accept_proxy &&
	    (limited = limit_admit(w, gl, (const struct sockaddr *)peer)) == -1) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (limited == 1) {
			struct client_limit_key k;

			client_limit_key(client_limit_shared(), gl->stats, (const struct sockaddr *)peer, &k);
			client_limit_release(client_limit_shared(), &k);
		}
		close(fd);
		return;
	}
	/* limit_release finds the count again from the listener and c->peer */
	c->limit_counted = limited == 1;
	c->w = w;
	c->gl = gl;
	c->proto = proto;
	addr_ip_set(&c->peer, (const struct sockaddr *)peer);
	c->last_activity = c->head_started = ev_now(w->loop);
	/* tcp: the connection is the exchange, and every close of one is logged (even
	 * during a TLS handshake or PROXY header), so it has one from the start */
	if ((gl->cfg->mode == LISTENER_TCP && !exchange_begin(c)) ||
	    (gl->tls && tls_conn_init(&c->tls, gl->tls, fd) == -1)) {
		limit_release(c);
		exchange_put(&w->exchanges, c->ex);
		free(c);
		close(fd);
		return;
	}
	c->gen = w->gen;
	generation_ref(c->gen);
	if (getsockname(fd, &c->local.sa, &len) == -1)
		memset(&c->local, 0, sizeof(c->local));
	client_join_worker(c, fd);
	atomic_fetch_add(&proc.connections, 1);
	atomic_fetch_add(&gl->group->active, 1);
	c->counted_in_listener = 1;
	stat_add(&gl->stats[w->id].accepted, 1);
	if (gl->cfg->accept_proxy) {
		c->state = CS_PROXY_HEADER;
		client_update(c);
		return;
	}
	client_start(c);
	client_update(c);
}

void client_join_worker(struct client *c, int fd)
{
	struct worker *w = c->w;

	c->id = ++w->next_conn_id;
	c->fd = fd;
	c->next = w->clients;
	if (c->next)
		c->next->prev = c;
	w->clients = c;
	w->nclients++;
	ev_io_init(&c->io, on_client_io, fd, 0);
	c->io.data = c;
	ev_timer_init(&c->timer, on_client_timer, 0., 0.);
	c->timer.data = c;
}

/* After accept (and the PROXY header): the TLS handshake when the listener has TLS,
 * then the connection (tcp) or the first request (http). */
static void client_start(struct client *c)
{
	if (c->tls.ssl && !c->tls.done) {
		/* nothing before the ClientHello belongs to the client stream */
		buf_put(&c->w->bufs, c->in);
		c->in = NULL;
		c->state = CS_TLS_HANDSHAKE;
		/* the ClientHello has usually arrived with the accept: try at once */
		on_tls_handshake(c);
		return;
	}
	c->proto->start(c);
}

static void on_tls_handshake(struct client *c)
{
	int r = conn_tls_handshake(c);

	if (r == -1)
		client_close(c, TERM_TLS_FAILED);
	if (r != 1)
		return;
	c->head_started = ev_now(c->w->loop);
	client_start(c);
}

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
	.start = client_pick_backend,
	.done = client_backend_done,
	.abandon = backend_let_go,
};

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
	limit_release(c);
	c->next = w->dead_clients;
	w->dead_clients = c;
}

void client_free(struct client *c)
{
	exchange_put(&c->w->exchanges, c->ex);
	generation_unref(c->gen);
	free(c);
}

/* ---- events and timers ---- */

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

static void on_client_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client *c = t->data;
	enum termination why;
	double at = conn_state_deadline(c, &why), now = ev_now(loop);

	if (at > now + 0.0005) {
		ev_timer_set(t, at - now, 0.);
		ev_timer_start(loop, t);
		c->timer_at = at;
		return;
	}
	switch (why) {
	case TERM_HEAD_TIMEOUT:
		if (c->state == CS_READING_HEAD) {
			client_error(c, 408, why, "request head not received in time");
			break;
		}
		client_close(c, why);
		break;
	case TERM_QUEUE_TIMEOUT:
		conn_stats_pool(c, why);
		queue_remove(c->w, c->ex);
		client_error(c, 503, why, "waited too long for a free backend");
		break;
	case TERM_CONNECT_TIMEOUT:
		client_backend_failed(c, why);
		break;
	case TERM_TLS_TIMEOUT:
		conn_tls_failed(c, TLS_FAIL_TIMEOUT, "handshake not complete within handshake_timeout_ms");
		client_close(c, why);
		break;
	case TERM_RESPONSE_TIMEOUT:
		/* counted against the backend; an idempotent request may go elsewhere */
		client_backend_failed(c, why);
		break;
	case TERM_CLIENT_BODY_TIMEOUT:
		client_body_timeout(c);
		break;
	default:
		client_close(c, why);
		break;
	}
}

static void on_client_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client *c = io->data;

	revents = c->fd < 0 ? revents & c->want : io_filter_revents(loop, io, c->fd, &c->events, c->want, revents);
	if (!revents)
		return;
	revents = conn_logical_events(c, revents);

	if (c->state == CS_PROXY_HEADER) {
		on_proxy_header(c);
	} else if (c->state == CS_TLS_HANDSHAKE) {
		on_tls_handshake(c);
	} else if (c->state == CS_LINGERING) {
		if (conn_linger_drain(c) != 0)
			client_close(c, c->ex ? c->ex->term : TERM_DONE);
	} else {
		c->proto->client_event(c, revents);
	}
	client_update(c);
}

/* The backend connection is up: counted, and the request (or tunnel) may go. */
static void upstream_connected(struct client *c, struct upstream *u)
{
	u->connected = 1;
	stat_add(&stats_at(u->backend->stats, u->w->id)->connects, 1);
	health_passive_connected(u->backend, c->ex->pool);
	if (c->gl->cfg->mode == LISTENER_TCP)
		health_passive_success(u->backend);  /* a tcp exchange has nothing else to judge */
	c->ex->t_connected = ev_now(u->w->loop);
	c->last_activity = c->ex->t_connected;
	c->proto->upstream_ready(c);
}

/* Events on the backend connection of a client (idle ones have upstream.c's callback). */
static void on_upstream_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct upstream *u = io->data;
	struct client *c = u->client;

	revents = io_filter_revents(loop, io, u->fd, &u->events, u->want, revents);
	if (!revents || !c)
		return;
	if (!u->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err)
			client_backend_failed(c, TERM_CONNECT_FAILED);
		else
			upstream_connected(c, u);
	} else {
		c->proto->upstream_event(c, u, revents);
	}
	client_update(c);
}

/* Reads and strips a PROXY v1/v2 header, then continues as the listener's mode. On a
 * TLS listener the bytes after the header are the ClientHello, which OpenSSL must read
 * from the socket itself: there the header is peeked, and only its own bytes taken. */
static void on_proxy_header(struct client *c)
{
	struct proxy_info pi;
	const char *err = NULL;
	int peek = c->tls.ssl != NULL;
	uint32_t had;
	ssize_t n;
	int r;

	if (!c->in && !(c->in = buf_get(&c->w->bufs))) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	had = buf_len(c->in);
	n = peek ? recv(c->fd, buf_tail(c->in), buf_room(c->in), MSG_PEEK)
		 : sock_read(c->fd, buf_tail(c->in), buf_room(c->in));
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		client_close(c, TERM_CLIENT_CLOSED);
		return;
	}
	if (n > 0)
		c->in->end += (uint32_t)n;
	r = proxy_parse(buf_head(c->in), buf_len(c->in), &pi, &err);
	if (peek && n > 0 && r >= 0) {
		/* incomplete: every peeked byte is header; complete: up to its end */
		size_t take = r == 0 ? (size_t)n : (size_t)r - had;

		c->in->end = c->in->start + had + (uint32_t)take;
		if (take && read(c->fd, buf_head(c->in) + had, take) != (ssize_t)take) {
			client_close(c, TERM_CLIENT_CLOSED);
			return;
		}
	}
	if (r == 0)
		return;
	if (r < 0) {
		conn_log(LOG_WARN, c, "listener %s: bad PROXY header: %s", c->gl->cfg->name,
			 err ? err : "invalid");
		client_close(c, TERM_BAD_REQUEST);
		return;
	}
	if (!pi.local) {
		addr_ip_set(&c->peer, (const struct sockaddr *)&pi.src);
		addr_ip_set(&c->local, (const struct sockaddr *)&pi.dst);
		c->peer_text_len = 0;
	}
	buf_consume(c->in, (uint32_t)r);
	/* the real client's address counts, not the balancer's (pi.local: the balancer's own) */
	r = limit_admit(c->w, c->gl, &c->peer.sa);
	if (r == -1) {
		client_close(c, TERM_LIMIT);
		return;
	}
	c->limit_counted = r == 1;
	c->last_activity = c->head_started = ev_now(c->w->loop);
	client_start(c);
}

/* Counts a connection from sa against the listener's max_conns_per_client. Returns 1
 * (counted: the client must be released with limit_release), 0 (not counted: no limit,
 * not an IP address, or out of memory) or -1 (over the limit: the caller closes the
 * connection; counted in the listener's stats and logged, at most a line a second). */
static int limit_admit(struct worker *w, const struct gen_listener *gl, const struct sockaddr *sa)
{
	struct client_limit *t = client_limit_shared();
	uint32_t max = gl->cfg->max_conns_per_client;
	struct client_limit_key k;
	uint64_t since;
	int r;

	/* the listener's stats blocks are its identity across reloads (one per name) */
	if (max == 0 || !t || !gl->stats || !client_limit_key(t, gl->stats, sa, &k))
		return 0;
	r = client_limit_acquire(t, &k, max);
	if (r != 0)
		return r == 1;
	stat_add(&gl->stats[w->id].refused_per_client, 1);
	if (client_limit_note_refused(t, (int64_t)(ev_now(w->loop) * 1000), &since)) {
		char a[ADDR_HOST_TEXT_MAX];

		log_warn("listener %s: %s%s already has max_conns_per_client = %u connections open; "
			 "closing new ones from it (%llu refused on all listeners since the last such line)",
			 gl->cfg->name, addr_format_host(sa, a, sizeof(a)),
			 sa->sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)
				 ? " (its /64)" : "",
			 max, (unsigned long long)since);
	}
	return -1;
}

/* Gives back what limit_admit counted for c, once. The key is made again rather than
 * kept (40 bytes on every connection): c->gl may be another generation's by now, but
 * of the same name, whose stats blocks are the same. */
static void limit_release(struct client *c)
{
	struct client_limit_key k;

	if (!c->limit_counted)
		return;
	c->limit_counted = 0;
	if (client_limit_key(client_limit_shared(), c->gl->stats, &c->peer.sa, &k))
		client_limit_release(client_limit_shared(), &k);
}

/* ---- backend selection ---- */

int client_follow_generation(struct client *c)
{
	struct generation *g = c->w->gen;
	struct gen_listener *gl;

	if (c->gen == g)
		return 0;
	gl = generation_follow_listener(g, c->gl);
	if (!gl)
		return -1;
	if (c->counted_in_listener && c->gl->group != gl->group) {
		atomic_fetch_sub(&c->gl->group->active, 1);
		atomic_fetch_add(&gl->group->active, 1);
	}
	/* a routed request keeps its pool, found by name among the new pools (NULL when
	 * the reload removed it: a 503 at the pick); the others take the listener's */
	if (c->ex && c->ex->route[0]) {
		size_t i;
		if (c->ex->pool)
			c->ex->pool = generation_find_pool(g, c->ex->pool->name);
		/* its edits too, from the new config: the old one may go with the old generation */
		c->ex->route_cfg = NULL;
		for (i = 0; i < gl->cfg->nroutes; i++)
			if (!strcmp(gl->cfg->routes[i].name, c->ex->route))
				c->ex->route_cfg = &gl->cfg->routes[i];
	}
	generation_ref(g);
	generation_unref(c->gen);
	c->gen = g;
	c->gl = gl;
	return 0;
}

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
		 * belongs to the oldest waiter, and queue_run hands it over once the batch
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

void client_to_backend(struct client *c, const struct producer *p)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;
	struct pool *pool = x->pool ? x->pool : c->gl->pool;  /* the route's, or the listener's */

	x->retries_left = pool ? pool->cfg->retries : 0;
	if (pool && pool->stats) {
		x->budget = &pool->stats[w->id];  /* in flight until the exchange is given back */
		stat_gauge_add(&x->budget->in_flight, 1);
	}
	c->state = CS_QUEUED;
	exchange_produce(c, p);
}

void client_queue_turn(struct exchange *x, struct backend *b)
{
	struct client *c = x->client;

	if (!b) {
		client_error(c, 503, TERM_NO_BACKEND, "no backend available");
		return;
	}
	x->backend = b;
	client_dispatch(c);
	/* called from the loop's prepare stage, where no event handler updates the masks
	 * afterwards: a request too large for one write must get its writability */
	client_update(c);
}

void client_dispatch(struct client *c)
{
	c->ex->t_connect_start = ev_now(c->w->loop);
	if (upstream_attach(c, on_upstream_io) == -1) {
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
	c->proto->upstream_ready(c);
}

/* The client stopped sending its body for response_timeout_ms and the backend, which
 * has not got the whole request, has not answered: the client's fault, so a 408 (as
 * nginx's client_body_timeout) and nothing for passive detection. The half-sent request
 * makes the backend connection unusable. */
static void client_body_timeout(struct client *c)
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

/* ---- output ---- */

int client_flush_out(struct client *c)
{
	ssize_t n;

	while (c->out && buf_len(c->out) > 0) {
		n = conn_write(c, buf_head(c->out), buf_len(c->out));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		if (c->ex)
			c->ex->bytes_out += (uint64_t)n;
		c->last_activity = ev_now(c->w->loop);
		buf_consume(c->out, (uint32_t)n);
	}
	if (c->out && buf_len(c->out) == 0 && c->state != CS_STREAMING) {
		buf_put(&c->w->bufs, c->out);
		c->out = NULL;
	}
	return 0;
}

void client_error(struct client *c, int status, enum termination why, const char *detail)
{
	client_error_retry(c, status, why, detail, status == 503 ? RETRY_AFTER_S : 0);
}

void client_error_retry(struct client *c, int status, enum termination why, const char *detail,
			unsigned retry_after_s)
{
	struct exchange *x = c->ex;
	const struct error_page *page;
	char body[256];
	int n;

	if (c->state == CS_CLOSED)
		return;
	/* without an exchange there is no request to answer (every caller has one) */
	if (!c->proto->send_answer || !x || x->resp_head_done) {
		/* nothing can be said in-band any more */
		client_close(c, why);
		return;
	}
	x->term = why;
	x->status = status;
	/* the backend's count before its slot goes (the log line comes at close) */
	if (x->backend || c->up) {
		struct backend *on_behalf = x->backend ? x->backend : c->up->backend;
		conn_stats_backend_done(c, on_behalf, status);
		x->log_backend = on_behalf;
	}
	/* the producer may answer otherwise (the cache, a stale entry within its
	 * stale-if-error window); the backend's failure is counted above */
	if (x->producer && x->producer->fail && x->producer->fail(c, status)) {
		x->term = TERM_DONE;
		return;
	}
	exchange_abandon(c);
	n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"detail\":\"%s\"}\n",
		     termination_name(why), detail);
	x->local = (struct local_answer){
		.status = status, .content_type = "application/json", .body = body,
		.body_len = n > 0 ? ((size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1) : 0,
		.retry_after_s = retry_after_s,
	};
	/* the operator's page for this status: the route's, else the listener's */
	page = http_error_page(c, status);
	if (page) {
		x->local.content_type = page->content_type;
		x->local.body = page->body;
		x->local.body_len = page->len;
	}
	/* written at once: the body on this stack is copied by the protocol */
	exchange_produce(c, &local_producer);
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

