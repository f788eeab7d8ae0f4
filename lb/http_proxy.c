/* http_proxy.c: one HTTP/1.1 exchange on a client connection: parse and rewrite the
 * request head, frame and stream the body, parse and rewrite the response head,
 * stream the response, then keep-alive (pipelined requests next) or close. Bodies that
 * live in the exchange's stores (request and response buffering) are http_body.c's,
 * the answers fulcrum makes itself http_answer.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend_producer.h"
#include "buffering.h"
#include "conn.h"
#include "conn_close.h"
#include "conn_error.h"
#include "conn_generation.h"
#include "conn_io.h"
#include "conn_log.h"
#include "health.h"
#include "http_answer.h"
#include "http_body.h"
#include "http_cache.h"
#include "http_compress.h"
#include "http_keep.h"
#include "http_maint.h"
#include "http_resp_head.h"
#include "http_rewrite.h"
#include "log.h"
#include "producer.h"
#include "sock_io.h"
#include "static_files.h"
#include "stats.h"
#include "worker.h"

#define RESPONSE_HEAD_MAX (64 * 1024)

static void http_begin_wait_head(struct client *c);
static void http_on_client_data(struct client *c);
static void http_on_client_writable(struct client *c);
static int client_write_response(struct client *c);
static int client_write_file(struct client *c);
static int client_write_cached(struct client *c);
static void dispatch_request(struct client *c);
static void http_start_exchange(struct client *c);
static void http_on_upstream_writable(struct client *c);
static void http_on_upstream_data(struct client *c);
static void parse_request_head(struct client *c);
static void queued_client_data(struct client *c);
static int rewrite_request_head(struct client *c, const char *base, const struct http_head *h,
				int body_buffered);
static int frame_request_body(struct client *c);
static int frame_response_body(struct client *c);
static void finish_exchange(struct client *c);
static void response_cut(struct client *c);
static void response_head_bad(struct client *c, const char *detail);
static ssize_t read_into(struct client *c, int fd, struct buf **bp);

/* Ends the previous exchange, if any (the next request takes a fresh one when its
 * first byte arrives), and waits for (or parses an already buffered) head. */
static void http_begin_wait_head(struct client *c)
{
	struct worker *w = c->w;

	c->state = CS_READING_HEAD;
	if (c->ex)
		exchange_end(c);
	c->last_activity = c->head_started = ev_now(w->loop);
	if (c->out && buf_len(c->out) == 0) {
		buf_put(&w->bufs, c->out);
		c->out = NULL;
	}
	if (c->in && buf_len(c->in) == 0) {
		/* an idle keep-alive connection holds no buffer */
		buf_put(&w->bufs, c->in);
		c->in = NULL;
	} else if (c->in) {
		parse_request_head(c);
	}
}

static ssize_t read_into(struct client *c, int fd, struct buf **bp)
{
	struct buf *b = *bp;
	ssize_t n;

	if (!b && !(b = *bp = buf_get(&c->w->bufs)))
		return -1;
	if (buf_room(b) == 0 && b->start > 0)
		buf_compact(b);
	if (buf_room(b) == 0)
		return -2;  /* caller decides: grow, wait, or fail */
	do
		n = fd == c->fd ? conn_read(c, buf_tail(b), buf_room(b)) : sock_read(fd, buf_tail(b), buf_room(b));
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		b->end += (uint32_t)n;
		c->last_activity = ev_now(c->w->loop);
	}
	return n;
}

static void http_on_client_data(struct client *c)
{
	ssize_t n;
	int r;

	if (c->state == CS_READING_HEAD) {
		n = read_into(c, c->fd, &c->in);
		if (n == -2) {
			parse_request_head(c);  /* full buffer: the parser decides 431 or grow */
			return;
		}
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			if (n == -1 && errno == ENOMEM) {
				client_close(c, TERM_INTERNAL);
				return;
			}
			/* a closed idle keep-alive connection is not a request */
			client_close(c, TERM_CLIENT_CLOSED);
			return;
		}
		if (n > 0) {
			if (!c->in_request && buf_len(c->in) == (uint32_t)n)
				c->head_started = ev_now(c->w->loop);
			parse_request_head(c);
		}
		return;
	}
	if (c->state == CS_READING_BODY) {
		n = read_into(c, c->fd, &c->in);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0 || n == -1) {
			/* gone before its body was whole: no backend ever saw it */
			client_close(c, n == -1 && errno == ENOMEM ? TERM_INTERNAL : TERM_CLIENT_CLOSED);
			return;
		}
		if (http_body_buffer_request(c) == 1)
			dispatch_request(c);
		return;
	}
	if (c->state == CS_QUEUED) {
		queued_client_data(c);
		return;
	}
	if (c->state != CS_CONNECTING && c->state != CS_STREAMING)
		return;
	/* request body */
	n = read_into(c, c->fd, &c->in);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		c->in_eof = 1;
		if (!c->ex->req_framed) {
			client_close(c, TERM_CLIENT_CLOSED);
			return;
		}
	}
	r = frame_request_body(c);
	if (r == -1) {
		client_error(c, 400, TERM_BAD_REQUEST, "invalid chunked body");
		return;
	}
	if (r == -2) {
		client_error(c, 413, TERM_BAD_REQUEST, "request body too large");
		return;
	}
	if (c->state == CS_STREAMING && c->up && c->up->connected)
		http_on_upstream_writable(c);
}

