/* h2_conn.c: owns HTTP/2 client connections (include/h2_conn.h). libnghttp2 does the
 * framing, HPACK and flow control through its callback API on fulcrum's buffers
 * (nghttp2_session_mem_recv / mem_send): fulcrum keeps the socket, the TLS and the
 * loop. Each stream becomes an internal connection (client_new_stream) over an
 * in-memory transport (lb/mem_pipe.c): the stream's header block is checked and written
 * as an HTTP/1.1 head (proto/h2_msg.c), its DATA as the body (chunked when it has no
 * content-length), and the HTTP/1.1 path every request takes (the strict parser,
 * routes, cache, buffering, the queue and max_conns, retries, the access log) runs
 * unchanged on it. What that path answers is read back from the transport: the head
 * becomes a HEADERS frame, the body (its HTTP/1.1 framing taken off) DATA frames, as
 * the client's flow-control window allows; a full transport stops the stream's writes,
 * and response buffering holds the rest while the backend is let go.
 *
 * Defences, each with a listener key: concurrent streams (SETTINGS), the header list
 * size (SETTINGS and h2_msg's count; 431 beyond), the request body's window (WINDOW_UPDATE
 * only as the stream's connection reads: a fast uploader cannot fill memory), streams
 * reset by the client within 10 s (rapid reset, CVE-2023-44487: GOAWAY
 * ENHANCE_YOUR_CALM beyond the budget), CONTINUATION frames per header block, empty
 * DATA frames; libnghttp2 bounds SETTINGS and PING acknowledgements it owes. */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_arm.h"
#include "conn_close.h"
#include "conn_generation.h"
#include "conn_io.h"
#include "h2_conn-int.h"
#include "log.h"
#include "mem_pipe.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

#define READ_TURNS 16             /* socket reads per event before others get the loop */
#define WRITE_QUEUE_MAX (64 * 1024) /* frames serialized ahead of the socket */
#define RESET_WINDOW_S 10.0
#define CONTINUATIONS_MAX 32      /* CONTINUATION frames in one header block */
#define EMPTY_FRAMES_MAX 256      /* DATA frames without data nor END_STREAM per connection */
#define REQ_HEAD_MAX (64 * 1024 + 1024)
/* Ended streams a worker keeps for the next ones, with their buffers (two pipe queues and
 * the request's field lines, 4 KiB each at first): those sizes are past glibc's per-thread
 * cache, so each would cost a trip through malloc's main path per stream. A bounded
 * number per worker thread, whatever the number of connections: idle connections hold
 * none. */
#define SPARE_STREAMS_MAX 64
/* under ASan every stream is freed, so that a late use of one is caught */
#if defined(__SANITIZE_ADDRESS__)
#define SPARE_STREAMS_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPARE_STREAMS_ON 0
#endif
#endif
#ifndef SPARE_STREAMS_ON
#define SPARE_STREAMS_ON 1
#endif
#define SPARE_BUF_MAX (16 * 1024) /* a stream whose queues grew past this is not kept */


static __thread struct h2_stream *spare_streams;
static __thread unsigned spare_count;

static __thread char req_head_buf[REQ_HEAD_MAX];

static void pump(struct h2_conn *hc);
static void flush(struct h2_conn *hc);
static void stream_free(struct h2_stream *st, enum termination why);
static void goaway_submit(struct h2_conn *hc, uint32_t error);
static int recv_bytes(struct h2_conn *hc, const uint8_t *data, size_t len);

/* ---- streams ---- */

/* The stream's connection read (consumed > 0) or wrote, or closed: the connection's pump
 * will act on it, from its own timer (never inside the stream's callbacks). */
static void on_pipe(struct mem_pipe *p, size_t consumed)
{
	struct h2_stream *st = p->owner;
	struct h2_conn *hc = st->hc;

	if (st->closing || hc->freeing)
		return;
	st->consumed += consumed;
	if (!ev_is_active(&hc->kick)) {
		ev_timer_set(&hc->kick, 0., 0.);
		ev_timer_start(hc->c->w->loop, &hc->kick);
	}
}

