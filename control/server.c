/* server.c: the control API's small HTTP/1.1 server on the control thread's loop:
 * listener (TCP or unix socket), connections, request framing, token check, replies. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "array.h"
#include "config-t.h"
#include "ctl_http.h"
#include "log.h"
#include "textbuf.h"
#include "tls.h"
#include "worker.h"

#define IDLE_TIMEOUT 60.0            /* keep-alive connection without a request */
#define UNTRUSTED_TIMEOUT 3.0        /* a connection without an authenticated request yet
				      * must bring a whole request within (slow headers) */
#define REQUEST_TIMEOUT 10.0         /* a started request must be complete within */
#define STALL_TIMEOUT 30.0           /* answer bytes not taken by the client */
#define CLOSING_TIMEOUT 10.0
#define TLS_FAIL_LOGS 10             /* handshake failure lines per second, the rest counted */

enum conn_state {
	CC_READ = 0,                     /* waiting for (the rest of) a request */
	CC_BUSY,                         /* a handler owes the answer (a wait) */
	CC_STREAM,                       /* a chunked answer is being fed */
	CC_CLOSING                       /* the last answer is written, then close */
};

struct ctl_conn {
	struct ctl_conn *next, *prev;
	int fd;
	ev_io io;
	int events;                      /* mask the watcher is armed with */
	struct tls_conn tls;             /* zeroed = plain */
	int handshaking;                 /* TLS: no request bytes until the handshake is done */
	double accepted;                 /* the handshake deadline counts from here */
	enum conn_state state;
	char *in;                        /* request bytes not consumed yet */
	size_t in_len, in_cap;
	struct textbuf out;               /* answer bytes not written yet: from out_off on */
	size_t out_off;
	int keep_alive;                  /* the current request allows another after it */
	int continue_sent;               /* 100 Continue sent for the current request */
	double request_started;          /* first byte of the current request, 0 = none */
	double last_io;
	struct ctl_request req;          /* the request being answered */
	void (*cancel)(void *);          /* a deferred answer's owner */
	void *cancel_arg;
	char peer[128];
	int trusted;                     /* has sent a complete authenticated request */
	int waiting;                     /* a deferred answer (long poll): not a short slot */
	double idle_since;               /* accepted, or the last answer finished */
};

/* Headers the checks of a request need, copied (NUL-terminated) while it is parsed. */
struct req_headers {
	char ctype[128], origin[256], host[256];
	int has_ctype, has_origin, has_host;
	int auth_ok;                     /* the Authorization header carried a token */
	struct ctl_principal who;
};

static struct {
	int fd;
	char *address;                   /* as configured */
	char *unix_path;                 /* to unlink at close */
	struct ev_loop *loop;
	ev_io io;
	ev_timer sweep;
	struct ctl_conn *conns;          /* newest first */
	unsigned nconns;
	unsigned nwaiting;               /* of which waiting (long polls) */
	int full_logged;
	double evict_logged;             /* when the last eviction was logged */
	unsigned evicted;                /* evictions since then */
	struct http_head head;           /* parse results, used synchronously */
	struct tls_ctx *tls;             /* control.tls, NULL = plain */
	double hs_timeout;               /* control.tls.handshake_timeout_ms, in seconds */
	int verify;                      /* verify_client as configured */
	struct tls_fail_log fail_log;    /* handshake failure lines, TLS_FAIL_LOGS a second */
} srv = { .fd = -1, .fail_log = { .per_second = TLS_FAIL_LOGS } };

static void on_accept(struct ev_loop *loop, ev_io *w, int revents);
static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents);
static int read_some(struct ctl_conn *c);
static int tls_step(struct ctl_conn *c);
static void tls_failed(struct ctl_conn *c, enum tls_fail f, const char *detail);
static int flush_out(struct ctl_conn *c);
static void process_input(struct ctl_conn *c);
static void handle(struct ctl_conn *c, struct req_headers *rh);
static void copy_header(const char *buf, struct http_slice v, char *dst, size_t len, int *has);
static int make_room(void);
static int untrusted(const struct ctl_conn *c);
static void conn_update(struct ctl_conn *c);
static void conn_close(struct ctl_conn *c);
static void reply_head(struct ctl_conn *c, int status, const char *headers, const char *ctype,
		       long long length);
static void finish(struct ctl_conn *c, int status);
static void reject(struct ctl_conn *c, int status, const char *error, const char *detail);
static const char *reason_of(int status);
static int open_unix(const char *path, char *err, size_t errlen);
static int open_tcp(const char *listen, char *err, size_t errlen);
static int metrics_public(void);

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
	srv.fd = fd;
	srv.address = strdup(listen_addr);
	if (!strncmp(listen_addr, "unix:", 5))
		srv.unix_path = strdup(listen_addr + 5);
	return 0;
}

