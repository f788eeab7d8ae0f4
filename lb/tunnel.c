/* tunnel.c: opaque byte streams both ways between a client and a backend (tcp mode,
 * or after 101 Switching Protocols), with half-close carried across in each direction. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "conn_close.h"
#include "conn_io.h"
#include "log.h"
#include "producer.h"
#include "sock_io.h"
#include "stats.h"
#include "worker.h"

static int pump(struct client *c, int from_fd, struct buf **from, int to_fd, int *eof,
		uint64_t *counter, int to_client, int readable);
static int flush_buf(struct client *c, int fd, struct buf *b, uint64_t *counter);
static void tunnel_on_event(struct client *c, int client_revents, int upstream_revents);

/* A tcp listener's connection is one exchange: a backend for it at once. */
static void tunnel_accepted(struct client *c)
{
	c->state = CS_QUEUED;  /* becomes CONNECTING/TUNNEL in client_pick_backend */
	c->ex->retries_left = c->gl->pool ? c->gl->pool->cfg->retries : 0;
	exchange_produce(c, &backend_producer);
}

static void tunnel_client_event(struct client *c, int revents)
{
	tunnel_on_event(c, revents, 0);
}

static void tunnel_upstream_event(struct client *c, struct upstream *u, int revents)
{
	(void)u;
	tunnel_on_event(c, 0, revents);
}

const struct conn_proto tunnel_proto = {
	.name = "tcp",
	.start = tunnel_accepted,
	.client_event = tunnel_client_event,
	.upstream_event = tunnel_upstream_event,
	.upstream_ready = tunnel_start,
};

void tunnel_start(struct client *c)
{
	c->proto = &tunnel_proto;
	c->state = CS_TUNNEL;
	c->last_activity = ev_now(c->w->loop);
	if (c->gl->cfg->mode == LISTENER_TCP) {
		/* for tcp the connection's "request" is the whole stream */
		c->in_request = 0;
	}
	/* bytes may be waiting on either side already (sent with the request, or before
	 * the backend connection was up): read both */
	tunnel_on_event(c, EV_READ, EV_READ);
}

/* Writes b to fd; 0 ok (maybe partial), -1 fatal. */
static int flush_buf(struct client *c, int fd, struct buf *b, uint64_t *counter)
{
	ssize_t n;

	while (b && buf_len(b)) {
		n = fd == c->fd ? conn_write(c, buf_head(b), buf_len(b)) : sock_write(fd, buf_head(b), buf_len(b));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		buf_consume(b, (uint32_t)n);
		if (fd != c->fd)
			stat_add(&stats_at(c->up->backend->stats, c->w->id)->bytes_sent, (uint64_t)n);
		if (counter)
			*counter += (uint64_t)n;
		c->last_activity = ev_now(c->w->loop);
	}
	return 0;
}

/* Moves bytes from_fd -> buffer -> to_fd while both sides take them. Reads only when
 * the watcher reported from_fd readable (readable != 0), and stops after a read shorter
 * than the room offered: that read took everything the socket had, and libev's watchers
 * are level-triggered (epoll without EPOLLET), so more data is reported when it comes.
 * Reading on until EAGAIN cost one failing read(2) per forwarded chunk. (TLS plaintext
 * that OpenSSL already holds is re-reported by conn_kick_pending in client_update.)
 * Returns 1 if anything moved, 0 if not, -1 on a fatal error on either side. */
static int pump(struct client *c, int from_fd, struct buf **from, int to_fd, int *eof,
		uint64_t *counter, int to_client, int readable)
{
	int moved = 0, filled = 0;
	size_t room;
	ssize_t n;

	for (;;) {
		if (*from && buf_len(*from)) {
			uint32_t before = buf_len(*from);
			if (flush_buf(c, to_fd, *from, to_client ? counter : NULL) == -1)
				return -1;
			if (buf_len(*from) != before)
				moved = 1;
			if (buf_len(*from))
				return moved;  /* the receiver is full: wait for EV_WRITE */
		}
		if (*eof || !readable)
			return moved;
		if (!*from && !(*from = buf_get(&c->w->bufs)))
			return -1;
		/* the last read filled the buffer and all of it went out: a bulk stream
		 * (buffer.h), grown while empty so nothing is copied; it goes when the
		 * event ends empty, like any other buffer */
		if (filled && buf_len(*from) == 0)
			buf_grow_bulk(&c->w->bufs, from);
		room = buf_room(*from);
		n = from_fd == c->fd ? conn_read(c, buf_tail(*from), room)
				     : sock_read(from_fd, buf_tail(*from), room);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return moved;
			return -1;
		}
		if (n == 0) {
			*eof = 1;
			return 1;
		}
		(*from)->end += (uint32_t)n;
		if (from_fd != c->fd)
			stat_add(&stats_at(c->up->backend->stats, c->w->id)->bytes_received, (uint64_t)n);
		if (!to_client)
			*counter += (uint64_t)n;
		c->last_activity = ev_now(c->w->loop);
		moved = 1;
		filled = (size_t)n == room;
		if (!filled)
			readable = 0;  /* drained for now: flush, then wait for the next event */
	}
}

static void tunnel_on_event(struct client *c, int client_revents, int upstream_revents)
{
	struct upstream *u = c->up;
	int in_eof, up_eof, r;

	if (c->state != CS_TUNNEL || !u)
		return;
	/* what the proxy itself owes each side goes first: the 101 head, the PROXY header */
	if (c->out && buf_len(c->out)) {
		if (client_flush_out(c) == -1) {
			client_close(c, TERM_CLIENT_CLOSED);
			return;
		}
		if (c->out && buf_len(c->out))
			return;
	}
	if (u->out && buf_len(u->out)) {
		if (flush_buf(c, u->fd, u->out, NULL) == -1) {
			client_close(c, TERM_BACKEND_CLOSED);
			return;
		}
		if (buf_len(u->out))
			return;
	}
	in_eof = c->in_eof;
	up_eof = u->eof;
	r = pump(c, c->fd, &c->in, u->fd, &in_eof, &c->ex->bytes_in, 0, client_revents & EV_READ);
	c->in_eof = in_eof;
	if (r == -1) {
		client_close(c, TERM_CLIENT_CLOSED);
		return;
	}
	r = pump(c, u->fd, &u->in, c->fd, &up_eof, &c->ex->bytes_out, 1, upstream_revents & EV_READ);
	u->eof = up_eof;
	if (r == -1) {
		client_close(c, TERM_BACKEND_CLOSED);
		return;
	}
	/* carry each FIN across once everything before it is delivered */
	if (c->in_eof && (!c->in || !buf_len(c->in)) && !c->up_shut) {
		shutdown(u->fd, SHUT_WR);
		c->up_shut = 1;
	}
	if (u->eof && (!u->in || !buf_len(u->in)) && !c->out_shut) {
		conn_shutdown_write(c);
		c->out_shut = 1;
	}
	if (c->up_shut && c->out_shut) {
		client_close(c, TERM_DONE);
		return;
	}
	/* an idle tunnel holds no buffers */
	if (c->in && !buf_len(c->in)) {
		buf_put(&c->w->bufs, c->in);
		c->in = NULL;
	}
	if (u->in && !buf_len(u->in)) {
		buf_put(&c->w->bufs, u->in);
		u->in = NULL;
	}
}