/* The request's header block is written (or the stream ends): its values go, its
 * field-lines buffer stays with the stream for the next request that reuses it. */
static void stream_req_release(struct h2_stream *st)
{
	if (st->req.lines.p && !st->lines_spare.p && st->req.lines.cap <= SPARE_BUF_MAX) {
		st->lines_spare = st->req.lines;
		st->req.lines = (struct textbuf){ 0 };
	}
	h2_req_free(&st->req);
}

/* A stream from the worker's spares (its buffers kept, emptied) or a new one. */
static struct h2_stream *stream_alloc(void)
{
	struct h2_stream *st = spare_streams;
	struct pipe_bytes in, out;
	struct textbuf lines;

	if (!st)
		return calloc(1, sizeof(struct h2_stream));
	spare_streams = st->spare_next;
	spare_count--;
	in = st->pipe.in;
	out = st->pipe.out;
	lines = st->lines_spare;
	/* the request's inline space need not be cleared: h2_req_init says so */
	memset(st, 0, offsetof(struct h2_stream, req));
	memset((char *)st + offsetof(struct h2_stream, req) + sizeof(st->req), 0,
	       sizeof(*st) - offsetof(struct h2_stream, req) - sizeof(st->req));
	st->pipe.in = (struct pipe_bytes){ in.p, 0, 0, in.cap };
	st->pipe.out = (struct pipe_bytes){ out.p, 0, 0, out.cap };
	st->lines_spare = lines;  /* stream_new hands it to the request */
	return st;
}

/* An ended stream goes to the worker's spares, or is freed. */
static void stream_release(struct h2_stream *st)
{
	if (SPARE_STREAMS_ON && spare_count < SPARE_STREAMS_MAX && st->pipe.in.cap <= SPARE_BUF_MAX &&
	    st->pipe.out.cap <= SPARE_BUF_MAX) {
		st->spare_next = spare_streams;
		spare_streams = st;
		spare_count++;
		return;
	}
	pipe_bytes_free(&st->pipe.in);
	pipe_bytes_free(&st->pipe.out);
	textbuf_free(&st->lines_spare);
	free(st);
}

static struct h2_stream *stream_new(struct h2_conn *hc, int32_t id)
{
	const struct cfg_listener *l = hc->c->gl->cfg;
	struct h2_stream *st = stream_alloc();

	if (!st)
		return NULL;
	st->id = id;
	st->hc = hc;
	st->req_cl = -1;
	st->pipe.out_max = STREAM_OUT_MAX;
	st->pipe.notify = on_pipe;
	st->pipe.owner = st;
	h2_req_init(&st->req, l->h2_max_header_list_bytes);
	if (st->lines_spare.p) {
		/* the last request's buffer, emptied */
		st->req.lines = (struct textbuf){ st->lines_spare.p, 0, st->lines_spare.cap, 0 };
		st->req.lines.p[0] = '\0';
		st->lines_spare = (struct textbuf){ 0 };
	}
	st->next = hc->streams;
	if (st->next)
		st->next->prev = st;
	hc->streams = st;
	hc->v.streams_open++;
	return st;
}

/* The stream is over (nghttp2 closed it, or the connection goes): its connection is
 * closed if it still runs (a request the client gave up leaves the queue), then it
 * goes. */
static void stream_free(struct h2_stream *st, enum termination why)
{
	struct h2_conn *hc = st->hc;

	st->closing = 1;
	if (!hc->freeing)
		nghttp2_session_set_stream_user_data(hc->s, st->id, NULL);
	/* (the transport knows whether its connection still runs: it may have closed
	 * itself once its response was out) */
	if (st->pipe.c)
		client_close(st->pipe.c, why);
	if (st->prev)
		st->prev->next = st->next;
	else
		hc->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st->trailers);
	stream_req_release(st);
	hc->v.streams_open--;
	if (hc->v.streams_open == 0)
		hc->c->last_activity = ev_now(hc->c->w->loop);
	stream_release(st);
}