static void parse_request_head(struct client *c)
{
	struct worker *w = c->w;
	const struct cfg_listener *l = c->gl->cfg;
	struct http_limits lim = { l->head_max_bytes, l->header_max_count };
	struct http_head *h = &w->scratch;
	struct exchange *x = c->ex;
	const char *base;
	struct pool *p;
	uint64_t max;
	int r, buffered;

	/* the first bytes of a request: it has an exchange from now on */
	if (!x && !(x = exchange_begin(c))) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	/* a generation published since the last request applies from this one on */
	if (c->gen != w->gen && !c->in_request && client_follow_generation(c) == 0) {
		l = c->gl->cfg;
		lim.head_max_bytes = l->head_max_bytes;
		lim.header_max_count = l->header_max_count;
	}
	base = buf_head(c->in);
	r = http_parse_request(base, buf_len(c->in), &lim, h);
	if (r == HTTP_PARSE_INCOMPLETE) {
		if (!c->in_request)
			c->in_request = 1;  /* bytes of a request arrived: it gets a log line */
		if (buf_room(c->in) == 0 && c->in->start > 0)
			buf_compact(c->in);
		if (buf_room(c->in) == 0) {
			/* a head larger than a standard buffer: grow once up to the limit */
			if (c->in->cap >= l->head_max_bytes + 1) {
				client_error(c, 431, TERM_BAD_REQUEST, "request head too large");
				return;
			}
			struct buf *nb = buf_grow(&w->bufs, c->in, l->head_max_bytes + 1);
			if (!nb) {
				client_close(c, TERM_INTERNAL);
				return;
			}
			c->in = nb;
		}
		return;
	}
	c->in_request = 1;
	x->t_start = ev_now(w->loop);
	if (r == HTTP_PARSE_ERROR) {
		memcpy(x->target, "- -", 4);
		client_error(c, h->error_status ? h->error_status : 400, TERM_BAD_REQUEST,
			     h->error ? h->error : "malformed request");
		return;
	}
	http_keep_request_head(c, base, h);
	x->method = h->method_id;
	c->version_minor = (uint8_t)h->version_minor;
	x->req_body = h->body;
	x->req_left = h->body == HTTP_BODY_LENGTH ? h->content_length : 0;
	http_chunked_init(&x->req_chunk);
	c->keep_alive = (h->flags & HTTP_F_KEEP_ALIVE) && !w->stopping;
	x->upgrade = (h->flags & HTTP_F_UPGRADE) && (h->flags & HTTP_F_CONN_UPGRADE);
	x->bytes_in = h->head_len;
	if (h->method_id == HTTP_M_CONNECT) {
		client_error(c, 501, TERM_BAD_REQUEST, "CONNECT is not supported");
		return;
	}
	/* routes pick the pool, or answer here (lb/http_route.c); a pool in maintenance
	 * answers 503 before its queue or a backend is touched (lb/http_maint.c) */
	if ((l->nroutes && http_route_request(c, base, h) == -1) || http_maint_pool(c))
		return;
	if ((max = exchange_body_max(c)) && h->body == HTTP_BODY_LENGTH && h->content_length > max) {
		client_error(c, 413, TERM_BAD_REQUEST, "request body too large");
		return;
	}
	/* request buffering: a body is read whole before the request takes a backend, so a
	 * slow upload holds a buffer, never a backend worker (an upgrade streams) */
	buffered = h->body != HTTP_BODY_NONE && !x->upgrade && buffering_wanted(c, 0);
	if (rewrite_request_head(c, base, h, buffered) == -1) {
		client_error(c, 431, TERM_BAD_REQUEST, "request head too large after rewriting");
		return;
	}
	/* one pointer test for a pool without a cache */
	if (!buffered && (p = x->pool ? x->pool : c->gl->pool) && p->cache &&
	    http_cache_begin(c, p, base, h) == -1) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	/* one pointer test for a pool without compression */
	if ((p = x->pool ? x->pool : c->gl->pool) && p->cfg->compress)
		http_compress_request(c, p->cfg->compress, base, h);
	buf_consume(c->in, h->head_len);
	if (buffered) {
		if (http_body_begin_request(c, (h->flags & HTTP_F_EXPECT_CONTINUE) != 0) == 1)
			dispatch_request(c);
		return;
	}
	if (x->req_body == HTTP_BODY_NONE)
		x->req_framed = 1;
	else if ((r = frame_request_body(c)) < 0) {
		client_error(c, r == -2 ? 413 : 400, TERM_BAD_REQUEST,
			     r == -2 ? "request body too large" : "invalid chunked body");
		return;
	}
	if (!x->req_framed)
		sock_ack_now(c->fd);  /* the rest of the body may wait for it (http_body.c) */
	dispatch_request(c);
}

