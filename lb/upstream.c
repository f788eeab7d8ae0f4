/* upstream.c: connections to backends: non-blocking connect, the PROXY header,
 * reuse through the worker's idle pool (for as long as the backend's own keep-alive
 * allows), and the event mask each state wants. */
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "conn_state.h"
#include "io_arm.h"
#include "health.h"
#include "log.h"
#include "proxy_proto.h"
#include "stats.h"
#include "worker.h"

static void on_idle_io(struct ev_loop *loop, ev_io *io, int revents);
static unsigned idle_bucket(const struct backend *b);
static struct upstream *idle_take(struct worker *w, struct backend *b);
static void idle_put(struct worker *w, struct upstream *u);
static void idle_remove(struct worker *w, struct upstream *u);
static struct upstream *upstream_connect(struct worker *w, struct backend *b, struct client *c,
					upstream_io_fn on_io);
static void upstream_set_events(struct upstream *u, int events);

int upstream_attach(struct client *c, upstream_io_fn on_io)
{
	struct worker *w = c->w;
	struct upstream *u = NULL;
	int tcp = c->gl->cfg->mode == LISTENER_TCP;

	/* a PROXY header speaks for one client, so such connections are never shared; a
	 * replay after a reused connection raced its close goes on a new one */
	if (!tcp && c->ex->pool->cfg->send_proxy == PROXY_SEND_NONE && !c->ex->fresh_conn)
		u = idle_take(w, c->ex->backend);
	if (u) {
		ev_set_cb(&u->io, on_io);
		u->client = c;
		u->requests++;
		u->sent_before = u->sent;
		u->max_idle = c->ex->pool->cfg->keepalive_max_idle;
		u->idle_ms = c->ex->pool->cfg->backend_idle_timeout_ms;
		c->up = u;
		c->ex->t_connected = ev_now(w->loop);
		return 0;
	}
	u = upstream_connect(w, c->ex->backend, c, on_io);
	if (!u)
		return -1;
	c->up = u;
	return 0;
}

static struct upstream *upstream_connect(struct worker *w, struct backend *b, struct client *c,
					upstream_io_fn on_io)
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
	ev_io_init(&u->io, on_io, fd, 0);
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

void upstream_update(struct upstream *u)
{
	if (!u->closed)
		upstream_set_events(u, conn_state_upstream_events(u));
}

static void upstream_set_events(struct upstream *u, int events)
{
	if (u->closed)
		return;
	u->want = events;
	u->events = io_arm(u->w->loop, &u->io, u->fd, u->events, events);
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
	idle_put(w, u);
	if (!u->closed) {
		ev_set_cb(&u->io, on_idle_io);
		upstream_update(u);
	}
}

void upstream_close(struct upstream *u)
{
	struct worker *w = u->w;

	if (u->closed)
		return;
	idle_remove(w, u);
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

/* ---- idle backend connections ---- */

static unsigned idle_bucket(const struct backend *b)
{
	uintptr_t x = (uintptr_t)b;
	return (unsigned)((x >> 4) ^ (x >> 12)) & (IDLE_BUCKETS - 1);
}

/* An idle connection of b that is still within its idle time (u->idle_ms: the pool's
 * backend_idle_timeout_ms, or less when the backend announced a shorter keep-alive).
 * Older ones are closed on the way, not left for the sweep: a backend closes its side
 * at its own keep-alive timeout, and a request written just as that close is on the
 * wire is lost (the keep-alive race). NULL when none is left. */
static struct upstream *idle_take(struct worker *w, struct backend *b)
{
	struct upstream *u, *next;
	double now = ev_now(w->loop);

	for (u = w->idle[idle_bucket(b)]; u; u = next) {
		next = u->idle_next;
		if (u->backend != b)
			continue;
		if ((now - u->idle_since) * 1e3 >= u->idle_ms) {
			upstream_close(u);
			continue;
		}
		idle_remove(w, u);
		return u;
	}
	return NULL;
}

static void idle_put(struct worker *w, struct upstream *u)
{
	unsigned k = idle_bucket(u->backend), n = 0;
	struct upstream *x;

	for (x = w->idle[k]; x; x = x->idle_next)
		if (x->backend == u->backend)
			n++;
	if (w->stopping || n >= u->max_idle) {
		upstream_close(u);
		return;
	}
	u->idle = 1;
	u->idle_since = ev_now(w->loop);
	u->idle_prev = NULL;
	u->idle_next = w->idle[k];
	if (u->idle_next)
		u->idle_next->idle_prev = u;
	w->idle[k] = u;
	w->nidle++;
}

static void idle_remove(struct worker *w, struct upstream *u)
{
	if (!u->idle)
		return;
	if (u->idle_prev)
		u->idle_prev->idle_next = u->idle_next;
	else
		w->idle[idle_bucket(u->backend)] = u->idle_next;
	if (u->idle_next)
		u->idle_next->idle_prev = u->idle_prev;
	u->idle_next = u->idle_prev = NULL;
	u->idle = 0;
	w->nidle--;
}

/* An idle connection became readable: the backend closed it (or sent what nobody asked
 * for, which makes it unusable as well). */
static void on_idle_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct upstream *u = io->data;

	if (!io_filter_revents(loop, io, u->fd, &u->events, u->want, revents))
		return;
	upstream_close(u);
}

void upstream_sweep_idle(struct worker *w, double now)
{
	size_t b;

	if (!w->nidle)
		return;
	for (b = 0; b < IDLE_BUCKETS; b++) {
		struct upstream *u = w->idle[b], *next;
		for (; u; u = next) {
			next = u->idle_next;
			/* also drop connections to backends taken out of rotation */
			if ((now - u->idle_since) * 1e3 >= u->idle_ms ||
			    atomic_load(&u->backend->admin) != ADMIN_ACTIVE)
				upstream_close(u);
		}
	}
}

uint32_t upstream_keep_alive_ms(const char *base, const struct http_head *h)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off, *end = v + f->value.len, *p;
		unsigned long long n = 0;
		int digits = 0;

		if (!http_slice_eq(base, f->name, "keep-alive"))
			continue;
		for (p = v; p + 8 <= end; p++)
			if (!strncasecmp(p, "timeout=", 8) && (p == v || p[-1] == ' ' || p[-1] == ','))
				break;
		if (p + 8 > end)
			continue;
		for (p += 8; p < end && *p >= '0' && *p <= '9' && n < 100000; p++, digits++)
			n = n * 10 + (unsigned)(*p - '0');
		if (!digits)
			continue;
		return n * 1000 > 500 ? (uint32_t)(n * 1000 - 500) : 0;
	}
	return UINT32_MAX;
}