/* Appends request body bytes for the stream's connection (as a chunk when chunked). */
static int body_in(struct h2_stream *st, const uint8_t *data, size_t len)
{
	char sz[24];
	int n;

	if (!st->chunked_req)
		return pipe_bytes_put(&st->pipe.in, data, len);
	n = snprintf(sz, sizeof(sz), "%zx\r\n", len);
	return pipe_bytes_put(&st->pipe.in, sz, (size_t)n) == -1 || pipe_bytes_put(&st->pipe.in, data, len) == -1 ||
			       pipe_bytes_put(&st->pipe.in, "\r\n", 2) == -1
		       ? -1
		       : 0;
}

/* The request's body is whole: the chunked framing ends. A content-length that DATA
 * did not fill is malformed (RFC 9113 8.1.1). The connection reads no EOF: to the
 * HTTP/1.1 path an EOF while queued is a client that gave up, and an HTTP/2 client says
 * that with RST_STREAM (its connection is closed then). */
static int request_end(struct h2_stream *st)
{
	st->req_ended = 1;
	if (st->req_cl >= 0 && st->req_data != (uint64_t)st->req_cl)
		return -1;
	if (st->chunked_req && pipe_bytes_put(&st->pipe.in, "0\r\n\r\n", 5) == -1)
		return -1;
	mem_pipe_kick(&st->pipe);
	return 0;
}

/* A response fulcrum makes for the stream itself, before any connection (431). */
static void answer_status(struct h2_conn *hc, struct h2_stream *st, int status)
{
	char code[4];
	nghttp2_nv nv[] = { { (uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE } };

	snprintf(code, sizeof(code), "%03d", status);
	st->resp_head = st->resp_done = 1;
	nghttp2_submit_response(hc->s, st->id, nv, 1, NULL);
}

/* The header block is whole: its HTTP/1.1 head goes to a new internal connection. */
static int request_start(struct h2_conn *hc, struct h2_stream *st, int end_stream)
{
	struct client *c = hc->c, *ic;
	int n;

	if (st->refuse) {
		answer_status(hc, st, st->refuse);
		return 0;
	}
	n = h2_req_head(&st->req, end_stream, req_head_buf, sizeof(req_head_buf));
	if (n == -2) {
		answer_status(hc, st, 431);
		return 0;
	}
	if (n < 0)
		return -1;
	st->req_cl = h2_req_content_length(&st->req);
	st->chunked_req = !end_stream && st->req_cl < 0;
	st->method = strncmp(req_head_buf, "HEAD ", 5) ? HTTP_M_GET : HTTP_M_HEAD;
	stream_req_release(st);
	if (pipe_bytes_put(&st->pipe.in, req_head_buf, (size_t)n) == -1)
		return -1;
	/* a reload may have come since the connection's last stream */
	if (client_follow_generation(c) == -1) {
		goaway_submit(hc, NGHTTP2_NO_ERROR);
		return -1;
	}
	if (!(ic = client_new_stream(c->w, c, &st->pipe)))
		return -1;
	ic->proto = &http1_proto;
	st->pipe.stream_id = (uint32_t)st->id;
	ic->state = CS_READING_HEAD;
	st->started = 1;
	stat_add(&c->gl->stats[c->w->id].h2_streams, 1);
	if (end_stream && request_end(st) == -1)
		return -1;
	client_update(ic);
	return 0;
}


/* GOAWAY (once): no stream after the last one processed. Safe inside the session's
 * callbacks (it only queues the frame). */
static void goaway_submit(struct h2_conn *hc, uint32_t error)
{
	if (hc->goaway)
		return;
	hc->goaway = 1;
	nghttp2_submit_goaway(hc->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(hc->s), error,
			      NULL, 0);
}

/* ---- nghttp2's callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *hc = ud;
	struct h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	hc->continuations = 0;
	if (hc->goaway || !(st = stream_new(hc, f->hd.stream_id))) {
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	int r;

	(void)flags;
	(void)ud;
	if (!st)
		return 0;
	if (st->started) {
		/* trailers: not passed on (the body's chunked framing ends without them) */
		return 0;
	}
	if (st->refuse)
		return 0;
	r = h2_req_field(&st->req, name, namelen, value, valuelen);
	if (r == -2)
		st->refuse = 431;
	else if (r < 0) {
		/* malformed (RFC 9113 8.1.1): the stream is reset with PROTOCOL_ERROR (what
		 * nghttp2 would say is INTERNAL_ERROR), as nghttp2_on_header_callback says */
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2_conn *hc = ud;

	(void)s;
	if (hd->type == NGHTTP2_CONTINUATION && ++hc->continuations > CONTINUATIONS_MAX)
		return NGHTTP2_ERR_CALLBACK_FAILURE;  /* CONTINUATION flood: the connection goes */
	return 0;
}