/* The request is whole (or streams): a pool's cache may answer it or hold it behind
 * another request's fetch; else it goes to the backend (lb/backend_producer.c). */
static void dispatch_request(struct client *c)
{
	if (c->ex->cache) {
		http_cache_dispatch(c);
		return;
	}
	exchange_produce(c, &backend_producer);
}

/* The client of a queued request sent bytes or closed. Bytes are the request's body (framed
 * as they come) or pipelined requests, kept for later. A client that closed, reset, or
 * half-closed with nothing pipelined after this request has given up on it (HAProxy's
 * abortonclose): the request leaves the queue and no backend worker spends time on an
 * answer nobody reads. A half-close after pipelined requests is a client that has said
 * all it will say and still reads: those are served. */
static void queued_client_data(struct client *c)
{
	struct exchange *x = c->ex;
	ssize_t n = read_into(c, c->fd, &c->in);
	int r;

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 && errno == ENOMEM) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	if (n > 0 || n == -2) {
		r = frame_request_body(c);
		if (r < 0)
			client_error(c, r == -2 ? 413 : 400, TERM_BAD_REQUEST,
				     r == -2 ? "request body too large" : "invalid chunked body");
		return;
	}
	c->in_eof = n == 0;
	if (n == 0 && x->req_framed && c->in && buf_len(c->in) > x->req_ready)
		return;  /* half-closed after pipelined requests: still served */
	conn_stats_pool(c, TERM_CLIENT_ABORTED_QUEUED);
	client_close(c, TERM_CLIENT_ABORTED_QUEUED);
}

/* Marks how much of c->in belongs to the request body. 0, -1 bad chunking, -2 too large. */
static int frame_request_body(struct client *c)
{
	struct exchange *x = c->ex;
	uint32_t avail;
	uint64_t max = exchange_body_max(c);

	if (x->req_framed || !c->in)
		return 0;
	avail = buf_len(c->in) - x->req_ready;
	if (x->req_body == HTTP_BODY_LENGTH) {
		uint32_t n = avail < x->req_left ? avail : (uint32_t)x->req_left;
		x->req_ready += n;
		x->req_left -= n;
		if (x->req_left == 0)
			x->req_framed = 1;
	} else if (x->req_body == HTTP_BODY_CHUNKED && avail) {
		size_t used = 0;
		int r = http_chunked_scan(&x->req_chunk, buf_head(c->in) + x->req_ready, avail, &used);
		if (r == HTTP_CHUNKED_ERROR)
			return -1;
		x->req_ready += (uint32_t)used;
		if (r == HTTP_CHUNKED_DONE)
			x->req_framed = 1;
		/* framing bytes count towards the limit: close enough, and never lets more
		 * through. The size a chunk announces counts at once: a first chunk over the
		 * limit is refused before the head goes anywhere (nothing reaches the backend) */
		if (max && x->req_body_sent + x->req_ready + x->req_chunk.remaining > max + 64)
			return -2;
	} else if (x->req_body == HTTP_BODY_NONE) {
		x->req_framed = 1;
	}
	if (x->req_framed && x->t_req_done == 0)
		x->t_req_done = ev_now(c->w->loop);  /* upload_ms ends */
	return 0;
}

/* One draw of the worker's generator (xorshift64*: fast and good enough for unique
 * request ids, not for secrets). */
