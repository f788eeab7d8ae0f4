/* mem_pipe.c: owns the in-memory transport of an internal connection
 * (include/mem_pipe.h): two byte queues and the readiness fed to the connection's
 * watcher. Why not a socketpair: an HTTP/2 connection may carry a hundred streams at
 * once, each an internal connection; two descriptors, their epoll registrations and a
 * copy through the kernel per stream would cost more than the request itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "mem_pipe.h"
#include "worker.h"

int pipe_bytes_put(struct pipe_bytes *b, const void *s, size_t n)
{
	if (b->end + n > b->cap && b->start > 0) {
		memmove(b->p, b->p + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	if (b->end + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;

		while (cap < b->end + n)
			cap *= 2;
		if (!(q = realloc(b->p, cap)))
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->end, s, n);
	b->end += n;
	return 0;
}

void pipe_bytes_take(struct pipe_bytes *b, size_t n)
{
	b->start += n;
	if (b->start >= b->end)
		b->start = b->end = 0;
}

void pipe_bytes_free(struct pipe_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

ssize_t mem_pipe_read(struct mem_pipe *p, void *buf, size_t len)
{
	size_t n = pipe_bytes_len(&p->in);

	if (n == 0) {
		if (p->in_eof)
			return 0;
		errno = EAGAIN;
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(buf, pipe_bytes_head(&p->in), n);
	pipe_bytes_take(&p->in, n);
	p->notify(p, n);
	return (ssize_t)n;
}

ssize_t mem_pipe_writev(struct mem_pipe *p, const struct iovec *iov, int iovcnt)
{
	size_t room, done = 0;
	int i;

	if (p->out_eof) {
		errno = EPIPE;
		return -1;
	}
	room = pipe_bytes_len(&p->out) < p->out_max ? p->out_max - pipe_bytes_len(&p->out) : 0;
	for (i = 0; i < iovcnt && room > 0; i++) {
		size_t n = iov[i].iov_len < room ? iov[i].iov_len : room;

		if (n && pipe_bytes_put(&p->out, iov[i].iov_base, n) == -1) {
			if (done)
				break;
			errno = ENOMEM;
			return -1;
		}
		done += n;
		room -= n;
	}
	if (done == 0) {
		errno = EAGAIN;
		return -1;
	}
	p->notify(p, 0);
	return (ssize_t)done;
}

void mem_pipe_shutdown(struct mem_pipe *p)
{
	if (p->out_eof)
		return;
	p->out_eof = 1;
	p->notify(p, 0);
}

int mem_pipe_ready(const struct mem_pipe *p, int want)
{
	int ev = 0;

	if ((want & EV_READ) && (pipe_bytes_len(&p->in) > 0 || p->in_eof))
		ev |= EV_READ;
	if ((want & EV_WRITE) && (p->out_eof || pipe_bytes_len(&p->out) < p->out_max))
		ev |= EV_WRITE;
	return ev;
}

struct client *client_parent(const struct client *c)
{
	const struct mem_pipe *p = client_pipe(c);

	return p ? p->parent : NULL;
}

void mem_pipe_kick(struct mem_pipe *p)
{
	struct client *c = p->c;
	int ev;

	if (!c || c->state == CS_CLOSED)
		return;
	ev = mem_pipe_ready(p, c->want);
	if (ev)
		ev_feed_event(c->w->loop, &c->io, ev);
}