/* The client reset a stream: counted against the connection's budget (rapid reset). */
static int reset_counted(struct h2_conn *hc)
{
	double now = ev_now(hc->c->w->loop);
	uint32_t max = hc->c->gl->cfg->h2_max_resets;

	if (now - hc->resets_since > RESET_WINDOW_S) {
		hc->resets_since = now;
		hc->resets = 0;
	}
	if (++hc->resets <= max)
		return 0;
	log_warn("listener %s: HTTP/2 client reset %u streams within %.0f s: GOAWAY", hc->c->gl->cfg->name,
		 hc->resets, RESET_WINDOW_S);
	stat_add(&hc->c->gl->stats[hc->c->w->id].h2_goaway_abuse, 1);
	goaway_submit(hc, NGHTTP2_ENHANCE_YOUR_CALM);
	return -1;  /* the connection goes, and its streams in flight with it */
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *hc = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	int end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (!st)
			return 0;
		if (!st->started && !st->resp_head) {
			if (request_start(hc, st, end) == -1)
				nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
		} else if (st->started && end && !st->req_ended && request_end(st) == -1) {
			nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
		}
		break;
	case NGHTTP2_DATA:
		if (f->hd.length == 0 && !end && ++hc->empty_frames > EMPTY_FRAMES_MAX)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (st && st->started && end && !st->req_ended && request_end(st) == -1)
			nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
		break;
	case NGHTTP2_RST_STREAM:
		if (reset_counted(hc) == -1)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		break;
	default:
		break;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)flags;
	(void)ud;
	if (!st || !st->started || st->req_ended) {
		nghttp2_session_consume(s, id, len);  /* not for anyone: the window moves on */
		return 0;
	}
	st->req_data += len;
	if ((st->req_cl >= 0 && st->req_data > (uint64_t)st->req_cl) || body_in(st, data, len) == -1) {
		nghttp2_session_consume(s, id, len);
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_PROTOCOL_ERROR);
		return 0;
	}
	mem_pipe_kick(&st->pipe);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)ud;
	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	/* its connection is done unless the client gave up on it first */
	stream_free(st, error == NGHTTP2_NO_ERROR ? TERM_DONE : TERM_CLIENT_CLOSED);
	return 0;
}

/* ---- the connection ---- */

static void on_kick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct h2_conn *hc = t->data;
	struct client *c = hc->c;

	(void)loop;
	(void)revents;
	pump(hc);
	if (c->state != CS_CLOSED)
		client_update(c);
}