static uint64_t next_random(struct worker *w)
{
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Writes the request head the backend gets into the exchange's req_head
 * (proto/http_rewrite.c decides its fields; a buffered body's length comes once it is
 * whole). -1 if it does not fit. */
static int rewrite_request_head(struct client *c, const char *base, const struct http_head *h,
				int body_buffered)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;
	struct http_rewrite_req rq = {
		.tls = client_tls(c)->ssl != NULL,
		.local_port = addr_port(&c->local.sa),
		.cert_subject = client_tls(c)->subject,
		.upgrade = x->upgrade,
		.trust_forwarded = c->gl->cfg->trust_forwarded,
		.body_buffered = body_buffered,
		.id_bits = { next_random(w), next_random(w) },
	};
	const struct cfg_route *r = x->route_cfg;
	struct buf *b;

	if (r) {
		rq.edits = r->request_headers;
		rq.nedits = r->nrequest_headers;
		if (r->strip_prefix && h->target.len >= strlen(r->strip_prefix) &&
		    !memcmp(base + h->target.off, r->strip_prefix, strlen(r->strip_prefix)))
			rq.strip_len = strlen(r->strip_prefix);
	}
	rq.peer_ip = client_peer_text(c, &rq.peer_ip_len);
	rq.peer_v6 = c->peer.sa.sa_family == AF_INET6;
	b = h->head_len + 1024 > BUF_SIZE ? buf_grow(&w->bufs, NULL, h->head_len + 1024)
					  : buf_get(&w->bufs);
	if (!b)
		return -1;
	if (http_rewrite_request(b, base, h, &rq, x->request_id) == -1) {
		buf_put(&w->bufs, b);
		return -1;
	}
	buf_put(&w->bufs, x->req_head);
	x->req_head = b;
	return 0;
}

/* Called once the backend connection is attached; connected or not yet. */
static void http_start_exchange(struct client *c)
{
	c->state = CS_STREAMING;
	c->ex->req_head_off = 0;
	c->ex->req_head_sent = 0;
	/* on a reused connection a whole body stays in the client buffer until the response
	 * starts, so a request lost to the keep-alive race can go again (replay_unread) */
	c->ex->keep_body = !c->ex->req_buffered && c->up->requests > 1 && c->ex->req_framed &&
			   c->ex->req_body_sent == 0 && c->ex->req_ready > 0;
	c->last_activity = ev_now(c->w->loop);
	http_on_upstream_writable(c);
}

/* Sends PROXY header, request head and framed body bytes in one writev: the body from
 * the client's buffer as it comes, or a buffered one from its store (req_body_sent is
 * where this attempt is in it: a replay starts again at 0). */
static void http_on_upstream_writable(struct client *c)
{
	struct exchange *x = c->ex;
	struct upstream *u = c->up;
	struct iovec iov[6];
	int n = 0, k;
	ssize_t w;
	uint32_t a, hlen;

	if (!u || !u->connected || x->req_done)
		return;
	if (u->out && buf_len(u->out))
		iov[n++] = (struct iovec){ buf_head(u->out), buf_len(u->out) };
	hlen = x->req_head && !x->req_head_sent ? buf_len(x->req_head) - x->req_head_off : 0;
	if (hlen)
		iov[n++] = (struct iovec){ buf_head(x->req_head) + x->req_head_off, hlen };
	if (x->req_buffered) {
		k = body_peek(&x->req_store, x->req_body_sent, iov + n, 6 - n);
		if (k == -1) {
			log_error("buffering: a spilled request body cannot be read back: %s", strerror(errno));
			client_error(c, 500, TERM_INTERNAL, "buffered request body lost");
			return;
		}
		n += k;
	} else if (x->req_ready) {
		iov[n++] = (struct iovec){ buf_head(c->in) + x->req_kept, x->req_ready };
	}
	if (n == 0)
		goto check_done;
	do
		w = sock_writev(u->fd, iov, n);
	while (w == -1 && errno == EINTR);
	if (w == -1) {
		if (errno == EAGAIN)
			return;
		if (x->t_first_byte == 0 && !x->resp_head_done) {
			client_backend_failed(c, TERM_BACKEND_CLOSED);
			return;
		}
		client_close(c, TERM_BACKEND_CLOSED);
		return;
	}
	c->last_activity = ev_now(c->w->loop);
	u->sent += (uint64_t)w;
	stat_add(&stats_at(u->backend->stats, c->w->id)->bytes_sent, (uint64_t)w);
	if (u->out && buf_len(u->out)) {
		a = (uint32_t)w < buf_len(u->out) ? (uint32_t)w : buf_len(u->out);
		buf_consume(u->out, a);
		w -= a;
	}
	if (hlen) {
		a = (uint32_t)w < hlen ? (uint32_t)w : hlen;
		x->req_head_off += a;
		w -= a;
		if (x->req_head_off == buf_len(x->req_head))
			x->req_head_sent = 1;
	}
	if (w > 0 && x->req_buffered) {
		x->req_body_sent += (uint64_t)w;  /* bytes_in counted them as they came */
	} else if (w > 0) {
		if (x->keep_body)
			x->req_kept += (uint32_t)w;
		else
			buf_consume(c->in, (uint32_t)w);
		x->req_ready -= (uint32_t)w;
		x->req_body_sent += (uint64_t)w;
		x->bytes_in += (uint64_t)w;
	}
check_done:
	if ((!x->req_head || x->req_head_sent) && x->req_framed && x->req_ready == 0 &&
	    (!x->req_buffered || x->req_body_sent == x->req_store.end) &&
	    (!u->out || !buf_len(u->out))) {
		x->req_done = 1;
		if (x->upgrade)
			return;  /* the tunnel, if any, starts with the 101 */
	}
	/* more body may be waiting in the client buffer now that there is room */
	if (!x->req_framed && c->in && buf_len(c->in) > x->req_ready) {
		int r = frame_request_body(c);
		if (r < 0)
			client_error(c, r == -2 ? 413 : 400, TERM_BAD_REQUEST, "invalid request body");
	}
}

