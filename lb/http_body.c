/* http_body.c: the bodies of an HTTP/1.1 exchange that live in its stores: a request
 * body read whole before the request takes a backend, and the part of a response the
 * client did not take yet, held so the backend is let go. http_proxy.c runs the
 * protocol around them (heads, dispatch, streaming, writing from the stores). */
#include "buffering.h"
#include "conn.h"
#include "conn_close.h"
#include "conn_error.h"
#include "http_body.h"
#include "http_rewrite.h"
#include "producer.h"
#include "sock_io.h"
#include "worker.h"

static void release_backend(struct client *c);

/* Request buffering starts once the head is parsed and rewritten: the store is made,
 * and what c->in already holds of the body goes in. 1 body whole, 0 more to come, -1
 * failed (http_body_buffer_request). */
int http_body_begin_request(struct client *c, int expect_continue)
{
	struct exchange *x = c->ex;
	int r;

	buffering_body_init(c, &x->req_store);
	x->req_buffered = 1;
	c->state = CS_READING_BODY;
	r = http_body_buffer_request(c);
	/* a client that wrote its head and body apart, with Nagle's rule on, holds the
	 * body until the head is acknowledged: acknowledge it now (sock_io.h) */
	if (r == 0)
		sock_ack_now(c->fd);
	/* the client waits for a go before it sends the body: fulcrum is the one that
	 * reads it, so fulcrum says it */
	if (r == 0 && expect_continue && c->version_minor >= 1) {
		if (!c->out && !(c->out = buf_get(&c->w->bufs))) {
			client_close(c, TERM_INTERNAL);
			return -1;
		}
		buf_append(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	return r;
}

/* Request buffering: moves the body bytes c->in holds into the exchange's store, a
 * chunked body without its framing; when the body is whole its head gets the length
 * and the caller sends the request to a backend. Refuses a body over body_max_bytes
 * (413), bad chunking (400), and one that does not fit in the buffer budgets (503 and
 * Retry-After: the request fails whole, nothing of it reached a backend). */
int http_body_buffer_request(struct client *c)
{
	struct exchange *x = c->ex;
	uint64_t max = exchange_body_max(c);  /* the route's, else the listener's */

	if (x->req_body == HTTP_BODY_LENGTH && x->req_left == 0)
		x->req_framed = 1;  /* Content-Length: 0 */
	while (!x->req_framed && c->in && buf_len(c->in)) {
		const char *p = buf_head(c->in);
		uint32_t avail = buf_len(c->in);
		size_t used = avail, data = 0;

		if (x->req_body == HTTP_BODY_LENGTH) {
			if (used > x->req_left)
				used = (size_t)x->req_left;
			data = used;
			x->req_left -= used;
			if (x->req_left == 0)
				x->req_framed = 1;
		} else {
			/* data bytes as they come; framing bytes one at a time (a few per chunk) */
			uint64_t next = http_chunked_data_next(&x->req_chunk);
			int r;

			if (next)
				used = data = next < avail ? (size_t)next : avail;
			else
				used = 1;
			r = http_chunked_scan(&x->req_chunk, p, used, &used);
			if (r == HTTP_CHUNKED_ERROR) {
				client_error(c, 400, TERM_BAD_REQUEST, "invalid chunked body");
				return -1;
			}
			if (r == HTTP_CHUNKED_DONE)
				x->req_framed = 1;
			if (max && x->req_store.end + data + http_chunked_data_next(&x->req_chunk) > max) {
				client_error(c, 413, TERM_BAD_REQUEST, "request body too large");
				return -1;
			}
		}
		if (data && buffering_append(c, &x->req_store, p, data) == -1) {
			buffering_refused(c);
			client_error(c, 503, TERM_BUFFER_FULL, "no room to buffer the request body");
			return -1;
		}
		buf_consume(c->in, (uint32_t)used);
		x->bytes_in += used;
		c->last_activity = ev_now(c->w->loop);
	}
	if (!x->req_framed)
		return 0;
	x->t_req_done = ev_now(c->w->loop);  /* upload_ms ends; the backend was not held */
	if (buf_room(x->req_head) < 64) {
		struct buf *nb = buf_grow(&c->w->bufs, x->req_head, buf_len(x->req_head) + 64);
		if (!nb) {
			client_close(c, TERM_INTERNAL);
			return -1;
		}
		x->req_head = nb;
	}
	if (http_rewrite_set_length(x->req_head, x->req_store.end) == -1) {
		client_close(c, TERM_INTERNAL);
		return -1;
	}
	return 1;
}

/* Response buffering: moves the framed bytes the client did not take from the backend's
 * buffer into the exchange's store, so reading the backend never waits for the client,
 * and lets the backend go once the response is whole there. A store that refuses (the
 * disk budget) keeps what it has; the rest streams at the client's pace, whole. A
 * compressed response is held before the encoder, as the backend sent it: the encoder
 * (lb/http_compress.c) takes the store's bytes first, at the client's pace. */
void http_body_hold_response(struct client *c)
{
	struct exchange *x = c->ex;
	struct upstream *u = c->up;

	if (u && x->resp_ready && !x->resp_unbuffered) {
		if (!x->resp_buffered) {
			buffering_body_init(c, &x->resp_store);
			x->resp_buffered = 1;
		}
		if (buffering_append(c, &x->resp_store, buf_head(u->in), x->resp_ready) == 0) {
			buf_consume(u->in, x->resp_ready);
			x->resp_ready = 0;
		} else {
			x->resp_unbuffered = 1;
		}
	}
	if (u && x->resp_done && x->resp_ready == 0 && x->resp_buffered &&
	    body_kept(&x->resp_store) > 0)
		release_backend(c);
}

/* The whole response is held here and the client still reads: the backend is done with
 * this exchange (its producer's done) and the client is served from the store. */
static void release_backend(struct client *c)
{
	struct exchange *x = c->ex;

	x->producer->done(c, x->resp_keep_alive && x->req_done);
	x->released = 1;
	x->t_released = ev_now(c->w->loop);
}
