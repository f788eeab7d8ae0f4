/* upstream.c: connections to backends: non-blocking connect, the PROXY header,
 * reuse through the worker's idle pool, and the event mask each state wants. */
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "health.h"
#include "log.h"
#include "proxy_proto.h"
#include "stats.h"
#include "worker.h"

static void on_upstream_io(struct ev_loop *loop, ev_io *io, int revents);
static void on_connected(struct client *c, struct upstream *u);
static struct upstream *upstream_connect(struct worker *w, struct backend *b, struct client *c);
static void upstream_set_events(struct upstream *u, int events);

int upstream_attach(struct client *c)
{
	struct worker *w = c->w;
	struct upstream *u = NULL;
	int tcp = c->gl->cfg->mode == LISTENER_TCP;

	/* a PROXY header speaks for one client, so such connections are never shared; a
	 * replay after a reused connection raced its close goes on a new one */
	if (!tcp && c->ex->pool->cfg->send_proxy == PROXY_SEND_NONE && !c->ex->fresh_conn)
		u = worker_idle_take(w, c->ex->backend);
	if (u) {
		u->client = c;
		u->requests++;
		u->sent_before = u->sent;
		u->max_idle = c->ex->pool->cfg->keepalive_max_idle;
		u->idle_ms = c->ex->pool->cfg->backend_idle_timeout_ms;
		c->up = u;
		c->ex->t_connected = ev_now(w->loop);
		return 0;
	}
	u = upstream_connect(w, c->ex->backend, c);
	if (!u)
		return -1;
	c->up = u;
	return 0;
}

static struct upstream *upstream_connect(struct worker *w, struct backend *b, struct client *c)
{
	struct upstream *u;
	int fd, one = 1;
	enum proxy_send ps = c->ex->pool->cfg->send_proxy;

	fd = socket(b->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		int err = errno;  /* the caller tells a local shortage (EMFILE) from a backend fault */
		conn_log(LOG_WARN, c, "backend %s/%s: socket: %s", b->pool_name, b->name, strerror(err));
		errno = err;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&b->addr.ss, b->addr.len) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		close(fd);
		return NULL;
	}
	u->w = w;
	u->fd = fd;
	u->backend = b;
	backend_ref(b);
	stat_gauge_add(&stats_at(b->stats, w->id)->open, 1);
	u->client = c;
	u->requests = 1;
	u->max_idle = c->ex->pool->cfg->keepalive_max_idle;
	u->idle_ms = c->ex->pool->cfg->backend_idle_timeout_ms;
	ev_io_init(&u->io, on_upstream_io, fd, 0);
	u->io.data = u;
	if (ps != PROXY_SEND_NONE) {
		int n;
		u->out = buf_get(&w->bufs);
		if (!u->out) {
			upstream_close(u);
			return NULL;
		}
		if (ps == PROXY_SEND_V1)
			n = proxy_v1_encode(buf_tail(u->out), buf_room(u->out),
					    (struct sockaddr *)&c->peer, (struct sockaddr *)&c->local);
		else
			n = proxy_v2_encode(buf_tail(u->out), buf_room(u->out),
					    (struct sockaddr *)&c->peer, (struct sockaddr *)&c->local);
		if (n > 0)
			u->out->end += (uint32_t)n;
	}
	return u;
}

static void upstream_set_events(struct upstream *u, int events)
{
	if (u->closed)
		return;
	u->want = events;
	u->events = io_arm(u->w->loop, &u->io, u->fd, u->events, events);
}

