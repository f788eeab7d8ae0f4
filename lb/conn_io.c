/* conn_io.c: the client side of a connection as a byte stream: plain sockets stay
 * recv/sendmsg (zero-copy), TLS goes through the adapter; event directions and the
 * handshake step with its failure accounting. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "conn_io.h"
#include "log.h"
#include "mem_pipe.h"
#include "sock_io.h"
#include "tls.h"
#include "worker.h"

#define TLS_CHUNK 16384            /* one full TLS record of plaintext */
#define FAIL_LOG_PER_SECOND 20     /* handshake failure lines per worker and second */

static size_t gather(const struct iovec *iov, int iovcnt, int i, size_t off, unsigned char *out,
		     size_t want);
static ssize_t tls_writev(struct client *c, const struct iovec *iov, int iovcnt);

/* Where small pieces (a response head, then the start of its body) are joined into one
 * record: one record and one send(2) per small response instead of two. Per thread, so
 * no connection holds it. */
static __thread unsigned char scratch[TLS_CHUNK];
/* a flood of bad handshakes must not become a flood of log lines: per worker */
static __thread struct tls_fail_log fail_log = { .per_second = FAIL_LOG_PER_SECOND };

ssize_t conn_read(struct client *c, void *buf, size_t len)
{
	if (c->is_stream)
		return mem_pipe_read(c->ext, buf, len);
	if (!c->tls.ssl)
		return sock_read(c->fd, buf, len);
	return tls_read(&c->tls, buf, len);
}

ssize_t conn_write(struct client *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	if (c->is_stream)
		return mem_pipe_writev(c->ext, &iov, 1);
	if (!c->tls.ssl)
		return sock_write(c->fd, buf, len);
	return tls_writev(c, &iov, 1);
}

ssize_t conn_writev(struct client *c, const struct iovec *iov, int iovcnt)
{
	if (c->is_stream)
		return mem_pipe_writev(c->ext, iov, iovcnt);
	if (!c->tls.ssl)
		return sock_writev(c->fd, iov, iovcnt);
	return tls_writev(c, iov, iovcnt);
}

/* Copies up to want bytes starting at iov[i] + off into out; returns the count. */
static size_t gather(const struct iovec *iov, int iovcnt, int i, size_t off, unsigned char *out,
		     size_t want)
{
	size_t got = 0;

	for (; i < iovcnt && got < want; i++, off = 0) {
		size_t n = iov[i].iov_len - off;

		if (n > want - got)
			n = want - got;
		memcpy(out + got, (const char *)iov[i].iov_base + off, n);
		got += n;
	}
	return got;
}

/* Writes the iovecs in order as TLS records until all is written or the socket is
 * full. A write that blocked is repeated with exactly the same bytes: nothing is
 * consumed until written, so they are at the head of the iovecs again, though perhaps
 * in other buffers (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER); at most one record long, they
 * can always be gathered into scratch. */
static ssize_t tls_writev(struct client *c, const struct iovec *iov, int iovcnt)
{
	struct tls_conn *t = &c->tls;
	size_t total = 0, off = 0;
	int i = 0;

	for (;;) {
		const void *p;
		size_t first, len, need;
		ssize_t n;

		while (i < iovcnt && off == iov[i].iov_len) {
			i++;
			off = 0;
		}
		if (i == iovcnt)
			break;
		first = iov[i].iov_len - off;
		need = t->wpend;
		if (need ? first >= need : (first >= TLS_CHUNK || i == iovcnt - 1)) {
			p = (const char *)iov[i].iov_base + off;
			/* one record at a time: a write that blocks is then never longer than
			 * scratch, so it can be repeated from wherever its bytes are by then
			 * (response buffering moves them from the backend's buffer to a store) */
			len = need ? need : first > TLS_CHUNK ? TLS_CHUNK : first;
		} else {
			if (need > sizeof(scratch)) {
				/* a blocked write longer than one record must be repeated from where
				 * it was (the caller keeps it in place): it cannot be gathered */
				t->fatal = 1;
				errno = EPROTO;
				return total ? (ssize_t)total : -1;
			}
			len = gather(iov, iovcnt, i, off, scratch, need ? need : TLS_CHUNK);
			if (need && len < need) {
				/* the bytes of the blocked write are gone from the buffers: a bug */
				t->fatal = 1;
				errno = EPROTO;
				return total ? (ssize_t)total : -1;
			}
			p = scratch;
		}
		n = tls_write(t, p, len);
		if (n < 0)
			return total ? (ssize_t)total : -1;
		total += (size_t)n;
		while (n > 0) {
			size_t step = iov[i].iov_len - off;

			if ((size_t)n < step) {
				off += (size_t)n;
				break;
			}
			n -= (ssize_t)step;
			i++;
			off = 0;
		}
	}
	return (ssize_t)total;
}

