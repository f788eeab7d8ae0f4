/* server.c: the control API's small HTTP/1.1 server on the control thread's loop: the
 * listener (TCP or unix socket) and its connections: slots, reads and writes, TLS
 * handshakes, deadlines. The requests they carry are control/request.c, their answers
 * control/reply.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "array.h"
#include "config-t.h"
#include "ctl_http.h"
#include "log.h"
#include "server-int.h"
#include "textbuf.h"
#include "tls.h"

#define IDLE_TIMEOUT 60.0            /* keep-alive connection without a request */
#define UNTRUSTED_TIMEOUT 3.0        /* a connection without an authenticated request yet
				      * must bring a whole request within (slow headers) */
#define REQUEST_TIMEOUT 10.0         /* a started request must be complete within */
#define STALL_TIMEOUT 30.0           /* answer bytes not taken by the client */
#define CLOSING_TIMEOUT 10.0
#define TLS_FAIL_LOGS 10             /* handshake failure lines per second, the rest counted */

struct ctl_server ctl_srv = { .fd = -1, .fail_log = { .per_second = TLS_FAIL_LOGS } };

static void on_accept(struct ev_loop *loop, ev_io *w, int revents);
static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents);
static int read_some(struct ctl_conn *c);
static int tls_step(struct ctl_conn *c);
static void tls_failed(struct ctl_conn *c, enum tls_fail f, const char *detail);
static int flush_out(struct ctl_conn *c);
static int make_room(void);
static int untrusted(const struct ctl_conn *c);
static void conn_update(struct ctl_conn *c);
static void conn_close(struct ctl_conn *c);
static int open_unix(const char *path, char *err, size_t errlen);
static int open_tcp(const char *listen, char *err, size_t errlen);

/* ---- Listener ---- */