static void http_on_upstream_data(struct client *c)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;
	struct upstream *u = c->up;
	struct http_head *h = &w->scratch;
	struct http_limits lim = { RESPONSE_HEAD_MAX, HTTP_HEADERS_MAX };
	const struct http_head *rh, *ch;
	const char *rbase, *cbase;
	void *held = NULL;
	char xline[96];
	uint32_t ka_ms;
	ssize_t n;
	int r;

	n = read_into(c, u->fd, &u->in);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR && errno != ENOMEM))
		u->eof = 1;
	if (n == -2 && x->resp_head_done)
		return;  /* client is slow: the buffer is full of body bytes */
	if (n > 0) {
		stat_add(&stats_at(u->backend->stats, w->id)->bytes_received, (uint64_t)n);
		if (x->t_first_byte == 0)
			x->t_first_byte = ev_now(w->loop);
	}
	while (!x->resp_head_done) {
		if (!u->in || buf_len(u->in) == 0) {
			if (u->eof) {
				/* closed before answering: client_backend_failed tells the keep-alive
				 * race from a failure, and replays what may be replayed */
				if (x->t_first_byte == 0)
					client_backend_failed(c, TERM_BACKEND_CLOSED);
				else
					response_head_bad(c, "closed after an interim response");
			}
			return;
		}
		r = http_parse_response(buf_head(u->in), buf_len(u->in), &lim, x->method, h);
		if (r == HTTP_PARSE_INCOMPLETE) {
			if (u->eof) {
				response_head_bad(c, "truncated response head");
				return;
			}
			if (buf_room(u->in) == 0) {
				if (u->in->cap > RESPONSE_HEAD_MAX) {
					response_head_bad(c, "response head too large");
					return;
				}
				struct buf *nb = buf_grow(&w->bufs, u->in, RESPONSE_HEAD_MAX + 1);
				if (!nb) {
					client_close(c, TERM_INTERNAL);
					return;
				}
				u->in = nb;
			}
			return;
		}
		if (r == HTTP_PARSE_ERROR) {
			response_head_bad(c, h->error ? h->error : "malformed response");
			return;
		}
		if (h->status >= 100 && h->status < 200 && h->status != 101) {
			/* interim responses go through as they are (HTTP/1.1 clients only) */
			if (c->version_minor >= 1) {
				if (!c->out && !(c->out = buf_get(&w->bufs))) {
					client_close(c, TERM_INTERNAL);
					return;
				}
				if (buf_append(c->out, buf_head(u->in), h->head_len) == -1) {
					client_error(c, 502, TERM_BAD_RESPONSE, "interim response too large");
					return;
				}
			}
			buf_consume(u->in, h->head_len);
			continue;
		}
		if (h->status == 101 && !x->upgrade) {
			response_head_bad(c, "101 without an Upgrade request");
			return;
		}
		x->status = h->status;
		/* a failing status counts now; anything else is judged when the response has
		 * come whole (finish_exchange): a backend that cuts its responses short fails */
		if (h->status == 101 || health_passive_status_fails(x->pool, h->status))
			health_passive_response(u->backend, x->pool, h->status);
		/* the backend's own keep-alive, when shorter, bounds the reuse too */
		ka_ms = upstream_keep_alive_ms(buf_head(u->in), h);
		if (ka_ms < u->idle_ms)
			u->idle_ms = ka_ms;
		x->resp_body = h->body;
		x->resp_left = h->body == HTTP_BODY_LENGTH ? h->content_length : 0;
		http_chunked_init(&x->resp_chunk);
		x->resp_keep_alive = (h->flags & HTTP_F_KEEP_ALIVE) != 0;
		if (h->body == HTTP_BODY_UNTIL_CLOSE)
			c->keep_alive = 0;
		/* response buffering (http_body.c) */
		x->resp_may_buffer = http_body_resp_may_buffer(c, h);
		rbase = cbase = buf_head(u->in);
		rh = ch = h;
		/* compression rewrites the head the cache and the client get (Vary,
		 * Content-Encoding, framing); the backend's framing stays in x */
		if (x->compress_cfg && http_compress_response_head(c, &rbase, &rh, &cbase, &ch, &held) == -1) {
			free(held);
			client_close(c, TERM_INTERNAL);
			return;
		}
		if (x->cache && http_cache_response_head(c, cbase, ch) == 1) {
			free(held);
			return;  /* a stale answer replaced the backend's 5xx */
		}
		r = http_resp_head(c, rbase, rh, x->cache_status ? http_cache_header_line(c, xline, sizeof(xline)) : NULL);
		free(held);
		if (r == -1) {
			client_error(c, 502, TERM_BAD_RESPONSE, "response head too large");
			return;
		}
		buf_consume(u->in, h->head_len);
		x->resp_head_done = 1;
		/* the rewritten head is ours now; retries are over */
		buf_put(&w->bufs, x->req_head);
		x->req_head = NULL;
		x->req_head_sent = 1;
		if (x->req_kept)
			buf_consume(c->in, x->req_kept);
		x->req_kept = 0;
		x->keep_body = 0;
		if (h->status == 101) {
			x->resp_done = 1;
			tunnel_start(c);
			return;
		}
	}
	if ((r = frame_response_body(c)) == -2) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	if (r == -1) {
		atomic_fetch_add(&u->backend->failures, 1);
		health_passive_failure(u->backend, x->pool, HEALTH_FAIL_EXCHANGE, "bad chunked response body");
		client_close(c, TERM_BAD_RESPONSE);
		return;
	}
	/* more of the body is to come: the backend gets its ACK now, not after the
	 * delayed-ACK timer (sock_io.h), so that it is not held mid-response */
	if (n > 0 && !x->resp_done)
		sock_ack_now(u->fd);
	/* one read filled the whole (empty) buffer and the body goes on: bulk (buffer.h).
	 * A read that only topped up what a slow client left behind does not count: more
	 * buffering would not make that client faster. */
	if (n > 0 && !x->resp_done && (uint32_t)n == u->in->cap)
		buf_grow_bulk(&w->bufs, &u->in);
	if (u->eof && !x->resp_done && x->resp_ready == 0) {
		response_cut(c);
		return;
	}
	/* straight to the client when it takes it (no copy), then what it left is held */
	if (client_write_response(c) && x->resp_may_buffer)
		http_body_hold_response(c);
}