static void h2_start(struct client *c)
{
	const struct cfg_listener *l = c->gl->cfg;
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	struct h2_conn *hc = calloc(1, sizeof(*hc));
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, l->h2_max_concurrent_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, l->h2_window_bytes },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, l->h2_max_header_list_bytes },
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, l->h2_header_table_bytes },
	};
	int r;

	if (!hc || nghttp2_session_callbacks_new(&cb) != 0) {
		free(hc);
		client_close(c, TERM_INTERNAL);
		return;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		free(hc);
		client_close(c, TERM_INTERNAL);
		return;
	}
	/* the request body's window moves only as its connection reads it */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_send_header_block_length(opt, 65536);
	r = nghttp2_session_server_new2(&hc->s, cb, hc, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (r != 0) {
		free(hc);
		client_close(c, TERM_INTERNAL);
		return;
	}
	hc->c = c;
	hc->resets_since = ev_now(c->w->loop);
	ev_timer_init(&hc->kick, on_kick, 0., 0.);
	hc->kick.data = hc;
	c->ext = hc;
	c->is_h2 = 1;
	c->state = CS_H2;
	c->answered = 1;
	c->last_activity = ev_now(c->w->loop);
	stat_add(&c->gl->stats[c->w->id].h2_connections, 1);
	/* the connection window as large as a stream's, less the 65,535 it starts with */
	nghttp2_submit_settings(hc->s, NGHTTP2_FLAG_NONE, set, sizeof(set) / sizeof(set[0]));
	if (l->h2_window_bytes > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
		nghttp2_session_set_local_window_size(hc->s, NGHTTP2_FLAG_NONE, 0, (int32_t)l->h2_window_bytes * 4);
	/* cleartext with prior knowledge: the preface and what followed it are read already */
	if (c->in && buf_len(c->in) > 0) {
		size_t len = buf_len(c->in);

		r = recv_bytes(hc, (const uint8_t *)buf_head(c->in), len);
		if (c->state == CS_CLOSED)
			return;
		buf_consume(c->in, len);
		if (r == -1)
			return;
	}
	pump(hc);
}

/* Bytes read from the client to the session. On a connection error the frames owed (our
 * SETTINGS, the GOAWAY that says why) go out before the close, whether the bytes came
 * with the preface or later. 0, or -1 when the connection was closed. */
static int recv_bytes(struct h2_conn *hc, const uint8_t *data, size_t len)
{
	struct client *c = hc->c;
	ssize_t r = nghttp2_session_mem_recv(hc->s, data, len);

	if (r >= 0)
		return 0;
	log_debug("listener %s: HTTP/2 session error: %s", c->gl->cfg->name, nghttp2_strerror((int)r));
	flush(hc);
	if (c->state != CS_CLOSED)
		client_close(c, TERM_BAD_REQUEST);
	return -1;
}

/* Frames to the socket: what waits in wq first, then what the session has to send,
 * while the socket takes it. */
static void flush(struct h2_conn *hc)
{
	struct client *c = hc->c;

	for (;;) {
		while (pipe_bytes_len(&hc->wq) > 0) {
			ssize_t n = conn_write(c, pipe_bytes_head(&hc->wq), pipe_bytes_len(&hc->wq));

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					goto out;
				client_close(c, TERM_CLIENT_CLOSED);
				return;
			}
			pipe_bytes_take(&hc->wq, (size_t)n);
		}
		while (pipe_bytes_len(&hc->wq) < WRITE_QUEUE_MAX) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(hc->s, &data);

			if (n < 0) {
				client_close(c, TERM_INTERNAL);
				return;
			}
			if (n == 0)
				break;
			if (pipe_bytes_put(&hc->wq, data, (size_t)n) == -1) {
				client_close(c, TERM_INTERNAL);
				return;
			}
		}
		if (pipe_bytes_len(&hc->wq) == 0)
			break;
	}
out:
	hc->v.frames_pending = (uint32_t)pipe_bytes_len(&hc->wq);
}

static void pump(struct h2_conn *hc)
{
	struct client *c = hc->c;

	h2_pump_streams(hc);
	flush(hc);
	if (c->state == CS_CLOSED)
		return;
	if (!nghttp2_session_want_read(hc->s) && !nghttp2_session_want_write(hc->s) &&
	    pipe_bytes_len(&hc->wq) == 0) {
		client_close(c, hc->goaway ? TERM_SHUTDOWN : TERM_DONE);
		return;
	}
	if (hc->goaway && !hc->streams && pipe_bytes_len(&hc->wq) == 0)
		client_close(c, TERM_SHUTDOWN);
}

static void h2_client_event(struct client *c, int revents)
{
	struct h2_conn *hc = client_h2(c);
	char buf[16384];
	int i;

	if (revents & EV_READ) {
		for (i = 0; i < READ_TURNS; i++) {
			ssize_t n = conn_read(c, buf, sizeof(buf));

			if (n > 0) {
				c->last_activity = ev_now(c->w->loop);
				if (recv_bytes(hc, (const uint8_t *)buf, (size_t)n) == -1)
					return;
				continue;
			}
			if (n == 0) {
				c->in_eof = 1;
				client_close(c, TERM_CLIENT_CLOSED);
				return;
			}
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(c, TERM_CLIENT_CLOSED);
			return;
		}
	}
	pump(hc);
}