static int open_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file left by a previous run is removed, but only when nobody answers
	 * on it: a running fulcrum keeps its socket. */
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control.listen %s exists and is not a socket", path);
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "control.listen %s is in use by another process", path);
			goto fail;
		}
		if (probe != -1)
			close(probe);
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "cannot bind control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	/* the socket's mode is its first access control: the owner only */
	if (chmod(path, 0600) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* No SO_REUSEPORT here (unlike data listeners): a second fulcrum must not silently
 * share the control port. */
static int open_tcp(const char *listen_addr, char *err, size_t errlen)
{
	struct addr a;
	char why[256];
	int fd, one = 1;

	if (addr_parse(listen_addr, &a, 1, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "control.listen %s: %s", listen_addr, why);
		return -1;
	}
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errlen, "cannot listen on control.listen %s: %s", listen_addr,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ctl_server_open(const char *listen_addr, char *err, size_t errlen)
{
	int fd;

	if (!strncmp(listen_addr, "unix:", 5))
		fd = open_unix(listen_addr + 5, err, errlen);
	else
		fd = open_tcp(listen_addr, err, errlen);
	if (fd == -1)
		return -1;
	ctl_srv.fd = fd;
	ctl_srv.address = strdup(listen_addr);
	if (!strncmp(listen_addr, "unix:", 5))
		ctl_srv.unix_path = strdup(listen_addr + 5);
	return 0;
}

const char *ctl_server_address(void)
{
	return ctl_srv.address;
}

int ctl_server_tls(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->control.tls)
		return 0;
	ctl_srv.tls = tls_ctx_build_control(cfg, err, errlen);
	if (!ctl_srv.tls)
		return -1;
	ctl_srv.hs_timeout = cfg->control.tls->handshake_timeout_ms / 1000.0;
	ctl_srv.verify = cfg->control.tls->verify_client;
	return 0;
}

const char *ctl_server_tls_note(void)
{
	if (!ctl_srv.tls)
		return "";
	switch (ctl_srv.verify) {
	case TLS_VERIFY_REQUIRED: return ", TLS, client certificate required";
	case TLS_VERIFY_OPTIONAL: return ", TLS, client certificate optional";
	default: return ", TLS";
	}
}

void ctl_server_start(struct ev_loop *loop)
{
	if (ctl_srv.fd == -1)
		return;
	ctl_srv.loop = loop;
	ev_io_init(&ctl_srv.io, on_accept, ctl_srv.fd, EV_READ);
	ev_io_start(loop, &ctl_srv.io);
	ev_timer_init(&ctl_srv.sweep, on_sweep, 1.0, 1.0);
	ev_timer_start(loop, &ctl_srv.sweep);
}

void ctl_server_close(void)
{
	while (ctl_srv.conns)
		conn_close(ctl_srv.conns);
	if (ctl_srv.loop && ctl_srv.fd != -1) {
		ev_io_stop(ctl_srv.loop, &ctl_srv.io);
		ev_timer_stop(ctl_srv.loop, &ctl_srv.sweep);
	}
	if (ctl_srv.fd != -1)
		close(ctl_srv.fd);
	ctl_srv.fd = -1;
	if (ctl_srv.unix_path)
		unlink(ctl_srv.unix_path);
	free(ctl_srv.unix_path);
	free(ctl_srv.address);
	ctl_srv.unix_path = ctl_srv.address = NULL;
	ctl_srv.loop = NULL;
	if (ctl_srv.tls)
		tls_ctx_unref(ctl_srv.tls);
	ctl_srv.tls = NULL;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int i;

	for (i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct ctl_conn *c;
		int fd = accept4(ctl_srv.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1)
			return;  /* EAGAIN, or a transient error: the next readiness retries */
		if (make_room() == -1 || !(c = calloc(1, sizeof(*c)))) {
			if (!ctl_srv.full_logged)
				log_warn("control: %u connections with authenticated requests open; "
					 "refusing more until some close", ctl_srv.nconns - ctl_srv.nwaiting);
			ctl_srv.full_logged = 1;
			close(fd);
			continue;
		}
		ctl_srv.full_logged = 0;
		c->srv = &ctl_srv;
		c->fd = fd;
		c->last_io = c->accepted = c->idle_since = ev_now(loop);
		if (ctl_srv.tls) {
			if (tls_conn_init(&c->tls, ctl_srv.tls, fd) == -1) {
				close(fd);
				free(c);
				continue;
			}
			c->handshaking = 1;
		}
		if (ss.ss_family == AF_UNIX)
			snprintf(c->peer, sizeof(c->peer), "unix");
		else
			addr_format((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
		ev_io_init(&c->io, on_io, fd, EV_READ);
		c->io.data = c;
		c->events = EV_READ;
		ev_io_start(loop, &c->io);
		c->next = ctl_srv.conns;
		if (ctl_srv.conns)
			ctl_srv.conns->prev = c;
		ctl_srv.conns = c;
		ctl_srv.nconns++;
		/* the request usually came with the connection: serve it now, so that a flood
		 * of idle connections cannot push a probe out before it is read */
		if (!c->handshaking)
			on_io(loop, &c->io, EV_READ);
	}
}

/* Not yet trusted: has not sent a complete authenticated request, and is not busy
 * answering one (a probe is answered at once). */
static int untrusted(const struct ctl_conn *c)
{
	return !c->trusted && c->state != CC_BUSY && c->state != CC_STREAM;
}

/* Before a new connection is taken: short calls hold at most CTL_CONN_MAX slots (waits
 * do not count; all of them together at most CTL_CONN_HARD_MAX), connections without an
 * authenticated request at most CTL_UNTRUSTED_MAX.
 * When either is full, the oldest untrusted connection is closed for the newcomer, so
 * idle connections cannot lock probes and token holders out. -1 when there is nothing
 * to close (every slot holds an authenticated caller). */
static int make_room(void)
{
	for (;;) {
		struct ctl_conn *c, *oldest = NULL;
		unsigned nuntrusted = 0;

		for (c = ctl_srv.conns; c; c = c->next)
			if (untrusted(c)) {
				nuntrusted++;
				oldest = c;  /* the list is newest first */
			}
		if (ctl_srv.nconns - ctl_srv.nwaiting < CTL_CONN_MAX && nuntrusted < CTL_UNTRUSTED_MAX &&
		    ctl_srv.nconns < CTL_CONN_HARD_MAX)
			return 0;
		if (!oldest)
			return -1;
		ctl_srv.evicted++;
		if (ev_now(ctl_srv.loop) - ctl_srv.evict_logged >= 10.0) {
			log_warn("control: too many connections without an authenticated request; "
				 "closed the oldest (%u so far since the last such line)", ctl_srv.evicted);
			ctl_srv.evict_logged = ev_now(ctl_srv.loop);
			ctl_srv.evicted = 0;
		}
		conn_close(oldest);
	}
}

/* ---- Connections ---- */

static void conn_close(struct ctl_conn *c)
{
	/* the owner of a pending answer lets go of c first */
	if (c->cancel) {
		void (*cancel)(void *) = c->cancel;

		c->cancel = NULL;
		cancel(c->cancel_arg);
	}
	if (c->waiting)
		ctl_srv.nwaiting--;
	if (ctl_srv.loop)
		ev_io_stop(ctl_srv.loop, &c->io);
	tls_conn_close(&c->tls);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl_srv.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl_srv.nconns--;
	free(c->in);
	textbuf_free(&c->out);
	free(c->req.body);
	free(c);
}

/* With TLS a read may wait for the socket to be writable and a write for it to be
 * readable (TLS_WANT_* are libev's EV_READ / EV_WRITE): arm what the adapter asks. */
static void conn_update(struct ctl_conn *c)
{
	int want = 0;

	if (c->handshaking) {
		want = c->tls.hsdir ? c->tls.hsdir : EV_READ;
	} else {
		if (c->state != CC_CLOSING && c->in_len < CTL_HEAD_MAX + CTL_BODY_MAX)
			want |= c->tls.ssl && c->tls.rdir ? c->tls.rdir : EV_READ;
		if (c->out_off < c->out.len)
			want |= c->tls.ssl && c->tls.wdir ? c->tls.wdir : EV_WRITE;
	}
	if (want == c->events)
		return;
	ev_io_stop(ctl_srv.loop, &c->io);
	ev_io_set(&c->io, c->fd, want);
	if (want)
		ev_io_start(ctl_srv.loop, &c->io);
	c->events = want;
}

/* Reads what is there. -1 when the client closed or the socket failed (the caller
 * closes: a client that goes away cancels what it waited for). */
static int read_some(struct ctl_conn *c)
{
	const size_t max = CTL_HEAD_MAX + CTL_BODY_MAX;

	for (;;) {
		ssize_t r;

		if (c->in_len == c->in_cap) {
			if (c->in_cap >= max)
				return 0;  /* full: the request in front must be answered first */
			if (ARRAY_GROW_MAX(&c->in, &c->in_cap, c->in_len + 1, 4096, max) == -1)
				return -1;
		}
		if (c->tls.ssl)
			r = tls_read(&c->tls, c->in + c->in_len, c->in_cap - c->in_len);
		else
			r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return errno == EAGAIN ? 0 : -1;
		if (r == 0)
			return -1;
		if (c->in_len == 0 && c->state == CC_READ)
			c->request_started = ev_now(ctl_srv.loop);
		c->in_len += (size_t)r;
		c->last_io = ev_now(ctl_srv.loop);
	}
}

static int flush_out(struct ctl_conn *c)
{
	if (c->out.failed)
		return -1;
	while (c->out_off < c->out.len) {
		/* after EAGAIN tls_write gets the same bytes again: out only grows at its end */
		ssize_t w = c->tls.ssl ? tls_write(&c->tls, c->out.p + c->out_off, c->out.len - c->out_off)
				       : write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)w;
		c->last_io = ev_now(ctl_srv.loop);
	}
	c->out_off = c->out.len = 0;
	return 0;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *c = w->data;

	if (c->handshaking) {
		int r = tls_step(c);

		if (r == -1) {
			conn_close(c);
			return;
		}
		if (r == 0) {
			conn_update(c);
			return;
		}
		/* done: the client may have sent its request with the last flight */
		revents |= EV_READ;
	}
	/* TLS: decrypted bytes may wait inside OpenSSL with no socket readiness to
	 * announce them, so a TLS connection tries to read whenever it wakes */
	if ((revents & EV_READ || c->tls.ssl) && c->state != CC_CLOSING && read_some(c) == -1) {
		conn_close(c);
		return;
	}
	if (flush_out(c) == -1) {
		conn_close(c);
		return;
	}
	if (c->state == CC_READ)
		ctl_conn_input(c);
	if (flush_out(c) == -1 || (c->state == CC_CLOSING && c->out_off == c->out.len)) {
		conn_close(c);
		return;
	}
	conn_update(c);
}

/* Deadlines of every connection, once a second: few connections, no timer each. */
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_conn *c, *next;
	double now = ev_now(loop);

	for (c = ctl_srv.conns; c; c = next) {
		next = c->next;
		/* checked once a second: the handshake timeout is kept to that precision */
		if (c->handshaking) {
			if (now - c->accepted > ctl_srv.hs_timeout) {
				tls_failed(c, TLS_FAIL_TIMEOUT, "no complete handshake in time");
				conn_close(c);
			}
			continue;
		}
		if (c->out_off < c->out.len && now - c->last_io > STALL_TIMEOUT)
			conn_close(c);
		else if (c->state == CC_CLOSING && now - c->last_io > CLOSING_TIMEOUT)
			conn_close(c);
		else if (c->state == CC_READ && !c->trusted &&
			 now - (c->in_len ? c->request_started : c->idle_since) > UNTRUSTED_TIMEOUT)
			conn_close(c);  /* no answer: a slow or idle stranger gets no attention */
		else if (c->state == CC_READ && c->in_len == 0 && now - c->last_io > IDLE_TIMEOUT)
			conn_close(c);
		else if (c->state == CC_READ && c->in_len > 0 &&
			 now - c->request_started > REQUEST_TIMEOUT) {
			ctl_conn_reject(c, 408, "request_timeout", "the request did not arrive in time");
			if (flush_out(c) == -1 || c->out_off == c->out.len)
				conn_close(c);
			else
				conn_update(c);
		}
	}
}

/* ---- TLS ---- */

/* One handshake step: 1 done, 0 waiting (direction in c->tls.hsdir), -1 failed. */
static int tls_step(struct ctl_conn *c)
{
	enum tls_result r = tls_handshake(&c->tls);
	struct tls_stats *st = tls_ctx_stats(ctl_srv.tls);
	char detail[256];

	if (r == TLS_AGAIN)
		return 0;
	if (r != TLS_OK) {
		enum tls_fail f = tls_conn_failure(&c->tls, r, detail, sizeof(detail));

		tls_failed(c, f, detail);
		return -1;
	}
	c->handshaking = 0;
	/* the stranger's deadline for a request starts now, not at the connect */
	c->last_io = c->idle_since = ev_now(ctl_srv.loop);
	atomic_fetch_add_explicit(&st->handshakes, 1, memory_order_relaxed);
	if (log_get_level() <= LOG_DEBUG) {
		tls_conn_describe(&c->tls, detail, sizeof(detail));
		log_debug("control: TLS from %s: %s%s%s", c->peer, detail,
			  c->tls.subject ? " client " : "", c->tls.subject ? c->tls.subject : "");
	}
	return 1;
}

/* Counts the failure and logs it, a few lines a second at most (tls_fail_log). */
static void tls_failed(struct ctl_conn *c, enum tls_fail f, const char *detail)
{
	char line[512];
	int level = tls_fail_log(&ctl_srv.fail_log, ctl_srv.tls, f, c->peer, detail,
				 ev_now(ctl_srv.loop), LOG_WARN, line, sizeof(line));

	if (level != -1)
		log_msg((enum log_level)level, "control: %s", line);
}