/* The backend closed or reset the connection in the middle of the response body: its
 * failure (passive detection), and nothing can be said in-band to the client now. */
static void response_cut(struct client *c)
{
	struct upstream *u = c->up;

	atomic_fetch_add(&u->backend->failures, 1);
	health_passive_failure(u->backend, c->ex->pool, HEALTH_FAIL_EXCHANGE, "response cut short");
	client_close(c, TERM_BACKEND_CLOSED);
}

/* The backend's response head is unusable (garbage, truncated, too large). Before any
 * byte went to the client this is a backend failure like a reset before the response:
 * client_backend_failed counts it and replays an idempotent request on another backend.
 * After an interim response went out, only a 502 is left (and the failure counted). */
static void response_head_bad(struct client *c, const char *detail)
{
	struct exchange *x = c->ex;
	struct upstream *u = c->up;

	if (x->bytes_out == 0 && (!c->out || buf_len(c->out) == 0)) {
		client_backend_failed(c, TERM_BAD_RESPONSE);
		return;
	}
	atomic_fetch_add(&u->backend->failures, 1);
	health_passive_failure(u->backend, x->pool, HEALTH_FAIL_EXCHANGE, "bad_response");
	client_error(c, 502, TERM_BAD_RESPONSE, detail);
}

/* Marks how much of up->in belongs to the response body. 0, -1 (bad chunking) or -2
 * (the encoder failed). */