void conn_shutdown_write(struct client *c)
{
	if (c->is_stream) {
		mem_pipe_shutdown(c->ext);
		return;
	}
	tls_shutdown(&c->tls);
	shutdown(c->fd, SHUT_WR);
}

int conn_linger_drain(struct client *c)
{
	char sink[4096];
	ssize_t n;
	int i;

	/* raw reads: after our close_notify whatever comes (ciphertext too) is dropped */
	for (i = 0; i < 16; i++) {
		n = read(c->fd, sink, sizeof(sink));
		if (n == 0)
			return 1;
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
	return 0;
}

void conn_linger_close(struct client *c)
{
	char sink[4096];
	int i;

	conn_shutdown_write(c);
	/* raw reads: whatever still comes (ciphertext included) is thrown away */
	for (i = 0; i < 16; i++)
		if (read(c->fd, sink, sizeof(sink)) <= 0)
			break;
}

int conn_physical_events(const struct client *c, int logical)
{
	int ev = 0;

	if (!c->tls.ssl || c->state == CS_LINGERING)
		return logical;
	if (c->state == CS_TLS_HANDSHAKE)
		return c->tls.hsdir;
	if (logical & EV_READ)
		ev |= c->tls.rdir;
	if (logical & EV_WRITE)
		ev |= c->tls.wdir;
	return ev;
}

int conn_logical_events(const struct client *c, int revents)
{
	int ev = 0;

	if (!c->tls.ssl || c->state == CS_TLS_HANDSHAKE || c->state == CS_LINGERING)
		return revents;
	if (revents & c->tls.rdir)
		ev |= EV_READ;
	if (revents & c->tls.wdir)
		ev |= EV_WRITE;
	return ev;
}

void conn_kick_pending(struct client *c)
{
	if (c->tls.ssl && c->tls.done && tls_pending(&c->tls) > 0)
		ev_feed_event(c->w->loop, &c->io, c->tls.rdir);
}

int conn_tls_handshake(struct client *c)
{
	enum tls_result r = tls_handshake(&c->tls);
	struct tls_stats *st;
	enum tls_fail f;
	char detail[256];

	if (r == TLS_AGAIN)
		return 0;
	if (r == TLS_OK) {
		st = tls_ctx_stats(c->tls.ctx);
		atomic_fetch_add_explicit(&st->handshakes, 1, memory_order_relaxed);
		if (tls_conn_resumed(&c->tls))
			atomic_fetch_add_explicit(&st->resumed, 1, memory_order_relaxed);
		if (log_get_level() <= LOG_DEBUG) {
			char peer[ADDR_TEXT_MAX];

			tls_conn_describe(&c->tls, detail, sizeof(detail));
			conn_log(LOG_DEBUG, c, "listener %s: TLS from %s: %s", c->gl->cfg->name,
				  addr_format((const struct sockaddr *)&c->peer, peer, sizeof(peer)),
				  detail);
		}
		c->last_activity = ev_now(c->w->loop);
		return 1;
	}
	f = tls_conn_failure(&c->tls, r, detail, sizeof(detail));
	conn_tls_failed(c, f, detail);
	return -1;
}

void conn_tls_failed(struct client *c, enum tls_fail f, const char *detail)
{
	char peer[ADDR_TEXT_MAX], line[512];
	int level;

	addr_format((const struct sockaddr *)&c->peer, peer, sizeof(peer));
	/* counted, worded and rate-limited as on the control port (tls/tls_fail_log.c) */
	level = tls_fail_log(&fail_log, c->tls.ctx, f, peer, detail, ev_now(c->w->loop), LOG_INFO,
			     line, sizeof(line));
	if (level != -1)
		conn_log((enum log_level)level, c, "listener %s: %s", c->gl->cfg->name, line);
}

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