const char *ctl_server_address(void)
{
	return srv.address;
}

int ctl_server_tls(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->control.tls)
		return 0;
	srv.tls = tls_ctx_build_control(cfg, err, errlen);
	if (!srv.tls)
		return -1;
	srv.hs_timeout = cfg->control.tls->handshake_timeout_ms / 1000.0;
	srv.verify = cfg->control.tls->verify_client;
	return 0;
}

const char *ctl_server_tls_note(void)
{
	if (!srv.tls)
		return "";
	switch (srv.verify) {
	case TLS_VERIFY_REQUIRED: return ", TLS, client certificate required";
	case TLS_VERIFY_OPTIONAL: return ", TLS, client certificate optional";
	default: return ", TLS";
	}
}

void ctl_server_start(struct ev_loop *loop)
{
	if (srv.fd == -1)
		return;
	srv.loop = loop;
	ev_io_init(&srv.io, on_accept, srv.fd, EV_READ);
	ev_io_start(loop, &srv.io);
	ev_timer_init(&srv.sweep, on_sweep, 1.0, 1.0);
	ev_timer_start(loop, &srv.sweep);
}

void ctl_server_close(void)
{
	while (srv.conns)
		conn_close(srv.conns);
	if (srv.loop && srv.fd != -1) {
		ev_io_stop(srv.loop, &srv.io);
		ev_timer_stop(srv.loop, &srv.sweep);
	}
	if (srv.fd != -1)
		close(srv.fd);
	srv.fd = -1;
	if (srv.unix_path)
		unlink(srv.unix_path);
	free(srv.unix_path);
	free(srv.address);
	srv.unix_path = srv.address = NULL;
	srv.loop = NULL;
	if (srv.tls)
		tls_ctx_unref(srv.tls);
	srv.tls = NULL;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int i;

	for (i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct ctl_conn *c;
		int fd = accept4(srv.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1)
			return;  /* EAGAIN, or a transient error: the next readiness retries */
		if (make_room() == -1 || !(c = calloc(1, sizeof(*c)))) {
			if (!srv.full_logged)
				log_warn("control: %u connections with authenticated requests open; "
					 "refusing more until some close", srv.nconns - srv.nwaiting);
			srv.full_logged = 1;
			close(fd);
			continue;
		}
		srv.full_logged = 0;
		c->fd = fd;
		c->last_io = c->accepted = c->idle_since = ev_now(loop);
		if (srv.tls) {
			if (tls_conn_init(&c->tls, srv.tls, fd) == -1) {
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
		c->next = srv.conns;
		if (srv.conns)
			srv.conns->prev = c;
		srv.conns = c;
		srv.nconns++;
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

		for (c = srv.conns; c; c = c->next)
			if (untrusted(c)) {
				nuntrusted++;
				oldest = c;  /* the list is newest first */
			}
		if (srv.nconns - srv.nwaiting < CTL_CONN_MAX && nuntrusted < CTL_UNTRUSTED_MAX &&
		    srv.nconns < CTL_CONN_HARD_MAX)
			return 0;
		if (!oldest)
			return -1;
		srv.evicted++;
		if (ev_now(srv.loop) - srv.evict_logged >= 10.0) {
			log_warn("control: too many connections without an authenticated request; "
				 "closed the oldest (%u so far since the last such line)", srv.evicted);
			srv.evict_logged = ev_now(srv.loop);
			srv.evicted = 0;
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
		srv.nwaiting--;
	if (srv.loop)
		ev_io_stop(srv.loop, &c->io);
	tls_conn_close(&c->tls);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv.nconns--;
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
	ev_io_stop(srv.loop, &c->io);
	ev_io_set(&c->io, c->fd, want);
	if (want)
		ev_io_start(srv.loop, &c->io);
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
			c->request_started = ev_now(srv.loop);
		c->in_len += (size_t)r;
		c->last_io = ev_now(srv.loop);
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
		c->last_io = ev_now(srv.loop);
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
		process_input(c);
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

	for (c = srv.conns; c; c = next) {
		next = c->next;
		/* checked once a second: the handshake timeout is kept to that precision */
		if (c->handshaking) {
			if (now - c->accepted > srv.hs_timeout) {
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
			reject(c, 408, "request_timeout", "the request did not arrive in time");
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
	struct tls_stats *st = tls_ctx_stats(srv.tls);
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
	c->last_io = c->idle_since = ev_now(srv.loop);
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
	int level = tls_fail_log(&srv.fail_log, srv.tls, f, c->peer, detail, ev_now(srv.loop),
				 LOG_WARN, line, sizeof(line));

	if (level != -1)
		log_msg((enum log_level)level, "control: %s", line);
}

/* Frames requests out of the input buffer and answers them in order. */
static void process_input(struct ctl_conn *c)
{
	static const struct http_limits limits = { CTL_HEAD_MAX, CTL_HEADERS_MAX };

	while (c->state == CC_READ && c->in_len > 0) {
		struct http_head *h = &srv.head;
		struct ctl_request *req = &c->req;
		struct req_headers rh;
		size_t blen, tlen, i, qpos;
		int r = http_parse_request(c->in, c->in_len, &limits, h);
		const char *target;
		const char *auth_value = NULL;
		size_t auth_len = 0;

		if (r == HTTP_PARSE_INCOMPLETE) {
			if (c->in_len >= CTL_HEAD_MAX)
				reject(c, 431, "head_too_large", "request head over 16384 bytes");
			return;
		}
		if (r == HTTP_PARSE_ERROR) {
			reject(c, h->error_status, "bad_request", h->error ? h->error : "malformed request");
			return;
		}
		if (h->body == HTTP_BODY_CHUNKED) {
			reject(c, 411, "length_required",
			       "send the body with Content-Length (chunked request bodies are not accepted)");
			return;
		}
		blen = h->body == HTTP_BODY_LENGTH ? (size_t)h->content_length : 0;
		if (h->body == HTTP_BODY_LENGTH && h->content_length > CTL_BODY_MAX) {
			char d[128];

			snprintf(d, sizeof(d), "request body of %llu bytes is over the limit of %d bytes",
				 (unsigned long long)h->content_length, CTL_BODY_MAX);
			reject(c, 413, "body_too_large", d);
			return;
		}
		if (c->in_len < h->head_len + blen) {
			if ((h->flags & HTTP_F_EXPECT_CONTINUE) && !c->continue_sent) {
				textbuf_printf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				c->continue_sent = 1;
			}
			return;
		}
		/* the whole request is here: copy what the handler needs */
		memset(req, 0, sizeof(*req));
		req->method = h->method_id;
		snprintf(req->method_text, sizeof(req->method_text), "%.*s", (int)h->method.len,
			 c->in + h->method.off);
		target = c->in + h->target.off;
		tlen = h->target.len;
		qpos = tlen;
		for (i = 0; i < tlen; i++)
			if (target[i] == '?') {
				qpos = i;
				break;
			}
		snprintf(req->path, sizeof(req->path), "%.*s", (int)qpos, target);
		if (qpos < tlen)
			snprintf(req->query, sizeof(req->query), "%.*s", (int)(tlen - qpos - 1),
				 target + qpos + 1);
		snprintf(req->peer, sizeof(req->peer), "%s", c->peer);
		req->body = malloc(blen + 1);
		if (!req->body) {
			reject(c, 500, "internal", "out of memory");
			return;
		}
		memcpy(req->body, c->in + h->head_len, blen);
		req->body[blen] = '\0';
		req->body_len = blen;
		c->keep_alive = (h->flags & HTTP_F_KEEP_ALIVE) != 0;
		memset(&rh, 0, sizeof(rh));
		for (i = 0; i < h->nheaders; i++) {
			const struct http_header *hd = &h->headers[i];

			if (http_slice_eq(c->in, hd->name, "authorization")) {
				auth_value = c->in + hd->value.off;
				auth_len = hd->value.len;
			} else if (http_slice_eq(c->in, hd->name, "content-type")) {
				copy_header(c->in, hd->value, rh.ctype, sizeof(rh.ctype), &rh.has_ctype);
			} else if (http_slice_eq(c->in, hd->name, "origin")) {
				copy_header(c->in, hd->value, rh.origin, sizeof(rh.origin), &rh.has_origin);
			} else if (http_slice_eq(c->in, hd->name, "host")) {
				copy_header(c->in, hd->value, rh.host, sizeof(rh.host), &rh.has_host);
			} else if (http_slice_eq(c->in, hd->name, "accept") && h->version_minor == 1 &&
				 memmem(c->in + hd->value.off, hd->value.len, "application/x-ndjson", 20))
				req->stream_ok = 1;
		}
		/* token files are looked at on every request: a rotation counts from now */
		ctl_auth_refresh(ev_now(srv.loop));
		rh.auth_ok = ctl_auth_identify(auth_value, auth_len, ev_now(srv.loop), &rh.who);
		/* consume before dispatching: the next pipelined request stays in front */
		memmove(c->in, c->in + h->head_len + blen, c->in_len - h->head_len - blen);
		c->in_len -= h->head_len + blen;
		c->continue_sent = 0;
		c->request_started = c->in_len ? ev_now(srv.loop) : 0;
		handle(c, &rh);
	}
}

/* Copies a header's value (trimmed by the parser) into dst; a value too long to keep
 * is kept cut, which no check accepts. */
static void copy_header(const char *buf, struct http_slice v, char *dst, size_t len, int *has)
{
	snprintf(dst, len, "%.*s", (int)v.len, buf + v.off);
	*has = 1;
}

/* control.metrics_public of the config in force. */
static int metrics_public(void)
{
	struct generation *g = proc_current_generation();
	int pub = g && g->cfg->control.metrics_public;

	generation_unref(g);
	return pub;
}

static void handle(struct ctl_conn *c, struct req_headers *rh)
{
	struct ctl_route_match m;
	struct ctl_site site = {
		.method = c->req.method, .body_len = c->req.body_len,
		.ctype = rh->has_ctype ? rh->ctype : NULL,
		.origin = rh->has_origin ? rh->origin : NULL,
		.host = rh->has_host ? rh->host : NULL,
		.listen = srv.address, .tls = srv.tls != NULL,
		.token_required = ctl_auth_required(),
	};
	char error[64], detail[512];
	int authorized = rh->auth_ok, st;

	ctl_route(c->req.method_text, c->req.path, &m);
	c->state = CC_BUSY;
	if (authorized) {
		snprintf(c->req.token, sizeof(c->req.token), "%s", rh->who.name);
		/* without tokens nobody proves anything: every connection stays a stranger */
		if (site.token_required)
			c->trusted = 1;
	}
	/* control.metrics_public lets Prometheus scrape /metrics without the token */
	if (m.id == CTL_R_METRICS && !authorized)
		authorized = metrics_public();
	if (!m.public && !authorized) {
		log_warn("control: %s %s %s without a valid token: 401", c->peer, c->req.method_text,
			 c->req.path);
		ctl_reply_json_hdr(c, 401, "WWW-Authenticate: Bearer realm=\"fulcrum\"\r\n",
				   ctl_error_json(NULL, "unauthorized",
						  "this call needs Authorization: Bearer <token>"));
		return;
	}
	if (m.status == 404) {
		ctl_reply_error(c, 404, "not_found", "no endpoint %s", c->req.path);
		return;
	}
	if (m.status == 405) {
		char hdr[96];

		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", m.allow);
		ctl_reply_json_hdr(c, 405, hdr, ctl_error_json(NULL, "method_not_allowed", "%s", m.allow));
		return;
	}
	st = ctl_cross_site_check(&site, error, sizeof(error), detail, sizeof(detail));
	if (st) {
		log_warn("control: %s %s %s refused: %s", c->peer, c->req.method_text, c->req.path,
			 detail);
		ctl_reply_error(c, st, error, "%s", detail);
		return;
	}
	if (!m.public && rh->auth_ok &&
	    !ctl_scope_check(&rh->who, c->req.method, &m, detail, sizeof(detail))) {
		ctl_reply_error(c, 403, "forbidden", "%s", detail);
		return;
	}
	ctl_dispatch(c, &c->req, &m);
	if (c->state == CC_BUSY && !c->cancel)
		ctl_reply_error(c, 500, "internal", "the handler gave no answer");
}

/* ---- Answers ---- */

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* The status line and headers. length -1 = chunked. */
static void reply_head(struct ctl_conn *c, int status, const char *headers, const char *ctype,
		       long long length)
{
	int close_after = !c->keep_alive;

	/* answers are not to be kept unless the handler says how (the status page) */
	textbuf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s", status, reason_of(status),
		   ctype ? ctype : "application/json",
		   headers && strcasestr(headers, "cache-control:") ? "" : "Cache-Control: no-store\r\n");
	if (headers)
		textbuf_append(&c->out, headers, strlen(headers));
	if (close_after)
		textbuf_printf(&c->out, "Connection: close\r\n");
	if (length == -1) {
		textbuf_printf(&c->out, "Transfer-Encoding: chunked\r\n\r\n");
		return;
	}
	textbuf_printf(&c->out, "Content-Length: %lld\r\n\r\n", length);
}

/* The answer is complete: log it, forget the request, and read the next one (or close). */
static void finish(struct ctl_conn *c, int status)
{
	int quiet = c->req.method == HTTP_M_GET && status < 400;

	/* one line per call that may change something: who (the token) did what */
	if (quiet)
		log_debug("control: %s %s %s -> %d token=%s", c->peer, c->req.method_text,
			  c->req.path, status, c->req.token[0] ? c->req.token : "none");
	else if (status != 401)
		log_info("control: %s %s %s%s%s -> %d token=%s", c->peer, c->req.method_text,
			 c->req.path, c->req.query[0] ? "?" : "", c->req.query, status,
			 c->req.token[0] ? c->req.token : "none");
	free(c->req.body);
	c->req.body = NULL;
	c->cancel = NULL;
	c->cancel_arg = NULL;
	if (c->waiting) {
		c->waiting = 0;
		srv.nwaiting--;
	}
	c->idle_since = srv.loop ? ev_now(srv.loop) : 0;
	c->state = c->keep_alive && !c->out.failed ? CC_READ : CC_CLOSING;
	/* a deferred answer comes from a timer: wake the connection to write it */
	if (srv.loop)
		ev_feed_event(srv.loop, &c->io, EV_WRITE);
}

/* An answer the server gives on its own (malformed request, limits): then close. */
static void reject(struct ctl_conn *c, int status, const char *error, const char *detail)
{
	free(c->req.body);
	memset(&c->req, 0, sizeof(c->req));
	snprintf(c->req.method_text, sizeof(c->req.method_text), "-");
	c->keep_alive = 0;
	c->state = CC_BUSY;
	ctl_reply_error(c, status, error, "%s", detail);
}

void ctl_reply_json_hdr(struct ctl_conn *c, int status, const char *headers, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	size_t len;

	cJSON_Delete(body);
	len = text ? strlen(text) : 2;
	reply_head(c, status, headers, NULL, (long long)len + 1);
	textbuf_append(&c->out, text ? text : "{}", len);
	textbuf_append(&c->out, "\n", 1);
	free(text);
	finish(c, status);
}

void ctl_reply_body(struct ctl_conn *c, int status, const char *ctype, const char *body,
		    size_t len)
{
	ctl_reply_body_hdr(c, status, NULL, ctype, body, len);
}

void ctl_reply_body_hdr(struct ctl_conn *c, int status, const char *headers, const char *ctype,
			const void *body, size_t len)
{
	reply_head(c, status, headers, ctype, (long long)len);
	textbuf_append(&c->out, body, len);
	finish(c, status);
}

void ctl_reply_json(struct ctl_conn *c, int status, cJSON *body)
{
	ctl_reply_json_hdr(c, status, NULL, body);
}

static cJSON *error_json_v(cJSON *o, const char *error, const char *fmt, va_list ap)
{
	char detail[1024];

	if (!o)
		o = cJSON_CreateObject();
	vsnprintf(detail, sizeof(detail), fmt, ap);
	cJSON_AddStringToObject(o, "error", error);
	cJSON_AddStringToObject(o, "detail", detail);
	return o;
}

cJSON *ctl_error_json(cJSON *o, const char *error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	o = error_json_v(o, error, fmt, ap);
	va_end(ap);
	return o;
}

void ctl_reply_error(struct ctl_conn *c, int status, const char *error, const char *fmt, ...)
{
	cJSON *o;
	va_list ap;

	va_start(ap, fmt);
	o = error_json_v(NULL, error, fmt, ap);
	va_end(ap);
	ctl_reply_json(c, status, o);
}

void ctl_stream_start(struct ctl_conn *c, int status)
{
	reply_head(c, status, NULL, "application/x-ndjson", -1);
	c->state = CC_STREAM;
	ev_feed_event(srv.loop, &c->io, EV_WRITE);
}

void ctl_stream_json(struct ctl_conn *c, cJSON *line)
{
	char *text = cJSON_PrintUnformatted(line);

	cJSON_Delete(line);
	if (!text) {
		c->out.failed = 1;
		return;
	}
	textbuf_printf(&c->out, "%zx\r\n", strlen(text) + 1);
	textbuf_append(&c->out, text, strlen(text));
	textbuf_append(&c->out, "\n\r\n", 3);
	free(text);
	ev_feed_event(srv.loop, &c->io, EV_WRITE);
}

void ctl_stream_end(struct ctl_conn *c)
{
	textbuf_append(&c->out, "0\r\n\r\n", 5);
	finish(c, 200);
}

void ctl_conn_defer(struct ctl_conn *c, void (*cancel)(void *arg), void *arg)
{
	c->cancel = cancel;
	c->cancel_arg = arg;
	/* a long poll holds no short-call slot */
	if (!c->waiting) {
		c->waiting = 1;
		srv.nwaiting++;
	}
}

const struct ctl_request *ctl_conn_request(const struct ctl_conn *c)
{
	return &c->req;
}