static int frame_response_body(struct client *c)
{
	struct exchange *x = c->ex;
	struct upstream *u = c->up;
	uint32_t avail, before = x->resp_ready;

	if (x->resp_done || !x->resp_head_done)
		return 0;  /* interim responses may have gone out; the final head has not come */
	avail = u->in ? buf_len(u->in) - x->resp_ready : 0;
	switch (x->resp_body) {
	case HTTP_BODY_NONE:
		x->resp_done = 1;
		break;
	case HTTP_BODY_LENGTH: {
		uint32_t n = avail < x->resp_left ? avail : (uint32_t)x->resp_left;
		x->resp_ready += n;
		x->resp_left -= n;
		if (x->resp_left == 0)
			x->resp_done = 1;
		break;
	}
	case HTTP_BODY_CHUNKED:
		if (avail) {
			size_t used = 0;
			int r = http_chunked_scan(&x->resp_chunk, buf_head(u->in) + x->resp_ready,
						  avail, &used);
			if (r == HTTP_CHUNKED_ERROR)
				return -1;
			x->resp_ready += (uint32_t)used;
			if (r == HTTP_CHUNKED_DONE)
				x->resp_done = 1;
		}
		break;
	case HTTP_BODY_UNTIL_CLOSE:
		x->resp_ready += avail;
		if (u->eof)
			x->resp_done = 1;
		break;
	}
	if (x->resp_done && x->t_resp_done == 0)
		x->t_resp_done = ev_now(c->w->loop);  /* delivery_ms begins */
	/* the encoder takes the framed bytes (and gives the cache its output) */
	if (x->compress)
		return http_compress_pump(c) == -1 ? -2 : 0;
	/* a fetcher's copy of a storable response takes the bytes as they are framed */
	if (x->cache) {
		if (x->resp_ready > before)
			http_cache_body(c, buf_head(u->in) + before, x->resp_ready - before);
		if (x->resp_done)
			http_cache_response_done(c);
	}
	return 0;
}

/* Writes queued heads and framed response bytes to the client: from the response's
 * store while it holds any (buffered), else zero-copy from the backend's buffer;
 * finishes the exchange when everything is out. Returns 1 while the same exchange goes
 * on, 0 when it finished or the connection closed (c may then carry the next request). */
static int client_write_response(struct client *c)
{
	struct exchange *x = c->ex;  /* set in the states that write here */
	struct upstream *u = c->up;
	struct iovec iov[6];
	int n = 0, k, from_store;
	ssize_t w;
	uint32_t a;

	if (c->state == CS_CLOSING) {
		if (client_flush_out(c) == -1)
			client_close(c, x->term ? x->term : TERM_DONE);
		else if (!c->out || buf_len(c->out) == 0)
			client_linger(c);
		return 0;
	}
	if (c->state == CS_READING_BODY || c->state == CS_QUEUED) {
		/* a 100 Continue fulcrum said while it reads the body itself */
		if (client_flush_out(c) == -1)
			client_close(c, TERM_CLIENT_CLOSED);
		return 0;
	}
	if (c->state != CS_STREAMING)
		return 0;
	if (x->producer == &static_producer)
		return client_write_file(c);
	if (x->producer == &cache_producer)
		return client_write_cached(c);
	if (c->out && buf_len(c->out))
		iov[n++] = (struct iovec){ buf_head(c->out), buf_len(c->out) };
	/* a compressed response goes from c->out only (the encoder's output) */
	from_store = !x->compress && x->resp_buffered && body_kept(&x->resp_store) > 0;
	if (from_store) {
		k = body_peek(&x->resp_store, x->resp_store.start, iov + n, 6 - n);
		if (k == -1) {
			log_error("buffering: a spilled response cannot be read back: %s", strerror(errno));
			client_close(c, TERM_INTERNAL);
			return 0;
		}
		n += k;
	} else if (u && x->resp_ready && !x->compress) {
		iov[n++] = (struct iovec){ buf_head(u->in), x->resp_ready };
	}
	if (n) {
		do
			w = conn_writev(c, iov, n);
		while (w == -1 && errno == EINTR);
		if (w == -1) {
			if (errno == EAGAIN)
				return 1;
			client_close(c, TERM_CLIENT_CLOSED);
			return 0;
		}
		x->bytes_out += (uint64_t)w;
		c->last_activity = ev_now(c->w->loop);
		if (c->out && buf_len(c->out)) {
			a = (uint32_t)w < buf_len(c->out) ? (uint32_t)w : buf_len(c->out);
			buf_consume(c->out, a);
			w -= a;
		}
		if (w > 0 && from_store) {
			body_drop(&x->resp_store, x->resp_store.start + (uint64_t)w);
		} else if (w > 0) {
			buf_consume(u->in, (uint32_t)w);
			x->resp_ready -= (uint32_t)w;
		}
		/* the backend buffer has room again: frame what is left in it; the encoder
		 * fills the room the client made in c->out */
		if (x->compress && x->resp_done && http_compress_pump(c) == -1) {
			client_close(c, TERM_INTERNAL);
			return 0;
		}
		k = u && !x->resp_done ? frame_response_body(c) : 0;
		if (k == -2) {
			client_close(c, TERM_INTERNAL);
			return 0;
		}
		if (k == -1) {
			atomic_fetch_add(&u->backend->failures, 1);
			health_passive_failure(u->backend, x->pool, HEALTH_FAIL_EXCHANGE,
					       "bad chunked response body");
			client_close(c, TERM_BAD_RESPONSE);
			return 0;
		}
		/* the backend closed while the client was still taking what came before */
		if (u && u->eof && x->resp_head_done && !x->resp_done && x->resp_ready == 0) {
			response_cut(c);
			return 0;
		}
	}
	if (x->resp_head_done && x->resp_done && x->resp_ready == 0 &&
	    (!x->compress || x->compress->finished) &&
	    (!x->resp_buffered || body_kept(&x->resp_store) == 0) &&
	    (!c->out || !buf_len(c->out))) {
		finish_exchange(c);
		return 0;
	}
	return 1;
}