static void h2_upstream_event(struct client *c, struct upstream *u, int revents)
{
	(void)c;
	(void)u;
	(void)revents;
}

static void h2_upstream_ready(struct client *c)
{
	(void)c;
}

static void h2_stop(struct client *c);
static void h2_close(struct client *c);

const struct conn_proto h2_proto = {
	.name = "h2",
	.start = h2_start,
	.client_event = h2_client_event,
	.upstream_event = h2_upstream_event,
	.upstream_ready = h2_upstream_ready,
	.send_answer = NULL,
	.stop = h2_stop,
	.close = h2_close,
};

/* After the TLS handshake: HTTP/2 when ALPN chose h2, else HTTP/1.1. The connection takes
 * the chosen protocol for the rest of its life. */
static void alpn_start(struct client *c)
{
	c->proto = c->tls.ssl && tls_alpn_is(&c->tls, "h2") ? &h2_proto : &http1_proto;
	c->proto->start(c);
}

/* Never called: the connection has its chosen protocol before any event (start). */
static void alpn_client_event(struct client *c, int revents)
{
	(void)revents;
	client_close(c, TERM_INTERNAL);
}

const struct conn_proto alpn_proto = {
	.name = "alpn",
	.start = alpn_start,
	.client_event = alpn_client_event,
	.upstream_event = h2_upstream_event,
	.upstream_ready = h2_upstream_ready,
	.send_answer = NULL,
};

/* The client preface of HTTP/2 (RFC 9113 3.4): a plain connection that starts with it
 * speaks HTTP/2 with prior knowledge. No HTTP/1.1 request starts with "PRI * ". */
static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(preface) - 1)

static void preface_start(struct client *c)
{
	c->state = CS_READING_HEAD;  /* reading the first bytes (head_timeout_ms bounds it) */
}

/* The first bytes: the preface (as far as they go) keeps waiting, all of it makes the
 * connection HTTP/2, anything else HTTP/1.1, which parses what was read. */
static void preface_event(struct client *c, int revents)
{
	struct worker *w = c->w;
	ssize_t n;
	size_t have;

	if (!(revents & EV_READ))
		return;
	if (!c->in && !(c->in = buf_get(&w->bufs))) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	do
		n = conn_read(c, buf_tail(c->in), buf_room(c->in));
	while (n == -1 && errno == EINTR);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		client_close(c, TERM_CLIENT_CLOSED);
		return;
	}
	if (n > 0)
		c->in->end += (uint32_t)n;
	have = buf_len(c->in) < PREFACE_LEN ? buf_len(c->in) : PREFACE_LEN;
	if (memcmp(buf_head(c->in), preface, have) == 0 && have < PREFACE_LEN)
		return;  /* so far the preface: more to come */
	c->proto = have == PREFACE_LEN && !memcmp(buf_head(c->in), preface, have) ? &h2_proto : &http1_proto;
	c->proto->start(c);
}

const struct conn_proto preface_proto = {
	.name = "h2c-or-http/1.1",
	.start = preface_start,
	.client_event = preface_event,
	.upstream_event = h2_upstream_event,
	.upstream_ready = h2_upstream_ready,
	.send_answer = NULL,
};

static void h2_stop(struct client *c)
{
	h2_conn_goaway(c);
}

void h2_conn_goaway(struct client *c)
{
	struct h2_conn *hc = client_h2(c);

	if (!hc || hc->goaway)
		return;
	goaway_submit(hc, NGHTTP2_NO_ERROR);
	pump(hc);
	if (c->state != CS_CLOSED)
		client_update(c);
}

static void h2_close(struct client *c)
{
	struct h2_conn *hc = client_h2(c);

	if (!hc)
		return;  /* (its start failed before the session was made) */
	hc->freeing = 1;
	ev_timer_stop(c->w->loop, &hc->kick);
	while (hc->streams)
		stream_free(hc->streams, TERM_CLIENT_CLOSED);
	nghttp2_session_del(hc->s);
	pipe_bytes_free(&hc->wq);
	c->ext = NULL;
	c->is_h2 = 0;
	free(hc);
}
