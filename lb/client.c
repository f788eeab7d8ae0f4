/* client.c: the connection core's driver, the top of the data path: a client's life
 * from accept (the PROXY header, the TLS handshake) to its protocol's start, and every
 * event of its sockets and its timer. Each event goes down: to the protocol through its
 * table (struct conn_proto), to the backend producer on a failed connect or a timeout;
 * then what the layers below left for the protocol is handed to it (client_run_ready)
 * and the watchers are armed again (client_update). Nothing below calls back into this
 * file: the calls of one request go one way (docs/internals/layers.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_producer.h"
#include "client_limit.h"
#include "conn.h"
#include "conn_arm.h"
#include "conn_close.h"
#include "conn_error.h"
#include "conn_io.h"
#include "conn_limit.h"
#include "conn_state.h"
#include "health.h"
#include "io_arm.h"
#include "log.h"
#include "proxy_proto.h"
#include "queue.h"
#include "sock_io.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

static void on_client_io(struct ev_loop *loop, ev_io *io, int revents);
static void on_client_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void on_upstream_io(struct ev_loop *loop, ev_io *io, int revents);
static void upstream_connected(struct client *c, struct upstream *u);
static void on_proxy_header(struct client *c);
static void client_start(struct client *c);
static void on_tls_handshake(struct client *c);
static void client_settle(struct client *c);
static void run_ready(struct worker *w, struct client *settling);

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
	    (limited = conn_limit_admit(w, gl, (const struct sockaddr *)peer)) == -1) {
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
	/* conn_limit_release finds the count again from the listener and c->peer */
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
		conn_limit_release(c);
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
	client_settle(c);
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

/* ---- events and timers ---- */

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
	if (c->w->ready)
		client_run_ready(c->w);  /* a retry may have found an idle connection */
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
	client_settle(c);
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
	client_settle(c);
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
	r = conn_limit_admit(c->w, c->gl, &c->peer.sa);
	if (r == -1) {
		client_close(c, TERM_LIMIT);
		return;
	}
	c->limit_counted = r == 1;
	c->last_activity = c->head_started = ev_now(c->w->loop);
	client_start(c);
}

/* ---- the queue's turns and the ready list ---- */

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
	client_settle(c);
}

void client_run_ready(struct worker *w)
{
	run_ready(w, NULL);
}

/* client_run_ready, but settling (the client whose event is ending, re-armed by the
 * caller next) is not re-armed here too: once is enough. */
static void run_ready(struct worker *w, struct client *settling)
{
	struct upstream *u;

	while ((u = w->ready)) {
		struct client *c = u->client;

		w->ready = u->ready_next;
		u->ready_next = NULL;
		u->ready = 0;
		/* its client closed, or failed over to another connection since: nothing to
		 * do (an upstream is freed only after the reap has run this list) */
		if (!c || c->up != u || c->state == CS_CLOSED)
			continue;
		c->proto->upstream_ready(c);
		if (c != settling)
			client_update(c);
	}
}

upstream_io_fn client_upstream_callback(void)
{
	return on_upstream_io;
}

/* The end of every event the driver handles: the protocols of the clients whose backend
 * connection the layers below found ready are told (c's among them, most often), and c
 * is armed again. */
static void client_settle(struct client *c)
{
	if (c->w->ready)
		run_ready(c->w, c);
	client_update(c);
}