/* A static route's answer (lb/static_files.c): its head, then its file's range, as the
 * client takes them; the exchange finishes as a proxied one does (keep-alive and the
 * next request, or close). Returns as client_write_response. */
static int client_write_file(struct client *c)
{
	switch (static_files_send(c)) {
	case 1:
		return 1;
	case 0:
		finish_exchange(c);
		return 0;
	case -2:
		log_warn("static: %s: the file ended before its range was sent (changed while served)",
			 c->ex->target);
		client_close(c, TERM_INTERNAL);
		return 0;
	default:
		client_close(c, TERM_CLIENT_CLOSED);
		return 0;
	}
}

/* A cache hit's answer (lb/http_cache.c): its head, then the stored body from memory;
 * the exchange finishes as a proxied one does. Returns as client_write_response. */
static int client_write_cached(struct client *c)
{
	switch (http_cache_send(c)) {
	case 1:
		return 1;
	case 0:
		finish_exchange(c);
		return 0;
	case -2:
		/* a response read as it was fetched, and the fetch failed: cut short as a
		 * proxied one would be */
		client_close(c, TERM_BACKEND_CLOSED);
		return 0;
	default:
		client_close(c, TERM_CLIENT_CLOSED);
		return 0;
	}
}

static void http_on_client_writable(struct client *c)
{
	/* the client made room: bytes the backend sent meanwhile move to the store, and a
	 * response that is whole there lets its backend go */
	if (client_write_response(c) && c->ex->resp_may_buffer && c->up)
		http_body_hold_response(c);
}

/* The response is fully delivered: log, give back the slot and the backend
 * connection, then wait for the next request or close. */
static void finish_exchange(struct client *c)
{
	struct worker *w = c->w;
	struct exchange *x = c->ex;

	x->term = TERM_DONE;
	/* (a response held whole in the store let its backend go already) */
	x->producer->done(c, x->resp_keep_alive && x->req_done);
	conn_log_request(c);
	c->answered = 1;
	/* a client that half-closed after pipelined requests still reads: what it sent
	 * before its FIN is served, then the connection closes */
	if (!c->keep_alive || !x->req_done || w->stopping ||
	    (c->in_eof && (!c->in || buf_len(c->in) == 0))) {
		client_close(c, TERM_DONE);
		return;
	}
	http_begin_wait_head(c);
}

/* ---- the protocol table ---- */

static void http_client_event(struct client *c, int revents)
{
	if ((revents & EV_WRITE) && c->state != CS_CLOSED)
		http_on_client_writable(c);
	if ((revents & EV_READ) && c->state != CS_CLOSED)
		http_on_client_data(c);
}

static void http_upstream_event(struct client *c, struct upstream *u, int revents)
{
	if ((revents & EV_WRITE) && c->state == CS_STREAMING)
		http_on_upstream_writable(c);
	if ((revents & EV_READ) && c->state == CS_STREAMING && c->up == u)
		http_on_upstream_data(c);
}

const struct conn_proto http1_proto = {
	.name = "http/1.1",
	/* the request often arrives in the same read as a PROXY header: what is buffered is
	 * parsed at once */
	.start = http_begin_wait_head,
	.client_event = http_client_event,
	.upstream_event = http_upstream_event,
	.upstream_ready = http_start_exchange,
	.send_answer = http_send_answer,
};