void upstream_update(struct upstream *u)
{
	struct client *c = u->client;
	int ev = 0;

	if (u->closed)
		return;
	if (!c) {
		ev = EV_READ;  /* idle: notice the backend closing */
	} else if (!u->connected) {
		ev = EV_WRITE;
	} else if (c->state == CS_TUNNEL) {
		if (!u->eof && (!u->in || buf_room(u->in) > 0))
			ev |= EV_READ;
		if (c->in && buf_len(c->in) > 0 && !c->up_shut)
			ev |= EV_WRITE;
		if (u->out && buf_len(u->out) > 0)
			ev |= EV_WRITE;
	} else if (c->state == CS_STREAMING) {
		if ((u->out && buf_len(u->out) > 0) || (c->ex->req_head && !c->ex->req_head_sent) ||
		    c->ex->req_ready > 0)
			ev |= EV_WRITE;
		/* keep reading: early responses and EOF matter, unless the client is slow */
		if (!c->ex->resp_done && !u->eof && (!u->in || buf_room(u->in) > 0))
			ev |= EV_READ;
	}
	upstream_set_events(u, ev);
}

static void on_connected(struct client *c, struct upstream *u)
{
	u->connected = 1;
	stat_add(&stats_at(u->backend->stats, u->w->id)->connects, 1);
	health_passive_connected(u->backend, c->ex->pool);
	if (c->gl->cfg->mode == LISTENER_TCP)
		health_passive_success(u->backend);  /* a tcp exchange has nothing else to judge */
	c->ex->t_connected = ev_now(u->w->loop);
	c->last_activity = c->ex->t_connected;
	if (c->gl->cfg->mode == LISTENER_TCP)
		tunnel_start(c);
	else
		http_start_exchange(c);
}

static void on_upstream_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct upstream *u = io->data;
	struct client *c = u->client;

	revents = io_filter_revents(loop, io, u->fd, &u->events, u->want, revents);
	if (!revents)
		return;
	if (!c) {
		/* idle connection: any readable event means the backend closed or misbehaved */
		upstream_close(u);
		return;
	}
	if (!u->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err) {
			client_backend_failed(c, TERM_CONNECT_FAILED);
			client_update(c);
			return;
		}
		on_connected(c, u);
		client_update(c);
		return;
	}
	if (c->state == CS_TUNNEL) {
		tunnel_on_event(c, 0, revents);
	} else {
		if ((revents & EV_WRITE) && c->state == CS_STREAMING)
			http_on_upstream_writable(c);
		if ((revents & EV_READ) && c->state == CS_STREAMING && c->up == u)
			http_on_upstream_data(c);
	}
	client_update(c);
}

int upstream_request_unacked(const struct upstream *u)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (u->requests < 2 || u->closed)
		return 0;
	memset(&ti, 0, sizeof(ti));
	/* tcpi_bytes_acked (Linux 4.1) is absent from an older kernel's shorter answer */
	if (getsockopt(u->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
		return 0;
	/* the earlier requests were answered, so their bytes were all acknowledged: any
	 * acknowledgement beyond them is of this request's bytes. Linux counts the SYN as
	 * one acknowledged byte (seen on 6.x; one byte of a request could not be acted on
	 * anyway, so an older count without it is as safe) */
	return ti.tcpi_bytes_acked <= u->sent_before + 1;
}

void upstream_release(struct upstream *u, int reusable)
{
	struct worker *w = u->w;

	u->client = NULL;
	if (!reusable || u->eof || !u->connected || u->idle_ms == 0 || (u->in && buf_len(u->in)) ||
	    (u->out && buf_len(u->out)) || w->stopping) {
		upstream_close(u);
		return;
	}
	buf_put(&w->bufs, u->in);
	buf_put(&w->bufs, u->out);
	u->in = u->out = NULL;
	worker_idle_put(w, u);
	if (!u->closed)
		upstream_update(u);
}

void upstream_close(struct upstream *u)
{
	struct worker *w = u->w;

	if (u->closed)
		return;
	worker_idle_remove(w, u);
	ev_io_stop(w->loop, &u->io);
	stat_gauge_add(&stats_at(u->backend->stats, w->id)->open, -1);
	close(u->fd);
	u->fd = -1;
	u->closed = 1;
	u->client = NULL;
	buf_put(&w->bufs, u->in);
	buf_put(&w->bufs, u->out);
	u->in = u->out = NULL;
	u->dead_next = w->dead_upstreams;
	w->dead_upstreams = u;
}

void upstream_free(struct upstream *u)
{
	backend_unref(u->backend);
	free(u);
}
